/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ipc-server: the libqb IPC service "pve2" (specs/pmxcfs.md §6) on its own thread. Accepts
 * root (read-write) and group www-data (read-only) clients, answers op codes 1-13 from memdb
 * and status, refuses everyone else.
 */
#pragma once

#include <sys/types.h>

#include "memdb.h"
#include "pve/macro.h"
#include "status.h"

typedef struct IpcServer IpcServer;

/* Start serving service_name (normally "pve2") on a new thread. */
int ipc_server_start(
    Memdb *memdb, CfsStatus *status, const char *service_name, gid_t www_gid, IpcServer **ret
);
/* Stop the thread, disconnect clients, free. */
IpcServer *ipc_server_stop(IpcServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(IpcServer *, ipc_server_stop);
