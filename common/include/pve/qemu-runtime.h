/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-runtime: a VM's QEMU process on this node. Starting it from its config (command line
 * from qemu-cmdline, volumes from storage-volume, taps attached to their bridges before the
 * guest runs), stopping it (QMP quit, then SIGTERM, then SIGKILL), ACPI shutdown, the simple
 * QMP actions (reset, suspend, resume), live status as upstream's status/current reports it,
 * and the runtime files of /var/run/qemu-server.
 *
 * "Running" is upstream's test: the pid file names a live process whose command line is a
 * QEMU with `-id <vmid>`. All functions block (bounded by their timeouts) and are meant for
 * task workers, qm and short API calls (status).
 */
#pragma once

#include <sys/types.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pve/guest-config.h"

#define QEMU_BINARY              "/usr/bin/qemu-system-x86_64"
#define QEMU_START_TIMEOUT_S     30
#define QEMU_STOP_TIMEOUT_S      60 /* upstream's default wait after QMP quit */
#define QEMU_SHUTDOWN_TIMEOUT_S  60
#define QEMU_STOP_TERM_TIMEOUT_S 10 /* after SIGTERM, before SIGKILL */

/* Version of a QEMU binary ("7.2.22"; binary NULL = the default one). -EIO when it does not
 * tell, -errno when it cannot run. */
int qemu_binary_version(const char *binary, char ret[static 32]);

/* pid of the VM's QEMU, or -ESRCH when it is not running. */
int qemu_vm_pid(uint32_t vmid, pid_t *ret);
bool qemu_vm_running(uint32_t vmid);

typedef struct QemuStartOptions {
    unsigned timeout_s; /* 0 = QEMU_START_TIMEOUT_S */
    bool paused;        /* leave the guest paused (upstream: for incoming migration) */
    const char *binary; /* NULL = $PVE_QEMU_BINARY or QEMU_BINARY */
} QemuStartOptions;

/*
 * The command line for a config (qm showcmd); *ret_argv is a NULL-terminated strv. Errors
 * (unknown storage, bad drive) come with a message naming the key.
 */
int qemu_vm_cmdline(
    const GuestConfig *c, uint32_t vmid, const QemuStartOptions *o, char ***ret_argv, char **reterr
);

/*
 * Start the VM: refuses when it runs ("VM <vmid> already running"), when a bridge is missing
 * or QEMU cannot be executed; QEMU's own messages go to stderr (the task log). On failure
 * nothing is left running and the runtime files are removed.
 */
int qemu_vm_start(const GuestConfig *c, uint32_t vmid, const QemuStartOptions *o, char **reterr);

/* Hard stop: QMP quit, wait timeout_s (0 = default), SIGTERM, 10 s, SIGKILL; then cleanup. */
int qemu_vm_stop(uint32_t vmid, unsigned timeout_s, char **reterr);

/*
 * ACPI shutdown: system_powerdown, then wait up to timeout_s (0 = default) for QEMU to exit
 * (qmeventd quits a guest that powered off; if the guest is already off and QEMU still
 * waits, we quit it). On timeout: force = hard stop, else -ETIMEDOUT "VM quit/powerdown
 * failed - got timeout".
 */
int qemu_vm_shutdown(uint32_t vmid, unsigned timeout_s, bool force, char **reterr);

/* One QMP command for a running VM ("system_reset", "stop", "cont", ...). */
int qemu_vm_qmp_simple(uint32_t vmid, const char *command, char **reterr);

/* Remove pid, QMP and VNC files of a VM that is not running (upstream's stop cleanup). */
void qemu_vm_cleanup_files(uint32_t vmid);

/*
 * status/current and list fields for a VM with config c: vmid, name, status, qmpstatus, pid,
 * uptime, cpu, cpus, mem, maxmem, disk, maxdisk, netin, netout, diskread, diskwrite, plus
 * lock, tags, template when set. full adds the QMP-based fields (qmpstatus, running-qemu,
 * running-machine, block statistics); without it nothing talks to QEMU.
 */
int qemu_vm_status(uint32_t vmid, const GuestConfig *c, bool full, json_t **ret);
