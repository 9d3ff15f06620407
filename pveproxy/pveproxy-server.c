/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pveproxy-server: supervisor setup and the worker processes of pveproxy (see
 * pveproxy-server.h).
 */
#include "pveproxy-server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/api-methods.h"
#include "pve/buffered-log.h"
#include "pve/cfs-file.h"
#include "pve/daemon.h"
#include "pve/log.h"
#include "pve/node-cert.h"
#include "pve/paths.h"
#include "pve/string-util.h"
#include "pve/tls-credentials.h"
#include "pveproxy-static.h"
#include "pveproxy-tls.h"
#include "pveproxy-websocket.h"

/* ---- configuration -------------------------------------------------------------------------- */

static int load_config(PpServer *s) {
    _cleanup_free_ char *msg = NULL;
    unsigned line = 0;
    ProxyConfig *c = NULL;
    int r = proxy_config_load(s->config_path, &c, &line, &msg);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        if (line)
            return pve_daemon_error_errno(
                r, "%s line %u: %s", s->config_path, line, msg ?: "invalid"
            );
        return pve_daemon_error_errno(r, "%s: %s", s->config_path, msg ?: "invalid");
    }
    _cleanup_free_ char *prio = NULL;
    r = pveproxy_tls_priorities(c, &prio, &msg);
    if (r < 0) {
        proxy_config_free(c);
        return pve_daemon_error_errno(r, "%s: %s", s->config_path, msg ?: "invalid TLS settings");
    }
    proxy_config_free(s->config);
    s->config = c;
    free(s->tls_priorities);
    s->tls_priorities = TAKE_PTR(prio);
    return 0;
}

int pp_server_check(PpServer *s, bool verbose) {
    int r = load_config(s);
    if (r < 0)
        return r;
    if (verbose)
        printf(
            "LISTEN_IP=%s\nPOLICY=%s\nCOMPRESSION=%d\nMAX_WORKERS=%u\nTLS=%s\n",
            s->config->listen_ip ?: "::", s->config->policy_allow ? "allow" : "deny",
            s->config->compression, pp_server_workers(s), s->tls_priorities
        );
    return 0;
}

/* Non-loopback addresses the node name resolves to, for the certificate. */
static char **node_addresses(const char *node) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char **list = calloc(17, sizeof(char *));
    size_t n = 0;
    if (!list || getaddrinfo(node, NULL, &hints, &res) != 0)
        return list;
    for (struct addrinfo *a = res; a && n < 16; a = a->ai_next) {
        char buf[INET6_ADDRSTRLEN];
        const void *src = a->ai_family == AF_INET
                              ? (const void *) &((struct sockaddr_in *) a->ai_addr)->sin_addr
                              : (const void *) &((struct sockaddr_in6 *) a->ai_addr)->sin6_addr;
        if (!inet_ntop(a->ai_family, src, buf, sizeof(buf)) || startswith(buf, "127.") ||
            streq(buf, "::1"))
            continue;
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup = dup || streq(list[i], buf);
        if (!dup && (list[n] = strdup(buf)))
            n++;
    }
    freeaddrinfo(res);
    return list;
}

static int load_cert(PpServer *s) {
    char *cert = NULL, *key = NULL;
    int r = node_cert_load(s->nodename, s->config->tls_key_file, &cert, &key);
    if (r < 0)
        return pve_daemon_error_errno(
            r, "unable to read the certificate of node '%s' - %m", s->nodename
        );
    /* parsed again by each worker's server; checked here to say what is wrong */
    _cleanup_free_ char *err = NULL;
    TlsCredentials *creds = NULL;
    r = tls_credentials_new(cert, key, &creds, &err);
    tls_credentials_free(creds);
    if (r < 0) {
        free(cert);
        explicit_bzero(key, strlen(key));
        free(key);
        return pve_daemon_error_errno(
            r, "unusable certificate of node '%s' - %s", s->nodename, err ?: "out of memory"
        );
    }
    free(s->cert_pem);
    if (s->key_pem)
        explicit_bzero(s->key_pem, strlen(s->key_pem));
    free(s->key_pem);
    s->cert_pem = cert;
    s->key_pem = key;
    return 0;
}

