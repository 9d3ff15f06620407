/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the jansson helpers. */
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

static void test_getters(void **state) {
    (void) state;
    const char *text =
        "{\"node\":\"pve1\",\"pid\":1234,\"big\":9007199254740993,\"up\":true,"
        "\"down\":false,\"one\":1,\"two\":2,\"nul\":null,\"real\":1.5,"
        "\"str1\":\"1\",\"obj\":{\"a\":1},\"arr\":[1,2]}";
    _cleanup_json_ json_t *o = NULL;
    assert_int_equal(json_util_parse(text, strlen(text), 0, &o, NULL), 0);

    const char *s = "untouched";
    assert_int_equal(json_util_get_string(o, "node", &s), 0);
    assert_string_equal(s, "pve1");
    s = "untouched";
    assert_int_equal(json_util_get_string(o, "pid", &s), -EINVAL);
    assert_int_equal(json_util_get_string(o, "missing", &s), -ENOENT);
    assert_int_equal(json_util_get_string(o, "nul", &s), -ENOENT);
    assert_string_equal(s, "untouched");

    long long i = 7;
    assert_int_equal(json_util_get_int(o, "pid", &i), 0);
    assert_int_equal(i, 1234);
    assert_int_equal(json_util_get_int(o, "big", &i), 0);
    assert_true(i == 9007199254740993LL);
    i = 7;
    assert_int_equal(json_util_get_int(o, "real", &i), -EINVAL);
    assert_int_equal(json_util_get_int(o, "str1", &i), -EINVAL);
    assert_int_equal(json_util_get_int(o, "nul", &i), -ENOENT);
    assert_int_equal(i, 7);

    bool b = false;
    assert_int_equal(json_util_get_bool(o, "up", &b), 0);
    assert_true(b);
    assert_int_equal(json_util_get_bool(o, "down", &b), 0);
    assert_false(b);
    assert_int_equal(json_util_get_bool(o, "one", &b), 0);
    assert_true(b);
    assert_int_equal(json_util_get_bool(o, "two", &b), -EINVAL);
    assert_int_equal(json_util_get_bool(o, "str1", &b), -EINVAL);
    assert_int_equal(json_util_get_bool(o, "missing", &b), -ENOENT);

    json_t *sub = NULL;
    assert_int_equal(json_util_get_object(o, "obj", &sub), 0);
    assert_int_equal(json_object_size(sub), 1);
    assert_int_equal(json_util_get_object(o, "arr", &sub), -EINVAL);
    assert_int_equal(json_util_get_array(o, "arr", &sub), 0);
    assert_int_equal(json_array_size(sub), 2);
    assert_int_equal(json_util_get_array(o, "obj", &sub), -EINVAL);

    /* Not an object at all. */
    _cleanup_json_ json_t *arr = json_array();
    assert_int_equal(json_util_get_string(arr, "x", &s), -ENOENT);
    assert_int_equal(json_util_get_string(NULL, "x", &s), -ENOENT);
}

static void test_build_and_dump(void **state) {
    (void) state;
    _cleanup_json_ json_t *o = json_object();
    assert_non_null(o);
    assert_int_equal(
        json_util_set_string(
            o, "upid", "UPID:pve1:00001234:00ABCDEF:6553F100:qmstart:100:root@pam:"
        ),
        0
    );
    assert_int_equal(json_util_set_string(o, "absent", NULL), 0);
    assert_int_equal(json_util_set_int(o, "pid", 4660), 0);
    assert_int_equal(json_util_set_bool(o, "saved", true), 0);
    assert_int_equal(json_util_set_null(o, "status"), 0);
    json_t *a = json_array();
    assert_int_equal(json_util_append_new(a, json_string("x")), 0);
    assert_int_equal(json_util_append_new(a, json_integer(2)), 0);
    assert_int_equal(json_util_append_new(a, NULL), -ENOMEM);
    assert_int_equal(json_util_append_new(o, json_integer(1)), -EINVAL); /* not an array */
    assert_int_equal(json_util_set_new(o, "list", a), 0);
    assert_int_equal(json_util_set_new(o, "oom", NULL), -ENOMEM);
    assert_int_equal(json_util_set_new(a, "x", json_integer(1)), -EINVAL); /* not an object */

    _cleanup_free_ char *compact = NULL;
    assert_int_equal(json_util_dump(o, 0, &compact), 0);
    assert_string_equal(
        compact,
        "{\"upid\":\"UPID:pve1:00001234:00ABCDEF:6553F100:qmstart:100:root@pam:\","
        "\"pid\":4660,\"saved\":1,\"status\":null,\"list\":[\"x\",2]}"
    );

    _cleanup_free_ char *sorted = NULL;
    assert_int_equal(json_util_dump(o, JSON_UTIL_DUMP_SORT_KEYS, &sorted), 0);
    assert_string_equal(
        sorted,
        "{\"list\":[\"x\",2],\"pid\":4660,\"saved\":1,\"status\":null,"
        "\"upid\":\"UPID:pve1:00001234:00ABCDEF:6553F100:qmstart:100:root@pam:\"}"
    );

    _cleanup_json_ json_t *small = json_pack("{s:i,s:[i]}", "a", 1, "b", 2);
    _cleanup_free_ char *pretty = NULL;
    assert_int_equal(
        json_util_dump(small, JSON_UTIL_DUMP_PRETTY | JSON_UTIL_DUMP_SORT_KEYS, &pretty), 0
    );
    assert_string_equal(pretty, "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}");

    /* Non-object values dump too (API results may be null, a string or a number). */
    _cleanup_json_ json_t *n = json_null();
    _cleanup_free_ char *ns = NULL;
    assert_int_equal(json_util_dump(n, 0, &ns), 0);
    assert_string_equal(ns, "null");
    _cleanup_json_ json_t *str = json_string("a\"b");
    _cleanup_free_ char *ss = NULL;
    assert_int_equal(json_util_dump(str, 0, &ss), 0);
    assert_string_equal(ss, "\"a\\\"b\"");
}

static void test_parse_errors(void **state) {
    (void) state;
    json_t *j = NULL;
    _cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;

    assert_int_equal(json_util_parse("{\"a\":1,\"a\":2}", 13, 0, &j, &m1), -EINVAL);
    assert_null(j);
    assert_non_null(m1);
    assert_non_null(strstr(m1, "duplicate object key"));

    const char *bad = "{\n  \"a\": tru\n}";
    assert_int_equal(json_util_parse(bad, strlen(bad), 0, &j, &m2), -EINVAL);
    assert_non_null(strstr(m2, "line 2 column"));

    assert_int_equal(json_util_parse("{}", 2, 1, &j, &m3), -E2BIG);
    assert_string_equal(m3, "input too large (2 bytes, maximum 1)");

    assert_int_equal(json_util_parse("", 0, 0, &j, &m4), -EINVAL);
    assert_null(j);

    /* Scalars are accepted; trailing garbage is not. */
    _cleanup_json_ json_t *num = NULL;
    assert_int_equal(json_util_parse("42", 2, 0, &num, NULL), 0);
    assert_true(json_is_integer(num));
    assert_int_equal(json_util_parse("42 x", 4, 0, &j, NULL), -EINVAL);
    /* Embedded NUL within len is refused. */
    assert_int_equal(json_util_parse("\"a\0b\"", 5, 0, &j, NULL), -EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_build_and_dump),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
