/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-node-tasks: /nodes/{node}/tasks (list with upstream's filters), /tasks/{upid} (index),
 * /tasks/{upid}/status, /tasks/{upid}/log and DELETE /tasks/{upid} (stop) over pve/task.h.
 * Users see and read their own tasks; other users' need Sys.Audit on /nodes/{node}, stopping
 * them Sys.Modify. UPIDs arrive raw in the path (they contain ':').
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api-nodes.h"
#include "pve/api-env.h"
#include "pve/json-util.h"
#include "pve/string-util.h"
#include "pve/task.h"
#include "pve/upid.h"

static int node_path(ApiCall *call, char **ret) {
    const char *node = json_string_value(json_object_get(call->params, "node"));
    return asprintf(ret, "/nodes/%s", node ?: api_env(call)->nodename) < 0 ? -ENOMEM : 0;
}

static int upid_error(ApiCall *call, const char *msg) {
    return api_call_fail(
        call, 400, json_pack("{s:s}", "upid", msg), "Parameter verification failed."
    );
}

/* Decode {upid} and make sure its log exists: 400 with upstream's texts otherwise. */
static int get_task(ApiCall *call, const char **ret_upid, Upid *ret) {
    const char *upid = NULL;
    (void) api_call_param_string(call, "upid", &upid);
    if (!upid || upid_decode(upid, ret) < 0)
        return upid_error(call, "unable to parse worker upid");
    _cleanup_free_ char *path = NULL;
    int r = upid_log_path(api_env(call)->taskdir, upid, &path);
    if (r < 0)
        return r == -ENOMEM ? r : upid_error(call, "unable to parse worker upid");
    if (access(path, F_OK) < 0)
        return upid_error(call, "no such task");
    *ret_upid = upid;
    return 0;
}

/* The task's own user passes; anyone else needs priv on /nodes/{node}. */
static int check_task_user(ApiCall *call, const Upid *u, const char *priv) {
    if (streq(u->user, api_user(call)))
        return 0;
    _cleanup_free_ char *path = NULL;
    if (node_path(call, &path) < 0)
        return -ENOMEM;
    return api_check_priv(call, NULL, path, (const char *const[]){priv, NULL}, false);
}

/* Common head of the {upid} handlers. */
static int task_prepare(ApiCall *call, const char *priv, const char **ret_upid, Upid *u) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    if ((r = get_task(call, ret_upid, u)) < 0)
        return r;
    return priv ? check_task_user(call, u, priv) : 0;
}

/* ---- GET /nodes/{node}/tasks ---------------------------------------------------------------- */

static int read_filter(ApiCall *call, TaskListFilter *f) {
    long long v;
    bool b;
    const char *s;
    if (api_call_param_int(call, "start", &v) >= 0)
        f->start = v > UINT32_MAX ? UINT32_MAX : (unsigned) v;
    if (api_call_param_int(call, "limit", &v) >= 0)
        f->limit = v > UINT32_MAX ? UINT32_MAX : (unsigned) v;
    if (api_call_param_int(call, "vmid", &v) >= 0)
        f->vmid = (uint32_t) v;
    if (api_call_param_int(call, "since", &v) >= 0)
        f->since = v;
    if (api_call_param_int(call, "until", &v) >= 0)
        f->until = v;
    if (api_call_param_bool(call, "errors", &b) >= 0)
        f->errors = b;
    if (api_call_param_string(call, "userfilter", &s) >= 0)
        f->userfilter = s;
    if (api_call_param_string(call, "typefilter", &s) >= 0)
        f->typefilter = s;
    if (api_call_param_string(call, "statusfilter", &s) >= 0)
        f->statusfilter = s;
    if (api_call_param_string(call, "source", &s) >= 0)
        f->source = task_source_from_string(s);
    return f->source < 0 ? -EINVAL : 0;
}

static int h_tasks(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    TaskListFilter f = TASK_LIST_FILTER_INIT;
    if (read_filter(call, &f) < 0)
        return api_call_fail(
            call, 400, json_pack("{s:s}", "source", "value is not one of the allowed values"),
            "Parameter verification failed."
        );
    _cleanup_free_ char *path = NULL;
    if (node_path(call, &path) < 0)
        return -ENOMEM;
    if (!api_has_priv(call, NULL, path, API_PRIVS("Sys.Audit"), false))
        f.only_user = api_user(call);
    json_t *list = NULL;
    unsigned total = 0;
    if ((r = task_list(api_env(call)->taskdir, &f, &list, &total)) < 0)
        return r;
    api_call_set_total(call, total);
    return api_call_set_result(call, list);
}

