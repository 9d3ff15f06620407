/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-access-users: /access/users: users (user.cfg; the realm keeps the password) and their API
 * tokens (user.cfg + the secrets in priv/token.cfg).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-access.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/json-util.h"
#include "pve/section-config.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"

/* ---- users ---------------------------------------------------------------------------------- */

static const char *const user_text_keys[] = {"firstname", "lastname", "email", "comment", "keys"};

static int cmp_user_ptr(const void *a, const void *b) {
    return strcmp(
        (*(const UserCfgUser *const *) a)->userid, (*(const UserCfgUser *const *) b)->userid
    );
}

static int cmp_token_ptr(const void *a, const void *b) {
    return strcmp(
        (*(const UserCfgToken *const *) a)->name, (*(const UserCfgToken *const *) b)->name
    );
}

/* {expire, privsep, comment?} */
static json_t *token_info_json(const UserCfgToken *t) {
    json_t *o = json_pack("{s:I,s:i}", "expire", (json_int_t) t->expire, "privsep", t->privsep);
    if (o && *t->comment && json_util_set_string(o, "comment", t->comment) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The user's tokens sorted by name, as [{tokenid, ...}] (as_object: {name: {...}}). */
static json_t *tokens_json(const UserCfgUser *u, bool as_object) {
    _cleanup_free_ const UserCfgToken **v = calloc(u->n_tokens + 1, sizeof *v);
    json_t *res = as_object ? json_object() : json_array();
    if (!v || !res) {
        json_decref(res);
        return NULL;
    }
    if (u->n_tokens)
        memcpy(v, u->tokens, u->n_tokens * sizeof *v);
    qsort(v, u->n_tokens, sizeof *v, cmp_token_ptr);
    for (size_t i = 0; i < u->n_tokens; i++) {
        json_t *t = token_info_json(v[i]);
        int r = t ? 0 : -ENOMEM;
        if (r >= 0 && as_object)
            r = json_util_set_new(res, v[i]->name, t);
        else if (r >= 0 && (r = json_util_set_string(t, "tokenid", v[i]->name)) >= 0)
            r = json_util_append_new(res, t);
        else
            json_decref(t);
        if (r < 0) {
            json_decref(res);
            return NULL;
        }
    }
    return res;
}

/* The groups that have userid as a member (unsorted). */
static json_t *user_groups_json(const UserCfg *cfg, const char *userid) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < user_cfg_n_groups(cfg); i++) {
        const UserCfgGroup *g = user_cfg_group_at(cfg, i);
        for (size_t j = 0; j < g->n_members; j++)
            if (streq(g->members[j], userid) &&
                json_util_append_new(a, json_string(g->groupid)) < 0) {
                json_decref(a);
                return NULL;
            }
    }
    return a;
}

static int cmp_json_str(const void *a, const void *b) {
    return strcmp(json_string_value(*(json_t *const *) a), json_string_value(*(json_t *const *) b));
}

