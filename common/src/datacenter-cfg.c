/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * datacenter-cfg: /etc/pve/datacenter.cfg model (see datacenter-cfg.h): the option table with
 * the property-string formats, the lenient parser, the canonical printer and the GET shape.
 */
#include "pve/datacenter-cfg.h"

#include <arpa/inet.h>

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/strbuf.h"
#include "pve/string-util.h"
#include "pve/ui-enums.h"

/* ---- formats ----------------------------------------------------------------------------------
 */

#define F_STR(k, ...) \
    { .key = (k), .type = PROPERTY_STRING_TYPE_STRING, __VA_ARGS__ }
#define F_BOOL(k) \
    { .key = (k), .type = PROPERTY_STRING_TYPE_BOOLEAN }
#define F_ENUM(k, ...) \
    { .key = (k), .type = PROPERTY_STRING_TYPE_ENUM, __VA_ARGS__ }
#define F_NUM0(k) \
    { .key = (k), .type = PROPERTY_STRING_TYPE_NUMBER, .has_min = true, .min = 0 }
#define VALUES(...) .enum_values = ((const char *const[]){__VA_ARGS__, NULL})

const PropertyStringField datacenter_cfg_migration_fields[2] = {
    F_ENUM("type", VALUES("secure", "insecure"), .default_key = true, .required = true),
    F_STR("network"),
};
const PropertyStringField datacenter_cfg_ha_fields[1] = {
    F_ENUM(
        "shutdown_policy", VALUES("freeze", "failover", "conditional", "migrate"), .required = true
    ),
};
const PropertyStringField datacenter_cfg_crs_fields[7] = {
    F_ENUM("ha", VALUES("basic", "static", "dynamic")),
    F_BOOL("ha-auto-rebalance"),
    F_NUM0("ha-auto-rebalance-hold-duration"),
    F_NUM0("ha-auto-rebalance-margin"),
    F_ENUM("ha-auto-rebalance-method", VALUES("bruteforce", "topsis")),
    F_NUM0("ha-auto-rebalance-threshold"),
    F_BOOL("ha-rebalance-on-start"),
};
const PropertyStringField datacenter_cfg_next_id_fields[2] = {
    {.key = "lower",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .has_min = true,
     .min = DATACENTER_NEXTID_LOWER,
     .has_max = true,
     .max = DATACENTER_NEXTID_MAX_LOW},
    {.key = "upper",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .has_min = true,
     .min = DATACENTER_NEXTID_LOWER,
     .has_max = true,
     .max = DATACENTER_NEXTID_MAX_UP},
};
const PropertyStringField datacenter_cfg_bwlimit_fields[5] = {
    F_NUM0("clone"), F_NUM0("default"), F_NUM0("migration"), F_NUM0("move"), F_NUM0("restore"),
};
const PropertyStringField datacenter_cfg_u2f_fields[2] = {F_STR("appid"), F_STR("origin")};
const PropertyStringField datacenter_cfg_webauthn_fields[4] = {
    F_BOOL("allow-subdomains"),
    F_STR("id"),
    F_STR("origin"),
    F_STR("rp"),
};
const PropertyStringField datacenter_cfg_tag_style_fields[4] = {
    F_BOOL("case-sensitive"),
    F_STR("color-map"),
    F_ENUM("ordering", VALUES("config", "alphabetical")),
    F_ENUM("shape", VALUES("full", "circle", "dense", "none")),
};
const PropertyStringField datacenter_cfg_user_tag_access_fields[2] = {
    F_ENUM("user-allow", VALUES("none", "list", "existing", "free")),
    F_STR("user-allow-list"),
};
const PropertyStringField datacenter_cfg_notify_fields[6] = {
    F_ENUM("fencing", VALUES("always", "never")),
    F_ENUM("package-updates", VALUES("auto", "always", "never")),
    F_ENUM("replication", VALUES("always", "never")),
    F_STR("target-fencing"),
    F_STR("target-package-updates"),
    F_STR("target-replication"),
};

/* ---- option table -----------------------------------------------------------------------------
 */

#define RE_TAG "[a-zA-Z0-9_][a-zA-Z0-9_+.-]*"

typedef enum KeyKind {
    KIND_STRING,
    KIND_ENUM,
    KIND_INTEGER,
    KIND_BOOLEAN,
    KIND_PROPSTR,
} KeyKind;

