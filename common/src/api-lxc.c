/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-lxc: /nodes/{node}/lxc — the container list, create from a template (task vzcreate),
 * the CT index, config GET/PUT (digest check, delete/revert lists, pending changes for
 * running CTs that the next start applies), status index and current status, the power
 * actions start/stop/shutdown/reboot (tasks vzstart/vzstop/vzshutdown/vzreboot) and destroy
 * (task vzdestroy). Config changes happen under the CT's config lock (guest-store); the
 * runtime work is lxc-runtime.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-guest.h"
#include "api-nodes.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/cfs-file.h"
#include "pve/guest-store.h"
#include "pve/json-util.h"
#include "pve/lxc-config.h"
#include "pve/lxc-runtime.h"
#include "pve/section-config.h"
#include "pve/storage-cfg.h"
#include "pve/storage-volume.h"
#include "pve/string-util.h"
#include "pve/task.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

#define LXC_VMID_PARAM                                           \
    API_PARAM_INTEGER(                                           \
        "vmid", .format = "pve-vmid", API_RANGE(100, 999999999), \
        .description = "The (unique) ID of the VM."              \
    )
#define LXC_SKIPLOCK_PARAM                                                       \
    API_PARAM_BOOL(                                                              \
        "skiplock", .optional = true,                                            \
        .description = "Ignore locks - only root is allowed to use this option." \
    )

static void vmid_id(uint32_t vmid, char ret[static 16]) {
    snprintf(ret, 16, "%u", vmid);
}

/* ---- what a key is -------------------------------------------------------------------------- */

/* Parameters of the create/update calls that are not config keys. */
static bool is_call_param(const char *key) {
    static const char *const params[] = {
        "node",
        "vmid",
        "digest",
        "delete",
        "revert",
        "skiplock",
        "force",
        "start",
        "pool",
        "storage",
        "ostemplate",
        "password",
        "ssh-public-keys",
        "restore",
        "unique",
        "bwlimit",
        "ignore-unpack-errors",
        "ha-managed",
        NULL,
    };
    for (size_t i = 0; params[i]; i++)
        if (streq(params[i], key))
            return true;
    return false;
}

/* Options that change at once even for a running CT (the rest waits in [pve:pending]). */
static bool is_fast_plug(const char *key) {
    static const char *const keys[] = {
        "description", "onboot",     "startup", "protection", "tags",
        "lock",        "hookscript", "cmode",   NULL,
    };
    for (size_t i = 0; keys[i]; i++)
        if (streq(keys[i], key))
            return true;
    return false;
}

/* The privilege a change of key needs on /vms/<vmid> (upstream's
 * check_ct_modify_config_perm); NULL = root@pam only. */
static const char *key_privilege(const char *key) {
    static const struct {
        const char *key, *priv;
    } map[] = {
        {"memory", "VM.Config.Memory"}, {"swap", "VM.Config.Memory"},  {"cores", "VM.Config.CPU"},
        {"cpulimit", "VM.Config.CPU"},  {"cpuunits", "VM.Config.CPU"}, {"rootfs", "VM.Config.Disk"},
    };
    static const char *const root_only[] = {"lock", "hookscript", "features", NULL};
    for (size_t i = 0; root_only[i]; i++)
        if (streq(root_only[i], key))
            return NULL;
    if (lxc_is_dev_key(key))
        return NULL;
    if (lxc_is_net_key(key))
        return "VM.Config.Network";
    if (lxc_is_mp_key(key) || lxc_is_unused_key(key))
        return "VM.Config.Disk";
    for (size_t i = 0; i < ELEMENTSOF(map); i++)
        if (streq(map[i].key, key))
            return map[i].priv;
    return "VM.Config.Options";
}

static int check_one_key(ApiCall *call, const char *path, const char *key, const char *verb) {
    const char *priv = key_privilege(key);
    if (!priv)
        return api_call_fail(call, 403, NULL, "only root can %s '%s' config", verb, key);
    return api_check_priv(call, NULL, path, (const char *const[]){priv, NULL}, false);
}

static bool is_bind_mount(const char *key, const json_t *v) {
    _cleanup_(lxc_mount_freep) LxcMount *m = NULL;
    return json_is_string(v) && lxc_mount_parse(key, json_string_value(v), &m, NULL) >= 0 &&
           m->is_bind;
}

