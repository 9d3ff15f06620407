/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * metrics-prometheus: the Prometheus text exposition (format 0.0.4) served at
 * GET /api2/prometheus/metrics (beyond upstream, see README): node, guest and storage gauges
 * (and byte counters) from the same data /cluster/resources returns, plus the node values
 * only the .rrd dump has (load, iowait, swap, network). Rendering is pure (unit tested);
 * metrics_prometheus_collect() gathers the input for an authenticated call.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "pve/api-router.h"

#define METRICS_PROMETHEUS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * resources: /cluster/resources' array (entries of type node, qemu, lxc, storage; others are
 * ignored); rrd: the .rrd dump as {key: [fields after the key]} (may be NULL). Entries without
 * a number for a metric get no sample for it. Label values are escaped (\\, \", \n).
 * *ret: NUL-terminated text, malloc'd. 0 or -ENOMEM.
 */
int metrics_prometheus_render(const json_t *resources, const json_t *rrd, char **ret);

/* For an authenticated call (user and env set, nothing resolved yet): require Sys.Audit on /,
 * run router's GET /cluster/resources as call->user (filtered by their privileges) and render
 * it with pmxcfs's .rrd dump. On failure the call carries the error (403, 500, ...). */
int metrics_prometheus_collect(const ApiRouter *router, ApiCall *call, char **ret);
