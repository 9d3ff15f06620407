/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-nodes: GET /nodes (node list from pmxcfs .members, live numbers of other nodes from the
 * pmxcfs RRD dump, this node's from /proc), GET /nodes/{node} (index), GET/POST
 * /nodes/{node}/status, GET /nodes/{node}/version, GET /nodes/{node}/subscription.
 * Registers the other /nodes/{node} modules too (api-nodes.h).
 */
#include "api-nodes.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pve/api-env.h"
#include "pve/api-methods.h"
#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"
#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/procfs.h"
#include "pve/string-util.h"

#define PROC_MAX (4u << 20)

/* ---- local numbers -------------------------------------------------------------------------- */

static int read_proc(const char *name, char **ret) {
    size_t len;
    return read_full_file(name, PROC_MAX, ret, &len);
}

/* CPU and wait share since the previous call (at least 1 s of ticks apart), as upstream's
 * read_proc_stat; the first call reports the average since boot. */
static void local_cpu_usage(double *ret_cpu, double *ret_wait, unsigned *ret_cpus) {
    static ProcStat last;
    static double last_cpu, last_wait;
    static bool have;
    _cleanup_free_ char *text = NULL;
    ProcStat cur;
    procfs_parse_stat(read_proc("/proc/stat", &text) >= 0 ? text : "", &cur);
    *ret_cpus = cur.cpus;
    long hz = sysconf(_SC_CLK_TCK);
    if (!have || cur.total < last.total ||
        cur.total - last.total >= (uint64_t) (hz > 0 ? hz : 100) * cur.cpus) {
        procfs_stat_usage(have ? &last : NULL, &cur, &last_cpu, &last_wait);
        last = cur;
        have = true;
    }
    *ret_cpu = last_cpu;
    *ret_wait = last_wait;
}

static void local_meminfo(ProcMemInfo *m) {
    _cleanup_free_ char *text = NULL;
    procfs_parse_meminfo(read_proc("/proc/meminfo", &text) >= 0 ? text : "", m);
}

static uint64_t local_uptime(void) {
    _cleanup_free_ char *text = NULL;
    uint64_t up = 0, idle;
    if (read_proc("/proc/uptime", &text) >= 0)
        (void) procfs_parse_uptime(text, &up, &idle);
    return up;
}

typedef struct RootFs {
    uint64_t total, used, avail, free;
} RootFs;

static void local_rootfs(RootFs *fs) {
    struct statvfs v;
    *fs = (RootFs){0};
    if (statvfs("/", &v) < 0)
        return;
    fs->total = (uint64_t) v.f_blocks * v.f_frsize;
    fs->avail = (uint64_t) v.f_bavail * v.f_frsize;
    fs->used = (uint64_t) (v.f_blocks - v.f_bfree) * v.f_frsize;
    fs->free = fs->total - fs->used;
}

/* ---- GET /nodes ----------------------------------------------------------------------------- */

/* The fields of "<key>:v0:v1:..." in the pmxcfs RRD dump, as a NULL-terminated array of
 * pointers into a copy (free the array and [0]); NULL when absent. */
static char **rrd_fields(const char *dump, const char *key) {
    size_t klen = strlen(key);
    for (const char *p = dump; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) != 0 || p[klen] != ':')
            continue;
        const char *end = strchrnul(p + klen + 1, '\n');
        char *copy = strndup(p + klen + 1, (size_t) (end - p - klen - 1));
        char **v = calloc(32, sizeof *v);
        if (!copy || !v) {
            free(copy);
            free(v);
            return NULL;
        }
        size_t n = 0;
        for (char *s = copy, *tok; n < 31 && (tok = strsep(&s, ":"));)
            v[n++] = tok;
        return v;
    }
    return NULL;
}

static void rrd_fields_free(char **v) {
    if (v)
        free(v[0]);
    free(v);
}

/* Set key from field i when it is a number (not "U"). */
static int set_rrd_number(json_t *o, const char *key, char **v, size_t i, bool real) {
    for (size_t k = 0; k <= i; k++)
        if (!v[k])
            return 0;
    char *end;
    double d = strtod(v[i], &end);
    if (end == v[i] || *end)
        return 0;
    return json_util_set_new(o, key, real ? json_real(d) : json_integer((json_int_t) d));
}

