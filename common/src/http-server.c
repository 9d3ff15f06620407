/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* http-server: placeholder, being written. */
#include "pve/http-server.h"
