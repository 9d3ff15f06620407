/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for auth-ticket: RSA tickets (SHA-1/SHA-256, windows, old key), CSRF known answers,
 * API token headers, cookie extraction, shadow.cfg hashes. */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pve/auth-ticket.h"

static char *priv_a, *pub_a, *priv_b, *pub_b;

static int setup(void **state) {
    (void) state;
    if (auth_key_generate(&priv_a, &pub_a) < 0 || auth_key_generate(&priv_b, &pub_b) < 0)
        return -1;
    return 0;
}

static int teardown(void **state) {
    (void) state;
    explicit_bzero(priv_a, strlen(priv_a));
    explicit_bzero(priv_b, strlen(priv_b));
    free(priv_a), free(pub_a), free(priv_b), free(pub_b);
    return 0;
}

#define T0 INT64_C(0x6553F100)

static void test_keygen(void **state) {
    (void) state;
    assert_non_null(strstr(priv_a, "-----BEGIN PRIVATE KEY-----"));
    assert_non_null(strstr(pub_a, "-----BEGIN PUBLIC KEY-----"));
    assert_string_not_equal(pub_a, pub_b);
    BIO *bio = BIO_new_mem_buf(pub_a, -1);
    EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    assert_non_null(k);
    assert_int_equal(EVP_PKEY_bits(k), 2048);
    EVP_PKEY_free(k);
    BIO_free(bio);
}

/* independent check of the signature's digest with plain OpenSSL calls */
static bool sig_verifies_with(const char *ticket, const EVP_MD *md) {
    const char *sep = strstr(ticket, "::");
    uint8_t *sig = NULL;
    size_t siglen = 0;
    assert_int_equal(auth_base64_decode(sep + 2, strlen(sep + 2), &sig, &siglen), 0);
    BIO *bio = BIO_new_mem_buf(pub_a, -1);
    EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, md, NULL, k), 1);
    bool ok =
        EVP_DigestVerify(ctx, sig, siglen, (const uint8_t *) ticket, (size_t) (sep - ticket)) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    BIO_free(bio);
    free(sig);
    return ok;
}

static void roundtrip(TicketHash h, const EVP_MD *md, const EVP_MD *other) {
    char *t = NULL, *user = NULL;
    int64_t age = -1;
    TicketKeys keys = {.public_pem = pub_a, .key_age = 50000};

    assert_int_equal(ticket_create(priv_a, "root@pam", T0, h, &t), 0);
    assert_true(strncmp(t, "PVE:root@pam:6553F100::", 23) == 0);
    assert_true(strlen(t) > 360 && strlen(t) < 380);
    assert_null(strchr(t + 23, ':'));
    assert_true(sig_verifies_with(t, md));
    assert_false(sig_verifies_with(t, other));
    assert_int_equal(ticket_verify(t, &keys, T0 + 10, &user, &age), 0);
    assert_string_equal(user, "root@pam");
    assert_int_equal(age, 10);
    free(user);
    free(t);
}

static void test_ticket_sha1(void **state) {
    (void) state;
    roundtrip(TICKET_HASH_SHA1, EVP_sha1(), EVP_sha256());
}

static void test_ticket_sha256(void **state) {
    (void) state;
    roundtrip(TICKET_HASH_SHA256, EVP_sha256(), EVP_sha1());
}

