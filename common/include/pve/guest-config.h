/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest-config: the `key: value` files of QEMU VMs (/etc/pve/qemu-server/<vmid>.conf) and LXC
 * containers (/etc/pve/lxc/<vmid>.conf). Owns the text <-> model conversion only: no I/O, no
 * logging, no knowledge of what a key means (values are opaque strings; property strings are
 * parsed elsewhere).
 *
 * Model: a GuestConfig is an ordered list of sections; sections[0] is always the main section,
 * then [PENDING] / [pve:pending], [special:<name>] (QEMU: cloudinit, fleecing) and [<snapname>]
 * in file order. A section is an ordered list of entries plus an optional description (the `#`
 * lines, kept percent-decoded). LXC `lxc.*` pass-through lines are entries with raw = true; they
 * may repeat and keep their position and separator.
 *
 * Two printers: guest_config_print() keeps the model order; guest_config_print_canonical()
 * writes what the upstream writer would (keys sorted bytewise, lxc.* lines after them, then
 * pending, special sections and snapshots sorted by name). Files written by upstream are already
 * canonical, so both printers reproduce them byte for byte.
 *
 * Description encoding: upstream percent-encodes every byte outside 0x20-0x7e, and ':', as %XX
 * (uppercase hex) and leaves '%' alone, which makes a literal "%41" come back as "A". Our
 * printer additionally writes '%' as "%25" when two hex digits follow it; upstream's decoder
 * reads that back correctly and print(parse(x)) becomes a fixed point.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "pve/macro.h"

/* Limits: pmxcfs refuses files over 1 MiB anyway; the others bound the linear lookups. */
#define GUEST_CONFIG_MAX_SIZE     (1024u * 1024u)
#define GUEST_CONFIG_LINE_MAX     65536u
#define GUEST_CONFIG_ENTRIES_MAX  4096u
#define GUEST_CONFIG_SECTIONS_MAX 4096u

typedef enum GuestType {
    GUEST_TYPE_QEMU,
    GUEST_TYPE_LXC,
    _GUEST_TYPE_MAX,
    _GUEST_TYPE_INVALID = -EINVAL,
} GuestType;

typedef enum GuestSectionKind {
    GUEST_SECTION_MAIN,
    GUEST_SECTION_PENDING,  /* [PENDING] (QEMU), [pve:pending] (LXC) */
    GUEST_SECTION_SPECIAL,  /* [special:<name>], QEMU only */
    GUEST_SECTION_SNAPSHOT, /* [<snapname>] */
    _GUEST_SECTION_KIND_MAX,
    _GUEST_SECTION_KIND_INVALID = -EINVAL,
} GuestSectionKind;

typedef struct GuestEntry {
    char *key;
    char *value; /* trimmed; never empty except for raw lxc.* entries */
    bool raw;    /* LXC lxc.* pass-through line */
    bool equals; /* raw line was written "key = value" (canonical output uses ':') */
} GuestEntry;

typedef struct GuestSection {
    GuestType type; /* of the config it belongs to */
    GuestSectionKind kind;
    char *name;        /* snapshot or special name; NULL for main and pending */
    char *description; /* decoded `#` text, lines joined by '\n'; NULL if none */
    GuestEntry *entries;
    size_t n_entries;
    size_t allocated;
} GuestSection;

typedef struct GuestConfig {
    GuestType type;
    GuestSection **sections; /* sections[0] is the main section */
    size_t n_sections;
    size_t allocated;
    char digest[41]; /* SHA-1 hex of the parsed text, "" for a config built in memory */
} GuestConfig;

/* Parse error: 1-based line (0 if not tied to a line, e.g. input too large) and a message. */
typedef struct GuestConfigError {
    unsigned line;
    char message[160];
} GuestConfigError;

