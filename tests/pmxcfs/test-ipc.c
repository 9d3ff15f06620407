/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Integration test of the "pve2" IPC service and the client helpers in common/ (cfs-ipc,
 * cfs-file): runs the real pmxcfs (argv[1]) in local mode on a tmp root inside a private
 * mount namespace, under a unique IPC service name, and drives every op through the client
 * library, malformed requests through raw libqb, the root / www-data / nobody permission
 * matrix, cfs_lock through the mount, atomic writes and reconnection across a restart.
 * Prints TAP; exits 0 (pass), 1 (fail) or 77 (skip: not root, no /dev/fuse, no namespace).
 */
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <qb/qbipc_common.h>
#include <qb/qbipcc.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/cfs-file.h"
#include "pve/cfs-ipc.h"
#include "pve/macro.h"

static struct {
    const char *bin;
    char tmp[PATH_MAX];
    char mnt[PATH_MAX + 8];
    char var[PATH_MAX + 8];
    char run[PATH_MAX + 8];
    char pidfile[PATH_MAX + 16];
    char logfile[PATH_MAX + 16];
    char service[64];
    pid_t pid;
    uid_t www_uid;
    gid_t www_gid;
    int child_fd; /* in a forked checker: where results go */
} T = {.pid = -1, .child_fd = -1};

static unsigned n_tests, n_failed;

/* ---- TAP -------------------------------------------------------------------------------- */

/* One TAP line per verdict, whatever the description quotes. */
static void one_line(char *desc) {
    for (char *p = desc; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '#')
            *p = ' ';
}

static void report(int verdict, char *desc) {
    one_line(desc);
    if (T.child_fd >= 0) { /* forked checker: the parent numbers and prints */
        dprintf(T.child_fd, "%d %s\n", verdict, desc);
        return;
    }
    n_tests++;
    if (verdict == 0)
        n_failed++;
    printf("%sok %u - %s\n", verdict == 0 ? "not " : "", n_tests, desc);
    fflush(stdout);
}

