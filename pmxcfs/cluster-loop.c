/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cluster-loop: one thread running an sd-event loop that owns the corosync connections of a
 * clustered pmxcfs (see cluster-loop.h). Per service it keeps three event sources: a one-shot
 * "retry" timer that calls init() (at start, then CLUSTER_LOOP_RETRY_S s after every failure,
 * CLUSTER_LOOP_REJOIN_MS after a service left its group on purpose),
 * the io source on the fd init() returned (priority = the service's), and the optional
 * periodic timer. A failed dispatch, or a hang-up on the fd, finalises the service and arms
 * the retry timer again.
 *
 * Only the loop thread touches the services and the sd_event; other threads see the "up"
 * flags (atomics) and wake the loop through an eventfd to stop it. Services are finalised on
 * the loop thread before it exits, so every corosync handle lives and dies on one thread.
 * This module does not know what the services do and never blocks on them.
 */
#include "cluster-loop.h"

#include <sys/eventfd.h>

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "pve/log.h"

#define USEC_PER_SEC 1000000ULL

typedef struct LoopService {
    ClusterLoop *loop;
    CfsService *svc;
    sd_event_source *retry;
    sd_event_source *io;
    sd_event_source *timer;
    atomic_bool up;
    unsigned failures; /* consecutive failed init() calls, to log only the first one loudly */
} LoopService;

struct ClusterLoop {
    sd_event *event;
    int wake_fd;
    pthread_t thread;
    bool thread_started;
    LoopService *services;
    size_t n_services;
};

static void service_schedule_retry(LoopService *ls, uint64_t usec);

static void service_down(LoopService *ls) {
    ls->io = sd_event_source_disable_unref(ls->io);
    ls->timer = sd_event_source_disable_unref(ls->timer);
    if (atomic_exchange(&ls->up, false) && ls->svc->finalize)
        ls->svc->finalize(ls->svc->userdata);
}

static void service_fail(LoopService *ls, int r, const char *what) {
    log_warning_errno(
        r, "cluster service '%s': %s failed, reconnecting in %d s: %m", ls->svc->name, what,
        CLUSTER_LOOP_RETRY_S
    );
    service_down(ls);
    service_schedule_retry(ls, CLUSTER_LOOP_RETRY_S * USEC_PER_SEC);
}

static int on_service_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
    LoopService *ls = userdata;
    (void) s, (void) fd;

    int r = ls->svc->dispatch(ls->svc->userdata);
    if (r == -ECONNRESET) {
        log_info("cluster service '%s' left its group to resync; rejoining", ls->svc->name);
        service_down(ls);
        service_schedule_retry(ls, CLUSTER_LOOP_REJOIN_MS * 1000ULL);
    } else if (r < 0)
        service_fail(ls, r, "dispatch");
    else if (revents & (EPOLLHUP | EPOLLERR))
        /* Nothing more will come, and a level-triggered hang-up would spin the loop. */
        service_fail(ls, -EPIPE, "connection");
    return 0;
}

