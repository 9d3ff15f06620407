/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tfa: second factors of API logins: TOTP codes (RFC 6238 over RFC 4226 HOTP) from otpauth://
 * URIs, recovery keys (stored as keyed hashes, each usable once), and the per-user objects of
 * priv/tfa.cfg. See pve/tfa.h for the file layout.
 */
#include "pve/tfa.h"

#include <sys/random.h>

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/json-util.h"
#include "pve/macro.h"
#include "pve/string-util.h"

#define RECOVERY_SECRET_BYTES 32
#define RECOVERY_KEY_BYTES    8
#define RECOVERY_KEY_LEN      (RECOVERY_KEY_BYTES * 2 + 3) /* "xxxx-xxxx-xxxx-xxxx" */

/* ---- TOTP --------------------------------------------------------------------------------- */

int tfa_base32_decode(const char *s, uint8_t *out, size_t cap, size_t *ret_len) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t n = 0;
    bool padding = false;

    for (; *s; s++) {
        if (*s == '=') {
            padding = true;
            continue;
        }
        const char *p = strchr(alphabet, toupper((unsigned char) *s));
        if (!p || padding) /* nothing but padding after padding */
            return -EINVAL;
        acc = (acc << 5) | (uint32_t) (p - alphabet);
        bits += 5;
        if (bits >= 8) {
            if (n >= cap)
                return -E2BIG;
            bits -= 8;
            out[n++] = (uint8_t) (acc >> bits);
        }
    }
    *ret_len = n;
    return 0;
}

static int unhex(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char) tolower((unsigned char) c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..len) into buf (NUL-terminated); -EINVAL for a bad escape or NUL. */
static int query_value(const char *s, size_t len, char *buf, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int h = i + 2 < len ? unhex(s[i + 1]) : -1, l = h >= 0 ? unhex(s[i + 2]) : -1;
            if (l < 0)
                return -EINVAL;
            c = (char) (h << 4 | l);
            i += 2;
        } else if (c == '+')
            c = ' ';
        if (c == 0 || o + 1 >= cap)
            return -EINVAL;
        buf[o++] = c;
    }
    buf[o] = 0;
    return 0;
}

static int parse_uint(const char *v, unsigned min, unsigned max, unsigned *ret) {
    char *end = NULL;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || end == v || *end || !isdigit((unsigned char) *v) || n < min || n > max)
        return -EINVAL;
    *ret = (unsigned) n;
    return 0;
}

/* One "key=value" of the query into t; unknown keys (issuer, image, ...) are ignored. */
static int
totp_param(TfaTotp *t, const char *kv, size_t len, bool *seen_secret, const char **reterr) {
    const char *eq = memchr(kv, '=', len);
    char value[256];
    if (!eq)
        return 0;
    size_t klen = (size_t) (eq - kv);
    if (query_value(eq + 1, len - klen - 1, value, sizeof(value)) < 0) {
        *reterr = "bad value in the otpauth URI's query";
        return -EINVAL;
    }
    int r = 0;
    if (klen == 6 && strncasecmp(kv, "secret", 6) == 0) {
        r = tfa_base32_decode(value, t->secret, sizeof(t->secret), &t->secret_len);
        if (r < 0 || t->secret_len == 0) {
            *reterr = "secret is not valid base32";
            return -EINVAL;
        }
        *seen_secret = true;
    } else if (klen == 9 && strncasecmp(kv, "algorithm", 9) == 0) {
        static const char *const algs[] = {"SHA1", "SHA256", "SHA512"};
        t->algorithm = NULL;
        for (size_t i = 0; i < ELEMENTSOF(algs); i++)
            if (strcasecmp(value, algs[i]) == 0)
                t->algorithm = algs[i];
        if (!t->algorithm) {
            *reterr = "unsupported algorithm (SHA1, SHA256 or SHA512)";
            return -EINVAL;
        }
    } else if (klen == 6 && strncasecmp(kv, "digits", 6) == 0) {
        if (parse_uint(value, 6, 8, &t->digits) < 0) {
            *reterr = "digits must be 6, 7 or 8";
            return -EINVAL;
        }
    } else if (klen == 6 && strncasecmp(kv, "period", 6) == 0) {
        if (parse_uint(value, 1, 3600, &t->period) < 0) {
            *reterr = "period must be 1 to 3600 seconds";
            return -EINVAL;
        }
    }
    explicit_bzero(value, sizeof(value));
    return r;
}

