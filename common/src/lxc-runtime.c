/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-runtime: LXC containers on this node through the lxc-* tools (rootfs from a template,
 * start, stop, shutdown, status). See lxc-runtime.h.
 */
#include "pve/lxc-runtime.h"

#include <linux/magic.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/auth-ticket.h"
#include "pve/fileio.h"
#include "pve/guest-store.h"
#include "pve/json-util.h"
#include "pve/lxc-config.h"
#include "pve/procfs.h"
#include "pve/spawn.h"
#include "pve/storage-volume.h"
#include "pve/string-util.h"

#define LXC_INFO_MAX (64u * 1024u)

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

static void vmid_str(uint32_t vmid, char ret[static 16]) {
    snprintf(ret, 16, "%u", vmid);
}

/* ---- status ---------------------------------------------------------------------------------- */

typedef struct LxcInfo {
    bool running;
    pid_t pid;
    uint64_t cpu_ns, mem, tx, rx;
} LxcInfo;

/* `lxc-info -H` output: "Key:   value" lines; link counters repeat per NIC and are summed. */
static void parse_lxc_info(const char *text, LxcInfo *ret) {
    *ret = (LxcInfo){0};
    _cleanup_free_ char *copy = strdup(text);
    for (char *save = NULL, *l = copy ? strtok_r(copy, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(l, ':');
        if (!colon)
            continue;
        *colon = 0;
        const char *key = l + strspn(l, " \t"), *val = colon + 1 + strspn(colon + 1, " \t");
        unsigned long long v = strtoull(val, NULL, 10);
        if (streq(key, "State"))
            ret->running = startswith(val, "RUNNING") != NULL;
        else if (streq(key, "PID"))
            ret->pid = (pid_t) v;
        else if (streq(key, "CPU use"))
            ret->cpu_ns = v;
        else if (streq(key, "Memory use"))
            ret->mem = v;
        else if (streq(key, "TX bytes"))
            ret->tx += v;
        else if (streq(key, "RX bytes"))
            ret->rx += v;
    }
}

static int lxc_info(uint32_t vmid, bool full, LxcInfo *ret) {
    char id[16];
    vmid_str(vmid, id);
    const char *argv_full[] = {"lxc-info", "-n", id, "-P", LXC_LXCPATH, "-H", NULL};
    const char *argv_short[] = {"lxc-info", "-n", id, "-P", LXC_LXCPATH, "-H", "-s", "-p", NULL};
    _cleanup_free_ char *out = NULL, *err = NULL;
    int status = 0;
    int r = spawn_capture(full ? argv_full : argv_short, LXC_INFO_MAX, &out, &err, &status);
    if (r < 0)
        return r;
    parse_lxc_info(status == 0 ? out : "", ret);
    return 0;
}

bool lxc_ct_running(uint32_t vmid, pid_t *ret_pid) {
    LxcInfo info;
    if (lxc_info(vmid, false, &info) < 0 || !info.running)
        return false;
    if (ret_pid)
        *ret_pid = info.pid;
    return true;
}

static long long config_int(const GuestSection *m, const char *key, long long dflt) {
    const char *v = guest_section_get(m, key);
    char *end;
    if (!v)
        return dflt;
    long long n = strtoll(v, &end, 10);
    return *end ? dflt : n;
}

static long long rootfs_size(const GuestSection *m) {
    const char *v = guest_section_get(m, "rootfs");
    _cleanup_(lxc_mount_freep) LxcMount *mp = NULL;
    return v && lxc_mount_parse("rootfs", v, &mp, NULL) >= 0 ? (long long) mp->size : 0;
}

/* Seconds since the process started, from /proc. */
static long long process_uptime(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    _cleanup_free_ char *stat = NULL, *up = NULL;
    ProcPidStat st;
    uint64_t boot_up = 0, idle;
    if (read_full_file(path, 4096, &stat, NULL) < 0 || procfs_parse_pid_stat(stat, &st) < 0 ||
        read_full_file("/proc/uptime", 256, &up, NULL) < 0 ||
        procfs_parse_uptime(up, &boot_up, &idle) < 0)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    uint64_t started = st.starttime / (uint64_t) (hz > 0 ? hz : 100);
    return boot_up > started ? (long long) (boot_up - started) : 0;
}

static int status_running(json_t *o, uint32_t vmid, long long cpus) {
    LxcInfo info;
    int r = lxc_info(vmid, true, &info);
    if (r < 0 || !info.running)
        return r == -ENOMEM ? r : 0;
    long long uptime = process_uptime(info.pid);
    double cpu = 0;
    if (uptime > 0 && cpus > 0)
        cpu = (double) info.cpu_ns / 1e9 / (double) uptime / (double) cpus;
    /* host side of the veth pairs: what the host transmits, the container receives */
    if (json_util_set_string(o, "status", "running") < 0 ||
        json_util_set_int(o, "pid", info.pid) < 0 || json_util_set_int(o, "uptime", uptime) < 0 ||
        json_util_set_int(o, "mem", (long long) info.mem) < 0 ||
        json_util_set_int(o, "netin", (long long) info.tx) < 0 ||
        json_util_set_int(o, "netout", (long long) info.rx) < 0 ||
        json_object_set_new(o, "cpu", json_real(cpu > 1 ? 1 : cpu)) < 0)
        return -ENOMEM;
    return 0;
}

int lxc_ct_status(uint32_t vmid, const GuestConfig *c, json_t **ret) {
    const GuestSection *m = guest_config_main(c);
    long host = sysconf(_SC_NPROCESSORS_ONLN);
    long long cpus = config_int(m, "cores", host > 0 ? host : 1);
    const char *name = guest_section_get(m, "hostname");
    char dflt_name[32];
    snprintf(dflt_name, sizeof dflt_name, "CT%u", vmid);
    _cleanup_json_ json_t *o = json_pack(
        "{s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:{s:i}}", "vmid",
        (json_int_t) vmid, "name", name ?: dflt_name, "type", "lxc", "status", "stopped", "uptime",
        (json_int_t) 0, "cpus", (json_int_t) cpus, "maxmem",
        (json_int_t) (config_int(m, "memory", LXC_DEFAULT_MEMORY) << 20), "mem", (json_int_t) 0,
        "maxswap", (json_int_t) (config_int(m, "swap", LXC_DEFAULT_SWAP) << 20), "swap",
        (json_int_t) 0, "disk", (json_int_t) 0, "maxdisk", (json_int_t) rootfs_size(m), "netin",
        (json_int_t) 0, "netout", (json_int_t) 0, "diskread", (json_int_t) 0, "diskwrite",
        (json_int_t) 0, "cpu", 0.0, "ha", "managed", 0
    );
    if (!o)
        return -ENOMEM;
    static const char *const passthrough[] = {"lock", "tags"};
    for (size_t i = 0; i < ELEMENTSOF(passthrough); i++) {
        const char *v = guest_section_get(m, passthrough[i]);
        if (v && json_util_set_string(o, passthrough[i], v) < 0)
            return -ENOMEM;
    }
    if (guest_config_bool(guest_section_get(m, "template"), false) &&
        json_util_set_int(o, "template", 1) < 0)
        return -ENOMEM;
    int r = status_running(o, vmid, cpus);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(o);
    return 0;
}

/* ---- volumes and templates ------------------------------------------------------------------- */

int lxc_volume_path(const char *volume, char **ret_path, char **reterr) {
    if (volume[0] == '/')
        return (*ret_path = strdup(volume)) ? 0 : -ENOMEM;
    return storage_volume_resolve(volume, ret_path, NULL, reterr);
}

int lxc_template_resolve(const char *ostemplate, char **ret_path, char **reterr) {
    _cleanup_free_ char *path = NULL;
    if (ostemplate[0] == '/') {
        if (!(path = strdup(ostemplate)))
            return -ENOMEM;
    } else {
        _cleanup_free_ char *sid = NULL;
        const char *volname;
        if (storage_volid_split(ostemplate, &sid, &volname) < 0)
            return fail(reterr, -EINVAL, "unable to parse volume ID '%s'", ostemplate);
        if (!startswith(volname, "vztmpl/"))
            return fail(reterr, -EINVAL, "'%s' is not a container template", ostemplate);
        int r = storage_volume_resolve(ostemplate, &path, NULL, reterr);
        if (r < 0)
            return r;
    }
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return fail(reterr, -ENOENT, "can't find file '%s'", ostemplate);
    *ret_path = TAKE_PTR(path);
    return 0;
}

int lxc_template_extract(const char *archive, const char *rootdir, char **reterr) {
    const char *argv[] = {
        "tar",       "-x",      "-p", "-f",    archive, "--numeric-owner", "--sparse", "--anchored",
        "--exclude", "./dev/*", "-C", rootdir, NULL,
    };
    _cleanup_free_ char *err = NULL;
    int status = 0;
    printf("extracting archive '%s'\n", archive);
    fflush(stdout);
    int r = spawn_capture(argv, 4096, NULL, &err, &status);
    if (r < 0)
        return fail(reterr, r, "unable to run tar - %s", strerror(-r));
    if (status != 0) {
        size_t len = err ? strlen(err) : 0;
        while (len > 0 && isspace((unsigned char) err[len - 1]))
            err[--len] = 0;
        return fail(
            reterr, -EIO, "unable to extract template '%s' - %s", archive, len ? err : "tar failed"
        );
    }
    return 0;
}

int lxc_rootfs_set_hostname(const char *rootdir, const char *hostname) {
    _cleanup_close_ int root = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return -errno;
    _cleanup_close_ int etc = openat(root, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (etc < 0)
        return errno == ENOENT ? 0 : -errno;
    _cleanup_close_ int fd =
        openat(etc, "hostname", O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return -EINVAL;
    int r = write_all(fd, hostname, strlen(hostname));
    return r < 0 ? r : write_all(fd, "\n", 1);
}

/* The directory <rootdir>/<rel> ("a/b"), every component opened without following symlinks;
 * missing ones are made with mode when mode != 0. */
static int rootfs_open_dir(const char *rootdir, const char *rel, mode_t mode, int *ret_fd) {
    int fd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    _cleanup_free_ char *copy = strdup(rel);
    if (!copy) {
        close(fd);
        return -ENOMEM;
    }
    for (char *save = NULL, *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (mode && mkdirat(fd, c, mode) < 0 && errno != EEXIST) {
            int r = -errno;
            close(fd);
            return r;
        }
        int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r = -errno;
        close(fd);
        if (next < 0)
            return r;
        fd = next;
    }
    *ret_fd = fd;
    return 0;
}

/* "$<id>$..." as crypt(3) writes it: the value is a hash already */
static bool looks_like_hash(const char *s) {
    return s[0] == '$' && strchr(s + 1, '$') && strchr(strchr(s + 1, '$') + 1, '$');
}

/* shadow text with root's password field replaced; -ENOENT without a root line */
static int shadow_replace_root(const char *text, const char *hash, char **ret) {
    _cleanup_free_ char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return -ENOMEM;
    bool found = false;
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        if (!found && strncmp(l, "root:", 5) == 0) {
            const char *rest = memchr(l + 5, ':', n - 5);
            fprintf(f, "root:%s%.*s", hash, rest ? (int) (n - (size_t) (rest - l)) : 0, rest ?: "");
            found = true;
        } else
            fwrite(l, 1, n, f);
        fputc('\n', f);
        l += n + (l[n] == '\n');
    }
    if (fclose(f) != 0)
        return -ENOMEM;
    if (!found)
        return -ENOENT;
    *ret = TAKE_PTR(out);
    return 0;
}

int lxc_rootfs_set_root_password(const char *rootdir, const char *password, char **reterr) {
    _cleanup_free_ char *hash = NULL, *text = NULL, *new_text = NULL;
    int r = looks_like_hash(password) ? ((hash = strdup(password)) ? 0 : -ENOMEM)
                                      : shadow_password_hash(password, &hash);
    if (r < 0)
        return fail(reterr, r, "unable to hash the password - %s", strerror(-r));
    _cleanup_close_ int etc = -EBADF;
    if ((r = rootfs_open_dir(rootdir, "etc", 0, &etc)) < 0)
        return fail(reterr, r, "unable to open /etc of the container - %s", strerror(-r));
    _cleanup_close_ int fd = openat(etc, "shadow", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return fail(
            reterr, fd < 0 ? -errno : -EINVAL, "unable to open /etc/shadow of the container"
        );
    size_t len;
    if ((r = read_full_fd(fd, 1024 * 1024, 0, &text, &len)) < 0 ||
        (r = shadow_replace_root(text, hash, &new_text)) < 0)
        return fail(
            reterr, r, "unable to set the root password - %s",
            r == -ENOENT ? "no root entry in /etc/shadow" : strerror(-r)
        );
    (void) unlinkat(etc, "shadow.pve-new", 0);
    _cleanup_close_ int out =
        openat(etc, "shadow.pve-new", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
    if (out < 0 || fchown(out, st.st_uid, st.st_gid) < 0 || fchmod(out, st.st_mode & 07777) < 0 ||
        (r = write_all(out, new_text, strlen(new_text))) < 0 ||
        renameat(etc, "shadow.pve-new", etc, "shadow") < 0) {
        r = r < 0 ? r : -errno;
        (void) unlinkat(etc, "shadow.pve-new", 0);
        return fail(reterr, r, "unable to write /etc/shadow of the container - %s", strerror(-r));
    }
    return 0;
}

int lxc_rootfs_add_ssh_keys(const char *rootdir, const char *keys, char **reterr) {
    _cleanup_close_ int dir = -EBADF;
    int r = rootfs_open_dir(rootdir, "root/.ssh", 0700, &dir);
    if (r < 0)
        return fail(reterr, r, "unable to create /root/.ssh in the container - %s", strerror(-r));
    _cleanup_close_ int fd = openat(
        dir, "authorized_keys", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600
    );
    size_t len = strlen(keys);
    if (fd < 0 || (r = write_all(fd, keys, len)) < 0 ||
        (len > 0 && keys[len - 1] != '\n' && (r = write_all(fd, "\n", 1)) < 0))
        return fail(
            reterr, fd < 0 ? -errno : r, "unable to write /root/.ssh/authorized_keys - %s",
            strerror(fd < 0 ? errno : -r)
        );
    return 0;
}

const char *lxc_rootfs_detect_ostype(const char *rootdir) {
    static const struct {
        const char *id, *ostype;
    } ids[] = {
        {"debian", "debian"},
        {"ubuntu", "ubuntu"},
        {"devuan", "devuan"},
        {"centos", "centos"},
        {"rocky", "centos"},
        {"almalinux", "centos"},
        {"rhel", "centos"},
        {"fedora", "fedora"},
        {"opensuse", "opensuse"},
        {"opensuse-leap", "opensuse"},
        {"opensuse-tumbleweed", "opensuse"},
        {"arch", "archlinux"},
        {"archlinux", "archlinux"},
        {"alpine", "alpine"},
        {"gentoo", "gentoo"},
        {"nixos", "nixos"},
    };
    static const struct {
        const char *file, *ostype;
    } files[] = {
        {"etc/debian_version", "debian"},  {"etc/alpine-release", "alpine"},
        {"etc/arch-release", "archlinux"}, {"etc/gentoo-release", "gentoo"},
        {"etc/fedora-release", "fedora"},  {"etc/centos-release", "centos"},
    };
    _cleanup_free_ char *path = NULL, *text = NULL;
    if (asprintf(&path, "%s/etc/os-release", rootdir) >= 0 &&
        read_full_file(path, 64 * 1024, &text, NULL) >= 0) {
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
            if (!startswith(l, "ID="))
                continue;
            char *v = l + 3;
            if (*v == '"' || *v == '\'')
                v++;
            v[strcspn(v, "\"'")] = 0;
            for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                if (streq(ids[i].id, v))
                    return ids[i].ostype;
        }
    }
    for (size_t i = 0; i < ELEMENTSOF(files); i++) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", rootdir, files[i].file);
        if (lstat(p, &st) >= 0)
            return files[i].ostype;
    }
    return NULL;
}

static _Thread_local uid_t shift_by;

static int shift_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void) flag;
    (void) ftw;
    /* nftw hands a non-zero return back: a positive errno */
    if (lchown(path, st->st_uid + shift_by, st->st_gid + shift_by) < 0)
        return errno;
    /* chown clears set-id bits of files: put them back */
    if (!S_ISLNK(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)) &&
        chmod(path, st->st_mode & 07777) < 0)
        return errno;
    return 0;
}

