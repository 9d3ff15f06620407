/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * kvstore: the status store replicated over the CPG group pve_kvstore_v1 (protocol 0,
 * specs/pmxcfs.md §3 "kvstore dfsm"): UPDATE {key[256] zero-padded, value} carries a node's
 * kv/rrd/nodeip values, LOG carries one cluster-log entry; the sync STATE is the cluster log,
 * merged on every membership change, after which every node re-broadcasts its own values.
 * The membership also decides which nodes `.members` shows online.
 */
#pragma once

#include "cluster-loop.h"
#include "status.h"

#define KVSTORE_CPG_GROUP        "pve_kvstore_v1"
#define KVSTORE_PROTOCOL_VERSION 0
#define KVSTORE_KEY_SIZE         256

typedef struct Kvstore Kvstore;

/* Hooks itself into the status store's broadcast callbacks. */
int kvstore_new(CfsStatus *status, Kvstore **ret);
Kvstore *kvstore_free(Kvstore *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(Kvstore *, kvstore_free);
CfsService *kvstore_service(Kvstore *k);
