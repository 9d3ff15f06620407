/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-cluster-resources: GET /cluster/resources, the cluster-wide resource list: guests from
 * pmxcfs's VM list (live numbers from the pve2.3-vm values pvestatd broadcasts, in the .rrd
 * dump; name/memory/cores/template/lock/tags from their config properties), nodes, storage from
 * storage.cfg (one entry per node it is enabled on) and pools from user.cfg, filtered by the
 * caller's privileges as upstream. Also the .rrd dump helpers that /cluster/status shares.
 */
#include <sys/statvfs.h>
#include <sys/sysinfo.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api-cluster.h"
#include "pve/api-env.h"
#include "pve/cfs-generation.h"
#include "pve/cfs-ipc.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/section-config.h"
#include "pve/string-util.h"

/* .rrd dump as key -> array of the colon-separated fields after the key */
json_t *cluster_rrd_load(void) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    json_t *o = json_object();
    if (!o || cfs_ipc_get_rrd_dump(&text, &len) < 0)
        return o;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(l, ':');
        if (!colon)
            continue;
        *colon = 0;
        json_t *a = json_array();
        for (char *p = colon + 1;;) {
            size_t n = strcspn(p, ":");
            (void) json_array_append_new(a, json_stringn(p, n));
            if (!p[n])
                break;
            p += n + 1;
        }
        (void) json_object_set_new(o, l, a);
    }
    return o;
}

json_t *
cluster_rrd_get(const json_t *rrd, const char *prefix_old, const char *prefix_new, const char *id) {
    char key[512];
    snprintf(key, sizeof key, "%s/%s", prefix_new, id);
    json_t *a = json_object_get(rrd, key);
    if (a)
        return a;
    snprintf(key, sizeof key, "%s/%s", prefix_old, id);
    return json_object_get(rrd, key);
}

/* field i of an rrd entry as a number (undefined / "U" -> 0) */
double cluster_rrd_num(const json_t *a, size_t i) {
    const char *s = json_string_value(json_array_get(a, i));
    return s && *s && !streq(s, "U") ? strtod(s, NULL) : 0;
}

const char *cluster_rrd_str(const json_t *a, size_t i) {
    const char *s = json_string_value(json_array_get(a, i));
    return s && *s && !streq(s, "U") ? s : NULL;
}

int cluster_set_num(json_t *o, const char *key, double v) {
    if (v == (double) (long long) v)
        return json_util_set_int(o, key, (long long) v);
    return json_util_set_new(o, key, json_real(v));
}

/* ---- GET /cluster/resources --------------------------------------------------------------------
 */

typedef struct ResCtx {
    ApiCall *call;
    UserCfg *ucfg;
    ClusterView view;
    json_t *rrd;
    json_t *res;
    json_t *pools; /* poolid -> entry (borrowed from res) */
} ResCtx;

static void res_ctx_done(ResCtx *c) {
    user_cfg_free(c->ucfg);
    cluster_view_done(&c->view);
    json_decref(c->rrd);
    json_decref(c->res);
    json_decref(c->pools);
}

static bool can(ResCtx *c, const char *fmt, const char *arg, const char *priv) {
    char path[512];
    snprintf(path, sizeof path, fmt, arg);
    const char *const privs[] = {priv, NULL};
    return api_has_priv(c->call, c->ucfg, path, privs, false);
}

static int add_pools(ResCtx *c) {
    for (size_t i = 0; i < user_cfg_n_pools(c->ucfg); i++) {
        const UserCfgPool *p = user_cfg_pool_at(c->ucfg, i);
        if (!can(c, "/pool/%s", p->poolid, "Pool.Audit"))
            continue;
        _cleanup_free_ char *id = NULL;
        if (asprintf(&id, "/pool/%s", p->poolid) < 0)
            return -ENOMEM;
        json_t *e = json_pack("{s:s,s:s,s:s}", "id", id, "pool", p->poolid, "type", "pool");
        if (!e || json_object_set(c->pools, p->poolid, e) < 0 ||
            json_util_append_new(c->res, e) < 0)
            return -ENOMEM;
    }
    return 0;
}

