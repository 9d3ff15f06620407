/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-access-tfa: the second factors of users (priv/tfa.cfg, see pve/tfa.h): listing them
 * (/access/tfa), adding TOTP entries and recovery keys, changing and removing entries, the
 * legacy type query (/access/users/{userid}/tfa) and unlocking. As upstream, only root@pam may
 * touch root@pam's entries, and everybody but root@pam confirms a change with their own
 * password. u2f, webauthn and yubico entries are listed and kept, but cannot be added here.
 * Failed second-factor attempts are not counted yet: the lock state ("totp-locked",
 * "tfa-locked-until") is only shown and cleared, never set by this server.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-access.h"
#include "pve/api-auth.h"
#include "pve/api-env.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/string-util.h"
#include "pve/tfa.h"

static bool str_eq(const char *a, const char *b) {
    return a && b && streq(a, b);
}

/* tfa.cfg parsed; a broken file is a 500 naming it */
static int tfa_parse_or_fail(ApiCall *call, const char *text, size_t len, json_t **ret) {
    _cleanup_free_ char *err = NULL;
    int r = tfa_cfg_parse(text, len, ret, &err);
    if (r == -EINVAL)
        return api_call_fail(
            call, 500, NULL, "unable to parse %s: %s", PVE_CFS_TFA_CFG, err ?: "invalid"
        );
    return r;
}

static int tfa_load(ApiCall *call, json_t **ret) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = api_read_file(call, PVE_CFS_TFA_CFG, &text, &len);
    return r < 0 ? r : tfa_parse_or_fail(call, text, len, ret);
}

/* upstream's root_permission_check(): who may change userid's second factors */
static int may_modify(ApiCall *call, const char *userid) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    _cleanup_free_ char *auth = NULL;
    int r = api_user_owner(api_user(call), &auth);
    if (r >= 0)
        r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    if (!streq(userid, "root@pam") && !user_cfg_get_user(cfg, userid))
        return access_fail_no_user(call, userid);
    if (streq(auth, "root@pam"))
        return 0;
    if (streq(userid, "root@pam"))
        return api_call_fail(call, 403, NULL, "Permission check failed");
    const char *password = param_str(call, "password");
    if (!password)
        return access_fail_param(call, "password", "%s", "password is required to modify TFA data");
    if (api_auth_password(auth, password, call->client) < 0)
        return api_call_fail(call, 403, NULL, "Permission check failed (invalid password)");
    return 0;
}

static int fail_no_entry(ApiCall *call, const char *id) {
    return api_call_fail(call, 404, NULL, "no such tfa entry '%s'", id);
}

/* ---- reading ----------------------------------------------------------------------------------
 */

static int user_listing(const char *userid, const json_t *user, json_t **ret) {
    json_t *o = json_pack("{s:s,s:o}", "userid", userid, "entries", tfa_user_entries(user));
    if (!o)
        return -ENOMEM;
    const json_t *locked = json_object_get(user, "totp-locked");
    const json_t *until = json_object_get(user, "tfa-locked-until");
    if ((json_is_true(locked) && json_object_set(o, "totp-locked", json_true()) < 0) ||
        (json_is_integer(until) && json_integer_value(until) > time(NULL) &&
         json_object_set(o, "tfa-locked-until", (json_t *) until) < 0)) {
        json_decref(o);
        return -ENOMEM;
    }
    *ret = o;
    return 0;
}

static int h_tfa_list(ApiCall *call) {
    _cleanup_json_ json_t *cfg = NULL;
    _cleanup_(user_cfg_freep) UserCfg *ucfg = NULL;
    _cleanup_free_ char *auth = NULL;
    int r = api_user_owner(api_user(call), &auth);
    if (r >= 0)
        r = api_load_user_cfg(call, &ucfg);
    if (r >= 0)
        r = tfa_load(call, &cfg);
    if (r < 0)
        return r;
    const char *const privs[] = {"User.Modify", "Sys.Audit", NULL};
    bool all = streq(auth, "root@pam") || api_has_priv(call, ucfg, "/access/groups", privs, true);

    json_t *res = json_array();
    const char *userid;
    json_t *user;
    r = res ? 0 : -ENOMEM;
    json_object_foreach(json_object_get(cfg, "users"), userid, user) {
        json_t *o = NULL;
        if (r < 0 || (!all && !streq(userid, auth)))
            continue;
        r = user_listing(userid, user, &o);
        if (r >= 0)
            r = json_util_append_new(res, o);
    }
    return access_set_result_or_oom(call, res, r);
}

