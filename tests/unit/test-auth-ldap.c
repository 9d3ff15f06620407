/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for auth-ldap's filter escaping and the checks made before any network traffic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above */
#include <errno.h>

#include <cmocka.h>

#include "pve/auth-ldap.h"
#include "pve/macro.h"

static void test_filter_escape(void **state) {
    (void) state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"alice", "alice"},
        {"*", "\\2a"},
        {"a*)(uid=*", "a\\2a\\29\\28uid=\\2a"},
        {"back\\slash", "back\\5cslash"},
        {"tab\there", "tab\\09here"},
        {"", ""},
        {"jürgen", "jürgen"}, /* UTF-8 passes through */
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        char *e = ldap_filter_escape(cases[i].in);
        assert_non_null(e);
        assert_string_equal(e, cases[i].out);
        free(e);
    }
}

static SectionConfig *realm(const char *text) {
    SectionConfig *c = NULL;
    assert_int_equal(section_config_parse(text, strlen(text), 0, &c, NULL, NULL), 0);
    return c;
}

static void test_refused_without_traffic(void **state) {
    (void) state;
    /* server1 is an address nobody listens on: these must fail before connecting */
    SectionConfig *c = realm("ldap: r\n\tbase_dn dc=x\n\tuser_attr uid\n\tserver1 192.0.2.1\n");
    const SectionConfigSection *s = section_config_find(c, NULL, "r");
    assert_int_equal(auth_ldap_check(s, NULL, "alice", ""), -EACCES);
    assert_int_equal(auth_ldap_check(s, NULL, "alice", NULL), -EACCES);
    section_config_free(c);

    c = realm("ldap: r\n\tuser_attr uid\n\tserver1 192.0.2.1\n");
    assert_int_equal(auth_ldap_check(section_config_find(c, NULL, "r"), NULL, "a", "pw"), -EINVAL);
    section_config_free(c);

    c = realm("ldap: r\n\tbase_dn dc=x\n\tuser_attr uid\n\tserver1 192.0.2.1\n\tmode bogus\n");
    assert_int_equal(auth_ldap_check(section_config_find(c, NULL, "r"), NULL, "a", "pw"), -EINVAL);
    section_config_free(c);
}

static void test_ad_refused_without_traffic(void **state) {
    (void) state;
    SectionConfig *c = realm("ad: r\n\tdomain example.com\n\tserver1 192.0.2.1\n");
    const SectionConfigSection *s = section_config_find(c, NULL, "r");
    assert_int_equal(auth_ad_check(s, "alice", ""), -EACCES);
    assert_int_equal(auth_ad_check(s, "alice", NULL), -EACCES);
    section_config_free(c);

    c = realm("ad: r\n\tdomain example.com\n");
    assert_int_equal(auth_ad_check(section_config_find(c, NULL, "r"), "a", "pw"), -EINVAL);
    section_config_free(c);

    c = realm("ad: r\n\tserver1 192.0.2.1\n\tmode bogus\n");
    assert_int_equal(auth_ad_check(section_config_find(c, NULL, "r"), "a", "pw"), -EINVAL);
    section_config_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_escape),
        cmocka_unit_test(test_refused_without_traffic),
        cmocka_unit_test(test_ad_refused_without_traffic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
