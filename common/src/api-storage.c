/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-storage: /storage (storage.cfg) and /nodes/{node}/storage (status, content).
 */
#include "pve/api-env.h"
#include "pve/api-methods.h"

int api_storage_register(ApiRouter *r) {
    (void) r;
    return 0;
}
