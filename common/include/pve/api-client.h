/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-client: a small blocking client for another node's API (/api2/json) over HTTP or HTTPS:
 * ticket login with user and password, then requests with form-encoded parameters carrying
 * the PVEAuthCookie and the CSRFPreventionToken. One TCP connection per request
 * ("Connection: close"); responses with Content-Length, chunked encoding or read to EOF.
 *
 * Used by the cluster join (pvecm add, POST /cluster/config/join) to reach an existing member.
 * Over https:// (pveproxy, default port 8006) the server is identified by the SHA-256
 * fingerprint of its certificate, as upstream's join does: nothing is sent before the
 * presented certificate matched api_client_set_fingerprint()'s value (no fingerprint: the
 * call fails and its message names the presented one). No logging.
 */
#pragma once

#include <jansson.h>

#include "pve/macro.h"

typedef struct ApiClient ApiClient;

/*
 * Client for base, "http://<host>[:<port>][/<prefix>]" (port 80 when omitted, prefix
 * "/api2/json" when omitted; IPv6 hosts in brackets), or "https://..." (port 8006 when
 * omitted). -EINVAL for anything else, -ENOMEM. timeout_s bounds every connect/read/write
 * (0 = 30 s).
 */
int api_client_new(const char *base, unsigned timeout_s, ApiClient **ret);
ApiClient *api_client_free(ApiClient *c);
/* The certificate fingerprint ("AB:CD:...", case-insensitive) an https server must present. */
int api_client_set_fingerprint(ApiClient *c, const char *fingerprint);
DEFINE_TRIVIAL_CLEANUP_FUNC(ApiClient *, api_client_free);

/*
 * One request: method "GET"/"POST"/"PUT"/"DELETE", path below the prefix ("/version"), params
 * an object of scalars (may be NULL; sent as query for GET/DELETE, as body otherwise).
 * 0 when the server answered: *ret_status the HTTP status, *ret_body the parsed JSON envelope
 * (NULL if the body was not JSON). Transport errors: negative errno with *reterr_msg
 * (malloc'd, may be NULL on OOM).
 */
int api_client_call(
    ApiClient *c,
    const char *method,
    const char *path,
    const json_t *params,
    int *ret_status,
    json_t **ret_body,
    char **reterr_msg
);

/* POST /access/ticket and keep the ticket and CSRF token for later calls. 0, -EACCES (401,
 * *reterr_msg "authentication failure"), other negative errno with a message. */
int api_client_login(ApiClient *c, const char *user, const char *password, char **reterr_msg);

/* Parse a whole HTTP response (status line, headers, body with Content-Length, chunked or up to
 * the end): 0 with the status and the JSON body (NULL when not JSON), -EBADMSG, -ENOMEM. */
int api_client_parse_response(const char *data, size_t len, int *ret_status, json_t **ret_body);

/* Form encoding of a value (RFC 3986 unreserved kept, everything else %XX); malloc'd. */
char *api_client_urlencode(const char *s);
