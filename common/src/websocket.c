/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * websocket: RFC 6455 handshake key and frame header coding for the console relay. Pure.
 */
#include "pve/websocket.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pve/auth-ticket.h"
#include "pve/digest.h"
#include "pve/macro.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int ws_accept_key(const char *client_key, char ret[static WS_ACCEPT_LEN + 1]) {
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    if (!client_key || strlen(client_key) != 24)
        return -EINVAL;
    if (auth_base64_decode(client_key, 24, &raw, &raw_len) < 0)
        return -EINVAL;
    free(raw);
    if (raw_len != 16)
        return -EINVAL;

    char buf[24 + sizeof(WS_GUID)];
    memcpy(buf, client_key, 24);
    memcpy(buf + 24, WS_GUID, sizeof(WS_GUID));
    uint8_t sha[DIGEST_SHA1_SIZE];
    if (digest_sha1(buf, strlen(buf), sha) < 0)
        return -EINVAL;
    char *b64 = NULL;
    if (auth_base64_encode(sha, sizeof(sha), true, &b64) < 0)
        return -EINVAL;
    bool ok = strlen(b64) == WS_ACCEPT_LEN;
    if (ok)
        memcpy(ret, b64, WS_ACCEPT_LEN + 1);
    free(b64);
    return ok ? 0 : -EINVAL;
}

static bool opcode_known(uint8_t op) {
    return op <= WS_OP_BINARY || (op >= WS_OP_CLOSE && op <= WS_OP_PONG);
}

int ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max_payload, WsFrame *ret) {
    if (len < 2)
        return -EAGAIN;
    WsFrame f = {
        .fin = buf[0] & 0x80,
        .opcode = buf[0] & 0x0f,
        .masked = buf[1] & 0x80,
    };
    if ((buf[0] & 0x70) || !opcode_known(f.opcode))
        return -EBADMSG;
    uint64_t plen = buf[1] & 0x7f;
    size_t pos = 2;
    if (plen == 126) {
        if (len < 4)
            return -EAGAIN;
        plen = (uint64_t) buf[2] << 8 | buf[3];
        pos = 4;
    } else if (plen == 127) {
        if (len < 10)
            return -EAGAIN;
        if (buf[2] & 0x80)
            return -EBADMSG;
        plen = 0;
        for (size_t i = 2; i < 10; i++)
            plen = plen << 8 | buf[i];
        pos = 10;
    }
    if (f.opcode >= WS_OP_CLOSE && (!f.fin || plen > WS_CONTROL_MAX))
        return -EBADMSG;
    if (plen > max_payload)
        return -E2BIG;
    if (f.masked) {
        if (len < pos + 4)
            return -EAGAIN;
        memcpy(f.mask, buf + pos, 4);
        pos += 4;
    }
    f.header_len = pos;
    f.payload_len = plen;
    *ret = f;
    return 0;
}

void ws_mask(uint8_t *data, size_t len, const uint8_t mask[static 4], uint64_t offset) {
    for (size_t i = 0; i < len; i++)
        data[i] ^= mask[(offset + i) & 3];
}

size_t ws_frame_header(uint8_t out[static WS_MAX_HEADER], bool fin, uint8_t opcode, uint64_t len) {
    out[0] = (uint8_t) ((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (uint8_t) len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t) (len >> 8);
        out[3] = (uint8_t) len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t) (len >> (56 - 8 * i));
    return 10;
}
