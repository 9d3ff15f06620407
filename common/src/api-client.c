/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-client: blocking HTTP/1.1 client for another node's API (see api-client.h).
 */
#include "pve/api-client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pve/json-util.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"

#define RESPONSE_MAX (16u * 1024u * 1024u)

struct ApiClient {
    bool tls;          /* https:// */
    char *fingerprint; /* pinned SHA-256 fingerprint of the server certificate */
    char *host;        /* without brackets */
    char *port;
    char *prefix;
    unsigned timeout_s;
    char *ticket;
    char *csrf;
};

ApiClient *api_client_free(ApiClient *c) {
    if (!c)
        return NULL;
    free(c->fingerprint);
    free(c->host);
    free(c->port);
    free(c->prefix);
    if (c->ticket)
        explicit_bzero(c->ticket, strlen(c->ticket));
    free(c->ticket);
    free(c->csrf);
    free(c);
    return NULL;
}

int api_client_new(const char *base, unsigned timeout_s, ApiClient **ret) {
    const char *p = startswith(base, "http://");
    bool tls = false;
    if (!p && (p = startswith(base, "https://")))
        tls = true;
    if (!p || !*p)
        return -EINVAL;
    _cleanup_(api_client_freep) ApiClient *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->tls = tls;
    c->timeout_s = timeout_s ? timeout_s : 30;
    const char *host_end;
    if (*p == '[') {
        host_end = strchr(p, ']');
        if (!host_end)
            return -EINVAL;
        c->host = strndup(p + 1, (size_t) (host_end - p - 1));
        host_end++;
    } else {
        host_end = p + strcspn(p, ":/");
        c->host = strndup(p, (size_t) (host_end - p));
    }
    if (!c->host)
        return -ENOMEM;
    if (!*c->host)
        return -EINVAL;
    const char *rest = host_end;
    if (*rest == ':') {
        size_t n = strcspn(rest + 1, "/");
        c->port = strndup(rest + 1, n);
        if (!c->port)
            return -ENOMEM;
        unsigned port;
        if (safe_atou32(c->port, &port) < 0 || port == 0 || port > 65535)
            return -EINVAL;
        rest += 1 + n;
    } else if (!(c->port = strdup(tls ? "8006" : "80")))
        return -ENOMEM;
    if (*rest && *rest != '/')
        return -EINVAL;
    size_t plen = strlen(rest);
    while (plen > 0 && rest[plen - 1] == '/')
        plen--;
    c->prefix = plen ? strndup(rest, plen) : strdup("/api2/json");
    if (!c->prefix)
        return -ENOMEM;
    *ret = TAKE_PTR(c);
    return 0;
}

char *api_client_urlencode(const char *s) {
    StrBuf b = STRBUF_INIT;
    strbuf_append(&b, "");
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            strbuf_append_char(&b, (char) *p);
        else
            strbuf_printf(&b, "%%%02X", *p);
    }
    char *out = NULL;
    return strbuf_finish(&b, &out, NULL) < 0 ? NULL : out;
}

static int set_err(char **reterr_msg, int r, const char *fmt, ...) _printf_(3, 4);
static int set_err(char **reterr_msg, int r, const char *fmt, ...) {
    if (reterr_msg) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(reterr_msg, fmt, ap) < 0)
            *reterr_msg = NULL;
        va_end(ap);
    }
    return r;
}

/* "k=v&k=v" from an object of scalars */
static int encode_params(const json_t *params, char **ret) {
    StrBuf b = STRBUF_INIT;
    strbuf_append(&b, "");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) params, key, v) {
        _cleanup_free_ char *text = NULL;
        if (json_is_string(v))
            text = strdup(json_string_value(v));
        else if (json_is_integer(v))
            (void) asprintf(&text, "%lld", (long long) json_integer_value(v));
        else if (json_is_boolean(v))
            text = strdup(json_is_true(v) ? "1" : "0");
        else
            continue;
        _cleanup_free_ char *k = api_client_urlencode(key),
                            *e = text ? api_client_urlencode(text) : NULL;
        if (!k || !e) {
            strbuf_done(&b);
            return -ENOMEM;
        }
        strbuf_printf(&b, "%s%s=%s", b.len ? "&" : "", k, e);
    }
    return strbuf_finish(&b, ret, NULL);
}

static int connect_to(const ApiClient *c, char **reterr_msg) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int k = getaddrinfo(c->host, c->port, &hints, &res);
    if (k != 0)
        return set_err(
            reterr_msg, -EHOSTUNREACH, "cannot resolve '%s': %s", c->host, gai_strerror(k)
        );
    int fd = -1, err = ECONNREFUSED;
    struct timeval tv = {.tv_sec = c->timeout_s};
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            err = errno;
            fd = safe_close(fd);
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return set_err(
            reterr_msg, -err, "cannot connect to %s port %s: %s", c->host, c->port, strerror(err)
        );
    return fd;
}

