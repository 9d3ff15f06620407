/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * stats.h: latency samples for the pmxcfs-cluster bench programs (cpg-rtt, saver). A growable
 * array of nanosecond samples, nearest-rank percentiles and a mean. Header-only, so each bench
 * program stays a single translation unit; it prints nothing and exits nothing.
 */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Samples {
    uint64_t *ns;
    size_t n;
    size_t cap;
} Samples;

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

/* Returns 0, or -ENOMEM (the sample is dropped). */
static inline int samples_add(Samples *s, uint64_t ns) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *p = realloc(s->ns, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        s->ns = p;
        s->cap = cap;
    }
    s->ns[s->n++] = ns;
    return 0;
}

static inline int samples_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Sorts in place; call once before samples_pct_us(). */
static inline void samples_sort(Samples *s) {
    if (s->n > 1)
        qsort(s->ns, s->n, sizeof *s->ns, samples_cmp);
}

/* Nearest-rank percentile (p in 0..100) of sorted samples, in microseconds; 0 if empty. */
static inline double samples_pct_us(const Samples *s, double p) {
    if (s->n == 0)
        return 0;
    size_t rank = (size_t) ((p / 100.0) * (double) s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return (double) s->ns[rank - 1] / 1000.0;
}

static inline double samples_mean_us(const Samples *s) {
    if (s->n == 0)
        return 0;
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += (double) s->ns[i];
    return sum / (double) s->n / 1000.0;
}

/* Appends the samples, in us with one decimal, one per line, in the order taken (call before
 * samples_sort()). Returns 0 or a negative errno. */
static inline int samples_append_file(const Samples *s, const char *path) {
    FILE *f = fopen(path, "ae");
    if (!f)
        return -errno;
    for (size_t i = 0; i < s->n; i++)
        fprintf(f, "%.1f\n", (double) s->ns[i] / 1000.0);
    int r = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    return r;
}

static inline void samples_free(Samples *s) {
    free(s->ns);
    memset(s, 0, sizeof *s);
}