_printf_(2, 3) static bool ok(bool cond, const char *fmt, ...) {
    char desc[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    report(cond ? 1 : 0, desc);
    return cond;
}

_printf_(1, 2) static void diag(const char *fmt, ...) {
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static char *mfree_str(char *p) {
    free(p);
    return NULL;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void msleep(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static char *mnt_path(const char *rel) {
    static char buf[4][PATH_MAX * 2];
    static unsigned i;
    char *b = buf[i++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", T.mnt, rel);
    return b;
}

static bool exists(const char *rel) {
    struct stat st;
    return stat(mnt_path(rel), &st) == 0;
}

/* ---- pmxcfs process --------------------------------------------------------------------- */

static bool service_up(void) {
    qb_ipcc_connection_t *c = qb_ipcc_connect(T.service, 4096);
    if (!c)
        return false;
    qb_ipcc_disconnect(c);
    return true;
}

static int start_pmxcfs(void) {
    char a_mnt[PATH_MAX + 32], a_var[PATH_MAX + 32], a_run[PATH_MAX + 32], a_pid[PATH_MAX + 32],
        a_ipc[128];
    snprintf(a_mnt, sizeof a_mnt, "--mountpoint=%s", T.mnt);
    snprintf(a_var, sizeof a_var, "--vardir=%s", T.var);
    snprintf(a_run, sizeof a_run, "--rundir=%s", T.run);
    snprintf(a_pid, sizeof a_pid, "--pidfile=%s", T.pidfile);
    snprintf(a_ipc, sizeof a_ipc, "--ipc-service=%s", T.service);

    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the test */
        int fd = open(T.logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execl(
            T.bin, T.bin, "-f", "-l", a_mnt, a_var, a_run, a_pid, "--nodename=testnode",
            "--lock-timeout=2", a_ipc, (char *) NULL
        );
        _exit(127);
    }
    T.pid = pid;

    struct stat tmp_st, mnt_st;
    if (stat(T.tmp, &tmp_st) < 0)
        return -errno;
    for (int i = 0; i < 200; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            T.pid = -1;
            diag("pmxcfs exited during start-up (status 0x%x)", status);
            return -ECHILD;
        }
        if (stat(T.mnt, &mnt_st) == 0 && mnt_st.st_dev != tmp_st.st_dev && service_up())
            return 0;
        msleep(50);
    }
    return -ETIMEDOUT;
}

static void stop_pmxcfs(void) {
    if (T.pid <= 0)
        return;
    (void) kill(T.pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        int status = 0;
        if (waitpid(T.pid, &status, WNOHANG) == T.pid) {
            ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "pmxcfs %d stopped cleanly on SIGTERM (status 0x%x)", (int) T.pid, status);
            T.pid = -1;
            return;
        }
        msleep(50);
    }
    ok(false, "pmxcfs %d stopped within 10 s", (int) T.pid);
    diag("pmxcfs did not stop on SIGTERM, killing it");
    (void) kill(T.pid, SIGKILL);
    (void) waitpid(T.pid, NULL, 0);
    T.pid = -1;
}

/* Sanitizer builds: pmxcfs's own reports end up in its log. */
static bool log_has_sanitizer_report(void) {
    FILE *f = fopen(T.logfile, "re");
    char line[1024];
    bool found = false;
    if (!f)
        return false;
    while (fgets(line, sizeof line, f))
        found |= strstr(line, "Sanitizer") || strstr(line, "runtime error");
    fclose(f);
    return found;
}

static int count_fds(pid_t pid) {
    char p[64];
    int n = 0;
    snprintf(p, sizeof p, "/proc/%d/fd", (int) pid);
    DIR *d = opendir(p);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the DIR's own fd when pid is us; harmless offset otherwise */
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void) st, (void) f;
    if (flag == FTW_DP)
        return rmdir(p) < 0 ? 0 : 0;
    (void) unlink(p);
    return 0;
}

/* ---- client ops --------------------------------------------------------------------------- */

static void test_read_ops(void) {
    char *s = NULL;
    size_t len = 0;
    int r;

    r = cfs_ipc_get_fs_version(&s, &len);
    ok(r == 0 && s && s[0] == '{' && strstr(s, "\"starttime\""),
       "GET_FS_VERSION returns the .version JSON (r=%d)", r);
    s = mfree_str(s);

    r = cfs_ipc_get_cluster_info(&s, &len);
    ok(r == 0 && s && strstr(s, "\"nodename\"") && strstr(s, "testnode"),
       "GET_CLUSTER_INFO returns .members naming the node (r=%d)", r);
    s = mfree_str(s);

    r = cfs_ipc_get_guest_list(&s, &len);
    ok(r == 0 && s && strstr(s, "\"100\"") && strstr(s, "qemu"),
       "GET_GUEST_LIST lists VM 100 (r=%d)", r);
    s = mfree_str(s);

    r = cfs_ipc_get_rrd_dump(&s, &len);
    ok(r == 0 && s, "GET_RRD_DUMP answers (r=%d, %zu bytes)", r, len);
    s = mfree_str(s);
}

static void test_status_ops(void) {
    char *s = NULL;
    size_t len = 0;
    int r;

    r = cfs_ipc_set_status("kv/ipctest", "hello", 5);
    ok(r == 0, "SET_STATUS kv/ipctest (r=%d)", r);
    r = cfs_ipc_get_status("kv/ipctest", NULL, &s, &len);
    ok(r == 0 && len == 5 && memcmp(s, "hello", 5) == 0,
       "GET_STATUS returns the stored bytes for the local node (r=%d)", r);
    s = mfree_str(s);
    r = cfs_ipc_get_status("kv/ipctest", "testnode", &s, &len);
    ok(r == 0 && len == 5 && memcmp(s, "hello", 5) == 0, "GET_STATUS with the own node name (r=%d)",
       r);
    s = mfree_str(s);
    r = cfs_ipc_get_status("kv/absent", NULL, &s, &len);
    ok(r == -ENOENT, "GET_STATUS of an absent key -> ENOENT (r=%d)", r);
    s = mfree_str(s);

    r = cfs_ipc_log_cluster_msg(6, "root@pam", "ipctest", "hello from test-ipc");
    ok(r == 0, "LOG_CLUSTER_MSG (r=%d)", r);
    r = cfs_ipc_get_cluster_log(0, NULL, &s, &len);
    ok(r == 0 && s && strstr(s, "hello from test-ipc"),
       "GET_CLUSTER_LOG contains the message (r=%d)", r);
    s = mfree_str(s);
    r = cfs_ipc_get_cluster_log(10, "nobody@pve", &s, &len);
    ok(r == 0 && s && !strstr(s, "hello from test-ipc"),
       "GET_CLUSTER_LOG filtered by another user omits it (r=%d)", r);
    s = mfree_str(s);
}

static const char vm100_conf[] =
    "name: vm100\n"
    "memory: 2048\n"
    "cores: 2\n"
    "\n"
    "[snap1]\n"
    "name: old-name\n"
    "memory: 512\n";

static void test_config_ops(void) {
    char *s = NULL;
    size_t len = 0;
    int r;

    r = cfs_ipc_get_config("storage.cfg", &s, &len);
    ok(r == 0 && len == 13 && streq(s, "dir: local\n\t\n"), "GET_CONFIG storage.cfg (r=%d)", r);
    s = mfree_str(s);
    r = cfs_ipc_get_config("/storage.cfg", &s, &len);
    ok(r == 0 && len == 13, "GET_CONFIG tolerates a leading slash (r=%d)", r);
    s = mfree_str(s);
    r = cfs_ipc_get_config("nodes/testnode/qemu-server/100.conf", &s, &len);
    ok(r == 0 && streq(s, vm100_conf), "GET_CONFIG of a guest config (r=%d)", r);
    s = mfree_str(s);
    r = cfs_ipc_get_config("priv/token.cfg", &s, &len);
    ok(r == 0 && strstr(s, "root@pam!ipc"), "GET_CONFIG of a private file as root (r=%d)", r);
    s = mfree_str(s);
    r = cfs_ipc_get_config("absent.cfg", &s, &len);
    ok(r == -ENOENT, "GET_CONFIG of an absent file -> ENOENT (r=%d)", r);
    r = cfs_ipc_get_config("nodes/../storage.cfg", &s, &len);
    ok(r == -ENOENT, "GET_CONFIG does not resolve '..' (r=%d)", r);
    r = cfs_ipc_get_config("nodes", &s, &len);
    ok(r < 0 && !s, "GET_CONFIG of a directory fails (r=%d)", r);
    s = mfree_str(s);

    r = cfs_ipc_get_guest_config_property(100, "name", &s, &len);
    ok(r == 0 && s && strstr(s, "\"100\"") && strstr(s, "vm100") && !strstr(s, "old-name"),
       "GET_GUEST_CONFIG_PROPERTY reads the main section only (r=%d: %s)", r, s ? s : "");
    s = mfree_str(s);
    const char *props[] = {"name", "memory"};
    r = cfs_ipc_get_guest_config_properties(0, props, 2, &s, &len);
    ok(r == 0 && s && strstr(s, "vm100") && strstr(s, "2048"),
       "GET_GUEST_CONFIG_PROPERTIES for all guests (r=%d)", r);
    s = mfree_str(s);
    r = cfs_ipc_get_guest_config_property(50, "name", &s, &len);
    ok(r == -EINVAL, "GET_GUEST_CONFIG_PROPERTY vmid 50 -> EINVAL (r=%d)", r);
    s = mfree_str(s);
    r = cfs_ipc_get_guest_config_property(999, "name", &s, &len);
    ok(r == -ENOENT, "GET_GUEST_CONFIG_PROPERTY unknown vmid -> ENOENT (r=%d)", r);
    s = mfree_str(s);

    ok(cfs_ipc_verify_token("root@pam!ipc 0123-secret") == 0,
       "VERIFY_TOKEN accepts a listed token");
    ok(cfs_ipc_verify_token("user@pve!t2 other-secret") == 0, "VERIFY_TOKEN accepts the last line");
    ok(cfs_ipc_verify_token("root@pam!ipc 0123-secre") == -ENOENT,
       "VERIFY_TOKEN refuses a prefix of a line");
    ok(cfs_ipc_verify_token("root@pam!ipc 0123-secret ") == -ENOENT,
       "VERIFY_TOKEN refuses a longer string");
    ok(cfs_ipc_verify_token("root@pam!ipc 0123-secret\nx") == -EINVAL,
       "VERIFY_TOKEN with a newline is refused by the client");
}

/* ---- raw requests ------------------------------------------------------------------------- */

/* Send id + payload, with the header's size field off by size_delta; the server's error. */
static int raw(qb_ipcc_connection_t *c, int32_t id, int32_t size_delta, const void *p, size_t len) {
    struct qb_ipc_request_header h = {.id = id, .size = (int32_t) (sizeof h + len) + size_delta};
    struct iovec iov[2] = {{&h, sizeof h}, {(void *) p, len}};
    static char buf[CFS_IPC_MAX_MSG_SIZE];
    ssize_t n = qb_ipcc_sendv_recv(c, iov, len ? 2 : 1, buf, sizeof buf, 5000);
    if (n < 0)
        return (int) n + -10000; /* transport error, distinct from any server answer */
    struct qb_ipc_response_header rh;
    if ((size_t) n < sizeof rh)
        return -20000;
    memcpy(&rh, buf, sizeof rh);
    if (rh.id != id || rh.size != n || (rh.error != 0 && (size_t) n != sizeof rh))
        return -30000;
    return rh.error;
}

static void test_raw_requests(void) {
    qb_ipcc_connection_t *c = qb_ipcc_connect(T.service, CFS_IPC_MAX_MSG_SIZE);
    uint8_t b[1024];
    int r;

    if (!ok(c != NULL, "raw libqb connection"))
        return;
    r = raw(c, CFS_IPC_GET_FS_VERSION, 0, "abcd", 4);
    ok(r == -EINVAL, "GET_FS_VERSION with a payload -> EINVAL (r=%d)", r);
    r = raw(c, CFS_IPC_GET_RRD_DUMP, 0, "x", 1);
    ok(r == -EINVAL, "GET_RRD_DUMP with a payload -> EINVAL (r=%d)", r);
    r = raw(c, 99, 0, NULL, 0);
    ok(r == -ECHRNG, "unknown op 99 -> ECHRNG (r=%d)", r);
    r = raw(c, 9, 0, NULL, 0);
    ok(r == -ECHRNG, "unassigned op 9 -> ECHRNG (r=%d)", r);
    r = raw(c, 0, 0, NULL, 0);
    ok(r == -ECHRNG, "op 0 -> ECHRNG (r=%d)", r);
    r = raw(c, 1000000, 0, "x", 1);
    ok(r == -ECHRNG, "op 1000000 -> ECHRNG (r=%d)", r);

    r = raw(c, CFS_IPC_SET_STATUS, 0, "kv/x", 5);
    ok(r == -EINVAL, "SET_STATUS shorter than the name field -> EINVAL (r=%d)", r);
    memset(b, 'a', 256);
    r = raw(c, CFS_IPC_SET_STATUS, 0, b, 260);
    ok(r == -EINVAL, "SET_STATUS with an unterminated name -> EINVAL (r=%d)", r);
    r = raw(c, CFS_IPC_GET_STATUS, 0, b, 100);
    ok(r == -EINVAL, "GET_STATUS of 100 bytes -> EINVAL (r=%d)", r);
    memset(b, 0, sizeof b);
    memcpy(b, "kv/x", 4);
    memset(b + 256, 'n', 256);
    r = raw(c, CFS_IPC_GET_STATUS, 0, b, 512);
    ok(r == -EINVAL, "GET_STATUS with an unterminated node name -> EINVAL (r=%d)", r);
    r = raw(c, CFS_IPC_GET_STATUS, 0, b, 513);
    ok(r == -EINVAL, "GET_STATUS of 513 bytes -> EINVAL (r=%d)", r);

    r = raw(c, CFS_IPC_GET_CONFIG, 0, "storage.cfg", 11);
    ok(r == -EINVAL, "GET_CONFIG without the NUL -> EINVAL (r=%d)", r);
    r = raw(c, CFS_IPC_GET_CONFIG, 0, "storage.cfg\0x", 14);
    ok(r == -EINVAL, "GET_CONFIG with an embedded NUL -> EINVAL (r=%d)", r);
    r = raw(c, CFS_IPC_GET_CONFIG, 0, NULL, 0);
    ok(r == -EINVAL, "GET_CONFIG without a path -> EINVAL (r=%d)", r);

    memcpy(
        b,
        "\x06\x00\x02"
        "a\0"
        "m\0",
        7
    );
    r = raw(c, CFS_IPC_LOG_CLUSTER_MSG, 0, b, 7);
    ok(r == -EINVAL, "LOG_CLUSTER_MSG with ident_len 0 -> EINVAL (r=%d)", r);
    memcpy(
        b,
        "\x06\x02\x02"
        "a\0"
        "t\0"
        "m",
        8
    );
    r = raw(c, CFS_IPC_LOG_CLUSTER_MSG, 0, b, 8);
    ok(r == -EINVAL, "LOG_CLUSTER_MSG with an unterminated message -> EINVAL (r=%d)", r);
    memcpy(
        b,
        "\x06\x09\x02"
        "a\0"
        "t\0"
        "m\0",
        9
    );
    r = raw(c, CFS_IPC_LOG_CLUSTER_MSG, 0, b, 9);
    ok(r == -EINVAL, "LOG_CLUSTER_MSG with lengths past the end -> EINVAL (r=%d)", r);
    r = raw(c, CFS_IPC_LOG_CLUSTER_MSG, 0, b, 2);
    ok(r == -EINVAL, "LOG_CLUSTER_MSG of 2 bytes -> EINVAL (r=%d)", r);

    memset(b, 0, 32);
    r = raw(c, CFS_IPC_GET_CLUSTER_LOG, 0, b, 16);
    ok(r == -EINVAL, "GET_CLUSTER_LOG without the user string -> EINVAL (r=%d)", r);
    memset(b, 'u', 20);
    r = raw(c, CFS_IPC_GET_CLUSTER_LOG, 0, b, 20);
    ok(r == -EINVAL, "GET_CLUSTER_LOG with an unterminated user -> EINVAL (r=%d)", r);

    memcpy(
        b,
        "\x64\0\0\0"
        "\0",
        5
    );
    r = raw(c, CFS_IPC_GET_GUEST_CONFIG_PROPERTY, 0, b, 5);
    ok(r == -EINVAL, "GET_GUEST_CONFIG_PROPERTY with an empty property -> EINVAL (r=%d)", r);
    memcpy(
        b,
        "\x64\0\0\0"
        "name",
        8
    );
    r = raw(c, CFS_IPC_GET_GUEST_CONFIG_PROPERTY, 0, b, 8);
    ok(r == -EINVAL, "GET_GUEST_CONFIG_PROPERTY unterminated -> EINVAL (r=%d)", r);

    memcpy(
        b,
        "\x64\0\0\0\x02"
        "name\0",
        10
    );
    r = raw(c, CFS_IPC_GET_GUEST_CONFIG_PROPERTIES, 0, b, 10);
    ok(r == -EINVAL, "GET_GUEST_CONFIG_PROPERTIES with fewer names than counted (r=%d)", r);
    memcpy(
        b,
        "\x64\0\0\0\x01"
        "Name\0",
        10
    );
    r = raw(c, CFS_IPC_GET_GUEST_CONFIG_PROPERTIES, 0, b, 10);
    ok(r == -EINVAL, "GET_GUEST_CONFIG_PROPERTIES with a name not starting a-z (r=%d)", r);
    memcpy(
        b,
        "\x64\0\0\0\x01"
        "name\0x",
        11
    );
    r = raw(c, CFS_IPC_GET_GUEST_CONFIG_PROPERTIES, 0, b, 11);
    ok(r == -EINVAL, "GET_GUEST_CONFIG_PROPERTIES with trailing bytes (r=%d)", r);
    memcpy(b, "\x64\0\0\0\x00", 5);
    r = raw(c, CFS_IPC_GET_GUEST_CONFIG_PROPERTIES, 0, b, 5);
    ok(r == -EINVAL, "GET_GUEST_CONFIG_PROPERTIES with count 0 (r=%d)", r);

    r = raw(c, CFS_IPC_VERIFY_TOKEN, 0, "root@pam!ipc 0123-secret\nx\0", 27);
    ok(r == -EINVAL, "VERIFY_TOKEN with a newline -> EINVAL (r=%d)", r);
    r = raw(c, CFS_IPC_VERIFY_TOKEN, 0, "\0", 1);
    ok(r == -EINVAL, "VERIFY_TOKEN of an empty string -> EINVAL (r=%d)", r);
    r = raw(c, CFS_IPC_VERIFY_TOKEN, 0, "root@pam!ipc 0123-secret", 24);
    ok(r == -EINVAL, "VERIFY_TOKEN unterminated -> EINVAL (r=%d)", r);
    r = raw(c, CFS_IPC_VERIFY_TOKEN, 0, "root@pam!ipc 0123-secret\0", 25);
    ok(r == 0, "VERIFY_TOKEN raw and well-formed -> 0 (r=%d)", r);

    r = raw(c, CFS_IPC_GET_CONFIG, 64, "storage.cfg\0", 12);
    ok(r == -EINVAL || r == 0, "a header size larger than the message is harmless (r=%d)", r);
    r = raw(c, CFS_IPC_GET_CONFIG, 0x7fff0000, "storage.cfg\0", 12);
    ok(r == -EINVAL, "a huge header size is refused (r=%d)", r);
    r = raw(c, CFS_IPC_GET_CONFIG, -2, "storage.cfg\0xx", 14);
    ok(r == -EINVAL || r == 0, "a header size smaller than the message is harmless (r=%d)", r);
    diag("libqb hands the server %s", r == 0 ? "the header's size" : "the received size");
    qb_ipcc_disconnect(c);

    c = qb_ipcc_connect(T.service, CFS_IPC_MAX_MSG_SIZE);
    r = c ? raw(c, CFS_IPC_GET_CONFIG, 0, "storage.cfg\0", 12) : -1;
    ok(r == 0, "the service still answers after malformed requests (r=%d)", r);
    if (c)
        qb_ipcc_disconnect(c);
}

/* ---- permission matrix -------------------------------------------------------------------- */

/* Run checks in a child with other credentials; its verdicts come back through a pipe. */
static void run_as(uid_t uid, gid_t gid, void (*checks)(void)) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        ok(false, "pipe: %m");
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        T.child_fd = p[1];
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
            ok(false, "dropping privileges: %m");
            _exit(1);
        }
        checks();
        _exit(0);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    char line[600];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        report(line[0] - '0', line + 2);
    }
    if (f)
        fclose(f);
    int status = 0;
    (void) waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "checker uid %u exited cleanly",
       (unsigned) uid);
}