static int open_access_log(PpServer *s) {
    _cleanup_free_ char *dir = strdup(s->access_log_path);
    if (!dir)
        return -ENOMEM;
    char *slash = strrchr(dir, '/');
    struct passwd *pw = getpwnam(PVE_WWW_USER);
    if (slash && slash != dir) {
        *slash = 0;
        if (mkdir(dir, 0755) == 0 && pw)
            (void) chown(dir, pw->pw_uid, pw->pw_gid);
    }
    s->log_fd = open(s->access_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (s->log_fd < 0)
        return pve_daemon_error_errno(errno, "unable to open '%s' - %m", s->access_log_path);
    if (pw)
        (void) fchown(s->log_fd, pw->pw_uid, pw->pw_gid);
    return 0;
}

static int listen_socket(PpServer *s) {
    const char *addr = s->listen_override ?: s->config->listen_ip;
    if (addr) {
        s->listen_fd = http_listen(addr, s->port);
        if (s->listen_fd < 0)
            return pve_daemon_error_errno(
                s->listen_fd, "unable to listen on %s:%u - %m", addr, s->port
            );
        return 0;
    }
    s->listen_fd = http_listen("::", s->port);
    if (s->listen_fd == -EAFNOSUPPORT || s->listen_fd == -EADDRNOTAVAIL)
        s->listen_fd = http_listen("0.0.0.0", s->port);
    if (s->listen_fd < 0)
        return pve_daemon_error_errno(s->listen_fd, "unable to listen on port %u - %m", s->port);
    return 0;
}

int pp_server_init(PpServer *s) {
    int r = load_config(s);
    if (r < 0)
        return r;
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) < 0)
        return -errno;
    _cleanup_free_ char *fqdn = strdup(host);
    host[strcspn(host, ".")] = 0;
    s->nodename = strdup(host);
    if (!s->nodename || !fqdn)
        return -ENOMEM;

    char **ips = node_addresses(s->nodename);
    _cleanup_free_ char *msg = NULL;
    r = node_cert_ensure(s->nodename, fqdn, (const char *const *) ips, &msg);
    for (size_t i = 0; ips && ips[i]; i++)
        free(ips[i]);
    free(ips);
    /* As upstream, whose `pvecm updatecerts` before the start may fail (no quorum, say): a
     * certificate that is already there is served, with a warning. */
    if (r < 0)
        log_warning("unable to update certificates, trying the existing ones: %s", msg ?: "-");
    int lr = load_cert(s);
    if (lr < 0)
        return r < 0 ? pve_daemon_error_errno(r, "unable to set up certificates: %s", msg ?: "-")
                     : lr;
    r = open_access_log(s);
    if (r < 0)
        return r;
    /* one key for all workers (and their successors after a reload): a browser resuming its
     * TLS session may land on any of them */
    gnutls_datum_t key = {NULL, 0};
    r = gnutls_session_ticket_key_generate(&key);
    if (r < 0)
        return pve_daemon_error_errno(
            ENOMEM, "unable to make a TLS session ticket key: %s", gnutls_strerror(r)
        );
    s->ticket_key = key.data;
    s->ticket_key_len = key.size;
    r = listen_socket(s);
    if (r < 0)
        return r;

    s->env.nodename = s->nodename;
    s->env.taskdir = pve_path_env("PVE_TASK_DIR", PVE_TASK_DIR);
    s->env.privileged = false;
    s->router = api_router_new();
    if (!s->router)
        return -ENOMEM;
    return api_register_all(s->router);
}

/* ---- access log ----------------------------------------------------------------------------- */

/* "dd/mm/YYYY:HH:MM:SS +zzzz", the access log's time stamp */
static void log_time(char *buf, size_t n) {
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(buf, n, "%d/%m/%Y:%H:%M:%S %z", &tm);
}

static void
access_log(HttpRequest *req, unsigned status, size_t bytes, const char *user, void *ud) {
    PpServer *s = ud;
    if (!s->access_log)
        return;
    char when[64];
    log_time(when, sizeof(when));
    const char *query = http_request_query(req);
    char size[32] = "-";
    if (bytes)
        snprintf(size, sizeof(size), "%zu", bytes);
    buffered_log_printf(
        s->access_log, "%s - %s [%s] \"%s %s%s%s %s\" %u %s\n",
        http_request_client_address(req) ?: "-", user ?: "-", when,
        http_method_to_string(http_request_method(req)), http_request_path(req), *query ? "?" : "",
        query, http_request_version(req), status, size
    );
}

/* a connection refused by the host ACL: logged like upstream, then closed */
static void log_denied(PpServer *s, const char *addr) {
    if (!s->access_log)
        return;
    char when[64];
    log_time(when, sizeof(when));
    buffered_log_printf(s->access_log, "%s - - [%s] \"-\" 403 -\n", addr, when);
}

/* ---- workers -------------------------------------------------------------------------------- */

static int forward(
    ApiServer *api,
    HttpRequest *req,
    const ApiCall *call,
    ApiRoute route,
    const char *node,
    void *ud
) {
    PpServer *s = ud;
    return forwarder_forward(s->fwd, api, req, call, route, node);
}