static const char *pool_of_vm(const UserCfg *cfg, const char *vmid) {
    for (size_t i = 0; i < user_cfg_n_pools(cfg); i++) {
        const UserCfgPool *p = user_cfg_pool_at(cfg, i);
        for (size_t j = 0; j < p->n_vms; j++)
            if (streq(p->vms[j], vmid))
                return p->poolid;
    }
    return NULL;
}

/*
 * Guest entries as upstream builds them: the live numbers (status, uptime, cpu, mem, disk,
 * net and disk counters) from the pve2.3-vm value pvestatd broadcast (the .rrd dump); name,
 * maxmem, maxcpu, template, lock and tags from the config properties pmxcfs keeps for every
 * guest, so an edit shows at once. A value neither tells falls back to upstream's defaults.
 */

/* a config property as a positive integer, or 0 when unset / not a number */
static long long prop_int(const json_t *props, const char *key) {
    const char *v = json_string_value(json_object_get(props, key));
    long long n = 0;
    return v && safe_atoi64(v, &n) >= 0 && n > 0 ? n : 0;
}

static int vm_config_stats(json_t *e, const char *type, long long vmid, const json_t *props) {
    bool lxc = streq(type, "lxc");
    const char *name = json_string_value(json_object_get(props, lxc ? "hostname" : "name"));
    const char *tmpl = json_string_value(json_object_get(props, "template"));
    long long mem = prop_int(props, "memory"), cores = prop_int(props, "cores");
    long long sockets = lxc ? 1 : prop_int(props, "sockets") ?: 1;
    char dflt[32];
    if (name || !json_object_get(e, "name")) {
        snprintf(dflt, sizeof dflt, lxc ? "CT%lld" : "VM %lld", vmid);
        if (json_util_set_string(e, "name", name ?: dflt) < 0)
            return -ENOMEM;
    }
    if (mem || !json_object_get(e, "maxmem"))
        if (json_util_set_int(e, "maxmem", (mem ?: (lxc ? 512 : 2048)) * 1024 * 1024) < 0)
            return -ENOMEM;
    /* an LXC container without cores may use every host CPU: pvestatd's number wins then */
    if (cores || !json_object_get(e, "maxcpu"))
        if (json_util_set_int(e, "maxcpu", (cores ?: 1) * sockets) < 0)
            return -ENOMEM;
    return json_util_set_int(e, "template", tmpl && property_string_parse_bool(tmpl) > 0);
}

static int vm_rrd_stats(json_t *e, const json_t *d) {
    static const struct {
        const char *key;
        size_t idx;
    } nums[] = {
        {"uptime", 0},  {"maxcpu", 5},    {"cpu", 6},        {"maxmem", 7},
        {"mem", 8},     {"maxdisk", 9},   {"disk", 10},      {"netin", 11},
        {"netout", 12}, {"diskread", 13}, {"diskwrite", 14},
    };
    for (size_t i = 0; i < ELEMENTSOF(nums); i++)
        if (cluster_set_num(e, nums[i].key, cluster_rrd_num(d, nums[i].idx)) < 0)
            return -ENOMEM;
    const char *status = cluster_rrd_str(d, 2), *name = cluster_rrd_str(d, 1);
    if ((name && json_util_set_string(e, "name", name) < 0) ||
        json_util_set_string(e, "status", status ?: "unknown") < 0)
        return -ENOMEM;
    return 0;
}

/* no pvestatd value yet: zeros for the live numbers */
static int vm_no_rrd_stats(json_t *e) {
    static const char *const zero[] = {"uptime", "cpu",    "mem",      "disk",     "maxdisk",
                                       "netin",  "netout", "diskread", "diskwrite"};
    for (size_t i = 0; i < ELEMENTSOF(zero); i++)
        if (json_util_set_int(e, zero[i], 0) < 0)
            return -ENOMEM;
    return 0;
}

