/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-cluster-config: /cluster/config: the corosync configuration as upstream shows it (nodes,
 * totem, join information, join API version), cluster creation (POST, a task doing what
 * `pvecm create` does, then restarting corosync and pmxcfs), adding a node (called by the
 * joining node on an existing member: new nodelist entry, config_version + 1, answer with the
 * corosync.conf and authkey), removing a node, and joining (a task on the joining node). The
 * work is done by common/cluster-setup, shared with pvecm.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api-cluster.h"
#include "pve/api-env.h"
#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"
#include "pve/cluster-setup.h"
#include "pve/corosync-conf.h"
#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/string-util.h"

/* ---- reading corosync.conf --------------------------------------------------------------------
 */

/* /etc/pve/corosync.conf parsed; *ret NULL when there is none. Errors recorded on the call. */
static int read_conf(ApiCall *call, CorosyncConf **ret, char **ret_text, size_t *ret_len) {
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = api_read_file(call, PVE_CFS_COROSYNC_CONF, &text, &len);
    if (r < 0)
        return r;
    *ret = NULL;
    if (len > 0) {
        CorosyncConfError e = {};
        r = corosync_conf_parse(text, len, ret, &e);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return api_call_fail(
                call, 500, NULL, "unable to parse corosync.conf line %u: %s", e.line, e.message
            );
    }
    if (ret_text)
        *ret_text = TAKE_PTR(text);
    if (ret_len)
        *ret_len = len;
    return 0;
}

/* a section as upstream's parser returns it: keys as strings; `interface` sub-sections as an
 * object keyed by their linknumber, `node` sub-sections as an object keyed by name */
