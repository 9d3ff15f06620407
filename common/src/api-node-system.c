/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-node-system: host settings and logs of this node: GET/PUT /nodes/{node}/time (the
 * timezone in /etc/timezone + the /etc/localtime link), GET/PUT /nodes/{node}/dns
 * (/etc/resolv.conf), GET/POST /nodes/{node}/hosts (/etc/hosts with digest), GET
 * /nodes/{node}/syslog (journalctl, or /var/log/syslog without it) and GET
 * /nodes/{node}/journal (journalctl JSON with cursors, like upstream's mini-journalreader).
 *
 * Host files live under $PVE_NODE_ROOT (empty by default) and journalctl is $PVE_JOURNALCTL
 * when set, so tests never read or change the host's.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api-nodes.h"
#include "pve/api-env.h"
#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/string-util.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"

/* ---- time ----------------------------------------------------------------------------------- */

static int read_timezone(ApiCall *call, char **ret) {
    _cleanup_free_ char *text = NULL, *link = NULL;
    size_t len;
    int r = api_node_read_host_file(call, "/etc/timezone", &text, &len);
    if (r < 0)
        return r;
    text[strcspn(text, "\n")] = 0;
    text[rstrip_len(text, strlen(text))] = 0;
    if (text[0]) {
        *ret = TAKE_PTR(text);
        return 0;
    }
    /* no /etc/timezone: the /etc/localtime link ".../zoneinfo/Europe/Vienna" */
    char target[4096];
    if ((r = api_node_host_path("/etc/localtime", &link)) < 0)
        return r;
    ssize_t n = readlink(link, target, sizeof target - 1);
    const char *tz = "UTC", *z;
    if (n > 0) {
        target[n] = 0;
        if ((z = strstr(target, "zoneinfo/")))
            tz = z + strlen("zoneinfo/");
    }
    *ret = strdup(tz);
    return *ret ? 0 : -ENOMEM;
}

static int h_time(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    _cleanup_free_ char *tz = NULL;
    if ((r = read_timezone(call, &tz)) < 0)
        return r;
    time_t now = time(NULL);
    struct tm tm;
    long off = localtime_r(&now, &tm) ? tm.tm_gmtoff : 0;
    json_t *o = json_pack(
        "{s:s,s:I,s:I}", "timezone", tz, "time", (json_int_t) now, "localtime",
        (json_int_t) (now + off)
    );
    return api_call_set_result(call, o);
}

static bool timezone_name_ok(const char *tz) {
    if (!tz[0] || tz[0] == '/' || strstr(tz, "..") || strlen(tz) > 255)
        return false;
    for (const char *p = tz; *p; p++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-", *p))
            return false;
    _cleanup_free_ char *path = NULL;
    struct stat st;
    if (asprintf(&path, ZONEINFO_DIR "/%s", tz) < 0)
        return false;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int set_localtime_link(ApiCall *call, const char *tz) {
    _cleanup_free_ char *link = NULL, *tmp = NULL, *target = NULL;
    if (api_node_host_path("/etc/localtime", &link) < 0 ||
        asprintf(&tmp, "%s.tmp.%d", link, (int) getpid()) < 0 ||
        asprintf(&target, ZONEINFO_DIR "/%s", tz) < 0)
        return -ENOMEM;
    (void) unlink(tmp);
    if (symlink(target, tmp) < 0 || rename(tmp, link) < 0) {
        int e = errno;
        (void) unlink(tmp);
        return api_call_fail(call, 500, NULL, "unable to link '%s' - %s", link, strerror(e));
    }
    return 0;
}

static int h_set_time(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    const char *tz = NULL;
    (void) api_call_param_string(call, "timezone", &tz);
    if (!tz || !timezone_name_ok(tz))
        return api_call_fail(
            call, 400, json_pack("{s:s}", "timezone", "No such timezone"),
            "Parameter verification failed."
        );
    _cleanup_free_ char *line = NULL;
    if (asprintf(&line, "%s\n", tz) < 0)
        return -ENOMEM;
    if ((r = api_node_write_host_file(call, "/etc/timezone", line)) < 0)
        return r;
    if ((r = set_localtime_link(call, tz)) < 0)
        return r;
    return api_call_set_result(call, json_null());
}

/* ---- dns ------------------------------------------------------------------------------------ */

/* The word after a keyword ("search foo.bar" -> "foo.bar"), NULL when the line is not one. */
static char *keyword_value(const char *line, const char *kw) {
    const char *p = startswith(line, kw);
    if (!p || (*p != ' ' && *p != '\t'))
        return NULL;
    p = skip_blanks(p);
    size_t n = strcspn(p, " \t\r\n");
    return n ? strndup(p, n) : NULL;
}

static int parse_resolv_conf(const char *text, json_t *o) {
    unsigned ns = 0;
    int r = 0;
    for (const char *l = text; r >= 0 && l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        _cleanup_free_ char *v = keyword_value(l, "search") ?: keyword_value(l, "domain");
        if (v) {
            r = json_util_set_string(o, "search", v);
            continue;
        }
        v = keyword_value(skip_blanks(l), "nameserver");
        if (v && ++ns <= 3) {
            char key[8];
            snprintf(key, sizeof key, "dns%u", ns);
            r = json_util_set_string(o, key, v);
        }
    }
    return r;
}

static int h_dns(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    _cleanup_free_ char *text = NULL;
    size_t len;
    if ((r = api_node_read_host_file(call, "/etc/resolv.conf", &text, &len)) < 0)
        return r;
    _cleanup_json_ json_t *o = json_object();
    if (!o || parse_resolv_conf(text, o) < 0)
        return -ENOMEM;
    return api_call_set_result(call, TAKE_PTR(o));
}

static bool is_resolver_line(const char *l) {
    static const char *const kws[] = {"search", "domain", "nameserver"};
    for (size_t i = 0; i < ELEMENTSOF(kws); i++) {
        const char *p = startswith(l, kws[i]);
        if (p && (*p == ' ' || *p == '\t'))
            return true;
    }
    return false;
}

/* upstream's update_etc_resolv_conf: search + up to 3 distinct nameservers, then every other
 * line of the old file */
static int h_set_dns(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    _cleanup_free_ char *old = NULL, *out = NULL;
    size_t len, outlen = 0;
    if ((r = api_node_read_host_file(call, "/etc/resolv.conf", &old, &len)) < 0)
        return r;
    FILE *f = open_memstream(&out, &outlen);
    if (!f)
        return -ENOMEM;
    const char *search = NULL, *ns[3] = {NULL};
    (void) api_call_param_string(call, "search", &search);
    if (search && search[0])
        fprintf(f, "search %s\n", search);
    for (size_t i = 0; i < 3; i++) {
        char key[8];
        snprintf(key, sizeof key, "dns%zu", i + 1);
        ns[i] = json_string_value(json_object_get(call->params, key));
        bool dup = !ns[i] || !ns[i][0] || streq(ns[i], "0.0.0.0");
        for (size_t k = 0; !dup && k < i; k++)
            dup = ns[k] && streq(ns[k], ns[i]);
        if (!dup)
            fprintf(f, "nameserver %s\n", ns[i]);
    }
    for (const char *l = old; *l;) {
        const char *nl = strchrnul(l, '\n');
        if (!is_resolver_line(l))
            fprintf(f, "%.*s\n", (int) (nl - l), l);
        l = *nl ? nl + 1 : nl;
    }
    if (fclose(f) != 0)
        return -ENOMEM;
    if ((r = api_node_write_host_file(call, "/etc/resolv.conf", out)) < 0)
        return r;
    return api_call_set_result(call, json_null());
}

/* ---- hosts ---------------------------------------------------------------------------------- */

static int h_hosts(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    _cleanup_free_ char *text = NULL;
    size_t len;
    if ((r = api_node_read_host_file(call, "/etc/hosts", &text, &len)) < 0)
        return r;
    char digest[41];
    api_digest(text, len, digest);
    return api_call_set_result(call, json_pack("{s:s,s:s}", "data", text, "digest", digest));
}

static int h_set_hosts(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    _cleanup_free_ char *old = NULL, *data = NULL;
    size_t len;
    if ((r = api_node_read_host_file(call, "/etc/hosts", &old, &len)) < 0)
        return r;
    if ((r = api_check_digest(call, old, len)) < 0)
        return r;
    const char *in = "";
    (void) api_call_param_string(call, "data", &in);
    size_t n = strlen(in);
    if (asprintf(&data, "%s%s", in, n && in[n - 1] != '\n' ? "\n" : "") < 0)
        return -ENOMEM;
    if ((r = api_node_write_host_file(call, "/etc/hosts", data)) < 0)
        return r;
    return api_call_set_result(call, json_null());
}

/* ---- tables --------------------------------------------------------------------------------- */

static const ApiSchema node_only_params = API_OBJECT(.properties = API_PROPERTIES(API_NODE_PARAM));

static const ApiSchema time_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("timezone", .description = "Time zone"),
            API_PARAM_INTEGER(
                "time", API_MIN(1297163644), .description = "Seconds since 1970-01-01 00:00:00 UTC."
            ),
            API_PARAM_INTEGER(
                "localtime",
                API_MIN(1297163644),
                .description = "Seconds since 1970-01-01 00:00:00 (local time)"
            )
        )
);

static const ApiSchema set_time_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_STRING(
                "timezone",
                .typetext = "<string>",
                .description = "Time zone. The file '/usr/share/zoneinfo/zone.tab' contains the "
                               "list of valid names."
            )
        )
);

