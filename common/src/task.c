/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * task: worker processes of the API daemons, their logs, and the `active`/`index` files.
 *
 * Owns the on-disk task state below taskdir and nothing else: no event loop, no cluster log,
 * no broadcasting (the daemon does those with what task_update_active() returns). Never logs
 * above debug. The fork handshake uses one socketpair so a dead peer gives EOF/EPIPE rather
 * than SIGPIPE.
 */
#include "pve/task.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pve/fileio.h"
#include "pve/json-util.h"
#include "pve/log.h"
#include "pve/paths.h"
#include "pve/strbuf.h"

#define TASK_FILE_MAX   (16u * 1024 * 1024)
#define TASK_STATUS_MAX 4096u

struct TaskWorker {
    unsigned warnings;
    char *error;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static char *join_path(const char *dir, const char *name) {
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

/* Read state (field 3) and starttime (field 22) of /proc/<pid>/stat; pid 0 means self. Uses
 * only open/read so that it is usable right after fork(). */
static int proc_stat_read(uint32_t pid, char *ret_state, uint64_t *ret_pstart) {
    char path[64], buf[1024];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/stat");
    else
        snprintf(path, sizeof path, "/proc/%" PRIu32 "/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return negative_errno();
    ssize_t n;
    do
        n = read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    int saved = errno;
    (void) close(fd);
    if (n < 0)
        return saved > 0 ? -saved : -EIO;
    buf[n] = 0;
    /* comm may contain ')' and blanks: the fields start after the last ')' */
    char *p = strrchr(buf, ')');
    if (!p)
        return -EINVAL;
    p++;
    char state = 0;
    uint64_t start = 0;
    for (unsigned field = 3; field <= 22; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -EINVAL;
        if (field == 3)
            state = *p;
        if (field == 22) {
            if (*p < '0' || *p > '9')
                return -EINVAL;
            while (*p >= '0' && *p <= '9')
                start = start * 10 + (uint64_t) (*p++ - '0');
            break;
        }
        while (*p && *p != ' ')
            p++;
    }
    if (ret_state)
        *ret_state = state;
    if (ret_pstart)
        *ret_pstart = start;
    return 0;
}

bool task_process_running(uint32_t pid, uint64_t pstart) {
    char state;
    uint64_t start;
    if (pid == 0 || proc_stat_read(pid, &state, &start) < 0)
        return false;
    return state != 'Z' && state != 'X' && start == pstart;
}

static void replace_newlines(char *s) {
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        s[--len] = 0;
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static int parse_hex8(const char *s, uint32_t *ret) {
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -EINVAL;
        v = v << 4 | (uint32_t) d;
    }
    *ret = v;
    return 0;
}

/* ---- worker side ------------------------------------------------------------------------ */

void task_warn(TaskWorker *w, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("WARN: ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    if (w)
        w->warnings++;
}

void task_set_error(TaskWorker *w, const char *fmt, ...) {
    if (!w)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    free(w->error);
    w->error = s;
}

static void worker_interrupt(int sig) {
    static const char msg[] = "TASK ERROR: received interrupt\n";
    (void) sig;
    (void) !write(STDOUT_FILENO, msg, sizeof msg - 1);
    _exit(EXIT_FAILURE);
}

/* Tell the parent about a failure before the UPID exists, then give up. */
_noreturn_ static void worker_fail(int sock, int r) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "!%d\n", -r);
    (void) !send(sock, buf, (size_t) n, MSG_NOSIGNAL);
    _exit(EXIT_FAILURE);
}

_noreturn_ static void worker_main(
    int sock,
    const char *taskdir,
    const char *node,
    const char *type,
    const char *id,
    const char *user,
    uid_t www_uid,
    gid_t www_gid,
    bool have_www,
    TaskFunc fn,
    void *userdata
) {
    /* The daemon's event loop blocks signals it handles through signalfd; a worker must be
     * stoppable, so start from a clean mask and default dispositions. */
    sigset_t all;
    sigemptyset(&all);
    (void) sigprocmask(SIG_SETMASK, &all, NULL);
    static const int reset[] = {SIGCHLD, SIGPIPE, SIGUSR1, SIGUSR2, SIGQUIT, SIGALRM};
    for (size_t i = 0; i < ELEMENTSOF(reset); i++)
        (void) signal(reset[i], SIG_DFL);
    struct sigaction sa = {.sa_handler = worker_interrupt};
    sigemptyset(&sa.sa_mask);
    (void) sigaction(SIGTERM, &sa, NULL);
    (void) sigaction(SIGINT, &sa, NULL);
    (void) sigaction(SIGHUP, &sa, NULL);

    (void) setsid();

    Upid u = {0};
    int r = proc_stat_read(0, NULL, &u.pstart);
    if (r < 0)
        worker_fail(sock, r);
    u.pid = (uint32_t) getpid();
    u.starttime = (uint32_t) time(NULL);
    snprintf(u.node, sizeof u.node, "%s", node);
    snprintf(u.type, sizeof u.type, "%s", type);
    snprintf(u.id, sizeof u.id, "%s", id);
    snprintf(u.user, sizeof u.user, "%s", user);
    char *upid = NULL, *logpath = NULL;
    r = upid_encode(&u, &upid);
    if (r < 0)
        worker_fail(sock, r);
    r = upid_log_path(taskdir, upid, &logpath);
    if (r < 0)
        worker_fail(sock, r);
    r = mkdir_parents(logpath, 0755); /* also the task dir itself on a fresh node */
    if (r < 0)
        worker_fail(sock, r);
    int logfd = open(logpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    if (logfd < 0)
        worker_fail(sock, negative_errno());
    if (have_www)
        (void) fchown(logfd, www_uid, www_gid); /* fails when not root: fine */
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (nullfd < 0)
        worker_fail(sock, negative_errno());
    if (dup2(nullfd, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
        dup2(logfd, STDERR_FILENO) < 0)
        worker_fail(sock, negative_errno());
    if (nullfd > STDERR_FILENO)
        (void) close(nullfd);
    if (logfd > STDERR_FILENO)
        (void) close(logfd);

    /* Report the UPID; wait until the parent has registered it. */
    size_t len = strlen(upid);
    upid[len] = '\n';
    if (write_all(sock, upid, len + 1) < 0)
        _exit(EXIT_FAILURE);
    upid[len] = 0;
    char ack = 0;
    ssize_t n;
    do
        n = recv(sock, &ack, 1, 0);
    while (n < 0 && errno == EINTR);
    (void) close(sock);
    if (n != 1 || ack != '1')
        _exit(EXIT_FAILURE); /* parent gave up; it reaps us and the log stays incomplete */

    (void) setvbuf(stdout, NULL, _IOLBF, 0);
    TaskWorker w = {0};
    r = fn(&w, userdata);
    fflush(stdout);
    fflush(stderr);
    /* the status must be a line of its own even if fn left a partial line behind */
    struct stat st;
    char last;
    if (fstat(STDOUT_FILENO, &st) == 0 && st.st_size > 0 &&
        pread(STDOUT_FILENO, &last, 1, st.st_size - 1) == 1 && last != '\n')
        (void) !write(STDOUT_FILENO, "\n", 1);

    if (r < 0 || w.error) {
        const char *msg = w.error ? w.error : strerror(-r);
        char *m = strdup(msg[0] ? msg : "unknown error");
        if (m)
            replace_newlines(m);
        printf("TASK ERROR: %s\n", m ? m : "out of memory");
        fflush(stdout);
        _exit(EXIT_FAILURE);
    }
    if (w.warnings > 0)
        printf("TASK WARNINGS: %u\n", w.warnings);
    else
        printf("TASK OK\n");
    fflush(stdout);
    _exit(EXIT_SUCCESS);
}

static int task_register(const char *taskdir, const char *new_upid);

int task_start(
    const char *taskdir,
    const char *node,
    const char *type,
    const char *id,
    const char *user,
    TaskFunc fn,
    void *userdata,
    char **ret_upid
) {
    assert(fn);
    assert(ret_upid);
    if (!taskdir)
        taskdir = PVE_TASK_DIR;
    if (!id)
        id = "";
    if (!node || !type || !user || !upid_node_is_valid(node) || !upid_field_is_valid(type, false) ||
        !upid_field_is_valid(id, true) || !upid_field_is_valid(user, false))
        return -EINVAL;
    if (strlen(node) + strlen(type) + strlen(id) + strlen(user) + 48 > UPID_MAX_LEN)
        return -EINVAL;

    /* getpwnam() is not safe after fork() in a threaded process: look it up here. */
    uid_t www_uid = 0;
    gid_t www_gid = 0;
    bool have_www = false;
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam(PVE_WWW_USER);
        if (pw) {
            www_uid = pw->pw_uid;
            www_gid = pw->pw_gid;
            have_www = true;
        }
    }

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return negative_errno();
    /* Anything still buffered would be written twice, once by the child into the log. */
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        int r = negative_errno();
        safe_close(sv[0]);
        safe_close(sv[1]);
        return r;
    }
    if (pid == 0) {
        (void) close(sv[0]);
        worker_main(sv[1], taskdir, node, type, id, user, www_uid, www_gid, have_www, fn, userdata);
    }
    (void) close(sv[1]);
    _cleanup_close_ int sock = sv[0];

    /* Read "<UPID>\n" or "!<errno>\n". */
    char buf[UPID_MAX_LEN + 2];
    size_t got = 0;
    int r = 0;
    while (got < sizeof buf - 1) {
        ssize_t n = recv(sock, buf + got, sizeof buf - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? negative_errno() : -EIO;
            break;
        }
        got += (size_t) n;
        if (memchr(buf, '\n', got))
            break;
    }
    buf[got] = 0;
    char *nl = strchr(buf, '\n');
    _cleanup_free_ char *upid = NULL;
    if (r == 0 && !nl)
        r = -EIO;
    if (r == 0) {
        *nl = 0;
        Upid u;
        if (buf[0] == '!') {
            int e = atoi(buf + 1);
            r = e > 0 ? -e : -EIO;
        } else if (upid_decode(buf, &u) < 0 || u.pid != (uint32_t) pid) {
            r = -EPROTO;
        } else if (!(upid = strdup(buf))) {
            r = -ENOMEM;
        }
    }
    if (r == 0)
        r = task_register(taskdir, upid);
    if (r == 0) {
        char ack = '1';
        if (send(sock, &ack, 1, MSG_NOSIGNAL) != 1)
            r = negative_errno();
    }
    if (r < 0) {
        (void) kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return r;
    }
    *ret_upid = TAKE_PTR(upid);
    return 0;
}

/* ---- status of a finished task ---------------------------------------------------------- */

static int status_from_last_line(const char *line, char **ret) {
    char *s;
    if (streq(line, "TASK OK"))
        s = strdup("OK");
    else if (strneq(line, "TASK ERROR: ", 12) && line[12])
        s = strdup(line + 12);
    else if (strneq(line, "TASK WARNINGS: ", 15) && line[15] && strspn(line + 15, "0123456789") == strlen(line + 15))
        s = strdup(line + 5);
    else
        s = strdup("unexpected status");
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

int task_read_status(const char *taskdir, const char *upid, char **ret) {
    assert(ret);
    _cleanup_free_ char *path = NULL;
    int r = upid_log_path(taskdir ? taskdir : PVE_TASK_DIR, upid, &path);
    if (r < 0)
        return r;
    char *s = NULL;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (asprintf(&s, "unable to open file - %s", strerror(errno)) < 0)
            return -ENOMEM;
        *ret = s;
        return 0;
    }
    char buf[TASK_STATUS_MAX + 1];
    struct stat st;
    off_t off = 0;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t) TASK_STATUS_MAX)
        off = st.st_size - (off_t) TASK_STATUS_MAX;
    ssize_t n = pread(fd, buf, TASK_STATUS_MAX, off);
    if (n <= 0) {
        if (asprintf(&s, "unable to read tail (got %zd bytes)", n < 0 ? (ssize_t) 0 : n) < 0)
            return -ENOMEM;
        *ret = s;
        return 0;
    }
    buf[n] = 0;
    size_t len = (size_t) n;
    while (len > 0 && buf[len - 1] == '\n')
        buf[--len] = 0;
    char *line = memrchr(buf, '\n', len);
    line = line ? line + 1 : buf;
    return status_from_last_line(line, ret);
}

