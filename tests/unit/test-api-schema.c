/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for api-schema: every validation rule with upstream's exact message, string to
 * type coercion, array wrapping and list joining, formats, aliases/requires, defaults through
 * the typed getters, and the OpenAPI/upstream-JSON exports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pve/api-schema.h"
#include "pve/json-util.h"

/* The parameters of upstream's GET /nodes/{node}/tasks (api-schema.json), as a table. */
static const ApiSchema tasks_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_BOOL("errors", .optional = true, API_DEFAULT_INT(0), .typetext = "<boolean>"),
            API_PARAM_INTEGER("limit", .optional = true, API_DEFAULT_INT(50), API_MIN(0)),
            API_PARAM_STRING("node", .format = "pve-node"),
            API_PARAM_INTEGER("since", .optional = true),
            API_PARAM_STRING(
                "source",
                .optional = true,
                API_DEFAULT_STR("archive"),
                .enum_values = API_ENUM("archive", "active", "all")
            ),
            API_PARAM_INTEGER("start", .optional = true, API_DEFAULT_INT(0), API_MIN(0)),
            API_PARAM_STRING(
                "statusfilter", .optional = true, .format = "pve-task-status-type-list"
            ),
            API_PARAM_STRING("typefilter", .optional = true),
            API_PARAM_INTEGER("until", .optional = true),
            API_PARAM_STRING("userfilter", .optional = true),
            API_PARAM_INTEGER(
                "vmid", .optional = true, API_RANGE(100, 999999999), .format = "pve-vmid"
            )
        )
);

static const PropertyStringField startup_fields[] = {
    {.key = "order", .type = PROPERTY_STRING_TYPE_INTEGER, .default_key = true},
    {.key = "up", .type = PROPERTY_STRING_TYPE_INTEGER, .has_min = true, .min = 0},
};

static const ApiSchema misc_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("name", .optional = true, .min_length = 3, .max_length = 5),
            API_PARAM_STRING("pat", .optional = true, .pattern = "[a-z]\\d+(?:-\\w+)?"),
            API_PARAM_STRING("cls", .optional = true, .pattern = "[A-Za-z0-9\\-_\\.]+"),
            API_PARAM_STRING(
                "tokenid", .optional = true, .pattern = "(?^:[A-Za-z][A-Za-z0-9\\.\\-_]+)"
            ),
            API_PARAM_INTEGER("cores", .optional = true, API_RANGE(100, 999999999)),
            API_PARAM_NUMBER("ratio", .optional = true, API_RANGE(0.5, 2)),
            API_PARAM_ARRAY("ids", API_ITEMS(API_TYPE_INTEGER, API_MIN(1)), .optional = true),
            API_PARAM_STRING("vms", .optional = true, .format = "pve-vmid-list"),
            API_PARAM_STRING("startup", .optional = true, API_FORMAT_FIELDS(startup_fields)),
            API_PARAM_STRING("delete", .optional = true, .requires = "digest"),
            API_PARAM_STRING("digest", .optional = true),
            API_PARAM_STRING("full", .optional = true, .requires = "!linked"),
            API_PARAM_STRING("linked", .optional = true),
            API_PARAM_STRING("hostname", .optional = true),
            API_PARAM_STRING("name2", .alias = "hostname"),
            API_PARAM_OBJECT(
                "sub",
                .optional = true,
                .properties =
                    API_PROPERTIES(API_PARAM_INTEGER("x"), API_PARAM_BOOL("y", .optional = true))
            )
        )
);

static json_t *parse(const char *s) {
    json_t *j = NULL;
    assert_int_equal(json_util_parse(s, strlen(s), 0, &j, NULL), 0);
    return j;
}

/* validate `input` against s and return the errors object (NULL when valid) */
static json_t *validate(const ApiSchema *s, json_t *input) {
    json_t *errors = NULL;
    int r = api_schema_validate_params(s, input, &errors);
    if (r == 0)
        assert_null(errors);
    else
        assert_int_equal(r, -EINVAL);
    return errors;
}

