/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cfs-file: reading, atomically replacing and locking files on the mounted /etc/pve (see
 * pve/cfs-file.h). Owns the lock-id naming, the acquire/break/backoff loop and the per-thread
 * stack of held locks. Must not assume the mount is up: every failure is an errno for the
 * caller, and the lock wait must stay gentle on the cluster (each mkdir and utime of a lock
 * is a multicast there).
 */
#include "pve/cfs-file.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/fileio.h"
#include "pve/log.h"
#include "pve/paths.h"

#define USEC_PER_SEC     1000000ULL
#define BACKOFF_MIN_USEC (100 * 1000ULL)
#define BACKOFF_MAX_USEC USEC_PER_SEC

const char *cfs_file_mountpoint(void) {
    return pve_path_env("PVE_CFS_MOUNTPOINT", PVE_CFS_MOUNTPOINT);
}

int cfs_file_path(const char *path, char **ret) {
    if (!path || !*path)
        return -EINVAL;
    char *p = path[0] == '/' ? strdup(path) : NULL;
    if (path[0] != '/' && asprintf(&p, "%s/%s", cfs_file_mountpoint(), path) < 0)
        p = NULL;
    if (!p)
        return -ENOMEM;
    *ret = p;
    return 0;
}

int cfs_file_read(const char *path, char **ret, size_t *ret_len) {
    _cleanup_free_ char *full = NULL;
    int r = cfs_file_path(path, &full);
    if (r < 0)
        return r;
    return read_full_file(full, CFS_FILE_MAX_READ, ret, ret_len);
}

