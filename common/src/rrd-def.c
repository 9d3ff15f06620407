/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * rrd-def: upstream's RRD definitions, broadcast keys and rrddata conversions (see
 * rrd-def.h). Pure: no I/O, no logging.
 */
#include "pve/rrd-def.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/strbuf.h"
#include "pve/string-util.h"

static const RrdDs node_ds[] = {
    {"loadavg", "GAUGE"},   {"maxcpu", "GAUGE"},   {"cpu", "GAUGE"},       {"iowait", "GAUGE"},
    {"memtotal", "GAUGE"},  {"memused", "GAUGE"},  {"swaptotal", "GAUGE"}, {"swapused", "GAUGE"},
    {"roottotal", "GAUGE"}, {"rootused", "GAUGE"}, {"netin", "DERIVE"},    {"netout", "DERIVE"},
};

static const RrdDs vm_ds[] = {
    {"maxcpu", "GAUGE"},    {"cpu", "GAUGE"},        {"maxmem", "GAUGE"}, {"mem", "GAUGE"},
    {"maxdisk", "GAUGE"},   {"disk", "GAUGE"},       {"netin", "DERIVE"}, {"netout", "DERIVE"},
    {"diskread", "DERIVE"}, {"diskwrite", "DERIVE"},
};

static const RrdDs storage_ds[] = {
    {"total", "GAUGE"},
    {"used", "GAUGE"},
};

static const RrdDef defs[_RRD_KIND_MAX] = {
    [RRD_KIND_NODE] = {RRD_KIND_NODE, "pve2-node", node_ds, ELEMENTSOF(node_ds)},
    [RRD_KIND_VM] = {RRD_KIND_VM, "pve2-vm", vm_ds, ELEMENTSOF(vm_ds)},
    [RRD_KIND_STORAGE] = {RRD_KIND_STORAGE, "pve2-storage", storage_ds, ELEMENTSOF(storage_ds)},
};

const RrdRra rrd_rras[] = {{1, 70}, {30, 70}, {180, 70}, {720, 70}, {10080, 70}};
const size_t rrd_n_rras = ELEMENTSOF(rrd_rras);

const RrdDef *rrd_def_get(RrdKind kind) {
    return kind >= 0 && kind < _RRD_KIND_MAX ? &defs[kind] : NULL;
}

/* Key prefixes, their kind, live-only leading fields, and how many ids follow. */
static const struct {
    const char *prefix;
    RrdKind kind;
    size_t skip;
} key_kinds[] = {
    {RRD_KEY_NODE "/", RRD_KIND_NODE, 2},       {"pve-node-9.0/", RRD_KIND_NODE, 2},
    {RRD_KEY_VM "/", RRD_KIND_VM, 4},           {"pve-vm-9.0/", RRD_KIND_VM, 4},
    {RRD_KEY_STORAGE "/", RRD_KIND_STORAGE, 0}, {"pve-storage-9.0/", RRD_KIND_STORAGE, 0},
};

void rrd_target_done(RrdTarget *t) {
    if (t) {
        free(t->path);
        t->path = NULL;
    }
}

/* A safe single path component: node names and storage ids fit, "..", "/" and hidden names
 * do not. */
