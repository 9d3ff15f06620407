/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-runtime: start, stop, shutdown and status of a VM's QEMU process (see
 * pve/qemu-runtime.h). QEMU daemonizes itself (-daemonize) and is started paused (-S): its
 * taps get attached to their bridges before the guest runs a single instruction, then `cont`.
 */
#include "pve/qemu-runtime.h"

#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/fileio.h"
#include "pve/guest-store.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/procfs.h"
#include "pve/qemu-cmdline.h"
#include "pve/qemu-config.h"
#include "pve/qmp.h"
#include "pve/spawn.h"
#include "pve/storage-volume.h"
#include "pve/string-util.h"

#define QEMU_MEMORY_DEFAULT_MIB 512

static int fail(char **reterr, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **reterr, int r, const char *fmt, ...) {
    if (reterr) {
        free(*reterr);
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(reterr, fmt, ap) < 0)
            *reterr = NULL;
        va_end(ap);
    }
    return r;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int runtime_file(uint32_t vmid, const char *suffix, char **ret) {
    return asprintf(ret, "%s/%u.%s", PVE_QEMU_RUNDIR, vmid, suffix) < 0 ? -ENOMEM : 0;
}

/* ---- is it running? ---------------------------------------------------------------------- */

static int pid_stat(pid_t pid, ProcPidStat *ret) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_full_file(path, 4096, &text, &len);
    if (r < 0)
        return r;
    return procfs_parse_pid_stat(text, ret);
}

/* argv[0] is a QEMU binary started for vmid: "-id <vmid>" (Proxmox' QEMU) or its pid file
 * "-pidfile <rundir>/<vmid>.pid" among the arguments */
static bool cmdline_is_vm(pid_t pid, uint32_t vmid) {
    char path[64], id[16], pidfile[128];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
    snprintf(id, sizeof id, "%u", vmid);
    snprintf(pidfile, sizeof pidfile, "%s/%u.pid", PVE_QEMU_RUNDIR, vmid);
    _cleanup_free_ char *text = NULL;
    size_t len;
    if (read_full_file(path, 1u << 20, &text, &len) < 0 || len == 0)
        return false;
    const char *end = text + len, *arg0 = text;
    const char *base = strrchr(arg0, '/');
    base = base ? base + 1 : arg0;
    if (!strstr(base, "qemu") && !streq(base, "kvm"))
        return false;
    for (const char *a = text; a < end; a += strlen(a) + 1) {
        const char *next = a + strlen(a) + 1;
        if (next >= end)
            break;
        if ((streq(a, "-id") && streq(next, id)) || (streq(a, "-pidfile") && streq(next, pidfile)))
            return true;
    }
    return false;
}

int qemu_vm_pid(uint32_t vmid, pid_t *ret) {
    _cleanup_free_ char *path = NULL, *text = NULL;
    size_t len;
    if (runtime_file(vmid, "pid", &path) < 0)
        return -ENOMEM;
    if (read_full_file(path, 64, &text, &len) < 0)
        return -ESRCH;
    unsigned pid;
    text[strcspn(text, " \t\r\n")] = '\0';
    if (safe_atou32(text, &pid) < 0 || pid < 2)
        return -ESRCH;
    ProcPidStat st;
    if (pid_stat((pid_t) pid, &st) < 0 || st.state == 'Z' || st.state == 'X' ||
        !cmdline_is_vm((pid_t) pid, vmid))
        return -ESRCH;
    *ret = (pid_t) pid;
    return 0;
}

bool qemu_vm_running(uint32_t vmid) {
    pid_t pid;
    return qemu_vm_pid(vmid, &pid) >= 0;
}

/* true while the process that had starttime start lives */
static bool process_alive(pid_t pid, uint64_t start) {
    ProcPidStat st;
    return pid_stat(pid, &st) >= 0 && st.state != 'Z' && st.state != 'X' && st.starttime == start;
}

static bool wait_gone(pid_t pid, uint64_t start, long long deadline) {
    while (process_alive(pid, start)) {
        if (now_ms() >= deadline)
            return false;
        sleep_ms(50);
    }
    return true;
}

void qemu_vm_cleanup_files(uint32_t vmid) {
    static const char *const suffixes[] = {"pid", "qmp", "vnc", "qga"};
    for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
        _cleanup_free_ char *p = NULL;
        if (runtime_file(vmid, suffixes[i], &p) >= 0)
            (void) unlink(p);
    }
}

