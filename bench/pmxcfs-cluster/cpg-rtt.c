/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cpg-rtt: the raw corosync CPG round trip, the floor under every pmxcfs cluster write. pmxcfs's
 * dfsm multicasts each mutating FUSE operation with cpg_mcast_joined(CPG_TYPE_AGREED) and the
 * writer waits until corosync delivers its own message back; this program does exactly that and
 * nothing else: same library (libcpg, CPG_MODEL_V1), same ordering, same fd-driven
 * cpg_dispatch(CS_DISPATCH_ALL), one message in flight at a time.
 *
 *   cpg-rtt [options] ping     join, wait for --members, then time --count round trips
 *                              (multicast of --size bytes until its own delivery)
 *   cpg-rtt [options] member   join and stay (dispatching) until SIGTERM/SIGINT, so the group
 *                              has as many members as pmxcfs's pve_dcdb_v1 would
 *
 * Options: --group=NAME (bench_rtt), --size=BYTES (1100), --count=N (1000), --warmup=N (50,
 * not counted), --members=N (1), --timeout=SEC (30; for the members and for each delivery),
 * --samples=FILE (append every measured round trip to FILE, in us, one per line).
 *
 * ping prints one machine-readable line ("cpg-rtt count=... p50_us=... p99_us=... mean_us=...")
 * then one human line starting with "# ". It owns nothing but its CPG handle; it must not run
 * outside a test cluster (the harness gives it a private corosync).
 */
#include <corosync/cpg.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpg-wait.h"
#include "stats.h"

#define RTT_MAGIC UINT32_C(0x52545431) /* "RTT1" */

typedef struct Rtt {
    cpg_handle_t cpg;
    unsigned nodeid;
    uint32_t pid;
    unsigned members;
    uint64_t want_seq; /* sequence number of our message in flight, 0: none */
    bool delivered;
    uint64_t n_delivered; /* every message delivered to us, ours or not */
} Rtt;

/* The payload starts with this header; the rest is filler. */
typedef struct RttHeader {
    uint32_t magic;
    uint32_t pid;
    uint64_t seq;
} RttHeader;

static const char *arg_group = "bench_rtt";
static size_t arg_size = 1100;
static unsigned arg_count = 1000;
static unsigned arg_warmup = 50;
static unsigned arg_members = 1;
static unsigned arg_timeout_s = 30;
static const char *arg_samples;
static volatile sig_atomic_t stop_requested;

static void on_deliver(
    cpg_handle_t handle,
    const struct cpg_name *group,
    uint32_t nodeid,
    uint32_t pid,
    void *msg,
    size_t msg_len
) {
    Rtt *r = NULL;
    RttHeader h;

    (void) group;
    if (cpg_context_get(handle, (void **) &r) != CS_OK || !r)
        return;
    r->n_delivered++;
    if (msg_len < sizeof h)
        return;
    memcpy(&h, msg, sizeof h);
    if (h.magic == RTT_MAGIC && nodeid == r->nodeid && pid == r->pid && h.pid == r->pid &&
        h.seq == r->want_seq)
        r->delivered = true;
}

static void on_confchg(
    cpg_handle_t handle,
    const struct cpg_name *group,
    const struct cpg_address *members,
    size_t n_members,
    const struct cpg_address *left,
    size_t n_left,
    const struct cpg_address *joined,
    size_t n_joined
) {
    Rtt *r = NULL;

    (void) group, (void) members, (void) left, (void) n_left, (void) joined, (void) n_joined;
    if (cpg_context_get(handle, (void **) &r) == CS_OK && r)
        r->members = (unsigned) n_members;
}

static cpg_model_v1_data_t cpg_model = {
    .model = CPG_MODEL_V1,
    .cpg_deliver_fn = on_deliver,
    .cpg_confchg_fn = on_confchg,
    .cpg_totem_confchg_fn = NULL,
    .flags = 0,
};

static void on_signal(int sig) {
    (void) sig;
    stop_requested = 1;
}

