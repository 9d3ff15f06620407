/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Growable, always NUL-terminated byte buffer with a sticky error. */
#include "pve/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int strbuf_reserve(StrBuf *b, size_t n) {
    if (b->error)
        return b->error;
    if (n > SIZE_MAX / 2 - b->len - 1)
        return (b->error = -ENOMEM);
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return (b->error = -ENOMEM);
    b->data = p;
    b->cap = cap;
    return 0;
}

void strbuf_append_len(StrBuf *b, const void *s, size_t len) {
    if (strbuf_reserve(b, len) < 0)
        return;
    if (len)
        memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void strbuf_append(StrBuf *b, const char *s) {
    strbuf_append_len(b, s, strlen(s));
}

void strbuf_append_char(StrBuf *b, char c) {
    strbuf_append_len(b, &c, 1);
}

void strbuf_vprintf(StrBuf *b, const char *fmt, va_list ap) {
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0) {
        if (!b->error)
            b->error = -EINVAL;
        return;
    }
    if (strbuf_reserve(b, (size_t) n) < 0)
        return;
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    b->len += (size_t) n;
}

void strbuf_printf(StrBuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    strbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

void strbuf_truncate(StrBuf *b, size_t len) {
    if (len < b->len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

int strbuf_finish(StrBuf *b, char **ret, size_t *ret_len) {
    if (!b->error && strbuf_reserve(b, 0) == 0)
        b->data[b->len] = '\0';
    if (b->error) {
        int r = b->error;
        strbuf_done(b);
        return r;
    }
    *ret = b->data;
    if (ret_len)
        *ret_len = b->len;
    *b = (StrBuf) STRBUF_INIT;
    return 0;
}

void strbuf_done(StrBuf *b) {
    free(b->data);
    *b = (StrBuf) STRBUF_INIT;
}
