/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qmeventd's server side: accepting clients on the listening socket (root only, checked with
 * SO_PEERCRED, each with a pidfd so signals can never hit a recycled pid), the list of
 * connected clients, the forced SIGKILL after the kill timeout, and the `qm cleanup` children,
 * which are reaped through the loop's SIGCHLD source.
 */
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/log.h"
#include "pve/macro.h"
#include "qmeventd.h"

/* A process that was asked to quit and gets SIGKILL at the deadline unless it exits before. */
struct ForcedKill {
    Server *server;
    ForcedKill *prev, *next;
    int pidfd;
    pid_t pid;
    char vmid[QMEVENTD_VMID_MAX];
    sd_event_source *timer;
    sd_event_source *exited; /* the pidfd turns readable when the process is gone */
};

#define LIST_PREPEND(head, item)   \
    do {                           \
        (item)->prev = NULL;       \
        (item)->next = (head);     \
        if (head)                  \
            (head)->prev = (item); \
        (head) = (item);           \
    } while (0)
#define LIST_REMOVE(head, item)                \
    do {                                       \
        if ((item)->prev)                      \
            (item)->prev->next = (item)->next; \
        else                                   \
            (head) = (item)->next;             \
        if ((item)->next)                      \
            (item)->next->prev = (item)->prev; \
        (item)->prev = (item)->next = NULL;    \
    } while (0)

static void forced_kill_free(ForcedKill *k) {
    LIST_REMOVE(k->server->kills, k);
    sd_event_source_disable_unref(k->timer);
    sd_event_source_disable_unref(k->exited);
    safe_close(k->pidfd);
    free(k);
}

static int on_kill_deadline(sd_event_source *src, uint64_t usec, void *userdata) {
    (void) src, (void) usec;
    ForcedKill *k = userdata;
    if (pidfd_send_signal(k->pidfd, SIGKILL, NULL, 0) < 0) {
        if (errno != ESRCH)
            log_warning_errno(
                errno, "%s: cannot send SIGKILL to pid %d: %m", k->vmid, (int) k->pid
            );
    } else
        log_info(
            "%s: process %d still alive %llus after quit, sent SIGKILL", k->vmid, (int) k->pid,
            (unsigned long long) (k->server->kill_timeout_usec / 1000000)
        );
    forced_kill_free(k);
    return 0;
}

static int on_killed_process_exit(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
    (void) src, (void) fd, (void) revents;
    ForcedKill *k = userdata;
    log_debug("%s: process %d exited before the kill timeout", k->vmid, (int) k->pid);
    forced_kill_free(k);
    return 0;
}

int server_schedule_kill(Server *s, Client *c) {
    ForcedKill *k = calloc(1, sizeof *k);
    if (!k)
        return -ENOMEM;
    k->server = s;
    k->pid = c->pid;
    snprintf(k->vmid, sizeof k->vmid, "%s", c->vmid);
    k->pidfd = fcntl(c->pidfd, F_DUPFD_CLOEXEC, 3);
    LIST_PREPEND(s->kills, k);
    if (k->pidfd < 0) {
        int r = -errno;
        forced_kill_free(k);
        return r;
    }
    int r = sd_event_add_time_relative(
        s->event, &k->timer, CLOCK_MONOTONIC, s->kill_timeout_usec, 0, on_kill_deadline, k
    );
    if (r >= 0)
        r = sd_event_add_io(s->event, &k->exited, k->pidfd, EPOLLIN, on_killed_process_exit, k);
    if (r < 0)
        forced_kill_free(k);
    return r;
}

static _noreturn_ void exec_cleanup(const char *qm, char *const argv[]) {
    sigset_t all;
    sigemptyset(&all);
    (void) sigprocmask(SIG_SETMASK, &all, NULL);
    (void) signal(SIGPIPE, SIG_DFL);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0)
        (void) dup2(null, STDIN_FILENO);
    execv(qm, argv);
    fprintf(stderr, "qmeventd: cannot execute %s: %s\n", qm, strerror(errno));
    _exit(127);
}

void server_run_cleanup(Server *s, const char *vmid, bool graceful, bool guest) {
    char *const argv[] = {
        (char *) s->qm_bin,   (char *) "cleanup", (char *) vmid,
        graceful ? "1" : "0", guest ? "1" : "0",  NULL,
    };
    log_debug("%s: running %s cleanup %s %s %s", vmid, s->qm_bin, vmid, argv[3], argv[4]);
    pid_t pid = fork();
    if (pid < 0) {
        log_error_errno(errno, "%s: cannot fork for the cleanup: %m", vmid);
        return;
    }
    if (pid == 0)
        exec_cleanup(s->qm_bin, argv);
}

