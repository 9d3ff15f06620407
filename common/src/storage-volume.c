/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-volume: volumes of path-based storages (see pve/storage-volume.h): volume ids and
 * names, disk size strings, the storage lock, qemu-img allocation, freeing, resolving a volid
 * for guests, and the image listing/info facts used by the content API.
 */
#include "pve/storage-volume.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/cfs-file.h"
#include "pve/cluster-setup.h"
#include "pve/fileio.h"
#include "pve/paths.h"
#include "pve/spawn.h"
#include "pve/storage-cfg.h"
#include "pve/string-util.h"

#define LOCAL_LOCK_DIR "/run/lock/pve-manager"

#define ISO_RE    "\\.(iso|img)$"
#define VZTMPL_RE "\\.tar\\.(gz|xz|zst|bz2)$"
#define BACKUP_RE "\\.(tgz|(tar|vma)(\\.(gz|lzo|zst|bz2))?)$"
#define IMAGE_RE  "^((vm|base|subvol)-([0-9]+)-[^/[:space:]]+)\\.(raw|qcow2|vmdk|subvol)$"
#define IMGEXT_RE "^[^/]+\\.(raw|qcow2|vmdk|subvol)$"

/* ---- small helpers --------------------------------------------------------------------------- */

/* 1 match, 0 no match, -ENOMEM; case-insensitive ERE, as upstream's patterns are used */
static int regex_match(const char *re, const char *s, regmatch_t *m, size_t n) {
    regex_t rx;
    if (regcomp(&rx, re, REG_EXTENDED | REG_ICASE | (m ? 0 : REG_NOSUB)) != 0)
        return -ENOMEM;
    int r = regexec(&rx, s, n, m, 0);
    regfree(&rx);
    return r == 0;
}

static char *match_dup(const char *s, const regmatch_t *m) {
    if (m->rm_so < 0)
        return NULL;
    return strndup(s + m->rm_so, (size_t) (m->rm_eo - m->rm_so));
}

static bool strv_has(const char *const *l, const char *s) {
    for (; l && *l; l++)
        if (streq(*l, s))
            return true;
    return false;
}

/* ---- ids, names, sizes ----------------------------------------------------------------------- */

void storage_volume_done(StorageVolume *v) {
    free(v->volid);
    free(v->storage);
    free(v->content);
    free(v->name);
    free(v->path);
    free(v->format);
    *v = (StorageVolume){};
}

int storage_volid_split(const char *volid, char **ret_storage, const char **ret_volname) {
    const char *colon = volid ? strchr(volid, ':') : NULL;
    if (!colon || !colon[1] || strchr(colon, '\n'))
        return -EINVAL;
    _cleanup_free_ char *sid = strndup(volid, (size_t) (colon - volid));
    if (!sid)
        return -ENOMEM;
    int r = regex_match("^[a-z][a-z0-9._-]*[a-z0-9]$", sid, NULL, 0);
    if (r < 0)
        return r;
    if (r == 0)
        return -EINVAL;
    *ret_storage = TAKE_PTR(sid);
    *ret_volname = colon + 1;
    return 0;
}

/* content type, owner and file name of a volname; -EINVAL with the upstream text */
static int parse_volname(
    const char *volname,
    const char **ret_ct,
    const char **ret_name,
    char **ret_owner,
    char **ret_format,
    bool *ret_base,
    char **reterr
) {
    regmatch_t m[6];
    const char *name;
    *ret_owner = *ret_format = NULL;
    *ret_base = false;
    if (regex_match("^([0-9]+)/([^/]+)$", volname, m, 3) > 0) {
        name = volname + m[2].rm_so;
        if (regex_match(IMAGE_RE, name, m, 5) <= 0)
            return set_error_message(reterr, -EINVAL, "unable to parse volume filename '%s'", name);
        *ret_base = startswith(name, "base-") != NULL;
        if (!(*ret_format = match_dup(name, &m[4])) ||
            !(*ret_owner = strndup(volname, strcspn(volname, "/"))))
            return -ENOMEM;
        *ret_ct = "images";
        *ret_name = name;
        return 0;
    }
    static const struct {
        const char *prefix, *ct, *re;
    } kinds[] = {
        {"iso/", "iso", "^.+" ISO_RE},
        {"vztmpl/", "vztmpl", "^.+" VZTMPL_RE},
        {"backup/", "backup", "^.+" BACKUP_RE},
        {"snippets/", "snippets", "^.+$"},
    };
    for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
        name = startswith(volname, kinds[i].prefix);
        if (!name || strchr(name, '/') || streq(name, ".") || streq(name, "..") ||
            regex_match(kinds[i].re, name, NULL, 0) <= 0)
            continue;
        if (streq(kinds[i].ct, "backup") &&
            regex_match("^vzdump-(openvz|lxc|qemu)-([0-9]+)-", name, m, 3) > 0 &&
            !(*ret_owner = match_dup(name, &m[2])))
            return -ENOMEM;
        *ret_ct = kinds[i].ct;
        *ret_name = name;
        return 0;
    }
    return set_error_message(
        reterr, -EINVAL, "unable to parse directory volume name '%s'", volname
    );
}

