/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * procfs: pure parsers for the /proc files a node reports (cpuinfo, stat, meminfo, loadavg,
 * uptime, net/dev), with upstream's reading of each (PVE::ProcFSTools): model and MHz of the first
 * CPU, sockets = distinct "physical id"s, cores = sum of their "cpu cores", memory "used"
 * = total - available, CPU usage as the share of non-idle ticks between two samples.
 * GET /nodes/{node}/status and pvestatd both use them.
 *
 * Every parser takes the whole file as a NUL-terminated string, never does I/O, and accepts
 * garbage without failing: unknown or malformed lines are skipped and missing values stay at
 * their defaults (as upstream, which reports zeros rather than errors). Only allocation
 * failures return -ENOMEM.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pve/macro.h"

typedef struct ProcCpuInfo {
    char *model;      /* first "model name", "unknown" when absent */
    char *mhz;        /* first "cpu MHz" as written (e.g. "2000.000"), "0" when absent */
    char *flags;      /* first "flags" line, "" when absent */
    unsigned cpus;    /* number of "processor" entries */
    unsigned sockets; /* distinct physical ids, at least 1 */
    unsigned cores;   /* sum of "cpu cores" over the sockets, at least 1 */
    bool hvm;         /* flags contain vmx or svm */
} ProcCpuInfo;

/* Parse /proc/cpuinfo into *ret (initialised here; release with procfs_cpuinfo_done()). */
int procfs_parse_cpuinfo(const char *text, ProcCpuInfo *ret);
void procfs_cpuinfo_done(ProcCpuInfo *info);

typedef struct ProcStat {
    /* the aggregated "cpu" line, in clock ticks; user and nice exclude guest time as upstream */
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice;
    uint64_t used;  /* user+nice+system+irq+softirq+steal (guest time counts in user) */
    uint64_t total; /* used + idle + iowait */
    unsigned cpus;  /* number of "cpuN" lines, at least 1 */
    bool valid;     /* a "cpu" line was found */
} ProcStat;

/* Parse /proc/stat. */
void procfs_parse_stat(const char *text, ProcStat *ret);

/*
 * CPU and I/O-wait share (0..1) between two samples; prev NULL (or invalid, or no ticks in
 * between) uses the totals since boot of cur.
 */
void procfs_stat_usage(
    const ProcStat *prev, const ProcStat *cur, double *ret_cpu, double *ret_wait
);

typedef struct ProcMemInfo {
    uint64_t total, free, used, available; /* bytes; free = total - used */
    uint64_t swap_total, swap_free, swap_used;
} ProcMemInfo;

/* Parse /proc/meminfo (kB values to bytes). Without MemAvailable (old kernels) available is
 * MemFree + Buffers + Cached. */
void procfs_parse_meminfo(const char *text, ProcMemInfo *ret);

/* The three load averages of /proc/loadavg as written ("0.93"); "0" each when malformed.
 * Returns 0, or -EINVAL when the line did not parse (the defaults are set then). */
int procfs_parse_loadavg(const char *text, char ret[static 3][16]);

/* Seconds of uptime and idle time (truncated) from /proc/uptime; -EINVAL when malformed
 * (both 0 then). */
int procfs_parse_uptime(const char *text, uint64_t *ret_uptime, uint64_t *ret_idle);

typedef struct ProcNetDevIf {
    char name[32]; /* interface name (IFNAMSIZ is 16; room for odd ones) */
    uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
} ProcNetDevIf;

/* Parse /proc/net/dev into a malloc'd array (header and malformed lines skipped; *ret NULL
 * when there is none). Only -ENOMEM fails. */
int procfs_parse_net_dev(const char *text, ProcNetDevIf **ret, size_t *ret_n);

/* /proc/<pid>/stat of one process: the fields guest status needs (ticks and pages). */
typedef struct ProcPidStat {
    char state;         /* field 3, 0 when unparseable */
    uint64_t utime;     /* field 14, clock ticks */
    uint64_t stime;     /* field 15 */
    uint64_t starttime; /* field 22, ticks after boot */
    uint64_t rss_pages; /* field 24 */
} ProcPidStat;
/* -EINVAL when the text is not a stat line (fields then zero). comm may hold ')' and blanks. */
int procfs_parse_pid_stat(const char *text, ProcPidStat *ret);

/* upstream's physical NIC names (PVE::Network's PHYSICAL_NIC_RE): eth<digits>, en..., ib...
 * without ':' or '.' (no aliases, no VLANs). */
bool procfs_is_physical_nic(const char *name) _pure_;

/* Received and transmitted bytes summed over the physical NICs (pvestatd's netin/netout). */
void procfs_net_dev_physical_sum(
    const ProcNetDevIf *list, size_t n, uint64_t *ret_in, uint64_t *ret_out
);
