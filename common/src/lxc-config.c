/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* lxc-config: placeholder, being written. */
#include "pve/lxc-config.h"
