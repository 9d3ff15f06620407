/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the guest config parser/printers: byte-exact round trips of upstream-written
 * samples (tests/data/guest-config), canonical ordering, description encoding, the model
 * helpers and line-numbered errors for malformed input.
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

#include "pve/digest.h"
#include "pve/guest-config.h"

static char *read_sample(const char *name, size_t *ret_len) {
    const char *dir = getenv("PVE_TEST_DATA");
    char path[4096];
    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/guest-config/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1024 * 1024);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 1024 * 1024 - 1, f);
    fclose(f);
    buf[n] = '\0';
    *ret_len = n;
    return buf;
}

static GuestConfig *parse_ok(GuestType type, const char *text, size_t len) {
    GuestConfig *c = NULL;
    GuestConfigError err = {0};
    int r = guest_config_parse(type, text, len, &c, &err);
    if (r < 0)
        fail_msg("parse failed: %d line %u: %s", r, err.line, err.message);
    assert_non_null(c);
    return c;
}

/* Both printers must reproduce an upstream-written file byte for byte. */
static GuestConfig *roundtrip_sample(GuestType type, const char *name) {
    size_t len;
    char *text = read_sample(name, &len);
    GuestConfig *c = parse_ok(type, text, len);
    char *out;
    size_t out_len;
    assert_int_equal(guest_config_print(c, &out, &out_len), 0);
    assert_int_equal(out_len, len);
    assert_string_equal(out, text);
    free(out);
    assert_int_equal(guest_config_print_canonical(c, &out, &out_len), 0);
    assert_string_equal(out, text);
    free(out);
    char hex[41];
    assert_int_equal(digest_sha1_hex(text, len, hex), 0);
    assert_string_equal(c->digest, hex);
    free(text);
    return c;
}

static void test_qemu_basic(void **state) {
    (void) state;
    _cleanup_(guest_config_freep) GuestConfig *c =
        roundtrip_sample(GUEST_TYPE_QEMU, "qemu-basic.conf");
    assert_int_equal(c->n_sections, 1);
    GuestSection *m = guest_config_main(c);
    assert_int_equal(m->n_entries, 21);
    assert_null(m->description);
    assert_string_equal(guest_section_get(m, "boot"), "order=scsi0;ide2;net0");
    assert_string_equal(
        guest_section_get(m, "efidisk0"),
        "local-lvm:vm-100-disk-0,efitype=4m,pre-enrolled-keys=1,size=4M"
    );
    assert_string_equal(
        guest_section_get(m, "smbios1"), "uuid=2f7d3c7e-9a51-4b8e-8c44-1f0a6d2b9e13"
    );
    assert_string_equal(guest_section_get(m, "vmgenid"), "6c1f1a55-8a0b-4a47-9d0e-2a9c5b7e3f11");
    assert_string_equal(guest_section_get(m, "meta"), "creation-qemu=8.1.5,ctime=1712345678");
    assert_null(guest_section_get(m, "balloon"));
}

static void test_qemu_snapshots(void **state) {
    (void) state;
    _cleanup_(guest_config_freep) GuestConfig *c =
        roundtrip_sample(GUEST_TYPE_QEMU, "qemu-snapshots.conf");
    assert_int_equal(c->n_sections, 3);
    assert_string_equal(guest_section_get(guest_config_main(c), "parent"), "after-upgrade");
    GuestSection *a = guest_config_find_section(c, GUEST_SECTION_SNAPSHOT, "after-upgrade");
    GuestSection *b = guest_config_find_section(c, GUEST_SECTION_SNAPSHOT, "before-upgrade");
    assert_non_null(a);
    assert_non_null(b);
    assert_null(guest_config_find_section(c, GUEST_SECTION_SNAPSHOT, "current"));
    assert_string_equal(a->description, "Postgres 16 after dist-upgrade");
    assert_string_equal(b->description, "Clean install\n\nPostgres 15");
    assert_string_equal(guest_section_get(a, "parent"), "before-upgrade");
    assert_string_equal(guest_section_get(a, "vmstate"), "local-zfs:vm-101-state-after-upgrade");
    assert_string_equal(guest_section_get(a, "snaptime"), "1720100000");
    assert_null(guest_section_get(b, "parent"));
    assert_null(guest_section_get(b, "vmstate"));
}