typedef struct KeyDef {
    const char *key;
    KeyKind kind;
    const char *const *enum_values;
    const PropertyStringField *fields;
    size_t n_fields;
    const char *pattern; /* ERE, anchored here */
    const char *pattern_msg;
    unsigned max_length;
    int (*extra)(const PropertyString *ps, char **reterr_msg); /* PROPSTR */
} KeyDef;

static int check_cidr_network(const PropertyString *ps, char **reterr_msg);
static int check_crs(const PropertyString *ps, char **reterr_msg);
static int check_tag_style(const PropertyString *ps, char **reterr_msg);
static int check_user_tag_access(const PropertyString *ps, char **reterr_msg);

#define PROPSTR(t) .kind = KIND_PROPSTR, .fields = (t), .n_fields = ELEMENTSOF(t)

/* sorted by key */
static const KeyDef keys[] = {
    {"bwlimit", PROPSTR(datacenter_cfg_bwlimit_fields)},
    {"consent-text", KIND_STRING, .max_length = DATACENTER_CFG_TEXT_MAX},
    {"console", KIND_ENUM, VALUES("applet", "vv", "html5", "xtermjs")},
    {"crs", PROPSTR(datacenter_cfg_crs_fields), .extra = check_crs},
    {"description", KIND_STRING, .max_length = DATACENTER_CFG_TEXT_MAX},
    {"email_from", KIND_STRING,
     .pattern = "([A-Za-z0-9_+~-]+(\\.[A-Za-z0-9_+~-]+)*@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*)?",
     .pattern_msg = "value does not look like a valid email address"},
    {"fencing", KIND_ENUM, VALUES("watchdog", "hardware", "both")},
    {"ha", PROPSTR(datacenter_cfg_ha_fields)},
    {"http_proxy", KIND_STRING, .pattern = "http://.*"},
    {"keyboard", KIND_ENUM, VALUES(PVE_KEYBOARD_LAYOUTS)},
    {"language", KIND_ENUM, VALUES(PVE_UI_LANGUAGES)},
    {"mac_prefix", KIND_STRING, .pattern = "[a-fA-F0-9][02468aceACE](:[a-fA-F0-9]{2}){0,2}:?",
     .pattern_msg = "value is not a valid unicast MAC address prefix"},
    {"max_workers", KIND_INTEGER},
    {"migration", PROPSTR(datacenter_cfg_migration_fields), .extra = check_cidr_network},
    {"migration_unsecure", KIND_BOOLEAN},
    {"next-id", PROPSTR(datacenter_cfg_next_id_fields)},
    {"notify", PROPSTR(datacenter_cfg_notify_fields)},
    {"registered-tags", KIND_STRING, .pattern = RE_TAG "(;" RE_TAG ")*"},
    {"replication", PROPSTR(datacenter_cfg_migration_fields), .extra = check_cidr_network},
    {"tag-style", PROPSTR(datacenter_cfg_tag_style_fields), .extra = check_tag_style},
    {"u2f", PROPSTR(datacenter_cfg_u2f_fields)},
    {"user-tag-access", PROPSTR(datacenter_cfg_user_tag_access_fields),
     .extra = check_user_tag_access},
    {"webauthn", PROPSTR(datacenter_cfg_webauthn_fields)},
};

static const KeyDef *key_find(const char *key) {
    for (size_t i = 0; i < ELEMENTSOF(keys); i++)
        if (streq(keys[i].key, key))
            return &keys[i];
    return NULL;
}

bool datacenter_cfg_key_is_known(const char *key) {
    return key && key_find(key);
}

bool datacenter_cfg_key_is_property_string(const char *key) {
    const KeyDef *d = key ? key_find(key) : NULL;
    return d && d->kind == KIND_PROPSTR;
}

/* ---- checks -----------------------------------------------------------------------------------
 */

static int fail(char **reterr_msg, const char *fmt, ...) _printf_(2, 3);
static int fail(char **reterr_msg, const char *fmt, ...) {
    if (reterr_msg) {
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(reterr_msg, fmt, ap);
        va_end(ap);
        if (k < 0) {
            *reterr_msg = NULL;
            return -ENOMEM;
        }
    }
    return -EINVAL;
}

