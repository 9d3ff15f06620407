/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for http-server: the form-urlencoded and JSON body parsers, and an in-process
 * server on 127.0.0.1 with an ephemeral port, its sd_event loop on a second thread, driven by a
 * raw-socket client: limits, status codes, reason phrases, keep-alive, parameter merge and a
 * suspended request answered later.
 */
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <systemd/sd-event.h>

#include <cmocka.h>

#include "pve/http-server.h"
#include "pve/json-util.h"

/* ---- parser ------------------------------------------------------------------------------ */

static json_t *parse_ok(const char *s, int expect_pairs) {
    json_t *o = json_object();
    assert_non_null(o);
    assert_int_equal(http_parse_form_urlencoded(s, strlen(s), o), expect_pairs);
    return o;
}

static void assert_json(const json_t *j, const char *expect) {
    _cleanup_free_ char *s = NULL;
    assert_int_equal(json_util_dump(j, JSON_UTIL_DUMP_SORT_KEYS, &s), 0);
    assert_string_equal(s, expect);
}

static void assert_parse_fails(const char *s, int err) {
    _cleanup_json_ json_t *o = json_object();
    assert_int_equal(http_parse_form_urlencoded(s, strlen(s), o), err);
}

static void test_form_simple(void **state) {
    (void) state;
    _cleanup_json_ json_t *o = parse_ok("a=1&b=two", 2);
    assert_json(o, "{\"a\":\"1\",\"b\":\"two\"}");
}

static void test_form_repeated(void **state) {
    (void) state;
    _cleanup_json_ json_t *o = parse_ok("a=1&b=x&a=2&a=3", 4);
    assert_json(o, "{\"a\":[\"1\",\"2\",\"3\"],\"b\":\"x\"}");
}

static void test_form_empty_values(void **state) {
    (void) state;
    _cleanup_json_ json_t *o = parse_ok("a=&b&c=1", 3);
    assert_json(o, "{\"a\":\"\",\"b\":\"\",\"c\":\"1\"}");
}

static void test_form_empty_pairs(void **state) {
    (void) state;
    _cleanup_json_ json_t *o = parse_ok("&&a=1&&", 1);
    assert_json(o, "{\"a\":\"1\"}");
    _cleanup_json_ json_t *e = parse_ok("", 0);
    assert_json(e, "{}");
}

static void test_form_decoding(void **state) {
    (void) state;
    _cleanup_json_ json_t *o =
        parse_ok("msg=hello+world&net0=virtio%2Cbridge%3Dvmbr0&k%26=a%3Db&u=%C3%A4", 4);
    assert_json(
        o,
        "{\"k&\":\"a=b\",\"msg\":\"hello "
        "world\",\"net0\":\"virtio,bridge=vmbr0\",\"u\":\"\xc3\xa4\"}"
    );
    /* only the first '=' splits */
    _cleanup_json_ json_t *m = parse_ok("a=1=2", 1);
    assert_json(m, "{\"a\":\"1=2\"}");
    /* an escaped '+' stays a plus */
    _cleanup_json_ json_t *p = parse_ok("p=%2B1", 1);
    assert_json(p, "{\"p\":\"+1\"}");
}

static void test_form_malformed(void **state) {
    (void) state;
    assert_parse_fails("a=%", -EINVAL);
    assert_parse_fails("a=%4", -EINVAL);
    assert_parse_fails("a=%zz", -EINVAL);
    assert_parse_fails("a=%4g", -EINVAL);
    assert_parse_fails("%=1", -EINVAL);
    assert_parse_fails("a=%00", -EINVAL);
    assert_parse_fails("a=%FF", -EINVAL); /* not UTF-8 */
    _cleanup_json_ json_t *o = json_object();
    assert_int_equal(http_parse_form_urlencoded("a=1\0b", 5, o), -EINVAL); /* raw NUL */
}

