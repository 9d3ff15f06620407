/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for memdb and its SQLite backend (specs/pmxcfs.md §2, §5, §8): what upstream's
 * check_memdb covers (many files, mkdir/rmdir errnos, file create/read/write/truncate/delete,
 * reloads after renames) plus the version/inode rules, limits, name and rename rules, VMID
 * uniqueness, locks on a fake clock, injected database failures (RAM and disk must never
 * diverge), crash recovery of the __version__ row, the strict loader and the schema.
 *
 * Every test works in its own temporary directory. "Reload" means opening a second memdb on
 * the same file while the first is still open, so nothing written at close can hide a
 * difference between RAM and disk.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */
#include <sqlite3.h>

#include "database.h"
#include "memdb.h"
#include "pve/paths.h"

#define MiB (1024u * 1024u)

typedef struct Fixture {
    char dir[64];
    char db[128];
} Fixture;

/* ---- helpers ---------------------------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void) st, (void) flag, (void) ftw;
    return remove(p);
}

static void rm_rf(const char *dir) {
    (void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test-memdb.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->db, sizeof f->db, "%s/config.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    rm_rf(f->dir);
    free(f);
    return 0;
}

static uint64_t fake_now;
static uint64_t fake_clock(void) {
    return fake_now;
}

static Memdb *open_db(const char *path, const MemdbLimits *limits) {
    Memdb *m = NULL;
    int r = memdb_open(path, limits, &m);
    if (r < 0) {
        const char *why = NULL;
        uint64_t inode = 0;
        (void) memdb_open_error(&why, &inode);
        print_error(
            "memdb_open(%s): %s (%s, inode %llu)\n", path, strerror(-r), why ? why : "-",
            (unsigned long long) inode
        );
    }
    assert_int_equal(r, 0);
    assert_non_null(m);
    return m;
}

static uint64_t version_of(Memdb *m) {
    uint64_t v;
    memdb_root_info(m, &v, NULL, NULL);
    return v;
}

static int cmp_dirent(const void *a, const void *b) {
    return strcmp(((const MemdbDirent *) a)->name, ((const MemdbDirent *) b)->name);
}

static int cmp_vm(const void *a, const void *b) {
    const MemdbVm *x = a, *y = b;
    return x->vmid < y->vmid ? -1 : x->vmid > y->vmid;
}

static void dump_dir(Memdb *m, FILE *out, const char *path) {
    MemdbDirent *d = NULL;
    size_t n = 0;
    assert_int_equal(memdb_readdir(m, path, &d, &n), 0);
    qsort(d, n, sizeof *d, cmp_dirent);
    for (size_t i = 0; i < n; i++) {
        char *p = NULL;
        MemdbStat st;
        assert_true(asprintf(&p, "%s%s%s", path, *path ? "/" : "", d[i].name) > 0);
        assert_int_equal(memdb_stat(m, p, &st), 0);
        assert_int_equal(st.inode, d[i].inode);
        assert_int_equal(st.type, d[i].type);
        fprintf(
            out, "%s type=%u inode=%llu parent=%llu version=%llu writer=%u mtime=%u size=%u", p,
            st.type, (unsigned long long) st.inode, (unsigned long long) st.parent,
            (unsigned long long) st.version, st.writer, st.mtime, st.size
        );
        if (st.type == MEMDB_TYPE_REG) {
            char *data = NULL;
            size_t len = 0;
            assert_int_equal(memdb_read_all(m, p, &data, &len), 0);
            assert_int_equal(len, st.size);
            fputs(" data=", out);
            for (size_t j = 0; j < len; j++)
                fprintf(out, "%02x", (unsigned char) data[j]);
            free(data);
        }
        fputc('\n', out);
        if (st.type == MEMDB_TYPE_DIR)
            dump_dir(m, out, p);
        free(p);
    }
    memdb_dirents_free(d, n);
}

/* Canonical text of everything observable: root stamp, every entry with data, the VM list. */
static char *dump(Memdb *m) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    uint64_t v;
    uint32_t w, t;
    memdb_root_info(m, &v, &w, &t);
    fprintf(out, "root version=%llu writer=%u mtime=%u\n", (unsigned long long) v, w, t);
    dump_dir(m, out, "");
    MemdbVm *vms = NULL;
    size_t n = 0;
    assert_int_equal(memdb_vmlist(m, &vms, &n, NULL), 0);
    qsort(vms, n, sizeof *vms, cmp_vm);
    for (size_t i = 0; i < n; i++)
        fprintf(
            out, "vm %u %s %s\n", vms[i].vmid, vms[i].node, memdb_guest_type_to_string(vms[i].type)
        );
    free(vms);
    fprintf(
        out, "entries=%zu total=%llu\n", memdb_entry_count(m),
        (unsigned long long) memdb_total_size(m)
    );
    assert_int_equal(fclose(out), 0);
    return buf;
}

/* Open the same database file a second time and dump what is on disk. */
static void copy_file(const char *from, const char *to);

/* What a crash right now would recover: copy the database, its WAL and the operation log
 * (never the -shm) and open the copy, so the live instance is left alone. */
static char *dump_disk(const char *path) {
    static unsigned seq;
    char dir[512], to[600], from[600];
    snprintf(dir, sizeof dir, "%s.snap%u", path, seq++);
    (void) mkdir(dir, 0700);
    static const char *const sfx[] = {"", "-wal", "-oplog"};
    for (size_t i = 0; i < ELEMENTSOF(sfx); i++) {
        snprintf(from, sizeof from, "%s%s", path, sfx[i]);
        snprintf(to, sizeof to, "%s/config.db%s", dir, sfx[i]);
        if (access(from, F_OK) == 0)
            copy_file(from, to);
    }
    snprintf(to, sizeof to, "%s/config.db", dir);
    Memdb *m = open_db(to, NULL);
    char *d = dump(m);
    memdb_close(m);
    for (size_t i = 0; i < ELEMENTSOF(sfx); i++) {
        snprintf(from, sizeof from, "%s/config.db%s", dir, sfx[i]);
        (void) unlink(from);
    }
    snprintf(from, sizeof from, "%s/config.db-shm", dir);
    (void) unlink(from);
    (void) rmdir(dir);
    return d;
}

static void assert_disk_equals_ram(Memdb *m, const char *path) {
    char *ram = dump(m), *disk = dump_disk(path);
    assert_string_equal(disk, ram);
    free(ram);
    free(disk);
}

static void put_file(Memdb *m, const char *path, const char *data, uint32_t mtime) {
    assert_int_equal(memdb_create(m, path, 0, mtime), 0);
    size_t len = strlen(data);
    if (len)
        assert_int_equal(memdb_write(m, path, 0, data, len, false, 0, mtime), (int) len);
}

static void assert_content(Memdb *m, const char *path, const void *data, size_t len) {
    char *buf = NULL;
    size_t got = 0;
    assert_int_equal(memdb_read_all(m, path, &buf, &got), 0);
    assert_int_equal(got, len);
    assert_memory_equal(buf, data, len);
    free(buf);
}

static void assert_missing(Memdb *m, const char *path) {
    MemdbStat st;
    assert_int_equal(memdb_stat(m, path, &st), -ENOENT);
}

static uint64_t inode_of(Memdb *m, const char *path) {
    MemdbStat st;
    assert_int_equal(memdb_stat(m, path, &st), 0);
    return st.inode;
}

static void sql_exec(const char *db, const char *sql) {
    sqlite3 *s = NULL;
    char *err = NULL;
    assert_int_equal(sqlite3_open(db, &s), SQLITE_OK);
    int rc = sqlite3_exec(s, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        print_error("sql '%s': %s\n", sql, err ? err : "?");
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_free(err);
    sqlite3_close(s);
}

static int64_t sql_int(const char *db, const char *sql) {
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(db, &s), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(s);
    return v;
}

static void copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        assert_int_equal(errno, ENOENT);
        return;
    }
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(out >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t) n), n);
    assert_int_equal(n, 0);
    close(in);
    close(out);
}

/* The on-disk state a crash right now would leave: the database, its WAL and the operation
 * log, no -shm. */
static void snapshot_crash(const Fixture *f, const char *dest_dir) {
    char from[256], to[256];
    (void) mkdir(dest_dir, 0700);
    snprintf(to, sizeof to, "%s/config.db-shm", dest_dir);
    (void) unlink(to);
    for (int i = 0; i < 3; i++) {
        const char *sfx = i == 0 ? "" : i == 1 ? "-wal" : "-oplog";
        snprintf(from, sizeof from, "%s%s", f->db, sfx);
        snprintf(to, sizeof to, "%s/config.db%s", dest_dir, sfx);
        (void) unlink(to);
        copy_file(from, to);
    }
}

/* ---- schema ----------------------------------------------------------------------------- */