static json_t *sorted_string_array(json_t *a) {
    size_t n = json_array_size(a);
    _cleanup_free_ json_t **v = calloc(n + 1, sizeof *v);
    json_t *out = json_array();
    if (!a || !v || !out) {
        json_decref(a);
        json_decref(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(a, i);
    qsort(v, n, sizeof *v, cmp_json_str);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    json_decref(a);
    return out;
}

/* upstream extract_user_data(): enable, expire, the non-empty text fields; full adds groups
 * (array) and tokens. */
static json_t *user_json(const UserCfg *cfg, const UserCfgUser *u, bool full) {
    json_t *o = json_pack("{s:i,s:I}", "enable", u->enable, "expire", (json_int_t) u->expire);
    const char *vals[] = {u->firstname, u->lastname, u->email, u->comment, u->keys};
    int r = o ? 0 : -ENOMEM;
    for (size_t i = 0; r >= 0 && i < ELEMENTSOF(vals); i++)
        if (*vals[i])
            r = json_util_set_string(o, user_text_keys[i], vals[i]);
    if (r >= 0 && full)
        r = json_util_set_new(o, "groups", sorted_string_array(user_groups_json(cfg, u->userid)));
    if (r < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Members of the groups on which the caller has one of privs (upstream filter_groups +
 * group_member_join) include userid. */
static bool
user_in_allowed_group(ApiCall *call, UserCfg *cfg, const char *const *privs, const char *userid) {
    for (size_t i = 0; i < user_cfg_n_groups(cfg); i++) {
        const UserCfgGroup *g = user_cfg_group_at(cfg, i);
        bool member = false;
        for (size_t j = 0; j < g->n_members && !member; j++)
            member = streq(g->members[j], userid);
        if (!member)
            continue;
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "/access/groups/%s", g->groupid) < 0)
            return false;
        if (api_has_priv(call, cfg, path, privs, true))
            return true;
    }
    return false;
}

static int user_list_entry(
    const UserCfg *cfg, const SectionConfig *domains, const UserCfgUser *u, bool full, json_t **ret
) {
    json_t *o = user_json(cfg, u, full);
    int r = o ? 0 : -ENOMEM;
    if (r >= 0 && full) {
        /* the list has groups as a comma list */
        _cleanup_strbuf_ StrBuf joined = STRBUF_INIT;
        _cleanup_free_ char *list = NULL;
        size_t i;
        json_t *g;
        strbuf_append(&joined, "");
        json_array_foreach(json_object_get(o, "groups"), i, g) {
            strbuf_append(&joined, i > 0 ? "," : "");
            strbuf_append(&joined, json_string_value(g));
        }
        r = strbuf_finish(&joined, &list, NULL);
        if (r >= 0)
            r = json_util_set_string(o, "groups", list);
        if (r >= 0)
            r = json_util_set_new(o, "tokens", tokens_json(u, false));
    }
    if (r >= 0)
        r = json_util_set_string(o, "userid", u->userid);
    if (r >= 0)
        r = json_util_set_string(o, "realm-type", access_realm_type_of(domains, u->userid));
    if (r < 0) {
        json_decref(o);
        return r;
    }
    *ret = o;
    return 0;
}

static int h_users_list(ApiCall *call) {
    static const char *const privs[] = {"User.Modify", "Sys.Audit", NULL};
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    _cleanup_(section_config_freep) SectionConfig *domains = NULL;
    const char *self = api_user(call);
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    r = access_domains_load(call, &domains, NULL);
    if (r < 0)
        return r;

    bool all = api_has_priv(call, cfg, "/access/groups", privs, true);
    json_t *enabled = param(call, "enabled");
    size_t n = user_cfg_n_users(cfg);
    _cleanup_free_ const UserCfgUser **v = calloc(n + 1, sizeof *v);
    json_t *res = json_array();
    if (!v || !res) {
        json_decref(res);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = user_cfg_user_at(cfg, i);
    qsort(v, n, sizeof *v, cmp_user_ptr);
    for (size_t i = 0; i < n; i++) {
        if (!all && !streq(v[i]->userid, self) &&
            !user_in_allowed_group(call, cfg, privs, v[i]->userid))
            continue;
        if (enabled && (json_integer_value(enabled) != 0) != v[i]->enable)
            continue;
        json_t *e = NULL;
        r = user_list_entry(cfg, domains, v[i], param_true(call, "full"), &e);
        if (r >= 0)
            r = json_util_append_new(res, e);
        if (r < 0) {
            json_decref(res);
            return r;
        }
    }
    return api_call_set_result(call, res);
}

static int h_user_get(ApiCall *call) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    const char *userid = param_str(call, "userid");
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    const UserCfgUser *u = user_cfg_get_user(cfg, userid);
    if (!u)
        return access_fail_no_user(call, userid);
    json_t *o = user_json(cfg, u, true);
    if (!o)
        return -ENOMEM;
    r = u->n_tokens > 0 ? json_util_set_new(o, "tokens", tokens_json(u, true)) : 0;
    return access_set_result_or_oom(call, o, r);
}

/* enable, expire and the text fields present in the parameters. */
static int user_apply_params(ApiCall *call, UserCfg *cfg, const char *userid) {
    static const char *const keys[] = {"enable", "expire",  "firstname", "lastname",
                                       "email",  "comment", "keys"};
    for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
        char buf[32];
        json_t *v = param(call, keys[i]);
        const char *s = v ? access_value_str(v, buf) : NULL;
        if (!s)
            continue;
        int r = user_cfg_user_set(cfg, userid, keys[i], s);
        if (r == -EINVAL)
            return access_fail_param(call, keys[i], "invalid value '%s'", s);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Every group of the "groups" parameter must exist. */
static int check_groups_exist(ApiCall *call, UserCfg *cfg, char **groups) {
    for (size_t i = 0; groups && groups[i]; i++)
        if (!user_cfg_get_group(cfg, groups[i]))
            return api_call_fail(call, 500, NULL, "no such group '%s'", groups[i]);
    return 0;
}

static int join_groups(UserCfg *cfg, const char *userid, char **groups) {
    for (size_t i = 0; groups && groups[i]; i++) {
        int r = user_cfg_group_add_member(cfg, groups[i], userid);
        if (r < 0)
            return r;
    }
    return 0;
}

static int user_create_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *userid = param_str(call, "userid"), *password = param_str(call, "password");
    _cleanup_strv_ char **groups = api_access_split_list(param_str(call, "groups"));
    (void) userdata;
    if (!groups)
        return -ENOMEM;
    if (user_cfg_get_user(cfg, userid))
        return api_call_fail(call, 500, NULL, "user '%s' already exists", userid);
    int r = check_groups_exist(call, cfg, groups);
    if (r < 0)
        return r;
    if (password) {
        r = access_set_password(call, userid, password);
        if (r < 0)
            return r;
    }
    r = user_cfg_add_user(cfg, userid);
    if (r == -EINVAL)
        return access_fail_param(call, "userid", "invalid user name '%s'", userid);
    if (r >= 0)
        r = user_apply_params(call, cfg, userid);
    if (r >= 0)
        r = join_groups(cfg, userid, groups);
    return r;
}

static int h_user_create(ApiCall *call) {
    return api_access_edit_user_cfg(call, "create user failed", user_create_edit, NULL);
}

static int user_update_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *userid = param_str(call, "userid"), *list = param_str(call, "groups");
    _cleanup_strv_ char **groups = api_access_split_list(list);
    (void) userdata;
    if (!groups)
        return -ENOMEM;
    if (!user_cfg_get_user(cfg, userid))
        return access_fail_no_user(call, userid);
    int r = check_groups_exist(call, cfg, groups);
    if (r >= 0)
        r = user_apply_params(call, cfg, userid);
    if (r >= 0 && list && !param_true(call, "append"))
        r = user_cfg_user_leave_groups(cfg, userid);
    if (r >= 0)
        r = join_groups(cfg, userid, groups);
    return r;
}

static int h_user_update(ApiCall *call) {
    return api_access_edit_user_cfg(call, "update user failed", user_update_edit, NULL);
}

static int user_delete_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *userid = param_str(call, "userid");
    (void) userdata;
    const UserCfgUser *u = user_cfg_get_user(cfg, userid);
    if (!u)
        return access_fail_no_user(call, userid);
    /* the realm forgets the user (pve: its password), the token secrets and second factors go
     * too */
    _cleanup_(section_config_freep) SectionConfig *domains = NULL;
    int r = access_domains_load(call, &domains, NULL);
    if (r < 0)
        return r;
    const char *type = access_realm_type_of(domains, userid);
    if (type && streq(type, "pve") && (r = access_shadow_set(call, userid, NULL)) < 0)
        return r;
    for (size_t i = 0; i < u->n_tokens; i++) {
        _cleanup_free_ char *tokenid = NULL;
        if (asprintf(&tokenid, "%s!%s", userid, u->tokens[i]->name) < 0)
            return -ENOMEM;
        r = access_token_secret_set(call, tokenid, NULL);
        if (r < 0)
            return r;
    }
    r = access_tfa_remove_user(call, userid);
    if (r < 0)
        return r;
    return user_cfg_remove_user(cfg, userid);
}

