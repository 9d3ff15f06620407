/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Pid files (pve/pidfile.h): parse, read, write atomically, remove, and decide whether the
 * process a pid file names is still this program. No signals, no locks: pve/daemon.h does that.
 */
#include "pve/pidfile.h"

#include <sys/stat.h>

#include <assert.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/string-util.h"

/* A pid file is "<pid>\n"; anything longer than this is not one. */
#define PIDFILE_SIZE_MAX 64

/* Read a small file completely into buf (NUL-terminated). -EFBIG if it does not fit. */
static int read_small_file(const char *path, char *buf, size_t size, size_t *ret_len) {
    _cleanup_close_ int fd = -EBADF;
    size_t len = 0;

    assert(size > 1);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return negative_errno();
    for (;;) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return negative_errno();
        }
        if (n == 0)
            break;
        len += (size_t) n;
        if (len == size - 1) {
            /* Full: only fine if we are at EOF. */
            char c;
            n = read(fd, &c, 1);
            if (n < 0)
                return negative_errno();
            if (n > 0)
                return -EFBIG;
            break;
        }
    }
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    return 0;
}

/* ---- pid files ------------------------------------------------------------------------------ */

int pidfile_parse(const char *buf, size_t len, pid_t *ret_pid) {
    unsigned long long v = 0;
    bool overflow = false;

    assert(buf || len == 0);
    if (len > 0 && buf[len - 1] == '\n') {
        len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
    }
    if (len == 0)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -EINVAL;
        if (!overflow) {
            v = v * 10 + (unsigned) (buf[i] - '0');
            if (v > PIDFILE_PID_MAX)
                overflow = true;
        }
    }
    if (overflow)
        return -ERANGE;
    if (v == 0)
        return -EINVAL;
    if (ret_pid)
        *ret_pid = (pid_t) v;
    return 0;
}

int pidfile_read(const char *path, pid_t *ret_pid) {
    char buf[PIDFILE_SIZE_MAX + 1];
    size_t len;
    int r;

    assert(path);
    r = read_small_file(path, buf, sizeof buf, &len);
    if (r == -EFBIG)
        return -EINVAL;
    if (r < 0)
        return r;
    return pidfile_parse(buf, len, ret_pid);
}

int pidfile_write(const char *path, pid_t pid) {
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int fd = -EBADF;
    char buf[32];
    int n, r;

    assert(path);
    if (pid <= 0)
        return -EINVAL;
    if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
        return -ENOMEM;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return negative_errno();

    n = snprintf(buf, sizeof buf, "%d\n", (int) pid);
    r = RET_NERRNO(fchmod(fd, 0644));
    if (r >= 0) {
        ssize_t w = write(fd, buf, (size_t) n);
        r = w < 0 ? negative_errno() : w != n ? -EIO : 0;
    }
    if (r >= 0) {
        r = RET_NERRNO(close(fd));
        fd = -EBADF;
    }
    if (r >= 0)
        r = RET_NERRNO(rename(tmp, path));
    if (r < 0) {
        (void) unlink(tmp);
        return r;
    }
    return 0;
}

int pidfile_remove(const char *path, pid_t expected_pid) {
    assert(path);
    if (expected_pid > 0) {
        pid_t pid;
        int r = pidfile_read(path, &pid);
        if (r == -ENOENT || r == -EINVAL || r == -ERANGE)
            return 0;
        if (r < 0)
            return r;
        if (pid != expected_pid)
            return 0;
    }
    if (unlink(path) < 0)
        return errno == ENOENT ? 0 : negative_errno();
    return 1;
}

int pidfile_parse_proc_stat_state(const char *stat, char *ret_state) {
    const char *p;

    assert(stat);
    /* "<pid> (<comm>) <state> ...": comm may hold anything, so look for the last ')'. */
    p = strrchr(stat, ')');
    if (!p || p[1] != ' ' || p[2] < 'A' || p[2] > 'z' || (p[3] != ' ' && p[3] != '\0'))
        return -EINVAL;
    if (ret_state)
        *ret_state = p[2];
    return 0;
}

/* The executable a process runs, without the " (deleted)" the kernel appends after an
 * upgrade replaced the binary. pid 0 means ourselves. */
