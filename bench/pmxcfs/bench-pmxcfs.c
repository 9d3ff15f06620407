/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench-pmxcfs: throughput, memory and write amplification of our pmxcfs, next to memfs (the
 * FUSE ceiling: an in-memory, path-based, direct_io FUSE file system that does nothing else).
 * It prints figures and never fails on them; it is not a test.
 *
 * Runs as root in a private mount and network namespace (so the FUSE mounts and pmxcfs's IPC
 * socket are invisible to the rest of the machine), starts both file systems on a tmpdir,
 * and for each of them runs REPS rounds of FILES files of 1 KiB in one directory:
 * create+write+close, open+read(to EOF)+close, the same read again (shows kernel caching, which
 * a direct_io file system cannot use), save (write <f>.tmp, rename it over <f>, as PVE saves
 * configs), unlink. Then, on a fresh pmxcfs: RSS after 10,000 files, and bytes written
 * per config save, counted three ways (see print_results()).
 *
 * Owns: its tmpdir, the processes it forks and their mounts; all are removed on exit, on
 * SIGINT/SIGTERM and on failure. It never touches pmxcfs sources or the host's /etc/pve.
 *
 * Usage: bench-pmxcfs [--files=N] [--reps=N] [--verbose] [PMXCFS [MEMFS]]
 */
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench-paths.h"
#include "pve/macro.h"

#define FILE_SIZE     1024
#define RSS_DIRS      10
#define RSS_FILES     1000
#define N_SAVES       1000
#define START_TIMEOUT 10.0
#define STOP_TIMEOUT  10.0
#define WAL_HDR_SIZE  32
#define WAL_FRAME_HDR 24
#define MAX_REPS      101

enum { FS_PMXCFS, FS_MEMFS, _FS_MAX };
enum { OP_CREATE, OP_READ, OP_REREAD, OP_SAVE, OP_UNLINK, _OP_MAX };

static const char *const op_names[_OP_MAX] = {
    "create+write", "open+read", "open+read #2", "tmp+rename", "unlink",
};
/* Upstream pmxcfs, local mode, quoted from issue #3 (not measured here); 0 = not quoted. */
static const double upstream_rate[_OP_MAX] = {4500, 14500, 0, 2400, 8500};
#define UPSTREAM_RSS_MB     28.6
#define UPSTREAM_SAVE_BYTES "38 KB"

typedef struct Fs {
    const char *name;
    char *root; /* tmpdir/<name>-<n>: mnt/, var/, run/, log */
    char *mnt;
    char *log;
    pid_t pid;
} Fs;

typedef struct ProcIo {
    uint64_t wchar;
    uint64_t syscw;
    uint64_t write_bytes;
    uint64_t cancelled_write_bytes;
} ProcIo;

/* Follows SQLite's WAL across restarts (after a checkpoint the writer starts again at frame 0
 * with new salts), so frames appended are counted exactly however often it wraps. */
typedef struct WalTrack {
    char *path;
    uint32_t page_size;
    uint32_t salt[2];
    uint64_t n;        /* frames of the current generation seen so far */
    uint64_t appended; /* frames appended since the start of tracking */
    unsigned restarts;
    bool valid;
} WalTrack;

static struct {
    unsigned files;
    unsigned reps;
    bool verbose;
    const char *pmxcfs;
    const char *memfs;
} arg = {.files = 1000, .reps = 5};

static char *tmpdir;
static Fs *running[8];
static volatile sig_atomic_t interrupted;
static char content[2][FILE_SIZE];

/* ---- small helpers ---------------------------------------------------------------------- */

_printf_(1, 2) static char *xasprintf(const char *fmt, ...) {
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) {
        fprintf(stderr, "bench-pmxcfs: out of memory\n");
        exit(EXIT_FAILURE);
    }
    return s;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR && !interrupted)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void) st;
    (void) ftw;
    if (type == FTW_DP)
        (void) rmdir(path);
    else
        (void) unlink(path);
    return 0;
}

static off_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) < 0 ? 0 : st.st_size;
}

/* ---- file system processes -------------------------------------------------------------- */

static bool is_mounted(const Fs *f) {
    struct stat a, b;
    return stat(f->mnt, &a) == 0 && stat(f->root, &b) == 0 && a.st_dev != b.st_dev;
}

