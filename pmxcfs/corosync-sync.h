/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * corosync-sync: the two ways corosync.conf moves between /etc/pve and the host
 * (specs/pmxcfs.md §7):
 *   - import: a database created at this start-up (and not -l) gets the host's
 *     /etc/corosync/corosync.conf as "corosync.conf", written through memdb as writer 0;
 *   - sync: the DB copy replaces the host file when its config_version is not lower, written
 *     atomically (temporary file + rename, mode 0644); optionally corosync is then told to
 *     reload (`corosync-cfgtool -R`, 1 s later, on a helper thread, so the caller - the
 *     cluster loop - never waits for it).
 * The decision is a pure function so it can be tested without files. Owns no memdb state and
 * never writes into the tree except for the import.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memdb.h"

typedef enum CorosyncSyncAction {
    COROSYNC_SYNC_UNPARSABLE, /* DB copy has no usable config_version: skip (logged) */
    COROSYNC_SYNC_IDENTICAL,  /* host file already has the same bytes: nothing to do */
    COROSYNC_SYNC_HOST_NEWER, /* host config_version is higher: "local corosync.conf is newer" */
    COROSYNC_SYNC_WRITE,      /* replace the host file */
    _COROSYNC_SYNC_ACTION_MAX,
} CorosyncSyncAction;

const char *corosync_sync_action_to_string(CorosyncSyncAction a);

/*
 * What to do with the DB copy db[0..db_len) given the host file host[0..host_len) (host NULL
 * = no host file). Versions are read like upstream (first `config_version: N` anywhere; 0 or
 * none = unparsable); an unparsable host file never blocks the write. *ret_db_version and
 * *ret_host_version (may be NULL) get the versions found (0 when none).
 */
CorosyncSyncAction corosync_sync_decide(
    const char *db,
    size_t db_len,
    const char *host,
    size_t host_len,
    uint64_t *ret_db_version,
    uint64_t *ret_host_version
);

typedef struct CorosyncSync CorosyncSync;

/*
 * Bound to the tree m (which must outlive it). host_path: the host's corosync.conf (NULL =
 * /etc/corosync/corosync.conf); reload_cmd: the command that makes corosync re-read it, split
 * at blanks and looked up in PATH (NULL = "corosync-cfgtool -R").
 */
int corosync_sync_new(Memdb *m, const char *host_path, const char *reload_cmd, CorosyncSync **ret);
/* Waits for pending reload commands (bounded), then frees. */
CorosyncSync *corosync_sync_free(CorosyncSync *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(CorosyncSync *, corosync_sync_free);
/* Tests: delay before the reload command (default 1000 ms). */
void corosync_sync_set_reload_delay(CorosyncSync *s, unsigned ms);
const char *corosync_sync_host_path(CorosyncSync *s);

/* Import the host file into a new database: 1 imported, 0 no host file, negative errno. */
int corosync_sync_import(CorosyncSync *s);

/*
 * Sync the DB's corosync.conf to the host. Returns the action taken (>= 0), or a negative
 * errno when the DB copy or host file cannot be read or the host file cannot be written
 * (-ENOENT: the DB has no corosync.conf). With reload, after a write that replaced an
 * existing host file, the reload command is started in the background after the delay.
 * Everything worth knowing is logged here; callers need not log again. Thread-safe.
 */
int corosync_sync_to_host(CorosyncSync *s, bool reload);
/* The same as dcdb's corosync_conf_changed hook (userdata = the CorosyncSync): sync, and
 * reload corosync when the change originated on this node. */
void corosync_sync_changed(void *sync, bool local);
