/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pveproxy-server: the HTTPS API proxy (api.md §1, §3.6, §4). The supervisor (root during
 * init) reads /etc/default/pveproxy, makes sure the cluster CA and node certificate exist,
 * loads the certificate, opens the access log and binds the socket; after the drop to
 * www-data it runs a pool of workers. Each worker accepts connections itself, applies the
 * host ACL, peeks at the first byte and hands TLS connections to the API server and
 * plaintext ones to a server that only answers with a redirect to https://.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "pve/api-env.h"
#include "pve/api-router.h"
#include "pve/api-server.h"
#include "pve/buffered-log.h"
#include "pve/http-server.h"
#include "pve/prefork.h"
#include "pve/proxy-config.h"
#include "pveproxy-forward.h"

#define PP_DRAIN_MSEC        10000
#define PP_PEEK_TIMEOUT_USEC (5ULL * 1000000ULL)
#define PP_MAX_STATIC_SIZE   (64u * 1024 * 1024)

typedef struct PpServer {
    /* settings (command line / environment) */
    const char *listen_override; /* --listen, else LISTEN_IP, else "::" */
    uint16_t port;
    const char *config_path;     /* /etc/default/pveproxy */
    const char *daemon_url;      /* http://127.0.0.1:85 */
    const char *www_dir;         /* static files */
    const char *access_log_path; /* /var/log/pveproxy/access.log */
    unsigned peer_port;          /* 8006 */

    /* loaded in init */
    ProxyConfig *config;
    char *nodename;
    char *cert_pem, *key_pem;
    char *tls_priorities;
    unsigned char *ticket_key; /* TLS session tickets, shared by all workers */
    size_t ticket_key_len;
    int log_fd;
    int listen_fd;
    ApiRouter *router;
    ApiEnv env;
    Prefork *pool;

    /* per worker */
    sd_event *event;
    HttpServer *tls_http, *plain_http;
    ApiServer *api;
    Forwarder *fwd;
    BufferedLog *access_log; /* on log_fd */
    sd_event_source *accept_src;
    bool stopping;
} PpServer;

#define PP_SERVER_INIT                                                                             \
    {                                                                                              \
        .port = 8006, .config_path = "/etc/default/pveproxy", .daemon_url = "http://127.0.0.1:85", \
        .www_dir = "/usr/share/pve-manager", .access_log_path = "/var/log/pveproxy/access.log",    \
        .peer_port = 8006, .log_fd = -1, .listen_fd = -1,                                          \
    }

/* --check: parse the configuration (and report what is wrong). */
int pp_server_check(PpServer *s, bool verbose);
/* As root: config, certificates, access log, socket, router. */
int pp_server_init(PpServer *s);
/* How many workers run: MAX_WORKERS, else one per CPU, 2 to 3 (proxy_config_workers()). */
unsigned pp_server_workers(const PpServer *s);
/* After the drop: start the workers. */
int pp_server_start(PpServer *s, sd_event *e);
/* SIGHUP: re-read certificate and config, fresh workers. */
int pp_server_reload(PpServer *s);
void pp_server_done(PpServer *s);
