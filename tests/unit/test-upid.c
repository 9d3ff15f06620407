/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for UPID encoding/decoding and the task log path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "pve/upid.h"

static void check_roundtrip(const char *s) {
    Upid u;
    if (upid_decode(s, &u) < 0)
        fail_msg("'%s' should decode", s);
    _cleanup_free_ char *out = NULL;
    assert_int_equal(upid_encode(&u, &out), 0);
    assert_string_equal(out, s);
}

static void test_roundtrip(void **state) {
    (void) state;
    check_roundtrip("UPID:pve1:0001A2B3:0023C4D5:6553F100:qmstart:100:root@pam:");
    check_roundtrip("UPID:node-2:00000001:00000000:00000000:vzdump::root@pam:");
    check_roundtrip("UPID:pve:003D0900:1A2B3C4D5:66A1B2C3:aptupdate::root@pam:");
    check_roundtrip("UPID:pve1:00012345:0ABCDEF0:6553F10A:vncproxy:101:alice@pve!ci:");
    check_roundtrip("UPID:p:0000FFFF:00FFFFFF:FFFFFFFF:srvreload:pveproxy:root@pam:");
    check_roundtrip("UPID:PVE-Node-01:00001000:00002000:65000000:qmigrate:100:j\xc3\xbcrgen@pve:");
}

static void test_decode_fields(void **state) {
    (void) state;
    Upid u;
    assert_int_equal(
        upid_decode("UPID:pve1:0001A2B3:0023C4D5:6553F100:qmstart:100:root@pam:", &u), 0
    );
    assert_string_equal(u.node, "pve1");
    assert_int_equal(u.pid, 0x1A2B3);
    assert_int_equal(u.pstart, 0x23C4D5);
    assert_int_equal(u.starttime, 0x6553F100);
    assert_string_equal(u.type, "qmstart");
    assert_string_equal(u.id, "100");
    assert_string_equal(u.user, "root@pam");

    /* 9-digit pstart (uptime beyond ~497 days at 100 Hz). */
    assert_int_equal(
        upid_decode("UPID:pve:003D0900:1A2B3C4D5:66A1B2C3:aptupdate::root@pam:", &u), 0
    );
    assert_true(u.pstart == UINT64_C(0x1A2B3C4D5));
    assert_string_equal(u.id, "");

    /* Lower-case hex is read; encoding writes upper case. */
    assert_int_equal(
        upid_decode("UPID:pve1:0001a2b3:0023c4d5:6553f10a:qmstop:100:root@pam:", &u), 0
    );
    assert_int_equal(u.pid, 0x1A2B3);
    assert_int_equal(u.starttime, 0x6553F10A);
    _cleanup_free_ char *s = NULL;
    assert_int_equal(upid_encode(&u, &s), 0);
    assert_string_equal(s, "UPID:pve1:0001A2B3:0023C4D5:6553F10A:qmstop:100:root@pam:");
}

static void test_decode_malformed(void **state) {
    (void) state;
    static const char *const bad[] = {
        "",
        "UPID:",
        "upid:pve1:0001A2B3:0023C4D5:6553F100:qmstart:100:root@pam:",
        "UPID:pve1:0001A2B3:0023C4D5:6553F100:qmstart:100:root@pam",     /* no trailing ':' */
        "UPID:pve1:0001A2B3:0023C4D5:6553F100:qmstart:100:root@pam::",   /* extra field */
        "UPID:pve1:0001A2B3:0023C4D5:6553F100:qmstart:100:root@pam:x",   /* trailing junk */
        "UPID:pve1:0001A2B3:0023C4D5:6553F100:qmstart:100::",            /* empty user */
        "UPID:pve1:0001A2B3:0023C4D5:6553F100::100:root@pam:",           /* empty type */
        "UPID::0001A2B3:0023C4D5:6553F100:qmstart:100:root@pam:",        /* empty node */
        "UPID:-pve:0001A2B3:0023C4D5:6553F100:qmstart:100:root@pam:",    /* node starts with - */
        "UPID:pve-:0001A2B3:0023C4D5:6553F100:qmstart:100:root@pam:",    /* node ends with - */
        "UPID:pve.lan:0001A2B3:0023C4D5:6553F100:qmstart:100:root@pam:", /* dot in node */
        "UPID:pve1:1A2B3:0023C4D5:6553F100:qmstart:100:root@pam:",       /* short pid */
        "UPID:pve1:001A2B3G:0023C4D5:6553F100:qmstart:100:root@pam:",    /* bad hex */
        "UPID:pve1:0001A2B3:0023C4D:6553F100:qmstart:100:root@pam:",     /* 7-digit pstart */
        "UPID:pve1:0001A2B3:0023C4D5AB:6553F100:qmstart:100:root@pam:",  /* 10-digit pstart */
        "UPID:pve1:0001A2B3:0023C4D5:6553F1001:qmstart:100:root@pam:",   /* 9-digit starttime */
        "UPID:pve1:0001A2B3:0023C4D5:6553F100:qm start:100:root@pam:",   /* blank in type */
        "UPID:pve1:0001A2B3:0023C4D5:6553F100:qmstart:../etc:root@pam:", /* slash in id */
        "UPID:pve1:0001A2B3:0023C4D5:6553F100:qmstart:1\t0:root@pam:",   /* tab in id */
        "UPID:pve1:0001A2B3:0023C4D5:6553F100:qmstart:100:ro/ot@pam:",   /* slash in user */
        "UPID:pve1:0001A2B3:+023C4D5:6553F100:qmstart:100:root@pam:",    /* sign */
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        Upid u = {.pid = 42};
        if (upid_decode(bad[i], &u) != -EINVAL)
            fail_msg("'%s' should not decode", bad[i]);
        assert_int_equal(u.pid, 42); /* untouched on failure */
    }

    /* Too long for a file name. */
    char longid[300];
    int n = snprintf(longid, sizeof longid, "UPID:pve1:00000001:00000002:00000003:t:%0240d:u:", 0);
    assert_true(n > 255);
    Upid u;
    assert_int_equal(upid_decode(longid, &u), -EINVAL);
}

