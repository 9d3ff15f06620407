/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* digest: placeholder, being written. */
#pragma once