static void assert_error(const ApiSchema *s, const char *input, const char *key, const char *msg) {
    _cleanup_json_ json_t *in = parse(input);
    _cleanup_json_ json_t *errors = validate(s, in);
    if (!errors)
        fail_msg("no error for %s", input);
    const char *got = NULL;
    if (json_util_get_string(errors, key, &got) < 0) {
        _cleanup_free_ char *dump = NULL;
        (void) json_util_dump(errors, 0, &dump);
        fail_msg("no error for key %s: %s", key, dump);
    }
    assert_string_equal(got, msg);
}

static void assert_valid(const ApiSchema *s, const char *input, const char *expect) {
    _cleanup_json_ json_t *in = parse(input);
    _cleanup_json_ json_t *errors = validate(s, in);
    if (errors) {
        _cleanup_free_ char *dump = NULL;
        (void) json_util_dump(errors, 0, &dump);
        fail_msg("unexpected errors for %s: %s", input, dump);
    }
    if (expect) {
        _cleanup_free_ char *got = NULL;
        assert_int_equal(json_util_dump(in, JSON_UTIL_DUMP_SORT_KEYS, &got), 0);
        assert_string_equal(got, expect);
    }
}

static void test_rules(void **state) {
    (void) state;
    assert_error(
        &tasks_params, "{\"node\":\"n1\",\"bogus\":1}", "bogus",
        "property is not defined in schema and the schema does not allow additional properties"
    );
    assert_error(&tasks_params, "{}", "node", "property is missing and it is not optional");
    assert_error(
        &tasks_params, "{\"node\":null}", "node", "property is missing and it is not optional"
    );
    assert_error(
        &tasks_params, "{\"node\":\"n1\",\"source\":\"x\"}", "source",
        "value 'x' does not have a value in the enumeration 'archive, active, all'"
    );
    assert_error(
        &tasks_params, "{\"node\":\"n1\",\"vmid\":\"99\"}", "vmid",
        "invalid format - value does not look like a valid VM ID\n"
    );
    assert_error(
        &misc_params, "{\"cores\":1000000000}", "cores",
        "value must have a maximum value of 999999999"
    );
    assert_error(
        &tasks_params, "{\"node\":\"n1\",\"vmid\":\"abc\"}", "vmid",
        "type check ('integer') failed - got 'abc'"
    );
    assert_error(
        &tasks_params, "{\"node\":\"n1\",\"limit\":\"1.5\"}", "limit",
        "type check ('integer') failed - got '1.5'"
    );
    assert_error(
        &tasks_params, "{\"node\":\"n1\",\"limit\":\"\"}", "limit",
        "type check ('integer') failed - got ''"
    );
    assert_error(
        &tasks_params, "{\"node\":\"n1\",\"limit\":2.5}", "limit",
        "type check ('integer') failed - got '2.5'"
    );
    assert_error(
        &tasks_params, "{\"node\":\"n1\",\"errors\":\"true\"}", "errors",
        "type check ('boolean') failed - got 'true'"
    );
    assert_error(
        &tasks_params, "{\"node\":\"n1\",\"errors\":2}", "errors",
        "type check ('boolean') failed - got '2'"
    );
    assert_error(
        &tasks_params, "{\"node\":\"n1\",\"limit\":-1}", "limit",
        "value must have a minimum value of 0"
    );
    assert_error(
        &tasks_params, "{\"node\":\"bad_node\"}", "node",
        "invalid format - value does not look like a valid node name\n"
    );
    assert_error(
        &tasks_params, "{\"node\":[\"a\",\"b\"]}", "node",
        "type check ('string') failed - got ARRAY"
    );
    assert_error(
        &misc_params, "{\"name\":\"ab\"}", "name", "value must be at least 3 characters long"
    );
    assert_error(
        &misc_params, "{\"name\":\"abcdef\"}", "name", "value may only be 5 characters long"
    );
    assert_error(
        &misc_params, "{\"pat\":\"a1-\"}", "pat", "value does not match the regex pattern"
    );
    assert_error(
        &misc_params, "{\"cls\":\"a b\"}", "cls", "value does not match the regex pattern"
    );
    assert_error(
        &misc_params, "{\"ratio\":\"x\"}", "ratio", "type check ('number') failed - got 'x'"
    );
    assert_error(
        &misc_params, "{\"ratio\":\"3\"}", "ratio", "value must have a maximum value of 2"
    );
    assert_error(
        &misc_params, "{\"ratio\":0.25}", "ratio", "value must have a minimum value of 0.5"
    );
    assert_error(
        &misc_params, "{\"delete\":\"x\"}", "digest",
        "missing property - 'delete' requires this property"
    );
    assert_error(
        &misc_params, "{\"full\":\"1\",\"linked\":\"1\"}", "full",
        "property conflicts with 'linked'"
    );
    assert_error(
        &misc_params, "{\"sub\":{\"y\":1}}", "sub.x", "property is missing and it is not optional"
    );
    assert_error(
        &misc_params, "{\"sub\":{\"x\":1,\"z\":1}}", "sub.z",
        "property is not defined in schema and the schema does not allow additional properties"
    );
    assert_error(&misc_params, "{\"sub\":\"x\"}", "sub", "type check ('object') failed - got 'x'");
    assert_error(&misc_params, "{\"ids\":[1,0]}", "ids.1", "value must have a minimum value of 1");
    assert_error(
        &misc_params, "{\"startup\":\"order=x\"}", "startup",
        "invalid format - order: type check ('integer') failed - got 'x'\n"
    );

    /* all errors are collected, not only the first */
    _cleanup_json_ json_t *in = parse("{\"vmid\":\"1\",\"source\":\"y\",\"zz\":1}");
    _cleanup_json_ json_t *errors = validate(&tasks_params, in);
    assert_non_null(errors);
    assert_int_equal(json_object_size(errors), 4);

    /* a non-object input is a root error */
    _cleanup_json_ json_t *arr = parse("[1]");
    _cleanup_json_ json_t *rerr = validate(&tasks_params, arr);
    assert_non_null(json_object_get(rerr, "_root"));
}

