/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-auth: key material, tickets, API tokens, realm passwords (pam, pve) and the method
 * permission descriptors of api.md §2, for every API server.
 */
#include "pve/api-auth.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/api-env.h"
#include "pve/auth-ldap.h"
#include "pve/auth-ticket.h"
#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/section-config.h"
#include "pve/string-util.h"

/* ---- key material --------------------------------------------------------------------------- */

static int cfs_stat(const char *path, struct stat *st) {
    _cleanup_free_ char *full = NULL;
    int r = cfs_file_path(path, &full);
    if (r < 0)
        return r;
    return stat(full, st) < 0 ? -errno : 0;
}

static bool cfs_exists(const char *path) {
    struct stat st;
    return cfs_stat(path, &st) >= 0;
}

static int write_new_keypair(void) {
    _cleanup_erase_free_ char *priv = NULL;
    _cleanup_free_ char *pub = NULL;
    int r = auth_key_generate(&priv, &pub);
    if (r < 0)
        return log_error_errno(r, "Failed to generate the authkey pair: %m");
    r = cfs_file_write(PVE_CFS_AUTHKEY_KEY, priv, strlen(priv));
    if (r < 0)
        return log_error_errno(r, "Failed to write '%s': %m", PVE_CFS_AUTHKEY_KEY);
    r = cfs_file_write(PVE_CFS_AUTHKEY_PUB, pub, strlen(pub));
    if (r < 0)
        return log_error_errno(r, "Failed to write '%s': %m", PVE_CFS_AUTHKEY_PUB);
    return 0;
}

int api_auth_keys_ensure(void) {
    int r;
    _cleanup_free_ char *privdir = NULL;
    r = cfs_file_path("priv", &privdir);
    if (r < 0)
        return r;
    if (mkdir(privdir, 0700) < 0 && errno != EEXIST)
        return -errno;

    if (!cfs_exists(PVE_CFS_AUTHKEY_KEY) || !cfs_exists(PVE_CFS_AUTHKEY_PUB)) {
        r = write_new_keypair();
        if (r < 0)
            return r;
        log_info("generated new authkey pair");
    }

    if (!cfs_exists(PVE_CFS_WWW_KEY)) {
        uint8_t raw[32];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw))
            return log_error_errno(errno ?: EIO, "Failed to get random bytes: %m");
        _cleanup_erase_free_ char *b64 = NULL;
        r = auth_base64_encode(raw, sizeof(raw), true, &b64);
        explicit_bzero(raw, sizeof(raw));
        if (r < 0)
            return r;
        r = cfs_file_write(PVE_CFS_WWW_KEY, b64, strlen(b64));
        if (r < 0)
            return log_error_errno(r, "Failed to write '%s': %m", PVE_CFS_WWW_KEY);
    }
    return 0;
}

static int key_age(int64_t now, int64_t *ret) {
    struct stat st;
    int r = cfs_stat(PVE_CFS_AUTHKEY_PUB, &st);
    if (r < 0)
        return r;
    *ret = now - (int64_t) st.st_mtime;
    return 0;
}

static int rotate_locked(void *userdata) {
    (void) userdata;
    int64_t age = 0;
    int r = key_age(time(NULL), &age);
    if (r < 0 || age < AUTHKEY_LIFETIME)
        return r < 0 ? r : 0; /* somebody else rotated meanwhile */
    _cleanup_free_ char *pub = NULL;
    size_t len = 0;
    r = cfs_file_read(PVE_CFS_AUTHKEY_PUB, &pub, &len);
    if (r < 0)
        return r;
    r = cfs_file_write(PVE_CFS_AUTHKEY_PUB_OLD, pub, len);
    if (r < 0)
        return r;
    r = write_new_keypair();
    if (r >= 0)
        log_info("auth key pair rotated");
    return r;
}

