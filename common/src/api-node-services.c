/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-node-services: /nodes/{node}/services (state of the node's services), .../{service}
 * (index), .../state, and POST .../start|stop|restart|reload as tasks (srvstart, ...).
 *
 * With systemd as init (or $PVE_SYSTEMCTL set, which tests point at a fake) states come from
 * `systemctl show` and actions run `systemctl <cmd> <unit>`. Without systemd our own daemons
 * are driven through their CLI verbs ($PVE_SERVICE_BINDIR/<daemon> start|stop|restart|status,
 * /usr/bin by default); other services then have state "unknown" and refuse actions.
 * pve-cluster, pvedaemon and pveproxy may only be restarted, as upstream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "api-nodes.h"
#include "pve/api-env.h"
#include "pve/json-util.h"
#include "pve/string-util.h"
#include "pve/task.h"

typedef struct Service {
    const char *id;
    const char *unit;   /* systemd unit when it differs from the id */
    const char *daemon; /* our daemon with start|stop|restart|status verbs, or NULL */
    const char *desc;
} Service;

#define SERVICE_IDS                                                                      \
    "chrony", "corosync", "cron", "ksmtuned", "lxcfs", "postfix", "proxmox-firewall",    \
        "pve-cluster", "pve-firewall", "pve-ha-crm", "pve-ha-lrm", "pve-lxc-syscalld",   \
        "pvedaemon", "pvefw-logger", "pveproxy", "pvescheduler", "pvestatd", "qmeventd", \
        "spiceproxy", "sshd", "syslog", "systemd-journald", "systemd-timesyncd"

static const Service services[] = {
    {"chrony", NULL, NULL, "chrony, an NTP client/server"},
    {"corosync", NULL, NULL, "Corosync Cluster Engine"},
    {"cron", NULL, NULL, "Regular background program processing daemon"},
    {"ksmtuned", NULL, NULL, "Kernel Samepage Merging (KSM) Tuning Daemon"},
    {"lxcfs", NULL, NULL, "FUSE filesystem for LXC"},
    {"postfix", "postfix@-", NULL, "Postfix Mail Transport Agent (instance -)"},
    {"proxmox-firewall", NULL, NULL, "Proxmox nftables firewall"},
    {"pve-cluster", NULL, NULL, "The Proxmox VE cluster filesystem"},
    {"pve-firewall", NULL, "pve-firewall", "Proxmox VE firewall"},
    {"pve-ha-crm", NULL, "pve-ha-crm", "PVE Cluster HA Resource Manager Daemon"},
    {"pve-ha-lrm", NULL, "pve-ha-lrm", "PVE Local HA Resource Manager Daemon"},
    {"pve-lxc-syscalld", NULL, NULL, "Proxmox VE LXC Syscall Daemon"},
    {"pvedaemon", NULL, "pvedaemon", "PVE API Daemon"},
    {"pvefw-logger", NULL, NULL, "Proxmox VE firewall logger"},
    {"pveproxy", NULL, "pveproxy", "PVE API Proxy Server"},
    {"pvescheduler", NULL, "pvescheduler", "Proxmox VE scheduler"},
    {"pvestatd", NULL, "pvestatd", "PVE Status Daemon"},
    {"qmeventd", NULL, NULL, "PVE Qemu Event Daemon"},
    {"spiceproxy", NULL, "spiceproxy", "PVE SPICE Proxy Server"},
    {"sshd", NULL, NULL, "OpenBSD Secure Shell server"},
    {"syslog", NULL, NULL, "System Logging Service"},
    {"systemd-journald", NULL, NULL, "Journal Service"},
    {"systemd-timesyncd", NULL, NULL, "Network Time Synchronization"},
};

static const Service *service_find(const char *id) {
    for (size_t i = 0; id && i < ELEMENTSOF(services); i++)
        if (streq(services[i].id, id))
            return &services[i];
    return NULL;
}

static const char *service_unit(const Service *s) {
    return s->unit ?: s->id;
}

/* systemctl to use, or NULL when systemd is not the init system */
static const char *systemctl(void) {
    const char *c = getenv("PVE_SYSTEMCTL");
    if (c && c[0])
        return c;
    return sd_booted() > 0 ? "systemctl" : NULL;
}

static int daemon_path(const Service *s, char **ret) {
    const char *dir = getenv("PVE_SERVICE_BINDIR");
    return asprintf(ret, "%s/%s", dir && dir[0] ? dir : "/usr/bin", s->daemon) < 0 ? -ENOMEM : 0;
}

/* ---- state ---------------------------------------------------------------------------------- */

static json_t *state_new(const Service *s) {
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s}", "service", s->id, "name", s->id, "desc", s->desc, "state",
        "unknown", "active-state", "unknown", "unit-state", "unknown"
    );
}

