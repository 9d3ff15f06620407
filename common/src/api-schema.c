/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-schema: validator for API parameters declared as ApiSchema tables, the registered
 * string formats, and the schema exporters (upstream-shaped JSON and OpenAPI 3).
 *
 * Messages are upstream's words, since clients show them verbatim. Only the first error per
 * parameter path is kept, as upstream does. Patterns are written in the Perl dialect the
 * upstream schema uses; a small translator turns the common escapes (\d \w \s, escaped
 * punctuation, (?:)) into POSIX extended regular expressions.
 *
 * Owns no global state; compiles regexes per call (validation is not a hot path compared
 * with the handlers it guards).
 */
#include "pve/api-schema.h"

#include <arpa/inet.h>

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/strbuf.h"
#include "pve/user-cfg.h"

static const char *const type_names[_API_TYPE_MAX] = {
    [API_TYPE_ANY] = "any",       [API_TYPE_STRING] = "string",   [API_TYPE_INTEGER] = "integer",
    [API_TYPE_NUMBER] = "number", [API_TYPE_BOOLEAN] = "boolean", [API_TYPE_NULL] = "null",
    [API_TYPE_OBJECT] = "object", [API_TYPE_ARRAY] = "array",
};

const char *api_schema_type_to_string(ApiSchemaType t) {
    if (t < 0 || t >= _API_TYPE_MAX)
        return NULL;
    return type_names[t];
}

/* ---- small helpers ----------------------------------------------------------------------------
 */

static int add_error(json_t *errors, const char *path, const char *fmt, ...) _printf_(3, 4);

static int add_error(json_t *errors, const char *path, const char *fmt, ...) {
    if (!path || !*path)
        path = "_root";
    if (json_object_get(errors, path))
        return 0; /* first error per path wins */
    _cleanup_free_ char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        msg = NULL;
        return -ENOMEM;
    }
    return json_util_set_string(errors, path, msg);
}

static char *join_path(const char *path, const char *key) {
    char *p = NULL;
    if (asprintf(&p, "%s%s%s", path && *path ? path : "", path && *path ? "." : "", key) < 0)
        return NULL;
    return p;
}

/* Upstream-ish string form of a value for "got '...'" messages; malloc'd. */
static char *value_to_string(const json_t *v) {
    char *s = NULL;
    int r;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strdup(json_string_value(v));
    case JSON_INTEGER:
        r = asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        r = asprintf(&s, "%.15g", json_real_value(v));
        break;
    case JSON_TRUE:
        return strdup("1");
    case JSON_FALSE:
        return strdup("0");
    case JSON_OBJECT:
        return strdup("HASH");
    case JSON_ARRAY:
        return strdup("ARRAY");
    default:
        return strdup("");
    }
    return r < 0 ? NULL : s;
}

