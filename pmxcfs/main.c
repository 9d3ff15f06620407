/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pmxcfs: command line, start-up and teardown (specs/pmxcfs.md §7). Everything else lives in
 * the pmxcfs-internal library so tests link it.
 */
#include <arpa/inet.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "cfs-fuse.h"
#include "memdb.h"
#include "pmxcfs.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/string-util.h"

static void usage(void) {
    printf(
        "Usage:\n"
        "  pmxcfs [OPTION...]\n\n"
        "Options:\n"
        "  -h, --help              Show help options\n"
        "  -d, --debug             Turn on debug messages\n"
        "  -f, --foreground        Do not daemonize server\n"
        "  -l, --local             Force local mode (ignore corosync.conf, force quorum)\n\n"
        "Test and recovery overrides (defaults are the upstream paths):\n"
        "      --mountpoint=DIR    default " PVE_CFS_MOUNTPOINT
        "\n"
        "      --vardir=DIR        default " PVE_CFS_VARLIBDIR
        "\n"
        "      --rundir=DIR        default " PVE_CFS_RUNDIR
        "\n"
        "      --pidfile=FILE      default " PVE_CFS_PIDFILE
        "\n"
        "      --nodename=NAME     default: short hostname\n"
        "      --lock-timeout=SEC  seconds before a lock may be broken (default 120)\n"
        "      --cache-timeout=SEC kernel attribute cache (default 1)\n"
    );
}

static int parse_args(int argc, char *argv[], PmxcfsOptions *o) {
    enum { ARG_MOUNT = 0x100, ARG_VAR, ARG_RUN, ARG_PID, ARG_NODE, ARG_LOCKT, ARG_CACHET, ARG_IPC };
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"debug", no_argument, NULL, 'd'},
        {"foreground", no_argument, NULL, 'f'},
        {"local", no_argument, NULL, 'l'},
        {"mountpoint", required_argument, NULL, ARG_MOUNT},
        {"vardir", required_argument, NULL, ARG_VAR},
        {"rundir", required_argument, NULL, ARG_RUN},
        {"pidfile", required_argument, NULL, ARG_PID},
        {"nodename", required_argument, NULL, ARG_NODE},
        {"lock-timeout", required_argument, NULL, ARG_LOCKT},
        {"cache-timeout", required_argument, NULL, ARG_CACHET},
        {"ipc-service", required_argument, NULL, ARG_IPC},
        {},
    };
    int c;
    unsigned u;

    while ((c = getopt_long(argc, argv, "hdfl", opts, NULL)) >= 0) {
        switch (c) {
        case 'h':
            usage();
            exit(EXIT_SUCCESS);
        case 'd':
            o->debug = true;
            break;
        case 'f':
            o->foreground = true;
            break;
        case 'l':
            o->local = true;
            break;
        case ARG_MOUNT:
            o->mountpoint = optarg;
            break;
        case ARG_VAR:
            o->vardir = optarg;
            break;
        case ARG_RUN:
            o->rundir = optarg;
            break;
        case ARG_PID:
            o->pidfile = optarg;
            break;
        case ARG_NODE:
            o->nodename = optarg;
            break;
        case ARG_LOCKT:
            if (safe_atou32(optarg, &u) < 0)
                return log_error_errno(EINVAL, "Invalid --lock-timeout '%s'.", optarg);
            o->lock_timeout = u;
            break;
        case ARG_CACHET: {
            char *end;
            o->cache_timeout = strtod(optarg, &end);
            if (*end || o->cache_timeout < 0)
                return log_error_errno(EINVAL, "Invalid --cache-timeout '%s'.", optarg);
            break;
        }
        case ARG_IPC:
            if (!*optarg)
                return log_error_errno(EINVAL, "Invalid --ipc-service ''.");
            o->ipc_service = optarg;
            break;
        default:
            return -EINVAL;
        }
    }
    if (optind < argc)
        return log_error_errno(EINVAL, "Unexpected argument '%s'; see --help.", argv[optind]);
    return 0;
}

