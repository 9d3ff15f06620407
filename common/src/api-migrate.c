/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-migrate: GET|POST /nodes/{node}/qemu/{vmid}/migrate and .../lxc/{vmid}/migrate. GET
 * answers upstream's precondition info (running, the nodes that can take the guest and why the
 * others cannot, local disks and resources); POST checks the target (another online node of a
 * quorate cluster) and the guest's state, then runs the offline migration of pve/guest-migrate.h
 * in a task (qmigrate / vzmigrate). Live migration of running guests is not implemented: such
 * requests are refused with a clear error before anything changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-cluster.h"
#include "api-guest.h"
#include "api-nodes.h"
#include "api-qemu.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/guest-migrate.h"
#include "pve/guest-store.h"
#include "pve/json-util.h"
#include "pve/lxc-runtime.h"
#include "pve/qemu-runtime.h"
#include "pve/storage-cfg.h"
#include "pve/storage-volume.h"
#include "pve/task.h"

static bool guest_running(GuestType type, uint32_t vmid) {
    return type == GUEST_TYPE_QEMU ? qemu_vm_running(vmid) : lxc_ct_running(vmid, NULL);
}

/* The call's storage map parameter (targetstorage for VMs, target-storage for CTs). */
static int load_map(ApiCall *call, GuestType type, MigrateStorageMap *map) {
    const char *name = type == GUEST_TYPE_QEMU ? "targetstorage" : "target-storage";
    const char *text = NULL;
    *map = (MigrateStorageMap){};
    if (api_call_param_string(call, name, &text) < 0 || !text)
        return 0;
    _cleanup_free_ char *err = NULL;
    int r = guest_migrate_storage_map_parse(text, map, &err);
    if (r == -EINVAL) {
        _cleanup_json_ json_t *errors = json_pack("{s:s}", name, err ? err : "invalid");
        return api_call_fail(call, 400, errors, "Parameter verification failed.");
    }
    return r < 0 ? api_call_fail(call, 500, NULL, "%s", strerror(-r)) : 0;
}

/* ---- GET ------------------------------------------------------------------------------------- */