static int h_tfa_user(ApiCall *call) {
    _cleanup_json_ json_t *cfg = NULL;
    int r = tfa_load(call, &cfg);
    if (r < 0)
        return r;
    json_t *user = tfa_cfg_user(cfg, param_str(call, "userid"), false);
    json_t *res = user ? tfa_user_entries(user) : json_array();
    return access_set_result_or_oom(call, res, res ? 0 : -ENOMEM);
}

static int h_tfa_entry_get(ApiCall *call) {
    _cleanup_json_ json_t *cfg = NULL;
    const char *id = param_str(call, "id");
    int r = tfa_load(call, &cfg);
    if (r < 0)
        return r;
    json_t *entries = tfa_user_entries(tfa_cfg_user(cfg, param_str(call, "userid"), false));
    json_t *e;
    size_t i;
    json_array_foreach(entries, i, e) {
        if (str_eq(json_string_value(json_object_get(e, "id")), id)) {
            json_incref(e);
            json_decref(entries);
            return api_call_set_result(call, e);
        }
    }
    json_decref(entries);
    return entries ? fail_no_entry(call, id) : -ENOMEM;
}

/* GET /access/users/{userid}/tfa: the realm's enforced type and the kinds the user has */
static int h_user_tfa_types(ApiCall *call) {
    _cleanup_(section_config_freep) SectionConfig *domains = NULL;
    _cleanup_json_ json_t *cfg = NULL;
    const char *userid = param_str(call, "userid");
    bool multiple = false;
    (void) api_call_param_bool(call, "multiple", &multiple);
    int r = access_domains_load(call, &domains, NULL);
    if (r >= 0)
        r = tfa_load(call, &cfg);
    if (r < 0)
        return r;

    json_t *res = json_object(), *types = json_array();
    char buf[16];
    const char *realm_tfa = access_realm_tfa_type(domains, userid, buf);
    if (realm_tfa && (streq(realm_tfa, "oath") || streq(realm_tfa, "yubico")))
        (void) json_util_set_string(res, "realm", realm_tfa);
    _cleanup_json_ json_t *entries = tfa_user_entries(tfa_cfg_user(cfg, userid, false));
    json_t *e;
    size_t i;
    json_array_foreach(entries, i, e) {
        const char *type = json_string_value(json_object_get(e, "type"));
        bool seen = false;
        json_t *t;
        size_t j;
        json_array_foreach(types, j, t) seen |= str_eq(json_string_value(t), type);
        if (!seen)
            (void) json_array_append_new(types, json_string(type));
    }
    if (multiple)
        json_object_set_new(res, "types", types);
    else {
        /* the old single-type answer: the first factor in upstream's old names */
        const char *first = json_string_value(json_array_get(types, 0));
        if (str_eq(first, "totp"))
            (void) json_util_set_string(res, "user", "oath");
        else if (str_eq(first, "u2f"))
            (void) json_util_set_string(res, "user", "u2f");
        json_decref(types);
    }
    return api_call_set_result(call, res);
}

/* ---- changing ---------------------------------------------------------------------------------
 */

/* changes cfg: 0 (write it back), > 0 (nothing changed) or a negative errno */
typedef int (*TfaEditFn)(ApiCall *call, json_t *cfg, void *userdata);

typedef struct TfaEdit {
    TfaEditFn fn;
    void *userdata;
} TfaEdit;