static bool is_integer_string(const char *s) {
    if (*s == '+' || *s == '-')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* [+-]?digits[.digits][eE[+-]digits], at least one digit before the exponent */
static bool is_number_string(const char *s) {
    bool digits = false;
    if (*s == '+' || *s == '-')
        s++;
    while (*s >= '0' && *s <= '9')
        s++, digits = true;
    if (*s == '.') {
        s++;
        bool frac = false;
        while (*s >= '0' && *s <= '9')
            s++, frac = true;
        if (!frac)
            return false;
        digits = true;
    }
    if (!digits)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static bool has_suffix(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && streq(s + a - b, suffix);
}

/* ---- Perl pattern -> POSIX ERE ------------------------------------------------------------- */

static void translate_bracket(StrBuf *b, const char **pp) {
    const char *p = *pp; /* at '[' */
    bool dash = false, close = false;
    StrBuf body = STRBUF_INIT;
    p++;
    strbuf_append_char(b, '[');
    if (*p == '^') {
        strbuf_append_char(b, '^');
        p++;
    }
    if (*p == ']') {
        close = true;
        p++;
    }
    for (; *p && *p != ']'; p++) {
        if (*p == '[' && p[1] == ':') {
            const char *end = strstr(p + 2, ":]");
            if (end) {
                strbuf_append_len(&body, p, (size_t) (end + 2 - p));
                p = end + 1;
                continue;
            }
        }
        if (*p != '\\' || !p[1]) {
            strbuf_append_char(&body, *p);
            continue;
        }
        p++;
        switch (*p) {
        case 'd':
            strbuf_append(&body, "0-9");
            break;
        case 'w':
            strbuf_append(&body, "A-Za-z0-9_");
            break;
        case 's':
            strbuf_append(&body, "[:space:]");
            break;
        case '-':
            dash = true;
            break;
        case ']':
            close = true;
            break;
        case 'n':
            strbuf_append_char(&body, '\n');
            break;
        case 't':
            strbuf_append_char(&body, '\t');
            break;
        default:
            strbuf_append_char(&body, *p);
        }
    }
    if (close)
        strbuf_append_char(b, ']');
    if (body.data)
        strbuf_append(b, body.data);
    if (dash)
        strbuf_append_char(b, '-');
    strbuf_append_char(b, ']');
    if (body.error)
        b->error = body.error;
    strbuf_done(&body);
    *pp = *p ? p : p - 1; /* on ']' (or the last char when unterminated) */
}

static int perl_to_posix(const char *pattern, char **ret) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    strbuf_append(&b, "^(");
    for (const char *p = pattern; *p; p++) {
        if (*p == '[') {
            translate_bracket(&b, &p);
        } else if (*p == '(' && p[1] == '?' && p[1 + strspn(p + 2, "^imsx") + 1] == ':') {
            /* (?:...) and Perl's stringified qr// "(?^:...)"; flags other than none ignored */
            strbuf_append_char(&b, '(');
            p += 2 + strspn(p + 2, "^imsx");
        } else if (*p == '\\' && p[1]) {
            p++;
            switch (*p) {
            case 'd':
                strbuf_append(&b, "[0-9]");
                break;
            case 'D':
                strbuf_append(&b, "[^0-9]");
                break;
            case 'w':
                strbuf_append(&b, "[A-Za-z0-9_]");
                break;
            case 'W':
                strbuf_append(&b, "[^A-Za-z0-9_]");
                break;
            case 's':
                strbuf_append(&b, "[[:space:]]");
                break;
            case 'S':
                strbuf_append(&b, "[^[:space:]]");
                break;
            default:
                strbuf_append_char(&b, '\\');
                strbuf_append_char(&b, *p);
            }
        } else {
            strbuf_append_char(&b, *p);
        }
    }
    strbuf_append(&b, ")$");
    return strbuf_finish(&b, ret, NULL);
}

/* 1 match, 0 no match, -EINVAL bad pattern, -ENOMEM */
static int pattern_match(const char *perl_pattern, const char *value) {
    _cleanup_free_ char *ere = NULL;
    regex_t re;
    int r = perl_to_posix(perl_pattern, &ere);
    if (r < 0)
        return r;
    if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0) {
        log_debug("api-schema: cannot compile pattern '%s' (as '%s')", perl_pattern, ere);
        return -EINVAL;
    }
    r = regexec(&re, value, 0, NULL, 0) == 0;
    regfree(&re);
    return r;
}

/* POSIX ERE, already anchored; for the built-in formats. */
static bool ere_match(const char *ere, const char *value, bool icase) {
    regex_t re;
    if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0)) != 0)
        return false;
    bool m = regexec(&re, value, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

/* ---- Perl pattern -> ECMA-262 (OpenAPI export) ------------------------------------------------
 */

/* Characters an ECMA-262 regex in unicode mode accepts escaped (as literals or classes). */
static bool ecma_escapable(char c, bool in_class) {
    return (c && strchr("^$\\.*+?()[]{}|/dDwWsSfnrtv", c)) || (in_class && c == '-') || c == 'b' ||
           (!in_class && c == 'B');
}

/* length of a quantifier "{n}", "{n,}" or "{n,m}" at p, 0 if p does not start one */
static size_t quantifier_len(const char *p) {
    size_t i = 1, d = strspn(p + 1, "0123456789");
    if (d == 0)
        return 0;
    i += d;
    if (p[i] == ',')
        i += 1 + strspn(p + i + 1, "0123456789");
    return p[i] == '}' ? i + 1 : 0;
}

/*
 * What clients validating with the exported schema can compile (OpenAPI: ECMA-262; ajv uses
 * the unicode flag): Perl's stringified qr// groups "(?^:" / "(?^i:" and atomic "(?>" become
 * plain groups (flags dropped, as the validator above drops them), \A \z \Z anchors, identity
 * escapes of non-syntax characters (\_ \@ \-) plain characters, a literal '{' '}' or ']'
 * escaped, a leading ']' in a class escaped.
 */
static int perl_to_ecma(const char *pattern, char **ret) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    bool in_class = false;
    for (const char *p = pattern; *p; p++) {
        size_t q;
        if (!in_class && *p == '(' && p[1] == '?' && p[2 + strspn(p + 2, "^imsx")] == ':') {
            strbuf_append(&b, "(?:");
            p += 2 + strspn(p + 2, "^imsx");
        } else if (!in_class && *p == '(' && p[1] == '?' && p[2] == '>') {
            strbuf_append(&b, "(?:");
            p += 2;
        } else if (!in_class && *p == '[') {
            in_class = true;
            strbuf_append_char(&b, '[');
            if (p[1] == '^')
                strbuf_append_char(&b, *++p);
            if (p[1] == ']') {
                strbuf_append(&b, "\\]");
                p++;
            }
        } else if (in_class && *p == ']') {
            in_class = false;
            strbuf_append_char(&b, ']');
        } else if (*p == '\\' && p[1]) {
            p++;
            if (!in_class && *p == 'A')
                strbuf_append_char(&b, '^');
            else if (!in_class && (*p == 'z' || *p == 'Z'))
                strbuf_append_char(&b, '$');
            else if (ecma_escapable(*p, in_class) || (*p >= '0' && *p <= '9') || *p == 'x' || *p == 'u' || *p == 'p' || *p == 'P')
                strbuf_append_len(&b, p - 1, 2);
            else
                strbuf_append_char(&b, *p);
        } else if (!in_class && *p == '{' && (q = quantifier_len(p)) > 0) {
            strbuf_append_len(&b, p, q);
            p += q - 1;
        } else if (!in_class && (*p == '{' || *p == '}' || *p == ']')) {
            strbuf_append_char(&b, '\\');
            strbuf_append_char(&b, *p);
        } else {
            strbuf_append_char(&b, *p);
        }
    }
    return strbuf_finish(&b, ret, NULL);
}

