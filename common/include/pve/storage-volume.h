/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* storage-volume: placeholder, being written. */
#pragma once
