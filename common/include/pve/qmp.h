/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qmp: a small blocking client for QEMU's machine protocol over the VM's unix socket
 * (/var/run/qemu-server/<vmid>.qmp). Connect reads the greeting and negotiates capabilities;
 * execute sends one command and returns its "return" value, skipping asynchronous events
 * (they are kept for qmp_take_events()). Every wait is bounded by the caller's timeout.
 *
 * QEMU serves one QMP client per monitor at a time: keep connections short.
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "pve/macro.h"

#define QMP_TIMEOUT_DEFAULT_MS 5000

typedef struct Qmp Qmp;

/* Socket path of a VM's QMP monitor, malloc'd. */
int qmp_socket_path(uint32_t vmid, char **ret);

/*
 * Connect to path and complete the handshake within timeout_ms. -ENOENT / -ECONNREFUSED when
 * nobody listens, -ETIMEDOUT, -EPROTO for a peer that does not speak QMP. *reterr (may be NULL)
 * gets a message such as "unable to connect to VM 100 qmp socket - No such file or directory".
 */
int qmp_connect(const char *path, unsigned timeout_ms, Qmp **ret, char **reterr);
Qmp *qmp_close(Qmp *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(Qmp *, qmp_close);

/*
 * Run command with arguments (may be NULL; borrowed). *ret_return (may be NULL) gets the
 * "return" value. A QMP error answer is -EIO with its "desc" in *reterr; -ETIMEDOUT when no
 * answer came in time; -ECONNRESET when QEMU closed the socket (e.g. after "quit").
 */
int qmp_execute(
    Qmp *q,
    const char *command,
    json_t *arguments,
    unsigned timeout_ms,
    json_t **ret_return,
    char **reterr
);

/* Events received so far (a JSON array, caller owns it; the queue is emptied). */
json_t *qmp_take_events(Qmp *q);

/* Connect to VM vmid's monitor, run one command, disconnect. */
int qmp_command(
    uint32_t vmid,
    const char *command,
    json_t *arguments,
    unsigned timeout_ms,
    json_t **ret_return,
    char **reterr
);
