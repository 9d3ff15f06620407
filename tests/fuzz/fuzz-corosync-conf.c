/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the corosync.conf parser. Whatever parses must print (in tree order and
 * canonically) to text that parses again and prints identically; both printers must agree on
 * the canonical form. The tolerant config_version extractor and the node list accessor run on
 * every input too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/corosync-conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*PrintFunc)(const CorosyncConf *c, char **ret, size_t *ret_len);

static char *check_fixed_point(const CorosyncConf *c, PrintFunc print) {
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    CorosyncConf *again = NULL;

    if (print(c, &a, &alen) < 0)
        return NULL; /* OOM only */
    if (corosync_conf_parse(a, alen, &again, NULL) < 0)
        abort();
    if (print(again, &b, &blen) < 0) {
        corosync_conf_free(again);
        free(a);
        return NULL;
    }
    if (alen != blen || memcmp(a, b, alen) != 0)
        abort();
    corosync_conf_free(again);
    free(b);
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    CorosyncConf *c = NULL;
    CorosyncConfError err;
    uint64_t v;

    if (size > 256 * 1024)
        return 0;
    (void) corosync_conf_extract_config_version((const char *) data, size, &v);
    if (corosync_conf_parse((const char *) data, size, &c, &err) < 0)
        return 0;

    CorosyncNode *nodes = NULL;
    size_t n = 0;
    if (corosync_conf_get_nodes(c, &nodes, &n) == 0)
        corosync_nodes_free(nodes, n);
    (void) corosync_conf_get_config_version(c, &v);

    char *ordered = check_fixed_point(c, corosync_conf_print);
    char *canonical = check_fixed_point(c, corosync_conf_print_canonical);
    if (ordered && canonical) {
        CorosyncConf *c2 = NULL;
        char *canon2 = NULL;
        if (corosync_conf_parse(ordered, strlen(ordered), &c2, NULL) < 0)
            abort();
        if (corosync_conf_print_canonical(c2, &canon2, NULL) == 0 && !streq(canon2, canonical))
            abort();
        free(canon2);
        corosync_conf_free(c2);
    }
    free(ordered);
    free(canonical);
    corosync_conf_free(c);
    return 0;
}