static int proc_get_exe(pid_t pid, char **ret) {
    char path[64];
    _cleanup_free_ char *buf = NULL;
    size_t size = 256;
    const char *e;

    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/exe");
    else
        snprintf(path, sizeof path, "/proc/%d/exe", (int) pid);
    for (;;) {
        ssize_t n;
        free(buf);
        buf = malloc(size);
        if (!buf)
            return -ENOMEM;
        n = readlink(path, buf, size);
        if (n < 0)
            return negative_errno();
        if ((size_t) n < size) {
            buf[n] = '\0';
            break;
        }
        if (size >= 65536)
            return -ENAMETOOLONG;
        size *= 2;
    }
    e = endswith(buf, " (deleted)");
    if (e)
        buf[e - buf] = '\0';
    *ret = TAKE_PTR(buf);
    return 0;
}

static int proc_get_comm(pid_t pid, char *buf, size_t size) {
    char path[64];
    size_t len;
    int r;

    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/comm");
    else
        snprintf(path, sizeof path, "/proc/%d/comm", (int) pid);
    r = read_small_file(path, buf, size, &len);
    if (r < 0)
        return r;
    if (len > 0 && buf[len - 1] == '\n')
        buf[len - 1] = '\0';
    return 0;
}

/* 1 if pid runs the same executable as we do, 0 if not, -ESRCH if it is gone. Falls back to
 * comparing comm when we may not read the other process's exe link (we are not root). */
static int proc_is_same_program(pid_t pid) {
    _cleanup_free_ char *exe = NULL, *self_exe = NULL;
    char comm[64], self_comm[64];
    int r;

    r = proc_get_exe(pid, &exe);
    if (r == -ENOENT || r == -ESRCH)
        return -ESRCH;
    if (r >= 0 && proc_get_exe(0, &self_exe) >= 0)
        return streq(exe, self_exe);
    if (r < 0 && r != -EACCES && r != -EPERM)
        return r;

    r = proc_get_comm(pid, comm, sizeof comm);
    if (r == -ENOENT || r == -ESRCH)
        return -ESRCH;
    if (r < 0)
        return r;
    r = proc_get_comm(0, self_comm, sizeof self_comm);
    if (r < 0)
        return r;
    return streq(comm, self_comm);
}

/* true if the process exists and is not a zombie. */
bool pidfile_pid_alive(pid_t pid) {
    char path[64], buf[1024], st;
    int r;

    if (kill(pid, 0) < 0 && errno == ESRCH)
        return false;
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    r = read_small_file(path, buf, sizeof buf, NULL);
    if (r < 0)
        return r != -ENOENT; /* vanished meanwhile (ENOENT), else trust kill() */
    if (pidfile_parse_proc_stat_state(buf, &st) < 0)
        return true;
    return st != 'Z' && st != 'X' && st != 'x';
}

int pidfile_pid_state(pid_t pid) {
    int r;

    if (pid <= 0 || pid > PIDFILE_PID_MAX)
        return -EINVAL;
    if (pid == getpid())
        return PIDFILE_STALE_FOREIGN;
    if (!pidfile_pid_alive(pid))
        return PIDFILE_STALE_DEAD;
    r = proc_is_same_program(pid);
    if (r == -ESRCH)
        return PIDFILE_STALE_DEAD;
    if (r < 0)
        return r;
    /* Still alive after reading its identity? A zombie now means it just exited. */
    if (!pidfile_pid_alive(pid))
        return PIDFILE_STALE_DEAD;
    return r ? PIDFILE_RUNNING : PIDFILE_STALE_FOREIGN;
}

int pidfile_check(const char *path, pid_t *ret_pid) {
    pid_t pid = 0;
    int r;

    assert(path);
    if (ret_pid)
        *ret_pid = 0;
    r = pidfile_read(path, &pid);
    if (r == -ENOENT)
        return PIDFILE_MISSING;
    if (r == -EINVAL || r == -ERANGE)
        return PIDFILE_INVALID;
    if (r < 0)
        return r;
    if (ret_pid)
        *ret_pid = pid;
    return pidfile_pid_state(pid);
}

const char *pidfile_state_to_string(PidfileState s) {
    static const char *const names[_PIDFILE_STATE_MAX] = {
        [PIDFILE_MISSING] = "missing",       [PIDFILE_INVALID] = "invalid",
        [PIDFILE_STALE_DEAD] = "stale-dead", [PIDFILE_STALE_FOREIGN] = "stale-foreign",
        [PIDFILE_RUNNING] = "running",
    };
    return s >= 0 && s < _PIDFILE_STATE_MAX ? names[s] : NULL;
}
