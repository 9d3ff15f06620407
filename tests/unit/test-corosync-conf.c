/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the corosync.conf parser/printers: byte-exact round trips of PVE-written files
 * (tests/data/corosync-conf), canonical ordering of hand-edited files, nodelist/totem helpers,
 * the pmxcfs-style config_version extractor and line-numbered errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above */
#include <cmocka.h>

#include "pve/corosync-conf.h"

static char *read_sample(const char *name, size_t *ret_len) {
    const char *dir = getenv("PVE_TEST_DATA");
    char path[4096];
    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/corosync-conf/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(256 * 1024);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 256 * 1024 - 1, f);
    fclose(f);
    buf[n] = '\0';
    *ret_len = n;
    return buf;
}

static CorosyncConf *parse_ok(const char *text, size_t len) {
    CorosyncConf *c = NULL;
    CorosyncConfError err = {0};
    int r = corosync_conf_parse(text, len, &c, &err);
    if (r < 0)
        fail_msg("parse failed: %d line %u: %s", r, err.line, err.message);
    return c;
}

static void check_print(const CorosyncConf *c, bool canonical, const char *expect) {
    char *out;
    size_t len;
    int r = canonical ? corosync_conf_print_canonical(c, &out, &len)
                      : corosync_conf_print(c, &out, &len);
    assert_int_equal(r, 0);
    assert_string_equal(out, expect);
    assert_int_equal(len, strlen(expect));
    free(out);
}

static CorosyncConf *roundtrip_sample(const char *name, char **ret_text) {
    size_t len;
    char *text = read_sample(name, &len);
    CorosyncConf *c = parse_ok(text, len);
    check_print(c, false, text);
    check_print(c, true, text);
    uint64_t v1, v2;
    assert_int_equal(corosync_conf_get_config_version(c, &v1), 0);
    assert_int_equal(corosync_conf_extract_config_version(text, len, &v2), 0);
    assert_true(v1 == v2);
    if (ret_text)
        *ret_text = text;
    else
        free(text);
    return c;
}

static void test_roundtrip_samples(void **state) {
    (void) state;
    static const char *const names[] = {
        "one-node.conf", "three-nodes.conf",   "five-nodes-two-links.conf",
        "qdevice.conf",  "logging-debug.conf", "legacy-ringnumber.conf",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        CorosyncConf *c = roundtrip_sample(names[i], NULL);
        corosync_conf_free(c);
    }
}

static void test_getters(void **state) {
    (void) state;
    _cleanup_(corosync_conf_freep) CorosyncConf *c =
        roundtrip_sample("five-nodes-two-links.conf", NULL);
    assert_string_equal(corosync_conf_get_cluster_name(c), "dc-east");
    uint64_t v;
    assert_int_equal(corosync_conf_get_config_version(c, &v), 0);
    assert_true(v == 17);
    assert_string_equal(corosync_conf_get(c, "totem.token"), "10000");
    assert_string_equal(corosync_conf_get(c, "quorum.provider"), "corosync_votequorum");
    assert_null(corosync_conf_get(c, "quorum.device.model"));
    assert_null(corosync_conf_get(c, "nosuch.key"));
    assert_null(corosync_conf_get(c, "totem..x"));

    CorosyncNode *nodes;
    size_t n;
    assert_int_equal(corosync_conf_get_nodes(c, &nodes, &n), 0);
    assert_int_equal(n, 5);
    assert_string_equal(nodes[0].name, "hv01");
    assert_int_equal(nodes[0].nodeid, 1);
    assert_int_equal(nodes[0].quorum_votes, 1);
    assert_string_equal(nodes[0].ring_addr[0], "172.16.10.1");
    assert_string_equal(nodes[0].ring_addr[1], "172.16.20.1");
    assert_null(nodes[0].ring_addr[2]);
    assert_string_equal(nodes[3].name, "hv04");
    assert_int_equal(nodes[3].nodeid, 5);
    assert_string_equal(nodes[4].ring_addr[0], "fd00:10::5");
    corosync_nodes_free(nodes, n);

    assert_non_null(corosync_conf_find_node(c, "hv03"));
    assert_null(corosync_conf_find_node(c, "hv06"));

    _cleanup_(corosync_conf_freep) CorosyncConf *q = roundtrip_sample("qdevice.conf", NULL);
    assert_string_equal(corosync_conf_get(q, "quorum.device.model"), "net");
    assert_string_equal(corosync_conf_get(q, "quorum.device.net.algorithm"), "ffsplit");

    _cleanup_(corosync_conf_freep) CorosyncConf *d = roundtrip_sample("logging-debug.conf", NULL);
    assert_string_equal(corosync_conf_get(d, "logging.debug"), "on");
    assert_int_equal(corosync_conf_get_nodes(d, &nodes, &n), 0);
    assert_int_equal(nodes[2].quorum_votes, 2);
    corosync_nodes_free(nodes, n);

    /* empty config: no nodelist, no version */
    _cleanup_(corosync_conf_freep) CorosyncConf *e = parse_ok("", 0);
    assert_int_equal(corosync_conf_get_nodes(e, &nodes, &n), 0);
    assert_null(nodes);
    assert_int_equal(n, 0);
    assert_int_equal(corosync_conf_get_config_version(e, &v), -ENOENT);
    assert_int_equal(corosync_conf_bump_config_version(e, NULL), -ENOENT);
    check_print(e, false, "");
}

