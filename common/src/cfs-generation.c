/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cfs-generation: the shared change counter of pmxcfs (see the header). Owns the page layout,
 * pmxcfs's writable mapping, and each client process's read-only mapping. Must not block or
 * log above debug.
 */
#include "pve/cfs-generation.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/macro.h"
#include "pve/paths.h"

#define GEN_FILE    "cfs-generation"
#define GEN_MAGIC   "PVECFSG1"
#define GEN_SIZE    4096
#define RECHECK_SEC 1

typedef struct GenPage {
    char magic[8];
    uint64_t counter; /* __atomic_* only */
} GenPage;

struct CfsGeneration {
    GenPage *page;
};

static int gen_path(const char *rundir, char *buf, size_t n) {
    int len = snprintf(buf, n, "%s/" GEN_FILE, rundir);
    return len < 0 || (size_t) len >= n ? -ENAMETOOLONG : 0;
}

int cfs_generation_open(const char *rundir, CfsGeneration **ret) {
    char path[4096];
    int r = gen_path(rundir, path, sizeof path);
    if (r < 0)
        return r;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -errno;
    struct stat st;
    GenPage *p = MAP_FAILED;
    if (fchmod(fd, 0644) < 0 || fstat(fd, &st) < 0 ||
        (st.st_size < GEN_SIZE && ftruncate(fd, GEN_SIZE) < 0))
        r = -errno;
    else if ((p = mmap(NULL, GEN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
        r = -errno;
    close(fd);
    if (r < 0)
        return r;
    CfsGeneration *g = calloc(1, sizeof *g);
    if (!g) {
        munmap(p, GEN_SIZE);
        return -ENOMEM;
    }
    if (memcmp(p->magic, GEN_MAGIC, sizeof p->magic) != 0) {
        /* A new file (or foreign content) starts at the wall clock in microseconds, so that
         * its values do not repeat those of a file it replaces (counting is far slower than
         * the clock); the magic is written last. */
        struct timespec ts;
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t start = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
        __atomic_store_n(&p->counter, start, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        memcpy(p->magic, GEN_MAGIC, sizeof p->magic);
    }
    g->page = p;
    cfs_generation_bump(g); /* whatever clients cached before this start is stale */
    *ret = g;
    return 0;
}

void cfs_generation_bump(CfsGeneration *g) {
    if (g)
        (void) __atomic_add_fetch(&g->page->counter, 1, __ATOMIC_RELEASE);
}

CfsGeneration *cfs_generation_close(CfsGeneration *g) {
    if (g) {
        munmap(g->page, GEN_SIZE);
        free(g);
    }
    return NULL;
}

/* ---- readers: one mapping per process, re-checked once a second ------------------------ */

static pthread_mutex_t reader_lock = PTHREAD_MUTEX_INITIALIZER;
static const GenPage *reader_page;
static dev_t reader_dev;
static ino_t reader_ino;
static time_t reader_checked;
static bool reader_tried;

static void reader_unmap(void) {
    if (reader_page)
        munmap((void *) reader_page, GEN_SIZE);
    reader_page = NULL;
}

/* Called with reader_lock held: (re)map when the file is new or was replaced. */
static int reader_refresh(void) {
    char path[4096];
    int r = gen_path(pve_path_env("PVE_CFS_RUNDIR", PVE_CFS_RUNDIR), path, sizeof path);
    if (r < 0)
        return r;
    struct stat st;
    if (stat(path, &st) < 0) {
        reader_unmap();
        return -errno;
    }
    if (reader_page && st.st_dev == reader_dev && st.st_ino == reader_ino)
        return 0;
    reader_unmap();
    if (st.st_size < GEN_SIZE)
        return -ENODATA;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    void *p = mmap(NULL, GEN_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -errno;
    reader_page = p;
    reader_dev = st.st_dev;
    reader_ino = st.st_ino;
    return 0;
}

int cfs_generation_read(uint64_t *ret) {
    struct timespec now;
    (void) clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    pthread_mutex_lock(&reader_lock);
    int r = 0;
    if (!reader_tried || now.tv_sec - reader_checked >= RECHECK_SEC) {
        r = reader_refresh();
        reader_checked = now.tv_sec;
        reader_tried = true;
    }
    if (r >= 0 && reader_page) {
        uint64_t v = __atomic_load_n(&reader_page->counter, __ATOMIC_ACQUIRE);
        if (memcmp(reader_page->magic, GEN_MAGIC, sizeof reader_page->magic) != 0)
            r = -ENODATA;
        else
            *ret = v;
    } else if (r >= 0)
        r = -ENODATA;
    pthread_mutex_unlock(&reader_lock);
    return r;
}
