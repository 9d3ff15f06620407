/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Whole-file reads with a cap and complete writes (pve/fileio.h). */
#include "pve/fileio.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/macro.h"

int read_full_fd(int fd, size_t max, size_t size_hint, char **ret, size_t *ret_len) {
    size_t cap = size_hint > 0 ? MIN(size_hint + 1, max + 1) : MIN((size_t) 4096, max + 1);
    size_t len = 0;
    _cleanup_free_ char *buf = malloc(cap + 1);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len == cap) {
            if (cap > max)
                return -EFBIG;
            size_t ncap = MIN(cap * 2, max + 1);
            char *n = realloc(buf, ncap + 1);
            if (!n)
                return -ENOMEM;
            buf = n;
            cap = ncap;
        }
        ssize_t k = read(fd, buf + len, cap - len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            break;
        len += (size_t) k;
    }
    if (len > max)
        return -EFBIG;
    buf[len] = '\0';
    *ret = TAKE_PTR(buf);
    if (ret_len)
        *ret_len = len;
    return 0;
}

int read_full_file(const char *path, size_t max, char **ret, size_t *ret_len) {
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    return read_full_fd(fd, max, st.st_size > 0 ? (size_t) st.st_size : 0, ret, ret_len);
}

int write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += k;
        len -= (size_t) k;
    }
    return 0;
}

int mkdir_parents(const char *path, mode_t mode) {
    char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    int r = 0;
    for (char *c = p + 1; *c && r == 0; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            r = -errno;
        *c = '/';
    }
    free(p);
    return r;
}

int mkdir_p(const char *path, mode_t mode) {
    int r = mkdir_parents(path, mode);
    if (r < 0)
        return r;
    return mkdir(path, mode) < 0 && errno != EEXIST ? -errno : 0;
}

static int rm_tree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void) st;
    (void) ftw;
    int r = flag == FTW_DP ? rmdir(path) : unlink(path);
    return r < 0 && errno != ENOENT ? errno : 0;
}

/* true when /proc/self/mountinfo has a mount point at path or below it */
static bool has_mounts_below(const char *path) {
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return false;
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        char mp[4096]; /* fields: id parent major:minor root mount-point ... */
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strncmp(mp, path, n) == 0 &&
            (mp[n] == 0 || mp[n] == '/'))
            return true;
    }
    return false;
}

int rm_tree(const char *path) {
    if (has_mounts_below(path))
        return -EBUSY;
    int r = nftw(path, rm_tree_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (r < 0)
        return -errno;
    return r > 0 ? -r : 0;
}
