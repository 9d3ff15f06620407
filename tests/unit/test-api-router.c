/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for api-router: a router of ten methods over two tables (templates, literal vs
 * template precedence, directory index), 501 texts, the duplicate-parameter conflict, the
 * validation failure envelope, json/extjs envelopes, permission descriptors and OpenAPI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pve/api-router.h"
#include "pve/json-util.h"

static const ApiSchema node_only =
    API_OBJECT(.properties = API_PROPERTIES(API_PARAM_STRING("node", .format = "pve-node")));

static const ApiSchema tasks_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("node", .format = "pve-node"),
            API_PARAM_INTEGER("limit", .optional = true, API_DEFAULT_INT(50), API_MIN(0)),
            API_PARAM_INTEGER(
                "vmid", .optional = true, API_RANGE(100, 999999999), .format = "pve-vmid"
            )
        )
);

static const ApiSchema upid_params = API_OBJECT(
        .properties =
            API_PROPERTIES(API_PARAM_STRING("node", .format = "pve-node"), API_PARAM_STRING("upid"))
);

static const ApiSchema vm_params = API_OBJECT(
        .properties = API_PROPERTIES(
            API_PARAM_STRING("node", .format = "pve-node"),
            API_PARAM_INTEGER("vmid", API_RANGE(100, 999999999), .format = "pve-vmid"),
            API_PARAM_BOOL("skiplock", .optional = true)
        )
);

static const ApiSchema tasks_returns = API_ARRAY(API_ITEMS(
    API_TYPE_OBJECT,
    .additional_properties = true,
    .properties =
        API_PROPERTIES(API_PARAM_STRING("upid"), API_PARAM_INTEGER("endtime", .optional = true))
));

static const ApiSchema string_returns = API_SCALAR(API_TYPE_STRING);

static int h_version(ApiCall *call) {
    json_t *o = json_object();
    if (json_util_set_string(o, "version", "8.2") < 0)
        return json_decref(o), -ENOMEM;
    return api_call_set_result(call, o);
}

static int h_tasks(ApiCall *call) {
    long long limit = 0;
    assert_int_equal(api_call_param_int(call, "limit", &limit), 0);
    json_t *a = json_array();
    for (long long i = 0; i < 2 && i < limit; i++) {
        json_t *o = json_object();
        (void) json_util_set_string(o, "upid", "UPID:n1:0000:0000:00000000:x::root@pam:");
        (void) json_util_append_new(a, o);
    }
    api_call_set_total(call, 7);
    return api_call_set_result(call, a);
}

/* echoes the params it saw */
static int h_echo(ApiCall *call) {
    return api_call_set_result(call, json_deep_copy(call->params));
}

static int h_forbidden(ApiCall *call) {
    return api_call_fail(call, 403, NULL, "Permission check failed (/vms/%s, VM.PowerMgmt)", "100");
}

static int h_errno(ApiCall *call) {
    (void) call;
    return -EIO;
}

static int h_multiline(ApiCall *call) {
    return api_call_fail(call, 500, NULL, "first line\nsecond line\n");
}

static const ApiPermCheck or_subs[] = {
    {.kind = API_CHECK_PERM, .path = "/vms/{vmid}", .privs = API_PRIVS("VM.Audit")},
    {.kind = API_CHECK_USERID_PARAM, .arg = "self"},
};

