/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the quorum and confdb services against fake libquorum/libcmap functions
 * (linked in with -Wl,--wrap): the quorate flag at connect, on notifications and on loss of
 * the connection, the refusal of a corosync without quorum provider, the cluster info pushed
 * to the status store (names falling back to ring0_addr, incomplete nodes skipped, sorted by
 * nodeid), the local nodeid and its fallback, and one re-read per dispatch after changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include <corosync/cmap.h>
#include <corosync/quorum.h>

#include "confdb.h"
#include "memdb.h"
#include "pve/log.h"
#include "quorum.h"
#include "status.h"

/* ---- fake libquorum --------------------------------------------------------------------- */

static struct {
    cs_error_t init_result;
    uint32_t type;
    int quorate;
    quorum_notification_fn_t notify;
    const void *context;
    int finalized;
    int pending; /* -1 none, else the quorate value the next dispatch notifies */
    cs_error_t dispatch_result;
} fq;

cs_error_t __wrap_quorum_initialize(quorum_handle_t *h, quorum_callbacks_t *cb, uint32_t *type);
cs_error_t __wrap_quorum_initialize(quorum_handle_t *h, quorum_callbacks_t *cb, uint32_t *type) {
    if (fq.init_result != CS_OK)
        return fq.init_result;
    *h = 7;
    *type = fq.type;
    fq.notify = cb->quorum_notify_fn;
    return CS_OK;
}
cs_error_t __wrap_quorum_finalize(quorum_handle_t h);
cs_error_t __wrap_quorum_finalize(quorum_handle_t h) {
    assert_int_equal(h, 7);
    fq.finalized++;
    return CS_OK;
}
cs_error_t __wrap_quorum_context_set(quorum_handle_t h, const void *ctx);
cs_error_t __wrap_quorum_context_set(quorum_handle_t h, const void *ctx) {
    (void) h;
    fq.context = ctx;
    return CS_OK;
}
cs_error_t __wrap_quorum_context_get(quorum_handle_t h, const void **ctx);
cs_error_t __wrap_quorum_context_get(quorum_handle_t h, const void **ctx) {
    (void) h;
    *ctx = fq.context;
    return CS_OK;
}
cs_error_t __wrap_quorum_getquorate(quorum_handle_t h, int *quorate);
cs_error_t __wrap_quorum_getquorate(quorum_handle_t h, int *quorate) {
    (void) h;
    *quorate = fq.quorate;
    return CS_OK;
}
cs_error_t __wrap_quorum_trackstart(quorum_handle_t h, unsigned int flags);
cs_error_t __wrap_quorum_trackstart(quorum_handle_t h, unsigned int flags) {
    (void) h;
    assert_int_equal(flags, CS_TRACK_CHANGES);
    return CS_OK;
}
cs_error_t __wrap_quorum_fd_get(quorum_handle_t h, int *fd);
cs_error_t __wrap_quorum_fd_get(quorum_handle_t h, int *fd) {
    (void) h;
    *fd = 42;
    return CS_OK;
}
cs_error_t __wrap_quorum_dispatch(quorum_handle_t h, cs_dispatch_flags_t flags);
cs_error_t __wrap_quorum_dispatch(quorum_handle_t h, cs_dispatch_flags_t flags) {
    assert_int_equal(flags, CS_DISPATCH_ALL);
    if (fq.pending >= 0) {
        uint32_t members[] = {1, 2};
        fq.notify(h, (uint32_t) fq.pending, 99, 2, members);
        fq.pending = -1;
    }
    return fq.dispatch_result;
}

/* ---- fake libcmap ----------------------------------------------------------------------- */

typedef struct FakeKey {
    const char *key;
    cmap_value_types_t type;
    uint64_t u;
    const char *s;
} FakeKey;

static struct {
    const FakeKey *keys;
    size_t n_keys;
    cs_error_t init_result;
    int initialized, finalized, tracks_added, tracks_deleted;
    cmap_notify_fn_t notify;
    void *notify_ud;
    int pending_notifications;
    size_t iter_pos;
    const char *iter_prefix;
    int gets; /* number of cmap_get* calls, to count re-reads */
} fc;

static const FakeKey *fc_find(const char *key) {
    for (size_t i = 0; i < fc.n_keys; i++)
        if (strcmp(fc.keys[i].key, key) == 0)
            return &fc.keys[i];
    return NULL;
}

