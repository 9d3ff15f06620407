/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * procfs: parsers for /proc/cpuinfo, /proc/stat, /proc/meminfo, /proc/loadavg and
 * /proc/uptime (see procfs.h). Pure: text in, values out.
 */
#include "pve/procfs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pve/string-util.h"

/* ---- line iteration ------------------------------------------------------------------------- */

/* Next line of *p as [start, len); advances *p past the newline. false at the end. */
static bool next_line(const char **p, const char **ret, size_t *ret_len) {
    if (!**p)
        return false;
    const char *s = *p, *nl = strchr(s, '\n');
    size_t len = nl ? (size_t) (nl - s) : strlen(s);
    *ret = s;
    *ret_len = len;
    *p = nl ? nl + 1 : s + len;
    return true;
}

/* Split "key<blanks>: value" (cpuinfo style). Key without trailing blanks, value without
 * leading blanks and trailing whitespace. false when there is no ':'. */
static bool split_key_value(
    const char *line, size_t len, char *key, size_t keysz, const char **ret_val, size_t *ret_vlen
) {
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return false;
    size_t klen = rstrip_len(line, (size_t) (colon - line));
    if (klen >= keysz)
        return false;
    memcpy(key, line, klen);
    key[klen] = 0;
    const char *v = colon + 1;
    size_t vlen = len - (size_t) (v - line);
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 && isspace((unsigned char) v[vlen - 1]))
        vlen--;
    *ret_val = v;
    *ret_vlen = vlen;
    return true;
}

/* The key matches words separated by any run of blanks (upstream's m/^model\s+name\s*:/i). */
static bool key_is(const char *key, const char *want) {
    while (*key && *want) {
        if (*want == ' ') {
            if (*key != ' ' && *key != '\t')
                return false;
            while (*key == ' ' || *key == '\t')
                key++;
            want++;
            continue;
        }
        if (tolower((unsigned char) *key) != tolower((unsigned char) *want))
            return false;
        key++;
        want++;
    }
    return !*key && !*want;
}

/* A whole unsigned decimal in v[0..len). */
static bool parse_u64(const char *v, size_t len, uint64_t *ret) {
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, v, len);
    buf[len] = 0;
    unsigned long long x;
    if (safe_atou64(buf, &x) < 0)
        return false;
    *ret = x;
    return true;
}

/* "<digits>.<digits>" */
static bool is_decimal(const char *v, size_t len) {
    size_t i = 0, a, b;
    for (a = i; i < len && isdigit((unsigned char) v[i]); i++)
        ;
    if (i == a || i >= len || v[i] != '.')
        return false;
    for (b = ++i; i < len && isdigit((unsigned char) v[i]); i++)
        ;
    return i > b && i == len;
}

/* ---- cpuinfo -------------------------------------------------------------------------------- */

typedef struct Socket {
    uint64_t id;
    uint64_t cores; /* 1 until a "cpu cores" line follows its physical id */
} Socket;

typedef struct CpuInfoParser {
    Socket *sockets;
    size_t n_sockets;
    size_t current; /* index into sockets of the last physical id, SIZE_MAX: none */
} CpuInfoParser;

static int note_physical_id(CpuInfoParser *p, uint64_t id) {
    for (size_t i = 0; i < p->n_sockets; i++)
        if (p->sockets[i].id == id) {
            p->current = i;
            return 0;
        }
    Socket *n = reallocarray(p->sockets, p->n_sockets + 1, sizeof *n);
    if (!n)
        return -ENOMEM;
    p->sockets = n;
    p->sockets[p->n_sockets] = (Socket){.id = id, .cores = 1};
    p->current = p->n_sockets++;
    return 0;
}

static int set_first(char **field, const char *v, size_t len) {
    if (*field)
        return 0;
    *field = strndup(v, len);
    return *field ? 0 : -ENOMEM;
}

static bool has_word(const char *s, const char *w) {
    size_t n = strlen(w);
    for (const char *p = s; (p = strstr(p, w)); p += n)
        if ((p == s || isspace((unsigned char) p[-1])) && (!p[n] || isspace((unsigned char) p[n])))
            return true;
    return false;
}

