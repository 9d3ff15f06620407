/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-console: the VNC console of QEMU guests through the API (api.md §7 items 36-37, §11).
 * POST /nodes/{node}/qemu/{vmid}/vncproxy binds the first free 127.0.0.1 port in 5900-5999,
 * hands out a PVEVNC ticket signed over "<user>:/vms/<vmid>:<port>" and starts a `vncproxy`
 * task that accepts ONE connection on that port within 10 s and relays it to the VM's VNC
 * socket /var/run/qemu-server/<vmid>.vnc. GET .../vncwebsocket checks such a ticket and
 * answers {port}; pveproxy then upgrades the connection (pveproxy-websocket.c).
 * POST /access/vncticket verifies a ticket plus privileges for other proxies.
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api-guest.h"
#include "api-nodes.h"
#include "api-qemu.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/auth-ticket.h"
#include "pve/cfs-file.h"
#include "pve/console-relay.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/qmp.h"
#include "pve/string-util.h"
#include "pve/task.h"
#include "pve/user-cfg.h"

#define VNC_PORT_MIN       5900
#define VNC_PORT_MAX       5999
#define VNC_ACCEPT_TIMEOUT 10 /* seconds the task waits for its one client */
#define RELAY_BUF          65536

/* ---- the relay task ------------------------------------------------------------------------- */

typedef struct VncJob {
    int listen_fd;
    uint32_t vmid;
} VncJob;

static int connect_unix(const char *path) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

/* Copy once from `from` to `to`; 0 on EOF, >0 bytes moved, <0 error. */
static ssize_t pump(int from, int to) {
    char buf[RELAY_BUF];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0)
        return n < 0 ? -errno : 0;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t) (n - off));
        if (w < 0)
            return -errno;
        off += w;
    }
    return n;
}

void console_relay(int a_in, int a_out, int b) {
    struct pollfd p[2] = {{.fd = a_in, .events = POLLIN}, {.fd = b, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[0].revents && pump(a_in, b) <= 0)
            return;
        if (p[1].revents && pump(b, a_out) <= 0)
            return;
    }
}

int console_vnc_connect(uint32_t vmid) {
    char path[64];
    snprintf(path, sizeof(path), PVE_QEMU_RUNDIR "/%u.vnc", vmid);
    return connect_unix(path);
}

static int vnc_worker(TaskWorker *w, void *userdata) {
    VncJob *j = userdata;
    struct pollfd p = {.fd = j->listen_fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, VNC_ACCEPT_TIMEOUT * 1000);
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        task_set_error(w, "connection timed out");
        return -ETIMEDOUT;
    }
    int c = accept4(j->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    close(j->listen_fd);
    if (c < 0) {
        task_set_error(w, "accept failed: %s", strerror(errno));
        return -errno;
    }
    int v = console_vnc_connect(j->vmid);
    if (v < 0) {
        close(c);
        task_set_error(
            w, "unable to connect to VNC socket '" PVE_QEMU_RUNDIR "/%u.vnc' - %s", j->vmid,
            strerror(-v)
        );
        return v;
    }
    printf("connected to VNC socket of VM %u\n", j->vmid);
    fflush(stdout);
    console_relay(c, c, v);
    close(c);
    close(v);
    return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static int listen_vnc_port(unsigned *ret_port) {
    for (unsigned port = VNC_PORT_MIN; port <= VNC_PORT_MAX; port++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        struct sockaddr_in sa = {
            .sin_family = AF_INET,
            .sin_port = htons((uint16_t) port),
            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        };
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && listen(fd, 1) == 0) {
            *ret_port = port;
            return fd;
        }
        close(fd);
    }
    return -EADDRINUSE;
}

static int read_public_keys(char **ret_pub, char **ret_old) {
    int r = cfs_file_read(PVE_CFS_AUTHKEY_PUB, ret_pub, NULL);
    if (r < 0)
        return r;
    if (cfs_file_read(PVE_CFS_AUTHKEY_PUB_OLD, ret_old, NULL) < 0)
        *ret_old = NULL;
    return 0;
}

/* 0 when ticket is a valid console ticket of user for path (and port, 0 = unsigned). */
static int check_vnc_ticket(const char *ticket, const char *user, const char *path, unsigned port) {
    _cleanup_free_ char *pub = NULL, *old = NULL;
    int r = read_public_keys(&pub, &old);
    if (r < 0)
        return r;
    TicketKeys keys = {.public_pem = pub, .old_public_pem = old};
    return vnc_ticket_verify(ticket, &keys, user, path, port, time(NULL));
}

