/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvedaemon-server: key setup, the API method tables (/access/ticket, /version, /nodes), ticket
 * authentication per api.md §2.2, permission checks via user.cfg and the request pipeline
 * (resolve -> auth -> permission -> run -> envelope). Every 401 is answered from an sd-event
 * timer so the request takes at least 3 s; the loop never sleeps.
 */
#include "pvedaemon-server.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/auth-ticket.h"
#include "pve/cfs-file.h"
#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/string-util.h"
#include "pve/user-cfg.h"

#define AUTHKEY_PRIV "priv/authkey.key"
#define AUTHKEY_PUB  "authkey.pub"
#define AUTHKEY_OLD  "authkey.pub.old"
#define WWW_KEY      "pve-www.key"
#define SHADOW_CFG   "priv/shadow.cfg"
#define USER_CFG     "user.cfg"
#define JSON_CT      "application/json;charset=UTF-8"

static void free_secret(char *p) {
    if (p) {
        explicit_bzero(p, strlen(p));
        free(p);
    }
}
static inline void free_secretp(char **p) {
    free_secret(*p);
}

static bool cfs_exists(const char *path) {
    _cleanup_free_ char *full = NULL;
    if (cfs_file_path(path, &full) < 0)
        return false;
    return access(full, F_OK) == 0;
}

int pd_keys_ensure(void) {
    int r;

    _cleanup_free_ char *privdir = NULL;
    r = cfs_file_path("priv", &privdir);
    if (r < 0)
        return r;
    if (mkdir(privdir, 0700) < 0 && errno != EEXIST)
        return -errno;

    if (!cfs_exists(AUTHKEY_PRIV) || !cfs_exists(AUTHKEY_PUB)) {
        _cleanup_(free_secretp) char *priv = NULL;
        _cleanup_free_ char *pub = NULL;
        r = auth_key_generate(&priv, &pub);
        if (r < 0)
            return log_error_errno(r, "Failed to generate the authkey pair: %m");
        r = cfs_file_write(AUTHKEY_PRIV, priv, strlen(priv));
        if (r < 0)
            return log_error_errno(r, "Failed to write '%s': %m", AUTHKEY_PRIV);
        r = cfs_file_write(AUTHKEY_PUB, pub, strlen(pub));
        if (r < 0)
            return log_error_errno(r, "Failed to write '%s': %m", AUTHKEY_PUB);
        log_info("generated new authkey pair");
    }

    if (!cfs_exists(WWW_KEY)) {
        uint8_t raw[32];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw))
            return log_error_errno(errno ?: EIO, "Failed to get random bytes: %m");
        _cleanup_(free_secretp) char *b64 = NULL;
        r = auth_base64_encode(raw, sizeof(raw), true, &b64);
        explicit_bzero(raw, sizeof(raw));
        if (r < 0)
            return r;
        r = cfs_file_write(WWW_KEY, b64, strlen(b64));
        if (r < 0)
            return log_error_errno(r, "Failed to write '%s': %m", WWW_KEY);
    }
    return 0;
}

/* ---- helpers over the mount ---------------------------------------------------------------- */

static int load_user_cfg(UserCfg **ret) {
    _cleanup_free_ char *text = NULL, *msg = NULL;
    size_t len = 0;
    unsigned line = 0;
    int r = cfs_file_read(USER_CFG, &text, &len);
    if (r == -ENOENT)
        return user_cfg_parse("", 0, ret, NULL, NULL);
    if (r < 0)
        return r;
    r = user_cfg_parse(text, len, ret, &line, &msg);
    if (r < 0) {
        log_warning("user.cfg line %u: %s", line, msg ?: "parse error");
        return r;
    }
    const char *const *warnings = NULL;
    size_t n = user_cfg_warnings(*ret, &warnings);
    for (size_t i = 0; i < n; i++) /* read per request: debug, not a warning flood */
        log_debug("user.cfg %s", warnings[i]);
    return r;
}

