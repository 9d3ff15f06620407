/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ip-acl: address/prefix/range lists with IPv4 and IPv6 (see ip-acl.h). Addresses are compared
 * as 16-byte big-endian numbers; IPv4 lives in the v4-mapped range ::ffff:0:0/96.
 */
#include "pve/ip-acl.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Range {
    uint8_t lo[16], hi[16];
} Range;

struct IpAcl {
    Range *ranges;
    size_t n;
};

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* text -> 16 bytes; *ret_v4 tells whether it was IPv4 (prefix lengths count from bit 96) */
static int parse_addr(const char *s, uint8_t out[16], bool *ret_v4) {
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memcpy(out, v4_prefix, 12);
        memcpy(out + 12, &a4, 4);
        *ret_v4 = true;
        return 0;
    }
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        memcpy(out, &a6, 16);
        *ret_v4 = memcmp(out, v4_prefix, 12) == 0;
        return 0;
    }
    return -EINVAL;
}

static int cmp(const uint8_t a[16], const uint8_t b[16]) {
    return memcmp(a, b, 16);
}

static int add(IpAcl *a, const Range *r) {
    Range *n = realloc(a->ranges, (a->n + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    a->ranges = n;
    a->ranges[a->n++] = *r;
    return 0;
}

static int parse_entry(IpAcl *a, const char *e) {
    Range r;
    bool v4 = false;
    if (strcmp(e, "all") == 0) {
        memset(&r, 0, sizeof(r));
        memset(r.hi, 0xff, 16); /* ::/0 covers the v4-mapped range too */
        return add(a, &r);
    }
    const char *slash = strchr(e, '/'), *dash = strchr(e, '-');
    char buf[INET6_ADDRSTRLEN + 8];
    if (slash) {
        size_t n = (size_t) (slash - e);
        if (n >= sizeof(buf))
            return -EINVAL;
        memcpy(buf, e, n);
        buf[n] = 0;
        if (parse_addr(buf, r.lo, &v4) < 0)
            return -EINVAL;
        char *end = NULL;
        long len = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || len < 0 || len > (v4 ? 32 : 128))
            return -EINVAL;
        unsigned bits = (unsigned) len + (v4 ? 96 : 0);
        for (unsigned i = 0; i < 128; i++) {
            uint8_t mask = (uint8_t) (0x80 >> (i % 8));
            if (i >= bits) {
                r.lo[i / 8] &= (uint8_t) ~mask;
            }
        }
        memcpy(r.hi, r.lo, 16);
        for (unsigned i = bits; i < 128; i++)
            r.hi[i / 8] |= (uint8_t) (0x80 >> (i % 8));
        return add(a, &r);
    }
    if (dash) {
        size_t n = (size_t) (dash - e);
        if (n >= sizeof(buf))
            return -EINVAL;
        memcpy(buf, e, n);
        buf[n] = 0;
        bool v4b = false;
        if (parse_addr(buf, r.lo, &v4) < 0 || parse_addr(dash + 1, r.hi, &v4b) < 0 || v4 != v4b ||
            cmp(r.lo, r.hi) > 0)
            return -EINVAL;
        return add(a, &r);
    }
    if (parse_addr(e, r.lo, &v4) < 0)
        return -EINVAL;
    memcpy(r.hi, r.lo, 16);
    return add(a, &r);
}

int ip_acl_parse(const char *text, IpAcl **ret, char **reterr_msg) {
    IpAcl *a = calloc(1, sizeof(*a));
    char *copy = strdup(text ? text : "");
    if (!a || !copy) {
        free(copy);
        ip_acl_free(a);
        return -ENOMEM;
    }
    char *save = NULL;
    for (char *e = strtok_r(copy, ", \t", &save); e; e = strtok_r(NULL, ", \t", &save)) {
        int r = parse_entry(a, e);
        if (r < 0) {
            if (r == -EINVAL && reterr_msg &&
                asprintf(reterr_msg, "invalid address or network '%s'", e) < 0)
                *reterr_msg = NULL;
            free(copy);
            ip_acl_free(a);
            return r;
        }
    }
    free(copy);
    *ret = a;
    return 0;
}

IpAcl *ip_acl_free(IpAcl *a) {
    if (a) {
        free(a->ranges);
        free(a);
    }
    return NULL;
}

bool ip_acl_match(const IpAcl *a, const char *address) {
    uint8_t x[16];
    bool v4 = false;
    if (!a || !address || parse_addr(address, x, &v4) < 0)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (cmp(a->ranges[i].lo, x) <= 0 && cmp(x, a->ranges[i].hi) <= 0)
            return true;
    return false;
}
