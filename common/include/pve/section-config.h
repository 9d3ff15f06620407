/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * section-config: the text layer of the upstream "SectionConfig" file format used by
 * storage.cfg, domains.cfg, ha/resources.cfg, ha/groups.cfg, ha/rules.cfg, jobs.cfg,
 * notifications.cfg, the sdn/ files and friends:
 *
 *     <type>: <id>
 *     \t<key> <value>
 *     \t<flag>
 *
 *     <type>: <id>
 *     ...
 *
 * A header starts at column 0; property lines are indented with blanks (a TAB when printed);
 * a property may have no value (a bare flag such as `disable`); a blank line ends a section;
 * lines whose first non-blank character is '#' are ignored. CRLF line ends are accepted.
 *
 * This module owns parsing, printing and editing of that text as an ordered list of sections,
 * each an ordered list of (key, value) strings. It knows nothing about what a storage or a
 * realm is: types, defaults and per-key validation belong to the callers (via their own
 * tables or pve/property-string.h). Pure functions, no I/O, no logging.
 *
 * The printer writes the canonical form: "<type>: <id>\n", one "\t<key> <value>\n" (or
 * "\t<key>\n" for an empty value) per property, and a "\n" after every section (so a non-empty
 * file ends with an empty line, as upstream writes it). print(parse(x)) == x for every file in
 * that form; anything else parses into the same model and prints canonically.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "pve/macro.h"

/* Caps against pathological input. The size cap matches pmxcfs's per-file limit. */
#define SECTION_CONFIG_MAX_SIZE       (1024u * 1024u)
#define SECTION_CONFIG_MAX_LINE       65535u
#define SECTION_CONFIG_MAX_SECTIONS   65536u
#define SECTION_CONFIG_MAX_PROPERTIES 1024u
#define SECTION_CONFIG_MAX_NAME       128u /* type and key length */
#define SECTION_CONFIG_MAX_ID         255u
#define SECTION_CONFIG_MAX_VALUE      (SECTION_CONFIG_MAX_LINE - SECTION_CONFIG_MAX_NAME - 2u)

typedef enum SectionConfigFlags {
    /* Repeated keys in one section are kept in order instead of being an error (array
     * properties, e.g. `match-field` in notifications.cfg). */
    SECTION_CONFIG_ALLOW_DUPLICATE_KEYS = 1 << 0,
    /* Section ids only need to be unique per type. By default an id is unique across all
     * types of a file, as upstream requires for storage.cfg and domains.cfg. */
    SECTION_CONFIG_ID_PER_TYPE = 1 << 1,
} SectionConfigFlags;

typedef struct SectionConfigProperty {
    char *key;
    char *value; /* never NULL; "" for a bare flag */
} SectionConfigProperty;

typedef struct SectionConfigSection {
    char *type;
    char *id;
    unsigned line; /* 1-based line of the header when parsed, 0 when added */
    SectionConfigProperty *properties;
    size_t n_properties;
    size_t n_allocated;
} SectionConfigSection;

/* Read the fields directly; change them only through the functions below, which keep every
 * string valid for the printer. */
typedef struct SectionConfig {
    unsigned flags; /* SectionConfigFlags */
    SectionConfigSection **sections;
    size_t n_sections;
    size_t n_allocated;
} SectionConfig;

/* An empty configuration; NULL on OOM. */
SectionConfig *section_config_new(unsigned flags);
/* Frees everything; accepts NULL; returns NULL. */
SectionConfig *section_config_free(SectionConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(SectionConfig *, section_config_free);

/*
 * Parse text[0..len) (need not be NUL-terminated). On success *ret owns the result. On failure
 * returns -EINVAL (malformed line, NUL byte), -EEXIST (duplicate section id or key), -E2BIG (a
 * cap was exceeded) or -ENOMEM; *reterr_line gets the 1-based line (0 when the error is not
 * tied to a line) and *reterr_msg a malloc'd description without the line number (NULL on
 * OOM). Either error pointer may be NULL.
 */
int section_config_parse(
    const char *text,
    size_t len,
    unsigned flags,
    SectionConfig **ret,
    unsigned *reterr_line,
    char **reterr_msg
);

/* Print in canonical form into a malloc'd string ("" for no sections). -EINVAL if a string in
 * the model is not printable (only possible after editing the structs by hand), -ENOMEM. */
int section_config_print(const SectionConfig *c, char **ret);

/* Find a section by id, and by type unless type is NULL. NULL if not found. */
SectionConfigSection *section_config_find(const SectionConfig *c, const char *type, const char *id);

/* Value of the first property named key, NULL if absent. */
const char *section_config_get(const SectionConfigSection *s, const char *key);

/*
 * Append a new, empty section. -EINVAL for an invalid type or id, -EEXIST if the id is taken
 * (per the uniqueness rule of c->flags), -E2BIG at the section cap, -ENOMEM. On success
 * *ret_section (if not NULL) points to the new section, owned by c.
 */
int section_config_add(
    SectionConfig *c, const char *type, const char *id, SectionConfigSection **ret_section
);

/* Remove a section (type may be NULL = any). -ENOENT if absent. */
int section_config_remove(SectionConfig *c, const char *type, const char *id);

/*
 * Set key to value: the first property named key is replaced in place (keeping its position)
 * and any later ones are dropped; otherwise the property is appended. value "" makes a bare
 * flag. -EINVAL for an invalid key or value, -E2BIG at the property cap, -ENOMEM.
 */
int section_config_set(SectionConfigSection *s, const char *key, const char *value);

/* Append a property even if the key exists already (array properties; only valid in
 * configurations using SECTION_CONFIG_ALLOW_DUPLICATE_KEYS). Errors as section_config_set(). */
int section_config_append(SectionConfigSection *s, const char *key, const char *value);

/* Remove every property named key; returns how many were removed (0 if none). */
int section_config_unset(SectionConfigSection *s, const char *key);

/* Syntax checks used by the parser and the editors:
 * type and key: [A-Za-z][A-Za-z0-9_.-]*, up to SECTION_CONFIG_MAX_NAME bytes;
 * id: [A-Za-z0-9_][A-Za-z0-9_.:@+-]*, up to SECTION_CONFIG_MAX_ID bytes;
 * value: no control characters except TAB, no leading or trailing blank, up to
 * SECTION_CONFIG_MAX_VALUE bytes. */
bool section_config_type_is_valid(const char *type) _pure_;
bool section_config_key_is_valid(const char *key) _pure_;
bool section_config_id_is_valid(const char *id) _pure_;
bool section_config_value_is_valid(const char *value) _pure_;
