/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the cluster log: sanitising, entry packing and validation, duplicate
 * suppression, ring wrap-around, merging of several nodes' buffers, and the JSON dump (exact
 * text for a known case, and valid JSON for hostile input).
 */
#include <jansson.h>
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

#include "clusterlog.h"

static uint64_t entry_buf[CLUSTERLOG_MAX_ENTRY_SIZE / 8];

static json_t *parse_json(const char *text, size_t len) {
    json_error_t err;
    json_t *j = json_loadb(text, len, 0, &err);
    if (!j)
        fail_msg("invalid JSON (%s at line %d col %d): %s", err.text, err.line, err.column, text);
    return j;
}

static void test_sanitize(void **state) {
    (void) state;
    char buf[256];
    /* quote, backslash, newline, tab, DEL, e-acute, euro, an emoji, an invalid byte */
    size_t n = clusterlog_sanitize(
        "a\"b\\c\n\t\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff.", buf, sizeof buf
    );
    const char *want = "a\\\"b\\\\c#010#009#127\\u00e9\\u20ac\\ud83d\\ude00?.";
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));

    /* overlong encodings and UTF-16 surrogates are not UTF-8 */
    clusterlog_sanitize("\xc0\xaf|\xed\xa0\x80|\xe2\x82", buf, sizeof buf);
    assert_string_equal(buf, "??|???|??");

    /* never cuts an escape in half */
    clusterlog_sanitize("ab\xc3\xa9", buf, 8);
    assert_string_equal(buf, "ab");
    clusterlog_sanitize("ab\xc3\xa9", buf, 9);
    assert_string_equal(buf, "ab\\u00e9");
    clusterlog_sanitize(NULL, buf, 1);
    assert_string_equal(buf, "");
}

static void test_pack_decode(void **state) {
    (void) state;
    size_t len = clusterlog_entry_pack(
        entry_buf, 7, 1700000000, 6, 4242, "node1", "root@pam", "tag", "hello"
    );
    assert_int_equal(len, CLUSTERLOG_ENTRY_HEADER + 6 + 9 + 4 + 6);

    ClusterLogEntry e;
    assert_int_equal(clusterlog_entry_decode(entry_buf, len, &e), 0);
    assert_int_equal(e.uid, 7);
    assert_int_equal(e.time, 1700000000);
    assert_int_equal(e.priority, 6);
    assert_int_equal(e.pid, 4242);
    assert_string_equal(e.node, "node1");
    assert_string_equal(e.ident, "root@pam");
    assert_string_equal(e.tag, "tag");
    assert_string_equal(e.msg, "hello");
    assert_int_equal(e.size, len);
    assert_true(e.node_digest == clusterlog_digest("node1"));
    assert_true(e.ident_digest == clusterlog_digest("root@pam"));
    /* FNV-1a-64 of the single byte 0 (the empty string with its NUL) */
    assert_true(clusterlog_digest("") == 0xaf63bd4c8601b7dfULL);

    /* field offsets of the wire layout */
    const uint8_t *b = (const uint8_t *) entry_buf;
    assert_int_equal(b[36], 6);
    assert_int_equal(b[37], 6);
    assert_int_equal(b[38], 9);
    assert_int_equal(b[39], 4);
    assert_memory_equal(b + 44, "node1\0root@pam\0tag\0hello\0", 25);

    /* wrong length, bad string terminators, zero lengths */
    assert_int_equal(clusterlog_entry_decode(entry_buf, len - 1, &e), -EINVAL);
    assert_int_equal(clusterlog_entry_decode(entry_buf, len + 1, &e), -EINVAL);
    assert_int_equal(clusterlog_entry_decode(entry_buf, 10, &e), -EINVAL);
    uint8_t copy[CLUSTERLOG_MAX_ENTRY_SIZE];
    memcpy(copy, entry_buf, len);
    copy[44 + 5] = 'x'; /* node loses its NUL */
    assert_int_equal(clusterlog_entry_decode(copy, len, &e), -EINVAL);
    memcpy(copy, entry_buf, len);
    copy[37] = 0;
    assert_int_equal(clusterlog_entry_decode(copy, len, &e), -EINVAL);
}

