/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * dfsm: CPG membership, sync rounds, the normal-message queue and the sender's wait for its
 * own delivery. What a state, an update or a message means belongs to the application
 * callbacks (dcdb.c, kvstore.c).
 */
#include "dfsm.h"

#include <corosync/cpg.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/log.h"

#define BASE_HEADER   16u
#define NORMAL_HEADER 24u
#define STATE_HEADER  32u
#define MAX_MEMBERS   1024u
#define MAX_MESSAGE   (16u * 1024 * 1024)

typedef struct Epoch {
    uint32_t epoch;
    uint32_t time;
    uint32_t nodeid;
    uint32_t pid;
} Epoch;

typedef struct Queued {
    struct Queued *next;
    DfsmNode from;
    uint16_t subtype;
    uint32_t time;
    uint64_t count;
    size_t len;
    char data[];
} Queued;

typedef struct Waiter {
    struct Waiter *next;
    uint64_t count;
    bool done;
    bool resend; /* done without an outcome: the message was applied nowhere, send it again */
    int result;
    int error;
    const DfsmDone *on_done; /* run by whoever completes the waiter, before the post */
    /* One per waiter: a delivery wakes only its own writer. Posted after the lock is dropped,
     * so the writer does not wake up only to block on d->lock; a completed waiter is unlinked
     * first and its writer waits for the post before the Waiter goes away. */
    sem_t sem;
} Waiter;

struct Dfsm {
    char *group;
    uint32_t protocol;
    DfsmCallbacks cb;
    void *userdata;

    cpg_handle_t cpg;
    bool connected;
    uint32_t nodeid;
    uint32_t pid;

    /* loop-thread state */
    DfsmNode *members;
    size_t n_members;
    uint32_t local_epoch;
    Epoch sync_epoch;
    bool have_sync_epoch;
    DfsmState *states; /* one slot per member, data NULL until received */
    size_t n_states_received;
    bool synced_waiting; /* in sync, waiting for the round to end */
    Queued *queue, *queue_tail;
    uint64_t verify_count;
    uint8_t verify_csum[32];
    bool have_verify_csum;

    /* shared with senders */
    pthread_mutex_t lock;
    DfsmMode mode;
    uint32_t lowest;
    uint64_t msg_count;
    Waiter *waiters;
    pthread_mutex_t send_lock; /* keeps counter order == multicast order */
    /* In the group, or out of it only to resync (a requested leave): a sender then waits
     * for the rejoin instead of failing at once. A failed join clears rejoin_pending. */
    bool joined;
    bool rejoin_pending;
    bool shut_down;           /* no rejoin will follow any more */
    pthread_cond_t join_cond; /* CLOCK_MONOTONIC; broadcast when either flag changes */
};

static const char *mode_name(DfsmMode m) {
    switch (m) {
    case DFSM_MODE_START:
        return "start";
    case DFSM_MODE_START_SYNC:
        return "start-sync";
    case DFSM_MODE_SYNCED:
        return "synced";
    case DFSM_MODE_UPDATE:
        return "update";
    case DFSM_MODE_LEAVE:
        return "leave";
    case DFSM_MODE_VERSION_ERROR:
        return "version-error";
    case DFSM_MODE_ERROR:
        return "error";
    }
    return "?";
}

static bool mode_is_error(DfsmMode m) {
    return m >= DFSM_MODE_LEAVE;
}

static void set_mode(Dfsm *d, DfsmMode m) {
    pthread_mutex_lock(&d->lock);
    DfsmMode old = d->mode;
    /* Among the error modes only a more severe one replaces a less severe one. */
    if (!(mode_is_error(old) && (!mode_is_error(m) || m < old)))
        d->mode = m;
    pthread_mutex_unlock(&d->lock);
    if (old != d->mode)
        log_debug("%s: mode %s -> %s", d->group, mode_name(old), mode_name(d->mode));
}

DfsmMode dfsm_get_mode(Dfsm *d) {
    pthread_mutex_lock(&d->lock);
    DfsmMode m = d->mode;
    pthread_mutex_unlock(&d->lock);
    return m;
}