static void test_schema(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);

    struct stat st;
    assert_int_equal(stat(f->db, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    static const struct {
        const char *name, *type;
        int notnull, pk;
    } cols[] = {
        {"inode", "INTEGER", 1, 1},  {"parent", "INTEGER", 1, 0}, {"version", "INTEGER", 1, 0},
        {"writer", "INTEGER", 1, 0}, {"mtime", "INTEGER", 1, 0},  {"type", "INTEGER", 1, 0},
        {"name", "TEXT", 1, 0},      {"data", "BLOB", 0, 0},
    };
    sqlite3 *s = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open(f->db, &s), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(s, "PRAGMA table_info(tree)", -1, &q, NULL), SQLITE_OK);
    size_t i = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        assert_true(i < ELEMENTSOF(cols));
        assert_int_equal(sqlite3_column_int(q, 0), (int) i);
        assert_string_equal((const char *) sqlite3_column_text(q, 1), cols[i].name);
        assert_string_equal((const char *) sqlite3_column_text(q, 2), cols[i].type);
        assert_int_equal(sqlite3_column_int(q, 3), cols[i].notnull);
        assert_int_equal(sqlite3_column_type(q, 4), SQLITE_NULL); /* no defaults */
        assert_int_equal(sqlite3_column_int(q, 5), cols[i].pk);
        i++;
    }
    assert_int_equal(i, ELEMENTSOF(cols));
    sqlite3_finalize(q);
    /* One table, no extra indexes. */
    assert_int_equal(
        sqlite3_prepare_v2(s, "SELECT count(*) FROM sqlite_master", -1, &q, NULL), SQLITE_OK
    );
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 1);
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(s, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *) sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);

    /* A new database holds only the __version__ pseudo-row at version 1. */
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM tree"), 1);
    assert_int_equal(
        sql_int(
            f->db,
            "SELECT count(*) FROM tree WHERE inode=0 AND parent=0 AND version=1 AND "
            "type=8 AND name='__version__' AND data IS NULL"
        ),
        1
    );

    /* CHECK(typeof(x)=='integer') and NOT NULL reject everything but integers. */
    static const char *const bad[] = {
        "INSERT INTO tree VALUES (100, 'abc', 1, 0, 0, 8, 'x', NULL)",
        "INSERT INTO tree VALUES (100, 0, 1.5, 0, 0, 8, 'x', NULL)",
        "INSERT INTO tree VALUES (100, 0, 1, x'01', 0, 8, 'x', NULL)",
        "INSERT INTO tree VALUES (100, 0, 1, 0, 'yesterday', 8, 'x', NULL)",
        "INSERT INTO tree VALUES (100, 0, 1, 0, 0, 'dir', 'x', NULL)",
        "INSERT INTO tree VALUES (100, NULL, 1, 0, 0, 8, 'x', NULL)",
        "INSERT INTO tree VALUES (100, 0, NULL, 0, 0, 8, 'x', NULL)",
        "INSERT INTO tree VALUES (100, 0, 1, 0, 0, 8, NULL, NULL)",
        "INSERT INTO tree VALUES ('abc', 0, 1, 0, 0, 8, 'x', NULL)",
    };
    for (i = 0; i < ELEMENTSOF(bad); i++) {
        int rc = sqlite3_exec(s, bad[i], NULL, NULL, NULL);
        if ((rc & 0xff) != SQLITE_CONSTRAINT && rc != SQLITE_MISMATCH)
            print_error("accepted: %s (rc %d)\n", bad[i], rc);
        assert_true((rc & 0xff) == SQLITE_CONSTRAINT || rc == SQLITE_MISMATCH);
    }
    assert_int_equal(
        sqlite3_exec(
            s, "INSERT INTO tree VALUES (100, 0, 100, 0, 0, 8, 'x', x'4142')", NULL, NULL, NULL
        ),
        SQLITE_OK
    );
    sqlite3_close(s);
    memdb_close(m);
}

/* ---- upstream check_memdb equivalents ---------------------------------------------------- */

static void test_many_files(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    enum { DIRS = 20, FILES = 60 };
    char path[64], data[64];
    uint64_t last_inode = 0, total = 0;

    for (int d = 0; d < DIRS; d++) {
        snprintf(path, sizeof path, "dir%02d", d);
        assert_int_equal(memdb_mkdir(m, path, 0, 1000), 0);
        for (int i = 0; i < FILES; i++) {
            snprintf(path, sizeof path, "dir%02d/file%03d.cfg", d, i);
            snprintf(data, sizeof data, "content of %d/%d\n", d, i);
            put_file(m, path, data, 1000);
            total += strlen(data);
            uint64_t ino = inode_of(m, path);
            assert_true(ino > last_inode); /* monotonic in creation order */
            last_inode = ino;
        }
    }
    assert_int_equal(memdb_entry_count(m), 1 + DIRS + DIRS * FILES);
    assert_int_equal(memdb_total_size(m), total);
    /* each dir: mkdir + FILES x (create + write) */
    assert_int_equal(version_of(m), 1 + DIRS * (1 + 2 * FILES));

    for (int d = 0; d < DIRS; d++) {
        MemdbDirent *list = NULL;
        size_t n = 0;
        snprintf(path, sizeof path, "dir%02d", d);
        assert_int_equal(memdb_readdir(m, path, &list, &n), 0);
        assert_int_equal(n, FILES);
        qsort(list, n, sizeof *list, cmp_dirent);
        for (size_t i = 0; i < n; i++) {
            char want[32], *p = NULL;
            snprintf(want, sizeof want, "file%03zu.cfg", i);
            assert_string_equal(list[i].name, want);
            assert_int_equal(list[i].type, MEMDB_TYPE_REG);
            /* inode -> path round trip */
            assert_int_equal(memdb_inode_path(m, list[i].inode, &p), 0);
            snprintf(path, sizeof path, "dir%02d/%s", d, want);
            assert_string_equal(p, path);
            free(p);
        }
        memdb_dirents_free(list, n);
    }
    snprintf(path, sizeof path, "dir07/file042.cfg");
    assert_content(m, path, "content of 7/42\n", 16);
    assert_disk_equals_ram(m, f->db);
    memdb_close(m);
}

static void test_dir_errnos(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);

    assert_int_equal(memdb_mkdir(m, "a", 0, 1), 0);
    uint64_t v = version_of(m);
    assert_int_equal(memdb_mkdir(m, "a", 0, 1), -EEXIST);
    assert_int_equal(memdb_mkdir(m, "missing/b", 0, 1), -ENOENT);
    assert_int_equal(memdb_delete(m, "missing", 0, 1), -ENOENT);
    assert_int_equal(memdb_delete(m, "a/missing", 0, 1), -ENOENT);
    assert_int_equal(version_of(m), v);

    assert_int_equal(memdb_mkdir(m, "a/b", 0, 1), 0);
    assert_int_equal(memdb_create(m, "a/b/file", 0, 1), 0);
    v = version_of(m);
    assert_int_equal(memdb_delete(m, "a", 0, 1), -ENOTEMPTY);
    assert_int_equal(memdb_delete(m, "a/b", 0, 1), -ENOTEMPTY);
    assert_int_equal(memdb_mkdir(m, "a/b/file/x", 0, 1), -ENOTDIR);
    assert_int_equal(memdb_create(m, "a/b/file/x", 0, 1), -ENOTDIR);
    assert_int_equal(memdb_mkdir(m, "a/b/file", 0, 1), -EEXIST);
    assert_int_equal(memdb_delete(m, "", 0, 1), -EACCES); /* the root */
    assert_int_equal(version_of(m), v);

    assert_int_equal(memdb_delete(m, "a/b/file", 0, 1), 0);
    assert_int_equal(memdb_delete(m, "a/b", 0, 1), 0);
    assert_int_equal(memdb_delete(m, "a", 0, 1), 0);
    assert_int_equal(memdb_delete(m, "a", 0, 1), -ENOENT);
    assert_int_equal(memdb_entry_count(m), 1);
    assert_disk_equals_ram(m, f->db);
    memdb_close(m);
}

