/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * quorum: the corosync quorum client of a clustered pmxcfs, as a CfsService for the cluster
 * loop (specs/pmxcfs.md §3 "Quorum and local mode"). Owns the libquorum handle and keeps the
 * status store's quorate flag equal to corosync's view: set at connect (quorum_getquorate),
 * updated by change notifications, and cleared when the connection is lost or refused (no
 * corosync = no quorum). Refuses a corosync without a quorum provider (type QUORUM_FREE).
 *
 * The prefix is cfs_quorum_ because libquorum owns quorum_*.
 */
#pragma once

#include <stdbool.h>

#include "cluster-loop.h"
#include "status.h"

/* Called on the loop thread whenever the quorate flag changes (e.g. to invalidate the
 * kernel's cached modes). */
typedef void (*CfsQuorumChangeFn)(void *userdata, bool quorate);

typedef struct CfsQuorum CfsQuorum;

/* A disconnected client; the status store must outlive it. on_change may be NULL. */
int cfs_quorum_new(CfsStatus *status, CfsQuorumChangeFn on_change, void *userdata, CfsQuorum **ret);
/* Must not be freed while its service runs in a cluster loop. */
CfsQuorum *cfs_quorum_free(CfsQuorum *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(CfsQuorum *, cfs_quorum_free);

/* The service to hand to cluster_loop_start() (name "quorum", highest priority). */
CfsService *cfs_quorum_service(CfsQuorum *q);