static void print_log(const Fs *f) {
    _cleanup_fclose_ FILE *in = fopen(f->log, "re");
    char line[512];
    if (!in)
        return;
    fprintf(stderr, "---- %s log (%s) ----\n", f->name, f->log);
    while (fgets(line, sizeof line, in))
        fputs(line, stderr);
    fprintf(stderr, "----\n");
}

static void fs_stop(Fs *f) {
    if (f->pid > 0) {
        int status;
        (void) kill(f->pid, SIGTERM);
        double deadline = now() + STOP_TIMEOUT;
        while (waitpid(f->pid, &status, WNOHANG) == 0) {
            if (now() > deadline) {
                fprintf(stderr, "bench-pmxcfs: %s did not stop, killing it\n", f->name);
                (void) kill(f->pid, SIGKILL);
                (void) waitpid(f->pid, &status, 0);
                break;
            }
            sleep_ms(10);
        }
        f->pid = 0;
    }
    if (f->mnt && is_mounted(f))
        (void) umount2(f->mnt, MNT_DETACH);
    for (size_t i = 0; i < ELEMENTSOF(running); i++)
        if (running[i] == f)
            running[i] = NULL;
}

static void fs_free(Fs *f) {
    if (!f)
        return;
    fs_stop(f);
    free(f->root);
    free(f->mnt);
    free(f->log);
    free(f);
}

/* Fork + exec argv with stdout/stderr to f->log, then wait until f->mnt is a mount point. */
static int fs_start(Fs *f, char *const argv[]) {
    f->pid = fork();
    if (f->pid < 0)
        return -errno;
    if (f->pid == 0) {
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %m\n", argv[0]);
        _exit(127);
    }
    for (size_t i = 0; i < ELEMENTSOF(running); i++)
        if (!running[i]) {
            running[i] = f;
            break;
        }

    double deadline = now() + START_TIMEOUT;
    while (!is_mounted(f)) {
        int status;
        if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
            f->pid = 0;
            fprintf(stderr, "bench-pmxcfs: %s exited during start-up\n", f->name);
            print_log(f);
            return -ECHILD;
        }
        if (interrupted)
            return -EINTR;
        if (now() > deadline) {
            fprintf(
                stderr, "bench-pmxcfs: %s did not mount within %.0f s\n", f->name, START_TIMEOUT
            );
            print_log(f);
            return -ETIMEDOUT;
        }
        sleep_ms(5);
    }
    printf("  %s running, pid %d, mounted on %s\n", f->name, (int) f->pid, f->mnt);
    return 0;
}

static Fs *fs_new(const char *name) {
    static unsigned counter;
    Fs *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->name = name;
    f->root = xasprintf("%s/%s-%u", tmpdir, name, counter++);
    f->mnt = xasprintf("%s/mnt", f->root);
    f->log = xasprintf("%s/log", f->root);
    if (mkdir(f->root, 0755) < 0 || mkdir(f->mnt, 0755) < 0) {
        fprintf(stderr, "bench-pmxcfs: mkdir %s: %m\n", f->mnt);
        fs_free(f);
        return NULL;
    }
    return f;
}

static int start_pmxcfs(Fs **ret) {
    Fs *f = fs_new("pmxcfs");
    if (!f)
        return -ENOMEM;
    _cleanup_free_ char *var = xasprintf("%s/var", f->root), *run = xasprintf("%s/run", f->root),
                        *o_mnt = xasprintf("--mountpoint=%s", f->mnt),
                        *o_var = xasprintf("--vardir=%s", var),
                        *o_run = xasprintf("--rundir=%s", run),
                        *o_pid = xasprintf("--pidfile=%s/pmxcfs.pid", f->root);
    char *argv[] = {
        (char *) arg.pmxcfs, "-f", "-l", o_mnt, o_var, o_run, o_pid, "--nodename=bench", NULL,
    };
    int r = fs_start(f, argv);
    if (r < 0) {
        fs_free(f);
        return r;
    }
    *ret = f;
    return 0;
}

static int start_memfs(Fs **ret) {
    Fs *f = fs_new("memfs");
    if (!f)
        return -ENOMEM;
    char *argv[] = {(char *) arg.memfs, "-f", "-o", "fsname=memfs", f->mnt, NULL};
    int r = fs_start(f, argv);
    if (r < 0) {
        fs_free(f);
        return r;
    }
    *ret = f;
    return 0;
}

