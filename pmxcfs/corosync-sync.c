/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * corosync-sync: corosync.conf between the tree and the host (see corosync-sync.h).
 *
 * The reload runs on a short-lived helper thread per request: it sleeps the delay, spawns the
 * command with a clean signal mask and only stdio inherited, reaps it (killing it after
 * COROSYNC_RELOAD_TIMEOUT_S) and logs the exit status. Threads are joined lazily on the next
 * request and at free, so none is left behind.
 */
#include "corosync-sync.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/corosync-conf.h"
#include "pve/fileio.h"
#include "pve/log.h"
#include "pve/paths.h"

extern char **environ;

#define COROSYNC_RELOAD_DEFAULT   "corosync-cfgtool -R"
#define COROSYNC_RELOAD_DELAY_MS  1000u
#define COROSYNC_RELOAD_TIMEOUT_S 30
#define COROSYNC_RELOAD_MAX_ARGS  16

struct CorosyncSync {
    pthread_mutex_t lock;
    Memdb *memdb;
    char *host_path;
    char *cmd_buf; /* reload_argv points into it */
    char *reload_argv[COROSYNC_RELOAD_MAX_ARGS + 1];
    unsigned reload_delay_ms;
    pthread_t *threads;
    size_t n_threads;
};

static const char *const action_names[_COROSYNC_SYNC_ACTION_MAX] = {
    [COROSYNC_SYNC_UNPARSABLE] = "unparsable",
    [COROSYNC_SYNC_IDENTICAL] = "identical",
    [COROSYNC_SYNC_HOST_NEWER] = "host-newer",
    [COROSYNC_SYNC_WRITE] = "write",
};

const char *corosync_sync_action_to_string(CorosyncSyncAction a) {
    return a >= 0 && a < _COROSYNC_SYNC_ACTION_MAX ? action_names[a] : NULL;
}

static uint64_t version_of(const char *text, size_t len) {
    uint64_t v;
    if (!text || corosync_conf_extract_config_version(text, len, &v) < 0)
        return 0;
    return v;
}

CorosyncSyncAction corosync_sync_decide(
    const char *db,
    size_t db_len,
    const char *host,
    size_t host_len,
    uint64_t *ret_db_version,
    uint64_t *ret_host_version
) {
    uint64_t dv = version_of(db, db_len), hv = version_of(host, host_len);
    if (ret_db_version)
        *ret_db_version = dv;
    if (ret_host_version)
        *ret_host_version = hv;
    if (dv == 0)
        return COROSYNC_SYNC_UNPARSABLE;
    if (host && host_len == db_len && memcmp(host, db, db_len) == 0)
        return COROSYNC_SYNC_IDENTICAL;
    if (hv != 0 && dv < hv)
        return COROSYNC_SYNC_HOST_NEWER;
    return COROSYNC_SYNC_WRITE;
}

/* ---- files ------------------------------------------------------------------------------ */

/* Whole file, NUL-terminated; -ENOENT when missing, -EFBIG above the corosync.conf limit. */
static int read_file(const char *path, char **ret, size_t *ret_len) {
    return read_full_file(path, COROSYNC_CONF_MAX_SIZE, ret, ret_len);
}

/* Replace path with data: a temporary file next to it, fsync, chmod, rename, fsync the dir. */
static int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode) {
    _cleanup_free_ char *tmp = NULL, *dir = strdup(path);
    _cleanup_close_ int dfd = -EBADF;
    int r;
    if (!dir || asprintf(&tmp, "%s.XXXXXX", path) < 0)
        return -ENOMEM;
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if ((r = write_all(fd, data, len)) < 0)
        goto fail;
    if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
        r = -errno;
        goto fail;
    }
    fd = safe_close(fd);
    if (rename(tmp, path) < 0) {
        r = -errno;
        goto fail;
    }
    dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        (void) fsync(dfd);
    return 0;
fail:
    (void) unlink(tmp);
    return r;
}

/* ---- reload ----------------------------------------------------------------------------- */

typedef struct ReloadJob {
    char *cmd_buf;
    char *argv[COROSYNC_RELOAD_MAX_ARGS + 1];
    unsigned delay_ms;
} ReloadJob;

static void reload_job_free(ReloadJob *j) {
    if (j) {
        free(j->cmd_buf);
        free(j);
    }
}

