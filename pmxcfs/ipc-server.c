/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ipc-server: the libqb IPC service "pve2" (specs/pmxcfs.md §6) on its own thread and qb loop.
 * Owns the accept rule (root:root read-write, primary group www-data read-only, nobody else),
 * the decoding and size checks of every request and the response framing. The answers come
 * from memdb and status, which lock themselves; this thread must never block on the cluster,
 * so it only reads and stores volatile status, never writes the tree.
 *
 * Wire format: libqb's request header {i32 id, i32 size} (8-byte aligned fields, 16 bytes) and
 * response header {i32 id, i32 size, i32 error} (24 bytes), host byte order, as PVE::IPCC
 * sends them; payload layouts per op are in pve/cfs-ipc.h's encoders.
 */
#include "ipc-server.h"

#include <sys/eventfd.h>

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <qb/qbipc_common.h>
#include <qb/qbipcs.h>
#include <qb/qbloop.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "pve/cfs-ipc.h"
#include "pve/log.h"
#include "pve/paths.h"

typedef enum ClientMode {
    CLIENT_READ_WRITE = 1,
    CLIENT_READ_ONLY = 2,
} ClientMode;

struct IpcServer {
    Memdb *memdb;
    CfsStatus *status;
    gid_t www_gid;
    char *service_name;
    qb_loop_t *loop;
    qb_ipcs_service_t *service;
    int wake_fd;
    pthread_t thread;
    bool thread_started;
};

/* One request as the handlers see it: the payload after the libqb header. */
typedef struct IpcRequest {
    const uint8_t *data;
    size_t len;
    bool read_only;
    pid_t pid;
} IpcRequest;

typedef int (*IpcHandler)(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len);

/* libqb's poll callbacks carry no userdata, so the loop they act on is process-wide; there is
 * one IPC server per process. */
static qb_loop_t *ipc_loop;

static int32_t poll_job_add(enum qb_loop_priority p, void *data, qb_loop_job_dispatch_fn fn) {
    return qb_loop_job_add(ipc_loop, p, data, fn);
}

static int32_t poll_dispatch_add(
    enum qb_loop_priority p, int32_t fd, int32_t events, void *data, qb_ipcs_dispatch_fn_t fn
) {
    return qb_loop_poll_add(ipc_loop, p, fd, events, data, fn);
}

static int32_t poll_dispatch_mod(
    enum qb_loop_priority p, int32_t fd, int32_t events, void *data, qb_ipcs_dispatch_fn_t fn
) {
    return qb_loop_poll_mod(ipc_loop, p, fd, events, data, fn);
}

static int32_t poll_dispatch_del(int32_t fd) {
    return qb_loop_poll_del(ipc_loop, fd);
}

/* ---- payload helpers -------------------------------------------------------------------- */

static uint32_t get_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* A string field of exactly len bytes that ends with its only NUL. */
static bool is_cstring(const uint8_t *p, size_t len) {
    return len > 0 && p[len - 1] == '\0' && strlen((const char *) p) == len - 1;
}

/* A fixed-size name field: NUL-terminated inside the field. */
static bool is_name_field(const uint8_t *p) {
    return memchr(p, '\0', CFS_IPC_NAME_SIZE) != NULL;
}

/* memdb paths are relative without "." / ".." components; classify only the canonical form
 * (a leading or doubled slash must not hide "priv/"). */
static int canonical_path(const char *in, char **ret) {
    _cleanup_free_ char *out = malloc(strlen(in) + 1);
    size_t n = 0;
    if (!out)
        return -ENOMEM;
    for (const char *p = in; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 0) {
            p++;
            continue;
        }
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return -ENOENT; /* upstream looks these up as names, which never exist */
        if (n)
            out[n++] = '/';
        memcpy(out + n, p, len);
        n += len;
        p += len;
    }
    out[n] = '\0';
    *ret = TAKE_PTR(out);
    return 0;
}

/* ---- op handlers ------------------------------------------------------------------------ */