static int key_age(const char *path, int64_t now, int64_t *ret) {
    _cleanup_free_ char *full = NULL;
    struct stat st;
    int r = cfs_file_path(path, &full);
    if (r < 0)
        return r;
    if (stat(full, &st) < 0)
        return -errno;
    *ret = now - (int64_t) st.st_mtime;
    return 0;
}

/* Verify a ticket against authkey.pub (and .old); returns the userid. */
static int verify_ticket(const char *ticket, char **ret_userid) {
    _cleanup_free_ char *pub = NULL, *old = NULL;
    int64_t now = time(NULL), age = 0;
    int r = cfs_file_read(AUTHKEY_PUB, &pub, NULL);
    if (r < 0)
        return r;
    (void) cfs_file_read(AUTHKEY_OLD, &old, NULL);
    r = key_age(AUTHKEY_PUB, now, &age);
    if (r < 0)
        return r;
    TicketKeys keys = {.public_pem = pub, .old_public_pem = old, .key_age = age};
    _cleanup_free_ char *userid = NULL;
    r = ticket_verify(ticket, &keys, now, &userid, NULL);
    if (r < 0)
        return r;
    if (!userid_is_valid(userid))
        return -EBADMSG;
    *ret_userid = TAKE_PTR(userid);
    return 0;
}

/* ---- API handlers ---------------------------------------------------------------------------- */

static int check_password(const char *userid, const char *password) {
    const char *realm = strrchr(userid, '@');
    if (!realm)
        return -EINVAL;
    realm++;
    if (streq(realm, "pve")) {
        _cleanup_free_ char *text = NULL, *hash = NULL;
        size_t len = 0;
        int r = cfs_file_read(SHADOW_CFG, &text, &len);
        if (r < 0)
            return r;
        r = shadow_cfg_lookup(text, len, userid, &hash);
        if (r < 0)
            return r;
        return shadow_password_verify(password, hash);
    }
    /* TODO: pam (and other realms) not implemented yet: always a failure. */
    return -EACCES;
}

