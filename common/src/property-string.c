/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Property strings (`k=v,k2="a,b",bare`): tokenizer, canonical printer, editing helpers and a
 * small table-driven validator.
 *
 * Every value held by the model is non-empty and free of control characters, and every key
 * obeys property_string_key_is_valid(); the printer relies on that to produce text that parses
 * back to the same list. Error messages for the conditions upstream also reports use
 * upstream's wording, since they end up verbatim in API errors.
 */
#include "pve/property-string.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pve/strbuf.h"
#include "pve/string-util.h"

static bool is_key_char(char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
        return true;
    return !first && (c == '.' || c == '-');
}

static bool key_is_valid_len(const char *s, size_t len) {
    if (len == 0 || len > PROPERTY_STRING_MAX_KEY)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_key_char(s[i], i == 0))
            return false;
    return true;
}

bool property_string_key_is_valid(const char *key) {
    return key && key_is_valid_len(key, strnlen(key, PROPERTY_STRING_MAX_KEY + 1));
}

static bool is_control(char c) {
    unsigned char u = (unsigned char) c;
    return u < 0x20 || u == 0x7f;
}

static bool value_is_valid(const char *v) {
    if (!v || !*v)
        return false;
    size_t n = strnlen(v, PROPERTY_STRING_MAX_LEN + 1);
    if (n > PROPERTY_STRING_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (is_control(v[i]))
            return false;
    return true;
}

PropertyString *property_string_new(const char *default_key) {
    if (default_key && !property_string_key_is_valid(default_key))
        return NULL;
    PropertyString *ps = calloc(1, sizeof *ps);
    if (!ps)
        return NULL;
    if (default_key) {
        ps->default_key = strdup(default_key);
        if (!ps->default_key)
            return property_string_free(ps);
    }
    return ps;
}

PropertyString *property_string_free(PropertyString *ps) {
    if (!ps)
        return NULL;
    for (size_t i = 0; i < ps->n_entries; i++) {
        free(ps->entries[i].key);
        free(ps->entries[i].value);
    }
    free(ps->entries);
    free(ps->default_key);
    free(ps);
    return NULL;
}

static PropertyStringEntry *find_entry(const PropertyString *ps, const char *key, size_t len) {
    for (size_t i = 0; i < ps->n_entries; i++)
        if (strlen(ps->entries[i].key) == len && memcmp(ps->entries[i].key, key, len) == 0)
            return &ps->entries[i];
    return NULL;
}

/* Insert at position pos, taking ownership of key and value (freed on failure). */
static int insert_entry(PropertyString *ps, size_t pos, char *key, char *value, bool bare) {
    if (ps->n_entries >= PROPERTY_STRING_MAX_ENTRIES) {
        free(key);
        free(value);
        return -E2BIG;
    }
    if (ps->n_entries == ps->n_allocated) {
        size_t n = ps->n_allocated ? ps->n_allocated * 2 : 8;
        PropertyStringEntry *e = reallocarray(ps->entries, n, sizeof *e);
        if (!e) {
            free(key);
            free(value);
            return -ENOMEM;
        }
        ps->entries = e;
        ps->n_allocated = n;
    }
    memmove(ps->entries + pos + 1, ps->entries + pos, (ps->n_entries - pos) * sizeof *ps->entries);
    ps->entries[pos] = (PropertyStringEntry){.key = key, .value = value, .bare = bare};
    ps->n_entries++;
    return 0;
}

/* ---- Parser ------------------------------------------------------------------------------ */

/* Shorten and escape user text for an error message. */
#define QUOTE_MAX 48
#define QUOTE_BUF (QUOTE_MAX * 4 + 4)
static const char *quote(char buf[static QUOTE_BUF], const char *s, size_t len) {
    size_t o = 0;
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
    buf[o] = '\0';
    return buf;
}

/*
 * Read a value starting at s[*pos] up to the next ',' or the end, quoted or raw, into a new
 * string. `what` names the value in messages ("key 'size'" or "the default key value").
 */
static int read_value(const char *s, size_t *pos, const char *what, char **ret, char **reterr_msg) {
    size_t i = *pos;
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;

    if (s[i] == '"') {
        size_t start = i++;
        for (;;) {
            char c = s[i];
            if (c == '\0')
                return set_error_message(
                    reterr_msg, -EINVAL,
                    "unterminated quoted value for %s (starting at position %zu)", what, start + 1
                );
            if (c == '"')
                break;
            if (c == '\\') {
                char n = s[i + 1];
                if (n != '"' && n != '\\')
                    return set_error_message(
                        reterr_msg, -EINVAL,
                        "invalid escape sequence in value for %s at position %zu", what, i + 1
                    );
                c = n;
                i++;
            } else if (is_control(c))
                return set_error_message(
                    reterr_msg, -EINVAL, "invalid character in value for %s at position %zu", what,
                    i + 1
                );
            strbuf_append_char(&b, c);
            i++;
        }
        i++; /* closing quote */
        if (s[i] != ',' && s[i] != '\0')
            return set_error_message(
                reterr_msg, -EINVAL,
                "unexpected character after quoted value for %s at position %zu", what, i + 1
            );
    } else {
        size_t start = i;
        while (s[i] != ',' && s[i] != '\0') {
            if (is_control(s[i]))
                return set_error_message(
                    reterr_msg, -EINVAL, "invalid character in value for %s at position %zu", what,
                    i + 1
                );
            i++;
        }
        strbuf_append_len(&b, s + start, i - start);
    }

    if (b.len == 0)
        return set_error_message(reterr_msg, -EINVAL, "missing value for %s", what);

    *pos = i;
    return strbuf_finish(&b, ret, NULL);
}

static bool is_blank_only(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

int property_string_parse(
    const char *s, const char *default_key, PropertyString **ret, char **reterr_msg
) {
    char q[QUOTE_BUF];
    int r;

    assert(s);
    assert(ret);

    size_t len = strnlen(s, PROPERTY_STRING_MAX_LEN + 1);
    if (len > PROPERTY_STRING_MAX_LEN)
        return set_error_message(
            reterr_msg, -E2BIG, "property string too long (maximum %u bytes)",
            PROPERTY_STRING_MAX_LEN
        );

    _cleanup_(property_string_freep) PropertyString *ps = property_string_new(default_key);
    if (!ps)
        return default_key && !property_string_key_is_valid(default_key)
                   ? set_error_message(reterr_msg, -EINVAL, "invalid default key")
                   : set_error_message(reterr_msg, -ENOMEM, "out of memory");

    size_t i = 0;
    while (i < len) {
        if (s[i] == ',') {
            i++;
            continue;
        }

        /* Find where this element's key ends: the first '=' before the next ','. Quoted bare
         * values have no key. */
        size_t end = i;
        while (end < len && s[end] != ',' && s[end] != '=' && s[i] != '"')
            end++;

        const char *key;
        size_t key_len;
        bool bare = false;
        char what[PROPERTY_STRING_MAX_KEY + 16];
        size_t vpos;

        if (s[i] != '"' && end < len && s[end] == '=') {
            key = s + i;
            key_len = end - i;
            if (key_len == 0)
                return set_error_message(
                    reterr_msg, -EINVAL, "missing key in comma-separated list property"
                );
            if (!key_is_valid_len(key, key_len))
                return set_error_message(
                    reterr_msg, -EINVAL, "invalid key '%s' in comma-separated list property",
                    quote(q, key, key_len)
                );
            vpos = end + 1;
        } else {
            /* A bare element: skip blank-only ones as upstream does. */
            size_t e = i;
            if (s[i] != '"')
                while (e < len && s[e] != ',')
                    e++;
            if (s[i] != '"' && is_blank_only(s + i, e - i)) {
                i = e;
                continue;
            }
            if (!default_key)
                return set_error_message(
                    reterr_msg, -EINVAL,
                    "value without key, but schema does not define a default key"
                );
            key = default_key;
            key_len = strlen(default_key);
            vpos = i;
            bare = true;
        }

        if (find_entry(ps, key, key_len))
            return set_error_message(
                reterr_msg, -EINVAL, "duplicate key in comma-separated list property: %.*s",
                (int) key_len, key
            );

        snprintf(what, sizeof what, "key '%.*s'", (int) key_len, key);
        _cleanup_free_ char *value = NULL;
        r = read_value(s, &vpos, what, &value, reterr_msg);
        if (r < 0)
            return r == -ENOMEM ? set_error_message(reterr_msg, r, "out of memory") : r;

        char *k = strndup(key, key_len);
        if (!k)
            return set_error_message(reterr_msg, -ENOMEM, "out of memory");
        r = insert_entry(ps, ps->n_entries, k, TAKE_PTR(value), bare);
        if (r == -E2BIG)
            return set_error_message(
                reterr_msg, r, "too many elements in property string (maximum %u)",
                PROPERTY_STRING_MAX_ENTRIES
            );
        if (r < 0)
            return set_error_message(reterr_msg, r, "out of memory");
        i = vpos;
    }

    *ret = TAKE_PTR(ps);
    return 0;
}

/* ---- Printer and editing ----------------------------------------------------------------- */

static bool needs_quotes(const char *v, bool bare) {
    if (v[0] == '"' || strchr(v, ','))
        return true;
    return bare && (strchr(v, '=') || is_blank_only(v, strlen(v)));
}

static void append_value(StrBuf *b, const char *v, bool bare) {
    if (!needs_quotes(v, bare)) {
        strbuf_append(b, v);
        return;
    }
    strbuf_append_char(b, '"');
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            strbuf_append_char(b, '\\');
        strbuf_append_char(b, *p);
    }
    strbuf_append_char(b, '"');
}

int property_string_print(const PropertyString *ps, char **ret) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;

    assert(ps);
    assert(ret);

    for (size_t i = 0; i < ps->n_entries; i++) {
        const PropertyStringEntry *e = &ps->entries[i];
        if (!property_string_key_is_valid(e->key) || !value_is_valid(e->value))
            return -EINVAL;
        bool bare = e->bare && ps->default_key && streq(e->key, ps->default_key);
        if (i > 0)
            strbuf_append_char(&b, ',');
        if (!bare) {
            strbuf_append(&b, e->key);
            strbuf_append_char(&b, '=');
        }
        append_value(&b, e->value, bare);
    }
    return strbuf_finish(&b, ret, NULL);
}

