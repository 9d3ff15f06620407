/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvedaemon: the privileged PVE API daemon. Options --port (default 85), --listen (default
 * 127.0.0.1) and --workers (default one per CPU, at least 2); everything else comes from the
 * cfs mount ($PVE_CFS_MOUNTPOINT, default /etc/pve). Environment: PVE_TASK_DIR (task logs),
 * PVE_NODE_POWER_COMMAND (what node reboot/shutdown runs; unset = refused). SIGHUP starts
 * fresh workers while the old ones finish their requests.
 */
#include <errno.h>
#include <stdlib.h>

#include "pve/api-auth.h"
#include "pve/daemon.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pvedaemon-server.h"

static PdServer server = {.address = PVE_DAEMON_ADDR, .port = PVE_DAEMON_PORT, .listen_fd = -1};

static int parse_port(void *userdata, const char *arg) {
    PdServer *s = userdata;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno != 0 || !end || *end || end == arg || v == 0 || v > 65535)
        return -EINVAL;
    s->port = (uint16_t) v;
    return 0;
}

static int parse_listen(void *userdata, const char *arg) {
    PdServer *s = userdata;
    if (!arg || !*arg)
        return -EINVAL;
    s->address = arg;
    return 0;
}

static int parse_workers(void *userdata, const char *arg) {
    PdServer *s = userdata;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno != 0 || !end || *end || end == arg || v == 0 || v > PD_MAX_WORKERS)
        return -EINVAL;
    s->n_workers = (unsigned) v;
    return 0;
}

static const PveDaemonOption options[] = {
    {.name = "port",
     .has_arg = true,
     .arg_name = "PORT",
     .help = "TCP port (default 85)",
     .parse = parse_port},
    {.name = "listen",
     .has_arg = true,
     .arg_name = "ADDR",
     .help = "listen address (default 127.0.0.1)",
     .parse = parse_listen},
    {.name = "workers",
     .has_arg = true,
     .arg_name = "N",
     .help = "worker processes (default: one per CPU, at least 2)",
     .parse = parse_workers},
};

static int pd_init(void *userdata) {
    PdServer *s = userdata;
    int r = api_auth_keys_ensure();
    if (r < 0)
        return pve_daemon_error_errno(r, "unable to set up key material - %m");
    r = pd_server_init(s);
    if (r < 0)
        return pve_daemon_error_errno(r, "unable to set up the API router - %m");
    return 0;
}

static int pd_setup(sd_event *e, void *userdata) {
    PdServer *s = userdata;
    int r = pd_server_start(s, e);
    if (r < 0)
        return pve_daemon_error_errno(r, "unable to listen on %s:%u - %m", s->address, s->port);
    log_info("listening on %s:%u", s->address, s->port);
    return 0;
}

static int pd_reload(void *userdata) {
    return pd_server_reload(userdata);
}

static void pd_shutdown(void *userdata) {
    pd_server_done(userdata);
}

static int run(int argc, char *argv[]) {
    static const PveDaemon d = {
        .name = "pvedaemon",
        .pidfile = PVE_DAEMON_PIDFILE,
        .stop_wait = 15,
        .options = options,
        .n_options = ELEMENTSOF(options),
        .userdata = &server,
        .init = pd_init,
        .setup = pd_setup,
        .reload = pd_reload,
        .shutdown = pd_shutdown,
    };
    pve_log_open("pvedaemon", PVE_LOG_TARGET_AUTO);
    return pve_daemon_main(&d, argc, argv);
}

int main(int argc, char *argv[]) {
    return run(argc, argv);
}
