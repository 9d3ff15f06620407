/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Daemon framework (pve/daemon.h).
 *
 * Owns the verbs of the PVE::Daemon command line, the pid file and its flock, detaching with
 * a readiness pipe, sd_notify, the signal sources of the daemon's sd_event loop and the
 * privilege drop. It must not know what a daemon does: configuration, sockets and workers
 * belong to the callbacks. Process-wide state (one daemon per process) lives in `state`.

 */
#include "pve/daemon.h"

#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <assert.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "pve/log.h"
#include "pve/paths.h"
#include "pve/pidfile.h"
#include "pve/string-util.h"

#define USEC_PER_SEC  1000000ULL
#define USEC_PER_MSEC 1000ULL

/* Seconds `start` waits for the lock of a daemon that is just going away (upstream: 5). */
#define LOCK_WAIT_DEFAULT 5
/* After SIGKILL, how long `stop` waits for the process to disappear. */
#define KILL_WAIT_SEC 5
static unsigned long long now_usec(void) {
    struct timespec ts;
    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long) ts.tv_sec * USEC_PER_SEC + (unsigned long long) ts.tv_nsec / 1000;
}

/* ---- process-wide daemon state -------------------------------------------------------------- */

static struct {
    const PveDaemon *d;
    sd_event *event; /* not a reference: serve() owns it */
    int ready_fd;    /* write end of the readiness pipe; -EBADF in the foreground */
    bool ready;
    bool have_error;
    char error[1024];
} state = {.ready_fd = -EBADF};

int pve_daemon_error_errno(int error, const char *fmt, ...) {
    va_list ap;
    int saved = errno;

    if (error < 0)
        error = -error;
    if (error == 0)
        error = EINVAL;
    errno = error; /* for %m */
    va_start(ap, fmt);
    (void) vsnprintf(state.error, sizeof state.error, fmt, ap);
    va_end(ap);
    state.have_error = true;
    errno = saved;
    return -error;
}

const char *pve_daemon_error_message(void) {
    return state.have_error ? state.error : NULL;
}

static void error_clear(void) {
    state.have_error = false;
    state.error[0] = '\0';
}

/* The recorded message, or a generic one built from r. */
static const char *error_or(int r, const char *what) {
    if (!state.have_error)
        (void) pve_daemon_error_errno(r, "%s - %m", what);
    return state.error;
}

sd_event *pve_daemon_event(void) {
    return state.event;
}

unsigned pve_daemon_stop_wait(const PveDaemon *d) {
    unsigned v;
    if (safe_atou32(getenv("PVE_DAEMON_STOP_WAIT"), &v) >= 0)
        return v;
    return d && d->stop_wait > 0 ? d->stop_wait : PVE_DAEMON_STOP_WAIT_DEFAULT;
}

static unsigned lock_wait(void) {
    unsigned v;
    if (safe_atou32(getenv("PVE_DAEMON_LOCK_WAIT"), &v) >= 0)
        return v;
    return LOCK_WAIT_DEFAULT;
}

/* ---- privileges ----------------------------------------------------------------------------- */

static int lookup_user(const char *user, uid_t *ret_uid, gid_t *ret_gid) {
    struct passwd pw, *res = NULL;
    _cleanup_free_ char *buf = NULL;
    size_t size = 1024;

    for (;;) {
        free(buf);
        buf = malloc(size);
        if (!buf)
            return -ENOMEM;
        int r = getpwnam_r(user, &pw, buf, size, &res);
        if (r == ERANGE && size < 1024 * 1024) {
            size *= 2;
            continue;
        }
        if (r != 0)
            return -r;
        break;
    }
    if (!res)
        return -ESRCH;
    *ret_uid = res->pw_uid;
    *ret_gid = res->pw_gid;
    return 0;
}

static int lookup_group(const char *group, gid_t *ret_gid) {
    struct group gr, *res = NULL;
    _cleanup_free_ char *buf = NULL;
    size_t size = 1024;

    for (;;) {
        free(buf);
        buf = malloc(size);
        if (!buf)
            return -ENOMEM;
        int r = getgrnam_r(group, &gr, buf, size, &res);
        if (r == ERANGE && size < 1024 * 1024) {
            size *= 2;
            continue;
        }
        if (r != 0)
            return -r;
        break;
    }
    if (!res)
        return -ESRCH;
    *ret_gid = res->gr_gid;
    return 0;
}

