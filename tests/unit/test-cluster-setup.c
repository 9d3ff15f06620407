/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the pure parts of cluster-setup (corosync.conf create / add / remove node,
 * link strings, the authkey's JSON form) and of api-client (URLs, form encoding, responses).
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

#include "pve/api-client.h"
#include "pve/cluster-setup.h"
#include "pve/json-util.h"

static const char base_conf[] =
    "logging {\n  debug: off\n  to_syslog: yes\n}\n\n"
    "nodelist {\n  node {\n    name: n1\n    nodeid: 1\n"
    "    quorum_votes: 1\n    ring0_addr: 10.0.0.1\n  }\n}\n\n"
    "quorum {\n  provider: corosync_votequorum\n}\n\n"
    "totem {\n  cluster_name: c\n  config_version: 4\n"
    "  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n"
    "  link_mode: passive\n  secauth: on\n  version: 2\n}\n\n";

static char *add(const ClusterNodeAdd *a, json_t *warnings, int expect, const char *msg_part) {
    char *out = NULL, *msg = NULL;
    int r = cluster_conf_add_node(base_conf, strlen(base_conf), a, &out, warnings, &msg);
    assert_int_equal(r, expect);
    if (msg_part) {
        assert_non_null(msg);
        if (!strstr(msg, msg_part))
            fail_msg("'%s' lacks '%s'", msg, msg_part);
    }
    free(msg);
    return out;
}

static void test_add_node(void **state) {
    (void) state;
    ClusterNodeAdd a = {.name = "n2", .votes = -1, .links = {{.address = "10.0.0.2"}}};
    _cleanup_free_ char *out = add(&a, NULL, 0, NULL);
    assert_non_null(strstr(out, "config_version: 5\n"));
    assert_non_null(strstr(
        out,
        "  node {\n    name: n2\n    nodeid: 2\n    quorum_votes: 1\n"
        "    ring0_addr: 10.0.0.2\n  }\n"
    ));
    /* new_node_ip stands in for link0; an extra link is dropped with a warning */
    _cleanup_json_ json_t *w = json_array();
    ClusterNodeAdd b = {
        .name = "a0",
        .votes = 3,
        .nodeid = 9,
        .new_node_ip = "10.0.0.9",
        .links = {[1] = {.address = "10.1.0.9"}},
    };
    _cleanup_free_ char *out2 = add(&b, w, 0, NULL);
    assert_non_null(
        strstr(out2, "name: a0\n    nodeid: 9\n    quorum_votes: 3\n    ring0_addr: 10.0.0.9\n")
    );
    assert_null(strstr(out2, "10.1.0.9"));
    assert_int_equal(json_array_size(w), 1);
    /* node blocks stay sorted by name: a0 before n1 */
    assert_true(strstr(out2, "name: a0") < strstr(out2, "name: n1"));

    ClusterNodeAdd dup = {.name = "n1", .votes = -1, .links = {{.address = "10.0.0.7"}}};
    assert_null(add(&dup, NULL, -EEXIST, "can't add existing node 'n1'"));
    dup.force = true; /* same nodeid/votes: replaced */
    _cleanup_free_ char *forced = add(&dup, NULL, 0, NULL);
    assert_non_null(strstr(forced, "ring0_addr: 10.0.0.7"));
    assert_null(strstr(forced, "10.0.0.1"));
    dup.nodeid = 5; /* force with another nodeid: refused */
    assert_null(add(&dup, NULL, -EEXIST, "existing node"));

    ClusterNodeAdd addr = {.name = "n3", .votes = -1, .links = {{.address = "10.0.0.1"}}};
    assert_null(add(&addr, NULL, -EEXIST, "address '10.0.0.1' already used on node n1"));
    ClusterNodeAdd id = {
        .name = "n3", .nodeid = 1, .votes = -1, .links = {{.address = "10.0.0.3"}}};
    assert_null(add(&id, NULL, -EEXIST, "ID 1"));
    ClusterNodeAdd none = {.name = "n3", .votes = -1};
    assert_null(add(&none, NULL, -EINVAL, "link0"));

    char *o = NULL, *msg = NULL;
    assert_int_equal(cluster_conf_add_node("totem {\n", 8, &a, &o, NULL, &msg), -EINVAL);
    assert_non_null(msg);
    free(msg);
}

static void test_remove_node(void **state) {
    (void) state;
    ClusterNodeAdd a = {.name = "n2", .votes = -1, .links = {{.address = "10.0.0.2"}}};
    _cleanup_free_ char *two = add(&a, NULL, 0, NULL);
    char *out = NULL, *msg = NULL;
    uint32_t id = 0;
    assert_int_equal(cluster_conf_remove_node(two, strlen(two), "10.0.0.2", &out, &id, &msg), 0);
    assert_int_equal(id, 2);
    assert_null(strstr(out, "n2"));
    assert_non_null(strstr(out, "config_version: 6\n"));
    free(out);
    assert_int_equal(cluster_conf_remove_node(two, strlen(two), "nx", &out, &id, &msg), -ENOENT);
    assert_string_equal(msg, "Node/IP: nx is not a known host of the cluster.");
    free(msg);
}

static void test_create_links(void **state) {
    (void) state;
    ClusterCreateParams p = {
        .cluster_name = "c2",
        .nodename = "n1",
        .links = {{.address = "10.0.0.1", .priority = 20}, {.address = "10.1.0.1", .priority = -1}},
    };
    _cleanup_free_ char *out = NULL;
    assert_int_equal(cluster_conf_create(&p, &out, NULL), 0);
    assert_non_null(strstr(
        out,
        "  interface {\n    knet_link_priority: 20\n    linknumber: 0\n  }\n"
        "  interface {\n    linknumber: 1\n  }\n"
    ));
    assert_non_null(strstr(out, "    ring0_addr: 10.0.0.1\n    ring1_addr: 10.1.0.1\n"));
    p.cluster_name = "bad_name";
    assert_int_equal(cluster_conf_create(&p, &out, NULL), -EINVAL);
    assert_true(cluster_name_valid("a-1"));
    assert_false(cluster_name_valid("sixteen-chars-xx"));
}

static void test_links(void **state) {
    (void) state;
    ClusterLink l = {.priority = -1};
    char *msg = NULL;
    assert_int_equal(cluster_link_parse("10.0.0.1", &l, NULL), 0);
    assert_string_equal(l.address, "10.0.0.1");
    assert_int_equal(l.priority, -1);
    assert_int_equal(cluster_link_parse("address=fd00::1,priority=255", &l, NULL), 0);
    assert_string_equal(l.address, "fd00::1");
    assert_int_equal(l.priority, 255);
    free(l.address);
    static const char *const bad[] = {"priority=3", "10.0.0.1,priority=256", "a=1", "x,y"};
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        ClusterLink b = {.priority = -1};
        assert_int_equal(cluster_link_parse(bad[i], &b, &msg), -EINVAL);
        assert_non_null(msg);
        free(msg);
        msg = NULL;
        assert_null(b.address);
    }
}