static void www_checks(void) {
    char *s = NULL;
    size_t len = 0;
    int r;

    r = cfs_ipc_get_config("storage.cfg", &s, &len);
    ok(r == 0 && s && streq(s, "dir: local\n\t\n"), "www-data: GET_CONFIG storage.cfg (r=%d)", r);
    s = mfree_str(s);
    r = cfs_ipc_get_config("priv/token.cfg", &s, &len);
    ok(r == -EPERM && !s, "www-data: GET_CONFIG priv/token.cfg -> EPERM (r=%d)", r);
    r = cfs_ipc_get_config("//priv/token.cfg", &s, &len);
    ok(r == -EPERM && !s, "www-data: GET_CONFIG //priv/token.cfg -> EPERM (r=%d)", r);
    r = cfs_ipc_get_config("./priv/token.cfg", &s, &len);
    ok(r < 0 && !s, "www-data: GET_CONFIG ./priv/token.cfg fails (r=%d)", r);
    r = cfs_ipc_get_config("nodes/testnode/priv/secret", &s, &len);
    ok(r == -EPERM && !s, "www-data: GET_CONFIG nodes/<node>/priv/... -> EPERM (r=%d)", r);
    r = cfs_ipc_set_status("kv/www", "x", 1);
    ok(r == -EPERM, "www-data: SET_STATUS -> EPERM (r=%d)", r);
    r = cfs_ipc_log_cluster_msg(6, "www", "t", "m");
    ok(r == -EPERM, "www-data: LOG_CLUSTER_MSG -> EPERM (r=%d)", r);
    ok(cfs_ipc_verify_token("root@pam!ipc 0123-secret") == 0,
       "www-data: VERIFY_TOKEN works (pveproxy's use)");
    r = cfs_ipc_get_fs_version(&s, &len);
    ok(r == 0 && s, "www-data: GET_FS_VERSION (r=%d)", r);
    s = mfree_str(s);
    r = cfs_ipc_get_status("kv/ipctest", NULL, &s, &len);
    ok(r == 0, "www-data: GET_STATUS (r=%d)", r);
    s = mfree_str(s);
    cfs_ipc_disconnect();
}