static void test_limits(void **state) {
    (void) state;
    char big[10000];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char name[400];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';

    size_t len = clusterlog_entry_pack(entry_buf, 1, 1, 3, 1, name, name, name, big);
    assert_true(len <= CLUSTERLOG_MAX_ENTRY_SIZE);
    ClusterLogEntry e;
    assert_int_equal(clusterlog_entry_decode(entry_buf, len, &e), 0);
    assert_int_equal(strlen(e.node), 254);
    assert_int_equal(strlen(e.ident), 254);
    assert_int_equal(strlen(e.tag), 254);
    assert_int_equal(len, CLUSTERLOG_MAX_ENTRY_SIZE);
    assert_int_equal(
        strlen(e.msg), CLUSTERLOG_MAX_ENTRY_SIZE - CLUSTERLOG_ENTRY_HEADER - 3 * 255 - 1
    );

    /* a message of escapes is cut at a whole escape */
    char nl[3000];
    memset(nl, '\n', sizeof nl - 1);
    nl[sizeof nl - 1] = '\0';
    len = clusterlog_entry_pack(entry_buf, 1, 1, 3, 1, "n", "u", "t", nl);
    assert_int_equal(clusterlog_entry_decode(entry_buf, len, &e), 0);
    assert_int_equal(strlen(e.msg) % 4, 0);
    assert_true(len <= CLUSTERLOG_MAX_ENTRY_SIZE);
}

static void test_dedup(void **state) {
    (void) state;
    _cleanup_(clusterlog_freep) ClusterLog *l = clusterlog_new();
    assert_non_null(l);
    assert_int_equal(clusterlog_count(l), 0);

    size_t len = clusterlog_entry_pack(entry_buf, 5, 100, 6, 1, "a", "root", "t", "m1");
    assert_int_equal(clusterlog_insert(l, entry_buf, len), 1);
    assert_int_equal(clusterlog_insert(l, entry_buf, len), 0); /* same (time, uid) */
    len = clusterlog_entry_pack(entry_buf, 4, 100, 6, 1, "a", "root", "t", "older uid");
    assert_int_equal(clusterlog_insert(l, entry_buf, len), 0);
    len = clusterlog_entry_pack(entry_buf, 9, 99, 6, 1, "a", "root", "t", "older time");
    assert_int_equal(clusterlog_insert(l, entry_buf, len), 0);
    len = clusterlog_entry_pack(entry_buf, 6, 100, 6, 1, "a", "root", "t", "newer uid");
    assert_int_equal(clusterlog_insert(l, entry_buf, len), 1);
    len = clusterlog_entry_pack(entry_buf, 1, 101, 6, 1, "a", "root", "t", "newer time");
    assert_int_equal(clusterlog_insert(l, entry_buf, len), 1);
    /* other node: its own history */
    len = clusterlog_entry_pack(entry_buf, 5, 100, 6, 1, "b", "root", "t", "node b");
    assert_int_equal(clusterlog_insert(l, entry_buf, len), 1);
    assert_int_equal(clusterlog_insert(l, entry_buf, 3), -EINVAL);
    assert_int_equal(clusterlog_count(l), 4);

    /* add: uids count up, the packed entry is handed back for broadcasting */
    uint8_t out[CLUSTERLOG_MAX_ENTRY_SIZE];
    size_t out_len = 0;
    assert_int_equal(clusterlog_add(l, "c", "root", "t", 2, 6, 200, "x", out, &out_len), 1);
    ClusterLogEntry e;
    assert_int_equal(clusterlog_entry_decode(out, out_len, &e), 0);
    assert_int_equal(e.uid, 1);
    assert_int_equal(clusterlog_add(l, "c", "root", "t", 2, 6, 200, "y", NULL, NULL), 1);
    ClusterLogIter it = {};
    assert_true(clusterlog_iterate(l, &it, &e));
    assert_int_equal(e.uid, 2);
    assert_string_equal(e.msg, "y");
}

