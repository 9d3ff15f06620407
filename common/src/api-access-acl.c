/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-access-acl: /access/acl: listing the ACL (what the caller may audit or modify) and
 * adding or removing entries for users, groups and tokens (user.cfg), with upstream's path
 * check and the rule that one only hands out privileges one holds.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-access.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/json-util.h"
#include "pve/string-util.h"

/* ---- ACL ------------------------------------------------------------------------------------ */

static const char *acl_type(const char *ugid) {
    return ugid[0] == '@' ? "group" : strchr(ugid, '!') ? "token" : "user";
}

static int cmp_acl_json(const void *a, const void *b) {
    static const char *const keys[] = {"path", "type", "ugid", "roleid"};
    for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
        int d = strcmp(
            json_string_value(json_object_get(*(json_t *const *) a, keys[i])),
            json_string_value(json_object_get(*(json_t *const *) b, keys[i]))
        );
        if (d)
            return d;
    }
    return 0;
}

static int h_acl_list(ApiCall *call) {
    static const char *const audit_privs[] = {"Sys.Audit", NULL};
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    bool audit = api_has_priv(call, cfg, "/access", audit_privs, false);
    size_t n = user_cfg_n_acls(cfg), k = 0;
    _cleanup_free_ json_t **v = calloc(n + 1, sizeof *v);
    json_t *res = json_array();
    r = v && res ? 0 : -ENOMEM;
    for (size_t i = 0; r >= 0 && i < n; i++) {
        const UserCfgAcl *a = user_cfg_acl_at(cfg, i);
        if (!audit && api_access_check_perm_modify(call, cfg, a->path, false) < 0)
            continue;
        v[k] = json_pack(
            "{s:s,s:s,s:s,s:s,s:i}", "path", a->path, "type", acl_type(a->ugid), "ugid",
            a->ugid[0] == '@' ? a->ugid + 1 : a->ugid, "roleid", a->role, "propagate", a->propagate
        );
        r = v[k++] ? 0 : -ENOMEM;
    }
    if (r >= 0)
        qsort(v, k, sizeof *v, cmp_acl_json);
    for (size_t i = 0; i < k; i++)
        if (json_util_append_new(res, v[i]) < 0)
            r = -ENOMEM;
    return access_set_result_or_oom(call, res, r);
}

/* upstream check_path(): the paths ACLs may be set on */
static bool acl_path_is_known(const char *path) {
#define ID "[[:alnum:]._-]+"
    static const char *const patterns[] = {
        "^/$",
        "^/access(/(groups|groups/" ID "|realm|realm/" ID "))?$",
        "^/mapping(/(dir|pci|usb|notifications)(/" ID ")?)?$",
        "^/nodes(/" ID ")?$",
        "^/pool(/" ID "){0,3}$",
        "^/sdn(/(controllers|dns|ipams|zones|vnets)(/" ID "(/" ID "(/[0-9]+)?)?)?)?$",
        "^/storage(/" ID ")?$",
        "^/vms(/[0-9]+)?$",
    };
#undef ID
    for (size_t i = 0; i < ELEMENTSOF(patterns); i++) {
        regex_t re;
        if (regcomp(&re, patterns[i], REG_EXTENDED | REG_NOSUB) != 0)
            continue;
        bool m = regexec(&re, path, 0, NULL, 0) == 0;
        regfree(&re);
        if (m)
            return true;
    }
    return false;
}

/* Without Permissions.Modify on the path, one can only hand out privileges one holds there. */
static int acl_check_grantable(ApiCall *call, UserCfg *cfg, const char *path, const char *roleid) {
    static const char *const pm[] = {"Permissions.Modify", NULL};
    if (api_has_priv(call, cfg, path, pm, false))
        return 0;
    const UserCfgRole *role = user_cfg_get_role(cfg, roleid);
    for (unsigned i = 0; role && i < PRIV_COUNT; i++) {
        const char *one[] = {priv_name(i), NULL};
        if ((role->privs & (UINT64_C(1) << i)) && !api_has_priv(call, cfg, path, one, false))
            return api_call_fail(call, 403, NULL, "Permission check failed (%s, %s)", path, one[0]);
    }
    return 0;
}

typedef struct AclEdit {
    const char *path;
    bool propagate, delete;
} AclEdit;

static int
acl_apply(ApiCall *call, UserCfg *cfg, const AclEdit *e, const char *ugid, const char *role) {
    int r = e->delete ? user_cfg_acl_remove(cfg, e->path, ugid, role)
                      : user_cfg_acl_set(cfg, e->path, ugid, role, e->propagate);
    if (r == -EINVAL)
        return access_fail_param(call, "path", "invalid ACL path '%s'", e->path);
    return r;
}