static void random_password(char ret[static 9]) {
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t rnd[8] = {};
    FILE *f = fopen("/dev/urandom", "re");
    if (f) {
        if (fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd))
            rnd[0] ^= (uint8_t) time(NULL);
        fclose(f);
    }
    for (size_t i = 0; i < 8; i++)
        ret[i] = chars[rnd[i] % (sizeof(chars) - 1)];
    ret[8] = 0;
}

/* The VM's VNC password (QEMU runs with password=on): the ticket, as upstream does. */
static int set_vnc_password(ApiCall *call, uint32_t vmid, const char *password) {
    _cleanup_free_ char *err = NULL;
    json_t *args = json_pack("{s:s,s:s}", "protocol", "vnc", "password", password);
    if (!args)
        return -ENOMEM;
    int r = qmp_command(vmid, "set_password", args, 5000, NULL, &err);
    json_decref(args);
    if (r < 0)
        return api_call_fail(
            call, 500, NULL, "unable to set VNC password - %s", err ? err : strerror(-r)
        );
    return 0;
}

/* ---- handlers ------------------------------------------------------------------------------- */

static int h_vncproxy(ApiCall *call) {
    uint32_t vmid = api_guest_vmid(call);
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_QEMU, vmid, &c, NULL);
    if (r < 0)
        return r;
    bool websocket = false, genpw = false;
    (void) api_call_param_bool(call, "websocket", &websocket);
    (void) api_call_param_bool(call, "generate-password", &genpw);

    char path[32], password[9] = "";
    snprintf(path, sizeof(path), "/vms/%u", vmid);
    unsigned port = 0;
    int fd = listen_vnc_port(&port);
    if (fd < 0)
        return api_call_fail(call, 500, NULL, "unable to find free port (5900-5999)");
    VncJob job = {.listen_fd = fd, .vmid = vmid};

    _cleanup_erase_free_ char *priv = NULL;
    _cleanup_free_ char *ticket = NULL, *cert = NULL, *upid = NULL;
    r = cfs_file_read(PVE_CFS_AUTHKEY_KEY, &priv, NULL);
    if (r >= 0)
        r = vnc_ticket_create(priv, api_user(call), path, port, time(NULL), &ticket);
    if (r < 0) {
        close(fd);
        return api_call_fail(call, 500, NULL, "unable to create vnc ticket: %s", strerror(-r));
    }
    if (genpw)
        random_password(password);
    if ((websocket || genpw) && (r = set_vnc_password(call, vmid, genpw ? password : ticket)) < 0) {
        close(fd);
        return r;
    }
    if (cfs_file_read(PVE_CFS_ROOT_CA_PEM, &cert, NULL) < 0)
        cert = NULL;

    char id[16];
    snprintf(id, sizeof(id), "%u", vmid);
    r = api_task_start(call, "vncproxy", id, vnc_worker, &job, &upid);
    close(fd); /* the worker has its own copy */
    if (r < 0)
        return r;
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    if (json_util_set_string(o, "user", api_user(call)) < 0 ||
        json_util_set_string(o, "ticket", ticket) < 0 ||
        json_util_set_string(o, "cert", cert ? cert : "") < 0 ||
        json_util_set_int(o, "port", port) < 0 || json_util_set_string(o, "upid", upid) < 0 ||
        (genpw && json_util_set_string(o, "password", password) < 0)) {
        json_decref(o);
        return -ENOMEM;
    }
    return api_call_set_result(call, o);
}

static int h_vncwebsocket(ApiCall *call) {
    uint32_t vmid = api_guest_vmid(call);
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_QEMU, vmid, &c, NULL); /* the VM exists here */
    if (r < 0)
        return r;
    long long port = 0;
    const char *ticket = NULL;
    (void) api_call_param_int(call, "port", &port);
    (void) api_call_param_string(call, "vncticket", &ticket);
    char path[32];
    snprintf(path, sizeof(path), "/vms/%u", vmid);
    r = check_vnc_ticket(ticket, api_user(call), path, (unsigned) port);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, 403, NULL, "Permission denied - invalid vnc ticket");
    char buf[16];
    snprintf(buf, sizeof(buf), "%lld", port);
    return api_call_set_result(call, json_pack("{s:s}", "port", buf));
}

