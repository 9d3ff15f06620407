/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvesh: the API from the shell, as root, through the same handler tables pvedaemon serves.
 *
 *   pvesh [--nooutput] get|create|set|delete <path> [--<param> <value>]... [--output-format F]
 *   pvesh ls <path>
 *   pvesh usage <path> [--verbose] [--command get|create|set|delete]
 *
 * Output formats: text (default: tables), json, json-pretty; --nooutput prints no result. A boolean
 * parameter may be given without a value (--force). A repeated parameter becomes a list. When the
 * result is a task UPID, pvesh follows the task log until it ends and fails when the task failed.
 * Calls bound to another node (proxyto) are refused: forwarding is pveproxy's job.
 */
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "pve/api-auth.h"
#include "pve/api-cli.h"
#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/daemon.h"
#include "pve/log.h"
#include "pve/string-util.h"
#include "pve/task.h"
#include "pve/text-table.h"

typedef enum OutputFormat { OUT_TEXT, OUT_JSON, OUT_JSON_PRETTY } OutputFormat;

static const struct {
    const char *cmd;
    ApiHttpMethod m;
} commands[] = {
    {"get", API_METHOD_GET},
    {"create", API_METHOD_POST},
    {"set", API_METHOD_PUT},
    {"delete", API_METHOD_DELETE},
};

static void usage(FILE *f) {
    fputs(
        "USAGE: pvesh <COMMAND> [ARGS] [OPTIONS]\n"
        "\n"
        "       pvesh create <api_path> [OPTIONS] [FORMAT_OPTIONS]\n"
        "       pvesh delete <api_path> [OPTIONS] [FORMAT_OPTIONS]\n"
        "       pvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]\n"
        "       pvesh set <api_path> [OPTIONS] [FORMAT_OPTIONS]\n"
        "       pvesh ls <api_path> [OPTIONS] [FORMAT_OPTIONS]\n"
        "       pvesh usage <api_path> [--verbose] [--command <get|create|set|delete>]\n"
        "\n"
        "FORMAT_OPTIONS: --output-format <text|json|json-pretty> (default text)\n",
        f
    );
}

static int method_of(const char *cmd, ApiHttpMethod *ret) {
    for (size_t i = 0; i < ELEMENTSOF(commands); i++)
        if (streq(commands[i].cmd, cmd)) {
            *ret = commands[i].m;
            return 0;
        }
    return -EINVAL;
}

static const char *command_of(ApiHttpMethod m) {
    for (size_t i = 0; i < ELEMENTSOF(commands); i++)
        if (commands[i].m == m)
            return commands[i].cmd;
    return "?";
}

/* ---- arguments ------------------------------------------------------------------------------ */

typedef struct Args {
    OutputFormat format;
    bool verbose;
    bool nooutput;       /* --nooutput: no result printed (a task is still followed) */
    const char *command; /* usage --command */
    json_t *params;
} Args;

static int add_param(json_t *params, const char *key, const char *value) {
    json_t *have = json_object_get(params, key);
    json_t *v = json_string(value);
    if (!v)
        return -ENOMEM;
    if (!have)
        return json_object_set_new(params, key, v) < 0 ? -ENOMEM : 0;
    if (!json_is_array(have)) {
        json_t *a = json_array();
        if (!a || json_array_append(a, have) < 0 || json_object_set_new(params, key, a) < 0) {
            json_decref(v);
            json_decref(a);
            return -ENOMEM;
        }
        have = a;
    }
    return json_array_append_new(have, v) < 0 ? -ENOMEM : 0;
}

static bool param_is_boolean(const ApiMethod *m, const char *key) {
    const ApiSchema *p = m && m->parameters ? api_schema_property(m->parameters, key) : NULL;
    return p && p->type == API_TYPE_BOOLEAN;
}

