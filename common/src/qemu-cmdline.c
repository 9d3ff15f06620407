/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* qemu-cmdline: placeholder, being written. */
#include "pve/qemu-cmdline.h"
