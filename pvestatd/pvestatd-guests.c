/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvestatd-guests: the guest part of a status cycle (specs/api.md §9.1-9.2). Every QEMU VM and
 * LXC container whose config lives on this node is sampled (running or not) and broadcast as
 * rrd/pve2.3-vm/<vmid> with upstream's field order; pmxcfs keeps the value for the .rrd dump
 * (/cluster/resources reads it) and writes the pve2-vm RRD file.
 *
 * QEMU: qemu_vm_status() without QMP gives pid, uptime, cpu, memory and tap counters from
 * /proc; QMP (query-status for the status field, query-blockstats for diskread/diskwrite) is
 * asked of all running VMs in parallel threads that share one deadline, so a hung QEMU costs
 * at most STATD_QMP_BUDGET_MS per cycle and the other guests are still reported (with the
 * values QMP would have added left undefined).
 * LXC: lxc_ct_status() (lxc-info, cgroup and veth counters).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pve/guest-store.h"
#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/lxc-runtime.h"
#include "pve/qemu-runtime.h"
#include "pve/qmp.h"
#include "pve/rrd-def.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"
#include "pvestatd.h"

#define STATD_UNKNOWN          UINT64_MAX /* a value nobody could tell: "U" */
#define QMP_THREAD_STACK_BYTES (1024 * 1024)

void statd_guest_done(StatdGuest *g) {
    free(g->name);
    free(g->status);
    *g = (StatdGuest){};
}

/* a non-negative number field of a status object; STATD_UNKNOWN when absent */
static uint64_t status_u64(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return STATD_UNKNOWN;
    double d = json_number_value(v);
    return d > 0 ? (uint64_t) d : 0;
}

int statd_guest_from_status(const json_t *o, StatdGuest *ret) {
    json_t *id = json_object_get(o, "vmid");
    if (!json_is_integer(id) || json_integer_value(id) <= 0)
        return -EINVAL;
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *pid_status = json_string_value(json_object_get(o, "status"));
    const char *qmp_status = json_string_value(json_object_get(o, "qmpstatus"));
    StatdGuest g = {
        .vmid = (uint32_t) json_integer_value(id),
        .running = pid_status && streq(pid_status, "running"),
        .template = status_u64(o, "template") != STATD_UNKNOWN && status_u64(o, "template") > 0,
        .uptime = status_u64(o, "uptime"),
        .maxcpu = (unsigned) status_u64(o, "cpus"),
        .cpu = json_number_value(json_object_get(o, "cpu")),
        .maxmem = status_u64(o, "maxmem"),
        .mem = status_u64(o, "mem"),
        .maxdisk = status_u64(o, "maxdisk"),
        .disk = status_u64(o, "disk"),
        .netin = status_u64(o, "netin"),
        .netout = status_u64(o, "netout"),
        .diskread = status_u64(o, "diskread"),
        .diskwrite = status_u64(o, "diskwrite"),
    };
    if (!json_is_number(json_object_get(o, "cpus")))
        g.maxcpu = 0;
    /* upstream: qmpstatus || status || "stopped" */
    const char *status = qmp_status ?: pid_status ?: "stopped";
    g.name = strdup(name ?: "");
    g.status = strdup(status);
    if (!g.name || !g.status) {
        statd_guest_done(&g);
        return -ENOMEM;
    }
    *ret = g;
    return 0;
}

static void append_u64(StrBuf *b, uint64_t v) {
    if (v == STATD_UNKNOWN)
        strbuf_append(b, ":U");
    else
        strbuf_printf(b, ":%" PRIu64, v);
}

