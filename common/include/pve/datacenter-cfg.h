/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * datacenter-cfg: /etc/pve/datacenter.cfg, the cluster-wide options behind /cluster/options.
 * Owns the text <-> model conversion, the per-key value checks (enums, patterns, the
 * property-string formats of migration, ha, crs, next-id, ...) and the JSON shape GET returns.
 * Pure functions: no I/O, no logging (parse warnings are collected for the caller).
 *
 * File format (upstream's parse_config plus the description comment):
 *
 *     #first line of the description (percent-encoded)
 *     keyboard: de
 *     migration: insecure,network=10.0.0.0/24
 *     next-id: lower=1000,upper=2000
 *
 * Lines are trimmed; blank lines are skipped; '#' lines make up the description (decoded, each
 * followed by '\n'); other lines are `key: value`. As upstream, the parser is lenient: lines it
 * cannot read, unknown keys and invalid values are dropped with a warning.
 *
 * Model and printing follow upstream's read-modify-write: property-string values read from the
 * file are kept in canonical form (default key first and bare, the others sorted by key,
 * booleans as 1/0), values set through datacenter_cfg_set() are kept as given (after checking),
 * and the printer writes the description as '#' lines (percent-encoded as upstream, plus
 * trailing blanks and a '%' before two hex digits, which the reader would otherwise trim or
 * decode), then every key sorted bytewise as
 * "key: value". The deprecated migration_unsecure becomes migration: type=... when no
 * migration is set (the old key stays).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "pve/macro.h"
#include "pve/property-string.h"

#define DATACENTER_CFG_MAX_SIZE   (1024u * 1024u)
#define DATACENTER_CFG_TEXT_MAX   65536u /* description, consent-text */
#define DATACENTER_NEXTID_LOWER   100
#define DATACENTER_NEXTID_UPPER   1000000
#define DATACENTER_NEXTID_MAX_LOW 999999999
#define DATACENTER_NEXTID_MAX_UP  1000000000

/* Property-string formats (the sizes are checked against the definitions). */
extern const PropertyStringField datacenter_cfg_migration_fields[2];
extern const PropertyStringField datacenter_cfg_ha_fields[1];
extern const PropertyStringField datacenter_cfg_crs_fields[7];
extern const PropertyStringField datacenter_cfg_next_id_fields[2];
extern const PropertyStringField datacenter_cfg_bwlimit_fields[5];
extern const PropertyStringField datacenter_cfg_u2f_fields[2];
extern const PropertyStringField datacenter_cfg_webauthn_fields[4];
extern const PropertyStringField datacenter_cfg_tag_style_fields[4];
extern const PropertyStringField datacenter_cfg_user_tag_access_fields[2];
extern const PropertyStringField datacenter_cfg_notify_fields[6];

typedef struct DatacenterCfgEntry {
    char *key;
    char *value;
} DatacenterCfgEntry;

/* Read the fields directly; change them only through the functions below. */
typedef struct DatacenterCfg {
    char *description; /* decoded, NULL when none */
    DatacenterCfgEntry *entries;
    size_t n_entries;
    size_t n_allocated;
    char **warnings; /* "line N: ..." / "<key>: ..." for dropped input */
    size_t n_warnings;
} DatacenterCfg;

DatacenterCfg *datacenter_cfg_new(void);
DatacenterCfg *datacenter_cfg_free(DatacenterCfg *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(DatacenterCfg *, datacenter_cfg_free);

/* Parse text[0..len) (need not be NUL-terminated). Only -ENOMEM and -EFBIG (above
 * DATACENTER_CFG_MAX_SIZE) fail; everything else becomes a warning. */
int datacenter_cfg_parse(const char *text, size_t len, DatacenterCfg **ret);

/* Canonical text into a malloc'd string ("" for an empty config). 0 or -ENOMEM. */
int datacenter_cfg_print(const DatacenterCfg *c, char **ret);

/* true if key is a datacenter.cfg option ("description" included). */
bool datacenter_cfg_key_is_known(const char *key) _pure_;
/* true for the options whose value is a property string. */
bool datacenter_cfg_key_is_property_string(const char *key) _pure_;

/*
 * Check value for key as the API and the parser do. 0 when valid; -EINVAL with *reterr_msg
 * (malloc'd, upstream-like wording, no trailing newline) otherwise; -ENOMEM.
 */
int datacenter_cfg_check_value(const char *key, const char *value, char **reterr_msg);

/* Value of key (raw string), NULL if unset. "description" returns the description. */
const char *datacenter_cfg_get(const DatacenterCfg *c, const char *key);
/* Set key (checked like datacenter_cfg_check_value(); "description" sets the description).
 * -EINVAL (unknown key, invalid value; *reterr_msg set when not NULL), -ENOMEM. */
int datacenter_cfg_set(DatacenterCfg *c, const char *key, const char *value, char **reterr_msg);
/* Remove key; 1 if it was set, 0 if not. */
int datacenter_cfg_unset(DatacenterCfg *c, const char *key);

/*
 * GET /cluster/options: every option as upstream returns the parsed file: plain values as
 * strings (max_workers as integer, migration_unsecure as 0/1), property strings as objects
 * (integers and numbers as JSON numbers, booleans 0/1), registered-tags and
 * user-tag-access.user-allow-list as arrays, the description with its '\n' line ends.
 * NULL on OOM.
 */
json_t *datacenter_cfg_to_json(const DatacenterCfg *c);

/* next-id range: lower (default 100) and upper (default 1000000, exclusive as upstream). */
void datacenter_cfg_next_id_range(
    const DatacenterCfg *c, long long *ret_lower, long long *ret_upper
);
