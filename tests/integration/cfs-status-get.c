/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cfs-status-get: test helper printing a status value pmxcfs holds (CFS_IPC_GET_STATUS), e.g.
 * `cfs-status-get kv/static-info [NODE]`. Exit 0 and the raw value, 2 when absent, 1 on error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/cfs-ipc.h"

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s KEY [NODE]\n", argv[0]);
        return 1;
    }
    char *value = NULL;
    size_t len = 0;
    int r = cfs_ipc_get_status(argv[1], argc > 2 ? argv[2] : NULL, &value, &len);
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(-r));
        return r == -ENOENT ? 2 : 1;
    }
    fwrite(value, 1, len, stdout);
    free(value);
    return 0;
}
