/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * prefork: the worker pool of the API daemons (see prefork.h).
 */
#include "pve/prefork.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "pve/http-server.h"
#include "pve/log.h"

#define RESPAWN_DELAY_USEC (1000ULL * 1000ULL)

typedef struct Worker {
    pid_t pid;      /* 0 = slot empty */
    unsigned index; /* slot number passed to fn */
    bool retired;   /* old generation: not restarted */
} Worker;

struct Prefork {
    sd_event *event;
    sd_event_source *sigchld;
    sd_event_source *respawn;
    PreforkWorkerFn fn;
    void *userdata;
    unsigned n;      /* workers per generation */
    Worker *workers; /* current generation first, retired ones after */
    size_t n_workers, cap;
};

static int spawn(Prefork *p, Worker *w) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(0);
        _exit(p->fn(w->index, p->userdata) < 0 ? 1 : 0);
    }
    w->pid = pid;
    log_debug("worker %u started (pid %d)", w->index, (int) pid);
    return 0;
}

static int respawn_missing(sd_event_source *s, uint64_t usec, void *userdata) {
    Prefork *p = userdata;
    (void) s;
    (void) usec;
    for (size_t i = 0; i < p->n_workers; i++) {
        Worker *w = &p->workers[i];
        if (w->pid == 0 && !w->retired) {
            int r = spawn(p, w);
            if (r < 0)
                log_error_errno(r, "Failed to restart worker %u: %m", w->index);
        }
    }
    return 0;
}

static void schedule_respawn(Prefork *p) {
    uint64_t now = 0;
    (void) sd_event_now(p->event, CLOCK_MONOTONIC, &now);
    if (p->respawn) {
        (void) sd_event_source_set_time(p->respawn, now + RESPAWN_DELAY_USEC);
        (void) sd_event_source_set_enabled(p->respawn, SD_EVENT_ONESHOT);
        return;
    }
    (void) sd_event_add_time(
        p->event, &p->respawn, CLOCK_MONOTONIC, now + RESPAWN_DELAY_USEC, 0, respawn_missing, p
    );
}

static Worker *find(Prefork *p, pid_t pid) {
    for (size_t i = 0; i < p->n_workers; i++)
        if (p->workers[i].pid == pid)
            return &p->workers[i];
    return NULL;
}

/* drop retired slots that have exited */
static void compact(Prefork *p) {
    size_t o = 0;
    for (size_t i = 0; i < p->n_workers; i++)
        if (!(p->workers[i].retired && p->workers[i].pid == 0))
            p->workers[o++] = p->workers[i];
    p->n_workers = o;
}

static int on_sigchld(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
    Prefork *p = userdata;
    (void) s;
    (void) si;
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        Worker *w = find(p, pid);
        if (!w)
            continue; /* some other child of the daemon */
        w->pid = 0;
        if (w->retired)
            continue;
        if (WIFSIGNALED(status))
            log_warning("worker %d killed by signal %d, restarting", (int) pid, WTERMSIG(status));
        else
            log_warning(
                "worker %d exited with status %d, restarting", (int) pid, WEXITSTATUS(status)
            );
        schedule_respawn(p);
    }
    compact(p);
    return 0;
}

