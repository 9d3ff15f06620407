/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Logging backend: formats one message and writes it to the journal (sd_journal_send with
 * SYSLOG_IDENTIFIER, PRIORITY, ERRNO and CODE_* fields) or to stderr as one line
 * "<ident>[pid]: <level>: message". It owns the process-wide identity and level and
 * nothing else.
 */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include "pve/log.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <systemd/sd-journal.h>

static const char *log_ident = "pve";
static int log_level = LOG_INFO;
static PveLogTarget log_target = PVE_LOG_TARGET_STDERR;

static const char *const level_names[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

int pve_log_level_from_string(const char *s) {
    if (!s || !*s)
        return -EINVAL;
    if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
        return s[0] - '0';
    for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return (int) i;
    if (strcasecmp(s, "error") == 0)
        return LOG_ERR;
    if (strcasecmp(s, "warn") == 0)
        return LOG_WARNING;
    return -EINVAL;
}

static bool stderr_is_journal(void) {
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
        return false;
    if (fstat(STDERR_FILENO, &st) < 0)
        return false;
    return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void pve_log_open(const char *ident, PveLogTarget target) {
    if (ident)
        log_ident = ident;
    if (target == PVE_LOG_TARGET_AUTO)
        target = stderr_is_journal() ? PVE_LOG_TARGET_JOURNAL : PVE_LOG_TARGET_STDERR;
    log_target = target;
    int l = pve_log_level_from_string(getenv("PVE_LOG_LEVEL"));
    if (l >= 0)
        log_level = l;
}

void pve_log_set_level(int level) {
    if (level >= LOG_EMERG && level <= LOG_DEBUG)
        log_level = level;
}

int pve_log_get_level(void) {
    return log_level;
}

PveLogTarget pve_log_get_target(void) {
    return log_target;
}

const char *pve_log_ident(void) {
    return log_ident;
}

int pve_log_internal(
    int level, int error, const char *file, int line, const char *func, const char *fmt, ...
) {
    char msg[2048];
    va_list ap;
    int saved_errno = errno;

    if (error < 0)
        error = -error;
    /* Make %m refer to the error we were given. */
    errno = error ? error : saved_errno;
    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    switch (log_target) {
    case PVE_LOG_TARGET_JOURNAL: {
        char errfield[32];
        snprintf(errfield, sizeof errfield, "ERRNO=%d", error);
        (void) sd_journal_send(
            "MESSAGE=%s", msg, "PRIORITY=%d", level, "SYSLOG_IDENTIFIER=%s", log_ident,
            "CODE_FILE=%s", file, "CODE_LINE=%d", line, "CODE_FUNC=%s", func,
            error ? errfield : NULL, NULL
        );
        break;
    }
    case PVE_LOG_TARGET_NULL:
        break;
    default:
        (void) fprintf(
            stderr, "%s[%d]: %s: %s\n", log_ident, (int) getpid(), level_names[level & LOG_PRIMASK],
            msg
        );
        break;
    }
    errno = saved_errno;
    return -error;
}
