/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvecm: the Proxmox VE cluster manager CLI:
 *   pvecm create <clustername> [--nodeid N] [--votes N] [--linkN ADDR[,priority=N]]
 *   pvecm add <hostname> [--url URL] [--fingerprint FP] [--linkN ...] [--nodeid N] [--votes N]
 *   pvecm status | nodes | expected <votes>
 *   pvecm updatecerts [--silent]
 * create writes the first node's corosync.conf (PVE layout) into /etc/pve and to the host,
 * and an authkey when there is none; it does not start or restart anything, it says what to
 * start. add joins the cluster of <hostname> through that node's API (common/cluster-setup,
 * shared with POST /cluster/config/join): pveproxy at https://<hostname>:8006 pinned to
 * --fingerprint (without one it refuses and names the server's); --url overrides.
 * status/nodes read corosync (cmap, quorum, votequorum)
 * directly, printing what upstream's pvecm prints (its quorum part comes from
 * corosync-quorumtool -siH / -l); expected is votequorum_setexpected(). updatecerts sets up the
 * SSH trust migration needs (pve/node-ssh.h); the TLS certificates are pveproxy's at its start.
 *
 * Paths for tests: $PVE_CFS_MOUNTPOINT (/etc/pve), $PVE_COROSYNC_CONF
 * (/etc/corosync/corosync.conf), $PVE_COROSYNC_AUTHKEY (/etc/corosync/authkey).
 */
#include <arpa/inet.h>
#include <sys/stat.h>

#include <corosync/cmap.h>
#include <corosync/quorum.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#if HAVE_VOTEQUORUM
#include <corosync/votequorum.h>
#endif

#include "confdb.h"
#include "cs-error.h"
#include "pve/cfs-file.h"
#include "pve/cluster-setup.h"
#include "pve/macro.h"
#include "pve/node-ssh.h"
#include "pve/paths.h"
#include "pve/string-util.h"
#include "pvecm-format.h"

#if HAVE_VOTEQUORUM
_Static_assert(VOTEQUORUM_INFO_QUORATE == PVECM_VQ_QUORATE, "votequorum flag values");
_Static_assert(VOTEQUORUM_INFO_TWONODE == PVECM_VQ_TWONODE, "votequorum flag values");
_Static_assert(
    VOTEQUORUM_INFO_QDEVICE_REGISTERED == PVECM_VQ_QDEVICE_REGISTERED, "votequorum flag values"
);
#endif

