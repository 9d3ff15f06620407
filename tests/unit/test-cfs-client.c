/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the pure parts of the pmxcfs client helpers: lock-id naming, the IPC payload
 * encoders and response checks (cfs-ipc), and cfs-file's read/write/lock loop on a plain
 * directory standing in for /etc/pve (no pmxcfs, no FUSE; tests/pmxcfs/test-ipc.c covers the
 * real mount).
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"

/* ---- lock ids ------------------------------------------------------------------------------ */

static void check_file_id(const char *path, const char *expect) {
    char *id = NULL;
    assert_int_equal(cfs_lock_id_file(path, &id), 0);
    assert_string_equal(id, expect);
    free(id);
}

static void test_lock_id_file(void **state) {
    (void) state;
    char *id = NULL;
    check_file_id("storage.cfg", "file-storage_cfg");
    check_file_id("priv/shadow.cfg", "file-priv_shadow_cfg");
    check_file_id("nodes/n1/qemu-server/100.conf", "file-nodes_n1_qemu-server_100_conf");
    check_file_id("ha/resources.cfg", "file-ha_resources_cfg");
    check_file_id("sdn/.running-config", "file-sdn__running-config");
    assert_int_equal(cfs_lock_id_file("/etc/pve/storage.cfg", &id), -EINVAL);
    assert_int_equal(cfs_lock_id_file("", &id), -EINVAL);
    assert_int_equal(cfs_lock_id_file(NULL, &id), -EINVAL);
    assert_null(id);
}

static void test_lock_id(void **state) {
    (void) state;
    char *id = NULL;
    char longname[300];

    assert_int_equal(cfs_lock_id("storage", "local-lvm", &id), 0);
    assert_string_equal(id, "storage-local-lvm");
    free(id);
    assert_int_equal(cfs_lock_id("domain", "pve", &id), 0);
    assert_string_equal(id, "domain-pve");
    free(id);
    assert_int_equal(cfs_lock_id("acme", "default", &id), 0);
    assert_string_equal(id, "acme-default");
    free(id);
    id = NULL;
    assert_int_equal(cfs_lock_id("storage", "../x", &id), -EINVAL);
    assert_int_equal(cfs_lock_id("storage", "", &id), -EINVAL);
    assert_int_equal(cfs_lock_id("", "x", &id), -EINVAL);
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(cfs_lock_id("storage", longname, &id), -EINVAL);
    assert_null(id);
}

static void check_message(const char *id, int err, const char *expect) {
    char *m = NULL;
    assert_int_equal(cfs_lock_error_message(id, err, &m), 0);
    assert_string_equal(m, expect);
    free(m);
}

static void test_lock_error_message(void **state) {
    (void) state;
    check_message(
        "file-user_cfg", -ETIMEDOUT, "cfs-lock 'file-user_cfg' error: got lock request timeout"
    );
    check_message("storage-x", -EACCES, "cfs-lock 'storage-x' error: no quorum!");
    check_message(
        "authkey", -ENOTCONN, "cfs-lock 'authkey' error: pve cluster filesystem not online."
    );
    check_message("domain-pve", -ETIME, "'domain-pve'-locked command timed out - aborting");
    check_message("x", ENOSPC, "cfs-lock 'x' error: No space left on device");
}

/* ---- encoders ------------------------------------------------------------------------------ */

static void test_encode_set_status(void **state) {
    (void) state;
    uint8_t *p = NULL;
    size_t n = 0;
    char name[300];

    assert_int_equal(cfs_ipc_encode_set_status("kv/foo", "abc", 3, (void **) &p, &n), 0);
    assert_int_equal(n, 259);
    assert_memory_equal(p, "kv/foo", 7);
    for (size_t i = 6; i < 256; i++)
        assert_int_equal(p[i], 0);
    assert_memory_equal(p + 256, "abc", 3);
    free(p);

    assert_int_equal(cfs_ipc_encode_set_status("kv/empty", NULL, 0, (void **) &p, &n), 0);
    assert_int_equal(n, 256);
    free(p);

    memset(name, 'k', 256);
    name[255] = '\0'; /* 255 characters + NUL fill the field exactly */
    assert_int_equal(cfs_ipc_encode_set_status(name, "x", 1, (void **) &p, &n), 0);
    assert_int_equal(p[255], 0);
    free(p);
    name[255] = 'k';
    name[256] = '\0';
    p = NULL;
    assert_int_equal(cfs_ipc_encode_set_status(name, "x", 1, (void **) &p, &n), -ENAMETOOLONG);
    assert_int_equal(cfs_ipc_encode_set_status("", "x", 1, (void **) &p, &n), -EINVAL);
    assert_int_equal(cfs_ipc_encode_set_status("kv/x", NULL, 1, (void **) &p, &n), -EINVAL);
    assert_int_equal(
        cfs_ipc_encode_set_status("kv/x", "x", CFS_IPC_MAX_PAYLOAD, (void **) &p, &n), -E2BIG
    );
    assert_null(p);
}

