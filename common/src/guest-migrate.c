/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest-migrate: the offline migration run (see pve/guest-migrate.h): checks, the transfers
 * over ssh, the config move and the rollback. What to move is guest-migrate-scan.c's.
 */
#include "pve/guest-migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pve/cfs-file.h"
#include "pve/fileio.h"
#include "pve/guest-store.h"
#include "pve/json-util.h"
#include "pve/lxc-runtime.h"
#include "pve/macro.h"
#include "pve/paths.h"
#include "pve/qemu-runtime.h"
#include "pve/spawn.h"
#include "pve/storage-cfg.h"
#include "pve/storage-transfer.h"
#include "pve/storage-volume.h"
#include "pve/string-util.h"
#include "pve/task.h"

#ifndef PVESM_BIN
#define PVESM_BIN "/usr/sbin/pvesm"
#endif

/* ---- run: log, ssh ----------------------------------------------------------------------------
 */

/* upstream's migration log lines: "YYYY-MM-DD HH:MM:SS <msg>" */
_printf_(1, 2) static void mlog(const char *fmt, ...) {
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ts);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
}

static void format_duration(time_t seconds, char ret[static 32]) {
    unsigned s = seconds < 0 ? 0 : seconds > 359999 ? 359999 : (unsigned) seconds;
    snprintf(ret, 32, "%02u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
}

typedef struct Run {
    const MigrateRequest *req;
    time_t started;
    SectionConfig *storage;
    MigrateScan scan;
    char **target_volids; /* per scan volume: the volid written on the target (local only) */
    const char *pvesm;
    char known_hosts[256];
    char host_alias[300];
    char dest[300];
} Run;

/* A warning: counted by the task (TASK WARNINGS: n) when there is one. */
_printf_(2, 3) static void warn(const Run *run, const char *fmt, ...) {
    _cleanup_free_ char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (run->req->worker)
        task_warn(run->req->worker, "%s", msg);
    else
        mlog("WARN: %s", msg);
}

/* ssh argv for a remote command (args are single words without quotes or blanks) */
static void ssh_argv(const Run *run, const char **argv, size_t max, const char *const *remote) {
    size_t n = 0;
    const char *fixed[] = {
        pve_path_env("PVE_SSH", "ssh"),
        "-e",
        "none",
        "-o",
        "BatchMode=yes",
        "-o",
        run->host_alias,
        "-o",
        run->known_hosts,
        "-o",
        "GlobalKnownHostsFile=none",
        run->dest,
        "--"};
    for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
        argv[n++] = fixed[i];
    for (size_t i = 0; remote[i] && n + 1 < max; i++)
        argv[n++] = remote[i];
    argv[n] = NULL;
}

/* Run a remote command; its stdout goes to *ret_out (may be NULL: the task log). */
static int ssh_run(const Run *run, const char *const *remote, char **ret_out) {
    const char *argv[32];
    ssh_argv(run, argv, ELEMENTSOF(argv), remote);
    int status = 0, r;
    if (ret_out)
        r = spawn_capture(argv, 64 * 1024, ret_out, NULL, &status);
    else
        r = spawn_run(argv, &status);
    if (r < 0)
        return r;
    return status == 0 ? 0 : -EIO;
}

/* The volid a remote `pvesm import` reported. */
static int parse_imported(const char *out, char **ret) {
    const char *p = out ? strstr(out, "successfully imported '") : NULL;
    if (!p)
        return -EPROTO;
    p += strlen("successfully imported '");
    size_t n = strcspn(p, "'\n");
    if (p[n] != '\'' || n == 0)
        return -EPROTO;
    return (*ret = strndup(p, n)) ? 0 : -ENOMEM;
}

/* export | ssh target pvesm import: the volume lands as *ret_volid on the target. */
static int transfer_volume(Run *run, const MigrateVolume *v, char **ret_volid, char **reterr) {
    const char *volname = strchr(v->volid, ':') + 1;
    const SectionConfigSection *sec = NULL;
    _cleanup_(storage_volume_done) StorageVolume sv = {};
    int r = storage_find(run->storage, v->storage, &sec, reterr);
    if (r < 0 || (r = storage_volume_parse(sec, volname, &sv, reterr)) < 0)
        return r;
    const char *format = storage_transfer_format(&sv);
    if (!format)
        return set_error_message_once(
            reterr, -EINVAL, "volume '%s' cannot be transferred", v->volid
        );
    _cleanup_free_ char *target_volid = NULL;
    if (asprintf(
            &target_volid, "%s:%s", guest_migrate_storage_map_get(run->req->map, v->storage),
            volname
        ) < 0)
        return -ENOMEM;
    const char *remote[] = {run->pvesm,        "import", target_volid,    format, "-",
                            "-with-snapshots", "0",      "-allow-rename", "1",    NULL};
    const char *argv[32];
    ssh_argv(run, argv, ELEMENTSOF(argv), remote);

    int data[2] = {-EBADF, -EBADF}, out[2] = {-EBADF, -EBADF};
    if (pipe2(data, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        r = -errno;
        safe_close(data[0]);
        safe_close(data[1]);
        return set_error_message_once(reterr, r, "pipe failed - %s", strerror(-r));
    }
    pid_t pid;
    r = spawn_start_io(argv, data[0], out[1], STDERR_FILENO, &pid);
    data[0] = safe_close(data[0]);
    out[1] = safe_close(out[1]);
    if (r < 0) {
        safe_close(data[1]);
        safe_close(out[0]);
        return set_error_message_once(reterr, r, "cannot run ssh - %s", strerror(-r));
    }
    _cleanup_free_ char *export_err = NULL, *output = NULL;
    int er = storage_volume_export(sec, volname, format, data[1], &export_err);
    data[1] = safe_close(data[1]);
    size_t len = 0;
    (void) read_full_fd(out[0], 64 * 1024, 0, &output, &len);
    safe_close(out[0]);
    int status = spawn_wait(pid);
    if (output && *output)
        printf("%s%s", output, output[strlen(output) - 1] == '\n' ? "" : "\n");
    if (status != 0)
        return set_error_message_once(
            reterr, -EIO, "import of '%s' on node '%s' failed (exit code %d)%s%s", v->volid,
            run->req->target, status, export_err ? " - " : "", export_err ? export_err : ""
        );
    if (er < 0)
        return set_error_message_once(reterr, er, "%s", export_err ? export_err : strerror(-er));
    if ((r = parse_imported(output, ret_volid)) < 0)
        return set_error_message_once(
            reterr, r, "no volume ID in the answer of 'pvesm import' on '%s'", run->req->target
        );
    return 0;
}

/* ---- run: phases ------------------------------------------------------------------------------
 */

/* Set (value) or clear (NULL) the lock property of the config on the source node. */
static int set_lock(const Run *run, const char *value, char **reterr) {
    const MigrateRequest *q = run->req;
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = guest_config_read(q->type, q->source, q->vmid, &c, NULL, reterr);
    if (r < 0)
        return r;
    GuestSection *m = guest_config_main(c);
    if (value)
        r = guest_section_set(m, "lock", value);
    else if (guest_section_delete(m, "lock") == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    return guest_config_write(q->type, q->source, q->vmid, c, false, reterr);
}

/* The config, still locked, moves to the target with one rename: until then the source config
 * is untouched, so a failure before leaves it exactly as it was. */
static int move_config(const Run *run, char **reterr) {
    const MigrateRequest *q = run->req;
    return guest_config_move(q->type, q->vmid, q->source, q->target, reterr);
}

/* On the target: the volids the import wrote (renamed, or another storage) in every section,
 * and no lock; one write. */
static int finish_config(const Run *run, char **reterr) {
    const MigrateRequest *q = run->req;
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = guest_config_read(q->type, q->target, q->vmid, &c, NULL, reterr);
    if (r < 0)
        return r;
    for (size_t i = 0; i < run->scan.n_volumes; i++) {
        const char *from = run->scan.volumes[i].volid, *to = run->target_volids[i];
        if (!to || streq(from, to))
            continue;
        size_t flen = strlen(from);
        for (size_t s = 0; s < c->n_sections; s++)
            for (size_t e = 0; e < c->sections[s]->n_entries; e++) {
                GuestEntry *en = &c->sections[s]->entries[e];
                /* the volid is the value or its first property-string field */
                if (en->raw || strncmp(en->value, from, flen) != 0 ||
                    (en->value[flen] != 0 && en->value[flen] != ','))
                    continue;
                _cleanup_free_ char *nv = NULL;
                if (asprintf(&nv, "%s%s", to, en->value + flen) < 0)
                    return -ENOMEM;
                free(en->value);
                en->value = TAKE_PTR(nv);
            }
    }
    (void) guest_section_delete(guest_config_main(c), "lock");
    return guest_config_write(q->type, q->target, q->vmid, c, false, reterr);
}

/* Free what was imported on the target (after a failure). */
static void rollback_target(Run *run) {
    for (size_t i = 0; i < run->scan.n_volumes; i++) {
        if (!run->target_volids[i])
            continue;
        const char *remote[] = {run->pvesm, "free", run->target_volids[i], NULL};
        if (ssh_run(run, remote, NULL) < 0)
            mlog(
                "ERROR: failed to remove '%s' on node '%s'", run->target_volids[i], run->req->target
            );
        else
            mlog("removed '%s' on node '%s'", run->target_volids[i], run->req->target);
    }
}

/* "a, b, c" of a JSON string array; NULL on OOM */
static char *join_strings(const json_t *a) {
    char *out = strdup("");
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x) {
        char *n = NULL;
        if (!out || asprintf(&n, "%s%s%s", out, i ? ", " : "", json_string_value(x)) < 0) {
            free(out);
            return NULL;
        }
        free(out);
        out = n;
    }
    return out;
}

static int check_config(Run *run, GuestConfig *c, char **reterr) {
    const MigrateRequest *q = run->req;
    int r = guest_config_check_lock(c, reterr);
    if (r < 0)
        return r;
    bool running =
        q->type == GUEST_TYPE_QEMU ? qemu_vm_running(q->vmid) : lxc_ct_running(q->vmid, NULL);
    if (running)
        return set_error_message_once(
            reterr, -EBUSY, "%s %u is running - offline migration needs a stopped guest",
            guest_type_noun(q->type), q->vmid
        );
    if ((r = guest_migrate_scan(q->type, c, run->storage, &run->scan)) < 0)
        return r;
    if (json_array_size(run->scan.problems) > 0)
        return set_error_message_once(
            reterr, -EINVAL, "%s", json_string_value(json_array_get(run->scan.problems, 0))
        );
    if (json_array_size(run->scan.local_resources) > 0) {
        _cleanup_free_ char *list = join_strings(run->scan.local_resources);
        if (!q->force)
            return set_error_message_once(
                reterr, -EINVAL, "can't migrate %s which uses local devices: %s",
                q->type == GUEST_TYPE_QEMU ? "VM" : "CT", list ? list : "?"
            );
        warn(run, "migrating with local devices: %s", list ? list : "?");
    }
    _cleanup_(json_decrefp) json_t *missing =
        guest_migrate_unavailable_storages(&run->scan, run->storage, q->map, q->target);
    if (!missing)
        return -ENOMEM;
    if (json_array_size(missing) > 0)
        return set_error_message_once(
            reterr, -EINVAL, "storage '%s' is not available on node '%s'",
            json_string_value(json_array_get(missing, 0)), q->target
        );
    for (size_t i = 0; i < run->scan.n_volumes; i++) {
        const MigrateVolume *v = &run->scan.volumes[i];
        const SectionConfigSection *sec = NULL;
        if ((r = storage_find(run->storage, v->storage, &sec, reterr)) < 0 ||
            (r = storage_check_enabled(sec, q->source, reterr)) < 0)
            return r;
        if (!v->shared)
            mlog("found local disk '%s' (%s)", v->volid, v->ref);
    }
    return 0;
}

static size_t local_volumes(const Run *run) {
    size_t n = 0;
    for (size_t i = 0; i < run->scan.n_volumes; i++)
        n += !run->scan.volumes[i].shared;
    return n;
}

/* Everything up to the config move; on failure nothing has changed on the target. */
static int run_transfer(Run *run, char **reterr) {
    if (local_volumes(run) == 0)
        return 0;
    const char *remote[] = {"/bin/true", NULL};
    if (ssh_run(run, remote, NULL) < 0)
        return set_error_message_once(
            reterr, -EHOSTUNREACH, "Can't connect to destination address (%s) using public key",
            run->req->target_ip
        );
    mlog("copying local disk images");
    for (size_t i = 0; i < run->scan.n_volumes; i++) {
        const MigrateVolume *v = &run->scan.volumes[i];
        if (v->shared)
            continue;
        int r = transfer_volume(run, v, &run->target_volids[i], reterr);
        if (r < 0)
            return r;
        mlog("volume '%s' is '%s' on the target", v->volid, run->target_volids[i]);
    }
    return 0;
}

static void free_source_volumes(Run *run) {
    for (size_t i = 0; i < run->scan.n_volumes; i++) {
        const MigrateVolume *v = &run->scan.volumes[i];
        if (v->shared)
            continue;
        const SectionConfigSection *sec = NULL;
        _cleanup_free_ char *err = NULL;
        if (storage_find(run->storage, v->storage, &sec, &err) < 0 ||
            storage_volume_free(sec, strchr(v->volid, ':') + 1, &err) < 0) {
            warn(run, "failed to remove source volume '%s' - %s", v->volid, err ? err : "?");
        }
    }
}

static int abort_with(Run *run, int r, char *why, char **reterr) {
    char d[32];
    format_duration(time(NULL) - run->started, d);
    _cleanup_free_ char *own = why;
    mlog("ERROR: %s", why ? why : strerror(-r));
    set_error_message_once(
        reterr, r, "migration aborted (duration %s): %s", d, why ? why : strerror(-r)
    );
    return r;
}

int guest_migrate_run(const MigrateRequest *q, char **reterr) {
    if (reterr)
        *reterr = NULL;
    Run run = {.req = q, .started = time(NULL), .pvesm = pve_path_env("PVE_PVESM_BIN", PVESM_BIN)};
    snprintf(
        run.known_hosts, sizeof run.known_hosts, "UserKnownHostsFile=%s/nodes/%s/ssh_known_hosts",
        cfs_file_mountpoint(), q->target
    );
    snprintf(run.host_alias, sizeof run.host_alias, "HostKeyAlias=%s", q->target);
    snprintf(run.dest, sizeof run.dest, "root@%s", q->target_ip);
    signal(SIGPIPE, SIG_IGN); /* a dead ssh must fail the write, not kill the task */

    mlog(
        "starting migration of %s %u to node '%s' (%s)", guest_type_noun(q->type), q->vmid,
        q->target, q->target_ip
    );
    _cleanup_free_ char *err = NULL;
    _cleanup_close_ int lock = -EBADF;
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = guest_lock(q->type, q->vmid, 0, &lock, &err);
    if (r >= 0)
        r = storage_cfg_load(&run.storage, &err);
    if (r >= 0)
        r = guest_config_read(q->type, q->source, q->vmid, &c, NULL, &err);
    if (r >= 0)
        r = check_config(&run, c, &err);
    if (r >= 0 && !(run.target_volids = calloc(run.scan.n_volumes + 1, sizeof(char *))))
        r = -ENOMEM;
    if (r >= 0)
        r = set_lock(&run, "migrate", &err);
    if (r < 0) { /* nothing changed yet */
        r = abort_with(&run, r, TAKE_PTR(err), reterr);
        goto out;
    }
    r = run_transfer(&run, &err);
    if (r >= 0)
        r = move_config(&run, &err);
    if (r < 0) {
        _cleanup_free_ char *uerr = NULL;
        rollback_target(&run);
        if (set_lock(&run, NULL, &uerr) < 0)
            mlog(
                "ERROR: unable to unlock %s %u - %s", guest_type_noun(q->type), q->vmid,
                uerr ? uerr : "?"
            );
        r = abort_with(&run, r, TAKE_PTR(err), reterr);
        goto out;
    }
    if (finish_config(&run, &err) < 0)
        warn(
            &run, "unable to update the config on node '%s', it stays locked (migrate) - %s",
            q->target, err ? err : "?"
        );
    free_source_volumes(&run);
    char d[32];
    format_duration(time(NULL) - run.started, d);
    mlog("migration finished successfully (duration %s)", d);
    r = 0;
out:
    if (run.target_volids)
        for (size_t i = 0; i < run.scan.n_volumes; i++)
            free(run.target_volids[i]);
    free(run.target_volids);
    guest_migrate_scan_done(&run.scan);
    section_config_free(run.storage);
    return r;
}
