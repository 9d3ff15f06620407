/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-router: a tree of path components built from ApiMethod tables, lookup with template
 * parameters, the parameter merge rule, the call pipeline (validate, run the handler), the
 * json/extjs envelopes and the OpenAPI export.
 *
 * The tree holds one node per path component; a node's children are either literals or at
 * most one template ("{name}"). Lookup prefers literals and backtracks into the template, so
 * "/nodes/{node}/tasks" and "/nodes/localhost/special" can coexist. Tables are borrowed.
 * The router does not authenticate, authorize or proxy: those steps sit between
 * api_router_resolve() and api_call_run() in the HTTP layer.
 */
#include "pve/api-router.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pve/json-util.h"
#include "pve/strbuf.h"

#define MAX_COMPONENTS 64

static const char *const method_names[_API_METHOD_MAX] = {
    [API_METHOD_GET] = "GET",
    [API_METHOD_POST] = "POST",
    [API_METHOD_PUT] = "PUT",
    [API_METHOD_DELETE] = "DELETE",
};

const char *api_http_method_to_string(ApiHttpMethod m) {
    if (m < 0 || m >= _API_METHOD_MAX)
        return NULL;
    return method_names[m];
}

ApiHttpMethod api_http_method_from_string(const char *s) {
    for (int i = 0; s && i < _API_METHOD_MAX; i++)
        if (streq(s, method_names[i]))
            return (ApiHttpMethod) i;
    return _API_METHOD_INVALID;
}

ApiFormat api_format_from_string(const char *s) {
    if (s && streq(s, "json"))
        return API_FORMAT_JSON;
    if (s && streq(s, "extjs"))
        return API_FORMAT_EXTJS;
    return _API_FORMAT_INVALID;
}

/* ---- permissions ------------------------------------------------------------------------------
 */

void api_method_permissions(
    const ApiMethod *m, ApiPermUser *ret_user, const ApiPermCheck **ret_check
) {
    assert(m);
    if (ret_user)
        *ret_user = m->permissions ? m->permissions->user : API_PERM_USER_NONE;
    if (ret_check)
        *ret_check = m->permissions ? m->permissions->check : NULL;
}

static char *scalar_to_string(const json_t *v) {
    char *s = NULL;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strdup(json_string_value(v));
    case JSON_INTEGER:
        return asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0 ? NULL : s;
    case JSON_REAL:
        return asprintf(&s, "%.15g", json_real_value(v)) < 0 ? NULL : s;
    case JSON_TRUE:
        return strdup("1");
    case JSON_FALSE:
        return strdup("0");
    default:
        return NULL;
    }
}

int api_perm_expand_path(const char *tmpl, const json_t *params, char **ret) {
    assert(tmpl);
    assert(ret);
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    for (const char *p = tmpl; *p;) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            strbuf_append(&b, p);
            break;
        }
        strbuf_append_len(&b, p, (size_t) (open - p));
        _cleanup_free_ char *name = strndup(open + 1, (size_t) (close - open - 1));
        if (!name)
            return -ENOMEM;
        json_t *v = json_object_get(params, name);
        if (!v || json_is_object(v) || json_is_array(v) || json_is_null(v))
            return -EINVAL;
        _cleanup_free_ char *sv = scalar_to_string(v);
        if (!sv)
            return -ENOMEM;
        strbuf_append(&b, sv);
        p = close + 1;
    }
    if (!b.data && !b.error)
        strbuf_append(&b, "");
    return strbuf_finish(&b, ret, NULL);
}

static const char *const check_names[_API_CHECK_MAX] = {
    [API_CHECK_PERM] = "perm",
    [API_CHECK_AND] = "and",
    [API_CHECK_OR] = "or",
    [API_CHECK_USERID_PARAM] = "userid-param",
    [API_CHECK_USERID_GROUP] = "userid-group",
    [API_CHECK_PERM_MODIFY] = "perm-modify",
};

static json_t *strv_json(const char *const *v) {
    json_t *a = json_array();
    for (; a && v && *v; v++)
        if (json_util_append_new(a, json_string(*v)) < 0)
            return json_decref(a), NULL;
    return a;
}

