/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * memfs-cpg: the ceiling of a replicated FUSE file system, for bench-pmxcfs-cluster. It is
 * bench/pmxcfs/memfs.c (an in-memory, path-based libfuse file system that does nothing else)
 * where every mutating operation first multicasts one message (CPG_TYPE_AGREED: operation,
 * paths, written data) and waits for its own delivery, as pmxcfs's dfsm does for each of create,
 * write and rename. It does the least such a design can: the FUSE thread that asks multicasts
 * and dispatches the CPG fd itself (no thread to wake, one operation in flight), and nothing is
 * applied on other nodes, nor persisted. So a save here costs 3 CPG round trips plus what the
 * kernel's FUSE requests cost; what pmxcfs spends above that is its own.
 *
 * Usage: memfs-cpg [--group=NAME] [--members=N] [libfuse options] MOUNTPOINT
 *   --group: CPG group (default bench_memfs); --members: wait until the group has N members
 *   before mounting (default 1), so a mount that serves means the group is complete.
 * Run with -f. The bench mounts it with -o default_permissions, as pmxcfs mounts /etc/pve, so
 * the kernel sends both file systems the same requests.
 */
#include <sys/uio.h>

#include <corosync/cpg.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static int replicate(char op, const char *path, const char *path2, const void *data, size_t len);

#define MEMFS_REPLICATE(op, path, path2, data, len) replicate(op, path, path2, data, len)
int memfs_main(int argc, char *argv[]);
#define main memfs_main
#include "../pmxcfs/memfs.c"
#undef main

#include "cpg-wait.h"
#include "stats.h"

#define CPG_MAGIC           UINT32_C(0x4d454d31) /* "MEM1" */
#define DELIVERY_TIMEOUT_NS (UINT64_C(30) * 1000000000)

/* Each message: this header, then path (and path2) with their NULs, then the data. */
typedef struct MsgHeader {
    uint32_t magic;
    uint32_t pid;
    uint64_t seq;
    uint32_t op;
    uint32_t path_len;
    uint32_t path2_len;
    uint32_t data_len;
} MsgHeader;

static pthread_mutex_t cpg_lock = PTHREAD_MUTEX_INITIALIZER; /* one operation in flight */
static cpg_handle_t cpg;
static int cpg_fd = -1;
static unsigned my_nodeid;
static uint32_t my_pid;
static uint64_t last_seq;
static bool own_delivered;
static unsigned n_members;

static void on_deliver(
    cpg_handle_t handle,
    const struct cpg_name *group,
    uint32_t nodeid,
    uint32_t pid,
    void *msg,
    size_t msg_len
) {
    MsgHeader h;
    (void) handle, (void) group;
    if (msg_len < sizeof h)
        return;
    memcpy(&h, msg, sizeof h);
    if (h.magic == CPG_MAGIC && nodeid == my_nodeid && pid == my_pid && h.seq == last_seq)
        own_delivered = true;
}

static void on_confchg(
    cpg_handle_t handle,
    const struct cpg_name *group,
    const struct cpg_address *members,
    size_t members_len,
    const struct cpg_address *left,
    size_t left_len,
    const struct cpg_address *joined,
    size_t joined_len
) {
    (void) handle, (void) group, (void) members, (void) left, (void) left_len, (void) joined,
        (void) joined_len;
    n_members = (unsigned) members_len;
}

static cpg_model_v1_data_t cpg_model = {
    .model = CPG_MODEL_V1,
    .cpg_deliver_fn = on_deliver,
    .cpg_confchg_fn = on_confchg,
};

static int replicate(char op, const char *path, const char *path2, const void *data, size_t len) {
    size_t l1 = strlen(path) + 1, l2 = path2 ? strlen(path2) + 1 : 0;
    MsgHeader h = {
        .magic = CPG_MAGIC,
        .pid = my_pid,
        .op = (uint32_t) op,
        .path_len = (uint32_t) l1,
        .path2_len = (uint32_t) l2,
        .data_len = (uint32_t) len,
    };
    struct iovec v[] = {
        {&h, sizeof h},
        {(void *) path, l1},
        {(void *) path2, l2},
        {(void *) data, len},
    };
    int r = 0;

    pthread_mutex_lock(&cpg_lock);
    h.seq = ++last_seq;
    own_delivered = false;
    for (int tries = 0;; tries++) {
        cs_error_t e = cpg_mcast_joined(cpg, CPG_TYPE_AGREED, v, 4);
        if (e == CS_OK)
            break;
        if (e != CS_ERR_TRY_AGAIN || tries >= 1000) {
            r = -EIO;
            goto out;
        }
        (void) usleep(1000);
    }
    for (uint64_t deadline = now_ns() + DELIVERY_TIMEOUT_NS; !own_delivered && r == 0;) {
        if (now_ns() >= deadline) {
            r = -ETIMEDOUT;
            break;
        }
        r = cpg_wait_dispatch(cpg, cpg_fd, 100, NULL);
    }
out:
    pthread_mutex_unlock(&cpg_lock);
    if (r < 0)
        fprintf(stderr, "memfs-cpg: %c %s: %s\n", op, path, strerror(-r));
    return r;
}

static int join(const char *group, unsigned want_members) {
    my_pid = (uint32_t) getpid();
    cs_error_t e = cpg_model_initialize(&cpg, CPG_MODEL_V1, (cpg_model_data_t *) &cpg_model, NULL);
    if (e != CS_OK) {
        fprintf(stderr, "memfs-cpg: cpg_model_initialize failed (%d): is corosync running?\n", e);
        return -ENOTCONN;
    }
    if (cpg_local_get(cpg, &my_nodeid) != CS_OK || cpg_fd_get(cpg, &cpg_fd) != CS_OK)
        return -ENOTCONN;
    if ((e = cpg_join_retry(cpg, group)) != CS_OK) {
        fprintf(stderr, "memfs-cpg: cpg_join '%s' failed (%d)\n", group, e);
        return -ENOTCONN;
    }
    for (uint64_t deadline = now_ns() + DELIVERY_TIMEOUT_NS; n_members < want_members;) {
        if (now_ns() >= deadline) {
            fprintf(
                stderr, "memfs-cpg: only %u of %u members in '%s'\n", n_members, want_members, group
            );
            return -ETIMEDOUT;
        }
        int r = cpg_wait_dispatch(cpg, cpg_fd, 100, NULL);
        if (r < 0)
            return r;
    }
    return 0;
}

int main(int argc, char *argv[]) {
    const char *group = "bench_memfs";
    unsigned long members = 1;
    int k = 1;

    for (; k < argc && strncmp(argv[k], "--", 2) == 0 && argv[k][2]; k++) {
        if (strncmp(argv[k], "--group=", 8) == 0)
            group = argv[k] + 8;
        else if (strncmp(argv[k], "--members=", 10) == 0)
            members = strtoul(argv[k] + 10, NULL, 10);
        else
            break;
    }
    if (members < 1 || members > 1000) {
        fprintf(stderr, "memfs-cpg: --members must be 1-1000\n");
        return EXIT_FAILURE;
    }
    if (join(group, (unsigned) members) < 0)
        return EXIT_FAILURE;
    argv[k - 1] = argv[0];
    int r = memfs_main(argc - (k - 1), argv + (k - 1));
    (void) cpg_finalize(cpg);
    return r;
}
