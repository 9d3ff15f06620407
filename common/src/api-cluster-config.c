/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-cluster-config: /cluster/config: the corosync configuration (nodes, totem, join info,
 * apiversion), cluster creation, adding/removing nodes and joining an existing cluster.
 */
#include "api-cluster.h"

int api_cluster_config_register(ApiRouter *r) {
    (void) r;
    return 0;
}