const char *task_status_type(const char *status) {
    if (!status || !status[0] || streq(status, "unexpected status"))
        return "unknown";
    if (streq(status, "OK"))
        return "ok";
    if (streq(status, "RUNNING"))
        return "running";
    if (strneq(status, "WARNINGS: ", 10) && status[10] &&
        strspn(status + 10, "0123456789") == strlen(status + 10))
        return "warning";
    return "error";
}

/* ---- JSON of a decoded UPID ------------------------------------------------------------- */

static json_t *task_json(const char *upid, const Upid *u) {
    json_auto_t *o = json_object();
    if (!o)
        return NULL;
    if (json_util_set_string(o, "upid", upid) < 0 || json_util_set_string(o, "node", u->node) < 0 ||
        json_util_set_int(o, "pid", u->pid) < 0 ||
        json_util_set_int(o, "pstart", (long long) u->pstart) < 0 ||
        json_util_set_int(o, "starttime", u->starttime) < 0 ||
        json_util_set_string(o, "type", u->type) < 0 || json_util_set_string(o, "id", u->id) < 0 ||
        json_util_set_string(o, "user", u->user) < 0)
        return NULL;
    return TAKE_PTR(o);
}

int task_status(const char *taskdir, const char *upid, json_t **ret) {
    assert(ret);
    if (!taskdir)
        taskdir = PVE_TASK_DIR;
    Upid u;
    _cleanup_free_ char *path = NULL;
    if (!upid || upid_decode(upid, &u) < 0)
        return -EINVAL;
    int r = upid_log_path(taskdir, upid, &path);
    if (r < 0)
        return r;
    if (access(path, F_OK) < 0)
        return errno == ENOENT ? -ENOENT : negative_errno();
    json_auto_t *o = task_json(upid, &u);
    if (!o)
        return -ENOMEM;
    if (task_process_running(u.pid, u.pstart)) {
        r = json_util_set_string(o, "status", "running");
    } else {
        _cleanup_free_ char *st = NULL;
        r = task_read_status(taskdir, upid, &st);
        if (r >= 0)
            r = json_util_set_string(o, "status", "stopped");
        if (r >= 0)
            r = json_util_set_string(o, "exitstatus", st);
    }
    if (r < 0)
        return r;
    *ret = TAKE_PTR(o);
    return 0;
}

