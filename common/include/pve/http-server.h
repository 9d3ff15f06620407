/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http-server: the HTTP/1.x layer shared by pvedaemon (plain HTTP on 127.0.0.1:85) and
 * pveproxy (HTTPS). It owns the listening socket (or adopts one), libmicrohttpd in external
 * epoll mode on an sd_event loop, the upstream request limits (methods, header and body caps,
 * chunked and unexpected bodies, content types), parameter parsing (query string merged over
 * a form or JSON body, repeated keys as arrays, `_dc` dropped), the common response headers,
 * keep-alive accounting and error reason phrases.
 *
 * It knows nothing about /api2 paths, the JSON envelope, authentication or schemas: a single
 * request callback gets every request that passed the protocol checks and answers it with
 * http_reply(), now or later (http_request_suspend()). Everything runs on the thread that
 * runs the sd_event loop; nothing here is thread-safe. Never logs above debug.
 */
#pragma once

#include <sys/socket.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "pve/macro.h"

/* Upstream limits (PVE::APIServer::AnyEvent). */
#define HTTP_MAX_HEADER_LINES     64
#define HTTP_MAX_HEADER_SIZE      (8 * 1024)
#define HTTP_MAX_BODY_SIZE        (512 * 1024)
#define HTTP_DEFAULT_IDLE_TIMEOUT 5   /* seconds */
#define HTTP_DEFAULT_KEEPALIVE    100 /* requests per connection */
#define HTTP_DEFAULT_MAX_CONN     500

/* Caps of http_parse_form_urlencoded() (protect against hash flooding and huge keys). */
#define HTTP_FORM_MAX_PARAMS 4096
#define HTTP_FORM_MAX_KEY    1024

typedef struct HttpServer HttpServer;
typedef struct HttpRequest HttpRequest;

typedef enum HttpMethod {
    HTTP_METHOD_GET,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    _HTTP_METHOD_MAX,
    _HTTP_METHOD_INVALID = -EINVAL,
} HttpMethod;

const char *http_method_to_string(HttpMethod m);
HttpMethod http_method_from_string(const char *s);

/*
 * Called once per request that passed the protocol checks. The handler must, before it
 * returns, either answer (http_reply() and friends) or call http_request_suspend() and answer
 * later from the same thread. A handler that does neither gets a 500 sent for it.
 */
typedef void (*HttpHandler)(HttpRequest *req, void *userdata);

/* Called when a suspended request goes away unanswered (server freed). req is still valid
 * during the call and freed after it; the handler must drop its pointer. */
typedef void (*HttpAbortHandler)(HttpRequest *req, void *userdata);

typedef struct HttpServerConfig {
    /* Either an already bound and listening stream socket (ownership passes to the server,
     * also on failure) or listen_fd < 0 and an address/port to bind. address NULL means
     * 127.0.0.1; "::" listens dual-stack. port 0 picks an ephemeral port. */
    int listen_fd;
    const char *address;
    uint16_t port;
    /* PEM text of the certificate chain and key: both set enables TLS (GnuTLS backend). */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    const char *tls_priorities; /* GnuTLS priority string, NULL = library default */
    /* Session ticket key (gnutls_session_ticket_key_generate()): resumed sessions skip the
     * key exchange and signature of a full handshake. Workers sharing it accept each other's
     * tickets. NULL: no resumption. Copied. */
    const unsigned char *tls_ticket_key;
    size_t tls_ticket_key_len;
    bool no_listen;              /* no socket: connections via http_server_add_connection() */
    unsigned idle_timeout_sec;   /* 0: HTTP_DEFAULT_IDLE_TIMEOUT */
    unsigned keepalive_requests; /* 0: HTTP_DEFAULT_KEEPALIVE */
    bool no_keepalive;           /* close after every request (spiceproxy) */
    unsigned max_connections;    /* 0: HTTP_DEFAULT_MAX_CONN */
    HttpHandler handler;
    void *userdata;
    /* multipart/form-data uploads (http-multipart.h): accepted for paths the filter accepts
     * (NULL: http_path_is_upload()), the file part streamed to upload_dir (NULL:
     * HTTP_MULTIPART_DEFAULT_DIR), at most max_upload_size bytes (0: HTTP_DEFAULT_MAX_UPLOAD). */
    bool (*upload_filter)(const char *path, void *userdata);
    const char *upload_dir;
    uint64_t max_upload_size;
} HttpServerConfig;

#define HTTP_DEFAULT_MAX_UPLOAD (64ULL * 1024 * 1024 * 1024)

/* The only path upstream takes multipart bodies on: /api2/<fmt>/nodes/<node>/storage/<id>/upload */
bool http_path_is_upload(const char *path, void *userdata);

#define HTTP_SERVER_CONFIG_INIT \
    { .listen_fd = -EBADF }

/* Create a server and attach it to e (a reference is taken). -EINVAL for a bad config,
 * -EOPNOTSUPP when TLS is requested and libmicrohttpd lacks it, other negative errno. */
int http_server_new(sd_event *e, const HttpServerConfig *cfg, HttpServer **ret);
/* Stops listening, closes all connections (suspended requests get their abort callback).
 * Accepts NULL, returns NULL. */
HttpServer *http_server_free(HttpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_free);
/* The bound TCP port (useful after port 0), or a negative errno. */
int http_server_get_port(HttpServer *s);

/* A listening TCP socket as http_server_new() creates it (address NULL = 127.0.0.1, "::" =
 * dual-stack), for sharing between prefork workers. The fd or a negative errno. */
int http_listen(const char *address, uint16_t port);

/* Hand an accepted connection to a no_listen server (fd is owned by the server afterwards,
 * also on failure). 0 or a negative errno. */
