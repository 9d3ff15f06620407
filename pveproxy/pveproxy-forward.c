/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pveproxy-forward: libcurl multi on sd-event for forwarded API calls (see pveproxy-forward.h).
 */
#include "pveproxy-forward.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pve/auth-ticket.h"
#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"
#include "pve/log.h"
#include "pve/strbuf.h"
#include "pve/string-util.h"

struct Forwarder {
    sd_event *event;
    CURLM *multi;
    sd_event_source *timer;
    char *daemon_url;
    unsigned peer_port;
};

typedef struct Job {
    Forwarder *f;
    ApiServer *server;
    HttpRequest *req;
    CURL *easy;
    struct curl_slist *headers;
    char *user;
    char *body; /* request body copy (curl reads it during the transfer) */
    StrBuf answer;
    char reason[256];
    char content_type[128];
    char content_encoding[32];
    char error[CURL_ERROR_SIZE];
    bool to_daemon;         /* the local pvedaemon, whose pvestreamfile answers we honour */
    char stream_file[4096]; /* its pvestreamfile header: the file to send instead of the body */
} Job;

typedef struct Sock {
    sd_event_source *src;
} Sock;

static void job_free(Job *j) {
    if (!j)
        return;
    if (j->easy) {
        curl_multi_remove_handle(j->f->multi, j->easy);
        curl_easy_cleanup(j->easy);
    }
    curl_slist_free_all(j->headers);
    free(j->user);
    free(j->body);
    strbuf_done(&j->answer);
    free(j);
}

/* ---- sd-event glue -----------------------------------------------------------------------------
 */

static void check_done(Forwarder *f);

static int on_socket_event(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
    Forwarder *f = userdata;
    (void) src;
    int flags = 0, running = 0;
    if (revents & EPOLLIN)
        flags |= CURL_CSELECT_IN;
    if (revents & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (revents & (EPOLLERR | EPOLLHUP))
        flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(f->multi, fd, flags, &running);
    check_done(f);
    return 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
    Forwarder *f = userp;
    Sock *sk = socketp;
    (void) easy;
    if (what == CURL_POLL_REMOVE) {
        if (sk) {
            sd_event_source_disable_unref(sk->src);
            free(sk);
            curl_multi_assign(f->multi, fd, NULL);
        }
        return 0;
    }
    uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (!sk) {
        sk = calloc(1, sizeof(*sk));
        if (!sk)
            return -1;
        if (sd_event_add_io(f->event, &sk->src, fd, events, on_socket_event, f) < 0) {
            free(sk);
            return -1;
        }
        curl_multi_assign(f->multi, fd, sk);
        return 0;
    }
    return sd_event_source_set_io_events(sk->src, events) < 0 ? -1 : 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
    Forwarder *f = userdata;
    (void) src;
    (void) usec;
    int running = 0;
    curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(f);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
    Forwarder *f = userp;
    (void) multi;
    if (timeout_ms < 0)
        return sd_event_source_set_enabled(f->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
    uint64_t now = 0;
    (void) sd_event_now(f->event, CLOCK_MONOTONIC, &now);
    if (sd_event_source_set_time(f->timer, now + (uint64_t) timeout_ms * 1000) < 0 ||
        sd_event_source_set_enabled(f->timer, SD_EVENT_ONESHOT) < 0)
        return -1;
    return 0;
}

int forwarder_new(sd_event *e, const ForwarderConfig *cfg, Forwarder **ret) {
    static bool global_init;
    if (!global_init) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return -EIO;
        global_init = true;
    }
    Forwarder *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->event = sd_event_ref(e);
    f->peer_port = cfg->peer_port ?: 8006;
    f->daemon_url = strdup(cfg->daemon_url ?: "http://127.0.0.1:85");
    f->multi = curl_multi_init();
    int r = -ENOMEM;
    if (f->daemon_url && f->multi) {
        curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
        curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
        curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
        /* accuracy 1 us: with 0 sd-event applies its default of 250 ms, and libcurl's
         * "act now" timeouts (0-1 ms, e.g. right after curl_multi_add_handle) would each wait
         * up to that long before the request to pvedaemon even starts */
        r = sd_event_add_time(e, &f->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_timer, f);
        if (r >= 0)
            r = sd_event_source_set_enabled(f->timer, SD_EVENT_OFF);
    }
    if (r < 0) {
        forwarder_free(f);
        return r;
    }
    *ret = f;
    return 0;
}

Forwarder *forwarder_free(Forwarder *f) {
    if (!f)
        return NULL;
    /* jobs still running belong to requests that the HTTP server aborts (their abort
     * callback frees them) before the forwarder goes away */
    if (f->multi)
        curl_multi_cleanup(f->multi);
    sd_event_source_disable_unref(f->timer);
    sd_event_unref(f->event);
    free(f->daemon_url);
    free(f);
    return NULL;
}

/* ---- answers -----------------------------------------------------------------------------------
 */

static unsigned error_status(CURLcode c, const char **ret_text) {
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        *ret_text = "Connection refused";
        return 595;
    case CURLE_OPERATION_TIMEDOUT:
        *ret_text = "Connection timed out";
        return 596;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CACERT_BADFILE:
        *ret_text = "TLS negotiation failed (certificate not trusted)";
        return 596;
    case CURLE_SEND_ERROR:
        *ret_text = "Error sending the request";
        return 596;
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        *ret_text = "Error receiving the answer";
        return 597;
    default:
        *ret_text = curl_easy_strerror(c);
        return 599;
    }
}