cs_error_t __wrap_cmap_initialize(cmap_handle_t *h);
cs_error_t __wrap_cmap_initialize(cmap_handle_t *h) {
    if (fc.init_result != CS_OK)
        return fc.init_result;
    *h = 11;
    fc.initialized++;
    return CS_OK;
}
cs_error_t __wrap_cmap_finalize(cmap_handle_t h);
cs_error_t __wrap_cmap_finalize(cmap_handle_t h) {
    assert_int_equal(h, 11);
    fc.finalized++;
    return CS_OK;
}
cs_error_t __wrap_cmap_fd_get(cmap_handle_t h, int *fd);
cs_error_t __wrap_cmap_fd_get(cmap_handle_t h, int *fd) {
    (void) h;
    *fd = 43;
    return CS_OK;
}
cs_error_t __wrap_cmap_track_add(
    cmap_handle_t h,
    const char *key,
    int32_t type,
    cmap_notify_fn_t fn,
    void *ud,
    cmap_track_handle_t *th
);
cs_error_t __wrap_cmap_track_add(
    cmap_handle_t h,
    const char *key,
    int32_t type,
    cmap_notify_fn_t fn,
    void *ud,
    cmap_track_handle_t *th
) {
    (void) h;
    if (strcmp(key, "nodelist.node.") == 0)
        assert_true(type & CMAP_TRACK_PREFIX);
    assert_true(type & CMAP_TRACK_MODIFY);
    fc.notify = fn;
    fc.notify_ud = ud;
    *th = (cmap_track_handle_t) ++fc.tracks_added;
    return CS_OK;
}
cs_error_t __wrap_cmap_track_delete(cmap_handle_t h, cmap_track_handle_t th);
cs_error_t __wrap_cmap_track_delete(cmap_handle_t h, cmap_track_handle_t th) {
    (void) h, (void) th;
    fc.tracks_deleted++;
    return CS_OK;
}
cs_error_t __wrap_cmap_dispatch(cmap_handle_t h, cs_dispatch_flags_t flags);
cs_error_t __wrap_cmap_dispatch(cmap_handle_t h, cs_dispatch_flags_t flags) {
    assert_int_equal(flags, CS_DISPATCH_ALL);
    struct cmap_notify_value v = {0};
    for (; fc.pending_notifications > 0; fc.pending_notifications--)
        fc.notify(h, 1, CMAP_TRACK_MODIFY, "nodelist.node.0.name", v, v, fc.notify_ud);
    return CS_OK;
}
cs_error_t __wrap_cmap_get(
    cmap_handle_t h, const char *key, void *value, size_t *len, cmap_value_types_t *type
);
cs_error_t __wrap_cmap_get(
    cmap_handle_t h, const char *key, void *value, size_t *len, cmap_value_types_t *type
) {
    (void) h;
    fc.gets++;
    const FakeKey *k = fc_find(key);
    if (!k)
        return CS_ERR_NOT_EXIST;
    *type = k->type;
    switch (k->type) {
    case CMAP_VALUETYPE_UINT32: {
        uint32_t v = (uint32_t) k->u;
        assert_true(*len >= sizeof v);
        memcpy(value, &v, sizeof v);
        *len = sizeof v;
        return CS_OK;
    }
    case CMAP_VALUETYPE_UINT64:
        assert_true(*len >= sizeof k->u);
        memcpy(value, &k->u, sizeof k->u);
        *len = sizeof k->u;
        return CS_OK;
    case CMAP_VALUETYPE_STRING: {
        size_t l = strlen(k->s) + 1;
        if (*len < l)
            return CS_ERR_INVALID_PARAM;
        memcpy(value, k->s, l);
        *len = l;
        return CS_OK;
    }
    default:
        return CS_ERR_INVALID_PARAM;
    }
}
cs_error_t __wrap_cmap_get_string(cmap_handle_t h, const char *key, char **str);
cs_error_t __wrap_cmap_get_string(cmap_handle_t h, const char *key, char **str) {
    (void) h;
    fc.gets++;
    const FakeKey *k = fc_find(key);
    if (!k)
        return CS_ERR_NOT_EXIST;
    if (k->type != CMAP_VALUETYPE_STRING)
        return CS_ERR_INVALID_PARAM;
    *str = strdup(k->s);
    return CS_OK;
}
cs_error_t __wrap_cmap_iter_init(cmap_handle_t h, const char *prefix, cmap_iter_handle_t *it);
cs_error_t __wrap_cmap_iter_init(cmap_handle_t h, const char *prefix, cmap_iter_handle_t *it) {
    (void) h;
    fc.iter_prefix = prefix;
    fc.iter_pos = 0;
    *it = 5;
    return CS_OK;
}
cs_error_t __wrap_cmap_iter_next(
    cmap_handle_t h, cmap_iter_handle_t it, char key[], size_t *len, cmap_value_types_t *type
);
cs_error_t __wrap_cmap_iter_next(
    cmap_handle_t h, cmap_iter_handle_t it, char key[], size_t *len, cmap_value_types_t *type
) {
    (void) h, (void) it;
    for (; fc.iter_pos < fc.n_keys; fc.iter_pos++) {
        const FakeKey *k = &fc.keys[fc.iter_pos];
        if (strncmp(k->key, fc.iter_prefix, strlen(fc.iter_prefix)) == 0) {
            snprintf(key, CMAP_KEYNAME_MAXLEN + 1, "%s", k->key);
            *len = k->type == CMAP_VALUETYPE_STRING ? strlen(k->s) + 1 : 8;
            *type = k->type;
            fc.iter_pos++;
            return CS_OK;
        }
    }
    return CS_ERR_NO_SECTIONS;
}
cs_error_t __wrap_cmap_iter_finalize(cmap_handle_t h, cmap_iter_handle_t it);
cs_error_t __wrap_cmap_iter_finalize(cmap_handle_t h, cmap_iter_handle_t it) {
    (void) h, (void) it;
    return CS_OK;
}