static void test_encode_get_status(void **state) {
    (void) state;
    uint8_t *p = NULL;
    size_t n = 0;

    assert_int_equal(cfs_ipc_encode_get_status("rrd/x", "node1", (void **) &p, &n), 0);
    assert_int_equal(n, 512);
    assert_string_equal((char *) p, "rrd/x");
    assert_string_equal((char *) p + 256, "node1");
    assert_int_equal(p[511], 0);
    free(p);
    assert_int_equal(cfs_ipc_encode_get_status("kv/x", NULL, (void **) &p, &n), 0);
    for (size_t i = 256; i < 512; i++)
        assert_int_equal(p[i], 0);
    free(p);
}

static void test_encode_log(void **state) {
    (void) state;
    uint8_t *p = NULL;
    size_t n = 0;
    char big[400];

    assert_int_equal(cfs_ipc_encode_log(6, "root@pam", "tag1", "hello", (void **) &p, &n), 0);
    static const uint8_t expect[] =
        "\x06\x09\x05"
        "root@pam\0"
        "tag1\0"
        "hello"; /* + the literal's NUL */
    assert_int_equal(n, sizeof expect);
    assert_memory_equal(p, expect, sizeof expect);
    free(p);

    memset(big, 'i', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(cfs_ipc_encode_log(3, big, big, "m", (void **) &p, &n), 0);
    assert_int_equal(p[1], 255); /* cut to 254 characters + NUL */
    assert_int_equal(p[2], 255);
    assert_int_equal(p[3 + 254], 0);
    assert_int_equal(p[3 + 255 + 254], 0);
    assert_int_equal(n, 3 + 255 + 255 + 2);
    free(p);
    p = NULL;
    assert_int_equal(cfs_ipc_encode_log(8, "a", "b", "c", (void **) &p, &n), -EINVAL);
    assert_int_equal(cfs_ipc_encode_log(-1, "a", "b", "c", (void **) &p, &n), -EINVAL);
    assert_int_equal(cfs_ipc_encode_log(1, NULL, "b", "c", (void **) &p, &n), -EINVAL);
    assert_null(p);
}

static void test_encode_cluster_log(void **state) {
    (void) state;
    uint8_t *p = NULL;
    size_t n = 0;
    uint32_t max;

    assert_int_equal(cfs_ipc_encode_get_cluster_log(77, "root@pam", (void **) &p, &n), 0);
    assert_int_equal(n, 16 + 9);
    memcpy(&max, p, 4);
    assert_int_equal(max, 77);
    for (size_t i = 4; i < 16; i++)
        assert_int_equal(p[i], 0);
    assert_string_equal((char *) p + 16, "root@pam");
    free(p);
    assert_int_equal(cfs_ipc_encode_get_cluster_log(0, NULL, (void **) &p, &n), 0);
    assert_int_equal(n, 17);
    assert_int_equal(p[16], 0);
    free(p);
}

static void test_encode_guest_properties(void **state) {
    (void) state;
    uint8_t *p = NULL;
    size_t n = 0;
    uint32_t vmid;
    const char *props[] = {"name", "lock", "tags"};
    const char *bad[] = {"name", "Lock"};
    const char *many[256];

    assert_int_equal(cfs_ipc_encode_guest_config_property(100, "name", (void **) &p, &n), 0);
    assert_int_equal(n, 9);
    memcpy(&vmid, p, 4);
    assert_int_equal(vmid, 100);
    assert_string_equal((char *) p + 4, "name");
    free(p);

    assert_int_equal(cfs_ipc_encode_guest_config_properties(0, props, 3, (void **) &p, &n), 0);
    assert_int_equal(n, 5 + 5 + 5 + 5);
    assert_int_equal(p[4], 3);
    assert_memory_equal(p + 5, "name\0lock\0tags\0", 15);
    free(p);

    p = NULL;
    assert_int_equal(cfs_ipc_encode_guest_config_properties(0, bad, 2, (void **) &p, &n), -EINVAL);
    assert_int_equal(
        cfs_ipc_encode_guest_config_properties(0, props, 0, (void **) &p, &n), -EINVAL
    );
    for (size_t i = 0; i < 256; i++)
        many[i] = "a";
    assert_int_equal(
        cfs_ipc_encode_guest_config_properties(0, many, 256, (void **) &p, &n), -EINVAL
    );
    assert_int_equal(cfs_ipc_encode_guest_config_properties(0, many, 255, (void **) &p, &n), 0);
    assert_int_equal(p[4], 255);
    assert_int_equal(n, 5 + 2 * 255);
    free(p);
    p = NULL;
    assert_int_equal(cfs_ipc_encode_guest_config_property(100, "", (void **) &p, &n), -EINVAL);
    assert_null(p);
}

static void test_encode_token_and_string(void **state) {
    (void) state;
    uint8_t *p = NULL;
    size_t n = 0;

    assert_int_equal(cfs_ipc_encode_verify_token("root@pam!t s3cret", (void **) &p, &n), 0);
    assert_int_equal(n, 18);
    assert_string_equal((char *) p, "root@pam!t s3cret");
    free(p);
    p = NULL;
    assert_int_equal(cfs_ipc_encode_verify_token("a\nb", (void **) &p, &n), -EINVAL);
    assert_int_equal(cfs_ipc_encode_verify_token("", (void **) &p, &n), -EINVAL);
    assert_null(p);
    assert_int_equal(cfs_ipc_encode_string("storage.cfg", (void **) &p, &n), 0);
    assert_int_equal(n, 12);
    assert_int_equal(p[11], 0);
    free(p);
}

/* ---- responses ----------------------------------------------------------------------------- */

static size_t
make_response(uint8_t *buf, int32_t id, int32_t size, int32_t error, const char *body) {
    memset(buf, 0, 24);
    memcpy(buf, &id, 4);
    memcpy(buf + 8, &size, 4);
    memcpy(buf + 16, &error, 4);
    size_t len = body ? strlen(body) : 0;
    memcpy(buf + 24, body ? body : "", len);
    return 24 + len;
}

static void test_parse_response(void **state) {
    (void) state;
    uint8_t buf[128];
    const void *body = NULL;
    size_t len = 0, n;

    n = make_response(buf, 6, 24 + 5, 0, "hello");
    assert_int_equal(cfs_ipc_parse_response(buf, n, &body, &len), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(body, "hello", 5);

    n = make_response(buf, 6, 24, -ENOENT, NULL);
    assert_int_equal(cfs_ipc_parse_response(buf, n, &body, &len), -ENOENT);
    n = make_response(buf, 6, 24, 0, NULL);
    assert_int_equal(cfs_ipc_parse_response(buf, n, &body, &len), 0);
    assert_int_equal(len, 0);

    n = make_response(buf, 6, 24 + 9, 0, "hello");
    assert_int_equal(cfs_ipc_parse_response(buf, n, &body, &len), -EBADMSG);
    n = make_response(buf, 6, 24, 5, NULL);
    assert_int_equal(cfs_ipc_parse_response(buf, n, &body, &len), -EBADMSG);
    n = make_response(buf, 6, 24, -100000, NULL);
    assert_int_equal(cfs_ipc_parse_response(buf, n, &body, &len), -EBADMSG);
    n = make_response(buf, 6, -1, 0, NULL);
    assert_int_equal(cfs_ipc_parse_response(buf, n, &body, &len), -EBADMSG);
    assert_int_equal(cfs_ipc_parse_response(buf, 23, &body, &len), -EBADMSG);
}

static void test_call_refuses_oversized(void **state) {
    (void) state;
    /* Checked before any connection is attempted. */
    assert_int_equal(
        cfs_ipc_call(CFS_IPC_GET_CONFIG, "x", CFS_IPC_MAX_PAYLOAD + 1, NULL, NULL), -E2BIG
    );
    assert_int_equal(cfs_ipc_call(CFS_IPC_GET_CONFIG, NULL, 5, NULL, NULL), -EINVAL);
    assert_int_equal(cfs_ipc_get_config("", NULL, NULL), -EINVAL);
}

/* ---- cfs-file on a plain directory ----------------------------------------------------------- */

static char root[64];

static int setup_root(void **state) {
    (void) state;
    snprintf(root, sizeof root, "/tmp/test-cfs-client-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    setenv("PVE_CFS_MOUNTPOINT", root, 1);
    return 0;
}

static int teardown_root(void **state) {
    (void) state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static char *rp(const char *rel) {
    static char b[4][256];
    static unsigned i;
    char *p = b[i++ % 4];
    snprintf(p, sizeof b[0], "%s/%s", root, rel);
    return p;
}

static void test_file_path(void **state) {
    (void) state;
    char *p = NULL;
    assert_string_equal(cfs_file_mountpoint(), root);
    assert_int_equal(cfs_file_path("storage.cfg", &p), 0);
    assert_string_equal(p, rp("storage.cfg"));
    free(p);
    assert_int_equal(cfs_file_path("/etc/hosts", &p), 0);
    assert_string_equal(p, "/etc/hosts");
    free(p);
    assert_int_equal(cfs_file_path("", &p), -EINVAL);
}

static void test_file_write_read(void **state) {
    (void) state;
    char *s = NULL;
    size_t len = 0;

    assert_int_equal(cfs_file_write("a.cfg", "one\n", 4), 0);
    assert_int_equal(cfs_file_read("a.cfg", &s, &len), 0);
    assert_int_equal(len, 4);
    assert_string_equal(s, "one\n");
    free(s);
    assert_int_equal(cfs_file_write("a.cfg", "", 0), 0);
    assert_int_equal(cfs_file_read("a.cfg", &s, &len), 0);
    assert_int_equal(len, 0);
    assert_string_equal(s, "");
    free(s);
    s = NULL;
    assert_int_equal(cfs_file_write("missing/a.cfg", "x", 1), -ENOENT);
    assert_int_equal(cfs_file_read("absent.cfg", &s, &len), -ENOENT);
    assert_int_equal(cfs_file_read(".", &s, &len), -EISDIR);
    assert_null(s);

    /* Larger than the read cap: refused, not truncated. */
    size_t big = CFS_FILE_MAX_READ + 1;
    char *data = calloc(1, big);
    assert_non_null(data);
    assert_int_equal(cfs_file_write("big.cfg", data, big), 0);
    assert_int_equal(cfs_file_read("big.cfg", &s, &len), -EFBIG);
    assert_int_equal(cfs_file_write("big.cfg", data, big - 1), 0);
    assert_int_equal(cfs_file_read("big.cfg", &s, &len), 0);
    assert_int_equal(len, big - 1);
    free(s);
    free(data);

    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", rp("a.cfg"), (int) getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
}

typedef struct Probe {
    int calls;
    bool dir_seen;
} Probe;

static int probe(void *userdata) {
    Probe *p = userdata;
    struct stat st;
    p->calls++;
    p->dir_seen = stat(rp("priv/lock/storage-local"), &st) == 0;
    return 11;
}

static void test_lock_plain_dir(void **state) {
    (void) state;
    Probe p = {};

    /* No priv/ and no "local": not mounted, and "not quorate" by upstream's test. */
    assert_int_equal(cfs_lock_storage("local", 1, probe, &p), -EACCES);
    assert_int_equal(mkdir(rp("priv"), 0700), 0);
    assert_int_equal(symlink("nodes/x", rp("local")), 0);
    assert_int_equal(cfs_lock_storage("local", 1, probe, &p), 11);
    assert_int_equal(p.calls, 1);
    assert_true(p.dir_seen);
    assert_int_not_equal(access(rp("priv/lock/storage-local"), F_OK), 0);

    /* Held by somebody else; utime 0 does nothing on a plain directory. */
    assert_int_equal(mkdir(rp("priv/lock/storage-local"), 0755), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(cfs_lock_storage("local", 1, probe, &p), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited >= 0.95 && waited < 2.0);
    assert_int_equal(p.calls, 1);
    assert_int_equal(rmdir(rp("priv/lock/storage-local")), 0);
    assert_int_equal(cfs_lock("bad/id", 1, probe, &p), -EINVAL);
    assert_int_equal(cfs_lock("ok", 1, NULL, &p), -EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_id_file),
        cmocka_unit_test(test_lock_id),
        cmocka_unit_test(test_lock_error_message),
        cmocka_unit_test(test_encode_set_status),
        cmocka_unit_test(test_encode_get_status),
        cmocka_unit_test(test_encode_log),
        cmocka_unit_test(test_encode_cluster_log),
        cmocka_unit_test(test_encode_guest_properties),
        cmocka_unit_test(test_encode_token_and_string),
        cmocka_unit_test(test_parse_response),
        cmocka_unit_test(test_call_refuses_oversized),
        cmocka_unit_test_setup_teardown(test_file_path, setup_root, teardown_root),
        cmocka_unit_test_setup_teardown(test_file_write_read, setup_root, teardown_root),
        cmocka_unit_test_setup_teardown(test_lock_plain_dir, setup_root, teardown_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
