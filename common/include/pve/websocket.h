/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * websocket: the pure parts of RFC 6455 that pveproxy's console relay needs (api.md §3,
 * "Websocket"): the Sec-WebSocket-Accept value for a client key, parsing a frame header out of
 * a byte buffer, (un)masking payloads and encoding the header of an unmasked server frame.
 * No I/O, no allocation.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_ACCEPT_LEN  28           /* base64 of a SHA-1 */
#define WS_MAX_FRAME   (128 * 1024) /* upstream's payload limit */
#define WS_MAX_HEADER  14           /* 2 + 8 length + 4 mask */
#define WS_CONTROL_MAX 125

enum {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

typedef struct WsFrame {
    bool fin;
    uint8_t opcode;
    bool masked;
    uint8_t mask[4];
    size_t header_len; /* bytes before the payload */
    uint64_t payload_len;
} WsFrame;

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (must be base64 of 16 bytes): 0 or -EINVAL. */
int ws_accept_key(const char *client_key, char ret[static WS_ACCEPT_LEN + 1]);

/*
 * Parse the frame header at buf. 0 with *ret filled when the whole header is there (the
 * payload may still be incomplete), -EAGAIN when more bytes are needed, -EBADMSG for a
 * protocol violation (reserved bits, unknown opcode, fragmented or oversized control frame,
 * 64-bit length with the top bit set), -E2BIG when the payload exceeds max_payload.
 */
int ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max_payload, WsFrame *ret);

/* XOR data with the mask; offset is the position of data[0] within the payload. */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask[static 4], uint64_t offset);

/* Write the header of an unmasked frame to out; returns its length (2, 4 or 10). */
size_t ws_frame_header(uint8_t out[static WS_MAX_HEADER], bool fin, uint8_t opcode, uint64_t len);
