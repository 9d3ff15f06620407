/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * corosync-conf: /etc/pve/corosync.conf (and /etc/corosync/corosync.conf) as a tree of sections,
 * `key: value` items and comments in file order, with the helpers pvecm and pmxcfs need:
 * config_version, cluster_name, the node list, adding/removing nodes. Owns text <-> tree only;
 * no I/O, no logging, no reload of corosync.
 *
 * Syntax (as corosync's own parser reads it, line by line): a line whose first non-blank
 * character is '#' is a comment; a line containing '{' opens a section named by the text before
 * it (nothing may follow the brace); a line with ':' is `key: value` (value trimmed, may contain
 * ':' and '}'); a line that is exactly '}' closes a section. Blank lines are not kept.
 *
 * Printers: corosync_conf_print() keeps the tree order; corosync_conf_print_canonical() writes
 * what PVE's writer produces from the same content: every level sorted by key (bytewise),
 * nodelist `node` blocks ordered by node name and totem `interface` blocks by linknumber,
 * comments dropped. Both indent by two spaces per level and put a blank line after every
 * top-level section, so files written by PVE come back byte for byte from either printer.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pve/macro.h"

#define COROSYNC_CONF_MAX_SIZE  (1024u * 1024u)
#define COROSYNC_CONF_LINE_MAX  510u /* corosync reads lines into a 512-byte buffer */
#define COROSYNC_CONF_DEPTH_MAX 16u
#define COROSYNC_LINKS_MAX      8u /* knet links: ring0_addr .. ring7_addr */

typedef enum CorosyncItemKind {
    COROSYNC_ITEM_KEY,
    COROSYNC_ITEM_SECTION,
    COROSYNC_ITEM_COMMENT,
    _COROSYNC_ITEM_KIND_MAX,
    _COROSYNC_ITEM_KIND_INVALID = -EINVAL,
} CorosyncItemKind;

typedef struct CorosyncItem CorosyncItem;
struct CorosyncItem {
    CorosyncItemKind kind;
    char *name;  /* key or section name; comment text after '#' (trailing blanks cut) */
    char *value; /* KEY only */
    CorosyncItem *parent;
    CorosyncItem **children; /* SECTION only */
    size_t n_children;
    size_t allocated;
};

/* The root is an unnamed SECTION holding the top-level items. */
typedef struct CorosyncConf {
    CorosyncItem *root;
} CorosyncConf;

typedef struct CorosyncConfError {
    unsigned line; /* 1-based; 0 if not tied to a line */
    char message[160];
} CorosyncConfError;

typedef struct CorosyncNode {
    char *name;                          /* `name`, else ring0_addr as upstream falls back to */
    uint32_t nodeid;                     /* 0 if absent */
    uint32_t quorum_votes;               /* 1 if absent (corosync's default) */
    char *ring_addr[COROSYNC_LINKS_MAX]; /* ringN_addr or NULL */
} CorosyncNode;

/* Empty config (root only); NULL on OOM. */
CorosyncConf *corosync_conf_new(void);
CorosyncConf *corosync_conf_free(CorosyncConf *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(CorosyncConf *, corosync_conf_free);

/*
 * Parse text[0..len). 0 and *ret on success; -EINVAL on a syntax error (reterr filled, may be
 * NULL), -EFBIG if len > COROSYNC_CONF_MAX_SIZE, -ENOMEM.
 */
int corosync_conf_parse(
    const char *text, size_t len, CorosyncConf **ret, CorosyncConfError *reterr
);

/* Printers (see above); *ret is a new string, *ret_len (may be NULL) its length. 0/-ENOMEM. */
int corosync_conf_print(const CorosyncConf *c, char **ret, size_t *ret_len);
int corosync_conf_print_canonical(const CorosyncConf *c, char **ret, size_t *ret_len);

/*
 * The way pmxcfs reads the version before syncing the file to the host: the first match of
 * `config_version\s*:\s*(\d+)` anywhere in the bytes, ignoring structure, comments and
 * everything the full parser would reject (pmxcfs must keep working on a file corosync would
 * refuse). 0 and *ret on a match, -ENOENT if there is none, -ERANGE if it overflows u64.
 * pmxcfs treats a version of 0 as unparsable too; callers should do the same.
 */
int corosync_conf_extract_config_version(const char *text, size_t len, uint64_t *ret);

/* Generic tree access. A name/key is [A-Za-z0-9_.-]+; a value is non-empty, has no surrounding
 * blanks, no '{' and no control characters other than tab. */
bool corosync_conf_name_valid(const char *name);
bool corosync_conf_value_valid(const char *value);
/* First child SECTION / KEY of sec with that name, or NULL. */
CorosyncItem *corosync_item_find_section(const CorosyncItem *sec, const char *name);
CorosyncItem *corosync_item_find_key(const CorosyncItem *sec, const char *key);
/* Value of the first KEY child, or NULL. */
const char *corosync_item_get(const CorosyncItem *sec, const char *key);
/* Replace the first KEY child's value or append a new key. 0, -EINVAL, -ENOMEM. */
int corosync_item_set(CorosyncItem *sec, const char *key, const char *value);
/* Remove every KEY child named key; returns the number removed. */
int corosync_item_unset(CorosyncItem *sec, const char *key);
/* Append a new empty SECTION child at index (SIZE_MAX = at the end). 0, -EINVAL, -ENOMEM. */
int corosync_item_add_section(
    CorosyncItem *sec, const char *name, size_t index, CorosyncItem **ret
);
/* Detach and free a child item of its parent. */
void corosync_item_remove(CorosyncItem *item);

/* Dotted-path access from the root, e.g. "totem.cluster_name", "quorum.device.model": every
 * component but the last names the first section of that name. get() returns NULL if absent;
 * set() creates missing sections at the end of their parent. */
const char *corosync_conf_get(const CorosyncConf *c, const char *path);
int corosync_conf_set(CorosyncConf *c, const char *path, const char *value);

/* totem.cluster_name or NULL. */
const char *corosync_conf_get_cluster_name(const CorosyncConf *c);
/* totem.config_version: 0, -ENOENT (absent) or -EINVAL (not a number). */
int corosync_conf_get_config_version(const CorosyncConf *c, uint64_t *ret);
/* config_version += 1; *ret_new (may be NULL) gets the new value. -ENOENT, -EINVAL, -ERANGE. */
int corosync_conf_bump_config_version(CorosyncConf *c, uint64_t *ret_new);

/*
 * The `node` blocks of the top-level `nodelist`, in file order. *ret is an array of *ret_n
 * nodes (NULL and 0 if there is no nodelist); free with corosync_nodes_free(). -EINVAL if a
 * nodeid or quorum_votes value is not a u32, -ENOMEM. Keys other than ring0..7_addr are
 * ignored.
 */
int corosync_conf_get_nodes(const CorosyncConf *c, CorosyncNode **ret, size_t *ret_n);
CorosyncNode *corosync_nodes_free(CorosyncNode *nodes, size_t n);
/* The `node` SECTION whose name (or ring0_addr fallback) is name, or NULL. */
CorosyncItem *corosync_conf_find_node(const CorosyncConf *c, const char *name);
/*
 * Add a node block with keys name, nodeid, quorum_votes, ringN_addr (in that, PVE's, order),
 * placed before the first existing node that sorts after it by name; the nodelist is created
 * if missing. Does not bump config_version. -EEXIST (name or nodeid taken), -EINVAL (no name,
 * nodeid 0, invalid value, no ring address), -ENOMEM.
 */
int corosync_conf_add_node(CorosyncConf *c, const CorosyncNode *node);
/* Remove the node block named name: 0 or -ENOENT. Does not bump config_version. */
int corosync_conf_remove_node(CorosyncConf *c, const char *name);
