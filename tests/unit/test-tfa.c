/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for second factors: RFC 6238 TOTP vectors, otpauth URIs, base32, recovery keys,
 * tfa.cfg parsing/printing and the login challenge of a user. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "pve/json-util.h"
#include "pve/tfa.h"

#define B32_SHA1   "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
#define B32_SHA256 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA===="
#define B32_SHA512                                                                          \
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDG" \
    "NBVGY3TQOJQGEZDGNA="

static void expect_code(const char *uri, int64_t t, const char *want) {
    TfaTotp totp;
    char code[10];
    assert_int_equal(tfa_totp_parse(uri, &totp, NULL), 0);
    assert_int_equal(tfa_totp_code(&totp, (uint64_t) t / totp.period, code), 0);
    assert_string_equal(code, want);
    assert_int_equal(tfa_totp_verify(uri, want, t), 0);
}

/* RFC 6238 appendix B */
static void test_rfc6238(void **state) {
    (void) state;
    static const struct {
        int64_t t;
        const char *sha1, *sha256, *sha512;
    } v[] = {
        {59, "94287082", "46119246", "90693936"},
        {1111111109, "07081804", "68084774", "25091201"},
        {1111111111, "14050471", "67062674", "99943326"},
        {1234567890, "89005924", "91819424", "93441116"},
        {2000000000, "69279037", "90698825", "38618901"},
        {20000000000, "65353130", "77737706", "47863826"},
    };
    for (size_t i = 0; i < ELEMENTSOF(v); i++) {
        expect_code("otpauth://totp/a?secret=" B32_SHA1 "&digits=8", v[i].t, v[i].sha1);
        expect_code(
            "otpauth://totp/a?digits=8&secret=" B32_SHA256 "&algorithm=SHA256", v[i].t, v[i].sha256
        );
        expect_code(
            "OTPAUTH://TOTP/a?algorithm=sha512&secret=" B32_SHA512 "&digits=8", v[i].t, v[i].sha512
        );
    }
    /* 6 digits are the low 6 of the same value */
    expect_code("otpauth://totp/a?secret=" B32_SHA1, 59, "287082");
}

static void test_verify_window(void **state) {
    (void) state;
    const char *uri = "otpauth://totp/a?secret=" B32_SHA1;
    /* 287082 is the code of step 1 (t = 30..59): one step around it is accepted */
    assert_int_equal(tfa_totp_verify(uri, "287082", 59), 0);
    assert_int_equal(tfa_totp_verify(uri, "287082", 89), 0);
    assert_int_equal(tfa_totp_verify(uri, "287082", 0), 0);
    assert_int_equal(tfa_totp_verify(uri, "287082", 90), -EACCES);
    assert_int_equal(tfa_totp_verify(uri, "28708", 59), -EACCES);
    assert_int_equal(tfa_totp_verify(uri, "2870820", 59), -EACCES);
    assert_int_equal(tfa_totp_verify(uri, NULL, 59), -EACCES);
    assert_int_equal(tfa_totp_verify("otpauth://hotp/a?secret=AA", "000000", 59), -EINVAL);
}

static void test_parse_errors(void **state) {
    (void) state;
    TfaTotp t;
    const char *err = NULL;
    static const char *const bad[] = {
        "",
        "otpauth://totp/a",
        "otpauth://totp/a?issuer=x",
        "otpauth://totp/a?secret=1",
        "otpauth://totp/a?secret=",
        "otpauth://totp/a?secret=AA=A",
        "otpauth://totp/a?secret=AA&digits=5",
        "otpauth://totp/a?secret=AA&digits=9",
        "otpauth://totp/a?secret=AA&digits=6x",
        "otpauth://totp/a?secret=AA&period=0",
        "otpauth://totp/a?secret=AA&period=-30",
        "otpauth://totp/a?secret=AA&algorithm=MD5",
        "otpauth://totp/a?secret=A%4",
        "otpauth://totp/a?secret=A%00A",
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        err = NULL;
        if (tfa_totp_parse(bad[i], &t, &err) != -EINVAL)
            fail_msg("'%s' should be refused", bad[i]);
        assert_non_null(err);
    }
    assert_int_equal(
        tfa_totp_parse("otpauth://totp/PVE%3Abob?secret=jbsw%59%33DP&issuer=P&period=60", &t, &err),
        0
    );
    assert_int_equal(t.period, 60);
    assert_int_equal(t.digits, 6);
    assert_string_equal(t.algorithm, "SHA1");
    assert_int_equal(t.secret_len, 5);
    assert_memory_equal(t.secret, "Hello", 5);
}

