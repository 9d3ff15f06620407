/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * auth-ticket: PVE API credentials (api.md §2.2-2.4, §2.7). Owns the byte-exact formats of
 * tickets, CSRF tokens, API token headers and shadow.cfg hashes, and the ticket age windows.
 * Must not do file I/O, look at clocks other than through its arguments (except the salt's
 * randomness), or log: callers decide what a failure means.
 */
#include "pve/auth-ticket.h"

#include <assert.h>
#include <crypt.h>
#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pve/strbuf.h"
#include "pve/string-util.h"

#define TICKET_PREFIX "PVE:"

DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(EVP_PKEY *, EVP_PKEY_free);
DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(EVP_PKEY_CTX *, EVP_PKEY_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(EVP_MD_CTX *, EVP_MD_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(BIO *, BIO_free_all);

/* ---- base64 ------------------------------------------------------------------------------ */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int auth_base64_encode(const void *data, size_t len, bool padding, char **ret) {
    const uint8_t *p = data;
    assert(ret);
    if (len > SIZE_MAX / 2)
        return -ENOMEM;
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return -ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t) p[i] << 16;
        size_t n = MIN(len - i, (size_t) 3);
        if (n > 1)
            v |= (uint32_t) p[i + 1] << 8;
        if (n > 2)
            v |= p[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        if (n > 1)
            out[o++] = b64_alphabet[(v >> 6) & 63];
        else if (padding)
            out[o++] = '=';
        if (n > 2)
            out[o++] = b64_alphabet[v & 63];
        else if (padding)
            out[o++] = '=';
    }
    out[o] = 0;
    *ret = out;
    return 0;
}

static int b64_value(char c) {
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int) (p - b64_alphabet) : -1;
}

int auth_base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len) {
    assert(s || len == 0);
    while (len > 0 && s[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -EBADMSG;
    uint8_t *out = malloc(len / 4 * 3 + 3);
    if (!out)
        return -ENOMEM;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(s[i]);
        if (v < 0) {
            free(out);
            return -EBADMSG;
        }
        acc = (acc << 6) | (uint32_t) v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t) (acc >> bits);
        }
    }
    *ret = out;
    if (ret_len)
        *ret_len = o;
    return 0;
}

/* ---- key material ------------------------------------------------------------------------ */

static int bio_to_string(BIO *bio, char **ret) {
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0 || !data)
        return -EIO;
    char *s = strndup(data, (size_t) n);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

int auth_key_generate(char **ret_private_pem, char **ret_public_pem) {
    _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
    _cleanup_(erase_and_freep) char *priv = NULL;
    _cleanup_free_ char *pub = NULL;
    int r;

    assert(ret_private_pem);
    assert(ret_public_pem);
    if (!ctx)
        return -ENOMEM;
    if (EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) <= 0 ||
        EVP_PKEY_keygen(ctx, &pkey) <= 0)
        return -EIO;

    {
        _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());
        if (!bio)
            return -ENOMEM;
        if (!PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL))
            return -EIO;
        r = bio_to_string(bio, &priv);
        /* the memory BIO held the key too: clear it before it is released */
        BUF_MEM *mem = NULL;
        BIO_get_mem_ptr(bio, &mem);
        if (mem && mem->data)
            OPENSSL_cleanse(mem->data, mem->max);
        if (r < 0)
            return r;
    }
    {
        _cleanup_(BIO_free_allp) BIO *bio = BIO_new(BIO_s_mem());
        if (!bio)
            return -ENOMEM;
        if (!PEM_write_bio_PUBKEY(bio, pkey))
            return -EIO;
        r = bio_to_string(bio, &pub);
        if (r < 0)
            return r;
    }
    *ret_private_pem = TAKE_PTR(priv);
    *ret_public_pem = TAKE_PTR(pub);
    return 0;
}

