/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for qmeventd's parsers. The input is fed as a client byte stream, once whole and
 * once in chunks whose sizes come from the input itself: no crash, the buffer length never
 * exceeds the limit, every message is an object or array. The same bytes as a command line:
 * a VMID found is 1..15 digits.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmeventd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(char *buf, size_t *len) {
    json_t *msg;
    int r;
    while ((r = qmeventd_next_message(buf, len, QMEVENTD_BUF_SIZE, &msg)) != 0) {
        if (*len > QMEVENTD_BUF_SIZE)
            abort();
        if (r == 1) {
            if (!json_is_object(msg) && !json_is_array(msg))
                abort();
            json_decref(msg);
        }
    }
}

static void feed(const uint8_t *data, size_t size, bool chunked) {
    char buf[QMEVENTD_BUF_SIZE];
    size_t len = 0;
    for (size_t pos = 0; pos < size;) {
        size_t n = chunked ? 1 + (size_t) data[pos] % 64 : size - pos;
        n = n > size - pos ? size - pos : n;
        n = n > sizeof buf - len ? sizeof buf - len : n;
        memcpy(buf + len, data + pos, n);
        len += n;
        pos += n;
        drain(buf, &len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 65536)
        return 0;
    feed(data, size, false);
    feed(data, size, true);

    char id[QMEVENTD_VMID_MAX];
    if (qmeventd_vmid_from_cmdline((const char *) data, size, id) == 0) {
        size_t n = strlen(id);
        if (n == 0 || n >= QMEVENTD_VMID_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if (!isdigit((unsigned char) id[i]))
                abort();
    }
    return 0;
}
