/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the SectionConfig parser and printer: whatever parses must print, the
 * printed text must parse again, and printing that must give the same bytes (the canonical
 * form is a fixed point). Both uniqueness modes are exercised.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/section-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *text, size_t size, unsigned flags) {
    _cleanup_(section_config_freep) SectionConfig *c = NULL;
    _cleanup_free_ char *msg = NULL;
    unsigned line = 0;
    if (section_config_parse(text, size, flags, &c, &line, &msg) < 0)
        return;

    /* Lookups must find every parsed section by its own type and id. */
    for (size_t i = 0; i < c->n_sections; i++)
        if (!section_config_find(c, c->sections[i]->type, c->sections[i]->id))
            abort();

    _cleanup_free_ char *p1 = NULL;
    if (section_config_print(c, &p1) < 0)
        abort();

    _cleanup_(section_config_freep) SectionConfig *c2 = NULL;
    if (section_config_parse(p1, strlen(p1), flags, &c2, NULL, NULL) < 0)
        abort();
    if (c2->n_sections != c->n_sections)
        abort();

    _cleanup_free_ char *p2 = NULL;
    if (section_config_print(c2, &p2) < 0)
        abort();
    if (!streq(p1, p2))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check((const char *) data, size, 0);
    check(
        (const char *) data, size, SECTION_CONFIG_ALLOW_DUPLICATE_KEYS | SECTION_CONFIG_ID_PER_TYPE
    );
    return 0;
}