int storage_volume_parse(
    const SectionConfigSection *s, const char *volname, StorageVolume *ret, char **reterr
) {
    *ret = (StorageVolume){};
    if (reterr)
        *reterr = NULL;
    const char *ct = NULL, *name = NULL;
    _cleanup_free_ char *owner = NULL, *format = NULL, *dir = NULL;
    bool base;
    int r = parse_volname(volname, &ct, &name, &owner, &format, &base, reterr);
    if (r < 0)
        return r;
    unsigned vmid = 0;
    if (owner && safe_atou32(owner, &vmid) < 0)
        return set_error_message(
            reterr, -EINVAL, "unable to parse directory volume name '%s'", volname
        );
    if (storage_cfg_content_dir(s, ct, &dir) < 0)
        return set_error_message(reterr, -EINVAL, "storage definition has no path");
    _cleanup_free_ char *path = NULL, *volid = NULL, *storage = NULL, *content = NULL,
                        *fname = NULL;
    if (streq(ct, "images") ? asprintf(&path, "%s/%s/%s", dir, owner, name) < 0
                            : asprintf(&path, "%s/%s", dir, name) < 0)
        return -ENOMEM;
    if (asprintf(&volid, "%s:%s", s->id, volname) < 0)
        return -ENOMEM;
    if (!format && !(format = strdup("raw")))
        return -ENOMEM;
    if (!(storage = strdup(s->id)) || !(content = strdup(ct)) || !(fname = strdup(name)))
        return -ENOMEM;
    StorageVolume v = {
        .volid = TAKE_PTR(volid),
        .storage = TAKE_PTR(storage),
        .content = TAKE_PTR(content),
        .name = TAKE_PTR(fname),
        .path = TAKE_PTR(path),
        .format = TAKE_PTR(format),
        .vmid = vmid,
        .is_base = base,
    };
    *ret = v;
    return 0;
}

static int unit_shift(char u, unsigned *ret) {
    switch (u) {
    case 0:
    case 'B':
        *ret = 0;
        return 0;
    case 'K':
        *ret = 10;
        return 0;
    case 'M':
        *ret = 20;
        return 0;
    case 'G':
        *ret = 30;
        return 0;
    case 'T':
        *ret = 40;
        return 0;
    default:
        return -EINVAL;
    }
}

int storage_parse_size(const char *s, char default_unit, uint64_t *ret_bytes) {
    if (!s || !(*s >= '0' && *s <= '9'))
        return -EINVAL;
    uint64_t ip = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++)
        if (__builtin_mul_overflow(ip, 10, &ip) || __builtin_add_overflow(ip, *p - '0', &ip))
            return -ERANGE;
    uint64_t num = 0, den = 1; /* fraction num/den, at most 18 digits kept */
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return -EINVAL;
        for (unsigned n = 0; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 18) {
                num = num * 10 + (uint64_t) (*p - '0');
                den *= 10;
            }
    }
    unsigned shift;
    if (unit_shift(*p ? *p : default_unit, &shift) < 0 || (*p && p[1]) || *p == 'B')
        return -EINVAL;
    if (shift && ip > (UINT64_MAX >> shift))
        return -ERANGE;
    uint64_t bytes = ip << shift;
    unsigned __int128 frac = ((unsigned __int128) num << shift) / den;
    if (__builtin_add_overflow(bytes, (uint64_t) frac, &bytes))
        return -ERANGE;
    *ret_bytes = bytes;
    return 0;
}

