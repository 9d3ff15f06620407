/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* api-schema: placeholder, being written. */
#include "pve/api-schema.h"
