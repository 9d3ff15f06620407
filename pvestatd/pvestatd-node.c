/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvestatd-node: the node's status sample (uptime, load, cpu and iowait shares, memory,
 * swap, root file system, physical NIC traffic) from the procfs parsers and statvfs, and its
 * pve2-node broadcast value.
 */
#include <sys/statvfs.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/fileio.h"
#include "pve/log.h"
#include "pve/strbuf.h"
#include "pvestatd.h"

#define PROC_MAX_READ (4 * 1024 * 1024)

/* Perl's default number output (%.15g): 0.25, 1e-05, whole numbers without a dot. */
static void append_num(StrBuf *b, double v) {
    strbuf_printf(b, ":%.15g", v);
}

static void append_u64(StrBuf *b, uint64_t v) {
    strbuf_printf(b, ":%" PRIu64, v);
}

int statd_format_node(const StatdNode *n, char **ret) {
    StrBuf b = STRBUF_INIT;
    strbuf_printf(
        &b, "%" PRIu64 ":%s:%lld:%s", n->uptime, n->sublevel ? n->sublevel : "",
        (long long) n->ctime, n->loadavg[0] ? n->loadavg : "U"
    );
    strbuf_printf(&b, ":%u", n->maxcpu);
    append_num(&b, n->cpu);
    append_num(&b, n->iowait);
    const uint64_t rest[] = {n->memtotal,  n->memused,  n->swaptotal, n->swapused,
                             n->roottotal, n->rootused, n->netin,     n->netout};
    for (size_t i = 0; i < ELEMENTSOF(rest); i++)
        append_u64(&b, rest[i]);
    return strbuf_finish(&b, ret, NULL);
}

/* <proc>/<name> as text; "" (and a debug line) when it cannot be read. */
static char *read_proc(const StatdConfig *c, const char *name) {
    _cleanup_free_ char *path = NULL;
    char *text = NULL;
    size_t len;
    if (asprintf(&path, "%s/%s", c->proc, name) < 0)
        return NULL;
    int r = read_full_file(path, PROC_MAX_READ, &text, &len);
    if (r < 0) {
        log_debug_errno(r, "cannot read %s: %m", path);
        return strdup("");
    }
    return text;
}

static void collect_rootfs(const StatdConfig *c, StatdNode *n) {
    struct statvfs st;
    if (statvfs(c->rootfs, &st) < 0) {
        log_debug_errno(errno, "statvfs %s: %m", c->rootfs);
        return;
    }
    uint64_t bs = st.f_frsize ? st.f_frsize : st.f_bsize;
    n->roottotal = (uint64_t) st.f_blocks * bs;
    n->rootused = (uint64_t) (st.f_blocks - st.f_bfree) * bs;
}

int statd_collect_node(const StatdConfig *c, ProcStat *prev_stat, time_t ctime, StatdNode *ret) {
    StatdNode n = {.sublevel = "", .ctime = ctime};
    _cleanup_free_ char *uptime = read_proc(c, "uptime"), *loadavg = read_proc(c, "loadavg"),
                        *stat = read_proc(c, "stat"), *meminfo = read_proc(c, "meminfo"),
                        *netdev = read_proc(c, "net/dev");
    if (!uptime || !loadavg || !stat || !meminfo || !netdev)
        return -ENOMEM;

    uint64_t idle;
    (void) procfs_parse_uptime(uptime, &n.uptime, &idle);
    char la[3][16];
    (void) procfs_parse_loadavg(loadavg, la);
    memcpy(n.loadavg, la[0], sizeof n.loadavg);

    ProcStat cur;
    procfs_parse_stat(stat, &cur);
    procfs_stat_usage(prev_stat && prev_stat->valid ? prev_stat : NULL, &cur, &n.cpu, &n.iowait);
    n.maxcpu = cur.cpus;
    if (prev_stat)
        *prev_stat = cur;

    ProcMemInfo m;
    procfs_parse_meminfo(meminfo, &m);
    n.memtotal = m.total;
    n.memused = m.used;
    n.swaptotal = m.swap_total;
    n.swapused = m.swap_used;

    ProcNetDevIf *ifs = NULL;
    size_t n_ifs = 0;
    int r = procfs_parse_net_dev(netdev, &ifs, &n_ifs);
    if (r < 0)
        return r;
    procfs_net_dev_physical_sum(ifs, n_ifs, &n.netin, &n.netout);
    free(ifs);

    collect_rootfs(c, &n);
    *ret = n;
    return 0;
}