/* "!tfa!" half tickets: the aad is signed but not carried, so only the same aad verifies */
static void test_ticket_aad(void **state) {
    (void) state;
    char *t = NULL, *data = NULL;
    TicketKeys keys = {.public_pem = pub_a, .key_age = 50000};
    assert_int_equal(
        ticket_create_aad(
            priv_a, "!tfa!%7B%22totp%22%3Atrue%7D", "bob@pve", T0, TICKET_HASH_SHA1, &t
        ),
        0
    );
    static const char prefix[] = "PVE:!tfa!%7B%22totp%22%3Atrue%7D:6553F100::";
    assert_true(strncmp(t, prefix, sizeof(prefix) - 1) == 0);
    assert_null(strstr(t, "bob@pve"));
    assert_int_equal(ticket_verify_aad(t, &keys, "bob@pve", T0 + 10, &data, NULL), 0);
    assert_string_equal(data, "!tfa!%7B%22totp%22:true%7D"); /* %3A is the escaped colon */
    free(data);
    assert_int_equal(ticket_verify_aad(t, &keys, "root@pam", T0 + 10, NULL, NULL), -EACCES);
    assert_int_equal(ticket_verify(t, &keys, T0 + 10, NULL, NULL), -EACCES);
    free(t);
    /* and a plain ticket is no half ticket */
    assert_int_equal(ticket_create(priv_a, "bob@pve", T0, TICKET_HASH_SHA1, &t), 0);
    assert_int_equal(ticket_verify_aad(t, &keys, "bob@pve", T0 + 10, NULL, NULL), -EACCES);
    free(t);
}

static void test_ticket_window(void **state) {
    (void) state;
    char *t = NULL;
    TicketKeys keys = {.public_pem = pub_a, .key_age = 50000};
    assert_int_equal(ticket_create(priv_a, "alice@pve", T0, TICKET_HASH_SHA1, &t), 0);
    assert_int_equal(ticket_verify(t, &keys, T0 + 7199, NULL, NULL), 0);
    assert_int_equal(ticket_verify(t, &keys, T0 + 7200, NULL, NULL), -ETIME);
    assert_int_equal(ticket_verify(t, &keys, T0 - 299, NULL, NULL), 0);
    assert_int_equal(ticket_verify(t, &keys, T0 - 300, NULL, NULL), -ETIME);

    /* young key: nothing older than key_age + 300 */
    keys.key_age = 1000;
    assert_int_equal(ticket_verify(t, &keys, T0 + 1299, NULL, NULL), 0);
    assert_int_equal(ticket_verify(t, &keys, T0 + 1300, NULL, NULL), -ETIME);

    /* key overdue for rotation on a quorate cluster: min age = key_age - 24h */
    keys.key_age = 86400 + 3600;
    assert_int_equal(ticket_verify(t, &keys, T0 + 100, NULL, NULL), 0);
    keys.quorate = true;
    assert_int_equal(ticket_verify(t, &keys, T0 + 100, NULL, NULL), -ETIME);
    assert_int_equal(ticket_verify(t, &keys, T0 + 3601, NULL, NULL), 0);

    int64_t min, max;
    ticket_age_window(&keys, false, &min, &max);
    assert_int_equal(min, 3600);
    assert_int_equal(max, 7200);
    keys.key_age = -5; /* future mtime counts as new */
    ticket_age_window(&keys, false, &min, &max);
    assert_int_equal(min, -300);
    assert_int_equal(max, 300);
    free(t);
}

static void test_ticket_keys(void **state) {
    (void) state;
    char *t = NULL, *user = NULL;
    assert_int_equal(ticket_create(priv_a, "alice@pve", T0, TICKET_HASH_SHA1, &t), 0);

    TicketKeys wrong = {.public_pem = pub_b, .key_age = 50000};
    assert_int_equal(ticket_verify(t, &wrong, T0 + 10, NULL, NULL), -EACCES);

    /* rotated: A is now the old key, B was created 1000 s ago */
    TicketKeys rotated = {.public_pem = pub_b, .old_public_pem = pub_a, .key_age = 1000};
    assert_int_equal(ticket_verify(t, &rotated, T0 + 800, &user, NULL), 0);
    assert_string_equal(user, "alice@pve");
    free(user);
    /* issued 100 s ago, i.e. after the rotation 1000 s ago: not acceptable with the old key */
    assert_int_equal(ticket_verify(t, &rotated, T0 + 100, NULL, NULL), -ETIME);
    /* old key still bounded by the lifetime */
    assert_int_equal(ticket_verify(t, &rotated, T0 + 7200, NULL, NULL), -ETIME);

    TicketKeys bad = {.public_pem = "garbage", .key_age = 50000};
    assert_int_equal(ticket_verify(t, &bad, T0 + 10, NULL, NULL), -EINVAL);
    assert_int_equal(ticket_create("garbage", "a@pve", T0, TICKET_HASH_SHA1, &t), -EINVAL);
    free(t);
}