static void test_dump_exact(void **state) {
    (void) state;
    _cleanup_(clusterlog_freep) ClusterLog *l = clusterlog_new();
    char *out = NULL;
    size_t len = 0;

    assert_int_equal(clusterlog_dump_json(l, 0, NULL, &out, &len), 0);
    assert_string_equal(out, "{\n\"data\": [\n]\n}\n");
    json_decref(parse_json(out, len));
    free(out);

    assert_int_equal(
        clusterlog_add(
            l, "n1", "root", "cluster", 100, 6, 1000, "starting cluster log", NULL, NULL
        ),
        1
    );
    assert_int_equal(
        clusterlog_add(l, "n1", "root@pam", "qm", 101, 3, 1001, "say \"hi\"\tnow", NULL, NULL), 1
    );
    assert_int_equal(clusterlog_dump_json(l, 0, NULL, &out, &len), 0);
    assert_string_equal(
        out,
        "{\n\"data\": [\n"
        "{\"uid\": 2, \"time\": 1001, \"pri\": 3, \"tag\": \"qm\", \"pid\": 101, \"node\": \"n1\", "
        "\"user\": \"root@pam\", \"msg\": \"say \\\"hi\\\"#009now\"},\n"
        "{\"uid\": 1, \"time\": 1000, \"pri\": 6, \"tag\": \"cluster\", \"pid\": 100, \"node\": "
        "\"n1\", \"user\": \"root\", \"msg\": \"starting cluster log\"}\n"
        "]\n}\n"
    );
    assert_int_equal(len, strlen(out));
    json_t *j = parse_json(out, len);
    json_t *data = json_object_get(j, "data");
    assert_int_equal(json_array_size(data), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(data, 0), "msg")), "say \"hi\"#009now"
    );
    json_decref(j);
    free(out);

    /* user filter and max */
    assert_int_equal(clusterlog_dump_json(l, 0, "root", &out, &len), 0);
    j = parse_json(out, len);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "data"), 0), "user")),
        "root"
    );
    json_decref(j);
    free(out);
    assert_int_equal(clusterlog_dump_json(l, 1, NULL, &out, &len), 0);
    j = parse_json(out, len);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 1);
    json_decref(j);
    free(out);
    assert_int_equal(clusterlog_dump_json(l, 0, "nobody", &out, &len), 0);
    assert_string_equal(out, "{\n\"data\": [\n]\n}\n");
    free(out);

    /* default max is 50 */
    for (unsigned i = 0; i < 120; i++)
        assert_int_equal(clusterlog_add(l, "n1", "root", "t", 1, 6, 2000 + i, "m", NULL, NULL), 1);
    assert_int_equal(clusterlog_dump_json(l, 0, NULL, &out, &len), 0);
    j = parse_json(out, len);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 50);
    json_decref(j);
    free(out);
    assert_int_equal(clusterlog_dump_json(l, 1000, NULL, &out, &len), 0);
    j = parse_json(out, len);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 122);
    json_decref(j);
    free(out);
}

/* A peer may send strings that are not escaped the way we escape: the dump stays JSON. */
static void test_dump_hostile(void **state) {
    (void) state;
    _cleanup_(clusterlog_freep) ClusterLog *l = clusterlog_new();
    size_t len =
        clusterlog_entry_pack(entry_buf, 1, 1, 6, 1, "peer", "user", "tag", "0123456789zzzzzz");
    ClusterLogEntry e;
    assert_int_equal(clusterlog_entry_decode(entry_buf, len, &e), 0);
    /* overwrite the message bytes in place with raw trouble */
    memcpy((char *) e.msg, "\\q\"\x01\xc3\xa9\\u12\\", 11);
    assert_int_equal(clusterlog_insert(l, entry_buf, len), 1);

    char *out = NULL;
    size_t n = 0;
    assert_int_equal(clusterlog_dump_json(l, 0, NULL, &out, &n), 0);
    json_t *j = parse_json(out, n);
    const char *msg =
        json_string_value(json_object_get(json_array_get(json_object_get(j, "data"), 0), "msg"));
    assert_string_equal(msg, "\\q\"\x01??\\u12\\zzzzz");
    json_decref(j);
    free(out);
}

static void check_ring(const ClusterLog *l, uint32_t newest_uid) {
    ClusterLogIter it = {};
    ClusterLogEntry e;
    uint32_t expect = newest_uid;
    size_t bytes = 0, n = 0;
    while (clusterlog_iterate(l, &it, &e)) {
        assert_int_equal(e.uid, expect);
        assert_int_equal(e.time, e.uid);
        char want[32];
        snprintf(want, sizeof want, "%u", e.uid);
        assert_string_equal(e.tag, want);
        expect--;
        bytes += (e.size + 7) & ~(size_t) 7;
        n++;
    }
    assert_true(bytes < CLUSTERLOG_BUFFER_SIZE);
    if (newest_uid > 3000)
        assert_true(bytes > CLUSTERLOG_BUFFER_SIZE / 2); /* most of the ring is usable */
    assert_int_equal(n, clusterlog_count(l));
}

static void test_ring_wrap(void **state) {
    (void) state;
    _cleanup_(clusterlog_freep) ClusterLog *l = clusterlog_new();
    char msg[4096];
    uint32_t x = 12345;
    for (uint32_t i = 1; i <= 20000; i++) {
        x = x * 1103515245 + 12345;
        size_t ml = (x >> 8) % 3500;
        memset(msg, 'a' + i % 26, ml);
        msg[ml] = '\0';
        char tag[32];
        snprintf(tag, sizeof tag, "%u", i);
        assert_int_equal(clusterlog_add(l, "n1", "root", tag, 1, 6, i, msg, NULL, NULL), 1);
        if (i % 97 == 0 || i < 50)
            check_ring(l, i);
    }
    check_ring(l, 20000);
}

