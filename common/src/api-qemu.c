/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-qemu: /nodes/{node}/qemu — the VM list, create (task qmcreate), the VM index, config
 * GET/POST/PUT with upstream's pending semantics (a running VM keeps most changes in
 * [PENDING] until its next start), GET pending, and destroy (task qmdestroy). The power
 * actions are api-qemu-status.c. Config changes happen under the VM's config lock.
 */
#include "api-qemu.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api-guest.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/cfs-file.h"
#include "pve/guest-store.h"
#include "pve/json-util.h"
#include "pve/qemu-config.h"
#include "pve/qemu-runtime.h"
#include "pve/section-config.h"
#include "pve/storage-cfg.h"
#include "pve/storage-volume.h"
#include "pve/string-util.h"
#include "pve/task.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

/* ---- shared with api-qemu-status.c ---------------------------------------------------------- */

/* ---- what a key is -------------------------------------------------------------------------- */

/* Parameters of the config calls that are not config keys. */
static bool is_call_param(const char *key) {
    static const char *const params[] = {
        "node",  "vmid", "digest", "delete",  "revert",  "skiplock",         "force",
        "start", "pool", "unique", "storage", "archive", "background_delay", NULL,
    };
    for (size_t i = 0; params[i]; i++)
        if (streq(params[i], key))
            return true;
    return false;
}

/* Options applied at once even to a running VM (upstream's "fast plug" list). */
static bool is_fast_plug(const char *key) {
    static const char *const keys[] = {
        "lock",       "name",           "onboot",     "shares", "startup", "description",
        "protection", "vmstatestorage", "hookscript", "tags",   NULL,
    };
    for (size_t i = 0; keys[i]; i++)
        if (streq(keys[i], key))
            return true;
    return false;
}

/* The privilege a change of key needs on /vms/<vmid> (upstream's
 * check_vm_modify_config_perm); NULL = root@pam only. */
static const char *key_privilege(const char *key, const char *value) {
    static const char *const memory[] = {"memory", "balloon", "shares", "allow-ksm", NULL};
    static const char *const cpu[] = {"cores",    "sockets", "vcpus",    "cpu", "cpulimit",
                                      "cpuunits", "numa",    "affinity", "smp", NULL};
    static const char *const cloudinit[] = {"ciuser",       "cipassword", "citype",
                                            "ciupgrade",    "cicustom",   "nameserver",
                                            "searchdomain", "sshkeys",    NULL};
    static const char *const hwtype[] = {
        "vga",
        "machine",
        "bios",
        "scsihw",
        "keyboard",
        "tablet",
        "watchdog",
        "audio0",
        "rng0",
        "acpi",
        "kvm",
        "arch",
        "localtime",
        "tdf",
        "freeze",
        "startdate",
        "smbios1",
        "vmgenid",
        "hotplug",
        "hugepages",
        "keephugepages",
        "ivshmem",
        "spice_enhancements",
        "amd-sev",
        "intel-tdx",
        NULL};
    static const struct {
        const char *priv;
        const char *const *keys;
    } groups[] = {
        {"VM.Config.Memory", memory},
        {"VM.Config.CPU", cpu},
        {"VM.Config.Cloudinit", cloudinit},
        {"VM.Config.HWType", hwtype},
    };
    static const char *const root_only[] = {"args", "lock", "hookscript", NULL};
    for (size_t i = 0; root_only[i]; i++)
        if (streq(root_only[i], key))
            return NULL;
    if (qemu_is_net_key(key))
        return "VM.Config.Network";
    if (qemu_is_drive_key(key) || qemu_is_unused_key(key)) {
        if (value && strstr(value, "media=cdrom"))
            return "VM.Config.CDROM";
        return "VM.Config.Disk";
    }
    if (startswith(key, "serial") || startswith(key, "parallel") || startswith(key, "usb") ||
        startswith(key, "hostpci"))
        return "VM.Config.HWType";
    if (startswith(key, "ipconfig"))
        return "VM.Config.Cloudinit";
    for (size_t g = 0; g < ELEMENTSOF(groups); g++)
        for (size_t i = 0; groups[g].keys[i]; i++)
            if (streq(groups[g].keys[i], key))
                return groups[g].priv;
    return "VM.Config.Options";
}

