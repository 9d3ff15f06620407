/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the /proc parsers against saved samples (tests/data/procfs). */
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

#include "pve/fileio.h"
#include "pve/procfs.h"

static char *sample(const char *name) {
    const char *dir = getenv("PVE_TEST_DATA");
    char path[512];
    snprintf(path, sizeof path, "%s/procfs/%s", dir ? dir : "tests/data", name);
    char *text = NULL;
    size_t len;
    if (read_full_file(path, 1 << 20, &text, &len) < 0)
        fail_msg("cannot read %s", path);
    return text;
}

static void test_cpuinfo_vm(void **state) {
    (void) state;
    _cleanup_free_ char *t = sample("cpuinfo-x86-vm");
    ProcCpuInfo c;
    assert_int_equal(procfs_parse_cpuinfo(t, &c), 0);
    assert_string_equal(c.model, "Intel(R) Xeon(R) Processor");
    assert_string_equal(c.mhz, "2000.000");
    assert_int_equal(c.cpus, 2);
    assert_int_equal(c.sockets, 1);
    assert_int_equal(c.cores, 2);
    assert_true(strncmp(c.flags, "fpu vme de pse", 14) == 0);
    assert_false(c.hvm);
    procfs_cpuinfo_done(&c);
}

static void test_cpuinfo_2socket(void **state) {
    (void) state;
    _cleanup_free_ char *t = sample("cpuinfo-2socket");
    ProcCpuInfo c;
    assert_int_equal(procfs_parse_cpuinfo(t, &c), 0);
    assert_string_equal(c.model, "Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz");
    assert_string_equal(c.mhz, "2100.000"); /* the first one */
    assert_int_equal(c.cpus, 16);
    assert_int_equal(c.sockets, 2);
    assert_int_equal(c.cores, 8);
    assert_true(c.hvm);
    procfs_cpuinfo_done(&c);
}

static void test_cpuinfo_arm_and_empty(void **state) {
    (void) state;
    _cleanup_free_ char *t = sample("cpuinfo-arm64");
    ProcCpuInfo c;
    assert_int_equal(procfs_parse_cpuinfo(t, &c), 0);
    assert_string_equal(c.model, "unknown");
    assert_string_equal(c.mhz, "0");
    assert_string_equal(c.flags, "");
    assert_int_equal(c.cpus, 4);
    assert_int_equal(c.sockets, 1);
    assert_int_equal(c.cores, 1);
    procfs_cpuinfo_done(&c);

    assert_int_equal(procfs_parse_cpuinfo("", &c), 0);
    assert_int_equal(c.cpus, 0);
    assert_string_equal(c.model, "unknown");
    procfs_cpuinfo_done(&c);

    /* malformed values are skipped, word boundaries respected for hvm */
    assert_int_equal(
        procfs_parse_cpuinfo(
            "processor : x\nprocessor\t: 3\ncpu MHz : fast\nflags : vmxnet svm2\n"
            "model  NAME : Foo \r\n",
            &c
        ),
        0
    );
    assert_int_equal(c.cpus, 1);
    assert_string_equal(c.mhz, "0");
    assert_string_equal(c.model, "Foo");
    assert_false(c.hvm);
    procfs_cpuinfo_done(&c);
}

