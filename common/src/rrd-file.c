/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * rrd-file: RRD file creation, updates (rrdcached or librrd) and rrddata fetches below one
 * directory (see rrd-file.h), and the PNG graphs of the .../rrd endpoints. The layout and
 * conversions are rrd-def.c's.
 */
#include "pve/rrd-file.h"

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <rrd.h>
#include <rrd_client.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pve/fileio.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/rrd-def.h"
#include "pve/string-util.h"

struct RrdStore {
    pthread_mutex_t mutex;
    char *dir;
    char *socket;  /* NULL: never use rrdcached */
    char *address; /* "unix:<socket>" */
};

const char *rrd_store_default_dir(void) {
    return pve_path_env("PVE_RRD_DIR", PVE_RRD_DIR);
}

const char *rrd_store_default_socket(void) {
    return pve_path_env("PVE_RRDCACHED_SOCKET", PVE_RRDCACHED_SOCKET);
}

int rrd_store_new(const char *dir, const char *socket, RrdStore **ret) {
    if (!dir || !*dir)
        return -EINVAL;
    RrdStore *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->mutex, NULL);
    s->dir = strdup(dir);
    if (socket && *socket) {
        s->socket = strdup(socket);
        if (s->socket && asprintf(&s->address, "unix:%s", socket) < 0)
            s->address = NULL;
    }
    if (!s->dir || (socket && *socket && (!s->socket || !s->address))) {
        rrd_store_free(s);
        return -ENOMEM;
    }
    *ret = s;
    return 0;
}

RrdStore *rrd_store_free(RrdStore *s) {
    if (!s)
        return NULL;
    pthread_mutex_destroy(&s->mutex);
    free(s->dir);
    free(s->socket);
    free(s->address);
    free(s);
    return NULL;
}

int rrd_store_path(RrdStore *s, const char *relpath, char **ret) {
    return asprintf(ret, "%s/%s", s->dir, relpath) < 0 ? -ENOMEM : 0;
}

static void unlockp(pthread_mutex_t **m) {
    if (*m)
        pthread_mutex_unlock(*m);
}
#define STORE_LOCKED(s)                                                  \
    _cleanup_(unlockp) pthread_mutex_t *_locked_ _unused_ = &(s)->mutex; \
    pthread_mutex_lock(&(s)->mutex)

static const char *rrd_error(void) {
    const char *e = rrd_get_error();
    return e && *e ? e : "unknown error";
}

/* Connect to rrdcached when its socket exists (caller holds the mutex). librrd exports only
 * its process-wide client (rrdc_*, locked inside librrd), so stores share one connection. */
static bool daemon_connect(RrdStore *s) {
    struct stat st;
    if (!s->socket || stat(s->socket, &st) < 0 || !S_ISSOCK(st.st_mode))
        return false;
    if (rrdc_is_connected(s->address))
        return true;
    rrd_clear_error();
    if (rrdc_connect(s->address) != 0 || !rrdc_is_connected(s->address)) {
        log_debug("cannot connect to rrdcached at %s: %s", s->address, rrd_error());
        return false;
    }
    return true;
}

static void daemon_drop(void) {
    (void) rrdc_disconnect();
}

static int create_file(const RrdDef *def, const char *path, time_t ctime) {
    int r = mkdir_parents(path, 0755);
    if (r < 0)
        return log_warning_errno(r, "RRD: cannot create the directory of '%s': %m", path);
    char **args = NULL;
    size_t n;
    if ((r = rrd_def_create_args(def, &args, &n)) < 0)
        return r;
    rrd_clear_error();
    r = rrd_create_r(path, RRD_STEP, rrd_create_start(ctime), (int) n, (const char **) args);
    rrd_args_free(args);
    if (r != 0) {
        log_warning("RRD create error %s: %s", path, rrd_error());
        return -EIO;
    }
    return 0;
}

/* "illegal attempt to update using time X when last update time is X (minimum one second
 * step)": a repeated value, not worth more than a debug line. */
static bool error_is_repeat(const char *e) {
    return e && strstr(e, "illegal attempt to update");
}

static int update_file(RrdStore *s, const char *path, const char *update) {
    const char *argv[] = {update};
    if (daemon_connect(s)) {
        rrd_clear_error();
        if (rrdc_update(path, 1, argv) == 0)
            return 0;
        log_debug("rrdcached update of %s failed (%s), writing directly", path, rrd_error());
        daemon_drop();
    }
    rrd_clear_error();
    if (rrd_update_r(path, NULL, 1, argv) == 0)
        return 0;
    const char *e = rrd_error();
    if (error_is_repeat(e)) {
        log_debug("RRD update %s: %s", path, e);
        return 0;
    }
    log_warning("RRD update error %s: %s", path, e);
    return -EIO;
}

int rrd_store_update(RrdStore *s, const char *key, const char *value) {
    RrdTarget t = {};
    _cleanup_free_ char *update = NULL, *path = NULL;
    time_t ctime;
    int r = rrd_key_parse(key, &t);
    if (r < 0)
        return r;
    r = rrd_value_to_update(&t, value, &update, &ctime);
    if (r >= 0)
        r = rrd_store_path(s, t.path, &path);
    const RrdDef *def = t.def;
    rrd_target_done(&t);
    if (r < 0)
        return r;

    STORE_LOCKED(s);
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno != ENOENT)
            return log_warning_errno(errno, "RRD: cannot stat '%s': %m", path);
        if ((r = create_file(def, path, ctime)) < 0)
            return r;
    }
    return update_file(s, path, update);
}

static int fetch_fail(char **reterr, const char *fmt, const char *a) {
    if (reterr && asprintf(reterr, fmt, a) < 0)
        *reterr = NULL;
    return -EIO;
}

