/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * status: the volatile state of pmxcfs (specs/pmxcfs.md §4, §6) behind one mutex: quorum,
 * cluster info, observed-file counters, per-node key/value stores, node IPs, the RRD cache
 * and its dump, the cluster log, and the text of the generated dot-files.
 *
 * Lock order is memdb before status: the memdb change hook arrives with the memdb mutex held
 * and takes ours; everything that needs the VM list or file contents asks memdb first and
 * takes the status mutex afterwards (or not at all). Nothing here calls memdb while holding
 * the status mutex, and nothing here writes files: RRD files are the cluster/RRD layer's job.
 *
 * The dot-file texts are printed by hand in the upstream layout (Perl parses them as JSON,
 * and clients compare some of them textually); strings that come from clients are escaped.
 */
#include "status.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clusterlog.h"
#include "pve/hashmap.h"
#include "pve/log.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"

/* Caps on what root clients (and later peers) can make us store. */
#define MAX_KEY_LEN      255u /* IPC name field is 256 bytes with its NUL */
#define MAX_KV_PER_NODE  16384u
#define MAX_RRD_ENTRIES  262144u
#define MAX_REMOTE_NODES 4096u
#define RRD_DUMP_CACHE   2 /* seconds */

/* Files whose change counters .version publishes, in the published order. */
static const char *const observed_files[] = {
    "corosync.conf",
    "corosync.conf.new",
    "storage.cfg",
    "user.cfg",
    "domains.cfg",
    "notifications.cfg",
    "priv/notifications.cfg",
    "priv/shadow.cfg",
    "priv/acme/plugins.cfg",
    "priv/tfa.cfg",
    "priv/token.cfg",
    "priv/wg-keys.cfg",
    "datacenter.cfg",
    "vzdump.cron",
    "vzdump.conf",
    "jobs.cfg",
    "ha/crm_commands",
    "ha/manager_status",
    "ha/resources.cfg",
    "ha/rules.cfg",
    "ha/groups.cfg",
    "ha/fence.cfg",
    "status.cfg",
    "replication.cfg",
    "ceph.conf",
    "sdn/vnets.cfg",
    "sdn/zones.cfg",
    "sdn/controllers.cfg",
    "sdn/subnets.cfg",
    "sdn/ipams.cfg",
    "sdn/mac-cache.json",
    "sdn/pve-ipam-state.json",
    "sdn/dns.cfg",
    "sdn/fabrics.cfg",
    "sdn/route-maps.cfg",
    "sdn/prefix-lists.cfg",
    "sdn/.running-config",
    "virtual-guest/cpu-models.conf",
    "virtual-guest/profiles.cfg",
    "firewall/cluster.fw",
    "mapping/directory.cfg",
    "mapping/pci.cfg",
    "mapping/usb.cfg",
};
#define N_OBSERVED ELEMENTSOF(observed_files)

typedef struct KvEntry {
    char *key;
    void *data;
    size_t len;
    uint32_t version;
} KvEntry;

typedef struct KvNode {
    char *name;
    Hashmap *kv; /* key -> KvEntry */
} KvNode;

typedef struct RrdEntry {
    char *key; /* without the "rrd/" prefix */
    char *data;
    time_t time; /* when we received it */
} RrdEntry;

typedef struct NodeIp {
    char *node;
    char *ip;
} NodeIp;

typedef struct ClNode {
    char *name;
    uint32_t nodeid;
    bool online;
} ClNode;

enum { PLUG_VERSION, PLUG_MEMBERS, PLUG_VMLIST, PLUG_RRD, PLUG_CLUSTERLOG, PLUG_DEBUG, _PLUG_MAX };

struct CfsStatus {
    pthread_mutex_t mutex;
    Memdb *memdb;
    char *nodename;
    time_t start_time;
    time_t (*now)(void);
    bool quorate;

    uint32_t file_versions[N_OBSERVED];

    KvNode *local;
    Hashmap *remote; /* node name -> KvNode */
    Hashmap *rrd;    /* key -> RrdEntry */
    char *rrd_dump;
    size_t rrd_dump_len;
    time_t rrd_dump_time;
    Hashmap *ips; /* node name -> NodeIp */
    ClusterLog *clog;

    bool have_clinfo;
    uint32_t clinfo_version;
    char *cluster_name;
    uint32_t config_version;
    ClNode *nodes;
    size_t n_nodes;

    CfsPlugFile plugs[_PLUG_MAX];
    CfsGeneration *generation; /* not owned; NULL: nothing published */
    CfsStatusBroadcast broadcast;
    CfsStatusRrdWriter rrd_writer;
    void *rrd_writer_userdata;
};

static time_t wall_clock(void) {
    return time(NULL);
}

static void status_unlockp(CfsStatus **s) {
    if (*s)
        pthread_mutex_unlock(&(*s)->mutex);
}
static CfsStatus *status_lock(CfsStatus *s) {
    pthread_mutex_lock(&s->mutex);
    return s;
}
#define STATUS_LOCKED(s) _cleanup_(status_unlockp) CfsStatus *_locked_ _unused_ = status_lock(s)