static void finish(Job *j, CURLcode code) {
    http_request_set_userdata(j->req, NULL, NULL);
    if (code != CURLE_OK) {
        const char *text = NULL;
        unsigned st = error_status(code, &text);
        curl_off_t connected = 0;
        if (code == CURLE_OPERATION_TIMEDOUT &&
            curl_easy_getinfo(j->easy, CURLINFO_CONNECT_TIME_T, &connected) == CURLE_OK &&
            connected == 0) {
            /* never connected: a failure of connection establishment, as AnyEvent says */
            st = 595;
            text = "Connection timed out";
        }
        log_warning("proxy request failed: %s (%s)", text, j->error[0] ? j->error : "-");
        api_server_reply(j->server, j->req, st, text, NULL, NULL, 0, NULL, j->user);
        job_free(j);
        return;
    }
    long status = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200 && j->to_daemon && j->stream_file[0]) {
        /* a download: pvedaemon named the file, we stream it (as www-data) */
        api_server_reply_file(
            j->server, j->req, j->stream_file,
            j->content_type[0] ? j->content_type : "application/octet-stream", j->user
        );
        job_free(j);
        return;
    }
    const char *extra[3] = {NULL, NULL, NULL};
    if (j->content_encoding[0]) {
        extra[0] = "Content-Encoding";
        extra[1] = j->content_encoding;
    }
    api_server_reply(
        j->server, j->req, (unsigned) status, j->reason[0] ? j->reason : NULL,
        j->content_type[0] ? j->content_type : NULL, j->answer.data ?: "", j->answer.len,
        extra[0] ? extra : NULL, j->user
    );
    job_free(j);
}

static void check_done(Forwarder *f) {
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(f->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        Job *j = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &j);
        if (j)
            finish(j, m->data.result);
    }
}

static size_t on_body(char *p, size_t size, size_t n, void *userdata) {
    Job *j = userdata;
    strbuf_append_len(&j->answer, p, size * n);
    return j->answer.error < 0 ? 0 : size * n;
}

static void copy_trimmed(char *dst, size_t cap, const char *src, size_t n) {
    while (n && (src[n - 1] == '\r' || src[n - 1] == '\n' || src[n - 1] == ' '))
        n--;
    while (n && *src == ' ') {
        src++;
        n--;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata) {
    Job *j = userdata;
    size_t len = size * n;
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* "HTTP/1.1 200 OK": the reason is the upstream error message */
        const char *sp = memchr(p, ' ', len);
        const char *sp2 = sp ? memchr(sp + 1, ' ', len - (size_t) (sp + 1 - p)) : NULL;
        j->reason[0] = 0;
        if (sp2)
            copy_trimmed(j->reason, sizeof(j->reason), sp2 + 1, len - (size_t) (sp2 + 1 - p));
        j->content_type[0] = j->content_encoding[0] = j->stream_file[0] = 0;
    } else if (len > 14 && strncasecmp(p, "pvestreamfile:", 14) == 0)
        copy_trimmed(j->stream_file, sizeof(j->stream_file), p + 14, len - 14);
    else if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0)
        copy_trimmed(j->content_type, sizeof(j->content_type), p + 13, len - 13);
    else if (len > 17 && strncasecmp(p, "Content-Encoding:", 17) == 0)
        copy_trimmed(j->content_encoding, sizeof(j->content_encoding), p + 17, len - 17);
    return len;
}