static void test_file_ops(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    char buf[64];

    assert_int_equal(memdb_create(m, "f", 0, 1), 0);
    assert_int_equal(memdb_create(m, "f", 0, 1), -EEXIST);
    assert_int_equal(memdb_mkdir(m, "f", 0, 1), -EEXIST);
    assert_content(m, "f", "", 0);
    assert_int_equal(memdb_read(m, "f", 0, buf, sizeof buf), 0);

    assert_int_equal(memdb_write(m, "f", 0, "hello", 5, false, 0, 2), 5);
    assert_content(m, "f", "hello", 5);
    assert_int_equal(memdb_write(m, "f", 1, "XY", 2, false, 0, 3), 2); /* offset write */
    assert_content(m, "f", "hXYlo", 5);
    assert_int_equal(memdb_write(m, "f", 3, "0123", 4, false, 0, 3), 4); /* extends */
    assert_content(m, "f", "hXY0123", 7);
    assert_int_equal(memdb_write(m, "f", 10, "Z", 1, false, 0, 3), 1); /* hole zero filled */
    assert_content(m, "f", "hXY0123\0\0\0Z", 11);
    assert_int_equal(memdb_write(m, "f", 0, "ab", 2, false, 0, 3), 2); /* never shrinks */
    assert_content(m, "f", "abY0123\0\0\0Z", 11);
    assert_int_equal(memdb_write(m, "f", 1, "QQ", 2, true, 0, 3), 2); /* cut at offset+len */
    assert_content(m, "f", "aQQ", 3);

    /* partial and beyond-EOF reads */
    assert_int_equal(memdb_read(m, "f", 1, buf, 1), 1);
    assert_int_equal(buf[0], 'Q');
    assert_int_equal(memdb_read(m, "f", 2, buf, sizeof buf), 1);
    assert_int_equal(memdb_read(m, "f", 3, buf, sizeof buf), 0);
    assert_int_equal(memdb_read(m, "f", 1000, buf, sizeof buf), 0);

    assert_int_equal(memdb_truncate(m, "f", 6, 0, 4), 0);
    assert_content(m, "f", "aQQ\0\0\0", 6);
    assert_int_equal(memdb_truncate(m, "f", 1, 0, 4), 0);
    assert_content(m, "f", "a", 1);
    assert_int_equal(memdb_truncate(m, "f", 0, 0, 4), 0);
    assert_content(m, "f", "", 0);
    assert_int_equal(memdb_total_size(m), 0);

    assert_int_equal(memdb_mkdir(m, "d", 0, 5), 0);
    assert_int_equal(memdb_read(m, "d", 0, buf, sizeof buf), -EISDIR);
    assert_int_equal(memdb_write(m, "d", 0, "x", 1, false, 0, 5), -EISDIR);
    assert_int_equal(memdb_truncate(m, "d", 0, 0, 5), -EISDIR);
    assert_int_equal(memdb_write(m, "nope", 0, "x", 1, false, 0, 5), -ENOENT);
    assert_int_equal(memdb_truncate(m, "nope", 0, 0, 5), -ENOENT);
    assert_int_equal(memdb_read(m, "nope", 0, buf, sizeof buf), -ENOENT);

    assert_int_equal(memdb_write(m, "f", 0, "persist me", 10, false, 0, 6), 10);
    assert_disk_equals_ram(m, f->db);
    assert_int_equal(memdb_delete(m, "f", 0, 7), 0);
    assert_missing(m, "f");
    assert_int_equal(memdb_read(m, "f", 0, buf, sizeof buf), -ENOENT);
    assert_int_equal(memdb_delete(m, "f", 0, 7), -ENOENT);
    assert_disk_equals_ram(m, f->db);
    memdb_close(m);
}

/* upstream test_loaddb1: renames of files survive a restart */
static void test_reload_file_renames(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);

    assert_int_equal(memdb_mkdir(m, "d", 0, 1), 0);
    put_file(m, "a", "AAAA", 1);
    put_file(m, "b", "BB", 1);
    put_file(m, "c", "C", 1);
    put_file(m, "d/e", "EEEEE", 1);
    uint64_t ia = inode_of(m, "a"), ib = inode_of(m, "b"), ie = inode_of(m, "d/e");

    assert_int_equal(memdb_rename(m, "a", "a2", 0, 2), 0);
    assert_int_equal(memdb_rename(m, "b", "d/b", 0, 3), 0);
    assert_int_equal(memdb_rename(m, "d/e", "c", 0, 4), 0); /* replaces c */
    assert_int_equal(memdb_rename(m, "a2", "d/a3", 0, 5), 0);
    char *before = dump(m);
    memdb_close(m);

    m = open_db(f->db, NULL);
    char *after = dump(m);
    assert_string_equal(after, before);
    assert_int_equal(inode_of(m, "d/a3"), ia);
    assert_int_equal(inode_of(m, "d/b"), ib);
    assert_int_equal(inode_of(m, "c"), ie);
    assert_content(m, "c", "EEEEE", 5);
    assert_missing(m, "a");
    assert_missing(m, "b");
    assert_missing(m, "d/e");
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM tree"), 5); /* __version__ + 4 */
    free(before);
    free(after);
    memdb_close(m);
}

/* upstream test_loaddb2: a directory whose files were moved in and out, then renamed */
static void test_reload_dir_renames(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);

    assert_int_equal(memdb_mkdir(m, "dir1", 0, 1), 0);
    assert_int_equal(memdb_mkdir(m, "dir2", 0, 1), 0);
    put_file(m, "dir1/f1", "one", 1);
    put_file(m, "dir1/f2", "two", 1);
    put_file(m, "f3", "three", 1);
    assert_int_equal(memdb_rename(m, "dir1/f1", "dir2/f1", 0, 2), 0);
    assert_int_equal(memdb_rename(m, "dir1/f2", "dir2/f2", 0, 2), 0);
    assert_int_equal(memdb_rename(m, "f3", "dir2/f3", 0, 2), 0);
    uint64_t idir1 = inode_of(m, "dir1");
    assert_int_equal(memdb_rename(m, "dir1", "dir3", 0, 3), 0); /* now empty: allowed */
    assert_int_equal(memdb_rename(m, "dir2", "dir4", 0, 3), -ENOTEMPTY);
    assert_int_equal(memdb_mkdir(m, "dir3/sub", 0, 4), 0);
    assert_int_equal(memdb_rename(m, "dir2/f1", "dir3/sub/f1", 0, 5), 0);
    char *before = dump(m);
    memdb_close(m);

    m = open_db(f->db, NULL);
    char *after = dump(m);
    assert_string_equal(after, before);
    assert_int_equal(inode_of(m, "dir3"), idir1);
    assert_content(m, "dir3/sub/f1", "one", 3);
    assert_content(m, "dir2/f2", "two", 3);
    assert_content(m, "dir2/f3", "three", 5);
    assert_missing(m, "dir1");
    free(before);
    free(after);
    memdb_close(m);
}

/* ---- version, inode and stamp rules ------------------------------------------------------ */

static void
assert_stamp(Memdb *m, const char *path, uint64_t version, uint32_t writer, uint32_t mtime) {
    MemdbStat st;
    assert_int_equal(memdb_stat(m, path, &st), 0);
    assert_int_equal(st.version, version);
    assert_int_equal(st.writer, writer);
    assert_int_equal(st.mtime, mtime);
}

static void assert_root(Memdb *m, uint64_t version, uint32_t writer, uint32_t mtime) {
    uint64_t v;
    uint32_t w, t;
    memdb_root_info(m, &v, &w, &t);
    assert_int_equal(v, version);
    assert_int_equal(w, writer);
    assert_int_equal(t, mtime);
}

static void test_versions(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    MemdbStat st;

    uint64_t v0 = version_of(m);
    assert_int_equal(v0, 1);

    /* The spec's example: mkdir, create, write, rename, unlink, rmdir = 6 versions. */
    assert_int_equal(memdb_mkdir(m, "d", 11, 1000), 0);
    assert_root(m, v0 + 1, 11, 1000);
    assert_int_equal(inode_of(m, "d"), v0 + 1); /* inode = version */
    assert_stamp(m, "d", v0 + 1, 11, 1000);

    assert_int_equal(memdb_create(m, "d/f", 12, 1001), 0);
    assert_root(m, v0 + 2, 12, 1001);
    assert_int_equal(inode_of(m, "d/f"), v0 + 2);
    assert_stamp(m, "d/f", v0 + 2, 12, 1001);
    assert_stamp(m, "d", v0 + 1, 11, 1000); /* the parent is not touched */

    assert_int_equal(memdb_write(m, "d/f", 0, "data", 4, false, 13, 1002), 4);
    assert_root(m, v0 + 3, 13, 1002);
    assert_int_equal(inode_of(m, "d/f"), v0 + 2); /* modification keeps the inode */
    assert_stamp(m, "d/f", v0 + 3, 13, 1002);

    assert_int_equal(memdb_rename(m, "d/f", "d/g", 14, 1003), 0);
    assert_root(m, v0 + 4, 14, 1003);
    assert_int_equal(memdb_stat(m, "d/g", &st), 0);
    assert_int_equal(st.inode, v0 + 2); /* rename keeps the inode */
    assert_int_equal(st.parent, v0 + 1);
    assert_stamp(m, "d/g", v0 + 4, 14, 1003);

    assert_int_equal(memdb_mtime(m, "d/g", 777, 15, 1004), 0);
    assert_root(m, v0 + 5, 15, 1004);
    assert_stamp(m, "d/g", v0 + 5, 15, 777);

    assert_int_equal(memdb_truncate(m, "d/g", 1, 16, 1005), 0);
    assert_root(m, v0 + 6, 16, 1005);
    assert_stamp(m, "d/g", v0 + 6, 16, 1005);
    assert_disk_equals_ram(m, f->db);

    assert_int_equal(memdb_delete(m, "d/g", 17, 1006), 0);
    assert_root(m, v0 + 7, 17, 1006);
    assert_int_equal(memdb_delete(m, "d", 18, 1007), 0);
    assert_root(m, v0 + 8, 18, 1007);

    /* Failures change nothing. */
    assert_int_equal(memdb_delete(m, "d", 19, 1008), -ENOENT);
    assert_int_equal(memdb_write(m, "d", 0, "x", 1, false, 19, 1008), -ENOENT);
    assert_int_equal(memdb_rename(m, "d", "e", 19, 1008), -ENOENT);
    assert_int_equal(memdb_mtime(m, "d", 5, 19, 1008), -ENOENT);
    assert_root(m, v0 + 8, 18, 1007);

    /* Inodes are never reused: a new entry gets the next version, not a freed inode. */
    assert_int_equal(memdb_create(m, "n", 0, 1009), 0);
    assert_int_equal(inode_of(m, "n"), v0 + 9);
    assert_disk_equals_ram(m, f->db);
    memdb_close(m);

    /* The version survives a clean restart exactly. */
    m = open_db(f->db, NULL);
    assert_root(m, v0 + 9, 0, 1009);
    assert_int_equal(memdb_mkdir(m, "x", 0, 1010), 0);
    assert_int_equal(inode_of(m, "x"), v0 + 10);
    memdb_close(m);
}

