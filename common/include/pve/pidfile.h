/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Pid files and the question "is the daemon named in this pid file still running?".
 *
 * A pid file holds "<pid>\n" (upstream PVE::Daemon format) and is replaced atomically (tmp file +
 * rename, mode 0644). A pid file is only trusted when the process it names is alive, is not a
 * zombie, is not the asking process itself, and runs the same executable as the asking process
 * (so a pid reused by `sleep` or a shell is recognised as stale). Nothing here sends signals or
 * takes locks; pve/daemon.h does that.

 */
#pragma once

#include <sys/types.h>

#include <stddef.h>

#include "pve/macro.h"

/* Largest pid the kernel can hand out (PID_MAX_LIMIT on 64-bit). */
#define PIDFILE_PID_MAX 4194304

typedef enum PidfileState {
    PIDFILE_MISSING,       /* no pid file */
    PIDFILE_INVALID,       /* pid file present but does not hold a pid */
    PIDFILE_STALE_DEAD,    /* names a process that is gone or a zombie */
    PIDFILE_STALE_FOREIGN, /* names a live process running another program, or the caller */
    PIDFILE_RUNNING,       /* names a live process running our executable */
    _PIDFILE_STATE_MAX,
    _PIDFILE_STATE_INVALID = -EINVAL,
} PidfileState;

/* Parse pid file contents: decimal digits, optionally one trailing "\n" (or "\r\n"), nothing
 * else. 0 and pids above PIDFILE_PID_MAX are rejected. -EINVAL on garbage, -ERANGE when too
 * large. *ret_pid is set only on success. */
int pidfile_parse(const char *buf, size_t len, pid_t *ret_pid);

/* Read and parse a pid file. -ENOENT if it does not exist, -EINVAL if it holds garbage or is
 * larger than a pid file can be. */
int pidfile_read(const char *path, pid_t *ret_pid);

/* Write "<pid>\n" to path atomically (tmp file in the same directory + rename), mode 0644. */
int pidfile_write(const char *path, pid_t pid);

/* Unlink path, but only if it names expected_pid (any content when expected_pid is 0).
 * Returns 1 if removed, 0 if absent or naming another pid, negative errno on failure. */
int pidfile_remove(const char *path, pid_t expected_pid);

/* Parse the state letter ('R', 'S', 'Z', ...) from the contents of /proc/<pid>/stat. The comm
 * field may contain spaces and parentheses; the state follows the last ')'. */
int pidfile_parse_proc_stat_state(const char *stat, char *ret_state);

/* Classify a live pid: PIDFILE_RUNNING (ours), PIDFILE_STALE_DEAD (gone or zombie),
 * PIDFILE_STALE_FOREIGN (another program, or the caller itself). Negative errno on failure. */
int pidfile_pid_state(pid_t pid);

/* Read path and classify the pid it names. *ret_pid (optional) gets the pid read, or 0. Returns
 * a PidfileState or a negative errno (e.g. -EACCES reading the file). */
int pidfile_check(const char *path, pid_t *ret_pid);

/* true if the process exists and is not a zombie. */
bool pidfile_pid_alive(pid_t pid);
const char *pidfile_state_to_string(PidfileState s) _pure_;
