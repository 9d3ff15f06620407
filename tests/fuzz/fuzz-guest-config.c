/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the guest config parser. Every input is parsed as a QEMU and as an LXC
 * config; whatever parses must print to text that parses again and prints identically, with
 * both the file-order and the canonical printer, and the two printers must agree on the
 * canonical form.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/guest-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*PrintFunc)(const GuestConfig *c, char **ret, size_t *ret_len);

/* print(c), parse it back, print again: the two texts must be equal. Returns the first print. */
static char *check_fixed_point(GuestType type, const GuestConfig *c, PrintFunc print) {
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    GuestConfig *again = NULL;

    if (print(c, &a, &alen) < 0)
        return NULL; /* OOM only */
    if (guest_config_parse(type, a, alen, &again, NULL) < 0)
        abort();
    if (print(again, &b, &blen) < 0) {
        guest_config_free(again);
        free(a);
        return NULL;
    }
    if (alen != blen || memcmp(a, b, alen) != 0)
        abort();
    guest_config_free(again);
    free(b);
    return a;
}

static void one(GuestType type, const uint8_t *data, size_t size) {
    GuestConfig *c = NULL;
    GuestConfigError err;

    if (guest_config_parse(type, (const char *) data, size, &c, &err) < 0)
        return;

    char *ordered = check_fixed_point(type, c, guest_config_print);
    char *canonical = check_fixed_point(type, c, guest_config_print_canonical);

    /* The canonical form must not depend on which printer produced the text. */
    if (ordered && canonical) {
        GuestConfig *c2 = NULL;
        char *canon2 = NULL;
        if (guest_config_parse(type, ordered, strlen(ordered), &c2, NULL) < 0)
            abort();
        if (guest_config_print_canonical(c2, &canon2, NULL) == 0 && !streq(canon2, canonical))
            abort();
        free(canon2);
        guest_config_free(c2);
    }
    free(ordered);
    free(canonical);
    guest_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 256 * 1024)
        return 0;
    one(GUEST_TYPE_QEMU, data, size);
    one(GUEST_TYPE_LXC, data, size);
    return 0;
}
