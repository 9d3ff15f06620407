/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the status store over a RAM-only memdb: exact text of the generated files
 * (.version, .members, .vmlist, .clusterlog, .rrd, .debug), file counters driven by memdb
 * changes, SET/GET_STATUS rules, guest config properties, and the lock order under threads.
 */
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include "clusterlog.h"
#include "memdb.h"
#include "pve/log.h"
#include "pve/strbuf.h"
#include "status.h"

/* The 43 paths the spec lists (it says 45, but names only these; see status.c). */
static const char *const observed_files[] = {
    "corosync.conf",
    "corosync.conf.new",
    "storage.cfg",
    "user.cfg",
    "domains.cfg",
    "notifications.cfg",
    "priv/notifications.cfg",
    "priv/shadow.cfg",
    "priv/acme/plugins.cfg",
    "priv/tfa.cfg",
    "priv/token.cfg",
    "priv/wg-keys.cfg",
    "datacenter.cfg",
    "vzdump.cron",
    "vzdump.conf",
    "jobs.cfg",
    "ha/crm_commands",
    "ha/manager_status",
    "ha/resources.cfg",
    "ha/rules.cfg",
    "ha/groups.cfg",
    "ha/fence.cfg",
    "status.cfg",
    "replication.cfg",
    "ceph.conf",
    "sdn/vnets.cfg",
    "sdn/zones.cfg",
    "sdn/controllers.cfg",
    "sdn/subnets.cfg",
    "sdn/ipams.cfg",
    "sdn/mac-cache.json",
    "sdn/pve-ipam-state.json",
    "sdn/dns.cfg",
    "sdn/fabrics.cfg",
    "sdn/route-maps.cfg",
    "sdn/prefix-lists.cfg",
    "sdn/.running-config",
    "virtual-guest/cpu-models.conf",
    "virtual-guest/profiles.cfg",
    "firewall/cluster.fw",
    "mapping/directory.cfg",
    "mapping/pci.cfg",
    "mapping/usb.cfg",
};

typedef struct Fixture {
    Memdb *m;
    CfsStatus *s;
} Fixture;

static time_t fake_now = 1700000000;
static time_t fake_clock(void) {
    return fake_now;
}

static int setup(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(memdb_open(NULL, NULL, &f->m), 0);
    assert_int_equal(cfs_status_new(f->m, "n1", &f->s), 0);
    memdb_set_change_callback(f->m, cfs_status_file_changed, f->s);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    memdb_set_change_callback(f->m, NULL, NULL);
    cfs_status_free(f->s);
    memdb_close(f->m);
    free(f);
    return 0;
}

static char *gen(int (*fn)(CfsStatus *, char **, size_t *), CfsStatus *s, size_t *ret_len) {
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(fn(s, &out, &len), 0);
    assert_non_null(out);
    if (ret_len)
        *ret_len = len;
    else
        assert_int_equal(len, strlen(out));
    return out;
}

static json_t *parse_json(const char *text) {
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        fail_msg("invalid JSON (%s, line %d): %s", err.text, err.line, text);
    return j;
}

static void put_file(Memdb *m, const char *path, const char *content) {
    MemdbStat st;
    if (memdb_stat(m, path, &st) < 0)
        assert_int_equal(memdb_create(m, path, 0, 1), 0);
    assert_int_equal(
        memdb_write(m, path, 0, content, strlen(content), true, 0, 1), (int) strlen(content)
    );
}

static void mkdirs(Memdb *m, const char *path) {
    char buf[256];
    for (const char *p = path; (p = strchr(p, '/')) || 1; p++) {
        size_t n = p ? (size_t) (p - path) : strlen(path);
        memcpy(buf, path, n);
        buf[n] = '\0';
        MemdbStat st;
        if (memdb_stat(m, buf, &st) < 0)
            assert_int_equal(memdb_mkdir(m, buf, 0, 1), 0);
        if (!p)
            break;
    }
}

