/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for storage-volume's parsers. The input is a volume id, a volume name or a size
 * string (the same bytes are tried as each):
 *   - a parsed volname yields a path inside the storage's directory (no "." or ".." component,
 *     the file name without '/'), volid "<storage>:<volname>", and parsing is repeatable;
 *   - a split volid gives a volname that is the rest of the input after "<storage>:";
 *   - a parsed size is stable and the same number in bytes with and without an explicit unit
 *     when the input already has one.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/section-config.h"
#include "pve/storage-cfg.h"
#include "pve/storage-volume.h"
#include "pve/string-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE "/srv/st"

static const SectionConfigSection *storage(void) {
    static SectionConfig *c;
    if (!c) {
        static const char text[] = "dir: st\n\tpath " BASE "\n\tcontent images,iso\n";
        if (storage_cfg_parse(text, sizeof text - 1, &c, NULL, NULL, NULL) < 0)
            abort();
    }
    return section_config_find(c, NULL, "st");
}

static void check_path(const char *path) {
    if (!startswith(path, BASE "/"))
        abort();
    for (const char *p = path; *p; p++)
        if (*p == '/' && (startswith(p, "/./") || startswith(p, "/../") || streq(p, "/.") ||
                          streq(p, "/..") || p[1] == '/'))
            abort();
}

static void fuzz_volname(const char *s) {
    StorageVolume v = {};
    char *err = NULL;
    int r = storage_volume_parse(storage(), s, &v, &err);
    if (r < 0) {
        if (r != -ENOMEM && (!err || v.path))
            abort();
        free(err);
        return;
    }
    if (err || strchr(v.name, '/') || !v.format || !v.content)
        abort();
    check_path(v.path);
    if (!endswith(v.path, v.name) || !startswith(v.volid, "st:") || !streq(v.volid + 3, s))
        abort();
    StorageVolume w = {};
    if (storage_volume_parse(storage(), s, &w, NULL) < 0 || !streq(v.path, w.path) ||
        v.vmid != w.vmid || !streq(v.format, w.format))
        abort();
    storage_volume_done(&w);
    storage_volume_done(&v);
}

static void fuzz_volid(const char *s) {
    char *sid = NULL;
    const char *vn = NULL;
    if (storage_volid_split(s, &sid, &vn) < 0)
        return;
    size_t n = strlen(sid);
    if (!n || strncmp(s, sid, n) != 0 || s[n] != ':' || vn != s + n + 1 || !*vn)
        abort();
    free(sid);
}

static void fuzz_size(const char *s) {
    uint64_t a, b;
    int r = storage_parse_size(s, 'G', &a);
    if (r < 0) {
        if (r != -EINVAL && r != -ERANGE)
            abort();
        return;
    }
    if (storage_parse_size(s, 'G', &b) < 0 || a != b)
        abort();
    size_t n = strlen(s);
    bool unit = n && strchr("KMGT", s[n - 1]);
    if (unit && (storage_parse_size(s, 0, &b) < 0 || a != b))
        abort();
    if (!unit && (storage_parse_size(s, 'K', &b) < 0 || b > a))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096)
        return 0;
    _cleanup_free_ char *s = strndup((const char *) data, size);
    if (!s)
        return 0;
    fuzz_volname(s);
    fuzz_volid(s);
    fuzz_size(s);
    return 0;
}