/* `systemctl show u1 u2 ...`: one block of Key=Value lines per unit, blank line between */
typedef struct ShowParse {
    json_t *states; /* array in unit order */
    size_t index;
    bool in_block;
} ShowParse;

static int show_line(const char *line, size_t len, void *userdata) {
    static const struct {
        const char *key, *field;
    } map[] = {
        {"Description", "desc"},
        {"SubState", "state"},
        {"ActiveState", "active-state"},
        {"UnitFileState", "unit-state"},
    };
    ShowParse *p = userdata;
    if (len == 0) {
        if (p->in_block)
            p->index++;
        p->in_block = false;
        return 0;
    }
    p->in_block = true;
    json_t *st = json_array_get(p->states, p->index);
    const char *eq = memchr(line, '=', len);
    if (!st || !eq || eq == line || eq + 1 == line + len)
        return 0;
    size_t klen = (size_t) (eq - line);
    for (size_t i = 0; i < ELEMENTSOF(map); i++)
        if (strlen(map[i].key) == klen && strneq(line, map[i].key, klen))
            return json_util_set_new(st, map[i].field, json_stringn(eq + 1, len - klen - 1));
    if (klen == 9 && strneq(line, "LoadState", 9) && streq(eq + 1, "not-found"))
        return json_util_set_string(st, "unit-state", "not-found");
    return 0;
}

static int status_line(const char *line, size_t len, void *userdata) {
    json_t *st = userdata;
    (void) len;
    bool run = streq(line, "running");
    if (!run && !streq(line, "stopped"))
        return 0;
    int r = json_util_set_string(st, "state", run ? "running" : "dead");
    return r ?: json_util_set_string(st, "active-state", run ? "active" : "inactive");
}

static int daemon_state(const Service *s, json_t *st) {
    if (!s->daemon)
        return 0;
    _cleanup_free_ char *bin = NULL;
    if (daemon_path(s, &bin) < 0)
        return -ENOMEM;
    int status, r = api_node_run_lines(
                    (const char *const[]){bin, "status", NULL}, status_line, st, &status
                );
    return r == -ENOMEM ? r : 0;
}

/* States of n services (array of upstream's objects, in order). */
static int services_state(const Service *const *list, size_t n, json_t **ret) {
    _cleanup_json_ json_t *states = json_array();
    if (!states)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (json_util_append_new(states, state_new(list[i])) < 0)
            return -ENOMEM;
    const char *ctl = systemctl();
    int r = 0;
    if (ctl) {
        _cleanup_free_ const char **argv = calloc(n + 3, sizeof *argv);
        if (!argv)
            return -ENOMEM;
        argv[0] = ctl;
        argv[1] = "show";
        for (size_t i = 0; i < n; i++)
            argv[i + 2] = service_unit(list[i]);
        ShowParse p = {.states = states};
        int status;
        r = api_node_run_lines(argv, show_line, &p, &status);
        r = r == -ENOMEM ? r : 0;
    } else
        for (size_t i = 0; r >= 0 && i < n; i++)
            r = daemon_state(list[i], json_array_get(states, i));
    if (r < 0)
        return r;
    *ret = TAKE_PTR(states);
    return 0;
}

static int h_services(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    const Service *list[ELEMENTSOF(services)];
    for (size_t i = 0; i < ELEMENTSOF(services); i++)
        list[i] = &services[i];
    json_t *states = NULL;
    if ((r = services_state(list, ELEMENTSOF(services), &states)) < 0)
        return r;
    return api_call_set_result(call, states);
}

