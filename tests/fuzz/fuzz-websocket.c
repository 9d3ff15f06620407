/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the websocket frame parser: walk a buffer frame by frame as the pveproxy
 * relay does; every parsed header must lie inside the buffer it came from, re-encoding its
 * length must parse to the same length, and masking twice must restore the payload.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 20)
        return 0;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    size_t pos = 0;
    for (;;) {
        WsFrame f;
        int r = ws_frame_parse(buf + pos, size - pos, WS_MAX_FRAME, &f);
        if (r < 0)
            break;
        if (f.header_len < 2 || f.header_len > WS_MAX_HEADER || f.header_len > size - pos ||
            f.payload_len > WS_MAX_FRAME)
            abort();
        uint8_t h[WS_MAX_HEADER];
        size_t n = ws_frame_header(h, f.fin, f.opcode, f.payload_len);
        WsFrame g;
        if (ws_frame_parse(h, n, WS_MAX_FRAME, &g) < 0 || g.payload_len != f.payload_len ||
            g.opcode != f.opcode || g.fin != f.fin)
            abort();
        if (size - pos - f.header_len < f.payload_len)
            break;
        uint8_t *p = buf + pos + f.header_len;
        ws_mask(p, f.payload_len, f.mask, 0);
        ws_mask(p, f.payload_len, f.mask, 0);
        if (memcmp(p, data + pos + f.header_len, f.payload_len) != 0)
            abort();
        pos += f.header_len + f.payload_len;
    }
    char key[25] = {0}, out[WS_ACCEPT_LEN + 1];
    memcpy(key, data, size < 24 ? size : 24);
    (void) ws_accept_key(key, out);
    free(buf);
    return 0;
}
