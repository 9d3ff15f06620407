/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-cmdline: the QEMU argv of a guest config, in the order and with the PCI addresses
 * upstream's `qm showcmd` uses (i440fx machine, QEMU 7.2-era -drive/-device syntax).
 * See qemu-cmdline.h.
 */
#include "pve/qemu-cmdline.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/property-string.h"
#include "pve/qemu-config.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"

#define DEFAULT_BINARY "/usr/bin/kvm"
#define DEFAULT_RUNDIR "/var/run/qemu-server"
#define DEFAULT_OVMF   "/usr/share/OVMF/OVMF_CODE.fd"
#define MAX_ARGS       4096u

typedef struct Builder {
    const GuestSection *m;
    uint32_t vmid;
    const QemuCmdlineOptions *o;
    const char *rundir;
    char **argv;
    size_t n, allocated;
    int error; /* sticky: -ENOMEM or -E2BIG */
    char **reterr;

    /* boot order */
    char **order; /* boot: order=a;b;c (NULL = legacy) */
    char legacy[8];
    unsigned next_cdrom, next_net; /* legacy bootindex counters */

    /* state while adding devices */
    bool scsi_ctrl[QEMU_MAX_SCSI + 1];
    bool ahci;
} Builder;

static void builder_done(Builder *b) {
    strv_free(b->argv);
    strv_free(b->order);
}

static int fail(Builder *b, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(Builder *b, int r, const char *fmt, ...) {
    if (b->reterr && !*b->reterr) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(b->reterr, fmt, ap) < 0)
            *b->reterr = NULL;
        va_end(ap);
    }
    return r;
}

static void add_owned(Builder *b, char *s) {
    if (b->error || !s) {
        b->error = b->error ? b->error : -ENOMEM;
        free(s);
        return;
    }
    if (b->n + 2 > b->allocated) {
        size_t na = b->allocated ? b->allocated * 2 : 64;
        if (na > MAX_ARGS) {
            b->error = -E2BIG;
            free(s);
            return;
        }
        char **nv = realloc(b->argv, na * sizeof *nv);
        if (!nv) {
            b->error = -ENOMEM;
            free(s);
            return;
        }
        b->argv = nv;
        b->allocated = na;
    }
    b->argv[b->n++] = s;
    b->argv[b->n] = NULL;
}

static void add(Builder *b, const char *s) {
    add_owned(b, strdup(s));
}

static void addf(Builder *b, const char *fmt, ...) _printf_(2, 3);
static void addf(Builder *b, const char *fmt, ...) {
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    add_owned(b, s);
}

/* "-opt" + StrBuf value */
static void add_buf(Builder *b, const char *opt, StrBuf *sb) {
    char *s = NULL;
    add(b, opt);
    if (strbuf_finish(sb, &s, NULL) < 0)
        s = NULL;
    add_owned(b, s);
}

/* [A-Za-z0-9_.+-]+: what may go into an option value unquoted */
static bool chars_ok(const char *s) {
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char) *s) && !strchr("_.+-", *s))
            return false;
    return true;
}

static const char *get(const Builder *b, const char *key) {
    return guest_section_get(b->m, key);
}

/* integer key with default; -EINVAL (and the error text) for a malformed value */
static int get_uint(Builder *b, const char *key, unsigned def, unsigned min, unsigned *ret) {
    const char *v = get(b, key);
    unsigned u;
    if (!v) {
        *ret = def;
        return 0;
    }
    if (safe_atou32(v, &u) < 0 || u < min)
        return fail(b, -EINVAL, "%s: invalid value '%s'", key, v);
    *ret = u;
    return 0;
}

static bool get_bool(const Builder *b, const char *key, bool def) {
    const char *v = get(b, key);
    int r = v ? property_string_parse_bool(v) : -ENOENT;
    return r < 0 ? def : r > 0;
}