int statd_format_guest(const StatdGuest *g, time_t ctime, char **ret) {
    StrBuf b = STRBUF_INIT;
    bool live = g->running;
    strbuf_printf(
        &b, "%" PRIu64 ":%s:%s:%d:%lld:%u", live && g->uptime != STATD_UNKNOWN ? g->uptime : 0,
        g->name ?: "", g->status ?: "stopped", g->template ? 1 : 0, (long long) ctime, g->maxcpu
    );
    if (live)
        strbuf_printf(&b, ":%.15g", g->cpu); /* Perl's number output, as the node value */
    else
        strbuf_append(&b, ":U");
    append_u64(&b, g->maxmem);
    append_u64(&b, live ? g->mem : STATD_UNKNOWN);
    append_u64(&b, g->maxdisk);
    const uint64_t rest[] = {g->disk, g->netin, g->netout, g->diskread, g->diskwrite};
    for (size_t i = 0; i < ELEMENTSOF(rest); i++)
        append_u64(&b, live ? rest[i] : STATD_UNKNOWN);
    return strbuf_finish(&b, ret, NULL);
}

static int broadcast_guest(Statd *d, const StatdGuest *g, time_t ctime) {
    _cleanup_free_ char *key = NULL, *value = NULL;
    if (asprintf(&key, RRD_KEY_VM "/%" PRIu32, g->vmid) < 0)
        return -ENOMEM;
    int r = statd_format_guest(g, ctime, &value);
    if (r < 0)
        return r;
    return statd_broadcast_rrd(d, key, value);
}

/* ---- QEMU: QMP of all running VMs in parallel, one deadline ------------------------------ */

typedef struct QmpJob {
    uint32_t vmid;
    uint64_t deadline_ms; /* CLOCK_MONOTONIC */
    pthread_t thread;
    bool started;
    char *qmpstatus;
    bool have_blockstats;
    uint64_t rd, wr;
} QmpJob;

static uint64_t mono_ms(void) {
    struct timespec ts;
    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static unsigned remaining_ms(const QmpJob *j) {
    uint64_t now = mono_ms();
    return now < j->deadline_ms ? (unsigned) (j->deadline_ms - now) : 0;
}

static void *qmp_job_run(void *userdata) {
    QmpJob *j = userdata;
    _cleanup_free_ char *path = NULL;
    _cleanup_(qmp_closep) Qmp *q = NULL;
    unsigned left = remaining_ms(j);
    if (!left || qmp_socket_path(j->vmid, &path) < 0 || qmp_connect(path, left, &q, NULL) < 0)
        return NULL;
    _cleanup_json_ json_t *st = NULL, *blk = NULL;
    if ((left = remaining_ms(j)) && qmp_execute(q, "query-status", NULL, left, &st, NULL) >= 0) {
        const char *s = json_string_value(json_object_get(st, "status"));
        j->qmpstatus = s ? strdup(s) : NULL;
    }
    if ((left = remaining_ms(j)) &&
        qmp_execute(q, "query-blockstats", NULL, left, &blk, NULL) >= 0) {
        size_t i;
        json_t *b;
        json_array_foreach(blk, i, b) {
            json_t *s = json_object_get(b, "stats");
            j->rd += (uint64_t) json_integer_value(json_object_get(s, "rd_bytes"));
            j->wr += (uint64_t) json_integer_value(json_object_get(s, "wr_bytes"));
        }
        j->have_blockstats = true;
    }
    return NULL;
}

static void qmp_jobs_run(QmpJob *jobs, size_t n) {
    pthread_attr_t attr;
    bool attr_ok = pthread_attr_init(&attr) == 0;
    if (attr_ok)
        (void) pthread_attr_setstacksize(&attr, QMP_THREAD_STACK_BYTES);
    uint64_t deadline = mono_ms() + STATD_QMP_BUDGET_MS;
    for (size_t i = 0; i < n; i++) {
        jobs[i].deadline_ms = deadline;
        int r = pthread_create(&jobs[i].thread, attr_ok ? &attr : NULL, qmp_job_run, &jobs[i]);
        jobs[i].started = r == 0;
        if (r != 0)
            log_debug("VM %" PRIu32 ": no thread for QMP: %s", jobs[i].vmid, strerror(r));
    }
    if (attr_ok)
        (void) pthread_attr_destroy(&attr);
    /* every wait inside a job is bounded by the shared deadline: the joins are too */
    for (size_t i = 0; i < n; i++)
        if (jobs[i].started)
            (void) pthread_join(jobs[i].thread, NULL);
}

/* the QMP answers into the status object; what QMP did not tell stays out (-> "U") */
static int qmp_job_apply(const QmpJob *j, json_t *o) {
    (void) json_object_del(o, "diskread");
    (void) json_object_del(o, "diskwrite");
    if (j->qmpstatus && json_util_set_string(o, "qmpstatus", j->qmpstatus) < 0)
        return -ENOMEM;
    if (j->have_blockstats && (json_util_set_int(o, "diskread", (long long) j->rd) < 0 ||
                               json_util_set_int(o, "diskwrite", (long long) j->wr) < 0))
        return -ENOMEM;
    return 0;
}

typedef struct GuestSample {
    json_t *status;
    QmpJob *job; /* running QEMU: its QMP job */
} GuestSample;

static int broadcast_sample(Statd *d, json_t *o, time_t ctime) {
    StatdGuest g;
    int r = statd_guest_from_status(o, &g);
    if (r < 0)
        return r;
    r = broadcast_guest(d, &g, ctime);
    statd_guest_done(&g);
    return r;
}

/* status objects of the guests of one type on this node; configs that cannot be read are
 * skipped (logged at debug level). *ret_n counts the filled entries. */
static int sample_guests(
    GuestType type,
    const char *node,
    int (*status)(uint32_t vmid, const GuestConfig *c, json_t **ret),
    GuestSample **ret,
    size_t *ret_n
) {
    _cleanup_free_ uint32_t *ids = NULL;
    size_t n = 0, k = 0;
    int r = guest_list_local(type, node, &ids, &n);
    if (r < 0)
        return r;
    GuestSample *s = calloc(n ? n : 1, sizeof *s);
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        _cleanup_free_ char *err = NULL;
        if ((r = guest_config_read(type, node, ids[i], &c, NULL, &err)) < 0) {
            log_debug("%s %" PRIu32 ": %s", guest_type_noun(type), ids[i], err ?: strerror(-r));
            continue;
        }
        if (status(ids[i], c, &s[k].status) >= 0)
            k++;
    }
    *ret = s;
    *ret_n = k;
    return 0;
}

