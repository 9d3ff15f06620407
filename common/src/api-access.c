/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-access: /access: users, API tokens (user.cfg + priv/token.cfg), groups, roles, ACLs,
 * realms (domains.cfg), passwords (priv/shadow.cfg for the pve realm, chpasswd for pam) and
 * the effective permissions of a user. Every write is a locked read-modify-write of the file
 * with upstream's lock ids; user.cfg is always written in the canonical form of user-cfg.h.
 * Errors inside a lock carry upstream's prefix ("create user failed: ..."). /access/ticket
 * lives in api-ticket.c.
 */
#include "api-access.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
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
#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"
#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/section-config.h"
#include "pve/strbuf.h"
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

static json_t *param(const ApiCall *call, const char *name) {
    return json_object_get(call->params, name);
}

static const char *param_str(const ApiCall *call, const char *name) {
    return json_string_value(param(call, name));
}

static bool param_true(const ApiCall *call, const char *name) {
    bool b = false;
    (void) api_call_param_bool(call, name, &b);
    return b;
}

/* A validated parameter value in its string form (booleans 0/1). */
static const char *value_str(const json_t *v, char buf[static 32]) {
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

static int set_result_or_oom(ApiCall *call, json_t *o, int r) {
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

static int edit_file(
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
    return edit_file(call, PVE_CFS_USER_CFG, errprefix, edit_user_cfg_locked, &e);
}

int api_access_check_perm_modify(ApiCall *call, UserCfg *cfg, const char *path, bool report) {
    const char *privs[3] = {"Permissions.Modify", NULL, NULL};
    const char *rest;
    if ((rest = startswith(path, "/storage/")) && *rest)
        privs[1] = "Datastore.Allocate";
    else if ((rest = startswith(path, "/vms/")) && *rest)
        privs[1] = "VM.Allocate";
    else if ((rest = startswith(path, "/pool/")) && *rest)
        privs[1] = "Pool.Allocate";
    else if ((rest = startswith(path, "/mapping/")) && strchr(rest, '/'))
        privs[1] = "Mapping.Modify";
    if (api_has_priv(call, cfg, path, privs, true))
        return 0;
    if (!report)
        return -EACCES;
    return api_call_fail(
        call, 403, NULL, "Permission check failed (%s, %s%s%s)", path, privs[0],
        privs[1] ? "|" : "", privs[1] ? privs[1] : ""
    );
}

static int fail_no_user(ApiCall *call, const char *userid) {
    return api_call_fail(call, 500, NULL, "no such user ('%s')", userid);
}

static int fail_no_token(ApiCall *call, const char *userid, const char *name) {
    return api_call_fail(call, 500, NULL, "no such token '%s' for user '%s'", name, userid);
}

static int fail_no_group(ApiCall *call, const char *groupid) {
    return api_call_fail(call, 500, NULL, "group '%s' does not exist", groupid);
}

/* 400 with one entry in the errors map. */
static int fail_param(ApiCall *call, const char *name, const char *fmt, const char *arg) {
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

static int shadow_set(ApiCall *call, const char *userid, const char *hash) {
    _cleanup_free_ char *line = NULL;
    if (hash && asprintf(&line, "%s:%s:", userid, hash) < 0)
        return -ENOMEM;
    LineEdit e = {.sep = ':', .id = userid, .line = line};
    return edit_file(call, PVE_CFS_SHADOW_CFG, NULL, line_edit_locked, &e);
}

static int token_secret_set(ApiCall *call, const char *tokenid, const char *secret) {
    _cleanup_free_ char *line = NULL;
    if (secret && asprintf(&line, "%s %s", tokenid, secret) < 0)
        return -ENOMEM;
    LineEdit e = {.sep = ' ', .id = tokenid, .line = line, .sort = true};
    int r = edit_file(call, PVE_CFS_TOKEN_CFG, NULL, line_edit_locked, &e);
    if (line)
        explicit_bzero(line, strlen(line));
    return r;
}

/* A random (version 4) UUID in lower case. */
static int uuid_random(char ret[static 37]) {
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

/* ---- domains.cfg ---------------------------------------------------------------------------- */

enum {
    R_PAM = 1 << 0,
    R_PVE = 1 << 1,
    R_LDAP = 1 << 2,
    R_AD = 1 << 3,
    R_OPENID = 1 << 4,
    R_DIR = R_LDAP | R_AD,
    R_ALL = R_PAM | R_PVE | R_LDAP | R_AD | R_OPENID,
};

static const struct {
    const char *name;
    unsigned bit;
} realm_types[] = {
    {"pam", R_PAM}, {"pve", R_PVE}, {"ldap", R_LDAP}, {"ad", R_AD}, {"openid", R_OPENID},
};

/* Options stored in domains.cfg per realm type (the schema checks the values). */
typedef struct RealmOpt {
    const char *key;
    unsigned types;
    unsigned required;
    char kind; /* 's' string, 'b' boolean, 'i' integer */
} RealmOpt;

static const RealmOpt realm_opts[] = {
    {"acr-values", R_OPENID, 0, 's'},
    {"autocreate", R_OPENID, 0, 'b'},
    {"base_dn", R_DIR, R_LDAP, 's'},
    {"bind_dn", R_DIR, 0, 's'},
    {"capath", R_DIR, 0, 's'},
    {"case-sensitive", R_DIR, 0, 'b'},
    {"cert", R_DIR, 0, 's'},
    {"certkey", R_DIR, 0, 's'},
    {"client-id", R_OPENID, R_OPENID, 's'},
    {"client-key", R_OPENID, 0, 's'},
    {"comment", R_ALL, 0, 's'},
    {"default", R_ALL, 0, 'b'},
    {"domain", R_AD, R_AD, 's'},
    {"filter", R_DIR, 0, 's'},
    {"group_classes", R_DIR, 0, 's'},
    {"group_dn", R_DIR, 0, 's'},
    {"group_filter", R_DIR, 0, 's'},
    {"group_name_attr", R_DIR, 0, 's'},
    {"groups-autocreate", R_OPENID, 0, 'b'},
    {"groups-claim", R_OPENID, 0, 's'},
    {"groups-overwrite", R_OPENID, 0, 'b'},
    {"issuer-url", R_OPENID, R_OPENID, 's'},
    {"mode", R_DIR, 0, 's'},
    {"port", R_DIR, 0, 'i'},
    {"prompt", R_OPENID, 0, 's'},
    {"query-userinfo", R_OPENID, 0, 'b'},
    {"scopes", R_OPENID, 0, 's'},
    {"secure", R_DIR, 0, 'b'},
    {"server1", R_DIR, R_DIR, 's'},
    {"server2", R_DIR, 0, 's'},
    {"sslversion", R_DIR, 0, 's'},
    {"sync-defaults-options", R_DIR, 0, 's'},
    {"sync_attributes", R_DIR, 0, 's'},
    {"tfa", R_PAM | R_PVE | R_DIR, 0, 's'},
    {"user_attr", R_DIR, R_LDAP, 's'},
    {"user_classes", R_DIR, 0, 's'},
    {"username-claim", R_OPENID, 0, 's'},
    {"verify", R_DIR, 0, 'b'},
};

/* Parameters that are not stored as options. */
static bool realm_param_is_meta(const char *key) {
    static const char *const meta[] = {"realm",  "type",  "password", "check-connection",
                                       "digest", "delete"};
    for (size_t i = 0; i < ELEMENTSOF(meta); i++)
        if (streq(key, meta[i]))
            return true;
    return false;
}

static unsigned realm_type_bit(const char *type) {
    for (size_t i = 0; type && i < ELEMENTSOF(realm_types); i++)
        if (streq(realm_types[i].name, type))
            return realm_types[i].bit;
    return 0;
}

static const RealmOpt *realm_opt(const char *key) {
    for (size_t i = 0; i < ELEMENTSOF(realm_opts); i++)
        if (streq(realm_opts[i].key, key))
            return &realm_opts[i];
    return NULL;
}

/* pam and pve always exist, with a default comment (upstream adds them when parsing). */
static int domains_ensure_builtin(SectionConfig *c) {
    static const struct {
        const char *id, *comment;
    } builtin[] = {
        {"pam", "Linux PAM standard authentication"},
        {"pve", "Proxmox VE authentication server"},
    };
    for (size_t i = 0; i < ELEMENTSOF(builtin); i++) {
        SectionConfigSection *s = section_config_find(c, NULL, builtin[i].id);
        int r = 0;
        if (!s)
            r = section_config_add(c, builtin[i].id, builtin[i].id, &s);
        if (r >= 0 && !section_config_get(s, "comment"))
            r = section_config_set(s, "comment", builtin[i].comment);
        if (r < 0)
            return r;
    }
    return 0;
}

static int domains_parse(ApiCall *call, const char *text, size_t len, SectionConfig **ret) {
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    _cleanup_free_ char *msg = NULL;
    unsigned line = 0;
    int r = section_config_parse(text, len, 0, &c, &line, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(
            call, 500, NULL, "domains.cfg line %u: %s", line, msg ? msg : "parse error"
        );
    r = domains_ensure_builtin(c);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(c);
    return 0;
}

/* ret_digest: NULL or 41 bytes */
static int domains_load(ApiCall *call, SectionConfig **ret, char *ret_digest) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = api_read_file(call, PVE_CFS_DOMAINS_CFG, &text, &len);
    if (r < 0)
        return r;
    if (ret_digest)
        api_digest(text, len, ret_digest);
    return domains_parse(call, text, len, ret);
}

/* The realm type of a userid, NULL when the realm is unknown. */
static const char *realm_type_of(const SectionConfig *domains, const char *userid) {
    const char *at = userid ? strrchr(userid, '@') : NULL;
    const SectionConfigSection *s = at ? section_config_find(domains, NULL, at + 1) : NULL;
    return s ? s->type : NULL;
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
static int set_password(ApiCall *call, const char *userid, const char *password) {
    _cleanup_(section_config_freep) SectionConfig *domains = NULL;
    const char *at = strrchr(userid, '@');
    int r = domains_load(call, &domains, NULL);
    if (r < 0)
        return r;
    const char *type = realm_type_of(domains, userid);
    if (!type)
        return api_call_fail(call, 500, NULL, "auth domain '%s' does not exist", at ? at + 1 : "");
    if (streq(type, "pve")) {
        _cleanup_free_ char *hash = NULL;
        r = shadow_password_hash(password, &hash);
        if (r < 0)
            return api_call_fail(call, 500, NULL, "unable to hash password: %s", strerror(-r));
        return shadow_set(call, userid, hash);
    }
    if (streq(type, "pam")) {
        _cleanup_free_ char *user = strndup(userid, (size_t) (at - userid));
        if (!user)
            return -ENOMEM;
        return pam_set_password(call, user, password);
    }
    return api_call_fail(call, 500, NULL, "can't set password on auth type '%s'", type);
}

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
        r = json_util_set_string(o, "realm-type", realm_type_of(domains, u->userid));
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
    r = domains_load(call, &domains, NULL);
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
        return fail_no_user(call, userid);
    json_t *o = user_json(cfg, u, true);
    if (!o)
        return -ENOMEM;
    r = u->n_tokens > 0 ? json_util_set_new(o, "tokens", tokens_json(u, true)) : 0;
    return set_result_or_oom(call, o, r);
}

/* enable, expire and the text fields present in the parameters. */
static int user_apply_params(ApiCall *call, UserCfg *cfg, const char *userid) {
    static const char *const keys[] = {"enable", "expire",  "firstname", "lastname",
                                       "email",  "comment", "keys"};
    for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
        char buf[32];
        json_t *v = param(call, keys[i]);
        const char *s = v ? value_str(v, buf) : NULL;
        if (!s)
            continue;
        int r = user_cfg_user_set(cfg, userid, keys[i], s);
        if (r == -EINVAL)
            return fail_param(call, keys[i], "invalid value '%s'", s);
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
        r = set_password(call, userid, password);
        if (r < 0)
            return r;
    }
    r = user_cfg_add_user(cfg, userid);
    if (r == -EINVAL)
        return fail_param(call, "userid", "invalid user name '%s'", userid);
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
        return fail_no_user(call, userid);
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
        return fail_no_user(call, userid);
    /* the realm forgets the user (pve: its password), and the token secrets go too */
    _cleanup_(section_config_freep) SectionConfig *domains = NULL;
    int r = domains_load(call, &domains, NULL);
    if (r < 0)
        return r;
    const char *type = realm_type_of(domains, userid);
    if (type && streq(type, "pve") && (r = shadow_set(call, userid, NULL)) < 0)
        return r;
    for (size_t i = 0; i < u->n_tokens; i++) {
        _cleanup_free_ char *tokenid = NULL;
        if (asprintf(&tokenid, "%s!%s", userid, u->tokens[i]->name) < 0)
            return -ENOMEM;
        r = token_secret_set(call, tokenid, NULL);
        if (r < 0)
            return r;
    }
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
        return fail_no_user(call, userid);
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
        return fail_no_user(call, userid);
    const UserCfgToken *t = user_cfg_get_token(cfg, tokenid);
    if (!t)
        return fail_no_token(call, userid, param_str(call, "tokenid"));
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
        return fail_no_user(call, userid);
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
        return fail_param(call, "tokenid", "invalid token id '%s'", tc->tokenid);
    if (r < 0)
        return r;
    r = uuid_random(tc->secret);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to generate token secret: %s", strerror(-r));
    r = token_secret_set(call, tc->tokenid, tc->secret);
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
        return fail_param(call, "tokenid", "token id '%s' is too long", param_str(call, "tokenid"));
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
            return fail_param(call, "delete", "unknown property '%s'", del[i]);
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
        return fail_no_user(call, userid);
    if (!user_cfg_get_token(cfg, tokenid))
        return fail_no_token(call, userid, param_str(call, "tokenid"));
    r = token_delete_keys(call, cfg, tokenid);
    static const char *const keys[] = {"privsep", "expire", "comment"};
    for (size_t i = 0; r >= 0 && i < ELEMENTSOF(keys); i++) {
        char buf[32];
        json_t *v = param(call, keys[i]);
        const char *s = v ? value_str(v, buf) : NULL;
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
        return fail_no_user(call, userid);
    if (!user_cfg_get_token(cfg, tokenid))
        return fail_no_token(call, userid, param_str(call, "tokenid"));
    r = token_secret_set(call, tokenid, NULL);
    if (r < 0)
        return r;
    return user_cfg_remove_token(cfg, tokenid);
}

static int h_token_delete(ApiCall *call) {
    return api_access_edit_user_cfg(call, "deleting token failed", token_delete_edit, NULL);
}

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
    return set_result_or_oom(call, res, r);
}

static int h_group_get(ApiCall *call) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    const char *groupid = param_str(call, "groupid");
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    const UserCfgGroup *g = user_cfg_get_group(cfg, groupid);
    if (!g)
        return fail_no_group(call, groupid);
    json_t *members = json_array(), *o = json_object();
    r = members && o ? 0 : -ENOMEM;
    for (size_t i = 0; r >= 0 && i < g->n_members; i++)
        r = json_util_append_new(members, json_string(g->members[i]));
    if (r >= 0)
        r = json_util_set_new(o, "members", json_incref(members));
    if (r >= 0 && *g->comment)
        r = json_util_set_string(o, "comment", g->comment);
    json_decref(members);
    return set_result_or_oom(call, o, r);
}

static int group_create_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *groupid = param_str(call, "groupid");
    (void) userdata;
    int r = user_cfg_add_group(cfg, groupid, param_str(call, "comment"));
    if (r == -EEXIST)
        return api_call_fail(call, 500, NULL, "group '%s' already exists", groupid);
    if (r == -EINVAL)
        return fail_param(call, "groupid", "invalid group name '%s'", groupid);
    return r;
}

static int h_group_create(ApiCall *call) {
    return api_access_edit_user_cfg(call, "create group failed", group_create_edit, NULL);
}

static int group_update_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *groupid = param_str(call, "groupid"), *comment = param_str(call, "comment");
    (void) userdata;
    if (!user_cfg_get_group(cfg, groupid))
        return fail_no_group(call, groupid);
    return comment ? user_cfg_group_set_comment(cfg, groupid, comment) : 0;
}

