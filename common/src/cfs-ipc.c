/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cfs-ipc: the pmxcfs IPC client (see pve/cfs-ipc.h). Owns the process-wide connection, its
 * receive buffer and the payload encoders. Must not trust the server's framing blindly (every
 * response is size-checked) and must never reuse a connection inherited through fork: libqb's
 * shared-memory rings would then be driven by two processes at once.
 */
#include "pve/cfs-ipc.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <pthread.h>
#include <qb/qbipc_common.h>
#include <qb/qbipcc.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/log.h"
#include "pve/paths.h"

_Static_assert(sizeof(struct qb_ipc_request_header) == CFS_IPC_REQUEST_HEADER_SIZE, "libqb layout");
_Static_assert(
    sizeof(struct qb_ipc_response_header) == CFS_IPC_RESPONSE_HEADER_SIZE, "libqb layout"
);

#define RESTART_WAIT_USEC (10 * 1000000ULL) /* keep trying while pmxcfs restarts */
#define RESTART_POLL_USEC (100 * 1000)
#define MAX_ABANDONED     16

static pthread_mutex_t ipc_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t ipc_once = PTHREAD_ONCE_INIT;
static qb_ipcc_connection_t *ipc_conn;
static pid_t ipc_pid;
static char *ipc_buf;
/* Connections inherited through fork: never touched again, only kept reachable. */
static qb_ipcc_connection_t *ipc_abandoned[MAX_ABANDONED];

static void atfork_child(void) {
    /* A thread of the parent may have held the mutex while forking; the child has only us. */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    ipc_mutex = fresh;
}

static void ipc_init_once(void) {
    (void) pthread_atfork(NULL, NULL, atfork_child);
}

static uint64_t now_usec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static bool restart_flag_exists(void) {
    const char *rundir = pve_path_env("PVE_CFS_RUNDIR", PVE_CFS_RUNDIR);
    _cleanup_free_ char *p = NULL;
    struct stat st;
    if (asprintf(&p, "%s/cfs-restart-flag", rundir) < 0)
        return false;
    return stat(p, &st) == 0;
}

/* Forget a connection made by our parent: closing our copy of its socket lets the server see
 * the parent's disconnect; disconnecting properly would release the parent's rings. */
static void abandon_inherited_locked(void) {
    int32_t fd = -1;
    if (qb_ipcc_fd_get(ipc_conn, &fd) == 0 && fd >= 0)
        (void) close(fd);
    size_t i = 0;
    while (i < MAX_ABANDONED - 1 && ipc_abandoned[i])
        i++;
    ipc_abandoned[i] = ipc_conn;
    ipc_conn = NULL;
}

static void disconnect_locked(void) {
    if (ipc_conn) {
        qb_ipcc_disconnect(ipc_conn);
        ipc_conn = NULL;
    }
}

static int connect_locked(void) {
    if (ipc_conn && ipc_pid != getpid())
        abandon_inherited_locked();
    if (ipc_conn)
        return 0;
    if (!ipc_buf) {
        ipc_buf = malloc(CFS_IPC_MAX_MSG_SIZE);
        if (!ipc_buf)
            return -ENOMEM;
    }

    const char *service = pve_path_env("PVE_CFS_IPC_SERVICE", PVE_CFS_IPC_SERVICE);
    uint64_t deadline = 0;
    for (;;) {
        ipc_conn = qb_ipcc_connect(service, CFS_IPC_MAX_MSG_SIZE);
        if (ipc_conn) {
            ipc_pid = getpid();
            return 0;
        }
        int r = errno > 0 ? -errno : -ECONNREFUSED;
        if (!restart_flag_exists())
            return log_debug_errno(r, "Cannot connect to IPC service '%s': %m", service);
        uint64_t now = now_usec();
        if (deadline == 0)
            deadline = now + RESTART_WAIT_USEC;
        if (now >= deadline)
            return log_debug_errno(
                r, "IPC service '%s' did not come back after restart: %m", service
            );
        (void) usleep(RESTART_POLL_USEC);
    }
}

int cfs_ipc_parse_response(const void *msg, size_t n, const void **ret_body, size_t *ret_len) {
    struct qb_ipc_response_header h;

    if (n < sizeof h)
        return -EBADMSG;
    memcpy(&h, msg, sizeof h);
    if (h.size < 0 || (size_t) h.size != n)
        return -EBADMSG;
    if (h.error != 0)
        return h.error < 0 ? (h.error < -4095 ? -EBADMSG : h.error) : -EBADMSG;
    *ret_body = (const char *) msg + sizeof h;
    *ret_len = n - sizeof h;
    return 0;
}

