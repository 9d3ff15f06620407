/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pmxcfs through its mount (specs/pmxcfs.md §2, §4, §5, §7): the real binary in local mode on
 * a tmpdir, driven with plain syscalls and errno checks. Modes and ownership, the chmod/chown/
 * link/symlink/mknod rules, renames (including the upstream defect scenario), VMID uniqueness,
 * file size limit, truncate/offset/EOF semantics, statfs, readdir with shadowing plugs, locks,
 * kernel cache coherence of local changes, and persistence across a restart with the pid file,
 * restart flag and instance lock.
 *
 * Usage: test-pmxcfs-fs <path to pmxcfs>. Prints TAP; exit 0 pass, 1 fail, 77 skip.
 */
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfs-harness.h"
#include "memdb.h"

#define MiB (1024 * 1024)

static Harness H;
static gid_t www_gid;

/* Paths under the mount; a small ring so several can be used in one call. */
__attribute__((format(printf, 1, 2))) static const char *P(const char *fmt, ...) {
    static char ring[8][1024];
    static unsigned next;
    char rel[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    char *buf = ring[next++ % ELEMENTSOF(ring)];
    snprintf(buf, sizeof ring[0], "%s%s%s", H.mnt, *rel ? "/" : "", rel);
    return buf;
}

/* Create or replace content with open(flags)+write; returns 0, or -1 with errno set. */
static int write_file(const char *path, int flags, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0640);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, (const char *) data + done, len - done);
        if (n < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        done += (size_t) n;
    }
    return close(fd);
}

static int read_file(const char *path, char **ret, size_t *ret_len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        len += (size_t) n;
    }
    close(fd);
    *ret = buf;
    *ret_len = len;
    return 0;
}

static bool content_is(const char *path, const void *data, size_t len) {
    char *buf = NULL;
    size_t got = 0;
    int r = read_file(path, &buf, &got);
    bool ok = r == 0 && got == len && memcmp(buf, data, len) == 0;
    if (!ok)
        tap_diag(
            "  %s: read %s, %zu bytes (want %zu)", path, r < 0 ? strerror(-r) : "ok", got, len
        );
    free(buf);
    return ok;
}

static bool exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static bool mode_is(const char *path, mode_t type, mode_t perm) {
    struct stat st;
    if (lstat(path, &st) < 0) {
        tap_diag("  lstat %s: %m", path);
        return false;
    }
    bool ok = (st.st_mode & S_IFMT) == type && (st.st_mode & 07777) == perm && st.st_uid == 0 &&
              st.st_gid == www_gid;
    if (!ok)
        tap_diag(
            "  %s: type %o mode %o uid %u gid %u, want %o %o 0 %u", path, st.st_mode & S_IFMT,
            st.st_mode & 07777, st.st_uid, st.st_gid, type, perm, www_gid
        );
    return ok;
}

static int mkdir_p(const char *rel) {
    return mkdir(P("%s", rel), 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* ---- sqlite helpers --------------------------------------------------------------------- */

static long long db_int(const char *sql) {
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open_v2(H.db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(s);
    return v;
}

/* Run the sqlite3 CLI; returns its first output line as a number, -1 on failure, -2 if the
 * CLI is not installed. */
static long long sqlite_cli_int(const char *sql) {
    if (access("/usr/bin/sqlite3", X_OK) < 0)
        return -2;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        execl("/usr/bin/sqlite3", "sqlite3", "-readonly", H.db, sql, (char *) NULL);
        _exit(127);
    }
    close(p[1]);
    char out[128] = "";
    ssize_t n = read(p[0], out, sizeof out - 1);
    close(p[0]);
    int status = harness_wait(pid, 10);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || n <= 0)
        return -1;
    out[n] = '\0';
    return strtoll(out, NULL, 10);
}

/* ---- tree snapshot ---------------------------------------------------------------------- */

static bool is_dot_plug(const char *name) {
    static const char *const plugs[] = {".version", ".members",    ".vmlist",
                                        ".rrd",     ".clusterlog", ".debug"};
    for (size_t i = 0; i < ELEMENTSOF(plugs); i++)
        if (streq(name, plugs[i]))
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Everything visible below rel: names, types, modes, owners, sizes, mtimes, inodes, data. */
static void snapshot_dir(FILE *out, const char *rel, size_t *ret_entries, uint64_t *ret_bytes) {
    DIR *d = opendir(P("%s", rel));
    if (!d) {
        fprintf(out, "%s: opendir failed: %s\n", rel, strerror(errno));
        return;
    }
    char *names[4096];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < ELEMENTSOF(names))
        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char child[600];
        struct stat st;
        snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        if (lstat(P("%s", child), &st) < 0) {
            fprintf(out, "%s: lstat failed: %s\n", child, strerror(errno));
            free(names[i]);
            continue;
        }
        bool plug = !*rel && (S_ISLNK(st.st_mode) || is_dot_plug(names[i]));
        fprintf(
            out, "%s mode=%o uid=%u gid=%u size=%lld mtime=%lld ino=%llu", child, st.st_mode,
            st.st_uid, st.st_gid, plug && !S_ISLNK(st.st_mode) ? -1LL : (long long) st.st_size,
            (long long) st.st_mtime, (unsigned long long) st.st_ino
        );
        if (S_ISLNK(st.st_mode)) {
            char target[512];
            ssize_t l = readlink(P("%s", child), target, sizeof target - 1);
            target[l < 0 ? 0 : l] = '\0';
            fprintf(out, " -> %s", target);
        } else if (S_ISREG(st.st_mode) && !plug) {
            char *data = NULL;
            size_t len = 0;
            int r = read_file(P("%s", child), &data, &len);
            fprintf(out, " data(%zu)=", len);
            if (r < 0)
                fprintf(out, "<%s>", strerror(-r));
            for (size_t j = 0; r == 0 && j < len; j++)
                fprintf(out, "%02x", (unsigned char) data[j]);
            free(data);
        }
        fputc('\n', out);
        if (!plug) {
            if (ret_entries)
                (*ret_entries)++;
            if (ret_bytes && S_ISREG(st.st_mode))
                *ret_bytes += (uint64_t) st.st_size;
        }
        if (S_ISDIR(st.st_mode))
            snapshot_dir(out, child, ret_entries, ret_bytes);
        free(names[i]);
    }
}

