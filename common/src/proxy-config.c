/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * proxy-config: parser of /etc/default/pveproxy (see proxy-config.h).
 */
#include "pve/proxy-config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/fileio.h"
#include "pve/string-util.h"

int proxy_config_defaults(ProxyConfig **ret) {
    ProxyConfig *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->policy_allow = true;
    c->honor_cipher_order = true;
    c->compression = true;
    c->max_workers = PROXY_DEFAULT_MAX_WORKERS;
    c->ciphers = strdup(PROXY_DEFAULT_CIPHERS);
    if (!c->ciphers) {
        free(c);
        return -ENOMEM;
    }
    *ret = c;
    return 0;
}

ProxyConfig *proxy_config_free(ProxyConfig *c) {
    if (!c)
        return NULL;
    free(c->listen_ip);
    ip_acl_free(c->allow_from);
    ip_acl_free(c->deny_from);
    free(c->ciphers);
    free(c->ciphersuites);
    free(c->dhparams);
    free(c->tls_key_file);
    free(c->proxy_real_ip_header);
    ip_acl_free(c->proxy_real_ip_allow_from);
    free(c);
    return NULL;
}

typedef struct Err {
    unsigned *line;
    char **msg;
} Err;

_printf_(3, 4) static int fail(const Err *e, unsigned line, const char *fmt, ...) {
    if (e->line)
        *e->line = line;
    if (e->msg) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(e->msg, fmt, ap) < 0)
            *e->msg = NULL;
        va_end(ap);
    }
    return -EINVAL;
}

/* Unquote a shell word: 'x', "x" (backslash escapes \" \\ \$ \`), or bare. Expansions fail. */
static int unquote(const char *s, char **ret, const char **reterr) {
    size_t n = strlen(s);
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return -ENOMEM;
    while (*s) {
        if (*s == '\'') {
            const char *end = strchr(s + 1, '\'');
            if (!end)
                goto unterminated;
            memcpy(o, s + 1, (size_t) (end - s - 1));
            o += end - s - 1;
            s = end + 1;
        } else if (*s == '"') {
            s++;
            while (*s && *s != '"') {
                if (*s == '$' || *s == '`')
                    goto expansion;
                if (*s == '\\' && s[1] && strchr("\"\\$`", s[1]))
                    s++;
                *o++ = *s++;
            }
            if (*s != '"')
                goto unterminated;
            s++;
        } else if (*s == '$' || *s == '`') {
            goto expansion;
        } else if (*s == ' ' || *s == '\t' || *s == ';' || *s == '|' || *s == '&') {
            /* trailing comment is fine, anything else is a second command */
            while (*s == ' ' || *s == '\t')
                s++;
            if (*s && *s != '#') {
                *reterr = "unsupported shell syntax after the value";
                free(out);
                return -EINVAL;
            }
            break;
        } else {
            if (*s == '\\' && s[1])
                s++;
            *o++ = *s++;
        }
    }
    *o = 0;
    *ret = out;
    return 0;
unterminated:
    *reterr = "unterminated quote";
    free(out);
    return -EINVAL;
expansion:
    *reterr = "shell expansions ($, `) are not supported; write the value literally";
    free(out);
    return -EINVAL;
}

static int parse_bool(const Err *e, unsigned line, const char *key, const char *v, bool *ret) {
    if (streq(v, "0") || streq(v, "1")) {
        *ret = v[0] == '1';
        return 0;
    }
    return fail(e, line, "%s: value '%s' must be 0 or 1", key, v);
}

static int set_str(char **field, const char *v) {
    free(*field);
    *field = strdup(v);
    return *field ? 0 : -ENOMEM;
}

static int set_acl(const Err *e, unsigned line, const char *key, const char *v, IpAcl **field) {
    _cleanup_free_ char *msg = NULL;
    IpAcl *a = NULL;
    int r = ip_acl_parse(v, &a, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return fail(e, line, "%s: %s", key, msg ?: "invalid address list");
    ip_acl_free(*field);
    *field = a;
    return 0;
}

static int apply(ProxyConfig *c, const Err *e, unsigned line, const char *key, const char *v) {
    if (streq(key, "LISTEN_IP"))
        return set_str(&c->listen_ip, v);
    if (streq(key, "ALLOW_FROM"))
        return set_acl(e, line, key, v, &c->allow_from);
    if (streq(key, "DENY_FROM"))
        return set_acl(e, line, key, v, &c->deny_from);
    if (streq(key, "POLICY")) {
        if (!streq(v, "allow") && !streq(v, "deny"))
            return fail(e, line, "POLICY: value '%s' must be 'allow' or 'deny'", v);
        c->policy_allow = streq(v, "allow");
        return 0;
    }
    if (streq(key, "CIPHERS"))
        return set_str(&c->ciphers, v);
    if (streq(key, "CIPHERSUITES"))
        return set_str(&c->ciphersuites, v);
    if (streq(key, "HONOR_CIPHER_ORDER"))
        return parse_bool(e, line, key, v, &c->honor_cipher_order);
    if (streq(key, "COMPRESSION"))
        return parse_bool(e, line, key, v, &c->compression);
    if (streq(key, "DHPARAMS"))
        return set_str(&c->dhparams, v);
    if (streq(key, "DISABLE_TLS_1_2"))
        return parse_bool(e, line, key, v, &c->disable_tls_1_2);
    if (streq(key, "DISABLE_TLS_1_3"))
        return parse_bool(e, line, key, v, &c->disable_tls_1_3);
    if (streq(key, "TLS_KEY_FILE"))
        return set_str(&c->tls_key_file, v);
    if (streq(key, "PROXY_REAL_IP_HEADER"))
        return set_str(&c->proxy_real_ip_header, v);
    if (streq(key, "PROXY_REAL_IP_ALLOW_FROM"))
        return set_acl(e, line, key, v, &c->proxy_real_ip_allow_from);
    if (streq(key, "MAX_WORKERS")) {
        char *end = NULL;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > 127)
            return fail(e, line, "MAX_WORKERS: value '%s' must be between 1 and 127", v);
        c->max_workers = (unsigned) n;
        c->max_workers_set = true;
        return 0;
    }
    return 0; /* other settings in the same file */
}