int pve_drop_privileges(const char *user, const char *group) {
    uid_t uid = 0, ruid, euid, suid;
    gid_t gid = 0, rgid, egid, sgid;
    int r;

    if (!user && !group)
        return -EINVAL;
    if (user) {
        r = lookup_user(user, &uid, &gid);
        if (r < 0)
            return r;
    }
    if (group) {
        r = lookup_group(group, &gid);
        if (r < 0)
            return r;
    }

    /* Groups first: once the uid is gone we may no longer change them. */
    r = user ? RET_NERRNO(initgroups(user, gid)) : RET_NERRNO(setgroups(1, &gid));
    if (r < 0)
        return r;
    r = RET_NERRNO(setresgid(gid, gid, gid));
    if (r < 0)
        return r;
    if (user) {
        r = RET_NERRNO(setresuid(uid, uid, uid));
        if (r < 0)
            return r;
    }

    /* Verify: a silently failed drop must not leave us running as root. */
    if (getresgid(&rgid, &egid, &sgid) < 0 || rgid != gid || egid != gid || sgid != gid)
        return -EPERM;
    if (user) {
        if (getresuid(&ruid, &euid, &suid) < 0 || ruid != uid || euid != uid || suid != uid)
            return -EPERM;
        if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
            return -EPERM;
    }
    return 0;
}

/* ---- command line --------------------------------------------------------------------------- */

static const char *const verb_names[_PVE_DAEMON_VERB_MAX] = {
    [PVE_DAEMON_VERB_START] = "start",     [PVE_DAEMON_VERB_STOP] = "stop",
    [PVE_DAEMON_VERB_RESTART] = "restart", [PVE_DAEMON_VERB_RELOAD] = "reload",
    [PVE_DAEMON_VERB_STATUS] = "status",   [PVE_DAEMON_VERB_HELP] = "help",
    [PVE_DAEMON_VERB_CHECK] = "--check",
};

const char *pve_daemon_verb_to_string(PveDaemonVerb v) {
    return v >= 0 && v < _PVE_DAEMON_VERB_MAX ? verb_names[v] : NULL;
}

PveDaemonVerb pve_daemon_verb_from_string(const char *s) {
    if (!s)
        return _PVE_DAEMON_VERB_INVALID;
    /* "--check" is an option, not a word. */
    for (int v = 0; v < PVE_DAEMON_VERB_CHECK; v++)
        if (streq(s, verb_names[v]))
            return (PveDaemonVerb) v;
    return _PVE_DAEMON_VERB_INVALID;
}

enum {
    OPT_PIDFILE = 0x100,
    OPT_EXTRA = 0x200, /* + index into d->options */
};

static const struct option common_options[] = {
    {"foreground", no_argument, NULL, 'f'}, {"debug", no_argument, NULL, 'd'},
    {"check", no_argument, NULL, 'n'},      {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},       {"pidfile", required_argument, NULL, OPT_PIDFILE},
};
#define COMMON_SHORT "fdnvh"

void pve_daemon_usage(const PveDaemon *d, FILE *f) {
    const char *n = d->name;

    fprintf(
        f,
        "Usage: %s <command> [options]\n"
        "       %s --check|-n [-v]\n"
        "\n"
        "Commands:\n"
        "  start [--foreground|-f] [--debug|-d]  start the daemon (detaches unless --foreground)\n"
        "  stop                                  stop it (SIGTERM, SIGKILL after %u s)\n"
        "  restart [--foreground|-f]             reload (SIGHUP) if running, else start\n"
        "  reload                                reload (SIGHUP) the running daemon\n"
        "  status                                print \"running\" or \"stopped\"\n"
        "  help                                  show this help\n"
        "\n"
        "Options:\n"
        "  --check, -n                           check the configuration and exit\n"
        "  --verbose, -v                         with --check: print the configuration\n"
        "  --debug, -d                           log debug messages\n"
        "  --pidfile PATH                        pid file (default %s)\n",
        n, n, pve_daemon_stop_wait(d), d->pidfile ? d->pidfile : "none"
    );
    for (size_t i = 0; i < d->n_options; i++) {
        const PveDaemonOption *o = &d->options[i];
        char left[64];
        int k = snprintf(left, sizeof left, "--%s", o->name);
        if (o->short_name && k > 0 && (size_t) k < sizeof left)
            k += snprintf(left + k, sizeof left - (size_t) k, ", -%c", o->short_name);
        if (o->has_arg && k > 0 && (size_t) k < sizeof left)
            (void) snprintf(
                left + k, sizeof left - (size_t) k, " %s", o->arg_name ? o->arg_name : "ARG"
            );
        fprintf(f, "  %-36s  %s\n", left, o->help ? o->help : "");
    }
}