int lxc_rootfs_shift_ids(const char *rootdir, uid_t shift, char **reterr) {
    shift_by = shift;
    int r = nftw(rootdir, shift_one, 64, FTW_PHYS | FTW_MOUNT);
    if (r < 0)
        return fail(reterr, -errno, "unable to shift ids under '%s' - %m", rootdir);
    if (r > 0)
        return fail(reterr, -r, "unable to shift ids under '%s' - %s", rootdir, strerror(r));
    return 0;
}

/* ---- start / stop ---------------------------------------------------------------------------- */

static int check_bridges(const GuestSection *m, char **reterr) {
    for (unsigned i = 0; i < LXC_MAX_NETS; i++) {
        char key[16];
        snprintf(key, sizeof key, "net%u", i);
        const char *v = guest_section_get(m, key);
        if (!v)
            continue;
        _cleanup_(lxc_net_freep) LxcNet *n = NULL;
        int r = lxc_net_parse(key, v, &n, reterr);
        if (r < 0)
            return r;
        if (n->bridge && if_nametoindex(n->bridge) == 0)
            return fail(reterr, -ENODEV, "bridge '%s' does not exist", n->bridge);
    }
    return 0;
}

static int gen_resolve(const char *volume, char **ret, char **reterr, void *userdata) {
    (void) userdata;
    return lxc_volume_path(volume, ret, reterr);
}