static const ApiMethod nodes_table[] = {
    {.path = "/nodes/{node}/tasks",
     .method = API_METHOD_GET,
     .parameters = &tasks_params,
     .returns = &tasks_returns,
     .permissions = API_PERM_ALL,
     .proxyto = "node",
     .allowtoken = true,
     .handler = h_tasks},
    {.path = "/nodes/{node}/tasks/{upid}/status",
     .method = API_METHOD_GET,
     .parameters = &upid_params,
     .permissions = API_PERM_ALL,
     .proxyto = "node",
     .handler = h_echo},
    {.path = "/nodes/{node}/tasks/{upid}",
     .method = API_METHOD_DELETE,
     .parameters = &upid_params,
     .permissions = API_PERM_ALL,
     .protected = true,
     .proxyto = "node",
     .handler = h_echo},
    {.path = "/nodes/{node}/qemu/{vmid}/status/start",
     .method = API_METHOD_POST,
     .parameters = &vm_params,
     .returns = &string_returns,
     .permissions = API_PERM_CHECK("/vms/{vmid}", API_PRIVS("VM.PowerMgmt")),
     .protected = true,
     .proxyto = "node",
     .handler = h_forbidden},
    {.path = "/nodes/{node}/qemu/{vmid}/config",
     .method = API_METHOD_PUT,
     .parameters = &vm_params,
     .permissions =
         &(const ApiPermissions){
             .check = &(const ApiPermCheck
             ){.kind = API_CHECK_OR, .subs = or_subs, .n_subs = ELEMENTSOF(or_subs)},
         },
     .handler = h_echo},
    /* a literal sibling of the {node} template wins over it */
    {.path = "/nodes/localhost/special", .method = API_METHOD_GET, .handler = h_echo},
    {.path = "/nodes/{node}/syslog",
     .method = API_METHOD_GET,
     .parameters = &node_only,
     .handler = h_errno},
    {.path = "/nodes/{node}/broken",
     .method = API_METHOD_GET,
     .parameters = &node_only,
     .handler = h_multiline},
};

static const ApiMethod top_table[] = {
    {.path = "/version",
     .method = API_METHOD_GET,
     .permissions = API_PERM_ALL,
     .handler = h_version},
    {.path = "//access//ticket/",
     .method = API_METHOD_POST,
     .permissions = API_PERM_WORLD,
     .handler = h_echo},
};

static ApiRouter *make_router(void) {
    ApiRouter *r = api_router_new();
    assert_non_null(r);
    assert_int_equal(api_router_add(r, nodes_table), 0);
    assert_int_equal(api_router_add(r, top_table), 0);
    return r;
}

static json_t *parse(const char *s) {
    json_t *j = NULL;
    assert_int_equal(json_util_parse(s, strlen(s), 0, &j, NULL), 0);
    return j;
}

/* run a call and format it; returns the body, status and reason through out-params */
static char *
run(const ApiRouter *r,
    ApiHttpMethod m,
    const char *path,
    const char *params,
    ApiFormat fmt,
    int *ret_status,
    char **ret_reason) {
    _cleanup_json_ json_t *p = params ? parse(params) : NULL;
    ApiCall call = API_CALL_INIT;
    (void) api_router_call(r, m, path, p, "root@pam", &call);
    ApiResponse resp = {0};
    assert_int_equal(api_call_format(&call, fmt, &resp), 0);
    api_call_done(&call);
    *ret_status = resp.status;
    *ret_reason = resp.reason;
    assert_int_equal(strlen(resp.body), resp.body_len);
    return resp.body;
}

static void expect(
    const ApiRouter *r,
    ApiHttpMethod m,
    const char *path,
    const char *params,
    ApiFormat fmt,
    int status,
    const char *reason,
    const char *body
) {
    int st;
    _cleanup_free_ char *rs = NULL;
    _cleanup_free_ char *b = run(r, m, path, params, fmt, &st, &rs);
    assert_int_equal(st, status);
    assert_string_equal(rs, reason);
    assert_string_equal(b, body);
}

static void test_lookup(void **state) {
    (void) state;
    _cleanup_(api_router_freep) ApiRouter *r = make_router();
    const ApiMethod *m = NULL;
    _cleanup_json_ json_t *pp = NULL;
    assert_int_equal(
        api_router_lookup(r, API_METHOD_GET, "/nodes/n1/tasks/UPID:x/status", &m, &pp), 0
    );
    assert_ptr_equal(m, &nodes_table[1]);
    _cleanup_free_ char *d = NULL;
    assert_int_equal(json_util_dump(pp, JSON_UTIL_DUMP_SORT_KEYS, &d), 0);
    assert_string_equal(d, "{\"node\":\"n1\",\"upid\":\"UPID:x\"}");

    /* empty components are ignored, both in tables and in requests */
    json_t *pp2 = NULL;
    assert_int_equal(api_router_lookup(r, API_METHOD_POST, "access/ticket", &m, &pp2), 0);
    json_decref(pp2);
    assert_ptr_equal(m, &top_table[1]);
    assert_int_equal(api_router_lookup(r, API_METHOD_GET, "//version//", &m, NULL), 0);
    assert_ptr_equal(m, &top_table[0]);

    /* literal beats template; template still matches other names and backtracks */
    assert_int_equal(api_router_lookup(r, API_METHOD_GET, "/nodes/localhost/special", &m, NULL), 0);
    assert_ptr_equal(m, &nodes_table[5]);
    assert_int_equal(api_router_lookup(r, API_METHOD_GET, "/nodes/localhost/tasks", &m, NULL), 0);
    assert_ptr_equal(m, &nodes_table[0]);
    assert_int_equal(api_router_lookup(r, API_METHOD_GET, "/nodes/n2/special", &m, NULL), -ENOENT);

    /* wrong method, unknown path */
    assert_int_equal(api_router_lookup(r, API_METHOD_POST, "/version", &m, NULL), -ENOENT);
    assert_int_equal(api_router_lookup(r, API_METHOD_GET, "/foo", &m, NULL), -ENOENT);

    /* duplicates and malformed templates are refused */
    static const ApiMethod dup[] = {{.path = "/version", .method = API_METHOD_GET}};
    assert_int_equal(api_router_add(r, dup), -EEXIST);
    static const ApiMethod other_name[] = {{.path = "/nodes/{name}/x", .method = API_METHOD_GET}};
    assert_int_equal(api_router_add(r, other_name), -EEXIST);
    static const ApiMethod bad[] = {{.path = "/a/{b", .method = API_METHOD_GET}};
    assert_int_equal(api_router_add(r, bad), -EINVAL);
}

