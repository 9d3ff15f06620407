/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest-store: guest config files under /etc/pve, VMID lookup, the local config lock, and the
 * `lock` / `startup` properties (see pve/guest-store.h).
 */
#include "pve/guest-store.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"
#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/property-string.h"
#include "pve/string-util.h"

const char *guest_type_dir(GuestType type) {
    return type == GUEST_TYPE_LXC ? "lxc" : "qemu-server";
}

const char *guest_type_noun(GuestType type) {
    return type == GUEST_TYPE_LXC ? "CT" : "VM";
}

const char *guest_type_name(GuestType type) {
    return type == GUEST_TYPE_LXC ? "lxc" : "qemu";
}

int guest_config_relpath(GuestType type, const char *node, uint32_t vmid, char **ret) {
    if (asprintf(ret, "nodes/%s/%s/%u.conf", node, guest_type_dir(type), vmid) < 0)
        return -ENOMEM;
    return 0;
}

/* ---- lookup ------------------------------------------------------------------------------ */

static int locate_vmlist(uint32_t vmid, GuestType *ret_type, char **ret_node) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = cfs_ipc_get_guest_list(&text, &len);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *list = json_loadb(text, len, 0, NULL);
    char key[16];
    snprintf(key, sizeof key, "%u", vmid);
    json_t *e = json_object_get(json_object_get(list, "ids"), key);
    const char *node = json_string_value(json_object_get(e, "node"));
    const char *type = json_string_value(json_object_get(e, "type"));
    if (!node || !type)
        return -ENOENT;
    if (!streq(type, "qemu") && !streq(type, "lxc"))
        return -ENOENT; /* openvz: not managed here */
    if (!(*ret_node = strdup(node)))
        return -ENOMEM;
    *ret_type = streq(type, "lxc") ? GUEST_TYPE_LXC : GUEST_TYPE_QEMU;
    return 0;
}

static int locate_scan(uint32_t vmid, GuestType *ret_type, char **ret_node) {
    _cleanup_free_ char *nodes = NULL;
    int r = cfs_file_path("nodes", &nodes);
    if (r < 0)
        return r;
    DIR *d = opendir(nodes);
    if (!d)
        return -ENOENT;
    struct dirent *de;
    r = -ENOENT;
    while (r == -ENOENT && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        for (GuestType t = 0; t < _GUEST_TYPE_MAX && r == -ENOENT; t++) {
            _cleanup_free_ char *rel = NULL, *full = NULL;
            if (guest_config_relpath(t, de->d_name, vmid, &rel) < 0 ||
                cfs_file_path(rel, &full) < 0) {
                r = -ENOMEM;
                break;
            }
            if (access(full, F_OK) == 0) {
                *ret_type = t;
                r = (*ret_node = strdup(de->d_name)) ? 0 : -ENOMEM;
            }
        }
    }
    closedir(d);
    return r;
}

int guest_locate(uint32_t vmid, GuestType *ret_type, char **ret_node) {
    int r = locate_vmlist(vmid, ret_type, ret_node);
    if (r == -ENOENT || r == -ENOMEM || r >= 0)
        return r;
    return locate_scan(vmid, ret_type, ret_node);
}

static int u32_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

int guest_list_local(GuestType type, const char *node, uint32_t **ret, size_t *ret_n) {
    _cleanup_free_ char *rel = NULL, *dir = NULL;
    if (asprintf(&rel, "nodes/%s/%s", node, guest_type_dir(type)) < 0 ||
        cfs_file_path(rel, &dir) < 0)
        return -ENOMEM;
    _cleanup_free_ uint32_t *ids = NULL;
    size_t n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        const char *ext = endswith(de->d_name, ".conf");
        unsigned vmid;
        char num[16];
        if (!ext || ext - de->d_name >= (ptrdiff_t) sizeof num)
            continue;
        snprintf(num, sizeof num, "%.*s", (int) (ext - de->d_name), de->d_name);
        if (safe_atou32(num, &vmid) < 0 || vmid < 100)
            continue;
        uint32_t *p = realloc(ids, (n + 1) * sizeof *ids);
        if (!p) {
            closedir(d);
            return -ENOMEM;
        }
        ids = p;
        ids[n++] = vmid;
    }
    if (d)
        closedir(d);
    if (n)
        qsort(ids, n, sizeof *ids, u32_cmp);
    *ret = TAKE_PTR(ids);
    *ret_n = n;
    return 0;
}

