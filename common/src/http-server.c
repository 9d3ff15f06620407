/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http-server: HTTP/1.x front end on libmicrohttpd, driven from sd-event.
 *
 * Owns: the MHD daemon in external epoll mode (its epoll fd is one io source calling
 * MHD_run(), plus a timer re-armed from MHD_get_timeout()), the upstream protocol checks
 * (method list, header and body caps, chunked and unexpected bodies, content types), the
 * parameter merge (query over body, `_dc` dropped), the common response headers, keep-alive
 * accounting per connection and suspended requests.
 *
 * Must not: know about /api2, envelopes, auth or schemas (the handler's business), block, or
 * log above debug. Error replies from this layer carry an empty body, as upstream's do.
 */
#include "pve/http-server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <assert.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "pve/http-multipart.h"
#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/strbuf.h"
#include "pve/tls-credentials.h"

#define SERVER_NAME        "pve-api-daemon/3.0"
#define MHD_MEMORY_LIMIT   (32 * 1024)
#define MAX_REASON_LEN     1024
#define RAW_WRITE_TIMEOUT  1000 /* ms, only for error replies written past MHD */
#define NO_KEEPALIVE_SLACK 20   /* upstream: no keep-alive once conn_count+1 >= max_conn-20 */

typedef struct HttpConn {
    HttpServer *server; /* for the TLS certificate callback */
    unsigned n_requests;
    bool in_request; /* a request is being read or answered */
    MHD_socket fd;
    struct HttpConn *prev, *next;
} HttpConn;

struct HttpServer {
    sd_event *event;
    sd_event_source *io_source;
    sd_event_source *timer_source;
    struct MHD_Daemon *mhd;
    HttpHandler handler;
    void *userdata;
    unsigned keepalive_requests;
    bool no_keepalive;
    bool no_listen;
    unsigned max_connections;
    unsigned n_connections;
    HttpConn *conns; /* open connections (with a context), for closing idle ones */
    bool tls;
    TlsCredentials *tls_creds;
    gnutls_datum_t ticket_key; /* size 0: no session tickets */
    HttpRequest *suspended;    /* doubly linked list of suspended requests */
    bool (*upload_filter)(const char *path, void *userdata);
    char *upload_dir;
    uint64_t max_upload_size;
};

struct HttpRequest {
    HttpServer *server;
    struct MHD_Connection *conn;
    char *raw_uri;
    char *path;
    char *query;
    char *version;
    char *client_address;
    HttpMethod method;
    StrBuf body;
    json_t *params;
    bool body_is_json;
    HttpMultipartForm *form; /* multipart upload in progress */

    bool started;
    bool dispatched;
    bool in_callback;
    bool suspended;
    bool replied;
    bool aborted;
    bool close_after;

    struct MHD_Response *pending;
    unsigned pending_status;

    void *userdata;
    HttpAbortHandler on_abort;

    HttpRequest *prev;
    HttpRequest *next;
};

static const char *const method_table[_HTTP_METHOD_MAX] = {
    [HTTP_METHOD_GET] = "GET",
    [HTTP_METHOD_POST] = "POST",
    [HTTP_METHOD_PUT] = "PUT",
    [HTTP_METHOD_DELETE] = "DELETE",
};

const char *http_method_to_string(HttpMethod m) {
    if (m < 0 || m >= _HTTP_METHOD_MAX)
        return NULL;
    return method_table[m];
}

HttpMethod http_method_from_string(const char *s) {
    if (!s)
        return _HTTP_METHOD_INVALID;
    for (int i = 0; i < _HTTP_METHOD_MAX; i++)
        if (streq(method_table[i], s))
            return (HttpMethod) i;
    return _HTTP_METHOD_INVALID;
}

/* ---- parsing (pure) ---------------------------------------------------------------------- */

static int unhex(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int http_unescape(const char *s, size_t len, bool plus_is_space, char **ret) {
    assert(s || len == 0);
    assert(ret);

    _cleanup_free_ char *out = malloc(len + 1);
    if (!out)
        return -ENOMEM;

    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (len - i < 3)
                return -EINVAL;
            int hi = unhex(s[i + 1]), lo = unhex(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -EINVAL;
            c = (char) (hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space)
            c = ' ';
        if (c == '\0') /* neither raw nor encoded NULs: every consumer uses C strings */
            return -EINVAL;
        out[o++] = c;
    }
    out[o] = '\0';
    *ret = TAKE_PTR(out);
    return 0;
}

/* Add key=value; a repeated key turns the member into an array, keeping the order. */
static int form_add(json_t *into, const char *key, const char *value) {
    json_t *v = json_string(value);
    if (!v)
        return -EINVAL; /* jansson only fails here for invalid UTF-8 (or OOM) */

    json_t *old = json_object_get(into, key);
    if (!old)
        return json_object_set_new(into, key, v) < 0 ? -EINVAL : 0;
    if (json_is_array(old))
        return json_util_append_new(old, v);

    json_t *a = json_array();
    if (!a) {
        json_decref(v);
        return -ENOMEM;
    }
    if (json_array_append(a, old) < 0 || json_array_append_new(a, v) < 0) {
        json_decref(a);
        return -ENOMEM;
    }
    return json_object_set_new(into, key, a) < 0 ? -ENOMEM : 0;
}

int http_parse_form_urlencoded(const char *s, size_t len, json_t *into) {
    assert(s || len == 0);
    assert(json_is_object(into));

    int n = 0;
    size_t i = 0;
    while (i < len) {
        const char *pair = s + i;
        const char *amp = memchr(pair, '&', len - i);
        size_t plen = amp ? (size_t) (amp - pair) : len - i;
        i += plen + 1;
        if (plen == 0)
            continue;

        const char *eq = memchr(pair, '=', plen);
        size_t klen = eq ? (size_t) (eq - pair) : plen;
        if (klen > HTTP_FORM_MAX_KEY * 3) /* even fully %-encoded it would be too long */
            return -E2BIG;
        if (n >= HTTP_FORM_MAX_PARAMS)
            return -E2BIG;

        _cleanup_free_ char *key = NULL, *value = NULL;
        int r = http_unescape(pair, klen, true, &key);
        if (r < 0)
            return r;
        if (strlen(key) > HTTP_FORM_MAX_KEY)
            return -E2BIG;
        r = eq ? http_unescape(eq + 1, plen - klen - 1, true, &value)
               : http_unescape("", 0, true, &value);
        if (r < 0)
            return r;
        r = form_add(into, key, value);
        if (r < 0)
            return r;
        n++;
    }
    return n;
}

int http_parse_json_body(const char *s, size_t len, json_t **ret) {
    assert(s || len == 0);
    assert(ret);

    _cleanup_json_ json_t *j = NULL;
    int r = json_util_parse(s, len, HTTP_MAX_BODY_SIZE, &j, NULL);
    if (r < 0)
        return r == -ENOMEM ? r : -EINVAL;
    if (!json_is_object(j))
        return -EINVAL;
    *ret = TAKE_PTR(j);
    return 0;
}

/* ---- small helpers ----------------------------------------------------------------------- */

/* RFC 7231 IMF-fixdate, independent of the locale. */
static void format_http_date(char buf[static 128], time_t t) {
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    snprintf(
        buf, 128, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[(unsigned) tm.tm_wday % 7],
        tm.tm_mday, months[(unsigned) tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
        tm.tm_sec
    );
}

static bool header_value_ok(const char *s) {
    return s && !strpbrk(s, "\r\n");
}

/* Media type without parameters, compared case-insensitively. */
static bool media_type_is(const char *ct, const char *want) {
    size_t n = strlen(want);
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

static void request_unlink_suspended(HttpRequest *req) {
    if (!req->suspended)
        return;
    if (req->prev)
        req->prev->next = req->next;
    else
        req->server->suspended = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
    req->suspended = false;
}

static HttpRequest *request_free(HttpRequest *req) {
    if (!req)
        return NULL;
    request_unlink_suspended(req);
    if (req->pending)
        MHD_destroy_response(req->pending);
    free(req->raw_uri);
    free(req->path);
    free(req->version);
    free(req->client_address);
    strbuf_done(&req->body);
    json_decref(req->params);
    http_multipart_form_free(req->form);
    free(req);
    return NULL;
}

static void server_rearm_timer(HttpServer *s) {
    MHD_UNSIGNED_LONG_LONG ms;
    if (!s->timer_source)
        return;
    if (MHD_get_timeout(s->mhd, &ms) != MHD_YES) {
        (void) sd_event_source_set_enabled(s->timer_source, SD_EVENT_OFF);
        return;
    }
    struct timespec ts;
    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
    uint64_t when = now + (uint64_t) ms * 1000ULL;
    /* MHD's deadlines are idle timeouts: firing before one is harmless (MHD_run() finds
     * nothing due and we re-arm), so only move the timer earlier. Re-arming after every loop
     * pass cost a timerfd_settime() per request. */
    int enabled = SD_EVENT_OFF;
    uint64_t armed = 0;
    if (sd_event_source_get_enabled(s->timer_source, &enabled) >= 0 && enabled != SD_EVENT_OFF &&
        sd_event_source_get_time(s->timer_source, &armed) >= 0 && armed <= when)
        return;
    (void) sd_event_source_set_time(s->timer_source, when);
    (void) sd_event_source_set_enabled(s->timer_source, SD_EVENT_ONESHOT);
}

static void server_run_soon(HttpServer *s) {
    if (!s->timer_source)
        return;
    (void) sd_event_source_set_time(s->timer_source, 1); /* long past: due at once */
    (void) sd_event_source_set_enabled(s->timer_source, SD_EVENT_ONESHOT);
}

/* ---- replies ----------------------------------------------------------------------------- */

/* Write a complete response past MHD (to get our own reason phrase; over TLS through the
 * connection's GnuTLS session), then half-close: MHD's own attempt to send fails and it drops
 * the connection, which a status >= 400 does anyway. */
static int raw_send_response(
    HttpRequest *req,
    unsigned status,
    const char *reason,
    const char *content_type,
    const void *body,
    size_t len,
    const char *const *extra_headers,
    const char *date
) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return -EBADF;
    int fd = ci->connect_fd;

    _cleanup_(strbuf_donep) StrBuf b = STRBUF_INIT;
    strbuf_printf(
        &b,
        "%s %u %s\r\nDate: %s\r\nServer: " SERVER_NAME
        "\r\nExpires: %s\r\n"
        "Cache-Control: max-age=0\r\nPragma: no-cache\r\n",
        req->version && strneq(req->version, "HTTP/1.", 7) ? req->version : "HTTP/1.1", status,
        reason, date, date
    );
    if (content_type)
        strbuf_printf(&b, "Content-Type: %s\r\n", content_type);
    for (const char *const *h = extra_headers; h && h[0] && h[1]; h += 2)
        if (strcasecmp(h[0], "Content-Length") != 0 && strcasecmp(h[0], "Connection") != 0)
            strbuf_printf(&b, "%s: %s\r\n", h[0], h[1]);
    strbuf_printf(&b, "Content-Length: %zu\r\nConnection: close\r\n\r\n", len);
    if (len > 0)
        strbuf_append_len(&b, body, len);
    if (b.error < 0)
        return b.error;

    gnutls_session_t tls = NULL;
    if (req->server->tls) {
        const union MHD_ConnectionInfo *ti =
            MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (!ti || !ti->tls_session)
            return -EBADF;
        tls = ti->tls_session;
    }

    size_t off = 0;
    int waited = 0;
    while (off < b.len) {
        if (tls) {
            ssize_t n = gnutls_record_send(tls, b.data + off, b.len - off);
            if (n >= 0) {
                off += (size_t) n;
                continue;
            }
            if (n == GNUTLS_E_INTERRUPTED)
                continue;
            if (n != GNUTLS_E_AGAIN || waited >= RAW_WRITE_TIMEOUT)
                return -EIO;
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            (void) poll(&p, 1, 50);
            waited += 50;
            continue;
        }
        ssize_t n = send(fd, b.data + off, b.len - off, MSG_NOSIGNAL);
        if (n >= 0) {
            off += (size_t) n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN || waited >= RAW_WRITE_TIMEOUT)
            return -errno;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        (void) poll(&p, 1, 50);
        waited += 50;
    }
    (void) shutdown(fd, SHUT_WR);
    return 0;
}

static int request_queue_or_defer(HttpRequest *req, unsigned status, struct MHD_Response *resp) {
    if (req->in_callback) {
        enum MHD_Result m = MHD_queue_response(req->conn, status, resp);
        MHD_destroy_response(resp);
        return m == MHD_YES ? 0 : -EIO;
    }
    /* Suspended: MHD only accepts a response from its access callback, so park it and resume;
     * the callback runs again and queues it. */
    req->pending = resp;
    req->pending_status = status;
    request_unlink_suspended(req);
    MHD_resume_connection(req->conn);
    /* In external-loop mode MHD does not wake itself up for a resumed connection: run it soon. */
    server_run_soon(req->server);
    return 0;
}

static int queue_with_headers(
    HttpRequest *req,
    unsigned status,
    struct MHD_Response *resp,
    const char *content_type,
    const char *const *extra_headers,
    bool close,
    const char *date
);

int http_reply(
    HttpRequest *req,
    unsigned status,
    const char *reason,
    const char *content_type,
    const void *body,
    size_t len,
    const char *const *extra_headers
) {
    assert(req);
    assert(body || len == 0);
    assert(status >= 100 && status <= 999);

    if (req->replied)
        return -EALREADY;
    if (!req->in_callback && !req->suspended)
        return -EINVAL;

    bool close = status >= 400 || req->close_after || req->server->no_keepalive;
    for (const char *const *h = extra_headers; h && h[0]; h += 2) {
        if (!h[1] || !header_value_ok(h[0]) || !header_value_ok(h[1]) || !*h[0])
            return -EINVAL;
        if (strcasecmp(h[0], "Connection") == 0 && strcasecmp(h[1], "close") == 0)
            close = true;
    }
    if (content_type && !header_value_ok(content_type))
        return -EINVAL;

    /* Only the first line of the message becomes the reason phrase. */
    char phrase[MAX_REASON_LEN + 1] = "";
    if (reason) {
        size_t n = strcspn(reason, "\r\n");
        n = MIN(n, (size_t) MAX_REASON_LEN);
        memcpy(phrase, reason, n);
        phrase[n] = '\0';
    }

    char date[128];
    format_http_date(date, time(NULL));

    struct MHD_Response *resp;
    if (status >= 400 && phrase[0] && !streq(phrase, MHD_get_reason_phrase_for(status))) {
        req->replied = true; /* from here on the client has (or lost) its answer */
        int r =
            raw_send_response(req, status, phrase, content_type, body, len, extra_headers, date);
        if (r < 0)
            log_debug_errno(r, "http: failed to write error response: %m");
        resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return -EIO; /* answered already; MHD drops the connection on its own */
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        return request_queue_or_defer(req, status, resp);
    }

    resp = MHD_create_response_from_buffer(
        len, len > 0 ? (void *) body : (void *) "", MHD_RESPMEM_MUST_COPY
    );
    if (!resp)
        return -ENOMEM;
    return queue_with_headers(req, status, resp, content_type, extra_headers, close, date);
}

int http_reply_fd(
    HttpRequest *req, const char *content_type, int fd, const char *const *extra_headers
) {
    assert(req);
    assert(fd >= 0);
    struct stat st;
    int r = 0;
    if (req->replied)
        r = -EALREADY;
    else if (!req->in_callback && !req->suspended)
        r = -EINVAL;
    else if (content_type && !header_value_ok(content_type))
        r = -EINVAL;
    else if (fstat(fd, &st) < 0)
        r = -errno;
    else if (!S_ISREG(st.st_mode))
        r = -EBADFD;
    for (const char *const *h = extra_headers; r == 0 && h && h[0]; h += 2)
        if (!h[1] || !header_value_ok(h[0]) || !header_value_ok(h[1]) || !*h[0])
            r = -EINVAL;
    if (r < 0) {
        close(fd);
        return r;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t) st.st_size, fd);
    if (!resp) {
        close(fd);
        return -ENOMEM;
    }
    char date[128];
    format_http_date(date, time(NULL));
    bool close_after = req->close_after || req->server->no_keepalive;
    return queue_with_headers(req, 200, resp, content_type, extra_headers, close_after, date);
}

/* The common headers (Server, Expires, Cache-Control, Pragma), content type, extra headers and
 * Connection: close onto resp, then queue it; resp is consumed. */
static int queue_with_headers(
    HttpRequest *req,
    unsigned status,
    struct MHD_Response *resp,
    const char *content_type,
    const char *const *extra_headers,
    bool close,
    const char *date
) {
    bool ok =
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, SERVER_NAME) == MHD_YES &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_EXPIRES, date) == MHD_YES &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "max-age=0") == MHD_YES &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_PRAGMA, "no-cache") == MHD_YES;
    if (ok && content_type)
        ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) == MHD_YES;
    for (const char *const *h = extra_headers; ok && h && h[0]; h += 2) {
        if (strcasecmp(h[0], "Content-Length") == 0 || strcasecmp(h[0], "Connection") == 0)
            continue;
        ok = MHD_add_response_header(resp, h[0], h[1]) == MHD_YES;
    }
    if (ok && close)
        ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
    if (!ok) {
        MHD_destroy_response(resp);
        return -EINVAL;
    }
    req->replied = true;
    return request_queue_or_defer(req, status, resp);
}