static json_t *check_to_json(const ApiPermCheck *c) {
    _cleanup_json_ json_t *a = json_array();
    if (!a || json_util_append_new(a, json_string(check_names[c->kind])) < 0)
        return NULL;
    int r = 0;
    switch (c->kind) {
    case API_CHECK_PERM:
        r |= json_util_append_new(a, json_string(c->path));
        r |= json_util_append_new(a, strv_json(c->privs));
        if (c->any) {
            r |= json_util_append_new(a, json_string("any"));
            r |= json_util_append_new(a, json_integer(1));
        }
        break;
    case API_CHECK_AND:
    case API_CHECK_OR:
        for (size_t i = 0; i < c->n_subs; i++)
            r |= json_util_append_new(a, check_to_json(&c->subs[i]));
        break;
    case API_CHECK_USERID_PARAM:
        if (c->arg)
            r |= json_util_append_new(a, json_string(c->arg));
        break;
    case API_CHECK_USERID_GROUP:
        r |= json_util_append_new(a, strv_json(c->privs));
        if (c->arg) {
            r |= json_util_append_new(a, json_string("groups_param"));
            r |= json_util_append_new(a, json_string(c->arg));
        }
        break;
    case API_CHECK_PERM_MODIFY:
        r |= json_util_append_new(a, json_string(c->path));
        break;
    default:
        break;
    }
    return r < 0 ? NULL : TAKE_PTR(a);
}

json_t *api_permissions_to_json(const ApiPermissions *p) {
    _cleanup_json_ json_t *o = json_object();
    if (!o)
        return NULL;
    if (!p)
        return TAKE_PTR(o);
    if (p->user == API_PERM_USER_WORLD && json_util_set_string(o, "user", "world") < 0)
        return NULL;
    if (p->user == API_PERM_USER_ALL && json_util_set_string(o, "user", "all") < 0)
        return NULL;
    if (p->check && json_util_set_new(o, "check", check_to_json(p->check)) < 0)
        return NULL;
    if (json_util_set_string(o, "description", p->description) < 0)
        return NULL;
    return TAKE_PTR(o);
}

/* ---- the tree ---------------------------------------------------------------------------------
 */

typedef struct Node Node;
struct Node {
    char *name; /* literal, or the template's parameter name */
    bool is_param;
    Node *parent;
    Node **children;
    size_t n_children;
    const ApiMethod *methods[_API_METHOD_MAX];
};

struct ApiRouter {
    Node root;
    bool index;
};

static void node_free_children(Node *n) {
    for (size_t i = 0; i < n->n_children; i++) {
        node_free_children(n->children[i]);
        free(n->children[i]->name);
        free(n->children[i]);
    }
    free(n->children);
}

ApiRouter *api_router_new(void) {
    ApiRouter *r = calloc(1, sizeof *r);
    if (r)
        r->index = true;
    return r;
}

ApiRouter *api_router_free(ApiRouter *r) {
    if (!r)
        return NULL;
    node_free_children(&r->root);
    free(r);
    return NULL;
}

void api_router_set_index(ApiRouter *r, bool enable) {
    r->index = enable;
}

static Node *
node_child(Node *n, const char *name, size_t len, bool is_param, bool create, int *err) {
    for (size_t i = 0; i < n->n_children; i++) {
        Node *c = n->children[i];
        if (c->is_param != is_param)
            continue;
        if (is_param) {
            if (strlen(c->name) != len || !strneq(c->name, name, len)) {
                *err = -EEXIST; /* one template name per position */
                return NULL;
            }
            return c;
        }
        if (strlen(c->name) == len && strneq(c->name, name, len))
            return c;
    }
    if (!create)
        return NULL;
    Node **nc = reallocarray(n->children, n->n_children + 1, sizeof *nc);
    if (!nc)
        goto oom;
    n->children = nc;
    Node *c = calloc(1, sizeof *c);
    if (!c)
        goto oom;
    c->name = strndup(name, len);
    if (!c->name) {
        free(c);
        goto oom;
    }
    c->is_param = is_param;
    c->parent = n;
    n->children[n->n_children++] = c;
    return c;
oom:
    *err = -ENOMEM;
    return NULL;
}

static int router_add_one(ApiRouter *r, const ApiMethod *m) {
    if (!m->path || m->method < 0 || m->method >= _API_METHOD_MAX)
        return -EINVAL;
    Node *n = &r->root;
    const char *p = m->path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, "/");
        bool is_param = p[0] == '{';
        const char *name = p;
        size_t nlen = len;
        if (is_param) {
            if (len < 3 || p[len - 1] != '}')
                return -EINVAL;
            name++;
            nlen -= 2;
        } else if (memchr(p, '{', len) || memchr(p, '}', len)) {
            return -EINVAL;
        }
        int err = 0;
        n = node_child(n, name, nlen, is_param, true, &err);
        if (!n)
            return err;
        p += len;
    }
    if (n->methods[m->method])
        return -EEXIST;
    n->methods[m->method] = m;
    return 0;
}