static int wait_members(Rtt *r, int fd, const sigset_t *waitmask) {
    uint64_t deadline = now_ns() + (uint64_t) arg_timeout_s * UINT64_C(1000000000);
    while (r->members < arg_members) {
        uint64_t t = now_ns();
        if (t >= deadline || stop_requested) {
            fprintf(
                stderr, "cpg-rtt: only %u of %u members in '%s' after %u s\n", r->members,
                arg_members, arg_group, arg_timeout_s
            );
            return -ETIMEDOUT;
        }
        int ms = (int) ((deadline - t) / 1000000u) + 1;
        int k = cpg_wait_dispatch(r->cpg, fd, ms > 100 ? 100 : ms, waitmask);
        if (k < 0)
            return k;
    }
    return 0;
}

/* One multicast of buf and the wait for its own delivery. Returns the round trip in ns (retries
 * on CS_ERR_TRY_AGAIN included, as pmxcfs pays them too), or a negative errno. */
static int64_t round_trip(Rtt *r, int fd, char *buf, uint64_t seq, const sigset_t *waitmask) {
    RttHeader h = {.magic = RTT_MAGIC, .pid = r->pid, .seq = seq};
    struct iovec v = {.iov_base = buf, .iov_len = arg_size};
    memcpy(buf, &h, sizeof h);

    uint64_t t0 = now_ns();
    uint64_t deadline = t0 + (uint64_t) arg_timeout_s * UINT64_C(1000000000);
    r->want_seq = seq;
    r->delivered = false;
    for (;;) {
        cs_error_t e = cpg_mcast_joined(r->cpg, CPG_TYPE_AGREED, &v, 1);
        if (e == CS_OK)
            break;
        if (e != CS_ERR_TRY_AGAIN || now_ns() >= deadline) {
            fprintf(stderr, "cpg-rtt: cpg_mcast_joined failed (%d)\n", (int) e);
            return -EIO;
        }
        (void) usleep(1000);
    }
    while (!r->delivered) {
        uint64_t t = now_ns();
        if (t >= deadline || stop_requested) {
            fprintf(stderr, "cpg-rtt: message %" PRIu64 " not delivered\n", seq);
            return -ETIMEDOUT;
        }
        int k = cpg_wait_dispatch(r->cpg, fd, (int) ((deadline - t) / 1000000u) + 1, waitmask);
        if (k < 0)
            return k;
    }
    return (int64_t) (now_ns() - t0);
}

static int ping(Rtt *r, int fd, const sigset_t *waitmask) {
    Samples s = {0};
    char *buf = malloc(arg_size);
    int ret = -ENOMEM;

    if (!buf)
        goto finish;
    for (size_t i = sizeof(RttHeader); i < arg_size; i++)
        buf[i] = (char) ('a' + i % 26);

    uint64_t t_start = now_ns();
    for (unsigned i = 0; i < arg_warmup + arg_count; i++) {
        int64_t ns = round_trip(r, fd, buf, (uint64_t) i + 1, waitmask);
        if (ns < 0) {
            ret = (int) ns;
            goto finish;
        }
        if (i == arg_warmup)
            t_start = now_ns() - (uint64_t) ns;
        if (i >= arg_warmup && samples_add(&s, (uint64_t) ns) < 0)
            goto finish;
    }
    double secs = (double) (now_ns() - t_start) / 1e9;
    if (arg_samples && (ret = samples_append_file(&s, arg_samples)) < 0) {
        fprintf(stderr, "cpg-rtt: %s: %s\n", arg_samples, strerror(-ret));
        goto finish;
    }

    double mean = samples_mean_us(&s);
    samples_sort(&s);
    double p50 = samples_pct_us(&s, 50), p99 = samples_pct_us(&s, 99);
    double lo = samples_pct_us(&s, 0), hi = samples_pct_us(&s, 100);
    printf(
        "cpg-rtt count=%zu size=%zu members=%u p50_us=%.1f p99_us=%.1f mean_us=%.1f min_us=%.1f "
        "max_us=%.1f msgs_per_s=%.0f\n",
        s.n, arg_size, r->members, p50, p99, mean, lo, hi, secs > 0 ? (double) s.n / secs : 0
    );
    printf(
        "# CPG round trip (AGREED, %zu bytes, %u members, group %s): p50 %.0f us, p99 %.0f us, "
        "mean %.0f us, min %.0f us, max %.0f us over %zu messages\n",
        arg_size, r->members, arg_group, p50, p99, mean, lo, hi, s.n
    );
    ret = 0;
finish:
    free(buf);
    samples_free(&s);
    return ret;
}

