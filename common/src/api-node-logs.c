/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-node-logs: GET /nodes/{node}/syslog (journalctl's short lines with start/limit, or
 * /var/log/syslog under $PVE_NODE_ROOT without journalctl) and GET /nodes/{node}/journal
 * (journalctl JSON turned into short lines between the first and last cursor, like
 * upstream's mini-journalreader). journalctl is $PVE_JOURNALCTL when set (tests use a fake).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-nodes.h"
#include "pve/api-env.h"
#include "pve/json-util.h"
#include "pve/string-util.h"

/* ---- syslog --------------------------------------------------------------------------------- */

typedef struct LinePage {
    long long start, limit, count;
    const char *service; /* fallback file only: keep lines of this service */
    json_t *lines;
} LinePage;

static int page_line(const char *line, size_t len, void *userdata) {
    LinePage *p = userdata;
    if (p->service) {
        size_t n = strlen(p->service);
        const char *s = strstr(line, p->service);
        if (!s || s == line || s[-1] != ' ' || (s[n] != '[' && s[n] != ':'))
            return 0;
    }
    if (p->count++ < p->start || (long long) json_array_size(p->lines) >= p->limit)
        return 0;
    return json_util_append_new(
        p->lines, json_pack("{s:I,s:s%}", "n", (json_int_t) p->count, "t", line, len)
    );
}

/* The fallback: /var/log/syslog, filtered by the service's ident; since/until unsupported. */
static int syslog_file(ApiCall *call, LinePage *p) {
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = api_node_read_host_file(call, "/var/log/syslog", &text, &len);
    for (char *l = text, *nl; r >= 0 && l && *l; l = nl ? nl + 1 : NULL) {
        nl = strchr(l, '\n');
        r = page_line(l, nl ? (size_t) (nl - l) : strlen(l), p);
    }
    return r;
}

static int h_syslog(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    const char *service = NULL, *since = NULL, *until = NULL;
    LinePage p = {.lines = json_array()};
    _cleanup_json_ json_t *lines = p.lines;
    if (!lines)
        return -ENOMEM;
    (void) api_call_param_int(call, "start", &p.start);
    (void) api_call_param_int(call, "limit", &p.limit);
    (void) api_call_param_string(call, "service", &service);
    (void) api_call_param_string(call, "since", &since);
    (void) api_call_param_string(call, "until", &until);
    if (p.limit <= 0)
        p.limit = 50;
    if (service && streq(service, "postfix"))
        service = "postfix@-";
    const char *argv[12] = {
        api_node_command("PVE_JOURNALCTL", "journalctl"), "-o", "short", "--no-pager"};
    size_t n = 4;
    if (service && service[0]) {
        argv[n++] = "--unit";
        argv[n++] = service;
    }
    if (since) {
        argv[n++] = "--since";
        argv[n++] = since;
    }
    if (until) {
        argv[n++] = "--until";
        argv[n++] = until;
    }
    int status;
    r = api_node_run_lines(argv, page_line, &p, &status);
    if (r == -ENOENT) {
        p.service = service && service[0] ? service : NULL;
        r = syslog_file(call, &p);
    }
    if (r < 0)
        return r;
    if (p.count == 0) {
        p.count = 1;
        if (json_util_append_new(lines, json_pack("{s:i,s:s}", "n", 1, "t", "no content")) < 0)
            return -ENOMEM;
    }
    api_call_set_total(call, p.count);
    return api_call_set_result(call, json_incref(lines));
}

/* ---- journal -------------------------------------------------------------------------------- */

typedef struct JournalRead {
    json_t *entries; /* [[cursor, line], ...] in journalctl's order */
} JournalRead;

static const char *entry_str(json_t *e, const char *key, const char *dflt) {
    const char *s = json_string_value(json_object_get(e, key));
    return s ?: dflt;
}

/* One journal entry as a "short" line: "Mon DD HH:MM:SS host ident[pid]: message" */
static int journal_format(json_t *e, char **ret) {
    unsigned long long usec = 0;
    (void) safe_atou64(entry_str(e, "__REALTIME_TIMESTAMP", "0"), &usec);
    time_t t = (time_t) (usec / 1000000);
    struct tm tm;
    char ts[32] = "";
    if (localtime_r(&t, &tm))
        strftime(ts, sizeof ts, "%b %d %H:%M:%S", &tm);
    const char *ident = entry_str(e, "SYSLOG_IDENTIFIER", entry_str(e, "_COMM", "unknown"));
    const char *pid = entry_str(e, "_PID", entry_str(e, "SYSLOG_PID", NULL));
    const char *msg = entry_str(e, "MESSAGE", "[binary data]");
    int n = asprintf(
        ret, "%s %s %s%s%s%s: %s", ts, entry_str(e, "_HOSTNAME", "localhost"), ident,
        pid ? "[" : "", pid ?: "", pid ? "]" : "", msg
    );
    return n < 0 ? -ENOMEM : 0;
}

static int journal_line(const char *line, size_t len, void *userdata) {
    JournalRead *j = userdata;
    _cleanup_json_ json_t *e = NULL;
    if (json_util_parse(line, len, 0, &e, NULL) < 0 || !json_is_object(e))
        return 0;
    const char *cursor = json_string_value(json_object_get(e, "__CURSOR"));
    _cleanup_free_ char *text = NULL;
    if (!cursor)
        return 0;
    int r = journal_format(e, &text);
    return r < 0 ? r : json_util_append_new(j->entries, json_pack("[s,s]", cursor, text));
}

/* [first cursor, lines..., last cursor] of entries in chronological order, dropping `skip` */
static json_t *journal_result(json_t *entries, bool reversed, const char *skip) {
    json_t *out = json_array(), *lines = json_array();
    size_t n = json_array_size(entries);
    const char *first = NULL, *last = NULL;
    for (size_t k = 0; out && lines && k < n; k++) {
        json_t *e = json_array_get(entries, reversed ? n - 1 - k : k);
        const char *c = json_string_value(json_array_get(e, 0));
        if (skip && streq(c, skip))
            continue;
        first = first ?: c;
        last = c;
        json_array_append(lines, json_array_get(e, 1));
    }
    if (out && lines && first) {
        json_array_append_new(out, json_string(first));
        json_array_extend(out, lines);
        json_array_append_new(out, json_string(last));
    }
    json_decref(lines);
    return out;
}

static int h_journal(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    long long last = 0, since = -1, until = -1;
    const char *startc = NULL, *endc = NULL;
    (void) api_call_param_int(call, "lastentries", &last);
    (void) api_call_param_int(call, "since", &since);
    (void) api_call_param_int(call, "until", &until);
    (void) api_call_param_string(call, "startcursor", &startc);
    (void) api_call_param_string(call, "endcursor", &endc);

    char a_n[32], a_since[32], a_until[32];
    _cleanup_free_ char *a_start = NULL, *a_end = NULL;
    const char *argv[16] = {
        api_node_command("PVE_JOURNALCTL", "journalctl"), "-o", "json", "--no-pager"};
    size_t n = 4;
    if (endc) {
        /* backwards from the end cursor: the entries before it */
        if (asprintf(&a_end, "--cursor=%s", endc) < 0)
            return -ENOMEM;
        argv[n++] = "-r";
        argv[n++] = a_end;
        snprintf(a_n, sizeof a_n, "%lld", (last > 0 ? last : 50) + 1);
        argv[n++] = "-n";
        argv[n++] = a_n;
    } else if (last > 0 || (since < 0 && !startc)) {
        snprintf(a_n, sizeof a_n, "%lld", last > 0 ? last : 50);
        argv[n++] = "-n";
        argv[n++] = a_n;
    }
    if (startc) {
        if (asprintf(&a_start, "--after-cursor=%s", startc) < 0)
            return -ENOMEM;
        argv[n++] = a_start;
    }
    if (since >= 0) {
        snprintf(a_since, sizeof a_since, "--since=@%lld", since);
        argv[n++] = a_since;
    }
    if (until >= 0) {
        snprintf(a_until, sizeof a_until, "--until=@%lld", until);
        argv[n++] = a_until;
    }
    _cleanup_json_ json_t *entries = json_array();
    JournalRead j = {.entries = entries};
    if (!entries)
        return -ENOMEM;
    int status;
    r = api_node_run_lines(argv, journal_line, &j, &status);
    if (r == -ENOENT)
        return api_call_fail(call, 500, NULL, "journalctl not available: no journal to read");
    if (r < 0)
        return r;
    return api_call_set_result(call, journal_result(entries, endc != NULL, endc));
}

/* ---- tables --------------------------------------------------------------------------------- */

#define DATE_PATTERN "^\\d{4}-\\d{2}-\\d{2}( \\d{2}:\\d{2}(:\\d{2})?)?$"

static const ApiSchema syslog_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_INTEGER(
                "start", .optional = true, API_MIN(0), .typetext = "<integer> (0 - N)"
            ),
            API_PARAM_INTEGER(
                "limit", .optional = true, API_MIN(0), .typetext = "<integer> (0 - N)"
            ),
            API_PARAM_STRING(
                "since",
                .optional = true,
                .pattern = DATE_PATTERN,
                .description = "Display all log since this date-time string."
            ),
            API_PARAM_STRING(
                "until",
                .optional = true,
                .pattern = DATE_PATTERN,
                .description = "Display all log until this date-time string."
            ),
            API_PARAM_STRING(
                "service",
                .optional = true,
                .max_length = 128,
                .typetext = "<string>",
                .description = "Service ID"
            )
        )
);

