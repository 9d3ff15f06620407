/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-qemu: what the /nodes/{node}/qemu handler modules share (private to common/src):
 * parameter macros, loading a VM of this node for a call, and the status module's table.
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

/* The call's vmid parameter. */
uint32_t api_qemu_vmid(const ApiCall *call);

/*
 * This node's VM of the call: api_node_check_local(), then read and parse its config (500
 * "Configuration file 'nodes/<node>/qemu-server/<vmid>.conf' does not exist" when missing).
 * *ret_raw (may be NULL) gets the file text for digest checks.
 */
int api_qemu_load(ApiCall *call, uint32_t vmid, GuestConfig **ret, char **ret_raw);

/* skiplock is for root@pam only (403 otherwise); then the config's lock unless skipped
 * (500 "VM is locked (<lock>)"). */
int api_qemu_check_lock(ApiCall *call, const GuestConfig *c);

int api_qemu_status_register(ApiRouter *r);