static void test_merge(void **state) {
    (void) state;
    _cleanup_json_ json_t *pp = parse("{\"node\":\"n1\",\"vmid\":\"100\"}");
    _cleanup_json_ json_t *same = parse("{\"vmid\":100,\"x\":1}");
    _cleanup_json_ json_t *conflict = parse("{\"node\":\"n2\"}");
    _cleanup_json_ json_t *out = NULL;
    assert_int_equal(api_router_merge_params(pp, same, &out), 0);
    _cleanup_free_ char *d = NULL;
    assert_int_equal(json_util_dump(out, JSON_UTIL_DUMP_SORT_KEYS, &d), 0);
    assert_string_equal(d, "{\"node\":\"n1\",\"vmid\":\"100\",\"x\":1}");
    json_t *out2 = NULL;
    assert_int_equal(api_router_merge_params(pp, conflict, &out2), -EINVAL);
    assert_null(out2);
}

static void test_envelopes(void **state) {
    (void) state;
    _cleanup_(api_router_freep) ApiRouter *r = make_router();

    expect(
        r, API_METHOD_GET, "/version", NULL, API_FORMAT_JSON, 200, "OK",
        "{\"data\":{\"version\":\"8.2\"}}"
    );
    expect(
        r, API_METHOD_GET, "/version", NULL, API_FORMAT_EXTJS, 200, "OK",
        "{\"data\":{\"version\":\"8.2\"},\"success\":1}"
    );
    /* total; limit arrives as a form string and the handler sees an integer / default */
    expect(
        r, API_METHOD_GET, "/nodes/n1/tasks", "{\"limit\":\"1\"}", API_FORMAT_JSON, 200, "OK",
        "{\"data\":[{\"upid\":\"UPID:n1:0000:0000:00000000:x::root@pam:\"}],\"total\":7}"
    );
    /* 501 for unknown paths and methods */
    expect(
        r, API_METHOD_GET, "/foo", NULL, API_FORMAT_JSON, 501, "Method 'GET /foo' not implemented",
        "{\"data\":null,\"message\":\"Method 'GET /foo' not implemented\\n\"}"
    );
    expect(
        r, API_METHOD_DELETE, "/version", NULL, API_FORMAT_EXTJS, 200, "OK",
        "{\"data\":null,\"message\":\"Method 'DELETE /version' not implemented\\n\",\"status\":501,"
        "\"success\":0}"
    );
    /* conflicting duplicate of a path parameter */
    expect(
        r, API_METHOD_GET, "/nodes/n1/tasks", "{\"node\":\"n2\"}", API_FORMAT_JSON, 400,
        "duplicate parameter (already defined in URI) with conflicting values!",
        "{\"data\":null,\"message\":\"duplicate parameter (already defined in URI) with "
        "conflicting "
        "values!\\n\"}"
    );
    /* a same-valued duplicate is fine */
    expect(
        r, API_METHOD_GET, "/nodes/n1/tasks/U1/status", "{\"node\":\"n1\"}", API_FORMAT_JSON, 200,
        "OK", "{\"data\":{\"node\":\"n1\",\"upid\":\"U1\"}}"
    );
    /* parameter verification */
    expect(
        r, API_METHOD_PUT, "/nodes/n1/qemu/abc/config", "{\"skiplock\":\"true\",\"x\":1}",
        API_FORMAT_JSON, 400, "Parameter verification failed.",
        "{\"data\":null,\"errors\":{\"skiplock\":\"type check ('boolean') failed - got 'true'\","
        "\"vmid\":\"type check ('integer') failed - got 'abc'\",\"x\":\"property is not defined in "
        "schema and the schema does not allow additional properties\"},\"message\":\"Parameter "
        "verification failed.\\n\"}"
    );
    expect(
        r, API_METHOD_PUT, "/nodes/n1/qemu/abc/config", NULL, API_FORMAT_EXTJS, 200, "OK",
        "{\"data\":null,\"errors\":{\"vmid\":\"type check ('integer') failed - got 'abc'\"},"
        "\"message\":\"Parameter verification failed.\\n\",\"status\":400,\"success\":0}"
    );
    /* validated params reach the handler typed */
    expect(
        r, API_METHOD_PUT, "/nodes/n1/qemu/100/config", "{\"skiplock\":\"1\"}", API_FORMAT_JSON,
        200, "OK", "{\"data\":{\"node\":\"n1\",\"skiplock\":1,\"vmid\":100}}"
    );
    /* handler errors: explicit status, bare errno, multi-line message */
    expect(
        r, API_METHOD_POST, "/nodes/n1/qemu/100/status/start", NULL, API_FORMAT_JSON, 403,
        "Permission check failed (/vms/100, VM.PowerMgmt)",
        "{\"data\":null,\"message\":\"Permission check failed (/vms/100, VM.PowerMgmt)\\n\"}"
    );
    expect(
        r, API_METHOD_GET, "/nodes/n1/syslog", NULL, API_FORMAT_JSON, 500, "Input/output error",
        "{\"data\":null,\"message\":\"Input/output error\\n\"}"
    );
    expect(
        r, API_METHOD_GET, "/nodes/n1/broken", NULL, API_FORMAT_JSON, 500, "first line",
        "{\"data\":null,\"message\":\"first line\\nsecond line\\n\"}"
    );
    /* directory index for intermediate paths */
    expect(
        r, API_METHOD_GET, "/nodes/n1/qemu/100", NULL, API_FORMAT_JSON, 200, "OK",
        "{\"data\":[{\"subdir\":\"status\"},{\"subdir\":\"config\"}]}"
    );
    expect(
        r, API_METHOD_GET, "/", NULL, API_FORMAT_JSON, 200, "OK",
        "{\"data\":[{\"subdir\":\"nodes\"},{\"subdir\":\"version\"},{\"subdir\":\"access\"}]}"
    );
    api_router_set_index(r, false);
    expect(
        r, API_METHOD_GET, "/nodes", NULL, API_FORMAT_JSON, 501,
        "Method 'GET /nodes' not implemented",
        "{\"data\":null,\"message\":\"Method 'GET /nodes' not implemented\\n\"}"
    );
}