/* Permission for changing (or deleting) every key of the call. */
static int
check_key_privileges(ApiCall *call, uint32_t vmid, const json_t *params, const char *deletes) {
    if (streq(api_user(call), "root@pam"))
        return 0;
    char path[32];
    snprintf(path, sizeof path, "/vms/%u", vmid);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) params, key, v) {
        if (is_call_param(key))
            continue;
        const char *priv = key_privilege(key, json_string_value(v));
        if (!priv)
            return api_call_fail(call, 403, NULL, "only root can set '%s' config", key);
        int r = api_check_priv(call, NULL, path, (const char *const[]){priv, NULL}, false);
        if (r < 0)
            return r;
    }
    _cleanup_free_ char *list = deletes ? strdup(deletes) : NULL;
    for (char *save = NULL, *k = list ? strtok_r(list, ",; ", &save) : NULL; k;
         k = strtok_r(NULL, ",; ", &save)) {
        const char *priv = key_privilege(k, NULL);
        if (!priv)
            return api_call_fail(call, 403, NULL, "only root can delete '%s' config", k);
        int r = api_check_priv(call, NULL, path, (const char *const[]){priv, NULL}, false);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- volumes -------------------------------------------------------------------------------- */

/* Storage section of id in cfg, enabled on this node, or an error message. */
static SectionConfigSection *
storage_on_node(SectionConfig *cfg, const char *id, const char *node, char **err) {
    SectionConfigSection *s = section_config_find(cfg, NULL, id);
    if (!s)
        (void) asprintf(err, "storage '%s' does not exist", id);
    else if (!storage_cfg_enabled_on(s, node))
        (void) asprintf(err, "storage '%s' is not available on node '%s'", id, node);
    return s && storage_cfg_enabled_on(s, node) ? s : NULL;
}

/*
 * "<storage>:<GiB>[,opts]" becomes a new volume "<volid>,opts,size=<n>G"; other values are
 * returned unchanged (copied). The new volid is recorded in a.
 */
static int allocate_drive(
    const char *node,
    uint32_t vmid,
    const char *key,
    const char *value,
    ApiGuestAllocations *a,
    char **ret,
    char **err
) {
    _cleanup_(qemu_drive_freep) QemuDrive *d = NULL;
    _cleanup_free_ char *msg = NULL;
    int r = qemu_drive_parse(key, value, &d, &msg);
    if (r < 0) {
        (void) asprintf(err, "%s: %s", key, msg ?: "invalid drive");
        return r;
    }
    if (!d->is_alloc)
        return (*ret = strdup(value)) ? 0 : -ENOMEM;
    if (d->cdrom) {
        (void) asprintf(err, "%s: a CD-ROM cannot be allocated", key);
        return -EINVAL;
    }
    _cleanup_(section_config_freep) SectionConfig *cfg = NULL;
    if ((r = storage_cfg_load(&cfg, err)) < 0)
        return r;
    SectionConfigSection *s = storage_on_node(cfg, d->alloc_storage, node, err);
    if (!s)
        return -ENOENT;
    uint64_t bytes = (uint64_t) llround(d->alloc_size_gib * GIB);
    if (bytes == 0) {
        (void) asprintf(err, "%s: size must be larger than 0", key);
        return -EINVAL;
    }
    _cleanup_free_ char *volid = NULL;
    if ((r = storage_volume_alloc(s, vmid, d->format, NULL, bytes, &volid, err)) < 0)
        return r;
    if ((r = api_guest_allocations_add(a, volid)) < 0)
        return r;
    char size[32];
    if (bytes % (uint64_t) GIB == 0)
        snprintf(size, sizeof size, "%lluG", (unsigned long long) (bytes / (uint64_t) GIB));
    else
        snprintf(size, sizeof size, "%lluM", (unsigned long long) (bytes >> 20));
    if (property_string_set(d->props, "file", volid) < 0 ||
        property_string_set(d->props, "size", size) < 0)
        return -ENOMEM;
    (void) property_string_unset(d->props, "format");
    printf("%s: allocated %s (%s)\n", key, volid, size);
    return property_string_print(d->props, ret);
}

/* The storage volume a drive value refers to (not cdrom, not "none", not a path), or NULL. */
static char *drive_volume(const char *key, const char *value) {
    _cleanup_(qemu_drive_freep) QemuDrive *d = NULL;
    if (qemu_drive_parse(key, value, &d, NULL) < 0 || d->cdrom || d->is_alloc || !d->file ||
        d->file[0] == '/' || !strchr(d->file, ':'))
        return NULL;
    return strdup(d->file);
}

/* ---- config update -------------------------------------------------------------------------- */

typedef struct Update {
    uint32_t vmid;
    const char *node;
    json_t *params; /* borrowed: keys to set plus delete/revert/digest/skiplock */
    bool create;    /* filling a reserved config: nothing is pending */
} Update;

/* Delete key now: a disk becomes unusedN (its data stays), unusedN frees its volume. */
static int delete_now(GuestConfig *c, const char *key, char **err) {
    GuestSection *m = guest_config_main(c);
    const char *value = guest_section_get(m, key);
    int r = 0;
    if (value && qemu_is_drive_key(key)) {
        _cleanup_free_ char *vol = drive_volume(key, value);
        char unused[24];
        if (vol && (r = api_guest_next_unused_key(m, QEMU_MAX_UNUSED, unused)) >= 0 &&
            (r = guest_section_set(m, unused, vol)) >= 0)
            printf("%s: volume '%s' is now %s\n", key, vol, unused);
    } else if (value && qemu_is_unused_key(key)) {
        (void) api_guest_free_volume(value);
    }
    if (r < 0) {
        (void) asprintf(err, "unable to delete '%s' - %s", key, strerror(-r));
        return r;
    }
    (void) guest_section_delete(m, key);
    return 0;
}

static int apply_deletes(GuestConfig *c, const char *list, bool running, char **err) {
    _cleanup_free_ char *copy = list ? strdup(list) : NULL;
    if (list && !copy)
        return -ENOMEM;
    GuestSection *m = guest_config_main(c);
    for (char *save = NULL, *k = copy ? strtok_r(copy, ",; ", &save) : NULL; k;
         k = strtok_r(NULL, ",; ", &save)) {
        if (!guest_config_key_valid(k) || is_call_param(k)) {
            (void) asprintf(err, "invalid configuration key '%s'", k);
            return -EINVAL;
        }
        GuestSection *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
        if (p)
            (void) guest_section_delete(p, k);
        int r;
        if (running && !is_fast_plug(k)) {
            if (guest_section_get(m, k) && (r = guest_config_pending_delete_add(c, k, false)) < 0)
                return r;
        } else if ((r = delete_now(c, k, err)) < 0)
            return r;
    }
    return 0;
}

/* The value to store for key: new disks allocated, MAC addresses generated, canonical text. */
static int normalize_value(
    const Update *u,
    const char *key,
    const char *text,
    ApiGuestAllocations *a,
    char **ret,
    char **err
) {
    if (qemu_is_drive_key(key))
        return allocate_drive(u->node, u->vmid, key, text, a, ret, err);
    if (qemu_is_net_key(key)) {
        _cleanup_(qemu_net_freep) QemuNet *n = NULL;
        _cleanup_free_ char *msg = NULL;
        int r = qemu_net_parse(key, text, &n, &msg);
        if (r < 0) {
            (void) asprintf(err, "%s: %s", key, msg ?: "invalid network device");
            return r;
        }
        if ((r = qemu_net_ensure_mac(n)) < 0)
            return r;
        return qemu_net_print(n, ret);
    }
    return (*ret = strdup(text)) ? 0 : -ENOMEM;
}

static int
apply_sets(const Update *u, GuestConfig *c, bool running, ApiGuestAllocations *a, char **err) {
    const char *key;
    json_t *v;
    json_object_foreach(u->params, key, v) {
        if (is_call_param(key))
            continue;
        _cleanup_free_ char *text = api_guest_param_text(v), *value = NULL;
        if (!text)
            return -ENOMEM;
        int r = normalize_value(u, key, text, a, &value, err);
        if (r < 0)
            return r;
        if ((r = api_guest_store_value(c, key, value, running && !is_fast_plug(key), err)) < 0)
            return r;
    }
    return 0;
}

/* The whole update under the config lock. Messages for the user in *err. */
static int update_locked(const Update *u, char **err) {
    _cleanup_close_ int lock = -EBADF;
    int r = guest_lock(GUEST_TYPE_QEMU, u->vmid, 0, &lock, err);
    if (r < 0)
        return r;
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    _cleanup_free_ char *raw = NULL;
    if ((r = guest_config_read(GUEST_TYPE_QEMU, u->node, u->vmid, &c, &raw, err)) < 0)
        return r;
    if ((r = api_guest_check_digest(u->params, raw, err)) < 0)
        return r;
    if (!u->create && !json_is_true(json_object_get(u->params, "skiplock")) &&
        (r = guest_config_check_lock(c, err)) < 0)
        return r;
    bool running = !u->create && qemu_vm_running(u->vmid);
    ApiGuestAllocations a = {0};
    api_guest_apply_reverts(c, json_string_value(json_object_get(u->params, "revert")));
    r = apply_deletes(c, json_string_value(json_object_get(u->params, "delete")), running, err);
    if (r >= 0)
        r = apply_sets(u, c, running, &a, err);
    if (r >= 0 && u->create)
        (void) guest_section_delete(guest_config_main(c), "lock");
    if (r >= 0)
        r = guest_config_write(GUEST_TYPE_QEMU, u->node, u->vmid, c, false, err);
    api_guest_allocations_done(&a, r < 0);
    return r;
}

static int update_worker(TaskWorker *w, void *userdata) {
    _cleanup_free_ char *err = NULL;
    int r = update_locked(userdata, &err);
    if (r < 0 && err)
        task_set_error(w, "%s", err);
    return r;
}

static int update_check(ApiCall *call, uint32_t vmid) {
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    _cleanup_free_ char *raw = NULL;
    int r = api_guest_load(call, GUEST_TYPE_QEMU, vmid, &c, &raw);
    if (r < 0)
        return r;
    const char *del = json_string_value(json_object_get(call->params, "delete"));
    if ((r = check_key_privileges(call, vmid, call->params, del)) < 0 ||
        (r = api_check_digest(call, raw, strlen(raw))) < 0)
        return r;
    return api_guest_check_lock(call, c);
}

/* PUT: synchronous, null. */
static int h_config_put(ApiCall *call) {
    uint32_t vmid = api_guest_vmid(call);
    int r = update_check(call, vmid);
    if (r < 0)
        return r;
    Update u = {.vmid = vmid, .node = api_env(call)->nodename, .params = call->params};
    _cleanup_free_ char *err = NULL;
    r = update_locked(&u, &err);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, r == -ESTALE ? 400 : 500, NULL, "%s", err ?: strerror(-r));
    return api_call_set_result(call, json_null());
}