/* whole-string match of an ERE; -ENOMEM/-EINVAL on a bad pattern (a bug) */
static int ere_full_match(const char *ere, const char *s) {
    _cleanup_free_ char *anchored = NULL;
    if (asprintf(&anchored, "^(%s)$", ere) < 0)
        return -ENOMEM;
    regex_t re;
    if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0)
        return -EINVAL;
    int k = regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    return k == 0;
}

static int check_pattern(const char *key, const char *ere, const char *v, char **reterr_msg) {
    int k = ere_full_match(ere, v);
    if (k < 0)
        return k;
    if (k)
        return 0;
    return fail(reterr_msg, "%s: value does not match the regex pattern", key);
}

static bool cidr_valid(const char *v) {
    const char *slash = strchr(v, '/');
    if (!slash || slash == v)
        return false;
    _cleanup_free_ char *addr = strndup(v, (size_t) (slash - v));
    unsigned bits;
    if (!addr || safe_atou32(slash + 1, &bits) < 0)
        return false;
    unsigned char buf[16];
    if (inet_pton(AF_INET, addr, buf) == 1)
        return bits <= 32;
    if (inet_pton(AF_INET6, addr, buf) == 1)
        return bits <= 128;
    return false;
}

static int check_cidr_network(const PropertyString *ps, char **reterr_msg) {
    const char *net = property_string_get(ps, "network");
    if (net && !cidr_valid(net))
        return fail(
            reterr_msg, "network: invalid format - value does not look like a valid CIDR network"
        );
    return 0;
}

static int check_crs(const PropertyString *ps, char **reterr_msg) {
    static const char *const dependent[] = {
        "ha-auto-rebalance-hold-duration",
        "ha-auto-rebalance-margin",
        "ha-auto-rebalance-method",
        "ha-auto-rebalance-threshold",
    };
    if (property_string_get(ps, "ha-auto-rebalance"))
        return 0;
    for (size_t i = 0; i < ELEMENTSOF(dependent); i++)
        if (property_string_get(ps, dependent[i]))
            return fail(
                reterr_msg, "%s: missing property - '%s' requires another property", dependent[i],
                "ha-auto-rebalance"
            );
    return 0;
}

static int check_tag_style(const PropertyString *ps, char **reterr_msg) {
    const char *map = property_string_get(ps, "color-map");
    if (!map)
        return 0;
#define RE_COLOR RE_TAG ":[0-9a-fA-F]{6}(:[0-9a-fA-F]{6})?"
    return check_pattern("color-map", RE_COLOR "(;" RE_COLOR ")*", map, reterr_msg);
#undef RE_COLOR
}

static int check_user_tag_access(const PropertyString *ps, char **reterr_msg) {
    const char *list = property_string_get(ps, "user-allow-list");
    if (!list)
        return 0;
    return check_pattern("user-allow-list", RE_TAG "(;" RE_TAG ")*", list, reterr_msg);
}

static int
propstr_parse_checked(const KeyDef *d, const char *v, PropertyString **ret, char **reterr_msg) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    _cleanup_free_ char *msg = NULL;
    const char *dk = property_string_fields_default_key(d->fields, d->n_fields);
    int r = property_string_parse(v, dk, &ps, &msg);
    if (r == -ENOMEM)
        return r;
    if (r >= 0)
        r = property_string_validate(ps, d->fields, d->n_fields, &msg);
    if (r >= 0 && d->extra)
        r = d->extra(ps, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return fail(reterr_msg, "invalid format - %s", msg ?: "format error");
    if (ps->n_entries == 0) /* would be written as an empty value, which is not read back */
        return fail(reterr_msg, "invalid format - no value in the property string");
    *ret = TAKE_PTR(ps);
    return 0;
}

