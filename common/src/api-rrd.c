/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-rrd: the RRD read side of the API (specs/api.md §9.4): GET /nodes/{node}/rrddata and
 * /nodes/{node}/storage/{storage}/rrddata, upstream's create_rrd_data over the files pmxcfs
 * keeps ($PVE_RRD_DIR, through rrdcached's flush when $PVE_RRDCACHED_SOCKET exists). Node
 * RRDs exist on every node, so the node call has no proxyto; the storage call is proxied
 * to {node} as upstream. Guest RRDs (pve2-vm/<vmid>, from pvestatd's pve2.3-vm values) exist on
 * every node too: /nodes/{node}/qemu|lxc/{vmid}/rrddata have no proxyto either.
 *
 * The .../rrd variants draw upstream's PNG (rrd_store_graph) of the `ds` list (checked
 * against the DS names of that file's definition) and return it as upstream does: the image
 * bytes in `filename` (each byte one character, as Perl's JSON encoder writes a byte string).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-nodes.h"
#include "pve/api-methods.h"
#include "pve/rrd-def.h"
#include "pve/rrd-file.h"

static int rrd_reply(ApiCall *call, const char *key) {
    const char *timeframe = NULL, *cf = NULL;
    (void) api_call_param_string(call, "timeframe", &timeframe);
    (void) api_call_param_string(call, "cf", &cf);

    RrdTarget t = {};
    int r = rrd_key_parse(key, &t);
    if (r < 0) /* the formats of node and storage keep this from happening */
        return api_call_fail(call, 400, NULL, "invalid RRD name '%s'", key);
    _cleanup_(rrd_store_freep) RrdStore *s = NULL;
    r = rrd_store_new(rrd_store_default_dir(), rrd_store_default_socket(), &s);
    if (r < 0) {
        rrd_target_done(&t);
        return r;
    }
    json_t *rows = NULL;
    _cleanup_free_ char *err = NULL;
    r = rrd_store_fetch(s, t.path, timeframe, cf, &rows, &err);
    rrd_target_done(&t);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, 500, NULL, "%s", err ? err : "RRD error: fetch failed");
    return api_call_set_result(call, rows);
}

#define GRAPH_MAX_DS 2

static bool def_has_ds(const RrdDef *def, const char *name) {
    for (size_t i = 0; i < def->n_ds; i++)
        if (streq(def->ds[i].name, name))
            return true;
    return false;
}

static int fail_ds(ApiCall *call, const char *fmt, const char *arg) {
    _cleanup_free_ char *msg = NULL;
    if (asprintf(&msg, fmt, arg) < 0)
        return -ENOMEM;
    json_t *errors = json_pack("{s:s}", "ds", msg);
    if (!errors)
        return -ENOMEM;
    return api_call_fail(call, 400, errors, "Parameter verification failed.");
}

/* Split `ds` (comma/space list) into names of def's data sources: 400 on "ds" otherwise. */
static int parse_ds(ApiCall *call, const RrdDef *def, char *list, const char **ret, size_t *ret_n) {
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(list, ", ;", &save); t;
         t = strtok_r(NULL, ", ;", &save)) {
        if (!def_has_ds(def, t))
            return fail_ds(call, "unknown data source '%s'\n", t);
        if (n == GRAPH_MAX_DS)
            return fail_ds(call, "at most %s data sources per graph\n", "2");
        ret[n++] = t;
    }
    if (n == 0)
        return fail_ds(call, "%s\n", "no data source given");
    *ret_n = n;
    return 0;
}

/* bytes as a JSON string of the code points 0-255 (UTF-8 encoded) */
static json_t *latin1_string(const unsigned char *p, size_t len) {
    _cleanup_free_ char *u = malloc(len * 2 + 1);
    if (!u)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x80)
            u[o++] = (char) p[i];
        else {
            u[o++] = (char) (0xc0 | (p[i] >> 6));
            u[o++] = (char) (0x80 | (p[i] & 0x3f));
        }
    }
    return json_stringn(u, o);
}

static int graph_reply(ApiCall *call, const char *key) {
    const char *timeframe = NULL, *cf = NULL, *ds = NULL;
    (void) api_call_param_string(call, "timeframe", &timeframe);
    (void) api_call_param_string(call, "cf", &cf);
    (void) api_call_param_string(call, "ds", &ds);

    _cleanup_(rrd_target_done) RrdTarget t = {};
    if (rrd_key_parse(key, &t) < 0)
        return api_call_fail(call, 400, NULL, "invalid RRD name '%s'", key);
    _cleanup_free_ char *list = strdup(ds ?: "");
    if (!list)
        return -ENOMEM;
    const char *names[GRAPH_MAX_DS];
    size_t n = 0;
    int r = parse_ds(call, t.def, list, names, &n);
    if (r < 0 || call->status)
        return r;
    _cleanup_(rrd_store_freep) RrdStore *s = NULL;
    r = rrd_store_new(rrd_store_default_dir(), rrd_store_default_socket(), &s);
    if (r < 0)
        return r;
    _cleanup_free_ void *png = NULL;
    _cleanup_free_ char *err = NULL;
    size_t len = 0;
    r = rrd_store_graph(s, t.path, timeframe, names, n, cf, &png, &len, &err);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, 500, NULL, "%s", err ? err : "RRD error: graph failed");
    json_t *image = latin1_string(png, len);
    json_t *res = image ? json_pack("{s:o}", "filename", image) : NULL;
    if (!res)
        return -ENOMEM;
    return api_call_set_result(call, res);
}