static void nobody_checks(void) {
    char *s = NULL;
    double t = now_s();
    int r = cfs_ipc_get_config("storage.cfg", &s, NULL);
    ok(r < 0 && r != -ENOSYS && !s, "nobody: the connection is refused (r=%d)", r);
    ok(now_s() - t < 5, "nobody: refused at once, no restart-flag wait");
    qb_ipcc_connection_t *c = qb_ipcc_connect(T.service, 4096);
    ok(c == NULL, "nobody: raw libqb connect fails too");
    if (c)
        qb_ipcc_disconnect(c);
    cfs_ipc_disconnect();
}

static void test_permissions(void) {
    char *s = NULL;
    /* Hold a root connection, so the checkers inherit it and must not reuse it. */
    int r = cfs_ipc_get_config("storage.cfg", &s, NULL);
    ok(r == 0, "root connection open before forking checkers (r=%d)", r);
    s = mfree_str(s);
    run_as(T.www_uid, T.www_gid, www_checks);
    run_as(65534, 65534, nobody_checks);
    r = cfs_ipc_set_status("kv/after-fork", "1", 1);
    ok(r == 0, "the parent's connection still works after the children (r=%d)", r);
    r = cfs_ipc_get_config("priv/token.cfg", &s, NULL);
    ok(r == 0, "the parent is still read-write (r=%d)", r);
    s = mfree_str(s);
}

