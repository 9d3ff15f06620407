/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * dcdb: /etc/pve replicated over the CPG group pve_dcdb_v1 (specs/pmxcfs.md §3). Every
 * mutation of the mount becomes a dcdb message (WRITE, MKDIR, DELETE, RENAME, CREATE, MTIME;
 * upstream's payload {u32 size, u32 offset, u32 pathlen, u32 tolen, u32 flags, path, to,
 * data}) that every member applies to memdb in delivery order, stamped with the sender's
 * nodeid and clock; the writer waits (bounded) for its own delivery and returns that result.
 * Sync rounds exchange the memdb index; the node with the highest version (then the latest
 * mtime, then the lowest nodeid) is the leader and sends the entries others lack. Lock breaking
 * uses UNLOCK_REQUEST / UNLOCK decided by the lowest nodeid. An hourly VERIFY compares
 * checksums.
 */
#pragma once

#include <stdbool.h>

#include "cfs-fuse.h"
#include "cluster-loop.h"
#include "memdb.h"
#include "status.h"

#define DCDB_CPG_GROUP          "pve_dcdb_v1"
#define DCDB_PROTOCOL_VERSION   1
#define DCDB_DEFAULT_TIMEOUT_MS 30000 /* a writer gives up (ETIMEDOUT) after this */
#define DCDB_VERIFY_INTERVAL_S  3600

typedef enum DcdbMessage {
    DCDB_MESSAGE_WRITE = 1,
    DCDB_MESSAGE_MKDIR = 2,
    DCDB_MESSAGE_DELETE = 3,
    DCDB_MESSAGE_RENAME = 4,
    DCDB_MESSAGE_CREATE = 5,
    DCDB_MESSAGE_MTIME = 6,
    DCDB_MESSAGE_UNLOCK_REQUEST = 7,
    DCDB_MESSAGE_UNLOCK = 8,
} DcdbMessage;

typedef struct DcdbConfig {
    Memdb *memdb;
    CfsStatus *status;
    unsigned timeout_ms; /* 0 = DCDB_DEFAULT_TIMEOUT_MS */
    /* A path changed by another node or by a resync (drop kernel caches, bump counters). */
    MemdbChangeFn changed;
    /* Optional: another node changed only a file's content or mtime, not which inode its name
     * leads to (NULL = use changed). Same userdata. */
    MemdbChangeFn content_changed;
    void *changed_userdata;
    /* corosync.conf was written (local = this node originated it). */
    void (*corosync_conf_changed)(void *userdata, bool local);
    void *corosync_userdata;
} DcdbConfig;

typedef struct Dcdb Dcdb;

int dcdb_new(const DcdbConfig *config, Dcdb **ret);
/* The daemon stops: writers no longer wait for a rejoin (dfsm_shutdown). */
void dcdb_shutdown(Dcdb *d);
Dcdb *dcdb_free(Dcdb *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Dcdb *, dcdb_free);

/* The CfsService for the cluster loop (valid while d lives). */
CfsService *dcdb_service(Dcdb *d);
/* CfsFuseConfig.submit: send one mutation through the cluster (userdata = the Dcdb); done
 * runs on the delivering thread when the result arrives in time (see dfsm_send_message_sync). */
int dcdb_submit(void *dcdb, const MemdbOp *op, const CfsSubmitDone *done, bool *ret_done_ran);

/* Encode / decode a FUSE-operation message (exported for tests). */
int dcdb_encode_op(const MemdbOp *op, void **ret, size_t *ret_len);
int dcdb_decode_op(uint16_t type, const void *data, size_t len, MemdbOp *ret);