static int
tfa_edit_locked(ApiCall *call, const char *text, size_t len, char **ret_new, void *userdata) {
    const TfaEdit *e = userdata;
    _cleanup_json_ json_t *cfg = NULL;
    int r = tfa_parse_or_fail(call, text, len, &cfg);
    if (r >= 0)
        r = e->fn(call, cfg, e->userdata);
    if (r == 0)
        r = tfa_cfg_print(cfg, ret_new);
    return r < 0 ? r : 0;
}

static int tfa_edit(ApiCall *call, TfaEditFn fn, void *userdata) {
    TfaEdit e = {.fn = fn, .userdata = userdata};
    return access_edit_file(call, PVE_CFS_TFA_CFG, NULL, tfa_edit_locked, &e);
}

static int add_totp(ApiCall *call, json_t *user, json_t *result) {
    const char *uri = param_str(call, "totp"), *code = param_str(call, "value"), *err = NULL;
    char uuid[37], id[48];
    TfaTotp t;
    if (!uri)
        return access_fail_param(call, "totp", "%s", "parameter is required for type 'totp'");
    if (tfa_totp_parse(uri, &t, &err) < 0)
        return access_fail_param(call, "totp", "%s", err);
    explicit_bzero(&t, sizeof(t));
    if (!code)
        return access_fail_param(call, "value", "%s", "the current TOTP code is required");
    if (tfa_totp_verify(uri, code, time(NULL)) < 0)
        return access_fail_param(call, "value", "%s", "TOTP code does not match the secret");
    int r = access_uuid_random(uuid);
    if (r < 0)
        return r;
    snprintf(id, sizeof(id), "totp-%s", uuid);
    json_t *list = json_object_get(user, "totp");
    if (!list) {
        list = json_array();
        if (!list || json_object_set_new(user, "totp", list) < 0)
            return -ENOMEM;
    }
    json_t *e = json_pack(
        "{s:s,s:s,s:I,s:s}", "id", id, "description", param_str(call, "description") ?: "",
        "created", (json_int_t) time(NULL), "entry", uri
    );
    if (json_util_append_new(list, e) < 0)
        return -ENOMEM;
    return json_util_set_string(result, "id", id);
}

static int add_recovery(ApiCall *call, json_t *user, json_t *result) {
    char **keys = NULL;
    json_t *rec = NULL;
    if (json_is_object(json_object_get(user, "recovery")))
        return api_call_fail(call, 400, NULL, "user already has recovery keys");
    int r = tfa_recovery_new(time(NULL), &keys, &rec);
    if (r < 0)
        return r;
    json_t *list = json_array();
    for (char **k = keys; list && *k; k++)
        if (json_array_append_new(list, json_string(*k)) < 0)
            r = -ENOMEM;
    tfa_keys_free(keys);
    if (!list || r < 0 || json_object_set_new(user, "recovery", rec) < 0 ||
        json_util_set_string(result, "id", "recovery") < 0 ||
        json_object_set_new(result, "recovery", list) < 0)
        return -ENOMEM;
    return 0;
}

static int add_edit(ApiCall *call, json_t *cfg, void *userdata) {
    const char *type = param_str(call, "type");
    json_t *user = tfa_cfg_user(cfg, param_str(call, "userid"), true);
    if (!user)
        return -ENOMEM;
    if (streq(type, "totp"))
        return add_totp(call, user, userdata);
    if (streq(type, "recovery"))
        return add_recovery(call, user, userdata);
    return api_call_fail(
        call, 400, NULL, "adding second factors of type '%s' is not supported by this server", type
    );
}

static int h_tfa_add(ApiCall *call) {
    const char *userid = param_str(call, "userid");
    int r = may_modify(call, userid);
    if (r < 0)
        return r;
    json_t *result = json_object();
    if (!result)
        return -ENOMEM;
    r = tfa_edit(call, add_edit, result);
    if (r < 0) {
        json_decref(result);
        return r;
    }
    return api_call_set_result(call, result);
}

