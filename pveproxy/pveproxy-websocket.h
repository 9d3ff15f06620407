/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pveproxy-websocket: the console websocket (api.md §3 "Websocket"): after a
 * .../vncwebsocket call returned {port}, answer 101 and relay binary frames between the
 * client and the raw TCP stream of 127.0.0.1:<port> on the worker's event loop.
 */
#pragma once

#include <systemd/sd-event.h>

#include "pve/api-server.h"

/* An ApiUpgradeFn body: 1 when req was taken over (answered with 101 or an error). */
int pp_websocket_upgrade(sd_event *e, ApiServer *s, HttpRequest *req, const ApiCall *call);
