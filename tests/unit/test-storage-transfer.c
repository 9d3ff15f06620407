/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for storage-transfer (pvesm export/import streams) on two dir storages in a
 * temporary directory: the header byte order, the format of each kind of volume, raw and tar
 * round trips, refused formats, short and overlong streams (nothing left behind), name
 * collisions with and without rename, and rm_tree through volume free (symlinks not followed).
 * Import allocates with the real qemu-img; those tests skip when it is missing.
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

#include "pve/fileio.h"
#include "pve/section-config.h"
#include "pve/storage-cfg.h"
#include "pve/storage-transfer.h"
#include "pve/storage-volume.h"
#include "test-util.h"

typedef struct Fixture {
    char dir[64];
    SectionConfig *c;
    const SectionConfigSection *src, *dst;
} Fixture;

static int setup(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/test-storage-transfer.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char text[512];
    int pid = (int) getpid();
    snprintf(
        text, sizeof text,
        "dir: tsrc%d\n\tpath %s/src\n\tcontent images,rootdir,iso\n\n"
        "dir: tdst%d\n\tpath %s/dst\n\tcontent images,rootdir\n",
        pid, f->dir, pid, f->dir
    );
    unsigned line;
    char *msg = NULL, *warn = NULL;
    assert_int_equal(storage_cfg_parse(text, strlen(text), &f->c, &warn, &line, &msg), 0);
    free(msg);
    free(warn);
    f->src = f->c->sections[1]; /* after the implicit local */
    f->dst = f->c->sections[2];
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    for (const SectionConfigSection *s = f->src; s; s = s == f->src ? f->dst : NULL) {
        char lock[256];
        snprintf(lock, sizeof lock, "/run/lock/pve-manager/pve-storage-%s", s->id);
        (void) unlink(lock);
    }
    section_config_free(f->c);
    assert_int_equal(rm_tree(f->dir), 0);
    free(f);
    return 0;
}

static char *path_of(const Fixture *f, const char *store, const char *rel) {
    char *p;
    assert_true(asprintf(&p, "%s/%s/images/%s", f->dir, store, rel) >= 0);
    return p;
}

static void put_file(const char *path, const void *data, size_t len) {
    assert_int_equal(mkdir_parents(path, 0755), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write_all(fd, data, len), 0);
    close(fd);
}

static char *slurp(const char *path, size_t *len) {
    char *d = NULL;
    if (read_full_file(path, 1 << 24, &d, len) < 0)
        return NULL;
    return d;
}

