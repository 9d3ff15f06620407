/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-transfer: volume export/import streams (see pve/storage-transfer.h). Image files are
 * copied with plain read/write; directories go through GNU tar run without a shell.
 */
#include "pve/storage-transfer.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/fileio.h"
#include "pve/macro.h"
#include "pve/spawn.h"
#include "pve/string-util.h"

#define COPY_CHUNK (1024u * 1024u)

/* tar options of both directions: owners as numbers, modes, ACLs and the xattrs containers use */
#define TAR_COMMON                                                            \
    "--numeric-owner", "-p", "--acls", "--xattrs", "--xattrs-include=user.*", \
        "--xattrs-include=security.capability", "--warning=no-file-ignored",  \
        "--warning=no-xattr-write"

const char *storage_transfer_format(const StorageVolume *v) {
    if (!v->content || !streq(v->content, "images") || !v->format)
        return NULL;
    if (streq(v->format, "subvol"))
        return "tar+size";
    if (streq(v->format, "raw"))
        return "raw+size";
    if (streq(v->format, "qcow2"))
        return "qcow2+size";
    if (streq(v->format, "vmdk"))
        return "vmdk+size";
    return NULL;
}

void storage_transfer_header_encode(
    uint64_t size, uint8_t ret[static STORAGE_TRANSFER_HEADER_SIZE]
) {
    for (unsigned i = 0; i < STORAGE_TRANSFER_HEADER_SIZE; i++)
        ret[i] = (uint8_t) (size >> (8 * i));
}

uint64_t storage_transfer_header_decode(const uint8_t h[static STORAGE_TRANSFER_HEADER_SIZE]) {
    uint64_t size = 0;
    for (unsigned i = 0; i < STORAGE_TRANSFER_HEADER_SIZE; i++)
        size |= (uint64_t) h[i] << (8 * i);
    return size;
}

/* Read exactly len bytes; returns the number read (less only at EOF) or -errno. */
static ssize_t read_exact(int fd, void *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, (char *) buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        done += (size_t) n;
    }
    return (ssize_t) done;
}

/* Copy n bytes from in to out; *ret_copied gets how many made it. -EIO at an early EOF. */
static int copy_bytes(int in, int out, uint64_t n, uint64_t *ret_copied) {
    _cleanup_free_ char *buf = malloc(COPY_CHUNK);
    if (!buf)
        return -ENOMEM;
    *ret_copied = 0;
    while (*ret_copied < n) {
        size_t want = n - *ret_copied < COPY_CHUNK ? (size_t) (n - *ret_copied) : COPY_CHUNK;
        ssize_t got = read_exact(in, buf, want);
        if (got < 0)
            return (int) got;
        if (got == 0)
            return -EIO;
        int r = write_all(out, buf, (size_t) got);
        if (r < 0)
            return r;
        *ret_copied += (uint64_t) got;
    }
    return 0;
}

static int parse_volume(
    const SectionConfigSection *s,
    const char *volname,
    const char *format,
    StorageVolume *v,
    char **reterr
) {
    int r = storage_volume_parse(s, volname, v, reterr);
    if (r < 0)
        return r;
    const char *want = storage_transfer_format(v);
    if (!want || !streq(want, format))
        return set_error_message_once(
            reterr, -EINVAL, "unsupported %s format '%s' for volume '%s'",
            want ? "transfer" : "volume", format, v->volid
        );
    return 0;
}

/* ---- export ---------------------------------------------------------------------------------- */

static int export_file(const StorageVolume *v, int fd, char **reterr) {
    _cleanup_close_ int in = open(v->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) < 0)
        return set_error_message_once(reterr, -errno, "unable to open '%s' - %m", v->path);
    if (!S_ISREG(st.st_mode))
        return set_error_message_once(reterr, -EINVAL, "'%s' is not a regular file", v->path);
    uint8_t h[STORAGE_TRANSFER_HEADER_SIZE];
    storage_transfer_header_encode((uint64_t) st.st_size, h);
    int r = write_all(fd, h, sizeof h);
    uint64_t copied = 0;
    if (r >= 0)
        r = copy_bytes(in, fd, (uint64_t) st.st_size, &copied);
    if (r == -EIO)
        return set_error_message_once(reterr, r, "'%s' shrank while it was exported", v->path);
    if (r < 0)
        return set_error_message_once(
            reterr, r, "export of '%s' failed - %s", v->volid, strerror(-r)
        );
    return 0;
}

