/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for /etc/default/pveproxy parsing (proxy-config) and address lists (ip-acl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "pve/ip-acl.h"
#include "pve/proxy-config.h"

static ProxyConfig *parse_ok(const char *text) {
    ProxyConfig *c = NULL;
    unsigned line = 0;
    char *msg = NULL;
    int r = proxy_config_parse(text, strlen(text), &c, &line, &msg);
    if (r < 0)
        fail_msg("parse failed at line %u: %s", line, msg ? msg : "?");
    return c;
}

static void parse_bad(const char *text, unsigned want_line, const char *want_substr) {
    ProxyConfig *c = NULL;
    unsigned line = 99;
    char *msg = NULL;
    assert_int_equal(proxy_config_parse(text, strlen(text), &c, &line, &msg), -EINVAL);
    assert_null(c);
    assert_int_equal(line, want_line);
    assert_non_null(msg);
    if (!strstr(msg, want_substr))
        fail_msg("message '%s' lacks '%s'", msg, want_substr);
    free(msg);
}

static void test_defaults(void **state) {
    (void) state;
    ProxyConfig *c = parse_ok("# nothing set\n\n");
    assert_null(c->listen_ip);
    assert_true(c->policy_allow);
    assert_true(c->compression);
    assert_true(c->honor_cipher_order);
    assert_false(c->disable_tls_1_2);
    assert_int_equal(c->max_workers, 3);
    assert_false(c->max_workers_set);
    /* unset: one worker per CPU, 2 to 3 */
    assert_int_equal(proxy_config_workers(c, 1), 2);
    assert_int_equal(proxy_config_workers(c, 2), 2);
    assert_int_equal(proxy_config_workers(c, 3), 3);
    assert_int_equal(proxy_config_workers(c, 64), 3);
    assert_int_equal(proxy_config_workers(c, -1), 2); /* sysconf failed */
    assert_string_equal(c->ciphers, PROXY_DEFAULT_CIPHERS);
    assert_true(proxy_config_client_allowed(c, "192.0.2.1"));
    proxy_config_free(c);
}

static void test_values(void **state) {
    (void) state;
    ProxyConfig *c = parse_ok(
        "ALLOW_FROM=\"10.0.0.1-10.0.0.5,192.168.2.0/24\"\n"
        "DENY_FROM='all'\n"
        "export POLICY=allow\n"
        "LISTEN_IP=\"192.0.2.10\"  # comment\n"
        "COMPRESSION=0\n"
        "MAX_WORKERS=8\r\n"
        "CIPHERSUITES=\"TLS_AES_256_GCM_SHA384\"\n"
        "OTHER_TOOL_SETTING=$(whatever)x\n" /* not ours: ignored */
    );
    assert_string_equal(c->listen_ip, "192.0.2.10");
    assert_false(c->compression);
    assert_int_equal(c->max_workers, 8);
    assert_int_equal(proxy_config_workers(c, 2), 8); /* set: taken as it is */
    assert_int_equal(proxy_config_workers(c, 64), 8);
    assert_string_equal(c->ciphersuites, "TLS_AES_256_GCM_SHA384");
    assert_true(c->policy_allow);
    assert_true(proxy_config_client_allowed(c, "10.0.0.5"));
    assert_false(proxy_config_client_allowed(c, "10.0.0.6"));
    proxy_config_free(c);
}

static void test_known_key_with_expansion_fails(void **state) {
    (void) state;
    parse_bad("# x\nCIPHERS=$(id)\n", 2, "expansions");
}

static void test_policy(void **state) {
    (void) state;
    ProxyConfig *c = parse_ok(
        "ALLOW_FROM=\"10.0.0.1-10.0.0.5,192.168.2.0/24,2001:db8::/32\"\n"
        "DENY_FROM=\"all\"\nPOLICY=\"allow\"\n"
    );
    assert_true(proxy_config_client_allowed(c, "10.0.0.3"));
    assert_true(proxy_config_client_allowed(c, "::ffff:10.0.0.3"));
    assert_true(proxy_config_client_allowed(c, "192.168.2.200"));
    assert_true(proxy_config_client_allowed(c, "2001:db8:1::5"));
    assert_false(proxy_config_client_allowed(c, "10.0.0.6"));
    assert_false(proxy_config_client_allowed(c, "2001:db9::1"));
    proxy_config_free(c);
    c = parse_ok("DENY_FROM=\"192.0.2.0/24\"\nPOLICY=deny\n");
    assert_false(proxy_config_client_allowed(c, "192.0.2.7"));
    assert_false(proxy_config_client_allowed(c, "198.51.100.1")); /* no match -> policy */
    proxy_config_free(c);
    c = parse_ok("ALLOW_FROM=\"198.51.100.0/24\"\nPOLICY=deny\n");
    assert_true(proxy_config_client_allowed(c, "198.51.100.9"));
    assert_false(proxy_config_client_allowed(c, "127.0.0.1"));
    proxy_config_free(c);
}

static void test_errors(void **state) {
    (void) state;
    parse_bad("\nCOMPRESSION=yes\n", 2, "must be 0 or 1");
    parse_bad("POLICY=maybe\n", 1, "POLICY");
    parse_bad("MAX_WORKERS=0\n", 1, "between 1 and 127");
    parse_bad("MAX_WORKERS=128\n", 1, "between 1 and 127");
    parse_bad("ALLOW_FROM=\"10.0.0.300\"\n", 1, "10.0.0.300");
    parse_bad("DENY_FROM=\"10.0.0.0/33\"\n", 1, "10.0.0.0/33");
    parse_bad("LISTEN_IP=\"::\n", 1, "unterminated");
    parse_bad("LISTEN_IP=$HOST\n", 1, "expansions");
    parse_bad("LISTEN_IP=a; rm -rf /\n", 1, "unsupported shell syntax");
    parse_bad("just words\n", 1, "KEY=value");
    parse_bad("DISABLE_TLS_1_2=1\nDISABLE_TLS_1_3=1\n", 0, "both TLS");
}

static void test_acl(void **state) {
    (void) state;
    IpAcl *a = NULL;
    char *msg = NULL;
    assert_int_equal(ip_acl_parse("127.0.0.1 ::1, 10.1.0.0/16", &a, &msg), 0);
    assert_true(ip_acl_match(a, "127.0.0.1"));
    assert_true(ip_acl_match(a, "::1"));
    assert_true(ip_acl_match(a, "10.1.255.255"));
    assert_false(ip_acl_match(a, "10.2.0.0"));
    assert_false(ip_acl_match(a, "not-an-ip"));
    assert_false(ip_acl_match(a, "127.0.0.2"));
    ip_acl_free(a);
    assert_int_equal(ip_acl_parse("10.0.0.9-10.0.0.1", &a, &msg), -EINVAL);
    assert_non_null(strstr(msg, "10.0.0.9-10.0.0.1"));
    free(msg);
    msg = NULL;
    assert_int_equal(ip_acl_parse("10.0.0.1-::5", &a, &msg), -EINVAL);
    free(msg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_known_key_with_expansion_fails),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_acl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