static json_t *section_json(const CorosyncItem *sec) {
    json_t *o = json_object();
    for (size_t i = 0; o && i < sec->n_children; i++) {
        const CorosyncItem *it = sec->children[i];
        int r = 0;
        if (it->kind == COROSYNC_ITEM_KEY)
            r = json_util_set_string(o, it->name, it->value);
        else if (it->kind == COROSYNC_ITEM_SECTION) {
            const char *key =
                streq(it->name, "interface")
                    ? (corosync_item_get(it, "linknumber") ?: corosync_item_get(it, "ringnumber"))
                    : NULL;
            if (key) {
                json_t *group = json_object_get(o, it->name);
                if (!group && json_object_set_new(o, it->name, group = json_object()) < 0)
                    r = -ENOMEM;
                if (r >= 0)
                    r = json_util_set_new(group, key, section_json(it));
            } else
                r = json_util_set_new(o, it->name, section_json(it));
        }
        if (r < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int require_conf(ApiCall *call, const CorosyncConf *c) {
    if (c)
        return 0;
    return api_call_fail(call, 500, NULL, "node is not in a cluster, no join info available!");
}

/* ---- GET ------------------------------------------------------------------------------------ */

static int h_index(ApiCall *call) {
    json_t *a = json_pack(
        "[{s:s},{s:s},{s:s},{s:s},{s:s}]", "name", "nodes", "name", "totem", "name", "join", "name",
        "qdevice", "name", "apiversion"
    );
    return api_call_set_result(call, a);
}

static int h_apiversion(ApiCall *call) {
    return api_call_set_result(call, json_integer(CLUSTER_JOIN_API_VERSION));
}

/* nodelist entries: every key of the node block plus "node" = its name */
static json_t *nodelist_json(const CorosyncConf *c, const char *node_key) {
    json_t *a = json_array();
    const CorosyncItem *nl = c ? corosync_item_find_section(c->root, "nodelist") : NULL;
    for (size_t i = 0; a && nl && i < nl->n_children; i++) {
        const CorosyncItem *it = nl->children[i];
        if (it->kind != COROSYNC_ITEM_SECTION || !streq(it->name, "node"))
            continue;
        json_t *n = section_json(it);
        const char *name = corosync_item_get(it, "name") ?: corosync_item_get(it, "ring0_addr");
        if (!n || (node_key && json_util_set_string(n, node_key, name) < 0) ||
            json_array_append_new(a, n) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int h_nodes(ApiCall *call) {
    _cleanup_(corosync_conf_freep) CorosyncConf *c = NULL;
    int r = read_conf(call, &c, NULL, NULL);
    if (r < 0)
        return r;
    return api_call_set_result(call, nodelist_json(c, "node"));
}

static int h_totem(ApiCall *call) {
    _cleanup_(corosync_conf_freep) CorosyncConf *c = NULL;
    int r = read_conf(call, &c, NULL, NULL);
    if (r < 0)
        return r;
    const CorosyncItem *t = c ? corosync_item_find_section(c->root, "totem") : NULL;
    return api_call_set_result(call, t ? section_json(t) : json_object());
}

/* SHA-256 fingerprint "AA:BB:..." of the node's API certificate (pveproxy-ssl.pem, else
 * pve-ssl.pem); NULL when there is none */
static char *node_fingerprint(const char *node) {
    static const char *const names[] = {"pveproxy-ssl.pem", "pve-ssl.pem"};
    for (size_t i = 0; i < ELEMENTSOF(names); i++) {
        _cleanup_free_ char *rel = NULL, *pem = NULL;
        size_t len = 0;
        if (asprintf(&rel, "nodes/%s/%s", node, names[i]) < 0)
            return NULL;
        if (cfs_file_read(rel, &pem, &len) < 0)
            continue;
        BIO *bio = BIO_new_mem_buf(pem, (int) len);
        X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        int ok = x && X509_digest(x, EVP_sha256(), md, &n);
        X509_free(x);
        if (!ok)
            continue;
        char *s = malloc(n * 3 + 1);
        for (unsigned k = 0; s && k < n; k++)
            snprintf(s + k * 3, 4, "%02X%s", md[k], k + 1 < n ? ":" : "");
        return s;
    }
    return NULL;
}

static char *node_addr(const char *node, const char *ring0) {
    _cleanup_free_ char *ip = NULL;
    size_t len = 0;
    char buf[INET6_ADDRSTRLEN];
    if (cfs_ipc_get_status("nodeip", node, &ip, &len) >= 0 && len > 0)
        return strndup(ip, strcspn(ip, "\n"));
    if (cluster_resolve_node_ip(node, buf) >= 0)
        return strdup(buf);
    return ring0 ? strdup(ring0) : NULL;
}

static int h_join_info(ApiCall *call) {
    _cleanup_(corosync_conf_freep) CorosyncConf *c = NULL;
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = read_conf(call, &c, &text, &len);
    if (r < 0 || (r = require_conf(call, c)) < 0)
        return r;
    const char *node = api_env(call)->nodename;
    (void) api_call_param_string(call, "node", &node);
    if (!corosync_conf_find_node(c, node))
        return api_call_fail(call, 500, NULL, "unknown node '%s'", node);
    _cleanup_json_ json_t *nodes = nodelist_json(c, NULL);
    if (!nodes)
        return -ENOMEM;
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        const char *name = json_string_value(json_object_get(n, "name"));
        if (!name)
            continue;
        _cleanup_free_ char *fp = node_fingerprint(name);
        _cleanup_free_ char *addr =
            node_addr(name, json_string_value(json_object_get(n, "ring0_addr")));
        if (json_util_set_string(n, "pve_fp", fp) < 0 ||
            json_util_set_string(n, "pve_addr", addr) < 0)
            return -ENOMEM;
    }
    char digest[41];
    api_digest(text, len, digest);
    const CorosyncItem *t = corosync_item_find_section(c->root, "totem");
    json_t *o = json_pack(
        "{s:O,s:s,s:o,s:s}", "nodelist", nodes, "preferred_node", node, "totem",
        t ? section_json(t) : json_object(), "config_digest", digest
    );
    return api_call_set_result(call, o);
}

static void links_cleanup(ClusterLink **p) {
    cluster_links_done(*p);
}

/* ---- helpers for the modifying calls ----------------------------------------------------------
 */

static int require_quorum(ApiCall *call) {
    if (cluster_cfs_quorate())
        return 0;
    return api_call_fail(call, 500, NULL, "cluster not ready - no quorum?");
}

/* link0..link7 parameters into links[] (already validated by the schema) */
static int params_links(ApiCall *call, ClusterLink links[static COROSYNC_LINKS_MAX]) {
    for (size_t i = 0; i < COROSYNC_LINKS_MAX; i++) {
        char key[8];
        const char *v = NULL;
        links[i] = (ClusterLink){.priority = -1};
        snprintf(key, sizeof key, "link%zu", i);
        if (api_call_param_string(call, key, &v) < 0 || !v)
            continue;
        _cleanup_free_ char *msg = NULL;
        int r = cluster_link_parse(v, &links[i], &msg);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return api_call_fail(
                call, 400, json_pack("{s:s}", key, msg ?: "invalid link"),
                "Parameter verification failed."
            );
    }
    return 0;
}

static void log_cluster(ApiCall *call, const char *fmt, const char *arg) {
    char msg[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, sizeof msg, fmt, arg);
#pragma GCC diagnostic pop
    (void) cfs_ipc_log_cluster_msg(5, "pvedaemon", api_user(call), msg);
}

/* ---- POST /cluster/config/nodes/{node} --------------------------------------------------------
 */

typedef struct AddCtx {
    ClusterNodeAdd add;
    json_t *warnings;
    char *conf; /* the new corosync.conf */
} AddCtx;

static int add_update(ApiCall *call, const char *text, size_t len, char **ret_new, void *userdata) {
    AddCtx *a = userdata;
    _cleanup_free_ char *msg = NULL;
    if (len == 0)
        return api_call_fail(call, 500, NULL, "no corosync.conf - this node is not in a cluster");
    int r = cluster_conf_add_node(text, len, &a->add, ret_new, a->warnings, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, 500, NULL, "%s", msg ?: strerror(-r));
    a->conf = strdup(*ret_new);
    return a->conf ? 0 : -ENOMEM;
}

static int h_add_node(ApiCall *call) {
    long long apiver = CLUSTER_JOIN_API_VERSION, v;
    (void) api_call_param_int(call, "apiversion", &apiver);
    if (apiver < CLUSTER_JOIN_API_VERSION - CLUSTER_JOIN_API_AGE)
        return api_call_fail(
            call, 400, NULL,
            "error: incompatible join API version on cluster (%d), joining node has %lld. "
            "Make sure all nodes are up-to-date.",
            CLUSTER_JOIN_API_VERSION, apiver
        );
    int r = require_quorum(call);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *warnings = json_array();
    AddCtx a = {.add = {.votes = -1}, .warnings = warnings};
    _cleanup_(links_cleanup) ClusterLink *links = a.add.links;
    if (!warnings)
        return -ENOMEM;
    (void) api_call_param_string(call, "node", &a.add.name);
    (void) api_call_param_string(call, "new_node_ip", &a.add.new_node_ip);
    (void) api_call_param_bool(call, "force", &a.add.force);
    if (api_call_param_int(call, "nodeid", &v) >= 0)
        a.add.nodeid = (uint32_t) v;
    if (api_call_param_int(call, "votes", &v) >= 0)
        a.add.votes = (int) v;
    if ((r = params_links(call, a.add.links)) < 0)
        return r;

    r = api_update_file(call, PVE_CFS_COROSYNC_CONF, add_update, &a);
    _cleanup_free_ char *conf = a.conf;
    if (r < 0)
        return r;
    log_cluster(call, "adding node %s to cluster", a.add.name);
    cluster_gen_local_dirs(a.add.name);

    _cleanup_free_ char *key = NULL, *key_text = NULL;
    size_t key_len = 0, text_len = 0;
    r = read_full_file(cluster_authkey_path(), 4096, &key, &key_len);
    if (r < 0)
        return api_call_fail(
            call, 500, NULL, "unable to read '%s' - %s", cluster_authkey_path(), strerror(-r)
        );
    r = cluster_authkey_encode(key, key_len, &key_text, &text_len);
    explicit_bzero(key, key_len);
    if (r < 0)
        return r;
    json_t *res = json_pack(
        "{s:s%,s:s,s:O}", "corosync_authkey", key_text, text_len, "corosync_conf", conf, "warnings",
        warnings
    );
    explicit_bzero(key_text, text_len);
    return api_call_set_result(call, res);
}

/* ---- DELETE /cluster/config/nodes/{node} ------------------------------------------------------
 */

static int
remove_update(ApiCall *call, const char *text, size_t len, char **ret_new, void *userdata) {
    uint32_t *nodeid = userdata;
    const char *node = NULL;
    _cleanup_free_ char *msg = NULL;
    (void) api_call_param_string(call, "node", &node);
    int r = cluster_conf_remove_node(text, len, node, ret_new, nodeid, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, 500, NULL, "%s", msg ?: strerror(-r));
    return 0;
}

/* corosync-cfgtool -k <nodeid>: tell corosync to drop the node now (best effort) */
static void corosync_kill_node(uint32_t nodeid) {
    char id[16];
    snprintf(id, sizeof id, "%u", nodeid);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            (void) dup2(fd, STDOUT_FILENO);
            (void) dup2(fd, STDERR_FILENO);
        }
        execlp("corosync-cfgtool", "corosync-cfgtool", "-k", id, (char *) NULL);
        _exit(127);
    }
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
}

static int h_del_node(ApiCall *call) {
    const char *node = NULL;
    (void) api_call_param_string(call, "node", &node);
    if (streq(node, api_env(call)->nodename))
        return api_call_fail(call, 500, NULL, "Cannot delete myself from cluster!");
    int r = require_quorum(call);
    if (r < 0)
        return r;
    uint32_t nodeid = 0;
    log_cluster(call, "deleting node %s from cluster", node);
    r = api_update_file(call, PVE_CFS_COROSYNC_CONF, remove_update, &nodeid);
    if (r < 0)
        return r;
    if (nodeid)
        corosync_kill_node(nodeid);
    return 0;
}

/* ---- POST /cluster/config (create) ------------------------------------------------------------
 */

typedef struct CreateCtx {
    ClusterCreateParams p;
    int result;
    char *msg;
} CreateCtx;

static int create_locked(void *userdata) {
    CreateCtx *c = userdata;
    c->result = cluster_create(&c->p, stdout, &c->msg);
    return c->result;
}

static int create_worker(TaskWorker *w, void *userdata) {
    CreateCtx *c = userdata;
    int r = cfs_lock_file(PVE_CFS_COROSYNC_CONF, 10, create_locked, c);
    if (r < 0) {
        task_set_error(w, "%s", c->msg ?: strerror(-r));
        return r;
    }
    printf("Restart corosync and cluster filesystem\n");
    _cleanup_free_ char *msg = NULL;
    r = cluster_services(
        "restart", (const char *const[]){"corosync", "pve-cluster", NULL}, stdout, &msg
    );
    if (r < 0)
        task_set_error(w, "%s", msg ?: strerror(-r));
    return r;
}

static int h_create(ApiCall *call) {
    _cleanup_free_ char *path = NULL;
    struct stat st;
    if (asprintf(&path, "%s/" PVE_CFS_COROSYNC_CONF, cfs_file_mountpoint()) < 0)
        return -ENOMEM;
    if (stat(path, &st) == 0)
        return api_call_fail(call, 500, NULL, "cluster config '%s' already exists", path);
    CreateCtx c = {.p = {.nodename = api_env(call)->nodename}};
    _cleanup_(links_cleanup) ClusterLink *links = c.p.links;
    long long v;
    (void) api_call_param_string(call, "clustername", &c.p.cluster_name);
    if (api_call_param_int(call, "nodeid", &v) >= 0)
        c.p.nodeid = (uint32_t) v;
    if (api_call_param_int(call, "votes", &v) >= 0)
        c.p.votes = (uint32_t) v;
    if (!cluster_name_valid(c.p.cluster_name))
        return api_call_fail(
            call, 400, json_pack("{s:s}", "clustername", "invalid cluster name"),
            "Parameter verification failed."
        );
    int r = params_links(call, c.p.links);
    if (r < 0)
        return r;
    return api_task_start(call, "clustercreate", c.p.cluster_name, create_worker, &c, NULL);
}

/* ---- POST /cluster/config/join ----------------------------------------------------------------
 */

typedef struct JoinCtx {
    ClusterJoinParams p;
    char *url;
} JoinCtx;

static int join_worker(TaskWorker *w, void *userdata) {
    JoinCtx *j = userdata;
    _cleanup_free_ char *msg = NULL;
    int r = cluster_join(&j->p, stdout, &msg);
    if (r < 0)
        task_set_error(w, "%s", msg ?: strerror(-r));
    return r;
}

static int h_join(ApiCall *call) {
    JoinCtx j = {.p = {.votes = -1}};
    _cleanup_(links_cleanup) ClusterLink *links = j.p.links;
    _cleanup_free_ char *url = NULL;
    long long v;
    (void) api_call_param_string(call, "hostname", &j.p.hostname);
    (void) api_call_param_string(call, "password", &j.p.password);
    (void) api_call_param_string(call, "fingerprint", &j.p.fingerprint);
    (void) api_call_param_bool(call, "force", &j.p.force);
    if (api_call_param_int(call, "nodeid", &v) >= 0)
        j.p.nodeid = (uint32_t) v;
    if (api_call_param_int(call, "votes", &v) >= 0)
        j.p.votes = (int) v;
    int r = params_links(call, j.p.links);
    if (r < 0)
        return r;
    /* as upstream: the member's pveproxy at https://<hostname>:8006, its certificate pinned to
     * the (required) fingerprint before the password is sent; hostname may also be a full
     * URL (tests, or a member behind another port) */
    if (startswith(j.p.hostname, "http://") || startswith(j.p.hostname, "https://"))
        j.p.url = j.p.hostname;
    else {
        bool v6 = strchr(j.p.hostname, ':') != NULL;
        if (asprintf(&url, "https://%s%s%s:8006", v6 ? "[" : "", j.p.hostname, v6 ? "]" : "") < 0)
            return -ENOMEM;
        j.p.url = url;
    }
    return api_task_start(call, "clusterjoin", "", join_worker, &j, NULL);
}

/* ---- method table -----------------------------------------------------------------------------
 */

#define LINK_PARAM(n)                                                                \
    API_PARAM_STRING(                                                                \
        n, .optional = true, API_FORMAT_FIELDS(cluster_link_fields),                 \
        .typetext = "[address=]<IP> [,priority=<integer>]",                          \
        .description = "Address and priority information of a single corosync link." \
    )
#define LINK_PARAMS                                                                     \
    LINK_PARAM("link0"), LINK_PARAM("link1"), LINK_PARAM("link2"), LINK_PARAM("link3"), \
        LINK_PARAM("link4"), LINK_PARAM("link5"), LINK_PARAM("link6"), LINK_PARAM("link7")
#define FP_PATTERN "([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}"

static const ApiSchema create_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING(
                "clustername",
                .format = "pve-node",
                .max_length = 15,
                .description = "The name of the cluster."
            ),
            LINK_PARAMS,
            API_PARAM_INTEGER(
                "nodeid", .optional = true, API_MIN(1), .description = "Node id for this node."
            ),
            API_PARAM_INTEGER(
                "token-coefficient", .optional = true, API_MIN(0), API_DEFAULT_INT(125)
            ),
            API_PARAM_INTEGER(
                "votes",
                .optional = true,
                API_MIN(1),
                .description = "Number of votes for this node."
            )
        )
);

static const ApiSchema add_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_INTEGER("apiversion", .optional = true),
            API_PARAM_BOOL("force", .optional = true),
            LINK_PARAMS,
            API_PARAM_STRING("new_node_ip", .optional = true, .format = "ip"),
            API_PARAM_STRING("node", .format = "pve-node", .description = "The cluster node name."),
            API_PARAM_INTEGER("nodeid", .optional = true, API_MIN(1)),
            API_PARAM_INTEGER("votes", .optional = true, API_MIN(0))
        )
);

