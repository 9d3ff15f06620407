/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cluster-setup: cluster create / add node / remove node / join (see cluster-setup.h).
 */
#include "pve/cluster-setup.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/api-client.h"
#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"
#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/property-string.h"
#include "pve/string-util.h"

const char *cluster_host_conf_path(void) {
    return pve_path_env("PVE_COROSYNC_CONF", PVE_COROSYNC_CONF);
}

const char *cluster_authkey_path(void) {
    return pve_path_env("PVE_COROSYNC_AUTHKEY", PVE_COROSYNC_AUTHKEY);
}

static bool path_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* path below the cfs mount, malloc'd */
static char *cfs_path(const char *rel) {
    char *p = NULL;
    return asprintf(&p, "%s/%s", cfs_file_mountpoint(), rel) < 0 ? NULL : p;
}

void cluster_gen_local_dirs(const char *name) {
    static const char *const sub[] = {"", "/qemu-server", "/lxc", "/openvz", "/priv"};
    _cleanup_free_ char *nodes = cfs_path("nodes");
    if (nodes)
        (void) mkdir(nodes, 0755);
    for (size_t i = 0; i < ELEMENTSOF(sub); i++) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/nodes/%s%s", cfs_file_mountpoint(), name, sub[i]) >= 0)
            (void) mkdir(p, 0755);
    }
}

/* ---- names, links, addresses ------------------------------------------------------------------
 */

bool cluster_name_valid(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 15)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
            ))
            return false;
    }
    return true;
}

const PropertyStringField cluster_link_fields[2] = {
    {.key = "address", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true, .required = true},
    {.key = "priority",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 255},
};

void cluster_links_done(ClusterLink links[static COROSYNC_LINKS_MAX]) {
    for (size_t i = 0; i < COROSYNC_LINKS_MAX; i++) {
        free(links[i].address);
        links[i] = (ClusterLink){.priority = -1};
    }
}

int cluster_link_parse(const char *s, ClusterLink *ret, char **reterr_msg) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    _cleanup_free_ char *msg = NULL;
    int r = property_string_parse(s, "address", &ps, &msg);
    if (r >= 0)
        r = property_string_validate(
            ps, cluster_link_fields, ELEMENTSOF(cluster_link_fields), &msg
        );
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return set_error_message(reterr_msg, -EINVAL, "invalid format - %s", msg ?: "format error");
    const char *addr = property_string_get(ps, "address");
    if (!corosync_conf_value_valid(addr) || strpbrk(addr, " \t,"))
        return set_error_message(reterr_msg, -EINVAL, "invalid address '%s'", addr);
    long long prio = -1;
    (void) property_string_get_int(ps, "priority", &prio);
    char *a = strdup(addr);
    if (!a)
        return -ENOMEM;
    free(ret->address);
    *ret = (ClusterLink){.address = a, .priority = (int) prio};
    return 0;
}

int cluster_short_nodename(char ret[static 256]) {
    struct utsname u;
    if (uname(&u) < 0)
        return -errno;
    snprintf(ret, 256, "%s", u.nodename);
    ret[strcspn(ret, ".")] = '\0';
    return *ret ? 0 : -EINVAL;
}

int cluster_resolve_node_ip(const char *name, char ret[static INET6_ADDRSTRLEN]) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_flags = AI_ADDRCONFIG};
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

/* ---- create -----------------------------------------------------------------------------------
 */

static int add_interface(CorosyncConf *c, size_t link, int priority) {
    CorosyncItem *totem = corosync_item_find_section(c->root, "totem");
    CorosyncItem *itf = NULL;
    char buf[16];
    int r = corosync_item_add_section(totem, "interface", SIZE_MAX, &itf);
    if (r < 0)
        return r;
    snprintf(buf, sizeof buf, "%zu", link);
    if ((r = corosync_item_set(itf, "linknumber", buf)) < 0)
        return r;
    if (priority > 0) {
        snprintf(buf, sizeof buf, "%d", priority);
        r = corosync_item_set(itf, "knet_link_priority", buf);
    }
    return r;
}

