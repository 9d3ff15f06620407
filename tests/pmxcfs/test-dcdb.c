/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the replication core without corosync: dcdb message encoding, and a sync
 * round between two memdbs done by hand (index, missing entries as UPDATE payloads,
 * memdb_replace), including the refusal of updates that do not produce the leader's index.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dcdb.h"
#include "memdb.h"
#include "pve/hashmap.h"

static char tmpdir[64];

static int setup(void **state) {
    (void) state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test-dcdb.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void) state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static Memdb *open_named(const char *name) {
    char path[128];
    Memdb *m = NULL;
    snprintf(path, sizeof path, "%s/%s.db", tmpdir, name);
    assert_int_equal(memdb_open(path, NULL, &m), 0);
    return m;
}

static void roundtrip(const MemdbOp *op) {
    void *buf = NULL;
    size_t len = 0;
    MemdbOp got;
    assert_int_equal(dcdb_encode_op(op, &buf, &len), 0);
    assert_int_equal(((const char *) buf)[20], '/'); /* paths travel with a leading slash */
    assert_int_equal(dcdb_decode_op((uint16_t) op->type, buf, len, &got), 0);
    assert_string_equal(got.path, op->path);
    if (op->to)
        assert_string_equal(got.to, op->to);
    else
        assert_null(got.to);
    assert_int_equal(got.offset, op->offset);
    assert_int_equal(got.size, op->size);
    assert_int_equal(got.flags, op->flags);
    if (op->size)
        assert_memory_equal(got.data, op->data, op->size);
    /* Every truncation of the message is refused. */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(dcdb_decode_op((uint16_t) op->type, buf, cut, &got), -EBADMSG);
    free(buf);
}

static void test_messages(void **state) {
    (void) state;
    roundtrip(&(MemdbOp
    ){.type = MEMDB_OP_WRITE,
      .path = "nodes/a/qemu-server/100.conf",
      .data = "memory: 512\n",
      .size = 12,
      .offset = 3});
    roundtrip(&(MemdbOp
    ){.type = MEMDB_OP_WRITE, .path = "f", .offset = 7, .flags = MEMDB_OP_TRUNCATE});
    roundtrip(&(MemdbOp){.type = MEMDB_OP_MKDIR, .path = "priv/lock/x"});
    roundtrip(&(MemdbOp){.type = MEMDB_OP_DELETE, .path = "x"});
    roundtrip(&(MemdbOp){.type = MEMDB_OP_RENAME, .path = "a.tmp", .to = "a"});
    roundtrip(&(MemdbOp){.type = MEMDB_OP_CREATE, .path = "user.cfg"});
    roundtrip(&(MemdbOp){.type = MEMDB_OP_MTIME, .path = "priv/lock/x", .offset = 1700000000});

    /* Malformed: unknown type, rename without target, inner NUL, missing NUL. */
    MemdbOp got;
    char msg[64] = {0};
    uint32_t hdr[5] = {0, 0, 3, 0, 0};
    memcpy(msg, hdr, sizeof hdr);
    memcpy(msg + 20, "/a", 3);
    assert_int_equal(dcdb_decode_op(5, msg, 23, &got), 0);
    assert_string_equal(got.path, "a");
    assert_int_equal(dcdb_decode_op(9, msg, 23, &got), -EBADMSG);
    assert_int_equal(dcdb_decode_op(0, msg, 23, &got), -EBADMSG);
    assert_int_equal(dcdb_decode_op(4, msg, 23, &got), -EBADMSG);
    memcpy(msg + 20, "/\0a", 3);
    assert_int_equal(dcdb_decode_op(5, msg, 23, &got), -EBADMSG);
    memcpy(msg + 20, "/ab", 3);
    assert_int_equal(dcdb_decode_op(5, msg, 23, &got), -EBADMSG);
}

