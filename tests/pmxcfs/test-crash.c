/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Crash safety of pmxcfs (specs/pmxcfs.md §2 "How a change is persisted"): every operation
 * that returned success through the mount must survive a SIGKILL of the daemon.
 *
 * Each round a writer process runs a deterministic random stream of operations (create, write
 * at offsets, overwrite via tmp + rename, truncate, unlink, mkdir, rmdir, rename) below c/ in
 * the mount, publishing in shared memory how many it started and how many returned success.
 * After 0-50 ms pmxcfs gets SIGKILL, the dead mount is detached, the writer stops on ENOTCONN,
 * and pmxcfs is restarted on the same database. The parent replays the same stream on its
 * model (same seed, same generator) up to the last successful operation, and the tree below
 * c/ must equal that model exactly, or the model plus the one operation that was in flight.
 *
 * Usage: test-pmxcfs-crash <path to pmxcfs>. Environment: PVE_TEST_CRASH_ROUNDS (default
 * 200), PVE_TEST_CRASH_SEED. Prints TAP; exit 0 pass, 1 fail, 77 skip.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfs-harness.h"

#define MAX_NODES 160
#define MAX_DATA  6144
#define MAX_QUEUE 4
#define TOP       "c"

typedef struct Node {
    char path[64]; /* relative to TOP, "" is TOP itself */
    bool dir;
    size_t len;
    unsigned char data[MAX_DATA];
} Node;

typedef struct Model {
    size_t n;
    Node nodes[MAX_NODES];
} Model;

typedef enum OpKind {
    OP_CREATE,
    OP_WRITE,
    OP_TRUNCATE,
    OP_UNLINK,
    OP_MKDIR,
    OP_RMDIR,
    OP_RENAME,
} OpKind;

static const char *const op_names[] = {"create", "write", "truncate", "unlink",
                                       "mkdir",  "rmdir", "rename"};

typedef struct Op {
    OpKind kind;
    char path[64], to[64];
    size_t offset, len; /* write: offset + len bytes of data; truncate: offset = new size */
    unsigned char data[MAX_DATA];
} Op;

/* Generator state besides the model: the PRNG and queued steps of a tmp + rename overwrite. */
typedef struct Gen {
    uint64_t rng;
    size_t queued, next;
    Op queue[MAX_QUEUE];
} Gen;

/* What the writer publishes. */
typedef struct Shared {
    volatile uint64_t started, completed;
    volatile int error;       /* errno of the failed operation */
    volatile int killed;      /* set by the parent before it kills pmxcfs */
    volatile int early_error; /* an operation failed before the kill */
    volatile size_t written;  /* bytes a short write(2) reported */
} Shared;

static Harness H;

/* ---- model ------------------------------------------------------------------------------ */

static uint64_t rnd(Gen *g) {
    uint64_t x = g->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return g->rng = x;
}

static size_t rnd_below(Gen *g, size_t n) {
    return n ? (size_t) (rnd(g) % n) : 0;
}

static Node *find(Model *m, const char *path) {
    for (size_t i = 0; i < m->n; i++)
        if (streq(m->nodes[i].path, path))
            return &m->nodes[i];
    return NULL;
}

static void parent_of(const char *path, char *buf, size_t size) {
    const char *slash = strrchr(path, '/');
    snprintf(buf, size, "%.*s", slash ? (int) (slash - path) : 0, path);
}

static bool dir_empty(const Model *m, const char *path) {
    size_t l = strlen(path);
    for (size_t i = 0; i < m->n; i++) {
        const char *p = m->nodes[i].path;
        if (*p && (l == 0 ? strchr(p, '/') == NULL : (strncmp(p, path, l) == 0 && p[l] == '/')))
            return false;
    }
    return true;
}

static void model_remove(Model *m, Node *n) {
    *n = m->nodes[--m->n];
}