/* JSON string body: `"` and `\` escaped, control characters as \u00XX, the rest as is. */
static void append_json_escaped(StrBuf *b, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c == '"' || c == '\\') {
            strbuf_append_char(b, '\\');
            strbuf_append_char(b, (char) c);
        } else if (c < 0x20)
            strbuf_printf(b, "\\u%04x", c);
        else
            strbuf_append_char(b, (char) c);
    }
}
static void append_json_str(StrBuf *b, const char *s) {
    append_json_escaped(b, s, strlen(s));
}

static int cmp_strp(const void *a, const void *b) {
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The keys of a string-keyed map, sorted (for stable output). Caller frees the array. */
static int sorted_keys(const Hashmap *h, const char ***ret, size_t *ret_n) {
    size_t n = hashmap_size(h), i = 0, it = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    if (!keys)
        return -ENOMEM;
    const void *k;
    while (hashmap_iterate(h, &it, &k, NULL))
        keys[i++] = k;
    qsort(keys, n, sizeof *keys, cmp_strp);
    *ret = keys;
    *ret_n = n;
    return 0;
}

/* ---- key/value stores ------------------------------------------------------------------- */

static KvEntry *kv_entry_free(KvEntry *e) {
    if (e) {
        free(e->key);
        free(e->data);
        free(e);
    }
    return NULL;
}

static KvNode *kv_node_free(KvNode *n) {
    if (!n)
        return NULL;
    if (n->kv) {
        size_t it = 0;
        void *v;
        while (hashmap_iterate(n->kv, &it, NULL, &v))
            kv_entry_free(v);
        hashmap_free(n->kv);
    }
    free(n->name);
    free(n);
    return NULL;
}

static KvNode *kv_node_new(const char *name) {
    KvNode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->name = strdup(name);
    n->kv = hashmap_new(&hashmap_string_ops);
    if (!n->name || !n->kv)
        return kv_node_free(n);
    return n;
}

/* Store (or with len 0 delete) a value; a new key starts at version 0, updates count up. */
static int kv_node_set(KvNode *n, const char *key, const void *data, size_t len) {
    KvEntry *e = hashmap_get(n->kv, key);
    if (len == 0) {
        if (e)
            kv_entry_free(hashmap_remove(n->kv, key));
        return 0;
    }
    void *copy = malloc(len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, data, len);
    if (e) {
        free(e->data);
        e->data = copy;
        e->len = len;
        e->version++;
        return 0;
    }
    if (hashmap_size(n->kv) >= MAX_KV_PER_NODE) {
        free(copy);
        return -ENOSPC;
    }
    e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key)) || hashmap_put(n->kv, e->key, e) < 0) {
        free(copy);
        kv_entry_free(e);
        return -ENOMEM;
    }
    e->data = copy;
    e->len = len;
    return 0;
}

/* The store of a node: NULL/""/our name = local; create remote ones on demand. */
static KvNode *kv_node_for(CfsStatus *s, const char *node, bool create, int *reterr) {
    if (!node || !node[0] || streq(node, s->nodename))
        return s->local;
    KvNode *n = hashmap_get(s->remote, node);
    if (n || !create)
        return n;
    if (hashmap_size(s->remote) >= MAX_REMOTE_NODES) {
        *reterr = -ENOSPC;
        return NULL;
    }
    n = kv_node_new(node);
    if (!n || hashmap_put(s->remote, n->name, n) < 0) {
        kv_node_free(n);
        *reterr = -ENOMEM;
        return NULL;
    }
    return n;
}

static RrdEntry *rrd_entry_free(RrdEntry *e) {
    if (e) {
        free(e->key);
        free(e->data);
        free(e);
    }
    return NULL;
}

static NodeIp *node_ip_free(NodeIp *e) {
    if (e) {
        free(e->node);
        free(e->ip);
        free(e);
    }
    return NULL;
}

static bool rrd_expired(const RrdEntry *e, time_t now) {
    return now - e->time > CFS_STATUS_RRD_MAX_AGE;
}

static void rrd_prune(CfsStatus *s, time_t now) {
    /* The map cannot change while iterating: collect first. */
    size_t n = hashmap_size(s->rrd), n_old = 0, it = 0;
    if (n == 0)
        return;
    _cleanup_free_ const char **old = calloc(n, sizeof *old);
    if (!old)
        return; /* stale entries stay a little longer */
    void *v;
    while (hashmap_iterate(s->rrd, &it, NULL, &v))
        if (rrd_expired(v, now))
            old[n_old++] = ((RrdEntry *) v)->key;
    for (size_t i = 0; i < n_old; i++)
        rrd_entry_free(hashmap_remove(s->rrd, old[i]));
}