static int error(int r, const char *fmt, ...) _printf_(2, 3);
static int error(int r, const char *fmt, ...) {
    va_list ap;
    fputs("pvecm: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return r < 0 ? r : -r;
}

static bool path_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---- create ----------------------------------------------------------------------------- */

static int parse_u32_opt(const char *name, const char *arg, uint32_t min, uint32_t *ret) {
    unsigned v;
    if (safe_atou32(arg, &v) < 0 || v < min)
        return error(EINVAL, "invalid --%s '%s'", name, arg);
    *ret = v;
    return 0;
}

/* --linkN: "[address=]ADDR[,priority=N]" */
static int parse_link_opt(const char *name, const char *arg, ClusterLink links[]) {
    unsigned n;
    _cleanup_free_ char *msg = NULL;
    if (!startswith(name, "link") || safe_atou32(name + 4, &n) < 0 || n >= COROSYNC_LINKS_MAX)
        return error(EINVAL, "invalid option --%s", name);
    int r = cluster_link_parse(arg, &links[n], &msg);
    if (r < 0)
        return error(r, "--%s: %s", name, msg ?: strerror(-r));
    return 0;
}

#define LINK_OPTS(base)                                                                         \
    {"link0", required_argument, NULL, (base)}, {"link1", required_argument, NULL, (base) + 1}, \
        {"link2", required_argument, NULL, (base) + 2},                                         \
        {"link3", required_argument, NULL, (base) + 3},                                         \
        {"link4", required_argument, NULL, (base) + 4},                                         \
        {"link5", required_argument, NULL, (base) + 5},                                         \
        {"link6", required_argument, NULL, (base) + 6}, {                                       \
        "link7", required_argument, NULL, (base) + 7                                            \
    }
#define OPT_LINK 0x100

static int verb_create(int argc, char *argv[]) {
    static const struct option opts[] = {
        {"nodeid", required_argument, NULL, 'n'},
        {"votes", required_argument, NULL, 'v'},
        LINK_OPTS(OPT_LINK),
        {},
    };
    _cleanup_(cluster_create_params_done) ClusterCreateParams p = {.nodeid = 1, .votes = 1};
    int c, r;

    for (size_t i = 0; i < COROSYNC_LINKS_MAX; i++)
        p.links[i].priority = -1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
        if (c >= OPT_LINK && c < OPT_LINK + (int) COROSYNC_LINKS_MAX) {
            char name[8];
            snprintf(name, sizeof name, "link%d", c - OPT_LINK);
            if ((r = parse_link_opt(name, optarg, p.links)) < 0)
                return r;
            continue;
        }
        switch (c) {
        case 'n':
            if ((r = parse_u32_opt("nodeid", optarg, 1, &p.nodeid)) < 0)
                return r;
            break;
        case 'v':
            if ((r = parse_u32_opt("votes", optarg, 0, &p.votes)) < 0)
                return r;
            break;
        default:
            return -EINVAL;
        }
    }
    if (optind + 1 != argc)
        return error(
            EINVAL,
            "usage: pvecm create <clustername> [--nodeid N] [--votes N] "
            "[--link0 ADDR[,priority=N]] ..."
        );
    p.cluster_name = argv[optind];
    if (p.votes == 0)
        p.votes = 1;
    char nodename[256];
    if ((r = cluster_short_nodename(nodename)) < 0)
        return error(r, "cannot determine the node name: %s", strerror(-r));
    p.nodename = nodename;

    _cleanup_free_ char *msg = NULL;
    r = cluster_create(&p, stdout, &msg);
    if (r < 0)
        return error(r, "%s", msg ?: strerror(-r));
    printf(
        "Cluster '%s' created with node '%s' (nodeid %" PRIu32
        ").\n"
        "Now start corosync and restart pmxcfs to enter cluster mode:\n"
        "  systemctl restart corosync pve-cluster\n",
        p.cluster_name, p.nodename, p.nodeid
    );
    return 0;
}

/* ---- add -------------------------------------------------------------------------------- */

/* root's password for the existing node: $PVE_JOIN_PASSWORD, else a prompt (tty) or a line of
 * stdin */
