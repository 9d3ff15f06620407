/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-pools: /pools: resource pools in user.cfg (comment, VMs, storages; nested ids "a/b"),
 * in the newer form with a poolid parameter (GET/POST/PUT/DELETE /pools) and the legacy one
 * (/pools/{poolid}). Members are listed from the pmxcfs guest list and storage.cfg. A VM is
 * in at most one pool; moving it needs allow-move and Pool.Allocate on the old pool.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-access.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/cfs-ipc.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/storage-cfg.h"
#include "pve/string-util.h"

/* ---- members -------------------------------------------------------------------------------- */

/* The "ids" object of the pmxcfs guest list (an empty object when it cannot be read). */
static json_t *guest_ids(void) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    json_t *ids = NULL;
    if (cfs_ipc_get_guest_list(&text, &len) >= 0) {
        json_t *list = json_loadb(text, len, 0, NULL);
        ids = json_incref(json_object_get(list, "ids"));
        json_decref(list);
    }
    return json_is_object(ids) ? ids : (json_decref(ids), json_object());
}

static SectionConfig *storage_config(ApiCall *call) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    SectionConfig *c = NULL;
    if (api_read_file(call, PVE_CFS_STORAGE_CFG, &text, &len) < 0 ||
        storage_cfg_parse(text, len, &c, NULL, NULL, NULL) < 0)
        return NULL;
    return c;
}

static int vm_members(const UserCfgPool *p, const json_t *ids, const char *type, json_t *res) {
    for (size_t i = 0; i < p->n_vms; i++) {
        json_t *d = json_object_get(ids, p->vms[i]);
        const char *t = json_string_value(json_object_get(d, "type"));
        const char *node = json_string_value(json_object_get(d, "node"));
        if (!t || !node || (type && !streq(type, t)))
            continue; /* no config any more: upstream skips it */
        char id[64];
        snprintf(id, sizeof id, "%s/%s", t, p->vms[i]);
        json_t *e = json_pack(
            "{s:s,s:I,s:s,s:s}", "id", id, "vmid", (json_int_t) atoll(p->vms[i]), "node", node,
            "type", t
        );
        if (json_util_append_new(res, e) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The node a storage is shown on: this one, unless its `nodes` list excludes it. */
static const char *
storage_node(const SectionConfigSection *s, const char *nodename, char *buf, size_t size) {
    const char *nodes = section_config_get(s, "nodes");
    if (!nodes || !*nodes || storage_list_contains(nodes, nodename))
        return nodename;
    _cleanup_strv_ char **v = api_access_split_list(nodes);
    size_t n = 0;
    while (v && v[n])
        n++;
    if (n == 0)
        return nodename;
    const char *first = v[0];
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i], first) < 0)
            first = v[i];
    snprintf(buf, size, "%s", first);
    return buf;
}

static int
storage_members(ApiCall *call, const UserCfgPool *p, const SectionConfig *scfg, json_t *res) {
    const char *nodename =
        api_env(call) && api_env(call)->nodename ? api_env(call)->nodename : "localhost";
    for (size_t i = 0; scfg && i < p->n_storage; i++) {
        const SectionConfigSection *s = section_config_find(scfg, NULL, p->storage[i]);
        char buf[256], id[512];
        if (!s)
            continue;
        const char *node = storage_node(s, nodename, buf, sizeof buf);
        const char *content = section_config_get(s, "content");
        snprintf(id, sizeof id, "storage/%s/%s", node, s->id);
        json_t *e = json_pack(
            "{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "id", id, "storage", s->id, "node", node, "type",
            "storage", "plugintype", s->type, "status", "unknown", "shared",
            storage_cfg_is_shared(s), "content", content ? content : ""
        );
        if (json_util_append_new(res, e) < 0)
            return -ENOMEM;
    }
    return 0;
}

