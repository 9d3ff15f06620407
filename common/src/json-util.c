/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Typed getters, setters, dump and parse wrappers over jansson; see json-util.h. */
#include "pve/json-util.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The member, or NULL when absent or null. */
static json_t *member(const json_t *o, const char *key) {
    assert(key);
    if (!json_is_object(o))
        return NULL;
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

int json_util_get_string(const json_t *o, const char *key, const char **ret) {
    json_t *v = member(o, key);
    if (!v)
        return -ENOENT;
    if (!json_is_string(v))
        return -EINVAL;
    *ret = json_string_value(v);
    return 0;
}

int json_util_get_int(const json_t *o, const char *key, long long *ret) {
    json_t *v = member(o, key);
    if (!v)
        return -ENOENT;
    if (!json_is_integer(v))
        return -EINVAL;
    *ret = (long long) json_integer_value(v);
    return 0;
}

int json_util_get_bool(const json_t *o, const char *key, bool *ret) {
    json_t *v = member(o, key);
    if (!v)
        return -ENOENT;
    if (json_is_boolean(v)) {
        *ret = json_is_true(v);
        return 0;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *ret = json_integer_value(v) == 1;
        return 0;
    }
    return -EINVAL;
}

int json_util_get_object(const json_t *o, const char *key, json_t **ret) {
    json_t *v = member(o, key);
    if (!v)
        return -ENOENT;
    if (!json_is_object(v))
        return -EINVAL;
    *ret = v;
    return 0;
}

int json_util_get_array(const json_t *o, const char *key, json_t **ret) {
    json_t *v = member(o, key);
    if (!v)
        return -ENOENT;
    if (!json_is_array(v))
        return -EINVAL;
    *ret = v;
    return 0;
}

int json_util_set_new(json_t *o, const char *key, json_t *v) {
    assert(key);
    if (!v)
        return -ENOMEM;
    if (!json_is_object(o)) {
        json_decref(v);
        return -EINVAL;
    }
    /* json_object_set_new() steals v even when it fails. */
    return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

int json_util_set_string(json_t *o, const char *key, const char *s) {
    if (!s)
        return 0;
    return json_util_set_new(o, key, json_string(s));
}

int json_util_set_int(json_t *o, const char *key, long long v) {
    return json_util_set_new(o, key, json_integer((json_int_t) v));
}

int json_util_set_bool(json_t *o, const char *key, bool v) {
    return json_util_set_new(o, key, json_integer(v ? 1 : 0));
}

int json_util_set_null(json_t *o, const char *key) {
    return json_util_set_new(o, key, json_null());
}

int json_util_append_new(json_t *a, json_t *v) {
    if (!v)
        return -ENOMEM;
    if (!json_is_array(a)) {
        json_decref(v);
        return -EINVAL;
    }
    return json_array_append_new(a, v) < 0 ? -ENOMEM : 0;
}

int json_util_dump(const json_t *j, unsigned flags, char **ret) {
    assert(j);
    assert(ret);
    size_t f = JSON_ENCODE_ANY;
    f |= (flags & JSON_UTIL_DUMP_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT;
    if (flags & JSON_UTIL_DUMP_SORT_KEYS)
        f |= JSON_SORT_KEYS;
    char *s = json_dumps(j, f);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

int json_util_parse(const char *text, size_t len, size_t max_len, json_t **ret, char **reterr_msg) {
    assert(text || len == 0);
    assert(ret);
    if (max_len > 0 && len > max_len) {
        if (reterr_msg &&
            asprintf(reterr_msg, "input too large (%zu bytes, maximum %zu)", len, max_len) < 0)
            *reterr_msg = NULL;
        return -E2BIG;
    }
    json_error_t err;
    json_t *j = json_loadb(text ? text : "", len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        if (reterr_msg &&
            asprintf(reterr_msg, "line %d column %d: %s", err.line, err.column, err.text) < 0)
            *reterr_msg = NULL;
        return json_error_code(&err) == json_error_out_of_memory ? -ENOMEM : -EINVAL;
    }
    *ret = j;
    return 0;
}
