/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the property string parser, printer, editing helpers and typed layer. */
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

#include "pve/property-string.h"
#include "pve/strbuf.h"

static char *reprint(const char *in, const char *default_key) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    _cleanup_free_ char *msg = NULL;
    int r = property_string_parse(in, default_key, &ps, &msg);
    if (r < 0)
        fail_msg("parse of '%s' failed: %s (%d)", in, msg, r);
    char *out;
    assert_int_equal(property_string_print(ps, &out), 0);
    return out;
}

static void check_roundtrip(const char *in, const char *default_key) {
    _cleanup_free_ char *out = reprint(in, default_key);
    assert_string_equal(out, in);
}

static void check_canonical(const char *in, const char *default_key, const char *expected) {
    _cleanup_free_ char *out = reprint(in, default_key);
    assert_string_equal(out, expected);
    _cleanup_free_ char *again = reprint(out, default_key);
    assert_string_equal(again, expected);
}

static void test_roundtrip(void **state) {
    (void) state;
    /* QEMU disks (default key "file"). */
    check_roundtrip("local-lvm:vm-100-disk-0,iothread=1,size=32G", "file");
    check_roundtrip(
        "local-lvm:vm-100-disk-0,cache=writeback,discard=on,iothread=1,size=32G,ssd=1", "file"
    );
    check_roundtrip("none,media=cdrom", "file");
    check_roundtrip("local:iso/debian-12.5.0-amd64-netinst.iso,media=cdrom,size=629M", "file");
    check_roundtrip("local-lvm:vm-100-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M", "file");
    /* QEMU NIC: the model key holds the MAC (default key "model" is not used here). */
    check_roundtrip("virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1", "model");
    check_roundtrip("e1000=BC:24:11:5E:7A:01,bridge=vmbr1,tag=20,queues=4,mtu=1500", "model");
    /* LXC NIC (no default key), rootfs and mount points (default key "volume"). */
    check_roundtrip(
        "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:AA:BB:CC,ip=dhcp,ip6=auto,type=veth",
        NULL
    );
    check_roundtrip("name=eth1,bridge=vmbr0,gw=192.168.1.1,ip=192.168.1.50/24,tag=10", NULL);
    check_roundtrip("local-lvm:subvol-100-disk-0,size=8G", "volume");
    check_roundtrip("local-lvm:vm-100-disk-1,mp=/mnt/data,backup=1,size=32G", "volume");
    /* startup: order is the default key but usually written with its key. */
    check_roundtrip("order=1,up=30,down=60", "order");
    check_roundtrip("2,up=10", "order");
    /* smbios1 (base64 values contain '='), meta, features, boot, prune-backups, tfa. */
    check_roundtrip(
        "uuid=6f1b4a4e-0c55-4a7d-9d4e-2b1f6c3a9e10,manufacturer=UHJveG1veA==,base64=1", NULL
    );
    check_roundtrip("creation-qemu=9.0.2,ctime=1722945913", NULL);
    check_roundtrip("nesting=1,keyctl=1,mount=nfs;cifs", NULL);
    check_roundtrip("order=scsi0;ide2;net0", "legacy");
    check_roundtrip("keep-daily=7,keep-last=3,keep-monthly=6,keep-weekly=4", NULL);
    check_roundtrip("type=oath,digits=6,step=30", NULL);
    check_roundtrip("enable-new=1,remove-vanished=acl;properties;entry,scope=both", NULL);
    /* Quoting, only where needed. */
    check_roundtrip("comment=\"a, b and c\",x=1", NULL);
    check_roundtrip("v=\"say \\\"hi\\\", \\\\o/\"", NULL);
    check_roundtrip("\"local:iso/a,b.iso\",media=cdrom", "file");
    check_roundtrip("\"path=with=equals\",size=1G", "file");
    check_roundtrip("v=\"\\\"starts with a quote\"", NULL);
    check_roundtrip("v=has \"inner\" quotes and \\backslashes", NULL);
    check_roundtrip("mount=nfs; cifs", NULL);
    check_roundtrip("", NULL);
}

