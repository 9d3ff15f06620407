/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-schema: the JSON-schema subset the upstream API uses for method parameters and return
 * values, declared as static C data, plus the parameter validator that runs before a handler
 * and an OpenAPI 3 export of a schema node.
 *
 * A schema node is an ApiSchema. Object properties are an array of ApiSchema terminated by an
 * entry whose name is NULL (API_PROPERTIES() adds it); each property carries its own name. The
 * declaration macros keep handler tables short:
 *
 *     static const ApiSchema tasks_params = API_OBJECT(
 *         .properties = API_PROPERTIES(
 *             API_PARAM_STRING("node", .format = "pve-node"),
 *             API_PARAM_INTEGER("vmid", .optional = true, API_RANGE(100, 999999999)),
 *             API_PARAM_BOOL("errors", .optional = true, API_DEFAULT_INT(0)),
 *         )
 *     );
 *
 * Bounds use API_MIN()/API_MAX()/API_RANGE() because 0 is a real bound (`minimum: 0`) and a
 * designated initializer cannot tell it from "unset".
 *
 * Validation follows upstream's rules and words (see api.md §3.3). Values may arrive as strings
 * (form encoding); integers and numbers are checked by regex on their string form and booleans
 * accept only 0/1 or JSON true/false. The validator converts accepted values in place to typed
 * JSON (integer -> json integer, number -> json real, boolean -> json integer 0/1, as upstream
 * handlers see 0/1), wraps a scalar into an array when the schema wants one and comma-joins an
 * array when the schema wants a `*-list` string. Defaults are NOT filled in, as upstream's
 * RESTHandler does not: handlers read them with api_schema_param_int() and friends.
 *
 * This module does no I/O and never logs above debug.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "pve/macro.h"
#include "pve/property-string.h"

typedef enum ApiSchemaType {
    API_TYPE_ANY, /* no "type": anything goes (upstream omits type on some returns) */
    API_TYPE_STRING,
    API_TYPE_INTEGER,
    API_TYPE_NUMBER,
    API_TYPE_BOOLEAN,
    API_TYPE_NULL,
    API_TYPE_OBJECT,
    API_TYPE_ARRAY,
    _API_TYPE_MAX,
    _API_TYPE_INVALID = -EINVAL,
} ApiSchemaType;

typedef struct ApiSchema ApiSchema;

struct ApiSchema {
    const char *name; /* property name when used inside .properties, else NULL */
    ApiSchemaType type;
    bool optional;
    const char *description;
    const char *typetext;
    const char *title;

    /* default (documentation and api_schema_param_*()): strings use default_str, integers,
     * numbers and booleans default_num */
    bool has_default;
    const char *default_str;
    double default_num;

    const char *const *enum_values; /* NULL-terminated, see API_ENUM() */

    bool has_minimum, has_maximum;
    double minimum, maximum;
    unsigned min_length, max_length; /* 0 = no limit */

    const char *pattern; /* anchored at both ends like upstream (m/^$pattern$/) */
    const char *format;  /* registered format name, "-list"/"-alist" suffixes split lists */
    /* a property-string format instead of a named one (checked with property-string.h) */
    const PropertyStringField *format_fields;
    size_t n_format_fields;

    const char *alias;    /* this property is another name for property `alias` */
    const char *requires; /* other property that must be present; "!x" = must be absent */

    const ApiSchema *properties; /* OBJECT: array ending with .name == NULL */
    bool additional_properties;  /* OBJECT: allow unknown keys (upstream params say 0) */
    const ApiSchema *items;      /* ARRAY */
};

/* ---- declaration helpers -------------------------------------------------------------------- */

#define API_MIN(v)           .has_minimum = true, .minimum = (v)
#define API_MAX(v)           .has_maximum = true, .maximum = (v)
#define API_RANGE(lo, hi)    API_MIN(lo), API_MAX(hi)
#define API_DEFAULT_STR(s)   .has_default = true, .default_str = (s)
#define API_DEFAULT_INT(v)   .has_default = true, .default_num = (v)
#define API_ENUM(...)        ((const char *const[]){__VA_ARGS__, NULL})
#define API_PROPERTIES(...)  ((const ApiSchema[]){__VA_ARGS__, {.name = NULL}})
#define API_ITEMS(t, ...)    (&(const ApiSchema){.type = (t), __VA_ARGS__})
#define API_FORMAT_FIELDS(f) .format_fields = (f), .n_format_fields = ELEMENTSOF(f)

