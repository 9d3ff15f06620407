/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the datacenter.cfg model: parser, checks, canonical printer, JSON shape. */
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

#include "pve/datacenter-cfg.h"
#include "pve/json-util.h"

static DatacenterCfg *parse(const char *text) {
    DatacenterCfg *c = NULL;
    assert_int_equal(datacenter_cfg_parse(text, strlen(text), &c), 0);
    return c;
}

static void check_reprint(const char *in, const char *expected) {
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *c = parse(in);
    _cleanup_free_ char *out = NULL;
    assert_int_equal(datacenter_cfg_print(c, &out), 0);
    assert_string_equal(out, expected);
    /* the canonical form is a fixed point */
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *c2 = parse(out);
    _cleanup_free_ char *out2 = NULL;
    assert_int_equal(datacenter_cfg_print(c2, &out2), 0);
    assert_string_equal(out2, expected);
}

static void test_canonical(void **state) {
    (void) state;
    check_reprint("", "");
    check_reprint("  keyboard:   de  \r\n\nconsole: html5\n", "console: html5\nkeyboard: de\n");
    /* property strings: default key first and bare, others sorted, booleans 1/0 */
    check_reprint(
        "migration: network=10.1.0.0/16,type=insecure\n",
        "migration: insecure,network=10.1.0.0/16\n"
    );
    check_reprint(
        "crs: ha-rebalance-on-start=yes,ha=static\n", "crs: ha=static,ha-rebalance-on-start=1\n"
    );
    check_reprint("next-id: upper=5000,lower=1000\n", "next-id: lower=1000,upper=5000\n");
    /* description: '#' lines decoded, re-encoded (':' and non-printables as %XX) */
    check_reprint("#a%3Ab\n#\n#%C3%A4\nkeyboard: de\n", "#a%3Ab\n#\n#%C3%A4\nkeyboard: de\n");
    /* trailing blanks of a description line survive as %20 (the reader trims lines) */
    check_reprint("#a%20\n#b\n", "#a%20\n#b\n");
    /* a literal "%41" in a description key is written as "%2541" */
    check_reprint("description: 100%41\n", "#100%2541\n");
    /* description key wins over comment lines and is written as a comment */
    check_reprint("#old\ndescription: new: text\n", "#new%3A text\n");
    /* last duplicate wins */
    check_reprint("keyboard: de\nkeyboard: fr\n", "keyboard: fr\n");
    /* booleans normalised */
    check_reprint(
        "migration_unsecure: yes\nmigration: secure\n", "migration: secure\nmigration_unsecure: 1\n"
    );
}

static void test_lenient(void **state) {
    (void) state;
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *c = parse(
        "keyboard: xx\nbogus: 1\nnot a key line\nconsole: vv\nmigration: type=secure,speed=9\n"
        "next-id: lower=5\nmax_workers: 0\nemail_from: root@example.com\n"
    );
    _cleanup_free_ char *out = NULL;
    assert_int_equal(datacenter_cfg_print(c, &out), 0);
    assert_string_equal(out, "console: vv\nemail_from: root@example.com\n");
    assert_int_equal(c->n_warnings, 6);
    assert_non_null(strstr(c->warnings[0], "'keyboard'"));
    assert_non_null(strstr(c->warnings[2], "line 3"));
    assert_int_equal(datacenter_cfg_parse("x", DATACENTER_CFG_MAX_SIZE + 1, &c), -EFBIG);
}

static void test_migration_unsecure_compat(void **state) {
    (void) state;
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *c = parse("migration_unsecure: 1\n");
    assert_string_equal(datacenter_cfg_get(c, "migration"), "insecure");
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *c2 =
        parse("migration_unsecure: 1\nmigration: secure\n");
    assert_string_equal(datacenter_cfg_get(c2, "migration"), "secure");
}

static void expect_invalid(const char *key, const char *value, const char *msg_part) {
    _cleanup_free_ char *msg = NULL;
    assert_int_equal(datacenter_cfg_check_value(key, value, &msg), -EINVAL);
    assert_non_null(msg);
    if (!strstr(msg, msg_part))
        fail_msg("%s=%s: '%s' lacks '%s'", key, value, msg, msg_part);
}