static const Service *param_service(ApiCall *call) {
    const char *id = NULL;
    (void) api_call_param_string(call, "service", &id);
    return service_find(id); /* the schema's enum already checked it */
}

static int h_service_index(ApiCall *call) {
    return api_call_set_result(
        call, json_pack(
                  "[{s:s},{s:s},{s:s},{s:s},{s:s}]", "subdir", "state", "subdir", "start", "subdir",
                  "stop", "subdir", "restart", "subdir", "reload"
              )
    );
}

static int h_service_state(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    const Service *s = param_service(call);
    if (!s)
        return -EINVAL;
    _cleanup_json_ json_t *states = NULL;
    if ((r = services_state(&s, 1, &states)) < 0)
        return r;
    return api_call_set_result(call, json_incref(json_array_get(states, 0)));
}

/* ---- actions -------------------------------------------------------------------------------- */

typedef struct Action {
    const Service *service;
    const char *cmd; /* start, stop, restart, reload */
} Action;

static bool action_allowed(const Action *a) {
    if (streq(a->service->id, "pve-cluster") || streq(a->service->id, "pvedaemon") ||
        streq(a->service->id, "pveproxy"))
        return streq(a->cmd, "restart");
    return true;
}

static int action_worker(TaskWorker *w, void *userdata) {
    const Action *a = userdata;
    const char *ctl = systemctl();
    /* upstream reloads with try-reload-or-restart; our daemons reload on restart (SIGHUP) */
    const char *verb =
        streq(a->cmd, "reload") ? (ctl ? "try-reload-or-restart" : "restart") : a->cmd;
    if (!action_allowed(a)) {
        task_set_error(w, "invalid service cmd '%s %s': ERROR", a->service->id, verb);
        return -EPERM;
    }
    _cleanup_free_ char *bin = NULL;
    const char *argv[4];
    if (ctl) {
        argv[0] = ctl;
        argv[1] = verb;
        argv[2] = service_unit(a->service);
    } else if (a->service->daemon) {
        if (daemon_path(a->service, &bin) < 0)
            return -ENOMEM;
        argv[0] = bin;
        argv[1] = verb;
        argv[2] = NULL;
    } else {
        task_set_error(w, "cannot %s service '%s': systemd is not running", a->cmd, a->service->id);
        return -EOPNOTSUPP;
    }
    argv[3] = NULL;
    int status, r = api_node_run(argv, &status);
    if (r < 0) {
        task_set_error(w, "unable to run '%s' - %s", argv[0], strerror(-r));
        return r;
    }
    if (status != 0) {
        task_set_error(
            w, "command '%s %s%s%s' failed: exit code %d", argv[0], argv[1], argv[2] ? " " : "",
            argv[2] ?: "", status
        );
        return -EIO;
    }
    return 0;
}

static int service_action(ApiCall *call, const char *cmd) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    Action a = {.service = param_service(call), .cmd = cmd};
    if (!a.service)
        return -EINVAL;
    char type[16];
    snprintf(type, sizeof type, "srv%s", cmd);
    return api_task_start(call, type, a.service->id, action_worker, &a, NULL);
}

static int h_start(ApiCall *call) {
    return service_action(call, "start");
}
static int h_stop(ApiCall *call) {
    return service_action(call, "stop");
}
static int h_restart(ApiCall *call) {
    return service_action(call, "restart");
}
static int h_reload(ApiCall *call) {
    return service_action(call, "reload");
}

/* ---- tables --------------------------------------------------------------------------------- */

static const ApiSchema node_only_params = API_OBJECT(.properties = API_PROPERTIES(API_NODE_PARAM));

static const ApiSchema service_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_STRING(
                "service", .enum_values = API_ENUM(SERVICE_IDS), .description = "Service ID"
            )
        )
);

#define ACTIVE_STATES                                                                             \
    API_ENUM(                                                                                     \
        "active", "inactive", "failed", "activating", "deactivating", "maintenance", "reloading", \
        "refreshing", "unknown"                                                                   \
    )
