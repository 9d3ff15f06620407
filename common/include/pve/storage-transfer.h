/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-transfer: one volume of a path-based storage as a byte stream, in the formats of
 * upstream's `pvesm export` / `pvesm import`, which offline migration pipes through ssh from
 * the source node into the target node:
 *
 *   <fmt>+size   fmt raw|qcow2|vmdk: an 8-byte little-endian byte count, then the image
 *                file itself, byte for byte (for qcow2 the count is the file size, not the
 *                virtual size)
 *   tar+size     subvol (container directories): the 8-byte header (0: a directory has no
 *                size), then a tar stream of the directory's contents (numeric owners,
 *                permissions, ACLs and xattrs kept)
 *
 * A volume is exported in the one format that matches it; importing checks that the format
 * matches the target volume name. Import allocates the volume like any other (storage lock,
 * name rules) and removes it again when the stream is short or broken, so a failed transfer
 * leaves nothing behind.
 *
 * Errors: negative errno and, with a char **reterr, a malloc'd text without newline.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pve/section-config.h"
#include "pve/storage-volume.h"

#define STORAGE_TRANSFER_HEADER_SIZE 8

/* The stream format of a parsed volume: "raw+size", "qcow2+size", "vmdk+size" or "tar+size";
 * NULL for volumes that are not images (iso, backups, ...). */
const char *storage_transfer_format(const StorageVolume *v);

/* The 8-byte header <-> byte count. */
void storage_transfer_header_encode(
    uint64_t size, uint8_t ret[static STORAGE_TRANSFER_HEADER_SIZE]
);
uint64_t storage_transfer_header_decode(const uint8_t h[static STORAGE_TRANSFER_HEADER_SIZE]);

/*
 * Write volume <volname> of s to fd in format. -EINVAL "unsupported export format '<f>' for
 * volume '<volid>'" when format does not match the volume, -ENOENT when it does not exist,
 * -EIO when tar fails, -errno from writing (e.g. -EPIPE when the reader went away).
 */
int storage_volume_export(
    const SectionConfigSection *s, const char *volname, const char *format, int fd, char **reterr
);

/*
 * Read a stream in format from fd into a new volume <volname> of s (format's image format must
 * be the name's). When the name is taken: -EEXIST, or with allow_rename the next free
 * vm-<vmid>-disk-N name. *ret_volid (may be NULL) gets the volid actually written. A stream
 * that ends early or does not parse is -EIO / -EINVAL, and the new volume is freed again.
 */
int storage_volume_import(
    const SectionConfigSection *s,
    const char *volname,
    const char *format,
    int fd,
    bool allow_rename,
    char **ret_volid,
    char **reterr
);
