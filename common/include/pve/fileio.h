/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Small file I/O helpers shared by the daemons: read a whole file with a size cap, write a
 * buffer completely, create directory paths. Retries EINTR; returns negative errno.
 */
#pragma once

#include <sys/types.h>

#include <stddef.h>

/* Read fd to EOF into a malloc'd NUL-terminated buffer; -EFBIG if it holds more than max
 * bytes. size_hint (e.g. st_size) only sizes the first allocation. */
int read_full_fd(int fd, size_t max, size_t size_hint, char **ret, size_t *ret_len);
/* The same for a path (-ENOENT when missing, -EISDIR for a directory). */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* write(2) until everything is written. */
int write_all(int fd, const void *data, size_t len);

/* mkdir -p: create path and its missing parents with mode (existing ones are fine). */
int mkdir_p(const char *path, mode_t mode);
/*
 * rm -r of a directory tree (or a single file) without following symlinks. Refuses with -EBUSY,
 * removing nothing, when a file system is mounted at path or below it (a mounted container
 * rootfs must not be emptied). Works on overlayfs, where files and directories report
 * different st_dev, which rules out nftw's FTW_MOUNT. -ENOENT when path does not exist.
 */
int rm_tree(const char *path);
/* Create the missing parent directories of a file path (not the last component). */
int mkdir_parents(const char *path, mode_t mode);