static void test_ticket_tamper(void **state) {
    (void) state;
    char *t = NULL;
    TicketKeys keys = {.public_pem = pub_a, .key_age = 50000};
    assert_int_equal(ticket_create(priv_a, "alice@pve", T0, TICKET_HASH_SHA256, &t), 0);

    char *x = strdup(t);
    char *sig = strstr(x, "::") + 2;
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    assert_int_equal(ticket_verify(x, &keys, T0 + 1, NULL, NULL), -EACCES);
    strcpy(x, t);
    x[4] = 'b'; /* "blice@pve" */
    assert_int_equal(ticket_verify(x, &keys, T0 + 1, NULL, NULL), -EACCES);
    strcpy(x, t);
    x[strlen("PVE:alice@pve:6553F10")] = '1'; /* time changed */
    assert_int_equal(ticket_verify(x, &keys, T0 + 1, NULL, NULL), -EACCES);
    free(x);

    const char *malformed[] = {
        "",
        "PVE:",
        "PVX:alice@pve:6553F100::AAAA",
        "PVE:alice@pve:6553F100:AAAA",
        "PVE:alice@pve:6553F100::",
        "PVE:alice@pve:6553f100::AAAA",
        "PVE:alice@pve:553F100::AAAA",
        "PVE::6553F100::AAAA",
        "PVE:alice @pve:6553F100::AAAA",
        "PVE:alice@pve:6553F100::AA:AA",
        "PVE:alice@pve:6553F100::A*AA",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        assert_int_equal(ticket_verify(malformed[i], &keys, T0, NULL, NULL), -EBADMSG);
    assert_int_equal(ticket_verify(NULL, &keys, T0, NULL, NULL), -EBADMSG);
    assert_int_equal(ticket_create(priv_a, "a b@pve", T0, TICKET_HASH_SHA1, &t), -EINVAL);
    assert_int_equal(ticket_create(priv_a, "a@pve", -1, TICKET_HASH_SHA1, &t), -EINVAL);
    assert_int_equal(
        ticket_create(priv_a, "a@pve", INT64_C(1) << 32, TICKET_HASH_SHA1, &t), -EINVAL
    );
    free(t);
}

static void test_ticket_colon(void **state) {
    (void) state;
    char *t = NULL, *data = NULL;
    TicketKeys keys = {.public_pem = pub_a, .key_age = 50000};
    const char *tfa = "!tfa!{\"webauthn\":1,\"totp\":true}";
    assert_int_equal(ticket_create(priv_a, tfa, T0, TICKET_HASH_SHA1, &t), 0);
    const char *want = "PVE:!tfa!{\"webauthn\"%3A1,\"totp\"%3Atrue}:6553F100::";
    assert_true(strncmp(t, want, strlen(want)) == 0);
    assert_int_equal(ticket_verify(t, &keys, T0 + 5, &data, NULL), 0);
    assert_string_equal(data, tfa);
    assert_false(userid_is_valid(data));
    free(data);
    free(t);
}

/* ---- CSRF ---- */

static const uint8_t *www_key(size_t *len) {
    static uint8_t k[44];
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t) i;
    memcpy(k + 32, "pve-www-key\n", 12);
    *len = sizeof k;
    return k;
}

static void b64_nopad(const uint8_t *md, char out[45]) {
    EVP_EncodeBlock((unsigned char *) out, md, 32);
    char *eq = strchr(out, '=');
    if (eq)
        *eq = 0;
}

