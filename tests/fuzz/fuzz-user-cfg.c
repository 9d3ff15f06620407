/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the user.cfg parser and printer: whatever parses must print, the printed text
 * must parse again, and printing that must give the same bytes (the canonical form is a fixed
 * point). Permission evaluation runs on every parsed model to shake out the ACL walk.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/user-cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    _cleanup_(user_cfg_freep) UserCfg *c = NULL;
    _cleanup_free_ char *msg = NULL;
    unsigned line = 0;

    if (size > 1 << 16)
        return 0;
    if (user_cfg_parse((const char *) data, size, &c, &line, &msg) < 0)
        return 0;

    for (size_t i = 0; i < user_cfg_n_users(c); i++) {
        const UserCfgUser *u = user_cfg_user_at(c, i);
        PrivSet s;
        (void) user_cfg_permissions_at(c, u->userid, "/vms/100", 0, &s);
        (void) user_cfg_permissions_at(c, u->userid, "/", 0, &s);
    }

    _cleanup_free_ char *p1 = NULL;
    if (user_cfg_print(c, &p1) < 0)
        abort();
    _cleanup_(user_cfg_freep) UserCfg *c2 = NULL;
    if (user_cfg_parse(p1, strlen(p1), &c2, NULL, NULL) < 0)
        abort();
    _cleanup_free_ char *p2 = NULL;
    if (user_cfg_print(c2, &p2) < 0)
        abort();
    if (!streq(p1, p2))
        abort();
    return 0;
}