static EVP_PKEY *parse_public(const char *pem) {
    _cleanup_(BIO_free_allp) BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio)
        return NULL;
    EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (k && EVP_PKEY_base_id(k) != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

/* Parsing a PEM key costs ~0.7 ms, more than the rest of a request: the last few parsed
 * public keys are kept (compared by their PEM text, so a rotated key is simply new). */
#define PUBKEY_CACHE_SIZE 4
static struct {
    char *pem;
    EVP_PKEY *key;
} pubkey_cache[PUBKEY_CACHE_SIZE];
static unsigned pubkey_cache_next;
static pthread_mutex_t pubkey_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static EVP_PKEY *load_public(const char *pem) {
    EVP_PKEY *k = NULL;
    pthread_mutex_lock(&pubkey_cache_lock);
    for (unsigned i = 0; i < PUBKEY_CACHE_SIZE && !k; i++)
        if (pubkey_cache[i].pem && streq(pubkey_cache[i].pem, pem) &&
            EVP_PKEY_up_ref(pubkey_cache[i].key) == 1)
            k = pubkey_cache[i].key;
    pthread_mutex_unlock(&pubkey_cache_lock);
    if (k)
        return k;
    k = parse_public(pem);
    char *copy = k ? strdup(pem) : NULL;
    if (!copy || EVP_PKEY_up_ref(k) != 1) {
        free(copy);
        return k;
    }
    pthread_mutex_lock(&pubkey_cache_lock);
    unsigned slot = pubkey_cache_next++ % PUBKEY_CACHE_SIZE;
    free(pubkey_cache[slot].pem);
    EVP_PKEY_free(pubkey_cache[slot].key);
    pubkey_cache[slot].pem = copy;
    pubkey_cache[slot].key = k;
    pthread_mutex_unlock(&pubkey_cache_lock);
    return k;
}

static EVP_PKEY *load_private(const char *pem) {
    _cleanup_(BIO_free_allp) BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio)
        return NULL;
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (k && EVP_PKEY_base_id(k) != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

static const EVP_MD *ticket_md(TicketHash h) {
    switch (h) {
    case TICKET_HASH_SHA1:
        return EVP_sha1();
    case TICKET_HASH_SHA256:
        return EVP_sha256();
    default:
        return NULL;
    }
}

/* ---- identifiers ------------------------------------------------------------------------- */

static bool is_name_char(char c) {
    return isalnum((unsigned char) c) || c == '.' || c == '-' || c == '_';
}

/* [A-Za-z][A-Za-z0-9.-_]+ over s[0..len) */
static bool name_valid(const char *s, size_t len) {
    if (len < 2 || !isalpha((unsigned char) s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_name_char(s[i]))
            return false;
    return true;
}

static bool userid_valid_len(const char *s, size_t len) {
    if (len == 0 || len > 64)
        return false;
    const char *at = memrchr(s, '@', len);
    if (!at || at == s)
        return false;
    for (const char *p = s; p < at; p++)
        if (isspace((unsigned char) *p) || *p == ':' || *p == '/' || *p == 0)
            return false;
    return name_valid(at + 1, len - (size_t) (at + 1 - s));
}

bool userid_is_valid(const char *userid) {
    return userid && userid_valid_len(userid, strlen(userid));
}

bool token_name_is_valid(const char *name) {
    return name && name_valid(name, strlen(name));
}

bool tokenid_is_valid(const char *tokenid) {
    if (!tokenid)
        return false;
    const char *bang = strrchr(tokenid, '!');
    if (!bang)
        return false;
    return userid_valid_len(tokenid, (size_t) (bang - tokenid)) && token_name_is_valid(bang + 1);
}

/* ---- tickets ----------------------------------------------------------------------------- */

int ticket_create_aad(
    const char *private_pem,
    const char *userid,
    const char *aad,
    int64_t time,
    TicketHash hash,
    char **ret_ticket
) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
    _cleanup_free_ uint8_t *sig = NULL;
    _cleanup_free_ char *sig64 = NULL;
    const EVP_MD *type = ticket_md(hash);
    size_t siglen = 0;
    int r;

    assert(ret_ticket);
    if (!private_pem || !userid || !*userid || !type || time < 0 || time > UINT32_MAX)
        return -EINVAL;
    for (const char *p = userid; *p; p++)
        if (isspace((unsigned char) *p))
            return -EINVAL;
    pkey = load_private(private_pem);
    if (!pkey)
        return -EINVAL;

    strbuf_append(&b, TICKET_PREFIX);
    for (const char *p = userid; *p; p++)
        if (*p == ':')
            strbuf_append(&b, "%3A");
        else
            strbuf_append_char(&b, *p);
    strbuf_printf(&b, ":%08X", (unsigned) time);
    size_t plain_len = b.len;
    if (aad) /* signed, then cut off again: the ticket does not carry it */
        strbuf_printf(&b, ":%s", aad);
    if (b.error)
        return b.error;

    md = EVP_MD_CTX_new();
    if (!md)
        return -ENOMEM;
    if (EVP_DigestSignInit(md, NULL, type, NULL, pkey) <= 0 ||
        EVP_DigestSign(md, NULL, &siglen, (const uint8_t *) b.data, b.len) <= 0)
        return -EIO;
    sig = malloc(siglen);
    if (!sig)
        return -ENOMEM;
    if (EVP_DigestSign(md, sig, &siglen, (const uint8_t *) b.data, b.len) <= 0)
        return -EIO;
    b.len = plain_len;
    r = auth_base64_encode(sig, siglen, true, &sig64);
    if (r < 0)
        return r;
    strbuf_append(&b, "::");
    strbuf_append(&b, sig64);
    return strbuf_finish(&b, ret_ticket, NULL);
}

int ticket_create(
    const char *private_pem, const char *userid, int64_t time, TicketHash hash, char **ret_ticket
) {
    return ticket_create_aad(private_pem, userid, NULL, time, hash, ret_ticket);
}

void ticket_age_window(const TicketKeys *keys, bool old_key, int64_t *ret_min, int64_t *ret_max) {
    int64_t key_age = keys->key_age;
    int64_t min = -TICKET_CLOCK_SKEW, max = TICKET_LIFETIME;

    /* clamp so the arithmetic below cannot overflow and future mtimes count as brand new */
    if (key_age < 0)
        key_age = 0;
    if (key_age > INT64_C(1) << 40)
        key_age = INT64_C(1) << 40;

    if (old_key) {
        /* the ticket must have been issued before the current key replaced this one */
        min = key_age - TICKET_CLOCK_SKEW;
    } else {
        /* no ticket signed by this key can be older than the key itself */
        if (key_age < TICKET_LIFETIME)
            max = key_age + TICKET_CLOCK_SKEW;
        /* a quorate cluster would have rotated the key by now: reject tickets from after that */
        if (key_age > AUTHKEY_LIFETIME && keys->quorate)
            min = key_age - AUTHKEY_LIFETIME;
    }
    *ret_min = min;
    *ret_max = max;
}

static int verify_signature(
    const char *pem, const char *plain, size_t plain_len, const uint8_t *sig, size_t siglen
) {
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = load_public(pem);
    if (!pkey)
        return -EINVAL;
    for (TicketHash h = 0; h < _TICKET_HASH_MAX; h++) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (!md)
            return -ENOMEM;
        if (EVP_DigestVerifyInit(md, NULL, ticket_md(h), NULL, pkey) <= 0)
            return -EIO;
        if (EVP_DigestVerify(md, sig, siglen, (const uint8_t *) plain, plain_len) == 1)
            return 0;
    }
    return -EACCES;
}

static int unhex(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ticket_verify_aad(
    const char *ticket,
    const TicketKeys *keys,
    const char *aad,
    int64_t now,
    char **ret_userid,
    int64_t *ret_age
) {
    _cleanup_free_ uint8_t *sig = NULL;
    _cleanup_free_ char *userid = NULL, *signed_text = NULL;
    size_t siglen;
    int r;

    assert(keys);
    if (!ticket || !startswith(ticket, TICKET_PREFIX))
        return -EBADMSG;
    size_t len = strlen(ticket);
    if (len > 8192)
        return -EBADMSG;
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char) ticket[i]))
            return -EBADMSG;

    /* "<plain>::<sig>", the signature has no ':' */
    const char *last = strrchr(ticket, ':');
    if (!last[1] || last - ticket < (ptrdiff_t) STRLEN(TICKET_PREFIX) + 1 || last[-1] != ':')
        return -EBADMSG;
    size_t plain_len = (size_t) (last - 1 - ticket);
    const char *sigtxt = last + 1;

    /* "PVE:<data>:<TTTTTTTT>" */
    if (plain_len < STRLEN(TICKET_PREFIX) + 1 + 1 + 8 || ticket[plain_len - 9] != ':')
        return -EBADMSG;
    uint32_t t = 0;
    for (size_t i = plain_len - 8; i < plain_len; i++) {
        char c = ticket[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            return -EBADMSG;
        t = t << 4 | (uint32_t) unhex(c);
    }
    const char *data = ticket + STRLEN(TICKET_PREFIX);
    size_t data_len = plain_len - 9 - STRLEN(TICKET_PREFIX);

    userid = malloc(data_len + 1);
    if (!userid)
        return -ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < data_len; i++) {
        if (data[i] == '%' && i + 2 < data_len && data[i + 1] == '3' &&
            (data[i + 2] == 'A' || data[i + 2] == 'a')) {
            userid[o++] = ':';
            i += 2;
        } else
            userid[o++] = data[i];
    }
    userid[o] = 0;
    if (o == 0 || strlen(userid) != o)
        return -EBADMSG;

    r = auth_base64_decode(sigtxt, strlen(sigtxt), &sig, &siglen);
    if (r < 0)
        return r == -ENOMEM ? r : -EBADMSG;

    const char *text = ticket;
    size_t text_len = plain_len;
    if (aad) {
        if (asprintf(&signed_text, "%.*s:%s", (int) plain_len, ticket, aad) < 0)
            return -ENOMEM;
        text = signed_text;
        text_len = strlen(signed_text);
    }

    int64_t age = now - (int64_t) t, min, max;
    r = keys->public_pem ? verify_signature(keys->public_pem, text, text_len, sig, siglen)
                         : -EACCES;
    if (r == 0) {
        ticket_age_window(keys, false, &min, &max);
        if (!(age > min && age < max))
            r = -ETIME;
    }
    if (r < 0 && r != -ENOMEM && keys->old_public_pem) {
        int q = verify_signature(keys->old_public_pem, text, text_len, sig, siglen);
        if (q == 0) {
            ticket_age_window(keys, true, &min, &max);
            q = age > min && age < max ? 0 : -ETIME;
        }
        if (q == 0 || r == -EACCES || r == -EINVAL)
            r = q;
    }
    if (r < 0)
        return r;

    if (ret_userid)
        *ret_userid = TAKE_PTR(userid);
    if (ret_age)
        *ret_age = age;
    return 0;
}