static int h_group_update(ApiCall *call) {
    return api_access_edit_user_cfg(call, "update group failed", group_update_edit, NULL);
}

static int group_delete_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *groupid = param_str(call, "groupid");
    (void) userdata;
    int r = user_cfg_remove_group(cfg, groupid);
    return r == -ENOENT ? fail_no_group(call, groupid) : r;
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
    return set_result_or_oom(call, res, r);
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
    return set_result_or_oom(call, o, r);
}

static int param_privs(ApiCall *call, PrivSet *ret) {
    _cleanup_free_ char *bad = NULL;
    *ret = 0;
    int r = user_cfg_privs_from_list(param_str(call, "privs"), ret, &bad);
    if (r == -EINVAL) /* the schema checks them, so only a name of 64+ bytes gets here */
        return fail_param(call, "privs", "invalid privilege '%s'", bad ? bad : "");
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
        return fail_param(call, "roleid", "invalid role name '%s'", roleid);
    return r;
}

static int h_role_create(ApiCall *call) {
    const char *roleid = param_str(call, "roleid");
    if (strncasecmp(roleid, "PVE", 3) == 0)
        return fail_param(
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
    return set_result_or_oom(call, res, r);
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
        return fail_param(call, "path", "invalid ACL path '%s'", e->path);
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
            return fail_no_group(call, groups[i]);
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
            return fail_no_token(call, user ? user : tokens[i], bang ? bang + 1 : "");
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
        return fail_param(call, "path", "invalid ACL path '%s'", rawpath);
    return api_access_edit_user_cfg(call, "ACL update failed", acl_update_edit, &e);
}

/* ---- realms (domains.cfg) ------------------------------------------------------------------- */

typedef int (*DomainsEditFn)(ApiCall *call, SectionConfig *c, void *userdata);

typedef struct DomainsEdit {
    DomainsEditFn fn;
    void *userdata;
} DomainsEdit;

static int
domains_edit_locked(ApiCall *call, const char *text, size_t len, char **ret_new, void *userdata) {
    const DomainsEdit *e = userdata;
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    int r = api_check_digest(call, text, len);
    if (r >= 0)
        r = domains_parse(call, text, len, &c);
    if (r >= 0)
        r = e->fn(call, c, e->userdata);
    if (r < 0)
        return r;
    return section_config_print(c, ret_new);
}

static int edit_domains(ApiCall *call, const char *errprefix, DomainsEditFn fn, void *userdata) {
    DomainsEdit e = {.fn = fn, .userdata = userdata};
    return edit_file(call, PVE_CFS_DOMAINS_CFG, errprefix, domains_edit_locked, &e);
}

/* The tfa option names its type first: "type=oath,..." or "oath,...". */
static const char *tfa_type(const char *tfa, char buf[static 16]) {
    size_t n = strcspn(tfa, ",");
    const char *v = tfa;
    if (startswith(tfa, "type="))
        v += 5, n -= 5;
    else if (memchr(tfa, '=', n))
        return NULL;
    if (n == 0 || n >= 16)
        return NULL;
    memcpy(buf, v, n);
    buf[n] = 0;
    return buf;
}

static int check_tfa_param(ApiCall *call) {
    const char *tfa = param_str(call, "tfa");
    char buf[16];
    if (!tfa)
        return 0;
    const char *t = tfa_type(tfa, buf);
    if (!t || (!streq(t, "oath") && !streq(t, "yubico")))
        return fail_param(call, "tfa", "invalid format - unknown TFA type in '%s'", tfa);
    return 0;
}

/* Every stored option of the parameters must exist for the type; with create also the
 * required ones must be given. */
static int realm_check_params(ApiCall *call, unsigned type, bool create) {
    const char *key;
    json_t *v;
    json_object_foreach(call->params, key, v) {
        const RealmOpt *o = realm_opt(key);
        if (streq(key, "password") ? !(type & R_DIR)
                                   : !realm_param_is_meta(key) && (!o || !(o->types & type)))
            return fail_param(call, key, "unexpected property '%s'", key);
    }
    for (size_t i = 0; create && i < ELEMENTSOF(realm_opts); i++)
        if ((realm_opts[i].required & type) && !param(call, realm_opts[i].key))
            return fail_param(
                call, realm_opts[i].key, "%s", "property is missing and it is not optional"
            );
    return check_tfa_param(call);
}

typedef struct Prop {
    char *key, *value;
    int rank; /* 0 comment, 1 required, 2 other */
} Prop;

static int cmp_prop(const void *a, const void *b) {
    const Prop *x = a, *y = b;
    return x->rank != y->rank ? x->rank - y->rank : strcmp(x->key, y->key);
}

/* upstream's write order: comment, the required options, the others, each sorted by key */
static int realm_sort_properties(SectionConfigSection *s, unsigned type) {
    size_t n = s->n_properties;
    _cleanup_free_ Prop *v = calloc(n + 1, sizeof *v);
    int r = v ? 0 : -ENOMEM;
    for (size_t i = 0; r >= 0 && i < n; i++) {
        const RealmOpt *o = realm_opt(s->properties[i].key);
        v[i].key = strdup(s->properties[i].key);
        v[i].value = strdup(s->properties[i].value);
        v[i].rank = streq(v[i].key ? v[i].key : "", "comment") ? 0
                    : o && (o->required & type) ? 1
                                                : 2;
        if (!v[i].key || !v[i].value)
            r = -ENOMEM;
    }
    if (r >= 0) {
        qsort(v, n, sizeof *v, cmp_prop);
        for (size_t i = 0; i < n; i++)
            (void) section_config_unset(s, v[i].key);
        for (size_t i = 0; r >= 0 && i < n; i++)
            r = section_config_set(s, v[i].key, v[i].value);
    }
    for (size_t i = 0; i < n && v; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    return r;
}

/* Store the option parameters on s (comments percent-encoded, booleans 0/1). */
static int realm_set_options(ApiCall *call, SectionConfig *c, SectionConfigSection *s) {
    const char *key;
    json_t *v;
    json_object_foreach(call->params, key, v) {
        char buf[32];
        const char *val = value_str(v, buf);
        _cleanup_free_ char *enc = NULL;
        if (realm_param_is_meta(key) || !val)
            continue;
        if (streq(key, "comment")) {
            _cleanup_free_ char *trimmed = strdup(val);
            if (!trimmed)
                return -ENOMEM;
            size_t n = strlen(trimmed);
            while (n > 0 && isspace((unsigned char) trimmed[n - 1]))
                trimmed[--n] = 0;
            val = enc = user_cfg_encode_text(trimmed + strspn(trimmed, " \t\r\n"));
            if (!enc)
                return -ENOMEM;
        }
        if (streq(key, "default") && streq(val, "1"))
            for (size_t i = 0; i < c->n_sections; i++)
                (void) section_config_unset(c->sections[i], "default");
        int r = section_config_set(s, key, val);
        if (r == -EINVAL)
            return fail_param(call, key, "invalid value '%s'", val);
        if (r < 0)
            return r;
    }
    return realm_sort_properties(s, realm_type_bit(s->type));
}

/* ldap/ad bind passwords live in priv/realm/<realm>.pw (NULL: remove it). */
static int realm_store_password(ApiCall *call, const char *realm, const char *password) {
    _cleanup_free_ char *rel = NULL, *dir = NULL;
    if (asprintf(&rel, "priv/realm/%s.pw", realm) < 0)
        return -ENOMEM;
    int r = cfs_file_path("priv/realm", &dir);
    if (r < 0)
        return r;
    if (!password) {
        _cleanup_free_ char *full = NULL;
        r = cfs_file_path(rel, &full);
        if (r >= 0 && unlink(full) < 0 && errno != ENOENT)
            r = -errno;
    } else {
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            r = -errno;
        if (r >= 0)
            r = cfs_file_write(rel, password, strlen(password));
    }
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to update '%s' - %s", rel, strerror(-r));
    return 0;
}

static int domain_create_edit(ApiCall *call, SectionConfig *c, void *userdata) {
    const char *realm = param_str(call, "realm"), *type = param_str(call, "type");
    SectionConfigSection *s = NULL;
    (void) userdata;
    if (section_config_find(c, NULL, realm))
        return api_call_fail(call, 500, NULL, "domain '%s' already exists", realm);
    if (streq(type, "pam") || streq(type, "pve"))
        return api_call_fail(call, 500, NULL, "unable to add builtin auth type '%s'", type);
    int r = section_config_add(c, type, realm, &s);
    if (r == -EINVAL)
        return fail_param(call, "realm", "invalid realm '%s'", realm);
    if (r >= 0)
        r = realm_set_options(call, c, s);
    if (r >= 0 && param_str(call, "password"))
        r = realm_store_password(call, realm, param_str(call, "password"));
    return r;
}

static int h_domain_create(ApiCall *call) {
    int r = realm_check_params(call, realm_type_bit(param_str(call, "type")), true);
    if (r < 0)
        return r;
    return edit_domains(call, "add auth server failed", domain_create_edit, NULL);
}

static bool realm_has_changes(const ApiCall *call) {
    const char *key;
    json_t *v;
    json_object_foreach(
        call->params, key, v
    ) if (!streq(key, "realm") && !streq(key, "digest")) return true;
    return false;
}

static int domain_update_edit(ApiCall *call, SectionConfig *c, void *userdata) {
    const char *realm = param_str(call, "realm");
    (void) userdata;
    SectionConfigSection *s = section_config_find(c, NULL, realm);
    if (!s)
        return api_call_fail(call, 500, NULL, "domain '%s' does not exist", realm);
    if (!realm_has_changes(call))
        return api_call_fail(call, 500, NULL, "no options specified");
    int r = realm_check_params(call, realm_type_bit(s->type), false);
    _cleanup_strv_ char **del = api_access_split_list(param_str(call, "delete"));
    if (r >= 0 && !del)
        r = -ENOMEM;
    for (size_t i = 0; r >= 0 && del[i]; i++)
        r = streq(del[i], "password") ? realm_store_password(call, realm, NULL)
                                      : section_config_unset(s, del[i]);
    if (r >= 0)
        r = realm_set_options(call, c, s);
    if (r >= 0 && param_str(call, "password"))
        r = realm_store_password(call, realm, param_str(call, "password"));
    return r;
}

static int h_domain_update(ApiCall *call) {
    return edit_domains(call, "update auth server failed", domain_update_edit, NULL);
}

static int domain_delete_edit(ApiCall *call, SectionConfig *c, void *userdata) {
    const char *realm = param_str(call, "realm");
    (void) userdata;
    SectionConfigSection *s = section_config_find(c, NULL, realm);
    if (!s)
        return api_call_fail(call, 500, NULL, "authentication domain '%s' does not exist", realm);
    int r = realm_type_bit(s->type) & R_DIR ? realm_store_password(call, realm, NULL) : 0;
    return r < 0 ? r : section_config_remove(c, NULL, realm);
}

static int h_domain_delete(ApiCall *call) {
    return edit_domains(call, "delete auth server failed", domain_delete_edit, NULL);
}

static int h_domains_list(ApiCall *call) {
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    int r = domains_load(call, &c, NULL);
    if (r < 0)
        return r;
    json_t *res = json_array();
    r = res ? 0 : -ENOMEM;
    for (size_t i = 0; r >= 0 && i < c->n_sections; i++) {
        const SectionConfigSection *s = c->sections[i];
        const char *comment = section_config_get(s, "comment"),
                   *def = section_config_get(s, "default"), *tfa = section_config_get(s, "tfa");
        _cleanup_free_ char *dec = comment ? user_cfg_decode_text(comment) : NULL;
        char buf[16];
        json_t *e = json_pack("{s:s,s:s}", "realm", s->id, "type", s->type);
        r = e ? 0 : -ENOMEM;
        if (r >= 0 && dec && *dec)
            r = json_util_set_string(e, "comment", dec);
        if (r >= 0 && def && streq(def, "1"))
            r = json_util_set_int(e, "default", 1);
        if (r >= 0 && tfa && tfa_type(tfa, buf))
            r = json_util_set_string(e, "tfa", buf);
        r = r < 0 ? (json_decref(e), r) : json_util_append_new(res, e);
    }
    return set_result_or_oom(call, res, r);
}

static json_t *realm_value_json(const char *key, const char *value) {
    const RealmOpt *o = realm_opt(key);
    long long n;
    if (streq(key, "comment")) {
        _cleanup_free_ char *dec = user_cfg_decode_text(value);
        return json_string(dec ? dec : value);
    }
    if (o && (o->kind == 'b' || o->kind == 'i') && safe_atoi64(value, &n) >= 0)
        return json_integer(n);
    return json_string(value);
}

static int h_domain_get(ApiCall *call) {
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    const char *realm = param_str(call, "realm");
    char digest[41];
    int r = domains_load(call, &c, digest);
    if (r < 0)
        return r;
    const SectionConfigSection *s = section_config_find(c, NULL, realm);
    if (!s)
        return api_call_fail(call, 500, NULL, "domain '%s' does not exist", realm);
    json_t *o = json_pack("{s:s,s:s}", "type", s->type, "digest", digest);
    r = o ? 0 : -ENOMEM;
    for (size_t i = 0; r >= 0 && i < s->n_properties; i++)
        r = json_util_set_new(
            o, s->properties[i].key, realm_value_json(s->properties[i].key, s->properties[i].value)
        );
    return set_result_or_oom(call, o, r);
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
        return fail_param(
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
        return fail_no_user(call, userid);
    r = password_may_change(call, cfg, auth, userid);
    if (r >= 0)
        r = set_password(call, userid, param_str(call, "password"));
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
        return fail_param(call, "userid", "value '%s' does not match the regex pattern", id);
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
    return set_result_or_oom(call, res, r);
}

/* ---- index ---------------------------------------------------------------------------------- */

static int h_index(ApiCall *call) {
    static const char *const subdirs[] = {"users",   "groups", "roles",    "acl",
                                          "domains", "ticket", "password", "permissions"};
    json_t *res = json_array();
    int r = res ? 0 : -ENOMEM;
    for (size_t i = 0; r >= 0 && i < ELEMENTSOF(subdirs); i++)
        r = json_util_append_new(res, json_pack("{s:s}", "subdir", subdirs[i]));
    return set_result_or_oom(call, res, r);
}

/* ---- schemas -------------------------------------------------------------------------------- */

#define P_USERID                                                                    \
    API_PARAM_STRING(                                                               \
        "userid", .format = "pve-userid", .max_length = 64, .typetext = "<string>", \
        .description = "Full User ID, in the `name@realm` format."                  \
    )
#define P_TOKENID                                        \
    API_PARAM_STRING(                                    \
        "tokenid", .pattern = "[A-Za-z][A-Za-z0-9._-]+", \
        .description = "User-specific token identifier." \
    )
#define P_GROUPID API_PARAM_STRING("groupid", .format = "pve-groupid", .typetext = "<string>")
#define P_ROLEID  API_PARAM_STRING("roleid", .format = "pve-roleid", .typetext = "<string>")
#define P_REALM                                                                   \
    API_PARAM_STRING(                                                             \
        "realm", .format = "pve-realm", .max_length = 32, .typetext = "<string>", \
        .description = "Authentication domain ID"                                 \
    )
#define P_COMMENT API_PARAM_STRING("comment", .optional = true, .typetext = "<string>")
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

static const ApiSchema no_params = API_OBJECT(.properties = NULL);
static const ApiSchema null_returns = API_SCALAR(API_TYPE_NULL);
static const ApiSchema index_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = API_PROPERTIES(API_PARAM_STRING("subdir"))));

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

/* Realm options (POST/PUT /access/domains share them). */
#define P_OPT_STR(n, ...) \
    API_PARAM_STRING(n, .optional = true, .typetext = "<string>", ##__VA_ARGS__)
#define P_OPT_BOOL(n, ...) \
    API_PARAM_BOOL(n, .optional = true, .typetext = "<boolean>", ##__VA_ARGS__)
#define P_REALM_OPTIONS                                                                            \
    API_PARAM_STRING("acr-values", .optional = true, .pattern = "[^\\x00-\\x1F\\x7F <>#\"]*"),     \
        P_OPT_BOOL("autocreate", API_DEFAULT_INT(0)), P_OPT_STR("base_dn", .max_length = 256),     \
        P_OPT_STR("bind_dn", .max_length = 256),                                                   \
        P_OPT_STR("capath", API_DEFAULT_STR("/etc/ssl/certs")),                                    \
        P_OPT_BOOL("case-sensitive", API_DEFAULT_INT(1)), P_OPT_STR("cert"), P_OPT_STR("certkey"), \
        P_OPT_BOOL("check-connection", API_DEFAULT_INT(0)),                                        \
        P_OPT_STR("client-id", .max_length = 256), P_OPT_STR("client-key", .max_length = 256),     \
        P_OPT_STR("comment", .max_length = 4096), P_OPT_BOOL("default"),                           \
        API_PARAM_STRING("domain", .optional = true, .max_length = 256, .pattern = "\\S+"),        \
        P_OPT_STR("filter", .max_length = 2048), P_OPT_STR("group_classes"),                       \
        P_OPT_STR("group_dn", .max_length = 256), P_OPT_STR("group_filter", .max_length = 2048),   \
        P_OPT_STR("group_name_attr", .max_length = 256),                                           \
        P_OPT_BOOL("groups-autocreate", API_DEFAULT_INT(0)),                                       \
        API_PARAM_STRING(                                                                          \
            "groups-claim", .optional = true, .max_length = 256, .pattern = "[A-Za-z0-9._-]+"      \
        ),                                                                                         \
        P_OPT_BOOL("groups-overwrite", API_DEFAULT_INT(0)),                                        \
        P_OPT_STR("issuer-url", .max_length = 256),                                                \
        API_PARAM_STRING(                                                                          \
            "mode", .optional = true, API_DEFAULT_STR("ldap"),                                     \
            .enum_values = API_ENUM("ldap", "ldaps", "ldap+starttls")                              \
        ),                                                                                         \
        P_OPT_STR("password"),                                                                     \
        API_PARAM_INTEGER(                                                                         \
            "port", .optional = true, API_RANGE(1, 65535), .typetext = "<integer> (1 - 65535)"     \
        ),                                                                                         \
        API_PARAM_STRING(                                                                          \
            "prompt", .optional = true, .pattern = "(?:none|login|consent|select_account|\\S+)"    \
        ),                                                                                         \
        P_OPT_BOOL("query-userinfo", API_DEFAULT_INT(1)),                                          \
        P_OPT_STR("scopes", API_DEFAULT_STR("email profile")), P_OPT_BOOL("secure"),               \
        P_OPT_STR("server1", .max_length = 256), P_OPT_STR("server2", .max_length = 256),          \
        API_PARAM_STRING(                                                                          \
            "sslversion", .optional = true,                                                        \
            .enum_values = API_ENUM("tlsv1", "tlsv1_1", "tlsv1_2", "tlsv1_3")                      \
        ),                                                                                         \
        P_OPT_STR("sync-defaults-options"),                                                        \
        API_PARAM_STRING(                                                                          \
            "sync_attributes", .optional = true, .pattern = "\\w+=[^,]+(,\\s*\\w+=[^,]+)*"         \
        ),                                                                                         \
        P_OPT_STR("tfa", .max_length = 128),                                                       \
        API_PARAM_STRING("user_attr", .optional = true, .max_length = 256, .pattern = "\\S{2,}"),  \
        P_OPT_STR("user_classes"), P_OPT_BOOL("verify", API_DEFAULT_INT(0))

static const ApiSchema domains_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_STRING("realm"),
        API_PARAM_STRING("type"),
        API_PARAM_STRING("comment", .optional = true),
        API_PARAM_STRING("tfa", .optional = true, .enum_values = API_ENUM("yubico", "oath"))
    )
));
static const ApiSchema domain_create_params = API_OBJECT(
        .properties = API_PROPERTIES(
            P_REALM,
            P_REALM_OPTIONS,
            API_PARAM_STRING("type", .enum_values = API_ENUM("ad", "ldap", "openid", "pam", "pve"))
        )
);
static const ApiSchema domain_update_params = API_OBJECT(
        .properties = API_PROPERTIES(
            P_REALM,
            P_REALM_OPTIONS,
            API_PARAM_STRING(
                "delete",
                .optional = true,
                .format = "pve-configid-list",
                .max_length = 4096,
                .typetext = "<string>"
            ),
            API_PARAM_STRING("digest", .optional = true, .max_length = 64, .typetext = "<string>")
        )
);
static const ApiSchema domain_params = API_OBJECT(.properties = API_PROPERTIES(P_REALM));
static const ApiSchema domain_get_returns = API_OBJECT(.additional_properties = true);

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

