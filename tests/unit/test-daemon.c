/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the pure parts of the daemon framework: pid file parsing, reading and writing,
 * /proc/<pid>/stat parsing, stale pid detection (with real child processes), the command line
 * parser and the privilege drop (in a forked child, when root). The verbs themselves are
 * exercised by tests/integration/test-daemon.sh.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* After setjmp.h, stdarg.h and stddef.h, which it needs. */
#include <cmocka.h>

#include "pve/daemon.h"
#include "pve/pidfile.h"

extern char **environ;

/* The argv of the last parse(): PveDaemonArgs points into it, so it lives until the next. */
static char *argv_pool[16];

static void argv_pool_free(void) {
    for (size_t i = 0; i < ELEMENTSOF(argv_pool); i++) {
        free(argv_pool[i]);
        argv_pool[i] = NULL;
    }
}

/* ---- pid file contents ---------------------------------------------------------------------- */

static int parse_str(const char *s, pid_t *ret) {
    return pidfile_parse(s, strlen(s), ret);
}

static void test_pidfile_parse(void **state) {
    pid_t pid = 0;
    (void) state;

    assert_int_equal(parse_str("123\n", &pid), 0);
    assert_int_equal(pid, 123);
    assert_int_equal(parse_str("77", &pid), 0);
    assert_int_equal(pid, 77);
    assert_int_equal(parse_str("42\r\n", &pid), 0);
    assert_int_equal(pid, 42);
    assert_int_equal(parse_str("007\n", &pid), 0);
    assert_int_equal(pid, 7);
    assert_int_equal(parse_str("4194304\n", &pid), 0);
    assert_int_equal(pid, PIDFILE_PID_MAX);

    pid = 99;
    assert_int_equal(parse_str("", &pid), -EINVAL);
    assert_int_equal(parse_str("\n", &pid), -EINVAL);
    assert_int_equal(parse_str("0\n", &pid), -EINVAL);
    assert_int_equal(parse_str("abc\n", &pid), -EINVAL);
    assert_int_equal(parse_str("12a\n", &pid), -EINVAL);
    assert_int_equal(parse_str(" 12\n", &pid), -EINVAL);
    assert_int_equal(parse_str("12 \n", &pid), -EINVAL);
    assert_int_equal(parse_str("+12\n", &pid), -EINVAL);
    assert_int_equal(parse_str("-12\n", &pid), -EINVAL);
    assert_int_equal(parse_str("12\n\n", &pid), -EINVAL);
    assert_int_equal(parse_str("12\n13\n", &pid), -EINVAL);
    assert_int_equal(pidfile_parse("12\0", 3, &pid), -EINVAL);
    assert_int_equal(pidfile_parse(NULL, 0, &pid), -EINVAL);
    assert_int_equal(parse_str("4194305\n", &pid), -ERANGE);
    assert_int_equal(parse_str("99999999999999999999999999999999\n", &pid), -ERANGE);
    assert_int_equal(parse_str("99999999999999999999999999999999x", &pid), -EINVAL);
    assert_int_equal(pid, 99); /* untouched on failure */
}

/* ---- pid files on disk ---------------------------------------------------------------------- */

static char tmpdir[] = "/tmp/test-daemon-unit.XXXXXX";

