/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SQLite persistence for memdb. Prepared statements for every write, WAL journal with
 * synchronous=NORMAL: a committed transaction survives a crash of the process (the WAL is
 * written before COMMIT returns), as upstream. Errors are returned, never logged here.
 */
#include "database.h"

#include <sys/stat.h>

#include <errno.h>
#include <sqlite3.h>
#include <string.h>

struct Database {
    sqlite3 *sql;
    sqlite3_stmt *put;
    sqlite3_stmt *meta;
    sqlite3_stmt *del;
    sqlite3_stmt *begin;
    sqlite3_stmt *commit;
    sqlite3_stmt *rollback;
    sqlite3_stmt *load;
    unsigned fail_countdown;
};

/* Same columns, types and constraints as upstream's table. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS tree ("
    "inode INTEGER PRIMARY KEY NOT NULL, "
    "parent INTEGER NOT NULL CHECK(typeof(parent)=='integer'), "
    "version INTEGER NOT NULL CHECK(typeof(version)=='integer'), "
    "writer INTEGER NOT NULL CHECK(typeof(writer)=='integer'), "
    "mtime INTEGER NOT NULL CHECK(typeof(mtime)=='integer'), "
    "type INTEGER NOT NULL CHECK(typeof(type)=='integer'), "
    "name TEXT NOT NULL, "
    "data BLOB)";

static int sql_errno(int rc) {
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EBADMSG;
    default:
        return -EIO;
    }
}

static bool injected_failure(Database *db) {
    if (db->fail_countdown == 0)
        return false;
    return --db->fail_countdown == 0;
}

static int step_reset(Database *db, sqlite3_stmt *st) {
    if (injected_failure(db)) {
        sqlite3_reset(st);
        return -EIO;
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : sql_errno(rc) ?: -EIO;
}

void database_inject_failure(Database *db, unsigned n) {
    db->fail_countdown = n;
}

Database *database_close(Database *db) {
    if (!db)
        return NULL;
    sqlite3_finalize(db->put);
    sqlite3_finalize(db->meta);
    sqlite3_finalize(db->del);
    sqlite3_finalize(db->begin);
    sqlite3_finalize(db->commit);
    sqlite3_finalize(db->rollback);
    sqlite3_finalize(db->load);
    sqlite3_close(db->sql);
    free(db);
    return NULL;
}

static int prepare(Database *db, const char *sql, sqlite3_stmt **ret) {
    int rc = sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, ret, NULL);
    return sql_errno(rc) ?: (rc == SQLITE_OK ? 0 : -EIO);
}

int database_open(const char *path, Database **ret) {
    _cleanup_(database_closep) Database *db = calloc(1, sizeof *db);
    int r;

    if (!db)
        return -ENOMEM;
    int rc = sqlite3_open_v2(
        path, &db->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL
    );
    if (rc != SQLITE_OK)
        return sql_errno(rc) ?: -EIO;
    if (chmod(path, 0600) < 0)
        return -errno;
    sqlite3_busy_timeout(db->sql, 10000);
    sqlite3_extended_result_codes(db->sql, 1);
    static const char *const setup[] = {
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        /* The tree lives in RAM; SQLite only writes rows at checkpoints and reads them once
         * at start-up, so its page cache needs the B-tree's upper levels, not the default 2 MiB
         * of row pages that would sit beside the same data in RAM. */
        "PRAGMA cache_size=-256",
        schema,
    };
    for (size_t i = 0; i < ELEMENTSOF(setup); i++) {
        rc = sqlite3_exec(db->sql, setup[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return sql_errno(rc) ?: -EIO;
    }
    if ((r = prepare(
             db,
             "REPLACE INTO tree (inode, parent, version, writer, mtime, type, name, data) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
             &db->put
         )) < 0 ||
        (r = prepare(
             db,
             "UPDATE tree SET parent = ?2, version = ?3, writer = ?4, mtime = ?5, type = ?6, "
             "name = ?7 WHERE inode = ?1",
             &db->meta
         )) < 0 ||
        (r = prepare(db, "DELETE FROM tree WHERE inode = ?1", &db->del)) < 0 ||
        (r = prepare(db, "BEGIN", &db->begin)) < 0 ||
        (r = prepare(db, "COMMIT", &db->commit)) < 0 ||
        (r = prepare(db, "ROLLBACK", &db->rollback)) < 0 ||
        (r = prepare(
             db, "SELECT inode, parent, version, writer, mtime, type, name, data FROM tree",
             &db->load
         )) < 0)
        return r;
    *ret = TAKE_PTR(db);
    return 0;
}

int database_load(Database *db, int (*fn)(void *userdata, const DatabaseRow *row), void *userdata) {
    int rc, r = 0;
    while ((rc = sqlite3_step(db->load)) == SQLITE_ROW) {
        sqlite3_stmt *st = db->load;
        for (int col = 1; col <= 5; col++)
            if (sqlite3_column_type(st, col) != SQLITE_INTEGER) {
                r = -EBADMSG;
                goto finish;
            }
        if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
            sqlite3_column_type(st, 6) != SQLITE_TEXT) {
            r = -EBADMSG;
            goto finish;
        }
        sqlite3_int64 v[6];
        for (int col = 0; col <= 5; col++)
            v[col] = sqlite3_column_int64(st, col);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || v[3] > UINT32_MAX || v[4] < 0 ||
            v[4] > UINT32_MAX || v[5] < 0 || v[5] > 255) {
            r = -EBADMSG;
            goto finish;
        }
        DatabaseRow row = {
            .inode = (uint64_t) v[0],
            .parent = (uint64_t) v[1],
            .version = (uint64_t) v[2],
            .writer = (uint32_t) v[3],
            .mtime = (uint32_t) v[4],
            .type = (uint8_t) v[5],
            .name = (const char *) sqlite3_column_text(st, 6),
            .data = sqlite3_column_blob(st, 7),
            .size = (size_t) sqlite3_column_bytes(st, 7),
        };
        r = fn(userdata, &row);
        if (r < 0)
            goto finish;
    }
    if (rc != SQLITE_DONE)
        r = sql_errno(rc) ?: -EIO;
