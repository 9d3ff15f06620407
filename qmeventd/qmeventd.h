/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qmeventd's internals (specs/api.md §10), shared by its files:
 *   qmeventd-parse.c   pure parsers: JSON message framing of a client's byte stream, the VMID
 *                      from a QEMU command line
 *   qmeventd-server.c  the listening socket, accepting root clients with a pidfd, the client
 *                      list, forced kills after the timeout, `qm cleanup` children
 *   qmeventd-client.c  the protocol with one client: QMP handshake and SHUTDOWN handling for
 *                      QEMU, backup notifications from vzdump
 *   qmeventd.c         command line, daemonizing, the event loop
 */
#pragma once

#include <sys/types.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#define QMEVENTD_BUF_SIZE       4096 /* bytes buffered per client, as upstream */
#define QMEVENTD_VMID_MAX       16   /* VMID text incl. NUL (upstream VMIDs have <= 9 digits) */
#define QMEVENTD_DEFAULT_KILL_S 60
#define QMEVENTD_SOCKET         "/var/run/qmeventd.sock"

/* ---- qmeventd-parse.c ---- */

/*
 * Take the next complete JSON value (object or array) from the start of buf[0..*len) and
 * remove it, with the blanks before it, from the buffer. Returns 1 with *ret set, 0 when the
 * buffer holds no complete value yet (leading blanks are dropped), -EBADMSG when the data is
 * not JSON: the value that failed (or, when its end cannot be found, the whole buffer) is
 * dropped so the caller can go on with the rest. A value that does not end within max bytes is
 * an error too (-EMSGSIZE, buffer dropped) once *len reached max.
 */
int qmeventd_next_message(char *buf, size_t *len, size_t max, json_t **ret);

/*
 * The VMID of a QEMU process from its /proc/<pid>/cmdline (NUL-separated arguments): the
 * argument after "-pidfile", whose base name must be "<digits>.pid". -ENOENT without -pidfile,
 * -EINVAL when the name does not fit.
 */
int qmeventd_vmid_from_cmdline(const char *cmdline, size_t len, char ret[static QMEVENTD_VMID_MAX]);

/* ---- qmeventd-server.c / qmeventd-client.c ---- */

typedef struct Server Server;
typedef struct Client Client;
typedef struct ForcedKill ForcedKill;

typedef enum ClientType {
    CLIENT_NEW,    /* nothing received yet */
    CLIENT_QEMU,   /* sent a QMP greeting */
    CLIENT_VZDUMP, /* announced a backup */
} ClientType;

typedef enum QemuState {
    QEMU_HANDSHAKE,     /* qmp_capabilities sent, waiting for its return */
    QEMU_IDLE,          /* nothing pending */
    QEMU_EXPECT_STATUS, /* query-status sent */
    QEMU_TERMINATING,   /* quit sent (or SIGTERM): events are ignored now */
} QemuState;

struct Client {
    Server *server;
    Client *prev, *next;
    int fd;
    int pidfd;
    pid_t pid;
    sd_event_source *io;
    ClientType type;
    QemuState state;
    char vmid[QMEVENTD_VMID_MAX]; /* QEMU: its VMID; vzdump: the VM being backed up */
    bool graceful;                /* QEMU: SHUTDOWN seen */
    bool guest;                   /* QEMU: the guest asked for it (SHUTDOWN data.guest) */
    bool backup;                  /* QEMU: a vzdump client holds this VMID */
    bool check_queued;            /* QEMU: a status check waits for the pending request */
    size_t len;
    char buf[QMEVENTD_BUF_SIZE];
};

struct Server {
    sd_event *event;
    int listen_fd;
    sd_event_source *listen_src;
    sd_event_source *sigchld_src;
    uint64_t kill_timeout_usec;
    const char *qm_bin; /* `qm`, run as `<qm_bin> cleanup <vmid> <graceful> <guest>` */
    Client *clients;
    ForcedKill *kills;
};

/* Serve on listen_fd (listening, non-blocking; owned by the server from now on). SIGCHLD must
 * be blocked: the server reaps its children through the loop. */
int server_new(
    sd_event *event, int listen_fd, unsigned kill_timeout_s, const char *qm_bin, Server **ret
);
Server *server_free(Server *s);

/* The connected QEMU client with that VMID, or NULL. */
Client *server_find_qemu(Server *s, const char *vmid);
/* Whether a vzdump client announced a backup of vmid. */
bool server_backup_running(Server *s, const char *vmid);
/* SIGKILL the client's process after the kill timeout unless it exited before. */
int server_schedule_kill(Server *s, Client *c);
/* fork and exec `qm cleanup <vmid> <graceful> <guest>`. */
void server_run_cleanup(Server *s, const char *vmid, bool graceful, bool guest);
/* Unlink and free a client (its descriptors are closed). */
void server_drop_client(Server *s, Client *c);

/* sd-event handler of a client connection (userdata: the Client). */
int client_on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata);
/* The client is going away: QEMU -> run the cleanup, vzdump -> the VM's status check. */
void client_closed(Client *c);