static int add_generation(Prefork *p) {
    if (p->n_workers + p->n > p->cap) {
        size_t cap = (p->n_workers + p->n) * 2;
        Worker *n = realloc(p->workers, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        p->workers = n;
        p->cap = cap;
    }
    /* the new generation goes first so current workers are at [0, n) */
    size_t old = p->n_workers;
    for (size_t i = old; i > 0; i--)
        p->workers[i - 1 + p->n] = p->workers[i - 1];
    for (unsigned i = 0; i < p->n; i++)
        p->workers[i] = (Worker){.index = i};
    p->n_workers = old + p->n;
    for (unsigned i = 0; i < p->n; i++) {
        int r = spawn(p, &p->workers[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

int prefork_new(sd_event *e, unsigned n, PreforkWorkerFn fn, void *userdata, Prefork **ret) {
    if (n == 0 || !fn)
        return -EINVAL;
    Prefork *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->event = sd_event_ref(e);
    p->fn = fn;
    p->userdata = userdata;
    p->n = n;

    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGCHLD);
    int r = -sigprocmask(SIG_BLOCK, &ss, NULL);
    if (r >= 0)
        r = sd_event_add_signal(e, &p->sigchld, SIGCHLD, on_sigchld, p);
    if (r >= 0)
        r = add_generation(p);
    if (r < 0) {
        prefork_free(p, 1000);
        return r;
    }
    *ret = p;
    return 0;
}

int prefork_reload(Prefork *p) {
    size_t old = p->n_workers;
    for (size_t i = 0; i < old; i++)
        p->workers[i].retired = true;
    int r = add_generation(p);
    for (size_t i = p->n; i < p->n_workers; i++)
        if (p->workers[i].retired && p->workers[i].pid > 0)
            (void) kill(p->workers[i].pid, SIGTERM);
    return r;
}

unsigned prefork_n_alive(const Prefork *p) {
    unsigned n = 0;
    for (size_t i = 0; p && i < p->n_workers; i++)
        n += p->workers[i].pid > 0;
    return n;
}

Prefork *prefork_free(Prefork *p, unsigned timeout_ms) {
    if (!p)
        return NULL;
    for (size_t i = 0; i < p->n_workers; i++)
        if (p->workers[i].pid > 0)
            (void) kill(p->workers[i].pid, SIGTERM);
    for (unsigned waited = 0;; waited += 20) {
        bool alive = false;
        for (size_t i = 0; i < p->n_workers; i++) {
            Worker *w = &p->workers[i];
            if (w->pid > 0 && waitpid(w->pid, NULL, WNOHANG) == w->pid)
                w->pid = 0;
            alive = alive || w->pid > 0;
        }
        if (!alive)
            break;
        if (waited >= timeout_ms) {
            for (size_t i = 0; i < p->n_workers; i++)
                if (p->workers[i].pid > 0) {
                    log_warning("worker %d did not stop, killing it", (int) p->workers[i].pid);
                    (void) kill(p->workers[i].pid, SIGKILL);
                    (void) waitpid(p->workers[i].pid, NULL, 0);
                    p->workers[i].pid = 0;
                }
            break;
        }
        (void) usleep(20 * 1000);
    }
    sd_event_source_disable_unref(p->sigchld);
    sd_event_source_disable_unref(p->respawn);
    sd_event_unref(p->event);
    free(p->workers);
    free(p);
    return NULL;
}

/* ---- worker side ---------------------------------------------------------------------------- */

typedef struct Drain {
    const PreforkServe *serve;
    sd_event_source *poll;
    uint64_t deadline;
    bool stopping;
} Drain;

void prefork_http_quiesce(void *http) {
    (void) http_server_quiesce(http);
}

bool prefork_http_busy(void *http) {
    return http_server_n_connections(http) > 0;
}

static int drain_poll(sd_event_source *s, uint64_t usec, void *userdata) {
    Drain *d = userdata;
    if (!d->serve->busy(d->serve->userdata) || usec >= d->deadline)
        return sd_event_exit(sd_event_source_get_event(s), 0);
    return sd_event_source_set_time(s, usec + 50 * 1000);
}

static int on_stop(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
    Drain *d = userdata;
    (void) si;
    sd_event *e = sd_event_source_get_event(s);
    if (d->stopping || !d->serve)
        return sd_event_exit(e, 0);
    d->stopping = true;
    d->serve->quiesce(d->serve->userdata);
    uint64_t now = 0;
    (void) sd_event_now(e, CLOCK_MONOTONIC, &now);
    d->deadline += now;
    return sd_event_add_time(e, &d->poll, CLOCK_MONOTONIC, now, 0, drain_poll, d);
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
    (void) s;
    (void) si;
    (void) userdata;
    return 0;
}

int prefork_worker_run(sd_event *e, const PreforkServe *serve, unsigned drain_ms) {
    Drain d = {.serve = serve, .deadline = (uint64_t) drain_ms * 1000ULL};
    sd_event_source *term = NULL, *intr = NULL, *hup = NULL;
    int r = sd_event_add_signal(e, &term, SIGTERM, on_stop, &d);
    if (r >= 0)
        r = sd_event_add_signal(e, &intr, SIGINT, on_stop, &d);
    if (r >= 0)
        r = sd_event_add_signal(e, &hup, SIGHUP, on_hup, NULL);
    if (r >= 0)
        r = sd_event_loop(e);
    sd_event_source_disable_unref(d.poll);
    sd_event_source_disable_unref(term);
    sd_event_source_disable_unref(intr);
    sd_event_source_disable_unref(hup);
    return r;
}
