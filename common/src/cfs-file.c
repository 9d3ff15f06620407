/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* cfs-file: placeholder, being written. */
#include "pve/cfs-file.h"
