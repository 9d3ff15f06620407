/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-volume: the volumes of path-based storages (dir, nfs, cifs, btrfs, cephfs: files below
 * the storage's `path` in upstream's layout), as upstream's directory plugin sees them:
 *
 *   <storage>:<vmid>/<name>.<fmt>   images/<vmid>/<name>.<fmt>   fmt raw|qcow2|vmdk|subvol
 *   <storage>:iso/<file>            template/iso/<file>          .iso .img
 *   <storage>:vztmpl/<file>         template/cache/<file>        .tar.{gz,xz,zst,bz2}
 *   <storage>:backup/<file>         dump/<file>                  .tgz .tar[.x] .vma[.x]
 *   <storage>:snippets/<file>       snippets/<file>
 *
 * This module owns volume ids and names (split, parse, paths), disk size strings, the storage
 * lock (upstream's cluster_lock_storage), allocation of guest images with qemu-img (subvol:
 * a directory), freeing volumes, listing the images of a storage or guest, and the qcow2
 * header / size facts shown by the content API. Loading storage.cfg from the cfs mount is here
 * too, so guest code can turn a volid into a path without the API layer.
 *
 * Errors: negative errno; when a char **reterr is given it gets a malloc'd upstream text
 * without trailing newline (NULL on OOM). Nothing here logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pve/macro.h"
#include "pve/section-config.h"

#define STORAGE_MAX_VOLUMES_PER_GUEST 1024u

/* A parsed volume of a path-based storage. */
typedef struct StorageVolume {
    char *volid;   /* "<storage>:<volname>" */
    char *storage; /* storage id */
    char *content; /* images, iso, vztmpl, backup, snippets */
    char *name;    /* file name (images: without the "<vmid>/" dir) */
    char *path;    /* absolute path of the file (subvol: directory) */
    char *format;  /* images: raw|qcow2|vmdk|subvol; everything else: raw */
    uint32_t vmid; /* owner (images; backups named vzdump-<type>-<vmid>-...), 0: none */
    bool is_base;  /* images named base-<vmid>-... (templates) */
} StorageVolume;

/* Frees the fields and zeroes *v; accepts a zeroed struct. */
void storage_volume_done(StorageVolume *v);

/*
 * upstream's parse_volume_id(): "<storage>:<volname>" with a storage id of
 * [a-z][a-z0-9._-]*[a-z0-9] (case-insensitive) and a non-empty volname. *ret_storage is
 * malloc'd, *ret_volname points into volid. -EINVAL when it does not parse.
 */
int storage_volid_split(const char *volid, char **ret_storage, const char **ret_volname);

/*
 * upstream's parse_volname() + path() for a path-based storage section: fills *ret (zeroed
 * first; storage_volume_done() it). Names "." and "..", names with '/' and unknown layouts are
 * refused: -EINVAL with "unable to parse volume filename '<name>'" (images) or "unable to parse
 * directory volume name '<volname>'"; a storage without path: "storage definition has no path".
 */
int storage_volume_parse(
    const SectionConfigSection *s, const char *volname, StorageVolume *ret, char **reterr
);

/*
 * Disk size string -> bytes: \d+(\.\d+)?[KMGT]? (upstream's parse_size); a number without unit
 * is in default_unit ('K', 'M', 'G', 'T'; 0 or 'B' = bytes). Fractions are truncated to whole
 * bytes. -EINVAL when it does not parse, -ERANGE on overflow.
 */
int storage_parse_size(const char *s, char default_unit, uint64_t *ret_bytes);

/*
 * storage.cfg from the cfs mount (cfs_file_path(PVE_CFS_STORAGE_CFG)), parsed with
 * storage_cfg_parse() (so the implicit `dir: local` on /var/lib/vz is there). A missing file is
 * an empty configuration. -EINVAL with "storage.cfg line N: ..." for a broken file.
 */
int storage_cfg_load(SectionConfig **ret, char **reterr);

/* The section of storage id in c; -ENOENT with "storage '<id>' does not exist". */
int storage_find(
    const SectionConfig *c, const char *id, const SectionConfigSection **ret, char **reterr
);

/*
 * upstream's storage_check_enabled(): -EACCES with "storage '<id>' is disabled" or
 * "storage '<id>' is not available on node '<node>'" (node NULL: not checked).
 */
int storage_check_enabled(const SectionConfigSection *s, const char *node, char **reterr);

