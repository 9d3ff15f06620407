/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pveproxy: the HTTPS API proxy and web UI server on port 8006. Runs as www-data after reading
 * what needs root. Options: --port (8006), --listen (overrides LISTEN_IP), --daemon-url
 * (pvedaemon, http://127.0.0.1:85), --www-dir (web UI files), --access-log, --peer-port
 * (8006, the port of other nodes' pveproxy). Environment: PVE_PROXY_DEFAULTS (path of
 * /etc/default/pveproxy).
 */
#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/daemon.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pveproxy-server.h"

static PpServer server = PP_SERVER_INIT;

static int parse_port_arg(const char *arg, unsigned *ret) {
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno != 0 || !end || *end || end == arg || v == 0 || v > 65535)
        return -EINVAL;
    *ret = (unsigned) v;
    return 0;
}

static int parse_port(void *ud, const char *arg) {
    unsigned v = 0;
    int r = parse_port_arg(arg, &v);
    if (r >= 0)
        ((PpServer *) ud)->port = (uint16_t) v;
    return r;
}

static int parse_peer_port(void *ud, const char *arg) {
    return parse_port_arg(arg, &((PpServer *) ud)->peer_port);
}

#define STRING_OPTION(fn, field)               \
    static int fn(void *ud, const char *arg) { \
        if (!arg || !*arg)                     \
            return -EINVAL;                    \
        ((PpServer *) ud)->field = arg;        \
        return 0;                              \
    }
STRING_OPTION(parse_listen, listen_override)
STRING_OPTION(parse_daemon_url, daemon_url)
STRING_OPTION(parse_www_dir, www_dir)
STRING_OPTION(parse_access_log, access_log_path)

static const PveDaemonOption options[] = {
    {.name = "port",
     .has_arg = true,
     .arg_name = "PORT",
     .help = "TCP port (default 8006)",
     .parse = parse_port},
    {.name = "listen",
     .has_arg = true,
     .arg_name = "ADDR",
     .help = "listen address (default LISTEN_IP, else ::)",
     .parse = parse_listen},
    {.name = "daemon-url",
     .has_arg = true,
     .arg_name = "URL",
     .help = "pvedaemon (default http://127.0.0.1:85)",
     .parse = parse_daemon_url},
    {.name = "www-dir",
     .has_arg = true,
     .arg_name = "DIR",
     .help = "web UI files (default /usr/share/pve-manager)",
     .parse = parse_www_dir},
    {.name = "access-log",
     .has_arg = true,
     .arg_name = "FILE",
     .help = "access log (default /var/log/pveproxy/access.log)",
     .parse = parse_access_log},
    {.name = "peer-port",
     .has_arg = true,
     .arg_name = "PORT",
     .help = "port of other nodes' pveproxy (default 8006)",
     .parse = parse_peer_port},
};

static int pp_check(void *ud, bool verbose) {
    return pp_server_check(ud, verbose);
}

static int pp_init(void *ud) {
    return pp_server_init(ud);
}

static int pp_setup(sd_event *e, void *ud) {
    PpServer *s = ud;
    int r = pp_server_start(s, e);
    if (r < 0)
        return pve_daemon_error_errno(r, "unable to start workers - %m");
    log_info("listening on port %u (%u workers)", s->port, pp_server_workers(s));
    return 0;
}

static int pp_reload(void *ud) {
    return pp_server_reload(ud);
}

static void pp_shutdown(void *ud) {
    pp_server_done(ud);
}

/* The pid file lives in /run/pveproxy, owned by www-data so the daemon can remove it after
 * dropping privileges (upstream's wrapper creates it the same way). */
static void prepare_rundir(const char *pidfile) {
    if (geteuid() != 0 || !pidfile)
        return;
    char *dir = strdup(pidfile);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    struct passwd *pw = getpwnam(PVE_WWW_USER);
    if (slash && slash != dir && pw) {
        *slash = 0;
        if (mkdir(dir, 0700) == 0 || errno == EEXIST)
            (void) chown(dir, pw->pw_uid, pw->pw_gid);
    }
    free(dir);
}

int main(int argc, char *argv[]) {
    static const PveDaemon d = {
        .name = "pveproxy",
        .pidfile = PVE_PROXY_PIDFILE,
        .stop_wait = 15,
        .user = PVE_WWW_USER,
        .options = options,
        .n_options = ELEMENTSOF(options),
        .userdata = &server,
        .check = pp_check,
        .init = pp_init,
        .setup = pp_setup,
        .reload = pp_reload,
        .shutdown = pp_shutdown,
    };
    server.config_path = pve_path_env("PVE_PROXY_DEFAULTS", PVE_PROXY_DEFAULTS);
    pve_log_open("pveproxy", PVE_LOG_TARGET_AUTO);
    prepare_rundir(pve_path_env("PVE_DAEMON_PIDFILE", PVE_PROXY_PIDFILE));
    return pve_daemon_main(&d, argc, argv);
}