static void model_apply(Model *m, const Op *op) {
    Node *n = find(m, op->path);
    switch (op->kind) {
    case OP_CREATE:
    case OP_MKDIR:
        n = &m->nodes[m->n++];
        snprintf(n->path, sizeof n->path, "%s", op->path);
        n->dir = op->kind == OP_MKDIR;
        n->len = 0;
        break;
    case OP_WRITE:
        if (op->offset > n->len)
            memset(n->data + n->len, 0, op->offset - n->len);
        memcpy(n->data + op->offset, op->data, op->len);
        n->len = MAX(n->len, op->offset + op->len);
        break;
    case OP_TRUNCATE:
        if (op->offset > n->len)
            memset(n->data + n->len, 0, op->offset - n->len);
        n->len = op->offset;
        break;
    case OP_UNLINK:
    case OP_RMDIR:
        model_remove(m, n);
        break;
    case OP_RENAME: {
        Node *t = find(m, op->to); /* replaced, if present (never n itself) */
        snprintf(n->path, sizeof n->path, "%s", op->to);
        if (t)
            model_remove(m, t); /* may move n into t's slot, already renamed */
        break;
    }
    }
}

/* Pick a random node matching the predicate; NULL if none. */
static Node *pick(Gen *g, Model *m, int want_dir, bool with_top) {
    size_t idx[MAX_NODES], k = 0;
    for (size_t i = 0; i < m->n; i++)
        if ((want_dir < 0 || m->nodes[i].dir == (want_dir == 1)) &&
            (with_top || m->nodes[i].path[0]))
            idx[k++] = i;
    return k ? &m->nodes[idx[rnd_below(g, k)]] : NULL;
}

/* dir/name into buf; false if it does not fit (the generator's names always do). */
static bool join(char *buf, size_t size, const char *dir, const char *name) {
    size_t ld = strlen(dir), ln = strlen(name);
    if (ld + 1 + ln + 1 > size)
        return false;
    memcpy(buf, dir, ld);
    if (ld)
        buf[ld++] = '/';
    memcpy(buf + ld, name, ln + 1);
    return true;
}

static size_t depth(const char *path) {
    size_t d = *path ? 1 : 0;
    for (; *path; path++)
        d += *path == '/';
    return d;
}

static void fill(Gen *g, unsigned char *p, size_t len) {
    uint64_t x = rnd(g);
    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0)
            x = rnd(g);
        p[i] = (unsigned char) (x >> (8 * (i % 8)));
    }
}

/* A new name (file or dir) below a random existing dir, not taken yet; false if none. */
static bool new_name(Gen *g, Model *m, bool dir, char *buf, size_t size) {
    for (int tries = 0; tries < 8; tries++) {
        Node *d = pick(g, m, 1, true);
        if (!d || (dir && depth(d->path) >= 2))
            continue;
        char name[16];
        snprintf(name, sizeof name, dir ? "d%zu" : "f%zu", rnd_below(g, dir ? 4 : 10));
        join(buf, size, d->path, name);
        if (!find(m, buf))
            return true;
    }
    return false;
}

