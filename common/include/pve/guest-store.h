/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* guest-store: placeholder, being written. */
#pragma once
