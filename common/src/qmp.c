/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* qmp: placeholder, being written. */
#include "pve/qmp.h"
