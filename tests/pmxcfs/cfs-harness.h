/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Harness shared by the pmxcfs integration tests (test-fs.c, test-crash.c): a private mount
 * (and, when possible, network) namespace, a tmpdir with mnt/ var/ run/, starting the real
 * pmxcfs binary in the foreground on it, waiting until the mount serves, stopping it by PID,
 * unmounting what is left and removing the tmpdir. Plus a minimal TAP printer.
 *
 * Exit codes follow meson: 0 pass, 1 fail, 77 skip (not root, no /dev/fuse, no namespaces).
 */
#pragma once

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/macro.h"

#define HARNESS_FUSE_MAGIC 0x65735546

/* ---- TAP -------------------------------------------------------------------------------- */

static unsigned tap_count, tap_failures;

static inline bool tap_vresult(bool ok, const char *fmt, va_list ap) {
    tap_count++;
    if (!ok)
        tap_failures++;
    printf("%s %u - ", ok ? "ok" : "not ok", tap_count);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    return ok;
}

__attribute__((format(printf, 2, 3))) static inline bool tap(bool ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tap_vresult(ok, fmt, ap);
    va_end(ap);
    return ok;
}

__attribute__((format(printf, 1, 2))) static inline void tap_diag(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
}

/* r is a syscall result (-1 + errno on failure); want_errno 0 means "must succeed". */
__attribute__((format(printf, 3, 4))) static inline bool
tap_errno(long r, int want_errno, const char *fmt, ...) {
    int e = r < 0 ? errno : 0;
    bool ok = want_errno == 0 ? r >= 0 : (r == -1 && e == want_errno);
    va_list ap;
    va_start(ap, fmt);
    tap_vresult(ok, fmt, ap);
    va_end(ap);
    if (!ok)
        tap_diag(
            "  expected %s, got %s", want_errno ? strerror(want_errno) : "success",
            r < 0 ? strerror(e) : "success"
        );
    return ok;
}

static inline int tap_finish(void) {
    printf("1..%u\n", tap_count);
    if (tap_failures)
        printf("# %u of %u failed\n", tap_failures, tap_count);
    fflush(stdout);
    return tap_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- harness ---------------------------------------------------------------------------- */

typedef struct Harness {
    const char *binary;
    char dir[64];
    char mnt[128], var[128], run[128], pidfile[128], log[128], db[160], flag[160];
    char ipc[64];
    bool ipc_option; /* the binary knows --ipc-service */
    unsigned lock_timeout;
    pid_t pid;
} Harness;

static inline double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static inline void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Root, /dev/fuse and a private mount namespace; 0, or 77 to skip. Also tries a private
 * network namespace so pmxcfs's abstract IPC socket cannot clash with another instance. */
static inline int harness_enter_namespace(void) {
    if (geteuid() != 0) {
        printf("1..0 # SKIP needs root\n");
        return 77;
    }
    if (access("/dev/fuse", R_OK | W_OK) < 0) {
        printf("1..0 # SKIP no /dev/fuse\n");
        return 77;
    }
    if (!getgrnam("www-data")) {
        printf("1..0 # SKIP no www-data group\n");
        return 77;
    }
    if (unshare(CLONE_NEWNS) < 0) {
        printf("1..0 # SKIP unshare(CLONE_NEWNS): %s\n", strerror(errno));
        return 77;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        printf("1..0 # SKIP making / private: %s\n", strerror(errno));
        return 77;
    }
    (void) unshare(CLONE_NEWNET);
    return 0;
}

static inline int harness_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void) st, (void) flag, (void) ftw;
    (void) remove(p);
    return 0;
}

/* Does the binary accept --ipc-service? (Options are parsed in order, so --help exits 0.) */
static inline bool harness_probe_option(const char *binary, const char *option) {
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execl(binary, binary, option, "--help", (char *) NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static inline int harness_init(Harness *h, const char *binary) {
    memset(h, 0, sizeof *h);
    h->binary = binary;
    h->lock_timeout = 120;
    snprintf(h->dir, sizeof h->dir, "/tmp/test-pmxcfs.XXXXXX");
    if (!mkdtemp(h->dir))
        return -errno;
    snprintf(h->mnt, sizeof h->mnt, "%s/mnt", h->dir);
    snprintf(h->var, sizeof h->var, "%s/var", h->dir);
    snprintf(h->run, sizeof h->run, "%s/run", h->dir);
    snprintf(h->pidfile, sizeof h->pidfile, "%s/pid", h->dir);
    snprintf(h->log, sizeof h->log, "%s/pmxcfs.log", h->dir);
    snprintf(h->db, sizeof h->db, "%s/config.db", h->var);
    snprintf(h->flag, sizeof h->flag, "%s/cfs-restart-flag", h->run);
    snprintf(h->ipc, sizeof h->ipc, "--ipc-service=pmxcfs-test-%d", (int) getpid());
    h->ipc_option = harness_probe_option(binary, h->ipc);
    if (mkdir(h->mnt, 0755) < 0)
        return -errno;
    return 0;
}

static inline bool harness_is_mounted(const Harness *h) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    bool found = false;
    if (!f)
        return false;
    while (!found && fgets(line, sizeof line, f)) {
        char mp[1024];
        /* id parent major:minor root mountpoint ... */
        if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) == 1 && strcmp(mp, h->mnt) == 0)
            found = true;
    }
    fclose(f);
    return found;
}

