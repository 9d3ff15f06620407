/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-cluster: /cluster (index), status, resources, nextid, log, tasks and options
 * (datacenter.cfg); /cluster/resources is in api-cluster-resources.c, the corosync
 * configuration, cluster creation and join in api-cluster-config.c.
 *
 * Data sources, as upstream: pmxcfs's .members (cluster info), .vmlist (guests), .rrd (live
 * numbers broadcast by pvestatd), guest config properties, the cluster log and the per-node
 * "tasklist" kv; storage.cfg, user.cfg (pools, permissions) and datacenter.cfg from /etc/pve.
 */
#include "api-cluster.h"

#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/cfs-ipc.h"
#include "pve/datacenter-cfg.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/string-util.h"
#include "pve/task.h"
#include "pve/ui-enums.h"
#include "pve/upid.h"

/* ---- shared views of pmxcfs state -------------------------------------------------------------
 */

json_t *cluster_ipc_json(int (*fn)(char **, size_t *)) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    if (fn(&text, &len) < 0)
        return NULL;
    return json_loadb(text, len, 0, NULL);
}

void cluster_view_done(ClusterView *v) {
    json_decref(v->members);
    json_decref(v->nodes);
    *v = (ClusterView){};
}

int cluster_view_load(ApiCall *call, ClusterView *v) {
    ApiEnv *env = api_env(call);
    *v = (ClusterView){};
    v->members = cluster_ipc_json(cfs_ipc_get_cluster_info);
    v->nodes = json_array();
    if (!v->nodes)
        return -ENOMEM;
    json_t *list = json_object_get(v->members, "nodelist");
    v->cluster = json_object_get(v->members, "cluster");
    if (json_is_object(v->cluster) && json_is_object(list) && json_object_size(list) > 0) {
        v->nodelist = list;
        const char *name;
        json_t *n;
        json_object_foreach(list, name, n) {
            if (json_array_append_new(v->nodes, json_string(name)) < 0)
                return -ENOMEM;
        }
    } else {
        v->cluster = NULL;
        if (json_array_append_new(v->nodes, json_string(env->nodename)) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* member info of node (cluster mode), NULL otherwise */
json_t *cluster_member(const ClusterView *v, const char *node) {
    return v->nodelist ? json_object_get(v->nodelist, node) : NULL;
}

/* ---- GET /cluster ------------------------------------------------------------------------------
 */

static int h_index(ApiCall *call) {
    static const char *const subdirs[] = {
        "log", "options", "resources", "status", "tasks", "nextid", "config",
    };
    json_t *a = json_array();
    for (size_t i = 0; a && i < ELEMENTSOF(subdirs); i++)
        if (json_array_append_new(a, json_pack("{s:s}", "name", subdirs[i])) < 0)
            return json_decref(a), -ENOMEM;
    return api_call_set_result(call, a);
}

/* ---- GET /cluster/status -----------------------------------------------------------------------
 */

/* first non-loopback address of name */
static int resolve_ip(const char *name, char ret[INET6_ADDRSTRLEN]) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int r = -ENXIO;
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        return -ENXIO;
    for (struct addrinfo *a = res; a && r < 0; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            const struct in_addr *in = &((struct sockaddr_in *) a->ai_addr)->sin_addr;
            if ((ntohl(in->s_addr) >> 24) != 127 && inet_ntop(AF_INET, in, ret, INET6_ADDRSTRLEN))
                r = 0;
        } else if (a->ai_family == AF_INET6) {
            const struct in6_addr *in6 = &((struct sockaddr_in6 *) a->ai_addr)->sin6_addr;
            if (!IN6_IS_ADDR_LOOPBACK(in6) && inet_ntop(AF_INET6, in6, ret, INET6_ADDRSTRLEN))
                r = 0;
        }
    }
    freeaddrinfo(res);
    return r;
}

/* the node's IP: pmxcfs's "nodeip" kv, else name resolution; NULL when unknown */
static char *node_ip(const char *node) {
    _cleanup_free_ char *ip = NULL;
    size_t len = 0;
    if (cfs_ipc_get_status("nodeip", node, &ip, &len) >= 0 && len > 0)
        return strndup(ip, strcspn(ip, "\n"));
    char buf[INET6_ADDRSTRLEN];
    if (resolve_ip(node, buf) >= 0)
        return strdup(buf);
    return NULL;
}

static json_t *
status_node_entry(ApiCall *call, const ClusterView *v, const char *node, const json_t *rrd) {
    ApiEnv *env = api_env(call);
    const json_t *m = cluster_member(v, node);
    bool local = streq(node, env->nodename);
    _cleanup_free_ char *id = NULL;
    if (asprintf(&id, "node/%s", node) < 0)
        return NULL;
    json_t *e = json_pack(
        "{s:s,s:s,s:s,s:i,s:i,s:i}", "type", "node", "id", id, "name", node, "nodeid",
        m ? json_integer_value(json_object_get(m, "id")) : 0, "local", local, "online",
        m ? json_integer_value(json_object_get(m, "online")) != 0 : 1
    );
    if (!e)
        return NULL;
    const char *ip = m ? json_string_value(json_object_get(m, "ip")) : NULL;
    _cleanup_free_ char *own_ip = NULL;
    if (!ip)
        ip = own_ip = node_ip(node);
    const char *level = cluster_rrd_str(cluster_rrd_get(rrd, "pve2-node", "pve-node-9.0", node), 1);
    if (json_util_set_string(e, "ip", ip) < 0 ||
        json_util_set_string(e, "level", level ?: "") < 0) {
        json_decref(e);
        return NULL;
    }
    return e;
}

static int h_status(ApiCall *call) {
    _cleanup_(cluster_view_done) ClusterView v = {};
    _cleanup_json_ json_t *rrd = cluster_rrd_load();
    int r = cluster_view_load(call, &v);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *a = json_array();
    if (!a)
        return -ENOMEM;
    if (v.cluster) {
        json_t *c = json_pack(
            "{s:s,s:s,s:O,s:O,s:O,s:O}", "type", "cluster", "id", "cluster", "name",
            json_object_get(v.cluster, "name"), "version", json_object_get(v.cluster, "version"),
            "nodes", json_object_get(v.cluster, "nodes"), "quorate",
            json_object_get(v.cluster, "quorate")
        );
        if (json_util_append_new(a, c) < 0)
            return -ENOMEM;
    }
    size_t i;
    json_t *n;
    json_array_foreach(v.nodes, i, n) {
        if (json_util_append_new(a, status_node_entry(call, &v, json_string_value(n), rrd)) < 0)
            return -ENOMEM;
    }
    return api_call_set_result(call, TAKE_PTR(a));
}

/* ---- GET /cluster/nextid -----------------------------------------------------------------------
 */

int cluster_read_datacenter_cfg(
    ApiCall *call, DatacenterCfg **ret, char **ret_text, size_t *ret_len
) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = api_read_file(call, PVE_CFS_DATACENTER_CFG, &text, &len);
    if (r < 0)
        return r;
    r = datacenter_cfg_parse(text, len, ret);
    if (r == -EFBIG)
        return api_call_fail(call, 500, NULL, "datacenter.cfg: file too large");
    if (r < 0)
        return r;
    if (ret_text)
        *ret_text = TAKE_PTR(text);
    if (ret_len)
        *ret_len = len;
    return 0;
}