int cluster_conf_create(const ClusterCreateParams *p, char **ret, size_t *ret_len) {
    _cleanup_(corosync_conf_freep) CorosyncConf *c = NULL;
    char nodeid[16], votes[16];
    int r;

    if (!cluster_name_valid(p->cluster_name) || !p->nodename ||
        !corosync_conf_value_valid(p->nodename) || !p->links[0].address)
        return -EINVAL;
    snprintf(nodeid, sizeof nodeid, "%" PRIu32, p->nodeid ? p->nodeid : 1);
    snprintf(votes, sizeof votes, "%" PRIu32, p->votes ? p->votes : 1);

    c = corosync_conf_new();
    if (!c)
        return -ENOMEM;
    /* What PVE's create puts in; the canonical printer sorts it into PVE's file order. */
    static const char *const keys[][2] = {
        {"totem.version", "2"},
        {"totem.secauth", "on"},
        {"totem.cluster_name", NULL},
        {"totem.config_version", "1"},
        {"totem.ip_version", "ipv4-6"},
        {"totem.link_mode", "passive"},
        {"quorum.provider", "corosync_votequorum"},
        {"logging.to_syslog", "yes"},
        {"logging.debug", "off"},
    };
    for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
        r = corosync_conf_set(c, keys[i][0], keys[i][1] ? keys[i][1] : p->cluster_name);
        if (r < 0)
            return r;
    }
    CorosyncNode node = {
        .name = (char *) p->nodename,
        .nodeid = p->nodeid ? p->nodeid : 1,
        .quorum_votes = p->votes ? p->votes : 1,
    };
    for (size_t i = 0; i < COROSYNC_LINKS_MAX; i++) {
        if (!p->links[i].address)
            continue;
        node.ring_addr[i] = p->links[i].address;
        if ((r = add_interface(c, i, p->links[i].priority)) < 0)
            return r;
    }
    r = corosync_conf_add_node(c, &node);
    if (r < 0)
        return r;
    return corosync_conf_print_canonical(c, ret, ret_len);
}

