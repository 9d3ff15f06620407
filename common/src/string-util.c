/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* String helpers: prefix/suffix tests, blank stripping, strict number parsing, error messages. */
#include "pve/string-util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *startswith(const char *s, const char *prefix) {
    size_t l = strlen(prefix);
    return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

const char *endswith(const char *s, const char *suffix) {
    size_t sl = strlen(s), xl = strlen(suffix);
    if (xl > sl)
        return NULL;
    return memcmp(s + sl - xl, suffix, xl) == 0 ? s + sl - xl : NULL;
}

const char *skip_blanks(const char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

size_t rstrip_len(const char *s, size_t len) {
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    return len;
}

bool memhasnul(const void *s, size_t len) {
    return memchr(s, 0, len) != NULL;
}

int safe_atou64(const char *s, unsigned long long *ret) {
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

int safe_atou32(const char *s, unsigned *ret) {
    unsigned long long v;
    int r = safe_atou64(s, &v);
    if (r < 0)
        return r;
    if (v > UINT_MAX)
        return -ERANGE;
    *ret = (unsigned) v;
    return 0;
}

int safe_atoi64(const char *s, long long *ret) {
    char *end;
    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

const char *str_excerpt(const char *s, size_t len, char *buf, size_t size) {
    size_t n = MIN(len, size - 1);
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char) s[i] >= 0x20 && (unsigned char) s[i] < 0x7f ? s[i] : '?';
    if (n < len && n >= 3)
        memcpy(buf + n - 3, "...", 3);
    buf[n] = '\0';
    return buf;
}

void erase_and_free(char *p) {
    if (p) {
        explicit_bzero(p, strlen(p));
        free(p);
    }
}

char **strv_free(char **v) {
    if (v)
        for (char **p = v; *p; p++)
            free(*p);
    free(v);
    return NULL;
}

_printf_(3, 0) static int vset_error_message(char **reterr, int r, const char *fmt, va_list ap) {
    if (vasprintf(reterr, fmt, ap) < 0)
        *reterr = NULL;
    return r;
}

int set_error_message(char **reterr, int r, const char *fmt, ...) {
    if (!reterr)
        return r;
    va_list ap;
    va_start(ap, fmt);
    r = vset_error_message(reterr, r, fmt, ap);
    va_end(ap);
    return r;
}

int set_error_message_once(char **reterr, int r, const char *fmt, ...) {
    if (!reterr || *reterr)
        return r;
    va_list ap;
    va_start(ap, fmt);
    r = vset_error_message(reterr, r, fmt, ap);
    va_end(ap);
    return r;
}