/* Next operation of the stream; only reads the model, advances the generator. */
static void generate(Gen *g, Model *m, Op *op) {
    if (g->next < g->queued) {
        *op = g->queue[g->next++];
        return;
    }
    g->next = g->queued = 0;
    for (;;) {
        memset(op, 0, offsetof(Op, data));
        size_t r = rnd_below(g, 100);
        Node *n;
        if (r < 15 || m->n < 4) {
            if (m->n < MAX_NODES - 8 && new_name(g, m, false, op->path, sizeof op->path)) {
                op->kind = OP_CREATE;
                return;
            }
        } else if (r < 40) {
            if ((n = pick(g, m, 0, false))) {
                op->kind = OP_WRITE;
                snprintf(op->path, sizeof op->path, "%s", n->path);
                op->offset = rnd_below(g, n->len + 100);
                op->len = 1 + rnd_below(g, 3000);
                if (op->offset >= MAX_DATA)
                    op->offset = 0;
                op->len = MIN(op->len, MAX_DATA - op->offset);
                fill(g, op->data, op->len);
                return;
            }
        } else if (r < 55) {
            /* PVE's way: write a tmp file, rename it over the target. */
            if ((n = pick(g, m, 0, false)) && m->n < MAX_NODES - 8) {
                char dir[64], tmp[64];
                parent_of(n->path, dir, sizeof dir);
                join(tmp, sizeof tmp, dir, "new.tmp");
                if (find(m, tmp))
                    continue;
                Op *q = g->queue;
                memset(q, 0, 3 * sizeof *q);
                q[0].kind = OP_CREATE;
                snprintf(q[0].path, sizeof q[0].path, "%s", tmp);
                q[1].kind = OP_WRITE;
                snprintf(q[1].path, sizeof q[1].path, "%s", tmp);
                q[1].len = 1 + rnd_below(g, 4000);
                fill(g, q[1].data, q[1].len);
                q[2].kind = OP_RENAME;
                snprintf(q[2].path, sizeof q[2].path, "%s", tmp);
                snprintf(q[2].to, sizeof q[2].to, "%s", n->path);
                g->queued = 3;
                g->next = 1;
                *op = q[0];
                return;
            }
        } else if (r < 63) {
            if ((n = pick(g, m, 0, false))) {
                op->kind = OP_TRUNCATE;
                snprintf(op->path, sizeof op->path, "%s", n->path);
                op->offset = rnd_below(g, n->len + 200);
                op->offset = MIN(op->offset, (size_t) MAX_DATA);
                return;
            }
        } else if (r < 72) {
            if ((n = pick(g, m, 0, false))) {
                op->kind = OP_UNLINK;
                snprintf(op->path, sizeof op->path, "%s", n->path);
                return;
            }
        } else if (r < 80) {
            if (m->n < MAX_NODES - 8 && new_name(g, m, true, op->path, sizeof op->path)) {
                op->kind = OP_MKDIR;
                return;
            }
        } else if (r < 86) {
            if ((n = pick(g, m, 1, false)) && dir_empty(m, n->path)) {
                op->kind = OP_RMDIR;
                snprintf(op->path, sizeof op->path, "%s", n->path);
                return;
            }
        } else {
            Node *d;
            if ((n = pick(g, m, 0, false)) && (d = pick(g, m, 1, true))) {
                char name[16];
                snprintf(name, sizeof name, "f%zu", rnd_below(g, 10));
                join(op->to, sizeof op->to, d->path, name);
                Node *t = find(m, op->to);
                if (t == n || (t && t->dir))
                    continue;
                op->kind = OP_RENAME;
                snprintf(op->path, sizeof op->path, "%s", n->path);
                return;
            }
        }
    }
}

static void describe(const Op *op, char *buf, size_t size) {
    switch (op->kind) {
    case OP_WRITE:
        snprintf(buf, size, "write %s @%zu +%zu", op->path, op->offset, op->len);
        break;
    case OP_TRUNCATE:
        snprintf(buf, size, "truncate %s to %zu", op->path, op->offset);
        break;
    case OP_RENAME:
        snprintf(buf, size, "rename %s -> %s", op->path, op->to);
        break;
    default:
        snprintf(buf, size, "%s %s", op_names[op->kind], op->path);
    }
}

/* ---- the writer ------------------------------------------------------------------------- */

/* Run one operation through the mount (relative to the mount root fd); 0 or -1 + errno.
 * A short write(2) is a failure with *ret_written set to what it reported. */