/* A property string key of the config, parsed; NULL value = absent (returns 0, *ret NULL). */
static int get_ps(Builder *b, const char *key, const char *default_key, PropertyString **ret) {
    const char *v = get(b, key);
    _cleanup_free_ char *msg = NULL;
    *ret = NULL;
    if (!v)
        return 0;
    int r = property_string_parse(v, default_key, ret, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return fail(b, r, "unable to parse value of '%s' - %s", key, msg ? msg : "invalid value");
    return 0;
}

/* PCI address of a device as upstream's address map has it (i440fx). */
static void pci_addr(StrBuf *sb, const char *dev) {
    static const struct {
        const char *dev;
        unsigned bus, addr;
    } map[] = {
        {"vga", 0, 2},      {"balloon0", 0, 3}, {"scsihw0", 0, 5},  {"pci.3", 0, 5},
        {"scsihw1", 0, 6},  {"ahci0", 0, 7},    {"qga0", 0, 8},     {"virtio0", 0, 10},
        {"virtio1", 0, 11}, {"virtio2", 0, 12}, {"virtio3", 0, 13}, {"virtio4", 0, 14},
        {"virtio5", 0, 15}, {"net0", 0, 18},    {"net1", 0, 19},    {"net2", 0, 20},
        {"net3", 0, 21},    {"net4", 0, 22},    {"net5", 0, 23},    {"pci.1", 0, 30},
        {"pci.2", 0, 31},
    };
    unsigned idx;
    for (size_t i = 0; i < ELEMENTSOF(map); i++)
        if (streq(map[i].dev, dev)) {
            strbuf_printf(sb, ",bus=pci.%u,addr=0x%x", map[i].bus, map[i].addr);
            return;
        }
    /* net6-31 on pci.1 from 1, virtio6-15 on pci.2 from 1, virtioscsiN on pci.3 at N+1,
     * scsihw2+ on pci.4 from 1 */
    if (startswith(dev, "net") && safe_atou32(dev + 3, &idx) == 0 && idx >= 6)
        strbuf_printf(sb, ",bus=pci.1,addr=0x%x", idx - 5);
    else if (startswith(dev, "virtioscsi") && safe_atou32(dev + 10, &idx) == 0)
        strbuf_printf(sb, ",bus=pci.3,addr=0x%x", idx + 1);
    else if (startswith(dev, "virtio") && safe_atou32(dev + 6, &idx) == 0 && idx >= 6)
        strbuf_printf(sb, ",bus=pci.2,addr=0x%x", idx - 5);
    else if (startswith(dev, "scsihw") && safe_atou32(dev + 6, &idx) == 0 && idx >= 2)
        strbuf_printf(sb, ",bus=pci.4,addr=0x%x", idx - 1);
}

/* ---- boot order -------------------------------------------------------------------------- */

static int boot_init(Builder *b) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    int r = get_ps(b, "boot", "legacy", &ps);
    if (r < 0)
        return r;
    const char *order = ps ? property_string_get(ps, "order") : NULL;
    const char *legacy = ps ? property_string_get(ps, "legacy") : NULL;
    if (order) {
        size_t n = 1;
        for (const char *p = order; *p; p++)
            n += *p == ';';
        b->order = calloc(n + 1, sizeof(char *));
        if (!b->order)
            return -ENOMEM;
        size_t i = 0;
        for (const char *p = order; i < n; i++) {
            size_t len = strcspn(p, ";");
            if (!(b->order[i] = strndup(p, len)))
                return -ENOMEM;
            p += len + (p[len] == ';');
        }
        return 0;
    }
    if (!legacy)
        legacy = "cdn";
    if (strlen(legacy) > 4 || legacy[strspn(legacy, "acdn")])
        return fail(b, -EINVAL, "boot: invalid legacy boot order '%s'", legacy);
    snprintf(b->legacy, sizeof b->legacy, "%s", legacy);
    return 0;
}

static unsigned legacy_base(const Builder *b, char c) {
    const char *p = strchr(b->legacy, c);
    return p ? (unsigned) (p - b->legacy + 1) * 100 : 0;
}

/* bootindex for a device, 0 = none */
static unsigned bootindex(Builder *b, const char *key, bool cdrom, bool net) {
    if (b->order) {
        for (size_t i = 0; b->order[i]; i++)
            if (streq(b->order[i], key))
                return 100 + (unsigned) i;
        return 0;
    }
    unsigned base;
    if (cdrom)
        return (base = legacy_base(b, 'd')) ? base + b->next_cdrom++ : 0;
    if (net)
        return (base = legacy_base(b, 'n')) ? base + b->next_net++ : 0;
    const char *bootdisk = get(b, "bootdisk");
    return bootdisk && streq(bootdisk, key) ? legacy_base(b, 'c') : 0;
}

static void add_bootindex(StrBuf *sb, unsigned idx) {
    if (idx)
        strbuf_printf(sb, ",bootindex=%u", idx);
}

/* ---- CPU, memory, machine ---------------------------------------------------------------- */

static int cmp_flag(const void *a, const void *b) {
    const char *x = *(const char *const *) a, *y = *(const char *const *) b;
    return strcmp(x + (*x == '+' || *x == '-'), y + (*y == '+' || *y == '-'));
}

/* Proxmox' x86-64-v* models: qemu64 plus flags. */
static const char *cpu_model_flags(const char *model, const char **ret_base) {
    static const struct {
        const char *name, *flags;
    } models[] = {
        {"x86-64-v2", "+cx16,+lahf_lm,+pni,+popcnt,+sse4.1,+sse4.2,+ssse3"},
        {"x86-64-v2-AES", "+aes,+cx16,+lahf_lm,+pni,+popcnt,+sse4.1,+sse4.2,+ssse3"},
        {"x86-64-v3",
         "+aes,+avx,+avx2,+bmi1,+bmi2,+cx16,+f16c,+fma,+lahf_lm,+movbe,+pni,+popcnt,+sse4.1,"
         "+sse4.2,+ssse3,+xsave"},
        {"x86-64-v4",
         "+aes,+avx,+avx2,+avx512bw,+avx512cd,+avx512dq,+avx512f,+avx512vl,+bmi1,+bmi2,+cx16,"
         "+f16c,+fma,+lahf_lm,+movbe,+pni,+popcnt,+sse4.1,+sse4.2,+ssse3,+xsave"},
    };
    for (size_t i = 0; i < ELEMENTSOF(models); i++)
        if (streq(models[i].name, model)) {
            *ret_base = "qemu64";
            return models[i].flags;
        }
    *ret_base = model;
    return streq(model, "kvm64") || streq(model, "qemu64") ? "+lahf_lm,+sep" : "";
}