static int h_node_rrd(ApiCall *call) {
    const char *node = NULL;
    (void) api_call_param_string(call, "node", &node);
    _cleanup_free_ char *key = NULL;
    if (asprintf(&key, RRD_KEY_NODE "/%s", node) < 0)
        return -ENOMEM;
    return graph_reply(call, key);
}

static int h_storage_rrd(ApiCall *call) {
    const char *node = NULL, *storage = NULL;
    (void) api_call_param_string(call, "node", &node);
    (void) api_call_param_string(call, "storage", &storage);
    _cleanup_free_ char *key = NULL;
    if (asprintf(&key, RRD_KEY_STORAGE "/%s/%s", node, storage) < 0)
        return -ENOMEM;
    return graph_reply(call, key);
}

static int h_guest_rrd(ApiCall *call) {
    long long vmid = 0;
    (void) api_call_param_int(call, "vmid", &vmid);
    _cleanup_free_ char *key = NULL;
    if (asprintf(&key, RRD_KEY_VM "/%lld", vmid) < 0)
        return -ENOMEM;
    return graph_reply(call, key);
}

static int h_node_rrddata(ApiCall *call) {
    const char *node = NULL;
    (void) api_call_param_string(call, "node", &node);
    _cleanup_free_ char *key = NULL;
    if (asprintf(&key, RRD_KEY_NODE "/%s", node) < 0)
        return -ENOMEM;
    return rrd_reply(call, key);
}

static int h_storage_rrddata(ApiCall *call) {
    const char *node = NULL, *storage = NULL;
    (void) api_call_param_string(call, "node", &node);
    (void) api_call_param_string(call, "storage", &storage);
    _cleanup_free_ char *key = NULL;
    if (asprintf(&key, RRD_KEY_STORAGE "/%s/%s", node, storage) < 0)
        return -ENOMEM;
    return rrd_reply(call, key);
}

static int h_guest_rrddata(ApiCall *call) {
    long long vmid = 0;
    (void) api_call_param_int(call, "vmid", &vmid);
    _cleanup_free_ char *key = NULL;
    if (asprintf(&key, RRD_KEY_VM "/%lld", vmid) < 0)
        return -ENOMEM;
    return rrd_reply(call, key);
}

#define CF_PARAM                                                           \
    API_PARAM_STRING(                                                      \
        "cf", .optional = true, .enum_values = API_ENUM("AVERAGE", "MAX"), \
        .description = "The RRD consolidation function"                    \
    )

static const ApiSchema node_rrddata_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_STRING(
                "timeframe",
                .enum_values = API_ENUM("hour", "day", "week", "month", "year", "decade"),
                .description = "Specify the time frame you are interested in."
            ),
            CF_PARAM
        )
);

static const ApiSchema storage_rrddata_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_STRING(
                "storage",
                .format = "pve-storage-id",
                .typetext = "<storage ID>",
                .description = "The storage identifier."
            ),
            API_PARAM_STRING(
                "timeframe",
                .enum_values = API_ENUM("hour", "day", "week", "month", "year"),
                .description = "Specify the time frame you are interested in."
            ),
            CF_PARAM
        )
);

static const ApiSchema guest_rrddata_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_INTEGER(
                "vmid",
                .format = "pve-vmid",
                API_RANGE(100, 999999999),
                .description = "The (unique) ID of the VM."
            ),
            API_PARAM_STRING(
                "timeframe",
                .enum_values = API_ENUM("hour", "day", "week", "month", "year", "decade"),
                .description = "Specify the time frame you are interested in."
            ),
            CF_PARAM
        )
);

#define DS_PARAM                                                      \
    API_PARAM_STRING(                                                 \
        "ds", .typetext = "<string>",                                 \
        .description = "The list of datasources you want to display." \
    )

#define TIMEFRAME_PARAM(...)                                           \
    API_PARAM_STRING(                                                  \
        "timeframe", .enum_values = API_ENUM(__VA_ARGS__),             \
        .description = "Specify the time frame you are interested in." \
    )