/* upstream's extract_node_stats over the RRD dump */
static int node_stats_from_rrd(json_t *e, char **v, bool online, bool stats) {
    int r = 0;
    if (online) {
        if (stats) {
            r = set_rrd_number(e, "uptime", v, 0, false);
            r = r ?: set_rrd_number(e, "cpu", v, 5, true);
            r = r ?: set_rrd_number(e, "mem", v, 8, false);
            r = r ?: set_rrd_number(e, "disk", v, 12, false);
        }
        if (!r && v[0] && v[1])
            r = json_util_set_string(e, "level", v[1]);
        r = r ?: json_util_set_string(e, "status", "online");
    }
    if (!r && stats) {
        r = set_rrd_number(e, "maxcpu", v, 4, false);
        r = r ?: set_rrd_number(e, "maxmem", v, 7, false);
        r = r ?: set_rrd_number(e, "maxdisk", v, 11, false);
    }
    return r;
}

static int node_stats_local(json_t *e, bool stats) {
    int r = json_util_set_string(e, "status", "online");
    if (r < 0 || !stats)
        return r;
    double cpu, wait;
    unsigned cpus;
    ProcMemInfo m;
    RootFs fs;
    local_cpu_usage(&cpu, &wait, &cpus);
    local_meminfo(&m);
    local_rootfs(&fs);
    json_t *add = json_pack(
        "{s:I,s:f,s:i,s:I,s:I,s:I,s:I}", "uptime", (json_int_t) local_uptime(), "cpu", cpu,
        "maxcpu", (int) cpus, "mem", (json_int_t) m.used, "maxmem", (json_int_t) m.total, "disk",
        (json_int_t) fs.used, "maxdisk", (json_int_t) fs.total
    );
    if (!add)
        return -ENOMEM;
    r = json_object_update(e, add) < 0 ? -ENOMEM : 0;
    json_decref(add);
    if (!r && !json_object_get(e, "level"))
        r = json_util_set_string(e, "level", "");
    return r;
}

/* "AB:CD:..." SHA-256 of the node's proxy certificate (custom one first). */
static int node_fingerprint(const char *node, char **ret) {
    static const char *const names[] = {"pveproxy-ssl.pem", "pve-ssl.pem"};
    for (size_t i = 0; i < ELEMENTSOF(names); i++) {
        _cleanup_free_ char *path = NULL, *pem = NULL;
        size_t len;
        if (asprintf(&path, "nodes/%s/%s", node, names[i]) < 0)
            return -ENOMEM;
        if (cfs_file_read(path, &pem, &len) < 0)
            continue;
        BIO *bio = BIO_new_mem_buf(pem, (int) len);
        X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        bool ok = x && X509_digest(x, EVP_sha256(), md, &n) == 1;
        X509_free(x);
        BIO_free(bio);
        if (!ok)
            continue;
        char *s = malloc(n * 3 + 1);
        if (!s)
            return -ENOMEM;
        for (unsigned k = 0; k < n; k++)
            sprintf(s + k * 3, "%02X%s", md[k], k + 1 < n ? ":" : "");
        *ret = s;
        return 0;
    }
    return -ENOENT;
}

static int node_entry(
    ApiCall *call,
    UserCfg *cfg,
    const char *node,
    const json_t *member,
    const char *dump,
    json_t *list
) {
    _cleanup_free_ char *id = NULL, *path = NULL, *fp = NULL;
    if (asprintf(&id, "node/%s", node) < 0 || asprintf(&path, "/nodes/%s", node) < 0)
        return -ENOMEM;
    json_t *e =
        json_pack("{s:s,s:s,s:s,s:s}", "id", id, "node", node, "type", "node", "status", "unknown");
    int r = json_util_append_new(list, e);
    if (r < 0)
        return r;
    bool stats = api_has_priv(call, cfg, path, API_PRIVS("Sys.Audit"), false);
    bool online = !member || json_is_true(json_object_get(member, "online")) ||
                  json_integer_value(json_object_get(member, "online")) == 1;
    if (streq(node, api_env(call)->nodename))
        r = node_stats_local(e, stats);
    else {
        _cleanup_free_ char *k9 = NULL, *k2 = NULL;
        if (asprintf(&k9, "pve-node-9.0/%s", node) < 0 || asprintf(&k2, "pve2-node/%s", node) < 0)
            return -ENOMEM;
        char **v = dump ? rrd_fields(dump, k9) : NULL;
        if (!v && dump)
            v = rrd_fields(dump, k2);
        r = v ? node_stats_from_rrd(e, v, online, stats) : 0;
        rrd_fields_free(v);
    }
    if (r < 0)
        return r;
    if (member && !online)
        r = json_util_set_string(e, "status", "offline");
    if (r >= 0 && node_fingerprint(node, &fp) >= 0)
        r = json_util_set_string(e, "ssl_fingerprint", fp);
    return r;
}