static int send_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t k = send(fd, data, len, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        data += k;
        len -= (size_t) k;
    }
    return 0;
}

static int recv_all(int fd, StrBuf *b) {
    char buf[16384];
    for (;;) {
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        if (k == 0)
            return b->error;
        if (b->len + (size_t) k > RESPONSE_MAX)
            return -EFBIG;
        strbuf_append_len(b, buf, (size_t) k);
    }
}

int api_client_set_fingerprint(ApiClient *c, const char *fingerprint) {
    char *f = fingerprint ? strdup(fingerprint) : NULL;
    if (fingerprint && !f)
        return -ENOMEM;
    free(c->fingerprint);
    c->fingerprint = f;
    return 0;
}

/* "AB:CD:..." SHA-256 of the peer's certificate */
static int peer_fingerprint(SSL *ssl, char ret[96 + 1]) {
    X509 *cert = SSL_get1_peer_certificate(ssl);
    uint8_t md[32];
    unsigned n = 0;
    int ok = cert && X509_digest(cert, EVP_sha256(), md, &n) == 1 && n == sizeof(md);
    X509_free(cert);
    if (!ok)
        return -EIO;
    for (unsigned i = 0; i < n; i++)
        snprintf(ret + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
    return 0;
}

/* Send req over TLS and read the whole answer; the request (with its password or ticket) only
 * leaves once the server's certificate matched the pinned fingerprint. */
static int tls_exchange(
    const ApiClient *c, int fd, const char *req, size_t len, StrBuf *resp, char **reterr_msg
) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    int r = 0;
    char fp[96 + 1] = "";
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, c->host) != 1) {
        r = set_err(reterr_msg, -ENOMEM, "cannot set up TLS");
        goto out;
    }
    SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL); /* identity = the pinned fingerprint */
    if (SSL_connect(ssl) != 1) {
        r = set_err(reterr_msg, -ECONNRESET, "TLS handshake with %s failed", c->host);
        goto out;
    }
    if (peer_fingerprint(ssl, fp) < 0) {
        r = set_err(reterr_msg, -EIO, "%s sent no usable certificate", c->host);
        goto out;
    }
    if (!c->fingerprint) {
        r = set_err(
            reterr_msg, -EPERM,
            "no fingerprint given for %s; its certificate's fingerprint is %s - check "
            "it on that node (pvecm status / the node's certificate) and pass it with "
            "--fingerprint",
            c->host, fp
        );
        goto out;
    }
    if (strcasecmp(fp, c->fingerprint) != 0) {
        r = set_err(
            reterr_msg, -EPERM, "fingerprint mismatch for %s: expected %s, the server presented %s",
            c->host, c->fingerprint, fp
        );
        goto out;
    }
    for (size_t off = 0; off < len;) {
        int k = SSL_write(ssl, req + off, (int) MIN(len - off, (size_t) INT32_MAX));
        if (k <= 0) {
            r = set_err(reterr_msg, -EIO, "cannot send request to %s", c->host);
            goto out;
        }
        off += (size_t) k;
    }
    char buf[16384];
    for (;;) {
        int k = SSL_read(ssl, buf, sizeof buf);
        if (k <= 0) {
            int e = SSL_get_error(ssl, k);
            if (e != SSL_ERROR_ZERO_RETURN && e != SSL_ERROR_SYSCALL && resp->len == 0)
                r = set_err(reterr_msg, -EIO, "cannot read response from %s", c->host);
            break; /* the server closes after its answer (Connection: close) */
        }
        if (resp->len + (size_t) k > RESPONSE_MAX) {
            r = set_err(reterr_msg, -EFBIG, "response from %s too large", c->host);
            break;
        }
        strbuf_append_len(resp, buf, (size_t) k);
    }
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return r;
}

/* decode a chunked body in place; -EBADMSG when malformed */
static int dechunk(char *body, size_t len, size_t *ret_len) {
    size_t in = 0, out = 0;
    for (;;) {
        char *end = NULL;
        if (in >= len)
            return -EBADMSG;
        unsigned long n = strtoul(body + in, &end, 16);
        char *crlf = memmem(body + in, len - in, "\r\n", 2);
        if (!crlf || end == body + in)
            return -EBADMSG;
        in = (size_t) (crlf - body) + 2;
        if (n == 0)
            break;
        if (n > len - in)
            return -EBADMSG;
        memmove(body + out, body + in, n);
        out += n;
        in += n + 2;
    }
    body[out] = 0;
    *ret_len = out;
    return 0;
}

