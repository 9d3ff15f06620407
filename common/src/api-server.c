/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-server: the API request pipeline shared by pvedaemon and pveproxy (see api-server.h).
 */
#include "pve/api-server.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "pve/api-auth.h"
#include "pve/auth-ticket.h"
#include "pve/cfs-file.h"
#include "pve/gzip.h"
#include "pve/log.h"
#include "pve/metrics-prometheus.h"
#include "pve/paths.h"
#include "pve/string-util.h"

#ifndef PVE_VERSION
#define PVE_VERSION "0"
#endif

struct ApiServer {
    sd_event *event;
    ApiServerConfig cfg;
    char *openapi; /* cached document */
};

int api_server_new(sd_event *e, const ApiServerConfig *cfg, ApiServer **ret) {
    if (!cfg->router || !cfg->env)
        return -EINVAL;
    ApiServer *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->event = sd_event_ref(e);
    s->cfg = *cfg;
    *ret = s;
    return 0;
}

ApiServer *api_server_free(ApiServer *s) {
    if (!s)
        return NULL;
    sd_event_unref(s->event);
    free(s->openapi);
    free(s);
    return NULL;
}

/* ---- answers -------------------------------------------------------------------------------- */

typedef struct Delayed {
    ApiServer *server;
    HttpRequest *req;
    sd_event_source *timer;
    unsigned status;
    char *reason, *content_type, *body, *user;
    size_t len;
} Delayed;

static Delayed *delayed_free(Delayed *d) {
    if (!d)
        return NULL;
    sd_event_source_disable_unref(d->timer);
    free(d->reason);
    free(d->content_type);
    free(d->body);
    free(d->user);
    free(d);
    return NULL;
}

static void delayed_abort(HttpRequest *req, void *userdata) {
    (void) req;
    delayed_free(userdata);
}

static void send_now(
    ApiServer *s,
    HttpRequest *req,
    unsigned status,
    const char *reason,
    const char *ct,
    const void *body,
    size_t len,
    const char *const *extra,
    const char *user
) {
    _cleanup_free_ void *packed = NULL;
    const char *headers[32];
    GzipEncoding enc = GZIP_NONE;
    if (s->cfg.compress && len >= GZIP_MIN_SIZE && gzip_content_type_compressible(ct))
        enc = gzip_negotiate(http_request_header(req, "Accept-Encoding"));
    for (const char *const *h = extra; enc != GZIP_NONE && h && *h; h += 2)
        if (strcasecmp(*h, "Content-Encoding") == 0)
            enc = GZIP_NONE; /* already encoded (forwarded answers) */
    size_t packed_len = 0;
    if (enc != GZIP_NONE && gzip_compress(enc, body, len, &packed, &packed_len) >= 0) {
        size_t n = 0;
        for (const char *const *h = extra; h && *h && n + 4 < ELEMENTSOF(headers); h += 2) {
            headers[n++] = h[0];
            headers[n++] = h[1];
        }
        headers[n++] = "Content-Encoding";
        headers[n++] = gzip_encoding_name(enc);
        headers[n] = NULL;
        extra = headers;
        body = packed;
        len = packed_len;
    }
    int r = http_reply(req, status, reason, len ? ct : NULL, body ?: "", len, extra);
    if (r == -EINVAL || r == -ENOMEM) {
        status = 500;
        len = 0;
        (void) http_reply_status(req, 500, NULL);
    }
    if (s->cfg.access_log)
        s->cfg.access_log(req, status, len, user, s->cfg.userdata);
}

static int delayed_fire(sd_event_source *src, uint64_t usec, void *userdata) {
    Delayed *d = userdata;
    (void) src;
    (void) usec;
    http_request_set_userdata(d->req, NULL, NULL);
    send_now(
        d->server, d->req, d->status, d->reason, d->content_type, d->body, d->len, NULL, d->user
    );
    delayed_free(d);
    return 0;
}

