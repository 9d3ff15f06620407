/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-access-groups-roles: /access/groups and /access/roles: groups and their members, the
 * built-in and custom roles (user.cfg).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api-access.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/json-util.h"
#include "pve/string-util.h"

/* ---- groups --------------------------------------------------------------------------------- */

static char *join_strv(char *const *v, size_t n) {
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(v[i]) + 1;
    char *s = malloc(total), *o = s;
    if (!s)
        return NULL;
    *o = 0;
    for (size_t i = 0; i < n; i++)
        o = stpcpy(stpcpy(o, i > 0 ? "," : ""), v[i]);
    return s;
}

static int cmp_group_ptr(const void *a, const void *b) {
    return strcmp(
        (*(const UserCfgGroup *const *) a)->groupid, (*(const UserCfgGroup *const *) b)->groupid
    );
}

static int h_groups_list(ApiCall *call) {
    static const char *const privs[] = {"User.Modify", "Sys.Audit", "Group.Allocate", NULL};
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    size_t n = user_cfg_n_groups(cfg);
    _cleanup_free_ const UserCfgGroup **v = calloc(n + 1, sizeof *v);
    json_t *res = json_array();
    if (!v || !res) {
        json_decref(res);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = user_cfg_group_at(cfg, i);
    qsort(v, n, sizeof *v, cmp_group_ptr);
    for (size_t i = 0; i < n && r >= 0; i++) {
        _cleanup_free_ char *path = NULL, *users = join_strv(v[i]->members, v[i]->n_members);
        if (!users || asprintf(&path, "/access/groups/%s", v[i]->groupid) < 0) {
            r = -ENOMEM;
            break;
        }
        if (!api_has_priv(call, cfg, path, privs, true))
            continue;
        json_t *e = json_pack("{s:s,s:s}", "groupid", v[i]->groupid, "users", users);
        r = e && *v[i]->comment ? json_util_set_string(e, "comment", v[i]->comment) : 0;
        if (r >= 0)
            r = json_util_append_new(res, e);
    }
    return access_set_result_or_oom(call, res, r);
}

static int h_group_get(ApiCall *call) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    const char *groupid = param_str(call, "groupid");
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    const UserCfgGroup *g = user_cfg_get_group(cfg, groupid);
    if (!g)
        return access_fail_no_group(call, groupid);
    json_t *members = json_array(), *o = json_object();
    r = members && o ? 0 : -ENOMEM;
    for (size_t i = 0; r >= 0 && i < g->n_members; i++)
        r = json_util_append_new(members, json_string(g->members[i]));
    if (r >= 0)
        r = json_util_set_new(o, "members", json_incref(members));
    if (r >= 0 && *g->comment)
        r = json_util_set_string(o, "comment", g->comment);
    json_decref(members);
    return access_set_result_or_oom(call, o, r);
}

static int group_create_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *groupid = param_str(call, "groupid");
    (void) userdata;
    int r = user_cfg_add_group(cfg, groupid, param_str(call, "comment"));
    if (r == -EEXIST)
        return api_call_fail(call, 500, NULL, "group '%s' already exists", groupid);
    if (r == -EINVAL)
        return access_fail_param(call, "groupid", "invalid group name '%s'", groupid);
    return r;
}

static int h_group_create(ApiCall *call) {
    return api_access_edit_user_cfg(call, "create group failed", group_create_edit, NULL);
}

static int group_update_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *groupid = param_str(call, "groupid"), *comment = param_str(call, "comment");
    (void) userdata;
    if (!user_cfg_get_group(cfg, groupid))
        return access_fail_no_group(call, groupid);
    return comment ? user_cfg_group_set_comment(cfg, groupid, comment) : 0;
}

static int h_group_update(ApiCall *call) {
    return api_access_edit_user_cfg(call, "update group failed", group_update_edit, NULL);
}

static int group_delete_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *groupid = param_str(call, "groupid");
    (void) userdata;
    int r = user_cfg_remove_group(cfg, groupid);
    return r == -ENOENT ? access_fail_no_group(call, groupid) : r;
}

static int h_group_delete(ApiCall *call) {
    return api_access_edit_user_cfg(call, "delete group failed", group_delete_edit, NULL);
}

/* ---- roles ---------------------------------------------------------------------------------- */

static int role_entry(json_t *res, const char *roleid, PrivSet privs, bool special) {
    _cleanup_free_ char *list = user_cfg_privs_to_list(privs);
    if (!list)
        return -ENOMEM;
    return json_util_append_new(
        res, json_pack("{s:s,s:s,s:i}", "roleid", roleid, "privs", list, "special", special)
    );
}

static int cmp_role_entry(const void *a, const void *b) {
    return strcmp(
        json_string_value(json_object_get(*(json_t *const *) a, "roleid")),
        json_string_value(json_object_get(*(json_t *const *) b, "roleid"))
    );
}