/* ---- protocol upgrade ------------------------------------------------------------------ */

struct HttpUpgrade {
    HttpUpgradeFn fn;
    void *userdata;
    struct MHD_UpgradeResponseHandle *urh;
};

static void on_upgraded(
    void *cls,
    struct MHD_Connection *conn,
    void *con_cls,
    const char *extra,
    size_t extra_len,
    MHD_socket sock,
    struct MHD_UpgradeResponseHandle *urh
) {
    HttpUpgrade *u = cls;
    (void) conn;
    (void) con_cls;
    u->urh = urh;
    u->fn(u, sock, extra, extra_len, u->userdata);
}

void http_upgrade_close(HttpUpgrade *u) {
    if (!u)
        return;
    if (u->urh)
        (void) MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
    free(u);
}

int http_reply_upgrade(
    HttpRequest *req, const char *const *extra_headers, HttpUpgradeFn fn, void *userdata
) {
    assert(req);
    assert(fn);
    if (req->replied)
        return -EALREADY;
    if (!req->in_callback && !req->suspended)
        return -EINVAL;
    for (const char *const *h = extra_headers; h && h[0]; h += 2)
        if (!h[1] || !header_value_ok(h[0]) || !header_value_ok(h[1]) || !*h[0])
            return -EINVAL;
    HttpUpgrade *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->fn = fn;
    u->userdata = userdata;
    /* u belongs to MHD's callback from here; if the client vanishes before the 101 is out it
     * leaks (one small struct), which is preferable to a use-after-free */
    struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgraded, u);
    if (!resp) {
        free(u);
        return -ENOMEM;
    }
    bool ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, SERVER_NAME) == MHD_YES;
    for (const char *const *h = extra_headers; ok && h && h[0]; h += 2)
        ok = MHD_add_response_header(resp, h[0], h[1]) == MHD_YES;
    if (!ok) {
        MHD_destroy_response(resp);
        free(u);
        return -EINVAL;
    }
    req->replied = true;
    return request_queue_or_defer(req, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
}