int tfa_totp_parse(const char *uri, TfaTotp *ret, const char **reterr) {
    static const char scheme[] = "otpauth://totp/";
    const char *dummy;
    if (!reterr)
        reterr = &dummy;
    *ret = (TfaTotp){.algorithm = "SHA1", .digits = 6, .period = 30};
    if (!uri || strncasecmp(uri, scheme, (sizeof(scheme) - 1)) != 0) {
        *reterr = "not an otpauth://totp/ URI";
        return -EINVAL;
    }
    const char *q = strchr(uri + (sizeof(scheme) - 1), '?');
    if (!q) {
        *reterr = "otpauth URI without a secret";
        return -EINVAL;
    }
    bool seen_secret = false;
    for (const char *p = q + 1; *p;) {
        size_t len = strcspn(p, "&");
        int r = totp_param(ret, p, len, &seen_secret, reterr);
        if (r < 0) {
            explicit_bzero(ret->secret, sizeof(ret->secret));
            return r;
        }
        p += len + (p[len] == '&');
    }
    if (!seen_secret) {
        *reterr = "otpauth URI without a secret";
        return -EINVAL;
    }
    return 0;
}

int tfa_totp_code(const TfaTotp *t, uint64_t counter, char ret[static 10]) {
    const EVP_MD *md = streq(t->algorithm, "SHA512")   ? EVP_sha512()
                       : streq(t->algorithm, "SHA256") ? EVP_sha256()
                                                       : EVP_sha1();
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    for (int i = 7; i >= 0; i--, counter >>= 8)
        msg[i] = (uint8_t) counter;
    if (!HMAC(md, t->secret, (int) t->secret_len, msg, sizeof(msg), mac, &maclen) || maclen < 20)
        return -EIO;
    unsigned off = mac[maclen - 1] & 0x0f;
    uint32_t bin = (uint32_t) (mac[off] & 0x7f) << 24 | (uint32_t) mac[off + 1] << 16 |
                   (uint32_t) mac[off + 2] << 8 | mac[off + 3];
    uint32_t mod = 1;
    for (unsigned i = 0; i < t->digits; i++)
        mod *= 10;
    snprintf(ret, 10, "%0*u", (int) t->digits, (unsigned) (bin % mod));
    return 0;
}

int tfa_totp_verify(const char *uri, const char *code, int64_t now) {
    TfaTotp t;
    int r = tfa_totp_parse(uri, &t, NULL);
    if (r < 0)
        return r;
    r = -EACCES;
    if (code && strlen(code) == t.digits && now >= 0) {
        uint64_t step = (uint64_t) now / t.period;
        for (int d = -TFA_TOTP_WINDOW; d <= TFA_TOTP_WINDOW; d++) {
            char want[10];
            if ((d < 0 && step < (uint64_t) -d) || tfa_totp_code(&t, step + (uint64_t) d, want) < 0)
                continue;
            if (CRYPTO_memcmp(want, code, t.digits) == 0)
                r = 0;
        }
    }
    explicit_bzero(&t, sizeof(t));
    return r;
}

/* ---- recovery keys ------------------------------------------------------------------------ */