static void test_stat(void **state) {
    (void) state;
    _cleanup_free_ char *t = sample("stat-x86-vm");
    ProcStat s;
    procfs_parse_stat(t, &s);
    assert_true(s.valid);
    assert_int_equal(s.cpus, 2);
    /* cpu  518503 0 187405 1422778 2958 0 4696 23228 0 0 */
    assert_int_equal(s.user, 518503);
    assert_int_equal(s.system, 187405);
    assert_int_equal(s.idle, 1422778);
    assert_int_equal(s.iowait, 2958);
    assert_int_equal(s.steal, 23228);
    assert_int_equal(s.used, 518503 + 187405 + 4696 + 23228);
    assert_int_equal(s.total, s.used + 1422778 + 2958);

    _cleanup_free_ char *o = sample("stat-old-kernel");
    ProcStat old;
    procfs_parse_stat(o, &old);
    assert_true(old.valid);
    assert_int_equal(old.cpus, 1);
    assert_int_equal(old.used, 100 + 20 + 30 + 6 + 7);
    assert_int_equal(old.total, old.used + 400 + 50);

    /* guest time is left out of user/nice, but counts in used */
    procfs_parse_stat("cpu 100 50 10 1000 0 0 0 0 40 20\n", &s);
    assert_int_equal(s.user, 60);
    assert_int_equal(s.nice, 30);
    assert_int_equal(s.used, 160);

    procfs_parse_stat("intr 1\ncpu 1 2\n", &s);
    assert_false(s.valid);
    assert_int_equal(s.cpus, 1);
}

static void test_stat_usage(void **state) {
    (void) state;
    ProcStat a, b;
    procfs_parse_stat("cpu 100 0 100 700 100 0 0 0 0 0\n", &a);
    procfs_parse_stat("cpu 150 0 150 800 200 0 0 0 0 0\n", &b);
    double cpu, wait;
    procfs_stat_usage(&a, &b, &cpu, &wait);
    /* used +100, iowait +100, idle +100: 300 ticks */
    assert_float_equal(cpu, 100.0 / 300.0, 1e-9);
    assert_float_equal(wait, 100.0 / 300.0, 1e-9);
    /* no previous sample: since boot */
    procfs_stat_usage(NULL, &a, &cpu, &wait);
    assert_float_equal(cpu, 0.2, 1e-9);
    assert_float_equal(wait, 0.1, 1e-9);
    /* counters went backwards: since boot of the current one */
    procfs_stat_usage(&b, &a, &cpu, &wait);
    assert_float_equal(cpu, 0.2, 1e-9);
    ProcStat z;
    procfs_parse_stat("", &z);
    procfs_stat_usage(NULL, &z, &cpu, &wait);
    assert_float_equal(cpu, 0, 0);
}

static void test_meminfo(void **state) {
    (void) state;
    _cleanup_free_ char *t = sample("meminfo-x86-vm");
    ProcMemInfo m;
    procfs_parse_meminfo(t, &m);
    assert_int_equal(m.total, 24682416ULL * 1024);
    assert_int_equal(m.available, 24249288ULL * 1024);
    assert_int_equal(m.used, (24682416ULL - 24249288ULL) * 1024);
    assert_int_equal(m.free, m.total - m.used);
    assert_int_equal(m.swap_total, 0);
    assert_int_equal(m.swap_used, 0);

    _cleanup_free_ char *o = sample("meminfo-no-available");
    procfs_parse_meminfo(o, &m);
    assert_int_equal(m.total, 2048000ULL * 1024);
    assert_int_equal(m.available, (512000ULL + 100000 + 300000) * 1024);
    assert_int_equal(m.used, (2048000ULL - 912000) * 1024);
    assert_int_equal(m.swap_total, 1000000ULL * 1024);
    assert_int_equal(m.swap_used, 250000ULL * 1024);

    /* available above total is clamped; lines without kB ignored */
    procfs_parse_meminfo("MemTotal: 10 kB\nMemAvailable: 20 kB\nSwapFree: 5\n", &m);
    assert_int_equal(m.used, 0);
    assert_int_equal(m.swap_free, 0);
}

static void test_loadavg_uptime(void **state) {
    (void) state;
    char la[3][16];
    _cleanup_free_ char *t = sample("loadavg");
    assert_int_equal(procfs_parse_loadavg(t, la), 0);
    assert_string_equal(la[0], "0.93");
    assert_string_equal(la[1], "0.49");
    assert_string_equal(la[2], "0.41");
    assert_int_equal(procfs_parse_loadavg("1.00 2.00\n", la), -EINVAL);
    assert_string_equal(la[0], "0");
    assert_int_equal(procfs_parse_loadavg("1 2 3 1/2 3\n", la), -EINVAL);

    uint64_t up, idle;
    _cleanup_free_ char *u = sample("uptime");
    assert_int_equal(procfs_parse_uptime(u, &up, &idle), 0);
    assert_int_equal(up, 10809);
    assert_int_equal(idle, 14227);
    assert_int_equal(procfs_parse_uptime("12.5\n", &up, &idle), -EINVAL);
    assert_int_equal(up, 0);
    assert_int_equal(procfs_parse_uptime("", &up, &idle), -EINVAL);
}