/* The users, groups and tokens of the call for one role. */
static int acl_edit_role(ApiCall *call, UserCfg *cfg, const AclEdit *e, const char *role) {
    _cleanup_strv_ char **users = api_access_split_list(param_str(call, "users"));
    _cleanup_strv_ char **groups = api_access_split_list(param_str(call, "groups"));
    _cleanup_strv_ char **tokens = api_access_split_list(param_str(call, "tokens"));
    int r = 0;
    if (!users || !groups || !tokens)
        return -ENOMEM;
    for (size_t i = 0; r >= 0 && groups[i]; i++) {
        _cleanup_free_ char *ugid = NULL;
        if (!user_cfg_get_group(cfg, groups[i]))
            return access_fail_no_group(call, groups[i]);
        if (asprintf(&ugid, "@%s", groups[i]) < 0)
            return -ENOMEM;
        r = acl_apply(call, cfg, e, ugid, role);
    }
    for (size_t i = 0; r >= 0 && users[i]; i++) {
        if (!user_cfg_get_user(cfg, users[i]))
            return api_call_fail(call, 500, NULL, "user '%s' does not exist", users[i]);
        r = acl_apply(call, cfg, e, users[i], role);
    }
    for (size_t i = 0; r >= 0 && tokens[i]; i++) {
        const char *bang = strrchr(tokens[i], '!');
        if (!user_cfg_get_token(cfg, tokens[i])) {
            _cleanup_free_ char *user =
                bang ? strndup(tokens[i], (size_t) (bang - tokens[i])) : NULL;
            return access_fail_no_token(call, user ? user : tokens[i], bang ? bang + 1 : "");
        }
        r = acl_apply(call, cfg, e, tokens[i], role);
    }
    return r;
}

static int acl_update_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const AclEdit *e = userdata;
    _cleanup_strv_ char **roles = api_access_split_list(param_str(call, "roles"));
    if (!roles)
        return -ENOMEM;
    for (size_t i = 0; roles[i]; i++) {
        if (!user_cfg_get_role(cfg, roles[i]))
            return api_call_fail(call, 500, NULL, "role '%s' does not exist", roles[i]);
        int r = e->delete ? 0 : acl_check_grantable(call, cfg, e->path, roles[i]);
        if (r >= 0)
            r = acl_edit_role(call, cfg, e, roles[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

static int h_acl_update(ApiCall *call) {
    const char *rawpath = param_str(call, "path");
    if (!param_str(call, "users") && !param_str(call, "groups") && !param_str(call, "tokens")) {
        const char *m = "either 'users', 'groups' or 'tokens' is required.";
        json_t *errors = json_pack("{s:s,s:s,s:s}", "users", m, "groups", m, "tokens", m);
        return errors ? api_call_fail(call, 400, errors, "Parameter verification failed.")
                      : -ENOMEM;
    }
    bool valid = *rawpath != 0;
    for (const char *s = rawpath; *s; s++)
        if (!isalnum((unsigned char) *s) && !strchr("._-/", *s))
            valid = false;
    _cleanup_free_ char *path = user_cfg_normalize_path(rawpath);
    if (!path)
        return -ENOMEM;
    AclEdit e = {.path = path, .propagate = true, .delete = param_true(call, "delete")};
    (void) api_call_param_bool(call, "propagate", &e.propagate);
    if (!valid || (!e.delete &&!acl_path_is_known(path)))
        return access_fail_param(call, "path", "invalid ACL path '%s'", rawpath);
    return api_access_edit_user_cfg(call, "ACL update failed", acl_update_edit, &e);
}

/* ---- schemas and the method table ------------------------------------------------------------ */

static const ApiSchema no_params = API_OBJECT(.properties = NULL);
static const ApiSchema null_returns = API_SCALAR(API_TYPE_NULL);

static const ApiSchema acl_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_STRING("path"),
        API_PARAM_STRING("type", .enum_values = API_ENUM("user", "group", "token")),
        API_PARAM_STRING("ugid"),
        API_PARAM_STRING("roleid"),
        API_PARAM_BOOL("propagate", .optional = true, API_DEFAULT_INT(1))
    )
));
static const ApiSchema acl_update_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_BOOL(
                "delete",
                .optional = true,
                .typetext = "<boolean>",
                .description = "Remove permissions (instead of adding it)."
            ),
            API_PARAM_STRING(
                "groups", .optional = true, .format = "pve-groupid-list", .typetext = "<string>"
            ),
            API_PARAM_STRING("path", .typetext = "<string>", .description = "Access control path"),
            API_PARAM_BOOL(
                "propagate", .optional = true, API_DEFAULT_INT(1), .typetext = "<boolean>"
            ),
            API_PARAM_STRING("roles", .format = "pve-roleid-list", .typetext = "<string>"),
            API_PARAM_STRING(
                "tokens", .optional = true, .format = "pve-tokenid-list", .typetext = "<string>"
            ),
            API_PARAM_STRING(
                "users", .optional = true, .format = "pve-userid-list", .typetext = "<string>"
            )
        )
);

static const ApiMethod methods[] = {
    {.path = "/access/acl",
     .method = API_METHOD_GET,
     .name = "read_acl",
     .description = "Get Access Control List (ACLs).",
     .parameters = &no_params,
     .returns = &acl_returns,
     .permissions = API_PERM_ALL,
     .allowtoken = true,
     .handler = h_acl_list},
    {.path = "/access/acl",
     .method = API_METHOD_PUT,
     .name = "update_acl",
     .description = "Update Access Control List (add or remove permissions).",
     .parameters = &acl_update_params,
     .returns = &null_returns,
     .permissions = &(const ApiPermissions
     ){.check = &(const ApiPermCheck){.kind = API_CHECK_PERM_MODIFY, .path = "{path}"}},
     .protected = true,
     .allowtoken = true,
     .handler = h_acl_update},
};

int api_access_acl_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