static void test_model(void **state) {
    (void) state;
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    assert_int_equal(
        property_string_parse(
            "size=32G,local-lvm:vm-100-disk-0,comment=\"a,b\"", "file", &ps, NULL
        ),
        0
    );
    assert_int_equal(ps->n_entries, 3);
    assert_string_equal(ps->entries[0].key, "size");
    assert_false(ps->entries[0].bare);
    assert_string_equal(ps->entries[1].key, "file");
    assert_true(ps->entries[1].bare);
    assert_string_equal(property_string_get(ps, "file"), "local-lvm:vm-100-disk-0");
    assert_string_equal(property_string_get(ps, "comment"), "a,b");
    assert_null(property_string_get(ps, "media"));

    /* A bare value anywhere is kept where it was. */
    _cleanup_free_ char *out = NULL;
    assert_int_equal(property_string_print(ps, &out), 0);
    assert_string_equal(out, "size=32G,local-lvm:vm-100-disk-0,comment=\"a,b\"");
}

static void test_non_canonical(void **state) {
    (void) state;
    /* Empty and blank-only elements are skipped. */
    check_canonical("a=1,,b=2,", NULL, "a=1,b=2");
    check_canonical(",,a=1", NULL, "a=1");
    check_canonical("a=1,  ,b=2, \t", NULL, "a=1,b=2");
    check_canonical(",", NULL, "");
    /* Needless quotes are dropped. */
    check_canonical("a=\"plain\",b=\"x\"", NULL, "a=plain,b=x");
    check_canonical("\"local:8\",size=4G", "file", "local:8,size=4G");
    /* Bare default key values that need quotes get them. */
    check_canonical("file=local:a=b", "file", "file=local:a=b");
}

static void
check_error(const char *in, const char *default_key, int expected_r, const char *expected) {
    PropertyString *ps = NULL;
    _cleanup_free_ char *msg = NULL;
    int r = property_string_parse(in, default_key, &ps, &msg);
    if (r != expected_r)
        fail_msg("'%s': expected %d, got %d (%s)", in, expected_r, r, msg ? msg : "(null)");
    assert_null(ps);
    assert_non_null(msg);
    assert_string_equal(msg, expected);
}

static void test_malformed(void **state) {
    (void) state;
    check_error(
        "local-lvm:vm-100-disk-0,size=4G,size=8G", "file", -EINVAL,
        "duplicate key in comma-separated list property: size"
    );
    check_error(
        "local:8,other:9", "file", -EINVAL, "duplicate key in comma-separated list property: file"
    );
    check_error(
        "file=local:8,size=1G,local:9", "file", -EINVAL,
        "duplicate key in comma-separated list property: file"
    );
    check_error("=4G", "file", -EINVAL, "missing key in comma-separated list property");
    check_error("size=4G,=x", "file", -EINVAL, "missing key in comma-separated list property");
    check_error(
        "local:8,size=4G", NULL, -EINVAL,
        "value without key, but schema does not define a default key"
    );
    check_error("size=", "file", -EINVAL, "missing value for key 'size'");
    check_error("size=,media=cdrom", "file", -EINVAL, "missing value for key 'size'");
    check_error("a=\"\"", NULL, -EINVAL, "missing value for key 'a'");
    check_error(
        "a=\"unterminated,b=1", NULL, -EINVAL,
        "unterminated quoted value for key 'a' (starting at position 3)"
    );
    check_error(
        "a=\"x\"y,b=1", NULL, -EINVAL,
        "unexpected character after quoted value for key 'a' at position 6"
    );
    check_error(
        "a=\"x\\q\"", NULL, -EINVAL, "invalid escape sequence in value for key 'a' at position 5"
    );
    check_error(
        "a=\"x\\", NULL, -EINVAL, "invalid escape sequence in value for key 'a' at position 5"
    );
    check_error("b r=1", NULL, -EINVAL, "invalid key 'b r' in comma-separated list property");
    check_error("a=1, b=2", NULL, -EINVAL, "invalid key ' b' in comma-separated list property");
    check_error(
        "\"a\"=1", NULL, -EINVAL, "value without key, but schema does not define a default key"
    );
    check_error(
        "\"a\"=1", "file", -EINVAL,
        "unexpected character after quoted value for key 'file' at position 4"
    );
    check_error("-bad=1", NULL, -EINVAL, "invalid key '-bad' in comma-separated list property");
    check_error("a=x\x01y", NULL, -EINVAL, "invalid character in value for key 'a' at position 4");
    check_error(
        "a=\"x\ty\"", NULL, -EINVAL, "invalid character in value for key 'a' at position 5"
    );
    check_error(
        "k\xc3\xa9y=1", NULL, -EINVAL, "invalid key 'k\\xc3\\xa9y' in comma-separated list property"
    );
}