static const ApiSchema del_params =
    API_OBJECT(.properties = API_PROPERTIES(API_PARAM_STRING("node", .format = "pve-node")));

static const ApiSchema join_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING(
                "fingerprint",
                .pattern = FP_PATTERN,
                .description = "Certificate SHA 256 fingerprint."
            ),
            API_PARAM_BOOL("force", .optional = true),
            API_PARAM_STRING(
                "hostname",
                .description = "Hostname (or IP) of an existing cluster member; here also a "
                               "full https:// (or http://) URL of its API."
            ),
            LINK_PARAMS,
            API_PARAM_INTEGER("nodeid", .optional = true, API_MIN(1)),
            API_PARAM_STRING("password", .max_length = 128),
            API_PARAM_INTEGER("votes", .optional = true, API_MIN(0))
        )
);

static const ApiSchema join_info_params = API_OBJECT(
        .properties =
            API_PROPERTIES(API_PARAM_STRING("node", .optional = true, .format = "pve-node"))
);

static const ApiSchema add_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("corosync_authkey"),
            API_PARAM_STRING("corosync_conf"),
            API_PARAM_ARRAY("warnings", API_ITEMS(API_TYPE_STRING))
        )
);

static const ApiSchema array_of_objects = API_ARRAY(API_ITEMS(API_TYPE_OBJECT));
static const ApiSchema any_object = API_OBJECT(.additional_properties = true);
static const ApiSchema upid = API_SCALAR(API_TYPE_STRING);