static void test_form_caps(void **state) {
    (void) state;
    size_t n = HTTP_FORM_MAX_PARAMS + 1;
    _cleanup_free_ char *s = malloc(n * 2 + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + 2 * i, "a&", 2);
    s[n * 2] = '\0';
    assert_parse_fails(s, -E2BIG);

    _cleanup_free_ char *k = malloc(HTTP_FORM_MAX_KEY + 3);
    assert_non_null(k);
    memset(k, 'k', HTTP_FORM_MAX_KEY + 1);
    strcpy(k + HTTP_FORM_MAX_KEY + 1, "=");
    assert_parse_fails(k, -E2BIG);
    k[HTTP_FORM_MAX_KEY] = '=';
    k[HTTP_FORM_MAX_KEY + 1] = '\0';
    _cleanup_json_ json_t *o = parse_ok(k, 1);
}

static void test_unescape(void **state) {
    (void) state;
    _cleanup_free_ char *a = NULL, *b = NULL;
    assert_int_equal(http_unescape("/a+b%20c", 8, false, &a), 0);
    assert_string_equal(a, "/a+b c");
    assert_int_equal(http_unescape("/a+b%20c", 8, true, &b), 0);
    assert_string_equal(b, "/a b c");
    char *c = NULL;
    assert_int_equal(http_unescape("%2", 2, false, &c), -EINVAL);
    assert_null(c);
}

static void test_json_body(void **state) {
    (void) state;
    _cleanup_json_ json_t *j = NULL;
    const char *ok = "{\"vmid\":100,\"name\":\"x\"}";
    assert_int_equal(http_parse_json_body(ok, strlen(ok), &j), 0);
    assert_json(j, "{\"name\":\"x\",\"vmid\":100}");
    json_t *bad = NULL;
    assert_int_equal(http_parse_json_body("[1,2]", 5, &bad), -EINVAL);
    assert_int_equal(http_parse_json_body("{\"a\":", 5, &bad), -EINVAL);
    assert_int_equal(http_parse_json_body("\"s\"", 3, &bad), -EINVAL);
    assert_null(bad);
}

static void test_methods(void **state) {
    (void) state;
    assert_int_equal(http_method_from_string("GET"), HTTP_METHOD_GET);
    assert_int_equal(http_method_from_string("DELETE"), HTTP_METHOD_DELETE);
    assert_int_equal(http_method_from_string("PATCH"), -EINVAL);
    assert_int_equal(http_method_from_string("get"), -EINVAL);
    assert_string_equal(http_method_to_string(HTTP_METHOD_PUT), "PUT");
    assert_null(http_method_to_string(_HTTP_METHOD_MAX));
}

/* ---- in-process server ------------------------------------------------------------------- */

typedef struct TestServer {
    sd_event *event;
    HttpServer *server;
    int stop_fd;
    int port;
    pthread_t thread;
    int aborted;
} TestServer;

static TestServer ts;

static int on_late(sd_event_source *es, uint64_t usec, void *userdata) {
    (void) usec;
    HttpRequest *req = userdata;
    const char *path = http_request_path(req);
    if (streq(path, "/suspend-error"))
        assert_int_equal(http_reply_status(req, 500, "late failure\ndetails"), 0);
    else
        assert_int_equal(http_reply(req, 200, NULL, "text/plain", "late", 4, NULL), 0);
    sd_event_source_unref(es);
    return 0;
}

static void on_abort(HttpRequest *req, void *userdata) {
    (void) req, (void) userdata;
    ts.aborted++;
}