static int h_nodes(ApiCall *call) {
    _cleanup_(user_cfg_freep) UserCfg *cfg = NULL;
    int r = api_load_user_cfg(call, &cfg);
    if (r < 0)
        return r;
    _cleanup_free_ char *info = NULL, *dump = NULL;
    size_t len;
    _cleanup_json_ json_t *members = NULL;
    if (cfs_ipc_get_cluster_info(&info, &len) >= 0)
        (void) json_util_parse(info, len, 0, &members, NULL);
    if (cfs_ipc_get_rrd_dump(&dump, &len) < 0)
        dump = NULL;
    json_t *nodelist = json_object_get(members, "nodelist");
    _cleanup_json_ json_t *list = json_array();
    if (!list)
        return -ENOMEM;
    if (json_is_object(nodelist) && json_object_size(nodelist) > 0) {
        const char *name;
        json_t *m;
        json_object_foreach(nodelist, name, m) {
            if ((r = node_entry(call, cfg, name, m, dump, list)) < 0)
                return r;
        }
    } else if ((r = node_entry(call, cfg, api_env(call)->nodename, NULL, dump, list)) < 0)
        return r;
    return api_call_set_result(call, TAKE_PTR(list));
}

/* ---- GET /nodes/{node} ---------------------------------------------------------------------- */