bool dfsm_is_synced(Dfsm *d) {
    return dfsm_get_mode(d) == DFSM_MODE_SYNCED;
}

uint32_t dfsm_local_nodeid(Dfsm *d) {
    return d->nodeid;
}

bool dfsm_is_lowest(Dfsm *d) {
    pthread_mutex_lock(&d->lock);
    bool r = d->lowest == d->nodeid;
    pthread_mutex_unlock(&d->lock);
    return r;
}

void dfsm_request_leave(Dfsm *d) {
    set_mode(d, DFSM_MODE_LEAVE);
}

/* ---- waiters ---------------------------------------------------------------------------- */

/* w is done and unlinked: nobody else touches it. Its writer returns (or, for a resend,
 * sends again) after the post; the outcome callback runs only for a real outcome. */
static void waiter_wake(Waiter *w) {
    if (w->on_done && !w->resend)
        w->on_done->fn(w->on_done->ctx, w->error ? w->error : w->result);
    sem_post(&w->sem);
}

/* Mark the waiter of message `count` done and unlink it under the lock, wake it after. */
static void finish_waiter(Dfsm *d, uint64_t count, bool resend, int result, int error) {
    Waiter *w = NULL;
    pthread_mutex_lock(&d->lock);
    for (Waiter **p = &d->waiters; *p; p = &(*p)->next)
        if ((*p)->count == count) {
            w = *p;
            *p = w->next;
            w->done = true;
            w->resend = resend;
            w->result = result;
            w->error = error;
            break;
        }
    pthread_mutex_unlock(&d->lock);
    if (w)
        waiter_wake(w);
}

static void complete_waiter(Dfsm *d, uint64_t count, int result, int error) {
    finish_waiter(d, count, false, result, error);
}

static void fail_all_waiters(Dfsm *d, int error) {
    pthread_mutex_lock(&d->lock);
    Waiter *list = d->waiters;
    d->waiters = NULL;
    for (Waiter *w = list; w; w = w->next) {
        w->done = true;
        w->error = error;
    }
    pthread_mutex_unlock(&d->lock);
    while (list) {
        Waiter *next = list->next; /* read before the post: the writer may return at once */
        waiter_wake(list);
        list = next;
    }
}

/* ---- sending ---------------------------------------------------------------------------- */

static void put_header(char *h, uint16_t type, uint16_t subtype, uint32_t protocol) {
    uint32_t now = (uint32_t) time(NULL), zero = 0;
    memcpy(h, &type, 2);
    memcpy(h + 2, &subtype, 2);
    memcpy(h + 4, &protocol, 4);
    memcpy(h + 8, &now, 4);
    memcpy(h + 12, &zero, 4);
}

/* cpg_mcast_joined with upstream's retry policy (100 ms, up to 100 times). */
static int mcast(Dfsm *d, struct iovec *iov, size_t n) {
    if (!d->connected)
        return -ENOTCONN;
    for (unsigned retry = 0;; retry++) {
        cs_error_t e = cpg_mcast_joined(d->cpg, CPG_TYPE_AGREED, iov, (unsigned) n);
        if (e == CS_OK)
            return 0;
        if (e != CS_ERR_TRY_AGAIN || retry >= 100)
            return e == CS_ERR_TRY_AGAIN ? -EAGAIN : -ENOTCONN;
        if (retry % 10 == 9)
            log_info("%s: cpg_send_message retry %u", d->group, retry + 1);
        (void) usleep(100 * 1000);
    }
}

static int
send_with_header(Dfsm *d, const char *header, size_t hlen, const struct iovec *iov, size_t n_iov) {
    struct iovec v[16];
    if (n_iov + 1 > ELEMENTSOF(v))
        return -E2BIG;
    v[0] = (struct iovec){.iov_base = (void *) header, .iov_len = hlen};
    for (size_t i = 0; i < n_iov; i++)
        v[i + 1] = iov[i];
    return mcast(d, v, n_iov + 1);
}

