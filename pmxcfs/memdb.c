/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * memdb: the RAM tree, its namespace rules (specs/pmxcfs.md §2, §5) and the write path into
 * the database. Each mutation validates, allocates everything it will need, commits the new
 * rows, and only then changes RAM with operations that cannot fail. The VM list and the lock
 * table are derived state kept in step with the tree.
 *
 * Durability: an operation is committed when its rows are appended to the operation log
 * (oplog.h) with one write; dirty rows are copied into config.db in one transaction per batch
 * (checkpoint: after MEMDB_CHECKPOINT_OPS operations, MEMDB_FLUSH_DELAY_MS after the first
 * change, and at close), and memdb_open() replays whatever the log still holds. After a clean
 * stop config.db alone is complete and upstream-compatible.
 */
#include "memdb.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "database.h"
#include "oplog.h"
#include "pve/digest.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"

typedef struct MemdbLock {
    char *path;
    uint64_t inode;
    uint64_t version; /* identity of the lock dir when the timer started */
    uint64_t since;   /* local monotonic seconds */
} MemdbLock;

static const char *const guest_type_dirs[_MEMDB_GUEST_MAX] = {
    [MEMDB_GUEST_QEMU] = "qemu-server",
    [MEMDB_GUEST_LXC] = "lxc",
    [MEMDB_GUEST_OPENVZ] = "openvz",
};
static const char *const guest_type_names[_MEMDB_GUEST_MAX] = {
    [MEMDB_GUEST_QEMU] = "qemu",
    [MEMDB_GUEST_LXC] = "lxc",
    [MEMDB_GUEST_OPENVZ] = "openvz",
};

const char *memdb_guest_type_to_string(MemdbGuestType t) {
    return t >= 0 && t < _MEMDB_GUEST_MAX ? guest_type_names[t] : NULL;
}

static uint64_t monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec;
}

MemdbLimits memdb_default_limits(void) {
    return (MemdbLimits){
        .max_file_size = PVE_CFS_MAX_FILE_SIZE,
        .max_total_size = PVE_CFS_MAX_FS_SIZE,
        .max_inodes = PVE_CFS_MAX_INODES,
        .lock_timeout = PVE_CFS_LOCK_TIMEOUT,
    };
}

/* ---- path classifiers ------------------------------------------------------------------- */

/* Copy the n-th '/'-separated component (0-based) into buf; false if missing or too long. */
static bool path_component(const char *path, unsigned n, char *buf, size_t bufsz) {
    const char *p = path;
    for (unsigned i = 0; i < n; i++) {
        p = strchr(p, '/');
        if (!p)
            return false;
        p++;
    }
    size_t len = strcspn(p, "/");
    if (len == 0 || len >= bufsz)
        return false;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return true;
}

static unsigned path_depth(const char *path) {
    if (!*path)
        return 0;
    unsigned n = 1;
    for (const char *p = path; *p; p++)
        n += *p == '/';
    return n;
}

bool memdb_path_is_private(const char *path) {
    char c[256];
    if (!path_component(path, 0, c, sizeof c))
        return false;
    if (streq(c, "priv"))
        return true;
    return streq(c, "nodes") && path_component(path, 2, c, sizeof c) && streq(c, "priv");
}

bool memdb_path_is_lockdir(const char *path) {
    const char *rest = startswith(path, PVE_CFS_LOCK_DIR "/");
    return rest && *rest && !strchr(rest, '/');
}

static bool valid_node_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || !isalnum((unsigned char) s[0]) || !isalnum((unsigned char) s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char) s[i]) && s[i] != '-')
            return false;
    return true;
}

bool memdb_path_vm_config(
    const char *path, uint32_t *ret_vmid, char ret_node[256], MemdbGuestType *ret_type
) {
    char c[256], node[256], dir[256];
    if (path_depth(path) != 4 || !path_component(path, 0, c, sizeof c) || !streq(c, "nodes") ||
        !path_component(path, 1, node, sizeof node) || !valid_node_name(node) ||
        !path_component(path, 2, dir, sizeof dir) || !path_component(path, 3, c, sizeof c))
        return false;
    int type = -1;
    for (int t = 0; t < _MEMDB_GUEST_MAX; t++)
        if (streq(dir, guest_type_dirs[t]))
            type = t;
    if (type < 0)
        return false;
    const char *suffix = endswith(c, ".conf");
    if (!suffix || suffix == c || c[0] < '1' || c[0] > '9')
        return false;
    uint64_t vmid = 0;
    for (const char *p = c; p < suffix; p++) {
        if (*p < '0' || *p > '9')
            return false;
        vmid = vmid * 10 + (uint64_t) (*p - '0');
        if (vmid > UINT32_MAX)
            return false;
    }
    if (ret_vmid)
        *ret_vmid = (uint32_t) vmid;
    if (ret_node)
        memcpy(ret_node, node, strlen(node) + 1);
    if (ret_type)
        *ret_type = (MemdbGuestType) type;
    return true;
}

/* ---- entries ---------------------------------------------------------------------------- */