int api_auth_rotate_key(void) {
    int64_t age = 0;
    int r = key_age(time(NULL), &age);
    if (r < 0)
        return r;
    if (age < AUTHKEY_LIFETIME)
        return 0;
    r = cfs_lock_authkey(0, rotate_locked, NULL);
    if (r < 0)
        log_warning_errno(r, "Failed to rotate the auth key: %m");
    return r;
}

/* ---- tickets and tokens --------------------------------------------------------------------- */

/*
 * Verification is the expensive part of every request (an RSA signature check, plus reading the
 * key files through FUSE), so each API worker (single-threaded) keeps:
 *  - the key files, re-read when their stat changes, checked at most once per second;
 *  - the last verified tickets, valid for at most TICKET_CACHE_SEC and never past the ticket's
 *    own window, dropped whenever a key file changes.
 */
#define KEY_RECHECK_SEC   1
#define TICKET_CACHE_SIZE 64
#define TICKET_CACHE_SEC  60

typedef struct KeyFile {
    const char *path;
    char *pem; /* NULL: missing */
    struct stat st;
} KeyFile;

static KeyFile key_pub = {.path = PVE_CFS_AUTHKEY_PUB}, key_old = {.path = PVE_CFS_AUTHKEY_PUB_OLD};
static int64_t keys_checked;     /* time of the last stat */
static uint64_t keys_generation; /* bumped when a key file changes */

static struct {
    char *ticket, *userid;
    int64_t until;
    uint64_t generation;
} ticket_cache[TICKET_CACHE_SIZE];
static unsigned ticket_cache_next;

