/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cluster-loop: the thread that owns every corosync connection of a clustered pmxcfs (quorum,
 * cmap, the dcdb and kvstore CPG groups), as upstream's cfs_loop does. Each connection is a
 * CfsService: the loop calls init() until it succeeds (retrying every CLUSTER_LOOP_RETRY_S s
 * while corosync is not there), polls the fd it returns and calls dispatch() when readable;
 * a dispatch error finalises the service and schedules a re-init. Optional per-service timers
 * run while the service is up. Services run in priority order when several fds are ready.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "pve/macro.h"

#define CLUSTER_LOOP_RETRY_S 5
/* A dispatch() returning -ECONNRESET left on purpose to resync: re-init after this pause. */
#define CLUSTER_LOOP_REJOIN_MS 500

typedef struct CfsService {
    const char *name;
    int priority; /* lower runs first (sd-event semantics): quorum < cmap = dcdb < kvstore */
    void *userdata;
    /* Connect; return the fd to poll, or a negative errno (retried later). */
    int (*init)(void *userdata);
    /* The fd is readable. A negative return finalises the service and retries init later
     * (-ECONNRESET: after CLUSTER_LOOP_REJOIN_MS, else after CLUSTER_LOOP_RETRY_S). */
    int (*dispatch)(void *userdata);
    /* Disconnect (also called at stop). */
    void (*finalize)(void *userdata);
    /* Optional: called every period_s seconds while the service is up. */
    void (*timer)(void *userdata);
    unsigned period_s;
} CfsService;

typedef struct ClusterLoop ClusterLoop;

/* Start the loop thread with these services (the array must outlive the loop). */
int cluster_loop_start(CfsService *const *services, size_t n, ClusterLoop **ret);
/* Stop the thread, finalise every service. */
ClusterLoop *cluster_loop_stop(ClusterLoop *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(ClusterLoop *, cluster_loop_stop);
/* true while the service's init succeeded and it has not failed since. */
bool cluster_loop_service_up(ClusterLoop *l, const CfsService *s);
