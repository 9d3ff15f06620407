/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* task: placeholder, being written. */
#pragma once