/* POST: the same as a task (qmconfig). */
static int h_config_post(ApiCall *call) {
    uint32_t vmid = api_guest_vmid(call);
    int r = update_check(call, vmid);
    if (r < 0)
        return r;
    Update u = {.vmid = vmid, .node = api_env(call)->nodename, .params = call->params};
    char id[16];
    snprintf(id, sizeof id, "%u", vmid);
    return api_task_start(call, "qmconfig", id, update_worker, &u, NULL);
}

/* ---- read ----------------------------------------------------------------------------------- */

static int key_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int h_pending(ApiCall *call) {
    uint32_t vmid = api_guest_vmid(call);
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_QEMU, vmid, &c, NULL);
    if (r < 0)
        return r;
    const GuestSection *m = guest_config_main(c),
                       *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
    size_t n = m->n_entries + (p ? p->n_entries : 0) + 1, k = 0;
    _cleanup_free_ const char **keys = calloc(n, sizeof *keys);
    if (!keys)
        return -ENOMEM;
    const GuestSection *both[] = {m, p};
    for (size_t s = 0; s < 2; s++)
        for (size_t i = 0; both[s] && i < both[s]->n_entries; i++)
            if (!both[s]->entries[i].raw && !streq(both[s]->entries[i].key, "delete"))
                keys[k++] = both[s]->entries[i].key;
    qsort(keys, k, sizeof *keys, key_cmp);
    _cleanup_json_ json_t *list = json_array();
    if (!list)
        return -ENOMEM;
    for (size_t i = 0; i < k; i++) {
        if (i > 0 && streq(keys[i], keys[i - 1]))
            continue;
        json_t *o = json_pack("{s:s}", "key", keys[i]);
        const char *cur = guest_section_get(m, keys[i]),
                   *pend = p ? guest_section_get(p, keys[i]) : NULL;
        bool force = false;
        if (!o || (cur && json_util_set_string(o, "value", cur) < 0) ||
            (pend && json_util_set_string(o, "pending", pend) < 0) ||
            (guest_config_pending_delete_has(c, keys[i], &force) &&
             json_util_set_int(o, "delete", force ? 2 : 1) < 0) ||
            json_array_append_new(list, o) < 0)
            return -ENOMEM;
    }
    if (m->description) {
        json_t *o = json_pack("{s:s,s:s}", "key", "description", "value", m->description);
        if (!o || json_array_append_new(list, o) < 0)
            return -ENOMEM;
    }
    return api_call_set_result(call, TAKE_PTR(list));
}

