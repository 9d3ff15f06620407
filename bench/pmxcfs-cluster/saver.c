/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * saver: Proxmox VE config saves in a loop, timed one by one. A save is what
 * PVE::Tools::file_set_contents does for every guest or storage config: open
 * "<path>.tmp.<pid>" (O_WRONLY|O_CREAT|O_TRUNC), write the whole content, close, rename it over
 * <path>. On a clustered /etc/pve each of create, write and rename is one replicated pmxcfs
 * operation (a CPG round trip); close has to succeed too, since FUSE reports flush errors there.
 *
 *   saver [--count=N | --seconds=T] [--size=BYTES] [--warmup=N] [--start-at=EPOCH]
 *         [--samples=FILE] PATH
 *
 * --count=N: N measured saves (default 1000). --seconds=T: as many as fit in T seconds
 * (overrides --count). --size: content size (1024). --warmup: saves before measuring (10).
 * --start-at: wait until this CLOCK_REALTIME second (fractions allowed) before the first
 * measured save, so writers on several nodes start together. --samples: append one line per
 * measured save to FILE: "total open write close rename", in us.
 *
 * Prints one machine-readable line ("saver count=... saves_per_s=... p50_us=... p99_us=...",
 * plus the p50 of each syscall: open_p50_us=... write_p50_us=... close_p50_us=...
 * rename_p50_us=...), then human lines starting with "# ". The only files it touches are PATH
 * and its tmp file, which it removes on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"

static unsigned arg_count = 1000;
static double arg_seconds;
static unsigned arg_size = 1024;
static unsigned arg_warmup = 10;
static double arg_start_at;
static const char *arg_path;
static const char *arg_samples;

/* A guest-config-like text of exactly `size` bytes that differs on every save. */
static void fill_content(char *buf, size_t size, uint64_t n) {
    static const char body[] =
        "boot: order=scsi0;net0\ncores: 2\nmemory: 2048\n"
        "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0\nostype: l26\n"
        "scsi0: local-lvm:vm-100-disk-0,size=32G\nscsihw: virtio-scsi-pci\n";
    int k = snprintf(buf, size, "# save %llu\n", (unsigned long long) n);
    size_t off = k < 0 ? 0 : (size_t) k < size ? (size_t) k : size - 1;
    while (off < size) {
        size_t len = sizeof body - 1;
        if (len > size - off)
            len = size - off;
        memcpy(buf + off, body, len);
        off += len;
    }
    if (size > 0)
        buf[size - 1] = '\n';
}

enum { STEP_OPEN, STEP_WRITE, STEP_CLOSE, STEP_RENAME, _STEP_MAX };
static const char *const step_name[_STEP_MAX] = {"open", "write", "close", "rename"};

/* One save. Returns its duration in ns and fills ret_steps with the time of each syscall, or
 * returns a negative errno (and says which step failed). */
static int64_t save_once(const char *tmp, const char *buf, size_t size, uint64_t ret_steps[]) {
    uint64_t t[_STEP_MAX + 1];
    int step = STEP_OPEN;

    t[STEP_OPEN] = now_ns();
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        goto fail;
    step = STEP_WRITE;
    t[STEP_WRITE] = now_ns();
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, buf + off, size - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            (void) close(fd);
            errno = e;
            goto fail;
        }
        off += (size_t) n;
    }
    step = STEP_CLOSE;
    t[STEP_CLOSE] = now_ns();
    if (close(fd) < 0)
        goto fail;
    step = STEP_RENAME;
    t[STEP_RENAME] = now_ns();
    if (rename(tmp, arg_path) < 0)
        goto fail;
    t[_STEP_MAX] = now_ns();
    for (int i = 0; i < _STEP_MAX; i++)
        ret_steps[i] = t[i + 1] - t[i];
    return (int64_t) (t[_STEP_MAX] - t[STEP_OPEN]);
fail:;
    int e = errno;
    fprintf(stderr, "saver: %s %s: %s\n", step_name[step], tmp, strerror(e));
    (void) unlink(tmp);
    return -e;
}

/* One line per save, in the order taken: "total open write close rename" in us. */
static int write_samples(const Samples *s, const Samples steps[]) {
    FILE *f = fopen(arg_samples, "ae");
    if (!f)
        return -errno;
    for (size_t i = 0; i < s->n; i++) {
        fprintf(f, "%.1f", (double) s->ns[i] / 1000.0);
        for (int k = 0; k < _STEP_MAX; k++)
            fprintf(f, " %.1f", (double) steps[k].ns[i] / 1000.0);
        fputc('\n', f);
    }
    int r = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    return r;
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

static int parse_double(const char *s, double *ret) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < 0)
        return -EINVAL;
    *ret = v;
    return 0;
}

static void usage(void) {
    fprintf(
        stderr,
        "usage: saver [--count=N | --seconds=T] [--size=BYTES] [--warmup=N] "
        "[--start-at=EPOCH] [--samples=FILE] PATH\n"
    );
}

