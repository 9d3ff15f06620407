/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-access-realms: /access/domains: the realms of domains.cfg (pam and pve always exist) with
 * the options of each realm type, upstream's write order of the options, and the ldap/ad bind
 * passwords in priv/realm/<realm>.pw; also the loading of domains.cfg the other /access files
 * use.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api-access.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/cfs-file.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/section-config.h"
#include "pve/string-util.h"

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
int access_domains_load(ApiCall *call, SectionConfig **ret, char *ret_digest) {
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
const char *access_realm_type_of(const SectionConfig *domains, const char *userid) {
    const char *at = userid ? strrchr(userid, '@') : NULL;
    const SectionConfigSection *s = at ? section_config_find(domains, NULL, at + 1) : NULL;
    return s ? s->type : NULL;
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
    return access_edit_file(call, PVE_CFS_DOMAINS_CFG, errprefix, domains_edit_locked, &e);
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

const char *
access_realm_tfa_type(const SectionConfig *domains, const char *userid, char buf[static 16]) {
    const char *at = userid ? strrchr(userid, '@') : NULL;
    const SectionConfigSection *s = at ? section_config_find(domains, NULL, at + 1) : NULL;
    const char *tfa = s ? section_config_get(s, "tfa") : NULL;
    return tfa ? tfa_type(tfa, buf) : NULL;
}

static int check_tfa_param(ApiCall *call) {
    const char *tfa = param_str(call, "tfa");
    char buf[16];
    if (!tfa)
        return 0;
    const char *t = tfa_type(tfa, buf);
    if (!t || (!streq(t, "oath") && !streq(t, "yubico")))
        return access_fail_param(call, "tfa", "invalid format - unknown TFA type in '%s'", tfa);
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
            return access_fail_param(call, key, "unexpected property '%s'", key);
    }
    for (size_t i = 0; create && i < ELEMENTSOF(realm_opts); i++)
        if ((realm_opts[i].required & type) && !param(call, realm_opts[i].key))
            return access_fail_param(
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
        const char *val = access_value_str(v, buf);
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
            return access_fail_param(call, key, "invalid value '%s'", val);
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
        return access_fail_param(call, "realm", "invalid realm '%s'", realm);
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
    int r = access_domains_load(call, &c, NULL);
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
    return access_set_result_or_oom(call, res, r);
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
    int r = access_domains_load(call, &c, digest);
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
    return access_set_result_or_oom(call, o, r);
}

/* ---- schemas -------------------------------------------------------------------------------- */

#define P_REALM                                                                   \
    API_PARAM_STRING(                                                             \
        "realm", .format = "pve-realm", .max_length = 32, .typetext = "<string>", \
        .description = "Authentication domain ID"                                 \
    )

static const ApiSchema no_params = API_OBJECT(.properties = NULL);
static const ApiSchema null_returns = API_SCALAR(API_TYPE_NULL);

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

/* ---- permissions and the method table ------------------------------------------------------- */

#define PERM_REALM API_PERM_CHECK("/access/realm", API_PRIVS("Realm.Allocate"))

static const ApiMethod methods[] = {
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
};

int api_access_realms_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