/* ---- storage.cfg ----------------------------------------------------------------------------- */

int storage_cfg_load(SectionConfig **ret, char **reterr) {
    _cleanup_free_ char *text = NULL, *msg = NULL, *warnings = NULL;
    size_t len = 0;
    int r = cfs_file_read(PVE_CFS_STORAGE_CFG, &text, &len);
    if (r == -ENOENT)
        len = 0;
    else if (r < 0)
        return set_error_message(reterr, r, "unable to read storage.cfg - %s", strerror(-r));
    unsigned line = 0;
    r = storage_cfg_parse(text ? text : "", len, ret, &warnings, &line, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return set_error_message(
            reterr, -EINVAL, "storage.cfg line %u: %s", line, msg ? msg : "parse error"
        );
    return 0;
}

int storage_find(
    const SectionConfig *c, const char *id, const SectionConfigSection **ret, char **reterr
) {
    const SectionConfigSection *s = id ? section_config_find(c, NULL, id) : NULL;
    if (!s)
        return set_error_message(reterr, -ENOENT, "storage '%s' does not exist", id ? id : "");
    *ret = s;
    return 0;
}

int storage_check_enabled(const SectionConfigSection *s, const char *node, char **reterr) {
    if (storage_cfg_bool(s, "disable"))
        return set_error_message(reterr, -EACCES, "storage '%s' is disabled", s->id);
    if (node && !storage_cfg_available_on(s, node))
        return set_error_message(
            reterr, -EACCES, "storage '%s' is not available on node '%s'", s->id, node
        );
    return 0;
}

int storage_lock(const SectionConfigSection *s, int (*fn)(void *userdata), void *userdata) {
    if (storage_cfg_is_shared(s))
        return cfs_lock_storage(s->id, 0, fn, userdata);
    _cleanup_free_ char *path = NULL;
    (void) mkdir_p(LOCAL_LOCK_DIR, 0755);
    if (asprintf(&path, LOCAL_LOCK_DIR "/pve-storage-%s", s->id) < 0)
        return -ENOMEM;
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR)
            return -errno;
    return fn(userdata);
}

/* ---- allocation ------------------------------------------------------------------------------ */

typedef struct Alloc {
    const SectionConfigSection *s;
    uint32_t vmid;
    const char *fmt;
    const char *name; /* NULL: pick one */
    uint64_t size;
    char *dir; /* images/<vmid> */
    char *volid;
    char **reterr;
} Alloc;

/* upstream's get_next_vm_diskname(): first N not used by any (vm|base|subvol)-<vmid>-disk-N */
static int next_disk_name(Alloc *a, char **ret) {
    static const size_t max = STORAGE_MAX_VOLUMES_PER_GUEST;
    bool used[STORAGE_MAX_VOLUMES_PER_GUEST] = {};
    DIR *d = opendir(a->dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        regmatch_t m[4];
        if (regex_match(
                "^(vm|base|subvol)-([0-9]+)-disk-([0-9]+)\\.(raw|qcow2|vmdk|subvol)$", de->d_name,
                m, 4
            ) <= 0)
            continue;
        unsigned owner, n;
        _cleanup_free_ char *o = match_dup(de->d_name, &m[2]), *k = match_dup(de->d_name, &m[3]);
        if (o && k && safe_atou32(o, &owner) >= 0 && owner == a->vmid && safe_atou32(k, &n) >= 0 &&
            n < max)
            used[n] = true;
    }
    if (d)
        closedir(d);
    const char *prefix = streq(a->fmt, "subvol") ? "subvol" : "vm";
    for (size_t i = 0; i < max; i++)
        if (!used[i])
            return asprintf(ret, "%s-%u-disk-%zu.%s", prefix, a->vmid, i, a->fmt) < 0 ? -ENOMEM : 0;
    return set_error_message(
        a->reterr, -ENOSPC, "unable to allocate an image name for VM %u in storage '%s'", a->vmid,
        a->s->id
    );
}

