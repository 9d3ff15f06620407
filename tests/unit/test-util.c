/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Helpers shared by the unit tests. */
#include "test-util.h"

#include "pve/macro.h"
#include "pve/spawn.h"

bool test_have_qemu_img(void) {
    const char *argv[] = {"qemu-img", "--version", NULL};
    _cleanup_free_ char *out = NULL, *err = NULL;
    int status = -1;
    return spawn_capture(argv, 4096, &out, &err, &status) >= 0 && status == 0;
}