/* The .version text for the given counters, kvstore text and vmlist version. */
static char *expected_version(
    long long starttime, uint32_t vmlist, const unsigned *counters, const char *kvstore
) {
    StrBuf b = STRBUF_INIT;
    strbuf_printf(
        &b, "{\n\"starttime\": %lld,\n\"clinfo\": 0,\n\"vmlist\": %u,\n", starttime, vmlist
    );
    for (size_t i = 0; i < 43; i++)
        strbuf_printf(&b, "\"%s\": %u,\n", observed_files[i], counters[i]);
    strbuf_printf(&b, "\"kvstore\": {\n%s\n}\n}\n", kvstore);
    char *out = NULL;
    size_t len;
    assert_int_equal(strbuf_finish(&b, &out, &len), 0);
    return out;
}

static long long starttime_of(const char *text) {
    long long t = -1;
    assert_int_equal(sscanf(text, "{\n\"starttime\": %lld,", &t), 1);
    return t;
}

static uint32_t memdb_vmlist_version(Memdb *m) {
    MemdbVm *vms = NULL;
    size_t n;
    uint32_t v = 0;
    assert_int_equal(memdb_vmlist(m, &vms, &n, &v), 0);
    free(vms);
    return v;
}

static void test_version_layout(void **state) {
    Fixture *f = *state;
    unsigned counters[43];
    for (size_t i = 0; i < 43; i++)
        counters[i] = 1;

    char *out = gen(cfs_status_version_json, f->s, NULL);
    long long start = starttime_of(out);
    assert_true(start > 1600000000);
    char *want = expected_version(start, memdb_vmlist_version(f->m), counters, "\"n1\": {\n}");
    assert_string_equal(out, want);
    json_decref(parse_json(out));
    free(out);
    free(want);

    /* write, create, rename (both names), delete bump their own counters only */
    put_file(f->m, "storage.cfg", "dir: local\n"); /* create + write */
    counters[2] += 2;
    mkdirs(f->m, "ha");
    put_file(f->m, "ha/tmp", "x");
    assert_int_equal(memdb_rename(f->m, "ha/tmp", "ha/resources.cfg", 0, 2), 0);
    counters[18]++;
    put_file(f->m, "user.cfg", "u");
    counters[3] += 2;
    assert_int_equal(memdb_rename(f->m, "user.cfg", "domains.cfg", 0, 2), 0);
    counters[3]++, counters[4]++;
    assert_int_equal(memdb_delete(f->m, "storage.cfg", 0, 3), 0);
    counters[2]++;
    put_file(f->m, "not-observed.cfg", "x");
    mkdirs(f->m, "priv/acme");
    put_file(f->m, "priv/acme/plugins.cfg", "p");
    counters[8] += 2;

    /* kv versions: local node first, then others by name */
    assert_int_equal(cfs_status_set(f->s, "kv/foo", "a", 1), 0);
    assert_int_equal(cfs_status_set(f->s, "kv/foo", "b", 1), 0);
    assert_int_equal(cfs_status_set(f->s, "kv/bar", "c", 1), 0);
    assert_int_equal(cfs_status_node_set(f->s, "n0", "kv/x", "1", 1), 0);
    assert_int_equal(cfs_status_node_set(f->s, "n2", "tasklist", "[]", 2), 0);

    out = gen(cfs_status_version_json, f->s, NULL);
    want = expected_version(
        start, memdb_vmlist_version(f->m), counters,
        "\"n1\": {\n\"kv/bar\": 0,\n\"kv/foo\": 1},\n"
        "\"n0\": {\n\"kv/x\": 0},\n"
        "\"n2\": {\n\"tasklist\": 0}"
    );
    assert_string_equal(out, want);
    json_decref(parse_json(out));
    free(out);
    free(want);

    /* after a resync every counter moves */
    cfs_status_files_changed_all(f->s);
    out = gen(cfs_status_version_json, f->s, NULL);
    json_t *j = parse_json(out);
    assert_int_equal(json_integer_value(json_object_get(j, "corosync.conf")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "storage.cfg")), 5);
    assert_int_equal(json_object_size(j), 3 + 43 + 1);
    json_decref(j);
    free(out);
}

