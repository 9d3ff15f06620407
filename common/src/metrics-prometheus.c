/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * metrics-prometheus: Prometheus text format 0.0.4 of the cluster status (see
 * metrics-prometheus.h). One table lists every metric: its name, type, help, which resource
 * type it applies to and where its value comes from (a /cluster/resources field, or a field
 * of the node's pve2-node value in the .rrd dump).
 */
#include "pve/metrics-prometheus.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-cluster.h"
#include "pve/api-env.h"
#include "pve/json-util.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"

typedef enum MetricScope {
    SCOPE_NODE,
    SCOPE_GUEST,
    SCOPE_STORAGE,
} MetricScope;

typedef struct Metric {
    const char *name;
    const char *type; /* "gauge" or "counter" */
    MetricScope scope;
    const char *field; /* /cluster/resources field, or NULL: */
    int rrd_idx;       /* index into the node's pve2-node value */
    const char *help;
} Metric;

/* pve2-node value: uptime:sublevel:ctime:loadavg:maxcpu:cpu:iowait:memtotal:memused:
 * swaptotal:swapused:roottotal:rootused:netin:netout */
enum {
    RRD_LOADAVG = 3,
    RRD_IOWAIT = 6,
    RRD_SWAPTOTAL = 9,
    RRD_SWAPUSED = 10,
    RRD_NETIN = 13,
    RRD_NETOUT = 14
};

#define NODE_F(n, t, f, h) \
    { n, t, SCOPE_NODE, f, -1, h }
#define NODE_R(n, t, i, h) \
    { n, t, SCOPE_NODE, NULL, i, h }
#define GUEST_F(n, t, f, h) \
    { n, t, SCOPE_GUEST, f, -1, h }
#define STOR_F(n, t, f, h) \
    { n, t, SCOPE_STORAGE, f, -1, h }

static const Metric metrics[] = {
    NODE_F("pve_node_up", "gauge", NULL, "1 when the node is online"),
    NODE_F("pve_node_uptime_seconds", "gauge", "uptime", "Node uptime"),
    NODE_F("pve_node_cpu_usage_ratio", "gauge", "cpu", "Node CPU usage (0..1)"),
    NODE_F("pve_node_cpus", "gauge", "maxcpu", "Number of node CPUs"),
    NODE_R("pve_node_iowait_ratio", "gauge", RRD_IOWAIT, "Node CPU time waiting for I/O (0..1)"),
    NODE_R("pve_node_load1", "gauge", RRD_LOADAVG, "Node load average over 1 minute"),
    NODE_F("pve_node_memory_used_bytes", "gauge", "mem", "Node memory in use"),
    NODE_F("pve_node_memory_total_bytes", "gauge", "maxmem", "Node memory size"),
    NODE_R("pve_node_swap_used_bytes", "gauge", RRD_SWAPUSED, "Node swap in use"),
    NODE_R("pve_node_swap_total_bytes", "gauge", RRD_SWAPTOTAL, "Node swap size"),
    NODE_F("pve_node_rootfs_used_bytes", "gauge", "disk", "Node root file system use"),
    NODE_F("pve_node_rootfs_total_bytes", "gauge", "maxdisk", "Node root file system size"),
    NODE_R(
        "pve_node_network_receive_bytes_total",
        "counter",
        RRD_NETIN,
        "Bytes received on the node's physical interfaces"
    ),
    NODE_R(
        "pve_node_network_transmit_bytes_total",
        "counter",
        RRD_NETOUT,
        "Bytes sent on the node's physical interfaces"
    ),
    GUEST_F("pve_guest_up", "gauge", NULL, "1 when the guest is running"),
    GUEST_F("pve_guest_uptime_seconds", "gauge", "uptime", "Guest uptime"),
    GUEST_F("pve_guest_cpu_usage_ratio", "gauge", "cpu", "Guest CPU usage (0..1 of its CPUs)"),
    GUEST_F("pve_guest_cpus", "gauge", "maxcpu", "Guest CPUs"),
    GUEST_F("pve_guest_memory_used_bytes", "gauge", "mem", "Guest memory in use"),
    GUEST_F("pve_guest_memory_total_bytes", "gauge", "maxmem", "Guest memory size"),
    GUEST_F("pve_guest_disk_used_bytes", "gauge", "disk", "Guest disk use"),
    GUEST_F("pve_guest_disk_total_bytes", "gauge", "maxdisk", "Guest disk size"),
    GUEST_F("pve_guest_network_receive_bytes_total", "counter", "netin", "Guest bytes received"),
    GUEST_F("pve_guest_network_transmit_bytes_total", "counter", "netout", "Guest bytes sent"),
    GUEST_F("pve_guest_disk_read_bytes_total", "counter", "diskread", "Guest bytes read"),
    GUEST_F("pve_guest_disk_write_bytes_total", "counter", "diskwrite", "Guest bytes written"),
    STOR_F("pve_storage_up", "gauge", NULL, "1 when the storage is available"),
    STOR_F("pve_storage_used_bytes", "gauge", "disk", "Storage space in use"),
    STOR_F("pve_storage_total_bytes", "gauge", "maxdisk", "Storage size"),
};

static bool in_scope(const json_t *e, MetricScope scope) {
    const char *type = json_string_value(json_object_get(e, "type"));
    if (!type)
        return false;
    switch (scope) {
    case SCOPE_NODE:
        return streq(type, "node");
    case SCOPE_GUEST:
        return streq(type, "qemu") || streq(type, "lxc");
    case SCOPE_STORAGE:
        return streq(type, "storage");
    }
    return false;
}

static void label(StrBuf *b, bool first, const char *name, const char *value) {
    strbuf_printf(b, "%s%s=\"", first ? "" : ",", name);
    for (const char *p = value ?: ""; *p; p++) {
        if (*p == '\\')
            strbuf_append(b, "\\\\");
        else if (*p == '"')
            strbuf_append(b, "\\\"");
        else if (*p == '\n')
            strbuf_append(b, "\\n");
        else
            strbuf_append_char(b, *p);
    }
    strbuf_append_char(b, '"');
}

static const char *str_field(const json_t *e, const char *key) {
    return json_string_value(json_object_get(e, key));
}

static void labels(StrBuf *b, const json_t *e, MetricScope scope) {
    const char *status = str_field(e, "status");
    strbuf_append_char(b, '{');
    label(b, true, "id", str_field(e, "id"));
    label(b, false, "node", str_field(e, "node"));
    if (scope == SCOPE_GUEST) {
        char vmid[32];
        snprintf(vmid, sizeof vmid, "%lld", json_integer_value(json_object_get(e, "vmid")));
        label(b, false, "vmid", vmid);
        label(b, false, "name", str_field(e, "name"));
        label(b, false, "type", str_field(e, "type"));
    } else if (scope == SCOPE_STORAGE) {
        label(b, false, "storage", str_field(e, "storage"));
        label(b, false, "type", str_field(e, "plugintype"));
    }
    label(b, false, "status", status ?: "unknown");
    strbuf_append_char(b, '}');
}

/* the metric's value for entry e; false when it has none */
static bool value_of(const Metric *m, const json_t *e, const json_t *rrd, double *ret) {
    const char *status = str_field(e, "status") ?: "";
    if (!m->field && m->rrd_idx < 0) { /* the *_up gauges */
        const char *up = m->scope == SCOPE_NODE    ? "online"
                         : m->scope == SCOPE_GUEST ? "running"
                                                   : "available";
        *ret = streq(status, up);
        return true;
    }
    if (m->field) {
        json_t *v = json_object_get(e, m->field);
        if (!json_is_number(v))
            return false;
        *ret = json_number_value(v);
        return isfinite(*ret);
    }
    /* .rrd values only for nodes the caller may audit (they carry maxcpu) and that are up */
    if (!json_object_get(e, "maxcpu") || !streq(status, "online"))
        return false;
    const json_t *d = cluster_rrd_get(rrd, "pve2-node", "pve-node-9.0", str_field(e, "node") ?: "");
    if (!cluster_rrd_str(d, (size_t) m->rrd_idx))
        return false;
    *ret = cluster_rrd_num(d, (size_t) m->rrd_idx);
    return isfinite(*ret);
}

static void sample_value(StrBuf *b, double v) {
    if (v == (double) (long long) v && fabs(v) < 1e15)
        strbuf_printf(b, " %lld\n", (long long) v);
    else
        strbuf_printf(b, " %.17g\n", v);
}

int metrics_prometheus_render(const json_t *resources, const json_t *rrd, char **ret) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    for (size_t i = 0; i < ELEMENTSOF(metrics); i++) {
        const Metric *m = &metrics[i];
        strbuf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
        size_t k;
        json_t *e;
        json_array_foreach(resources, k, e) {
            double v;
            if (!in_scope(e, m->scope) || !value_of(m, e, rrd, &v))
                continue;
            strbuf_append(&b, m->name);
            labels(&b, e, m->scope);
            sample_value(&b, v);
        }
    }
    return strbuf_finish(&b, ret, NULL);
}

int metrics_prometheus_collect(const ApiRouter *router, ApiCall *call, char **ret) {
    static const char *const audit[] = {"Sys.Audit", NULL};
    int r = api_check_priv(call, NULL, "/", audit, false);
    if (r < 0)
        return r;
    r = api_router_resolve(router, API_METHOD_GET, "/cluster/resources", NULL, call);
    if (r < 0)
        return r;
    if ((r = api_call_run(call)) < 0)
        return r;
    _cleanup_json_ json_t *rrd = cluster_rrd_load();
    if (!rrd)
        return -ENOMEM;
    return metrics_prometheus_render(call->result, rrd, ret);
}