static json_t *local_disks_json(const MigrateScan *scan, const SectionConfig *storage) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < scan->n_volumes; i++) {
        const MigrateVolume *v = &scan->volumes[i];
        if (v->shared)
            continue;
        uint64_t size = 0;
        const SectionConfigSection *sec = NULL;
        _cleanup_(storage_volume_done) StorageVolume sv = {};
        if (storage_find(storage, v->storage, &sec, NULL) >= 0 &&
            storage_volume_parse(sec, strchr(v->volid, ':') + 1, &sv, NULL) >= 0) {
            StorageVolumeInfo info = {};
            if (storage_volume_info(sv.path, sv.format, &info) >= 0)
                size = info.size;
            storage_volume_info_done(&info);
        }
        json_t *o = json_pack(
            "{s:s,s:I,s:i,s:i}", "volid", v->volid, "size", (json_int_t) size, "cdrom",
            v->cdrom ? 1 : 0, "is_unused", v->is_unused ? 1 : 0
        );
        if (json_array_append_new(a, o) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int precondition(ApiCall *call, GuestType type) {
    uint32_t vmid = api_guest_vmid(call);
    const char *target = NULL;
    (void) api_call_param_string(call, "target", &target);
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, type, vmid, &c, NULL);
    if (r < 0)
        return r;
    _cleanup_(section_config_freep) SectionConfig *storage = NULL;
    _cleanup_free_ char *err = NULL;
    if ((r = storage_cfg_load(&storage, &err)) < 0)
        return api_call_fail(call, 500, NULL, "%s", err ? err : strerror(-r));
    _cleanup_(guest_migrate_scan_done) MigrateScan scan = {};
    if ((r = guest_migrate_scan(type, c, storage, &scan)) < 0)
        return api_call_fail(call, 500, NULL, "%s", strerror(-r));
    _cleanup_(cluster_view_done) ClusterView view = {};
    if ((r = cluster_view_load(call, &view)) < 0)
        return r;
    bool running = guest_running(type, vmid);
    bool qemu = type == GUEST_TYPE_QEMU;
    _cleanup_json_ json_t *res = json_pack("{s:b}", "running", running);
    json_t *allowed = json_array(), *not_allowed = json_object();
    if (!res || json_object_set_new(res, qemu ? "allowed_nodes" : "allowed-nodes", allowed) < 0 ||
        json_object_set_new(res, qemu ? "not_allowed_nodes" : "not-allowed-nodes", not_allowed) < 0)
        return -ENOMEM;
    /* the nodes an offline migration could go to (upstream computes them for stopped guests) */
    size_t i;
    json_t *n;
    json_array_foreach(view.nodes, i, n) {
        const char *node = json_string_value(n);
        if (!running && !streq(node, api_env(call)->nodename) && (!target || streq(target, node))) {
            _cleanup_json_ json_t *missing =
                guest_migrate_unavailable_storages(&scan, storage, NULL, node);
            if (!missing)
                return -ENOMEM;
            if (json_array_size(missing) == 0)
                r = json_array_append_new(allowed, json_string(node));
            else
                r = json_object_set_new(
                    not_allowed, node, json_pack("{s:O}", "unavailable_storages", missing)
                );
            if (r < 0)
                return -ENOMEM;
        }
    }
    if (qemu) {
        json_t *disks = local_disks_json(&scan, storage);
        if (!disks || json_object_set_new(res, "local_disks", disks) < 0 ||
            json_object_set(res, "local_resources", scan.local_resources) < 0 ||
            json_object_set_new(res, "mapped-resources", json_array()) < 0 ||
            json_object_set_new(res, "mapped-resource-info", json_object()) < 0 ||
            json_object_set_new(res, "has-dbus-vmstate", json_false()) < 0)
            return -ENOMEM;
    }
    if (json_object_set_new(res, "dependent-ha-resources", json_array()) < 0)
        return -ENOMEM;
    return api_call_set_result(call, TAKE_PTR(res));
}

static int h_qemu_precondition(ApiCall *call) {
    return precondition(call, GUEST_TYPE_QEMU);
}

static int h_lxc_precondition(ApiCall *call) {
    return precondition(call, GUEST_TYPE_LXC);
}

/* ---- POST ------------------------------------------------------------------------------------ */

typedef struct Job {
    MigrateRequest req;
    bool offline_note; /* online requested for a stopped guest */
} Job;

static int migrate_worker(TaskWorker *w, void *userdata) {
    Job *job = userdata;
    job->req.worker = w;
    if (job->offline_note)
        printf(
            "%s isn't running. Doing offline migration instead.\n",
            job->req.type == GUEST_TYPE_QEMU ? "VM" : "CT"
        );
    _cleanup_free_ char *err = NULL;
    int r = guest_migrate_run(&job->req, &err);
    if (r < 0)
        task_set_error(w, "%s", err ? err : strerror(-r));
    return r;
}

/* The target: another node of this quorate cluster, online, with an address. */
static int
check_target(ApiCall *call, const ClusterView *v, const char *target, const char **ret_ip) {
    if (streq(target, api_env(call)->nodename))
        return api_call_fail(call, 500, NULL, "target is local node.");
    json_t *member = cluster_member(v, target);
    if (!member)
        return api_call_fail(call, 500, NULL, "no such cluster node '%s'", target);
    if (json_integer_value(json_object_get(v->cluster, "quorate")) != 1)
        return api_call_fail(call, 500, NULL, "cluster not ready - no quorum?");
    if (json_integer_value(json_object_get(member, "online")) != 1)
        return api_call_fail(call, 500, NULL, "target node '%s' is not online", target);
    *ret_ip = json_string_value(json_object_get(member, "ip"));
    if (!*ret_ip || !**ret_ip)
        return api_call_fail(call, 500, NULL, "unable to get IP for node '%s'", target);
    return 0;
}

static int migrate(ApiCall *call, GuestType type) {
    uint32_t vmid = api_guest_vmid(call);
    const char *target = NULL;
    bool online = false, restart = false, force = false;
    (void) api_call_param_string(call, "target", &target);
    (void) api_call_param_bool(call, "online", &online);
    (void) api_call_param_bool(call, "restart", &restart);
    (void) api_call_param_bool(call, "force", &force);
    _cleanup_(cluster_view_done) ClusterView view = {};
    const char *ip = NULL;
    int r = cluster_view_load(call, &view);
    if (r < 0 || (r = check_target(call, &view, target, &ip)) < 0)
        return r;
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    if ((r = api_guest_load(call, type, vmid, &c, NULL)) < 0)
        return r;
    bool running = guest_running(type, vmid);
    if (running && type == GUEST_TYPE_QEMU)
        return online ? api_call_fail(
                            call, 501, NULL, "online migration of running VMs is not implemented"
                        )
                      : api_call_fail(call, 500, NULL, "can't migrate running VM without --online");
    if (running && online)
        return api_call_fail(call, 500, NULL, "lxc live migration is currently not implemented");
    if (running)
        return restart ? api_call_fail(
                             call, 501, NULL,
                             "restart migration of running containers is not implemented"
                         )
                       : api_call_fail(
                             call, 500, NULL,
                             "can't migrate running container without --online or --restart"
                         );
    if (force && !streq(api_user(call), "root@pam"))
        return api_call_fail(
            call, 403, NULL, "Permission check failed (force: only root may use it)"
        );

    _cleanup_(guest_migrate_storage_map_done) MigrateStorageMap map = {};
    if ((r = load_map(call, type, &map)) < 0)
        return r;
    Job job = {
        .req =
            {
                .type = type,
                .vmid = vmid,
                .source = api_env(call)->nodename,
                .target = target,
                .target_ip = ip,
                .map = map.pairs ? &map : NULL,
                .force = force,
            },
        .offline_note = online,
    };
    char id[16];
    snprintf(id, sizeof id, "%u", vmid);
    return api_task_start(
        call, type == GUEST_TYPE_QEMU ? "qmigrate" : "vzmigrate", id, migrate_worker, &job, NULL
    );
}

static int h_qemu_migrate(ApiCall *call) {
    return migrate(call, GUEST_TYPE_QEMU);
}

static int h_lxc_migrate(ApiCall *call) {
    return migrate(call, GUEST_TYPE_LXC);
}

/* ---- tables ---------------------------------------------------------------------------------- */

#define TARGET_PARAM(opt)                                                                \
    API_PARAM_STRING(                                                                    \
        "target", .format = "pve-node", .optional = (opt), .description = "Target node." \
    )

static const ApiSchema precondition_params =
    API_OBJECT(.properties = API_PROPERTIES(API_NODE_PARAM, API_VMID_PARAM, TARGET_PARAM(true)));

static const ApiSchema qemu_migrate_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_VMID_PARAM,
            TARGET_PARAM(false),
            API_PARAM_BOOL(
                "online",
                .optional = true,
                .description =
                    "Use online/live migration if VM is running. Ignored if VM is stopped."
            ),
            API_PARAM_BOOL(
                "force",
                .optional = true,
                .description =
                    "Allow to migrate VMs which use local devices. Only root may use this option."
            ),
            API_PARAM_BOOL(
                "with-local-disks",
                .optional = true,
                .description = "Enable live storage migration for local disk"
            ),
            API_PARAM_STRING(
                "targetstorage",
                .optional = true,
                .format = "storage-pair-list",
                .description = "Mapping from source to target storages. Providing only a single "
                               "storage ID maps all source storages to that storage. Providing the "
                               "special value '1' will map each source storage to itself."
            ),
            API_PARAM_INTEGER(
                "bwlimit",
                .optional = true,
                API_MIN(0),
                .description = "Override I/O bandwidth limit (in KiB/s)."
            ),
            API_PARAM_STRING(
                "migration_type",
                .optional = true,
                .enum_values = API_ENUM("secure", "insecure"),
                .description = "Migration traffic is encrypted using an SSH tunnel by default."
            ),
            API_PARAM_STRING(
                "migration_network",
                .optional = true,
                .format = "CIDR",
                .description = "CIDR of the (sub) network that is used for migration."
            ),
            API_PARAM_BOOL(
                "with-conntrack-state",
                .optional = true,
                API_DEFAULT_INT(0),
                .description = "Whether to migrate conntrack entries for running VMs."
            )
        )
);