/* a caller's name: vm-<vmid>-* (subvol-<vmid>-* for subvol) with the format's extension */
static int check_name(Alloc *a, const char *name) {
    _cleanup_free_ char *vm = NULL, *sub = NULL;
    if (asprintf(&vm, "vm-%u-", a->vmid) < 0 || asprintf(&sub, "subvol-%u-", a->vmid) < 0)
        return -ENOMEM;
    if (!startswith(name, vm) && !(streq(a->fmt, "subvol") && startswith(name, sub)))
        return set_error_message(
            a->reterr, -EINVAL, "illegal name '%s' - should be '%s*'", name, vm
        );
    regmatch_t m[5];
    if (regex_match(IMAGE_RE, name, m, 5) <= 0)
        return set_error_message(a->reterr, -EINVAL, "unable to parse volume filename '%s'", name);
    _cleanup_free_ char *ext = match_dup(name, &m[4]);
    if (!ext)
        return -ENOMEM;
    if (!streq(ext, a->fmt))
        return set_error_message(
            a->reterr, -EINVAL, "illegal name '%s' - wrong extension for format ('%s != '%s')",
            name, ext, a->fmt
        );
    return 0;
}

/* last non-empty line of a command's stderr, or a generic text */
static char *last_line(char *text) {
    if (!text)
        return NULL;
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = 0;
    char *nl = strrchr(text, '\n');
    return *text ? (nl ? nl + 1 : text) : NULL;
}

static int qemu_img_create(Alloc *a, const char *path) {
    char size[32];
    uint64_t kib = a->size / 1024 + (a->size % 1024 != 0);
    snprintf(size, sizeof size, "%" PRIu64 "K", kib);
    const char *argv[] = {"qemu-img", "create", "-f", a->fmt, path, size, NULL};
    _cleanup_free_ char *out = NULL, *err = NULL; /* "Formatting ..." is dropped */
    int status = 0;
    int r = spawn_capture(argv, 64 * 1024, &out, &err, &status);
    if (r < 0)
        return set_error_message(
            a->reterr, r, "unable to create image: cannot run qemu-img: %s", strerror(-r)
        );
    if (status != 0) {
        const char *line = last_line(err);
        if (line)
            return set_error_message(a->reterr, -EIO, "unable to create image: %s", line);
        return set_error_message(
            a->reterr, -EIO,
            "unable to create image: command 'qemu-img create -f %s %s %s' failed: exit code %d",
            a->fmt, path, size, status
        );
    }
    (void) chmod(path, 0640); /* upstream allocates with umask 037 */
    return 0;
}

static int alloc_locked(void *userdata) {
    Alloc *a = userdata;
    _cleanup_free_ char *name = NULL, *path = NULL;
    int r = mkdir_p(a->dir, 0755);
    if (r < 0)
        return set_error_message(
            a->reterr, r, "unable to create directory '%s' - %s", a->dir, strerror(-r)
        );
    if (a->name) {
        if ((r = check_name(a, a->name)) < 0)
            goto rmdir;
        if (!(name = strdup(a->name)))
            return -ENOMEM;
    } else if ((r = next_disk_name(a, &name)) < 0)
        goto rmdir;
    if (asprintf(&path, "%s/%s", a->dir, name) < 0)
        return -ENOMEM;
    struct stat st;
    if (lstat(path, &st) == 0) {
        r = set_error_message(a->reterr, -EEXIST, "disk image '%s' already exists", path);
        goto rmdir;
    }
    if (streq(a->fmt, "subvol")) {
        if (mkdir(path, 0755) < 0) {
            r = set_error_message(a->reterr, -errno, "unable to create subvol '%s' - %m", path);
            goto rmdir;
        }
    } else if ((r = qemu_img_create(a, path)) < 0) {
        (void) unlink(path);
        goto rmdir;
    }
    if (asprintf(&a->volid, "%s:%u/%s", a->s->id, a->vmid, name) < 0)
        return -ENOMEM;
    return 0;
rmdir:
    (void) rmdir(a->dir); /* only when empty */
    return r;
}

/* the storage's default image format: its `format` option, else the type's default */
static const char *default_format(const SectionConfigSection *s, const StorageType *t) {
    const char *f = section_config_get(s, "format");
    return f && *f ? f : t->default_format;
}