/* ---- /proc readers ---------------------------------------------------------------------- */

static long rss_kib(pid_t pid) {
    _cleanup_free_ char *path = xasprintf("/proc/%d/status", (int) pid);
    _cleanup_fclose_ FILE *in = fopen(path, "re");
    char line[256];
    long kib = -1;
    while (in && fgets(line, sizeof line, in))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    return kib;
}

/* utime + stime of the whole process (all threads, live and exited), in seconds. */
static double cpu_seconds(pid_t pid) {
    _cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int) pid);
    _cleanup_fclose_ FILE *in = fopen(path, "re");
    char buf[1024];
    unsigned long ut, st;
    if (!in || !fgets(buf, sizeof buf, in))
        return 0;
    const char *p = strrchr(buf, ')'); /* comm may contain spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}

static int read_proc_io(pid_t pid, ProcIo *ret) {
    _cleanup_free_ char *path = xasprintf("/proc/%d/io", (int) pid);
    _cleanup_fclose_ FILE *in = fopen(path, "re");
    char key[64];
    uint64_t v;
    ProcIo io = {0};
    if (!in)
        return -errno;
    while (fscanf(in, "%63[^:]: %" SCNu64 " ", key, &v) == 2) {
        if (streq(key, "wchar"))
            io.wchar = v;
        else if (streq(key, "syscw"))
            io.syscw = v;
        else if (streq(key, "write_bytes"))
            io.write_bytes = v;
        else if (streq(key, "cancelled_write_bytes"))
            io.cancelled_write_bytes = v;
    }
    *ret = io;
    return 0;
}

/* ---- WAL frame counting ----------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p) {
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* Frames from index `from` on whose header carries `salt`; returns the index of the first
 * frame that does not (end of that generation). */
static uint64_t wal_scan_gen(int fd, uint32_t page_size, const uint32_t salt[2], uint64_t from) {
    unsigned char h[WAL_FRAME_HDR];
    uint64_t k = from;
    for (;; k++) {
        off_t off = WAL_HDR_SIZE + (off_t) k * (page_size + WAL_FRAME_HDR);
        if (pread(fd, h, sizeof h, off) != (ssize_t) sizeof h || be32(h + 8) != salt[0] ||
            be32(h + 12) != salt[1])
            return k;
    }
}

static void wal_update(WalTrack *w, bool count) {
    unsigned char h[WAL_HDR_SIZE];
    _cleanup_close_ int fd = open(w->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || pread(fd, h, sizeof h, 0) != (ssize_t) sizeof h ||
        (be32(h) & ~UINT32_C(1)) != UINT32_C(0x377f0682))
        return;
    uint32_t salt[2] = {be32(h + 16), be32(h + 20)};
    if (w->valid && (salt[0] != w->salt[0] || salt[1] != w->salt[1])) {
        /* Restarted: the tail of the old generation is still on disk past the new frames. */
        uint64_t end = wal_scan_gen(fd, w->page_size, w->salt, w->n);
        if (count)
            w->appended += end - w->n;
        w->restarts += count;
        w->n = 0;
    }
    w->page_size = be32(h + 8);
    w->salt[0] = salt[0];
    w->salt[1] = salt[1];
    uint64_t end = wal_scan_gen(fd, w->page_size, w->salt, w->n);
    if (count && w->valid)
        w->appended += end - w->n;
    w->n = end;
    w->valid = true;
}

/* ---- workload --------------------------------------------------------------------------- */

static void fill_content(void) {
    for (int v = 0; v < 2; v++) {
        size_t off = 0;
        for (unsigned i = 0; off < FILE_SIZE; i++) {
            char line[64];
            int n = snprintf(line, sizeof line, "key%03u: value-%d-%08x\n", i, v, i * 2654435761u);
            size_t len = MIN((size_t) n, FILE_SIZE - off);
            memcpy(content[v] + off, line, len);
            off += len;
        }
        content[v][FILE_SIZE - 1] = '\n';
    }
}

static int write_file(const char *path, const char *data) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, data, FILE_SIZE);
    if (close(fd) < 0 && r == 0)
        r = -errno;
    return r;
}