static void test_csrf_known_answer(void **state) {
    (void) state;
    size_t klen;
    const uint8_t *k = www_key(&klen);
    char tok[CSRF_TOKEN_LEN + 1];
    uint8_t md[32];
    unsigned mdlen;
    char secret[45], sig[45], expected[64];

    /* independent derivation with OpenSSL: S = b64(HMAC(key=www, "")), then HMAC(key=S, msg) */
    assert_non_null(HMAC(EVP_sha256(), k, (int) klen, (const uint8_t *) "", 0, md, &mdlen));
    b64_nopad(md, secret);
    assert_int_equal(strlen(secret), 43);
    assert_string_equal(secret, "bVY8E1IrAvcn8j0jPygsGcRq2CNtKgzxc9cT3WdRwUE"); /* python hmac */
    const char *msg = "6553F100:root@pam";
    assert_non_null(HMAC(EVP_sha256(), secret, 43, (const uint8_t *) msg, strlen(msg), md, &mdlen));
    b64_nopad(md, sig);
    snprintf(expected, sizeof expected, "6553F100:%s", sig);
    assert_string_equal(expected, "6553F100:CAItwyY+lnSZEbfwjTFGBMQqw5W9z2p4l398Y0mJ/K4");

    assert_int_equal(csrf_token_create(k, klen, "root@pam", T0, tok), 0);
    assert_int_equal(strlen(tok), CSRF_TOKEN_LEN);
    assert_memory_equal(tok, expected, CSRF_TOKEN_LEN + 1);
}

static void test_csrf_verify(void **state) {
    (void) state;
    size_t klen;
    const uint8_t *k = www_key(&klen);
    char tok[CSRF_TOKEN_LEN + 1];
    assert_int_equal(csrf_token_create(k, klen, "alice@pve", T0, tok), 0);
    assert_int_equal(csrf_token_verify(k, klen, "alice@pve", tok, T0), 0);
    assert_int_equal(csrf_token_verify(k, klen, "alice@pve", tok, T0 + 7199), 0);
    assert_int_equal(csrf_token_verify(k, klen, "alice@pve", tok, T0 + 7200), -ETIME);
    assert_int_equal(csrf_token_verify(k, klen, "alice@pve", tok, T0 - 299), 0);
    assert_int_equal(csrf_token_verify(k, klen, "alice@pve", tok, T0 - 300), -ETIME);
    assert_int_equal(csrf_token_verify(k, klen, "bob@pve", tok, T0), -EACCES);
    assert_int_equal(csrf_token_verify(k, klen - 1, "alice@pve", tok, T0), -EACCES);
    tok[20] ^= 1;
    assert_int_equal(csrf_token_verify(k, klen, "alice@pve", tok, T0), -EACCES);
    assert_int_equal(csrf_token_verify(k, klen, "alice@pve", "6553F100:short", T0), -EACCES);
    assert_int_equal(csrf_token_verify(k, klen, "alice@pve", "6553f100:x", T0), -EBADMSG);
    assert_int_equal(csrf_token_verify(k, klen, "alice@pve", "", T0), -EBADMSG);
    assert_int_equal(csrf_token_verify(k, klen, "alice@pve", NULL, T0), -EBADMSG);
    assert_int_equal(csrf_token_create(k, klen, "alice@pve", -1, tok), -EINVAL);
}

/* ---- headers ---- */

static void expect_token(const char *hdr, int r, const char *id, const char *secret) {
    char *i = NULL, *s = NULL;
    assert_int_equal(api_token_parse_header(hdr, &i, &s), r);
    if (r == 0) {
        assert_string_equal(i, id);
        assert_string_equal(s, secret);
    }
    free(i);
    free(s);
}

