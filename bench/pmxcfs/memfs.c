/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * memfs: the "FUSE ceiling" reference for bench-pmxcfs. A trivial in-memory file system on the
 * high-level, path-based libfuse API with the multithreaded loop, where every open and create
 * sets direct_io, as upstream pmxcfs does. It keeps one hash table of full paths plus child
 * lists for readdir, all under one mutex, and does nothing else: no persistence, no permission
 * model beyond the mode bits the kernel sees, no limits. Whatever pmxcfs spends on top of this
 * is its own cost; what memfs spends is the kernel/libfuse round trip it cannot avoid.
 *
 * Usage: memfs [libfuse options] MOUNTPOINT   (e.g. `memfs -f /mnt/x`)
 *
 * bench/pmxcfs-cluster/memfs-cpg.c compiles this file with MEMFS_REPLICATE defined: every
 * mutating operation then first makes one CPG round trip, which gives the cluster bench the
 * same ceiling for a replicated FUSE file system.
 */
#define FUSE_USE_VERSION 312

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE(a, b) ((a) > (b) ? (a) : (b))

/* Replicate a mutating operation before applying it: 0, or a negative errno to return. */
#ifndef MEMFS_REPLICATE
#define MEMFS_REPLICATE(op, path, path2, data, len) 0
#endif

typedef struct Node Node;
struct Node {
    char *path;      /* full path, hash key */
    Node *hash_next; /* bucket chain */
    Node *parent;
    Node *child;    /* first child (directories) */
    Node *sib_prev; /* sibling list in parent */
    Node *sib_next;
    mode_t mode;
    char *data;
    size_t size;
    size_t cap;
    struct timespec mtime;
    struct timespec ctime;
    uint64_t ino;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Node **buckets;
static size_t n_buckets;
static size_t n_nodes;
static uint64_t next_ino = 1;

static uint64_t hash_path(const char *s) {
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * UINT64_C(1099511628211);
    return h;
}

static Node *find(const char *path) {
    for (Node *n = buckets[hash_path(path) & (n_buckets - 1)]; n; n = n->hash_next)
        if (strcmp(n->path, path) == 0)
            return n;
    return NULL;
}

static void hash_insert_raw(Node **b, size_t nb, Node *n) {
    size_t i = hash_path(n->path) & (nb - 1);
    n->hash_next = b[i];
    b[i] = n;
}

static int hash_insert(Node *n) {
    if (n_nodes + 1 > n_buckets) {
        size_t nb = n_buckets * 2;
        Node **b = calloc(nb, sizeof *b);
        if (!b)
            return -ENOMEM;
        for (size_t i = 0; i < n_buckets; i++)
            for (Node *m = buckets[i], *next; m; m = next) {
                next = m->hash_next;
                hash_insert_raw(b, nb, m);
            }
        free(buckets);
        buckets = b;
        n_buckets = nb;
    }
    hash_insert_raw(buckets, n_buckets, n);
    n_nodes++;
    return 0;
}

static void hash_remove(Node *n) {
    Node **p = &buckets[hash_path(n->path) & (n_buckets - 1)];
    while (*p != n)
        p = &(*p)->hash_next;
    *p = n->hash_next;
    n_nodes--;
}

static void link_child(Node *dir, Node *n) {
    n->parent = dir;
    n->sib_prev = NULL;
    n->sib_next = dir->child;
    if (dir->child)
        dir->child->sib_prev = n;
    dir->child = n;
}

static void unlink_child(Node *n) {
    if (n->sib_prev)
        n->sib_prev->sib_next = n->sib_next;
    else
        n->parent->child = n->sib_next;
    if (n->sib_next)
        n->sib_next->sib_prev = n->sib_prev;
    n->parent = n->sib_prev = n->sib_next = NULL;
}

static void node_free(Node *n) {
    if (!n)
        return;
    free(n->path);
    free(n->data);
    free(n);
}

/* Parent directory of `path` (which must not be "/"), or an error. */
static int parent_of(const char *path, Node **ret) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return -EINVAL;
    size_t len = slash == path ? 1 : (size_t) (slash - path);
    char buf[len + 1];
    memcpy(buf, path, len);
    buf[len] = '\0';
    Node *p = find(buf);
    if (!p)
        return -ENOENT;
    if (!S_ISDIR(p->mode))
        return -ENOTDIR;
    *ret = p;
    return 0;
}

static int new_node(const char *path, mode_t mode, Node **ret) {
    Node *dir, *n;
    int r = parent_of(path, &dir);
    if (r < 0)
        return r;
    if (find(path))
        return -EEXIST;
    n = calloc(1, sizeof *n);
    if (!n || !(n->path = strdup(path))) {
        node_free(n);
        return -ENOMEM;
    }
    n->mode = mode;
    n->ino = next_ino++;
    clock_gettime(CLOCK_REALTIME, &n->mtime);
    n->ctime = n->mtime;
    r = hash_insert(n);
    if (r < 0) {
        node_free(n);
        return r;
    }
    link_child(dir, n);
    dir->mtime = dir->ctime = n->mtime;
    *ret = n;
    return 0;
}