static int h_roles_list(ApiCall *call) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    json_t *res = json_array();
    r = res ? 0 : -ENOMEM;
    for (size_t i = 0; r >= 0 && user_cfg_builtin_role_name(i); i++) {
        PrivSet privs = 0;
        (void) user_cfg_builtin_role(user_cfg_builtin_role_name(i), &privs);
        r = role_entry(res, user_cfg_builtin_role_name(i), privs, true);
    }
    for (size_t i = 0; r >= 0 && i < user_cfg_n_roles(cfg); i++)
        r = role_entry(
            res, user_cfg_role_at(cfg, i)->roleid, user_cfg_role_at(cfg, i)->privs, false
        );
    if (r >= 0) {
        size_t n = json_array_size(res);
        _cleanup_free_ json_t **v = calloc(n + 1, sizeof *v);
        json_t *sorted = json_array();
        r = v && sorted ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++)
            v[i] = json_array_get(res, i);
        if (r >= 0)
            qsort(v, n, sizeof *v, cmp_role_entry);
        for (size_t i = 0; r >= 0 && i < n; i++)
            r = json_array_append(sorted, v[i]) < 0 ? -ENOMEM : 0;
        json_decref(res);
        res = sorted;
    }
    return access_set_result_or_oom(call, res, r);
}

static int h_role_get(ApiCall *call) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    const char *roleid = param_str(call, "roleid");
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    const UserCfgRole *role = user_cfg_get_role(cfg, roleid);
    if (!role)
        return api_call_fail(call, 500, NULL, "role '%s' does not exist", roleid);
    json_t *o = json_object();
    r = o ? 0 : -ENOMEM;
    for (unsigned i = 0; r >= 0 && i < PRIV_COUNT; i++)
        if (role->privs & (UINT64_C(1) << i))
            r = json_util_set_int(o, priv_name(i), 1);
    return access_set_result_or_oom(call, o, r);
}

static int param_privs(ApiCall *call, PrivSet *ret) {
    _cleanup_free_ char *bad = NULL;
    *ret = 0;
    int r = user_cfg_privs_from_list(param_str(call, "privs"), ret, &bad);
    if (r == -EINVAL) /* the schema checks them, so only a name of 64+ bytes gets here */
        return access_fail_param(call, "privs", "invalid privilege '%s'", bad ? bad : "");
    return r;
}

static int role_create_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *roleid = param_str(call, "roleid");
    PrivSet privs;
    (void) userdata;
    if (user_cfg_get_role(cfg, roleid))
        return api_call_fail(call, 500, NULL, "role '%s' already exists", roleid);
    int r = param_privs(call, &privs);
    if (r >= 0)
        r = user_cfg_add_role(cfg, roleid, privs);
    if (r == -EINVAL)
        return access_fail_param(call, "roleid", "invalid role name '%s'", roleid);
    return r;
}

static int h_role_create(ApiCall *call) {
    const char *roleid = param_str(call, "roleid");
    if (strncasecmp(roleid, "PVE", 3) == 0)
        return access_fail_param(
            call, "roleid",
            "cannot use role ID '%s': the prefix 'PVE' is reserved for built-in roles", roleid
        );
    return api_access_edit_user_cfg(call, "create role failed", role_create_edit, NULL);
}

static int role_update_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *roleid = param_str(call, "roleid");
    PrivSet privs;
    (void) userdata;
    if (user_cfg_builtin_role(roleid, NULL) == 0)
        return api_call_fail(
            call, 500, NULL, "auto-generated role '%s' cannot be modified", roleid
        );
    const UserCfgRole *role = user_cfg_get_role(cfg, roleid);
    if (!role)
        return api_call_fail(call, 500, NULL, "role '%s' does not exist", roleid);
    int r = param_privs(call, &privs);
    if (r < 0)
        return r;
    if (param_true(call, "append"))
        privs |= role->privs;
    return user_cfg_role_set_privs(cfg, roleid, privs);
}

static int h_role_update(ApiCall *call) {
    return api_access_edit_user_cfg(call, "update role failed", role_update_edit, NULL);
}

static int role_delete_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *roleid = param_str(call, "roleid");
    (void) userdata;
    int r = user_cfg_remove_role(cfg, roleid);
    if (r == -EPERM)
        return api_call_fail(call, 500, NULL, "auto-generated role '%s' cannot be deleted", roleid);
    if (r == -ENOENT)
        return api_call_fail(call, 500, NULL, "role '%s' does not exist", roleid);
    return r;
}

static int h_role_delete(ApiCall *call) {
    return api_access_edit_user_cfg(call, "delete role failed", role_delete_edit, NULL);
}

/* ---- schemas -------------------------------------------------------------------------------- */

#define P_GROUPID API_PARAM_STRING("groupid", .format = "pve-groupid", .typetext = "<string>")
#define P_ROLEID  API_PARAM_STRING("roleid", .format = "pve-roleid", .typetext = "<string>")

static const ApiSchema no_params = API_OBJECT(.properties = NULL);
static const ApiSchema null_returns = API_SCALAR(API_TYPE_NULL);