static void test_qemu_pending(void **state) {
    (void) state;
    _cleanup_(guest_config_freep) GuestConfig *c =
        roundtrip_sample(GUEST_TYPE_QEMU, "qemu-pending.conf");
    GuestSection *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
    assert_non_null(p);
    /* A bare '#' in [PENDING] is "description set to empty". */
    assert_non_null(p->description);
    assert_string_equal(p->description, "");
    assert_string_equal(guest_section_get(p, "delete"), "balloon,!agent");
    bool force = true;
    assert_true(guest_config_pending_delete_has(c, "balloon", &force));
    assert_false(force);
    assert_true(guest_config_pending_delete_has(c, "agent", &force));
    assert_true(force);
    assert_false(guest_config_pending_delete_has(c, "memory", NULL));

    assert_int_equal(guest_config_pending_delete_add(c, "balloon", true), 0);
    assert_string_equal(guest_section_get(p, "delete"), "!agent,!balloon");
    assert_int_equal(guest_config_pending_delete_add(c, "tags", false), 0);
    assert_string_equal(guest_section_get(p, "delete"), "!agent,!balloon,tags");
    assert_int_equal(guest_config_pending_delete_remove(c, "agent"), 1);
    assert_int_equal(guest_config_pending_delete_remove(c, "agent"), 0);
    assert_int_equal(guest_config_pending_delete_remove(c, "balloon"), 1);
    assert_int_equal(guest_config_pending_delete_remove(c, "tags"), 1);
    assert_null(guest_section_get(p, "delete"));
    assert_int_equal(guest_config_pending_delete_add(c, "Bad Key", false), -EINVAL);
}

static void test_qemu_description(void **state) {
    (void) state;
    _cleanup_(guest_config_freep) GuestConfig *c =
        roundtrip_sample(GUEST_TYPE_QEMU, "qemu-description.conf");
    assert_string_equal(
        guest_config_main(c)->description,
        "# Web frontend\n"
        "\n"
        "Owner: ops-team@example.com\n"
        "Docs: https://wiki.example.com/web?id=42&lang=en\n"
        "Status: 100% migrated, tabs\there\n"
        "Maintainer: J\xc3\xbcrgen M\xc3\xbcller \xe2\x80\x94 on call\n"
        "\n"
        "  indented line with \"quotes\" and {braces} [brackets] #hash"
    );
}

static void test_qemu_cloudinit(void **state) {
    (void) state;
    _cleanup_(guest_config_freep) GuestConfig *c =
        roundtrip_sample(GUEST_TYPE_QEMU, "qemu-cloudinit.conf");
    GuestSection *ci = guest_config_find_section(c, GUEST_SECTION_SPECIAL, "cloudinit");
    assert_non_null(ci);
    assert_string_equal(guest_section_get(ci, "ipconfig0"), "ip=dhcp");
    assert_non_null(guest_config_find_section(c, GUEST_SECTION_SPECIAL, "fleecing"));
}

static void test_lxc_snapshot(void **state) {
    (void) state;
    _cleanup_(guest_config_freep) GuestConfig *c =
        roundtrip_sample(GUEST_TYPE_LXC, "lxc-snapshot.conf");
    GuestSection *m = guest_config_main(c);
    assert_string_equal(m->description, "Pi-hole DNS\n\nManaged by ansible: role pihole");
    assert_string_equal(
        guest_section_get(m, "mp0"), "local-lvm:vm-200-disk-1,mp=/srv/data,backup=1,size=16G"
    );
    assert_string_equal(guest_section_get(m, "features"), "keyctl=1,nesting=1");
    /* lxc.* lines are raw entries, not plain keys */
    assert_null(guest_section_get(m, "lxc.cgroup2.devices.allow"));
    size_t raw = 0;
    for (size_t i = 0; i < m->n_entries; i++)
        if (m->entries[i].raw)
            raw++;
    assert_int_equal(raw, 3);
    assert_string_equal(m->entries[m->n_entries - 3].value, "c 10:200 rwm");
    GuestSection *s = guest_config_find_section(c, GUEST_SECTION_SNAPSHOT, "pre-update");
    assert_non_null(s);
    assert_string_equal(guest_section_get(s, "snaptime"), "1719000000");
    assert_string_equal(s->description, "before apt full-upgrade");
}

