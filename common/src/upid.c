/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * UPID encoding and decoding with upstream's field rules, and the task log path. The decoder
 * is strict (exact field widths, trailing ':'), so anything it accepts is a safe file name.
 */
#include "pve/upid.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool node_is_valid_len(const char *s, size_t len) {
    if (len == 0 || len > UPID_NODE_MAX || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
        return false;
    for (size_t i = 1; i + 1 < len; i++)
        if (!is_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

/* No ':', no '/', no whitespace; we also refuse control bytes, which upstream's \s would not
 * catch but which have no business in a file name shown in a task list. */
static bool field_char_ok(char c) {
    unsigned char u = (unsigned char) c;
    return c != ':' && c != '/' && c != ' ' && u > 0x20 && u != 0x7f;
}

static bool field_is_valid_len(const char *s, size_t len, bool allow_empty) {
    if (len == 0)
        return allow_empty;
    for (size_t i = 0; i < len; i++)
        if (!field_char_ok(s[i]))
            return false;
    return true;
}

bool upid_node_is_valid(const char *node) {
    return node && node_is_valid_len(node, strnlen(node, UPID_NODE_MAX + 1));
}

bool upid_field_is_valid(const char *s, bool allow_empty) {
    if (!s)
        return false;
    size_t len = strnlen(s, UPID_MAX_LEN + 1);
    return len <= UPID_MAX_LEN && field_is_valid_len(s, len, allow_empty);
}

/* Parse exactly min..max hex digits ending at the next ':'; advances *p past the ':'. */
static int parse_hex(const char **p, unsigned min, unsigned max, uint64_t *ret) {
    const char *s = *p;
    uint64_t v = 0;
    unsigned n = 0;
    for (; s[n] != ':'; n++) {
        int h = hexval(s[n]);
        if (h < 0 || n >= max)
            return -EINVAL;
        v = v << 4 | (uint64_t) h;
    }
    if (n < min)
        return -EINVAL;
    *p = s + n + 1;
    *ret = v;
    return 0;
}

/* Copy the field up to the next ':' into buf; advances *p past the ':'. */
static int parse_field(const char **p, bool allow_empty, char *buf, size_t size) {
    const char *s = *p;
    const char *colon = strchr(s, ':');
    if (!colon)
        return -EINVAL;
    size_t len = (size_t) (colon - s);
    if (len >= size || !field_is_valid_len(s, len, allow_empty))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *p = colon + 1;
    return 0;
}

int upid_decode(const char *s, Upid *ret) {
    Upid u = {};
    uint64_t v;

    assert(s);
    assert(ret);

    if (strnlen(s, UPID_MAX_LEN + 1) > UPID_MAX_LEN)
        return -EINVAL;
    const char *p = s;
    if (strncmp(p, "UPID:", 5) != 0)
        return -EINVAL;
    p += 5;

    const char *colon = strchr(p, ':');
    if (!colon || !node_is_valid_len(p, (size_t) (colon - p)))
        return -EINVAL;
    memcpy(u.node, p, (size_t) (colon - p));
    p = colon + 1;

    if (parse_hex(&p, 8, 8, &v) < 0)
        return -EINVAL;
    u.pid = (uint32_t) v;
    if (parse_hex(&p, 8, 9, &u.pstart) < 0)
        return -EINVAL;
    if (parse_hex(&p, 8, 8, &v) < 0)
        return -EINVAL;
    u.starttime = (uint32_t) v;

    if (parse_field(&p, false, u.type, sizeof u.type) < 0 ||
        parse_field(&p, true, u.id, sizeof u.id) < 0 ||
        parse_field(&p, false, u.user, sizeof u.user) < 0)
        return -EINVAL;
    if (*p != '\0')
        return -EINVAL;

    *ret = u;
    return 0;
}

int upid_encode(const Upid *u, char **ret) {
    assert(u);
    assert(ret);

    if (!upid_node_is_valid(u->node) || u->pstart > UINT64_C(0xFFFFFFFFF) ||
        !upid_field_is_valid(u->type, false) || !upid_field_is_valid(u->id, true) ||
        !upid_field_is_valid(u->user, false))
        return -EINVAL;

    char *s;
    int n = asprintf(
        &s, "UPID:%s:%08X:%08llX:%08X:%s:%s:%s:", u->node, (unsigned) u->pid,
        (unsigned long long) u->pstart, (unsigned) u->starttime, u->type, u->id, u->user
    );
    if (n < 0)
        return -ENOMEM;
    if ((unsigned) n > UPID_MAX_LEN) {
        free(s);
        return -EINVAL;
    }
    *ret = s;
    return 0;
}

int upid_log_path(const char *taskdir, const char *upid, char **ret) {
    Upid u;

    assert(taskdir);
    assert(upid);
    assert(ret);

    if (upid_decode(upid, &u) < 0)
        return -EINVAL;

    /* The starttime field is the fifth ':'-separated field; take its last character as
     * written, so a lower-case UPID maps to the directory upstream would use. */
    const char *p = upid;
    for (unsigned i = 0; i < 4; i++)
        p = strchr(p, ':') + 1;
    const char *end = strchr(p, ':');
    char sub = end[-1];

    size_t tl = strlen(taskdir);
    if (tl == 0)
        return -EINVAL;
    while (tl > 0 && taskdir[tl - 1] == '/')
        tl--; /* "/" becomes "", giving "/X/<upid>" */
    char *s;
    if (asprintf(&s, "%.*s/%c/%s", (int) tl, taskdir, sub, upid) < 0)
        return -ENOMEM;
    *ret = s;
    return 0;
}
