/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * auth-ldap: password checks against LDAP and Active Directory realms (see auth-ldap.h).
 */
#include "pve/auth-ldap.h"

#include <errno.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/log.h"
#include "pve/macro.h"
#include "pve/string-util.h"

#define LDAP_TIMEOUT_SEC 5 /* connect and each operation */

char *ldap_filter_escape(const char *value) {
    size_t n = strlen(value);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
        if (*p == '*' || *p == '(' || *p == ')' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            o += sprintf(o, "\\%02x", *p);
        else
            *o++ = (char) *p;
    }
    *o = 0;
    return out;
}

static void ldap_unbindp(LDAP **l) {
    if (*l)
        (void) ldap_unbind_ext_s(*l, NULL, NULL);
}

static int simple_bind(LDAP *l, const char *dn, const char *password) {
    struct berval cred = {
        .bv_val = (char *) (password ?: ""), .bv_len = password ? strlen(password) : 0};
    return ldap_sasl_bind_s(l, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

/* A connection to one server in the realm's mode, not yet bound. */
static int connect_server(const SectionConfigSection *realm, const char *server, LDAP **ret) {
    const char *mode = section_config_get(realm, "mode");
    const char *secure = section_config_get(realm, "secure"); /* deprecated: ldaps */
    if (!mode)
        mode = secure && streq(secure, "1") ? "ldaps" : "ldap";
    bool ldaps = streq(mode, "ldaps"), starttls = streq(mode, "ldap+starttls");
    if (!ldaps && !starttls && !streq(mode, "ldap"))
        return log_error_errno(EINVAL, "realm '%s': unknown mode '%s'", realm->id, mode);
    const char *port = section_config_get(realm, "port");
    char uri[512];
    bool v6 = strchr(server, ':') != NULL;
    if (snprintf(
            uri, sizeof uri, "%s://%s%s%s:%s", ldaps ? "ldaps" : "ldap", v6 ? "[" : "", server,
            v6 ? "]" : "", port ?: (ldaps ? "636" : "389")
        ) >= (int) sizeof uri)
        return -EINVAL;

    _cleanup_(ldap_unbindp) LDAP *l = NULL;
    int rc = ldap_initialize(&l, uri);
    if (rc != LDAP_SUCCESS)
        return log_error_errno(EINVAL, "realm '%s': %s: %s", realm->id, uri, ldap_err2string(rc));
    int version = LDAP_VERSION3, never = LDAP_OPT_X_TLS_NEVER, demand = LDAP_OPT_X_TLS_DEMAND,
        newctx = 0;
    struct timeval tv = {.tv_sec = LDAP_TIMEOUT_SEC};
    const char *verify = section_config_get(realm, "verify");
    const char *capath = section_config_get(realm, "capath");
    (void) ldap_set_option(l, LDAP_OPT_PROTOCOL_VERSION, &version);
    (void) ldap_set_option(l, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    (void) ldap_set_option(l, LDAP_OPT_TIMEOUT, &tv);
    (void) ldap_set_option(l, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    (void) ldap_set_option(
        l, LDAP_OPT_X_TLS_REQUIRE_CERT, verify && streq(verify, "1") ? &demand : &never
    );
    if (capath)
        (void) ldap_set_option(l, LDAP_OPT_X_TLS_CACERTDIR, capath);
    (void) ldap_set_option(l, LDAP_OPT_X_TLS_NEWCTX, &newctx);
    if (starttls) {
        rc = ldap_start_tls_s(l, NULL, NULL);
        if (rc != LDAP_SUCCESS) {
            log_warning(
                "realm '%s': STARTTLS with %s failed: %s", realm->id, uri, ldap_err2string(rc)
            );
            return -EHOSTUNREACH;
        }
    }
    *ret = TAKE_PTR(l);
    return 0;
}

/* Bind for the search (bind_dn or anonymous), find the user's entry, bind as it. */
static int check_on_server(
    const SectionConfigSection *realm,
    const char *server,
    const char *bind_password,
    const char *user,
    const char *password
) {
    _cleanup_(ldap_unbindp) LDAP *l = NULL;
    int r = connect_server(realm, server, &l);
    if (r < 0)
        return r;
    const char *bind_dn = section_config_get(realm, "bind_dn");
    int rc = simple_bind(l, bind_dn, bind_dn ? bind_password : NULL);
    if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT) {
        log_warning("realm '%s': server %s: %s", realm->id, server, ldap_err2string(rc));
        return -EHOSTUNREACH;
    }
    if (rc != LDAP_SUCCESS)
        return log_error_errno(
            EACCES, "realm '%s': bind as '%s' failed: %s", realm->id, bind_dn ?: "(anonymous)",
            ldap_err2string(rc)
        );

    const char *base = section_config_get(realm, "base_dn");
    const char *attr = section_config_get(realm, "user_attr");
    const char *extra = section_config_get(realm, "filter");
    _cleanup_free_ char *esc = ldap_filter_escape(user), *filter = NULL;
    if (!esc)
        return -ENOMEM;
    if (asprintf(
            &filter, extra ? "(&(%s=%s)%s%s%s)" : "(%s=%s)", attr, esc,
            extra && *extra != '(' ? "(" : "", extra ?: "", extra && *extra != '(' ? ")" : ""
        ) < 0)
        return -ENOMEM;
    char *no_attrs[] = {(char *) LDAP_NO_ATTRS, NULL};
    struct timeval tv = {.tv_sec = LDAP_TIMEOUT_SEC};
    LDAPMessage *res = NULL;
    rc = ldap_search_ext_s(
        l, base, LDAP_SCOPE_SUBTREE, filter, no_attrs, 1, NULL, NULL, &tv, 2, &res
    );
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
        ldap_msgfree(res);
        return log_error_errno(
            EACCES, "realm '%s': search %s in '%s' failed: %s", realm->id, filter, base,
            ldap_err2string(rc)
        );
    }
    int n = ldap_count_entries(l, res);
    char *dn = n == 1 ? ldap_get_dn(l, ldap_first_entry(l, res)) : NULL;
    ldap_msgfree(res);
    if (n != 1) {
        log_notice("realm '%s': %s matches %d entries, not one", realm->id, filter, n);
        return -EACCES;
    }
    if (!dn)
        return -ENOMEM;
    rc = simple_bind(l, dn, password);
    if (rc != LDAP_SUCCESS)
        log_notice("realm '%s': bind as '%s' failed: %s", realm->id, dn, ldap_err2string(rc));
    ldap_memfree(dn);
    return rc == LDAP_SUCCESS ? 0 : -EACCES;
}

/* Try each server in order until one answers (r != -EHOSTUNREACH). */
static int for_each_server(
    const SectionConfigSection *realm,
    int (*fn)(const SectionConfigSection *, const char *, const void *),
    const void *userdata
) {
    const char *servers[] = {
        section_config_get(realm, "server1"), section_config_get(realm, "server2")};
    int r = -EHOSTUNREACH;
    for (size_t i = 0; i < ELEMENTSOF(servers) && r == -EHOSTUNREACH; i++)
        if (servers[i])
            r = fn(realm, servers[i], userdata);
    return r;
}

typedef struct {
    const char *bind_password, *user, *password;
} Credentials;

static int ldap_on_server(const SectionConfigSection *realm, const char *server, const void *u) {
    const Credentials *c = u;
    return check_on_server(realm, server, c->bind_password, c->user, c->password);
}

/* AD: one bind as the user principal name, no search. */
static int ad_on_server(const SectionConfigSection *realm, const char *server, const void *u) {
    const Credentials *c = u;
    _cleanup_(ldap_unbindp) LDAP *l = NULL;
    int r = connect_server(realm, server, &l);
    if (r < 0)
        return r;
    int rc = simple_bind(l, c->user, c->password);
    if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT) {
        log_warning("realm '%s': server %s: %s", realm->id, server, ldap_err2string(rc));
        return -EHOSTUNREACH;
    }
    if (rc != LDAP_SUCCESS)
        log_notice("realm '%s': bind as '%s' failed: %s", realm->id, c->user, ldap_err2string(rc));
    return rc == LDAP_SUCCESS ? 0 : -EACCES;
}

int auth_ad_check(const SectionConfigSection *realm, const char *user, const char *password) {
    if (!password || !*password)
        return -EACCES;
    if (!section_config_get(realm, "server1"))
        return log_error_errno(EINVAL, "realm '%s': server1 is required", realm->id);
    const char *domain = section_config_get(realm, "domain");
    _cleanup_free_ char *upn = NULL;
    if (!strchr(user, '@') && domain && *domain) {
        if (asprintf(&upn, "%s@%s", user, domain) < 0)
            return -ENOMEM;
        user = upn;
    }
    return for_each_server(realm, ad_on_server, &(Credentials){.user = user, .password = password});
}

int auth_ldap_check(
    const SectionConfigSection *realm,
    const char *bind_password,
    const char *user,
    const char *password
) {
    if (!password || !*password)
        return -EACCES;
    if (!section_config_get(realm, "base_dn") || !section_config_get(realm, "user_attr") ||
        !section_config_get(realm, "server1"))
        return log_error_errno(
            EINVAL, "realm '%s': base_dn, user_attr and server1 are required", realm->id
        );
    return for_each_server(
        realm, ldap_on_server,
        &(Credentials){.bind_password = bind_password, .user = user, .password = password}
    );
}