/* A file written whole or not at all (temporary + link/rename); replace: overwrite */
static int
write_host_file(const char *path, const void *data, size_t len, mode_t mode, bool replace) {
    _cleanup_free_ char *tmp = NULL;
    int r;
    if ((r = mkdir_parents(path, 0755)) < 0)
        return r;
    if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
        return -ENOMEM;
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r = write_all(fd, data, len);
    if (r >= 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
        r = -errno;
    if (r >= 0 && replace && rename(tmp, path) < 0)
        r = -errno;
    if (r >= 0 && !replace && link(tmp, path) < 0) /* fails with EEXIST instead of replacing */
        r = -errno;
    (void) unlink(tmp);
    return r;
}

static int ensure_authkey(FILE *out, char **reterr_msg) {
    const char *key = cluster_authkey_path();
    if (path_exists(key))
        return 0;
    uint8_t buf[CLUSTER_AUTHKEY_SIZE];
    if (getrandom(buf, sizeof buf, 0) != (ssize_t) sizeof buf)
        return set_error_message(reterr_msg, errno ? -errno : -EIO, "cannot get random bytes: %m");
    fprintf(out, "Generating corosync authentication key %s\n", key);
    int r = write_host_file(key, buf, sizeof buf, 0400, false);
    explicit_bzero(buf, sizeof buf);
    if (r < 0)
        return set_error_message(reterr_msg, r, "cannot write '%s': %s", key, strerror(-r));
    return 0;
}

int cluster_create(ClusterCreateParams *p, FILE *out, char **reterr_msg) {
    char ip[INET6_ADDRSTRLEN];
    int r;
    if (!cluster_name_valid(p->cluster_name))
        return set_error_message(
            reterr_msg, -EINVAL, "invalid cluster name '%s' (1 to 15 letters, digits or '-')",
            p->cluster_name
        );
    _cleanup_free_ char *members = cfs_path(".members"),
                        *cfs_conf = cfs_path(PVE_CFS_COROSYNC_CONF);
    if (!members || !cfs_conf)
        return -ENOMEM;
    if (!path_exists(members))
        return set_error_message(
            reterr_msg, -ENOTCONN, "%s is not mounted - is pmxcfs running?", cfs_file_mountpoint()
        );
    if (path_exists(cfs_conf))
        return set_error_message(
            reterr_msg, -EEXIST, "cluster config '%s' already exists", cfs_conf
        );
    const char *host = cluster_host_conf_path();
    if (path_exists(host))
        return set_error_message(reterr_msg, -EEXIST, "corosync config '%s' already exists", host);

    if (!p->nodename)
        return -EINVAL;
    bool resolved = false;
    if (!p->links[0].address) {
        if (cluster_resolve_node_ip(p->nodename, ip) < 0)
            return set_error_message(
                reterr_msg, -ENXIO,
                "unable to resolve node name '%s' to a non-loopback IP address; pass --link0",
                p->nodename
            );
        p->links[0].address = ip;
        resolved = true;
    }
    _cleanup_free_ char *text = NULL;
    size_t len;
    r = cluster_conf_create(p, &text, &len);
    if (resolved)
        p->links[0].address = NULL;
    if (r < 0)
        return set_error_message(reterr_msg, r, "cannot build corosync.conf: %s", strerror(-r));

    if ((r = ensure_authkey(out, reterr_msg)) < 0)
        return r;
    fprintf(out, "Writing corosync config to %s\n", host);
    r = write_host_file(host, text, len, 0644, false);
    if (r < 0)
        return set_error_message(reterr_msg, r, "cannot write '%s': %s", host, strerror(-r));
    fprintf(out, "Writing corosync config to %s\n", cfs_conf);
    r = cfs_file_write(PVE_CFS_COROSYNC_CONF, text, len);
    if (r < 0)
        return set_error_message(reterr_msg, r, "cannot write '%s': %s", cfs_conf, strerror(-r));
    cluster_gen_local_dirs(p->nodename);
    return 0;
}

/* ---- add / remove nodes -----------------------------------------------------------------------
 */

static int parse_conf(const char *text, size_t len, CorosyncConf **ret, char **reterr_msg) {
    CorosyncConfError e = {};
    int r = corosync_conf_parse(text, len, ret, &e);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return set_error_message(reterr_msg, r, "corosync.conf line %u: %s", e.line, e.message);
    return 0;
}

/* the cluster's link numbers (totem interface sections; link 0 when there are none) */
static unsigned cluster_link_mask(const CorosyncConf *c) {
    unsigned mask = 0;
    const CorosyncItem *totem = corosync_item_find_section(c->root, "totem");
    for (size_t i = 0; totem && i < totem->n_children; i++) {
        const CorosyncItem *it = totem->children[i];
        if (it->kind != COROSYNC_ITEM_SECTION || !streq(it->name, "interface"))
            continue;
        const char *n = corosync_item_get(it, "linknumber") ?: corosync_item_get(it, "ringnumber");
        unsigned v;
        if (n && safe_atou32(n, &v) >= 0 && v < COROSYNC_LINKS_MAX)
            mask |= 1u << v;
    }
    return mask ? mask : 1u;
}

static int finish_conf(CorosyncConf *c, char **ret_text, char **reterr_msg) {
    int r = corosync_conf_bump_config_version(c, NULL);
    if (r < 0)
        return set_error_message(
            reterr_msg, r, "corosync.conf: cannot increase config_version: %s", strerror(-r)
        );
    return corosync_conf_print_canonical(c, ret_text, NULL);
}

/* links of the request checked against the cluster's; the addresses to use in *ret */
static int add_node_links(
    const CorosyncConf *c,
    const ClusterNodeAdd *add,
    const CorosyncNode *nodes,
    size_t n_nodes,
    const char *ret[static COROSYNC_LINKS_MAX],
    json_t *warnings,
    char **reterr_msg
) {
    unsigned mask = cluster_link_mask(c);
    for (size_t i = 0; i < COROSYNC_LINKS_MAX; i++)
        ret[i] = add->links[i].address;
    if (!ret[0])
        ret[0] = add->new_node_ip;
    for (size_t i = 0; i < COROSYNC_LINKS_MAX; i++) {
        if ((mask & (1u << i)) && !ret[i])
            return set_error_message(
                reterr_msg, -EINVAL, "link%zu: no address configured for a link of the cluster", i
            );
        if (!(mask & (1u << i)) && ret[i]) {
            char w[128];
            snprintf(w, sizeof w, "ignoring link%zu: not configured on the cluster", i);
            if (warnings && json_array_append_new(warnings, json_string(w)) < 0)
                return -ENOMEM;
            ret[i] = NULL;
            continue;
        }
        for (size_t k = 0; ret[i] && k < n_nodes; k++) {
            if (nodes[k].name && streq(nodes[k].name, add->name))
                continue;
            for (size_t j = 0; j < COROSYNC_LINKS_MAX; j++)
                if (nodes[k].ring_addr[j] && streq(nodes[k].ring_addr[j], ret[i]))
                    return set_error_message(
                        reterr_msg, -EEXIST, "corosync: address '%s' already used on node %s",
                        ret[i], nodes[k].name ?: "?"
                    );
        }
    }
    return 0;
}

int cluster_conf_add_node(
    const char *text,
    size_t len,
    const ClusterNodeAdd *add,
    char **ret_text,
    json_t *ret_warnings,
    char **reterr_msg
) {
    _cleanup_(corosync_conf_freep) CorosyncConf *c = NULL;
    CorosyncNode *nodes = NULL;
    size_t n = 0;
    int r = parse_conf(text, len, &c, reterr_msg);
    if (r < 0)
        return r;
    if ((r = corosync_conf_get_nodes(c, &nodes, &n)) < 0)
        return set_error_message(reterr_msg, r, "corosync.conf: invalid nodelist");

    uint32_t nodeid = add->nodeid;
    int votes = add->votes;
    const CorosyncNode *existing = NULL;
    for (size_t i = 0; i < n; i++)
        if (nodes[i].name && streq(nodes[i].name, add->name))
            existing = &nodes[i];
    const char *addrs[COROSYNC_LINKS_MAX];
    if (existing) {
        if (!nodeid)
            nodeid = existing->nodeid;
        if (votes < 0)
            votes = (int) existing->quorum_votes;
        if (!(add->force && existing->nodeid == nodeid && existing->quorum_votes == (uint32_t) votes
            )) {
            r = set_error_message(reterr_msg, -EEXIST, "can't add existing node '%s'", add->name);
            goto out;
        }
    } else if (!nodeid) {
        for (nodeid = 1;; nodeid++) {
            bool used = false;
            for (size_t i = 0; i < n; i++)
                used = used || nodes[i].nodeid == nodeid;
            if (!used)
                break;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if (nodes[i].nodeid == nodeid) {
                r = set_error_message(
                    reterr_msg, -EEXIST, "Node with ID %" PRIu32 " already exists in the cluster",
                    nodeid
                );
                goto out;
            }
    }
    r = add_node_links(c, add, nodes, n, addrs, ret_warnings, reterr_msg);
    if (r < 0)
        goto out;
    if (existing)
        (void) corosync_conf_remove_node(c, add->name);
    CorosyncNode node = {
        .name = (char *) add->name,
        .nodeid = nodeid,
        .quorum_votes = votes < 0 ? 1 : (uint32_t) votes,
    };
    memcpy(node.ring_addr, addrs, sizeof addrs);
    r = corosync_conf_add_node(c, &node);
    if (r < 0) {
        r = set_error_message(
            reterr_msg, r, "cannot add node '%s' to corosync.conf: %s", add->name, strerror(-r)
        );
        goto out;
    }
    r = finish_conf(c, ret_text, reterr_msg);
out:
    corosync_nodes_free(nodes, n);
    return r;
}

int cluster_conf_remove_node(
    const char *text,
    size_t len,
    const char *name,
    char **ret_text,
    uint32_t *ret_nodeid,
    char **reterr_msg
) {
    _cleanup_(corosync_conf_freep) CorosyncConf *c = NULL;
    CorosyncNode *nodes = NULL;
    size_t n = 0;
    int r = parse_conf(text, len, &c, reterr_msg);
    if (r < 0)
        return r;
    if ((r = corosync_conf_get_nodes(c, &nodes, &n)) < 0)
        return set_error_message(reterr_msg, r, "corosync.conf: invalid nodelist");
    _cleanup_free_ char *found = NULL;
    uint32_t id = 0;
    for (size_t i = 0; i < n && !found; i++) {
        bool match = nodes[i].name && streq(nodes[i].name, name);
        for (size_t j = 0; j < COROSYNC_LINKS_MAX; j++)
            match = match || (nodes[i].ring_addr[j] && streq(nodes[i].ring_addr[j], name));
        if (match) {
            found = strdup(nodes[i].name ?: name);
            id = nodes[i].nodeid;
            if (!found) {
                corosync_nodes_free(nodes, n);
                return -ENOMEM;
            }
        }
    }
    corosync_nodes_free(nodes, n);
    if (!found)
        return set_error_message(
            reterr_msg, -ENOENT, "Node/IP: %s is not a known host of the cluster.", name
        );
    if ((r = corosync_conf_remove_node(c, found)) < 0)
        return set_error_message(reterr_msg, r, "cannot remove node '%s'", found);
    if (ret_nodeid)
        *ret_nodeid = id;
    return finish_conf(c, ret_text, reterr_msg);
}

/* ---- services, quorum -------------------------------------------------------------------------
 */

bool cluster_cfs_quorate(void) {
    _cleanup_free_ char *local = cfs_path("local");
    struct stat st;
    return local && lstat(local, &st) == 0 && (st.st_mode & S_IWUSR);
}

int cluster_services(const char *verb, const char *const *units, FILE *out, char **reterr_msg) {
    const char *cmd = pve_path_env("PVE_SYSTEMCTL", "systemctl");
    const char *argv[8] = {cmd, verb};
    size_t n = 2;
    for (const char *const *u = units; *u && n < ELEMENTSOF(argv) - 1; u++)
        argv[n++] = *u;
    argv[n] = NULL;
    fflush(out);
    pid_t pid = fork();
    if (pid < 0)
        return set_error_message(reterr_msg, -errno, "fork failed: %m");
    if (pid == 0) {
        int fd = fileno(out);
        if (fd >= 0) {
            (void) dup2(fd, STDOUT_FILENO);
            (void) dup2(fd, STDERR_FILENO);
        }
        execvp(argv[0], (char *const *) argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return set_error_message(reterr_msg, -errno, "waitpid failed: %m");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return set_error_message(
            reterr_msg, -EIO, "'%s %s %s%s%s' failed", cmd, verb, units[0] ?: "",
            units[0] && units[1] ? " " : "", units[0] && units[1] ? units[1] : ""
        );
    return 0;
}

/* ---- authkey in JSON --------------------------------------------------------------------------
 */

int cluster_authkey_encode(const void *key, size_t len, char **ret, size_t *ret_len) {
    const uint8_t *k = key;
    char *s = malloc(len * 2 + 1), *p = s;
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        if (k[i] < 0x80)
            *p++ = (char) k[i];
        else {
            *p++ = (char) (0xC0 | (k[i] >> 6));
            *p++ = (char) (0x80 | (k[i] & 0x3F));
        }
    }
    *p = 0;
    *ret = s;
    *ret_len = (size_t) (p - s);
    return 0;
}

int cluster_authkey_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len) {
    uint8_t *k = malloc(len + 1);
    size_t n = 0;
    if (!k)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c < 0x80)
            k[n++] = c;
        else if ((c == 0xC2 || c == 0xC3) && i + 1 < len && ((unsigned char) s[i + 1] & 0xC0) == 0x80) {
            k[n++] = (uint8_t) (((c & 0x03) << 6) | ((unsigned char) s[i + 1] & 0x3F));
            i++;
        } else {
            free(k);
            return -EINVAL;
        }
    }
    *ret = k;
    *ret_len = n;
    return 0;
}

