/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* property-string: placeholder, being written. */
#include "pve/property-string.h"