static int cpuinfo_line(CpuInfoParser *p, ProcCpuInfo *info, const char *line, size_t len) {
    char key[64];
    const char *v;
    size_t vlen;
    uint64_t num;
    if (!split_key_value(line, len, key, sizeof key, &v, &vlen))
        return 0;
    if (key_is(key, "processor")) {
        if (parse_u64(v, vlen, &num))
            info->cpus++;
    } else if (key_is(key, "model name"))
        return set_first(&info->model, v, vlen);
    else if (key_is(key, "cpu MHz")) {
        if (is_decimal(v, vlen))
            return set_first(&info->mhz, v, vlen);
    } else if (streq(key, "flags"))
        return set_first(&info->flags, v, vlen);
    else if (key_is(key, "physical id")) {
        if (parse_u64(v, vlen, &num))
            return note_physical_id(p, num);
    } else if (key_is(key, "cpu cores")) {
        if (parse_u64(v, vlen, &num) && p->current != SIZE_MAX)
            p->sockets[p->current].cores = num;
    }
    return 0;
}

static int cpuinfo_defaults(ProcCpuInfo *info, const CpuInfoParser *p) {
    if (!info->model && !(info->model = strdup("unknown")))
        return -ENOMEM;
    if (!info->mhz && !(info->mhz = strdup("0")))
        return -ENOMEM;
    if (!info->flags && !(info->flags = strdup("")))
        return -ENOMEM;
    uint64_t cores = 0;
    for (size_t i = 0; i < p->n_sockets; i++)
        cores += p->sockets[i].cores;
    info->sockets = p->n_sockets ? (unsigned) p->n_sockets : 1;
    info->cores = cores && cores <= UINT32_MAX ? (unsigned) cores : 1;
    info->hvm = has_word(info->flags, "vmx") || has_word(info->flags, "svm");
    return 0;
}

int procfs_parse_cpuinfo(const char *text, ProcCpuInfo *ret) {
    *ret = (ProcCpuInfo){0};
    CpuInfoParser p = {.current = SIZE_MAX};
    const char *line;
    size_t len;
    int r = 0;
    while (r >= 0 && next_line(&text, &line, &len))
        r = cpuinfo_line(&p, ret, line, len);
    if (r >= 0)
        r = cpuinfo_defaults(ret, &p);
    free(p.sockets);
    if (r < 0)
        procfs_cpuinfo_done(ret);
    return r;
}

void procfs_cpuinfo_done(ProcCpuInfo *info) {
    free(info->model);
    free(info->mhz);
    free(info->flags);
    *info = (ProcCpuInfo){0};
}

/* ---- stat ----------------------------------------------------------------------------------- */

/* Up to max blank-separated numbers in [p, end); returns how many (-1 on a bad token). */
static int parse_number_list(const char *p, const char *end, uint64_t *v, int max) {
    int n = 0;
    for (;;) {
        while (p < end && isspace((unsigned char) *p))
            p++;
        if (p >= end)
            return n;
        const char *tok = p;
        while (p < end && !isspace((unsigned char) *p))
            p++;
        if (n >= max || !parse_u64(tok, (size_t) (p - tok), &v[n]))
            return -1;
        n++;
    }
}

/* Up to max numbers after the first word of line; returns how many (-1 on a bad token). */
static int parse_numbers(const char *line, size_t len, uint64_t *v, int max) {
    const char *p = line, *end = line + len;
    while (p < end && !isspace((unsigned char) *p))
        p++;
    return parse_number_list(p, end, v, max);
}

static void stat_cpu_line(ProcStat *s, const char *line, size_t len) {
    uint64_t v[10] = {0};
    int n = parse_numbers(line, len, v, 10);
    if (n < 4)
        return;
    /* user and nice include guest and guest_nice; upstream reports them without */
    s->user = v[0] >= v[8] ? v[0] - v[8] : 0;
    s->nice = v[1] >= v[9] ? v[1] - v[9] : 0;
    s->system = v[2];
    s->idle = v[3];
    s->iowait = v[4];
    s->irq = v[5];
    s->softirq = v[6];
    s->steal = v[7];
    s->guest = v[8];
    s->guest_nice = v[9];
    s->used = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    s->total = s->used + s->idle + s->iowait;
    s->valid = true;
}