static void test_members(void **state) {
    Fixture *f = *state;
    char *out = gen(cfs_status_members_json, f->s, NULL);
    assert_string_equal(out, "{\n\"nodename\": \"n1\",\n\"version\": 0\n}\n");
    free(out);

    CfsClusterNode nodes[] = {{"n2", 2}, {"n1", 1}, {"n3", 3}};
    assert_int_equal(cfs_status_set_clinfo(f->s, "lab", 7, nodes, 3), 0);
    assert_int_equal(cfs_status_set_node_online(f->s, 1, true), 0);
    assert_int_equal(cfs_status_set_node_online(f->s, 2, true), 0);
    assert_int_equal(cfs_status_set_node_online(f->s, 9, true), -ENOENT);
    assert_int_equal(cfs_status_set(f->s, "nodeip", "10.0.0.1", 9), 0);
    assert_int_equal(cfs_status_node_set(f->s, "n3", "nodeip", "fd00::3", 7), 0);
    assert_int_equal(cfs_status_set(f->s, "nodeip", "1.2.3.4\"", 8), -EINVAL);
    out = gen(cfs_status_members_json, f->s, NULL);
    assert_string_equal(
        out,
        "{\n\"nodename\": \"n1\",\n\"version\": 3,\n"
        "\"cluster\": { \"name\": \"lab\", \"version\": 7, \"nodes\": 3, \"quorate\": 1 },\n"
        "\"nodelist\": {\n"
        "  \"n1\": { \"id\": 1, \"online\": 1, \"ip\": \"10.0.0.1\"},\n"
        "  \"n2\": { \"id\": 2, \"online\": 1},\n"
        "  \"n3\": { \"id\": 3, \"online\": 0, \"ip\": \"fd00::3\"}\n"
        "  }\n}\n"
    );
    json_t *j = parse_json(out);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "cluster"), "nodes")), 3
    );
    json_decref(j);
    free(out);

    /* nodeip is not a kv value; online flags survive a config update */
    void *v = NULL;
    size_t vl;
    assert_int_equal(cfs_status_get(f->s, "nodeip", NULL, &v, &vl), -ENOENT);
    cfs_status_set_quorate(f->s, false);
    assert_false(cfs_status_quorate(f->s));
    assert_int_equal(cfs_status_set_clinfo(f->s, "lab", 8, nodes, 2), 0);
    out = gen(cfs_status_members_json, f->s, NULL);
    assert_non_null(strstr(out, "\"version\": 8, \"nodes\": 2, \"quorate\": 0 }"));
    assert_non_null(strstr(out, "\"n2\": { \"id\": 2, \"online\": 1}\n"));
    free(out);
    assert_int_equal(cfs_status_set_clinfo(f->s, NULL, 0, NULL, 0), 0);
    out = gen(cfs_status_members_json, f->s, NULL);
    assert_string_equal(out, "{\n\"nodename\": \"n1\",\n\"version\": 5\n}\n");
    free(out);
}

static void test_vmlist(void **state) {
    Fixture *f = *state;
    char *out = gen(cfs_status_vmlist_json, f->s, NULL);
    char want[512];
    snprintf(want, sizeof want, "{\n\"version\": %u\n}\n", memdb_vmlist_version(f->m));
    assert_string_equal(out, want);
    free(out);

    mkdirs(f->m, "nodes/n1/qemu-server");
    mkdirs(f->m, "nodes/n2/lxc");
    put_file(f->m, "nodes/n2/lxc/200.conf", "arch: amd64\n");
    put_file(f->m, "nodes/n1/qemu-server/100.conf", "name: a\n");

    MemdbVm *vms = NULL;
    size_t n;
    uint32_t version;
    assert_int_equal(memdb_vmlist(f->m, &vms, &n, &version), 0);
    assert_int_equal(n, 2);
    uint32_t v100 = vms[0].vmid == 100 ? vms[0].version : vms[1].version;
    uint32_t v200 = vms[0].vmid == 200 ? vms[0].version : vms[1].version;
    free(vms);

    out = gen(cfs_status_vmlist_json, f->s, NULL);
    snprintf(
        want, sizeof want,
        "{\n\"version\": %u,\n\"ids\": {\n"
        "\"100\": { \"node\": \"n1\", \"type\": \"qemu\", \"version\": %u },\n"
        "\"200\": { \"node\": \"n2\", \"type\": \"lxc\", \"version\": %u }}\n\n}\n",
        version, v100, v200
    );
    assert_string_equal(out, want);
    json_t *j = parse_json(out);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_object_get(j, "ids"), "200"), "type")
        ),
        "lxc"
    );
    json_decref(j);
    free(out);

    /* .version reports the same VM list version */
    out = gen(cfs_status_version_json, f->s, NULL);
    j = parse_json(out);
    assert_int_equal(json_integer_value(json_object_get(j, "vmlist")), version);
    json_decref(j);
    free(out);
}

