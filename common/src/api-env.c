/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-env: handler-side helpers shared by every API module: user.cfg loading, permission
 * checks from inside handlers, the locked read-modify-write of cfs files and config digests.
 */
#include "pve/api-env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"
#include "pve/digest.h"
#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/string-util.h"

int api_user_owner(const char *id, char **ret) {
    size_t n = strcspn(id, "!");
    char *s = strndup(id, n);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

int api_read_file(ApiCall *call, const char *path, char **ret, size_t *ret_len) {
    char *text = NULL;
    size_t len = 0;
    int r = cfs_file_read(path, &text, &len);
    if (r == -ENOENT) {
        text = strdup("");
        if (!text)
            return -ENOMEM;
        r = 0;
    }
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to read file '%s' - %s", path, strerror(-r));
    *ret = text;
    if (ret_len)
        *ret_len = len;
    return 0;
}

int api_load_user_cfg(ApiCall *call, UserCfg **ret) {
    _cleanup_free_ char *text = NULL, *msg = NULL;
    size_t len = 0;
    unsigned line = 0;
    int r = api_read_file(call, "user.cfg", &text, &len);
    if (r < 0)
        return r;
    r = user_cfg_parse(text, len, ret, &line, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, 500, NULL, "user.cfg line %u: %s", line, msg ?: "parse error");
    return 0;
}

bool api_has_priv(
    ApiCall *call, UserCfg *cfg, const char *path, const char *const *privs, bool any
) {
    _cleanup_(user_cfg_freep) UserCfg *own = NULL;
    const char *user = api_user(call);
    if (streq(user, "root@pam"))
        return true;
    if (!cfg) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if (cfs_file_read("user.cfg", &text, &len) < 0 ||
            user_cfg_parse(text, len, &own, NULL, NULL) < 0)
            return false;
        cfg = own;
    }
    return user_cfg_check(cfg, user, path, privs, any) >= 0;
}

int api_check_priv(
    ApiCall *call, UserCfg *cfg, const char *path, const char *const *privs, bool any
) {
    if (api_has_priv(call, cfg, path, privs, any))
        return 0;
    _cleanup_free_ char *list = NULL;
    size_t n = 0;
    for (const char *const *p = privs; p && *p; p++)
        n += strlen(*p) + 1;
    list = malloc(n + 1);
    if (!list)
        return -ENOMEM;
    list[0] = 0;
    for (const char *const *p = privs; p && *p; p++) {
        if (p != privs)
            strcat(list, ",");
        strcat(list, *p);
    }
    return api_call_fail(call, 403, NULL, "Permission check failed (%s, %s)", path, list);
}

typedef struct UpdateCtx {
    ApiCall *call;
    const char *path;
    ApiFileUpdateFn fn;
    void *userdata;
} UpdateCtx;

static int update_locked(void *userdata) {
    UpdateCtx *u = userdata;
    _cleanup_free_ char *text = NULL, *new = NULL;
    size_t len = 0;
    int r = api_read_file(u->call, u->path, &text, &len);
    if (r < 0)
        return r;
    r = u->fn(u->call, text, len, &new, u->userdata);
    if (r < 0)
        return r;
    if (!new || streq(new, text))
        return 0;
    r = cfs_file_write(u->path, new, strlen(new));
    if (r < 0)
        return api_call_fail(
            u->call, 500, NULL, "unable to write '%s' - %s", u->path, strerror(-r)
        );
    return 0;
}

int api_update_file(ApiCall *call, const char *path, ApiFileUpdateFn fn, void *userdata) {
    UpdateCtx u = {.call = call, .path = path, .fn = fn, .userdata = userdata};
    int r = cfs_lock_file(path, 0, update_locked, &u);
    if (r >= 0 || call->status != 0 || r == -ENOMEM)
        return r;
    /* the lock itself failed (fn never recorded an error) */
    _cleanup_free_ char *lockid = NULL, *msg = NULL;
    if (cfs_lock_id_file(path, &lockid) < 0 || cfs_lock_error_message(lockid, r, &msg) < 0)
        return api_call_fail(call, 500, NULL, "cfs-lock error: %s", strerror(-r));
    return api_call_fail(call, 500, NULL, "%s", msg);
}

void api_digest(const void *data, size_t len, char ret[static 41]) {
    if (digest_sha1_hex(data, len, ret) < 0)
        ret[0] = 0;
}

int api_check_digest(ApiCall *call, const char *text, size_t len) {
    const char *want = NULL;
    if (api_call_param_string(call, "digest", &want) < 0 || !want)
        return 0;
    char have[41];
    api_digest(text, len, have);
    if (strcasecmp(want, have) == 0)
        return 0;
    return api_call_fail(
        call, 400, NULL, "detected modified configuration - file changed by other user? Try again."
    );
}

int api_broadcast_tasklist(const char *taskdir) {
    _cleanup_json_ json_t *list = NULL;
    int r = task_update_active(taskdir, &list);
    if (r < 0)
        return r;
    _cleanup_free_ char *text = NULL;
    for (;;) {
        free(text);
        text = json_dumps(list, JSON_COMPACT);
        if (!text)
            return -ENOMEM;
        if (strlen(text) < 32 * 1024 - 1 || json_array_size(list) == 0)
            break;
        json_array_remove(list, json_array_size(list) - 1); /* oldest last */
    }
    return cfs_ipc_set_status("tasklist", text, strlen(text));
}

int api_task_start(
    ApiCall *call, const char *type, const char *id, TaskFunc fn, void *userdata, char **ret_upid
) {
    ApiEnv *env = api_env(call);
    _cleanup_free_ char *upid = NULL;
    int r = task_start(env->taskdir, env->nodename, type, id, api_user(call), fn, userdata, &upid);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to start task '%s' - %s", type, strerror(-r));
    _cleanup_free_ char *msg = NULL;
    if (asprintf(&msg, "starting task %s", upid) >= 0)
        (void) cfs_ipc_log_cluster_msg(6, "pvedaemon", api_user(call), msg);
    (void) api_broadcast_tasklist(env->taskdir);
    json_t *s = json_string(upid);
    r = api_call_set_result(call, s);
    if (r < 0)
        return r;
    if (ret_upid)
        *ret_upid = TAKE_PTR(upid);
    return 0;
}
