/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for qmeventd's pure parsers: message framing of a client's byte stream fed in
 * pieces of every size (split inside literals, strings, escapes), invalid data and oversized
 * values, and the VMID from a QEMU command line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include <errno.h>

#include "pve/macro.h"
#include "qmeventd.h"

static const char stream[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0}}, \"capabilities\": [\"oob\"]}}\r\n"
    "{\"return\": {}}\r\n"
    "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}, "
    "\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"
    "{\"return\": {\"status\": \"sh}u\\\"t{[down\", \"running\": false}}\r\n";

/* Feed the stream in chunks of `step` bytes; check the four messages come out in order. */
static void feed_in_steps(size_t step) {
    char buf[QMEVENTD_BUF_SIZE];
    size_t len = 0, got = 0, total = strlen(stream);
    for (size_t pos = 0; pos < total;) {
        size_t n = MIN(step, total - pos);
        memcpy(buf + len, stream + pos, n);
        len += n;
        pos += n;
        json_t *msg;
        int r;
        while ((r = qmeventd_next_message(buf, &len, sizeof buf, &msg)) == 1) {
            switch (got++) {
            case 0:
                assert_non_null(json_object_get(msg, "QMP"));
                break;
            case 1:
                assert_int_equal(json_object_size(json_object_get(msg, "return")), 0);
                break;
            case 2:
                assert_string_equal(json_string_value(json_object_get(msg, "event")), "SHUTDOWN");
                assert_true(json_is_true(json_object_get(json_object_get(msg, "data"), "guest")));
                break;
            case 3:
                assert_string_equal(
                    json_string_value(json_object_get(json_object_get(msg, "return"), "status")),
                    "sh}u\"t{[down"
                );
                break;
            default:
                fail();
            }
            json_decref(msg);
        }
        assert_int_equal(r, 0);
    }
    assert_int_equal(got, 4);
    assert_int_equal(len, 0);
}

static void test_framing_any_split(void **state) {
    (void) state;
    for (size_t step = 1; step <= strlen(stream); step++)
        feed_in_steps(step);
}

static void test_framing_invalid(void **state) {
    (void) state;
    char buf[64];
    json_t *msg = NULL;

    /* garbage that is not a value at all: the whole buffer goes */
    strcpy(buf, "hello {\"a\":1}");
    size_t len = strlen(buf);
    assert_int_equal(qmeventd_next_message(buf, &len, sizeof buf, &msg), -EBADMSG);
    assert_int_equal(len, 0);

    /* a broken value is dropped, the next one still parses */
    strcpy(buf, "{\"a\": tru} {\"b\": 2}");
    len = strlen(buf);
    assert_int_equal(qmeventd_next_message(buf, &len, sizeof buf, &msg), -EBADMSG);
    assert_int_equal(qmeventd_next_message(buf, &len, sizeof buf, &msg), 1);
    assert_int_equal(json_integer_value(json_object_get(msg, "b")), 2);
    json_decref(msg);
    assert_int_equal(len, 0);

    /* mismatched brackets and duplicate keys */
    strcpy(buf, "{\"a\": [1}]");
    len = strlen(buf);
    assert_int_equal(qmeventd_next_message(buf, &len, sizeof buf, &msg), -EBADMSG);
    strcpy(buf, "{\"a\": 1, \"a\": 2}");
    len = strlen(buf);
    assert_int_equal(qmeventd_next_message(buf, &len, sizeof buf, &msg), -EBADMSG);
    assert_int_equal(len, 0);

    /* only blanks: consumed, nothing returned */
    strcpy(buf, " \r\n\t ");
    len = strlen(buf);
    assert_int_equal(qmeventd_next_message(buf, &len, sizeof buf, &msg), 0);
    assert_int_equal(len, 0);

    /* an unfinished value waits, until the buffer is full */
    strcpy(buf, "{\"a\": \"aaaa");
    len = strlen(buf);
    assert_int_equal(qmeventd_next_message(buf, &len, sizeof buf, &msg), 0);
    assert_int_equal(len, strlen("{\"a\": \"aaaa"));
    assert_int_equal(qmeventd_next_message(buf, &len, len, &msg), -EMSGSIZE);
    assert_int_equal(len, 0);
}

static int vmid(const char *cmdline, size_t len, char *ret) {
    return qmeventd_vmid_from_cmdline(cmdline, len, ret);
}
#define CMDLINE(s) s, sizeof(s) /* the literal with its final NUL, as in /proc */

static void test_vmid_from_cmdline(void **state) {
    (void) state;
    char id[QMEVENTD_VMID_MAX];
    assert_int_equal(
        vmid(
            CMDLINE("/usr/bin/kvm\0-id\0100\0-pidfile\0/var/run/qemu-server/100.pid\0-daemonize"),
            id
        ),
        0
    );
    assert_string_equal(id, "100");
    assert_int_equal(
        vmid(
            CMDLINE("kvm\0-pidfile\0"
                    "123456789.pid"),
            id
        ),
        0
    );
    assert_string_equal(id, "123456789");
    /* without the final NUL (a truncated read) */
    static const char unterminated[] = "kvm\0-pidfile\0/run/7.pid";
    assert_int_equal(vmid(unterminated, sizeof unterminated - 1, id), 0);
    assert_string_equal(id, "7");

    assert_int_equal(vmid(CMDLINE("kvm\0-name\0x"), id), -ENOENT);
    assert_int_equal(vmid(CMDLINE("kvm\0-pidfile"), id), -ENOENT);
    assert_int_equal(vmid("", 0, id), -ENOENT);
    assert_int_equal(vmid(CMDLINE("kvm\0--pidfile\0/run/1.pid"), id), -ENOENT);
    assert_int_equal(vmid(CMDLINE("kvm\0-pidfile\0/run/qemu-server/abc.pid"), id), -EINVAL);
    assert_int_equal(vmid(CMDLINE("kvm\0-pidfile\0/run/qemu-server/.pid"), id), -EINVAL);
    assert_int_equal(vmid(CMDLINE("kvm\0-pidfile\0/run/qemu-server/100.pidx"), id), -EINVAL);
    assert_int_equal(vmid(CMDLINE("kvm\0-pidfile\0/run/qemu-server/100"), id), -EINVAL);
    assert_int_equal(vmid(CMDLINE("kvm\0-pidfile\0/run/qemu-server/1.2.pid"), id), -EINVAL);
    assert_int_equal(vmid(CMDLINE("kvm\0-pidfile\0/run/100.pid/"), id), -EINVAL);
    assert_int_equal(
        vmid(
            CMDLINE("kvm\0-pidfile\0"
                    "1234567890123456.pid"),
            id
        ),
        -EINVAL
    );
    assert_int_equal(
        vmid(
            CMDLINE("kvm\0-pidfile\0"
                    "123456789012345.pid"),
            id
        ),
        0
    );
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing_any_split),
        cmocka_unit_test(test_framing_invalid),
        cmocka_unit_test(test_vmid_from_cmdline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
