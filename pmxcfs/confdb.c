/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * confdb: libcmap as a CfsService (see confdb.h). Change notifications only set a flag; the
 * whole cluster info is re-read once after each dispatch, so a corosync reload that touches
 * many keys results in one update of the status store. Runs on the cluster loop thread; the
 * local nodeid is an atomic for readers elsewhere.
 */
#include "confdb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs-error.h"
#include "pve/log.h"
#include "pve/string-util.h"

#define CONFDB_PRIORITY  0
#define CONFDB_MAX_NODES 4096u /* the status store's limit */

static const struct {
    const char *key;
    int32_t flags;
} tracked[] = {
    {"nodelist.node.", CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX},
    {"totem.cluster_name", CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY},
    {"totem.config_version", CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY},
    {"runtime.votequorum.this_node_id", CMAP_TRACK_ADD | CMAP_TRACK_MODIFY},
};

struct Confdb {
    CfsService service;
    CfsStatus *status;
    cmap_handle_t handle;
    cmap_track_handle_t tracks[ELEMENTSOF(tracked)];
    bool connected;
    bool changed;
    atomic_uint_least32_t local_nodeid;
};

/* ---- reading ---------------------------------------------------------------------------- */

/* An unsigned value of any integer type (or a decimal string) as u64. */
static int cmap_get_unsigned(cmap_handle_t h, const char *key, uint64_t *ret) {
    char buf[64];
    size_t len = sizeof buf - 1;
    cmap_value_types_t type;
    cs_error_t e = cmap_get(h, key, buf, &len, &type);
    if (e != CS_OK)
        return cs_error_to_errno(e);
    switch (type) {
    case CMAP_VALUETYPE_UINT8:
        *ret = *(uint8_t *) buf;
        return 0;
    case CMAP_VALUETYPE_UINT16:
        *ret = *(uint16_t *) (void *) buf;
        return 0;
    case CMAP_VALUETYPE_UINT32:
        *ret = *(uint32_t *) (void *) buf;
        return 0;
    case CMAP_VALUETYPE_UINT64:
        *ret = *(uint64_t *) (void *) buf;
        return 0;
    case CMAP_VALUETYPE_INT8:
    case CMAP_VALUETYPE_INT16:
    case CMAP_VALUETYPE_INT32:
    case CMAP_VALUETYPE_INT64: {
        int64_t v = type == CMAP_VALUETYPE_INT8    ? *(int8_t *) buf
                    : type == CMAP_VALUETYPE_INT16 ? *(int16_t *) (void *) buf
                    : type == CMAP_VALUETYPE_INT32 ? *(int32_t *) (void *) buf
                                                   : *(int64_t *) (void *) buf;
        if (v < 0)
            return -ERANGE;
        *ret = (uint64_t) v;
        return 0;
    }
    case CMAP_VALUETYPE_STRING: {
        unsigned long long v;
        buf[MIN(len, sizeof buf - 1)] = '\0';
        int r = safe_atou64(buf, &v);
        if (r < 0)
            return r;
        *ret = v;
        return 0;
    }
    default:
        return -EINVAL;
    }
}

static int cmap_get_u32(cmap_handle_t h, const char *key, uint32_t *ret) {
    uint64_t v;
    int r = cmap_get_unsigned(h, key, &v);
    if (r < 0)
        return r;
    if (v > UINT32_MAX)
        return -ERANGE;
    *ret = (uint32_t) v;
    return 0;
}

/* A string value (malloc'd) or NULL when absent/not a string. */
static char *cmap_get_str(cmap_handle_t h, const char *key) {
    char *s = NULL;
    if (cmap_get_string(h, key, &s) != CS_OK)
        return NULL;
    return s;
}

void confdb_info_done(ConfdbInfo *info) {
    if (!info)
        return;
    free(info->cluster_name);
    for (size_t i = 0; i < info->n_nodes; i++) {
        free(info->nodes[i].name);
        free(info->nodes[i].ring0_addr);
    }
    free(info->nodes);
    *info = (ConfdbInfo){0};
}

static int cmp_node(const void *a, const void *b) {
    uint32_t x = ((const ConfdbNode *) a)->nodeid, y = ((const ConfdbNode *) b)->nodeid;
    return x < y ? -1 : x > y;
}