/* Split a command line at blanks into argv pointing into buf (no quoting). */
static int split_command(char *buf, char *argv[COROSYNC_RELOAD_MAX_ARGS + 1]) {
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == COROSYNC_RELOAD_MAX_ARGS)
            return -E2BIG;
        argv[n++] = t;
    }
    argv[n] = NULL;
    return n > 0 ? 0 : -EINVAL;
}

static void *reload_thread(void *userdata) {
    ReloadJob *j = userdata;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    sigset_t none, all;
    pid_t pid;
    int r;

    struct timespec d = {.tv_sec = j->delay_ms / 1000, .tv_nsec = (j->delay_ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) < 0 && errno == EINTR)
        ;

    sigemptyset(&none);
    sigfillset(&all);
    (void) posix_spawnattr_init(&attr);
    (void) posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    (void) posix_spawnattr_setsigmask(&attr, &none);
    (void) posix_spawnattr_setsigdefault(&attr, &all);
    (void) posix_spawn_file_actions_init(&fa);
    (void) posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    (void) posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    r = posix_spawnp(&pid, j->argv[0], &fa, &attr, j->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (r != 0) {
        log_error_errno(r, "cannot run '%s' to reload corosync: %m", j->argv[0]);
        goto out;
    }

    int status = 0;
    for (unsigned waited_ms = 0;; waited_ms += 20) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            log_error_errno(errno, "waitpid for '%s' failed: %m", j->argv[0]);
            goto out;
        }
        if (waited_ms >= COROSYNC_RELOAD_TIMEOUT_S * 1000u) {
            log_error("'%s' hangs after %d s, killing it", j->argv[0], COROSYNC_RELOAD_TIMEOUT_S);
            (void) kill(pid, SIGKILL);
            (void) waitpid(pid, &status, 0);
            goto out;
        }
        (void) nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000L}, NULL);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        log_info("'%s' (corosync reload) succeeded", j->argv[0]);
    else if (WIFEXITED(status))
        log_warning("'%s' (corosync reload) exited with %d", j->argv[0], WEXITSTATUS(status));
    else
        log_warning("'%s' (corosync reload) was killed by signal %d", j->argv[0], WTERMSIG(status));
out:
    reload_job_free(j);
    return NULL;
}

/* Join helper threads that are done (all of them, waiting, when wait is set). Lock held. */
static void reap_threads(CorosyncSync *s, bool wait) {
    size_t k = 0;
    for (size_t i = 0; i < s->n_threads; i++) {
        if (wait ? pthread_join(s->threads[i], NULL) == 0
                 : pthread_tryjoin_np(s->threads[i], NULL) == 0)
            continue;
        s->threads[k++] = s->threads[i];
    }
    s->n_threads = k;
}

static int start_reload(CorosyncSync *s) {
    ReloadJob *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    j->delay_ms = s->reload_delay_ms;
    j->cmd_buf = NULL;
    /* Own copy of argv: the job must not depend on s. */
    size_t size = 0;
    for (char **a = s->reload_argv; *a; a++)
        size += strlen(*a) + 1;
    j->cmd_buf = malloc(size ? size : 1);
    if (!j->cmd_buf) {
        reload_job_free(j);
        return -ENOMEM;
    }
    char *p = j->cmd_buf;
    size_t n = 0;
    for (char **a = s->reload_argv; *a; a++) {
        size_t l = strlen(*a) + 1;
        memcpy(p, *a, l);
        j->argv[n++] = p;
        p += l;
    }
    j->argv[n] = NULL;

    reap_threads(s, false);
    pthread_t *t = realloc(s->threads, (s->n_threads + 1) * sizeof *t);
    if (!t) {
        reload_job_free(j);
        return -ENOMEM;
    }
    s->threads = t;
    sigset_t all, old;
    sigfillset(&all);
    (void) pthread_sigmask(SIG_BLOCK, &all, &old);
    int r = -pthread_create(&s->threads[s->n_threads], NULL, reload_thread, j);
    (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) {
        reload_job_free(j);
        return r;
    }
    s->n_threads++;
    return 0;
}

/* ---- public ----------------------------------------------------------------------------- */