static MemdbEntry *entry_free(MemdbEntry *e) {
    if (!e)
        return NULL;
    free(e->name);
    free(e->data);
    hashmap_free(e->children);
    free(e);
    return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(MemdbEntry *, entry_free);

static MemdbEntry *entry_new(uint8_t type, const char *name) {
    _cleanup_(entry_freep) MemdbEntry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->type = type;
    e->name = strdup(name);
    if (!e->name)
        return NULL;
    if (type == MEMDB_TYPE_DIR && !(e->children = hashmap_new(&hashmap_string_ops)))
        return NULL;
    return TAKE_PTR(e);
}

static MemdbEntry *lookup_child(MemdbEntry *dir, const char *name) {
    return dir->type == MEMDB_TYPE_DIR ? hashmap_get(dir->children, name) : NULL;
}

/* Resolve a path; -ENOENT / -ENOTDIR like the kernel would. */
static int resolve(Memdb *m, const char *path, MemdbEntry **ret) {
    MemdbEntry *e = m->root;
    char name[NAME_MAX + 2];
    const char *p = path;

    while (*p) {
        size_t len = strcspn(p, "/");
        if (len == 0) { /* tolerate duplicate or trailing slashes */
            p++;
            continue;
        }
        if (len > NAME_MAX)
            return -ENAMETOOLONG;
        if (e->type != MEMDB_TYPE_DIR)
            return -ENOTDIR;
        memcpy(name, p, len);
        name[len] = '\0';
        e = hashmap_get(e->children, name);
        if (!e)
            return -ENOENT;
        p += len;
    }
    *ret = e;
    return 0;
}

/* Split into parent entry and the last component (pointing into path). */
static int
resolve_parent(Memdb *m, const char *path, MemdbEntry **ret_parent, const char **ret_name) {
    _cleanup_free_ char *dir = NULL;
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    MemdbEntry *parent;
    int r;

    if (slash) {
        dir = strndup(path, (size_t) (slash - path));
        if (!dir)
            return -ENOMEM;
    }
    r = resolve(m, dir ? dir : "", &parent);
    if (r < 0)
        return r;
    if (parent->type != MEMDB_TYPE_DIR)
        return -ENOTDIR;
    *ret_parent = parent;
    *ret_name = name;
    return 0;
}

static int check_name(const char *name) {
    if (!*name || streq(name, ".") || streq(name, ".."))
        return -EACCES;
    if (strlen(name) > NAME_MAX)
        return -ENAMETOOLONG;
    return 0;
}

static bool entry_is_private(Memdb *m, const MemdbEntry *e) {
    /* The last three names seen walking up are the top three path components. */
    const char *top[3] = {NULL, NULL, NULL};
    while (e && e->inode != 0) {
        top[2] = top[1];
        top[1] = top[0];
        top[0] = e->name;
        e = hashmap_get(m->inodes, U64_TO_KEY(e->parent));
    }
    if (!top[0])
        return false;
    if (streq(top[0], "priv"))
        return true;
    return streq(top[0], "nodes") && top[2] && streq(top[2], "priv");
}

static void entry_stat(Memdb *m, const MemdbEntry *e, MemdbStat *st) {
    *st = (MemdbStat){
        .inode = e->inode,
        .parent = e->parent,
        .version = e->version,
        .writer = e->writer,
        .mtime = e->mtime,
        .size = e->size,
        .type = e->type,
        .private_path = entry_is_private(m, e),
    };
}

static DatabaseRow entry_row(const MemdbEntry *e) {
    return (DatabaseRow){
        .inode = e->inode,
        .parent = e->parent,
        .version = e->version,
        .writer = e->writer,
        .mtime = e->mtime,
        .type = e->type,
        .name = e->name,
        .data = e->data,
        .size = e->size,
    };
}

/* ---- VM list and locks ------------------------------------------------------------------ */

static int vm_register(Memdb *m, uint32_t vmid, const char *node, MemdbGuestType type) {
    MemdbVm *vm = hashmap_get(m->vms, U64_TO_KEY(vmid));
    if (vm && vm->type == type && streq(vm->node, node))
        return 0;
    if (!vm) {
        vm = calloc(1, sizeof *vm);
        if (!vm)
            return -ENOMEM;
        if (hashmap_put(m->vms, U64_TO_KEY(vmid), vm) < 0) {
            free(vm);
            return -ENOMEM;
        }
    }
    vm->vmid = vmid;
    vm->type = type;
    vm->version = ++m->vm_counter;
    snprintf(vm->node, sizeof vm->node, "%s", node);
    m->vmlist_version++;
    return 0;
}

static void vm_unregister(Memdb *m, uint32_t vmid) {
    free(hashmap_remove(m->vms, U64_TO_KEY(vmid)));
    m->vmlist_version++;
}

/* EEXIST if the VM config path would clash with a VMID registered elsewhere. */
static int vm_check(Memdb *m, const char *path, const char *allowed_from) {
    uint32_t vmid, from_vmid;
    char node[256];
    MemdbGuestType type;
    if (!memdb_path_vm_config(path, &vmid, node, &type))
        return 0;
    const MemdbVm *vm = hashmap_get(m->vms, U64_TO_KEY(vmid));
    if (!vm || (vm->type == type && streq(vm->node, node)))
        return 0;
    if (allowed_from && memdb_path_vm_config(allowed_from, &from_vmid, NULL, NULL) &&
        from_vmid == vmid)
        return 0;
    return -EEXIST;
}

static void vm_track_added(Memdb *m, const char *path) {
    uint32_t vmid;
    char node[256];
    MemdbGuestType type;
    if (memdb_path_vm_config(path, &vmid, node, &type) && vm_register(m, vmid, node, type) < 0)
        m->errors = true; /* derived state lost: refuse further writes rather than lie */
}

static void vm_track_removed(Memdb *m, const char *path) {
    uint32_t vmid;
    char node[256];
    MemdbGuestType type;
    if (!memdb_path_vm_config(path, &vmid, node, &type))
        return;
    const MemdbVm *vm = hashmap_get(m->vms, U64_TO_KEY(vmid));
    if (vm && vm->type == type && streq(vm->node, node))
        vm_unregister(m, vmid);
}

static MemdbLock *lock_free(MemdbLock *l) {
    if (l) {
        free(l->path);
        free(l);
    }
    return NULL;
}

static void lock_forget(Memdb *m, const char *path) {
    lock_free(hashmap_remove(m->locks, path));
}

/* (Re)start the timer of a lock directory. */
static void lock_touch(Memdb *m, const char *path, const MemdbEntry *e) {
    MemdbLock *l = hashmap_get(m->locks, path);
    if (!l) {
        l = calloc(1, sizeof *l);
        if (!l || !(l->path = strdup(path)) || hashmap_put(m->locks, l->path, l) < 0) {
            lock_free(l);
            return; /* without a timer the lock just cannot be broken early */
        }
    }
    l->inode = e->inode;
    l->version = e->version;
    l->since = m->now();
}

/* ---- transactions ----------------------------------------------------------------------- */

static void bump_root(Memdb *m, uint64_t version, uint32_t writer, uint32_t mtime) {
    m->root->version = version;
    m->root->writer = writer;
    m->root->mtime = mtime;
}

/* Write the __version__ row straight into the database (start-up repair). */
static int write_version_row(Memdb *m, uint64_t version, uint32_t writer, uint32_t mtime) {
    int r = database_begin(m->db);
    if (r < 0)
        return r;
    if ((r = database_put_version(m->db, version, writer, mtime)) < 0 ||
        (r = database_commit(m->db)) < 0) {
        database_rollback(m->db);
        return r;
    }
    return 0;
}

/*
 * Make one operation durable: an optional deleted row, an optional changed row (whole, or
 * without its data when only metadata changed) and the new global version, appended to the
 * operation log with one write. The rows become dirty and reach config.db at the next
 * checkpoint. Nothing in RAM changes here, and nothing can fail after the append.
 */
static int persist(
    Memdb *m,
    uint64_t delete_inode,
    const DatabaseRow *row,
    bool meta_only,
    uint64_t version,
    uint32_t writer,
    uint32_t mtime
) {
    OplogRecord recs[3];
    size_t n = 0;
    int r;

    if (!m->oplog)
        return 0;
    if (hashmap_reserve(m->dirty, 1) < 0 || hashmap_reserve(m->deleted, 1) < 0)
        return -ENOMEM;
    if (delete_inode)
        recs[n++] = (OplogRecord){.kind = OPLOG_DELETE, .row = {.inode = delete_inode}};
    if (row)
        recs[n++] = (OplogRecord){.kind = meta_only ? OPLOG_META : OPLOG_PUT, .row = *row};
    recs[n++] = (OplogRecord){
        .kind = OPLOG_VERSION,
        .row = {.version = version, .writer = writer, .mtime = mtime, .type = MEMDB_TYPE_REG},
    };
    if (m->inject_failure && --m->inject_failure == 0)
        return -EIO;
    r = oplog_append(m->oplog, recs, n);
    if (r < 0)
        return r == -ENOSPC || r == -EFBIG ? r : -EIO;

    if (delete_inode) {
        (void) hashmap_remove(m->dirty, U64_TO_KEY(delete_inode));
        (void) hashmap_put(m->deleted, U64_TO_KEY(delete_inode), m);
    }
    if (row)
        (void) hashmap_put(m->dirty, U64_TO_KEY(row->inode), m);
    if (m->dirty_ops++ == 0)
        pthread_cond_signal(&m->flush_cond);
    return 0;
}

/* Copy every dirty row from RAM into config.db in one transaction, then empty the log.
 * Called with the mutex held. On failure the log keeps everything and we retry later. */
static int checkpoint(Memdb *m) {
    size_t it;
    const void *k;
    int r;

    if (!m->db || !m->oplog || m->dirty_ops == 0)
        return 0;
    if ((r = database_begin(m->db)) < 0)
        return r;
    it = 0;
    while (hashmap_iterate(m->deleted, &it, &k, NULL))
        if ((r = database_delete(m->db, KEY_TO_U64(k))) < 0)
            goto fail;
    it = 0;
    while (hashmap_iterate(m->dirty, &it, &k, NULL)) {
        const MemdbEntry *e = hashmap_get(m->inodes, k);
        if (!e)
            continue; /* deleted since: its DELETE is in `deleted` */
        DatabaseRow row = entry_row(e);
        if ((r = database_put(m->db, &row)) < 0)
            goto fail;
    }
    if ((r = database_put_version(m->db, m->root->version, m->root->writer, m->root->mtime)) < 0 ||
        (r = database_commit(m->db)) < 0)
        goto fail;
    /* config.db now holds everything the log held. */
    r = oplog_reset(m->oplog);
    hashmap_clear(m->dirty);
    hashmap_clear(m->deleted);
    m->dirty_ops = 0;
    m->checkpoint_failed = false;
    return r;
fail:
    database_rollback(m->db);
    if (!m->checkpoint_failed)
        log_warning_errno(r, "Cannot update the database, operations stay in the log: %m");
    m->checkpoint_failed = true;
    return r;
}

/* Background flush: config.db follows the log within flush_delay_ms of a change. */
static void *flusher_thread(void *userdata) {
    Memdb *m = userdata;
    pthread_mutex_lock(&m->mutex);
    while (!m->stop_flusher) {
        if (m->dirty_ops == 0) {
            pthread_cond_wait(&m->flush_cond, &m->mutex);
            continue;
        }
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        uint64_t ns = (uint64_t) deadline.tv_nsec + (uint64_t) m->flush_delay_ms * 1000000u;
        deadline.tv_sec += (time_t) (ns / 1000000000u);
        deadline.tv_nsec = (long) (ns % 1000000000u);
        while (!m->stop_flusher &&
               pthread_cond_timedwait(&m->flush_cond, &m->mutex, &deadline) != ETIMEDOUT)
            ;
        (void) checkpoint(m);
    }
    pthread_mutex_unlock(&m->mutex);
    return NULL;
}

static void changed(Memdb *m, const char *path) {
    if (m->on_change)
        m->on_change(m->on_change_userdata, path);
}

#define MEMDB_LOCKED(m) \
    __attribute__((cleanup(memdb_unlockp))) Memdb *_locked_ _unused_ = memdb_lock(m)

static Memdb *memdb_lock(Memdb *m) {
    pthread_mutex_lock(&m->mutex);
    return m;
}
static void memdb_unlockp(Memdb **mp) {
    Memdb *m = *mp;
    /* Bound the log: a burst of operations checkpoints right away instead of after the delay. */
    if (m->dirty_ops >= MEMDB_CHECKPOINT_OPS ||
        (m->oplog && oplog_size(m->oplog) >= MEMDB_CHECKPOINT_BYTES))
        (void) checkpoint(m);
    pthread_mutex_unlock(&m->mutex);
}

static int writable(Memdb *m) {
    return m->errors ? -EIO : 0;
}

/* ---- mutations -------------------------------------------------------------------------- */

static int create_entry(Memdb *m, const char *path, uint8_t type, uint32_t writer, uint32_t mtime) {
    MemdbEntry *parent;
    const char *name;
    int r;

    if ((r = writable(m)) < 0 || (r = resolve_parent(m, path, &parent, &name)) < 0 ||
        (r = check_name(name)) < 0)
        return r;
    if (lookup_child(parent, name))
        return -EEXIST;
    if (type == MEMDB_TYPE_REG && (r = vm_check(m, path, NULL)) < 0)
        return r;
    if (hashmap_size(m->inodes) >= m->limits.max_inodes)
        return -ENOSPC;

    _cleanup_(entry_freep) MemdbEntry *e = entry_new(type, name);
    if (!e || hashmap_reserve(parent->children, 1) < 0 || hashmap_reserve(m->inodes, 1) < 0)
        return -ENOMEM;
    uint64_t version = m->root->version + 1;
    e->inode = e->version = version;
    e->parent = parent->inode;
    e->writer = writer;
    e->mtime = mtime;

    DatabaseRow row = entry_row(e);
    if ((r = persist(m, 0, &row, false, version, writer, mtime)) < 0)
        return r;

    MemdbEntry *added = TAKE_PTR(e);
    (void) hashmap_put(parent->children, added->name, added);
    (void) hashmap_put(m->inodes, U64_TO_KEY(added->inode), added);
    bump_root(m, version, writer, mtime);
    if (type == MEMDB_TYPE_REG)
        vm_track_added(m, path);
    else if (memdb_path_is_lockdir(path))
        lock_touch(m, path, added);
    changed(m, path);
    return 0;
}

int memdb_create(Memdb *m, const char *path, uint32_t writer, uint32_t mtime) {
    MEMDB_LOCKED(m);
    return create_entry(m, path, MEMDB_TYPE_REG, writer, mtime);
}

int memdb_mkdir(Memdb *m, const char *path, uint32_t writer, uint32_t mtime) {
    MEMDB_LOCKED(m);
    return create_entry(m, path, MEMDB_TYPE_DIR, writer, mtime);
}

/* Replace a file's content by [0, new_size) built from the old data and one write. */
static int update_data(
    Memdb *m,
    const char *path,
    MemdbEntry *e,
    uint64_t new_size,
    uint64_t offset,
    const void *data,
    size_t len,
    uint32_t writer,
    uint32_t mtime
) {
    int r;
    if (e->type != MEMDB_TYPE_REG)
        return -EISDIR;
    if (new_size > m->limits.max_file_size)
        return -EFBIG;
    if (new_size > e->size && m->total_size + (new_size - e->size) > m->limits.max_total_size)
        return -ENOSPC;
    if ((r = vm_check(m, path, NULL)) < 0)
        return r;

    _cleanup_free_ char *buf = NULL;
    if (new_size > 0) {
        buf = malloc(new_size);
        if (!buf)
            return -ENOMEM;
        size_t keep = MIN((uint64_t) e->size, new_size);
        if (keep)
            memcpy(buf, e->data, keep);
        if (new_size > keep)
            memset(buf + keep, 0, new_size - keep);
        if (len)
            memcpy(buf + offset, data, len);
    }
    uint64_t version = m->root->version + 1;
    MemdbEntry next = *e;
    next.data = buf;
    next.size = (uint32_t) new_size;
    next.version = version;
    next.writer = writer;
    next.mtime = mtime;
    DatabaseRow row = entry_row(&next);
    if ((r = persist(m, 0, &row, false, version, writer, mtime)) < 0)
        return r;

    m->total_size = m->total_size - e->size + new_size;
    free(e->data);
    e->data = TAKE_PTR(buf);
    e->size = (uint32_t) new_size;
    e->version = version;
    e->writer = writer;
    e->mtime = mtime;
    bump_root(m, version, writer, mtime);
    vm_track_added(m, path);
    changed(m, path);
    return 0;
}

int memdb_write(
    Memdb *m,
    const char *path,
    uint64_t offset,
    const void *data,
    size_t len,
    bool truncate,
    uint32_t writer,
    uint32_t mtime
) {
    MemdbEntry *e;
    int r;
    MEMDB_LOCKED(m);

    if ((r = writable(m)) < 0 || (r = resolve(m, path, &e)) < 0)
        return r;
    if (offset > m->limits.max_file_size || len > m->limits.max_file_size - offset)
        return -EFBIG;
    uint64_t end = offset + len;
    uint64_t new_size = truncate ? end : MAX((uint64_t) e->size, end);
    r = update_data(m, path, e, new_size, offset, data, len, writer, mtime);
    return r < 0 ? r : (int) len;
}

int memdb_truncate(Memdb *m, const char *path, uint64_t size, uint32_t writer, uint32_t mtime) {
    MemdbEntry *e;
    int r;
    MEMDB_LOCKED(m);

    if ((r = writable(m)) < 0 || (r = resolve(m, path, &e)) < 0)
        return r;
    if (size > m->limits.max_file_size)
        return -EFBIG;
    return update_data(m, path, e, size, 0, NULL, 0, writer, mtime);
}

/* Drop an entry from RAM after its row was deleted (the entry must be detached-able). */
static void unlink_entry(Memdb *m, MemdbEntry *parent, MemdbEntry *e, const char *path) {
    (void) hashmap_remove(parent->children, e->name);
    (void) hashmap_remove(m->inodes, U64_TO_KEY(e->inode));
    m->total_size -= e->size;
    if (e->type == MEMDB_TYPE_REG)
        vm_track_removed(m, path);
    else
        lock_forget(m, path);
    entry_free(e);
}

static int delete_locked(Memdb *m, const char *path, uint32_t writer, uint32_t mtime) {
    MemdbEntry *parent, *e;
    const char *name;
    int r;

    if ((r = writable(m)) < 0)
        return r;
    if (!*path)
        return -EACCES;
    if ((r = resolve_parent(m, path, &parent, &name)) < 0)
        return r;
    e = lookup_child(parent, name);
    if (!e)
        return -ENOENT;
    if (e->type == MEMDB_TYPE_DIR && hashmap_size(e->children) > 0)
        return -ENOTEMPTY;

    uint64_t version = m->root->version + 1;
    if ((r = persist(m, e->inode, NULL, false, version, writer, mtime)) < 0)
        return r;
    unlink_entry(m, parent, e, path);
    bump_root(m, version, writer, mtime);
    changed(m, path);
    return 0;
}

int memdb_delete(Memdb *m, const char *path, uint32_t writer, uint32_t mtime) {
    MEMDB_LOCKED(m);
    return delete_locked(m, path, writer, mtime);
}

int memdb_rename(Memdb *m, const char *from, const char *to, uint32_t writer, uint32_t mtime) {
    MemdbEntry *fparent, *tparent, *e, *target;
    const char *fname, *tname;
    int r;
    MEMDB_LOCKED(m);

    if ((r = writable(m)) < 0)
        return r;
    if (!*from || !*to)
        return -EACCES;
    if ((r = resolve_parent(m, from, &fparent, &fname)) < 0)
        return r;
    e = lookup_child(fparent, fname);
    if (!e)
        return -ENOENT;
    if (memdb_path_is_lockdir(from))
        return -EACCES;
    if ((r = resolve_parent(m, to, &tparent, &tname)) < 0 || (r = check_name(tname)) < 0)
        return r;
    target = lookup_child(tparent, tname);
    if (target == e)
        return 0;
    /* Only empty directories move (VM configs move file by file); checked before anything
     * is touched, unlike upstream which could lose the target of a dir->dir rename. */
    if (e->type == MEMDB_TYPE_DIR && hashmap_size(e->children) > 0)
        return -ENOTEMPTY;
    const char *inside = startswith(to, from);
    if (inside && *inside == '/')
        return -EINVAL;
    if (target) {
        if (target->type == MEMDB_TYPE_DIR && e->type != MEMDB_TYPE_DIR)
            return -EISDIR;
        if (target->type != MEMDB_TYPE_DIR && e->type == MEMDB_TYPE_DIR)
            return -ENOTDIR;
        if (target->type == MEMDB_TYPE_DIR && hashmap_size(target->children) > 0)
            return -ENOTEMPTY;
    }
    if (e->type == MEMDB_TYPE_REG && (r = vm_check(m, to, from)) < 0)
        return r;

    _cleanup_free_ char *newname = strdup(tname);
    if (!newname || hashmap_reserve(tparent->children, 1) < 0)
        return -ENOMEM;
    uint64_t version = m->root->version + 1;
    MemdbEntry next = *e;
    next.parent = tparent->inode;
    next.name = newname;
    next.version = version;
    next.writer = writer;
    next.mtime = mtime;
    DatabaseRow row = entry_row(&next);
    if ((r = persist(m, target ? target->inode : 0, &row, true, version, writer, mtime)) < 0)
        return r;

    if (target)
        unlink_entry(m, tparent, target, to);
    (void) hashmap_remove(fparent->children, e->name);
    if (e->type == MEMDB_TYPE_REG)
        vm_track_removed(m, from);
    free(e->name);
    e->name = TAKE_PTR(newname);
    e->parent = tparent->inode;
    e->version = version;
    e->writer = writer;
    e->mtime = mtime;
    (void) hashmap_put(tparent->children, e->name, e);
    bump_root(m, version, writer, mtime);
    if (e->type == MEMDB_TYPE_REG)
        vm_track_added(m, to);
    else if (memdb_path_is_lockdir(to))
        lock_touch(m, to, e);
    changed(m, from);
    changed(m, to);
    return 0;
}

int memdb_mtime(Memdb *m, const char *path, uint32_t new_mtime, uint32_t writer, uint32_t mtime) {
    MemdbEntry *e;
    const char *slash = strrchr(path, '/');
    int r;
    MEMDB_LOCKED(m);

    if ((r = writable(m)) < 0 || (r = check_name(slash ? slash + 1 : path)) < 0 ||
        (r = resolve(m, path, &e)) < 0)
        return r;

    bool is_lock = e->type == MEMDB_TYPE_DIR && memdb_path_is_lockdir(path);
    if (is_lock) {
        if (new_mtime == 0 && m->cluster_locks)
            return -EACCES; /* the request travels as UNLOCK_REQUEST; see dcdb */
        if (new_mtime == 0) {
            /* Break request: honoured once the lock went unrenewed for lock_timeout. */
            MemdbLock *l = hashmap_get(m->locks, path);
            if (!l || l->inode != e->inode || l->version != e->version) {
                lock_touch(m, path, e); /* changed since we started counting: restart */
                return -EACCES;
            }
            /* "More than" the timeout, as upstream: a lock renewed exactly lock_timeout
             * seconds ago is still held. */
            if (m->now() - l->since <= m->limits.lock_timeout)
                return -EACCES;
            return delete_locked(m, path, writer, mtime);
        }
        if (new_mtime < e->mtime || writer != e->writer)
            return -EACCES;
    }

    uint64_t version = m->root->version + 1;
    MemdbEntry next = *e;
    next.version = version;
    next.mtime = new_mtime;
    next.writer = is_lock ? e->writer : writer;
    DatabaseRow row = entry_row(&next);
    /* The row carries new_mtime (and a lock keeps its writer), not the operation's stamp, so
     * the loader could not recover the root's writer/mtime from it: write __version__ too. */
    if ((r = persist(m, 0, &row, true, version, writer, mtime)) < 0)
        return r;
    e->version = version;
    e->mtime = new_mtime;
    e->writer = next.writer;
    bump_root(m, version, writer, mtime);
    if (is_lock)
        lock_touch(m, path, e);
    changed(m, path);
    return 0;
}

int memdb_apply(Memdb *m, const MemdbOp *op, uint32_t writer, uint32_t mtime) {
    if (!op->path)
        return -EINVAL;
    switch (op->type) {
    case MEMDB_OP_WRITE:
        if (op->flags & MEMDB_OP_TRUNCATE)
            return memdb_truncate(m, op->path, op->offset, writer, mtime);
        return memdb_write(m, op->path, op->offset, op->data, op->size, false, writer, mtime);
    case MEMDB_OP_MKDIR:
        return memdb_mkdir(m, op->path, writer, mtime);
    case MEMDB_OP_DELETE:
        return memdb_delete(m, op->path, writer, mtime);
    case MEMDB_OP_RENAME:
        return op->to ? memdb_rename(m, op->path, op->to, writer, mtime) : -EINVAL;
    case MEMDB_OP_CREATE:
        return memdb_create(m, op->path, writer, mtime);
    case MEMDB_OP_MTIME:
        if (op->offset > UINT32_MAX)
            return -EINVAL;
        return memdb_mtime(m, op->path, (uint32_t) op->offset, writer, mtime);
    }
    return -EINVAL;
}

/* ---- reads ------------------------------------------------------------------------------ */

int memdb_stat(Memdb *m, const char *path, MemdbStat *ret) {
    MemdbEntry *e;
    MEMDB_LOCKED(m);
    int r = resolve(m, path, &e);
    if (r < 0)
        return r;
    entry_stat(m, e, ret);
    return 0;
}

int memdb_stat_inode(Memdb *m, uint64_t inode, MemdbStat *ret) {
    MEMDB_LOCKED(m);
    MemdbEntry *e = hashmap_get(m->inodes, U64_TO_KEY(inode));
    if (!e)
        return -ENOENT;
    entry_stat(m, e, ret);
    return 0;
}

int memdb_lookup(Memdb *m, uint64_t parent, const char *name, MemdbStat *ret) {
    MEMDB_LOCKED(m);
    MemdbEntry *d = hashmap_get(m->inodes, U64_TO_KEY(parent));
    if (!d)
        return -ENOENT;
    if (d->type != MEMDB_TYPE_DIR)
        return -ENOTDIR;
    MemdbEntry *e = hashmap_get(d->children, name);
    if (!e)
        return -ENOENT;
    entry_stat(m, e, ret);
    return 0;
}

static ssize_t read_entry(const MemdbEntry *e, uint64_t offset, void *buf, size_t size) {
    if (e->type != MEMDB_TYPE_REG)
        return -EISDIR;
    if (offset >= e->size)
        return 0;
    size_t n = MIN(size, (size_t) (e->size - offset));
    memcpy(buf, e->data + offset, n);
    return (ssize_t) n;
}

ssize_t memdb_read(Memdb *m, const char *path, uint64_t offset, void *buf, size_t size) {
    MemdbEntry *e;
    MEMDB_LOCKED(m);
    int r = resolve(m, path, &e);
    return r < 0 ? r : read_entry(e, offset, buf, size);
}

ssize_t memdb_read_inode(Memdb *m, uint64_t inode, uint64_t offset, void *buf, size_t size) {
    MEMDB_LOCKED(m);
    MemdbEntry *e = hashmap_get(m->inodes, U64_TO_KEY(inode));
    return e ? read_entry(e, offset, buf, size) : -ENOENT;
}

int memdb_read_all(Memdb *m, const char *path, char **ret, size_t *ret_len) {
    MemdbEntry *e;
    MEMDB_LOCKED(m);
    int r = resolve(m, path, &e);
    if (r < 0)
        return r;
    if (e->type != MEMDB_TYPE_REG)
        return -EISDIR;
    char *buf = malloc((size_t) e->size + 1);
    if (!buf)
        return -ENOMEM;
    if (e->size)
        memcpy(buf, e->data, e->size);
    buf[e->size] = '\0';
    *ret = buf;
    if (ret_len)
        *ret_len = e->size;
    return 0;
}

void memdb_dirents_free(MemdbDirent *d, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(d[i].name);
    free(d);
}

static int list_dir(MemdbEntry *d, MemdbDirent **ret, size_t *ret_n) {
    if (d->type != MEMDB_TYPE_DIR)
        return -ENOTDIR;
    size_t n = hashmap_size(d->children), i = 0, it = 0;
    MemdbDirent *list = calloc(n ? n : 1, sizeof *list);
    if (!list)
        return -ENOMEM;
    void *v;
    while (hashmap_iterate(d->children, &it, NULL, &v)) {
        const MemdbEntry *c = v;
        list[i].inode = c->inode;
        list[i].type = c->type;
        list[i].name = strdup(c->name);
        if (!list[i++].name) {
            memdb_dirents_free(list, i);
            return -ENOMEM;
        }
    }
    *ret = list;
    *ret_n = n;
    return 0;
}

int memdb_readdir(Memdb *m, const char *path, MemdbDirent **ret, size_t *ret_n) {
    MemdbEntry *e;
    MEMDB_LOCKED(m);
    int r = resolve(m, path, &e);
    return r < 0 ? r : list_dir(e, ret, ret_n);
}

int memdb_readdir_inode(Memdb *m, uint64_t inode, MemdbDirent **ret, size_t *ret_n) {
    MEMDB_LOCKED(m);
    MemdbEntry *e = hashmap_get(m->inodes, U64_TO_KEY(inode));
    return e ? list_dir(e, ret, ret_n) : -ENOENT;
}

int memdb_inode_path(Memdb *m, uint64_t inode, char **ret) {
    MEMDB_LOCKED(m);
    const MemdbEntry *chain[PATH_MAX / 2];
    size_t depth = 0, len = 0;
    const MemdbEntry *e = hashmap_get(m->inodes, U64_TO_KEY(inode));
    if (!e)
        return -ENOENT;
    while (e->inode != 0) {
        if (depth == ELEMENTSOF(chain))
            return -ENAMETOOLONG;
        chain[depth++] = e;
        len += strlen(e->name) + 1;
        e = hashmap_get(m->inodes, U64_TO_KEY(e->parent));
        if (!e)
            return -ENOENT;
    }
    char *p = malloc(len + 1), *w = p;
    if (!p)
        return -ENOMEM;
    for (size_t i = depth; i > 0; i--) {
        size_t l = strlen(chain[i - 1]->name);
        memcpy(w, chain[i - 1]->name, l);
        w += l;
        if (i > 1)
            *w++ = '/';
    }
    *w = '\0';
    *ret = p;
    return 0;
}

void memdb_root_info(Memdb *m, uint64_t *ret_version, uint32_t *ret_writer, uint32_t *ret_mtime) {
    MEMDB_LOCKED(m);
    if (ret_version)
        *ret_version = m->root->version;
    if (ret_writer)
        *ret_writer = m->root->writer;
    if (ret_mtime)
        *ret_mtime = m->root->mtime;
}

uint64_t memdb_total_size(Memdb *m) {
    MEMDB_LOCKED(m);
    return m->total_size;
}

size_t memdb_entry_count(Memdb *m) {
    MEMDB_LOCKED(m);
    return hashmap_size(m->inodes);
}

int memdb_vmlist(Memdb *m, MemdbVm **ret, size_t *ret_n, uint32_t *ret_version) {
    MEMDB_LOCKED(m);
    size_t n = hashmap_size(m->vms), i = 0, it = 0;
    MemdbVm *list = calloc(n ? n : 1, sizeof *list);
    if (!list)
        return -ENOMEM;
    void *v;
    while (hashmap_iterate(m->vms, &it, NULL, &v))
        list[i++] = *(MemdbVm *) v;
    *ret = list;
    *ret_n = n;
    if (ret_version)
        *ret_version = m->vmlist_version;
    return 0;
}

void memdb_set_change_callback(Memdb *m, MemdbChangeFn fn, void *userdata) {
    MEMDB_LOCKED(m);
    m->on_change = fn;
    m->on_change_userdata = userdata;
}

int memdb_sync_version(Memdb *m) {
    MEMDB_LOCKED(m);
    if (!m->db)
        return 0;
    return checkpoint(m);
}

/* ---- open / load ------------------------------------------------------------------------ */

typedef struct LoadState {
    Memdb *m;
    bool have_version_row;
    uint64_t row_version;
    uint32_t row_writer, row_mtime;
    const char *error;
    uint64_t error_inode;
} LoadState;

static int load_row(void *userdata, const DatabaseRow *row) {
    LoadState *s = userdata;
    Memdb *m = s->m;

    if (row->inode == 0) {
        if (!streq(row->name, DATABASE_VERSION_NAME)) {
            s->error = "root row has a wrong name";
            return -EBADMSG;
        }
        s->have_version_row = true;
        s->row_version = row->version;
        s->row_writer = row->writer;
        s->row_mtime = row->mtime;
        return 0;
    }
    s->error_inode = row->inode;
    if (!*row->name) {
        s->error = "entry without a name";
        return -EBADMSG;
    }
    if (row->type != MEMDB_TYPE_DIR && row->type != MEMDB_TYPE_REG) {
        s->error = "entry of unknown type";
        return -EBADMSG;
    }
    if (row->type == MEMDB_TYPE_DIR && row->size > 0) {
        s->error = "directory with data";
        return -EBADMSG;
    }
    if (row->size > UINT32_MAX) {
        s->error = "entry too large";
        return -EBADMSG;
    }
    _cleanup_(entry_freep) MemdbEntry *e = entry_new(row->type, row->name);
    if (!e)
        return -ENOMEM;
    e->inode = row->inode;
    e->parent = row->parent;
    e->version = row->version;
    e->writer = row->writer;
    e->mtime = row->mtime;
    e->size = (uint32_t) row->size;
    if (row->size) {
        e->data = malloc(row->size);
        if (!e->data)
            return -ENOMEM;
        memcpy(e->data, row->data, row->size);
    }
    if (hashmap_put(m->inodes, U64_TO_KEY(e->inode), e) < 0)
        return -ENOMEM;
    m->total_size += e->size;
    TAKE_PTR(e);
    return 0;
}

/* Second pass: attach every entry to its parent; strict like upstream's loader. */
static int link_tree(Memdb *m, const char **reterr, uint64_t *reterr_inode) {
    size_t it = 0;
    void *v;
    while (hashmap_iterate(m->inodes, &it, NULL, &v)) {
        MemdbEntry *e = v;
        if (e->inode == 0)
            continue;
        *reterr_inode = e->inode;
        MemdbEntry *p = hashmap_get(m->inodes, U64_TO_KEY(e->parent));
        if (!p) {
            *reterr = "missing directory inode";
            return -EBADMSG;
        }
        if (p->type != MEMDB_TYPE_DIR) {
            *reterr = "parent is not a directory";
            return -EBADMSG;
        }
        if (hashmap_get(p->children, e->name)) {
            *reterr = "duplicate name in directory";
            return -EBADMSG;
        }
        if (hashmap_put(p->children, e->name, e) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Walk nodes/<node>/{qemu-server,lxc,openvz}/ and rebuild the VM list; -EEXIST on a duplicate. */
static int rebuild_vmlist(Memdb *m, const char **reterr) {
    MemdbEntry *nodes = lookup_child(m->root, "nodes");
    if (!nodes || nodes->type != MEMDB_TYPE_DIR)
        return 0;
    size_t it = 0;
    void *v;
    char path[1024];
    while (hashmap_iterate(nodes->children, &it, NULL, &v)) {
        MemdbEntry *node = v;
        if (node->type != MEMDB_TYPE_DIR)
            continue;
        for (int t = 0; t < _MEMDB_GUEST_MAX; t++) {
            MemdbEntry *dir = lookup_child(node, guest_type_dirs[t]);
            if (!dir || dir->type != MEMDB_TYPE_DIR)
                continue;
            size_t it2 = 0;
            void *c;
            while (hashmap_iterate(dir->children, &it2, NULL, &c)) {
                MemdbEntry *f = c;
                uint32_t vmid;
                if (f->type != MEMDB_TYPE_REG)
                    continue;
                snprintf(path, sizeof path, "nodes/%s/%s/%s", node->name, dir->name, f->name);
                if (!memdb_path_vm_config(path, &vmid, NULL, NULL))
                    continue;
                if (hashmap_get(m->vms, U64_TO_KEY(vmid))) {
                    *reterr = "detected duplicate VMID";
                    return -EEXIST;
                }
                if (vm_register(m, vmid, node->name, (MemdbGuestType) t) < 0)
                    return -ENOMEM;
            }
        }
    }
    return 0;
}

static void rebuild_locks(Memdb *m) {
    MemdbEntry *priv = lookup_child(m->root, "priv");
    MemdbEntry *lockdir = priv ? lookup_child(priv, "lock") : NULL;
    if (!lockdir || lockdir->type != MEMDB_TYPE_DIR)
        return;
    size_t it = 0;
    void *v;
    char path[512];
    while (hashmap_iterate(lockdir->children, &it, NULL, &v)) {
        MemdbEntry *l = v;
        if (l->type != MEMDB_TYPE_DIR)
            continue;
        snprintf(path, sizeof path, PVE_CFS_LOCK_DIR "/%s", l->name);
        lock_touch(m, path, l);
    }
}

/* ---- replication ------------------------------------------------------------------------ */

static int load_tree(Memdb *m, bool repair_version);

static void put_le(char **p, const void *v, size_t n) {
    memcpy(*p, v, n);
    *p += n;
}

static int entry_digest(const MemdbEntry *e, uint8_t ret[32]) {
    _cleanup_(digest_freep) Digest *d = digest_new_sha256();
    uint8_t type = e->type;
    if (!d)
        return -ENOMEM;
    if (digest_update(d, &e->version, 8) < 0 || digest_update(d, &e->writer, 4) < 0 ||
        digest_update(d, &e->mtime, 4) < 0 || digest_update(d, &e->size, 4) < 0 ||
        digest_update(d, &type, 1) < 0 || digest_update(d, &e->parent, 8) < 0 ||
        digest_update(d, e->name, strlen(e->name) + 1) < 0 ||
        (e->size && digest_update(d, e->data, e->size) < 0))
        return -EIO;
    return digest_finish(d, ret);
}

static int cmp_entry_inode(const void *a, const void *b) {
    const MemdbEntry *x = *(MemdbEntry *const *) a, *y = *(MemdbEntry *const *) b;
    return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static int encode_index_locked(Memdb *m, void **ret, size_t *ret_len) {
    size_t n = hashmap_size(m->inodes) - 1, i = 0, it = 0;
    _cleanup_free_ MemdbEntry **list = calloc(n ? n : 1, sizeof *list);
    void *v;
    if (!list)
        return -ENOMEM;
    while (hashmap_iterate(m->inodes, &it, NULL, &v))
        if (v != m->root)
            list[i++] = v;
    qsort(list, n, sizeof *list, cmp_entry_inode);
    size_t len = MEMDB_INDEX_HEADER_SIZE + n * MEMDB_INDEX_ENTRY_SIZE;
    char *buf = malloc(len), *p = buf;
    if (!buf)
        return -ENOMEM;
    uint64_t last = n ? list[n - 1]->inode : 0;
    uint32_t count = (uint32_t) n, bytes = (uint32_t) m->total_size;
    put_le(&p, &m->root->version, 8);
    put_le(&p, &last, 8);
    put_le(&p, &m->root->writer, 4);
    put_le(&p, &m->root->mtime, 4);
    put_le(&p, &count, 4);
    put_le(&p, &bytes, 4);
    for (i = 0; i < n; i++) {
        put_le(&p, &list[i]->inode, 8);
        int r = entry_digest(list[i], (uint8_t *) p);
        if (r < 0) {
            free(buf);
            return r;
        }
        p += 32;
    }
    *ret = buf;
    *ret_len = len;
    return 0;
}

int memdb_encode_index(Memdb *m, void **ret, size_t *ret_len) {
    MEMDB_LOCKED(m);
    return encode_index_locked(m, ret, ret_len);
}

int memdb_index_parse(
    const void *data, size_t len, MemdbIndexHeader *ret, const uint8_t **ret_entries
) {
    MemdbIndexHeader h;
    const char *p = data;
    if (len < MEMDB_INDEX_HEADER_SIZE)
        return -EBADMSG;
    memcpy(&h.version, p, 8);
    memcpy(&h.last_inode, p + 8, 8);
    memcpy(&h.writer, p + 16, 4);
    memcpy(&h.mtime, p + 20, 4);
    memcpy(&h.count, p + 24, 4);
    memcpy(&h.bytes, p + 28, 4);
    if ((len - MEMDB_INDEX_HEADER_SIZE) / MEMDB_INDEX_ENTRY_SIZE != h.count ||
        (len - MEMDB_INDEX_HEADER_SIZE) % MEMDB_INDEX_ENTRY_SIZE != 0)
        return -EBADMSG;
    *ret = h;
    if (ret_entries)
        *ret_entries = (const uint8_t *) p + MEMDB_INDEX_HEADER_SIZE;
    return 0;
}

int memdb_checksum(Memdb *m, uint8_t ret[32]) {
    _cleanup_free_ void *idx = NULL;
    size_t len;
    int r = memdb_encode_index(m, &idx, &len);
    return r < 0 ? r : digest_sha256(idx, len, ret);
}

int memdb_encode_entry(Memdb *m, uint64_t inode, void **ret, size_t *ret_len) {
    MEMDB_LOCKED(m);
    const MemdbEntry *e = hashmap_get(m->inodes, U64_TO_KEY(inode));
    if (!e || e == m->root)
        return -ENOENT;
    uint32_t namelen = (uint32_t) strlen(e->name) + 1;
    size_t len = 8 * 3 + 4 * 4 + 1 + namelen + e->size;
    char *buf = malloc(len), *p = buf;
    if (!buf)
        return -ENOMEM;
    put_le(&p, &e->parent, 8);
    put_le(&p, &e->inode, 8);
    put_le(&p, &e->version, 8);
    put_le(&p, &e->writer, 4);
    put_le(&p, &e->mtime, 4);
    put_le(&p, &e->size, 4);
    put_le(&p, &namelen, 4);
    put_le(&p, &e->type, 1);
    put_le(&p, e->name, namelen);
    if (e->size)
        put_le(&p, e->data, e->size);
    *ret = buf;
    *ret_len = len;
    return 0;
}

int memdb_decode_entry(const void *data, size_t len, DatabaseRow *ret) {
    const char *p = data;
    uint32_t size, namelen;
    DatabaseRow r = {0};
    if (len < 41)
        return -EBADMSG;
    memcpy(&r.parent, p, 8);
    memcpy(&r.inode, p + 8, 8);
    memcpy(&r.version, p + 16, 8);
    memcpy(&r.writer, p + 24, 4);
    memcpy(&r.mtime, p + 28, 4);
    memcpy(&size, p + 32, 4);
    memcpy(&namelen, p + 36, 4);
    r.type = (uint8_t) p[40];
    if (namelen < 2 || namelen > NAME_MAX + 1 || (size_t) namelen + size != len - 41 ||
        p[41 + namelen - 1] != '\0' || memchr(p + 41, '\0', namelen - 1) ||
        (r.type != MEMDB_TYPE_DIR && r.type != MEMDB_TYPE_REG) || r.inode == 0 ||
        (r.type == MEMDB_TYPE_DIR && size))
        return -EBADMSG;
    r.name = p + 41;
    r.data = size ? p + 41 + namelen : NULL;
    r.size = size;
    *ret = r;
    return 0;
}

static void free_tree(MemdbEntry *root, Hashmap *inodes, Hashmap *vms, Hashmap *locks) {
    size_t it = 0;
    void *v;
    while (hashmap_iterate(inodes, &it, NULL, &v))
        if (v != root)
            entry_free(v);
    it = 0;
    while (hashmap_iterate(vms, &it, NULL, &v))
        free(v);
    it = 0;
    while (hashmap_iterate(locks, &it, NULL, &v))
        lock_free(v);
    hashmap_free(inodes);
    hashmap_free(vms);
    hashmap_free(locks);
    entry_free(root);
}

static int entry_path(Memdb *m, const MemdbEntry *e, StrBuf *out);

int memdb_replace(
    Memdb *m,
    const void *index,
    size_t index_len,
    const DatabaseRow *rows,
    size_t n,
    MemdbChangeFn changed_fn,
    void *userdata
) {
    MemdbIndexHeader h;
    const uint8_t *entries;
    int r;
    MEMDB_LOCKED(m);

    if (!m->db)
        return -EOPNOTSUPP;
    if ((r = memdb_index_parse(index, index_len, &h, &entries)) < 0)
        return r;
    if ((r = checkpoint(m)) < 0) /* config.db must equal RAM before we diff against it */
        return r;

    _cleanup_(hashmap_freep) Hashmap *keep = hashmap_new(&hashmap_u64_ops);
    if (!keep || hashmap_reserve(keep, h.count) < 0)
        return -ENOMEM;
    for (uint32_t i = 0; i < h.count; i++) {
        uint64_t inode;
        memcpy(&inode, entries + (size_t) i * MEMDB_INDEX_ENTRY_SIZE, 8);
        (void) hashmap_put(keep, U64_TO_KEY(inode), m);
    }

    /* A fresh tree, loaded from the changed database inside the transaction. */
    Memdb tmp = {.db = m->db, .limits = m->limits, .now = m->now};
    tmp.inodes = hashmap_new(&hashmap_u64_ops);
    tmp.vms = hashmap_new(&hashmap_u64_ops);
    tmp.locks = hashmap_new(&hashmap_string_ops);
    tmp.root = entry_new(MEMDB_TYPE_DIR, "");
    if (!tmp.inodes || !tmp.vms || !tmp.locks || !tmp.root ||
        hashmap_put(tmp.inodes, U64_TO_KEY(0), tmp.root) < 0) {
        free_tree(tmp.root, tmp.inodes, tmp.vms, tmp.locks);
        return -ENOMEM;
    }

    _cleanup_free_ void *got = NULL;
    size_t got_len = 0;
    if ((r = database_begin(m->db)) < 0)
        goto fail_tmp;
    size_t it = 0;
    const void *k;
    while (hashmap_iterate(m->inodes, &it, &k, NULL))
        if (KEY_TO_U64(k) != 0 && !hashmap_get(keep, k) &&
            (r = database_delete(m->db, KEY_TO_U64(k))) < 0)
            goto fail;
    for (size_t i = 0; i < n; i++)
        if ((r = database_put(m->db, &rows[i])) < 0)
            goto fail;
    if ((r = database_put_version(m->db, h.version, h.writer, h.mtime)) < 0)
        goto fail;
    if ((r = load_tree(&tmp, false)) < 0)
        goto fail;
    /* The loader trusts max(row versions); the leader's header is authoritative. */
    bump_root(&tmp, h.version, h.writer, h.mtime);
    if ((r = encode_index_locked(&tmp, &got, &got_len)) < 0)
        goto fail;
    if (got_len != index_len || memcmp(got, index, index_len) != 0) {
        log_error("memdb: the tree built from the leader's updates does not match its index");
        r = -EBADMSG;
        goto fail;
    }
    if ((r = database_commit(m->db)) < 0)
        goto fail;

    /* Report the old paths of what goes away or changes, then the new paths. */
    if (changed_fn) {
        _cleanup_(hashmap_freep) Hashmap *updated = hashmap_new(&hashmap_u64_ops);
        for (size_t i = 0; updated && i < n; i++)
            (void) hashmap_put(updated, U64_TO_KEY(rows[i].inode), m);
        it = 0;
        void *v;
        while (hashmap_iterate(m->inodes, &it, &k, &v)) {
            _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
            if (v == m->root || (hashmap_get(keep, k) && updated && !hashmap_get(updated, k)))
                continue;
            if (entry_path(m, v, &b) == 0)
                changed_fn(userdata, b.data);
        }
        for (size_t i = 0; i < n; i++) {
            _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
            const MemdbEntry *e = hashmap_get(tmp.inodes, U64_TO_KEY(rows[i].inode));
            if (e && entry_path(&tmp, e, &b) == 0)
                changed_fn(userdata, b.data);
        }
    }

    /* Swap in the new tree; nothing below can fail. */
    MemdbEntry *old_root = m->root;
    Hashmap *old_inodes = m->inodes, *old_vms = m->vms, *old_locks = m->locks;
    m->root = tmp.root;
    m->inodes = tmp.inodes;
    m->vms = tmp.vms;
    m->locks = tmp.locks;
    m->total_size = tmp.total_size;
    m->vmlist_version += tmp.vmlist_version + 1;
    m->vm_counter += tmp.vm_counter;
    free_tree(old_root, old_inodes, old_vms, old_locks);
    (void) oplog_reset(m->oplog);
    hashmap_clear(m->dirty);
    hashmap_clear(m->deleted);
    m->dirty_ops = 0;
    return 0;
fail:
    database_rollback(m->db);
fail_tmp:
    free_tree(tmp.root, tmp.inodes, tmp.vms, tmp.locks);
    return r;
}

/* The path of an entry ("" for the root), built by walking up the parents. */
static int entry_path(Memdb *m, const MemdbEntry *e, StrBuf *out) {
    const MemdbEntry *chain[256];
    size_t depth = 0;
    while (e && e != m->root && e->inode != 0) {
        if (depth == ELEMENTSOF(chain))
            return -ENAMETOOLONG;
        chain[depth++] = e;
        e = hashmap_get(m->inodes, U64_TO_KEY(e->parent));
    }
    if (!e)
        return -ENOENT;
    strbuf_append(out, "");
    for (size_t i = depth; i > 0; i--) {
        strbuf_append(out, chain[i - 1]->name);
        if (i > 1)
            strbuf_append_char(out, '/');
    }
    return out->error;
}

void memdb_set_cluster_locks(Memdb *m, bool cluster) {
    MEMDB_LOCKED(m);
    m->cluster_locks = cluster;
}

static int lock_entry(Memdb *m, const char *path, MemdbEntry **ret) {
    MemdbEntry *e;
    if (!memdb_path_is_lockdir(path))
        return -EINVAL;
    int r = resolve(m, path, &e);
    if (r < 0)
        return r;
    if (e->type != MEMDB_TYPE_DIR)
        return -ENOTDIR;
    *ret = e;
    return 0;
}

int memdb_lock_digest(Memdb *m, const char *path, uint8_t ret[32]) {
    MemdbEntry *e;
    MEMDB_LOCKED(m);
    int r = lock_entry(m, path, &e);
    return r < 0 ? r : entry_digest(e, ret);
}

int memdb_lock_expired(Memdb *m, const char *path, const uint8_t csum[32]) {
    MemdbEntry *e;
    uint8_t cur[32];
    MEMDB_LOCKED(m);
    int r = lock_entry(m, path, &e);
    if (r < 0 || (r = entry_digest(e, cur)) < 0)
        return r;
    MemdbLock *l = hashmap_get(m->locks, path);
    if (memcmp(cur, csum, 32) != 0 || !l || l->inode != e->inode || l->version != e->version) {
        lock_touch(m, path, e); /* changed since we started counting: restart */
        return 0;
    }
    return m->now() - l->since > m->limits.lock_timeout;
}

int memdb_unlock(
    Memdb *m, const char *path, const uint8_t csum[32], uint32_t writer, uint32_t mtime
) {
    MemdbEntry *e;
    uint8_t cur[32];
    MEMDB_LOCKED(m);
    int r = lock_entry(m, path, &e);
    if (r < 0 || (r = entry_digest(e, cur)) < 0)
        return r;
    if (memcmp(cur, csum, 32) != 0)
        return -ESTALE;
    return delete_locked(m, path, writer, mtime);
}

void memdb_inject_failure(Memdb *m, unsigned n) {
    MEMDB_LOCKED(m);
    m->inject_failure = n;
}

Memdb *memdb_close(Memdb *m) {
    if (!m)
        return NULL;
    if (m->flusher_started) {
        pthread_mutex_lock(&m->mutex);
        m->stop_flusher = true;
        pthread_cond_signal(&m->flush_cond);
        pthread_mutex_unlock(&m->mutex);
        (void) pthread_join(m->flusher, NULL);
    }
    if (m->db && m->oplog)
        (void) memdb_sync_version(m); /* on failure the log keeps the rest for the next open */
    free_tree(m->root, m->inodes, m->vms, m->locks);
    hashmap_free(m->dirty);
    hashmap_free(m->deleted);
    oplog_close(m->oplog);
    database_close(m->db);
    pthread_cond_destroy(&m->flush_cond);
    pthread_mutex_destroy(&m->mutex);
    free(m);
    return NULL;
}

static int replay_record(void *userdata, const OplogRecord *rec) {
    Database *db = userdata;
    switch (rec->kind) {
    case OPLOG_PUT:
        return database_put(db, &rec->row);
    case OPLOG_META:
        return database_update_meta(db, &rec->row);
    case OPLOG_DELETE:
        return database_delete(db, rec->row.inode);
    case OPLOG_VERSION:
        return database_put_version(db, rec->row.version, rec->row.writer, rec->row.mtime);
    }
    return -EBADMSG;
}

/* Bring config.db up to date with a log left by a crash, in one transaction, then empty it. */
static int replay_oplog(Memdb *m, const char *logpath) {
    uint64_t dropped = 0;
    int r = database_begin(m->db);
    if (r < 0)
        return r;
    r = oplog_replay(logpath, replay_record, m->db, &dropped);
    if (r < 0 || (r = database_commit(m->db)) < 0) {
        database_rollback(m->db);
        return r;
    }
    if (dropped > 0)
        log_warning(
            "Ignored the last %llu bytes of '%s': an operation interrupted by a crash "
            "(it never reported success).",
            (unsigned long long) dropped, logpath
        );
    if (truncate(logpath, 0) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

static __thread const char *open_error_msg;
static __thread uint64_t open_error_inode;

/* Why the last memdb_open() in this thread failed to load (for the caller's log line). */
int memdb_open_error(const char **ret_msg, uint64_t *ret_inode) {
    *ret_msg = open_error_msg;
    *ret_inode = open_error_inode;
    return open_error_msg ? 0 : -ENOENT;
}

/* Load the whole tree from the database into m's (empty) tree maps, as the strict upstream
 * loader does, then rebuild the VM list and the lock table. With repair, a stale __version__
 * row is corrected on disk. */
static int load_tree(Memdb *m, bool repair_version) {
    int r;
    LoadState s = {.m = m};
    r = database_load(m->db, load_row, &s);
    if (r < 0) {
        open_error_msg = s.error ? s.error : "cannot read database";
        open_error_inode = s.error_inode;
        return r;
    }
    r = link_tree(m, &open_error_msg, &open_error_inode);
    if (r < 0)
        return r;
    /* The version is the highest one any row carries (see the file comment). */
    uint64_t version = s.have_version_row ? s.row_version : 0;
    uint32_t writer = s.row_writer, mtime = s.row_mtime;
    size_t it = 0;
    void *v;
    while (hashmap_iterate(m->inodes, &it, NULL, &v)) {
        const MemdbEntry *e = v;
        if (e != m->root && (e->version > version || e->inode > version)) {
            version = MAX(e->version, e->inode);
            writer = e->writer;
            mtime = e->mtime;
        }
    }
    bool repair = !s.have_version_row || version != s.row_version;
    if (version == 0)
        version = 1; /* a new database starts at version 1 */
    bump_root(m, version, writer, mtime);
    if (repair && repair_version && (r = write_version_row(m, version, writer, mtime)) < 0)
        return r;
    r = rebuild_vmlist(m, &open_error_msg);
    if (r < 0)
        return r;
    rebuild_locks(m);
    return 0;
}

int memdb_open(const char *db_path, const MemdbLimits *limits, Memdb **ret) {
    _cleanup_(memdb_closep) Memdb *m = calloc(1, sizeof *m);
    int r;

    open_error_msg = NULL;
    open_error_inode = 0;
    if (!m)
        return -ENOMEM;
    pthread_mutex_init(&m->mutex, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->flush_cond, &ca);
    pthread_condattr_destroy(&ca);
    m->flush_delay_ms = MEMDB_FLUSH_DELAY_MS;
    m->limits = limits ? *limits : memdb_default_limits();
    m->now = monotonic_seconds;
    m->inodes = hashmap_new(&hashmap_u64_ops);
    m->vms = hashmap_new(&hashmap_u64_ops);
    m->locks = hashmap_new(&hashmap_string_ops);
    m->dirty = hashmap_new(&hashmap_u64_ops);
    m->deleted = hashmap_new(&hashmap_u64_ops);
    m->root = entry_new(MEMDB_TYPE_DIR, "");
    if (!m->inodes || !m->vms || !m->locks || !m->dirty || !m->deleted || !m->root)
        return -ENOMEM;
    if (hashmap_put(m->inodes, U64_TO_KEY(0), m->root) < 0)
        return -ENOMEM;

    if (db_path) {
        r = database_open(db_path, &m->db);
        if (r < 0) {
            open_error_msg = "cannot open database";
            return r;
        }
        _cleanup_free_ char *logpath = NULL;
        if (asprintf(&logpath, "%s-oplog", db_path) < 0)
            return -ENOMEM;
        r = replay_oplog(m, logpath);
        if (r < 0) {
            open_error_msg = "cannot replay the operation log";
            return r;
        }
        r = load_tree(m, true);
        if (r < 0)
            return r;
        r = oplog_open(logpath, &m->oplog);
        if (r < 0) {
            open_error_msg = "cannot open the operation log";
            return r;
        }
    } else {
        m->root->version = 1;
        r = rebuild_vmlist(m, &open_error_msg);
        if (r < 0)
            return r;
    }
    if (m->oplog) {
        r = -pthread_create(&m->flusher, NULL, flusher_thread, m);
        if (r < 0)
            return r;
        m->flusher_started = true;
    }
    open_error_msg = NULL;
    *ret = TAKE_PTR(m);
    return 0;
}
