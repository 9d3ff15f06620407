/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-node-guests: POST /nodes/{node}/startall and /nodes/{node}/stopall, what the pve-guests
 * unit runs at boot and shutdown.
 *
 * Both are one task (startall / stopall) that works through this node's QEMU VMs and LXC
 * containers as upstream does:
 *   - startall (without force only guests with onboot=1): ascending `startup` order, guests
 *     without an order last, ties by VMID; one at a time. Each start is the guest's own
 *     start call (a qmstart / vzstart task of its own), waited for; after a successful start
 *     the task sleeps `up` seconds (QEMU default 3 s when no `up` is set, as upstream, to
 *     spread the load). The node config's `startall-onboot-delay` delays the whole run
 *     unless force is set.
 *   - stopall: every guest, descending order (no order first), VMIDs descending; one order
 *     group at a time, the shutdowns of a group in parallel (at most max-workers, else
 *     datacenter.cfg's max_workers, else the CPU count), each with the guest's `down` as its
 *     timeout (else the timeout parameter, default 180) and forceStop = force-stop (default 1).
 * Guests already running (startall) or stopped (stopall) are skipped. The per-guest actions
 * go through the router to the qemu/lxc handlers, so locks, pending changes and task logs are
 * exactly those of a single start or shutdown.
 *
 * Permissions as upstream: VM.PowerMgmt on / covers everything; without it, every VMID of
 * `vms` needs VM.PowerMgmt on /vms/<vmid> (403 on the first that does not), and a call without
 * `vms` is refused with "Permission check failed (/, VM.PowerMgmt)". No quorum wait: this
 * node's pmxcfs answers the config reads, which is what the loop needs.
 */
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api-nodes.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/api-schema.h"
#include "pve/cfs-file.h"
#include "pve/datacenter-cfg.h"
#include "pve/guest-store.h"
#include "pve/lxc-runtime.h"
#include "pve/macro.h"
#include "pve/qemu-runtime.h"
#include "pve/string-util.h"
#include "pve/task.h"
#include "pve/upid.h"

#define STOPALL_DEFAULT_TIMEOUT 180
#define QEMU_DEFAULT_UP_DELAY   3 /* s, upstream's load spreading between VM starts */

typedef struct Guest {
    uint32_t vmid;
    GuestType type;
    long order;    /* LONG_MAX when unset */
    long up, down; /* -1 when unset */
} Guest;

typedef struct Job {
    const ApiEnv *env;
    const char *user;
    bool force;      /* startall: also guests without onboot */
    bool force_stop; /* stopall */
    long timeout;    /* stopall: -1 = default */
    unsigned delay;  /* startall-onboot-delay */
    unsigned max_workers;
    uint32_t *filter; /* vms, NULL = all */
    size_t n_filter;
} Job;

/* ---- the guest list ---------------------------------------------------------------------- */

static bool in_filter(const Job *j, uint32_t vmid) {
    if (!j->filter)
        return true;
    for (size_t i = 0; i < j->n_filter; i++)
        if (j->filter[i] == vmid)
            return true;
    return false;
}

/* One guest's entry; 0 = skip it (not onboot, unreadable config: warned as upstream). */
static int guest_entry(const Job *j, bool onboot_only, GuestType t, uint32_t vmid, Guest *ret) {
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    _cleanup_free_ char *err = NULL;
    int r = guest_config_read(t, j->env->nodename, vmid, &c, NULL, &err);
    if (r < 0) {
        fprintf(stderr, "%s\n", err ?: strerror(-r));
        return 0;
    }
    const GuestSection *m = guest_config_main(c);
    if (onboot_only && !guest_config_bool(guest_section_get(m, "onboot"), false))
        return 0;
    GuestStartup s = {.order = -1, .up = -1, .down = -1};
    const char *startup = guest_section_get(m, "startup");
    if (startup && guest_startup_parse(startup, &s, &err) < 0) {
        fprintf(stderr, "%s %u: %s\n", guest_type_noun(t), vmid, err ?: "invalid startup");
        return 0;
    }
    *ret = (Guest
    ){.vmid = vmid,
      .type = t,
      .order = s.order < 0 ? LONG_MAX : s.order,
      .up = s.up,
      .down = s.down};
    return 1;
}

static int guest_cmp(const void *a, const void *b) {
    const Guest *x = a, *y = b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return x->vmid < y->vmid ? -1 : x->vmid > y->vmid;
}

/* This node's guests (both types), sorted by (order, vmid) ascending. */
static int collect(const Job *j, bool onboot_only, Guest **ret, size_t *ret_n) {
    _cleanup_free_ Guest *list = NULL;
    size_t n = 0;
    static const GuestType types[] = {GUEST_TYPE_QEMU, GUEST_TYPE_LXC};
    for (size_t t = 0; t < ELEMENTSOF(types); t++) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n_ids = 0;
        int r = guest_list_local(types[t], j->env->nodename, &ids, &n_ids);
        if (r < 0)
            return r;
        Guest *nl = reallocarray(list, n + n_ids + 1, sizeof(Guest));
        if (!nl)
            return -ENOMEM;
        list = nl;
        for (size_t i = 0; i < n_ids; i++)
            if (in_filter(j, ids[i]) && guest_entry(j, onboot_only, types[t], ids[i], &list[n]))
                n++;
    }
    if (n > 0)
        qsort(list, n, sizeof(Guest), guest_cmp);
    *ret = TAKE_PTR(list);
    *ret_n = n;
    return 0;
}

