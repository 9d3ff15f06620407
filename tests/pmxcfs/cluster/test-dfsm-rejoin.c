/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for a dfsm sender around a leave, against a fake libcpg (linked in with
 * -Wl,--wrap): a one-member group whose multicasts come back on the next dispatch. A sender
 * that finds the group left on purpose (a resync) waits for the rejoin and gets its delivery's
 * result; a failed rejoin, a rejoin that does not come before the sender's timeout, a
 * shutdown (no rejoin will come), and a connection that was simply lost (corosync gone) all
 * give -ENOTCONN without sending anything. A message that a membership change drops before
 * any node applied it is sent again by its writer and applied once.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include <corosync/cpg.h>

#include "dfsm.h"
#include "pve/log.h"

#define SELF_NODEID  7u
#define OTHER_NODEID 8u /* a second member that never speaks: its round never ends */

/* ---- fake libcpg: one member, multicasts looped back on dispatch ------------------------ */

typedef struct Msg {
    struct Msg *next;
    size_t len;
    char data[];
} Msg;

static struct {
    pthread_mutex_t lock;
    bool initialized;
    cs_error_t init_result;
    cpg_model_v1_data_t model;
    void *context;
    bool confchg_pending;
    bool with_other; /* the next confchg has OTHER_NODEID as a member too */
    Msg *head, *tail;
    atomic_int mcasts;
} cpg = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* the wrapped functions (no header declares them) */
cs_error_t __wrap_cpg_model_initialize(cpg_handle_t *, cpg_model_t, cpg_model_data_t *, void *);
cs_error_t __wrap_cpg_context_get(cpg_handle_t, void **);
cs_error_t __wrap_cpg_local_get(cpg_handle_t, unsigned int *);
cs_error_t __wrap_cpg_fd_get(cpg_handle_t, int *);
cs_error_t __wrap_cpg_join(cpg_handle_t, const struct cpg_name *);
cs_error_t __wrap_cpg_leave(cpg_handle_t, const struct cpg_name *);
cs_error_t __wrap_cpg_finalize(cpg_handle_t);
cs_error_t
__wrap_cpg_mcast_joined(cpg_handle_t, cpg_guarantee_t, const struct iovec *, unsigned int);
cs_error_t __wrap_cpg_dispatch(cpg_handle_t, cs_dispatch_flags_t);

cs_error_t __wrap_cpg_model_initialize(
    cpg_handle_t *handle, cpg_model_t model, cpg_model_data_t *data, void *context
) {
    (void) model;
    if (cpg.init_result != CS_OK)
        return cpg.init_result;
    memcpy(&cpg.model, data, sizeof cpg.model);
    cpg.context = context;
    cpg.initialized = true;
    *handle = 1;
    return CS_OK;
}

cs_error_t __wrap_cpg_context_get(cpg_handle_t handle, void **context) {
    (void) handle;
    *context = cpg.context;
    return CS_OK;
}

cs_error_t __wrap_cpg_local_get(cpg_handle_t handle, unsigned int *nodeid) {
    (void) handle;
    *nodeid = SELF_NODEID;
    return CS_OK;
}

cs_error_t __wrap_cpg_fd_get(cpg_handle_t handle, int *fd) {
    (void) handle;
    *fd = 100;
    return CS_OK;
}

cs_error_t __wrap_cpg_join(cpg_handle_t handle, const struct cpg_name *group) {
    (void) handle, (void) group;
    cpg.confchg_pending = true;
    return CS_OK;
}

cs_error_t __wrap_cpg_leave(cpg_handle_t handle, const struct cpg_name *group) {
    (void) handle, (void) group;
    return CS_OK;
}

