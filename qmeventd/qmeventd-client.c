/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The protocol with one qmeventd client (specs/api.md §10).
 *
 * QEMU connects through its `qmp-event` chardev and greets with {"QMP":...}: its VMID comes
 * from the -pidfile in /proc/<pid>/cmdline, then qmp_capabilities completes the handshake. A
 * SHUTDOWN event records graceful=1 and data.guest, then a status check follows: query-status,
 * and a VM that is not running/paused/suspended/prelaunch, with no backup running, is told to
 * quit (SIGTERM if that write fails) and gets SIGKILL after the kill timeout. When QEMU's
 * connection closes (it exited), `qm cleanup <vmid> <graceful> <guest>` runs.
 *
 * vzdump connects and sends {"vzdump":{"vmid":"<id>"}}: the VM is not stopped while that
 * connection lasts; when it closes, the VM's status check runs again.
 */
#include <sys/pidfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/macro.h"
#include "qmeventd.h"

static int client_send(Client *c, const char *msg) {
    size_t len = strlen(msg);
    ssize_t n = send(c->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0)
        return -errno;
    return (size_t) n == len ? 0 : -EAGAIN;
}

static void terminate(Client *c) {
    c->state = QEMU_TERMINATING;
    log_info("%s: terminating", c->vmid);
    int r = client_send(c, "{\"execute\":\"quit\"}\n");
    if (r < 0) {
        log_warning_errno(r, "%s: cannot send quit (%m), sending SIGTERM", c->vmid);
        if (pidfd_send_signal(c->pidfd, SIGTERM, NULL, 0) < 0)
            log_warning_errno(errno, "%s: SIGTERM to pid %d failed: %m", c->vmid, (int) c->pid);
    }
    r = server_schedule_kill(c->server, c);
    if (r < 0)
        log_error_errno(r, "%s: cannot schedule the forced kill: %m", c->vmid);
}

/* Ask QEMU for its status (the answer decides about quitting), or queue the check until the
 * pending request is answered. */
static void status_check(Client *c) {
    if (c->state != QEMU_IDLE) {
        c->check_queued = c->state != QEMU_TERMINATING;
        return;
    }
    c->check_queued = false;
    if (c->backup) {
        log_debug("%s: not quitting, a backup is running", c->vmid);
        return;
    }
    int r = client_send(c, "{\"execute\":\"query-status\"}\n");
    if (r < 0) {
        log_warning_errno(r, "%s: cannot send query-status: %m", c->vmid);
        return;
    }
    c->state = QEMU_EXPECT_STATUS;
}

static bool status_is_active(json_t *ret) {
    const char *st = json_string_value(json_object_get(ret, "status"));
    return st && (streq(st, "running") || streq(st, "paused") || streq(st, "suspended") ||
                  streq(st, "prelaunch"));
}

static void qemu_on_reply(Client *c, json_t *msg) {
    json_t *ret = json_object_get(msg, "return");
    switch (c->state) {
    case QEMU_HANDSHAKE:
        if (!ret)
            log_warning("%s: qmp_capabilities failed", c->vmid);
        c->state = QEMU_IDLE;
        break;
    case QEMU_EXPECT_STATUS:
        c->state = QEMU_IDLE;
        if (c->backup)
            log_debug("%s: not quitting, a backup is running", c->vmid);
        else if (!ret)
            log_warning("%s: query-status failed", c->vmid);
        else if (!status_is_active(ret)) {
            terminate(c);
            return;
        } else
            log_debug("%s: still active, not quitting", c->vmid);
        break;
    case QEMU_IDLE:
    case QEMU_TERMINATING:
        return;
    }
    if (c->check_queued)
        status_check(c);
}

static void qemu_on_event(Client *c, const char *event, json_t *msg) {
    if (c->state == QEMU_TERMINATING || !streq(event, "SHUTDOWN"))
        return;
    json_t *data = json_object_get(msg, "data");
    c->graceful = true;
    c->guest = json_is_true(json_object_get(data, "guest"));
    log_debug("%s: shutdown, guest: %d", c->vmid, c->guest);
    status_check(c);
}

