/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* corosync-conf: placeholder, being written. */
#include "pve/corosync-conf.h"