/* ---- fixture ---------------------------------------------------------------------------- */

typedef struct Fixture {
    Memdb *m;
    CfsStatus *status;
    int changes;
    bool last;
} Fixture;

static int setup(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    MemdbLimits limits = memdb_default_limits();
    assert_int_equal(memdb_open(NULL, &limits, &f->m), 0);
    assert_int_equal(cfs_status_new(f->m, "node1", &f->status), 0);
    memset(&fq, 0, sizeof fq);
    fq.type = QUORUM_SET;
    fq.pending = -1;
    fq.dispatch_result = CS_OK;
    fq.init_result = CS_OK;
    memset(&fc, 0, sizeof fc);
    fc.init_result = CS_OK;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    cfs_status_free(f->status);
    memdb_close(f->m);
    free(f);
    return 0;
}

static void on_change(void *userdata, bool quorate) {
    Fixture *f = userdata;
    f->changes++;
    f->last = quorate;
}

/* ---- quorum ----------------------------------------------------------------------------- */

static void test_quorum(void **state) {
    Fixture *f = *state;
    CfsQuorum *q = NULL;
    assert_int_equal(cfs_quorum_new(f->status, on_change, f, &q), 0);
    CfsService *s = cfs_quorum_service(q);
    assert_string_equal(s->name, "quorum");
    assert_true(s->priority < 0); /* before cmap and the CPG groups */

    cfs_status_set_quorate(f->status, false); /* as pmxcfs does in cluster mode */

    /* corosync not running */
    fq.init_result = CS_ERR_LIBRARY;
    assert_int_equal(s->init(s->userdata), -ENOTCONN);
    assert_false(cfs_status_quorate(f->status));
    assert_int_equal(f->changes, 0);

    /* no quorum provider: refused, handle closed */
    fq.init_result = CS_OK;
    fq.type = QUORUM_FREE;
    fq.quorate = 1;
    assert_int_equal(s->init(s->userdata), -EPROTO);
    assert_int_equal(fq.finalized, 1);
    assert_false(cfs_status_quorate(f->status));

    /* connect while quorate */
    fq.type = QUORUM_SET;
    assert_int_equal(s->init(s->userdata), 42);
    assert_true(cfs_status_quorate(f->status));
    assert_int_equal(f->changes, 1);
    assert_true(f->last);

    /* notifications */
    fq.pending = 0;
    assert_int_equal(s->dispatch(s->userdata), 0);
    assert_false(cfs_status_quorate(f->status));
    assert_int_equal(f->changes, 2);
    fq.pending = 0; /* no change: no callback */
    assert_int_equal(s->dispatch(s->userdata), 0);
    assert_int_equal(f->changes, 2);
    fq.pending = 1;
    assert_int_equal(s->dispatch(s->userdata), 0);
    assert_true(cfs_status_quorate(f->status));
    assert_int_equal(f->changes, 3);

    /* .members follows */
    char *json = NULL;
    size_t len;
    assert_int_equal(cfs_status_set_clinfo(f->status, "c", 1, NULL, 0), 0);
    assert_int_equal(cfs_status_members_json(f->status, &json, &len), 0);
    assert_non_null(strstr(json, "\"quorate\": 1"));
    free(json);

    /* a broken connection: dispatch fails, the loop finalises: not quorate */
    fq.dispatch_result = CS_ERR_LIBRARY;
    assert_true(s->dispatch(s->userdata) < 0);
    s->finalize(s->userdata);
    assert_int_equal(fq.finalized, 2);
    assert_false(cfs_status_quorate(f->status));
    assert_int_equal(f->changes, 4);
    assert_false(f->last);
    s->finalize(s->userdata); /* again (stop after a failure): harmless */
    assert_int_equal(fq.finalized, 2);
    assert_int_equal(f->changes, 4);

    cfs_quorum_free(q);
}

