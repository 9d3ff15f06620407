/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* kvstore: status replication on dfsm (see kvstore.h). */
#include "kvstore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dfsm.h"
#include "pve/log.h"

enum { KVSTORE_UPDATE = 1, KVSTORE_UPDATE_COMPLETE = 2, KVSTORE_LOG = 3 };

struct Kvstore {
    CfsStatus *status;
    Dfsm *dfsm;
    CfsService service;
};

static void send_value(void *userdata, const char *key, const void *data, size_t len) {
    Kvstore *k = userdata;
    char field[KVSTORE_KEY_SIZE] = {0};
    size_t klen = strlen(key);
    if (klen >= sizeof field || !k->dfsm || dfsm_get_mode(k->dfsm) == DFSM_MODE_START)
        return; /* not joined: the re-broadcast after the next sync round carries it */
    memcpy(field, key, klen);
    struct iovec v[2] = {
        {.iov_base = field, .iov_len = sizeof field},
        {.iov_base = (void *) data, .iov_len = len},
    };
    if (dfsm_send_message(k->dfsm, KVSTORE_UPDATE, v, len ? 2 : 1) < 0)
        log_debug("kvstore: cannot broadcast '%s' now; it is sent again after the next sync", key);
}

static void send_log(void *userdata, const void *entry, size_t len) {
    Kvstore *k = userdata;
    if (!k->dfsm || dfsm_get_mode(k->dfsm) == DFSM_MODE_START)
        return;
    struct iovec v = {.iov_base = (void *) entry, .iov_len = len};
    (void) dfsm_send_message(k->dfsm, KVSTORE_LOG, &v, 1);
}

static int on_deliver(
    void *userdata, DfsmNode from, uint16_t subtype, uint32_t t, const void *data, size_t len
) {
    Kvstore *k = userdata;
    (void) t;
    if (from.nodeid == dfsm_local_nodeid(k->dfsm) && from.pid == (uint32_t) getpid())
        return 0; /* our own values are already stored */
    if (subtype == KVSTORE_LOG)
        return cfs_status_clusterlog_insert(k->status, data, len);
    if (subtype != KVSTORE_UPDATE || len < KVSTORE_KEY_SIZE)
        return -EBADMSG;
    const char *key = data;
    if (!memchr(key, '\0', KVSTORE_KEY_SIZE) || !key[0])
        return -EBADMSG;
    _cleanup_free_ char *node = NULL;
    int r = cfs_status_node_name(k->status, from.nodeid, &node);
    if (r < 0) {
        log_debug("kvstore: value '%s' from unknown node %u ignored", key, from.nodeid);
        return r;
    }
    return cfs_status_node_set(
        k->status, node, key, (const char *) data + KVSTORE_KEY_SIZE, len - KVSTORE_KEY_SIZE
    );
}

static int on_get_state(void *userdata, void **ret, size_t *ret_len) {
    Kvstore *k = userdata;
    return cfs_status_clusterlog_state(k->status, ret, ret_len);
}

static int
on_process_states(void *userdata, const DfsmState *states, size_t n, bool *ret_round_done) {
    Kvstore *k = userdata;
    _cleanup_free_ const void **bufs = calloc(n ? n : 1, sizeof *bufs);
    _cleanup_free_ size_t *lens = calloc(n ? n : 1, sizeof *lens);
    if (!bufs || !lens)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        bufs[i] = states[i].data;
        lens[i] = states[i].len;
    }
    if (cfs_status_clusterlog_merge(k->status, bufs, lens, n) < 0)
        log_warning("kvstore: cannot merge the cluster logs of this round");
    *ret_round_done = true;
    /* Everybody forgot what they had not seen: tell them our values again. */
    (void) cfs_status_foreach_local(k->status, send_value, k);
    return 1;
}

static int on_process_update(void *userdata, DfsmNode from, const void *data, size_t len) {
    (void) userdata, (void) from, (void) data, (void) len;
    return 0; /* the kvstore has no update phase */
}

static int on_commit(void *userdata) {
    (void) userdata;
    return 0;
}

static void on_confchg(void *userdata, const DfsmNode *members, size_t n) {
    Kvstore *k = userdata;
    _cleanup_free_ uint32_t *ids = calloc(n ? n : 1, sizeof *ids);
    if (!ids)
        return;
    for (size_t i = 0; i < n; i++)
        ids[i] = members[i].nodeid;
    cfs_status_set_online_members(k->status, ids, n);
}

static int service_init(void *userdata) {
    return dfsm_join(((Kvstore *) userdata)->dfsm);
}

static int service_dispatch(void *userdata) {
    return dfsm_dispatch(((Kvstore *) userdata)->dfsm);
}

static void service_finalize(void *userdata) {
    Kvstore *k = userdata;
    dfsm_finalize(k->dfsm);
    cfs_status_set_online_members(k->status, NULL, 0);
}

static const DfsmCallbacks kvstore_callbacks = {
    .deliver = on_deliver,
    .get_state = on_get_state,
    .process_states = on_process_states,
    .process_update = on_process_update,
    .commit = on_commit,
    .confchg = on_confchg,
};

CfsService *kvstore_service(Kvstore *k) {
    return &k->service;
}

int kvstore_new(CfsStatus *status, Kvstore **ret) {
    _cleanup_(kvstore_freep) Kvstore *k = calloc(1, sizeof *k);
    if (!k)
        return -ENOMEM;
    k->status = status;
    int r = dfsm_new(KVSTORE_CPG_GROUP, KVSTORE_PROTOCOL_VERSION, &kvstore_callbacks, k, &k->dfsm);
    if (r < 0)
        return r;
    k->service = (CfsService){
        .name = "kvstore",
        .priority = 1,
        .userdata = k,
        .init = service_init,
        .dispatch = service_dispatch,
        .finalize = service_finalize,
    };
    cfs_status_set_broadcast(status, &(CfsStatusBroadcast){send_value, send_log, k});
    *ret = TAKE_PTR(k);
    return 0;
}

Kvstore *kvstore_free(Kvstore *k) {
    if (!k)
        return NULL;
    cfs_status_set_broadcast(k->status, NULL);
    k->dfsm = dfsm_free(k->dfsm);
    free(k);
    return NULL;
}