static bool same_file(const struct stat *a, const struct stat *b) {
    return a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int key_file_refresh(KeyFile *k) {
    struct stat st;
    int r = cfs_stat(k->path, &st);
    if (r == -ENOENT) {
        if (k->pem)
            keys_generation++;
        free(k->pem);
        k->pem = NULL;
        return 0;
    }
    if (r < 0)
        return r;
    if (k->pem && same_file(&st, &k->st))
        return 0;
    char *pem = NULL;
    r = cfs_file_read(k->path, &pem, NULL);
    if (r < 0)
        return r;
    free(k->pem);
    k->pem = pem;
    k->st = st;
    keys_generation++;
    return 0;
}

static int keys_refresh(int64_t now) {
    if (key_pub.pem && now >= keys_checked && now - keys_checked < KEY_RECHECK_SEC)
        return 0;
    int r = key_file_refresh(&key_pub);
    if (r >= 0)
        r = key_file_refresh(&key_old);
    if (r >= 0 && !key_pub.pem)
        r = -ENOENT;
    if (r >= 0)
        keys_checked = now;
    return r;
}

static const char *ticket_cache_lookup(const char *ticket, int64_t now) {
    for (unsigned i = 0; i < TICKET_CACHE_SIZE; i++)
        if (ticket_cache[i].ticket && ticket_cache[i].generation == keys_generation &&
            now < ticket_cache[i].until && streq(ticket_cache[i].ticket, ticket))
            return ticket_cache[i].userid;
    return NULL;
}

static void ticket_cache_add(const char *ticket, const char *userid, int64_t until) {
    char *t = strdup(ticket), *u = strdup(userid);
    if (!t || !u) {
        free(t);
        free(u);
        return;
    }
    unsigned i = ticket_cache_next++ % TICKET_CACHE_SIZE;
    free(ticket_cache[i].ticket);
    free(ticket_cache[i].userid);
    ticket_cache[i].ticket = t;
    ticket_cache[i].userid = u;
    ticket_cache[i].until = until;
    ticket_cache[i].generation = keys_generation;
}

int api_auth_verify_ticket(const char *ticket, char **ret_userid) {
    _cleanup_free_ char *userid = NULL;
    int64_t now = time(NULL), age = 0;
    int r = keys_refresh(now);
    if (r < 0)
        return r;
    const char *hit = ticket_cache_lookup(ticket, now);
    if (hit) {
        *ret_userid = strdup(hit);
        return *ret_userid ? 0 : -ENOMEM;
    }
    TicketKeys keys = {
        .public_pem = key_pub.pem,
        .old_public_pem = key_old.pem,
        .key_age = now - (int64_t) key_pub.st.st_mtime,
    };
    r = ticket_verify(ticket, &keys, now, &userid, &age);
    if (r < 0)
        return r;
    if (!userid_is_valid(userid))
        return -EBADMSG;
    /* valid until the end of the widest window minus what already passed */
    int64_t left = TICKET_LIFETIME - age;
    ticket_cache_add(ticket, userid, now + MIN(left, (int64_t) TICKET_CACHE_SEC));
    *ret_userid = TAKE_PTR(userid);
    return 0;
}

int api_auth_verify_ticket_aad(const char *ticket, const char *aad, char **ret_data) {
    int64_t now = time(NULL);
    int r = keys_refresh(now);
    if (r < 0)
        return r;
    TicketKeys keys = {
        .public_pem = key_pub.pem,
        .old_public_pem = key_old.pem,
        .key_age = now - (int64_t) key_pub.st.st_mtime,
    };
    return ticket_verify_aad(ticket, &keys, aad, now, ret_data, NULL);
}

static int verify_token(const char *tokenid, const char *secret) {
    if (!tokenid_is_valid(tokenid))
        return -EBADMSG;
    _cleanup_free_ char *text = NULL;
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    size_t len = 0;
    int r = cfs_file_read(PVE_CFS_USER_CFG, &text, &len);
    if (r < 0)
        return r;
    r = user_cfg_parse(text, len, &cfg, NULL, NULL);
    if (r < 0)
        return r;
    if (!user_cfg_is_active(cfg, tokenid, time(NULL)))
        return -EACCES;
    _cleanup_erase_free_ char *line = NULL;
    if (asprintf(&line, "%s %s", tokenid, secret) < 0)
        return -ENOMEM;
    r = cfs_ipc_verify_token(line);
    return r < 0 ? -EACCES : 0;
}

int api_auth_request(
    const char *cookie,
    const char *authorization,
    char **ret_id,
    bool *ret_is_token,
    const char **ret_reason
) {
    _cleanup_free_ char *ticket = NULL;
    int r = -ENOENT;

    *ret_is_token = false;
    if (cookie)
        r = auth_cookie_extract(cookie, "PVEAuthCookie", &ticket);
    if (r == -ENOENT && authorization)
        r = auth_cookie_extract(authorization, "PVEAuthCookie", &ticket);
    if (r == -ENOENT && authorization) {
        _cleanup_free_ char *tokenid = NULL;
        _cleanup_erase_free_ char *secret = NULL;
        r = api_token_parse_header(authorization, &tokenid, &secret);
        if (r == -ENOMEM)
            return r;
        if (r != -ENOENT) {
            if (r >= 0)
                r = verify_token(tokenid, secret);
            if (r < 0) {
                *ret_reason = "Authentication failed!";
                return r == -ENOMEM ? r : -EACCES;
            }
            *ret_id = TAKE_PTR(tokenid);
            *ret_is_token = true;
            return 0;
        }
    }
    if (r < 0) {
        *ret_reason = r == -ENOENT ? "No ticket" : "Authentication failed!";
        return r;
    }
    r = api_auth_verify_ticket(ticket, ret_id);
    if (r < 0) {
        *ret_reason = "Authentication failed!";
        return r;
    }
    return 0;
}

/* ---- passwords ------------------------------------------------------------------------------ */

static int pam_conv_password(
    int n, const struct pam_message **msg, struct pam_response **resp, void *appdata
) {
    const char *password = appdata;
    if (n <= 0 || n > PAM_MAX_NUM_MSG)
        return PAM_CONV_ERR;
    struct pam_response *r = calloc((size_t) n, sizeof(*r));
    if (!r)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
            r[i].resp = strdup(password);
            if (!r[i].resp) {
                for (int j = 0; j < i; j++)
                    erase_and_free(r[j].resp);
                free(r);
                return PAM_BUF_ERR;
            }
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

/* In a child, as upstream: PAM modules may leak, block or change process state. */
static int pam_check(const char *user, const char *password, const char *rhost) {
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        pam_handle_t *h = NULL;
        struct pam_conv conv = {pam_conv_password, (void *) password};
        int rc = pam_start(API_AUTH_PAM_SERVICE, user, &conv, &h);
        if (rc == PAM_SUCCESS && rhost)
            rc = pam_set_item(h, PAM_RHOST, rhost);
        if (rc == PAM_SUCCESS)
            rc = pam_authenticate(h, PAM_SILENT);
        if (rc == PAM_SUCCESS)
            rc = pam_acct_mgmt(h, PAM_SILENT);
        if (h)
            pam_end(h, rc);
        _exit(rc == PAM_SUCCESS ? 0 : 1);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EACCES;
}

/* A realm of domains.cfg other than pam and pve: ldap and ad check against their servers;
 * openid cannot log in with a password (it logs in through its own endpoints upstream). */
static int
directory_check(const char *realm, const char *userid, size_t userlen, const char *password) {
    _cleanup_free_ char *text = NULL, *pw = NULL, *pwpath = NULL, *msg = NULL;
    _cleanup_free_ char *user = strndup(userid, userlen);
    _cleanup_(section_config_freep) SectionConfig *domains = NULL;
    size_t len = 0;
    unsigned line = 0;
    if (!user)
        return -ENOMEM;
    int r = cfs_file_read(PVE_CFS_DOMAINS_CFG, &text, &len);
    if (r < 0)
        return r == -ENOENT ? -EACCES : r;
    r = section_config_parse(text, len, 0, &domains, &line, &msg);
    if (r < 0)
        return log_error_errno(-r, "domains.cfg line %u: %s", line, msg ?: "parse error");
    const SectionConfigSection *s = section_config_find(domains, NULL, realm);
    if (!s)
        return -EACCES;
    if (streq(s->type, "ad")) {
        r = auth_ad_check(s, user, password);
        return r == -ENOMEM ? r : r < 0 ? -EACCES : 0;
    }
    if (!streq(s->type, "ldap")) {
        log_notice("realm '%s': password logins for type '%s' are not supported", realm, s->type);
        return -EACCES;
    }
    if (asprintf(&pwpath, "priv/realm/%s.pw", realm) < 0)
        return -ENOMEM;
    r = cfs_file_read(pwpath, &pw, NULL);
    if (r < 0 && r != -ENOENT)
        return r;
    if (pw)
        pw[strcspn(pw, "\n")] = 0;
    r = auth_ldap_check(s, pw, user, password);
    if (pw)
        explicit_bzero(pw, strlen(pw));
    return r == -ENOMEM ? r : r < 0 ? -EACCES : 0;
}

int api_auth_password(const char *userid, const char *password, const char *rhost) {
    const char *at = strrchr(userid, '@');
    if (!at || !userid_is_valid(userid))
        return -EINVAL;
    const char *realm = at + 1;
    if (streq(realm, "pve")) {
        _cleanup_free_ char *text = NULL, *hash = NULL;
        size_t len = 0;
        int r = cfs_file_read(PVE_CFS_SHADOW_CFG, &text, &len);
        if (r < 0)
            return r == -ENOENT ? -EACCES : r;
        r = shadow_cfg_lookup(text, len, userid, &hash);
        if (r < 0)
            return r == -ENOENT ? -EACCES : r;
        r = shadow_password_verify(password, hash);
        return r == -EINVAL ? -EACCES : r;
    }
    if (streq(realm, "pam")) {
        _cleanup_free_ char *user = strndup(userid, (size_t) (at - userid));
        if (!user)
            return -ENOMEM;
        return pam_check(user, password, rhost);
    }
    return directory_check(realm, userid, (size_t) (at - userid), password);
}

/* ---- permission descriptors ----------------------------------------------------------------- */

static int perm_fail(ApiCall *call, const char *path, const char *const *privs, const char *sep) {
    char list[512] = "";
    size_t o = 0;
    for (const char *const *p = privs; p && *p && o < sizeof(list); p++)
        o += (size_t) snprintf(list + o, sizeof(list) - o, "%s%s", p == privs ? "" : sep, *p);
    if (list[0])
        return api_call_fail(call, 403, NULL, "Permission check failed (%s, %s)", path, list);
    return api_call_fail(call, 403, NULL, "Permission check failed (%s)", path);
}

typedef struct CheckCtx {
    ApiCall *call;
    UserCfg *cfg;
    const char *user;
} CheckCtx;

static bool has(CheckCtx *c, const char *path, const char *const *privs, bool any) {
    return user_cfg_check(c->cfg, c->user, path, privs, any) >= 0;
}

/* Groups the user has any of privs on, then whether userid is a member of one of them. */
static bool group_grants(CheckCtx *c, const char *const *privs, const char *groupid) {
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "/access/groups/%s", groupid) < 0)
        return false;
    return has(c, path, privs, true);
}