static int h_node_index(ApiCall *call) {
    static const char *const names[] = {
        "aplinfo",      "apt",          "capabilities",
        "ceph",         "certificates", "config",
        "disks",        "dns",          "firewall",
        "hardware",     "hosts",        "journal",
        "lxc",          "migrateall",   "netstat",
        "network",      "qemu",         "query-url-metadata",
        "replication",  "report",       "rrd",
        "rrddata",      "scan",         "sdn",
        "services",     "spiceshell",   "startall",
        "status",       "stopall",      "storage",
        "subscription", "suspendall",   "syslog",
        "tasks",        "termproxy",    "time",
        "version",      "vncshell",     "vzdump",
        "wakeonlan",
    };
    json_t *a = json_array();
    for (size_t i = 0; a && i < ELEMENTSOF(names); i++)
        if (json_util_append_new(a, json_pack("{s:s}", "name", names[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return api_call_set_result(call, a);
}

/* ---- GET/POST /nodes/{node}/status ---------------------------------------------------------- */

static json_t *status_cpuinfo(void) {
    _cleanup_free_ char *text = NULL;
    ProcCpuInfo c;
    if (procfs_parse_cpuinfo(read_proc("/proc/cpuinfo", &text) >= 0 ? text : "", &c) < 0)
        return NULL;
    long hz = sysconf(_SC_CLK_TCK);
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i}", "model", c.model, "mhz", c.mhz, "flags", c.flags,
        "cpus", (int) c.cpus, "cores", (int) c.cores, "sockets", (int) c.sockets, "hvm",
        c.hvm ? 1 : 0, "user_hz", (int) (hz > 0 ? hz : 100)
    );
    procfs_cpuinfo_done(&c);
    return o;
}

static json_t *status_boot_info(void) {
    if (access("/sys/firmware/efi", F_OK) < 0)
        return json_pack("{s:s}", "mode", "legacy-bios");
    /* efivar: 4 attribute bytes, then the value byte */
    _cleanup_free_ char *v = NULL;
    size_t len = 0;
    bool sb = read_full_file(
                  "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", 64,
                  &v, &len
              ) >= 0 &&
              len >= 5 && v[len - 1] == 1;
    return json_pack("{s:s,s:i}", "mode", "efi", "secureboot", sb ? 1 : 0);
}

static json_t *status_loadavg(void) {
    _cleanup_free_ char *text = NULL;
    char la[3][16];
    (void) procfs_parse_loadavg(read_proc("/proc/loadavg", &text) >= 0 ? text : "", la);
    return json_pack("[s,s,s]", la[0], la[1], la[2]);
}

static json_t *status_ksm(void) {
    _cleanup_free_ char *text = NULL;
    size_t len;
    unsigned long long pages = 0;
    if (read_full_file("/sys/kernel/mm/ksm/pages_sharing", 64, &text, &len) >= 0) {
        text[rstrip_len(text, len)] = 0;
        char *nl = strchr(text, '\n');
        if (nl)
            *nl = 0;
        (void) safe_atou64(text, &pages);
    }
    return json_pack("{s:I}", "shared", (json_int_t) (pages * 4096));
}

static int h_status(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    struct utsname u;
    if (uname(&u) < 0)
        return -errno;
    _cleanup_free_ char *kversion = NULL;
    if (asprintf(&kversion, "%s %s %s", u.sysname, u.release, u.version) < 0)
        return -ENOMEM;
    double cpu, wait;
    unsigned cpus;
    ProcMemInfo m;
    RootFs fs;
    local_cpu_usage(&cpu, &wait, &cpus);
    local_meminfo(&m);
    local_rootfs(&fs);
    json_t *o = json_pack(
        "{s:I,s:i,s:o,s:f,s:f,s:o,s:o,s:{s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I},s:o,"
        "s:{s:I,s:I,s:I,s:I},s:s,s:{s:s,s:s,s:s,s:s},s:s}",
        "uptime", (json_int_t) local_uptime(), "idle", 0, "loadavg", status_loadavg(), "cpu", cpu,
        "wait", wait, "cpuinfo", status_cpuinfo(), "boot-info", status_boot_info(), "memory",
        "total", (json_int_t) m.total, "used", (json_int_t) m.used, "free", (json_int_t) m.free,
        "available", (json_int_t) m.available, "swap", "total", (json_int_t) m.swap_total, "used",
        (json_int_t) m.swap_used, "free", (json_int_t) m.swap_free, "ksm", status_ksm(), "rootfs",
        "total", (json_int_t) fs.total, "used", (json_int_t) fs.used, "avail",
        (json_int_t) fs.avail, "free", (json_int_t) fs.free, "kversion", kversion, "current-kernel",
        "sysname", u.sysname, "release", u.release, "version", u.version, "machine", u.machine,
        "pveversion", "pve-manager/" PVE_VERSION "/pve-c"
    );
    return api_call_set_result(call, o);
}

static int keep_last_line(const char *line, size_t len, void *userdata) {
    char **last = userdata;
    if (len == 0)
        return 0;
    free(*last);
    *last = strndup(line, len);
    return *last ? 0 : -ENOMEM;
}

static int h_status_command(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    const char *cmd = api_env(call)->power_command, *what = NULL;
    (void) api_call_param_string(call, "command", &what);
    if (!cmd || !cmd[0])
        return api_call_fail(
            call, 500, NULL,
            "no node power command configured (PVE_NODE_POWER_COMMAND); refusing to %s this node",
            what
        );
    int status = 0;
    _cleanup_free_ char *last = NULL;
    r = api_node_run_lines((const char *const[]){cmd, what, NULL}, keep_last_line, &last, &status);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return api_call_fail(
            call, 500, NULL, "unable to run '%s %s' - %s", cmd, what, strerror(-r)
        );
    if (status != 0)
        return api_call_fail(
            call, 500, NULL, "command '%s %s' failed: exit code %d%s%s", cmd, what, status,
            last ? " - " : "", last ?: ""
        );
    return api_call_set_result(call, json_null());
}

/* ---- version, subscription ------------------------------------------------------------------ */

static int h_version(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    char release[32];
    snprintf(release, sizeof release, "%s", PVE_VERSION);
    char *dot = strchr(release, '.');
    if (dot && (dot = strchr(dot + 1, '.')))
        *dot = 0;
    json_t *o =
        json_pack("{s:s,s:s,s:s}", "version", PVE_VERSION, "release", release, "repoid", "pve-c");
    return api_call_set_result(call, o);
}

/* upstream's server id: MD5 (upper-case hex) of the SSH RSA host key blob */
static int server_id(char **ret) {
    _cleanup_free_ char *path = NULL, *text = NULL;
    size_t len;
    int r = api_node_host_path("/etc/ssh/ssh_host_rsa_key.pub", &path);
    if (r < 0)
        return r;
    if ((r = read_full_file(path, 64 * 1024, &text, &len)) < 0)
        return r;
    char *b64 = strchr(text, ' ');
    if (!b64)
        return -EINVAL;
    b64++;
    size_t n = strcspn(b64, " \n");
    _cleanup_free_ unsigned char *blob = malloc(n / 4 * 3 + 3);
    if (!blob)
        return -ENOMEM;
    int bl = EVP_DecodeBlock(blob, (const unsigned char *) b64, (int) n);
    if (bl < 0 || n % 4)
        return -EINVAL;
    while (n > 0 && b64[n - 1] == '=') {
        n--;
        bl--;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_Digest(blob, (size_t) bl, md, &mdlen, EVP_md5(), NULL) != 1)
        return -EIO;
    char *s = malloc(mdlen * 2 + 1);
    if (!s)
        return -ENOMEM;
    for (unsigned i = 0; i < mdlen; i++)
        sprintf(s + i * 2, "%02X", md[i]);
    *ret = s;
    return 0;
}

static int h_subscription(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    _cleanup_free_ char *text = NULL, *sid = NULL;
    ProcCpuInfo c;
    if (procfs_parse_cpuinfo(read_proc("/proc/cpuinfo", &text) >= 0 ? text : "", &c) < 0)
        return -ENOMEM;
    unsigned sockets = c.sockets;
    procfs_cpuinfo_done(&c);
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:i}", "status", "notfound", "message", "There is no subscription key", "url",
        "https://www.proxmox.com/en/proxmox-virtual-environment/pricing", "sockets", (int) sockets
    );
    _cleanup_free_ char *path = NULL;
    if (!o || asprintf(&path, "/nodes/%s", api_env(call)->nodename) < 0) {
        json_decref(o);
        return -ENOMEM;
    }
    if (api_has_priv(call, NULL, path, API_PRIVS("Sys.Audit"), false) && server_id(&sid) >= 0 &&
        json_util_set_string(o, "serverid", sid) < 0) {
        json_decref(o);
        return -ENOMEM;
    }
    return api_call_set_result(call, o);
}

