/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * database: the SQLite file behind memdb (config.db), in the upstream layout: one table
 * `tree` (inode, parent, version, writer, mtime, type, name, data) plus the pseudo-row
 * inode 0 `__version__` carrying the global version. It knows nothing about the tree's rules;
 * memdb decides what to write and groups it into transactions.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pve/macro.h"

typedef struct Database Database;

typedef struct DatabaseRow {
    uint64_t inode;
    uint64_t parent;
    uint64_t version;
    uint32_t writer;
    uint32_t mtime;
    uint8_t type;
    const char *name;
    const void *data;
    size_t size;
} DatabaseRow;

#define DATABASE_VERSION_NAME "__version__"

/* Open (creating file and schema when missing); 0600, WAL, synchronous=NORMAL. */
int database_open(const char *path, Database **ret);
Database *database_close(Database *db);
DEFINE_TRIVIAL_CLEANUP_FUNC(Database *, database_close);

/* Call fn for every row (the __version__ row included); stops at the first negative return. */
int database_load(Database *db, int (*fn)(void *userdata, const DatabaseRow *row), void *userdata);

int database_begin(Database *db);
int database_commit(Database *db);
void database_rollback(Database *db);
int database_put(Database *db, const DatabaseRow *row);
/* Update every column but data of an existing row (no-op when the row is missing). */
int database_update_meta(Database *db, const DatabaseRow *row);
int database_delete(Database *db, uint64_t inode);
int database_put_version(Database *db, uint64_t version, uint32_t writer, uint32_t mtime);

/* Test hook: make the n-th following statement fail with -EIO (0 disables). */
void database_inject_failure(Database *db, unsigned n);
