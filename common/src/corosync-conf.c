/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * corosync-conf: line parser for corosync.conf into a tree, the two printers, the pmxcfs-style
 * config_version extractor and the nodelist/totem helpers. Pure text processing; it never
 * decides whether a key is meaningful to corosync (that is corosync's job at reload).
 */
#include "pve/corosync-conf.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/strbuf.h"
#include "pve/string-util.h"

static bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static bool name_valid_len(const char *s, size_t len) {
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_name_char(s[i]))
            return false;
    return true;
}

bool corosync_conf_name_valid(const char *name) {
    return name && name_valid_len(name, strlen(name));
}

bool corosync_conf_value_valid(const char *value) {
    if (!value)
        return false;
    size_t len = strlen(value);
    if (len == 0 || is_blank(value[0]) || is_blank(value[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (value[i] == '{' || ((unsigned char) value[i] < 0x20 && value[i] != '\t'))
            return false;
    return true;
}

/* ---- tree ---- */

static CorosyncItem *item_free(CorosyncItem *it) {
    if (!it)
        return NULL;
    for (size_t i = 0; i < it->n_children; i++)
        item_free(it->children[i]);
    free(it->children);
    free(it->name);
    free(it->value);
    free(it);
    return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(CorosyncItem *, item_free);

/* New item; takes ownership of name and value (freed on failure too). */
static CorosyncItem *item_new(CorosyncItemKind kind, char *name, char *value) {
    CorosyncItem *it = calloc(1, sizeof *it);
    if (!it) {
        free(name);
        free(value);
        return NULL;
    }
    it->kind = kind;
    it->name = name;
    it->value = value;
    return it;
}

/* Insert child into parent at index (clamped to the end); on failure child stays the
 * caller's. */
static int item_insert(CorosyncItem *parent, CorosyncItem *child, size_t index) {
    assert(parent->kind == COROSYNC_ITEM_SECTION);
    if (parent->n_children == parent->allocated) {
        size_t n = parent->allocated ? parent->allocated * 2 : 4;
        CorosyncItem **p = reallocarray(parent->children, n, sizeof *p);
        if (!p)
            return -ENOMEM;
        parent->children = p;
        parent->allocated = n;
    }
    if (index > parent->n_children)
        index = parent->n_children;
    memmove(
        parent->children + index + 1, parent->children + index,
        (parent->n_children - index) * sizeof *parent->children
    );
    parent->children[index] = child;
    parent->n_children++;
    child->parent = parent;
    return 0;
}

CorosyncConf *corosync_conf_new(void) {
    CorosyncConf *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->root = item_new(COROSYNC_ITEM_SECTION, NULL, NULL);
    if (!c->root) {
        free(c);
        return NULL;
    }
    return c;
}

CorosyncConf *corosync_conf_free(CorosyncConf *c) {
    if (!c)
        return NULL;
    item_free(c->root);
    free(c);
    return NULL;
}

static CorosyncItem *find_child(const CorosyncItem *sec, CorosyncItemKind kind, const char *name) {
    assert(sec && name);
    for (size_t i = 0; i < sec->n_children; i++) {
        CorosyncItem *it = sec->children[i];
        if (it->kind == kind && streq(it->name, name))
            return it;
    }
    return NULL;
}

CorosyncItem *corosync_item_find_section(const CorosyncItem *sec, const char *name) {
    return find_child(sec, COROSYNC_ITEM_SECTION, name);
}

CorosyncItem *corosync_item_find_key(const CorosyncItem *sec, const char *key) {
    return find_child(sec, COROSYNC_ITEM_KEY, key);
}

const char *corosync_item_get(const CorosyncItem *sec, const char *key) {
    CorosyncItem *it = corosync_item_find_key(sec, key);
    return it ? it->value : NULL;
}

int corosync_item_set(CorosyncItem *sec, const char *key, const char *value) {
    assert(sec && sec->kind == COROSYNC_ITEM_SECTION);
    if (!corosync_conf_name_valid(key) || !corosync_conf_value_valid(value))
        return -EINVAL;
    char *v = strdup(value);
    if (!v)
        return -ENOMEM;
    CorosyncItem *it = corosync_item_find_key(sec, key);
    if (it) {
        free(it->value);
        it->value = v;
        return 0;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return -ENOMEM;
    }
    it = item_new(COROSYNC_ITEM_KEY, k, v);
    if (!it)
        return -ENOMEM;
    int r = item_insert(sec, it, SIZE_MAX);
    if (r < 0)
        item_free(it);
    return r;
}

static void remove_at(CorosyncItem *sec, size_t i) {
    CorosyncItem *it = sec->children[i];
    memmove(
        sec->children + i, sec->children + i + 1, (sec->n_children - i - 1) * sizeof *sec->children
    );
    sec->n_children--;
    item_free(it);
}

int corosync_item_unset(CorosyncItem *sec, const char *key) {
    int n = 0;
    assert(sec && key);
    for (size_t i = sec->n_children; i > 0; i--) {
        CorosyncItem *it = sec->children[i - 1];
        if (it->kind == COROSYNC_ITEM_KEY && streq(it->name, key)) {
            remove_at(sec, i - 1);
            n++;
        }
    }
    return n;
}

int corosync_item_add_section(
    CorosyncItem *sec, const char *name, size_t index, CorosyncItem **ret
) {
    assert(sec && sec->kind == COROSYNC_ITEM_SECTION);
    if (!corosync_conf_name_valid(name))
        return -EINVAL;
    char *n = strdup(name);
    if (!n)
        return -ENOMEM;
    CorosyncItem *it = item_new(COROSYNC_ITEM_SECTION, n, NULL);
    if (!it)
        return -ENOMEM;
    int r = item_insert(sec, it, index);
    if (r < 0) {
        item_free(it);
        return r;
    }
    if (ret)
        *ret = it;
    return 0;
}

void corosync_item_remove(CorosyncItem *item) {
    assert(item && item->parent);
    CorosyncItem *p = item->parent;
    for (size_t i = 0; i < p->n_children; i++)
        if (p->children[i] == item) {
            remove_at(p, i);
            return;
        }
    assert(!"item not found in its parent");
}

/* ---- parser ---- */

typedef struct Parser {
    CorosyncConfError *err;
    unsigned line;
} Parser;

_printf_(2, 3) static int parse_error(Parser *p, const char *fmt, ...) {
    if (p->err) {
        va_list ap;
        p->err->line = p->line;
        va_start(ap, fmt);
        (void) vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int append_item(
    CorosyncItem *sec,
    CorosyncItemKind kind,
    const char *name,
    size_t nlen,
    const char *value,
    size_t vlen,
    CorosyncItem **ret
) {
    char *n = strndup(name, nlen);
    char *v = value ? strndup(value, vlen) : NULL;
    if (!n || (value && !v)) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    CorosyncItem *it = item_new(kind, n, v);
    if (!it)
        return -ENOMEM;
    int r = item_insert(sec, it, SIZE_MAX);
    if (r < 0) {
        item_free(it);
        return r;
    }
    if (ret)
        *ret = it;
    return 0;
}

int corosync_conf_parse(
    const char *text, size_t len, CorosyncConf **ret, CorosyncConfError *reterr
) {
    assert(text || len == 0);
    assert(ret);

    if (len > COROSYNC_CONF_MAX_SIZE) {
        if (reterr) {
            reterr->line = 0;
            (void) snprintf(
                reterr->message, sizeof reterr->message, "file larger than %u bytes",
                COROSYNC_CONF_MAX_SIZE
            );
        }
        return -EFBIG;
    }

    _cleanup_(corosync_conf_freep) CorosyncConf *c = corosync_conf_new();
    if (!c)
        return -ENOMEM;
    Parser p = {.err = reterr};
    CorosyncItem *cur = c->root;
    unsigned depth = 0;
    unsigned open_line[COROSYNC_CONF_DEPTH_MAX + 1] = {0};
    char buf[64];
    int r;

    for (size_t pos = 0; pos < len;) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t l = nl ? (size_t) (nl - s) : len - pos;
        pos += l + (nl ? 1 : 0);
        p.line++;

        if (l > COROSYNC_CONF_LINE_MAX)
            return parse_error(&p, "line too long (more than %u bytes)", COROSYNC_CONF_LINE_MAX);
        /* corosync trims blanks, '\r' and '\n' at the end and blanks at the start */
        while (l > 0 && (is_blank(s[l - 1]) || s[l - 1] == '\r'))
            l--;
        while (l > 0 && is_blank(*s))
            s++, l--;
        if (l == 0)
            continue;
        for (size_t i = 0; i < l; i++) {
            if (s[i] == '\0')
                return parse_error(&p, "NUL byte in line");
            if ((unsigned char) s[i] < 0x20 && s[i] != '\t')
                return parse_error(&p, "control character in line");
        }

        if (s[0] == '#') {
            r = append_item(cur, COROSYNC_ITEM_COMMENT, s + 1, l - 1, NULL, 0, NULL);
            if (r < 0)
                return r;
            continue;
        }

        const char *brace = memchr(s, '{', l);
        if (brace) {
            size_t nlen = (size_t) (brace - s);
            while (nlen > 0 && is_blank(s[nlen - 1]))
                nlen--;
            for (const char *q = brace + 1; q < s + l; q++)
                if (!is_blank(*q))
                    return parse_error(&p, "extra characters after '{'");
            if (nlen == 0)
                return parse_error(&p, "missing section name before '{'");
            if (!name_valid_len(s, nlen))
                return parse_error(
                    &p, "invalid section name '%s'", str_excerpt(s, nlen, buf, sizeof buf)
                );
            if (depth >= COROSYNC_CONF_DEPTH_MAX)
                return parse_error(
                    &p, "sections nested deeper than %u levels", COROSYNC_CONF_DEPTH_MAX
                );
            CorosyncItem *sec;
            r = append_item(cur, COROSYNC_ITEM_SECTION, s, nlen, NULL, 0, &sec);
            if (r < 0)
                return r;
            cur = sec;
            open_line[++depth] = p.line;
            continue;
        }

        const char *colon = memchr(s, ':', l);
        if (colon) {
            size_t klen = (size_t) (colon - s);
            while (klen > 0 && is_blank(s[klen - 1]))
                klen--;
            if (klen == 0)
                return parse_error(&p, "missing key name before ':'");
            if (!name_valid_len(s, klen))
                return parse_error(&p, "invalid key '%s'", str_excerpt(s, klen, buf, sizeof buf));
            const char *v = colon + 1;
            size_t vlen = l - (size_t) (v - s);
            while (vlen > 0 && is_blank(*v))
                v++, vlen--;
            if (vlen == 0)
                return parse_error(
                    &p, "missing value for key '%s'", str_excerpt(s, klen, buf, sizeof buf)
                );
            r = append_item(cur, COROSYNC_ITEM_KEY, s, klen, v, vlen, NULL);
            if (r < 0)
                return r;
            continue;
        }

        if (memchr(s, '}', l)) {
            if (l != 1)
                return parse_error(&p, "extra characters before or after '}'");
            if (depth == 0)
                return parse_error(&p, "unexpected '}' without an open section");
            cur = cur->parent;
            depth--;
            continue;
        }

        return parse_error(
            &p, "expected 'key: value', 'name {' or '}', got '%s'",
            str_excerpt(s, l, buf, sizeof buf)
        );
    }

    if (depth > 0) {
        p.line = open_line[depth];
        return parse_error(
            &p, "missing '}' for section '%s' opened here",
            str_excerpt(cur->name, strlen(cur->name), buf, sizeof buf)
        );
    }
    *ret = TAKE_PTR(c);
    return 0;
}

/* ---- printers ---- */

typedef struct SortItem {
    const CorosyncItem *item;
    const char *subkey; /* node name / interface linknumber, "" otherwise */
    size_t index;
} SortItem;

static int cmp_sort_item(const void *a, const void *b) {
    const SortItem *x = a, *y = b;
    int r = strcmp(x->item->name, y->item->name);
    if (r == 0)
        r = strcmp(x->subkey, y->subkey);
    if (r == 0)
        r = x->index < y->index ? -1 : x->index > y->index;
    return r;
}

static const char *node_name(const CorosyncItem *node) {
    const char *n = corosync_item_get(node, "name");
    return n ? n : corosync_item_get(node, "ring0_addr");
}

/* PVE's writer keys nodelist.node by node name and totem.interface by link number. */
static const char *sort_subkey(const CorosyncItem *sec, const CorosyncItem *it) {
    const char *k = NULL;
    if (it->kind != COROSYNC_ITEM_SECTION || !sec->parent || sec->parent->parent)
        return "";
    if (streq(sec->name, "nodelist") && streq(it->name, "node"))
        k = node_name(it);
    else if (streq(sec->name, "totem") && streq(it->name, "interface")) {
        k = corosync_item_get(it, "linknumber");
        if (!k)
            k = corosync_item_get(it, "ringnumber");
    }
    return k ? k : "";
}

static void indent(StrBuf *b, unsigned depth) {
    for (unsigned i = 0; i < depth; i++)
        strbuf_append(b, "  ");
}

static int print_section(StrBuf *b, const CorosyncItem *sec, unsigned depth, bool canonical);

static int print_item(StrBuf *b, const CorosyncItem *it, unsigned depth, bool canonical) {
    indent(b, depth);
    switch (it->kind) {
    case COROSYNC_ITEM_KEY:
        strbuf_printf(b, "%s: %s\n", it->name, it->value);
        return 0;
    case COROSYNC_ITEM_COMMENT:
        strbuf_printf(b, "#%s\n", it->name);
        return 0;
    case COROSYNC_ITEM_SECTION: {
        strbuf_printf(b, "%s {\n", it->name);
        int r = print_section(b, it, depth + 1, canonical);
        if (r < 0)
            return r;
        indent(b, depth);
        strbuf_append(b, depth == 0 ? "}\n\n" : "}\n");
        return 0;
    }
    default:
        assert(!"bad item kind");
        return -EINVAL;
    }
}

static int print_section(StrBuf *b, const CorosyncItem *sec, unsigned depth, bool canonical) {
    if (!canonical) {
        for (size_t i = 0; i < sec->n_children; i++) {
            int r = print_item(b, sec->children[i], depth, false);
            if (r < 0)
                return r;
        }
        return 0;
    }
    _cleanup_free_ SortItem *v = calloc(sec->n_children + 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < sec->n_children; i++) {
        const CorosyncItem *it = sec->children[i];
        if (it->kind == COROSYNC_ITEM_COMMENT)
            continue;
        v[n++] = (SortItem){.item = it, .subkey = sort_subkey(sec, it), .index = i};
    }
    qsort(v, n, sizeof *v, cmp_sort_item);
    for (size_t i = 0; i < n; i++) {
        int r = print_item(b, v[i].item, depth, true);
        if (r < 0)
            return r;
    }
    return 0;
}

int corosync_conf_print(const CorosyncConf *c, char **ret, size_t *ret_len) {
    assert(c && ret);
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    int r = print_section(&b, c->root, 0, false);
    if (r < 0)
        return r;
    return strbuf_finish(&b, ret, ret_len);
}

int corosync_conf_print_canonical(const CorosyncConf *c, char **ret, size_t *ret_len) {
    assert(c && ret);
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    int r = print_section(&b, c->root, 0, true);
    if (r < 0)
        return r;
    return strbuf_finish(&b, ret, ret_len);
}

/* ---- pmxcfs-style version extraction ---- */

/* PCRE's \s */
static bool is_pcre_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int corosync_conf_extract_config_version(const char *text, size_t len, uint64_t *ret) {
    static const char needle[] = "config_version";
    const size_t nlen = sizeof needle - 1;

    assert(text || len == 0);
    assert(ret);
    for (size_t pos = 0; len >= nlen && pos <= len - nlen;) {
        const char *m = memmem(text + pos, len - pos, needle, nlen);
        if (!m)
            break;
        size_t i = (size_t) (m - text) + nlen;
        pos = (size_t) (m - text) + 1;
        while (i < len && is_pcre_space(text[i]))
            i++;
        if (i >= len || text[i] != ':')
            continue;
        i++;
        while (i < len && is_pcre_space(text[i]))
            i++;
        if (i >= len || text[i] < '0' || text[i] > '9')
            continue;
        uint64_t v = 0;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
            unsigned d = (unsigned) (text[i] - '0');
            if (v > (UINT64_MAX - d) / 10)
                return -ERANGE;
            v = v * 10 + d;
        }
        *ret = v;
        return 0;
    }
    return -ENOENT;
}

/* ---- paths, totem ---- */

/* Walk path's sections; *ret_last gets the final component. create: add missing sections. */
static int walk_path(
    CorosyncItem *root, const char *path, bool create, CorosyncItem **ret_sec, const char **ret_last
) {
    CorosyncItem *sec = root;
    const char *p = path;
    const char *dot;
    char name[256];

    while ((dot = strchr(p, '.'))) {
        size_t n = (size_t) (dot - p);
        if (n == 0 || n >= sizeof name)
            return -EINVAL;
        memcpy(name, p, n);
        name[n] = '\0';
        CorosyncItem *next = corosync_item_find_section(sec, name);
        if (!next) {
            if (!create)
                return -ENOENT;
            int r = corosync_item_add_section(sec, name, SIZE_MAX, &next);
            if (r < 0)
                return r;
        }
        sec = next;
        p = dot + 1;
    }
    *ret_sec = sec;
    *ret_last = p;
    return 0;
}

const char *corosync_conf_get(const CorosyncConf *c, const char *path) {
    CorosyncItem *sec;
    const char *key;
    assert(c && path);
    if (walk_path(c->root, path, false, &sec, &key) < 0)
        return NULL;
    return corosync_item_get(sec, key);
}

int corosync_conf_set(CorosyncConf *c, const char *path, const char *value) {
    CorosyncItem *sec;
    const char *key;
    assert(c && path);
    /* validate first so a bad value does not leave new empty sections behind */
    const char *last = strrchr(path, '.');
    if (!corosync_conf_name_valid(last ? last + 1 : path) || !corosync_conf_value_valid(value))
        return -EINVAL;
    int r = walk_path(c->root, path, true, &sec, &key);
    if (r < 0)
        return r;
    return corosync_item_set(sec, key, value);
}

const char *corosync_conf_get_cluster_name(const CorosyncConf *c) {
    return corosync_conf_get(c, "totem.cluster_name");
}

int corosync_conf_get_config_version(const CorosyncConf *c, uint64_t *ret) {
    const char *v = corosync_conf_get(c, "totem.config_version");
    unsigned long long u;
    if (!v)
        return -ENOENT;
    if (safe_atou64(v, &u) < 0)
        return -EINVAL;
    *ret = u;
    return 0;
}

int corosync_conf_bump_config_version(CorosyncConf *c, uint64_t *ret_new) {
    uint64_t v;
    char buf[32];
    int r = corosync_conf_get_config_version(c, &v);
    if (r < 0)
        return r;
    if (v == UINT64_MAX)
        return -ERANGE;
    v++;
    (void) snprintf(buf, sizeof buf, "%llu", (unsigned long long) v);
    r = corosync_conf_set(c, "totem.config_version", buf);
    if (r < 0)
        return r;
    if (ret_new)
        *ret_new = v;
    return 0;
}

/* ---- nodelist ---- */

static CorosyncItem *nodelist(const CorosyncConf *c) {
    return corosync_item_find_section(c->root, "nodelist");
}

static bool is_node(const CorosyncItem *it) {
    return it->kind == COROSYNC_ITEM_SECTION && streq(it->name, "node");
}

/* ringN_addr with N in 0..7 → N, else -1 */
static int ring_index(const char *key) {
    if (strlen(key) == STRLEN("ring0_addr") && startswith(key, "ring") && streq(key + 5, "_addr") &&
        key[4] >= '0' && key[4] < '0' + (int) COROSYNC_LINKS_MAX)
        return key[4] - '0';
    return -1;
}

CorosyncNode *corosync_nodes_free(CorosyncNode *nodes, size_t n) {
    if (!nodes)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        free(nodes[i].name);
        for (size_t j = 0; j < COROSYNC_LINKS_MAX; j++)
            free(nodes[i].ring_addr[j]);
    }
    free(nodes);
    return NULL;
}

static int node_from_item(const CorosyncItem *it, CorosyncNode *n) {
    *n = (CorosyncNode){.quorum_votes = 1};
    for (size_t i = 0; i < it->n_children; i++) {
        const CorosyncItem *k = it->children[i];
        unsigned u;
        int ring;
        if (k->kind != COROSYNC_ITEM_KEY)
            continue;
        if (streq(k->name, "nodeid")) {
            if (safe_atou32(k->value, &u) < 0)
                return -EINVAL;
            n->nodeid = u;
        } else if (streq(k->name, "quorum_votes")) {
            if (safe_atou32(k->value, &u) < 0)
                return -EINVAL;
            n->quorum_votes = u;
        } else if ((ring = ring_index(k->name)) >= 0 && !n->ring_addr[ring]) {
            if (!(n->ring_addr[ring] = strdup(k->value)))
                return -ENOMEM;
        }
    }
    const char *name = node_name(it);
    if (name && !(n->name = strdup(name)))
        return -ENOMEM;
    return 0;
}

int corosync_conf_get_nodes(const CorosyncConf *c, CorosyncNode **ret, size_t *ret_n) {
    assert(c && ret && ret_n);
    const CorosyncItem *nl = nodelist(c);
    size_t count = 0;
    if (nl)
        for (size_t i = 0; i < nl->n_children; i++)
            count += is_node(nl->children[i]);
    if (count == 0) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    CorosyncNode *v = calloc(count, sizeof *v);
    if (!v)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < nl->n_children; i++) {
        if (!is_node(nl->children[i]))
            continue;
        int r = node_from_item(nl->children[i], &v[n++]);
        if (r < 0) {
            corosync_nodes_free(v, n);
            return r;
        }
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

CorosyncItem *corosync_conf_find_node(const CorosyncConf *c, const char *name) {
    assert(c && name);
    CorosyncItem *nl = nodelist(c);
    if (!nl)
        return NULL;
    for (size_t i = 0; i < nl->n_children; i++) {
        CorosyncItem *it = nl->children[i];
        const char *n;
        if (is_node(it) && (n = node_name(it)) && streq(n, name))
            return it;
    }
    return NULL;
}

int corosync_conf_add_node(CorosyncConf *c, const CorosyncNode *node) {
    assert(c && node);
    bool any_ring = false;
    if (!corosync_conf_name_valid(node->name) || node->nodeid == 0)
        return -EINVAL;
    for (size_t j = 0; j < COROSYNC_LINKS_MAX; j++)
        if (node->ring_addr[j]) {
            if (!corosync_conf_value_valid(node->ring_addr[j]))
                return -EINVAL;
            any_ring = true;
        }
    if (!any_ring)
        return -EINVAL;

    CorosyncItem *nl = nodelist(c);
    size_t pos = SIZE_MAX, after_last = SIZE_MAX;
    if (nl)
        for (size_t i = 0; i < nl->n_children; i++) {
            const CorosyncItem *it = nl->children[i];
            if (!is_node(it))
                continue;
            const char *name = node_name(it);
            const char *id = corosync_item_get(it, "nodeid");
            unsigned u;
            if (name && streq(name, node->name))
                return -EEXIST;
            if (id && safe_atou32(id, &u) == 0 && u == node->nodeid)
                return -EEXIST;
            if (pos == SIZE_MAX && name && strcmp(name, node->name) > 0)
                pos = i;
            after_last = i + 1;
        }
    if (pos == SIZE_MAX)
        pos = after_last;

    /* Build the block detached, then link it in, so a failure leaves c unchanged. */
    _cleanup_(item_freep) CorosyncItem *blk = item_new(COROSYNC_ITEM_SECTION, strdup("node"), NULL);
    if (!blk || !blk->name)
        return -ENOMEM;
    char buf[32];
    int r = corosync_item_set(blk, "name", node->name);
    if (r < 0)
        return r;
    (void) snprintf(buf, sizeof buf, "%u", node->nodeid);
    r = corosync_item_set(blk, "nodeid", buf);
    if (r < 0)
        return r;
    (void) snprintf(buf, sizeof buf, "%u", node->quorum_votes ? node->quorum_votes : 1);
    r = corosync_item_set(blk, "quorum_votes", buf);
    if (r < 0)
        return r;
    for (size_t j = 0; j < COROSYNC_LINKS_MAX; j++) {
        if (!node->ring_addr[j])
            continue;
        char key[16];
        (void) snprintf(key, sizeof key, "ring%zu_addr", j);
        r = corosync_item_set(blk, key, node->ring_addr[j]);
        if (r < 0)
            return r;
    }

    if (!nl) {
        r = corosync_item_add_section(c->root, "nodelist", SIZE_MAX, &nl);
        if (r < 0)
            return r;
    }
    r = item_insert(nl, blk, pos);
    if (r < 0)
        return r;
    TAKE_PTR(blk);
    return 0;
}

int corosync_conf_remove_node(CorosyncConf *c, const char *name) {
    CorosyncItem *it = corosync_conf_find_node(c, name);
    if (!it)
        return -ENOENT;
    corosync_item_remove(it);
    return 0;
}
