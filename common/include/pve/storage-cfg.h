/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-cfg: the model of /etc/pve/storage.cfg on top of section-config.h: the storage types
 * and which options each one takes (required, fixed), the property schemas of every option
 * (shared with the /storage API parameters), upstream's read-time defaults (a `dir: local`
 * for /var/lib/vz, the per-type default content), value checks and normalisation (content
 * lists, booleans as 0/1), the canonical printer, and the questions API handlers ask of a
 * storage (enabled on a node, shared, content types, base path, formats).
 *
 * A parsed configuration is a SectionConfig whose values are already normalised; invalid or
 * unknown properties and sections of unknown types are dropped with a warning, as upstream
 * does. Printing follows upstream's writer: sections in file order (the default `local` first
 * when it was added), a bare "\tdisable" flag, then the type's required options sorted by
 * name, then the optional ones sorted by name; a blank line after each section.
 *
 * Pure functions, no I/O, no logging.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "pve/api-schema.h"
#include "pve/macro.h"
#include "pve/section-config.h"

#define STORAGE_CFG_LOCAL_ID   "local"
#define STORAGE_CFG_LOCAL_PATH "/var/lib/vz"

/* Flags of an option in a storage type. */
typedef enum StorageOptionFlags {
    STORAGE_OPT_REQUIRED = 1 << 0, /* must be given on create */
    STORAGE_OPT_FIXED = 1 << 1,    /* cannot be changed after create */
} StorageOptionFlags;

typedef struct StorageOption {
    const char *key;
    unsigned flags; /* StorageOptionFlags */
} StorageOption;

typedef struct StorageType {
    const char *name;
    const StorageOption *options; /* ends with .key == NULL */
    const char *const *content;   /* content types the type supports, NULL-terminated */
    const char *default_content;  /* applied when a section has none; NULL: none */
    const char *const *formats;   /* image formats, NULL-terminated; NULL: none */
    const char *default_format;
    bool shared;    /* shared by nature (nfs, cifs, rbd, pbs, ...) */
    bool path_base; /* volumes are files below the `path` option */
} StorageType;

/* Every storage property (upstream's propertyList minus `type`), ending with .name == NULL. */
extern const ApiSchema storage_cfg_properties[];

/* The type, NULL when unknown. */
const StorageType *storage_type_find(const char *name) _pure_;
/* NULL-terminated list of all type names (for the API's enum), sorted. */
extern const char *const storage_type_names[];

/* Flags of key in type, or -ENOENT when the type does not take that option. */
int storage_type_option(const StorageType *t, const char *key);

/* All valid content type names (images, rootdir, vztmpl, iso, backup, snippets, import, none). */
bool storage_content_is_valid(const char *ct) _pure_;

/*
 * Check one option value for a type and normalise it into *ret (malloc'd): booleans become
 * "0"/"1" (bare flags count as 1), content and nodes lists are split on [,; ] and re-joined with
 * ',' without duplicates, other values are checked against their schema. create=false refuses
 * fixed options. -EINVAL with *reterr (malloc'd, upstream wording without newline), -ENOMEM.
 */
int storage_cfg_check_value(
    const StorageType *t, const char *key, const char *value, bool create, char **ret, char **reterr
);

/*
 * Parse storage.cfg text and apply upstream's read-time rules: a `dir: local` with path
 * /var/lib/vz and all file content types is inserted first when `local` is missing, not a dir,
 * has no path or another one; `local` loses `nodes` and `shared`; a section without content gets
 * its type's default content. Invalid properties, sections of unknown types and sections missing a
 * required option are dropped; *ret_warnings (may be NULL) gets a malloc'd text with one line
 * per dropped item (NULL when none). Syntax errors fail with section_config_parse()'s errors.
 */
int storage_cfg_parse(
    const char *text,
    size_t len,
    SectionConfig **ret,
    char **ret_warnings,
    unsigned *reterr_line,
    char **reterr_msg
);

/* Canonical text (see above). -EINVAL for a section of unknown type or missing a required
 * option, -ENOMEM. */
int storage_cfg_print(const SectionConfig *c, char **ret);

/* ---- questions about one storage (a section of a parsed configuration) ---------------------- */

bool storage_cfg_bool(const SectionConfigSection *s, const char *key);
/* shared by type or by the `shared` flag */
bool storage_cfg_is_shared(const SectionConfigSection *s);
/* not disabled and (no `nodes` list or node in it) */
bool storage_cfg_enabled_on(const SectionConfigSection *s, const char *node);
/* node in `nodes` (or no list) */
bool storage_cfg_available_on(const SectionConfigSection *s, const char *node);
bool storage_cfg_has_content(const SectionConfigSection *s, const char *ct);
/* true when item is in the comma-separated list */
bool storage_list_contains(const char *list, const char *item) _pure_;

/*
 * Directory of a content type for path-based storages: <path>/<subdir> with the subdirs
 * images, private (rootdir), template/iso, template/cache (vztmpl), dump (backup), snippets,
 * import, or the `content-dirs` override. *ret malloc'd; -EINVAL when the storage has no path
 * or the content type is unknown.
 */
int storage_cfg_content_dir(const SectionConfigSection *s, const char *ct, char **ret);