static int read_file(const char *path) {
    char buf[4096];
    size_t total = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += (size_t) n;
    int r = n < 0 ? -errno : total != FILE_SIZE ? -EBADMSG : 0;
    close(fd);
    return r;
}

/* PVE's file_set_contents(): write <f>.tmp, rename it over <f>. */
static int save_file(const char *path, const char *tmp, const char *data) {
    int r = write_file(tmp, data);
    if (r < 0)
        return r;
    return rename(tmp, path) < 0 ? -errno : 0;
}

typedef struct FileSet {
    unsigned n;
    char **path;
    char **tmp;
} FileSet;

static void file_set_free(FileSet *s) {
    for (unsigned i = 0; i < s->n; i++) {
        free(s->path[i]);
        free(s->tmp[i]);
    }
    free(s->path);
    free(s->tmp);
    *s = (FileSet){0};
}

static void file_set_init(FileSet *s, const char *dir, unsigned n) {
    s->n = n;
    s->path = calloc(n, sizeof *s->path);
    s->tmp = calloc(n, sizeof *s->tmp);
    if (!s->path || !s->tmp) {
        fprintf(stderr, "bench-pmxcfs: out of memory\n");
        exit(EXIT_FAILURE);
    }
    for (unsigned i = 0; i < n; i++) {
        s->path[i] = xasprintf("%s/%u.conf", dir, 100 + i);
        s->tmp[i] = xasprintf("%s/%u.conf.tmp", dir, 100 + i);
    }
}

static int do_op(int op, const FileSet *s, unsigned i) {
    switch (op) {
    case OP_CREATE:
        return write_file(s->path[i], content[0]);
    case OP_READ:
    case OP_REREAD:
        return read_file(s->path[i]);
    case OP_SAVE:
        return save_file(s->path[i], s->tmp[i], content[1]);
    case OP_UNLINK:
        return unlink(s->path[i]) < 0 ? -errno : 0;
    }
    return -EINVAL;
}

/* One round on `f`: every op over all files in a fresh directory; rates in files/s, daemon CPU
 * time in seconds per file. */
static int run_round(Fs *f, unsigned round, double rate[_OP_MAX], double cpu[_OP_MAX]) {
    _cleanup_free_ char *dir = xasprintf("%s/round%u", f->mnt, round);
    FileSet s;
    int r = 0;

    if (mkdir(dir, 0755) < 0) {
        fprintf(stderr, "bench-pmxcfs: %s: mkdir %s: %m\n", f->name, dir);
        return -errno;
    }
    file_set_init(&s, dir, arg.files);
    for (int op = 0; op < _OP_MAX && r == 0; op++) {
        double t0 = now(), c0 = cpu_seconds(f->pid);
        for (unsigned i = 0; i < s.n; i++) {
            if (interrupted) {
                r = -EINTR;
                break;
            }
            r = do_op(op, &s, i);
            if (r < 0) {
                fprintf(
                    stderr, "bench-pmxcfs: %s: %s %s: %s\n", f->name, op_names[op], s.path[i],
                    strerror(-r)
                );
                break;
            }
        }
        double t1 = now();
        rate[op] = (double) s.n / (t1 - t0);
        if (arg.verbose)
            printf(
                "  phase %s %s round %u: CLOCK_MONOTONIC %.6f - %.6f\n", f->name, op_names[op],
                round + 1, t0, t1
            );
        cpu[op] = (cpu_seconds(f->pid) - c0) / s.n;
    }
    file_set_free(&s);
    if (r == 0 && rmdir(dir) < 0)
        fprintf(stderr, "bench-pmxcfs: %s: rmdir %s: %m\n", f->name, dir);
    return r;
}