static const ApiSchema node_rrd_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            DS_PARAM,
            TIMEFRAME_PARAM("hour", "day", "week", "month", "year", "decade"),
            CF_PARAM
        )
);

static const ApiSchema storage_rrd_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_STRING(
                "storage",
                .format = "pve-storage-id",
                .typetext = "<storage ID>",
                .description = "The storage identifier."
            ),
            DS_PARAM,
            TIMEFRAME_PARAM("hour", "day", "week", "month", "year"),
            CF_PARAM
        )
);

static const ApiSchema guest_rrd_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_INTEGER(
                "vmid",
                .format = "pve-vmid",
                API_RANGE(100, 999999999),
                .description = "The (unique) ID of the VM."
            ),
            DS_PARAM,
            TIMEFRAME_PARAM("hour", "day", "week", "month", "year"),
            CF_PARAM
        )
);

static const ApiSchema rrd_returns =
    API_OBJECT(.properties = API_PROPERTIES(API_PARAM_STRING("filename")));

static const ApiSchema rrddata_returns = API_ARRAY(API_ITEMS(API_TYPE_OBJECT));

static const ApiMethod methods[] = {
    {.path = "/nodes/{node}/rrddata",
     .method = API_METHOD_GET,
     .name = "rrddata",
     .description = "Read node RRD statistics",
     .parameters = &node_rrddata_params,
     .returns = &rrddata_returns,
     .permissions = API_PERM_CHECK("/nodes/{node}", API_PRIVS("Sys.Audit")),
     .protected = true,
     .allowtoken = true,
     .handler = h_node_rrddata},
    {.path = "/nodes/{node}/storage/{storage}/rrddata",
     .method = API_METHOD_GET,
     .name = "rrddata",
     .description = "Read storage RRD statistics.",
     .parameters = &storage_rrddata_params,
     .returns = &rrddata_returns,
     .permissions = API_PERM_CHECK_ANY(
         "/storage/{storage}", API_PRIVS("Datastore.Audit", "Datastore.AllocateSpace")
     ),
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_storage_rrddata},
    {.path = "/nodes/{node}/qemu/{vmid}/rrddata",
     .method = API_METHOD_GET,
     .name = "rrddata",
     .description = "Read VM RRD statistics",
     .parameters = &guest_rrddata_params,
     .returns = &rrddata_returns,
     .permissions = API_PERM_CHECK("/vms/{vmid}", API_PRIVS("VM.Audit")),
     .protected = true,
     .allowtoken = true,
     .handler = h_guest_rrddata},
    {.path = "/nodes/{node}/lxc/{vmid}/rrddata",
     .method = API_METHOD_GET,
     .name = "rrddata",
     .description = "Read VM RRD statistics",
     .parameters = &guest_rrddata_params,
     .returns = &rrddata_returns,
     .permissions = API_PERM_CHECK("/vms/{vmid}", API_PRIVS("VM.Audit")),
     .protected = true,
     .allowtoken = true,
     .handler = h_guest_rrddata},
    {.path = "/nodes/{node}/rrd",
     .method = API_METHOD_GET,
     .name = "rrd",
     .description = "Read node RRD statistics (returns PNG)",
     .parameters = &node_rrd_params,
     .returns = &rrd_returns,
     .permissions = API_PERM_CHECK("/nodes/{node}", API_PRIVS("Sys.Audit")),
     .protected = true,
     .allowtoken = true,
     .handler = h_node_rrd},
    {.path = "/nodes/{node}/storage/{storage}/rrd",
     .method = API_METHOD_GET,
     .name = "rrd",
     .description = "Read storage RRD statistics (returns PNG).",
     .parameters = &storage_rrd_params,
     .returns = &rrd_returns,
     .permissions = API_PERM_CHECK_ANY(
         "/storage/{storage}", API_PRIVS("Datastore.Audit", "Datastore.AllocateSpace")
     ),
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_storage_rrd},
    {.path = "/nodes/{node}/qemu/{vmid}/rrd",
     .method = API_METHOD_GET,
     .name = "rrd",
     .description = "Read VM RRD statistics (returns PNG)",
     .parameters = &guest_rrd_params,
     .returns = &rrd_returns,
     .permissions = API_PERM_CHECK("/vms/{vmid}", API_PRIVS("VM.Audit")),
     .protected = true,
     .allowtoken = true,
     .handler = h_guest_rrd},
    {.path = "/nodes/{node}/lxc/{vmid}/rrd",
     .method = API_METHOD_GET,
     .name = "rrd",
     .description = "Read VM RRD statistics (returns PNG)",
     .parameters = &guest_rrd_params,
     .returns = &rrd_returns,
     .permissions = API_PERM_CHECK("/vms/{vmid}", API_PRIVS("VM.Audit")),
     .protected = true,
     .allowtoken = true,
     .handler = h_guest_rrd},
};

int api_rrd_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