static bool id_is_safe(const char *s, size_t len) {
    if (len == 0 || len > 255 || s[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool id_is_vmid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 9 || s[0] == '0')
        return false;
    return strspn(s, "0123456789") == n;
}

int rrd_key_parse(const char *key, RrdTarget *ret) {
    if (!key)
        return -EINVAL;
    for (size_t i = 0; i < ELEMENTSOF(key_kinds); i++) {
        const char *id = startswith(key, key_kinds[i].prefix);
        if (!id)
            continue;
        const RrdDef *def = &defs[key_kinds[i].kind];
        const char *slash = strchr(id, '/');
        if (def->kind == RRD_KIND_STORAGE) {
            if (!slash || !id_is_safe(id, (size_t) (slash - id)) ||
                !id_is_safe(slash + 1, strlen(slash + 1)))
                return -EINVAL;
        } else if (slash || !id_is_safe(id, strlen(id)) || (def->kind == RRD_KIND_VM && !id_is_vmid(id)))
            return -EINVAL;
        char *path;
        if (asprintf(&path, "%s/%s", def->dir, id) < 0)
            return -ENOMEM;
        *ret = (RrdTarget){.def = def, .skip = key_kinds[i].skip, .path = path};
        return 0;
    }
    return -EINVAL;
}

/* A value field: a finite number in C syntax, or "U"/"" for unknown. */
static bool field_is_value(const char *s, size_t len) {
    if (len == 0 || (len == 1 && s[0] == 'U'))
        return true;
    char buf[64];
    if (len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    return *end == 0 && errno == 0 && isfinite(d) && strspn(buf, "0123456789+-.eE") == len;
}

int rrd_value_to_update(const RrdTarget *t, const char *value, char **ret, time_t *ret_time) {
    if (!t || !t->def || !value)
        return -EINVAL;
    const char *p = value;
    for (size_t i = 0; i < t->skip; i++) {
        p = strchr(p, ':');
        if (!p)
            return -EINVAL;
        p++;
    }
    /* ctime */
    size_t tlen = strcspn(p, ":");
    char tbuf[24];
    unsigned long long ctime;
    if (tlen == 0 || tlen >= sizeof tbuf)
        return -EINVAL;
    memcpy(tbuf, p, tlen);
    tbuf[tlen] = 0;
    if (safe_atou64(tbuf, &ctime) < 0 || ctime == 0 || ctime > (unsigned long long) INT64_MAX)
        return -EINVAL;
    p += tlen;

    StrBuf b = STRBUF_INIT;
    strbuf_printf(&b, "%llu", ctime);
    for (size_t i = 0; i < t->def->n_ds; i++) {
        const char *f = "";
        size_t flen = 0;
        if (*p == ':') {
            f = p + 1;
            flen = strcspn(f, ":");
            p = f + flen;
        }
        if (!field_is_value(f, flen)) {
            strbuf_done(&b);
            return -EINVAL;
        }
        strbuf_append_char(&b, ':');
        if (flen == 0)
            strbuf_append_char(&b, 'U');
        else
            strbuf_append_len(&b, f, flen);
    }
    int r = strbuf_finish(&b, ret, NULL);
    if (r < 0)
        return r;
    if (ret_time)
        *ret_time = (time_t) ctime;
    return 0;
}

void rrd_args_free(char **args) {
    for (char **a = args; a && *a; a++)
        free(*a);
    free(args);
}

int rrd_def_create_args(const RrdDef *def, char ***ret, size_t *ret_n) {
    static const char *const cfs[] = {"AVERAGE", "MAX"};
    size_t n = def->n_ds + ELEMENTSOF(cfs) * rrd_n_rras, k = 0;
    char **a = calloc(n + 1, sizeof *a);
    if (!a)
        return -ENOMEM;
    for (size_t i = 0; i < def->n_ds; i++)
        if (asprintf(&a[k++], "DS:%s:%s:%u:0:U", def->ds[i].name, def->ds[i].type, RRD_HEARTBEAT) <
            0)
            goto oom;
    for (size_t c = 0; c < ELEMENTSOF(cfs); c++)
        for (size_t i = 0; i < rrd_n_rras; i++)
            if (asprintf(&a[k++], "RRA:%s:0.5:%u:%u", cfs[c], rrd_rras[i].steps, rrd_rras[i].rows) <
                0)
                goto oom;
    *ret = a;
    if (ret_n)
        *ret_n = n;
    return 0;
oom:
    a[k - 1] = NULL;
    rrd_args_free(a);
    return -ENOMEM;
}

time_t rrd_create_start(time_t ctime) {
    struct tm tm;
    if (!localtime_r(&ctime, &tm))
        return ctime - 1;
    tm.tm_sec = tm.tm_min = tm.tm_hour = 0;
    tm.tm_isdst = -1;
    time_t midnight = mktime(&tm);
    return midnight != (time_t) -1 && midnight < ctime ? midnight : ctime - 1;
}

/* ---- rrddata ---------------------------------------------------------------------------- */

int rrd_timeframe(const char *name, unsigned *ret_reso, unsigned *ret_rows) {
    static const struct {
        const char *name;
        unsigned reso, rows;
    } table[] = {
        {"hour", 60, 60},        {"day", 60 * 30, 70},     {"week", 60 * 180, 70},
        {"month", 60 * 720, 70}, {"year", 60 * 10080, 70}, {"decade", 60 * 10080, 70},
    };
    for (size_t i = 0; name && i < ELEMENTSOF(table); i++)
        if (streq(name, table[i].name)) {
            *ret_reso = table[i].reso;
            *ret_rows = table[i].rows;
            return 0;
        }
    return -EINVAL;
}

void rrd_fetch_window(
    time_t now, unsigned reso, unsigned rows, time_t *ret_start, time_t *ret_end
) {
    time_t aligned = reso ? now - now % (time_t) reso : now;
    *ret_end = aligned - 1;
    *ret_start = aligned - (time_t) reso * (time_t) rows;
}

json_t *rrd_rows_to_json(
    time_t start,
    unsigned long step,
    size_t rows,
    size_t n_ds,
    const char *const *names,
    const double *data
) {
    json_t *res = json_array();
    if (!res)
        return NULL;
    for (size_t k = 0; k < rows; k++) {
        json_t *o = json_pack("{s:I}", "time", (json_int_t) (start + (time_t) ((k + 1) * step)));
        if (!o || json_array_append_new(res, o) < 0)
            goto oom;
        size_t set = 0;
        for (size_t i = 0; i < n_ds; i++) {
            double v = data[k * n_ds + i];
            if (isnan(v))
                continue;
            /* whole numbers print as integers, as Perl's JSON encoder does */
            json_t *j =
                v == floor(v) && fabs(v) < 1e15 ? json_integer((json_int_t) v) : json_real(v);
            if (json_object_set_new(o, names[i], j) < 0)
                goto oom;
            set++;
        }
        if (set == 0 && k + 1 == rows)
            json_array_remove(res, k); /* the current, unfinished interval */
    }
    return res;
oom:
    json_decref(res);
    return NULL;
}