static void test_coercion(void **state) {
    (void) state;
    /* form strings become typed values; defaults are not filled in */
    assert_valid(
        &tasks_params,
        "{\"node\":\"n1\",\"vmid\":\"100\",\"errors\":\"1\",\"limit\":\"+5\",\"start\":0}",
        "{\"errors\":1,\"limit\":5,\"node\":\"n1\",\"start\":0,\"vmid\":100}"
    );
    assert_valid(
        &tasks_params, "{\"node\":\"n1\",\"errors\":true}", "{\"errors\":1,\"node\":\"n1\"}"
    );
    assert_valid(
        &tasks_params, "{\"node\":\"n1\",\"errors\":false}", "{\"errors\":0,\"node\":\"n1\"}"
    );
    assert_valid(&misc_params, "{\"ratio\":\"1.5\"}", "{\"ratio\":1.5}");
    assert_valid(&misc_params, "{\"ratio\":\"1e0\"}", "{\"ratio\":1.0}");
    assert_valid(&misc_params, "{\"name\":1234}", "{\"name\":\"1234\"}");
    /* array wrapping and list joining */
    assert_valid(&misc_params, "{\"ids\":\"7\"}", "{\"ids\":[7]}");
    assert_valid(&misc_params, "{\"ids\":[\"1\",2]}", "{\"ids\":[1,2]}");
    assert_valid(&misc_params, "{\"vms\":[\"100\",\"101\"]}", "{\"vms\":\"100,101\"}");
    assert_error(
        &misc_params, "{\"vms\":\"100;42\"}", "vms",
        "invalid format - value does not look like a valid VM ID\n"
    );
    /* alias moves to its target; requires satisfied; pattern translation */
    assert_valid(&misc_params, "{\"name2\":\"h\"}", "{\"hostname\":\"h\"}");
    assert_valid(&misc_params, "{\"delete\":\"a\",\"digest\":\"b\"}", NULL);
    assert_valid(&misc_params, "{\"pat\":\"a12-x_y\",\"cls\":\"a-b.c_d\"}", NULL);
    assert_valid(&misc_params, "{\"startup\":\"order=1,up=30\"}", NULL);
    assert_valid(
        &misc_params, "{\"sub\":{\"x\":\"3\",\"y\":\"0\"}}", "{\"sub\":{\"x\":3,\"y\":0}}"
    );
    /* unknown format names are accepted */
    assert_valid(&tasks_params, "{\"node\":\"n1\",\"statusfilter\":\"ok,error\"}", NULL);
}

