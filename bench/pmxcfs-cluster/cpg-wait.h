/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cpg-wait.h: the two libcpg steps that cpg-rtt and memfs-cpg share: join a group (retrying
 * while corosync says TRY_AGAIN) and wait for the CPG fd, then dispatch everything pending.
 * Header-only, so each bench program stays a single translation unit; it prints nothing.
 */
#pragma once

#include <corosync/cpg.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Join `group` (1 to CPG_MAX_NAME_LENGTH - 1 bytes), retrying TRY_AGAIN for up to 10 s. */
static inline cs_error_t cpg_join_retry(cpg_handle_t h, const char *group) {
    struct cpg_name name = {0};
    size_t len = strlen(group);
    cs_error_t e;

    if (len == 0 || len >= CPG_MAX_NAME_LENGTH)
        return CS_ERR_INVALID_PARAM;
    name.length = (uint32_t) len;
    memcpy(name.value, group, len);
    for (unsigned retry = 0; (e = cpg_join(h, &name)) == CS_ERR_TRY_AGAIN && retry < 100; retry++)
        (void) usleep(100 * 1000);
    return e;
}

/* Wait up to timeout_ms (-1: forever) for the CPG fd, with `mask` as the signal mask while
 * waiting (NULL: unchanged), then dispatch everything pending. Returns 0 (also on timeout or a
 * signal), or -ENOTCONN if corosync went away. */
static inline int cpg_wait_dispatch(cpg_handle_t h, int fd, int timeout_ms, const sigset_t *mask) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000L};
    int n = ppoll(&p, 1, timeout_ms < 0 ? NULL : &ts, mask);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    if (n == 0)
        return 0;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
        return -ENOTCONN;
    cs_error_t e = cpg_dispatch(h, CS_DISPATCH_ALL);
    return e == CS_OK || e == CS_ERR_TRY_AGAIN ? 0 : -ENOTCONN;
}
