/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvedaemon-server: the privileged API daemon's server: the shared handler tables
 * (api-methods.h) behind the shared request pipeline (api-server.h) in a pool of worker
 * processes (prefork.h), task reaping and the periodic task list broadcast. Every 401 is answered
 * from an sd-event timer so the request takes at least 3 s; the loop never sleeps.
 */
#include "pvedaemon-server.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/api-auth.h"
#include "pve/api-methods.h"
#include "pve/api-server.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/prefork.h"
#include "pve/string-util.h"

#define JSON_CT "application/json;charset=UTF-8"

/* ---- lifecycle ------------------------------------------------------------------------------ */

int pd_server_init(PdServer *s) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) < 0)
        return -errno;
    host[strcspn(host, ".")] = 0;
    s->nodename = strdup(host);
    if (!s->nodename)
        return -ENOMEM;
    s->env.nodename = s->nodename;
    s->env.taskdir = pve_path_env("PVE_TASK_DIR", PVE_TASK_DIR);
    s->env.power_command = getenv("PVE_NODE_POWER_COMMAND");
    s->env.privileged = true;
    s->router = api_router_new();
    if (!s->router)
        return -ENOMEM;
    return api_register_all(s->router);
}

/* ---- workers ------------------------------------------------------------------------------ */

/* Task workers are children of the API worker that forked them. */
static int on_sigchld(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata) {
    PdServer *s = userdata;
    (void) src;
    (void) si;
    bool any = false;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        any = true;
    if (any)
        (void) api_broadcast_tasklist(s->env.taskdir);
    return 0;
}

static int worker_main(unsigned index, void *userdata) {
    PdServer *s = userdata;
    _cleanup_(sd_event_unrefp) sd_event *e = NULL;
    _cleanup_(sd_event_source_disable_unrefp) sd_event_source *chld = NULL;
    (void) index;
    int r = sd_event_new(&e);
    if (r < 0)
        return r;
    s->event = e; /* the supervisor's loop is not usable after fork */
    s->http = NULL;
    ApiServerConfig acfg = {
        .router = s->router,
        .env = &s->env,
        .trust_client_ip = true, /* pveproxy forwards the real client as PVEClientIP */
        .compress = true,
    };
    _cleanup_(api_server_freep) ApiServer *api = NULL;
    r = api_server_new(e, &acfg, &api);
    if (r < 0)
        return r;
    HttpServerConfig cfg = HTTP_SERVER_CONFIG_INIT;
    cfg.listen_fd = fcntl(s->listen_fd, F_DUPFD_CLOEXEC, 3);
    cfg.handler = api_server_handle;
    cfg.userdata = api;
    if (cfg.listen_fd < 0)
        return -errno;
    r = http_server_new(e, &cfg, &s->http);
    if (r < 0)
        return log_error_errno(r, "worker: cannot serve: %m");
    r = sd_event_add_signal(e, &chld, SIGCHLD, on_sigchld, s);
    if (r >= 0)
        r = prefork_worker_run(
            e,
            &(PreforkServe
            ){.quiesce = prefork_http_quiesce, .busy = prefork_http_busy, .userdata = s->http},
            PD_DRAIN_MSEC
        );
    s->http = http_server_free(s->http);
    s->event = NULL;
    return r;
}

static int on_tasklist_timer(sd_event_source *src, uint64_t usec, void *userdata) {
    PdServer *s = userdata;
    (void) api_broadcast_tasklist(s->env.taskdir);
    return sd_event_source_set_time(src, usec + PD_TASKLIST_INTERVAL_USEC);
}

int pd_server_start(PdServer *s, sd_event *e) {
    s->listen_fd = http_listen(s->address, s->port);
    if (s->listen_fd < 0)
        return s->listen_fd;
    s->event = sd_event_ref(e);
    if (s->n_workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->n_workers = n < 2 ? 2 : n > PD_MAX_WORKERS ? PD_MAX_WORKERS : (unsigned) n;
    }
    uint64_t now = 0;
    (void) sd_event_now(e, CLOCK_MONOTONIC, &now);
    int r = sd_event_add_time(
        e, &s->tasklist_timer, CLOCK_MONOTONIC, now + PD_TASKLIST_INTERVAL_USEC, 0,
        on_tasklist_timer, s
    );
    if (r >= 0)
        r = sd_event_source_set_enabled(s->tasklist_timer, SD_EVENT_ON);
    if (r < 0)
        return r;
    return prefork_new(e, s->n_workers, worker_main, s, &s->pool);
}

int pd_server_reload(PdServer *s) {
    if (!s->pool)
        return 0;
    log_info("reloading: starting new workers, old ones finish their requests");
    return prefork_reload(s->pool);
}

void pd_server_done(PdServer *s) {
    s->pool = prefork_free(s->pool, PD_DRAIN_MSEC + 2000);
    s->tasklist_timer = sd_event_source_disable_unref(s->tasklist_timer);
    s->http = http_server_free(s->http);
    s->listen_fd = safe_close(s->listen_fd);
    s->router = api_router_free(s->router);
    s->event = sd_event_unref(s->event);
    free(s->nodename);
    s->nodename = NULL;
}