static int h_list(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    const char *node = api_env(call)->nodename;
    _cleanup_(user_cfg_freep) UserCfg *ucfg = NULL;
    _cleanup_free_ uint32_t *ids = NULL;
    size_t n = 0;
    if ((r = api_load_user_cfg(call, &ucfg)) < 0 ||
        (r = guest_list_local(GUEST_TYPE_QEMU, node, &ids, &n)) < 0)
        return r;
    _cleanup_json_ json_t *list = json_array();
    if (!list)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char path[32];
        snprintf(path, sizeof path, "/vms/%u", ids[i]);
        if (!api_has_priv(call, ucfg, path, API_PRIVS("VM.Audit"), false))
            continue;
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        json_t *o = NULL;
        if (guest_config_read(GUEST_TYPE_QEMU, node, ids[i], &c, NULL, NULL) < 0 ||
            qemu_vm_status(ids[i], c, false, &o) < 0)
            continue;
        json_object_del(o, "ha");
        if (json_array_append_new(list, o) < 0)
            return -ENOMEM;
    }
    return api_call_set_result(call, TAKE_PTR(list));
}

static int h_vm_index(ApiCall *call) {
    uint32_t vmid = api_guest_vmid(call);
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_QEMU, vmid, &c, NULL);
    if (r < 0)
        return r;
    static const char *const subdirs[] = {"config", "pending", "status", "vncproxy", "migrate"};
    _cleanup_json_ json_t *list = json_array();
    for (size_t i = 0; list && i < ELEMENTSOF(subdirs); i++)
        if (json_array_append_new(list, json_pack("{s:s}", "subdir", subdirs[i])) < 0)
            return -ENOMEM;
    return list ? api_call_set_result(call, TAKE_PTR(list)) : -ENOMEM;
}

