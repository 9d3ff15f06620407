/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * user-cfg: /etc/pve/user.cfg (api.md §2.8/§2.9) as a model: users with their API tokens,
 * groups, pools, custom roles and ACL entries; the 47 privileges and the built-in roles; and the
 * permission evaluation that handler checks use. Pure functions over text: the caller reads the
 * file (through pmxcfs) and hands the bytes in; nothing here logs.
 *
 * The printer writes upstream's canonical form: users (each followed by its tokens, sorted),
 * groups, pools, roles (built-ins never), ACLs (per path, propagate 0 before 1, users/groups with
 * the same role list joined), each block followed by a blank line; text fields percent-encoded.
 * print(parse(x)) == x for text in that form. root@pam always exists and always has every
 * privilege; ACL entries naming it are dropped.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pve/macro.h"

#define PRIV_COUNT 47
typedef uint64_t PrivSet; /* bit i = privilege priv_name(i) */
#define PRIVSET_ALL ((UINT64_C(1) << PRIV_COUNT) - 1)

/* Name of privilege i (0..PRIV_COUNT-1), NULL if out of range. */
const char *priv_name(unsigned i);
/* Index of a privilege name, or -EINVAL if it is not one of the 47. */
int priv_from_name(const char *name);
/* Privileges of a built-in role into *ret: 0, or -ENOENT if name is not built in. */
int user_cfg_builtin_role(const char *name, PrivSet *ret);

typedef struct UserCfgToken {
    char *name;     /* the part after '!' */
    int64_t expire; /* epoch seconds, 0 = never */
    bool privsep;
    char *comment;
} UserCfgToken;

typedef struct UserCfgUser {
    char *userid;
    bool enable;
    int64_t expire;
    char *firstname, *lastname, *email, *comment, *keys; /* never NULL, maybe "" */
    UserCfgToken **tokens;
    size_t n_tokens;
} UserCfgUser;

typedef struct UserCfgGroup {
    char *groupid;
    char **members; /* sorted, unique */
    size_t n_members;
    char *comment;
} UserCfgGroup;

typedef struct UserCfgPool {
    char *poolid;
    char *comment;
    char **vms; /* sorted (as strings), unique */
    size_t n_vms;
    char **storage;
    size_t n_storage;
} UserCfgPool;

typedef struct UserCfgRole {
    char *roleid;
    PrivSet privs;
} UserCfgRole;

typedef struct UserCfgAcl {
    char *path; /* normalized: leading '/', no trailing or doubled '/' */
    char *ugid; /* userid, "@group" or tokenid */
    char *role;
    bool propagate;
} UserCfgAcl;

typedef struct UserCfg UserCfg;

/*
 * Parse user.cfg text (len bytes, need not be NUL-terminated). On failure returns -EINVAL (or
 * -ENOMEM) and, if given, the 1-based line in *reterr_line and a malloc()ed message in
 * *reterr_msg. Stricter than upstream, which warns and skips: unknown entry types, invalid ids,
 * unknown privileges, references to undefined users/groups/tokens/roles are errors.
 */
int user_cfg_parse(
    const char *text, size_t len, UserCfg **ret, unsigned *reterr_line, char **reterr_msg
);
/* Canonical text, malloc()ed. 0 or -ENOMEM. */
/* Entries the parser ignored because they refer to something undefined, name an unknown
 * privilege or entry type, or put a VM into a second pool ("line N: reason"); upstream ignores
 * the same entries with a warning, so callers should log these. */
size_t user_cfg_warnings(const UserCfg *c, const char *const **ret);
int user_cfg_print(const UserCfg *c, char **ret);
UserCfg *user_cfg_free(UserCfg *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(UserCfg *, user_cfg_free);

/* Lookups; NULL if absent. Pointers stay valid until user_cfg_free(). */
const UserCfgUser *user_cfg_get_user(const UserCfg *c, const char *userid);
const UserCfgToken *user_cfg_get_token(const UserCfg *c, const char *tokenid);
const UserCfgGroup *user_cfg_get_group(const UserCfg *c, const char *groupid);
const UserCfgPool *user_cfg_get_pool(const UserCfg *c, const char *poolid);
/* Built-in or custom role. */
const UserCfgRole *user_cfg_get_role(const UserCfg *c, const char *roleid);
size_t user_cfg_n_users(const UserCfg *c);
const UserCfgUser *user_cfg_user_at(const UserCfg *c, size_t i);
/* Iteration in file order; custom roles only (built-ins: user_cfg_builtin_role()). */
size_t user_cfg_n_groups(const UserCfg *c);
const UserCfgGroup *user_cfg_group_at(const UserCfg *c, size_t i);
size_t user_cfg_n_pools(const UserCfg *c);
const UserCfgPool *user_cfg_pool_at(const UserCfg *c, size_t i);
size_t user_cfg_n_roles(const UserCfg *c);
const UserCfgRole *user_cfg_role_at(const UserCfg *c, size_t i);
size_t user_cfg_n_acls(const UserCfg *c);
const UserCfgAcl *user_cfg_acl_at(const UserCfg *c, size_t i);

/* true if the user (or, for a tokenid, the user and the token) exists, is enabled and has not
 * expired at now. */
bool user_cfg_is_active(const UserCfg *c, const char *id, int64_t now);

/*
 * Effective privileges of a userid or tokenid on path at time now: root@pam has all; unknown,
 * disabled or expired users/tokens have none. ACLs are resolved per §2.8 (deepest matching level
 * replaces, token entry > user entry > union of the user's groups, propagate, NoAccess), pool
 * ACLs on /pool/<id> extend /vms/<vmid> and /storage/<id> of members, and a privsep token gets
 * its own ACLs intersected with its user's privileges (privsep=0: exactly the user's). Always 0.
 */
int user_cfg_permissions_at(
    const UserCfg *c, const char *id, const char *path, int64_t now, PrivSet *ret_privs
);
/* Same at time(NULL). */
int user_cfg_permissions(const UserCfg *c, const char *id, const char *path, PrivSet *ret_privs);

/* Handler check: privs is a NULL-terminated list of privilege names; all of them are needed, or
 * one of them with any=true (an empty list always passes). 0 if allowed, -EACCES if not, -EINVAL
 * for an unknown privilege name. */
int user_cfg_check(
    const UserCfg *c, const char *id, const char *path, const char *const *privs, bool any
);