static char *read_password(const char *host) {
    const char *env = getenv("PVE_JOIN_PASSWORD");
    if (env && *env)
        return strdup(env);
    bool tty = isatty(STDIN_FILENO);
    struct termios old, noecho;
    if (tty) {
        fprintf(stderr, "Please enter superuser (root) password for '%s': ", host);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            noecho = old;
            noecho.c_lflag &= ~(tcflag_t) ECHO;
            (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
        }
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (tty) {
        (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (n <= 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = 0;
    return line;
}

static int verb_add(int argc, char *argv[]) {
    enum { OPT_FP = 0x200, OPT_NODEID, OPT_VOTES, OPT_FORCE, OPT_URL };
    static const struct option opts[] = {
        {"fingerprint", required_argument, NULL, OPT_FP},
        {"nodeid", required_argument, NULL, OPT_NODEID},
        {"votes", required_argument, NULL, OPT_VOTES},
        {"force", no_argument, NULL, OPT_FORCE},
        {"url", required_argument, NULL, OPT_URL},
        {"use_ssh", no_argument, NULL, 'S'},
        LINK_OPTS(OPT_LINK),
        {},
    };
    _cleanup_(cluster_join_params_done) ClusterJoinParams p = {.votes = -1};
    _cleanup_free_ char *url = NULL;
    uint32_t u = 0;
    int c, r;

    for (size_t i = 0; i < COROSYNC_LINKS_MAX; i++)
        p.links[i].priority = -1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
        if (c >= OPT_LINK && c < OPT_LINK + (int) COROSYNC_LINKS_MAX) {
            char name[8];
            snprintf(name, sizeof name, "link%d", c - OPT_LINK);
            if ((r = parse_link_opt(name, optarg, p.links)) < 0)
                return r;
            continue;
        }
        switch (c) {
        case OPT_FP:
            p.fingerprint = optarg;
            break;
        case OPT_NODEID:
            if ((r = parse_u32_opt("nodeid", optarg, 1, &p.nodeid)) < 0)
                return r;
            break;
        case OPT_VOTES:
            if ((r = parse_u32_opt("votes", optarg, 0, &u)) < 0)
                return r;
            p.votes = (int) u;
            break;
        case OPT_FORCE:
            p.force = true;
            break;
        case OPT_URL:
            p.url = optarg;
            break;
        case 'S':
            return error(EOPNOTSUPP, "--use_ssh is not supported; the join goes through the API");
        default:
            return -EINVAL;
        }
    }
    if (optind + 1 != argc)
        return error(EINVAL, "usage: pvecm add <hostname> [--url URL] [OPTIONS] (see pvecm help)");
    p.hostname = argv[optind];
    if (!p.url) {
        /* pveproxy over HTTPS, the server pinned to the fingerprint (as upstream); without
         * one the client stops before sending anything and names the server's fingerprint */
        bool v6 = strchr(p.hostname, ':') != NULL;
        if (asprintf(&url, "https://%s%s%s:8006", v6 ? "[" : "", p.hostname, v6 ? "]" : "") < 0)
            return -ENOMEM;
        p.url = url;
    }
    _cleanup_free_ char *password = read_password(p.hostname);
    if (!password)
        return error(EINVAL, "no password given");
    p.password = password;
    _cleanup_free_ char *msg = NULL;
    r = cluster_join(&p, stdout, &msg);
    explicit_bzero(password, strlen(password));
    if (r < 0)
        return error(r, "%s", msg ?: strerror(-r));
    return 0;
}

/* ---- status / nodes --------------------------------------------------------------------- */

typedef struct QuorumView {
    bool got;
    bool quorate;
    uint32_t ring_nodeid;
    uint64_t ring_seq;
    uint32_t *members;
    size_t n_members;
} QuorumView;

static void on_quorum(
    quorum_handle_t h,
    uint32_t quorate,
    struct quorum_ring_id ring_id,
    uint32_t n,
    const uint32_t *members
) {
    const void *ctx = NULL;
    if (quorum_context_get(h, &ctx) != CS_OK || !ctx)
        return;
    QuorumView *v = (QuorumView *) ctx;
    free(v->members);
    v->members = calloc(n ? n : 1, sizeof *v->members);
    v->n_members = v->members ? n : 0;
    if (v->members && n)
        memcpy(v->members, members, n * sizeof *members);
    v->quorate = quorate != 0;
    v->ring_nodeid = ring_id.nodeid;
    v->ring_seq = ring_id.seq;
    v->got = true;
}

static int read_quorum(QuorumView *v) {
    quorum_handle_t h;
    quorum_model_v1_data_t model = {.model = QUORUM_MODEL_V1, .quorum_notify_fn = on_quorum};
    uint32_t type = 0;
    cs_error_t e;
    int r = 0;

    e = quorum_model_initialize(&h, QUORUM_MODEL_V1, (quorum_model_data_t *) &model, &type, v);
    if (e != CS_OK)
        return error(
            cs_error_to_errno(e),
            "Cannot initialize QUORUM service (%s) - is corosync "
            "running?",
            cs_error_name(e)
        );
    if (type != QUORUM_SET) {
        r = error(EPROTO, "corosync has no quorum provider configured");
        goto out;
    }
    e = quorum_trackstart(h, CS_TRACK_CURRENT);
    for (int i = 0; e == CS_OK && !v->got && i < 16; i++)
        e = quorum_dispatch(h, CS_DISPATCH_ONE);
    if (e != CS_OK || !v->got)
        r = error(cs_error_to_errno(e), "cannot read the quorum state (%s)", cs_error_name(e));
out:
    (void) quorum_finalize(h);
    return r;
}

static char *cmap_str(cmap_handle_t h, const char *key) {
    char *s = NULL;
    return cmap_get_string(h, key, &s) == CS_OK ? s : NULL;
}

typedef struct Snapshot {
    ConfdbInfo info;
    char *transport, *secauth, *provider;
    QuorumView q;
    PvecmMember *members;
    PvecmStatus st;
} Snapshot;

static void snapshot_done(Snapshot *s) {
    confdb_info_done(&s->info);
    free(s->transport);
    free(s->secauth);
    free(s->provider);
    free(s->q.members);
    free(s->members);
}

static const ConfdbNode *info_node(const ConfdbInfo *info, uint32_t nodeid) {
    for (size_t i = 0; i < info->n_nodes; i++)
        if (info->nodes[i].nodeid == nodeid)
            return &info->nodes[i];
    return NULL;
}

/* Everything status/nodes print; use_addr: member names are ring0 addresses (status). */
static int snapshot_read(Snapshot *s, bool use_addr) {
    cmap_handle_t cm;
    cs_error_t e;
    int r;

    e = cmap_initialize(&cm);
    if (e != CS_OK)
        return error(
            cs_error_to_errno(e),
            "Cannot initialize CMAP service (%s) - is corosync "
            "running?",
            cs_error_name(e)
        );
    r = confdb_info_read(cm, &s->info);
    s->transport = cmap_str(cm, "totem.transport");
    s->secauth = cmap_str(cm, "totem.secauth");
    if (!s->secauth) {
        _cleanup_free_ char *cipher = cmap_str(cm, "totem.crypto_cipher");
        s->secauth = strdup(cipher && !streq(cipher, "none") ? "on" : "off");
    }
    s->provider = cmap_str(cm, "quorum.provider");
    (void) cmap_finalize(cm);
    if (r < 0)
        return error(r, "cannot read the cluster configuration from cmap: %s", strerror(-r));

    r = read_quorum(&s->q);
    if (r < 0)
        return r;

    s->members = calloc(s->q.n_members ? s->q.n_members : 1, sizeof *s->members);
    if (!s->members)
        return -ENOMEM;
    PvecmStatus *st = &s->st;
    *st = (PvecmStatus){
        .cluster_name = s->info.cluster_name,
        .config_version = s->info.config_version,
        .transport = s->transport,
        .secauth = s->secauth,
        .date = time(NULL),
        .quorum_provider = s->provider,
        .local_nodeid = s->info.local_nodeid,
        .ring_nodeid = s->q.ring_nodeid,
        .ring_seq = s->q.ring_seq,
        .quorate = s->q.quorate,
        .members = s->members,
        .n_members = s->q.n_members,
    };

#if HAVE_VOTEQUORUM
    votequorum_handle_t vh;
    struct votequorum_info vi;
    bool have_vq = votequorum_initialize(&vh, NULL) == CS_OK;
    if (have_vq && votequorum_getinfo(vh, st->local_nodeid, &vi) == CS_OK) {
        st->have_votequorum = true;
        st->expected_votes = vi.node_expected_votes;
        st->highest_expected = vi.highest_expected;
        st->total_votes = vi.total_votes;
        st->quorum = vi.quorum;
        st->flags = vi.flags;
    }
#endif
    for (size_t i = 0; i < s->q.n_members; i++) {
        PvecmMember *m = &s->members[i];
        const ConfdbNode *n = info_node(&s->info, s->q.members[i]);
        m->nodeid = s->q.members[i];
        m->votes = n ? n->votes : 1;
        m->name = n ? (use_addr && n->ring0_addr ? n->ring0_addr : n->name) : NULL;
#if HAVE_VOTEQUORUM
        if (have_vq && votequorum_getinfo(vh, m->nodeid, &vi) == CS_OK)
            m->votes = vi.node_votes;
#endif
    }
#if HAVE_VOTEQUORUM
    if (have_vq)
        (void) votequorum_finalize(vh);
#endif
    return 0;
}

static int require_cluster_config(void) {
    _cleanup_free_ char *p = NULL;
    if (asprintf(&p, "%s/" PVE_CFS_COROSYNC_CONF, cfs_file_mountpoint()) < 0)
        return -ENOMEM;
    if (!path_exists(p))
        return error(
            ENOENT, "Corosync config '%s' does not exist - is this node part of a cluster?", p
        );
    return 0;
}

static int verb_status(int argc, char *argv[]) {
    _cleanup_(snapshot_done) Snapshot s = {};
    int r;
    (void) argv;
    if (argc > 1)
        return error(EINVAL, "usage: pvecm status");
    if ((r = require_cluster_config()) < 0)
        return r;
    if ((r = snapshot_read(&s, true)) < 0)
        return r;
    return pvecm_format_status(&s.st, stdout);
}

static int verb_nodes(int argc, char *argv[]) {
    _cleanup_(snapshot_done) Snapshot s = {};
    int r;
    (void) argv;
    if (argc > 1)
        return error(EINVAL, "usage: pvecm nodes");
    if ((r = require_cluster_config()) < 0)
        return r;
    if ((r = snapshot_read(&s, false)) < 0)
        return r;
    fputc('\n', stdout);
    return pvecm_format_members(&s.st, false, stdout);
}

static int verb_expected(int argc, char *argv[]) {
    unsigned votes;
    if (argc != 2 || safe_atou32(argv[1], &votes) < 0 || votes < 1)
        return error(EINVAL, "usage: pvecm expected <votes> (votes >= 1)");
#if HAVE_VOTEQUORUM
    votequorum_handle_t vh;
    cs_error_t e = votequorum_initialize(&vh, NULL);
    if (e != CS_OK)
        return error(
            cs_error_to_errno(e),
            "Cannot initialize VOTEQUORUM service (%s) - is "
            "corosync running?",
            cs_error_name(e)
        );
    e = votequorum_setexpected(vh, votes);
    (void) votequorum_finalize(vh);
    if (e != CS_OK)
        return error(cs_error_to_errno(e), "Unable to set expected votes: %s", cs_error_name(e));
    return 0;
#else
    return error(EOPNOTSUPP, "built without libvotequorum; use 'corosync-quorumtool -e %u'", votes);
#endif
}

static int verb_updatecerts(int argc, char *argv[]) {
    bool silent = argc == 2 && streq(argv[1], "--silent");
    if (argc > 2 || (argc == 2 && !silent))
        return error(EINVAL, "usage: pvecm updatecerts [--silent]");
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) < 0)
        return error(errno, "unable to get the host name: %m");
    host[strcspn(host, ".")] = 0;
    _cleanup_free_ char *err = NULL;
    int r = node_ssh_ensure(host, &err);
    if (r < 0 && silent)
        return r;
    if (r < 0)
        return error(-r, "%s", err ? err : strerror(-r));
    return 0;
}

/* ---- main ------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int (*fn)(int argc, char *argv[]);
    const char *usage;
} verbs[] = {
    {"create", verb_create,
     "create <clustername> [--nodeid N] [--votes N] [--link0 ADDR]  "
     "generate a new cluster configuration"},
    {"add", verb_add,
     "add <hostname> [--fingerprint FP] [--url URL] [--link0 ADDR] [--nodeid N]\n"
     "                 [--votes N] [--force]  join the cluster of <hostname> through its API.\n"
     "                 The password of root@pam there is read from $PVE_JOIN_PASSWORD, the\n"
     "                 terminal or stdin. The join talks to https://HOST:8006 and sends\n"
     "                 nothing before its certificate matched --fingerprint (SHA-256 of that\n"
     "                 node's pveproxy certificate; without it pvecm stops and prints the\n"
     "                 server's). --url overrides the address (an http:// URL of a pvedaemon\n"
     "                 sends the password in plain text: trusted networks only)."},
    {"status", verb_status, "status                       show cluster status"},
    {"nodes", verb_nodes, "nodes                        show cluster membership information"},
    {"updatecerts", verb_updatecerts,
     "updatecerts [--silent]       root's SSH key, priv/authorized_keys and this node's\n"
     "                 ssh_known_hosts in /etc/pve (what migration needs)"},
    {"expected", verb_expected,
     "expected <votes>             tell corosync a new value of "
     "expected votes"},
};

static void usage(FILE *f) {
    fputs("USAGE: pvecm <COMMAND> [ARGS] [OPTIONS]\n\n", f);
    for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
        fprintf(f, "       pvecm %s\n", verbs[i].usage);
    fputs("       pvecm help\n", f);
}

static int run(int argc, char *argv[]) {
    if (argc < 2) {
        usage(stderr);
        return -EINVAL;
    }
    if (streq(argv[1], "help") || streq(argv[1], "--help") || streq(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
        if (streq(argv[1], verbs[i].name))
            return verbs[i].fn(argc - 1, argv + 1);
    usage(stderr);
    return error(EINVAL, "unknown command '%s'", argv[1]);
}

int main(int argc, char *argv[]) {
    int r = run(argc, argv);
    if (fflush(stdout) != 0 && r >= 0)
        r = -EIO;
    return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