/* Permission for changing (or deleting) every key of the call. */
static int check_key_privileges(ApiCall *call, uint32_t vmid, const char *deletes) {
    if (streq(api_user(call), "root@pam"))
        return 0;
    char path[32];
    snprintf(path, sizeof path, "/vms/%u", vmid);
    const char *key;
    json_t *v;
    json_object_foreach(call->params, key, v) {
        if (is_call_param(key))
            continue;
        if ((streq(key, "rootfs") || lxc_is_mp_key(key)) && is_bind_mount(key, v))
            return api_call_fail(call, 403, NULL, "Only root can pass arbitrary filesystem paths.");
        int r = check_one_key(call, path, key, "set");
        if (r < 0)
            return r;
    }
    _cleanup_free_ char *list = deletes ? strdup(deletes) : NULL;
    for (char *save = NULL, *k = list ? strtok_r(list, ",; ", &save) : NULL; k;
         k = strtok_r(NULL, ",; ", &save)) {
        int r = check_one_key(call, path, k, "delete");
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- volumes -------------------------------------------------------------------------------- */

/* The storage section of id when it exists, is enabled here and holds container dirs. */
static int rootdir_storage(
    const SectionConfig *cfg,
    const char *id,
    const char *node,
    const SectionConfigSection **ret,
    char **err
) {
    int r = storage_find(cfg, id, ret, err);
    if (r < 0 || (r = storage_check_enabled(*ret, node, err)) < 0)
        return r;
    if (!storage_cfg_has_content(*ret, "rootdir")) {
        free(*err);
        (void) asprintf(err, "storage '%s' does not support container directories", id);
        return -EINVAL;
    }
    return 0;
}

/* Volumes allocated by one call, freed again if the call fails. */

/* "<storage>:<GiB>" in rootfs/mpN becomes a new subvol directory volume. */
static int
allocate_mount(const char *node, uint32_t vmid, LxcMount *m, ApiGuestAllocations *a, char **err) {
    _cleanup_(section_config_freep) SectionConfig *cfg = NULL;
    const SectionConfigSection *s;
    int r = storage_cfg_load(&cfg, err);
    if (r < 0 || (r = rootdir_storage(cfg, m->alloc_storage, node, &s, err)) < 0)
        return r;
    uint64_t bytes = (uint64_t) llround(m->alloc_size_gib * GIB);
    _cleanup_free_ char *volid = NULL;
    if ((r = storage_volume_alloc(s, vmid, "subvol", NULL, bytes, &volid, err)) < 0)
        return r;
    if ((r = api_guest_allocations_add(a, volid)) < 0)
        return r;
    printf("%s: allocated %s\n", m->key, volid);
    return lxc_mount_set_volume(m, volid, bytes);
}

/* The storage volume an mpN/rootfs value refers to (not a bind mount), or NULL. */
static char *mount_volume(const char *key, const char *value) {
    _cleanup_(lxc_mount_freep) LxcMount *m = NULL;
    if (lxc_mount_parse(key, value, &m, NULL) < 0 || m->is_bind || m->is_alloc)
        return NULL;
    return strdup(m->volume);
}

/* ---- config update -------------------------------------------------------------------------- */

typedef struct Update Update;
struct Update {
    uint32_t vmid;
    const char *node;
    json_t *params; /* borrowed: keys to set plus delete/revert/digest/skiplock */
    bool create;    /* filling a reserved config: nothing is pending */
    /* create: fill the root file system once the volumes exist, before the config is written */
    int (*prepare)(const Update *u, GuestConfig *c, char **err);
    void *userdata;
};

/*
 * The volume of mount point key (main section) is about to be replaced by new_value (NULL:
 * deleted): keep it as the next unusedN, as upstream does, so its data is not lost.
 */
static int keep_replaced_volume(GuestConfig *c, const char *key, const char *new_value) {
    GuestSection *m = guest_config_main(c);
    const char *value = guest_section_get(m, key);
    if (!value || (!lxc_is_mp_key(key) && !streq(key, "rootfs")))
        return 0;
    _cleanup_free_ char *vol = mount_volume(key, value),
                        *new_vol = new_value ? mount_volume(key, new_value) : NULL;
    if (!vol || (new_vol && streq(vol, new_vol)))
        return 0;
    char unused[24];
    int r = api_guest_next_unused_key(m, LXC_MAX_UNUSED, unused);
    if (r < 0 || (r = guest_section_set(m, unused, vol)) < 0)
        return r;
    printf("%s: volume '%s' is now %s\n", key, vol, unused);
    return 0;
}

/* Delete key now: an mpN volume becomes unusedN, an unusedN volume is freed. */
static int delete_now(GuestConfig *c, const char *key, char **err) {
    GuestSection *m = guest_config_main(c);
    const char *value = guest_section_get(m, key);
    int r = keep_replaced_volume(c, key, NULL);
    if (r < 0) {
        (void) asprintf(err, "unable to delete '%s' - %s", key, strerror(-r));
        return r;
    }
    if (value && lxc_is_unused_key(key))
        (void) api_guest_free_volume(value);
    (void) guest_section_delete(m, key);
    return 0;
}

static int apply_deletes(GuestConfig *c, const char *list, bool running, char **err) {
    _cleanup_free_ char *copy = list ? strdup(list) : NULL;
    if (list && !copy)
        return -ENOMEM;
    for (char *save = NULL, *k = copy ? strtok_r(copy, ",; ", &save) : NULL; k;
         k = strtok_r(NULL, ",; ", &save)) {
        if (!lxc_config_property(k) || is_call_param(k)) {
            (void) asprintf(err, "invalid configuration key '%s'", k);
            return -EINVAL;
        }
        if (streq(k, "rootfs") || streq(k, "unprivileged")) {
            (void) asprintf(err, "unable to delete required option '%s'", k);
            return -EINVAL;
        }
        GuestSection *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
        if (p)
            (void) guest_section_delete(p, k);
        int r;
        if (running && !is_fast_plug(k)) {
            if (guest_section_get(guest_config_main(c), k) &&
                (r = guest_config_pending_delete_add(c, k, false)) < 0)
                return r;
        } else if ((r = delete_now(c, k, err)) < 0)
            return r;
    }
    return 0;
}

/* The value to store for key: new volumes allocated, MAC addresses generated, canonical text. */
static int normalize_value(
    const Update *u,
    const char *key,
    const char *text,
    ApiGuestAllocations *a,
    char **ret,
    char **err
) {
    int r;
    if (lxc_is_net_key(key)) {
        _cleanup_(lxc_net_freep) LxcNet *n = NULL;
        if ((r = lxc_net_parse(key, text, &n, err)) < 0 || (r = lxc_net_fill_defaults(n)) < 0)
            return r;
        return lxc_net_print(n, ret);
    }
    if (streq(key, "rootfs") || lxc_is_mp_key(key)) {
        _cleanup_(lxc_mount_freep) LxcMount *m = NULL;
        if ((r = lxc_mount_parse(key, text, &m, err)) < 0)
            return r;
        if (m->is_alloc && (r = allocate_mount(u->node, u->vmid, m, a, err)) < 0)
            return r;
        return lxc_mount_print(m, ret);
    }
    if (streq(key, "unprivileged") && !u->create) {
        (void) asprintf(err, "unable to modify read-only option: 'unprivileged'");
        return -EINVAL;
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
        bool pending = running && !is_fast_plug(key);
        if (!pending && (r = keep_replaced_volume(c, key, value)) < 0)
            return r;
        if ((r = api_guest_store_value(c, key, value, pending, err)) < 0)
            return r;
    }
    return 0;
}

/* The whole update under the config lock. Messages for the user in *err. */
static int update_locked(const Update *u, char **err) {
    _cleanup_close_ int lock = -EBADF;
    int r = guest_lock(GUEST_TYPE_LXC, u->vmid, 0, &lock, err);
    if (r < 0)
        return r;
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    _cleanup_free_ char *raw = NULL;
    if ((r = guest_config_read(GUEST_TYPE_LXC, u->node, u->vmid, &c, &raw, err)) < 0 ||
        (r = api_guest_check_digest(u->params, raw, err)) < 0)
        return r;
    if (!u->create && !json_is_true(json_object_get(u->params, "skiplock")) &&
        !(json_is_integer(json_object_get(u->params, "skiplock")) &&
          json_integer_value(json_object_get(u->params, "skiplock"))) &&
        (r = guest_config_check_lock(c, err)) < 0)
        return r;
    bool running = !u->create && lxc_ct_running(u->vmid, NULL);
    ApiGuestAllocations a = {0};
    api_guest_apply_reverts(c, json_string_value(json_object_get(u->params, "revert")));
    r = apply_deletes(c, json_string_value(json_object_get(u->params, "delete")), running, err);
    if (r >= 0)
        r = apply_sets(u, c, running, &a, err);
    if (r >= 0 && u->prepare)
        r = u->prepare(u, c, err);
    if (r >= 0 && u->create)
        (void) guest_section_delete(guest_config_main(c), "lock");
    if (r >= 0)
        r = guest_config_write(GUEST_TYPE_LXC, u->node, u->vmid, c, false, err);
    api_guest_allocations_done(&a, r < 0);
    return r;
}

static int h_config_put(ApiCall *call) {
    uint32_t vmid = api_guest_vmid(call);
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    _cleanup_free_ char *raw = NULL;
    int r = api_guest_load(call, GUEST_TYPE_LXC, vmid, &c, &raw);
    if (r < 0)
        return r;
    const char *del = json_string_value(json_object_get(call->params, "delete"));
    if ((r = check_key_privileges(call, vmid, del)) < 0 ||
        (r = api_check_digest(call, raw, strlen(raw))) < 0 ||
        (r = api_guest_check_lock(call, c)) < 0)
        return r;
    Update u = {.vmid = vmid, .node = api_env(call)->nodename, .params = call->params};
    _cleanup_free_ char *err = NULL;
    r = update_locked(&u, &err);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(
            call, r == -ESTALE || r == -EINVAL ? 400 : 500, NULL, "%s", err ?: strerror(-r)
        );
    return api_call_set_result(call, json_null());
}

/* ---- read ----------------------------------------------------------------------------------- */

static int h_list(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    const char *node = api_env(call)->nodename;
    _cleanup_(user_cfg_freep) UserCfg *ucfg = NULL;
    _cleanup_free_ uint32_t *ids = NULL;
    size_t n = 0;
    if ((r = api_load_user_cfg(call, &ucfg)) < 0 ||
        (r = guest_list_local(GUEST_TYPE_LXC, node, &ids, &n)) < 0)
        return r;
    _cleanup_free_ json_t **items = calloc(n + 1, sizeof *items);
    size_t k = 0;
    if (!items)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char path[32];
        snprintf(path, sizeof path, "/vms/%u", ids[i]);
        if (!api_has_priv(call, ucfg, path, API_PRIVS("VM.Audit"), false))
            continue;
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        if (guest_config_read(GUEST_TYPE_LXC, node, ids[i], &c, NULL, NULL) < 0 ||
            lxc_ct_status(ids[i], c, &items[k]) < 0)
            continue;
        json_object_del(items[k++], "ha");
    }
    _cleanup_json_ json_t *list = json_array();
    for (size_t i = 0; i < k; i++)
        if (!list || json_array_append_new(list, TAKE_PTR(items[i])) < 0) {
            for (size_t j = i; j < k; j++)
                json_decref(items[j]);
            return -ENOMEM;
        }
    return list ? api_call_set_result(call, TAKE_PTR(list)) : -ENOMEM;
}

static int subdir_index(ApiCall *call, const char *const *subdirs, size_t n) {
    _cleanup_json_ json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        if (json_array_append_new(list, json_pack("{s:s}", "subdir", subdirs[i])) < 0)
            return -ENOMEM;
    return list ? api_call_set_result(call, TAKE_PTR(list)) : -ENOMEM;
}

static int h_ct_index(ApiCall *call) {
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_LXC, api_guest_vmid(call), &c, NULL);
    if (r < 0)
        return r;
    static const char *const subdirs[] = {"config", "status"};
    return subdir_index(call, subdirs, ELEMENTSOF(subdirs));
}