static void test_clusterlog(void **state) {
    Fixture *f = *state;
    char *out = NULL;
    size_t len = 0;

    /* the first entry of a fresh log */
    assert_int_equal(cfs_status_clusterlog_json(f->s, 0, NULL, &out, &len), 0);
    json_t *j = parse_json(out);
    json_t *data = json_object_get(j, "data");
    assert_int_equal(json_array_size(data), 1);
    json_t *e = json_array_get(data, 0);
    assert_string_equal(json_string_value(json_object_get(e, "user")), "root");
    assert_string_equal(json_string_value(json_object_get(e, "tag")), "cluster");
    assert_string_equal(json_string_value(json_object_get(e, "node")), "n1");
    assert_string_equal(json_string_value(json_object_get(e, "msg")), "starting cluster log");
    assert_int_equal(json_integer_value(json_object_get(e, "pri")), LOG_INFO);
    assert_int_equal(json_integer_value(json_object_get(e, "pid")), getpid());
    assert_int_equal(json_integer_value(json_object_get(e, "uid")), 1);
    json_decref(j);
    free(out);

    /* appended entries: exact text, newest first */
    cfs_status_set_clock(f->s, fake_clock);
    fake_now = 2000000000;
    assert_int_equal(cfs_status_log(f->s, LOG_ERR, "root@pam", "qm", 77, "start \"vm\" 100\n"), 0);
    assert_int_equal(cfs_status_log(f->s, LOG_INFO, "alice@pve", "vzdump", 78, "b\xc3\xa4"), 0);
    assert_int_equal(cfs_status_log(f->s, 256, "x", "y", 1, "z"), -EINVAL);
    assert_int_equal(cfs_status_clusterlog_json(f->s, 2, NULL, &out, &len), 0);
    assert_string_equal(
        out,
        "{\n\"data\": [\n"
        "{\"uid\": 3, \"time\": 2000000000, \"pri\": 6, \"tag\": \"vzdump\", \"pid\": 78, "
        "\"node\": \"n1\", \"user\": \"alice@pve\", \"msg\": \"b\\u00e4\"},\n"
        "{\"uid\": 2, \"time\": 2000000000, \"pri\": 3, \"tag\": \"qm\", \"pid\": 77, "
        "\"node\": \"n1\", \"user\": \"root@pam\", \"msg\": \"start \\\"vm\\\" 100#010\"}\n"
        "]\n}\n"
    );
    j = parse_json(out);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "data"), 0), "msg")),
        "b\xc3\xa4"
    );
    json_decref(j);
    free(out);

    /* user filter */
    assert_int_equal(cfs_status_clusterlog_json(f->s, 0, "root@pam", &out, &len), 0);
    j = parse_json(out);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 1);
    json_decref(j);
    free(out);

    /* a peer's entry, once */
    uint64_t buf[CLUSTERLOG_MAX_ENTRY_SIZE / 8];
    size_t n = clusterlog_entry_pack(buf, 1, 2000000001, 5, 9, "n2", "root@pam", "ha", "peer");
    assert_int_equal(cfs_status_clusterlog_insert(f->s, buf, n), 1);
    assert_int_equal(cfs_status_clusterlog_insert(f->s, buf, n), 0);
    assert_int_equal(cfs_status_clusterlog_insert(f->s, buf, n - 1), -EINVAL);
    void *st = NULL;
    size_t st_len = 0;
    assert_int_equal(cfs_status_clusterlog_state(f->s, &st, &st_len), 0);
    assert_int_equal(clusterlog_state_check(st, st_len), 0);
    const void *states[] = {st};
    assert_int_equal(cfs_status_clusterlog_merge(f->s, states, &st_len, 1), 0);
    free(st);

    /* the plug serves the same text */
    size_t np = 0;
    const CfsPlugFile *plugs = cfs_status_plugs(f->s, &np);
    for (size_t i = 0; i < np; i++)
        if (strcmp(plugs[i].name, ".clusterlog") == 0) {
            assert_int_equal(plugs[i].generate(plugs[i].userdata, &out, &len), 0);
            j = parse_json(out);
            assert_int_equal(json_array_size(json_object_get(j, "data")), 4);
            assert_string_equal(
                json_string_value(
                    json_object_get(json_array_get(json_object_get(j, "data"), 0), "node")
                ),
                "n2"
            );
            json_decref(j);
            free(out);
        }
    cfs_status_set_clock(f->s, NULL);
}