static int op_fs_version(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    if (req->len != 0)
        return -EINVAL;
    return cfs_status_version_json(s->status, ret, ret_len);
}

static int op_cluster_info(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    if (req->len != 0)
        return -EINVAL;
    return cfs_status_members_json(s->status, ret, ret_len);
}

static int op_guest_list(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    if (req->len != 0)
        return -EINVAL;
    return cfs_status_vmlist_json(s->status, ret, ret_len);
}

static int op_rrd_dump(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    if (req->len != 0)
        return -EINVAL;
    return cfs_status_rrd_dump(s->status, ret, ret_len);
}

/* name[256] + data */
static int op_set_status(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    (void) ret, (void) ret_len;
    if (req->len < CFS_IPC_NAME_SIZE || !is_name_field(req->data) || !req->data[0])
        return -EINVAL;
    return cfs_status_set(
        s->status, (const char *) req->data, req->data + CFS_IPC_NAME_SIZE,
        req->len - CFS_IPC_NAME_SIZE
    );
}

/* name[256] + nodename[256] */
static int op_get_status(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    const uint8_t *node = req->data + CFS_IPC_NAME_SIZE;
    void *v = NULL;
    size_t vlen = 0;
    int r;
    if (req->len != 2 * CFS_IPC_NAME_SIZE || !is_name_field(req->data) || !req->data[0] ||
        !is_name_field(node))
        return -EINVAL;
    r = cfs_status_get(
        s->status, (const char *) req->data, node[0] ? (const char *) node : NULL, &v, &vlen
    );
    if (r < 0)
        return r;
    *ret = v;
    *ret_len = vlen;
    return 0;
}

/* path\0 */
static int op_get_config(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    _cleanup_free_ char *path = NULL;
    int r;
    if (!is_cstring(req->data, req->len))
        return -EINVAL;
    if ((r = canonical_path((const char *) req->data, &path)) < 0)
        return r;
    if (req->read_only && memdb_path_is_private(path))
        return -EPERM;
    return memdb_read_all(s->memdb, path, ret, ret_len);
}

/* u8 priority, u8 ident_len, u8 tag_len, ident\0 tag\0 msg\0 (lengths include the NUL) */
static int op_log(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    (void) ret, (void) ret_len;
    if (req->len < 3)
        return -EINVAL;
    size_t ident_len = req->data[1], tag_len = req->data[2];
    if (ident_len < 1 || tag_len < 1 || req->len <= 3 + ident_len + tag_len)
        return -EINVAL;
    const uint8_t *ident = req->data + 3, *tag = ident + ident_len, *msg = tag + tag_len;
    size_t msg_len = req->len - 3 - ident_len - tag_len;
    /* Only the terminating NULs are required; an embedded NUL just ends the text early. */
    if (ident[ident_len - 1] || tag[tag_len - 1] || msg[msg_len - 1])
        return -EINVAL;
    return cfs_status_log(
        s->status, req->data[0], (const char *) ident, (const char *) tag, (uint32_t) req->pid,
        (const char *) msg
    );
}

/* u32 max_entries, 3 x u32 reserved, user\0 */
static int op_cluster_log(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    if (req->len < 17 || req->data[req->len - 1] != '\0')
        return -EINVAL;
    return cfs_status_clusterlog_json(
        s->status, get_u32(req->data), (const char *) req->data + 16, ret, ret_len
    );
}

/* u32 vmid, property\0 */
static int op_guest_property(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    if (req->len < 6 || !is_cstring(req->data + 4, req->len - 4))
        return -EINVAL;
    const char *prop = (const char *) req->data + 4;
    return cfs_status_guest_config_properties(
        s->status, get_u32(req->data), &prop, 1, ret, ret_len
    );
}