/* ---- command line ------------------------------------------------------------------------ */

static const char *qemu_binary(const QemuStartOptions *o) {
    if (o && o->binary)
        return o->binary;
    return getenv("PVE_QEMU_BINARY") ?: QEMU_BINARY;
}

static bool kvm_usable(const GuestConfig *c) {
    if (!guest_config_bool(guest_section_get(guest_config_main(c), "kvm"), true))
        return false;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* "QEMU emulator version 7.2.22 (...)" */
int qemu_binary_version(const char *binary, char ret[static 32]) {
    const char *argv[] = {binary ?: (getenv("PVE_QEMU_BINARY") ?: QEMU_BINARY), "--version", NULL};
    _cleanup_free_ char *out = NULL;
    int status, r = spawn_capture(argv, 4096, &out, NULL, &status);
    if (r < 0)
        return r;
    const char *v = status == 0 ? strstr(out, "version ") : NULL;
    if (!v)
        return -EIO;
    snprintf(ret, 32, "%.*s", (int) strspn(v + 8, "0123456789."), v + 8);
    return 0;
}

static void qemu_version(const char *binary, unsigned *ret_major, unsigned *ret_minor) {
    char v[32];
    *ret_major = *ret_minor = 0;
    if (qemu_binary_version(binary, v) >= 0)
        (void) sscanf(v, "%u.%u", ret_major, ret_minor);
}

static int resolve_volume(
    const char *volid, char **ret_path, char **ret_format, char **reterr, void *userdata
) {
    (void) userdata;
    return storage_volume_resolve(volid, ret_path, ret_format, reterr);
}

static int build_cmdline(
    const GuestConfig *c,
    uint32_t vmid,
    const QemuStartOptions *o,
    bool paused,
    char ***ret_argv,
    char **reterr
) {
    QemuCmdlineOptions co = {
        .binary = qemu_binary(o),
        .rundir = PVE_QEMU_RUNDIR,
        .qmeventd_socket = PVE_QMEVENTD_SOCKET,
        .kvm = kvm_usable(c),
        .vhost_net = access("/dev/vhost-net", R_OK | W_OK) == 0,
        .paused = paused,
        .resolve_volume = resolve_volume,
    };
    qemu_version(co.binary, &co.qemu_major, &co.qemu_minor);
    return qemu_cmdline_build(c, vmid, &co, ret_argv, reterr);
}

int qemu_vm_cmdline(
    const GuestConfig *c, uint32_t vmid, const QemuStartOptions *o, char ***ret_argv, char **reterr
) {
    return build_cmdline(c, vmid, o, o && o->paused, ret_argv, reterr);
}

/* ---- taps -------------------------------------------------------------------------------- */

typedef struct Tap {
    char name[IFNAMSIZ];
    char *bridge;
} Tap;

static void taps_free(Tap *taps, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(taps[i].bridge);
    free(taps);
}

/* The bridged NICs of a config, each with its tap name; checks that the bridges exist. */
static int
config_taps(const GuestConfig *c, uint32_t vmid, Tap **ret, size_t *ret_n, char **reterr) {
    const GuestSection *m = guest_config_main(c);
    Tap *taps = calloc(m->n_entries + 1, sizeof *taps);
    size_t n = 0;
    if (!taps)
        return -ENOMEM;
    int r = 0;
    for (size_t i = 0; i < m->n_entries && r >= 0; i++) {
        const GuestEntry *e = &m->entries[i];
        if (e->raw || !qemu_is_net_key(e->key))
            continue;
        _cleanup_(qemu_net_freep) QemuNet *net = NULL;
        _cleanup_free_ char *msg = NULL;
        if ((r = qemu_net_parse(e->key, e->value, &net, &msg)) < 0) {
            r = fail(reterr, r, "%s: %s", e->key, msg ?: "invalid value");
            break;
        }
        if (!net->bridge)
            continue;
        _cleanup_free_ char *sys = NULL;
        if (asprintf(&sys, "/sys/class/net/%s/bridge", net->bridge) < 0) {
            r = -ENOMEM;
            break;
        }
        if (access(sys, F_OK) < 0) {
            r = fail(reterr, -ENODEV, "bridge '%s' does not exist", net->bridge);
            break;
        }
        snprintf(taps[n].name, sizeof taps[n].name, "tap%ui%u", vmid, net->index);
        taps[n++].bridge = TAKE_PTR(net->bridge);
    }
    if (r < 0) {
        taps_free(taps, n);
        return r;
    }
    *ret = taps;
    *ret_n = n;
    return 0;
}

/* Attach tap to bridge with the bridge's MTU and bring it up (what upstream's pve-bridge
 * script does for a plain Linux bridge). */
static int tap_plug(const Tap *t, char **reterr) {
    int ifindex = (int) if_nametoindex(t->name);
    if (ifindex == 0)
        return fail(reterr, -errno, "tap device '%s' missing - %m", t->name);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct ifreq br = {0}, tap = {0};
    snprintf(br.ifr_name, sizeof br.ifr_name, "%s", t->bridge);
    snprintf(tap.ifr_name, sizeof tap.ifr_name, "%s", t->name);
    int r = 0;
    if (ioctl(fd, SIOCGIFMTU, &br) == 0) {
        tap.ifr_mtu = br.ifr_mtu;
        (void) ioctl(fd, SIOCSIFMTU, &tap);
    }
    br.ifr_ifindex = ifindex;
    if (ioctl(fd, SIOCBRADDIF, &br) < 0)
        r = fail(reterr, -errno, "can't add '%s' to bridge '%s' - %m", t->name, t->bridge);
    else if (ioctl(fd, SIOCGIFFLAGS, &tap) < 0)
        r = -errno;
    else {
        tap.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &tap) < 0)
            r = fail(reterr, -errno, "can't bring up '%s' - %m", t->name);
    }
    close(fd);
    return r;
}