/* RSS_DIRS directories of RSS_FILES files; returns the creation rate in files/s. */
static int fill_tree(Fs *f, double *ret_rate) {
    double t0 = now();
    for (unsigned d = 0; d < RSS_DIRS; d++) {
        _cleanup_free_ char *dir = xasprintf("%s/rss%u", f->mnt, d);
        FileSet s;
        int r = 0;
        if (mkdir(dir, 0755) < 0) {
            fprintf(stderr, "bench-pmxcfs: %s: mkdir %s: %m\n", f->name, dir);
            return -errno;
        }
        file_set_init(&s, dir, RSS_FILES);
        for (unsigned i = 0; i < s.n && r == 0; i++) {
            r = interrupted ? -EINTR : write_file(s.path[i], content[0]);
            if (r < 0 && r != -EINTR)
                fprintf(
                    stderr, "bench-pmxcfs: %s: create %s: %s\n", f->name, s.path[i], strerror(-r)
                );
        }
        file_set_free(&s);
        if (r < 0)
            return r;
    }
    *ret_rate = (double) (RSS_DIRS * RSS_FILES) / (now() - t0);
    return 0;
}

/* ---- results ---------------------------------------------------------------------------- */

typedef struct Results {
    double rate[_FS_MAX][_OP_MAX][MAX_REPS];
    double cpu[_FS_MAX][_OP_MAX][MAX_REPS];
    long rss_idle[_FS_MAX];
    long rss_full[_FS_MAX];
    double fill_rate[_FS_MAX];
    ProcIo io_before, io_after;
    off_t db_before, db_after, wal_before, wal_after;
    WalTrack wal;
    double save_rate;
} Results;

static void stats(const double *v, unsigned n, double *med, double *lo, double *hi) {
    double s[MAX_REPS];
    memcpy(s, v, n * sizeof *v);
    qsort(s, n, sizeof *s, cmp_double);
    *med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    *lo = s[0];
    *hi = s[n - 1];
}

