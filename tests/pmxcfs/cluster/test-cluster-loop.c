/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the cluster loop with fake services on pipes: connect at start, dispatch on
 * readable, priority order, retry of a failing init every CLUSTER_LOOP_RETRY_S seconds,
 * finalise + reconnect after a dispatch error or a hang-up, a quick rejoin after a requested
 * leave (-ECONNRESET), the periodic timer only while up,
 * and stop from another thread finalising everything. Takes about 2 x CLUSTER_LOOP_RETRY_S.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "cluster-loop.h"
#include "pve/log.h"

typedef struct Fake {
    CfsService svc;
    int pipe[2];
    atomic_int fail_inits; /* init fails while > 0 (decremented) */
    atomic_int inits, dispatches, finalizes, timers;
    atomic_int order_slot; /* position of the last dispatch in the shared order */
    atomic_int sleep_ms;   /* dispatch blocks the loop this long */
    atomic_bool on_loop_thread;
    pthread_t main_thread;
} Fake;

static atomic_int order_counter;

static int fake_init(void *userdata) {
    Fake *f = userdata;
    atomic_fetch_add(&f->inits, 1);
    if (atomic_load(&f->fail_inits) > 0) {
        atomic_fetch_sub(&f->fail_inits, 1);
        return -ENOTCONN;
    }
    if (pipe2(f->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    return f->pipe[0];
}

static int fake_dispatch(void *userdata) {
    Fake *f = userdata;
    char buf[16];
    atomic_store(&f->on_loop_thread, !pthread_equal(pthread_self(), f->main_thread));
    atomic_fetch_add(&f->dispatches, 1);
    atomic_store(&f->order_slot, atomic_fetch_add(&order_counter, 1));
    if (atomic_load(&f->sleep_ms) > 0)
        usleep((useconds_t) atomic_load(&f->sleep_ms) * 1000);
    ssize_t n = read(f->pipe[0], buf, sizeof buf);
    if (n > 0 && memchr(buf, 'E', (size_t) n))
        return -EIO;
    if (n > 0 && memchr(buf, 'R', (size_t) n))
        return -ECONNRESET; /* left the group on purpose: rejoin soon */
    return 0;               /* EOF (n == 0) is reported through EPOLLHUP */
}

static void fake_finalize(void *userdata) {
    Fake *f = userdata;
    atomic_fetch_add(&f->finalizes, 1);
    if (f->pipe[0] >= 0)
        close(f->pipe[0]);
    if (f->pipe[1] >= 0)
        close(f->pipe[1]);
    f->pipe[0] = f->pipe[1] = -1;
}

static void fake_timer(void *userdata) {
    Fake *f = userdata;
    atomic_fetch_add(&f->timers, 1);
}

static void fake_init_struct(Fake *f, const char *name, int priority) {
    memset(f, 0, sizeof *f);
    f->pipe[0] = f->pipe[1] = -1;
    f->main_thread = pthread_self();
    f->svc = (CfsService){
        .name = name,
        .priority = priority,
        .userdata = f,
        .init = fake_init,
        .dispatch = fake_dispatch,
        .finalize = fake_finalize,
    };
}

static void poke(Fake *f, char c) {
    assert_true(f->pipe[1] >= 0);
    assert_int_equal(write(f->pipe[1], &c, 1), 1);
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Poll cond up to ms milliseconds. */
#define WAIT_FOR(cond, ms)                 \
    ({                                     \
        long _end = now_ms() + (ms);       \
        while (!(cond) && now_ms() < _end) \
            usleep(5000);                  \
        (cond);                            \
    })

static void test_connect_dispatch_stop(void **state) {
    (void) state;
    Fake a;
    fake_init_struct(&a, "a", 0);
    CfsService *list[] = {&a.svc};
    ClusterLoop *l = NULL;

    assert_int_equal(cluster_loop_start(list, 1, &l), 0);
    assert_true(WAIT_FOR(cluster_loop_service_up(l, &a.svc), 2000));
    assert_int_equal(atomic_load(&a.inits), 1);
    poke(&a, 'x');
    assert_true(WAIT_FOR(atomic_load(&a.dispatches) == 1, 2000));
    assert_true(atomic_load(&a.on_loop_thread));
    poke(&a, 'y');
    assert_true(WAIT_FOR(atomic_load(&a.dispatches) == 2, 2000));
    assert_false(cluster_loop_service_up(l, NULL));
    assert_false(cluster_loop_service_up(NULL, &a.svc));

    l = cluster_loop_stop(l);
    assert_null(l);
    assert_int_equal(atomic_load(&a.finalizes), 1);
    assert_int_equal(atomic_load(&a.inits), 1);
}

static void test_priority_order(void **state) {
    (void) state;
    Fake hi, lo, blocker;
    fake_init_struct(&lo, "kvstore", 10);
    fake_init_struct(&hi, "quorum", -10);
    fake_init_struct(&blocker, "blocker", -20);
    atomic_store(&blocker.sleep_ms, 100);
    CfsService *list[] = {&lo.svc, &blocker.svc, &hi.svc}; /* registration order is irrelevant */
    ClusterLoop *l = NULL;

    assert_int_equal(cluster_loop_start(list, 3, &l), 0);
    assert_true(WAIT_FOR(
        cluster_loop_service_up(l, &lo.svc) && cluster_loop_service_up(l, &hi.svc) &&
            cluster_loop_service_up(l, &blocker.svc),
        2000
    ));
    for (int round = 1; round <= 3; round++) {
        /* while the loop is busy in the blocker, both become readable: the lower priority
         * value must be dispatched first */
        poke(&blocker, 'x');
        assert_true(WAIT_FOR(atomic_load(&blocker.dispatches) == round, 2000));
        poke(&lo, 'x');
        poke(&hi, 'x');
        assert_true(WAIT_FOR(atomic_load(&lo.dispatches) == round, 2000));
        assert_true(WAIT_FOR(atomic_load(&hi.dispatches) == round, 2000));
        assert_true(atomic_load(&hi.order_slot) < atomic_load(&lo.order_slot));
    }
    l = cluster_loop_stop(l);
    assert_int_equal(atomic_load(&lo.finalizes), 1);
    assert_int_equal(atomic_load(&hi.finalizes), 1);
    assert_int_equal(atomic_load(&blocker.finalizes), 1);
}

static void test_retry_and_reconnect(void **state) {
    (void) state;
    Fake a, h;
    fake_init_struct(&a, "a", 0);
    fake_init_struct(&h, "hangup", 0);
    atomic_store(&a.fail_inits, 1);
    CfsService *list[] = {&a.svc, &h.svc};
    ClusterLoop *l = NULL;
    long t0 = now_ms();

    assert_int_equal(cluster_loop_start(list, 2, &l), 0);
    assert_true(WAIT_FOR(atomic_load(&a.inits) == 1, 2000));
    assert_true(WAIT_FOR(cluster_loop_service_up(l, &h.svc), 2000));
    assert_false(cluster_loop_service_up(l, &a.svc));
    assert_int_equal(atomic_load(&a.finalizes), 0); /* a failed init is not finalised */

    /* a hang-up on the fd: finalised, reconnected later */
    close(h.pipe[1]);
    h.pipe[1] = -1;
    assert_true(WAIT_FOR(atomic_load(&h.finalizes) == 1, 2000));
    assert_false(cluster_loop_service_up(l, &h.svc));

    /* the retry comes after CLUSTER_LOOP_RETRY_S, not before */
    assert_true(WAIT_FOR(cluster_loop_service_up(l, &a.svc), CLUSTER_LOOP_RETRY_S * 1000 + 2000));
    long waited = now_ms() - t0;
    assert_true(waited >= CLUSTER_LOOP_RETRY_S * 1000 - 100);
    assert_int_equal(atomic_load(&a.inits), 2);
    assert_true(WAIT_FOR(cluster_loop_service_up(l, &h.svc), 2000));
    assert_int_equal(atomic_load(&h.inits), 2);

    /* a dispatch error: finalised at once, reconnected after the retry time */
    t0 = now_ms();
    poke(&a, 'E');
    assert_true(WAIT_FOR(atomic_load(&a.finalizes) == 1, 2000));
    assert_false(cluster_loop_service_up(l, &a.svc));
    assert_true(WAIT_FOR(cluster_loop_service_up(l, &a.svc), CLUSTER_LOOP_RETRY_S * 1000 + 2000));
    assert_true(now_ms() - t0 >= CLUSTER_LOOP_RETRY_S * 1000 - 100);
    assert_int_equal(atomic_load(&a.inits), 3);
    poke(&a, 'x');
    assert_true(WAIT_FOR(atomic_load(&a.dispatches) == 2, 2000));

    /* a requested leave (-ECONNRESET): finalised, rejoined after CLUSTER_LOOP_REJOIN_MS,
     * long before the retry time */
    t0 = now_ms();
    poke(&a, 'R');
    assert_true(WAIT_FOR(atomic_load(&a.finalizes) == 2, 2000));
    assert_true(WAIT_FOR(atomic_load(&a.inits) == 4, CLUSTER_LOOP_RETRY_S * 1000 - 1000));
    assert_true(now_ms() - t0 >= CLUSTER_LOOP_REJOIN_MS - 100);
    assert_true(WAIT_FOR(cluster_loop_service_up(l, &a.svc), 2000));

    l = cluster_loop_stop(l);
    assert_int_equal(atomic_load(&a.finalizes), 3);
    assert_int_equal(atomic_load(&h.finalizes), 2);
}

static void test_timer(void **state) {
    (void) state;
    Fake a, never;
    fake_init_struct(&a, "timed", 0);
    a.svc.timer = fake_timer;
    a.svc.period_s = 1;
    fake_init_struct(&never, "down", 0);
    never.svc.timer = fake_timer;
    never.svc.period_s = 1;
    atomic_store(&never.fail_inits, 1000);
    CfsService *list[] = {&a.svc, &never.svc};
    ClusterLoop *l = NULL;

    assert_int_equal(cluster_loop_start(list, 2, &l), 0);
    assert_true(WAIT_FOR(atomic_load(&a.timers) >= 2, 3500));
    assert_int_equal(atomic_load(&never.timers), 0); /* only while up */
    l = cluster_loop_stop(l);
    int n = atomic_load(&a.timers);
    usleep(1200 * 1000);
    assert_int_equal(atomic_load(&a.timers), n);
    assert_int_equal(atomic_load(&never.finalizes), 0);
}

static void test_empty_and_restart(void **state) {
    (void) state;
    ClusterLoop *l = NULL;
    assert_int_equal(cluster_loop_start(NULL, 0, &l), 0);
    l = cluster_loop_stop(l);
    assert_null(cluster_loop_stop(NULL));
    /* the same services in a second loop after the first one stopped */
    Fake a;
    fake_init_struct(&a, "a", 0);
    CfsService *list[] = {&a.svc};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cluster_loop_start(list, 1, &l), 0);
        assert_true(WAIT_FOR(cluster_loop_service_up(l, &a.svc), 2000));
        l = cluster_loop_stop(l);
    }
    assert_int_equal(atomic_load(&a.inits), 3);
    assert_int_equal(atomic_load(&a.finalizes), 3);
}

int main(void) {
    pve_log_set_level(LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_dispatch_stop), cmocka_unit_test(test_priority_order),
        cmocka_unit_test(test_retry_and_reconnect),   cmocka_unit_test(test_timer),
        cmocka_unit_test(test_empty_and_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
