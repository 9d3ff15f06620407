/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * buffered-log: whole lines appended to a log file (an access log) from an event loop, one
 * write(2) per batch instead of one per line. A batch is written when it reaches
 * BUFFERED_LOG_MAX bytes, BUFFERED_LOG_DELAY_USEC after its first line, on
 * buffered_log_flush() and when freed. A process killed with SIGKILL loses at most one
 * batch (the lines of the last 50 ms).
 */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

#include "pve/macro.h"

#define BUFFERED_LOG_MAX        (16 * 1024)
#define BUFFERED_LOG_DELAY_USEC (50 * 1000)

typedef struct BufferedLog BufferedLog;

/* fd stays the caller's (not closed by buffered_log_free()). */
int buffered_log_new(sd_event *e, int fd, BufferedLog **ret);
/* Append one line (including its '\n'). Falls back to a direct write when the buffer cannot
 * grow; a failed write drops the batch (a full disk must not stop the server). */
void buffered_log_append(BufferedLog *l, const char *line, size_t len);
void buffered_log_printf(BufferedLog *l, const char *fmt, ...) _printf_(2, 3);
void buffered_log_flush(BufferedLog *l);
/* Flushes, then frees. NULL-safe. */
BufferedLog *buffered_log_free(BufferedLog *l);
