/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pveproxy-forward: forwarding API requests (api.md §3.6) with libcurl's multi interface on
 * the worker's sd_event loop: protected calls to pvedaemon (plain HTTP; GETs reuse kept-alive
 * connections) and calls bound to another node to that node's pveproxy over HTTPS (server
 * certificate checked against the cluster CA and pinned to the node's certificate key,
 * connections reused). The answer goes back verbatim (status, reason, content type and
 * encoding, body; buffered, as upstream's proxy does, except pvedaemon's pvestreamfile
 * downloads, which are streamed). Unreachable peers give AnyEvent-style 595/596/597/599 codes
 * with a clear message; a node that .members shows offline gets 595 at once instead of a wait
 * for the timeout.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "pve/api-server.h"
#include "pve/macro.h"

#define FORWARD_TIMEOUT_SEC 30

typedef struct Forwarder Forwarder;

typedef struct ForwarderConfig {
    const char *daemon_url; /* "http://127.0.0.1:85" */
    unsigned peer_port;     /* 8006 */
} ForwarderConfig;

int forwarder_new(sd_event *e, const ForwarderConfig *cfg, Forwarder **ret);
Forwarder *forwarder_free(Forwarder *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(Forwarder *, forwarder_free);

/* Forward req (see ApiForwardFn); answers it later through api_server_reply(). */
int forwarder_forward(
    Forwarder *f,
    ApiServer *s,
    HttpRequest *req,
    const ApiCall *call,
    ApiRoute route,
    const char *node
);

/* The address of a cluster node from pmxcfs (.members), malloc'd; -ENOENT if unknown.
 * *ret_offline (may be NULL): .members says the node is not in the corosync membership. */
int forwarder_node_address(const char *node, char **ret, bool *ret_offline);
