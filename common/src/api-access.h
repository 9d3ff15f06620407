/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-access (private): what the /access and /pools handler modules share: the locked
 * read-modify-write of user.cfg through the model of pve/user-cfg.h with upstream's error
 * prefixes ("create user failed: ..."), and the "perm-modify" privilege test on a path that
 * several handlers make for single objects (ACL listing, pool membership).
 *
 *   api-access.c  /access: users, tokens, groups, roles, acl, domains, password, permissions
 *   api-pools.c   /pools
 */
#pragma once

#include <stdbool.h>

#include "pve/api-router.h"
#include "pve/user-cfg.h"

/*
 * Edit user.cfg under its cluster lock (lock id file-user_cfg): the current file is parsed,
 * fn edits the model (reporting failures with api_call_fail() and returning their negative
 * errno) and the canonical text is written back. Any failure message, also a lock timeout,
 * gets "<errprefix>: " in front, as upstream's lock_user_config() does (errprefix may be NULL).
 */
typedef int (*ApiUserCfgEditFn)(ApiCall *call, UserCfg *cfg, void *userdata);
int api_access_edit_user_cfg(
    ApiCall *call, const char *errprefix, ApiUserCfgEditFn fn, void *userdata
);

/* The caller may grant permissions on path (upstream check_perm_modify): Permissions.Modify,
 * or the allocate privilege of the object the path names (VM.Allocate on /vms/<id>,
 * Datastore.Allocate on /storage/<id>, Pool.Allocate on /pool/<id>, Mapping.Modify on a
 * mapping). With report, a failure is recorded as 403 and -EPERM returned; else 0/-EACCES. */
int api_access_check_perm_modify(ApiCall *call, UserCfg *cfg, const char *path, bool report);

/* Items of a ",; " separated list (upstream split_list) as a NULL-terminated vector; NULL on
 * OOM. */
char **api_access_split_list(const char *s);
void api_access_strv_free(char **v);
static inline void api_access_strv_freep(char ***v) {
    api_access_strv_free(*v);
}
#define _cleanup_strv_ _cleanup_(api_access_strv_freep)