static int setup_tmpdir(void **state) {
    (void) state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state) {
    char cmd[128];
    (void) state;
    argv_pool_free();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *content) {
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path) {
    static char buf[256];
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t count_dir_entries(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    unsigned n = 0;
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%u", &n), 1);
    pclose(p);
    return n;
}

static void test_pidfile_write_read(void **state) {
    char path[256], dir[128];
    struct stat st;
    mode_t old;
    pid_t pid = 0;
    (void) state;

    snprintf(dir, sizeof dir, "%s/rw", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/x.pid", dir);

    assert_int_equal(pidfile_read(path, &pid), -ENOENT);

    old = umask(077); /* the pid file is 0644 whatever the umask */
    assert_int_equal(pidfile_write(path, 4242), 0);
    umask(old);
    assert_string_equal(read_file(path), "4242\n");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(pidfile_read(path, &pid), 0);
    assert_int_equal(pid, 4242);

    /* Replacing keeps exactly one file: the tmp file was renamed over it. */
    assert_int_equal(pidfile_write(path, 17), 0);
    assert_string_equal(read_file(path), "17\n");
    assert_int_equal(count_dir_entries(dir), 1);

    assert_int_equal(pidfile_write(path, 0), -EINVAL);
    assert_int_equal(pidfile_write(path, -3), -EINVAL);

    write_file(path, "");
    assert_int_equal(pidfile_read(path, &pid), -EINVAL);
    write_file(path, "garbage\n");
    assert_int_equal(pidfile_read(path, &pid), -EINVAL);
    write_file(path, "1234567890123456789012345678901234567890123456789012345678901234567890\n");
    assert_int_equal(pidfile_read(path, &pid), -EINVAL);
    write_file(path, "99\n");
    assert_int_equal(pidfile_read(path, &pid), 0);
    assert_int_equal(pid, 99);

    char missing[256];
    snprintf(missing, sizeof missing, "%s/nodir/x.pid", dir);
    assert_int_equal(pidfile_write(missing, 1), -ENOENT);
}

static void test_pidfile_remove(void **state) {
    char path[128];
    (void) state;

    snprintf(path, sizeof path, "%s/rm.pid", tmpdir);
    assert_int_equal(pidfile_remove(path, 5), 0);
    assert_int_equal(pidfile_remove(path, 0), 0);

    assert_int_equal(pidfile_write(path, 5), 0);
    assert_int_equal(pidfile_remove(path, 6), 0); /* names another pid: kept */
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(pidfile_remove(path, 5), 1);
    assert_int_equal(access(path, F_OK), -1);

    write_file(path, "junk");
    assert_int_equal(pidfile_remove(path, 5), 0); /* not ours to judge */
    assert_int_equal(pidfile_remove(path, 0), 1); /* unconditional */
    assert_int_equal(access(path, F_OK), -1);
}

/* ---- /proc and stale detection -------------------------------------------------------------- */

static void test_proc_stat_state(void **state) {
    char s = 0;
    (void) state;

    assert_int_equal(pidfile_parse_proc_stat_state("123 (bash) S 1 123 123 0", &s), 0);
    assert_int_equal(s, 'S');
    assert_int_equal(pidfile_parse_proc_stat_state("9 (a) b) (c) Z 1 2", &s), 0);
    assert_int_equal(s, 'Z');
    assert_int_equal(pidfile_parse_proc_stat_state("9 (x y) R", &s), 0);
    assert_int_equal(s, 'R');
    assert_int_equal(pidfile_parse_proc_stat_state("9 (x)", &s), -EINVAL);
    assert_int_equal(pidfile_parse_proc_stat_state("9 (x) ", &s), -EINVAL);
    assert_int_equal(pidfile_parse_proc_stat_state("9 (x)S 1", &s), -EINVAL);
    assert_int_equal(pidfile_parse_proc_stat_state("garbage", &s), -EINVAL);
    assert_int_equal(pidfile_parse_proc_stat_state("", &s), -EINVAL);

    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_int_equal(pidfile_parse_proc_stat_state(buf, &s), 0);
    assert_int_equal(s, 'R');
}

static pid_t fork_sleeper(void) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

static void reap(pid_t pid) {
    (void) kill(pid, SIGKILL);
    (void) waitpid(pid, NULL, 0);
}

static void test_pid_state(void **state) {
    (void) state;

    assert_int_equal(pidfile_pid_state(0), -EINVAL);
    assert_int_equal(pidfile_pid_state(-1), -EINVAL);
    assert_int_equal(pidfile_pid_state(PIDFILE_PID_MAX + 1), -EINVAL);
    /* The asking process is never "the daemon". */
    assert_int_equal(pidfile_pid_state(getpid()), PIDFILE_STALE_FOREIGN);

    /* A child runs our executable: that is what a live daemon looks like. */
    pid_t child = fork_sleeper();
    assert_int_equal(pidfile_pid_state(child), PIDFILE_RUNNING);

    /* A zombie is not running. */
    assert_int_equal(kill(child, SIGKILL), 0);
    siginfo_t si;
    assert_int_equal(waitid(P_PID, (id_t) child, &si, WEXITED | WNOWAIT), 0);
    assert_int_equal(pidfile_pid_state(child), PIDFILE_STALE_DEAD);
    assert_int_equal(waitpid(child, NULL, 0), child);
    /* Nor is a reaped one. */
    assert_int_equal(pidfile_pid_state(child), PIDFILE_STALE_DEAD);

    /* A live process running another program: the pid was reused. */
    pid_t other;
    char *argv[] = {(char *) "sleep", (char *) "30", NULL};
    assert_int_equal(posix_spawnp(&other, "sleep", NULL, NULL, argv, environ), 0);
    /* Wait until the exec happened (comm changes from ours to "sleep"). */
    for (int i = 0; i < 200 && pidfile_pid_state(other) != PIDFILE_STALE_FOREIGN; i++)
        usleep(10000);
    assert_int_equal(pidfile_pid_state(other), PIDFILE_STALE_FOREIGN);
    reap(other);
}

static void test_pidfile_check(void **state) {
    char path[128];
    pid_t pid = 1;
    (void) state;

    snprintf(path, sizeof path, "%s/check.pid", tmpdir);
    assert_int_equal(pidfile_check(path, &pid), PIDFILE_MISSING);
    assert_int_equal(pid, 0);

    write_file(path, "nonsense\n");
    assert_int_equal(pidfile_check(path, &pid), PIDFILE_INVALID);
    write_file(path, "99999999999\n");
    assert_int_equal(pidfile_check(path, &pid), PIDFILE_INVALID);

    pid_t child = fork_sleeper();
    assert_int_equal(pidfile_write(path, child), 0);
    assert_int_equal(pidfile_check(path, &pid), PIDFILE_RUNNING);
    assert_int_equal(pid, child);
    reap(child);
    assert_int_equal(pidfile_check(path, &pid), PIDFILE_STALE_DEAD);
    assert_int_equal(pid, child);

    assert_int_equal(pidfile_write(path, getpid()), 0);
    assert_int_equal(pidfile_check(path, NULL), PIDFILE_STALE_FOREIGN);

    assert_string_equal(pidfile_state_to_string(PIDFILE_RUNNING), "running");
    assert_string_equal(pidfile_state_to_string(PIDFILE_STALE_DEAD), "stale-dead");
    assert_null(pidfile_state_to_string(_PIDFILE_STATE_MAX));
    assert_null(pidfile_state_to_string(_PIDFILE_STATE_INVALID));
}

/* ---- command line --------------------------------------------------------------------------- */

typedef struct Opts {
    const char *config;
    int flag;
} Opts;

static int opt_config(void *userdata, const char *arg) {
    Opts *o = userdata;
    if (streq(arg, "bad"))
        return -EINVAL;
    o->config = arg;
    return 0;
}

static int opt_flag(void *userdata, const char *arg) {
    Opts *o = userdata;
    assert_null(arg);
    o->flag++;
    return 0;
}

static Opts opts;
static const PveDaemonOption extra[] = {
    {"config", 'c', true, "FILE", "config file", opt_config},
    {"flag", 0, false, NULL, "a flag", opt_flag},
};
static const PveDaemon testd = {
    .name = "testd",
    .pidfile = "/run/testd.pid",
    .options = extra,
    .n_options = ELEMENTSOF(extra),
    .userdata = &opts,
};

/* parse(&args, "start", "-f", NULL): argv[0] is added; getopt may permute, so copy. */
static int parse(PveDaemonArgs *ret, ...) {
    char *argv[16] = {NULL};
    int argc = 0;
    va_list ap;

    argv_pool_free();
    argv_pool[argc++] = strdup("testd");
    va_start(ap, ret);
    for (const char *s; (s = va_arg(ap, const char *));)
        argv_pool[argc++] = strdup(s);
    va_end(ap);
    memcpy(argv, argv_pool, sizeof argv);
    return pve_daemon_parse_args(&testd, argc, argv, ret);
}

static void test_verbs(void **state) {
    (void) state;
    for (int v = 0; v < PVE_DAEMON_VERB_CHECK; v++)
        assert_int_equal(pve_daemon_verb_from_string(pve_daemon_verb_to_string(v)), v);
    assert_string_equal(pve_daemon_verb_to_string(PVE_DAEMON_VERB_STATUS), "status");
    assert_int_equal(pve_daemon_verb_from_string("--check"), _PVE_DAEMON_VERB_INVALID);
    assert_int_equal(pve_daemon_verb_from_string("Start"), _PVE_DAEMON_VERB_INVALID);
    assert_int_equal(pve_daemon_verb_from_string(""), _PVE_DAEMON_VERB_INVALID);
    assert_int_equal(pve_daemon_verb_from_string(NULL), _PVE_DAEMON_VERB_INVALID);
    assert_null(pve_daemon_verb_to_string(_PVE_DAEMON_VERB_MAX));
    assert_null(pve_daemon_verb_to_string(_PVE_DAEMON_VERB_INVALID));
}

static void test_parse_args(void **state) {
    PveDaemonArgs a;
    (void) state;

    assert_int_equal(parse(&a, "start", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_START);
    assert_false(a.foreground);
    assert_false(a.debug);
    assert_null(a.pidfile);

    assert_int_equal(parse(&a, "start", "--foreground", "--debug", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_START);
    assert_true(a.foreground);
    assert_true(a.debug);

    /* Options may come first (getopt permutes). */
    assert_int_equal(parse(&a, "-fd", "restart", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_RESTART);
    assert_true(a.foreground && a.debug);

    assert_int_equal(parse(&a, "stop", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_STOP);
    assert_int_equal(parse(&a, "reload", "-d", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_RELOAD);
    assert_int_equal(parse(&a, "status", "--pidfile", "/tmp/x.pid", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_STATUS);
    assert_string_equal(a.pidfile, "/tmp/x.pid");
    assert_int_equal(parse(&a, "--pidfile=/tmp/y.pid", "stop", NULL), 0);
    assert_string_equal(a.pidfile, "/tmp/y.pid");

    assert_int_equal(parse(&a, "--check", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_CHECK);
    assert_false(a.verbose);
    assert_int_equal(parse(&a, "-n", "-v", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_CHECK);
    assert_true(a.verbose);

    assert_int_equal(parse(&a, "help", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_HELP);
    assert_int_equal(parse(&a, "--help", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_HELP);
    assert_int_equal(parse(&a, "-h", "stop", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_HELP);
}

static void test_parse_args_errors(void **state) {
    PveDaemonArgs a = {.verb = PVE_DAEMON_VERB_STOP};
    (void) state;

    assert_int_equal(parse(&a, NULL), -EINVAL);
    assert_int_equal(parse(&a, "bogus", NULL), -EINVAL);
    assert_int_equal(parse(&a, "START", NULL), -EINVAL);
    assert_int_equal(parse(&a, "start", "stop", NULL), -EINVAL);
    assert_int_equal(parse(&a, "-n", "start", NULL), -EINVAL);
    assert_int_equal(parse(&a, "stop", "--foreground", NULL), -EINVAL);
    assert_int_equal(parse(&a, "status", "-f", NULL), -EINVAL);
    assert_int_equal(parse(&a, "start", "-v", NULL), -EINVAL);
    assert_int_equal(parse(&a, "start", "--bogus", NULL), -EINVAL);
    assert_int_equal(parse(&a, "start", "-x", NULL), -EINVAL);
    assert_int_equal(parse(&a, "status", "--pidfile", NULL), -EINVAL);
    assert_int_equal(parse(&a, "status", "--pidfile=", NULL), -EINVAL);
    assert_int_equal(parse(&a, "--debug=1", "start", NULL), -EINVAL);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_STOP); /* untouched on failure */
}

static void test_parse_args_extra_options(void **state) {
    PveDaemonArgs a;
    (void) state;

    opts = (Opts){0};
    assert_int_equal(parse(&a, "start", "--config", "/etc/a.conf", "--flag", NULL), 0);
    assert_string_equal(opts.config, "/etc/a.conf");
    assert_int_equal(opts.flag, 1);

    opts = (Opts){0};
    assert_int_equal(parse(&a, "-c", "/etc/b.conf", "-n", NULL), 0);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_CHECK);
    assert_non_null(opts.config);

    assert_int_equal(parse(&a, "start", "--config=bad", NULL), -EINVAL);
    assert_int_equal(parse(&a, "start", "--config", NULL), -EINVAL);
    assert_int_equal(parse(&a, "start", "--flag=1", NULL), -EINVAL);

    /* The parser can run again afterwards (getopt state reset). */
    opts = (Opts){0};
    assert_int_equal(parse(&a, "status", "--flag", "--flag", NULL), 0);
    assert_int_equal(opts.flag, 2);
    assert_int_equal(a.verb, PVE_DAEMON_VERB_STATUS);
}

static void test_usage(void **state) {
    char *buf = NULL;
    size_t len = 0;
    (void) state;

    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    pve_daemon_usage(&testd, f);
    fclose(f);
    assert_non_null(strstr(buf, "Usage: testd <command> [options]"));
    assert_non_null(strstr(buf, "--config, -c FILE"));
    assert_non_null(strstr(buf, "--flag "));
    assert_non_null(strstr(buf, "/run/testd.pid"));
    free(buf);
}

static void test_stop_wait(void **state) {
    PveDaemon d = {.name = "x"};
    (void) state;

    unsetenv("PVE_DAEMON_STOP_WAIT");
    assert_int_equal(pve_daemon_stop_wait(&d), PVE_DAEMON_STOP_WAIT_DEFAULT);
    d.stop_wait = 15;
    assert_int_equal(pve_daemon_stop_wait(&d), 15);
    setenv("PVE_DAEMON_STOP_WAIT", "1", 1);
    assert_int_equal(pve_daemon_stop_wait(&d), 1);
    setenv("PVE_DAEMON_STOP_WAIT", "0", 1);
    assert_int_equal(pve_daemon_stop_wait(&d), 0);
    setenv("PVE_DAEMON_STOP_WAIT", "soon", 1);
    assert_int_equal(pve_daemon_stop_wait(&d), 15);
    unsetenv("PVE_DAEMON_STOP_WAIT");
}

static void test_error_message(void **state) {
    (void) state;
    assert_int_equal(pve_daemon_error_errno(-ENOENT, "can't open '%s' - %m", "/x"), -ENOENT);
    assert_string_equal(pve_daemon_error_message(), "can't open '/x' - No such file or directory");
    assert_int_equal(pve_daemon_error_errno(EACCES, "plain"), -EACCES);
    assert_string_equal(pve_daemon_error_message(), "plain");
    assert_int_equal(pve_daemon_error_errno(0, "zero"), -EINVAL);
    assert_null(pve_daemon_event());
}

/* ---- privileges ----------------------------------------------------------------------------- */

static void test_drop_privileges(void **state) {
    (void) state;

    assert_int_equal(pve_drop_privileges(NULL, NULL), -EINVAL);
    assert_int_equal(pve_drop_privileges("no-such-user-pve", NULL), -ESRCH);
    assert_int_equal(pve_drop_privileges(NULL, "no-such-group-pve"), -ESRCH);

    if (geteuid() != 0) {
        print_message("not root: real drop skipped\n");
        return;
    }
    /* The real drop is for good, so do it in a child. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int r = pve_drop_privileges("nobody", NULL);
        if (r == -ESRCH)
            _exit(77);
        if (r < 0)
            _exit(1);
        if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0)
            _exit(2);
        if (setuid(0) == 0 || setgid(0) == 0)
            _exit(3);
        gid_t groups[64];
        int n = getgroups(64, groups);
        for (int i = 0; i < n; i++)
            if (groups[i] == 0)
                _exit(4);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        print_message("no user nobody: real drop skipped\n");
    else
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pidfile_parse),
        cmocka_unit_test(test_pidfile_write_read),
        cmocka_unit_test(test_pidfile_remove),
        cmocka_unit_test(test_proc_stat_state),
        cmocka_unit_test(test_pid_state),
        cmocka_unit_test(test_pidfile_check),
        cmocka_unit_test(test_verbs),
        cmocka_unit_test(test_parse_args),
        cmocka_unit_test(test_parse_args_errors),
        cmocka_unit_test(test_parse_args_extra_options),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_stop_wait),
        cmocka_unit_test(test_error_message),
        cmocka_unit_test(test_drop_privileges),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
