/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * prefork: a fixed pool of worker processes serving one shared listening socket, as the
 * upstream API daemons run (pvedaemon, pveproxy, spiceproxy). The supervisor runs on the
 * daemon's sd_event loop: it forks the workers, restarts one that dies (at most once a second),
 * and on reload starts a fresh set before asking the old one to finish (SIGTERM). Workers
 * receive SIGTERM when the supervisor dies (PR_SET_PDEATHSIG).
 *
 * A worker is a forked child that returns from nothing: it runs fn(worker_index, userdata) and
 * exits with its return value. fn must build its own sd_event (sd_event_new(); the parent's
 * loop is unusable after fork) and serve until SIGTERM, then finish its requests in flight and
 * return. The supervisor's blocked signal mask is inherited (SIGTERM, SIGINT, SIGQUIT, SIGHUP
 * blocked, for signalfd); SIGCHLD is blocked too.
 */
#pragma once

#include <systemd/sd-event.h>

#include "pve/macro.h"

typedef int (*PreforkWorkerFn)(unsigned index, void *userdata);

typedef struct Prefork Prefork;

/* Start n workers now (n >= 1). -errno when the first fork fails. */
int prefork_new(sd_event *e, unsigned n, PreforkWorkerFn fn, void *userdata, Prefork **ret);
/* New generation of workers, then SIGTERM to the old one. */
int prefork_reload(Prefork *p);
/* SIGTERM every worker, wait up to timeout_ms for them to exit, then SIGKILL. NULL-safe. */
Prefork *prefork_free(Prefork *p, unsigned timeout_ms);
/* Workers currently alive (for tests/status). */
unsigned prefork_n_alive(const Prefork *p);

#include <stdbool.h>

#include "pve/http-server.h"

/* What a worker serves, for the drain on SIGTERM. */
typedef struct PreforkServe {
    void (*quiesce)(void *userdata); /* stop accepting new connections */
    bool (*busy)(void *userdata);    /* connections still open */
    void *userdata;
} PreforkServe;

/*
 * The serving half of a worker: run e until SIGTERM/SIGINT, then quiesce, answer what is in
 * flight and return once nothing is busy or drain_ms passed. SIGHUP is ignored (reloads are
 * the supervisor's business). Returns 0 or a negative errno.
 */
int prefork_worker_run(sd_event *e, const PreforkServe *serve, unsigned drain_ms);

/* PreforkServe for a single HttpServer. */
void prefork_http_quiesce(void *http);
bool prefork_http_busy(void *http);
