/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SectionConfig text format: line parser, canonical printer and small editing helpers.
 *
 * The model is an ordered array of sections, each with an ordered array of (key, value)
 * strings, so file order survives a parse/print cycle. Every string held by the model obeys
 * the *_is_valid() rules, which is what makes the printer's output parse back to the same
 * model. No I/O, no logging: errors go back as (negative errno, line, message).
 */
#include "pve/section-config.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/strbuf.h"
#include "pve/string-util.h"

static bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

static bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* type/key: [A-Za-z][A-Za-z0-9_.-]* */
static bool name_is_valid_len(const char *s, size_t len) {
    if (len == 0 || len > SECTION_CONFIG_MAX_NAME || !is_alpha(s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_alpha(s[i]) && !is_digit(s[i]) && !(s[i] && strchr("_.-", s[i])))
            return false;
    return true;
}

/* id: [A-Za-z0-9_][A-Za-z0-9_.:@+-]* */
static bool id_is_valid_len(const char *s, size_t len) {
    if (len == 0 || len > SECTION_CONFIG_MAX_ID)
        return false;
    if (!is_alpha(s[0]) && !is_digit(s[0]) && s[0] != '_')
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_alpha(s[i]) && !is_digit(s[i]) && !(s[i] && strchr("_.:@+-", s[i])))
            return false;
    return true;
}

static bool value_is_valid_len(const char *s, size_t len) {
    if (len > SECTION_CONFIG_MAX_VALUE)
        return false;
    if (len > 0 && (is_blank(s[0]) || is_blank(s[len - 1])))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

bool section_config_type_is_valid(const char *type) {
    return type && name_is_valid_len(type, strnlen(type, SECTION_CONFIG_MAX_NAME + 1));
}

bool section_config_key_is_valid(const char *key) {
    return key && name_is_valid_len(key, strnlen(key, SECTION_CONFIG_MAX_NAME + 1));
}

bool section_config_id_is_valid(const char *id) {
    return id && id_is_valid_len(id, strnlen(id, SECTION_CONFIG_MAX_ID + 1));
}

bool section_config_value_is_valid(const char *value) {
    return value && value_is_valid_len(value, strnlen(value, SECTION_CONFIG_MAX_VALUE + 1));
}

static void section_free(SectionConfigSection *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n_properties; i++) {
        free(s->properties[i].key);
        free(s->properties[i].value);
    }
    free(s->properties);
    free(s->type);
    free(s->id);
    free(s);
}

SectionConfig *section_config_new(unsigned flags) {
    SectionConfig *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->flags = flags;
    return c;
}

SectionConfig *section_config_free(SectionConfig *c) {
    if (!c)
        return NULL;
    for (size_t i = 0; i < c->n_sections; i++)
        section_free(c->sections[i]);
    free(c->sections);
    free(c);
    return NULL;
}

/* Append an already validated property; takes nothing, copies both strings. */
static int section_push_len(
    SectionConfigSection *s, const char *key, size_t key_len, const char *value, size_t value_len
) {
    if (s->n_properties >= SECTION_CONFIG_MAX_PROPERTIES)
        return -E2BIG;
    if (s->n_properties == s->n_allocated) {
        size_t n = s->n_allocated ? s->n_allocated * 2 : 8;
        SectionConfigProperty *p = reallocarray(s->properties, n, sizeof *p);
        if (!p)
            return -ENOMEM;
        s->properties = p;
        s->n_allocated = n;
    }
    _cleanup_free_ char *k = strndup(key, key_len);
    _cleanup_free_ char *v = strndup(value, value_len);
    if (!k || !v)
        return -ENOMEM;
    s->properties[s->n_properties++] = (SectionConfigProperty){
        .key = TAKE_PTR(k),
        .value = TAKE_PTR(v),
    };
    return 0;
}

static int config_push_len(
    SectionConfig *c,
    const char *type,
    size_t type_len,
    const char *id,
    size_t id_len,
    unsigned line,
    SectionConfigSection **ret
) {
    if (c->n_sections >= SECTION_CONFIG_MAX_SECTIONS)
        return -E2BIG;
    if (c->n_sections == c->n_allocated) {
        size_t n = c->n_allocated ? c->n_allocated * 2 : 8;
        SectionConfigSection **p = reallocarray(c->sections, n, sizeof *p);
        if (!p)
            return -ENOMEM;
        c->sections = p;
        c->n_allocated = n;
    }
    SectionConfigSection *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->type = strndup(type, type_len);
    s->id = strndup(id, id_len);
    if (!s->type || !s->id) {
        section_free(s);
        return -ENOMEM;
    }
    s->line = line;
    c->sections[c->n_sections++] = s;
    if (ret)
        *ret = s;
    return 0;
}

