/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* user-cfg: placeholder, being written. */
#pragma once