static void pool_account(ResCtx *c, const char *pool, const json_t *e) {
    json_t *pe = json_object_get(c->pools, pool);
    if (!pe)
        return;
    long long up = json_integer_value(json_object_get(e, "uptime"));
    if (up > 0) {
        if (up > json_integer_value(json_object_get(pe, "uptime")))
            (void) json_util_set_int(pe, "uptime", up);
        (void) json_util_set_int(
            pe, "mem",
            json_integer_value(json_object_get(pe, "mem")) +
                json_integer_value(json_object_get(e, "mem"))
        );
    }
    (void) json_util_set_int(
        pe, "maxdisk",
        json_integer_value(json_object_get(pe, "maxdisk")) +
            json_integer_value(json_object_get(e, "maxdisk"))
    );
}

static int add_vms(ResCtx *c) {
    _cleanup_json_ json_t *list = cluster_ipc_json(cfs_ipc_get_guest_list);
    static const char *const propnames[] = {"name",    "hostname", "memory", "cores",
                                            "sockets", "template", "lock",   "tags"};
    _cleanup_free_ char *ptext = NULL;
    size_t plen = 0;
    _cleanup_json_ json_t *props = NULL;
    if (cfs_ipc_get_guest_config_properties(0, propnames, ELEMENTSOF(propnames), &ptext, &plen) >=
        0)
        props = json_loadb(ptext, plen, 0, NULL);
    const char *vmid;
    json_t *d;
    json_object_foreach(json_object_get(list, "ids"), vmid, d) {
        const char *type = json_string_value(json_object_get(d, "type"));
        const char *node = json_string_value(json_object_get(d, "node"));
        long long id;
        if (!type || !node || safe_atoi64(vmid, &id) < 0)
            continue;
        _cleanup_free_ char *rid = NULL;
        if (asprintf(&rid, "%s/%s", type, vmid) < 0)
            return -ENOMEM;
        _cleanup_json_ json_t *e = json_pack(
            "{s:s,s:I,s:s,s:s,s:s}", "id", rid, "vmid", (json_int_t) id, "node", node, "type", type,
            "status", "unknown"
        );
        if (!e)
            return -ENOMEM;
        json_t *p = json_object_get(props, vmid);
        const json_t *rd = cluster_rrd_get(c->rrd, "pve2.3-vm", "pve-vm-9.0", vmid);
        int r = rd ? vm_rrd_stats(e, rd) : vm_no_rrd_stats(e);
        if (r < 0 || (r = vm_config_stats(e, type, id, p)) < 0)
            return r;
        if (!rd && json_object_get(p, "lock") == NULL && streq(node, api_env(c->call)->nodename))
            (void) json_util_set_string(e, "status", "stopped");
        const char *pool = pool_of_vm(c->ucfg, vmid);
        if (pool) {
            (void) json_util_set_string(e, "pool", pool);
            pool_account(c, pool, e);
        }
        if (!can(c, "/vms/%s", vmid, "VM.Audit"))
            continue;
        if (pool && !can(c, "/pool/%s", pool, "Pool.Audit"))
            (void) json_object_del(e, "pool");
        for (size_t i = 6; i < ELEMENTSOF(propnames); i++) /* lock, tags */
            (void) json_util_set_string(
                e, propnames[i], json_string_value(json_object_get(p, propnames[i]))
            );
        if (json_util_append_new(c->res, TAKE_PTR(e)) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* the local node's numbers when pvestatd has not broadcast any */
static int local_node_stats(json_t *e) {
    struct sysinfo si;
    struct statvfs sv;
    if (sysinfo(&si) < 0)
        return 0;
    unsigned long long unit = si.mem_unit ? si.mem_unit : 1;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned long long total = 0, used = 0;
    if (statvfs("/", &sv) == 0) {
        total = (unsigned long long) sv.f_blocks * sv.f_frsize;
        used = total - (unsigned long long) sv.f_bfree * sv.f_frsize;
    }
    if (json_util_set_int(e, "uptime", si.uptime) < 0 || json_util_set_int(e, "cpu", 0) < 0 ||
        json_util_set_int(e, "maxcpu", ncpu > 0 ? ncpu : 1) < 0 ||
        json_util_set_int(e, "maxmem", (long long) (si.totalram * unit)) < 0 ||
        json_util_set_int(
            e, "mem", (long long) ((si.totalram - si.freeram - si.bufferram) * unit)
        ) < 0 ||
        json_util_set_int(e, "maxdisk", (long long) total) < 0 ||
        json_util_set_int(e, "disk", (long long) used) < 0)
        return -ENOMEM;
    return 0;
}

static int add_node(ResCtx *c, const char *node) {
    ApiEnv *env = api_env(c->call);
    bool audit = can(c, "/nodes/%s", node, "Sys.Audit");
    _cleanup_free_ char *id = NULL;
    if (asprintf(&id, "node/%s", node) < 0)
        return -ENOMEM;
    _cleanup_json_ json_t *e =
        json_pack("{s:s,s:s,s:s,s:s}", "id", id, "node", node, "type", "node", "status", "unknown");
    if (!e)
        return -ENOMEM;
    const json_t *m = cluster_member(&c->view, node);
    bool online = !c->view.cluster || (m && json_integer_value(json_object_get(m, "online")));
    const json_t *d = cluster_rrd_get(c->rrd, "pve2-node", "pve-node-9.0", node);
    if (d) {
        if (online) {
            if (audit && (cluster_set_num(e, "uptime", cluster_rrd_num(d, 0)) < 0 ||
                          cluster_set_num(e, "cpu", cluster_rrd_num(d, 5)) < 0 ||
                          cluster_set_num(e, "mem", cluster_rrd_num(d, 8)) < 0 ||
                          cluster_set_num(e, "disk", cluster_rrd_num(d, 12)) < 0))
                return -ENOMEM;
            (void) json_util_set_string(e, "level", cluster_rrd_str(d, 1) ?: "");
            (void) json_util_set_string(e, "status", "online");
        }
        if (audit && (cluster_set_num(e, "maxcpu", cluster_rrd_num(d, 4)) < 0 ||
                      cluster_set_num(e, "maxmem", cluster_rrd_num(d, 7)) < 0 ||
                      cluster_set_num(e, "maxdisk", cluster_rrd_num(d, 11)) < 0))
            return -ENOMEM;
    } else if (streq(node, env->nodename)) {
        (void) json_util_set_string(e, "status", "online");
        (void) json_util_set_string(e, "level", "");
        if (audit && local_node_stats(e) < 0)
            return -ENOMEM;
    }
    if (c->view.cluster && !online)
        (void) json_util_set_string(e, "status", "offline");
    return json_util_append_new(c->res, TAKE_PTR(e));
}

static int add_nodes(ResCtx *c) {
    size_t i;
    json_t *n;
    json_array_foreach(c->view.nodes, i, n) {
        int r = add_node(c, json_string_value(n));
        if (r < 0)
            return r;
    }
    return 0;
}

static bool list_has(const char *list, const char *item) {
    size_t n = strlen(item);
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",; ");
        if (k == n && strneq(p, item, n))
            return true;
        p += k;
        p += strspn(p, ",; ");
    }
    return false;
}

static bool storage_type_shared(const char *type) {
    static const char *const shared[] = {"nfs",   "cifs",        "glusterfs", "cephfs", "rbd",
                                         "iscsi", "iscsidirect", "pbs",       "esxi"};
    for (size_t i = 0; i < ELEMENTSOF(shared); i++)
        if (streq(type, shared[i]))
            return true;
    return false;
}

/* content list sorted and joined with ',' */
static char *sorted_content(const char *content) {
    _cleanup_free_ char *copy = strdup(content ?: "");
    const char *items[32];
    size_t n = 0;
    if (!copy)
        return NULL;
    for (char *save = NULL, *p = strtok_r(copy, ",; ", &save); p && n < ELEMENTSOF(items);
         p = strtok_r(NULL, ",; ", &save)) {
        size_t j = n++;
        while (j > 0 && strcmp(items[j - 1], p) > 0) {
            items[j] = items[j - 1];
            j--;
        }
        items[j] = p;
    }
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) + 1;
    char *s = calloc(1, len);
    for (size_t i = 0; s && i < n; i++) {
        if (i)
            strcat(s, ",");
        strcat(s, items[i]);
    }
    return s;
}

