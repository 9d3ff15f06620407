/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for tasks in a tmpdir: real forked workers (ok, error, warnings, stopped), the
 * status/log/list JSON, the exact `active`/`index` line formats, trimming and rotation.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/task.h"
#include "pve/upid.h"

static char tmpdir[] = "/tmp/test-task-XXXXXX";

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void) st, (void) flag, (void) ftw;
    return remove(p);
}

static int setup(void **state) {
    (void) state;
    strcpy(tmpdir, "/tmp/test-task-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void) state;
    return nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static char *slurp(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    char *data = NULL;
    size_t len;
    if (read_full_file(path, 1 << 24, &data, &len) < 0)
        return NULL;
    return data;
}

static void wait_task(const char *upid) {
    Upid u;
    assert_int_equal(upid_decode(upid, &u), 0);
    int st;
    assert_int_equal(waitpid((pid_t) u.pid, &st, 0), (pid_t) u.pid);
}

static const char *jstr(json_t *o, const char *k) {
    const char *s = NULL;
    assert_int_equal(json_util_get_string(o, k, &s), 0);
    return s;
}

/* ---- worker functions ---- */

static int fn_gated(TaskWorker *w, void *userdata) {
    (void) w;
    int fd = *(int *) userdata;
    for (int i = 1; i <= 5; i++)
        printf("line %d\n", i);
    char c;
    if (read(fd, &c, 1) != 1)
        return -EIO;
    return 0;
}

static int fn_fail(TaskWorker *w, void *userdata) {
    (void) userdata;
    printf("doing stuff\n");
    task_set_error(w, "something\nbad\n");
    return -EIO;
}

static int fn_errno(TaskWorker *w, void *userdata) {
    (void) w, (void) userdata;
    return -ENOENT;
}

static int fn_warn(TaskWorker *w, void *userdata) {
    (void) userdata;
    task_warn(w, "first %d", 1);
    task_warn(w, "second");
    return 0;
}

static int fn_partial(TaskWorker *w, void *userdata) {
    (void) w, (void) userdata;
    printf("partial");
    return 0;
}

static int fn_sleep(TaskWorker *w, void *userdata) {
    (void) w, (void) userdata;
    for (;;)
        pause();
    return 0;
}

static char *start(TaskFunc fn, void *ud, const char *type, const char *id, const char *user) {
    char *upid = NULL;
    assert_int_equal(task_start(tmpdir, "pve1", type, id, user, fn, ud, &upid), 0);
    assert_non_null(upid);
    return upid;
}

static char *exitstatus_of(const char *upid) {
    json_auto_t *st = NULL;
    assert_int_equal(task_status(tmpdir, upid, &st), 0);
    assert_string_equal(jstr(st, "status"), "stopped");
    return strdup(jstr(st, "exitstatus"));
}

static void test_ok(void **state) {
    (void) state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    _cleanup_free_ char *upid = start(fn_gated, &p[0], "vzdump", "100", "root@pam");
    Upid u;
    assert_int_equal(upid_decode(upid, &u), 0);
    assert_string_equal(u.node, "pve1");
    assert_string_equal(u.type, "vzdump");
    assert_string_equal(u.id, "100");
    assert_string_equal(u.user, "root@pam");
    assert_true(u.pid > 0 && u.pstart > 0);
    _cleanup_free_ char *path = NULL;
    assert_int_equal(upid_log_path(tmpdir, upid, &path), 0);
    assert_int_equal(access(path, F_OK), 0);

    /* registered as running: "<UPID> 0" */
    _cleanup_free_ char *act = slurp("active");
    _cleanup_free_ char *want = NULL;
    assert_true(asprintf(&want, "%s 0\n", upid) > 0);
    assert_non_null(act);
    assert_string_equal(act, want);

    json_auto_t *st = NULL;
    assert_int_equal(task_status(tmpdir, upid, &st), 0);
    assert_string_equal(jstr(st, "status"), "running");
    assert_string_equal(jstr(st, "upid"), upid);
    assert_string_equal(jstr(st, "type"), "vzdump");
    long long v;
    assert_int_equal(json_util_get_int(st, "pid", &v), 0);
    assert_int_equal(v, u.pid);
    assert_int_equal(json_util_get_int(st, "starttime", &v), 0);
    assert_int_equal(v, u.starttime);
    assert_int_equal(json_util_get_string(st, "exitstatus", &(const char *){NULL}), -ENOENT);
    assert_int_equal(task_update_active(tmpdir, NULL), 1);

    assert_int_equal(write(p[1], "x", 1), 1);
    wait_task(upid);
    close(p[0]);
    close(p[1]);
    _cleanup_free_ char *es = exitstatus_of(upid);
    assert_string_equal(es, "OK");

    char *buf = NULL;
    size_t len;
    assert_int_equal(read_full_file(path, 1 << 20, &buf, &len), 0);
    assert_string_equal(buf, "line 1\nline 2\nline 3\nline 4\nline 5\nTASK OK\n");
    free(buf);

    json_auto_t *lines = NULL;
    unsigned total = 0;
    assert_int_equal(task_log_read(tmpdir, upid, 0, 50, &lines, &total), 0);
    assert_int_equal(total, 6);
    assert_int_equal(json_array_size(lines), 6);
    assert_string_equal(jstr(json_array_get(lines, 5), "t"), "TASK OK");
    assert_int_equal(json_util_get_int(json_array_get(lines, 0), "n", &v), 0);
    assert_int_equal(v, 1);
    json_decref(lines);
    assert_int_equal(task_log_read(tmpdir, upid, 2, 2, &lines, &total), 0);
    assert_int_equal(total, 6);
    assert_int_equal(json_array_size(lines), 2);
    assert_int_equal(json_util_get_int(json_array_get(lines, 0), "n", &v), 0);
    assert_int_equal(v, 3);
    assert_string_equal(jstr(json_array_get(lines, 0), "t"), "line 3");
    assert_string_equal(jstr(json_array_get(lines, 1), "t"), "line 4");

    /* finished: archived in index, marked saved in active, exact formats */
    json_auto_t *list = NULL;
    assert_int_equal(task_update_active(tmpdir, &list), 0);
    assert_int_equal(json_array_size(list), 1);
    free(act);
    act = slurp("active");
    _cleanup_free_ char *idx = slurp("index");
    assert_non_null(act);
    assert_non_null(idx);
    char ustr[256], hex[16], stat[64];
    int saved;
    assert_int_equal(sscanf(act, "%255s %d %15s %63s", ustr, &saved, hex, stat), 4);
    assert_string_equal(ustr, upid);
    assert_int_equal(saved, 1);
    assert_int_equal(strlen(hex), 8);
    assert_int_equal(strspn(hex, "0123456789ABCDEF"), 8);
    assert_string_equal(stat, "OK");
    free(want);
    assert_true(asprintf(&want, "%s 1 %s OK\n", upid, hex) > 0);
    assert_string_equal(act, want);
    free(want);
    assert_true(asprintf(&want, "%s %s OK\n", upid, hex) > 0);
    assert_string_equal(idx, want);
    /* a second pass changes nothing */
    assert_int_equal(task_update_active(tmpdir, NULL), 0);
    free(idx);
    idx = slurp("index");
    assert_string_equal(idx, want);
}

static void test_fail_and_warn(void **state) {
    (void) state;
    _cleanup_free_ char *u1 = start(fn_fail, NULL, "qmstart", "101", "alice@pve");
    _cleanup_free_ char *u2 = start(fn_errno, NULL, "qmstop", "102", "root@pam");
    _cleanup_free_ char *u3 = start(fn_warn, NULL, "vzdump", "", "root@pam");
    wait_task(u1);
    wait_task(u2);
    wait_task(u3);
    _cleanup_free_ char *e1 = exitstatus_of(u1);
    _cleanup_free_ char *e2 = exitstatus_of(u2);
    _cleanup_free_ char *e3 = exitstatus_of(u3);
    assert_string_equal(e1, "something bad");
    assert_string_equal(e2, "No such file or directory");
    assert_string_equal(e3, "WARNINGS: 2");
    assert_string_equal(task_status_type(e1), "error");
    assert_string_equal(task_status_type(e3), "warning");
    assert_string_equal(task_status_type("OK"), "ok");

    /* a partial last line still gets the status on a line of its own */
    _cleanup_free_ char *u4 = start(fn_partial, NULL, "srvreload", "", "root@pam");
    wait_task(u4);
    _cleanup_free_ char *e4 = exitstatus_of(u4);
    assert_string_equal(e4, "OK");
    assert_string_equal(task_status_type("unexpected status"), "unknown");

    json_auto_t *lines = NULL;
    unsigned total;
    assert_int_equal(task_log_read(tmpdir, u1, 0, 50, &lines, &total), 0);
    assert_int_equal(total, 2);
    assert_string_equal(jstr(json_array_get(lines, 1), "t"), "TASK ERROR: something bad");
    json_decref(lines);
    assert_int_equal(task_log_read(tmpdir, u3, 0, 50, &lines, &total), 0);
    assert_int_equal(total, 3);
    assert_string_equal(jstr(json_array_get(lines, 0), "t"), "WARN: first 1");
    assert_string_equal(jstr(json_array_get(lines, 2), "t"), "TASK WARNINGS: 2");
}

/* Synthetic UPIDs whose pid (1) never has this pstart, so they count as finished. */
static char *fake_upid(uint32_t starttime, const char *type, const char *id, const char *user) {
    Upid u = {.pid = 1, .pstart = 0xFFFFFFFFFULL, .starttime = starttime};
    strcpy(u.node, "pve1");
    strcpy(u.type, type);
    strcpy(u.id, id);
    strcpy(u.user, user);
    char *s = NULL;
    assert_int_equal(upid_encode(&u, &s), 0);
    return s;
}

static void write_log(const char *upid, const char *content) {
    _cleanup_free_ char *path = NULL;
    assert_int_equal(upid_log_path(tmpdir, upid, &path), 0);
    char *slash = strrchr(path, '/');
    *slash = 0;
    (void) mkdir(path, 0755);
    *slash = '/';
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void write_file(const char *name, const char *content) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void test_list(void **state) {
    (void) state;
    /* archive entries with distinct start times, written oldest first as the daemon does */
    _cleanup_free_ char *a = fake_upid(0x65000001, "qmstart", "100", "root@pam");
    _cleanup_free_ char *b = fake_upid(0x65000002, "vzdump", "101", "alice@pve");
    _cleanup_free_ char *c = fake_upid(0x65000003, "qmstart", "101", "Alice@pve");
    _cleanup_free_ char *idx = NULL;
    assert_true(
        asprintf(
            &idx, "%s 65000010 OK\n%s 65000011 WARNINGS: 1\ngarbage line\n%s 65000012 boom\n", a, b,
            c
        ) > 0
    );
    write_file("index", idx);
    /* a running task in active; an older archive in index.1 */
    int p[2];
    assert_int_equal(pipe(p), 0);
    _cleanup_free_ char *r = start(fn_gated, &p[0], "vncproxy", "", "root@pam");
    _cleanup_free_ char *old = fake_upid(0x60000000, "qmstop", "100", "root@pam");
    _cleanup_free_ char *idx1 = NULL;
    assert_true(asprintf(&idx1, "%s 60000001 OK\n", old) > 0);
    write_file("index.1", idx1);

    TaskListFilter f = TASK_LIST_FILTER_INIT;
    json_auto_t *l = NULL;
    unsigned total = 0;
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_int_equal(total, 4);
    assert_string_equal(jstr(json_array_get(l, 0), "upid"), c);
    assert_string_equal(jstr(json_array_get(l, 1), "upid"), b);
    assert_string_equal(jstr(json_array_get(l, 2), "upid"), a);
    assert_string_equal(jstr(json_array_get(l, 3), "upid"), old);
    assert_string_equal(jstr(json_array_get(l, 0), "status"), "boom");
    long long v;
    assert_int_equal(json_util_get_int(json_array_get(l, 0), "endtime", &v), 0);
    assert_int_equal(v, 0x65000012);
    assert_int_equal(json_util_get_int(json_array_get(l, 0), "pstart", &v), 0);
    assert_int_equal(v, 0xFFFFFFFFFLL);
    json_decref(l);

    f.start = 1;
    f.limit = 2;
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_int_equal(total, 4);
    assert_int_equal(json_array_size(l), 2);
    assert_string_equal(jstr(json_array_get(l, 0), "upid"), b);
    json_decref(l);

    f = (TaskListFilter) TASK_LIST_FILTER_INIT;
    f.typefilter = "qmstart";
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_int_equal(total, 2);
    assert_string_equal(jstr(json_array_get(l, 0), "upid"), c);
    json_decref(l);

    f = (TaskListFilter) TASK_LIST_FILTER_INIT;
    f.errors = true;
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_int_equal(total, 2); /* boom and WARNINGS: 1 */
    json_decref(l);

    f = (TaskListFilter) TASK_LIST_FILTER_INIT;
    f.statusfilter = "error";
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_int_equal(total, 1);
    json_decref(l);

    f = (TaskListFilter) TASK_LIST_FILTER_INIT;
    f.userfilter = "alice";
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_int_equal(total, 2);
    json_decref(l);
    f.only_user = "alice@pve";
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_int_equal(total, 1);
    assert_string_equal(jstr(json_array_get(l, 0), "upid"), b);
    json_decref(l);

    f = (TaskListFilter) TASK_LIST_FILTER_INIT;
    f.vmid = 101;
    f.until = 0x65000002;
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_int_equal(total, 1);
    json_decref(l);

    /* active: only the running task, status RUNNING */
    f = (TaskListFilter) TASK_LIST_FILTER_INIT;
    f.source = TASK_SOURCE_ACTIVE;
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_int_equal(total, 1);
    assert_string_equal(jstr(json_array_get(l, 0), "upid"), r);
    assert_string_equal(jstr(json_array_get(l, 0), "status"), "RUNNING");
    json_decref(l);
    f.source = TASK_SOURCE_ALL;
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_int_equal(total, 5);
    assert_string_equal(jstr(json_array_get(l, 0), "upid"), r); /* newest */
    json_decref(l);
    l = NULL;

    assert_int_equal(write(p[1], "x", 1), 1);
    wait_task(r);
    close(p[0]);
    close(p[1]);
    assert_int_equal(task_update_active(tmpdir, NULL), 0);
    /* archived now: still listed once with source=all */
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_int_equal(total, 5);
    assert_string_equal(jstr(json_array_get(l, 0), "status"), "OK");
    assert_int_equal(task_source_from_string("all"), TASK_SOURCE_ALL);
    assert_int_equal(task_source_from_string("x"), -EINVAL);
}

static void test_stop(void **state) {
    (void) state;
    _cleanup_free_ char *upid = start(fn_sleep, NULL, "qmigrate", "100", "root@pam");
    json_auto_t *st = NULL;
    assert_int_equal(task_status(tmpdir, upid, &st), 0);
    assert_string_equal(jstr(st, "status"), "running");
    assert_int_equal(task_stop(tmpdir, upid), 0);
    wait_task(upid);
    _cleanup_free_ char *es = exitstatus_of(upid);
    assert_string_equal(es, "received interrupt");
    assert_string_equal(task_status_type(es), "error");
    assert_int_equal(task_stop(tmpdir, upid), -ESRCH);
}

static void test_unknown(void **state) {
    (void) state;
    _cleanup_free_ char *u = fake_upid(0x6500000A, "qmstart", "100", "root@pam");
    json_auto_t *j = NULL;
    unsigned total;
    assert_int_equal(task_status(tmpdir, u, &j), -ENOENT);
    assert_int_equal(task_log_read(tmpdir, u, 0, 50, &j, &total), -ENOENT);
    assert_int_equal(task_stop(tmpdir, u), -ENOENT);
    assert_int_equal(task_status(tmpdir, "UPID:bad", &j), -EINVAL);
    assert_int_equal(task_stop(tmpdir, "nonsense"), -EINVAL);
    char *s = NULL;
    assert_int_equal(task_start(tmpdir, "-bad", "t", "", "root@pam", fn_warn, NULL, &s), -EINVAL);
    assert_int_equal(task_start(tmpdir, "pve1", "a:b", "", "root@pam", fn_warn, NULL, &s), -EINVAL);

    /* empty log: one "no content" line; unparseable last line */
    write_log(u, "");
    assert_int_equal(task_log_read(tmpdir, u, 0, 50, &j, &total), 0);
    assert_int_equal(total, 1);
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(jstr(json_array_get(j, 0), "t"), "no content");
    json_decref(j);
    write_log(u, "hello\nworld\n");
    assert_int_equal(task_status(tmpdir, u, &j), 0);
    assert_string_equal(jstr(j, "exitstatus"), "unexpected status");
}

static void test_trim_and_rotate(void **state) {
    (void) state;
    enum { N = 30 };
    char *u[N];
    _cleanup_free_ char *act = NULL;
    size_t alen = 0;
    FILE *m = open_memstream(&act, &alen);
    for (int i = 0; i < N; i++) {
        u[i] = fake_upid(0x65000100 + (uint32_t) i, "qmstart", "100", "root@pam");
        write_log(u[i], i % 2 ? "x\nTASK OK\n" : "TASK ERROR: no\n");
        fprintf(m, "%s 0\n", u[i]);
    }
    fclose(m);
    write_file("active", act);
    assert_int_equal(task_update_active(tmpdir, NULL), 0);

    _cleanup_free_ char *a2 = slurp("active");
    _cleanup_free_ char *idx = slurp("index");
    unsigned lines = 0;
    char *save = NULL;
    for (char *l = strtok_r(a2, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
        int i = N - 1 - (int) lines; /* newest first */
        char ustr[256], hex[16], st[64];
        int saved;
        assert_int_equal(sscanf(l, "%255s %d %15s %63[^\n]", ustr, &saved, hex, st), 4);
        assert_string_equal(ustr, u[i]);
        assert_int_equal(saved, 1);
        assert_string_equal(st, i % 2 ? "OK" : "no");
    }
    assert_int_equal(lines, TASK_ACTIVE_MAX_FINISHED);
    lines = 0;
    for (char *p = idx; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, N);
    for (int i = 0; i < N; i++)
        free(u[i]);

    /* rotation: push the index above the limit */
    _cleanup_free_ char *big = NULL;
    size_t blen = 0;
    m = open_memstream(&big, &blen);
    fputs(idx, m);
    while (ftell(m) < TASK_INDEX_ROTATE_SIZE)
        fputs(idx, m);
    fclose(m);
    write_file("index", big);
    _cleanup_free_ char *x = fake_upid(0x66000000, "vzdump", "", "root@pam");
    write_log(x, "TASK OK\n");
    _cleanup_free_ char *line = NULL;
    assert_true(asprintf(&line, "%s 0\n", x) > 0);
    write_file("active", line);
    assert_int_equal(task_update_active(tmpdir, NULL), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/index", tmpdir);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/index.1", tmpdir);
    assert_int_equal(access(p, F_OK), 0);
    TaskListFilter f = TASK_LIST_FILTER_INIT;
    f.limit = 1;
    json_auto_t *l = NULL;
    unsigned total;
    assert_int_equal(task_list(tmpdir, &f, &l, &total), 0);
    assert_string_equal(jstr(json_array_get(l, 0), "upid"), x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_and_warn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_and_rotate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