int cfs_file_write(const char *path, const void *data, size_t len) {
    _cleanup_free_ char *full = NULL, *tmp = NULL;
    int fd, r;

    if (len && !data)
        return -EINVAL;
    if ((r = cfs_file_path(path, &full)) < 0)
        return r;
    if (asprintf(&tmp, "%s.tmp.%d", full, (int) getpid()) < 0)
        return -ENOMEM;
    /* pmxcfs decides the mode itself; 0640 is what it shows for non-private files. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0)
        return -errno;
    r = write_all(fd, data, len);
    if (close(fd) < 0 && r >= 0)
        r = -errno;
    if (r >= 0 && rename(tmp, full) < 0)
        r = -errno;
    if (r < 0) {
        (void) unlink(tmp);
        return log_debug_errno(r, "Failed to write '%s': %m", full);
    }
    return 0;
}

/* ---- locks ------------------------------------------------------------------------------ */

/* A lock held by this thread; the frames live on cfs_lock()'s stack. */
typedef struct LockFrame {
    const char *dir;
    uint64_t deadline; /* monotonic usec: end of fn's budget */
    struct LockFrame *outer;
} LockFrame;

static __thread LockFrame *lock_top;

static uint64_t now_usec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void sleep_usec(uint64_t usec) {
    struct timespec ts = {
        .tv_sec = (time_t) (usec / USEC_PER_SEC), .tv_nsec = (long) (usec % USEC_PER_SEC) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* pmxcfs shows "local" without the owner-write bit when the node is not quorate; upstream's
 * check_cfs_quorum() tests exactly that, and a missing symlink counts as not quorate. */
static bool cfs_quorate(void) {
    _cleanup_free_ char *local = NULL;
    struct stat st;
    if (cfs_file_path("local", &local) < 0)
        return true; /* OOM: do not invent a quorum problem */
    return lstat(local, &st) == 0 && (st.st_mode & S_IWUSR);
}

static bool lock_id_valid(const char *id) {
    return id && *id && !strchr(id, '/') && !streq(id, ".") && !streq(id, "..") &&
           strlen(id) <= NAME_MAX;
}

int cfs_lock_id(const char *prefix, const char *name, char **ret) {
    char *id;
    if (!prefix || !*prefix || !name || !*name || strchr(name, '/'))
        return -EINVAL;
    if (asprintf(&id, "%s-%s", prefix, name) < 0)
        return -ENOMEM;
    if (!lock_id_valid(id)) {
        free(id);
        return -EINVAL;
    }
    *ret = id;
    return 0;
}

int cfs_lock_id_file(const char *path, char **ret) {
    char *id;
    if (!path || !*path || path[0] == '/')
        return -EINVAL;
    if (asprintf(&id, "file-%s", path) < 0)
        return -ENOMEM;
    for (char *p = id; *p; p++)
        if (*p == '.' || *p == '/')
            *p = '_';
    if (!lock_id_valid(id)) {
        free(id);
        return -EINVAL;
    }
    *ret = id;
    return 0;
}

/* Upstream reports any failure to get the lock as "no quorum!" when the node is not quorate. */
static int lock_failed(const char *lockid, int r) {
    if (!cfs_quorate())
        r = -EACCES;
    return log_debug_errno(r, "cfs-lock '%s' failed: %m", lockid);
}

/* priv/lock must exist; its absence means the file system is not (properly) mounted. */
static int ensure_lock_dir(const char *lockdir) {
    struct stat st;
    if (stat(lockdir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    (void) mkdir(lockdir, 0755);
    if (stat(lockdir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    return -ENOTCONN;
}

int cfs_lock(const char *lockid, unsigned timeout_s, CfsLockFn fn, void *userdata) {
    _cleanup_free_ char *lockdir = NULL, *dir = NULL;
    bool announced = false;
    int r;

    if (!lock_id_valid(lockid) || !fn)
        return -EINVAL;
    if (timeout_s == 0)
        timeout_s = CFS_LOCK_DEFAULT_TIMEOUT;
    if ((r = cfs_file_path(PVE_CFS_LOCK_DIR, &lockdir)) < 0)
        return r;
    if (asprintf(&dir, "%s/%s", lockdir, lockid) < 0)
        return -ENOMEM;
    for (LockFrame *f = lock_top; f; f = f->outer)
        if (streq(f->dir, dir))
            return -EDEADLK; /* would wait for ourselves until the timeout */
    if ((r = ensure_lock_dir(lockdir)) < 0)
        return lock_failed(lockid, r);

    uint64_t deadline = now_usec() + timeout_s * USEC_PER_SEC, backoff = BACKOFF_MIN_USEC;
    for (;;) {
        if (mkdir(dir, 0755) == 0)
            break;
        if (errno != EEXIST)
            return lock_failed(lockid, -errno);
        uint64_t now = now_usec();
        if (now >= deadline)
            return lock_failed(lockid, -ETIMEDOUT);
        if (!announced) {
            fprintf(stderr, "trying to acquire cfs lock '%s' ...\n", lockid);
            announced = true;
        } else
            log_debug("cfs lock '%s' still held elsewhere, retrying", lockid);
        /* Break request: pmxcfs honours it only for a lock unrenewed for its lock timeout. */
        const struct timespec zero[2] = {{0, 0}, {0, 0}};
        (void) utimensat(AT_FDCWD, dir, zero, 0);
        sleep_usec(MIN(backoff, deadline - now));
        backoff = MIN(backoff * 2, BACKOFF_MAX_USEC);
    }

    LockFrame frame = {
        .dir = dir,
        .deadline = now_usec() + CFS_LOCK_CODE_TIMEOUT * USEC_PER_SEC,
        .outer = lock_top,
    };
    lock_top = &frame;
    r = fn(userdata);
    lock_top = frame.outer;
    bool late = now_usec() > frame.deadline;

    if (rmdir(dir) < 0)
        log_debug_errno(errno, "Failed to release cfs lock '%s', ignoring: %m", lockid);
    if (late)
        return log_debug_errno(ETIME, "'%s'-locked command timed out - aborting", lockid);
    return r;
}

int cfs_lock_renew(void) {
    if (!lock_top)
        return -ENOLCK;
    /* NULL times = now: pmxcfs accepts it from the node that holds the lock. */
    if (utimensat(AT_FDCWD, lock_top->dir, NULL, 0) < 0)
        return -errno;
    lock_top->deadline = now_usec() + CFS_LOCK_CODE_TIMEOUT * USEC_PER_SEC;
    return 0;
}

int64_t cfs_lock_remaining_ms(void) {
    if (!lock_top)
        return -1;
    uint64_t now = now_usec();
    return now >= lock_top->deadline ? 0 : (int64_t) ((lock_top->deadline - now) / 1000);
}

static int lock_with_id(int r, char *id, unsigned timeout_s, CfsLockFn fn, void *userdata) {
    _cleanup_free_ char *owned = id;
    return r < 0 ? r : cfs_lock(owned, timeout_s, fn, userdata);
}

int cfs_lock_file(const char *path, unsigned timeout_s, CfsLockFn fn, void *userdata) {
    char *id = NULL;
    int r = cfs_lock_id_file(path, &id);
    return lock_with_id(r, id, timeout_s, fn, userdata);
}

int cfs_lock_storage(const char *storeid, unsigned timeout_s, CfsLockFn fn, void *userdata) {
    char *id = NULL;
    int r = cfs_lock_id("storage", storeid, &id);
    return lock_with_id(r, id, timeout_s, fn, userdata);
}

int cfs_lock_domain(const char *domain, unsigned timeout_s, CfsLockFn fn, void *userdata) {
    char *id = NULL;
    int r = cfs_lock_id("domain", domain, &id);
    return lock_with_id(r, id, timeout_s, fn, userdata);
}

int cfs_lock_acme(const char *account, unsigned timeout_s, CfsLockFn fn, void *userdata) {
    char *id = NULL;
    int r = cfs_lock_id("acme", account, &id);
    return lock_with_id(r, id, timeout_s, fn, userdata);
}

int cfs_lock_firewall(const char *scope, unsigned timeout_s, CfsLockFn fn, void *userdata) {
    char *id = NULL;
    int r = cfs_lock_id("firewall", scope, &id);
    return lock_with_id(r, id, timeout_s, fn, userdata);
}

int cfs_lock_authkey(unsigned timeout_s, CfsLockFn fn, void *userdata) {
    return cfs_lock("authkey", timeout_s, fn, userdata);
}

int cfs_lock_error_message(const char *lockid, int error, char **ret) {
    const char *why;
    int k;

    if (!lockid)
        return -EINVAL;
    switch (-abs(error)) {
    case -ETIME:
        k = asprintf(ret, "'%s'-locked command timed out - aborting", lockid);
        return k < 0 ? -ENOMEM : 0;
    case -ETIMEDOUT:
        why = "got lock request timeout";
        break;
    case -EACCES:
        why = "no quorum!";
        break;
    case -ENOTCONN:
        why = "pve cluster filesystem not online.";
        break;
    default:
        why = strerrordesc_np(abs(error));
        if (!why)
            why = "unknown error";
        break;
    }
    k = asprintf(ret, "cfs-lock '%s' error: %s", lockid, why);
    return k < 0 ? -ENOMEM : 0;
}
