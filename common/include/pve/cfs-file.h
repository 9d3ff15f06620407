/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cfs-file: files and cluster-wide locks over the mounted /etc/pve, as PVE::Cluster does them
 * (specs/pmxcfs.md §5). Paths are relative to the mount point ($PVE_CFS_MOUNTPOINT, default
 * /etc/pve); absolute paths are taken as they are. Nothing here logs above debug; the lock
 * wait notice goes to stderr as upstream prints it (it ends up in task logs).
 *
 * cfs_lock(): mkdir priv/lock/<id> until it succeeds. While the lock is held elsewhere, send a
 * break request (utime 0, honoured by pmxcfs only once the lock went unrenewed for 120 s) and
 * retry with a backoff from 100 ms to 1 s, up to timeout_s (0 = 10 s). Then run fn and rmdir.
 * fn has a budget of 60 s (half the lock lifetime, leaving the other half before anybody may
 * break the lock): instead of upstream's SIGALRM, which C code cannot safely unwind from, the
 * budget is cooperative: fn may poll cfs_lock_remaining_ms() and stop early, may extend it
 * with cfs_lock_renew(), and if it returns after the budget ran out cfs_lock() reports -ETIME
 * whatever fn returned (upstream's "'<id>'-locked command timed out - aborting").
 *
 * cfs_lock() returns fn's result, or before fn ran: -ETIMEDOUT ("got lock request timeout"),
 * -EACCES ("no quorum!"), -ENOTCONN ("pve cluster filesystem not online."), -EDEADLK (this
 * thread already holds that lock), -EINVAL (bad id), other mkdir errors; -ETIME as above.
 * Callers that need to tell fn's errors apart note in userdata whether fn ran.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pve/macro.h"

/* Read cap: the 1 MiB file limit plus a margin so "too big" is detected, not truncated. */
#define CFS_FILE_MAX_READ        (1024 * 1024 + 4096)
#define CFS_LOCK_DEFAULT_TIMEOUT 10 /* s to acquire */
#define CFS_LOCK_CODE_TIMEOUT    60 /* s for the locked code */

/* The mount point: $PVE_CFS_MOUNTPOINT or /etc/pve. */
const char *cfs_file_mountpoint(void);
/* mountpoint/path (path kept when absolute), malloc'd. */
int cfs_file_path(const char *path, char **ret);

/* Whole file, NUL-terminated (NUL not counted); -EFBIG above CFS_FILE_MAX_READ. */
int cfs_file_read(const char *path, char **ret, size_t *ret_len);
/* Replace a file atomically: write "<path>.tmp.<pid>", then rename over path; the temporary
 * file is removed on any error. Two threads of one process writing the same path at once
 * share the temporary name, so serialise them (cfs_lock_file does). */
int cfs_file_write(const char *path, const void *data, size_t len);

typedef int (*CfsLockFn)(void *userdata);

int cfs_lock(const char *lockid, unsigned timeout_s, CfsLockFn fn, void *userdata);
/* Wrappers with upstream's lock ids, so Perl and C holders exclude each other:
 * file-<path with '.' and '/' replaced by '_'>, storage-<id>, domain-<name>, acme-<account>,
 * firewall-<scope>, authkey. */
int cfs_lock_file(const char *path, unsigned timeout_s, CfsLockFn fn, void *userdata);
int cfs_lock_storage(const char *storeid, unsigned timeout_s, CfsLockFn fn, void *userdata);
int cfs_lock_domain(const char *domain, unsigned timeout_s, CfsLockFn fn, void *userdata);
int cfs_lock_acme(const char *account, unsigned timeout_s, CfsLockFn fn, void *userdata);
int cfs_lock_firewall(const char *scope, unsigned timeout_s, CfsLockFn fn, void *userdata);
int cfs_lock_authkey(unsigned timeout_s, CfsLockFn fn, void *userdata);

/* Inside fn: renew the innermost lock this thread holds (utime now, which restarts pmxcfs's
 * 120 s timer) and restart the 60 s budget. -ENOLCK outside a lock. */
int cfs_lock_renew(void);
/* Inside fn: milliseconds left of the budget (0 when spent); -1 outside a lock. */
int64_t cfs_lock_remaining_ms(void);

/* Pure helpers (exported for tests). */
int cfs_lock_id_file(const char *path, char **ret);
/* "<prefix>-<name>"; -EINVAL when name is empty or would escape priv/lock (contains '/'). */
int cfs_lock_id(const char *prefix, const char *name, char **ret);
/* Upstream's text for a cfs_lock() failure, e.g. "cfs-lock 'file-user_cfg' error: got lock
 * request timeout" (no trailing newline). */
int cfs_lock_error_message(const char *lockid, int error, char **ret);
