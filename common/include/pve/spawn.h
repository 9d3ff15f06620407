/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * spawn: run a helper program (qemu-img, qemu, lxc-*, tar, systemctl, ...) without a shell.
 * argv[0] is looked up in PATH; stdin is /dev/null; the child gets no other descriptors of
 * ours (everything we open is O_CLOEXEC). Exit status: the exit code, or 128 + signal.
 */
#pragma once

#include <sys/types.h>

#include <stddef.h>

/* Start argv with stdout/stderr going to out_fd/err_fd (-1: /dev/null). */
int spawn_start(const char *const *argv, int out_fd, int err_fd, pid_t *ret_pid);
/* The same with stdin from in_fd (-1: /dev/null), e.g. the read end of a pipe. */
int spawn_start_io(const char *const *argv, int in_fd, int out_fd, int err_fd, pid_t *ret_pid);
/* Wait for a child started above; returns its exit status (never fails but for EINTR loops). */
int spawn_wait(pid_t pid);

/* Run argv with our stdout/stderr and wait; *ret_status gets the exit status. */
int spawn_run(const char *const *argv, int *ret_status);

/*
 * Run argv and collect its stdout (up to max bytes, more is read and dropped) into *ret_out
 * and its stderr into *ret_err (either may be NULL: then it goes to our stdout/stderr), both
 * NUL-terminated. Only spawn/pipe failures are errors; the exit status is in *ret_status.
 */
int spawn_capture(
    const char *const *argv, size_t max, char **ret_out, char **ret_err, int *ret_status
);