static int h_user_delete(ApiCall *call) {
    return api_access_edit_user_cfg(call, "delete user failed", user_delete_edit, NULL);
}

/* ---- API tokens ----------------------------------------------------------------------------- */

static int token_id(const ApiCall *call, char **ret) {
    return asprintf(ret, "%s!%s", param_str(call, "userid"), param_str(call, "tokenid")) < 0
               ? -ENOMEM
               : 0;
}

static int h_tokens_list(ApiCall *call) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    const char *userid = param_str(call, "userid");
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    const UserCfgUser *u = user_cfg_get_user(cfg, userid);
    if (!u)
        return access_fail_no_user(call, userid);
    json_t *a = tokens_json(u, false);
    return a ? api_call_set_result(call, a) : -ENOMEM;
}

static int h_token_get(ApiCall *call) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    _cleanup_free_ char *tokenid = NULL;
    const char *userid = param_str(call, "userid");
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0 || (r = token_id(call, &tokenid)) < 0)
        return r;
    if (!user_cfg_get_user(cfg, userid))
        return access_fail_no_user(call, userid);
    const UserCfgToken *t = user_cfg_get_token(cfg, tokenid);
    if (!t)
        return access_fail_no_token(call, userid, param_str(call, "tokenid"));
    json_t *o = token_info_json(t);
    return o ? api_call_set_result(call, o) : -ENOMEM;
}