int datacenter_cfg_check_value(const char *key, const char *value, char **reterr_msg) {
    const KeyDef *d = key_find(key);
    if (!d)
        return fail(
            reterr_msg,
            "property is not defined in schema and the schema does not allow "
            "additional properties"
        );
    switch (d->kind) {
    case KIND_STRING:
        if (d->max_length && strlen(value) > d->max_length)
            return fail(reterr_msg, "value may only be %u characters long", d->max_length);
        if (d->pattern) {
            int k = ere_full_match(d->pattern, value);
            if (k < 0)
                return k;
            if (!k)
                return d->pattern_msg ? fail(reterr_msg, "%s", d->pattern_msg)
                                      : fail(reterr_msg, "value does not match the regex pattern");
        }
        return 0;
    case KIND_ENUM:
        for (const char *const *e = d->enum_values; *e; e++)
            if (streq(*e, value))
                return 0;
        return fail(reterr_msg, "value '%s' does not have a value in the enumeration", value);
    case KIND_INTEGER: {
        long long v;
        if (safe_atoi64(value, &v) < 0)
            return fail(reterr_msg, "type check ('integer') failed - got '%s'", value);
        if (v < 1)
            return fail(reterr_msg, "value must have a minimum value of 1");
        return 0;
    }
    case KIND_BOOLEAN:
        if (property_string_parse_bool(value) < 0)
            return fail(reterr_msg, "type check ('boolean') failed - got '%s'", value);
        return 0;
    case KIND_PROPSTR: {
        _cleanup_(property_string_freep) PropertyString *ps = NULL;
        return propstr_parse_checked(d, value, &ps, reterr_msg);
    }
    }
    return -EINVAL;
}

/* ---- model ------------------------------------------------------------------------------------
 */

DatacenterCfg *datacenter_cfg_new(void) {
    return calloc(1, sizeof(DatacenterCfg));
}

