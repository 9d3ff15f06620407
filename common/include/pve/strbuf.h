/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Growable byte buffer for printers and protocol encoders. Always NUL-terminated after a
 * successful append; errors are sticky (after an OOM every append is a no-op and
 * strbuf_finish() returns -ENOMEM) so callers may check once at the end.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "pve/macro.h"

typedef struct StrBuf {
    char *data;
    size_t len;
    size_t cap;
    int error; /* 0 or negative errno, sticky */
} StrBuf;

#define STRBUF_INIT \
    { NULL, 0, 0, 0 }

void strbuf_append(StrBuf *b, const char *s);
void strbuf_append_len(StrBuf *b, const void *s, size_t len);
void strbuf_append_char(StrBuf *b, char c);
void strbuf_printf(StrBuf *b, const char *fmt, ...) _printf_(2, 3);
void strbuf_vprintf(StrBuf *b, const char *fmt, va_list ap) _printf_(2, 0);
/* Ensure room for n more bytes (plus NUL); sets the sticky error on failure. */
int strbuf_reserve(StrBuf *b, size_t n);
void strbuf_truncate(StrBuf *b, size_t len);
/* Hand the buffer to the caller (never NULL on success, "" for empty); resets b. */
int strbuf_finish(StrBuf *b, char **ret, size_t *ret_len);
void strbuf_done(StrBuf *b);
static inline void strbuf_donep(StrBuf *b) {
    strbuf_done(b);
}
#define _cleanup_strbuf_ _cleanup_(strbuf_donep)