static void test_rrd(void **state) {
    Fixture *f = *state;
    cfs_status_set_clock(f->s, fake_clock);
    fake_now = 1700000000;
    size_t len = 0;

    char *out = gen(cfs_status_rrd_dump, f->s, &len);
    assert_int_equal(len, 1);
    assert_int_equal(out[0], '\0');
    free(out);
    fake_now += 2;

    static const char node[] = "1700000000:0.5:4:1000";
    static const char vm[] = "1700000010:1:2";
    assert_int_equal(cfs_status_set(f->s, "rrd/pve2-node/n1", node, sizeof node), 0);
    assert_int_equal(cfs_status_set(f->s, "rrd/pve2.3-vm/100", vm, sizeof vm), 0);
    const char want[] = "pve2-node/n1:1700000000:0.5:4:1000\npve2.3-vm/100:1700000010:1:2\n";
    out = gen(cfs_status_rrd_dump, f->s, &len);
    assert_int_equal(len, sizeof want); /* the text plus an extra NUL */
    assert_memory_equal(out, want, sizeof want);
    free(out);

    /* cached for 2 s */
    fake_now += 1;
    static const char st[] = "1700000003:1:2:3";
    assert_int_equal(cfs_status_set(f->s, "rrd/pve2-storage/n1/local", st, sizeof st), 0);
    out = gen(cfs_status_rrd_dump, f->s, &len);
    assert_int_equal(len, sizeof want);
    free(out);
    fake_now += 1;
    out = gen(cfs_status_rrd_dump, f->s, &len);
    assert_non_null(strstr(out, "pve2-storage/n1/local:1700000003:1:2:3\n"));
    free(out);

    /* entries older than 5 min are dropped */
    fake_now += 297; /* the VM value is 299 s old */
    assert_int_equal(cfs_status_set(f->s, "rrd/pve2-node/n1", node, sizeof node), 0);
    out = gen(cfs_status_rrd_dump, f->s, &len);
    assert_non_null(strstr(out, "pve2.3-vm/100:"));
    free(out);
    fake_now += 3; /* VM 302 s, storage 301 s, node 3 s */
    out = gen(cfs_status_rrd_dump, f->s, &len);
    assert_null(strstr(out, "pve2.3-vm/100:"));
    assert_null(strstr(out, "pve2-storage/"));
    assert_non_null(strstr(out, "pve2-node/n1:"));
    free(out);

    /* validation: NUL-terminated, fewer than 4096 bytes, non-empty key */
    assert_int_equal(cfs_status_set(f->s, "rrd/x", "abc", 3), -EINVAL);
    assert_int_equal(cfs_status_set(f->s, "rrd/x", "", 0), -EINVAL);
    assert_int_equal(cfs_status_set(f->s, "rrd/", "1\0", 2), -EINVAL);
    char *big = calloc(1, 40000);
    memset(big, '1', 4095);
    assert_int_equal(cfs_status_set(f->s, "rrd/x", big, 4096), -EINVAL);
    big[4094] = '\0';
    assert_int_equal(cfs_status_set(f->s, "rrd/x", big, 4095), 0);
    assert_int_equal(cfs_status_set(f->s, "rrd/x", big, 40000), -EFBIG);
    free(big);
    cfs_status_set_clock(f->s, NULL);
}