int cfs_ipc_call(CfsIpcOp op, const void *payload, size_t len, char **ret, size_t *ret_len) {
    struct qb_ipc_request_header h = {.id = (int32_t) op};
    const void *body = NULL;
    size_t body_len = 0;
    ssize_t n = -ENOTCONN;
    int r;

    if (len > CFS_IPC_MAX_PAYLOAD)
        return -E2BIG;
    if (len && !payload)
        return -EINVAL;
    h.size = (int32_t) (sizeof h + len);
    struct iovec iov[2] = {
        {.iov_base = &h, .iov_len = sizeof h},
        {.iov_base = (void *) payload, .iov_len = len},
    };

    (void) pthread_once(&ipc_once, ipc_init_once);
    pthread_mutex_lock(&ipc_mutex);
    for (int attempt = 0; attempt < 2; attempt++) {
        r = connect_locked();
        if (r < 0)
            goto out;
        n = qb_ipcc_sendv_recv(ipc_conn, iov, len ? 2 : 1, ipc_buf, CFS_IPC_MAX_MSG_SIZE, -1);
        if (n >= 0)
            break;
        /* Transport failure (pmxcfs restarted, ring broken): start over once. */
        log_debug_errno((int) n, "IPC request %d failed, reconnecting: %m", (int) op);
        disconnect_locked();
    }
    if (n < 0) {
        r = (int) n;
        goto out;
    }
    r = cfs_ipc_parse_response(ipc_buf, (size_t) n, &body, &body_len);
    if (r < 0)
        goto out;
    if (ret) {
        char *copy = malloc(body_len + 1);
        if (!copy) {
            r = -ENOMEM;
            goto out;
        }
        memcpy(copy, body, body_len);
        copy[body_len] = '\0';
        *ret = copy;
    }
    if (ret_len)
        *ret_len = body_len;
    r = 0;
out:
    pthread_mutex_unlock(&ipc_mutex);
    return r;
}

void cfs_ipc_disconnect(void) {
    (void) pthread_once(&ipc_once, ipc_init_once);
    pthread_mutex_lock(&ipc_mutex);
    if (ipc_conn && ipc_pid != getpid())
        abandon_inherited_locked();
    disconnect_locked();
    free(ipc_buf);
    ipc_buf = NULL;
    pthread_mutex_unlock(&ipc_mutex);
}

/* ---- encoders --------------------------------------------------------------------------- */

static int payload_new(size_t len, uint8_t **ret) {
    if (len > CFS_IPC_MAX_PAYLOAD)
        return -E2BIG;
    *ret = calloc(1, len ? len : 1);
    return *ret ? 0 : -ENOMEM;
}

static void put_u32(uint8_t *p, uint32_t v) {
    memcpy(p, &v, sizeof v); /* host order, as libqb and Perl's pack("V") on x86 */
}

int cfs_ipc_encode_string(const char *s, void **ret, size_t *ret_len) {
    uint8_t *p;
    int r;
    if (!s)
        return -EINVAL;
    size_t len = strlen(s) + 1;
    if ((r = payload_new(len, &p)) < 0)
        return r;
    memcpy(p, s, len);
    *ret = p;
    *ret_len = len;
    return 0;
}

static int put_name(uint8_t *field, const char *name) {
    size_t n = strlen(name);
    if (n >= CFS_IPC_NAME_SIZE)
        return -ENAMETOOLONG;
    memcpy(field, name, n); /* the rest of the field is already zero */
    return 0;
}

int cfs_ipc_encode_set_status(
    const char *name, const void *data, size_t len, void **ret, size_t *ret_len
) {
    _cleanup_free_ uint8_t *p = NULL;
    int r;
    if (!name || !*name || (len && !data))
        return -EINVAL;
    if (len > CFS_IPC_MAX_PAYLOAD - CFS_IPC_NAME_SIZE)
        return -E2BIG;
    if ((r = payload_new(CFS_IPC_NAME_SIZE + len, &p)) < 0 || (r = put_name(p, name)) < 0)
        return r;
    if (len)
        memcpy(p + CFS_IPC_NAME_SIZE, data, len);
    *ret = TAKE_PTR(p);
    *ret_len = CFS_IPC_NAME_SIZE + len;
    return 0;
}

