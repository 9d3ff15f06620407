/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-cmdline: turns the main section of a QEMU guest config into the argv that starts it,
 * as upstream's `qm showcmd` prints it (QEMU 7.2-era -drive/-device syntax). Pure: the
 * only outside knowledge comes through the options (QEMU version, kvm, vhost-net, paths)
 * and the volume resolver callback. It probes no file system.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pve/guest-config.h"

typedef struct QemuCmdlineOptions {
    const char *binary;              /* argv[0]; NULL = "/usr/bin/kvm" */
    const char *rundir;              /* NULL = "/var/run/qemu-server" */
    const char *qmeventd_socket;     /* NULL = no qmeventd chardev */
    bool kvm;                        /* accel=kvm + kvm cpu flags; else TCG */
    bool vhost_net;                  /* vhost=on on tap netdevs */
    bool paused;                     /* -S */
    unsigned qemu_major, qemu_minor; /* 0 = 7.2 */
    const char *splash;              /* -boot splash=<file>; NULL = none */
    /* Proxmox' patched QEMU (pve-qemu-kvm): adds -id <vmid> and the "pc+pve0" machine type,
     * which stock QEMU rejects; false = stock QEMU (explicit accel=kvm) */
    bool pve_qemu;
    const char *ovmf_code; /* bios=ovmf code image; NULL = /usr/share/OVMF/OVMF_CODE.fd */
    /* volid -> path + format ("raw", "qcow2", ...): 0, or a negative errno with *reterr set
     * to a message (e.g. storage_volume_resolve()'s "storage 'x' does not exist"); the
     * builder prefixes it with the config key. NULL = volumes cannot be used. */
    int (*resolve_volume
    )(const char *volid, char **ret_path, char **ret_format, char **reterr, void *userdata);
    void *userdata;
} QemuCmdlineOptions;

/*
 * Build the argv (NULL-terminated, free with strv_free()) for vmid from conf's main section.
 * -EINVAL with *reterr (naming the config key) for a config that cannot be started, the
 * resolver's error for an unknown volume, -ENOMEM.
 */
int qemu_cmdline_build(
    const GuestConfig *conf,
    uint32_t vmid,
    const QemuCmdlineOptions *o,
    char ***ret_argv,
    char **reterr
);

/* Shell-quoted single line of argv as `qm showcmd` prints it. 0 or -ENOMEM. */
int qemu_cmdline_to_string(char *const *argv, char **ret);
