/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-ticket: POST /access/ticket (login, renewal, verify mode; api.md §2.5) and GET /version.
 *
 * Logins of users with a second factor (priv/tfa.cfg) take two steps, as upstream: the password
 * earns a "!tfa!<challenge>" half ticket (NeedTFA: 1) signed with the userid as associated data,
 * so it is no ticket for anything else; the client answers with username, tfa-challenge = that
 * ticket and password = "totp:<code>" or "recovery:<key>" and gets the real ticket. Clients may
 * also send the code with the password in "otp" (one step). Renewing a valid ticket needs no
 * second factor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pve/api-auth.h"
#include "pve/api-client.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/auth-ticket.h"
#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"
#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/string-util.h"
#include "pve/tfa.h"

#ifndef PVE_VERSION
#define PVE_VERSION "8.0"
#endif

static int login_failed(ApiCall *call, const char *userid) {
    log_notice(
        "authentication failure; rhost=%s user=%s msg=", call->client ?: "<local>", userid ?: ""
    );
    return api_call_fail(call, 401, NULL, "authentication failure");
}

/* verify mode (path + privs): credentials must hold privs on path */
static int verify_privs(ApiCall *call, const UserCfg *cfg, const char *userid) {
    const char *path = NULL, *privs = NULL;
    (void) api_call_param_string(call, "path", &path);
    (void) api_call_param_string(call, "privs", &privs);
    _cleanup_free_ char *copy = strdup(privs);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *p = strtok_r(copy, ",; ", &save); p; p = strtok_r(NULL, ",; ", &save)) {
        const char *const one[] = {p, NULL};
        if (user_cfg_check(cfg, userid, path, one, false) < 0)
            return login_failed(call, userid);
    }
    json_t *o = json_pack("{s:s}", "username", userid);
    return api_call_set_result(call, o);
}

#define TFA_DATA_PREFIX "!tfa!"

/* tfa.cfg text -> model; a broken file fails the call with a 500 naming it (a login never
 * skips a factor it cannot read) */
static int tfa_parse(ApiCall *call, const char *text, size_t len, json_t **ret) {
    _cleanup_free_ char *err = NULL;
    int r = tfa_cfg_parse(text, len, ret, &err);
    if (r < 0)
        return api_call_fail(
            call, 500, NULL, "unable to read %s: %s", PVE_CFS_TFA_CFG, err ?: strerror(-r)
        );
    return 0;
}

/* read and parse tfa.cfg; 0 with *ret NULL when there is none */
static int tfa_load(ApiCall *call, json_t **ret) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    *ret = NULL;
    int r = cfs_file_read(PVE_CFS_TFA_CFG, &text, &len);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return api_call_fail(
            call, 500, NULL, "unable to read %s: %s", PVE_CFS_TFA_CFG, strerror(-r)
        );
    return tfa_parse(call, text, len, ret);
}

/* The challenge of userid's second factors (compact JSON, malloc'd) or NULL when the user has
 * none. */
static int tfa_challenge_of(ApiCall *call, const char *userid, char **ret) {
    _cleanup_json_ json_t *cfg = NULL, *challenge = NULL;
    *ret = NULL;
    int r = tfa_load(call, &cfg);
    if (r < 0 || !cfg)
        return r;
    if (!tfa_user_challenge(tfa_cfg_user(cfg, userid, false), &challenge))
        return 0;
    if (!challenge || !(*ret = json_dumps(challenge, JSON_COMPACT | JSON_SORT_KEYS)))
        return -ENOMEM;
    return 1;
}

typedef struct TfaAnswer {
    const char *userid, *response;
    bool ok;
} TfaAnswer;

/* a->ok when the response answers one of the user's factors; *changed when cfg was updated */
static void tfa_verify(json_t *cfg, TfaAnswer *a, bool *changed) {
    json_t *user = tfa_cfg_user(cfg, a->userid, false);
    a->ok = user && tfa_user_verify(user, a->response, time(NULL), changed) >= 0;
}

/* under the file lock: a used recovery key is written back as used */
static int
tfa_answer_update(ApiCall *call, const char *text, size_t len, char **ret_new, void *userdata) {
    TfaAnswer *a = userdata;
    _cleanup_json_ json_t *cfg = NULL;
    bool changed = false;
    int r = tfa_parse(call, text, len, &cfg);
    if (r < 0)
        return r;
    tfa_verify(cfg, a, &changed);
    return a->ok && changed ? tfa_cfg_print(cfg, ret_new) : 0;
}

/* Does response ("totp:<code>", "recovery:<key>") answer userid's second factor? 1 when it
 * does, 0 when not, negative errno with the call failed (file or lock errors). */
static int tfa_check(ApiCall *call, const char *userid, const char *response) {
    TfaAnswer a = {.userid = userid, .response = response};
    if (startswith(response, "recovery:")) { /* used up under the lock: each key works once */
        int r = api_update_file(call, PVE_CFS_TFA_CFG, tfa_answer_update, &a);
        return r < 0 ? r : a.ok;
    }
    _cleanup_json_ json_t *cfg = NULL;
    int r = tfa_load(call, &cfg);
    if (r < 0 || !cfg)
        return r;
    bool changed = false;
    tfa_verify(cfg, &a, &changed);
    return a.ok;
}