static uint64_t request_start(ApiServer *s, HttpRequest *req) {
    (void) req;
    uint64_t now = 0;
    (void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
    return now;
}

/* Hold a failed-authentication answer back (status is what the client will see). */
static int delay(
    ApiServer *s,
    HttpRequest *req,
    unsigned status,
    const char *reason,
    const char *ct,
    const void *body,
    size_t len,
    const char *user
) {
    Delayed *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->server = s;
    d->req = req;
    d->status = status;
    d->reason = reason ? strdup(reason) : NULL;
    d->content_type = ct ? strdup(ct) : NULL;
    d->body = len ? strndup(body, len) : NULL;
    d->user = user ? strdup(user) : NULL;
    d->len = len;
    if ((reason && !d->reason) || (ct && !d->content_type) || (len && !d->body) ||
        (user && !d->user) ||
        sd_event_add_time(
            s->event, &d->timer, CLOCK_MONOTONIC,
            request_start(s, req) + API_SERVER_AUTH_FAIL_DELAY_USEC, 0, delayed_fire, d
        ) < 0 ||
        http_request_suspend(req) < 0) {
        delayed_free(d);
        return -ENOMEM;
    }
    http_request_set_userdata(req, d, delayed_abort);
    return 0;
}

void api_server_reply(
    ApiServer *s,
    HttpRequest *req,
    unsigned status,
    const char *reason,
    const char *content_type,
    const void *body,
    size_t len,
    const char *const *extra_headers,
    const char *user
) {
    if (status == 401 && !extra_headers &&
        delay(s, req, status, reason, content_type, body, len, user) >= 0)
        return;
    send_now(s, req, status, reason, content_type, body, len, extra_headers, user);
}

void api_server_reply_file(
    ApiServer *s, HttpRequest *req, const char *path, const char *content_type, const char *user
) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        _cleanup_free_ char *msg = NULL;
        int err = errno;
        if (fd >= 0)
            close(fd);
        if (asprintf(&msg, "unable to open file '%s' - %s", path, strerror(err)) < 0)
            msg = NULL;
        api_server_reply(s, req, 500, msg, NULL, NULL, 0, NULL, user);
        return;
    }
    int r = http_reply_fd(req, content_type, fd, NULL);
    if (r == -EINVAL || r == -ENOMEM || r == -EBADFD)
        (void) http_reply_status(req, 500, NULL);
    if (s->cfg.access_log)
        s->cfg.access_log(
            req, r < 0 ? 500 : 200, r < 0 ? 0 : (size_t) st.st_size, user, s->cfg.userdata
        );
}

/* A request pveproxy forwarded to this (trusting) pvedaemon over loopback. */
static bool from_local_proxy(const ApiServer *s, HttpRequest *req) {
    const char *peer = http_request_client_address(req);
    return s->cfg.trust_client_ip && http_request_header(req, "PVEDisableProxy") && peer &&
           (streq(peer, "127.0.0.1") || streq(peer, "::1"));
}

/* Upstream's download answers: a forwarding pveproxy gets the file's name and streams the file
 * itself (saves a copy through the proxy hop); any other client gets the content. */
static void reply_download(ApiServer *s, HttpRequest *req, const ApiCall *call) {
    const char *ct = call->download_type ?: "application/octet-stream";
    if (from_local_proxy(s, req)) {
        const char *extra[] = {"pvestreamfile", call->download, "Content-Type", ct, NULL};
        api_server_reply(s, req, 200, NULL, NULL, NULL, 0, extra, call->user);
        return;
    }
    api_server_reply_file(s, req, call->download, ct, call->user);
}

