/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Low-level FUSE front end of pmxcfs. Unlike upstream's path-based, direct_io mount, entries
 * and attributes are cached by the kernel (entry/attr timeouts, keep_cache) and FLUSH is
 * answered with ENOSYS once so the kernel stops sending it; every change that does not come
 * through this mount is pushed out with explicit invalidations (cfs_fuse_invalidate_*).
 * Generated dot-files stay direct_io so they are regenerated on every open. In a cluster, the
 * answer to a replicated operation leaves from the thread that applies its own delivery
 * (submit_reply), so the caller does not wait for this FUSE thread to be woken first.
 */
#define FUSE_USE_VERSION 312
#include "cfs-fuse.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pve/log.h"
#include "pve/paths.h"

#define PLUG_INO_BASE (UINT64_C(1) << 62)

enum { LINK_LOCAL, LINK_QEMU, LINK_LXC, LINK_OPENVZ, _LINK_MAX };
static const char *const link_names[_LINK_MAX] = {"local", "qemu-server", "lxc", "openvz"};
static const char *const link_suffix[_LINK_MAX] = {"", "/qemu-server", "/lxc", "/openvz"};

/* Open file and directory handles are linked into their CfsFuse: after an unmount the kernel
 * sends no RELEASE for handles still open, so teardown frees whatever is left. */
typedef struct HandleLink {
    struct HandleLink *prev, *next;
    bool dir;
} HandleLink;

typedef struct Inval {
    struct Inval *next;
    bool all;
    bool content_only; /* keep the directory entry, drop the inode's attributes and data */
    char path[];
} Inval;

struct CfsFuse {
    CfsFuseConfig cfg;
    struct fuse_session *se;
    char *link_target[_LINK_MAX];
    bool mounted;
    /* Invalidations run on their own thread: the kernel may need a lock that a FUSE request
     * holds while it waits for the cluster thread that asked for the invalidation. */
    pthread_t inval_thread;
    bool inval_started, inval_stop;
    pthread_mutex_t inval_lock;
    pthread_cond_t inval_cond;
    Inval *inval_head, *inval_tail;
    pthread_mutex_t handles_lock;
    HandleLink handles; /* list head */
    volatile bool loop_done;
};

static void handle_track(CfsFuse *f, HandleLink *l, bool dir) {
    pthread_mutex_lock(&f->handles_lock);
    l->dir = dir;
    l->prev = &f->handles;
    l->next = f->handles.next;
    f->handles.next->prev = l;
    f->handles.next = l;
    pthread_mutex_unlock(&f->handles_lock);
}

static void handle_untrack(CfsFuse *f, HandleLink *l) {
    pthread_mutex_lock(&f->handles_lock);
    l->prev->next = l->next;
    l->next->prev = l->prev;
    pthread_mutex_unlock(&f->handles_lock);
}

typedef struct DirHandle {
    HandleLink link;
    size_t n;
    struct {
        fuse_ino_t ino;
        mode_t type;
        char *name;
    } * e;
} DirHandle;

typedef struct PlugHandle {
    HandleLink link;
    char *data;
    size_t len;
} PlugHandle;

static CfsFuse *fs_of(fuse_req_t req) {
    return fuse_req_userdata(req);
}

static bool quorate(CfsFuse *f) {
    return !f->cfg.quorate || f->cfg.quorate(f->cfg.userdata);
}

mode_t cfs_fuse_mode(uint8_t type, bool private_path, bool is_quorate) {
    mode_t m;
    if (type == MEMDB_TYPE_DIR) {
        m = is_quorate ? 0777 : 0555;
        m &= private_path ? 0700 : 0755;
        return S_IFDIR | m;
    }
    m = is_quorate ? 0666 : 0444;
    m &= private_path ? 0600 : 0640;
    return S_IFREG | m;
}

/* ---- plugs ------------------------------------------------------------------------------ */

static size_t n_plug_inodes(CfsFuse *f) {
    return _LINK_MAX + f->cfg.n_plugs;
}

static bool is_plug_ino(fuse_ino_t ino) {
    return ino >= PLUG_INO_BASE;
}

/* Index of a root-level plug name, or -1. */
static ssize_t plug_by_name(CfsFuse *f, const char *name) {
    for (size_t i = 0; i < _LINK_MAX; i++)
        if (strcmp(name, link_names[i]) == 0)
            return (ssize_t) i;
    for (size_t i = 0; i < f->cfg.n_plugs; i++)
        if (strcmp(name, f->cfg.plugs[i].name) == 0)
            return (ssize_t) (_LINK_MAX + i);
    return -1;
}