static const ApiSchema dns_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING(
                "search", .optional = true, .description = "Search domain for host-name lookup."
            ),
            API_PARAM_STRING(
                "dns1", .optional = true, .description = "First name server IP address."
            ),
            API_PARAM_STRING(
                "dns2", .optional = true, .description = "Second name server IP address."
            ),
            API_PARAM_STRING(
                "dns3", .optional = true, .description = "Third name server IP address."
            )
        )
);

static const ApiSchema set_dns_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_STRING(
                "search",
                .typetext = "<string>",
                .description = "Search domain for host-name lookup."
            ),
            API_PARAM_STRING(
                "dns1",
                .optional = true,
                .format = "ip",
                .typetext = "<string>",
                .description = "First name server IP address."
            ),
            API_PARAM_STRING(
                "dns2",
                .optional = true,
                .format = "ip",
                .typetext = "<string>",
                .description = "Second name server IP address."
            ),
            API_PARAM_STRING(
                "dns3",
                .optional = true,
                .format = "ip",
                .typetext = "<string>",
                .description = "Third name server IP address."
            )
        )
);

static const ApiSchema hosts_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("data", .description = "The content of /etc/hosts."),
            API_PARAM_STRING(
                "digest",
                .optional = true,
                .max_length = 64,
                .description = "Prevent changes if current configuration file has a different "
                               "digest. This can be used to prevent concurrent modifications."
            )
        )
);

