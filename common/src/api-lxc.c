/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* api-lxc: placeholder, being written. */
#include "pve/api-methods.h"

int api_lxc_register(ApiRouter *r) {
    (void) r;
    return 0;
}