static void test_checks(void **state) {
    (void) state;
    static const char *const good[][2] = {
        {"keyboard", "en-us"},
        {"language", "pt_BR"},
        {"console", "xtermjs"},
        {"fencing", "hardware"},
        {"http_proxy", "http://proxy:3128"},
        {"email_from", "a.b+c@d-e.f"},
        {"mac_prefix", "BC:24:11"},
        {"mac_prefix", "02"},
        {"max_workers", "8"},
        {"migration", "secure"},
        {"migration", "type=insecure,network=fd00::/64"},
        {"replication", "insecure"},
        {"ha", "shutdown_policy=freeze"},
        {"bwlimit", "default=100,migration=12.5"},
        {"next-id", "lower=100,upper=1000000000"},
        {"u2f", "appid=https://x,origin=https://y"},
        {"webauthn", "rp=pve,id=pve.example,origin=https://pve.example:8006,allow-subdomains=0"},
        {"tag-style", "color-map=prod:ff0000;test:00ff00:000000,shape=dense,ordering=config"},
        {"user-tag-access", "user-allow=list,user-allow-list=a;b"},
        {"registered-tags", "one;two.three"},
        {"notify", "fencing=never,target-fencing=mail"},
        {"crs", "ha=static,ha-auto-rebalance=1,ha-auto-rebalance-margin=0.2"},
        {"description", "anything: goes\nhere"},
        {"consent-text", "be nice"},
        {"migration_unsecure", "0"},
    };
    for (size_t i = 0; i < ELEMENTSOF(good); i++) {
        _cleanup_free_ char *msg = NULL;
        if (datacenter_cfg_check_value(good[i][0], good[i][1], &msg) != 0)
            fail_msg("%s=%s rejected: %s", good[i][0], good[i][1], msg);
    }
    expect_invalid("nosuch", "1", "not defined in schema");
    expect_invalid("keyboard", "xx", "enumeration");
    expect_invalid("http_proxy", "https://x", "regex");
    expect_invalid("mac_prefix", "01:00", "unicast");
    expect_invalid("max_workers", "x", "integer");
    expect_invalid("max_workers", "0", "minimum");
    expect_invalid("migration", "type=bogus", "enumeration");
    expect_invalid("migration", "secure,network=10.0.0.0", "CIDR");
    expect_invalid("migration", "network=10.0.0.0/8", "missing");
    expect_invalid("ha", "shutdown_policy=never", "enumeration");
    expect_invalid("next-id", "lower=99", "minimum");
    expect_invalid("next-id", "upper=1000000001", "maximum");
    expect_invalid("bwlimit", "default=-1", "minimum");
    expect_invalid("tag-style", "color-map=a:12345", "regex");
    expect_invalid("user-tag-access", "user-allow-list=a b", "regex");
    expect_invalid("registered-tags", ";a", "regex");
    expect_invalid("crs", "ha-auto-rebalance-method=topsis", "requires");
    expect_invalid("migration_unsecure", "maybe", "boolean");
    expect_invalid("crs", ",", "no value");
    assert_true(datacenter_cfg_key_is_known("next-id"));
    assert_false(datacenter_cfg_key_is_known("next_id"));
    assert_true(datacenter_cfg_key_is_property_string("crs"));
    assert_false(datacenter_cfg_key_is_property_string("keyboard"));
}

static void test_edit(void **state) {
    (void) state;
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *c = parse("keyboard: de\n");
    _cleanup_free_ char *msg = NULL, *out = NULL;
    /* values set through the API are kept as given */
    assert_int_equal(datacenter_cfg_set(c, "migration", "network=10.0.0.0/8,type=secure", NULL), 0);
    assert_int_equal(datacenter_cfg_set(c, "description", "line1\nline2", NULL), 0);
    assert_int_equal(datacenter_cfg_set(c, "keyboard", "zz", &msg), -EINVAL);
    assert_non_null(msg);
    assert_int_equal(datacenter_cfg_set(c, "consent-text", "a\nb", NULL), -EINVAL);
    assert_int_equal(datacenter_cfg_unset(c, "keyboard"), 1);
    assert_int_equal(datacenter_cfg_unset(c, "keyboard"), 0);
    assert_int_equal(datacenter_cfg_print(c, &out), 0);
    assert_string_equal(out, "#line1\n#line2\nmigration: network=10.0.0.0/8,type=secure\n");
    assert_int_equal(datacenter_cfg_unset(c, "description"), 1);
    assert_null(datacenter_cfg_get(c, "description"));
}

static void test_json(void **state) {
    (void) state;
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *c = parse(
        "#hi\nmax_workers: 4\nnext-id: lower=200\nmigration: insecure,network=10.0.0.0/8\n"
        "crs: ha=static,ha-rebalance-on-start=1\nbwlimit: default=12.5,clone=100\n"
        "registered-tags: a;b\nuser-tag-access: user-allow-list=x;y\nmigration_unsecure: 0\n"
    );
    _cleanup_json_ json_t *j = datacenter_cfg_to_json(c);
    assert_non_null(j);
    _cleanup_free_ char *s = NULL;
    assert_int_equal(json_util_dump(j, JSON_UTIL_DUMP_SORT_KEYS, &s), 0);
    assert_string_equal(
        s,
        "{\"bwlimit\":{\"clone\":100,\"default\":12.5},\"crs\":{\"ha\":\"static\","
        "\"ha-rebalance-on-start\":1},\"description\":\"hi\\n\",\"max_workers\":4,"
        "\"migration\":{\"network\":\"10.0.0.0/8\",\"type\":\"insecure\"},"
        "\"migration_unsecure\":0,\"next-id\":{\"lower\":200},\"registered-tags\":[\"a\",\"b\"],"
        "\"user-tag-access\":{\"user-allow-list\":[\"x\",\"y\"]}}"
    );
    long long lo, up;
    datacenter_cfg_next_id_range(c, &lo, &up);
    assert_int_equal(lo, 200);
    assert_int_equal(up, DATACENTER_NEXTID_UPPER);
    datacenter_cfg_next_id_range(NULL, &lo, &up);
    assert_int_equal(lo, 100);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_migration_unsecure_compat),
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_edit),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