/* ---- join -------------------------------------------------------------------------------------
 */

/* upstream's assert_joinable: errors listed, fatal unless force */
static int assert_joinable(bool force, FILE *out, char **reterr_msg) {
    _cleanup_free_ char *cfs_conf = cfs_path(PVE_CFS_COROSYNC_CONF), *list = NULL;
    size_t len = 0;
    char errors[2048] = "";
    size_t used = 0;
    if (!cfs_conf)
        return -ENOMEM;
#define ERR(...) used += (size_t) snprintf(errors + used, sizeof errors - used, __VA_ARGS__)
    if (path_exists(cluster_authkey_path()))
        ERR("* authentication key '%s' already exists\n", cluster_authkey_path());
    if (path_exists(cfs_conf))
        ERR("* cluster config '%s' already exists\n", cfs_conf);
    if (path_exists(cluster_host_conf_path()) && used < sizeof errors)
        ERR("* corosync config '%s' already exists\n", cluster_host_conf_path());
    if (cfs_ipc_get_guest_list(&list, &len) >= 0 && used < sizeof errors) {
        _cleanup_json_ json_t *vl = json_loadb(list, len, 0, NULL);
        if (json_object_size(json_object_get(vl, "ids")) > 0)
            ERR("* this host already contains virtual guests\n");
    }
#undef ERR
    if (!errors[0])
        return 0;
    fprintf(out, "detected the following error(s):\n%s", errors);
    if (!force)
        return set_error_message(reterr_msg, -EEXIST, "Check if node may join a cluster failed!");
    fprintf(out, "\nWARNING : detected error but forced to continue!\n\n");
    return 0;
}