static bool guest_running(const Guest *g) {
    return g->type == GUEST_TYPE_QEMU ? qemu_vm_running(g->vmid) : lxc_ct_running(g->vmid, NULL);
}

/* ---- per-guest actions through the router ------------------------------------------------ */

/*
 * POST /nodes/<node>/<qemu|lxc>/<vmid>/status/<action> as the call's user; the UPID of the
 * task it starts in *ret_upid. Failures are printed (the task log) and returned.
 */
static int guest_action(
    const Job *j,
    ApiRouter *router,
    const Guest *g,
    const char *action,
    json_t *params,
    char **ret_upid
) {
    _cleanup_free_ char *path = NULL;
    if (asprintf(
            &path, "/nodes/%s/%s/%u/status/%s", j->env->nodename, guest_type_name(g->type), g->vmid,
            action
        ) < 0)
        return -ENOMEM;
    _cleanup_(api_call_done) ApiCall call = API_CALL_INIT;
    call.userdata = (void *) j->env;
    int r = api_router_call(router, API_METHOD_POST, path, params, j->user, &call);
    const char *upid = json_string_value(call.result);
    if (r >= 0 && !upid)
        r = -EPROTO;
    if (r < 0) {
        fprintf(
            stderr, "%s %s %u failed: %s", action, guest_type_noun(g->type), g->vmid,
            call.message ?: strerror(-r)
        );
        if (!call.message || !endswith(call.message, "\n"))
            fputc('\n', stderr);
        return r;
    }
    *ret_upid = strdup(upid);
    return *ret_upid ? 0 : -ENOMEM;
}

/* Wait until the task of upid (our child) has ended. */
static void wait_task(const char *upid) {
    Upid u;
    if (upid_decode(upid, &u) < 0)
        return;
    if (waitpid((pid_t) u.pid, NULL, 0) >= 0)
        return;
    while (task_process_running(u.pid, u.pstart)) /* not our child (cannot happen) */
        usleep(100 * 1000);
}

/* ---- startall ---------------------------------------------------------------------------- */

static void start_one(const Job *j, ApiRouter *router, const Guest *g) {
    const char *noun = guest_type_noun(g->type);
    if (guest_running(g))
        return;
    fprintf(stderr, "Starting %s %u\n", noun, g->vmid);
    _cleanup_(json_decrefp) json_t *params = json_object();
    _cleanup_free_ char *upid = NULL, *status = NULL;
    if (!params || guest_action(j, router, g, "start", params, &upid) < 0)
        return;
    wait_task(upid);
    if (task_read_status(j->env->taskdir, upid, &status) < 0)
        return;
    if (!streq(task_status_type(status), "ok") && !streq(task_status_type(status), "warning")) {
        fprintf(stderr, "Starting %s %u failed: %s\n", noun, g->vmid, status);
        return;
    }
    long delay = g->up >= 0 ? g->up : g->type == GUEST_TYPE_QEMU ? QEMU_DEFAULT_UP_DELAY : 0;
    if (delay <= 0)
        return;
    if (g->up >= 0)
        fprintf(stderr, "Waiting for %ld seconds (startup delay)\n", delay);
    sleep((unsigned) delay);
}

static int startall_worker(TaskWorker *w, void *userdata) {
    const Job *j = userdata;
    if (!j->force && j->delay > 0) {
        printf("Delaying on-boot 'startall' command by %u second(s).\n", j->delay);
        fflush(stdout);
        sleep(j->delay);
    }
    _cleanup_free_ Guest *list = NULL;
    size_t n = 0;
    _cleanup_(api_router_freep) ApiRouter *router = api_router_new();
    if (!router || api_register_all(router) < 0)
        return -ENOMEM;
    int r = collect(j, !j->force, &list, &n);
    if (r < 0) {
        task_set_error(w, "unable to list guests - %s", strerror(-r));
        return r;
    }
    for (size_t i = 0; i < n; i++)
        start_one(j, router, &list[i]);
    return 0;
}