DatacenterCfg *datacenter_cfg_free(DatacenterCfg *c) {
    if (!c)
        return NULL;
    for (size_t i = 0; i < c->n_entries; i++) {
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    for (size_t i = 0; i < c->n_warnings; i++)
        free(c->warnings[i]);
    free(c->warnings);
    free(c->entries);
    free(c->description);
    free(c);
    return NULL;
}

static DatacenterCfgEntry *entry_find(const DatacenterCfg *c, const char *key) {
    for (size_t i = 0; i < c->n_entries; i++)
        if (streq(c->entries[i].key, key))
            return &c->entries[i];
    return NULL;
}

const char *datacenter_cfg_get(const DatacenterCfg *c, const char *key) {
    if (streq(key, "description"))
        return c->description;
    DatacenterCfgEntry *e = entry_find(c, key);
    return e ? e->value : NULL;
}

/* store without checks (value copied) */
static int store(DatacenterCfg *c, const char *key, const char *value) {
    char *v = strdup(value);
    if (!v)
        return -ENOMEM;
    if (streq(key, "description")) {
        free(c->description);
        c->description = v;
        return 0;
    }
    DatacenterCfgEntry *e = entry_find(c, key);
    if (e) {
        free(e->value);
        e->value = v;
        return 0;
    }
    if (c->n_entries == c->n_allocated) {
        size_t n = c->n_allocated ? c->n_allocated * 2 : 16;
        DatacenterCfgEntry *a = reallocarray(c->entries, n, sizeof *a);
        if (!a) {
            free(v);
            return -ENOMEM;
        }
        c->entries = a;
        c->n_allocated = n;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return -ENOMEM;
    }
    c->entries[c->n_entries++] = (DatacenterCfgEntry){.key = k, .value = v};
    return 0;
}

static bool value_printable(const char *v) {
    for (const unsigned char *p = (const unsigned char *) v; *p; p++)
        if (*p < 0x20 && *p != '\t')
            return false;
    return true;
}

int datacenter_cfg_set(DatacenterCfg *c, const char *key, const char *value, char **reterr_msg) {
    int r = datacenter_cfg_check_value(key, value, reterr_msg);
    if (r < 0)
        return r;
    /* one line per key (the description is encoded, so it may hold newlines) */
    if (!streq(key, "description") && (!value_printable(value) || !*value))
        return fail(reterr_msg, "value must be a non-empty single line");
    return store(c, key, value);
}

int datacenter_cfg_unset(DatacenterCfg *c, const char *key) {
    if (streq(key, "description")) {
        bool had = c->description != NULL;
        free(c->description);
        c->description = NULL;
        return had;
    }
    DatacenterCfgEntry *e = entry_find(c, key);
    if (!e)
        return 0;
    free(e->key);
    free(e->value);
    size_t i = (size_t) (e - c->entries);
    memmove(e, e + 1, (c->n_entries - i - 1) * sizeof *e);
    c->n_entries--;
    return 1;
}

/* ---- parse ------------------------------------------------------------------------------------
 */

static int warn(DatacenterCfg *c, const char *fmt, ...) _printf_(2, 3);
static int warn(DatacenterCfg *c, const char *fmt, ...) {
    char **a = reallocarray(c->warnings, c->n_warnings + 1, sizeof *a);
    if (!a)
        return -ENOMEM;
    c->warnings = a;
    va_list ap;
    va_start(ap, fmt);
    int k = vasprintf(&a[c->n_warnings], fmt, ap);
    va_end(ap);
    if (k < 0)
        return -ENOMEM;
    c->n_warnings++;
    return 0;
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* percent-decode s[0..n) onto b */
static void decode_text(StrBuf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
        if (s[i] == '%' && hi >= 0 && lo >= 0) {
            strbuf_append_char(b, (char) (hi * 16 + lo));
            i += 2;
        } else
            strbuf_append_char(b, s[i]);
    }
}

/* property strings: canonical form (default key bare first, others sorted, booleans 1/0) */
static int propstr_canonical(const KeyDef *d, const PropertyString *ps, char **ret) {
    const char *dk = property_string_fields_default_key(d->fields, d->n_fields);
    _cleanup_(property_string_freep) PropertyString *out = property_string_new(dk);
    if (!out)
        return -ENOMEM;
    /* the field table order is sorted except for the default key, which goes first anyway */
    _cleanup_free_ const PropertyStringEntry **sorted = calloc(ps->n_entries + 1, sizeof *sorted);
    if (!sorted)
        return -ENOMEM;
    for (size_t i = 0; i < ps->n_entries; i++) {
        size_t j = i;
        while (j > 0 && strcmp(sorted[j - 1]->key, ps->entries[i].key) > 0) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = &ps->entries[i];
    }
    for (size_t i = 0; i < ps->n_entries; i++) {
        const char *k = sorted[i]->key, *v = sorted[i]->value;
        for (size_t f = 0; f < d->n_fields; f++)
            if (streq(d->fields[f].key, k) && d->fields[f].type == PROPERTY_STRING_TYPE_BOOLEAN)
                v = property_string_parse_bool(v) > 0 ? "1" : "0";
        int r = property_string_set(out, k, v);
        if (r < 0)
            return r;
    }
    return property_string_print(out, ret);
}

/* check and store one `key: value` from the file */
static int parse_option(DatacenterCfg *c, const char *key, const char *value) {
    _cleanup_free_ char *msg = NULL;
    const KeyDef *d = key_find(key);
    int r = datacenter_cfg_check_value(key, value, &msg);
    if (r == -ENOMEM)
        return r;
    if (r >= 0 && !*value && !streq(key, "description") && d->kind != KIND_STRING)
        r = fail(&msg, "value is empty");
    if (r < 0)
        return warn(c, "parse error in 'datacenter.cfg' - '%s': %s", key, msg ?: "invalid");
    if (d->kind == KIND_BOOLEAN)
        return store(c, key, property_string_parse_bool(value) > 0 ? "1" : "0");
    if (d->kind != KIND_PROPSTR)
        return store(c, key, value);
    /* canonical form; a value ending in blanks would lose them when the line is read back, so
     * the canonical form is that of the trimmed text (a few rounds at most) */
    _cleanup_free_ char *canon = strdup(value);
    for (unsigned round = 0; canon && round < 4; round++) {
        _cleanup_(property_string_freep) PropertyString *ps = NULL;
        _cleanup_free_ char *next = NULL;
        r = propstr_parse_checked(d, canon, &ps, &msg);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return warn(c, "parse error in 'datacenter.cfg' - '%s': %s", key, msg ?: "invalid");
        if ((r = propstr_canonical(d, ps, &next)) < 0)
            return r;
        size_t n = strlen(next);
        while (n > 0 && (next[n - 1] == ' ' || next[n - 1] == '\t'))
            n--;
        bool stable = n == strlen(next) && streq(next, canon);
        next[n] = 0;
        free(canon);
        canon = TAKE_PTR(next);
        if (stable)
            return store(c, key, canon);
    }
    return canon ? warn(c, "parse error in 'datacenter.cfg' - '%s': unstable value", key) : -ENOMEM;
}

static int parse_line(
    DatacenterCfg *c, const char *s, size_t n, unsigned line, StrBuf *comment, char **keydesc
) {
    if (s[0] == '#') {
        decode_text(comment, s + 1, n - 1);
        strbuf_append_char(comment, '\n');
        return comment->error;
    }
    size_t klen = 0;
    while (klen < n && s[klen] != ':' && s[klen] != ' ' && s[klen] != '\t')
        klen++;
    if (klen == 0 || klen == n || s[klen] != ':')
        return warn(c, "line %u: ignore config line: %.*s", line, (int) MIN(n, 200u), s);
    _cleanup_free_ char *key = strndup(s, klen);
    if (!key)
        return -ENOMEM;
    size_t vpos = klen + 1;
    while (vpos < n && (s[vpos] == ' ' || s[vpos] == '\t'))
        vpos++;
    if (memchr(s + vpos, 0, n - vpos))
        return warn(c, "line %u: NUL byte in value", line);
    _cleanup_free_ char *value = strndup(s + vpos, n - vpos);
    if (!value)
        return -ENOMEM;
    if (streq(key, "description")) {
        free(*keydesc);
        *keydesc = TAKE_PTR(value);
        return 0;
    }
    return parse_option(c, key, value);
}

int datacenter_cfg_parse(const char *text, size_t len, DatacenterCfg **ret) {
    if (len > DATACENTER_CFG_MAX_SIZE)
        return -EFBIG;
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *c = datacenter_cfg_new();
    _cleanup_strbuf_ StrBuf comment = STRBUF_INIT;
    _cleanup_free_ char *keydesc = NULL;
    if (!c)
        return -ENOMEM;
    unsigned line = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t) (nl - text) : len;
        const char *s = text + pos;
        size_t n = end - pos;
        line++;
        pos = end + 1;
        while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                         s[n - 1] == '\f' || s[n - 1] == '\v'))
            n--;
        if (n == 0)
            continue;
        int r = parse_line(c, s, n, line, &comment, &keydesc);
        if (r < 0)
            return r;
    }
    if (keydesc) {
        int r = datacenter_cfg_check_value("description", keydesc, NULL);
        if (r == -ENOMEM)
            return r;
        if (r >= 0 && store(c, "description", keydesc) < 0)
            return -ENOMEM;
    } else if (comment.len > 0) {
        if (comment.error < 0 || store(c, "description", comment.data) < 0)
            return -ENOMEM;
    }
    /* backwards compatibility: migration_unsecure without migration */
    const char *mu = datacenter_cfg_get(c, "migration_unsecure");
    if (mu && !datacenter_cfg_get(c, "migration")) {
        int r = store(c, "migration", streq(mu, "1") ? "insecure" : "secure");
        if (r < 0)
            return r;
    }
    *ret = TAKE_PTR(c);
    return 0;
}