static int parse_options(int argc, char **argv, const ApiMethod *m, Args *a) {
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || !arg[1]) {
            fprintf(stderr, "pvesh: unexpected argument '%s'\n", arg);
            return -EINVAL;
        }
        arg += arg[1] == '-' ? 2 : 1;
        _cleanup_free_ char *key = NULL;
        const char *value = NULL;
        const char *eq = strchr(arg, '=');
        key = eq ? strndup(arg, (size_t) (eq - arg)) : strdup(arg);
        if (!key)
            return -ENOMEM;
        if (eq)
            value = eq + 1;
        else if (param_is_boolean(m, key) || streq(key, "verbose") || streq(key, "nooutput"))
            value = (i + 1 < argc && argv[i + 1][0] != '-') ? argv[++i] : "1";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "pvesh: option '--%s' needs a value\n", key);
            return -EINVAL;
        }
        if (streq(key, "output-format")) {
            if (streq(value, "json"))
                a->format = OUT_JSON;
            else if (streq(value, "json-pretty"))
                a->format = OUT_JSON_PRETTY;
            else if (streq(value, "text"))
                a->format = OUT_TEXT;
            else {
                fprintf(
                    stderr,
                    "pvesh: output-format: value '%s' does not have a value in the "
                    "enumeration 'json, json-pretty, text'\n",
                    value
                );
                return -EINVAL;
            }
            continue;
        }
        if (m && streq(key, "nooutput")) {
            a->nooutput = !streq(value, "0");
            continue;
        }
        if (streq(key, "noproxy") || streq(key, "human-readable") || streq(key, "noborder") ||
            streq(key, "noheader") || streq(key, "quiet"))
            continue; /* accepted for compatibility */
        if (!m && streq(key, "verbose")) {
            a->verbose = !streq(value, "0");
            continue;
        }
        if (!m && streq(key, "command")) {
            a->command = value;
            continue;
        }
        int r = add_param(a->params, key, value);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- output --------------------------------------------------------------------------------- */

/* A download answer: the file's bytes on stdout. */
static int print_download(const char *path) {
    _cleanup_fclose_ FILE *in = fopen(path, "re");
    if (!in)
        return log_error_errno(errno, "unable to open file '%s': %m", path);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, stdout) != n)
            return -EIO;
    return ferror(in) ? -EIO : 0;
}

static int print_result(const ApiCall *call, OutputFormat f) {
    const json_t *data = call->result;
    if (call->download)
        return print_download(call->download);
    if (f == OUT_TEXT) {
        /* the returns schema's property order, when it describes objects */
        const ApiSchema *ret = call->method ? call->method->returns : NULL;
        if (ret && ret->type == API_TYPE_ARRAY)
            ret = ret->items;
        const char *cols[64] = {};
        size_t n = 0;
        for (const ApiSchema *p = ret && ret->type == API_TYPE_OBJECT ? ret->properties : NULL;
             p && p->name && n + 1 < ELEMENTSOF(cols); p++)
            cols[n++] = p->name;
        return text_table_print(stdout, data, cols, false);
    }
    if (!data) {
        puts("null");
        return 0;
    }
    size_t flags =
        JSON_ENCODE_ANY | (f == OUT_JSON_PRETTY ? JSON_INDENT(4) | JSON_SORT_KEYS : JSON_COMPACT);
    _cleanup_free_ char *s = json_dumps(data, flags);
    if (!s)
        return -ENOMEM;
    puts(s);
    return 0;
}

/* ---- commands ------------------------------------------------------------------------------- */

static int do_call(ApiRouter *router, ApiEnv *env, ApiHttpMethod m, const char *path, Args *a) {
    _cleanup_(api_call_done) ApiCall call = API_CALL_INIT;
    int r = api_cli_call("pvesh", router, env, m, path, a->params, &call);
    if (r < 0)
        return r;
    const char *upid = json_string_value(call.result);
    if (upid && startswith(upid, "UPID:") && a->format == OUT_TEXT) {
        r = api_cli_follow_task(env, upid);
        if (!a->nooutput || r < 0)
            printf("%s\n", r < 0 ? "task failed" : upid);
        return r;
    }
    return a->nooutput ? 0 : print_result(&call, a->format);
}