static int h_nextid(ApiCall *call) {
    _cleanup_json_ json_t *list = cluster_ipc_json(cfs_ipc_get_guest_list);
    if (!list)
        return api_call_fail(call, 500, NULL, "unable to read the VM list from pmxcfs");
    json_t *ids = json_object_get(list, "ids");
    long long vmid = 0;
    char key[32];
    if (api_call_param_int(call, "vmid", &vmid) >= 0 && vmid > 0) {
        snprintf(key, sizeof key, "%lld", vmid);
        if (!json_object_get(ids, key))
            return api_call_set_result(call, json_integer(vmid));
        json_t *errors = json_object();
        _cleanup_free_ char *msg = NULL;
        if (!errors || asprintf(&msg, "VM %lld already exists", vmid) < 0 ||
            json_util_set_string(errors, "vmid", msg) < 0) {
            json_decref(errors);
            return -ENOMEM;
        }
        return api_call_fail(call, 400, errors, "Parameter verification failed.");
    }
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *dc = NULL;
    int r = cluster_read_datacenter_cfg(call, &dc, NULL, NULL);
    if (r < 0)
        return r;
    long long lower, upper;
    datacenter_cfg_next_id_range(dc, &lower, &upper);
    for (long long i = lower; i < upper; i++) {
        snprintf(key, sizeof key, "%lld", i);
        if (!json_object_get(ids, key))
            return api_call_set_result(call, json_integer(i));
    }
    return api_call_fail(
        call, 500, NULL, "unable to get any free VMID in range [%lld, %lld]", lower, upper
    );
}

