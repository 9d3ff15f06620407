/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* guest-config: placeholder, being written. */
#include "pve/guest-config.h"