int ticket_verify(
    const char *ticket, const TicketKeys *keys, int64_t now, char **ret_userid, int64_t *ret_age
) {
    return ticket_verify_aad(ticket, keys, NULL, now, ret_userid, ret_age);
}

/* ---- console tickets ---------------------------------------------------------------------- */

#define VNC_TICKET_PREFIX "PVEVNC:"

static int vnc_signed_text(
    const char *plain,
    size_t plain_len,
    const char *userid,
    const char *path,
    unsigned port,
    char **ret
) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    strbuf_printf(&b, "%.*s:%s:%s", (int) plain_len, plain, userid, path);
    if (port > 0)
        strbuf_printf(&b, ":%u", port);
    return strbuf_finish(&b, ret, NULL);
}

int vnc_ticket_create(
    const char *private_pem,
    const char *userid,
    const char *path,
    unsigned port,
    int64_t time,
    char **ret_ticket
) {
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
    _cleanup_free_ uint8_t *sig = NULL;
    _cleanup_free_ char *sig64 = NULL, *text = NULL;
    char plain[STRLEN(VNC_TICKET_PREFIX) + 9];
    size_t siglen = 0;
    int r;

    assert(ret_ticket);
    if (!private_pem || !userid || !path || time < 0 || time > UINT32_MAX)
        return -EINVAL;
    pkey = load_private(private_pem);
    if (!pkey)
        return -EINVAL;
    snprintf(plain, sizeof(plain), VNC_TICKET_PREFIX "%08X", (unsigned) time);
    r = vnc_signed_text(plain, strlen(plain), userid, path, port, &text);
    if (r < 0)
        return r;
    md = EVP_MD_CTX_new();
    if (!md)
        return -ENOMEM;
    if (EVP_DigestSignInit(md, NULL, ticket_md(TICKET_HASH_SHA1), NULL, pkey) <= 0 ||
        EVP_DigestSign(md, NULL, &siglen, (const uint8_t *) text, strlen(text)) <= 0)
        return -EIO;
    sig = malloc(siglen);
    if (!sig)
        return -ENOMEM;
    if (EVP_DigestSign(md, sig, &siglen, (const uint8_t *) text, strlen(text)) <= 0)
        return -EIO;
    r = auth_base64_encode(sig, siglen, true, &sig64);
    if (r < 0)
        return r;
    return asprintf(ret_ticket, "%s::%s", plain, sig64) < 0 ? -ENOMEM : 0;
}