finish:
    sqlite3_reset(db->load);
    return r;
}

int database_begin(Database *db) {
    return step_reset(db, db->begin);
}

int database_commit(Database *db) {
    return step_reset(db, db->commit);
}

void database_rollback(Database *db) {
    if (sqlite3_get_autocommit(db->sql))
        return; /* nothing open (e.g. BEGIN failed or COMMIT already rolled back) */
    (void) sqlite3_step(db->rollback);
    sqlite3_reset(db->rollback);
}

int database_put(Database *db, const DatabaseRow *row) {
    sqlite3_stmt *st = db->put;
    sqlite3_bind_int64(st, 1, (sqlite3_int64) row->inode);
    sqlite3_bind_int64(st, 2, (sqlite3_int64) row->parent);
    sqlite3_bind_int64(st, 3, (sqlite3_int64) row->version);
    sqlite3_bind_int64(st, 4, row->writer);
    sqlite3_bind_int64(st, 5, row->mtime);
    sqlite3_bind_int64(st, 6, row->type);
    sqlite3_bind_text(st, 7, row->name, -1, SQLITE_STATIC);
    if (row->size > 0)
        sqlite3_bind_blob64(st, 8, row->data, row->size, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 8);
    return step_reset(db, st);
}

int database_update_meta(Database *db, const DatabaseRow *row) {
    sqlite3_stmt *st = db->meta;
    sqlite3_bind_int64(st, 1, (sqlite3_int64) row->inode);
    sqlite3_bind_int64(st, 2, (sqlite3_int64) row->parent);
    sqlite3_bind_int64(st, 3, (sqlite3_int64) row->version);
    sqlite3_bind_int64(st, 4, row->writer);
    sqlite3_bind_int64(st, 5, row->mtime);
    sqlite3_bind_int64(st, 6, row->type);
    sqlite3_bind_text(st, 7, row->name, -1, SQLITE_STATIC);
    return step_reset(db, st);
}

int database_delete(Database *db, uint64_t inode) {
    sqlite3_bind_int64(db->del, 1, (sqlite3_int64) inode);
    return step_reset(db, db->del);
}

int database_put_version(Database *db, uint64_t version, uint32_t writer, uint32_t mtime) {
    DatabaseRow row = {
        .inode = 0,
        .parent = 0,
        .version = version,
        .writer = writer,
        .mtime = mtime,
        .type = 8,
        .name = DATABASE_VERSION_NAME,
    };
    return database_put(db, &row);
}