typedef struct TokenCreate {
    char tokenid[256];
    char secret[37];
    json_t *info;
} TokenCreate;

static int token_create_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    TokenCreate *tc = userdata;
    const char *userid = param_str(call, "userid");
    const UserCfgUser *u = user_cfg_get_user(cfg, userid);
    if (!u)
        return access_fail_no_user(call, userid);
    if (user_cfg_get_token(cfg, tc->tokenid))
        return api_call_fail(call, 500, NULL, "Token already exists.");
    long long expire = u->expire;
    json_t *e = param(call, "expire");
    if (e)
        expire = json_integer_value(e);
    bool privsep = true;
    (void) api_call_param_bool(call, "privsep", &privsep);
    int r = user_cfg_add_token(cfg, tc->tokenid, expire, privsep, param_str(call, "comment"));
    if (r == -EINVAL)
        return access_fail_param(call, "tokenid", "invalid token id '%s'", tc->tokenid);
    if (r < 0)
        return r;
    r = access_uuid_random(tc->secret);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to generate token secret: %s", strerror(-r));
    r = access_token_secret_set(call, tc->tokenid, tc->secret);
    if (r < 0)
        return r;
    tc->info = token_info_json(user_cfg_get_token(cfg, tc->tokenid));
    return tc->info ? 0 : -ENOMEM;
}

static int h_token_create(ApiCall *call) {
    TokenCreate tc = {.info = NULL};
    int n = snprintf(
        tc.tokenid, sizeof tc.tokenid, "%s!%s", param_str(call, "userid"),
        param_str(call, "tokenid")
    );
    if (n < 0 || (size_t) n >= sizeof tc.tokenid)
        return access_fail_param(
            call, "tokenid", "token id '%s' is too long", param_str(call, "tokenid")
        );
    int r = api_access_edit_user_cfg(call, "generating token failed", token_create_edit, &tc);
    if (r < 0) {
        json_decref(tc.info);
        return r;
    }
    json_t *o =
        json_pack("{s:s,s:o,s:s}", "full-tokenid", tc.tokenid, "info", tc.info, "value", tc.secret);
    explicit_bzero(tc.secret, sizeof tc.secret);
    return o ? api_call_set_result(call, o) : -ENOMEM;
}

static int token_delete_keys(ApiCall *call, UserCfg *cfg, const char *tokenid) {
    _cleanup_strv_ char **del = api_access_split_list(param_str(call, "delete"));
    if (!del)
        return -ENOMEM;
    for (size_t i = 0; del[i]; i++) {
        const char *empty = streq(del[i], "comment") ? "" : "0";
        if (!streq(del[i], "comment") && !streq(del[i], "expire") && !streq(del[i], "privsep"))
            return access_fail_param(call, "delete", "unknown property '%s'", del[i]);
        int r = user_cfg_token_set(cfg, tokenid, del[i], empty);
        if (r < 0)
            return r;
    }
    return 0;
}

static int token_update_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    json_t **ret_info = userdata;
    const char *userid = param_str(call, "userid");
    _cleanup_free_ char *tokenid = NULL;
    int r = token_id(call, &tokenid);
    if (r < 0)
        return r;
    if (!user_cfg_get_user(cfg, userid))
        return access_fail_no_user(call, userid);
    if (!user_cfg_get_token(cfg, tokenid))
        return access_fail_no_token(call, userid, param_str(call, "tokenid"));
    r = token_delete_keys(call, cfg, tokenid);
    static const char *const keys[] = {"privsep", "expire", "comment"};
    for (size_t i = 0; r >= 0 && i < ELEMENTSOF(keys); i++) {
        char buf[32];
        json_t *v = param(call, keys[i]);
        const char *s = v ? access_value_str(v, buf) : NULL;
        if (s && (*s || !streq(keys[i], "comment")))
            r = user_cfg_token_set(cfg, tokenid, keys[i], s);
    }
    if (r < 0)
        return r;
    *ret_info = token_info_json(user_cfg_get_token(cfg, tokenid));
    return *ret_info ? 0 : -ENOMEM;
}