/* ---- create --------------------------------------------------------------------------------- */

static void random_uuid(char ret[static 37]) {
    unsigned char b[16] = {0};
    FILE *f = fopen("/dev/urandom", "re");
    if (f) {
        if (fread(b, 1, sizeof b, f) != sizeof b)
            memset(b, 0x5a, sizeof b);
        fclose(f);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(
        ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
        b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    );
}

/* upstream's default boot order: the boot disk, then CD-ROMs, then the first NIC */
static int default_boot(const json_t *params, char **ret) {
    static const char *const ifaces[] = {"scsi", "virtio", "sata", "ide"};
    static const unsigned max[] = {QEMU_MAX_SCSI, QEMU_MAX_VIRTIO, QEMU_MAX_SATA, QEMU_MAX_IDE};
    char disk[16] = "", cdroms[64] = "", net[16] = "";
    for (size_t i = 0; i < ELEMENTSOF(ifaces); i++)
        for (unsigned n = 0; n < max[i]; n++) {
            char key[16];
            snprintf(key, sizeof key, "%s%u", ifaces[i], n);
            const char *v = json_string_value(json_object_get(params, key));
            if (!v)
                continue;
            if (strstr(v, "media=cdrom")) {
                if (strlen(cdroms) + strlen(key) + 2 < sizeof cdroms)
                    snprintf(
                        cdroms + strlen(cdroms), sizeof cdroms - strlen(cdroms), "%s%s",
                        *cdroms ? ";" : "", key
                    );
            } else if (!*disk)
                snprintf(disk, sizeof disk, "%s", key);
        }
    for (unsigned n = 0; n < QEMU_MAX_NETS && !*net; n++) {
        char key[16];
        snprintf(key, sizeof key, "net%u", n);
        if (json_object_get(params, key))
            snprintf(net, sizeof net, "%s", key);
    }
    const char *parts[] = {disk, cdroms, net};
    char order[128] = "";
    for (size_t i = 0; i < ELEMENTSOF(parts); i++)
        if (*parts[i])
            snprintf(
                order + strlen(order), sizeof order - strlen(order), "%s%s", *order ? ";" : "",
                parts[i]
            );
    if (!*order)
        return (*ret = NULL), 0;
    return asprintf(ret, "order=%s", order) < 0 ? -ENOMEM : 0;
}

typedef struct Create {
    Update u;
    bool start;
} Create;

static int create_worker(TaskWorker *w, void *userdata) {
    Create *cr = userdata;
    _cleanup_free_ char *err = NULL;
    int r = update_locked(&cr->u, &err);
    if (r < 0) {
        /* nothing of the VM may stay: allocated volumes were freed, the reservation goes */
        (void) guest_config_remove(GUEST_TYPE_QEMU, cr->u.node, cr->u.vmid);
        task_set_error(w, "unable to create VM %u - %s", cr->u.vmid, err ?: strerror(-r));
        return r;
    }
    if (!cr->start)
        return 0;
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    _cleanup_close_ int lock = -EBADF;
    if ((r = guest_lock(GUEST_TYPE_QEMU, cr->u.vmid, 0, &lock, &err)) < 0 ||
        (r = guest_config_read(GUEST_TYPE_QEMU, cr->u.node, cr->u.vmid, &c, NULL, &err)) < 0 ||
        (r = qemu_vm_start(c, cr->u.vmid, NULL, &err)) < 0)
        task_warn(w, "start failed: %s", err ?: strerror(-r));
    return 0;
}

/* Defaults upstream writes into a new config when the call did not set them. */
static int add_defaults(json_t *params) {
    char uuid[37], buf[128], version[32];
    int r = 0;
    if (!json_object_get(params, "smbios1")) {
        random_uuid(uuid);
        snprintf(buf, sizeof buf, "uuid=%s", uuid);
        r = json_util_set_string(params, "smbios1", buf);
    }
    if (r >= 0 && !json_object_get(params, "vmgenid")) {
        random_uuid(uuid);
        r = json_util_set_string(params, "vmgenid", uuid);
    } else if (r >= 0 && streq(json_string_value(json_object_get(params, "vmgenid")) ?: "", "1")) {
        random_uuid(uuid);
        r = json_util_set_string(params, "vmgenid", uuid);
    }
    if (r >= 0 && !json_object_get(params, "meta")) {
        if (qemu_binary_version(NULL, version) < 0)
            snprintf(version, sizeof version, "unknown");
        snprintf(buf, sizeof buf, "creation-qemu=%s,ctime=%lld", version, (long long) time(NULL));
        r = json_util_set_string(params, "meta", buf);
    }
    if (r >= 0 && !json_object_get(params, "boot")) {
        _cleanup_free_ char *boot = NULL;
        if ((r = default_boot(params, &boot)) >= 0 && boot)
            r = json_util_set_string(params, "boot", boot);
    }
    return r;
}

static int check_alloc_privileges(ApiCall *call, const json_t *params) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) params, key, v) {
        if (!qemu_is_drive_key(key) || !json_is_string(v))
            continue;
        _cleanup_(qemu_drive_freep) QemuDrive *d = NULL;
        if (qemu_drive_parse(key, json_string_value(v), &d, NULL) < 0 || !d->is_alloc)
            continue;
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "/storage/%s", d->alloc_storage) < 0)
            return -ENOMEM;
        int r = api_check_priv(call, NULL, path, API_PRIVS("Datastore.AllocateSpace"), false);
        if (r < 0)
            return r;
    }
    return 0;
}