static int h_status_index(ApiCall *call) {
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_LXC, api_guest_vmid(call), &c, NULL);
    if (r < 0)
        return r;
    static const char *const subdirs[] = {"current", "start", "stop", "shutdown", "reboot"};
    return subdir_index(call, subdirs, ELEMENTSOF(subdirs));
}

static int h_status_current(ApiCall *call) {
    uint32_t vmid = api_guest_vmid(call);
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_LXC, vmid, &c, NULL);
    if (r < 0)
        return r;
    json_t *o = NULL;
    if ((r = lxc_ct_status(vmid, c, &o)) < 0)
        return r;
    return api_call_set_result(call, o);
}

/* ---- create --------------------------------------------------------------------------------- */

typedef struct Create {
    Update u;
    char *template_path;
    bool start, unprivileged;
} Create;

/* The root file system of the new CT: extract the template, detect the distribution, set the
 * hostname, shift ids for unprivileged CTs. Runs after the rootfs volume was allocated. */
static int fill_rootfs(const Update *u, GuestConfig *c, char **err) {
    const Create *cr = u->userdata;
    GuestSection *m = guest_config_main(c);
    _cleanup_(lxc_mount_freep) LxcMount *root = NULL;
    _cleanup_free_ char *path = NULL;
    int r = lxc_mount_parse("rootfs", guest_section_get(m, "rootfs"), &root, err);
    if (r < 0 || (r = lxc_volume_path(root->volume, &path, err)) < 0 ||
        (r = lxc_template_extract(cr->template_path, path, err)) < 0)
        return r;
    const char *ostype = guest_section_get(m, "ostype");
    if (!ostype) {
        if (!(ostype = lxc_rootfs_detect_ostype(path))) {
            (void) asprintf(err, "unable to detect OS distribution");
            return -EINVAL;
        }
        printf("detected OS type '%s'\n", ostype);
        if ((r = guest_section_set(m, "ostype", ostype)) < 0)
            return r;
    }
    char hostname[32];
    snprintf(hostname, sizeof hostname, "CT%u", u->vmid);
    if (!guest_section_get(m, "hostname") && (r = guest_section_set(m, "hostname", hostname)) < 0)
        return r;
    if (!streq(ostype, "unmanaged") &&
        (r = lxc_rootfs_set_hostname(path, guest_section_get(m, "hostname"))) < 0)
        printf("WARN: unable to set the hostname in /etc/hostname - %s\n", strerror(-r));
    const char *password = json_string_value(json_object_get(u->params, "password"));
    const char *keys = json_string_value(json_object_get(u->params, "ssh-public-keys"));
    bool managed = !streq(ostype, "unmanaged");
    if (managed && password && (r = lxc_rootfs_set_root_password(path, password, err)) < 0)
        return r;
    if (managed && keys && (r = lxc_rootfs_add_ssh_keys(path, keys, err)) < 0)
        return r;
    if (cr->unprivileged) {
        printf("shifting ids by %u for an unprivileged container\n", LXC_UNPRIVILEGED_ID_SHIFT);
        if ((r = lxc_rootfs_shift_ids(path, LXC_UNPRIVILEGED_ID_SHIFT, err)) < 0)
            return r;
    }
    static const char *const defaults[][2] = {
        {"arch", "amd64"}, {"memory", "512"}, {"swap", "512"}};
    for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
        if (!guest_section_get(m, defaults[i][0]) &&
            (r = guest_section_set(m, defaults[i][0], defaults[i][1])) < 0)
            return r;
    return 0;
}

