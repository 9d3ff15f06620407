/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* lxc-runtime: placeholder, being written. */
#pragma once
