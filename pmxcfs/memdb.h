/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * memdb: the in-RAM tree behind /etc/pve and the rules of its namespace.
 *
 * Every mutation is one operation with a (writer, mtime) stamp, so the same call serves the
 * local FUSE path and, later, operations delivered in total order by the cluster. An operation
 * bumps the global version once; a new entry gets inode = version. The new rows are committed
 * to the database *before* RAM changes, so a failed transaction leaves RAM untouched and the
 * call returns -EIO: RAM and disk never diverge.
 *
 * Paths are relative to the mount point, without leading slash ("" is the root). All public
 * functions lock the memdb mutex themselves; callbacks run with it held.
 */
#pragma once

#include <sys/types.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "database.h"
#include "pve/hashmap.h"
#include "pve/macro.h"

typedef struct Oplog Oplog;

/* Checkpoint into config.db after this many operations or log bytes, or after the delay. */
#define MEMDB_CHECKPOINT_OPS   1024u
#define MEMDB_CHECKPOINT_BYTES (8u * 1024 * 1024)
#define MEMDB_FLUSH_DELAY_MS   100u

#define MEMDB_TYPE_DIR 4
#define MEMDB_TYPE_REG 8

typedef struct MemdbEntry MemdbEntry;
struct MemdbEntry {
    uint64_t inode;
    uint64_t parent;
    uint64_t version;
    uint32_t writer;
    uint32_t mtime;
    uint32_t size;
    uint8_t type;
    char *name;
    char *data;        /* REG: size bytes, NULL when empty */
    Hashmap *children; /* DIR: name -> MemdbEntry (key is child->name) */
};

/* A copy of an entry's metadata, safe to use after the mutex is released. */
typedef struct MemdbStat {
    uint64_t inode;
    uint64_t parent;
    uint64_t version;
    uint32_t writer;
    uint32_t mtime;
    uint32_t size;
    uint8_t type;
    bool private_path; /* priv/ or nodes/<node>/priv/ or below */
} MemdbStat;

typedef struct MemdbDirent {
    uint64_t inode;
    uint8_t type;
    char *name;
} MemdbDirent;

typedef enum MemdbGuestType {
    MEMDB_GUEST_QEMU,
    MEMDB_GUEST_LXC,
    MEMDB_GUEST_OPENVZ,
    _MEMDB_GUEST_MAX,
} MemdbGuestType;

const char *memdb_guest_type_to_string(MemdbGuestType t);

typedef struct MemdbVm {
    uint32_t vmid;
    MemdbGuestType type;
    uint32_t version;
    char node[256];
} MemdbVm;

typedef struct MemdbLimits {
    uint64_t max_file_size;  /* bytes per file (EFBIG) */
    uint64_t max_total_size; /* bytes of all files (ENOSPC) */
    uint64_t max_inodes;     /* entries (ENOSPC) */
    uint32_t lock_timeout;   /* seconds before a lock may be broken */
} MemdbLimits;

/* Called (mutex held) after every successful change of a path, for caches and counters. */
typedef void (*MemdbChangeFn)(void *userdata, const char *path);

typedef struct Memdb {
    pthread_mutex_t mutex;
    MemdbEntry *root;   /* inode 0; holds the global version, writer and mtime */
    Hashmap *inodes;    /* inode -> MemdbEntry */
    Database *db;       /* may be NULL (pure RAM, tests) */
    Oplog *oplog;       /* <db>-oplog: where operations become durable */
    Hashmap *dirty;     /* inodes changed since the last checkpoint */
    Hashmap *deleted;   /* inodes deleted since the last checkpoint */
    unsigned dirty_ops; /* operations since the last checkpoint */
    bool checkpoint_failed;
    pthread_cond_t flush_cond;
    pthread_t flusher;
    bool flusher_started;
    bool stop_flusher;
    unsigned flush_delay_ms;
    unsigned inject_failure; /* tests: fail the n-th next persistence step */
    bool cluster_locks;      /* utime(0) on a lock is a request, not a local break */
    MemdbLimits limits;
    uint64_t total_size;
    Hashmap *vms; /* vmid -> MemdbVm */
    uint32_t vmlist_version;
    uint32_t vm_counter;
    Hashmap *locks; /* lock path -> MemdbLock */
    bool errors;    /* set when the database failed in a way RAM cannot undo */
    MemdbChangeFn on_change;
    void *on_change_userdata;
    uint64_t (*now)(void); /* monotonic seconds, replaceable for tests */
} Memdb;