static void test_encode_invalid(void **state) {
    (void) state;
    Upid u = {
        .node = "pve1",
        .pid = 0x1234,
        .pstart = 0xABCDEF,
        .starttime = 0x6553F100,
        .type = "qmstart",
        .id = "100",
        .user = "root@pam",
    };
    _cleanup_free_ char *s = NULL;
    assert_int_equal(upid_encode(&u, &s), 0);
    assert_string_equal(s, "UPID:pve1:00001234:00ABCDEF:6553F100:qmstart:100:root@pam:");

    char *t = NULL;
    Upid v = u;
    strcpy(v.node, "bad_node");
    assert_int_equal(upid_encode(&v, &t), -EINVAL);
    v = u;
    strcpy(v.type, "a:b");
    assert_int_equal(upid_encode(&v, &t), -EINVAL);
    v = u;
    strcpy(v.id, "a/b");
    assert_int_equal(upid_encode(&v, &t), -EINVAL);
    v = u;
    v.user[0] = '\0';
    assert_int_equal(upid_encode(&v, &t), -EINVAL);
    v = u;
    v.pstart = UINT64_C(0x1000000000);
    assert_int_equal(upid_encode(&v, &t), -EINVAL);
    v = u;
    memset(v.id, 'x', 250);
    v.id[250] = '\0';
    assert_int_equal(upid_encode(&v, &t), -EINVAL); /* whole UPID > 255 */
    assert_null(t);

    v = u;
    v.id[0] = '\0';
    v.pstart = UINT64_C(0xFFFFFFFFF);
    _cleanup_free_ char *w = NULL;
    assert_int_equal(upid_encode(&v, &w), 0);
    assert_string_equal(w, "UPID:pve1:00001234:FFFFFFFFF:6553F100:qmstart::root@pam:");
}

static void test_log_path(void **state) {
    (void) state;
    _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    assert_int_equal(
        upid_log_path(
            "/var/log/pve/tasks", "UPID:pve1:0001A2B3:0023C4D5:6553F10A:qmstart:100:root@pam:", &a
        ),
        0
    );
    assert_string_equal(
        a, "/var/log/pve/tasks/A/UPID:pve1:0001A2B3:0023C4D5:6553F10A:qmstart:100:root@pam:"
    );
    assert_int_equal(
        upid_log_path("/tmp/t/", "UPID:pve:003D0900:1A2B3C4D5:66A1B2C3:aptupdate::root@pam:", &b), 0
    );
    assert_string_equal(b, "/tmp/t/3/UPID:pve:003D0900:1A2B3C4D5:66A1B2C3:aptupdate::root@pam:");
    /* The digit is taken as written. */
    assert_int_equal(
        upid_log_path("tasks", "UPID:pve1:0001a2b3:0023c4d5:6553f10b:qmstop:100:root@pam:", &c), 0
    );
    assert_string_equal(c, "tasks/b/UPID:pve1:0001a2b3:0023c4d5:6553f10b:qmstop:100:root@pam:");
    assert_int_equal(upid_log_path("/", "UPID:n:00000001:00000002:00000003:t::u:", &d), 0);
    assert_string_equal(d, "/3/UPID:n:00000001:00000002:00000003:t::u:");

    char *x = NULL;
    assert_int_equal(
        upid_log_path("/var/log/pve/tasks", "UPID:pve1:../../etc/passwd", &x), -EINVAL
    );
    assert_int_equal(upid_log_path("", "UPID:n:00000001:00000002:00000003:t::u:", &x), -EINVAL);
    assert_null(x);
}

static void test_validators(void **state) {
    (void) state;
    assert_true(upid_node_is_valid("pve1"));
    assert_true(upid_node_is_valid("a"));
    assert_true(upid_node_is_valid("node-01"));
    assert_false(upid_node_is_valid("node_01"));
    assert_false(upid_node_is_valid(""));
    assert_false(upid_node_is_valid(NULL));
    char longnode[UPID_NODE_MAX + 2];
    memset(longnode, 'n', sizeof longnode - 1);
    longnode[sizeof longnode - 1] = '\0';
    assert_false(upid_node_is_valid(longnode));
    longnode[UPID_NODE_MAX] = '\0';
    assert_true(upid_node_is_valid(longnode));
    assert_true(upid_field_is_valid("", true));
    assert_false(upid_field_is_valid("", false));
    assert_true(upid_field_is_valid("root@pam!token", false));
    assert_false(upid_field_is_valid("a b", false));
    assert_false(upid_field_is_valid("a\x7f", false));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),        cmocka_unit_test(test_decode_fields),
        cmocka_unit_test(test_decode_malformed), cmocka_unit_test(test_encode_invalid),
        cmocka_unit_test(test_log_path),         cmocka_unit_test(test_validators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