static int add_caps(json_t *cap, const UserCfg *cfg, const char *userid) {
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
        for (unsigned b = 0; b < 64; b++) {
            const char *n = priv_name(b);
            if (n && (privs & ((PrivSet) 1 << b)) && json_util_set_int(o, n, 1) < 0)
                return json_decref(o), -ENOMEM;
        }
        if (json_util_set_new(cap, groups[i].key, o) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int h_ticket(ApiCall *call) {
    const char *username = NULL, *password = NULL, *realm = NULL;
    _cleanup_free_ char *userid = NULL;
    int r;

    (void) api_call_param_string(call, "username", &username);
    (void) api_call_param_string(call, "password", &password);
    (void) api_call_param_string(call, "realm", &realm);
    if (!username || !password)
        return api_call_fail(call, 401, NULL, "authentication failure");

    if (realm && !strchr(username, '@'))
        r = asprintf(&userid, "%s@%s", username, realm) < 0 ? -ENOMEM : 0;
    else
        r = (userid = strdup(username)) ? 0 : -ENOMEM;
    if (r < 0)
        return r;

    bool ok = false;
    if (userid_is_valid(userid)) {
        if (startswith(password, "PVE:")) {
            _cleanup_free_ char *tuser = NULL;
            if (verify_ticket(password, &tuser) >= 0 &&
                (streq(tuser, userid) || streq(tuser, "root@pam")))
                ok = true;
        } else if (check_password(userid, password) >= 0)
            ok = true;
    }

    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    if (ok && load_user_cfg(&cfg) < 0)
        ok = false;
    if (ok && !streq(userid, "root@pam") && !user_cfg_is_active(cfg, userid, time(NULL)))
        ok = false;
    if (!ok) {
        log_notice("authentication failure; rhost=<local> user=%s msg=", userid);
        return api_call_fail(call, 401, NULL, "authentication failure");
    }

    _cleanup_(free_secretp) char *priv = NULL;
    _cleanup_free_ char *ticket = NULL, *www = NULL;
    size_t www_len = 0;
    char csrf[CSRF_TOKEN_LEN + 1];
    int64_t now = time(NULL);
    r = cfs_file_read(AUTHKEY_PRIV, &priv, NULL);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to read authkey: %s", strerror(-r));
    r = ticket_create(priv, userid, now, TICKET_HASH_SHA1, &ticket);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to create ticket: %s", strerror(-r));
    r = cfs_file_read(WWW_KEY, &www, &www_len);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to read www key: %s", strerror(-r));
    r = csrf_token_create(www, www_len, userid, now, csrf);
    explicit_bzero(www, www_len);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to create CSRF token: %s", strerror(-r));

    json_t *o = json_object(), *cap = json_object();
    if (!o || !cap || json_util_set_new(o, "cap", cap) < 0) {
        json_decref(o);
        return -ENOMEM;
    }
    if (json_util_set_string(o, "username", userid) < 0 ||
        json_util_set_string(o, "ticket", ticket) < 0 ||
        json_util_set_string(o, "CSRFPreventionToken", csrf) < 0 ||
        add_caps(cap, cfg, userid) < 0) {
        json_decref(o);
        return -ENOMEM;
    }
    log_info("successful auth for user '%s'", userid);
    return api_call_set_result(call, o);
}

static int h_version(ApiCall *call) {
    json_t *o = json_object();
    if (!o || json_util_set_string(o, "version", PVEDAEMON_VERSION) < 0 ||
        json_util_set_string(o, "release", PVEDAEMON_VERSION) < 0 ||
        json_util_set_string(o, "repoid", "pve-c") < 0)
        return json_decref(o), -ENOMEM;
    return api_call_set_result(call, o);
}

static int h_nodes(ApiCall *call) {
    PdServer *s = call->userdata;
    json_t *a = json_array(), *o = json_object();
    if (!a || !o || json_util_append_new(a, o) < 0) {
        json_decref(a);
        json_decref(o);
        return -ENOMEM;
    }
    if (json_util_set_string(o, "node", s->nodename) < 0 ||
        json_util_set_string(o, "status", "online") < 0 ||
        json_util_set_string(o, "type", "node") < 0)
        return json_decref(a), -ENOMEM;
    _cleanup_free_ char *id = NULL;
    if (asprintf(&id, "node/%s", s->nodename) < 0 || json_util_set_string(o, "id", id) < 0)
        return json_decref(a), -ENOMEM;
    return api_call_set_result(call, a);
}

static const ApiSchema ticket_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("username", .max_length = 64),
            API_PARAM_STRING("password"),
            API_PARAM_STRING("realm", .optional = true, .max_length = 32),
            API_PARAM_STRING("otp", .optional = true),
            API_PARAM_STRING("tfa-challenge", .optional = true),
            API_PARAM_BOOL("new-format", .optional = true),
            API_PARAM_STRING("path", .optional = true, .max_length = 64),
            API_PARAM_STRING("privs", .optional = true, .max_length = 64)
        )
);

static const ApiMethod methods[] = {
    {
        .path = "/access/ticket",
        .method = API_METHOD_POST,
        .name = "create_ticket",
        .parameters = &ticket_params,
        .permissions = API_PERM_WORLD,
        .protected = true,
        .handler = h_ticket,
    },
    {
        .path = "/version",
        .method = API_METHOD_GET,
        .name = "version",
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = h_version,
    },
    {
        .path = "/nodes",
        .method = API_METHOD_GET,
        .name = "index",
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = h_nodes,
    },
};

/* ---- request pipeline ----------------------------------------------------------------------- */

typedef struct Delayed {
    HttpRequest *req;
    sd_event_source *timer;
    unsigned status;
    char *reason;
    char *body;
    size_t len;
} Delayed;

static Delayed *delayed_free(Delayed *d) {
    if (!d)
        return NULL;
    sd_event_source_disable_unref(d->timer);
    free(d->reason);
    free(d->body);
    free(d);
    return NULL;
}