/* ---- start ------------------------------------------------------------------------------- */

/* Run QEMU until it daemonized (its first process exits once the VM is set up). */
static int launch(char **argv, unsigned timeout_s, char **reterr) {
    pid_t pid;
    int r = spawn_start((const char *const *) argv, STDOUT_FILENO, STDERR_FILENO, &pid);
    if (r < 0)
        return fail(reterr, r, "unable to run '%s' - %s", argv[0], strerror(-r));
    long long deadline = now_ms() + (long long) timeout_s * 1000;
    int st;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return fail(reterr, -errno, "waiting for QEMU failed - %m");
        if (now_ms() >= deadline) {
            (void) kill(pid, SIGKILL);
            (void) spawn_wait(pid);
            return fail(reterr, -ETIMEDOUT, "start failed: got timeout");
        }
        sleep_ms(10);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFEXITED(st))
        return fail(reterr, -EIO, "start failed: QEMU exited with code %d", WEXITSTATUS(st));
    return fail(reterr, -EIO, "start failed: QEMU killed by signal %d", WTERMSIG(st));
}

static void kill_now(uint32_t vmid) {
    pid_t pid;
    if (qemu_vm_pid(vmid, &pid) >= 0) {
        ProcPidStat st;
        if (pid_stat(pid, &st) >= 0 && kill(pid, SIGKILL) == 0)
            (void) wait_gone(pid, st.starttime, now_ms() + 5000);
    }
    qemu_vm_cleanup_files(vmid);
}

int qemu_vm_start(const GuestConfig *c, uint32_t vmid, const QemuStartOptions *o, char **reterr) {
    if (qemu_vm_running(vmid))
        return fail(reterr, -EEXIST, "VM %u already running", vmid);
    Tap *taps = NULL;
    size_t n_taps = 0;
    int r = config_taps(c, vmid, &taps, &n_taps, reterr);
    if (r < 0)
        return r;
    _cleanup_strv_free_ char **argv = NULL;
    if ((r = build_cmdline(c, vmid, o, true, &argv, reterr)) < 0)
        goto out;
    if (mkdir(PVE_QEMU_RUNDIR, 0755) < 0 && errno != EEXIST) {
        r = fail(reterr, -errno, "unable to create %s - %m", PVE_QEMU_RUNDIR);
        goto out;
    }
    qemu_vm_cleanup_files(vmid);
    unsigned timeout = o && o->timeout_s ? o->timeout_s : QEMU_START_TIMEOUT_S;
    if ((r = launch(argv, timeout, reterr)) < 0) {
        kill_now(vmid);
        goto out;
    }
    if (!qemu_vm_running(vmid)) {
        r = fail(reterr, -EIO, "start failed: QEMU did not leave a running process");
        qemu_vm_cleanup_files(vmid);
        goto out;
    }
    for (size_t i = 0; i < n_taps && r >= 0; i++)
        r = tap_plug(&taps[i], reterr);
    if (r >= 0 && !(o && o->paused))
        r = qmp_command(vmid, "cont", NULL, 0, NULL, reterr);
    if (r < 0)
        kill_now(vmid);
out:
    taps_free(taps, n_taps);
    return r;
}