int http_server_add_connection(HttpServer *s, int fd, const struct sockaddr *addr, socklen_t len);

/* Stop accepting connections (for a graceful stop or reload: the listening socket stays open
 * in processes sharing it). Requests in flight are answered, without keep-alive; idle
 * keep-alive connections are closed. 0, or -EBADF without a listening socket. */
int http_server_quiesce(HttpServer *s);
/* Open connections right now. */
unsigned http_server_n_connections(const HttpServer *s);

/* Request accessors. Strings are borrowed and live as long as the request. */
HttpMethod http_request_method(const HttpRequest *req);
const char *http_request_path(const HttpRequest *req);    /* percent-decoded, no query */
const char *http_request_query(const HttpRequest *req);   /* raw, "" when absent */
const char *http_request_version(const HttpRequest *req); /* "HTTP/1.1" */
/* Case-insensitive header lookup, NULL when absent. */
const char *http_request_header(const HttpRequest *req, const char *name);
/* Peer address ("127.0.0.1", "2001:db8::1"; v4-mapped IPv6 shown as IPv4). */
const char *http_request_client_address(const HttpRequest *req);
/* Merged parameters (borrowed JSON object): query over body, form values are strings,
 * repeated keys arrays, `_dc` removed. JSON bodies keep their value types. */
json_t *http_request_params(const HttpRequest *req);
bool http_request_body_is_json(const HttpRequest *req);
/* For a multipart upload: the temporary file the file part went to (NULL otherwise). It is
 * unlinked when the request is freed unless the handler moved it. Its path is also in the
 * params as `tmpfilename` (a client-sent `tmpfilename` is replaced), the text fields are
 * params, and `filename` defaults to the file part's filename attribute. */
const char *http_request_upload_path(const HttpRequest *req);
/* The raw request body (NUL-terminated, may be empty; empty for multipart uploads). */
const char *http_request_body(const HttpRequest *req, size_t *ret_len);

/* Handler-private data attached to the request. */
void http_request_set_userdata(HttpRequest *req, void *userdata, HttpAbortHandler on_abort);
void *http_request_get_userdata(const HttpRequest *req);

/* Keep the request open after the handler returns; answer later with http_reply(). */
int http_request_suspend(HttpRequest *req);

/*
 * Answer a request. reason NULL means the standard phrase; otherwise only its first line is
 * used. extra_headers is NULL or a NULL-terminated list of name, value, name, value, ...
 * The body is copied. Common headers (Date, Server, Expires, Cache-Control, Pragma,
 * Content-Length) are added; a status >= 400 closes the connection. Returns 0 or a negative
 * errno; after 0 (or -EIO) req must not be used any more. On -EINVAL (CR/LF in a header) and
 * -ENOMEM the request is still unanswered: answer it again, e.g. with
 * http_reply_status(req, 500, ...). -EALREADY when it was answered before.
 *
 * Note: libmicrohttpd 0.9 cannot send its own reason phrases; for plain HTTP and a status
 * >= 400 the response is written to the socket directly (the connection closes anyway).
 * Over TLS the same is done through the connection's GnuTLS session.
 */
int http_reply(
    HttpRequest *req,
    unsigned status,
    const char *reason,
    const char *content_type,
    const void *body,
    size_t len,
    const char *const *extra_headers
);
/*
 * Answer 200 with the content of a regular file, streamed from fd by the HTTP layer (never read
 * into memory; Content-Length is the file's size at this call). fd is consumed in every case.
 * Errors as http_reply(), plus -EBADFD for something that is not a regular file.
 */
int http_reply_fd(
    HttpRequest *req, const char *content_type, int fd, const char *const *extra_headers
);
/*
 * Answer 101 Switching Protocols and take the connection over (websocket consoles). The
 * response carries extra_headers (must include "Upgrade"; "Connection: Upgrade" is added).
 * Once the 101 is out, fn runs with a bidirectional stream fd (the client socket, or for TLS
 * a socket pair end the server encrypts behind; never shutdown() it), bytes the client sent
 * after its request, and a handle: call http_upgrade_close(u) exactly once when done (it also
 * closes fd). 0 or a negative errno as for http_reply().
 */
typedef struct HttpUpgrade HttpUpgrade;
typedef void (*HttpUpgradeFn
)(HttpUpgrade *u, int fd, const void *extra, size_t extra_len, void *userdata);
int http_reply_upgrade(
    HttpRequest *req, const char *const *extra_headers, HttpUpgradeFn fn, void *userdata
);
void http_upgrade_close(HttpUpgrade *u);

/* Status and reason only, empty body (the HTTP layer's own protocol errors look like this). */
int http_reply_status(HttpRequest *req, unsigned status, const char *reason);

/*
 * Parse application/x-www-form-urlencoded text (a query string or form body) into the object
 * `into`: percent-decoding, '+' as space, values as JSON strings, a repeated key turns the
 * member into an array of strings in order. Empty pairs ("a&&b") are skipped; "k" and "k=" both
 * give "". Pure; returns the number of pairs added or -EINVAL (malformed escape, %00, a key not
 * valid UTF-8 for jansson), -E2BIG (over HTTP_FORM_MAX_PARAMS pairs or a key over
 * HTTP_FORM_MAX_KEY bytes), -ENOMEM. On error `into` may hold a partial result.
 */
int http_parse_form_urlencoded(const char *s, size_t len, json_t *into);

/* Parse a JSON request body; it must be an object. -EINVAL when malformed or not an object. */
int http_parse_json_body(const char *s, size_t len, json_t **ret);

/* Percent-decode into a new string ('+' decoded to space only when plus_is_space). -EINVAL on
 * malformed escapes or %00. */
int http_unescape(const char *s, size_t len, bool plus_is_space, char **ret);
