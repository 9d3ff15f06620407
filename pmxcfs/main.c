/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pmxcfs: command line, start-up and teardown (specs/pmxcfs.md §7). The verbs, pid file,
 * readiness and signals come from the shared daemon framework (pve/daemon.h); upstream's
 * `pmxcfs [-d] [-f] [-l]` is accepted as `pmxcfs start ...`. The FUSE loop runs on its own
 * thread; everything else lives in the pmxcfs-internal library so tests link it.
 */
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "cfs-fuse.h"
#include "pmxcfs.h"
#include "pve/daemon.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/rrd-file.h"
#include "pve/string-util.h"

typedef struct Cfsd {
    PmxcfsOptions o;
    char nodename[256];
    char node_ip[INET6_ADDRSTRLEN];
    char *restart_flag;
    int lock_fd;
    Pmxcfs *cfs;
    pthread_t loop;
    bool loop_running;
    int loop_done_fd; /* eventfd: the FUSE loop ended */
    int loop_result;
} Cfsd;

static Cfsd cfsd = {
    .o =
        {
            .mountpoint = PVE_CFS_MOUNTPOINT,
            .vardir = PVE_CFS_VARLIBDIR,
            .rundir = PVE_CFS_RUNDIR,
            .lock_timeout = PVE_CFS_LOCK_TIMEOUT,
            .cache_timeout = 1.0,
        },
    .lock_fd = -EBADF,
    .loop_done_fd = -EBADF,
};

static int opt_local(void *ud, const char *arg) {
    (void) arg;
    ((Cfsd *) ud)->o.local = true;
    return 0;
}
#define OPT_STRING(field)                                             \
    static int opt_##field(void *ud, const char *arg) {               \
        if (!*arg)                                                    \
            return pve_daemon_error_errno(EINVAL, "empty --" #field); \
        ((Cfsd *) ud)->o.field = arg;                                 \
        return 0;                                                     \
    }
OPT_STRING(mountpoint)
OPT_STRING(vardir)
OPT_STRING(rundir)
OPT_STRING(nodename)
OPT_STRING(ipc_service)
OPT_STRING(corosync_conf)
OPT_STRING(corosync_reload)
OPT_STRING(rrd_dir)
OPT_STRING(rrdcached_socket)

static int opt_lock_timeout(void *ud, const char *arg) {
    unsigned u;
    if (safe_atou32(arg, &u) < 0)
        return pve_daemon_error_errno(EINVAL, "invalid --lock-timeout '%s'", arg);
    ((Cfsd *) ud)->o.lock_timeout = u;
    return 0;
}

static int opt_cluster_timeout(void *ud, const char *arg) {
    unsigned u;
    if (safe_atou32(arg, &u) < 0 || u == 0 || u > 3600 * 1000)
        return pve_daemon_error_errno(EINVAL, "invalid --cluster-timeout '%s' (milliseconds)", arg);
    ((Cfsd *) ud)->o.cluster_timeout_ms = u;
    return 0;
}

static int opt_cache_timeout(void *ud, const char *arg) {
    char *end;
    double t = strtod(arg, &end);
    if (*arg == '\0' || *end || t < 0 || t > 86400)
        return pve_daemon_error_errno(EINVAL, "invalid --cache-timeout '%s'", arg);
    ((Cfsd *) ud)->o.cache_timeout = t;
    return 0;
}

