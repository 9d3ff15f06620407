/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest-config: parser, model helpers and the two printers for QEMU/LXC guest config files.
 * Pure text processing: no I/O, no logging, no value validation (a value is an opaque string;
 * what `scsi0` or `net0` mean is for the property-string layer and the API schema).
 *
 * The accepted syntax follows the upstream reader (strict mode): key lines start in column 0,
 * `#` lines in column 0 are the description of the section they appear in, section headers are
 * `[name]` in column 0 followed by optional whitespace, blank lines are skipped and "\r" counts
 * as whitespace. Where upstream silently lets a later duplicate key win we report an error.
 */
#include "pve/guest-config.h"

#include <sys/types.h>

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/digest.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"

/* Perl's \s: the whitespace class the upstream regexes trim with. */
static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_lower(char c) {
    return c >= 'a' && c <= 'z';
}

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c) {
    return is_lower(c) || (c >= 'A' && c <= 'Z');
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static const char *pending_header(GuestType type) {
    return type == GUEST_TYPE_LXC ? "pve:pending" : "PENDING";
}

/* Plain key: [a-z][a-z_-]*[0-9]* over s[0..len). */
static bool key_valid_len(const char *s, size_t len) {
    size_t i = 0;

    if (len == 0 || !is_lower(s[0]))
        return false;
    for (i = 1; i < len && (is_lower(s[i]) || s[i] == '_' || s[i] == '-'); i++)
        ;
    for (; i < len && is_digit(s[i]); i++)
        ;
    return i == len;
}

bool guest_config_key_valid(const char *key) {
    return key && key_valid_len(key, strlen(key));
}

/* LXC pass-through key: lxc.[a-z0-9_.-]+ over s[0..len). */
static bool raw_key_valid_len(const char *s, size_t len) {
    if (len <= 4 || memcmp(s, "lxc.", 4) != 0)
        return false;
    for (size_t i = 4; i < len; i++)
        if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

bool guest_config_raw_key_valid(const char *key) {
    return key && raw_key_valid_len(key, strlen(key));
}

/* Snapshot names: [A-Za-z][A-Za-z0-9_-]+ (upstream matches case-insensitively). */
static bool snapshot_name_valid_len(const char *s, size_t len) {
    if (len < 2 || !is_alpha(s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

/* Special section names (after "special:"): [a-z][a-z0-9_-]*. */
static bool special_name_valid_len(const char *s, size_t len) {
    if (len < 1 || !is_lower(s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

static bool section_name_valid(GuestType type, GuestSectionKind kind, const char *name) {
    switch (kind) {
    case GUEST_SECTION_SPECIAL:
        return type == GUEST_TYPE_QEMU && name && special_name_valid_len(name, strlen(name));
    case GUEST_SECTION_SNAPSHOT:
        if (!name || !snapshot_name_valid_len(name, strlen(name)))
            return false;
        /* QEMU reads [pending] in any case as the pending section. */
        return !(type == GUEST_TYPE_QEMU && strcasecmp(name, "pending") == 0);
    default:
        return false;
    }
}

/* A value we can print and read back unchanged: no surrounding whitespace, no control chars
 * other than tab inside. */
static bool value_valid(const char *v, bool allow_empty) {
    size_t len = strlen(v);

    if (len == 0)
        return allow_empty;
    if (is_space(v[0]) || is_space(v[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) v[i] < 0x20 && v[i] != '\t')
            return false;
    return true;
}

/* ---- model ---- */

static GuestSection *section_free(GuestSection *s) {
    if (!s)
        return NULL;
    for (size_t i = 0; i < s->n_entries; i++) {
        free(s->entries[i].key);
        free(s->entries[i].value);
    }
    free(s->entries);
    free(s->name);
    free(s->description);
    free(s);
    return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(GuestSection *, section_free);

GuestConfig *guest_config_free(GuestConfig *c) {
    if (!c)
        return NULL;
    for (size_t i = 0; i < c->n_sections; i++)
        section_free(c->sections[i]);
    free(c->sections);
    free(c);
    return NULL;
}

static int config_append_section(GuestConfig *c, GuestSection *s) {
    if (c->n_sections >= GUEST_CONFIG_SECTIONS_MAX)
        return -E2BIG;
    if (c->n_sections == c->allocated) {
        size_t n = c->allocated ? c->allocated * 2 : 4;
        GuestSection **p = reallocarray(c->sections, n, sizeof *p);
        if (!p)
            return -ENOMEM;
        c->sections = p;
        c->allocated = n;
    }
    c->sections[c->n_sections++] = s;
    return 0;
}

GuestConfig *guest_config_new(GuestType type) {
    assert(type >= 0 && type < _GUEST_TYPE_MAX);

    _cleanup_(guest_config_freep) GuestConfig *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->type = type;
    GuestSection *main_section = calloc(1, sizeof *main_section);
    if (!main_section)
        return NULL;
    main_section->type = type;
    main_section->kind = GUEST_SECTION_MAIN;
    if (config_append_section(c, main_section) < 0) {
        free(main_section);
        return NULL;
    }
    return TAKE_PTR(c);
}

GuestSection *guest_config_main(const GuestConfig *c) {
    assert(c && c->n_sections > 0);
    return c->sections[0];
}

GuestSection *
guest_config_find_section(const GuestConfig *c, GuestSectionKind kind, const char *name) {
    assert(c);
    for (size_t i = 0; i < c->n_sections; i++) {
        GuestSection *s = c->sections[i];
        if (s->kind != kind)
            continue;
        if (kind == GUEST_SECTION_MAIN || kind == GUEST_SECTION_PENDING)
            return s;
        if (name && streq(s->name, name))
            return s;
    }
    return NULL;
}

int guest_config_add_section(
    GuestConfig *c, GuestSectionKind kind, const char *name, GuestSection **ret
) {
    assert(c);
    if (kind == GUEST_SECTION_PENDING)
        name = NULL;
    else if (!section_name_valid(c->type, kind, name))
        return -EINVAL;
    if (guest_config_find_section(c, kind, name))
        return -EEXIST;

    _cleanup_(section_freep) GuestSection *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->type = c->type;
    s->kind = kind;
    if (name && !(s->name = strdup(name)))
        return -ENOMEM;
    int r = config_append_section(c, s);
    if (r < 0)
        return r;
    if (ret)
        *ret = s;
    TAKE_PTR(s);
    return 0;
}

int guest_config_remove_section(GuestConfig *c, GuestSectionKind kind, const char *name) {
    assert(c);
    if (kind == GUEST_SECTION_MAIN)
        return -EINVAL;
    GuestSection *s = guest_config_find_section(c, kind, name);
    if (!s)
        return -ENOENT;
    for (size_t i = 1; i < c->n_sections; i++)
        if (c->sections[i] == s) {
            memmove(
                c->sections + i, c->sections + i + 1, (c->n_sections - i - 1) * sizeof *c->sections
            );
            c->n_sections--;
            break;
        }
    section_free(s);
    return 0;
}

static ssize_t section_index(const GuestSection *s, const char *key, size_t len) {
    for (size_t i = 0; i < s->n_entries; i++) {
        const GuestEntry *e = &s->entries[i];
        if (!e->raw && strlen(e->key) == len && memcmp(e->key, key, len) == 0)
            return (ssize_t) i;
    }
    return -1;
}

/* Append an entry taking ownership of key and value (freed on failure too). */
static int section_append(GuestSection *s, char *key, char *value, bool raw, bool equals) {
    if (s->n_entries >= GUEST_CONFIG_ENTRIES_MAX) {
        free(key);
        free(value);
        return -E2BIG;
    }
    if (s->n_entries == s->allocated) {
        size_t n = s->allocated ? s->allocated * 2 : 8;
        GuestEntry *p = reallocarray(s->entries, n, sizeof *p);
        if (!p) {
            free(key);
            free(value);
            return -ENOMEM;
        }
        s->entries = p;
        s->allocated = n;
    }
    s->entries[s->n_entries++] = (GuestEntry){
        .key = key,
        .value = value,
        .raw = raw,
        .equals = equals,
    };
    return 0;
}

const char *guest_section_get(const GuestSection *s, const char *key) {
    assert(s && key);
    ssize_t i = section_index(s, key, strlen(key));
    return i < 0 ? NULL : s->entries[i].value;
}

/* Description normalisation, shared by the parser and the setter. QEMU trims trailing
 * whitespace and keeps an empty description (a pending "#" line means "set to empty"); LXC
 * only loses trailing empty lines and treats an empty description as none. */
static int description_finish(GuestType type, StrBuf *b, char **ret) {
    size_t len = b->len;

    if (type == GUEST_TYPE_QEMU) {
        while (len > 0 && is_space(b->data[len - 1]))
            len--;
    } else {
        while (len > 0 && b->data[len - 1] == '\n')
            len--;
        if (len == 0) {
            strbuf_done(b);
            *ret = NULL;
            return 0;
        }
    }
    strbuf_truncate(b, len);
    return strbuf_finish(b, ret, NULL);
}

int guest_section_set_description(GuestSection *s, const char *description) {
    assert(s);
    if (!description) {
        free(s->description);
        s->description = NULL;
        return 0;
    }
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    char *d = NULL;
    strbuf_append(&b, description);
    int r = description_finish(s->type, &b, &d);
    if (r < 0)
        return r;
    free(s->description);
    s->description = d;
    return 0;
}

int guest_section_set(GuestSection *s, const char *key, const char *value) {
    assert(s && key && value);
    if (!guest_config_key_valid(key) || !value_valid(value, false))
        return -EINVAL;
    if (streq(key, "description")) {
        return guest_section_set_description(s, value);
    }
    if (streq(key, "delete") && s->kind != GUEST_SECTION_PENDING)
        return -EINVAL;

    char *v = strdup(value);
    if (!v)
        return -ENOMEM;
    ssize_t i = section_index(s, key, strlen(key));
    if (i >= 0) {
        free(s->entries[i].value);
        s->entries[i].value = v;
        return 0;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return -ENOMEM;
    }
    return section_append(s, k, v, false, false);
}

static void section_remove_at(GuestSection *s, size_t i) {
    free(s->entries[i].key);
    free(s->entries[i].value);
    memmove(s->entries + i, s->entries + i + 1, (s->n_entries - i - 1) * sizeof *s->entries);
    s->n_entries--;
}

int guest_section_delete(GuestSection *s, const char *key) {
    assert(s && key);
    if (streq(key, "description")) {
        if (!s->description)
            return -ENOENT;
        free(s->description);
        s->description = NULL;
        return 0;
    }
    ssize_t i = section_index(s, key, strlen(key));
    if (i < 0)
        return -ENOENT;
    section_remove_at(s, (size_t) i);
    return 0;
}

int guest_section_add_raw(GuestSection *s, const char *key, const char *value) {
    assert(s && key && value);
    if (s->type != GUEST_TYPE_LXC || !guest_config_raw_key_valid(key) || !value_valid(value, true))
        return -EINVAL;
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return -ENOMEM;
    }
    return section_append(s, k, v, true, false);
}

int guest_section_delete_raw(GuestSection *s, const char *key) {
    int n = 0;

    assert(s && key);
    for (size_t i = s->n_entries; i > 0; i--)
        if (s->entries[i - 1].raw && streq(s->entries[i - 1].key, key)) {
            section_remove_at(s, i - 1);
            n++;
        }
    return n;
}

/* ---- pending delete list ---- */

typedef struct DeleteItem {
    const char *key; /* points into a scratch copy of the list */
    size_t len;
    bool force;
} DeleteItem;

/* Split "k1,!k2;k3 k4" as upstream does: ',' ';' and whitespace separate, '!' marks force.
 * A key listed twice keeps its last flag but its first position (upstream's hash keeps the
 * later index; the difference only shows with hand-edited duplicates). */
static size_t delete_list_split(const char *list, DeleteItem *items, size_t max) {
    size_t n = 0;

    for (const char *p = list; *p;) {
        if (*p == ',' || *p == ';' || is_space(*p)) {
            p++;
            continue;
        }
        const char *start = p;
        while (*p && *p != ',' && *p != ';' && !is_space(*p))
            p++;
        bool force = *start == '!';
        const char *k = start + force;
        size_t len = (size_t) (p - k);
        if (len == 0)
            continue;
        size_t j;
        for (j = 0; j < n; j++)
            if (items[j].len == len && memcmp(items[j].key, k, len) == 0)
                break;
        if (j < n) {
            items[j].force = force;
            continue;
        }
        if (n < max)
            items[n++] = (DeleteItem){.key = k, .len = len, .force = force};
    }
    return n;
}

static int delete_list_store(GuestSection *pending, const DeleteItem *items, size_t n) {
    if (n == 0) {
        (void) guest_section_delete(pending, "delete");
        return 0;
    }
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strbuf_append_char(&b, ',');
        if (items[i].force)
            strbuf_append_char(&b, '!');
        strbuf_append_len(&b, items[i].key, items[i].len);
    }
    if (b.error)
        return b.error;
    return guest_section_set(pending, "delete", b.data);
}

bool guest_config_pending_delete_has(const GuestConfig *c, const char *key, bool *ret_force) {
    assert(c && key);
    GuestSection *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
    const char *list = p ? guest_section_get(p, "delete") : NULL;
    if (!list)
        return false;
    size_t max = strlen(list) / 2 + 1;
    _cleanup_free_ DeleteItem *items = calloc(max, sizeof *items);
    if (!items)
        return false;
    size_t n = delete_list_split(list, items, max);
    for (size_t i = 0; i < n; i++)
        if (items[i].len == strlen(key) && memcmp(items[i].key, key, items[i].len) == 0) {
            if (ret_force)
                *ret_force = items[i].force;
            return true;
        }
    return false;
}

static int pending_delete_edit(GuestConfig *c, const char *key, bool add, bool force) {
    GuestSection *p = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
    if (!p) {
        if (!add)
            return 0;
        int r = guest_config_add_section(c, GUEST_SECTION_PENDING, NULL, &p);
        if (r < 0)
            return r;
    }
    const char *cur = guest_section_get(p, "delete");
    _cleanup_free_ char *list = strdup(cur ? cur : "");
    if (!list)
        return -ENOMEM;
    size_t max = strlen(list) / 2 + 2;
    _cleanup_free_ DeleteItem *items = calloc(max, sizeof *items);
    if (!items)
        return -ENOMEM;
    size_t n = delete_list_split(list, items, max);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (items[i].len == strlen(key) && memcmp(items[i].key, key, items[i].len) == 0) {
            memmove(items + i, items + i + 1, (n - i - 1) * sizeof *items);
            n--;
            found = true;
            break;
        }
    if (add)
        items[n++] = (DeleteItem){.key = key, .len = strlen(key), .force = force};
    int r = delete_list_store(p, items, n);
    if (r < 0)
        return r;
    return found ? 1 : 0;
}

int guest_config_pending_delete_add(GuestConfig *c, const char *key, bool force) {
    assert(c && key);
    if (!guest_config_key_valid(key))
        return -EINVAL;
    int r = pending_delete_edit(c, key, true, force);
    return r < 0 ? r : 0;
}

int guest_config_pending_delete_remove(GuestConfig *c, const char *key) {
    assert(c && key);
    if (!guest_config_key_valid(key))
        return -EINVAL;
    return pending_delete_edit(c, key, false, false);
}

/* ---- parser ---- */

typedef struct Parser {
    GuestType type;
    GuestConfig *config;
    GuestSection *section;
    StrBuf descr;
    bool have_descr;
    unsigned line;
    GuestConfigError *err;
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

static int finish_description(Parser *p) {
    if (!p->have_descr)
        return 0;
    p->have_descr = false;
    char *d = NULL;
    int r = description_finish(p->type, &p->descr, &d);
    if (r < 0)
        return r;
    free(p->section->description);
    p->section->description = d;
    return 0;
}

/* Percent-decode s[0..len) onto the description (upstream's uri_unescape: exactly two hex
 * digits after '%', anything else is literal). */
static int append_decoded(Parser *p, const char *s, size_t len) {
    p->have_descr = true;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            char c = (char) (hi << 4 | lo);
            if (c == '\0')
                return parse_error(p, "description contains an encoded NUL byte");
            strbuf_append_char(&p->descr, c);
            i += 2;
        } else
            strbuf_append_char(&p->descr, s[i]);
    }
    return p->descr.error;
}

static int parse_section_header(Parser *p, const char *s, size_t len) {
    char buf[64];
    const char *close = memchr(s, ']', len);
    if (!close)
        return parse_error(p, "unterminated section header");
    for (const char *q = close + 1; q < s + len; q++)
        if (!is_space(*q))
            return parse_error(p, "unexpected text after section header");

    const char *name = s + 1;
    size_t nlen = (size_t) (close - name);
    GuestSectionKind kind;
    const char *pend = pending_header(p->type);

    if (nlen == strlen(pend) && strncasecmp(name, pend, nlen) == 0) {
        kind = GUEST_SECTION_PENDING;
        name = NULL;
    } else if (p->type == GUEST_TYPE_QEMU && nlen > 8 && strncasecmp(name, "special:", 8) == 0) {
        kind = GUEST_SECTION_SPECIAL;
        name += 8;
        nlen -= 8;
        if (!special_name_valid_len(name, nlen))
            return parse_error(
                p, "invalid special section name '%s'", str_excerpt(name, nlen, buf, sizeof buf)
            );
    } else {
        kind = GUEST_SECTION_SNAPSHOT;
        if (!snapshot_name_valid_len(name, nlen))
            return parse_error(
                p, "invalid section name '%s'", str_excerpt(name, nlen, buf, sizeof buf)
            );
    }

    int r = finish_description(p);
    if (r < 0)
        return r;

    _cleanup_free_ char *n = name ? strndup(name, nlen) : NULL;
    if (name && !n)
        return -ENOMEM;
    if (guest_config_find_section(p->config, kind, n))
        return parse_error(
            p, "duplicate section '%s'", n ? str_excerpt(name, nlen, buf, sizeof buf) : pend
        );

    _cleanup_(section_freep) GuestSection *sec = calloc(1, sizeof *sec);
    if (!sec)
        return -ENOMEM;
    sec->type = p->type;
    sec->kind = kind;
    sec->name = TAKE_PTR(n);
    r = config_append_section(p->config, sec);
    if (r < 0)
        return r;
    p->section = TAKE_PTR(sec);
    return 0;
}

/* lxc.* line: key followed by ':' or optional blanks and '='; value trimmed, may be empty. */
static int parse_raw_line(Parser *p, const char *s, size_t len) {
    char buf[64];
    size_t k = 4;

    while (k < len &&
           (is_lower(s[k]) || is_digit(s[k]) || s[k] == '_' || s[k] == '-' || s[k] == '.'))
        k++;
    size_t i = k;
    bool equals = false;
    if (i < len && s[i] == ':')
        i++;
    else {
        while (i < len && is_space(s[i]))
            i++;
        if (i >= len || s[i] != '=') {
            size_t sep = 0;
            while (sep < len && s[sep] != ':' && s[sep] != '=')
                sep++;
            if (sep == len)
                return parse_error(
                    p, "expected 'lxc.key: value' or 'lxc.key = value', got '%s'",
                    str_excerpt(s, len, buf, sizeof buf)
                );
            return parse_error(p, "invalid key '%s'", str_excerpt(s, sep, buf, sizeof buf));
        }
        i++;
        equals = true;
    }
    if (!raw_key_valid_len(s, k))
        return parse_error(p, "invalid key '%s'", str_excerpt(s, k, buf, sizeof buf));
    while (i < len && is_space(s[i]))
        i++;
    size_t end = len;
    while (end > i && is_space(s[end - 1]))
        end--;

    char *key = strndup(s, k), *value = strndup(s + i, end - i);
    if (!key || !value) {
        free(key);
        free(value);
        return -ENOMEM;
    }
    return section_append(p->section, key, value, true, equals);
}

static int parse_line(Parser *p, const char *s, size_t len) {
    char buf[64];

    if (memchr(s, '\0', len))
        return parse_error(p, "NUL byte in line");
    if (len > GUEST_CONFIG_LINE_MAX)
        return parse_error(p, "line too long (more than %u bytes)", GUEST_CONFIG_LINE_MAX);

    size_t blank = 0;
    while (blank < len && is_space(s[blank]))
        blank++;
    if (blank == len)
        return 0;

    if (s[0] == '[')
        return parse_section_header(p, s, len);
    if (s[0] == '#') {
        int r = append_decoded(p, s + 1, len - 1);
        if (r < 0)
            return r;
        strbuf_append_char(&p->descr, '\n');
        return p->descr.error;
    }
    if (p->type == GUEST_TYPE_LXC && len > 4 && memcmp(s, "lxc.", 4) == 0)
        return parse_raw_line(p, s, len);

    const char *colon = memchr(s, ':', len);
    if (!colon)
        return parse_error(
            p, "expected 'key: value', got '%s'", str_excerpt(s, len, buf, sizeof buf)
        );
    size_t klen = (size_t) (colon - s);
    if (!key_valid_len(s, klen))
        return parse_error(p, "invalid key '%s'", str_excerpt(s, klen, buf, sizeof buf));

    size_t i = klen + 1, end = len;
    while (i < len && is_space(s[i]))
        i++;
    while (end > i && is_space(s[end - 1]))
        end--;
    if (i == end)
        return parse_error(p, "missing value for '%s'", str_excerpt(s, klen, buf, sizeof buf));

    if (klen == STRLEN("description") && memcmp(s, "description", klen) == 0)
        return append_decoded(p, s + i, end - i);
    if (klen == STRLEN("delete") && memcmp(s, "delete", klen) == 0 &&
        p->section->kind != GUEST_SECTION_PENDING)
        return parse_error(p, "property 'delete' is only allowed in [%s]", pending_header(p->type));
    if (section_index(p->section, s, klen) >= 0)
        return parse_error(p, "duplicate key '%s'", str_excerpt(s, klen, buf, sizeof buf));

    char *key = strndup(s, klen), *value = strndup(s + i, end - i);
    if (!key || !value) {
        free(key);
        free(value);
        return -ENOMEM;
    }
    return section_append(p->section, key, value, false, false);
}

int guest_config_parse(
    GuestType type, const char *text, size_t len, GuestConfig **ret, GuestConfigError *reterr
) {
    assert(type >= 0 && type < _GUEST_TYPE_MAX);
    assert(text || len == 0);
    assert(ret);

    if (len > GUEST_CONFIG_MAX_SIZE) {
        if (reterr) {
            reterr->line = 0;
            (void) snprintf(
                reterr->message, sizeof reterr->message, "config larger than %u bytes",
                GUEST_CONFIG_MAX_SIZE
            );
        }
        return -EFBIG;
    }

    _cleanup_(guest_config_freep) GuestConfig *c = guest_config_new(type);
    if (!c)
        return -ENOMEM;
    Parser p = {
        .type = type,
        .config = c,
        .section = c->sections[0],
        .err = reterr,
    };
    int r = 0;

    for (size_t pos = 0; pos < len && r >= 0;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t) (nl - (text + pos)) : len - pos;
        p.line++;
        r = parse_line(&p, text + pos, l);
        pos += l + (nl ? 1 : 0);
    }
    if (r >= 0)
        r = finish_description(&p);
    strbuf_done(&p.descr);
    if (r < 0) {
        if (r == -E2BIG && reterr) {
            reterr->line = p.line;
            (void
            ) snprintf(reterr->message, sizeof reterr->message, "too many entries or sections");
        }
        return r;
    }
    r = guest_config_digest(len ? text : "", len, c->digest);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(c);
    return 0;
}

int guest_config_digest(const void *raw, size_t len, char ret[static 41]) {
    return digest_sha1_hex(raw, len, ret);
}

/* ---- printers ---- */

/* Upstream's unsafe set: every byte outside 0x20-0x7e, and ':'. We also escape a '%' that
 * would otherwise be read back as the start of an escape. */
static void append_encoded(StrBuf *b, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        bool unsafe = c < 0x20 || c > 0x7e || c == ':' ||
                      (c == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
        if (unsafe)
            strbuf_printf(b, "%%%02X", c);
        else
            strbuf_append_char(b, (char) c);
    }
}

static void print_description(StrBuf *b, GuestType type, const GuestSection *s) {
    if (!s->description)
        return;
    if (s->description[0] == '\0') {
        /* Upstream marks "set description to empty" in [PENDING] with a bare '#'. */
        if (type == GUEST_TYPE_QEMU && s->kind == GUEST_SECTION_PENDING)
            strbuf_append(b, "#\n");
        return;
    }
    for (const char *l = s->description;;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t) (nl - l) : strlen(l);
        strbuf_append_char(b, '#');
        append_encoded(b, l, n);
        strbuf_append_char(b, '\n');
        if (!nl)
            break;
        l = nl + 1;
    }
}

static void print_entry(StrBuf *b, const GuestEntry *e, bool canonical) {
    strbuf_append(b, e->key);
    if (e->raw && e->equals && !canonical) {
        strbuf_append(b, e->value[0] ? " = " : " =");
        strbuf_append(b, e->value);
    } else {
        strbuf_append(b, ": ");
        strbuf_append(b, e->value);
    }
    strbuf_append_char(b, '\n');
}

static void print_header(StrBuf *b, GuestType type, const GuestSection *s) {
    switch (s->kind) {
    case GUEST_SECTION_MAIN:
        return;
    case GUEST_SECTION_PENDING:
        strbuf_printf(b, "\n[%s]\n", pending_header(type));
        return;
    case GUEST_SECTION_SPECIAL:
        strbuf_printf(b, "\n[special:%s]\n", s->name);
        return;
    default:
        strbuf_printf(b, "\n[%s]\n", s->name);
        return;
    }
}

static int cmp_entry_ptr(const void *a, const void *b) {
    const GuestEntry *x = *(const GuestEntry *const *) a, *y = *(const GuestEntry *const *) b;
    return strcmp(x->key, y->key);
}

static int print_section(StrBuf *b, GuestType type, const GuestSection *s, bool canonical) {
    print_header(b, type, s);
    print_description(b, type, s);
    if (!canonical) {
        for (size_t i = 0; i < s->n_entries; i++)
            print_entry(b, &s->entries[i], false);
        return 0;
    }
    /* Plain keys sorted bytewise (Perl's sort), then lxc.* lines in file order. */
    _cleanup_free_ const GuestEntry **v = calloc(s->n_entries + 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->n_entries; i++)
        if (!s->entries[i].raw)
            v[n++] = &s->entries[i];
    qsort(v, n, sizeof *v, cmp_entry_ptr);
    for (size_t i = 0; i < n; i++)
        print_entry(b, v[i], true);
    for (size_t i = 0; i < s->n_entries; i++)
        if (s->entries[i].raw)
            print_entry(b, &s->entries[i], true);
    return 0;
}

int guest_config_print(const GuestConfig *c, char **ret, size_t *ret_len) {
    assert(c && ret);
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    for (size_t i = 0; i < c->n_sections; i++) {
        int r = print_section(&b, c->type, c->sections[i], false);
        if (r < 0)
            return r;
    }
    return strbuf_finish(&b, ret, ret_len);
}

/* Whether a section has a body line to print (an empty description only does in QEMU's
 * [PENDING]). */
static bool section_prints_something(const GuestSection *s) {
    if (s->n_entries > 0)
        return true;
    if (!s->description)
        return false;
    return s->description[0] != '\0' ||
           (s->type == GUEST_TYPE_QEMU && s->kind == GUEST_SECTION_PENDING);
}

static int cmp_section_name(const void *a, const void *b) {
    const GuestSection *x = *(const GuestSection *const *) a, *y = *(const GuestSection *const *) b;
    return strcmp(x->name, y->name);
}

static int print_sorted_kind(StrBuf *b, const GuestConfig *c, GuestSectionKind kind) {
    _cleanup_free_ const GuestSection **v = calloc(c->n_sections + 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < c->n_sections; i++) {
        const GuestSection *s = c->sections[i];
        if (s->kind != kind)
            continue;
        /* Upstream skips special sections with nothing in them. */
        if (kind == GUEST_SECTION_SPECIAL && !section_prints_something(s))
            continue;
        v[n++] = s;
    }
    qsort(v, n, sizeof *v, cmp_section_name);
    for (size_t i = 0; i < n; i++) {
        int r = print_section(b, c->type, v[i], true);
        if (r < 0)
            return r;
    }
    return 0;
}

int guest_config_print_canonical(const GuestConfig *c, char **ret, size_t *ret_len) {
    assert(c && ret);
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    int r = print_section(&b, c->type, guest_config_main(c), true);
    if (r < 0)
        return r;
    /* Upstream writes [PENDING] only when it holds something. */
    GuestSection *pending = guest_config_find_section(c, GUEST_SECTION_PENDING, NULL);
    if (pending && section_prints_something(pending)) {
        r = print_section(&b, c->type, pending, true);
        if (r < 0)
            return r;
    }
    r = print_sorted_kind(&b, c, GUEST_SECTION_SPECIAL);
    if (r < 0)
        return r;
    r = print_sorted_kind(&b, c, GUEST_SECTION_SNAPSHOT);
    if (r < 0)
        return r;
    return strbuf_finish(&b, ret, ret_len);
}