/*
 * upstream's cluster_lock_storage(): run fn(userdata) under the cfs lock storage-<id> for shared
 * storages, under a local flock /run/lock/pve-manager/pve-storage-<id> otherwise. Returns fn's
 * result or the lock error.
 */
int storage_lock(const SectionConfigSection *s, int (*fn)(void *userdata), void *userdata);

/*
 * upstream's vdisk_alloc() + the dir plugin's alloc_image(), under storage_lock():
 * images/<vmid>/ is created; name NULL picks the first free vm-<vmid>-disk-N.<fmt>
 * (subvol: subvol-<vmid>-disk-N.subvol; N shared by vm/base/subvol names, N < 1024); a given
 * name must be vm-<vmid>-*.<fmt> (or subvol-<vmid>-*.subvol) and must not exist yet.
 * fmt NULL = the type's default format (qcow2 for dir); raw|qcow2|vmdk run
 * `qemu-img create -f <fmt> <path> <size rounded up to KiB>K` (no shell; stderr becomes the
 * error text "unable to create image - ..."; a partial file is removed); "subvol" makes a
 * directory (size is not recorded). The storage must be path-based and support the format
 * (content types are not checked, as upstream's vdisk_alloc does not).
 * *ret_volid = "<storage>:<vmid>/<name>" (malloc'd). -EEXIST "disk image '<path>' already
 * exists", -EINVAL for bad names/formats, other -errno with a text.
 */
int storage_volume_alloc(
    const SectionConfigSection *s,
    uint32_t vmid,
    const char *fmt,
    const char *name,
    uint64_t size_bytes,
    char **ret_volid,
    char **reterr
);

/*
 * upstream's vdisk_free() for path-based storages, under storage_lock(): refuses protected
 * volumes (-EPERM "cannot remove protected volume '<name>' on '<storage>'"), removes the file
 * (a subvol directory with its whole tree, symlinks not followed), an emptied images/<vmid>/,
 * and a backup's .log/.notes. A missing volume is -ENOENT with
 * "disk image '<path>' does not exist" (upstream only warns: callers decide).
 */
int storage_volume_free(const SectionConfigSection *s, const char *volname, char **reterr);

/*
 * volid -> path and format for starting guests: loads storage.cfg (storage_cfg_load), finds
 * the storage, checks it is enabled on this node (uname, short name), parses the volume.
 * An absolute path is returned as it is, with format from its extension (qcow2, vmdk, else raw).
 * ret_format may be NULL.
 */
int storage_volume_resolve(const char *volid, char **ret_path, char **ret_format, char **reterr);

/*
 * Sorted, NULL-terminated volids of the images of vmid on s (images/<vmid>/ files named
 * (vm|base|subvol)-<vmid>-*.<fmt> with a format of the storage type). An empty list when
 * none. -ENOMEM.
 */
int storage_vmid_volumes(const SectionConfigSection *s, uint32_t vmid, char ***ret_volids);

/* ---- facts for listings and volume info ------------------------------------------------------ */

typedef struct StorageVolumeInfo {
    uint64_t size; /* virtual size for qcow2 (header), else file size; 0 for directories */
    uint64_t used; /* allocated bytes */
    time_t ctime;
    char *parent; /* qcow2 backing file name, NULL when none */
} StorageVolumeInfo;

/* stat (+ qcow2 header when format is qcow2) of path; -errno from stat. */
int storage_volume_info(const char *path, const char *format, StorageVolumeInfo *ret);
void storage_volume_info_done(StorageVolumeInfo *i);

/* upstream's file name rules of a content type: the listing format of name in a content
 * directory (iso: "iso", vztmpl: "t<ext>", backup: the archive extension, snippets: "snippet"),
 * NULL (not an error) when name does not belong there, -ENOMEM. */
int storage_file_format(const char *content, const char *name, char **ret_format);

/* One image found on a storage. */
typedef struct StorageImage {
    char *volid;
    char *format;
    uint32_t vmid; /* owner: the images/<vmid> directory */
    StorageVolumeInfo info;
} StorageImage;

/*
 * The images of s (vmid 0: all guests), in directory order: files images/<vmid>/<x>.<fmt>
 * with a format of the storage type. *ret_n items in *ret (free with storage_images_free).
 */
int storage_list_images(
    const SectionConfigSection *s, uint32_t vmid, StorageImage **ret, size_t *ret_n
);
void storage_images_free(StorageImage *l, size_t n);