static void handler(HttpRequest *req, void *userdata) {
    (void) userdata;
    const char *path = http_request_path(req);

    if (streq(path, "/error")) {
        const char *body = "{\"data\":null,\"message\":\"Parameter verification failed.\\n\"}";
        assert_int_equal(
            http_reply(
                req, 400, "Parameter verification failed.\nmore detail", "application/json", body,
                strlen(body), NULL
            ),
            0
        );
        return;
    }
    if (streq(path, "/suspend") || streq(path, "/suspend-error")) {
        assert_int_equal(http_request_suspend(req), 0);
        assert_int_equal(
            sd_event_add_time_relative(ts.event, NULL, CLOCK_MONOTONIC, 50000, 0, on_late, req), 0
        );
        return;
    }
    if (streq(path, "/hang")) { /* suspended until the server goes away */
        http_request_set_userdata(req, NULL, on_abort);
        assert_int_equal(http_request_suspend(req), 0);
        return;
    }
    if (streq(path, "/noreply"))
        return;
    if (streq(path, "/quiesce")) { /* a graceful stop begins while this request runs */
        assert_int_equal(http_server_quiesce(ts.server), 0);
        assert_int_equal(http_reply_status(req, 200, NULL), 0);
        return;
    }
    if (streq(path, "/badheader")) { /* header injection is refused and leaves req open */
        const char *bad[] = {"X-Bad", "a\r\nSet-Cookie: x", NULL};
        assert_int_equal(http_reply(req, 200, NULL, NULL, NULL, 0, bad), -EINVAL);
        assert_int_equal(http_reply_status(req, 202, NULL), 0);
        assert_int_equal(http_reply_status(req, 200, NULL), -EALREADY);
        return;
    }

    /* echo: the merged params plus some request facts */
    _cleanup_json_ json_t *o = json_object();
    assert_int_equal(
        json_util_set_string(o, "method", http_method_to_string(http_request_method(req))), 0
    );
    assert_int_equal(json_util_set_string(o, "path", path), 0);
    assert_int_equal(json_util_set_string(o, "query", http_request_query(req)), 0);
    assert_int_equal(json_util_set_string(o, "client", http_request_client_address(req)), 0);
    assert_int_equal(json_util_set_bool(o, "json", http_request_body_is_json(req)), 0);
    const char *xh = http_request_header(req, "x-TEST");
    assert_int_equal(json_util_set_string(o, "xtest", xh), 0);
    assert_int_equal(json_object_set(o, "params", http_request_params(req)), 0);
    _cleanup_free_ char *s = NULL;
    assert_int_equal(json_util_dump(o, JSON_UTIL_DUMP_SORT_KEYS, &s), 0);
    const char *extra[] = {"X-Echo", "yes", NULL};
    assert_int_equal(
        http_reply(req, 200, NULL, "application/json;charset=UTF-8", s, strlen(s), extra), 0
    );
}

static int on_stop(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
    (void) es, (void) fd, (void) revents, (void) userdata;
    return sd_event_exit(ts.event, 0);
}

static void *loop_thread(void *arg) {
    (void) arg;
    (void) sd_event_loop(ts.event);
    return NULL;
}

static int server_setup(void **state) {
    (void) state;
    signal(SIGPIPE, SIG_IGN);
    memset(&ts, 0, sizeof ts);
    assert_int_equal(sd_event_new(&ts.event), 0);
    HttpServerConfig cfg = HTTP_SERVER_CONFIG_INIT;
    cfg.address = "127.0.0.1";
    cfg.port = 0;
    cfg.handler = handler;
    assert_int_equal(http_server_new(ts.event, &cfg, &ts.server), 0);
    ts.port = http_server_get_port(ts.server);
    assert_true(ts.port > 0);
    ts.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(ts.stop_fd >= 0);
    assert_int_equal(sd_event_add_io(ts.event, NULL, ts.stop_fd, EPOLLIN, on_stop, NULL), 0);
    assert_int_equal(pthread_create(&ts.thread, NULL, loop_thread, NULL), 0);
    return 0;
}

static int server_teardown(void **state) {
    (void) state;
    uint64_t one = 1;
    assert_int_equal(write(ts.stop_fd, &one, sizeof one), (ssize_t) sizeof one);
    assert_int_equal(pthread_join(ts.thread, NULL), 0);
    ts.server = http_server_free(ts.server);
    assert_int_equal(ts.aborted, 1); /* the /hang request */
    ts.event = sd_event_unref(ts.event);
    close(ts.stop_fd);
    return 0;
}

typedef struct Response {
    unsigned status;
    char reason[256];
    char version[16];
    char headers[8192];
    char *body;
    size_t body_len;
} Response;