static int request_addition(
    const ClusterJoinParams *p,
    const char *nodename,
    FILE *out,
    json_t **ret_data,
    char **reterr_msg
) {
    _cleanup_(api_client_freep) ApiClient *client = NULL;
    int r = api_client_new(p->url, 60, &client);
    if (r < 0)
        return set_error_message(reterr_msg, r, "invalid API URL '%s'", p->url);
    if (p->fingerprint && (r = api_client_set_fingerprint(client, p->fingerprint)) < 0)
        return r;
    fprintf(out, "Establishing API connection with host '%s' (%s)\n", p->hostname, p->url);
    if ((r = api_client_login(client, "root@pam", p->password, reterr_msg)) < 0)
        return r;
    fprintf(out, "Login succeeded.\n");

    _cleanup_json_ json_t *args = json_pack("{s:i}", "apiversion", CLUSTER_JOIN_API_VERSION);
    if (!args)
        return -ENOMEM;
    bool any = false;
    for (size_t i = 0; i < COROSYNC_LINKS_MAX; i++) {
        if (!p->links[i].address)
            continue;
        char key[8], val[300];
        snprintf(key, sizeof key, "link%zu", i);
        if (p->links[i].priority >= 0)
            snprintf(
                val, sizeof val, "address=%s,priority=%d", p->links[i].address, p->links[i].priority
            );
        else
            snprintf(val, sizeof val, "%s", p->links[i].address);
        if (json_util_set_string(args, key, val) < 0)
            return -ENOMEM;
        any = true;
    }
    char ip[INET6_ADDRSTRLEN];
    if (!any) {
        if (cluster_resolve_node_ip(nodename, ip) < 0)
            return set_error_message(
                reterr_msg, -ENXIO, "unable to get the IP of node '%s'; pass link0", nodename
            );
        if (json_util_set_string(args, "new_node_ip", ip) < 0)
            return -ENOMEM;
    }
    if ((p->nodeid && json_util_set_int(args, "nodeid", p->nodeid) < 0) ||
        (p->votes >= 0 && json_util_set_int(args, "votes", p->votes) < 0) ||
        (p->force && json_util_set_int(args, "force", 1) < 0))
        return -ENOMEM;

    fprintf(out, "Request addition of this node\n");
    char path[300];
    snprintf(path, sizeof path, "/cluster/config/nodes/%s", nodename);
    _cleanup_json_ json_t *body = NULL;
    int status = 0;
    if ((r = api_client_call(client, "POST", path, args, &status, &body, reterr_msg)) < 0)
        return r;
    if (status != 200) {
        const char *msg = json_string_value(json_object_get(body, "message"));
        fprintf(out, "An error occurred on the cluster node: %s\n", msg ? msg : "(no message)");
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(body, "errors"), k, v) {
            fprintf(
                out, "%s %s: %s\n", startswith(k, "warning") ? "*" : "!", k,
                json_string_value(v) ?: ""
            );
        }
        return set_error_message(reterr_msg, -EPROTO, "Cluster join aborted!");
    }
    json_t *data = json_object_get(body, "data");
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(data, "warnings"), i, w) {
        fprintf(out, "cluster: %s\n", json_string_value(w) ?: "");
    }
    *ret_data = json_incref(data);
    return 0;
}

