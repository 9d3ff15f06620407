/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qmp: blocking QMP client with bounded waits (see pve/qmp.h). Messages are JSON objects;
 * QEMU ends each with CRLF, but the reader does not rely on it: it parses one value at a time
 * from the buffer and keeps what follows.
 */
#include "pve/qmp.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/paths.h"
#include "pve/string-util.h"

#define QMP_BUFFER_MAX (4u << 20) /* one answer (query-* can be large) */

struct Qmp {
    int fd;
    char *buf;
    size_t len, allocated;
    json_t *events;
    unsigned long id;
};

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int qmp_socket_path(uint32_t vmid, char **ret) {
    return asprintf(ret, "%s/%u.qmp", PVE_QEMU_RUNDIR, vmid) < 0 ? -ENOMEM : 0;
}

Qmp *qmp_close(Qmp *q) {
    if (!q)
        return NULL;
    if (q->fd >= 0)
        close(q->fd);
    free(q->buf);
    json_decref(q->events);
    free(q);
    return NULL;
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, long long deadline) {
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int) (left > 1000000 ? 1000000 : left));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

/* Next complete JSON object from the stream. */
static int read_message(Qmp *q, long long deadline, json_t **ret) {
    for (;;) {
        /* skip whitespace between messages */
        size_t skip = 0;
        while (skip < q->len && strchr(" \t\r\n", q->buf[skip]))
            skip++;
        if (skip) {
            memmove(q->buf, q->buf + skip, q->len - skip);
            q->len -= skip;
        }
        if (q->len > 0) {
            json_error_t e;
            json_t *j = json_loadb(q->buf, q->len, JSON_DISABLE_EOF_CHECK, &e);
            if (j) {
                size_t used = e.position;
                memmove(q->buf, q->buf + used, q->len - used);
                q->len -= used;
                if (!json_is_object(j)) {
                    json_decref(j);
                    return -EPROTO;
                }
                *ret = j;
                return 0;
            }
            /* incomplete unless the error is before the end of what we have */
            if ((size_t) e.position < q->len &&
                json_error_code(&e) != json_error_premature_end_of_input)
                return -EPROTO;
        }
        if (q->len + 4096 > q->allocated) {
            if (q->allocated >= QMP_BUFFER_MAX)
                return -E2BIG;
            size_t n = q->allocated ? q->allocated * 2 : 8192;
            char *b = realloc(q->buf, n);
            if (!b)
                return -ENOMEM;
            q->buf = b;
            q->allocated = n;
        }
        int r = wait_fd(q->fd, POLLIN, deadline);
        if (r < 0)
            return r;
        ssize_t k = read(q->fd, q->buf + q->len, q->allocated - q->len - 1);
        if (k == 0)
            return -ECONNRESET;
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        q->len += (size_t) k;
    }
}