int storage_volume_alloc(
    const SectionConfigSection *s,
    uint32_t vmid,
    const char *fmt,
    const char *name,
    uint64_t size_bytes,
    char **ret_volid,
    char **reterr
) {
    if (reterr)
        *reterr = NULL;
    const StorageType *t = storage_type_find(s->type);
    if (!t || !t->path_base)
        return set_error_message(
            reterr, -EOPNOTSUPP, "storage '%s' (type %s) cannot allocate images here", s->id,
            s->type
        );
    if (vmid == 0)
        return set_error_message(reterr, -EINVAL, "no VMID specified");
    if (!fmt)
        fmt = default_format(s, t);
    if (!fmt || !strv_has(t->formats, fmt))
        return set_error_message(
            reterr, -EINVAL, "unsupported format '%s' on storage '%s'", fmt ? fmt : "", s->id
        );
    _cleanup_free_ char *images = NULL;
    if (storage_cfg_content_dir(s, "images", &images) < 0)
        return set_error_message(reterr, -EINVAL, "storage definition has no path");
    Alloc a = {
        .s = s, .vmid = vmid, .fmt = fmt, .name = name, .size = size_bytes, .reterr = reterr};
    if (asprintf(&a.dir, "%s/%u", images, vmid) < 0)
        return -ENOMEM;
    int r = storage_lock(s, alloc_locked, &a);
    free(a.dir);
    if (r < 0) {
        free(a.volid);
        if (reterr && !*reterr && r != -ENOMEM)
            (void
            ) set_error_message(reterr, r, "unable to lock storage '%s' - %s", s->id, strerror(-r));
        return r;
    }
    *ret_volid = a.volid;
    return 0;
}

/* ---- free ------------------------------------------------------------------------------------ */

typedef struct Free {
    const StorageVolume *v;
    char **reterr;
} Free;

static int free_locked(void *userdata) {
    Free *f = userdata;
    const StorageVolume *v = f->v;
    _cleanup_free_ char *prot = NULL;
    if (asprintf(&prot, "%s.protected", v->path) < 0)
        return -ENOMEM;
    if (access(prot, F_OK) == 0)
        return set_error_message(
            f->reterr, -EPERM, "cannot remove protected volume '%s' on '%s'", v->name, v->storage
        );
    struct stat st;
    if (lstat(v->path, &st) < 0)
        return set_error_message(f->reterr, -ENOENT, "disk image '%s' does not exist", v->path);
    int r = 0;
    if (S_ISDIR(st.st_mode)) {
        r = rm_tree(v->path);
        if (r == -EBUSY)
            return set_error_message(
                f->reterr, r, "unable to remove '%s' - a file system is mounted in it", v->path
            );
        if (r < 0)
            return set_error_message(
                f->reterr, r, "unable to remove '%s' - %s", v->path, strerror(-r)
            );
    } else if (unlink(v->path) < 0)
        return set_error_message(f->reterr, -errno, "unlink '%s' failed - %m", v->path);
    if (streq(v->content, "images")) {
        _cleanup_free_ char *dir = strdup(v->path);
        if (dir && strrchr(dir, '/')) {
            *strrchr(dir, '/') = 0;
            (void) rmdir(dir);
        }
    }
    regmatch_t m[2];
    if (streq(v->content, "backup") &&
        regex_match("^(.*/vzdump-[a-z]+-[0-9]+-[0-9_]+-[0-9_]+)\\.", v->path, m, 2) > 0) {
        _cleanup_free_ char *base = match_dup(v->path, &m[1]), *log = NULL, *notes = NULL;
        if (base && asprintf(&log, "%s.log", base) >= 0)
            (void) unlink(log);
        if (asprintf(&notes, "%s.notes", v->path) >= 0)
            (void) unlink(notes);
    }
    return 0;
}

int storage_volume_free(const SectionConfigSection *s, const char *volname, char **reterr) {
    _cleanup_(storage_volume_done) StorageVolume v = {};
    int r = storage_volume_parse(s, volname, &v, reterr);
    if (r < 0)
        return r;
    Free f = {.v = &v, .reterr = reterr};
    r = storage_lock(s, free_locked, &f);
    if (r < 0 && reterr && !*reterr && r != -ENOMEM)
        (void
        ) set_error_message(reterr, r, "unable to lock storage '%s' - %s", s->id, strerror(-r));
    return r;
}

/* ---- resolve --------------------------------------------------------------------------------- */