static void on_abort(HttpRequest *req, void *userdata) {
    (void) req;
    job_free(userdata);
}

/* ---- requests ----------------------------------------------------------------------------------
 */

int forwarder_node_address(const char *node, char **ret, bool *ret_offline) {
    _cleanup_free_ char *info = NULL;
    int r = cfs_ipc_get_cluster_info(&info, NULL);
    if (r < 0)
        return r;
    json_t *j = json_loads(info, 0, NULL);
    json_t *entry = json_object_get(json_object_get(j, "nodelist"), node);
    const char *ip = json_string_value(json_object_get(entry, "ip"));
    json_t *online = json_object_get(entry, "online");
    r = ip ? 0 : -ENOENT;
    if (ip && !(*ret = strdup(ip)))
        r = -ENOMEM;
    if (ret_offline)
        *ret_offline = json_is_integer(online) && json_integer_value(online) == 0;
    json_decref(j);
    return r;
}

/* "sha256//<base64>" of the public key of nodes/<node>/pve-ssl.pem (or pveproxy-ssl.pem) */
static int node_pin(const char *node, char **ret) {
    static const char *const files[] = {"pveproxy-ssl.pem", "pve-ssl.pem"};
    for (size_t i = 0; i < ELEMENTSOF(files); i++) {
        _cleanup_free_ char *path = NULL, *pem = NULL;
        if (asprintf(&path, "nodes/%s/%s", node, files[i]) < 0)
            return -ENOMEM;
        if (cfs_file_read(path, &pem, NULL) < 0)
            continue;
        BIO *b = BIO_new_mem_buf(pem, -1);
        X509 *c = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (!c)
            continue;
        uint8_t *der = NULL;
        int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der);
        X509_free(c);
        if (n <= 0)
            continue;
        uint8_t md[32];
        unsigned mdlen = 0;
        int ok = EVP_Digest(der, (size_t) n, md, &mdlen, EVP_sha256(), NULL);
        OPENSSL_free(der);
        if (!ok)
            return -EIO;
        _cleanup_free_ char *b64 = NULL;
        int r = auth_base64_encode(md, mdlen, true, &b64);
        if (r < 0)
            return r;
        return asprintf(ret, "sha256//%s", b64) < 0 ? -ENOMEM : 0;
    }
    return -ENOENT;
}

static int add_header(Job *j, const char *name, const char *value) {
    if (!value)
        return 0;
    _cleanup_free_ char *h = NULL;
    if (asprintf(&h, "%s: %s", name, value) < 0)
        return -ENOMEM;
    struct curl_slist *n = curl_slist_append(j->headers, h);
    if (!n)
        return -ENOMEM;
    j->headers = n;
    return 0;
}

/* params as application/x-www-form-urlencoded (arrays repeat their key) */
static int form_encode(CURL *e, const json_t *params, char **ret) {
    _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) params, key, v) {
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t i = 0; i < n; i++) {
            json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
            _cleanup_free_ char *text = NULL;
            if (json_is_string(item))
                text = strdup(json_string_value(item));
            else
                text = json_dumps(item, JSON_ENCODE_ANY | JSON_COMPACT);
            if (!text)
                return -ENOMEM;
            char *ek = curl_easy_escape(e, key, 0), *ev = curl_easy_escape(e, text, 0);
            if (ek && ev)
                strbuf_printf(&b, "%s%s=%s", b.len ? "&" : "", ek, ev);
            curl_free(ek);
            curl_free(ev);
            if (!ek || !ev)
                return -ENOMEM;
        }
    }
    strbuf_append(&b, "");
    return strbuf_finish(&b, ret, NULL);
}

