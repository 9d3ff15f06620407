/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvedaemon-server: the request pipeline of the privileged API daemon over the shared handler
 * tables (api-methods.h): resolve -> authenticate (api-auth.h) -> permission check -> run ->
 * envelope. Every 401 is answered from an sd-event
 * timer so the request takes at least 3 s; the loop never sleeps.
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
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/prefork.h"
#include "pve/string-util.h"

#define JSON_CT "application/json;charset=UTF-8"

/* ---- request pipeline ----------------------------------------------------------------------- */

typedef struct Delayed {
    HttpRequest *req;
    sd_event_source *timer;
    unsigned status;
    char *reason;
    char *body;
    size_t len;
} Delayed;

static Delayed *delayed_free(Delayed *d) {
    if (!d)
        return NULL;
    sd_event_source_disable_unref(d->timer);
    free(d->reason);
    free(d->body);
    free(d);
    return NULL;
}

static void delayed_abort(HttpRequest *req, void *userdata) {
    (void) req;
    delayed_free(userdata);
}

static int delayed_fire(sd_event_source *src, uint64_t usec, void *userdata) {
    Delayed *d = userdata;
    (void) src;
    (void) usec;
    http_request_set_userdata(d->req, NULL, NULL);
    int r = http_reply(
        d->req, d->status, d->reason, d->body ? JSON_CT : NULL, d->body ?: "", d->len, NULL
    );
    if (r == -EINVAL || r == -ENOMEM)
        (void) http_reply_status(d->req, 500, NULL);
    delayed_free(d);
    return 0;
}

/* Answer (possibly delayed for 401). body NULL = empty. */
static void reply(
    PdServer *s,
    HttpRequest *req,
    uint64_t start,
    unsigned status,
    const char *reason,
    const char *body,
    size_t len
) {
    if (status == 401) {
        Delayed *d = calloc(1, sizeof(*d));
        if (!d)
            goto now;
        d->req = req;
        d->status = status;
        d->reason = reason ? strdup(reason) : NULL;
        d->body = body ? strndup(body, len) : NULL;
        d->len = body ? len : 0;
        if ((reason && !d->reason) || (body && !d->body) ||
            sd_event_add_time(
                s->event, &d->timer, CLOCK_MONOTONIC, start + PD_AUTH_FAIL_DELAY_USEC, 0,
                delayed_fire, d
            ) < 0 ||
            http_request_suspend(req) < 0) {
            delayed_free(d);
            goto now;
        }
        http_request_set_userdata(req, d, delayed_abort);
        return;
    }
now:;
    int r =
        http_reply(req, status, reason, body ? JSON_CT : NULL, body ?: "", body ? len : 0, NULL);
    if (r == -EINVAL || r == -ENOMEM)
        (void) http_reply_status(req, 500, NULL);
}

static void reply_call(PdServer *s, HttpRequest *req, uint64_t start, ApiCall *call, ApiFormat f) {
    ApiResponse resp = {};
    if (api_call_format(call, f, &resp) < 0) {
        reply(s, req, start, 500, NULL, NULL, 0);
        return;
    }
    /* extjs answers 200 but failed logins still wait */
    uint64_t delay_status = (call->status == 401) ? 401 : (unsigned) resp.status;
    if (delay_status == 401 && resp.status != 401) {
        /* extjs: delay via the 401 path but keep the 200 status */
        reply(s, req, start, 401, resp.reason, resp.body, resp.body_len);
        Delayed *d = http_request_get_userdata(req);
        if (d)
            d->status = resp.status;
    } else
        reply(s, req, start, resp.status, resp.reason, resp.body, resp.body_len);
    api_response_done(&resp);
}

/* GET /api2/openapi.json: the whole schema, public like upstream's API viewer. */
static void reply_openapi(PdServer *s, HttpRequest *req, uint64_t start) {
    if (!s->openapi) {
        json_t *doc = api_router_openapi(s->router, "Proxmox VE API", PVE_VERSION);
        s->openapi = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(doc);
    }
    if (!s->openapi) {
        reply(s, req, start, 500, NULL, NULL, 0);
        return;
    }
    reply(s, req, start, 200, NULL, s->openapi, strlen(s->openapi));
}

/* The client: the peer, or PVEClientIP when the peer is pveproxy on this host. */
static const char *client_address(HttpRequest *req) {
    const char *peer = http_request_client_address(req);
    const char *fwd = http_request_header(req, "PVEClientIP");
    if (fwd && *fwd && peer && (streq(peer, "127.0.0.1") || streq(peer, "::1")))
        return fwd;
    return peer;
}

static void handle(HttpRequest *req, void *userdata) {
    PdServer *s = userdata;
    uint64_t start = 0;
    (void) sd_event_now(s->event, CLOCK_MONOTONIC, &start);

    const char *path = http_request_path(req);
    const char *rest = startswith(path, "/api2/");
    if (rest && streq(rest, "openapi.json") && http_request_method(req) == HTTP_METHOD_GET) {
        reply_openapi(s, req, start);
        return;
    }
    if (!rest) {
        reply(s, req, start, 501, "no such uri", NULL, 0);
        return;
    }
    size_t n = strcspn(rest, "/");
    _cleanup_free_ char *fmt = strndup(rest, n);
    if (!fmt) {
        reply(s, req, start, 500, NULL, NULL, 0);
        return;
    }
    ApiFormat f = api_format_from_string(fmt);
    if (f < 0) {
        reply(s, req, start, 501, "no such uri", NULL, 0);
        return;
    }
    rest += n;

    ApiHttpMethod m = api_http_method_from_string(http_method_to_string(http_request_method(req)));
    _cleanup_(api_call_done) ApiCall call = API_CALL_INIT;
    _cleanup_free_ char *userid = NULL;
    call.userdata = &s->env;
    call.client = client_address(req);

    if (m < 0) {
        reply(s, req, start, 501, "method not available", NULL, 0);
        return;
    }
    if (api_router_resolve(s->router, m, rest, http_request_params(req), &call) < 0) {
        reply_call(s, req, start, &call, f);
        return;
    }

    ApiPermUser pu;
    const ApiPermCheck *chk;
    bool is_token = false;
    api_method_permissions(call.method, &pu, &chk);
    if (pu != API_PERM_USER_WORLD) {
        const char *reason = NULL;
        if (api_auth_request(
                http_request_header(req, "Cookie"), http_request_header(req, "Authorization"),
                &userid, &is_token, &reason
            ) < 0) {
            reply(s, req, start, 401, reason, NULL, 0);
            return;
        }
        call.user = userid;
    }
    if (api_auth_check_method(&call, NULL, is_token) < 0) {
        reply_call(s, req, start, &call, f);
        return;
    }

    (void) api_call_run(&call);
    reply_call(s, req, start, &call, f);
}

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
    HttpServerConfig cfg = HTTP_SERVER_CONFIG_INIT;
    cfg.listen_fd = fcntl(s->listen_fd, F_DUPFD_CLOEXEC, 3);
    cfg.handler = handle;
    cfg.userdata = s;
    if (cfg.listen_fd < 0)
        return -errno;
    r = http_server_new(e, &cfg, &s->http);
    if (r < 0)
        return log_error_errno(r, "worker: cannot serve: %m");
    r = sd_event_add_signal(e, &chld, SIGCHLD, on_sigchld, s);
    if (r >= 0)
        r = prefork_worker_run(e, s->http, PD_DRAIN_MSEC);
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
    free(s->openapi);
    s->openapi = NULL;
    free(s->nodename);
    s->nodename = NULL;
}