static const CfsPlugFile *plug_file(CfsFuse *f, fuse_ino_t ino) {
    size_t i = ino - PLUG_INO_BASE;
    return i >= _LINK_MAX && i < n_plug_inodes(f) ? &f->cfg.plugs[i - _LINK_MAX] : NULL;
}

static int plug_stat(CfsFuse *f, fuse_ino_t ino, struct stat *st) {
    size_t i = ino - PLUG_INO_BASE;
    if (i >= n_plug_inodes(f))
        return -ENOENT;
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    st->st_uid = 0;
    st->st_gid = f->cfg.www_gid;
    st->st_nlink = 1;
    st->st_blksize = 4096;
    if (i < _LINK_MAX) {
        st->st_mode = S_IFLNK | (quorate(f) ? 0755 : 0555);
        st->st_size = (off_t) strlen(f->link_target[i]);
        return 0;
    }
    const CfsPlugFile *p = &f->cfg.plugs[i - _LINK_MAX];
    st->st_mode = S_IFREG | p->mode;
    /* Size of the current content, so tools that trust st_size read it all. */
    char *data = NULL;
    size_t len = 0;
    if (p->generate && p->generate(p->userdata, &data, &len) >= 0)
        st->st_size = (off_t) len;
    free(data);
    return 0;
}

/* ---- stat helpers ----------------------------------------------------------------------- */

static void fill_stat(CfsFuse *f, const MemdbStat *ms, struct stat *st) {
    memset(st, 0, sizeof *st);
    st->st_ino = ms->inode + 1;
    st->st_mode = cfs_fuse_mode(ms->type, ms->private_path, quorate(f));
    st->st_nlink = ms->type == MEMDB_TYPE_DIR ? 2 : 1;
    st->st_uid = 0;
    st->st_gid = f->cfg.www_gid;
    st->st_size = ms->size;
    st->st_blksize = 4096;
    st->st_blocks = ((off_t) ms->size + 511) / 512;
    time_t t = ms->inode == 0 ? 0 : (time_t) ms->mtime;
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = t;
}

static int ino_stat(CfsFuse *f, fuse_ino_t ino, struct stat *st) {
    if (is_plug_ino(ino))
        return plug_stat(f, ino, st);
    MemdbStat ms;
    int r = memdb_stat_inode(f->cfg.memdb, ino - 1, &ms);
    if (r < 0)
        return r;
    fill_stat(f, &ms, st);
    return 0;
}

static void reply_entry(fuse_req_t req, CfsFuse *f, fuse_ino_t ino) {
    struct fuse_entry_param e = {0};
    int r = ino_stat(f, ino, &e.attr);
    if (r < 0) {
        fuse_reply_err(req, -r);
        return;
    }
    e.ino = ino;
    e.generation = 1;
    e.attr_timeout = f->cfg.cache_timeout;
    e.entry_timeout = f->cfg.cache_timeout;
    fuse_reply_entry(req, &e);
}