#define SUB_STATES                                                                                 \
    API_ENUM(                                                                                      \
        "dead", "condition", "start-pre", "start", "start-post", "running", "exited", "reload",    \
        "reload-signal", "reload-notify", "mounting", "stop", "stop-watchdog", "stop-sigterm",     \
        "stop-sigkill", "stop-post", "final-watchdog", "final-sigterm", "final-sigkill", "failed", \
        "dead-before-auto-restart", "failed-before-auto-restart", "dead-resources-pinned",         \
        "auto-restart", "auto-restart-queued", "cleaning", "unknown"                               \
    )
#define UNIT_STATES                                                                          \
    API_ENUM(                                                                                \
        "enabled", "enabled-runtime", "linked", "linked-runtime", "alias", "masked",         \
        "masked-runtime", "static", "disabled", "indirect", "generated", "transient", "bad", \
        "not-found", "unknown"                                                               \
    )
#define STATE_PROPERTIES                                                                    \
    API_PROPERTIES(                                                                         \
        API_PARAM_STRING("service", .description = "Service ID"),                           \
        API_PARAM_STRING("name", .description = "Short identifier for the service"),        \
        API_PARAM_STRING("desc", .description = "Description of the service."),             \
        API_PARAM_STRING(                                                                   \
            "state", .enum_values = SUB_STATES,                                             \
            .description = "Current state of the service process."                          \
        ),                                                                                  \
        API_PARAM_STRING(                                                                   \
            "active-state", .enum_values = ACTIVE_STATES,                                   \
            .description = "Current activation state."                                      \
        ),                                                                                  \
        API_PARAM_STRING(                                                                   \
            "unit-state", .enum_values = UNIT_STATES, .description = "The unit file state." \
        )                                                                                   \
    )

static const ApiSchema services_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = STATE_PROPERTIES));
static const ApiSchema state_returns = API_OBJECT(.properties = STATE_PROPERTIES);
static const ApiSchema index_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = API_PROPERTIES(API_PARAM_STRING("subdir"))));
static const ApiSchema upid_returns = API_SCALAR(API_TYPE_STRING);

#define SYS_AUDIT  API_PERM_CHECK("/nodes/{node}", API_PRIVS("Sys.Audit"))
#define SYS_MODIFY API_PERM_CHECK("/nodes/{node}", API_PRIVS("Sys.Modify"))
#define ACTION(verb, fn, text)                                                                     \
    {                                                                                              \
        .path = "/nodes/{node}/services/{service}/" verb, .method = API_METHOD_POST,               \
        .name = "service_" verb, .description = text, .parameters = &service_params,               \
        .returns = &upid_returns, .permissions = SYS_MODIFY, .protected = true, .proxyto = "node", \
        .allowtoken = true, .handler = fn,                                                         \
    }

static const ApiMethod methods[] = {
    {
        .path = "/nodes/{node}/services",
        .method = API_METHOD_GET,
        .name = "index",
        .description = "Service list.",
        .parameters = &node_only_params,
        .returns = &services_returns,
        .permissions = SYS_AUDIT,
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_services,
    },
    {
        .path = "/nodes/{node}/services/{service}",
        .method = API_METHOD_GET,
        .name = "srvcmdidx",
        .description = "Directory index",
        .parameters = &service_params,
        .returns = &index_returns,
        .permissions = SYS_AUDIT,
        .allowtoken = true,
        .handler = h_service_index,
    },
    {
        .path = "/nodes/{node}/services/{service}/state",
        .method = API_METHOD_GET,
        .name = "service_state",
        .description = "Read service properties",
        .parameters = &service_params,
        .returns = &state_returns,
        .permissions = SYS_AUDIT,
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_service_state,
    },
    ACTION("start", h_start, "Start service."),
    ACTION("stop", h_stop, "Stop service."),
    ACTION(
        "restart",
        h_restart,
        "Hard restart service. Use reload if you want to reduce interruptions."
    ),
    ACTION(
        "reload", h_reload, "Reload service. Falls back to restart if service cannot be reloaded."
    ),
};

int api_node_services_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
