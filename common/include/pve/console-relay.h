/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * console-relay: the blocking byte relay of VNC consoles (implemented in api-console.c), used
 * by the vncproxy task (TCP client <-> <vmid>.vnc) and `qm vncproxy` (stdin/stdout <-> socket).
 */
#pragma once

#include <stdint.h>

/* Connect to the VNC unix socket of VM vmid (/var/run/qemu-server/<vmid>.vnc): fd or -errno. */
int console_vnc_connect(uint32_t vmid);

/* Copy a_in -> b and b -> a_out until either side reaches EOF or fails. */
void console_relay(int a_in, int a_out, int b);