/* Second step: the half ticket must be ours, for this userid; then the factor must match. */
static int tfa_answer(ApiCall *call, const char *userid, const char *half, const char *response) {
    _cleanup_free_ char *data = NULL;
    if (api_auth_verify_ticket_aad(half, userid, &data) < 0 || !startswith(data, TFA_DATA_PREFIX))
        return 0;
    return tfa_check(call, userid, response);
}

/* One step, for clients that send the code with the password (the "otp" parameter, as
 * proxmoxer does): a bare code is a TOTP code. */
static int tfa_otp(ApiCall *call, const char *userid, const char *otp) {
    _cleanup_free_ char *response = NULL;
    if (!strchr(otp, ':') && asprintf(&response, "totp:%s", otp) < 0)
        return -ENOMEM;
    return tfa_check(call, userid, response ?: otp);
}

/* First step done: answer with the half ticket and the challenge in it (and, as upstream, the
 * CSRF token, which is worth nothing without a ticket; no caps). */
static int tfa_half_ticket(
    ApiCall *call, const char *priv, const char *userid, const char *chal, const char *csrf
) {
    _cleanup_free_ char *enc = api_client_urlencode(chal), *data = NULL, *ticket = NULL;
    if (!enc || asprintf(&data, TFA_DATA_PREFIX "%s", enc) < 0)
        return -ENOMEM;
    int r = ticket_create_aad(priv, data, userid, time(NULL), TICKET_HASH_SHA1, &ticket);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to create ticket: %s", strerror(-r));
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:i}", "username", userid, "ticket", ticket, "CSRFPreventionToken", csrf,
        "NeedTFA", 1
    );
    return api_call_set_result(call, o);
}

static int h_ticket(ApiCall *call) {
    const char *username = NULL, *password = NULL, *realm = NULL, *path = NULL, *privs = NULL,
               *half = NULL;
    _cleanup_free_ char *userid = NULL, *challenge = NULL;
    bool fresh_login = false;
    int r;

    (void) api_call_param_string(call, "username", &username);
    (void) api_call_param_string(call, "password", &password);
    (void) api_call_param_string(call, "realm", &realm);
    (void) api_call_param_string(call, "path", &path);
    (void) api_call_param_string(call, "privs", &privs);
    (void) api_call_param_string(call, "tfa-challenge", &half);
    if (!username || !password)
        return login_failed(call, username);

    if (realm && !strchr(username, '@'))
        r = asprintf(&userid, "%s@%s", username, realm) < 0 ? -ENOMEM : 0;
    else
        r = (userid = strdup(username)) ? 0 : -ENOMEM;
    if (r < 0)
        return r;

    /* user.cfg first, as upstream: a user that is unknown, disabled or expired here is refused
     * without asking the realm (no directory traffic, no lockout counted there) */
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    bool ok = userid_is_valid(userid);
    if (ok) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        r = cfs_file_read(PVE_CFS_USER_CFG, &text, &len);
        if (r == -ENOENT)
            r = user_cfg_parse("", 0, &cfg, NULL, NULL);
        else if (r >= 0)
            r = user_cfg_parse(text, len, &cfg, NULL, NULL);
        if (r < 0)
            ok = false;
    }
    if (ok && !streq(userid, "root@pam") && !user_cfg_is_active(cfg, userid, time(NULL)))
        ok = false;
    if (ok && half) {
        r = tfa_answer(call, userid, half, password);
        if (r < 0)
            return r;
        ok = r > 0;
    } else if (ok) {
        if (startswith(password, "PVE:")) {
            _cleanup_free_ char *tuser = NULL;
            ok = api_auth_verify_ticket(password, &tuser) >= 0 &&
                 (streq(tuser, userid) || streq(tuser, "root@pam"));
        } else
            ok = fresh_login = api_auth_password(userid, password, call->client) >= 0;
    }
    if (!ok)
        return login_failed(call, userid);

    if (path && privs)
        return verify_privs(call, cfg, userid);
    if (fresh_login) {
        r = tfa_challenge_of(call, userid, &challenge);
        if (r < 0)
            return r;
        const char *otp = NULL;
        if (challenge && api_call_param_string(call, "otp", &otp) >= 0 && otp) {
            r = tfa_otp(call, userid, otp);
            if (r < 0)
                return r;
            if (r == 0)
                return login_failed(call, userid);
            free(challenge);
            challenge = NULL;
        }
    }

    (void) api_auth_rotate_key();

    _cleanup_erase_free_ char *priv = NULL;
    _cleanup_free_ char *ticket = NULL, *www = NULL;
    size_t www_len = 0;
    char csrf[CSRF_TOKEN_LEN + 1];
    int64_t now = time(NULL);
    r = cfs_file_read(PVE_CFS_AUTHKEY_KEY, &priv, NULL);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to read authkey: %s", strerror(-r));
    r = cfs_file_read(PVE_CFS_WWW_KEY, &www, &www_len);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to read www key: %s", strerror(-r));
    r = csrf_token_create(www, www_len, userid, now, csrf);
    explicit_bzero(www, www_len);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to create CSRF token: %s", strerror(-r));
    if (challenge)
        return tfa_half_ticket(call, priv, userid, challenge, csrf);
    r = ticket_create(priv, userid, now, TICKET_HASH_SHA1, &ticket);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to create ticket: %s", strerror(-r));

    json_t *o = json_object(), *cap = json_object();
    if (!o || !cap || json_object_set_new(o, "cap", cap) < 0) {
        json_decref(o);
        return -ENOMEM;
    }
    if (json_util_set_string(o, "username", userid) < 0 ||
        json_util_set_string(o, "ticket", ticket) < 0 ||
        json_util_set_string(o, "CSRFPreventionToken", csrf) < 0 ||
        api_auth_caps(cfg, userid, cap) < 0) {
        json_decref(o);
        return -ENOMEM;
    }

    /* clustername for Sys.Audit holders when clustered */
    _cleanup_free_ char *info = NULL;
    const char *const audit[] = {"Sys.Audit", NULL};
    if (user_cfg_check(cfg, userid, "/", audit, false) >= 0 &&
        cfs_ipc_get_cluster_info(&info, NULL) >= 0) {
        json_t *ci = json_loads(info, 0, NULL);
        const char *name = json_string_value(json_object_get(ci, "cluster_name"));
        if (!name)
            name = json_string_value(json_object_get(json_object_get(ci, "cluster"), "name"));
        if (name && *name)
            (void) json_util_set_string(o, "clustername", name);
        json_decref(ci);
    }

    log_info("successful auth for user '%s'", userid);
    _cleanup_free_ char *msg = NULL;
    if (asprintf(&msg, "successful auth for user '%s'", userid) >= 0)
        (void) cfs_ipc_log_cluster_msg(6, "pvedaemon", "root@pam", msg);
    return api_call_set_result(call, o);
}