/* ---- confdb ----------------------------------------------------------------------------- */

static const FakeKey three_nodes[] = {
    {"nodelist.local_node_pos", CMAP_VALUETYPE_UINT32, 1, NULL},
    {"nodelist.node.0.name", CMAP_VALUETYPE_STRING, 0, "node3"},
    {"nodelist.node.0.nodeid", CMAP_VALUETYPE_UINT32, 3, NULL},
    {"nodelist.node.0.ring0_addr", CMAP_VALUETYPE_STRING, 0, "10.0.0.3"},
    {"nodelist.node.1.nodeid", CMAP_VALUETYPE_UINT32, 1, NULL},
    {"nodelist.node.1.quorum_votes", CMAP_VALUETYPE_UINT32, 2, NULL},
    {"nodelist.node.1.ring0_addr", CMAP_VALUETYPE_STRING, 0, "10.0.0.1"}, /* no name */
    {"nodelist.node.2.name", CMAP_VALUETYPE_STRING, 0, "node2"},
    {"nodelist.node.2.nodeid", CMAP_VALUETYPE_UINT32, 2, NULL},
    {"nodelist.node.2.ring0_addr", CMAP_VALUETYPE_STRING, 0, "10.0.0.2"},
    {"nodelist.node.3.name", CMAP_VALUETYPE_STRING, 0, "no-id"},  /* skipped */
    {"nodelist.node.10.nodeid", CMAP_VALUETYPE_UINT32, 10, NULL}, /* no name at all: skipped */
    {"totem.cluster_name", CMAP_VALUETYPE_STRING, 0, "testclu"},
    {"totem.config_version", CMAP_VALUETYPE_UINT64, 12, NULL},
};

static void test_confdb_info(void **state) {
    (void) state;
    ConfdbInfo info;
    fc.keys = three_nodes;
    fc.n_keys = sizeof three_nodes / sizeof *three_nodes;

    assert_int_equal(confdb_info_read(11, &info), 0);
    assert_string_equal(info.cluster_name, "testclu");
    assert_int_equal(info.config_version, 12);
    assert_int_equal(info.n_nodes, 3);
    assert_int_equal(info.nodes[0].nodeid, 1);
    assert_string_equal(info.nodes[0].name, "10.0.0.1"); /* falls back to ring0_addr */
    assert_int_equal(info.nodes[0].votes, 2);
    assert_int_equal(info.nodes[1].nodeid, 2);
    assert_string_equal(info.nodes[1].name, "node2");
    assert_int_equal(info.nodes[1].votes, 1);
    assert_int_equal(info.nodes[2].nodeid, 3);
    assert_string_equal(info.nodes[2].ring0_addr, "10.0.0.3");
    /* no runtime.votequorum.this_node_id: local_node_pos 1 -> nodelist.node.1.nodeid */
    assert_int_equal(info.local_nodeid, 1);
    confdb_info_done(&info);
    confdb_info_done(&info); /* idempotent */

    static const FakeKey runtime[] = {
        {"runtime.votequorum.this_node_id", CMAP_VALUETYPE_UINT32, 5, NULL},
    };
    fc.keys = runtime;
    fc.n_keys = 1;
    assert_int_equal(confdb_info_read(11, &info), 0);
    assert_null(info.cluster_name);
    assert_int_equal(info.config_version, 0);
    assert_int_equal(info.n_nodes, 0);
    assert_int_equal(info.local_nodeid, 5);
    confdb_info_done(&info);
}