static void delayed_abort(HttpRequest *req, void *userdata) {
    (void) req;
    delayed_free(userdata);
}

static int delayed_fire(sd_event_source *src, uint64_t usec, void *userdata) {
    Delayed *d = userdata;
    (void) src;
    (void) usec;
    http_request_set_userdata(d->req, NULL, NULL);
    int r = http_reply(
        d->req, d->status, d->reason, d->body ? JSON_CT : NULL, d->body ?: "", d->len, NULL
    );
    if (r == -EINVAL || r == -ENOMEM)
        (void) http_reply_status(d->req, 500, NULL);
    delayed_free(d);
    return 0;
}

/* Answer (possibly delayed for 401). body NULL = empty. */
static void reply(
    PdServer *s,
    HttpRequest *req,
    uint64_t start,
    unsigned status,
    const char *reason,
    const char *body,
    size_t len
) {
    if (status == 401) {
        Delayed *d = calloc(1, sizeof(*d));
        if (!d)
            goto now;
        d->req = req;
        d->status = status;
        d->reason = reason ? strdup(reason) : NULL;
        d->body = body ? strndup(body, len) : NULL;
        d->len = body ? len : 0;
        if ((reason && !d->reason) || (body && !d->body) ||
            sd_event_add_time(
                s->event, &d->timer, CLOCK_MONOTONIC, start + PD_AUTH_FAIL_DELAY_USEC, 0,
                delayed_fire, d
            ) < 0 ||
            http_request_suspend(req) < 0) {
            delayed_free(d);
            goto now;
        }
        http_request_set_userdata(req, d, delayed_abort);
        return;
    }
now:;
    int r =
        http_reply(req, status, reason, body ? JSON_CT : NULL, body ?: "", body ? len : 0, NULL);
    if (r == -EINVAL || r == -ENOMEM)
        (void) http_reply_status(req, 500, NULL);
}

static void reply_call(PdServer *s, HttpRequest *req, uint64_t start, ApiCall *call, ApiFormat f) {
    ApiResponse resp = {};
    if (api_call_format(call, f, &resp) < 0) {
        reply(s, req, start, 500, NULL, NULL, 0);
        return;
    }
    /* extjs answers 200 but failed logins still wait */
    uint64_t delay_status = (call->status == 401) ? 401 : (unsigned) resp.status;
    if (delay_status == 401 && resp.status != 401) {
        /* extjs: delay via the 401 path but keep the 200 status */
        reply(s, req, start, 401, resp.reason, resp.body, resp.body_len);
        Delayed *d = http_request_get_userdata(req);
        if (d)
            d->status = resp.status;
    } else
        reply(s, req, start, resp.status, resp.reason, resp.body, resp.body_len);
    api_response_done(&resp);
}

/* Authenticate: ticket cookie or Authorization header. 0 + userid or negative errno. */
static int authenticate(HttpRequest *req, char **ret_userid, const char **ret_reason) {
    _cleanup_free_ char *ticket = NULL;
    const char *cookie = http_request_header(req, "Cookie");
    const char *authz = http_request_header(req, "Authorization");
    int r = -ENOENT;

    if (cookie)
        r = auth_cookie_extract(cookie, "PVEAuthCookie", &ticket);
    if (r == -ENOENT && authz)
        r = auth_cookie_extract(authz, "PVEAuthCookie", &ticket);
    if (r == -ENOENT && authz) {
        _cleanup_free_ char *tid = NULL;
        _cleanup_(free_secretp) char *secret = NULL;
        if (api_token_parse_header(authz, &tid, &secret) != -ENOENT) {
            /* TODO: API tokens need pmxcfs VERIFY_TOKEN; not implemented yet */
            *ret_reason = "Authentication failed!";
            return -EACCES;
        }
    }
    if (r < 0) {
        *ret_reason = "No ticket";
        return r;
    }
    r = verify_ticket(ticket, ret_userid);
    if (r < 0) {
        *ret_reason = "Authentication failed!";
        return r;
    }
    return 0;
}