static int update_edit(ApiCall *call, json_t *cfg, void *userdata) {
    (void) userdata;
    const char *id = param_str(call, "id"), *type = NULL, *desc = param_str(call, "description");
    json_t *user = tfa_cfg_user(cfg, param_str(call, "userid"), false), *list = NULL;
    size_t index = 0;
    json_t *e = user ? tfa_user_find(user, id, &type, &list, &index) : NULL;
    if (!e)
        return fail_no_entry(call, id);
    if (desc && json_util_set_string(e, "description", desc) < 0)
        return -ENOMEM;
    bool enable = true;
    if (api_call_param_bool(call, "enable", &enable) >= 0) {
        if (enable)
            (void) json_object_del(e, "enable");
        else if (json_object_set_new(e, "enable", json_false()) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int h_tfa_update(ApiCall *call) {
    int r = may_modify(call, param_str(call, "userid"));
    if (r >= 0)
        r = tfa_edit(call, update_edit, NULL);
    return r < 0 ? r : 0;
}

static int delete_edit(ApiCall *call, json_t *cfg, void *userdata) {
    (void) userdata;
    const char *id = param_str(call, "id"), *userid = param_str(call, "userid"), *type = NULL;
    json_t *user = tfa_cfg_user(cfg, userid, false), *list = NULL;
    size_t index = 0;
    if (user && streq(id, "recovery") && json_object_get(user, "recovery"))
        (void) json_object_del(user, "recovery");
    else if (user && tfa_user_find(user, id, &type, &list, &index)) {
        (void) json_array_remove(list, index);
        if (json_array_size(list) == 0)
            (void) json_object_del(user, type);
    } else
        return fail_no_entry(call, id);
    /* a user without any factor left has no object (the lock state goes with it) */
    _cleanup_json_ json_t *left = tfa_user_entries(user);
    if (left && json_array_size(left) == 0)
        (void) json_object_del(json_object_get(cfg, "users"), userid);
    return 0;
}

static int h_tfa_delete(ApiCall *call) {
    int r = may_modify(call, param_str(call, "userid"));
    if (r >= 0)
        r = tfa_edit(call, delete_edit, NULL);
    return r < 0 ? r : 0;
}

static int remove_user_edit(ApiCall *call, json_t *cfg, void *userdata) {
    (void) call;
    return json_object_del(json_object_get(cfg, "users"), userdata) == 0 ? 0 : 1;
}

int access_tfa_remove_user(ApiCall *call, const char *userid) {
    return tfa_edit(call, remove_user_edit, (void *) userid);
}

static int unlock_edit(ApiCall *call, json_t *cfg, void *userdata) {
    bool *was_locked = userdata;
    json_t *user = tfa_cfg_user(cfg, param_str(call, "userid"), false);
    const json_t *until = json_object_get(user, "tfa-locked-until");
    *was_locked = json_is_true(json_object_get(user, "totp-locked")) ||
                  (json_is_integer(until) && json_integer_value(until) > time(NULL));
    (void) json_object_del(user, "totp-locked");
    (void) json_object_del(user, "tfa-locked-until");
    return 0;
}

static int h_unlock(ApiCall *call) {
    bool was_locked = false;
    int r = tfa_edit(call, unlock_edit, &was_locked);
    if (r < 0)
        return r;
    return api_call_set_result(call, json_boolean(was_locked));
}

/* ---- schemas and the method table -------------------------------------------------------------
 */

static const ApiSchema null_returns = API_SCALAR(API_TYPE_NULL);

#define TFA_TYPES API_ENUM("totp", "u2f", "webauthn", "recovery", "yubico")
#define P_TFA_ID  API_PARAM_STRING("id", .typetext = "<string>", .description = "A TFA entry id.")
#define P_TFA_PASSWORD                                                                           \
    API_PARAM_STRING(                                                                            \
        "password", .optional = true, .min_length = 5, .max_length = 64, .typetext = "<string>", \
        .description = "The current password of the user performing the change."                 \
    )
#define TFA_ENTRY_PROPERTIES                                                                       \
    API_PROPERTIES(                                                                                \
        API_PARAM_STRING("type", .enum_values = TFA_TYPES, .description = "TFA Entry Type."),      \
        API_PARAM_STRING("id", .description = "The id used to reference this entry."),             \
        API_PARAM_STRING("description", .description = "User chosen description for this entry."), \
        API_PARAM_INTEGER("created", .description = "Creation time of this entry as unix epoch."), \
        API_PARAM_BOOL(                                                                            \
            "enable", .optional = true, API_DEFAULT_INT(1),                                        \
            .description = "Whether this TFA entry is currently enabled."                          \
        )                                                                                          \
    )

static const ApiSchema tfa_entry = API_OBJECT(.properties = TFA_ENTRY_PROPERTIES);
static const ApiSchema no_params = API_OBJECT(.properties = NULL);
static const ApiSchema list_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_STRING("userid", .description = "User this entry belongs to."),
        API_PARAM_ARRAY("entries", &tfa_entry),
        API_PARAM_BOOL(
            "totp-locked",
            .optional = true,
            .description = "True if the user is currently locked out of TOTP factors."
        ),
        API_PARAM_INTEGER(
            "tfa-locked-until",
            .optional = true,
            .description = "Contains a timestamp until when a user is locked out of 2nd factors."
        )
    )
));
static const ApiSchema user_params = API_OBJECT(.properties = API_PROPERTIES(P_USERID));
static const ApiSchema user_entries_returns = API_ARRAY(&tfa_entry);
static const ApiSchema entry_params = API_OBJECT(.properties = API_PROPERTIES(P_USERID, P_TFA_ID));
static const ApiSchema add_params = API_OBJECT(
        .properties = API_PROPERTIES(
            P_USERID,
            API_PARAM_STRING("type", .enum_values = TFA_TYPES, .description = "TFA Entry Type."),
            API_PARAM_STRING(
                "description",
                .optional = true,
                .max_length = 255,
                .typetext = "<string>",
                .description = "A description to distinguish multiple entries from one another"
            ),
            API_PARAM_STRING(
                "totp", .optional = true, .typetext = "<string>", .description = "A totp URI."
            ),
            API_PARAM_STRING(
                "value",
                .optional = true,
                .typetext = "<string>",
                .description = "The current value for the provided totp URI, or a Webauthn/U2F "
                               "challenge response"
            ),
            API_PARAM_STRING(
                "challenge",
                .optional = true,
                .typetext = "<string>",
                .description = "When responding to a u2f challenge: the original challenge string"
            ),
            P_TFA_PASSWORD
        )
);
static const ApiSchema add_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("id", .description = "The id of a newly added TFA entry."),
            API_PARAM_STRING(
                "challenge",
                .optional = true,
                .description =
                    "When adding u2f entries, this contains a challenge the user must respond to"
            ),
            API_PARAM_ARRAY(
                "recovery",
                API_ITEMS(API_TYPE_STRING),
                .optional = true,
                .description = "When adding recovery codes, this contains the list of codes to be "
                               "displayed to the user"
            )
        )
);
static const ApiSchema update_params = API_OBJECT(
        .properties = API_PROPERTIES(
            P_USERID,
            P_TFA_ID,
            API_PARAM_STRING(
                "description",
                .optional = true,
                .max_length = 255,
                .typetext = "<string>",
                .description = "A description to distinguish multiple entries from one another"
            ),
            API_PARAM_BOOL(
                "enable",
                .optional = true,
                .typetext = "<boolean>",
                .description = "Whether the entry should be enabled for login."
            ),
            P_TFA_PASSWORD
        )
);
static const ApiSchema delete_params =
    API_OBJECT(.properties = API_PROPERTIES(P_USERID, P_TFA_ID, P_TFA_PASSWORD));