static void test_net_dev(void **state) {
    (void) state;
    _cleanup_free_ char *t = sample("net-dev");
    ProcNetDevIf *l = NULL;
    size_t n = 0;
    assert_int_equal(procfs_parse_net_dev(t, &l, &n), 0);
    assert_int_equal(n, 9); /* headers and the short line skipped */
    assert_string_equal(l[0].name, "lo");
    assert_int_equal(l[0].rx_bytes, 8253554);
    assert_string_equal(l[1].name, "eno1");
    assert_int_equal(l[1].rx_bytes, 1000000000);
    assert_int_equal(l[1].rx_packets, 900000);
    assert_int_equal(l[1].tx_bytes, 200000000);
    assert_int_equal(l[1].tx_packets, 500000);
    assert_string_equal(l[2].name, "enp3s0f1"); /* the name touches the first number */
    assert_int_equal(l[2].rx_bytes, 12345678901ULL);
    assert_int_equal(l[2].tx_bytes, 98765432109ULL);
    uint64_t in, out;
    procfs_net_dev_physical_sum(l, n, &in, &out);
    /* eno1 + enp3s0f1 + eth0 + ib0; not lo, vmbr0, tap, the VLAN eno1.100, veth */
    assert_int_equal(in, 1000000000ULL + 12345678901ULL + 500 + 10);
    assert_int_equal(out, 200000000ULL + 98765432109ULL + 700 + 20);
    free(l);

    assert_int_equal(procfs_parse_net_dev("", &l, &n), 0);
    assert_int_equal(n, 0);
    assert_null(l);
    assert_true(procfs_is_physical_nic("eth12"));
    assert_false(procfs_is_physical_nic("eth"));
    assert_false(procfs_is_physical_nic("ethx"));
    assert_true(procfs_is_physical_nic("enx001122334455"));
    assert_false(procfs_is_physical_nic("en"));
    assert_false(procfs_is_physical_nic("eno1:1"));
    assert_false(procfs_is_physical_nic("bond0"));
}

static void test_pid_stat(void **state) {
    (void) state;
    ProcPidStat st;
    /* a comm with blanks and ')' */
    assert_int_equal(
        procfs_parse_pid_stat(
            "4242 (qemu) sys x)) S 1 4241 4241 0 -1 138412352 9000 0 12 0 1500 250 0 0 20 0 "
            "3 0 987654 1234567890 4096 18446744073709551615 1 1 0 0 0 0 0\n",
            &st
        ),
        0
    );
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.utime, 1500);
    assert_int_equal(st.stime, 250);
    assert_int_equal(st.starttime, 987654);
    assert_int_equal(st.rss_pages, 4096);
    assert_int_equal(procfs_parse_pid_stat("no paren here", &st), -EINVAL);
    assert_int_equal(procfs_parse_pid_stat("1 (x) S 1 2", &st), -EINVAL);
    assert_int_equal(st.utime, 0);
    assert_int_equal(procfs_parse_pid_stat("1 (x) S 1 2 3 4 5 6 7 8 9 x", &st), -EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpuinfo_vm),
        cmocka_unit_test(test_cpuinfo_2socket),
        cmocka_unit_test(test_cpuinfo_arm_and_empty),
        cmocka_unit_test(test_stat),
        cmocka_unit_test(test_stat_usage),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_loadavg_uptime),
        cmocka_unit_test(test_net_dev),
        cmocka_unit_test(test_pid_stat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