/* Quote s[0..len) for an error message: shortened, unprintable bytes escaped. */
#define QUOTE_MAX 64
#define QUOTE_BUF (QUOTE_MAX * 4 + 6)
static const char *quote(char buf[static QUOTE_BUF], const char *s, size_t len) {
    size_t o = 0;
    buf[o++] = '\'';
    for (size_t i = 0; i < len && i < QUOTE_MAX; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
            o += (size_t) snprintf(buf + o, QUOTE_BUF - o, "\\x%02x", c);
        else
            buf[o++] = (char) c;
    }
    if (len > QUOTE_MAX) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

typedef struct ParseError {
    unsigned *line;
    char **msg;
} ParseError;

static int parse_fail(const ParseError *e, int r, unsigned line, const char *fmt, ...)
    _printf_(4, 5);

/* Record an error (line and message) and return r. */
static int parse_fail(const ParseError *e, int r, unsigned line, const char *fmt, ...) {
    if (e->line)
        *e->line = line;
    if (e->msg) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(e->msg, fmt, ap) < 0)
            *e->msg = NULL;
        va_end(ap);
    }
    return r;
}

static int cmp_section_by_id(const void *a, const void *b) {
    const SectionConfigSection *x = *(SectionConfigSection *const *) a;
    const SectionConfigSection *y = *(SectionConfigSection *const *) b;
    int r = strcmp(x->id, y->id);
    if (r != 0)
        return r;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_section_by_type_id(const void *a, const void *b) {
    const SectionConfigSection *x = *(SectionConfigSection *const *) a;
    const SectionConfigSection *y = *(SectionConfigSection *const *) b;
    int r = strcmp(x->type, y->type);
    if (r != 0)
        return r;
    return cmp_section_by_id(a, b);
}

/* Report the duplicate id that comes first in the file, in O(n log n). */
static int check_duplicate_ids(const SectionConfig *c, const ParseError *e) {
    if (c->n_sections < 2)
        return 0;
    bool per_type = c->flags & SECTION_CONFIG_ID_PER_TYPE;
    char q[QUOTE_BUF];
    _cleanup_free_ SectionConfigSection **v = reallocarray(NULL, c->n_sections, sizeof *v);
    if (!v)
        return parse_fail(e, -ENOMEM, 0, "out of memory");
    memcpy(v, c->sections, c->n_sections * sizeof *v);
    qsort(v, c->n_sections, sizeof *v, per_type ? cmp_section_by_type_id : cmp_section_by_id);

    const SectionConfigSection *dup = NULL, *first = NULL;
    for (size_t i = 1; i < c->n_sections; i++) {
        if (!streq(v[i - 1]->id, v[i]->id))
            continue;
        if (per_type && !streq(v[i - 1]->type, v[i]->type))
            continue;
        if (!dup || v[i]->line < dup->line) {
            dup = v[i];
            first = v[i - 1];
        }
    }
    if (!dup)
        return 0;
    /* With three or more copies, name the earliest one as the original. */
    for (size_t i = 0; i < c->n_sections; i++) {
        const SectionConfigSection *s = c->sections[i];
        if (streq(s->id, dup->id) && (!per_type || streq(s->type, dup->type))) {
            first = s;
            break;
        }
    }
    return parse_fail(
        e, -EEXIST, dup->line, "duplicate section id %s (first defined on line %u)",
        quote(q, dup->id, strlen(dup->id)), first->line
    );
}

static int parse_property(
    SectionConfig *c,
    SectionConfigSection *cur,
    const char *p,
    size_t l,
    unsigned line,
    const ParseError *e
) {
    char q[QUOTE_BUF];
    size_t i = 0;
    while (i < l && is_blank(p[i]))
        i++;
    const char *key = p + i;
    size_t key_len = 0;
    while (i < l && !is_blank(p[i])) {
        i++;
        key_len++;
    }
    while (i < l && is_blank(p[i]))
        i++;
    const char *value = p + i;
    size_t value_len = l - i;

    if (!name_is_valid_len(key, key_len))
        return parse_fail(e, -EINVAL, line, "invalid property key %s", quote(q, key, key_len));
    if (value_len > SECTION_CONFIG_MAX_VALUE)
        return parse_fail(
            e, -E2BIG, line, "value of %s too long (maximum %u bytes)", quote(q, key, key_len),
            SECTION_CONFIG_MAX_VALUE
        );
    if (!value_is_valid_len(value, value_len))
        return parse_fail(
            e, -EINVAL, line, "control character in value of %s", quote(q, key, key_len)
        );

    if (!(c->flags & SECTION_CONFIG_ALLOW_DUPLICATE_KEYS))
        for (size_t j = 0; j < cur->n_properties; j++)
            if (strlen(cur->properties[j].key) == key_len &&
                memcmp(cur->properties[j].key, key, key_len) == 0)
                return parse_fail(
                    e, -EEXIST, line, "duplicate key %s in section '%s'", quote(q, key, key_len),
                    cur->id
                );

    int r = section_push_len(cur, key, key_len, value, value_len);
    if (r == -E2BIG)
        return parse_fail(
            e, r, line, "too many properties in section %s (maximum %u)",
            quote(q, cur->id, strlen(cur->id)), SECTION_CONFIG_MAX_PROPERTIES
        );
    if (r < 0)
        return parse_fail(e, r, line, "out of memory");
    return 0;
}

static int parse_header(
    SectionConfig *c,
    const char *p,
    size_t l,
    unsigned line,
    SectionConfigSection **cur,
    const ParseError *e
) {
    char q[QUOTE_BUF];
    const char *colon = memchr(p, ':', l);
    if (!colon)
        return parse_fail(
            e, -EINVAL, line, "malformed line %s: expected a section header '<type>: <id>'",
            quote(q, p, l)
        );
    size_t type_len = (size_t) (colon - p);
    if (!name_is_valid_len(p, type_len))
        return parse_fail(e, -EINVAL, line, "invalid section type %s", quote(q, p, type_len));

    size_t i = type_len + 1;
    while (i < l && is_blank(p[i]))
        i++;
    const char *id = p + i;
    size_t id_len = 0;
    while (i < l && !is_blank(p[i])) {
        i++;
        id_len++;
    }
    if (id_len == 0)
        return parse_fail(
            e, -EINVAL, line, "missing id after section type %s", quote(q, p, type_len)
        );
    while (i < l && is_blank(p[i]))
        i++;
    if (i < l)
        return parse_fail(
            e, -EINVAL, line, "unexpected %s after section id in header", quote(q, p + i, l - i)
        );
    if (!id_is_valid_len(id, id_len))
        return parse_fail(e, -EINVAL, line, "invalid section id %s", quote(q, id, id_len));

    int r = config_push_len(c, p, type_len, id, id_len, line, cur);
    if (r == -E2BIG)
        return parse_fail(
            e, r, line, "too many sections (maximum %u)", SECTION_CONFIG_MAX_SECTIONS
        );
    if (r < 0)
        return parse_fail(e, r, line, "out of memory");
    return 0;
}

int section_config_parse(
    const char *text,
    size_t len,
    unsigned flags,
    SectionConfig **ret,
    unsigned *reterr_line,
    char **reterr_msg
) {
    const ParseError e = {.line = reterr_line, .msg = reterr_msg};
    char q[QUOTE_BUF];
    int r;

    assert(text || len == 0);
    assert(ret);

    if (len > SECTION_CONFIG_MAX_SIZE)
        return parse_fail(
            &e, -E2BIG, 0, "input too large (%zu bytes, maximum %u)", len, SECTION_CONFIG_MAX_SIZE
        );
    if (len > 0 && memhasnul(text, len)) {
        const char *nul = memchr(text, 0, len);
        unsigned line = 1;
        for (const char *t = text; t < nul; t++)
            line += *t == '\n';
        return parse_fail(&e, -EINVAL, line, "NUL byte in input");
    }

    _cleanup_(section_config_freep) SectionConfig *c = section_config_new(flags);
    if (!c)
        return parse_fail(&e, -ENOMEM, 0, "out of memory");

    SectionConfigSection *cur = NULL;
    unsigned line = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        const char *eol = nl ? nl : end;
        size_t raw = (size_t) (eol - p);
        line++;

        if (raw > SECTION_CONFIG_MAX_LINE)
            return parse_fail(
                &e, -E2BIG, line, "line too long (%zu bytes, maximum %u)", raw,
                SECTION_CONFIG_MAX_LINE
            );
        size_t l = rstrip_len(p, raw);
        size_t lead = 0;
        while (lead < l && is_blank(p[lead]))
            lead++;

        if (lead == l)
            cur = NULL; /* a blank line ends the section */
        else if (p[lead] == '#')
            ; /* comment */
        else if (lead > 0) {
            if (!cur)
                return parse_fail(
                    &e, -EINVAL, line,
                    "property line %s outside of a section (a blank line ends a section)",
                    quote(q, p + lead, l - lead)
                );
            r = parse_property(c, cur, p, l, line, &e);
            if (r < 0)
                return r;
        } else {
            /* A header right after a property line is accepted too; the printer puts the
             * blank line back. */
            r = parse_header(c, p, l, line, &cur, &e);
            if (r < 0)
                return r;
        }

        p = nl ? nl + 1 : end;
    }

    r = check_duplicate_ids(c, &e);
    if (r < 0)
        return r;

    *ret = TAKE_PTR(c);
    return 0;
}

