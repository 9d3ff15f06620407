/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* api-router: placeholder, being written. */
#pragma once