void procfs_parse_stat(const char *text, ProcStat *ret) {
    *ret = (ProcStat){0};
    const char *line;
    size_t len;
    while (next_line(&text, &line, &len)) {
        if (len > 4 && startswith(line, "cpu") && (line[3] == ' ' || line[3] == '\t'))
            stat_cpu_line(ret, line, len);
        else if (len > 3 && startswith(line, "cpu") && isdigit((unsigned char) line[3]))
            ret->cpus++;
    }
    if (ret->cpus == 0)
        ret->cpus = 1;
}

static double share(uint64_t part, uint64_t whole) {
    if (whole == 0)
        return 0;
    return part >= whole ? 1.0 : (double) part / (double) whole;
}

void procfs_stat_usage(
    const ProcStat *prev, const ProcStat *cur, double *ret_cpu, double *ret_wait
) {
    uint64_t used = cur->used, wait = cur->iowait, total = cur->total;
    if (prev && prev->valid && cur->total > prev->total && cur->used >= prev->used &&
        cur->iowait >= prev->iowait) {
        used -= prev->used;
        wait -= prev->iowait;
        total -= prev->total;
    }
    *ret_cpu = share(used, total);
    *ret_wait = share(wait, total);
}

/* ---- meminfo -------------------------------------------------------------------------------- */

void procfs_parse_meminfo(const char *text, ProcMemInfo *ret) {
    static const char *const keys[] = {
        "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal", "SwapFree",
    };
    uint64_t v[ELEMENTSOF(keys)] = {0};
    bool seen[ELEMENTSOF(keys)] = {false};
    const char *line;
    size_t len;
    while (next_line(&text, &line, &len)) {
        char key[64];
        const char *val;
        size_t vlen;
        uint64_t kb;
        if (!split_key_value(line, len, key, sizeof key, &val, &vlen))
            continue;
        /* "<number> kB" */
        const char *sp = memchr(val, ' ', vlen);
        if (!sp || (size_t) (val + vlen - sp) != 3 || strncasecmp(sp, " kB", 3) != 0 ||
            !parse_u64(val, (size_t) (sp - val), &kb) || kb > UINT64_MAX / 1024)
            continue;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
            if (streq(key, keys[i]) && !seen[i]) {
                v[i] = kb * 1024;
                seen[i] = true;
            }
    }
    *ret = (ProcMemInfo){.total = v[0], .swap_total = v[5], .swap_free = v[6]};
    uint64_t avail = seen[2] ? v[2] : v[1] + v[3] + v[4];
    ret->available = avail < ret->total ? avail : ret->total;
    ret->used = ret->total - ret->available;
    ret->free = ret->total - ret->used;
    if (ret->swap_free > ret->swap_total)
        ret->swap_free = ret->swap_total;
    ret->swap_used = ret->swap_total - ret->swap_free;
}

/* ---- loadavg, uptime ------------------------------------------------------------------------ */

int procfs_parse_loadavg(const char *text, char ret[static 3][16]) {
    char a[3][16];
    int n = -1;
    for (size_t i = 0; i < 3; i++)
        strcpy(ret[i], "0");
    /* "0.93 0.47 0.41 1/86 20579" */
    if (sscanf(text, "%15s %15s %15s %*u/%*u %*u%n", a[0], a[1], a[2], &n) != 3 || n < 0)
        return -EINVAL;
    for (size_t i = 0; i < 3; i++)
        if (!is_decimal(a[i], strlen(a[i])))
            return -EINVAL;
    for (size_t i = 0; i < 3; i++)
        strcpy(ret[i], a[i]);
    return 0;
}

static bool parse_seconds(const char *tok, size_t len, uint64_t *ret) {
    const char *dot = memchr(tok, '.', len);
    if (!dot || !is_decimal(tok, len))
        return false;
    return parse_u64(tok, (size_t) (dot - tok), ret);
}