/* header value (case-insensitive name) inside the header block, NULL if absent */
static const char *header_value(const char *headers, const char *name, size_t *ret_len) {
    size_t n = strlen(name);
    for (const char *l = strstr(headers, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        const char *h = l + 2;
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            const char *v = skip_blanks(h + n + 1);
            *ret_len = strcspn(v, "\r\n");
            return v;
        }
    }
    return NULL;
}

int api_client_parse_response(const char *data, size_t len, int *ret_status, json_t **ret_body) {
    _cleanup_free_ char *buf = malloc(len + 1);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, data, len);
    buf[len] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    int status;
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -EBADMSG;
    *sep = 0;
    char *body = sep + 4;
    size_t blen = len - (size_t) (body - buf), vlen;
    const char *te = header_value(buf, "Transfer-Encoding", &vlen);
    bool chunked = te && vlen >= 7 && strncasecmp(te, "chunked", 7) == 0;
    if (chunked && dechunk(body, blen, &blen) < 0)
        return -EBADMSG;
    const char *cl = header_value(buf, "Content-Length", &vlen);
    if (cl && !chunked) {
        unsigned long long n = strtoull(cl, NULL, 10);
        if (n < blen)
            blen = (size_t) n;
    }
    *ret_status = status;
    *ret_body = json_loadb(body, blen, JSON_ALLOW_NUL, NULL);
    return 0;
}

int api_client_call(
    ApiClient *c,
    const char *method,
    const char *path,
    const json_t *params,
    int *ret_status,
    json_t **ret_body,
    char **reterr_msg
) {
    _cleanup_free_ char *form = NULL;
    if (encode_params(params, &form) < 0)
        return -ENOMEM;
    bool query = streq(method, "GET") || streq(method, "DELETE");
    StrBuf req = STRBUF_INIT;
    strbuf_printf(
        &req, "%s %s%s%s%s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n", method, c->prefix,
        path, query && *form ? "?" : "", query ? form : "", c->host, c->port
    );
    if (c->ticket) {
        _cleanup_free_ char *t = api_client_urlencode(c->ticket);
        strbuf_printf(&req, "Cookie: PVEAuthCookie=%s\r\n", t ?: "");
    }
    if (c->csrf && !streq(method, "GET"))
        strbuf_printf(&req, "CSRFPreventionToken: %s\r\n", c->csrf);
    if (!query)
        strbuf_printf(
            &req, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n",
            strlen(form)
        );
    strbuf_append(&req, "\r\n");
    if (!query)
        strbuf_append(&req, form);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    if (strbuf_finish(&req, &text, &len) < 0)
        return -ENOMEM;

    _cleanup_close_ int fd = connect_to(c, reterr_msg);
    if (fd < 0)
        return fd;
    _cleanup_strbuf_ StrBuf resp = STRBUF_INIT;
    int r;
    if (c->tls) {
        r = tls_exchange(c, fd, text, len, &resp, reterr_msg);
        explicit_bzero(text, len);
        if (r < 0)
            return r;
    } else {
        r = send_all(fd, text, len);
        explicit_bzero(text, len);
        if (r < 0)
            return set_err(reterr_msg, r, "cannot send request to %s: %s", c->host, strerror(-r));
        r = recv_all(fd, &resp);
        if (r < 0)
            return set_err(
                reterr_msg, r, "cannot read response from %s: %s", c->host, strerror(-r)
            );
    }
    r = api_client_parse_response(resp.data ?: "", resp.len, ret_status, ret_body);
    if (r == -EBADMSG)
        return set_err(reterr_msg, r, "malformed HTTP response from %s", c->host);
    return r;
}

int api_client_login(ApiClient *c, const char *user, const char *password, char **reterr_msg) {
    _cleanup_json_ json_t *params = json_pack("{s:s,s:s}", "username", user, "password", password);
    _cleanup_json_ json_t *body = NULL;
    int status = 0;
    if (!params)
        return -ENOMEM;
    int r = api_client_call(c, "POST", "/access/ticket", params, &status, &body, reterr_msg);
    json_t *pw = json_object_get(params, "password");
    if (pw)
        explicit_bzero((char *) json_string_value(pw), strlen(json_string_value(pw)));
    if (r < 0)
        return r;
    if (status == 401)
        return set_err(reterr_msg, -EACCES, "authentication failure");
    json_t *data = json_object_get(body, "data");
    const char *ticket = json_string_value(json_object_get(data, "ticket"));
    const char *csrf = json_string_value(json_object_get(data, "CSRFPreventionToken"));
    if (status != 200 || !ticket)
        return set_err(reterr_msg, -EPROTO, "login failed with HTTP status %d", status);
    free(c->ticket);
    free(c->csrf);
    c->ticket = strdup(ticket);
    c->csrf = csrf ? strdup(csrf) : NULL;
    return c->ticket ? 0 : -ENOMEM;
}