static int path_format(const char *path, char **ret) {
    const char *f = endswith(path, ".qcow2") ? "qcow2" : endswith(path, ".vmdk") ? "vmdk" : "raw";
    *ret = strdup(f);
    return *ret ? 0 : -ENOMEM;
}

int storage_volume_resolve(const char *volid, char **ret_path, char **ret_format, char **reterr) {
    if (reterr)
        *reterr = NULL;
    if (volid && volid[0] == '/') {
        _cleanup_free_ char *p = strdup(volid), *f = NULL;
        if (!p || (ret_format && path_format(volid, &f) < 0))
            return -ENOMEM;
        *ret_path = TAKE_PTR(p);
        if (ret_format)
            *ret_format = TAKE_PTR(f);
        return 0;
    }
    _cleanup_free_ char *sid = NULL;
    const char *volname;
    int r = storage_volid_split(volid, &sid, &volname);
    if (r == -EINVAL)
        return set_error_message(reterr, r, "unable to parse volume ID '%s'", volid ? volid : "");
    if (r < 0)
        return r;
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    const SectionConfigSection *s;
    if ((r = storage_cfg_load(&c, reterr)) < 0 || (r = storage_find(c, sid, &s, reterr)) < 0)
        return r;
    char node[256];
    r = cluster_short_nodename(node);
    if (r < 0 && r != -EINVAL) /* an empty host name is checked as "" */
        return r;
    if ((r = storage_check_enabled(s, node, reterr)) < 0)
        return r;
    _cleanup_(storage_volume_done) StorageVolume v = {};
    if ((r = storage_volume_parse(s, volname, &v, reterr)) < 0)
        return r;
    *ret_path = TAKE_PTR(v.path);
    if (ret_format)
        *ret_format = TAKE_PTR(v.format);
    return 0;
}

/* ---- listing and info ------------------------------------------------------------------------ */

void storage_volume_info_done(StorageVolumeInfo *i) {
    free(i->parent);
    i->parent = NULL;
}

/* qcow2 header: virtual size and backing file name */
static void qcow2_info(const char *path, StorageVolumeInfo *info) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t h[32];
    if (fd < 0 || pread(fd, h, sizeof h, 0) != (ssize_t) sizeof h || memcmp(h, "QFI\xfb", 4) != 0)
        return;
    uint64_t boff = 0, vs = 0;
    for (int i = 0; i < 8; i++) {
        boff = boff << 8 | h[8 + i];
        vs = vs << 8 | h[24 + i];
    }
    unsigned blen = (unsigned) h[16] << 24 | (unsigned) h[17] << 16 | (unsigned) h[18] << 8 | h[19];
    info->size = vs;
    if (boff && blen > 0 && blen < 1024) {
        char *b = calloc(1, blen + 1);
        if (b && pread(fd, b, blen, (off_t) boff) == (ssize_t) blen)
            info->parent = b;
        else
            free(b);
    }
}

int storage_volume_info(const char *path, const char *format, StorageVolumeInfo *ret) {
    *ret = (StorageVolumeInfo){};
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    bool dir = S_ISDIR(st.st_mode);
    ret->size = dir ? 0 : (uint64_t) st.st_size;
    ret->used = dir ? 0 : (uint64_t) st.st_blocks * 512;
    ret->ctime = st.st_ctime;
    if (!dir && format && streq(format, "qcow2"))
        qcow2_info(path, ret);
    return 0;
}

int storage_file_format(const char *content, const char *name, char **ret_format) {
    regmatch_t m[2];
    *ret_format = NULL;
    if (streq(content, "iso")) {
        if (regex_match("^.+" ISO_RE, name, NULL, 0) <= 0)
            return 0;
        *ret_format = strdup("iso");
    } else if (streq(content, "vztmpl")) {
        if (regex_match("^.+" VZTMPL_RE, name, m, 2) <= 0)
            return 0;
        _cleanup_free_ char *ext = match_dup(name, &m[1]);
        if (!ext || asprintf(ret_format, "t%s", ext) < 0)
            return *ret_format = NULL, -ENOMEM;
    } else if (streq(content, "backup")) {
        if (regex_match("^.+" BACKUP_RE, name, m, 2) <= 0)
            return 0;
        *ret_format = match_dup(name, &m[1]);
    } else if (streq(content, "snippets"))
        *ret_format = strdup("snippet");
    else
        return 0;
    return *ret_format ? 0 : -ENOMEM;
}