/* The RAM-only variant (no database) follows the same rules. */
static void test_ram_only(void **state) {
    (void) state;
    Memdb *m = open_db(NULL, NULL);
    assert_int_equal(version_of(m), 1);
    assert_int_equal(memdb_mkdir(m, "d", 0, 1), 0);
    assert_int_equal(memdb_create(m, "d/f", 0, 1), 0);
    assert_int_equal(memdb_write(m, "d/f", 0, "abc", 3, false, 0, 1), 3);
    assert_int_equal(memdb_rename(m, "d/f", "g", 0, 1), 0);
    assert_content(m, "g", "abc", 3);
    assert_int_equal(memdb_delete(m, "d", 0, 1), 0);
    assert_int_equal(version_of(m), 6);
    memdb_close(m);
}

/* ---- limits ----------------------------------------------------------------------------- */

static void test_file_size_limit(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    char *big = calloc(1, MiB + 1);
    assert_non_null(big);
    memset(big, 'x', MiB + 1);

    assert_int_equal(memdb_create(m, "big", 0, 1), 0);
    assert_int_equal(memdb_write(m, "big", 0, big, MiB + 1, false, 0, 1), -EFBIG);
    assert_int_equal(memdb_write(m, "big", 1, big, MiB, false, 0, 1), -EFBIG);
    assert_int_equal(memdb_write(m, "big", MiB, "x", 1, false, 0, 1), -EFBIG);
    assert_int_equal(memdb_write(m, "big", UINT64_MAX, "x", 1, false, 0, 1), -EFBIG);
    assert_int_equal(memdb_truncate(m, "big", MiB + 1, 0, 1), -EFBIG);
    assert_content(m, "big", "", 0);
    uint64_t v = version_of(m);

    assert_int_equal(memdb_write(m, "big", 0, big, MiB, false, 0, 2), (int) MiB); /* exact */
    assert_int_equal(version_of(m), v + 1);
    assert_int_equal(memdb_write(m, "big", MiB - 1, "y", 1, false, 0, 2), 1);
    assert_int_equal(memdb_write(m, "big", MiB, "y", 1, false, 0, 2), -EFBIG);
    assert_int_equal(memdb_write(m, "big", MiB - 1, "yz", 2, false, 0, 2), -EFBIG);
    big[MiB - 1] = 'y';
    assert_content(m, "big", big, MiB);

    assert_int_equal(memdb_create(m, "big2", 0, 3), 0);
    assert_int_equal(memdb_truncate(m, "big2", MiB, 0, 3), 0); /* exact via truncate */
    MemdbStat st;
    assert_int_equal(memdb_stat(m, "big2", &st), 0);
    assert_int_equal(st.size, MiB);
    assert_disk_equals_ram(m, f->db);
    free(big);
    memdb_close(m);
}

static void test_total_and_inode_limits(void **state) {
    Fixture *f = *state;
    MemdbLimits lim = memdb_default_limits();
    lim.max_file_size = 64;
    lim.max_total_size = 100;
    lim.max_inodes = 6; /* the root counts */
    Memdb *m = open_db(f->db, &lim);
    char data[64];
    memset(data, 'd', sizeof data);

    assert_int_equal(memdb_create(m, "a", 0, 1), 0);
    assert_int_equal(memdb_write(m, "a", 0, data, 65, false, 0, 1), -EFBIG);
    assert_int_equal(memdb_write(m, "a", 0, data, 64, false, 0, 1), 64);
    assert_int_equal(memdb_create(m, "b", 0, 1), 0);
    assert_int_equal(memdb_write(m, "b", 0, data, 36, false, 0, 1), 36); /* total 100 */
    uint64_t v = version_of(m);
    assert_int_equal(memdb_write(m, "b", 36, "x", 1, false, 0, 1), -ENOSPC);
    assert_int_equal(memdb_truncate(m, "b", 37, 0, 1), -ENOSPC);
    assert_int_equal(version_of(m), v);
    assert_int_equal(memdb_total_size(m), 100);
    /* Rewriting in place and shrinking are fine at the limit. */
    assert_int_equal(memdb_write(m, "b", 0, "B", 1, false, 0, 1), 1);
    assert_int_equal(memdb_truncate(m, "b", 20, 0, 1), 0);
    assert_int_equal(memdb_write(m, "b", 20, data, 16, false, 0, 1), 16);
    assert_int_equal(memdb_write(m, "b", 36, "x", 1, false, 0, 1), -ENOSPC);

    assert_int_equal(memdb_mkdir(m, "c", 0, 1), 0);
    assert_int_equal(memdb_create(m, "c/d", 0, 1), 0);
    assert_int_equal(memdb_entry_count(m), 5);
    assert_int_equal(memdb_create(m, "e", 0, 1), 0);
    v = version_of(m);
    assert_int_equal(memdb_create(m, "f", 0, 1), -ENOSPC);
    assert_int_equal(memdb_mkdir(m, "f", 0, 1), -ENOSPC);
    assert_int_equal(version_of(m), v);
    /* Renames do not need a new inode. */
    assert_int_equal(memdb_rename(m, "e", "c/e", 0, 1), 0);
    assert_int_equal(memdb_delete(m, "c/e", 0, 1), 0);
    assert_int_equal(memdb_mkdir(m, "f", 0, 1), 0);
    assert_disk_equals_ram(m, f->db);
    memdb_close(m);
}

/* ---- names and renames ------------------------------------------------------------------ */

static void test_names(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    assert_int_equal(memdb_mkdir(m, "d", 0, 1), 0);
    assert_int_equal(memdb_create(m, "d/f", 0, 1), 0);
    uint64_t v = version_of(m);

    static const char *const bad[] = {"", ".", "..", "d/.", "d/..", "d/"};
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        assert_int_equal(memdb_create(m, bad[i], 0, 1), -EACCES);
        assert_int_equal(memdb_mkdir(m, bad[i], 0, 1), -EACCES);
        assert_int_equal(memdb_mtime(m, bad[i], 5, 0, 1), -EACCES);
        assert_int_equal(memdb_rename(m, "d/f", bad[i], 0, 1), -EACCES);
    }
    assert_int_equal(version_of(m), v);
    assert_int_equal(memdb_create(m, "d/.hidden", 0, 1), 0); /* only the exact names */
    assert_int_equal(memdb_create(m, "d/...", 0, 1), 0);
    assert_disk_equals_ram(m, f->db);
    memdb_close(m);
}

static void test_rename_rules(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    assert_int_equal(memdb_mkdir(m, "d", 0, 1), 0);
    assert_int_equal(memdb_mkdir(m, "d/sub", 0, 1), 0);
    assert_int_equal(memdb_mkdir(m, "empty", 0, 1), 0);
    assert_int_equal(memdb_mkdir(m, "empty2", 0, 1), 0);
    put_file(m, "file", "F", 1);
    put_file(m, "file2", "G", 1);
    assert_int_equal(memdb_mkdir(m, "priv", 0, 1), 0);
    assert_int_equal(memdb_mkdir(m, "priv/lock", 0, 1), 0);
    assert_int_equal(memdb_mkdir(m, "priv/lock/l", 0, 1), 0);
    char *before = dump(m);

    assert_int_equal(memdb_rename(m, "nope", "x", 0, 2), -ENOENT);
    assert_int_equal(memdb_rename(m, "nope/x", "x", 0, 2), -ENOENT);
    assert_int_equal(memdb_rename(m, "d", "x", 0, 2), -ENOTEMPTY); /* non-empty source dir */
    assert_int_equal(memdb_rename(m, "d", "empty", 0, 2), -ENOTEMPTY);
    assert_int_equal(memdb_rename(m, "file", "empty", 0, 2), -EISDIR);
    assert_int_equal(memdb_rename(m, "empty", "file", 0, 2), -ENOTDIR);
    assert_int_equal(memdb_rename(m, "empty2", "d", 0, 2), -ENOTEMPTY); /* onto non-empty dir */
    assert_int_equal(memdb_rename(m, "file", "missing/x", 0, 2), -ENOENT);
    assert_int_equal(memdb_rename(m, "file", "file2/x", 0, 2), -ENOTDIR);
    assert_int_equal(memdb_rename(m, "empty", "empty/x", 0, 2), -EINVAL); /* into itself */
    assert_int_equal(memdb_rename(m, "priv/lock/l", "priv/lock/l2", 0, 2), -EACCES);
    assert_int_equal(memdb_rename(m, "", "x", 0, 2), -EACCES);
    char *after = dump(m);
    assert_string_equal(after, before); /* nothing changed, not even the version */
    free(after);
    assert_disk_equals_ram(m, f->db);

    /* A rename onto itself is a successful no-op. */
    assert_int_equal(memdb_rename(m, "file", "file", 0, 2), 0);

    /* File onto file replaces it (and frees the old inode's row). */
    uint64_t ifile = inode_of(m, "file"), ifile2 = inode_of(m, "file2");
    assert_int_equal(memdb_rename(m, "file", "file2", 0, 3), 0);
    assert_int_equal(inode_of(m, "file2"), ifile);
    assert_content(m, "file2", "F", 1);
    assert_missing(m, "file");
    char sql[128];
    snprintf(
        sql, sizeof sql, "SELECT count(*) FROM tree WHERE inode=%llu", (unsigned long long) ifile2
    );
    assert_int_equal(memdb_sync_version(m), 0); /* checkpoint the log into config.db */
    assert_int_equal(sql_int(f->db, sql), 0);
    assert_int_equal(memdb_total_size(m), 1);
    assert_disk_equals_ram(m, f->db);
    free(before);
    memdb_close(m);
}