static void test_defaults(void **state) {
    (void) state;
    _cleanup_json_ json_t *in = parse("{\"node\":\"n1\",\"start\":\"5\"}");
    assert_int_equal(api_schema_validate_params(&tasks_params, in, NULL), 0);
    long long v = -1;
    bool b = true;
    const char *s = NULL;
    assert_int_equal(api_schema_param_int(&tasks_params, in, "limit", &v), 0);
    assert_int_equal(v, 50);
    assert_int_equal(api_schema_param_int(&tasks_params, in, "start", &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(api_schema_param_bool(&tasks_params, in, "errors", &b), 0);
    assert_false(b);
    assert_int_equal(api_schema_param_string(&tasks_params, in, "source", &s), 0);
    assert_string_equal(s, "archive");
    assert_int_equal(api_schema_param_string(&tasks_params, in, "node", &s), 0);
    assert_string_equal(s, "n1");
    assert_int_equal(api_schema_param_int(&tasks_params, in, "since", &v), -ENOENT);
    assert_int_equal(api_schema_param_int(&tasks_params, in, "node", &v), -EINVAL);
}

static void check_format(const char *fmt, const char *value, const char *msg) {
    _cleanup_free_ char *err = NULL;
    int r = api_format_check(fmt, value, &err);
    if (!msg) {
        if (r != 0)
            fail_msg("%s '%s' rejected: %s", fmt, value, err);
        return;
    }
    assert_int_equal(r, -EINVAL);
    assert_string_equal(err, msg);
}

static void test_formats(void **state) {
    (void) state;
    check_format("pve-node", "pve1", NULL);
    check_format("pve-node", "a-b-9", NULL);
    check_format("pve-node", "-a", "value does not look like a valid node name\n");
    check_format("pve-node", "a.b", "value does not look like a valid node name\n");
    check_format("pve-vmid", "100", NULL);
    check_format("pve-vmid", "999999999", NULL);
    check_format("pve-vmid", "99", "value does not look like a valid VM ID\n");
    check_format("pve-vmid", "0100", "value does not look like a valid VM ID\n");
    check_format("pve-storage-id", "local-lvm", NULL);
    check_format("pve-storage-id", "Local", "storage ID 'Local' contains illegal characters\n");
    check_format("pve-configid", "net0", NULL);
    check_format("pve-configid", "0net", "invalid configuration ID '0net'\n");
    check_format("pve-configid-list", "net0,scsi1;ide2 sata3", NULL);
    check_format("pve-configid-list", "net0,X", "invalid configuration ID 'X'\n");
    check_format("pve-userid", "root@pam", NULL);
    check_format("pve-userid", "a b@pve", "value 'a b@pve' does not look like a valid user name\n");
    check_format("pve-userid", "root", "value 'root' does not look like a valid user name\n");
    check_format("pve-tokenid", "root@pam!mytoken", NULL);
    check_format("pve-realm", "pam", NULL);
    check_format("pve-realm", "1x", "value does not look like a valid realm\n");
    check_format("pve-groupid", "admins", NULL);
    check_format("pve-groupid", "a/b", "group name 'a/b' contains illegal characters\n");
    check_format("pve-roleid", "PVEAdmin", NULL);
    check_format("pve-poolid", "pool1/sub", NULL);
    check_format("pve-poolid", "a b", "pool name 'a b' contains illegal characters\n");
    check_format("email", "root@example.com", NULL);
    check_format("email", "root@", "value does not look like a valid email address\n");
    check_format("ipv4", "192.168.1.1", NULL);
    check_format("ipv4", "192.168.1.256", "value does not look like a valid IPv4 address\n");
    check_format("ipv6", "fe80::1", NULL);
    check_format("ipv6", "1.2.3.4", "value does not look like a valid IPv6 address\n");
    check_format("ip", "::1", NULL);
    check_format("ip", "host", "value does not look like a valid IP address\n");
    check_format("dns-name", "pve.example.com", NULL);
    check_format("dns-name", "a..b", "value does not look like a valid DNS name\n");
    check_format("mac-addr", "BC:24:11:00:00:01", NULL);
    check_format(
        "mac-addr", "01:00:00:00:00:00", "value does not look like a valid unicast MAC address\n"
    );
    check_format("string-alist", "a,b c", NULL);
    check_format("pve-no-such-format", "anything", NULL);
    assert_true(api_format_is_known("pve-vmid-list"));
    assert_false(api_format_is_known("pve-no-such-format"));
}

static void test_export(void **state) {
    (void) state;
    _cleanup_json_ json_t *oa = api_schema_to_openapi(&tasks_params);
    assert_non_null(oa);
    const char *s = NULL;
    assert_int_equal(json_util_get_string(oa, "type", &s), 0);
    assert_string_equal(s, "object");
    json_t *req = json_object_get(oa, "required");
    assert_int_equal(json_array_size(req), 1);
    assert_string_equal(json_string_value(json_array_get(req, 0)), "node");
    json_t *vmid = json_object_get(json_object_get(oa, "properties"), "vmid");
    long long v;
    assert_int_equal(json_util_get_int(vmid, "minimum", &v), 0);
    assert_int_equal(v, 100);
    assert_int_equal(json_util_get_string(vmid, "format", &s), 0);
    assert_string_equal(s, "pve-vmid");
    json_t *src = json_object_get(json_object_get(oa, "properties"), "source");
    assert_int_equal(json_array_size(json_object_get(src, "enum")), 3);
    assert_int_equal(json_util_get_string(src, "default", &s), 0);
    assert_string_equal(s, "archive");
    assert_true(json_is_false(json_object_get(oa, "additionalProperties")));

    /* upstream shape: compare the "limit" and "vmid" entries with api-schema.json's */
    _cleanup_json_ json_t *up = api_schema_to_json(&tasks_params);
    _cleanup_free_ char *limit = NULL;
    assert_int_equal(
        json_util_dump(
            json_object_get(json_object_get(up, "properties"), "limit"), JSON_UTIL_DUMP_SORT_KEYS,
            &limit
        ),
        0
    );
    assert_string_equal(
        limit, "{\"default\":50,\"minimum\":0,\"optional\":1,\"type\":\"integer\"}"
    );
}

/* OpenAPI needs defaults and enums of the declared type and ECMA-262 patterns */
static const ApiSchema openapi_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_BOOL("b1", .optional = true, API_DEFAULT_INT(1)),
            API_PARAM_BOOL("b0", .optional = true, API_DEFAULT_STR("0")),
            API_PARAM_INTEGER("doc", .optional = true, API_DEFAULT_STR("same as user")),
            API_PARAM_INTEGER("istr", .optional = true, API_DEFAULT_STR("42")),
            API_PARAM_NUMBER("nstr", .optional = true, API_DEFAULT_STR("0.5")),
            API_PARAM_INTEGER("ienum", .optional = true, .enum_values = API_ENUM("1", "2")),
            API_PARAM_STRING("snull", .optional = true, API_DEFAULT_STR(NULL)),
            API_PARAM_STRING("qr", .optional = true, .pattern = "(?^:[A-Za-z0-9\\.\\-_]+)"),
            API_PARAM_STRING("idesc", .optional = true, .pattern = "[A-Za-z][A-Za-z0-9\\-\\_]+"),
            API_PARAM_STRING(
                "atomic", .optional = true, .pattern = "(?^:^((?>[+-]?[\\w\\-\\._=]+,?)+)$)"
            ),
            API_PARAM_STRING("icase", .optional = true, .pattern = "(?^i:[a-z]+)"),
            API_PARAM_STRING("anchors", .optional = true, .pattern = "\\Aa\\@b{2}c{x}]\\z"),
            API_PARAM_STRING("cls", .optional = true, .pattern = "[]a][^]b]")
        )
);