static int h_vncticket(ApiCall *call) {
    const char *authid = NULL, *ticket = NULL, *path = NULL, *privs = NULL;
    long long port = 0;
    (void) api_call_param_string(call, "authid", &authid);
    (void) api_call_param_string(call, "vncticket", &ticket);
    (void) api_call_param_string(call, "path", &path);
    (void) api_call_param_string(call, "privs", &privs);
    (void) api_call_param_int(call, "port", &port);
    if (port < 0 || port > 65535 || check_vnc_ticket(ticket, authid, path, (unsigned) port) < 0)
        return api_call_fail(call, 403, NULL, "Permission denied - invalid vnc ticket");

    _cleanup_free_ char *copy = strdup(privs);
    const char *list[32] = {};
    size_t n = 0;
    char *save = NULL;
    if (!copy)
        return -ENOMEM;
    for (char *t = strtok_r(copy, ",; ", &save); t && n + 1 < ELEMENTSOF(list);
         t = strtok_r(NULL, ",; ", &save))
        list[n++] = t;
    const char *saved = call->user;
    call->user = authid;
    bool ok = n > 0 && api_has_priv(call, NULL, path, list, false);
    call->user = saved;
    if (!ok)
        return api_call_fail(call, 403, NULL, "Permission check failed");
    return api_call_set_result(call, json_null());
}

/* ---- tables --------------------------------------------------------------------------------- */

static const ApiSchema vncproxy_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_VMID_PARAM,
            API_PARAM_BOOL(
                "websocket",
                .optional = true,
                .description = "Prepare for websocket upgrade (only required when using "
                               "serial terminal, otherwise upgrade is always possible)."
            ),
            API_PARAM_BOOL(
                "generate-password",
                .optional = true,
                API_DEFAULT_INT(0),
                .description = "Generates a random password to be used as ticket instead of the "
                               "API ticket."
            )
        )
);
static const ApiSchema vncproxy_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("cert"),
            API_PARAM_STRING("password", .optional = true),
            API_PARAM_INTEGER("port"),
            API_PARAM_STRING("ticket"),
            API_PARAM_STRING("upid"),
            API_PARAM_STRING("user")
        )
);
static const ApiSchema vncwebsocket_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_VMID_PARAM,
            API_PARAM_INTEGER(
                "port",
                API_RANGE(5900, 5999),
                .description = "Port number returned by previous "
                               "vncproxy call."
            ),
            API_PARAM_STRING(
                "vncticket",
                .max_length = 512,
                .description = "Ticket from previous call to vncproxy."
            )
        )
);
static const ApiSchema vncwebsocket_returns =
    API_OBJECT(.properties = API_PROPERTIES(API_PARAM_STRING("port")));
static const ApiSchema vncticket_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("authid", .max_length = 64, .description = "UserId or token"),
            API_PARAM_STRING("vncticket", .description = "The VNC ticket."),
            API_PARAM_STRING(
                "path",
                .max_length = 64,
                .description = "Verify ticket, and "
                               "check if user have "
                               "access 'privs' on "
                               "'path'"
            ),
            API_PARAM_STRING(
                "privs",
                .max_length = 64,
                .format = "pve-priv-list",
                .description = "Verify ticket, and check if user have access 'privs' on 'path'"
            ),
            API_PARAM_INTEGER(
                "port",
                .optional = true,
                .description = "Port for verifying "
                               "terminal tickets."
            )
        )
);
static const ApiSchema null_returns = API_SCALAR(API_TYPE_NULL);

static const ApiMethod methods[] = {
    {
        .path = "/nodes/{node}/qemu/{vmid}/vncproxy",
        .method = API_METHOD_POST,
        .name = "vncproxy",
        .description = "Creates a TCP VNC proxy connections.",
        .parameters = &vncproxy_params,
        .returns = &vncproxy_returns,
        .permissions = API_PERM_CHECK("/vms/{vmid}", API_PRIVS("VM.Console")),
        .protected = true,
        .allowtoken = true,
        .handler = h_vncproxy,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/vncwebsocket",
        .method = API_METHOD_GET,
        .name = "vncwebsocket",
        .description = "Opens a websocket for VNC traffic.",
        .parameters = &vncwebsocket_params,
        .returns = &vncwebsocket_returns,
        .permissions = API_PERM_CHECK("/vms/{vmid}", API_PRIVS("VM.Console")),
        .allowtoken = true,
        .handler = h_vncwebsocket,
    },
    {
        .path = "/access/vncticket",
        .method = API_METHOD_POST,
        .name = "verify_vnc_ticket",
        .description = "verify VNC authentication ticket.",
        .parameters = &vncticket_params,
        .returns = &null_returns,
        .permissions = API_PERM_WORLD,
        .protected = true,
        .allowtoken = true,
        .handler = h_vncticket,
    },
};

int api_console_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