/* ---- cfs_lock ------------------------------------------------------------------------------- */

typedef struct LockProbe {
    const char *dir; /* relative lock dir expected to exist while fn runs */
    int calls;
    int result;
    bool dir_seen;
    int64_t remaining;
    int renew;
    int nested;
} LockProbe;

static int probe_fn(void *userdata) {
    LockProbe *p = userdata;
    struct stat st;
    p->calls++;
    p->dir_seen = p->dir && stat(mnt_path(p->dir), &st) == 0 && S_ISDIR(st.st_mode);
    p->remaining = cfs_lock_remaining_ms();
    p->renew = cfs_lock_renew();
    return p->result;
}

static int nested_fn(void *userdata) {
    LockProbe *p = userdata;
    LockProbe inner = {.result = 1};
    p->calls++;
    p->nested = cfs_lock("ipc-a", 5, probe_fn, &inner);
    return 7;
}

static void test_locks(void) {
    LockProbe p = {.dir = "priv/lock/ipc-a", .result = 42};
    double t;
    int r;

    r = cfs_lock("ipc-a", 5, probe_fn, &p);
    ok(r == 42 && p.calls == 1, "cfs_lock runs fn and returns its result (r=%d)", r);
    ok(p.dir_seen, "the lock directory exists while fn runs");
    ok(p.remaining > 59000 && p.remaining <= 60000, "fn starts with a 60 s budget (%lld ms)",
       (long long) p.remaining);
    ok(p.renew == 0, "cfs_lock_renew inside fn (r=%d)", p.renew);
    ok(!exists("priv/lock/ipc-a"), "the lock directory is removed afterwards");
    ok(cfs_lock_renew() == -ENOLCK && cfs_lock_remaining_ms() == -1,
       "renew/remaining outside a lock");

    p = (LockProbe){};
    r = cfs_lock("ipc-a", 5, nested_fn, &p);
    ok(r == 7 && p.nested == -EDEADLK, "re-taking a held lock in the same thread -> EDEADLK");

    ok(cfs_lock("bad/id", 1, probe_fn, &p) == -EINVAL, "a lock id with '/' is refused");

    p = (LockProbe){.dir = "priv/lock/file-nodes_testnode_qemu-server_100_conf", .result = 3};
    r = cfs_lock_file("nodes/testnode/qemu-server/100.conf", 5, probe_fn, &p);
    ok(r == 3 && p.dir_seen, "cfs_lock_file uses file-<path with . and / as _> (r=%d)", r);
    p = (LockProbe){.dir = "priv/lock/storage-local", .result = 4};
    r = cfs_lock_storage("local", 5, probe_fn, &p);
    ok(r == 4 && p.dir_seen, "cfs_lock_storage uses storage-<id> (r=%d)", r);
    p = (LockProbe){.dir = "priv/lock/domain-pve", .result = 5};
    r = cfs_lock_domain("pve", 5, probe_fn, &p);
    ok(r == 5 && p.dir_seen, "cfs_lock_domain uses domain-<name> (r=%d)", r);
    p = (LockProbe){.dir = "priv/lock/authkey", .result = 6};
    r = cfs_lock_authkey(5, probe_fn, &p);
    ok(r == 6 && p.dir_seen, "cfs_lock_authkey uses authkey (r=%d)", r);

    /* Somebody else holds ipc-b (pmxcfs runs with --lock-timeout=2). */
    double t0 = now_s();
    ok(mkdir(mnt_path("priv/lock/ipc-b"), 0755) == 0, "another holder takes ipc-b");
    struct timespec zero[2] = {{0, 0}, {0, 0}};
    r = utimensat(AT_FDCWD, mnt_path("priv/lock/ipc-b"), zero, 0);
    ok(r < 0 && errno == EACCES && exists("priv/lock/ipc-b"),
       "a break request on a fresh lock is refused (EACCES)");
    p = (LockProbe){.result = 1};
    t = now_s();
    r = cfs_lock("ipc-b", 1, probe_fn, &p);
    double waited = now_s() - t;
    ok(r == -ETIMEDOUT && p.calls == 0, "a held lock times out (r=%d)", r);
    ok(waited >= 0.9 && waited < 2.5, "after about the timeout (%.2f s)", waited);
    ok(exists("priv/lock/ipc-b"), "the holder's lock was not broken before the lock timeout");
    p = (LockProbe){.dir = "priv/lock/ipc-b", .result = 9};
    r = cfs_lock("ipc-b", 8, probe_fn, &p);
    double got = now_s() - t0;
    ok(r == 9 && p.calls == 1 && p.dir_seen,
       "the break request is honoured once the lock timeout passed (r=%d)", r);
    ok(got >= 1.0 && got < 6.0, "the stale lock was broken after %.2f s", got);
    ok(!exists("priv/lock/ipc-b"), "and released again");

    char *msg = NULL;
    ok(cfs_lock_error_message("file-user_cfg", -ETIMEDOUT, &msg) == 0 &&
           streq(msg, "cfs-lock 'file-user_cfg' error: got lock request timeout"),
       "upstream text for the acquire timeout");
    msg = mfree_str(msg);
}

