/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-rrd: the RRD read side of the API (specs/api.md §9.4): GET /nodes/{node}/rrddata and
 * /nodes/{node}/storage/{storage}/rrddata, upstream's create_rrd_data over the files pmxcfs
 * keeps ($PVE_RRD_DIR, through rrdcached's flush when $PVE_RRDCACHED_SOCKET exists). Node
 * RRDs exist on every node, so the node call has no proxyto; the storage call is proxied
 * to {node} as upstream. Guest RRDs (pve2-vm/<vmid>, from pvestatd's pve2.3-vm values) exist on
 * every node too: /nodes/{node}/qemu|lxc/{vmid}/rrddata have no proxyto either.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

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
};

int api_rrd_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