/* ---- log -------------------------------------------------------------------------------- */

static int append_line(json_t *a, unsigned n, const char *t) {
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    if (json_util_set_int(o, "n", n) < 0 || json_util_set_string(o, "t", t) < 0) {
        json_decref(o);
        return -ENOMEM;
    }
    return json_util_append_new(a, o);
}

int task_log_read(
    const char *taskdir,
    const char *upid,
    unsigned start,
    unsigned limit,
    json_t **ret_lines,
    unsigned *ret_total
) {
    assert(ret_lines);
    _cleanup_free_ char *path = NULL;
    if (!upid)
        return -EINVAL;
    int r = upid_log_path(taskdir ? taskdir : PVE_TASK_DIR, upid, &path);
    if (r < 0)
        return r;
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return negative_errno();
    json_auto_t *a = json_array();
    if (!a)
        return -ENOMEM;
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    unsigned total = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = 0;
        if (total >= start && total - start < limit) {
            /* jansson wants UTF-8; a worker may print anything */
            json_t *s = json_string(line);
            if (!s) {
                for (ssize_t i = 0; i < n; i++)
                    if ((unsigned char) line[i] >= 0x80)
                        line[i] = '?';
            } else
                json_decref(s);
            r = append_line(a, total + 1, line);
            if (r < 0)
                return r;
        }
        total++;
    }
    if (ferror(f))
        return -EIO;
    if (total == 0) {
        r = append_line(a, 1, "no content");
        if (r < 0)
            return r;
        total = 1;
    }
    *ret_lines = TAKE_PTR(a);
    if (ret_total)
        *ret_total = total;
    return 0;
}