int api_router_add_table(ApiRouter *r, const ApiMethod *table, size_t n) {
    assert(r);
    for (size_t i = 0; i < n; i++) {
        int k = router_add_one(r, &table[i]);
        if (k < 0)
            return k;
    }
    return 0;
}

typedef struct Match {
    const char *comps[MAX_COMPONENTS];
    size_t n;
    const char *values[MAX_COMPONENTS];
    const Node *params[MAX_COMPONENTS];
    size_t rest; /* > 0: the template at rest-1 took all remaining components */
} Match;

static const Node *match(const Node *n, Match *mt, size_t i) {
    if (i == mt->n)
        return n;
    for (size_t k = 0; k < n->n_children; k++) {
        const Node *c = n->children[k];
        if (c->is_param || !streq(c->name, mt->comps[i]))
            continue;
        mt->params[i] = NULL;
        const Node *res = match(c, mt, i + 1);
        if (res)
            return res;
    }
    for (size_t k = 0; k < n->n_children; k++) {
        const Node *c = n->children[k];
        if (!c->is_param)
            continue;
        mt->params[i] = c;
        mt->values[i] = mt->comps[i];
        const Node *res = match(c, mt, i + 1);
        if (res)
            return res;
        /* A template that ends a method path takes the rest of the path, slashes included, as
         * upstream does for volume IDs (".../content/local:iso/x.iso"). */
        if (c->n_children == 0 && i + 1 < mt->n) {
            mt->rest = i + 1;
            return c;
        }
    }
    return NULL;
}

/* Undo the tokenizer's NULs after component rest-1 so its value runs to the end. */
static void match_join_rest(Match *mt) {
    if (mt->rest == 0)
        return;
    for (size_t j = mt->rest; j < mt->n; j++)
        ((char *) mt->comps[j - 1])[strlen(mt->comps[j - 1])] = '/';
    mt->n = mt->rest;
}

static int index_handler(ApiCall *call) {
    const Node *n = call->_node;
    _cleanup_json_ json_t *a = json_array();
    if (!a)
        return -ENOMEM;
    for (size_t i = 0; n && i < n->n_children; i++) {
        if (n->children[i]->is_param)
            continue;
        json_t *o = json_object();
        if (json_util_append_new(a, o) < 0 ||
            json_util_set_string(o, "subdir", n->children[i]->name) < 0)
            return -ENOMEM;
    }
    return api_call_set_result(call, TAKE_PTR(a));
}

static const ApiSchema index_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = API_PROPERTIES(API_PARAM_STRING("subdir"))));

static const ApiMethod index_method = {
    .path = NULL,
    .method = API_METHOD_GET,
    .name = "index",
    .returns = &index_returns,
    .permissions = API_PERM_ALL,
    .allowtoken = true,
    .handler = index_handler,
};

/* Split copy (modified) into components and find the node; the values in mt point into copy,
 * a trailing template that took the rest of the path already joined. */
static int match_path(const ApiRouter *r, char *copy, Match *mt, const Node **ret) {
    char *save = NULL;
    for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (mt->n >= MAX_COMPONENTS)
            return -ENOENT;
        mt->comps[mt->n++] = tok;
    }
    const Node *n = match(&r->root, mt, 0);
    if (!n)
        return -ENOENT;
    match_join_rest(mt);
    *ret = n;
    return 0;
}

static int lookup_node(
    const ApiRouter *r,
    ApiHttpMethod m,
    const char *path,
    const ApiMethod **ret_method,
    json_t **ret_path_params,
    const Node **ret_node
) {
    assert(r);
    assert(path);
    if (m < 0 || m >= _API_METHOD_MAX)
        return -ENOENT;
    _cleanup_free_ char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    Match mt = {.n = 0};
    const Node *n = NULL;
    int k = match_path(r, copy, &mt, &n);
    if (k < 0)
        return k;
    const ApiMethod *method = n->methods[m];
    if (!method && m == API_METHOD_GET && r->index && n->n_children > 0)
        method = &index_method;
    if (!method)
        return -ENOENT;
    _cleanup_json_ json_t *pp = json_object();
    if (!pp)
        return -ENOMEM;
    for (size_t i = 0; i < mt.n; i++)
        if (mt.params[i] && json_util_set_string(pp, mt.params[i]->name, mt.values[i]) < 0)
            return -ENOMEM;
    *ret_method = method;
    if (ret_path_params)
        *ret_path_params = TAKE_PTR(pp);
    if (ret_node)
        *ret_node = n;
    return 0;
}

