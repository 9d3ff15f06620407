/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest-migrate: offline migration of a stopped QEMU VM or LXC container to another node of
 * the cluster, as upstream's QemuMigrate / PVE::LXC::Migrate do it without a running guest:
 *
 *   1. scan the config (all sections: current, pending, snapshots) for volumes and local
 *      resources; volumes on shared storages stay where they are, local ones are copied;
 *   2. check every storage is enabled on the target (or mapped by targetstorage);
 *   3. set `lock: migrate`, then copy each local volume with `pvesm export` piped through
 *      `ssh root@<target ip> pvesm import` (formats of pve/storage-transfer.h);
 *   4. move the config, still locked, with one pmxcfs rename to nodes/<target>/, then rewrite
 *      there the volids that changed (renamed on import, other target storage) and clear the
 *      lock in one write, and free the source copies of the local volumes.
 *
 * Any failure before the rename frees what was imported on the target and clears the lock, so
 * the guest stays whole on the source. The run prints upstream's log lines (timestamped) to
 * stdout, the task log of the worker it runs in.
 *
 * The ssh command is upstream's (BatchMode, HostKeyAlias=<target>, the target's
 * /etc/pve/nodes/<target>/ssh_known_hosts), `ssh` from PATH unless $PVE_SSH names another; the
 * remote pvesm is the installed one unless $PVE_PVESM_BIN names another.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pve/guest-config.h"
#include "pve/section-config.h"
#include "pve/task.h"

/* A volume the guest references. */
typedef struct MigrateVolume {
    char *volid;
    char *storage;
    char *ref; /* how it is referenced: "attached", "unused", "snapshot 'x'", "pending" */
    bool shared;
    bool cdrom;
    bool is_unused;
} MigrateVolume;

typedef struct MigrateScan {
    MigrateVolume *volumes;
    size_t n_volumes;
    json_t *local_resources; /* array of config keys (hostpci0, usb1, dev0, ...) */
    json_t *problems;        /* array of messages that block migration to any node */
} MigrateScan;

/*
 * Scan a config against storage.cfg. Volumes whose storage does not exist are problems
 * ("storage '<id>' does not exist"), as are local cdrom images and devices, disks given as
 * host paths and bind mounts. 0 or -ENOMEM.
 */
int guest_migrate_scan(
    GuestType type, const GuestConfig *c, const SectionConfig *storage, MigrateScan *ret
);
void guest_migrate_scan_done(MigrateScan *s);

/* targetstorage / target-storage: "<src>:<dst>" pairs and at most one plain "<dst>" (the
 * default for all others; "1" keeps each volume's storage), separated by , ; or blanks. */
typedef struct MigrateStorageMap {
    json_t *pairs;        /* object src -> dst */
    char *default_target; /* NULL: same storage */
} MigrateStorageMap;

/* -EINVAL with "invalid storage mapping '<item>'" / "duplicate mapping for storage '<id>'" /
 * "more than one default target storage". */
int guest_migrate_storage_map_parse(const char *text, MigrateStorageMap *ret, char **reterr);
void guest_migrate_storage_map_done(MigrateStorageMap *m);
/* Where a local volume of storage src goes. */
const char *guest_migrate_storage_map_get(const MigrateStorageMap *m, const char *src);

/*
 * The storages the scanned volumes need on node that are missing or not enabled there (shared
 * volumes need their own storage, local ones the mapped target storage): a sorted JSON array
 * of storage ids, empty when the node can take the guest.
 */
json_t *guest_migrate_unavailable_storages(
    const MigrateScan *s,
    const SectionConfig *storage,
    const MigrateStorageMap *map,
    const char *node
);

typedef struct MigrateRequest {
    GuestType type;
    uint32_t vmid;
    const char *source;    /* this node */
    const char *target;    /* node name */
    const char *target_ip; /* its cluster address */
    const MigrateStorageMap *map;
    bool force;         /* migrate although local resources are configured */
    TaskWorker *worker; /* counts warnings; NULL: they are only printed */
} MigrateRequest;

/* Run the whole migration (in a task worker). 0 or a negative errno with *reterr set to the
 * task's error text ("migration aborted (duration HH:MM:SS): <why>"). */
int guest_migrate_run(const MigrateRequest *req, char **reterr);