int http_reply_status(HttpRequest *req, unsigned status, const char *reason) {
    return http_reply(req, status, reason, NULL, NULL, 0, NULL);
}

int http_request_suspend(HttpRequest *req) {
    assert(req);
    if (req->replied || req->suspended)
        return -EALREADY;
    if (!req->in_callback)
        return -EINVAL;
    MHD_suspend_connection(req->conn);
    req->suspended = true;
    req->next = req->server->suspended;
    if (req->next)
        req->next->prev = req;
    req->server->suspended = req;
    return 0;
}

/* ---- accessors --------------------------------------------------------------------------- */

HttpMethod http_request_method(const HttpRequest *req) {
    return req->method;
}
const char *http_request_path(const HttpRequest *req) {
    return req->path;
}
const char *http_request_query(const HttpRequest *req) {
    return req->query ? req->query : "";
}
const char *http_request_version(const HttpRequest *req) {
    return req->version;
}
const char *http_request_header(const HttpRequest *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}
const char *http_request_client_address(const HttpRequest *req) {
    return req->client_address ? req->client_address : "";
}
json_t *http_request_params(const HttpRequest *req) {
    return req->params;
}
bool http_request_body_is_json(const HttpRequest *req) {
    return req->body_is_json;
}
const char *http_request_body(const HttpRequest *req, size_t *ret_len) {
    if (ret_len)
        *ret_len = req->body.len;
    return req->body.data ? req->body.data : "";
}
void http_request_set_userdata(HttpRequest *req, void *userdata, HttpAbortHandler on_abort) {
    req->userdata = userdata;
    req->on_abort = on_abort;
}
void *http_request_get_userdata(const HttpRequest *req) {
    return req->userdata;
}

