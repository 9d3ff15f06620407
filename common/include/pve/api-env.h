/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-env: what API handlers share, whoever runs them (pvedaemon, pveproxy, pvesh): the
 * environment a handler finds in call->userdata (node name, task directory, the node power
 * command), permission checks from inside a handler (list filtering, checks that depend on
 * the parameters), user.cfg loading, and the locked read-modify-write of a file under the cfs
 * mount with upstream's digest check and error texts.
 *
 * Handlers do blocking file I/O on /etc/pve; they run in the daemon's thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "pve/api-router.h"
#include "pve/macro.h"
#include "pve/task.h"
#include "pve/user-cfg.h"

typedef struct ApiEnv {
    const char *nodename; /* this node's short name */
    const char *taskdir;  /* task logs/index (PVE_TASK_DIR unless tests override) */
    /* command run for POST /nodes/{node}/status (argv: cmd "reboot"|"shutdown"); NULL: the
     * handler refuses. Tests point it at a script, so they never power off the host. */
    const char *power_command;
    /* true in the privileged daemon and pvesh (root), false in pveproxy */
    bool privileged;
} ApiEnv;

/* The call's environment (call->userdata). */
static inline ApiEnv *api_env(const ApiCall *call) {
    return call->userdata;
}

/* The authenticated user ("user@realm" or "user@realm!token"); "root@pam" for pvesh. */
static inline const char *api_user(const ApiCall *call) {
    return call->user ?: "root@pam";
}

/* "user@realm" part of a userid or tokenid, malloc'd. */
int api_user_owner(const char *id, char **ret);

/*
 * Load /etc/pve/user.cfg (missing = empty). Parse errors become a 500 on the call with the
 * line number; returns negative errno then.
 */
int api_load_user_cfg(ApiCall *call, UserCfg **ret);

/* true when the call's user has privs (all, or any one) on path; never fails (OOM = false).
 * cfg may be NULL (then it is loaded). */
bool api_has_priv(
    ApiCall *call, UserCfg *cfg, const char *path, const char *const *privs, bool any
);

/* Like api_has_priv(), but records upstream's 403 "Permission check failed (<path>, <priv>)"
 * and returns -EPERM when the check fails. */
int api_check_priv(
    ApiCall *call, UserCfg *cfg, const char *path, const char *const *privs, bool any
);

/*
 * Locked read-modify-write of a file under the cfs mount (upstream's cfs_lock_file). fn gets
 * the current content (NUL-terminated, "" when missing) and may set *ret_new (malloc'd) to
 * replace it, or leave it NULL to change nothing. fn reports errors with api_call_fail() and
 * returns their negative errno. Lock failures become 500 with upstream's
 * "cfs-lock 'file-user_cfg' error: got lock request timeout" text.
 */
typedef int (*ApiFileUpdateFn
)(ApiCall *call, const char *text, size_t len, char **ret_new, void *userdata);
int api_update_file(ApiCall *call, const char *path, ApiFileUpdateFn fn, void *userdata);

/* Read a file under the cfs mount ("" when missing); a read error becomes a 500. */
int api_read_file(ApiCall *call, const char *path, char **ret, size_t *ret_len);

/* SHA-1 hex of data (upstream's config digest), into a 41-byte buffer. */
void api_digest(const void *data, size_t len, char ret[static 41]);

/*
 * When the call carries a "digest" parameter, compare it with the digest of text: on mismatch
 * records 400 "detected modified configuration - file changed by other user? Try again." and
 * returns -EINVAL.
 */
int api_check_digest(ApiCall *call, const char *text, size_t len);

/*
 * Start a task worker for a handler as upstream's fork_worker does: task_start() under
 * env->taskdir with the call's user, then the cluster log line "starting task <UPID>" and a
 * task list broadcast. The UPID becomes the call's result. Errors are recorded on the call.
 */
int api_task_start(
    ApiCall *call, const char *type, const char *id, TaskFunc fn, void *userdata, char **ret_upid
);

/* Refresh the node's `active` task file and publish it as pmxcfs kv "tasklist" (JSON array,
 * trimmed below 32 KiB). Best effort: returns the negative errno but callers may ignore it. */
int api_broadcast_tasklist(const char *taskdir);
