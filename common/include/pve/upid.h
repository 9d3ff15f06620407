/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * upid: the Unique Process ID naming every API task, and the path of its log file:
 *
 *     UPID:<node>:<pid %08X>:<pstart %08X>:<starttime %08X>:<type>:<id>:<user>:
 *     e.g. UPID:pve1:0001A2B3:0023C4D5:6553F100:qmstart:100:root@pam:
 *
 * node matches [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?; type, id and user contain no ':',
 * blank or '/' (the UPID is a file name); id may be empty; pstart (clock ticks since boot)
 * may need 9 hex digits. Hex digits are read in either case and written in upper case.
 * The log lives in <taskdir>/<last hex digit of starttime>/<UPID>.
 *
 * This module owns the string form only; creating, tracking and finishing tasks belongs to
 * the daemons. Pure functions, no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pve/macro.h"

/* A UPID is a single path component. */
#define UPID_MAX_LEN  255u
#define UPID_NODE_MAX 63u

typedef struct Upid {
    char node[UPID_NODE_MAX + 1];
    uint32_t pid;
    uint64_t pstart; /* at most 0xFFFFFFFFF (9 hex digits) */
    uint32_t starttime;
    char type[UPID_MAX_LEN + 1];
    char id[UPID_MAX_LEN + 1];
    char user[UPID_MAX_LEN + 1];
} Upid;

/* Decode s into *ret. -EINVAL if s is not a well-formed UPID (or longer than UPID_MAX_LEN). */
int upid_decode(const char *s, Upid *ret);

/* Encode u into a malloc'd string. -EINVAL if a field is invalid or the result would exceed
 * UPID_MAX_LEN, -ENOMEM. */
int upid_encode(const Upid *u, char **ret);

/* "<taskdir>/<X>/<upid>" with X the last character of the starttime field as written in upid,
 * in a malloc'd string. -EINVAL if upid does not decode, -ENOMEM. */
int upid_log_path(const char *taskdir, const char *upid, char **ret);

/* Field checks used by encode and decode. */
bool upid_node_is_valid(const char *node) _pure_;
bool upid_field_is_valid(const char *s, bool allow_empty) _pure_;