static void test_caps(void **state) {
    (void) state;
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    for (unsigned i = 0; i <= PROPERTY_STRING_MAX_ENTRIES; i++)
        strbuf_printf(&b, "%sk%u=v", i ? "," : "", i);
    check_error(b.data, NULL, -E2BIG, "too many elements in property string (maximum 256)");

    strbuf_truncate(&b, 0);
    strbuf_append(&b, "a=");
    for (unsigned i = 0; i < PROPERTY_STRING_MAX_LEN; i++)
        strbuf_append_char(&b, 'x');
    check_error(b.data, NULL, -E2BIG, "property string too long (maximum 65535 bytes)");

    /* A key longer than the cap is invalid. */
    strbuf_truncate(&b, 0);
    for (unsigned i = 0; i <= PROPERTY_STRING_MAX_KEY; i++)
        strbuf_append_char(&b, 'k');
    strbuf_append(&b, "=1");
    PropertyString *ps = NULL;
    assert_int_equal(property_string_parse(b.data, NULL, &ps, NULL), -EINVAL);
    assert_null(ps);
}

static void test_editing(void **state) {
    (void) state;
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    assert_int_equal(property_string_parse("bridge=vmbr0,firewall=1", "file", &ps, NULL), 0);

    assert_int_equal(property_string_set(ps, "firewall", "0"), 0);
    assert_int_equal(property_string_set(ps, "tag", "20"), 0);
    assert_int_equal(property_string_set(ps, "file", "local:8"), 0); /* goes first, bare */
    assert_int_equal(property_string_set(ps, "comment", "a,b"), 0);
    assert_int_equal(property_string_set(ps, "size", ""), -EINVAL);
    assert_int_equal(property_string_set(ps, "size", "a\nb"), -EINVAL);
    assert_int_equal(property_string_set(ps, "bad key", "x"), -EINVAL);
    assert_int_equal(property_string_unset(ps, "bridge"), 1);
    assert_int_equal(property_string_unset(ps, "bridge"), 0);

    _cleanup_free_ char *out = NULL;
    assert_int_equal(property_string_print(ps, &out), 0);
    assert_string_equal(out, "local:8,firewall=0,tag=20,comment=\"a,b\"");

    /* Without a default key, every key is written with "key=". */
    _cleanup_(property_string_freep) PropertyString *n = property_string_new(NULL);
    assert_non_null(n);
    assert_int_equal(property_string_set(n, "order", "1"), 0);
    assert_int_equal(property_string_set(n, "up", "30"), 0);
    _cleanup_free_ char *o2 = NULL;
    assert_int_equal(property_string_print(n, &o2), 0);
    assert_string_equal(o2, "order=1,up=30");

    /* A bare value that needs quoting is quoted; blank-only bare values too. */
    _cleanup_(property_string_freep) PropertyString *q = property_string_new("file");
    assert_non_null(q);
    assert_int_equal(property_string_set(q, "file", "  "), 0);
    _cleanup_free_ char *o3 = NULL;
    assert_int_equal(property_string_print(q, &o3), 0);
    assert_string_equal(o3, "\"  \"");
    _cleanup_free_ char *o4 = reprint(o3, "file");
    assert_string_equal(o4, o3);

    assert_null(property_string_new("bad key"));
}

/* A cut-down LXC netN format. */
static const char *const nic_types[] = {"veth", NULL};
static const PropertyStringField lxc_net_fields[] = {
    {.key = "name", .type = PROPERTY_STRING_TYPE_STRING, .required = true, .max_length = 15},
    {.key = "bridge", .type = PROPERTY_STRING_TYPE_STRING},
    {.key = "firewall", .type = PROPERTY_STRING_TYPE_BOOLEAN},
    {.key = "tag",
     .type = PROPERTY_STRING_TYPE_INTEGER,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 4094},
    {.key = "rate", .type = PROPERTY_STRING_TYPE_NUMBER, .has_min = true, .min = 0},
    {.key = "type", .type = PROPERTY_STRING_TYPE_ENUM, .enum_values = nic_types},
};

