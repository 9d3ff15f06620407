/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Helpers shared by the unit tests (linked into every one of them). */
#pragma once

#include <stdbool.h>

/* true when `qemu-img --version` runs and exits 0; tests that need it skip() otherwise. */
bool test_have_qemu_img(void);
