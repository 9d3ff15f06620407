/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the growable string buffer and string helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pve/strbuf.h"
#include "pve/string-util.h"

static void test_append_and_finish(void **state) {
    (void) state;
    StrBuf b = STRBUF_INIT;
    strbuf_append(&b, "hello");
    strbuf_append_char(&b, ' ');
    strbuf_printf(&b, "%s %d", "world", 42);
    char *s;
    size_t len;
    assert_int_equal(strbuf_finish(&b, &s, &len), 0);
    assert_string_equal(s, "hello world 42");
    assert_int_equal(len, 14);
    assert_null(b.data);
    free(s);
}

static void test_empty_finish_is_empty_string(void **state) {
    (void) state;
    StrBuf b = STRBUF_INIT;
    char *s;
    assert_int_equal(strbuf_finish(&b, &s, NULL), 0);
    assert_string_equal(s, "");
    free(s);
}

static void test_growth(void **state) {
    (void) state;
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    for (int i = 0; i < 10000; i++)
        strbuf_printf(&b, "%04d", i % 10000);
    assert_int_equal(b.len, 40000);
    assert_memory_equal(b.data + 39996, "9999", 4);
    strbuf_truncate(&b, 3);
    assert_string_equal(b.data, "000");
}

static void test_sticky_error(void **state) {
    (void) state;
    StrBuf b = STRBUF_INIT;
    strbuf_append(&b, "x");
    b.error = -ENOMEM;
    strbuf_append(&b, "y");
    assert_int_equal(b.len, 1);
    char *s = NULL;
    assert_int_equal(strbuf_finish(&b, &s, NULL), -ENOMEM);
    assert_null(s);
    assert_null(b.data);
}

static void test_string_util(void **state) {
    (void) state;
    assert_string_equal(startswith("nodes/a", "nodes/"), "a");
    assert_null(startswith("node", "nodes/"));
    assert_string_equal(endswith("100.conf", ".conf"), ".conf");
    assert_null(endswith("conf", ".conf"));
    assert_string_equal(skip_blanks(" \t x"), "x");
    assert_int_equal(rstrip_len("ab \t\r", 5), 2);
    unsigned long long v;
    unsigned u;
    long long i;
    assert_int_equal(safe_atou64("18446744073709551615", &v), 0);
    assert_true(v == 18446744073709551615ULL);
    assert_int_equal(safe_atou64("18446744073709551616", &v), -ERANGE);
    assert_int_equal(safe_atou64("-1", &v), -EINVAL);
    assert_int_equal(safe_atou64("12a", &v), -EINVAL);
    assert_int_equal(safe_atou64("", &v), -EINVAL);
    assert_int_equal(safe_atou32("4294967296", &u), -ERANGE);
    assert_int_equal(safe_atou32("100", &u), 0);
    assert_int_equal(u, 100);
    assert_int_equal(safe_atoi64("-5", &i), 0);
    assert_int_equal(i, -5);
    assert_int_equal(safe_atoi64("-", &i), -EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_finish),
        cmocka_unit_test(test_empty_finish_is_empty_string),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_sticky_error),
        cmocka_unit_test(test_string_util),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