/* Property entries, comma-separated inside API_PROPERTIES() (no comma after the last). */
#define API_PARAM(n, t, ...) \
    { .name = (n), .type = (t), __VA_ARGS__ }
#define API_PARAM_STRING(n, ...)    API_PARAM(n, API_TYPE_STRING, __VA_ARGS__)
#define API_PARAM_INTEGER(n, ...)   API_PARAM(n, API_TYPE_INTEGER, __VA_ARGS__)
#define API_PARAM_NUMBER(n, ...)    API_PARAM(n, API_TYPE_NUMBER, __VA_ARGS__)
#define API_PARAM_BOOL(n, ...)      API_PARAM(n, API_TYPE_BOOLEAN, __VA_ARGS__)
#define API_PARAM_OBJECT(n, ...)    API_PARAM(n, API_TYPE_OBJECT, __VA_ARGS__)
#define API_PARAM_ARRAY(n, it, ...) API_PARAM(n, API_TYPE_ARRAY, .items = (it), __VA_ARGS__)

/* Free-standing nodes (parameters, returns). */
#define API_OBJECT(...) \
    { .type = API_TYPE_OBJECT, __VA_ARGS__ }
#define API_ARRAY(it, ...) \
    { .type = API_TYPE_ARRAY, .items = (it), __VA_ARGS__ }
#define API_SCALAR(t, ...) \
    { .type = (t), __VA_ARGS__ }

/* ---- validation ----------------------------------------------------------------------------- */

/*
 * Validate the merged request parameters `input` (a JSON object, modified in place: type
 * coercion, array wrapping, list joining, alias renaming) against the object schema `params`
 * (NULL means "no parameters": any key is an error).
 * Returns 0 when valid; -EINVAL when not, with *ret_errors (if not NULL) set to a new object
 * mapping parameter path -> message (nested paths joined with '.', root errors under
 * "_root"); -ENOMEM on allocation failure.
 */
int api_schema_validate_params(const ApiSchema *params, json_t *input, json_t **ret_errors);

/*
 * Validate one value against a schema node, adding errors to `errors` under `path` (NULL or
 * "" = "_root"). *value may be replaced by its coerced form (the reference is managed).
 * Returns 0 or -ENOMEM; validity is "errors did not grow".
 */
int api_schema_check_value(const ApiSchema *s, json_t **value, const char *path, json_t *errors);

/*
 * Check a string against a registered format (without the "invalid format - " prefix).
 * Returns 0 when valid or the format is unknown (a debug note is logged), -EINVAL with
 * *reterr_msg (malloc'd, upstream wording with trailing newline) when invalid, -ENOMEM.
 */
int api_format_check(const char *format, const char *value, char **reterr_msg);
/* true if the format name (or its base before "-list"/"-alist") is implemented here */
bool api_format_is_known(const char *format);

/* Property lookup in an object schema; NULL when absent. */
const ApiSchema *api_schema_property(const ApiSchema *object, const char *name);

/*
 * Typed getters over validated params with the schema default as fallback. Return 0, or
 * -ENOENT when neither a value nor a default exists, -EINVAL when the value has another type.
 * The string is borrowed from params or the schema.
 */
int api_schema_param_int(
    const ApiSchema *object, const json_t *params, const char *name, long long *ret
);
int api_schema_param_bool(
    const ApiSchema *object, const json_t *params, const char *name, bool *ret
);
int api_schema_param_string(
    const ApiSchema *object, const json_t *params, const char *name, const char **ret
);

/* ---- export --------------------------------------------------------------------------------- */

const char *api_schema_type_to_string(ApiSchemaType t) _pure_;

/* OpenAPI 3.0 schema object for a node (new reference), NULL on OOM. Object properties that
 * are not optional are listed in "required"; typetext/format go to x-typetext / format. */
json_t *api_schema_to_openapi(const ApiSchema *s);

/* The node in upstream's own JSON shape (as api-schema.json has it), NULL on OOM. */
json_t *api_schema_to_json(const ApiSchema *s);
