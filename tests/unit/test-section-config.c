/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the SectionConfig parser, printer and editing helpers. */
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

#include "pve/section-config.h"
#include "pve/strbuf.h"

static char *read_data_file(const char *name, size_t *ret_len) {
    const char *dir = getenv("PVE_TEST_DATA");
    if (!dir)
        dir = "tests/data";
    char path[4096];
    snprintf(path, sizeof path, "%s/section-config/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        strbuf_append_len(&b, buf, n);
    fclose(f);
    char *s;
    assert_int_equal(strbuf_finish(&b, &s, ret_len), 0);
    return s;
}

/* Parse, print, and return the printed text; fails the test on a parse error. */
static char *reprint(const char *text, size_t len, unsigned flags) {
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    unsigned line = 0;
    _cleanup_free_ char *msg = NULL;
    int r = section_config_parse(text, len, flags, &c, &line, &msg);
    if (r < 0)
        fail_msg("parse failed: line %u: %s (%d)", line, msg, r);
    char *out;
    assert_int_equal(section_config_print(c, &out), 0);
    return out;
}

static void check_roundtrip_file(const char *name, unsigned flags) {
    size_t len;
    _cleanup_free_ char *text = read_data_file(name, &len);
    _cleanup_free_ char *out = reprint(text, len, flags);
    assert_string_equal(out, text);
}

static void test_roundtrip_files(void **state) {
    (void) state;
    check_roundtrip_file("storage.cfg", 0);
    check_roundtrip_file("domains.cfg", 0);
    check_roundtrip_file("ha-resources.cfg", 0);
    check_roundtrip_file("ha-groups.cfg", 0);
    check_roundtrip_file("ha-rules.cfg", 0);
    check_roundtrip_file("jobs.cfg", 0);
    check_roundtrip_file("sdn.cfg", 0);
    check_roundtrip_file("notifications.cfg", SECTION_CONFIG_ALLOW_DUPLICATE_KEYS);
}

static void test_storage_model(void **state) {
    (void) state;
    size_t len;
    _cleanup_free_ char *text = read_data_file("storage.cfg", &len);
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    assert_int_equal(section_config_parse(text, len, 0, &c, NULL, NULL), 0);
    assert_int_equal(c->n_sections, 6);
    assert_string_equal(c->sections[0]->type, "dir");
    assert_string_equal(c->sections[0]->id, "local");
    assert_int_equal(c->sections[0]->line, 1);
    assert_string_equal(c->sections[1]->type, "lvmthin");
    assert_int_equal(c->sections[1]->line, 7);
    assert_string_equal(c->sections[4]->type, "pbs");

    SectionConfigSection *s = section_config_find(c, NULL, "local-lvm");
    assert_non_null(s);
    assert_string_equal(section_config_get(s, "vgname"), "pve");
    assert_null(section_config_get(s, "path"));
    assert_ptr_equal(section_config_find(c, "lvmthin", "local-lvm"), s);
    assert_null(section_config_find(c, "dir", "local-lvm"));
    assert_null(section_config_find(c, NULL, "nope"));

    s = section_config_find(c, "dir", "old-disk");
    assert_non_null(s);
    assert_string_equal(section_config_get(s, "disable"), "");
    assert_string_equal(s->properties[2].key, "disable");

    s = section_config_find(c, "nfs", "nas-backup");
    assert_string_equal(
        section_config_get(s, "prune-backups"),
        "keep-daily=7,keep-last=3,keep-monthly=6,keep-weekly=4"
    );
    assert_string_equal(section_config_get(s, "options"), "vers=4.2");
}

static void test_notifications_duplicate_keys(void **state) {
    (void) state;
    size_t len;
    _cleanup_free_ char *text = read_data_file("notifications.cfg", &len);
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    unsigned line = 0;
    _cleanup_free_ char *msg = NULL;

    /* Without the flag a repeated key is an error naming the line and key. */
    assert_int_equal(section_config_parse(text, len, 0, &c, &line, &msg), -EEXIST);
    assert_null(c);
    assert_int_equal(line, 12);
    assert_string_equal(msg, "duplicate key 'match-field' in section 'only-errors'");

    assert_int_equal(
        section_config_parse(text, len, SECTION_CONFIG_ALLOW_DUPLICATE_KEYS, &c, NULL, NULL), 0
    );
    SectionConfigSection *s = section_config_find(c, "matcher", "only-errors");
    assert_non_null(s);
    assert_string_equal(section_config_get(s, "match-field"), "exact:type=vzdump");
    assert_string_equal(s->properties[1].value, "regex:hostname=^pve[0-9]+$");
}

static void check_canonical(const char *in, const char *expected) {
    _cleanup_free_ char *out = reprint(in, strlen(in), 0);
    assert_string_equal(out, expected);
    /* The canonical form is a fixed point. */
    _cleanup_free_ char *again = reprint(out, strlen(out), 0);
    assert_string_equal(again, expected);
}

static void test_non_canonical(void **state) {
    (void) state;
    const char *canonical =
        "dir: local\n"
        "\tpath /var/lib/vz\n"
        "\tcontent iso,vztmpl\n"
        "\n"
        "lvmthin: local-lvm\n"
        "\tthinpool data\n"
        "\tvgname pve\n"
        "\n";

    /* Space indentation, extra spaces between key and value, trailing blanks. */
    check_canonical(
        "dir:   local  \n"
        "    path    /var/lib/vz\n"
        "  content iso,vztmpl   \n"
        "\n"
        "lvmthin:local-lvm\n"
        " \t thinpool data\n"
        "\tvgname pve\t\n",
        canonical
    );
    /* Comments (column 0 and indented), several blank lines, blank-only lines. */
    check_canonical(
        "# storage configuration\n"
        "\n\n\n"
        "dir: local\n"
        "\tpath /var/lib/vz\n"
        "# a comment inside a section does not end it\n"
        "\t# nor does an indented one\n"
        "\tcontent iso,vztmpl\n"
        " \t \n"
        "\n"
        "# trailing comment\n"
        "lvmthin: local-lvm\n"
        "\tthinpool data\n"
        "\tvgname pve\n"
        "\n\n\n",
        canonical
    );
    /* CRLF line ends, no final newline. */
    check_canonical(
        "dir: local\r\n\tpath /var/lib/vz\r\n\tcontent iso,vztmpl\r\n\r\n"
        "lvmthin: local-lvm\r\n\tthinpool data\r\n\tvgname pve",
        canonical
    );
    /* A header directly after a property line starts the next section. */
    check_canonical(
        "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl\n"
        "lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n",
        canonical
    );
    /* Values keep inner blanks; flags without a value; empty sections. */
    check_canonical(
        "pve: pve\n\tcomment  Proxmox VE   authentication\tserver \n\tdefault\n\nvm: 100\n",
        "pve: pve\n\tcomment Proxmox VE   authentication\tserver\n\tdefault\n\nvm: 100\n\n"
    );
    /* Empty input and comment-only input print as nothing. */
    check_canonical("", "");
    check_canonical("# nothing here\n\n   \n", "");
}

static void check_error(
    const char *in,
    size_t len,
    unsigned flags,
    int expected_r,
    unsigned expected_line,
    const char *expected_msg
) {
    SectionConfig *c = NULL;
    unsigned line = 12345;
    _cleanup_free_ char *msg = NULL;
    int r = section_config_parse(in, len, flags, &c, &line, &msg);
    if (r != expected_r)
        fail_msg(
            "expected %d, got %d (line %u: %s) for input '%.*s'", expected_r, r, line,
            msg ? msg : "(null)", (int) MIN(len, 80), in
        );
    assert_null(c);
    assert_int_equal(line, expected_line);
    assert_non_null(msg);
    if (expected_msg)
        assert_string_equal(msg, expected_msg);
}

#define CHECK_ERROR(in, r, line, msg) check_error(in, strlen(in), 0, r, line, msg)

static void test_malformed(void **state) {
    (void) state;
    CHECK_ERROR(
        "\tpath /var/lib/vz\n", -EINVAL, 1,
        "property line 'path /var/lib/vz' outside of a section (a blank line ends a section)"
    );
    CHECK_ERROR(
        "dir: local\n\tpath /x\n\n\tcontent iso\n", -EINVAL, 4,
        "property line 'content iso' outside of a section (a blank line ends a section)"
    );
    CHECK_ERROR(
        "dir: local\n\tpath /x\n\nthis is not a header\n", -EINVAL, 4,
        "malformed line 'this is not a header': expected a section header '<type>: <id>'"
    );
    CHECK_ERROR("dir local\n", -EINVAL, 1, NULL);
    CHECK_ERROR("d ir: local\n", -EINVAL, 1, "invalid section type 'd ir'");
    CHECK_ERROR(": local\n", -EINVAL, 1, "invalid section type ''");
    CHECK_ERROR("9dir: local\n", -EINVAL, 1, "invalid section type '9dir'");
    CHECK_ERROR("dir:\n", -EINVAL, 1, "missing id after section type 'dir'");
    CHECK_ERROR("dir:   \t\n", -EINVAL, 1, "missing id after section type 'dir'");
    CHECK_ERROR("dir: local extra\n", -EINVAL, 1, "unexpected 'extra' after section id in header");
    CHECK_ERROR("dir: lo/cal\n", -EINVAL, 1, "invalid section id 'lo/cal'");
    CHECK_ERROR("dir: -local\n", -EINVAL, 1, "invalid section id '-local'");
    CHECK_ERROR("dir: caf\xc3\xa9\n", -EINVAL, 1, "invalid section id 'caf\\xc3\\xa9'");
    CHECK_ERROR("dir: local\n\tpa$th /x\n", -EINVAL, 2, "invalid property key 'pa$th'");
    CHECK_ERROR("dir: local\n\t-path /x\n", -EINVAL, 2, "invalid property key '-path'");
    CHECK_ERROR(
        "dir: local\n\tpath /x\n\tcomment a\x01z\n", -EINVAL, 3,
        "control character in value of 'comment'"
    );
    CHECK_ERROR(
        "dir: local\n\tpath /a\n\tcontent iso\n\tpath /b\n", -EEXIST, 4,
        "duplicate key 'path' in section 'local'"
    );
    /* Ids are unique across types unless SECTION_CONFIG_ID_PER_TYPE. */
    CHECK_ERROR(
        "dir: local\n\tpath /a\n\nnfs: other\n\nlvm: local\n\nzfs: other\n", -EEXIST, 6,
        "duplicate section id 'local' (first defined on line 1)"
    );
    CHECK_ERROR(
        "vm: 100\n\nvm: 101\n\nct: 102\n\nvm: 101\n\nct: 101\n", -EEXIST, 7,
        "duplicate section id '101' (first defined on line 3)"
    );
    check_error(
        "vm: 100\n\nct: 100\n\nvm: 100\n", 26, SECTION_CONFIG_ID_PER_TYPE, -EEXIST, 5,
        "duplicate section id '100' (first defined on line 1)"
    );
    {
        _cleanup_(section_config_freep) SectionConfig *c = NULL;
        const char *t = "vm: 100\n\nct: 100\n";
        assert_int_equal(
            section_config_parse(t, strlen(t), SECTION_CONFIG_ID_PER_TYPE, &c, NULL, NULL), 0
        );
        assert_int_equal(c->n_sections, 2);
    }
    /* An unprintable byte is escaped in the message; quotes are too. */
    CHECK_ERROR("dir: lo'cal\n", -EINVAL, 1, "invalid section id 'lo\\x27cal'");

    /* NUL byte: the line is named. */
    static const char nul[] = "dir: local\n\tpath /x\n\tcontent i\0so\n";
    check_error(nul, sizeof nul - 1, 0, -EINVAL, 3, "NUL byte in input");
}

static void test_caps(void **state) {
    (void) state;
    /* Line too long. */
    size_t n = SECTION_CONFIG_MAX_LINE + 20;
    _cleanup_free_ char *big = malloc(n + 1);
    assert_non_null(big);
    memcpy(big, "dir: local\n\tcomment ", 20);
    memset(big + 20, 'x', n - 20);
    big[n] = '\0';
    check_error(big, n, 0, -E2BIG, 2, "line too long (65544 bytes, maximum 65535)");
}

static void test_caps_sizes(void **state) {
    (void) state;
    /* Too large input is refused before looking at it. */
    size_t n = SECTION_CONFIG_MAX_SIZE + 1;
    _cleanup_free_ char *big = malloc(n);
    assert_non_null(big);
    memset(big, '\n', n);
    check_error(big, n, 0, -E2BIG, 0, "input too large (1048577 bytes, maximum 1048576)");

    /* Too many properties in one section. */
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    strbuf_append(&b, "dir: local\n");
    for (unsigned i = 0; i <= SECTION_CONFIG_MAX_PROPERTIES; i++)
        strbuf_printf(&b, "\tk%u v\n", i);
    check_error(
        b.data, b.len, 0, -E2BIG, SECTION_CONFIG_MAX_PROPERTIES + 2,
        "too many properties in section 'local' (maximum 1024)"
    );

    /* Too many sections. */
    strbuf_truncate(&b, 0);
    for (unsigned i = 0; i <= SECTION_CONFIG_MAX_SECTIONS; i++)
        strbuf_printf(&b, "vm: %u\n", i);
    check_error(
        b.data, b.len, 0, -E2BIG, SECTION_CONFIG_MAX_SECTIONS + 1,
        "too many sections (maximum 65536)"
    );

    /* Exactly at the caps is fine, and many sections parse quickly. */
    strbuf_truncate(&b, 0);
    for (unsigned i = 0; i < SECTION_CONFIG_MAX_SECTIONS; i++)
        strbuf_printf(&b, "vm: %u\n\n", i);
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    assert_int_equal(section_config_parse(b.data, b.len, 0, &c, NULL, NULL), 0);
    assert_int_equal(c->n_sections, SECTION_CONFIG_MAX_SECTIONS);
    _cleanup_free_ char *out = NULL;
    assert_int_equal(section_config_print(c, &out), 0);
    assert_string_equal(out, b.data);
}

static void test_editing(void **state) {
    (void) state;
    const char *text =
        "dir: local\n"
        "\tpath /var/lib/vz\n"
        "\tcontent iso,vztmpl,backup\n"
        "\n"
        "lvmthin: local-lvm\n"
        "\tthinpool data\n"
        "\tvgname pve\n"
        "\tcontent rootdir,images\n"
        "\n";
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    assert_int_equal(section_config_parse(text, strlen(text), 0, &c, NULL, NULL), 0);

    /* Replace in place, append new keys, add a flag. */
    SectionConfigSection *s = section_config_find(c, "dir", "local");
    assert_int_equal(section_config_set(s, "content", "iso,vztmpl,backup,snippets"), 0);
    assert_int_equal(section_config_set(s, "prune-backups", "keep-all=1"), 0);
    assert_int_equal(section_config_set(s, "disable", ""), 0);
    assert_int_equal(section_config_unset(s, "path"), 1);
    assert_int_equal(section_config_unset(s, "path"), 0);
    assert_int_equal(section_config_set(s, "path", "/srv/vz"), 0);

    /* Invalid input is refused without changing anything. */
    assert_int_equal(section_config_set(s, "comment", "two\nlines"), -EINVAL);
    assert_int_equal(section_config_set(s, "comment", " padded"), -EINVAL);
    assert_int_equal(section_config_set(s, "comment", "padded "), -EINVAL);
    assert_int_equal(section_config_set(s, "bad key", "x"), -EINVAL);
    assert_int_equal(section_config_set(s, "", "x"), -EINVAL);
    assert_null(section_config_get(s, "comment"));

    /* Sections: add at the end, refuse duplicates and bad names, remove. */
    SectionConfigSection *n = NULL;
    assert_int_equal(section_config_add(c, "nfs", "local", &n), -EEXIST);
    assert_int_equal(section_config_add(c, "nfs", "bad id", &n), -EINVAL);
    assert_int_equal(section_config_add(c, "n fs", "ok", &n), -EINVAL);
    assert_null(n);
    assert_int_equal(section_config_add(c, "nfs", "nas", &n), 0);
    assert_non_null(n);
    assert_int_equal(n->line, 0);
    assert_int_equal(section_config_set(n, "server", "10.0.0.5"), 0);
    assert_int_equal(section_config_set(n, "export", "/export/pve"), 0);
    assert_int_equal(section_config_set(n, "comment", "NAS with spaces \t inside"), 0);
    assert_int_equal(section_config_remove(c, "dir", "local-lvm"), -ENOENT);
    assert_int_equal(section_config_remove(c, NULL, "local-lvm"), 0);
    assert_int_equal(section_config_remove(c, NULL, "local-lvm"), -ENOENT);
    assert_int_equal(section_config_add(c, "lvmthin", "local-lvm", NULL), 0);

    _cleanup_free_ char *out = NULL;
    assert_int_equal(section_config_print(c, &out), 0);
    assert_string_equal(
        out,
        "dir: local\n"
        "\tcontent iso,vztmpl,backup,snippets\n"
        "\tprune-backups keep-all=1\n"
        "\tdisable\n"
        "\tpath /srv/vz\n"
        "\n"
        "nfs: nas\n"
        "\tserver 10.0.0.5\n"
        "\texport /export/pve\n"
        "\tcomment NAS with spaces \t inside\n"
        "\n"
        "lvmthin: local-lvm\n"
        "\n"
    );

    /* The printed text parses back to the same text. */
    _cleanup_free_ char *again = reprint(out, strlen(out), 0);
    assert_string_equal(again, out);
}

static void test_duplicate_key_editing(void **state) {
    (void) state;
    _cleanup_(section_config_freep) SectionConfig *c =
        section_config_new(SECTION_CONFIG_ALLOW_DUPLICATE_KEYS | SECTION_CONFIG_ID_PER_TYPE);
    assert_non_null(c);
    SectionConfigSection *s = NULL;
    assert_int_equal(section_config_add(c, "matcher", "m1", &s), 0);
    assert_int_equal(section_config_add(c, "sendmail", "m1", NULL), 0);
    assert_int_equal(section_config_add(c, "matcher", "m1", NULL), -EEXIST);
    assert_int_equal(section_config_append(s, "match-field", "exact:type=vzdump"), 0);
    assert_int_equal(section_config_append(s, "mode", "all"), 0);
    assert_int_equal(section_config_append(s, "match-field", "exact:hostname=pve1"), 0);
    assert_int_equal(section_config_append(s, "match-field", "exact:hostname=pve2"), 0);
    assert_int_equal(s->n_properties, 4);

    /* set() collapses the list into one value at the first position. */
    assert_int_equal(section_config_set(s, "match-field", "exact:type=replication"), 0);
    assert_int_equal(s->n_properties, 2);
    assert_string_equal(s->properties[0].value, "exact:type=replication");
    assert_string_equal(s->properties[1].key, "mode");

    assert_int_equal(section_config_append(s, "match-field", "a"), 0);
    assert_int_equal(section_config_append(s, "match-field", "b"), 0);
    assert_int_equal(section_config_unset(s, "match-field"), 3);
    assert_int_equal(s->n_properties, 1);

    _cleanup_free_ char *out = NULL;
    assert_int_equal(section_config_print(c, &out), 0);
    assert_string_equal(out, "matcher: m1\n\tmode all\n\nsendmail: m1\n\n");
}

static void test_validators(void **state) {
    (void) state;
    assert_true(section_config_type_is_valid("lvmthin"));
    assert_true(section_config_type_is_valid("node-affinity"));
    assert_false(section_config_type_is_valid(""));
    assert_false(section_config_type_is_valid("1vm"));
    assert_false(section_config_type_is_valid("a:b"));
    assert_false(section_config_type_is_valid(NULL));
    assert_true(section_config_id_is_valid("100"));
    assert_true(section_config_id_is_valid("zone1-fd00::-64"));
    assert_true(section_config_id_is_valid("backup-4d1c2f8a-9b3e"));
    assert_true(section_config_id_is_valid("EXAMPLE.AD"));
    assert_false(section_config_id_is_valid(".hidden"));
    assert_false(section_config_id_is_valid("a b"));
    assert_false(section_config_id_is_valid("a/b"));
    char longid[SECTION_CONFIG_MAX_ID + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_false(section_config_id_is_valid(longid));
    longid[SECTION_CONFIG_MAX_ID] = '\0';
    assert_true(section_config_id_is_valid(longid));
    assert_true(section_config_key_is_valid("prune-backups"));
    assert_true(section_config_key_is_valid("is_mountpoint"));
    assert_false(section_config_key_is_valid("#x"));
    assert_true(section_config_value_is_valid(""));
    assert_true(section_config_value_is_valid("a\tb c"));
    assert_false(section_config_value_is_valid("a\rb"));
    assert_false(section_config_value_is_valid("a\x7f"));
    assert_false(section_config_value_is_valid("\ta"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_files),
        cmocka_unit_test(test_storage_model),
        cmocka_unit_test(test_notifications_duplicate_keys),
        cmocka_unit_test(test_non_canonical),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_caps_sizes),
        cmocka_unit_test(test_editing),
        cmocka_unit_test(test_duplicate_key_editing),
        cmocka_unit_test(test_validators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