static int start_locked(uint32_t vmid, const char *node, bool skiplock, bool debug, char **err);

static int create_worker(TaskWorker *w, void *userdata) {
    Create *cr = userdata;
    _cleanup_free_ char *err = NULL;
    if (json_object_get(cr->u.params, "pool"))
        task_warn(w, "adding the CT to a pool is not implemented");
    int r = update_locked(&cr->u, &err);
    if (r < 0) {
        /* nothing of the CT may stay: allocated volumes were freed, the reservation goes */
        (void) guest_config_remove(GUEST_TYPE_LXC, cr->u.node, cr->u.vmid);
        task_set_error(w, "unable to create CT %u - %s", cr->u.vmid, err ?: strerror(-r));
        return r;
    }
    printf("created CT %u\n", cr->u.vmid);
    if (cr->start && (r = start_locked(cr->u.vmid, cr->u.node, false, false, &err)) < 0) {
        task_set_error(w, "%s", err ?: strerror(-r));
        return r;
    }
    return 0;
}

/* Parse netN and mount points up front: semantic errors are a 400 naming the parameter. */
static int check_values(ApiCall *call) {
    _cleanup_json_ json_t *errors = json_object();
    const char *key;
    json_t *v;
    if (!errors)
        return -ENOMEM;
    json_object_foreach(call->params, key, v) {
        const char *text = json_string_value(v);
        _cleanup_free_ char *err = NULL;
        int r = 0;
        if (text && lxc_is_net_key(key)) {
            _cleanup_(lxc_net_freep) LxcNet *n = NULL;
            r = lxc_net_parse(key, text, &n, &err);
        } else if (text && (streq(key, "rootfs") || lxc_is_mp_key(key))) {
            _cleanup_(lxc_mount_freep) LxcMount *m = NULL;
            r = lxc_mount_parse(key, text, &m, &err);
        }
        if (r == -ENOMEM)
            return r;
        if (r < 0 && json_util_set_string(errors, key, err ?: "invalid value") < 0)
            return -ENOMEM;
    }
    if (json_object_size(errors) > 0)
        return api_call_fail(call, 400, TAKE_PTR(errors), "Parameter verification failed.");
    return 0;
}

/* Storages new volumes go to: Datastore.AllocateSpace there, and they must hold CT dirs. */
static int check_new_volumes(ApiCall *call, const json_t *params) {
    _cleanup_(section_config_freep) SectionConfig *cfg = NULL;
    _cleanup_free_ char *err = NULL;
    int r = storage_cfg_load(&cfg, &err);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "%s", err ?: strerror(-r));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) params, key, v) {
        _cleanup_(lxc_mount_freep) LxcMount *m = NULL;
        if ((!streq(key, "rootfs") && !lxc_is_mp_key(key)) || !json_is_string(v) ||
            lxc_mount_parse(key, json_string_value(v), &m, NULL) < 0 || !m->is_alloc)
            continue;
        const SectionConfigSection *s;
        if ((r = rootdir_storage(cfg, m->alloc_storage, api_env(call)->nodename, &s, &err)) < 0)
            return api_call_fail(call, 500, NULL, "%s", err ?: strerror(-r));
        char path[256];
        snprintf(path, sizeof path, "/storage/%s", m->alloc_storage);
        if ((r = api_check_priv(call, NULL, path, API_PRIVS("Datastore.AllocateSpace"), false)) < 0)
            return r;
    }
    return 0;
}