/* a temp file holding header(size) + body */
static int stream_of(uint64_t size, const void *body, size_t len) {
    char name[] = "/tmp/test-storage-transfer-stream.XXXXXX";
    int fd = mkstemp(name);
    assert_true(fd >= 0);
    unlink(name);
    uint8_t h[STORAGE_TRANSFER_HEADER_SIZE];
    storage_transfer_header_encode(size, h);
    assert_int_equal(write_all(fd, h, sizeof h), 0);
    assert_int_equal(write_all(fd, body, len), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static void test_header(void **state) {
    (void) state;
    uint8_t h[STORAGE_TRANSFER_HEADER_SIZE];
    storage_transfer_header_encode(0x0102030405060708ull, h);
    static const uint8_t want[] = {8, 7, 6, 5, 4, 3, 2, 1}; /* little endian, as upstream's Q< */
    assert_memory_equal(h, want, sizeof want);
    assert_true(storage_transfer_header_decode(h) == 0x0102030405060708ull);
    storage_transfer_header_encode(UINT64_MAX, h);
    assert_true(storage_transfer_header_decode(h) == UINT64_MAX);
}

static void test_formats(void **state) {
    Fixture *f = *state;
    static const struct {
        const char *volname, *format;
    } cases[] = {
        {"100/vm-100-disk-0.raw", "raw+size"},
        {"100/vm-100-disk-0.qcow2", "qcow2+size"},
        {"100/vm-100-disk-0.vmdk", "vmdk+size"},
        {"100/subvol-100-disk-0.subvol", "tar+size"},
        {"iso/x.iso", NULL},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        StorageVolume v = {};
        assert_int_equal(storage_volume_parse(f->src, cases[i].volname, &v, NULL), 0);
        const char *fmt = storage_transfer_format(&v);
        if (cases[i].format)
            assert_string_equal(fmt, cases[i].format);
        else
            assert_null(fmt);
        storage_volume_done(&v);
    }
}

static void test_raw_round_trip(void **state) {
    Fixture *f = *state;
    if (!test_have_qemu_img())
        skip();
    char body[70000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char) (i * 7 + 3);
    _cleanup_free_ char *src = path_of(f, "src", "100/vm-100-disk-0.raw");
    put_file(src, body, sizeof body);

    char name[] = "/tmp/test-storage-transfer-export.XXXXXX";
    int fd = mkstemp(name);
    assert_true(fd >= 0);
    unlink(name);
    char *err = NULL;
    assert_int_equal(
        storage_volume_export(f->src, "100/vm-100-disk-0.raw", "raw+size", fd, &err), 0
    );
    assert_null(err);
    assert_int_equal(lseek(fd, 0, SEEK_END), (off_t) sizeof body + 8);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    char *volid = NULL;
    assert_int_equal(
        storage_volume_import(f->dst, "100/vm-100-disk-0.raw", "raw+size", fd, false, &volid, &err),
        0
    );
    close(fd);
    char want_volid[64];
    snprintf(want_volid, sizeof want_volid, "%s:100/vm-100-disk-0.raw", f->dst->id);
    assert_string_equal(volid, want_volid);
    free(volid);
    _cleanup_free_ char *dst = path_of(f, "dst", "100/vm-100-disk-0.raw");
    size_t len = 0;
    _cleanup_free_ char *got = slurp(dst, &len);
    assert_non_null(got);
    assert_int_equal(len, sizeof body);
    assert_memory_equal(got, body, sizeof body);

    /* the name is taken now: refused, or renamed on request */
    fd = stream_of(4, "abcd", 4);
    assert_int_equal(
        storage_volume_import(f->dst, "100/vm-100-disk-0.raw", "raw+size", fd, false, &volid, &err),
        -EEXIST
    );
    assert_non_null(strstr(err, "already exists"));
    free(err);
    err = NULL;
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(
        storage_volume_import(f->dst, "100/vm-100-disk-0.raw", "raw+size", fd, true, &volid, &err),
        0
    );
    close(fd);
    snprintf(want_volid, sizeof want_volid, "%s:100/vm-100-disk-1.raw", f->dst->id);
    assert_string_equal(volid, want_volid);
    free(volid);
}

static void test_bad_streams(void **state) {
    Fixture *f = *state;
    if (!test_have_qemu_img())
        skip();
    char *err = NULL, *volid = NULL;
    _cleanup_free_ char *dst = path_of(f, "dst", "101/vm-101-disk-0.raw");

    int fd = stream_of(4, "abcd", 4); /* format does not match the name */
    assert_int_equal(
        storage_volume_import(
            f->dst, "101/vm-101-disk-0.raw", "qcow2+size", fd, false, &volid, &err
        ),
        -EINVAL
    );
    assert_non_null(strstr(err, "qcow2+size"));
    free(err), err = NULL;
    close(fd);
    assert_false(access(dst, F_OK) == 0);

    fd = stream_of(1000, "short", 5); /* header promises more than comes */
    assert_int_equal(
        storage_volume_import(f->dst, "101/vm-101-disk-0.raw", "raw+size", fd, false, &volid, &err),
        -EIO
    );
    assert_non_null(strstr(err, "ended after 5 of 1000 bytes"));
    free(err), err = NULL;
    close(fd);
    assert_false(access(dst, F_OK) == 0);

    fd = stream_of(2, "toolong", 7); /* more than the header says */
    assert_int_equal(
        storage_volume_import(f->dst, "101/vm-101-disk-0.raw", "raw+size", fd, false, &volid, &err),
        -EINVAL
    );
    free(err), err = NULL;
    close(fd);
    assert_false(access(dst, F_OK) == 0);

    fd = stream_of(0, "", 0);
    assert_int_equal(ftruncate(fd, 3), 0); /* not even a header */
    assert_int_equal(
        storage_volume_import(f->dst, "101/vm-101-disk-0.raw", "raw+size", fd, false, &volid, &err),
        -EIO
    );
    free(err);
    close(fd);
    assert_null(volid);
}

static void test_tar_round_trip(void **state) {
    Fixture *f = *state;
    _cleanup_free_ char *src = path_of(f, "src", "200/subvol-200-disk-0.subvol");
    _cleanup_free_ char *file = NULL, *link = NULL, *outside = NULL;
    assert_true(asprintf(&file, "%s/etc/hostname", src) >= 0);
    assert_true(asprintf(&link, "%s/escape", src) >= 0);
    assert_true(asprintf(&outside, "%s/outside", f->dir) >= 0);
    put_file(file, "ct200\n", 6);
    assert_int_equal(mkdir(outside, 0755), 0);
    assert_int_equal(symlink(outside, link), 0);

    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    char *err = NULL, *volid = NULL;
    /* a small tree fits into the pipe buffer: export first, then import from the pipe */
    assert_int_equal(
        storage_volume_export(f->src, "200/subvol-200-disk-0.subvol", "tar+size", p[1], &err), 0
    );
    close(p[1]);
    assert_int_equal(
        storage_volume_import(
            f->dst, "200/subvol-200-disk-0.subvol", "tar+size", p[0], false, &volid, &err
        ),
        0
    );
    close(p[0]);
    free(volid);
    _cleanup_free_ char *dst = path_of(f, "dst", "200/subvol-200-disk-0.subvol/etc/hostname");
    size_t len = 0;
    _cleanup_free_ char *got = slurp(dst, &len);
    assert_non_null(got);
    assert_string_equal(got, "ct200\n");
    _cleanup_free_ char *dlink = path_of(f, "dst", "200/subvol-200-disk-0.subvol/escape");
    char target[256] = "";
    assert_true(readlink(dlink, target, sizeof target - 1) > 0);
    assert_string_equal(target, outside);

    /* freeing the source removes the tree but not what its symlink points to */
    assert_int_equal(storage_volume_free(f->src, "200/subvol-200-disk-0.subvol", &err), 0);
    assert_false(access(src, F_OK) == 0);
    assert_true(access(outside, F_OK) == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tar_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
