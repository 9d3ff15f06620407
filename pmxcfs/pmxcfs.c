/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Assembly of one pmxcfs instance: opens memdb, decides local vs cluster mode, mounts the
 * FUSE file system and runs it. Owns the lifetime of the parts, not their logic.
 */
#define FUSE_USE_VERSION 312
#include "pmxcfs.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cfs-fuse.h"
#include "ipc-server.h"
#include "memdb.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "status.h"

struct Pmxcfs {
    PmxcfsOptions o;
    Memdb *memdb;
    CfsStatus *status;
    CfsFuse *fuse;
    IpcServer *ipc;
};

static bool status_quorate(void *userdata) {
    return cfs_status_quorate(userdata);
}

Pmxcfs *pmxcfs_free(Pmxcfs *p) {
    if (!p)
        return NULL;
    p->ipc = ipc_server_stop(p->ipc);
    p->fuse = cfs_fuse_free(p->fuse); /* unmounts */
    if (p->memdb)
        memdb_set_change_callback(p->memdb, NULL, NULL);
    p->status = cfs_status_free(p->status);
    p->memdb = memdb_close(p->memdb);
    free(p);
    return NULL;
}

int pmxcfs_new(const PmxcfsOptions *o, Pmxcfs **ret) {
    _cleanup_(pmxcfs_freep) Pmxcfs *p = calloc(1, sizeof *p);
    _cleanup_free_ char *dbfile = NULL;
    int r;

    if (!p)
        return log_oom();
    p->o = *o;
    if (asprintf(&dbfile, "%s/config.db", o->vardir) < 0)
        return log_oom();
    MemdbLimits limits = memdb_default_limits();
    limits.lock_timeout = o->lock_timeout;
    r = memdb_open(dbfile, &limits, &p->memdb);
    if (r < 0) {
        const char *why = NULL;
        uint64_t inode = 0;
        if (memdb_open_error(&why, &inode) == 0 && inode)
            return log_error_errno(
                r,
                "memdb_open failed: %s: %s (inode %llu); pmxcfs cannot start "
                "with this database: %m",
                dbfile, why, (unsigned long long) inode
            );
        return log_error_errno(
            r, "memdb_open failed: %s: %s: %m", dbfile, why ? why : "cannot load"
        );
    }

    MemdbStat st;
    bool has_corosync = memdb_stat(p->memdb, PVE_CFS_COROSYNC_CONF, &st) == 0;
    if (has_corosync && !o->local)
        return log_error_errno(
            ENOTSUP,
            "The database holds corosync.conf, but cluster mode is "
            "not implemented yet; start with -l to force local mode."
        );
    if (has_corosync)
        log_notice("forcing local mode (although corosync.conf exists)");

    r = cfs_status_new(p->memdb, o->nodename, &p->status);
    if (r < 0)
        return log_error_errno(r, "Failed to set up the status store: %m");
    memdb_set_change_callback(p->memdb, cfs_status_file_changed, p->status);
    *ret = TAKE_PTR(p);
    return 0;
}

int pmxcfs_start(Pmxcfs *p) {
    int r;
    if (mkdir(p->o.mountpoint, 0750) < 0 && errno != EEXIST)
        return log_error_errno(errno, "Failed to create mount point '%s': %m", p->o.mountpoint);
    /* A previous instance may have left a dead mount behind. */
    (void) umount2(p->o.mountpoint, MNT_DETACH);

    CfsFuseConfig cfg = {
        .memdb = p->memdb,
        .nodename = p->o.nodename,
        .www_gid = p->o.www_gid,
        .cache_timeout = p->o.cache_timeout,
        .quorate = status_quorate,
        .userdata = p->status,
    };
    cfg.plugs = cfs_status_plugs(p->status, &cfg.n_plugs);
    r = cfs_fuse_new(&cfg, p->o.mountpoint, &p->fuse);
    if (r < 0)
        return log_error_errno(
            r,
            "Failed to mount FUSE file system at '%s' (is /dev/fuse "
            "available?): %m",
            p->o.mountpoint
        );

    r = ipc_server_start(
        p->memdb, p->status, p->o.ipc_service ? p->o.ipc_service : PVE_CFS_IPC_SERVICE,
        p->o.www_gid, &p->ipc
    );
    if (r < 0)
        return log_error_errno(r, "Failed to start the IPC server: %m");
    return 0;
}

int pmxcfs_run(Pmxcfs *p) {
    int r = cfs_fuse_loop(p->fuse);
    if (r < 0)
        return log_error_errno(r, "FUSE loop failed: %m");
    return 0;
}

void pmxcfs_stop(Pmxcfs *p) {
    if (p && p->fuse)
        cfs_fuse_exit(p->fuse);
}

int pmxcfs_check_database(const char *dbfile, bool verbose) {
    _cleanup_(memdb_closep) Memdb *m = NULL;
    MemdbLimits limits = memdb_default_limits();
    int r = memdb_open(dbfile, &limits, &m);
    if (r < 0) {
        const char *why = NULL;
        uint64_t inode = 0;
        (void) memdb_open_error(&why, &inode);
        return log_error_errno(
            r, "%s: %s (inode %llu): %m", dbfile, why ? why : "cannot load",
            (unsigned long long) inode
        );
    }
    if (verbose) {
        uint64_t version;
        memdb_root_info(m, &version, NULL, NULL);
        log_info(
            "%s: %zu entries, %llu bytes, version %llu", dbfile, memdb_entry_count(m),
            (unsigned long long) memdb_total_size(m), (unsigned long long) version
        );
    }
    return 0;
}