static int member(Rtt *r, int fd, const sigset_t *waitmask) {
    while (!stop_requested) {
        int k = cpg_wait_dispatch(r->cpg, fd, -1, waitmask);
        if (k < 0)
            return k;
    }
    fprintf(stderr, "cpg-rtt: member leaving, %" PRIu64 " messages delivered\n", r->n_delivered);
    return 0;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -EINVAL;
    *ret = (unsigned) v;
    return 0;
}

static void usage(void) {
    fprintf(
        stderr,
        "usage: cpg-rtt [--group=NAME] [--size=BYTES] [--count=N] [--warmup=N] "
        "[--members=N] [--timeout=SEC] [--samples=FILE] ping|member\n"
    );
}

static int parse_args(int argc, char *argv[], bool *ret_ping) {
    static const struct option opts[] = {
        {"group", required_argument, NULL, 'g'},
        {"size", required_argument, NULL, 's'},
        {"count", required_argument, NULL, 'c'},
        {"warmup", required_argument, NULL, 'w'},
        {"members", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {"samples", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    unsigned size = 0;
    int c;

    while ((c = getopt_long(argc, argv, "g:s:c:w:m:t:S:h", opts, NULL)) >= 0) {
        int k = 0;
        switch (c) {
        case 'g':
            if (strlen(optarg) == 0 || strlen(optarg) >= CPG_MAX_NAME_LENGTH)
                k = -EINVAL;
            arg_group = optarg;
            break;
        case 's':
            k = parse_uint(optarg, sizeof(RttHeader), 1 << 20, &size);
            arg_size = size;
            break;
        case 'c':
            k = parse_uint(optarg, 1, 10000000, &arg_count);
            break;
        case 'w':
            k = parse_uint(optarg, 0, 10000000, &arg_warmup);
            break;
        case 'm':
            k = parse_uint(optarg, 1, 1000, &arg_members);
            break;
        case 't':
            k = parse_uint(optarg, 1, 3600, &arg_timeout_s);
            break;
        case 'S':
            arg_samples = optarg;
            break;
        case 'h':
            usage();
            exit(EXIT_SUCCESS);
        default:
            k = -EINVAL;
        }
        if (k < 0) {
            usage();
            return -EINVAL;
        }
    }
    if (optind != argc - 1 || (strcmp(argv[optind], "ping") && strcmp(argv[optind], "member"))) {
        usage();
        return -EINVAL;
    }
    *ret_ping = strcmp(argv[optind], "ping") == 0;
    return 0;
}

static int run(int argc, char *argv[]) {
    Rtt r = {.pid = (uint32_t) getpid()};
    struct cpg_name name = {0};
    sigset_t block, waitmask;
    bool do_ping;
    int fd = -1, ret;
    cs_error_t e;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv, &do_ping) < 0)
        return -EINVAL;

    /* Signals only interrupt ppoll(), so a stop request is never lost between checks. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);
    (void) sigaction(SIGTERM, &sa, NULL);
    (void) sigaction(SIGINT, &sa, NULL);

    e = cpg_model_initialize(&r.cpg, CPG_MODEL_V1, (cpg_model_data_t *) &cpg_model, &r);
    if (e != CS_OK) {
        fprintf(stderr, "cpg-rtt: cpg_model_initialize failed (%d): is corosync running?\n", e);
        return -ENOTCONN;
    }
    if (cpg_local_get(r.cpg, &r.nodeid) != CS_OK || cpg_fd_get(r.cpg, &fd) != CS_OK) {
        fprintf(stderr, "cpg-rtt: cpg_local_get/cpg_fd_get failed\n");
        ret = -ENOTCONN;
        goto finish;
    }
    name.length = (uint32_t) strlen(arg_group);
    memcpy(name.value, arg_group, name.length);
    e = cpg_join_retry(r.cpg, arg_group);
    if (e != CS_OK) {
        fprintf(stderr, "cpg-rtt: cpg_join '%s' failed (%d)\n", arg_group, e);
        ret = -ENOTCONN;
        goto finish;
    }

    if (do_ping) {
        ret = wait_members(&r, fd, &waitmask);
        if (ret >= 0)
            ret = ping(&r, fd, &waitmask);
    } else {
        ret = member(&r, fd, &waitmask);
    }
    (void) cpg_leave(r.cpg, &name);
finish:
    (void) cpg_finalize(r.cpg);
    return ret;
}

int main(int argc, char *argv[]) {
    int r = run(argc, argv);
    return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