static int storage_entry(ResCtx *c, const SectionConfigSection *s, const char *node) {
    const char *shared = section_config_get(s, "shared");
    _cleanup_free_ char *id = NULL, *content = sorted_content(section_config_get(s, "content"));
    if (!content || asprintf(&id, "storage/%s/%s", node, s->id) < 0)
        return -ENOMEM;
    _cleanup_json_ json_t *e = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "id", id, "storage", s->id, "node", node, "type",
        "storage", "plugintype", s->type, "status", "unknown", "shared",
        (shared && property_string_parse_bool(shared) > 0) || storage_type_shared(s->type),
        "content", content
    );
    if (!e)
        return -ENOMEM;
    _cleanup_free_ char *rkey = NULL;
    if (asprintf(&rkey, "%s/%s", node, s->id) < 0)
        return -ENOMEM;
    const json_t *d = cluster_rrd_get(c->rrd, "pve2-storage", "pve-storage-9.0", rkey);
    const char *path = section_config_get(s, "path");
    struct statvfs sv;
    if (d) {
        if (cluster_set_num(e, "maxdisk", cluster_rrd_num(d, 1)) < 0 ||
            cluster_set_num(e, "disk", cluster_rrd_num(d, 2)) < 0)
            return -ENOMEM;
        (void) json_util_set_string(e, "status", "available");
    } else if (streq(node, api_env(c->call)->nodename) && streq(s->type, "dir") && path && statvfs(path, &sv) == 0) {
        unsigned long long total = (unsigned long long) sv.f_blocks * sv.f_frsize;
        unsigned long long avail = (unsigned long long) sv.f_bavail * sv.f_frsize;
        if (json_util_set_int(e, "maxdisk", (long long) total) < 0 ||
            json_util_set_int(e, "disk", (long long) (total - avail)) < 0)
            return -ENOMEM;
        (void) json_util_set_string(e, "status", "available");
    }
    return json_util_append_new(c->res, TAKE_PTR(e));
}