/* ---- files ------------------------------------------------------------------------------- */

static bool tmp_files_left(const char *rel_dir) {
    DIR *d = opendir(mnt_path(rel_dir));
    bool found = false;
    if (!d)
        return false;
    for (struct dirent *e; (e = readdir(d));)
        found |= strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return found;
}

static void test_files(void) {
    char *s = NULL;
    size_t len = 0;
    int r;

    r = cfs_file_write("datacenter.cfg", "keyboard: en-us\n", 16);
    ok(r == 0, "cfs_file_write datacenter.cfg (r=%d)", r);
    r = cfs_file_read("datacenter.cfg", &s, &len);
    ok(r == 0 && len == 16 && streq(s, "keyboard: en-us\n"), "cfs_file_read reads it back (r=%d)",
       r);
    s = mfree_str(s);
    r = cfs_file_write("datacenter.cfg", "keyboard: de\n", 13);
    r = r < 0 ? r : cfs_file_read("datacenter.cfg", &s, &len);
    ok(r == 0 && streq(s, "keyboard: de\n"), "a second write replaces the content (r=%d)", r);
    s = mfree_str(s);
    ok(!tmp_files_left(""), "no temporary files are left behind");

    r = cfs_file_write("no/such/dir.cfg", "x", 1);
    ok(r == -ENOENT, "writing into a missing directory -> ENOENT (r=%d)", r);

    size_t big = 1024 * 1024;
    char *data = malloc(big + 1);
    if (!data) {
        ok(false, "malloc");
        return;
    }
    for (size_t i = 0; i < big + 1; i++)
        data[i] = (char) ('a' + i % 26);
    r = cfs_file_write("big.cfg", data, big + 1);
    ok(r == -EFBIG, "a file above 1 MiB is refused with EFBIG (r=%d)", r);
    ok(!tmp_files_left("") && !exists("big.cfg"), "and its temporary file is removed");
    r = cfs_file_write("big.cfg", data, big);
    ok(r == 0, "a file of exactly 1 MiB is written (r=%d)", r);
    r = cfs_file_read("big.cfg", &s, &len);
    ok(r == 0 && len == big && memcmp(s, data, big) == 0, "and read back (r=%d)", r);
    s = mfree_str(s);
    r = cfs_ipc_get_config("big.cfg", &s, &len);
    ok(r == 0 && len == big && memcmp(s, data, big) == 0,
       "GET_CONFIG returns a 1 MiB file in one response (r=%d)", r);
    s = mfree_str(s);
    /* PVE::IPCC asks for exactly 1 MiB; the answer must come, one way or the other. */
    qb_ipcc_connection_t *c = qb_ipcc_connect(T.service, 1024 * 1024);
    r = c ? raw(c, CFS_IPC_GET_CONFIG, 0, "big.cfg", 8) : -1;
    ok(r == 0 || r == -EMSGSIZE, "a 1 MiB-buffer client gets the 1 MiB file or EMSGSIZE (r=%d)", r);
    if (c)
        qb_ipcc_disconnect(c);
    free(data);
    r = cfs_file_read("absent.cfg", &s, &len);
    ok(r == -ENOENT && !s, "cfs_file_read of an absent file -> ENOENT (r=%d)", r);
    r = cfs_file_read("nodes", &s, &len);
    ok(r == -EISDIR, "cfs_file_read of a directory -> EISDIR (r=%d)", r);
}