/* ---- GET /cluster/log --------------------------------------------------------------------------
 */

static int h_log(ApiCall *call) {
    long long max = 0;
    (void) api_call_param_int(call, "max", &max);
    const char *const syslog[] = {"Sys.Syslog", NULL};
    bool admin = api_has_priv(call, NULL, "/", syslog, false);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = cfs_ipc_get_cluster_log(
        max > 0 && max < UINT32_MAX ? (unsigned) max : 0, admin ? "" : api_user(call), &text, &len
    );
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to read the cluster log - %s", strerror(-r));
    _cleanup_json_ json_t *log = json_loadb(text, len, 0, NULL);
    json_t *data = json_object_get(log, "data");
    if (!json_is_array(data))
        return api_call_fail(call, 500, NULL, "unable to parse the cluster log");
    size_t i;
    json_t *e;
    json_array_foreach(data, i, e) {
        _cleanup_free_ char *id = NULL;
        if (asprintf(
                &id, "%lld:%s", (long long) json_integer_value(json_object_get(e, "uid")),
                json_string_value(json_object_get(e, "node")) ?: ""
            ) < 0 ||
            json_util_set_string(e, "id", id) < 0)
            return -ENOMEM;
    }
    return api_call_set_result(call, json_incref(data));
}

/* ---- GET /cluster/tasks ------------------------------------------------------------------------
 */

/* complete a broadcast entry ({upid,saved,endtime?,status?}) with the UPID's fields */
static json_t *task_entry_from_kv(const json_t *t) {
    const char *upid = json_string_value(json_object_get(t, "upid"));
    Upid u;
    if (!upid || upid_decode(upid, &u) < 0)
        return NULL;
    json_t *e = json_pack(
        "{s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:s}", "upid", upid, "node", u.node, "pid",
        (json_int_t) u.pid, "pstart", (json_int_t) u.pstart, "starttime", (json_int_t) u.starttime,
        "type", u.type, "id", u.id, "user", u.user
    );
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) t, key, v) {
        if (e && (streq(key, "endtime") || streq(key, "status") || streq(key, "saved")))
            (void) json_object_set(e, key, v);
    }
    return e;
}

static int cmp_starttime(const void *a, const void *b) {
    json_t *const *x = a, *const *y = b;
    long long sx = json_integer_value(json_object_get(*x, "starttime"));
    long long sy = json_integer_value(json_object_get(*y, "starttime"));
    return sx < sy ? 1 : sx > sy ? -1 : 0;
}