static void test_set_get(void **state) {
    Fixture *f = *state;
    void *v = NULL;
    size_t len = 0;

    assert_int_equal(cfs_status_get(f->s, "kv/foo", NULL, &v, &len), -ENOENT);
    assert_int_equal(cfs_status_set(f->s, "kv/foo", "bin\0ary", 7), 0);
    const char *own[] = {NULL, "", "n1"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(cfs_status_get(f->s, "kv/foo", own[i], &v, &len), 0);
        assert_int_equal(len, 7);
        assert_memory_equal(v, "bin\0ary", 7);
        free(v);
    }
    assert_int_equal(cfs_status_get(f->s, "kv/foo", "n2", &v, &len), -ENOENT);
    assert_int_equal(cfs_status_node_set(f->s, "n2", "kv/foo", "other", 5), 0);
    assert_int_equal(cfs_status_get(f->s, "kv/foo", "n2", &v, &len), 0);
    assert_memory_equal(v, "other", 5);
    free(v);

    /* empty data deletes; deleting what is absent is fine */
    assert_int_equal(cfs_status_set(f->s, "kv/foo", NULL, 0), 0);
    assert_int_equal(cfs_status_get(f->s, "kv/foo", NULL, &v, &len), -ENOENT);
    assert_int_equal(cfs_status_set(f->s, "kv/foo", "", 0), 0);
    assert_int_equal(cfs_status_node_set(f->s, "n9", "kv/foo", NULL, 0), 0);
    /* a re-created key starts over at version 0 */
    assert_int_equal(cfs_status_set(f->s, "kv/foo", "x", 1), 0);
    char *out = gen(cfs_status_version_json, f->s, NULL);
    assert_non_null(strstr(out, "\"n1\": {\n\"kv/foo\": 0},\n\"n2\": {\n\"kv/foo\": 0}\n}\n}\n"));
    free(out);

    /* size limits and key rules */
    char *big = calloc(1, CFS_STATUS_MAX_SIZE + 1);
    assert_int_equal(cfs_status_set(f->s, "tasklist", big, CFS_STATUS_MAX_SIZE), 0);
    assert_int_equal(cfs_status_set(f->s, "tasklist", big, CFS_STATUS_MAX_SIZE + 1), -EFBIG);
    free(big);
    assert_int_equal(cfs_status_set(f->s, "", "x", 1), -EINVAL);
    char key[300];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    assert_int_equal(cfs_status_set(f->s, key, "x", 1), -EINVAL);
    key[255] = '\0';
    assert_int_equal(cfs_status_set(f->s, key, "x", 1), 0);
    /* rrd and nodeip values are not kv values */
    assert_int_equal(cfs_status_set(f->s, "rrd/a", "1:2\0", 4), 0);
    assert_int_equal(cfs_status_get(f->s, "rrd/a", NULL, &v, &len), -ENOENT);
    assert_int_equal(cfs_status_set(f->s, "nodeip", "192.0.2.1", 9), 0);
    assert_int_equal(cfs_status_set(f->s, "nodeip", "", 0), 0);
    assert_true(cfs_status_quorate(f->s));
}

static const CfsPlugFile *find_plug(CfsStatus *s, const char *name) {
    size_t n = 0;
    const CfsPlugFile *p = cfs_status_plugs(s, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].name, name) == 0)
            return &p[i];
    fail_msg("no plug %s", name);
    return NULL;
}

