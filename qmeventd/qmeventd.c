/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qmeventd: watches QEMU processes for shutdowns (specs/api.md §10). Command line as upstream:
 *
 *   qmeventd [-f] [-v] [-t <kill timeout seconds, default 60>] <socket path>
 *
 * Creates the unix socket (an old one is removed; mode 0600, backlog 10), then detaches with
 * daemon(0, 1) unless -f. Logs to stderr, or to the journal when stderr is connected to it;
 * -v logs debug messages. Sends READY=1 to systemd once it listens (Type=notify with -f).
 * SIGTERM/SIGINT end it. `qm cleanup` is $PVE_QM_BIN when set, else the compiled-in QM_BIN.
 *
 * The same binary also speaks the command line every PVE daemon has (pve/daemon.h), for hosts
 * without systemd:
 *
 *   qmeventd start [--foreground] [--socket PATH] [--kill-timeout S] | stop | restart | status
 *
 * with the pid file /run/qmeventd.pid and the socket /var/run/qmeventd.sock by default.
 */
#include "qmeventd.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "pve/daemon.h"
#include "pve/log.h"
#include "pve/macro.h"
#include "pve/string-util.h"

typedef struct Options {
    bool foreground;
    bool verbose;
    unsigned kill_timeout;
    const char *socket_path;
} Options;

static void usage(FILE *f, const char *argv0) {
    fprintf(
        f,
        "usage: %s [options] <socket>\n"
        "  -f       run in foreground (default: false)\n"
        "  -v       verbose (default: false)\n"
        "  -t <s>   kill timeout in seconds (default: %u)\n"
        "  -h       show this help\n",
        argv0, QMEVENTD_DEFAULT_KILL_S
    );
}

/* 0 to run, 1 to exit successfully (help), -EINVAL for usage errors (printed). */
static int parse_args(int argc, char *argv[], Options *o) {
    *o = (Options){.kill_timeout = QMEVENTD_DEFAULT_KILL_S};
    int c;
    while ((c = getopt(argc, argv, "hfvt:")) != -1) {
        switch (c) {
        case 'f':
            o->foreground = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 't':
            if (safe_atou32(optarg, &o->kill_timeout) < 0 || o->kill_timeout == 0) {
                fprintf(stderr, "invalid timeout '%s'\n", optarg);
                return -EINVAL;
            }
            break;
        case 'h':
            usage(stdout, argv[0]);
            return 1;
        default:
            usage(stderr, argv[0]);
            return -EINVAL;
        }
    }
    if (optind != argc - 1) {
        usage(stderr, argv[0]);
        return -EINVAL;
    }
    o->socket_path = argv[optind];
    return 0;
}

static int listen_unix(const char *path) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return log_error_errno(ENAMETOOLONG, "socket path '%s' is too long", path);
    strcpy(sa.sun_path, path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return log_error_errno(errno, "cannot create a socket: %m");
    if (unlink(path) < 0 && errno != ENOENT)
        return log_error_errno(errno, "cannot remove the old socket '%s': %m", path);
    if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
        return log_error_errno(errno, "cannot bind to '%s': %m", path);
    if (chmod(path, 0600) < 0)
        return log_error_errno(errno, "cannot chmod '%s': %m", path);
    if (listen(fd, 10) < 0)
        return log_error_errno(errno, "cannot listen on '%s': %m", path);
    return TAKE_FD(fd);
}

static int run(const Options *o, int listen_fd) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
        safe_close(listen_fd);
        return log_error_errno(errno, "cannot block signals: %m");
    }
    (void) signal(SIGPIPE, SIG_IGN);

    const char *qm = getenv("PVE_QM_BIN");
    sd_event *event = NULL;
    Server *server = NULL;
    int r = sd_event_default(&event);
    if (r >= 0)
        r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
    if (r >= 0)
        r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
    if (r < 0)
        safe_close(listen_fd);
    else
        r = server_new(event, listen_fd, o->kill_timeout, qm && *qm ? qm : QM_BIN, &server);
    if (r < 0) {
        sd_event_unref(event);
        return log_error_errno(r, "cannot set up the event loop: %m");
    }
    log_info("listening on %s, kill timeout %us", o->socket_path, o->kill_timeout);
    (void) sd_notify(false, "READY=1");
    r = sd_event_loop(event);
    if (r < 0)
        log_error_errno(r, "event loop failed: %m");
    server_free(server);
    sd_event_unref(event);
    return r;
}