static void remove_node(Node *n) {
    clock_gettime(CLOCK_REALTIME, &n->parent->mtime);
    n->parent->ctime = n->parent->mtime;
    unlink_child(n);
    hash_remove(n);
    node_free(n);
}

static int resize(Node *n, size_t size) {
    if (size > n->cap) {
        size_t cap = MAX_SIZE(size, n->cap * 2); /* exact first, so 1 KiB files stay small */
        char *d = realloc(n->data, cap);
        if (!d)
            return -ENOMEM;
        n->data = d;
        n->cap = cap;
    }
    if (size > n->size)
        memset(n->data + n->size, 0, size - n->size);
    n->size = size;
    clock_gettime(CLOCK_REALTIME, &n->mtime);
    n->ctime = n->mtime;
    return 0;
}

/* Give `n` and all its descendants keys under `path` (a directory rename moves a subtree). */
static int rekey(Node *n, const char *path) {
    char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    hash_remove(n);
    free(n->path);
    n->path = p;
    (void) hash_insert(n); /* cannot grow: one node just left */
    for (Node *c = n->child; c; c = c->sib_next) {
        const char *base = strrchr(c->path, '/') + 1;
        size_t len = strlen(path) + 1 + strlen(base) + 1;
        char buf[len];
        snprintf(buf, len, "%s/%s", path, base);
        int r = rekey(c, buf);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- operations ------------------------------------------------------------------------- */

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
    (void) conn;
    cfg->use_ino = 1;
    return NULL;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
    (void) fi;
    pthread_mutex_lock(&lock);
    Node *n = find(path);
    if (n) {
        memset(st, 0, sizeof *st);
        st->st_ino = n->ino;
        st->st_mode = n->mode;
        st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
        st->st_size = (off_t) n->size;
        st->st_blksize = 4096;
        st->st_blocks = (st->st_size + 511) / 512;
        st->st_atim = st->st_mtim = n->mtime;
        st->st_ctim = n->ctime;
    }
    pthread_mutex_unlock(&lock);
    return n ? 0 : -ENOENT;
}

static int op_readdir(
    const char *path,
    void *buf,
    fuse_fill_dir_t filler,
    off_t offset,
    struct fuse_file_info *fi,
    enum fuse_readdir_flags flags
) {
    (void) offset;
    (void) fi;
    (void) flags;
    pthread_mutex_lock(&lock);
    Node *d = find(path);
    int r = !d ? -ENOENT : !S_ISDIR(d->mode) ? -ENOTDIR : 0;
    if (r == 0) {
        filler(buf, ".", NULL, 0, 0);
        filler(buf, "..", NULL, 0, 0);
        for (Node *c = d->child; c; c = c->sib_next)
            if (filler(buf, strrchr(c->path, '/') + 1, NULL, 0, 0))
                break;
    }
    pthread_mutex_unlock(&lock);
    return r;
}

static int op_mkdir(const char *path, mode_t mode) {
    int k = MEMFS_REPLICATE('d', path, NULL, NULL, 0);
    if (k < 0)
        return k;
    Node *n;
    pthread_mutex_lock(&lock);
    int r = new_node(path, S_IFDIR | (mode & 07777), &n);
    pthread_mutex_unlock(&lock);
    return r;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
    int k = MEMFS_REPLICATE('c', path, NULL, NULL, 0);
    if (k < 0)
        return k;
    Node *n;
    int r;
    pthread_mutex_lock(&lock);
    n = find(path);
    if (!n)
        r = new_node(path, S_IFREG | (mode & 07777), &n);
    else if (fi->flags & O_EXCL)
        r = -EEXIST;
    else if (S_ISDIR(n->mode))
        r = -EISDIR;
    else
        r = (fi->flags & O_TRUNC) ? resize(n, 0) : 0;
    pthread_mutex_unlock(&lock);
    fi->direct_io = 1;
    return r;
}

static int op_open(const char *path, struct fuse_file_info *fi) {
    int r = (fi->flags & O_TRUNC) ? MEMFS_REPLICATE('t', path, NULL, NULL, 0) : 0;
    if (r < 0)
        return r;
    pthread_mutex_lock(&lock);
    Node *n = find(path);
    if (!n)
        r = -ENOENT;
    else if (S_ISDIR(n->mode))
        r = -EISDIR;
    else if (fi->flags & O_TRUNC)
        r = resize(n, 0);
    pthread_mutex_unlock(&lock);
    fi->direct_io = 1;
    return r;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void) fi;
    int r = 0;
    pthread_mutex_lock(&lock);
    Node *n = find(path);
    if (!n)
        r = -ENOENT;
    else if ((size_t) off < n->size) {
        size_t len = n->size - (size_t) off;
        if (len > size)
            len = size;
        memcpy(buf, n->data + off, len);
        r = (int) len;
    }
    pthread_mutex_unlock(&lock);
    return r;
}