/* ---- stop / shutdown --------------------------------------------------------------------- */

static int
stop_process(uint32_t vmid, pid_t pid, uint64_t start, unsigned timeout_s, char **reterr) {
    _cleanup_free_ char *ignored = NULL;
    (void) qmp_command(vmid, "quit", NULL, 2000, NULL, &ignored);
    if (!wait_gone(pid, start, now_ms() + (long long) timeout_s * 1000)) {
        printf("VM %u still running - terminating now with SIGTERM\n", vmid);
        (void) kill(pid, SIGTERM);
        if (!wait_gone(pid, start, now_ms() + QEMU_STOP_TERM_TIMEOUT_S * 1000)) {
            printf("VM %u still running - terminating now with SIGKILL\n", vmid);
            (void) kill(pid, SIGKILL);
            if (!wait_gone(pid, start, now_ms() + 5000))
                return fail(reterr, -EBUSY, "VM %u still running after SIGKILL", vmid);
        }
    }
    qemu_vm_cleanup_files(vmid);
    return 0;
}

int qemu_vm_stop(uint32_t vmid, unsigned timeout_s, char **reterr) {
    pid_t pid;
    ProcPidStat st;
    if (qemu_vm_pid(vmid, &pid) < 0 || pid_stat(pid, &st) < 0) {
        qemu_vm_cleanup_files(vmid);
        return 0;
    }
    return stop_process(
        vmid, pid, st.starttime, timeout_s ? timeout_s : QEMU_STOP_TIMEOUT_S, reterr
    );
}

/* QMP run state ("running", "paused", "shutdown", ...), malloc'd; NULL when unreachable */
static char *qmp_status(uint32_t vmid) {
    _cleanup_json_ json_t *res = NULL;
    if (qmp_command(vmid, "query-status", NULL, 2000, &res, NULL) < 0)
        return NULL;
    const char *s = json_string_value(json_object_get(res, "status"));
    return s ? strdup(s) : NULL;
}

int qemu_vm_shutdown(uint32_t vmid, unsigned timeout_s, bool force, char **reterr) {
    pid_t pid;
    ProcPidStat st;
    if (qemu_vm_pid(vmid, &pid) < 0 || pid_stat(pid, &st) < 0) {
        qemu_vm_cleanup_files(vmid);
        return 0;
    }
    int r = qmp_command(vmid, "system_powerdown", NULL, 0, NULL, reterr);
    if (r < 0)
        return r;
    long long deadline =
        now_ms() + (long long) (timeout_s ? timeout_s : QEMU_SHUTDOWN_TIMEOUT_S) * 1000;
    long long off_since = 0;
    while (process_alive(pid, st.starttime)) {
        long long now = now_ms();
        if (now >= deadline) {
            if (!force)
                return fail(reterr, -ETIMEDOUT, "VM quit/powerdown failed - got timeout");
            printf("VM %u did not shut down in time - stopping it\n", vmid);
            return stop_process(vmid, pid, st.starttime, 10, reterr);
        }
        /* The guest powered off; with -no-shutdown QEMU waits for qmeventd to quit it. Should
         * qmeventd not be running, do it ourselves after a grace period. */
        _cleanup_free_ char *s = (now / 1000) % 2 == 0 ? qmp_status(vmid) : NULL;
        if (s && streq(s, "shutdown")) {
            if (!off_since)
                off_since = now;
            else if (now - off_since >= 5000)
                (void) qmp_command(vmid, "quit", NULL, 2000, NULL, NULL);
        }
        sleep_ms(100);
    }
    qemu_vm_cleanup_files(vmid);
    return 0;
}

int qemu_vm_qmp_simple(uint32_t vmid, const char *command, char **reterr) {
    if (!qemu_vm_running(vmid))
        return fail(reterr, -ESRCH, "VM %u not running", vmid);
    return qmp_command(vmid, command, NULL, 0, NULL, reterr);
}

/* ---- status ------------------------------------------------------------------------------ */

static long long config_int(const GuestSection *m, const char *key, long long dflt) {
    const char *v = guest_section_get(m, key);
    long long n;
    return v && safe_atoi64(v, &n) >= 0 ? n : dflt;
}