static void test_plugs_and_debug(void **state) {
    Fixture *f = *state;
    size_t n = 0;
    const CfsPlugFile *p = cfs_status_plugs(f->s, &n);
    assert_int_equal(n, 6);
    const char *names[] = {".version", ".members", ".vmlist", ".rrd", ".clusterlog", ".debug"};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(p[i].name, names[i]);
        assert_int_equal(p[i].mode, i == 5 ? 0640 : 0440);
        assert_true(p[i].userdata == f->s);
        assert_true((p[i].write != NULL) == (i == 5));
        char *out = NULL;
        size_t len = 0;
        assert_int_equal(p[i].generate(p[i].userdata, &out, &len), 0);
        free(out);
    }

    const CfsPlugFile *d = find_plug(f->s, ".debug");
    int saved = pve_log_get_level();
    pve_log_set_level(LOG_INFO);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(d->generate(d->userdata, &out, &len), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(out, "0\n", 2);
    free(out);

    assert_int_equal(d->write(d->userdata, "1\n", 2, 0), 2);
    assert_int_equal(pve_log_get_level(), LOG_DEBUG);
    assert_int_equal(d->generate(d->userdata, &out, &len), 0);
    assert_memory_equal(out, "1\n", 2);
    free(out);

    assert_int_equal(d->write(d->userdata, "0\n", 2, 1), -EIO);
    assert_int_equal(d->write(d->userdata, "0", 1, 0), -EIO);
    assert_int_equal(d->write(d->userdata, "0\n\n", 3, 0), -EIO);
    assert_int_equal(d->write(d->userdata, "2\n", 2, 0), -EIO);
    assert_int_equal(d->write(d->userdata, "0 ", 2, 0), -EIO);
    assert_int_equal(pve_log_get_level(), LOG_DEBUG);
    assert_int_equal(d->write(d->userdata, "0\n", 2, 0), 2);
    assert_int_equal(pve_log_get_level(), LOG_INFO);
    pve_log_set_level(saved);
}

static char *props(CfsStatus *s, uint32_t vmid, const char *const *p, size_t n, int expect) {
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(cfs_status_guest_config_properties(s, vmid, p, n, &out, &len), expect);
    if (expect < 0)
        return NULL;
    assert_int_equal(len, strlen(out));
    json_decref(parse_json(out));
    return out;
}

static void test_guest_properties(void **state) {
    Fixture *f = *state;
    const char *lock[] = {"lock"};
    char *out;

    /* no guests at all */
    out = props(f->s, 0, lock, 1, 0);
    assert_string_equal(out, "{\n\n}\n");
    free(out);
    props(f->s, 100, lock, 1, -ENOENT);

    mkdirs(f->m, "nodes/n1/qemu-server");
    mkdirs(f->m, "nodes/n2/lxc");
    put_file(
        f->m, "nodes/n1/qemu-server/100.conf",
        "#comment: x\n"
        "name: web \"one\"\n"
        "lock:   backup  \r\n"
        "tags: a\\b\n"
        "cores:4\n"
        "description: two\tparts\n"
        "\n"
        "[snap1]\n"
        "lock: snapshot\n"
        "parent: x\n"
    );
    put_file(f->m, "nodes/n2/lxc/101.conf", "hostname: ct\nlock: mounted\nlocked: no\n");
    put_file(f->m, "nodes/n1/qemu-server/102.conf", "name: other\nname: last-wins\n");

    out = props(f->s, 100, lock, 1, 0);
    assert_string_equal(out, "{\n\"100\":{\"lock\": \"backup\"}\n}\n");
    free(out);

    const char *several[] = {"name", "cores", "tags", "parent", "description"};
    out = props(f->s, 100, several, 5, 0);
    assert_string_equal(
        out,
        "{\n\"100\":{\"name\": \"web \\\"one\\\"\",\"cores\": \"4\",\"tags\": \"a\\\\b\","
        "\"description\": \"two\\u0009parts\"}\n}\n"
    );
    free(out);

    out = props(f->s, 0, lock, 1, 0);
    assert_string_equal(
        out, "{\n\"100\":{\"lock\": \"backup\"},\n\"101\":{\"lock\": \"mounted\"}\n}\n"
    );
    free(out);

    const char *name_host[] = {"name", "hostname"};
    out = props(f->s, 0, name_host, 2, 0);
    assert_string_equal(
        out,
        "{\n\"100\":{\"name\": \"web \\\"one\\\"\"},\n\"101\":{\"hostname\": \"ct\"},\n"
        "\"102\":{\"name\": \"last-wins\"}\n}\n"
    );
    free(out);

    /* found nothing: an empty object; errors */
    const char *parent[] = {"parent"};
    out = props(f->s, 101, parent, 1, 0);
    assert_string_equal(out, "{\n\n}\n");
    free(out);
    props(f->s, 99, lock, 1, -EINVAL);
    props(f->s, 1, lock, 1, -EINVAL);
    props(f->s, 103, lock, 1, -ENOENT);
    const char *bad1[] = {"Name"}, *bad2[] = {"lock", "1x"}, *bad3[] = {""};
    props(f->s, 100, bad1, 1, -EINVAL);
    props(f->s, 100, bad2, 2, -EINVAL);
    props(f->s, 100, bad3, 1, -EINVAL);
    props(f->s, 100, lock, 0, -EINVAL);
}

