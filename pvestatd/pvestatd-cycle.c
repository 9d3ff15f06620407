/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvestatd-cycle: one status cycle and its timer. The collectors run in upstream's order
 * (task list, node, guests, storage); each broadcasts its own keys through pmxcfs
 * (cfs_ipc_set_status) and a failing one does not stop the others. Guests have a provider
 * table (QEMU, LXC; pvestatd-guests.c): each broadcasts "rrd/pve2.3-vm/<vmid>" for its guests.
 *
 * Before them, a quorate node rotates the ticket signing key when it is due; after them the
 * node's kv/static-info and kv/version-info are sent when they changed.
 *
 * The timer fires at multiples of the interval on the wall clock (CLOCK_REALTIME, absolute),
 * so cycles never drift; a cycle that overruns skips the ticks it missed.
 */
#include <linux/magic.h>
#include <sys/vfs.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/api-auth.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"
#include "pve/cluster-setup.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/rrd-def.h"
#include "pvestatd.h"

#define USEC_PER_SEC 1000000ULL

struct Statd {
    StatdConfig c;
    ProcStat prev_stat;
    sd_event_source *timer;
    bool warned_ipc; /* one warning while pmxcfs is unreachable, not one per cycle */
    unsigned cpus;   /* from the last node sample, for kv/static-info */
    uint64_t memory;
    char *sent_static_info, *sent_version_info; /* what pmxcfs has, NULL: nothing yet */
};

/* A guest layer (QEMU, LXC): broadcasts the status of its guests on this node. */
typedef struct StatdGuestProvider {
    const char *name;
    int (*collect)(Statd *d, time_t ctime);
} StatdGuestProvider;

static const StatdGuestProvider qemu_provider = {"qemu", statd_collect_qemu};
static const StatdGuestProvider lxc_provider = {"lxc", statd_collect_lxc};
static const StatdGuestProvider *const guest_providers[] = {&qemu_provider, &lxc_provider};

const StatdConfig *statd_config(const Statd *d) {
    return &d->c;
}

int statd_broadcast_rrd(Statd *d, const char *key, const char *value) {
    _cleanup_free_ char *name = NULL;
    if (asprintf(&name, "rrd/%s", key) < 0)
        return -ENOMEM;
    int r = cfs_ipc_set_status(name, value, strlen(value) + 1); /* pmxcfs wants the NUL */
    if (r < 0) {
        if (!d->warned_ipc)
            log_warning_errno(r, "cannot broadcast %s through pmxcfs: %m", name);
        d->warned_ipc = true;
        return r;
    }
    if (d->warned_ipc)
        log_info("pmxcfs reachable again");
    d->warned_ipc = false;
    return 0;
}

static int collect_tasklist(Statd *d, time_t ctime) {
    (void) ctime;
    return api_broadcast_tasklist(d->c.taskdir);
}

/* As upstream, each cycle on a quorate node: a pair older than 24 h is replaced (the function
 * itself checks the age, under the cluster-wide authkey lock). */
static int collect_authkey(Statd *d, time_t ctime) {
    (void) d;
    (void) ctime;
    return cluster_cfs_quorate() ? api_auth_rotate_key() : 0;
}

static int collect_node(Statd *d, time_t ctime) {
    StatdNode n;
    _cleanup_free_ char *value = NULL, *key = NULL;
    int r = statd_collect_node(&d->c, &d->prev_stat, ctime, &n);
    if (r < 0 || (r = statd_format_node(&n, &value)) < 0)
        return r;
    d->cpus = n.maxcpu;
    d->memory = n.memtotal;
    if (asprintf(&key, RRD_KEY_NODE "/%s", d->c.nodename) < 0)
        return -ENOMEM;
    return statd_broadcast_rrd(d, key, value);
}

static int collect_guests(Statd *d, time_t ctime) {
    int failed = 0;
    for (size_t i = 0; i < ELEMENTSOF(guest_providers); i++) {
        const StatdGuestProvider *p = guest_providers[i];
        if (p && p->collect(d, ctime) < 0) {
            log_debug("%s status update failed", p->name);
            failed++;
        }
    }
    return failed ? -EIO : 0;
}