static int h_create(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    uint32_t vmid = api_guest_vmid(call);
    bool restore = false;
    (void) api_call_param_bool(call, "restore", &restore);
    if (restore)
        return api_call_fail(call, 501, NULL, "restoring a backup (restore) is not implemented");
    char path[32];
    snprintf(path, sizeof path, "/vms/%u", vmid);
    if ((r = api_check_priv(call, NULL, path, API_PRIVS("VM.Allocate"), false)) < 0 ||
        (r = check_key_privileges(call, vmid, NULL)) < 0 || (r = check_values(call)) < 0)
        return r;
    _cleanup_json_ json_t *params = json_deep_copy(call->params);
    if (!params)
        return -ENOMEM;
    if (!json_object_get(params, "rootfs")) {
        const char *storage = "local";
        char def[128];
        (void) api_call_param_string(call, "storage", &storage);
        snprintf(def, sizeof def, "%s:%u", storage, LXC_DEFAULT_ROOTFS_GIB);
        if (json_util_set_string(params, "rootfs", def) < 0)
            return -ENOMEM;
    }
    if ((r = check_new_volumes(call, params)) < 0)
        return r;
    const char *ostemplate = NULL;
    _cleanup_free_ char *tpath = NULL, *err = NULL;
    (void) api_call_param_string(call, "ostemplate", &ostemplate);
    if ((r = lxc_template_resolve(ostemplate, &tpath, &err)) < 0)
        return r == -ENOMEM ? r : api_call_fail(call, 500, NULL, "%s", err ?: strerror(-r));
    if ((r = api_guest_reserve(call, GUEST_TYPE_LXC, vmid)) < 0)
        return r;
    Create cr = {
        .u =
            {.vmid = vmid,
             .node = api_env(call)->nodename,
             .params = params,
             .create = true,
             .prepare = fill_rootfs,
             .userdata = &cr},
        .template_path = tpath,
    };
    (void) api_call_param_bool(call, "start", &cr.start);
    (void) api_call_param_bool(call, "unprivileged", &cr.unprivileged);
    char id[16];
    vmid_id(vmid, id);
    r = api_task_start(call, "vzcreate", id, create_worker, &cr, NULL);
    if (r < 0)
        (void) guest_config_remove(GUEST_TYPE_LXC, cr.u.node, vmid);
    return r;
}

/* ---- power actions -------------------------------------------------------------------------- */

typedef struct Power {
    uint32_t vmid;
    const char *node;
    bool skiplock, debug, force;
    unsigned timeout;
} Power;

/* Mount point volumes that pending changes replace or delete become unusedN. */
static int keep_pending_replaced(GuestConfig *c, const GuestSection *p) {
    const GuestSection *m = guest_config_main(c);
    for (size_t i = 0; i < m->n_entries; i++) {
        const char *key = m->entries[i].key;
        int r = 0;
        if (m->entries[i].raw || (!lxc_is_mp_key(key) && !streq(key, "rootfs")))
            continue;
        if (guest_config_pending_delete_has(c, key, NULL))
            r = keep_replaced_volume(c, key, NULL);
        else if (guest_section_get(p, key))
            r = keep_replaced_volume(c, key, guest_section_get(p, key));
        if (r < 0)
            return r;
    }
    return 0;
}

/* Start under the config lock: pending changes become current first, as upstream. */
static int start_locked(uint32_t vmid, const char *node, bool skiplock, bool debug, char **err) {
    _cleanup_close_ int lock = -EBADF;
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = guest_lock(GUEST_TYPE_LXC, vmid, 0, &lock, err);
    if (r < 0 || (r = guest_config_read(GUEST_TYPE_LXC, node, vmid, &c, NULL, err)) < 0)
        return r;
    if (!skiplock && (r = guest_config_check_lock(c, err)) < 0)
        return r;
    const GuestSection *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
    if (p) {
        if ((r = keep_pending_replaced(c, p)) < 0 || (r = guest_config_apply_pending(c)) < 0 ||
            (r = guest_config_write(GUEST_TYPE_LXC, node, vmid, c, false, err)) < 0)
            return r;
        printf("applied pending changes\n");
    }
    if ((r = lxc_ct_start(c, vmid, debug, err)) < 0)
        return r;
    printf("CT %u started\n", vmid);
    return 0;
}

static int power_fail(TaskWorker *w, int r, const char *err) {
    task_set_error(w, "%s", err ?: strerror(-r));
    return r;
}

static int start_worker(TaskWorker *w, void *userdata) {
    const Power *p = userdata;
    _cleanup_free_ char *err = NULL;
    int r = start_locked(p->vmid, p->node, p->skiplock, p->debug, &err);
    return r < 0 ? power_fail(w, r, err) : 0;
}

static int stop_worker(TaskWorker *w, void *userdata) {
    const Power *p = userdata;
    _cleanup_free_ char *err = NULL;
    int r = lxc_ct_stop(p->vmid, &err);
    return r < 0 ? power_fail(w, r, err) : 0;
}

static int shutdown_worker(TaskWorker *w, void *userdata) {
    const Power *p = userdata;
    _cleanup_free_ char *err = NULL;
    int r = lxc_ct_shutdown(p->vmid, p->timeout, p->force, &err);
    return r < 0 ? power_fail(w, r, err) : 0;
}

/* upstream: a clean shutdown (stopping after the timeout), then a start that applies pending */
static int reboot_worker(TaskWorker *w, void *userdata) {
    const Power *p = userdata;
    _cleanup_free_ char *err = NULL;
    int r = lxc_ct_shutdown(p->vmid, p->timeout, true, &err);
    if (r >= 0)
        r = start_locked(p->vmid, p->node, false, false, &err);
    return r < 0 ? power_fail(w, r, err) : 0;
}