int cfs_ipc_encode_get_status(const char *name, const char *nodename, void **ret, size_t *ret_len) {
    _cleanup_free_ uint8_t *p = NULL;
    int r;
    if (!name || !*name)
        return -EINVAL;
    if ((r = payload_new(2 * CFS_IPC_NAME_SIZE, &p)) < 0 || (r = put_name(p, name)) < 0 ||
        (nodename && (r = put_name(p + CFS_IPC_NAME_SIZE, nodename)) < 0))
        return r;
    *ret = TAKE_PTR(p);
    *ret_len = 2 * CFS_IPC_NAME_SIZE;
    return 0;
}

int cfs_ipc_encode_log(
    int priority, const char *ident, const char *tag, const char *msg, void **ret, size_t *ret_len
) {
    _cleanup_free_ uint8_t *p = NULL;
    int r;
    if (priority < 0 || priority > 7 || !ident || !tag || !msg)
        return -EINVAL;
    /* The lengths travel as u8 including the NUL: cut rather than fail, it is a log line. */
    size_t ident_len = MIN(strlen(ident), (size_t) CFS_IPC_MAX_LOG_FIELD) + 1;
    size_t tag_len = MIN(strlen(tag), (size_t) CFS_IPC_MAX_LOG_FIELD) + 1;
    size_t msg_len = strlen(msg) + 1;
    if (msg_len > CFS_IPC_MAX_PAYLOAD - 3 - ident_len - tag_len)
        return -E2BIG;
    size_t len = 3 + ident_len + tag_len + msg_len;
    if ((r = payload_new(len, &p)) < 0)
        return r;
    p[0] = (uint8_t) priority;
    p[1] = (uint8_t) ident_len;
    p[2] = (uint8_t) tag_len;
    memcpy(p + 3, ident, ident_len - 1);
    memcpy(p + 3 + ident_len, tag, tag_len - 1);
    memcpy(p + 3 + ident_len + tag_len, msg, msg_len);
    *ret = TAKE_PTR(p);
    *ret_len = len;
    return 0;
}

int cfs_ipc_encode_get_cluster_log(unsigned max, const char *user, void **ret, size_t *ret_len) {
    _cleanup_free_ uint8_t *p = NULL;
    int r;
    if (!user)
        user = "";
    size_t user_len = strlen(user) + 1;
    if (user_len > CFS_IPC_MAX_PAYLOAD - 16)
        return -E2BIG;
    if ((r = payload_new(16 + user_len, &p)) < 0)
        return r;
    put_u32(p, max); /* followed by three reserved zero words */
    memcpy(p + 16, user, user_len);
    *ret = TAKE_PTR(p);
    *ret_len = 16 + user_len;
    return 0;
}

static bool property_name_ok(const char *prop) {
    return prop && prop[0] >= 'a' && prop[0] <= 'z';
}

int cfs_ipc_encode_guest_config_property(
    uint32_t vmid, const char *prop, void **ret, size_t *ret_len
) {
    _cleanup_free_ uint8_t *p = NULL;
    int r;
    if (!prop || !*prop)
        return -EINVAL;
    size_t prop_len = strlen(prop) + 1;
    if (prop_len > CFS_IPC_MAX_PAYLOAD - 4)
        return -E2BIG;
    if ((r = payload_new(4 + prop_len, &p)) < 0)
        return r;
    put_u32(p, vmid);
    memcpy(p + 4, prop, prop_len);
    *ret = TAKE_PTR(p);
    *ret_len = 4 + prop_len;
    return 0;
}

int cfs_ipc_encode_guest_config_properties(
    uint32_t vmid, const char *const *props, size_t n_props, void **ret, size_t *ret_len
) {
    _cleanup_free_ uint8_t *p = NULL;
    size_t len = 5;
    int r;
    if (n_props == 0 || n_props > CFS_IPC_MAX_PROPERTIES || !props)
        return -EINVAL;
    for (size_t i = 0; i < n_props; i++) {
        if (!property_name_ok(props[i]))
            return -EINVAL;
        size_t l = strlen(props[i]) + 1;
        if (l > CFS_IPC_MAX_PAYLOAD - len)
            return -E2BIG;
        len += l;
    }
    if ((r = payload_new(len, &p)) < 0)
        return r;
    put_u32(p, vmid);
    p[4] = (uint8_t) n_props;
    size_t off = 5;
    for (size_t i = 0; i < n_props; i++) {
        size_t l = strlen(props[i]) + 1;
        memcpy(p + off, props[i], l);
        off += l;
    }
    *ret = TAKE_PTR(p);
    *ret_len = len;
    return 0;
}