void storage_images_free(StorageImage *l, size_t n) {
    for (size_t i = 0; l && i < n; i++) {
        free(l[i].volid);
        free(l[i].format);
        storage_volume_info_done(&l[i].info);
    }
    free(l);
}

typedef struct ImageList {
    StorageImage *items;
    size_t n, allocated;
} ImageList;

static int image_list_add(ImageList *l, StorageImage *img) {
    if (l->n == l->allocated) {
        size_t na = l->allocated ? l->allocated * 2 : 16;
        StorageImage *p = reallocarray(l->items, na, sizeof *p);
        if (!p)
            return -ENOMEM;
        l->items = p;
        l->allocated = na;
    }
    l->items[l->n++] = *img;
    *img = (StorageImage){};
    return 0;
}

/* images in images/<owner>/ */
static int list_vmid_dir(
    const SectionConfigSection *s,
    const StorageType *t,
    const char *dir,
    const char *owner,
    ImageList *l
) {
    _cleanup_free_ char *sub = NULL;
    if (asprintf(&sub, "%s/%s", dir, owner) < 0)
        return -ENOMEM;
    DIR *d = opendir(sub);
    if (!d)
        return 0;
    struct dirent *e;
    int r = 0;
    while (r >= 0 && (e = readdir(d))) {
        regmatch_t m[2];
        if (regex_match(IMGEXT_RE, e->d_name, m, 2) <= 0)
            continue;
        _cleanup_free_ char *path = NULL;
        StorageImage img = {.format = match_dup(e->d_name, &m[1])};
        if (img.format && strv_has(t->formats, img.format) &&
            asprintf(&path, "%s/%s", sub, e->d_name) >= 0 &&
            storage_volume_info(path, img.format, &img.info) >= 0 &&
            safe_atou32(owner, &img.vmid) >= 0 &&
            asprintf(&img.volid, "%s:%s/%s", s->id, owner, e->d_name) >= 0)
            r = image_list_add(l, &img);
        free(img.volid);
        free(img.format);
        storage_volume_info_done(&img.info);
    }
    closedir(d);
    return r;
}

int storage_list_images(
    const SectionConfigSection *s, uint32_t vmid, StorageImage **ret, size_t *ret_n
) {
    *ret = NULL;
    *ret_n = 0;
    const StorageType *t = storage_type_find(s->type);
    _cleanup_free_ char *dir = NULL;
    if (!t || !t->path_base || storage_cfg_content_dir(s, "images", &dir) < 0)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    ImageList l = {};
    struct dirent *de;
    int r = 0;
    while (r >= 0 && (de = readdir(d))) {
        unsigned owner;
        if (regex_match("^[0-9]+$", de->d_name, NULL, 0) <= 0 ||
            safe_atou32(de->d_name, &owner) < 0 || (vmid && owner != vmid))
            continue;
        r = list_vmid_dir(s, t, dir, de->d_name, &l);
    }
    closedir(d);
    if (r < 0) {
        storage_images_free(l.items, l.n);
        return r;
    }
    *ret = l.items;
    *ret_n = l.n;
    return 0;
}

static int strp_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *) a, *(char *const *) b);
}

int storage_vmid_volumes(const SectionConfigSection *s, uint32_t vmid, char ***ret_volids) {
    StorageImage *imgs;
    size_t n;
    int r = storage_list_images(s, vmid, &imgs, &n);
    if (r < 0)
        return r;
    char **out = calloc(n + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; out && i < n; i++) {
        const char *name = strchr(imgs[i].volid, '/') + 1;
        regmatch_t m[4];
        unsigned owner;
        _cleanup_free_ char *o = NULL;
        if (regex_match(IMAGE_RE, name, m, 4) <= 0 || !(o = match_dup(name, &m[3])) ||
            safe_atou32(o, &owner) < 0 || owner != vmid)
            continue;
        out[k++] = TAKE_PTR(imgs[i].volid);
    }
    storage_images_free(imgs, n);
    if (!out)
        return -ENOMEM;
    qsort(out, k, sizeof(char *), strp_cmp);
    *ret_volids = out;
    return 0;
}