int procfs_parse_uptime(const char *text, uint64_t *ret_uptime, uint64_t *ret_idle) {
    *ret_uptime = *ret_idle = 0;
    const char *line;
    size_t len;
    if (!next_line(&text, &line, &len))
        return -EINVAL;
    len = rstrip_len(line, len);
    const char *sp = memchr(line, ' ', len);
    uint64_t up, idle;
    if (!sp || !parse_seconds(line, (size_t) (sp - line), &up) ||
        !parse_seconds(sp + 1, len - (size_t) (sp + 1 - line), &idle))
        return -EINVAL;
    *ret_uptime = up;
    *ret_idle = idle;
    return 0;
}

/* ---- net/dev -------------------------------------------------------------------------------- */

/* "<blanks><name>: rx_bytes rx_packets errs drop fifo frame compressed multicast tx_bytes
 * tx_packets ..." (the name may touch the first number). */
static bool net_dev_line(const char *line, size_t len, ProcNetDevIf *ret) {
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return false;
    const char *name = line;
    while (name < colon && isspace((unsigned char) *name))
        name++;
    size_t nlen = rstrip_len(name, (size_t) (colon - name));
    if (nlen == 0 || nlen >= sizeof ret->name)
        return false;
    uint64_t v[16];
    int n = parse_number_list(colon + 1, line + len, v, 16);
    if (n < 10)
        return false;
    *ret =
        (ProcNetDevIf){.rx_bytes = v[0], .rx_packets = v[1], .tx_bytes = v[8], .tx_packets = v[9]};
    memcpy(ret->name, name, nlen);
    ret->name[nlen] = 0;
    return true;
}

int procfs_parse_net_dev(const char *text, ProcNetDevIf **ret, size_t *ret_n) {
    ProcNetDevIf *list = NULL;
    size_t n = 0, cap = 0;
    const char *line;
    size_t len;
    while (next_line(&text, &line, &len)) {
        ProcNetDevIf i;
        if (!net_dev_line(line, len, &i))
            continue; /* the two header lines and garbage */
        if (n == cap) {
            size_t c = cap ? cap * 2 : 8;
            ProcNetDevIf *l = reallocarray(list, c, sizeof *l);
            if (!l) {
                free(list);
                return -ENOMEM;
            }
            list = l;
            cap = c;
        }
        list[n++] = i;
    }
    *ret = list;
    *ret_n = n;
    return 0;
}

bool procfs_is_physical_nic(const char *name) {
    const char *rest;
    if ((rest = startswith(name, "eth")))
        return *rest && strspn(rest, "0123456789") == strlen(rest);
    if ((rest = startswith(name, "en")) || (rest = startswith(name, "ib")))
        return *rest && !strpbrk(rest, ":.");
    return false;
}

void procfs_net_dev_physical_sum(
    const ProcNetDevIf *list, size_t n, uint64_t *ret_in, uint64_t *ret_out
) {
    uint64_t in = 0, out = 0;
    for (size_t i = 0; i < n; i++)
        if (procfs_is_physical_nic(list[i].name)) {
            in += list[i].rx_bytes;
            out += list[i].tx_bytes;
        }
    *ret_in = in;
    *ret_out = out;
}

int procfs_parse_pid_stat(const char *text, ProcPidStat *ret) {
    *ret = (ProcPidStat){0};
    /* the fields start after the last ')': comm may contain anything else */
    const char *p = strrchr(text, ')');
    if (!p)
        return -EINVAL;
    p++;
    uint64_t v[25] = {0};
    char state = 0;
    for (unsigned field = 3; field <= 24; field++) {
        while (*p == ' ')
            p++;
        if (!*p || *p == '\n')
            return -EINVAL;
        if (field == 3)
            state = *p++;
        else {
            if (*p == '-')
                p++; /* negative fields (priority, nice) are not among the ones we keep */
            if (*p < '0' || *p > '9')
                return -EINVAL;
            while (*p >= '0' && *p <= '9')
                v[field] = v[field] * 10 + (uint64_t) (*p++ - '0');
        }
        if (*p && *p != ' ' && *p != '\n')
            return -EINVAL;
    }
    *ret = (ProcPidStat
    ){.state = state, .utime = v[14], .stime = v[15], .starttime = v[22], .rss_pages = v[24]};
    return 0;
}