static void response_done(Response *r) {
    free(r->body);
    r->body = NULL;
}

static int client_connect(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 5};
    (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t) ts.port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0);
    return fd;
}

static void client_send(int fd, const char *s, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        s += n;
        len -= (size_t) n;
    }
}

/* Reads one response; byte-wise up to the header end so that pipelined data stays queued. */
static void client_read(int fd, Response *r) {
    memset(r, 0, sizeof *r);
    size_t n = 0;
    while (n < sizeof r->headers - 1) {
        ssize_t k = recv(fd, r->headers + n, 1, 0);
        assert_true(k == 1);
        n++;
        if (n >= 4 && memcmp(r->headers + n - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    r->headers[n] = '\0';
    int off = 0;
    assert_int_equal(sscanf(r->headers, "%15s %u %n", r->version, &r->status, &off), 2);
    size_t rl = strcspn(r->headers + off, "\r\n");
    assert_true(rl < sizeof r->reason);
    memcpy(r->reason, r->headers + off, rl);

    const char *cl = strcasestr(r->headers, "\r\nContent-Length:");
    assert_non_null(cl);
    r->body_len = strtoul(cl + 17, NULL, 10);
    r->body = calloc(1, r->body_len + 1);
    assert_non_null(r->body);
    for (size_t got = 0; got < r->body_len;) {
        ssize_t k = recv(fd, r->body + got, r->body_len - got, 0);
        assert_true(k > 0);
        got += (size_t) k;
    }
}

static bool has_header(const Response *r, const char *line) {
    char buf[512];
    snprintf(buf, sizeof buf, "\r\n%s\r\n", line);
    return strcasestr(r->headers, buf) != NULL;
}

static void assert_eof(int fd) {
    char c;
    assert_int_equal(recv(fd, &c, 1, 0), 0);
}

static void request(const char *raw, Response *r, bool expect_close) {
    int fd = client_connect();
    client_send(fd, raw, strlen(raw));
    client_read(fd, r);
    if (expect_close)
        assert_eof(fd);
    close(fd);
}

static void test_get_ok(void **state) {
    (void) state;
    Response r;
    request(
        "GET /api2/json/a%20b?x=1&x=2&y=a+b&_dc=123 HTTP/1.1\r\nHost: x\r\nX-Test: hi\r\n\r\n", &r,
        false
    );
    assert_int_equal(r.status, 200);
    assert_string_equal(r.reason, "OK");
    assert_true(has_header(&r, "Server: pve-api-daemon/3.0"));
    assert_true(has_header(&r, "Cache-Control: max-age=0"));
    assert_true(has_header(&r, "Pragma: no-cache"));
    assert_true(has_header(&r, "X-Echo: yes"));
    assert_true(has_header(&r, "Content-Type: application/json;charset=UTF-8"));
    assert_non_null(strcasestr(r.headers, "\r\nExpires: "));
    assert_non_null(strcasestr(r.headers, "\r\nDate: "));
    assert_string_equal(
        r.body,
        "{\"client\":\"127.0.0.1\",\"json\":0,\"method\":\"GET\",\"params\":{\"x\":[\"1\",\"2\"],"
        "\"y\":\"a b\"},\"path\":\"/api2/json/a b\",\"query\":\"x=1&x=2&y=a+b&_dc=123\","
        "\"xtest\":\"hi\"}"
    );
    response_done(&r);
}

static void test_method_not_available(void **state) {
    (void) state;
    Response r;
    request("PATCH /x HTTP/1.1\r\nHost: x\r\n\r\n", &r, true);
    assert_int_equal(r.status, 501);
    assert_string_equal(r.reason, "method 'PATCH' not available");
    assert_true(has_header(&r, "Connection: close"));
    assert_int_equal(r.body_len, 0);
    response_done(&r);
}

static void test_chunked(void **state) {
    (void) state;
    Response r;
    request(
        "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n3\r\na=1\r\n0\r\n\r\n",
        &r, true
    );
    assert_int_equal(r.status, 501);
    response_done(&r);
}

static void test_body_on_get(void **state) {
    (void) state;
    Response r;
    request("GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na=1", &r, true);
    assert_int_equal(r.status, 501);
    assert_string_equal(r.reason, "Unexpected content for method");
    response_done(&r);
    /* Content-Length: 0 is fine (proxmoxer sends it) */
    request("DELETE /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r, false);
    assert_int_equal(r.status, 200);
    response_done(&r);
}

static void test_bad_content_type(void **state) {
    (void) state;
    Response r;
    request(
        "POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\na=1",
        &r, true
    );
    assert_int_equal(r.status, 506);
    response_done(&r);
}

static void test_body_too_large(void **state) {
    (void) state;
    Response r;
    int fd = client_connect();
    const char *h =
        "POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 614400\r\n\r\na=";
    client_send(fd, h, strlen(h));
    client_read(fd, &r);
    assert_int_equal(r.status, 501);
    assert_string_equal(r.reason, "for data too large");
    close(fd);
    response_done(&r);
}

static void test_keepalive(void **state) {
    (void) state;
    Response r;
    int fd = client_connect();
    const char *req = "GET /one?a=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    client_read(fd, &r);
    assert_int_equal(r.status, 200);
    assert_false(has_header(&r, "Connection: close"));
    response_done(&r);
    req = "GET /two HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    client_read(fd, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"path\":\"/two\""));
    response_done(&r);
    close(fd);
}

static void test_keepalive_limit(void **state) {
    (void) state;
    Response r;
    int fd = client_connect();
    const char *req = "GET /n HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 1; i <= HTTP_DEFAULT_KEEPALIVE; i++) {
        client_send(fd, req, strlen(req));
        client_read(fd, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(has_header(&r, "Connection: close"), i == HTTP_DEFAULT_KEEPALIVE);
        response_done(&r);
    }
    assert_eof(fd);
    close(fd);
}

static void test_close_after_error(void **state) {
    (void) state;
    Response r;
    int fd = client_connect();
    /* two pipelined requests: the first fails, the second is never answered */
    const char *req = "GET /error HTTP/1.1\r\nHost: x\r\n\r\nGET /n HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    client_read(fd, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.reason, "Parameter verification failed.");
    assert_string_equal(r.version, "HTTP/1.1");
    assert_true(has_header(&r, "Connection: close"));
    assert_true(has_header(&r, "Server: pve-api-daemon/3.0"));
    assert_true(has_header(&r, "Content-Type: application/json"));
    assert_string_equal(
        r.body, "{\"data\":null,\"message\":\"Parameter verification failed.\\n\"}"
    );
    assert_eof(fd);
    close(fd);
    response_done(&r);
}

static void test_merge(void **state) {
    (void) state;
    Response r;
    const char *body = "a=body&b=body&b=2&_dc=1";
    char raw[512];
    snprintf(
        raw, sizeof raw,
        "POST /m?a=query&c=q HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\n"
        "Content-Length: %zu\r\n\r\n%s",
        strlen(body), body
    );
    request(raw, &r, false);
    assert_int_equal(r.status, 200);
    assert_non_null(
        strstr(r.body, "\"params\":{\"a\":\"query\",\"b\":[\"body\",\"2\"],\"c\":\"q\"}")
    );
    assert_non_null(strstr(r.body, "\"json\":0"));
    response_done(&r);

    body = "{\"vmid\":100,\"a\":[1]}";
    snprintf(
        raw, sizeof raw,
        "PUT /j?x=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: %zu\r\n\r\n%s",
        strlen(body), body
    );
    request(raw, &r, false);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"params\":{\"a\":[1],\"vmid\":100,\"x\":\"1\"}"));
    assert_non_null(strstr(r.body, "\"json\":1"));
    response_done(&r);

    /* a JSON body must be an object; malformed escapes in the query are refused */
    snprintf(
        raw, sizeof raw,
        "POST /j HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
        "3\r\n\r\n[1]"
    );
    request(raw, &r, true);
    assert_int_equal(r.status, 400);
    response_done(&r);
    request("GET /q?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n", &r, true);
    assert_int_equal(r.status, 400);
    response_done(&r);
}