static int rrd_set(CfsStatus *s, const char *key, const char *data) {
    time_t now = s->now();
    RrdEntry *e = hashmap_get(s->rrd, key);
    char *copy = strdup(data);
    if (!copy)
        return -ENOMEM;
    if (e) {
        free(e->data);
        e->data = copy;
        e->time = now;
        return 0;
    }
    if (hashmap_size(s->rrd) >= MAX_RRD_ENTRIES) {
        rrd_prune(s, now);
        if (hashmap_size(s->rrd) >= MAX_RRD_ENTRIES) {
            free(copy);
            return -ENOSPC;
        }
    }
    e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key)) || hashmap_put(s->rrd, e->key, e) < 0) {
        free(copy);
        rrd_entry_free(e);
        return -ENOMEM;
    }
    e->data = copy;
    e->time = now;
    return 0;
}

static int ip_set(CfsStatus *s, const char *node, const char *data, size_t len) {
    /* Trailing NULs are tolerated (clients may send C strings); the rest must be printable
     * and safe inside a JSON string, since .members prints it as is. */
    while (len > 0 && data[len - 1] == '\0')
        len--;
    NodeIp *e = hashmap_get(s->ips, node);
    if (len == 0) {
        if (e)
            node_ip_free(hashmap_remove(s->ips, node));
        return 0;
    }
    if (len > 255)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) data[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\')
            return -EINVAL;
    }
    char *ip = strndup(data, len);
    if (!ip)
        return -ENOMEM;
    if (e) {
        free(e->ip);
        e->ip = ip;
        return 0;
    }
    if (hashmap_size(s->ips) >= MAX_REMOTE_NODES + 1) {
        free(ip);
        return -ENOSPC;
    }
    e = calloc(1, sizeof *e);
    if (!e || !(e->node = strdup(node)) || hashmap_put(s->ips, e->node, e) < 0) {
        free(ip);
        node_ip_free(e);
        return -ENOMEM;
    }
    e->ip = ip;
    return 0;
}

/* ---- lifetime --------------------------------------------------------------------------- */

static void clinfo_clear(CfsStatus *s) {
    for (size_t i = 0; i < s->n_nodes; i++)
        free(s->nodes[i].name);
    free(s->nodes);
    s->nodes = NULL;
    s->n_nodes = 0;
    free(s->cluster_name);
    s->cluster_name = NULL;
    s->have_clinfo = false;
}

CfsStatus *cfs_status_free(CfsStatus *s) {
    if (!s)
        return NULL;
    size_t it;
    void *v;
    if (s->remote) {
        it = 0;
        while (hashmap_iterate(s->remote, &it, NULL, &v))
            kv_node_free(v);
        hashmap_free(s->remote);
    }
    if (s->rrd) {
        it = 0;
        while (hashmap_iterate(s->rrd, &it, NULL, &v))
            rrd_entry_free(v);
        hashmap_free(s->rrd);
    }
    if (s->ips) {
        it = 0;
        while (hashmap_iterate(s->ips, &it, NULL, &v))
            node_ip_free(v);
        hashmap_free(s->ips);
    }
    kv_node_free(s->local);
    clusterlog_free(s->clog);
    clinfo_clear(s);
    free(s->rrd_dump);
    free(s->nodename);
    pthread_mutex_destroy(&s->mutex);
    free(s);
    return NULL;
}

static int plug_version(void *userdata, char **ret, size_t *ret_len) {
    return cfs_status_version_json(userdata, ret, ret_len);
}
static int plug_members(void *userdata, char **ret, size_t *ret_len) {
    return cfs_status_members_json(userdata, ret, ret_len);
}
static int plug_vmlist(void *userdata, char **ret, size_t *ret_len) {
    return cfs_status_vmlist_json(userdata, ret, ret_len);
}
static int plug_rrd(void *userdata, char **ret, size_t *ret_len) {
    return cfs_status_rrd_dump(userdata, ret, ret_len);
}
static int plug_clusterlog(void *userdata, char **ret, size_t *ret_len) {
    return cfs_status_clusterlog_json(userdata, 0, NULL, ret, ret_len);
}

static int plug_debug_read(void *userdata, char **ret, size_t *ret_len) {
    (void) userdata;
    char *d = strdup(pve_log_get_level() >= LOG_DEBUG ? "1\n" : "0\n");
    if (!d)
        return -ENOMEM;
    *ret = d;
    *ret_len = 2;
    return 0;
}

/* Exactly "1\n" or "0\n" at offset 0 switches debug logging; anything else is EIO. */
static int plug_debug_write(void *userdata, const char *data, size_t len, uint64_t offset) {
    (void) userdata;
    if (offset != 0 || len != 2 || data[1] != '\n' || (data[0] != '0' && data[0] != '1'))
        return -EIO;
    bool on = data[0] == '1';
    pve_log_set_level(on ? LOG_DEBUG : LOG_INFO);
    log_info("debug level is now %d", on ? 1 : 0);
    return (int) len;
}

