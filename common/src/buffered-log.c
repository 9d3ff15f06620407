/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * buffered-log: batches whole log lines and writes them with one write(2) per batch (see
 * the header for when). Under load the per-request write of pveproxy's access log was one
 * of the few syscalls of a request served from a kept-alive connection.
 *
 * Owns: the pending bytes and the one-shot timer that writes them. Must not split a line
 * between writes (O_APPEND writers in other processes share the file).
 */
#include "pve/buffered-log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pve/strbuf.h"

struct BufferedLog {
    int fd;
    StrBuf pending;
    sd_event_source *timer;
};

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* dropped: see the header */
        p += w;
        n -= (size_t) w;
    }
}

void buffered_log_flush(BufferedLog *l) {
    if (!l)
        return;
    if (l->pending.len > 0)
        write_all(l->fd, l->pending.data, l->pending.len);
    strbuf_truncate(&l->pending, 0);
    (void) sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
    (void) es, (void) usec;
    buffered_log_flush(userdata);
    return 0;
}

int buffered_log_new(sd_event *e, int fd, BufferedLog **ret) {
    BufferedLog *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->fd = fd;
    /* accuracy 10 ms: the timer needs no precision and may share wake-ups */
    int r = sd_event_add_time(e, &l->timer, CLOCK_MONOTONIC, 0, 10 * 1000, on_timer, l);
    if (r < 0) {
        free(l);
        return r;
    }
    (void) sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
    *ret = l;
    return 0;
}

void buffered_log_append(BufferedLog *l, const char *line, size_t len) {
    if (l->fd < 0)
        return;
    if (l->pending.len + len > BUFFERED_LOG_MAX)
        buffered_log_flush(l);
    bool was_empty = l->pending.len == 0;
    strbuf_append_len(&l->pending, line, len);
    if (l->pending.error) { /* no memory: the batch (whole lines), then this line directly */
        l->pending.error = 0;
        buffered_log_flush(l);
        write_all(l->fd, line, len);
        return;
    }
    if (was_empty) {
        uint64_t now = 0;
        (void) sd_event_now(sd_event_source_get_event(l->timer), CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(l->timer, now + BUFFERED_LOG_DELAY_USEC);
        (void) sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
    }
}

void buffered_log_printf(BufferedLog *l, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t) n < sizeof buf) {
        buffered_log_append(l, buf, (size_t) n);
        return;
    }
    char *big = NULL;
    va_start(ap, fmt);
    n = vasprintf(&big, fmt, ap);
    va_end(ap);
    if (n >= 0)
        buffered_log_append(l, big, (size_t) n);
    free(big);
}

BufferedLog *buffered_log_free(BufferedLog *l) {
    if (!l)
        return NULL;
    buffered_log_flush(l);
    sd_event_source_disable_unref(l->timer);
    strbuf_done(&l->pending);
    free(l);
    return NULL;
}
