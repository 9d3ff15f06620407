/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * status: the volatile state pmxcfs serves besides the tree (specs/pmxcfs.md §4, §6):
 * quorum flag, per-file change counters, the key/value store ("kv/...", "rrd/...", "nodeip"), the RRD
 * cache and its text dump, the cluster log, and the JSON of the generated dot-files
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

#include "cfs-fuse.h"
#include "memdb.h"

typedef struct CfsStatus CfsStatus;

int cfs_status_new(Memdb *memdb, const char *nodename, CfsStatus **ret);
CfsStatus *cfs_status_free(CfsStatus *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(CfsStatus *, cfs_status_free);

/* memdb change hook (a MemdbChangeFn with userdata = the CfsStatus): bumps .version counters. */
void cfs_status_file_changed(void *status, const char *path);

bool cfs_status_quorate(CfsStatus *s);
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
int cfs_status_clusterlog_json(CfsStatus *s, unsigned max, const char *user, char **ret, size_t *ret_len);
/* LOG_CLUSTER_MSG: append to the cluster log as this node. */
int cfs_status_log(CfsStatus *s, int priority, const char *ident, const char *tag, uint32_t pid, const char *msg);

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