typedef enum PowerAction { POWER_START, POWER_STOP, POWER_SHUTDOWN, POWER_REBOOT } PowerAction;

static int power_action(ApiCall *call, PowerAction action) {
    static const struct {
        const char *type;
        TaskFunc fn;
        bool needs_running;
    } actions[] = {
        [POWER_START] = {"vzstart", start_worker, false},
        [POWER_STOP] = {"vzstop", stop_worker, true},
        [POWER_SHUTDOWN] = {"vzshutdown", shutdown_worker, true},
        [POWER_REBOOT] = {"vzreboot", reboot_worker, true},
    };
    Power p = {
        .vmid = api_guest_vmid(call),
        .node = api_env(call)->nodename,
        .timeout = LXC_SHUTDOWN_TIMEOUT};
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_LXC, p.vmid, &c, NULL);
    if (r < 0 || (r = api_guest_check_lock(call, c)) < 0)
        return r;
    long long timeout;
    if (api_call_param_int(call, "timeout", &timeout) >= 0)
        p.timeout = (unsigned) timeout;
    (void) api_call_param_bool(call, "skiplock", &p.skiplock);
    (void) api_call_param_bool(call, "debug", &p.debug);
    (void) api_call_param_bool(call, "forceStop", &p.force);
    bool running = lxc_ct_running(p.vmid, NULL);
    if (action == POWER_START && running)
        return api_call_fail(call, 500, NULL, "CT %u already running", p.vmid);
    if (action == POWER_START &&
        guest_config_bool(guest_section_get(guest_config_main(c), "template"), false))
        return api_call_fail(call, 500, NULL, "CT %u is a template", p.vmid);
    if (actions[action].needs_running && !running)
        return api_call_fail(call, 500, NULL, "CT %u not running", p.vmid);
    char id[16];
    vmid_id(p.vmid, id);
    return api_task_start(call, actions[action].type, id, actions[action].fn, &p, NULL);
}

static int h_start(ApiCall *call) {
    return power_action(call, POWER_START);
}
static int h_stop(ApiCall *call) {
    return power_action(call, POWER_STOP);
}
static int h_shutdown(ApiCall *call) {
    return power_action(call, POWER_SHUTDOWN);
}
static int h_reboot(ApiCall *call) {
    return power_action(call, POWER_REBOOT);
}

/* ---- destroy -------------------------------------------------------------------------------- */

typedef struct Destroy {
    uint32_t vmid;
    const char *node;
    bool force, unreferenced;
} Destroy;

static int destroy_worker(TaskWorker *w, void *userdata) {
    const Destroy *d = userdata;
    _cleanup_free_ char *err = NULL;
    _cleanup_close_ int lock = -EBADF;
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = guest_lock(GUEST_TYPE_LXC, d->vmid, 0, &lock, &err);
    if (r >= 0)
        r = guest_config_read(GUEST_TYPE_LXC, d->node, d->vmid, &c, NULL, &err);
    if (r >= 0 && lxc_ct_running(d->vmid, NULL)) {
        if (!d->force)
            r = -EBUSY, (void) asprintf(&err, "CT %u is running - destroy failed", d->vmid);
        else
            r = lxc_ct_stop(d->vmid, &err);
    }
    if (r < 0)
        return power_fail(w, r, err);
    const GuestSection *m = guest_config_main(c);
    for (size_t i = 0; i < m->n_entries; i++) {
        const GuestEntry *e = &m->entries[i];
        _cleanup_free_ char *vol = NULL;
        if (e->raw)
            continue;
        if (lxc_is_unused_key(e->key))
            vol = strdup(e->value);
        else if (streq(e->key, "rootfs") || lxc_is_mp_key(e->key))
            vol = mount_volume(e->key, e->value);
        if (vol && api_guest_free_volume(vol) < 0)
            task_warn(w, "could not remove volume '%s'", vol);
    }
    if (d->unreferenced)
        api_guest_free_unreferenced(d->node, d->vmid);
    if ((r = guest_config_remove(GUEST_TYPE_LXC, d->node, d->vmid)) < 0) {
        task_set_error(
            w, "unable to remove the configuration of CT %u - %s", d->vmid, strerror(-r)
        );
        return r;
    }
    (void) lxc_ct_cleanup_files(d->vmid);
    printf("destroyed CT %u\n", d->vmid);
    return 0;
}

static int h_destroy(ApiCall *call) {
    uint32_t vmid = api_guest_vmid(call);
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_LXC, vmid, &c, NULL);
    if (r < 0 || (r = api_guest_check_lock(call, c)) < 0)
        return r;
    if (guest_config_bool(guest_section_get(guest_config_main(c), "protection"), false))
        return api_call_fail(call, 500, NULL, "can't remove CT %u - protection mode enabled", vmid);
    Destroy d = {.vmid = vmid, .node = api_env(call)->nodename};
    (void) api_call_param_bool(call, "force", &d.force);
    (void) api_call_param_bool(call, "destroy-unreferenced-disks", &d.unreferenced);
    if (!d.force && lxc_ct_running(vmid, NULL))
        return api_call_fail(call, 500, NULL, "CT %u is running - destroy failed", vmid);
    char id[16];
    vmid_id(vmid, id);
    return api_task_start(call, "vzdestroy", id, destroy_worker, &d, NULL);
}

static int h_config_get(ApiCall *call) {
    return api_guest_config_get(call, GUEST_TYPE_LXC, lxc_config_property);
}

/* ---- tables --------------------------------------------------------------------------------- */

static const ApiSchema node_params = API_OBJECT(.properties = API_PROPERTIES(API_NODE_PARAM));
static const ApiSchema ct_params =
    API_OBJECT(.properties = API_PROPERTIES(API_NODE_PARAM, LXC_VMID_PARAM));
