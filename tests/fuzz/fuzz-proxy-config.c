/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for /etc/default/pveproxy parsing: any input either parses (and every client
 * address decision can be evaluated) or fails with a line number within the input and a
 * message; never crashes or leaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/proxy-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 65536)
        return 0;
    ProxyConfig *c = NULL;
    unsigned line = 0;
    char *msg = NULL;
    int r = proxy_config_parse((const char *) data, size, &c, &line, &msg);
    if (r < 0) {
        if (r == -EINVAL && !msg)
            abort();
        unsigned lines = 1;
        for (size_t i = 0; i < size; i++)
            lines += data[i] == '\n';
        if (line > lines)
            abort();
        free(msg);
        return 0;
    }
    if (!c || !c->ciphers || c->max_workers < 1 || c->max_workers > 127)
        abort();
    (void) proxy_config_client_allowed(c, "10.0.0.1");
    (void) proxy_config_client_allowed(c, "2001:db8::1");
    proxy_config_free(c);
    return 0;
}