static int add_cpu(Builder *b) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    int r = get_ps(b, "cpu", "cputype", &ps);
    if (r < 0)
        return r;
    const char *model = ps ? property_string_get(ps, "cputype") : NULL;
    const char *user_flags = ps ? property_string_get(ps, "flags") : NULL;
    bool kvm = b->o->kvm;

    if (!model)
        model = kvm ? "kvm64" : "qemu64";
    if (!chars_ok(model))
        return fail(b, -EINVAL, "cpu: invalid CPU model '%s'", model);
    if (!kvm && streq(model, "host"))
        return fail(b, -EINVAL, "cpu: CPU model 'host' needs KVM");
    if (!kvm && !ps) {
        add(b, "-cpu");
        add(b, "qemu64");
        return 0;
    }

    const char *base;
    const char *mflags = cpu_model_flags(model, &base);
    _cleanup_strbuf_ StrBuf all = STRBUF_INIT;
    strbuf_append(&all, mflags);
    if (kvm)
        strbuf_printf(&all, "%s+kvm_pv_eoi,+kvm_pv_unhalt", all.len ? "," : "");
    if (user_flags)
        for (const char *p = user_flags; *p;) {
            size_t len = strcspn(p, ";");
            if (len)
                strbuf_printf(&all, "%s%.*s", all.len ? "," : "", (int) len, p);
            p += len + (p[len] == ';');
        }
    if (all.error)
        return all.error;

    /* sorted by name, a later flag of the same name (the user's) wins */
    _cleanup_strv_free_ char **flags = calloc(all.len / 2 + 2, sizeof(char *));
    if (!flags)
        return -ENOMEM;
    size_t n = 0;
    for (char *p = all.data; p && *p;) {
        size_t len = strcspn(p, ",");
        char *f = strndup(p, len);
        if (!f)
            return -ENOMEM;
        if ((f[0] != '+' && f[0] != '-') || !f[1] || !chars_ok(f + 1)) {
            (void) fail(b, -EINVAL, "cpu: invalid CPU flag '%s'", f);
            free(f);
            return -EINVAL;
        }
        size_t j;
        for (j = 0; j < n && !streq(flags[j] + 1, f + 1); j++)
            ;
        if (j < n)
            free(flags[j]), flags[j] = f;
        else
            flags[n++] = f;
        p += len + (p[len] == ',');
    }
    qsort(flags, n, sizeof *flags, cmp_flag);

    _cleanup_strbuf_ StrBuf sb = STRBUF_INIT;
    strbuf_append(&sb, base);
    if (kvm && !streq(model, "host") && !streq(model, "max"))
        strbuf_append(&sb, ",enforce");
    for (size_t i = 0; i < n; i++)
        strbuf_printf(&sb, ",%s", flags[i]);
    bool hidden = false;
    if (ps && property_string_get_bool(ps, "hidden", &hidden) == 0 && hidden)
        strbuf_append(&sb, ",kvm=off");
    add_buf(b, "-cpu", &sb);
    return 0;
}

static int add_smp(Builder *b) {
    unsigned sockets, cores, vcpus;
    int r;
    if ((r = get_uint(b, "sockets", 1, 1, &sockets)) < 0 ||
        (r = get_uint(b, "cores", 1, 1, &cores)) < 0)
        return r;
    if (sockets > 4096 || cores > 4096 || sockets * cores > 4096)
        return fail(b, -EINVAL, "cores: too many CPUs (%u sockets x %u cores)", sockets, cores);
    unsigned max = sockets * cores;
    if ((r = get_uint(b, "vcpus", max, 1, &vcpus)) < 0)
        return r;
    if (vcpus > max)
        return fail(b, -EINVAL, "vcpus: %u is more than sockets x cores (%u)", vcpus, max);
    add(b, "-smp");
    addf(b, "%u,sockets=%u,cores=%u,maxcpus=%u", vcpus, sockets, cores, max);
    return 0;
}

static int memory_mib(Builder *b, unsigned *ret) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    int r = get_ps(b, "memory", "current", &ps);
    if (r < 0)
        return r;
    const char *v = ps ? property_string_get(ps, "current") : NULL;
    if (!v) {
        *ret = 512;
        return 0;
    }
    if (safe_atou32(v, ret) < 0 || *ret < 16 || *ret > 64u * 1024 * 1024)
        return fail(b, -EINVAL, "memory: invalid value '%s'", v);
    return 0;
}

static int add_memory(Builder *b) {
    unsigned mib, sockets;
    int r;
    if ((r = memory_mib(b, &mib)) < 0 || (r = get_uint(b, "sockets", 1, 1, &sockets)) < 0)
        return r;
    add(b, "-m");
    addf(b, "%u", mib);
    if (!get_bool(b, "numa", false))
        return 0;
    /* upstream's default NUMA layout: one node per socket, memory split evenly */
    unsigned cores;
    if ((r = get_uint(b, "cores", 1, 1, &cores)) < 0)
        return r;
    if (mib % sockets)
        return fail(
            b, -EINVAL, "numa: memory (%u MiB) is not divisible by sockets (%u)", mib, sockets
        );
    for (unsigned i = 0; i < sockets; i++) {
        add(b, "-object");
        addf(b, "memory-backend-ram,id=ram-node%u,size=%uM", i, mib / sockets);
        add(b, "-numa");
        if (cores > 1)
            addf(
                b, "node,nodeid=%u,cpus=%u-%u,memdev=ram-node%u", i, i * cores, (i + 1) * cores - 1,
                i
            );
        else
            addf(b, "node,nodeid=%u,cpus=%u,memdev=ram-node%u", i, i, i);
    }
    return 0;
}