static int
send_normal(Dfsm *d, uint16_t subtype, const struct iovec *iov, size_t n_iov, Waiter *w) {
    char h[NORMAL_HEADER];
    pthread_mutex_lock(&d->send_lock);
    pthread_mutex_lock(&d->lock);
    uint64_t count = ++d->msg_count;
    if (w) {
        w->count = count;
        w->next = d->waiters;
        d->waiters = w;
    }
    pthread_mutex_unlock(&d->lock);
    put_header(h, DFSM_MESSAGE_NORMAL, subtype, d->protocol);
    memcpy(h + BASE_HEADER, &count, 8);
    int r = send_with_header(d, h, sizeof h, iov, n_iov);
    pthread_mutex_unlock(&d->send_lock);
    return r;
}

/* The writer gives up on w: unlink it unless a delivery already completed it, in which case
 * wait for that delivery's post so that nothing touches w after we return. */
static bool waiter_settle(Dfsm *d, Waiter *w) {
    pthread_mutex_lock(&d->lock);
    bool done = w->done;
    if (!done)
        for (Waiter **p = &d->waiters; *p; p = &(*p)->next)
            if (*p == w) {
                *p = w->next;
                break;
            }
    pthread_mutex_unlock(&d->lock);
    if (done)
        while (sem_wait(&w->sem) < 0 && errno == EINTR)
            ;
    return done;
}

/* Out of the group only to resync: wait (until the deadline) for the rejoin. Nothing was
 * sent yet, so giving up here is a known outcome: -ENOTCONN. */
static int wait_joined(Dfsm *d, const struct timespec *deadline) {
    int r = 0;
    pthread_mutex_lock(&d->lock);
    while (!d->joined && d->rejoin_pending && r == 0)
        r = pthread_cond_timedwait(&d->join_cond, &d->lock, deadline);
    bool joined = d->joined;
    pthread_mutex_unlock(&d->lock);
    return joined ? 0 : -ENOTCONN;
}

int dfsm_send_message_sync(
    Dfsm *d,
    uint16_t subtype,
    const struct iovec *iov,
    size_t n_iov,
    unsigned timeout_ms,
    const DfsmDone *done,
    bool *ret_done_ran,
    int *ret_result
) {
    Waiter w = {.on_done = done};
    if (ret_done_ran)
        *ret_done_ran = false;

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    uint64_t ns = (uint64_t) deadline.tv_nsec + (uint64_t) timeout_ms * 1000000u;
    deadline.tv_sec += (time_t) (ns / 1000000000u);
    deadline.tv_nsec = (long) (ns % 1000000000u);

    int r = wait_joined(d, &deadline);
    if (r < 0)
        return r;
    if (sem_init(&w.sem, 0, 0) < 0)
        return -errno;
    for (;;) {
        r = send_normal(d, subtype, iov, n_iov, &w);
        if (r < 0) {
            bool ran = waiter_settle(d, &w); /* a membership loss may have failed it already */
            if (ret_done_ran)
                *ret_done_ran = ran && done;
            if (ran && w.error)
                r = w.error;
            break;
        }
        int w_r;
        while ((w_r = sem_clockwait(&w.sem, CLOCK_MONOTONIC, &deadline)) < 0 && errno == EINTR)
            ;
        /* Woken by the post: w is done and unlinked. Timed out: settle the race with a
         * delivery. */
        if (w_r < 0 && !waiter_settle(d, &w)) {
            r = -ETIMEDOUT;
            break;
        }
        if (!w.resend) {
            if (ret_done_ran)
                *ret_done_ran = done != NULL;
            r = w.error;
            if (r == 0)
                *ret_result = w.result;
            break;
        }
        /* A membership change dropped it before any node applied it: a known outcome, so
         * send it again while there is time, or report -EAGAIN. */
        w.done = w.resend = false;
        w.result = w.error = 0;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > deadline.tv_sec ||
            (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
            r = -EAGAIN;
            break;
        }
        log_info("%s: a message was dropped by a membership change; sending it again", d->group);
        if ((r = wait_joined(d, &deadline)) < 0)
            break;
    }
    sem_destroy(&w.sem);
    return r;
}