static const ApiSchema config_get_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            LXC_VMID_PARAM,
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
            LXC_VMID_PARAM,
            API_PARAM_BOOL(
                "destroy-unreferenced-disks",
                .optional = true,
                .description = "If set, destroy additionally all disks with the VMID from all "
                               "enabled storages which are not referenced in the config."
            ),
            API_PARAM_BOOL(
                "force",
                .optional = true,
                API_DEFAULT_INT(0),
                .description = "Force destroy, even if running."
            ),
            API_PARAM_BOOL(
                "purge",
                .optional = true,
                API_DEFAULT_INT(0),
                .description = "Remove container from all related configurations."
            )
        )
);
static const ApiSchema start_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            LXC_VMID_PARAM,
            API_PARAM_BOOL(
                "debug",
                .optional = true,
                API_DEFAULT_INT(0),
                .description = "If set, enables very verbose debug log-level on start."
            ),
            LXC_SKIPLOCK_PARAM
        )
);
static const ApiSchema stop_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            LXC_VMID_PARAM,
            API_PARAM_BOOL(
                "overrule-shutdown",
                .optional = true,
                API_DEFAULT_INT(0),
                .description = "Try to abort active 'vzshutdown' tasks before stopping."
            ),
            LXC_SKIPLOCK_PARAM
        )
);
static const ApiSchema shutdown_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            LXC_VMID_PARAM,
            API_PARAM_BOOL(
                "forceStop",
                .optional = true,
                API_DEFAULT_INT(0),
                .description = "Make sure the Container stops."
            ),
            API_PARAM_INTEGER(
                "timeout",
                .optional = true,
                API_DEFAULT_INT(60),
                API_MIN(0),
                .description = "Wait maximal timeout seconds."
            )
        )
);
static const ApiSchema reboot_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            LXC_VMID_PARAM,
            API_PARAM_INTEGER(
                "timeout",
                .optional = true,
                API_MIN(0),
                .description = "Wait maximal timeout seconds for the shutdown."
            )
        )
);
static ApiSchema create_params = API_OBJECT();
static ApiSchema update_params = API_OBJECT();

static const ApiSchema upid_returns = API_SCALAR(API_TYPE_STRING, .format = "pve-upid");
#define LXC_STATUS_PROPERTIES                                                                      \
    LXC_VMID_PARAM, API_PARAM_STRING("status", .enum_values = API_ENUM("stopped", "running")),     \
        API_PARAM_STRING("name", .optional = true), API_PARAM_INTEGER("uptime", .optional = true), \
        API_PARAM_NUMBER("cpu", .optional = true), API_PARAM_NUMBER("cpus", .optional = true),     \
        API_PARAM_INTEGER("mem", .optional = true), API_PARAM_INTEGER("maxmem", .optional = true), \
        API_PARAM_INTEGER("maxswap", .optional = true),                                            \
        API_PARAM_INTEGER("disk", .optional = true, API_MIN(0)),                                   \
        API_PARAM_INTEGER("maxdisk", .optional = true),                                            \
        API_PARAM_INTEGER("netin", .optional = true),                                              \
        API_PARAM_INTEGER("netout", .optional = true),                                             \
        API_PARAM_INTEGER("diskread", .optional = true),                                           \
        API_PARAM_INTEGER("diskwrite", .optional = true),                                          \
        API_PARAM_STRING("lock", .optional = true), API_PARAM_STRING("tags", .optional = true),    \
        API_PARAM_BOOL("template", .optional = true, API_DEFAULT_INT(0))
static const ApiSchema list_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(LXC_STATUS_PROPERTIES),
    .additional_properties = true
));
static const ApiSchema status_returns = API_OBJECT(
        .properties = API_PROPERTIES(LXC_STATUS_PROPERTIES, API_PARAM_OBJECT("ha")),
        .additional_properties = true
);
static const ApiSchema index_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = API_PROPERTIES(API_PARAM_STRING("subdir"))));
static const ApiSchema config_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("digest", .description = "SHA1 digest of configuration file.")
        ),
        .additional_properties = true
);

#define CT_PERM(...) API_PERM_CHECK("/vms/{vmid}", API_PRIVS(__VA_ARGS__))
#define CT_METHOD(p, m, n, desc, params, ret, perm, prot, fn)                                   \
    {                                                                                           \
        .path = (p), .method = (m), .name = (n), .description = (desc), .parameters = (params), \
        .returns = (ret), .permissions = (perm), .protected = (prot), .proxyto = "node",        \
        .allowtoken = true, .handler = (fn)                                                     \
    }