/* u32 vmid, u8 count, count x property\0 (each starting with a-z), nothing after */
static int op_guest_properties(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    const char *props[CFS_IPC_MAX_PROPERTIES];
    if (req->len < 5)
        return -EINVAL;
    size_t n = req->data[4], off = 5;
    if (n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = req->data + off;
        const uint8_t *nul = off < req->len ? memchr(p, '\0', req->len - off) : NULL;
        if (!nul || p[0] < 'a' || p[0] > 'z')
            return -EINVAL;
        props[i] = (const char *) p;
        off += (size_t) (nul - p) + 1;
    }
    if (off != req->len)
        return -EINVAL;
    return cfs_status_guest_config_properties(
        s->status, get_u32(req->data), props, n, ret, ret_len
    );
}

/* Compare without an early exit, so the time taken says nothing about the secret. */
static bool line_equal(const char *line, size_t line_len, const char *token, size_t token_len) {
    if (line_len != token_len)
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < token_len; i++)
        diff |= (unsigned char) (line[i] ^ token[i]);
    return diff == 0;
}

/* "userid!tokenid secret"\0: 0 if it is a line of priv/token.cfg, else -ENOENT. */
static int op_verify_token(IpcServer *s, const IpcRequest *req, char **ret, size_t *ret_len) {
    char *cfg = NULL;
    size_t cfg_len = 0;
    bool found = false;
    (void) ret, (void) ret_len;

    if (req->len < 2 || !is_cstring(req->data, req->len) || memchr(req->data, '\n', req->len))
        return -EINVAL;
    int r = memdb_read_all(s->memdb, PVE_CFS_TOKEN_CFG, &cfg, &cfg_len);
    if (r < 0)
        return r == -ENOENT ? -ENOENT : r;
    for (size_t off = 0; off < cfg_len;) {
        const char *line = cfg + off;
        const char *nl = memchr(line, '\n', cfg_len - off);
        size_t line_len = nl ? (size_t) (nl - line) : cfg_len - off;
        if (line_equal(line, line_len, (const char *) req->data, req->len - 1))
            found = true; /* keep going: the scan time does not depend on where it matched */
        off += line_len + 1;
    }
    explicit_bzero(cfg, cfg_len);
    free(cfg);
    return found ? 0 : -ENOENT;
}

typedef struct IpcOpInfo {
    const char *name;
    IpcHandler handler;
    bool writes; /* refused for read-only (www-data) clients */
} IpcOpInfo;

static const IpcOpInfo ipc_ops[] = {
    [CFS_IPC_GET_FS_VERSION] = {"GET_FS_VERSION", op_fs_version, false},
    [CFS_IPC_GET_CLUSTER_INFO] = {"GET_CLUSTER_INFO", op_cluster_info, false},
    [CFS_IPC_GET_GUEST_LIST] = {"GET_GUEST_LIST", op_guest_list, false},
    [CFS_IPC_SET_STATUS] = {"SET_STATUS", op_set_status, true},
    [CFS_IPC_GET_STATUS] = {"GET_STATUS", op_get_status, false},
    [CFS_IPC_GET_CONFIG] = {"GET_CONFIG", op_get_config, false},
    [CFS_IPC_LOG_CLUSTER_MSG] = {"LOG_CLUSTER_MSG", op_log, true},
    [CFS_IPC_GET_CLUSTER_LOG] = {"GET_CLUSTER_LOG", op_cluster_log, false},
    [CFS_IPC_GET_RRD_DUMP] = {"GET_RRD_DUMP", op_rrd_dump, false},
    [CFS_IPC_GET_GUEST_CONFIG_PROPERTY] = {"GET_GUEST_CONFIG_PROPERTY", op_guest_property, false},
    [CFS_IPC_VERIFY_TOKEN] = {"VERIFY_TOKEN", op_verify_token, false},
    [CFS_IPC_GET_GUEST_CONFIG_PROPERTIES] =
        {"GET_GUEST_CONFIG_PROPERTIES", op_guest_properties, false},
};

static const IpcOpInfo *op_info(int32_t op) {
    if (op < 0 || (size_t) op >= ELEMENTSOF(ipc_ops) || !ipc_ops[op].handler)
        return NULL;
    return &ipc_ops[op];
}

