/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* upid: placeholder, being written. */
#pragma once
