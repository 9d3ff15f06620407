/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-methods: the upstream API's handler tables, one module per area, and the call that
 * registers all of them. pvedaemon, pveproxy and pvesh build their router with
 * api_register_all(); handlers find their ApiEnv (api-env.h) in call->userdata.
 *
 *   api-access.c   /access: users, groups, roles, acl, domains, password, tokens, permissions
 *   api-pools.c    /pools
 *   api-ticket.c   /access/ticket, /version
 *   api-cluster.c  /cluster: status, resources, nextid, log, tasks, options, config
 *   api-nodes.c    /nodes, /nodes/{node}: status, version, time, dns, syslog, journal,
 *                  services, subscription, tasks
 *   api-storage.c  /storage, /nodes/{node}/storage
 *   api-rrd.c      /nodes/{node}/rrddata, /nodes/{node}/storage/{storage}/rrddata
 *   api-qemu.c     /nodes/{node}/qemu: VMs (config, lifecycle, status)
 *   api-lxc.c      /nodes/{node}/lxc: containers
 */
#pragma once

#include "pve/api-router.h"

int api_access_register(ApiRouter *r);
int api_pools_register(ApiRouter *r);
int api_ticket_register(ApiRouter *r);
/* What GET /version answers ({version, release, repoid}); pvestatd broadcasts it as
 * kv/version-info. */
json_t *api_version_json(void);
int api_cluster_register(ApiRouter *r);
int api_nodes_register(ApiRouter *r);
int api_storage_register(ApiRouter *r);
int api_rrd_register(ApiRouter *r);
int api_qemu_register(ApiRouter *r);
int api_lxc_register(ApiRouter *r);
int api_console_register(ApiRouter *r);
int api_migrate_register(ApiRouter *r);

/* All of the above; 0 or the first error. */
int api_register_all(ApiRouter *r);