static int dispatch(IpcServer *s, int32_t op, const IpcRequest *req, char **ret, size_t *ret_len) {
    if (!op_info(op))
        return -ECHRNG;
    if (ipc_ops[op].writes && req->read_only)
        return -EPERM;
    return ipc_ops[op].handler(s, req, ret, ret_len);
}

/* ---- libqb service callbacks ------------------------------------------------------------ */

static int32_t on_accept(qb_ipcs_connection_t *c, uid_t uid, gid_t gid) {
    IpcServer *s = qb_ipcs_connection_service_context_get(c);
    ClientMode mode;

    if (uid == 0 && gid == 0)
        mode = CLIENT_READ_WRITE;
    else if (gid == s->www_gid)
        mode = CLIENT_READ_ONLY;
    else {
        log_notice("connection from bad user %u:%u - rejected", (unsigned) uid, (unsigned) gid);
        return -EPERM;
    }
    /* The shared-memory rings belong to the client, so an unprivileged one can map them. */
    qb_ipcs_connection_auth_set(c, uid, gid, 0600);
    qb_ipcs_context_set(c, (void *) (uintptr_t) mode);
    log_debug(
        "IPC connection from %u:%u (%s)", (unsigned) uid, (unsigned) gid,
        mode == CLIENT_READ_ONLY ? "read-only" : "read-write"
    );
    return 0;
}

static void
send_response(qb_ipcs_connection_t *c, int32_t id, int error, const char *body, size_t len) {
    struct qb_ipc_response_header h = {.id = id, .size = (int32_t) sizeof h, .error = error};
    struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof h}};
    size_t n = 1;

    if (error == 0 && len > 0) {
        int32_t max = qb_ipcs_connection_get_buffer_size(c);
        if (max > 0 && ((size_t) max < sizeof h || len > (size_t) max - sizeof h))
            h.error = -EMSGSIZE; /* the client could not receive it; answer rather than hang */
        else {
            h.size = (int32_t) (sizeof h + len);
            iov[1] = (struct iovec){.iov_base = (void *) body, .iov_len = len};
            n = 2;
        }
    }
    ssize_t r = qb_ipcs_response_sendv(c, iov, n);
    if (r < 0)
        log_warning_errno((int) r, "Failed to send IPC response for request %d: %m", (int) id);
}

static int32_t on_message(qb_ipcs_connection_t *c, void *data, size_t size) {
    IpcServer *s = qb_ipcs_connection_service_context_get(c);
    struct qb_ipc_request_header h = {};
    _cleanup_free_ char *body = NULL;
    size_t body_len = 0;
    int r;

    /* libqb hands us the size the client wrote into the header, not what it received (the
     * test checks this). Reading up to the connection's buffer size stays inside the ring's
     * mapping and only ever shows this client its own earlier requests; beyond that, refuse. */
    int32_t max = qb_ipcs_connection_get_buffer_size(c);
    if (size >= sizeof h)
        memcpy(&h, data, sizeof h); /* libqb itself has read these 16 bytes */
    if (size < sizeof h || (max > 0 && size > (size_t) max) || h.size < 0 ||
        (size_t) h.size != size)
        r = -EINVAL;
    else {
        struct qb_ipcs_connection_stats st = {};
        if (h.id == CFS_IPC_LOG_CLUSTER_MSG) /* the log entry carries the client's pid */
            (void) qb_ipcs_connection_stats_get(c, &st, 0);
        IpcRequest req = {
            .data = (const uint8_t *) data + sizeof h,
            .len = size - sizeof h,
            .read_only = (uintptr_t) qb_ipcs_context_get(c) != CLIENT_READ_WRITE,
            .pid = st.client_pid,
        };
        r = dispatch(s, h.id, &req, &body, &body_len);
        if (r > 0)
            r = 0;
    }
    log_debug(
        "IPC %s (%d, %zu bytes) -> %d", op_info(h.id) ? op_info(h.id)->name : "request", (int) h.id,
        size, r
    );
    send_response(c, h.id, r < 0 ? r : 0, body, body_len);
    if (body && h.id == CFS_IPC_GET_CONFIG)
        explicit_bzero(body, body_len); /* may be a private file */
    return 0;
}