/* ---- MHD callbacks ----------------------------------------------------------------------- */

static HttpConn *conn_context(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void *on_uri_log(void *cls, const char *uri, struct MHD_Connection *c) {
    HttpServer *s = cls;
    HttpConn *hc = conn_context(c);
    if (hc)
        hc->in_request = true;
    HttpRequest *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->server = s;
    req->conn = c;
    req->method = _HTTP_METHOD_INVALID;
    req->raw_uri = strdup(uri ? uri : "");
    if (!req->raw_uri)
        return request_free(req);
    return req;
}

static void on_completed(
    void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe
) {
    (void) cls, (void) toe;
    HttpConn *hc = conn_context(c);
    if (hc)
        hc->in_request = false;
    HttpRequest *req = *con_cls;
    if (!req)
        return;
    if (req->suspended && !req->replied && !req->aborted && req->on_abort)
        req->on_abort(req, req->userdata);
    *con_cls = request_free(req);
}

static void on_connection(
    void *cls,
    struct MHD_Connection *c,
    void **socket_context,
    enum MHD_ConnectionNotificationCode toe
) {
    HttpServer *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        HttpConn *hc = calloc(1, sizeof(HttpConn)); /* NULL on OOM: no keep-alive count */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (s->ticket_key.size > 0) { /* before the handshake reads the ClientHello */
            const union MHD_ConnectionInfo *ti =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
            if (ti && ti->tls_session)
                (void) gnutls_session_ticket_enable_server(ti->tls_session, &s->ticket_key);
        }
        if (hc) {
            hc->server = s;
            hc->fd = ci ? ci->connect_fd : MHD_INVALID_SOCKET;
            hc->next = s->conns;
            if (s->conns)
                s->conns->prev = hc;
            s->conns = hc;
        }
        *socket_context = hc;
        s->n_connections++;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        HttpConn *hc = *socket_context;
        if (hc) {
            if (hc->prev)
                hc->prev->next = hc->next;
            else
                s->conns = hc->next;
            if (hc->next)
                hc->next->prev = hc->prev;
            free(hc);
        }
        *socket_context = NULL;
        if (s->n_connections > 0)
            s->n_connections--;
    }
}