json_t *api_version_json(void) {
    return json_pack(
        "{s:s,s:s,s:s}", "version", PVE_VERSION, "release", PVE_VERSION, "repoid", "pve-c"
    );
}

static int h_version(ApiCall *call) {
    return api_call_set_result(call, api_version_json());
}

static const ApiSchema ticket_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("username", .max_length = 64, .description = "User name"),
            API_PARAM_STRING(
                "password", .description = "The secret password. This can also be a valid ticket."
            ),
            API_PARAM_STRING(
                "realm",
                .optional = true,
                .max_length = 32,
                .format = "pve-realm",
                .description = "You can optionally pass the realm using this parameter."
            ),
            API_PARAM_STRING(
                "otp",
                .optional = true,
                .description = "One-time password for Two-factor authentication."
            ),
            API_PARAM_STRING(
                "tfa-challenge",
                .optional = true,
                .description = "The signed TFA challenge string the user wants to respond to."
            ),
            API_PARAM_BOOL(
                "new-format",
                .optional = true,
                API_DEFAULT_INT(1),
                .description = "This parameter is now ignored and assumed to be 1."
            ),
            API_PARAM_STRING(
                "path",
                .optional = true,
                .max_length = 64,
                .requires = "privs",
                .description = "Verify ticket, and check if user have access 'privs' on 'path'"
            ),
            API_PARAM_STRING(
                "privs",
                .optional = true,
                .max_length = 64,
                .requires = "path",
                .description = "Verify ticket, and check if user have access 'privs' on 'path'"
            )
        )
);

static const ApiSchema ticket_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("username"),
            API_PARAM_STRING("ticket", .optional = true),
            API_PARAM_STRING("CSRFPreventionToken", .optional = true),
            API_PARAM_STRING("clustername", .optional = true)
        ),
        .additional_properties = true
);

static const ApiSchema version_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING(
                "version", .description = "The full pve-manager package version of this node."
            ),
            API_PARAM_STRING(
                "release", .description = "The current Proxmox VE point release in `x.y` format."
            ),
            API_PARAM_STRING(
                "repoid", .description = "The short git revision from which this version was build."
            )
        )
);

static int h_ticket_get(ApiCall *call) {
    (void) call;
    return 0;
}

static const ApiMethod methods[] = {
    {
        .path = "/access/ticket",
        .method = API_METHOD_GET,
        .name = "get_ticket",
        .description = "Dummy. Useful for formatters which want to provide a login page.",
        .permissions = API_PERM_WORLD,
        .handler = h_ticket_get,
    },
    {
        .path = "/access/ticket",
        .method = API_METHOD_POST,
        .name = "create_ticket",
        .description = "Create or verify authentication ticket.",
        .parameters = &ticket_params,
        .returns = &ticket_returns,
        .permissions = API_PERM_WORLD,
        .protected = true,
        .handler = h_ticket,
    },
    {
        .path = "/version",
        .method = API_METHOD_GET,
        .name = "version",
        .description = "API version details, including some parts of the global datacenter config.",
        .returns = &version_returns,
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = h_version,
    },
};

int api_ticket_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