int cfs_ipc_encode_verify_token(const char *token, void **ret, size_t *ret_len) {
    /* One line of token.cfg is matched exactly: a newline could only ever fail. */
    if (!token || !*token || strchr(token, '\n'))
        return -EINVAL;
    return cfs_ipc_encode_string(token, ret, ret_len);
}

/* ---- typed calls ------------------------------------------------------------------------ */

int cfs_ipc_get_fs_version(char **ret, size_t *ret_len) {
    return cfs_ipc_call(CFS_IPC_GET_FS_VERSION, NULL, 0, ret, ret_len);
}

int cfs_ipc_get_cluster_info(char **ret, size_t *ret_len) {
    return cfs_ipc_call(CFS_IPC_GET_CLUSTER_INFO, NULL, 0, ret, ret_len);
}

int cfs_ipc_get_guest_list(char **ret, size_t *ret_len) {
    return cfs_ipc_call(CFS_IPC_GET_GUEST_LIST, NULL, 0, ret, ret_len);
}

int cfs_ipc_get_rrd_dump(char **ret, size_t *ret_len) {
    return cfs_ipc_call(CFS_IPC_GET_RRD_DUMP, NULL, 0, ret, ret_len);
}

int cfs_ipc_set_status(const char *name, const void *data, size_t len) {
    _cleanup_free_ void *p = NULL;
    size_t n;
    int r = cfs_ipc_encode_set_status(name, data, len, &p, &n);
    return r < 0 ? r : cfs_ipc_call(CFS_IPC_SET_STATUS, p, n, NULL, NULL);
}

int cfs_ipc_get_status(const char *name, const char *nodename, char **ret, size_t *ret_len) {
    _cleanup_free_ void *p = NULL;
    size_t n;
    int r = cfs_ipc_encode_get_status(name, nodename, &p, &n);
    return r < 0 ? r : cfs_ipc_call(CFS_IPC_GET_STATUS, p, n, ret, ret_len);
}

int cfs_ipc_get_config(const char *path, char **ret, size_t *ret_len) {
    _cleanup_free_ void *p = NULL;
    size_t n;
    if (!path || !*path)
        return -EINVAL;
    int r = cfs_ipc_encode_string(path, &p, &n);
    return r < 0 ? r : cfs_ipc_call(CFS_IPC_GET_CONFIG, p, n, ret, ret_len);
}

int cfs_ipc_log_cluster_msg(int priority, const char *ident, const char *tag, const char *msg) {
    _cleanup_free_ void *p = NULL;
    size_t n;
    int r = cfs_ipc_encode_log(priority, ident, tag, msg, &p, &n);
    return r < 0 ? r : cfs_ipc_call(CFS_IPC_LOG_CLUSTER_MSG, p, n, NULL, NULL);
}

int cfs_ipc_get_cluster_log(unsigned max, const char *user, char **ret, size_t *ret_len) {
    _cleanup_free_ void *p = NULL;
    size_t n;
    int r = cfs_ipc_encode_get_cluster_log(max, user, &p, &n);
    return r < 0 ? r : cfs_ipc_call(CFS_IPC_GET_CLUSTER_LOG, p, n, ret, ret_len);
}

int cfs_ipc_get_guest_config_property(
    uint32_t vmid, const char *prop, char **ret, size_t *ret_len
) {
    _cleanup_free_ void *p = NULL;
    size_t n;
    int r = cfs_ipc_encode_guest_config_property(vmid, prop, &p, &n);
    return r < 0 ? r : cfs_ipc_call(CFS_IPC_GET_GUEST_CONFIG_PROPERTY, p, n, ret, ret_len);
}

int cfs_ipc_get_guest_config_properties(
    uint32_t vmid, const char *const *props, size_t n_props, char **ret, size_t *ret_len
) {
    _cleanup_free_ void *p = NULL;
    size_t n;
    int r = cfs_ipc_encode_guest_config_properties(vmid, props, n_props, &p, &n);
    return r < 0 ? r : cfs_ipc_call(CFS_IPC_GET_GUEST_CONFIG_PROPERTIES, p, n, ret, ret_len);
}

int cfs_ipc_verify_token(const char *token) {
    _cleanup_free_ void *p = NULL;
    size_t n = 0;
    int r = cfs_ipc_encode_verify_token(token, &p, &n);
    if (r >= 0)
        r = cfs_ipc_call(CFS_IPC_VERIFY_TOKEN, p, n, NULL, NULL);
    if (p)
        explicit_bzero(p, n); /* the token carries its secret */
    return r;
}