int dfsm_send_message(Dfsm *d, uint16_t subtype, const struct iovec *iov, size_t n_iov) {
    return send_normal(d, subtype, iov, n_iov, NULL);
}

static int send_state_message(Dfsm *d, uint16_t type, const struct iovec *iov, size_t n_iov) {
    char h[STATE_HEADER];
    put_header(h, type, 0, d->protocol);
    memcpy(h + BASE_HEADER, &d->sync_epoch, sizeof d->sync_epoch);
    return send_with_header(d, h, sizeof h, iov, n_iov);
}

int dfsm_send_update(Dfsm *d, const struct iovec *iov, size_t n_iov) {
    return send_state_message(d, DFSM_MESSAGE_UPDATE, iov, n_iov);
}

int dfsm_send_update_complete(Dfsm *d) {
    return send_state_message(d, DFSM_MESSAGE_UPDATE_COMPLETE, NULL, 0);
}

int dfsm_verify_request(Dfsm *d) {
    if (!dfsm_is_synced(d) || !dfsm_is_lowest(d))
        return 0;
    char h[NORMAL_HEADER];
    uint64_t count = ++d->verify_count;
    put_header(h, DFSM_MESSAGE_VERIFY_REQUEST, 0, d->protocol);
    memcpy(h + BASE_HEADER, &count, 8);
    return send_with_header(d, h, sizeof h, NULL, 0);
}

/* ---- queue and rounds ------------------------------------------------------------------- */

static bool is_self(Dfsm *d, DfsmNode n) {
    return n.nodeid == d->nodeid && n.pid == d->pid;
}

static void deliver_now(
    Dfsm *d,
    DfsmNode from,
    uint16_t subtype,
    uint32_t t,
    uint64_t count,
    const void *data,
    size_t len
) {
    int result = d->cb.deliver(d->userdata, from, subtype, t, data, len);
    if (is_self(d, from))
        complete_waiter(d, count, result, 0);
}

/* Messages queued by a round that did not finish were applied nowhere: every member drops
 * them at the same point of the total order. Their writers send them again when the group
 * goes on (resend), or fail with `error`. */
static void drop_queue(Dfsm *d, bool resend, int error) {
    Queued *q = d->queue;
    while (q) {
        Queued *next = q->next;
        if (is_self(d, q->from))
            finish_waiter(d, q->count, resend, 0, resend ? 0 : error);
        free(q);
        q = next;
    }
    d->queue = d->queue_tail = NULL;
}

static void reset_round(Dfsm *d) {
    if (d->states)
        for (size_t i = 0; i < d->n_members; i++) {
            free(d->states[i].data);
            d->states[i].data = NULL;
            d->states[i].len = 0;
        }
    d->n_states_received = 0;
    d->synced_waiting = false;
    if (d->cb.cleanup)
        d->cb.cleanup(d->userdata);
}

/* The round is over for everyone: apply what was queued, in order. */
static void become_synced(Dfsm *d) {
    set_mode(d, DFSM_MODE_SYNCED);
    reset_round(d);
    Queued *q = d->queue;
    d->queue = d->queue_tail = NULL;
    while (q) {
        Queued *next = q->next;
        if (dfsm_get_mode(d) == DFSM_MODE_SYNCED)
            deliver_now(d, q->from, q->subtype, q->time, q->count, q->data, q->len);
        else if (is_self(d, q->from))
            complete_waiter(d, q->count, 0, -EAGAIN);
        free(q);
        q = next;
    }
    if (d->cb.synced && dfsm_get_mode(d) == DFSM_MODE_SYNCED)
        d->cb.synced(d->userdata);
}