static const ApiSchema set_hosts_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_STRING(
                "data", .typetext = "<string>", .description = "The target content of /etc/hosts."
            ),
            API_PARAM_STRING(
                "digest",
                .optional = true,
                .max_length = 64,
                .typetext = "<string>",
                .description = "Prevent changes if current configuration file has a different "
                               "digest. This can be used to prevent concurrent modifications."
            )
        )
);

#define NODE_PRIV(p) API_PERM_CHECK("/nodes/{node}", API_PRIVS(p))

static const ApiMethod methods[] = {
    {
        .path = "/nodes/{node}/time",
        .method = API_METHOD_GET,
        .name = "time",
        .description = "Read server time and time zone settings.",
        .parameters = &node_only_params,
        .returns = &time_returns,
        .permissions = NODE_PRIV("Sys.Audit"),
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_time,
    },
    {
        .path = "/nodes/{node}/time",
        .method = API_METHOD_PUT,
        .name = "set_timezone",
        .description = "Set time zone.",
        .parameters = &set_time_params,
        .permissions = NODE_PRIV("Sys.Modify"),
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_set_time,
    },
    {
        .path = "/nodes/{node}/dns",
        .method = API_METHOD_GET,
        .name = "dns",
        .description = "Read DNS settings.",
        .parameters = &node_only_params,
        .returns = &dns_returns,
        .permissions = NODE_PRIV("Sys.Audit"),
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_dns,
    },
    {
        .path = "/nodes/{node}/dns",
        .method = API_METHOD_PUT,
        .name = "update_dns",
        .description = "Write DNS settings.",
        .parameters = &set_dns_params,
        .permissions = NODE_PRIV("Sys.Modify"),
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_set_dns,
    },
    {
        .path = "/nodes/{node}/hosts",
        .method = API_METHOD_GET,
        .name = "get_etc_hosts",
        .description = "Get the content of /etc/hosts.",
        .parameters = &node_only_params,
        .returns = &hosts_returns,
        .permissions = API_PERM_CHECK("/", API_PRIVS("Sys.Audit")),
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_hosts,
    },
    {
        .path = "/nodes/{node}/hosts",
        .method = API_METHOD_POST,
        .name = "write_etc_hosts",
        .description = "Write /etc/hosts.",
        .parameters = &set_hosts_params,
        .permissions = NODE_PRIV("Sys.Modify"),
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_set_hosts,
    },
};

int api_node_system_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