static inline void harness_umount(Harness *h) {
    for (int i = 0; i < 8 && harness_is_mounted(h); i++)
        (void) umount2(h->mnt, MNT_DETACH);
}

static inline void harness_print_log(const Harness *h) {
    FILE *f = fopen(h->log, "re");
    char line[1024];
    if (!f)
        return;
    tap_diag("pmxcfs log:");
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        tap_diag("  %s", line);
    }
    fclose(f);
}

/* Start pmxcfs with the standard test options plus extra (NULL-terminated) arguments; does
 * not wait. Returns the pid or -errno. */
static inline pid_t
harness_spawn(Harness *h, const char *mnt, const char *pidfile, const char *const *extra) {
    char a_mnt[160], a_var[160], a_run[160], a_pid[160], a_lt[64];
    snprintf(a_mnt, sizeof a_mnt, "--mountpoint=%s", mnt);
    snprintf(a_var, sizeof a_var, "--vardir=%s", h->var);
    snprintf(a_run, sizeof a_run, "--rundir=%s", h->run);
    snprintf(a_pid, sizeof a_pid, "--pidfile=%s", pidfile);
    snprintf(a_lt, sizeof a_lt, "--lock-timeout=%u", h->lock_timeout);
    const char *argv[32] = {
        h->binary, "-f", "-l", a_mnt, a_var, a_run, a_pid, "--nodename=testnode", a_lt};
    size_t n = 9;
    if (h->ipc_option)
        argv[n++] = h->ipc;
    for (size_t i = 0; extra && extra[i] && n < ELEMENTSOF(argv) - 1; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        execv(h->binary, (char **) argv);
        _exit(127);
    }
    return pid;
}

/* Start and wait until the mount serves (statfs says FUSE and the `local` link resolves). */
static inline int harness_start(Harness *h) {
    h->pid = harness_spawn(h, h->mnt, h->pidfile, NULL);
    if (h->pid < 0)
        return h->pid;
    char local[160];
    snprintf(local, sizeof local, "%s/local", h->mnt);
    double deadline = now_seconds() + 20;
    while (now_seconds() < deadline) {
        int status;
        if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
            tap_diag("pmxcfs exited during start-up (status 0x%x)", status);
            h->pid = 0;
            harness_print_log(h);
            return -ECHILD;
        }
        struct statfs sf;
        struct stat st;
        if (statfs(h->mnt, &sf) == 0 && sf.f_type == HARNESS_FUSE_MAGIC && lstat(local, &st) == 0)
            return 0;
        sleep_ms(2);
    }
    tap_diag("pmxcfs did not start serving within 20 s");
    harness_print_log(h);
    return -ETIMEDOUT;
}

/* Wait for a child with a timeout; returns the wait status or -ETIMEDOUT. */
static inline int harness_wait(pid_t pid, double timeout) {
    double deadline = now_seconds() + timeout;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -errno;
        if (now_seconds() > deadline)
            return -ETIMEDOUT;
        sleep_ms(1);
    }
}

/* Signal pmxcfs and reap it (SIGKILL after 20 s); returns its wait status. */
static inline int harness_stop(Harness *h, int sig) {
    if (h->pid <= 0)
        return -ECHILD;
    (void) kill(h->pid, sig);
    int status = harness_wait(h->pid, 20);
    if (status == -ETIMEDOUT) {
        tap_diag("pmxcfs %d ignored signal %d for 20 s, killing it", (int) h->pid, sig);
        (void) kill(h->pid, SIGKILL);
        status = harness_wait(h->pid, 20);
    }
    h->pid = 0;
    return status;
}

static inline void harness_cleanup(Harness *h) {
    if (h->pid > 0)
        (void) harness_stop(h, SIGKILL);
    harness_umount(h);
    if (h->dir[0])
        (void) nftw(h->dir, harness_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *harness_path(const Harness *h, const char *rel, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s", h->mnt, rel);
    return buf;
}