int section_config_print(const SectionConfig *c, char **ret) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;

    assert(c);
    assert(ret);

    for (size_t i = 0; i < c->n_sections; i++) {
        const SectionConfigSection *s = c->sections[i];
        if (!section_config_type_is_valid(s->type) || !section_config_id_is_valid(s->id))
            return -EINVAL;
        strbuf_append(&b, s->type);
        strbuf_append(&b, ": ");
        strbuf_append(&b, s->id);
        strbuf_append_char(&b, '\n');
        for (size_t j = 0; j < s->n_properties; j++) {
            const SectionConfigProperty *p = &s->properties[j];
            if (!section_config_key_is_valid(p->key) || !section_config_value_is_valid(p->value))
                return -EINVAL;
            strbuf_append_char(&b, '\t');
            strbuf_append(&b, p->key);
            if (p->value[0]) {
                strbuf_append_char(&b, ' ');
                strbuf_append(&b, p->value);
            }
            strbuf_append_char(&b, '\n');
        }
        strbuf_append_char(&b, '\n');
        if (b.error)
            return b.error;
    }
    return strbuf_finish(&b, ret, NULL);
}

static bool section_matches(const SectionConfigSection *s, const char *type, const char *id) {
    return streq(s->id, id) && (!type || streq(s->type, type));
}