static void test_suspend(void **state) {
    (void) state;
    Response r;
    int fd = client_connect();
    const char *req = "GET /suspend HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    client_read(fd, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "late");
    response_done(&r);
    /* the connection stays usable after a late answer */
    req = "GET /after HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    client_read(fd, &r);
    assert_int_equal(r.status, 200);
    response_done(&r);
    close(fd);

    request("GET /suspend-error HTTP/1.1\r\nHost: x\r\n\r\n", &r, true);
    assert_int_equal(r.status, 500);
    assert_string_equal(r.reason, "late failure");
    response_done(&r);
}

static void test_misc_errors(void **state) {
    (void) state;
    Response r;
    request("GET /noreply HTTP/1.1\r\nHost: x\r\n\r\n", &r, true);
    assert_int_equal(r.status, 500);
    response_done(&r);

    request("GET /badheader HTTP/1.1\r\nHost: x\r\n\r\n", &r, false);
    assert_int_equal(r.status, 202);
    assert_null(strcasestr(r.headers, "Set-Cookie"));
    response_done(&r);

    request("GET /a%zzb HTTP/1.1\r\nHost: x\r\n\r\n", &r, true);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.reason, "invalid url");
    response_done(&r);

    char raw[4096] = "GET /h HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 70; i++)
        snprintf(raw + strlen(raw), sizeof raw - strlen(raw), "X-H%d: v\r\n", i);
    strcat(raw, "\r\n");
    request(raw, &r, true);
    assert_int_equal(r.status, 431);
    response_done(&r);

    /* HTTP/1.0 is echoed in our own error status lines */
    request("PATCH /x HTTP/1.0\r\n\r\n", &r, true);
    assert_int_equal(r.status, 501);
    assert_string_equal(r.version, "HTTP/1.0");
    response_done(&r);
}

