/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* placeholder */
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    (void) data;
    (void) size;
    return 0;
}
