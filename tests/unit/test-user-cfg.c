/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for user-cfg: round trips of tests/data/user-cfg/good-*.cfg, line-numbered errors,
 * privileges and built-in roles, and the permission matrix of api.md §2.8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pve/user-cfg.h"

#define API_PRIVS_TEST(...) ((const char *const[]){__VA_ARGS__, NULL})

static char *read_data(const char *name, size_t *ret_len) {
    const char *dir = getenv("PVE_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/user-cfg/%s", dir ? dir : "tests/data", name);
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    char *buf = malloc(1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    *ret_len = n;
    return buf;
}

static void test_roundtrip(void **state) {
    (void) state;
    const char *files[] = {
        "good-minimal.cfg",  "good-spec-example.cfg",  "good-cluster.cfg",
        "good-no-pools.cfg", "good-acl-propagate.cfg", "good-encoded.cfg",
    };
    for (size_t i = 0; i < ELEMENTSOF(files); i++) {
        size_t len;
        char *text = read_data(files[i], &len);
        UserCfg *c = NULL;
        char *out = NULL, *msg = NULL;
        unsigned line = 0;
        int r = user_cfg_parse(text, len, &c, &line, &msg);
        if (r < 0)
            fail_msg("%s:%u: %s", files[i], line, msg);
        assert_int_equal(user_cfg_print(c, &out), 0);
        assert_string_equal(out, text);
        free(out);
        user_cfg_free(c);
        free(text);
    }
}

static void test_canonicalize(void **state) {
    (void) state;
    const char *in =
        " user : bob@pve : 1 :007: B%6Fb ::\n"
        "acl:1:vms//100/:bob@pve:PVEVMUser;PVEAuditor:\n"
        "acl:1:/vms/100:bob@pve:PVEAuditor:\n"
        "acl:0:/:root@pam,bob@pve:Administrator\n"
        "group:g:bob@pve,bob@pve,alice@pve:\n";
    const char *want =
        "user:bob@pve:1:7:Bob:::::\n"
        "user:root@pam:1:0::::::\n"
        "\n"
        "group:g:alice@pve,bob@pve::\n"
        "\n"
        "\n"
        "\n"
        "acl:0:/:bob@pve:Administrator:\n"
        "acl:1:/vms/100:bob@pve:PVEAuditor,PVEVMUser:\n";
    UserCfg *c = NULL;
    char *out = NULL;
    assert_int_equal(user_cfg_parse(in, strlen(in), &c, NULL, NULL), 0);
    assert_int_equal(user_cfg_print(c, &out), 0);
    assert_string_equal(out, want);
    const UserCfgUser *u = user_cfg_get_user(c, "bob@pve");
    assert_non_null(u);
    assert_string_equal(u->firstname, "Bob");
    assert_int_equal(u->expire, 7);
    assert_non_null(user_cfg_get_user(c, "root@pam")); /* implied */
    free(out);
    user_cfg_free(c);
}

static void test_errors(void **state) {
    (void) state;
    static const struct {
        const char *text;
        unsigned line;
        const char *needle;
    } cases[] = {
        {"\n\nuser:bad user@pve:1:0:\n", 3, "invalid userid"},
        {"user:a@pve:2:0:\n", 1, "invalid enable"},
        {"user:a@pve:1:-5:\n", 1, "invalid expire"},
        {"user:a@pve:1:0:\nuser:a@pve:1:0:\n", 2, "duplicate user"},
        {"acl:2:/:root@pam:PVEAuditor:\n", 1, "invalid propagate"},
        {"pool:p1::abc:\n", 1, "invalid vmid"},
        {"pool:p1:::Local:\n", 1, "invalid storage id"},
        {"user:a@pve:1:0:x%00y:\n", 1, "encoded NUL"},
        {"user:a@pve:1:0:f:l:e:c:k:extra:\n", 1, "too many fields"},
        {"user:a@pve:1:0:\nuser\0:b@pve:1:0:\n", 2, "NUL byte"},
        {"group:bad/group:::\n", 1, "invalid group id"},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        UserCfg *c = NULL;
        char *msg = NULL;
        unsigned line = 0;
        size_t len = strlen(cases[i].text);
        if (streq(cases[i].needle, "NUL byte")) /* the literal holds a NUL: use its full length */
            len = sizeof("user:a@pve:1:0:\nuser\0:b@pve:1:0:\n") - 1;
        assert_int_equal(user_cfg_parse(cases[i].text, len, &c, &line, &msg), -EINVAL);
        assert_null(c);
        if (line != cases[i].line || !msg || !strstr(msg, cases[i].needle))
            fail_msg("case %zu: line %u msg '%s'", i, line, msg ? msg : "(null)");
        free(msg);
    }
}

/* Well-formed but inconsistent entries load like upstream: ignored, with a warning naming the
 * line, and gone from what is printed back. */
static void test_lenient(void **state) {
    (void) state;
    static const struct {
        const char *text;
        const char *warning;
        const char *kept;    /* must be in the printed file */
        const char *dropped; /* must not be */
    } cases[] = {
        {"user:root@pam:1:0::::::\nfoo:bar:\n", "line 2: ignoring unknown entry type 'foo'",
         "user:root@pam", "foo"},
        {"token:a@pve!tk:0:1::\n", "line 1: ignoring token 'a@pve!tk' of undefined user", NULL,
         "tk"},
        {"role:R:VM.Audit,VM.Fly,VM.Console:\n",
         "line 1: role 'R': ignoring invalid privilege 'VM.Fly'",
         "role:R:VM.Audit,VM.Console:", "VM.Fly"},
        {"role:PVEAdmin:VM.Audit:\n", "line 1: ignoring redefinition of built-in role 'PVEAdmin'",
         NULL, "role:PVEAdmin"},
        {"user:a@pve:1:0:\n\nacl:1:/:a@pve:NoSuchRole,PVEAuditor:\n",
         "line 3: ACL on '/': ignoring undefined role 'NoSuchRole'",
         "acl:1:/:a@pve:PVEAuditor:", "NoSuchRole"},
        {"acl:1:/:@nogroup:PVEAuditor:\n", "ignoring undefined group 'nogroup'", NULL, "nogroup"},
        {"user:a@pve:1:0:\nacl:1:/:a@pve!x,a@pve:PVEAuditor:\n",
         "ignoring undefined token 'a@pve!x'", "acl:1:/:a@pve:PVEAuditor:", "a@pve!x"},
        {"pool:p1::100:\npool:p2::100,101:\n",
         "line 2: ignoring vm 100 in pool 'p2': already in pool 'p1'", "pool:p2::101:", "100,101"},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        UserCfg *c = NULL;
        char *msg = NULL, *out = NULL;
        unsigned line = 0;
        if (user_cfg_parse(cases[i].text, strlen(cases[i].text), &c, &line, &msg) != 0)
            fail_msg("case %zu: refused at line %u: %s", i, line, msg ? msg : "");
        const char *const *w = NULL;
        size_t n = user_cfg_warnings(c, &w);
        if (n < 1 || !strstr(w[0], cases[i].warning))
            fail_msg("case %zu: warning '%s'", i, n ? w[0] : "(none)");
        assert_int_equal(user_cfg_print(c, &out), 0);
        if (cases[i].kept && !strstr(out, cases[i].kept))
            fail_msg("case %zu: '%s' missing from:\n%s", i, cases[i].kept, out);
        if (strstr(out, cases[i].dropped))
            fail_msg("case %zu: '%s' still in:\n%s", i, cases[i].dropped, out);
        free(out);
        user_cfg_free(c);
    }
}

static void test_privs(void **state) {
    (void) state;
    for (unsigned i = 1; i < PRIV_COUNT; i++)
        assert_true(strcmp(priv_name(i - 1), priv_name(i)) < 0); /* sorted, as the printer needs */
    assert_null(priv_name(PRIV_COUNT));
    assert_int_equal(priv_from_name("VM.Audit"), 25);
    assert_int_equal(priv_from_name("VM.audit"), -EINVAL);

    PrivSet s;
    assert_int_equal(user_cfg_builtin_role("Administrator", &s), 0);
    assert_true(s == PRIVSET_ALL);
    assert_int_equal(__builtin_popcountll(s), 47);
    assert_int_equal(user_cfg_builtin_role("NoAccess", &s), 0);
    assert_true(s == 0);
    assert_int_equal(user_cfg_builtin_role("PVEAdmin", &s), 0);
    assert_int_equal(__builtin_popcountll(s), 40);
    assert_false(s & (UINT64_C(1) << priv_from_name("Sys.Modify")));
    assert_false(s & (UINT64_C(1) << priv_from_name("Permissions.Modify")));
    assert_int_equal(user_cfg_builtin_role("PVEVMUser", &s), 0);
    assert_int_equal(__builtin_popcountll(s), 10);
    assert_int_equal(user_cfg_builtin_role("PVEVMAdmin", &s), 0);
    assert_int_equal(__builtin_popcountll(s), 23);
    assert_int_equal(user_cfg_builtin_role("PVEAuditor", &s), 0);
    assert_int_equal(__builtin_popcountll(s), 7);
    assert_int_equal(user_cfg_builtin_role("ALL", &s), -ENOENT);
}

#define NOW INT64_C(1700000000)

static const char *matrix_cfg =
    "user:aud@pve:1:0::::::\n"
    "user:root@pam:1:0::::::\n"
    "user:dis@pve:0:0::::::\n"
    "user:exp@pve:1:1600000000::::::\n"
    "user:grp@pve:1:0::::::\n"
    "user:tok@pve:1:0::::::\n"
    "token:tok@pve!sep:0:1::\n"
    "token:tok@pve!full:0:0::\n"
    "token:tok@pve!gone:1600000000:0::\n"
    "\n"
    "group:devs:grp@pve,tok@pve::\n"
    "\n"
    "pool:lab::300:labstore:\n"
    "\n"
    "\n"
    "acl:1:/:aud@pve,dis@pve,exp@pve:PVEAuditor:\n"
    "acl:1:/:@devs:PVEAuditor:\n"
    "acl:1:/pool/lab:grp@pve:PVEVMAdmin:\n"
    "acl:0:/vms:@devs:PVEVMUser:\n"
    "acl:1:/vms/100:@devs:PVEVMAdmin:\n"
    "acl:1:/vms/100:tok@pve!sep:PVEVMAdmin:\n"
    "acl:1:/vms/200:@devs:NoAccess:\n"
    "acl:1:/vms/300:tok@pve:PVEVMUser:\n"
    "acl:1:/vms/400:aud@pve:PVETemplateUser:\n";

static bool has(const UserCfg *c, const char *id, const char *path, const char *priv) {
    PrivSet s = 0xdead;
    assert_int_equal(user_cfg_permissions_at(c, id, path, NOW, &s), 0);
    return s & (UINT64_C(1) << priv_from_name(priv));
}

static void test_permissions(void **state) {
    (void) state;
    UserCfg *c = NULL;
    char *msg = NULL;
    unsigned line = 0;
    if (user_cfg_parse(matrix_cfg, strlen(matrix_cfg), &c, &line, &msg) < 0)
        fail_msg("line %u: %s", line, msg);

    /* root */
    PrivSet s;
    assert_int_equal(user_cfg_permissions_at(c, "root@pam", "/anything", NOW, &s), 0);
    assert_true(s == PRIVSET_ALL);

    /* PVEAuditor on / */
    assert_true(has(c, "aud@pve", "/", "VM.Audit"));
    assert_true(has(c, "aud@pve", "/vms/100", "VM.Audit"));
    assert_false(has(c, "aud@pve", "/vms/100", "VM.PowerMgmt"));
    assert_true(has(c, "aud@pve", "/nodes/pve1", "Sys.Audit"));
    /* a user entry deeper down replaces the inherited one */
    assert_true(has(c, "aud@pve", "/vms/400", "VM.Clone"));
    assert_false(has(c, "aud@pve", "/vms/400", "Sys.Audit"));
    assert_false(has(c, "aud@pve", "/vms/400", "VM.GuestAgent.Audit"));

    /* disabled and expired users get nothing */
    assert_false(has(c, "dis@pve", "/", "VM.Audit"));
    assert_false(has(c, "exp@pve", "/", "VM.Audit"));
    assert_false(has(c, "nobody@pve", "/", "VM.Audit"));
    assert_true(user_cfg_is_active(c, "aud@pve", NOW));
    assert_false(user_cfg_is_active(c, "exp@pve", NOW));
    assert_true(user_cfg_is_active(c, "exp@pve", 1500000000));

    /* group entries; propagate=0 on /vms applies to /vms only */
    assert_true(has(c, "grp@pve", "/vms", "VM.PowerMgmt"));
    assert_false(has(c, "grp@pve", "/vms/555", "VM.PowerMgmt"));
    assert_true(has(c, "grp@pve", "/vms/555", "VM.Audit")); /* from / */
    assert_true(has(c, "grp@pve", "/vms/100", "VM.Allocate"));
    assert_true(has(c, "grp@pve", "/vms/100/whatever", "VM.Allocate"));
    /* NoAccess */
    assert_false(has(c, "grp@pve", "/vms/200", "VM.Audit"));
    /* pool: VM 300 in pool lab, grp has PVEVMAdmin on /pool/lab */
    assert_true(has(c, "grp@pve", "/vms/300", "VM.Migrate"));
    assert_false(has(c, "aud@pve", "/vms/300", "VM.Migrate"));
    assert_true(has(c, "grp@pve", "/storage/labstore", "VM.Migrate"));
    assert_false(has(c, "grp@pve", "/storage/other", "VM.Migrate"));

    /* tokens: privsep=1 -> token ACLs ∩ user privileges */
    assert_true(has(c, "tok@pve!sep", "/vms/100", "VM.Allocate")); /* user has it via @devs */
    assert_false(has(c, "tok@pve!sep", "/vms/555", "VM.Audit"));   /* token has no ACL there */
    assert_false(has(c, "tok@pve!sep", "/vms/300", "VM.PowerMgmt"));
    /* privsep=0 -> exactly the user's privileges */
    assert_true(has(c, "tok@pve!full", "/vms/300", "VM.PowerMgmt"));
    assert_true(has(c, "tok@pve!full", "/vms/555", "VM.Audit"));
    assert_false(has(c, "tok@pve!full", "/vms/200", "VM.Audit"));
    /* expired or unknown tokens */
    assert_false(has(c, "tok@pve!gone", "/vms/300", "VM.PowerMgmt"));
    assert_false(has(c, "tok@pve!nope", "/vms/300", "VM.PowerMgmt"));
    assert_non_null(user_cfg_get_token(c, "tok@pve!sep"));
    assert_null(user_cfg_get_token(c, "tok@pve!nope"));

    /* handler checks */
    const char *audit[] = {"VM.Audit", NULL};
    const char *both[] = {"VM.Audit", "VM.PowerMgmt", NULL};
    const char *bogus[] = {"VM.Fly", NULL};
    assert_int_equal(user_cfg_check(c, "aud@pve", "/vms/100", audit, false), 0);
    assert_int_equal(user_cfg_check(c, "aud@pve", "/vms/100", both, false), -EACCES);
    assert_int_equal(user_cfg_check(c, "aud@pve", "/vms/100", both, true), 0);
    assert_int_equal(user_cfg_check(c, "dis@pve", "/vms/100", both, true), -EACCES);
    assert_int_equal(user_cfg_check(c, "root@pam", "/vms/100", both, false), 0);
    assert_int_equal(user_cfg_check(c, "aud@pve", "/", bogus, true), -EINVAL);
    assert_int_equal(user_cfg_check(c, "aud@pve", "/", NULL, false), 0);
    user_cfg_free(c);
}

static PrivSet bit(const char *priv) {
    return UINT64_C(1) << priv_from_name(priv);
}

static void test_propagate(void **state) {
    (void) state;
    UserCfg *c = NULL;
    assert_int_equal(user_cfg_parse(matrix_cfg, strlen(matrix_cfg), &c, NULL, NULL), 0);
    PrivSet privs, prop;
    /* /vms: PVEVMUser with propagate 0 on top of PVEAuditor from / (propagated) */
    assert_int_equal(user_cfg_permissions_ex(c, "grp@pve", "/vms", NOW, &privs, &prop), 0);
    assert_true(privs & bit("VM.PowerMgmt"));
    assert_false(prop & bit("VM.PowerMgmt"));
    assert_false(privs & bit("Sys.Audit")); /* the /vms level replaces / */
    assert_int_equal(user_cfg_permissions_ex(c, "aud@pve", "/vms", NOW, &privs, &prop), 0);
    assert_true(privs == prop);
    assert_true(prop & bit("Sys.Audit"));
    /* pool ACLs propagate as the pool entry does */
    assert_int_equal(user_cfg_permissions_ex(c, "grp@pve", "/vms/300", NOW, &privs, &prop), 0);
    assert_true(prop & bit("VM.Migrate"));
    /* root: everything, propagated */
    assert_int_equal(user_cfg_permissions_ex(c, "root@pam", "/x", NOW, &privs, &prop), 0);
    assert_true(privs == PRIVSET_ALL && prop == PRIVSET_ALL);
    /* privsep token: intersection, and a token cannot propagate more than its user */
    assert_int_equal(user_cfg_permissions_ex(c, "tok@pve!sep", "/vms/100", NOW, &privs, &prop), 0);
    assert_true(privs & bit("VM.Allocate"));
    assert_true(prop & bit("VM.Allocate"));
    user_cfg_free(c);
}

static void assert_printed(const UserCfg *c, const char *want) {
    char *out = NULL;
    assert_int_equal(user_cfg_print(c, &out), 0);
    assert_string_equal(out, want);
    /* and it reads back as the same model */
    UserCfg *c2 = NULL;
    char *out2 = NULL, *msg = NULL;
    unsigned line = 0;
    if (user_cfg_parse(out, strlen(out), &c2, &line, &msg) < 0)
        fail_msg("line %u: %s", line, msg);
    assert_int_equal(user_cfg_warnings(c2, NULL), 0);
    assert_int_equal(user_cfg_print(c2, &out2), 0);
    assert_string_equal(out2, out);
    free(out);
    free(out2);
    user_cfg_free(c2);
}

static void test_edit_users(void **state) {
    (void) state;
    UserCfg *c = user_cfg_new();
    assert_non_null(c);
    assert_int_equal(user_cfg_add_user(c, "alice@pve"), 0);
    assert_int_equal(user_cfg_add_user(c, "alice@pve"), -EEXIST);
    assert_int_equal(user_cfg_add_user(c, "root@pam"), -EEXIST);
    assert_int_equal(user_cfg_add_user(c, "no-realm"), -EINVAL);
    assert_int_equal(user_cfg_add_user(c, "a:b@pve"), -EINVAL);
    assert_int_equal(user_cfg_add_user(c, "bob@pve"), 0);

    assert_int_equal(user_cfg_user_set(c, "alice@pve", "firstname", " Alice: A "), 0);
    assert_int_equal(
        user_cfg_user_set(
            c, "alice@pve", "lastname",
            "D\xc3\xb6"
            "e"
        ),
        0
    );
    assert_int_equal(user_cfg_user_set(c, "alice@pve", "email", "a@example.com"), 0);
    assert_int_equal(user_cfg_user_set(c, "alice@pve", "comment", "50% off\nnow"), 0);
    assert_int_equal(user_cfg_user_set(c, "alice@pve", "keys", "x!y"), 0);
    assert_int_equal(user_cfg_user_set(c, "alice@pve", "expire", "1900000000"), 0);
    assert_int_equal(user_cfg_user_set(c, "bob@pve", "enable", "0"), 0);
    /* bad values change nothing */
    assert_int_equal(user_cfg_user_set(c, "bob@pve", "enable", "yes"), -EINVAL);
    assert_int_equal(user_cfg_user_set(c, "bob@pve", "expire", "-1"), -EINVAL);
    assert_int_equal(user_cfg_user_set(c, "bob@pve", "expire", "12x"), -EINVAL);
    assert_int_equal(user_cfg_user_set(c, "bob@pve", "email", "a:b"), -EINVAL);
    assert_int_equal(user_cfg_user_set(c, "bob@pve", "keys", "a\nb"), -EINVAL);
    assert_int_equal(user_cfg_user_set(c, "bob@pve", "color", "red"), -EINVAL);
    assert_int_equal(user_cfg_user_set(c, "carol@pve", "comment", "x"), -ENOENT);
    assert_string_equal(user_cfg_get_user(c, "alice@pve")->firstname, "Alice: A");

    /* tokens */
    assert_int_equal(user_cfg_add_token(c, "alice@pve!ci", 0, true, "CI token"), 0);
    assert_int_equal(user_cfg_add_token(c, "alice@pve!ci", 0, true, NULL), -EEXIST);
    assert_int_equal(user_cfg_add_token(c, "alice@pve!ab", 5, false, NULL), 0);
    assert_int_equal(user_cfg_add_token(c, "carol@pve!ci", 0, true, NULL), -ENOENT);
    assert_int_equal(user_cfg_add_token(c, "alice@pve!1x", 0, true, NULL), -EINVAL);
    assert_int_equal(user_cfg_token_set(c, "alice@pve!ab", "privsep", "1"), 0);
    assert_int_equal(user_cfg_token_set(c, "alice@pve!ab", "expire", "7"), 0);
    assert_int_equal(user_cfg_token_set(c, "alice@pve!ab", "comment", "x:y"), 0);
    assert_int_equal(user_cfg_token_set(c, "alice@pve!ab", "privsep", "2"), -EINVAL);
    assert_int_equal(user_cfg_token_set(c, "alice@pve!zz", "comment", ""), -ENOENT);
    assert_int_equal(user_cfg_token_set(c, "alice@pve!ab", "enable", "1"), -EINVAL);

    /* groups and membership */
    assert_int_equal(user_cfg_add_group(c, "admins", "Admins"), 0);
    assert_int_equal(user_cfg_add_group(c, "admins", NULL), -EEXIST);
    assert_int_equal(user_cfg_add_group(c, "bad group", NULL), -EINVAL);
    assert_int_equal(user_cfg_add_group(c, "empty", NULL), 0);
    assert_int_equal(user_cfg_group_add_member(c, "admins", "bob@pve"), 0);
    assert_int_equal(user_cfg_group_add_member(c, "admins", "alice@pve"), 0);
    assert_int_equal(user_cfg_group_add_member(c, "admins", "alice@pve"), 0);
    assert_int_equal(user_cfg_group_add_member(c, "admins", "carol@pve"), -ENOENT);
    assert_int_equal(user_cfg_group_add_member(c, "nope", "bob@pve"), -ENOENT);
    assert_int_equal(user_cfg_group_add_member(c, "empty", "bob@pve"), 0);
    assert_int_equal(user_cfg_group_remove_member(c, "empty", "bob@pve"), 0);
    assert_int_equal(user_cfg_group_remove_member(c, "empty", "bob@pve"), -ENOENT);
    assert_int_equal(user_cfg_group_set_comment(c, "empty", "now with comment"), 0);

    assert_printed(
        c,
        "user:alice@pve:1:1900000000:Alice%3A A:D%C3%B6e:a@example.com:50%25 off%0Anow:x!y:\n"
        "token:alice@pve!ab:7:1:x%3Ay:\n"
        "token:alice@pve!ci:0:1:CI token:\n"
        "user:bob@pve:0:0::::::\n"
        "user:root@pam:1:0::::::\n"
        "\n"
        "group:admins:alice@pve,bob@pve:Admins:\n"
        "group:empty::now with comment:\n"
        "\n"
        "\n"
        "\n"
    );

    /* removing a user takes its tokens, memberships and ACL entries along */
    assert_int_equal(user_cfg_acl_set(c, "/vms/100", "alice@pve", "PVEVMUser", true), 0);
    assert_int_equal(user_cfg_acl_set(c, "/vms/100", "alice@pve!ci", "PVEVMUser", true), 0);
    assert_int_equal(user_cfg_acl_set(c, "/vms/100", "bob@pve", "PVEVMUser", true), 0);
    assert_int_equal(user_cfg_remove_token(c, "alice@pve!ab"), 0);
    assert_int_equal(user_cfg_remove_token(c, "alice@pve!ab"), -ENOENT);
    assert_int_equal(user_cfg_remove_user(c, "alice@pve"), 0);
    assert_int_equal(user_cfg_remove_user(c, "alice@pve"), -ENOENT);
    assert_null(user_cfg_get_user(c, "alice@pve"));
    assert_int_equal(user_cfg_user_leave_groups(c, "bob@pve"), 0);
    assert_printed(
        c,
        "user:bob@pve:0:0::::::\n"
        "user:root@pam:1:0::::::\n"
        "\n"
        "group:admins::Admins:\n"
        "group:empty::now with comment:\n"
        "\n"
        "\n"
        "\n"
        "acl:1:/vms/100:bob@pve:PVEVMUser:\n"
    );
    /* a group's ACL entries go with it */
    assert_int_equal(user_cfg_acl_set(c, "/", "@admins", "PVEAuditor", false), 0);
    assert_int_equal(user_cfg_remove_group(c, "admins"), 0);
    assert_int_equal(user_cfg_remove_group(c, "admins"), -ENOENT);
    assert_int_equal(user_cfg_n_acls(c), 1);
    user_cfg_free(c);
}

static void test_edit_pools_roles_acls(void **state) {
    (void) state;
    UserCfg *c = user_cfg_new();
    assert_non_null(c);
    assert_int_equal(user_cfg_add_user(c, "u@pve"), 0);
    assert_int_equal(user_cfg_add_token(c, "u@pve!tk", 0, true, NULL), 0);
    assert_int_equal(user_cfg_add_group(c, "g", NULL), 0);

    /* pools */
    assert_int_equal(user_cfg_add_pool(c, "lab", "Lab VMs"), 0);
    assert_int_equal(user_cfg_add_pool(c, "lab", NULL), -EEXIST);
    assert_int_equal(user_cfg_add_pool(c, "lab/a", NULL), 0);
    assert_int_equal(user_cfg_add_pool(c, "nope/a", NULL), -ENOENT);
    assert_int_equal(user_cfg_add_pool(c, "a/b/c/d", NULL), -EINVAL);
    assert_int_equal(user_cfg_add_pool(c, "bad id", NULL), -EINVAL);
    assert_int_equal(user_cfg_add_pool(c, "prod", NULL), 0);
    assert_int_equal(user_cfg_pool_add_vm(c, "lab", "101"), 0);
    assert_int_equal(user_cfg_pool_add_vm(c, "lab", "1000"), 0);
    assert_int_equal(user_cfg_pool_add_vm(c, "lab", "101"), -EEXIST);
    assert_int_equal(user_cfg_pool_add_vm(c, "prod", "101"), -EBUSY);
    assert_int_equal(user_cfg_pool_add_vm(c, "prod", "99"), -EINVAL);
    assert_int_equal(user_cfg_pool_add_vm(c, "prod", "0100"), -EINVAL);
    assert_int_equal(user_cfg_pool_add_vm(c, "none", "100"), -ENOENT);
    assert_string_equal(user_cfg_vm_pool(c, "101")->poolid, "lab");
    assert_null(user_cfg_vm_pool(c, "102"));
    assert_int_equal(user_cfg_pool_add_storage(c, "lab", "local"), 0);
    assert_int_equal(user_cfg_pool_add_storage(c, "lab", "local"), -EEXIST);
    assert_int_equal(user_cfg_pool_add_storage(c, "lab", "Bad"), -EINVAL);
    assert_int_equal(user_cfg_pool_add_storage(c, "prod", "local"), 0); /* storage may be shared */
    assert_int_equal(user_cfg_pool_set_comment(c, "prod", "Production"), 0);
    /* moving a VM: remove, then add */
    assert_int_equal(user_cfg_pool_remove_vm(c, "prod", "101"), -ENOENT);
    assert_int_equal(user_cfg_pool_remove_vm(c, "lab", "1000"), 0);
    assert_int_equal(user_cfg_pool_add_vm(c, "prod", "1000"), 0);
    assert_int_equal(user_cfg_pool_remove_storage(c, "prod", "local"), 0);
    assert_int_equal(user_cfg_pool_remove_storage(c, "prod", "local"), -ENOENT);

    /* roles */
    PrivSet privs = 0;
    char *bad = NULL;
    assert_int_equal(user_cfg_privs_from_list("VM.PowerMgmt;VM.Audit VM.Audit", &privs, &bad), 0);
    assert_int_equal(user_cfg_add_role(c, "Power", privs), 0);
    assert_int_equal(user_cfg_add_role(c, "Power", 0), -EEXIST);
    assert_int_equal(user_cfg_add_role(c, "PVEAdmin", 0), -EEXIST);
    assert_int_equal(user_cfg_add_role(c, "bad role", 0), -EINVAL);
    assert_int_equal(user_cfg_privs_from_list("VM.Audit,VM.Fly", &privs, &bad), -EINVAL);
    assert_string_equal(bad, "VM.Fly");
    free(bad);
    assert_int_equal(user_cfg_add_role(c, "Empty", 0), 0);
    assert_int_equal(user_cfg_role_set_privs(c, "Empty", bit("Sys.Audit")), 0);
    assert_int_equal(user_cfg_role_set_privs(c, "PVEAuditor", 0), -EPERM);
    assert_int_equal(user_cfg_role_set_privs(c, "Nope", 0), -ENOENT);
    assert_int_equal(user_cfg_remove_role(c, "Administrator"), -EPERM);
    char *list = user_cfg_privs_to_list(bit("VM.PowerMgmt") | bit("Datastore.Audit"));
    assert_string_equal(list, "Datastore.Audit,VM.PowerMgmt");
    free(list);

    /* ACLs */
    assert_int_equal(user_cfg_acl_set(c, "/pool/lab", "@g", "Power", true), 0);
    assert_int_equal(user_cfg_acl_set(c, "/pool/lab", "u@pve", "Power", true), 0);
    assert_int_equal(user_cfg_acl_set(c, "vms//100/", "u@pve!tk", "PVEVMUser", false), 0);
    assert_int_equal(
        user_cfg_acl_set(c, "/vms/100", "u@pve!tk", "PVEVMUser", true), 0
    ); /* update */
    assert_int_equal(user_cfg_acl_set(c, "/", "u@pve", "Empty", true), 0);
    assert_int_equal(user_cfg_acl_set(c, "/", "root@pam", "PVEAuditor", true), 0); /* dropped */
    assert_int_equal(user_cfg_acl_set(c, "/", "x@pve", "PVEAuditor", true), -ENOENT);
    assert_int_equal(user_cfg_acl_set(c, "/", "@nogroup", "PVEAuditor", true), -ENOENT);
    assert_int_equal(user_cfg_acl_set(c, "/", "u@pve!none", "PVEAuditor", true), -ENOENT);
    assert_int_equal(user_cfg_acl_set(c, "/", "u@pve", "NoRole", true), -ENOENT);
    assert_int_equal(user_cfg_acl_set(c, "/a:b", "u@pve", "PVEAuditor", true), -EINVAL);
    assert_int_equal(user_cfg_acl_set(c, "", "u@pve", "PVEAuditor", true), -EINVAL);
    assert_int_equal(user_cfg_acl_set(c, "/", "bad", "PVEAuditor", true), -EINVAL);
    assert_int_equal(user_cfg_acl_remove(c, "/", "u@pve", "PVEAuditor"), 0); /* absent: ok */
    assert_true(user_cfg_check(c, "u@pve", "/vms/101", API_PRIVS_TEST("VM.PowerMgmt"), false) == 0);
    assert_true(user_cfg_check(c, "u@pve", "/vms/1000", API_PRIVS_TEST("VM.PowerMgmt"), false) < 0);

    assert_printed(
        c,
        "user:root@pam:1:0::::::\n"
        "user:u@pve:1:0::::::\n"
        "token:u@pve!tk:0:1::\n"
        "\n"
        "group:g:::\n"
        "\n"
        "pool:lab:Lab VMs:101:local:\n"
        "pool:lab/a::::\n"
        "pool:prod:Production:1000::\n"
        "\n"
        "role:Empty:Sys.Audit:\n"
        "role:Power:VM.Audit,VM.PowerMgmt:\n"
        "\n"
        "acl:1:/:u@pve:Empty:\n"
        "acl:1:/pool/lab:@g,u@pve:Power:\n"
        "acl:1:/vms/100:u@pve!tk:PVEVMUser:\n"
    );

    /* removals cascade to ACL entries */
    assert_int_equal(user_cfg_remove_pool(c, "lab"), -EBUSY); /* has lab/a */
    assert_int_equal(user_cfg_remove_pool(c, "lab/a"), 0);
    assert_int_equal(user_cfg_remove_pool(c, "lab"), 0);
    assert_int_equal(user_cfg_remove_pool(c, "lab"), -ENOENT);
    assert_null(user_cfg_vm_pool(c, "101"));
    assert_int_equal(user_cfg_pool_add_vm(c, "prod", "101"), 0); /* free again */
    assert_int_equal(user_cfg_remove_role(c, "Empty"), 0);
    assert_int_equal(user_cfg_remove_role(c, "Empty"), -ENOENT);
    assert_int_equal(user_cfg_acl_remove(c, "/vms/100/", "u@pve!tk", "PVEVMUser"), 0);
    assert_printed(
        c,
        "user:root@pam:1:0::::::\n"
        "user:u@pve:1:0::::::\n"
        "token:u@pve!tk:0:1::\n"
        "\n"
        "group:g:::\n"
        "\n"
        "pool:prod:Production:1000,101::\n"
        "\n"
        "role:Power:VM.Audit,VM.PowerMgmt:\n"
        "\n"
    );
    user_cfg_free(c);
}

static void test_text_helpers(void **state) {
    (void) state;
    char *e = user_cfg_encode_text("a:b%c\n\xc3\xa4");
    assert_string_equal(e, "a%3Ab%25c%0A%C3%A4");
    char *d = user_cfg_decode_text(e);
    assert_string_equal(d, "a:b%c\n\xc3\xa4");
    free(e);
    free(d);
    assert_null(user_cfg_decode_text("x%00y"));
    char *p = user_cfg_normalize_path("vms//100/");
    assert_string_equal(p, "/vms/100");
    free(p);
    assert_true(user_cfg_poolid_is_valid("a"));
    assert_true(user_cfg_poolid_is_valid("a_1/b.c/d-e"));
    assert_false(user_cfg_poolid_is_valid("a/b/c/d"));
    assert_false(user_cfg_poolid_is_valid("a//b"));
    assert_false(user_cfg_poolid_is_valid("/a"));
    assert_false(user_cfg_poolid_is_valid("a/"));
    assert_false(user_cfg_poolid_is_valid("-a"));
    assert_false(user_cfg_poolid_is_valid(""));
    /* nested pools read back */
    const char *text = "pool:a::::\npool:a/b::100::\n";
    UserCfg *c = NULL;
    assert_int_equal(user_cfg_parse(text, strlen(text), &c, NULL, NULL), 0);
    assert_string_equal(user_cfg_vm_pool(c, "100")->poolid, "a/b");
    user_cfg_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_propagate),
        cmocka_unit_test(test_edit_users),
        cmocka_unit_test(test_edit_pools_roles_acls),
        cmocka_unit_test(test_text_helpers),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_canonicalize),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_privs),
        cmocka_unit_test(test_permissions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