static char *snapshot(size_t *ret_entries, uint64_t *ret_bytes) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (ret_entries)
        *ret_entries = 0;
    if (ret_bytes)
        *ret_bytes = 0;
    snapshot_dir(out, "", ret_entries, ret_bytes);
    fclose(out);
    return buf;
}

/* Print the first differing line of two snapshots. */
static void diff_snapshots(const char *a, const char *b) {
    while (*a || *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || memcmp(a, b, la) != 0) {
            tap_diag("  before: %.*s", (int) MIN(la, 300), a);
            tap_diag("  after:  %.*s", (int) MIN(lb, 300), b);
            return;
        }
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
}

/* ---- tests ------------------------------------------------------------------------------ */

static bool pidfile_is(pid_t pid) {
    char buf[32] = "";
    int fd = open(H.pidfile, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 && atoi(buf) == (int) pid;
}

static bool wait_gone(const char *path, double timeout) {
    double deadline = now_seconds() + timeout;
    while (access(path, F_OK) == 0) {
        if (now_seconds() > deadline)
            return false;
        sleep_ms(5);
    }
    return true;
}

static void test_startup(void) {
    struct stat st;
    tap(pidfile_is(H.pid), "pid file holds the pid while running");
    tap(wait_gone(H.flag, 5), "restart flag is removed after a successful start");
    tap(stat(H.db, &st) == 0 && (st.st_mode & 07777) == 0600, "config.db exists with mode 0600");
}

static void test_modes(void) {
    static const char *const dirs[] = {
        "nodes",
        "nodes/testnode",
        "nodes/testnode/qemu-server",
        "nodes/testnode/lxc",
        "nodes/testnode/priv",
        "priv",
        "priv/lock",
        "ha"};
    bool ok = true;
    time_t t0 = time(NULL);
    for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
        ok &= tap_errno(mkdir(P("%s", dirs[i]), 0777), 0, "mkdir %s", dirs[i]);
    ok &= tap_errno(
        write_file(P("storage.cfg"), O_CREAT | O_EXCL, "dir: local\n", 11), 0, "create storage.cfg"
    );
    ok &= tap_errno(
        write_file(P("priv/authkey.key"), O_CREAT | O_EXCL, "KEY", 3), 0, "create priv/authkey.key"
    );
    ok &= tap_errno(
        write_file(P("nodes/testnode/priv/known"), O_CREAT | O_EXCL, "k", 1), 0,
        "create node priv file"
    );
    ok &= tap_errno(
        write_file(P("nodes/testnode/qemu-server/100.conf"), O_CREAT | O_EXCL, "cores: 1\n", 9), 0,
        "create qemu-server/100.conf"
    );
    ok &= tap_errno(
        write_file(P("ha/resources.cfg"), O_CREAT | O_EXCL, "", 0), 0, "create empty file"
    );
    if (!ok)
        return;

    struct stat st;
    tap(mode_is(H.mnt, S_IFDIR, 0755), "mount point is root:www-data 0755");
    tap(stat(H.mnt, &st) == 0 && st.st_mtime == 0, "root reports mtime 0");
    tap(mode_is(P("nodes"), S_IFDIR, 0755) && mode_is(P("nodes/testnode"), S_IFDIR, 0755) &&
            mode_is(P("nodes/testnode/qemu-server"), S_IFDIR, 0755) &&
            mode_is(P("ha"), S_IFDIR, 0755),
        "directories are 0755");
    tap(mode_is(P("storage.cfg"), S_IFREG, 0640) &&
            mode_is(P("nodes/testnode/qemu-server/100.conf"), S_IFREG, 0640) &&
            mode_is(P("ha/resources.cfg"), S_IFREG, 0640),
        "files are 0640");
    tap(mode_is(P("priv"), S_IFDIR, 0700) && mode_is(P("priv/lock"), S_IFDIR, 0700),
        "priv dirs are 0700");
    tap(mode_is(P("priv/authkey.key"), S_IFREG, 0600), "priv files are 0600");
    tap(mode_is(P("nodes/testnode/priv"), S_IFDIR, 0700), "nodes/<node>/priv is 0700");
    tap(mode_is(P("nodes/testnode/priv/known"), S_IFREG, 0600),
        "files in nodes/<node>/priv are 0600");
    tap(stat(P("storage.cfg"), &st) == 0 && st.st_size == 11 && st.st_mtime >= t0 - 2 &&
            st.st_mtime <= time(NULL) + 2,
        "file size and mtime");

    static const struct {
        const char *name, *target;
    } links[] = {
        {"local", "nodes/testnode"},
        {"qemu-server", "nodes/testnode/qemu-server"},
        {"lxc", "nodes/testnode/lxc"},
        {"openvz", "nodes/testnode/openvz"},
    };
    for (size_t i = 0; i < ELEMENTSOF(links); i++) {
        char target[256] = "";
        ssize_t n = readlink(P("%s", links[i].name), target, sizeof target - 1);
        if (n >= 0)
            target[n] = '\0';
        tap(n >= 0 && streq(target, links[i].target), "%s -> %s (got '%s')", links[i].name,
            links[i].target, target);
        tap(mode_is(P("%s", links[i].name), S_IFLNK, 0755) &&
                lstat(P("%s", links[i].name), &st) == 0 &&
                st.st_size == (off_t) strlen(links[i].target) && st.st_mtime == 0,
            "%s: symlink 0755 root:www-data, st_size = target length, mtime 0", links[i].name);
    }
    struct stat a, b;
    tap(stat(P("local"), &a) == 0 && stat(P("nodes/testnode"), &b) == 0 && a.st_ino == b.st_ino &&
            S_ISDIR(a.st_mode),
        "local resolves to nodes/testnode");
    tap_errno(stat(P("openvz"), &st), ENOENT, "openvz link dangles");
    tap_errno(
        write_file(P("qemu-server/101.conf"), O_CREAT | O_EXCL, "x", 1), 0,
        "create through the qemu-server link"
    );
    tap(content_is(P("nodes/testnode/qemu-server/101.conf"), "x", 1),
        "... lands in nodes/testnode/qemu-server");
}

static void test_chmod_chown(void) {
    static const mode_t bad_file[] = {0644, 0600, 0777, 0440, 0400, 04640, 0660, 0};
    for (size_t i = 0; i < ELEMENTSOF(bad_file); i++)
        tap_errno(
            chmod(P("storage.cfg"), bad_file[i]), EPERM, "chmod %o on a file: EPERM", bad_file[i]
        );
    tap_errno(chmod(P("storage.cfg"), 0640), 0, "chmod 0640 on a file is a no-op");
    tap_errno(chmod(P("priv/authkey.key"), 0600), 0, "chmod 0600 on a priv file is a no-op");
    tap_errno(chmod(P("priv/authkey.key"), 0640), EPERM, "chmod 0640 on a priv file: EPERM");
    tap_errno(chmod(P("nodes/testnode/priv/known"), 0600), 0, "chmod 0600 in nodes/<n>/priv");
    tap_errno(
        chmod(P("nodes/testnode/priv/known"), 0640), EPERM, "chmod 0640 in nodes/<n>/priv: EPERM"
    );
    tap_errno(chmod(P("nodes"), 0755), EPERM, "chmod 0755 on a dir: EPERM");
    tap_errno(chmod(P("nodes"), 0640), 0, "chmod 0640 on a dir: accepted no-op");
    tap_errno(chmod(P("priv"), 0700), EPERM, "chmod 0700 on priv: EPERM");
    tap_errno(chmod(P("priv"), 0600), 0, "chmod 0600 on priv: accepted no-op");
    int fd = open(P("storage.cfg"), O_RDONLY | O_CLOEXEC);
    tap_errno(fchmod(fd, 0640), 0, "fchmod 0640");
    tap_errno(fchmod(fd, 0666), EPERM, "fchmod 0666: EPERM");
    close(fd);
    tap(mode_is(P("storage.cfg"), S_IFREG, 0640) && mode_is(P("nodes"), S_IFDIR, 0755) &&
            mode_is(P("priv"), S_IFDIR, 0700) && mode_is(P("priv/authkey.key"), S_IFREG, 0600),
        "modes unchanged by chmod");

    tap_errno(chown(P("storage.cfg"), 0, www_gid), 0, "chown root:www-data");
    tap_errno(chown(P("storage.cfg"), 0, (gid_t) -1), 0, "chown root:-1");
    tap_errno(chown(P("storage.cfg"), (uid_t) -1, www_gid), 0, "chown -1:www-data");
    tap_errno(chown(P("storage.cfg"), (uid_t) -1, (gid_t) -1), 0, "chown -1:-1");
    tap_errno(chown(P("storage.cfg"), 1000, (gid_t) -1), EPERM, "chown uid 1000: EPERM");
    tap_errno(chown(P("storage.cfg"), (uid_t) -1, 0), EPERM, "chown gid root: EPERM");
    tap_errno(chown(P("nodes"), 33, www_gid), EPERM, "chown uid 33 on a dir: EPERM");
    tap(mode_is(P("storage.cfg"), S_IFREG, 0640), "owner unchanged");
}

static void test_unsupported(void) {
    tap_errno(symlink("storage.cfg", P("sym")), ENOSYS, "symlink: ENOSYS");
    tap(mknod(P("fifo"), S_IFIFO | 0640, 0) < 0, "mknod fifo fails (%s)", strerror(errno));
    tap(mknod(P("node"), S_IFREG | 0640, 0) < 0, "mknod regular file fails (%s)", strerror(errno));
    tap_errno(link(P("storage.cfg"), P("hard")), EPERM, "hard link: EPERM");
    int r = lsetxattr(P("storage.cfg"), "user.test", "x", 1, 0);
    tap(r < 0 && (errno == ENOTSUP || errno == ENOSYS), "setxattr is not supported (%s)",
        r < 0 ? strerror(errno) : "succeeded");
    tap(!exists(P("sym")) && !exists(P("fifo")) && !exists(P("node")) && !exists(P("hard")),
        "no entries were left behind");
}

static void test_files(void) {
    char buf[64];
    struct stat st;
    const char *f = P("ha/file");
    int fd = open(f, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0640);
    tap_errno(fd, 0, "O_EXCL create");
    tap_errno(
        open(f, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0640), EEXIST,
        "O_EXCL create of an existing file: EEXIST"
    );
    tap_errno(
        open(P("storage.cfg"), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640), EEXIST,
        "O_EXCL on storage.cfg: EEXIST"
    );
    tap_errno(
        open(P("nodes"), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640), EEXIST,
        "O_EXCL on a dir: EEXIST"
    );

    tap(write(fd, "hello world", 11) == 11, "write 11 bytes");
    tap(pwrite(fd, "XY", 2, 2) == 2, "write at offset 2");
    tap(content_is(f, "heXYo world", 11), "offset write replaced bytes in place");
    tap(pwrite(fd, "Z", 1, 20) == 1, "write at offset 20 (past EOF)");
    tap(content_is(f, "heXYo world\0\0\0\0\0\0\0\0\0Z", 21), "the hole reads as zeros");
    tap(pread(fd, buf, sizeof buf, 100) == 0, "read at offset 100 (beyond EOF) returns 0 bytes");
    tap(pread(fd, buf, sizeof buf, 21) == 0, "read at EOF returns 0 bytes");
    tap(pread(fd, buf, sizeof buf, 20) == 1 && buf[0] == 'Z', "read of the last byte");
    tap(pread(fd, buf, 3, 1) == 3 && memcmp(buf, "eXY", 3) == 0, "partial read at an offset");

    tap_errno(ftruncate(fd, 5), 0, "ftruncate to 5");
    tap(fstat(fd, &st) == 0 && st.st_size == 5 && content_is(f, "heXYo", 5),
        "ftruncate cut the file");
    tap_errno(ftruncate(fd, 8), 0, "ftruncate to 8");
    tap(content_is(f, "heXYo\0\0\0", 8), "ftruncate zero-extended the file");
    close(fd);

    tap_errno(write_file(f, O_TRUNC, "new", 3), 0, "open O_TRUNC + write");
    tap(content_is(f, "new", 3), "O_TRUNC replaced the content");
    tap_errno(truncate(f, 2), 0, "truncate(2) to 2");
    tap(content_is(f, "ne", 2), "truncate(2) cut the file");
    tap_errno(write_file(f, O_APPEND, "!!", 2), 0, "O_APPEND write");
    tap(content_is(f, "ne!!", 4), "O_APPEND appended");
    tap_errno(
        write_file(f, O_CREAT, "N", 1), 0, "O_CREAT of an existing file (no O_EXCL, no O_TRUNC)"
    );
    tap(content_is(f, "Ne!!", 4), "... overwrote in place and kept the rest");
    tap_errno(write_file(f, O_TRUNC, "", 0), 0, "O_TRUNC to empty");
    tap(stat(f, &st) == 0 && st.st_size == 0 && content_is(f, "", 0), "empty file");

    /* Interleaved writers on two descriptors see each other's data. */
    int a = open(f, O_RDWR | O_CLOEXEC), b = open(f, O_RDWR | O_CLOEXEC);
    bool ok = a >= 0 && b >= 0 && pwrite(a, "aaaa", 4, 0) == 4 && pwrite(b, "bb", 2, 1) == 2 &&
              pread(a, buf, sizeof buf, 0) == 4 && memcmp(buf, "abba", 4) == 0;
    tap(ok, "two descriptors on one file stay coherent");
    close(a);
    close(b);

    struct timeval tv[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
    tap_errno(utimes(f, tv), 0, "utimes(1000)");
    tap(stat(f, &st) == 0 && st.st_mtime == 1000, "mtime is 1000");
    tap_errno(utimes(f, NULL), 0, "utimes(now)");
    tap(stat(f, &st) == 0 && st.st_mtime >= time(NULL) - 2, "mtime is now");
    tap_errno(unlink(f), 0, "unlink");
}

static void test_efbig(void) {
    char *big = malloc(MiB + 1);
    for (size_t i = 0; i <= MiB; i++)
        big[i] = (char) ('a' + i % 23);
    struct statvfs before, after;
    statvfs(H.mnt, &before);

    const char *f = P("big.cfg");
    int fd = open(f, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0640);
    tap(fd >= 0 && write(fd, big, MiB) == MiB, "write(2) of exactly 1 MiB succeeds");
    struct stat st;
    tap(fstat(fd, &st) == 0 && st.st_size == MiB, "size is 1 MiB");
    tap_errno(pwrite(fd, "x", 1, MiB), EFBIG, "one byte more at offset 1 MiB: EFBIG");
    tap_errno(pwrite(fd, "xy", 2, MiB - 1), EFBIG, "a write crossing 1 MiB: EFBIG");
    tap_errno(ftruncate(fd, MiB + 1), EFBIG, "ftruncate to 1 MiB + 1: EFBIG");
    tap_errno(ftruncate(fd, MiB), 0, "ftruncate to exactly 1 MiB");
    close(fd);
    tap_errno(write_file(f, O_APPEND, "x", 1), EFBIG, "O_APPEND to a 1 MiB file: EFBIG");
    tap(content_is(f, big, MiB), "the 1 MiB file is intact");
    statvfs(H.mnt, &after);
    tap(before.f_bfree - after.f_bfree == MiB / 4096,
        "statfs: 1 MiB used = 256 blocks fewer free (%llu)",
        (unsigned long long) (before.f_bfree - after.f_bfree));

    const char *g = P("big2.cfg");
    fd = open(g, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640);
    errno = 0;
    ssize_t n = write(fd, big, MiB + 1);
    int e = errno;
    tap((n < 0 && e == EFBIG) || (n >= 0 && n <= MiB),
        "a single write(2) of 1 MiB + 1 stops at 1 MiB (%zd, %s)", n,
        n < 0 ? strerror(e) : "short");
    tap(fstat(fd, &st) == 0 && st.st_size <= MiB, "the file did not grow past 1 MiB");
    tap_errno(write(fd, "x", 1), EFBIG, "the next write: EFBIG");
    close(fd);
    tap_errno(unlink(g), 0, "unlink the second file");
    free(big);
}

static void test_unlink_rmdir(void) {
    tap_errno(mkdir_p("rm") | mkdir_p("rm/full"), 0, "mkdir rm, rm/full");
    tap_errno(write_file(P("rm/full/f"), O_CREAT, "x", 1), 0, "create rm/full/f");
    tap_errno(unlink(P("rm/missing")), ENOENT, "unlink missing: ENOENT");
    tap_errno(rmdir(P("rm/missing")), ENOENT, "rmdir missing: ENOENT");
    tap_errno(unlink(P("rm/nodir/x")), ENOENT, "unlink below a missing dir: ENOENT");
    tap_errno(rmdir(P("rm/full")), ENOTEMPTY, "rmdir non-empty: ENOTEMPTY");
    tap_errno(unlink(P("rm/full")), EISDIR, "unlink a dir: EISDIR");
    tap_errno(rmdir(P("rm/full/f")), ENOTDIR, "rmdir a file: ENOTDIR");
    tap_errno(mkdir(P("rm/full"), 0755), EEXIST, "mkdir existing: EEXIST");
    tap_errno(mkdir(P("rm/full/f"), 0755), EEXIST, "mkdir over a file: EEXIST");
    tap_errno(mkdir(P("rm/nodir/x"), 0755), ENOENT, "mkdir below a missing dir: ENOENT");
    tap_errno(mkdir(P("rm/full/f/x"), 0755), ENOTDIR, "mkdir below a file: ENOTDIR");
    tap_errno(
        open(P("rm/nodir/x"), O_CREAT | O_WRONLY | O_CLOEXEC, 0640), ENOENT,
        "create below a missing dir: ENOENT"
    );
    tap_errno(mkdir(P("local"), 0755), EEXIST, "mkdir over the local link: EEXIST");
    tap_errno(
        open(P("local"), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640), EEXIST,
        "O_EXCL create over a plug: EEXIST"
    );
    tap_errno(unlink(P("local")), EACCES, "unlink the local link: EACCES");
    tap_errno(unlink(P("qemu-server")), EACCES, "unlink the qemu-server link: EACCES");
    tap_errno(rmdir(P("local")), ENOTDIR, "rmdir the local link: ENOTDIR");
    tap(exists(P("local")), "local is still there");
    tap_errno(unlink(P("rm/full/f")), 0, "unlink");
    tap_errno(rmdir(P("rm/full")), 0, "rmdir the now empty dir");
    tap(!exists(P("rm/full")) && !exists(P("rm/full/f")), "both are gone");
    tap_errno(rmdir(P("rm")), 0, "rmdir rm");
}

static bool dir_lists(const char *rel, const char *name) {
    DIR *d = opendir(P("%s", rel));
    bool found = false;
    struct dirent *de;
    while (d && (de = readdir(d)))
        found |= streq(de->d_name, name);
    if (d)
        closedir(d);
    return found;
}

static void test_rename(void) {
    tap_errno(
        mkdir_p("mv") | mkdir_p("mv/src") | mkdir_p("mv/dst") | mkdir_p("mv/e1") | mkdir_p("mv/e2"),
        0, "mkdir mv/{src,dst,e1,e2}"
    );
    tap_errno(write_file(P("mv/src/f"), O_CREAT, "inside", 6), 0, "create mv/src/f");
    tap_errno(write_file(P("mv/a"), O_CREAT, "AAA", 3), 0, "create mv/a");
    tap_errno(write_file(P("mv/b"), O_CREAT, "B", 1), 0, "create mv/b");

    tap_errno(rename(P("mv/missing"), P("mv/x")), ENOENT, "rename missing: ENOENT");
    tap_errno(rename(P("mv/src"), P("mv/srcx")), ENOTEMPTY, "rename a non-empty dir: ENOTEMPTY");
    tap(exists(P("mv/src/f")) && !exists(P("mv/srcx")), "... nothing moved");

    /* The upstream defect: a non-empty dir onto an existing empty dir (mv -T). */
    tap_errno(
        rename(P("mv/src"), P("mv/dst")), ENOTEMPTY,
        "rename non-empty dir onto empty dir: ENOTEMPTY"
    );
    struct stat st;
    tap(lstat(P("mv/dst"), &st) == 0 && S_ISDIR(st.st_mode), "... the target dir is still there");
    tap(dir_lists("mv", "dst") && dir_lists("mv", "src"), "... and listed, as is the source");
    tap(content_is(P("mv/src/f"), "inside", 6), "... the source keeps its file");
    tap_errno(mkdir(P("mv/dst"), 0755), EEXIST, "... mkdir of the target name: EEXIST");

    tap_errno(rename(P("mv/e1"), P("mv/e2")), 0, "rename empty dir onto empty dir");
    tap(!exists(P("mv/e1")) && exists(P("mv/e2")), "... source gone, target present");
    tap_errno(write_file(P("mv/e2/new"), O_CREAT, "n", 1), 0, "... and usable");
    tap_errno(unlink(P("mv/e2/new")), 0, "cleanup");

    tap_errno(rename(P("mv/a"), P("mv/e2")), EISDIR, "file onto dir: EISDIR");
    tap_errno(rename(P("mv/e2"), P("mv/a")), ENOTDIR, "dir onto file: ENOTDIR");
    tap_errno(rename(P("mv/a"), P("mv/missing/a")), ENOENT, "target parent missing: ENOENT");
    tap_errno(rename(P("mv/a"), P("mv/b/a")), ENOTDIR, "target parent is a file: ENOTDIR");
    tap_errno(rename(P("mv/a"), P("local")), EACCES, "rename onto a plug: EACCES");
    tap_errno(rename(P("local"), P("mv/local")), EACCES, "rename a plug: EACCES");
    tap_errno(
        syscall(SYS_renameat2, AT_FDCWD, P("mv/a"), AT_FDCWD, P("mv/b"), RENAME_NOREPLACE), EEXIST,
        "RENAME_NOREPLACE onto an existing file: EEXIST"
    );
    tap_errno(
        syscall(SYS_renameat2, AT_FDCWD, P("mv/a"), AT_FDCWD, P("mv/b"), RENAME_EXCHANGE), EINVAL,
        "RENAME_EXCHANGE: EINVAL"
    );
    tap(content_is(P("mv/a"), "AAA", 3) && content_is(P("mv/b"), "B", 1), "... nothing changed");

    tap_errno(mkdir(P("priv/lock/mvlock"), 0755), 0, "take a lock");
    tap_errno(
        rename(P("priv/lock/mvlock"), P("priv/lock/mvlock2")), EACCES, "rename a lock dir: EACCES"
    );
    tap_errno(rmdir(P("priv/lock/mvlock")), 0, "release it");

    tap_errno(rename(P("mv/a"), P("mv/b")), 0, "file onto file replaces it");
    tap(!exists(P("mv/a")) && content_is(P("mv/b"), "AAA", 3), "... with the source's content");
    tap_errno(rename(P("mv/b"), P("mv/e2/b")), 0, "move a file into another dir");
    tap(content_is(P("mv/e2/b"), "AAA", 3) && !exists(P("mv/b")), "... content moved along");
}

static void test_vmid(void) {
    tap_errno(
        mkdir_p("nodes/other") | mkdir_p("nodes/other/qemu-server") | mkdir_p("nodes/other/lxc"), 0,
        "mkdir nodes/other/{qemu-server,lxc}"
    );
    tap_errno(
        open(P("nodes/other/qemu-server/100.conf"), O_CREAT | O_WRONLY | O_CLOEXEC, 0640), EEXIST,
        "VMID 100 on another node: EEXIST"
    );
    tap_errno(
        open(P("nodes/testnode/lxc/100.conf"), O_CREAT | O_WRONLY | O_CLOEXEC, 0640), EEXIST,
        "VMID 100 as another type: EEXIST"
    );
    tap_errno(
        open(P("nodes/other/lxc/100.conf"), O_CREAT | O_WRONLY | O_CLOEXEC, 0640), EEXIST,
        "VMID 100 as another type on another node: EEXIST"
    );
    tap(!exists(P("nodes/other/qemu-server/100.conf")), "... nothing was created");

    tap_errno(
        rename(P("nodes/testnode/qemu-server/100.conf"), P("nodes/other/qemu-server/100.conf")), 0,
        "migration rename to another node"
    );
    tap(content_is(P("nodes/other/qemu-server/100.conf"), "cores: 1\n", 9), "... config moved");
    tap_errno(
        open(P("nodes/testnode/qemu-server/100.conf"), O_CREAT | O_WRONLY | O_CLOEXEC, 0640),
        EEXIST, "the old node cannot recreate VMID 100"
    );
    tap_errno(
        rename(P("nodes/other/qemu-server/100.conf"), P("nodes/testnode/qemu-server/100.conf")), 0,
        "migrate back"
    );

    tap_errno(
        write_file(
            P("nodes/testnode/qemu-server/100.conf.tmp.1"), O_CREAT | O_EXCL, "cores: 2\n", 9
        ),
        0, "write a tmp config"
    );
    tap_errno(
        rename(
            P("nodes/testnode/qemu-server/100.conf.tmp.1"), P("nodes/testnode/qemu-server/100.conf")
        ),
        0, "tmp + rename onto the own config"
    );
    tap(content_is(P("nodes/testnode/qemu-server/100.conf"), "cores: 2\n", 9), "... replaced");
    tap_errno(
        write_file(P("nodes/other/qemu-server/x.tmp"), O_CREAT | O_EXCL, "y", 1), 0,
        "write a tmp file"
    );
    tap_errno(
        rename(P("nodes/other/qemu-server/x.tmp"), P("nodes/other/qemu-server/100.conf")), EEXIST,
        "rename onto a VMID registered elsewhere: EEXIST"
    );
    tap_errno(unlink(P("nodes/other/qemu-server/x.tmp")), 0, "cleanup");

    tap_errno(unlink(P("nodes/testnode/qemu-server/101.conf")), 0, "delete VM 101");
    tap_errno(
        write_file(P("nodes/other/lxc/101.conf"), O_CREAT | O_EXCL, "arch: amd64\n", 12), 0,
        "... its VMID is free again"
    );
}

static void test_locks(void) {
    const char *l = P("priv/lock/file-storage_cfg");
    struct stat st;
    tap_errno(mkdir(l, 0755), 0, "acquire: mkdir priv/lock/x");
    tap_errno(mkdir(l, 0755), EEXIST, "second mkdir: EEXIST");
    tap(mode_is(l, S_IFDIR, 0700), "lock dir is 0700");
    tap_errno(utimes(l, NULL), 0, "renew: utime(now)");
    double renewed = now_seconds();
    lstat(l, &st);
    struct timeval back[2] = {{.tv_sec = st.st_mtime - 100}, {.tv_sec = st.st_mtime - 100}};
    tap_errno(utimes(l, back), EACCES, "renew backwards: EACCES");
    struct timeval zero[2] = {{0}, {0}};
    tap_errno(utimes(l, zero), EACCES, "break before the timeout: EACCES");
    tap(exists(l), "... still held");

    /* --lock-timeout=2: refused until more than 2 s passed since the renewal. */
    int r;
    double elapsed;
    for (;;) {
        r = utimes(l, zero);
        elapsed = now_seconds() - renewed;
        if (r == 0 || errno != EACCES || elapsed > 10)
            break;
        sleep_ms(100);
    }
    tap(r == 0 || errno == ENOENT, "break after the timeout is honoured (%s)",
        r == 0 ? "ok" : strerror(errno));
    tap(elapsed > 2.0 && elapsed < 4.0, "... after %.2f s (lock timeout 2 s)", elapsed);
    tap_errno(lstat(l, &st), ENOENT, "the lock dir is gone");
    tap_errno(mkdir(l, 0755), 0, "mkdir right after the break succeeds (no stale kernel cache)");
    tap_errno(utimes(l, zero), EACCES, "the new lock cannot be broken at once");
    tap_errno(rmdir(l), 0, "release: rmdir");
    tap_errno(mkdir(l, 0755), 0, "acquire again");
    tap_errno(rmdir(l), 0, "release again");
}

/* Overwrite a file 200 times (tmp + rename, or O_TRUNC in place) with varying sizes and read
 * it back each time: the kernel's page and attribute caches must follow local changes. */
static void test_coherence(void) {
    tap_errno(mkdir_p("coh"), 0, "mkdir coh");
    const char *target = P("coh/target.cfg"), *tmp = P("coh/target.cfg.tmp");
    char *buf = malloc(70000);
    int bad = -1;
    for (int i = 0; i < 200 && bad < 0; i++) {
        size_t size = i % 10 == 0 ? 0 : (size_t) (i * 7919) % 20000;
        if (i % 17 == 0)
            size = 65536 + (size_t) i;
        for (size_t j = 0; j < size; j++)
            buf[j] = (char) (i * 31 + j * 7);
        int r;
        if (i % 4 == 3)
            r = write_file(target, O_CREAT | O_TRUNC, buf, size);
        else {
            r = write_file(tmp, O_CREAT | O_EXCL, buf, size);
            if (r == 0)
                r = rename(tmp, target);
        }
        struct stat st;
        if (r < 0 || stat(target, &st) < 0 || st.st_size != (off_t) size ||
            !content_is(target, buf, size)) {
            tap_diag(
                "  iteration %d, size %zu: %s", i, size, r < 0 ? strerror(errno) : "stale content"
            );
            bad = i;
        }
    }
    tap(bad < 0, "200 overwrites read back correctly");
    /* A reader that keeps its descriptor sees in-place writes. */
    int rfd = open(target, O_RDONLY | O_CLOEXEC);
    char small[8] = "";
    bool ok = rfd >= 0 && write_file(target, O_TRUNC, "first", 5) == 0 &&
              pread(rfd, small, sizeof small, 0) == 5 && memcmp(small, "first", 5) == 0 &&
              write_file(target, O_TRUNC, "2nd", 3) == 0 &&
              pread(rfd, small, sizeof small, 0) == 3 && memcmp(small, "2nd", 3) == 0;
    tap(ok, "an open reader sees later in-place writes");
    close(rfd);
    free(buf);
}

static void test_statfs(void) {
    struct statvfs s;
    size_t entries;
    uint64_t bytes;
    char *snap = snapshot(&entries, &bytes);
    free(snap);
    tap_errno(statvfs(H.mnt, &s), 0, "statvfs");
    tap(s.f_bsize == 4096 && s.f_frsize == 4096, "block size 4096");
    tap(s.f_blocks == 32768, "128 MiB total (%llu blocks)", (unsigned long long) s.f_blocks);
    tap(s.f_files == 262144, "262144 inodes (%llu)", (unsigned long long) s.f_files);
    tap(s.f_ffree == 262144 - (entries + 1),
        "free inodes = 262144 - entries - root (%llu, %zu entries)", (unsigned long long) s.f_ffree,
        entries);
    tap(s.f_bfree == (128 * MiB - bytes) / 4096 && s.f_bavail == s.f_bfree,
        "free blocks follow the stored bytes (%llu, %llu bytes)", (unsigned long long) s.f_bfree,
        (unsigned long long) bytes);
    tap(s.f_namemax >= 255, "name max %lu", (unsigned long) s.f_namemax);
}

/* Root listing: the link plugs appear once, as links, and shadow DB entries of the same name. */
static void test_readdir_root(const char *what) {
    DIR *d = opendir(H.mnt);
    struct dirent *de;
    unsigned dots = 0, local = 0, qemu = 0, lxc = 0, openvz = 0, dups = 0, wrong_type = 0;
    char seen[256][256];
    size_t n = 0;
    while (d && (de = readdir(d))) {
        for (size_t i = 0; i < n; i++)
            dups += streq(seen[i], de->d_name);
        if (n < ELEMENTSOF(seen))
            snprintf(seen[n++], sizeof seen[0], "%s", de->d_name);
        dots += streq(de->d_name, ".") || streq(de->d_name, "..");
        bool link = streq(de->d_name, "local") || streq(de->d_name, "qemu-server") ||
                    streq(de->d_name, "lxc") || streq(de->d_name, "openvz");
        local += streq(de->d_name, "local");
        qemu += streq(de->d_name, "qemu-server");
        lxc += streq(de->d_name, "lxc");
        openvz += streq(de->d_name, "openvz");
        if (link && de->d_type != DT_LNK)
            wrong_type++;
        struct stat st;
        if (!link && !streq(de->d_name, ".") && !streq(de->d_name, "..") &&
            (lstat(P("%s", de->d_name), &st) < 0 || (de->d_type == DT_DIR) != S_ISDIR(st.st_mode)))
            wrong_type++;
    }
    if (d)
        closedir(d);
    if (dots != 2 || local + qemu + lxc + openvz != 4)
        tap_diag("  dots %u, links %u %u %u %u", dots, local, qemu, lxc, openvz);
    tap(d && dots == 2 && local == 1 && qemu == 1 && lxc == 1 && openvz == 1 && dups == 0 &&
            wrong_type == 0,
        "%s: root lists . .. and each link once, as a link (dups %u, wrong types %u)", what, dups,
        wrong_type);
    tap(dir_lists("", "nodes") && dir_lists("", "priv") && dir_lists("", "storage.cfg"),
        "%s: root lists the DB entries", what);
}

/* Put entries named like plugs into the DB behind pmxcfs's back (it is stopped). */
static bool inject_shadowed_entries(void) {
    Memdb *m = NULL;
    if (memdb_open(H.db, NULL, &m) < 0)
        return false;
    bool ok = memdb_mkdir(m, "local", 0, 1) == 0 && memdb_create(m, "local/hidden", 0, 1) == 0 &&
              memdb_create(m, "lxc", 0, 1) == 0 &&
              memdb_write(m, "lxc", 0, "shadowed", 8, false, 0, 1) == 8 &&
              memdb_create(m, ".version", 0, 1) == 0 &&
              memdb_write(m, ".version", 0, "shadowed", 8, false, 0, 1) == 8;
    memdb_close(m);
    return ok;
}

static unsigned root_count(const char *name) {
    DIR *d = opendir(H.mnt);
    struct dirent *de;
    unsigned n = 0;
    while (d && (de = readdir(d)))
        n += streq(de->d_name, name);
    if (d)
        closedir(d);
    return n;
}

static void test_persistence(void) {
    size_t entries;
    char *before = snapshot(&entries, NULL);
    long long rows = sqlite_cli_int("SELECT count(*) FROM tree");
    if (rows == -2)
        tap(true, "# SKIP sqlite3 CLI not installed");
    else
        tap(rows == (long long) entries + 1,
            "sqlite3 CLI reads config.db while running (%lld rows, %zu entries + __version__)",
            rows, entries);

    bool version_plug = exists(P(".version"));
    pid_t old = H.pid;
    int status = harness_stop(&H, SIGTERM);
    tap(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "SIGTERM: clean exit (status 0x%x)", status);
    if (!(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0))
        harness_print_log(&H);
    tap(!harness_is_mounted(&H), "the mount is gone after the stop");
    tap(access(H.pidfile, F_OK) < 0 && errno == ENOENT, "pid file removed at exit");
    tap(access(H.flag, F_OK) == 0, "restart flag exists after the stop");
    tap(db_int("SELECT count(*) FROM tree WHERE name='dst'") == 1,
        "the DB holds the rename target exactly once (defect scenario)");
    tap(db_int("SELECT version FROM tree WHERE inode=0") > 1, "__version__ row written at close");
    rows = sqlite_cli_int("SELECT count(*) FROM tree");
    if (rows != -2)
        tap(rows == (long long) entries + 1, "sqlite3 CLI reads config.db after the stop");
    tap(inject_shadowed_entries(),
        "inject DB entries named 'local', 'lxc', '.version' while stopped");

    if (!tap(harness_start(&H) == 0, "restart"))
        return;
    tap(H.pid != old && pidfile_is(H.pid), "pid file holds the new pid");
    tap(wait_gone(H.flag, 5), "restart flag removed after the restart");
    char *after = snapshot(NULL, NULL);
    bool same = streq(before, after);
    if (!same)
        diff_snapshots(before, after);
    tap(same, "everything is back byte for byte (%zu entries, modes, owners, mtimes, inodes, data)",
        entries);
    free(before);
    free(after);
    tap(exists(P("mv/dst")) && content_is(P("mv/src/f"), "inside", 6),
        "the defect scenario's dirs survived");
    test_readdir_root("with shadowed DB entries");
    char target[64] = "";
    ssize_t n = readlink(P("lxc"), target, sizeof target - 1);
    tap(n > 0 && streq(target, "nodes/testnode/lxc"),
        "lxc still resolves to the link, not the DB file");
    if (version_plug) {
        char *v = NULL;
        size_t vlen = 0;
        tap(root_count(".version") == 1 && read_file(P(".version"), &v, &vlen) == 0 && vlen > 0 &&
                v[0] == '{',
            ".version is listed once and serves the generated file, not the DB entry");
        free(v);
    }

    /* A second instance on the same vardir must not start. */
    char mnt2[160], pid2[160];
    snprintf(mnt2, sizeof mnt2, "%s/mnt2", H.dir);
    snprintf(pid2, sizeof pid2, "%s/pid2", H.dir);
    mkdir(mnt2, 0755);
    double t = now_seconds();
    pid_t second = harness_spawn(&H, mnt2, pid2, NULL);
    status = harness_wait(second, 30);
    if (status == -ETIMEDOUT) {
        kill(second, SIGKILL);
        harness_wait(second, 5);
    }
    tap(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0,
        "a second pmxcfs on the same vardir fails (status 0x%x after %.1f s)", status,
        now_seconds() - t);
    while (umount2(mnt2, MNT_DETACH) == 0)
        ;
    tap(content_is(P("storage.cfg"), "dir: local\n", 11) && pidfile_is(H.pid),
        "the first instance still serves");
}

/* The documented recovery: only config.db of a stopped node, copied to an empty directory on a
 * fresh node, brings /etc/pve back. */
static void test_recovery(void) {
    size_t entries;
    char *before = snapshot(&entries, NULL);
    int status = harness_stop(&H, SIGTERM);
    tap(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "stop before the recovery copy (status 0x%x)", status);

    char fresh[100], cmd[600];
    snprintf(fresh, sizeof fresh, "%s/fresh-var", H.dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/config.db'", fresh, H.db, fresh);
    tap(system(cmd) == 0, "copy config.db alone into an empty directory");
    char oplog[160];
    snprintf(oplog, sizeof oplog, "%s/config.db-oplog", fresh);
    tap(access(oplog, F_OK) < 0, "nothing but config.db was copied");

    snprintf(H.var, sizeof H.var, "%s", fresh);
    if (!tap(harness_start(&H) == 0, "pmxcfs starts on the copied config.db"))
        goto out;
    char *after = snapshot(NULL, NULL);
    bool same = streq(before, after);
    if (!same)
        diff_snapshots(before, after);
    tap(same, "the recovered /etc/pve equals the original (%zu entries)", entries);
    free(after);
    /* A directory still open at the stop: the kernel never releases it after the unmount, and
     * the daemon must not leak its handle (LeakSanitizer in the ASan build). */
    DIR *held = opendir(H.mnt);
    tap(held && readdir(held), "a directory handle is held open across the stop");
    status = harness_stop(&H, SIGTERM);
    if (held)
        (void) closedir(held);
    tap(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "final stop is clean (status 0x%x)", status);
    if (!(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0))
        harness_print_log(&H);
    tap(access(H.pidfile, F_OK) < 0, "pid file gone");
out:
    free(before);
}

int main(int argc, char *argv[]) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s /path/to/pmxcfs\n", argv[0]);
        return EXIT_FAILURE;
    }
    int r = harness_enter_namespace();
    if (r != 0)
        return r;
    www_gid = getgrnam("www-data")->gr_gid;
    if (harness_init(&H, argv[1]) < 0) {
        printf("Bail out! cannot create a tmpdir: %m\n");
        return EXIT_FAILURE;
    }
    H.lock_timeout = 2;
    if (!tap(harness_start(&H) == 0, "pmxcfs starts and serves")) {
        harness_cleanup(&H);
        return tap_finish();
    }
    test_startup();
    test_modes();
    test_chmod_chown();
    test_unsupported();
    test_files();
    test_efbig();
    test_unlink_rmdir();
    test_rename();
    test_vmid();
    test_locks();
    test_coherence();
    test_statfs();
    test_readdir_root("fresh");
    test_persistence();
    if (H.pid > 0)
        test_recovery();
    if (tap_failures)
        harness_print_log(&H);
    harness_cleanup(&H);
    return tap_finish();
}