const char *property_string_get(const PropertyString *ps, const char *key) {
    assert(ps);
    assert(key);
    const PropertyStringEntry *e = find_entry(ps, key, strlen(key));
    return e ? e->value : NULL;
}

int property_string_set(PropertyString *ps, const char *key, const char *value) {
    assert(ps);
    if (!property_string_key_is_valid(key) || !value_is_valid(value))
        return -EINVAL;

    char *v = strdup(value);
    if (!v)
        return -ENOMEM;
    PropertyStringEntry *e = find_entry(ps, key, strlen(key));
    if (e) {
        free(e->value);
        e->value = v;
        return 0;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return -ENOMEM;
    }
    bool first = ps->default_key && streq(key, ps->default_key);
    return insert_entry(ps, first ? 0 : ps->n_entries, k, v, first);
}

int property_string_unset(PropertyString *ps, const char *key) {
    assert(ps);
    assert(key);
    PropertyStringEntry *e = find_entry(ps, key, strlen(key));
    if (!e)
        return 0;
    size_t i = (size_t) (e - ps->entries);
    free(e->key);
    free(e->value);
    memmove(ps->entries + i, ps->entries + i + 1, (ps->n_entries - i - 1) * sizeof *ps->entries);
    ps->n_entries--;
    return 1;
}