/* ---- stopall ----------------------------------------------------------------------------- */

/* Start the shutdown task of a running guest; its UPID in *ret (NULL when nothing started). */
static int stop_one(const Job *j, ApiRouter *router, const Guest *g, char **ret) {
    *ret = NULL;
    if (!guest_running(g))
        return 0;
    long timeout = g->down >= 0 ? g->down : j->timeout >= 0 ? j->timeout : STOPALL_DEFAULT_TIMEOUT;
    fprintf(
        stderr, "Stopping %s %u (timeout = %ld seconds)\n", guest_type_noun(g->type), g->vmid,
        timeout
    );
    _cleanup_(json_decrefp) json_t *params =
        json_pack("{s:I,s:b}", "timeout", (json_int_t) timeout, "forceStop", j->force_stop);
    if (!params)
        return -ENOMEM;
    return guest_action(j, router, g, "shutdown", params, ret);
}

/* Wait for any one of the running shutdown tasks and drop it from the set. */
static void reap_one(char **upids, size_t *n) {
    pid_t pid = waitpid(-1, NULL, 0);
    for (size_t i = 0; i < *n; i++) {
        Upid u;
        if (upid_decode(upids[i], &u) < 0 || (pid >= 0 && (pid_t) u.pid != pid))
            continue;
        if (pid < 0) /* no child left to wait for: drop them all */
            wait_task(upids[i]);
        free(upids[i]);
        upids[i] = upids[--*n];
        if (pid >= 0)
            return;
        i--;
    }
}

static int stopall_worker(TaskWorker *w, void *userdata) {
    const Job *j = userdata;
    _cleanup_free_ Guest *list = NULL;
    size_t n = 0;
    _cleanup_(api_router_freep) ApiRouter *router = api_router_new();
    if (!router || api_register_all(router) < 0)
        return -ENOMEM;
    int r = collect(j, false, &list, &n);
    if (r < 0) {
        task_set_error(w, "unable to list guests - %s", strerror(-r));
        return r;
    }
    _cleanup_free_ char **running = calloc(j->max_workers + 1, sizeof(char *));
    size_t n_running = 0;
    if (!running)
        return -ENOMEM;
    /* the list is ascending: walk it backwards, one order group at a time */
    for (size_t end = n; end > 0;) {
        long order = list[end - 1].order;
        for (; end > 0 && list[end - 1].order == order; end--) {
            char *upid = NULL;
            if (stop_one(j, router, &list[end - 1], &upid) < 0 || !upid)
                continue;
            running[n_running++] = upid;
            while (n_running >= j->max_workers)
                reap_one(running, &n_running);
        }
        while (n_running > 0)
            reap_one(running, &n_running);
    }
    printf("all VMs and CTs stopped\n");
    return 0;
}

/* ---- handlers ---------------------------------------------------------------------------- */

static int parse_vms(ApiCall *call, Job *j) {
    const char *vms = NULL;
    if (api_call_param_string(call, "vms", &vms) < 0 || !vms)
        return 0;
    for (const char *p = vms; *p;) {
        size_t len = strcspn(p, ",; \t\n");
        if (len > 0) {
            uint32_t *nf = reallocarray(j->filter, j->n_filter + 1, sizeof(uint32_t));
            if (!nf)
                return -ENOMEM;
            j->filter = nf;
            j->filter[j->n_filter++] = (uint32_t) strtoul(p, NULL, 10);
        }
        p += len;
        p += strspn(p, ",; \t\n");
    }
    return 0;
}

/* upstream: VM.PowerMgmt on /, or on /vms/<vmid> for each of an explicit `vms` list */
static int check_permissions(ApiCall *call, const Job *j) {
    static const char *const privs[] = {"VM.PowerMgmt", NULL};
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    if (api_has_priv(call, cfg, "/", privs, false))
        return 0;
    if (j->n_filter == 0)
        return api_call_fail(call, 403, NULL, "Permission check failed (/, VM.PowerMgmt)");
    for (size_t i = 0; i < j->n_filter; i++) {
        char path[32];
        snprintf(path, sizeof path, "/vms/%u", j->filter[i]);
        if ((r = api_check_priv(call, cfg, path, privs, false)) < 0)
            return r;
    }
    return 0;
}