static int h_token_update(ApiCall *call) {
    json_t *info = NULL;
    int r = api_access_edit_user_cfg(call, "updating token info failed", token_update_edit, &info);
    if (r < 0) {
        json_decref(info);
        return r;
    }
    return api_call_set_result(call, info);
}

static int token_delete_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *userid = param_str(call, "userid");
    _cleanup_free_ char *tokenid = NULL;
    (void) userdata;
    int r = token_id(call, &tokenid);
    if (r < 0)
        return r;
    if (!user_cfg_get_user(cfg, userid))
        return access_fail_no_user(call, userid);
    if (!user_cfg_get_token(cfg, tokenid))
        return access_fail_no_token(call, userid, param_str(call, "tokenid"));
    r = access_token_secret_set(call, tokenid, NULL);
    if (r < 0)
        return r;
    return user_cfg_remove_token(cfg, tokenid);
}

static int h_token_delete(ApiCall *call) {
    return api_access_edit_user_cfg(call, "deleting token failed", token_delete_edit, NULL);
}

/* ---- schemas -------------------------------------------------------------------------------- */

#define P_TOKENID                                        \
    API_PARAM_STRING(                                    \
        "tokenid", .pattern = "[A-Za-z][A-Za-z0-9._-]+", \
        .description = "User-specific token identifier." \
    )
#define P_EXPIRE(what)                                                                   \
    API_PARAM_INTEGER(                                                                   \
        "expire", .optional = true, API_MIN(0), .typetext = "<integer> (0 - N)",         \
        .description =                                                                   \
            what " expiration date (seconds since epoch). '0' means no expiration date." \
    )
#define P_USER_FIELDS                                                                          \
    API_PARAM_STRING("comment", .optional = true, .max_length = 2048, .typetext = "<string>"), \
        API_PARAM_STRING(                                                                      \
            "email", .optional = true, .format = "email-opt", .max_length = 254,               \
            .typetext = "<string>"                                                             \
        ),                                                                                     \
        API_PARAM_BOOL(                                                                        \
            "enable", .optional = true, API_DEFAULT_INT(1), .typetext = "<boolean>",           \
            .description =                                                                     \
                "Enable the account (default). You can set this to '0' to disable "            \
                "the account"                                                                  \
        ),                                                                                     \
        P_EXPIRE("Account"),                                                                   \
        API_PARAM_STRING(                                                                      \
            "firstname", .optional = true, .max_length = 1024, .typetext = "<string>"          \
        ),                                                                                     \
        API_PARAM_STRING(                                                                      \
            "groups", .optional = true, .format = "pve-groupid-list", .typetext = "<string>"   \
        ),                                                                                     \
        API_PARAM_STRING(                                                                      \
            "keys", .optional = true, .pattern = "[0-9a-zA-Z!=]{0,4096}",                      \
            .description = "Keys for two factor auth (yubico)."                                \
        ),                                                                                     \
        API_PARAM_STRING("lastname", .optional = true, .max_length = 1024, .typetext = "<string>")
#define P_TOKEN_FIELDS                                                                 \
    P_COMMENT, P_EXPIRE("API token"),                                                  \
        API_PARAM_BOOL(                                                                \
            "privsep", .optional = true, API_DEFAULT_INT(1), .typetext = "<boolean>",  \
            .description =                                                             \
                "Restrict API token privileges with separate ACLs (default), or give " \
                "full privileges of corresponding user."                               \
        )
#define R_TOKEN_FIELDS                                             \
    API_PARAM_STRING("comment", .optional = true),                 \
        API_PARAM_INTEGER("expire", .optional = true, API_MIN(0)), \
        API_PARAM_BOOL("privsep", .optional = true, API_DEFAULT_INT(1))

static const ApiSchema null_returns = API_SCALAR(API_TYPE_NULL);