static bool gen_exists(const char *path, void *userdata) {
    (void) userdata;
    return access(path, F_OK) == 0;
}

static int cgroup_version(void) {
    struct statfs fs;
    if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
        return 2;
    return 1;
}

/* Write text to path atomically. */
static int write_file_atomic(const char *path, const char *text) {
    _cleanup_free_ char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return -ENOMEM;
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, text, strlen(text));
    if (r >= 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        (void) unlink(tmp);
    return r;
}

static int write_lxc_config(const GuestConfig *c, uint32_t vmid, char **reterr) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    LxcGenerateOptions o = {
        .lxcpath = LXC_LXCPATH,
        .confdir = LXC_CONFDIR,
        .cgroup_version = cgroup_version(),
        .host_cpus = cpus > 0 ? (unsigned) cpus : 1,
        .resolve_volume = gen_resolve,
        .file_exists = gen_exists,
    };
    _cleanup_free_ char *text = NULL, *dir = NULL, *path = NULL;
    int r = lxc_config_generate(c, vmid, &o, &text, reterr);
    if (r < 0)
        return r;
    if (asprintf(&dir, "%s/%u", LXC_LXCPATH, vmid) < 0 || asprintf(&path, "%s/config", dir) < 0)
        return -ENOMEM;
    if ((mkdir(LXC_LXCPATH, 0755) < 0 && errno != EEXIST) ||
        (mkdir(dir, 0755) < 0 && errno != EEXIST))
        return fail(reterr, -errno, "unable to create directory '%s' - %m", dir);
    if ((r = write_file_atomic(path, text)) < 0)
        return fail(reterr, r, "unable to write '%s' - %s", path, strerror(-r));
    return 0;
}

