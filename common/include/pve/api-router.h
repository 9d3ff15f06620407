/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-router: API methods declared as C tables (path template, HTTP method, parameter and
 * return schemas, permissions, protected, proxyto, allowtoken, handler), the router that finds
 * a method for "GET /nodes/n1/tasks" and extracts the template parameters, the parameter merge
 * and validation step, the call context handlers see, and the response envelopes (json, extjs).
 * It also exports every registered method as an OpenAPI 3 document.
 *
 * Example table entry:
 *
 *     static const ApiMethod node_methods[] = {
 *         {
 *             .path = "/nodes/{node}/tasks",
 *             .method = API_METHOD_GET,
 *             .parameters = &tasks_params,
 *             .returns = &tasks_returns,
 *             .permissions = API_PERM_ALL,
 *             .proxyto = "node",
 *             .allowtoken = true,
 *             .handler = tasks_list,
 *         },
 *     };
 *     api_router_add(router, node_methods);
 *
 * The pipeline, split so the HTTP layer can do auth, permission and proxy decisions in
 * between as upstream does (lookup -> merge -> token/permission check -> proxyto ->
 * protected -> validate + run):
 *
 *     ApiCall call = API_CALL_INIT;
 *     api_router_resolve(router, API_METHOD_GET, "/nodes/n1/tasks", params, &call);
 *     ... auth / permission / proxy using call.method and call.params ...
 *     api_call_run(&call);                   (validates, then calls the handler)
 *     api_call_format(&call, API_FORMAT_JSON, &response);
 *     api_call_done(&call);
 *
 * Permission descriptors are data only; evaluating them against user.cfg is not done here.
 * No I/O, no logging above debug.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "pve/api-schema.h"
#include "pve/macro.h"

typedef enum ApiHttpMethod {
    API_METHOD_GET,
    API_METHOD_POST,
    API_METHOD_PUT,
    API_METHOD_DELETE,
    _API_METHOD_MAX,
    _API_METHOD_INVALID = -EINVAL,
} ApiHttpMethod;

const char *api_http_method_to_string(ApiHttpMethod m) _pure_;
ApiHttpMethod api_http_method_from_string(const char *s) _pure_;

typedef struct ApiMethod ApiMethod;

/* ---- permissions (data only) ---------------------------------------------------------------- */

typedef enum ApiPermUser {
    API_PERM_USER_NONE,  /* no "user" key: the check decides (no check at all: root@pam only) */
    API_PERM_USER_WORLD, /* {user:"world"}: no authentication needed */
    API_PERM_USER_ALL,   /* {user:"all"}: any authenticated user, handler may filter */
} ApiPermUser;

typedef enum ApiPermCheckKind {
    API_CHECK_PERM,         /* ["perm", path, [privs], any => 1] */
    API_CHECK_AND,          /* ["and", sub, ...] */
    API_CHECK_OR,           /* ["or", sub, ...] */
    API_CHECK_USERID_PARAM, /* ["userid-param", "self" | "Realm.AllocateUser"] */
    API_CHECK_USERID_GROUP, /* ["userid-group", [privs], groups_param => ...] */
    API_CHECK_PERM_MODIFY,  /* ["perm-modify", path] */
    _API_CHECK_MAX,
} ApiPermCheckKind;

typedef struct ApiPermCheck ApiPermCheck;
struct ApiPermCheck {
    ApiPermCheckKind kind;
    const char *path;         /* PERM, PERM_MODIFY: template like "/vms/{vmid}" */
    const char *const *privs; /* PERM, USERID_GROUP: NULL-terminated */
    bool any;                 /* PERM: one of privs suffices */
    const char *arg;          /* USERID_PARAM: "self" or a privilege; USERID_GROUP: groups_param */
    const ApiPermCheck *subs; /* AND/OR */
    size_t n_subs;
};

typedef struct ApiPermissions {
    ApiPermUser user;
    const ApiPermCheck *check; /* NULL: none */
    const char *description;
} ApiPermissions;

#define API_PRIVS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define API_PERM_WORLD (&(const ApiPermissions){.user = API_PERM_USER_WORLD})
#define API_PERM_ALL   (&(const ApiPermissions){.user = API_PERM_USER_ALL})
/* API_PERM_CHECK("/vms/{vmid}", API_PRIVS("VM.PowerMgmt")) */
#define API_PERM_CHECK(p, pv, ...) \
    (&(const ApiPermissions        \
    ){.check =                     \
          &(const ApiPermCheck){.kind = API_CHECK_PERM, .path = (p), .privs = (pv), __VA_ARGS__}})
