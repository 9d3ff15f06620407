/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-pools: /pools: resource pools in user.cfg.
 */
#include "pve/api-env.h"
#include "pve/api-methods.h"

int api_pools_register(ApiRouter *r) {
    (void) r;
    return 0;
}