static void test_confdb_service(void **state) {
    Fixture *f = *state;
    Confdb *c = NULL;
    char *json = NULL;
    size_t len;

    fc.keys = three_nodes;
    fc.n_keys = sizeof three_nodes / sizeof *three_nodes;
    assert_int_equal(confdb_new(f->status, &c), 0);
    CfsService *s = confdb_service(c);
    assert_int_equal(confdb_local_nodeid(c), 0);

    fc.init_result = CS_ERR_LIBRARY;
    assert_int_equal(s->init(s->userdata), -ENOTCONN);
    fc.init_result = CS_OK;

    assert_int_equal(s->init(s->userdata), 43);
    assert_true(fc.tracks_added >= 3);
    assert_int_equal(confdb_local_nodeid(c), 1);
    assert_int_equal(cfs_status_members_json(f->status, &json, &len), 0);
    assert_string_equal(
        json,
        "{\n"
        "\"nodename\": \"node1\",\n"
        "\"version\": 1,\n"
        "\"cluster\": { \"name\": \"testclu\", \"version\": 12, \"nodes\": 3, "
        "\"quorate\": 1 },\n"
        "\"nodelist\": {\n"
        "  \"10.0.0.1\": { \"id\": 1, \"online\": 0},\n"
        "  \"node2\": { \"id\": 2, \"online\": 0},\n"
        "  \"node3\": { \"id\": 3, \"online\": 0}\n"
        "  }\n"
        "}\n"
    );
    free(json);

    /* a dispatch without notifications does not re-read */
    int gets = fc.gets;
    assert_int_equal(s->dispatch(s->userdata), 0);
    assert_int_equal(fc.gets, gets);

    /* a reload changing many keys: one re-read, one clinfo version bump */
    static const FakeKey two_nodes[] = {
        {"nodelist.node.0.name", CMAP_VALUETYPE_STRING, 0, "a"},
        {"nodelist.node.0.nodeid", CMAP_VALUETYPE_UINT32, 1, NULL},
        {"nodelist.node.1.name", CMAP_VALUETYPE_STRING, 0, "b"},
        {"nodelist.node.1.nodeid", CMAP_VALUETYPE_UINT32, 2, NULL},
        {"runtime.votequorum.this_node_id", CMAP_VALUETYPE_UINT32, 2, NULL},
        {"totem.cluster_name", CMAP_VALUETYPE_STRING, 0, "testclu"},
        {"totem.config_version", CMAP_VALUETYPE_UINT64, 13, NULL},
    };
    fc.keys = two_nodes;
    fc.n_keys = sizeof two_nodes / sizeof *two_nodes;
    fc.pending_notifications = 5;
    assert_int_equal(s->dispatch(s->userdata), 0);
    assert_int_equal(confdb_local_nodeid(c), 2);
    assert_int_equal(cfs_status_members_json(f->status, &json, &len), 0);
    assert_non_null(strstr(json, "\"version\": 2,\n"));
    assert_non_null(strstr(json, "\"version\": 13, \"nodes\": 2"));
    assert_non_null(strstr(json, "\"b\": { \"id\": 2"));
    free(json);

    /* disconnect keeps the last info */
    s->finalize(s->userdata);
    assert_int_equal(fc.finalized, 1);
    assert_int_equal(fc.tracks_deleted, fc.tracks_added);
    assert_int_equal(cfs_status_members_json(f->status, &json, &len), 0);
    assert_non_null(strstr(json, "\"nodes\": 2"));
    free(json);
    s->finalize(s->userdata);
    assert_int_equal(fc.finalized, 1);
    confdb_free(c);
}

int main(void) {
    pve_log_set_level(LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_quorum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confdb_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confdb_service, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