/* A result set with its serialized text formats byte for byte as the generic path does. */
static void test_result_text(void **state) {
    (void) state;
    const char *results[] = {
        "[{\"b\":1,\"a\":\"x\"},{\"c\":[1.5,null,true]}]", "{\"z\":{\"y\":2,\"x\":1}}", "\"s\"",
        "3"};
    for (size_t i = 0; i < sizeof results / sizeof *results; i++)
        for (int fmt = 0; fmt < _API_FORMAT_MAX; fmt++)
            for (int extras = 0; extras < 4; extras++) {
                ApiCall plain = API_CALL_INIT, cached = API_CALL_INIT;
                _cleanup_free_ char *text = NULL;
                assert_int_equal(api_call_set_result(&plain, parse(results[i])), 0);
                assert_int_equal(json_util_dump(plain.result, JSON_UTIL_DUMP_SORT_KEYS, &text), 0);
                assert_int_equal(api_call_set_result_text(&cached, parse(results[i]), text), 0);
                if (extras & 1) {
                    api_call_set_total(&plain, 42);
                    api_call_set_total(&cached, 42);
                }
                if (extras & 2) {
                    plain.changes = parse("{\"k\":\"v\",\"a\":1}");
                    cached.changes = parse("{\"k\":\"v\",\"a\":1}");
                }
                ApiResponse a = {0}, b = {0};
                assert_int_equal(api_call_format(&plain, (ApiFormat) fmt, &a), 0);
                assert_int_equal(api_call_format(&cached, (ApiFormat) fmt, &b), 0);
                assert_string_equal(a.body, b.body);
                assert_int_equal(a.body_len, b.body_len);
                assert_int_equal(a.status, b.status);
                assert_string_equal(a.reason, b.reason);
                api_response_done(&a);
                api_response_done(&b);
                /* a later plain result replaces the text */
                assert_int_equal(api_call_set_result(&cached, parse("[2]")), 0);
                assert_null(cached.result_text);
                api_call_done(&plain);
                api_call_done(&cached);
            }
}