static void samples_free(GuestSample *s, size_t n) {
    for (size_t i = 0; s && i < n; i++)
        json_decref(s[i].status);
    free(s);
}

static int qemu_status_noqmp(uint32_t vmid, const GuestConfig *c, json_t **ret) {
    return qemu_vm_status(vmid, c, false, ret);
}

static int broadcast_samples(Statd *d, GuestSample *s, size_t n, time_t ctime) {
    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        int r = s[i].job ? qmp_job_apply(s[i].job, s[i].status) : 0;
        if (r >= 0)
            r = broadcast_sample(d, s[i].status, ctime);
        if (r < 0)
            ret = r;
    }
    return ret;
}

int statd_collect_qemu(Statd *d, time_t ctime) {
    GuestSample *s = NULL;
    size_t n = 0;
    int r = sample_guests(GUEST_TYPE_QEMU, statd_config(d)->nodename, qemu_status_noqmp, &s, &n);
    if (r < 0)
        return r;
    QmpJob *jobs = calloc(n ? n : 1, sizeof *jobs);
    size_t n_jobs = 0;
    if (!jobs) {
        samples_free(s, n);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *st = json_string_value(json_object_get(s[i].status, "status"));
        if (st && streq(st, "running")) {
            jobs[n_jobs].vmid = (uint32_t) json_integer_value(json_object_get(s[i].status, "vmid"));
            s[i].job = &jobs[n_jobs++];
        }
    }
    qmp_jobs_run(jobs, n_jobs);
    r = broadcast_samples(d, s, n, ctime);
    for (size_t i = 0; i < n_jobs; i++)
        free(jobs[i].qmpstatus);
    free(jobs);
    samples_free(s, n);
    return r;
}

int statd_collect_lxc(Statd *d, time_t ctime) {
    GuestSample *s = NULL;
    size_t n = 0;
    int r = sample_guests(GUEST_TYPE_LXC, statd_config(d)->nodename, lxc_ct_status, &s, &n);
    if (r < 0)
        return r;
    r = broadcast_samples(d, s, n, ctime);
    samples_free(s, n);
    return r;
}