static int upgrade(ApiServer *api, HttpRequest *req, const ApiCall *call, void *ud) {
    PpServer *s = ud;
    return pp_websocket_upgrade(s->event, api, req, call);
}

static void fallback(HttpRequest *req, void *ud) {
    PpServer *s = ud;
    pp_static_serve(s->api, req, s->www_dir);
}

/* plaintext on the TLS port: 301 (GET/HEAD) or 308 to https://<Host><uri> */
static void redirect(HttpRequest *req, void *ud) {
    PpServer *s = ud;
    const char *host = http_request_header(req, "Host");
    if (!host || !*host || strpbrk(host, " \r\n/")) {
        (void) http_reply_status(req, 400, "missing Host header");
        return;
    }
    const char *query = http_request_query(req);
    _cleanup_free_ char *loc = NULL;
    if (asprintf(&loc, "https://%s%s%s%s", host, http_request_path(req), *query ? "?" : "", query) <
        0) {
        (void) http_reply_status(req, 500, NULL);
        return;
    }
    const char *h[] = {"Location", loc, "Connection", "close", NULL};
    unsigned status = http_request_method(req) == HTTP_METHOD_GET ? 301 : 308;
    (void) http_reply(req, status, NULL, NULL, "", 0, h);
    access_log(req, status, 0, NULL, s);
}

typedef struct Pending {
    PpServer *s;
    int fd;
    union {
        struct sockaddr sa;
        struct sockaddr_in6 in6;
        struct sockaddr_in in;
    } addr;
    socklen_t len;
    sd_event_source *io, *timer;
} Pending;

static void pending_free(Pending *p) {
    sd_event_source_disable_unref(p->io);
    sd_event_source_disable_unref(p->timer);
    if (p->fd >= 0)
        close(p->fd);
    free(p);
}

static int on_peek(sd_event_source *src, int fd, uint32_t revents, void *ud) {
    Pending *p = ud;
    (void) src;
    (void) revents;
    uint8_t first = 0;
    ssize_t n = recv(fd, &first, 1, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n == 1) {
        HttpServer *target = first == 0x16 ? p->s->tls_http : p->s->plain_http;
        int cfd = p->fd;
        p->fd = -1;
        (void) http_server_add_connection(target, cfd, &p->addr.sa, p->len);
    }
    pending_free(p);
    return 0;
}

static int on_peek_timeout(sd_event_source *src, uint64_t usec, void *ud) {
    (void) src;
    (void) usec;
    pending_free(ud);
    return 0;
}

