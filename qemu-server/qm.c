/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qm: the local QEMU VM command line tool, the subset the node services and admins need:
 *
 *   qm list                                  VMs of this node with status
 *   qm status <vmid> [--verbose]             running/stopped (verbose: all status fields)
 *   qm config <vmid>                         the config file
 *   qm showcmd <vmid> [--pretty]             the QEMU command line a start would run
 *   qm start|stop|shutdown|reset|suspend|resume <vmid> [--timeout <s>] [--forceStop]
 *   qm cleanup <vmid> <clean-shutdown> <guest-requested>
 *   qm vncproxy <vmid>                       the VM's VNC socket on stdin/stdout
 *   qm migrate <vmid> <target> [--online] [--force] [--targetstorage <map>]
 *                                            POST .../migrate in this process, log followed
 *
 * `cleanup` is what qmeventd runs when a QEMU process ended: it waits for the process to be
 * really gone and removes the runtime files under the config lock; a config that no longer
 * exists makes it a no-op. Everything runs in this process as root: directly, except migrate,
 * which runs the API handler (a task, as upstream's qm does) and prints its log.
 */
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "pve/api-cli.h"
#include "pve/api-methods.h"
#include "pve/cfs-file.h"
#include "pve/cluster-setup.h"
#include "pve/console-relay.h"
#include "pve/guest-store.h"
#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/qemu-cmdline.h"
#include "pve/qemu-runtime.h"
#include "pve/string-util.h"

#define CLEANUP_LOCK_TIMEOUT_S 60
#define CLEANUP_WAIT_S         30

static char nodename[256];

static int usage(FILE *f) {
    fprintf(
        f,
        "usage: qm list\n"
        "       qm status <vmid> [--verbose]\n"
        "       qm config <vmid>\n"
        "       qm showcmd <vmid> [--pretty]\n"
        "       qm start|stop|shutdown|reset|suspend|resume <vmid> [--timeout <s>] "
        "[--forceStop]\n"
        "       qm cleanup <vmid> <clean-shutdown> <guest-requested>\n"
        "       qm vncproxy <vmid>\n"
        "       qm migrate <vmid> <target> [--online] [--force] [--targetstorage <map>]\n"
    );
    return f == stderr ? 2 : 0;
}

static int fail(int r, const char *msg) {
    fprintf(stderr, "%s\n", msg ? msg : strerror(r < 0 ? -r : r));
    return 255;
}

static int parse_vmid(const char *s, uint32_t *ret) {
    unsigned v;
    if (!s || safe_atou32(s, &v) < 0 || v < 100 || v > 999999999) {
        fprintf(stderr, "vmid: value '%s' is not a valid VMID (100 - 999999999)\n", s ? s : "");
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

static int cmd_list(void) {
    _cleanup_free_ uint32_t *ids = NULL;
    size_t n = 0;
    if (guest_list_local(GUEST_TYPE_QEMU, nodename, &ids, &n) < 0)
        return fail(-ENOMEM, NULL);
    printf(
        "%10s %-20s %-10s %-10s %-12s %-10s\n", "VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)",
        "PID"
    );
    for (size_t i = 0; i < n; i++) {
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        _cleanup_json_ json_t *st = NULL;
        if (guest_config_read(GUEST_TYPE_QEMU, nodename, ids[i], &c, NULL, NULL) < 0 ||
            qemu_vm_status(ids[i], c, false, &st) < 0)
            continue;
        printf(
            "%10u %-20s %-10s %-10lld %-12.2f %-10lld\n", ids[i],
            json_string_value(json_object_get(st, "name")),
            json_string_value(json_object_get(st, "status")),
            (long long) json_integer_value(json_object_get(st, "maxmem")) >> 20,
            (double) json_integer_value(json_object_get(st, "maxdisk")) / (1024.0 * 1024 * 1024),
            (long long) json_integer_value(json_object_get(st, "pid"))
        );
    }
    return 0;
}

static int cmd_status(uint32_t vmid, bool verbose) {
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    _cleanup_free_ char *err = NULL;
    _cleanup_json_ json_t *st = NULL;
    int r = guest_config_read(GUEST_TYPE_QEMU, nodename, vmid, &c, NULL, &err);
    if (r < 0)
        return fail(r, err);
    if ((r = qemu_vm_status(vmid, c, verbose, &st)) < 0)
        return fail(r, NULL);
    if (!verbose) {
        printf("status: %s\n", json_string_value(json_object_get(st, "status")));
        return 0;
    }
    const char *key;
    json_t *v;
    json_object_foreach(st, key, v) {
        _cleanup_free_ char *text = json_is_string(v)
                                        ? strdup(json_string_value(v))
                                        : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%s: %s\n", key, text ? text : "");
    }
    return 0;
}

static int cmd_config(uint32_t vmid) {
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    _cleanup_free_ char *err = NULL, *raw = NULL;
    int r = guest_config_read(GUEST_TYPE_QEMU, nodename, vmid, &c, &raw, &err);
    if (r < 0)
        return fail(r, err);
    fputs(raw, stdout);
    return 0;
}

static int cmd_showcmd(uint32_t vmid, bool pretty) {
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    _cleanup_free_ char *err = NULL, *line = NULL;
    _cleanup_strv_free_ char **argv = NULL;
    int r = guest_config_read(GUEST_TYPE_QEMU, nodename, vmid, &c, NULL, &err);
    if (r < 0 || (r = qemu_vm_cmdline(c, vmid, NULL, &argv, &err)) < 0)
        return fail(r, err);
    if ((r = qemu_cmdline_to_string(argv, &line)) < 0)
        return fail(r, NULL);
    if (pretty) {
        /* one option per line, as upstream's --pretty */
        for (char *p = line; (p = strstr(p, " -")); p += 2)
            *p = '\n';
        for (char *p = line; *p; p++)
            if (*p == '\n')
                printf(" \\\n  -");
            else
                putchar(*p);
        putchar('\n');
    } else
        puts(line);
    return 0;
}

/* Power actions under the config lock, as the API's tasks run them. */
static int cmd_power(const char *verb, uint32_t vmid, unsigned timeout, bool force) {
    _cleanup_free_ char *err = NULL;
    _cleanup_close_ int lock = -EBADF;
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = guest_lock(GUEST_TYPE_QEMU, vmid, 0, &lock, &err);
    if (r >= 0)
        r = guest_config_read(GUEST_TYPE_QEMU, nodename, vmid, &c, NULL, &err);
    if (r < 0)
        return fail(r, err);
    if (streq(verb, "start")) {
        if ((r = guest_config_check_lock(c, &err)) >= 0 &&
            guest_config_find_section(c, GUEST_SECTION_PENDING, NULL) &&
            (r = guest_config_apply_pending(c)) >= 0)
            r = guest_config_write(GUEST_TYPE_QEMU, nodename, vmid, c, false, &err);
        QemuStartOptions o = {.timeout_s = timeout};
        if (r >= 0)
            r = qemu_vm_start(c, vmid, &o, &err);
    } else if (streq(verb, "stop"))
        r = qemu_vm_stop(vmid, timeout, &err);
    else if (streq(verb, "shutdown"))
        r = qemu_vm_shutdown(vmid, timeout, force, &err);
    else
        r = qemu_vm_qmp_simple(
            vmid,
            streq(verb, "reset")     ? "system_reset"
            : streq(verb, "suspend") ? "stop"
                                     : "cont",
            &err
        );
    return r < 0 ? fail(r, err) : 0;
}

/* qm cleanup: QEMU of vmid exited (clean = it saw a SHUTDOWN, guest = the guest asked). */
static int cmd_cleanup(uint32_t vmid, bool clean, bool guest) {
    _cleanup_free_ char *err = NULL, *rel = NULL, *path = NULL;
    if (guest_config_relpath(GUEST_TYPE_QEMU, nodename, vmid, &rel) < 0 ||
        cfs_file_path(rel, &path) < 0)
        return fail(-ENOMEM, NULL);
    if (access(path, F_OK) < 0)
        return 0; /* destroyed or migrated away: nothing to do */
    _cleanup_close_ int lock = -EBADF;
    int r = guest_lock(GUEST_TYPE_QEMU, vmid, CLEANUP_LOCK_TIMEOUT_S, &lock, &err);
    if (r < 0)
        return fail(r, err);
    /* the process may still be finishing, or a new one was started meanwhile */
    for (unsigned i = 0; i < CLEANUP_WAIT_S * 10 && qemu_vm_running(vmid); i++) {
        struct timespec ts = {.tv_nsec = 100000000};
        nanosleep(&ts, NULL);
    }
    if (qemu_vm_running(vmid)) {
        fprintf(stderr, "vm still running - not cleaning up VM %u\n", vmid);
        return 0;
    }
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    if (guest_config_read(GUEST_TYPE_QEMU, nodename, vmid, &c, NULL, NULL) >= 0) {
        const char *l = guest_section_get(guest_config_main(c), "lock");
        if (l && streq(l, "rollback"))
            return 0; /* a rollback restarts the VM itself */
    }
    qemu_vm_cleanup_files(vmid);
    printf(
        "VM %u: cleaned up after %s (%s)\n", vmid, clean ? "a shutdown" : "an unexpected exit",
        guest ? "guest initiated" : "not guest initiated"
    );
    return 0;
}

/* qm vncproxy: the VM's VNC socket on stdin/stdout (for ssh-tunneled consoles). */
static int cmd_vncproxy(uint32_t vmid) {
    if (!qemu_vm_running(vmid))
        return fail(-ESRCH, "VM not running");
    int fd = console_vnc_connect(vmid);
    if (fd < 0)
        return fail(fd, "unable to connect to VNC socket");
    console_relay(STDIN_FILENO, STDOUT_FILENO, fd);
    close(fd);
    return 0;
}

typedef struct MigrateOpts {
    bool online, force;
    const char *targetstorage;
} MigrateOpts;

static int cmd_migrate(uint32_t vmid, const char *target, const MigrateOpts *o) {
    pve_log_open("qm", PVE_LOG_TARGET_STDERR);
    if (!getenv("PVE_LOG_LEVEL"))
        pve_log_set_level(LOG_WARNING);
    char host[256];
    ApiEnv env;
    int r = api_cli_env(&env, host);
    if (r < 0)
        return fail(r, "unable to get the host name");
    _cleanup_(api_router_freep) ApiRouter *router = api_router_new();
    _cleanup_(json_decrefp) json_t *params = json_pack("{s:s}", "target", target);
    if (!router || !params || api_register_all(router) < 0 ||
        (o->online && json_object_set_new(params, "online", json_string("1")) < 0) ||
        (o->force && json_object_set_new(params, "force", json_string("1")) < 0) ||
        (o->targetstorage &&
         json_object_set_new(params, "targetstorage", json_string(o->targetstorage)) < 0))
        return fail(-ENOMEM, NULL);
    char path[128];
    snprintf(path, sizeof path, "/nodes/%s/qemu/%u/migrate", env.nodename, vmid);
    _cleanup_(api_call_done) ApiCall call = API_CALL_INIT;
    r = api_cli_call("qm", router, &env, API_METHOD_POST, path, params, &call);
    const char *upid = r >= 0 ? json_string_value(call.result) : NULL;
    if (upid)
        r = api_cli_follow_task(&env, upid);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    return r < 0 ? 255 : 0;
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"verbose", no_argument, NULL, 'v'},
        {"pretty", no_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 't'},
        {"forceStop", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {"online", no_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'F'},
        {"targetstorage", required_argument, NULL, 'S'},
        {},
    };
    bool verbose = false, pretty = false, force = false;
    MigrateOpts mo = {};
    unsigned timeout = 0;
    (void) cluster_short_nodename(nodename); /* unknown: "" */
    if (argc < 2)
        return usage(stderr);
    const char *verb = argv[1];
    optind = 2;
    for (int c; (c = getopt_long(argc, argv, "", longopts, NULL)) >= 0;) {
        switch (c) {
        case 'v':
            verbose = true;
            break;
        case 'p':
            pretty = true;
            break;
        case 'f':
            force = true;
            break;
        case 't':
            if (safe_atou32(optarg, &timeout) < 0)
                return fail(-EINVAL, "timeout: invalid number");
            break;
        case 'o':
            mo.online = true;
            break;
        case 'F':
            mo.force = true;
            break;
        case 'S':
            mo.targetstorage = optarg;
            break;
        case 'h':
            return usage(stdout);
        default:
            return usage(stderr);
        }
    }
    if (streq(verb, "list"))
        return cmd_list();
    if (streq(verb, "help"))
        return usage(stdout);
    uint32_t vmid;
    if (optind >= argc || parse_vmid(argv[optind], &vmid) < 0)
        return usage(stderr);
    if (streq(verb, "status"))
        return cmd_status(vmid, verbose);
    if (streq(verb, "config"))
        return cmd_config(vmid);
    if (streq(verb, "showcmd"))
        return cmd_showcmd(vmid, pretty);
    if (streq(verb, "vncproxy"))
        return cmd_vncproxy(vmid);
    if (streq(verb, "migrate")) {
        if (argc - optind != 2)
            return usage(stderr);
        return cmd_migrate(vmid, argv[optind + 1], &mo);
    }
    if (streq(verb, "cleanup")) {
        if (argc - optind != 3)
            return usage(stderr);
        return cmd_cleanup(vmid, streq(argv[optind + 1], "1"), streq(argv[optind + 2], "1"));
    }
    static const char *const power[] = {"start", "stop", "shutdown", "reset", "suspend", "resume"};
    for (size_t i = 0; i < ELEMENTSOF(power); i++)
        if (streq(verb, power[i]))
            return cmd_power(verb, vmid, timeout, force);
    return usage(stderr);
}