/* ---- print ------------------------------------------------------------------------------------
 */

/* upstream's encode_text (bytes outside 0x20-0x7e and ':' as %XX); trailing blanks, and '%'
 * before two hex digits, are encoded too (the reader trims lines and decodes %XX): upstream's
 * decoder reads them back, and print(parse(x)) is a fixed point */
static void encode_text(StrBuf *b, const char *s, size_t n) {
    size_t keep = n;
    while (keep > 0 && s[keep - 1] == ' ')
        keep--;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) s[i];
        bool pct = ch == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0;
        if (ch < 0x20 || ch > 0x7e || ch == ':' || i >= keep || pct)
            strbuf_printf(b, "%%%02X", ch);
        else
            strbuf_append_char(b, (char) ch);
    }
}

static int cmp_entry(const void *a, const void *b) {
    const DatacenterCfgEntry *const *x = a, *const *y = b;
    return strcmp((*x)->key, (*y)->key);
}

int datacenter_cfg_print(const DatacenterCfg *c, char **ret) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    if (c->description) {
        const char *s = c->description;
        while (*s) {
            size_t n = strcspn(s, "\n");
            strbuf_append_char(&b, '#');
            encode_text(&b, s, n);
            strbuf_append_char(&b, '\n');
            s += n;
            if (*s == '\n')
                s++;
        }
    }
    _cleanup_free_ const DatacenterCfgEntry **sorted = calloc(c->n_entries + 1, sizeof *sorted);
    if (!sorted)
        return -ENOMEM;
    for (size_t i = 0; i < c->n_entries; i++)
        sorted[i] = &c->entries[i];
    qsort(sorted, c->n_entries, sizeof *sorted, cmp_entry);
    for (size_t i = 0; i < c->n_entries; i++)
        strbuf_printf(&b, "%s: %s\n", sorted[i]->key, sorted[i]->value);
    return strbuf_finish(&b, ret, NULL);
}

/* ---- JSON -------------------------------------------------------------------------------------
 */