static int on_sigchld(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata) {
    (void) src, (void) si, (void) userdata;
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0)
            return 0;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            log_debug("cleanup process %d finished", (int) pid);
        else if (WIFEXITED(st))
            log_warning("cleanup process %d exited with status %d", (int) pid, WEXITSTATUS(st));
        else
            log_warning("cleanup process %d killed by signal %d", (int) pid, WTERMSIG(st));
    }
}

Client *server_find_qemu(Server *s, const char *vmid) {
    for (Client *c = s->clients; c; c = c->next)
        if (c->type == CLIENT_QEMU && streq(c->vmid, vmid))
            return c;
    return NULL;
}

bool server_backup_running(Server *s, const char *vmid) {
    for (Client *c = s->clients; c; c = c->next)
        if (c->type == CLIENT_VZDUMP && streq(c->vmid, vmid))
            return true;
    return false;
}

void server_drop_client(Server *s, Client *c) {
    LIST_REMOVE(s->clients, c);
    sd_event_source_disable_unref(c->io);
    safe_close(c->fd);
    safe_close(c->pidfd);
    free(c);
}

/* Peer check and pidfd for a new connection; negative errno when it is refused. */
static int accept_peer(int fd, pid_t *ret_pid, int *ret_pidfd) {
    struct ucred cred;
    socklen_t n = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &n) < 0)
        return log_error_errno(errno, "cannot get the peer credentials of a client: %m");
    if (cred.uid != 0) {
        log_warning("refusing client pid %d: uid %u is not root", (int) cred.pid, cred.uid);
        return -EPERM;
    }
    int pidfd = pidfd_open(cred.pid, 0);
    if (pidfd < 0)
        return log_error_errno(errno, "cannot open a pidfd for client pid %d: %m", (int) cred.pid);
    *ret_pid = cred.pid;
    *ret_pidfd = pidfd;
    return 0;
}

static int on_accept(sd_event_source *src, int lfd, uint32_t revents, void *userdata) {
    (void) src, (void) revents;
    Server *s = userdata;
    _cleanup_close_ int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            log_warning_errno(errno, "accept failed: %m");
        return 0;
    }
    pid_t pid = 0;
    int pidfd = -EBADF;
    if (accept_peer(fd, &pid, &pidfd) < 0)
        return 0;
    Client *c = calloc(1, sizeof *c);
    if (!c) {
        safe_close(pidfd);
        log_oom();
        return 0;
    }
    *c = (Client){.server = s, .fd = TAKE_FD(fd), .pidfd = pidfd, .pid = pid};
    LIST_PREPEND(s->clients, c);
    int r = sd_event_add_io(s->event, &c->io, c->fd, EPOLLIN, client_on_io, c);
    if (r < 0) {
        log_error_errno(r, "cannot watch client pid %d: %m", (int) pid);
        server_drop_client(s, c);
        return 0;
    }
    log_debug("accepted client pid %d", (int) pid);
    return 0;
}

int server_new(
    sd_event *event, int listen_fd, unsigned kill_timeout_s, const char *qm_bin, Server **ret
) {
    Server *s = calloc(1, sizeof *s);
    if (!s) {
        safe_close(listen_fd);
        return -ENOMEM;
    }
    s->event = sd_event_ref(event);
    s->listen_fd = listen_fd;
    s->kill_timeout_usec = (uint64_t) kill_timeout_s * 1000000;
    s->qm_bin = qm_bin;
    int r = sd_event_add_io(event, &s->listen_src, listen_fd, EPOLLIN, on_accept, s);
    if (r >= 0)
        r = sd_event_add_signal(event, &s->sigchld_src, SIGCHLD, on_sigchld, s);
    if (r < 0) {
        server_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

Server *server_free(Server *s) {
    if (!s)
        return NULL;
    while (s->clients)
        server_drop_client(s, s->clients);
    while (s->kills)
        forced_kill_free(s->kills);
    sd_event_source_disable_unref(s->listen_src);
    sd_event_source_disable_unref(s->sigchld_src);
    safe_close(s->listen_fd);
    sd_event_unref(s->event);
    free(s);
    return NULL;
}