/* ---- the config lock --------------------------------------------------------------------- */

static int lock_path(GuestType type, uint32_t vmid, char **ret) {
    int r = type == GUEST_TYPE_LXC ? asprintf(ret, "/run/lock/lxc/pve-config-%u.lock", vmid)
                                   : asprintf(ret, "/var/lock/qemu-server/lock-%u.conf", vmid);
    return r < 0 ? -ENOMEM : 0;
}

int guest_lock(GuestType type, uint32_t vmid, unsigned timeout_s, int *ret_fd, char **reterr) {
    _cleanup_free_ char *path = NULL;
    if (lock_path(type, vmid, &path) < 0)
        return -ENOMEM;
    _cleanup_free_ char *dir = strdup(path);
    if (!dir)
        return -ENOMEM;
    *strrchr(dir, '/') = '\0';
    (void) mkdir(dir, 0755);
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return set_error_message(
            reterr, -errno, "can't open file '%s' - %s", path, strerror(errno)
        );
    if (timeout_s == 0)
        timeout_s = GUEST_LOCK_TIMEOUT_DEFAULT;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned delay_ms = 10;
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return set_error_message(
                reterr, -errno, "can't lock file '%s' - %s", path, strerror(errno)
            );
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= (time_t) timeout_s)
            return set_error_message(
                reterr, -ETIMEDOUT, "can't lock file '%s' - got timeout", path
            );
        struct timespec ts = {.tv_nsec = (long) delay_ms * 1000000L};
        nanosleep(&ts, NULL);
        delay_ms = delay_ms < 200 ? delay_ms * 2 : 200;
    }
    *ret_fd = TAKE_FD(fd);
    return 0;
}

/* ---- files ------------------------------------------------------------------------------- */

int guest_config_read(
    GuestType type,
    const char *node,
    uint32_t vmid,
    GuestConfig **ret,
    char **ret_raw,
    char **reterr
) {
    _cleanup_free_ char *rel = NULL, *text = NULL;
    size_t len = 0;
    if (guest_config_relpath(type, node, vmid, &rel) < 0)
        return -ENOMEM;
    int r = cfs_file_read(rel, &text, &len);
    if (r == -ENOENT)
        return set_error_message(reterr, r, "Configuration file '%s' does not exist", rel);
    if (r < 0)
        return set_error_message(reterr, r, "unable to read '%s' - %s", rel, strerror(-r));
    GuestConfigError e = {0};
    r = guest_config_parse(type, text, len, ret, &e);
    if (r == -EINVAL)
        return set_error_message(reterr, r, "%s line %u: %s", rel, e.line, e.message);
    if (r < 0)
        return set_error_message(reterr, r, "unable to parse '%s' - %s", rel, strerror(-r));
    if (ret_raw)
        *ret_raw = TAKE_PTR(text);
    return 0;
}

static int create_exclusive(const char *rel, const char *text, size_t len) {
    _cleanup_free_ char *full = NULL;
    int r = cfs_file_path(rel, &full);
    if (r < 0)
        return r;
    int fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0)
        return -errno;
    r = write_all(fd, text, len);
    if (close(fd) < 0 && r >= 0)
        r = -errno;
    if (r < 0)
        (void) unlink(full);
    return r;
}

int guest_config_write(
    GuestType type,
    const char *node,
    uint32_t vmid,
    const GuestConfig *c,
    bool create,
    char **reterr
) {
    _cleanup_free_ char *rel = NULL, *text = NULL;
    size_t len = 0;
    if (guest_config_relpath(type, node, vmid, &rel) < 0 ||
        guest_config_print_canonical(c, &text, &len) < 0)
        return -ENOMEM;
    /* nodes/<node>/<dir> exists once the node set up /etc/pve (pvecm updatecerts does it
     * upstream); create it for a node's first guest */
    _cleanup_free_ char *dir = NULL, *full_dir = NULL;
    if (asprintf(&dir, "nodes/%s/%s", node, guest_type_dir(type)) < 0 ||
        cfs_file_path(dir, &full_dir) < 0)
        return -ENOMEM;
    (void) mkdir_p(full_dir, 0755);
    int r = create ? create_exclusive(rel, text, len) : cfs_file_write(rel, text, len);
    if (r == -EEXIST)
        return set_error_message(reterr, r, "%s %u already exists", guest_type_noun(type), vmid);
    if (r < 0)
        return set_error_message(reterr, r, "unable to write '%s' - %s", rel, strerror(-r));
    return 0;
}