/* Path of child `name` in directory `parent` (malloc'd). */
static int child_path(CfsFuse *f, fuse_ino_t parent, const char *name, char **ret) {
    if (is_plug_ino(parent))
        return -ENOTDIR;
    _cleanup_free_ char *dir = NULL;
    int r = memdb_inode_path(f->cfg.memdb, parent - 1, &dir);
    if (r < 0)
        return r;
    if (asprintf(ret, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
        return -ENOMEM;
    return 0;
}

static uint32_t now32(void) {
    return (uint32_t) time(NULL);
}

/* Hand a mutation to the cluster layer (done: see CfsFuseConfig.submit), or apply it locally
 * as writer 0. */
static int
submit_with(CfsFuse *f, const MemdbOp *op, const CfsSubmitDone *done, bool *ret_done_ran) {
    if (f->cfg.submit)
        return f->cfg.submit(f->cfg.submit_userdata, op, done, ret_done_ran);
    return memdb_apply(f->cfg.memdb, op, 0, now32());
}

static int submit(CfsFuse *f, const MemdbOp *op) {
    return submit_with(f, op, NULL, NULL);
}

/*
 * Submit and answer: reply(ctx, result) sends the FUSE answer. In a cluster the delivering
 * thread runs it as soon as the operation's own delivery is applied, so the caller's
 * syscall returns without first waking this FUSE thread; otherwise it runs here. Either way
 * it runs exactly once, and ctx (on this thread's stack) outlives it.
 */
static void
submit_reply(CfsFuse *f, const MemdbOp *op, void (*reply)(void *ctx, int r), void *ctx) {
    bool ran = false;
    int r = submit_with(f, op, &(CfsSubmitDone){reply, ctx}, &ran);
    if (!ran)
        reply(ctx, r);
}

/* Answers for submit_reply. */
typedef struct ReplyCtx {
    fuse_req_t req;
    fuse_ino_t parent; /* mkdir: the entry to look up */
    const char *name;
    const char *path; /* create: the file to answer with */
    struct fuse_file_info *fi;
    size_t size; /* write: bytes written */
} ReplyCtx;

static void reply_status(void *ctx, int r) {
    fuse_reply_err(((ReplyCtx *) ctx)->req, r < 0 ? -r : 0);
}

static int check_writable(CfsFuse *f) {
    return quorate(f) ? 0 : -EACCES;
}

/* ---- operations ------------------------------------------------------------------------- */

static void op_init(void *userdata, struct fuse_conn_info *conn) {
    (void) userdata;
    /* Write-through, no writeback cache: a write(2) returns only once it is committed. */
    conn->want &= ~(unsigned) FUSE_CAP_WRITEBACK_CACHE;
    /* libfuse turns atomic_o_trunc on by default, which moves O_TRUNC into OPEN; op_open does
     * not truncate, so keep the kernel sending it as a separate SETATTR (as upstream). */
    conn->want &= ~(unsigned) FUSE_CAP_ATOMIC_O_TRUNC;
    if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
        conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
    conn->max_write = 1024 * 1024;
}

/* A lock directory (priv/lock/<name>) can vanish without a request for it: utime(0) on an
 * expired lock deletes it. The kernel must not cache such entries, or stat() would keep
 * showing a broken lock. They are rarely looked up, so this costs nothing. */
static bool is_lock_dir(CfsFuse *f, fuse_ino_t parent, const MemdbStat *ms) {
    _cleanup_free_ char *dir = NULL;
    return ms->type == MEMDB_TYPE_DIR && ms->private_path &&
           memdb_inode_path(f->cfg.memdb, parent - 1, &dir) == 0 && streq(dir, PVE_CFS_LOCK_DIR);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    CfsFuse *f = fs_of(req);
    if (parent == FUSE_ROOT_ID) {
        ssize_t p = plug_by_name(f, name);
        if (p >= 0) {
            reply_entry(req, f, PLUG_INO_BASE + (fuse_ino_t) p);
            return;
        }
    }
    if (is_plug_ino(parent)) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    MemdbStat ms;
    int r = memdb_lookup(f->cfg.memdb, parent - 1, name, &ms);
    if (r == -ENOENT) {
        /* Negative entry, cached like positive ones; creations elsewhere invalidate it. */
        struct fuse_entry_param e = {0};
        e.entry_timeout = f->cfg.cache_timeout;
        fuse_reply_entry(req, &e);
        return;
    }
    if (r < 0) {
        fuse_reply_err(req, -r);
        return;
    }
    struct fuse_entry_param e = {0};
    fill_stat(f, &ms, &e.attr);
    e.ino = ms.inode + 1;
    e.generation = 1;
    e.attr_timeout = e.entry_timeout = is_lock_dir(f, parent, &ms) ? 0 : f->cfg.cache_timeout;
    fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void) fi;
    CfsFuse *f = fs_of(req);
    struct stat st;
    int r = ino_stat(f, ino, &st);
    if (r < 0)
        fuse_reply_err(req, -r);
    else
        fuse_reply_attr(req, &st, is_plug_ino(ino) ? 0 : f->cfg.cache_timeout);
}

static void op_setattr(
    fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi
) {
    (void) fi;
    CfsFuse *f = fs_of(req);
    struct stat cur;
    int r = ino_stat(f, ino, &cur);
    if (r < 0)
        goto fail;

    if (to_set & FUSE_SET_ATTR_MODE) {
        /* chmod is a no-op that only accepts the mode pmxcfs already shows. */
        bool priv = (cur.st_mode & 0077) == 0;
        mode_t want = priv ? 0600 : 0640;
        if ((attr->st_mode & 07777) != want) {
            r = -EPERM;
            goto fail;
        }
    }
    if (to_set & FUSE_SET_ATTR_UID && attr->st_uid != 0 && attr->st_uid != (uid_t) -1) {
        r = -EPERM;
        goto fail;
    }
    if (to_set & FUSE_SET_ATTR_GID && attr->st_gid != f->cfg.www_gid &&
        attr->st_gid != (gid_t) -1) {
        r = -EPERM;
        goto fail;
    }

    if (is_plug_ino(ino)) {
        const CfsPlugFile *p = plug_file(f, ino);
        /* `echo 1 > .debug` truncates first: accept that on writable plugs only. */
        if ((to_set & FUSE_SET_ATTR_SIZE) && (!p || !p->write)) {
            r = -EIO;
            goto fail;
        }
        if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
            r = -EACCES;
            goto fail;
        }
        op_getattr(req, ino, NULL);
        return;
    }

    if (to_set & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
        _cleanup_free_ char *path = NULL;
        if ((r = check_writable(f)) < 0 || (r = memdb_inode_path(f->cfg.memdb, ino - 1, &path)) < 0)
            goto fail;
        if (to_set & FUSE_SET_ATTR_SIZE) {
            if (attr->st_size < 0) {
                r = -EINVAL;
                goto fail;
            }
            r = submit(
                f, &(MemdbOp
                   ){.type = MEMDB_OP_WRITE,
                     .path = path,
                     .offset = (uint64_t) attr->st_size,
                     .flags = MEMDB_OP_TRUNCATE}
            );
            if (r < 0)
                goto fail;
        }
        if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
            uint32_t t = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now32()
                         : attr->st_mtim.tv_sec < 0         ? 0
                                                            : (uint32_t) attr->st_mtim.tv_sec;
            r = submit(f, &(MemdbOp){.type = MEMDB_OP_MTIME, .path = path, .offset = t});
            if (r < 0)
                goto fail;
        }
    }
    op_getattr(req, ino, NULL);
    return;