/* machine type and the flags the machine line needs; *ret_type is a new string */
static int machine_type(Builder *b, char **ret_type, bool *ret_s3, bool *ret_s4) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    int r = get_ps(b, "machine", "type", &ps);
    if (r < 0)
        return r;
    const char *type = ps ? property_string_get(ps, "type") : NULL;
    *ret_s3 = *ret_s4 = false;
    if (ps) {
        (void) property_string_get_bool(ps, "enable-s3", ret_s3);
        (void) property_string_get_bool(ps, "enable-s4", ret_s4);
    }
    if (!type)
        type = "pc";
    if (!streq(type, "pc") && !startswith(type, "pc-i440fx-") && !startswith(type, "pc-"))
        return fail(
            b, -EINVAL, "machine: machine type '%s' is not supported (only i440fx 'pc')", type
        );
    if (startswith(type, "pc-q35"))
        return fail(
            b, -EINVAL, "machine: machine type '%s' is not supported (only i440fx 'pc')", type
        );
    if (!chars_ok(type))
        return fail(b, -EINVAL, "machine: invalid machine type '%s'", type);
    size_t len = strlen(type);
    const char *plus = strchr(type, '+');
    if (!b->o->pve_qemu && plus)
        len = (size_t) (plus - type); /* stock QEMU knows no +pveN machine versions */
    if (b->o->pve_qemu && !plus && streq(type, "pc"))
        *ret_type = strdup("pc+pve0");
    else
        *ret_type = strndup(type, len);
    return *ret_type ? 0 : -ENOMEM;
}

/* ---- simple devices ------------------------------------------------------------------------ */

static int vga_type(Builder *b, const char **ret, unsigned *ret_mem) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    int r = get_ps(b, "vga", "type", &ps);
    if (r < 0)
        return r;
    static const char *const types[] = {"std",     "cirrus",  "vmware",  "qxl",       "qxl2",
                                        "qxl3",    "qxl4",    "virtio",  "virtio-gl", "none",
                                        "serial0", "serial1", "serial2", "serial3"};
    const char *t = ps ? property_string_get(ps, "type") : NULL;
    *ret = "std";
    *ret_mem = 0;
    if (t) {
        size_t i;
        for (i = 0; i < ELEMENTSOF(types) && !streq(types[i], t); i++)
            ;
        if (i == ELEMENTSOF(types))
            return fail(b, -EINVAL, "vga: unknown display type '%s'", t);
        *ret = types[i];
    }
    long long mem;
    if (ps && property_string_get_int(ps, "memory", &mem) == 0) {
        if (mem < 4 || mem > 512)
            return fail(b, -EINVAL, "vga: memory must be between 4 and 512");
        *ret_mem = (unsigned) mem;
    }
    return 0;
}

static void add_vga(Builder *b, const char *type, unsigned mem) {
    static const struct {
        const char *type, *device;
    } devs[] = {
        {"std", "VGA"},      {"cirrus", "cirrus-vga"}, {"vmware", "vmware-svga"},
        {"qxl", "qxl-vga"},  {"qxl2", "qxl-vga"},      {"qxl3", "qxl-vga"},
        {"qxl4", "qxl-vga"}, {"virtio", "virtio-vga"}, {"virtio-gl", "virtio-vga-gl"},
    };
    for (size_t i = 0; i < ELEMENTSOF(devs); i++)
        if (streq(devs[i].type, type)) {
            StrBuf sb = STRBUF_INIT;
            strbuf_printf(&sb, "%s,id=vga", devs[i].device);
            if (mem && (streq(type, "std") || streq(type, "vmware") || streq(type, "cirrus")))
                strbuf_printf(&sb, ",vgamem_mb=%u", mem);
            pci_addr(&sb, "vga");
            add_buf(b, "-device", &sb);
            return;
        }
}

static int add_serials(Builder *b) {
    for (unsigned i = 0; i < QEMU_MAX_SERIAL; i++) {
        char key[16];
        snprintf(key, sizeof key, "serial%u", i);
        const char *v = get(b, key);
        if (!v)
            continue;
        add(b, "-chardev");
        if (streq(v, "socket"))
            addf(
                b, "socket,id=serial%u,path=%s/%u.serial%u,server=on,wait=off", i, b->rundir,
                b->vmid, i
            );
        else if (startswith(v, "/dev/") && v[5] && !strchr(v, ','))
            addf(b, "tty,id=serial%u,path=%s", i, v);
        else
            return fail(b, -EINVAL, "%s: invalid serial device '%s'", key, v);
        add(b, "-device");
        addf(b, "isa-serial,chardev=serial%u", i);
    }
    return 0;
}

static int add_agent(Builder *b) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    int r = get_ps(b, "agent", "enabled", &ps);
    if (r < 0 || !ps)
        return r;
    bool enabled = false;
    (void) property_string_get_bool(ps, "enabled", &enabled);
    if (!enabled)
        return 0;
    const char *type = property_string_get(ps, "type");
    add(b, "-chardev");
    addf(b, "socket,path=%s/%u.qga,server=on,wait=off,id=qga0", b->rundir, b->vmid);
    if (type && streq(type, "isa")) {
        add(b, "-device");
        add(b, "isa-serial,chardev=qga0");
        return 0;
    }
    StrBuf sb = STRBUF_INIT;
    strbuf_append(&sb, "virtio-serial,id=qga0");
    pci_addr(&sb, "qga0");
    add_buf(b, "-device", &sb);
    add(b, "-device");
    add(b, "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0");
    return 0;
}

/* ---- drives -------------------------------------------------------------------------------- */

static bool is_windows(const Builder *b) {
    const char *os = get(b, "ostype");
    return os && (startswith(os, "w") && !streq(os, "other"));
}