/* The ERROR lines of LXC's start log, joined, or NULL. */
static char *start_log_errors(const char *log) {
    _cleanup_free_ char *text = NULL;
    if (read_full_file(log, 256 * 1024, &text, NULL) < 0)
        return NULL;
    char *out = NULL;
    size_t len = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        const char *e = strstr(l, " ERROR ");
        if (!e)
            continue;
        /* "<tool> <name> <time> ERROR <module> - <file>:<func>:<line> - <message>" */
        const char *msg = strstr(e, " - ");
        msg = msg ? msg + 3 : e + 7;
        const char *loc_end = strstr(msg, " - ");
        if (loc_end && memmem(msg, (size_t) (loc_end - msg), ".c:", 3))
            msg = loc_end + 3;
        /* the tools' generic "failed to start" lines add nothing */
        if (strstr(l, "lxc_start.c") || strstr(l, "lxccontainer.c"))
            continue;
        size_t n = strlen(msg);
        char *p = realloc(out, len + n + 3);
        if (!p)
            break;
        out = p;
        if (len)
            out[len++] = ';', out[len++] = ' ';
        memcpy(out + len, msg, n + 1);
        len += n;
    }
    return out;
}

int lxc_ct_start(const GuestConfig *c, uint32_t vmid, bool debug, char **reterr) {
    const GuestSection *m = guest_config_main(c);
    if (lxc_ct_running(vmid, NULL))
        return fail(reterr, -EEXIST, "CT %u already running", vmid);
    int r = check_bridges(m, reterr);
    if (r < 0 || (r = write_lxc_config(c, vmid, reterr)) < 0)
        return r;
    char id[16], log[128];
    vmid_str(vmid, id);
    snprintf(log, sizeof log, "%s/%u/start.log", LXC_LXCPATH, vmid);
    (void) unlink(log);
    /* Upstream runs `systemctl start pve-container@<vmid>` (lxc-start -F inside the unit).
     * There is no systemd as PID 1 here: lxc-start -d daemonizes its monitor itself and
     * returns once the container reached RUNNING (or failed). */
    const char *argv[] = {
        "lxc-start", "-n", id, "-P", LXC_LXCPATH, "-d", "-o", log, "-l", debug ? "DEBUG" : "ERROR",
        NULL,
    };
    int status = 0;
    fflush(stdout);
    if ((r = spawn_run(argv, &status)) < 0)
        return fail(reterr, r, "unable to run lxc-start - %s", strerror(-r));
    if (status != 0) {
        _cleanup_free_ char *errors = start_log_errors(log);
        return fail(
            reterr, -EIO, "startup for container '%u' failed%s%s", vmid, errors ? ": " : "",
            errors ?: ""
        );
    }
    return 0;
}