/* ---- tables --------------------------------------------------------------------------------- */

static const ApiSchema node_only_params = API_OBJECT(.properties = API_PROPERTIES(API_NODE_PARAM));

static const ApiSchema nodes_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .properties = API_PROPERTIES(
        API_PARAM_STRING("node", .format = "pve-node", .description = "The cluster node name."),
        API_PARAM_STRING(
            "status",
            .enum_values = API_ENUM("unknown", "online", "offline"),
            .description = "Node status."
        ),
        API_PARAM_NUMBER("cpu", .optional = true, .description = "CPU utilization."),
        API_PARAM_INTEGER("maxcpu", .optional = true, .description = "Number of available CPUs."),
        API_PARAM_INTEGER("mem", .optional = true, .description = "Used memory in bytes."),
        API_PARAM_INTEGER(
            "maxmem", .optional = true, .description = "Number of available memory in bytes."
        ),
        API_PARAM_STRING("level", .optional = true, .description = "Support level."),
        API_PARAM_INTEGER("uptime", .optional = true, .description = "Node uptime in seconds."),
        API_PARAM_STRING(
            "ssl_fingerprint",
            .optional = true,
            .description = "The SSL fingerprint for the node certificate."
        )
    )
));

static const ApiSchema index_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = API_PROPERTIES({.name = NULL})));

