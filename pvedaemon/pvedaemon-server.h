/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvedaemon-server: the API server of pvedaemon. Key material setup under the cfs mount
 * (authkey pair, pve-www.key), an HttpServer on the daemon's sd_event serving /api2/json and
 * /api2/extjs through an ApiRouter, ticket authentication, permission checks and the
 * delayed 401 answers.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "pve/api-env.h"
#include "pve/api-router.h"
#include "pve/http-server.h"
#include "pve/macro.h"

#define PD_AUTH_FAIL_DELAY_USEC   (3ULL * 1000000ULL) /* every 401 takes >= 3 s */
#define PD_DRAIN_MSEC             10000 /* a stopping worker finishes requests this long */
#define PD_TASKLIST_INTERVAL_USEC (10ULL * 1000000ULL)
#define PD_MAX_WORKERS            16

typedef struct PdServer {
    const char *address; /* borrowed */
    uint16_t port;
    unsigned n_workers; /* 0: one per CPU, at least 2 */
    int listen_fd;
    struct Prefork *pool;
    sd_event_source *tasklist_timer;
    char *nodename;
    sd_event *event;
    HttpServer *http;
    ApiRouter *router;
    ApiEnv env;
    char *openapi; /* cached /api2/openapi.json */
} PdServer;

/* Build the router (no I/O). */
int pd_server_init(PdServer *s);
/* Listen, start the worker processes and the periodic task list broadcast on e. */
int pd_server_start(PdServer *s, sd_event *e);
/* SIGHUP: a fresh set of workers; the old ones finish their requests in flight. */
int pd_server_reload(PdServer *s);
void pd_server_done(PdServer *s);