static int export_tar(const StorageVolume *v, int fd, char **reterr) {
    struct stat st;
    if (stat(v->path, &st) < 0 || !S_ISDIR(st.st_mode))
        return set_error_message_once(reterr, -ENOENT, "subvol '%s' does not exist", v->path);
    uint8_t h[STORAGE_TRANSFER_HEADER_SIZE];
    storage_transfer_header_encode(0, h);
    int r = write_all(fd, h, sizeof h);
    if (r < 0)
        return set_error_message_once(
            reterr, r, "export of '%s' failed - %s", v->volid, strerror(-r)
        );
    const char *argv[] = {
        "tar", TAR_COMMON, "--one-file-system", "--sparse", "-cf", "-", "-C", v->path, ".", NULL};
    pid_t pid;
    if ((r = spawn_start(argv, fd, STDERR_FILENO, &pid)) < 0)
        return set_error_message_once(reterr, r, "cannot run tar: %s", strerror(-r));
    int status = spawn_wait(pid);
    if (status != 0)
        return set_error_message_once(
            reterr, -EIO, "export of '%s' failed - tar exit code %d", v->volid, status
        );
    return 0;
}

int storage_volume_export(
    const SectionConfigSection *s, const char *volname, const char *format, int fd, char **reterr
) {
    if (reterr)
        *reterr = NULL;
    _cleanup_(storage_volume_done) StorageVolume v = {};
    int r = parse_volume(s, volname, format, &v, reterr);
    if (r < 0)
        return r;
    return streq(v.format, "subvol") ? export_tar(&v, fd, reterr) : export_file(&v, fd, reterr);
}

/* ---- import ---------------------------------------------------------------------------------- */

static int import_file(const StorageVolume *v, uint64_t size, int fd, char **reterr) {
    _cleanup_close_ int out = open(v->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (out < 0)
        return set_error_message_once(reterr, -errno, "unable to open '%s' - %m", v->path);
    uint64_t copied = 0;
    int r = copy_bytes(fd, out, size, &copied);
    if (r == -EIO)
        return set_error_message_once(
            reterr, r, "import stream ended after %llu of %llu bytes", (unsigned long long) copied,
            (unsigned long long) size
        );
    if (r < 0)
        return set_error_message_once(
            reterr, r, "import into '%s' failed - %s", v->path, strerror(-r)
        );
    char extra;
    if (read_exact(fd, &extra, 1) != 0)
        return set_error_message_once(
            reterr, -EINVAL, "import stream is longer than its header says"
        );
    if (fsync(out) < 0)
        return set_error_message_once(reterr, -errno, "import into '%s' failed - %m", v->path);
    return 0;
}

static int import_tar(const StorageVolume *v, int fd, char **reterr) {
    const char *argv[] = {"tar", TAR_COMMON, "-xf", "-", "-C", v->path, NULL};
    pid_t pid;
    int r = spawn_start_io(argv, fd, -1, STDERR_FILENO, &pid);
    if (r < 0)
        return set_error_message_once(reterr, r, "cannot run tar: %s", strerror(-r));
    int status = spawn_wait(pid);
    if (status != 0)
        return set_error_message_once(
            reterr, -EIO, "import of '%s' failed - tar exit code %d", v->volid, status
        );
    return 0;
}

int storage_volume_import(
    const SectionConfigSection *s,
    const char *volname,
    const char *format,
    int fd,
    bool allow_rename,
    char **ret_volid,
    char **reterr
) {
    if (reterr)
        *reterr = NULL;
    _cleanup_(storage_volume_done) StorageVolume want = {};
    int r = parse_volume(s, volname, format, &want, reterr);
    if (r < 0)
        return r;
    if (want.is_base)
        return set_error_message_once(reterr, -EINVAL, "cannot import base image '%s'", want.volid);
    uint8_t h[STORAGE_TRANSFER_HEADER_SIZE];
    ssize_t n = read_exact(fd, h, sizeof h);
    if (n < 0)
        return set_error_message_once(
            reterr, (int) n, "unable to read the import stream - %s", strerror((int) -n)
        );
    if (n != (ssize_t) sizeof h)
        return set_error_message_once(reterr, -EIO, "import stream ended before its header");
    uint64_t size = storage_transfer_header_decode(h);

    _cleanup_free_ char *volid = NULL, *err = NULL;
    r = storage_volume_alloc(s, want.vmid, want.format, want.name, size, &volid, &err);
    if (r == -EEXIST && allow_rename) {
        free(err);
        err = NULL;
        r = storage_volume_alloc(s, want.vmid, want.format, NULL, size, &volid, &err);
    }
    if (r < 0) {
        if (reterr && err)
            *reterr = TAKE_PTR(err);
        return r;
    }
    const char *name = strchr(volid, ':') + 1;
    _cleanup_(storage_volume_done) StorageVolume got = {};
    r = storage_volume_parse(s, name, &got, reterr);
    if (r >= 0)
        r = streq(got.format, "subvol") ? import_tar(&got, fd, reterr)
                                        : import_file(&got, size, fd, reterr);
    if (r < 0) {
        _cleanup_free_ char *ferr = NULL;
        (void) storage_volume_free(s, name, &ferr);
        return r;
    }
    if (ret_volid)
        *ret_volid = TAKE_PTR(volid);
    return 0;
}
