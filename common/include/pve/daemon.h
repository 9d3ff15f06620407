/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The daemon framework every PVE service binary shares: the PVE::Daemon command line
 * (start/stop/restart/reload/status/help, --check), the pid file and its lock, detaching with a
 * readiness pipe, sd_notify (READY/RELOADING/STOPPING), signal handling on one sd_event loop and
 * dropping privileges.
 *
 * A daemon describes itself in a PveDaemon and hands control to pve_daemon_main(). What the
 * daemon does is in its callbacks; this module never opens sockets or reads configuration.
 *
 * Life of `<daemon> start [--foreground]`, in the process that becomes the daemon:
 *   block SIGTERM/SIGINT/SIGQUIT/SIGHUP, ignore SIGPIPE -> flock "<pidfile>.lock" (waiting up to
 *   5 s) -> write the pid file -> init() (as root) -> drop to user/group -> setup(event) ->
 *   pve_daemon_ready() (by the framework unless ready_manually) -> sd_event_loop() ->
 *   shutdown() -> remove the pid file.
 * Without --foreground the command forks first; the parent waits on a pipe and exits 0 once the
 * child called pve_daemon_ready(), or prints "start failed - <msg>" and exits 255.
 *
 * Environment: PVE_DAEMON_PIDFILE (pid file path, below --pidfile), PVE_DAEMON_STOP_WAIT
 * (seconds, overrides PveDaemon.stop_wait), PVE_DAEMON_LOCK_WAIT (seconds to wait for the lock,
 * default 5), NOTIFY_SOCKET (sd_notify), PVE_LOG_LEVEL (see pve/log.h).
 *
 * The four handled signals stay blocked in the daemon (sd-event reads them through a signalfd);
 * a daemon that forks and execs other programs must unblock them in the child.
 */
#pragma once

#include <sys/types.h>

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "pve/macro.h"

/* Exit status of every failing verb, as upstream (Perl's die -> exit(-1)). */
#define PVE_DAEMON_EXIT_FAILURE 255
/* Default seconds `stop` waits after SIGTERM before SIGKILL (upstream pvestatd; the API
 * daemons use 15). */
#define PVE_DAEMON_STOP_WAIT_DEFAULT 5

/* A daemon-specific command line option, parsed with getopt_long next to the common ones. */
typedef struct PveDaemonOption {
    const char *name;     /* long name without "--" */
    int short_name;       /* 0 for none */
    bool has_arg;         /* takes a required argument */
    const char *arg_name; /* shown in the usage, e.g. "PORT" */
    const char *help;     /* one line for the usage */
    /* Called while parsing; arg is NULL without has_arg. Negative errno = usage error. */
    int (*parse)(void *userdata, const char *arg);
} PveDaemonOption;

typedef struct PveDaemon {
    const char *name;    /* binary / journal identifier, e.g. "pvestatd" */
    const char *pidfile; /* default pid file (overridden by $PVE_DAEMON_PIDFILE, --pidfile) */
    unsigned stop_wait;  /* seconds `stop` waits before SIGKILL; 0 = default */
    const char *user;    /* drop to this user after init(); NULL = stay */
    const char *group;   /* and this group; NULL = the user's primary group */
    bool ready_manually; /* the daemon calls pve_daemon_ready() itself (e.g. after a sync) */

    const PveDaemonOption *options; /* extra options, n_options entries */
    size_t n_options;
    void *userdata; /* passed to every callback */

    /* --check: parse the configuration only (verbose: -v was given, print it back). Return 0
     * or a negative errno, preferably via pve_daemon_error_errno(). Optional. */
    int (*check)(void *userdata, bool verbose);
    /* Before the privilege drop, as root: read config, open sockets. Optional. */
    int (*init)(void *userdata);
    /* After the drop: attach sources to the loop. Optional. */
    int (*setup)(sd_event *event, void *userdata);
    /* SIGHUP (`reload`, `restart`). A failure is logged and the daemon keeps running. */
    int (*reload)(void *userdata);
    /* After the loop ended (SIGTERM/SIGINT/SIGQUIT or sd_event_exit()), before the pid file is
     * removed. Optional. */
    void (*shutdown)(void *userdata);
} PveDaemon;

typedef enum PveDaemonVerb {
    PVE_DAEMON_VERB_START,
    PVE_DAEMON_VERB_STOP,
    PVE_DAEMON_VERB_RESTART,
    PVE_DAEMON_VERB_RELOAD,
    PVE_DAEMON_VERB_STATUS,
    PVE_DAEMON_VERB_HELP,
    PVE_DAEMON_VERB_CHECK, /* --check / -n, not a word */
    _PVE_DAEMON_VERB_MAX,
    _PVE_DAEMON_VERB_INVALID = -EINVAL,
} PveDaemonVerb;

/* The parsed common command line. Strings point into argv. */
typedef struct PveDaemonArgs {
    PveDaemonVerb verb;
    bool foreground;     /* --foreground / -f (start, restart) */
    bool debug;          /* --debug / -d: log level debug */
    bool verbose;        /* -v with --check */
    const char *pidfile; /* --pidfile PATH, or NULL */
} PveDaemonArgs;

/* Run the command line: returns the process exit status (0; 1 for a failed --check;
 * PVE_DAEMON_EXIT_FAILURE for usage errors and failed verbs). Call once, from main(). */
int pve_daemon_main(const PveDaemon *d, int argc, char *argv[]);

/* Tell the starting parent (without --foreground) and systemd (READY=1, MAINPID) that the
 * daemon really serves now. Idempotent. Without --foreground, stderr goes to /dev/null from
 * here on (logging switches to the journal) unless it already is the journal. */
int pve_daemon_ready(void);

/* Record why start/check/the daemon failed; the framework prints it once, as
 * "start failed - <msg>" or in the log. %m refers to error. Returns -abs(error) (-EINVAL for 0),
 * so `return pve_daemon_error_errno(r, "can't bind port %u - %m", port);`. */
int pve_daemon_error_errno(int error, const char *fmt, ...) _printf_(2, 3);

/* The message recorded by pve_daemon_error_errno(), or NULL. */
const char *pve_daemon_error_message(void);

/* The event loop of the running daemon (NULL outside of it); not a new reference. */
sd_event *pve_daemon_event(void);

/* Drop to user (and group, default: the user's primary group) for good: initgroups, setresgid,
 * setresuid, then verify the ids and that root cannot be regained. user NULL changes only the
 * group (supplementary groups reset to it). Returns 0 or negative errno (-ESRCH: unknown user
 * or group, -EPERM: verification failed). */
int pve_drop_privileges(const char *user, const char *group);

/* Parse argv (getopt_long, options may come before or after the verb). Usage errors are
 * printed to stderr and return -EINVAL. Calls the PveDaemonOption parsers. Resets getopt. */
int pve_daemon_parse_args(const PveDaemon *d, int argc, char *argv[], PveDaemonArgs *ret);

/* Print the usage to f. */
void pve_daemon_usage(const PveDaemon *d, FILE *f);

const char *pve_daemon_verb_to_string(PveDaemonVerb v) _pure_;
PveDaemonVerb pve_daemon_verb_from_string(const char *s) _pure_;

/* Stop wait in seconds: $PVE_DAEMON_STOP_WAIT if valid, else d->stop_wait, else 5. */
unsigned pve_daemon_stop_wait(const PveDaemon *d);