/* The distinct N of nodelist.node.N.* keys, sorted. */
static int node_indexes(cmap_handle_t h, unsigned **ret, size_t *ret_n) {
    cmap_iter_handle_t it;
    char key[CMAP_KEYNAME_MAXLEN + 1];
    size_t len, n = 0;
    cmap_value_types_t type;
    _cleanup_free_ unsigned *idx = NULL;
    cs_error_t e = cmap_iter_init(h, "nodelist.node.", &it);
    if (e != CS_OK)
        return cs_error_to_errno(e);
    int r = 0;
    while ((e = cmap_iter_next(h, it, key, &len, &type)) == CS_OK) {
        unsigned i;
        int consumed = 0;
        if (sscanf(key, "nodelist.node.%u.%n", &i, &consumed) != 1 || consumed == 0)
            continue;
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = idx[k] == i;
        if (seen)
            continue;
        if (n >= CONFDB_MAX_NODES) {
            r = -E2BIG;
            break;
        }
        unsigned *p = realloc(idx, (n + 1) * sizeof *idx);
        if (!p) {
            r = -ENOMEM;
            break;
        }
        idx = p;
        idx[n++] = i;
    }
    (void) cmap_iter_finalize(h, it);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(idx);
    *ret_n = n;
    return 0;
}

int confdb_info_read(cmap_handle_t h, ConfdbInfo *ret) {
    ConfdbInfo info = {0};
    _cleanup_free_ unsigned *idx = NULL;
    size_t n_idx = 0;
    char key[CMAP_KEYNAME_MAXLEN + 1];
    int r;

    info.cluster_name = cmap_get_str(h, "totem.cluster_name");
    if (cmap_get_unsigned(h, "totem.config_version", &info.config_version) < 0)
        info.config_version = 0;

    r = node_indexes(h, &idx, &n_idx);
    if (r < 0)
        goto fail;
    info.nodes = calloc(n_idx ? n_idx : 1, sizeof *info.nodes);
    if (!info.nodes) {
        r = -ENOMEM;
        goto fail;
    }
    for (size_t k = 0; k < n_idx; k++) {
        ConfdbNode *node = &info.nodes[info.n_nodes];
        snprintf(key, sizeof key, "nodelist.node.%u.nodeid", idx[k]);
        if (cmap_get_u32(h, key, &node->nodeid) < 0 || node->nodeid == 0)
            continue;
        snprintf(key, sizeof key, "nodelist.node.%u.quorum_votes", idx[k]);
        if (cmap_get_u32(h, key, &node->votes) < 0)
            node->votes = 1;
        snprintf(key, sizeof key, "nodelist.node.%u.ring0_addr", idx[k]);
        node->ring0_addr = cmap_get_str(h, key);
        snprintf(key, sizeof key, "nodelist.node.%u.name", idx[k]);
        node->name = cmap_get_str(h, key);
        if (!node->name && node->ring0_addr)
            node->name = strdup(node->ring0_addr);
        if (!node->name || !node->name[0]) {
            free(node->name);
            free(node->ring0_addr);
            *node = (ConfdbNode){0};
            continue;
        }
        info.n_nodes++;
    }
    qsort(info.nodes, info.n_nodes, sizeof *info.nodes, cmp_node);

    if (cmap_get_u32(h, "runtime.votequorum.this_node_id", &info.local_nodeid) < 0) {
        uint32_t pos;
        info.local_nodeid = 0;
        if (cmap_get_u32(h, "nodelist.local_node_pos", &pos) >= 0) {
            snprintf(key, sizeof key, "nodelist.node.%u.nodeid", pos);
            if (cmap_get_u32(h, key, &info.local_nodeid) < 0)
                info.local_nodeid = 0;
        }
    }
    *ret = info;
    return 0;

fail:
    confdb_info_done(&info);
    return r;
}

/* ---- the service ------------------------------------------------------------------------ */