static void test_lxc_pending(void **state) {
    (void) state;
    _cleanup_(guest_config_freep) GuestConfig *c =
        roundtrip_sample(GUEST_TYPE_LXC, "lxc-pending.conf");
    GuestSection *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
    assert_non_null(p);
    assert_string_equal(guest_section_get(p, "delete"), "swap");
}

static void check_print(const GuestConfig *c, bool canonical, const char *expect) {
    char *out;
    int r =
        canonical ? guest_config_print_canonical(c, &out, NULL) : guest_config_print(c, &out, NULL);
    assert_int_equal(r, 0);
    assert_string_equal(out, expect);
    free(out);
}

static void test_order_and_canonical(void **state) {
    (void) state;
    const char *in =
        "\n"
        "name: x\r\n"
        "memory:\t 512  \n"
        "#first\n"
        "lxc.mount.entry = /a b none bind 0 0\n"
        "cores: 2\n"
        "  \t\n"
        "#second\n"
        "lxc.apparmor.profile:unconfined\n"
        "lxc.empty:\n"
        "[zeta]\n"
        "snaptime: 2\n"
        "[alpha]\r\n"
        "description: from key%3A\n"
        "snaptime: 1\n"
        "[PVE:PENDING]\n";
    _cleanup_(guest_config_freep) GuestConfig *c = parse_ok(GUEST_TYPE_LXC, in, strlen(in));
    check_print(
        c, false,
        "#first\n#second\n"
        "name: x\n"
        "memory: 512\n"
        "lxc.mount.entry = /a b none bind 0 0\n"
        "cores: 2\n"
        "lxc.apparmor.profile: unconfined\n"
        "lxc.empty: \n"
        "\n[zeta]\n"
        "snaptime: 2\n"
        "\n[alpha]\n"
        "#from key%3A\n"
        "snaptime: 1\n"
        "\n[pve:pending]\n"
    );
    check_print(
        c, true,
        "#first\n#second\n"
        "cores: 2\n"
        "memory: 512\n"
        "name: x\n"
        "lxc.mount.entry: /a b none bind 0 0\n"
        "lxc.apparmor.profile: unconfined\n"
        "lxc.empty: \n"
        "\n[alpha]\n"
        "#from key%3A\n"
        "snaptime: 1\n"
        "\n[zeta]\n"
        "snaptime: 2\n"
    );
}

static void test_description_encoding(void **state) {
    (void) state;
    _cleanup_(guest_config_freep) GuestConfig *c = guest_config_new(GUEST_TYPE_QEMU);
    assert_non_null(c);
    GuestSection *m = guest_config_main(c);
    assert_int_equal(
        guest_section_set_description(m, "a:b\tc\r 100% %41 %zz \x7f\xff~\n\nlast  \n\n"), 0
    );
    assert_string_equal(m->description, "a:b\tc\r 100% %41 %zz \x7f\xff~\n\nlast");
    check_print(c, true, "#a%3Ab%09c%0D 100% %2541 %zz %7F%FF~\n#\n#last\n");

    /* and back: lower-case escapes decode too, a lone or short '%' stays literal */
    const char *in = "#x%3ay%\n#%4\n#50%\ndescription: tail%3A\n";
    _cleanup_(guest_config_freep) GuestConfig *d = parse_ok(GUEST_TYPE_QEMU, in, strlen(in));
    assert_string_equal(guest_config_main(d)->description, "x:y%\n%4\n50%\ntail:");

    /* LXC keeps trailing blanks of the last line, QEMU drops them */
    const char *t = "#keep \n#\n";
    _cleanup_(guest_config_freep) GuestConfig *l = parse_ok(GUEST_TYPE_LXC, t, strlen(t));
    assert_string_equal(guest_config_main(l)->description, "keep ");
    _cleanup_(guest_config_freep) GuestConfig *q = parse_ok(GUEST_TYPE_QEMU, t, strlen(t));
    assert_string_equal(guest_config_main(q)->description, "keep");
    /* an empty QEMU description is only written in [PENDING] */
    _cleanup_(guest_config_freep) GuestConfig *e = parse_ok(GUEST_TYPE_QEMU, "#\n", 2);
    assert_string_equal(guest_config_main(e)->description, "");
    check_print(e, true, "");
}