#define CHECK_USERID_PARAM(a) \
    { .kind = API_CHECK_USERID_PARAM, .arg = (a) }
#define CHECK_USERID_GROUP(pv, a) \
    { .kind = API_CHECK_USERID_GROUP, .privs = (pv), .arg = (a) }
#define PERM_CHECK_NODE(k, s) \
    (&(const ApiPermissions   \
    ){.check = &(const ApiPermCheck){.kind = (k), .subs = (s), .n_subs = ELEMENTSOF(s)}})

static const ApiPermCheck create_user_checks[] = {
    CHECK_USERID_PARAM("Realm.AllocateUser"),
    CHECK_USERID_GROUP(API_PRIVS("User.Modify"), "create"),
};
static const ApiPermCheck delete_user_checks[] = {
    CHECK_USERID_PARAM("Realm.AllocateUser"),
    CHECK_USERID_GROUP(API_PRIVS("User.Modify"), NULL),
};
static const ApiPermCheck token_checks[] = {
    CHECK_USERID_PARAM("self"),
    CHECK_USERID_GROUP(API_PRIVS("User.Modify"), NULL),
};
static const ApiPermCheck password_checks[] = {
    CHECK_USERID_PARAM("self"),
    {.kind = API_CHECK_AND, .subs = delete_user_checks, .n_subs = ELEMENTSOF(delete_user_checks)},
};

