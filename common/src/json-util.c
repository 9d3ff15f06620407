/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* json-util: placeholder, being written. */
#include "pve/json-util.h"
