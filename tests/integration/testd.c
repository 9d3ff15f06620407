/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pve-testd: the smallest daemon built on pve/daemon.h, for tests/integration/test-daemon.sh.
 * It serves nothing; it only shows what the framework does with its callbacks.
 *
 * Configuration (--config FILE or $TESTD_CONFIG, optional): "key: value" lines, '#' comments,
 * keys "name" (non-empty) and "port" (1..65535). --check parses it; start fails on a bad one.
 * Environment:
 *   TESTD_RELOAD_FILE   the reload hook appends "reload <n>" here
 *   TESTD_READY_FILE    written ("ready <pid>") just before the daemon reports readiness
 *   TESTD_READY_DELAY_MS  wait this long on the loop before becoming ready
 *   TESTD_USER, TESTD_GROUP  drop to them after init
 *   TESTD_HANG_ON_STOP  the shutdown hook never returns: `stop` must fall back to SIGKILL
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "pve/daemon.h"
#include "pve/log.h"
#include "pve/string-util.h"

typedef struct Testd {
    const char *config_path;
    char *name;
    unsigned port;
    unsigned reloads;
    sd_event_source *ready_timer;
} Testd;

static void testd_done(Testd *t) {
    free(t->name);
    t->name = NULL;
    t->ready_timer = sd_event_source_unref(t->ready_timer);
}

static int config_load(const char *path, char **ret_name, unsigned *ret_port) {
    _cleanup_fclose_ FILE *f = NULL;
    _cleanup_free_ char *line = NULL, *name = NULL;
    unsigned port = 8000, lineno = 0;
    size_t cap = 0;
    ssize_t n;

    f = fopen(path, "re");
    if (!f)
        return pve_daemon_error_errno(errno, "can't open config '%s' - %m", path);
    while ((n = getline(&line, &cap, f)) >= 0) {
        char *key, *value, *colon;

        lineno++;
        line[rstrip_len(line, (size_t) n - (n > 0 && line[n - 1] == '\n'))] = '\0';
        key = (char *) skip_blanks(line);
        if (*key == '\0' || *key == '#')
            continue;
        colon = strchr(key, ':');
        if (!colon)
            return pve_daemon_error_errno(
                EINVAL, "%s:%u: expected 'key: value', got '%s'", path, lineno, key
            );
        *colon = '\0';
        value = (char *) skip_blanks(colon + 1);
        if (streq(key, "name")) {
            if (!*value)
                return pve_daemon_error_errno(EINVAL, "%s:%u: empty name", path, lineno);
            free(name);
            name = strdup(value);
            if (!name)
                return pve_daemon_error_errno(ENOMEM, "out of memory");
        } else if (streq(key, "port")) {
            if (safe_atou32(value, &port) < 0 || port == 0 || port > 65535)
                return pve_daemon_error_errno(
                    EINVAL, "%s:%u: invalid port '%s'", path, lineno, value
                );
        } else
            return pve_daemon_error_errno(EINVAL, "%s:%u: unknown key '%s'", path, lineno, key);
    }
    if (ferror(f))
        return pve_daemon_error_errno(EIO, "can't read config '%s'", path);
    *ret_name = TAKE_PTR(name);
    *ret_port = port;
    return 0;
}

static int testd_load(Testd *t) {
    _cleanup_free_ char *name = NULL;
    unsigned port = 8000;
    int r;

    if (t->config_path) {
        r = config_load(t->config_path, &name, &port);
        if (r < 0)
            return r;
    }
    free(t->name);
    t->name = name ? TAKE_PTR(name) : strdup("testd");
    t->port = port;
    return t->name ? 0 : pve_daemon_error_errno(ENOMEM, "out of memory");
}

static int append_line(const char *env, const char *fmt, ...) _printf_(2, 3);
static int append_line(const char *env, const char *fmt, ...) {
    const char *path = getenv(env);
    _cleanup_fclose_ FILE *f = NULL;
    va_list ap;

    if (!path)
        return 0;
    f = fopen(path, "ae");
    if (!f)
        return negative_errno();
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    return fflush(f) == 0 ? 0 : negative_errno();
}

static int parse_config_option(void *userdata, const char *arg) {
    Testd *t = userdata;
    t->config_path = arg;
    return 0;
}

static int testd_check(void *userdata, bool verbose) {
    Testd *t = userdata;
    int r = testd_load(t);
    if (r < 0)
        return r;
    if (verbose)
        printf("name: %s\nport: %u\n", t->name, t->port);
    return 0;
}

static int testd_init(void *userdata) {
    return testd_load(userdata);
}

static int become_ready(void) {
    int r = append_line("TESTD_READY_FILE", "ready %d\n", (int) getpid());
    if (r < 0)
        return pve_daemon_error_errno(r, "can't write ready file - %m");
    return pve_daemon_ready();
}

static int on_ready_timer(sd_event_source *s, uint64_t usec, void *userdata) {
    (void) s;
    (void) usec;
    (void) userdata;
    int r = become_ready();
    if (r < 0)
        return sd_event_exit(pve_daemon_event(), r);
    return 0;
}

static int testd_setup(sd_event *e, void *userdata) {
    Testd *t = userdata;
    unsigned delay_ms = 0;
    uint64_t now;
    int r;

    (void) safe_atou32(getenv("TESTD_READY_DELAY_MS"), &delay_ms);
    log_debug("serving '%s' (port %u)", t->name, t->port);
    if (delay_ms == 0)
        return become_ready();

    r = sd_event_now(e, CLOCK_MONOTONIC, &now);
    if (r < 0)
        return r;
    return sd_event_add_time(
        e, &t->ready_timer, CLOCK_MONOTONIC, now + (uint64_t) delay_ms * 1000, 0, on_ready_timer, t
    );
}

static int testd_reload(void *userdata) {
    Testd *t = userdata;
    int r = testd_load(t);
    if (r < 0)
        return r;
    r = append_line("TESTD_RELOAD_FILE", "reload %u\n", ++t->reloads);
    if (r < 0)
        return pve_daemon_error_errno(r, "can't write reload file - %m");
    return 0;
}

static void testd_shutdown(void *userdata) {
    Testd *t = userdata;
    if (getenv("TESTD_HANG_ON_STOP"))
        for (;;)
            (void) nanosleep(&(struct timespec){.tv_sec = 1}, NULL);
    testd_done(t);
}

static int run(int argc, char *argv[]) {
    _cleanup_(testd_done) Testd t = {.config_path = getenv("TESTD_CONFIG")};
    static const PveDaemonOption options[] = {
        {"config", 'c', true, "FILE", "configuration file (default $TESTD_CONFIG)",
         parse_config_option},
    };
    const PveDaemon d = {
        .name = "pve-testd",
        .pidfile = "/run/pve-testd.pid",
        .user = getenv("TESTD_USER"),
        .group = getenv("TESTD_GROUP"),
        .ready_manually = true,
        .options = options,
        .n_options = ELEMENTSOF(options),
        .userdata = &t,
        .check = testd_check,
        .init = testd_init,
        .setup = testd_setup,
        .reload = testd_reload,
        .shutdown = testd_shutdown,
    };

    return pve_daemon_main(&d, argc, argv);
}

int main(int argc, char *argv[]) {
    return run(argc, argv);
}