static const PveDaemonOption cfs_options[] = {
    {"local", 'l', false, NULL, "force local mode (ignore corosync.conf, force quorum)", opt_local},
    {"mountpoint", 0, true, "DIR", "mount point (default " PVE_CFS_MOUNTPOINT ")", opt_mountpoint},
    {"vardir", 0, true, "DIR", "database directory (default " PVE_CFS_VARLIBDIR ")", opt_vardir},
    {"rundir", 0, true, "DIR", "runtime directory (default " PVE_CFS_RUNDIR ")", opt_rundir},
    {"nodename", 0, true, "NAME", "node name (default: short host name)", opt_nodename},
    {"ipc-service", 0, true, "NAME", "IPC service name (default " PVE_CFS_IPC_SERVICE ")",
     opt_ipc_service},
    {"lock-timeout", 0, true, "SEC", "seconds before a lock may be broken (default 120)",
     opt_lock_timeout},
    {"cache-timeout", 0, true, "SEC", "kernel attribute/entry cache (default 1)",
     opt_cache_timeout},
    {"corosync-conf", 0, true, "PATH",
     "host corosync.conf to import and sync (default " PVE_COROSYNC_CONF ")", opt_corosync_conf},
    {"cluster-timeout", 0, true, "MS",
     "a write waiting longer for the cluster fails with ETIMEDOUT (default 30000)",
     opt_cluster_timeout},
    {"corosync-reload", 0, true, "CMD",
     "command making corosync re-read it (default 'corosync-cfgtool -R')", opt_corosync_reload},
    {"rrd-dir", 0, true, "DIR",
     "RRD files of the broadcast status ($PVE_RRD_DIR, default " PVE_RRD_DIR ")", opt_rrd_dir},
    {"rrdcached-socket", 0, true, "PATH",
     "rrdcached socket, used when it exists ($PVE_RRDCACHED_SOCKET, default " PVE_RRDCACHED_SOCKET
     ")",
     opt_rrdcached_socket},
};

/* Short host name and whether it resolves to a non-loopback address (upstream requires it). */
static int check_nodename(const PmxcfsOptions *o, char ret[256], char ret_ip[INET6_ADDRSTRLEN]) {
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
        memcpy(ret_ip, ip, sizeof ip);
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

static void touch(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
}

static int cfs_init(void *userdata) {
    Cfsd *c = userdata;
    int r;

    r = check_nodename(&c->o, c->nodename, c->node_ip);
    if (r < 0)
        return pve_daemon_error_errno(r, "cannot determine a usable node name (see log)");
    c->o.nodename = c->nodename;
    c->o.node_ip = c->node_ip[0] ? c->node_ip : NULL;

    struct group *g = getgrnam(PVE_CFS_WWW_GROUP);
    if (!g)
        return pve_daemon_error_errno(
            ENOENT,
            "group '%s' does not exist; create it with "
            "'groupadd %s'",
            PVE_CFS_WWW_GROUP, PVE_CFS_WWW_GROUP
        );
    c->o.www_gid = g->gr_gid;
    if (!c->o.rrd_dir)
        c->o.rrd_dir = rrd_store_default_dir();
    if (!c->o.rrdcached_socket)
        c->o.rrdcached_socket = rrd_store_default_socket();

    umask(027);
    if ((r = mkdir_owned(c->o.vardir, 0750, (gid_t) -1)) < 0 ||
        (r = mkdir_owned(c->o.rundir, 0750, c->o.www_gid)) < 0)
        return pve_daemon_error_errno(
            r, "cannot create '%s' or '%s': %m", c->o.vardir, c->o.rundir
        );

    _cleanup_free_ char *lockfile = NULL;
    if (asprintf(&lockfile, "%s/.pmxcfs.lockfile", c->o.vardir) < 0 ||
        asprintf(&c->restart_flag, "%s/cfs-restart-flag", c->o.rundir) < 0)
        return pve_daemon_error_errno(ENOMEM, "out of memory");
    c->lock_fd = take_lock(lockfile);
    if (c->lock_fd < 0)
        return pve_daemon_error_errno(
            c->lock_fd, "unable to acquire pmxcfs lock '%s': %m", lockfile
        );

    r = pmxcfs_new(&c->o, &c->cfs);
    if (r < 0)
        return pve_daemon_error_errno(r, "cannot open the database (see log): %m");
    return 0;
}

static void *fuse_thread(void *userdata) {
    Cfsd *c = userdata;
    c->loop_result = pmxcfs_run(c->cfs);
    uint64_t one = 1;
    (void) write(c->loop_done_fd, &one, sizeof one);
    return NULL;
}

static int on_loop_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
    Cfsd *c = userdata;
    (void) fd, (void) revents;
    log_info("file system loop ended (unmounted?), exiting");
    return sd_event_exit(sd_event_source_get_event(s), c->loop_result < 0 ? c->loop_result : 0);
}

