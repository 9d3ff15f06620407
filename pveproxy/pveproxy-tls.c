/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pveproxy-tls: OpenSSL cipher names to a GnuTLS priority string (see pveproxy-tls.h).
 */
#include "pveproxy-tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/strbuf.h"
#include "pve/string-util.h"

typedef struct Suite {
    const char *openssl;
    const char *kx; /* NULL for TLS 1.3 suites */
    const char *cipher;
    const char *mac;
} Suite;

static const Suite suites[] = {
    {"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA", "AES-256-GCM", "AEAD"},
    {"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA", "AES-256-GCM", "AEAD"},
    {"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA", "CHACHA20-POLY1305", "AEAD"},
    {"ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA", "CHACHA20-POLY1305", "AEAD"},
    {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA", "AES-128-GCM", "AEAD"},
    {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA", "AES-128-GCM", "AEAD"},
    {"ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA", "AES-256-CBC", "SHA384"},
    {"ECDHE-RSA-AES256-SHA384", "ECDHE-RSA", "AES-256-CBC", "SHA384"},
    {"ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA", "AES-128-CBC", "SHA256"},
    {"ECDHE-RSA-AES128-SHA256", "ECDHE-RSA", "AES-128-CBC", "SHA256"},
    {"ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA", "AES-256-CBC", "SHA1"},
    {"ECDHE-RSA-AES256-SHA", "ECDHE-RSA", "AES-256-CBC", "SHA1"},
    {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA", "AES-128-CBC", "SHA1"},
    {"ECDHE-RSA-AES128-SHA", "ECDHE-RSA", "AES-128-CBC", "SHA1"},
    {"DHE-RSA-AES256-GCM-SHA384", "DHE-RSA", "AES-256-GCM", "AEAD"},
    {"DHE-RSA-AES128-GCM-SHA256", "DHE-RSA", "AES-128-GCM", "AEAD"},
    {"DHE-RSA-CHACHA20-POLY1305", "DHE-RSA", "CHACHA20-POLY1305", "AEAD"},
    {"AES256-GCM-SHA384", "RSA", "AES-256-GCM", "AEAD"},
    {"AES128-GCM-SHA256", "RSA", "AES-128-GCM", "AEAD"},
    {"AES256-SHA256", "RSA", "AES-256-CBC", "SHA256"},
    {"AES128-SHA256", "RSA", "AES-128-CBC", "SHA256"},
    {"TLS_AES_256_GCM_SHA384", NULL, "AES-256-GCM", "AEAD"},
    {"TLS_AES_128_GCM_SHA256", NULL, "AES-128-GCM", "AEAD"},
    {"TLS_CHACHA20_POLY1305_SHA256", NULL, "CHACHA20-POLY1305", "AEAD"},
    {"TLS_AES_128_CCM_SHA256", NULL, "AES-128-CCM", "AEAD"},
};

#define TLS_GROUPS                                                                  \
    ":+GROUP-X25519:+GROUP-SECP256R1:+GROUP-X448:+GROUP-SECP521R1:+GROUP-SECP384R1" \
    ":+GROUP-FFDHE2048:+GROUP-FFDHE3072:+GROUP-FFDHE4096:+GROUP-FFDHE6144:+GROUP-FFDHE8192"

static const char *const default_tls13[] = {
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    NULL,
};

static const Suite *find(const char *name) {
    for (size_t i = 0; i < ELEMENTSOF(suites); i++)
        if (streq(suites[i].openssl, name))
            return &suites[i];
    return NULL;
}

/* append ":+item" unless already present */
static void add_unique(StrBuf *b, const char *item) {
    _cleanup_free_ char *needle = NULL;
    if (asprintf(&needle, ":+%s:", item) < 0) {
        b->error = -ENOMEM;
        return;
    }
    strbuf_append_char(b, ':'); /* sentinel so the last item matches too */
    bool have = b->data && strstr(b->data, needle);
    strbuf_truncate(b, b->len - 1);
    if (!have) {
        strbuf_append(b, ":+");
        strbuf_append(b, item);
    }
}

int pveproxy_tls_priorities(const ProxyConfig *c, char **ret, char **reterr_msg) {
    const Suite *chosen[64];
    size_t n = 0;
    _cleanup_free_ char *list = strdup(c->ciphers ? c->ciphers : "");
    if (!list)
        return -ENOMEM;
    char *save = NULL;
    for (char *t = strtok_r(list, ":, ", &save); t; t = strtok_r(NULL, ":, ", &save)) {
        if (t[0] == '!' || t[0] == '-' || t[0] == '@')
            continue; /* exclusions/strength rules: nothing to add */
        const Suite *s = find(t);
        if (!s || !s->kx) {
            if (reterr_msg && asprintf(reterr_msg, "CIPHERS: unsupported cipher '%s'", t) < 0)
                *reterr_msg = NULL;
            return -EINVAL;
        }
        if (n < ELEMENTSOF(chosen))
            chosen[n++] = s;
    }
    size_t n12 = n;
    if (c->ciphersuites) {
        _cleanup_free_ char *l13 = strdup(c->ciphersuites);
        if (!l13)
            return -ENOMEM;
        save = NULL;
        for (char *t = strtok_r(l13, ":, ", &save); t; t = strtok_r(NULL, ":, ", &save)) {
            const Suite *s = find(t);
            if (!s || s->kx) {
                if (reterr_msg &&
                    asprintf(reterr_msg, "CIPHERSUITES: unsupported suite '%s'", t) < 0)
                    *reterr_msg = NULL;
                return -EINVAL;
            }
            if (n < ELEMENTSOF(chosen))
                chosen[n++] = s;
        }
    } else
        for (const char *const *d = default_tls13; *d && n < ELEMENTSOF(chosen); d++)
            chosen[n++] = find(*d);
    if (n12 == 0 && !c->disable_tls_1_2) {
        if (reterr_msg && asprintf(reterr_msg, "CIPHERS: no cipher for TLS 1.2") < 0)
            *reterr_msg = NULL;
        return -EINVAL;
    }

    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    strbuf_append(&b, "NONE");
    if (!c->disable_tls_1_3)
        add_unique(&b, "VERS-TLS1.3");
    if (!c->disable_tls_1_2)
        add_unique(&b, "VERS-TLS1.2");
    for (size_t i = 0; i < n; i++)
        if (chosen[i]->kx ? !c->disable_tls_1_2 : !c->disable_tls_1_3)
            add_unique(&b, chosen[i]->cipher);
    for (size_t i = 0; i < n; i++)
        if (chosen[i]->kx ? !c->disable_tls_1_2 : !c->disable_tls_1_3)
            add_unique(&b, chosen[i]->mac);
    for (size_t i = 0; i < n12 && !c->disable_tls_1_2; i++)
        add_unique(&b, chosen[i]->kx);
    /* OpenSSL's default group order (upstream's), and no GROUP-ALL: GnuTLS's own order puts
     * SECP256R1 first, and with %SERVER_PRECEDENCE a client that sent an X25519 key share
     * (all current browsers, curl, OpenSSL) then gets a HelloRetryRequest: one more round
     * trip and a second key exchange for every handshake. */
    strbuf_append(&b, ":+SIGN-ALL" TLS_GROUPS ":+COMP-NULL:+CTYPE-X509");
    if (c->honor_cipher_order)
        strbuf_append(&b, ":%SERVER_PRECEDENCE");
    return strbuf_finish(&b, ret, NULL);
}
