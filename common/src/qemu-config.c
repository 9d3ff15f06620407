/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* qemu-config: placeholder, being written. */
#include "pve/qemu-config.h"