/* Size of the boot disk: first disk of `boot: order=`, else the first of the usual keys. */
static uint64_t boot_disk_size(const GuestSection *m) {
    const char *candidates[8] = {0};
    size_t n = 0;
    _cleanup_free_ char *order = NULL;
    const char *boot = guest_section_get(m, "boot");
    const char *o = boot ? strstr(boot, "order=") : NULL;
    if (o && (order = strdup(o + 6))) {
        order[strcspn(order, ",")] = '\0';
        for (char *save = NULL, *t = strtok_r(order, ";", &save); t && n < 4;
             t = strtok_r(NULL, ";", &save))
            candidates[n++] = t;
    }
    const char *dflt[] = {
        guest_section_get(m, "bootdisk") ? guest_section_get(m, "bootdisk") : "scsi0", "virtio0",
        "sata0", "ide0"};
    for (size_t i = 0; i < ELEMENTSOF(dflt); i++)
        candidates[n++] = dflt[i];
    for (size_t i = 0; i < n; i++) {
        if (!qemu_is_drive_key(candidates[i]))
            continue;
        const char *v = guest_section_get(m, candidates[i]);
        _cleanup_(qemu_drive_freep) QemuDrive *d = NULL;
        if (v && qemu_drive_parse(candidates[i], v, &d, NULL) >= 0 && !d->cdrom)
            return d->size;
    }
    return 0;
}

/* CPU share since the previous status call for the same VM process (per process memory, as
 * upstream keeps it per daemon); 0 for the first sample. */
static double cpu_share(uint32_t vmid, uint64_t start, uint64_t ticks, unsigned cpus) {
    static struct {
        uint32_t vmid;
        uint64_t start, ticks;
        long long when;
    } last[64];
    long long now = now_ms();
    size_t slot = vmid % ELEMENTSOF(last);
    double share = 0;
    if (last[slot].vmid == vmid && last[slot].start == start && now > last[slot].when &&
        ticks >= last[slot].ticks) {
        long hz = sysconf(_SC_CLK_TCK);
        double secs = (double) (now - last[slot].when) / 1000.0;
        share = (double) (ticks - last[slot].ticks) / (double) (hz > 0 ? hz : 100) / secs /
                (cpus ? cpus : 1);
        if (share > 1)
            share = 1;
        if (now - last[slot].when < 1000)
            return share; /* keep the older sample as the base: short intervals are noisy */
    }
    last[slot].vmid = vmid;
    last[slot].start = start;
    last[slot].ticks = ticks;
    last[slot].when = now;
    return share;
}

/* netin/netout of the VM's taps: bytes the tap sent are what the guest received */
static void tap_counters(uint32_t vmid, long long *netin, long long *netout) {
    _cleanup_free_ char *text = NULL;
    size_t len;
    *netin = *netout = 0;
    if (read_full_file("/proc/net/dev", 4u << 20, &text, &len) < 0)
        return;
    ProcNetDevIf *ifs = NULL;
    size_t n = 0;
    if (procfs_parse_net_dev(text, &ifs, &n) < 0)
        return;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "tap%ui", vmid);
    for (size_t i = 0; i < n; i++)
        if (startswith(ifs[i].name, prefix)) {
            *netin += (long long) ifs[i].tx_bytes;
            *netout += (long long) ifs[i].rx_bytes;
        }
    free(ifs);
}

static void add_qmp_fields(uint32_t vmid, json_t *o) {
    _cleanup_free_ char *path = NULL;
    _cleanup_(qmp_closep) Qmp *q = NULL;
    if (qmp_socket_path(vmid, &path) < 0 || qmp_connect(path, 2000, &q, NULL) < 0)
        return;
    _cleanup_json_ json_t *st = NULL, *ver = NULL, *blk = NULL, *machines = NULL;
    if (qmp_execute(q, "query-status", NULL, 2000, &st, NULL) >= 0) {
        const char *s = json_string_value(json_object_get(st, "status"));
        if (s)
            (void) json_util_set_string(o, "qmpstatus", s);
    }
    if (qmp_execute(q, "query-version", NULL, 2000, &ver, NULL) >= 0) {
        json_t *v = json_object_get(ver, "qemu");
        char buf[64];
        snprintf(
            buf, sizeof buf, "%lld.%lld.%lld",
            (long long) json_integer_value(json_object_get(v, "major")),
            (long long) json_integer_value(json_object_get(v, "minor")),
            (long long) json_integer_value(json_object_get(v, "micro"))
        );
        (void) json_util_set_string(o, "running-qemu", buf);
    }
    if (qmp_execute(q, "query-machines", NULL, 2000, &machines, NULL) >= 0) {
        size_t i;
        json_t *m;
        json_array_foreach(machines, i, m) {
            if (json_is_true(json_object_get(m, "is-current"))) {
                const char *name = json_string_value(json_object_get(m, "name"));
                if (name)
                    (void) json_util_set_string(o, "running-machine", name);
            }
        }
    }
    if (qmp_execute(q, "query-blockstats", NULL, 2000, &blk, NULL) >= 0) {
        long long rd = 0, wr = 0;
        size_t i;
        json_t *b;
        json_array_foreach(blk, i, b) {
            json_t *s = json_object_get(b, "stats");
            rd += json_integer_value(json_object_get(s, "rd_bytes"));
            wr += json_integer_value(json_object_get(s, "wr_bytes"));
        }
        (void) json_util_set_int(o, "diskread", rd);
        (void) json_util_set_int(o, "diskwrite", wr);
    }
}