int api_router_lookup(
    const ApiRouter *r,
    ApiHttpMethod m,
    const char *path,
    const ApiMethod **ret_method,
    json_t **ret_path_params
) {
    return lookup_node(r, m, path, ret_method, ret_path_params, NULL);
}

static int find_node(const ApiRouter *r, const char *path, const Node **ret) {
    _cleanup_free_ char *copy = strdup(path);
    Match mt = {.n = 0};
    if (!copy)
        return -ENOMEM;
    return match_path(r, copy, &mt, ret);
}

static unsigned node_methods(const Node *n) {
    unsigned mask = 0;
    for (unsigned m = 0; m < _API_METHOD_MAX; m++)
        if (n->methods[m])
            mask |= 1U << m;
    return mask;
}

int api_router_describe(
    const ApiRouter *r,
    const char *path,
    ApiRouterEntry *ret_self,
    ApiRouterEntry **ret_children,
    size_t *ret_n
) {
    const Node *n = NULL;
    int k = find_node(r, path, &n);
    if (k < 0)
        return k;
    if (ret_self)
        *ret_self = (ApiRouterEntry){
            .name = n->name,
            .is_param = n->is_param,
            .methods = node_methods(n),
            .has_children = n->n_children > 0,
        };
    if (ret_children) {
        ApiRouterEntry *c = calloc(n->n_children ?: 1, sizeof(*c));
        if (!c)
            return -ENOMEM;
        for (size_t i = 0; i < n->n_children; i++)
            c[i] = (ApiRouterEntry){
                .name = n->children[i]->name,
                .is_param = n->children[i]->is_param,
                .methods = node_methods(n->children[i]),
                .has_children = n->children[i]->n_children > 0,
            };
        *ret_children = c;
        *ret_n = n->n_children;
    }
    return 0;
}

const ApiMethod *api_router_method_at(const ApiRouter *r, ApiHttpMethod m, const char *path) {
    const Node *n = NULL;
    if (m < 0 || m >= _API_METHOD_MAX || find_node(r, path, &n) < 0)
        return NULL;
    return n->methods[m];
}

int api_router_merge_params(const json_t *path_params, const json_t *request_params, json_t **ret) {
    _cleanup_json_ json_t *out = request_params ? json_deep_copy(request_params) : json_object();
    if (!out || !json_is_object(out))
        return out ? -EINVAL : -ENOMEM;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) path_params, key, v) {
        json_t *have = json_object_get(out, key);
        if (have && !json_is_null(have)) {
            _cleanup_free_ char *a = scalar_to_string(have), *b = scalar_to_string(v);
            if (!a || !b || !streq(a, b))
                return -EINVAL;
        }
        if (json_object_set(out, key, v) < 0)
            return -ENOMEM;
    }
    *ret = TAKE_PTR(out);
    return 0;
}

/* ---- calls ------------------------------------------------------------------------------------
 */

void api_call_done(ApiCall *call) {
    if (!call)
        return;
    json_decref(call->params);
    json_decref(call->result);
    free(call->result_text);
    free(call->download);
    json_decref(call->changes);
    json_decref(call->errors);
    free(call->message);
    *call = (ApiCall) API_CALL_INIT;
}

int api_call_set_result(ApiCall *call, json_t *data) {
    if (!data)
        return -ENOMEM;
    json_decref(call->result);
    call->result = data;
    free(call->result_text);
    call->result_text = NULL;
    return 0;
}

int api_call_set_result_text(ApiCall *call, json_t *data, const char *text) {
    char *copy = strdup(text);
    int r = api_call_set_result(call, data);
    if (r < 0 || !copy) {
        free(copy);
        return r < 0 ? r : -ENOMEM;
    }
    call->result_text = copy;
    return 0;
}

/* The success envelope around an already serialized result: the keys in jansson's sorted
 * order (changes, data, success, total), compact, as the generic path prints them. */