int corosync_sync_new(Memdb *m, const char *host_path, const char *reload_cmd, CorosyncSync **ret) {
    CorosyncSync *s = calloc(1, sizeof *s);
    int r;
    if (!s)
        return -ENOMEM;
    s->memdb = m;
    pthread_mutex_init(&s->lock, NULL);
    s->reload_delay_ms = COROSYNC_RELOAD_DELAY_MS;
    s->host_path = strdup(host_path ? host_path : PVE_COROSYNC_CONF);
    s->cmd_buf = strdup(reload_cmd ? reload_cmd : COROSYNC_RELOAD_DEFAULT);
    if (!s->host_path || !s->cmd_buf) {
        corosync_sync_free(s);
        return -ENOMEM;
    }
    r = split_command(s->cmd_buf, s->reload_argv);
    if (r < 0) {
        corosync_sync_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

CorosyncSync *corosync_sync_free(CorosyncSync *s) {
    if (!s)
        return NULL;
    pthread_mutex_lock(&s->lock);
    reap_threads(s, true);
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_destroy(&s->lock);
    free(s->threads);
    free(s->host_path);
    free(s->cmd_buf);
    free(s);
    return NULL;
}

void corosync_sync_set_reload_delay(CorosyncSync *s, unsigned ms) {
    pthread_mutex_lock(&s->lock);
    s->reload_delay_ms = ms;
    pthread_mutex_unlock(&s->lock);
}

const char *corosync_sync_host_path(CorosyncSync *s) {
    return s->host_path;
}

int corosync_sync_import(CorosyncSync *s) {
    Memdb *m = s->memdb;
    _cleanup_free_ char *data = NULL;
    size_t len;
    int r = read_file(s->host_path, &data, &len);
    if (r == -ENOENT) {
        log_debug("no %s to import into the new database", s->host_path);
        return 0;
    }
    if (r < 0)
        return log_error_errno(r, "cannot read '%s' to import it: %m", s->host_path);

    uint32_t now = (uint32_t) time(NULL);
    r = memdb_create(m, PVE_CFS_COROSYNC_CONF, 0, now);
    if (r >= 0)
        r = memdb_write(m, PVE_CFS_COROSYNC_CONF, 0, data, len, true, 0, now);
    if (r < 0)
        return log_error_errno(r, "cannot import '%s' into the database: %m", s->host_path);
    log_notice("imported %s into the new database as %s", s->host_path, PVE_CFS_COROSYNC_CONF);
    return 1;
}

int corosync_sync_to_host(CorosyncSync *s, bool reload) {
    Memdb *m = s->memdb;
    _cleanup_free_ char *db = NULL, *host = NULL;
    size_t db_len = 0, host_len = 0;
    uint64_t dv, hv;
    int r;

    r = memdb_read_all(m, PVE_CFS_COROSYNC_CONF, &db, &db_len);
    if (r == -ENOENT)
        return r;
    if (r < 0)
        return log_error_errno(r, "cannot read %s from the database: %m", PVE_CFS_COROSYNC_CONF);

    pthread_mutex_lock(&s->lock);
    r = read_file(s->host_path, &host, &host_len);
    if (r < 0 && r != -ENOENT) {
        log_error_errno(r, "cannot read '%s': %m", s->host_path);
        goto out;
    }

    CorosyncSyncAction a = corosync_sync_decide(db, db_len, host, host_len, &dv, &hv);
    switch (a) {
    case COROSYNC_SYNC_UNPARSABLE:
        log_error(
            "unable to parse config_version of %s in the cluster file system; not syncing "
            "it to %s",
            PVE_CFS_COROSYNC_CONF, s->host_path
        );
        break;
    case COROSYNC_SYNC_IDENTICAL:
        log_debug("%s is up to date (config_version %" PRIu64 ")", s->host_path, dv);
        break;
    case COROSYNC_SYNC_HOST_NEWER:
        log_error(
            "local corosync.conf is newer: %s has config_version %" PRIu64
            ", the cluster file system %" PRIu64 "; not overwriting it",
            s->host_path, hv, dv
        );
        break;
    case COROSYNC_SYNC_WRITE:
        r = write_file_atomic(s->host_path, db, db_len, 0644);
        if (r < 0) {
            log_error_errno(r, "cannot write new corosync config '%s': %m", s->host_path);
            goto out;
        }
        log_notice("wrote new corosync config '%s' (version = %" PRIu64 ")", s->host_path, dv);
        if (reload && host) {
            r = start_reload(s);
            if (r < 0) {
                log_error_errno(r, "cannot start the corosync reload: %m");
                goto out;
            }
            log_info(
                "corosync will reload its configuration ('%s' in %u ms)", s->reload_argv[0],
                s->reload_delay_ms
            );
        }
        break;
    default:
        break;
    }
    r = (int) a;
out:
    pthread_mutex_unlock(&s->lock);
    return r;
}

void corosync_sync_changed(void *sync, bool local) {
    (void) corosync_sync_to_host(sync, local); /* logs itself */
}