static int run_lxc_stop(uint32_t vmid, const char *const *extra, int *ret_status) {
    char id[16];
    vmid_str(vmid, id);
    const char *argv[12] = {"lxc-stop", "-n", id, "-P", LXC_LXCPATH};
    size_t n = 5;
    for (size_t i = 0; extra[i] && n < ELEMENTSOF(argv) - 1; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    fflush(stdout);
    return spawn_run(argv, ret_status);
}

int lxc_ct_stop(uint32_t vmid, char **reterr) {
    if (!lxc_ct_running(vmid, NULL))
        return fail(reterr, -ESRCH, "CT %u not running", vmid);
    int status = 0;
    int r = run_lxc_stop(vmid, (const char *const[]){"-k", NULL}, &status);
    if (r < 0)
        return fail(reterr, r, "unable to run lxc-stop - %s", strerror(-r));
    if (status != 0 && lxc_ct_running(vmid, NULL))
        return fail(
            reterr, -EIO, "command 'lxc-stop -n %u --kill' failed: exit code %d", vmid, status
        );
    return 0;
}

int lxc_ct_shutdown(uint32_t vmid, unsigned timeout_s, bool force, char **reterr) {
    if (!lxc_ct_running(vmid, NULL))
        return fail(reterr, -ESRCH, "CT %u not running", vmid);
    char t[16];
    snprintf(t, sizeof t, "%u", timeout_s);
    int status = 0;
    int r = run_lxc_stop(vmid, (const char *const[]){"--nokill", "-t", t, NULL}, &status);
    if (r < 0)
        return fail(reterr, r, "unable to run lxc-stop - %s", strerror(-r));
    if (!lxc_ct_running(vmid, NULL))
        return 0;
    if (!force)
        return fail(
            reterr, -ETIMEDOUT,
            "command 'lxc-stop -n %u --nokill --timeout %u' failed: exit code %d", vmid, timeout_s,
            status ?: 1
        );
    printf("shutdown timed out - stopping CT %u\n", vmid);
    return lxc_ct_stop(vmid, reterr);
}

int lxc_ct_cleanup_files(uint32_t vmid) {
    char dir[64];
    snprintf(dir, sizeof dir, "%s/%u", LXC_LXCPATH, vmid);
    int r = rm_tree(dir);
    return r == -ENOENT ? 0 : r;
}