static int envelope_with_text(const ApiCall *call, ApiFormat fmt, char **ret) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    _cleanup_free_ char *changes = NULL;
    if (call->changes && json_util_dump(call->changes, JSON_UTIL_DUMP_SORT_KEYS, &changes) < 0)
        return -ENOMEM;
    strbuf_append(&b, "{");
    if (changes)
        strbuf_printf(&b, "\"changes\":%s,", changes);
    strbuf_append(&b, "\"data\":");
    strbuf_append(&b, call->result_text);
    if (fmt == API_FORMAT_EXTJS)
        strbuf_append(&b, ",\"success\":1");
    if (call->has_total)
        strbuf_printf(&b, ",\"total\":%lld", call->total);
    strbuf_append(&b, "}");
    return strbuf_finish(&b, ret, NULL);
}

int api_call_set_download(ApiCall *call, const char *path, const char *content_type) {
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    free(call->download);
    call->download = copy;
    call->download_type = content_type;
    return 0;
}

void api_call_set_total(ApiCall *call, long long total) {
    call->total = total;
    call->has_total = true;
}

int api_call_fail(ApiCall *call, int status, json_t *errors, const char *fmt, ...) {
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    free(call->message);
    call->message = msg;
    json_decref(call->errors);
    call->errors = errors;
    call->status = status;
    if (!msg)
        return -ENOMEM;
    if (status == 401 || status == 403)
        return -EPERM;
    if (status == 404 || status == 501)
        return -ENOENT;
    return -EINVAL;
}

int api_call_param_int(const ApiCall *call, const char *name, long long *ret) {
    return api_schema_param_int(
        call->method ? call->method->parameters : NULL, call->params, name, ret
    );
}

int api_call_param_bool(const ApiCall *call, const char *name, bool *ret) {
    return api_schema_param_bool(
        call->method ? call->method->parameters : NULL, call->params, name, ret
    );
}

int api_call_param_string(const ApiCall *call, const char *name, const char **ret) {
    return api_schema_param_string(
        call->method ? call->method->parameters : NULL, call->params, name, ret
    );
}

int api_router_resolve(
    const ApiRouter *r,
    ApiHttpMethod m,
    const char *path,
    const json_t *request_params,
    ApiCall *call
) {
    assert(call);
    _cleanup_json_ json_t *pp = NULL;
    const ApiMethod *method = NULL;
    const Node *node = NULL;
    int k = lookup_node(r, m, path, &method, &pp, &node);
    if (k == -ENOENT) {
        const char *ms = api_http_method_to_string(m);
        return api_call_fail(
            call, 501, NULL, "Method '%s %s' not implemented", ms ? ms : "?", path
        );
    }
    if (k < 0)
        return k;
    json_t *merged = NULL;
    k = api_router_merge_params(pp, request_params, &merged);
    if (k == -EINVAL)
        return api_call_fail(
            call, 400, NULL, "duplicate parameter (already defined in URI) with conflicting values!"
        );
    if (k < 0)
        return k;
    json_decref(call->params);
    call->params = merged;
    call->method = method;
    call->_node = node;
    return 0;
}

int api_call_run(ApiCall *call) {
    assert(call);
    if (call->status != 0)
        return -EINVAL;
    if (!call->method)
        return api_call_fail(call, 500, NULL, "no method resolved");
    if (!call->params) {
        call->params = json_object();
        if (!call->params)
            return -ENOMEM;
    }
    json_t *errors = NULL;
    /* the built-in index takes no parameters but ignores them, as upstream's index methods
     * are declared with only the path parameters */
    if (call->method != &index_method) {
        int k = api_schema_validate_params(call->method->parameters, call->params, &errors);
        if (k == -EINVAL)
            return api_call_fail(call, 400, errors, "Parameter verification failed.");
        if (k < 0)
            return k;
    }
    if (!call->method->handler)
        return api_call_fail(
            call, 501, NULL, "Method '%s' has no implementation", call->method->path
        );
    int k = call->method->handler(call);
    if (k < 0 && call->status == 0)
        return api_call_fail(call, 500, NULL, "%s", strerror(-k));
    if (call->status != 0)
        return k < 0 ? k : -EINVAL;
    return 0;
}

int api_router_call(
    const ApiRouter *r,
    ApiHttpMethod m,
    const char *path,
    const json_t *request_params,
    const char *user,
    ApiCall *call
) {
    int k = api_router_resolve(r, m, path, request_params, call);
    if (k < 0)
        return k;
    call->user = user;
    return api_call_run(call);
}

