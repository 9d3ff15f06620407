/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Assembly of one pmxcfs instance: opens memdb, decides local vs cluster mode (specs/pmxcfs.md
 * §3 "Quorum and local mode", §7), imports and syncs corosync.conf, mounts the FUSE file
 * system, runs the corosync service loop in cluster mode, and tears it all down in order.
 * Owns the lifetime of the parts, not their logic.
 */
#define FUSE_USE_VERSION 312
#include "pmxcfs.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfs-fuse.h"
#include "cluster-loop.h"
#include "confdb.h"
#include "corosync-sync.h"
#include "dcdb.h"
#include "ipc-server.h"
#include "kvstore.h"
#include "memdb.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/rrd-file.h"
#include "quorum.h"
#include "status.h"

/* quorum, cmap, and room for the replication services (dcdb, kvstore). */
#define PMXCFS_MAX_SERVICES 8

struct Pmxcfs {
    PmxcfsOptions o;
    bool cluster; /* corosync.conf in the DB and not -l */
    Memdb *memdb;
    CfsStatus *status;
    CfsFuse *fuse;
    IpcServer *ipc;
    CorosyncSync *corosync_sync;
    CfsQuorum *quorum;
    Confdb *confdb;
    CfsService *services[PMXCFS_MAX_SERVICES];
    size_t n_services;
    ClusterLoop *loop;
    Dcdb *dcdb;
    Kvstore *kvstore;
    RrdStore *rrd;
    CfsGeneration *generation;
};

static bool status_quorate(void *userdata) {
    return cfs_status_quorate(userdata);
}

/* Quorum changed the mode bits of every entry: drop what the kernel cached. */
static void on_quorum_change(void *userdata, bool quorate) {
    Pmxcfs *p = userdata;
    (void) quorate;
    if (p->fuse)
        cfs_fuse_invalidate_all(p->fuse);
}

/* A change made by another node or by a resync: the kernel's cached view of it is stale. */
static void on_remote_change(void *userdata, const char *path) {
    Pmxcfs *p = userdata;
    cfs_fuse_invalidate_path(p->fuse, path); /* NULL before the mount: nothing cached yet */
}

/* Another node wrote into a file: its name still leads to the same inode. */
static void on_remote_content_change(void *userdata, const char *path) {
    Pmxcfs *p = userdata;
    cfs_fuse_invalidate_content(p->fuse, path);
}

/* Every rrd/ value, ours or a peer's, goes into this node's RRD files (errors are logged). */
static void write_rrd(void *userdata, const char *key, const char *value) {
    (void) rrd_store_update(userdata, key, value);
}

static int add_service(Pmxcfs *p, CfsService *s);

/* The replication services join the loop after quorum and cmap; writes go through dcdb. */
static int add_replication_services(Pmxcfs *p, CfsFuseConfig *cfg) {
    DcdbConfig dc = {
        .memdb = p->memdb,
        .status = p->status,
        .timeout_ms = p->o.cluster_timeout_ms,
        .changed = on_remote_change,
        .content_changed = on_remote_content_change,
        .changed_userdata = p,
        .corosync_conf_changed = corosync_sync_changed,
        .corosync_userdata = p->corosync_sync,
    };
    int r = dcdb_new(&dc, &p->dcdb);
    if (r < 0)
        return r;
    r = kvstore_new(p->status, &p->kvstore);
    if (r < 0)
        return r;
    cfg->submit = dcdb_submit;
    cfg->submit_userdata = p->dcdb;
    if ((r = add_service(p, dcdb_service(p->dcdb))) < 0 ||
        (r = add_service(p, kvstore_service(p->kvstore))) < 0)
        return r;
    return 0;
}

static int add_service(Pmxcfs *p, CfsService *s) {
    if (p->n_services >= PMXCFS_MAX_SERVICES)
        return -E2BIG;
    p->services[p->n_services++] = s;
    return 0;
}

static void stop_cluster_loop(Pmxcfs *p) {
    if (p->loop) {
        p->loop = cluster_loop_stop(p->loop);
        log_debug("corosync service loop stopped");
    }
}

