/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-node-util: the helpers the /nodes/{node} handler modules share (api-nodes.h): the
 * this-node check, host files under $PVE_NODE_ROOT, and running helper commands.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api-nodes.h"
#include "pve/api-env.h"
#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/spawn.h"
#include "pve/string-util.h"

#define HOST_FILE_MAX (1u << 20)

/* ---- this node, commands
 * ------------------------------------------------------------------------- */

int api_node_check_local(ApiCall *call) {
    const char *node = json_string_value(json_object_get(call->params, "node"));
    const char *self = api_env(call)->nodename;
    if (!node || streq(node, self) || streq(node, "localhost"))
        return 0;
    return api_call_fail(
        call, 501, NULL,
        "node '%s' is not this node ('%s'): requests for other nodes are forwarded by pveproxy, "
        "not by this daemon",
        node, self
    );
}

int api_node_host_path(const char *path, char **ret) {
    const char *root = getenv("PVE_NODE_ROOT");
    return asprintf(ret, "%s%s", root ?: "", path) < 0 ? -ENOMEM : 0;
}

const char *api_node_command(const char *env, const char *dflt) {
    return pve_path_env(env, dflt);
}

int api_node_run_lines(const char *const *argv, ApiNodeLineFn fn, void *userdata, int *ret_status) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid;
    int r = spawn_start(argv, p[1], -1, &pid);
    close(p[1]);
    if (r < 0) {
        close(p[0]);
        return r;
    }
    FILE *f = fdopen(p[0], "r");
    if (!f) {
        close(p[0]);
        r = -ENOMEM;
    }
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (f && r >= 0 && (n = getline(&line, &cap, f)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = 0;
        r = fn(line, (size_t) n, userdata);
    }
    if (f)
        fclose(f); /* a writer still running gets EPIPE */
    int st = spawn_wait(pid);
    if (ret_status)
        *ret_status = st;
    return r < 0 ? r : 0;
}

int api_node_run(const char *const *argv, int *ret_status) {
    pid_t pid;
    int r = spawn_start(argv, STDOUT_FILENO, STDERR_FILENO, &pid);
    if (r < 0)
        return r;
    *ret_status = spawn_wait(pid);
    return 0;
}

/* ---- host files ----------------------------------------------------------------------------- */

int api_node_read_host_file(ApiCall *call, const char *path, char **ret, size_t *ret_len) {
    _cleanup_free_ char *full = NULL;
    int r = api_node_host_path(path, &full);
    if (r < 0)
        return r;
    r = read_full_file(full, HOST_FILE_MAX, ret, ret_len);
    if (r == -ENOENT) {
        *ret = strdup("");
        *ret_len = 0;
        return *ret ? 0 : -ENOMEM;
    }
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to open file '%s' - %s", full, strerror(-r));
    return 0;
}

int api_node_write_host_file(ApiCall *call, const char *path, const char *data) {
    _cleanup_free_ char *full = NULL, *tmp = NULL;
    int r = api_node_host_path(path, &full);
    if (r < 0 || asprintf(&tmp, "%s.tmp.%d", full, (int) getpid()) < 0)
        return -ENOMEM;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        r = -errno;
    else {
        r = write_all(fd, data, strlen(data));
        if (r >= 0 && fsync(fd) < 0)
            r = -errno;
        close(fd);
        if (r >= 0 && rename(tmp, full) < 0)
            r = -errno;
        if (r < 0)
            (void) unlink(tmp);
    }
    if (r < 0)
        return api_call_fail(call, 500, NULL, "unable to write '%s' - %s", full, strerror(-r));
    return 0;
}