int cfs_status_new(Memdb *memdb, const char *nodename, CfsStatus **ret) {
    if (!nodename || !nodename[0] || strlen(nodename) > MAX_KEY_LEN)
        return -EINVAL;
    _cleanup_(cfs_status_freep) CfsStatus *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->mutex, NULL);
    s->memdb = memdb;
    s->now = wall_clock;
    s->start_time = s->now();
    s->quorate = true;
    s->nodename = strdup(nodename);
    s->local = kv_node_new(nodename);
    s->remote = hashmap_new(&hashmap_string_ops);
    s->rrd = hashmap_new(&hashmap_string_ops);
    s->ips = hashmap_new(&hashmap_string_ops);
    s->clog = clusterlog_new();
    if (!s->nodename || !s->local || !s->remote || !s->rrd || !s->ips || !s->clog)
        return -ENOMEM;
    /* The tree was just loaded: every observed file counts as changed once. */
    for (size_t i = 0; i < N_OBSERVED; i++)
        s->file_versions[i] = 1;

    int r = clusterlog_add(
        s->clog, nodename, "root", "cluster", (uint32_t) getpid(), LOG_INFO,
        (uint32_t) s->start_time, "starting cluster log", NULL, NULL
    );
    if (r < 0)
        return r;

    static const struct {
        const char *name;
        mode_t mode;
        int (*generate)(void *, char **, size_t *);
    } table[_PLUG_MAX] = {
        [PLUG_VERSION] = {".version", 0440, plug_version},
        [PLUG_MEMBERS] = {".members", 0440, plug_members},
        [PLUG_VMLIST] = {".vmlist", 0440, plug_vmlist},
        [PLUG_RRD] = {".rrd", 0440, plug_rrd},
        [PLUG_CLUSTERLOG] = {".clusterlog", 0440, plug_clusterlog},
        [PLUG_DEBUG] = {".debug", 0640, plug_debug_read},
    };
    for (size_t i = 0; i < _PLUG_MAX; i++)
        s->plugs[i] = (CfsPlugFile){
            .name = table[i].name,
            .mode = table[i].mode,
            .generate = table[i].generate,
            .write = i == PLUG_DEBUG ? plug_debug_write : NULL,
            .userdata = s,
        };
    *ret = TAKE_PTR(s);
    return 0;
}

const CfsPlugFile *cfs_status_plugs(CfsStatus *s, size_t *ret_n) {
    *ret_n = _PLUG_MAX;
    return s->plugs;
}

void cfs_status_set_clock(CfsStatus *s, time_t (*now)(void)) {
    STATUS_LOCKED(s);
    s->now = now ? now : wall_clock;
}

/* ---- quorum, counters, cluster info ----------------------------------------------------- */

bool cfs_status_quorate(CfsStatus *s) {
    STATUS_LOCKED(s);
    return s->quorate;
}

void cfs_status_set_generation(CfsStatus *s, CfsGeneration *g) {
    STATUS_LOCKED(s);
    s->generation = g;
    cfs_generation_bump(g);
}

void cfs_status_set_quorate(CfsStatus *s, bool quorate) {
    STATUS_LOCKED(s);
    if (s->quorate != quorate)
        log_info("node has %squorum", quorate ? "" : "lost ");
    s->quorate = quorate;
}

void cfs_status_file_changed(void *status, const char *path) {
    CfsStatus *s = status;
    if (!s || !path)
        return;
    STATUS_LOCKED(s);
    cfs_generation_bump(s->generation); /* any path: guest configs feed the guest list too */
    for (size_t i = 0; i < N_OBSERVED; i++)
        if (streq(path, observed_files[i])) {
            s->file_versions[i]++;
            break;
        }
}

void cfs_status_files_changed_all(CfsStatus *s) {
    STATUS_LOCKED(s);
    cfs_generation_bump(s->generation);
    for (size_t i = 0; i < N_OBSERVED; i++)
        s->file_versions[i]++;
}

static int cmp_clnode(const void *a, const void *b) {
    uint32_t x = ((const ClNode *) a)->nodeid, y = ((const ClNode *) b)->nodeid;
    return x < y ? -1 : x > y;
}

int cfs_status_set_clinfo(
    CfsStatus *s,
    const char *cluster_name,
    uint32_t config_version,
    const CfsClusterNode *nodes,
    size_t n
) {
    if (n > MAX_REMOTE_NODES || (n > 0 && !nodes))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!nodes[i].name || !nodes[i].name[0] || strlen(nodes[i].name) > MAX_KEY_LEN)
            return -EINVAL;

    _cleanup_free_ char *name = cluster_name ? strdup(cluster_name) : NULL;
    _cleanup_free_ ClNode *list = calloc(n ? n : 1, sizeof *list);
    if ((cluster_name && !name) || !list)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        list[i].nodeid = nodes[i].nodeid;
        list[i].name = strdup(nodes[i].name);
        if (!list[i].name) {
            for (size_t j = 0; j < i; j++)
                free(list[j].name);
            return -ENOMEM;
        }
    }

    qsort(list, n, sizeof *list, cmp_clnode);

    STATUS_LOCKED(s);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < s->n_nodes; j++)
            if (s->nodes[j].nodeid == list[i].nodeid)
                list[i].online = s->nodes[j].online;
    clinfo_clear(s);
    if (cluster_name || n > 0) {
        s->have_clinfo = true;
        s->cluster_name = TAKE_PTR(name);
        s->config_version = config_version;
        s->nodes = TAKE_PTR(list);
        s->n_nodes = n;
    } else {
        free(TAKE_PTR(list));
    }
    s->clinfo_version++;
    cfs_generation_bump(s->generation);
    return 0;
}

