/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for storage-volume: volid split, volname parse of every content kind and refused
 * names, disk size strings, and allocation/free/listing/resolve on a dir storage in a temporary
 * directory with the real qemu-img (skipped when it is not installed).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "pve/section-config.h"
#include "pve/spawn.h"
#include "pve/storage-cfg.h"
#include "pve/storage-volume.h"
#include "pve/string-util.h"
#include "test-util.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static SectionConfig *cfg_of(const char *text) {
    SectionConfig *c = NULL;
    unsigned line;
    char *msg = NULL, *warn = NULL;
    assert_int_equal(storage_cfg_parse(text, strlen(text), &c, &warn, &line, &msg), 0);
    free(msg);
    free(warn);
    return c;
}

static const SectionConfigSection *section(SectionConfig *c, const char *id) {
    const SectionConfigSection *s = NULL;
    assert_int_equal(storage_find(c, id, &s, NULL), 0);
    return s;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static bool exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ---- volid split ----------------------------------------------------------------------------- */

static void test_volid_split(void **state) {
    (void) state;
    char *sid = NULL;
    const char *vn = NULL;
    assert_int_equal(storage_volid_split("local:100/vm-100-disk-0.qcow2", &sid, &vn), 0);
    assert_string_equal(sid, "local");
    assert_string_equal(vn, "100/vm-100-disk-0.qcow2");
    free(sid);
    assert_int_equal(storage_volid_split("my.store-1:iso/a.iso", &sid, &vn), 0);
    assert_string_equal(sid, "my.store-1");
    assert_string_equal(vn, "iso/a.iso");
    free(sid);
    assert_int_equal(storage_volid_split("a:b:c", &sid, &vn), -EINVAL); /* "a" is too short */
    assert_int_equal(storage_volid_split("ab:c:d", &sid, &vn), 0);
    assert_string_equal(vn, "c:d");
    free(sid);
    static const char *const bad[] = {
        "local", "local:", ":x",     "1local:x",   "lo cal:x", "local-:x",
        "-lo:x", "a:x",    "lo/c:x", "local:a\nb", "",
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        assert_int_equal(storage_volid_split(bad[i], &sid, &vn), -EINVAL);
    assert_int_equal(storage_volid_split(NULL, &sid, &vn), -EINVAL);
}

/* ---- volname parse --------------------------------------------------------------------------- */

static const char cfg_text[] =
    "dir: st\n\tpath /srv/st\n\tcontent images,iso,vztmpl,backup\n\n"
    "lvm: vg\n\tvgname pve\n\tcontent images\n";

typedef struct ParseCase {
    const char *volname, *content, *name, *path, *format;
    uint32_t vmid;
    bool base;
} ParseCase;

static void test_parse_kinds(void **state) {
    (void) state;
    _cleanup_(section_config_freep) SectionConfig *c = cfg_of(cfg_text);
    const SectionConfigSection *s = section(c, "st");
    static const ParseCase cases[] = {
        {"100/vm-100-disk-0.qcow2", "images", "vm-100-disk-0.qcow2",
         "/srv/st/images/100/vm-100-disk-0.qcow2", "qcow2", 100, false},
        {"100/vm-100-disk-1.raw", "images", "vm-100-disk-1.raw",
         "/srv/st/images/100/vm-100-disk-1.raw", "raw", 100, false},
        {"100/vm-100-data.vmdk", "images", "vm-100-data.vmdk",
         "/srv/st/images/100/vm-100-data.vmdk", "vmdk", 100, false},
        {"101/subvol-101-disk-0.subvol", "images", "subvol-101-disk-0.subvol",
         "/srv/st/images/101/subvol-101-disk-0.subvol", "subvol", 101, false},
        {"102/base-102-disk-0.qcow2", "images", "base-102-disk-0.qcow2",
         "/srv/st/images/102/base-102-disk-0.qcow2", "qcow2", 102, true},
        {"iso/debian.iso", "iso", "debian.iso", "/srv/st/template/iso/debian.iso", "raw", 0, false},
        {"iso/floppy.IMG", "iso", "floppy.IMG", "/srv/st/template/iso/floppy.IMG", "raw", 0, false},
        {"vztmpl/alpine.tar.xz", "vztmpl", "alpine.tar.xz", "/srv/st/template/cache/alpine.tar.xz",
         "raw", 0, false},
        {"backup/vzdump-qemu-100-2024_01_02-03_04_05.vma.zst", "backup",
         "vzdump-qemu-100-2024_01_02-03_04_05.vma.zst",
         "/srv/st/dump/vzdump-qemu-100-2024_01_02-03_04_05.vma.zst", "raw", 100, false},
        {"backup/vzdump-lxc-200-x.tar.gz", "backup", "vzdump-lxc-200-x.tar.gz",
         "/srv/st/dump/vzdump-lxc-200-x.tar.gz", "raw", 200, false},
        {"backup/other.tgz", "backup", "other.tgz", "/srv/st/dump/other.tgz", "raw", 0, false},
        {"snippets/hook.pl", "snippets", "hook.pl", "/srv/st/snippets/hook.pl", "raw", 0, false},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        const ParseCase *k = &cases[i];
        _cleanup_(storage_volume_done) StorageVolume v = {};
        char *err = NULL;
        assert_int_equal(storage_volume_parse(s, k->volname, &v, &err), 0);
        assert_null(err);
        char volid[512];
        snprintf(volid, sizeof volid, "st:%s", k->volname);
        assert_string_equal(v.volid, volid);
        assert_string_equal(v.storage, "st");
        assert_string_equal(v.content, k->content);
        assert_string_equal(v.name, k->name);
        assert_string_equal(v.path, k->path);
        assert_string_equal(v.format, k->format);
        assert_int_equal(v.vmid, k->vmid);
        assert_int_equal(v.is_base, k->base);
    }
}

static void test_parse_bad(void **state) {
    (void) state;
    _cleanup_(section_config_freep) SectionConfig *c = cfg_of(cfg_text);
    const SectionConfigSection *s = section(c, "st");
    static const struct {
        const char *volname, *err;
    } bad[] = {
        {"100/foo.raw", "unable to parse volume filename 'foo.raw'"},
        {"100/vm-100-disk-0.txt", "unable to parse volume filename 'vm-100-disk-0.txt'"},
        {"100/vm-100-disk 0.raw", "unable to parse volume filename 'vm-100-disk 0.raw'"},
        {"100/vm-x-disk-0.raw", "unable to parse volume filename 'vm-x-disk-0.raw'"},
        {"99999999999/vm-1-disk-0.raw",
         "unable to parse directory volume name "
         "'99999999999/vm-1-disk-0.raw'"},
        {"100/a/vm-100-disk-0.raw",
         "unable to parse directory volume name "
         "'100/a/vm-100-disk-0.raw'"},
        {"iso/x.txt", "unable to parse directory volume name 'iso/x.txt'"},
        {"iso/.iso", "unable to parse directory volume name 'iso/.iso'"},
        {"iso/../x.iso", "unable to parse directory volume name 'iso/../x.iso'"},
        {"vztmpl/a.tar", "unable to parse directory volume name 'vztmpl/a.tar'"},
        {"backup/a.zip", "unable to parse directory volume name 'backup/a.zip'"},
        {"snippets/..", "unable to parse directory volume name 'snippets/..'"},
        {"snippets/.", "unable to parse directory volume name 'snippets/.'"},
        {"snippets/", "unable to parse directory volume name 'snippets/'"},
        {"snippets/a/b", "unable to parse directory volume name 'snippets/a/b'"},
        {"images/x.raw", "unable to parse directory volume name 'images/x.raw'"},
        {"/etc/passwd", "unable to parse directory volume name '/etc/passwd'"},
        {"", "unable to parse directory volume name ''"},
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        StorageVolume v = {};
        _cleanup_free_ char *err = NULL;
        assert_int_equal(storage_volume_parse(s, bad[i].volname, &v, &err), -EINVAL);
        assert_string_equal(err, bad[i].err);
        assert_null(v.path);
    }
    /* a storage without a path has no files */
    StorageVolume v = {};
    _cleanup_free_ char *err = NULL;
    assert_int_equal(storage_volume_parse(section(c, "vg"), "iso/a.iso", &v, &err), -EINVAL);
    assert_string_equal(err, "storage definition has no path");
}

/* ---- sizes ----------------------------------------------------------------------------------- */

static void test_parse_size(void **state) {
    (void) state;
    static const struct {
        const char *s;
        char unit;
        uint64_t bytes;
    } ok[] = {
        {"8", 'G', 8ull << 30},
        {"8", 0, 8},
        {"8", 'B', 8},
        {"512M", 'G', 512ull << 20},
        {"4096K", 'G', 4096ull << 10},
        {"2048", 'K', 2048ull << 10},
        {"1.5G", 0, 3ull << 29},
        {"0.5K", 0, 512},
        {"1.1", 0, 1},
        {"1.0001K", 0, 1024},
        {"2T", 0, 2ull << 40},
        {"0", 'G', 0},
        {"16777215T", 0, 16777215ull << 40},
        {"18446744073709551615", 0, UINT64_MAX},
    };
    for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
        uint64_t b = 1234;
        assert_int_equal(storage_parse_size(ok[i].s, ok[i].unit, &b), 0);
        assert_true(b == ok[i].bytes);
    }
    static const char *const bad[] = {"",     "G",  "-1",  "1.",  ".5",  "1,5G",
                                      "1G ",  " 1", "1GB", "1g",  "1P",  "1.5.5",
                                      "0x10", "1B", "1e3", "1KK", "1 G", NULL};
    for (size_t i = 0; bad[i]; i++) {
        uint64_t b = 1234;
        assert_int_equal(storage_parse_size(bad[i], 'G', &b), -EINVAL);
        assert_true(b == 1234);
    }
    uint64_t b;
    assert_int_equal(storage_parse_size(NULL, 0, &b), -EINVAL);
    assert_int_equal(storage_parse_size("8", 'X', &b), -EINVAL);
    assert_int_equal(storage_parse_size("18446744073709551616", 0, &b), -ERANGE);
    assert_int_equal(storage_parse_size("16777216T", 0, &b), -ERANGE);
    assert_int_equal(storage_parse_size("16777215.99999T", 0, &b), 0);
}

/* ---- allocation on a real directory ---------------------------------------------------------- */

typedef struct Fixture {
    char dir[64];
    SectionConfig *c;
    const SectionConfigSection *s;
} Fixture;

static int setup_store(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/test-storage-volume.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char cfg[512];
    snprintf(
        cfg, sizeof cfg, "dir: utst%d\n\tpath %s/st\n\tcontent images,rootdir,iso,backup\n",
        (int) getpid(), f->dir
    );
    f->c = cfg_of(cfg);
    f->s = f->c->sections[1]; /* after the implicit local */
    *state = f;
    return 0;
}

static int rm_tree_cmd(const char *dir) {
    const char *argv[] = {"rm", "-rf", "--one-file-system", dir, NULL};
    int status = 0;
    return spawn_run(argv, &status) < 0 ? -1 : status;
}

static int teardown_store(void **state) {
    Fixture *f = *state;
    char lock[256];
    snprintf(lock, sizeof lock, "/run/lock/pve-manager/pve-storage-%s", f->s->id);
    (void) unlink(lock);
    section_config_free(f->c);
    (void) rm_tree_cmd(f->dir);
    free(f);
    return 0;
}

static char *img_path(Fixture *f, const char *rel) {
    char *p;
    assert_true(asprintf(&p, "%s/st/images/%s", f->dir, rel) >= 0);
    return p;
}

static void test_alloc_free(void **state) {
    Fixture *f = *state;
    if (!test_have_qemu_img())
        skip();
    char *volid = NULL, *err = NULL;
    /* next free names, default format of dir = raw */
    assert_int_equal(storage_volume_alloc(f->s, 100, "qcow2", NULL, 1ull << 30, &volid, &err), 0);
    char want[128];
    snprintf(want, sizeof want, "%s:100/vm-100-disk-0.qcow2", f->s->id);
    assert_string_equal(volid, want);
    free(volid);
    assert_int_equal(storage_volume_alloc(f->s, 100, NULL, NULL, 1000, &volid, &err), 0);
    snprintf(want, sizeof want, "%s:100/vm-100-disk-1.raw", f->s->id);
    assert_string_equal(volid, want);
    free(volid);
    assert_int_equal(storage_volume_alloc(f->s, 100, "subvol", NULL, 8ull << 30, &volid, &err), 0);
    snprintf(want, sizeof want, "%s:100/subvol-100-disk-2.subvol", f->s->id);
    assert_string_equal(volid, want);
    free(volid);
    assert_int_equal(
        storage_volume_alloc(f->s, 100, "vmdk", "vm-100-data.vmdk", 1 << 20, &volid, &err), 0
    );
    free(volid);

    /* sizes on disk: qcow2 header, raw rounded up to whole KiB */
    _cleanup_free_ char *q = img_path(f, "100/vm-100-disk-0.qcow2"),
                        *r = img_path(f, "100/vm-100-disk-1.raw"),
                        *sv = img_path(f, "100/subvol-100-disk-2.subvol");
    StorageVolumeInfo info;
    assert_int_equal(storage_volume_info(q, "qcow2", &info), 0);
    assert_true(info.size == 1ull << 30);
    assert_null(info.parent);
    storage_volume_info_done(&info);
    assert_int_equal(storage_volume_info(r, "raw", &info), 0);
    assert_true(info.size == 1024);
    struct stat st;
    assert_int_equal(stat(q, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(stat(sv, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    /* refused requests leave nothing behind */
    assert_int_equal(
        storage_volume_alloc(f->s, 100, "qcow2", "vm-100-disk-0.qcow2", 1 << 20, &volid, &err),
        -EEXIST
    );
    snprintf(want, sizeof want, "disk image '%s' already exists", q);
    assert_string_equal(err, want);
    free(err);
    assert_int_equal(
        storage_volume_alloc(f->s, 100, "raw", "vm-101-disk-0.raw", 1 << 20, &volid, &err), -EINVAL
    );
    assert_string_equal(err, "illegal name 'vm-101-disk-0.raw' - should be 'vm-100-*'");
    free(err);
    assert_int_equal(
        storage_volume_alloc(f->s, 100, "raw", "vm-100-disk-5.qcow2", 1 << 20, &volid, &err),
        -EINVAL
    );
    assert_string_equal(
        err, "illegal name 'vm-100-disk-5.qcow2' - wrong extension for format ('qcow2 != 'raw')"
    );
    free(err);
    assert_int_equal(
        storage_volume_alloc(f->s, 100, "raw", "vm-100-x/../../y.raw", 1 << 20, &volid, &err),
        -EINVAL
    );
    free(err);
    assert_int_equal(
        storage_volume_alloc(f->s, 100, "qcow3", NULL, 1 << 20, &volid, &err), -EINVAL
    );
    free(err);
    assert_int_equal(storage_volume_alloc(f->s, 0, "raw", NULL, 1 << 20, &volid, &err), -EINVAL);
    assert_string_equal(err, "no VMID specified");
    free(err);
    assert_int_equal(
        storage_volume_alloc(f->s, 100, "qcow2", NULL, 1ull << 62, &volid, &err), -EIO
    );
    assert_non_null(startswith(err, "unable to create image: qemu-img: "));
    free(err);
    _cleanup_free_ char *d3 = img_path(f, "100/vm-100-disk-3.qcow2");
    assert_false(exists(d3));

    /* qemu-img missing: a clear error, no file, no empty vmid dir */
    _cleanup_free_ char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", f->dir, 1);
    assert_int_equal(storage_volume_alloc(f->s, 300, "raw", NULL, 1 << 20, &volid, &err), -ENOENT);
    setenv("PATH", path, 1);
    assert_string_equal(
        err, "unable to create image: cannot run qemu-img: No such file or directory"
    );
    free(err);
    _cleanup_free_ char *d300 = img_path(f, "300");
    assert_false(exists(d300));

    /* the guest's volumes, sorted; other guests and foreign names do not count */
    assert_int_equal(storage_volume_alloc(f->s, 200, "raw", NULL, 1 << 20, &volid, &err), 0);
    free(volid);
    _cleanup_free_ char *foreign = img_path(f, "100/vm-999-disk-0.raw");
    write_file(foreign, "x");
    char **vols = NULL;
    assert_int_equal(storage_vmid_volumes(f->s, 100, &vols), 0);
    const char *expect[] = {
        "100/subvol-100-disk-2.subvol", "100/vm-100-data.vmdk", "100/vm-100-disk-0.qcow2",
        "100/vm-100-disk-1.raw"};
    for (size_t i = 0; i < ELEMENTSOF(expect); i++) {
        assert_non_null(vols[i]);
        snprintf(want, sizeof want, "%s:%s", f->s->id, expect[i]);
        assert_string_equal(vols[i], want);
    }
    assert_null(vols[ELEMENTSOF(expect)]);
    strv_free(vols);
    StorageImage *imgs;
    size_t n;
    assert_int_equal(storage_list_images(f->s, 0, &imgs, &n), 0);
    assert_int_equal(n, 6); /* all files with image extensions, the foreign one included */
    storage_images_free(imgs, n);
    (void) unlink(foreign);

    /* free: file, subvol tree, protected, missing, the emptied vmid dir */
    _cleanup_free_ char *inner = NULL;
    assert_true(asprintf(&inner, "%s/etc", sv) >= 0);
    assert_int_equal(mkdir(inner, 0755), 0);
    _cleanup_free_ char *link = NULL;
    assert_true(asprintf(&link, "%s/hostname", inner) >= 0);
    assert_int_equal(symlink(f->dir, link), 0); /* not followed */
    assert_int_equal(storage_volume_free(f->s, "100/subvol-100-disk-2.subvol", &err), 0);
    assert_false(exists(sv));
    assert_true(exists(f->dir));
    _cleanup_free_ char *prot = NULL;
    assert_true(asprintf(&prot, "%s.protected", q) >= 0);
    write_file(prot, "");
    assert_int_equal(storage_volume_free(f->s, "100/vm-100-disk-0.qcow2", &err), -EPERM);
    snprintf(
        want, sizeof want, "cannot remove protected volume 'vm-100-disk-0.qcow2' on '%s'", f->s->id
    );
    assert_string_equal(err, want);
    free(err);
    assert_true(exists(q));
    (void) unlink(prot);
    assert_int_equal(storage_volume_free(f->s, "100/vm-100-disk-0.qcow2", &err), 0);
    assert_int_equal(storage_volume_free(f->s, "100/vm-100-disk-0.qcow2", &err), -ENOENT);
    snprintf(want, sizeof want, "disk image '%s' does not exist", q);
    assert_string_equal(err, want);
    free(err);
    assert_int_equal(storage_volume_free(f->s, "100/../etc.raw", &err), -EINVAL);
    free(err);
    assert_int_equal(storage_volume_free(f->s, "100/vm-100-disk-1.raw", &err), 0);
    _cleanup_free_ char *d100 = img_path(f, "100");
    assert_true(exists(d100));
    assert_int_equal(storage_volume_free(f->s, "100/vm-100-data.vmdk", &err), 0);
    assert_false(exists(d100));

    /* numbering is per guest: vm 200 has disk-0 */
    assert_int_equal(storage_volume_alloc(f->s, 200, "raw", NULL, 1 << 20, &volid, &err), 0);
    snprintf(want, sizeof want, "%s:200/vm-200-disk-1.raw", f->s->id);
    assert_string_equal(volid, want);
    free(volid);
}

/* ---- resolve through storage.cfg on the cfs mount ---------------------------------------------
 */

static void test_resolve(void **state) {
    Fixture *f = *state;
    char cfgpath[128], text[512];
    snprintf(cfgpath, sizeof cfgpath, "%s/storage.cfg", f->dir);
    snprintf(
        text, sizeof text,
        "dir: st1\n\tpath %s/st\n\tcontent images\n\ndir: off\n\tpath %s/off\n\tdisable\n\n"
        "dir: elsewhere\n\tpath %s/x\n\tnodes no-such-node\n",
        f->dir, f->dir, f->dir
    );
    write_file(cfgpath, text);
    setenv("PVE_CFS_MOUNTPOINT", f->dir, 1);
    char *path = NULL, *fmt = NULL, *err = NULL, want[256];
    assert_int_equal(storage_volume_resolve("st1:100/vm-100-disk-0.qcow2", &path, &fmt, &err), 0);
    snprintf(want, sizeof want, "%s/st/images/100/vm-100-disk-0.qcow2", f->dir);
    assert_string_equal(path, want);
    assert_string_equal(fmt, "qcow2");
    free(path);
    free(fmt);
    /* the implicit local storage */
    assert_int_equal(storage_volume_resolve("local:iso/x.iso", &path, &fmt, &err), 0);
    assert_string_equal(path, "/var/lib/vz/template/iso/x.iso");
    assert_string_equal(fmt, "raw");
    free(path);
    free(fmt);
    assert_int_equal(storage_volume_resolve("/dev/sdb", &path, &fmt, &err), 0);
    assert_string_equal(path, "/dev/sdb");
    assert_string_equal(fmt, "raw");
    free(path);
    free(fmt);
    assert_int_equal(storage_volume_resolve("/srv/a.qcow2", &path, NULL, &err), 0);
    free(path);
    static const struct {
        const char *volid, *err;
        int r;
    } bad[] = {
        {"nope:100/vm-100-disk-0.raw", "storage 'nope' does not exist", -ENOENT},
        {"off:100/vm-100-disk-0.raw", "storage 'off' is disabled", -EACCES},
        {"st1:100/x.raw", "unable to parse volume filename 'x.raw'", -EINVAL},
        {"garbage", "unable to parse volume ID 'garbage'", -EINVAL},
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        assert_int_equal(storage_volume_resolve(bad[i].volid, &path, &fmt, &err), bad[i].r);
        assert_string_equal(err, bad[i].err);
        free(err);
    }
    assert_int_equal(storage_volume_resolve("elsewhere:iso/a.iso", &path, &fmt, &err), -EACCES);
    assert_non_null(startswith(err, "storage 'elsewhere' is not available on node '"));
    free(err);
    /* a broken storage.cfg */
    write_file(cfgpath, "dir st1\n");
    assert_int_equal(storage_volume_resolve("st1:iso/a.iso", &path, &fmt, &err), -EINVAL);
    assert_non_null(startswith(err, "storage.cfg line 1: "));
    free(err);
    unsetenv("PVE_CFS_MOUNTPOINT");
}

static void test_file_format(void **state) {
    (void) state;
    static const struct {
        const char *ct, *name, *fmt;
    } cases[] = {
        {"iso", "a.iso", "iso"},
        {"iso", "a.txt", NULL},
        {"vztmpl", "a.tar.zst", "tzst"},
        {"vztmpl", "a.tar", NULL},
        {"backup", "vzdump-qemu-1-x.vma.zst", "vma.zst"},
        {"backup", "x.tgz", "tgz"},
        {"backup", "x.zip", NULL},
        {"snippets", "anything", "snippet"},
        {"images", "vm-1-disk-0.raw", NULL},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        _cleanup_free_ char *fmt = NULL;
        assert_int_equal(storage_file_format(cases[i].ct, cases[i].name, &fmt), 0);
        if (cases[i].fmt)
            assert_string_equal(fmt, cases[i].fmt);
        else
            assert_null(fmt);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_volid_split),
        cmocka_unit_test(test_parse_kinds),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_file_format),
        cmocka_unit_test_setup_teardown(test_alloc_free, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_resolve, setup_store, teardown_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
