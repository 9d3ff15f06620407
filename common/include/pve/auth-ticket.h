/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* auth-ticket: placeholder, being written. */
#pragma once
