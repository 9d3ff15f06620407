/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the RRD broadcast parsers (rrd-def.h): input "<key>\n<value>". Keys that
 * parse give a path below the RRD directory (no "..", no leading '/'); accepted values give
 * an update string of exactly 1 + n_ds fields, each a number or U.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/rrd-def.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 8192)
        return 0;
    char *s = strndup((const char *) data, size);
    if (!s)
        return 0;
    char *nl = strchr(s, '\n');
    const char *value = nl ? nl + 1 : "";
    if (nl)
        *nl = 0;

    RrdTarget t;
    if (rrd_key_parse(s, &t) == 0) {
        if (!t.path || t.path[0] == '/' || strstr(t.path, "..") || !t.def)
            abort();
        char *u = NULL;
        time_t ctime;
        if (rrd_value_to_update(&t, value, &u, &ctime) == 0) {
            size_t fields = 1;
            for (const char *p = u; *p; p++)
                fields += *p == ':';
            if (fields != 1 + t.def->n_ds || ctime <= 0 || strstr(u, "::"))
                abort();
            free(u);
        }
        rrd_target_done(&t);
    }
    free(s);
    return 0;
}