static int drive_path(Builder *b, const QemuDrive *d, char **ret_path, char **ret_format) {
    *ret_path = *ret_format = NULL;
    if (streq(d->file, "none"))
        return 0;
    if (streq(d->file, "cdrom")) {
        *ret_path = strdup("/dev/cdrom");
        *ret_format = strdup("raw");
    } else if (d->file[0] == '/') {
        *ret_path = strdup(d->file);
        *ret_format = strdup(d->format ? d->format : "raw");
    } else {
        if (!b->o->resolve_volume)
            return fail(b, -EINVAL, "%s: cannot resolve volume '%s'", d->key, d->file);
        _cleanup_free_ char *err = NULL;
        int r = b->o->resolve_volume(d->file, ret_path, ret_format, &err, b->o->userdata);
        if (r < 0) {
            free(*ret_path), free(*ret_format);
            *ret_path = *ret_format = NULL;
            if (r == -ENOMEM)
                return r;
            return fail(b, r, "%s: %s", d->key, err ? err : strerror(-r));
        }
        if (!*ret_path)
            return fail(b, -EINVAL, "%s: volume '%s' has no path", d->key, d->file);
        if (d->format) {
            free(*ret_format);
            *ret_format = strdup(d->format);
        } else if (!*ret_format)
            *ret_format = strdup("raw");
    }
    if (!*ret_path || !*ret_format)
        return -ENOMEM;
    if (strchr(*ret_path, ','))
        return fail(b, -EINVAL, "%s: path '%s' contains a comma", d->key, *ret_path);
    return 0;
}

/* -drive option string, upstream's option order */
static int add_drive_opts(Builder *b, const QemuDrive *d) {
    _cleanup_free_ char *path = NULL, *format = NULL;
    int r = drive_path(b, d, &path, &format);
    if (r < 0)
        return r;
    StrBuf sb = STRBUF_INIT;
    if (path)
        strbuf_printf(&sb, "file=%s,", path);
    strbuf_printf(&sb, "if=none,id=drive-%s", d->key);
    if (d->cdrom)
        strbuf_append(&sb, ",media=cdrom");
    const char *const passthrough[] = {"cache", "rerror", "werror", "aio", "discard"};
    for (size_t i = 0; i < ELEMENTSOF(passthrough); i++) {
        const char *v = qemu_drive_get(d, passthrough[i]);
        if (v)
            strbuf_printf(&sb, ",%s=%s", passthrough[i], v);
    }
    if (qemu_drive_get_bool(d, "ro", false))
        strbuf_append(&sb, ",readonly=on");
    if (path)
        strbuf_printf(&sb, ",format=%s", format);
    const char *cache = qemu_drive_get(d, "cache");
    bool direct = cache && (streq(cache, "none") || streq(cache, "directsync"));
    if (!cache && !d->cdrom) {
        strbuf_append(&sb, ",cache=none");
        direct = true;
    }
    if (!qemu_drive_get(d, "aio"))
        strbuf_append(&sb, direct ? ",aio=native" : ",aio=threads");
    if (!d->cdrom) {
        const char *discard = qemu_drive_get(d, "discard");
        if (!qemu_drive_get_bool(d, "detect_zeroes", true))
            strbuf_append(&sb, ",detect-zeroes=off");
        else
            strbuf_append(
                &sb, discard && streq(discard, "on") ? ",detect-zeroes=unmap" : ",detect-zeroes=on"
            );
    }
    add_buf(b, "-drive", &sb);
    return 0;
}

static void add_drive_common(StrBuf *sb, const QemuDrive *d, bool rotation) {
    const char *v;
    if (rotation && qemu_drive_get_bool(d, "ssd", false))
        strbuf_append(sb, ",rotation_rate=1");
    if ((v = qemu_drive_get(d, "serial")))
        strbuf_printf(sb, ",serial=%s", v);
    if ((v = qemu_drive_get(d, "wwn")))
        strbuf_printf(sb, ",wwn=%s", v);
}

static int add_scsi_device(Builder *b, const QemuDrive *d, StrBuf *sb) {
    const char *hw = get(b, "scsihw");
    if (!hw)
        hw = "lsi";
    static const char *const known[] = {
        "lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi"};
    size_t k;
    for (k = 0; k < ELEMENTSOF(known) && !streq(known[k], hw); k++)
        ;
    if (k == ELEMENTSOF(known))
        return fail(b, -EINVAL, "scsihw: unknown SCSI controller '%s'", hw);
    bool single = streq(hw, "virtio-scsi-single");
    bool virtio = startswith(hw, "virtio-scsi");
    unsigned maxdev = startswith(hw, "lsi") ? 7 : 256;
    unsigned ctrl = single ? d->index : d->index / maxdev;
    char ctrl_id[32];
    snprintf(ctrl_id, sizeof ctrl_id, "%s%u", single ? "virtioscsi" : "scsihw", ctrl);
    bool iothread = single && qemu_drive_get_bool(d, "iothread", false);

    if (!b->scsi_ctrl[ctrl]) {
        b->scsi_ctrl[ctrl] = true;
        if (iothread) {
            add(b, "-object");
            addf(b, "iothread,id=iothread-%s", ctrl_id);
        }
        StrBuf c = STRBUF_INIT;
        strbuf_printf(&c, "%s,id=%s", virtio ? "virtio-scsi-pci" : hw, ctrl_id);
        pci_addr(&c, ctrl_id);
        if (iothread)
            strbuf_printf(&c, ",iothread=iothread-%s", ctrl_id);
        add_buf(b, "-device", &c);
    }
    int r = add_drive_opts(b, d);
    if (r < 0)
        return r;
    strbuf_printf(sb, "scsi-%s,bus=%s.0", d->cdrom ? "cd" : "hd", ctrl_id);
    if (virtio)
        strbuf_printf(sb, ",channel=0,scsi-id=0,lun=%u", single ? 0 : d->index);
    else
        strbuf_printf(sb, ",scsi-id=%u", d->index % maxdev);
    strbuf_printf(sb, ",drive=drive-%s,id=%s", d->key, d->key);
    const char *v;
    if ((v = qemu_drive_get(d, "product")))
        strbuf_printf(sb, ",product=%s", v);
    if ((v = qemu_drive_get(d, "vendor")))
        strbuf_printf(sb, ",vendor=%s", v);
    add_drive_common(sb, d, true);
    return 0;
}