static json_t *pool_members(ApiCall *call, const UserCfgPool *p, const char *type) {
    _cleanup_(section_config_freep) SectionConfig *scfg = NULL;
    json_t *ids = guest_ids(), *res = json_array();
    int r = ids && res ? vm_members(p, ids, type, res) : -ENOMEM;
    json_decref(ids);
    if (r >= 0 && (!type || streq(type, "storage"))) {
        scfg = storage_config(call);
        r = storage_members(call, p, scfg, res);
    }
    if (r < 0) {
        json_decref(res);
        return NULL;
    }
    return res;
}

/* ---- read ----------------------------------------------------------------------------------- */

static int fail_no_pool(ApiCall *call, const char *poolid) {
    return api_call_fail(call, 500, NULL, "pool '%s' does not exist", poolid);
}

/* {comment?, members} (with_id: and poolid) */
static int pool_info(ApiCall *call, const UserCfgPool *p, bool with_id, json_t **ret) {
    json_t *o = json_object();
    int r = o ? json_util_set_new(o, "members", pool_members(call, p, param_str(call, "type")))
              : -ENOMEM;
    if (r >= 0 && *p->comment)
        r = json_util_set_string(o, "comment", p->comment);
    if (r >= 0 && with_id)
        r = json_util_set_string(o, "poolid", p->poolid);
    if (r < 0) {
        json_decref(o);
        return r;
    }
    *ret = o;
    return 0;
}

static bool can_audit(ApiCall *call, UserCfg *cfg, const char *poolid) {
    static const char *const audit[] = {"Pool.Audit", NULL};
    _cleanup_free_ char *path = NULL;
    return asprintf(&path, "/pool/%s", poolid) >= 0 && api_has_priv(call, cfg, path, audit, false);
}

static int cmp_pool_ptr(const void *a, const void *b) {
    return strcmp(
        (*(const UserCfgPool *const *) a)->poolid, (*(const UserCfgPool *const *) b)->poolid
    );
}