static char *format_client_address(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char buf[INET6_ADDRSTRLEN] = "";
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            (void) inet_ntop(
                AF_INET, &((const struct sockaddr_in *) (const void *) sa)->sin_addr, buf,
                sizeof buf
            );
        else if (sa->sa_family == AF_INET6) {
            const struct in6_addr *a =
                &((const struct sockaddr_in6 *) (const void *) sa)->sin6_addr;
            if (IN6_IS_ADDR_V4MAPPED(a))
                (void) inet_ntop(AF_INET, &a->s6_addr[12], buf, sizeof buf);
            else
                (void) inet_ntop(AF_INET6, a, buf, sizeof buf);
        }
    }
    return strdup(buf);
}

typedef struct HeaderStats {
    unsigned lines;
    size_t size;
} HeaderStats;

static enum MHD_Result
count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    HeaderStats *st = cls;
    (void) kind;
    st->lines++;
    st->size += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

static enum MHD_Result result_of(int r) {
    return r < 0 ? MHD_NO : MHD_YES;
}

/* ---- multipart uploads ----------------------------------------------------------------------- */

bool http_path_is_upload(const char *path, void *userdata) {
    (void) userdata;
    /* /api2/<fmt>/nodes/<node>/storage/<storage>/upload */
    static const char *const parts[] = {"api2", NULL, "nodes", NULL, "storage", NULL, "upload"};
    const char *p = path;
    for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
        p += strspn(p, "/");
        size_t n = strcspn(p, "/");
        if (n == 0 || (parts[i] && (n != strlen(parts[i]) || !strneq(p, parts[i], n))))
            return false;
        p += n;
    }
    return p[strspn(p, "/")] == '\0';
}

static bool request_is_upload(HttpRequest *req) {
    const char *ct = http_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    HttpServer *s = req->server;
    return req->method == HTTP_METHOD_POST && ct && media_type_is(ct, "multipart/form-data") &&
           (s->upload_filter ? s->upload_filter : http_path_is_upload)(req->path, s->userdata);
}

static enum MHD_Result request_start_upload(HttpRequest *req) {
    const char *ct = http_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    HttpServer *s = req->server;
    int r = http_multipart_form_new(
        ct, s->upload_dir ? s->upload_dir : HTTP_MULTIPART_DEFAULT_DIR, s->max_upload_size,
        &req->form
    );
    if (r == -ENOMEM)
        return MHD_NO;
    if (r < 0)
        return result_of(http_reply_status(req, 400, "invalid multipart boundary"));
    return MHD_YES;
}

static enum MHD_Result request_feed_upload(HttpRequest *req, const char *data, size_t n) {
    int r = http_multipart_form_feed(req->form, data, n);
    if (r >= 0)
        return MHD_YES;
    if (r == -ENOMEM)
        return MHD_NO;
    if (r == -EFBIG || r == -E2BIG)
        return result_of(http_reply_status(req, 501, "for data too large"));
    if (r == -EINVAL)
        return result_of(http_reply_status(req, 400, "unable to parse multipart form data"));
    char msg[256];
    snprintf(msg, sizeof msg, "unable to write upload file - %s", strerror(-r));
    return result_of(http_reply_status(req, 500, msg));
}

/* Text fields + tmpfilename (+ filename from the file part) as the request's body params. */
static int upload_params(HttpRequest *req, json_t **ret, const char **reterr) {
    HttpMultipartForm *f = req->form;
    if (http_multipart_form_finish(f) < 0) {
        *reterr = "unable to parse multipart form data";
        return -EINVAL;
    }
    _cleanup_json_ json_t *params = json_deep_copy(http_multipart_form_fields(f));
    if (!params)
        return -ENOMEM;
    const char *path = http_multipart_form_file_path(f);
    const char *name = http_multipart_form_file_name(f);
    (void) json_object_del(params, "tmpfilename");
    if ((path && json_util_set_string(params, "tmpfilename", path) < 0) ||
        (name && !json_object_get(params, "filename") &&
         json_object_set_new(params, "filename", json_string(name)) < 0)) {
        *reterr = "invalid file name";
        return -EINVAL;
    }
    *ret = TAKE_PTR(params);
    return 0;
}