static int collect_storage(Statd *d, time_t ctime) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = cfs_file_read(PVE_CFS_STORAGE_CFG, &text, &len);
    if (r == -ENOENT) {
        free(text);
        text = strdup(""); /* storage_cfg_parse() adds the default `local` */
        if (!text)
            return -ENOMEM;
    } else if (r < 0)
        return log_debug_errno(r, "cannot read storage.cfg: %m");
    StatdStorage *list = NULL;
    size_t n = 0;
    r = statd_collect_storage(text, len, d->c.nodename, &list, &n);
    if (r < 0)
        return r;
    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *key = NULL, *value = NULL;
        if (asprintf(&key, RRD_KEY_STORAGE "/%s/%s", d->c.nodename, list[i].id) < 0 ||
            statd_format_storage(&list[i], ctime, &value) < 0) {
            ret = -ENOMEM;
            break;
        }
        r = statd_broadcast_rrd(d, key, value);
        if (r < 0)
            ret = r;
    }
    statd_storage_list_free(list, n);
    return ret;
}

/* Broadcast kv/<key> = value unless pmxcfs already has exactly that from us (pmxcfs re-sends
 * its own keys after membership changes). */
static int broadcast_kv_changed(const char *key, char **sent, json_t *value) {
    _cleanup_free_ char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    _cleanup_free_ char *name = NULL;
    json_decref(value);
    if (!text || asprintf(&name, "kv/%s", key) < 0)
        return -ENOMEM;
    if (*sent && streq(*sent, text))
        return 0;
    int r = cfs_ipc_set_status(name, text, strlen(text));
    if (r < 0)
        return r;
    free(*sent);
    *sent = TAKE_PTR(text);
    return 0;
}

static int cgroup_mode(void) {
    struct statfs s;
    return statfs("/sys/fs/cgroup", &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
}

static int collect_node_kv(Statd *d, time_t ctime) {
    (void) ctime;
    int r = 0;
    if (d->cpus > 0)
        r = broadcast_kv_changed(
            "static-info", &d->sent_static_info,
            json_pack(
                "{s:i,s:I,s:i}", "cpus", (int) d->cpus, "memory", (json_int_t) d->memory,
                "cgroup-mode", cgroup_mode()
            )
        );
    int q = broadcast_kv_changed("version-info", &d->sent_version_info, api_version_json());
    return r < 0 ? r : q;
}

static const struct {
    const char *name;
    int (*collect)(Statd *d, time_t ctime);
} collectors[] = {
    {"auth key", collect_authkey}, {"task list", collect_tasklist}, {"node", collect_node},
    {"guest", collect_guests},     {"storage", collect_storage},    {"node kv", collect_node_kv},
};

int statd_new(const StatdConfig *c, Statd **ret) {
    Statd *d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->c = *c;
    /* first /proc/stat sample, so that the first cycle reports the share since now */
    StatdNode ignored;
    (void) statd_collect_node(&d->c, &d->prev_stat, 0, &ignored);
    *ret = d;
    return 0;
}

Statd *statd_free(Statd *d) {
    if (!d)
        return NULL;
    sd_event_source_disable_unref(d->timer);
    free(d->sent_static_info);
    free(d->sent_version_info);
    free(d);
    return NULL;
}

int statd_cycle(Statd *d) {
    time_t ctime = time(NULL);
    int failed = 0;
    for (size_t i = 0; i < ELEMENTSOF(collectors); i++) {
        int r = collectors[i].collect(d, ctime);
        if (r < 0) {
            log_debug_errno(r, "%s status update failed: %m", collectors[i].name);
            failed++;
        }
    }
    return failed;
}

uint64_t statd_next_tick(uint64_t now_usec, unsigned interval) {
    uint64_t step = (uint64_t) (interval ? interval : 1) * USEC_PER_SEC;
    return (now_usec / step + 1) * step;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
    Statd *d = userdata;
    (void) usec;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    (void) statd_cycle(d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (took > STATD_SLOW_CYCLE)
        log_info("status update time (%.3f seconds)", took);

    /* the clock now, not the loop's cached time: a long cycle must skip the ticks it missed */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t now_usec = (uint64_t) now.tv_sec * USEC_PER_SEC + (uint64_t) now.tv_nsec / 1000;
    int r = sd_event_source_set_time(s, statd_next_tick(now_usec, d->c.interval));
    if (r < 0)
        return r;
    return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int statd_start(Statd *d, sd_event *event) {
    uint64_t now;
    int r = sd_event_now(event, CLOCK_REALTIME, &now);
    if (r < 0)
        return r;
    /* accuracy 1 ms: the default slack (250 ms) would blur the alignment */
    return sd_event_add_time(
        event, &d->timer, CLOCK_REALTIME, statd_next_tick(now, d->c.interval), 1000, on_tick, d
    );
}