static char *replace(const char *s, const char *from, const char *to) {
    const char *p = strstr(s, from);
    assert_non_null(p);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *r = malloc(n);
    assert_non_null(r);
    snprintf(r, n, "%.*s%s%s", (int) (p - s), s, to, p + strlen(from));
    return r;
}

static void test_bump_and_nodes(void **state) {
    (void) state;
    char *text;
    _cleanup_(corosync_conf_freep) CorosyncConf *c = roundtrip_sample("three-nodes.conf", &text);
    uint64_t v = 0;
    assert_int_equal(corosync_conf_bump_config_version(c, &v), 0);
    assert_true(v == 4);

    /* add pve-d (sorted last) and pve-0 (sorted first), as pvecm addnode would */
    CorosyncNode nd = {.name = (char *) "pve-d", .nodeid = 4, .ring_addr = {(char *) "10.0.0.4"}};
    assert_int_equal(corosync_conf_add_node(c, &nd), 0);
    CorosyncNode n0 = {
        .name = (char *) "pve-0",
        .nodeid = 5,
        .quorum_votes = 2,
        .ring_addr = {(char *) "10.0.0.5", (char *) "10.1.0.5"},
    };
    assert_int_equal(corosync_conf_add_node(c, &n0), 0);

    char *t1 = replace(text, "config_version: 3", "config_version: 4");
    char *t2 = replace(
        t1, "  node {\n    name: pve-a",
        "  node {\n    name: pve-0\n    nodeid: 5\n    quorum_votes: 2\n    ring0_addr: "
        "10.0.0.5\n    ring1_addr: 10.1.0.5\n  }\n  node {\n    name: pve-a"
    );
    char *t3 = replace(
        t2, "    ring0_addr: 10.0.0.3\n  }\n",
        "    ring0_addr: 10.0.0.3\n  }\n  node {\n    name: pve-d\n    nodeid: 4\n    "
        "quorum_votes: 1\n    ring0_addr: 10.0.0.4\n  }\n"
    );
    check_print(c, false, t3);
    check_print(c, true, t3);

    /* collisions and bad input */
    CorosyncNode dup_name = {.name = (char *) "pve-b", .nodeid = 9, .ring_addr = {(char *) "x"}};
    assert_int_equal(corosync_conf_add_node(c, &dup_name), -EEXIST);
    CorosyncNode dup_id = {.name = (char *) "pve-z", .nodeid = 2, .ring_addr = {(char *) "x"}};
    assert_int_equal(corosync_conf_add_node(c, &dup_id), -EEXIST);
    CorosyncNode no_ring = {.name = (char *) "pve-z", .nodeid = 9};
    assert_int_equal(corosync_conf_add_node(c, &no_ring), -EINVAL);
    CorosyncNode no_id = {.name = (char *) "pve-z", .ring_addr = {(char *) "x"}};
    assert_int_equal(corosync_conf_add_node(c, &no_id), -EINVAL);
    CorosyncNode bad_name = {.name = (char *) "a b", .nodeid = 9, .ring_addr = {(char *) "x"}};
    assert_int_equal(corosync_conf_add_node(c, &bad_name), -EINVAL);
    CorosyncNode bad_addr = {.name = (char *) "z", .nodeid = 9, .ring_addr = {(char *) "x{"}};
    assert_int_equal(corosync_conf_add_node(c, &bad_addr), -EINVAL);

    /* remove them again and bump: back to the original plus two versions */
    assert_int_equal(corosync_conf_remove_node(c, "pve-0"), 0);
    assert_int_equal(corosync_conf_remove_node(c, "pve-d"), 0);
    assert_int_equal(corosync_conf_remove_node(c, "pve-d"), -ENOENT);
    assert_int_equal(corosync_conf_bump_config_version(c, NULL), 0);
    char *t4 = replace(text, "config_version: 3", "config_version: 5");
    check_print(c, true, t4);

    /* add into a config without a nodelist */
    _cleanup_(corosync_conf_freep) CorosyncConf *e = corosync_conf_new();
    assert_int_equal(corosync_conf_set(e, "totem.cluster_name", "new"), 0);
    assert_int_equal(corosync_conf_set(e, "totem.config_version", "1"), 0);
    assert_int_equal(corosync_conf_add_node(e, &nd), 0);
    check_print(
        e, true,
        "nodelist {\n  node {\n    name: pve-d\n    nodeid: 4\n    quorum_votes: 1\n    "
        "ring0_addr: "
        "10.0.0.4\n  }\n}\n\ntotem {\n  cluster_name: new\n  config_version: 1\n}\n\n"
    );
    assert_int_equal(corosync_conf_set(e, "totem.config_version", "x y{"), -EINVAL);
    assert_int_equal(corosync_conf_set(e, "quorum.bad key", "1"), -EINVAL);
    assert_null(corosync_item_find_section(e->root, "quorum"));
    assert_int_equal(corosync_conf_set(e, "totem.config_version", "18446744073709551615"), 0);
    assert_int_equal(corosync_conf_bump_config_version(e, NULL), -ERANGE);
    assert_int_equal(corosync_conf_set(e, "totem.config_version", "abc"), 0);
    uint64_t v2;
    assert_int_equal(corosync_conf_get_config_version(e, &v2), -EINVAL);

    free(text);
    free(t1);
    free(t2);
    free(t3);
    free(t4);
}