static void enqueue(
    Dfsm *d,
    DfsmNode from,
    uint16_t subtype,
    uint32_t t,
    uint64_t count,
    const void *data,
    size_t len
) {
    Queued *q = malloc(sizeof *q + len);
    if (!q) {
        log_error("%s: out of memory queueing a message; leaving the group", d->group);
        set_mode(d, DFSM_MODE_LEAVE);
        return;
    }
    *q = (Queued){.from = from, .subtype = subtype, .time = t, .count = count, .len = len};
    memcpy(q->data, data, len);
    if (d->queue_tail)
        d->queue_tail->next = q;
    else
        d->queue = q;
    d->queue_tail = q;
}

static ssize_t member_index(Dfsm *d, DfsmNode n) {
    for (size_t i = 0; i < d->n_members; i++)
        if (d->members[i].nodeid == n.nodeid && d->members[i].pid == n.pid)
            return (ssize_t) i;
    return -1;
}

static void handle_state(Dfsm *d, DfsmNode from, const void *data, size_t len) {
    DfsmMode mode = dfsm_get_mode(d);
    if (mode != DFSM_MODE_START_SYNC || d->synced_waiting)
        return;
    ssize_t i = member_index(d, from);
    if (i < 0 || d->states[i].data)
        return;
    d->states[i].data = malloc(len ? len : 1);
    if (!d->states[i].data) {
        set_mode(d, DFSM_MODE_LEAVE);
        return;
    }
    memcpy(d->states[i].data, data, len);
    d->states[i].len = len;
    if (++d->n_states_received < d->n_members)
        return;

    bool done = false;
    int r = d->cb.process_states(d->userdata, d->states, d->n_members, &done);
    if (r < 0) {
        log_error("%s: cannot process the sync states; leaving the group", d->group);
        set_mode(d, DFSM_MODE_LEAVE);
        return;
    }
    if (done) {
        become_synced(d);
        return;
    }
    if (r > 0)
        d->synced_waiting = true; /* in sync; the round ends with UPDATE_COMPLETE */
    else
        set_mode(d, DFSM_MODE_UPDATE);
}

static void handle_update_complete(Dfsm *d) {
    DfsmMode mode = dfsm_get_mode(d);
    if (mode == DFSM_MODE_UPDATE) {
        int r = d->cb.commit(d->userdata);
        if (r < 0) {
            log_error("%s: applying the leader's updates failed; leaving the group", d->group);
            set_mode(d, DFSM_MODE_LEAVE);
            return;
        }
        become_synced(d);
    } else if (mode == DFSM_MODE_START_SYNC && d->synced_waiting)
        become_synced(d);
}

static void
handle_verify(Dfsm *d, DfsmNode from, uint16_t type, uint64_t count, const void *data, size_t len) {
    if (!dfsm_is_synced(d) || !d->cb.checksum)
        return;
    if (type == DFSM_MESSAGE_VERIFY_REQUEST) {
        if (d->cb.checksum(d->userdata, d->verify_csum) < 0)
            return;
        d->have_verify_csum = true;
        d->verify_count = count;
        if (is_self(d, from)) {
            char h[NORMAL_HEADER];
            put_header(h, DFSM_MESSAGE_VERIFY, 0, d->protocol);
            memcpy(h + BASE_HEADER, &count, 8);
            struct iovec v = {.iov_base = d->verify_csum, .iov_len = 32};
            (void) send_with_header(d, h, sizeof h, &v, 1);
        }
        return;
    }
    if (is_self(d, from) || !d->have_verify_csum || count != d->verify_count || len != 32)
        return;
    if (memcmp(data, d->verify_csum, 32) != 0) {
        log_error("%s: wrong checksum compared to node %u - restarting", d->group, from.nodeid);
        set_mode(d, DFSM_MODE_LEAVE);
    } else
        log_debug("%s: state verified against node %u", d->group, from.nodeid);
    d->have_verify_csum = false;
}

/* ---- CPG callbacks ---------------------------------------------------------------------- */

static Dfsm *dfsm_of(cpg_handle_t h) {
    void *ctx = NULL;
    (void) cpg_context_get(h, &ctx);
    return ctx;
}

