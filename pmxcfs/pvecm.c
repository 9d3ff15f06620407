/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pvecm: the Proxmox VE cluster manager CLI, the subset that works without the API:
 *   pvecm create <clustername> [--nodeid N] [--votes N] [--link0 ADDR]
 *   pvecm status | nodes | expected <votes>
 * create writes the first node's corosync.conf (PVE layout) into /etc/pve and to the host,
 * and an authkey when there is none; it does not start or restart anything, it says what to
 * start. status/nodes read corosync (cmap, quorum, votequorum) directly, printing what
 * upstream's pvecm prints (its quorum part comes from corosync-quorumtool -siH / -l); expected
 * is votequorum_setexpected(). Joining, adding and removing nodes come with the API.
 *
 * Paths for tests: $PVE_CFS_MOUNTPOINT (/etc/pve), $PVE_COROSYNC_CONF
 * (/etc/corosync/corosync.conf), $PVE_COROSYNC_AUTHKEY (/etc/corosync/authkey).
 */
#include <arpa/inet.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <corosync/cmap.h>
#include <corosync/quorum.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if HAVE_VOTEQUORUM
#include <corosync/votequorum.h>
#endif

#include "confdb.h"
#include "cs-error.h"
#include "pve/cfs-file.h"
#include "pve/macro.h"
#include "pve/paths.h"
#include "pve/string-util.h"
#include "pvecm-format.h"

#define AUTHKEY_SIZE 256 /* corosync-keygen's default */

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

static const char *host_conf_path(void) {
    return pve_path_env("PVE_COROSYNC_CONF", PVE_COROSYNC_CONF);
}

static const char *authkey_path(void) {
    return pve_path_env("PVE_COROSYNC_AUTHKEY", PVE_COROSYNC_AUTHKEY);
}

static bool path_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---- create ----------------------------------------------------------------------------- */

static int short_nodename(char ret[256]) {
    struct utsname u;
    if (uname(&u) < 0)
        return -errno;
    snprintf(ret, 256, "%s", u.nodename);
    ret[strcspn(ret, ".")] = '\0';
    return *ret ? 0 : -EINVAL;
}

/* First non-loopback address of name, as pmxcfs picks it. */
static int resolve_node_ip(const char *name, char ret[INET6_ADDRSTRLEN]) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    int r = -ENXIO;
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        return -ENXIO;
    for (struct addrinfo *a = res; a && r < 0; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            const struct in_addr *in = &((struct sockaddr_in *) a->ai_addr)->sin_addr;
            if ((ntohl(in->s_addr) >> 24) != 127 && inet_ntop(AF_INET, in, ret, INET6_ADDRSTRLEN))
                r = 0;
        } else if (a->ai_family == AF_INET6) {
            const struct in6_addr *in6 = &((struct sockaddr_in6 *) a->ai_addr)->sin6_addr;
            if (!IN6_IS_ADDR_LOOPBACK(in6) && inet_ntop(AF_INET6, in6, ret, INET6_ADDRSTRLEN))
                r = 0;
        }
    }
    freeaddrinfo(res);
    return r;
}