/* Open the tree from a database file (created when missing); db_path NULL = RAM only. */
int memdb_open(const char *db_path, const MemdbLimits *limits, Memdb **ret);
/* After a failed memdb_open() in this thread: what was wrong with the database and where. */
int memdb_open_error(const char **ret_msg, uint64_t *ret_inode);
Memdb *memdb_close(Memdb *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Memdb *, memdb_close);
MemdbLimits memdb_default_limits(void);

void memdb_set_change_callback(Memdb *m, MemdbChangeFn fn, void *userdata);

/* Mutations: 0 or negative errno. writer = originating nodeid (0 locally), mtime = its clock. */
int memdb_create(Memdb *m, const char *path, uint32_t writer, uint32_t mtime);
int memdb_mkdir(Memdb *m, const char *path, uint32_t writer, uint32_t mtime);
/* Write len bytes at offset; with truncate the file is cut at offset+len first. Returns len. */
int memdb_write(
    Memdb *m,
    const char *path,
    uint64_t offset,
    const void *data,
    size_t len,
    bool truncate,
    uint32_t writer,
    uint32_t mtime
);
int memdb_truncate(Memdb *m, const char *path, uint64_t size, uint32_t writer, uint32_t mtime);
/* unlink and rmdir (a directory must be empty). */
int memdb_delete(Memdb *m, const char *path, uint32_t writer, uint32_t mtime);
int memdb_rename(Memdb *m, const char *from, const char *to, uint32_t writer, uint32_t mtime);
/* utime: lock renewal / break semantics for priv/lock/<name>, plain mtime change otherwise. */
int memdb_mtime(Memdb *m, const char *path, uint32_t new_mtime, uint32_t writer, uint32_t mtime);

/*
 * One mutation as a message, in the shape of upstream's dcdb FUSE messages (same type
 * numbers), so a node can apply operations received from the cluster in delivery order with
 * exactly the code the local mount uses.
 */
typedef enum MemdbOpType {
    MEMDB_OP_WRITE = 1, /* flags & MEMDB_OP_TRUNCATE: truncate(2) to offset, no data */
    MEMDB_OP_MKDIR = 2,
    MEMDB_OP_DELETE = 3,
    MEMDB_OP_RENAME = 4,
    MEMDB_OP_CREATE = 5,
    MEMDB_OP_MTIME = 6, /* new mtime in offset */
} MemdbOpType;

#define MEMDB_OP_TRUNCATE 1u

typedef struct MemdbOp {
    MemdbOpType type;
    const char *path;
    const char *to; /* RENAME target */
    uint64_t offset;
    const void *data;
    size_t size;
    uint32_t flags;
} MemdbOp;

/* Apply an operation stamped (writer, mtime); returns like the matching memdb_* call. */
int memdb_apply(Memdb *m, const MemdbOp *op, uint32_t writer, uint32_t mtime);

/* Reads. */
int memdb_stat(Memdb *m, const char *path, MemdbStat *ret);
int memdb_stat_inode(Memdb *m, uint64_t inode, MemdbStat *ret);
int memdb_lookup(Memdb *m, uint64_t parent, const char *name, MemdbStat *ret);
/* Copy up to size bytes from offset into buf; returns bytes copied. */
ssize_t memdb_read(Memdb *m, const char *path, uint64_t offset, void *buf, size_t size);
ssize_t memdb_read_inode(Memdb *m, uint64_t inode, uint64_t offset, void *buf, size_t size);
/* Whole file as a malloc'd NUL-terminated buffer. */
int memdb_read_all(Memdb *m, const char *path, char **ret, size_t *ret_len);
int memdb_readdir(Memdb *m, const char *path, MemdbDirent **ret, size_t *ret_n);
int memdb_readdir_inode(Memdb *m, uint64_t inode, MemdbDirent **ret, size_t *ret_n);
void memdb_dirents_free(MemdbDirent *d, size_t n);
/* The path of an inode ("" for the root), malloc'd. */
int memdb_inode_path(Memdb *m, uint64_t inode, char **ret);
/* Global version / writer / mtime (the root's). */
void memdb_root_info(Memdb *m, uint64_t *ret_version, uint32_t *ret_writer, uint32_t *ret_mtime);
uint64_t memdb_total_size(Memdb *m);
size_t memdb_entry_count(Memdb *m);

