/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvecm-format: pvecm's output texts (see pvecm-format.h). The status layout: section titles
 * underlined with dashes, labels padded to 18 columns, node ids as 0x%08x in status and
 * decimal in `nodes`, the membership table with 10- and 11-column right-aligned Nodeid and
 * Votes, the local node marked " (local)".
 */
#include "pvecm-format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pve/cluster-setup.h"
#include "pve/corosync-conf.h"
#include "pve/macro.h"

/* Both live in common/ (cluster-setup), shared with the /cluster/config API. */
bool pvecm_cluster_name_valid(const char *name) {
    return cluster_name_valid(name);
}

int pvecm_format_create_conf(const PvecmCreateParams *p, char **ret, size_t *ret_len) {
    ClusterCreateParams cp = {
        .cluster_name = p->cluster_name,
        .nodename = p->nodename,
        .links = {{.address = (char *) p->link0, .priority = -1}},
        .nodeid = p->nodeid,
        .votes = p->votes,
    };
    if (!p->link0 || !corosync_conf_value_valid(p->link0))
        return -EINVAL;
    return cluster_conf_create(&cp, ret, ret_len);
}

#define LABEL "%-18s"

int pvecm_format_members(const PvecmStatus *st, bool hex, FILE *f) {
    fputs("Membership information\n----------------------\n    Nodeid      Votes Name\n", f);
    for (size_t i = 0; i < st->n_members; i++) {
        const PvecmMember *m = &st->members[i];
        if (hex)
            fprintf(f, "0x%08" PRIx32, m->nodeid);
        else
            fprintf(f, "%10" PRIu32, m->nodeid);
        fprintf(f, "%11" PRIu32 " ", m->votes);
        if (m->name)
            fputs(m->name, f);
        else
            fprintf(f, "%" PRIu32, m->nodeid);
        fputs(m->nodeid == st->local_nodeid ? " (local)\n" : "\n", f);
    }
    return ferror(f) ? -EIO : 0;
}

int pvecm_format_status(const PvecmStatus *st, FILE *f) {
    char date[32];
    struct tm tm;

    fputs("Cluster information\n-------------------\n", f);
    fprintf(f, LABEL "%s\n", "Name:", st->cluster_name ? st->cluster_name : "");
    fprintf(f, LABEL "%" PRIu64 "\n", "Config Version:", st->config_version);
    fprintf(f, LABEL "%s\n", "Transport:", st->transport ? st->transport : "knet");
    fprintf(f, LABEL "%s\n", "Secure auth:", st->secauth ? st->secauth : "off");

    if (!localtime_r(&st->date, &tm) ||
        strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm) == 0)
        snprintf(date, sizeof date, "%lld", (long long) st->date);
    fputs("\nQuorum information\n------------------\n", f);
    fprintf(f, LABEL "%s\n", "Date:", date);
    fprintf(f, LABEL "%s\n", "Quorum provider:", st->quorum_provider ? st->quorum_provider : "");
    fprintf(f, LABEL "%zu\n", "Nodes:", st->n_members);
    fprintf(f, LABEL "0x%08" PRIx32 "\n", "Node ID:", st->local_nodeid);
    fprintf(f, LABEL "%" PRIx32 ".%" PRIx64 "\n", "Ring ID:", st->ring_nodeid, st->ring_seq);
    fprintf(f, LABEL "%s\n", "Quorate:", st->quorate ? "Yes" : "No");

    if (st->have_votequorum) {
        static const struct {
            uint32_t bit;
            const char *name;
        } flags[] = {
            {PVECM_VQ_TWONODE, "2Node"},
            {PVECM_VQ_QUORATE, "Quorate"},
            {PVECM_VQ_WAIT_FOR_ALL, "WaitForAll"},
            {PVECM_VQ_LAST_MAN_STANDING, "LastManStanding"},
            {PVECM_VQ_AUTO_TIE_BREAKER, "AutoTieBreaker"},
            {PVECM_VQ_ALLOW_DOWNSCALE, "AllowDownscale"},
            {PVECM_VQ_QDEVICE_REGISTERED, "Qdevice"},
        };
        fputs("\nVotequorum information\n----------------------\n", f);
        fprintf(f, LABEL "%" PRIu32 "\n", "Expected votes:", st->expected_votes);
        fprintf(f, LABEL "%" PRIu32 "\n", "Highest expected:", st->highest_expected);
        fprintf(f, LABEL "%" PRIu32 "\n", "Total votes:", st->total_votes);
        fprintf(
            f, LABEL "%" PRIu32 "%s\n", "Quorum:", st->quorum,
            (st->flags & PVECM_VQ_QUORATE) ? "  " : " Activity blocked"
        );
        fprintf(f, LABEL, "Flags:");
        for (size_t i = 0; i < ELEMENTSOF(flags); i++)
            if (st->flags & flags[i].bit)
                fprintf(f, "%s ", flags[i].name);
        fputc('\n', f);
    }

    fputc('\n', f);
    return pvecm_format_members(st, true, f);
}