#define AUDIT API_PERM_CHECK("/", API_PRIVS("Sys.Audit"))

static const ApiMethod methods[] = {
    {.path = "/cluster/config",
     .method = API_METHOD_GET,
     .name = "index",
     .description = "Directory index.",
     .returns = &array_of_objects,
     .permissions = AUDIT,
     .allowtoken = true,
     .handler = h_index},
    {.path = "/cluster/config",
     .method = API_METHOD_POST,
     .name = "create",
     .description = "Generate new cluster configuration. If no links given, default to local IP "
                    "address as link0.",
     .parameters = &create_params,
     .returns = &upid,
     .protected = true,
     .allowtoken = true,
     .handler = h_create},
    {.path = "/cluster/config/apiversion",
     .method = API_METHOD_GET,
     .name = "join_api_version",
     .description = "Return the version of the cluster join API available on this node.",
     .returns = &(const ApiSchema) API_SCALAR(API_TYPE_INTEGER, API_MIN(0)),
     .permissions = AUDIT,
     .allowtoken = true,
     .handler = h_apiversion},
    {.path = "/cluster/config/nodes",
     .method = API_METHOD_GET,
     .name = "nodes",
     .description = "Corosync node list.",
     .returns = &array_of_objects,
     .permissions = AUDIT,
     .allowtoken = true,
     .handler = h_nodes},
    {.path = "/cluster/config/nodes/{node}",
     .method = API_METHOD_POST,
     .name = "addnode",
     .description = "Adds a node to the cluster configuration. This call is for internal use.",
     .parameters = &add_params,
     .returns = &add_returns,
     .protected = true,
     .allowtoken = true,
     .handler = h_add_node},
    {.path = "/cluster/config/nodes/{node}",
     .method = API_METHOD_DELETE,
     .name = "delnode",
     .description = "Removes a node from the cluster configuration.",
     .parameters = &del_params,
     .protected = true,
     .allowtoken = true,
     .handler = h_del_node},
    {.path = "/cluster/config/join",
     .method = API_METHOD_GET,
     .name = "join_info",
     .description = "Get information needed to join this cluster over the connected node.",
     .parameters = &join_info_params,
     .returns = &any_object,
     .permissions = AUDIT,
     .allowtoken = true,
     .handler = h_join_info},
    {.path = "/cluster/config/join",
     .method = API_METHOD_POST,
     .name = "join",
     .description = "Joins this node into an existing cluster. If no links are given, default "
                    "to IP resolved by node's hostname on single link (fallback fails for "
                    "clusters with multiple links).",
     .parameters = &join_params,
     .returns = &upid,
     .protected = true,
     .allowtoken = true,
     .handler = h_join},
    {.path = "/cluster/config/totem",
     .method = API_METHOD_GET,
     .name = "totem",
     .description = "Get corosync totem protocol settings.",
     .returns = &any_object,
     .permissions = AUDIT,
     .allowtoken = true,
     .handler = h_totem},
};

int api_cluster_config_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