/* ---- Typed layer ------------------------------------------------------------------------- */

int property_string_parse_bool(const char *s) {
    static const char *const yes[] = {"1", "on", "yes", "true"};
    static const char *const no[] = {"0", "off", "no", "false"};
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -EINVAL;
}

static int parse_integer(const char *s, long long *ret) {
    return safe_atoi64(s, ret);
}

/* Decimal number as upstream's number check accepts it: [+-]digits[.digits][e[+-]digits]. */
static int parse_number(const char *s, double *ret) {
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return -EINVAL;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return -EINVAL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p)
        return -EINVAL;
    double d = strtod(s, NULL);
    if (!isfinite(d))
        return -ERANGE;
    *ret = d;
    return 0;
}

const char *property_string_fields_default_key(const PropertyStringField *fields, size_t n_fields) {
    for (size_t i = 0; i < n_fields; i++)
        if (fields[i].default_key)
            return fields[i].key;
    return NULL;
}

static const PropertyStringField *
find_field(const PropertyStringField *fields, size_t n_fields, const char *key) {
    for (size_t i = 0; i < n_fields; i++)
        if (streq(fields[i].key, key))
            return &fields[i];
    return NULL;
}

static int
check_bounds(const PropertyStringField *f, double v, const char *key, char **reterr_msg) {
    if (f->has_min && v < f->min)
        return set_error_message(
            reterr_msg, -EINVAL, "%s: value must have a minimum value of %g", key, f->min
        );
    if (f->has_max && v > f->max)
        return set_error_message(
            reterr_msg, -EINVAL, "%s: value must have a maximum value of %g", key, f->max
        );
    return 0;
}

