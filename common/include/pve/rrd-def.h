/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * rrd-def: upstream's RRD layout (specs/api.md §9.2-9.4), without I/O: the broadcast keys
 * pvestatd sends through pmxcfs ("pve2-node/<node>", "pve2.3-vm/<vmid>",
 * "pve2-storage/<node>/<storage>") and the files pmxcfs keeps for them (pve2-node/<node>,
 * pve2-vm/<vmid>, pve2-storage/<node>/<storage> below the RRD directory), their data sources
 * (names, types, heartbeat 120, min 0, max U) and archives (AVERAGE and MAX, xff 0.5, 1/30/
 * 180/720/10080 steps of 60 s, 70 rows each), the turning of a broadcast value into an
 * rrd_update argument (live-only leading fields dropped, missing fields padded with U, extra
 * ones cut), and the rrddata side: timeframe -> resolution table, fetch window and the
 * conversion of fetched rows into upstream's [{time, <ds>: value}, ...].
 *
 * The PVE 9 keys (pve-node-9.0/..., pve-vm-9.0/..., pve-storage-9.0/...) are accepted too and
 * written into the same pve2 files (their extra fields are cut), so a newer peer's data is
 * not lost. rrd-file.h does the file and rrdcached I/O on top of this.
 */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "pve/macro.h"

/* Broadcast key prefixes (after "rrd/") as pvestatd sends them. */
#define RRD_KEY_NODE    "pve2-node"
#define RRD_KEY_VM      "pve2.3-vm"
#define RRD_KEY_STORAGE "pve2-storage"

#define RRD_STEP      60  /* seconds per primary data point */
#define RRD_HEARTBEAT 120 /* seconds without update before a DS goes unknown */

typedef enum RrdKind {
    RRD_KIND_NODE,
    RRD_KIND_VM,
    RRD_KIND_STORAGE,
    _RRD_KIND_MAX,
    _RRD_KIND_INVALID = -EINVAL,
} RrdKind;

typedef struct RrdDs {
    const char *name;
    const char *type; /* "GAUGE" or "DERIVE" */
} RrdDs;

typedef struct RrdDef {
    RrdKind kind;
    const char *dir; /* file directory below the RRD dir: "pve2-node", "pve2-vm", ... */
    const RrdDs *ds;
    size_t n_ds;
} RrdDef;

const RrdDef *rrd_def_get(RrdKind kind) _pure_;

/* Archives per consolidation function: steps per row and rows, in file order. */
typedef struct RrdRra {
    unsigned steps;
    unsigned rows;
} RrdRra;
extern const RrdRra rrd_rras[];
extern const size_t rrd_n_rras;

/* One broadcast key understood: the definition, how many leading value fields are live-only
 * (not archived), and the file path relative to the RRD directory (malloc'd). */
typedef struct RrdTarget {
    const RrdDef *def;
    size_t skip;
    char *path;
} RrdTarget;

void rrd_target_done(RrdTarget *t);

/* Parse a key (without "rrd/"): -EINVAL for unknown kinds or ids that are not safe file
 * names (empty, '/', leading '.', characters outside [A-Za-z0-9._-]; vmids must be digits). */
int rrd_key_parse(const char *key, RrdTarget *ret);

/* The rrd_update argument "<ctime>:<v1>:...:<vN>" (N = the definition's DS count) for a
 * broadcast value; *ret_time gets ctime. -EINVAL when there are too few fields, ctime is not
 * a positive integer or a value is neither a number nor "U" (an empty field counts as U). */
int rrd_value_to_update(const RrdTarget *t, const char *value, char **ret, time_t *ret_time);

/* rrd_create arguments: "DS:<name>:<type>:120:0:U" for each DS, then "RRA:<cf>:0.5:<steps>:
 * <rows>" for AVERAGE and then MAX. NULL-terminated, free with strv_free-like rrd_args_free. */
int rrd_def_create_args(const RrdDef *def, char ***ret, size_t *ret_n);
void rrd_args_free(char **args);

/* Start time of a new file: local midnight of ctime (upstream), or ctime - 1 if that is not
 * before ctime. */
time_t rrd_create_start(time_t ctime);

/* ---- rrddata ---------------------------------------------------------------------------- */

/* Resolution (seconds) and row count of a timeframe (hour, day, week, month, year; decade is
 * year on pve2 files). -EINVAL for other names. */
int rrd_timeframe(const char *name, unsigned *ret_reso, unsigned *ret_rows);

/* upstream's window: end = now rounded down to reso, minus 1; start = rounded - reso * rows. */
void rrd_fetch_window(time_t now, unsigned reso, unsigned rows, time_t *ret_start, time_t *ret_end);

/* Fetched rows (as rrd_fetch returns them: start, step, rows x n_ds doubles, row k stands
 * for start + (k + 1) * step) as upstream's array of {time, <ds>: value}: NaN values left
 * out, a last row with no values dropped. NULL on OOM. */
json_t *rrd_rows_to_json(
    time_t start,
    unsigned long step,
    size_t rows,
    size_t n_ds,
    const char *const *names,
    const double *data
);