fail:
    fuse_reply_err(req, -r);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino) {
    CfsFuse *f = fs_of(req);
    size_t i = ino - PLUG_INO_BASE;
    if (!is_plug_ino(ino) || i >= _LINK_MAX)
        fuse_reply_err(req, EINVAL);
    else
        fuse_reply_readlink(req, f->link_target[i]);
}

static void reply_made_entry(void *ctx, int r) {
    ReplyCtx *c = ctx;
    if (r < 0)
        fuse_reply_err(c->req, -r);
    else
        op_lookup(c->req, c->parent, c->name);
}

static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir) {
    CfsFuse *f = fs_of(req);
    _cleanup_free_ char *path = NULL;
    int r;
    if (parent == FUSE_ROOT_ID && plug_by_name(f, name) >= 0) {
        r = -EEXIST;
        goto fail;
    }
    if ((r = check_writable(f)) < 0 || (r = child_path(f, parent, name, &path)) < 0)
        goto fail;
    ReplyCtx c = {.req = req, .parent = parent, .name = name};
    submit_reply(
        f, &(MemdbOp){.type = dir ? MEMDB_OP_MKDIR : MEMDB_OP_CREATE, .path = path},
        reply_made_entry, &c
    );
    return;
fail:
    fuse_reply_err(req, -r);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
    (void) mode;
    make_entry(req, parent, name, true);
}

static void reply_created(void *ctx, int r) {
    ReplyCtx *c = ctx;
    CfsFuse *f = fs_of(c->req);
    MemdbStat ms;
    if (r >= 0)
        r = memdb_stat(f->cfg.memdb, c->path, &ms);
    if (r < 0) {
        fuse_reply_err(c->req, -r);
        return;
    }
    struct fuse_entry_param e = {0};
    fill_stat(f, &ms, &e.attr);
    e.ino = ms.inode + 1;
    e.generation = 1;
    e.attr_timeout = e.entry_timeout = f->cfg.cache_timeout;
    c->fi->keep_cache = 1;
    fuse_reply_create(c->req, &e, c->fi);
}

static void op_create(
    fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi
) {
    (void) mode;
    CfsFuse *f = fs_of(req);
    _cleanup_free_ char *path = NULL;
    int r;
    if (parent == FUSE_ROOT_ID && plug_by_name(f, name) >= 0) {
        r = -EEXIST;
        goto fail;
    }
    if ((r = check_writable(f)) < 0 || (r = child_path(f, parent, name, &path)) < 0)
        goto fail;
    ReplyCtx c = {.req = req, .path = path, .fi = fi};
    submit_reply(f, &(MemdbOp){.type = MEMDB_OP_CREATE, .path = path}, reply_created, &c);
    return;
fail:
    fuse_reply_err(req, -r);
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name) {
    CfsFuse *f = fs_of(req);
    _cleanup_free_ char *path = NULL;
    int r;
    if (parent == FUSE_ROOT_ID && plug_by_name(f, name) >= 0)
        r = -EACCES;
    else if ((r = check_writable(f)) >= 0 && (r = child_path(f, parent, name, &path)) >= 0) {
        ReplyCtx c = {.req = req};
        submit_reply(f, &(MemdbOp){.type = MEMDB_OP_DELETE, .path = path}, reply_status, &c);
        return;
    }
    fuse_reply_err(req, -r);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
    remove_entry(req, parent, name);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
    remove_entry(req, parent, name);
}

