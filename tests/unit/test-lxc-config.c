/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for lxc-config: netN and rootfs/mpN parsing, the key schema and the generated
 * LXC configuration (exact text for cgroup v2 and v1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: cmocka.h needs the headers above first */
#include <cmocka.h>
/* clang-format on */

#include <jansson.h>

#include "pve/lxc-config.h"
#include "pve/string-util.h"

static void test_keys(void **state) {
    (void) state;
    assert_true(lxc_is_net_key("net0") && lxc_is_net_key("net31"));
    assert_false(lxc_is_net_key("net32") || lxc_is_net_key("net") || lxc_is_net_key("net01"));
    assert_true(lxc_is_mp_key("mp0") && lxc_is_mp_key("mp255"));
    assert_false(lxc_is_mp_key("mp256") || lxc_is_mp_key("mpx"));
    assert_true(lxc_is_unused_key("unused9") && lxc_is_dev_key("dev3"));
    assert_false(lxc_is_unused_key("unused") || lxc_is_dev_key("dev256"));
}

static void test_net(void **state) {
    (void) state;
    _cleanup_(lxc_net_freep) LxcNet *n = NULL;
    _cleanup_free_ char *err = NULL, *text = NULL;
    assert_int_equal(
        lxc_net_parse(
            "net1",
            "name=eth0,bridge=vmbr0,ip=10.0.0.2/24,gw=10.0.0.1,ip6=auto,tag=5,mtu=1400,firewall=1",
            &n, &err
        ),
        0
    );
    assert_int_equal(n->index, 1);
    assert_string_equal(n->name, "eth0");
    assert_string_equal(n->bridge, "vmbr0");
    assert_string_equal(n->ip, "10.0.0.2/24");
    assert_string_equal(n->gw, "10.0.0.1");
    assert_string_equal(n->ip6, "auto");
    assert_int_equal(n->tag, 5);
    assert_int_equal(n->mtu, 1400);
    assert_true(n->firewall);
    assert_false(n->link_down);
    assert_null(n->hwaddr);
    assert_int_equal(lxc_net_fill_defaults(n), 0);
    assert_non_null(n->hwaddr);
    assert_true(startswith(n->hwaddr, "BC:24:11:"));
    assert_string_equal(n->name, "eth0");
    assert_int_equal(lxc_net_print(n, &text), 0);
    char want[256];
    snprintf(
        want, sizeof want,
        "name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,hwaddr=%s,ip=10.0.0.2/24,ip6=auto,mtu=1400,"
        "tag=5,type=veth",
        n->hwaddr
    );
    assert_string_equal(text, want); /* upstream's order: name, then sorted keys */
}

static void test_net_errors(void **state) {
    (void) state;
    static const struct {
        const char *value, *error;
    } cases[] = {
        {"bridge=vmbr0", "net0.name: property is missing and it is not optional"},
        {"name=eth0,ip=10.0.0.300/24", "net0.ip: invalid format - invalid IPv4 address/CIDR"},
        {"name=eth0,ip=10.0.0.3", "net0.ip: invalid format"},
        {"name=eth0,ip6=fe80::1/129", "net0.ip6: invalid format"},
        {"name=eth0,gw=x", "net0.gw: invalid format"},
        {"name=eth0,hwaddr=01:00:00:00:00:00", "net0.hwaddr: value '01:00:00:00:00:00'"},
        {"name=eth 0", "net0.name: invalid interface name"},
        {"name=eth0,tag=4095", "net0.tag: value must have a maximum value of 4094"},
        {"name=eth0,type=macvlan",
         "net0.type: value 'macvlan' does not have a value in the enumeration"},
        {"name=eth0,bogus=1", "net0.bogus"},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        _cleanup_(lxc_net_freep) LxcNet *n = NULL;
        _cleanup_free_ char *err = NULL;
        assert_int_equal(lxc_net_parse("net0", cases[i].value, &n, &err), -EINVAL);
        assert_non_null(err);
        if (!strstr(err, cases[i].error))
            fail_msg("'%s': got '%s', expected '%s'", cases[i].value, err, cases[i].error);
    }
    _cleanup_(lxc_net_freep) LxcNet *n = NULL;
    assert_int_equal(lxc_net_parse("net32", "name=eth0", &n, NULL), -EINVAL);
}

static void test_mount(void **state) {
    (void) state;
    _cleanup_(lxc_mount_freep) LxcMount *r = NULL, *m = NULL, *b = NULL;
    _cleanup_free_ char *err = NULL, *text = NULL;
    assert_int_equal(lxc_mount_parse("rootfs", "local:8", &r, &err), 0);
    assert_true(r->is_alloc);
    assert_string_equal(r->alloc_storage, "local");
    assert_true(r->alloc_size_gib == 8.0);
    assert_string_equal(r->mp, "/");
    assert_int_equal(lxc_mount_set_volume(r, "local:100/subvol-100-disk-0.subvol", 8ull << 30), 0);
    assert_false(r->is_alloc);
    assert_int_equal(lxc_mount_print(r, &text), 0);
    assert_string_equal(text, "local:100/subvol-100-disk-0.subvol,size=8G");

    assert_int_equal(
        lxc_mount_parse(
            "mp0", "size=512M,ro=1,mp=/srv/data,volume=local:100/subvol-100-disk-1.subvol", &m, &err
        ),
        0
    );
    assert_false(m->is_alloc);
    assert_true(m->ro);
    assert_string_equal(m->mp, "/srv/data");
    assert_int_equal(m->size, 512ull << 20);
    free(text);
    assert_int_equal(lxc_mount_print(m, &text), 0);
    assert_string_equal(text, "local:100/subvol-100-disk-1.subvol,mp=/srv/data,ro=1,size=512M");

    assert_int_equal(lxc_mount_parse("mp1", "/host/dir,mp=/mnt", &b, &err), 0);
    assert_true(b->is_bind);

    static const struct {
        const char *key, *value, *error;
    } bad[] = {
        {"mp0", "local:1", "mp0.mp: property is missing"},
        {"mp0", "local:1,mp=relative", "mp0.mp: invalid mount point path"},
        {"mp0", "local:1,mp=/a/../b", "mp0.mp: invalid mount point path"},
        {"rootfs", "local:1,mp=/x", "rootfs.mp"},
        {"rootfs", "novolume", "rootfs: invalid volume 'novolume'"},
        {"rootfs", "local:1,size=abc", "rootfs.size: invalid format"},
        {"mp256", "local:1,mp=/x", "invalid mount point key"},
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        _cleanup_(lxc_mount_freep) LxcMount *x = NULL;
        _cleanup_free_ char *e = NULL;
        assert_int_equal(lxc_mount_parse(bad[i].key, bad[i].value, &x, &e), -EINVAL);
        if (!e || !strstr(e, bad[i].error))
            fail_msg("'%s': got '%s', expected '%s'", bad[i].value, e ?: "(null)", bad[i].error);
    }
}

static void test_schema(void **state) {
    (void) state;
    size_t n = 0;
    while (lxc_config_properties[n].name)
        n++;
    /* 28 plain keys + 256 dev + 256 mp + 32 net + 256 unused */
    assert_int_equal(n, 28 + 256 + 256 + 32 + 256);
    assert_non_null(lxc_config_property("net31"));
    assert_null(lxc_config_property("net32"));
    assert_non_null(lxc_config_property("mp255"));
    assert_non_null(lxc_config_property("hostname"));
    assert_null(lxc_config_property("ostemplate"));
    for (size_t i = 1; i < n; i++) /* sorted by name like upstream's schema dump (by prefix) */
        assert_true(strcmp(lxc_config_properties[i - 1].name, lxc_config_properties[i].name) != 0);

    /* the property-string formats go through the API validator */
    static const ApiSchema params = API_OBJECT(.properties = lxc_config_properties);
    json_t *in = json_pack(
        "{s:s,s:s,s:i,s:s}", "net0", "name=eth0,bridge=vmbr0,tag=4095", "rootfs", "local:4,bogus=1",
        "memory", 8, "features", "nesting=1"
    );
    json_t *errors = NULL;
    assert_int_equal(api_schema_validate_params(&params, in, &errors), -EINVAL);
    assert_non_null(json_object_get(errors, "net0"));
    assert_non_null(json_object_get(errors, "rootfs"));
    assert_non_null(json_object_get(errors, "memory"));
    assert_null(json_object_get(errors, "features"));
    json_decref(errors);
    json_decref(in);
}

/* ---- generator ---- */

static int fake_resolve(const char *volume, char **ret, char **reterr, void *userdata) {
    (void) userdata;
    if (startswith(volume, "missing:")) {
        *reterr = strdup("storage 'missing' does not exist");
        return -ENOENT;
    }
    const char *name = strchr(volume, '/');
    return asprintf(ret, "/var/lib/vz/images%s", name ? name : "/x") < 0 ? -ENOMEM : 0;
}

static bool fake_exists(const char *path, void *userdata) {
    (void) userdata;
    return streq(path, "/usr/share/lxc/config/debian.common.conf") ||
           streq(path, "/usr/share/lxc/config/userns.conf") ||
           streq(path, "/usr/share/lxc/config/common.conf");
}

static char *generate(const char *text, int cgroup, char **err) {
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    GuestConfigError perr;
    assert_int_equal(guest_config_parse(GUEST_TYPE_LXC, text, strlen(text), &c, &perr), 0);
    LxcGenerateOptions o = {
        .lxcpath = "/var/lib/lxc",
        .confdir = "/usr/share/lxc/config",
        .cgroup_version = cgroup,
        .host_cpus = 4,
        .resolve_volume = fake_resolve,
        .file_exists = fake_exists,
    };
    char *out = NULL;
    if (lxc_config_generate(c, 8301, &o, &out, err) < 0)
        return NULL;
    return out;
}

static const char full_conf[] =
    "arch: amd64\n"
    "cores: 2\n"
    "cpulimit: 1.5\n"
    "cpuunits: 200\n"
    "hostname: web1\n"
    "memory: 256\n"
    "mp0: local:8301/subvol-8301-disk-1.subvol,mp=/srv,ro=1\n"
    "mp1: /tank/shared,mp=/mnt/shared\n"
    "net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC,ip=10.0.0.2/24,gw=10.0.0.1,type=veth\n"
    "net2: "
    "name=eth1,bridge=vmbr1,hwaddr=BC:24:11:AA:BB:CD,ip=dhcp,ip6=fd00::2/"
    "64,gw6=fd00::1,mtu=1400,link_down=1\n"
    "ostype: debian\n"
    "rootfs: local:8301/subvol-8301-disk-0.subvol,size=4G\n"
    "swap: 128\n"
    "unprivileged: 0\n"
    "lxc.cgroup2.devices.allow: c 10:200 rwm\n"
    "lxc.mount.entry = /dev/net dev/net none bind,create=dir 0 0\n";

static void test_generate_v2(void **state) {
    (void) state;
    _cleanup_free_ char *err = NULL;
    _cleanup_free_ char *out = generate(full_conf, 2, &err);
    if (!out)
        fail_msg("generate failed: %s", err ?: "?");
    assert_string_equal(
        out,
        "lxc.arch = amd64\n"
        "lxc.include = /usr/share/lxc/config/debian.common.conf\n"
        "lxc.tty.max = 2\n"
        "lxc.uts.name = web1\n"
        "lxc.cgroup2.memory.max = 268435456\n"
        "lxc.cgroup2.memory.swap.max = 134217728\n"
        "lxc.cgroup2.cpu.max = 150000 100000\n"
        "lxc.cgroup2.cpu.weight = 200\n"
        "lxc.cgroup2.cpuset.cpus = 0-1\n"
        "lxc.rootfs.path = /var/lib/vz/images/subvol-8301-disk-0.subvol\n"
        "lxc.mount.entry = /var/lib/vz/images/subvol-8301-disk-1.subvol srv none "
        "rbind,create=dir,ro 0 0\n"
        "lxc.mount.entry = /tank/shared mnt/shared none rbind,create=dir 0 0\n"
        "lxc.net.0.type = veth\n"
        "lxc.net.0.veth.pair = veth8301i0\n"
        "lxc.net.0.hwaddr = BC:24:11:AA:BB:CC\n"
        "lxc.net.0.name = eth0\n"
        "lxc.net.0.link = vmbr0\n"
        "lxc.net.0.flags = up\n"
        "lxc.net.0.ipv4.address = 10.0.0.2/24\n"
        "lxc.net.0.ipv4.gateway = 10.0.0.1\n"
        "lxc.net.1.type = veth\n"
        "lxc.net.1.veth.pair = veth8301i2\n"
        "lxc.net.1.hwaddr = BC:24:11:AA:BB:CD\n"
        "lxc.net.1.name = eth1\n"
        "lxc.net.1.link = vmbr1\n"
        "lxc.net.1.mtu = 1400\n"
        "lxc.net.1.ipv6.address = fd00::2/64\n"
        "lxc.net.1.ipv6.gateway = fd00::1\n"
        "lxc.cgroup2.devices.allow = c 10:200 rwm\n"
        "lxc.mount.entry = /dev/net dev/net none bind,create=dir 0 0\n"
    );
}

static void test_generate_v1_minimal(void **state) {
    (void) state;
    _cleanup_free_ char *err = NULL;
    _cleanup_free_ char *out = generate(
        "rootfs: /srv/ct/rootfs\nunprivileged: 1\nconsole: 0\ntty: 0\ncpuunits: 0\n"
        "features: nesting=1\n",
        1, &err
    );
    if (!out)
        fail_msg("generate failed: %s", err ?: "?");
    /* unmanaged (no ostype): common.conf; nesting.conf does not exist here; the v1 keys */
    assert_string_equal(
        out,
        "lxc.arch = amd64\n"
        "lxc.include = /usr/share/lxc/config/common.conf\n"
        "lxc.include = /usr/share/lxc/config/userns.conf\n"
        "lxc.idmap = u 0 100000 65536\n"
        "lxc.idmap = g 0 100000 65536\n"
        "lxc.tty.max = 0\n"
        "lxc.console.path = none\n"
        "lxc.uts.name = CT8301\n"
        "lxc.cgroup.memory.limit_in_bytes = 536870912\n"
        "lxc.cgroup.memory.memsw.limit_in_bytes = 1073741824\n"
        "lxc.cgroup.cpu.shares = 2\n"
        "lxc.rootfs.path = /srv/ct/rootfs\n"
    );
}

/* an ostype whose distribution files are not installed: the generic ones instead */
static void test_generate_missing_ostype_files(void **state) {
    (void) state;
    _cleanup_free_ char *err = NULL;
    _cleanup_free_ char *out =
        generate("rootfs: /srv/ct/rootfs\nostype: alpine\nunprivileged: 1\n", 2, &err);
    if (!out)
        fail_msg("generate failed: %s", err ?: "?");
    assert_non_null(strstr(
        out,
        "lxc.arch = amd64\n"
        "lxc.include = /usr/share/lxc/config/common.conf\n"
        "lxc.include = /usr/share/lxc/config/userns.conf\n"
        "lxc.idmap = u 0 100000 65536\n"
    ));
    assert_null(strstr(out, "alpine"));
}

static void test_generate_errors(void **state) {
    (void) state;
    static const struct {
        const char *conf, *error;
    } cases[] = {
        {"hostname: x\n", "missing 'rootfs' configuration"},
        {"rootfs: local:4\n", "rootfs: volume 'local:4' was never allocated"},
        {"rootfs: missing:100/x.subvol\n", "storage 'missing' does not exist"},
        {"rootfs: /srv/a b\n", "rootfs"},
        {"rootfs: /x\nnet0: bridge=vmbr0\n", "net0.name"},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        _cleanup_free_ char *err = NULL;
        _cleanup_free_ char *out = generate(cases[i].conf, 2, &err);
        assert_null(out);
        if (!err || !strstr(err, cases[i].error))
            fail_msg(
                "'%s': got '%s', expected '%s'", cases[i].conf, err ?: "(null)", cases[i].error
            );
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_net),
        cmocka_unit_test(test_net_errors),
        cmocka_unit_test(test_mount),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_generate_v2),
        cmocka_unit_test(test_generate_v1_minimal),
        cmocka_unit_test(test_generate_missing_ostype_files),
        cmocka_unit_test(test_generate_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
