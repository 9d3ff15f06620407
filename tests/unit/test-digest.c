/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the SHA-1/SHA-256 helpers against the FIPS 180 reference vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above */
#include <cmocka.h>

#include "pve/digest.h"

static void test_sha1_vectors(void **state) {
    (void) state;
    char hex[DIGEST_SHA1_HEX_LEN + 1];

    assert_int_equal(digest_sha1_hex("abc", 3, hex), 0);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_int_equal(digest_sha1_hex("", 0, hex), 0);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_int_equal(digest_sha1_hex(NULL, 0, hex), 0);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");

    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    assert_int_equal(digest_sha1_hex(a, n, hex), 0);
    assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(a);
}

static void test_sha256_vectors(void **state) {
    (void) state;
    char hex[DIGEST_SHA256_HEX_LEN + 1];

    assert_int_equal(digest_sha256_hex("abc", 3, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(digest_sha256_hex("", 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *s = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(digest_sha256_hex(s, strlen(s), hex), 0);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    uint8_t raw[DIGEST_SHA256_SIZE];
    assert_int_equal(digest_sha256("abc", 3, raw), 0);
    assert_int_equal(raw[0], 0xba);
    assert_int_equal(raw[31], 0xad);
}

static void test_sha256_incremental(void **state) {
    (void) state;
    _cleanup_(digest_freep) Digest *d = digest_new_sha256();
    assert_non_null(d);
    assert_int_equal(digest_update(d, "ab", 2), 0);
    assert_int_equal(digest_update(d, NULL, 0), 0);
    assert_int_equal(digest_update(d, "c", 1), 0);
    uint8_t inc[DIGEST_SHA256_SIZE], one[DIGEST_SHA256_SIZE];
    assert_int_equal(digest_finish(d, inc), 0);
    assert_int_equal(digest_sha256("abc", 3, one), 0);
    assert_memory_equal(inc, one, sizeof one);
    assert_null(digest_free(NULL));
}

static void test_to_hex(void **state) {
    (void) state;
    const uint8_t md[] = {0x00, 0x0f, 0xa0, 0xff};
    char hex[9];
    digest_to_hex(md, sizeof md, hex);
    assert_string_equal(hex, "000fa0ff");
    digest_to_hex(md, 0, hex);
    assert_string_equal(hex, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1_vectors),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_incremental),
        cmocka_unit_test(test_to_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