int cfs_status_set_node_online(CfsStatus *s, uint32_t nodeid, bool online) {
    STATUS_LOCKED(s);
    for (size_t i = 0; i < s->n_nodes; i++)
        if (s->nodes[i].nodeid == nodeid) {
            if (s->nodes[i].online != online) {
                s->nodes[i].online = online;
                s->clinfo_version++;
                cfs_generation_bump(s->generation);
            }
            return 0;
        }
    return -ENOENT;
}

/* ---- SET_STATUS / GET_STATUS ------------------------------------------------------------ */

int cfs_status_node_set(
    CfsStatus *s, const char *node, const char *key, const void *data, size_t len
) {
    if (!key || !key[0] || strlen(key) > MAX_KEY_LEN || (len > 0 && !data))
        return -EINVAL;
    if (node && strlen(node) > MAX_KEY_LEN)
        return -EINVAL;
    if (len > CFS_STATUS_MAX_SIZE)
        return -EFBIG;

    const char *rrd_key = startswith(key, "rrd/");
    if (rrd_key) {
        /* Upstream answers invalid RRD data with ENOMEM, which is misleading; the data is
         * malformed, so we say EINVAL. Valid: fewer than 4096 bytes ending in a NUL. */
        const char *d = data;
        if (!rrd_key[0] || len == 0 || len >= CFS_STATUS_MAX_RRD || d[len - 1] != '\0')
            return -EINVAL;
        int r;
        CfsStatusRrdWriter writer;
        void *writer_userdata;
        {
            STATUS_LOCKED(s);
            r = rrd_set(s, rrd_key, d);
            writer = s->rrd_writer;
            writer_userdata = s->rrd_writer_userdata;
        }
        if (r >= 0 && writer)
            writer(writer_userdata, rrd_key, d); /* file I/O outside the mutex */
        return r;
    }

    STATUS_LOCKED(s);
    if (streq(key, "nodeip"))
        return ip_set(s, node && node[0] ? node : s->nodename, data, len);

    int r = 0;
    KvNode *n = kv_node_for(s, node, len > 0, &r);
    if (!n)
        return r; /* deleting from a node we know nothing of is a no-op */
    cfs_generation_bump(s->generation);
    return kv_node_set(n, key, data, len);
}

int cfs_status_set(CfsStatus *s, const char *key, const void *data, size_t len) {
    int r = cfs_status_node_set(s, NULL, key, data, len);
    CfsStatusBroadcast b;
    if (r >= 0) {
        pthread_mutex_lock(&s->mutex);
        b = s->broadcast;
        pthread_mutex_unlock(&s->mutex);
        if (b.kv)
            b.kv(b.userdata, key, data, len);
    }
    return r;
}

void cfs_status_set_rrd_writer(CfsStatus *s, CfsStatusRrdWriter fn, void *userdata) {
    STATUS_LOCKED(s);
    s->rrd_writer = fn;
    s->rrd_writer_userdata = userdata;
}

void cfs_status_set_broadcast(CfsStatus *s, const CfsStatusBroadcast *b) {
    STATUS_LOCKED(s);
    s->broadcast = b ? *b : (CfsStatusBroadcast){0};
}

typedef struct LocalValue {
    char *key;
    void *data;
    size_t len;
} LocalValue;

int cfs_status_foreach_local(
    CfsStatus *s,
    void (*fn)(void *userdata, const char *key, const void *data, size_t len),
    void *userdata
) {
    LocalValue *list = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    {
        STATUS_LOCKED(s);
        cap = (s->local ? hashmap_size(s->local->kv) : 0) + 1;
        list = calloc(cap, sizeof *list);
        if (!list)
            return -ENOMEM;
        size_t it = 0;
        void *v;
        while (s->local && hashmap_iterate(s->local->kv, &it, NULL, &v)) {
            const KvEntry *e = v;
            list[n].key = strdup(e->key);
            list[n].data = malloc(e->len ? e->len : 1);
            if (!list[n].key || !list[n].data) {
                free(list[n].key);
                free(list[n].data);
                r = -ENOMEM;
                break;
            }
            memcpy(list[n].data, e->data, e->len);
            list[n++].len = e->len;
        }
        const NodeIp *ip = r == 0 ? hashmap_get(s->ips, s->nodename) : NULL;
        if (ip && (list[n].key = strdup("nodeip")) && (list[n].data = strdup(ip->ip)))
            list[n].len = strlen(ip->ip), n++;
        else if (ip)
            free(list[n].key);
    }
    for (size_t i = 0; i < n; i++) {
        if (r == 0)
            fn(userdata, list[i].key, list[i].data, list[i].len);
        free(list[i].key);
        free(list[i].data);
    }
    free(list);
    return r;
}

