/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * confdb: the corosync cmap client of a clustered pmxcfs, as a CfsService for the cluster
 * loop (specs/pmxcfs.md §1; the name is upstream's, from corosync 1's "confdb"). It reads the
 * cluster name, totem.config_version and the node list (nodelist.node.N.{nodeid,name,
 * ring0_addr}, name falling back to ring0_addr) at connect and after every change corosync
 * reports for those keys, and pushes them into the status store (cfs_status_set_clinfo, which
 * feeds .members). It also learns this node's corosync nodeid.
 *
 * Local nodeid: read from cmap's runtime.votequorum.this_node_id (corosync 3.1.7 sets it once
 * votequorum runs, which pmxcfs requires anyway); if that key is missing, from
 * nodelist.local_node_pos -> nodelist.node.<pos>.nodeid. No libcfg needed.
 *
 * It does not mark nodes online: CPG membership (the kvstore) does.
 */
#pragma once

#include <corosync/cmap.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster-loop.h"
#include "status.h"

typedef struct ConfdbNode {
    uint32_t nodeid;
    uint32_t votes; /* quorum_votes, 1 when absent */
    char *name;     /* name, else ring0_addr */
    char *ring0_addr;
} ConfdbNode;

/* What cmap says about the cluster (also used by pvecm). */
typedef struct ConfdbInfo {
    char *cluster_name; /* NULL when absent */
    uint64_t config_version;
    uint32_t local_nodeid; /* 0 when unknown */
    ConfdbNode *nodes;     /* sorted by nodeid */
    size_t n_nodes;
} ConfdbInfo;

/* Read everything from a connected cmap handle. Nodes without nodeid or without any name are
 * skipped. 0 or a negative errno; free with confdb_info_done(). */
int confdb_info_read(cmap_handle_t h, ConfdbInfo *ret);
void confdb_info_done(ConfdbInfo *info);

typedef struct Confdb Confdb;

int confdb_new(CfsStatus *status, Confdb **ret);
/* Must not be freed while its service runs in a cluster loop. */
Confdb *confdb_free(Confdb *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Confdb *, confdb_free);

/* The service to hand to cluster_loop_start() (name "cmap"). */
CfsService *confdb_service(Confdb *c);
/* This node's corosync nodeid as last read (0 before the first connect); any thread. */
uint32_t confdb_local_nodeid(Confdb *c);