static int32_t on_closed(qb_ipcs_connection_t *c) {
    (void) c;
    return 0;
}

static void on_destroyed(qb_ipcs_connection_t *c) {
    qb_ipcs_context_set(c, NULL);
}

/* ---- thread ----------------------------------------------------------------------------- */

static int32_t on_wake(int32_t fd, int32_t revents, void *data) {
    uint64_t v;
    (void) revents, (void) data;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
        log_debug_errno(errno, "Failed to read the IPC wake-up fd, stopping anyway: %m");
    qb_loop_stop(ipc_loop);
    return 0;
}

static void *server_thread(void *p) {
    IpcServer *s = p;
    qb_loop_run(s->loop);
    return NULL;
}

IpcServer *ipc_server_stop(IpcServer *s) {
    if (!s)
        return NULL;
    if (s->thread_started) {
        uint64_t one = 1;
        if (write(s->wake_fd, &one, sizeof one) < 0) /* cannot fail on an eventfd below max */
            log_warning_errno(errno, "Failed to wake the IPC thread: %m");
        pthread_join(s->thread, NULL);
    }
    /* The loop no longer runs: tear down from here (disconnects the clients). */
    if (s->service)
        qb_ipcs_destroy(s->service);
    if (s->loop) {
        if (s->wake_fd >= 0)
            (void) qb_loop_poll_del(s->loop, s->wake_fd);
        qb_loop_destroy(s->loop);
    }
    if (ipc_loop == s->loop)
        ipc_loop = NULL;
    safe_close(s->wake_fd);
    free(s->service_name);
    free(s);
    return NULL;
}

int ipc_server_start(
    Memdb *memdb, CfsStatus *status, const char *service_name, gid_t www_gid, IpcServer **ret
) {
    static struct qb_ipcs_service_handlers handlers = {
        .connection_accept = on_accept,
        .msg_process = on_message,
        .connection_closed = on_closed,
        .connection_destroyed = on_destroyed,
    };
    static struct qb_ipcs_poll_handlers poll_handlers = {
        .job_add = poll_job_add,
        .dispatch_add = poll_dispatch_add,
        .dispatch_mod = poll_dispatch_mod,
        .dispatch_del = poll_dispatch_del,
    };
    _cleanup_(ipc_server_stopp) IpcServer *s = NULL;
    int r;

    assert(memdb && status && service_name && ret);
    if (ipc_loop)
        return -EBUSY;
    s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->wake_fd = -EBADF;
    s->memdb = memdb;
    s->status = status;
    s->www_gid = www_gid;
    s->service_name = strdup(service_name);
    if (!s->service_name)
        return -ENOMEM;
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd < 0)
        return -errno;
    s->loop = qb_loop_create();
    if (!s->loop)
        return -ENOMEM;
    ipc_loop = s->loop;
    r = qb_loop_poll_add(s->loop, QB_LOOP_HIGH, s->wake_fd, POLLIN, s, on_wake);
    if (r < 0)
        return r;

    s->service = qb_ipcs_create(s->service_name, 1, QB_IPC_SHM, &handlers);
    if (!s->service)
        return errno > 0 ? -errno : -ENOMEM;
    qb_ipcs_service_context_set(s->service, s);
    qb_ipcs_poll_handlers_set(s->service, &poll_handlers);
    r = qb_ipcs_run(s->service);
    if (r < 0) {
        qb_ipcs_destroy(s->service);
        s->service = NULL;
        return log_debug_errno(r, "qb_ipcs_run('%s') failed: %m", s->service_name);
    }

    /* Signals belong to the FUSE thread (libfuse's exit handlers); keep only the synchronous
     * ones deliverable here, blocking them would turn a fault into a silent kill. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    r = -pthread_create(&s->thread, NULL, server_thread, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0)
        return r;
    s->thread_started = true;
    log_debug("IPC service '%s' running", s->service_name);
    *ret = TAKE_PTR(s);
    return 0;
}
