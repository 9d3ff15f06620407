/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for qemu-config: drive/net property strings, MACs and the config key schema. */
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

#include "pve/qemu-config.h"

static void test_keys(void **state) {
    (void) state;
    const char *good[] = {"ide0",   "ide3",     "sata5",    "scsi0",
                          "scsi30", "virtio15", "efidisk0", "tpmstate0"};
    const char *bad[] = {"ide4", "sata6", "scsi31", "virtio16", "efidisk1", "scsi01",
                         "scsi", "net0",  "scsi-1", "",         "tpmstate"};
    for (size_t i = 0; i < ELEMENTSOF(good); i++)
        assert_true(qemu_is_drive_key(good[i]));
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        assert_false(qemu_is_drive_key(bad[i]));
    assert_true(qemu_is_net_key("net0") && qemu_is_net_key("net31"));
    assert_false(qemu_is_net_key("net32") || qemu_is_net_key("net") || qemu_is_net_key("net00"));
    assert_true(qemu_is_unused_key("unused0") && qemu_is_unused_key("unused255"));
    assert_false(qemu_is_unused_key("unused256"));
    const char *iface;
    unsigned idx;
    assert_int_equal(qemu_drive_key_split("scsi12", &iface, &idx), 0);
    assert_string_equal(iface, "scsi");
    assert_int_equal(idx, 12);
}

static void test_drive_volume(void **state) {
    (void) state;
    _cleanup_(qemu_drive_freep) QemuDrive *d = NULL;
    assert_int_equal(
        qemu_drive_parse(
            "scsi0", "local:100/vm-100-disk-0.qcow2,iothread=1,size=32G,discard=on", &d, NULL
        ),
        0
    );
    assert_string_equal(d->key, "scsi0");
    assert_string_equal(d->interface, "scsi");
    assert_int_equal(d->index, 0);
    assert_string_equal(d->file, "local:100/vm-100-disk-0.qcow2");
    assert_string_equal(d->media, "disk");
    assert_false(d->cdrom);
    assert_false(d->is_alloc);
    assert_null(d->format);
    assert_int_equal(d->size, 32ull << 30);
    assert_true(qemu_drive_get_bool(d, "iothread", false));
    assert_string_equal(qemu_drive_get(d, "discard"), "on");
    _cleanup_free_ char *s = NULL;
    assert_int_equal(qemu_drive_print(d, &s), 0);
    assert_string_equal(s, "local:100/vm-100-disk-0.qcow2,iothread=1,size=32G,discard=on");
}

static void test_drive_cdrom_alloc(void **state) {
    (void) state;
    QemuDrive *d = NULL;
    assert_int_equal(qemu_drive_parse("ide2", "none,media=cdrom", &d, NULL), 0);
    assert_true(d->cdrom);
    assert_string_equal(d->file, "none");
    assert_string_equal(d->media, "cdrom");
    d = qemu_drive_free(d);
    assert_int_equal(
        qemu_drive_parse("ide2", "local:iso/debian.iso,media=cdrom,size=600M", &d, NULL), 0
    );
    assert_true(d->cdrom);
    assert_int_equal(d->size, 600ull << 20);
    d = qemu_drive_free(d);
    assert_int_equal(qemu_drive_parse("virtio1", "local:4,format=raw", &d, NULL), 0);
    assert_true(d->is_alloc);
    assert_string_equal(d->alloc_storage, "local");
    assert_true(d->alloc_size_gib == 4.0);
    assert_string_equal(d->format, "raw");
    d = qemu_drive_free(d);
    assert_int_equal(qemu_drive_parse("sata0", "local-lvm:0.5", &d, NULL), 0);
    assert_true(d->is_alloc);
    assert_true(d->alloc_size_gib == 0.5);
    d = qemu_drive_free(d);
    assert_int_equal(qemu_drive_parse("scsi1", "file=/dev/sdb,backup=0", &d, NULL), 0);
    assert_string_equal(d->file, "/dev/sdb");
    assert_false(qemu_drive_get_bool(d, "backup", true));
    d = qemu_drive_free(d);
    assert_int_equal(
        qemu_drive_parse("efidisk0", "local:100/vm-100-disk-1.raw,efitype=4m,size=528K", &d, NULL),
        0
    );
    assert_int_equal(d->size, 528u * 1024);
    d = qemu_drive_free(d);
    assert_int_equal(qemu_drive_parse("unused3", "local:100/vm-100-disk-2.raw", &d, NULL), 0);
    assert_string_equal(d->interface, "unused");
    assert_int_equal(d->index, 3);
    d = qemu_drive_free(d);
}