static void op_rename(
    fuse_req_t req,
    fuse_ino_t parent,
    const char *name,
    fuse_ino_t newparent,
    const char *newname,
    unsigned flags
) {
    CfsFuse *f = fs_of(req);
    _cleanup_free_ char *from = NULL, *to = NULL;
    int r;
    if ((parent == FUSE_ROOT_ID && plug_by_name(f, name) >= 0) ||
        (newparent == FUSE_ROOT_ID && plug_by_name(f, newname) >= 0)) {
        r = -EACCES;
        goto out;
    }
    if (flags & RENAME_EXCHANGE) {
        r = -EINVAL;
        goto out;
    }
    if ((r = check_writable(f)) < 0 || (r = child_path(f, parent, name, &from)) < 0 ||
        (r = child_path(f, newparent, newname, &to)) < 0)
        goto out;
    if (flags & RENAME_NOREPLACE) {
        MemdbStat ms;
        if (memdb_stat(f->cfg.memdb, to, &ms) == 0) {
            r = -EEXIST;
            goto out;
        }
    }
    ReplyCtx c = {.req = req};
    submit_reply(f, &(MemdbOp){.type = MEMDB_OP_RENAME, .path = from, .to = to}, reply_status, &c);
    return;
out:
    fuse_reply_err(req, r < 0 ? -r : 0);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname) {
    (void) ino, (void) newparent, (void) newname;
    fuse_reply_err(req, EPERM);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    CfsFuse *f = fs_of(req);
    if (is_plug_ino(ino)) {
        const CfsPlugFile *p = plug_file(f, ino);
        if (!p) {
            fuse_reply_err(req, EINVAL);
            return;
        }
        PlugHandle *h = calloc(1, sizeof *h);
        int r = h ? p->generate(p->userdata, &h->data, &h->len) : -ENOMEM;
        if (r < 0) {
            free(h);
            fuse_reply_err(req, -r);
            return;
        }
        fi->fh = (uint64_t) (uintptr_t) h;
        fi->direct_io = 1;
        handle_track(f, &h->link, false);
        fuse_reply_open(req, fi);
        return;
    }
    if ((fi->flags & O_ACCMODE) != O_RDONLY && !quorate(f)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    fi->fh = 0;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    CfsFuse *f = fs_of(req);
    if (off < 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    if (is_plug_ino(ino)) {
        PlugHandle *h = (PlugHandle *) (uintptr_t) fi->fh;
        if (!h || (size_t) off >= h->len)
            fuse_reply_buf(req, NULL, 0);
        else {
            /* Reply from a copy: a RELEASE on another thread may free the handle as soon as the
             * kernel has the data, while writev's caller (and ASan) still looks at the iovec. */
            size_t n = MIN(size, h->len - (size_t) off);
            _cleanup_free_ char *copy = malloc(n);
            if (copy)
                memcpy(copy, h->data + off, n);
            fuse_reply_buf(req, copy, copy ? n : 0);
        }
        return;
    }
    _cleanup_free_ char *buf = malloc(size ? size : 1);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    ssize_t n = memdb_read_inode(f->cfg.memdb, ino - 1, (uint64_t) off, buf, size);
    if (n < 0)
        fuse_reply_err(req, (int) -n);
    else
        fuse_reply_buf(req, buf, (size_t) n);
}

static void reply_written(void *ctx, int r) {
    ReplyCtx *c = ctx;
    if (r < 0)
        fuse_reply_err(c->req, -r);
    else
        fuse_reply_write(c->req, c->size);
}

static void op_write(
    fuse_req_t req,
    fuse_ino_t ino,
    const char *buf,
    size_t size,
    off_t off,
    struct fuse_file_info *fi
) {
    (void) fi;
    CfsFuse *f = fs_of(req);
    int r;
    if (off < 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    if (is_plug_ino(ino)) {
        const CfsPlugFile *p = plug_file(f, ino);
        r = p && p->write ? p->write(p->userdata, buf, size, (uint64_t) off) : -EIO;
    } else {
        _cleanup_free_ char *path = NULL;
        if ((r = check_writable(f)) >= 0 &&
            (r = memdb_inode_path(f->cfg.memdb, ino - 1, &path)) >= 0) {
            ReplyCtx c = {.req = req, .size = size};
            submit_reply(
                f,
                &(MemdbOp
                ){.type = MEMDB_OP_WRITE,
                  .path = path,
                  .offset = (uint64_t) off,
                  .data = buf,
                  .size = size},
                reply_written, &c
            );
            return;
        }
    }
    reply_written(&(ReplyCtx){.req = req, .size = size}, r);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void) ino, (void) fi;
    /* Every write is committed before it returns; ENOSYS makes the kernel stop asking. */
    fuse_reply_err(req, ENOSYS);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    if (is_plug_ino(ino) && fi->fh) {
        PlugHandle *h = (PlugHandle *) (uintptr_t) fi->fh;
        handle_untrack(fs_of(req), &h->link);
        free(h->data);
        free(h);
    }
    fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
    (void) ino, (void) datasync, (void) fi;
    fuse_reply_err(req, 0); /* already durable: each operation is its own transaction */
}

static void dirhandle_free(DirHandle *d) {
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->e[i].name);
    free(d->e);
    free(d);
}

static int dir_add(DirHandle *d, size_t *cap, fuse_ino_t ino, mode_t type, const char *name) {
    if (d->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *p = realloc(d->e, nc * sizeof *d->e);
        if (!p)
            return -ENOMEM;
        d->e = p;
        *cap = nc;
    }
    char *n = strdup(name);
    if (!n)
        return -ENOMEM;
    d->e[d->n].ino = ino;
    d->e[d->n].type = type;
    d->e[d->n].name = n;
    d->n++;
    return 0;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    CfsFuse *f = fs_of(req);
    MemdbDirent *list = NULL;
    size_t n = 0, cap = 0;
    int r;
    if (is_plug_ino(ino)) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    DirHandle *d = calloc(1, sizeof *d);
    if (!d) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    MemdbStat self;
    if ((r = memdb_stat_inode(f->cfg.memdb, ino - 1, &self)) < 0 ||
        (r = memdb_readdir_inode(f->cfg.memdb, ino - 1, &list, &n)) < 0)
        goto fail;
    /* ".." needs a non-zero inode number: readdir(3) skips entries with d_ino 0. */
    if ((r = dir_add(d, &cap, ino, S_IFDIR, ".")) < 0 ||
        (r = dir_add(d, &cap, self.parent + 1, S_IFDIR, "..")) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (ino == FUSE_ROOT_ID && plug_by_name(f, list[i].name) >= 0)
            continue; /* shadowed by a plug */
        mode_t t = list[i].type == MEMDB_TYPE_DIR ? S_IFDIR : S_IFREG;
        if ((r = dir_add(d, &cap, list[i].inode + 1, t, list[i].name)) < 0)
            goto fail;
    }
    if (ino == FUSE_ROOT_ID)
        for (size_t i = 0; i < n_plug_inodes(f); i++) {
            const char *name = i < _LINK_MAX ? link_names[i] : f->cfg.plugs[i - _LINK_MAX].name;
            if ((r = dir_add(d, &cap, PLUG_INO_BASE + i, i < _LINK_MAX ? S_IFLNK : S_IFREG, name)) <
                0)
                goto fail;
        }
    memdb_dirents_free(list, n);
    fi->fh = (uint64_t) (uintptr_t) d;
    fi->cache_readdir = 0;
    handle_track(f, &d->link, true);
    fuse_reply_open(req, fi);
    return;
fail:
    memdb_dirents_free(list, n);
    dirhandle_free(d);
    fuse_reply_err(req, -r);
}

static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void) ino;
    DirHandle *d = (DirHandle *) (uintptr_t) fi->fh;
    _cleanup_free_ char *buf = malloc(size);
    size_t used = 0;
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    for (size_t i = off < 0 ? 0 : (size_t) off; i < d->n; i++) {
        struct stat st = {.st_ino = d->e[i].ino, .st_mode = d->e[i].type};
        size_t need =
            fuse_add_direntry(req, buf + used, size - used, d->e[i].name, &st, (off_t) (i + 1));
        if (need > size - used)
            break;
        used += need;
    }
    fuse_reply_buf(req, buf, used);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void) ino;
    DirHandle *d = (DirHandle *) (uintptr_t) fi->fh;
    handle_untrack(fs_of(req), &d->link);
    dirhandle_free(d);
    fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
    (void) ino;
    CfsFuse *f = fs_of(req);
    const MemdbLimits *l = &f->cfg.memdb->limits;
    uint64_t used = memdb_total_size(f->cfg.memdb);
    uint64_t files = memdb_entry_count(f->cfg.memdb);
    struct statvfs s = {0};
    s.f_bsize = s.f_frsize = 4096;
    s.f_blocks = l->max_total_size / 4096;
    s.f_bfree = s.f_bavail = used >= l->max_total_size ? 0 : (l->max_total_size - used) / 4096;
    s.f_files = l->max_inodes;
    s.f_ffree = s.f_favail = files >= l->max_inodes ? 0 : l->max_inodes - files;
    s.f_namemax = 255;
    fuse_reply_statfs(req, &s);
}