static const char *const param_prefix = "";

static int do_ls(ApiRouter *router, ApiEnv *env, const char *path, Args *a) {
    _cleanup_free_ ApiRouterEntry *children = NULL;
    size_t n = 0;
    ApiRouterEntry self;
    int r = api_router_describe(router, path, &self, &children, &n);
    if (r < 0) {
        fprintf(stderr, "no such resource '%s'\n", path);
        return r;
    }
    _cleanup_(json_decrefp) json_t *rows = json_array();
    if (!rows)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char flags[6] = "-----";
        const ApiRouterEntry *c = &children[i];
        flags[0] = c->has_children ? 'D' : '-';
        flags[1] = c->methods & (1U << API_METHOD_GET) || c->has_children ? 'r' : '-';
        flags[2] = c->methods & (1U << API_METHOD_PUT) ? 'w' : '-';
        flags[3] = c->methods & (1U << API_METHOD_POST) ? 'c' : '-';
        flags[4] = c->methods & (1U << API_METHOD_DELETE) ? 'd' : '-';
        if (!c->is_param) {
            if (json_array_append_new(rows, json_pack("[s,s]", flags, c->name)) < 0)
                return -ENOMEM;
            continue;
        }
        /* template child: its names come from GET on this path */
        _cleanup_(api_call_done) ApiCall call = API_CALL_INIT;
        call.userdata = env;
        if (api_router_call(router, API_METHOD_GET, path, a->params, NULL, &call) < 0) {
            api_cli_print_error(&call);
            return -EIO;
        }
        size_t k;
        json_t *item;
        json_array_foreach(call.result, k, item) {
            const char *name = json_string_value(json_object_get(item, c->name));
            json_t *num = json_object_get(item, c->name);
            _cleanup_free_ char *buf = NULL;
            if (!name && json_is_integer(num) &&
                asprintf(&buf, "%lld", (long long) json_integer_value(num)) >= 0)
                name = buf;
            if (!name)
                name = json_string_value(json_object_get(item, "subdir"));
            if (name && json_array_append_new(rows, json_pack("[s,s]", flags, name)) < 0)
                return -ENOMEM;
        }
    }
    size_t i;
    json_t *row;
    if (a->format != OUT_TEXT) {
        _cleanup_(json_decrefp) json_t *out = json_array();
        json_array_foreach(rows, i, row) json_array_append_new(
            out,
            json_pack(
                "{s:O,s:O}", "name", json_array_get(row, 1), "permissions", json_array_get(row, 0)
            )
        );
        _cleanup_free_ char *s = json_dumps(out, a->format == OUT_JSON_PRETTY ? JSON_INDENT(4) : 0);
        puts(s ?: "[]");
        return 0;
    }
    json_array_foreach(rows, i, row) printf(
        "%s        %s%s\n", json_string_value(json_array_get(row, 0)), param_prefix,
        json_string_value(json_array_get(row, 1))
    );
    return 0;
}

static void print_param(const ApiSchema *p) {
    const char *type = p->typetext;
    _cleanup_free_ char *buf = NULL;
    if (!type) {
        if (p->enum_values) {
            size_t len = 3;
            for (const char *const *e = p->enum_values; *e; e++)
                len += strlen(*e) + 3;
            buf = calloc(1, len);
            if (buf) {
                strcat(buf, "<");
                for (const char *const *e = p->enum_values; *e; e++) {
                    if (e != p->enum_values)
                        strcat(buf, " | ");
                    strcat(buf, *e);
                }
                strcat(buf, ">");
            }
            type = buf;
        } else
            type = p->type == API_TYPE_BOOLEAN   ? "<boolean>"
                   : p->type == API_TYPE_INTEGER ? "<integer>"
                   : p->type == API_TYPE_NUMBER  ? "<number>"
                                                 : "<string>";
    }
    printf("  --%s %s%s\n", p->name, type ?: "", p->optional ? "" : " (required)");
    if (p->description)
        printf("        %s\n", p->description);
}

