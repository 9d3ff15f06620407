/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* api-qemu: placeholder, being written. */
#include "pve/api-methods.h"

int api_qemu_register(ApiRouter *r) {
    (void) r;
    return 0;
}