SectionConfigSection *
section_config_find(const SectionConfig *c, const char *type, const char *id) {
    assert(c);
    assert(id);
    for (size_t i = 0; i < c->n_sections; i++)
        if (section_matches(c->sections[i], type, id))
            return c->sections[i];
    return NULL;
}

const char *section_config_get(const SectionConfigSection *s, const char *key) {
    assert(s);
    assert(key);
    for (size_t i = 0; i < s->n_properties; i++)
        if (streq(s->properties[i].key, key))
            return s->properties[i].value;
    return NULL;
}

int section_config_add(
    SectionConfig *c, const char *type, const char *id, SectionConfigSection **ret_section
) {
    assert(c);
    if (!section_config_type_is_valid(type) || !section_config_id_is_valid(id))
        return -EINVAL;
    if (section_config_find(c, (c->flags & SECTION_CONFIG_ID_PER_TYPE) ? type : NULL, id))
        return -EEXIST;
    return config_push_len(c, type, strlen(type), id, strlen(id), 0, ret_section);
}

int section_config_remove(SectionConfig *c, const char *type, const char *id) {
    assert(c);
    assert(id);
    for (size_t i = 0; i < c->n_sections; i++) {
        if (!section_matches(c->sections[i], type, id))
            continue;
        section_free(c->sections[i]);
        memmove(
            c->sections + i, c->sections + i + 1, (c->n_sections - i - 1) * sizeof *c->sections
        );
        c->n_sections--;
        return 0;
    }
    return -ENOENT;
}

static void section_drop(SectionConfigSection *s, size_t i) {
    free(s->properties[i].key);
    free(s->properties[i].value);
    memmove(
        s->properties + i, s->properties + i + 1, (s->n_properties - i - 1) * sizeof *s->properties
    );
    s->n_properties--;
}

int section_config_set(SectionConfigSection *s, const char *key, const char *value) {
    assert(s);
    if (!section_config_key_is_valid(key) || !section_config_value_is_valid(value))
        return -EINVAL;

    size_t i = 0;
    while (i < s->n_properties && !streq(s->properties[i].key, key))
        i++;
    if (i == s->n_properties)
        return section_push_len(s, key, strlen(key), value, strlen(value));

    char *v = strdup(value);
    if (!v)
        return -ENOMEM;
    free(s->properties[i].value);
    s->properties[i].value = v;
    for (size_t j = s->n_properties; j > i + 1; j--)
        if (streq(s->properties[j - 1].key, key))
            section_drop(s, j - 1);
    return 0;
}

int section_config_append(SectionConfigSection *s, const char *key, const char *value) {
    assert(s);
    if (!section_config_key_is_valid(key) || !section_config_value_is_valid(value))
        return -EINVAL;
    return section_push_len(s, key, strlen(key), value, strlen(value));
}

int section_config_unset(SectionConfigSection *s, const char *key) {
    assert(s);
    assert(key);
    int n = 0;
    for (size_t j = s->n_properties; j > 0; j--)
        if (streq(s->properties[j - 1].key, key)) {
            section_drop(s, j - 1);
            n++;
        }
    return n;
}
