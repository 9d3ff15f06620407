/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvestatd: the PVE status daemon (specs/api.md §9). Every --interval seconds (default 10,
 * aligned to the wall clock) it broadcasts this node's task list, node status and storage
 * status through pmxcfs; pmxcfs turns the rrd/ values into RRD files on every node.
 *
 * Options for tests: --interval SEC, --nodename NAME (default: short host name), --proc DIR
 * (procfs root), --rootfs DIR (file system reported as root). Environment: PVE_TASK_DIR,
 * PVE_CFS_MOUNTPOINT, PVE_CFS_IPC_SERVICE, PVE_DAEMON_PIDFILE. Runs as root (SET_STATUS
 * is root only).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pve/cluster-setup.h"
#include "pve/daemon.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/string-util.h"
#include "pvestatd.h"

typedef struct Main {
    StatdConfig c;
    char nodename[256];
    Statd *statd;
} Main;

static Main m = {
    .c = {.interval = STATD_DEFAULT_INTERVAL, .proc = "/proc", .rootfs = "/"},
};

static int opt_interval(void *ud, const char *arg) {
    unsigned u;
    if (safe_atou32(arg, &u) < 0 || u == 0 || u > 3600)
        return pve_daemon_error_errno(EINVAL, "invalid --interval '%s' (1..3600 seconds)", arg);
    ((Main *) ud)->c.interval = u;
    return 0;
}

#define OPT_STRING(opt, field)                                     \
    static int opt_##field(void *ud, const char *arg) {            \
        if (!*arg)                                                 \
            return pve_daemon_error_errno(EINVAL, "empty --" opt); \
        ((Main *) ud)->c.field = arg;                              \
        return 0;                                                  \
    }
OPT_STRING("nodename", nodename)
OPT_STRING("proc", proc)
OPT_STRING("rootfs", rootfs)

static const PveDaemonOption options[] = {
    {"interval", 0, true, "SEC", "seconds between status updates (default 10)", opt_interval},
    {"nodename", 0, true, "NAME", "node name (default: short host name)", opt_nodename},
    {"proc", 0, true, "DIR", "procfs root (default /proc)", opt_proc},
    {"rootfs", 0, true, "DIR", "file system reported as root (default /)", opt_rootfs},
};

static int statd_init(void *userdata) {
    Main *x = userdata;
    int r;
    if (!x->c.nodename) {
        r = cluster_short_nodename(x->nodename);
        if (r == -EINVAL)
            return pve_daemon_error_errno(EINVAL, "empty node name; set a host name");
        if (r < 0)
            return pve_daemon_error_errno(r, "uname failed: %m");
        x->c.nodename = x->nodename;
    }
    x->c.taskdir = pve_path_env("PVE_TASK_DIR", PVE_TASK_DIR);
    r = statd_new(&x->c, &x->statd);
    if (r < 0)
        return pve_daemon_error_errno(r, "cannot set up the status collection: %m");
    return 0;
}

static int statd_setup(sd_event *event, void *userdata) {
    Main *x = userdata;
    int r = statd_start(x->statd, event);
    if (r < 0)
        return pve_daemon_error_errno(r, "cannot start the status timer: %m");
    log_info("status update every %u s for node '%s' started", x->c.interval, x->c.nodename);
    return 0;
}

static int statd_reload(void *userdata) {
    (void) userdata;
    log_info("nothing to reload: every cycle reads storage.cfg afresh");
    return 0;
}

static void statd_shutdown(void *userdata) {
    Main *x = userdata;
    x->statd = statd_free(x->statd);
}

int main(int argc, char *argv[]) {
    const PveDaemon d = {
        .name = "pvestatd",
        .pidfile = PVE_STATD_PIDFILE,
        .options = options,
        .n_options = ELEMENTSOF(options),
        .userdata = &m,
        .init = statd_init,
        .setup = statd_setup,
        .reload = statd_reload,
        .shutdown = statd_shutdown,
    };
    return pve_daemon_main(&d, argc, argv);
}
