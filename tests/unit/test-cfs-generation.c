/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for cfs-generation: the writer's counter as readers see it, the counter going on
 * across a reopen (a pmxcfs restart), and a reader following a replaced file. */
#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pve/cfs-generation.h"

static char dir[] = "/tmp/test-cfs-generation.XXXXXX";

static void test_counter_seen_by_readers(void **state) {
    (void) state;
    uint64_t v = 0, w = 0;
    assert_int_equal(cfs_generation_read(&v), -ENOENT); /* no pmxcfs ran here */

    CfsGeneration *g = NULL;
    assert_int_equal(cfs_generation_open(dir, &g), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/cfs-generation", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);

    sleep(1); /* the reader re-checks a missing file at most once a second */
    assert_int_equal(cfs_generation_read(&v), 0);
    cfs_generation_bump(g);
    cfs_generation_bump(g);
    assert_int_equal(cfs_generation_read(&w), 0);
    assert_true(w == v + 2);
    cfs_generation_bump(NULL); /* no-op */

    /* a restart reuses the file and counts on: nothing a reader cached stays valid */
    g = cfs_generation_close(g);
    assert_int_equal(cfs_generation_open(dir, &g), 0);
    assert_int_equal(cfs_generation_read(&v), 0);
    assert_true(v > w);
    g = cfs_generation_close(g);

    /* a replaced file (another inode) is followed within a second, and its values do not
     * repeat the old file's (they start at the clock) */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(cfs_generation_open(dir, &g), 0);
    sleep(1);
    assert_int_equal(cfs_generation_read(&w), 0);
    assert_true(w > v);
    cfs_generation_bump(g);
    assert_int_equal(cfs_generation_read(&v), 0);
    assert_true(v == w + 1);
    g = cfs_generation_close(g);
}

static void test_foreign_file_is_ignored(void **state) {
    (void) state;
    char path[256];
    snprintf(path, sizeof path, "%s/cfs-generation", dir);
    assert_int_equal(unlink(path), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not ours", f);
    fclose(f);
    sleep(1);
    uint64_t v;
    assert_true(cfs_generation_read(&v) < 0); /* too small / no magic */
}

static int setup(void **state) {
    (void) state;
    if (!mkdtemp(dir))
        return -1;
    return setenv("PVE_CFS_RUNDIR", dir, 1);
}

static int teardown(void **state) {
    (void) state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_seen_by_readers),
        cmocka_unit_test(test_foreign_file_is_ignored),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
