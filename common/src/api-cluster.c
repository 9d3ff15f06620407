/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-cluster: /cluster: status, resources, nextid, log, tasks, options (datacenter.cfg), config
 * (create/join).
 */
#include "pve/api-env.h"
#include "pve/api-methods.h"

int api_cluster_register(ApiRouter *r) {
    (void) r;
    return 0;
}
