/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pveproxy-static: static files of the web UI (see pveproxy-static.h).
 */
#include "pveproxy-static.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "pve/fileio.h"
#include "pve/string-util.h"
#include "pveproxy-server.h"

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html;charset=UTF-8"},
    {".htm", "text/html;charset=UTF-8"},
    {".js", "application/javascript;charset=UTF-8"},
    {".css", "text/css;charset=UTF-8"},
    {".json", "application/json;charset=UTF-8"},
    {".png", "image/png"},
    {".gif", "image/gif"},
    {".jpg", "image/jpeg"},
    {".svg", "image/svg+xml"},
    {".ico", "image/x-icon"},
    {".woff", "font/woff"},
    {".woff2", "font/woff2"},
    {".ttf", "font/ttf"},
    {".txt", "text/plain;charset=UTF-8"},
    {".map", "application/json;charset=UTF-8"},
};

static const char *content_type(const char *path) {
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < ELEMENTSOF(types); i++)
        if (strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

bool pp_static_path_ok(const char *path) {
    if (!path || path[0] != '/')
        return false;
    const char *p = path + 1;
    if (!*p)
        return false;
    while (*p) {
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
        if (n == 0 || p[0] == '.')
            return false;
        p += n;
        if (*p == '/') {
            p++;
            if (!*p)
                return false;
        } else if (*p)
            return false;
    }
    return true;
}

static const char notice[] =
    "<!DOCTYPE html>\n<html><head><title>Proxmox VE</title></head><body>\n"
    "<h1>Proxmox VE</h1>\n<p>The web interface is not installed on this node. The API answers "
    "under <a href=\"/api2/json/version\">/api2/json/</a>; its OpenAPI description is at "
    "<a href=\"/api2/openapi.json\">/api2/openapi.json</a>.</p>\n</body></html>\n";

/* open root/path walking one component at a time with O_NOFOLLOW */
static int open_below(const char *root, const char *path) {
    int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    _cleanup_free_ char *copy = strdup(path + 1);
    if (!copy) {
        close(dfd);
        return -ENOMEM;
    }
    char *save = NULL, *next = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = next) {
        next = strtok_r(NULL, "/", &save);
        int fd = openat(dfd, c, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (next ? O_DIRECTORY : 0));
        int err = errno;
        close(dfd);
        if (fd < 0)
            return -err;
        dfd = fd;
    }
    return dfd;
}

static void http_date(time_t t, char buf[64]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void pp_static_serve(ApiServer *s, HttpRequest *req, const char *root_dir) {
    HttpMethod m = http_request_method(req);
    if (m != HTTP_METHOD_GET) {
        api_server_reply(s, req, 501, "method not available", NULL, NULL, 0, NULL, NULL);
        return;
    }
    const char *path = http_request_path(req);
    bool index = streq(path, "/") || streq(path, "/index.html");
    if (index)
        path = "/index.html";
    if (!pp_static_path_ok(path)) {
        api_server_reply(s, req, 404, "Not Found", NULL, NULL, 0, NULL, NULL);
        return;
    }
    int fd = open_below(root_dir, path);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
                    (uint64_t) st.st_size > PP_MAX_STATIC_SIZE)) {
        close(fd);
        fd = -ENOENT;
    }
    if (fd < 0) {
        if (index)
            api_server_reply(
                s, req, 200, NULL, "text/html;charset=UTF-8", notice, sizeof(notice) - 1, NULL, NULL
            );
        else
            api_server_reply(s, req, 404, "Not Found", NULL, NULL, 0, NULL, NULL);
        return;
    }
    char lm[64];
    http_date(st.st_mtime, lm);
    const char *ims = http_request_header(req, "If-Modified-Since");
    if (ims && streq(ims, lm)) {
        close(fd);
        const char *h[] = {"Last-Modified", lm, NULL};
        api_server_reply(s, req, 304, NULL, NULL, NULL, 0, h, NULL);
        return;
    }
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    int r = read_full_fd(fd, PP_MAX_STATIC_SIZE, (size_t) st.st_size, &data, &len);
    close(fd);
    if (r < 0) {
        api_server_reply(s, req, 500, "unable to read file", NULL, NULL, 0, NULL, NULL);
        return;
    }
    const char *h[] = {"Last-Modified", lm, NULL};
    api_server_reply(s, req, 200, NULL, content_type(path), data, len, h, NULL);
}
