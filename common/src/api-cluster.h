/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-cluster.h: what the two /cluster handler files share (internal to common/): the cluster
 * view from pmxcfs's .members, datacenter.cfg reading, and the registration of the
 * /cluster/config methods.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "pve/api-router.h"
#include "pve/datacenter-cfg.h"

typedef struct ClusterView {
    json_t *members;  /* parsed .members (NULL when pmxcfs did not answer) */
    json_t *cluster;  /* members.cluster when clustered, else NULL (borrowed) */
    json_t *nodelist; /* members.nodelist when clustered, else NULL (borrowed) */
    json_t *nodes;    /* array of node names: the nodelist, or just this node */
} ClusterView;

/* Load the view; only -ENOMEM fails (pmxcfs not answering means standalone). */
int cluster_view_load(ApiCall *call, ClusterView *v);
void cluster_view_done(ClusterView *v);

/* Read and parse datacenter.cfg (missing = empty); errors recorded on the call. ret_text and
 * ret_len may be NULL. */
int cluster_read_datacenter_cfg(
    ApiCall *call, DatacenterCfg **ret, char **ret_text, size_t *ret_len
);

/* /cluster/config methods (api-cluster-config.c) */
int api_cluster_config_register(ApiRouter *r);

/* helpers shared by the /cluster handler files */
json_t *cluster_ipc_json(int (*fn)(char **, size_t *)); /* parsed IPC JSON answer or NULL */
json_t *cluster_member(const ClusterView *v, const char *node);
/* .rrd dump as {key: [fields after the key]}; an empty object when pmxcfs has none */
json_t *cluster_rrd_load(void);
/* entry "<prefix_new>/<id>" or else "<prefix_old>/<id>" */
json_t *
cluster_rrd_get(const json_t *rrd, const char *prefix_old, const char *prefix_new, const char *id);
double cluster_rrd_num(const json_t *a, size_t i);         /* "U" / missing -> 0 */
const char *cluster_rrd_str(const json_t *a, size_t i);    /* "U" / missing / "" -> NULL */
int cluster_set_num(json_t *o, const char *key, double v); /* integer when integral */
int cluster_h_resources(ApiCall *call);