static void hex_encode(const uint8_t *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

/* hex HMAC-SHA256(key = the recovery secret string, message = the key as typed, normalized) */
static int recovery_hash(const char *secret, const char *key, char ret[static 65]) {
    char norm[RECOVERY_KEY_LEN + 1];
    size_t n = 0;
    for (; *key; key++) {
        if (isspace((unsigned char) *key))
            continue;
        if (n == RECOVERY_KEY_LEN)
            return -EINVAL;
        norm[n++] = (char) tolower((unsigned char) *key);
    }
    if (n != RECOVERY_KEY_LEN)
        return -EINVAL;
    uint8_t mac[32];
    unsigned maclen = 0;
    if (!HMAC(EVP_sha256(), secret, (int) strlen(secret), (const uint8_t *) norm, n, mac, &maclen))
        return -EIO;
    hex_encode(mac, sizeof(mac), ret);
    explicit_bzero(norm, sizeof(norm));
    return 0;
}

void tfa_keys_free(char **keys) {
    if (!keys)
        return;
    for (char **k = keys; *k; k++) {
        explicit_bzero(*k, strlen(*k));
        free(*k);
    }
    free(keys);
}

static int random_hex(size_t bytes, char *out) {
    uint8_t buf[64];
    assert(bytes <= sizeof(buf));
    if (getrandom(buf, bytes, 0) != (ssize_t) bytes)
        return -EIO;
    hex_encode(buf, bytes, out);
    explicit_bzero(buf, sizeof(buf));
    return 0;
}

int tfa_recovery_new(int64_t now, char ***ret_keys, json_t **ret_recovery) {
    char secret[RECOVERY_SECRET_BYTES * 2 + 1];
    _cleanup_json_ json_t *entries = json_array();
    char **keys = calloc(TFA_RECOVERY_KEYS + 1, sizeof(char *));
    int r = entries && keys ? random_hex(RECOVERY_SECRET_BYTES, secret) : -ENOMEM;

    for (size_t i = 0; r >= 0 && i < TFA_RECOVERY_KEYS; i++) {
        char hex[RECOVERY_KEY_BYTES * 2 + 1], hash[65];
        r = random_hex(RECOVERY_KEY_BYTES, hex);
        if (r < 0)
            break;
        keys[i] = malloc(RECOVERY_KEY_LEN + 1);
        if (!keys[i]) {
            r = -ENOMEM;
            break;
        }
        snprintf(
            keys[i], RECOVERY_KEY_LEN + 1, "%.4s-%.4s-%.4s-%.4s", hex, hex + 4, hex + 8, hex + 12
        );
        r = recovery_hash(secret, keys[i], hash);
        if (r >= 0 && json_array_append_new(entries, json_string(hash)) < 0)
            r = -ENOMEM;
    }
    json_t *o = NULL;
    if (r >= 0) {
        o = json_pack(
            "{s:s,s:O,s:I}", "secret", secret, "entries", entries, "created", (json_int_t) now
        );
        if (!o)
            r = -ENOMEM;
    }
    explicit_bzero(secret, sizeof(secret));
    if (r < 0) {
        tfa_keys_free(keys);
        return r;
    }
    *ret_keys = keys;
    *ret_recovery = o;
    return 0;
}

int tfa_recovery_use(json_t *recovery, const char *key) {
    const char *secret = json_string_value(json_object_get(recovery, "secret"));
    json_t *entries = json_object_get(recovery, "entries");
    char hash[65];
    if (!secret || !json_is_array(entries) || recovery_hash(secret, key, hash) < 0)
        return -EACCES;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        const char *h = json_string_value(e);
        if (h && strlen(h) == 64 && CRYPTO_memcmp(h, hash, 64) == 0)
            return json_array_set_new(entries, i, json_null()) < 0 ? -ENOMEM : 0;
    }
    return -EACCES;
}

/* ---- tfa.cfg ------------------------------------------------------------------------------ */

static int layout_error(char **reterr, const char *userid, const char *what) {
    if (reterr && asprintf(reterr, "user '%s': %s", userid, what) < 0)
        *reterr = NULL;
    return -EINVAL;
}