Pmxcfs *pmxcfs_free(Pmxcfs *p) {
    if (!p)
        return NULL;
    dcdb_shutdown(p->dcdb); /* a writer arriving now must not wait for a rejoin */
    stop_cluster_loop(p);   /* before the unmount: its callbacks use the mount */
    p->ipc = ipc_server_stop(p->ipc);
    p->fuse = cfs_fuse_free(p->fuse); /* unmounts */
    p->dcdb = dcdb_free(p->dcdb);
    p->kvstore = kvstore_free(p->kvstore);
    p->quorum = cfs_quorum_free(p->quorum);
    p->confdb = confdb_free(p->confdb);
    p->corosync_sync = corosync_sync_free(p->corosync_sync);
    if (p->memdb)
        memdb_set_change_callback(p->memdb, NULL, NULL);
    p->status = cfs_status_free(p->status);
    p->generation = cfs_generation_close(p->generation); /* after the status that counts in it */
    p->rrd = rrd_store_free(p->rrd); /* after the status: its hook uses the store */
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
    /* Upstream imports the host's corosync.conf only into a database created now. */
    bool new_db = access(dbfile, F_OK) < 0 && errno == ENOENT;
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

    r = corosync_sync_new(p->memdb, o->corosync_conf, o->corosync_reload, &p->corosync_sync);
    if (r < 0)
        return log_error_errno(r, "Failed to set up the corosync.conf sync: %m");
    if (new_db && !o->local)
        (void) corosync_sync_import(p->corosync_sync); /* logs; a failure leaves local mode */

    MemdbStat st;
    bool has_corosync = memdb_stat(p->memdb, PVE_CFS_COROSYNC_CONF, &st) == 0;
    p->cluster = has_corosync && !o->local;
    if (has_corosync && o->local)
        log_notice("forcing local mode (although corosync.conf exists)");

    r = cfs_status_new(p->memdb, o->nodename, &p->status);
    if (r < 0)
        return log_error_errno(r, "Failed to set up the status store: %m");
    memdb_set_change_callback(p->memdb, cfs_status_file_changed, p->status);
    r = cfs_generation_open(o->rundir, &p->generation);
    if (r < 0)
        log_warning_errno(
            r, "no change counter in '%s' (clients ask over IPC instead): %m", o->rundir
        );
    else
        cfs_status_set_generation(p->status, p->generation);
    if (o->rrd_dir) {
        r = rrd_store_new(o->rrd_dir, o->rrdcached_socket, &p->rrd);
        if (r < 0)
            return log_oom();
        cfs_status_set_rrd_writer(p->status, write_rrd, p->rrd);
    }
    if (o->node_ip)
        (void) cfs_status_set(p->status, "nodeip", o->node_ip, strlen(o->node_ip));

    if (p->cluster) {
        /* No quorum until corosync says so; local mode keeps the status store's default. */
        cfs_status_set_quorate(p->status, false);
        r = corosync_sync_to_host(p->corosync_sync, false);
        if (r < 0 && r != -ENOENT)
            log_warning_errno(r, "corosync.conf not synced to the host, continuing: %m");
        if ((r = cfs_quorum_new(p->status, on_quorum_change, p, &p->quorum)) < 0 ||
            (r = confdb_new(p->status, &p->confdb)) < 0)
            return log_oom();
        log_info("cluster mode: corosync.conf found in the database");
    }
    *ret = TAKE_PTR(p);
    return 0;
}

bool pmxcfs_cluster_mode(Pmxcfs *p) {
    return p->cluster;
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
    if (p->cluster) {
        if ((r = add_service(p, cfs_quorum_service(p->quorum))) < 0 ||
            (r = add_service(p, confdb_service(p->confdb))) < 0 ||
            (r = add_replication_services(p, &cfg)) < 0)
            return log_error_errno(r, "Failed to set up the corosync services: %m");
    }
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

    if (p->cluster) {
        r = cluster_loop_start(p->services, p->n_services, &p->loop);
        if (r < 0)
            return log_error_errno(r, "Failed to start the corosync service loop: %m");
    }
    return 0;
}

int pmxcfs_run(Pmxcfs *p) {
    int r = cfs_fuse_loop(p->fuse);
    if (r < 0)
        return log_error_errno(r, "FUSE loop failed: %m");
    return 0;
}

void pmxcfs_stop(Pmxcfs *p) {
    if (!p)
        return;
    stop_cluster_loop(p);
    if (p->fuse)
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