static void on_deliver(
    cpg_handle_t handle,
    const struct cpg_name *group,
    uint32_t nodeid,
    uint32_t pid,
    void *msg,
    size_t len
) {
    (void) group;
    Dfsm *d = dfsm_of(handle);
    DfsmNode from = {nodeid, pid};
    if (!d || len < BASE_HEADER || len > MAX_MESSAGE)
        return;
    DfsmMode mode = dfsm_get_mode(d);
    if (mode_is_error(mode))
        return;

    const char *m = msg;
    uint16_t type, subtype;
    uint32_t protocol, t;
    memcpy(&type, m, 2);
    memcpy(&subtype, m + 2, 2);
    memcpy(&protocol, m + 4, 4);
    memcpy(&t, m + 8, 4);
    if (protocol > d->protocol) {
        log_error(
            "%s: detected newer protocol %u from node %u - please update this node", d->group,
            protocol, nodeid
        );
        set_mode(d, DFSM_MODE_VERSION_ERROR);
        return;
    }
    if (protocol < d->protocol)
        return;

    if (type == DFSM_MESSAGE_NORMAL || type == DFSM_MESSAGE_VERIFY_REQUEST ||
        type == DFSM_MESSAGE_VERIFY) {
        if (len < NORMAL_HEADER)
            return;
        uint64_t count;
        memcpy(&count, m + BASE_HEADER, 8);
        const char *data = m + NORMAL_HEADER;
        size_t dlen = len - NORMAL_HEADER;
        if (type != DFSM_MESSAGE_NORMAL) {
            handle_verify(d, from, type, count, data, dlen);
            return;
        }
        if (mode == DFSM_MODE_SYNCED)
            deliver_now(d, from, subtype, t, count, data, dlen);
        else
            enqueue(d, from, subtype, t, count, data, dlen);
        return;
    }

    if (len < STATE_HEADER)
        return;
    Epoch e;
    memcpy(&e, m + BASE_HEADER, sizeof e);
    const char *data = m + STATE_HEADER;
    size_t dlen = len - STATE_HEADER;

    if (type == DFSM_MESSAGE_SYNC_START) {
        pthread_mutex_lock(&d->lock);
        bool from_lowest = nodeid == d->lowest;
        pthread_mutex_unlock(&d->lock);
        if (mode != DFSM_MODE_START_SYNC || !from_lowest || member_index(d, from) < 0)
            return;
        reset_round(d);
        d->sync_epoch = e;
        d->have_sync_epoch = true;
        void *state = NULL;
        size_t slen = 0;
        if (d->cb.get_state(d->userdata, &state, &slen) < 0) {
            log_error("%s: cannot produce the local state; leaving the group", d->group);
            set_mode(d, DFSM_MODE_LEAVE);
            return;
        }
        struct iovec v = {.iov_base = state, .iov_len = slen};
        if (send_state_message(d, DFSM_MESSAGE_STATE, &v, 1) < 0)
            set_mode(d, DFSM_MODE_LEAVE);
        free(state);
        return;
    }

    /* Everything else belongs to the adopted epoch; older rounds' messages are ignored. */
    if (!d->have_sync_epoch || memcmp(&e, &d->sync_epoch, sizeof e) != 0)
        return;
    switch (type) {
    case DFSM_MESSAGE_STATE:
        handle_state(d, from, data, dlen);
        break;
    case DFSM_MESSAGE_UPDATE:
        if (mode == DFSM_MODE_UPDATE && d->cb.process_update(d->userdata, from, data, dlen) < 0) {
            log_error("%s: bad update from node %u; leaving the group", d->group, nodeid);
            set_mode(d, DFSM_MODE_LEAVE);
        }
        break;
    case DFSM_MESSAGE_UPDATE_COMPLETE:
        handle_update_complete(d);
        break;
    default:
        break;
    }
}

