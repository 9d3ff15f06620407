/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* ipc-server: placeholder, being written. */
#include <errno.h>

#include "ipc-server.h"

int ipc_server_start(Memdb *memdb, CfsStatus *status, const char *service_name, gid_t www_gid, IpcServer **ret) {
    (void) memdb, (void) status, (void) service_name, (void) www_gid;
    *ret = NULL;
    return 0;
}

IpcServer *ipc_server_stop(IpcServer *s) {
    (void) s;
    return NULL;
}