/* length of the valid UTF-8 sequence at s, 0 if invalid */
static size_t utf8_seq_len(const unsigned char *s) {
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        n = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        lo = s[0] == 0xE0 ? 0xA0 : 0x80;
        hi = s[0] == 0xED ? 0x9F : 0xBF;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        lo = s[0] == 0xF0 ? 0x90 : 0x80;
        hi = s[0] == 0xF4 ? 0x8F : 0xBF;
    } else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* a JSON string; invalid UTF-8 becomes U+FFFD as upstream's decoding does */
static json_t *text_json(const char *v) {
    json_t *j = json_string(v);
    if (j)
        return j;
    StrBuf b = STRBUF_INIT;
    for (const unsigned char *p = (const unsigned char *) v; *p;) {
        size_t n = utf8_seq_len(p);
        if (n == 0) {
            strbuf_append(&b, "\xEF\xBF\xBD");
            p++;
        } else {
            strbuf_append_len(&b, p, n);
            p += n;
        }
    }
    _cleanup_free_ char *clean = NULL;
    if (strbuf_finish(&b, &clean, NULL) < 0)
        return NULL;
    return json_string(clean);
}

static json_t *split_list(const char *s) {
    json_t *a = json_array();
    if (!a)
        return NULL;
    while (*s) {
        size_t n = strcspn(s, ";");
        _cleanup_free_ char *item = strndup(s, n);
        if (!item || (n > 0 && json_array_append_new(a, text_json(item)) < 0)) {
            json_decref(a);
            return NULL;
        }
        s += n;
        if (*s == ';')
            s++;
    }
    return a;
}

static json_t *typed_value(const PropertyStringField *f, const char *key, const char *v) {
    long long i;
    if (f && f->type == PROPERTY_STRING_TYPE_BOOLEAN)
        return json_integer(property_string_parse_bool(v) > 0);
    if (f && (f->type == PROPERTY_STRING_TYPE_INTEGER || f->type == PROPERTY_STRING_TYPE_NUMBER)) {
        if (safe_atoi64(v, &i) >= 0)
            return json_integer(i);
        return json_real(strtod(v, NULL));
    }
    if (streq(key, "user-allow-list"))
        return split_list(v);
    return text_json(v);
}

static json_t *propstr_json(const KeyDef *d, const char *value) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    if (propstr_parse_checked(d, value, &ps, NULL) < 0)
        return text_json(value); /* cannot happen: values are checked when stored */
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (size_t i = 0; i < ps->n_entries; i++) {
        const PropertyStringField *f = NULL;
        for (size_t j = 0; j < d->n_fields; j++)
            if (streq(d->fields[j].key, ps->entries[i].key))
                f = &d->fields[j];
        if (json_object_set_new(
                o, ps->entries[i].key, typed_value(f, ps->entries[i].key, ps->entries[i].value)
            ) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *datacenter_cfg_to_json(const DatacenterCfg *c) {
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (c->description && json_object_set_new(o, "description", text_json(c->description)) < 0)
        goto oom;
    for (size_t i = 0; i < c->n_entries; i++) {
        const char *k = c->entries[i].key, *v = c->entries[i].value;
        const KeyDef *d = key_find(k);
        json_t *j;
        long long n;
        if (d && d->kind == KIND_PROPSTR)
            j = propstr_json(d, v);
        else if (d && (d->kind == KIND_INTEGER || d->kind == KIND_BOOLEAN) && safe_atoi64(v, &n) >= 0)
            j = json_integer(n);
        else if (streq(k, "registered-tags"))
            j = split_list(v);
        else
            j = text_json(v);
        if (json_object_set_new(o, k, j) < 0)
            goto oom;
    }
    return o;
oom:
    json_decref(o);
    return NULL;
}

void datacenter_cfg_next_id_range(
    const DatacenterCfg *c, long long *ret_lower, long long *ret_upper
) {
    long long lower = DATACENTER_NEXTID_LOWER, upper = DATACENTER_NEXTID_UPPER;
    const char *v = c ? datacenter_cfg_get(c, "next-id") : NULL;
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    if (v && property_string_parse(v, NULL, &ps, NULL) >= 0) {
        (void) property_string_get_int(ps, "lower", &lower);
        (void) property_string_get_int(ps, "upper", &upper);
    }
    *ret_lower = lower;
    *ret_upper = upper;
}