void cfs_status_set_online_members(CfsStatus *s, const uint32_t *nodeids, size_t n) {
    STATUS_LOCKED(s);
    bool changed = false;
    for (size_t i = 0; i < s->n_nodes; i++) {
        bool online = false;
        for (size_t j = 0; j < n && !online; j++)
            online = nodeids[j] == s->nodes[i].nodeid;
        if (s->nodes[i].online != online) {
            s->nodes[i].online = online;
            changed = true;
        }
    }
    if (changed)
        s->clinfo_version++;
    cfs_generation_bump(s->generation);
}

int cfs_status_node_name(CfsStatus *s, uint32_t nodeid, char **ret) {
    STATUS_LOCKED(s);
    for (size_t i = 0; i < s->n_nodes; i++)
        if (s->nodes[i].nodeid == nodeid && s->nodes[i].name) {
            *ret = strdup(s->nodes[i].name);
            return *ret ? 0 : -ENOMEM;
        }
    return -ENOENT;
}

int cfs_status_get(CfsStatus *s, const char *key, const char *node, void **ret, size_t *ret_len) {
    if (!key || !key[0])
        return -EINVAL;
    STATUS_LOCKED(s);
    int r = 0;
    KvNode *n = kv_node_for(s, node, false, &r);
    KvEntry *e = n ? hashmap_get(n->kv, key) : NULL;
    if (!e)
        return -ENOENT;
    void *copy = malloc(e->len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, e->data, e->len);
    *ret = copy;
    *ret_len = e->len;
    return 0;
}

/* ---- generated files -------------------------------------------------------------------- */

static void append_kv_versions(StrBuf *b, const KvNode *n) {
    strbuf_append_char(b, '"');
    append_json_str(b, n->name);
    strbuf_append(b, "\": {\n");
    const char **keys = NULL;
    size_t nk = 0;
    if (sorted_keys(n->kv, &keys, &nk) < 0) {
        b->error = b->error ? b->error : -ENOMEM;
        return;
    }
    for (size_t i = 0; i < nk; i++) {
        const KvEntry *e = hashmap_get(n->kv, keys[i]);
        if (i > 0)
            strbuf_append(b, ",\n");
        strbuf_append_char(b, '"');
        append_json_str(b, e->key);
        strbuf_printf(b, "\": %u", e->version);
    }
    strbuf_append_char(b, '}');
    free(keys);
}

static uint32_t vmlist_version(CfsStatus *s) {
    _cleanup_free_ MemdbVm *vms = NULL;
    size_t n = 0;
    uint32_t version = 0;
    if (s->memdb && memdb_vmlist(s->memdb, &vms, &n, &version) < 0)
        return 0;
    return version;
}

int cfs_status_version_json(CfsStatus *s, char **ret, size_t *ret_len) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    uint32_t vmlist = vmlist_version(s); /* memdb first: lock order */

    STATUS_LOCKED(s);
    strbuf_printf(
        &b, "{\n\"starttime\": %llu,\n\"clinfo\": %u,\n\"vmlist\": %u,\n",
        (unsigned long long) s->start_time, s->clinfo_version, vmlist
    );
    for (size_t i = 0; i < N_OBSERVED; i++)
        strbuf_printf(&b, "\"%s\": %u,\n", observed_files[i], s->file_versions[i]);
    strbuf_append(&b, "\"kvstore\": {\n");
    append_kv_versions(&b, s->local);

    const char **names = NULL;
    size_t nn = 0;
    if (sorted_keys(s->remote, &names, &nn) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < nn; i++) {
        strbuf_append(&b, ",\n");
        append_kv_versions(&b, hashmap_get(s->remote, names[i]));
    }
    free(names);
    strbuf_append(&b, "\n}\n}\n");
    return strbuf_finish(&b, ret, ret_len);
}

int cfs_status_members_json(CfsStatus *s, char **ret, size_t *ret_len) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    STATUS_LOCKED(s);

    strbuf_append(&b, "{\n\"nodename\": \"");
    append_json_str(&b, s->nodename);
    if (!s->have_clinfo) {
        strbuf_printf(&b, "\",\n\"version\": %u\n}\n", s->clinfo_version);
        return strbuf_finish(&b, ret, ret_len);
    }

    strbuf_printf(&b, "\",\n\"version\": %u,\n\"cluster\": { \"name\": \"", s->clinfo_version);
    append_json_str(&b, s->cluster_name ? s->cluster_name : "");
    strbuf_printf(
        &b, "\", \"version\": %u, \"nodes\": %zu, \"quorate\": %d },\n\"nodelist\": {\n",
        s->config_version, s->n_nodes, s->quorate ? 1 : 0
    );
    for (size_t i = 0; i < s->n_nodes; i++) {
        const ClNode *n = &s->nodes[i];
        if (i > 0)
            strbuf_append(&b, ",\n");
        strbuf_append(&b, "  \"");
        append_json_str(&b, n->name);
        strbuf_printf(&b, "\": { \"id\": %u, \"online\": %d", n->nodeid, n->online ? 1 : 0);
        const NodeIp *ip = hashmap_get(s->ips, n->name);
        if (ip)
            strbuf_printf(&b, ", \"ip\": \"%s\"", ip->ip); /* validated by ip_set() */
        strbuf_append_char(&b, '}');
    }
    strbuf_append(&b, "\n  }\n}\n");
    return strbuf_finish(&b, ret, ret_len);
}

