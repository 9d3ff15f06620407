/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvestatd-storage: status (total/used/avail bytes, statvfs as upstream's df) of the storages
 * storage.cfg enables on this node, and their pve2-storage broadcast value. Only `dir`
 * storages are implemented; a dir storage is active when its path is a directory.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/log.h"
#include "pve/storage-cfg.h"
#include "pve/string-util.h"
#include "pvestatd.h"

int statd_format_storage(const StatdStorage *s, time_t ctime, char **ret) {
    return asprintf(ret, "%lld:%" PRIu64 ":%" PRIu64, (long long) ctime, s->total, s->used) < 0
               ? -ENOMEM
               : 0;
}

void statd_storage_list_free(StatdStorage *l, size_t n) {
    for (size_t i = 0; l && i < n; i++)
        free(l[i].id);
    free(l);
}

/* statvfs of a dir storage's path; false when the storage is not active. */
static bool dir_status(const SectionConfigSection *s, StatdStorage *ret) {
    const char *path = section_config_get(s, "path");
    struct stat st;
    struct statvfs vfs;
    if (!path || stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return false;
    if (statvfs(path, &vfs) < 0) {
        log_debug_errno(errno, "storage '%s': statvfs %s: %m", s->id, path);
        return false;
    }
    uint64_t bs = vfs.f_frsize ? vfs.f_frsize : vfs.f_bsize;
    ret->total = (uint64_t) vfs.f_blocks * bs;
    ret->used = (uint64_t) (vfs.f_blocks - vfs.f_bfree) * bs;
    ret->avail = (uint64_t) vfs.f_bavail * bs;
    return true;
}

int statd_collect_storage(
    const char *cfg_text, size_t len, const char *node, StatdStorage **ret, size_t *ret_n
) {
    SectionConfig *sc = NULL;
    _cleanup_free_ char *warnings = NULL, *msg = NULL;
    unsigned line = 0;
    int r = storage_cfg_parse(cfg_text, len, &sc, &warnings, &line, &msg);
    if (r < 0) {
        if (r != -ENOMEM)
            log_warning("storage.cfg line %u: %s", line, msg ? msg : "parse error");
        return r;
    }
    StatdStorage *list = calloc(sc->n_sections ? sc->n_sections : 1, sizeof *list);
    size_t n = 0;
    if (!list) {
        section_config_free(sc);
        return -ENOMEM;
    }
    for (size_t i = 0; i < sc->n_sections; i++) {
        const SectionConfigSection *s = sc->sections[i];
        if (!storage_cfg_enabled_on(s, node))
            continue;
        StatdStorage st = {};
        if (!streq(s->type, "dir")) {
            log_debug("storage '%s': type %s has no status collection yet", s->id, s->type);
            continue;
        }
        if (!dir_status(s, &st))
            continue;
        if (!(st.id = strdup(s->id))) {
            statd_storage_list_free(list, n);
            section_config_free(sc);
            return -ENOMEM;
        }
        list[n++] = st;
    }
    section_config_free(sc);
    *ret = list;
    *ret_n = n;
    return 0;
}
