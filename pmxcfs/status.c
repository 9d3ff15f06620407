/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* status: placeholder, being written. */
#include <errno.h>
#include <stdlib.h>

#include "status.h"

struct CfsStatus {
    int dummy;
};

int cfs_status_new(Memdb *memdb, const char *nodename, CfsStatus **ret) {
    (void) memdb, (void) nodename;
    *ret = calloc(1, sizeof(CfsStatus));
    return *ret ? 0 : -ENOMEM;
}

CfsStatus *cfs_status_free(CfsStatus *s) {
    free(s);
    return NULL;
}

void cfs_status_file_changed(void *status, const char *path) {
    (void) status, (void) path;
}

bool cfs_status_quorate(CfsStatus *s) {
    (void) s;
    return true;
}

const CfsPlugFile *cfs_status_plugs(CfsStatus *s, size_t *ret_n) {
    (void) s;
    *ret_n = 0;
    return NULL;
}
