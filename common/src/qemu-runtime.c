/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* qemu-runtime: placeholder, being written. */
#include "pve/qemu-runtime.h"
