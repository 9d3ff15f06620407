/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tiny string helpers shared by the parsers and daemons. Pure functions, no allocation unless
 * the name says so.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "pve/macro.h"

/* If s starts with prefix, return the rest of s, else NULL. */
const char *startswith(const char *s, const char *prefix) _pure_;
/* If s ends with suffix, return a pointer to the suffix inside s, else NULL. */
const char *endswith(const char *s, const char *suffix) _pure_;
/* Skip leading blanks (space, tab). */
const char *skip_blanks(const char *s) _pure_;
/* Length of s[0..len) without trailing blanks (space, tab, \r). */
size_t rstrip_len(const char *s, size_t len) _pure_;
/* true if s[0..len) contains a NUL byte. */
bool memhasnul(const void *s, size_t len) _pure_;
/* Printable excerpt of s[0..len) for error messages (non-printables as '?', cut with "..."),
 * written to buf; returns buf. */
const char *str_excerpt(const char *s, size_t len, char *buf, size_t size);
/* Parse a whole decimal unsigned number into *ret; -EINVAL or -ERANGE on failure. */
int safe_atou64(const char *s, unsigned long long *ret);
int safe_atou32(const char *s, unsigned *ret);
int safe_atoi64(const char *s, long long *ret);

/* Error messages for the reterr out-parameter: when reterr is not NULL, store the formatted
 * message in *reterr (NULL when out of memory); return r unchanged, so the usual shape is
 * `return set_error_message(reterr, -EINVAL, "bad '%s'", x);`. */
int set_error_message(char **reterr, int r, const char *fmt, ...) _printf_(3, 4);
/* The same, but a message already in *reterr is kept: the innermost failure explains best. */
int set_error_message_once(char **reterr, int r, const char *fmt, ...) _printf_(3, 4);

/* Wipe a secret string (password, key PEM, token) before freeing it. NULL-safe. */
void erase_and_free(char *p);
static inline void erase_and_freep(char **p) {
    erase_and_free(*p);
}
#define _cleanup_erase_free_ _cleanup_(erase_and_freep)

/* NULL-terminated string vectors (argv-style): free every element and the vector; NULL ok. */
char **strv_free(char **v);
static inline void strv_freep(char ***v) {
    strv_free(*v);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)