/* Returns false when the client is gone. */
static bool qemu_handshake(Client *c) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int) c->pid);
    _cleanup_free_ char *cmdline = NULL;
    size_t len;
    int r = read_full_file(path, 1 << 20, &cmdline, &len);
    if (r < 0) {
        log_error_errno(r, "cannot read %s: %m", path);
        client_closed(c);
        return false;
    }
    r = qmeventd_vmid_from_cmdline(cmdline, len, c->vmid);
    if (r < 0) {
        log_error("could not get the VMID of QEMU process %d from its -pidfile", (int) c->pid);
        client_closed(c);
        return false;
    }
    c->type = CLIENT_QEMU;
    c->state = QEMU_HANDSHAKE;
    c->backup = server_backup_running(c->server, c->vmid);
    log_debug("%s: QEMU pid %d connected", c->vmid, (int) c->pid);
    r = client_send(c, "{\"execute\":\"qmp_capabilities\"}\n");
    if (r < 0) {
        log_error_errno(r, "%s: cannot send qmp_capabilities: %m", c->vmid);
        client_closed(c);
        return false;
    }
    return true;
}

static void vzdump_handshake(Client *c, json_t *vzdump) {
    const char *vmid = json_string_value(json_object_get(vzdump, "vmid"));
    if (!vmid || !*vmid || strlen(vmid) >= sizeof c->vmid) {
        log_warning("vzdump client pid %d sent no valid vmid", (int) c->pid);
        return;
    }
    c->type = CLIENT_VZDUMP;
    snprintf(c->vmid, sizeof c->vmid, "%s", vmid);
    Client *vm = server_find_qemu(c->server, vmid);
    if (vm)
        vm->backup = true;
    log_debug("%s: backup started (vzdump pid %d)", vmid, (int) c->pid);
}

/* Returns false when the client is gone. */
static bool client_on_message(Client *c, json_t *msg) {
    if (!json_is_object(msg))
        return true;
    switch (c->type) {
    case CLIENT_NEW: {
        json_t *vzdump = json_object_get(msg, "vzdump");
        if (json_object_get(msg, "QMP"))
            return qemu_handshake(c);
        if (json_is_object(vzdump))
            vzdump_handshake(c, vzdump);
        return true;
    }
    case CLIENT_QEMU: {
        const char *event = json_string_value(json_object_get(msg, "event"));
        if (event)
            qemu_on_event(c, event, msg);
        else if (json_object_get(msg, "return") || json_object_get(msg, "error"))
            qemu_on_reply(c, msg);
        return true;
    }
    case CLIENT_VZDUMP:
        return true;
    }
    return true;
}

void client_closed(Client *c) {
    Server *s = c->server;
    if (c->type == CLIENT_QEMU) {
        log_debug("%s: QEMU closed the connection", c->vmid);
        server_run_cleanup(s, c->vmid, c->graceful, c->guest);
    }
    ClientType type = c->type;
    char vmid[QMEVENTD_VMID_MAX];
    snprintf(vmid, sizeof vmid, "%s", c->vmid);
    server_drop_client(s, c);
    if (type != CLIENT_VZDUMP || server_backup_running(s, vmid))
        return;
    Client *vm = server_find_qemu(s, vmid);
    if (vm) {
        log_debug("%s: backup ended", vmid);
        vm->backup = false;
        status_check(vm);
    }
}

int client_on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
    (void) src, (void) revents;
    Client *c = userdata;
    ssize_t n = recv(fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        client_closed(c);
        return 0;
    }
    c->len += (size_t) n;
    for (;;) {
        _cleanup_json_ json_t *msg = NULL;
        int r = qmeventd_next_message(c->buf, &c->len, sizeof c->buf, &msg);
        if (r == 0)
            return 0;
        if (r < 0) {
            log_warning_errno(r, "client pid %d sent invalid data, discarded: %m", (int) c->pid);
            continue;
        }
        if (!client_on_message(c, msg))
            return 0;
    }
}