static const ApiSchema status_returns = API_OBJECT(
        .additional_properties = true,
        .properties = API_PROPERTIES(
            API_PARAM_NUMBER("cpu", .description = "The current cpu usage."),
            API_PARAM_ARRAY(
                "loadavg",
                API_ITEMS(API_TYPE_STRING),
                .description = "An array of load avg for 1, 5 and 15 minutes respectively."
            ),
            API_PARAM_STRING("pveversion", .description = "The PVE version string."),
            API_PARAM_STRING("kversion", .description = "The running kernel version string."),
            API_PARAM_OBJECT("memory", .description = "Memory usage in bytes."),
            API_PARAM_OBJECT("rootfs", .description = "Root filesystem usage in bytes."),
            API_PARAM_OBJECT("cpuinfo", .description = "CPU model, sockets, cores and threads."),
            API_PARAM_OBJECT("boot-info", .description = "Boot mode (efi, legacy-bios)."),
            API_PARAM_OBJECT("current-kernel", .description = "The running kernel (uname).")
        )
);

static const ApiSchema status_command_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_NODE_PARAM,
            API_PARAM_STRING(
                "command",
                .enum_values = API_ENUM("reboot", "shutdown"),
                .description = "Specify the command."
            )
        )
);

static const ApiSchema version_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("release", .description = "The current installed Proxmox VE Release"),
            API_PARAM_STRING("repoid", .description = "The short git commit hash ID"),
            API_PARAM_STRING(
                "version", .description = "The current installed pve-manager package version"
            )
        )
);

static const ApiSchema subscription_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING(
                "status",
                .enum_values =
                    API_ENUM("new", "notfound", "active", "invalid", "expired", "suspended"),
                .description = "The current subscription status."
            ),
            API_PARAM_STRING(
                "message", .optional = true, .description = "A more human readable status message."
            ),
            API_PARAM_STRING("url", .optional = true, .description = "URL to buy a subscription."),
            API_PARAM_STRING(
                "serverid",
                .optional = true,
                .description = "The server ID, if permitted to access."
            ),
            API_PARAM_INTEGER(
                "sockets", .optional = true, .description = "The number of sockets for this host."
            )
        )
);

#define SYS_AUDIT_NODE API_PERM_CHECK("/nodes/{node}", API_PRIVS("Sys.Audit"))

static const ApiMethod methods[] = {
    {
        .path = "/nodes",
        .method = API_METHOD_GET,
        .name = "index",
        .description = "Cluster node index.",
        .returns = &nodes_returns,
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = h_nodes,
    },
    {
        .path = "/nodes/{node}",
        .method = API_METHOD_GET,
        .name = "index",
        .description = "Node index.",
        .parameters = &node_only_params,
        .returns = &index_returns,
        .permissions = API_PERM_ALL,
        .allowtoken = true,
        .handler = h_node_index,
    },
    {
        .path = "/nodes/{node}/status",
        .method = API_METHOD_GET,
        .name = "status",
        .description = "Read node status",
        .parameters = &node_only_params,
        .returns = &status_returns,
        .permissions = SYS_AUDIT_NODE,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_status,
    },
    {
        .path = "/nodes/{node}/status",
        .method = API_METHOD_POST,
        .name = "node_cmd",
        .description = "Reboot or shutdown a node.",
        .parameters = &status_command_params,
        .permissions = API_PERM_CHECK("/nodes/{node}", API_PRIVS("Sys.PowerMgmt")),
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_status_command,
    },
    {
        .path = "/nodes/{node}/version",
        .method = API_METHOD_GET,
        .name = "version",
        .description = "API version details",
        .parameters = &node_only_params,
        .returns = &version_returns,
        .permissions = API_PERM_ALL,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_version,
    },
    {
        .path = "/nodes/{node}/subscription",
        .method = API_METHOD_GET,
        .name = "get",
        .description = "Read subscription info.",
        .parameters = &node_only_params,
        .returns = &subscription_returns,
        .permissions = API_PERM_ALL,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_subscription,
    },
};

int api_nodes_register(ApiRouter *r) {
    int k = api_router_add(r, methods);
    k = k ?: api_node_system_register(r);
    k = k ?: api_node_logs_register(r);
    k = k ?: api_node_tasks_register(r);
    k = k ?: api_node_guests_register(r);
    return k ?: api_node_services_register(r);
}
