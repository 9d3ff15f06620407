/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvedaemon-server: the API server of pvedaemon: the router with every handler table, worker
 * processes sharing the listening socket, each serving the shared request pipeline
 * (api-server.h), task reaping and the task list broadcast.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "pve/api-env.h"
#include "pve/api-router.h"
#include "pve/http-server.h"
#include "pve/macro.h"

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
} PdServer;

/* Build the router (no I/O). */
int pd_server_init(PdServer *s);
/* Listen, start the worker processes and the periodic task list broadcast on e. */
int pd_server_start(PdServer *s, sd_event *e);
/* SIGHUP: a fresh set of workers; the old ones finish their requests in flight. */
int pd_server_reload(PdServer *s);
void pd_server_done(PdServer *s);