static int on_service_timer(sd_event_source *s, uint64_t usec, void *userdata) {
    LoopService *ls = userdata;
    (void) usec;

    ls->svc->timer(ls->svc->userdata);
    /* The timer callback may not tear the service down, but dispatch failures run first when
     * both are pending; only re-arm while this source is still ours. */
    if (ls->timer == s) {
        (void) sd_event_source_set_time_relative(s, (uint64_t) ls->svc->period_s * USEC_PER_SEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
    }
    return 0;
}

static int on_service_retry(sd_event_source *s, uint64_t usec, void *userdata) {
    LoopService *ls = userdata;
    CfsService *svc = ls->svc;
    sd_event *e = sd_event_source_get_event(s);
    int r;
    (void) usec;

    int fd = svc->init(svc->userdata);
    if (fd < 0) {
        if (ls->failures++ == 0)
            log_notice_errno(
                fd, "cluster service '%s' not available yet, retrying every %d s: %m", svc->name,
                CLUSTER_LOOP_RETRY_S
            );
        else
            log_debug_errno(fd, "cluster service '%s': init failed again: %m", svc->name);
        service_schedule_retry(ls, CLUSTER_LOOP_RETRY_S * USEC_PER_SEC);
        return 0;
    }
    atomic_store(&ls->up, true);

    r = sd_event_add_io(e, &ls->io, fd, EPOLLIN, on_service_io, ls);
    if (r >= 0)
        r = sd_event_source_set_priority(ls->io, svc->priority);
    if (r >= 0 && svc->timer && svc->period_s > 0) {
        r = sd_event_add_time_relative(
            e, &ls->timer, CLOCK_MONOTONIC, (uint64_t) svc->period_s * USEC_PER_SEC, 0,
            on_service_timer, ls
        );
        if (r >= 0)
            r = sd_event_source_set_priority(ls->timer, svc->priority);
    }
    if (r < 0) {
        service_fail(ls, r, "watching its connection");
        return 0;
    }
    if (ls->failures > 0)
        log_info("cluster service '%s' connected (after %u attempts)", svc->name, ls->failures + 1);
    else
        log_debug("cluster service '%s' connected", svc->name);
    ls->failures = 0;
    return 0;
}

static void service_schedule_retry(LoopService *ls, uint64_t usec) {
    int r;
    if (ls->retry) {
        r = sd_event_source_set_time_relative(ls->retry, usec);
        if (r >= 0)
            r = sd_event_source_set_enabled(ls->retry, SD_EVENT_ONESHOT);
    } else {
        r = sd_event_add_time_relative(
            ls->loop->event, &ls->retry, CLOCK_MONOTONIC, usec, 0, on_service_retry, ls
        );
        if (r >= 0)
            r = sd_event_source_set_priority(ls->retry, ls->svc->priority);
    }
    if (r < 0)
        /* Only fails on OOM; the service then stays down until the next restart. */
        log_error_errno(r, "cluster service '%s': cannot schedule a reconnect: %m", ls->svc->name);
}

static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
    uint64_t v;
    (void) revents, (void) userdata;
    (void) read(fd, &v, sizeof v);
    return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void *loop_thread(void *userdata) {
    ClusterLoop *l = userdata;
    int r = sd_event_loop(l->event);
    if (r < 0)
        log_error_errno(r, "cluster loop failed: %m");
    for (size_t i = 0; i < l->n_services; i++) {
        service_down(&l->services[i]);
        l->services[i].retry = sd_event_source_disable_unref(l->services[i].retry);
    }
    return NULL;
}

ClusterLoop *cluster_loop_stop(ClusterLoop *l) {
    if (!l)
        return NULL;
    if (l->thread_started) {
        assert(!pthread_equal(pthread_self(), l->thread));
        uint64_t one = 1;
        if (write(l->wake_fd, &one, sizeof one) < 0)
            log_error_errno(errno, "cannot wake the cluster loop: %m");
        (void) pthread_join(l->thread, NULL);
        l->thread_started = false;
    }
    if (l->services)
        for (size_t i = 0; i < l->n_services; i++) {
            /* Only reached without a thread (start failed half-way): nothing is up. */
            l->services[i].retry = sd_event_source_disable_unref(l->services[i].retry);
        }
    l->event = sd_event_unref(l->event);
    l->wake_fd = safe_close(l->wake_fd);
    free(l->services);
    free(l);
    return NULL;
}

int cluster_loop_start(CfsService *const *services, size_t n, ClusterLoop **ret) {
    _cleanup_(cluster_loop_stopp) ClusterLoop *l = calloc(1, sizeof *l);
    int r;

    if (!l)
        return -ENOMEM;
    l->wake_fd = -EBADF;
    l->services = calloc(n ? n : 1, sizeof *l->services);
    if (!l->services)
        return -ENOMEM;
    l->n_services = n;

    r = sd_event_new(&l->event);
    if (r < 0)
        return r;
    l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->wake_fd < 0)
        return -errno;
    r = sd_event_add_io(l->event, NULL, l->wake_fd, EPOLLIN, on_wake, l);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        LoopService *ls = &l->services[i];
        assert(services[i] && services[i]->init && services[i]->dispatch);
        ls->loop = l;
        ls->svc = services[i];
        atomic_init(&ls->up, false);
        service_schedule_retry(ls, 0); /* connect right away */
        if (!ls->retry)
            return -ENOMEM;
    }

    /* The thread must not take process signals (SIGTERM belongs to the main loop). */
    sigset_t all, old;
    sigfillset(&all);
    (void) pthread_sigmask(SIG_BLOCK, &all, &old);
    r = -pthread_create(&l->thread, NULL, loop_thread, l);
    (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0)
        return r;
    l->thread_started = true;
    *ret = TAKE_PTR(l);
    return 0;
}

bool cluster_loop_service_up(ClusterLoop *l, const CfsService *s) {
    if (!l)
        return false;
    for (size_t i = 0; i < l->n_services; i++)
        if (l->services[i].svc == s)
            return atomic_load(&l->services[i].up);
    return false;
}
