/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for corosync-sync: the pure decision (version comparisons, identical bytes,
 * missing or unparsable host file), and the file side over a RAM memdb and a temporary
 * directory: atomic 0644 writes, no temporary leftovers, import into a new tree, and the
 * delayed, non-blocking reload command (only after replacing an existing host file).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "corosync-sync.h"
#include "memdb.h"
#include "pve/log.h"

#define CONF(v) "totem {\n  cluster_name: t\n  config_version: " v "\n}\n"

static CorosyncSyncAction decide(const char *db, const char *host, uint64_t *dv, uint64_t *hv) {
    return corosync_sync_decide(db, strlen(db), host, host ? strlen(host) : 0, dv, hv);
}

static void test_decide(void **state) {
    uint64_t dv, hv;
    (void) state;

    /* DB copy without a usable version: never written */
    assert_int_equal(decide("totem {\n}\n", CONF("3"), &dv, &hv), COROSYNC_SYNC_UNPARSABLE);
    assert_int_equal(dv, 0);
    assert_int_equal(hv, 3);
    assert_int_equal(decide(CONF("0"), NULL, &dv, &hv), COROSYNC_SYNC_UNPARSABLE);
    assert_int_equal(decide("", NULL, NULL, NULL), COROSYNC_SYNC_UNPARSABLE);
    assert_int_equal(
        decide("config_version: 99999999999999999999999\n", NULL, NULL, NULL),
        COROSYNC_SYNC_UNPARSABLE
    );

    /* same bytes: nothing to do */
    assert_int_equal(decide(CONF("5"), CONF("5"), &dv, &hv), COROSYNC_SYNC_IDENTICAL);
    assert_int_equal(dv, 5);
    assert_int_equal(hv, 5);

    /* host newer: keep it */
    assert_int_equal(decide(CONF("3"), CONF("4"), &dv, &hv), COROSYNC_SYNC_HOST_NEWER);
    assert_int_equal(dv, 3);
    assert_int_equal(hv, 4);
    assert_int_equal(decide(CONF("9"), CONF("10"), NULL, NULL), COROSYNC_SYNC_HOST_NEWER);

    /* DB newer, or same version with other content, or no/unparsable host file: write */
    assert_int_equal(decide(CONF("4"), CONF("3"), &dv, &hv), COROSYNC_SYNC_WRITE);
    assert_int_equal(decide(CONF("10"), CONF("9"), NULL, NULL), COROSYNC_SYNC_WRITE);
    assert_int_equal(decide(CONF("3") "# changed\n", CONF("3"), &dv, &hv), COROSYNC_SYNC_WRITE);
    assert_int_equal(decide(CONF("1"), NULL, &dv, &hv), COROSYNC_SYNC_WRITE);
    assert_int_equal(hv, 0);
    assert_int_equal(decide(CONF("1"), "garbage {", &dv, &hv), COROSYNC_SYNC_WRITE);
    assert_int_equal(decide(CONF("1"), "", NULL, NULL), COROSYNC_SYNC_WRITE);
    assert_int_equal(decide(CONF("1"), CONF("0"), NULL, NULL), COROSYNC_SYNC_WRITE);

    /* the version is the first match anywhere, as upstream's regex (comments included) */
    assert_int_equal(
        decide("# config_version: 7\n" CONF("2"), CONF("5"), &dv, NULL), COROSYNC_SYNC_WRITE
    );
    assert_int_equal(dv, 7);

    assert_string_equal(corosync_sync_action_to_string(COROSYNC_SYNC_WRITE), "write");
    assert_null(corosync_sync_action_to_string(_COROSYNC_SYNC_ACTION_MAX));
}

/* ---- with files ------------------------------------------------------------------------- */

typedef struct Fixture {
    char dir[64];
    char host[128];
    char marker[128];
    char cmd[256];
    Memdb *m;
    CorosyncSync *s;
} Fixture;

static int setup(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test-corosync-sync.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->host, sizeof f->host, "%s/corosync.conf", f->dir);
    snprintf(f->marker, sizeof f->marker, "%s/reloaded", f->dir);
    snprintf(f->cmd, sizeof f->cmd, "touch %s", f->marker);
    MemdbLimits limits = memdb_default_limits();
    assert_int_equal(memdb_open(NULL, &limits, &f->m), 0);
    assert_int_equal(corosync_sync_new(f->m, f->host, f->cmd, &f->s), 0);
    corosync_sync_set_reload_delay(f->s, 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    f->s = corosync_sync_free(f->s);
    f->m = memdb_close(f->m);
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (de->d_name[0] != '.') {
                char p[512];
                snprintf(p, sizeof p, "%s/%s", f->dir, de->d_name);
                (void) unlink(p);
            }
        closedir(d);
    }
    (void) rmdir(f->dir);
    free(f);
    return 0;
}

static void put_db(Fixture *f, const char *text) {
    MemdbStat st;
    if (memdb_stat(f->m, "corosync.conf", &st) < 0)
        assert_int_equal(memdb_create(f->m, "corosync.conf", 0, 1), 0);
    assert_int_equal(
        memdb_write(f->m, "corosync.conf", 0, text, strlen(text), true, 0, 1), (int) strlen(text)
    );
}