static int check_userid_group(CheckCtx *c, const ApiPermCheck *chk, bool quiet) {
    const char *const *privs = chk->privs;
    if (has(c, "/access/groups", privs, true))
        return 0;
    const char *mode = chk->arg;
    const json_t *params = c->call->params;
    if (mode) {
        const char *groups = json_string_value(json_object_get(params, "groups"));
        if (!groups || !*groups)
            return quiet ? -EACCES : perm_fail(c->call, "/access/groups", privs, "|");
        _cleanup_free_ char *copy = strdup(groups);
        if (!copy)
            return -ENOMEM;
        char *save = NULL;
        for (char *g = strtok_r(copy, ",; ", &save); g; g = strtok_r(NULL, ",; ", &save))
            if (!group_grants(c, privs, g)) {
                if (quiet)
                    return -EACCES;
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "/access/groups/%s", g) < 0)
                    return -ENOMEM;
                return perm_fail(c->call, p, privs, "|");
            }
    }
    if (!mode || !streq(mode, "create")) {
        const char *userid = json_string_value(json_object_get(params, "userid"));
        bool allowed = false;
        for (size_t i = 0; userid && !allowed && i < user_cfg_n_groups(c->cfg); i++) {
            const UserCfgGroup *g = user_cfg_group_at(c->cfg, i);
            for (size_t j = 0; j < g->n_members && !allowed; j++)
                if (streq(g->members[j], userid) && group_grants(c, privs, g->groupid))
                    allowed = true;
        }
        if (!allowed)
            return quiet ? -EACCES : perm_fail(c->call, "/access/groups", privs, "|");
    }
    return 0;
}

