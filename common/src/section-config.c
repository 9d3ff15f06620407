/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* section-config: placeholder, being written. */
#include "pve/section-config.h"