static int cmp_node(const void *a, const void *b) {
    const DfsmNode *x = a, *y = b;
    if (x->nodeid != y->nodeid)
        return x->nodeid < y->nodeid ? -1 : 1;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
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
    (void) group, (void) left, (void) n_left, (void) joined, (void) n_joined;
    Dfsm *d = dfsm_of(handle);
    if (!d || mode_is_error(dfsm_get_mode(d)))
        return;
    if (n_members > MAX_MEMBERS)
        n_members = MAX_MEMBERS;

    /* Whatever a previous round queued was applied nowhere: drop it everywhere; our own
     * writers send theirs again, into the round this change starts. */
    drop_queue(d, true, 0);
    reset_round(d);
    d->have_sync_epoch = false;
    d->have_verify_csum = false;

    DfsmNode *list = calloc(n_members ? n_members : 1, sizeof *list);
    DfsmState *states = calloc(n_members ? n_members : 1, sizeof *states);
    if (!list || !states) {
        free(list);
        free(states);
        set_mode(d, DFSM_MODE_LEAVE);
        return;
    }
    for (size_t i = 0; i < n_members; i++)
        list[i] = (DfsmNode){members[i].nodeid, members[i].pid};
    qsort(list, n_members, sizeof *list, cmp_node);
    for (size_t i = 0; i < n_members; i++)
        states[i].node = list[i];
    free(d->members);
    free(d->states);
    d->members = list;
    d->states = states;
    d->n_members = n_members;

    pthread_mutex_lock(&d->lock);
    d->lowest = n_members ? list[0].nodeid : 0;
    pthread_mutex_unlock(&d->lock);

    if (member_index(d, (DfsmNode){d->nodeid, d->pid}) < 0) {
        log_info("%s: this node is no longer a member; leaving", d->group);
        set_mode(d, DFSM_MODE_LEAVE);
        return;
    }
    log_info("%s: members: %zu (lowest nodeid %u)", d->group, n_members, d->lowest);
    if (d->cb.confchg)
        d->cb.confchg(d->userdata, list, n_members);

    d->local_epoch++;
    if (n_members == 1) {
        set_mode(d, DFSM_MODE_SYNCED);
        become_synced(d);
        return;
    }
    set_mode(d, DFSM_MODE_START_SYNC);
    if (d->lowest == d->nodeid && list[0].pid == d->pid) {
        Epoch e = {d->local_epoch, (uint32_t) time(NULL), d->nodeid, d->pid};
        char h[STATE_HEADER];
        put_header(h, DFSM_MESSAGE_SYNC_START, 0, d->protocol);
        memcpy(h + BASE_HEADER, &e, sizeof e);
        if (send_with_header(d, h, sizeof h, NULL, 0) < 0)
            set_mode(d, DFSM_MODE_LEAVE);
    }
}

static cpg_model_v1_data_t cpg_model = {
    .model = CPG_MODEL_V1,
    .cpg_deliver_fn = on_deliver,
    .cpg_confchg_fn = on_confchg,
    .cpg_totem_confchg_fn = NULL,
    .flags = 0,
};

/* ---- lifecycle -------------------------------------------------------------------------- */

int dfsm_new(
    const char *group,
    uint32_t protocol_version,
    const DfsmCallbacks *cb,
    void *userdata,
    Dfsm **ret
) {
    if (strlen(group) >= CPG_MAX_NAME_LENGTH)
        return -EINVAL;
    _cleanup_(dfsm_freep) Dfsm *d = calloc(1, sizeof *d);
    if (!d || !(d->group = strdup(group)))
        return -ENOMEM;
    d->protocol = protocol_version;
    d->cb = *cb;
    d->userdata = userdata;
    d->pid = (uint32_t) getpid();
    d->mode = DFSM_MODE_START;
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->send_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->join_cond, &ca);
    pthread_condattr_destroy(&ca);
    *ret = TAKE_PTR(d);
    return 0;
}

static void set_joined(Dfsm *d, bool joined, bool rejoin_pending) {
    pthread_mutex_lock(&d->lock);
    d->joined = joined;
    d->rejoin_pending = rejoin_pending && !d->shut_down;
    pthread_cond_broadcast(&d->join_cond);
    pthread_mutex_unlock(&d->lock);
}

