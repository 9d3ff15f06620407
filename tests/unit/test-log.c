/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the logging front end: return values, %m, levels, stderr format, target. */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pve/log.h"

/* Run fn with stderr redirected to a temp file; return what was written. */
static char *capture_stderr(void (*fn)(void)) {
    static char buf[4096];
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    fflush(stderr);
    dup2(fileno(tmp), STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(buf, 1, sizeof buf - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    return buf;
}

static void emit_error_with_errno(void) {
    int r = log_error_errno(ENOENT, "open '%s': %m", "/x");
    assert_int_equal(r, -ENOENT);
}

static void emit_debug(void) {
    log_debug("hidden %d", 1);
}

static void test_errno_and_format(void **state) {
    (void) state;
    pve_log_open("testlog", PVE_LOG_TARGET_STDERR);
    pve_log_set_level(LOG_INFO);
    char *out = capture_stderr(emit_error_with_errno);
    char expect[256];
    snprintf(
        expect, sizeof expect, "testlog[%d]: err: open '/x': No such file or directory\n",
        (int) getpid()
    );
    assert_string_equal(out, expect);
}

static void test_level_filter(void **state) {
    (void) state;
    pve_log_open("testlog", PVE_LOG_TARGET_STDERR);
    pve_log_set_level(LOG_INFO);
    assert_string_equal(capture_stderr(emit_debug), "");
    pve_log_set_level(LOG_DEBUG);
    assert_non_null(strstr(capture_stderr(emit_debug), "debug: hidden 1"));
    /* Filtered messages still return the negative errno. */
    pve_log_set_level(LOG_ERR);
    assert_int_equal(log_info_errno(-EPERM, "x"), -EPERM);
    assert_int_equal(log_info_errno(EPERM, "x"), -EPERM);
    assert_int_equal(log_error_errno(0, "zero"), 0);
}

static void test_level_names(void **state) {
    (void) state;
    assert_int_equal(pve_log_level_from_string("debug"), LOG_DEBUG);
    assert_int_equal(pve_log_level_from_string("WARNING"), LOG_WARNING);
    assert_int_equal(pve_log_level_from_string("warn"), LOG_WARNING);
    assert_int_equal(pve_log_level_from_string("3"), LOG_ERR);
    assert_int_equal(pve_log_level_from_string("8"), -EINVAL);
    assert_int_equal(pve_log_level_from_string("loud"), -EINVAL);
    assert_int_equal(pve_log_level_from_string(NULL), -EINVAL);
}

static void test_env_level_and_auto_target(void **state) {
    (void) state;
    setenv("PVE_LOG_LEVEL", "debug", 1);
    unsetenv("JOURNAL_STREAM");
    pve_log_open("envtest", PVE_LOG_TARGET_AUTO);
    assert_int_equal(pve_log_get_level(), LOG_DEBUG);
    assert_int_equal(pve_log_get_target(), PVE_LOG_TARGET_STDERR);
    assert_string_equal(pve_log_ident(), "envtest");
    /* A JOURNAL_STREAM that does not match stderr keeps stderr. */
    setenv("JOURNAL_STREAM", "1:1", 1);
    pve_log_open("envtest", PVE_LOG_TARGET_AUTO);
    assert_int_equal(pve_log_get_target(), PVE_LOG_TARGET_STDERR);
    /* One that matches stderr's dev:ino selects the journal. */
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char v[64];
    snprintf(
        v, sizeof v, "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino
    );
    setenv("JOURNAL_STREAM", v, 1);
    pve_log_open("envtest", PVE_LOG_TARGET_AUTO);
    assert_int_equal(pve_log_get_target(), PVE_LOG_TARGET_JOURNAL);
    unsetenv("JOURNAL_STREAM");
    unsetenv("PVE_LOG_LEVEL");
    pve_log_open("envtest", PVE_LOG_TARGET_STDERR);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errno_and_format),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_level_names),
        cmocka_unit_test(test_env_level_and_auto_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