/* ---- restart ----------------------------------------------------------------------------- */

typedef struct CallResult {
    int r;
    double elapsed;
    char *body;
} CallResult;

static void *call_thread(void *arg) {
    CallResult *c = arg;
    double t = now_s();
    c->r = cfs_ipc_get_config("storage.cfg", &c->body, NULL);
    c->elapsed = now_s() - t;
    return NULL;
}

static bool restart_flag_exists(void) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/cfs-restart-flag", T.run);
    return access(p, F_OK) == 0;
}

static void test_restart(void) {
    char *s = NULL;
    int r;

    r = cfs_ipc_get_config("storage.cfg", &s, NULL);
    ok(r == 0, "connected before the restart (r=%d)", r);
    s = mfree_str(s);
    stop_pmxcfs();
    ok(restart_flag_exists(), "pmxcfs leaves the restart flag when it stops");

    /* A call made while pmxcfs is down waits (restart flag) and succeeds once it is back. */
    CallResult c = {};
    pthread_t th;
    pthread_create(&th, NULL, call_thread, &c);
    msleep(1000);
    r = start_pmxcfs();
    ok(r == 0, "pmxcfs started again (r=%d)", r);
    pthread_join(th, NULL);
    ok(c.r == 0 && c.body && streq(c.body, "dir: local\n\t\n"),
       "a call during the restart succeeds after it (r=%d, %.2f s)", c.r, c.elapsed);
    ok(c.elapsed >= 0.9, "it waited for the restart (%.2f s)", c.elapsed);
    free(c.body);
    ok(!restart_flag_exists(), "pmxcfs removed the restart flag after starting");

    /* Without the flag a dead service fails at once. */
    stop_pmxcfs();
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/cfs-restart-flag", T.run);
    (void) unlink(p);
    double t = now_s();
    r = cfs_ipc_get_config("storage.cfg", &s, NULL);
    ok(r < 0 && now_s() - t < 2, "without the restart flag a stopped pmxcfs fails fast (r=%d)", r);
    s = mfree_str(s);
    r = start_pmxcfs();
    ok(r == 0, "pmxcfs started a third time (r=%d)", r);
    r = cfs_ipc_get_config("storage.cfg", &s, NULL);
    ok(r == 0, "the next call reconnects (r=%d)", r);
    s = mfree_str(s);
}

/* ---- leaks and timing ---------------------------------------------------------------------- */

