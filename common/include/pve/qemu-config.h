/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-config: what the keys of a QEMU guest config (/etc/pve/qemu-server/<vmid>.conf) mean.
 * Owns the drive keys (ide0-3, sata0-5, scsi0-30, virtio0-15, efidisk0, tpmstate0) and the
 * network keys (net0-31) with upstream's property-string formats and error texts, random MAC
 * addresses with Proxmox' BC:24:11 prefix, and `qemu_config_properties[]`: the API parameter
 * schema of the config keys (as POST /nodes/{node}/qemu has them).
 *
 * Pure: no I/O except reading random bytes for MAC addresses. The file model itself is
 * guest-config.h; volumes are resolved by the storage layer.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pve/api-schema.h"
#include "pve/macro.h"
#include "pve/property-string.h"

#define QEMU_MAX_IDE     4u
#define QEMU_MAX_SATA    6u
#define QEMU_MAX_SCSI    31u
#define QEMU_MAX_VIRTIO  16u
#define QEMU_MAX_NETS    32u
#define QEMU_MAX_UNUSED  256u
#define QEMU_MAX_SERIAL  4u
#define QEMU_MAX_USB     14u
#define QEMU_MAX_HOSTPCI 16u

/* ide0-3 sata0-5 scsi0-30 virtio0-15 efidisk0 tpmstate0 */
bool qemu_is_drive_key(const char *key);
/* net0-31 */
bool qemu_is_net_key(const char *key);
/* unused0-255 */
bool qemu_is_unused_key(const char *key);

/*
 * Split "scsi12" into interface "scsi" and index 12 (valid keys only). 0 or -EINVAL.
 * *ret_interface points at a static string.
 */
int qemu_drive_key_split(const char *key, const char **ret_interface, unsigned *ret_index);

typedef struct QemuDrive {
    char *key;       /* "scsi0" */
    char *interface; /* "ide" "sata" "scsi" "virtio" "efidisk" "tpmstate" */
    unsigned index;
    char *file;    /* volid, "none", "cdrom", an absolute path, or "<storage>:<size>" (alloc) */
    char *media;   /* "disk" or "cdrom" */
    char *format;  /* format= option or NULL */
    uint64_t size; /* size= option in bytes, 0 if absent */
    bool cdrom;    /* media=cdrom */
    bool is_alloc; /* file is "<storage>:<size in GiB>" (a new volume to allocate) */
    char *alloc_storage;   /* is_alloc: the storage id */
    double alloc_size_gib; /* is_alloc: the requested size in GiB */
    PropertyString *props; /* all options, default key "file" */
} QemuDrive;

/*
 * Parse the value of a drive key (or unusedN) with upstream's format and checks. On failure
 * -EINVAL and *reterr (if not NULL) gets upstream's text without the "invalid format - " prefix
 * the API adds, e.g. "format error\nscsi0.cache: value 'x' does not have a value in the
 * enumeration 'none, ...'". size= without unit is bytes (disk-size). -ENOMEM on OOM.
 */
int qemu_drive_parse(const char *key, const char *value, QemuDrive **ret, char **reterr);
QemuDrive *qemu_drive_free(QemuDrive *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(QemuDrive *, qemu_drive_free);
/* Canonical text of the drive (property_string_print of props). 0 or -ENOMEM. */
int qemu_drive_print(const QemuDrive *d, char **ret);

/* The option's value or NULL. */
const char *qemu_drive_get(const QemuDrive *d, const char *option);
/* A boolean option, def when absent. */
bool qemu_drive_get_bool(const QemuDrive *d, const char *option, bool def);

typedef struct QemuNet {
    char *key; /* "net0" */
    unsigned index;
    char *model;   /* virtio e1000 e1000e rtl8139 vmxnet3 ... */
    char *macaddr; /* "BC:24:11:..", NULL when the value gave none */
    char *bridge;  /* NULL when absent */
    int tag;       /* VLAN tag, 0 when absent */
    bool firewall, link_down;
    unsigned mtu;          /* 0 when absent */
    unsigned queues;       /* 0 when absent */
    double rate;           /* MB/s, 0 when absent */
    PropertyString *props; /* all options as given */
} QemuNet;

/*
 * Parse "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1" or "model=virtio,macaddr=...".
 * -EINVAL with *reterr (upstream-like text), -ENOMEM.
 */
int qemu_net_parse(const char *key, const char *value, QemuNet **ret, char **reterr);
QemuNet *qemu_net_free(QemuNet *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(QemuNet *, qemu_net_free);
/* Canonical text "<model>=<mac>,bridge=...,..." (upstream's print order). 0, -EINVAL, -ENOMEM. */
int qemu_net_print(const QemuNet *n, char **ret);
/* Fill in a generated MAC when none was given (the value upstream writes back). 0 or -ENOMEM. */
int qemu_net_ensure_mac(QemuNet *n);

/* BC:24:11:xx:xx:xx with random low bytes (uppercase hex). */
void qemu_generate_mac(char ret[static 18]);
/* true for a unicast MAC "XX:XX:XX:XX:XX:XX" (hex, either case). */
bool qemu_mac_is_valid(const char *mac);

/* The property-string field table of a drive interface ("ide", "sata", "scsi", "virtio",
 * "efidisk", "tpmstate", "unused") or of "net"; NULL for anything else. */
const PropertyStringField *qemu_format_fields(const char *what, size_t *ret_n);

/* The config keys the API accepts, ends with .name == NULL. */
extern const ApiSchema qemu_config_properties[];
/* Lookup in qemu_config_properties; NULL when unknown. */
const ApiSchema *qemu_config_property(const char *key);
