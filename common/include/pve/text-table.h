/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * text-table: the `--output-format text` rendering of API results the upstream CLIs use
 * (pvesh, and later qm/pct/ha-manager): a box-drawn table for an object (key/value rows) or
 * an array of objects (one column per key), plain lines for scalars and arrays of scalars.
 * Values that are objects or arrays are printed as compact JSON inside a cell.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/*
 * Print data to f. columns (NULL-terminated, may be NULL) fixes the column order of a table;
 * other keys follow sorted. ascii selects +-| borders instead of Unicode box drawing.
 * 0 or -ENOMEM.
 */
int text_table_print(FILE *f, const json_t *data, const char *const *columns, bool ascii);

/* A scalar as a cell text (strings raw, numbers in JSON form, null as ""), malloc'd. */
char *text_table_cell(const json_t *v);
