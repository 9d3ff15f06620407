/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest-store: where guest configs live and how they are changed safely, for QEMU VMs and LXC
 * containers alike (pvedaemon, qm, pvestatd and HA use it).
 *
 *   - files: /etc/pve/nodes/<node>/qemu-server/<vmid>.conf and .../lxc/<vmid>.conf;
 *   - which node and type a VMID has: pmxcfs's .vmlist (IPC), a scan of nodes/ as fallback;
 *   - the config lock: a local flock(2), as upstream, on /var/lock/qemu-server/lock-<vmid>.conf
 *     (QEMU) or /run/lock/lxc/pve-config-<vmid>.lock (LXC); it serialises every
 *     read-modify-write of one guest on this node (the file itself only changes on its node);
 *   - the `lock:` property (create, migrate, backup, ...) that blocks most actions;
 *   - the `startup` property (order, up, down).
 *
 * Errors come back as negative errno plus, where a user should read it, a malloc'd message in
 * upstream's words (*reterr, may be NULL when the caller does not want it).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pve/guest-config.h"

#define GUEST_LOCK_TIMEOUT_DEFAULT 10 /* s, upstream's lock_config default */

/* "qemu-server" / "lxc": the directory name below nodes/<node>/ */
const char *guest_type_dir(GuestType type);
/* "VM" / "CT": how messages name the guest */
const char *guest_type_noun(GuestType type);
/* "qemu" / "lxc": the type as .vmlist and /cluster/resources spell it */
const char *guest_type_name(GuestType type);

/* Relative cfs path "nodes/<node>/<dir>/<vmid>.conf", malloc'd. */
int guest_config_relpath(GuestType type, const char *node, uint32_t vmid, char **ret);

/* The VMIDs of node's guests of one type (config files present), sorted ascending; *ret is
 * malloc'd (NULL when there are none). 0 or -ENOMEM. */
int guest_list_local(GuestType type, const char *node, uint32_t **ret, size_t *ret_n);

/*
 * Node and type of a VMID, from .vmlist (or a scan of /etc/pve/nodes when pmxcfs's IPC is not
 * reachable). -ENOENT when no guest has that id.
 */
int guest_locate(uint32_t vmid, GuestType *ret_type, char **ret_node);

/*
 * Take the config lock of a guest: flock on the upstream lock file, waiting up to timeout_s
 * (0 = GUEST_LOCK_TIMEOUT_DEFAULT). *ret_fd is the lock; close it to release. On timeout
 * -ETIMEDOUT with "can't lock file '<path>' - got timeout".
 */
int guest_lock(GuestType type, uint32_t vmid, unsigned timeout_s, int *ret_fd, char **reterr);

/*
 * Read and parse a guest's config. -ENOENT with "Configuration file '<relpath>' does not
 * exist", -EINVAL with "<relpath> line <n>: <message>" for a bad file. *ret_raw (may be NULL)
 * gets the raw text, for digest checks.
 */
int guest_config_read(
    GuestType type,
    const char *node,
    uint32_t vmid,
    GuestConfig **ret,
    char **ret_raw,
    char **reterr
);

/*
 * Write a guest's config in canonical form. create = true makes the file only if no guest has
 * that VMID anywhere in the cluster (pmxcfs enforces it: -EEXIST, "VM <vmid> already exists").
 * Otherwise the file is replaced atomically (temp file + rename).
 */
int guest_config_write(
    GuestType type,
    const char *node,
    uint32_t vmid,
    const GuestConfig *c,
    bool create,
    char **reterr
);

/*
 * Move a guest's config to another node's directory with one pmxcfs rename (the migration
 * exception of the VMID uniqueness rule). -errno with "unable to move '<from>' to '<to>' - ...".
 */
int guest_config_move(
    GuestType type, uint32_t vmid, const char *from_node, const char *to_node, char **reterr
);

/* Remove a guest's config file. 0, -ENOENT or -errno. */
int guest_config_remove(GuestType type, const char *node, uint32_t vmid);

/*
 * Upstream's check_lock(): -EBUSY with "VM is locked (<lock>)" (or "CT is locked") when the
 * main section has a `lock` property; 0 otherwise.
 */
int guest_config_check_lock(const GuestConfig *c, char **reterr);

/* `startup: [order=]<n>,up=<s>,down=<s>`; -1 = not set. */
typedef struct GuestStartup {
    long order, up, down;
} GuestStartup;
int guest_startup_parse(const char *value, GuestStartup *ret, char **reterr);

/* true when value is a "true" boolean as upstream reads config values (1, on, yes, true). */
bool guest_config_bool(const char *value, bool dflt);

/*
 * Apply the pending section to the main one (what a start does): pending values replace main
 * values, the pending `delete` list removes keys, then the pending section is dropped. 0 (also
 * when there is nothing pending) or -ENOMEM / -E2BIG.
 */
int guest_config_apply_pending(GuestConfig *c);