static void test_server_fds_and_timing(void) {
    char *s = NULL;
    msleep(200); /* let earlier disconnects settle */
    int before = count_fds(T.pid);
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *b = NULL;
            int r = cfs_ipc_get_config("storage.cfg", &b, NULL);
            free(b);
            cfs_ipc_disconnect();
            _exit(r == 0 ? 0 : 1);
        }
        int status = 1;
        (void) waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            ok(false, "short-lived client %d", i);
            return;
        }
    }
    int after = -1;
    for (int i = 0; i < 40 && (after < 0 || after > before); i++) {
        msleep(50);
        after = count_fds(T.pid);
    }
    ok(before > 0 && after >= 0 && after <= before,
       "pmxcfs holds no fds of 20 finished clients (%d -> %d)", before, after);

    const int N = 2000;
    double t = now_s();
    int fails = 0;
    for (int i = 0; i < N; i++) {
        fails += cfs_ipc_get_config("datacenter.cfg", &s, NULL) != 0;
        s = mfree_str(s);
    }
    t = now_s() - t;
    ok(fails == 0, "%d GET_CONFIG round trips", N);
    diag("informal: %.1f us per GET_CONFIG round trip", t / N * 1e6);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int setup_tree(void) {
    static const char token_cfg[] =
        "root@pam!ipc 0123-secret\n"
        "user@pve!t2 other-secret";
    static const char *dirs[] = {
        "priv", "nodes", "nodes/testnode", "nodes/testnode/qemu-server", "nodes/testnode/priv"};
    for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
        if (mkdir(mnt_path(dirs[i]), 0755) < 0 && errno != EEXIST)
            return -errno;
    int r;
    if ((r = cfs_file_write("storage.cfg", "dir: local\n\t\n", 13)) < 0 ||
        (r = cfs_file_write(
             "nodes/testnode/qemu-server/100.conf", vm100_conf, sizeof vm100_conf - 1
         )) < 0 ||
        (r = cfs_file_write("priv/token.cfg", token_cfg, sizeof token_cfg - 1)) < 0 ||
        (r = cfs_file_write("nodes/testnode/priv/secret", "s", 1)) < 0)
        return r;
    return 0;
}

static void dump_log(void) {
    FILE *f = fopen(T.logfile, "re");
    char line[1024];
    if (!f)
        return;
    diag("pmxcfs output:");
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        diag("  %s", line);
    }
    fclose(f);
}

int main(int argc, char *argv[]) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PMXCFS-BINARY\n", argv[0]);
        return 1;
    }
    T.bin = argv[1];
    if (geteuid() != 0) {
        printf("1..0 # SKIP needs root\n");
        return 77;
    }
    if (access("/dev/fuse", R_OK | W_OK) < 0) {
        printf("1..0 # SKIP no /dev/fuse\n");
        return 77;
    }
    struct passwd *pw = getpwnam("www-data");
    struct group *gr = getgrnam("www-data");
    if (!pw || !gr) {
        printf("1..0 # SKIP no www-data user/group\n");
        return 77;
    }
    T.www_uid = pw->pw_uid;
    T.www_gid = gr->gr_gid;
    /* Our own mount namespace: the mount is invisible outside and dies with us. */
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        printf("1..0 # SKIP cannot create a private mount namespace: %m\n");
        return 77;
    }

    snprintf(T.tmp, sizeof T.tmp, "/tmp/test-pmxcfs-ipc-XXXXXX");
    if (!mkdtemp(T.tmp)) {
        printf("Bail out! mkdtemp: %m\n");
        return 1;
    }
    (void) chmod(T.tmp, 0755);
    snprintf(T.mnt, sizeof T.mnt, "%s/mnt", T.tmp);
    snprintf(T.var, sizeof T.var, "%s/var", T.tmp);
    snprintf(T.run, sizeof T.run, "%s/run", T.tmp);
    snprintf(T.pidfile, sizeof T.pidfile, "%s/pmxcfs.pid", T.tmp);
    snprintf(T.logfile, sizeof T.logfile, "%s/pmxcfs.log", T.tmp);
    snprintf(T.service, sizeof T.service, "pve2-test-%d", (int) getpid());
    (void) mkdir(T.mnt, 0755);
    setenv("PVE_CFS_IPC_SERVICE", T.service, 1);
    setenv("PVE_CFS_RUNDIR", T.run, 1);
    setenv("PVE_CFS_MOUNTPOINT", T.mnt, 1);

    int fds_before = count_fds(getpid());
    int r = start_pmxcfs();
    if (!ok(r == 0, "pmxcfs serves %s and IPC service %s (r=%d)", T.mnt, T.service, r))
        goto finish;
    r = setup_tree();
    if (!ok(r == 0, "test files written through the mount (r=%d)", r))
        goto finish;

    test_read_ops();
    test_status_ops();
    test_config_ops();
    test_raw_requests();
    test_permissions();
    test_locks();
    test_files();
    test_server_fds_and_timing();
    test_restart();

    cfs_ipc_disconnect();
    ok(count_fds(getpid()) == fds_before, "the client leaks no fds (%d -> %d)", fds_before,
       count_fds(getpid()));

finish:
    cfs_ipc_disconnect();
    stop_pmxcfs();
    ok(!log_has_sanitizer_report(), "no sanitizer report in the pmxcfs log");
    if (n_failed)
        dump_log();
    (void) umount2(T.mnt, MNT_DETACH);
    (void) nftw(T.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    printf("1..%u\n", n_tests);
    return n_failed ? 1 : 0;
}