static int pools_all(ApiCall *call, UserCfg *cfg, json_t *res) {
    size_t n = user_cfg_n_pools(cfg);
    _cleanup_free_ const UserCfgPool **v = calloc(n + 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = user_cfg_pool_at(cfg, i);
    qsort(v, n, sizeof *v, cmp_pool_ptr);
    for (size_t i = 0; i < n; i++) {
        if (!can_audit(call, cfg, v[i]->poolid))
            continue;
        json_t *e = json_pack("{s:s}", "poolid", v[i]->poolid);
        if (e && *v[i]->comment && json_util_set_string(e, "comment", v[i]->comment) < 0)
            e = (json_decref(e), NULL);
        if (json_util_append_new(res, e) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int h_pools_list(ApiCall *call) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    const char *poolid = param_str(call, "poolid");
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    json_t *res = json_array();
    if (!res)
        return -ENOMEM;
    if (!poolid)
        r = pools_all(call, cfg, res);
    else if (can_audit(call, cfg, poolid)) {
        const UserCfgPool *p = user_cfg_get_pool(cfg, poolid);
        json_t *e = NULL;
        r = p ? pool_info(call, p, true, &e) : fail_no_pool(call, poolid);
        if (r >= 0)
            r = json_util_append_new(res, e);
    }
    if (r < 0) {
        json_decref(res);
        return r;
    }
    return api_call_set_result(call, res);
}

static int h_pool_get(ApiCall *call) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    const char *poolid = param_str(call, "poolid");
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    const UserCfgPool *p = user_cfg_get_pool(cfg, poolid);
    if (!p)
        return fail_no_pool(call, poolid);
    json_t *o = NULL;
    r = pool_info(call, p, false, &o);
    return r < 0 ? r : api_call_set_result(call, o);
}

/* ---- write ---------------------------------------------------------------------------------- */

static int pool_create_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *poolid = param_str(call, "poolid");
    (void) userdata;
    int r = user_cfg_add_pool(cfg, poolid, param_str(call, "comment"));
    if (r == -EEXIST)
        return api_call_fail(call, 500, NULL, "pool '%s' already exists", poolid);
    if (r == -ENOENT) {
        const char *slash = strrchr(poolid, '/');
        return api_call_fail(
            call, 500, NULL, "parent '%.*s' of pool '%s' does not exist",
            (int) (slash ? slash - poolid : 0), poolid, poolid
        );
    }
    if (r == -EINVAL)
        return api_call_fail(call, 400, NULL, "invalid pool ID '%s'", poolid);
    return r;
}

static int h_pool_create(ApiCall *call) {
    return api_access_edit_user_cfg(call, "create pool failed", pool_create_edit, NULL);
}

/* Add or remove one VM (upstream update_pool), with the checks on the VM and a former pool. */
static int pool_edit_vm(ApiCall *call, UserCfg *cfg, const char *poolid, const char *vmid) {
    static const char *const alloc[] = {"Pool.Allocate", NULL};
    char path[64];
    snprintf(path, sizeof path, "/vms/%s", vmid);
    int r = api_access_check_perm_modify(call, cfg, path, true);
    if (r < 0)
        return r;
    if (param_true(call, "delete")) {
        r = user_cfg_pool_remove_vm(cfg, poolid, vmid);
        return r == -ENOENT ? api_call_fail(call, 500, NULL, "VM %s is not a pool member", vmid)
                            : r;
    }
    const UserCfgPool *other = user_cfg_vm_pool(cfg, vmid);
    if (other && streq(other->poolid, poolid))
        return api_call_fail(call, 500, NULL, "VM %s is already a pool member", vmid);
    if (other) {
        _cleanup_free_ char *opath = NULL, *oid = strdup(other->poolid);
        if (!oid || asprintf(&opath, "/pool/%s", other->poolid) < 0)
            return -ENOMEM;
        if (!param_true(call, "allow-move"))
            return api_call_fail(
                call, 500, NULL, "VM %s belongs already to pool '%s' and 'allow-move' is not set",
                vmid, oid
            );
        if ((r = api_check_priv(call, cfg, opath, alloc, false)) < 0 ||
            (r = user_cfg_pool_remove_vm(cfg, oid, vmid)) < 0)
            return r;
    }
    r = user_cfg_pool_add_vm(cfg, poolid, vmid);
    return r == -EINVAL ? api_call_fail(call, 400, NULL, "invalid VM ID '%s'", vmid) : r;
}

static int pool_edit_storage(ApiCall *call, UserCfg *cfg, const char *poolid, const char *storeid) {
    char path[512];
    snprintf(path, sizeof path, "/storage/%s", storeid);
    int r = api_access_check_perm_modify(call, cfg, path, true);
    if (r < 0)
        return r;
    if (param_true(call, "delete")) {
        r = user_cfg_pool_remove_storage(cfg, poolid, storeid);
        if (r == -ENOENT)
            return api_call_fail(call, 500, NULL, "Storage '%s' is not a pool member", storeid);
        return r;
    }
    r = user_cfg_pool_add_storage(cfg, poolid, storeid);
    if (r == -EEXIST)
        return api_call_fail(call, 500, NULL, "Storage '%s' is already a pool member", storeid);
    return r == -EINVAL ? api_call_fail(call, 400, NULL, "invalid storage ID '%s'", storeid) : r;
}

static int pool_update_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *poolid = param_str(call, "poolid"), *comment = param_str(call, "comment");
    _cleanup_strv_ char **vms = api_access_split_list(param_str(call, "vms"));
    _cleanup_strv_ char **storage = api_access_split_list(param_str(call, "storage"));
    (void) userdata;
    if (!vms || !storage)
        return -ENOMEM;
    if (!user_cfg_get_pool(cfg, poolid))
        return fail_no_pool(call, poolid);
    int r = comment ? user_cfg_pool_set_comment(cfg, poolid, comment) : 0;
    for (size_t i = 0; r >= 0 && vms[i]; i++)
        r = pool_edit_vm(call, cfg, poolid, vms[i]);
    for (size_t i = 0; r >= 0 && storage[i]; i++)
        r = pool_edit_storage(call, cfg, poolid, storage[i]);
    return r;
}

