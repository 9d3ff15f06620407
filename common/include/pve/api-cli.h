/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-cli: API calls from command line tools (pvesh, qm) as root, in the tool's own process,
 * through the same handler tables pvedaemon serves: the environment of this node, one call
 * with upstream-style error output, and following a task's log to its end (what upstream's
 * CLI tools do with a worker's UPID).
 */
#pragma once

#include <jansson.h>

#include "pve/api-env.h"
#include "pve/api-router.h"

/* This node's environment (short host name, $PVE_TASK_DIR, $PVE_NODE_POWER_COMMAND, root);
 * host is where the name is kept. 0 or -errno. */
int api_cli_env(ApiEnv *env, char host[static 256]);

/* The call's message, its per-parameter errors and "(<status>)" on stderr. */
void api_cli_print_error(const ApiCall *call);

/* Print a task's log as it grows until the task stopped; 0 when it ended OK (or with
 * warnings), -EIO when it failed. */
int api_cli_follow_task(const ApiEnv *env, const char *upid);

/*
 * Resolve and run one call on *call (initialised with API_CALL_INIT by the caller, released
 * with api_call_done). Calls bound to another node (proxyto) are refused with -EREMOTE. Errors
 * are printed ("<tool>: ..." or the call's own message) and returned.
 */
int api_cli_call(
    const char *tool,
    ApiRouter *router,
    ApiEnv *env,
    ApiHttpMethod m,
    const char *path,
    json_t *params,
    ApiCall *call
);
