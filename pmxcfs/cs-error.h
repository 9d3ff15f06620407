/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cs-error: the corosync client libraries' cs_error_t as a negative errno (for our return
 * values and %m) and as its symbolic name (for log lines admins can grep in corosync's docs).
 * Header only; no state, no I/O.
 */
#pragma once

#include <corosync/corotypes.h>
#include <errno.h>

static inline int cs_error_to_errno(cs_error_t e) {
    switch (e) {
    case CS_OK:
        return 0;
    case CS_ERR_LIBRARY:
    case CS_ERR_INIT:
        return -ENOTCONN; /* corosync is not running or refused the connection */
    case CS_ERR_VERSION:
        return -EPROTO;
    case CS_ERR_TIMEOUT:
        return -ETIMEDOUT;
    case CS_ERR_TRY_AGAIN:
        return -EAGAIN;
    case CS_ERR_INVALID_PARAM:
    case CS_ERR_BAD_OPERATION:
    case CS_ERR_BAD_FLAGS:
        return -EINVAL;
    case CS_ERR_NO_MEMORY:
        return -ENOMEM;
    case CS_ERR_BAD_HANDLE:
        return -EBADF;
    case CS_ERR_BUSY:
        return -EBUSY;
    case CS_ERR_ACCESS:
        return -EACCES;
    case CS_ERR_NOT_EXIST:
    case CS_ERR_NAME_NOT_FOUND:
    case CS_ERR_NO_SECTIONS:
    case CS_ERR_CONTEXT_NOT_FOUND:
        return -ENOENT;
    case CS_ERR_NAME_TOO_LONG:
        return -ENAMETOOLONG;
    case CS_ERR_EXIST:
        return -EEXIST;
    case CS_ERR_NO_SPACE:
    case CS_ERR_TOO_MANY_GROUPS:
        return -ENOSPC;
    case CS_ERR_INTERRUPT:
        return -EINTR;
    case CS_ERR_NO_RESOURCES:
    case CS_ERR_QUEUE_FULL:
    case CS_ERR_QUEUE_NOT_AVAILABLE:
        return -ENOBUFS;
    case CS_ERR_NOT_SUPPORTED:
        return -EOPNOTSUPP;
    case CS_ERR_MESSAGE_ERROR:
        return -EBADMSG;
    case CS_ERR_TOO_BIG:
        return -E2BIG;
    case CS_ERR_SECURITY:
        return -EPERM;
    default:
        return -EIO;
    }
}

static inline const char *cs_error_name(cs_error_t e) {
    switch (e) {
    case CS_OK:
        return "CS_OK";
    case CS_ERR_LIBRARY:
        return "CS_ERR_LIBRARY";
    case CS_ERR_VERSION:
        return "CS_ERR_VERSION";
    case CS_ERR_INIT:
        return "CS_ERR_INIT";
    case CS_ERR_TIMEOUT:
        return "CS_ERR_TIMEOUT";
    case CS_ERR_TRY_AGAIN:
        return "CS_ERR_TRY_AGAIN";
    case CS_ERR_INVALID_PARAM:
        return "CS_ERR_INVALID_PARAM";
    case CS_ERR_NO_MEMORY:
        return "CS_ERR_NO_MEMORY";
    case CS_ERR_BAD_HANDLE:
        return "CS_ERR_BAD_HANDLE";
    case CS_ERR_BUSY:
        return "CS_ERR_BUSY";
    case CS_ERR_ACCESS:
        return "CS_ERR_ACCESS";
    case CS_ERR_NOT_EXIST:
        return "CS_ERR_NOT_EXIST";
    case CS_ERR_NAME_TOO_LONG:
        return "CS_ERR_NAME_TOO_LONG";
    case CS_ERR_EXIST:
        return "CS_ERR_EXIST";
    case CS_ERR_NO_SPACE:
        return "CS_ERR_NO_SPACE";
    case CS_ERR_INTERRUPT:
        return "CS_ERR_INTERRUPT";
    case CS_ERR_NAME_NOT_FOUND:
        return "CS_ERR_NAME_NOT_FOUND";
    case CS_ERR_NO_RESOURCES:
        return "CS_ERR_NO_RESOURCES";
    case CS_ERR_NOT_SUPPORTED:
        return "CS_ERR_NOT_SUPPORTED";
    case CS_ERR_BAD_OPERATION:
        return "CS_ERR_BAD_OPERATION";
    case CS_ERR_FAILED_OPERATION:
        return "CS_ERR_FAILED_OPERATION";
    case CS_ERR_MESSAGE_ERROR:
        return "CS_ERR_MESSAGE_ERROR";
    case CS_ERR_QUEUE_FULL:
        return "CS_ERR_QUEUE_FULL";
    case CS_ERR_QUEUE_NOT_AVAILABLE:
        return "CS_ERR_QUEUE_NOT_AVAILABLE";
    case CS_ERR_BAD_FLAGS:
        return "CS_ERR_BAD_FLAGS";
    case CS_ERR_TOO_BIG:
        return "CS_ERR_TOO_BIG";
    case CS_ERR_NO_SECTIONS:
        return "CS_ERR_NO_SECTIONS";
    case CS_ERR_CONTEXT_NOT_FOUND:
        return "CS_ERR_CONTEXT_NOT_FOUND";
    case CS_ERR_TOO_MANY_GROUPS:
        return "CS_ERR_TOO_MANY_GROUPS";
    case CS_ERR_SECURITY:
        return "CS_ERR_SECURITY";
    default:
        return "CS_ERR_UNKNOWN";
    }
}