static int parse_args(int argc, char *argv[]) {
    static const struct option opts[] = {
        {"count", required_argument, NULL, 'c'},    {"seconds", required_argument, NULL, 'T'},
        {"size", required_argument, NULL, 's'},     {"warmup", required_argument, NULL, 'w'},
        {"start-at", required_argument, NULL, 'S'}, {"samples", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},           {},
    };
    int c;

    while ((c = getopt_long(argc, argv, "c:T:s:w:S:F:h", opts, NULL)) >= 0) {
        int k;
        switch (c) {
        case 'c':
            k = parse_uint(optarg, 1, 100000000, &arg_count);
            break;
        case 'T':
            k = parse_double(optarg, &arg_seconds);
            break;
        case 's':
            k = parse_uint(optarg, 1, 1 << 20, &arg_size);
            break;
        case 'w':
            k = parse_uint(optarg, 0, 100000000, &arg_warmup);
            break;
        case 'S':
            k = parse_double(optarg, &arg_start_at);
            break;
        case 'F':
            arg_samples = optarg;
            k = 0;
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
    if (optind != argc - 1) {
        usage();
        return -EINVAL;
    }
    arg_path = argv[optind];
    return 0;
}

static int run(int argc, char *argv[]) {
    Samples s = {0}, steps[_STEP_MAX] = {0};
    uint64_t step_ns[_STEP_MAX];
    char *buf = NULL, *tmp = NULL;
    uint64_t n = 0;
    int ret = -ENOMEM;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv) < 0)
        return -EINVAL;
    buf = malloc(arg_size);
    if (!buf || asprintf(&tmp, "%s.tmp.%d", arg_path, (int) getpid()) < 0) {
        tmp = NULL;
        fprintf(stderr, "saver: out of memory\n");
        goto finish;
    }

    for (unsigned i = 0; i < arg_warmup; i++) {
        fill_content(buf, arg_size, ++n);
        int64_t ns = save_once(tmp, buf, arg_size, step_ns);
        if (ns < 0) {
            ret = (int) ns;
            goto finish;
        }
    }
    if (arg_start_at > 0) {
        struct timespec at = {
            .tv_sec = (time_t) arg_start_at,
            .tv_nsec = (long) ((arg_start_at - (double) (time_t) arg_start_at) * 1e9),
        };
        while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL) == EINTR)
            ;
    }

    uint64_t t_start = now_ns();
    uint64_t t_end = t_start + (uint64_t) (arg_seconds * 1e9);
    for (;;) {
        if (arg_seconds > 0 ? now_ns() >= t_end : s.n >= arg_count)
            break;
        fill_content(buf, arg_size, ++n);
        int64_t ns = save_once(tmp, buf, arg_size, step_ns);
        if (ns < 0) {
            ret = (int) ns;
            goto finish;
        }
        int k = samples_add(&s, (uint64_t) ns);
        for (int i = 0; i < _STEP_MAX && k >= 0; i++)
            k = samples_add(&steps[i], step_ns[i]);
        if (k < 0) {
            fprintf(stderr, "saver: out of memory\n");
            goto finish;
        }
    }
    double secs = (double) (now_ns() - t_start) / 1e9;
    if (arg_samples && (ret = write_samples(&s, steps)) < 0) {
        fprintf(stderr, "saver: %s: %s\n", arg_samples, strerror(-ret));
        goto finish;
    }

    double mean = samples_mean_us(&s);
    samples_sort(&s);
    double p50 = samples_pct_us(&s, 50), p99 = samples_pct_us(&s, 99);
    double lo = samples_pct_us(&s, 0), hi = samples_pct_us(&s, 100);
    double rate = secs > 0 ? (double) s.n / secs : 0;
    double step_p50[_STEP_MAX];
    for (int i = 0; i < _STEP_MAX; i++) {
        samples_sort(&steps[i]);
        step_p50[i] = samples_pct_us(&steps[i], 50);
    }
    printf(
        "saver count=%zu seconds=%.3f saves_per_s=%.1f p50_us=%.1f p99_us=%.1f mean_us=%.1f "
        "min_us=%.1f max_us=%.1f open_p50_us=%.1f write_p50_us=%.1f close_p50_us=%.1f "
        "rename_p50_us=%.1f size=%u path=%s\n",
        s.n, secs, rate, p50, p99, mean, lo, hi, step_p50[STEP_OPEN], step_p50[STEP_WRITE],
        step_p50[STEP_CLOSE], step_p50[STEP_RENAME], arg_size, arg_path
    );
    printf(
        "# %zu saves of %u bytes to %s in %.2f s: %.0f saves/s, p50 %.0f us, p99 %.0f us, "
        "mean %.0f us, max %.0f us\n",
        s.n, arg_size, arg_path, secs, rate, p50, p99, mean, hi
    );
    printf(
        "#   p50 per syscall: open(O_CREAT) %.0f us, write %.0f us, close %.0f us, rename %.0f "
        "us\n",
        step_p50[STEP_OPEN], step_p50[STEP_WRITE], step_p50[STEP_CLOSE], step_p50[STEP_RENAME]
    );
    ret = 0;
finish:
    free(tmp);
    free(buf);
    samples_free(&s);
    for (int i = 0; i < _STEP_MAX; i++)
        samples_free(&steps[i]);
    return ret;
}

int main(int argc, char *argv[]) {
    int r = run(argc, argv);
    return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