/* --- the PVE daemon command line (start/stop/restart/status) ---------------------------- */

typedef struct VerbDaemon {
    Options o;
    int listen_fd;
    sd_event *event;
    Server *server;
} VerbDaemon;

static int opt_socket(void *ud, const char *arg) {
    ((VerbDaemon *) ud)->o.socket_path = arg;
    return 0;
}

static int opt_kill_timeout(void *ud, const char *arg) {
    VerbDaemon *d = ud;
    if (safe_atou32(arg, &d->o.kill_timeout) < 0 || d->o.kill_timeout == 0)
        return -EINVAL;
    return 0;
}

static int verb_init(void *ud) {
    VerbDaemon *d = ud;
    d->listen_fd = listen_unix(d->o.socket_path);
    if (d->listen_fd < 0)
        return pve_daemon_error_errno(d->listen_fd, "cannot listen on '%s'", d->o.socket_path);
    return 0;
}

static int verb_setup(sd_event *event, void *ud) {
    VerbDaemon *d = ud;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD); /* the server reaps `qm cleanup` through a SIGCHLD source */
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return pve_daemon_error_errno(errno, "cannot block SIGCHLD: %m");
    const char *qm = getenv("PVE_QM_BIN");
    int fd = TAKE_FD(d->listen_fd);
    int r = server_new(event, fd, d->o.kill_timeout, qm && *qm ? qm : QM_BIN, &d->server);
    if (r < 0)
        return pve_daemon_error_errno(r, "cannot set up the server: %m");
    log_info("listening on %s, kill timeout %us", d->o.socket_path, d->o.kill_timeout);
    return 0;
}

static void verb_shutdown(void *ud) {
    VerbDaemon *d = ud;
    d->server = server_free(d->server);
}

static bool is_daemon_verb(const char *arg) {
    return pve_daemon_verb_from_string(arg) >= 0 || streq(arg, "--check") || streq(arg, "-n");
}

static int daemon_verb_main(int argc, char *argv[]) {
    static const PveDaemonOption options[] = {
        {"socket", 0, true, "PATH", "socket QEMU connects to (default " QMEVENTD_SOCKET ")",
         opt_socket},
        {"kill-timeout", 0, true, "S", "seconds before a stuck QEMU is killed", opt_kill_timeout},
    };
    VerbDaemon d = {
        .o = {.kill_timeout = QMEVENTD_DEFAULT_KILL_S, .socket_path = QMEVENTD_SOCKET},
        .listen_fd = -EBADF,
    };
    const PveDaemon def = {
        .name = "qmeventd",
        .pidfile = "/run/qmeventd.pid",
        .options = options,
        .n_options = ELEMENTSOF(options),
        .userdata = &d,
        .init = verb_init,
        .setup = verb_setup,
        .shutdown = verb_shutdown,
    };
    int r = pve_daemon_main(&def, argc, argv);
    safe_close(d.listen_fd);
    return r;
}

int main(int argc, char *argv[]) {
    if (argc > 1 && is_daemon_verb(argv[1]))
        return daemon_verb_main(argc, argv);
    pve_log_open("qmeventd", PVE_LOG_TARGET_AUTO);
    Options o;
    int r = parse_args(argc, argv, &o);
    if (r != 0)
        return r > 0 ? 0 : 1;
    if (o.verbose)
        pve_log_set_level(LOG_DEBUG);

    int fd = listen_unix(o.socket_path);
    if (fd < 0)
        return 1;
    if (!o.foreground && daemon(0, 1) < 0) {
        safe_close(fd);
        log_error_errno(errno, "cannot daemonize: %m");
        return 1;
    }
    return run(&o, fd) < 0 ? 1 : 0;
}
