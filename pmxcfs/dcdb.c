/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * dcdb: the file database application on dfsm (see dcdb.h). Owns message encoding, the
 * leader selection and update transfer of a sync round, lock-break messages and the writer's
 * path through the cluster; memdb owns what an operation does.
 */
#include "dcdb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dfsm.h"
#include "pve/log.h"
#include "pve/paths.h"

#define OP_HEADER 20u

typedef struct Update {
    DatabaseRow row;
    char *name;
    void *data;
} Update;

struct Dcdb {
    DcdbConfig cfg;
    Dfsm *dfsm;
    CfsService service;
    /* sync round (loop thread only) */
    void *leader_index;
    size_t leader_index_len;
    Update *updates;
    size_t n_updates, cap_updates;
};

/* ---- messages --------------------------------------------------------------------------- */

int dcdb_encode_op(const MemdbOp *op, void **ret, size_t *ret_len) {
    if (!op->path || op->offset > UINT32_MAX || op->size > UINT32_MAX)
        return -EINVAL;
    /* Paths travel with a leading slash, as upstream's FUSE paths do. */
    uint32_t pathlen = (uint32_t) strlen(op->path) + 2;
    uint32_t tolen = op->to ? (uint32_t) strlen(op->to) + 2 : 0;
    uint32_t size = (uint32_t) op->size, offset = (uint32_t) op->offset, flags = op->flags;
    size_t len = OP_HEADER + pathlen + tolen + size;
    char *buf = malloc(len), *p = buf;
    if (!buf)
        return -ENOMEM;
    memcpy(p, &size, 4);
    memcpy(p + 4, &offset, 4);
    memcpy(p + 8, &pathlen, 4);
    memcpy(p + 12, &tolen, 4);
    memcpy(p + 16, &flags, 4);
    p += OP_HEADER;
    *p++ = '/';
    memcpy(p, op->path, pathlen - 1);
    p += pathlen - 1;
    if (tolen) {
        *p++ = '/';
        memcpy(p, op->to, tolen - 1);
        p += tolen - 1;
    }
    if (size)
        memcpy(p, op->data, size);
    *ret = buf;
    *ret_len = len;
    return 0;
}

/* A NUL-terminated string of exactly len bytes without inner NULs, leading slashes dropped. */
static const char *wire_path(const char *p, uint32_t len) {
    if (len == 0 || p[len - 1] != '\0' || memchr(p, '\0', len - 1))
        return NULL;
    while (*p == '/')
        p++;
    return p;
}

int dcdb_decode_op(uint16_t type, const void *data, size_t len, MemdbOp *ret) {
    const char *p = data;
    uint32_t size, offset, pathlen, tolen, flags;
    if (type < DCDB_MESSAGE_WRITE || type > DCDB_MESSAGE_MTIME || len < OP_HEADER)
        return -EBADMSG;
    memcpy(&size, p, 4);
    memcpy(&offset, p + 4, 4);
    memcpy(&pathlen, p + 8, 4);
    memcpy(&tolen, p + 12, 4);
    memcpy(&flags, p + 16, 4);
    if ((uint64_t) OP_HEADER + size + pathlen + tolen != len)
        return -EBADMSG;
    MemdbOp op = {.type = (MemdbOpType) type, .offset = offset, .size = size, .flags = flags};
    op.path = wire_path(p + OP_HEADER, pathlen);
    if (!op.path)
        return -EBADMSG;
    if (tolen && !(op.to = wire_path(p + OP_HEADER + pathlen, tolen)))
        return -EBADMSG;
    if (type == DCDB_MESSAGE_RENAME && !op.to)
        return -EBADMSG;
    op.data = size ? p + OP_HEADER + pathlen + tolen : NULL;
    *ret = op;
    return 0;
}

static int send_unlock(Dcdb *d, uint16_t type, const char *path, const uint8_t csum[32]) {
    char slash = '/';
    struct iovec v[3] = {
        {.iov_base = (void *) csum, .iov_len = 32},
        {.iov_base = &slash, .iov_len = 1},
        {.iov_base = (void *) path, .iov_len = strlen(path) + 1},
    };
    return dfsm_send_message(d->dfsm, type, v, 3);
}

/* ---- delivery --------------------------------------------------------------------------- */

static bool is_corosync_conf(const char *path) {
    return path && streq(path, PVE_CFS_COROSYNC_CONF);
}

static void changed(Dcdb *d, const char *path) {
    if (d->cfg.changed && path)
        d->cfg.changed(d->cfg.changed_userdata, path);
}