static int
send_command(Qmp *q, const char *command, json_t *arguments, unsigned long id, long long deadline) {
    _cleanup_json_ json_t *msg = json_pack("{s:s,s:I}", "execute", command, "id", (json_int_t) id);
    if (!msg || (arguments && json_object_set(msg, "arguments", arguments) < 0))
        return -ENOMEM;
    _cleanup_free_ char *text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    size_t len = strlen(text), off = 0;
    text[len] = '\0';
    while (off < len) {
        int r = wait_fd(q->fd, POLLOUT, deadline);
        if (r < 0)
            return r;
        ssize_t k = send(q->fd, text + off, len - off, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        off += (size_t) k;
    }
    return 0;
}

static int execute(
    Qmp *q,
    const char *command,
    json_t *arguments,
    long long deadline,
    json_t **ret_return,
    char **reterr
) {
    unsigned long id = ++q->id;
    int r = send_command(q, command, arguments, id, deadline);
    if (r < 0)
        return set_error_message(reterr, r, "QMP command '%s' failed - %s", command, strerror(-r));
    for (;;) {
        _cleanup_json_ json_t *m = NULL;
        r = read_message(q, deadline, &m);
        if (r == -ETIMEDOUT)
            return set_error_message(
                reterr, r, "VM qmp command '%s' failed - got timeout", command
            );
        if (r < 0)
            return set_error_message(
                reterr, r, "QMP command '%s' failed - %s", command, strerror(-r)
            );
        if (json_object_get(m, "event")) {
            if (!q->events)
                q->events = json_array();
            if (q->events)
                json_array_append(q->events, m);
            continue;
        }
        json_t *mid = json_object_get(m, "id");
        if (!json_is_integer(mid) || (unsigned long) json_integer_value(mid) != id)
            continue; /* an answer to a command we gave up on */
        json_t *err = json_object_get(m, "error");
        if (err) {
            const char *desc = json_string_value(json_object_get(err, "desc"));
            return set_error_message(
                reterr, -EIO, "VM qmp command '%s' failed - %s", command, desc ?: "unknown error"
            );
        }
        if (ret_return)
            *ret_return = json_incref(json_object_get(m, "return"));
        return 0;
    }
}

int qmp_connect(const char *path, unsigned timeout_ms, Qmp **ret, char **reterr) {
    long long deadline = now_ms() + (timeout_ms ? timeout_ms : QMP_TIMEOUT_DEFAULT_MS);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return set_error_message(reterr, -ENAMETOOLONG, "QMP socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    _cleanup_(qmp_closep) Qmp *q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (q->fd < 0)
        return -errno;
    /* QEMU accepts from its main loop: a busy VM may take a moment; retry briefly on EAGAIN */
    while (connect(q->fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
        int e = errno;
        if (e == EINPROGRESS) {
            int r = wait_fd(q->fd, POLLOUT, deadline);
            if (r < 0)
                return set_error_message(
                    reterr, r, "unable to connect to qmp socket '%s' - %s", path, strerror(-r)
                );
            socklen_t sl = sizeof e;
            if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
                e = errno;
            if (e == 0)
                break;
        }
        if (e != EAGAIN && e != EINTR)
            return set_error_message(
                reterr, -e, "unable to connect to qmp socket '%s' - %s", path, strerror(e)
            );
        if (now_ms() >= deadline)
            return set_error_message(
                reterr, -ETIMEDOUT, "unable to connect to qmp socket '%s' - got timeout", path
            );
        struct timespec ts = {.tv_nsec = 10000000};
        nanosleep(&ts, NULL);
    }
    _cleanup_json_ json_t *greeting = NULL;
    int r = read_message(q, deadline, &greeting);
    if (r < 0 || !json_object_get(greeting, "QMP"))
        return set_error_message(reterr, r < 0 ? r : -EPROTO, "no QMP greeting on '%s'", path);
    if ((r = execute(q, "qmp_capabilities", NULL, deadline, NULL, reterr)) < 0)
        return r;
    *ret = TAKE_PTR(q);
    return 0;
}

int qmp_execute(
    Qmp *q,
    const char *command,
    json_t *arguments,
    unsigned timeout_ms,
    json_t **ret_return,
    char **reterr
) {
    long long deadline = now_ms() + (timeout_ms ? timeout_ms : QMP_TIMEOUT_DEFAULT_MS);
    return execute(q, command, arguments, deadline, ret_return, reterr);
}

json_t *qmp_take_events(Qmp *q) {
    json_t *e = q->events ? q->events : json_array();
    q->events = NULL;
    return e;
}

int qmp_command(
    uint32_t vmid,
    const char *command,
    json_t *arguments,
    unsigned timeout_ms,
    json_t **ret_return,
    char **reterr
) {
    _cleanup_free_ char *path = NULL;
    if (qmp_socket_path(vmid, &path) < 0)
        return -ENOMEM;
    _cleanup_(qmp_closep) Qmp *q = NULL;
    _cleanup_free_ char *e = NULL;
    int r = qmp_connect(path, timeout_ms, &q, &e);
    if (r < 0)
        return set_error_message(
            reterr, r, "VM %u qmp command '%s' failed - %s", vmid, command, e ?: strerror(-r)
        );
    return qmp_execute(q, command, arguments, timeout_ms, ret_return, reterr);
}