static void test_api_token(void **state) {
    (void) state;
    const char *uuid = "2b8e6a7e-7a3f-4b1e-9d1c-1234567890ab";
    char buf[128];
    snprintf(buf, sizeof buf, "PVEAPIToken=root@pam!ci=%s", uuid);
    expect_token(buf, 0, "root@pam!ci", uuid);
    snprintf(buf, sizeof buf, "PVEAPIToken root@pam!ci=%s", uuid);
    expect_token(buf, 0, "root@pam!ci", uuid);
    expect_token("PVEAPIToken=alice@ldap-1!my.tok_en-2=abc", 0, "alice@ldap-1!my.tok_en-2", "abc");
    expect_token("PVEAPIToken=alice%40pve!t1=s%2Fx", 0, "alice@pve!t1", "s/x");
    /* split at the LAST '=': the id then holds a '=' and is rejected */
    expect_token("PVEAPIToken=a@pve!tok=x=y", -EBADMSG, NULL, NULL);
    expect_token("PVEAPIToken=a@pve!1tok=x", -EBADMSG, NULL, NULL);
    expect_token("PVEAPIToken=a@pve!t=x", -EBADMSG, NULL, NULL);
    expect_token("PVEAPIToken=a@pve=x", -EBADMSG, NULL, NULL);
    expect_token("PVEAPIToken=a@pve!tok=", -EBADMSG, NULL, NULL);
    expect_token("PVEAPIToken==x", -EBADMSG, NULL, NULL);
    expect_token("PVEAuthCookie=PVE:a@pve:1::x", -ENOENT, NULL, NULL);
    expect_token("Bearer xyz", -ENOENT, NULL, NULL);
    expect_token("XPVEAPIToken=a@pve!tok=x", -ENOENT, NULL, NULL);
    expect_token(NULL, -ENOENT, NULL, NULL);

    assert_true(tokenid_is_valid("root@pam!ci"));
    assert_false(tokenid_is_valid("root@pam"));
    assert_false(tokenid_is_valid("root!ci"));
    assert_true(userid_is_valid("a.b-c@pve"));
    assert_true(userid_is_valid("user@host@ad-realm"));
    assert_false(userid_is_valid("a/b@pve"));
    assert_false(userid_is_valid("a:b@pve"));
    assert_false(userid_is_valid("@pve"));
    assert_false(userid_is_valid("a@p"));
    assert_false(userid_is_valid("a@1pve"));
}

static void expect_cookie(const char *hdr, int r, const char *value) {
    char *v = NULL;
    assert_int_equal(auth_cookie_extract(hdr, "PVEAuthCookie", &v), r);
    if (r == 0)
        assert_string_equal(v, value);
    free(v);
}

static void test_cookie(void **state) {
    (void) state;
    expect_cookie(
        "PVEAuthCookie=PVE:root@pam:6553F100::ab+c/d==", 0, "PVE:root@pam:6553F100::ab+c/d=="
    );
    expect_cookie(
        "lang=en; PVEAuthCookie=PVE%3Aroot%40pam%3A6553F100%3A%3Aab%2Bc+d%3D%3D; other=1", 0,
        "PVE:root@pam:6553F100::ab+c+d=="
    );
    expect_cookie("PVEAuthCookie PVE:x", 0, "PVE:x");
    expect_cookie("a=1;\tPVEAuthCookie=v1; PVEAuthCookie=v2", 0, "v1");
    expect_cookie("XPVEAuthCookie=1; PVEAuthCookie=2", 0, "2");
    expect_cookie("a=1;PVEAuthCookie=2", -ENOENT, NULL);
    expect_cookie("PVEAuthCookieX=2", -ENOENT, NULL);
    expect_cookie("PVEAuthCookie=", 0, "");
    expect_cookie("PVEAuthCookie=%zz%4", 0, "%zz%4");
    expect_cookie("PVEAuthCookie=a%00b", -EBADMSG, NULL);
    expect_cookie("", -ENOENT, NULL);
    expect_cookie(NULL, -ENOENT, NULL);
}

/* ---- shadow ---- */