/* A new config with an empty main section; NULL on OOM. */
GuestConfig *guest_config_new(GuestType type);
/* Frees c and everything it owns; accepts NULL, returns NULL. */
GuestConfig *guest_config_free(GuestConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(GuestConfig *, guest_config_free);

/*
 * Parse text[0..len) as a config of the given type. On success *ret owns the new config and 0
 * is returned. On failure returns -EINVAL (syntax; *reterr filled), -EFBIG (input larger than
 * GUEST_CONFIG_MAX_SIZE), -E2BIG (too many entries or sections) or -ENOMEM. reterr may be NULL.
 */
int guest_config_parse(
    GuestType type, const char *text, size_t len, GuestConfig **ret, GuestConfigError *reterr
);

/* Print in model order / in upstream's canonical order; *ret is a new NUL-terminated string and
 * *ret_len (may be NULL) its length. 0 or -ENOMEM. */
int guest_config_print(const GuestConfig *c, char **ret, size_t *ret_len);
int guest_config_print_canonical(const GuestConfig *c, char **ret, size_t *ret_len);

/* SHA-1 hex of raw file bytes: the `digest` the API returns and compares. 0 or -EIO. */
int guest_config_digest(const void *raw, size_t len, char ret[static 41]);

/* Sections. Lookups return NULL when absent; name is ignored for MAIN and PENDING. */
GuestSection *guest_config_main(const GuestConfig *c);
GuestSection *
guest_config_find_section(const GuestConfig *c, GuestSectionKind kind, const char *name);
/* Append a section; -EEXIST if present, -EINVAL for a bad name or kind, -E2BIG, -ENOMEM.
 * *ret (may be NULL) points at the section, owned by c. */
int guest_config_add_section(
    GuestConfig *c, GuestSectionKind kind, const char *name, GuestSection **ret
);
/* Remove and free a section (not MAIN); 0 or -ENOENT / -EINVAL. */
int guest_config_remove_section(GuestConfig *c, GuestSectionKind kind, const char *name);

/* true if key is a valid plain key ([a-z][a-z_-]*[0-9]*) / LXC raw key (lxc.[a-z0-9_.-]+). */
bool guest_config_key_valid(const char *key);
bool guest_config_raw_key_valid(const char *key);

/* Value of the first plain (non-raw) entry named key, or NULL. Borrowed from s. */
const char *guest_section_get(const GuestSection *s, const char *key);
/*
 * Set key to value, replacing in place or appending. "description" sets the description.
 * "delete" is accepted only in the pending section. The value must be non-empty, without
 * surrounding whitespace and without control characters other than tab.
 * 0, -EINVAL (bad key/value), -E2BIG or -ENOMEM.
 */
int guest_section_set(GuestSection *s, const char *key, const char *value);
/* Remove a plain key ("description" clears the description); 0 or -ENOENT. */
int guest_section_delete(GuestSection *s, const char *key);
/* Replace the description (NULL clears it). It is normalised as the parser would: trailing
 * whitespace (QEMU) or trailing newlines (LXC) dropped. 0 or -ENOMEM. */
int guest_section_set_description(GuestSection *s, const char *description);
/* Append an LXC lxc.* line; duplicates are allowed. 0, -EINVAL (also for QEMU), -E2BIG or
 * -ENOMEM. */
int guest_section_add_raw(GuestSection *s, const char *key, const char *value);
/* Remove every raw entry named key; returns the number removed. */
int guest_section_delete_raw(GuestSection *s, const char *key);

/*
 * The pending `delete: k1,!k2` list ('!' = force). has() returns true and sets *ret_force (may
 * be NULL) if key is listed. add() creates the pending section when needed and moves an
 * existing key to the end, as upstream does. remove() drops the `delete` entry once empty and
 * returns 1 if key was listed, 0 if not. Errors: -EINVAL (bad key), -ENOMEM.
 */
bool guest_config_pending_delete_has(const GuestConfig *c, const char *key, bool *ret_force);
int guest_config_pending_delete_add(GuestConfig *c, const char *key, bool force);
int guest_config_pending_delete_remove(GuestConfig *c, const char *key);