/* What we rely on in a user's object; other members are kept untouched. */
static int check_user(const char *userid, const json_t *user, char **reterr) {
    if (!json_is_object(user))
        return layout_error(reterr, userid, "not an object");
    const json_t *totp = json_object_get(user, "totp");
    if (totp) {
        if (!json_is_array(totp))
            return layout_error(reterr, userid, "'totp' is not a list");
        size_t i;
        const json_t *e;
        json_array_foreach(totp, i, e) {
            if (!json_is_string(json_object_get(e, "entry")) ||
                !json_is_string(json_object_get(e, "id")))
                return layout_error(reterr, userid, "totp entry without 'id' or 'entry'");
            const json_t *en = json_object_get(e, "enable");
            if (en && !json_is_boolean(en))
                return layout_error(reterr, userid, "totp 'enable' is not a boolean");
        }
    }
    const json_t *rec = json_object_get(user, "recovery");
    if (rec && !json_is_null(rec)) {
        const json_t *entries = json_object_get(rec, "entries");
        if (!json_is_string(json_object_get(rec, "secret")) || !json_is_array(entries))
            return layout_error(reterr, userid, "'recovery' without 'secret' or 'entries'");
        size_t i;
        const json_t *e;
        json_array_foreach(entries, i, e) if (!json_is_string(e) && !json_is_null(e)) return layout_error(
            reterr, userid, "recovery entries must be strings or null"
        );
    }
    return 0;
}

int tfa_cfg_parse(const char *text, size_t len, json_t **ret, char **reterr) {
    json_error_t err;
    if (reterr)
        *reterr = NULL;
    size_t skip = 0;
    while (skip < len && isspace((unsigned char) text[skip]))
        skip++;
    if (skip == len) {
        *ret = json_pack("{s:{}}", "users");
        return *ret ? 0 : -ENOMEM;
    }
    _cleanup_json_ json_t *cfg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!cfg) {
        if (reterr && asprintf(reterr, "line %d: %s", err.line, err.text) < 0)
            *reterr = NULL;
        return -EINVAL;
    }
    if (!json_is_object(cfg)) {
        if (reterr)
            *reterr = strdup("not a JSON object");
        return -EINVAL;
    }
    json_t *users = json_object_get(cfg, "users");
    if (!users) {
        if (json_object_set_new(cfg, "users", json_object()) < 0)
            return -ENOMEM;
    } else if (!json_is_object(users)) {
        if (reterr)
            *reterr = strdup("'users' is not an object");
        return -EINVAL;
    } else {
        const char *userid;
        json_t *user;
        json_object_foreach(users, userid, user) {
            int r = check_user(userid, user, reterr);
            if (r < 0)
                return r;
        }
    }
    *ret = TAKE_PTR(cfg);
    return 0;
}

int tfa_cfg_print(const json_t *cfg, char **ret) {
    char *s = json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!s)
        return -ENOMEM;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return -ENOMEM;
    }
    t[n] = '\n';
    t[n + 1] = 0;
    *ret = t;
    return 0;
}

json_t *tfa_cfg_user(json_t *cfg, const char *userid, bool create) {
    json_t *users = json_object_get(cfg, "users");
    json_t *user = json_object_get(users, userid);
    if (user || !create || !json_is_object(users))
        return user;
    user = json_object();
    if (!user || json_object_set_new(users, userid, user) < 0)
        return NULL;
    return user;
}

static bool entry_enabled(const json_t *e) {
    return !json_is_false(json_object_get(e, "enable"));
}

static size_t recovery_left(const json_t *rec) {
    size_t left = 0, i;
    const json_t *e;
    json_array_foreach(json_object_get(rec, "entries"), i, e) left += json_is_string(e);
    return left;
}