static int cmp_vm(const void *a, const void *b) {
    uint32_t x = ((const MemdbVm *) a)->vmid, y = ((const MemdbVm *) b)->vmid;
    return x < y ? -1 : x > y;
}

static int vmlist_sorted(CfsStatus *s, MemdbVm **ret, size_t *ret_n, uint32_t *ret_version) {
    if (!s->memdb) {
        *ret = NULL, *ret_n = 0;
        if (ret_version)
            *ret_version = 0;
        return 0;
    }
    int r = memdb_vmlist(s->memdb, ret, ret_n, ret_version);
    if (r < 0)
        return r;
    qsort(*ret, *ret_n, sizeof **ret, cmp_vm);
    return 0;
}

int cfs_status_vmlist_json(CfsStatus *s, char **ret, size_t *ret_len) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    _cleanup_free_ MemdbVm *vms = NULL;
    size_t n = 0;
    uint32_t version = 0;
    int r = vmlist_sorted(s, &vms, &n, &version);
    if (r < 0)
        return r;

    strbuf_printf(&b, "{\n\"version\": %u", version);
    if (n > 0) {
        strbuf_append(&b, ",\n\"ids\": {\n");
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                strbuf_append(&b, ",\n");
            strbuf_printf(&b, "\"%u\": { \"node\": \"", vms[i].vmid);
            append_json_str(&b, vms[i].node);
            strbuf_printf(
                &b, "\", \"type\": \"%s\", \"version\": %u }",
                memdb_guest_type_to_string(vms[i].type), vms[i].version
            );
        }
        strbuf_append(&b, "}\n");
    }
    strbuf_append(&b, "\n}\n");
    return strbuf_finish(&b, ret, ret_len);
}

int cfs_status_rrd_dump(CfsStatus *s, char **ret, size_t *ret_len) {
    STATUS_LOCKED(s);
    time_t now = s->now();

    if (!s->rrd_dump || now - s->rrd_dump_time >= RRD_DUMP_CACHE || now < s->rrd_dump_time) {
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        rrd_prune(s, now);
        const char **keys = NULL;
        size_t n = 0;
        if (sorted_keys(s->rrd, &keys, &n) < 0)
            return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
            const RrdEntry *e = hashmap_get(s->rrd, keys[i]);
            strbuf_append(&b, e->key);
            strbuf_append_char(&b, ':');
            strbuf_append(&b, e->data);
            strbuf_append_char(&b, '\n');
        }
        free(keys);
        strbuf_append_char(&b, '\0'); /* the dump ends in an extra NUL byte, as upstream */
        char *d = NULL;
        size_t len = 0;
        int r = strbuf_finish(&b, &d, &len);
        if (r < 0)
            return r;
        free(s->rrd_dump);
        s->rrd_dump = d;
        s->rrd_dump_len = len;
        s->rrd_dump_time = now;
    }

    char *copy = malloc(s->rrd_dump_len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, s->rrd_dump, s->rrd_dump_len + 1);
    *ret = copy;
    *ret_len = s->rrd_dump_len;
    return 0;
}

/* ---- cluster log ------------------------------------------------------------------------ */

int cfs_status_clusterlog_json(
    CfsStatus *s, unsigned max, const char *user, char **ret, size_t *ret_len
) {
    STATUS_LOCKED(s);
    return clusterlog_dump_json(s->clog, max, user, ret, ret_len);
}

int cfs_status_log(
    CfsStatus *s, int priority, const char *ident, const char *tag, uint32_t pid, const char *msg
) {
    if (priority < 0 || priority > UINT8_MAX)
        return -EINVAL;
    _cleanup_free_ char *entry = malloc(CLUSTERLOG_MAX_ENTRY_SIZE);
    size_t len = 0;
    CfsStatusBroadcast b;
    int r;
    if (!entry)
        return -ENOMEM;
    {
        STATUS_LOCKED(s);
        r = clusterlog_add(
            s->clog, s->nodename, ident ? ident : "", tag ? tag : "", pid, (uint8_t) priority,
            (uint32_t) s->now(), msg ? msg : "", entry, &len
        );
        b = s->broadcast;
    }
    if (r > 0 && b.log)
        b.log(b.userdata, entry, len);
    return r < 0 ? r : 0;
}

int cfs_status_clusterlog_insert(CfsStatus *s, const void *entry, size_t len) {
    STATUS_LOCKED(s);
    return clusterlog_insert(s->clog, entry, len);
}