static void expect_drive_error(const char *key, const char *value, const char *msg) {
    QemuDrive *d = NULL;
    char *err = NULL;
    assert_int_equal(qemu_drive_parse(key, value, &d, &err), -EINVAL);
    assert_null(d);
    assert_non_null(err);
    if (!strstr(err, msg))
        fail_msg("%s=%s: '%s' does not contain '%s'", key, value, err, msg);
    free(err);
}

static void test_drive_errors(void **state) {
    (void) state;
    expect_drive_error(
        "scsi0", "local:1/a.raw,cache=fast",
        "format error\nscsi0.cache: value 'fast' does not have a value in the enumeration 'none, "
        "writethrough, writeback, unsafe, directsync'"
    );
    expect_drive_error(
        "scsi0", "local:1/a.raw,foo=1", "scsi0.foo: property is not defined in schema"
    );
    expect_drive_error(
        "ide0", "local:1/a.raw,iothread=1", "ide0.iothread: property is not defined"
    );
    expect_drive_error("virtio0", "local:1/a.raw,ssd=1", "virtio0.ssd: property is not defined");
    expect_drive_error(
        "scsi0", "iothread=1", "scsi0.file: property is missing and it is not optional"
    );
    expect_drive_error(
        "scsi0", "relative/path",
        "scsi0.file: invalid format - unable to parse volume ID 'relative/path'"
    );
    expect_drive_error(
        "scsi0", "local:1/a.raw,size=12X",
        "scsi0.size: invalid format - value '12X' is not a valid disk size"
    );
    expect_drive_error(
        "scsi0", "local:1/a.raw,backup=maybe",
        "scsi0.backup: type check ('boolean') failed - got 'maybe'"
    );
    expect_drive_error(
        "scsi0", "local:1/a.raw,serial=a b",
        "scsi0.serial: invalid format - invalid urlencoded string"
    );
    expect_drive_error("scsi0", "local:1/a.raw,size=1G,size=2G", "duplicate key");
    expect_drive_error("virtio0", "local:iso/a.iso,media=cdrom", "virtio drives cannot be CD-ROMs");
    expect_drive_error("scsi31", "local:1/a.raw", "invalid drive key 'scsi31'");
    expect_drive_error(
        "scsi0", "local:1/a.raw,wwn=0x12", "scsi0.wwn: value does not match the regex pattern"
    );
}

static void test_net(void **state) {
    (void) state;
    _cleanup_(qemu_net_freep) QemuNet *n = NULL;
    assert_int_equal(
        qemu_net_parse(
            "net0",
            "virtio=bc:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=10,mtu=1400,queues=4,rate=12.5",
            &n, NULL
        ),
        0
    );
    assert_string_equal(n->key, "net0");
    assert_int_equal(n->index, 0);
    assert_string_equal(n->model, "virtio");
    assert_string_equal(n->macaddr, "BC:24:11:00:00:01");
    assert_string_equal(n->bridge, "vmbr0");
    assert_true(n->firewall);
    assert_false(n->link_down);
    assert_int_equal(n->tag, 10);
    assert_int_equal(n->mtu, 1400);
    assert_int_equal(n->queues, 4);
    assert_true(n->rate == 12.5);
    _cleanup_free_ char *s = NULL;
    assert_int_equal(qemu_net_print(n, &s), 0);
    assert_string_equal(
        s, "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,mtu=1400,queues=4,rate=12.5,tag=10"
    );

    QemuNet *m = NULL;
    assert_int_equal(qemu_net_parse("net31", "model=e1000,link_down=1,bridge=vmbr1", &m, NULL), 0);
    assert_string_equal(m->model, "e1000");
    assert_null(m->macaddr);
    assert_true(m->link_down);
    assert_int_equal(qemu_net_ensure_mac(m), 0);
    assert_true(qemu_mac_is_valid(m->macaddr));
    assert_true(strncmp(m->macaddr, "BC:24:11:", 9) == 0);
    _cleanup_free_ char *t = NULL;
    assert_int_equal(qemu_net_print(m, &t), 0);
    assert_true(strncmp(t, "e1000=BC:24:11:", 15) == 0);
    assert_string_equal(t + 23, ",bridge=vmbr1,link_down=1");
    m = qemu_net_free(m);
    assert_int_equal(qemu_net_parse("net1", "rtl8139", &m, NULL), 0);
    assert_string_equal(m->model, "rtl8139");
    m = qemu_net_free(m);
    assert_int_equal(
        qemu_net_parse("net2", "vmxnet3=BC:24:11:AA:BB:CC,macaddr=BC:24:11:AA:BB:CC", &m, NULL),
        -EINVAL
    );
}

static void expect_net_error(const char *value, const char *msg) {
    QemuNet *n = NULL;
    char *err = NULL;
    assert_int_equal(qemu_net_parse("net0", value, &n, &err), -EINVAL);
    assert_null(n);
    assert_non_null(err);
    if (!strstr(err, msg))
        fail_msg("%s: '%s' does not contain '%s'", value, err, msg);
    free(err);
}