static int add_disk(Builder *b, const QemuDrive *d) {
    int r;
    _cleanup_strbuf_ StrBuf sb = STRBUF_INIT;
    if (d->is_alloc)
        return fail(b, -EINVAL, "%s: volume '%s' is not allocated", d->key, d->file);

    if (streq(d->interface, "scsi"))
        r = add_scsi_device(b, d, &sb);
    else if (streq(d->interface, "ide")) {
        if ((r = add_drive_opts(b, d)) < 0)
            return r;
        strbuf_printf(
            &sb, "ide-%s,bus=ide.%u,unit=%u,drive=drive-%s,id=%s", d->cdrom ? "cd" : "hd",
            d->index / 2, d->index % 2, d->key, d->key
        );
        const char *model = qemu_drive_get(d, "model");
        if (model)
            strbuf_printf(&sb, ",model=%s", model);
        add_drive_common(&sb, d, true);
    } else if (streq(d->interface, "sata")) {
        if (!b->ahci) {
            b->ahci = true;
            StrBuf c = STRBUF_INIT;
            strbuf_append(&c, "ahci,id=ahci0,multifunction=on");
            pci_addr(&c, "ahci0");
            add_buf(b, "-device", &c);
        }
        if ((r = add_drive_opts(b, d)) < 0)
            return r;
        strbuf_printf(
            &sb, "ide-%s,bus=ahci0.%u,drive=drive-%s,id=%s", d->cdrom ? "cd" : "hd", d->index,
            d->key, d->key
        );
        add_drive_common(&sb, d, true);
    } else { /* virtio */
        bool iothread = qemu_drive_get_bool(d, "iothread", false);
        if (iothread) {
            add(b, "-object");
            addf(b, "iothread,id=iothread-%s", d->key);
        }
        if ((r = add_drive_opts(b, d)) < 0)
            return r;
        strbuf_printf(&sb, "virtio-blk-pci,drive=drive-%s,id=%s", d->key, d->key);
        pci_addr(&sb, d->key);
        if (iothread)
            strbuf_printf(&sb, ",iothread=iothread-%s", d->key);
        add_drive_common(&sb, d, false);
    }
    if (r < 0)
        return r;
    add_bootindex(&sb, bootindex(b, d->key, d->cdrom, false));
    add_buf(b, "-device", &sb);
    return 0;
}

static int add_efidisk(Builder *b, const QemuDrive *d) {
    const char *code = b->o->ovmf_code ? b->o->ovmf_code : DEFAULT_OVMF;
    _cleanup_free_ char *path = NULL, *format = NULL;
    int r = drive_path(b, d, &path, &format);
    if (r < 0)
        return r;
    if (!path)
        return fail(b, -EINVAL, "efidisk0: needs a volume");
    add(b, "-drive");
    addf(b, "if=pflash,unit=0,format=raw,readonly=on,file=%s", code);
    add(b, "-drive");
    addf(b, "if=pflash,unit=1,id=drive-efidisk0,format=%s,file=%s", format, path);
    return 0;
}

static int add_tpm(Builder *b) {
    add(b, "-chardev");
    addf(b, "socket,id=tpmchar,path=%s/%u.swtpm", b->rundir, b->vmid);
    add(b, "-tpmdev");
    add(b, "emulator,id=tpmdev,chardev=tpmchar");
    add(b, "-device");
    add(b, "tpm-tis,tpmdev=tpmdev");
    return 0;
}

static int add_drives(Builder *b, bool ovmf) {
    static const struct {
        const char *prefix;
        unsigned count;
    } order[] = {
        {"ide", QEMU_MAX_IDE},       {"sata", QEMU_MAX_SATA}, {"scsi", QEMU_MAX_SCSI},
        {"virtio", QEMU_MAX_VIRTIO}, {"efidisk", 1},          {"tpmstate", 1},
    };
    for (size_t i = 0; i < ELEMENTSOF(order); i++)
        for (unsigned j = 0; j < order[i].count; j++) {
            char key[32];
            snprintf(key, sizeof key, "%s%u", order[i].prefix, j);
            const char *v = get(b, key);
            if (!v)
                continue;
            _cleanup_(qemu_drive_freep) QemuDrive *d = NULL;
            _cleanup_free_ char *err = NULL;
            int r = qemu_drive_parse(key, v, &d, &err);
            if (r == -ENOMEM)
                return r;
            if (r < 0)
                return fail(b, r, "unable to parse value of '%s' - %s", key, err ? err : "invalid");
            if (streq(order[i].prefix, "efidisk"))
                r = ovmf ? add_efidisk(b, d) : 0;
            else if (streq(order[i].prefix, "tpmstate"))
                r = add_tpm(b);
            else
                r = add_disk(b, d);
            if (r < 0)
                return r;
        }
    return 0;
}

/* ---- network ------------------------------------------------------------------------------- */

