/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * rrd-file: the RRD files below one directory (default /var/lib/rrdcached/db, $PVE_RRD_DIR),
 * written and read as upstream does (specs/api.md §9.2-9.4): a broadcast "rrd/<key>" value
 * creates its file on first use (directly with librrd, definitions of rrd-def.h) and is
 * stored through rrdcached when its socket exists (default /var/run/rrdcached.sock,
 * $PVE_RRDCACHED_SOCKET), else (or when the daemon fails) with librrd directly. rrddata
 * reads flush the file in rrdcached first and then fetch with librrd.
 *
 * A store is safe to share between threads (one mutex around librrd and the rrdcached
 * connection). Updates that repeat a file's last timestamp are dropped quietly (debug log);
 * other write errors are logged as warnings and returned.
 */
#pragma once

#include <jansson.h>

#include "pve/macro.h"

typedef struct RrdStore RrdStore;

/* $PVE_RRD_DIR / $PVE_RRDCACHED_SOCKET or the upstream defaults. */
const char *rrd_store_default_dir(void);
const char *rrd_store_default_socket(void);

/* dir: the RRD directory (created on demand); socket: rrdcached's unix socket path, NULL to
 * never use the daemon. */
int rrd_store_new(const char *dir, const char *socket, RrdStore **ret);
RrdStore *rrd_store_free(RrdStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(RrdStore *, rrd_store_free);

/* Apply one broadcast value (key without "rrd/", value NUL-terminated). -EINVAL for keys or
 * values rrd-def.h does not accept, -EIO (logged) for librrd/rrdcached failures. */
int rrd_store_update(RrdStore *s, const char *key, const char *value);

/* Absolute path of a file below the store (relpath like "pve2-node/n1"), malloc'd. */
int rrd_store_path(RrdStore *s, const char *relpath, char **ret);

/*
 * upstream's create_rrd_data: fetch relpath for timeframe (see rrd_timeframe()) and cf
 * ("AVERAGE" or "MAX", NULL = AVERAGE) into an array of {time, <ds>: value}. On failure
 * *reterr gets upstream's message ("RRD error: ..." or "got wrong time resolution (a != b)",
 * malloc'd) and -EIO is returned; -EINVAL for an unknown timeframe.
 */
int rrd_store_fetch(
    RrdStore *s,
    const char *relpath,
    const char *timeframe,
    const char *cf,
    json_t **ret,
    char **reterr
);

/*
 * upstream's create_rrd_graph: an 800x200 PNG (full-size mode, lower limit 0, no border) of
 * relpath's data sources ds[0..n_ds) (at most 2: cyan, then red; cpu and iowait scaled to
 * percent) over the timeframe ending now, cf as in rrd_store_fetch. The file is flushed in
 * rrdcached first. *ret gets the PNG bytes (malloc'd, *ret_len long). -EINVAL for an unknown
 * timeframe or a bad ds count; -EIO with *reterr "RRD error: ..." when librrd fails.
 */
int rrd_store_graph(
    RrdStore *s,
    const char *relpath,
    const char *timeframe,
    const char *const *ds,
    size_t n_ds,
    const char *cf,
    void **ret,
    size_t *ret_len,
    char **reterr
);
