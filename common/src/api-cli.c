/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-cli: in-process API calls for the command line tools (see pve/api-cli.h).
 */
#include "pve/api-cli.h"

#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/cluster-setup.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/string-util.h"
#include "pve/task.h"

int api_cli_env(ApiEnv *env, char host[static 256]) {
    memset(host, 0, 256);
    int r = cluster_short_nodename(host);
    if (r < 0 && r != -EINVAL) /* an empty host name stays "" */
        return r;
    *env = (ApiEnv){
        .nodename = host,
        .taskdir = pve_path_env("PVE_TASK_DIR", PVE_TASK_DIR),
        .power_command = getenv("PVE_NODE_POWER_COMMAND"),
        .privileged = true,
    };
    return 0;
}

void api_cli_print_error(const ApiCall *call) {
    fprintf(stderr, "%s", call->message ?: "unknown error");
    if (!call->message || !endswith(call->message, "\n"))
        fputc('\n', stderr);
    const char *key;
    json_t *v;
    json_object_foreach(call->errors, key, v) {
        const char *msg = json_string_value(v);
        fprintf(stderr, "%s: %s%s", key, msg ?: "", msg && endswith(msg, "\n") ? "" : "\n");
    }
    if (call->status)
        fprintf(stderr, "(%d)\n", call->status);
}

int api_cli_follow_task(const ApiEnv *env, const char *upid) {
    unsigned next = 0;
    for (;;) {
        _cleanup_(json_decrefp) json_t *st = NULL;
        bool running = true;
        if (task_status(env->taskdir, upid, &st) >= 0)
            running = streq(json_string_value(json_object_get(st, "status")) ?: "", "running");
        _cleanup_(json_decrefp) json_t *lines = NULL;
        unsigned total = 0;
        if (task_log_read(env->taskdir, upid, next, 1000, &lines, &total) >= 0 && total > next) {
            size_t i;
            json_t *l;
            json_array_foreach(lines, i, l) {
                const char *t = json_string_value(json_object_get(l, "t"));
                if (t && !(total == 1 && streq(t, "no content")))
                    printf("%s\n", t);
            }
            next += (unsigned) json_array_size(lines);
            fflush(stdout);
        }
        if (!running) {
            if (next < total)
                continue;
            _cleanup_free_ char *status = NULL;
            if (task_read_status(env->taskdir, upid, &status) < 0)
                return -EIO;
            const char *type = task_status_type(status);
            return streq(type, "ok") || streq(type, "warning") ? 0 : -EIO;
        }
        (void) waitpid(-1, NULL, WNOHANG);
        usleep(100 * 1000);
    }
}

int api_cli_call(
    const char *tool,
    ApiRouter *router,
    ApiEnv *env,
    ApiHttpMethod m,
    const char *path,
    json_t *params,
    ApiCall *call
) {
    call->userdata = env;
    int r = api_router_resolve(router, m, path, params, call);
    if (r >= 0 && call->method->proxyto) {
        const char *node = json_string_value(json_object_get(call->params, call->method->proxyto));
        if (node && !streq(node, "localhost") && !streq(node, env->nodename)) {
            fprintf(
                stderr,
                "%s: '%s' is another node; calls to other nodes go through "
                "pveproxy (not supported by %s yet)\n",
                tool, node, tool
            );
            return -EREMOTE;
        }
    }
    if (r >= 0)
        r = api_call_run(call);
    if (r < 0) {
        if (call->message || call->errors)
            api_cli_print_error(call);
        else
            fprintf(stderr, "%s: %s\n", tool, strerror(-r));
    }
    return r;
}