static void test_rename_dir_onto_dir(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    assert_int_equal(memdb_mkdir(m, "src", 0, 1), 0);
    assert_int_equal(memdb_mkdir(m, "dst", 0, 1), 0);
    uint64_t isrc = inode_of(m, "src"), idst = inode_of(m, "dst");

    /* An empty dir onto an empty dir replaces it. */
    assert_int_equal(memdb_rename(m, "src", "dst", 0, 2), 0);
    assert_int_equal(inode_of(m, "dst"), isrc);
    assert_missing(m, "src");
    char sql[128];
    snprintf(
        sql, sizeof sql, "SELECT count(*) FROM tree WHERE inode=%llu", (unsigned long long) idst
    );
    assert_int_equal(memdb_sync_version(m), 0);
    assert_int_equal(sql_int(f->db, sql), 0);
    assert_int_equal(memdb_entry_count(m), 2);
    assert_disk_equals_ram(m, f->db);

    /* The upstream defect: a non-empty dir onto an empty dir must fail without losing the
     * target, in RAM and on disk, and without bumping the version. */
    assert_int_equal(memdb_mkdir(m, "full", 0, 3), 0);
    put_file(m, "full/f", "content", 3);
    assert_int_equal(memdb_mkdir(m, "target", 0, 3), 0);
    uint64_t itarget = inode_of(m, "target");
    char *before = dump(m);
    assert_int_equal(memdb_rename(m, "full", "target", 0, 4), -ENOTEMPTY);
    char *after = dump(m);
    assert_string_equal(after, before);
    free(after);
    assert_int_equal(inode_of(m, "target"), itarget);
    /* The name is still taken, so no second row with the same parent+name can appear. */
    assert_int_equal(memdb_mkdir(m, "target", 0, 5), -EEXIST);
    assert_disk_equals_ram(m, f->db);
    assert_int_equal(memdb_sync_version(m), 0);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM tree WHERE name='target'"), 1);

    /* A dir onto a non-empty dir: ENOTEMPTY, nothing changed. */
    assert_int_equal(memdb_rename(m, "target", "full", 0, 6), -ENOTEMPTY);
    after = dump(m);
    assert_string_equal(after, before);
    free(after);
    free(before);
    memdb_close(m);

    /* And the database still loads. */
    m = open_db(f->db, NULL);
    assert_content(m, "full/f", "content", 7);
    assert_int_equal(inode_of(m, "target"), itarget);
    memdb_close(m);
}

/* ---- VM list ---------------------------------------------------------------------------- */

static void mkdirs(Memdb *m, const char *const *dirs, size_t n) {
    for (size_t i = 0; i < n; i++)
        assert_int_equal(memdb_mkdir(m, dirs[i], 0, 1), 0);
}

static const char *const vm_dirs[] = {
    "nodes",          "nodes/A", "nodes/A/qemu-server", "nodes/A/lxc",
    "nodes/A/openvz", "nodes/B", "nodes/B/qemu-server", "nodes/B/lxc",
    "nodes/A/priv",
};

static bool vm_lookup(Memdb *m, uint32_t vmid, MemdbVm *ret, uint32_t *ret_version) {
    MemdbVm *vms = NULL;
    size_t n = 0;
    bool found = false;
    assert_int_equal(memdb_vmlist(m, &vms, &n, ret_version), 0);
    for (size_t i = 0; i < n; i++)
        if (vms[i].vmid == vmid) {
            if (ret)
                *ret = vms[i];
            found = true;
        }
    free(vms);
    return found;
}

static size_t vm_count(Memdb *m) {
    MemdbVm *vms = NULL;
    size_t n = 0;
    assert_int_equal(memdb_vmlist(m, &vms, &n, NULL), 0);
    free(vms);
    return n;
}

static void test_vmid(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    MemdbVm vm;
    uint32_t ver0, ver;
    mkdirs(m, vm_dirs, ELEMENTSOF(vm_dirs));
    assert_false(vm_lookup(m, 100, NULL, &ver0));

    assert_int_equal(memdb_create(m, "nodes/A/qemu-server/100.conf", 0, 1), 0);
    assert_true(vm_lookup(m, 100, &vm, &ver));
    assert_true(ver > ver0);
    assert_string_equal(vm.node, "A");
    assert_int_equal(vm.type, MEMDB_GUEST_QEMU);

    uint64_t v = version_of(m);
    /* the same VMID on another node, or as another type on the same node */
    assert_int_equal(memdb_create(m, "nodes/B/qemu-server/100.conf", 0, 1), -EEXIST);
    assert_int_equal(memdb_create(m, "nodes/A/lxc/100.conf", 0, 1), -EEXIST);
    assert_int_equal(memdb_create(m, "nodes/B/lxc/100.conf", 0, 1), -EEXIST);
    assert_int_equal(memdb_create(m, "nodes/A/openvz/100.conf", 0, 1), -EEXIST);
    assert_int_equal(version_of(m), v);
    /* non-config names are not VM configs */
    assert_int_equal(memdb_create(m, "nodes/B/qemu-server/100.conf.tmp", 0, 1), 0);
    assert_int_equal(memdb_create(m, "nodes/B/qemu-server/0100.conf", 0, 1), 0);
    assert_int_equal(memdb_create(m, "nodes/B/qemu-server/4294967296.conf", 0, 1), 0);
    assert_int_equal(vm_count(m), 1);

    /* Renaming a non-config onto a taken VMID is refused, as is renaming to another VMID's name. */
    assert_int_equal(
        memdb_rename(m, "nodes/B/qemu-server/100.conf.tmp", "nodes/B/qemu-server/100.conf", 0, 1),
        -EEXIST
    );
    assert_int_equal(memdb_create(m, "nodes/B/lxc/200.conf", 0, 1), 0);
    assert_int_equal(
        memdb_rename(m, "nodes/B/lxc/200.conf", "nodes/B/qemu-server/100.conf", 0, 1), -EEXIST
    );
    assert_int_equal(
        memdb_rename(m, "nodes/A/qemu-server/100.conf", "nodes/A/qemu-server/200.conf", 0, 1),
        -EEXIST
    );

    /* tmp + rename onto the own config (how PVE writes) keeps the registration */
    assert_int_equal(memdb_create(m, "nodes/A/qemu-server/100.conf.new", 0, 1), 0);
    assert_int_equal(
        memdb_rename(m, "nodes/A/qemu-server/100.conf.new", "nodes/A/qemu-server/100.conf", 0, 1), 0
    );
    assert_true(vm_lookup(m, 100, &vm, NULL));
    assert_string_equal(vm.node, "A");

    /* Migration: A -> B keeps the VMID and moves the registration. */
    assert_int_equal(
        memdb_write(m, "nodes/A/qemu-server/100.conf", 0, "memory: 512\n", 12, false, 0, 2), 12
    );
    assert_true(vm_lookup(m, 100, NULL, &ver0));
    assert_int_equal(
        memdb_rename(m, "nodes/A/qemu-server/100.conf", "nodes/B/qemu-server/100.conf", 0, 2), 0
    );
    assert_true(vm_lookup(m, 100, &vm, &ver));
    assert_true(ver > ver0);
    assert_string_equal(vm.node, "B");
    assert_int_equal(vm.type, MEMDB_GUEST_QEMU);
    assert_int_equal(memdb_create(m, "nodes/A/qemu-server/100.conf", 0, 1), -EEXIST);
    /* A type change of the same VMID by rename is allowed too (the source is that VM). */
    assert_int_equal(
        memdb_rename(m, "nodes/B/qemu-server/100.conf", "nodes/B/lxc/100.conf", 0, 2), 0
    );
    assert_true(vm_lookup(m, 100, &vm, NULL));
    assert_int_equal(vm.type, MEMDB_GUEST_LXC);
    assert_disk_equals_ram(m, f->db);

    /* Delete unregisters; then the VMID is free everywhere. */
    assert_true(vm_lookup(m, 100, NULL, &ver0));
    assert_int_equal(memdb_delete(m, "nodes/B/lxc/100.conf", 0, 3), 0);
    assert_false(vm_lookup(m, 100, NULL, &ver));
    assert_true(ver > ver0);
    assert_int_equal(memdb_create(m, "nodes/A/openvz/100.conf", 0, 4), 0);
    assert_true(vm_lookup(m, 100, &vm, NULL));
    assert_int_equal(vm.type, MEMDB_GUEST_OPENVZ);
    /* Renaming the config away from a VM path unregisters it too. */
    assert_int_equal(memdb_rename(m, "nodes/A/openvz/100.conf", "nodes/A/100.conf.bak", 0, 5), 0);
    assert_false(vm_lookup(m, 100, NULL, NULL));
    assert_int_equal(vm_count(m), 1); /* 200 */
    assert_disk_equals_ram(m, f->db);
    memdb_close(m);

    /* The VM list is rebuilt on open. */
    m = open_db(f->db, NULL);
    assert_true(vm_lookup(m, 200, &vm, NULL));
    assert_string_equal(vm.node, "B");
    assert_int_equal(vm.type, MEMDB_GUEST_LXC);
    assert_int_equal(vm_count(m), 1);
    memdb_close(m);
}

