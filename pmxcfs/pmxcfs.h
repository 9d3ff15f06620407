/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pmxcfs: one instance of the file system service, assembled from memdb (tree + database),
 * cfs-fuse (the mount) and the status/IPC parts. main.c only parses options and daemonises;
 * tests build an instance directly.
 */
#pragma once

#include <sys/types.h>

#include <stdbool.h>

#include "pve/macro.h"

typedef struct PmxcfsOptions {
    bool debug;
    bool foreground;
    bool local;
    const char *mountpoint;
    const char *vardir;
    const char *rundir;
    const char *pidfile;
    const char *nodename;
    const char *node_ip;         /* this node's address (NULL if unknown), published as nodeip */
    const char *ipc_service;     /* libqb IPC service name, NULL = "pve2" */
    const char *corosync_conf;   /* host corosync.conf, NULL = /etc/corosync/corosync.conf */
    const char *corosync_reload; /* command run after syncing it, NULL = corosync-cfgtool -R */
    gid_t www_gid;
    unsigned lock_timeout;
    double cache_timeout;
    unsigned cluster_timeout_ms;  /* how long a writer waits for the cluster (0 = 30 s) */
    const char *rrd_dir;          /* RRD files of rrd/ values; NULL = write none */
    const char *rrdcached_socket; /* rrdcached socket for them; NULL = librrd only */
} PmxcfsOptions;

typedef struct Pmxcfs Pmxcfs;

/* Open the database and prepare the mount (nothing is served yet). */
int pmxcfs_new(const PmxcfsOptions *o, Pmxcfs **ret);
/* Mount and start the service threads (in cluster mode also the corosync loop). */
int pmxcfs_start(Pmxcfs *p);
/* Serve until pmxcfs_stop() or an external unmount (blocks; run it on its own thread). */
int pmxcfs_run(Pmxcfs *p);
/* Make pmxcfs_run() return: stops the corosync loop, then unmounts (lazily). */
void pmxcfs_stop(Pmxcfs *p);
/* Load a database the way start-up would and report what is wrong with it (for --check). */
int pmxcfs_check_database(const char *dbfile, bool verbose);
/* true when the instance runs with corosync (corosync.conf in the DB and not -l). */
bool pmxcfs_cluster_mode(Pmxcfs *p);
Pmxcfs *pmxcfs_free(Pmxcfs *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Pmxcfs *, pmxcfs_free);
