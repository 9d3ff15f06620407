/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest-migrate-scan: what a migration has to move and where it may go (see
 * pve/guest-migrate.h): the config scan for volumes, local resources and blockers, the
 * targetstorage map, and the storages a node lacks for a guest.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/guest-migrate.h"
#include "pve/lxc-config.h"
#include "pve/macro.h"
#include "pve/qemu-config.h"
#include "pve/storage-cfg.h"
#include "pve/storage-volume.h"
#include "pve/string-util.h"

/* ---- scan ------------------------------------------------------------------------------------ */

static int add_problem(MigrateScan *s, const char *fmt, ...) _printf_(2, 3);
static int add_problem(MigrateScan *s, const char *fmt, ...) {
    _cleanup_free_ char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    return json_array_append_new(s->problems, json_string(msg)) < 0 ? -ENOMEM : 0;
}

static int add_volume(
    MigrateScan *s,
    const SectionConfig *storage,
    const char *volid,
    const char *ref,
    bool cdrom,
    bool unused
) {
    for (size_t i = 0; i < s->n_volumes; i++)
        if (streq(s->volumes[i].volid, volid))
            return 0; /* first reference wins */
    _cleanup_free_ char *sid = NULL;
    const char *volname;
    if (storage_volid_split(volid, &sid, &volname) < 0)
        return add_problem(s, "unable to parse volume ID '%s'", volid);
    const SectionConfigSection *sec = NULL;
    if (storage_find(storage, sid, &sec, NULL) < 0)
        return add_problem(s, "storage '%s' does not exist", sid);
    bool shared = storage_cfg_is_shared(sec);
    if (cdrom && !shared)
        return add_problem(s, "can't migrate local cdrom image '%s'", volid);
    MigrateVolume *v = reallocarray(s->volumes, s->n_volumes + 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    s->volumes = v;
    v = &s->volumes[s->n_volumes];
    *v = (MigrateVolume
    ){.volid = strdup(volid),
      .storage = TAKE_PTR(sid),
      .ref = strdup(ref),
      .shared = shared,
      .cdrom = cdrom,
      .is_unused = unused};
    s->n_volumes++;
    return v->volid && v->ref ? 0 : -ENOMEM;
}

static int add_local_resource(MigrateScan *s, const char *key) {
    return json_array_append_new(s->local_resources, json_string(key)) < 0 ? -ENOMEM : 0;
}

/* A QEMU key that ties the VM to this host: PCI passthrough, host USB devices, host serial or
 * parallel ports. */
static bool qemu_local_resource(const char *key, const char *value) {
    if (startswith(key, "hostpci") || startswith(key, "parallel"))
        return true;
    if (startswith(key, "usb"))
        return !startswith(value, "spice") && !strstr(value, "host=spice");
    if (startswith(key, "serial"))
        return startswith(value, "/dev/") != NULL;
    return false;
}

static int scan_qemu_entry(
    MigrateScan *s, const SectionConfig *storage, const GuestEntry *e, const char *ref
) {
    if (qemu_is_unused_key(e->key))
        return add_volume(s, storage, e->value, "unused", false, true);
    if (streq(e->key, "vmstate"))
        return add_volume(s, storage, e->value, ref, false, false);
    if (qemu_local_resource(e->key, e->value))
        return streq(ref, "attached") ? add_local_resource(s, e->key) : 0;
    if (!qemu_is_drive_key(e->key))
        return 0;
    _cleanup_(qemu_drive_freep) QemuDrive *d = NULL;
    if (qemu_drive_parse(e->key, e->value, &d, NULL) < 0)
        return add_problem(s, "unable to parse drive '%s'", e->key);
    if (!d->file || streq(d->file, "none") || d->is_alloc)
        return 0;
    if (streq(d->file, "cdrom"))
        return add_problem(s, "can't migrate local cdrom drive '%s'", e->key);
    if (d->file[0] == '/')
        return add_problem(s, "can't migrate local disk '%s': host path '%s'", e->key, d->file);
    return add_volume(s, storage, d->file, ref, d->cdrom, false);
}

static int
scan_lxc_entry(MigrateScan *s, const SectionConfig *storage, const GuestEntry *e, const char *ref) {
    if (lxc_is_unused_key(e->key))
        return add_volume(s, storage, e->value, "unused", false, true);
    if (lxc_is_dev_key(e->key))
        return streq(ref, "attached") ? add_local_resource(s, e->key) : 0;
    if (!streq(e->key, "rootfs") && !lxc_is_mp_key(e->key))
        return 0;
    _cleanup_(lxc_mount_freep) LxcMount *m = NULL;
    if (lxc_mount_parse(e->key, e->value, &m, NULL) < 0)
        return add_problem(s, "unable to parse mount point '%s'", e->key);
    if (m->is_alloc)
        return 0;
    if (m->is_bind)
        return add_problem(s, "cannot migrate local bind mount point '%s'", e->key);
    return add_volume(s, storage, m->volume, ref, false, false);
}

int guest_migrate_scan(
    GuestType type, const GuestConfig *c, const SectionConfig *storage, MigrateScan *ret
) {
    *ret = (MigrateScan){.local_resources = json_array(), .problems = json_array()};
    if (!ret->local_resources || !ret->problems)
        return -ENOMEM;
    for (size_t i = 0; i < c->n_sections; i++) {
        const GuestSection *sec = c->sections[i];
        if (sec->kind == GUEST_SECTION_SPECIAL)
            continue;
        _cleanup_free_ char *ref = NULL;
        if (sec->kind == GUEST_SECTION_SNAPSHOT
                ? asprintf(&ref, "snapshot '%s'", sec->name) < 0
                : !(ref = strdup(sec->kind == GUEST_SECTION_PENDING ? "pending" : "attached")))
            return -ENOMEM;
        for (size_t j = 0; j < sec->n_entries; j++) {
            const GuestEntry *e = &sec->entries[j];
            if (e->raw)
                continue;
            int r = type == GUEST_TYPE_QEMU ? scan_qemu_entry(ret, storage, e, ref)
                                            : scan_lxc_entry(ret, storage, e, ref);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

void guest_migrate_scan_done(MigrateScan *s) {
    for (size_t i = 0; i < s->n_volumes; i++) {
        free(s->volumes[i].volid);
        free(s->volumes[i].storage);
        free(s->volumes[i].ref);
    }
    free(s->volumes);
    json_decref(s->local_resources);
    json_decref(s->problems);
    *s = (MigrateScan){};
}

/* ---- storage map ----------------------------------------------------------------------------- */

static bool storage_id_valid(const char *id) {
    size_t n = strlen(id);
    if (n < 2 || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z')))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == n - 1 || !strchr("-_.", ch)))
            return false;
    }
    return true;
}

int guest_migrate_storage_map_parse(const char *text, MigrateStorageMap *ret, char **reterr) {
    *ret = (MigrateStorageMap){.pairs = json_object()};
    if (!ret->pairs)
        return -ENOMEM;
    _cleanup_free_ char *copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    bool have_default = false;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",; \t", &save); item; item = strtok_r(NULL, ",; \t", &save)) {
        char *colon = strchr(item, ':');
        if (!colon) {
            if (have_default)
                return set_error_message_once(
                    reterr, -EINVAL, "more than one default target storage"
                );
            have_default = true;
            if (streq(item, "1"))
                continue; /* identity */
            if (!storage_id_valid(item))
                return set_error_message_once(
                    reterr, -EINVAL, "invalid storage mapping '%s'", item
                );
            free(ret->default_target);
            if (!(ret->default_target = strdup(item)))
                return -ENOMEM;
            continue;
        }
        *colon = 0;
        const char *src = item, *dst = colon + 1;
        if (!storage_id_valid(src) || !storage_id_valid(dst)) {
            *colon = ':';
            return set_error_message_once(reterr, -EINVAL, "invalid storage mapping '%s'", item);
        }
        if (json_object_get(ret->pairs, src))
            return set_error_message_once(
                reterr, -EINVAL, "duplicate mapping for storage '%s'", src
            );
        if (json_object_set_new(ret->pairs, src, json_string(dst)) < 0)
            return -ENOMEM;
    }
    return 0;
}

void guest_migrate_storage_map_done(MigrateStorageMap *m) {
    json_decref(m->pairs);
    free(m->default_target);
    *m = (MigrateStorageMap){};
}

const char *guest_migrate_storage_map_get(const MigrateStorageMap *m, const char *src) {
    if (!m)
        return src;
    const char *dst = json_string_value(json_object_get(m->pairs, src));
    return dst ? dst : m->default_target ? m->default_target : src;
}

static int str_cmp(const void *a, const void *b) {
    return strcmp(json_string_value(*(json_t *const *) a), json_string_value(*(json_t *const *) b));
}

json_t *guest_migrate_unavailable_storages(
    const MigrateScan *s,
    const SectionConfig *storage,
    const MigrateStorageMap *map,
    const char *node
) {
    json_t *out = json_array();
    for (size_t i = 0; out && i < s->n_volumes; i++) {
        const MigrateVolume *v = &s->volumes[i];
        const char *sid = v->shared ? v->storage : guest_migrate_storage_map_get(map, v->storage);
        const SectionConfigSection *sec = NULL;
        if (storage_find(storage, sid, &sec, NULL) >= 0 && storage_cfg_enabled_on(sec, node))
            continue;
        size_t j;
        json_t *x;
        bool seen = false;
        json_array_foreach(out, j, x) seen |= streq(json_string_value(x), sid);
        if (!seen && json_array_append_new(out, json_string(sid)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    if (out && json_array_size(out) > 1) {
        size_t n = json_array_size(out);
        json_t **items = calloc(n, sizeof *items);
        if (!items) {
            json_decref(out);
            return NULL;
        }
        for (size_t i = 0; i < n; i++)
            items[i] = json_incref(json_array_get(out, i));
        qsort(items, n, sizeof *items, str_cmp);
        json_array_clear(out);
        for (size_t i = 0; i < n; i++)
            (void) json_array_append_new(out, items[i]);
        free(items);
    }
    return out;
}