static void test_permissions(void **state) {
    (void) state;
    ApiPermUser u;
    const ApiPermCheck *c;
    api_method_permissions(&nodes_table[0], &u, &c);
    assert_int_equal(u, API_PERM_USER_ALL);
    assert_null(c);
    api_method_permissions(&nodes_table[3], &u, &c);
    assert_int_equal(u, API_PERM_USER_NONE);
    assert_int_equal(c->kind, API_CHECK_PERM);
    assert_string_equal(c->privs[0], "VM.PowerMgmt");
    api_method_permissions(&nodes_table[5], &u, &c); /* none declared: root only */
    assert_int_equal(u, API_PERM_USER_NONE);
    assert_null(c);

    _cleanup_json_ json_t *params = parse("{\"vmid\":100,\"node\":\"n1\"}");
    _cleanup_free_ char *p = NULL;
    assert_int_equal(api_perm_expand_path("/vms/{vmid}", params, &p), 0);
    assert_string_equal(p, "/vms/100");
    char *p2 = NULL;
    assert_int_equal(api_perm_expand_path("/storage/{storage}", params, &p2), -EINVAL);
    assert_null(p2);

    const char *expect_json[] = {
        "{\"check\":[\"perm\",\"/vms/{vmid}\",[\"VM.PowerMgmt\"]]}",
        "{\"check\":[\"or\",[\"perm\",\"/vms/"
        "{vmid}\",[\"VM.Audit\"]],[\"userid-param\",\"self\"]]}",
        "{\"user\":\"world\"}",
    };
    const ApiPermissions *perms[] = {
        nodes_table[3].permissions, nodes_table[4].permissions, top_table[1].permissions};
    for (size_t i = 0; i < ELEMENTSOF(perms); i++) {
        _cleanup_json_ json_t *j = api_permissions_to_json(perms[i]);
        _cleanup_free_ char *d = NULL;
        assert_int_equal(json_util_dump(j, JSON_UTIL_DUMP_SORT_KEYS, &d), 0);
        assert_string_equal(d, expect_json[i]);
    }
}