static int add_net(Builder *b, const QemuNet *n) {
    if (!n->macaddr)
        return fail(b, -EINVAL, "%s: no MAC address", n->key);
    bool virtio = streq(n->model, "virtio");
    StrBuf nd = STRBUF_INIT;
    strbuf_printf(
        &nd, "type=tap,id=%s,ifname=tap%ui%u,script=no,downscript=no", n->key, b->vmid, n->index
    );
    if (virtio && n->queues > 1)
        strbuf_printf(&nd, ",queues=%u", n->queues);
    if (virtio && b->o->vhost_net)
        strbuf_append(&nd, ",vhost=on");
    add_buf(b, "-netdev", &nd);

    _cleanup_strbuf_ StrBuf sb = STRBUF_INIT;
    strbuf_printf(
        &sb, "%s,mac=%s,netdev=%s", virtio ? "virtio-net-pci" : n->model, n->macaddr, n->key
    );
    if (!streq(n->model, "ne2k_isa"))
        pci_addr(&sb, n->key);
    strbuf_printf(&sb, ",id=%s", n->key);
    if (virtio) {
        strbuf_append(&sb, ",rx_queue_size=1024,tx_queue_size=1024");
        if (n->queues > 1)
            strbuf_printf(&sb, ",mq=on,vectors=%u", 2 * n->queues + 2);
        if (n->mtu > 1)
            strbuf_printf(&sb, ",host_mtu=%u", n->mtu);
    }
    add_bootindex(&sb, bootindex(b, n->key, false, true));
    add_buf(b, "-device", &sb);
    return 0;
}

static int add_nets(Builder *b) {
    for (unsigned i = 0; i < QEMU_MAX_NETS; i++) {
        char key[16];
        snprintf(key, sizeof key, "net%u", i);
        const char *v = get(b, key);
        if (!v)
            continue;
        _cleanup_(qemu_net_freep) QemuNet *n = NULL;
        _cleanup_free_ char *err = NULL;
        int r = qemu_net_parse(key, v, &n, &err);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return fail(b, r, "unable to parse value of '%s' - %s", key, err ? err : "invalid");
        if ((r = add_net(b, n)) < 0)
            return r;
    }
    return 0;
}

/* ---- extra arguments ------------------------------------------------------------------------ */

/* `args:` split like a shell would for plain words, '...' and "..." (no expansions) */
static int add_args(Builder *b) {
    const char *p = get(b, "args");
    if (!p)
        return 0;
    while (*p) {
        while (isspace((unsigned char) *p))
            p++;
        if (!*p)
            break;
        _cleanup_strbuf_ StrBuf w = STRBUF_INIT;
        strbuf_append(&w, "");
        while (*p && !isspace((unsigned char) *p)) {
            if (*p == '\'' || *p == '"') {
                char q = *p++;
                const char *end = strchr(p, q);
                if (!end)
                    return fail(b, -EINVAL, "args: unterminated quote");
                strbuf_append_len(&w, p, (size_t) (end - p));
                p = end + 1;
            } else if (*p == '\\' && p[1]) {
                strbuf_append_char(&w, p[1]);
                p += 2;
            } else
                strbuf_append_char(&w, *p++);
        }
        char *s = NULL;
        if (strbuf_finish(&w, &s, NULL) < 0)
            return -ENOMEM;
        add_owned(b, s);
    }
    return 0;
}

/* ---- assembly ------------------------------------------------------------------------------- */

static int add_head(Builder *b) {
    const char *name = get(b, "name");
    add(b, b->o->binary ? b->o->binary : DEFAULT_BINARY);
    if (b->o->pve_qemu) {
        add(b, "-id");
        addf(b, "%u", b->vmid);
    }
    add(b, "-name");
    if (name) {
        if (strchr(name, ','))
            return fail(b, -EINVAL, "name: invalid name '%s'", name);
        add(b, name);
    } else
        addf(b, "vm%u", b->vmid);
    add(b, "-no-shutdown");
    add(b, "-chardev");
    addf(b, "socket,id=qmp,path=%s/%u.qmp,server=on,wait=off", b->rundir, b->vmid);
    add(b, "-mon");
    add(b, "chardev=qmp,mode=control");
    if (b->o->qmeventd_socket) {
        unsigned major = b->o->qemu_major ? b->o->qemu_major : 7;
        add(b, "-chardev");
        addf(
            b, "socket,id=qmp-event,path=%s,%s", b->o->qmeventd_socket,
            major >= 9 ? "reconnect-ms=5000" : "reconnect=5"
        );
        add(b, "-mon");
        add(b, "chardev=qmp-event,mode=control");
    }
    add(b, "-pidfile");
    addf(b, "%s/%u.pid", b->rundir, b->vmid);
    add(b, "-daemonize");
    const char *smbios = get(b, "smbios1");
    if (smbios) {
        _cleanup_(property_string_freep) PropertyString *ps = NULL;
        int r = get_ps(b, "smbios1", NULL, &ps);
        if (r < 0)
            return r;
        bool b64 = false;
        if (property_string_get_bool(ps, "base64", &b64) == 0 && b64)
            return fail(b, -EINVAL, "smbios1: base64 encoded values are not supported yet");
        add(b, "-smbios");
        addf(b, "type=1,%s", smbios);
    }
    return 0;
}

