/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Environment overrides for the default paths of pve/paths.h. */
#include "pve/paths.h"

#include <stdlib.h>

const char *pve_path_env(const char *env, const char *dflt) {
    const char *v = getenv(env);
    return v && *v ? v : dflt;
}