static void test_openapi(void **state) {
    (void) state;
    _cleanup_(api_router_freep) ApiRouter *r = make_router();
    _cleanup_json_ json_t *doc = api_router_openapi(r, NULL, NULL);
    assert_non_null(doc);
    /* round-trip through text: valid JSON */
    _cleanup_free_ char *text = NULL;
    assert_int_equal(json_util_dump(doc, JSON_UTIL_DUMP_PRETTY, &text), 0);
    _cleanup_json_ json_t *back = parse(text);
    const char *v = NULL;
    assert_int_equal(json_util_get_string(back, "openapi", &v), 0);
    assert_true(strneq(v, "3.0.", 4));
    json_t *paths = json_object_get(back, "paths");
    /* 10 registered paths + 8 answered by the built-in index: /, /access, /nodes,
     * /nodes/localhost, /nodes/{node}, .../qemu, .../qemu/{vmid}, .../qemu/{vmid}/status */
    assert_int_equal(json_object_size(paths), 18);
    const char *expected[] = {
        "/nodes/{node}/tasks",
        "/nodes/{node}/tasks/{upid}/status",
        "/nodes/{node}/tasks/{upid}",
        "/nodes/{node}/qemu/{vmid}/status/start",
        "/nodes/{node}/qemu/{vmid}/config",
        "/version",
        "/access/ticket",
    };
    for (size_t i = 0; i < ELEMENTSOF(expected); i++)
        if (!json_object_get(paths, expected[i]))
            fail_msg("missing path %s", expected[i]);

    /* GET: path param in path, others in query with their schema */
    json_t *get = json_object_get(json_object_get(paths, "/nodes/{node}/tasks"), "get");
    json_t *ps = json_object_get(get, "parameters");
    assert_int_equal(json_array_size(ps), 3);
    json_t *p0 = json_array_get(ps, 0);
    assert_string_equal(json_string_value(json_object_get(p0, "in")), "path");
    assert_string_equal(json_string_value(json_object_get(p0, "name")), "node");
    assert_true(json_is_true(json_object_get(p0, "required")));
    json_t *p1 = json_array_get(ps, 1);
    assert_string_equal(json_string_value(json_object_get(p1, "in")), "query");
    assert_true(json_is_false(json_object_get(p1, "required")));
    assert_string_equal(json_string_value(json_object_get(get, "x-proxyto")), "node");
    json_t *data = json_object_get(
        json_object_get(
            json_object_get(
                json_object_get(
                    json_object_get(
                        json_object_get(json_object_get(get, "responses"), "200"), "content"
                    ),
                    "application/json"
                ),
                "schema"
            ),
            "properties"
        ),
        "data"
    );
    assert_string_equal(json_string_value(json_object_get(data, "type")), "array");

    /* PUT: body schema without the path params */
    json_t *put =
        json_object_get(json_object_get(paths, "/nodes/{node}/qemu/{vmid}/config"), "put");
    json_t *body = json_object_get(
        json_object_get(
            json_object_get(json_object_get(put, "requestBody"), "content"), "application/json"
        ),
        "schema"
    );
    json_t *props = json_object_get(body, "properties");
    assert_int_equal(json_object_size(props), 1);
    assert_non_null(json_object_get(props, "skiplock"));
    assert_true(json_is_false(json_object_get(body, "additionalProperties")));
    assert_int_equal(json_array_size(json_object_get(put, "parameters")), 2);

    /* the built-in index is documented next to a registered DELETE, with its path params */
    json_t *tasks_upid = json_object_get(paths, "/nodes/{node}/tasks/{upid}");
    assert_non_null(json_object_get(tasks_upid, "delete"));
    json_t *idx = json_object_get(tasks_upid, "get");
    assert_true(json_is_true(json_object_get(idx, "x-builtin-index")));
    assert_int_equal(json_array_size(json_object_get(idx, "parameters")), 2);
    assert_string_equal(
        json_string_value(json_object_get(idx, "operationId")), "get_nodes_node_tasks_upid"
    );
    assert_null(json_object_get(
        json_object_get(json_object_get(paths, "/nodes/{node}/tasks"), "get"), "x-builtin-index"
    ));
    json_t *root = json_object_get(json_object_get(paths, "/"), "get");
    assert_non_null(root);
    /* returned objects stay open (upstream handlers return undocumented keys) */
    json_t *rs = json_object_get(json_object_get(root, "responses"), "200");
    rs = json_object_get(
        json_object_get(json_object_get(rs, "content"), "application/json"), "schema"
    );
    _cleanup_free_ char *root_data = NULL;
    assert_int_equal(
        json_util_dump(
            json_object_get(json_object_get(rs, "properties"), "data"), JSON_UTIL_DUMP_SORT_KEYS,
            &root_data
        ),
        0
    );
    assert_string_equal(
        root_data,
        "{\"items\":{\"properties\":{\"subdir\":{\"type\":\"string\"}},\"required\":[\"subdir\"],"
        "\"type\":\"object\"},\"type\":\"array\"}"
    );
    api_router_set_index(r, false);
    _cleanup_json_ json_t *noidx = api_router_openapi(r, NULL, NULL);
    assert_int_equal(json_object_size(json_object_get(noidx, "paths")), 10);

    /* operationIds are unique */
    _cleanup_json_ json_t *ids = json_object();
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item) {
        const char *meth;
        json_t *op;
        json_object_foreach(item, meth, op) {
            const char *id = json_string_value(json_object_get(op, "operationId"));
            assert_non_null(id);
            assert_null(json_object_get(ids, id));
            json_object_set_new(ids, id, json_true());
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),    cmocka_unit_test(test_merge),
        cmocka_unit_test(test_envelopes), cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_openapi),   cmocka_unit_test(test_result_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
