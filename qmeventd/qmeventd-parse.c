/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qmeventd's pure parsers: cutting a client's byte stream into JSON messages and finding the
 * VMID in a QEMU command line. No I/O.
 *
 * QEMU writes one JSON object per message followed by CR LF, but a read may end anywhere, also
 * inside a literal such as `true`, where jansson cannot tell "incomplete" from "invalid". So the
 * end of a value is found first by counting brackets outside of strings, and only the complete
 * value goes to the JSON parser.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "qmeventd.h"

static bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Index just past the value that starts with a bracket at buf[start], or 0 if it does not end
 * within len. */
static size_t value_end(const char *buf, size_t start, size_t len) {
    size_t depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = start; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"')
            in_string = true;
        else if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0)
            return i + 1;
    }
    return 0;
}

static void drop_front(char *buf, size_t *len, size_t n) {
    memmove(buf, buf + n, *len - n);
    *len -= n;
}

int qmeventd_next_message(char *buf, size_t *len, size_t max, json_t **ret) {
    size_t start = 0;
    while (start < *len && is_blank(buf[start]))
        start++;
    drop_front(buf, len, start);
    if (*len == 0)
        return 0;
    if (buf[0] != '{' && buf[0] != '[') {
        *len = 0;
        return -EBADMSG;
    }
    size_t end = value_end(buf, 0, *len);
    if (end == 0) {
        if (*len < max)
            return 0;
        *len = 0;
        return -EMSGSIZE;
    }
    json_error_t err;
    json_t *j = json_loadb(buf, end, JSON_REJECT_DUPLICATES, &err);
    drop_front(buf, len, end);
    if (!j)
        return -EBADMSG;
    *ret = j;
    return 1;
}

static bool is_vmid_pidfile_name(const char *name, size_t n) {
    const char *dot = memchr(name, '.', n);
    if (!dot || dot == name || (size_t) (dot - name) >= QMEVENTD_VMID_MAX)
        return false;
    if ((size_t) (name + n - dot) != strlen(".pid") || memcmp(dot, ".pid", 4) != 0)
        return false;
    for (const char *p = name; p < dot; p++)
        if (!isdigit((unsigned char) *p))
            return false;
    return true;
}

int qmeventd_vmid_from_cmdline(
    const char *cmdline, size_t len, char ret[static QMEVENTD_VMID_MAX]
) {
    bool next_is_pidfile = false;
    for (size_t pos = 0; pos < len;) {
        const char *arg = cmdline + pos;
        const char *nul = memchr(arg, 0, len - pos);
        size_t n = nul ? (size_t) (nul - arg) : len - pos;
        pos += n + 1;
        if (!next_is_pidfile) {
            next_is_pidfile = n == strlen("-pidfile") && memcmp(arg, "-pidfile", n) == 0;
            continue;
        }
        const char *slash = memrchr(arg, '/', n);
        const char *name = slash ? slash + 1 : arg;
        size_t name_len = n - (size_t) (name - arg);
        if (!is_vmid_pidfile_name(name, name_len))
            return -EINVAL;
        size_t digits = name_len - strlen(".pid");
        memcpy(ret, name, digits);
        ret[digits] = 0;
        return 0;
    }
    return -ENOENT;
}