int vnc_ticket_verify(
    const char *ticket,
    const TicketKeys *keys,
    const char *userid,
    const char *path,
    unsigned port,
    int64_t now
) {
    _cleanup_free_ uint8_t *sig = NULL;
    _cleanup_free_ char *text = NULL;
    size_t siglen;
    const size_t plain_len = STRLEN(VNC_TICKET_PREFIX) + 8;
    uint32_t t = 0;
    int r;

    assert(keys);
    if (!ticket || !userid || !path || !startswith(ticket, VNC_TICKET_PREFIX) ||
        strlen(ticket) > 8192 || strncmp(ticket + plain_len, "::", 2) != 0)
        return -EBADMSG;
    for (size_t i = STRLEN(VNC_TICKET_PREFIX); i < plain_len; i++) {
        char c = ticket[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            return -EBADMSG;
        t = t << 4 | (uint32_t) unhex(c);
    }
    const char *sigtxt = ticket + plain_len + 2;
    r = auth_base64_decode(sigtxt, strlen(sigtxt), &sig, &siglen);
    if (r < 0)
        return r == -ENOMEM ? r : -EBADMSG;
    r = vnc_signed_text(ticket, plain_len, userid, path, port, &text);
    if (r < 0)
        return r;
    r = keys->public_pem ? verify_signature(keys->public_pem, text, strlen(text), sig, siglen)
                         : -EACCES;
    if (r < 0 && r != -ENOMEM && keys->old_public_pem)
        r = verify_signature(keys->old_public_pem, text, strlen(text), sig, siglen);
    if (r < 0)
        return r;
    int64_t age = now - (int64_t) t;
    return age > VNC_TICKET_MIN_AGE && age < VNC_TICKET_MAX_AGE ? 0 : -ETIME;
}

/* ---- CSRF -------------------------------------------------------------------------------- */

static int hmac_sha256_b64(
    const void *key, size_t keylen, const void *msg, size_t msglen, char ret[static 44]
) {
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    _cleanup_free_ char *b64 = NULL;
    static const uint8_t empty[1];

    if (!HMAC(
            EVP_sha256(), keylen ? key : empty, (int) keylen, msglen ? msg : empty, msglen, md,
            &mdlen
        ) ||
        mdlen != 32)
        return -EIO;
    int r = auth_base64_encode(md, mdlen, false, &b64);
    explicit_bzero(md, sizeof md);
    if (r < 0)
        return r;
    assert(strlen(b64) == 43);
    memcpy(ret, b64, 44);
    explicit_bzero(b64, 43);
    return 0;
}

static int csrf_compute(
    const void *www_key,
    size_t www_key_len,
    const char *userid,
    uint32_t t,
    char ret[static CSRF_TOKEN_LEN + 1]
) {
    char secret[44];
    _cleanup_free_ char *msg = NULL;
    int r;

    if (!www_key || www_key_len > INT32_MAX)
        return -EINVAL;
    r = hmac_sha256_b64(www_key, www_key_len, NULL, 0, secret);
    if (r < 0)
        return r;
    if (asprintf(&msg, "%08X:%s", t, userid) < 0) {
        explicit_bzero(secret, sizeof secret);
        return -ENOMEM;
    }
    snprintf(ret, CSRF_TOKEN_LEN + 1, "%08X:", t);
    r = hmac_sha256_b64(secret, 43, msg, strlen(msg), ret + 9);
    explicit_bzero(secret, sizeof secret);
    return r;
}

int csrf_token_create(
    const void *www_key,
    size_t www_key_len,
    const char *userid,
    int64_t time,
    char ret[static CSRF_TOKEN_LEN + 1]
) {
    if (!userid || time < 0 || time > UINT32_MAX)
        return -EINVAL;
    return csrf_compute(www_key, www_key_len, userid, (uint32_t) time, ret);
}

int csrf_token_verify(
    const void *www_key, size_t www_key_len, const char *userid, const char *token, int64_t now
) {
    char expected[CSRF_TOKEN_LEN + 1];
    uint32_t t = 0;
    int r;

    if (!token || !userid)
        return -EBADMSG;
    size_t len = strlen(token);
    if (len < 10 || token[8] != ':')
        return -EBADMSG;
    for (size_t i = 0; i < 8; i++) {
        char c = token[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            return -EBADMSG;
        t = t << 4 | (uint32_t) unhex(c);
    }
    /* the legacy 27-char (SHA-1) variant is not accepted: only the current format matches */
    if (len != CSRF_TOKEN_LEN)
        return -EACCES;
    r = csrf_compute(www_key, www_key_len, userid, t, expected);
    if (r < 0)
        return r;
    r = CRYPTO_memcmp(expected, token, CSRF_TOKEN_LEN) == 0 ? 0 : -EACCES;
    explicit_bzero(expected, sizeof expected);
    if (r < 0)
        return r;
    int64_t age = now - (int64_t) t;
    if (!(age > -TICKET_CLOCK_SKEW && age < TICKET_LIFETIME))
        return -ETIME;
    return 0;
}

/* ---- headers ----------------------------------------------------------------------------- */

int auth_cookie_extract(const char *header, const char *name, char **ret_value) {
    assert(name && *name);
    assert(ret_value);
    if (!header)
        return -ENOENT;

    size_t nlen = strlen(name);
    for (const char *p = header; (p = strstr(p, name)); p++) {
        if (p != header && !isspace((unsigned char) p[-1]))
            continue;
        if (p[nlen] != '=' && p[nlen] != ' ')
            continue;
        const char *v = p + nlen + 1;
        size_t vlen = strcspn(v, ";");
        char *out = malloc(vlen + 1);
        if (!out)
            return -ENOMEM;
        size_t o = 0;
        for (size_t i = 0; i < vlen; i++) {
            int hi, lo;
            if (v[i] == '%' && i + 2 < vlen && (hi = unhex(v[i + 1])) >= 0 &&
                (lo = unhex(v[i + 2])) >= 0) {
                out[o++] = (char) (hi << 4 | lo);
                i += 2;
            } else
                out[o++] = v[i];
        }
        out[o] = 0;
        if (strlen(out) != o) { /* %00 */
            explicit_bzero(out, o);
            free(out);
            return -EBADMSG;
        }
        *ret_value = out;
        return 0;
    }
    return -ENOENT;
}

int api_token_parse_header(const char *header, char **ret_tokenid, char **ret_secret) {
    _cleanup_(erase_and_freep) char *value = NULL;
    int r;

    assert(ret_tokenid);
    assert(ret_secret);
    if (header && strlen(header) > API_TOKEN_HEADER_MAX)
        return -EBADMSG;
    r = auth_cookie_extract(header, "PVEAPIToken", &value);
    if (r < 0)
        return r;
    char *eq = strrchr(value, '=');
    if (!eq || eq == value || !eq[1])
        return -EBADMSG;
    _cleanup_free_ char *id = strndup(value, (size_t) (eq - value));
    char *secret = strdup(eq + 1);
    if (!id || !secret) {
        free(secret);
        return -ENOMEM;
    }
    if (!tokenid_is_valid(id)) {
        explicit_bzero(secret, strlen(secret));
        free(secret);
        return -EBADMSG;
    }
    *ret_tokenid = TAKE_PTR(id);
    *ret_secret = secret;
    return 0;
}

/* ---- shadow.cfg -------------------------------------------------------------------------- */

static void trim(const char **s, size_t *len) {
    while (*len > 0 && isspace((unsigned char) **s))
        (*s)++, (*len)--;
    while (*len > 0 && isspace((unsigned char) (*s)[*len - 1]))
        (*len)--;
}

int shadow_cfg_lookup(const char *text, size_t len, const char *userid, char **ret_hash) {
    assert(text || len == 0);
    assert(userid);
    assert(ret_hash);

    size_t ulen = strlen(userid);
    const char *end = text + len;
    for (const char *line = text; line < end;) {
        const char *nl = memchr(line, '\n', (size_t) (end - line));
        const char *eol = nl ? nl : end;
        const char *c1 = memchr(line, ':', (size_t) (eol - line));
        if (c1) {
            const char *u = line, *h = c1 + 1;
            size_t ul = (size_t) (c1 - line);
            const char *c2 = memchr(h, ':', (size_t) (eol - h));
            size_t hl = (size_t) ((c2 ? c2 : eol) - h);
            trim(&u, &ul);
            trim(&h, &hl);
            if (ul == ulen && memcmp(u, userid, ulen) == 0 && hl > 0) {
                if (memchr(h, 0, hl))
                    return -EBADMSG;
                char *s = strndup(h, hl);
                if (!s)
                    return -ENOMEM;
                *ret_hash = s;
                return 0;
            }
        }
        line = eol + 1;
    }
    return -ENOENT;
}

/* crypt_rn() is libxcrypt's crypt_r() with an explicit buffer size; unlike crypt_r() it is not
 * intercepted by ASan, whose crypt_r interceptor crashes with libxcrypt's struct crypt_data. */
int shadow_password_verify(const char *password, const char *hash) {
    if (!password || !hash || !*hash || *hash == '*' || *hash == '!')
        return -EINVAL;
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd)
        return -ENOMEM;
    const char *out = crypt_rn(password, hash, cd, (int) sizeof *cd);
    int r;
    if (!out || *out == '*')
        r = -EINVAL;
    else {
        size_t hl = strlen(hash);
        r = strlen(out) == hl && CRYPTO_memcmp(out, hash, hl) == 0 ? 0 : -EACCES;
    }
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return r;
}

int shadow_password_hash(const char *password, char **ret_hash) {
    uint8_t rnd[6];
    char salt[3 + 8 + 2];
    _cleanup_free_ char *salt64 = NULL;
    int r;

    assert(ret_hash);
    if (!password)
        return -EINVAL;
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return -EIO;
    r = auth_base64_encode(rnd, sizeof rnd, false, &salt64);
    if (r < 0)
        return r;
    for (char *p = salt64; *p; p++)
        if (*p == '+')
            *p = 'X';
    snprintf(salt, sizeof salt, "$5$%.8s$", salt64);

    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd)
        return -ENOMEM;
    const char *out = crypt_rn(password, salt, cd, (int) sizeof *cd);
    char *h = out && startswith(out, "$5$") ? strdup(out) : NULL;
    r = h ? 0 : out && startswith(out, "$5$") ? -ENOMEM : -EIO;
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    if (r < 0)
        return r;
    *ret_hash = h;
    return 0;
}