static int
deliver_unlock(Dcdb *d, DfsmNode from, uint16_t type, uint32_t t, const char *data, size_t len) {
    if (len < 34 || data[len - 1] != '\0' || memchr(data + 32, '\0', len - 33))
        return -EBADMSG;
    const char *path = data + 32;
    while (*path == '/')
        path++;
    const uint8_t *csum = (const uint8_t *) data;
    if (type == DCDB_MESSAGE_UNLOCK_REQUEST) {
        /* Only the lowest nodeid judges, by its own clock: no skew between nodes matters. */
        if (dfsm_is_lowest(d->dfsm) && memdb_lock_expired(d->cfg.memdb, path, csum) == 1) {
            log_info(
                "breaking lock '%s' (not renewed for %u s)", path, d->cfg.memdb->limits.lock_timeout
            );
            (void) send_unlock(d, DCDB_MESSAGE_UNLOCK, path, csum);
        }
        return 0;
    }
    int r = memdb_unlock(d->cfg.memdb, path, csum, from.nodeid, t);
    if (r >= 0)
        changed(d, path); /* no node's kernel saw this deletion */
    return r;
}

static int on_deliver(
    void *userdata, DfsmNode from, uint16_t subtype, uint32_t t, const void *data, size_t len
) {
    Dcdb *d = userdata;
    MemdbOp op;
    int r;

    if (!cfs_status_quorate(d->cfg.status)) {
        log_warning("received write while not quorate - trigger resync");
        dfsm_request_leave(d->dfsm);
        return -EACCES;
    }
    if (subtype == DCDB_MESSAGE_UNLOCK_REQUEST || subtype == DCDB_MESSAGE_UNLOCK)
        return deliver_unlock(d, from, subtype, t, data, len);
    r = dcdb_decode_op(subtype, data, len, &op);
    if (r < 0) {
        log_warning("dcdb: malformed message type %u from node %u, ignored", subtype, from.nodeid);
        return r;
    }
    r = memdb_apply(d->cfg.memdb, &op, from.nodeid, t);
    if (r < 0)
        return r;
    bool local = from.nodeid == dfsm_local_nodeid(d->dfsm) && from.pid == (uint32_t) getpid();
    if (!local && (op.type == MEMDB_OP_WRITE || op.type == MEMDB_OP_MTIME) &&
        d->cfg.content_changed)
        d->cfg.content_changed(d->cfg.changed_userdata, op.path);
    else if (!local) {
        changed(d, op.path);
        changed(d, op.to);
    }
    if (d->cfg.corosync_conf_changed && (is_corosync_conf(op.path) || is_corosync_conf(op.to)) &&
        op.type != MEMDB_OP_DELETE)
        d->cfg.corosync_conf_changed(d->cfg.corosync_userdata, local);
    return r;
}

/* ---- sync rounds ------------------------------------------------------------------------ */

static int on_get_state(void *userdata, void **ret, size_t *ret_len) {
    Dcdb *d = userdata;
    return memdb_encode_index(d->cfg.memdb, ret, ret_len);
}

static void cleanup_round(void *userdata) {
    Dcdb *d = userdata;
    for (size_t i = 0; i < d->n_updates; i++) {
        free(d->updates[i].name);
        free(d->updates[i].data);
    }
    free(d->updates);
    d->updates = NULL;
    d->n_updates = d->cap_updates = 0;
    free(d->leader_index);
    d->leader_index = NULL;
    d->leader_index_len = 0;
}

static bool same_state(const DfsmState *a, const DfsmState *b) {
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Entries of the leader's index missing or different in another member's index. */
static int
send_updates(Dcdb *d, const DfsmState *states, size_t n, size_t leader, const bool *synced) {
    MemdbIndexHeader lh;
    const uint8_t *le;
    int r = memdb_index_parse(states[leader].data, states[leader].len, &lh, &le);
    if (r < 0)
        return r;
    /* inode -> digest of each out-of-date member */
    _cleanup_free_ Hashmap **maps = calloc(n, sizeof *maps);
    if (!maps)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        MemdbIndexHeader h;
        const uint8_t *e;
        if (synced[i])
            continue;
        if (memdb_index_parse(states[i].data, states[i].len, &h, &e) < 0)
            h.count = 0; /* a member with a broken index gets everything */
        maps[i] = hashmap_new(&hashmap_u64_ops);
        if (!maps[i]) {
            r = -ENOMEM;
            goto out;
        }
        for (uint32_t j = 0; j < h.count; j++) {
            const uint8_t *entry = e + (size_t) j * MEMDB_INDEX_ENTRY_SIZE;
            uint64_t inode;
            memcpy(&inode, entry, 8);
            if (hashmap_put(maps[i], U64_TO_KEY(inode), (void *) (entry + 8)) < 0) {
                r = -ENOMEM;
                goto out;
            }
        }
    }
    unsigned sent = 0;
    for (uint32_t j = 0; j < lh.count; j++) {
        const uint8_t *entry = le + (size_t) j * MEMDB_INDEX_ENTRY_SIZE;
        uint64_t inode;
        memcpy(&inode, entry, 8);
        bool needed = false;
        for (size_t i = 0; i < n && !needed; i++) {
            if (!maps[i])
                continue;
            const uint8_t *digest = hashmap_get(maps[i], U64_TO_KEY(inode));
            needed = !digest || memcmp(digest, entry + 8, 32) != 0;
        }
        if (!needed)
            continue;
        _cleanup_free_ void *payload = NULL;
        size_t plen;
        if ((r = memdb_encode_entry(d->cfg.memdb, inode, &payload, &plen)) < 0)
            goto out;
        struct iovec v = {.iov_base = payload, .iov_len = plen};
        if ((r = dfsm_send_update(d->dfsm, &v, 1)) < 0)
            goto out;
        sent++;
    }
    r = dfsm_send_update_complete(d->dfsm);
    log_info("dcdb: leader sent %u updates", sent);
out:
    for (size_t i = 0; i < n; i++)
        hashmap_free(maps[i]);
    return r;
}

