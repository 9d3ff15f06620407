/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cfs-ipc: client of the pmxcfs IPC service "pve2" (specs/pmxcfs.md §6), the same protocol the
 * Perl tools speak through PVE::IPCC. Owns the op numbers, the payload encoders (shared with the
 * server's decoder by layout, not by code), the response checks and the one connection per
 * process. It never logs above debug; callers decide what a failure means.
 *
 * Connection: made on first use to $PVE_CFS_IPC_SERVICE (default "pve2"), re-made in a child
 * after fork (the parent's shared-memory connection is abandoned, never reused), re-made once
 * when a call fails on the transport, and while $PVE_CFS_RUNDIR/cfs-restart-flag exists
 * (pmxcfs restarting) connecting is retried for up to 10 s. Calls block without timeout, as
 * upstream. One mutex serialises all calls of a process.
 *
 * Every call returns 0 (or a byte count where said) or a negative errno: transport errors
 * (-ECONNREFUSED, -ENOTCONN, ...), -EBADMSG for a malformed response, or the server's error
 * (-ENOENT, -EPERM for read-only clients, -EINVAL, -ECHRNG, ...). Returned bodies are malloc'd,
 * owned by the caller and always NUL-terminated (the NUL is not counted in *ret_len).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "pve/macro.h"

typedef enum CfsIpcOp {
    CFS_IPC_GET_FS_VERSION = 1,
    CFS_IPC_GET_CLUSTER_INFO = 2,
    CFS_IPC_GET_GUEST_LIST = 3,
    CFS_IPC_SET_STATUS = 4,
    CFS_IPC_GET_STATUS = 5,
    CFS_IPC_GET_CONFIG = 6,
    CFS_IPC_LOG_CLUSTER_MSG = 7,
    CFS_IPC_GET_CLUSTER_LOG = 8,
    /* 9 was never assigned */
    CFS_IPC_GET_RRD_DUMP = 10,
    CFS_IPC_GET_GUEST_CONFIG_PROPERTY = 11,
    CFS_IPC_VERIFY_TOKEN = 12,
    CFS_IPC_GET_GUEST_CONFIG_PROPERTIES = 13,
} CfsIpcOp;

/* Largest message either side may send: upstream's 1 MiB plus room for the response header and
 * libqb's chunk framing, so that a file of the maximal size (1 MiB) still fits. */
#define CFS_IPC_MAX_MSG_SIZE (1024 * 1024 + 4096)
/* Wire sizes (libqb's headers are 8-byte aligned fields: 16 and 24 bytes). */
#define CFS_IPC_REQUEST_HEADER_SIZE  16
#define CFS_IPC_RESPONSE_HEADER_SIZE 24
#define CFS_IPC_MAX_PAYLOAD          (CFS_IPC_MAX_MSG_SIZE - CFS_IPC_RESPONSE_HEADER_SIZE)
/* Field sizes of the fixed layouts. */
#define CFS_IPC_NAME_SIZE      256 /* SET_STATUS / GET_STATUS name and node name */
#define CFS_IPC_MAX_LOG_FIELD  254 /* ident and tag: u8 length including the NUL */
#define CFS_IPC_MAX_PROPERTIES 255 /* GET_GUEST_CONFIG_PROPERTIES count is a u8 */

/* ---- calls ------------------------------------------------------------------------------- */

/* Generic round trip: payload (may be empty) after the header; on success the body. */
int cfs_ipc_call(CfsIpcOp op, const void *payload, size_t len, char **ret, size_t *ret_len);

/* .version / .members / .vmlist JSON text. */
int cfs_ipc_get_fs_version(char **ret, size_t *ret_len);
int cfs_ipc_get_cluster_info(char **ret, size_t *ret_len);
int cfs_ipc_get_guest_list(char **ret, size_t *ret_len);
/* Store a status value of this node ("kv/<key>", "rrd/<key>", "nodeip", "tasklist"); empty
 * data deletes a kv entry. Root only (-EPERM for www-data). */
int cfs_ipc_set_status(const char *name, const void *data, size_t len);
/* Raw value of name as stored for nodename (NULL or "" = this node); -ENOENT when absent. */
int cfs_ipc_get_status(const char *name, const char *nodename, char **ret, size_t *ret_len);
/* File content straight from the tree, path relative to /etc/pve; www-data gets -EPERM for
 * private paths. */
int cfs_ipc_get_config(const char *path, char **ret, size_t *ret_len);
/* Append to the cluster log (priority 0..7; ident and tag are cut at 254 bytes). Root only. */
int cfs_ipc_log_cluster_msg(int priority, const char *ident, const char *tag, const char *msg);
/* Cluster log JSON, newest first, at most max entries (0 = 50), only user's when non-empty. */
int cfs_ipc_get_cluster_log(unsigned max, const char *user, char **ret, size_t *ret_len);
/* .rrd text (it ends with a NUL byte, included in *ret_len as the server sends it). */
int cfs_ipc_get_rrd_dump(char **ret, size_t *ret_len);
/* JSON {"<vmid>": {"<prop>": "<value>"}, ...} for one guest (vmid >= 100) or all (vmid 0). */
int cfs_ipc_get_guest_config_property(uint32_t vmid, const char *prop, char **ret, size_t *ret_len);
int cfs_ipc_get_guest_config_properties(
    uint32_t vmid, const char *const *props, size_t n_props, char **ret, size_t *ret_len
);
/* 0 when "userid!tokenid secret" is a line of priv/token.cfg, -ENOENT when not. */
int cfs_ipc_verify_token(const char *token);

/* Drop this process's connection and buffer (the next call connects again). */
void cfs_ipc_disconnect(void);

/* ---- wire encoding (pure; exported for tests) -------------------------------------------- */

/* Payloads as the server expects them after the libqb request header. *ret is malloc'd.
 * -EINVAL for values the layout cannot carry, -E2BIG above CFS_IPC_MAX_PAYLOAD. */
int cfs_ipc_encode_string(const char *s, void **ret, size_t *ret_len);
int cfs_ipc_encode_set_status(
    const char *name, const void *data, size_t len, void **ret, size_t *ret_len
);
int cfs_ipc_encode_get_status(const char *name, const char *nodename, void **ret, size_t *ret_len);
int cfs_ipc_encode_log(
    int priority, const char *ident, const char *tag, const char *msg, void **ret, size_t *ret_len
);
int cfs_ipc_encode_get_cluster_log(unsigned max, const char *user, void **ret, size_t *ret_len);
int cfs_ipc_encode_guest_config_property(
    uint32_t vmid, const char *prop, void **ret, size_t *ret_len
);
int cfs_ipc_encode_guest_config_properties(
    uint32_t vmid, const char *const *props, size_t n_props, void **ret, size_t *ret_len
);
int cfs_ipc_encode_verify_token(const char *token, void **ret, size_t *ret_len);

/* Check a received response (header + body) of n bytes: the server's error, -EBADMSG when the
 * framing is wrong, else 0 with the body located inside msg. */
int cfs_ipc_parse_response(const void *msg, size_t n, const void **ret_body, size_t *ret_len);