static void test_authkey(void **state) {
    (void) state;
    uint8_t key[256];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t) (255 - i);
    _cleanup_free_ char *s = NULL;
    size_t len = 0;
    assert_int_equal(cluster_authkey_encode(key, sizeof key, &s, &len), 0);
    /* a JSON string round trip keeps it (NUL included) */
    _cleanup_json_ json_t *j = json_stringn(s, len);
    assert_non_null(j);
    _cleanup_free_ char *dump = json_dumps(j, JSON_ENCODE_ANY);
    _cleanup_json_ json_t *back = json_loads(dump, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    _cleanup_free_ uint8_t *raw = NULL;
    size_t raw_len = 0;
    assert_int_equal(
        cluster_authkey_decode(json_string_value(back), json_string_length(back), &raw, &raw_len), 0
    );
    assert_int_equal(raw_len, sizeof key);
    assert_memory_equal(raw, key, sizeof key);
    uint8_t *bad = NULL;
    assert_int_equal(cluster_authkey_decode("\xe2\x82\xac", 3, &bad, &raw_len), -EINVAL);
}

static void test_api_client(void **state) {
    (void) state;
    ApiClient *c = NULL;
    assert_int_equal(api_client_new("http://10.0.0.1:85", 0, &c), 0);
    api_client_free(c);
    assert_int_equal(api_client_new("http://[fd00::1]/api2/json/", 0, &c), 0);
    api_client_free(c);
    assert_int_equal(api_client_new("https://h:8006", 0, &c), 0);
    assert_int_equal(api_client_set_fingerprint(c, "AA:BB"), 0);
    api_client_free(c);
    assert_int_equal(api_client_new("https://[fd00::1]", 0, &c), 0);
    api_client_free(c);
    assert_int_equal(api_client_new("ftp://h", 0, &c), -EINVAL);
    assert_int_equal(api_client_new("http://h:0", 0, &c), -EINVAL);
    assert_int_equal(api_client_new("http://h:x", 0, &c), -EINVAL);
    assert_int_equal(api_client_new("http://", 0, &c), -EINVAL);
    _cleanup_free_ char *e = api_client_urlencode("a b&c=d/é~");
    assert_string_equal(e, "a%20b%26c%3Dd%2F%C3%A9~");

    static const char chunked[] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\n{\"dat\r\n9\r\na\":[1,2]}\r\n0\r\n\r\n";
    int status = 0;
    json_t *body = NULL;
    assert_int_equal(api_client_parse_response(chunked, strlen(chunked), &status, &body), 0);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(json_object_get(body, "data")), 2);
    json_decref(body);
    static const char plain[] = "HTTP/1.1 401 No ticket\r\nContent-Length: 2\r\n\r\n{}xx";
    assert_int_equal(api_client_parse_response(plain, strlen(plain), &status, &body), 0);
    assert_int_equal(status, 401);
    assert_true(json_is_object(body));
    json_decref(body);
    assert_int_equal(api_client_parse_response("garbage", 7, &status, &body), -EBADMSG);
    static const char badchunk[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nab";
    assert_int_equal(
        api_client_parse_response(badchunk, strlen(badchunk), &status, &body), -EBADMSG
    );
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_node),     cmocka_unit_test(test_remove_node),
        cmocka_unit_test(test_create_links), cmocka_unit_test(test_links),
        cmocka_unit_test(test_authkey),      cmocka_unit_test(test_api_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