int qemu_vm_status(uint32_t vmid, const GuestConfig *c, bool full, json_t **ret) {
    const GuestSection *m = guest_config_main(c);
    long long sockets = config_int(m, "sockets", 1), cores = config_int(m, "cores", 1);
    long long cpus = config_int(m, "vcpus", sockets * cores);
    long long maxmem = config_int(m, "memory", QEMU_MEMORY_DEFAULT_MIB) * 1024 * 1024;
    const char *name = guest_section_get(m, "name");
    char dflt_name[32];
    snprintf(dflt_name, sizeof dflt_name, "VM %u", vmid);

    _cleanup_json_ json_t *o = json_pack(
        "{s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:{s:i}}", "vmid",
        (json_int_t) vmid, "name", name ?: dflt_name, "status", "stopped", "uptime", (json_int_t) 0,
        "cpus", (json_int_t) cpus, "maxmem", (json_int_t) maxmem, "mem", (json_int_t) 0, "disk",
        (json_int_t) 0, "maxdisk", (json_int_t) boot_disk_size(m), "netin", (json_int_t) 0,
        "netout", (json_int_t) 0, "diskread", (json_int_t) 0, "diskwrite", (json_int_t) 0, "cpu",
        0.0, "ha", "managed", 0
    );
    if (!o)
        return -ENOMEM;
    static const char *const passthrough[] = {"lock", "tags"};
    for (size_t i = 0; i < ELEMENTSOF(passthrough); i++) {
        const char *v = guest_section_get(m, passthrough[i]);
        if (v && json_util_set_string(o, passthrough[i], v) < 0)
            return -ENOMEM;
    }
    if (guest_config_bool(guest_section_get(m, "template"), false))
        (void) json_util_set_int(o, "template", 1);
    const char *agent = guest_section_get(m, "agent");
    if (agent && guest_config_bool(strndupa(agent, strcspn(agent, ",")), false))
        (void) json_util_set_int(o, "agent", 1);

    pid_t pid;
    ProcPidStat st;
    if (qemu_vm_pid(vmid, &pid) >= 0 && pid_stat(pid, &st) >= 0) {
        _cleanup_free_ char *up = NULL;
        size_t len;
        uint64_t boot_up = 0, idle;
        if (read_full_file("/proc/uptime", 256, &up, &len) >= 0)
            (void) procfs_parse_uptime(up, &boot_up, &idle);
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t started = st.starttime / (uint64_t) (hz > 0 ? hz : 100);
        long long netin, netout;
        tap_counters(vmid, &netin, &netout);
        if (json_util_set_string(o, "status", "running") < 0 ||
            json_util_set_int(o, "pid", pid) < 0 ||
            json_util_set_int(
                o, "uptime", boot_up > started ? (long long) (boot_up - started) : 0
            ) < 0 ||
            json_util_set_int(o, "mem", (long long) st.rss_pages * sysconf(_SC_PAGESIZE)) < 0 ||
            json_object_set_new(
                o, "cpu",
                json_real(cpu_share(vmid, st.starttime, st.utime + st.stime, (unsigned) cpus))
            ) < 0 ||
            json_util_set_int(o, "netin", netin) < 0 || json_util_set_int(o, "netout", netout) < 0)
            return -ENOMEM;
        if (full)
            add_qmp_fields(vmid, o);
    }
    *ret = TAKE_PTR(o);
    return 0;
}
