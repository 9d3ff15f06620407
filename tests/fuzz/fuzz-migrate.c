/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for what migration parses: the first line is a targetstorage map (it must parse
 * or fail with a message; every mapped id is a valid storage id), the rest a guest config
 * scanned as a VM and as a container against a fixed storage.cfg (shared and local dir
 * storages): every volume found names a storage of that file, local cdrom images and host
 * paths never count as volumes, and the unavailable-storage list of any node is sorted and
 * unique. The transfer header round-trips any size.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/guest-config.h"
#include "pve/guest-migrate.h"
#include "pve/storage-cfg.h"
#include "pve/storage-transfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char storage_text[] =
    "dir: local\n\tpath /var/lib/vz\n\tcontent images,rootdir,iso\n\n"
    "dir: shared1\n\tpath /mnt/shared\n\tcontent images,rootdir\n\tshared 1\n\n"
    "dir: only1\n\tpath /srv/only1\n\tcontent images\n\tnodes node1\n";

static void check_map(const char *text) {
    MigrateStorageMap m;
    char *err = NULL;
    int r = guest_migrate_storage_map_parse(text, &m, &err);
    if (r == -EINVAL && !err)
        abort();
    if (r == 0 && (err || !m.pairs))
        abort();
    if (r == 0 && guest_migrate_storage_map_get(&m, "local") == NULL)
        abort();
    guest_migrate_storage_map_done(&m);
    free(err);
}

static void check_scan(GuestType type, const char *text, size_t len, const SectionConfig *storage) {
    GuestConfig *c = NULL;
    if (guest_config_parse(type, text, len, &c, NULL) < 0)
        return;
    MigrateScan s;
    if (guest_migrate_scan(type, c, storage, &s) == 0) {
        for (size_t i = 0; i < s.n_volumes; i++) {
            const MigrateVolume *v = &s.volumes[i];
            const SectionConfigSection *sec = NULL;
            if (storage_find(storage, v->storage, &sec, NULL) < 0 || v->volid[0] == '/')
                abort();
            if (v->cdrom && !v->shared)
                abort();
        }
        json_t *u = guest_migrate_unavailable_storages(&s, storage, NULL, "node2");
        if (!u)
            abort();
        for (size_t i = 1; i < json_array_size(u); i++)
            if (strcmp(
                    json_string_value(json_array_get(u, i - 1)),
                    json_string_value(json_array_get(u, i))
                ) >= 0)
                abort();
        json_decref(u);
    }
    guest_migrate_scan_done(&s);
    guest_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16)
        return 0;
    static SectionConfig *storage;
    if (!storage &&
        storage_cfg_parse(storage_text, strlen(storage_text), &storage, NULL, NULL, NULL) < 0)
        abort();
    const char *text = (const char *) data;
    const char *nl = memchr(text, '\n', size);
    size_t first = nl ? (size_t) (nl - text) : size;
    char *map = strndup(text, first);
    if (!map)
        return 0;
    check_map(map);
    free(map);
    size_t rest = nl ? size - first - 1 : 0;
    check_scan(GUEST_TYPE_QEMU, nl ? nl + 1 : "", rest, storage);
    check_scan(GUEST_TYPE_LXC, nl ? nl + 1 : "", rest, storage);

    uint64_t n = 0;
    memcpy(&n, data, size < sizeof n ? size : sizeof n);
    uint8_t h[STORAGE_TRANSFER_HEADER_SIZE];
    storage_transfer_header_encode(n, h);
    if (storage_transfer_header_decode(h) != n)
        abort();
    return 0;
}