static int join_group(Dfsm *d) {
    struct cpg_name name;
    int fd = -1;
    cs_error_t e;

    /* A re-join after LEAVE starts from scratch. */
    pthread_mutex_lock(&d->lock);
    if (d->mode == DFSM_MODE_ERROR || d->mode == DFSM_MODE_VERSION_ERROR) {
        pthread_mutex_unlock(&d->lock);
        return -EPROTO;
    }
    d->mode = DFSM_MODE_START;
    pthread_mutex_unlock(&d->lock);

    e = cpg_model_initialize(&d->cpg, CPG_MODEL_V1, (cpg_model_data_t *) &cpg_model, d);
    if (e != CS_OK)
        return -ENOTCONN;
    d->connected = true;
    if (cpg_local_get(d->cpg, &d->nodeid) != CS_OK || cpg_fd_get(d->cpg, &fd) != CS_OK) {
        dfsm_finalize(d);
        return -ENOTCONN;
    }
    name.length = (uint32_t) strlen(d->group);
    memcpy(name.value, d->group, name.length);
    for (unsigned retry = 0;; retry++) {
        e = cpg_join(d->cpg, &name);
        if (e == CS_OK)
            break;
        if (e != CS_ERR_TRY_AGAIN || retry >= 100) {
            log_warning("%s: cpg_join failed (%d)", d->group, (int) e);
            dfsm_finalize(d);
            return -ENOTCONN;
        }
        (void) usleep(100 * 1000);
    }
    log_info("%s: joined as node %u", d->group, d->nodeid);
    return fd;
}

void dfsm_shutdown(Dfsm *d) {
    pthread_mutex_lock(&d->lock);
    d->shut_down = true;
    d->rejoin_pending = false;
    pthread_cond_broadcast(&d->join_cond);
    pthread_mutex_unlock(&d->lock);
}

int dfsm_join(Dfsm *d) {
    int fd = join_group(d);
    /* joined: senders go ahead; failed: corosync is gone, a waiting sender fails now */
    set_joined(d, fd >= 0, false);
    return fd;
}

int dfsm_dispatch(Dfsm *d) {
    if (!d->connected)
        return -ENOTCONN;
    cs_error_t e = cpg_dispatch(d->cpg, CS_DISPATCH_ALL);
    if (e != CS_OK && e != CS_ERR_TRY_AGAIN)
        return -ENOTCONN;
    DfsmMode m = dfsm_get_mode(d);
    if (m == DFSM_MODE_LEAVE)
        return -ECONNRESET; /* the loop finalises us and re-joins soon: a resync */
    if (m == DFSM_MODE_ERROR || m == DFSM_MODE_VERSION_ERROR)
        return -EPROTO; /* finalised; joining again fails until a restart */
    return 0;
}

void dfsm_finalize(Dfsm *d) {
    /* A requested leave (a resync) is followed by a rejoin: senders wait for it. */
    set_joined(d, false, dfsm_get_mode(d) == DFSM_MODE_LEAVE);
    if (d->connected) {
        struct cpg_name name;
        name.length = (uint32_t) strlen(d->group);
        memcpy(name.value, d->group, name.length);
        (void) cpg_leave(d->cpg, &name);
        (void) cpg_finalize(d->cpg);
        d->connected = false;
    }
    drop_queue(d, false, -ENOTCONN);
    reset_round(d);
    fail_all_waiters(d, -ENOTCONN);
    free(d->members);
    free(d->states);
    d->members = NULL;
    d->states = NULL;
    d->n_members = 0;
    d->have_sync_epoch = false;
    pthread_mutex_lock(&d->lock);
    d->lowest = 0;
    if (d->mode < DFSM_MODE_LEAVE)
        d->mode = DFSM_MODE_START;
    pthread_mutex_unlock(&d->lock);
}

Dfsm *dfsm_free(Dfsm *d) {
    if (!d)
        return NULL;
    dfsm_finalize(d);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->send_lock);
    pthread_cond_destroy(&d->join_cond);
    free(d->group);
    free(d);
    return NULL;
}
