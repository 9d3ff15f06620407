/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-nodes (private): what the /nodes/{node} handler modules share: the node parameter, the
 * "is this node" check every proxyto=node handler makes, the root prefix of the host files
 * they read and write (so tests never touch the host), and running a helper command with
 * its output streamed line by line.
 *
 *   api-nodes.c          /nodes, /nodes/{node}, status, version, subscription
 *   api-node-system.c    time, dns, hosts
 *   api-node-logs.c      syslog, journal
 *   api-node-tasks.c     tasks
 *   api-node-services.c  services
 *   api-node-util.c      the helpers below
 */
#pragma once

#include <stddef.h>

#include "pve/api-router.h"

#define API_NODE_PARAM                                        \
    API_PARAM_STRING(                                         \
        "node", .format = "pve-node", .typetext = "<string>", \
        .description = "The cluster node name."               \
    )

/* 0 when {node} names this node ("localhost" included); otherwise records an error saying
 * that requests for other nodes are forwarded by pveproxy, and returns its negative errno. */
int api_node_check_local(ApiCall *call);

/* "<$PVE_NODE_ROOT><path>" (malloc'd); the prefix is empty unless tests set it. */
int api_node_host_path(const char *path, char **ret);

/* Read a host file under the root: "" when missing; other errors become a 500 on the call. */
int api_node_read_host_file(ApiCall *call, const char *path, char **ret, size_t *ret_len);
/* Replace a host file under the root atomically (temp file + rename); errors become a 500. */
int api_node_write_host_file(ApiCall *call, const char *path, const char *data);

/* A command from the environment variable env when set and non-empty, else dflt. */
const char *api_node_command(const char *env, const char *dflt);

/*
 * Run argv (argv[0] looked up in PATH) with stdin and stderr on /dev/null and call fn for
 * every stdout line (without the newline; fn returning < 0 stops reading and is returned).
 * *ret_status gets the exit code (128 + signal when killed). -ENOENT when the program does
 * not exist, other negative errno from spawning.
 */
typedef int (*ApiNodeLineFn)(const char *line, size_t len, void *userdata);
int api_node_run_lines(const char *const *argv, ApiNodeLineFn fn, void *userdata, int *ret_status);

/* Run argv with stdin on /dev/null and stdout/stderr inherited (a task worker's log), wait
 * for it: *ret_status as above. */
int api_node_run(const char *const *argv, int *ret_status);

int api_node_system_register(ApiRouter *r);
int api_node_logs_register(ApiRouter *r);
int api_node_tasks_register(ApiRouter *r);
int api_node_services_register(ApiRouter *r);
int api_node_guests_register(ApiRouter *r); /* api-node-guests.c: startall, stopall */
