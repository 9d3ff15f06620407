/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * text-table: API results as text tables for the command line tools (see text-table.h).
 */
#include "pve/text-table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pve/macro.h"

typedef struct Border {
    const char *h, *v, *tl, *tm, *tr, *hl, *hm, *hr, *hh, *bl, *bm, *br;
} Border;

static const Border unicode = {
    "─", "│", "┌", "┬", "┐", "╞", "╪", "╡", "═", "└", "┴", "┘",
};
static const Border ascii_border = {
    "-", "|", "+", "+", "+", "+", "+", "+", "=", "+", "+", "+",
};

char *text_table_cell(const json_t *v) {
    if (!v || json_is_null(v))
        return strdup("");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

/* display width: code points, not bytes */
static size_t width(const char *s) {
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char) *s & 0xC0) != 0x80)
            w++;
    return w;
}

static void repeat(FILE *f, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        fputs(s, f);
}

static void rule(
    FILE *f, const size_t *w, size_t n, const char *l, const char *m, const char *r, const char *h
) {
    fputs(l, f);
    for (size_t c = 0; c < n; c++) {
        repeat(f, h, w[c] + 2);
        fputs(c + 1 < n ? m : r, f);
    }
    fputc('\n', f);
}

static void row(FILE *f, const Border *b, char *const *cells, const size_t *w, size_t n) {
    fputs(b->v, f);
    for (size_t c = 0; c < n; c++) {
        fprintf(f, " %s", cells[c]);
        repeat(f, " ", w[c] - width(cells[c]) + 1);
        fputs(b->v, f);
    }
    fputc('\n', f);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* rows x cols cells (row 0 = header) */
static int print_grid(FILE *f, const Border *b, char **cells, size_t rows, size_t cols) {
    _cleanup_free_ size_t *w = calloc(cols, sizeof(*w));
    if (!w)
        return -ENOMEM;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            w[c] = MAX(w[c], width(cells[r * cols + c]));
    rule(f, w, cols, b->tl, b->tm, b->tr, b->h);
    row(f, b, cells, w, cols);
    rule(f, w, cols, b->hl, b->hm, b->hr, b->hh);
    for (size_t r = 1; r < rows; r++)
        row(f, b, cells + r * cols, w, cols);
    rule(f, w, cols, b->bl, b->bm, b->br, b->h);
    return 0;
}

static void free_cells(char **cells, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(cells[i]);
    free(cells);
}

static int print_object(FILE *f, const Border *b, const json_t *o) {
    size_t n = json_object_size(o), k = 0;
    _cleanup_free_ const char **keys = calloc(n ?: 1, sizeof(*keys));
    if (!keys)
        return -ENOMEM;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) o, key, v) keys[k++] = key;
    qsort(keys, n, sizeof(*keys), cmp_str);
    size_t total = (n + 1) * 2;
    char **cells = calloc(total, sizeof(*cells));
    if (!cells)
        return -ENOMEM;
    cells[0] = strdup("key");
    cells[1] = strdup("value");
    for (size_t i = 0; i < n; i++) {
        cells[(i + 1) * 2] = strdup(keys[i]);
        cells[(i + 1) * 2 + 1] = text_table_cell(json_object_get(o, keys[i]));
    }
    int r = 0;
    for (size_t i = 0; i < total; i++)
        if (!cells[i])
            r = -ENOMEM;
    if (r >= 0)
        r = print_grid(f, b, cells, n + 1, 2);
    free_cells(cells, total);
    return r;
}

static bool listed(const char *const *columns, const char *key) {
    for (const char *const *c = columns; c && *c; c++)
        if (streq(*c, key))
            return true;
    return false;
}

static int print_rows(FILE *f, const Border *b, const json_t *a, const char *const *columns) {
    /* columns: the fixed ones present in any row, then the other keys sorted */
    size_t cap = 16, ncols = 0;
    _cleanup_free_ const char **cols = calloc(cap, sizeof(*cols));
    if (!cols)
        return -ENOMEM;
    size_t i;
    json_t *e;
    for (const char *const *c = columns; c && *c; c++) {
        bool present = false;
        json_array_foreach((json_t *) a, i, e) present = present || json_object_get(e, *c);
        if (!present)
            continue;
        if (ncols == cap) {
            const char **n = realloc(cols, (cap *= 2) * sizeof(*cols));
            if (!n)
                return -ENOMEM;
            cols = n;
        }
        cols[ncols++] = *c;
    }
    size_t fixed = ncols;
    json_array_foreach((json_t *) a, i, e) {
        const char *key;
        json_t *v;
        json_object_foreach(e, key, v) {
            bool have = listed(columns, key);
            for (size_t c = fixed; c < ncols && !have; c++)
                have = streq(cols[c], key);
            if (have)
                continue;
            if (ncols == cap) {
                const char **n = realloc(cols, (cap *= 2) * sizeof(*cols));
                if (!n)
                    return -ENOMEM;
                cols = n;
            }
            cols[ncols++] = key;
        }
    }
    qsort(cols + fixed, ncols - fixed, sizeof(*cols), cmp_str);
    if (ncols == 0)
        return 0;
    size_t rows = json_array_size(a) + 1, total = rows * ncols;
    char **cells = calloc(total, sizeof(*cells));
    if (!cells)
        return -ENOMEM;
    for (size_t c = 0; c < ncols; c++)
        cells[c] = strdup(cols[c]);
    json_array_foreach((json_t *) a, i, e) for (size_t c = 0; c < ncols; c++)
        cells[(i + 1) * ncols + c] = text_table_cell(json_object_get(e, cols[c]));
    int r = 0;
    for (size_t k = 0; k < total; k++)
        if (!cells[k])
            r = -ENOMEM;
    if (r >= 0)
        r = print_grid(f, b, cells, rows, ncols);
    free_cells(cells, total);
    return r;
}

int text_table_print(FILE *f, const json_t *data, const char *const *columns, bool ascii) {
    const Border *b = ascii ? &ascii_border : &unicode;
    if (!data || json_is_null(data))
        return 0;
    if (json_is_object(data))
        return print_object(f, b, data);
    if (json_is_array(data)) {
        size_t i;
        json_t *e;
        bool objects = json_array_size(data) > 0;
        json_array_foreach((json_t *) data, i, e) objects = objects && json_is_object(e);
        if (objects)
            return print_rows(f, b, data, columns);
        json_array_foreach((json_t *) data, i, e) {
            _cleanup_free_ char *s = text_table_cell(e);
            if (!s)
                return -ENOMEM;
            fprintf(f, "%s\n", s);
        }
        return 0;
    }
    _cleanup_free_ char *s = text_table_cell(data);
    if (!s)
        return -ENOMEM;
    fprintf(f, "%s\n", s);
    return 0;
}
