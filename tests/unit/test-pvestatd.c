/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for pvestatd's pure parts: the pve2-node and pve2-storage values (upstream's
 * field order, accepted by rrd-def's parser), node collection from saved /proc samples
 * (tests/data/procfs), storage selection from storage.cfg text, and the aligned tick.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include <sys/stat.h>

#include <unistd.h>

#include "pve/rrd-def.h"
#include "pvestatd.h"

static void test_format_node(void **state) {
    (void) state;
    StatdNode n = {
        .uptime = 4711,
        .sublevel = "",
        .ctime = 1700000000,
        .loadavg = "0.93",
        .maxcpu = 8,
        .cpu = 0.25,
        .iowait = 0.0012345,
        .memtotal = 8000,
        .memused = 4000,
        .swaptotal = 1000,
        .swapused = 0,
        .roottotal = 100000,
        .rootused = 5000,
        .netin = 123,
        .netout = 456,
    };
    char *v;
    assert_int_equal(statd_format_node(&n, &v), 0);
    assert_string_equal(
        v, "4711::1700000000:0.93:8:0.25:0.0012345:8000:4000:1000:0:100000:5000:123:456"
    );
    /* pmxcfs accepts it and archives the 12 node DS */
    RrdTarget t;
    char *u;
    assert_int_equal(rrd_key_parse("pve2-node/n1", &t), 0);
    assert_int_equal(rrd_value_to_update(&t, v, &u, NULL), 0);
    assert_string_equal(u, "1700000000:0.93:8:0.25:0.0012345:8000:4000:1000:0:100000:5000:123:456");
    free(u);
    rrd_target_done(&t);
    free(v);

    StatdStorage s = {.total = 1000, .used = 250};
    assert_int_equal(statd_format_storage(&s, 1700000000, &v), 0);
    assert_string_equal(v, "1700000000:1000:250");
    free(v);
}

/* A fake /proc from the saved samples. */
static void make_proc(char *dir) {
    assert_non_null(mkdtemp(dir));
    const char *data = getenv("PVE_TEST_DATA");
    char cmd[1024];
    snprintf(
        cmd, sizeof cmd,
        "d=%s/procfs; mkdir -p %s/net && cp $d/uptime %s/uptime && cp $d/loadavg %s/loadavg && "
        "cp $d/stat-x86-vm %s/stat && cp $d/meminfo-x86-vm %s/meminfo && cp $d/net-dev %s/net/dev",
        data ? data : "tests/data", dir, dir, dir, dir, dir, dir
    );
    assert_int_equal(system(cmd), 0);
}

static void rm_rf(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_collect_node(void **state) {
    (void) state;
    char dir[] = "/tmp/test-pvestatd.XXXXXX";
    make_proc(dir);
    StatdConfig c = {.nodename = "n1", .interval = 10, .proc = dir, .rootfs = "/"};
    ProcStat prev = {};
    StatdNode n;
    assert_int_equal(statd_collect_node(&c, &prev, 1700000000, &n), 0);
    assert_true(prev.valid); /* kept for the next share */
    assert_true(n.uptime > 0);
    assert_true(n.maxcpu >= 1);
    assert_true(n.cpu >= 0 && n.cpu <= 1);
    assert_true(n.iowait >= 0 && n.iowait <= 1);
    assert_true(n.memtotal > 0 && n.memused <= n.memtotal);
    assert_true(n.roottotal > 0 && n.rootused <= n.roottotal);
    assert_int_equal(n.netin, 1000000000ULL + 12345678901ULL + 500 + 10);
    assert_int_equal(n.netout, 200000000ULL + 98765432109ULL + 700 + 20);
    assert_true(n.loadavg[0] != 0);
    /* same sample again: no ticks in between -> since boot, still a share */
    assert_int_equal(statd_collect_node(&c, &prev, 1700000010, &n), 0);
    assert_true(n.cpu >= 0 && n.cpu <= 1);

    /* missing files: zeros, not a failure */
    StatdConfig empty = {.nodename = "n1", .proc = "/nonexistent", .rootfs = "/nonexistent"};
    assert_int_equal(statd_collect_node(&empty, NULL, 1700000000, &n), 0);
    assert_int_equal(n.memtotal, 0);
    assert_int_equal(n.netin, 0);
    assert_int_equal(n.roottotal, 0);
    rm_rf(dir);
}

static void test_collect_storage(void **state) {
    (void) state;
    char dir[] = "/tmp/test-pvestatd-st.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[2048];
    snprintf(
        cfg, sizeof cfg,
        "dir: local\n\tpath /var/lib/vz\n\tcontent iso\n\tdisable\n\n"
        "dir: here\n\tpath %s\n\tcontent iso\n\n"
        "dir: other\n\tpath %s\n\tcontent iso\n\tnodes n2\n\n"
        "dir: gone\n\tpath %s/missing\n\tcontent iso\n\n"
        "nfs: remote\n\tserver 10.0.0.1\n\texport /x\n\tpath /mnt/pve/remote\n\tcontent iso\n\n",
        dir, dir, dir
    );
    StatdStorage *l;
    size_t n;
    assert_int_equal(statd_collect_storage(cfg, strlen(cfg), "n1", &l, &n), 0);
    /* local disabled, other not on n1, gone inactive, nfs not implemented */
    assert_int_equal(n, 1);
    assert_string_equal(l[0].id, "here");
    assert_true(l[0].total > 0 && l[0].used <= l[0].total && l[0].avail <= l[0].total);
    statd_storage_list_free(l, n);

    assert_int_equal(statd_collect_storage(cfg, strlen(cfg), "n2", &l, &n), 0);
    assert_int_equal(n, 2); /* here and other */
    statd_storage_list_free(l, n);

    assert_int_equal(statd_collect_storage("garbage\n", 8, "n1", &l, &n) < 0, true);
    rmdir(dir);
}

static void test_next_tick(void **state) {
    (void) state;
    const uint64_t s = 1000000;
    assert_int_equal(statd_next_tick(1700000000 * s, 10), 1700000010 * s);
    assert_int_equal(statd_next_tick(1700000003 * s + 5, 10), 1700000010 * s);
    assert_int_equal(statd_next_tick(1700000009 * s + 999999, 10), 1700000010 * s);
    assert_int_equal(statd_next_tick(1700000000 * s + 1, 1), 1700000001 * s);
    assert_int_equal(statd_next_tick(5 * s, 0), 6 * s); /* 0 treated as 1 */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_node),
        cmocka_unit_test(test_collect_node),
        cmocka_unit_test(test_collect_storage),
        cmocka_unit_test(test_next_tick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
