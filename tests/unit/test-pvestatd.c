/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for pvestatd's pure parts: the pve2-node and pve2-storage values (upstream's
 * field order, accepted by rrd-def's parser), the pve2.3-vm value of running and stopped guests,
 * node collection from saved /proc samples (tests/data/procfs), storage selection from storage.cfg
 * text, and the aligned tick.
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

#include <errno.h>
#include <jansson.h>
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

/* A running VM's status object (qemu_vm_status + QMP) and a stopped CT's (lxc_ct_status). */
static void test_format_guest(void **state) {
    (void) state;
    const char *running =
        "{\"vmid\":100,\"name\":\"web1\",\"status\":\"running\","
        "\"qmpstatus\":\"paused\",\"pid\":4242,\"uptime\":77,\"cpus\":2,"
        "\"cpu\":0.125,\"maxmem\":67108864,\"mem\":31457280,\"disk\":0,"
        "\"maxdisk\":4194304,\"netin\":10,\"netout\":20,\"diskread\":512,"
        "\"diskwrite\":1024,\"template\":0}";
    json_t *o = json_loads(running, 0, NULL);
    StatdGuest g;
    char *v, *u;
    assert_non_null(o);
    assert_int_equal(statd_guest_from_status(o, &g), 0);
    assert_int_equal(g.vmid, 100);
    assert_int_equal(statd_format_guest(&g, 1700000000, &v), 0);
    /* uptime:name:status:template:ctime:maxcpu:cpu:maxmem:mem:maxdisk:disk:netin:netout:
     * diskread:diskwrite; status is QMP's when QEMU answered */
    assert_string_equal(
        v, "77:web1:paused:0:1700000000:2:0.125:67108864:31457280:4194304:0:10:20:512:1024"
    );
    /* pmxcfs archives the 10 pve2-vm DS from it (the first 4 fields are live-only) */
    RrdTarget t;
    assert_int_equal(rrd_key_parse(RRD_KEY_VM "/100", &t), 0);
    assert_string_equal(t.path, "pve2-vm/100");
    assert_int_equal(rrd_value_to_update(&t, v, &u, NULL), 0);
    assert_string_equal(u, "1700000000:2:0.125:67108864:31457280:4194304:0:10:20:512:1024");
    free(u);
    free(v);
    statd_guest_done(&g);

    /* QMP did not answer: pid status, block counters undefined */
    json_object_del(o, "qmpstatus");
    json_object_del(o, "diskread");
    json_object_del(o, "diskwrite");
    json_object_set_new(o, "template", json_integer(1));
    assert_int_equal(statd_guest_from_status(o, &g), 0);
    assert_int_equal(statd_format_guest(&g, 1700000000, &v), 0);
    assert_string_equal(
        v, "77:web1:running:1:1700000000:2:0.125:67108864:31457280:4194304:0:10:20:U:U"
    );
    assert_int_equal(rrd_value_to_update(&t, v, &u, NULL), 0);
    assert_string_equal(u, "1700000000:2:0.125:67108864:31457280:4194304:0:10:20:U:U");
    free(u);
    free(v);
    statd_guest_done(&g);
    json_decref(o);

    /* stopped: uptime 0, U for every live value, the static ones kept */
    o = json_loads(
        "{\"vmid\":200,\"name\":\"CT200\",\"type\":\"lxc\",\"status\":\"stopped\",\"uptime\":0,"
        "\"cpus\":1,\"cpu\":0,\"maxmem\":536870912,\"mem\":0,\"maxdisk\":8589934592,\"disk\":0,"
        "\"netin\":0,\"netout\":0,\"diskread\":0,\"diskwrite\":0}",
        0, NULL
    );
    assert_non_null(o);
    assert_int_equal(statd_guest_from_status(o, &g), 0);
    assert_false(g.running);
    assert_int_equal(statd_format_guest(&g, 1700000000, &v), 0);
    assert_string_equal(v, "0:CT200:stopped:0:1700000000:1:U:536870912:U:8589934592:U:U:U:U:U");
    assert_int_equal(rrd_value_to_update(&t, v, &u, NULL), 0);
    assert_string_equal(u, "1700000000:1:U:536870912:U:8589934592:U:U:U:U:U");
    free(u);
    free(v);
    statd_guest_done(&g);
    rrd_target_done(&t);

    /* no vmid: refused */
    json_object_del(o, "vmid");
    assert_int_equal(statd_guest_from_status(o, &g), -EINVAL);
    json_decref(o);
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
        cmocka_unit_test(test_format_node),  cmocka_unit_test(test_format_guest),
        cmocka_unit_test(test_collect_node), cmocka_unit_test(test_collect_storage),
        cmocka_unit_test(test_next_tick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
