/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for lxc-config. Input: "<key>\n<value>" for netN, rootfs and mpN values (the key
 * picks the parser; without a newline the value is tried as net0, rootfs and mp0), or a whole
 * CT config when it starts with "#conf\n" (then the LXC config generator runs on it).
 * Invariants: success gives the fields callers rely on (name, hwaddr valid when present, tag
 * in range; volume and mp set, mp absolute) and printing re-parses to the same print; failure
 * always comes with a message; the generator either produces text with lxc.rootfs.path or
 * fails with a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pve/lxc-config.h"
#include "pve/qemu-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void net(const char *key, const char *value) {
    LxcNet *n = NULL;
    char *err = NULL;
    int r = lxc_net_parse(key, value, &n, &err);
    if (r == -ENOMEM)
        return;
    if (r < 0) {
        if (!err || n)
            abort();
        free(err);
        return;
    }
    if (!n || err || !n->name || (n->hwaddr && !qemu_mac_is_valid(n->hwaddr)) || n->tag < 0 ||
        n->tag > 4094)
        abort();
    char *s = NULL, *s2 = NULL;
    if (lxc_net_fill_defaults(n) == 0 && lxc_net_print(n, &s) == 0) {
        LxcNet *n2 = NULL;
        if (lxc_net_parse(key, s, &n2, NULL) != 0 || lxc_net_print(n2, &s2) != 0 ||
            strcmp(s, s2) != 0 || strcmp(n2->hwaddr, n->hwaddr) != 0)
            abort();
        lxc_net_free(n2);
    }
    free(s2);
    free(s);
    lxc_net_free(n);
}

static void mount(const char *key, const char *value) {
    LxcMount *m = NULL;
    char *err = NULL;
    int r = lxc_mount_parse(key, value, &m, &err);
    if (r == -ENOMEM)
        return;
    if (r < 0) {
        if (!err || m)
            abort();
        free(err);
        return;
    }
    if (!m || err || !m->volume || !m->mp || m->mp[0] != '/' || (m->is_alloc && !m->alloc_storage))
        abort();
    char *s = NULL, *s2 = NULL;
    if (lxc_mount_print(m, &s) == 0) {
        LxcMount *m2 = NULL;
        if (lxc_mount_parse(key, s, &m2, NULL) != 0 || lxc_mount_print(m2, &s2) != 0 ||
            strcmp(s, s2) != 0 || m2->size != m->size || m2->ro != m->ro)
            abort();
        lxc_mount_free(m2);
    }
    free(s2);
    free(s);
    lxc_mount_free(m);
}

static int resolve(const char *volume, char **ret, char **reterr, void *userdata) {
    (void) userdata;
    if (strlen(volume) > 100) {
        *reterr = strdup("too long");
        return -EINVAL;
    }
    *ret = strdup("/var/lib/vz/images/100/subvol-100-disk-0.subvol");
    return *ret ? 0 : -ENOMEM;
}

static bool exists(const char *path, void *userdata) {
    (void) userdata;
    return strlen(path) % 2 == 0;
}

static void generate(const char *text, size_t len) {
    GuestConfig *c = NULL;
    if (guest_config_parse(GUEST_TYPE_LXC, text, len, &c, NULL) < 0)
        return;
    LxcGenerateOptions o = {
        .lxcpath = "/var/lib/lxc",
        .cgroup_version = (int) (len % 2) + 1,
        .host_cpus = 4,
        .resolve_volume = resolve,
        .file_exists = exists,
    };
    char *out = NULL, *err = NULL;
    int r = lxc_config_generate(c, 100, &o, &out, &err);
    if (r == 0 && (!out || !strstr(out, "\nlxc.rootfs.path = ")))
        abort();
    if (r < 0 && r != -ENOMEM && !err)
        abort();
    free(out);
    free(err);
    guest_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 8192)
        return 0;
    char *s = strndup((const char *) data, size);
    if (!s)
        return 0;
    if (strncmp(s, "#conf\n", 6) == 0) {
        generate(s + 6, strlen(s + 6));
    } else {
        char *nl = strchr(s, '\n');
        if (nl) {
            *nl = 0;
            if (strncmp(s, "net", 3) == 0)
                net(s, nl + 1);
            else
                mount(s, nl + 1);
        } else {
            net("net0", s);
            mount("rootfs", s);
            mount("mp0", s);
        }
    }
    free(s);
    return 0;
}
