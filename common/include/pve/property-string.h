/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * property-string: the upstream comma-separated `key=value` lists found in guest configs,
 * storage.cfg values and API parameters, e.g.
 *
 *     local-lvm:vm-100-disk-0,iothread=1,size=32G     (scsi0, default key "file")
 *     virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1 (net0: key "virtio" holds the MAC)
 *     order=1,up=30,down=60                            (startup)
 *
 * One element may lack "key=": it is the value of the format's default key. A value may be
 * double-quoted ("a,b") with backslash escapes for '"' and '\\'. Empty elements (",,", a
 * trailing ',') and blank-only elements are skipped as upstream does.
 *
 * This module owns parsing and printing of that syntax as an ordered list of (key, value)
 * strings, plus a small optional typed layer (a field table) for validation. It does not know
 * what a disk or a NIC is: callers bring the field tables. Pure functions, no I/O.
 *
 * Printing is canonical: elements in file order, separated by ','; the default key's value is
 * written bare if it was bare in the input (or was added by property_string_set()), with
 * "key=" otherwise; a value is quoted only when it must be (it contains ',', starts with '"',
 * or is a bare value that contains '=' or is blank-only). So print(parse(x)) == x unless x
 * had empty elements or needless quotes, and printing is idempotent.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "pve/macro.h"

#define PROPERTY_STRING_MAX_LEN     65535u
#define PROPERTY_STRING_MAX_ENTRIES 256u
#define PROPERTY_STRING_MAX_KEY     64u

typedef struct PropertyStringEntry {
    char *key;
    char *value; /* never NULL, never empty */
    bool bare;   /* written without "key=" (only honoured for the default key) */
} PropertyStringEntry;

/* Read the fields directly; change them only through the functions below. */
typedef struct PropertyString {
    char *default_key; /* NULL when the format has none */
    PropertyStringEntry *entries;
    size_t n_entries;
    size_t n_allocated;
} PropertyString;

/* An empty list; default_key may be NULL. NULL on OOM or an invalid default_key. */
PropertyString *property_string_new(const char *default_key);
/* Frees everything; accepts NULL; returns NULL. */
PropertyString *property_string_free(PropertyString *ps);
DEFINE_TRIVIAL_CLEANUP_FUNC(PropertyString *, property_string_free);

/*
 * Parse the NUL-terminated s; a bare element becomes the value of default_key (may be NULL).
 * On success *ret owns the result. On failure returns -EINVAL (syntax, duplicate key, bare
 * value without default key), -E2BIG (a cap was exceeded) or -ENOMEM, and *reterr_msg (if not
 * NULL) gets a malloc'd message naming the key or position, e.g.
 * "duplicate key in comma-separated list property: size" (NULL on OOM).
 */
int property_string_parse(
    const char *s, const char *default_key, PropertyString **ret, char **reterr_msg
);

/* Print canonically into a malloc'd string ("" when empty). -EINVAL if the model holds an
 * unprintable entry (only possible after editing the structs by hand), -ENOMEM. */
int property_string_print(const PropertyString *ps, char **ret);

/* Value for key, NULL if absent. */
const char *property_string_get(const PropertyString *ps, const char *key);

/*
 * Set key to value, replacing an existing entry in place or appending a new one (a new
 * default-key entry is inserted first and prints bare, as upstream writes it). -EINVAL for an
 * invalid key, an empty value or a value with control characters, -E2BIG at the entry cap, -ENOMEM.
 */
int property_string_set(PropertyString *ps, const char *key, const char *value);

/* Remove key; returns 1 if it was present, 0 if not. */
int property_string_unset(PropertyString *ps, const char *key);

/* key syntax: [A-Za-z0-9_][A-Za-z0-9_.-]*, up to PROPERTY_STRING_MAX_KEY bytes. */
bool property_string_key_is_valid(const char *key) _pure_;

/* ---- Optional typed layer ---------------------------------------------------------------- */

typedef enum PropertyStringType {
    PROPERTY_STRING_TYPE_STRING,
    PROPERTY_STRING_TYPE_INTEGER, /* -?[0-9]+, optional bounds */
    PROPERTY_STRING_TYPE_NUMBER,  /* decimal number, optional bounds */
    PROPERTY_STRING_TYPE_BOOLEAN, /* 1|0|on|off|yes|no|true|false, any case */
    PROPERTY_STRING_TYPE_ENUM,    /* one of enum_values */
    _PROPERTY_STRING_TYPE_MAX,
    _PROPERTY_STRING_TYPE_INVALID = -EINVAL,
} PropertyStringType;

typedef struct PropertyStringField {
    const char *key;
    PropertyStringType type;
    bool default_key; /* at most one field per table */
    bool required;
    bool has_min, has_max;
    double min, max;                /* INTEGER and NUMBER bounds, inclusive */
    const char *const *enum_values; /* ENUM: NULL-terminated */
    unsigned max_length;            /* STRING: 0 = no limit */
    const char *alias;              /* this key is another name for the field `alias` */
} PropertyStringField;

/* The key of the field marked default_key, or NULL. */
const char *
property_string_fields_default_key(const PropertyStringField *fields, size_t n_fields) _pure_;

/*
 * Check every entry against the table: unknown keys, type, bounds, enum membership, required
 * keys, and a key given both directly and through an alias. Returns 0 or -EINVAL with
 * *reterr_msg (if not NULL) set to "<key>: <reason>" in upstream's wording, e.g.
 * "tag: value must have a maximum value of 4094".
 */
int property_string_validate(
    const PropertyString *ps, const PropertyStringField *fields, size_t n_fields, char **reterr_msg
);

/* Typed getters; -ENOENT if absent, -EINVAL if the value does not have that type. */
int property_string_get_bool(const PropertyString *ps, const char *key, bool *ret);
int property_string_get_int(const PropertyString *ps, const char *key, long long *ret);

/* Parse a boolean as upstream property strings accept it; -EINVAL otherwise. */
int property_string_parse_bool(const char *s);
