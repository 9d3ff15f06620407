/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the streaming multipart/form-data parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "pve/fileio.h"
#include "pve/http-multipart.h"

#define CT "multipart/form-data; boundary=----b0undary"
#define BODY                                                                      \
    "preamble\r\n------b0undary\r\n"                                              \
    "Content-Disposition: form-data; name=\"content\"\r\n\r\niso\r\n"             \
    "------b0undary \r\n"                                                         \
    "content-disposition: form-data; name=\"filename\"; filename=\"C:\\\\x\\\\a " \
    "\\\"b\\\".iso\"\r\nContent-Type: application/octet-stream\r\n\r\n"           \
    "data\r\n---b0undar\r\nmore\r\n------b0undary--\r\nepilogue"

static void test_boundary(void **state) {
    (void) state;
    _cleanup_free_ char *b = NULL, *q = NULL;
    char *x = NULL;
    assert_int_equal(http_multipart_boundary(CT, &b), 0);
    assert_string_equal(b, "----b0undary");
    assert_int_equal(
        http_multipart_boundary("Multipart/Form-Data ; charset=x; boundary=\"a b\"", &q), 0
    );
    assert_string_equal(q, "a b");
    assert_int_equal(http_multipart_boundary("multipart/form-data", &x), -EINVAL);
    assert_int_equal(http_multipart_boundary("multipart/mixed; boundary=a", &x), -EINVAL);
    assert_int_equal(http_multipart_boundary("multipart/form-data; boundary=", &x), -EINVAL);
}

/* Feed BODY in pieces of `step` bytes into a form writing to dir. */
static HttpMultipartForm *feed(const char *dir, size_t step) {
    HttpMultipartForm *f = NULL;
    assert_int_equal(http_multipart_form_new(CT, dir, 0, &f), 0);
    const char *body = BODY;
    size_t len = strlen(body);
    for (size_t i = 0; i < len; i += step)
        assert_int_equal(http_multipart_form_feed(f, body + i, MIN(step, len - i)), 0);
    assert_int_equal(http_multipart_form_finish(f), 0);
    return f;
}

static void test_parse_pieces(void **state) {
    (void) state;
    char dir[] = "/tmp/test-multipart.XXXXXX";
    assert_non_null(mkdtemp(dir));
    for (size_t step = 1; step <= strlen(BODY); step += step < 20 ? 1 : 37) {
        _cleanup_(http_multipart_form_freep) HttpMultipartForm *f = feed(dir, step);
        assert_string_equal(
            json_string_value(json_object_get(http_multipart_form_fields(f), "content")), "iso"
        );
        assert_string_equal(http_multipart_form_file_name(f), "C:\\x\\a \"b\".iso");
        assert_string_equal(http_multipart_form_file_field(f), "filename");
        assert_int_equal(http_multipart_form_file_size(f), strlen("data\r\n---b0undar\r\nmore"));
        const char *path = http_multipart_form_file_path(f);
        assert_non_null(path);
        assert_non_null(strstr(path, "/pveupload-"));
        _cleanup_free_ char *data = NULL;
        size_t n = 0;
        assert_int_equal(read_full_file(path, 1024, &data, &n), 0);
        assert_int_equal(n, strlen("data\r\n---b0undar\r\nmore"));
        assert_memory_equal(data, "data\r\n---b0undar\r\nmore", n);
        _cleanup_free_ char *keep = strdup(path);
        f = http_multipart_form_free(f);
        assert_int_not_equal(access(keep, F_OK), 0); /* unlinked with the form */
    }
    assert_int_equal(rmdir(dir), 0);
}

static int parse_all(const char *body, uint64_t max, HttpMultipartForm **ret) {
    HttpMultipartForm *f = NULL;
    assert_int_equal(http_multipart_form_new("multipart/form-data; boundary=B", NULL, max, &f), 0);
    *ret = f;
    int r = http_multipart_form_feed(f, body, strlen(body));
    return r < 0 ? r : http_multipart_form_finish(f);
}

static void test_errors(void **state) {
    (void) state;
    static const struct {
        const char *body;
        int want;
    } cases[] = {
        {"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B",
         -EINVAL}, /* no close */
        {"--B\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n--B--", -EINVAL},
        {"--B\r\nContent-Disposition: form-data\r\n\r\n1\r\n--B--", -EINVAL}, /* no name */
        {"--B\r\n\r\n1\r\n--B--", -EINVAL},                                   /* no headers */
        {"--Bjunk\r\n", -EINVAL},
        {"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n1\r\n"
         "--B\r\nContent-Disposition: form-data; name=\"g\"; filename=\"b\"\r\n\r\n2\r\n--B--",
         -EINVAL}, /* two files */
        {"--B\r\nContent-Disposition: form-data; name=\"f\"; "
         "filename=\"a\"\r\n\r\n0123456789\r\n--B--",
         -EFBIG},
        {"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\xff\r\n--B--", -EINVAL},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        _cleanup_(http_multipart_form_freep) HttpMultipartForm *f = NULL;
        assert_int_equal(parse_all(cases[i].body, 5, &f), cases[i].want);
    }
    _cleanup_(http_multipart_form_freep) HttpMultipartForm *ok = NULL;
    assert_int_equal(
        parse_all(
            "--B\r\nContent-Disposition: form-data; name=\"f\"; "
            "filename=\"\"\r\n\r\n12345\r\n--B--",
            5, &ok
        ),
        0
    );
    assert_string_equal(http_multipart_form_file_name(ok), "");
    assert_null(http_multipart_form_file_path(ok)); /* discard mode */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_parse_pieces),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
