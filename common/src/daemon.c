/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* daemon: placeholder, being written. */
#include "pve/daemon.h"