static int add_storage(ResCtx *c) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = api_read_file(c->call, PVE_CFS_STORAGE_CFG, &text, &len);
    if (r < 0)
        return r;
    _cleanup_(section_config_freep) SectionConfig *cfg = NULL;
    if (section_config_parse(text, len, 0, &cfg, NULL, NULL) < 0)
        return 0; /* unreadable storage.cfg: no storage entries */
    for (size_t i = 0; i < cfg->n_sections; i++) {
        const SectionConfigSection *s = cfg->sections[i];
        if (!can(c, "/storage/%s", s->id, "Datastore.Audit"))
            continue;
        const char *nodes = section_config_get(s, "nodes");
        if (section_config_get(s, "disable"))
            continue;
        size_t j;
        json_t *n;
        json_array_foreach(c->view.nodes, j, n) {
            const char *node = json_string_value(n);
            if (nodes && !list_has(nodes, node))
                continue;
            if ((r = storage_entry(c, s, node)) < 0)
                return r;
        }
    }
    return 0;
}

/*
 * Answers are kept per worker for at most RESOURCES_CACHE_USEC, per (user, type), and only
 * while pmxcfs's change counter (pve/cfs-generation.h: any file, status key, membership or
 * guest list change) is unchanged, or without one its .version answer: a dashboard polling
 * this (the web UI does every few seconds, from every open tab) then costs a memory read
 * instead of four IPC round trips plus the rebuild. Guest config
 * fields (name, memory, ...) may be up to that long behind an edit.
 */