static int usage_error(const PveDaemon *d, const char *fmt, ...) _printf_(2, 3);
static int usage_error(const PveDaemon *d, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: ", d->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -EINVAL;
}

int pve_daemon_parse_args(const PveDaemon *d, int argc, char *argv[], PveDaemonArgs *ret) {
    size_t n_common = ELEMENTSOF(common_options);
    _cleanup_free_ struct option *opts = NULL;
    _cleanup_free_ char *shortopts = NULL;
    PveDaemonArgs a = {.verb = _PVE_DAEMON_VERB_INVALID};
    bool check = false, help = false;
    size_t k = 0;
    int c, r;

    assert(d && ret);
    opts = calloc(n_common + d->n_options + 1, sizeof *opts);
    /* Each extra short option takes at most "x:". */
    shortopts = malloc(STRLEN(COMMON_SHORT) + 2 * d->n_options + 1);
    if (!opts || !shortopts)
        return -ENOMEM;
    memcpy(opts, common_options, sizeof common_options);
    strcpy(shortopts, COMMON_SHORT);
    k = strlen(shortopts);
    for (size_t i = 0; i < d->n_options; i++) {
        const PveDaemonOption *o = &d->options[i];
        assert(o->name && o->parse);
        /* A clash with a common letter is a programming error. */
        assert(!o->short_name || !strchr(COMMON_SHORT, o->short_name));
        opts[n_common + i].name = o->name;
        opts[n_common + i].has_arg = o->has_arg ? required_argument : no_argument;
        opts[n_common + i].val = OPT_EXTRA + (int) i;
        if (o->short_name) {
            shortopts[k++] = (char) o->short_name;
            if (o->has_arg)
                shortopts[k++] = ':';
        }
    }
    shortopts[k] = '\0';

    optind = 0; /* GNU: reinitialise, so the parser can run more than once */
    while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) >= 0) {
        switch (c) {
        case 'f':
            a.foreground = true;
            break;
        case 'd':
            a.debug = true;
            break;
        case 'n':
            check = true;
            break;
        case 'v':
            a.verbose = true;
            break;
        case 'h':
            help = true;
            break;
        case OPT_PIDFILE:
            if (!*optarg)
                return usage_error(d, "--pidfile needs a path");
            a.pidfile = optarg;
            break;
        case '?':
            return -EINVAL; /* getopt printed why */
        default: {
            size_t i;
            if (c >= OPT_EXTRA && (size_t) (c - OPT_EXTRA) < d->n_options)
                i = (size_t) (c - OPT_EXTRA);
            else {
                /* A short extra option: find it by letter. */
                for (i = 0; i < d->n_options; i++)
                    if (d->options[i].short_name == c)
                        break;
                if (i == d->n_options)
                    return -EINVAL;
            }
            const char *arg = d->options[i].has_arg ? optarg : NULL;
            r = d->options[i].parse(d->userdata, arg);
            if (r < 0)
                return usage_error(
                    d, "invalid value for --%s%s%s", d->options[i].name, arg ? ": " : "", arg ?: ""
                );
            break;
        }
        }
    }

    if (help) {
        a.verb = PVE_DAEMON_VERB_HELP;
    } else if (check) {
        if (optind < argc)
            return usage_error(d, "--check takes no command");
        a.verb = PVE_DAEMON_VERB_CHECK;
    } else {
        if (optind >= argc)
            return usage_error(d, "no command given");
        a.verb = pve_daemon_verb_from_string(argv[optind]);
        if (a.verb < 0)
            return usage_error(d, "unknown command '%s'", argv[optind]);
        if (optind + 1 < argc)
            return usage_error(d, "unexpected argument '%s'", argv[optind + 1]);
    }
    if (a.foreground && a.verb != PVE_DAEMON_VERB_START && a.verb != PVE_DAEMON_VERB_RESTART &&
        a.verb != PVE_DAEMON_VERB_HELP)
        return usage_error(d, "--foreground only goes with start or restart");
    if (a.verbose && a.verb != PVE_DAEMON_VERB_CHECK && a.verb != PVE_DAEMON_VERB_HELP)
        return usage_error(d, "--verbose only goes with --check");

    *ret = a;
    return 0;
}

