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
/* Name of built-in role i (sorted), NULL past the last. */
const char *user_cfg_builtin_role_name(size_t i);

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

/* Like user_cfg_permissions_at(), plus the subset of the privileges that propagate to paths
 * below (upstream's permissions() value per privilege). ret_propagate may be NULL. */
int user_cfg_permissions_ex(
    const UserCfg *c,
    const char *id,
    const char *path,
    int64_t now,
    PrivSet *ret_privs,
    PrivSet *ret_propagate
);

/* Handler check: privs is a NULL-terminated list of privilege names; all of them are needed, or
 * one of them with any=true (an empty list always passes). 0 if allowed, -EACCES if not, -EINVAL
 * for an unknown privilege name. */
int user_cfg_check(
    const UserCfg *c, const char *id, const char *path, const char *const *privs, bool any
);

/* ---- helpers and editing ---------------------------------------------------------------------
 *
 * Pure edits of the model for the API: each validates its input, keeps the model consistent
 * (lookups, group membership, the VM -> pool map, dependent ACL entries) and returns 0 or a
 * negative errno: -EINVAL (invalid id or value), -EEXIST (already there), -ENOENT (something
 * named does not exist), -EBUSY (a VM already in another pool), -EPERM (built-in role),
 * -ENOMEM. Nothing is changed when an error is returned. user_cfg_print() writes the result.
 */

/* A model without entries except root@pam (as parsing ""); NULL on OOM. */
UserCfg *user_cfg_new(void);

/* Comma/semicolon/blank separated privilege names to a set. -EINVAL with *reterr_name (the
 * offending name, malloc'd, if not NULL) when a name is unknown. */
int user_cfg_privs_from_list(const char *list, PrivSet *ret, char **reterr_name);
/* Sorted comma list of the names in s, malloc'd ("" for none); NULL on OOM. */
char *user_cfg_privs_to_list(PrivSet s);
/* upstream normalize_path(): "/" + path, "//" -> "/", no trailing "/"; NULL on OOM. */
char *user_cfg_normalize_path(const char *path);
/* upstream encode_text()/decode_text() of comments (percent-encoding), malloc'd; decode
 * returns NULL also for an encoded NUL byte. */
char *user_cfg_encode_text(const char *s);
char *user_cfg_decode_text(const char *s);
/* Pool ids: [A-Za-z0-9_][A-Za-z0-9._-]* with up to three '/'-separated levels. */
bool user_cfg_poolid_is_valid(const char *poolid) _pure_;
/* The pool a VM (decimal id) belongs to, NULL if none. */
const UserCfgPool *user_cfg_vm_pool(const UserCfg *c, const char *vmid);

/* Users. A new user is enabled, never expires and has empty text fields. Removing a user also
 * removes its tokens, its group memberships and every ACL entry of it or of its tokens. */
int user_cfg_add_user(UserCfg *c, const char *userid);
int user_cfg_remove_user(UserCfg *c, const char *userid);
/*
 * Set one user property from its API string form: "enable" (0/1), "expire" (epoch seconds),
 * "firstname", "lastname", "comment" (any text without NUL; percent-encoded when printed),
 * "email", "keys" (no ':' and no control characters, as they are written raw).
 */
int user_cfg_user_set(UserCfg *c, const char *userid, const char *key, const char *value);

/* Tokens ("user@realm!name"); removing one also removes its ACL entries. comment may be NULL. */
int user_cfg_add_token(
    UserCfg *c, const char *tokenid, int64_t expire, bool privsep, const char *comment
);
int user_cfg_remove_token(UserCfg *c, const char *tokenid);
/* "expire", "privsep" (0/1) or "comment", as user_cfg_user_set(). */
int user_cfg_token_set(UserCfg *c, const char *tokenid, const char *key, const char *value);

/* Groups; removing one also removes its ACL entries. comment may be NULL. */
int user_cfg_add_group(UserCfg *c, const char *groupid, const char *comment);
int user_cfg_remove_group(UserCfg *c, const char *groupid);
int user_cfg_group_set_comment(UserCfg *c, const char *groupid, const char *comment);
/* Membership: both must exist; adding twice is not an error, removing a non-member is. */
int user_cfg_group_add_member(UserCfg *c, const char *groupid, const char *userid);
int user_cfg_group_remove_member(UserCfg *c, const char *groupid, const char *userid);
/* Remove userid from every group (0 also when it was in none). */
int user_cfg_user_leave_groups(UserCfg *c, const char *userid);

/* Pools. A nested pool "a/b" needs its parent. Removing a pool drops its ACL entries on
 * /pool/<id>; -EBUSY while it has sub-pools. comment may be NULL. */
int user_cfg_add_pool(UserCfg *c, const char *poolid, const char *comment);
int user_cfg_remove_pool(UserCfg *c, const char *poolid);
int user_cfg_pool_set_comment(UserCfg *c, const char *poolid, const char *comment);
/* A VM is in at most one pool: -EBUSY when it is in another one (-EEXIST: in this one). */
int user_cfg_pool_add_vm(UserCfg *c, const char *poolid, const char *vmid);
int user_cfg_pool_remove_vm(UserCfg *c, const char *poolid, const char *vmid);
int user_cfg_pool_add_storage(UserCfg *c, const char *poolid, const char *storeid);
int user_cfg_pool_remove_storage(UserCfg *c, const char *poolid, const char *storeid);

/* Custom roles; built-in ones give -EEXIST on add and -EPERM on change or removal. Removing a
 * role also removes the ACL entries that use it. */
int user_cfg_add_role(UserCfg *c, const char *roleid, PrivSet privs);
int user_cfg_role_set_privs(UserCfg *c, const char *roleid, PrivSet privs);
int user_cfg_remove_role(UserCfg *c, const char *roleid);

/* ACL entries on a path (normalized here) for a userid, "@group" or tokenid, which must exist,
 * as must the role. Setting an existing entry updates its propagate flag. Removing an absent
 * entry returns 0. root@pam entries are accepted and not stored, as the parser does. */
int user_cfg_acl_set(
    UserCfg *c, const char *path, const char *ugid, const char *role, bool propagate
);
int user_cfg_acl_remove(UserCfg *c, const char *path, const char *ugid, const char *role);