static void test_hand_edited(void **state) {
    (void) state;
    const char *in =
        "# Please read the corosync.conf.5 manual page\r\n"
        "totem {\r\n"
        "\tversion: 2\n"
        "\tcluster_name:   My-Cluster   \n"
        "\t# the version is bumped by pvecm\n"
        "\tconfig_version:7\n"
        "\tinterface {\n"
        "\t\tlinknumber: 1\n"
        "\t}\n"
        "\tinterface {\n"
        "\t\tlinknumber: 0\n"
        "\t}\n"
        "}\n"
        "\n"
        "\n"
        "nodelist{\n"
        "    node {\n"
        "        ring0_addr: 10.0.0.2\n"
        "        nodeid: 2\n"
        "        name: b\n"
        "    }\n"
        "    node {   \n"
        "        nodeid: 1\n"
        "        name: a\n"
        "        ring0_addr: 10.0.0.1\n"
        "    }\n"
        "}\n"
        "quorum {\n"
        "  provider: corosync_votequorum\n"
        "  expected_votes: 2\n"
        "}";
    _cleanup_(corosync_conf_freep) CorosyncConf *c = parse_ok(in, strlen(in));
    check_print(
        c, false,
        "# Please read the corosync.conf.5 manual page\n"
        "totem {\n"
        "  version: 2\n"
        "  cluster_name: My-Cluster\n"
        "  # the version is bumped by pvecm\n"
        "  config_version: 7\n"
        "  interface {\n"
        "    linknumber: 1\n"
        "  }\n"
        "  interface {\n"
        "    linknumber: 0\n"
        "  }\n"
        "}\n"
        "\n"
        "nodelist {\n"
        "  node {\n"
        "    ring0_addr: 10.0.0.2\n"
        "    nodeid: 2\n"
        "    name: b\n"
        "  }\n"
        "  node {\n"
        "    nodeid: 1\n"
        "    name: a\n"
        "    ring0_addr: 10.0.0.1\n"
        "  }\n"
        "}\n"
        "\n"
        "quorum {\n"
        "  provider: corosync_votequorum\n"
        "  expected_votes: 2\n"
        "}\n"
        "\n"
    );
    check_print(
        c, true,
        "nodelist {\n"
        "  node {\n"
        "    name: a\n"
        "    nodeid: 1\n"
        "    ring0_addr: 10.0.0.1\n"
        "  }\n"
        "  node {\n"
        "    name: b\n"
        "    nodeid: 2\n"
        "    ring0_addr: 10.0.0.2\n"
        "  }\n"
        "}\n"
        "\n"
        "quorum {\n"
        "  expected_votes: 2\n"
        "  provider: corosync_votequorum\n"
        "}\n"
        "\n"
        "totem {\n"
        "  cluster_name: My-Cluster\n"
        "  config_version: 7\n"
        "  interface {\n"
        "    linknumber: 0\n"
        "  }\n"
        "  interface {\n"
        "    linknumber: 1\n"
        "  }\n"
        "  version: 2\n"
        "}\n"
        "\n"
    );
    /* a node without name is known by ring0_addr, quorum_votes defaults to 1 */
    const char *noname = "nodelist {\nnode {\nring0_addr: host7\nnodeid: 7\n}\n}\n";
    _cleanup_(corosync_conf_freep) CorosyncConf *n = parse_ok(noname, strlen(noname));
    CorosyncNode *nodes;
    size_t cnt;
    assert_int_equal(corosync_conf_get_nodes(n, &nodes, &cnt), 0);
    assert_int_equal(cnt, 1);
    assert_string_equal(nodes[0].name, "host7");
    assert_int_equal(nodes[0].quorum_votes, 1);
    corosync_nodes_free(nodes, cnt);
    assert_non_null(corosync_conf_find_node(n, "host7"));
    const char *badid = "nodelist {\nnode {\nname: x\nnodeid: seven\n}\n}\n";
    _cleanup_(corosync_conf_freep) CorosyncConf *b = parse_ok(badid, strlen(badid));
    assert_int_equal(corosync_conf_get_nodes(b, &nodes, &cnt), -EINVAL);
    /* values keep ':' '}' '#' and inner blanks */
    const char *odd = "a {\nk: x:y } #z  w\n}\n";
    _cleanup_(corosync_conf_freep) CorosyncConf *o = parse_ok(odd, strlen(odd));
    assert_string_equal(corosync_conf_get(o, "a.k"), "x:y } #z  w");
}