static int wait_quorum(unsigned timeout_s, FILE *out, char **reterr_msg) {
    bool said = false;
    for (unsigned i = 0; i < timeout_s * 10; i++) {
        if (cluster_cfs_quorate()) {
            if (said)
                fprintf(out, "OK\n");
            return 0;
        }
        if (!said && i >= 10) {
            fprintf(out, "waiting for quorum...");
            fflush(out);
            said = true;
        }
        (void) nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
    }
    return set_error_message(reterr_msg, -ETIMEDOUT, "no quorum after %u s", timeout_s);
}

static int finish_join(
    const char *nodename,
    const char *conf,
    size_t conf_len,
    const uint8_t *key,
    size_t key_len,
    unsigned quorum_timeout_s,
    FILE *out,
    char **reterr_msg
) {
    int r = write_host_file(cluster_authkey_path(), key, key_len, 0400, true);
    if (r < 0)
        return set_error_message(
            reterr_msg, r, "cannot write '%s': %s", cluster_authkey_path(), strerror(-r)
        );
    r = write_host_file(cluster_host_conf_path(), conf, conf_len, 0644, true);
    if (r < 0)
        return set_error_message(
            reterr_msg, r, "cannot write '%s': %s", cluster_host_conf_path(), strerror(-r)
        );

    fprintf(out, "stopping pve-cluster service\n");
    if ((r = cluster_services("stop", (const char *const[]){"pve-cluster", NULL}, out, reterr_msg)
        ) < 0)
        return r;
    cfs_ipc_disconnect();
    const char *db = pve_path_env("PVE_CFS_DBFILE", PVE_CFS_DBFILENAME);
    _cleanup_free_ char *backup = NULL;
    if (asprintf(&backup, "%s.joined-%lld", db, (long long) time(NULL)) < 0)
        return -ENOMEM;
    if (rename(db, backup) == 0)
        fprintf(out, "backup of the local database in %s\n", backup);
    else if (errno != ENOENT)
        return set_error_message(reterr_msg, -errno, "cannot move '%s' aside: %m", db);
    if ((r = cluster_services(
             "start", (const char *const[]){"corosync", "pve-cluster", NULL}, out, reterr_msg
         )) < 0)
        return set_error_message(reterr_msg, r, "starting pve-cluster failed");
    if ((r = wait_quorum(quorum_timeout_s ? quorum_timeout_s : 120, out, reterr_msg)) < 0)
        return r;
    cluster_gen_local_dirs(nodename);
    fprintf(out, "successfully added node '%s' to cluster.\n", nodename);
    return 0;
}