static const char *oa_prop(json_t *oa, const char *name, const char *key) {
    json_t *v = json_object_get(json_object_get(json_object_get(oa, "properties"), name), key);
    static char buf[256];
    _cleanup_free_ char *d = NULL;
    if (!v)
        return NULL;
    assert_int_equal(json_util_dump(v, JSON_UTIL_DUMP_SORT_KEYS, &d), 0);
    snprintf(buf, sizeof buf, "%s", d);
    return buf;
}

static void test_openapi_types(void **state) {
    (void) state;
    _cleanup_json_ json_t *oa = api_schema_to_openapi(&openapi_params);
    assert_non_null(oa);
    assert_string_equal(oa_prop(oa, "b1", "default"), "true");
    assert_string_equal(oa_prop(oa, "b0", "default"), "false");
    assert_null(oa_prop(oa, "doc", "default"));
    assert_string_equal(oa_prop(oa, "doc", "x-default"), "\"same as user\"");
    assert_string_equal(oa_prop(oa, "istr", "default"), "42");
    assert_string_equal(oa_prop(oa, "nstr", "default"), "0.5");
    assert_string_equal(oa_prop(oa, "ienum", "enum"), "[1,2]");
    assert_null(oa_prop(oa, "snull", "default"));
    assert_string_equal(oa_prop(oa, "qr", "pattern"), "\"^(?:(?:[A-Za-z0-9\\\\.\\\\-_]+))$\"");
    assert_string_equal(oa_prop(oa, "idesc", "pattern"), "\"^(?:[A-Za-z][A-Za-z0-9\\\\-_]+)$\"");
    assert_string_equal(
        oa_prop(oa, "atomic", "pattern"), "\"^(?:(?:^((?:[+-]?[\\\\w\\\\-\\\\._=]+,?)+)$))$\""
    );
    assert_string_equal(oa_prop(oa, "icase", "pattern"), "\"^(?:(?:[a-z]+))$\"");
    assert_string_equal(oa_prop(oa, "anchors", "pattern"), "\"^(?:^a@b{2}c\\\\{x\\\\}\\\\]$)$\"");
    assert_string_equal(oa_prop(oa, "cls", "pattern"), "\"^(?:[\\\\]a][^\\\\]b])$\"");

    /* upstream's own shape keeps its spelling */
    _cleanup_json_ json_t *up = api_schema_to_json(&openapi_params);
    json_t *b1 = json_object_get(json_object_get(up, "properties"), "b1");
    assert_int_equal(json_integer_value(json_object_get(b1, "default")), 1);
    json_t *qr = json_object_get(json_object_get(up, "properties"), "qr");
    assert_string_equal(
        json_string_value(json_object_get(qr, "pattern")), "(?^:[A-Za-z0-9\\.\\-_]+)"
    );
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),    cmocka_unit_test(test_coercion),
        cmocka_unit_test(test_defaults), cmocka_unit_test(test_formats),
        cmocka_unit_test(test_export),   cmocka_unit_test(test_openapi_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