static void test_base32(void **state) {
    (void) state;
    uint8_t out[16];
    size_t n = 0;
    assert_int_equal(tfa_base32_decode("MZXW6YTBOI======", out, sizeof(out), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(tfa_base32_decode("mzxw6", out, sizeof(out), &n), 0);
    assert_memory_equal(out, "foo", 3);
    assert_int_equal(tfa_base32_decode("MZXW6YTBOI", out, 3, &n), -E2BIG);
    assert_int_equal(tfa_base32_decode("MZ1W", out, sizeof(out), &n), -EINVAL);
}

static void test_recovery(void **state) {
    (void) state;
    char **keys = NULL;
    _cleanup_json_ json_t *rec = NULL;
    assert_int_equal(tfa_recovery_new(1700000000, &keys, &rec), 0);
    size_t n = 0;
    while (keys[n])
        n++;
    assert_int_equal(n, TFA_RECOVERY_KEYS);
    assert_int_equal(json_array_size(json_object_get(rec, "entries")), TFA_RECOVERY_KEYS);
    assert_int_equal(json_integer_value(json_object_get(rec, "created")), 1700000000);
    _cleanup_free_ char *dump = json_dumps(rec, 0);
    assert_null(strstr(dump, keys[0])); /* only hashes are stored */

    assert_int_equal(tfa_recovery_use(rec, "0000-0000-0000-0000"), -EACCES);
    assert_int_equal(tfa_recovery_use(rec, keys[3]), 0);
    assert_true(json_is_null(json_array_get(json_object_get(rec, "entries"), 3)));
    assert_int_equal(tfa_recovery_use(rec, keys[3]), -EACCES);
    /* upper case and surrounding blanks as typed still match */
    char typed[32];
    snprintf(typed, sizeof(typed), " %s ", keys[4]);
    for (char *p = typed; *p; p++)
        *p = (char) toupper((unsigned char) *p);
    assert_int_equal(tfa_recovery_use(rec, typed), 0);
    tfa_keys_free(keys);
}

static const char CFG[] =
    "{\"users\": {\"bob@pve\": {"
    "\"totp\": [{\"id\": \"totp-1\", \"description\": \"phone\", \"created\": 5, "
    "\"entry\": \"otpauth://totp/a?secret=" B32_SHA1
    "\"}, "
    "{\"id\": \"totp-2\", \"description\": \"old\", \"created\": 6, \"enable\": false, "
    "\"entry\": \"otpauth://totp/a?secret=AAAAAAAA\"}], "
    "\"u2f-registrations\": {\"kept\": 1}}, "
    "\"eve@pve\": {\"webauthn\": [{\"id\": \"w\", \"created\": 1}]}}, "
    "\"webauthn\": {\"rp\": \"example\"}}";

static void test_cfg(void **state) {
    (void) state;
    _cleanup_json_ json_t *cfg = NULL, *cfg2 = NULL, *challenge = NULL, *none = NULL;
    _cleanup_free_ char *p1 = NULL, *p2 = NULL, *err = NULL;
    assert_int_equal(tfa_cfg_parse(CFG, strlen(CFG), &cfg, &err), 0);
    assert_int_equal(tfa_cfg_print(cfg, &p1), 0);
    assert_non_null(strstr(p1, "\"rp\": \"example\"")); /* unknown members survive */
    assert_non_null(strstr(p1, "u2f-registrations"));
    assert_int_equal(tfa_cfg_parse(p1, strlen(p1), &cfg2, NULL), 0);
    assert_int_equal(tfa_cfg_print(cfg2, &p2), 0);
    assert_string_equal(p1, p2);

    json_t *bob = tfa_cfg_user(cfg, "bob@pve", false);
    _cleanup_json_ json_t *list = tfa_user_entries(bob);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(list, 0), "type")), "totp"
    );
    assert_null(json_object_get(json_array_get(list, 0), "enable"));
    assert_true(json_is_false(json_object_get(json_array_get(list, 1), "enable")));

    assert_true(tfa_user_challenge(bob, &challenge));
    assert_true(json_is_true(json_object_get(challenge, "totp")));
    assert_null(json_object_get(challenge, "recovery"));
    bool changed = true;
    assert_int_equal(tfa_user_verify(bob, "totp:287082", 59, &changed), 0);
    assert_false(changed);
    assert_int_equal(tfa_user_verify(bob, "totp:000000", 59, &changed), -EACCES);
    assert_int_equal(tfa_user_verify(bob, "287082", 59, &changed), -EACCES);
    assert_int_equal(tfa_user_verify(bob, "recovery:0000-0000-0000-0000", 59, &changed), -EACCES);

    /* a factor we cannot check still requires one (fail closed) */
    assert_true(tfa_user_challenge(tfa_cfg_user(cfg, "eve@pve", false), NULL));
    assert_false(tfa_user_challenge(tfa_cfg_user(cfg, "nobody@pve", false), &none));
    assert_non_null(tfa_cfg_user(cfg, "new@pve", true));

    static const char *const bad[] = {
        "[]",
        "{\"users\": []}",
        "{\"users\": {\"a@pve\": 1}}",
        "{\"users\": {\"a@pve\": {\"totp\": {}}}}",
        "{\"users\": {\"a@pve\": {\"totp\": [{\"id\": \"x\"}]}}}",
        "{\"users\": {\"a@pve\": {\"totp\": [{\"id\": \"x\", \"entry\": \"e\", \"enable\": 1}]}}}",
        "{\"users\": {\"a@pve\": {\"recovery\": {\"secret\": \"s\"}}}}",
        "{\"users\": {\"a@pve\": {\"recovery\": {\"secret\": \"s\", \"entries\": [1]}}}}",
        "{\"users\": {}, \"users\": {}}",
        "{",
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        _cleanup_json_ json_t *c = NULL;
        _cleanup_free_ char *e = NULL;
        if (tfa_cfg_parse(bad[i], strlen(bad[i]), &c, &e) != -EINVAL)
            fail_msg("'%s' should be refused", bad[i]);
        assert_non_null(e);
    }
    _cleanup_json_ json_t *empty = NULL;
    assert_int_equal(tfa_cfg_parse(" \n", 2, &empty, NULL), 0);
    assert_true(json_is_object(json_object_get(empty, "users")));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238),      cmocka_unit_test(test_verify_window),
        cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_base32),
        cmocka_unit_test(test_recovery),     cmocka_unit_test(test_cfg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
