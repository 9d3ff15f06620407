/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cfs-fuse: /etc/pve as a low-level FUSE file system over memdb, plus the root-level plug
 * entries (symlinks and generated dot-files). Owns inode mapping (FUSE ino = memdb inode + 1,
 * plugs in a reserved range), mode/ownership computation, the chmod/chown/link rules and
 * kernel cache invalidation. Mutations are MemdbOp messages handed to one submit hook so the
 * cluster layer can route them through corosync; local mode applies them to memdb directly.
 */
#pragma once

#include <sys/types.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memdb.h"

/* A generated file at the root (.version, .members, ...). */
typedef struct CfsPlugFile {
    const char *name;
    mode_t mode; /* permission bits, e.g. 0440 */
    /* Produce the current content (malloc'd). */
    int (*generate)(void *userdata, char **ret, size_t *ret_len);
    /* Accept a write at offset (NULL: writes fail with EIO). */
    int (*write)(void *userdata, const char *data, size_t len, uint64_t offset);
    void *userdata;
} CfsPlugFile;

/* A submitted operation's completion: r is its result (0 or a negative errno). */
typedef struct CfsSubmitDone {
    void (*fn)(void *ctx, int r);
    void *ctx;
} CfsSubmitDone;

typedef struct CfsFuseConfig {
    Memdb *memdb;
    const char *nodename;
    gid_t www_gid;
    const CfsPlugFile *plugs;
    size_t n_plugs;
    /* Quorum: writes get EACCES and modes lose their write bits without it. NULL = quorate. */
    bool (*quorate)(void *userdata);
    void *userdata;
    double cache_timeout; /* kernel entry/attr cache, seconds */
    /* Route a mutation: NULL = apply to memdb now as writer 0 (local mode). The cluster layer
     * sets this to multicast the operation and return the result of its own delivery. With
     * done, it may call done->fn(done->ctx, result) on the thread that learns the result
     * (before returning it) and then sets *ret_done_ran: the FUSE answer leaves from there
     * without waking the waiting FUSE thread first. */
    int (*submit
    )(void *submit_userdata, const MemdbOp *op, const CfsSubmitDone *done, bool *ret_done_ran);
    void *submit_userdata;
} CfsFuseConfig;

typedef struct CfsFuse CfsFuse;

/* Mount at mountpoint (must exist); extra_opts may add e.g. "debug". */
int cfs_fuse_new(const CfsFuseConfig *config, const char *mountpoint, CfsFuse **ret);
/* Run the multi-threaded loop until unmount or a signal; returns 0 or negative errno. */
int cfs_fuse_loop(CfsFuse *f);
/* The signal that interrupts the loop's threads at exit. Block it in every other thread:
 * call cfs_fuse_block_wakeup() early in main(), before any thread is created. */
#define CFS_FUSE_WAKEUP_SIGNAL SIGUSR2
void cfs_fuse_block_wakeup(void);
/* End the loop from another thread: sets the exit flag and unmounts (lazily). */
void cfs_fuse_exit(CfsFuse *f);
CfsFuse *cfs_fuse_free(CfsFuse *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(CfsFuse *, cfs_fuse_free);

/* Drop the kernel's cached view of a path (changes that did not come through this mount).
 * Asynchronous: queued for the invalidation thread, so it is safe from any thread, including
 * one that a blocked FUSE request waits for. NULL f is a no-op. */
void cfs_fuse_invalidate_path(CfsFuse *f, const char *path);
/* The same for a file whose content and attributes changed but whose name still leads to the
 * same inode (a write elsewhere): cached directory entries stay valid. */
void cfs_fuse_invalidate_content(CfsFuse *f, const char *path);
/* The same as a MemdbChangeFn (userdata = the CfsFuse). */
void cfs_fuse_invalidate_changed(void *fuse, const char *path);
/* Drop every cached attribute (e.g. after a quorum change altered all modes). */
void cfs_fuse_invalidate_all(CfsFuse *f);

/* Mode bits pmxcfs shows for an entry (pure; exported for tests). */
mode_t cfs_fuse_mode(uint8_t type, bool private_path, bool quorate);