static int push_clinfo(Confdb *c) {
    ConfdbInfo info;
    int r = confdb_info_read(c->handle, &info);
    if (r < 0)
        return log_warning_errno(r, "cannot read the cluster configuration from cmap: %m");

    _cleanup_free_ CfsClusterNode *nodes = calloc(info.n_nodes ? info.n_nodes : 1, sizeof *nodes);
    if (!nodes) {
        confdb_info_done(&info);
        return log_oom();
    }
    for (size_t i = 0; i < info.n_nodes; i++)
        nodes[i] = (CfsClusterNode){.name = info.nodes[i].name, .nodeid = info.nodes[i].nodeid};
    r = cfs_status_set_clinfo(
        c->status, info.cluster_name, (uint32_t) info.config_version, nodes, info.n_nodes
    );
    if (r < 0)
        log_warning_errno(r, "cannot store the cluster configuration: %m");
    else
        log_debug(
            "cluster '%s' config_version %" PRIu64 ", %zu nodes, local nodeid %" PRIu32,
            info.cluster_name ? info.cluster_name : "", info.config_version, info.n_nodes,
            info.local_nodeid
        );
    if (info.local_nodeid)
        atomic_store(&c->local_nodeid, info.local_nodeid);
    confdb_info_done(&info);
    return r;
}

static void on_cmap_notify(
    cmap_handle_t h,
    cmap_track_handle_t th,
    int32_t event,
    const char *key,
    struct cmap_notify_value new_value,
    struct cmap_notify_value old_value,
    void *userdata
) {
    Confdb *c = userdata;
    (void) h, (void) th, (void) new_value, (void) old_value;
    log_debug("cmap key '%s' changed (event %d)", key, event);
    c->changed = true;
}

static void service_finalize(void *userdata) {
    Confdb *c = userdata;
    if (!c->connected)
        return;
    for (size_t i = 0; i < ELEMENTSOF(c->tracks); i++)
        if (c->tracks[i])
            (void) cmap_track_delete(c->handle, c->tracks[i]);
    memset(c->tracks, 0, sizeof c->tracks);
    (void) cmap_finalize(c->handle);
    c->connected = false;
    /* The last cluster info stays: it is still the configuration, only unconfirmed. */
}

static int service_init(void *userdata) {
    Confdb *c = userdata;
    int fd = -1, r;
    cs_error_t e;

    e = cmap_initialize(&c->handle);
    if (e != CS_OK)
        return log_debug_errno(cs_error_to_errno(e), "cmap_initialize: %s", cs_error_name(e));
    c->connected = true;
    for (size_t i = 0; i < ELEMENTSOF(tracked); i++) {
        e = cmap_track_add(
            c->handle, tracked[i].key, tracked[i].flags, on_cmap_notify, c, &c->tracks[i]
        );
        if (e != CS_OK) {
            r = log_debug_errno(
                cs_error_to_errno(e), "cmap_track_add(%s): %s", tracked[i].key, cs_error_name(e)
            );
            service_finalize(c);
            return r;
        }
    }
    e = cmap_fd_get(c->handle, &fd);
    if (e != CS_OK) {
        r = log_debug_errno(cs_error_to_errno(e), "cmap_fd_get: %s", cs_error_name(e));
        service_finalize(c);
        return r;
    }
    c->changed = false;
    r = push_clinfo(c);
    if (r < 0) {
        service_finalize(c);
        return r;
    }
    return fd;
}

static int service_dispatch(void *userdata) {
    Confdb *c = userdata;
    cs_error_t e = cmap_dispatch(c->handle, CS_DISPATCH_ALL);
    if (e != CS_OK && e != CS_ERR_TRY_AGAIN)
        return log_debug_errno(cs_error_to_errno(e), "cmap_dispatch: %s", cs_error_name(e));
    if (c->changed) {
        c->changed = false;
        (void) push_clinfo(c); /* a read error is logged; the old info stays */
    }
    return 0;
}

int confdb_new(CfsStatus *status, Confdb **ret) {
    Confdb *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->status = status;
    atomic_init(&c->local_nodeid, 0);
    c->service = (CfsService){
        .name = "cmap",
        .priority = CONFDB_PRIORITY,
        .userdata = c,
        .init = service_init,
        .dispatch = service_dispatch,
        .finalize = service_finalize,
    };
    *ret = c;
    return 0;
}

Confdb *confdb_free(Confdb *c) {
    if (!c)
        return NULL;
    service_finalize(c);
    free(c);
    return NULL;
}

CfsService *confdb_service(Confdb *c) {
    return &c->service;
}

uint32_t confdb_local_nodeid(Confdb *c) {
    return c ? (uint32_t) atomic_load(&c->local_nodeid) : 0;
}