static void test_helpers(void **state) {
    (void) state;
    _cleanup_(guest_config_freep) GuestConfig *c = guest_config_new(GUEST_TYPE_QEMU);
    assert_non_null(c);
    assert_string_equal(c->digest, "");
    GuestSection *m = guest_config_main(c);
    assert_int_equal(guest_section_set(m, "name", "vm1"), 0);
    assert_int_equal(guest_section_set(m, "memory", "1024"), 0);
    assert_int_equal(guest_section_set(m, "cores", "2"), 0);
    assert_int_equal(guest_section_set(m, "memory", "2048"), 0);
    assert_string_equal(guest_section_get(m, "memory"), "2048");
    assert_int_equal(guest_section_set(m, "Memory", "1"), -EINVAL);
    assert_int_equal(guest_section_set(m, "net0x", "1"), -EINVAL);
    assert_int_equal(guest_section_set(m, "lxc.foo", "1"), -EINVAL);
    assert_int_equal(guest_section_set(m, "args", ""), -EINVAL);
    assert_int_equal(guest_section_set(m, "args", " x"), -EINVAL);
    assert_int_equal(guest_section_set(m, "args", "a\nb"), -EINVAL);
    assert_int_equal(guest_section_set(m, "delete", "cores"), -EINVAL);
    assert_int_equal(guest_section_set(m, "description", "hello"), 0);
    assert_string_equal(m->description, "hello");
    assert_int_equal(guest_section_delete(m, "cores"), 0);
    assert_int_equal(guest_section_delete(m, "cores"), -ENOENT);
    assert_int_equal(guest_section_add_raw(m, "lxc.foo", "x"), -EINVAL);
    assert_int_equal(guest_section_delete_raw(m, "lxc.foo"), 0);
    check_print(c, false, "#hello\nname: vm1\nmemory: 2048\n");
    check_print(c, true, "#hello\nmemory: 2048\nname: vm1\n");
    assert_int_equal(guest_section_delete(m, "description"), 0);
    assert_null(m->description);

    GuestSection *s = NULL;
    assert_int_equal(guest_config_add_section(c, GUEST_SECTION_SNAPSHOT, "snap1", &s), 0);
    assert_non_null(s);
    assert_int_equal(guest_section_set(s, "snaptime", "1700000000"), 0);
    assert_int_equal(guest_config_add_section(c, GUEST_SECTION_SNAPSHOT, "snap1", NULL), -EEXIST);
    assert_int_equal(guest_config_add_section(c, GUEST_SECTION_SNAPSHOT, "1bad", NULL), -EINVAL);
    assert_int_equal(guest_config_add_section(c, GUEST_SECTION_SNAPSHOT, "pending", NULL), -EINVAL);
    assert_int_equal(guest_config_add_section(c, GUEST_SECTION_SPECIAL, "cloudinit", NULL), 0);
    assert_int_equal(guest_config_add_section(c, GUEST_SECTION_MAIN, NULL, NULL), -EINVAL);
    /* empty special sections are not written canonically, snapshots are */
    check_print(c, true, "memory: 2048\nname: vm1\n\n[snap1]\nsnaptime: 1700000000\n");
    check_print(
        c, false,
        "name: vm1\nmemory: 2048\n\n[snap1]\nsnaptime: 1700000000\n\n[special:cloudinit]\n"
    );
    assert_int_equal(guest_config_remove_section(c, GUEST_SECTION_SNAPSHOT, "snap1"), 0);
    assert_int_equal(guest_config_remove_section(c, GUEST_SECTION_SNAPSHOT, "snap1"), -ENOENT);
    assert_int_equal(guest_config_remove_section(c, GUEST_SECTION_MAIN, NULL), -EINVAL);
    assert_int_equal(c->n_sections, 2);

    /* LXC raw lines */
    _cleanup_(guest_config_freep) GuestConfig *l = guest_config_new(GUEST_TYPE_LXC);
    GuestSection *lm = guest_config_main(l);
    assert_int_equal(guest_section_add_raw(lm, "lxc.cgroup2.devices.allow", "c 10:200 rwm"), 0);
    assert_int_equal(guest_section_add_raw(lm, "lxc.cgroup2.devices.allow", "c 189:* rwm"), 0);
    assert_int_equal(guest_section_add_raw(lm, "lxc.Bad", "x"), -EINVAL);
    assert_int_equal(guest_section_add_raw(lm, "lxc.", "x"), -EINVAL);
    assert_int_equal(guest_section_set(lm, "hostname", "ct1"), 0);
    check_print(
        l, true,
        "hostname: ct1\nlxc.cgroup2.devices.allow: c 10:200 rwm\nlxc.cgroup2.devices.allow: c "
        "189:* rwm\n"
    );
    assert_int_equal(guest_section_delete_raw(lm, "lxc.cgroup2.devices.allow"), 2);
    assert_int_equal(
        guest_config_add_section(l, GUEST_SECTION_SPECIAL, "cloudinit", NULL), -EINVAL
    );
    assert_int_equal(guest_config_pending_delete_add(l, "mp0", false), 0);
    check_print(l, true, "hostname: ct1\n\n[pve:pending]\ndelete: mp0\n");

    assert_true(guest_config_key_valid("efidisk0"));
    assert_true(guest_config_key_valid("fleecing-images"));
    assert_false(guest_config_key_valid("0abc"));
    assert_false(guest_config_key_valid(""));
    assert_true(guest_config_raw_key_valid("lxc.mount.entry"));
    assert_false(guest_config_raw_key_valid("lxc.Mount"));
}