static const struct fuse_lowlevel_ops cfs_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .rename = op_rename,
    .link = op_link,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .fsync = op_fsync,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .statfs = op_statfs,
    .create = op_create,
};

/* ---- lifecycle -------------------------------------------------------------------------- */

static void *inval_worker(void *userdata);

CfsFuse *cfs_fuse_free(CfsFuse *f) {
    if (!f)
        return NULL;
    if (f->inval_started) {
        pthread_mutex_lock(&f->inval_lock);
        f->inval_stop = true;
        pthread_cond_signal(&f->inval_cond);
        pthread_mutex_unlock(&f->inval_lock);
        (void) pthread_join(f->inval_thread, NULL);
    }
    for (Inval *i = f->inval_head, *next; i; i = next) {
        next = i->next;
        free(i);
    }
    pthread_mutex_destroy(&f->inval_lock);
    pthread_cond_destroy(&f->inval_cond);
    if (f->se) {
        if (f->mounted)
            fuse_session_unmount(f->se);
        fuse_session_destroy(f->se);
    }
    /* Handles the kernel never released (still open at unmount). */
    while (f->handles.next && f->handles.next != &f->handles) {
        HandleLink *l = f->handles.next;
        handle_untrack(f, l);
        if (l->dir)
            dirhandle_free((DirHandle *) l);
        else {
            free(((PlugHandle *) l)->data);
            free(l);
        }
    }
    pthread_mutex_destroy(&f->handles_lock);
    for (size_t i = 0; i < _LINK_MAX; i++)
        free(f->link_target[i]);
    free(f);
    return NULL;
}

