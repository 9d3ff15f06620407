/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the /proc parsers: every parser takes any text without crashing, and the
 * invariants callers rely on hold (cpuinfo strings set, sockets/cores >= 1, memory used +
 * free = total with used <= total, shares within 0..1, load averages NUL-terminated, net/dev names
 * non-empty without ':').
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 65536)
        return 0;
    char *s = strndup((const char *) data, size);
    if (!s)
        return 0;

    ProcCpuInfo c;
    if (procfs_parse_cpuinfo(s, &c) == 0) {
        if (!c.model || !c.mhz || !c.flags || c.sockets < 1 || c.cores < 1)
            abort();
        procfs_cpuinfo_done(&c);
    }

    ProcStat st, zero;
    procfs_parse_stat(s, &st);
    procfs_parse_stat("", &zero);
    if (st.cpus < 1)
        abort();
    double cpu, wait;
    procfs_stat_usage(&zero, &st, &cpu, &wait);
    if (!(cpu >= 0 && cpu <= 1 && wait >= 0 && wait <= 1))
        abort();
    procfs_stat_usage(&st, &st, &cpu, &wait);
    if (!(cpu >= 0 && cpu <= 1))
        abort();

    ProcMemInfo m;
    procfs_parse_meminfo(s, &m);
    if (m.used > m.total || m.used + m.free != m.total || m.swap_used > m.swap_total)
        abort();

    char la[3][16];
    (void) procfs_parse_loadavg(s, la);
    for (size_t i = 0; i < 3; i++)
        if (!memchr(la[i], 0, sizeof la[i]))
            abort();

    uint64_t up, idle;
    if (procfs_parse_uptime(s, &up, &idle) < 0 && (up || idle))
        abort();

    ProcPidStat ps;
    if (procfs_parse_pid_stat(s, &ps) < 0 && (ps.state || ps.utime || ps.starttime))
        abort();

    ProcNetDevIf *nd = NULL;
    size_t n_nd = 0;
    if (procfs_parse_net_dev(s, &nd, &n_nd) == 0) {
        uint64_t in, out;
        procfs_net_dev_physical_sum(nd, n_nd, &in, &out);
        for (size_t i = 0; i < n_nd; i++)
            if (!nd[i].name[0] || !memchr(nd[i].name, 0, sizeof nd[i].name) ||
                strchr(nd[i].name, ':'))
                abort();
        free(nd);
    }

    free(s);
    return 0;
}
