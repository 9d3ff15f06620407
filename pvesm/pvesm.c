/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvesm: the storage command line tool, the subset migration and admins need:
 *
 *   pvesm path <volume>                          the file or directory of a volume
 *   pvesm free <volume>                          remove a volume
 *   pvesm export <volume> <format> <file|->      write the volume as a transfer stream
 *         [--with-snapshots 0|1] [--snapshot-list <list>]
 *   pvesm import <volume> <format> <file|->      read a transfer stream into a new volume
 *         [--with-snapshots 0|1] [--allow-rename 0|1] [--delete-snapshot <name>]
 *
 * Formats are those of pve/storage-transfer.h (raw+size, qcow2+size, vmdk+size, tar+size).
 * Options are accepted with one or two dashes, as upstream's CLI does. Snapshots are not
 * supported by dir volumes here: --with-snapshots 1 is refused. The storage must be enabled on
 * this node. import prints "successfully imported '<volid>'" with the volid it wrote, which
 * migration reads back when the name was taken and allow-rename picked another one.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/cluster-setup.h"
#include "pve/macro.h"
#include "pve/storage-transfer.h"
#include "pve/storage-volume.h"

static int usage(FILE *f) {
    fprintf(
        f,
        "usage: pvesm path <volume>\n"
        "       pvesm free <volume>\n"
        "       pvesm export <volume> <format> <filename> [--with-snapshots 0|1]\n"
        "       pvesm import <volume> <format> <filename> [--with-snapshots 0|1] "
        "[--allow-rename 0|1]\n"
        "formats: raw+size qcow2+size vmdk+size tar+size; filename '-' is stdout/stdin\n"
    );
    return f == stderr ? 2 : 0;
}

static int fail(const char *err, int r) {
    fprintf(stderr, "%s\n", err ? err : strerror(r < 0 ? -r : r));
    return 255;
}

/* The storage section of a volid, checked to be enabled on this node. */
static int open_storage(
    const char *volid,
    SectionConfig **ret_cfg,
    const SectionConfigSection **ret_s,
    const char **ret_volname,
    char **err
) {
    _cleanup_free_ char *storage = NULL;
    if (storage_volid_split(volid, &storage, ret_volname) < 0) {
        if (asprintf(err, "unable to parse volume ID '%s'", volid) < 0)
            *err = NULL;
        return -EINVAL;
    }
    int r = storage_cfg_load(ret_cfg, err);
    if (r < 0)
        return r;
    if ((r = storage_find(*ret_cfg, storage, ret_s, err)) < 0)
        return r;
    char node[256] = "";
    (void) cluster_short_nodename(node); /* unknown: "" */
    return storage_check_enabled(*ret_s, node, err);
}

typedef struct Options {
    bool with_snapshots;
    bool allow_rename;
} Options;

static int bool_arg(const char *name, const char *v, bool *ret) {
    if (streq(v, "1") || streq(v, "true") || streq(v, "yes") || streq(v, "on"))
        return *ret = true, 0;
    if (streq(v, "0") || streq(v, "false") || streq(v, "no") || streq(v, "off"))
        return *ret = false, 0;
    fprintf(stderr, "%s: type check ('boolean') failed - got '%s'\n", name, v);
    return -EINVAL;
}

/* --name value pairs after the positional arguments */
static int parse_options(int argc, char **argv, bool import, Options *o) {
    for (int i = 0; i < argc; i += 2) {
        const char *name = argv[i];
        if (name[0] != '-') {
            fprintf(stderr, "too many arguments\n");
            return -EINVAL;
        }
        name += name[1] == '-' ? 2 : 1;
        if (i + 1 >= argc) {
            fprintf(stderr, "missing value for option '%s'\n", name);
            return -EINVAL;
        }
        const char *v = argv[i + 1];
        int r = 0;
        if (streq(name, "with-snapshots"))
            r = bool_arg(name, v, &o->with_snapshots);
        else if (import && streq(name, "allow-rename"))
            r = bool_arg(name, v, &o->allow_rename);
        else if (streq(name, "snapshot-list") || streq(name, "snapshot") ||
                 (import && streq(name, "delete-snapshot")) || streq(name, "base"))
            r = 0; /* dir volumes have no snapshots: nothing to select */
        else {
            fprintf(stderr, "unknown option '%s'\n", name);
            r = -EINVAL;
        }
        if (r < 0)
            return r;
    }
    if (o->with_snapshots) {
        fprintf(stderr, "with-snapshots: dir volumes have no snapshots to transfer\n");
        return -EOPNOTSUPP;
    }
    return 0;
}

static int cmd_path(const char *volid) {
    _cleanup_free_ char *path = NULL, *err = NULL;
    int r = storage_volume_resolve(volid, &path, NULL, &err);
    if (r < 0)
        return fail(err, r);
    printf("%s\n", path);
    return 0;
}

static int cmd_free(const char *volid) {
    _cleanup_(section_config_freep) SectionConfig *cfg = NULL;
    const SectionConfigSection *s;
    const char *volname;
    _cleanup_free_ char *err = NULL;
    int r = open_storage(volid, &cfg, &s, &volname, &err);
    if (r >= 0)
        r = storage_volume_free(s, volname, &err);
    return r < 0 ? fail(err, r) : 0;
}

static int cmd_transfer(bool import, int argc, char **argv) {
    if (argc < 3)
        return usage(stderr);
    const char *volid = argv[0], *format = argv[1], *file = argv[2];
    Options o = {};
    if (parse_options(argc - 3, argv + 3, import, &o) < 0)
        return 2;
    _cleanup_(section_config_freep) SectionConfig *cfg = NULL;
    const SectionConfigSection *s;
    const char *volname;
    _cleanup_free_ char *err = NULL, *written = NULL;
    int r = open_storage(volid, &cfg, &s, &volname, &err);
    if (r < 0)
        return fail(err, r);
    _cleanup_close_ int fd = -EBADF;
    if (!streq(file, "-")) {
        fd = import ? open(file, O_RDONLY | O_CLOEXEC)
                    : open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            fprintf(stderr, "unable to open '%s' - %m\n", file);
            return 255;
        }
    }
    int io = fd >= 0 ? fd : import ? STDIN_FILENO : STDOUT_FILENO;
    if (import)
        r = storage_volume_import(s, volname, format, io, o.allow_rename, &written, &err);
    else
        r = storage_volume_export(s, volname, format, io, &err);
    if (r < 0)
        return fail(err, r);
    if (import)
        printf("successfully imported '%s'\n", written);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return usage(stderr);
    const char *cmd = argv[1];
    if (streq(cmd, "help") || streq(cmd, "--help"))
        return usage(stdout);
    if (streq(cmd, "export") || streq(cmd, "import"))
        return cmd_transfer(streq(cmd, "import"), argc - 2, argv + 2);
    if (argc != 3)
        return usage(stderr);
    if (streq(cmd, "path"))
        return cmd_path(argv[2]);
    if (streq(cmd, "free"))
        return cmd_free(argv[2]);
    return usage(stderr);
}