static const ApiSchema users_list_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_BOOL(
                "enabled",
                .optional = true,
                .typetext = "<boolean>",
                .description = "Optional filter for enable property."
            ),
            API_PARAM_BOOL(
                "full",
                .optional = true,
                API_DEFAULT_INT(0),
                .typetext = "<boolean>",
                .description = "Include group and token information."
            )
        )
);
static const ApiSchema users_list_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_STRING("userid", .format = "pve-userid"),
        API_PARAM_BOOL("enable", .optional = true),
        API_PARAM_INTEGER("expire", .optional = true),
        API_PARAM_STRING("firstname", .optional = true),
        API_PARAM_STRING("lastname", .optional = true),
        API_PARAM_STRING("email", .optional = true),
        API_PARAM_STRING("comment", .optional = true),
        API_PARAM_STRING("keys", .optional = true),
        API_PARAM_STRING("groups", .optional = true),
        API_PARAM_STRING("realm-type", .optional = true),
        API_PARAM_ARRAY(
            "tokens",
            API_ITEMS(
                API_TYPE_OBJECT,
                .properties = API_PROPERTIES(API_PARAM_STRING("tokenid"), R_TOKEN_FIELDS)
            ),
            .optional = true
        )
    )
));
static const ApiSchema user_create_params = API_OBJECT(
        .properties = API_PROPERTIES(
            P_USERID,
            P_USER_FIELDS,
            API_PARAM_STRING(
                "password",
                .optional = true,
                .min_length = 8,
                .max_length = 64,
                .typetext = "<string>",
                .description = "Initial password."
            )
        )
);
static const ApiSchema user_params = API_OBJECT(.properties = API_PROPERTIES(P_USERID));
static const ApiSchema user_get_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_BOOL("enable", .optional = true),
            API_PARAM_INTEGER("expire", .optional = true),
            API_PARAM_STRING("firstname", .optional = true),
            API_PARAM_STRING("lastname", .optional = true),
            API_PARAM_STRING("email", .optional = true),
            API_PARAM_STRING("comment", .optional = true),
            API_PARAM_STRING("keys", .optional = true),
            API_PARAM_ARRAY("groups", API_ITEMS(API_TYPE_STRING), .optional = true),
            API_PARAM_OBJECT("tokens", .optional = true, .additional_properties = true)
        )
);
static const ApiSchema user_update_params = API_OBJECT(
        .properties = API_PROPERTIES(
            P_USERID,
            P_USER_FIELDS,
            API_PARAM_BOOL(
                "append", .optional = true, .requires = "groups", .typetext = "<boolean>"
            )
        )
);

static const ApiSchema token_params = API_OBJECT(.properties = API_PROPERTIES(P_USERID, P_TOKENID));
static const ApiSchema token_info = API_OBJECT(.properties = API_PROPERTIES(R_TOKEN_FIELDS));
static const ApiSchema tokens_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT, .properties = API_PROPERTIES(API_PARAM_STRING("tokenid"), R_TOKEN_FIELDS)
));
static const ApiSchema token_create_params =
    API_OBJECT(.properties = API_PROPERTIES(P_USERID, P_TOKENID, P_TOKEN_FIELDS));
static const ApiSchema token_create_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("full-tokenid"),
            API_PARAM_OBJECT("info", .properties = API_PROPERTIES(R_TOKEN_FIELDS)),
            API_PARAM_STRING("value", .description = "API token value used for authentication.")
        )
);
static const ApiSchema token_update_params = API_OBJECT(
        .properties = API_PROPERTIES(
            P_USERID,
            P_TOKENID,
            P_TOKEN_FIELDS,
            API_PARAM_STRING(
                "delete",
                .optional = true,
                .format = "pve-configid-list",
                .typetext = "<string>",
                .description = "A list of settings you want to delete."
            )
        )
);

/* ---- permissions and the method table ------------------------------------------------------- */

static const ApiPermCheck create_user_checks[] = {
    CHECK_USERID_PARAM("Realm.AllocateUser"),
    CHECK_USERID_GROUP(API_PRIVS("User.Modify"), "create"),
};
const ApiPermCheck access_delete_user_checks[] = {
    CHECK_USERID_PARAM("Realm.AllocateUser"),
    CHECK_USERID_GROUP(API_PRIVS("User.Modify"), NULL),
};
static const ApiPermCheck token_checks[] = {
    CHECK_USERID_PARAM("self"),
    CHECK_USERID_GROUP(API_PRIVS("User.Modify"), NULL),
};
#define PERM_USER_GET       \
    (&(const ApiPermissions \
    ){.check =              \
          &(const ApiPermCheck) CHECK_USERID_GROUP(API_PRIVS("User.Modify", "Sys.Audit"), NULL)})
