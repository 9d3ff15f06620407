/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * oplog: the append-only operation log in front of config.db (<db>-oplog).
 *
 * Each memdb operation appends one checksummed group of row records (PUT = whole row with
 * data, META = row without data, DELETE, VERSION) with a single write(); that write is the
 * point at which the operation is durable against a crash of the process, exactly like a
 * SQLite WAL commit with synchronous=NORMAL, at a fraction of the cost. memdb copies the dirty
 * rows into config.db in batches (checkpoints) and then empties the log; at start-up a
 * non-empty log is replayed into config.db before the tree is loaded. Replaying is idempotent,
 * and a torn last group (crash in the middle of a write) is detected by its checksum and
 * dropped: that operation never returned success.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "database.h"
#include "pve/macro.h"

typedef enum OplogKind {
    OPLOG_PUT = 1,     /* the whole row, data included */
    OPLOG_META = 2,    /* every column but data (rename, utime) */
    OPLOG_DELETE = 3,  /* row.inode */
    OPLOG_VERSION = 4, /* row.version, row.writer, row.mtime of the __version__ row */
} OplogKind;

typedef struct OplogRecord {
    OplogKind kind;
    DatabaseRow row;
} OplogRecord;

typedef struct Oplog Oplog;

/* Largest group: a 1 MiB file plus its metadata, with room to spare. */
#define OPLOG_GROUP_MAX (2u * 1024 * 1024)

/* Open for appending (created 0600 when missing). */
int oplog_open(const char *path, Oplog **ret);
Oplog *oplog_close(Oplog *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Oplog *, oplog_close);

/* Append the records of one operation as one group; on failure the file is left as before. */
int oplog_append(Oplog *l, const OplogRecord *recs, size_t n);
/* Empty the log (after a checkpoint made its content redundant). */
int oplog_reset(Oplog *l);
uint64_t oplog_size(const Oplog *l);

/* Call fn for every record of every intact group of the log at path, in order. A missing
 * file is an empty log. *ret_dropped = bytes of a torn or corrupt tail that were ignored. */
int oplog_replay(
    const char *path,
    int (*fn)(void *userdata, const OplogRecord *rec),
    void *userdata,
    uint64_t *ret_dropped
);
