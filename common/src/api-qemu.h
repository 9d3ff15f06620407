/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-qemu: what the /nodes/{node}/qemu handler modules share (private to common/src):
 * parameter macros and the status module's table (guest helpers: api-guest.h).
 *
 *   api-qemu.c         list, create, index, config (GET/POST/PUT), pending, destroy
 *   api-qemu-status.c  status index, status/current and the power actions
 */
#pragma once

#include <stdint.h>

#include "api-nodes.h"
#include "pve/api-router.h"
#include "pve/guest-config.h"

#define API_VMID_PARAM                                           \
    API_PARAM_INTEGER(                                           \
        "vmid", .format = "pve-vmid", API_RANGE(100, 999999999), \
        .description = "The (unique) ID of the VM."              \
    )
#define API_SKIPLOCK_PARAM                                                       \
    API_PARAM_BOOL(                                                              \
        "skiplock", .optional = true,                                            \
        .description = "Ignore locks - only root is allowed to use this option." \
    )

int api_qemu_status_register(ApiRouter *r);