static int
op_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    int k = MEMFS_REPLICATE('w', path, NULL, buf, size);
    if (k < 0)
        return k;
    (void) fi;
    int r;
    pthread_mutex_lock(&lock);
    Node *n = find(path);
    if (!n)
        r = -ENOENT;
    else if (off < 0 || size > INT32_MAX || (size_t) off > SIZE_MAX - size)
        r = -EFBIG;
    else if ((r = resize(n, MAX_SIZE((size_t) off + size, n->size))) == 0) {
        memcpy(n->data + off, buf, size);
        r = (int) size;
    }
    pthread_mutex_unlock(&lock);
    return r;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
    int k = MEMFS_REPLICATE('t', path, NULL, NULL, 0);
    if (k < 0)
        return k;
    (void) fi;
    int r;
    pthread_mutex_lock(&lock);
    Node *n = find(path);
    r = !n ? -ENOENT : S_ISDIR(n->mode) ? -EISDIR : size < 0 ? -EINVAL : resize(n, (size_t) size);
    pthread_mutex_unlock(&lock);
    return r;
}

static int op_unlink(const char *path) {
    int k = MEMFS_REPLICATE('u', path, NULL, NULL, 0);
    if (k < 0)
        return k;
    int r = 0;
    pthread_mutex_lock(&lock);
    Node *n = find(path);
    if (!n)
        r = -ENOENT;
    else if (S_ISDIR(n->mode))
        r = -EISDIR;
    else
        remove_node(n);
    pthread_mutex_unlock(&lock);
    return r;
}

static int op_rmdir(const char *path) {
    int k = MEMFS_REPLICATE('r', path, NULL, NULL, 0);
    if (k < 0)
        return k;
    int r = 0;
    pthread_mutex_lock(&lock);
    Node *n = find(path);
    if (!n)
        r = -ENOENT;
    else if (!S_ISDIR(n->mode))
        r = -ENOTDIR;
    else if (n->child)
        r = -ENOTEMPTY;
    else if (!n->parent)
        r = -EBUSY;
    else
        remove_node(n);
    pthread_mutex_unlock(&lock);
    return r;
}

static int op_rename(const char *from, const char *to, unsigned int flags) {
    Node *src, *dst, *dir;
    int r;
    if (flags & ~(unsigned) RENAME_NOREPLACE)
        return -EINVAL;
    r = MEMFS_REPLICATE('n', from, to, NULL, 0);
    if (r < 0)
        return r;
    pthread_mutex_lock(&lock);
    src = find(from);
    dst = find(to);
    size_t from_len = strlen(from);
    if (!src || !src->parent)
        r = !src ? -ENOENT : -EBUSY;
    else if ((r = parent_of(to, &dir)) < 0)
        ;
    else if (strncmp(to, from, from_len) == 0 && to[from_len] == '/')
        r = -EINVAL; /* into its own subtree */
    else if (dst == src)
        r = 0;
    else if (dst && (flags & RENAME_NOREPLACE))
        r = -EEXIST;
    else if (dst && S_ISDIR(dst->mode) && !S_ISDIR(src->mode))
        r = -EISDIR;
    else if (dst && !S_ISDIR(dst->mode) && S_ISDIR(src->mode))
        r = -ENOTDIR;
    else if (dst && dst->child)
        r = -ENOTEMPTY;
    else {
        if (dst)
            remove_node(dst);
        clock_gettime(CLOCK_REALTIME, &src->parent->mtime);
        src->parent->ctime = src->parent->mtime;
        unlink_child(src);
        link_child(dir, src);
        dir->mtime = dir->ctime = src->parent->mtime;
        src->ctime = dir->mtime;
        r = rekey(src, to);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
    int k = MEMFS_REPLICATE('m', path, NULL, NULL, 0);
    if (k < 0)
        return k;
    (void) fi;
    int r = 0;
    pthread_mutex_lock(&lock);
    Node *n = find(path);
    if (!n)
        r = -ENOENT;
    else if (tv[1].tv_nsec == UTIME_NOW)
        clock_gettime(CLOCK_REALTIME, &n->mtime);
    else if (tv[1].tv_nsec != UTIME_OMIT)
        n->mtime = tv[1];
    pthread_mutex_unlock(&lock);
    return r;
}

static int op_release(const char *path, struct fuse_file_info *fi) {
    (void) path;
    (void) fi;
    return 0;
}

static const struct fuse_operations memfs_ops = {
    .init = op_init,
    .getattr = op_getattr,
    .readdir = op_readdir,
    .mkdir = op_mkdir,
    .create = op_create,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .truncate = op_truncate,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .rename = op_rename,
    .utimens = op_utimens,
    .release = op_release,
};

int main(int argc, char *argv[]) {
    n_buckets = 1024;
    buckets = calloc(n_buckets, sizeof *buckets);
    Node *root = calloc(1, sizeof *root);
    if (!buckets || !root || !(root->path = strdup("/"))) {
        fprintf(stderr, "memfs: out of memory\n");
        return EXIT_FAILURE;
    }
    root->mode = S_IFDIR | 0755;
    root->ino = next_ino++;
    clock_gettime(CLOCK_REALTIME, &root->mtime);
    root->ctime = root->mtime;
    (void) hash_insert(root);
    return fuse_main(argc, argv, &memfs_ops, NULL);
}