int cfs_status_clusterlog_state(CfsStatus *s, void **ret, size_t *ret_len) {
    STATUS_LOCKED(s);
    return clusterlog_get_state(s->clog, ret, ret_len);
}

int cfs_status_clusterlog_merge(
    CfsStatus *s, const void *const *states, const size_t *lens, size_t n
) {
    STATUS_LOCKED(s);
    return clusterlog_merge(s->clog, states, lens, n);
}

/* ---- guest config properties ------------------------------------------------------------ */

typedef struct PropValue {
    const char *v;
    size_t len;
} PropValue;

/* Scan the main section of a guest config (up to the first "[section]" line) for lines
 * "<prop>:<blanks><value>"; the last occurrence wins, as in the Perl parser. */
static void find_properties(
    const char *conf, size_t len, const char *const *props, size_t n_props, PropValue *values
) {
    const char *p = conf, *end = conf + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t) (end - p));
        if (!eol)
            eol = end;
        if (*p == '[')
            break;
        for (size_t i = 0; i < n_props; i++) {
            size_t pl = strlen(props[i]);
            if ((size_t) (eol - p) <= pl || memcmp(p, props[i], pl) != 0 || p[pl] != ':')
                continue;
            const char *v = p + pl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
                ve--;
            values[i] = (PropValue){v, (size_t) (ve - v)};
        }
        p = eol + 1;
    }
}

static const char *guest_dir(MemdbGuestType t) {
    switch (t) {
    case MEMDB_GUEST_QEMU:
        return "qemu-server";
    case MEMDB_GUEST_LXC:
        return "lxc";
    case MEMDB_GUEST_OPENVZ:
        return "openvz";
    default:
        return NULL;
    }
}

/* Append "<vmid>":{...} for the properties found in this guest's config. Returns 1 when
 * something was appended, 0 when none was found, negative errno when the config is gone. */
static int append_guest(
    StrBuf *b,
    Memdb *m,
    const MemdbVm *vm,
    const char *const *props,
    size_t n_props,
    PropValue *values,
    bool first
) {
    const char *dir = guest_dir(vm->type);
    _cleanup_free_ char *path = NULL, *conf = NULL;
    size_t len = 0;
    if (!dir)
        return -EINVAL;
    if (asprintf(&path, "nodes/%s/%s/%u.conf", vm->node, dir, vm->vmid) < 0)
        return -ENOMEM;
    int r = memdb_read_all(m, path, &conf, &len);
    if (r < 0)
        return r;

    memset(values, 0, n_props * sizeof *values);
    find_properties(conf, len, props, n_props, values);
    bool found = false;
    for (size_t i = 0; i < n_props; i++) {
        if (!values[i].v)
            continue;
        if (!found)
            strbuf_printf(b, "%s\"%u\":{", first ? "" : ",\n", vm->vmid);
        else
            strbuf_append_char(b, ',');
        found = true;
        strbuf_append_char(b, '"');
        append_json_str(b, props[i]);
        strbuf_append(b, "\": \"");
        append_json_escaped(b, values[i].v, values[i].len);
        strbuf_append_char(b, '"');
    }
    if (found)
        strbuf_append_char(b, '}');
    return found;
}

int cfs_status_guest_config_properties(
    CfsStatus *s,
    uint32_t vmid,
    const char *const *props,
    size_t n_props,
    char **ret,
    size_t *ret_len
) {
    if (vmid > 0 && vmid < 100)
        return -EINVAL;
    if (n_props == 0 || n_props > UINT8_MAX || !props)
        return -EINVAL;
    for (size_t i = 0; i < n_props; i++)
        if (!props[i] || props[i][0] < 'a' || props[i][0] > 'z' || strlen(props[i]) > MAX_KEY_LEN)
            return -EINVAL;

    /* Only memdb is needed here (the VM list lives there), so the status mutex is not taken
     * at all and the lock order cannot be violated. */
    _cleanup_free_ MemdbVm *vms = NULL;
    size_t n = 0;
    int r = vmlist_sorted(s, &vms, &n, NULL);
    if (r < 0)
        return r;
    size_t from = 0, to = n;
    if (vmid != 0) {
        MemdbVm key = {.vmid = vmid};
        MemdbVm *vm = n ? bsearch(&key, vms, n, sizeof *vms, cmp_vm) : NULL;
        if (!vm)
            return -ENOENT;
        from = (size_t) (vm - vms), to = from + 1;
    }

    _cleanup_free_ PropValue *values = calloc(n_props, sizeof *values);
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    if (!values)
        return -ENOMEM;
    strbuf_append(&b, "{\n");
    bool first = true;
    for (size_t i = from; i < to; i++) {
        r = append_guest(&b, s->memdb, &vms[i], props, n_props, values, first);
        if (r == -ENOMEM)
            return r;
        if (r < 0 && vmid != 0)
            return r; /* the config vanished since we read the list */
        if (r > 0)
            first = false;
    }
    strbuf_append(&b, "\n}\n");
    return strbuf_finish(&b, ret, ret_len);
}
