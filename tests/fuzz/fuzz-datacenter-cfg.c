/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for datacenter.cfg: whatever parses (everything not too large) must print, every
 * kept value must pass the option checks, the printed text must parse to a config that prints
 * the same bytes (the canonical form is a fixed point), and the JSON shape must build.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/datacenter-cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *c = NULL;
    if (datacenter_cfg_parse((const char *) data, size, &c) < 0)
        return 0;
    for (size_t i = 0; i < c->n_entries; i++)
        if (datacenter_cfg_check_value(c->entries[i].key, c->entries[i].value, NULL) != 0)
            abort();

    _cleanup_free_ char *p1 = NULL;
    if (datacenter_cfg_print(c, &p1) < 0)
        abort();
    _cleanup_(datacenter_cfg_freep) DatacenterCfg *c2 = NULL;
    if (datacenter_cfg_parse(p1, strlen(p1), &c2) < 0)
        abort();
    if (c2->n_entries != c->n_entries)
        abort();
    _cleanup_free_ char *p2 = NULL;
    if (datacenter_cfg_print(c2, &p2) < 0 || strcmp(p1, p2) != 0)
        abort();

    json_t *j = datacenter_cfg_to_json(c);
    if (!j)
        abort();
    json_decref(j);
    long long lo, up;
    datacenter_cfg_next_id_range(c, &lo, &up);
    return 0;
}