static int check_permissions(ApiCall *call, const char *userid) {
    ApiPermUser pu;
    const ApiPermCheck *chk;
    api_method_permissions(call->method, &pu, &chk);
    if (streq(userid, "root@pam"))
        return 0;
    if (!chk) {
        if (pu == API_PERM_USER_ALL || pu == API_PERM_USER_WORLD)
            return 0;
        return api_call_fail(call, 403, NULL, "Permission check failed (user != root@pam)");
    }
    if (chk->kind != API_CHECK_PERM)
        return api_call_fail(call, 403, NULL, "Permission check failed (unsupported check)");

    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    _cleanup_free_ char *path = NULL;
    int r = load_user_cfg(&cfg);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to parse user.cfg");
    r = api_perm_expand_path(chk->path, call->params, &path);
    if (r < 0)
        return api_call_fail(call, 403, NULL, "Permission check failed (%s)", chk->path);
    r = user_cfg_check(cfg, userid, path, chk->privs, chk->any);
    if (r < 0)
        return api_call_fail(
            call, 403, NULL, "Permission check failed (%s, %s)", path,
            chk->privs && chk->privs[0] ? chk->privs[0] : "?"
        );
    return 0;
}

static void handle(HttpRequest *req, void *userdata) {
    PdServer *s = userdata;
    uint64_t start = 0;
    (void) sd_event_now(s->event, CLOCK_MONOTONIC, &start);

    const char *path = http_request_path(req);
    const char *rest = startswith(path, "/api2/");
    if (!rest) {
        reply(s, req, start, 501, "no such uri", NULL, 0);
        return;
    }
    size_t n = strcspn(rest, "/");
    _cleanup_free_ char *fmt = strndup(rest, n);
    if (!fmt) {
        reply(s, req, start, 500, NULL, NULL, 0);
        return;
    }
    ApiFormat f = api_format_from_string(fmt);
    if (f < 0) {
        reply(s, req, start, 501, "no such uri", NULL, 0);
        return;
    }
    rest += n;

    ApiHttpMethod m = api_http_method_from_string(http_method_to_string(http_request_method(req)));
    _cleanup_(api_call_done) ApiCall call = API_CALL_INIT;
    _cleanup_free_ char *userid = NULL;
    call.userdata = s;

    if (m < 0) {
        reply(s, req, start, 501, "method not available", NULL, 0);
        return;
    }
    if (api_router_resolve(s->router, m, rest, http_request_params(req), &call) < 0) {
        reply_call(s, req, start, &call, f);
        return;
    }

    ApiPermUser pu;
    const ApiPermCheck *chk;
    api_method_permissions(call.method, &pu, &chk);
    if (pu != API_PERM_USER_WORLD) {
        const char *reason = NULL;
        if (authenticate(req, &userid, &reason) < 0) {
            reply(s, req, start, 401, reason, NULL, 0);
            return;
        }
        call.user = userid;
        if (check_permissions(&call, userid) < 0) {
            reply_call(s, req, start, &call, f);
            return;
        }
    }

    (void) api_call_run(&call);
    reply_call(s, req, start, &call, f);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int pd_server_init(PdServer *s) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) < 0)
        return -errno;
    host[strcspn(host, ".")] = 0;
    s->nodename = strdup(host);
    if (!s->nodename)
        return -ENOMEM;
    s->router = api_router_new();
    if (!s->router)
        return -ENOMEM;
    return api_router_add(s->router, methods);
}

int pd_server_start(PdServer *s, sd_event *e) {
    HttpServerConfig cfg = HTTP_SERVER_CONFIG_INIT;
    cfg.address = s->address;
    cfg.port = s->port;
    cfg.handler = handle;
    cfg.userdata = s;
    s->event = sd_event_ref(e);
    return http_server_new(e, &cfg, &s->http);
}

void pd_server_done(PdServer *s) {
    s->http = http_server_free(s->http);
    s->router = api_router_free(s->router);
    s->event = sd_event_unref(s->event);
    free(s->nodename);
    s->nodename = NULL;
}
