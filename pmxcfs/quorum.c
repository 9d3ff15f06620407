/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * quorum: libquorum as a CfsService (see quorum.h). All calls run on the cluster loop thread;
 * the only state shared with other threads is the status store's flag, which has its own
 * mutex.
 */
#include "quorum.h"

#include <corosync/quorum.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "cs-error.h"
#include "pve/log.h"

/* sd-event priorities: lower runs first. Quorum goes before cmap and the CPG groups, so a
 * lost quorum is seen before anything delivered in the same loop iteration. */
#define CFS_QUORUM_PRIORITY (-10)

struct CfsQuorum {
    CfsService service;
    CfsStatus *status;
    CfsQuorumChangeFn on_change;
    void *userdata;
    quorum_handle_t handle;
    bool connected;
    bool quorate;
};

static void set_quorate(CfsQuorum *q, bool quorate) {
    bool changed = q->quorate != quorate;
    q->quorate = quorate;
    cfs_status_set_quorate(q->status, quorate); /* logs the change itself */
    if (changed && q->on_change)
        q->on_change(q->userdata, quorate);
}

static void on_quorum_notify(
    quorum_handle_t handle,
    uint32_t quorate,
    uint64_t ring_seq,
    uint32_t n_members,
    uint32_t *members
) {
    const void *ctx = NULL;
    (void) members;
    if (quorum_context_get(handle, &ctx) != CS_OK || !ctx)
        return;
    CfsQuorum *q = (CfsQuorum *) ctx;
    log_debug(
        "quorum notification: quorate %u, ring %llu, %u members", quorate,
        (unsigned long long) ring_seq, n_members
    );
    set_quorate(q, quorate != 0);
}

static void service_finalize(void *userdata) {
    CfsQuorum *q = userdata;
    if (q->connected) {
        (void) quorum_finalize(q->handle);
        q->connected = false;
    }
    set_quorate(q, false);
}

static int service_init(void *userdata) {
    CfsQuorum *q = userdata;
    quorum_callbacks_t callbacks = {.quorum_notify_fn = on_quorum_notify};
    uint32_t type = 0;
    int quorate = 0, fd = -1;
    cs_error_t e;

    e = quorum_initialize(&q->handle, &callbacks, &type);
    if (e != CS_OK)
        return log_debug_errno(cs_error_to_errno(e), "quorum_initialize: %s", cs_error_name(e));
    q->connected = true;
    if (type != QUORUM_SET) {
        log_error(
            "corosync has no quorum provider configured (quorum type %u); pmxcfs needs "
            "'quorum { provider: corosync_votequorum }' in corosync.conf",
            type
        );
        service_finalize(q);
        return -EPROTO;
    }
    if ((e = quorum_context_set(q->handle, q)) != CS_OK ||
        (e = quorum_getquorate(q->handle, &quorate)) != CS_OK ||
        (e = quorum_trackstart(q->handle, CS_TRACK_CHANGES)) != CS_OK ||
        (e = quorum_fd_get(q->handle, &fd)) != CS_OK) {
        int r = log_debug_errno(cs_error_to_errno(e), "quorum setup: %s", cs_error_name(e));
        service_finalize(q);
        return r;
    }
    set_quorate(q, quorate != 0);
    return fd;
}

static int service_dispatch(void *userdata) {
    CfsQuorum *q = userdata;
    cs_error_t e = quorum_dispatch(q->handle, CS_DISPATCH_ALL);
    if (e == CS_OK || e == CS_ERR_TRY_AGAIN)
        return 0;
    return log_debug_errno(cs_error_to_errno(e), "quorum_dispatch: %s", cs_error_name(e));
}

int cfs_quorum_new(
    CfsStatus *status, CfsQuorumChangeFn on_change, void *userdata, CfsQuorum **ret
) {
    CfsQuorum *q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    q->status = status;
    q->on_change = on_change;
    q->userdata = userdata;
    q->service = (CfsService){
        .name = "quorum",
        .priority = CFS_QUORUM_PRIORITY,
        .userdata = q,
        .init = service_init,
        .dispatch = service_dispatch,
        .finalize = service_finalize,
    };
    *ret = q;
    return 0;
}

CfsQuorum *cfs_quorum_free(CfsQuorum *q) {
    if (!q)
        return NULL;
    if (q->connected)
        (void) quorum_finalize(q->handle);
    free(q);
    return NULL;
}

CfsService *cfs_quorum_service(CfsQuorum *q) {
    return &q->service;
}