static void reply_call(ApiServer *s, HttpRequest *req, const ApiCall *call, ApiFormat f) {
    if (call->download && (call->status == 0 || call->status == 200)) {
        reply_download(s, req, call);
        return;
    }
    ApiResponse resp = {};
    if (api_call_format(call, f, &resp) < 0) {
        api_server_reply(s, req, 500, NULL, NULL, NULL, 0, NULL, call->user);
        return;
    }
    /* extjs answers failed logins with 200, but they still wait */
    if (call->status == 401 && resp.status != 401 &&
        delay(
            s, req, (unsigned) resp.status, resp.reason, API_JSON_CONTENT_TYPE, resp.body,
            resp.body_len, call->user
        ) >= 0) {
        api_response_done(&resp);
        return;
    }
    api_server_reply(
        s, req, (unsigned) resp.status, resp.reason, API_JSON_CONTENT_TYPE, resp.body,
        resp.body_len, NULL, call->user
    );
    api_response_done(&resp);
}

static void reply_openapi(ApiServer *s, HttpRequest *req) {
    if (!s->openapi) {
        json_t *doc = api_router_openapi(s->cfg.router, "Proxmox VE API", PVE_VERSION);
        s->openapi = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(doc);
    }
    if (!s->openapi) {
        api_server_reply(s, req, 500, NULL, NULL, NULL, 0, NULL, NULL);
        return;
    }
    api_server_reply(
        s, req, 200, NULL, API_JSON_CONTENT_TYPE, s->openapi, strlen(s->openapi), NULL, NULL
    );
}

/* ---- pipeline ------------------------------------------------------------------------------- */

const char *api_server_client_address(const ApiServer *s, HttpRequest *req) {
    const char *peer = http_request_client_address(req);
    const char *fwd = http_request_header(req, "PVEClientIP");
    if (s->cfg.trust_client_ip && fwd && *fwd && peer &&
        (streq(peer, "127.0.0.1") || streq(peer, "::1")))
        return fwd;
    return peer;
}

static bool is_upload(const ApiCall *call) {
    return call->method->method == API_METHOD_POST &&
           streq(call->method->path, "/nodes/{node}/storage/{storage}/upload");
}

static int check_csrf(const char *userid, HttpRequest *req) {
    const char *token = http_request_header(req, "CSRFPreventionToken");
    if (!token)
        return -EACCES;
    _cleanup_free_ char *key = NULL;
    size_t len = 0;
    int r = cfs_file_read(PVE_CFS_WWW_KEY, &key, &len);
    if (r < 0)
        return r;
    r = csrf_token_verify(key, len, userid, token, time(NULL));
    explicit_bzero(key, len);
    return r;
}

/* "node" is local: localhost or our own name */
static bool node_is_local(const ApiServer *s, const char *node) {
    return !node || streq(node, "localhost") || streq(node, s->cfg.env->nodename);
}

/* 0: run here; 1: forwarded (answered later); < 0: error recorded on call */
static int route(ApiServer *s, HttpRequest *req, ApiCall *call) {
    const ApiMethod *m = call->method;
    const char *node = NULL;
    if (m->proxyto)
        node = json_string_value(json_object_get(call->params, m->proxyto));
    bool remote = !node_is_local(s, node);
    bool to_daemon = m->protected && !s->cfg.env->privileged;
    if (!remote && !to_daemon)
        return 0;
    if (remote && http_request_header(req, "PVEDisableProxy"))
        return api_call_fail(call, 500, NULL, "proxy loop detected");
    if (!s->cfg.forward)
        return api_call_fail(call, 500, NULL, "proxy not allowed");
    int r = s->cfg.forward(
        s, req, call, remote ? API_ROUTE_NODE : API_ROUTE_DAEMON, node, s->cfg.userdata
    );
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to forward request - %s", strerror(-r));
    return 1;
}