/* One API list entry from a stored entry with the given type. */
static json_t *list_entry(const char *type, const json_t *e) {
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:I}", "type", type, "id", json_string_value(json_object_get(e, "id")) ?: "",
        "description", json_string_value(json_object_get(e, "description")) ?: "", "created",
        (json_int_t) json_integer_value(json_object_get(e, "created"))
    );
    if (o && !entry_enabled(e) && json_object_set_new(o, "enable", json_false()) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* the member of a user's object holding each kind of entry list, in listing order */
static const char *const entry_types[] = {"totp", "u2f", "webauthn", "yubico"};

json_t *tfa_user_entries(const json_t *user) {
    _cleanup_json_ json_t *list = json_array();
    if (!list)
        return NULL;
    for (size_t t = 0; t < ELEMENTSOF(entry_types); t++) {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(user, entry_types[t]), i, e) {
            if (json_array_append_new(list, list_entry(entry_types[t], e)) < 0)
                return NULL;
        }
    }
    const json_t *rec = json_object_get(user, "recovery");
    if (json_is_object(rec)) {
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:I}", "type", "recovery", "id", "recovery", "description",
            "recovery keys", "created",
            (json_int_t) json_integer_value(json_object_get(rec, "created"))
        );
        if (json_array_append_new(list, o) < 0)
            return NULL;
    }
    return TAKE_PTR(list);
}

json_t *tfa_user_find(
    json_t *user, const char *id, const char **ret_type, json_t **ret_list, size_t *ret_index
) {
    for (size_t t = 0; t < ELEMENTSOF(entry_types); t++) {
        json_t *list = json_object_get(user, entry_types[t]), *e;
        size_t i;
        json_array_foreach(list, i, e) {
            const char *eid = json_string_value(json_object_get(e, "id"));
            if (eid && id && streq(eid, id)) {
                *ret_type = entry_types[t];
                *ret_list = list;
                *ret_index = i;
                return e;
            }
        }
    }
    return NULL;
}

bool tfa_user_challenge(const json_t *user, json_t **ret_challenge) {
    static const char *const unchecked[] = {"u2f", "webauthn", "yubico"};
    bool required = false, totp = false;
    size_t i;
    const json_t *e;

    json_array_foreach(json_object_get(user, "totp"), i, e) totp |= entry_enabled(e);
    required = totp;
    /* factors this server cannot check still make a second factor required: fail closed */
    for (size_t t = 0; t < ELEMENTSOF(unchecked); t++)
        json_array_foreach(json_object_get(user, unchecked[t]), i, e) required |= entry_enabled(e);
    const json_t *rec = json_object_get(user, "recovery");
    required |= json_is_object(rec);

    if (ret_challenge) {
        json_t *c = json_object(), *avail = json_array();
        if (totp)
            json_object_set_new(c, "totp", json_true());
        json_array_foreach(json_object_get(rec, "entries"), i, e) if (json_is_string(e))
            json_array_append_new(avail, json_integer((json_int_t) i));
        if (json_array_size(avail) > 0)
            json_object_set(c, "recovery", avail);
        json_decref(avail);
        *ret_challenge = c;
    }
    return required;
}

int tfa_user_verify(json_t *user, const char *response, int64_t now, bool *ret_changed) {
    *ret_changed = false;
    if (!response)
        return -EACCES;
    if (startswith(response, "totp:")) {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(user, "totp"), i, e) {
            if (entry_enabled(e) &&
                tfa_totp_verify(
                    json_string_value(json_object_get(e, "entry")), response + 5, now
                ) == 0)
                return 0;
        }
        return -EACCES;
    }
    if (startswith(response, "recovery:")) {
        json_t *rec = json_object_get(user, "recovery");
        if (!json_is_object(rec) || recovery_left(rec) == 0)
            return -EACCES;
        int r = tfa_recovery_use(rec, response + 9);
        if (r == 0)
            *ret_changed = true;
        return r;
    }
    return -EACCES;
}