static int h_pool_update(ApiCall *call) {
    return api_access_edit_user_cfg(call, "update pools failed", pool_update_edit, NULL);
}

/* A pool may only go when it has no sub-pools, no VM that still exists and no storage that
 * still exists. */
static int pool_check_empty(ApiCall *call, UserCfg *cfg, const UserCfgPool *p) {
    size_t n = strlen(p->poolid);
    for (size_t i = 0; i < user_cfg_n_pools(cfg); i++) {
        const char *sub = user_cfg_pool_at(cfg, i)->poolid;
        if (strneq(sub, p->poolid, n) && sub[n] == '/')
            return api_call_fail(
                call, 500, NULL, "pool '%s' is not empty (contains pool '%s')", p->poolid, sub
            );
    }
    json_t *ids = guest_ids();
    for (size_t i = 0; ids && i < p->n_vms; i++)
        if (json_object_get(ids, p->vms[i])) {
            json_decref(ids);
            return api_call_fail(
                call, 500, NULL, "pool '%s' is not empty (contains VM %s)", p->poolid, p->vms[i]
            );
        }
    json_decref(ids);
    _cleanup_(section_config_freep) SectionConfig *scfg = storage_config(call);
    for (size_t i = 0; scfg && i < p->n_storage; i++)
        if (section_config_find(scfg, NULL, p->storage[i]))
            return api_call_fail(
                call, 500, NULL, "pool '%s' is not empty (contains storage '%s')", p->poolid,
                p->storage[i]
            );
    return 0;
}

static int pool_delete_edit(ApiCall *call, UserCfg *cfg, void *userdata) {
    const char *poolid = param_str(call, "poolid");
    (void) userdata;
    const UserCfgPool *p = user_cfg_get_pool(cfg, poolid);
    if (!p)
        return fail_no_pool(call, poolid);
    int r = pool_check_empty(call, cfg, p);
    return r < 0 ? r : user_cfg_remove_pool(cfg, poolid);
}

static int h_pool_delete(ApiCall *call) {
    return api_access_edit_user_cfg(call, "delete pool failed", pool_delete_edit, NULL);
}

/* ---- schemas and methods -------------------------------------------------------------------- */

#define P_POOLID API_PARAM_STRING("poolid", .format = "pve-poolid", .typetext = "<string>")
#define P_TYPE(...)                                                                                \
    API_PARAM_STRING(                                                                              \
        "type", .optional = true, .enum_values = API_ENUM("qemu", "lxc", "storage"), ##__VA_ARGS__ \
    )
#define P_UPDATE_FIELDS                                                                           \
    API_PARAM_BOOL(                                                                               \
        "allow-move", .optional = true, API_DEFAULT_INT(0), .typetext = "<boolean>",              \
        .description =                                                                            \
            "Allow adding a guest even if already in another pool. The guest will "               \
            "be removed from its current pool and added to this one."                             \
    ),                                                                                            \
        API_PARAM_STRING("comment", .optional = true, .typetext = "<string>"),                    \
        API_PARAM_BOOL(                                                                           \
            "delete", .optional = true, API_DEFAULT_INT(0), .typetext = "<boolean>",              \
            .description = "Remove the passed VMIDs and/or storage IDs instead of adding them."   \
        ),                                                                                        \
        API_PARAM_STRING(                                                                         \
            "storage", .optional = true, .format = "pve-storage-id-list", .typetext = "<string>", \
            .description = "List of storage IDs to add or remove from this pool."                 \
        ),                                                                                        \
        API_PARAM_STRING(                                                                         \
            "vms", .optional = true, .format = "pve-vmid-list", .typetext = "<string>",           \
            .description = "List of guest VMIDs to add or remove from this pool."                 \
        )

