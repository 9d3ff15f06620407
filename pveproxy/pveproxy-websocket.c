/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pveproxy-websocket: handshake checks, the 101 answer and the frame relay between an upgraded
 * client connection and the console's TCP port. Client frames must be masked (else close 1002),
 * at most WS_MAX_FRAME payload (else close 1009); pings get pongs; a close frame is answered
 * and ends the relay, as does EOF on either side. Each direction buffers at most RELAY_HIGH
 * bytes before the other side stops being read.
 */
#include "pveproxy-websocket.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pve/log.h"
#include "pve/macro.h"
#include "pve/string-util.h"
#include "pve/websocket.h"

#define RELAY_HIGH  (256 * 1024)
#define RELAY_CHUNK 65536

typedef struct Buf {
    uint8_t *data;
    size_t len, cap;
} Buf;

static int buf_append(Buf *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = MAX(b->cap * 2, b->len + n + 4096);
        uint8_t *d = realloc(b->data, cap);
        if (!d)
            return -ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static void buf_consume(Buf *b, size_t n) {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

typedef struct Relay {
    HttpUpgrade *upgrade;
    int ws_fd, tcp_fd;
    sd_event_source *ws_src, *tcp_src;
    Buf from_ws;  /* raw frames from the client */
    Buf to_tcp;   /* unmasked payload */
    Buf to_ws;    /* framed data for the client */
    bool closing; /* flush to_ws, then end */
    sd_event *event;
} Relay;

static void relay_free(Relay *r) {
    sd_event_source_disable_unref(r->ws_src);
    sd_event_source_disable_unref(r->tcp_src);
    if (r->tcp_fd >= 0)
        close(r->tcp_fd);
    http_upgrade_close(r->upgrade); /* closes ws_fd */
    free(r->from_ws.data);
    free(r->to_tcp.data);
    free(r->to_ws.data);
    free(r);
}

static int queue_frame(Relay *r, uint8_t opcode, const void *payload, size_t len) {
    uint8_t hdr[WS_MAX_HEADER];
    size_t n = ws_frame_header(hdr, true, opcode, len);
    int k = buf_append(&r->to_ws, hdr, n);
    return k < 0 ? k : buf_append(&r->to_ws, payload, len);
}

static void queue_close(Relay *r, uint16_t code) {
    uint8_t p[2] = {(uint8_t) (code >> 8), (uint8_t) code};
    (void) queue_frame(r, WS_OP_CLOSE, p, sizeof(p));
    r->closing = true;
}

/* Handle complete frames in from_ws. */
static void parse_frames(Relay *r) {
    size_t pos = 0;
    while (!r->closing) {
        WsFrame f;
        int k = ws_frame_parse(r->from_ws.data + pos, r->from_ws.len - pos, WS_MAX_FRAME, &f);
        if (k == -EAGAIN)
            break;
        if (k < 0 || !f.masked) {
            queue_close(r, k == -E2BIG ? 1009 : 1002);
            break;
        }
        if (r->from_ws.len - pos < f.header_len + f.payload_len)
            break;
        uint8_t *payload = r->from_ws.data + pos + f.header_len;
        ws_mask(payload, f.payload_len, f.mask, 0);
        switch (f.opcode) {
        case WS_OP_CONTINUATION:
        case WS_OP_TEXT:
        case WS_OP_BINARY:
            if (buf_append(&r->to_tcp, payload, f.payload_len) < 0)
                queue_close(r, 1011);
            break;
        case WS_OP_PING:
            (void) queue_frame(r, WS_OP_PONG, payload, f.payload_len);
            break;
        case WS_OP_CLOSE:
            queue_close(r, 1000);
            break;
        default: /* pong */
            break;
        }
        pos += f.header_len + f.payload_len;
    }
    buf_consume(&r->from_ws, pos);
}

/* Write what we can of b to fd: 0, or <0 on a fatal error. */
static int flush(Buf *b, int fd) {
    while (b->len > 0) {
        ssize_t n = send(fd, b->data, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        buf_consume(b, (size_t) n);
    }
    return 0;
}

static void update_events(Relay *r) {
    uint32_t ws = 0, tcp = 0;
    if (!r->closing && r->to_tcp.len < RELAY_HIGH)
        ws |= EPOLLIN;
    if (!r->closing && r->to_ws.len < RELAY_HIGH)
        tcp |= EPOLLIN;
    if (r->to_ws.len)
        ws |= EPOLLOUT;
    if (!r->closing && r->to_tcp.len)
        tcp |= EPOLLOUT;
    (void) sd_event_source_set_io_events(r->ws_src, ws);
    (void) sd_event_source_set_io_events(r->tcp_src, tcp);
}

/* Returns true when the relay is over. */
static bool step(Relay *r, int fd, uint32_t revents) {
    uint8_t buf[RELAY_CHUNK];
    if (fd == r->ws_fd && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !r->closing) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return true;
        if (n > 0) {
            if (buf_append(&r->from_ws, buf, (size_t) n) < 0)
                return true;
            parse_frames(r);
        }
    }
    if (fd == r->tcp_fd && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !r->closing) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            queue_close(r, 1000);
        else if (n > 0 && queue_frame(r, WS_OP_BINARY, buf, (size_t) n) < 0)
            return true;
    }
    if (!r->closing && flush(&r->to_tcp, r->tcp_fd) < 0)
        queue_close(r, 1011);
    if (flush(&r->to_ws, r->ws_fd) < 0)
        return true;
    if (r->closing && r->to_ws.len == 0)
        return true;
    update_events(r);
    return false;
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *ud) {
    Relay *r = ud;
    (void) src;
    if (step(r, fd, revents))
        relay_free(r);
    return 0;
}

static void on_upgraded(HttpUpgrade *u, int fd, const void *extra, size_t extra_len, void *ud) {
    Relay *r = ud;
    r->upgrade = u;
    r->ws_fd = fd;
    (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int k = sd_event_add_io(r->event, &r->ws_src, fd, EPOLLIN, on_io, r);
    if (k >= 0)
        k = sd_event_add_io(r->event, &r->tcp_src, r->tcp_fd, EPOLLIN, on_io, r);
    if (k >= 0 && extra_len > 0) {
        k = buf_append(&r->from_ws, extra, extra_len);
        if (k >= 0)
            parse_frames(r);
    }
    if (k < 0) {
        log_debug_errno(k, "websocket: unable to start relay: %m");
        relay_free(r);
        return;
    }
    update_events(r);
}

static int connect_local(unsigned port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in sa = {
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t) port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
        int k = -errno;
        close(fd);
        return k;
    }
    (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static unsigned result_port(const ApiCall *call) {
    json_t *p = json_object_get(call->result, "port");
    long long v = json_is_integer(p)  ? json_integer_value(p)
                  : json_is_string(p) ? strtoll(json_string_value(p), NULL, 10)
                                      : 0;
    return v > 0 && v < 65536 ? (unsigned) v : 0;
}

/* "binary" when offered, else the first offered protocol (NULL: none offered). */
static void pick_protocol(const char *offer, char *ret, size_t size) {
    ret[0] = 0;
    if (!offer)
        return;
    _cleanup_free_ char *copy = strdup(offer);
    char *save = NULL;
    for (char *t = copy ? strtok_r(copy, ", \t", &save) : NULL; t;
         t = strtok_r(NULL, ", \t", &save)) {
        if (!ret[0] || strcasecmp(t, "binary") == 0)
            snprintf(ret, size, "%s", t);
        if (strcasecmp(t, "binary") == 0)
            break;
    }
}

int pp_websocket_upgrade(sd_event *e, ApiServer *s, HttpRequest *req, const ApiCall *call) {
    const char *upgrade = http_request_header(req, "Upgrade");
    const char *version = http_request_header(req, "Sec-WebSocket-Version");
    char accept[WS_ACCEPT_LEN + 1], proto[64];

    if (!upgrade || strcasecmp(upgrade, "websocket") != 0)
        return 0;
    if (!version || !streq(version, "13") ||
        ws_accept_key(http_request_header(req, "Sec-WebSocket-Key"), accept) < 0) {
        api_server_reply(s, req, 400, "websocket: bad handshake", NULL, NULL, 0, NULL, call->user);
        return 1;
    }
    unsigned port = result_port(call);
    int fd = port ? connect_local(port) : -EINVAL;
    if (fd < 0) {
        api_server_reply(
            s, req, 500, "unable to connect to console port", NULL, NULL, 0, NULL, call->user
        );
        return 1;
    }
    Relay *r = calloc(1, sizeof(*r));
    if (!r) {
        close(fd);
        return -ENOMEM;
    }
    r->tcp_fd = fd;
    r->ws_fd = -EBADF;
    r->event = e;
    pick_protocol(http_request_header(req, "Sec-WebSocket-Protocol"), proto, sizeof(proto));
    const char *headers[] = {
        "Upgrade",
        "websocket",
        "Sec-WebSocket-Accept",
        accept,
        proto[0] ? "Sec-WebSocket-Protocol" : NULL,
        proto,
        NULL,
    };
    int k = http_reply_upgrade(req, headers, on_upgraded, r);
    if (k < 0) {
        close(fd);
        free(r);
        if (k == -EALREADY || k == -EIO)
            return 1;
        return k;
    }
    return 1;
}
