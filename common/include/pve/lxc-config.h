/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-config: what the keys of an LXC container config (/etc/pve/lxc/<vmid>.conf) mean, and the
 * LXC configuration generated from it (/var/lib/lxc/<vmid>/config).
 *
 * Owns:
 *   - `lxc_config_properties[]`: the config keys as API parameters (as POST /nodes/{node}/lxc
 *     and PUT .../config declare them), with property-string field tables for netN, rootfs,
 *     mpN, features, unusedN and devN;
 *   - parsing of netN (veth NICs) and rootfs/mpN (mount points, including the
 *     "<storage>:<GiB>" allocation form), with upstream's texts;
 *   - the generator of the LXC config file: a pure function of the guest config and a few
 *     facts the caller collects (resolved volume paths, cgroup version, which include files
 *     exist), so it can be unit tested.
 *
 * No I/O here except reading random bytes for MAC addresses.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pve/api-schema.h"
#include "pve/guest-config.h"
#include "pve/macro.h"
#include "pve/property-string.h"

#define LXC_MAX_NETS    32u
#define LXC_MAX_MOUNTS  256u
#define LXC_MAX_UNUSED  256u
#define LXC_MAX_DEVICES 256u

#define LXC_DEFAULT_MEMORY     512u /* MiB */
#define LXC_DEFAULT_SWAP       512u /* MiB */
#define LXC_DEFAULT_TTY        2u
#define LXC_DEFAULT_ROOTFS_GIB 4u /* rootfs "<storage>:4" when the create call gives none */

/* net0-31, mp0-255, unused0-255, dev0-255 */
bool lxc_is_net_key(const char *key);
bool lxc_is_mp_key(const char *key);
bool lxc_is_unused_key(const char *key);
bool lxc_is_dev_key(const char *key);

/* A veth NIC: `netN: name=eth0,bridge=vmbr0,hwaddr=..,ip=..,gw=..,ip6=..,gw6=..,type=veth,...`. */
typedef struct LxcNet {
    char *key; /* "net0" */
    unsigned index;
    const char *name;   /* interface name inside the container (required) */
    const char *bridge; /* NULL: not attached */
    const char *hwaddr; /* NULL until lxc_net_fill_defaults() */
    const char *ip, *gw, *ip6, *gw6;
    int tag; /* 0: none */
    unsigned mtu;
    bool firewall, link_down;
    PropertyString *props; /* owns the strings above */
} LxcNet;

/*
 * Parse a netN value: field types and bounds, name and bridge patterns, hwaddr (unicast MAC),
 * ip (IPv4/CIDR, dhcp or manual), ip6 (IPv6/CIDR, auto, dhcp or manual), gw/gw6 addresses.
 * -EINVAL with *reterr (e.g. "net0.ip: invalid format - ..."), -ENOMEM.
 */
int lxc_net_parse(const char *key, const char *value, LxcNet **ret, char **reterr);
LxcNet *lxc_net_free(LxcNet *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(LxcNet *, lxc_net_free);
/* What upstream writes back for a new NIC: a BC:24:11 hwaddr when it has none, type=veth. */
int lxc_net_fill_defaults(LxcNet *n);
/* Text as upstream prints it: name first, then the other keys sorted. */
int lxc_net_print(const LxcNet *n, char **ret);

/* A mount point: `rootfs: <volume>[,size=..][,ro=1]...` or `mpN: <volume>,mp=/path[,...]`. */
typedef struct LxcMount {
    char *key;          /* "rootfs" or "mp3" */
    const char *volume; /* volid, absolute host path (bind mount), or "<storage>:<GiB>" */
    const char *mp;     /* path inside the container; "/" for rootfs */
    uint64_t size;      /* size= in bytes, 0 when absent */
    bool ro;
    bool is_alloc;         /* volume is "<storage>:<GiB>": allocate a new volume */
    char *alloc_storage;   /* is_alloc */
    double alloc_size_gib; /* is_alloc: 0 means a plain directory without size */
    bool is_bind;          /* volume is an absolute host path */
    PropertyString *props; /* owns volume and mp */
} LxcMount;

/*
 * Parse rootfs or an mpN value (mp= is required for mpN; not allowed, and implied "/", for
 * rootfs; mp must be an absolute path without ".." components). -EINVAL with *reterr, -ENOMEM.
 */
int lxc_mount_parse(const char *key, const char *value, LxcMount **ret, char **reterr);
LxcMount *lxc_mount_free(LxcMount *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(LxcMount *, lxc_mount_free);
/* Replace the volume (after allocation) and set size=<n>G|M; -ENOMEM. */
int lxc_mount_set_volume(LxcMount *m, const char *volid, uint64_t size_bytes);
/* Text as upstream prints it: volume, mp, then the other keys sorted. */
int lxc_mount_print(const LxcMount *m, char **ret);

/* The property-string field table of "net", "rootfs", "mp", "features", "unused" or "dev";
 * NULL for anything else. */
const PropertyStringField *lxc_format_fields(const char *what, size_t *ret_n);

/* The config keys the API accepts (create and update), ends with .name == NULL. */
extern const ApiSchema lxc_config_properties[];
/* Lookup in lxc_config_properties; NULL when unknown. */
const ApiSchema *lxc_config_property(const char *key);

/* ---- the generated LXC configuration ----------------------------------------------------------
 */

typedef struct LxcGenerateOptions {
    const char *lxcpath; /* /var/lib/lxc */
    const char *confdir; /* /usr/share/lxc/config: the distribution includes */
    int cgroup_version;  /* 2: lxc.cgroup2.* keys (unified), 1: lxc.cgroup.* (legacy) */
    unsigned host_cpus;  /* online CPUs; cores < host_cpus pins a cpuset */
    /* volume (volid or host path) -> host path of its directory; errors in *reterr */
    int (*resolve_volume)(const char *volume, char **ret_path, char **reterr, void *userdata);
    /* whether an include file exists (NULL: none does) */
    bool (*file_exists)(const char *path, void *userdata);
    void *userdata;
} LxcGenerateOptions;

/*
 * The text of /var/lib/lxc/<vmid>/config for the main section of c:
 *
 *   lxc.arch, lxc.include of <confdir>/<ostype>.common.conf (common.conf for unmanaged)
 *   and, unprivileged, <ostype>.userns.conf, each only when it exists; nesting.conf for
 *   features nesting=1; lxc.idmap for unprivileged CTs; lxc.tty.max, lxc.console.path,
 *   lxc.uts.name (hostname, else CT<vmid>), memory/swap/cpu limits for the given cgroup
 *   version, lxc.rootfs.path, bind mounts for mpN, one veth per netN (host side
 *   veth<vmid>i<N> on the bridge, hwaddr, name, mtu, flags, static addresses and gateways),
 *   then the raw lxc.* lines of the config in their order.
 *
 * Fails with -EINVAL and *reterr for a config that cannot be started (no rootfs, a bad netN,
 * an unresolvable volume); -ENOMEM.
 */
int lxc_config_generate(
    const GuestConfig *c, uint32_t vmid, const LxcGenerateOptions *o, char **ret, char **reterr
);