#define API_PERM_CHECK_ANY(p, pv) API_PERM_CHECK(p, pv, .any = true)

/*
 * What applies to a method: *ret_user and *ret_check (either may be NONE/NULL). A method
 * without a descriptor reports (NONE, NULL), meaning "root@pam only" as upstream.
 */
void api_method_permissions(
    const ApiMethod *m, ApiPermUser *ret_user, const ApiPermCheck **ret_check
);
/* Expand "{name}" in a permission path from params (e.g. "/vms/{vmid}" -> "/vms/100").
 * -EINVAL if a referenced param is missing or not a scalar, -ENOMEM. */
int api_perm_expand_path(const char *tmpl, const json_t *params, char **ret);
/* Upstream JSON shape ({"user":"all"}, {"check":["perm","/",["Sys.Audit"]]}); NULL on OOM. */
json_t *api_permissions_to_json(const ApiPermissions *p);

/* ---- methods and calls ---------------------------------------------------------------------- */

typedef struct ApiCall ApiCall;
typedef int (*ApiHandler)(ApiCall *call);

struct ApiMethod {
    const char *path; /* "/nodes/{node}/tasks/{upid}/status" */
    ApiHttpMethod method;
    const char *name;            /* upstream's method name, for docs (optional) */
    const char *description;     /* optional */
    const ApiSchema *parameters; /* object schema, NULL = no parameters */
    const ApiSchema *returns;    /* NULL = null */
    const ApiPermissions *permissions;
    bool protected;      /* must run in the privileged daemon */
    const char *proxyto; /* param naming the node to run on, or NULL */
    bool allowtoken;
    ApiHandler handler;
    void *userdata;
};

typedef enum ApiFormat {
    API_FORMAT_JSON,
    API_FORMAT_EXTJS,
    _API_FORMAT_MAX,
    _API_FORMAT_INVALID = -EINVAL,
} ApiFormat;

ApiFormat api_format_from_string(const char *s) _pure_;

struct ApiCall {
    /* in */
    const ApiMethod *method; /* set by api_router_resolve() */
    json_t *params;          /* owned; merged request + path params, validated by run */
    const char *user;        /* authenticated "user@realm" or "user@realm!token"; borrowed */
    const char *client;      /* client address for logs and PAM rhost, NULL = local; borrowed */
    void *userdata;          /* the server's context; borrowed */

    /* out (handler) */
    json_t *result;    /* owned; NULL = null */
    char *result_text; /* owned, optional: result as compact key-sorted JSON (a cached answer) */
    char *download;    /* owned, optional: answer with this file's content instead (a download) */
    const char *download_type; /* its Content-Type (static) */
    long long total;
    bool has_total;
    json_t *changes; /* owned, optional */

    /* out (error) */
    int status;     /* 0 = success (200) */
    char *message;  /* owned */
    json_t *errors; /* owned, param -> message */

    const void *_node; /* router-internal */
};

#define API_CALL_INIT \
    { .method = NULL }

void api_call_done(ApiCall *call);

/* Set the result (steals data, also on failure: NULL data means OOM -> -ENOMEM). */
int api_call_set_result(ApiCall *call, json_t *data);
/*
 * Set the result together with its serialized form (compact, keys sorted, as json_dumps with
 * JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY prints it), so that api_call_format() need not
 * serialize it again: for answers a handler caches. Steals data; text is copied.
 */
int api_call_set_result_text(ApiCall *call, json_t *data, const char *text);
void api_call_set_total(ApiCall *call, long long total);
/*
 * Answer with the content of the file at path (upstream's `download` result): the HTTP server
 * streams it with content_type (a static string), or, for a request pveproxy forwarded,
 * pvedaemon only names it in a `pvestreamfile` header and pveproxy streams it itself.
 */
int api_call_set_download(ApiCall *call, const char *path, const char *content_type);
/*
 * Record an error (message printf-style, errors stolen, may be NULL). Returns a negative errno
 * (-EPERM for 401/403, -ENOENT for 404/501, -EINVAL otherwise) so handlers can
 * `return api_call_fail(call, 403, "Permission check failed (%s, %s)", path, priv);`.
 */
int api_call_fail(ApiCall *call, int status, json_t *errors, const char *fmt, ...) _printf_(4, 5);

/* Typed parameter getters with the schema's default as fallback (see api-schema.h). */
int api_call_param_int(const ApiCall *call, const char *name, long long *ret);
int api_call_param_bool(const ApiCall *call, const char *name, bool *ret);
int api_call_param_string(const ApiCall *call, const char *name, const char **ret);