int guest_config_move(
    GuestType type, uint32_t vmid, const char *from_node, const char *to_node, char **reterr
) {
    _cleanup_free_ char *from = NULL, *to = NULL, *from_full = NULL, *to_full = NULL;
    if (guest_config_relpath(type, from_node, vmid, &from) < 0 ||
        guest_config_relpath(type, to_node, vmid, &to) < 0 || cfs_file_path(from, &from_full) < 0 ||
        cfs_file_path(to, &to_full) < 0)
        return -ENOMEM;
    (void) mkdir_parents(to_full, 0755);
    if (rename(from_full, to_full) < 0)
        return set_error_message(reterr, -errno, "unable to move '%s' to '%s' - %m", from, to);
    return 0;
}

int guest_config_remove(GuestType type, const char *node, uint32_t vmid) {
    _cleanup_free_ char *rel = NULL, *full = NULL;
    if (guest_config_relpath(type, node, vmid, &rel) < 0 || cfs_file_path(rel, &full) < 0)
        return -ENOMEM;
    return unlink(full) < 0 ? -errno : 0;
}

/* ---- properties -------------------------------------------------------------------------- */

int guest_config_check_lock(const GuestConfig *c, char **reterr) {
    const char *lock = guest_section_get(guest_config_main(c), "lock");
    if (!lock)
        return 0;
    return set_error_message(reterr, -EBUSY, "%s is locked (%s)", guest_type_noun(c->type), lock);
}

static int parse_count(const char *key, const char *v, long *ret, char **reterr) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 0)
        return set_error_message(reterr, -EINVAL, "invalid startup %s '%s'", key, v);
    *ret = n;
    return 0;
}

int guest_startup_parse(const char *value, GuestStartup *ret, char **reterr) {
    *ret = (GuestStartup){-1, -1, -1};
    if (!value)
        return 0;
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    _cleanup_free_ char *msg = NULL;
    int r = property_string_parse(value, "order", &ps, &msg);
    if (r < 0)
        return set_error_message(
            reterr, r, "invalid startup value '%s': %s", value, msg ?: strerror(-r)
        );
    for (size_t i = 0; i < ps->n_entries; i++) {
        const PropertyStringEntry *e = &ps->entries[i];
        long *dst = streq(e->key, "order")  ? &ret->order
                    : streq(e->key, "up")   ? &ret->up
                    : streq(e->key, "down") ? &ret->down
                                            : NULL;
        if (!dst)
            return set_error_message(reterr, -EINVAL, "invalid startup key '%s'", e->key);
        if ((r = parse_count(e->key, e->value, dst, reterr)) < 0)
            return r;
    }
    return 0;
}

bool guest_config_bool(const char *value, bool dflt) {
    if (!value)
        return dflt;
    return streq(value, "1") || strcasecmp(value, "on") == 0 || strcasecmp(value, "yes") == 0 ||
           strcasecmp(value, "true") == 0;
}

int guest_config_apply_pending(GuestConfig *c) {
    GuestSection *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
    GuestSection *m = guest_config_main(c);
    if (!p)
        return 0;
    int r;
    for (size_t i = 0; i < p->n_entries; i++) {
        const GuestEntry *e = &p->entries[i];
        if (e->raw)
            r = guest_section_add_raw(m, e->key, e->value);
        else if (streq(e->key, "delete")) {
            _cleanup_free_ char *list = strdup(e->value);
            if (!list)
                return -ENOMEM;
            r = 0;
            for (char *save = NULL, *k = strtok_r(list, ",", &save); k;
                 k = strtok_r(NULL, ",", &save))
                (void) guest_section_delete(m, k[0] == '!' ? k + 1 : k);
        } else
            r = guest_section_set(m, e->key, e->value);
        if (r < 0)
            return r;
    }
    if (p->description && (r = guest_section_set_description(m, p->description)) < 0)
        return r;
    return guest_config_remove_section(c, GUEST_SECTION_PENDING, NULL);
}
