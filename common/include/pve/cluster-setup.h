/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cluster-setup: creating a cluster, adding and removing nodes in corosync.conf and joining an
 * existing cluster, shared by pvecm (create, add) and the /cluster/config API (POST create,
 * POST/DELETE nodes/{node}, POST join), as upstream's PVE::Cluster::Setup and PVE::Corosync.
 *
 * Progress goes to the FILE given (stdout for pvecm, the task log for the API); errors come
 * back as a negative errno plus a malloc'd message. Nothing here logs.
 *
 * Paths (overridable for tests): $PVE_CFS_MOUNTPOINT (/etc/pve), $PVE_COROSYNC_CONF
 * (/etc/corosync/corosync.conf), $PVE_COROSYNC_AUTHKEY (/etc/corosync/authkey), $PVE_CFS_DBFILE
 * (/var/lib/pve-cluster/config.db). Services are started and stopped through $PVE_SYSTEMCTL
 * (default systemctl), called as `<cmd> stop pve-cluster` / `<cmd> start corosync pve-cluster`
 * / `<cmd> restart corosync pve-cluster`, so tests can manage the daemons themselves.
 */
#pragma once

#include <arpa/inet.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pve/corosync-conf.h"
#include "pve/macro.h"
#include "pve/property-string.h"

/* upstream's join API version (JOIN_API_VERSION) and how many older versions it accepts */
#define CLUSTER_JOIN_API_VERSION 1
#define CLUSTER_JOIN_API_AGE     0
#define CLUSTER_AUTHKEY_SIZE     256 /* corosync-keygen's default */

/* One corosync link: "[address=]<addr>[,priority=<0..255>]" */
typedef struct ClusterLink {
    char *address; /* NULL: link not given */
    int priority;  /* -1: not given */
} ClusterLink;

/* its property-string format (for API schemas) */
extern const PropertyStringField cluster_link_fields[2];

/* Parse a link property string into *ret (address malloc'd). -EINVAL with *reterr_msg. */
int cluster_link_parse(const char *s, ClusterLink *ret, char **reterr_msg);
void cluster_links_done(ClusterLink links[static COROSYNC_LINKS_MAX]);

typedef struct ClusterCreateParams {
    const char *cluster_name;
    const char *nodename;                  /* required */
    ClusterLink links[COROSYNC_LINKS_MAX]; /* link0 required (resolved from the name if absent) */
    uint32_t nodeid;                       /* 0 = 1 */
    uint32_t votes;                        /* 0 = 1 */
} ClusterCreateParams;

static inline void cluster_create_params_done(ClusterCreateParams *p) {
    cluster_links_done(p->links);
}

/* PVE's cluster names: 1..15 of [A-Za-z0-9-]. */
bool cluster_name_valid(const char *name);

/* The initial corosync.conf of a one-node cluster, in PVE's layout; -EINVAL, -ENOMEM. */
int cluster_conf_create(const ClusterCreateParams *p, char **ret, size_t *ret_len);

/* First non-loopback address of name (as pmxcfs picks the node's IP). */
int cluster_resolve_node_ip(const char *name, char ret[static INET6_ADDRSTRLEN]);
/* This host's short name (uname up to the first '.'). */
int cluster_short_nodename(char ret[static 256]);

const char *cluster_host_conf_path(void);
const char *cluster_authkey_path(void);

/*
 * `pvecm create` / POST /cluster/config: refuse when pmxcfs is not mounted or a corosync.conf
 * exists (in /etc/pve or on the host), resolve link0 from p->nodename when missing, write an
 * authkey when there is none, then the host corosync.conf and /etc/pve/corosync.conf. Does not
 * restart anything.
 */
int cluster_create(ClusterCreateParams *p, FILE *out, char **reterr_msg);

/* What POST /cluster/config/nodes/{node} asks for. */
typedef struct ClusterNodeAdd {
    const char *name;
    uint32_t nodeid; /* 0: the lowest free id */
    int votes;       /* -1: keep / 1 */
    ClusterLink links[COROSYNC_LINKS_MAX];
    const char *new_node_ip; /* link0 when not given */
    bool force;
} ClusterNodeAdd;

/*
 * Add a node to corosync.conf text (upstream's rules: a node name that exists is refused unless
 * force and nodeid/votes match; an address used by another node is refused; the links must
 * match the cluster's links (a missing link is an error, an extra one a warning appended to
 * *ret_warnings, a JSON array that may be NULL). config_version + 1, canonical output.
 */
int cluster_conf_add_node(
    const char *text,
    size_t len,
    const ClusterNodeAdd *add,
    char **ret_text,
    json_t *ret_warnings,
    char **reterr_msg
);

/* Remove the node named (or with ring address) name; *ret_nodeid gets its id (0 if none).
 * config_version + 1. -ENOENT "Node/IP: <x> is not a known host of the cluster." */
int cluster_conf_remove_node(
    const char *text,
    size_t len,
    const char *name,
    char **ret_text,
    uint32_t *ret_nodeid,
    char **reterr_msg
);

/* /etc/pve/nodes/<name> with qemu-server, lxc, openvz and priv (upstream's gen_local_dirs). */
void cluster_gen_local_dirs(const char *name);

/* The cluster filesystem is quorate (/etc/pve/local is writable by its owner, as upstream). */
bool cluster_cfs_quorate(void);

/* Run the service manager ($PVE_SYSTEMCTL or systemctl) with verb and units, output to out. */
int cluster_services(const char *verb, const char *const *units, FILE *out, char **reterr_msg);

/* The authkey as upstream sends it in JSON: each byte one code point (U+0000..U+00FF). */
int cluster_authkey_encode(const void *key, size_t len, char **ret, size_t *ret_len);
int cluster_authkey_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len);

typedef struct ClusterJoinParams {
    const char *url;         /* API base of the existing node, "http://host:85" */
    const char *hostname;    /* for messages */
    const char *password;    /* root@pam on the existing node */
    const char *fingerprint; /* checked once HTTPS is supported; recorded otherwise */
    ClusterLink links[COROSYNC_LINKS_MAX];
    uint32_t nodeid;
    int votes; /* -1: not given */
    bool force;
    unsigned quorum_timeout_s; /* 0 = 120 */
} ClusterJoinParams;

static inline void cluster_join_params_done(ClusterJoinParams *p) {
    cluster_links_done(p->links);
}

/*
 * Join as upstream's PVE::Cluster::Setup::join: check this node may join (no authkey, no
 * corosync.conf, no guests; force turns these into warnings), log in to the existing node as
 * root@pam, POST /cluster/config/nodes/<this node> (links, or new_node_ip = this node's IP),
 * then finish locally: write the authkey and host corosync.conf, stop pve-cluster, move the
 * local config.db aside (config.db.joined-<time>), start corosync and pve-cluster and wait for
 * quorum.
 */
int cluster_join(const ClusterJoinParams *p, FILE *out, char **reterr_msg);