static int write_all(int fd, const void *data, size_t len) {
    for (size_t off = 0; off < len;) {
        ssize_t k = write(fd, (const char *) data + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        off += (size_t) k;
    }
    return 0;
}

/* Create the directories above path (0755), like mkdir -p. */
static int mkdir_parent(const char *path) {
    _cleanup_free_ char *d = strdup(path);
    if (!d)
        return -ENOMEM;
    char *slash = strrchr(d, '/');
    if (!slash || slash == d)
        return 0;
    *slash = '\0';
    for (char *p = d + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(d, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(d, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* A new file, written whole or not at all (temporary + rename, no replace of a racing one). */
static int write_new_file(const char *path, const void *data, size_t len, mode_t mode) {
    _cleanup_free_ char *tmp = NULL;
    int r;
    if ((r = mkdir_parent(path)) < 0)
        return r;
    if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
        return -ENOMEM;
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r = write_all(fd, data, len);
    if (r >= 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
        r = -errno;
    if (r >= 0 && link(tmp, path) < 0) /* fails with EEXIST instead of replacing */
        r = -errno;
    (void) unlink(tmp);
    return r;
}

static int parse_u32_opt(const char *name, const char *arg, uint32_t min, uint32_t *ret) {
    unsigned v;
    if (safe_atou32(arg, &v) < 0 || v < min)
        return error(EINVAL, "invalid --%s '%s'", name, arg);
    *ret = v;
    return 0;
}

static int verb_create(int argc, char *argv[]) {
    static const struct option opts[] = {
        {"nodeid", required_argument, NULL, 'n'},
        {"votes", required_argument, NULL, 'v'},
        {"link0", required_argument, NULL, 'l'},
        {},
    };
    PvecmCreateParams p = {.nodeid = 1, .votes = 1};
    char nodename[256], ip[INET6_ADDRSTRLEN];
    const char *link0 = NULL;
    int c, r;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
        switch (c) {
        case 'n':
            if ((r = parse_u32_opt("nodeid", optarg, 1, &p.nodeid)) < 0)
                return r;
            break;
        case 'v':
            if ((r = parse_u32_opt("votes", optarg, 0, &p.votes)) < 0)
                return r;
            break;
        case 'l':
            /* upstream's link0 is "[address=]ADDR[,priority=N]"; only the address is used */
            link0 = startswith(optarg, "address=") ?: optarg;
            if (strchr(link0, ','))
                return error(EINVAL, "--link0: only an address is supported, got '%s'", optarg);
            break;
        default:
            return -EINVAL;
        }
    }
    if (optind + 1 != argc)
        return error(
            EINVAL,
            "usage: pvecm create <clustername> [--nodeid N] [--votes N] "
            "[--link0 ADDR]"
        );
    p.cluster_name = argv[optind];
    if (!pvecm_cluster_name_valid(p.cluster_name))
        return error(
            EINVAL, "invalid cluster name '%s' (1 to 15 letters, digits or '-')", p.cluster_name
        );
    if (p.votes == 0)
        p.votes = 1;

    const char *mp = cfs_file_mountpoint();
    _cleanup_free_ char *members = NULL, *cfs_conf = NULL;
    if (asprintf(&members, "%s/.members", mp) < 0 ||
        asprintf(&cfs_conf, "%s/" PVE_CFS_COROSYNC_CONF, mp) < 0)
        return -ENOMEM;
    if (!path_exists(members))
        return error(ENOTCONN, "%s is not mounted - is pmxcfs running?", mp);
    if (path_exists(cfs_conf))
        return error(EEXIST, "cluster config '%s' already exists", cfs_conf);
    const char *host = host_conf_path();
    if (path_exists(host))
        return error(EEXIST, "corosync config '%s' already exists", host);

    if ((r = short_nodename(nodename)) < 0)
        return error(r, "cannot determine the node name: %s", strerror(-r));
    p.nodename = nodename;
    if (!link0) {
        if (resolve_node_ip(nodename, ip) < 0)
            return error(
                ENXIO,
                "unable to resolve node name '%s' to a non-loopback IP address; pass --link0",
                nodename
            );
        link0 = ip;
    }
    p.link0 = link0;

    _cleanup_free_ char *text = NULL;
    size_t len;
    r = pvecm_format_create_conf(&p, &text, &len);
    if (r < 0)
        return error(r, "cannot build corosync.conf: %s", strerror(-r));

    const char *key = authkey_path();
    if (!path_exists(key)) {
        uint8_t buf[AUTHKEY_SIZE];
        if (getrandom(buf, sizeof buf, 0) != (ssize_t) sizeof buf)
            return error(errno ? errno : EIO, "cannot get random bytes: %m");
        printf("Generating corosync authentication key %s\n", key);
        r = write_new_file(key, buf, sizeof buf, 0400);
        explicit_bzero(buf, sizeof buf);
        if (r < 0)
            return error(r, "cannot write '%s': %s", key, strerror(-r));
    }

    printf("Writing corosync config to %s\n", host);
    r = write_new_file(host, text, len, 0644);
    if (r < 0)
        return error(r, "cannot write '%s': %s", host, strerror(-r));
    printf("Writing corosync config to %s\n", cfs_conf);
    r = cfs_file_write(PVE_CFS_COROSYNC_CONF, text, len);
    if (r < 0)
        return error(r, "cannot write '%s': %s", cfs_conf, strerror(-r));

    printf(
        "Cluster '%s' created with node '%s' (nodeid %" PRIu32
        ", link0 %s).\n"
        "Now start corosync and restart pmxcfs to enter cluster mode:\n"
        "  systemctl restart corosync pve-cluster\n",
        p.cluster_name, nodename, p.nodeid, link0
    );
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

/* ---- main ------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int (*fn)(int argc, char *argv[]);
    const char *usage;
} verbs[] = {
    {"create", verb_create,
     "create <clustername> [--nodeid N] [--votes N] [--link0 ADDR]  "
     "generate a new cluster configuration"},
    {"status", verb_status, "status                       show cluster status"},
    {"nodes", verb_nodes, "nodes                        show cluster membership information"},
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