static void test_merge(void **state) {
    (void) state;
    _cleanup_(clusterlog_freep) ClusterLog *a = clusterlog_new();
    _cleanup_(clusterlog_freep) ClusterLog *b = clusterlog_new();
    for (uint32_t t = 0; t < 10; t++) {
        assert_int_equal(
            clusterlog_add(a, "a", "root", "t", 1, 6, 1000 + 2 * t, "from a", NULL, NULL), 1
        );
        assert_int_equal(
            clusterlog_add(b, "b", "root", "t", 2, 6, 1001 + 2 * t, "from b", NULL, NULL), 1
        );
    }
    /* an entry both already have */
    size_t len = clusterlog_entry_pack(entry_buf, 77, 1005, 6, 3, "c", "root", "t", "shared");
    assert_int_equal(clusterlog_insert(a, entry_buf, len), 1);
    assert_int_equal(clusterlog_insert(b, entry_buf, len), 1);

    void *sb = NULL;
    size_t sb_len = 0;
    assert_int_equal(clusterlog_get_state(b, &sb, &sb_len), 0);
    assert_int_equal(sb_len, CLUSTERLOG_BUFFER_SIZE);
    assert_int_equal(clusterlog_state_check(sb, sb_len), 0);

    const void *states[] = {sb, sb};
    size_t lens[] = {sb_len, sb_len};
    assert_int_equal(clusterlog_merge(a, states, lens, 2), 0);
    assert_int_equal(clusterlog_count(a), 21); /* duplicates (shared, b twice) dropped */

    ClusterLogIter it = {};
    ClusterLogEntry e;
    uint32_t last = UINT32_MAX;
    unsigned ties = 0;
    while (clusterlog_iterate(a, &it, &e)) {
        assert_true(e.time <= last);
        ties += e.time == last; /* b's and c's entries at 1005 */
        last = e.time;
    }
    assert_int_equal(ties, 1);
    /* after the merge, the dedup table knows b's entries */
    len = clusterlog_entry_pack(entry_buf, 10, 1019, 6, 2, "b", "root", "t", "from b");
    assert_int_equal(clusterlog_insert(a, entry_buf, len), 0);

    /* a malformed state changes nothing */
    uint8_t bad[16] = {0};
    const void *bstates[] = {sb, bad};
    size_t blens[] = {sb_len, sizeof bad};
    assert_int_equal(clusterlog_merge(a, bstates, blens, 2), -EINVAL);
    assert_int_equal(clusterlog_count(a), 21);
    assert_int_equal(clusterlog_state_check(sb, sb_len - 8), -EINVAL);
    free(sb);

    /* merging into an empty log reproduces the state */
    _cleanup_(clusterlog_freep) ClusterLog *c = clusterlog_new();
    void *sa = NULL;
    size_t sa_len = 0;
    assert_int_equal(clusterlog_get_state(a, &sa, &sa_len), 0);
    const void *one[] = {sa};
    assert_int_equal(clusterlog_merge(c, one, &sa_len, 1), 0);
    char *ja = NULL, *jc = NULL;
    size_t la, lc;
    assert_int_equal(clusterlog_dump_json(a, 100, NULL, &ja, &la), 0);
    assert_int_equal(clusterlog_dump_json(c, 100, NULL, &jc, &lc), 0);
    assert_string_equal(ja, jc);
    free(ja);
    free(jc);
    free(sa);
}

/* Merged logs bigger than one ring keep the newest entries. */
static void test_merge_truncates(void **state) {
    (void) state;
    _cleanup_(clusterlog_freep) ClusterLog *a = clusterlog_new();
    _cleanup_(clusterlog_freep) ClusterLog *b = clusterlog_new();
    char msg[2001];
    memset(msg, 'x', 2000);
    msg[2000] = '\0';
    for (uint32_t t = 0; t < 50; t++) {
        assert_int_equal(
            clusterlog_add(a, "a", "root", "t", 1, 6, 1000 + 2 * t, msg, NULL, NULL), 1
        );
        assert_int_equal(
            clusterlog_add(b, "b", "root", "t", 1, 6, 1001 + 2 * t, msg, NULL, NULL), 1
        );
    }
    void *sb = NULL;
    size_t sb_len = 0;
    assert_int_equal(clusterlog_get_state(b, &sb, &sb_len), 0);
    const void *states[] = {sb};
    assert_int_equal(clusterlog_merge(a, states, &sb_len, 1), 0);
    free(sb);

    size_t n = clusterlog_count(a);
    size_t per = (CLUSTERLOG_ENTRY_HEADER + 2 + 5 + 2 + 2001 + 7) & ~(size_t) 7;
    assert_int_equal(n, (CLUSTERLOG_BUFFER_SIZE - 8 - 1) / per);
    ClusterLogIter it = {};
    ClusterLogEntry e;
    uint32_t t = 1099;
    while (clusterlog_iterate(a, &it, &e))
        assert_int_equal(e.time, t--);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sanitize),        cmocka_unit_test(test_pack_decode),
        cmocka_unit_test(test_limits),          cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_dump_exact),      cmocka_unit_test(test_dump_hostile),
        cmocka_unit_test(test_ring_wrap),       cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