/* ---- /tasks/{upid} -------------------------------------------------------------------------- */

static int h_task_index(ApiCall *call) {
    const char *upid;
    Upid u;
    int r = get_task(call, &upid, &u);
    if (r < 0)
        return r;
    return api_call_set_result(call, json_pack("[{s:s},{s:s}]", "name", "log", "name", "status"));
}

static int h_task_status(ApiCall *call) {
    const char *upid;
    Upid u;
    int r = task_prepare(call, "Sys.Audit", &upid, &u);
    if (r < 0)
        return r;
    json_t *o = NULL;
    r = task_status(api_env(call)->taskdir, upid, &o);
    if (r == -ENOENT)
        return upid_error(call, "no such task");
    if (r < 0)
        return r;
    return api_call_set_result(call, o);
}

static int h_task_log(ApiCall *call) {
    const char *upid;
    Upid u;
    int r = task_prepare(call, "Sys.Audit", &upid, &u);
    if (r < 0)
        return r;
    long long start = 0, limit = 50;
    bool download = false;
    (void) api_call_param_int(call, "start", &start);
    (void) api_call_param_int(call, "limit", &limit);
    (void) api_call_param_bool(call, "download", &download);
    if (download) { /* the log file itself, as text/plain (upstream's download answer) */
        _cleanup_free_ char *path = NULL;
        if ((r = upid_log_path(api_env(call)->taskdir, upid, &path)) < 0)
            return r;
        if (access(path, R_OK) < 0)
            return upid_error(call, "no such task");
        return api_call_set_download(call, path, "text/plain");
    }
    json_t *lines = NULL;
    unsigned total = 0;
    r = task_log_read(
        api_env(call)->taskdir, upid, start > UINT32_MAX ? UINT32_MAX : (unsigned) start,
        limit > UINT32_MAX ? UINT32_MAX : (unsigned) limit, &lines, &total
    );
    if (r == -ENOENT)
        return upid_error(call, "no such task");
    if (r < 0)
        return r;
    api_call_set_total(call, total);
    return api_call_set_result(call, lines);
}

static int h_task_stop(ApiCall *call) {
    const char *upid;
    Upid u;
    int r = task_prepare(call, "Sys.Modify", &upid, &u);
    if (r < 0)
        return r;
    r = task_stop(api_env(call)->taskdir, upid);
    if (r < 0 && r != -ESRCH && r != -ENOENT)
        return api_call_fail(call, 500, NULL, "unable to stop task %s - %s", upid, strerror(-r));
    return api_call_set_result(call, json_null());
}

/* ---- tables --------------------------------------------------------------------------------- */

static const ApiSchema tasks_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_INTEGER(
                "start",
                .optional = true,
                API_MIN(0),
                API_DEFAULT_INT(0),
                .typetext = "<integer> (0 - N)",
                .description = "List tasks beginning from this offset."
            ),
            API_PARAM_INTEGER(
                "limit",
                .optional = true,
                API_MIN(0),
                API_DEFAULT_INT(50),
                .typetext = "<integer> (0 - N)",
                .description = "Only list this amount of tasks."
            ),
            API_PARAM_STRING(
                "userfilter",
                .optional = true,
                .typetext = "<string>",
                .description = "Only list tasks from this user."
            ),
            API_PARAM_STRING(
                "typefilter",
                .optional = true,
                .typetext = "<string>",
                .description = "Only list tasks of this type (e.g., vzstart, vzdump)."
            ),
            API_PARAM_INTEGER(
                "vmid",
                .optional = true,
                .format = "pve-vmid",
                API_RANGE(100, 999999999),
                .typetext = "<integer> (100 - 999999999)",
                .description = "Only list tasks for this VM."
            ),
            API_PARAM_BOOL(
                "errors",
                .optional = true,
                API_DEFAULT_INT(0),
                .typetext = "<boolean>",
                .description = "Only list tasks with a status of ERROR."
            ),
            API_PARAM_STRING(
                "source",
                .optional = true,
                API_DEFAULT_STR("archive"),
                .enum_values = API_ENUM("archive", "active", "all"),
                .description = "List archived, active or all tasks."
            ),
            API_PARAM_INTEGER(
                "since",
                .optional = true,
                .typetext = "<integer>",
                .description = "Only list tasks since this UNIX epoch."
            ),
            API_PARAM_INTEGER(
                "until",
                .optional = true,
                .typetext = "<integer>",
                .description = "Only list tasks until this UNIX epoch."
            ),
            API_PARAM_STRING(
                "statusfilter",
                .optional = true,
                .format = "pve-task-status-type-list",
                .typetext = "<string>",
                .description = "List of Task States that should be returned."
            )
        )
);