int cfs_fuse_new(const CfsFuseConfig *config, const char *mountpoint, CfsFuse **ret) {
    _cleanup_(cfs_fuse_freep) CfsFuse *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->cfg = *config;
    pthread_mutex_init(&f->inval_lock, NULL);
    pthread_cond_init(&f->inval_cond, NULL);
    pthread_mutex_init(&f->handles_lock, NULL);
    f->handles.prev = f->handles.next = &f->handles;
    for (size_t i = 0; i < _LINK_MAX; i++)
        if (asprintf(&f->link_target[i], "nodes/%s%s", config->nodename, link_suffix[i]) < 0) {
            f->link_target[i] = NULL;
            return -ENOMEM;
        }

    char *argv[] = {
        (char *) "pmxcfs", (char *) "-o",
        (char *) "default_permissions,allow_other,fsname=pmxcfs,subtype=pmxcfs", NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, argv);
    f->se = fuse_session_new(&args, &cfs_ops, sizeof cfs_ops, f);
    fuse_opt_free_args(&args); /* option parsing may have copied argv */
    if (!f->se)
        return -EIO;
    if (fuse_session_mount(f->se, mountpoint) != 0)
        return -EIO;
    f->mounted = true;
    if (pthread_create(&f->inval_thread, NULL, inval_worker, f) != 0)
        return -EAGAIN;
    f->inval_started = true;
    *ret = TAKE_PTR(f);
    return 0;
}

static void on_wakeup(int sig) {
    (void) sig; /* only there to interrupt read(/dev/fuse) with EINTR */
}

int cfs_fuse_loop(CfsFuse *f) {
    /* The loop's threads (and only they, see cfs_fuse_block_wakeup) take the wake-up signal. */
    struct sigaction sa = {.sa_handler = on_wakeup}; /* no SA_RESTART */
    sigset_t set;
    (void) sigaction(CFS_FUSE_WAKEUP_SIGNAL, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, CFS_FUSE_WAKEUP_SIGNAL);
    (void) pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    struct fuse_loop_config *lc = fuse_loop_cfg_create();
    if (!lc)
        return -ENOMEM;
    fuse_loop_cfg_set_clone_fd(lc, 0);
    fuse_loop_cfg_set_max_threads(lc, 16);
    fuse_loop_cfg_set_idle_threads(lc, 4);
    int r = fuse_session_loop_mt(f->se, lc);
    fuse_loop_cfg_destroy(lc);
    f->loop_done = true;
    return r < 0 ? r : 0;
}