static void test_shadow(void **state) {
    (void) state;
    const char *h =
        "$5$abcdefgh$gruCpC7VkOTspMQTTSAR8mtlO9Upms.fwqE5y16JVM."; /* openssl passwd -5 */
    assert_int_equal(shadow_password_verify("secret", h), 0);
    assert_int_equal(shadow_password_verify("Secret", h), -EACCES);
    assert_int_equal(shadow_password_verify("", h), -EACCES);
    assert_int_equal(shadow_password_verify("secret", "*"), -EINVAL);
    assert_int_equal(shadow_password_verify("secret", ""), -EINVAL);

    char *n1 = NULL, *n2 = NULL;
    assert_int_equal(shadow_password_hash("p4ss:w0rd", &n1), 0);
    assert_int_equal(shadow_password_hash("p4ss:w0rd", &n2), 0);
    assert_true(strncmp(n1, "$5$", 3) == 0);
    assert_int_equal(strlen(n1), 3 + 8 + 1 + 43);
    assert_int_equal(n1[11], '$');
    assert_null(strchr(n1 + 3, '+'));
    assert_string_not_equal(n1, n2);
    assert_int_equal(shadow_password_verify("p4ss:w0rd", n1), 0);
    assert_int_equal(shadow_password_verify("p4ss:w0rd", n2), 0);
    assert_int_equal(shadow_password_verify("p4ss:w0rD", n1), -EACCES);
    free(n1);
    free(n2);

    const char *cfg =
        "alice@pve:$5$abcdefgh$gruCpC7VkOTspMQTTSAR8mtlO9Upms.fwqE5y16JVM.:\n"
        "\n"
        "garbage line\n"
        " bob@pve : $y$j9T$abc$def :\n"
        "carol@pve::\n"
        "dave@pve:$5$x$y:";
    char *out = NULL;
    assert_int_equal(shadow_cfg_lookup(cfg, strlen(cfg), "alice@pve", &out), 0);
    assert_string_equal(out, h);
    free(out);
    assert_int_equal(shadow_cfg_lookup(cfg, strlen(cfg), "bob@pve", &out), 0);
    assert_string_equal(out, "$y$j9T$abc$def");
    free(out);
    assert_int_equal(shadow_cfg_lookup(cfg, strlen(cfg), "dave@pve", &out), 0);
    assert_string_equal(out, "$5$x$y");
    free(out);
    assert_int_equal(shadow_cfg_lookup(cfg, strlen(cfg), "carol@pve", &out), -ENOENT);
    assert_int_equal(shadow_cfg_lookup(cfg, strlen(cfg), "alice@pam", &out), -ENOENT);
    assert_int_equal(shadow_cfg_lookup(cfg, strlen(cfg), "alice", &out), -ENOENT);
    assert_int_equal(shadow_cfg_lookup("", 0, "alice@pve", &out), -ENOENT);
}

static void test_base64(void **state) {
    (void) state;
    const char *vec[][3] = {
        {"", "", ""},
        {"f", "Zg==", "Zg"},
        {"fo", "Zm8=", "Zm8"},
        {"foo", "Zm9v", "Zm9v"},
        {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        char *e = NULL;
        uint8_t *d = NULL;
        size_t dl;
        assert_int_equal(auth_base64_encode(vec[i][0], strlen(vec[i][0]), true, &e), 0);
        assert_string_equal(e, vec[i][1]);
        free(e);
        assert_int_equal(auth_base64_encode(vec[i][0], strlen(vec[i][0]), false, &e), 0);
        assert_string_equal(e, vec[i][2]);
        free(e);
        assert_int_equal(auth_base64_decode(vec[i][1], strlen(vec[i][1]), &d, &dl), 0);
        assert_int_equal(dl, strlen(vec[i][0]));
        assert_memory_equal(d, vec[i][0], dl);
        free(d);
    }
    uint8_t *d = NULL;
    assert_int_equal(auth_base64_decode("Z", 1, &d, NULL), -EBADMSG);
    assert_int_equal(auth_base64_decode("Zm9v!", 5, &d, NULL), -EBADMSG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen),        cmocka_unit_test(test_ticket_sha1),
        cmocka_unit_test(test_ticket_sha256), cmocka_unit_test(test_ticket_window),
        cmocka_unit_test(test_ticket_keys),   cmocka_unit_test(test_ticket_tamper),
        cmocka_unit_test(test_ticket_colon),  cmocka_unit_test(test_csrf_known_answer),
        cmocka_unit_test(test_csrf_verify),   cmocka_unit_test(test_api_token),
        cmocka_unit_test(test_cookie),        cmocka_unit_test(test_shadow),
        cmocka_unit_test(test_base64),        cmocka_unit_test(test_ticket_aad),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