void api_auth_perm_modify_privs(const char *path, const char *privs[static 3]) {
    privs[0] = "Permissions.Modify";
    privs[1] = privs[2] = NULL;
    if (startswith(path, "/storage/") && path[9])
        privs[1] = "Datastore.Allocate";
    else if (startswith(path, "/vms/") && path[5])
        privs[1] = "VM.Allocate";
    else if (startswith(path, "/pool/") && path[6])
        privs[1] = "Pool.Allocate";
    else if (startswith(path, "/mapping/") && strchr(path + 9, '/'))
        privs[1] = "Mapping.Modify";
}

static int check_one(CheckCtx *c, const ApiPermCheck *chk, bool quiet) {
    int r;
    switch (chk->kind) {
    case API_CHECK_PERM: {
        _cleanup_free_ char *path = NULL;
        r = api_perm_expand_path(chk->path, c->call->params, &path);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return quiet ? -EACCES : perm_fail(c->call, chk->path, chk->privs, ",");
        if (has(c, path, chk->privs, chk->any))
            return 0;
        return quiet ? -EACCES : perm_fail(c->call, path, chk->privs, chk->any ? "|" : ",");
    }
    case API_CHECK_AND:
        for (size_t i = 0; i < chk->n_subs; i++) {
            r = check_one(c, &chk->subs[i], quiet);
            if (r < 0)
                return r;
        }
        return 0;
    case API_CHECK_OR:
        for (size_t i = 0; i < chk->n_subs; i++) {
            r = check_one(c, &chk->subs[i], true);
            if (r == 0 || r == -ENOMEM)
                return r;
        }
        return quiet ? -EACCES : api_call_fail(c->call, 403, NULL, "Permission check failed");
    case API_CHECK_USERID_PARAM: {
        const char *userid = json_string_value(json_object_get(c->call->params, "userid"));
        if (!userid)
            return quiet ? -EACCES : perm_fail(c->call, "/access", NULL, "");
        if (streq(chk->arg, "self")) {
            _cleanup_free_ char *owner = NULL;
            r = api_user_owner(c->user, &owner);
            if (r < 0)
                return r;
            if (streq(owner, userid))
                return 0;
            return quiet ? -EACCES
                         : api_call_fail(
                               c->call, 403, NULL, "Permission check failed (user != %s)", userid
                           );
        }
        const char *at = strrchr(userid, '@');
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "/access/realm/%s", at ? at + 1 : "") < 0)
            return -ENOMEM;
        const char *const privs[] = {chk->arg, NULL};
        if (has(c, path, privs, false))
            return 0;
        return quiet ? -EACCES : perm_fail(c->call, path, privs, ",");
    }
    case API_CHECK_USERID_GROUP:
        return check_userid_group(c, chk, quiet);
    case API_CHECK_PERM_MODIFY: {
        _cleanup_free_ char *path = NULL;
        r = api_perm_expand_path(chk->path, c->call->params, &path);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return quiet ? -EACCES : perm_fail(c->call, chk->path, NULL, "");
        const char *privs[3];
        api_auth_perm_modify_privs(path, privs);
        if (has(c, path, privs, true))
            return 0;
        return quiet ? -EACCES : perm_fail(c->call, path, privs, "|");
    }
    default:
        return quiet ? -EACCES : api_call_fail(c->call, 403, NULL, "Permission check failed");
    }
}