static int h_create(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    uint32_t vmid = api_guest_vmid(call);
    if (json_object_get(call->params, "archive"))
        return api_call_fail(call, 501, NULL, "restoring a backup (archive) is not implemented");
    if ((r = check_key_privileges(call, vmid, call->params, NULL)) < 0 ||
        (r = check_alloc_privileges(call, call->params)) < 0)
        return r;
    _cleanup_json_ json_t *params = json_deep_copy(call->params);
    if (!params || add_defaults(params) < 0)
        return -ENOMEM;
    if ((r = api_guest_reserve(call, GUEST_TYPE_QEMU, vmid)) < 0)
        return r;
    bool start = false;
    (void) api_call_param_bool(call, "start", &start);
    Create cr = {
        .u = {.vmid = vmid, .node = api_env(call)->nodename, .params = params, .create = true},
        .start = start,
    };
    char id[16];
    snprintf(id, sizeof id, "%u", vmid);
    r = api_task_start(call, "qmcreate", id, create_worker, &cr, NULL);
    if (r < 0)
        (void) guest_config_remove(GUEST_TYPE_QEMU, cr.u.node, vmid);
    return r;
}

/* ---- destroy -------------------------------------------------------------------------------- */

typedef struct Destroy {
    uint32_t vmid;
    const char *node;
    bool unreferenced;
} Destroy;

static int destroy_worker(TaskWorker *w, void *userdata) {
    const Destroy *d = userdata;
    _cleanup_free_ char *err = NULL;
    _cleanup_close_ int lock = -EBADF;
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = guest_lock(GUEST_TYPE_QEMU, d->vmid, 0, &lock, &err);
    if (r >= 0)
        r = guest_config_read(GUEST_TYPE_QEMU, d->node, d->vmid, &c, NULL, &err);
    if (r >= 0 && qemu_vm_running(d->vmid))
        r = -EBUSY, (void) asprintf(&err, "VM %u is running - destroy failed", d->vmid);
    if (r < 0) {
        task_set_error(w, "%s", err ?: strerror(-r));
        return r;
    }
    const GuestSection *m = guest_config_main(c);
    for (size_t i = 0; i < m->n_entries; i++) {
        const GuestEntry *e = &m->entries[i];
        _cleanup_free_ char *vol = NULL;
        if (qemu_is_unused_key(e->key))
            vol = strdup(e->value);
        else if (qemu_is_drive_key(e->key))
            vol = drive_volume(e->key, e->value);
        if (vol && api_guest_free_volume(vol) < 0)
            task_warn(w, "could not remove volume '%s'", vol);
    }
    if (d->unreferenced)
        api_guest_free_unreferenced(d->node, d->vmid);
    if ((r = guest_config_remove(GUEST_TYPE_QEMU, d->node, d->vmid)) < 0) {
        task_set_error(
            w, "unable to remove the configuration of VM %u - %s", d->vmid, strerror(-r)
        );
        return r;
    }
    qemu_vm_cleanup_files(d->vmid);
    printf("destroyed VM %u\n", d->vmid);
    return 0;
}