static const ApiSchema types_params = API_OBJECT(
        .properties = API_PROPERTIES(
            P_USERID,
            API_PARAM_BOOL(
                "multiple",
                .optional = true,
                API_DEFAULT_INT(0),
                .typetext = "<boolean>",
                .description = "Request all entries as an array."
            )
        )
);
static const ApiSchema types_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING(
                "realm",
                .optional = true,
                .enum_values = API_ENUM("oath", "yubico"),
                .description = "The type of TFA the users realm has set, if any."
            ),
            API_PARAM_ARRAY(
                "types",
                API_ITEMS(API_TYPE_STRING),
                .optional = true,
                .description = "Array of the user configured TFA types, if any."
            ),
            API_PARAM_STRING(
                "user",
                .optional = true,
                .enum_values = API_ENUM("oath", "u2f"),
                .description = "The type of TFA the user has set, if any."
            )
        )
);
static const ApiSchema bool_returns = API_SCALAR(API_TYPE_BOOLEAN);

static const ApiPermCheck self_or_modify[] = {
    CHECK_USERID_PARAM("self"),
    CHECK_USERID_GROUP(API_PRIVS("User.Modify"), NULL),
};
static const ApiPermCheck self_or_audit[] = {
    CHECK_USERID_PARAM("self"),
    CHECK_USERID_GROUP(API_PRIVS("User.Modify", "Sys.Audit"), NULL),
};
#define PERM_READ   PERM_CHECK_NODE(API_CHECK_OR, self_or_audit)
#define PERM_MODIFY PERM_CHECK_NODE(API_CHECK_OR, self_or_modify)