/* Short host name and whether it resolves to a non-loopback address (upstream requires it). */
static int check_nodename(const PmxcfsOptions *o, char ret[256]) {
    struct utsname u;
    if (o->nodename)
        snprintf(ret, 256, "%s", o->nodename);
    else {
        if (uname(&u) < 0)
            return log_error_errno(errno, "uname failed: %m");
        snprintf(ret, 256, "%s", u.nodename);
        ret[strcspn(ret, ".")] = '\0';
    }
    if (!*ret)
        return log_error_errno(EINVAL, "Empty node name; set a host name.");

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    bool found = false;
    char ip[INET6_ADDRSTRLEN] = "";
    if (getaddrinfo(ret, NULL, &hints, &res) == 0) {
        for (struct addrinfo *a = res; a && !found; a = a->ai_next) {
            if (a->ai_family == AF_INET) {
                const struct in_addr *in = &((struct sockaddr_in *) a->ai_addr)->sin_addr;
                if ((ntohl(in->s_addr) >> 24) != 127) {
                    found = true;
                    inet_ntop(AF_INET, in, ip, sizeof ip);
                }
            } else if (a->ai_family == AF_INET6) {
                const struct in6_addr *in6 = &((struct sockaddr_in6 *) a->ai_addr)->sin6_addr;
                if (!IN6_IS_ADDR_LOOPBACK(in6)) {
                    found = true;
                    inet_ntop(AF_INET6, in6, ip, sizeof ip);
                }
            }
        }
        freeaddrinfo(res);
    }
    if (found) {
        log_debug("node name '%s' resolves to %s", ret, ip);
        return 0;
    }
    if (o->local) {
        /* Upstream refuses to start here; a standalone node does not need the address. */
        log_warning(
            "Node name '%s' does not resolve to a non-loopback IP address (check "
            "/etc/hosts or DNS); continuing because this is local mode, but a cluster "
            "will need it.",
            ret
        );
        return 0;
    }
    return log_error_errno(
        ENXIO,
        "Unable to resolve node name '%s' to a non-loopback IP address - "
        "missing entry in '/etc/hosts' or DNS?",
        ret
    );
}

static int mkdir_owned(const char *path, mode_t mode, gid_t gid) {
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return log_error_errno(errno, "Failed to create directory '%s': %m", path);
    if (gid != (gid_t) -1 && chown(path, 0, gid) < 0)
        return log_error_errno(errno, "Failed to chown '%s': %m", path);
    return 0;
}

static int take_lock(const char *path) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return log_error_errno(errno, "Unable to open lock file '%s': %m", path);
    for (int i = 0; i < 10; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK)
            break;
        if (i == 0)
            log_info("Lock '%s' is held by another pmxcfs; waiting up to 10 s.", path);
        sleep(1);
    }
    int r = log_error_errno(
        errno,
        "Unable to acquire pmxcfs lock '%s' - is another pmxcfs "
        "running? %m",
        path
    );
    close(fd);
    return r;
}

static int write_pidfile(const char *path, pid_t pid) {
    _cleanup_free_ char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.%d", path, (int) getpid()) < 0)
        return -ENOMEM;
    FILE *f = fopen(tmp, "we");
    if (!f)
        return log_error_errno(errno, "Failed to write pid file '%s': %m", tmp);
    fprintf(f, "%d\n", (int) pid);
    if (fclose(f) != 0 || chmod(tmp, 0644) < 0 || rename(tmp, path) < 0) {
        int r = log_error_errno(errno, "Failed to write pid file '%s': %m", path);
        (void) unlink(tmp);
        return r;
    }
    return 0;
}

static void touch(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
}