static void put(Memdb *m, const char *path, const char *data, uint32_t writer, uint32_t t) {
    assert_int_equal(memdb_create(m, path, writer, t), 0);
    assert_int_equal(
        memdb_write(m, path, 0, data, strlen(data), false, writer, t), (int) strlen(data)
    );
}

/* Changes since the fork: what the leader would send for a member whose index is `mine`. */
static size_t collect_updates(
    Memdb *leader,
    const void *lidx,
    size_t llen,
    const void *midx,
    size_t mlen,
    DatabaseRow *rows,
    void **bufs
) {
    MemdbIndexHeader lh, mh;
    const uint8_t *le, *me;
    assert_int_equal(memdb_index_parse(lidx, llen, &lh, &le), 0);
    assert_int_equal(memdb_index_parse(midx, mlen, &mh, &me), 0);
    size_t n = 0;
    for (uint32_t i = 0; i < lh.count; i++) {
        const uint8_t *e = le + (size_t) i * MEMDB_INDEX_ENTRY_SIZE;
        bool found = false;
        for (uint32_t j = 0; j < mh.count && !found; j++)
            found =
                memcmp(e, me + (size_t) j * MEMDB_INDEX_ENTRY_SIZE, MEMDB_INDEX_ENTRY_SIZE) == 0;
        if (found)
            continue;
        uint64_t inode;
        size_t plen;
        memcpy(&inode, e, 8);
        assert_int_equal(memdb_encode_entry(leader, inode, &bufs[n], &plen), 0);
        assert_int_equal(memdb_decode_entry(bufs[n], plen, &rows[n]), 0);
        n++;
    }
    return n;
}

typedef struct Seen {
    char log[2048];
} Seen;

static void on_changed(void *userdata, const char *path) {
    Seen *s = userdata;
    size_t l = strlen(s->log);
    snprintf(s->log + l, sizeof s->log - l, "%s;", path);
}

