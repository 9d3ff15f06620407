/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-access: /access: what the handler files below share (parameter helpers, errors, the locked
 * edits of user.cfg, priv/shadow.cfg and priv/token.cfg, setting a password in the pam or pve
 * realm), the password change, the effective permissions of a user, the directory index, and
 * the registration of all /access methods. Every write is a locked read-modify-write of the
 * file with upstream's lock ids; user.cfg is always written in the canonical form of
 * user-cfg.h. Errors inside a lock carry upstream's prefix ("create user failed: ...").
 * /access/ticket lives in api-ticket.c.
 *
 *   api-access-users.c        users and API tokens
 *   api-access-groups-roles.c groups and roles
 *   api-access-acl.c          the ACL
 *   api-access-realms.c       realms (domains.cfg)
 */
#include "api-access.h"

#include <sys/random.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/api-auth.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/auth-ticket.h"
#include "pve/cfs-ipc.h"
#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/section-config.h"
#include "pve/string-util.h"

extern char **environ;

/* ---- shared helpers -------------------------------------------------------------------------- */

void api_access_strv_free(char **v) {
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

char **api_access_split_list(const char *s) {
    _cleanup_free_ char *copy = strdup(s ? s : "");
    char **v = calloc(1, sizeof(char *)), *save = NULL;
    size_t n = 0;
    if (!copy || !v) {
        free(v);
        return NULL;
    }
    for (char *t = strtok_r(copy, ",; \t\r\n", &save); t; t = strtok_r(NULL, ",; \t\r\n", &save)) {
        char **nv = reallocarray(v, n + 2, sizeof(char *));
        if (!nv) {
            api_access_strv_free(v);
            return NULL;
        }
        v = nv;
        if (!(v[n] = strdup(t))) {
            api_access_strv_free(v);
            return NULL;
        }
        v[++n] = NULL;
    }
    return v;
}

/* A validated parameter value in its string form (booleans 0/1). */
const char *access_value_str(const json_t *v, char buf[static 32]) {
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, 32, "%lld", (long long) json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "1" : "0";
    return NULL;
}

int access_set_result_or_oom(ApiCall *call, json_t *o, int r) {
    if (r < 0) {
        json_decref(o);
        return r;
    }
    return api_call_set_result(call, o);
}

/* ---- user.cfg edits ------------------------------------------------------------------------- */

typedef struct EditCtx {
    ApiUserCfgEditFn fn;
    void *userdata;
} EditCtx;

static int
edit_user_cfg_locked(ApiCall *call, const char *text, size_t len, char **ret_new, void *userdata) {
    EditCtx *e = userdata;
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    _cleanup_free_ char *msg = NULL;
    unsigned line = 0;
    int r = user_cfg_parse(text, len, &cfg, &line, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, 500, NULL, "user.cfg line %u: %s", line, msg ?: "parse error");
    r = e->fn(call, cfg, e->userdata);
    if (r < 0)
        return r;
    return user_cfg_print(cfg, ret_new);
}

/* Put "<prefix>: " in front of the call's error message. */
static void prefix_error(ApiCall *call, const char *prefix) {
    char *m = NULL;
    if (!prefix || !call->message || asprintf(&m, "%s: %s", prefix, call->message) < 0)
        return;
    free(call->message);
    call->message = m;
}

int access_edit_file(
    ApiCall *call, const char *path, const char *errprefix, ApiFileUpdateFn fn, void *userdata
) {
    int r = api_update_file(call, path, fn, userdata);
    if (r < 0)
        prefix_error(call, errprefix);
    return r;
}

int api_access_edit_user_cfg(
    ApiCall *call, const char *errprefix, ApiUserCfgEditFn fn, void *userdata
) {
    EditCtx e = {.fn = fn, .userdata = userdata};
    return access_edit_file(call, PVE_CFS_USER_CFG, errprefix, edit_user_cfg_locked, &e);
}

int api_access_check_perm_modify(ApiCall *call, UserCfg *cfg, const char *path, bool report) {
    const char *privs[3];
    api_auth_perm_modify_privs(path, privs);
    if (api_has_priv(call, cfg, path, privs, true))
        return 0;
    if (!report)
        return -EACCES;
    return api_call_fail(
        call, 403, NULL, "Permission check failed (%s, %s%s%s)", path, privs[0],
        privs[1] ? "|" : "", privs[1] ? privs[1] : ""
    );
}

int access_fail_no_user(ApiCall *call, const char *userid) {
    return api_call_fail(call, 500, NULL, "no such user ('%s')", userid);
}

int access_fail_no_token(ApiCall *call, const char *userid, const char *name) {
    return api_call_fail(call, 500, NULL, "no such token '%s' for user '%s'", name, userid);
}

int access_fail_no_group(ApiCall *call, const char *groupid) {
    return api_call_fail(call, 500, NULL, "group '%s' does not exist", groupid);
}

/* 400 with one entry in the errors map. */
int access_fail_param(ApiCall *call, const char *name, const char *fmt, const char *arg) {
    char *m = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (asprintf(&m, fmt, arg) < 0)
        return -ENOMEM;
#pragma GCC diagnostic pop
    json_t *errors = json_pack("{s:s}", name, m);
    free(m);
    if (!errors)
        return -ENOMEM;
    return api_call_fail(call, 400, errors, "Parameter verification failed.");
}

/* ---- line files: priv/shadow.cfg ("<userid>:<hash>:") and priv/token.cfg ("<id> <secret>") -- */

static int cmp_strp(const void *a, const void *b) {
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * text without the lines whose first field (up to sep) is id, plus line when not NULL; empty
 * lines dropped, sorted when sort is set. The result is malloc'd.
 */
static int
lines_replace(const char *text, char sep, const char *id, const char *line, bool sort, char **ret) {
    _cleanup_free_ char **v = NULL;
    _cleanup_free_ char *copy = strdup(text);
    size_t n = 0, total = 1, idlen = strlen(id);
    char *save = NULL;
    if (!copy)
        return -ENOMEM;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (strneq(l, id, idlen) && l[idlen] == sep)
            continue;
        char **nv = reallocarray(v, n + 2, sizeof(char *));
        if (!nv)
            return -ENOMEM;
        v = nv;
        v[n++] = l;
        total += strlen(l) + 1;
    }
    if (line) {
        char **nv = reallocarray(v, n + 1, sizeof(char *));
        if (!nv)
            return -ENOMEM;
        v = nv;
        v[n++] = (char *) line;
        total += strlen(line) + 1;
    }
    if (sort && n > 1)
        qsort(v, n, sizeof(char *), cmp_strp);
    char *out = malloc(total), *o = out;
    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        o = stpcpy(stpcpy(o, v[i]), "\n");
    *o = 0;
    *ret = out;
    return 0;
}

typedef struct LineEdit {
    char sep;
    const char *id;
    const char *line; /* NULL: remove */
    bool sort;
} LineEdit;

static int
line_edit_locked(ApiCall *call, const char *text, size_t len, char **ret_new, void *userdata) {
    const LineEdit *e = userdata;
    (void) call;
    (void) len;
    return lines_replace(text, e->sep, e->id, e->line, e->sort, ret_new);
}

int access_shadow_set(ApiCall *call, const char *userid, const char *hash) {
    _cleanup_free_ char *line = NULL;
    if (hash && asprintf(&line, "%s:%s:", userid, hash) < 0)
        return -ENOMEM;
    LineEdit e = {.sep = ':', .id = userid, .line = line};
    return access_edit_file(call, PVE_CFS_SHADOW_CFG, NULL, line_edit_locked, &e);
}

int access_token_secret_set(ApiCall *call, const char *tokenid, const char *secret) {
    _cleanup_free_ char *line = NULL;
    if (secret && asprintf(&line, "%s %s", tokenid, secret) < 0)
        return -ENOMEM;
    LineEdit e = {.sep = ' ', .id = tokenid, .line = line, .sort = true};
    int r = access_edit_file(call, PVE_CFS_TOKEN_CFG, NULL, line_edit_locked, &e);
    if (line)
        explicit_bzero(line, strlen(line));
    return r;
}

/* ---- passwords ------------------------------------------------------------------------------ */

/* chpasswd reads "user:password" lines on stdin; its stderr becomes the error. */
static int pam_set_password(ApiCall *call, const char *user, const char *password) {
    int in[2] = {-1, -1}, err[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    char *argv[] = {(char *) "chpasswd", NULL};
    char msg[512] = "";

    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        int e = -errno;
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0)
                close(in[i]);
        }
        return api_call_fail(call, 500, NULL, "change password failed: %s", strerror(-e));
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    int r = posix_spawnp(&pid, "chpasswd", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(err[1]);
    if (r != 0) {
        close(in[1]);
        close(err[0]);
        return api_call_fail(call, 500, NULL, "change password failed: %s", strerror(r));
    }
    FILE *f = fdopen(in[1], "w");
    if (f) {
        fprintf(f, "%s:%s\n", user, password);
        fclose(f);
    } else
        close(in[1]);
    size_t n = 0;
    ssize_t k;
    while (n < sizeof msg - 1 && (k = read(err[0], msg + n, sizeof msg - 1 - n)) > 0)
        n += (size_t) k;
    msg[n] = 0;
    close(err[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return api_call_fail(call, 500, NULL, "change password failed: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    msg[strcspn(msg, "\n")] = 0;
    return api_call_fail(
        call, 500, NULL, "change password failed: %s", *msg ? msg : "chpasswd exited with an error"
    );
}

/* upstream domain_set_password(): the realm's plugin stores the password. */
int access_set_password(ApiCall *call, const char *userid, const char *password) {
    _cleanup_(section_config_freep) SectionConfig *domains = NULL;
    const char *at = strrchr(userid, '@');
    int r = access_domains_load(call, &domains, NULL);
    if (r < 0)
        return r;
    const char *type = access_realm_type_of(domains, userid);
    if (!type)
        return api_call_fail(call, 500, NULL, "auth domain '%s' does not exist", at ? at + 1 : "");
    if (streq(type, "pve")) {
        _cleanup_free_ char *hash = NULL;
        r = shadow_password_hash(password, &hash);
        if (r < 0)
            return api_call_fail(call, 500, NULL, "unable to hash password: %s", strerror(-r));
        return access_shadow_set(call, userid, hash);
    }
    if (streq(type, "pam")) {
        _cleanup_free_ char *user = strndup(userid, (size_t) (at - userid));
        if (!user)
            return -ENOMEM;
        return pam_set_password(call, user, password);
    }
    return api_call_fail(call, 500, NULL, "can't set password on auth type '%s'", type);
}

int access_uuid_random(char ret[static 37]) {
    uint8_t b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b)
        return -EIO;
    b[6] = (uint8_t) ((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80);
    snprintf(
        ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
        b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    );
    explicit_bzero(b, sizeof b);
    return 0;
}

/* ---- password ------------------------------------------------------------------------------- */

/* Who may change whose password, beyond the method's permission descriptor (upstream
 * change_password): oneself when enabled; others not root@pam and not in the pam realm;
 * everybody but root@pam confirms with their own current password. */
static int password_may_change(ApiCall *call, UserCfg *cfg, const char *auth, const char *userid) {
    const char *confirm = param_str(call, "confirmation-password");
    if (streq(auth, "root@pam"))
        return 0;
    if (streq(auth, userid)) {
        if (!user_cfg_is_active(cfg, userid, time(NULL)))
            return api_call_fail(call, 500, NULL, "user '%s' is disabled", userid);
    } else if (streq(userid, "root@pam") || endswith(userid, "@pam"))
        return api_call_fail(call, 403, NULL, "Permission check failed");
    if (!confirm)
        return access_fail_param(
            call, "confirmation-password", "%s", "property is missing and it is not optional"
        );
    if (api_auth_password(auth, confirm, call->client) < 0)
        return api_call_fail(
            call, 403, NULL, "Permission check failed (invalid confirmation password)"
        );
    return 0;
}

static int h_password(ApiCall *call) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    _cleanup_free_ char *auth = NULL, *msg = NULL;
    const char *userid = param_str(call, "userid");
    int r = api_user_owner(api_user(call), &auth);
    if (r >= 0)
        r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    if (!user_cfg_get_user(cfg, userid))
        return access_fail_no_user(call, userid);
    r = password_may_change(call, cfg, auth, userid);
    if (r >= 0)
        r = access_set_password(call, userid, param_str(call, "password"));
    if (r < 0)
        return r;
    log_info("changed password for user '%s'", userid);
    if (asprintf(&msg, "changed password for user '%s'", userid) >= 0)
        (void) cfs_ipc_log_cluster_msg(6, "pvedaemon", "root@pam", msg);
    return 0;
}

/* ---- permissions ---------------------------------------------------------------------------- */

/* {priv: propagate} of id on path */
static json_t *path_perms_json(const UserCfg *cfg, const char *id, const char *path) {
    PrivSet privs = 0, prop = 0;
    (void) user_cfg_permissions_ex(cfg, id, path, time(NULL), &privs, &prop);
    json_t *o = json_object();
    for (unsigned i = 0; o && i < PRIV_COUNT; i++)
        if ((privs & (UINT64_C(1) << i)) &&
            json_util_set_int(o, priv_name(i), !!(prop & (UINT64_C(1) << i))) < 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

/* The paths upstream's get_effective_permissions() looks at. */
static int effective_paths(const UserCfg *cfg, json_t *set) {
    static const char *const defaults[] = {"/",        "/access",  "/access/groups",
                                           "/mapping", "/nodes",   "/pool",
                                           "/sdn",     "/storage", "/vms"};
    int r = 0;
    for (size_t i = 0; r >= 0 && i < ELEMENTSOF(defaults); i++)
        r = json_util_set_int(set, defaults[i], 1);
    for (size_t i = 0; r >= 0 && i < user_cfg_n_acls(cfg); i++)
        r = json_util_set_int(set, user_cfg_acl_at(cfg, i)->path, 1);
    for (size_t i = 0; r >= 0 && i < user_cfg_n_pools(cfg); i++) {
        const UserCfgPool *p = user_cfg_pool_at(cfg, i);
        char path[512];
        for (size_t j = 0; r >= 0 && j < p->n_vms; j++) {
            snprintf(path, sizeof path, "/vms/%s", p->vms[j]);
            r = json_util_set_int(set, path, 1);
        }
        for (size_t j = 0; r >= 0 && j < p->n_storage; j++) {
            snprintf(path, sizeof path, "/storage/%s", p->storage[j]);
            r = json_util_set_int(set, path, 1);
        }
    }
    return r;
}

static int h_permissions(ApiCall *call) {
    static const char *const audit[] = {"Sys.Audit", NULL};
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    _cleanup_free_ char *owner = NULL;
    const char *self = api_user(call), *id = param_str(call, "userid"),
               *path = param_str(call, "path");
    if (id && !userid_is_valid(id) && !tokenid_is_valid(id))
        return access_fail_param(call, "userid", "value '%s' does not match the regex pattern", id);
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0 || (id && (r = api_user_owner(id, &owner)) < 0))
        return r;
    if (id && !streq(id, self) && !streq(owner, self) &&
        (r = api_check_priv(call, cfg, "/access", audit, false)) < 0)
        return r;
    if (!id)
        id = self;

    json_t *res = json_object(), *set = json_object();
    const char *p;
    json_t *v;
    r = res && set ? 0 : -ENOMEM;
    if (r >= 0 && path)
        r = json_util_set_new(res, path, path_perms_json(cfg, id, path));
    if (r >= 0 && !path)
        r = effective_paths(cfg, set);
    if (r >= 0 && !path)
        json_object_foreach(set, p, v) {
            json_t *perms = path_perms_json(cfg, id, p);
            r = !perms                    ? -ENOMEM
                : json_object_size(perms) ? json_util_set_new(res, p, perms)
                                          : (json_decref(perms), 0);
            if (r < 0)
                break;
        }
    json_decref(set);
    return access_set_result_or_oom(call, res, r);
}

/* ---- index ---------------------------------------------------------------------------------- */

static int h_index(ApiCall *call) {
    static const char *const subdirs[] = {"users",  "groups",   "roles",       "acl", "domains",
                                          "ticket", "password", "permissions", "tfa"};
    json_t *res = json_array();
    int r = res ? 0 : -ENOMEM;
    for (size_t i = 0; r >= 0 && i < ELEMENTSOF(subdirs); i++)
        r = json_util_append_new(res, json_pack("{s:s}", "subdir", subdirs[i]));
    return access_set_result_or_oom(call, res, r);
}

/* ---- schemas -------------------------------------------------------------------------------- */

static const ApiSchema no_params = API_OBJECT(.properties = NULL);
static const ApiSchema null_returns = API_SCALAR(API_TYPE_NULL);
static const ApiSchema index_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = API_PROPERTIES(API_PARAM_STRING("subdir"))));

static const ApiSchema password_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING(
                "confirmation-password",
                .optional = true,
                .min_length = 5,
                .max_length = 64,
                .typetext = "<string>",
                .description = "The current password of the user performing the change."
            ),
            API_PARAM_STRING(
                "password",
                .min_length = 8,
                .max_length = 64,
                .typetext = "<string>",
                .description = "The new password."
            ),
            P_USERID
        )
);