/* VM list: snapshot under the mutex; caller frees *ret. */
int memdb_vmlist(Memdb *m, MemdbVm **ret, size_t *ret_n, uint32_t *ret_version);

/* Path classifiers (pure). */
bool memdb_path_is_private(const char *path);
bool memdb_path_is_lockdir(const char *path);
/* "nodes/<node>/{qemu-server,lxc,openvz}/<vmid>.conf" -> vmid, node, type. */
bool memdb_path_vm_config(
    const char *path, uint32_t *ret_vmid, char ret_node[256], MemdbGuestType *ret_type
);

/* Checkpoint now: copy every change still only in the operation log into config.db (done
 * automatically within MEMDB_FLUSH_DELAY_MS, and at close). */
int memdb_sync_version(Memdb *m);
/* ---- replication (used by dcdb) ---- */

/* The index sent as STATE in a sync round: header {u64 version, u64 last inode, u32 writer,
 * u32 mtime, u32 entry count, u32 total bytes}, then per entry (sorted by inode) {u64 inode,
 * u8 sha256[32]} over the entry's version, writer, mtime, size, type, parent, name and data. */
#define MEMDB_INDEX_HEADER_SIZE 32u
#define MEMDB_INDEX_ENTRY_SIZE  40u

typedef struct MemdbIndexHeader {
    uint64_t version;
    uint64_t last_inode;
    uint32_t writer;
    uint32_t mtime;
    uint32_t count;
    uint32_t bytes;
} MemdbIndexHeader;

int memdb_encode_index(Memdb *m, void **ret, size_t *ret_len);
/* Validate an index; *ret_entries points to count entries of MEMDB_INDEX_ENTRY_SIZE bytes. */
int memdb_index_parse(
    const void *data, size_t len, MemdbIndexHeader *ret, const uint8_t **ret_entries
);
/* One entry as an UPDATE payload: {u64 parent, u64 inode, u64 version, u32 writer, u32 mtime,
 * u32 size, u32 name length incl. NUL, u8 type, name, data}. */
int memdb_encode_entry(Memdb *m, uint64_t inode, void **ret, size_t *ret_len);
/* Decode an UPDATE payload; the row points into data. */
int memdb_decode_entry(const void *data, size_t len, DatabaseRow *ret);
/* Become the leader's tree: drop local entries missing from its index, store the received
 * rows, reload, and require the result's index to equal the leader's - all in one database
 * transaction that is rolled back on any mismatch (RAM untouched then). On success changed()
 * is called for the old path of every dropped or replaced entry and the new path of every
 * received one. */
int memdb_replace(
    Memdb *m,
    const void *index,
    size_t index_len,
    const DatabaseRow *rows,
    size_t n,
    MemdbChangeFn changed,
    void *userdata
);
/* SHA-256 over the whole tree (the index), for the periodic verification. */
int memdb_checksum(Memdb *m, uint8_t ret[32]);

/* Locks in cluster mode: utime(0) is only a request (EACCES); the lowest node decides. */
void memdb_set_cluster_locks(Memdb *m, bool cluster);
/* Identity (SHA-256 of the metadata) of the lock directory at path. */
int memdb_lock_digest(Memdb *m, const char *path, uint8_t ret[32]);
/* 1 if the lock at path still has identity csum and went unrenewed for the lock timeout, 0 if
 * not (a changed identity restarts the local timer), negative errno if it is gone. */
int memdb_lock_expired(Memdb *m, const char *path, const uint8_t csum[32]);
/* Delete the lock directory if its identity is still csum (else -ESTALE). */
int memdb_unlock(
    Memdb *m, const char *path, const uint8_t csum[32], uint32_t writer, uint32_t mtime
);

/* Tests: make the n-th next persistence step fail with -EIO (0 disables). */
void memdb_inject_failure(Memdb *m, unsigned n);
