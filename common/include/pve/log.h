/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Process-wide logging: one identity per daemon, syslog levels, journal or stderr.
 *
 * pve_log_open() picks the journal when stderr is connected to it ($JOURNAL_STREAM matches
 * stderr's dev:ino, as systemd sets it for services) and plain stderr otherwise. The level
 * comes from pve_log_set_level(), --debug, or $PVE_LOG_LEVEL (a number or a name such as
 * "debug"). Thread-safe: each message is written with one call.
 *
 * log_*_errno(err, ...) log with %m referring to err and return -abs(err), so
 * `return log_error_errno(r, "Failed to open '%s': %m", p);` is the usual shape.
 * Code in common/ never logs above debug; the caller that decides logs once.
 */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "pve/macro.h"

typedef enum PveLogTarget {
    PVE_LOG_TARGET_AUTO,
    PVE_LOG_TARGET_STDERR,
    PVE_LOG_TARGET_JOURNAL,
    PVE_LOG_TARGET_NULL,
} PveLogTarget;

void pve_log_open(const char *ident, PveLogTarget target);
void pve_log_set_level(int level);
int pve_log_get_level(void);
PveLogTarget pve_log_get_target(void);
const char *pve_log_ident(void);
/* Parse "debug", "info", ... or "0".."7"; -EINVAL otherwise. */
int pve_log_level_from_string(const char *s);

/* Core entry point; returns -abs(error) (or 0 when error is 0). */
int pve_log_internal(
    int level, int error, const char *file, int line, const char *func, const char *fmt, ...
) _printf_(6, 7);

#define pve_log_full_errno(level, error, ...)                                       \
    ({                                                                              \
        int _l_ = (level), _e_ = (error);                                           \
        (_l_ <= pve_log_get_level())                                                \
            ? pve_log_internal(_l_, _e_, __FILE__, __LINE__, __func__, __VA_ARGS__) \
            : -(_e_ < 0 ? -_e_ : _e_);                                              \
    })

#define log_debug(...)   (void) pve_log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    (void) pve_log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  (void) pve_log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) (void) pve_log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   (void) pve_log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_crit(...)    (void) pve_log_full_errno(LOG_CRIT, 0, __VA_ARGS__)

#define log_debug_errno(e, ...)   pve_log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...)    pve_log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...)  pve_log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) pve_log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)   pve_log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