/* ---- formats -----------------------------------------------------------------------------------
 */

#define RE_REALM "[A-Za-z][A-Za-z0-9._-]+"

static char *msgf(const char *fmt, const char *v) _printf_(1, 0);
static char *msgf(const char *fmt, const char *v) {
    char *s = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (asprintf(&s, fmt, v) < 0)
        return NULL;
#pragma GCC diagnostic pop
    return s;
}

typedef struct FormatDef {
    const char *name;
    const char *ere; /* anchored; NULL = custom check */
    bool icase;
    size_t max_len; /* 0 = none */
    int (*check)(const char *v);
    const char *message; /* may contain one %s for the value */
} FormatDef;

static int check_ipv4(const char *v) {
    struct in_addr a;
    return inet_pton(AF_INET, v, &a) == 1;
}

static int check_ipv6(const char *v) {
    struct in6_addr a;
    return inet_pton(AF_INET6, v, &a) == 1;
}

static int check_ip(const char *v) {
    return check_ipv4(v) || check_ipv6(v);
}

/* <ip>/<prefix>: 0-32 for IPv4, 0-128 for IPv6 */
static int check_cidr(const char *v) {
    const char *slash = strchr(v, '/');
    if (!slash || slash == v || strlen(slash) > 4 || strlen(v) >= INET6_ADDRSTRLEN + 4)
        return 0;
    char ip[INET6_ADDRSTRLEN + 4];
    snprintf(ip, sizeof ip, "%.*s", (int) (slash - v), v);
    const char *p = slash + 1;
    if (!*p || strspn(p, "0123456789") != strlen(p))
        return 0;
    int bits = atoi(p);
    return check_ipv4(ip) ? bits <= 32 : check_ipv6(ip) ? bits <= 128 : 0;
}

static int check_any(const char *v) {
    (void) v;
    return 1;
}

static int check_priv(const char *v) {
    return priv_from_name(v) >= 0;
}

static int check_storage_content(const char *v) {
    static const char *const valid[] = {"images", "rootdir",  "vztmpl", "iso",
                                        "backup", "snippets", "none",   "import"};
    for (size_t i = 0; i < ELEMENTSOF(valid); i++)
        if (streq(valid[i], v))
            return 1;
    return 0;
}