static void test_vmid_duplicates_in_db(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    mkdirs(m, vm_dirs, ELEMENTSOF(vm_dirs));
    assert_int_equal(memdb_create(m, "nodes/A/qemu-server/100.conf", 0, 1), 0);
    uint64_t parent = inode_of(m, "nodes/B/lxc");
    memdb_close(m);

    char sql[256];
    snprintf(
        sql, sizeof sql, "INSERT INTO tree VALUES (1000, %llu, 1000, 0, 1, 8, '100.conf', NULL)",
        (unsigned long long) parent
    );
    sql_exec(f->db, sql);
    Memdb *m2 = NULL;
    assert_int_equal(memdb_open(f->db, NULL, &m2), -EEXIST);
    assert_null(m2);
    const char *why = NULL;
    uint64_t inode;
    assert_int_equal(memdb_open_error(&why, &inode), 0);
    assert_non_null(strstr(why, "duplicate VMID"));

    /* Removing the duplicate makes it load again. */
    sql_exec(f->db, "DELETE FROM tree WHERE inode=1000");
    m = open_db(f->db, NULL);
    assert_int_equal(vm_count(m), 1);
    memdb_close(m);
}

static void test_path_classifiers(void **state) {
    (void) state;
    uint32_t vmid;
    char node[256];
    MemdbGuestType t;
    assert_true(memdb_path_vm_config("nodes/n1/qemu-server/100.conf", &vmid, node, &t));
    assert_int_equal(vmid, 100);
    assert_string_equal(node, "n1");
    assert_int_equal(t, MEMDB_GUEST_QEMU);
    assert_true(memdb_path_vm_config("nodes/a-b/lxc/4294967295.conf", &vmid, node, &t));
    assert_int_equal(vmid, UINT32_MAX);
    assert_int_equal(t, MEMDB_GUEST_LXC);
    assert_true(memdb_path_vm_config("nodes/x/openvz/1.conf", NULL, NULL, &t));
    assert_int_equal(t, MEMDB_GUEST_OPENVZ);
    static const char *const no[] = {
        "nodes/n1/qemu-server/4294967296.conf",
        "nodes/n1/qemu-server/0100.conf",
        "nodes/n1/qemu-server/.conf",
        "nodes/n1/qemu-server/100.conf.tmp",
        "nodes/n1/qemu-server/10a.conf",
        "nodes/-n/qemu-server/100.conf",
        "nodes/n-/qemu-server/100.conf",
        "nodes/n_1/qemu-server/100.conf",
        "nodes/n1/kvm/100.conf",
        "nodes/n1/qemu-server/x/100.conf",
        "node/n1/qemu-server/100.conf",
        "nodes/qemu-server/100.conf",
        "qemu-server/100.conf",
        "nodes//qemu-server/100.conf",
    };
    for (size_t i = 0; i < ELEMENTSOF(no); i++) {
        if (memdb_path_vm_config(no[i], NULL, NULL, NULL))
            print_error("accepted as VM config: %s\n", no[i]);
        assert_false(memdb_path_vm_config(no[i], NULL, NULL, NULL));
    }
    assert_true(memdb_path_is_private("priv"));
    assert_true(memdb_path_is_private("priv/authkey.key"));
    assert_true(memdb_path_is_private("nodes/n1/priv"));
    assert_true(memdb_path_is_private("nodes/n1/priv/x/y"));
    assert_false(memdb_path_is_private("nodes/n1"));
    assert_false(memdb_path_is_private("nodes/n1/private"));
    assert_false(memdb_path_is_private("private"));
    assert_false(memdb_path_is_private("a/priv"));
    assert_false(memdb_path_is_private(""));
    assert_true(memdb_path_is_lockdir("priv/lock/x"));
    assert_false(memdb_path_is_lockdir("priv/lock"));
    assert_false(memdb_path_is_lockdir("priv/lock/"));
    assert_false(memdb_path_is_lockdir("priv/lock/x/y"));
    assert_false(memdb_path_is_lockdir("priv/lockx/y"));

    /* And the stat flag agrees with the classifier. */
    Memdb *m = open_db(NULL, NULL);
    static const char *const dirs[] = {"priv", "priv/a", "nodes", "nodes/n1", "nodes/n1/priv", "x"};
    mkdirs(m, dirs, ELEMENTSOF(dirs));
    assert_int_equal(memdb_create(m, "nodes/n1/priv/f", 0, 1), 0);
    assert_int_equal(memdb_create(m, "nodes/n1/f", 0, 1), 0);
    static const char *const paths[] = {"priv",          "priv/a", "nodes",           "nodes/n1",
                                        "nodes/n1/priv", "x",      "nodes/n1/priv/f", "nodes/n1/f"};
    for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
        MemdbStat st;
        assert_int_equal(memdb_stat(m, paths[i], &st), 0);
        assert_int_equal(st.private_path, memdb_path_is_private(paths[i]));
    }
    memdb_close(m);
}

/* ---- locks ------------------------------------------------------------------------------ */

static void test_locks(void **state) {
    Fixture *f = *state;
    MemdbLimits lim = memdb_default_limits();
    assert_int_equal(lim.lock_timeout, 120);
    Memdb *m = open_db(f->db, &lim);
    fake_now = 1000;
    m->now = fake_clock;
    static const char *const dirs[] = {"priv", "priv/lock"};
    mkdirs(m, dirs, ELEMENTSOF(dirs));
    const char *l = "priv/lock/storage-local";

    /* acquire: mkdir; a second mkdir fails */
    assert_int_equal(memdb_mkdir(m, l, 1, 5000), 0);
    assert_int_equal(memdb_mkdir(m, l, 2, 5000), -EEXIST);

    /* renew: mtime >= current, same writer */
    uint64_t v = version_of(m);
    assert_int_equal(memdb_mtime(m, l, 5010, 1, 5010), 0);
    assert_int_equal(version_of(m), v + 1);
    assert_stamp(m, l, v + 1, 1, 5010);
    assert_int_equal(memdb_mtime(m, l, 5010, 1, 5011), 0);       /* equal is fine */
    assert_int_equal(memdb_mtime(m, l, 5009, 1, 5012), -EACCES); /* backwards */
    assert_int_equal(memdb_mtime(m, l, 6000, 2, 5012), -EACCES); /* other writer */
    v = version_of(m);

    /* break: only after lock_timeout of no change */
    fake_now = 1000 + 60;
    assert_int_equal(memdb_mtime(m, l, 0, 2, 5100), -EACCES);
    fake_now = 1000 + 120; /* exactly the timeout is not "more than" */
    assert_int_equal(memdb_mtime(m, l, 0, 2, 5100), -EACCES);
    assert_int_equal(version_of(m), v);
    assert_int_equal(memdb_mkdir(m, l, 2, 5100), -EEXIST); /* still held */

    /* a renew restarts the timer */
    assert_int_equal(memdb_mtime(m, l, 5200, 1, 5200), 0);
    fake_now = 1000 + 121 + 100;
    assert_int_equal(memdb_mtime(m, l, 0, 2, 5300), -EACCES);
    fake_now = 1000 + 120 + 121;
    uint64_t before = version_of(m);
    assert_int_equal(memdb_mtime(m, l, 0, 2, 5400), 0);
    assert_missing(m, l);
    assert_root(m, before + 1, 2, 5400);
    assert_disk_equals_ram(m, f->db);

    /* re-acquire after the break; release with rmdir */
    assert_int_equal(memdb_mkdir(m, l, 3, 5500), 0);
    assert_int_equal(memdb_mtime(m, l, 0, 2, 5500), -EACCES);
    assert_int_equal(memdb_delete(m, l, 3, 5501), 0);
    assert_int_equal(memdb_mkdir(m, l, 4, 5502), 0);
    /* the timer belongs to the new directory, not the old one */
    fake_now += 60;
    assert_int_equal(memdb_mtime(m, l, 0, 2, 5503), -EACCES);
    fake_now += 61;
    assert_int_equal(memdb_mtime(m, l, 0, 2, 5504), 0);
    assert_missing(m, l);

    /* a plain mtime change on a non-lock path, also backwards and by anybody */
    assert_int_equal(memdb_create(m, "priv/lock/file", 1, 1), 0);
    assert_int_equal(memdb_mtime(m, "priv/lock/file", 0, 7, 6000), 0);
    assert_stamp(m, "priv/lock/file", version_of(m), 7, 0);
    assert_int_equal(memdb_mkdir(m, "priv/notlock", 1, 1), 0);
    assert_int_equal(memdb_mtime(m, "priv/notlock", 0, 7, 6001), 0);
    assert_stamp(m, "priv/notlock", version_of(m), 7, 0);
    memdb_close(m);
}

