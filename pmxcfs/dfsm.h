/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * dfsm: a replicated state machine on a corosync CPG group (specs/pmxcfs.md §3), used twice:
 * for the file database (dcdb, group pve_dcdb_v1) and for the status store (kvstore,
 * pve_kvstore_v1).
 *
 * Normal messages are multicast with CPG_TYPE_AGREED and delivered to every member in the same
 * total order; a sender may wait for the result of its own delivery. On every membership
 * change the members run a sync round: the lowest nodeid sends SYNC_START with a new epoch,
 * every member answers with its STATE, the application picks a leader and the nodes whose
 * state differs receive UPDATE messages and an UPDATE_COMPLETE from it.
 *
 * Consistency rule (stricter than upstream): normal messages delivered during a sync round are
 * queued by every member and applied by every member once the round completes, at the same
 * point of the total order. Messages still queued when the next membership change arrives are
 * dropped by every member, and a sender waiting for one gets -EAGAIN: such an operation was
 * applied nowhere. Waiting is bounded (-ETIMEDOUT), so writers never hang forever; a timed-out
 * message may still be delivered later, to every member alike.
 *
 * Wire headers (host byte order, as upstream): base {u16 type, u16 subtype, u32 protocol
 * version, u32 time, u32 reserved}; normal messages add u64 count; state messages add the
 * epoch {u32 epoch, u32 time, u32 nodeid, u32 pid}.
 *
 * Threads: CPG callbacks and the application callbacks run on the cluster loop thread
 * (dfsm_dispatch). dfsm_send_* may be called from any thread.
 */
#pragma once

#include <sys/uio.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pve/macro.h"

typedef enum DfsmMessageType {
    DFSM_MESSAGE_NORMAL = 0,
    DFSM_MESSAGE_SYNC_START = 1,
    DFSM_MESSAGE_STATE = 2,
    DFSM_MESSAGE_UPDATE = 3,
    DFSM_MESSAGE_UPDATE_COMPLETE = 4,
    DFSM_MESSAGE_VERIFY_REQUEST = 5,
    DFSM_MESSAGE_VERIFY = 6,
} DfsmMessageType;

typedef enum DfsmMode {
    DFSM_MODE_START = 0,
    DFSM_MODE_START_SYNC = 1,
    DFSM_MODE_SYNCED = 2,
    DFSM_MODE_UPDATE = 3,
    DFSM_MODE_LEAVE = 253,
    DFSM_MODE_VERSION_ERROR = 254,
    DFSM_MODE_ERROR = 255,
} DfsmMode;

typedef struct DfsmNode {
    uint32_t nodeid;
    uint32_t pid;
} DfsmNode;

typedef struct DfsmState {
    DfsmNode node;
    void *data;
    size_t len;
} DfsmState;

typedef struct Dfsm Dfsm;

typedef struct DfsmCallbacks {
    /* A normal message in total order; the return value goes to a waiting sender. */
    int (*deliver
    )(void *userdata,
      DfsmNode from,
      uint16_t subtype,
      uint32_t msg_time,
      const void *data,
      size_t len);
    /* This node's state for the sync round (malloc'd). */
    int (*get_state)(void *userdata, void **ret, size_t *ret_len);
    /* All states are in (sorted by nodeid, pid). Decide: return 1 if this node is in sync
     * (and, if it is the leader, send the updates for the others through dfsm_send_update /
     * dfsm_send_update_complete), 0 if it must wait for updates, negative on error. Set
     * *ret_round_done when no node needs updates (the round ends here for everyone). */
    int (*process_states)(void *userdata, const DfsmState *states, size_t n, bool *ret_round_done);
    /* An UPDATE from the leader (only delivered while this node is in UPDATE mode). */
    int (*process_update)(void *userdata, DfsmNode from, const void *data, size_t len);
    /* UPDATE_COMPLETE while in UPDATE mode: make the collected updates the local state. */
    int (*commit)(void *userdata);
    /* Drop what a sync round collected (round aborted or finished). */
    void (*cleanup)(void *userdata);
    /* Membership changed (members sorted by nodeid, pid). */
    void (*confchg)(void *userdata, const DfsmNode *members, size_t n);
    /* The node became SYNCED (after the queue was delivered). */
    void (*synced)(void *userdata);
    /* Optional: checksum of the whole local state for VERIFY (32 bytes). */
    int (*checksum)(void *userdata, uint8_t ret[32]);
} DfsmCallbacks;

int dfsm_new(
    const char *group,
    uint32_t protocol_version,
    const DfsmCallbacks *cb,
    void *userdata,
    Dfsm **ret
);
Dfsm *dfsm_free(Dfsm *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Dfsm *, dfsm_free);

/* Connect to corosync and join the group; returns the fd to poll. */
int dfsm_join(Dfsm *d);
/* Process everything readable on the fd; negative on a lost connection. */
int dfsm_dispatch(Dfsm *d);
/* Leave the group and disconnect; waiting senders get -ENOTCONN. After a requested leave
 * (a resync), new senders wait for the next dfsm_join instead (see dfsm_send_message_sync). */
void dfsm_finalize(Dfsm *d);
/* No rejoin will follow (the daemon stops): senders waiting for one fail now, and from now on
 * senders out of the group fail at once. Call before the loop's last dfsm_finalize. */
void dfsm_shutdown(Dfsm *d);

/* Runs on the thread that learns a sent message's outcome (its own delivery, or a lost
 * membership), before the sender wakes up, so the sender's answer can leave at once. r is the
 * application's result of the delivery, or a negative error. */
typedef struct DfsmDone {
    void (*fn)(void *ctx, int r);
    void *ctx;
} DfsmDone;

/* Multicast a normal message and wait (up to timeout_ms) for its own delivery; the
 * application's result is returned in *ret_result. With done, done->fn runs exactly when the
 * outcome is known before the timeout, and *ret_done_ran says whether it did.
 * Out of the group, it fails with -ENOTCONN without sending: at once if the connection was
 * lost; if the group was left to resync, it waits and sends as soon as the rejoin succeeds,
 * failing only when the timeout passes first, the join fails or dfsm_shutdown is called.
 * A message that a membership change drops unapplied (queued by a sync round that did not
 * finish) is sent again, until the timeout: then -EAGAIN. */
int dfsm_send_message_sync(
    Dfsm *d,
    uint16_t subtype,
    const struct iovec *iov,
    size_t n_iov,
    unsigned timeout_ms,
    const DfsmDone *done,
    bool *ret_done_ran,
    int *ret_result
);
/* Multicast a normal message without waiting. */
int dfsm_send_message(Dfsm *d, uint16_t subtype, const struct iovec *iov, size_t n_iov);
/* Leader only, from process_states: one UPDATE, then UPDATE_COMPLETE. */
int dfsm_send_update(Dfsm *d, const struct iovec *iov, size_t n_iov);
int dfsm_send_update_complete(Dfsm *d);
/* Lowest nodeid only: ask everyone to compare state checksums. */
int dfsm_verify_request(Dfsm *d);

DfsmMode dfsm_get_mode(Dfsm *d);
bool dfsm_is_synced(Dfsm *d);
uint32_t dfsm_local_nodeid(Dfsm *d);
/* true if this node has the lowest nodeid among the current members. */
bool dfsm_is_lowest(Dfsm *d);
/* Force a re-join (mode LEAVE): used when the application detects divergence. */
void dfsm_request_leave(Dfsm *d);