cs_error_t __wrap_cpg_finalize(cpg_handle_t handle) {
    (void) handle;
    pthread_mutex_lock(&cpg.lock);
    for (Msg *m = cpg.head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    cpg.head = cpg.tail = NULL;
    cpg.initialized = false;
    pthread_mutex_unlock(&cpg.lock);
    return CS_OK;
}

cs_error_t __wrap_cpg_mcast_joined(
    cpg_handle_t handle, cpg_guarantee_t guarantee, const struct iovec *iov, unsigned int n
) {
    (void) handle, (void) guarantee;
    size_t len = 0;
    for (unsigned i = 0; i < n; i++)
        len += iov[i].iov_len;
    Msg *m = malloc(sizeof *m + len);
    assert_non_null(m);
    m->next = NULL;
    m->len = 0;
    for (unsigned i = 0; i < n; i++) {
        memcpy(m->data + m->len, iov[i].iov_base, iov[i].iov_len);
        m->len += iov[i].iov_len;
    }
    pthread_mutex_lock(&cpg.lock);
    if (cpg.tail)
        cpg.tail->next = m;
    else
        cpg.head = m;
    cpg.tail = m;
    pthread_mutex_unlock(&cpg.lock);
    atomic_fetch_add(&cpg.mcasts, 1);
    return CS_OK;
}

cs_error_t __wrap_cpg_dispatch(cpg_handle_t handle, cs_dispatch_flags_t flags) {
    (void) flags;
    struct cpg_name name = {.length = 1, .value = "t"};
    struct cpg_address self = {.nodeid = SELF_NODEID, .pid = (uint32_t) getpid(), .reason = 0};
    struct cpg_address members[2] = {self, {.nodeid = OTHER_NODEID, .pid = 4242, .reason = 0}};
    if (cpg.confchg_pending) {
        cpg.confchg_pending = false;
        cpg.model.cpg_confchg_fn(handle, &name, members, cpg.with_other ? 2 : 1, NULL, 0, &self, 1);
    }
    for (;;) {
        pthread_mutex_lock(&cpg.lock);
        Msg *m = cpg.head;
        if (m && !(cpg.head = m->next))
            cpg.tail = NULL;
        pthread_mutex_unlock(&cpg.lock);
        if (!m)
            return CS_OK;
        cpg.model.cpg_deliver_fn(handle, &name, SELF_NODEID, self.pid, m->data, m->len);
        free(m);
    }
}

/* ---- the application: every delivery answers 42 ---------------------------------------- */

static atomic_int delivered;

static int app_deliver(void *u, DfsmNode from, uint16_t sub, uint32_t t, const void *p, size_t n) {
    (void) u, (void) from, (void) sub, (void) t, (void) p, (void) n;
    atomic_fetch_add(&delivered, 1);
    return 42;
}

static int app_get_state(void *u, void **ret, size_t *ret_len) {
    (void) u;
    *ret = calloc(1, 1);
    *ret_len = 1;
    return *ret ? 0 : -ENOMEM;
}

static int app_process_states(void *u, const DfsmState *s, size_t n, bool *ret_done) {
    (void) u, (void) s, (void) n;
    *ret_done = true;
    return 1;
}

static const DfsmCallbacks app = {
    .deliver = app_deliver,
    .get_state = app_get_state,
    .process_states = app_process_states,
};

/* ---- a sender on its own thread --------------------------------------------------------- */

typedef struct Sender {
    Dfsm *d;
    unsigned timeout_ms;
    pthread_t thread;
    atomic_bool finished;
    int r, result;
} Sender;

static void *sender_main(void *userdata) {
    Sender *s = userdata;
    struct iovec v = {.iov_base = "x", .iov_len = 1};
    s->r = dfsm_send_message_sync(s->d, 1, &v, 1, s->timeout_ms, NULL, NULL, &s->result);
    atomic_store(&s->finished, true);
    return NULL;
}

static void sender_start(Sender *s, Dfsm *d, unsigned timeout_ms) {
    *s = (Sender){.d = d, .timeout_ms = timeout_ms, .result = -1};
    assert_int_equal(pthread_create(&s->thread, NULL, sender_main, s), 0);
}

static void sender_join(Sender *s) {
    assert_int_equal(pthread_join(s->thread, NULL), 0);
}

/* Run the "loop thread" part until the sender is done (at most ~2 s). */
static void dispatch_until_finished(Dfsm *d, Sender *s) {
    for (int i = 0; i < 400 && !atomic_load(&s->finished); i++) {
        assert_int_equal(dfsm_dispatch(d), 0);
        usleep(5000);
    }
    assert_true(atomic_load(&s->finished));
}

static Dfsm *joined_group(void) {
    Dfsm *d = NULL;
    cpg.init_result = CS_OK;
    assert_int_equal(dfsm_new("t", 1, &app, NULL, &d), 0);
    assert_true(dfsm_join(d) >= 0);
    assert_int_equal(dfsm_dispatch(d), 0);
    assert_true(dfsm_is_synced(d));
    return d;
}

/* Leave on purpose, as a resync does: the loop sees -ECONNRESET and finalises. */
static void leave_to_resync(Dfsm *d) {
    dfsm_request_leave(d);
    assert_int_equal(dfsm_dispatch(d), -ECONNRESET);
    dfsm_finalize(d);
}

/* Leave to resync, then start a sender (timeout_ms) and see that it waits without sending. */
static Dfsm *waiting_sender(Sender *s, unsigned timeout_ms, int *ret_mcasts_before) {
    Dfsm *d = joined_group();
    leave_to_resync(d);
    *ret_mcasts_before = atomic_load(&cpg.mcasts);
    sender_start(s, d, timeout_ms);
    usleep(300 * 1000);
    assert_false(atomic_load(&s->finished)); /* waiting, not failed with -ENOTCONN */
    assert_int_equal(atomic_load(&cpg.mcasts), *ret_mcasts_before);
    return d;
}

static void test_send_while_joined(void **state) {
    (void) state;
    Dfsm *d = joined_group();
    Sender s;
    sender_start(&s, d, 5000);
    dispatch_until_finished(d, &s);
    sender_join(&s);
    assert_int_equal(s.r, 0);
    assert_int_equal(s.result, 42);
    dfsm_free(d);
}

static void test_sender_waits_for_rejoin(void **state) {
    (void) state;
    Sender s;
    int before;
    Dfsm *d = waiting_sender(&s, 10000, &before);
    assert_true(dfsm_join(d) >= 0);
    dispatch_until_finished(d, &s);
    sender_join(&s);
    assert_int_equal(s.r, 0);
    assert_int_equal(s.result, 42);
    assert_int_equal(atomic_load(&cpg.mcasts), before + 1);
    dfsm_free(d);
}

static void test_failed_rejoin_fails_waiting_sender(void **state) {
    (void) state;
    Sender s;
    int before;
    Dfsm *d = waiting_sender(&s, 30000, &before);
    cpg.init_result = CS_ERR_LIBRARY; /* corosync went away meanwhile */
    assert_true(dfsm_join(d) < 0);
    sender_join(&s); /* woken by the failed join, long before its 30 s */
    assert_int_equal(s.r, -ENOTCONN);
    assert_int_equal(atomic_load(&cpg.mcasts), before);
    dfsm_free(d);
}

static void test_rejoin_too_late(void **state) {
    (void) state;
    Dfsm *d = joined_group();
    leave_to_resync(d);
    Sender s;
    sender_start(&s, d, 200);
    sender_join(&s);
    assert_int_equal(s.r, -ENOTCONN); /* nothing was sent: a known outcome, not -ETIMEDOUT */
    dfsm_free(d);
}

static void test_shutdown_ends_the_wait(void **state) {
    (void) state;
    Sender s;
    int before;
    Dfsm *d = waiting_sender(&s, 30000, &before);
    dfsm_shutdown(d); /* the daemon stops: no rejoin will come */
    sender_join(&s);
    assert_int_equal(s.r, -ENOTCONN);
    assert_int_equal(atomic_load(&cpg.mcasts), before);

    /* a leave during the shutdown does not make later senders wait */
    Dfsm *d2 = joined_group();
    dfsm_shutdown(d2);
    leave_to_resync(d2);
    sender_start(&s, d2, 30000);
    sender_join(&s);
    assert_int_equal(s.r, -ENOTCONN);
    dfsm_free(d);
    dfsm_free(d2);
}

static void test_lost_connection_fails_at_once(void **state) {
    (void) state;
    Dfsm *d = joined_group();
    dfsm_finalize(d); /* no leave requested: corosync went away */
    Sender s;
    sender_start(&s, d, 30000);
    sender_join(&s);
    assert_int_equal(s.r, -ENOTCONN);
    dfsm_free(d);
}

/* A write delivered during a sync round is queued; if another membership change ends that
 * round, every member drops it (it was applied nowhere) and the writer sends it again into
 * the next round, instead of failing with EAGAIN because some other node came or went. */
static void test_dropped_message_is_sent_again(void **state) {
    (void) state;
    Dfsm *d = joined_group();
    cpg.with_other = true; /* node 8 joins: a round starts that waits for its state */
    cpg.confchg_pending = true;
    assert_int_equal(dfsm_dispatch(d), 0);
    assert_false(dfsm_is_synced(d));

    int applied = atomic_load(&delivered), sent = atomic_load(&cpg.mcasts);
    Sender s;
    sender_start(&s, d, 10000);
    for (int i = 0; i < 400 && atomic_load(&cpg.mcasts) == sent; i++)
        usleep(5000);
    assert_int_equal(atomic_load(&cpg.mcasts), sent + 1);
    assert_int_equal(dfsm_dispatch(d), 0); /* delivered in the round: queued */
    usleep(100 * 1000);
    assert_false(atomic_load(&s.finished));
    assert_int_equal(atomic_load(&delivered), applied);

    cpg.with_other = false; /* node 8 leaves before the round ends */
    cpg.confchg_pending = true;
    dispatch_until_finished(d, &s);
    sender_join(&s);
    assert_int_equal(s.r, 0);
    assert_int_equal(s.result, 42);
    assert_int_equal(atomic_load(&delivered), applied + 1); /* applied once */
    assert_true(dfsm_is_synced(d));
    dfsm_free(d);
}

int main(void) {
    pve_log_set_level(LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_while_joined),
        cmocka_unit_test(test_sender_waits_for_rejoin),
        cmocka_unit_test(test_failed_rejoin_fails_waiting_sender),
        cmocka_unit_test(test_rejoin_too_late),
        cmocka_unit_test(test_shutdown_ends_the_wait),
        cmocka_unit_test(test_lost_connection_fails_at_once),
        cmocka_unit_test(test_dropped_message_is_sent_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