static int do_usage(ApiRouter *router, const char *path, Args *a) {
    ApiHttpMethod only = _API_METHOD_INVALID;
    if (a->command && method_of(a->command, &only) < 0) {
        fprintf(stderr, "pvesh: unknown command '%s'\n", a->command);
        return -EINVAL;
    }
    bool found = false;
    for (ApiHttpMethod m = 0; m < _API_METHOD_MAX; m++) {
        if (only >= 0 && m != only)
            continue;
        const ApiMethod *me = api_router_method_at(router, m, path);
        if (!me)
            continue;
        found = true;
        printf("USAGE: pvesh %s %s", command_of(m), me->path);
        for (const ApiSchema *p = me->parameters ? me->parameters->properties : NULL; p && p->name;
             p++)
            if (!p->optional && !strstr(me->path, p->name))
                printf(" --%s <%s>", p->name, api_schema_type_to_string(p->type));
        printf(" [OPTIONS]\n");
        if (a->verbose) {
            if (me->description)
                printf("\n  %s\n\n", me->description);
            for (const ApiSchema *p = me->parameters ? me->parameters->properties : NULL;
                 p && p->name; p++)
                print_param(p);
            printf("\n");
        }
    }
    if (!found) {
        fprintf(stderr, "no such resource '%s'\n", path);
        return -ENOENT;
    }
    return 0;
}

static int run(int argc, char **argv) {
    pve_log_open("pvesh", PVE_LOG_TARGET_STDERR);
    if (!getenv("PVE_LOG_LEVEL"))
        pve_log_set_level(LOG_WARNING); /* handlers' info lines are for daemon logs */
    /* options before the command (the pve-guests unit: pvesh --nooutput create ...) */
    bool nooutput = false;
    while (argc > 1 && (streq(argv[1], "--nooutput") || streq(argv[1], "-nooutput"))) {
        nooutput = true;
        argv[1] = argv[0];
        argc--, argv++;
    }
    if (argc < 2 || streq(argv[1], "help") || streq(argv[1], "--help") || streq(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? PVE_DAEMON_EXIT_FAILURE : 0;
    }
    const char *cmd = argv[1];
    ApiHttpMethod m = _API_METHOD_INVALID;
    bool is_call = method_of(cmd, &m) >= 0;
    if (!is_call && !streq(cmd, "ls") && !streq(cmd, "usage")) {
        fprintf(stderr, "pvesh: unknown command '%s'\n", cmd);
        usage(stderr);
        return PVE_DAEMON_EXIT_FAILURE;
    }
    if (argc < 3) {
        fprintf(stderr, "pvesh: missing api_path\n");
        return PVE_DAEMON_EXIT_FAILURE;
    }
    const char *path = argv[2];

    char host[256];
    ApiEnv env;
    if (api_cli_env(&env, host) < 0)
        return PVE_DAEMON_EXIT_FAILURE;
    _cleanup_(api_router_freep) ApiRouter *router = api_router_new();
    if (!router || api_register_all(router) < 0)
        return PVE_DAEMON_EXIT_FAILURE;

    Args a = {.format = OUT_TEXT, .nooutput = nooutput, .params = json_object()};
    if (!a.params)
        return PVE_DAEMON_EXIT_FAILURE;
    const ApiMethod *method = is_call ? api_router_method_at(router, m, path) : NULL;
    int r = parse_options(argc - 3, argv + 3, method, &a);
    if (r >= 0) {
        if (is_call)
            r = do_call(router, &env, m, path, &a);
        else if (streq(cmd, "ls"))
            r = do_ls(router, &env, path, &a);
        else
            r = do_usage(router, path, &a);
    }
    json_decref(a.params);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    return r < 0 ? PVE_DAEMON_EXIT_FAILURE : 0;
}

int main(int argc, char **argv) {
    return run(argc, argv);
}