static const ApiSchema lxc_migrate_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_VMID_PARAM,
            TARGET_PARAM(false),
            API_PARAM_BOOL("online", .optional = true, .description = "Use online/live migration."),
            API_PARAM_BOOL("restart", .optional = true, .description = "Use restart migration"),
            API_PARAM_INTEGER(
                "timeout",
                .optional = true,
                API_DEFAULT_INT(180),
                .description = "Timeout in seconds for shutdown for restart migration"
            ),
            API_PARAM_STRING(
                "target-storage",
                .optional = true,
                .format = "storage-pair-list",
                .description = "Mapping from source to target storages. Providing only a single "
                               "storage ID maps all source storages to that storage. Providing the "
                               "special value '1' will map each source storage to itself."
            ),
            API_PARAM_NUMBER(
                "bwlimit",
                .optional = true,
                API_MIN(0),
                .description = "Override I/O bandwidth limit (in KiB/s)."
            )
        )
);

static const ApiSchema upid_returns = API_SCALAR(API_TYPE_STRING, .format = "pve-upid");
static const ApiSchema qemu_precondition_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_BOOL("running"),
            API_PARAM_ARRAY("allowed_nodes", API_ITEMS(API_TYPE_STRING), .optional = true),
            API_PARAM_OBJECT("not_allowed_nodes", .optional = true, .additional_properties = true),
            API_PARAM_ARRAY(
                "local_disks", API_ITEMS(API_TYPE_OBJECT, .additional_properties = true)
            ),
            API_PARAM_ARRAY("local_resources", API_ITEMS(API_TYPE_STRING))
        ),
        .additional_properties = true
);
static const ApiSchema lxc_precondition_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_BOOL("running"),
            API_PARAM_ARRAY("allowed-nodes", API_ITEMS(API_TYPE_STRING), .optional = true),
            API_PARAM_OBJECT("not-allowed-nodes", .optional = true, .additional_properties = true)
        ),
        .additional_properties = true
);