static const ApiSchema tasks_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_STRING("upid"),
        API_PARAM_STRING("node"),
        API_PARAM_INTEGER("pid"),
        API_PARAM_INTEGER("pstart"),
        API_PARAM_INTEGER("starttime"),
        API_PARAM_STRING("type"),
        API_PARAM_STRING("id"),
        API_PARAM_STRING("user"),
        API_PARAM_INTEGER("endtime", .optional = true),
        API_PARAM_STRING("status", .optional = true)
    )
));

static const ApiSchema upid_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_STRING("upid", .typetext = "<string>", .description = "The task's unique ID.")
        )
);

static const ApiSchema index_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = API_PROPERTIES({.name = NULL})));

static const ApiSchema status_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("upid"),
            API_PARAM_STRING("node"),
            API_PARAM_INTEGER("pid"),
            API_PARAM_INTEGER("pstart"),
            API_PARAM_INTEGER("starttime"),
            API_PARAM_STRING("type"),
            API_PARAM_STRING("id"),
            API_PARAM_STRING("user"),
            API_PARAM_STRING("status", .enum_values = API_ENUM("running", "stopped")),
            API_PARAM_STRING("exitstatus", .optional = true)
        )
);

static const ApiSchema log_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_STRING(
                "upid", .typetext = "<string>", .description = "The task's unique ID."
            ),
            API_PARAM_INTEGER(
                "start",
                .optional = true,
                API_MIN(0),
                API_DEFAULT_INT(0),
                .typetext = "<integer> (0 - N)",
                .description = "Start at this line when reading the tasklog"
            ),
            API_PARAM_INTEGER(
                "limit",
                .optional = true,
                API_MIN(0),
                API_DEFAULT_INT(50),
                .typetext = "<integer> (0 - N)",
                .description = "The amount of lines to read from the tasklog."
            ),
            API_PARAM_BOOL(
                "download",
                .optional = true,
                .typetext = "<boolean>",
                .description = "Whether the tasklog file should be downloaded. This parameter "
                               "can't be used in conjunction with other parameters"
            )
        )
);

static const ApiSchema log_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_INTEGER("n", .description = "Line number"),
        API_PARAM_STRING("t", .description = "Line text")
    )
));

static const ApiMethod methods[] = {
    {
        .path = "/nodes/{node}/tasks",
        .method = API_METHOD_GET,
        .name = "node_tasks",
        .description = "Read task list for one node (finished tasks).",
        .parameters = &tasks_params,
        .returns = &tasks_returns,
        .permissions =
            &(const ApiPermissions){
                .user = API_PERM_USER_ALL,
                .description = "List task associated with the current user, or all task the user "
                               "has 'Sys.Audit' permissions on /nodes/<node> (the <node> the task "
                               "runs on).",
            },
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_tasks,
    },
    {
        .path = "/nodes/{node}/tasks/{upid}",
        .method = API_METHOD_GET,
        .name = "upid_index",
        .parameters = &upid_params,
        .returns = &index_returns,
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = h_task_index,
    },
    {
        .path = "/nodes/{node}/tasks/{upid}",
        .method = API_METHOD_DELETE,
        .name = "stop_task",
        .description = "Stop a task.",
        .parameters = &upid_params,
        .permissions =
            &(const ApiPermissions){
                .user = API_PERM_USER_ALL,
                .description = "The user needs 'Sys.Modify' permissions on '/nodes/<node>' if they "
                               "aren't the owner of the task.",
            },
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_task_stop,
    },
    {
        .path = "/nodes/{node}/tasks/{upid}/log",
        .method = API_METHOD_GET,
        .name = "read_task_log",
        .description = "Read task log.",
        .parameters = &log_params,
        .returns = &log_returns,
        .permissions =
            &(const ApiPermissions){
                .user = API_PERM_USER_ALL,
                .description = "The user needs 'Sys.Audit' permissions on '/nodes/<node>' if they "
                               "aren't the owner of the task.",
            },
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_task_log,
    },
    {
        .path = "/nodes/{node}/tasks/{upid}/status",
        .method = API_METHOD_GET,
        .name = "read_task_status",
        .description = "Read task status.",
        .parameters = &upid_params,
        .returns = &status_returns,
        .permissions =
            &(const ApiPermissions){
                .user = API_PERM_USER_ALL,
                .description = "The user needs 'Sys.Audit' permissions on '/nodes/<node>' if they "
                               "are not the owner of the task.",
            },
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_task_status,
    },
};

int api_node_tasks_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