static int
on_process_states(void *userdata, const DfsmState *states, size_t n, bool *ret_round_done) {
    Dcdb *d = userdata;
    size_t leader = 0, self = SIZE_MAX;
    MemdbIndexHeader best = {0};
    uint32_t my_nodeid = dfsm_local_nodeid(d->dfsm);

    bool have = false;
    for (size_t i = 0; i < n; i++) {
        MemdbIndexHeader h;
        if (states[i].node.nodeid == my_nodeid && states[i].node.pid == (uint32_t) getpid())
            self = i;
        if (memdb_index_parse(states[i].data, states[i].len, &h, NULL) < 0) {
            log_warning("dcdb: node %u sent a malformed index", states[i].node.nodeid);
            continue;
        }
        /* Highest version, then latest mtime; a tie keeps the first in (nodeid, pid) order. */
        if (!have || h.version > best.version ||
            (h.version == best.version && h.mtime > best.mtime)) {
            best = h;
            leader = i;
            have = true;
        }
    }
    if (!have)
        return -EBADMSG;
    if (self == SIZE_MAX)
        return -EINVAL;

    _cleanup_free_ bool *synced = calloc(n, sizeof *synced);
    if (!synced)
        return -ENOMEM;
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        synced[i] = same_state(&states[i], &states[leader]);
        all = all && synced[i];
    }
    log_info(
        "dcdb: leader is node %u (version %llu), %s", states[leader].node.nodeid,
        (unsigned long long) best.version, all ? "all members in sync" : "updating members"
    );
    *ret_round_done = all;
    if (all)
        return 1;

    if (leader == self) {
        int r = send_updates(d, states, n, leader, synced);
        if (r < 0)
            return r;
    }
    if (synced[self])
        return 1;
    d->leader_index = malloc(states[leader].len);
    if (!d->leader_index)
        return -ENOMEM;
    memcpy(d->leader_index, states[leader].data, states[leader].len);
    d->leader_index_len = states[leader].len;
    return 0;
}

static int on_process_update(void *userdata, DfsmNode from, const void *data, size_t len) {
    Dcdb *d = userdata;
    DatabaseRow row;
    (void) from;
    int r = memdb_decode_entry(data, len, &row);
    if (r < 0)
        return r;
    if (d->n_updates == d->cap_updates) {
        size_t cap = d->cap_updates ? d->cap_updates * 2 : 64;
        Update *u = realloc(d->updates, cap * sizeof *u);
        if (!u)
            return -ENOMEM;
        d->updates = u;
        d->cap_updates = cap;
    }
    Update *u = &d->updates[d->n_updates];
    *u = (Update){.row = row};
    u->name = strdup(row.name);
    u->data = row.size ? malloc(row.size) : NULL;
    if (!u->name || (row.size && !u->data)) {
        free(u->name);
        free(u->data);
        return -ENOMEM;
    }
    if (row.size)
        memcpy(u->data, row.data, row.size);
    u->row.name = u->name;
    u->row.data = u->data;
    d->n_updates++;
    return 0;
}

