/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the storage.cfg model: whatever parses must print, the printed text must
 * parse again without warnings, and printing that must give the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/storage-cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    _cleanup_(section_config_freep) SectionConfig *c = NULL, *c2 = NULL;
    _cleanup_free_ char *msg = NULL, *warn = NULL, *warn2 = NULL, *p1 = NULL, *p2 = NULL;
    if (storage_cfg_parse((const char *) data, size, &c, &warn, NULL, &msg) < 0)
        return 0;
    for (size_t i = 0; i < c->n_sections; i++) {
        const SectionConfigSection *s = c->sections[i];
        char *dir = NULL;
        if (storage_cfg_content_dir(s, "iso", &dir) >= 0)
            free(dir);
        (void) storage_cfg_enabled_on(s, "node1");
        (void) storage_cfg_is_shared(s);
    }
    if (storage_cfg_print(c, &p1) < 0)
        abort();
    if (storage_cfg_parse(p1, strlen(p1), &c2, &warn2, NULL, NULL) < 0 || warn2)
        abort();
    if (storage_cfg_print(c2, &p2) < 0 || strcmp(p1, p2) != 0)
        abort();
    return 0;
}