static const FormatDef formats[] = {
    {"string", NULL, false, 0, check_any, NULL},
    {"pve-node", "^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$", false, 0, NULL,
     "value does not look like a valid node name\n"},
    {"pve-vmid", "^[1-9][0-9]{2,8}$", false, 0, NULL, "value does not look like a valid VM ID\n"},
    {"pve-storage-id", "^[a-z][a-z0-9._-]*[a-z0-9]$", false, 0, NULL,
     "storage ID '%s' contains illegal characters\n"},
    {"pve-configid", "^[a-z][a-z0-9_-]+$", false, 0, NULL, "invalid configuration ID '%s'\n"},
    {"pve-storage-content", NULL, false, 0, check_storage_content, "invalid content type '%s'\n"},
    {"pve-storage-path", "^/[^;()]+", false, 0, NULL,
     "value does not look like a valid absolute path\n"},
    {"pve-storage-vgname", "^[a-z0-9][a-z0-9_.-]*[a-z0-9]$", true, 0, NULL,
     "value does not look like a valid volume group name\n"},
    {"pve-realm", "^" RE_REALM "$", false, 32, NULL, "value does not look like a valid realm\n"},
    {"pve-userid", "^[^[:space:]:/]+@" RE_REALM "$", false, 63, NULL,
     "value '%s' does not look like a valid user name\n"},
    {"pve-tokenid", "^[^[:space:]:/]+@" RE_REALM "![A-Za-z][A-Za-z0-9._-]+$", false, 127, NULL,
     "value '%s' does not look like a valid token ID\n"},
    {"pve-groupid", "^[A-Za-z0-9._-]+$", false, 0, NULL,
     "group name '%s' contains illegal characters\n"},
    {"pve-roleid", "^[A-Za-z0-9._-]+$", false, 0, NULL,
     "role name '%s' contains illegal characters\n"},
    {"pve-poolid", "^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*){0,2}$", false, 0,
     NULL, "pool name '%s' contains illegal characters\n"},
    {"pve-iface", "^[a-z][a-z0-9_]{1,20}([:.][0-9]+)?$", true, 0, NULL,
     "invalid network interface name '%s'\n"},
    {"email", "^[A-Za-z0-9_+~-]+(\\.[A-Za-z0-9_+~-]+)*@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*$", false, 0,
     NULL, "value does not look like a valid email address\n"},
    {"email-opt", "^([A-Za-z0-9_+~-]+(\\.[A-Za-z0-9_+~-]+)*@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*)?$",
     false, 0, NULL, "value does not look like a valid email address\n"},
    {"pve-priv", NULL, false, 0, check_priv, "invalid privilege '%s'\n"},
    {"dns-name",
     "^(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)\\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$",
     false, 0, NULL, "value does not look like a valid DNS name\n"},
    {"mac-addr", "^[a-f0-9][02468ace](:[a-f0-9]{2}){5}$", true, 0, NULL,
     "value does not look like a valid unicast MAC address\n"},
    {"disk-size", "^[0-9]+(\\.[0-9]+)?[KMGT]?$", false, 0, NULL,
     "value '%s' is not a valid disk size\n"},
    {"urlencoded", "^[-%a-zA-Z0-9_.!~*'()]*$", false, 0, NULL, "invalid urlencoded string: %s\n"},
    {"ipv4", NULL, false, 0, check_ipv4, "value does not look like a valid IPv4 address\n"},
    {"ipv6", NULL, false, 0, check_ipv6, "value does not look like a valid IPv6 address\n"},
    {"ip", NULL, false, 0, check_ip, "value does not look like a valid IP address\n"},
    {"CIDR", NULL, false, 0, check_cidr, "value does not look like a valid CIDR network\n"},
    {"storage-pair", "^(1|([a-z][a-z0-9._-]*[a-z0-9]:)?[a-z][a-z0-9._-]*[a-z0-9])$", false, 0, NULL,
     "invalid storage mapping '%s'\n"},
    {"pve-task-status-type", "^(ok|error|warning|unknown)$", true, 0, NULL,
     "invalid status '%s'\n"},
};

static const FormatDef *format_find(const char *name, size_t len) {
    for (size_t i = 0; i < ELEMENTSOF(formats); i++)
        if (strlen(formats[i].name) == len && strneq(formats[i].name, name, len))
            return &formats[i];
    return NULL;
}

/* base name length and list kind: 0 none, 1 "-list" (split on , ; space NUL), 2 "-alist" */
static size_t format_base(const char *format, int *ret_list) {
    size_t n = strlen(format);
    if (has_suffix(format, "-alist") && !format_find(format, n)) {
        *ret_list = 2;
        return n - STRLEN("-alist");
    }
    if (has_suffix(format, "-list") && !format_find(format, n)) {
        *ret_list = 1;
        return n - STRLEN("-list");
    }
    *ret_list = 0;
    return n;
}

bool api_format_is_known(const char *format) {
    int list;
    size_t n = format_base(format, &list);
    return format_find(format, n) != NULL;
}

static int format_check_one(const FormatDef *f, const char *v, char **reterr_msg) {
    bool ok;
    if (f->max_len && strlen(v) > f->max_len)
        ok = false;
    else if (f->check)
        ok = f->check(v);
    else
        ok = ere_match(f->ere, v, f->icase);
    if (ok)
        return 0;
    if (reterr_msg) {
        *reterr_msg = msgf(f->message, v);
        if (!*reterr_msg)
            return -ENOMEM;
    }
    return -EINVAL;
}