int api_auth_check_method(ApiCall *call, UserCfg *cfg, bool is_token) {
    const char *user = api_user(call);
    ApiPermUser pu;
    const ApiPermCheck *chk;
    api_method_permissions(call->method, &pu, &chk);

    if (pu == API_PERM_USER_WORLD)
        return 0;
    if (is_token && !call->method->allowtoken)
        return api_call_fail(
            call, 403, NULL,
            "Permission check failed (URI '%s' not available with API token, need proper ticket.)",
            call->method->path
        );
    if (streq(user, "root@pam"))
        return 0;
    if (!chk) {
        if (pu == API_PERM_USER_ALL)
            return 0;
        return api_call_fail(call, 403, NULL, "Permission check failed (user != root@pam)");
    }

    _cleanup_(user_cfg_freep) UserCfg *own = NULL;
    if (!cfg) {
        int r = api_load_user_cfg(call, &own);
        if (r < 0)
            return r;
        cfg = own;
    }
    CheckCtx c = {.call = call, .cfg = cfg, .user = user};
    return check_one(&c, chk, false);
}

int api_auth_caps(const UserCfg *cfg, const char *userid, json_t *cap) {
    static const struct {
        const char *key, *path;
    } groups[] = {
        {"vms", "/vms"}, {"access", "/access"}, {"storage", "/storage"}, {"nodes", "/nodes"},
        {"sdn", "/sdn"}, {"dc", "/"},           {"mapping", "/mapping"},
    };
    for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
        PrivSet privs = 0;
        json_t *o = json_object();
        if (!o)
            return -ENOMEM;
        (void) user_cfg_permissions(cfg, userid, groups[i].path, &privs);
        for (unsigned b = 0; b < PRIV_COUNT; b++) {
            const char *n = priv_name(b);
            if (n && (privs & ((PrivSet) 1 << b)) && json_object_set_new(o, n, json_integer(1)) < 0)
                return json_decref(o), -ENOMEM;
        }
        if (json_object_set_new(cap, groups[i].key, o) < 0)
            return -ENOMEM;
    }
    return 0;
}