/* A cut-down disk format with a default key and an alias. */
static const PropertyStringField disk_fields[] = {
    {.key = "file", .type = PROPERTY_STRING_TYPE_STRING, .default_key = true, .required = true},
    {.key = "volume", .alias = "file"},
    {.key = "size", .type = PROPERTY_STRING_TYPE_STRING},
};

static void check_validate(
    const char *in,
    const PropertyStringField *fields,
    size_t n,
    const char *expected /* NULL = valid */
) {
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    assert_int_equal(
        property_string_parse(in, property_string_fields_default_key(fields, n), &ps, NULL), 0
    );
    _cleanup_free_ char *msg = NULL;
    int r = property_string_validate(ps, fields, n, &msg);
    if (!expected) {
        if (r < 0)
            fail_msg("'%s' should validate: %s", in, msg);
        return;
    }
    assert_int_equal(r, -EINVAL);
    assert_string_equal(msg, expected);
}

#define NET(in, exp)  check_validate(in, lxc_net_fields, ELEMENTSOF(lxc_net_fields), exp)
#define DISK(in, exp) check_validate(in, disk_fields, ELEMENTSOF(disk_fields), exp)

static void test_validate(void **state) {
    (void) state;
    NET("name=eth0,bridge=vmbr0,firewall=1,tag=10,rate=12.5,type=veth", NULL);
    NET("name=eth0,firewall=off,rate=1e2", NULL);
    NET("name=eth0,tag=5000", "tag: value must have a maximum value of 4094");
    NET("name=eth0,tag=0", "tag: value must have a minimum value of 1");
    NET("name=eth0,tag=ten", "tag: type check ('integer') failed - got 'ten'");
    NET("name=eth0,rate=fast", "rate: type check ('number') failed - got 'fast'");
    NET("name=eth0,rate=-1", "rate: value must have a minimum value of 0");
    NET("name=eth0,firewall=maybe", "firewall: type check ('boolean') failed - got 'maybe'");
    NET("name=eth0,type=macvlan",
        "type: value 'macvlan' does not have a value in the enumeration 'veth'");
    NET("name=a-very-long-interface-name", "name: value may only be 15 characters long");
    NET("bridge=vmbr0", "name: property is missing and it is not optional");
    NET("name=eth0,speed=10",
        "speed: property is not defined in schema and the schema does not allow additional "
        "properties");

    assert_string_equal(
        property_string_fields_default_key(disk_fields, ELEMENTSOF(disk_fields)), "file"
    );
    assert_null(property_string_fields_default_key(lxc_net_fields, ELEMENTSOF(lxc_net_fields)));
    DISK("local:8,size=8G", NULL);
    DISK("volume=local:8,size=8G", NULL);
    DISK("local:8,volume=local:9", "duplicate key in comma-separated list property: file");
    DISK("size=8G", "file: property is missing and it is not optional");

    /* Typed getters. */
    _cleanup_(property_string_freep) PropertyString *ps = NULL;
    assert_int_equal(property_string_parse("firewall=yes,tag=-3,name=x", NULL, &ps, NULL), 0);
    bool b = false;
    long long i = 0;
    assert_int_equal(property_string_get_bool(ps, "firewall", &b), 0);
    assert_true(b);
    assert_int_equal(property_string_get_bool(ps, "name", &b), -EINVAL);
    assert_int_equal(property_string_get_bool(ps, "nope", &b), -ENOENT);
    assert_int_equal(property_string_get_int(ps, "tag", &i), 0);
    assert_int_equal(i, -3);
    assert_int_equal(property_string_get_int(ps, "name", &i), -EINVAL);
    assert_int_equal(property_string_get_int(ps, "nope", &i), -ENOENT);
    assert_int_equal(property_string_parse_bool("TRUE"), 1);
    assert_int_equal(property_string_parse_bool("Off"), 0);
    assert_int_equal(property_string_parse_bool("2"), -EINVAL);
    assert_int_equal(property_string_parse_bool(""), -EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_model),
        cmocka_unit_test(test_non_canonical), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_caps),          cmocka_unit_test(test_editing),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