static void put_host(Fixture *f, const char *text) {
    FILE *fp = fopen(f->host, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static char *get_host(Fixture *f) {
    FILE *fp = fopen(f->host, "r");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 4096);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 4095, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void assert_host(Fixture *f, const char *text) {
    char *got = get_host(f);
    assert_non_null(got);
    assert_string_equal(got, text);
    free(got);
}

/* Entries in the directory besides the host file and the marker (temporary leftovers). */
static int stray_files(Fixture *f) {
    int n = 0;
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && strcmp(de->d_name, "corosync.conf") != 0 &&
            strcmp(de->d_name, "reloaded") != 0)
            n++;
    closedir(d);
    return n;
}

static bool wait_marker(Fixture *f, unsigned ms) {
    for (unsigned t = 0; t <= ms; t += 10) {
        if (access(f->marker, F_OK) == 0)
            return true;
        usleep(10000);
    }
    return false;
}

static void test_sync_no_db_copy(void **state) {
    Fixture *f = *state;
    put_host(f, CONF("1"));
    assert_int_equal(corosync_sync_to_host(f->s, true), -ENOENT);
    assert_host(f, CONF("1"));
}

static void test_sync_writes_and_reloads(void **state) {
    Fixture *f = *state;
    struct stat st;
    mode_t old = umask(027); /* pmxcfs's umask: the file must still be 0644 */

    /* no host file yet: written, but nothing to reload */
    put_db(f, CONF("1"));
    assert_int_equal(corosync_sync_to_host(f->s, true), COROSYNC_SYNC_WRITE);
    assert_host(f, CONF("1"));
    assert_int_equal(stat(f->host, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_false(wait_marker(f, 200));

    /* same bytes again: nothing */
    assert_int_equal(corosync_sync_to_host(f->s, true), COROSYNC_SYNC_IDENTICAL);

    /* newer DB copy, not requested: written, no reload */
    put_db(f, CONF("2"));
    assert_int_equal(corosync_sync_to_host(f->s, false), COROSYNC_SYNC_WRITE);
    assert_host(f, CONF("2"));
    assert_false(wait_marker(f, 200));

    /* newer DB copy over an existing file, requested: reload runs */
    put_db(f, CONF("3"));
    assert_int_equal(corosync_sync_to_host(f->s, true), COROSYNC_SYNC_WRITE);
    assert_host(f, CONF("3"));
    assert_true(wait_marker(f, 5000));
    assert_int_equal(stray_files(f), 0);
    umask(old);
}

static void test_sync_keeps_newer_host(void **state) {
    Fixture *f = *state;
    put_host(f, CONF("8"));
    put_db(f, CONF("7"));
    assert_int_equal(corosync_sync_to_host(f->s, true), COROSYNC_SYNC_HOST_NEWER);
    assert_host(f, CONF("8"));

    put_db(f, "totem {\n}\n");
    assert_int_equal(corosync_sync_to_host(f->s, true), COROSYNC_SYNC_UNPARSABLE);
    assert_host(f, CONF("8"));
    assert_false(wait_marker(f, 100));
    assert_int_equal(stray_files(f), 0);
}

static void test_sync_unwritable_host(void **state) {
    Fixture *f = *state;
    CorosyncSync *s = NULL;
    char path[256];
    snprintf(path, sizeof path, "%s/missing-dir/corosync.conf", f->dir);
    assert_int_equal(corosync_sync_new(f->m, path, NULL, &s), 0);
    put_db(f, CONF("1"));
    assert_int_equal(corosync_sync_to_host(s, true), -ENOENT);
    corosync_sync_free(s);
}

static void test_reload_does_not_block(void **state) {
    Fixture *f = *state;
    struct timespec a, b;
    corosync_sync_set_reload_delay(f->s, 400);
    put_host(f, CONF("1"));
    put_db(f, CONF("2"));
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(corosync_sync_to_host(f->s, true), COROSYNC_SYNC_WRITE);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(ms < 300);
    /* not before the delay, but after it */
    assert_int_not_equal(access(f->marker, F_OK), 0);
    assert_true(wait_marker(f, 5000));
}

static void test_reload_command_missing(void **state) {
    Fixture *f = *state;
    CorosyncSync *s = NULL;
    /* a command that does not exist is logged by the helper thread, nothing else happens */
    assert_int_equal(corosync_sync_new(f->m, f->host, "/nonexistent/corosync-cfgtool -R", &s), 0);
    corosync_sync_set_reload_delay(s, 0);
    put_host(f, CONF("1"));
    put_db(f, CONF("2"));
    assert_int_equal(corosync_sync_to_host(s, true), COROSYNC_SYNC_WRITE);
    s = corosync_sync_free(s); /* joins the helper */
    assert_host(f, CONF("2"));
    CorosyncSync *bad = NULL;
    assert_int_equal(corosync_sync_new(f->m, f->host, "   ", &bad), -EINVAL);
    assert_null(bad);
}

static void test_import(void **state) {
    Fixture *f = *state;
    char *data = NULL;
    size_t len;

    assert_int_equal(corosync_sync_import(f->s), 0); /* no host file */
    MemdbStat st;
    assert_int_equal(memdb_stat(f->m, "corosync.conf", &st), -ENOENT);

    put_host(f, CONF("6"));
    assert_int_equal(corosync_sync_import(f->s), 1);
    assert_int_equal(memdb_read_all(f->m, "corosync.conf", &data, &len), 0);
    assert_string_equal(data, CONF("6"));
    assert_int_equal(memdb_stat(f->m, "corosync.conf", &st), 0);
    assert_int_equal(st.writer, 0);
    free(data);

    /* and the synced-back result is "identical" */
    assert_int_equal(corosync_sync_to_host(f->s, true), COROSYNC_SYNC_IDENTICAL);
}

int main(void) {
    pve_log_set_level(LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test_setup_teardown(test_sync_no_db_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_writes_and_reloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_keeps_newer_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_unwritable_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_does_not_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_command_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
