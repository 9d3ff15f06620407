/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * json-util: thin helpers over jansson for the API daemons and pmxcfs status files: typed
 * member getters that return a negative errno instead of guessing, one-line setters for
 * building replies, parse and dump wrappers, and a cleanup attribute. Nothing here knows
 * about the API envelope or schemas; that lives with the API code.
 *
 * Conventions: getters treat a missing member and a JSON null alike (-ENOENT, as upstream
 * treats undef) and return -EINVAL for a member of the wrong type; they never touch *ret on
 * failure. Setters return -ENOMEM when jansson fails to allocate.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "pve/macro.h"

/* jansson >= 2.11 ships json_decrefp() for json_auto_t; provide it for older versions. */
#if JANSSON_VERSION_HEX < 0x020b00
static inline void json_decrefp(json_t **j) {
    if (*j) {
        json_decref(*j);
        *j = NULL;
    }
}
#endif
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Member getters. The returned string is borrowed from o. */
int json_util_get_string(const json_t *o, const char *key, const char **ret);
/* A JSON integer (no reals, no strings). */
int json_util_get_int(const json_t *o, const char *key, long long *ret);
/* true/false, or the integers 0 and 1 that upstream uses for booleans. */
int json_util_get_bool(const json_t *o, const char *key, bool *ret);
/* Borrowed object / array members. */
int json_util_get_object(const json_t *o, const char *key, json_t **ret);
int json_util_get_array(const json_t *o, const char *key, json_t **ret);

/* Setters on an object. set_new() steals v (also on failure; v NULL means jansson already
 * failed to allocate it, so -ENOMEM). set_string() with s NULL sets nothing and returns 0,
 * as upstream omits undefined members. */
int json_util_set_new(json_t *o, const char *key, json_t *v);
int json_util_set_string(json_t *o, const char *key, const char *s);
int json_util_set_int(json_t *o, const char *key, long long v);
int json_util_set_bool(json_t *o, const char *key, bool v); /* as 0/1, as upstream does */
int json_util_set_null(json_t *o, const char *key);

/* Append to an array, stealing v (also on failure). */
int json_util_append_new(json_t *a, json_t *v);

typedef enum JsonUtilDumpFlags {
    JSON_UTIL_DUMP_PRETTY = 1 << 0,    /* indent by 2, newlines; default is compact */
    JSON_UTIL_DUMP_SORT_KEYS = 1 << 1, /* stable output (tests, digests) */
} JsonUtilDumpFlags;

/* Serialize any JSON value (not only objects) into a malloc'd string. -ENOMEM on failure. */
int json_util_dump(const json_t *j, unsigned flags, char **ret);

/*
 * Parse text[0..len) (any JSON value; duplicate object keys rejected). On failure returns
 * -EINVAL (-E2BIG above max_len when max_len > 0) and *reterr_msg (if not NULL) gets a
 * malloc'd "line L column C: <reason>".
 */
int json_util_parse(const char *text, size_t len, size_t max_len, json_t **ret, char **reterr_msg);