static int on_commit(void *userdata) {
    Dcdb *d = userdata;
    if (!d->leader_index)
        return -EINVAL;
    _cleanup_free_ DatabaseRow *rows = calloc(d->n_updates ? d->n_updates : 1, sizeof *rows);
    if (!rows)
        return -ENOMEM;
    for (size_t i = 0; i < d->n_updates; i++)
        rows[i] = d->updates[i].row;
    int r = memdb_replace(
        d->cfg.memdb, d->leader_index, d->leader_index_len, rows, d->n_updates, d->cfg.changed,
        d->cfg.changed_userdata
    );
    if (r < 0)
        return r;
    log_info("dcdb: applied %zu updates from the leader", d->n_updates);
    cfs_status_files_changed_all(d->cfg.status);
    if (d->cfg.corosync_conf_changed)
        d->cfg.corosync_conf_changed(d->cfg.corosync_userdata, false);
    return 0;
}

static void on_synced(void *userdata) {
    (void) userdata;
    log_info("dcdb: synced");
}

static int on_checksum(void *userdata, uint8_t ret[32]) {
    Dcdb *d = userdata;
    return memdb_checksum(d->cfg.memdb, ret);
}

/* ---- service and writers ---------------------------------------------------------------- */

static int service_init(void *userdata) {
    return dfsm_join(((Dcdb *) userdata)->dfsm);
}

static int service_dispatch(void *userdata) {
    return dfsm_dispatch(((Dcdb *) userdata)->dfsm);
}

static void service_finalize(void *userdata) {
    dfsm_finalize(((Dcdb *) userdata)->dfsm);
}

static void service_timer(void *userdata) {
    (void) dfsm_verify_request(((Dcdb *) userdata)->dfsm);
}

CfsService *dcdb_service(Dcdb *d) {
    return &d->service;
}

int dcdb_submit(void *dcdb, const MemdbOp *op, const CfsSubmitDone *done, bool *ret_done_ran) {
    Dcdb *d = dcdb;
    _cleanup_free_ void *msg = NULL;
    size_t len;
    int r, result = 0;

    if (ret_done_ran)
        *ret_done_ran = false;

    if (op->type == MEMDB_OP_MTIME && op->offset == 0 && memdb_path_is_lockdir(op->path)) {
        /* A lock break request: the lowest node decides; the utime itself fails. */
        uint8_t csum[32];
        if (memdb_lock_digest(d->cfg.memdb, op->path, csum) == 0)
            (void) send_unlock(d, DCDB_MESSAGE_UNLOCK_REQUEST, op->path, csum);
        return -EACCES;
    }
    if ((r = dcdb_encode_op(op, &msg, &len)) < 0)
        return r;
    struct iovec v = {.iov_base = msg, .iov_len = len};
    DfsmDone dd = {.fn = done ? done->fn : NULL, .ctx = done ? done->ctx : NULL};
    r = dfsm_send_message_sync(
        d->dfsm, (uint16_t) op->type, &v, 1,
        d->cfg.timeout_ms ? d->cfg.timeout_ms : DCDB_DEFAULT_TIMEOUT_MS, done ? &dd : NULL,
        ret_done_ran, &result
    );
    if (r == -ETIMEDOUT)
        log_warning(
            "dcdb: no delivery of a write to '%s' within %u ms; reporting ETIMEDOUT", op->path,
            d->cfg.timeout_ms ? d->cfg.timeout_ms : DCDB_DEFAULT_TIMEOUT_MS
        );
    return r < 0 ? r : result;
}

static const DfsmCallbacks dcdb_callbacks = {
    .deliver = on_deliver,
    .get_state = on_get_state,
    .process_states = on_process_states,
    .process_update = on_process_update,
    .commit = on_commit,
    .cleanup = cleanup_round,
    .synced = on_synced,
    .checksum = on_checksum,
};

int dcdb_new(const DcdbConfig *config, Dcdb **ret) {
    _cleanup_(dcdb_freep) Dcdb *d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->cfg = *config;
    int r = dfsm_new(DCDB_CPG_GROUP, DCDB_PROTOCOL_VERSION, &dcdb_callbacks, d, &d->dfsm);
    if (r < 0)
        return r;
    d->service = (CfsService){
        .name = "dcdb",
        .priority = 0,
        .userdata = d,
        .init = service_init,
        .dispatch = service_dispatch,
        .finalize = service_finalize,
        .timer = service_timer,
        .period_s = DCDB_VERIFY_INTERVAL_S,
    };
    memdb_set_cluster_locks(d->cfg.memdb, true);
    *ret = TAKE_PTR(d);
    return 0;
}

void dcdb_shutdown(Dcdb *d) {
    if (d)
        dfsm_shutdown(d->dfsm);
}

Dcdb *dcdb_free(Dcdb *d) {
    if (!d)
        return NULL;
    d->dfsm = dfsm_free(d->dfsm);
    cleanup_round(d);
    free(d);
    return NULL;
}
