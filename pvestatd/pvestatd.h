/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvestatd internals (specs/api.md §9.1-9.2): what one status cycle collects and how it is
 * broadcast through pmxcfs.
 *
 *   pvestatd-node.c     node status from /proc and statvfs("/"), the pve2-node value
 *   pvestatd-storage.c  status of the storages of storage.cfg enabled on this node
 *   pvestatd-guests.c   status of this node's QEMU VMs and LXC containers, pve2.3-vm values
 *   pvestatd-cycle.c    the cycle: collectors in order (node, guests, storage, task list),
 *                       each broadcasting its keys; the wall-clock aligned timer
 *
 * Formatting is pure (unit tested); collection reads files below configurable roots so
 * tests can feed saved samples.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "pve/macro.h"
#include "pve/procfs.h"

#define STATD_DEFAULT_INTERVAL 10 /* seconds (upstream's updatetime) */
#define STATD_SLOW_CYCLE       5  /* seconds: a longer cycle is logged */

typedef struct StatdConfig {
    const char *nodename;
    unsigned interval;  /* seconds */
    const char *proc;   /* procfs root, default /proc */
    const char *rootfs; /* file system reported as root (df /), default / */
    const char *taskdir;
} StatdConfig;

/* ---- node ------------------------------------------------------------------------------- */

typedef struct StatdNode {
    uint64_t uptime;
    const char *sublevel; /* subscription level, "" without one */
    time_t ctime;
    char loadavg[16]; /* 1-minute load average as /proc writes it */
    unsigned maxcpu;
    double cpu, iowait; /* shares 0..1 since the previous sample */
    uint64_t memtotal, memused, swaptotal, swapused;
    uint64_t roottotal, rootused; /* bytes; used = blocks - free blocks */
    uint64_t netin, netout;       /* bytes over the physical NICs */
} StatdNode;

/* The pve2-node value: uptime:sublevel:ctime:loadavg:maxcpu:cpu:iowait:memtotal:memused:
 * swaptotal:swapused:roottotal:rootused:netin:netout (numbers as Perl prints them). */
int statd_format_node(const StatdNode *n, char **ret);

/* Sample the node. prev_stat keeps the /proc/stat sample between calls (cpu shares are
 * relative to it; invalid on the first call = since boot). Missing files leave zeros. */
int statd_collect_node(const StatdConfig *c, ProcStat *prev_stat, time_t ctime, StatdNode *ret);

/* ---- storage ---------------------------------------------------------------------------- */

typedef struct StatdStorage {
    char *id;
    uint64_t total, used, avail;
} StatdStorage;

/* The pve2-storage value "ctime:total:used". */
int statd_format_storage(const StatdStorage *s, time_t ctime, char **ret);

/* Status of the active storages of storage.cfg text that are enabled on node: only `dir`
 * storages whose path is a directory are active (other types are not implemented yet and
 * are skipped). *ret malloc'd array; free with statd_storage_list_free(). */
int statd_collect_storage(
    const char *cfg_text, size_t len, const char *node, StatdStorage **ret, size_t *ret_n
);
void statd_storage_list_free(StatdStorage *l, size_t n);

/* ---- guests ----------------------------------------------------------------------------- */

#define STATD_QMP_BUDGET_MS 1000 /* wall time all QMP queries of one cycle may take together */

typedef struct StatdGuest {
    uint32_t vmid;
    char *name;
    char *status; /* QMP status when QEMU answered ("running", "paused", ...), else
                     "running" / "stopped" */
    bool running; /* a live process: the live fields below are meaningful */
    bool template;
    uint64_t uptime;
    unsigned maxcpu;
    double cpu; /* share 0..1 of maxcpu */
    uint64_t maxmem, mem, maxdisk, disk, netin, netout, diskread, diskwrite;
} StatdGuest;

void statd_guest_done(StatdGuest *g);

/* A guest from its status object (qemu_vm_status / lxc_ct_status fields: name, status, uptime,
 * cpus, cpu, maxmem, mem, maxdisk, disk, netin, netout, diskread, diskwrite, template, and
 * qmpstatus when present). -EINVAL without vmid, -ENOMEM. */
int statd_guest_from_status(const json_t *status, StatdGuest *ret);

/* The pve2.3-vm value uptime:name:status:template:ctime:maxcpu:cpu:maxmem:mem:maxdisk:disk:
 * netin:netout:diskread:diskwrite; a guest that is not running sends uptime 0 and U for the
 * live values (cpu, mem, disk, netin, netout, diskread, diskwrite). */
int statd_format_guest(const StatdGuest *g, time_t ctime, char **ret);

typedef struct Statd Statd;

/* Broadcast "rrd/<key>" = value through pmxcfs (one warning while pmxcfs is unreachable). */
int statd_broadcast_rrd(Statd *d, const char *key, const char *value);
const StatdConfig *statd_config(const Statd *d) _pure_;

/* The guest collectors of the cycle: every QEMU VM (resp. LXC container) with a config on
 * this node, running or not, broadcast as rrd/pve2.3-vm/<vmid>. QMP (qmpstatus, block
 * statistics) is asked of all running VMs at once, bounded by STATD_QMP_BUDGET_MS in total,
 * so a hung QEMU costs one budget per cycle and does not delay the other guests' numbers. */
int statd_collect_qemu(Statd *d, time_t ctime);
int statd_collect_lxc(Statd *d, time_t ctime);

/* ---- cycle ------------------------------------------------------------------------------ */

int statd_new(const StatdConfig *c, Statd **ret);
Statd *statd_free(Statd *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Statd *, statd_free);

/* One cycle now: every collector runs, failures are logged and do not stop the others.
 * Returns the number of collectors that failed. */
int statd_cycle(Statd *d);

/* Start the cycle timer on event: every interval seconds at multiples of the interval on the
 * wall clock (missed ticks are skipped, never queued). */
int statd_start(Statd *d, sd_event *event);

/* Next tick (usec, CLOCK_REALTIME) strictly after now_usec for interval seconds. */
uint64_t statd_next_tick(uint64_t now_usec, unsigned interval) _pure_;