static const ApiSchema permissions_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING(
                "path",
                .optional = true,
                .typetext = "<string>",
                .description = "Only dump this specific path, not the whole tree."
            ),
            API_PARAM_STRING(
                "userid",
                .optional = true,
                .typetext = "<string>",
                .description = "User ID or full API token ID"
            )
        )
);
static const ApiSchema permissions_returns = API_OBJECT(.additional_properties = true);

/* ---- permissions and the method table ------------------------------------------------------- */

static const ApiPermCheck password_checks[] = {
    CHECK_USERID_PARAM("self"),
    {.kind = API_CHECK_AND,
     .subs = access_delete_user_checks,
     .n_subs = ELEMENTSOF(access_delete_user_checks)},
};

static const ApiMethod index_methods[] = {
    {.path = "/access",
     .method = API_METHOD_GET,
     .name = "index",
     .description = "Directory index.",
     .parameters = &no_params,
     .returns = &index_returns,
     .permissions = API_PERM_ALL,
     .allowtoken = true,
     .handler = h_index},
};

static const ApiMethod methods[] = {
    {.path = "/access/password",
     .method = API_METHOD_PUT,
     .name = "change_password",
     .description = "Change user password.",
     .parameters = &password_params,
     .returns = &null_returns,
     .permissions = PERM_CHECK_NODE(API_CHECK_OR, password_checks),
     .protected = true,
     .allowtoken = false,
     .handler = h_password},
    {.path = "/access/permissions",
     .method = API_METHOD_GET,
     .name = "permissions",
     .description = "Retrieve effective permissions of given user/token.",
     .parameters = &permissions_params,
     .returns = &permissions_returns,
     .permissions = API_PERM_ALL,
     .allowtoken = true,
     .handler = h_permissions},
};

int api_access_register(ApiRouter *r) {
    /* in path order: index, users and tokens, groups and roles, ACL, domains, password and
     * permissions */
    int k = api_router_add(r, index_methods);
    if (k >= 0)
        k = api_access_users_register(r);
    if (k >= 0)
        k = api_access_groups_roles_register(r);
    if (k >= 0)
        k = api_access_acl_register(r);
    if (k >= 0)
        k = api_access_realms_register(r);
    if (k >= 0)
        k = api_access_tfa_register(r);
    if (k >= 0)
        k = api_router_add(r, methods);
    return k;
}
