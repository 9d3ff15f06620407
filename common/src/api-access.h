/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-access (private): what the /access and /pools handler modules share: the locked
 * read-modify-write of user.cfg through the model of pve/user-cfg.h with upstream's error
 * prefixes ("create user failed: ..."), and the "perm-modify" privilege test on a path that
 * several handlers make for single objects (ACL listing, pool membership). Below that, what
 * only the /access files share among themselves.
 *
 *   api-access.c              /access: shared helpers, password, permissions, index, and the
 *                             registration of all /access methods
 *   api-access-users.c        /access/users: users and API tokens
 *   api-access-groups-roles.c /access/groups, /access/roles
 *   api-access-acl.c          /access/acl
 *   api-access-realms.c       /access/domains (domains.cfg)
 *   api-access-tfa.c          /access/tfa, /access/users/{userid}/tfa|unlock-tfa (tfa.cfg)
 *   api-pools.c               /pools
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "pve/api-env.h"
#include "pve/api-router.h"
#include "pve/section-config.h"
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

/* Parameters of a validated call: the value, a string (NULL when absent or not a string), a
 * boolean that is set and true. */
static inline json_t *param(const ApiCall *call, const char *name) {
    return json_object_get(call->params, name);
}
static inline const char *param_str(const ApiCall *call, const char *name) {
    return json_string_value(param(call, name));
}
static inline bool param_true(const ApiCall *call, const char *name) {
    bool b = false;
    (void) api_call_param_bool(call, name, &b);
    return b;
}

/* ---- shared by the /access files (api-access*.c) ------------------------------------------ */

/* registration of the methods of each file, called by api_access_register() in table order */
int api_access_users_register(ApiRouter *r);
int api_access_groups_roles_register(ApiRouter *r);
int api_access_acl_register(ApiRouter *r);
int api_access_realms_register(ApiRouter *r);
int api_access_tfa_register(ApiRouter *r);

/* api-access.c: parameter values, results and errors */
const char *access_value_str(const json_t *v, char buf[static 32]); /* string form, bools 0/1 */
int access_set_result_or_oom(ApiCall *call, json_t *o, int r); /* o as result, or drop it and r */
int access_fail_no_user(ApiCall *call, const char *userid);
int access_fail_no_token(ApiCall *call, const char *userid, const char *name);
int access_fail_no_group(ApiCall *call, const char *groupid);
/* 400 with one entry in the errors map */
int access_fail_param(ApiCall *call, const char *name, const char *fmt, const char *arg);

/* api-access.c: a random (version 4) UUID in lower case */
int access_uuid_random(char ret[static 37]);

/* api-access.c: locked edits of the files under the cfs mount, errors get "<errprefix>: " */
int access_edit_file(
    ApiCall *call, const char *path, const char *errprefix, ApiFileUpdateFn fn, void *userdata
);
/* set (NULL: remove) the hash of userid in priv/shadow.cfg, the secret of tokenid in
 * priv/token.cfg */
int access_shadow_set(ApiCall *call, const char *userid, const char *hash);
int access_token_secret_set(ApiCall *call, const char *tokenid, const char *secret);
/* upstream domain_set_password(): the realm of userid (pve or pam) stores the password */
int access_set_password(ApiCall *call, const char *userid, const char *password);

/* api-access-realms.c: domains.cfg with pam and pve always present (ret_digest: NULL or 41
 * bytes), and the realm type of a userid (NULL when the realm is unknown) */
int access_domains_load(ApiCall *call, SectionConfig **ret, char *ret_digest);
const char *access_realm_type_of(const SectionConfig *domains, const char *userid);
/* the type of the second factor userid's realm enforces ("oath", "yubico"), NULL for none */
const char *
access_realm_tfa_type(const SectionConfig *domains, const char *userid, char buf[static 16]);

/* api-access-tfa.c: forget the second factors of a deleted user (priv/tfa.cfg, under its lock) */
int access_tfa_remove_user(ApiCall *call, const char *userid);

/* api-access-users.c: the permission checks of DELETE /access/users/{userid}, also a part of
 * PUT /access/password's */
extern const ApiPermCheck access_delete_user_checks[2];

/* schema parameters and permission descriptors used by several files */
#define P_USERID                                                                    \
    API_PARAM_STRING(                                                               \
        "userid", .format = "pve-userid", .max_length = 64, .typetext = "<string>", \
        .description = "Full User ID, in the `name@realm` format."                  \
    )
#define P_COMMENT API_PARAM_STRING("comment", .optional = true, .typetext = "<string>")
#define CHECK_USERID_PARAM(a) \
    { .kind = API_CHECK_USERID_PARAM, .arg = (a) }
#define CHECK_USERID_GROUP(pv, a) \
    { .kind = API_CHECK_USERID_GROUP, .privs = (pv), .arg = (a) }
#define PERM_CHECK_NODE(k, s) \
    (&(const ApiPermissions   \
    ){.check = &(const ApiPermCheck){.kind = (k), .subs = (s), .n_subs = ELEMENTSOF(s)}})