const char *http_request_upload_path(const HttpRequest *req) {
    return req->form ? http_multipart_form_file_path(req->form) : NULL;
}

static enum MHD_Result request_start(HttpRequest *req, const char *method, const char *version) {
    HttpServer *s = req->server;
    char msg[256];

    req->version = strdup(version ? version : "");
    req->client_address = format_client_address(req->conn);
    if (!req->version || !req->client_address)
        return MHD_NO;

    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    HttpConn *hc = ci ? ci->socket_context : NULL;
    if (hc)
        hc->n_requests++;
    req->close_after =
        s->no_keepalive || !hc || hc->n_requests >= s->keepalive_requests ||
        s->n_connections + 1 >=
            (s->max_connections > NO_KEEPALIVE_SLACK ? s->max_connections - NO_KEEPALIVE_SLACK : 1);

    if (!strneq(req->version, "HTTP/1.", 7))
        return result_of(http_reply_status(req, 506, "HTTP protocol version not supported"));

    req->method = http_method_from_string(method);
    if (req->method < 0) {
        snprintf(msg, sizeof msg, "method '%.64s' not available", method ? method : "");
        return result_of(http_reply_status(req, 501, msg));
    }

    HeaderStats st = {};
    (void) MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_header, &st);
    if (st.lines > HTTP_MAX_HEADER_LINES)
        return result_of(http_reply_status(req, 431, "too many http header lines (> 64)"));
    if (st.size > HTTP_MAX_HEADER_SIZE)
        return result_of(http_reply_status(req, 431, "http header too large"));

    /* Split the raw URI; '@' before the first '/' is refused as upstream does. */
    const char *uri = req->raw_uri;
    size_t head = strcspn(uri, "/");
    if (memchr(uri, '@', head) || uri[0] != '/')
        return result_of(http_reply_status(req, 400, "invalid url"));
    char *q = strchr(req->raw_uri, '?');
    if (q) {
        *q = '\0';
        req->query = q + 1;
    }
    if (http_unescape(req->raw_uri, strlen(req->raw_uri), false, &req->path) < 0)
        return result_of(http_reply_status(req, 400, "invalid url"));

    const char *te = http_request_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te && strcasestr(te, "chunked"))
        return result_of(http_reply_status(req, 501, "chunked transfer encoding not supported"));

    const char *cl = http_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long clen = 0;
    if (cl) {
        char *end;
        errno = 0;
        clen = strtoull(cl, &end, 10);
        if (errno != 0 || end == cl || *end != '\0' || cl[0] == '-')
            return result_of(http_reply_status(req, 400, "invalid Content-Length"));
    }
    bool upload = clen > 0 && request_is_upload(req);
    if (clen > (upload ? s->max_upload_size : HTTP_MAX_BODY_SIZE))
        return result_of(http_reply_status(req, 501, "for data too large"));
    if (clen > 0 && (req->method == HTTP_METHOD_GET || req->method == HTTP_METHOD_DELETE))
        return result_of(http_reply_status(req, 501, "Unexpected content for method"));
    if (upload)
        return request_start_upload(req);
    if (clen > 0) {
        const char *ct = http_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (ct && !media_type_is(ct, "application/x-www-form-urlencoded") &&
            !media_type_is(ct, "application/json")) {
            snprintf(msg, sizeof msg, "unsupported content type '%.128s'", ct);
            return result_of(http_reply_status(req, 506, msg));
        }
    }
    return MHD_YES;
}

static int request_parse_params(HttpRequest *req, const char **reterr) {
    _cleanup_json_ json_t *params = NULL;
    int r;

    if (req->form) {
        r = upload_params(req, &params, reterr);
        if (r < 0)
            return r;
    } else if (req->body.len > 0) {
        const char *ct = http_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (ct && media_type_is(ct, "application/json")) {
            r = http_parse_json_body(req->body.data, req->body.len, &params);
            if (r < 0) {
                *reterr = "unable to parse JSON body - expected an object";
                return r;
            }
            req->body_is_json = true;
        } else {
            params = json_object();
            if (!params)
                return -ENOMEM;
            r = http_parse_form_urlencoded(req->body.data, req->body.len, params);
            if (r < 0) {
                *reterr = "unable to parse form data";
                return r;
            }
        }
    } else {
        params = json_object();
        if (!params)
            return -ENOMEM;
    }

    if (req->query && *req->query) {
        _cleanup_json_ json_t *qp = json_object();
        if (!qp)
            return -ENOMEM;
        r = http_parse_form_urlencoded(req->query, strlen(req->query), qp);
        if (r < 0) {
            *reterr = "unable to parse query string";
            return r;
        }
        const char *k;
        json_t *v;
        json_object_foreach(qp, k, v) if (json_object_set(params, k, v) < 0) return -ENOMEM;
    }
    (void) json_object_del(params, "_dc");
    req->params = TAKE_PTR(params);
    return 0;
}

static enum MHD_Result request_dispatch(HttpRequest *req) {
    const char *err = NULL;
    int r = request_parse_params(req, &err);
    if (r == -ENOMEM)
        return MHD_NO;
    if (r < 0)
        return result_of(http_reply_status(req, 400, err ? err : "invalid parameters"));

    req->dispatched = true;
    req->server->handler(req, req->server->userdata);
    if (!req->replied && !req->suspended)
        return result_of(http_reply_status(req, 500, "internal error: request not answered"));
    return MHD_YES;
}

