/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * clusterlog: the cluster log of specs/pmxcfs.md §6 ("Status / kv / RRD broadcast mechanics"):
 * a 128 KiB ring buffer of binary entries (8-byte aligned, at most 4 KiB each), duplicate
 * suppression per originating node, merging of several nodes' buffers, and the JSON dump
 * served by .clusterlog and GET_CLUSTER_LOG.
 *
 * The ring buffer *is* the wire form of the kvstore STATE message and one packed entry is the
 * payload of a kvstore LOG message, so both layouts below are fixed (host byte order, as the
 * whole kvstore protocol). Ring: u32 size, u32 cpos (offset of the newest entry, 0 = empty),
 * entries from offset 8. Entry header (48 bytes, strings start at offset 44):
 *   0 u32 prev   4 u32 next   8 u32 uid   12 u32 time   16 u64 node_digest
 *   24 u64 ident_digest   32 u32 pid   36 u8 priority   37 u8 node_len   38 u8 ident_len
 *   39 u8 tag_len   40 u32 msg_len   44 node\0 ident\0 tag\0 msg\0
 * A packed entry is 48 + node_len + ident_len + tag_len + msg_len bytes (lengths include the
 * NUL); digests are FNV-1a-64 over the stored string including its NUL. This mirrors the
 * upstream C struct (44 bytes of fields plus 4 bytes of tail padding); the spec does not
 * spell it out, so confirm against a real peer before mixing node versions.
 *
 * Strings are stored sanitised (printable ASCII, `"` and `\` escaped, control characters as
 * #nnn, other characters as \uXXXX), so the dump prints them as they are. Not thread-safe: the
 * owner (status.c) serialises access. Does no I/O and no logging above debug.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pve/macro.h"

#define CLUSTERLOG_BUFFER_SIZE     (128u * 1024u)
#define CLUSTERLOG_MAX_ENTRY_SIZE  4096u
#define CLUSTERLOG_ENTRY_HEADER    48u /* size accounted per entry besides its strings */
#define CLUSTERLOG_ENTRY_DATA      44u /* offset of the strings */
#define CLUSTERLOG_DEFAULT_ENTRIES 50u

typedef struct ClusterLog ClusterLog;

/* A decoded entry; the strings point into the buffer it was decoded from. */
typedef struct ClusterLogEntry {
    uint32_t uid;
    uint32_t time;
    uint64_t node_digest;
    uint64_t ident_digest;
    uint32_t pid;
    uint8_t priority;
    const char *node;
    const char *ident;
    const char *tag;
    const char *msg;
    size_t size; /* packed size (48 + string lengths) */
} ClusterLogEntry;

ClusterLog *clusterlog_new(void);
ClusterLog *clusterlog_free(ClusterLog *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(ClusterLog *, clusterlog_free);

/* FNV-1a-64 of s including its terminating NUL (the entry digests). */
uint64_t clusterlog_digest(const char *s) _pure_;

/* Sanitise UTF-8 text into buf (at most size bytes including the NUL), stopping before a
 * character that does not fit. Returns the length written (without NUL). */
size_t clusterlog_sanitize(const char *s, char *buf, size_t size);

/* Pack an entry into buf (CLUSTERLOG_MAX_ENTRY_SIZE bytes): sanitises the strings, cuts
 * node/ident/tag at 255 bytes and the message so that the entry stays within 4 KiB.
 * Returns the packed size. */
size_t clusterlog_entry_pack(
    void *buf,
    uint32_t uid,
    uint32_t time,
    uint8_t priority,
    uint32_t pid,
    const char *node,
    const char *ident,
    const char *tag,
    const char *msg
);
/* Decode and validate one packed entry of exactly len bytes (a kvstore LOG payload);
 * -EINVAL when malformed. */
int clusterlog_entry_decode(const void *buf, size_t len, ClusterLogEntry *ret);

/* Insert a packed entry (len bytes) received from anywhere. Returns 1 when stored, 0 when
 * suppressed as a duplicate (not newer, by (time, uid), than the newest entry seen from the
 * same node digest), -EINVAL when malformed. */
int clusterlog_insert(ClusterLog *l, const void *entry, size_t len);

/* Append a local entry with the next uid. The packed entry (to broadcast) is copied to
 * ret_entry (CLUSTERLOG_MAX_ENTRY_SIZE bytes) when not NULL. Same return as insert. */
int clusterlog_add(
    ClusterLog *l,
    const char *node,
    const char *ident,
    const char *tag,
    uint32_t pid,
    uint8_t priority,
    uint32_t time,
    const char *msg,
    void *ret_entry,
    size_t *ret_len
);

/* Iterate newest first: `ClusterLogIter it = {}; ClusterLogEntry e; while
 * (clusterlog_iterate(l, &it, &e)) ...`. The log must not change meanwhile. */
typedef struct ClusterLogIter {
    uint32_t pos;
    uint32_t low_end; /* end of the newest entry: older entries above it survived a wrap */
    bool started, wrapped, done;
} ClusterLogIter;
bool clusterlog_iterate(const ClusterLog *l, ClusterLogIter *it, ClusterLogEntry *ret);
size_t clusterlog_count(const ClusterLog *l);

/* JSON {"data": [...]} of at most max entries (0 = 50) newest first; only entries whose
 * ident equals user when user is non-empty. */
int clusterlog_dump_json(
    const ClusterLog *l, unsigned max, const char *user, char **ret, size_t *ret_len
);

/* The ring as sent in a kvstore STATE message: entries sorted by (time, node digest, uid),
 * malloc'd, CLUSTERLOG_BUFFER_SIZE bytes. */
int clusterlog_get_state(const ClusterLog *l, void **ret, size_t *ret_len);
/* Validate a received STATE buffer; -EINVAL when malformed. */
int clusterlog_state_check(const void *state, size_t len);
/* Replace l's content by the merge of its own entries and the given STATE buffers: entries
 * deduplicated, sorted by (time, node digest, uid), the newest kept as far as the ring holds
 * them. Nothing changes on failure (-EINVAL for a malformed state, -ENOMEM). */
int clusterlog_merge(ClusterLog *l, const void *const *states, const size_t *lens, size_t n);