#define PERM_USER_UPDATE    \
    (&(const ApiPermissions \
    ){.check = &(const ApiPermCheck) CHECK_USERID_GROUP(API_PRIVS("User.Modify"), "update")})
#define PERM_TOKEN PERM_CHECK_NODE(API_CHECK_OR, token_checks)

static const ApiMethod methods[] = {
    {.path = "/access/users",
     .method = API_METHOD_GET,
     .name = "index",
     .description = "User index.",
     .parameters = &users_list_params,
     .returns = &users_list_returns,
     .permissions = API_PERM_ALL,
     .protected = true,
     .allowtoken = true,
     .handler = h_users_list},
    {.path = "/access/users",
     .method = API_METHOD_POST,
     .name = "create_user",
     .description = "Create new user.",
     .parameters = &user_create_params,
     .returns = &null_returns,
     .permissions = PERM_CHECK_NODE(API_CHECK_AND, create_user_checks),
     .protected = true,
     .allowtoken = true,
     .handler = h_user_create},
    {.path = "/access/users/{userid}",
     .method = API_METHOD_GET,
     .name = "read_user",
     .description = "Get user configuration.",
     .parameters = &user_params,
     .returns = &user_get_returns,
     .permissions = PERM_USER_GET,
     .allowtoken = true,
     .handler = h_user_get},
    {.path = "/access/users/{userid}",
     .method = API_METHOD_PUT,
     .name = "update_user",
     .description = "Update user configuration.",
     .parameters = &user_update_params,
     .returns = &null_returns,
     .permissions = PERM_USER_UPDATE,
     .protected = true,
     .allowtoken = true,
     .handler = h_user_update},
    {.path = "/access/users/{userid}",
     .method = API_METHOD_DELETE,
     .name = "delete_user",
     .description = "Delete user.",
     .parameters = &user_params,
     .returns = &null_returns,
     .permissions = PERM_CHECK_NODE(API_CHECK_AND, access_delete_user_checks),
     .protected = true,
     .allowtoken = true,
     .handler = h_user_delete},

    {.path = "/access/users/{userid}/token",
     .method = API_METHOD_GET,
     .name = "token_index",
     .description = "Get user API tokens.",
     .parameters = &user_params,
     .returns = &tokens_returns,
     .permissions = PERM_TOKEN,
     .allowtoken = true,
     .handler = h_tokens_list},
    {.path = "/access/users/{userid}/token/{tokenid}",
     .method = API_METHOD_GET,
     .name = "read_token",
     .description = "Get specific API token information.",
     .parameters = &token_params,
     .returns = &token_info,
     .permissions = PERM_TOKEN,
     .allowtoken = true,
     .handler = h_token_get},
    {.path = "/access/users/{userid}/token/{tokenid}",
     .method = API_METHOD_POST,
     .name = "generate_token",
     .description = "Generate a new API token for a specific user. NOTE: returns API token "
                    "value, which needs to be stored as it cannot be retrieved afterwards!",
     .parameters = &token_create_params,
     .returns = &token_create_returns,
     .permissions = PERM_TOKEN,
     .protected = true,
     .allowtoken = true,
     .handler = h_token_create},
    {.path = "/access/users/{userid}/token/{tokenid}",
     .method = API_METHOD_PUT,
     .name = "update_token_info",
     .description = "Update API token for a specific user.",
     .parameters = &token_update_params,
     .returns = &token_info,
     .permissions = PERM_TOKEN,
     .protected = true,
     .allowtoken = true,
     .handler = h_token_update},
    {.path = "/access/users/{userid}/token/{tokenid}",
     .method = API_METHOD_DELETE,
     .name = "remove_token",
     .description = "Remove API token for a specific user.",
     .parameters = &token_params,
     .returns = &null_returns,
     .permissions = PERM_TOKEN,
     .protected = true,
     .allowtoken = true,
     .handler = h_token_delete},
};

int api_access_users_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