static const ApiSchema member_item = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("id"),
            API_PARAM_STRING("node"),
            API_PARAM_STRING("storage", .optional = true),
            API_PARAM_STRING("type", .enum_values = API_ENUM("qemu", "lxc", "openvz", "storage")),
            API_PARAM_INTEGER("vmid", .optional = true)
        ),
        .additional_properties = true
);
static const ApiSchema list_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING(
                "poolid", .optional = true, .format = "pve-poolid", .typetext = "<string>"
            ),
            P_TYPE(.requires = "poolid")
        )
);
static const ApiSchema list_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_STRING("poolid"),
        API_PARAM_STRING("comment", .optional = true),
        API_PARAM_ARRAY("members", &member_item, .optional = true)
    )
));
static const ApiSchema get_params = API_OBJECT(.properties = API_PROPERTIES(P_POOLID, P_TYPE()));
static const ApiSchema get_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("comment", .optional = true), API_PARAM_ARRAY("members", &member_item)
        )
);
static const ApiSchema create_params = API_OBJECT(
        .properties = API_PROPERTIES(
            P_POOLID, API_PARAM_STRING("comment", .optional = true, .typetext = "<string>")
        )
);
static const ApiSchema update_params =
    API_OBJECT(.properties = API_PROPERTIES(P_POOLID, P_UPDATE_FIELDS));
static const ApiSchema poolid_params = API_OBJECT(.properties = API_PROPERTIES(P_POOLID));
static const ApiSchema null_returns = API_SCALAR(API_TYPE_NULL);

#define PERM_ALLOCATE API_PERM_CHECK("/pool/{poolid}", API_PRIVS("Pool.Allocate"))

static const ApiMethod methods[] = {
    {.path = "/pools",
     .method = API_METHOD_GET,
     .name = "index",
     .description = "List pools or get pool configuration.",
     .parameters = &list_params,
     .returns = &list_returns,
     .permissions = API_PERM_ALL,
     .allowtoken = true,
     .handler = h_pools_list},
    {.path = "/pools",
     .method = API_METHOD_POST,
     .name = "create_pool",
     .description = "Create new pool.",
     .parameters = &create_params,
     .returns = &null_returns,
     .permissions = PERM_ALLOCATE,
     .protected = true,
     .allowtoken = true,
     .handler = h_pool_create},
    {.path = "/pools",
     .method = API_METHOD_PUT,
     .name = "update_pool",
     .description = "Update pool.",
     .parameters = &update_params,
     .returns = &null_returns,
     .permissions = PERM_ALLOCATE,
     .protected = true,
     .allowtoken = true,
     .handler = h_pool_update},
    {.path = "/pools",
     .method = API_METHOD_DELETE,
     .name = "delete_pool",
     .description = "Delete pool.",
     .parameters = &poolid_params,
     .returns = &null_returns,
     .permissions = PERM_ALLOCATE,
     .protected = true,
     .allowtoken = true,
     .handler = h_pool_delete},
    {.path = "/pools/{poolid}",
     .method = API_METHOD_GET,
     .name = "read_pool",
     .description = "Get pool configuration (deprecated, no support for nested pools, use "
                    "'GET /pools/?poolid={poolid}').",
     .parameters = &get_params,
     .returns = &get_returns,
     .permissions = API_PERM_CHECK("/pool/{poolid}", API_PRIVS("Pool.Audit")),
     .allowtoken = true,
     .handler = h_pool_get},
    {.path = "/pools/{poolid}",
     .method = API_METHOD_PUT,
     .name = "update_pool_deprecated",
     .description = "Update pool data (deprecated, no support for nested pools - use 'PUT "
                    "/pools/?poolid={poolid}' instead).",
     .parameters = &update_params,
     .returns = &null_returns,
     .permissions = PERM_ALLOCATE,
     .protected = true,
     .allowtoken = true,
     .handler = h_pool_update},
    {.path = "/pools/{poolid}",
     .method = API_METHOD_DELETE,
     .name = "delete_pool_deprecated",
     .description = "Delete pool (deprecated, no support for nested pools, use 'DELETE "
                    "/pools/?poolid={poolid}').",
     .parameters = &poolid_params,
     .returns = &null_returns,
     .permissions = PERM_ALLOCATE,
     .protected = true,
     .allowtoken = true,
     .handler = h_pool_delete},
};

int api_pools_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