static int
check_value(const PropertyStringField *f, const char *key, const char *v, char **reterr_msg) {
    char q[QUOTE_BUF];
    long long i;
    double d;

    switch (f->type) {
    case PROPERTY_STRING_TYPE_STRING:
        if (f->max_length > 0 && strlen(v) > f->max_length)
            return set_error_message(
                reterr_msg, -EINVAL, "%s: value may only be %u characters long", key, f->max_length
            );
        return 0;
    case PROPERTY_STRING_TYPE_INTEGER:
        if (parse_integer(v, &i) < 0)
            return set_error_message(
                reterr_msg, -EINVAL, "%s: type check ('integer') failed - got '%s'", key,
                quote(q, v, strlen(v))
            );
        return check_bounds(f, (double) i, key, reterr_msg);
    case PROPERTY_STRING_TYPE_NUMBER:
        if (parse_number(v, &d) < 0)
            return set_error_message(
                reterr_msg, -EINVAL, "%s: type check ('number') failed - got '%s'", key,
                quote(q, v, strlen(v))
            );
        return check_bounds(f, d, key, reterr_msg);
    case PROPERTY_STRING_TYPE_BOOLEAN:
        if (property_string_parse_bool(v) < 0)
            return set_error_message(
                reterr_msg, -EINVAL, "%s: type check ('boolean') failed - got '%s'", key,
                quote(q, v, strlen(v))
            );
        return 0;
    case PROPERTY_STRING_TYPE_ENUM: {
        if (f->enum_values)
            for (const char *const *e = f->enum_values; *e; e++)
                if (streq(*e, v))
                    return 0;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (const char *const *e = f->enum_values; e && *e; e++) {
            if (e != f->enum_values)
                strbuf_append(&b, ", ");
            strbuf_append(&b, *e);
        }
        if (b.error)
            return set_error_message(reterr_msg, -ENOMEM, "out of memory");
        return set_error_message(
            reterr_msg, -EINVAL, "%s: value '%s' does not have a value in the enumeration '%s'",
            key, quote(q, v, strlen(v)), b.data ? b.data : ""
        );
    }
    default:
        assert(!"unknown property string field type");
        return -EINVAL;
    }
}

int property_string_validate(
    const PropertyString *ps, const PropertyStringField *fields, size_t n_fields, char **reterr_msg
) {
    int r;

    assert(ps);
    assert(fields || n_fields == 0);

    for (size_t i = 0; i < ps->n_entries; i++) {
        const char *key = ps->entries[i].key;
        const PropertyStringField *f = find_field(fields, n_fields, key);
        if (!f)
            return set_error_message(
                reterr_msg, -EINVAL,
                "%s: property is not defined in schema and the schema does not allow additional "
                "properties",
                key
            );
        if (f->alias) {
            if (property_string_get(ps, f->alias))
                return set_error_message(
                    reterr_msg, -EINVAL, "duplicate key in comma-separated list property: %s",
                    f->alias
                );
            f = find_field(fields, n_fields, f->alias);
            if (!f || f->alias)
                return set_error_message(
                    reterr_msg, -EINVAL, "%s: alias to an unknown property", key
                );
        }
        r = check_value(f, key, ps->entries[i].value, reterr_msg);
        if (r < 0)
            return r;
    }

    for (size_t i = 0; i < n_fields; i++) {
        const PropertyStringField *f = &fields[i];
        if (!f->required || f->alias || property_string_get(ps, f->key))
            continue;
        /* Satisfied through an alias? */
        bool found = false;
        for (size_t j = 0; j < n_fields && !found; j++)
            found = fields[j].alias && streq(fields[j].alias, f->key) &&
                    property_string_get(ps, fields[j].key);
        if (!found)
            return set_error_message(
                reterr_msg, -EINVAL, "%s: property is missing and it is not optional", f->key
            );
    }
    return 0;
}

int property_string_get_bool(const PropertyString *ps, const char *key, bool *ret) {
    const char *v = property_string_get(ps, key);
    if (!v)
        return -ENOENT;
    int b = property_string_parse_bool(v);
    if (b < 0)
        return b;
    *ret = b;
    return 0;
}

int property_string_get_int(const PropertyString *ps, const char *key, long long *ret) {
    const char *v = property_string_get(ps, key);
    if (!v)
        return -ENOENT;
    long long i;
    int r = parse_integer(v, &i);
    if (r < 0)
        return r;
    *ret = i;
    return 0;
}