/* ---- responses --------------------------------------------------------------------------------
 */

const char *api_status_reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 506:
        return "Variant Also Negotiates";
    default:
        return "Unknown";
    }
}

void api_response_done(ApiResponse *resp) {
    if (!resp)
        return;
    free(resp->reason);
    free(resp->body);
    *resp = (ApiResponse){0};
}

int api_call_format(const ApiCall *call, ApiFormat fmt, ApiResponse *ret) {
    assert(call);
    assert(ret);
    if (fmt < 0 || fmt >= _API_FORMAT_MAX)
        return -EINVAL;
    bool failed = call->status != 0 && call->status != 200;
    int status = failed ? call->status : 200;
    _cleanup_json_ json_t *o = json_object();
    _cleanup_free_ char *reason = NULL, *body = NULL;
    if (!o)
        return -ENOMEM;
    int r = 0;
    if (!failed && call->result_text) {
        r = envelope_with_text(call, fmt, &body);
        if (r < 0)
            return r;
        reason = strdup("OK");
        if (!reason)
            return -ENOMEM;
        *ret = (ApiResponse){.status = 200, .reason = TAKE_PTR(reason), .body_len = strlen(body)};
        ret->body = TAKE_PTR(body);
        return 0;
    }
    if (!failed) {
        r |= json_util_set_new(o, "data", call->result ? json_incref(call->result) : json_null());
        if (call->has_total)
            r |= json_util_set_int(o, "total", call->total);
        if (call->changes)
            r |= json_util_set_new(o, "changes", json_incref(call->changes));
        if (fmt == API_FORMAT_EXTJS)
            r |= json_util_set_int(o, "success", 1);
        reason = strdup("OK");
    } else {
        const char *msg =
            call->message && *call->message ? call->message : api_status_reason(status);
        size_t len = strlen(msg);
        _cleanup_free_ char *full = NULL;
        if (asprintf(&full, "%s%s", msg, len > 0 && msg[len - 1] == '\n' ? "" : "\n") < 0)
            return -ENOMEM;
        r |= json_util_set_null(o, "data");
        r |= json_util_set_string(o, "message", full);
        if (call->errors && json_object_size(call->errors) > 0)
            r |= json_util_set_new(o, "errors", json_incref(call->errors));
        if (fmt == API_FORMAT_EXTJS) {
            r |= json_util_set_int(o, "success", 0);
            r |= json_util_set_int(o, "status", status);
        }
        reason = strndup(msg, strcspn(msg, "\r\n"));
        if (reason && !*reason) {
            free(reason);
            reason = strdup(api_status_reason(status));
        }
    }
    if (r < 0 || !reason)
        return -ENOMEM;
    if (fmt == API_FORMAT_EXTJS) {
        status = 200; /* extjs always answers 200, the real code is in the body */
        free(reason);
        reason = strdup("OK");
        if (!reason)
            return -ENOMEM;
    }
    r = json_util_dump(o, JSON_UTIL_DUMP_SORT_KEYS, &body);
    if (r < 0)
        return r;
    *ret = (ApiResponse){
        .status = status,
        .reason = TAKE_PTR(reason),
        .body_len = strlen(body),
    };
    ret->body = TAKE_PTR(body);
    return 0;
}

/* ---- OpenAPI ----------------------------------------------------------------------------------
 */

static char *operation_id(const ApiMethod *m) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    char *ret = NULL;
    strbuf_append(&b, method_names[m->method]);
    for (const char *p = m->path; *p; p++) {
        char c = *p;
        if (c == '{' || c == '}')
            continue;
        if (c == '/' || c == '-' || c == '.')
            c = '_';
        strbuf_append_char(&b, c);
    }
    for (size_t i = 0; b.data && i < b.len; i++)
        if (b.data[i] >= 'A' && b.data[i] <= 'Z')
            b.data[i] = (char) (b.data[i] - 'A' + 'a');
    if (strbuf_finish(&b, &ret, NULL) < 0)
        return NULL;
    return ret;
}

static bool is_path_param(const ApiMethod *m, const char *name) {
    size_t len = strlen(name);
    for (const char *p = strchr(m->path, '{'); p; p = strchr(p + 1, '{'))
        if (strneq(p + 1, name, len) && p[1 + len] == '}')
            return true;
    return false;
}

/* Return objects stay open: upstream only rejects unknown keys where a schema says
 * additionalProperties 0 (parameters), and its handlers return more keys than documented. */