void cfs_fuse_block_wakeup(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, CFS_FUSE_WAKEUP_SIGNAL);
    (void) pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void cfs_fuse_exit(CfsFuse *f) {
    fuse_session_exit(f->se);
    /* The loop threads sit in read(/dev/fuse). Unmounting ends the connection and wakes them,
     * unless something still has a file open on the mount: then the connection lives on, so
     * interrupt the reads until the loop has seen the exit flag. */
    if (f->mounted) {
        fuse_session_unmount(f->se);
        f->mounted = false;
    }
    for (unsigned i = 0; i < 500 && !f->loop_done; i++) {
        (void) kill(getpid(), CFS_FUSE_WAKEUP_SIGNAL);
        (void) usleep(10 * 1000);
    }
}

static void invalidate_path_now(CfsFuse *f, const char *path, bool content_only) {
    MemdbStat parent, self;
    const char *slash = strrchr(path, '/');
    _cleanup_free_ char *dir = slash ? strndup(path, (size_t) (slash - path)) : strdup("");
    const char *name = slash ? slash + 1 : path;
    if (!dir || !*name)
        return;
    if (!content_only && memdb_stat(f->cfg.memdb, dir, &parent) == 0)
        (void) fuse_lowlevel_notify_inval_entry(f->se, parent.inode + 1, name, strlen(name));
    if (memdb_stat(f->cfg.memdb, path, &self) == 0)
        (void) fuse_lowlevel_notify_inval_inode(f->se, self.inode + 1, 0, 0);
}

static void invalidate_tree(CfsFuse *f, uint64_t inode, unsigned depth) {
    MemdbDirent *list;
    size_t n;
    (void) fuse_lowlevel_notify_inval_inode(f->se, inode + 1, -1, 0);
    if (depth > 64 || memdb_readdir_inode(f->cfg.memdb, inode, &list, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (list[i].type == MEMDB_TYPE_DIR)
            invalidate_tree(f, list[i].inode, depth + 1);
        else
            (void) fuse_lowlevel_notify_inval_inode(f->se, list[i].inode + 1, -1, 0);
    }
    memdb_dirents_free(list, n);
}

static void invalidate_all_now(CfsFuse *f) {
    invalidate_tree(f, 0, 0);
    for (size_t i = 0; i < n_plug_inodes(f); i++)
        (void) fuse_lowlevel_notify_inval_inode(f->se, PLUG_INO_BASE + i, -1, 0);
}

static void *inval_worker(void *userdata) {
    CfsFuse *f = userdata;
    pthread_mutex_lock(&f->inval_lock);
    for (;;) {
        while (!f->inval_head && !f->inval_stop)
            pthread_cond_wait(&f->inval_cond, &f->inval_lock);
        if (!f->inval_head)
            break;
        Inval *i = f->inval_head;
        f->inval_head = i->next;
        if (!f->inval_head)
            f->inval_tail = NULL;
        pthread_mutex_unlock(&f->inval_lock);
        if (!f->inval_stop) {
            if (i->all)
                invalidate_all_now(f);
            else
                invalidate_path_now(f, i->path, i->content_only);
        }
        free(i);
        pthread_mutex_lock(&f->inval_lock);
    }
    pthread_mutex_unlock(&f->inval_lock);
    return NULL;
}

static void queue_inval(CfsFuse *f, const char *path, bool content_only) {
    size_t len = path ? strlen(path) : 0;
    Inval *i = calloc(1, sizeof *i + len + 1);
    if (!i)
        return; /* the attribute timeout still bounds how long a stale entry lives */
    i->all = !path;
    i->content_only = content_only;
    if (path)
        memcpy(i->path, path, len + 1);
    pthread_mutex_lock(&f->inval_lock);
    if (f->inval_tail)
        f->inval_tail->next = i;
    else
        f->inval_head = i;
    f->inval_tail = i;
    pthread_cond_signal(&f->inval_cond);
    pthread_mutex_unlock(&f->inval_lock);
}

void cfs_fuse_invalidate_path(CfsFuse *f, const char *path) {
    if (f)
        queue_inval(f, path, false);
}

void cfs_fuse_invalidate_content(CfsFuse *f, const char *path) {
    if (f)
        queue_inval(f, path, true);
}

void cfs_fuse_invalidate_all(CfsFuse *f) {
    if (f)
        queue_inval(f, NULL, false);
}

void cfs_fuse_invalidate_changed(void *fuse, const char *path) {
    cfs_fuse_invalidate_path(fuse, path);
}