/* Memdb writers (status taken inside the memdb mutex) against readers that take memdb and
 * then status: with the lock order right this finishes. */
typedef struct Worker {
    Fixture *f;
    int kind;
} Worker;

static void *worker(void *arg) {
    Worker *w = arg;
    const char *lock[] = {"lock"};
    for (int i = 0; i < 300; i++) {
        char *out = NULL;
        size_t len;
        char path[64], val[32];
        switch (w->kind) {
        case 0:
            snprintf(val, sizeof val, "v%d\n", i);
            put_file(w->f->m, "storage.cfg", val);
            snprintf(path, sizeof path, "nodes/n1/qemu-server/%d.conf", 1000 + i);
            put_file(w->f->m, path, "lock: x\n");
            break;
        case 1:
            assert_int_equal(cfs_status_version_json(w->f->s, &out, &len), 0);
            free(out);
            assert_int_equal(cfs_status_vmlist_json(w->f->s, &out, &len), 0);
            free(out);
            break;
        case 2:
            assert_int_equal(
                cfs_status_guest_config_properties(w->f->s, 0, lock, 1, &out, &len), 0
            );
            free(out);
            assert_int_equal(cfs_status_set(w->f->s, "kv/t", "x", 1), 0);
            break;
        default:
            assert_int_equal(cfs_status_log(w->f->s, 6, "root", "t", 1, "m"), 0);
            assert_int_equal(cfs_status_clusterlog_json(w->f->s, 0, NULL, &out, &len), 0);
            free(out);
            break;
        }
    }
    return NULL;
}

static void test_threads(void **state) {
    Fixture *f = *state;
    mkdirs(f->m, "nodes/n1/qemu-server");
    pthread_t t[4];
    Worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (Worker){f, i};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    char *out = gen(cfs_status_version_json, f->s, NULL);
    json_t *j = parse_json(out);
    assert_int_equal(json_integer_value(json_object_get(j, "storage.cfg")), 1 + 1 + 300);
    json_decref(j);
    free(out);
}

/* The RRD writer hook sees every stored rrd/ value (local and a peer's), and nothing else. */
static char hook_seen[512];
static void rrd_hook(void *userdata, const char *key, const char *value) {
    (*(int *) userdata)++;
    size_t n = strlen(hook_seen);
    snprintf(hook_seen + n, sizeof hook_seen - n, "%s=%s;", key, value);
}

static void test_rrd_writer_hook(void **state) {
    Fixture *f = *state;
    int calls = 0;
    hook_seen[0] = 0;
    cfs_status_set_rrd_writer(f->s, rrd_hook, &calls);
    static const char st[] = "1700000003:1:2";
    assert_int_equal(cfs_status_set(f->s, "rrd/pve2-storage/n1/local", st, sizeof st), 0);
    assert_int_equal(cfs_status_node_set(f->s, "n2", "rrd/pve2-node/n2", st, sizeof st), 0);
    assert_int_equal(cfs_status_set(f->s, "rrd/x", "abc", 3), -EINVAL); /* not stored */
    assert_int_equal(cfs_status_set(f->s, "kv/x", "abc", 3), 0);
    assert_int_equal(calls, 2);
    assert_string_equal(
        hook_seen, "pve2-storage/n1/local=1700000003:1:2;pve2-node/n2=1700000003:1:2;"
    );
    cfs_status_set_rrd_writer(f->s, NULL, NULL);
    assert_int_equal(cfs_status_set(f->s, "rrd/pve2-storage/n1/local", st, sizeof st), 0);
    assert_int_equal(calls, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_version_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vmlist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clusterlog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rrd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rrd_writer_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plugs_and_debug, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_properties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
