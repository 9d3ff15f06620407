/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cfs-generation: a change counter pmxcfs publishes in shared memory, so that its clients can
 * tell "nothing changed" without an IPC round trip (our extension; upstream has none).
 *
 * pmxcfs counts up on every change of the file system (any path), of a status key, of the
 * membership and of the guest list: everything its .version answer describes, and more. The
 * counter lives in $PVE_CFS_RUNDIR/cfs-generation (default /run/pve-cluster), one page: an
 * 8-byte magic and a 64-bit counter. The file outlives pmxcfs restarts and the counter keeps
 * counting up from where it was, also after a SIGKILL, so a mapping stays valid; a reader
 * re-checks the file's identity once a second in case it was replaced.
 *
 * A value only compares with another value read from the same file: use it as a cache key,
 * never as a version of anything.
 */
#pragma once

#include <stdint.h>

typedef struct CfsGeneration CfsGeneration;

/* pmxcfs: create or reuse <rundir>/cfs-generation (mode 0644) and count up once. */
int cfs_generation_open(const char *rundir, CfsGeneration **ret);
void cfs_generation_bump(CfsGeneration *g); /* NULL-safe, lock-free */
CfsGeneration *cfs_generation_close(CfsGeneration *g);

/* Clients: the current counter, or a negative errno when there is none to read (pmxcfs never
 * ran here, or an older one): callers then ask pmxcfs as before. */
int cfs_generation_read(uint64_t *ret);