/* `startall-onboot-delay: <s>` of nodes/<node>/config, 0 when unset */
static unsigned onboot_delay(const char *node) {
    _cleanup_free_ char *path = NULL, *text = NULL;
    if (asprintf(&path, "nodes/%s/config", node) < 0 || cfs_file_read(path, &text, NULL) < 0)
        return 0;
    static const char key[] = "startall-onboot-delay:";
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (startswith(l, key)) {
            long v = strtol(l + strlen(key), NULL, 10);
            return v > 0 && v <= 300 ? (unsigned) v : 0;
        }
    return 0;
}

/* max-workers, else datacenter.cfg's max_workers, else the CPU count */
static unsigned max_workers(const ApiCall *call) {
    long long v = 0;
    if (api_call_param_int(call, "max-workers", &v) >= 0 && v > 0)
        return (unsigned) v;
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *dc = NULL;
    if (cfs_file_read("datacenter.cfg", &text, &len) >= 0 &&
        datacenter_cfg_parse(text, len, &dc) >= 0)
        for (size_t i = 0; i < dc->n_entries; i++)
            if (streq(dc->entries[i].key, "max_workers") && atoi(dc->entries[i].value) > 0)
                return (unsigned) atoi(dc->entries[i].value);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (unsigned) cpus : 1;
}

static int run_all(ApiCall *call, bool start) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    _cleanup_free_ uint32_t *filter = NULL;
    Job j = {.env = api_env(call), .user = api_user(call), .timeout = -1, .force_stop = true};
    r = parse_vms(call, &j);
    filter = j.filter;
    if (r < 0 || (r = check_permissions(call, &j)) < 0)
        return r;
    long long timeout;
    if (api_call_param_int(call, "timeout", &timeout) >= 0)
        j.timeout = (long) timeout;
    (void) api_call_param_bool(call, "force", &j.force);
    (void) api_call_param_bool(call, "force-stop", &j.force_stop);
    j.max_workers = max_workers(call);
    if (start)
        j.delay = onboot_delay(j.env->nodename);
    return api_task_start(
        call, start ? "startall" : "stopall", "", start ? startall_worker : stopall_worker, &j, NULL
    );
}

static int h_startall(ApiCall *call) {
    return run_all(call, true);
}

static int h_stopall(ApiCall *call) {
    return run_all(call, false);
}

#define VMS_PARAM                                                                      \
    API_PARAM_STRING(                                                                  \
        "vms", .optional = true, .format = "pve-vmid-list", .typetext = "<string>",    \
        .description = "Only consider guests from this comma separated list of VMIDs." \
    )
#define MAX_WORKERS_PARAM                                                                    \
    API_PARAM_INTEGER(                                                                       \
        "max-workers", .optional = true, API_RANGE(1, 64), .typetext = "<integer> (1 - 64)", \
        .description =                                                                       \
            "Defines the maximum number of tasks running concurrently. If not "              \
            "set, uses'max_workers' from datacenter.cfg."                                    \
    )

static const ApiSchema startall_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_BOOL(
                "force",
                .optional = true,
                API_DEFAULT_STR("off"),
                .typetext = "<boolean>",
                .description = "Issue start command even if virtual guest have 'onboot' not set or "
                               "set to off."
            ),
            MAX_WORKERS_PARAM,
            VMS_PARAM
        )
);

static const ApiSchema stopall_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_BOOL(
                "force-stop",
                .optional = true,
                API_DEFAULT_INT(1),
                .typetext = "<boolean>",
                .description = "Force a hard-stop after the timeout."
            ),
            MAX_WORKERS_PARAM,
            API_NODE_PARAM,
            API_PARAM_INTEGER(
                "timeout",
                .optional = true,
                API_RANGE(0, 7200),
                API_DEFAULT_INT(180),
                .typetext = "<integer> (0 - 7200)",
                .description = "Timeout for each guest shutdown task. Depending on `force-stop`, "
                               "the shutdown gets then simply aborted or a hard-stop is forced."
            ),
            VMS_PARAM
        )
);

static const ApiSchema upid_returns = API_SCALAR(API_TYPE_STRING);

static const ApiMethod methods[] = {
    {
        .path = "/nodes/{node}/startall",
        .method = API_METHOD_POST,
        .name = "startall",
        .description = "Start all VMs and containers located on this node (by default only "
                       "those with onboot=1).",
        .parameters = &startall_params,
        .returns = &upid_returns,
        .permissions = API_PERM_ALL,
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_startall,
    },
    {
        .path = "/nodes/{node}/stopall",
        .method = API_METHOD_POST,
        .name = "stopall",
        .description = "Stop all VMs and Containers.",
        .parameters = &stopall_params,
        .returns = &upid_returns,
        .permissions = API_PERM_ALL,
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_stopall,
    },
};

int api_node_guests_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
