/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the storage.cfg model: defaults, normalisation, checks and the printer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "pve/storage-cfg.h"

#define LOCAL                                                                       \
    "dir: local\n\tpath /var/lib/vz\n\tcontent backup,images,iso,rootdir,snippets," \
    "vztmpl\n\tprune-backups keep-all=1\n\n"

static char *reprint(const char *text, char **ret_warnings) {
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    assert_int_equal(storage_cfg_parse(text, strlen(text), &c, ret_warnings, NULL, NULL), 0);
    char *out = NULL;
    assert_int_equal(storage_cfg_print(c, &out), 0);
    return out;
}

static void test_default_local(void **state) {
    (void) state;
    _cleanup_free_ char *empty = reprint("", NULL);
    assert_string_equal(empty, LOCAL);
    /* a local of another type or path is replaced, and the default goes first */
    _cleanup_free_ char *other =
        reprint("dir: a\n\tpath /a\n\ndir: local\n\tpath /srv\n\tcontent iso\n", NULL);
    assert_string_equal(other, LOCAL "dir: a\n\tpath /a\n\tcontent images,rootdir\n\n");
    /* an installer-written local is kept as it is (order of content preserved) */
    static const char inst[] =
        "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n"
        "lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n"
        "\tcontent rootdir,images\n\n";
    _cleanup_free_ char *kept = reprint(inst, NULL);
    assert_string_equal(kept, inst);
}

static void test_print_order(void **state) {
    (void) state;
    /* disable first, required sorted, then optional sorted; booleans 0/1; lists normalised */
    _cleanup_free_ char *warn = NULL;
    _cleanup_free_ char *out = reprint(
        "nfs: n\n\tserver 10.0.0.1\n\tcontent iso;images iso\n\tdisable\n\tpath /mnt/n\n"
        "\texport /e\n\toptions vers=3\n\tbogus 1\n\n"
        "dir: local\n\tpath /var/lib/vz\n\tshared yes\n\tnodes a\n",
        &warn
    );
    assert_string_equal(
        out,
        "nfs: n\n\tdisable\n\texport /e\n\tpath /mnt/n\n\tserver 10.0.0.1\n"
        "\tcontent iso,images\n\toptions vers=3\n\n"
        "dir: local\n\tpath /var/lib/vz\n\tcontent images,rootdir\n\n"
    );
    assert_non_null(warn);
    assert_non_null(strstr(warn, "'bogus'"));
}

static void test_drop_invalid(void **state) {
    (void) state;
    _cleanup_free_ char *warn = NULL;
    _cleanup_free_ char *out = reprint(
        "tape: t1\n\tpath /x\n\n"      /* unknown type */
        "lvm: v\n\tcontent images\n\n" /* missing vgname */
        "zfspool: z\n\tpool p\n\tsparse maybe\n\tcontent iso\n\n",
        &warn
    );
    assert_string_equal(out, LOCAL "zfspool: z\n\tpool p\n\tcontent images,rootdir\n\n");
    assert_non_null(strstr(warn, "unknown type 'tape'"));
    assert_non_null(strstr(warn, "required option 'vgname'"));
    assert_non_null(strstr(warn, "does not support content type 'iso'"));
}

static void test_check_value(void **state) {
    (void) state;
    const StorageType *dir = storage_type_find("dir"), *lvm = storage_type_find("lvm");
    assert_non_null(dir);
    assert_null(storage_type_find("tape"));
    char *v = NULL, *err = NULL;
    assert_int_equal(storage_cfg_check_value(dir, "shared", "", true, &v, &err), 0);
    assert_string_equal(v, "1");
    free(v);
    assert_int_equal(storage_cfg_check_value(dir, "content", "iso,,iso backup", true, &v, &err), 0);
    assert_string_equal(v, "iso,backup");
    free(v);
    assert_int_equal(storage_cfg_check_value(dir, "export", "/e", true, &v, &err), -EINVAL);
    assert_string_equal(err, "unexpected property 'export'");
    free(err);
    assert_int_equal(storage_cfg_check_value(dir, "path", "/p", false, &v, &err), -EINVAL);
    assert_string_equal(err, "can't change value of fixed parameter 'path'");
    free(err);
    assert_int_equal(storage_cfg_check_value(dir, "content", "none,iso", true, &v, &err), -EINVAL);
    assert_string_equal(err, "unable to combine 'none' with other content types");
    free(err);
    assert_int_equal(storage_cfg_check_value(lvm, "format", "qcow2", true, &v, &err), -EINVAL);
    free(err);
    assert_int_equal(storage_cfg_check_value(dir, "path", "relative", true, &v, &err), -EINVAL);
    free(err);
    assert_int_equal(
        storage_cfg_check_value(dir, "max-protected-backups", "-2", true, &v, &err), -EINVAL
    );
    free(err);
    assert_int_equal(storage_cfg_check_value(dir, "path", "/a\nb", true, &v, &err), -EINVAL);
    free(err);
}

static void test_questions(void **state) {
    (void) state;
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    static const char text[] =
        "dir: d\n\tpath /d\n\tnodes n1,n2\n\tcontent-dirs iso=isos\n\n"
        "nfs: n\n\tpath /n\n\tserver s\n\texport /e\n\tdisable 1\n";
    assert_int_equal(storage_cfg_parse(text, strlen(text), &c, NULL, NULL, NULL), 0);
    const SectionConfigSection *d = section_config_find(c, NULL, "d");
    const SectionConfigSection *n = section_config_find(c, NULL, "n");
    assert_true(storage_cfg_enabled_on(d, "n2"));
    assert_false(storage_cfg_enabled_on(d, "n3"));
    assert_false(storage_cfg_enabled_on(n, "n1"));
    assert_true(storage_cfg_available_on(n, "n1"));
    assert_true(storage_cfg_is_shared(n));
    assert_false(storage_cfg_is_shared(d));
    assert_true(storage_cfg_has_content(d, "rootdir"));
    assert_false(storage_cfg_has_content(d, "iso"));
    _cleanup_free_ char *iso = NULL, *dump = NULL, *tmpl = NULL;
    assert_int_equal(storage_cfg_content_dir(d, "iso", &iso), 0);
    assert_string_equal(iso, "/d/isos");
    assert_int_equal(storage_cfg_content_dir(d, "backup", &dump), 0);
    assert_string_equal(dump, "/d/dump");
    assert_int_equal(storage_cfg_content_dir(d, "vztmpl", &tmpl), 0);
    assert_string_equal(tmpl, "/d/template/cache");
    assert_true(storage_list_contains("a,b;c d", "c"));
    assert_false(storage_list_contains("abc", "b"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_local), cmocka_unit_test(test_print_order),
        cmocka_unit_test(test_drop_invalid),  cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_questions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
