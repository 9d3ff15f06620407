/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-access: /access: users, groups, roles, ACLs, realms (domains.cfg), passwords, API tokens,
 * permissions.
 */
#include "pve/api-env.h"
#include "pve/api-methods.h"

int api_access_register(ApiRouter *r) {
    (void) r;
    return 0;
}