static int execute(int root, const Op *op, size_t *ret_written) {
    char p[80], t[80];
    snprintf(p, sizeof p, TOP "/%s", op->path);
    snprintf(t, sizeof t, TOP "/%s", op->to);
    int fd, r;
    switch (op->kind) {
    case OP_CREATE:
        fd = openat(root, p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640);
        if (fd < 0)
            return -1;
        (void) close(fd);
        return 0;
    case OP_WRITE:
        fd = openat(root, p, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        r = (int) pwrite(fd, op->data, op->len, (off_t) op->offset);
        if (r >= 0 && (size_t) r != op->len) {
            *ret_written = (size_t) r;
            errno = EIO;
            r = -1;
        }
        if (r >= 0)
            r = 0;
        int e = errno;
        (void) close(fd);
        errno = e;
        return r;
    case OP_TRUNCATE:
        fd = openat(root, p, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        r = ftruncate(fd, (off_t) op->offset);
        e = errno;
        (void) close(fd);
        errno = e;
        return r;
    case OP_UNLINK:
        return unlinkat(root, p, 0);
    case OP_MKDIR:
        return mkdirat(root, p, 0755);
    case OP_RMDIR:
        return unlinkat(root, p, AT_REMOVEDIR);
    case OP_RENAME:
        return renameat(root, p, root, t);
    }
    errno = EINVAL;
    return -1;
}

static _Noreturn void writer(Shared *sh, Model *m, Gen g) {
    int root = open(H.mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        sh->error = errno;
        sh->early_error = !sh->killed;
        _exit(0);
    }
    Op *op = malloc(sizeof *op);
    for (uint64_t i = 0; i < 1000000; i++) {
        generate(&g, m, op);
        sh->started = i + 1;
        __sync_synchronize();
        size_t written = 0;
        if (execute(root, op, &written) < 0) {
            sh->error = errno;
            sh->written = written;
            __sync_synchronize();
            sh->early_error = !sh->killed;
            _exit(0);
        }
        model_apply(m, op);
        __sync_synchronize();
        sh->completed = i + 1;
    }
    _exit(0);
}

/* ---- verification ----------------------------------------------------------------------- */

static int cmp_node(const void *a, const void *b) {
    return strcmp(((const Node *) a)->path, ((const Node *) b)->path);
}

/* Read the tree below TOP from the mount into a model. */
static int read_tree(Model *out, const char *rel) {
    char dirpath[256];
    snprintf(dirpath, sizeof dirpath, "%s/" TOP "%s%s", H.mnt, *rel ? "/" : "", rel);
    DIR *d = opendir(dirpath);
    if (!d)
        return -errno;
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d))) {
        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
            continue;
        if (out->n >= MAX_NODES) {
            r = -ENOSPC;
            break;
        }
        Node *n = &out->nodes[out->n++];
        char full[320];
        if (!join(n->path, sizeof n->path, rel, de->d_name) ||
            !join(full, sizeof full, dirpath, de->d_name)) {
            r = -ENAMETOOLONG;
            break;
        }
        struct stat st;
        if (lstat(full, &st) < 0) {
            r = -errno;
            break;
        }
        n->dir = S_ISDIR(st.st_mode);
        n->len = 0;
        if (n->dir) {
            char sub[64];
            snprintf(sub, sizeof sub, "%s", n->path);
            r = read_tree(out, sub);
        } else {
            int fd = open(full, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                r = -errno;
                break;
            }
            ssize_t k;
            while ((k = read(fd, n->data + n->len, MAX_DATA - n->len)) > 0)
                n->len += (size_t) k;
            if (k < 0)
                r = -errno;
            close(fd);
            if (n->len != (size_t) st.st_size)
                r = -EBADMSG;
        }
    }
    closedir(d);
    return r;
}

static bool models_equal(Model *a, Model *b) {
    if (a->n != b->n)
        return false;
    qsort(a->nodes, a->n, sizeof a->nodes[0], cmp_node);
    qsort(b->nodes, b->n, sizeof b->nodes[0], cmp_node);
    for (size_t i = 0; i < a->n; i++) {
        const Node *x = &a->nodes[i], *y = &b->nodes[i];
        if (!streq(x->path, y->path) || x->dir != y->dir || x->len != y->len ||
            memcmp(x->data, y->data, x->len) != 0)
            return false;
    }
    return true;
}

static void print_data(const char *label, const Node *n) {
    char out[2 * 96 + 1];
    size_t k = 0;
    for (size_t i = 0; n && i < MIN(n->len, (size_t) 96); i++)
        k += (size_t) snprintf(out + k, sizeof out - k, "%02x", n->data[i]);
    out[k] = '\0';
    if (!n)
        tap_diag("    %s: (absent)", label);
    else if (n->dir)
        tap_diag("    %s: directory", label);
    else
        tap_diag("    %s: %zu bytes: %s%s", label, n->len, out, n->len > 96 ? "..." : "");
}