typedef struct BadCase {
    GuestType type;
    const char *text;
    size_t len; /* 0: strlen */
    unsigned line;
    const char *message_part;
} BadCase;

static void test_malformed(void **state) {
    (void) state;
    static const char nul_text[] = "name: a\nmemory: 5\0 12\n";
    static const BadCase cases[] = {
        {GUEST_TYPE_QEMU, "name: a\nmemory 512\n", 0, 2, "expected 'key: value'"},
        {GUEST_TYPE_QEMU, "name: a\n\nMemory: 512\n", 0, 3, "invalid key 'Memory'"},
        {GUEST_TYPE_QEMU, "  name: a\n", 0, 1, "invalid key"},
        {GUEST_TYPE_QEMU, "net0x: a\n", 0, 1, "invalid key 'net0x'"},
        {GUEST_TYPE_QEMU, "name: a\ncores: 1\nname: b\n", 0, 3, "duplicate key 'name'"},
        {GUEST_TYPE_QEMU, "name: a\n[s1]\nx: 1\n[s2]\n[s1]\n", 0, 5, "duplicate section 's1'"},
        {GUEST_TYPE_QEMU, "[PENDING]\na: 1\n[pending]\n", 0, 3, "duplicate section 'PENDING'"},
        {GUEST_TYPE_QEMU, "name: a\n[bad name]\n", 0, 2, "invalid section name"},
        {GUEST_TYPE_QEMU, "[x]\n", 0, 1, "invalid section name 'x'"},
        {GUEST_TYPE_QEMU, "[snap\n", 0, 1, "unterminated"},
        {GUEST_TYPE_QEMU, "[snap] x\n", 0, 1, "unexpected text"},
        {GUEST_TYPE_QEMU, "[special:Cloud]\n", 0, 1, "invalid special section name"},
        {GUEST_TYPE_QEMU, nul_text, sizeof nul_text - 1, 2, "NUL byte"},
        {GUEST_TYPE_QEMU, "a: 1\ndelete: a\n", 0, 2, "only allowed in [PENDING]"},
        {GUEST_TYPE_QEMU, "a: 1\nb:   \t\n", 0, 2, "missing value for 'b'"},
        {GUEST_TYPE_QEMU, "#a%00b\n", 0, 1, "encoded NUL"},
        {GUEST_TYPE_QEMU, "lxc.foo: bar\n", 0, 1, "invalid key 'lxc.foo'"},
        {GUEST_TYPE_QEMU, "[pve:pending]\n", 0, 1, "invalid section name"},
        {GUEST_TYPE_LXC, "a: 1\n[special:cloudinit]\n", 0, 2, "invalid section name"},
        {GUEST_TYPE_LXC, "a: 1\n\nlxc.foo bar\n", 0, 3, "expected 'lxc.key"},
        {GUEST_TYPE_LXC, "lxc.Foo: bar\n", 0, 1, "invalid key 'lxc.Foo'"},
        {GUEST_TYPE_LXC, "lxc.foo : bar\n", 0, 1, "invalid key 'lxc.foo '"},
        {GUEST_TYPE_LXC, "a: 1\ndelete: a\n", 0, 2, "only allowed in [pve:pending]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const BadCase *t = &cases[i];
        GuestConfig *c = NULL;
        GuestConfigError err = {0};
        size_t len = t->len ? t->len : strlen(t->text);
        int r = guest_config_parse(t->type, t->text, len, &c, &err);
        if (r != -EINVAL || err.line != t->line || !strstr(err.message, t->message_part))
            fail_msg("case %zu: r=%d line=%u message='%s'", i, r, err.line, err.message);
        assert_null(c);
    }
}

static void test_limits(void **state) {
    (void) state;
    GuestConfig *c = NULL;
    GuestConfigError err = {0};

    size_t big = GUEST_CONFIG_MAX_SIZE + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, '\n', big);
    assert_int_equal(guest_config_parse(GUEST_TYPE_QEMU, text, big, &c, &err), -EFBIG);
    assert_int_equal(err.line, 0);

    /* a line one byte over the limit, on line 3 */
    size_t n = 0;
    memcpy(text, "a: 1\n\nargs: ", 12);
    n = 12;
    memset(text + n, 'x', GUEST_CONFIG_LINE_MAX);
    n += GUEST_CONFIG_LINE_MAX - 6 + 1;
    assert_int_equal(guest_config_parse(GUEST_TYPE_QEMU, text, n, &c, &err), -EINVAL);
    assert_int_equal(err.line, 3);
    assert_non_null(strstr(err.message, "too long"));
    /* exactly at the limit is fine */
    assert_int_equal(guest_config_parse(GUEST_TYPE_QEMU, text, n - 1, &c, &err), 0);
    c = guest_config_free(c);

    /* too many sections */
    size_t pos = 0;
    for (unsigned i = 0; i < GUEST_CONFIG_SECTIONS_MAX + 1; i++)
        pos += (size_t) sprintf(text + pos, "[s%u]\n", i);
    assert_int_equal(guest_config_parse(GUEST_TYPE_QEMU, text, pos, &c, &err), -E2BIG);
    assert_int_equal(err.line, GUEST_CONFIG_SECTIONS_MAX);
    free(text);

    /* empty input is an empty config */
    assert_int_equal(guest_config_parse(GUEST_TYPE_QEMU, NULL, 0, &c, &err), 0);
    assert_string_equal(c->digest, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    c = guest_config_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_basic),
        cmocka_unit_test(test_qemu_snapshots),
        cmocka_unit_test(test_qemu_pending),
        cmocka_unit_test(test_qemu_description),
        cmocka_unit_test(test_qemu_cloudinit),
        cmocka_unit_test(test_lxc_snapshot),
        cmocka_unit_test(test_lxc_pending),
        cmocka_unit_test(test_order_and_canonical),
        cmocka_unit_test(test_description_encoding),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
