/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * spawn: helper programs without a shell (see pve/spawn.h). posix_spawnp keeps it safe in
 * multi-threaded callers; capture reads both pipes with poll so neither can fill up and stall.
 */
#include "pve/spawn.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/macro.h"

extern char **environ;

int spawn_start_io(const char *const *argv, int in_fd, int out_fd, int err_fd, pid_t *ret_pid) {
    posix_spawn_file_actions_t fa;
    int r = posix_spawn_file_actions_init(&fa);
    if (r != 0)
        return -r;
    r = in_fd >= 0 ? posix_spawn_file_actions_adddup2(&fa, in_fd, 0)
                   : posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (r == 0)
        r = out_fd >= 0 ? posix_spawn_file_actions_adddup2(&fa, out_fd, 1)
                        : posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (r == 0)
        r = err_fd >= 0 ? posix_spawn_file_actions_adddup2(&fa, err_fd, 2)
                        : posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    /* descriptors of ours without O_CLOEXEC (a daemon's listening socket) must not leak into
     * long-lived children such as a daemonized QEMU */
    if (r == 0)
        r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (r == 0)
        r = posix_spawnp(ret_pid, argv[0], &fa, NULL, (char *const *) argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return -r;
}

int spawn_start(const char *const *argv, int out_fd, int err_fd, pid_t *ret_pid) {
    return spawn_start_io(argv, -1, out_fd, err_fd, ret_pid);
}

int spawn_wait(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 255;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int spawn_run(const char *const *argv, int *ret_status) {
    pid_t pid;
    int r = spawn_start(argv, STDOUT_FILENO, STDERR_FILENO, &pid);
    if (r < 0)
        return r;
    *ret_status = spawn_wait(pid);
    return 0;
}

typedef struct Sink {
    int fd;
    char *buf;
    size_t len, max;
} Sink;

/* One read into a sink; 0 at EOF, 1 when more may come. */
static int sink_read(Sink *s) {
    char tmp[4096];
    ssize_t n = read(s->fd, tmp, sizeof tmp);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : -errno;
    if (n == 0)
        return 0;
    size_t keep = s->len + (size_t) n > s->max ? s->max - s->len : (size_t) n;
    if (keep) {
        char *b = realloc(s->buf, s->len + keep + 1);
        if (!b)
            return -ENOMEM;
        memcpy(b + s->len, tmp, keep);
        s->buf = b;
        s->len += keep;
    }
    return 1;
}

int spawn_capture(
    const char *const *argv, size_t max, char **ret_out, char **ret_err, int *ret_status
) {
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if ((ret_out && pipe2(po, O_CLOEXEC) < 0) || (ret_err && pipe2(pe, O_CLOEXEC) < 0)) {
        int e = -errno;
        if (po[0] >= 0)
            close(po[0]), close(po[1]);
        return e;
    }
    pid_t pid;
    int r =
        spawn_start(argv, ret_out ? po[1] : STDOUT_FILENO, ret_err ? pe[1] : STDERR_FILENO, &pid);
    if (po[1] >= 0)
        close(po[1]);
    if (pe[1] >= 0)
        close(pe[1]);
    Sink sinks[2] = {{.fd = po[0], .max = max}, {.fd = pe[0], .max = max}};
    if (r >= 0) {
        for (;;) {
            struct pollfd p[2] = {
                {.fd = sinks[0].fd, .events = POLLIN}, {.fd = sinks[1].fd, .events = POLLIN}};
            if (p[0].fd < 0 && p[1].fd < 0)
                break;
            if (poll(p, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                r = -errno;
                break;
            }
            for (int i = 0; i < 2; i++)
                if (p[i].fd >= 0 && p[i].revents) {
                    int k = sink_read(&sinks[i]);
                    if (k <= 0) {
                        if (k < 0 && r >= 0)
                            r = k;
                        close(sinks[i].fd);
                        sinks[i].fd = -1;
                    }
                }
        }
        *ret_status = spawn_wait(pid);
    }
    for (int i = 0; i < 2; i++)
        if (sinks[i].fd >= 0)
            close(sinks[i].fd);
    char **rets[2] = {ret_out, ret_err};
    for (int i = 0; i < 2; i++) {
        if (r >= 0 && rets[i] && !sinks[i].buf && !(sinks[i].buf = calloc(1, 1)))
            r = -ENOMEM;
        if (sinks[i].buf)
            sinks[i].buf[sinks[i].len] = '\0';
    }
    if (r < 0) {
        free(sinks[0].buf);
        free(sinks[1].buf);
        return r;
    }
    for (int i = 0; i < 2; i++)
        if (rets[i])
            *rets[i] = sinks[i].buf;
    return 0;
}
