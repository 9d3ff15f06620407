/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for property strings: whatever parses must print, the printed text must parse
 * to the same entries, and printing again must give the same bytes. Run without a default key
 * and with one, and through the typed validator with a small field table.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/property-string.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const media[] = {"cdrom", "disk", NULL};
static const PropertyStringField fields[] = {
    {.key = "file", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true, .required = true},
    {.key = "volume", .alias = "file"},
    {.key = "size", .type = PROPERTY_STRING_TYPE_STRING, .max_length = 16},
    {.key = "iothread", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "queues", .type = PROPERTY_STRING_TYPE_INTEGER, .has_min = true, .min = 1},
    {.key = "rate", .type = PROPERTY_STRING_TYPE_NUMBER, .has_max = true, .max = 1e6},
    {.key = "media", .type = PROPERTY_STRING_TYPE_ENUM, .enum_values = media},
};

static void check(const char *s, const char *default_key) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    _cleanup_free_ char *msg = NULL;
    if (property_string_parse(s, default_key, &ps, &msg) < 0)
        return;

    _cleanup_free_ char *vmsg = NULL;
    (void) property_string_validate(ps, fields, ELEMENTSOF(fields), &vmsg);

    _cleanup_free_ char *p1 = NULL;
    if (property_string_print(ps, &p1) < 0)
        abort();

    _cleanup_(property_string_freep) PropertyString *ps2 = NULL;
    if (property_string_parse(p1, default_key, &ps2, NULL) < 0)
        abort();
    if (ps2->n_entries != ps->n_entries)
        abort();
    for (size_t i = 0; i < ps->n_entries; i++)
        if (!streq(ps->entries[i].key, ps2->entries[i].key) ||
            !streq(ps->entries[i].value, ps2->entries[i].value))
            abort();

    _cleanup_free_ char *p2 = NULL;
    if (property_string_print(ps2, &p2) < 0)
        abort();
    if (!streq(p1, p2))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 2 * 65536)
        return 0;
    _cleanup_free_ char *s = strndup((const char *) data, size);
    if (!s)
        return 0;
    check(s, NULL);
    check(s, "file");
    return 0;
}