static const ApiSchema groups_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_STRING("groupid", .format = "pve-groupid"),
        API_PARAM_STRING("comment", .optional = true),
        API_PARAM_STRING("users", .optional = true, .format = "pve-userid-list")
    )
));
static const ApiSchema group_params = API_OBJECT(.properties = API_PROPERTIES(P_GROUPID));
static const ApiSchema group_edit_params =
    API_OBJECT(.properties = API_PROPERTIES(P_GROUPID, P_COMMENT));
static const ApiSchema group_get_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("comment", .optional = true),
            API_PARAM_ARRAY("members", API_ITEMS(API_TYPE_STRING, .format = "pve-userid"))
        )
);

static const ApiSchema roles_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_STRING("roleid", .format = "pve-roleid"),
        API_PARAM_STRING("privs", .optional = true, .format = "pve-priv-list"),
        API_PARAM_BOOL("special", .optional = true, API_DEFAULT_INT(0))
    )
));
#define P_PRIVS \
    API_PARAM_STRING("privs", .optional = true, .format = "pve-priv-list", .typetext = "<string>")
static const ApiSchema role_params = API_OBJECT(.properties = API_PROPERTIES(P_ROLEID));
static const ApiSchema role_create_params =
    API_OBJECT(.properties = API_PROPERTIES(P_ROLEID, P_PRIVS));
static const ApiSchema role_update_params = API_OBJECT(
        .properties = API_PROPERTIES(
            P_ROLEID,
            P_PRIVS,
            API_PARAM_BOOL("append", .optional = true, .requires = "privs", .typetext = "<boolean>")
        )
);
static const ApiSchema role_get_returns = API_OBJECT(.additional_properties = true);

/* ---- permissions and the method table ------------------------------------------------------- */

#define PERM_GROUP API_PERM_CHECK("/access/groups", API_PRIVS("Group.Allocate"))
#define PERM_ROLE  API_PERM_CHECK("/access", API_PRIVS("Sys.Modify"))

static const ApiMethod methods[] = {
    {.path = "/access/groups",
     .method = API_METHOD_GET,
     .name = "index",
     .description = "Group index.",
     .parameters = &no_params,
     .returns = &groups_returns,
     .permissions = API_PERM_ALL,
     .allowtoken = true,
     .handler = h_groups_list},
    {.path = "/access/groups",
     .method = API_METHOD_POST,
     .name = "create_group",
     .description = "Create new group.",
     .parameters = &group_edit_params,
     .returns = &null_returns,
     .permissions = PERM_GROUP,
     .protected = true,
     .allowtoken = true,
     .handler = h_group_create},
    {.path = "/access/groups/{groupid}",
     .method = API_METHOD_GET,
     .name = "read_group",
     .description = "Get group configuration.",
     .parameters = &group_params,
     .returns = &group_get_returns,
     .permissions = API_PERM_CHECK_ANY("/access/groups", API_PRIVS("Sys.Audit", "Group.Allocate")),
     .allowtoken = true,
     .handler = h_group_get},
    {.path = "/access/groups/{groupid}",
     .method = API_METHOD_PUT,
     .name = "update_group",
     .description = "Update group data.",
     .parameters = &group_edit_params,
     .returns = &null_returns,
     .permissions = PERM_GROUP,
     .protected = true,
     .allowtoken = true,
     .handler = h_group_update},
    {.path = "/access/groups/{groupid}",
     .method = API_METHOD_DELETE,
     .name = "delete_group",
     .description = "Delete group.",
     .parameters = &group_params,
     .returns = &null_returns,
     .permissions = PERM_GROUP,
     .protected = true,
     .allowtoken = true,
     .handler = h_group_delete},

    {.path = "/access/roles",
     .method = API_METHOD_GET,
     .name = "index",
     .description = "Role index.",
     .parameters = &no_params,
     .returns = &roles_returns,
     .permissions = API_PERM_ALL,
     .allowtoken = true,
     .handler = h_roles_list},
    {.path = "/access/roles",
     .method = API_METHOD_POST,
     .name = "create_role",
     .description = "Create new role.",
     .parameters = &role_create_params,
     .returns = &null_returns,
     .permissions = PERM_ROLE,
     .protected = true,
     .allowtoken = true,
     .handler = h_role_create},
    {.path = "/access/roles/{roleid}",
     .method = API_METHOD_GET,
     .name = "read_role",
     .description = "Get role configuration.",
     .parameters = &role_params,
     .returns = &role_get_returns,
     .permissions = API_PERM_ALL,
     .allowtoken = true,
     .handler = h_role_get},
    {.path = "/access/roles/{roleid}",
     .method = API_METHOD_PUT,
     .name = "update_role",
     .description = "Update an existing role.",
     .parameters = &role_update_params,
     .returns = &null_returns,
     .permissions = PERM_ROLE,
     .protected = true,
     .allowtoken = true,
     .handler = h_role_update},
    {.path = "/access/roles/{roleid}",
     .method = API_METHOD_DELETE,
     .name = "delete_role",
     .description = "Delete role.",
     .parameters = &role_params,
     .returns = &null_returns,
     .permissions = PERM_ROLE,
     .protected = true,
     .allowtoken = true,
     .handler = h_role_delete},
};

int api_access_groups_roles_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