static int cfs_setup(sd_event *event, void *userdata) {
    Cfsd *c = userdata;
    int r;

    r = pmxcfs_start(c->cfs);
    if (r < 0)
        return pve_daemon_error_errno(r, "cannot mount %s (see log): %m", c->o.mountpoint);
    c->loop_done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->loop_done_fd < 0)
        return pve_daemon_error_errno(errno, "eventfd: %m");
    r = sd_event_add_io(event, NULL, c->loop_done_fd, EPOLLIN, on_loop_done, c);
    if (r < 0)
        return pve_daemon_error_errno(r, "sd_event_add_io: %m");
    r = -pthread_create(&c->loop, NULL, fuse_thread, c);
    if (r < 0)
        return pve_daemon_error_errno(r, "cannot start the FUSE thread: %m");
    c->loop_running = true;

    (void) unlink(c->restart_flag);
    log_info(
        "pmxcfs running on node '%s', mounted at %s%s", c->nodename, c->o.mountpoint,
        pmxcfs_cluster_mode(c->cfs) ? " (cluster mode)" : " (local mode)"
    );
    return pve_daemon_ready();
}

static int cfs_reload(void *userdata) {
    (void) userdata;
    log_info("pmxcfs has no configuration to reload");
    return 0;
}

static void cfs_shutdown(void *userdata) {
    Cfsd *c = userdata;
    if (c->restart_flag)
        touch(c->restart_flag);
    if (c->loop_running) {
        pmxcfs_stop(c->cfs); /* unmounts: the loop thread returns */
        (void) pthread_join(c->loop, NULL);
        c->loop_running = false;
    }
    c->cfs = pmxcfs_free(c->cfs);
    c->lock_fd = safe_close(c->lock_fd);
    c->loop_done_fd = safe_close(c->loop_done_fd);
    free(c->restart_flag);
    c->restart_flag = NULL;
    log_info("pmxcfs stopped");
}

static int cfs_check(void *userdata, bool verbose) {
    Cfsd *c = userdata;
    _cleanup_free_ char *dbfile = NULL;
    if (asprintf(&dbfile, "%s/config.db", c->o.vardir) < 0)
        return pve_daemon_error_errno(ENOMEM, "out of memory");
    int r = pmxcfs_check_database(dbfile, verbose);
    if (r < 0)
        return pve_daemon_error_errno(r, "database '%s' cannot be loaded (see log): %m", dbfile);
    return 0;
}

/* Upstream's form (`pmxcfs`, `pmxcfs -f -l`) means `start`; add the verb when it is missing. */
static char **with_start_verb(int argc, char *argv[], int *ret_argc) {
    if (argc > 1 && argv[1][0] != '-') {
        *ret_argc = argc;
        return argv;
    }
    for (int i = 1; i < argc; i++)
        if (streq(argv[i], "-h") || streq(argv[i], "--help") || streq(argv[i], "--check") ||
            streq(argv[i], "-n")) {
            *ret_argc = argc;
            return argv;
        }
    char **v = calloc((size_t) argc + 2, sizeof *v);
    if (!v) {
        *ret_argc = argc;
        return argv;
    }
    v[0] = argv[0];
    v[1] = (char *) "start";
    for (int i = 1; i < argc; i++)
        v[i + 1] = argv[i];
    *ret_argc = argc + 1;
    return v;
}

int main(int argc, char *argv[]) {
    cfs_fuse_block_wakeup(); /* before any thread exists: only FUSE threads take it */
    const PveDaemon d = {
        .name = "pmxcfs",
        .pidfile = PVE_CFS_PIDFILE,
        .stop_wait = 10,
        .ready_manually = true,
        .options = cfs_options,
        .n_options = ELEMENTSOF(cfs_options),
        .userdata = &cfsd,
        .check = cfs_check,
        .init = cfs_init,
        .setup = cfs_setup,
        .reload = cfs_reload,
        .shutdown = cfs_shutdown,
    };
    int n;
    char **v = with_start_verb(argc, argv, &n);
    int r = pve_daemon_main(&d, n, v);
    if (v != argv)
        free(v);
    return r;
}
