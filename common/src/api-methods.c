/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-methods: registers every API module's table on a router.
 */
#include "pve/api-methods.h"

int api_register_all(ApiRouter *r) {
    int (*const modules[])(ApiRouter *) = {
        api_ticket_register, api_access_register,  api_pools_register,   api_cluster_register,
        api_nodes_register,  api_storage_register, api_rrd_register,     api_qemu_register,
        api_lxc_register,    api_console_register, api_migrate_register,
    };
    for (size_t i = 0; i < ELEMENTSOF(modules); i++) {
        int k = modules[i](r);
        if (k < 0)
            return k;
    }
    return 0;
}