/* ---- router --------------------------------------------------------------------------------- */

typedef struct ApiRouter ApiRouter;

ApiRouter *api_router_new(void);
ApiRouter *api_router_free(ApiRouter *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ApiRouter *, api_router_free);

/*
 * Register n methods (the table must outlive the router). -EEXIST if a method/path pair is
 * already registered or two templates at the same position use different names, -EINVAL for
 * a malformed path, -ENOMEM.
 */
int api_router_add_table(ApiRouter *r, const ApiMethod *table, size_t n);
#define api_router_add(r, table) api_router_add_table((r), (table), ELEMENTSOF(table))

/*
 * Find the method for (m, path). Empty components are ignored; a literal component wins over
 * a template. Returns 0 and *ret_method plus *ret_path_params (new object, template name ->
 * value); -ENOENT when nothing matches; -ENOMEM. An intermediate path without a GET handler
 * answers GET with a built-in directory index ([{"subdir":"x"},...]) when index is enabled.
 */
int api_router_lookup(
    const ApiRouter *r,
    ApiHttpMethod m,
    const char *path,
    const ApiMethod **ret_method,
    json_t **ret_path_params
);
void api_router_set_index(ApiRouter *r, bool enable);

/* A router node as pvesh ls/usage see it: literal name or template parameter name, the
 * methods registered there (bit m = 1 << ApiHttpMethod m) and whether it has children. */
typedef struct ApiRouterEntry {
    const char *name; /* borrowed from the router; NULL for the root */
    bool is_param;
    unsigned methods;
    bool has_children;
} ApiRouterEntry;

/* The node for path (templates match any value) and, optionally, its children (a malloc'd
 * array in *ret_children, *ret_n entries). -ENOENT when no node matches, -ENOMEM. */
int api_router_describe(
    const ApiRouter *r,
    const char *path,
    ApiRouterEntry *ret_self,
    ApiRouterEntry **ret_children,
    size_t *ret_n
);
/* The method registered for (m, path), without the built-in index; NULL if none. */
const ApiMethod *api_router_method_at(const ApiRouter *r, ApiHttpMethod m, const char *path);

/*
 * Merge path params into request params (a new object in *ret). A key present in both with a
 * different value is an error: -EINVAL. Values are compared in string form.
 */
int api_router_merge_params(const json_t *path_params, const json_t *request_params, json_t **ret);

/*
 * Lookup + merge into call (request_params may be NULL; it is not modified). On failure the
 * call holds the error (501 "Method 'GET /foo' not implemented", 400 "duplicate parameter ...")
 * and a negative errno is returned; -ENOMEM leaves the call without a message.
 */
int api_router_resolve(
    const ApiRouter *r,
    ApiHttpMethod m,
    const char *path,
    const json_t *request_params,
    ApiCall *call
);

/*
 * Validate call->params against the method's schema (400 "Parameter verification failed."
 * with errors) and run the handler. A handler returning < 0 without api_call_fail() becomes a
 * 500 with strerror's text. Returns 0 on success or the negative errno of the failure.
 */
int api_call_run(ApiCall *call);

/* resolve + run, for pvesh and tests */
int api_router_call(
    const ApiRouter *r,
    ApiHttpMethod m,
    const char *path,
    const json_t *request_params,
    const char *user,
    ApiCall *call
);

/* ---- responses ------------------------------------------------------------------------------ */

typedef struct ApiResponse {
    int status;   /* HTTP status code for the status line */
    char *reason; /* reason phrase: first line of the message, or the standard phrase */
    char *body;   /* JSON text */
    size_t body_len;
} ApiResponse;

void api_response_done(ApiResponse *resp);

/*
 * Envelope per api.md §3.4/3.5. json: 200 {"data":...,"total":N,"changes":...}; error
 * <code> {"data":null,"message":"...\n","errors":{...}}. extjs: always 200, with "success"
 * 1/0 and, on error, "status":<code>. Keys are emitted sorted. -ENOMEM, -EINVAL (bad format).
 */
int api_call_format(const ApiCall *call, ApiFormat fmt, ApiResponse *ret);

/* Standard reason phrase for a status code ("OK", "Not Implemented", ...), never NULL. */
const char *api_status_reason(int status) _pure_;

/* ---- export --------------------------------------------------------------------------------- */

/* OpenAPI 3.0.3 document of every registered method; NULL on OOM. */
json_t *api_router_openapi(const ApiRouter *r, const char *title, const char *version);
