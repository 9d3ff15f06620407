/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for the QEMU drive and net parsers. Input: "<key>\n<value>" (the key picks the
 * parser; without a newline the value is tried as scsi0, ide2, efidisk0, unused0 and net0).
 * Invariants: success gives the fields callers rely on (file/media set, cdrom consistent with
 * media, model set, MAC valid when present) and printing re-parses to the same print;
 * failure always comes with a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/qemu-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drive(const char *key, const char *value) {
    QemuDrive *d = NULL;
    char *err = NULL;
    int r = qemu_drive_parse(key, value, &d, &err);
    if (r == -ENOMEM)
        return;
    if (r < 0) {
        if (!err || d)
            abort();
        free(err);
        return;
    }
    if (!d || err || !d->file || !d->media || !d->key || strcmp(d->key, key) != 0 ||
        d->cdrom != (strcmp(d->media, "cdrom") == 0) || (d->is_alloc && d->cdrom))
        abort();
    char *s = NULL;
    if (qemu_drive_print(d, &s) == 0) {
        QemuDrive *d2 = NULL;
        char *s2 = NULL;
        if (qemu_drive_parse(key, s, &d2, NULL) != 0 || qemu_drive_print(d2, &s2) != 0 ||
            strcmp(s, s2) != 0 || strcmp(d->file, d2->file) != 0 || d->size != d2->size)
            abort();
        free(s2);
        qemu_drive_free(d2);
    }
    free(s);
    qemu_drive_free(d);
}

static void net(const char *key, const char *value) {
    QemuNet *n = NULL;
    char *err = NULL;
    int r = qemu_net_parse(key, value, &n, &err);
    if (r == -ENOMEM)
        return;
    if (r < 0) {
        if (!err || n)
            abort();
        free(err);
        return;
    }
    if (!n || !n->model || (n->macaddr && !qemu_mac_is_valid(n->macaddr)) || n->tag < 0 ||
        n->tag > 4094)
        abort();
    if (qemu_net_ensure_mac(n) == 0) {
        char *s = NULL;
        if (qemu_net_print(n, &s) == 0) {
            QemuNet *n2 = NULL;
            if (qemu_net_parse(key, s, &n2, NULL) != 0 || strcmp(n2->model, n->model) != 0 ||
                !n2->macaddr || strcmp(n2->macaddr, n->macaddr) != 0 || n2->tag != n->tag ||
                n2->firewall != n->firewall)
                abort();
            qemu_net_free(n2);
        }
        free(s);
    }
    qemu_net_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096)
        return 0;
    char *s = strndup((const char *) data, size);
    if (!s)
        return 0;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = 0;
        if (qemu_is_net_key(s))
            net(s, nl + 1);
        else
            drive(s, nl + 1);
    } else {
        drive("scsi0", s);
        drive("ide2", s);
        drive("efidisk0", s);
        drive("unused0", s);
        net("net0", s);
    }
    free(s);
    return 0;
}