/* ---- readiness, notification, signals ------------------------------------------------------- */

/* Once ready in the background nobody reads our stderr any more: log to the journal. */
static void detach_stderr(void) {
    _cleanup_close_ int fd = -EBADF;
    int level = pve_log_get_level();

    if (pve_log_get_target() == PVE_LOG_TARGET_JOURNAL)
        return;
    fd = open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
        return;
    pve_log_open(NULL, PVE_LOG_TARGET_JOURNAL);
    pve_log_set_level(level);
}

int pve_daemon_ready(void) {
    int r;

    if (state.ready)
        return 0;
    state.ready = true;

    r = sd_notifyf(false, "READY=1\nMAINPID=%d", (int) getpid());
    if (r < 0)
        log_debug_errno(r, "sd_notify(READY=1) failed, ignoring: %m");

    if (state.ready_fd >= 0) {
        ssize_t n;
        do
            n = write(state.ready_fd, "R", 1);
        while (n < 0 && errno == EINTR);
        state.ready_fd = safe_close(state.ready_fd);
        detach_stderr();
    }
    log_info("starting server");
    return 0;
}

/* Tell whoever waits for us why we failed; in the background the parent prints it. */
static void report_failure(const char *msg) {
    if (state.ready_fd >= 0) {
        char buf[sizeof state.error + 2];
        int n = snprintf(buf, sizeof buf, "E%s", msg);
        if (n > (int) sizeof buf - 1)
            n = (int) sizeof buf - 1;
        /* One write below PIPE_BUF arrives in one piece. */
        (void) !write(state.ready_fd, buf, (size_t) n);
        state.ready_fd = safe_close(state.ready_fd);
    } else if (!state.ready)
        fprintf(stderr, "start failed - %s\n", msg);
    else
        log_error("%s", msg);
    (void) sd_notifyf(false, "STATUS=%s", msg);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
    (void) userdata;
    log_info("received signal %s", sigabbrev_np((int) si->ssi_signo));
    (void) sd_notify(false, "STOPPING=1");
    return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
    const PveDaemon *d = userdata;
    int r = 0;

    (void) s;
    (void) si;
    /* MONOTONIC_USEC lets systemd's Type=notify-reload match this reload to its request. */
    (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu", now_usec());
    log_info("received signal HUP, reloading");
    if (d->reload) {
        error_clear();
        r = d->reload(d->userdata);
        if (r < 0)
            log_error("reload failed - %s", error_or(r, "reload hook failed"));
        error_clear();
    }
    (void) sd_notify(false, r < 0 ? "READY=1\nSTATUS=reload failed" : "READY=1\nSTATUS=");
    return 0;
}

static const int term_signals[] = {SIGTERM, SIGINT, SIGQUIT};

static int block_signals(void) {
    sigset_t ss;

    sigemptyset(&ss);
    for (size_t i = 0; i < ELEMENTSOF(term_signals); i++)
        sigaddset(&ss, term_signals[i]);
    sigaddset(&ss, SIGHUP);
    /* Blocked before init(), so a TERM that arrives early waits for the loop instead of
     * killing us half way; sd-event picks it up through its signalfd. */
    if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
        return negative_errno();
    /* Blocked signals are queued even when ignored, so an inherited SIG_IGN (nohup; `cmd &`
     * in a script ignores SIGINT/SIGQUIT) does not hide them from the signalfd. Reset it anyway
     * so that workers which unblock them later get the default action. */
    for (size_t i = 0; i < ELEMENTSOF(term_signals); i++)
        (void) signal(term_signals[i], SIG_DFL);
    (void) signal(SIGHUP, SIG_DFL);
    return 0;
}

/* ---- the daemon process --------------------------------------------------------------------- */

static int lock_path(const char *pidfile, char **ret) {
    return asprintf(ret, "%s.lock", pidfile) < 0 ? -ENOMEM : 0;
}

/* flock "<pidfile>.lock" for the life of the daemon, waiting up to lock_wait() seconds for a
 * previous instance that is just exiting. */
static int lock_acquire(const char *pidfile, int *ret_fd) {
    _cleanup_free_ char *lockfile = NULL;
    _cleanup_close_ int fd = -EBADF;
    unsigned long long deadline;
    int r;

    r = lock_path(pidfile, &lockfile);
    if (r < 0)
        return pve_daemon_error_errno(r, "out of memory");
    /* O_NOFOLLOW: the pid directory may be writable by the unprivileged user. */
    fd = open(lockfile, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
    if (fd < 0)
        return pve_daemon_error_errno(errno, "can't open lock '%s' - %m", lockfile);

    deadline = now_usec() + lock_wait() * USEC_PER_SEC;
    for (;;) {
        pid_t pid = 0;
        if (flock(fd, LOCK_EX | LOCK_NB) >= 0)
            break;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return pve_daemon_error_errno(errno, "can't acquire lock '%s' - %m", lockfile);
        if (now_usec() < deadline) {
            (void) usleep(100 * USEC_PER_MSEC);
            continue;
        }
        if (pidfile_read(pidfile, &pid) >= 0)
            return pve_daemon_error_errno(
                EBUSY, "can't acquire lock '%s' - daemon already started (pid = %d)", lockfile,
                (int) pid
            );
        return pve_daemon_error_errno(
            EBUSY, "can't acquire lock '%s' - daemon already started", lockfile
        );
    }
    *ret_fd = TAKE_FD(fd);
    return 0;
}

/* Runs the daemon in this process until it is told to stop; returns the exit status. */
static int serve(const PveDaemon *d, const char *pidfile, int ready_fd) {
    _cleanup_(sd_event_unrefp) sd_event *e = NULL;
    _cleanup_close_ int lock_fd = -EBADF;
    bool pid_written = false, initialised = false;
    int r;

    state.ready_fd = ready_fd;
    state.ready = false;
    error_clear();

    (void) signal(SIGPIPE, SIG_IGN);
    r = block_signals();
    if (r < 0) {
        (void) pve_daemon_error_errno(r, "can't block signals - %m");
        goto finish;
    }

    r = lock_acquire(pidfile, &lock_fd);
    if (r < 0)
        goto finish;
    /* We hold the lock, so whatever pid file is there is stale: replace it. */
    r = pidfile_write(pidfile, getpid());
    if (r < 0) {
        (void) pve_daemon_error_errno(r, "can't write pid file '%s' - %m", pidfile);
        goto finish;
    }
    pid_written = true;

    if (d->init) {
        r = d->init(d->userdata);
        if (r < 0) {
            (void) error_or(r, "init failed");
            goto finish;
        }
    }
    initialised = true;

    if (d->user || d->group) {
        r = pve_drop_privileges(d->user, d->group);
        if (r < 0) {
            (void) pve_daemon_error_errno(
                r, "can't change to user '%s' group '%s' - %m", d->user ? d->user : "-",
                d->group ? d->group : "-"
            );
            goto finish;
        }
    }

    r = sd_event_default(&e);
    if (r < 0) {
        (void) pve_daemon_error_errno(r, "can't create event loop - %m");
        goto finish;
    }
    state.event = e;
    (void) sd_event_set_watchdog(e, true);
    for (size_t i = 0; i < ELEMENTSOF(term_signals) && r >= 0; i++)
        r = sd_event_add_signal(e, NULL, term_signals[i], on_terminate, NULL);
    if (r >= 0)
        r = sd_event_add_signal(e, NULL, SIGHUP, on_reload, (void *) d);
    if (r < 0) {
        (void) pve_daemon_error_errno(r, "can't watch signals - %m");
        goto finish;
    }

    if (d->setup) {
        r = d->setup(e, d->userdata);
        if (r < 0) {
            (void) error_or(r, "setup failed");
            goto finish;
        }
    }
    if (!d->ready_manually)
        (void) pve_daemon_ready();

    r = sd_event_loop(e);
    if (r < 0)
        (void) error_or(r, "event loop failed");
    else if (!state.ready) {
        r = -ECANCELED;
        (void) pve_daemon_error_errno(r, "daemon exited before it was ready");
    }

finish:
    if (initialised && d->shutdown)
        d->shutdown(d->userdata);
    if (pid_written) {
        /* May fail after a drop to a user that cannot write the pid directory; `stop`
         * removes the file then. */
        int k = pidfile_remove(pidfile, getpid());
        if (k < 0)
            log_debug_errno(k, "can't remove pid file '%s', ignoring: %m", pidfile);
    }
    if (r < 0)
        report_failure(error_or(r, "start failed"));
    else
        log_info("server stopped");
    state.event = NULL;
    state.ready_fd = safe_close(state.ready_fd);
    return r < 0 ? PVE_DAEMON_EXIT_FAILURE : EXIT_SUCCESS;
}

/* The child of `start`: a new session, no terminal, stderr kept until ready. */
static int detach(void) {
    _cleanup_close_ int null = -EBADF;

    if (setsid() < 0)
        return pve_daemon_error_errno(errno, "setsid failed - %m");
    if (chdir("/") < 0)
        return pve_daemon_error_errno(errno, "can't chdir to / - %m");
    null = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (null < 0)
        return pve_daemon_error_errno(errno, "can't open /dev/null - %m");
    if (dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
        return pve_daemon_error_errno(errno, "can't redirect stdio - %m");
    return 0;
}

/* The parent of `start`: wait for "R" (ready) or "E<message>" from the child. */
static int wait_ready(pid_t child, int fd) {
    char buf[sizeof state.error + 2];
    ssize_t n;
    int status;

    do
        n = read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    if (n > 0 && buf[0] == 'R')
        return EXIT_SUCCESS;

    if (n > 0 && buf[0] == 'E') {
        buf[n] = '\0';
        fprintf(stderr, "start failed - %s\n", buf + 1);
        (void) waitpid(child, NULL, 0);
        return PVE_DAEMON_EXIT_FAILURE;
    }

    /* EOF without a word: the child died. */
    if (waitpid(child, &status, 0) < 0)
        fprintf(stderr, "start failed - daemon vanished\n");
    else if (WIFSIGNALED(status))
        fprintf(
            stderr, "start failed - daemon killed by signal %s\n",
            sigabbrev_np(WTERMSIG(status)) ?: "?"
        );
    else
        fprintf(
            stderr, "start failed - daemon exited with status %d before it was ready\n",
            WEXITSTATUS(status)
        );
    return PVE_DAEMON_EXIT_FAILURE;
}

static int verb_start(const PveDaemon *d, const char *pidfile, bool foreground) {
    int pipefd[2];
    pid_t pid;

    if (foreground)
        return serve(d, pidfile, -EBADF);

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        fprintf(stderr, "start failed - can't create pipe - %m\n");
        return PVE_DAEMON_EXIT_FAILURE;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "start failed - fork failed - %m\n");
        (void) close(pipefd[0]);
        (void) close(pipefd[1]);
        return PVE_DAEMON_EXIT_FAILURE;
    }
    if (pid == 0) {
        (void) close(pipefd[0]);
        if (detach() < 0) {
            state.ready_fd = pipefd[1];
            report_failure(state.error);
            return PVE_DAEMON_EXIT_FAILURE;
        }
        return serve(d, pidfile, pipefd[1]);
    }
    (void) close(pipefd[1]);
    int r = wait_ready(pid, pipefd[0]);
    (void) close(pipefd[0]);
    return r;
}

/* Remove the pid file of a daemon that is gone, unless a new instance holds the lock. */
static void remove_stale_pidfile(const char *pidfile, pid_t pid) {
    _cleanup_free_ char *lockfile = NULL;
    _cleanup_close_ int fd = -EBADF;

    if (lock_path(pidfile, &lockfile) < 0)
        return;
    fd = open(lockfile, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
        log_debug("lock '%s' is held, keeping pid file", lockfile);
        return;
    }
    (void) pidfile_remove(pidfile, pid);
}

static int send_signal(pid_t pid, int pidfd, int sig) {
    if (pidfd >= 0)
        return RET_NERRNO(pidfd_send_signal(pidfd, sig, NULL, 0));
    return RET_NERRNO(kill(pid, sig));
}

/* 1 once the process exited (zombie or reaped), 0 on timeout. */
static int wait_exit(pid_t pid, int pidfd, unsigned long long timeout_usec) {
    unsigned long long deadline = now_usec() + timeout_usec;

    for (;;) {
        unsigned long long now = now_usec(), left = deadline > now ? deadline - now : 0;
        int ms = (int) MIN(left / USEC_PER_MSEC, 100ULL);

        if (pidfd >= 0) {
            /* A pidfd turns readable when the process exits, child of ours or not. */
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            int r = poll(&p, 1, ms);
            if (r > 0)
                return 1;
            if (r < 0 && errno != EINTR)
                return negative_errno();
        } else {
            if (!pidfile_pid_alive(pid))
                return 1;
            (void) usleep((unsigned) ms * USEC_PER_MSEC);
        }
        if (left == 0)
            return pidfd >= 0 ? 0 : !pidfile_pid_alive(pid);
    }
}

static int verb_stop(const PveDaemon *d, const char *pidfile) {
    _cleanup_close_ int pidfd = -EBADF;
    unsigned wait = pve_daemon_stop_wait(d);
    pid_t pid = 0;
    int r;

    r = pidfile_check(pidfile, &pid);
    if (r < 0) {
        fprintf(stderr, "stop failed - can't read pid file '%s' - %s\n", pidfile, strerror(-r));
        return PVE_DAEMON_EXIT_FAILURE;
    }
    if (r != PIDFILE_RUNNING) {
        /* Not running is not an error (upstream returns silently). */
        if (r != PIDFILE_MISSING)
            remove_stale_pidfile(pidfile, pid);
        return EXIT_SUCCESS;
    }

    /* Signal through a pidfd so a pid recycled meanwhile can never be hit. */
    pidfd = pidfd_open(pid, 0);
    if (pidfd < 0 && errno == ESRCH) {
        remove_stale_pidfile(pidfile, pid);
        return EXIT_SUCCESS;
    }
    r = send_signal(pid, pidfd, SIGTERM);
    if (r == -ESRCH) {
        remove_stale_pidfile(pidfile, pid);
        return EXIT_SUCCESS;
    }
    if (r < 0) {
        fprintf(stderr, "stop failed - can't send SIGTERM to %d - %s\n", (int) pid, strerror(-r));
        return PVE_DAEMON_EXIT_FAILURE;
    }

    r = wait_exit(pid, pidfd, wait * USEC_PER_SEC);
    if (r == 0) {
        fprintf(stderr, "%s: server still running after %u s - sending SIGKILL\n", d->name, wait);
        r = send_signal(pid, pidfd, SIGKILL);
        if (r >= 0 || r == -ESRCH)
            r = wait_exit(pid, pidfd, KILL_WAIT_SEC * USEC_PER_SEC);
    }
    if (r <= 0) {
        fprintf(stderr, "stop failed - server (pid %d) still running\n", (int) pid);
        return PVE_DAEMON_EXIT_FAILURE;
    }
    remove_stale_pidfile(pidfile, pid);
    return EXIT_SUCCESS;
}

/* SIGHUP the running daemon: 1 if sent, 0 if not running, negative errno. */
static int signal_running(const char *pidfile, int sig) {
    _cleanup_close_ int pidfd = -EBADF;
    pid_t pid;
    int r;

    r = pidfile_check(pidfile, &pid);
    if (r < 0)
        return r;
    if (r != PIDFILE_RUNNING)
        return 0;
    pidfd = pidfd_open(pid, 0);
    if (pidfd < 0 && errno == ESRCH)
        return 0;
    r = send_signal(pid, pidfd, sig);
    if (r == -ESRCH)
        return 0;
    return r < 0 ? r : 1;
}

static int verb_status(const char *pidfile) {
    /* Unreadable pid file = no pid, as upstream: still "stopped", exit 0. */
    int r = pidfile_check(pidfile, NULL);
    if (r < 0)
        log_debug_errno(r, "can't check pid file '%s': %m", pidfile);
    puts(r == PIDFILE_RUNNING ? "running" : "stopped");
    return EXIT_SUCCESS;
}

static int verb_check(const PveDaemon *d, bool verbose) {
    int r = 0;

    error_clear();
    if (d->check)
        r = d->check(d->userdata, verbose);
    if (r < 0) {
        fprintf(stderr, "%s\n", error_or(r, "configuration check failed"));
        return EXIT_FAILURE;
    }
    fprintf(stderr, "configuration OK\n");
    return EXIT_SUCCESS;
}

/* The pid file: --pidfile, else $PVE_DAEMON_PIDFILE, else the daemon's default; made
 * absolute because the daemon changes to "/". */
static int resolve_pidfile(const PveDaemon *d, const char *arg, char **ret) {
    const char *p = arg ?: pve_path_env("PVE_DAEMON_PIDFILE", d->pidfile);
    _cleanup_free_ char *cwd = NULL;

    if (!p)
        return -ENOENT;
    if (p[0] == '/')
        *ret = strdup(p);
    else {
        cwd = get_current_dir_name();
        if (!cwd)
            return negative_errno();
        if (asprintf(ret, "%s/%s", cwd, p) < 0)
            *ret = NULL;
    }
    return *ret ? 0 : -ENOMEM;
}

int pve_daemon_main(const PveDaemon *d, int argc, char *argv[]) {
    _cleanup_free_ char *pidfile = NULL;
    PveDaemonArgs args;
    int r;

    assert(d && d->name);
    state.d = d;
    pve_log_open(d->name, PVE_LOG_TARGET_AUTO);

    r = pve_daemon_parse_args(d, argc, argv, &args);
    if (r < 0) {
        if (r == -ENOMEM)
            fprintf(stderr, "%s: out of memory\n", d->name);
        pve_daemon_usage(d, stderr);
        return PVE_DAEMON_EXIT_FAILURE;
    }
    if (args.debug)
        pve_log_set_level(LOG_DEBUG);

    if (args.verb == PVE_DAEMON_VERB_HELP) {
        pve_daemon_usage(d, stdout);
        return EXIT_SUCCESS;
    }
    if (args.verb == PVE_DAEMON_VERB_CHECK)
        return verb_check(d, args.verbose);

    r = resolve_pidfile(d, args.pidfile, &pidfile);
    if (r < 0) {
        fprintf(
            stderr, "%s failed - %s\n", pve_daemon_verb_to_string(args.verb),
            r == -ENOENT ? "no pid file configured" : strerror(-r)
        );
        return PVE_DAEMON_EXIT_FAILURE;
    }

    switch (args.verb) {
    case PVE_DAEMON_VERB_START:
        return verb_start(d, pidfile, args.foreground);
    case PVE_DAEMON_VERB_STOP:
        return verb_stop(d, pidfile);
    case PVE_DAEMON_VERB_STATUS:
        return verb_status(pidfile);
    case PVE_DAEMON_VERB_RESTART:
    case PVE_DAEMON_VERB_RELOAD:
        r = signal_running(pidfile, SIGHUP);
        if (r > 0)
            return EXIT_SUCCESS;
        if (r == 0 && args.verb == PVE_DAEMON_VERB_RESTART)
            return verb_start(d, pidfile, args.foreground);
        fprintf(
            stderr, "%s failed - %s\n", pve_daemon_verb_to_string(args.verb),
            r == 0 ? "daemon not running" : strerror(-r)
        );
        return PVE_DAEMON_EXIT_FAILURE;
    default:
        assert(!"unreachable verb");
        return PVE_DAEMON_EXIT_FAILURE;
    }
}