static void test_sync_round(void **state) {
    (void) state;
    Memdb *a = open_named("a"), *b = open_named("b");
    /* Common history, applied to both in the same order with the same stamps. */
    for (int i = 0; i < 2; i++) {
        Memdb *m = i ? b : a;
        assert_int_equal(memdb_mkdir(m, "nodes", 1, 100), 0);
        assert_int_equal(memdb_mkdir(m, "nodes/n1", 1, 100), 0);
        assert_int_equal(memdb_mkdir(m, "nodes/n1/qemu-server", 1, 100), 0);
        put(m, "storage.cfg", "dir: local\n", 1, 101);
        put(m, "gone.cfg", "x", 2, 102);
    }
    /* a moves on while b is partitioned away. */
    put(a, "nodes/n1/qemu-server/100.conf", "memory: 512\n", 1, 200);
    assert_int_equal(memdb_rename(a, "storage.cfg", "storage2.cfg", 1, 201), 0);
    assert_int_equal(memdb_delete(a, "gone.cfg", 1, 202), 0);

    void *ai = NULL, *bi = NULL;
    size_t al, bl;
    assert_int_equal(memdb_encode_index(a, &ai, &al), 0);
    assert_int_equal(memdb_encode_index(b, &bi, &bl), 0);
    MemdbIndexHeader ah, bh;
    assert_int_equal(memdb_index_parse(ai, al, &ah, NULL), 0);
    assert_int_equal(memdb_index_parse(bi, bl, &bh, NULL), 0);
    assert_true(ah.version > bh.version); /* a is the leader */

    DatabaseRow rows[16];
    void *bufs[16] = {0};
    size_t n = collect_updates(a, ai, al, bi, bl, rows, bufs);
    assert_int_equal(n, 2); /* the new VM config and the renamed file */

    /* A wrong update set must be refused without touching b. */
    void *before = NULL;
    size_t before_len;
    assert_int_equal(memdb_encode_index(b, &before, &before_len), 0);
    assert_int_equal(memdb_replace(b, ai, al, rows, 1, NULL, NULL), -EBADMSG);
    void *after = NULL;
    size_t after_len;
    assert_int_equal(memdb_encode_index(b, &after, &after_len), 0);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    free(after);
    free(before);

    Seen seen = {{0}};
    assert_int_equal(memdb_replace(b, ai, al, rows, n, on_changed, &seen), 0);
    assert_non_null(strstr(seen.log, "gone.cfg;"));
    assert_non_null(strstr(seen.log, "storage.cfg;"));
    assert_non_null(strstr(seen.log, "storage2.cfg;"));
    assert_non_null(strstr(seen.log, "nodes/n1/qemu-server/100.conf;"));

    void *bi2 = NULL;
    size_t bl2;
    assert_int_equal(memdb_encode_index(b, &bi2, &bl2), 0);
    assert_int_equal(bl2, al);
    assert_memory_equal(bi2, ai, al);
    char *data = NULL;
    assert_int_equal(memdb_read_all(b, "nodes/n1/qemu-server/100.conf", &data, NULL), 0);
    assert_string_equal(data, "memory: 512\n");
    free(data);
    MemdbVm *vms = NULL;
    size_t nvm = 0;
    assert_int_equal(memdb_vmlist(b, &vms, &nvm, NULL), 0);
    assert_int_equal(nvm, 1);
    assert_int_equal(vms[0].vmid, 100);
    free(vms);

    /* The adopted tree survives a restart of b. */
    memdb_close(b);
    b = open_named("b");
    void *bi3 = NULL;
    size_t bl3;
    assert_int_equal(memdb_encode_index(b, &bi3, &bl3), 0);
    assert_int_equal(bl3, al);
    assert_memory_equal(bi3, ai, al);

    uint8_t ca[32], cb[32];
    assert_int_equal(memdb_checksum(a, ca), 0);
    assert_int_equal(memdb_checksum(b, cb), 0);
    assert_memory_equal(ca, cb, 32);

    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(ai);
    free(bi);
    free(bi2);
    free(bi3);
    memdb_close(a);
    memdb_close(b);
}

static void test_cluster_locks(void **state) {
    (void) state;
    Memdb *m = open_named("locks");
    assert_int_equal(memdb_mkdir(m, "priv", 0, 1), 0);
    assert_int_equal(memdb_mkdir(m, "priv/lock", 0, 1), 0);
    assert_int_equal(memdb_mkdir(m, "priv/lock/x", 3, 1), 0);
    memdb_set_cluster_locks(m, true);
    /* utime(0) is only a request in cluster mode, whatever the age */
    assert_int_equal(memdb_mtime(m, "priv/lock/x", 0, 3, 2), -EACCES);
    uint8_t csum[32], other[32];
    assert_int_equal(memdb_lock_digest(m, "priv/lock/x", csum), 0);
    assert_int_equal(memdb_lock_expired(m, "priv/lock/x", csum), 0); /* fresh */
    memset(other, 0, sizeof other);
    assert_int_equal(memdb_unlock(m, "priv/lock/x", other, 1, 3), -ESTALE);
    /* a renew changes the identity: the old digest no longer unlocks */
    assert_int_equal(memdb_mtime(m, "priv/lock/x", 5, 3, 4), 0);
    assert_int_equal(memdb_unlock(m, "priv/lock/x", csum, 1, 5), -ESTALE);
    assert_int_equal(memdb_lock_digest(m, "priv/lock/x", csum), 0);
    assert_int_equal(memdb_unlock(m, "priv/lock/x", csum, 1, 6), 0);
    MemdbStat st;
    assert_int_equal(memdb_stat(m, "priv/lock/x", &st), -ENOENT);
    assert_int_equal(memdb_lock_digest(m, "priv/lock/x", csum), -ENOENT);
    memdb_close(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),
        cmocka_unit_test_setup_teardown(test_sync_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_locks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
