/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for buffered-log: lines are held back until the delay timer, a full batch or
 * the free; only whole lines are written; long printf lines survive. */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pve/buffered-log.h"
#include "pve/fileio.h"

static int open_tmp(char *path) {
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int afd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    close(fd);
    assert_true(afd >= 0);
    return afd;
}

static off_t size_of(const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* A log on a fresh temporary file, and the loop its timer runs in. */
typedef struct Fixture {
    char path[64];
    int fd;
    sd_event *e;
    BufferedLog *l;
} Fixture;

static int fixture_setup(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->path, sizeof f->path, "/tmp/test-buffered-log.XXXXXX");
    f->fd = open_tmp(f->path);
    if (sd_event_new(&f->e) < 0 || buffered_log_new(f->e, f->fd, &f->l) < 0)
        return -1;
    *state = f;
    return 0;
}

static int fixture_teardown(void **state) {
    Fixture *f = *state;
    buffered_log_free(f->l);
    sd_event_unref(f->e);
    close(f->fd);
    unlink(f->path);
    free(f);
    return 0;
}

static void test_held_until_timer(void **state) {
    Fixture *f = *state;
    const char *path = f->path;
    buffered_log_append(f->l, "one\n", 4);
    buffered_log_printf(f->l, "%s %d\n", "two", 2);
    assert_int_equal(size_of(path), 0);
    /* the timer writes the batch: run the loop until it did (bounded, not timed) */
    for (int i = 0; i < 100 && size_of(path) == 0; i++)
        assert_true(sd_event_run(f->e, 100 * 1000) >= 0);
    char *text = NULL;
    assert_int_equal(read_full_file(path, 1 << 20, &text, NULL), 0);
    assert_string_equal(text, "one\ntwo 2\n");
    free(text);
    /* the next line starts a new batch, written by the free */
    buffered_log_append(f->l, "three\n", 6);
    f->l = buffered_log_free(f->l);
    assert_int_equal(read_full_file(path, 1 << 20, &text, NULL), 0);
    assert_string_equal(text, "one\ntwo 2\nthree\n");
    free(text);
}

static void test_full_batch_written_whole_lines(void **state) {
    Fixture *f = *state;
    const char *path = f->path;
    BufferedLog *l = f->l;
    char line[101];
    memset(line, 'x', 99);
    line[99] = '\n';
    line[100] = 0;
    size_t n = 0;
    while (size_of(path) == 0) { /* no loop run: only a full batch can write */
        buffered_log_append(l, line, 100);
        n++;
        assert_true(n <= BUFFERED_LOG_MAX / 100 + 1);
    }
    assert_int_equal(size_of(path) % 100, 0);
    assert_true(size_of(path) <= BUFFERED_LOG_MAX);
    /* a line longer than printf's stack buffer */
    char big[3000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = 0;
    buffered_log_printf(l, "%s\n", big);
    f->l = buffered_log_free(l);
    assert_int_equal(size_of(path), (off_t) (n * 100 + sizeof big));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_held_until_timer, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_full_batch_written_whole_lines, fixture_setup, fixture_teardown
        ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