static const ApiMethod methods[] = {
    CT_METHOD(
        "/nodes/{node}/lxc",
        API_METHOD_GET,
        "vmlist",
        "LXC container index (per node).",
        &node_params,
        &list_returns,
        API_PERM_ALL,
        true,
        h_list
    ),
    CT_METHOD(
        "/nodes/{node}/lxc",
        API_METHOD_POST,
        "create_vm",
        "Create or restore a container.",
        &create_params,
        &upid_returns,
        API_PERM_ALL,
        true,
        h_create
    ),
    CT_METHOD(
        "/nodes/{node}/lxc/{vmid}",
        API_METHOD_GET,
        "vmdiridx",
        "Directory index",
        &ct_params,
        &index_returns,
        API_PERM_ALL,
        false,
        h_ct_index
    ),
    CT_METHOD(
        "/nodes/{node}/lxc/{vmid}",
        API_METHOD_DELETE,
        "destroy_vm",
        "Destroy the container (also delete all uses files).",
        &destroy_params,
        &upid_returns,
        CT_PERM("VM.Allocate"),
        true,
        h_destroy
    ),
    CT_METHOD(
        "/nodes/{node}/lxc/{vmid}/config",
        API_METHOD_GET,
        "vm_config",
        "Get container configuration.",
        &config_get_params,
        &config_returns,
        CT_PERM("VM.Audit"),
        false,
        h_config_get
    ),
    CT_METHOD(
        "/nodes/{node}/lxc/{vmid}/config",
        API_METHOD_PUT,
        "update_vm",
        "Set container options.",
        &update_params,
        NULL,
        API_PERM_CHECK_ANY(
            "/vms/{vmid}",
            API_PRIVS(
                "VM.Config.Disk",
                "VM.Config.CPU",
                "VM.Config.Memory",
                "VM.Config.Network",
                "VM.Config.Options"
            )
        ),
        true,
        h_config_put
    ),
    CT_METHOD(
        "/nodes/{node}/lxc/{vmid}/status",
        API_METHOD_GET,
        "vmcmdidx",
        "Directory index",
        &ct_params,
        &index_returns,
        API_PERM_ALL,
        false,
        h_status_index
    ),
    CT_METHOD(
        "/nodes/{node}/lxc/{vmid}/status/current",
        API_METHOD_GET,
        "vm_status",
        "Get virtual machine status.",
        &ct_params,
        &status_returns,
        CT_PERM("VM.Audit"),
        true,
        h_status_current
    ),
    CT_METHOD(
        "/nodes/{node}/lxc/{vmid}/status/start",
        API_METHOD_POST,
        "vm_start",
        "Start the container.",
        &start_params,
        &upid_returns,
        CT_PERM("VM.PowerMgmt"),
        true,
        h_start
    ),
    CT_METHOD(
        "/nodes/{node}/lxc/{vmid}/status/stop",
        API_METHOD_POST,
        "vm_stop",
        "Stop the container. This will abruptly stop all processes running in the container.",
        &stop_params,
        &upid_returns,
        CT_PERM("VM.PowerMgmt"),
        true,
        h_stop
    ),
    CT_METHOD(
        "/nodes/{node}/lxc/{vmid}/status/shutdown",
        API_METHOD_POST,
        "vm_shutdown",
        "Shutdown the container. This will trigger a clean shutdown of the container.",
        &shutdown_params,
        &upid_returns,
        CT_PERM("VM.PowerMgmt"),
        true,
        h_shutdown
    ),
    CT_METHOD(
        "/nodes/{node}/lxc/{vmid}/status/reboot",
        API_METHOD_POST,
        "vm_reboot",
        "Reboot the container by shutting it down, and starting it again.",
        &reboot_params,
        &upid_returns,
        CT_PERM("VM.PowerMgmt"),
        true,
        h_reboot
    ),
};

/* POST /lxc: node, vmid, ostemplate and the create-only parameters + every config key;
 * PUT config: node, vmid, delete, revert, digest + every config key. Built once. */
static int build_schemas(void) {
    static ApiSchema *create_props, *update_props;
    if (create_props)
        return 0;
    size_t n = 0;
    while (lxc_config_properties[n].name)
        n++;
    static const ApiSchema common[] = {API_NODE_PARAM, LXC_VMID_PARAM};
    static const ApiSchema create_only[] = {
        API_PARAM_STRING(
            "ostemplate", .max_length = 255, .description = "The OS template or backup file."
        ),
        API_PARAM_NUMBER(
            "bwlimit", .optional = true, API_MIN(0),
            .description = "Override I/O bandwidth limit (in KiB/s)."
        ),
        API_PARAM_BOOL(
            "force", .optional = true, .description = "Allow to overwrite existing container."
        ),
        API_PARAM_BOOL(
            "ha-managed", .optional = true, API_DEFAULT_INT(0),
            .description = "Add the CT as a HA resource after it was created."
        ),
        API_PARAM_BOOL(
            "ignore-unpack-errors", .optional = true,
            .description = "Ignore errors when extracting the template."
        ),
        API_PARAM_STRING(
            "password", .optional = true, .min_length = 5,
            .description = "Sets root password inside container."
        ),
        API_PARAM_STRING(
            "pool", .optional = true, .format = "pve-poolid",
            .description = "Add the VM to the specified pool."
        ),
        API_PARAM_BOOL("restore", .optional = true, .description = "Mark this as restore task."),
        API_PARAM_STRING(
            "ssh-public-keys", .optional = true,
            .description = "Setup public SSH keys (one key per line, OpenSSH format)."
        ),
        API_PARAM_BOOL(
            "start", .optional = true, API_DEFAULT_INT(0),
            .description = "Start the CT after its creation finished successfully."
        ),
        API_PARAM_STRING(
            "storage", .optional = true, API_DEFAULT_STR("local"), .format = "pve-storage-id",
            .description = "Default Storage."
        ),
        API_PARAM_BOOL(
            "unique", .optional = true, .requires = "restore",
            .description = "Assign a unique random ethernet address."
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
            .description = "Prevent changes if current configuration file has a different "
                           "digest. This can be used to prevent concurrent modifications."
        ),
    };
    create_props = calloc(n + ELEMENTSOF(common) + ELEMENTSOF(create_only) + 1, sizeof(ApiSchema));
    update_props = calloc(n + ELEMENTSOF(common) + ELEMENTSOF(update_only) + 1, sizeof(ApiSchema));
    if (!create_props || !update_props)
        return -ENOMEM;
    size_t c = 0, u = 0;
    for (size_t i = 0; i < ELEMENTSOF(common); i++)
        create_props[c++] = update_props[u++] = common[i];
    for (size_t i = 0; i < ELEMENTSOF(create_only); i++)
        create_props[c++] = create_only[i];
    for (size_t i = 0; i < ELEMENTSOF(update_only); i++)
        update_props[u++] = update_only[i];
    for (size_t i = 0; i < n; i++)
        create_props[c++] = update_props[u++] = lxc_config_properties[i];
    create_params.properties = create_props;
    update_params.properties = update_props;
    return 0;
}

int api_lxc_register(ApiRouter *r) {
    int k = build_schemas();
    return k < 0 ? k : api_router_add(r, methods);
}