static int build(Builder *b) {
    int r;
    if ((r = boot_init(b)) < 0 || (r = add_head(b)) < 0 || (r = add_smp(b)) < 0)
        return r;
    add(b, "-nodefaults");
    add(b, "-boot");
    if (b->o->splash)
        addf(b, "menu=on,strict=on,reboot-timeout=1000,splash=%s", b->o->splash);
    else
        add(b, "menu=on,strict=on,reboot-timeout=1000");
    add(b, "-vnc");
    addf(b, "unix:%s/%u.vnc,password=on", b->rundir, b->vmid);
    if ((r = add_cpu(b)) < 0 || (r = add_memory(b)) < 0)
        return r;

    _cleanup_free_ char *machine = NULL;
    bool s3, s4;
    if ((r = machine_type(b, &machine, &s3, &s4)) < 0)
        return r;
    const char *bios = get(b, "bios");
    bool ovmf = bios && streq(bios, "ovmf");
    if (bios && !ovmf && !streq(bios, "seabios"))
        return fail(b, -EINVAL, "bios: unknown BIOS '%s'", bios);
    if (!s3) {
        add(b, "-global");
        add(b, "PIIX4_PM.disable_s3=1");
    }
    if (!s4) {
        add(b, "-global");
        add(b, "PIIX4_PM.disable_s4=1");
    }
    if (get_bool(b, "localtime", is_windows(b))) {
        add(b, "-rtc");
        add(b, "driftfix=slew,base=localtime");
    }

    add(b, "-device");
    add(b, "pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e");
    add(b, "-device");
    add(b, "pci-bridge,id=pci.2,chassis_nr=2,bus=pci.0,addr=0x1f");
    const char *hw = get(b, "scsihw");
    if (hw && streq(hw, "virtio-scsi-single")) {
        bool any = false;
        for (unsigned i = 0; i < QEMU_MAX_SCSI && !any; i++) {
            char key[16];
            snprintf(key, sizeof key, "scsi%u", i);
            any = get(b, key) != NULL;
        }
        if (any) {
            add(b, "-device");
            add(b, "pci-bridge,id=pci.3,chassis_nr=3,bus=pci.0,addr=0x5");
        }
    }
    const char *vmgenid = get(b, "vmgenid");
    if (vmgenid && !streq(vmgenid, "0") && !streq(vmgenid, "1")) {
        if (strlen(vmgenid) != 36 || vmgenid[strspn(vmgenid, "0123456789abcdefABCDEF-")])
            return fail(b, -EINVAL, "vmgenid: invalid value '%s'", vmgenid);
        add(b, "-device");
        addf(b, "vmgenid,guid=%s", vmgenid);
    }

    const char *vga;
    unsigned vga_mem;
    if ((r = vga_type(b, &vga, &vga_mem)) < 0)
        return r;
    bool display = !streq(vga, "none") && !startswith(vga, "serial");
    if (display && get_bool(b, "tablet", true)) {
        add(b, "-device");
        add(b, "piix3-usb-uhci,id=uhci,bus=pci.0,addr=0x1.0x2");
        add(b, "-device");
        add(b, "usb-tablet,id=tablet,bus=uhci.0,port=1");
    }
    if ((r = add_serials(b)) < 0)
        return r;
    add_vga(b, vga, vga_mem);
    if ((r = add_agent(b)) < 0)
        return r;
    unsigned balloon;
    if ((r = get_uint(b, "balloon", 1, 0, &balloon)) < 0)
        return r;
    if (balloon) {
        StrBuf sb = STRBUF_INIT;
        strbuf_append(&sb, "virtio-balloon-pci,id=balloon0");
        pci_addr(&sb, "balloon0");
        strbuf_append(&sb, ",free-page-reporting=on");
        add_buf(b, "-device", &sb);
    }
    if ((r = add_drives(b, ovmf)) < 0 || (r = add_nets(b)) < 0)
        return r;

    add(b, "-machine");
    if (b->o->kvm && b->o->pve_qemu)
        addf(b, "type=%s", machine);
    else
        addf(b, "type=%s,accel=%s", machine, b->o->kvm ? "kvm" : "tcg");
    if (b->o->paused)
        add(b, "-S");
    return add_args(b);
}

int qemu_cmdline_build(
    const GuestConfig *conf,
    uint32_t vmid,
    const QemuCmdlineOptions *o,
    char ***ret_argv,
    char **reterr
) {
    assert(conf && o && ret_argv);
    if (reterr)
        *reterr = NULL;
    _cleanup_(builder_done) Builder b = {
        .m = guest_config_main(conf),
        .vmid = vmid,
        .o = o,
        .rundir = o->rundir ? o->rundir : DEFAULT_RUNDIR,
        .reterr = reterr,
    };
    if (!b.m || conf->type != GUEST_TYPE_QEMU)
        return fail(&b, -EINVAL, "not a QEMU guest config");
    int r = build(&b);
    if (r >= 0 && b.error)
        r = b.error == -E2BIG ? fail(&b, -E2BIG, "too many QEMU arguments") : b.error;
    if (r < 0) {
        if (r == -ENOMEM && reterr) {
            free(*reterr);
            *reterr = NULL;
        }
        return r;
    }
    *ret_argv = TAKE_PTR(b.argv);
    return 0;
}

static bool needs_quote(const char *s) {
    if (!*s)
        return true;
    for (; *s; s++)
        if (!isalnum((unsigned char) *s) && !strchr("_./:=@+-", *s))
            return true;
    return false;
}

int qemu_cmdline_to_string(char *const *argv, char **ret) {
    _cleanup_strbuf_ StrBuf sb = STRBUF_INIT;
    assert(argv && ret);
    strbuf_append(&sb, "");
    for (size_t i = 0; argv[i]; i++) {
        if (i)
            strbuf_append_char(&sb, ' ');
        if (!needs_quote(argv[i])) {
            strbuf_append(&sb, argv[i]);
            continue;
        }
        strbuf_append_char(&sb, '\'');
        for (const char *p = argv[i]; *p; p++)
            if (*p == '\'')
                strbuf_append(&sb, "'\"'\"'");
            else
                strbuf_append_char(&sb, *p);
        strbuf_append_char(&sb, '\'');
    }
    return strbuf_finish(&sb, ret, NULL);
}