static void openapi_open_objects(json_t *schema) {
    if (!json_is_object(schema))
        return;
    if (json_is_false(json_object_get(schema, "additionalProperties")))
        json_object_del(schema, "additionalProperties");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(schema, "properties"), k, v) openapi_open_objects(v);
    openapi_open_objects(json_object_get(schema, "items"));
}

static json_t *openapi_operation(const ApiMethod *m) {
    _cleanup_json_ json_t *op = json_object();
    json_t *params = json_array();
    if (!op || json_util_set_new(op, "parameters", params) < 0)
        return NULL;
    _cleanup_free_ char *opid = operation_id(m);
    if (!opid || json_util_set_string(op, "operationId", opid) < 0)
        return NULL;
    int r = 0;
    r |= json_util_set_string(op, "summary", m->description ? m->description : m->name);
    r |= json_util_set_new(op, "x-permissions", api_permissions_to_json(m->permissions));
    if (m->protected)
        r |= json_util_set_new(op, "x-protected", json_true());
    if (m->proxyto)
        r |= json_util_set_string(op, "x-proxyto", m->proxyto);
    r |= json_util_set_new(op, "x-allowtoken", json_boolean(m->allowtoken));
    if (r < 0)
        return NULL;

    /* path parameters from the template (schema from the table when it declares them) */
    for (const char *p = strchr(m->path, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        if (!e)
            break;
        _cleanup_free_ char *name = strndup(p + 1, (size_t) (e - p - 1));
        if (!name)
            return NULL;
        const ApiSchema *ps = api_schema_property(m->parameters, name);
        static const ApiSchema str = {.type = API_TYPE_STRING};
        json_t *o = json_object();
        if (json_util_append_new(params, o) < 0)
            return NULL;
        r |= json_util_set_string(o, "name", name);
        r |= json_util_set_string(o, "in", "path");
        r |= json_util_set_new(o, "required", json_true());
        r |= json_util_set_new(o, "schema", api_schema_to_openapi(ps ? ps : &str));
        if (r < 0)
            return NULL;
    }

    bool body = m->method == API_METHOD_POST || m->method == API_METHOD_PUT;
    _cleanup_json_ json_t *body_props = json_object(), *body_req = json_array();
    if (!body_props || !body_req)
        return NULL;
    if (m->parameters && m->parameters->properties)
        for (const ApiSchema *p = m->parameters->properties; p->name; p++) {
            if (is_path_param(m, p->name))
                continue;
            bool required = !p->optional && !p->alias;
            if (body) {
                r |= json_util_set_new(body_props, p->name, api_schema_to_openapi(p));
                if (required)
                    r |= json_util_append_new(body_req, json_string(p->name));
            } else {
                json_t *o = json_object();
                if (json_util_append_new(params, o) < 0)
                    return NULL;
                r |= json_util_set_string(o, "name", p->name);
                r |= json_util_set_string(o, "in", "query");
                r |= json_util_set_new(o, "required", json_boolean(required));
                if (p->description)
                    r |= json_util_set_string(o, "description", p->description);
                r |= json_util_set_new(o, "schema", api_schema_to_openapi(p));
            }
            if (r < 0)
                return NULL;
        }
    if (body) {
        json_t *schema = json_object();
        r |= json_util_set_string(schema, "type", "object");
        r |= json_util_set_new(schema, "properties", json_incref(body_props));
        r |= json_util_set_new(schema, "additionalProperties", json_false()); /* 400 */
        if (json_array_size(body_req) > 0)
            r |= json_util_set_new(schema, "required", json_incref(body_req));
        json_t *rb = json_object(), *content = json_object(), *js = json_object(),
               *form = json_object();
        r |= json_util_set_new(op, "requestBody", rb);
        r |= json_util_set_new(rb, "content", content);
        r |= json_util_set_new(content, "application/json", js);
        r |= json_util_set_new(content, "application/x-www-form-urlencoded", form);
        r |= json_util_set_new(form, "schema", json_incref(schema));
        r |= json_util_set_new(js, "schema", schema);
        if (r < 0)
            return NULL;
    }

    static const ApiSchema null_schema = {.type = API_TYPE_NULL};
    json_t *data = api_schema_to_openapi(m->returns ? m->returns : &null_schema);
    openapi_open_objects(data);
    json_t *responses = json_object(), *ok = json_object(), *content = json_object(),
           *js = json_object(), *env = json_object(), *props = json_object();
    r |= json_util_set_new(op, "responses", responses);
    r |= json_util_set_new(responses, "200", ok);
    r |= json_util_set_string(ok, "description", "success");
    r |= json_util_set_new(ok, "content", content);
    r |= json_util_set_new(content, "application/json", js);
    r |= json_util_set_new(js, "schema", env);
    r |= json_util_set_string(env, "type", "object");
    r |= json_util_set_new(env, "properties", props);
    r |= json_util_set_new(props, "data", data);
    json_t *def = json_object();
    r |= json_util_set_new(responses, "default", def);
    r |= json_util_set_string(
        def, "description", "error: {\"data\":null,\"message\":...,\"errors\":{...}}"
    );
    return r < 0 ? NULL : TAKE_PTR(op);
}

/* normalized key: one '/' between components, none at the end, "/" for the root */
static char *openapi_key(const char *path) {
    char *key = malloc(strlen(path) + 2);
    if (!key)
        return NULL;
    size_t kl = 0;
    for (const char *c = path; *c; c++)
        if (*c != '/' || (c[1] && c[1] != '/'))
            key[kl++] = *c;
    if (kl == 0 || key[0] != '/') {
        memmove(key + 1, key, kl);
        key[0] = '/';
        kl++;
    }
    key[kl] = '\0';
    return key;
}

static int openapi_add(json_t *paths, const char *path, int i, const ApiMethod *m, bool index) {
    _cleanup_free_ char *key = openapi_key(path);
    if (!key)
        return -ENOMEM;
    json_t *item = json_object_get(paths, key);
    if (!item) {
        item = json_object();
        if (json_util_set_new(paths, key, item) < 0)
            return -ENOMEM;
    }
    char lower[8];
    size_t k = 0;
    for (const char *c = method_names[i]; *c && k < sizeof lower - 1; c++)
        lower[k++] = (char) (*c - 'A' + 'a');
    lower[k] = '\0';
    json_t *op = openapi_operation(m);
    if (json_util_set_new(item, lower, op) < 0)
        return -ENOMEM;
    if (index && json_util_set_new(op, "x-builtin-index", json_true()) < 0)
        return -ENOMEM;
    return 0;
}

/* `prefix` is the node's path built from the tree ("" for the root, "{name}" for templates);
 * the built-in index is documented where it answers GET, as it is served like a method. */
static int openapi_walk(const ApiRouter *r, const Node *n, const char *prefix, json_t *paths) {
    for (int i = 0; i < _API_METHOD_MAX; i++) {
        const ApiMethod *m = n->methods[i];
        if (m && openapi_add(paths, m->path, i, m, false) < 0)
            return -ENOMEM;
    }
    if (r->index && !n->methods[API_METHOD_GET] && n->n_children > 0) {
        ApiMethod idx = index_method;
        idx.path = prefix;
        idx.description = "Directory index.";
        if (openapi_add(paths, prefix, API_METHOD_GET, &idx, true) < 0)
            return -ENOMEM;
    }
    for (size_t i = 0; i < n->n_children; i++) {
        const Node *c = n->children[i];
        _cleanup_free_ char *sub = NULL;
        if (asprintf(&sub, c->is_param ? "%s/{%s}" : "%s/%s", prefix, c->name) < 0)
            return -ENOMEM;
        int k = openapi_walk(r, c, sub, paths);
        if (k < 0)
            return k;
    }
    return 0;
}

json_t *api_router_openapi(const ApiRouter *r, const char *title, const char *version) {
    assert(r);
    _cleanup_json_ json_t *doc = json_object();
    json_t *info = json_object(), *paths = json_object(), *servers = json_array(),
           *server = json_object();
    int k = 0;
    k |= json_util_set_string(doc, "openapi", "3.0.3");
    k |= json_util_set_new(doc, "info", info);
    k |= json_util_set_string(info, "title", title ? title : "Proxmox VE API");
    k |= json_util_set_string(info, "version", version ? version : "1");
    k |= json_util_set_new(doc, "servers", servers);
    k |= json_util_append_new(servers, server);
    k |= json_util_set_string(server, "url", "/api2/json");
    k |= json_util_set_new(doc, "paths", paths);
    if (k < 0 || !doc)
        return NULL;
    if (openapi_walk(r, &r->root, "", paths) < 0)
        return NULL;
    return TAKE_PTR(doc);
}
