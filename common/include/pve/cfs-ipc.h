/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* cfs-ipc: placeholder, being written. */
#pragma once