#define PERM_USER_GET       \
    (&(const ApiPermissions \
    ){.check =              \
          &(const ApiPermCheck) CHECK_USERID_GROUP(API_PRIVS("User.Modify", "Sys.Audit"), NULL)})
#define PERM_USER_UPDATE    \
    (&(const ApiPermissions \
    ){.check = &(const ApiPermCheck) CHECK_USERID_GROUP(API_PRIVS("User.Modify"), "update")})
#define PERM_TOKEN PERM_CHECK_NODE(API_CHECK_OR, token_checks)
#define PERM_GROUP API_PERM_CHECK("/access/groups", API_PRIVS("Group.Allocate"))
#define PERM_ROLE  API_PERM_CHECK("/access", API_PRIVS("Sys.Modify"))
#define PERM_REALM API_PERM_CHECK("/access/realm", API_PRIVS("Realm.Allocate"))

static const ApiMethod methods[] = {
    {.path = "/access",
     .method = API_METHOD_GET,
     .name = "index",
     .description = "Directory index.",
     .parameters = &no_params,
     .returns = &index_returns,
     .permissions = API_PERM_ALL,
     .allowtoken = true,
     .handler = h_index},

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
     .permissions = PERM_CHECK_NODE(API_CHECK_AND, delete_user_checks),
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

    {.path = "/access/domains",
     .method = API_METHOD_GET,
     .name = "index",
     .description = "Authentication domain index.",
     .parameters = &no_params,
     .returns = &domains_returns,
     .permissions = API_PERM_WORLD,
     .allowtoken = true,
     .handler = h_domains_list},
    {.path = "/access/domains",
     .method = API_METHOD_POST,
     .name = "create",
     .description = "Add an authentication server.",
     .parameters = &domain_create_params,
     .returns = &null_returns,
     .permissions = PERM_REALM,
     .protected = true,
     .allowtoken = true,
     .handler = h_domain_create},
    {.path = "/access/domains/{realm}",
     .method = API_METHOD_GET,
     .name = "read",
     .description = "Get auth server configuration.",
     .parameters = &domain_params,
     .returns = &domain_get_returns,
     .permissions = API_PERM_CHECK_ANY("/access/realm", API_PRIVS("Realm.Allocate", "Sys.Audit")),
     .allowtoken = true,
     .handler = h_domain_get},
    {.path = "/access/domains/{realm}",
     .method = API_METHOD_PUT,
     .name = "update",
     .description = "Update authentication server settings.",
     .parameters = &domain_update_params,
     .returns = &null_returns,
     .permissions = PERM_REALM,
     .protected = true,
     .allowtoken = true,
     .handler = h_domain_update},
    {.path = "/access/domains/{realm}",
     .method = API_METHOD_DELETE,
     .name = "delete",
     .description = "Delete an authentication server.",
     .parameters = &domain_params,
     .returns = &null_returns,
     .permissions = PERM_REALM,
     .protected = true,
     .allowtoken = true,
     .handler = h_domain_delete},

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
    return api_router_add(r, methods);
}
