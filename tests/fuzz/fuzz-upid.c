/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for UPIDs: whatever decodes must encode, the encoding must decode to the same
 * fields, and encoding again must give the same bytes. The log path must name a file inside
 * the task directory.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/string-util.h"
#include "pve/upid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096)
        return 0;
    _cleanup_free_ char *s = strndup((const char *) data, size);
    if (!s)
        return 0;

    Upid u;
    if (upid_decode(s, &u) < 0)
        return 0;

    _cleanup_free_ char *e1 = NULL;
    if (upid_encode(&u, &e1) < 0)
        abort();
    Upid v;
    if (upid_decode(e1, &v) < 0)
        abort();
    if (memcmp(&u, &v, sizeof u) != 0)
        abort();
    _cleanup_free_ char *e2 = NULL;
    if (upid_encode(&v, &e2) < 0 || !streq(e1, e2))
        abort();

    _cleanup_free_ char *path = NULL;
    if (upid_log_path("/var/log/pve/tasks", s, &path) < 0)
        abort();
    /* "<dir>/<X>/<upid>": exactly one more '/' than the directory has, and X is hex. */
    const char *rest = startswith(path, "/var/log/pve/tasks/");
    if (!rest || !strchr("0123456789abcdefABCDEF", rest[0]) || rest[1] != '/' ||
        !streq(rest + 2, s))
        abort();
    return 0;
}