static void test_net_errors(void **state) {
    (void) state;
    expect_net_error(
        "virtio=BC:24:11:00:00:01,tag=4095",
        "format error\nnet0.tag: value must have a maximum value of 4094"
    );
    expect_net_error(
        "virtio=BC:24:11:00:00:01,tag=x", "net0.tag: type check ('integer') failed - got 'x'"
    );
    expect_net_error("foo=BC:24:11:00:00:01", "net0.foo: property is not defined in schema");
    expect_net_error(
        "model=foo", "net0.model: value 'foo' does not have a value in the enumeration"
    );
    expect_net_error("bridge=vmbr0", "net0.model: property is missing and it is not optional");
    expect_net_error(
        "virtio=01:24:11:00:00:01",
        "net0.macaddr: invalid format - value does not look like a valid unicast MAC address"
    );
    expect_net_error("virtio=BC:24:11:00:00", "valid unicast MAC address");
    expect_net_error("virtio=BC:24:11:00:00:01,bridge=vmbr0;x", "net0.bridge: invalid format");
    expect_net_error(
        "virtio=BC:24:11:00:00:01,queues=65", "net0.queues: value must have a maximum value of 64"
    );
    expect_net_error("virtio=BC:24:11:00:00:01,e1000=BC:24:11:00:00:02", "duplicate key");
    expect_net_error("virtio=BC:24:11:00:00:01,trunks=1;a", "net0.trunks: value does not match");
}

static void test_mac(void **state) {
    (void) state;
    char a[18], b[18];
    qemu_generate_mac(a);
    qemu_generate_mac(b);
    assert_int_equal(strlen(a), 17);
    assert_true(strncmp(a, "BC:24:11:", 9) == 0);
    assert_true(qemu_mac_is_valid(a));
    for (int i = 9; i < 17; i++)
        assert_true(
            i % 3 == 2 ? a[i] == ':' : (a[i] >= '0' && a[i] <= '9') || (a[i] >= 'A' && a[i] <= 'F')
        );
    assert_string_not_equal(a, b); /* 2^-24 chance of a false failure */
    assert_true(qemu_mac_is_valid("02:00:00:00:00:00"));
    assert_false(qemu_mac_is_valid("03:00:00:00:00:00")); /* multicast */
    assert_false(qemu_mac_is_valid("BC-24-11-00-00-01"));
    assert_false(qemu_mac_is_valid("BC:24:11:00:00:0G"));
}

static void test_schema(void **state) {
    (void) state;
    const ApiSchema *p;
    size_t n = 0;
    for (p = qemu_config_properties; p->name; p++)
        n++;
    assert_true(n > 400);
    p = qemu_config_property("ostype");
    assert_non_null(p);
    assert_string_equal(p->enum_values[0], "other");
    p = qemu_config_property("cores");
    assert_int_equal(p->type, API_TYPE_INTEGER);
    assert_true(p->has_minimum && p->minimum == 1);
    p = qemu_config_property("unused255");
    assert_non_null(p);
    assert_non_null(p->format_fields);
    assert_null(qemu_config_property("unused256"));
    assert_non_null(qemu_config_property("scsi30"));
    assert_null(qemu_config_property("scsi31"));
    assert_non_null(qemu_config_property("net31"));
    assert_null(qemu_config_property("vmid"));
    assert_null(qemu_config_property("archive"));
    p = qemu_config_property("net7");
    assert_int_equal(p->n_format_fields, qemu_format_fields("net", &n) ? n : 0);
    /* the API validator applies the tables */
    json_t *params = json_pack(
        "{s:s, s:s, s:i}", "net0", "virtio=BC:24:11:00:00:01,tag=5000", "scsi0",
        "local:1/a.raw,cache=x", "cores", 0
    );
    json_t *errors = NULL;
    static const ApiSchema obj = {.type = API_TYPE_OBJECT, .properties = qemu_config_properties};
    assert_int_equal(api_schema_validate_params(&obj, params, &errors), -EINVAL);
    assert_non_null(json_object_get(errors, "net0"));
    assert_non_null(json_object_get(errors, "scsi0"));
    assert_non_null(json_object_get(errors, "cores"));
    json_decref(errors);
    json_decref(params);
    params = json_pack(
        "{s:s, s:s, s:s, s:i}", "net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0", "scsi0",
        "local:4,iothread=1", "ostype", "l26", "cores", 2
    );
    errors = NULL;
    assert_int_equal(api_schema_validate_params(&obj, params, &errors), 0);
    json_decref(params);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_drive_volume),
        cmocka_unit_test(test_drive_cdrom_alloc),
        cmocka_unit_test(test_drive_errors),
        cmocka_unit_test(test_net),
        cmocka_unit_test(test_net_errors),
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