static void test_extract_config_version(void **state) {
    (void) state;
    uint64_t v = 0;
#define EXTRACT(s) corosync_conf_extract_config_version((s), strlen(s), &v)
    assert_int_equal(EXTRACT("totem {\n  config_version: 42\n}\n"), 0);
    assert_true(v == 42);
    /* structure does not matter: the full parser rejects this file */
    const char *broken = "}\ntotem {\n  config_version:   7   \n  garbage\n";
    CorosyncConf *c = NULL;
    assert_int_equal(corosync_conf_parse(broken, strlen(broken), &c, NULL), -EINVAL);
    assert_int_equal(EXTRACT(broken), 0);
    assert_true(v == 7);
    assert_int_equal(EXTRACT("config_version\n:\n 9x"), 0);
    assert_true(v == 9);
    assert_int_equal(EXTRACT("config_version_x: 1\nxconfig_version: 3\nconfig_version: 4"), 0);
    assert_true(v == 3);
    assert_int_equal(EXTRACT("# config_version: 5\nconfig_version: 6"), 0);
    assert_true(v == 5);
    assert_int_equal(EXTRACT("config_version: 0"), 0);
    assert_true(v == 0);
    v = 99;
    assert_int_equal(EXTRACT("config_version: x1"), -ENOENT);
    assert_int_equal(EXTRACT("config_version"), -ENOENT);
    assert_int_equal(EXTRACT("config_version:"), -ENOENT);
    assert_int_equal(EXTRACT(""), -ENOENT);
    assert_int_equal(corosync_conf_extract_config_version(NULL, 0, &v), -ENOENT);
    assert_true(v == 99);
    assert_int_equal(EXTRACT("config_version: 18446744073709551615"), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(EXTRACT("config_version: 18446744073709551616"), -ERANGE);
    /* bytes after a NUL still count, as with a length-bounded regex match */
    const char nul[] = "a\0config_version: 12";
    assert_int_equal(corosync_conf_extract_config_version(nul, sizeof nul - 1, &v), 0);
    assert_true(v == 12);
#undef EXTRACT
}

typedef struct BadCase {
    const char *text;
    size_t len;
    unsigned line;
    const char *message_part;
} BadCase;

static void test_malformed(void **state) {
    (void) state;
    static const char nul_text[] = "totem {\n  version: 2\0\n}\n";
    static const BadCase cases[] = {
        {"totem {\n  version: 2\n\nquorum {\n  provider: x\n}\n", 0, 1,
         "missing '}' for section 'totem'"},
        {"totem {\n  version: 2\n}\n}\n", 0, 4, "unexpected '}'"},
        {"totem {\n  version 2\n}\n", 0, 2, "expected 'key: value'"},
        {"\n {\n}\n", 0, 2, "missing section name"},
        {"totem { version: 2\n}\n", 0, 1, "extra characters after '{'"},
        {"totem {\n  version: 2 }\n} x\n", 0, 3, "extra characters before or after '}'"},
        {"totem {\n  : 2\n}\n", 0, 2, "missing key name"},
        {"totem {\n  version:   \n}\n", 0, 2, "missing value for key 'version'"},
        {"totem {\n  my key: 2\n}\n", 0, 2, "invalid key 'my key'"},
        {"my totem {\n}\n", 0, 1, "invalid section name 'my totem'"},
        {"a: b {\n}\n", 0, 1, "invalid section name 'a: b'"},
        {nul_text, sizeof nul_text - 1, 2, "NUL byte"},
        {"totem {\n  version: 2\f3\n}\n", 0, 2, "control character"},
        {"a {\nb {\nc {\nd {\ne {\nf {\ng {\nh {\ni {\nj {\nk {\nl {\nm {\nn {\no {\np {\nq {\n", 0,
         17, "nested deeper"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const BadCase *t = &cases[i];
        CorosyncConf *c = NULL;
        CorosyncConfError err = {0};
        size_t len = t->len ? t->len : strlen(t->text);
        int r = corosync_conf_parse(t->text, len, &c, &err);
        if (r != -EINVAL || err.line != t->line || !strstr(err.message, t->message_part))
            fail_msg("case %zu: r=%d line=%u message='%s'", i, r, err.line, err.message);
        assert_null(c);
    }

    /* corosync's 512-byte fgets buffer: 510 bytes plus "\n" fit, a '\r' counts */
    char line[600];
    memset(line, 'x', sizeof line);
    memcpy(line, "k: ", 3);
    line[510] = '\n';
    CorosyncConf *c = NULL;
    CorosyncConfError err = {0};
    assert_int_equal(corosync_conf_parse(line, 511, &c, &err), 0);
    assert_int_equal(strlen(corosync_conf_get(c, "k")), 507);
    c = corosync_conf_free(c);
    memcpy(line + 509, "\r\n", 2);
    assert_int_equal(corosync_conf_parse(line, 511, &c, &err), 0);
    c = corosync_conf_free(c);
    memcpy(line + 510, "\r\n", 2);
    assert_int_equal(corosync_conf_parse(line, 512, &c, &err), -EINVAL);
    assert_int_equal(err.line, 1);
    assert_non_null(strstr(err.message, "too long"));

    char *big = calloc(1, COROSYNC_CONF_MAX_SIZE + 1);
    assert_non_null(big);
    assert_int_equal(corosync_conf_parse(big, COROSYNC_CONF_MAX_SIZE + 1, &c, &err), -EFBIG);
    assert_int_equal(err.line, 0);
    free(big);
}

static void test_item_helpers(void **state) {
    (void) state;
    _cleanup_(corosync_conf_freep) CorosyncConf *c = corosync_conf_new();
    assert_non_null(c);
    CorosyncItem *log = NULL;
    assert_int_equal(corosync_item_add_section(c->root, "logging", SIZE_MAX, &log), 0);
    assert_int_equal(corosync_item_set(log, "to_syslog", "yes"), 0);
    assert_int_equal(corosync_item_set(log, "debug", "off"), 0);
    assert_int_equal(corosync_item_set(log, "debug", "on"), 0);
    assert_int_equal(corosync_item_set(log, "debug", " on"), -EINVAL);
    assert_int_equal(corosync_item_set(log, "debug", ""), -EINVAL);
    assert_int_equal(corosync_item_set(log, "de bug", "on"), -EINVAL);
    assert_int_equal(corosync_item_add_section(c->root, "", 0, NULL), -EINVAL);
    CorosyncItem *first = NULL;
    assert_int_equal(corosync_item_add_section(c->root, "aaa", 0, &first), 0);
    check_print(c, false, "aaa {\n}\n\nlogging {\n  to_syslog: yes\n  debug: on\n}\n\n");
    check_print(c, true, "aaa {\n}\n\nlogging {\n  debug: on\n  to_syslog: yes\n}\n\n");
    corosync_item_remove(first);
    assert_int_equal(corosync_item_unset(log, "debug"), 1);
    assert_int_equal(corosync_item_unset(log, "debug"), 0);
    assert_null(corosync_item_find_key(log, "debug"));
    assert_non_null(corosync_item_find_key(log, "to_syslog"));
    check_print(c, false, "logging {\n  to_syslog: yes\n}\n\n");
    assert_true(corosync_conf_name_valid("ring0_addr"));
    assert_false(corosync_conf_name_valid("a:b"));
    assert_true(corosync_conf_value_valid("a b:c}#"));
    assert_false(corosync_conf_value_valid("a\nb"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_samples),      cmocka_unit_test(test_getters),
        cmocka_unit_test(test_bump_and_nodes),         cmocka_unit_test(test_hand_edited),
        cmocka_unit_test(test_extract_config_version), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_item_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