static void test_locks_reload(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    static const char *const dirs[] = {"priv", "priv/lock", "priv/lock/a"};
    mkdirs(m, dirs, ELEMENTSOF(dirs));
    memdb_close(m);

    /* After a restart the lock exists and its timer starts again at load. */
    m = open_db(f->db, NULL);
    assert_int_equal(memdb_mkdir(m, "priv/lock/a", 1, 1), -EEXIST);
    assert_int_equal(memdb_mtime(m, "priv/lock/a", 0, 1, 2), -EACCES);
    assert_int_equal(memdb_rename(m, "priv/lock/a", "priv/lock/b", 0, 2), -EACCES);
    uint64_t loaded = m->now();
    fake_now = loaded + 121;
    m->now = fake_clock;
    assert_int_equal(memdb_mtime(m, "priv/lock/a", 0, 1, 3), 0);
    assert_missing(m, "priv/lock/a");
    memdb_close(m);
}

/* ---- database failures ------------------------------------------------------------------ */

typedef int (*MutationFn)(Memdb *m);

static int op_create(Memdb *m) {
    return memdb_create(m, "d/new", 1, 100);
}
static int op_mkdir(Memdb *m) {
    return memdb_mkdir(m, "d/newdir", 1, 100);
}
static int op_write(Memdb *m) {
    return memdb_write(m, "d/f", 2, "WRITE", 5, false, 1, 100);
}
static int op_write_trunc(Memdb *m) {
    return memdb_write(m, "d/f", 0, "W", 1, true, 1, 100);
}
static int op_truncate(Memdb *m) {
    return memdb_truncate(m, "d/f", 2, 1, 100);
}
static int op_unlink(Memdb *m) {
    return memdb_delete(m, "d/f", 1, 100);
}
static int op_rmdir(Memdb *m) {
    return memdb_delete(m, "empty", 1, 100);
}
static int op_rename(Memdb *m) {
    return memdb_rename(m, "d/f", "d/g", 1, 100);
}
static int op_rename_replace(Memdb *m) {
    return memdb_rename(m, "d/f", "other", 1, 100);
}
static int op_rename_dir_replace(Memdb *m) {
    return memdb_rename(m, "empty", "empty2", 1, 100);
}
static int op_rename_vm(Memdb *m) {
    return memdb_rename(m, "nodes/A/qemu-server/100.conf", "nodes/B/qemu-server/100.conf", 1, 100);
}
static int op_create_vm(Memdb *m) {
    return memdb_create(m, "nodes/A/lxc/101.conf", 1, 100);
}
static int op_delete_vm(Memdb *m) {
    return memdb_delete(m, "nodes/A/qemu-server/100.conf", 1, 100);
}
static int op_mtime(Memdb *m) {
    return memdb_mtime(m, "d/f", 42, 1, 100);
}
static int op_lock_acquire(Memdb *m) {
    return memdb_mkdir(m, "priv/lock/new", 1, 100);
}
static int op_lock_renew(Memdb *m) {
    return memdb_mtime(m, "priv/lock/held", 500, 0, 100);
}
static int op_lock_break(Memdb *m) {
    fake_now = 100000;
    return memdb_mtime(m, "priv/lock/held", 0, 1, 100);
}
static int op_lock_release(Memdb *m) {
    return memdb_delete(m, "priv/lock/held", 1, 100);
}

static void failure_fixture(Memdb *m) {
    static const char *const dirs[] = {"d",           "empty",     "empty2",
                                       "priv",        "priv/lock", "priv/lock/held",
                                       "nodes",       "nodes/A",   "nodes/A/qemu-server",
                                       "nodes/A/lxc", "nodes/B",   "nodes/B/qemu-server"};
    mkdirs(m, dirs, ELEMENTSOF(dirs));
    put_file(m, "d/f", "0123456789", 1);
    put_file(m, "other", "other", 1);
    put_file(m, "nodes/A/qemu-server/100.conf", "cores: 1\n", 1);
}

static void test_db_failures(void **state) {
    Fixture *f = *state;
    static const struct {
        const char *name;
        MutationFn fn;
    } ops[] = {
        {"create", op_create},
        {"mkdir", op_mkdir},
        {"write", op_write},
        {"write+truncate", op_write_trunc},
        {"truncate", op_truncate},
        {"unlink", op_unlink},
        {"rmdir", op_rmdir},
        {"rename", op_rename},
        {"rename onto file", op_rename_replace},
        {"rename dir onto empty dir", op_rename_dir_replace},
        {"rename VM config (migration)", op_rename_vm},
        {"create VM config", op_create_vm},
        {"delete VM config", op_delete_vm},
        {"mtime", op_mtime},
        {"lock acquire", op_lock_acquire},
        {"lock renew", op_lock_renew},
        {"lock break", op_lock_break},
        {"lock release", op_lock_release},
    };

    for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/fail%zu.db", f->dir, i);
        Memdb *m = open_db(path, NULL);
        fake_now = 0;
        m->now = fake_clock; /* the held lock's timer starts at 0, the break runs at 100000 */
        failure_fixture(m);
        unsigned failures = 0;
        for (unsigned n = 1;; n++) {
            char *before = dump(m);
            MemdbVm *vms = NULL;
            size_t nvm;
            uint32_t vmver, vmver2;
            assert_int_equal(memdb_vmlist(m, &vms, &nvm, &vmver), 0);
            free(vms);

            memdb_inject_failure(m, n);
            int r = ops[i].fn(m);
            memdb_inject_failure(m, 0);
            if (r == -EIO) {
                failures++;
                char *after = dump(m);
                if (!streq(after, before))
                    print_error("%s: RAM changed by a failed statement %u\n", ops[i].name, n);
                assert_string_equal(after, before);
                assert_int_equal(memdb_vmlist(m, &vms, &nvm, &vmver2), 0);
                free(vms);
                assert_int_equal(vmver2, vmver);
                free(after);
                assert_disk_equals_ram(m, path);
                free(before);
                continue;
            }
            if (r < 0)
                print_error("%s: %s\n", ops[i].name, strerror(-r));
            assert_true(r >= 0);
            /* The failure point was past the last statement: the op went through. */
            char *after = dump(m);
            assert_string_not_equal(after, before);
            free(after);
            free(before);
            assert_disk_equals_ram(m, path);
            break;
        }
        /* the operation log append is the one persistence step of an operation */
        if (failures < 1)
            print_error("%s: no failure point\n", ops[i].name);
        assert_true(failures >= 1);
        memdb_close(m);
    }
}

/* A failed operation leaves memdb fully usable (no sticky error state). */
static void test_db_failure_then_success(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    memdb_inject_failure(m, 1);
    assert_int_equal(memdb_create(m, "a", 0, 1), -EIO);
    assert_missing(m, "a");
    assert_int_equal(memdb_create(m, "a", 0, 1), 0);
    assert_int_equal(inode_of(m, "a"), 2); /* the failed attempt used no version */
    assert_disk_equals_ram(m, f->db);
    memdb_close(m);
}

/* ---- crash recovery --------------------------------------------------------------------- */

static void assert_crash_image(Fixture *f, Memdb *m, const char *tag) {
    char dir[128], db[160];
    snprintf(dir, sizeof dir, "%s/crash-%s", f->dir, tag);
    snprintf(db, sizeof db, "%s/config.db", dir);
    snapshot_crash(f, dir);
    /* Open the crash image itself: replaying its log brings its config.db up to date. */
    Memdb *r = open_db(db, NULL);
    char *ram = dump(m), *disk = dump(r);
    memdb_close(r);
    if (!streq(ram, disk))
        print_error("after %s:\nRAM:\n%s\nrecovered:\n%s\n", tag, ram, disk);
    assert_string_equal(disk, ram);
    free(ram);
    free(disk);
    /* The recovered database now carries the exact version in its __version__ row. */
    assert_int_equal(sql_int(db, "SELECT version FROM tree WHERE inode=0"), version_of(m));
}