static const ApiMethod methods[] = {
    {.path = "/access/tfa",
     .method = API_METHOD_GET,
     .name = "list_tfa",
     .description = "List TFA configurations of users.",
     .parameters = &no_params,
     .returns = &list_returns,
     .permissions = API_PERM_ALL,
     .protected = true,
     .allowtoken = true,
     .handler = h_tfa_list},
    {.path = "/access/tfa/{userid}",
     .method = API_METHOD_GET,
     .name = "list_user_tfa",
     .description = "List TFA configurations of users.",
     .parameters = &user_params,
     .returns = &user_entries_returns,
     .permissions = PERM_READ,
     .protected = true,
     .allowtoken = true,
     .handler = h_tfa_user},
    {.path = "/access/tfa/{userid}",
     .method = API_METHOD_POST,
     .name = "add_tfa_entry",
     .description = "Add a TFA entry for a user.",
     .parameters = &add_params,
     .returns = &add_returns,
     .permissions = PERM_MODIFY,
     .protected = true,
     .handler = h_tfa_add},
    {.path = "/access/tfa/{userid}/{id}",
     .method = API_METHOD_GET,
     .name = "get_tfa_entry",
     .description = "Fetch a requested TFA entry if present.",
     .parameters = &entry_params,
     .returns = &tfa_entry,
     .permissions = PERM_READ,
     .protected = true,
     .allowtoken = true,
     .handler = h_tfa_entry_get},
    {.path = "/access/tfa/{userid}/{id}",
     .method = API_METHOD_PUT,
     .name = "update_tfa_entry",
     .description = "Add a TFA entry for a user.",
     .parameters = &update_params,
     .returns = &null_returns,
     .permissions = PERM_MODIFY,
     .protected = true,
     .handler = h_tfa_update},
    {.path = "/access/tfa/{userid}/{id}",
     .method = API_METHOD_DELETE,
     .name = "delete_tfa",
     .description = "Delete a TFA entry by ID.",
     .parameters = &delete_params,
     .returns = &null_returns,
     .permissions = PERM_MODIFY,
     .protected = true,
     .handler = h_tfa_delete},
    {.path = "/access/users/{userid}/tfa",
     .method = API_METHOD_GET,
     .name = "read_user_tfa_type",
     .description = "Get user TFA types (Personal and Realm).",
     .parameters = &types_params,
     .returns = &types_returns,
     .permissions = PERM_READ,
     .protected = true,
     .allowtoken = true,
     .handler = h_user_tfa_types},
    {.path = "/access/users/{userid}/unlock-tfa",
     .method = API_METHOD_PUT,
     .name = "unlock_tfa",
     .description = "Unlock a user's TFA authentication.",
     .parameters = &user_params,
     .returns = &bool_returns,
     .permissions = PERM_CHECK_NODE(
         API_CHECK_AND, ((const ApiPermCheck[]){CHECK_USERID_GROUP(API_PRIVS("User.Modify"), NULL)})
     ),
     .protected = true,
     .allowtoken = true,
     .handler = h_unlock},
};

int api_access_tfa_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