#define RESOURCES_CACHE_USEC (1000ULL * 1000ULL)
#define RESOURCES_CACHE_SIZE 16

static struct {
    char *user, *type, *version;
    uint64_t at;
    json_t *result;
    char *text; /* result serialized once: serializing is most of a cached answer's cost */
} res_cache[RESOURCES_CACHE_SIZE];
static unsigned res_cache_next;

static uint64_t now_usec(void) {
    struct timespec ts;
    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static int res_cache_index(const char *user, const char *type, const char *version) {
    uint64_t now = now_usec();
    for (unsigned i = 0; i < RESOURCES_CACHE_SIZE; i++)
        if (res_cache[i].result && now - res_cache[i].at < RESOURCES_CACHE_USEC &&
            streq(res_cache[i].user, user) && streq(res_cache[i].type, type) &&
            streq(res_cache[i].version, version))
            return (int) i;
    return -1;
}

static void res_cache_put(const char *user, const char *type, const char *version, json_t *result) {
    char *u = strdup(user), *t = strdup(type), *v = strdup(version), *text = NULL;
    if (!u || !t || !v || json_util_dump(result, JSON_UTIL_DUMP_SORT_KEYS, &text) < 0) {
        free(u);
        free(t);
        free(v);
        return;
    }
    unsigned i = res_cache_next++ % RESOURCES_CACHE_SIZE;
    free(res_cache[i].user);
    free(res_cache[i].type);
    free(res_cache[i].version);
    free(res_cache[i].text);
    json_decref(res_cache[i].result);
    res_cache[i].user = u;
    res_cache[i].type = t;
    res_cache[i].version = v;
    res_cache[i].text = text;
    res_cache[i].at = now_usec();
    res_cache[i].result = json_incref(result);
}

static int resources_build(ApiCall *call);

int cluster_h_resources(ApiCall *call) {
    const char *type = NULL;
    (void) api_call_param_string(call, "type", &type);
    /* pmxcfs's shared change counter when it publishes one, else its .version over IPC */
    _cleanup_free_ char *version = NULL;
    uint64_t generation;
    if (cfs_generation_read(&generation) >= 0) {
        if (asprintf(&version, "g%llu", (unsigned long long) generation) < 0)
            version = NULL;
    } else if (cfs_ipc_get_fs_version(&version, NULL) < 0)
        version = NULL;
    if (!version)
        return resources_build(call); /* no version to key on: no cache */
    int hit = res_cache_index(api_user(call), type ?: "", version);
    if (hit >= 0)
        return api_call_set_result_text(
            call, json_incref(res_cache[hit].result), res_cache[hit].text
        );
    int r = resources_build(call);
    if (r >= 0 && call->result)
        res_cache_put(api_user(call), type ?: "", version, call->result);
    return r;
}

static int resources_build(ApiCall *call) {
    _cleanup_(res_ctx_done) ResCtx c = {.call = call};
    const char *type = NULL;
    (void) api_call_param_string(call, "type", &type);
    int r = api_load_user_cfg(call, &c.ucfg);
    if (r < 0)
        return r;
    if ((r = cluster_view_load(call, &c.view)) < 0)
        return r;
    c.rrd = cluster_rrd_load();
    c.res = json_array();
    c.pools = json_object();
    if (!c.rrd || !c.res || !c.pools)
        return -ENOMEM;
    if (!type && (r = add_pools(&c)) < 0)
        return r;
    if ((!type || streq(type, "vm")) && (r = add_vms(&c)) < 0)
        return r;
    if ((!type || streq(type, "node")) && (r = add_nodes(&c)) < 0)
        return r;
    if ((!type || streq(type, "storage")) && (r = add_storage(&c)) < 0)
        return r;
    return api_call_set_result(call, TAKE_PTR(c.res));
}