static const ApiSchema lines_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_INTEGER("n", .description = "Line number"),
        API_PARAM_STRING("t", .description = "Line text")
    )
));

static const ApiSchema journal_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_INTEGER(
                "since",
                .optional = true,
                API_MIN(0),
                .typetext = "<integer> (0 - N)",
                .description = "Display all log since this UNIX epoch. Conflicts with "
                               "'startcursor'."
            ),
            API_PARAM_INTEGER(
                "until",
                .optional = true,
                API_MIN(0),
                .typetext = "<integer> (0 - N)",
                .description = "Display all log until this UNIX epoch. Conflicts with "
                               "'endcursor'."
            ),
            API_PARAM_INTEGER(
                "lastentries",
                .optional = true,
                API_MIN(0),
                .typetext = "<integer> (0 - N)",
                .description = "Limit to the last X lines. Conflicts with a range."
            ),
            API_PARAM_STRING(
                "startcursor",
                .optional = true,
                .typetext = "<string>",
                .description = "Start after the given Cursor. Conflicts with 'since'"
            ),
            API_PARAM_STRING(
                "endcursor",
                .optional = true,
                .typetext = "<string>",
                .description = "End before the given Cursor. Conflicts with 'until'"
            )
        )
);

static const ApiSchema journal_returns = API_ARRAY(API_ITEMS(API_TYPE_STRING));

#define NODE_PRIV(p) API_PERM_CHECK("/nodes/{node}", API_PRIVS(p))

static const ApiMethod methods[] = {
    {
        .path = "/nodes/{node}/syslog",
        .method = API_METHOD_GET,
        .name = "syslog",
        .description = "Read system log",
        .parameters = &syslog_params,
        .returns = &lines_returns,
        .permissions = NODE_PRIV("Sys.Syslog"),
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_syslog,
    },
    {
        .path = "/nodes/{node}/journal",
        .method = API_METHOD_GET,
        .name = "journal",
        .description = "Read Journal",
        .parameters = &journal_params,
        .returns = &journal_returns,
        .permissions = NODE_PRIV("Sys.Syslog"),
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_journal,
    },
};

int api_node_logs_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