static bool known_key(const char *k) {
    static const char *const keys[] = {
        "LISTEN_IP",
        "ALLOW_FROM",
        "DENY_FROM",
        "POLICY",
        "CIPHERS",
        "CIPHERSUITES",
        "HONOR_CIPHER_ORDER",
        "COMPRESSION",
        "DHPARAMS",
        "DISABLE_TLS_1_2",
        "DISABLE_TLS_1_3",
        "TLS_KEY_FILE",
        "PROXY_REAL_IP_HEADER",
        "PROXY_REAL_IP_ALLOW_FROM",
        "MAX_WORKERS",
    };
    for (size_t i = 0; i < ELEMENTSOF(keys); i++)
        if (streq(keys[i], k))
            return true;
    return false;
}

static bool key_char(char ch, bool first) {
    return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (!first && ch >= '0' && ch <= '9');
}

int proxy_config_parse(
    const char *text, size_t len, ProxyConfig **ret, unsigned *reterr_line, char **reterr_msg
) {
    Err e = {reterr_line, reterr_msg};
    _cleanup_(proxy_config_freep) ProxyConfig *c = NULL;
    int r = proxy_config_defaults(&c);
    if (r < 0)
        return r;
    _cleanup_free_ char *copy = strndup(text, len);
    if (!copy)
        return -ENOMEM;
    if (strlen(copy) != len)
        return fail(&e, 0, "file contains a NUL byte");
    unsigned line = 0;
    char *save = NULL, *p = copy;
    for (char *l = p; l; l = save) {
        save = strchr(l, '\n');
        if (save)
            *save++ = 0;
        line++;
        while (*l == ' ' || *l == '\t')
            l++;
        if (!*l || *l == '#')
            continue;
        if (startswith(l, "export ")) {
            l += 7;
            while (*l == ' ')
                l++;
        }
        char *k = l;
        if (!key_char(*k, true))
            return fail(&e, line, "expected KEY=value");
        while (key_char(*l, false))
            l++;
        if (*l != '=')
            return fail(&e, line, "expected KEY=value");
        *l++ = 0;
        _cleanup_free_ char *value = NULL;
        const char *why = NULL;
        size_t n = strlen(l);
        if (n && l[n - 1] == '\r')
            l[n - 1] = 0;
        r = unquote(l, &value, &why);
        if (r == -ENOMEM)
            return r;
        if (r < 0 && !known_key(k))
            continue; /* another tool's setting: not ours to judge */
        if (r < 0)
            return fail(&e, line, "%s: %s", k, why);
        r = apply(c, &e, line, k, value);
        if (r < 0)
            return r;
    }
    if (c->disable_tls_1_2 && c->disable_tls_1_3)
        return fail(
            &e, 0,
            "both TLS 1.2 and TLS 1.3 are disabled (DISABLE_TLS_1_2=1 and "
            "DISABLE_TLS_1_3=1); at least one must stay enabled"
        );
    *ret = TAKE_PTR(c);
    return 0;
}

int proxy_config_load(
    const char *path, ProxyConfig **ret, unsigned *reterr_line, char **reterr_msg
) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = read_full_file(path, 1024 * 1024, &text, &len);
    if (r == -ENOENT)
        return proxy_config_defaults(ret);
    if (r < 0) {
        if (reterr_line)
            *reterr_line = 0;
        if (reterr_msg && asprintf(reterr_msg, "cannot read: %s", strerror(-r)) < 0)
            *reterr_msg = NULL;
        return r;
    }
    return proxy_config_parse(text, len, ret, reterr_line, reterr_msg);
}

bool proxy_config_client_allowed(const ProxyConfig *c, const char *address) {
    bool allow = c->allow_from && ip_acl_match(c->allow_from, address);
    bool deny = c->deny_from && ip_acl_match(c->deny_from, address);
    if (allow && !deny)
        return true;
    if (deny && !allow)
        return false;
    return c->policy_allow;
}

unsigned proxy_config_workers(const ProxyConfig *c, long ncpus) {
    if (c->max_workers_set)
        return c->max_workers;
    if (ncpus < 2)
        return 2;
    return ncpus < PROXY_DEFAULT_MAX_WORKERS ? (unsigned) ncpus : PROXY_DEFAULT_MAX_WORKERS;
}