static void address_text(const struct sockaddr *sa, char buf[INET6_ADDRSTRLEN]) {
    buf[0] = 0;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, buf, INET6_ADDRSTRLEN);
    else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], buf, INET6_ADDRSTRLEN);
        else
            inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
    }
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *ud) {
    PpServer *s = ud;
    (void) src;
    (void) revents;
    for (unsigned i = 0; i < 64 && !s->stopping; i++) {
        Pending *p = calloc(1, sizeof(*p));
        if (!p)
            return 0;
        p->s = s;
        p->len = sizeof(p->addr);
        p->fd = accept4(fd, &p->addr.sa, &p->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (p->fd < 0) {
            free(p);
            return 0; /* EAGAIN: another worker took it */
        }
        char addr[INET6_ADDRSTRLEN];
        address_text(&p->addr.sa, addr);
        if (!proxy_config_client_allowed(s->config, addr)) {
            log_denied(s, addr);
            pending_free(p);
            continue;
        }
        int one = 1;
        (void) setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        uint64_t now = 0;
        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        if (sd_event_add_io(s->event, &p->io, p->fd, EPOLLIN, on_peek, p) < 0 ||
            sd_event_add_time(
                s->event, &p->timer, CLOCK_MONOTONIC, now + PP_PEEK_TIMEOUT_USEC, 0,
                on_peek_timeout, p
            ) < 0)
            pending_free(p);
    }
    return 0;
}

static void worker_quiesce(void *ud) {
    PpServer *s = ud;
    s->stopping = true;
    (void) sd_event_source_set_enabled(s->accept_src, SD_EVENT_OFF);
    /* answer what is in flight without keep-alive, close idle keep-alive connections (other
     * nodes' pveproxy keep theirs open) */
    (void) http_server_quiesce(s->tls_http);
    (void) http_server_quiesce(s->plain_http);
}

static bool worker_busy(void *ud) {
    PpServer *s = ud;
    return http_server_n_connections(s->tls_http) + http_server_n_connections(s->plain_http) > 0;
}

static int worker_main(unsigned index, void *ud) {
    PpServer *s = ud;
    (void) index;
    _cleanup_(sd_event_unrefp) sd_event *e = NULL;
    int r = sd_event_new(&e);
    if (r < 0)
        return r;
    s->event = e; /* the supervisor's loop is not usable after fork */
    ForwarderConfig fcfg = {.daemon_url = s->daemon_url, .peer_port = s->peer_port};
    r = forwarder_new(e, &fcfg, &s->fwd);
    ApiServerConfig acfg = {
        .router = s->router,
        .env = &s->env,
        .check_csrf = true,
        .compress = s->config->compression,
        .forward = forward,
        .fallback = fallback,
        .access_log = access_log,
        .upgrade = upgrade,
        .userdata = s,
    };
    if (r >= 0)
        r = api_server_new(e, &acfg, &s->api);
    if (r >= 0 && s->log_fd >= 0)
        r = buffered_log_new(e, s->log_fd, &s->access_log);
    HttpServerConfig tcfg = HTTP_SERVER_CONFIG_INIT;
    tcfg.no_listen = true;
    tcfg.tls_cert_pem = s->cert_pem;
    tcfg.tls_key_pem = s->key_pem;
    tcfg.tls_priorities = s->tls_priorities;
    tcfg.tls_ticket_key = s->ticket_key;
    tcfg.tls_ticket_key_len = s->ticket_key_len;
    tcfg.handler = api_server_handle;
    tcfg.userdata = s->api;
    if (r >= 0)
        r = http_server_new(e, &tcfg, &s->tls_http);
    HttpServerConfig pcfg = HTTP_SERVER_CONFIG_INIT;
    pcfg.no_listen = true;
    pcfg.no_keepalive = true;
    pcfg.handler = redirect;
    pcfg.userdata = s;
    if (r >= 0)
        r = http_server_new(e, &pcfg, &s->plain_http);
    if (r >= 0)
        r = sd_event_add_io(e, &s->accept_src, s->listen_fd, EPOLLIN, on_accept, s);
    if (r >= 0) {
        PreforkServe serve = {.quiesce = worker_quiesce, .busy = worker_busy, .userdata = s};
        r = prefork_worker_run(e, &serve, PP_DRAIN_MSEC);
    } else
        log_error_errno(r, "worker: unable to start serving: %m");
    s->accept_src = sd_event_source_disable_unref(s->accept_src);
    s->tls_http = http_server_free(s->tls_http);
    s->plain_http = http_server_free(s->plain_http);
    s->api = api_server_free(s->api);
    s->fwd = forwarder_free(s->fwd);
    s->access_log = buffered_log_free(s->access_log);
    s->event = NULL;
    return r;
}

unsigned pp_server_workers(const PpServer *s) {
    return proxy_config_workers(s->config, sysconf(_SC_NPROCESSORS_ONLN));
}

int pp_server_start(PpServer *s, sd_event *e) {
    return prefork_new(e, pp_server_workers(s), worker_main, s, &s->pool);
}

int pp_server_reload(PpServer *s) {
    int r = load_config(s);
    if (r >= 0)
        r = load_cert(s);
    if (r < 0) {
        log_error(
            "reload failed, keeping the running workers: %s",
            pve_daemon_error_message() ?: strerror(-r)
        );
        return r;
    }
    /* a fresh access.log for the new workers: logrotate moved the old one away */
    int old_log = s->log_fd;
    if (open_access_log(s) < 0) {
        log_warning("%s; the new workers keep the old access log", pve_daemon_error_message());
        s->log_fd = old_log;
    } else
        safe_close(old_log);
    log_info("reloading: new workers with the current certificate, settings and access log");
    return prefork_reload(s->pool);
}

void pp_server_done(PpServer *s) {
    s->pool = prefork_free(s->pool, PP_DRAIN_MSEC + 2000);
    s->listen_fd = safe_close(s->listen_fd);
    s->log_fd = safe_close(s->log_fd);
    s->router = api_router_free(s->router);
    s->config = proxy_config_free(s->config);
    free(s->tls_priorities);
    free(s->cert_pem);
    if (s->key_pem)
        explicit_bzero(s->key_pem, strlen(s->key_pem));
    free(s->key_pem);
    free(s->nodename);
    if (s->ticket_key) {
        gnutls_memset(s->ticket_key, 0, s->ticket_key_len);
        gnutls_free(s->ticket_key);
    }
    s->ticket_key = NULL;
    s->tls_priorities = s->cert_pem = s->key_pem = s->nodename = NULL;
}