/* Every path whose state differs between the expectation and the mount. */
static void print_diff(Model *want, Model *got) {
    for (size_t i = 0; i < want->n; i++) {
        Node *w = &want->nodes[i], *g = find(got, w->path);
        if (!g || g->dir != w->dir || g->len != w->len || memcmp(g->data, w->data, w->len) != 0) {
            tap_diag("  %s:", w->path[0] ? w->path : "(top)");
            print_data("expected", w);
            print_data("found   ", g);
        }
    }
    for (size_t i = 0; i < got->n; i++)
        if (!find(want, got->nodes[i].path)) {
            tap_diag("  %s:", got->nodes[i].path);
            print_data("expected", NULL);
            print_data("found   ", &got->nodes[i]);
        }
}

/* Is got the model plus a prefix (at least min bytes, less than all) of the in-flight write?
 * The kernel splits a write(2) that starts inside an uncached page at the page boundary, so a
 * kill between the two FUSE requests leaves the first part, and write(2) reports it as a
 * short count (POSIX semantics; upstream's direct_io sends one request). */
static bool partial_write_matches(Model *model, Model *got, const Op *op, size_t min) {
    static const unsigned char zeros[MAX_DATA];
    Node *want = find(model, op->path), *have = find(got, op->path);
    if (op->kind != OP_WRITE || !want || !have || got->n != model->n)
        return false;
    for (size_t i = 0; i < model->n; i++) {
        Node *a = &model->nodes[i], *b = find(got, a->path);
        if (a == want)
            continue;
        if (!b || a->dir != b->dir || a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
            return false;
    }
    size_t keep = MIN(want->len, op->offset);
    size_t hole = op->offset > want->len ? op->offset - want->len : 0;
    if (memcmp(have->data, want->data, keep) != 0 || memcmp(have->data + keep, zeros, hole) != 0)
        return false;
    for (size_t p = MAX(min, (size_t) 1); p < op->len; p++) {
        size_t end = op->offset + p, len = MAX(want->len, end);
        if (have->len == len && memcmp(have->data + op->offset, op->data, p) == 0 &&
            memcmp(have->data + end, want->data + end, len - end) == 0)
            return true;
    }
    return false;
}

/* ---- main ------------------------------------------------------------------------------- */

static unsigned env_unsigned(const char *name, unsigned def) {
    const char *v = getenv(name);
    return v && *v ? (unsigned) strtoul(v, NULL, 0) : def;
}

int main(int argc, char *argv[]) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s /path/to/pmxcfs\n", argv[0]);
        return EXIT_FAILURE;
    }
    int r = harness_enter_namespace();
    if (r != 0)
        return r;
    unsigned rounds = env_unsigned("PVE_TEST_CRASH_ROUNDS", 200);
    unsigned seed =
        env_unsigned("PVE_TEST_CRASH_SEED", (unsigned) time(NULL) ^ (unsigned) getpid());
    tap_diag("%u rounds, seed %u (PVE_TEST_CRASH_SEED to repeat)", rounds, seed);

    if (harness_init(&H, argv[1]) < 0) {
        printf("Bail out! cannot create a tmpdir: %m\n");
        return EXIT_FAILURE;
    }
    Shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    Model *model = calloc(1, sizeof *model), *alt = calloc(1, sizeof *alt),
          *got = calloc(1, sizeof *got);
    Op *op = malloc(sizeof *op);
    if (sh == MAP_FAILED || !model || !alt || !got || !op) {
        printf("Bail out! out of memory\n");
        return EXIT_FAILURE;
    }

    char top[200];
    snprintf(top, sizeof top, "%s/" TOP, H.mnt);
    if (!tap(harness_start(&H) == 0, "pmxcfs starts") ||
        !tap(mkdir(top, 0755) == 0, "mkdir " TOP)) {
        harness_cleanup(&H);
        return tap_finish();
    }
    model->n = 1; /* TOP itself, path "" */
    model->nodes[0].dir = true;

    double t0 = now_seconds();
    uint64_t total_ops = 0;
    unsigned inflight_applied = 0, inflight_lost = 0, inflight_partial = 0, failed_rounds = 0,
             kills = 0;
    for (unsigned round = 0; round < rounds && failed_rounds == 0; round++) {
        Gen gen = {.rng = ((uint64_t) seed << 32 | round) * 0x9E3779B97F4A7C15ULL | 1};
        memset(sh, 0, sizeof *sh);
        fflush(stdout);
        pid_t w = fork();
        if (w == 0)
            writer(sh, model, gen);
        if (w < 0) {
            tap(false, "fork: %m");
            break;
        }
        sleep_ms((unsigned) (rnd(&(Gen){.rng = gen.rng ^ 0xabcdef}) % 51));
        sh->killed = 1;
        __sync_synchronize();
        (void) kill(H.pid, SIGKILL);
        (void) harness_wait(H.pid, 20);
        H.pid = 0;
        kills++;
        int ws = harness_wait(w, 20);
        if (ws == -ETIMEDOUT) {
            (void) kill(w, SIGKILL);
            (void) harness_wait(w, 5);
            tap(false, "round %u: the writer did not stop after the kill", round);
            failed_rounds++;
            break;
        }
        harness_umount(&H);
        if (sh->early_error) {
            tap(false, "round %u: an operation failed before the kill: %s", round,
                strerror(sh->error));
            failed_rounds++;
            break;
        }
        uint64_t started = sh->started, completed = sh->completed;

        /* Replay the stream on the model. */
        Gen replay = gen;
        for (uint64_t i = 0; i < completed; i++) {
            generate(&replay, model, op);
            model_apply(model, op);
        }
        bool inflight = started > completed;
        char what[200] = "none";
        memcpy(alt, model, sizeof *model);
        if (inflight) {
            generate(&replay, model, op);
            model_apply(alt, op);
            describe(op, what, sizeof what);
        }
        total_ops += completed;

        if (harness_start(&H) < 0) {
            tap(false, "round %u: pmxcfs restarts after the kill (last op: %s)", round, what);
            failed_rounds++;
            break;
        }
        memset(got, 0, sizeof *got);
        got->n = 1; /* TOP */
        got->nodes[0].dir = true;
        r = read_tree(got, "");
        if (r < 0) {
            tap(false, "round %u: reading the tree back: %s", round, strerror(-r));
            failed_rounds++;
            break;
        }
        if (models_equal(model, got)) {
            inflight_lost += inflight;
        } else if (inflight && models_equal(alt, got)) {
            inflight_applied++;
            memcpy(model, alt, sizeof *model);
        } else if (inflight && partial_write_matches(model, got, op, sh->written)) {
            inflight_partial++;
            memcpy(model, got, sizeof *model);
        } else {
            tap(false,
                "round %u: tree differs from the %llu successful operations (in flight: %s, writer "
                "saw %s)",
                round, (unsigned long long) completed, what, strerror(sh->error));
            print_diff(model, got);
            failed_rounds++;
            break;
        }
    }
    double elapsed = now_seconds() - t0;
    tap(failed_rounds == 0 && kills >= rounds,
        "%u SIGKILLs: every successful operation survived (%llu operations)", kills,
        (unsigned long long) total_ops);
    tap_diag(
        "%u kills in %.1f s; in-flight operation applied %u times, not applied %u times, "
        "partially applied (split write) %u times",
        kills, elapsed, inflight_applied, inflight_lost, inflight_partial
    );

    if (H.pid > 0) {
        int status = harness_stop(&H, SIGTERM);
        tap(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "final stop is clean (status 0x%x)", status);
    }
    if (tap_failures)
        harness_print_log(&H);
    harness_cleanup(&H);
    munmap(sh, sizeof *sh);
    free(model);
    free(alt);
    free(got);
    free(op);
    return tap_finish();
}