#define MIGRATE_PERM API_PERM_CHECK("/vms/{vmid}", API_PRIVS("VM.Migrate"))

static const ApiMethod methods[] = {
    {.path = "/nodes/{node}/qemu/{vmid}/migrate",
     .method = API_METHOD_GET,
     .name = "migrate_vm_precondition",
     .description = "Get preconditions for migration.",
     .parameters = &precondition_params,
     .returns = &qemu_precondition_returns,
     .permissions = MIGRATE_PERM,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_qemu_precondition},
    {.path = "/nodes/{node}/qemu/{vmid}/migrate",
     .method = API_METHOD_POST,
     .name = "migrate_vm",
     .description = "Migrate virtual machine. Creates a new migration task.",
     .parameters = &qemu_migrate_params,
     .returns = &upid_returns,
     .permissions = MIGRATE_PERM,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_qemu_migrate},
    {.path = "/nodes/{node}/lxc/{vmid}/migrate",
     .method = API_METHOD_GET,
     .name = "migrate_vm_precondition",
     .description = "Get preconditions for migration.",
     .parameters = &precondition_params,
     .returns = &lxc_precondition_returns,
     .permissions = MIGRATE_PERM,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_lxc_precondition},
    {.path = "/nodes/{node}/lxc/{vmid}/migrate",
     .method = API_METHOD_POST,
     .name = "migrate_vm",
     .description = "Migrate the container to another node. Creates a new migration task.",
     .parameters = &lxc_migrate_params,
     .returns = &upid_returns,
     .permissions = MIGRATE_PERM,
     .protected = true,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_lxc_migrate},
};

int api_migrate_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