static void test_hang(void **state) {
    (void) state;
    /* left suspended; the teardown frees the server and must see the abort callback */
    int fd = client_connect();
    const char *req = "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    usleep(100000);
    close(fd);
}

/* Last: the server stops accepting. Idle keep-alive connections are closed at once, the
 * request in flight gets its answer without keep-alive, a connection that has not sent its
 * first request yet is still served. */
static void test_quiesce(void **state) {
    (void) state;
    Response r;
    int fresh = client_connect();
    int idle = client_connect();
    const char *req = "GET /one HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(idle, req, strlen(req));
    client_read(idle, &r);
    assert_int_equal(r.status, 200);
    assert_false(has_header(&r, "Connection: close"));
    response_done(&r);
    usleep(100000); /* the fresh connection is accepted by now */

    int active = client_connect();
    req = "GET /quiesce HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(active, req, strlen(req));
    client_read(active, &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Connection: close"));
    response_done(&r);
    assert_eof(active);
    assert_eof(idle);

    req = "GET /late HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fresh, req, strlen(req));
    client_read(fresh, &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Connection: close"));
    response_done(&r);
    assert_eof(fresh);
    close(fresh);
    close(idle);
    close(active);
}

int main(void) {
    /* One group (one TAP plan); the group setup starts the server, parser tests ignore it. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_simple),
        cmocka_unit_test(test_form_repeated),
        cmocka_unit_test(test_form_empty_values),
        cmocka_unit_test(test_form_empty_pairs),
        cmocka_unit_test(test_form_decoding),
        cmocka_unit_test(test_form_malformed),
        cmocka_unit_test(test_form_caps),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_json_body),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_get_ok),
        cmocka_unit_test(test_method_not_available),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_body_on_get),
        cmocka_unit_test(test_bad_content_type),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_keepalive_limit),
        cmocka_unit_test(test_close_after_error),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_suspend),
        cmocka_unit_test(test_misc_errors),
        cmocka_unit_test(test_hang),
        cmocka_unit_test(test_quiesce),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