static void print_results(const Results *res) {
    double med[_FS_MAX][_OP_MAX], lo[_FS_MAX][_OP_MAX], hi[_FS_MAX][_OP_MAX];
    for (int f = 0; f < _FS_MAX; f++)
        for (int op = 0; op < _OP_MAX; op++)
            stats(res->rate[f][op], arg.reps, &med[f][op], &lo[f][op], &hi[f][op]);

    printf(
        "\n%u files of %d bytes in one directory, median of %u rounds (files/s):\n\n", arg.files,
        FILE_SIZE, arg.reps
    );
    printf(
        "%-15s %-18s %-15s %-7s %-25s %s\n", "op", "pmxcfs (files/s)", "memfs ceiling", "ratio",
        "upstream ref (issue #3)", "x upstream"
    );
    for (int op = 0; op < _OP_MAX; op++) {
        char up[32] = "n/a", x[32] = "n/a";
        if (upstream_rate[op] > 0) {
            snprintf(up, sizeof up, "%.0f", upstream_rate[op]);
            snprintf(x, sizeof x, "%.2f", med[FS_PMXCFS][op] / upstream_rate[op]);
        }
        printf(
            "%-15s %-18.0f %-15.0f %-7.2f %-25s %s\n", op_names[op], med[FS_PMXCFS][op],
            med[FS_MEMFS][op], med[FS_PMXCFS][op] / med[FS_MEMFS][op], up, x
        );
    }

    char buf[64];
    snprintf(buf, sizeof buf, "%.1f MiB", (double) res->rss_full[FS_PMXCFS] / 1024);
    printf("%-15s %-18s %-15s %-7s %.1f MB\n", "RSS @10k files", buf, "", "", UPSTREAM_RSS_MB);

    double saves = N_SAVES;
    double wb = (double) (res->io_after.write_bytes - res->io_before.write_bytes) / saves;
    double wal_bytes = (double) res->wal.appended * (res->wal.page_size + WAL_FRAME_HDR) / saves;
    char wbuf[96];
    snprintf(
        wbuf, sizeof wbuf, "%.1f KiB (write_bytes), %.1f KiB (WAL frames)", wb / 1024,
        wal_bytes / 1024
    );
    printf("%-15s %-49s %s (upstream, DESIGN.md)\n", "bytes/save", wbuf, UPSTREAM_SAVE_BYTES);

    printf(
        "\nSpread over %u rounds, files/s: median [min - max]; daemon CPU per file: median of "
        "utime+stime deltas (clock ticks of %ld Hz, so only indicative)\n",
        arg.reps, sysconf(_SC_CLK_TCK)
    );
    for (int op = 0; op < _OP_MAX; op++) {
        double cm[_FS_MAX], dummy1, dummy2;
        for (int f = 0; f < _FS_MAX; f++)
            stats(res->cpu[f][op], arg.reps, &cm[f], &dummy1, &dummy2);
        printf(
            "  %-13s pmxcfs %6.0f [%6.0f - %6.0f] %5.0f us CPU   memfs %6.0f [%6.0f - %6.0f] "
            "%5.0f us CPU\n",
            op_names[op], med[FS_PMXCFS][op], lo[FS_PMXCFS][op], hi[FS_PMXCFS][op],
            cm[FS_PMXCFS] * 1e6, med[FS_MEMFS][op], lo[FS_MEMFS][op], hi[FS_MEMFS][op],
            cm[FS_MEMFS] * 1e6
        );
    }

    printf("\nMemory (VmRSS of the daemon, fresh instance):\n");
    for (int f = 0; f < _FS_MAX; f++)
        printf(
            "  %-7s idle %6.1f MiB, after %d files of %d bytes in %d dirs %6.1f MiB "
            "(created at %.0f files/s)\n",
            f == FS_PMXCFS ? "pmxcfs" : "memfs", (double) res->rss_idle[f] / 1024,
            RSS_DIRS * RSS_FILES, FILE_SIZE, RSS_DIRS, (double) res->rss_full[f] / 1024,
            res->fill_rate[f]
        );

    const ProcIo *a = &res->io_before, *b = &res->io_after;
    printf(
        "\nWrites per config save (%d saves, tmp + rename of %d bytes into existing files, "
        "%.0f saves/s incl. WAL scanning; pmxcfs holds %d files):\n",
        N_SAVES, FILE_SIZE, res->save_rate, RSS_DIRS * RSS_FILES
    );
    printf(
        "  write_bytes  %8.1f KiB  /proc/<pid>/io: page-cache pages this process newly dirtied "
        "(counted when dirtied, not at writeback; a page rewritten while still dirty counts "
        "once, so this approximates what reaches the disk; sync was called before both "
        "readings); cancelled %.1f KiB\n",
        wb / 1024, (double) (b->cancelled_write_bytes - a->cancelled_write_bytes) / saves / 1024
    );
    printf(
        "  wchar        %8.1f KiB  /proc/<pid>/io: bytes passed to write(2)-family syscalls "
        "(WAL frames + checkpoint copies into config.db + the FUSE replies written to /dev/fuse, "
        "about 100 bytes each; %.1f write syscalls per save)\n",
        (double) (b->wchar - a->wchar) / saves / 1024, (double) (b->syscw - a->syscw) / saves
    );
    printf(
        "  WAL frames   %8.1f KiB  %.2f frames of %u+%d bytes per save, counted by following the "
        "WAL headers (%u WAL restarts after checkpoints during the run)\n",
        wal_bytes / 1024, (double) res->wal.appended / saves, res->wal.page_size, WAL_FRAME_HDR,
        res->wal.restarts
    );
    double growth =
        (double) ((res->db_after + res->wal_after) - (res->db_before + res->wal_before));
    printf(
        "  file growth  %8.1f KiB  config.db %jd -> %jd, config.db-wal %jd -> %jd bytes "
        "(= %.0f frames of WAL growth)%s\n",
        growth / saves / 1024, (intmax_t) res->db_before, (intmax_t) res->db_after,
        (intmax_t) res->wal_before, (intmax_t) res->wal_after,
        (double) (res->wal_after - res->wal_before) / (res->wal.page_size + WAL_FRAME_HDR),
        res->wal.restarts > 0 ? "; not a measure here: the WAL restarted and is reused in place"
                              : ""
    );
    printf(
        "\nUpstream figures are reference numbers quoted from issue #3 and DESIGN.md, measured "
        "on a comparable 2-core machine, not in this run (upstream pmxcfs cannot be built "
        "here). DESIGN.md's own run gives upstream 5.1k/18.3k/3.1k/9.5k files/s and a memfs-like "
        "ceiling of 15.3k/18.0k/8.1k/30.6k files/s for the same four operations.\n"
    );
}

/* ---- main ------------------------------------------------------------------------------- */

static void cleanup(void) {
    for (size_t i = 0; i < ELEMENTSOF(running); i++)
        if (running[i])
            fs_stop(running[i]);
    if (tmpdir) {
        (void) nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        free(tmpdir);
        tmpdir = NULL;
    }
}