/* GET /api2/prometheus/metrics: authenticated like any API call, Sys.Audit on / */
static void reply_prometheus(ApiServer *s, HttpRequest *req) {
    _cleanup_free_ char *userid = NULL;
    const char *reason = NULL;
    bool is_token = false;
    if (api_auth_request(
            http_request_header(req, "Cookie"), http_request_header(req, "Authorization"), &userid,
            &is_token, &reason
        ) < 0) {
        api_server_reply(s, req, 401, reason, NULL, NULL, 0, NULL, NULL);
        return;
    }
    _cleanup_(api_call_done) ApiCall call = API_CALL_INIT;
    call.userdata = s->cfg.env;
    call.client = api_server_client_address(s, req);
    call.user = userid;
    _cleanup_free_ char *text = NULL;
    if (metrics_prometheus_collect(s->cfg.router, &call, &text) < 0 || !text) {
        if (!call.status)
            (void) api_call_fail(&call, 500, NULL, "unable to collect metrics");
        reply_call(s, req, &call, API_FORMAT_JSON);
        return;
    }
    api_server_reply(
        s, req, 200, "OK", METRICS_PROMETHEUS_CONTENT_TYPE, text, strlen(text), NULL, userid
    );
}

void api_server_handle(HttpRequest *req, void *userdata) {
    ApiServer *s = userdata;
    const char *path = http_request_path(req);
    const char *rest = startswith(path, "/api2/");

    if (rest && streq(rest, "openapi.json") && http_request_method(req) == HTTP_METHOD_GET) {
        reply_openapi(s, req);
        return;
    }
    if (rest && streq(rest, "prometheus/metrics") && http_request_method(req) == HTTP_METHOD_GET) {
        reply_prometheus(s, req);
        return;
    }
    if (!rest) {
        if (s->cfg.fallback)
            s->cfg.fallback(req, s->cfg.userdata);
        else
            api_server_reply(s, req, 501, "no such uri", NULL, NULL, 0, NULL, NULL);
        return;
    }
    size_t n = strcspn(rest, "/");
    _cleanup_free_ char *fmt = strndup(rest, n);
    ApiFormat f = fmt ? api_format_from_string(fmt) : _API_FORMAT_INVALID;
    if (f < 0) {
        api_server_reply(s, req, 501, "no such uri", NULL, NULL, 0, NULL, NULL);
        return;
    }
    rest += n;

    ApiHttpMethod m = api_http_method_from_string(http_method_to_string(http_request_method(req)));
    if (m < 0) {
        api_server_reply(s, req, 501, "method not available", NULL, NULL, 0, NULL, NULL);
        return;
    }
    _cleanup_(api_call_done) ApiCall call = API_CALL_INIT;
    _cleanup_free_ char *userid = NULL;
    call.userdata = s->cfg.env;
    call.client = api_server_client_address(s, req);
    if (api_router_resolve(s->cfg.router, m, rest, http_request_params(req), &call) < 0) {
        reply_call(s, req, &call, f);
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
            api_server_reply(s, req, 401, reason, NULL, NULL, 0, NULL, NULL);
            return;
        }
        call.user = userid;
        if (s->cfg.check_csrf && !is_token && m != API_METHOD_GET && !is_upload(&call) &&
            check_csrf(userid, req) < 0) {
            api_server_reply(
                s, req, 401, "Permission denied - invalid csrf token", NULL, NULL, 0, NULL, userid
            );
            return;
        }
    }
    if (api_auth_check_method(&call, NULL, is_token) < 0) {
        reply_call(s, req, &call, f);
        return;
    }
    int r = route(s, req, &call);
    if (r > 0)
        return;
    if (r == 0)
        (void) api_call_run(&call);
    if (r == 0 && call.status == 0 && s->cfg.upgrade && http_request_header(req, "Upgrade") &&
        endswith(path, "websocket")) {
        r = s->cfg.upgrade(s, req, &call, s->cfg.userdata);
        if (r > 0)
            return;
        if (r < 0) {
            api_server_reply(s, req, 500, NULL, NULL, NULL, 0, NULL, call.user);
            return;
        }
    }
    reply_call(s, req, &call, f);
}