static void test_crash_version_repair(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);

    assert_int_equal(memdb_mkdir(m, "d", 3, 100), 0);
    assert_crash_image(f, m, "mkdir");
    put_file(m, "d/f", "hello", 101);
    assert_crash_image(f, m, "write");
    assert_int_equal(memdb_create(m, "d/g", 4, 102), 0);
    assert_int_equal(memdb_delete(m, "d/g", 5, 103), 0); /* the latest row is gone */
    assert_crash_image(f, m, "delete");
    assert_int_equal(memdb_rename(m, "d/f", "f", 6, 104), 0);
    assert_crash_image(f, m, "rename");
    assert_int_equal(memdb_truncate(m, "f", 2, 7, 105), 0);
    assert_crash_image(f, m, "truncate");
    assert_int_equal(memdb_mtime(m, "f", 50, 8, 106), 0); /* entry mtime != op time */
    assert_crash_image(f, m, "mtime");
    static const char *const dirs[] = {"priv", "priv/lock", "priv/lock/x"};
    for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
        assert_int_equal(memdb_mkdir(m, dirs[i], 9, 107), 0);
    assert_int_equal(memdb_mtime(m, "priv/lock/x", 200, 10, 108), -EACCES); /* other writer */
    assert_int_equal(memdb_mtime(m, "priv/lock/x", 300, 9, 109), 0);        /* renew */
    assert_crash_image(f, m, "lock-renew");
    assert_int_equal(memdb_rename(m, "f", "d/f", 11, 110), 0);
    assert_int_equal(memdb_delete(m, "d/f", 12, 111), 0);
    assert_int_equal(memdb_delete(m, "d", 13, 112), 0);
    assert_crash_image(f, m, "rmdir");
    memdb_close(m);

    /* The __version__ row lost or stale: the loader restores the highest version. */
    m = open_db(f->db, NULL);
    uint64_t v = version_of(m);
    put_file(m, "z", "z", 200);
    uint64_t v2 = version_of(m);
    assert_true(v2 > v);
    memdb_close(m);
    sql_exec(f->db, "DELETE FROM tree WHERE inode=0");
    m = open_db(f->db, NULL);
    assert_int_equal(version_of(m), v2);
    memdb_close(m);
    assert_int_equal(sql_int(f->db, "SELECT version FROM tree WHERE inode=0"), v2);
    sql_exec(f->db, "UPDATE tree SET version=1 WHERE inode=0");
    m = open_db(f->db, NULL);
    assert_int_equal(version_of(m), v2);
    assert_int_equal(memdb_create(m, "after", 0, 1), 0);
    assert_int_equal(inode_of(m, "after"), v2 + 1); /* no inode reuse after the repair */
    memdb_close(m);
}

/* Recovery as in the docs: copy config.db (after a clean stop) to a fresh place and open it. */
static void test_recovery_copy(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    failure_fixture(m);
    put_file(m, "binary", "\x01\x00\x02", 1);
    assert_int_equal(memdb_write(m, "binary", 0, "\x00\xff\x00", 3, false, 0, 1), 3);
    char *before = dump(m);
    memdb_close(m);

    char dir[128], db[160], wal[170];
    snprintf(dir, sizeof dir, "%s/restore", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(db, sizeof db, "%s/config.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", f->db);
    assert_int_equal(access(wal, F_OK), -1); /* a clean close leaves no WAL behind */
    copy_file(f->db, db);
    m = open_db(db, NULL);
    char *after = dump(m);
    assert_string_equal(after, before);
    free(before);
    free(after);
    assert_int_equal(memdb_create(m, "more", 0, 1), 0);
    memdb_close(m);
}

/* ---- strict loader ---------------------------------------------------------------------- */

static void expect_load_failure(const Fixture *f, const char *sql, const char *why_substr) {
    char db[160];
    static unsigned n;
    snprintf(db, sizeof db, "%s/bad%u.db", f->dir, n++);
    Memdb *m = open_db(db, NULL);                           /* schema + __version__ */
    assert_int_equal(memdb_mkdir(m, "dir", 0, 1), 0);       /* inode 2 */
    assert_int_equal(memdb_create(m, "dir/file", 0, 1), 0); /* inode 3 */
    memdb_close(m);
    sql_exec(db, sql);

    Memdb *bad = NULL;
    int r = memdb_open(db, NULL, &bad);
    if (r >= 0)
        print_error("loaded despite: %s\n", sql);
    assert_true(r < 0);
    assert_null(bad);
    const char *why = NULL;
    uint64_t inode = 0;
    assert_int_equal(memdb_open_error(&why, &inode), 0);
    if (!strstr(why, why_substr))
        print_error("'%s': got '%s', want '%s'\n", sql, why, why_substr);
    assert_non_null(strstr(why, why_substr));
}

static void test_loader_strict(void **state) {
    Fixture *f = *state;
    expect_load_failure(
        f, "INSERT INTO tree VALUES (10, 2, 10, 0, 1, 8, 'file', NULL)", "duplicate"
    );
    expect_load_failure(
        f, "INSERT INTO tree VALUES (10, 0, 10, 0, 1, 4, 'dir', NULL)", "duplicate"
    );
    expect_load_failure(
        f, "INSERT INTO tree VALUES (10, 99, 10, 0, 1, 8, 'orphan', NULL)", "missing directory"
    );
    expect_load_failure(
        f, "INSERT INTO tree VALUES (10, 0, 10, 0, 1, 4, 'd2', x'00')", "directory with data"
    );
    expect_load_failure(f, "UPDATE tree SET name='__root__' WHERE inode=0", "wrong name");
    expect_load_failure(f, "INSERT INTO tree VALUES (10, 0, 10, 0, 1, 8, '', NULL)", "name");
    expect_load_failure(f, "INSERT INTO tree VALUES (10, 0, 10, 0, 1, 6, 'x', NULL)", "type");
    expect_load_failure(
        f, "INSERT INTO tree VALUES (10, 3, 10, 0, 1, 8, 'x', NULL)", "not a directory"
    );
}

/* ---- change notifications --------------------------------------------------------------- */

typedef struct Changes {
    char log[1024];
} Changes;

static void on_change(void *userdata, const char *path) {
    Changes *c = userdata;
    size_t l = strlen(c->log);
    snprintf(c->log + l, sizeof c->log - l, "%s;", path);
}

static void test_change_callback(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    Changes c = {{0}};
    memdb_set_change_callback(m, on_change, &c);
    assert_int_equal(memdb_mkdir(m, "d", 0, 1), 0);
    assert_int_equal(memdb_create(m, "d/f", 0, 1), 0);
    assert_int_equal(memdb_write(m, "d/f", 0, "x", 1, false, 0, 1), 1);
    assert_int_equal(memdb_create(m, "d/f", 0, 1), -EEXIST);
    memdb_inject_failure(m, 1);
    assert_int_equal(memdb_write(m, "d/f", 0, "y", 1, false, 0, 1), -EIO);
    assert_int_equal(memdb_rename(m, "d/f", "g", 0, 1), 0);
    assert_int_equal(memdb_delete(m, "g", 0, 1), 0);
    assert_string_equal(c.log, "d;d/f;d/f;d/f;g;g;");
    memdb_set_change_callback(m, NULL, NULL);
    memdb_close(m);
}

/* A checkpoint that cannot write config.db loses nothing: the log keeps every operation, the
 * next checkpoint catches up, and a crash in between recovers from the log. */
static void test_checkpoint_failure(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    put_file(m, "a", "one", 1);
    database_inject_failure(m->db, 2); /* the first row statement of the checkpoint */
    assert_true(memdb_sync_version(m) < 0);
    assert_true(m->dirty_ops > 0);
    put_file(m, "b", "two", 2);
    assert_int_equal(memdb_rename(m, "a", "c", 0, 3), 0);
    assert_disk_equals_ram(m, f->db); /* recovered from config.db + log */
    assert_int_equal(memdb_sync_version(m), 0);
    assert_int_equal(m->dirty_ops, 0);
    struct stat st;
    char log[300];
    snprintf(log, sizeof log, "%s-oplog", f->db);
    assert_int_equal(stat(log, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM tree WHERE name IN ('b', 'c')"), 2);
    assert_disk_equals_ram(m, f->db);
    memdb_close(m);
}

/* A crash in the middle of a log append leaves a torn group: it is dropped, the rest kept. */
static void test_torn_log_tail(void **state) {
    Fixture *f = *state;
    Memdb *m = open_db(f->db, NULL);
    assert_int_equal(memdb_sync_version(m), 0);
    put_file(m, "kept", "data", 1);
    char dir[300], db[350], log[350];
    snprintf(dir, sizeof dir, "%s/torn", f->dir);
    snprintf(db, sizeof db, "%s/config.db", dir);
    snprintf(log, sizeof log, "%s/config.db-oplog", dir);
    snapshot_crash(f, dir);
    char *ram = dump(m);
    memdb_close(m);

    struct stat st;
    assert_int_equal(stat(log, &st), 0);
    assert_true(st.st_size > 0);
    /* Append the start of a copy of the first group: a header promising more than follows. */
    char buf[4096];
    int fd = open(log, O_RDWR);
    assert_true(fd >= 0);
    ssize_t n = pread(fd, buf, MIN(sizeof buf, (size_t) st.st_size), 0);
    assert_true(n > 20);
    assert_int_equal(pwrite(fd, buf, 20, st.st_size), 20);
    close(fd);

    m = open_db(db, NULL);
    char *disk = dump(m);
    assert_string_equal(disk, ram);
    memdb_close(m);
    free(ram);
    free(disk);
    assert_int_equal(stat(log, &st), 0);
    assert_int_equal(st.st_size, 0); /* replayed into config.db and emptied */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_log_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_errnos, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_file_renames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_dir_renames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test(test_ram_only),
        cmocka_unit_test_setup_teardown(test_file_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_total_and_inode_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_dir_onto_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vmid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vmid_duplicates_in_db, setup, teardown),
        cmocka_unit_test(test_path_classifiers),
        cmocka_unit_test_setup_teardown(test_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locks_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_failure_then_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_version_repair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader_strict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_callback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
