/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-server: the request pipeline both API daemons run on top of an HttpServer (api.md §1,
 * §3): /api2/<format>/<path> -> resolve -> authenticate (ticket, API token) -> CSRF check
 * (pveproxy) -> permission check -> proxy decision (proxyto another node, protected in an
 * unprivileged process) -> run the handler -> envelope. Every 401 is answered from a timer so
 * the request takes at least 3 s without blocking the loop. /api2/openapi.json serves the
 * OpenAPI document of the router.
 *
 * The daemon decides what forwarding means (pveproxy: HTTPS to a peer or HTTP to pvedaemon);
 * without a forward callback a call that would need a hop answers 500 "proxy not allowed",
 * as pvedaemon does. Requests outside /api2/ go to the fallback handler (static files) or
 * get 501.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "pve/api-env.h"
#include "pve/api-router.h"
#include "pve/http-server.h"

#define API_SERVER_AUTH_FAIL_DELAY_USEC (3ULL * 1000000ULL)
#define API_JSON_CONTENT_TYPE           "application/json;charset=UTF-8"

typedef struct ApiServer ApiServer;

typedef enum ApiRoute {
    API_ROUTE_DAEMON, /* protected call in an unprivileged process: to pvedaemon */
    API_ROUTE_NODE,   /* proxyto names another node: to its pveproxy */
} ApiRoute;

/*
 * Take over a request that must run elsewhere: call->method and call->params are resolved,
 * call->user is authenticated. The callback answers req later (api_server_reply()) and
 * returns 0, or returns a negative errno and leaves the request to the pipeline (500).
 */
typedef int (*ApiForwardFn
)(ApiServer *s,
  HttpRequest *req,
  const ApiCall *call,
  ApiRoute route,
  const char *node,
  void *userdata);

/*
 * A call succeeded on a request that asks for a protocol upgrade (Upgrade header, path ending
 * in "websocket"): the callback may take req over (answer it itself, e.g. 101 + relay) and
 * return 1; 0 leaves the normal JSON answer; a negative errno answers 500.
 */
typedef int (*ApiUpgradeFn)(ApiServer *s, HttpRequest *req, const ApiCall *call, void *userdata);

/* After every answer: for the access log. user may be NULL. */
typedef void (*ApiAccessLogFn
)(HttpRequest *req, unsigned status, size_t bytes, const char *user, void *userdata);

typedef struct ApiServerConfig {
    const ApiRouter *router; /* borrowed, outlives the server */
    ApiEnv *env;             /* borrowed; handlers get it as call->userdata */
    bool trust_client_ip;    /* believe PVEClientIP from localhost (pvedaemon) */
    bool check_csrf;         /* CSRFPreventionToken for non-GET ticket requests (pveproxy) */
    bool compress;           /* gzip/deflate answers > 1 KiB when the client accepts it */
    ApiForwardFn forward;
    HttpHandler fallback; /* non-/api2 requests; NULL: 501 "no such uri" */
    ApiAccessLogFn access_log;
    ApiUpgradeFn upgrade; /* NULL: upgrade requests get the plain answer */
    void *userdata;       /* for forward, fallback, access_log, upgrade */
} ApiServerConfig;

int api_server_new(sd_event *e, const ApiServerConfig *cfg, ApiServer **ret);
ApiServer *api_server_free(ApiServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ApiServer *, api_server_free);

/* The HttpHandler: pass api_server_handle as handler and the ApiServer as its userdata. */
void api_server_handle(HttpRequest *req, void *userdata);

/*
 * Answer req: status, reason (NULL = standard), content type (NULL with an empty body),
 * body, extra headers as for http_reply(). A 401 is held back until 3 s after the request
 * arrived. user is for the access log (may be NULL).
 */
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
);

/*
 * Answer req with 200 and the content of the file at path, streamed (a download); 500 naming
 * the file when it cannot be opened. pveproxy uses it for pvedaemon's `pvestreamfile` answers.
 */
void api_server_reply_file(
    ApiServer *s, HttpRequest *req, const char *path, const char *content_type, const char *user
);

/* The client address the pipeline uses (PVEClientIP when trusted and from localhost). */
const char *api_server_client_address(const ApiServer *s, HttpRequest *req);