static int h_destroy(ApiCall *call) {
    uint32_t vmid = api_guest_vmid(call);
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_QEMU, vmid, &c, NULL);
    if (r < 0 || (r = api_guest_check_lock(call, c)) < 0)
        return r;
    if (guest_config_bool(guest_section_get(guest_config_main(c), "protection"), false))
        return api_call_fail(call, 500, NULL, "can't remove VM %u - protection mode enabled", vmid);
    if (qemu_vm_running(vmid))
        return api_call_fail(call, 500, NULL, "VM %u is running - destroy failed", vmid);
    Destroy d = {.vmid = vmid, .node = api_env(call)->nodename};
    (void) api_call_param_bool(call, "destroy-unreferenced-disks", &d.unreferenced);
    char id[16];
    snprintf(id, sizeof id, "%u", vmid);
    return api_task_start(call, "qmdestroy", id, destroy_worker, &d, NULL);
}

static int h_config_get(ApiCall *call) {
    return api_guest_config_get(call, GUEST_TYPE_QEMU, qemu_config_property);
}

/* ---- tables --------------------------------------------------------------------------------- */

static const ApiSchema vm_params =
    API_OBJECT(.properties = API_PROPERTIES(API_NODE_PARAM, API_VMID_PARAM));
static const ApiSchema list_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_BOOL(
                "full", .optional = true, .description = "Determine the full status of active VMs."
            )
        )
);
static const ApiSchema config_get_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_VMID_PARAM,
            API_PARAM_BOOL(
                "current",
                .optional = true,
                API_DEFAULT_INT(0),
                .description = "Get current values (instead of pending values)."
            ),
            API_PARAM_STRING(
                "snapshot",
                .optional = true,
                .format = "pve-configid",
                .max_length = 40,
                .description = "Fetch config values from given snapshot."
            )
        )
);
static const ApiSchema destroy_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_VMID_PARAM,
            API_SKIPLOCK_PARAM,
            API_PARAM_BOOL(
                "destroy-unreferenced-disks",
                .optional = true,
                API_DEFAULT_INT(0),
                .description = "If set, destroy additionally all disks not referenced in the "
                               "config but with a matching VMID from all enabled storages."
            ),
            API_PARAM_BOOL(
                "purge",
                .optional = true,
                .description =
                    "Remove VMID from configurations, like backup & replication jobs and HA."
            )
        )
);
static ApiSchema create_params = API_OBJECT();
static ApiSchema update_params = API_OBJECT();

static const ApiSchema upid_returns = API_SCALAR(API_TYPE_STRING, .format = "pve-upid");
static const ApiSchema list_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_VMID_PARAM,
        API_PARAM_STRING("status", .enum_values = API_ENUM("stopped", "running")),
        API_PARAM_STRING("name", .optional = true),
        API_PARAM_INTEGER("pid", .optional = true),
        API_PARAM_INTEGER("uptime", .optional = true),
        API_PARAM_NUMBER("cpu", .optional = true),
        API_PARAM_NUMBER("cpus", .optional = true),
        API_PARAM_INTEGER("mem", .optional = true),
        API_PARAM_INTEGER("maxmem", .optional = true),
        API_PARAM_INTEGER("maxdisk", .optional = true)
    ),
    .additional_properties = true
));
static const ApiSchema index_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = API_PROPERTIES(API_PARAM_STRING("subdir"))));
static const ApiSchema config_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("digest", .description = "SHA1 digest of configuration file.")
        ),
        .additional_properties = true
);
static const ApiSchema pending_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_STRING("key"),
        API_PARAM_STRING("value", .optional = true),
        API_PARAM_STRING("pending", .optional = true),
        API_PARAM_INTEGER("delete", .optional = true, API_RANGE(0, 2))
    )
));