/* Fork; the parent waits until the child reports the mount is serving, then exits. */
static int daemonize(const char *pidfile, int *ret_ready_fd) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return log_error_errno(errno, "pipe failed: %m");
    pid_t pid = fork();
    if (pid < 0)
        return log_error_errno(errno, "fork failed: %m");
    if (pid > 0) {
        char c = 0;
        close(p[1]);
        ssize_t n;
        do
            n = read(p[0], &c, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1 || c != '1') {
            fprintf(stderr, "pmxcfs: start failed - see the log for details\n");
            _exit(EXIT_FAILURE);
        }
        if (write_pidfile(pidfile, pid) < 0)
            _exit(EXIT_FAILURE);
        _exit(EXIT_SUCCESS);
    }
    close(p[0]);
    if (setsid() < 0)
        return log_error_errno(errno, "setsid failed: %m");
    if (chdir("/") < 0)
        return log_error_errno(errno, "chdir failed: %m");
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        close(null); /* stderr stays until ready, so start-up errors are still seen */
    }
    *ret_ready_fd = p[1];
    return 0;
}

static int run(int argc, char *argv[]) {
    PmxcfsOptions o = {
        .mountpoint = PVE_CFS_MOUNTPOINT,
        .vardir = PVE_CFS_VARLIBDIR,
        .rundir = PVE_CFS_RUNDIR,
        .pidfile = PVE_CFS_PIDFILE,
        .lock_timeout = PVE_CFS_LOCK_TIMEOUT,
        .cache_timeout = 1.0,
    };
    _cleanup_(pmxcfs_freep) Pmxcfs *cfs = NULL;
    int r, ready_fd = -1;

    pve_log_open("pmxcfs", PVE_LOG_TARGET_AUTO);
    r = parse_args(argc, argv, &o);
    if (r < 0)
        return r;
    if (o.debug)
        pve_log_set_level(LOG_DEBUG);

    char nodename[256];
    r = check_nodename(&o, nodename);
    if (r < 0)
        return r;
    o.nodename = nodename;

    struct group *g = getgrnam(PVE_CFS_WWW_GROUP);
    if (!g)
        return log_error_errno(
            ENOENT,
            "Group '%s' does not exist; create it (e.g. install the "
            "'passwd' defaults or run 'groupadd %s').",
            PVE_CFS_WWW_GROUP, PVE_CFS_WWW_GROUP
        );
    o.www_gid = g->gr_gid;

    umask(027);
    if ((r = mkdir_owned(o.vardir, 0750, (gid_t) -1)) < 0 ||
        (r = mkdir_owned(o.rundir, 0750, o.www_gid)) < 0)
        return r;
    _cleanup_free_ char *lockfile = NULL, *restart_flag = NULL;
    if (asprintf(&lockfile, "%s/.pmxcfs.lockfile", o.vardir) < 0 ||
        asprintf(&restart_flag, "%s/cfs-restart-flag", o.rundir) < 0)
        return log_oom();
    _cleanup_close_ int lock_fd = take_lock(lockfile);
    if (lock_fd < 0)
        return lock_fd;

    r = pmxcfs_new(&o, &cfs);
    if (r < 0)
        return r;

    if (!o.foreground) {
        r = daemonize(o.pidfile, &ready_fd);
        if (r < 0)
            return r;
    } else if ((r = write_pidfile(o.pidfile, getpid())) < 0)
        return r;

    r = pmxcfs_start(cfs);
    if (r < 0)
        return r;
    (void) unlink(restart_flag);
    (void) sd_notify(0, "READY=1");
    if (ready_fd >= 0) {
        (void) write(ready_fd, "1", 1);
        close(ready_fd);
        if (pve_log_get_target() == PVE_LOG_TARGET_STDERR) {
            /* Detached: stderr may be a terminal that goes away. */
            int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (null >= 0) {
                dup2(null, STDERR_FILENO);
                close(null);
            }
        }
    }
    log_info("pmxcfs running on node '%s', mounted at %s", nodename, o.mountpoint);

    r = pmxcfs_run(cfs);

    (void) sd_notify(0, "STOPPING=1");
    touch(restart_flag);
    cfs = pmxcfs_free(cfs);
    (void) unlink(o.pidfile);
    log_info("pmxcfs stopped");
    return r;
}

int main(int argc, char *argv[]) {
    int r = run(argc, argv);
    return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