int rrd_store_fetch(
    RrdStore *s,
    const char *relpath,
    const char *timeframe,
    const char *cf,
    json_t **ret,
    char **reterr
) {
    unsigned reso, rows;
    if (rrd_timeframe(timeframe, &reso, &rows) < 0)
        return -EINVAL;
    _cleanup_free_ char *path = NULL;
    if (rrd_store_path(s, relpath, &path) < 0)
        return -ENOMEM;
    time_t start, end;
    rrd_fetch_window(time(NULL), reso, rows, &start, &end);

    STORE_LOCKED(s);
    if (daemon_connect(s) && rrdc_flush(path) != 0) {
        log_debug("rrdcached flush of %s failed: %s", path, rrd_error());
        daemon_drop();
    }
    unsigned long step = reso, n_ds = 0;
    char **names = NULL;
    rrd_value_t *data = NULL;
    rrd_clear_error();
    if (rrd_fetch_r(path, cf ? cf : "AVERAGE", &start, &end, &step, &n_ds, &names, &data) != 0)
        return fetch_fail(reterr, "RRD error: %s", rrd_error());

    int r = 0;
    if (step != reso) {
        char got[64];
        snprintf(got, sizeof got, "%lu != %u", step, reso);
        r = fetch_fail(reterr, "got wrong time resolution (%s)", got);
    } else {
        size_t n_rows = end > start ? (size_t) ((end - start) / (time_t) step) : 0;
        *ret = rrd_rows_to_json(start, step, n_rows, n_ds, (const char *const *) names, data);
        if (!*ret)
            r = -ENOMEM;
    }
    for (unsigned long i = 0; i < n_ds; i++)
        rrd_freemem(names[i]);
    rrd_freemem(names);
    rrd_freemem(data);
    return r;
}

/* ---- PNG graphs ------------------------------------------------------------------------- */

#define GRAPH_MAX_ARGS 32

typedef struct GraphArgs {
    char *v[GRAPH_MAX_ARGS];
    int n;
} GraphArgs;

static void graph_args_done(GraphArgs *a) {
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
}

_printf_(2, 3) static int graph_arg(GraphArgs *a, const char *fmt, ...) {
    if (a->n >= GRAPH_MAX_ARGS - 1)
        return -E2BIG;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&a->v[a->n], fmt, ap);
    va_end(ap);
    if (r < 0)
        return -ENOMEM;
    a->n++;
    return 0;
}

/* upstream's argument list: "-" (image returned, not written), PNG, 800x200, from now -
 * reso * rows, one DEF (+ CDEF to percent for cpu/iowait) and LINE2 per data source. */
static int graph_build_args(
    GraphArgs *a,
    const char *path,
    unsigned span,
    const char *const *ds,
    size_t n_ds,
    const char *cf
) {
    static const char *const colors[] = {"#00ddff", "#ff0000"};
    int r = 0;
    r = r < 0 ? r : graph_arg(a, "graphv");
    r = r < 0 ? r : graph_arg(a, "-");
    r = r < 0 ? r : graph_arg(a, "--imgformat=PNG");
    r = r < 0 ? r : graph_arg(a, "--border=0");
    r = r < 0 ? r : graph_arg(a, "--height=200");
    r = r < 0 ? r : graph_arg(a, "--width=800");
    r = r < 0 ? r : graph_arg(a, "--start=-%u", span);
    r = r < 0 ? r : graph_arg(a, "--end=now");
    r = r < 0 ? r : graph_arg(a, "--lower-limit=0");
    r = r < 0 ? r : graph_arg(a, "--full-size-mode");
    for (size_t i = 0; r >= 0 && i < n_ds; i++) {
        const char *id = ds[i];
        bool percent = streq(id, "cpu") || streq(id, "iowait");
        r = graph_arg(a, "DEF:%s=%s:%s:%s", id, path, id, cf);
        if (r >= 0 && percent)
            r = graph_arg(a, "CDEF:%s_per=%s,100,*", id, id);
        if (r >= 0)
            r = graph_arg(a, "LINE2:%s%s%s:%s", id, percent ? "_per" : "", colors[i], id);
    }
    return r;
}

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
) {
    unsigned reso, rows;
    if (rrd_timeframe(timeframe, &reso, &rows) < 0 || n_ds == 0 || n_ds > 2)
        return -EINVAL;
    _cleanup_free_ char *path = NULL;
    if (rrd_store_path(s, relpath, &path) < 0)
        return -ENOMEM;
    _cleanup_(graph_args_done) GraphArgs a = {};
    int r = graph_build_args(&a, path, reso * rows, ds, n_ds, cf ? cf : "AVERAGE");
    if (r < 0)
        return r;

    STORE_LOCKED(s);
    if (daemon_connect(s) && rrdc_flush(path) != 0) {
        log_debug("rrdcached flush of %s failed: %s", path, rrd_error());
        daemon_drop();
    }
    rrd_clear_error();
    rrd_info_t *info = rrd_graph_v(a.n, a.v);
    if (!info)
        return fetch_fail(reterr, "RRD error: %s", rrd_error());
    r = fetch_fail(reterr, "RRD error: %s", "no image");
    for (rrd_info_t *i = info; i; i = i->next) {
        if (i->type != RD_I_BLO || !streq(i->key, "image"))
            continue;
        if (reterr) {
            free(*reterr);
            *reterr = NULL;
        }
        size_t len = i->value.u_blo.size;
        *ret = malloc(len ? len : 1);
        if (*ret)
            memcpy(*ret, i->value.u_blo.ptr, len);
        *ret_len = len;
        r = *ret ? 0 : -ENOMEM;
        break;
    }
    rrd_info_free(info);
    return r;
}