/* ---- active / index --------------------------------------------------------------------- */

typedef struct TaskEntry {
    char *upid;
    Upid u;
    bool saved;
    bool finished; /* endtime/status known */
    uint32_t endtime;
    char *status;
    bool running; /* for the update pass */
} TaskEntry;

typedef struct TaskEntries {
    TaskEntry *v;
    size_t n, cap;
} TaskEntries;

static void task_entries_done(TaskEntries *e) {
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].upid);
        free(e->v[i].status);
    }
    free(e->v);
    *e = (TaskEntries){0};
}

static TaskEntry *task_entries_add(TaskEntries *e) {
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 32;
        TaskEntry *nv = realloc(e->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        e->v = nv;
        e->cap = nc;
    }
    TaskEntry *t = &e->v[e->n++];
    *t = (TaskEntry){0};
    return t;
}

/* "<UPID> <0|1>[ <endtime> <status>]" when with_saved, else "<UPID> <endtime> <status>".
 * Returns 0 and fills t, or -EINVAL for a line to skip. t owns copies. */
static int parse_line(char *line, bool with_saved, TaskEntry *t) {
    char *sp = strchr(line, ' ');
    if (sp)
        *sp = 0;
    if (upid_decode(line, &t->u) < 0)
        return -EINVAL;
    char *rest = sp ? sp + 1 : NULL;
    if (with_saved) {
        if (!rest || (rest[0] != '0' && rest[0] != '1') || (rest[1] && rest[1] != ' '))
            return -EINVAL;
        t->saved = rest[0] == '1';
        rest = rest[1] ? rest + 2 : NULL;
    }
    if (rest) {
        if (strlen(rest) < 8 || parse_hex8(rest, &t->endtime) < 0 || (rest[8] && rest[8] != ' '))
            return -EINVAL;
        const char *st = rest[8] ? rest + 9 : "";
        if (!st[0])
            return -EINVAL;
        if (!(t->status = strdup(st)))
            return -ENOMEM;
        t->finished = true;
    } else if (!with_saved)
        return -EINVAL;
    if (!(t->upid = strdup(line))) {
        free(t->status);
        t->status = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* Parse a whole file; lines in file order. A missing file is empty. */
static int read_task_file(const char *path, bool with_saved, TaskEntries *out) {
    _cleanup_free_ char *data = NULL;
    size_t len;
    int r = read_full_file(path, TASK_FILE_MAX, &data, &len);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        TaskEntry tmp = {0};
        r = parse_line(line, with_saved, &tmp);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            continue;
        TaskEntry *t = task_entries_add(out);
        if (!t) {
            free(tmp.upid);
            free(tmp.status);
            return -ENOMEM;
        }
        *t = tmp;
    }
    return 0;
}

static int lock_active(const char *taskdir) {
    _cleanup_free_ char *p = join_path(taskdir, ".active.lock");
    if (!p)
        return -ENOMEM;
    _cleanup_close_ int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return negative_errno();
    for (unsigned i = 0; i < TASK_LOCK_TIMEOUT_SEC * 100; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return TAKE_FD(fd);
        if (errno != EWOULDBLOCK && errno != EINTR)
            return negative_errno();
        (void) nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    return -ETIMEDOUT;
}

static int cmp_starttime_desc(const void *a, const void *b) {
    const TaskEntry *x = a, *y = b;
    if (x->u.starttime != y->u.starttime)
        return x->u.starttime < y->u.starttime ? 1 : -1;
    return strcmp(y->upid, x->upid);
}

static int write_file_atomic(const char *dir, const char *name, const char *data, size_t len) {
    _cleanup_free_ char *path = join_path(dir, name);
    _cleanup_free_ char *tmp = NULL;
    if (!path || asprintf(&tmp, "%s/.%s.tmp.%d", dir, name, (int) getpid()) < 0)
        return -ENOMEM;
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return negative_errno();
    int r = write_all(fd, data, len);
    if (r >= 0 && rename(tmp, path) < 0)
        r = negative_errno();
    if (r < 0)
        (void) unlink(tmp);
    return r;
}

static int append_index(const char *taskdir, const char *data, size_t len) {
    _cleanup_free_ char *path = join_path(taskdir, "index");
    _cleanup_free_ char *old = join_path(taskdir, "index.1");
    if (!path || !old)
        return -ENOMEM;
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return negative_errno();
    int r = write_all(fd, data, len);
    if (r < 0)
        return r;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > TASK_INDEX_ROTATE_SIZE) {
        if (rename(path, old) < 0)
            return negative_errno();
    }
    return 0;
}

/* The update pass; new_upid (may be NULL) is added as running without checking. */
static int active_update_locked(const char *taskdir, const char *new_upid, json_t **ret_list) {
    _cleanup_free_ char *active = join_path(taskdir, "active");
    if (!active)
        return -ENOMEM;
    _cleanup_(task_entries_done) TaskEntries all = {0};
    int r = read_task_file(active, true, &all);
    if (r < 0)
        return r;
    bool save = new_upid != NULL;
    if (new_upid) {
        bool found = false;
        for (size_t i = 0; i < all.n; i++)
            if (streq(all.v[i].upid, new_upid))
                found = true;
        if (!found) {
            TaskEntry *t = task_entries_add(&all);
            if (!t)
                return -ENOMEM;
            if (!(t->upid = strdup(new_upid)))
                return -ENOMEM;
            if (upid_decode(new_upid, &t->u) < 0)
                return -EINVAL;
            t->running = true;
        }
    }

    /* running tasks keep file order; finished ones newest first */
    _cleanup_free_ TaskEntry **running = calloc(all.n + 1, sizeof *running);
    _cleanup_free_ TaskEntry *done = calloc(all.n + 1, sizeof *done);
    if (!running || !done)
        return -ENOMEM;
    size_t nrun = 0, ndone = 0;
    for (size_t i = 0; i < all.n; i++) {
        TaskEntry *t = &all.v[i];
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            if (streq(all.v[j].upid, t->upid))
                dup = true;
        if (dup) {
            save = true;
            continue;
        }
        if (!t->finished && (t->running || task_process_running(t->u.pid, t->u.pstart)))
            running[nrun++] = t;
        else
            done[ndone++] = *t; /* shallow: all still owns the strings */
    }
    qsort(done, ndone, sizeof *done, cmp_starttime_desc);

    uint32_t now = (uint32_t) time(NULL);
    _cleanup_strbuf_ StrBuf archive = STRBUF_INIT;
    for (size_t i = 0; i < ndone; i++) {
        TaskEntry *t = &done[i];
        if (!t->finished) {
            r = task_read_status(taskdir, t->upid, &t->status);
            if (r < 0)
                return r;
            /* all.v still points at the old NULL status; ownership moves to done[] */
            for (size_t j = 0; j < all.n; j++)
                if (all.v[j].upid == t->upid)
                    all.v[j].status = t->status;
            t->endtime = now;
            t->finished = true;
            save = true;
        }
        if (!t->saved) {
            strbuf_printf(&archive, "%s %08" PRIX32 " %s\n", t->upid, t->endtime, t->status);
            t->saved = true;
            save = true;
        }
    }
    if (archive.error < 0)
        return archive.error;
    if (archive.len > 0) {
        r = append_index(taskdir, archive.data, archive.len);
        if (r < 0)
            return r;
    }

    size_t nkeep = MIN(ndone, (size_t) TASK_ACTIVE_MAX_FINISHED);
    if (nkeep < ndone)
        save = true;
    if (save) {
        _cleanup_strbuf_ StrBuf out = STRBUF_INIT;
        for (size_t i = 0; i < nrun; i++)
            strbuf_printf(&out, "%s %d\n", running[i]->upid, running[i]->saved ? 1 : 0);
        for (size_t i = 0; i < nkeep; i++)
            strbuf_printf(
                &out, "%s 1 %08" PRIX32 " %s\n", done[i].upid, done[i].endtime, done[i].status
            );
        if (out.error < 0)
            return out.error;
        r = write_file_atomic(taskdir, "active", out.data ? out.data : "", out.len);
        if (r < 0)
            return r;
    }

    if (ret_list) {
        json_auto_t *a = json_array();
        if (!a)
            return -ENOMEM;
        for (size_t i = 0; i < nrun + nkeep; i++) {
            const TaskEntry *t = i < nrun ? running[i] : &done[i - nrun];
            json_t *o = json_object();
            if (!o || json_util_append_new(a, o) < 0)
                return -ENOMEM;
            if (json_util_set_string(o, "upid", t->upid) < 0 ||
                json_util_set_int(o, "saved", t->saved || i >= nrun) < 0)
                return -ENOMEM;
            if (i >= nrun && (json_util_set_int(o, "endtime", t->endtime) < 0 ||
                              json_util_set_string(o, "status", t->status) < 0))
                return -ENOMEM;
        }
        *ret_list = TAKE_PTR(a);
    }
    return (int) nrun;
}

static int task_register(const char *taskdir, const char *new_upid) {
    _cleanup_close_ int lock = lock_active(taskdir);
    if (lock < 0)
        return lock;
    int r = active_update_locked(taskdir, new_upid, NULL);
    return r < 0 ? r : 0;
}

int task_update_active(const char *taskdir, json_t **ret_list) {
    if (!taskdir)
        taskdir = PVE_TASK_DIR;
    _cleanup_close_ int lock = lock_active(taskdir);
    if (lock < 0)
        return lock;
    return active_update_locked(taskdir, NULL, ret_list);
}

/* ---- list ------------------------------------------------------------------------------- */

TaskSource task_source_from_string(const char *s) {
    if (!s)
        return _TASK_SOURCE_INVALID;
    if (streq(s, "archive"))
        return TASK_SOURCE_ARCHIVE;
    if (streq(s, "active"))
        return TASK_SOURCE_ACTIVE;
    if (streq(s, "all"))
        return TASK_SOURCE_ALL;
    return _TASK_SOURCE_INVALID;
}

static bool statusfilter_has(const char *list, const char *type) {
    size_t tl = strlen(type);
    for (const char *p = list; *p;) {
        p += strspn(p, ", ");
        size_t l = strcspn(p, ", ");
        if (l == tl && strncasecmp(p, type, l) == 0)
            return true;
        p += l;
    }
    return false;
}

static bool task_matches(const TaskListFilter *f, const TaskEntry *t, uint32_t now) {
    const char *status = t->finished ? t->status : "RUNNING";
    uint32_t endtime = t->finished ? t->endtime : now;
    if (f->only_user && !streq(f->only_user, t->u.user))
        return false;
    if (f->userfilter && f->userfilter[0] && !strcasestr(t->u.user, f->userfilter))
        return false;
    if (f->typefilter && f->typefilter[0] && !streq(f->typefilter, t->u.type))
        return false;
    if (f->errors && (streq(status, "OK") || streq(status, "RUNNING")))
        return false;
    if (f->vmid > 0) {
        char buf[16];
        snprintf(buf, sizeof buf, "%" PRIu32, f->vmid);
        if (!streq(t->u.id, buf))
            return false;
    }
    if (f->since >= 0 && (int64_t) endtime < f->since)
        return false;
    if (f->until >= 0 && (int64_t) t->u.starttime > f->until)
        return false;
    if (f->statusfilter && f->statusfilter[0] &&
        !statusfilter_has(f->statusfilter, task_status_type(status)))
        return false;
    return true;
}

int task_list(const char *taskdir, const TaskListFilter *f, json_t **ret, unsigned *ret_total) {
    assert(f);
    assert(ret);
    if (!taskdir)
        taskdir = PVE_TASK_DIR;
    if (f->source < 0 || f->source >= _TASK_SOURCE_MAX)
        return -EINVAL;
    _cleanup_(task_entries_done) TaskEntries all = {0};
    int r;
    if (f->source != TASK_SOURCE_ARCHIVE) {
        _cleanup_free_ char *p = join_path(taskdir, "active");
        _cleanup_(task_entries_done) TaskEntries act = {0};
        if (!p)
            return -ENOMEM;
        r = read_task_file(p, true, &act);
        if (r < 0)
            return r;
        /* archived entries are listed from the index; move the rest over */
        for (size_t i = 0; i < act.n; i++) {
            if (act.v[i].saved)
                continue;
            TaskEntry *t = task_entries_add(&all);
            if (!t)
                return -ENOMEM;
            *t = act.v[i];
            act.v[i].upid = act.v[i].status = NULL;
        }
    }
    if (f->source != TASK_SOURCE_ACTIVE) {
        static const char *const names[] = {"index", "index.1"};
        for (size_t k = 0; k < ELEMENTSOF(names); k++) {
            _cleanup_free_ char *p = join_path(taskdir, names[k]);
            if (!p)
                return -ENOMEM;
            r = read_task_file(p, false, &all);
            if (r < 0)
                return r;
        }
    }
    /* newest first; equal starttimes keep the later-written entry first via the UPID */
    if (all.n > 0) /* qsort(NULL, 0) is undefined */
        qsort(all.v, all.n, sizeof *all.v, cmp_starttime_desc);

    uint32_t now = (uint32_t) time(NULL);
    json_auto_t *a = json_array();
    if (!a)
        return -ENOMEM;
    unsigned count = 0;
    for (size_t i = 0; i < all.n; i++) {
        const TaskEntry *t = &all.v[i];
        if (i > 0 && streq(t->upid, all.v[i - 1].upid))
            continue; /* listed twice (index and active) */
        if (!task_matches(f, t, now))
            continue;
        count++;
        if (count <= f->start || count - f->start > f->limit)
            continue;
        json_t *o = task_json(t->upid, &t->u);
        if (!o || json_util_append_new(a, o) < 0)
            return -ENOMEM;
        if (t->finished) {
            if (json_util_set_int(o, "endtime", t->endtime) < 0 ||
                json_util_set_string(o, "status", t->status) < 0)
                return -ENOMEM;
        } else if (json_util_set_string(o, "status", "RUNNING") < 0)
            return -ENOMEM;
    }
    *ret = TAKE_PTR(a);
    if (ret_total)
        *ret_total = count;
    return 0;
}

/* ---- stop ------------------------------------------------------------------------------- */

int task_stop(const char *taskdir, const char *upid) {
    if (!taskdir)
        taskdir = PVE_TASK_DIR;
    Upid u;
    if (!upid || upid_decode(upid, &u) < 0)
        return -EINVAL;
    _cleanup_free_ char *path = NULL;
    int r = upid_log_path(taskdir, upid, &path);
    if (r < 0)
        return r;
    if (access(path, F_OK) < 0)
        return errno == ENOENT ? -ENOENT : negative_errno();
    if (!task_process_running(u.pid, u.pstart))
        return -ESRCH;
    return RET_NERRNO(kill((pid_t) u.pid, SIGTERM));
}