static enum MHD_Result on_access(
    void *cls,
    struct MHD_Connection *c,
    const char *url,
    const char *method,
    const char *version,
    const char *upload_data,
    size_t *upload_data_size,
    void **con_cls
) {
    (void) cls, (void) url;
    HttpRequest *req = *con_cls;
    if (!req)
        return MHD_NO;
    req->conn = c;

    enum MHD_Result m = MHD_YES;
    req->in_callback = true;
    if (!req->started) {
        req->started = true;
        m = request_start(req, method, version);
    } else if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->replied)
            ; /* an error is queued already, drop the rest */
        else if (req->form)
            m = request_feed_upload(req, upload_data, n);
        else if (req->body.len + n > HTTP_MAX_BODY_SIZE)
            m = result_of(http_reply_status(req, 501, "for data too large"));
        else {
            strbuf_append_len(&req->body, upload_data, n);
            if (req->body.error < 0)
                m = MHD_NO;
        }
    } else if (req->pending) {
        struct MHD_Response *resp = TAKE_PTR(req->pending);
        m = MHD_queue_response(c, req->pending_status, resp);
        MHD_destroy_response(resp);
    } else if (!req->dispatched && !req->replied)
        m = request_dispatch(req);
    req->in_callback = false;
    return m;
}

/* gnutls_certificate_retrieve_function2: MHD keeps its connection as the session pointer,
 * and our per-connection context (on_connection) leads to the server's credentials. */
static int on_tls_certificate(
    gnutls_session_t session,
    const gnutls_datum_t *req_ca_dn,
    int n_req,
    const gnutls_pk_algorithm_t *pk_algos,
    int n_pk_algos,
    gnutls_pcert_st **ret_certs,
    unsigned *ret_n,
    gnutls_privkey_t *ret_key
) {
    (void) req_ca_dn, (void) n_req, (void) pk_algos, (void) n_pk_algos;
    struct MHD_Connection *c = gnutls_session_get_ptr(session);
    const union MHD_ConnectionInfo *ci =
        c ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    HttpConn *hc = ci ? ci->socket_context : NULL;
    if (!hc || !hc->server->tls_creds)
        return -1; /* no context (out of memory): the handshake fails */
    tls_credentials_get(hc->server->tls_creds, ret_certs, ret_n, ret_key);
    return 0;
}

/* ---- event loop glue --------------------------------------------------------------------- */

/* After most answers MHD asks to be run again at once (timeout 0): a connection of its
 * edge-triggered epoll set must be read until EAGAIN. Running it again here instead of
 * through the timer saves a timerfd_settime, an epoll_wait and a read of the timerfd per
 * request. Bounded, so that a connection MHD keeps busy cannot starve other sources. */
#define MHD_RUN_AGAIN_MAX 4

static void server_run(HttpServer *s) {
    for (unsigned i = 0; i < MHD_RUN_AGAIN_MAX; i++) {
        MHD_UNSIGNED_LONG_LONG ms;
        (void) MHD_run(s->mhd);
        if (MHD_get_timeout(s->mhd, &ms) != MHD_YES || ms > 0)
            break;
    }
    server_rearm_timer(s);
}

static int on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
    (void) es, (void) fd, (void) revents;
    server_run(userdata);
    return 0;
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
    (void) es, (void) usec;
    server_run(userdata);
    return 0;
}

int http_listen(const char *address, uint16_t port) {
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } sa = {};
    socklen_t salen;

    if (!address)
        address = "127.0.0.1";
    if (inet_pton(AF_INET, address, &sa.in.sin_addr) == 1) {
        sa.in.sin_family = AF_INET;
        sa.in.sin_port = htons(port);
        salen = sizeof sa.in;
    } else if (inet_pton(AF_INET6, address, &sa.in6.sin6_addr) == 1) {
        sa.in6.sin6_family = AF_INET6;
        sa.in6.sin6_port = htons(port);
        salen = sizeof sa.in6;
    } else
        return -EINVAL;

    _cleanup_close_ int fd =
        RET_NERRNO(socket(sa.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd < 0)
        return fd;
    int one = 1, zero = 0;
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa.sa.sa_family == AF_INET6)
        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    int r = RET_NERRNO(bind(fd, &sa.sa, salen));
    if (r < 0)
        return r;
    r = RET_NERRNO(listen(fd, SOMAXCONN));
    if (r < 0)
        return r;
    return TAKE_FD(fd);
}

