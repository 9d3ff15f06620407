/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * status: the volatile state pmxcfs serves besides the tree (specs/pmxcfs.md §4, §6):
 * quorum flag, per-file change counters, the key/value store ("kv/...", "rrd/...", "nodeip"), the
 * RRD cache and its text dump, the cluster log, and the JSON of the generated dot-files
 * (.version, .members, .vmlist, .clusterlog, .rrd, .debug). Later the cluster layer feeds it
 * remote nodes' values; for now it holds this node's.
 *
 * Locking: one status mutex. Lock order is memdb before status: functions that need memdb
 * (the VM list, guest config properties) call memdb first and take the status mutex after,
 * and the memdb change callback (called with the memdb mutex held) may take the status mutex.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cfs-fuse.h"
#include "memdb.h"
#include "pve/cfs-generation.h"

typedef struct CfsStatus CfsStatus;

int cfs_status_new(Memdb *memdb, const char *nodename, CfsStatus **ret);
CfsStatus *cfs_status_free(CfsStatus *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(CfsStatus *, cfs_status_free);

/* memdb change hook (a MemdbChangeFn with userdata = the CfsStatus): bumps .version counters. */
void cfs_status_file_changed(void *status, const char *path);

/* Quorate starts true (local mode); the cluster layer clears it before joining. */
bool cfs_status_quorate(CfsStatus *s);
/* Count changes in g (published to clients, pve/cfs-generation.h); g stays the caller's. */
void cfs_status_set_generation(CfsStatus *s, CfsGeneration *g);
void cfs_status_set_quorate(CfsStatus *s, bool quorate);

/* SET_STATUS: "rrd/<key>" -> RRD cache, "nodeip" -> node IP table, else this node's kv
 * (empty data deletes). -EFBIG above 32 KiB; -EINVAL for malformed RRD data. */
int cfs_status_set(CfsStatus *s, const char *key, const void *data, size_t len);
/* GET_STATUS: raw value of key for node (NULL/"" = this node); -ENOENT when absent. */
int cfs_status_get(CfsStatus *s, const char *key, const char *node, void **ret, size_t *ret_len);

/* Generated dot-file content, malloc'd, in the exact upstream text layout. */
int cfs_status_version_json(CfsStatus *s, char **ret, size_t *ret_len);
int cfs_status_members_json(CfsStatus *s, char **ret, size_t *ret_len);
int cfs_status_vmlist_json(CfsStatus *s, char **ret, size_t *ret_len);
int cfs_status_rrd_dump(CfsStatus *s, char **ret, size_t *ret_len);
/* Newest first, at most max entries (0 = 50), only entries of user when non-empty. */
int cfs_status_clusterlog_json(
    CfsStatus *s, unsigned max, const char *user, char **ret, size_t *ret_len
);
/* LOG_CLUSTER_MSG: append to the cluster log as this node. */
int cfs_status_log(
    CfsStatus *s, int priority, const char *ident, const char *tag, uint32_t pid, const char *msg
);

/* GET_GUEST_CONFIG_PROPERTY(IES): JSON {"<vmid>": {"<prop>": "<value>", ...}, ...};
 * vmid 0 = all guests; -EINVAL for vmid 1..99; -ENOENT for an unknown vmid. */
int cfs_status_guest_config_properties(
    CfsStatus *s,
    uint32_t vmid,
    const char *const *props,
    size_t n_props,
    char **ret,
    size_t *ret_len
);

/* The dot-file plug table for cfs-fuse (valid while s lives). */
const CfsPlugFile *cfs_status_plugs(CfsStatus *s, size_t *ret_n);

/* ---- additions for the cluster layer and tests ---------------------------------------- */

#define CFS_STATUS_MAX_SIZE    (32u * 1024u) /* SET_STATUS value limit (EFBIG above) */
#define CFS_STATUS_MAX_RRD     4096u         /* RRD value: fewer bytes than this, NUL included */
#define CFS_STATUS_RRD_MAX_AGE 300           /* seconds an RRD value stays in the dump */

/* Like cfs_status_set() for the values of another node as delivered by the kvstore
 * (node NULL/"" or our own name = this node). */
int cfs_status_node_set(
    CfsStatus *s, const char *node, const char *key, const void *data, size_t len
);

/* Bump every observed-file counter (after a DB resync). */
void cfs_status_files_changed_all(CfsStatus *s);

/* Cluster info from corosync cmap, for .members. Each call bumps the clinfo version; online
 * flags of nodes kept by id survive. Passing n = 0 and cluster_name NULL drops it (local). */
typedef struct CfsClusterNode {
    const char *name;
    uint32_t nodeid;
} CfsClusterNode;
int cfs_status_set_clinfo(
    CfsStatus *s,
    const char *cluster_name,
    uint32_t config_version,
    const CfsClusterNode *nodes,
    size_t n
);
/* CPG membership: mark a node online/offline (bumps the clinfo version on change). */
int cfs_status_set_node_online(CfsStatus *s, uint32_t nodeid, bool online);

/* Cluster log traffic of the kvstore: a LOG payload from a peer (1 stored, 0 duplicate,
 * -EINVAL malformed), our STATE buffer, and the merge of the peers' STATE buffers. */
int cfs_status_clusterlog_insert(CfsStatus *s, const void *entry, size_t len);
int cfs_status_clusterlog_state(CfsStatus *s, void **ret, size_t *ret_len);
int cfs_status_clusterlog_merge(
    CfsStatus *s, const void *const *states, const size_t *lens, size_t n
);

/* Replication hooks, called without the status mutex held: a local SET_STATUS succeeded
 * (kv, rrd/ and nodeip keys), or a local cluster-log entry was added (packed entry). */
typedef struct CfsStatusBroadcast {
    void (*kv)(void *userdata, const char *key, const void *data, size_t len);
    void (*log)(void *userdata, const void *entry, size_t len);
    void *userdata;
} CfsStatusBroadcast;
void cfs_status_set_broadcast(CfsStatus *s, const CfsStatusBroadcast *b);
/* Call fn for each of this node's kv values and its nodeip (to re-broadcast after a
 * membership change). fn runs without the status mutex held. */
int cfs_status_foreach_local(
    CfsStatus *s,
    void (*fn)(void *userdata, const char *key, const void *data, size_t len),
    void *userdata
);
/* CPG membership of the kvstore group: exactly these nodeids are online. */
void cfs_status_set_online_members(CfsStatus *s, const uint32_t *nodeids, size_t n);
/* Node name of a corosync nodeid from the cluster info (malloc'd); -ENOENT if unknown. */
int cfs_status_node_name(CfsStatus *s, uint32_t nodeid, char **ret);

/* RRD file hook, called without the status mutex held after an "rrd/<key>" value (local or
 * from a peer) was stored, with the key without "rrd/" and the NUL-terminated value. */
typedef void (*CfsStatusRrdWriter)(void *userdata, const char *key, const char *value);
void cfs_status_set_rrd_writer(CfsStatus *s, CfsStatusRrdWriter fn, void *userdata);

/* Test seam: replace the wall clock (seconds) used for log entries and RRD ages. */
void cfs_status_set_clock(CfsStatus *s, time_t (*now)(void));