static int add_remote_tasks(ApiCall *call, const ClusterView *v, json_t *all) {
    size_t i;
    json_t *n;
    json_array_foreach(v->nodes, i, n) {
        const char *node = json_string_value(n);
        if (streq(node, api_env(call)->nodename))
            continue;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if (cfs_ipc_get_status("tasklist", node, &text, &len) < 0)
            continue;
        _cleanup_json_ json_t *list = json_loadb(text, len, 0, NULL);
        size_t j;
        json_t *t;
        json_array_foreach(list, j, t) {
            json_t *e = task_entry_from_kv(t);
            if (e && json_util_append_new(all, e) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

static int h_tasks(ApiCall *call) {
    ApiEnv *env = api_env(call);
    TaskListFilter f = TASK_LIST_FILTER_INIT;
    f.source = TASK_SOURCE_ALL;
    f.limit = 50;
    _cleanup_json_ json_t *all = NULL;
    unsigned total = 0;
    int r = task_list(env->taskdir, &f, &all, &total);
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to read the task list - %s", strerror(-r));
    _cleanup_(cluster_view_done) ClusterView v = {};
    if ((r = cluster_view_load(call, &v)) < 0)
        return r;
    if ((r = add_remote_tasks(call, &v, all)) < 0)
        return r;

    const char *const audit[] = {"Sys.Audit", NULL};
    bool everything = api_has_priv(call, NULL, "/", audit, false);
    size_t n = json_array_size(all);
    _cleanup_free_ json_t **items = calloc(n + 1, sizeof *items);
    if (!items)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    qsort(items, n, sizeof *items, cmp_starttime);
    _cleanup_json_ json_t *res = json_array();
    if (!res)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *t = items[i];
        const char *user = json_string_value(json_object_get(t, "user"));
        if (!user)
            continue;
        const char *bang = strchr(user, '!');
        _cleanup_free_ char *owner = bang ? strndup(user, (size_t) (bang - user)) : NULL;
        if (!everything && !streq(user, api_user(call)))
            continue;
        if (bang) {
            if (!owner || json_util_set_string(t, "tokenid", bang + 1) < 0 ||
                json_util_set_string(t, "user", owner) < 0)
                return -ENOMEM;
        }
        if (json_array_append(res, t) < 0)
            return -ENOMEM;
    }
    return api_call_set_result(call, TAKE_PTR(res));
}

/* ---- GET/PUT /cluster/options ------------------------------------------------------------------
 */

static int h_options_get(ApiCall *call) {
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *dc = NULL;
    int r = cluster_read_datacenter_cfg(call, &dc, NULL, NULL);
    if (r < 0)
        return r;
    return api_call_set_result(call, datacenter_cfg_to_json(dc));
}

/* string form of a validated parameter (booleans and integers arrive typed) */
static char *param_text(const json_t *v) {
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        char *s = NULL;
        return asprintf(&s, "%lld", (long long) json_integer_value(v)) < 0 ? NULL : s;
    }
    if (json_is_boolean(v))
        return strdup(json_is_true(v) ? "1" : "0");
    return NULL;
}

/* check every value before anything is changed: 400 with an errors map */
static int options_check(ApiCall *call) {
    _cleanup_json_ json_t *errors = json_object();
    if (!errors)
        return -ENOMEM;
    const char *key;
    json_t *v;
    json_object_foreach(call->params, key, v) {
        if (streq(key, "delete"))
            continue;
        _cleanup_free_ char *text = param_text(v), *msg = NULL;
        if (!text)
            return -ENOMEM;
        int r = datacenter_cfg_check_value(key, text, &msg);
        if (r == -ENOMEM)
            return r;
        if (r < 0 && json_util_set_string(errors, key, msg ?: "invalid value") < 0)
            return -ENOMEM;
    }
    const char *del = NULL;
    (void) api_call_param_string(call, "delete", &del);
    _cleanup_free_ char *copy = del ? strdup(del) : NULL;
    for (char *save = NULL, *k = copy ? strtok_r(copy, ",; ", &save) : NULL; k;
         k = strtok_r(NULL, ",; ", &save)) {
        if (json_object_get(call->params, k) &&
            json_util_set_string(errors, "delete", "cannot set and delete the same option") < 0)
            return -ENOMEM;
    }
    if (json_object_size(errors) == 0)
        return 0;
    return api_call_fail(call, 400, TAKE_PTR(errors), "Parameter verification failed.");
}

static int
options_update(ApiCall *call, const char *text, size_t len, char **ret_new, void *userdata) {
    (void) userdata;
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *dc = NULL;
    int r = datacenter_cfg_parse(text, len, &dc);
    if (r < 0)
        return r == -ENOMEM ? r : api_call_fail(call, 500, NULL, "datacenter.cfg: file too large");
    const char *del = NULL;
    (void) api_call_param_string(call, "delete", &del);
    _cleanup_free_ char *copy = del ? strdup(del) : NULL;
    for (char *save = NULL, *k = copy ? strtok_r(copy, ",; ", &save) : NULL; k;
         k = strtok_r(NULL, ",; ", &save))
        (void) datacenter_cfg_unset(dc, k);
    const char *key;
    json_t *v;
    json_object_foreach(call->params, key, v) {
        if (streq(key, "delete"))
            continue;
        _cleanup_free_ char *value = param_text(v), *msg = NULL;
        if (!value)
            return -ENOMEM;
        r = datacenter_cfg_set(dc, key, value, &msg);
        if (r == -ENOMEM)
            return r;
        if (r < 0) {
            json_t *errors = json_pack("{s:s}", key, msg ?: "invalid value");
            return api_call_fail(call, 400, errors, "Parameter verification failed.");
        }
    }
    return datacenter_cfg_print(dc, ret_new);
}

static int h_options_put(ApiCall *call) {
    int r = options_check(call);
    if (r < 0)
        return r;
    r = api_update_file(call, PVE_CFS_DATACENTER_CFG, options_update, NULL);
    return r < 0 ? r : 0;
}

/* ---- method table ------------------------------------------------------------------------------
 */

static const ApiSchema resources_params = API_OBJECT(
        .properties = API_PROPERTIES(API_PARAM_STRING(
            "type", .optional = true, .enum_values = API_ENUM("vm", "storage", "node", "sdn")
        ))
);

static const ApiSchema nextid_params = API_OBJECT(
        .properties = API_PROPERTIES(API_PARAM_INTEGER(
            "vmid",
            .optional = true,
            .format = "pve-vmid",
            API_RANGE(100, 999999999),
            .description = "The (unique) ID of the VM."
        ))
);

static const ApiSchema log_params = API_OBJECT(
        .properties = API_PROPERTIES(API_PARAM_INTEGER(
            "max", .optional = true, API_MIN(1), .description = "Maximum number of entries."
        ))
);

#define ENUM_STR(n, ...) API_PARAM_STRING(n, .optional = true, .enum_values = API_ENUM(__VA_ARGS__))
#define PS_STR(n, t)     API_PARAM_STRING(n, .optional = true, API_FORMAT_FIELDS(t))

static const ApiSchema options_params = API_OBJECT(
        .properties = API_PROPERTIES(
            PS_STR("bwlimit", datacenter_cfg_bwlimit_fields),
            API_PARAM_STRING("consent-text", .optional = true, .max_length = 65536),
            ENUM_STR("console", "applet", "vv", "html5", "xtermjs"),
            PS_STR("crs", datacenter_cfg_crs_fields),
            API_PARAM_STRING("delete", .optional = true, .format = "pve-configid-list"),
            API_PARAM_STRING("description", .optional = true, .max_length = 65536),
            API_PARAM_STRING("email_from", .optional = true),
            ENUM_STR("fencing", "watchdog", "hardware", "both"),
            PS_STR("ha", datacenter_cfg_ha_fields),
            API_PARAM_STRING("http_proxy", .optional = true, .pattern = "http://.*"),
            ENUM_STR("keyboard", PVE_KEYBOARD_LAYOUTS),
            ENUM_STR("language", PVE_UI_LANGUAGES),
            API_PARAM_STRING("mac_prefix", .optional = true),
            API_PARAM_INTEGER("max_workers", .optional = true, API_MIN(1)),
            PS_STR("migration", datacenter_cfg_migration_fields),
            API_PARAM_BOOL("migration_unsecure", .optional = true),
            PS_STR("next-id", datacenter_cfg_next_id_fields),
            PS_STR("notify", datacenter_cfg_notify_fields),
            API_PARAM_STRING("registered-tags", .optional = true),
            PS_STR("replication", datacenter_cfg_migration_fields),
            PS_STR("tag-style", datacenter_cfg_tag_style_fields),
            PS_STR("u2f", datacenter_cfg_u2f_fields),
            PS_STR("user-tag-access", datacenter_cfg_user_tag_access_fields),
            PS_STR("webauthn", datacenter_cfg_webauthn_fields)
        )
);

static const ApiSchema array_of_objects = API_ARRAY(API_ITEMS(API_TYPE_OBJECT));

static const ApiPermissions perm_options_get = {
    .user = API_PERM_USER_ALL,
    .check =
        &(const ApiPermCheck){.kind = API_CHECK_PERM, .path = "/", .privs = API_PRIVS("Sys.Audit")},
};

static const ApiMethod methods[] = {
    {
        .path = "/cluster",
        .method = API_METHOD_GET,
        .name = "index",
        .description = "Cluster index.",
        .returns = &array_of_objects,
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = h_index,
    },
    {
        .path = "/cluster/status",
        .method = API_METHOD_GET,
        .name = "get_status",
        .description = "Get cluster status information.",
        .returns = &array_of_objects,
        .permissions = API_PERM_CHECK("/", API_PRIVS("Sys.Audit")),
        .protected = true,
        .allowtoken = true,
        .handler = h_status,
    },
    {
        .path = "/cluster/resources",
        .method = API_METHOD_GET,
        .name = "resources",
        .description = "Resources index (cluster wide).",
        .parameters = &resources_params,
        .returns = &array_of_objects,
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = cluster_h_resources,
    },
    {
        .path = "/cluster/nextid",
        .method = API_METHOD_GET,
        .name = "nextid",
        .description =
            "Get next free VMID. Pass a VMID to assert that its free (at time of check).",
        .parameters = &nextid_params,
        .returns = &(const ApiSchema) API_SCALAR(API_TYPE_INTEGER),
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = h_nextid,
    },
    {
        .path = "/cluster/log",
        .method = API_METHOD_GET,
        .name = "log",
        .description = "Read cluster log",
        .parameters = &log_params,
        .returns = &array_of_objects,
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = h_log,
    },
    {
        .path = "/cluster/tasks",
        .method = API_METHOD_GET,
        .name = "tasks",
        .description = "List recent tasks (cluster wide).",
        .returns = &array_of_objects,
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = h_tasks,
    },
    {
        .path = "/cluster/options",
        .method = API_METHOD_GET,
        .name = "get_options",
        .description = "Get datacenter options.",
        .returns = &(const ApiSchema) API_OBJECT(.additional_properties = true),
        .permissions = &perm_options_get,
        .allowtoken = true,
        .handler = h_options_get,
    },
    {
        .path = "/cluster/options",
        .method = API_METHOD_PUT,
        .name = "set_options",
        .description = "Set datacenter options.",
        .parameters = &options_params,
        .permissions = API_PERM_CHECK("/", API_PRIVS("Sys.Modify")),
        .protected = true,
        .allowtoken = true,
        .handler = h_options_put,
    },
};

int api_cluster_register(ApiRouter *r) {
    int k = api_router_add(r, methods);
    if (k < 0)
        return k;
    return api_cluster_config_register(r);
}
