/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvecm-format: the text pvecm produces, as pure functions: the corosync.conf of
 * `pvecm create` (PVE's layout, through the common corosync-conf printer) and the status /
 * membership tables of `pvecm status` and `pvecm nodes`, laid out like Proxmox VE's pvecm
 * (whose quorum part is corosync-quorumtool's) so admins recognise them. No I/O besides
 * writing to the given FILE; pvecm.c gathers the data from corosync.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

typedef struct PvecmCreateParams {
    const char *cluster_name;
    const char *nodename;
    const char *link0; /* ring0_addr */
    uint32_t nodeid;   /* 0 = 1 */
    uint32_t votes;    /* 0 = 1 */
} PvecmCreateParams;

/* PVE's cluster names: 1..15 of [A-Za-z0-9-]. */
bool pvecm_cluster_name_valid(const char *name);

/* The initial corosync.conf of a one-node cluster; -EINVAL for invalid values, -ENOMEM. */
int pvecm_format_create_conf(const PvecmCreateParams *p, char **ret, size_t *ret_len);

/* votequorum_info.flags bits (the same values as corosync's VOTEQUORUM_INFO_*). */
#define PVECM_VQ_TWONODE            1u
#define PVECM_VQ_QUORATE            2u
#define PVECM_VQ_WAIT_FOR_ALL       4u
#define PVECM_VQ_LAST_MAN_STANDING  8u
#define PVECM_VQ_AUTO_TIE_BREAKER   16u
#define PVECM_VQ_ALLOW_DOWNSCALE    32u
#define PVECM_VQ_QDEVICE_REGISTERED 64u

typedef struct PvecmMember {
    uint32_t nodeid;
    uint32_t votes;
    const char *name; /* NULL: shown as the nodeid */
} PvecmMember;

typedef struct PvecmStatus {
    /* Cluster information (cmap) */
    const char *cluster_name;
    uint64_t config_version;
    const char *transport; /* NULL = "knet" */
    const char *secauth;   /* NULL = "off" */
    /* Quorum information (libquorum) */
    time_t date;
    const char *quorum_provider;
    uint32_t local_nodeid;
    uint32_t ring_nodeid;
    uint64_t ring_seq;
    bool quorate;
    /* Votequorum information */
    bool have_votequorum;
    uint32_t expected_votes;
    uint32_t highest_expected;
    uint32_t total_votes;
    uint32_t quorum;
    uint32_t flags;
    /* Membership, in corosync's order */
    const PvecmMember *members;
    size_t n_members;
} PvecmStatus;

/* `pvecm status`: all four sections, node ids in hex, member names as given (addresses). */
int pvecm_format_status(const PvecmStatus *st, FILE *f);
/* `pvecm nodes` (and the last section of status): the membership table. */
int pvecm_format_members(const PvecmStatus *st, bool hex, FILE *f);