int forwarder_forward(
    Forwarder *f,
    ApiServer *s,
    HttpRequest *req,
    const ApiCall *call,
    ApiRoute route,
    const char *node
) {
    _cleanup_free_ char *url = NULL, *addr = NULL, *pin = NULL;
    const char *path = http_request_path(req), *query = http_request_query(req);
    int r;
    if (route == API_ROUTE_NODE) {
        bool offline = false;
        r = forwarder_node_address(node, &addr, &offline);
        if (r < 0)
            return r;
        if (offline) {
            /* corosync lost it (its link or the node is down): a connection would only wait
             * for the timeout (upstream's 30 s) to say the same */
            _cleanup_free_ char *text = NULL;
            if (asprintf(&text, "node '%s' is offline (not in the cluster membership)", node) < 0)
                return -ENOMEM;
            log_warning("proxy request failed: %s", text);
            api_server_reply(s, req, 595, text, NULL, NULL, 0, NULL, call->user);
            return 0;
        }
        bool v6 = strchr(addr, ':') != NULL;
        r = asprintf(
            &url, "https://%s%s%s:%u%s%s%s", v6 ? "[" : "", addr, v6 ? "]" : "", f->peer_port, path,
            *query ? "?" : "", query
        );
        if (r >= 0)
            r = node_pin(node, &pin);
    } else
        r = asprintf(&url, "%s%s%s%s", f->daemon_url, path, *query ? "?" : "", query);
    if (r < 0)
        return r == -1 ? -ENOMEM : r;

    Job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->f = f;
    j->server = s;
    j->req = req;
    j->to_daemon = route == API_ROUTE_DAEMON;
    j->user = call->user ? strdup(call->user) : NULL;
    j->easy = curl_easy_init();
    size_t blen = 0;
    const char *body = http_request_body(req, &blen);
    bool upload = http_request_upload_path(req) != NULL;
    if (upload) {
        /* the file part is already on disk (as upstream, pveproxy spools uploads itself):
         * pvedaemon gets the form fields and tmpfilename, form-encoded */
        if (!j->easy || form_encode(j->easy, http_request_params(req), &j->body) < 0) {
            job_free(j);
            return -ENOMEM;
        }
        blen = strlen(j->body);
    } else {
        j->body = blen ? malloc(blen) : NULL;
        if (blen && j->body)
            memcpy(j->body, body, blen);
    }
    if (!j->easy || (call->user && !j->user) || (blen && !j->body)) {
        job_free(j);
        return -ENOMEM;
    }

    HttpMethod m = http_request_method(req);
    r = 0;
    r |= add_header(j, "PVEDisableProxy", "true");
    r |= add_header(j, "PVEClientIP", http_request_client_address(req));
    r |= add_header(j, "Cookie", http_request_header(req, "Cookie"));
    r |= add_header(j, "Authorization", http_request_header(req, "Authorization"));
    r |= add_header(j, "CSRFPreventionToken", http_request_header(req, "CSRFPreventionToken"));
    r |= add_header(j, "Accept-Encoding", http_request_header(req, "Accept-Encoding"));
    r |= add_header(j, "Host", http_request_header(req, "Host"));
    if (blen)
        r |= add_header(
            j, "Content-Type",
            upload ? "application/x-www-form-urlencoded" : http_request_header(req, "Content-Type")
        );
    r |= add_header(j, "Expect", ""); /* no 100-continue round trip */
    if (r < 0) {
        job_free(j);
        return -ENOMEM;
    }

    CURL *e = j->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->error);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, (long) FORWARD_TIMEOUT_SEC);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L); /* pass the encoding through */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (m == HTTP_METHOD_POST || m == HTTP_METHOD_PUT) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body ? j->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) blen);
    }
    if (m != HTTP_METHOD_GET && m != HTTP_METHOD_POST)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, http_method_to_string(m));
    if (route == API_ROUTE_DAEMON) {
        /* GETs reuse kept-alive connections to pvedaemon (libcurl retries a GET once on a
         * connection that died idle); anything else gets its own, never retried */
        if (m != HTTP_METHOD_GET)
            curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    } else {
        _cleanup_free_ char *ca = NULL;
        size_t calen = 0;
        if (cfs_file_read("pve-root-ca.pem", &ca, &calen) >= 0) {
            struct curl_blob blob = {.data = ca, .len = calen, .flags = CURL_BLOB_COPY};
            curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
        }
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L); /* the pinned key identifies the node */
        if (pin)
            curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, pin);
        if (m != HTTP_METHOD_GET)
            curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }

    r = http_request_suspend(req);
    if (r < 0) {
        job_free(j);
        return r;
    }
    http_request_set_userdata(req, j, on_abort);
    if (curl_multi_add_handle(f->multi, e) != CURLM_OK) {
        http_request_set_userdata(req, NULL, NULL);
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
        api_server_reply(
            s, req, 599, "unable to start the proxy request", NULL, NULL, 0, NULL, j->user
        );
        job_free(j);
    }
    return 0;
}