int cluster_join(const ClusterJoinParams *p, FILE *out, char **reterr_msg) {
    char nodename[256];
    int r = cluster_short_nodename(nodename);
    if (r < 0)
        return set_error_message(reterr_msg, r, "cannot determine the node name: %s", strerror(-r));
    if ((r = assert_joinable(p->force, out, reterr_msg)) < 0)
        return r;
    _cleanup_json_ json_t *data = NULL;
    if ((r = request_addition(p, nodename, out, &data, reterr_msg)) < 0)
        return r;
    json_t *conf = json_object_get(data, "corosync_conf");
    json_t *key = json_object_get(data, "corosync_authkey");
    if (!json_is_string(conf) || !json_is_string(key))
        return set_error_message(
            reterr_msg, -EBADMSG, "the cluster node's answer lacks corosync_conf/authkey"
        );
    _cleanup_free_ uint8_t *raw = NULL;
    size_t raw_len = 0;
    if (cluster_authkey_decode(json_string_value(key), json_string_length(key), &raw, &raw_len) < 0)
        return set_error_message(reterr_msg, -EBADMSG, "invalid corosync_authkey in the answer");
    fprintf(out, "Join request OK, finishing setup locally\n");
    r = finish_join(
        nodename, json_string_value(conf), json_string_length(conf), raw, raw_len,
        p->quorum_timeout_s, out, reterr_msg
    );
    explicit_bzero(raw, raw_len);
    return r;
}