#define VM_PERM(...) API_PERM_CHECK("/vms/{vmid}", API_PRIVS(__VA_ARGS__))
#define VM_CONFIG_PERM                                                                          \
    API_PERM_CHECK_ANY(                                                                         \
        "/vms/{vmid}",                                                                          \
        API_PRIVS(                                                                              \
            "VM.Config.Disk", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Memory",           \
            "VM.Config.Network", "VM.Config.HWType", "VM.Config.Options", "VM.Config.Cloudinit" \
        )                                                                                       \
    )

static const ApiMethod methods[] = {
    {.path = "/nodes/{node}/qemu",
     .method = API_METHOD_GET,
     .name = "vmlist",
     .description = "Virtual machine index (per node).",
     .parameters = &list_params,
     .returns = &list_returns,
     .permissions = API_PERM_ALL,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_list},
    {.path = "/nodes/{node}/qemu",
     .method = API_METHOD_POST,
     .name = "create_vm",
     .description = "Create a virtual machine.",
     .parameters = &create_params,
     .returns = &upid_returns,
     .permissions = VM_PERM("VM.Allocate"),
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_create},
    {.path = "/nodes/{node}/qemu/{vmid}",
     .method = API_METHOD_GET,
     .name = "vmdiridx",
     .description = "Directory index",
     .parameters = &vm_params,
     .returns = &index_returns,
     .permissions = API_PERM_ALL,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_vm_index},
    {.path = "/nodes/{node}/qemu/{vmid}",
     .method = API_METHOD_DELETE,
     .name = "destroy_vm",
     .description = "Destroy the VM and all used/owned volumes.",
     .parameters = &destroy_params,
     .returns = &upid_returns,
     .permissions = VM_PERM("VM.Allocate"),
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_destroy},
    {.path = "/nodes/{node}/qemu/{vmid}/config",
     .method = API_METHOD_GET,
     .name = "vm_config",
     .description =
         "Get the virtual machine configuration with pending configuration changes applied.",
     .parameters = &config_get_params,
     .returns = &config_returns,
     .permissions = VM_PERM("VM.Audit"),
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_config_get},
    {.path = "/nodes/{node}/qemu/{vmid}/config",
     .method = API_METHOD_POST,
     .name = "update_vm_async",
     .description = "Set virtual machine options (asynchronous API).",
     .parameters = &update_params,
     .returns = &upid_returns,
     .permissions = VM_CONFIG_PERM,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_config_post},
    {.path = "/nodes/{node}/qemu/{vmid}/config",
     .method = API_METHOD_PUT,
     .name = "update_vm",
     .description = "Set virtual machine options (synchronous API).",
     .parameters = &update_params,
     .permissions = VM_CONFIG_PERM,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_config_put},
    {.path = "/nodes/{node}/qemu/{vmid}/pending",
     .method = API_METHOD_GET,
     .name = "vm_pending",
     .description = "Get the virtual machine configuration with both current and pending values.",
     .parameters = &vm_params,
     .returns = &pending_returns,
     .permissions = VM_PERM("VM.Audit"),
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_pending},
};

/* POST /qemu: node, vmid, start, pool + every config key; POST/PUT config: node, vmid,
 * delete, revert, digest, skiplock, force + every config key. Built once. */
static int build_schemas(void) {
    static ApiSchema *create_props, *update_props;
    if (create_props)
        return 0;
    size_t n = 0;
    while (qemu_config_properties[n].name)
        n++;
    create_props = calloc(n + 8, sizeof(ApiSchema));
    update_props = calloc(n + 10, sizeof(ApiSchema));
    if (!create_props || !update_props)
        return -ENOMEM;
    static const ApiSchema common[] = {API_NODE_PARAM, API_VMID_PARAM};
    static const ApiSchema create_only[] = {
        API_PARAM_BOOL(
            "start", .optional = true, API_DEFAULT_INT(0),
            .description = "Start VM after it was created successfully."
        ),
        API_PARAM_STRING(
            "pool", .optional = true, .format = "pve-poolid",
            .description = "Add the VM to the specified pool."
        ),
        API_PARAM_STRING(
            "storage", .optional = true, .format = "pve-storage-id",
            .description = "Default storage."
        ),
        API_PARAM_STRING(
            "archive", .optional = true, .max_length = 255,
            .description = "The backup archive (restore is not implemented)."
        ),
    };
    static const ApiSchema update_only[] = {
        API_PARAM_STRING(
            "delete", .optional = true, .format = "pve-configid-list",
            .description = "A list of settings you want to delete."
        ),
        API_PARAM_STRING(
            "revert", .optional = true, .format = "pve-configid-list",
            .description = "Revert a pending change."
        ),
        API_PARAM_STRING(
            "digest", .optional = true, .max_length = 40,
            .description =
                "Prevent changes if current configuration file has different SHA1 digest."
        ),
        API_SKIPLOCK_PARAM,
        API_PARAM_BOOL("force", .optional = true, .description = "Force physical removal."),
        API_PARAM_INTEGER(
            "background_delay", .optional = true, API_RANGE(1, 30),
            .description = "Time to wait for the task to finish."
        ),
    };
    size_t c = 0, u = 0;
    for (size_t i = 0; i < ELEMENTSOF(common); i++)
        create_props[c++] = update_props[u++] = common[i];
    for (size_t i = 0; i < ELEMENTSOF(create_only); i++)
        create_props[c++] = create_only[i];
    for (size_t i = 0; i < ELEMENTSOF(update_only); i++)
        update_props[u++] = update_only[i];
    for (size_t i = 0; i < n; i++)
        create_props[c++] = update_props[u++] = qemu_config_properties[i];
    create_params.properties = create_props;
    update_params.properties = update_props;
    return 0;
}

int api_qemu_register(ApiRouter *r) {
    int k = build_schemas();
    if (k < 0 || (k = api_router_add(r, methods)) < 0)
        return k;
    return api_qemu_status_register(r);
}
