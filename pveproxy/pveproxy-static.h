/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pveproxy-static: the web UI's static files (api.md §1): GET/HEAD only, simple path
 * components only ([A-Za-z0-9._-], no leading dot), opened below the web root without
 * following symlinks, so no request can reach a file outside it. Content-Type by extension,
 * Last-Modified / If-Modified-Since -> 304. "/" serves index.html (or a short notice when the
 * web UI is not installed).
 */
#pragma once

#include "pve/api-server.h"
#include "pve/http-server.h"

/* Answer req from root_dir through api_server_reply(). */
void pp_static_serve(ApiServer *s, HttpRequest *req, const char *root_dir);

/* Whether a URL path may name a static file (exported for tests). */
bool pp_static_path_ok(const char *path);