static void on_signal(int sig) {
    (void) sig;
    interrupted = 1;
}

static int parse_args(int argc, char *argv[]) {
    static const struct option opts[] = {
        {"files", required_argument, NULL, 'n'},
        {"reps", required_argument, NULL, 'r'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    int c;
    while ((c = getopt_long(argc, argv, "n:r:vh", opts, NULL)) >= 0) {
        char *end;
        unsigned long v;
        switch (c) {
        case 'n':
        case 'r':
            errno = 0;
            v = strtoul(optarg, &end, 10);
            if (errno || *end || v == 0 || v > (c == 'n' ? 1000000UL : MAX_REPS)) {
                fprintf(stderr, "bench-pmxcfs: invalid value '%s'\n", optarg);
                return -EINVAL;
            }
            *(c == 'n' ? &arg.files : &arg.reps) = (unsigned) v;
            break;
        case 'v':
            arg.verbose = true;
            break;
        case 'h':
            printf(
                "Usage: %s [--files=N] [--reps=N] [--verbose] [PMXCFS [MEMFS]]\n"
                "Defaults: %u files, %u rounds, PMXCFS build/pmxcfs/pmxcfs (else %s), MEMFS %s.\n"
                "--verbose prints the CLOCK_MONOTONIC span of every phase, to cut a\n"
                "`perf record -k CLOCK_MONOTONIC` profile. Must run as root.\n",
                argv[0], arg.files, arg.reps, PMXCFS_PATH, MEMFS_PATH
            );
            exit(EXIT_SUCCESS);
        default:
            return -EINVAL;
        }
    }
    /* As documented: build/pmxcfs/pmxcfs from the source tree, else this build's pmxcfs. */
    if (optind < argc)
        arg.pmxcfs = argv[optind++];
    else
        arg.pmxcfs = access("build/pmxcfs/pmxcfs", X_OK) == 0 ? "build/pmxcfs/pmxcfs" : PMXCFS_PATH;
    arg.memfs = optind < argc ? argv[optind++] : MEMFS_PATH;
    if (optind < argc) {
        fprintf(stderr, "bench-pmxcfs: unexpected argument '%s'\n", argv[optind]);
        return -EINVAL;
    }
    return 0;
}

static int run(int argc, char *argv[]) {
    static Results res;
    Fs *fs[_FS_MAX] = {};
    int r;

    setvbuf(stdout, NULL, _IOLBF, 0);
    r = parse_args(argc, argv);
    if (r < 0)
        return r;
    const char *bins[] = {arg.pmxcfs, arg.memfs};
    for (size_t i = 0; i < ELEMENTSOF(bins); i++)
        if (access(bins[i], X_OK) < 0) {
            fprintf(stderr, "bench-pmxcfs: cannot execute '%s': %m\n", bins[i]);
            return -errno;
        }
    if (geteuid() != 0) {
        fprintf(stderr, "bench-pmxcfs: must run as root (FUSE mounts in a private namespace)\n");
        return -EPERM;
    }

    /* Private mounts; a private network namespace keeps pmxcfs's IPC socket ("pve2", an
     * abstract socket) from clashing with any other pmxcfs on this machine. */
    if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0 ||
        mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0) {
        fprintf(stderr, "bench-pmxcfs: private namespaces: %m\n");
        return -errno;
    }

    const char *base = getenv("TMPDIR");
    tmpdir = xasprintf("%s/bench-pmxcfs.XXXXXX", base && *base ? base : "/var/tmp");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "bench-pmxcfs: mkdtemp %s: %m\n", tmpdir);
        free(tmpdir);
        tmpdir = NULL;
        return -errno;
    }
    atexit(cleanup);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    struct statfs sfs;
    if (statfs(tmpdir, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC)
        fprintf(
            stderr,
            "bench-pmxcfs: warning: %s is on tmpfs; write_bytes will read 0 (set TMPDIR "
            "to a disk file system)\n",
            tmpdir
        );

    struct utsname u;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    (void) uname(&u);
    time_t t = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
    printf(
        "bench-pmxcfs: %s, %ld CPUs, kernel %s, tmpdir %s\n  pmxcfs %s\n  memfs  %s\n", date, ncpu,
        u.release, tmpdir, arg.pmxcfs, arg.memfs
    );
    fill_content();

    /* Phase 1: throughput. Rounds alternate between the two file systems so background load
     * hits both alike. */
    if ((r = start_pmxcfs(&fs[FS_PMXCFS])) < 0 || (r = start_memfs(&fs[FS_MEMFS])) < 0)
        goto finish;
    for (unsigned round = 0; round < arg.reps; round++)
        for (int f = 0; f < _FS_MAX; f++) {
            double rate[_OP_MAX], cpu[_OP_MAX];
            r = run_round(fs[f], round, rate, cpu);
            if (r < 0)
                goto finish;
            for (int op = 0; op < _OP_MAX; op++) {
                res.rate[f][op][round] = rate[op];
                res.cpu[f][op][round] = cpu[op];
            }
            printf(
                "  round %u %-6s  create %6.0f  read %6.0f  read#2 %6.0f  save %6.0f  unlink %6.0f "
                "files/s\n",
                round + 1, fs[f]->name, rate[OP_CREATE], rate[OP_READ], rate[OP_REREAD],
                rate[OP_SAVE], rate[OP_UNLINK]
            );
        }
    for (int f = 0; f < _FS_MAX; f++) {
        fs_free(fs[f]);
        fs[f] = NULL;
    }

    /* Phase 2: memory, on fresh instances. */
    if ((r = start_pmxcfs(&fs[FS_PMXCFS])) < 0 || (r = start_memfs(&fs[FS_MEMFS])) < 0)
        goto finish;
    for (int f = 0; f < _FS_MAX; f++) {
        res.rss_idle[f] = rss_kib(fs[f]->pid);
        if ((r = fill_tree(fs[f], &res.fill_rate[f])) < 0)
            goto finish;
        res.rss_full[f] = rss_kib(fs[f]->pid);
        printf(
            "  %-6s RSS idle %.1f MiB, with %d files %.1f MiB\n", fs[f]->name,
            (double) res.rss_idle[f] / 1024, RSS_DIRS * RSS_FILES, (double) res.rss_full[f] / 1024
        );
    }
    fs_free(fs[FS_MEMFS]);
    fs[FS_MEMFS] = NULL;

    /* Phase 3: bytes written per save, on the pmxcfs that now holds 10,000 files. */
    {
        Fs *p = fs[FS_PMXCFS];
        _cleanup_free_ char *db = xasprintf("%s/var/config.db", p->root);
        _cleanup_free_ char *dir = xasprintf("%s/rss0", p->mnt);
        FileSet s;
        res.wal.path = xasprintf("%s-wal", db);
        file_set_init(&s, dir, N_SAVES);

        sync();
        wal_update(&res.wal, false);
        res.db_before = file_size(db);
        res.wal_before = file_size(res.wal.path);
        r = read_proc_io(p->pid, &res.io_before);
        double t0 = now();
        for (unsigned i = 0; i < s.n && r >= 0; i++) {
            r = interrupted ? -EINTR : save_file(s.path[i], s.tmp[i], content[1]);
            if (r < 0)
                fprintf(stderr, "bench-pmxcfs: save %s: %s\n", s.path[i], strerror(-r));
            wal_update(&res.wal, true);
        }
        res.save_rate = (double) s.n / (now() - t0);
        file_set_free(&s);
        sync();
        wal_update(&res.wal, true);
        res.db_after = file_size(db);
        res.wal_after = file_size(res.wal.path);
        if (r >= 0)
            r = read_proc_io(p->pid, &res.io_after);
        if (r < 0) {
            free(res.wal.path);
            goto finish;
        }
        free(res.wal.path);
        if (!res.wal.valid) {
            fprintf(stderr, "bench-pmxcfs: no SQLite WAL at %s-wal\n", db);
            r = -ENOENT;
            goto finish;
        }
    }

    print_results(&res);
    r = 0;
finish:
    for (int f = 0; f < _FS_MAX; f++)
        fs_free(fs[f]);
    if (interrupted) {
        fprintf(stderr, "bench-pmxcfs: interrupted\n");
        r = -EINTR;
    }
    return r;
}

int main(int argc, char *argv[]) {
    int r = run(argc, argv);
    cleanup();
    return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