int http_server_new(sd_event *e, const HttpServerConfig *cfg, HttpServer **ret) {
    assert(e);
    assert(cfg);
    assert(ret);

    _cleanup_close_ int fd = cfg->listen_fd;
    if (!cfg->handler || !cfg->tls_cert_pem != !cfg->tls_key_pem)
        return -EINVAL;
    bool tls = cfg->tls_cert_pem != NULL;
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return -EOPNOTSUPP;

    if (cfg->no_listen) {
        /* connections come through http_server_add_connection() */
    } else if (fd < 0) {
        fd = http_listen(cfg->address, cfg->port);
        if (fd < 0)
            return fd;
    } else {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
            return negative_errno();
    }

    _cleanup_(http_server_freep) HttpServer *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->event = sd_event_ref(e);
    s->handler = cfg->handler;
    s->userdata = cfg->userdata;
    s->keepalive_requests = cfg->keepalive_requests ?: HTTP_DEFAULT_KEEPALIVE;
    s->no_keepalive = cfg->no_keepalive;
    s->no_listen = cfg->no_listen;
    s->max_connections = cfg->max_connections ?: HTTP_DEFAULT_MAX_CONN;
    s->tls = tls;
    s->upload_filter = cfg->upload_filter;
    s->max_upload_size = cfg->max_upload_size ?: HTTP_DEFAULT_MAX_UPLOAD;
    if (cfg->upload_dir && !(s->upload_dir = strdup(cfg->upload_dir)))
        return -ENOMEM;

    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE |
                     (tls ? MHD_USE_TLS : 0) | (cfg->no_listen ? MHD_USE_NO_LISTEN_SOCKET : 0);
    struct MHD_OptionItem opts[16];
    size_t o = 0;
#define OPT(k, v, p)                      \
    opts[o++] = (struct MHD_OptionItem) { \
        (k), (intptr_t) (v), (void *) (p) \
    }
    if (!cfg->no_listen)
        OPT(MHD_OPTION_LISTEN_SOCKET, fd, NULL);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout_sec ?: HTTP_DEFAULT_IDLE_TIMEOUT, NULL);
    OPT(MHD_OPTION_CONNECTION_LIMIT, s->max_connections, NULL);
    OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, MHD_MEMORY_LIMIT, NULL);
    OPT(MHD_OPTION_URI_LOG_CALLBACK, on_uri_log, s);
    OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, s);
    OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, s);
    if (tls) {
        _cleanup_free_ char *err = NULL;
        int r = tls_credentials_new(cfg->tls_cert_pem, cfg->tls_key_pem, &s->tls_creds, &err);
        if (r < 0) {
            log_debug("TLS credentials: %s", err ?: strerror(-r));
            return r;
        }
        OPT(MHD_OPTION_HTTPS_CERT_CALLBACK, 0, on_tls_certificate);
        if (cfg->tls_ticket_key && cfg->tls_ticket_key_len > 0) {
            s->ticket_key.data = gnutls_malloc(cfg->tls_ticket_key_len);
            if (!s->ticket_key.data)
                return -ENOMEM;
            memcpy(s->ticket_key.data, cfg->tls_ticket_key, cfg->tls_ticket_key_len);
            s->ticket_key.size = (unsigned) cfg->tls_ticket_key_len;
        }
        if (cfg->tls_priorities)
            OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, cfg->tls_priorities);
    }
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    /* MHD takes the listening socket over only once it started. */
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END
    );
    if (!s->mhd)
        return -EIO;
    TAKE_FD(fd);

    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!di)
        return -EIO;
    int r = sd_event_add_io(e, &s->io_source, di->epoll_fd, EPOLLIN, on_io, s);
    if (r < 0)
        return r;
    /* accuracy 1 us: sd-event's default (250 ms) would pace a streamed body at one read per
     * quarter second, as MHD reads one buffer per run and asks to be run again at once */
    r = sd_event_add_time(e, &s->timer_source, CLOCK_MONOTONIC, 0, 1, on_timer, s);
    if (r < 0)
        return r;
    server_rearm_timer(s);

    *ret = TAKE_PTR(s);
    return 0;
}

HttpServer *http_server_free(HttpServer *s) {
    if (!s)
        return NULL;
    s->io_source = sd_event_source_disable_unref(s->io_source);
    s->timer_source = sd_event_source_disable_unref(s->timer_source);
    if (s->mhd) {
        /* MHD refuses to stop with suspended connections: abort and resume them first. */
        while (s->suspended) {
            HttpRequest *req = s->suspended;
            request_unlink_suspended(req);
            req->aborted = true;
            if (req->on_abort)
                req->on_abort(req, req->userdata);
            MHD_resume_connection(req->conn);
        }
        MHD_stop_daemon(s->mhd);
    }
    tls_credentials_free(s->tls_creds);
    if (s->ticket_key.data) {
        gnutls_memset(s->ticket_key.data, 0, s->ticket_key.size);
        gnutls_free(s->ticket_key.data);
    }
    sd_event_unref(s->event);
    free(s->upload_dir);
    free(s);
    return NULL;
}

int http_server_add_connection(HttpServer *s, int fd, const struct sockaddr *addr, socklen_t len) {
    assert(s);
    if (MHD_add_connection(s->mhd, fd, addr, len) != MHD_YES)
        return -errno ?: -EIO; /* MHD closed fd */
    server_rearm_timer(s);
    return 0;
}

/* Idle keep-alive connections (at least one request answered, none in progress) would keep
 * a stopping server busy until their idle timeout: shut them down, MHD then sees EOF and
 * closes them. Connections that have not sent their first request yet are left alone. */
static void close_idle_connections(HttpServer *s) {
    for (HttpConn *hc = s->conns; hc; hc = hc->next)
        if (hc->n_requests > 0 && !hc->in_request && hc->fd != MHD_INVALID_SOCKET)
            (void) shutdown(hc->fd, SHUT_RDWR);
}

int http_server_quiesce(HttpServer *s) {
    assert(s);
    s->no_keepalive = true; /* finish what is in flight, then let clients reconnect */
    close_idle_connections(s);
    if (s->no_listen)
        return -EBADF;
    MHD_socket fd = MHD_quiesce_daemon(s->mhd);
    if (fd == MHD_INVALID_SOCKET)
        return -EBADF;
    (void) close(fd);
    return 0;
}

unsigned http_server_n_connections(const HttpServer *s) {
    return s ? s->n_connections : 0;
}

int http_server_get_port(HttpServer *s) {
    assert(s);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    if (!di)
        return -EBADF;
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } sa;
    socklen_t len = sizeof sa;
    if (getsockname(di->listen_fd, &sa.sa, &len) < 0)
        return negative_errno();
    if (sa.sa.sa_family == AF_INET)
        return ntohs(sa.in.sin_port);
    if (sa.sa.sa_family == AF_INET6)
        return ntohs(sa.in6.sin6_port);
    return -EAFNOSUPPORT;
}