int api_format_check(const char *format, const char *value, char **reterr_msg) {
    assert(format);
    assert(value);
    int list;
    size_t n = format_base(format, &list);
    const FormatDef *f = format_find(format, n);
    if (!f) {
        log_debug("api-schema: format '%s' is not implemented, accepting '%s'", format, value);
        return 0;
    }
    if (!list)
        return format_check_one(f, value, reterr_msg);

    _cleanup_free_ char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    const char *seps = list == 2 ? "" : ",; \t\n\r"; /* "-alist" splits on NUL only */
    char *save = NULL;
    for (char *tok = list == 2 ? copy : strtok_r(copy, seps, &save); tok;
         tok = list == 2 ? NULL : strtok_r(NULL, seps, &save)) {
        int r = format_check_one(f, tok, reterr_msg);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- validation --------------------------------------------------------------------------------
 */

const ApiSchema *api_schema_property(const ApiSchema *object, const char *name) {
    if (!object || !object->properties || !name)
        return NULL;
    for (const ApiSchema *p = object->properties; p->name; p++)
        if (streq(p->name, name))
            return p;
    return NULL;
}

static int check_object(const ApiSchema *s, json_t *obj, const char *path, json_t *errors);

static int replace(json_t **value, json_t *n) {
    if (!n)
        return -ENOMEM;
    json_decref(*value);
    *value = n;
    return 0;
}

static int
check_string_rules(const ApiSchema *s, const char *sv, const char *path, json_t *errors) {
    int r;
    if (s->format_fields) {
        _cleanup_(property_string_freep) PropertyString *ps = NULL;
        _cleanup_free_ char *msg = NULL;
        r = property_string_parse(
            sv, property_string_fields_default_key(s->format_fields, s->n_format_fields), &ps, &msg
        );
        if (r == -ENOMEM)
            return r;
        if (r >= 0) {
            r = property_string_validate(ps, s->format_fields, s->n_format_fields, &msg);
            if (r == -ENOMEM)
                return r;
        }
        if (r < 0)
            return add_error(errors, path, "invalid format - %s\n", msg ? msg : "invalid value");
    } else if (s->format) {
        _cleanup_free_ char *msg = NULL;
        r = api_format_check(s->format, sv, &msg);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return add_error(errors, path, "invalid format - %s", msg);
    }
    if (s->pattern) {
        r = pattern_match(s->pattern, sv);
        if (r == -ENOMEM)
            return r;
        if (r == 0)
            return add_error(errors, path, "value does not match the regex pattern");
        /* an uncompilable pattern is the table's bug, not the client's: accept */
    }
    size_t len = strlen(sv);
    if (s->max_length && len > s->max_length)
        return add_error(errors, path, "value may only be %u characters long", s->max_length);
    if (s->min_length && len < s->min_length)
        return add_error(errors, path, "value must be at least %u characters long", s->min_length);
    if (is_number_string(sv)) {
        double d = strtod(sv, NULL);
        if (s->has_maximum && d > s->maximum)
            return add_error(errors, path, "value must have a maximum value of %.15g", s->maximum);
        if (s->has_minimum && d < s->minimum)
            return add_error(errors, path, "value must have a minimum value of %.15g", s->minimum);
    }
    if (s->enum_values) {
        for (const char *const *e = s->enum_values; *e; e++)
            if (streq(*e, sv))
                return 0;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (const char *const *e = s->enum_values; *e; e++) {
            if (e != s->enum_values)
                strbuf_append(&b, ", ");
            strbuf_append(&b, *e);
        }
        if (b.error)
            return b.error;
        return add_error(
            errors, path, "value '%s' does not have a value in the enumeration '%s'", sv,
            b.data ? b.data : ""
        );
    }
    return 0;
}

static int type_error(const ApiSchema *s, const json_t *v, const char *path, json_t *errors) {
    _cleanup_free_ char *sv = value_to_string(v);
    if (!sv)
        return -ENOMEM;
    if (json_is_object(v) || json_is_array(v))
        return add_error(
            errors, path, "type check ('%s') failed - got %s", type_names[s->type], sv
        );
    return add_error(errors, path, "type check ('%s') failed - got '%s'", type_names[s->type], sv);
}

int api_schema_check_value(const ApiSchema *s, json_t **value, const char *path, json_t *errors) {
    assert(s);
    assert(value);
    assert(errors);
    json_t *v = *value;
    int r;

    if (!v || json_is_null(v)) {
        if (s->type == API_TYPE_NULL)
            return 0;
        if (!s->optional && !s->alias)
            return add_error(errors, path, "property is missing and it is not optional");
        return 0;
    }

    switch (s->type) {
    case API_TYPE_ANY:
        return 0;

    case API_TYPE_NULL:
        return type_error(s, v, path, errors);

    case API_TYPE_OBJECT:
        if (!json_is_object(v))
            return type_error(s, v, path, errors);
        return check_object(s, v, path, errors);

    case API_TYPE_ARRAY: {
        if (!json_is_array(v)) {
            /* form encoding cannot say "array of one": wrap the scalar */
            json_t *a = json_array();
            if (!a || json_array_append(a, v) < 0) {
                json_decref(a);
                return -ENOMEM;
            }
            r = replace(value, a);
            if (r < 0)
                return r;
            v = a;
        }
        if (!s->items)
            return 0;
        for (size_t i = 0; i < json_array_size(v); i++) {
            char idx[32];
            snprintf(idx, sizeof idx, "%zu", i);
            _cleanup_free_ char *p = join_path(path, idx);
            if (!p)
                return -ENOMEM;
            json_t *item = json_incref(json_array_get(v, i));
            r = api_schema_check_value(s->items, &item, p, errors);
            if (r >= 0 && item != json_array_get(v, i))
                r = json_array_set(v, i, item) < 0 ? -ENOMEM : 0;
            json_decref(item);
            if (r < 0)
                return r;
        }
        return 0;
    }

    case API_TYPE_STRING: {
        if (json_is_array(v) && s->format && has_suffix(s->format, "list")) {
            /* repeated form keys for a "-list" string: join them */
            _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
            for (size_t i = 0; i < json_array_size(v); i++) {
                _cleanup_free_ char *e = value_to_string(json_array_get(v, i));
                if (!e)
                    return -ENOMEM;
                if (i > 0)
                    strbuf_append_char(&b, has_suffix(s->format, "-alist") ? '\0' : ',');
                strbuf_append(&b, e);
            }
            if (b.error)
                return b.error;
            r = replace(value, json_string(b.data ? b.data : ""));
            if (r < 0)
                return r;
            v = *value;
        }
        if (json_is_array(v) || json_is_object(v))
            return type_error(s, v, path, errors);
        if (!json_is_string(v)) {
            /* JSON bodies may carry numbers for string parameters; Perl does not care */
            _cleanup_free_ char *sv = value_to_string(v);
            if (!sv)
                return -ENOMEM;
            r = replace(value, json_string(sv));
            if (r < 0)
                return r;
            v = *value;
        }
        return check_string_rules(s, json_string_value(v), path, errors);
    }

    case API_TYPE_INTEGER:
    case API_TYPE_NUMBER:
    case API_TYPE_BOOLEAN: {
        if (json_is_array(v) || json_is_object(v))
            return type_error(s, v, path, errors);
        _cleanup_free_ char *sv = value_to_string(v);
        if (!sv)
            return -ENOMEM;
        json_t *n = NULL;
        if (s->type == API_TYPE_BOOLEAN) {
            if (!streq(sv, "0") && !streq(sv, "1"))
                return type_error(s, v, path, errors);
            if (!json_is_integer(v))
                n = json_integer(sv[0] == '1');
        } else if (s->type == API_TYPE_INTEGER) {
            if (json_is_real(v) || !is_integer_string(sv))
                return type_error(s, v, path, errors);
            if (!json_is_integer(v)) {
                errno = 0;
                long long ll = strtoll(sv, NULL, 10);
                if (errno == ERANGE)
                    return type_error(s, v, path, errors);
                n = json_integer(ll);
            }
        } else {
            if (!is_number_string(sv))
                return type_error(s, v, path, errors);
            if (json_is_string(v))
                n = is_integer_string(sv) ? json_integer(strtoll(sv, NULL, 10))
                                          : json_real(strtod(sv, NULL));
            else if (json_is_boolean(v))
                n = json_integer(json_is_true(v));
        }
        if (n) {
            r = replace(value, n);
            if (r < 0)
                return r;
        } else if (!json_is_number(v)) {
            return -ENOMEM;
        }
        return check_string_rules(s, sv, path, errors);
    }

    default:
        return 0;
    }
}

static int check_object(const ApiSchema *s, json_t *obj, const char *path, json_t *errors) {
    int r;

    /* aliases first: a value given under the alias name moves to its target */
    if (s->properties)
        for (const ApiSchema *p = s->properties; p->name; p++) {
            if (!p->alias)
                continue;
            json_t *v = json_object_get(obj, p->name);
            if (!v || json_object_get(obj, p->alias))
                continue;
            if (json_object_set(obj, p->alias, v) < 0)
                return -ENOMEM;
            (void) json_object_del(obj, p->name);
        }

    if (s->properties)
        for (const ApiSchema *p = s->properties; p->name; p++) {
            _cleanup_free_ char *np = join_path(path, p->name);
            if (!np)
                return -ENOMEM;
            json_t *v = json_incref(json_object_get(obj, p->name));
            json_t *orig = v;
            r = api_schema_check_value(p, &v, np, errors);
            if (r >= 0 && v != orig)
                r = json_object_set(obj, p->name, v) < 0 ? -ENOMEM : 0;
            json_decref(v);
            if (r < 0)
                return r;
        }

    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        _cleanup_free_ char *np = join_path(path, key);
        if (!np)
            return -ENOMEM;
        const ApiSchema *p = api_schema_property(s, key);
        if (p) {
            if (!p->requires)
                continue;
            if (p->requires[0] == '!') {
                json_t *o = json_object_get(obj, p->requires + 1);
                if (o && !json_is_null(o)) {
                    r = add_error(errors, np, "property conflicts with '%s'", p->requires + 1);
                    if (r < 0)
                        return r;
                }
            } else {
                json_t *o = json_object_get(obj, p->requires);
                if (!o || json_is_null(o)) {
                    _cleanup_free_ char *rp = join_path(path, p->requires);
                    if (!rp)
                        return -ENOMEM;
                    r = add_error(errors, rp, "missing property - '%s' requires this property", np);
                    if (r < 0)
                        return r;
                }
            }
            continue;
        }
        if (!s->additional_properties) {
            r = add_error(
                errors, np,
                "property is not defined in schema and the schema does not allow additional "
                "properties"
            );
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int api_schema_validate_params(const ApiSchema *params, json_t *input, json_t **ret_errors) {
    static const ApiSchema empty = API_OBJECT();
    assert(input);
    _cleanup_json_ json_t *errors = json_object();
    if (!errors)
        return -ENOMEM;
    int r;
    if (!json_is_object(input))
        r = add_error(errors, NULL, "type check ('object') failed");
    else
        r = check_object(params ? params : &empty, input, NULL, errors);
    if (r < 0)
        return r;
    if (json_object_size(errors) == 0)
        return 0;
    if (ret_errors)
        *ret_errors = TAKE_PTR(errors);
    return -EINVAL;
}

/* ---- typed getters with defaults ----------------------------------------------------------------
 */

int api_schema_param_int(
    const ApiSchema *object, const json_t *params, const char *name, long long *ret
) {
    json_t *v = json_object_get(params, name);
    if (v && !json_is_null(v)) {
        if (json_is_integer(v)) {
            *ret = json_integer_value(v);
            return 0;
        }
        if (json_is_boolean(v)) {
            *ret = json_is_true(v);
            return 0;
        }
        if (json_is_string(v) && is_integer_string(json_string_value(v))) {
            *ret = strtoll(json_string_value(v), NULL, 10);
            return 0;
        }
        return -EINVAL;
    }
    const ApiSchema *p = api_schema_property(object, name);
    if (!p || !p->has_default || p->default_str)
        return -ENOENT;
    *ret = (long long) p->default_num;
    return 0;
}

int api_schema_param_bool(
    const ApiSchema *object, const json_t *params, const char *name, bool *ret
) {
    long long v;
    int r = api_schema_param_int(object, params, name, &v);
    if (r < 0)
        return r;
    if (v != 0 && v != 1)
        return -EINVAL;
    *ret = v;
    return 0;
}

int api_schema_param_string(
    const ApiSchema *object, const json_t *params, const char *name, const char **ret
) {
    json_t *v = json_object_get(params, name);
    if (v && !json_is_null(v)) {
        if (!json_is_string(v))
            return -EINVAL;
        *ret = json_string_value(v);
        return 0;
    }
    const ApiSchema *p = api_schema_property(object, name);
    if (!p || !p->has_default || !p->default_str)
        return -ENOENT;
    *ret = p->default_str;
    return 0;
}

/* ---- export
 * -------------------------------------------------------------------------------------- */

static json_t *default_json(const ApiSchema *s) {
    if (s->default_str)
        return json_string(s->default_str);
    if (s->type == API_TYPE_NUMBER && s->default_num != floor(s->default_num))
        return json_real(s->default_num);
    return json_integer((json_int_t) s->default_num);
}

static json_t *bound_json(double d) {
    if (d == floor(d) && fabs(d) < 9e15)
        return json_integer((json_int_t) d);
    return json_real(d);
}

/* A string default or enum value as the JSON type the schema declares (OpenAPI requires a
 * default to conform to the type); NULL when the text is not a value of that type, e.g.
 * upstream's documentation defaults like "same as user". */
static json_t *typed_scalar(ApiSchemaType t, const char *text) {
    char *end = NULL;
    switch (t) {
    case API_TYPE_BOOLEAN:
        if (streq(text, "1") || streq(text, "true"))
            return json_true();
        if (streq(text, "0") || streq(text, "false"))
            return json_false();
        return NULL;
    case API_TYPE_INTEGER: {
        long long v = strtoll(text, &end, 10);
        return *text && !*end ? json_integer(v) : NULL;
    }
    case API_TYPE_NUMBER: {
        double d = strtod(text, &end);
        return *text && !*end ? bound_json(d) : NULL;
    }
    default:
        return json_string(text);
    }
}

/* "default" in OpenAPI: of the declared type, or the text as "x-default" when it is none */
static int set_openapi_default(json_t *o, const ApiSchema *s) {
    if (s->type == API_TYPE_BOOLEAN && !s->default_str)
        return json_util_set_new(o, "default", json_boolean(s->default_num != 0));
    if (s->type == API_TYPE_STRING && !s->default_str)
        return 0; /* upstream's "default": null on a string documents nothing */
    if (!s->default_str)
        return json_util_set_new(o, "default", default_json(s));
    json_t *v = typed_scalar(s->type, s->default_str);
    if (v)
        return json_util_set_new(o, "default", v);
    return json_util_set_string(o, "x-default", s->default_str);
}

static int set_enum(json_t *o, const ApiSchema *s, bool openapi) {
    if (!s->enum_values)
        return 0;
    json_t *a = json_array();
    if (!a)
        return -ENOMEM;
    for (const char *const *e = s->enum_values; *e; e++)
        if (json_util_append_new(a, openapi ? typed_scalar(s->type, *e) : json_string(*e)) < 0) {
            json_decref(a);
            return -ENOMEM;
        }
    return json_util_set_new(o, "enum", a);
}

/* shared scalar keys; `openapi` selects the OpenAPI spelling */
static int set_common(json_t *o, const ApiSchema *s, bool openapi) {
    int r = 0;
    if (s->description)
        r |= json_util_set_string(o, "description", s->description);
    if (s->title)
        r |= json_util_set_string(o, "title", s->title);
    if (s->typetext)
        r |= json_util_set_string(o, openapi ? "x-typetext" : "typetext", s->typetext);
    if (s->format)
        r |= json_util_set_string(o, "format", s->format);
    if (s->has_default && openapi)
        r |= set_openapi_default(o, s);
    else if (s->has_default)
        r |= json_util_set_new(o, "default", default_json(s));
    if (s->has_minimum)
        r |= json_util_set_new(o, "minimum", bound_json(s->minimum));
    if (s->has_maximum)
        r |= json_util_set_new(o, "maximum", bound_json(s->maximum));
    if (s->min_length)
        r |= json_util_set_int(o, "minLength", s->min_length);
    if (s->max_length)
        r |= json_util_set_int(o, "maxLength", s->max_length);
    if (s->pattern) {
        if (openapi) {
            _cleanup_free_ char *e = NULL, *p = NULL;
            if (perl_to_ecma(s->pattern, &e) < 0 || asprintf(&p, "^(?:%s)$", e) < 0)
                return -ENOMEM;
            r |= json_util_set_string(o, "pattern", p);
        } else {
            r |= json_util_set_string(o, "pattern", s->pattern);
        }
    }
    if (s->alias)
        r |= json_util_set_string(o, openapi ? "x-alias" : "alias", s->alias);
    if (s->requires)
        r |= json_util_set_string(o, openapi ? "x-requires" : "requires", s->requires);
    r |= set_enum(o, s, openapi);
    return r < 0 ? -ENOMEM : 0;
}

json_t *api_schema_to_openapi(const ApiSchema *s) {
    assert(s);
    _cleanup_json_ json_t *o = json_object();
    if (!o)
        return NULL;
    if (s->type == API_TYPE_NULL) {
        if (json_util_set_new(o, "nullable", json_true()) < 0)
            return NULL;
    } else if (s->type != API_TYPE_ANY) {
        if (json_util_set_string(o, "type", type_names[s->type]) < 0)
            return NULL;
    }
    if (set_common(o, s, true) < 0)
        return NULL;
    if (s->type == API_TYPE_OBJECT) {
        json_t *props = json_object(), *req = json_array();
        if (json_util_set_new(o, "properties", props) < 0 || !req)
            return json_decref(req), NULL;
        if (s->properties)
            for (const ApiSchema *p = s->properties; p->name; p++) {
                if (json_util_set_new(props, p->name, api_schema_to_openapi(p)) < 0)
                    return json_decref(req), NULL;
                if (!p->optional && !p->alias &&
                    json_util_append_new(req, json_string(p->name)) < 0)
                    return json_decref(req), NULL;
            }
        if (json_array_size(req) > 0) {
            if (json_util_set_new(o, "required", req) < 0)
                return NULL;
        } else {
            json_decref(req);
        }
        if (!s->additional_properties && s->properties &&
            json_util_set_new(o, "additionalProperties", json_false()) < 0)
            return NULL;
    } else if (s->type == API_TYPE_ARRAY) {
        json_t *items = s->items ? api_schema_to_openapi(s->items) : json_object();
        if (json_util_set_new(o, "items", items) < 0)
            return NULL;
    }
    return TAKE_PTR(o);
}

json_t *api_schema_to_json(const ApiSchema *s) {
    assert(s);
    _cleanup_json_ json_t *o = json_object();
    if (!o)
        return NULL;
    if (s->type != API_TYPE_ANY && json_util_set_string(o, "type", type_names[s->type]) < 0)
        return NULL;
    if (s->optional && json_util_set_int(o, "optional", 1) < 0)
        return NULL;
    if (set_common(o, s, false) < 0)
        return NULL;
    if (s->type == API_TYPE_OBJECT) {
        if (s->properties) {
            json_t *props = json_object();
            if (json_util_set_new(o, "properties", props) < 0)
                return NULL;
            for (const ApiSchema *p = s->properties; p->name; p++)
                if (json_util_set_new(props, p->name, api_schema_to_json(p)) < 0)
                    return NULL;
        }
        if (json_util_set_int(o, "additionalProperties", s->additional_properties) < 0)
            return NULL;
    } else if (s->type == API_TYPE_ARRAY && s->items) {
        if (json_util_set_new(o, "items", api_schema_to_json(s->items)) < 0)
            return NULL;
    }
    return TAKE_PTR(o);
}
