/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * task: PVE API tasks on one node. Starting a worker process with its log file, the `active`
 * list and the `index` archive, and the JSON answers of the node task endpoints (list,
 * status, log, stop) in upstream's field names.
 *
 * Files in taskdir (PVE_TASK_DIR by default; every function takes it so tests use a tmpdir):
 *     <X>/<UPID>   the worker's stdout+stderr, X = last hex digit of the starttime field;
 *                  the last line is "TASK OK", "TASK WARNINGS: <n>" or "TASK ERROR: <msg>"
 *     active       "<UPID> <saved 0|1>[ <endtime %08X> <status>]" per line: running tasks and
 *                  up to TASK_ACTIVE_MAX_FINISHED recently finished ones
 *     index        "<UPID> <endtime %08X> <status>", appended when a task is seen finished,
 *                  renamed to index.1 once larger than TASK_INDEX_ROTATE_SIZE bytes
 *     .active.lock flock(2) held while active/index are read-modified-written
 *
 * This module never logs above debug and never touches an event loop: task_start() forks,
 * and the child never returns into the caller. The caller must fork from its main thread (the
 * child runs fn in a copy of that thread only) and owns reaping the worker (SIGCHLD or pidfd
 * source in the daemon; waitpid() in tests). The pid is the UPID's pid field.
 * The worker keeps every descriptor the caller opened without O_CLOEXEC (listening sockets,
 * the sd-event epoll fd); it never uses them and exits with _exit(), so no atexit handler,
 * stdio buffer or event source of the caller runs twice.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pve/macro.h"
#include "pve/upid.h"

#define TASK_ACTIVE_MAX_FINISHED 25
#define TASK_INDEX_ROTATE_SIZE   50000
#define TASK_LOCK_TIMEOUT_SEC    10

typedef struct TaskWorker TaskWorker;

/*
 * Runs in the worker process; stdout/stderr go to the task log (line buffered). Return 0 for
 * success or a negative errno for failure; a message set with task_set_error() wins over the
 * errno text. Warnings counted by task_warn() turn "TASK OK" into "TASK WARNINGS: <n>".
 */
typedef int (*TaskFunc)(TaskWorker *w, void *userdata);

/* Print "WARN: <msg>" to the log and count one warning. */
void task_warn(TaskWorker *w, const char *fmt, ...) _printf_(2, 3);
/* Set the error message of the final "TASK ERROR: <msg>" line (newlines become spaces). */
void task_set_error(TaskWorker *w, const char *fmt, ...) _printf_(2, 3);

/*
 * Fork a worker for fn(w, userdata): setsid, signal mask cleared, stdin /dev/null,
 * stdout+stderr to the log file (owned by www-data when that user exists and we may chown).
 * The child creates the log before it reports its UPID, the parent registers the UPID in
 * `active` and only then lets the child run fn, so the UPID is valid when this returns.
 * SIGTERM/SIGINT/SIGHUP in the worker end it with "TASK ERROR: received interrupt".
 * On success *ret_upid is a malloc'd UPID string. -EINVAL for bad node/type/id/user, -errno
 * from fork/pipes/files (the child is reaped in that case).
 */
int task_start(
    const char *taskdir,
    const char *node,
    const char *type,
    const char *id,
    const char *user,
    TaskFunc fn,
    void *userdata,
    char **ret_upid
);

/* True when pid is alive (not a zombie) and its /proc start time equals pstart. */
bool task_process_running(uint32_t pid, uint64_t pstart);

/*
 * Exit status from the log's last line: "OK", "WARNINGS: <n>", the error text, or
 * "unexpected status"; "unable to open file" style texts when the log is unreadable, as
 * upstream. Always a malloc'd string in *ret (only -EINVAL or -ENOMEM fail).
 */
int task_read_status(const char *taskdir, const char *upid, char **ret);

/* "ok", "warning", "error", "unknown" (no/unparseable status) or "running" ("RUNNING"). */
const char *task_status_type(const char *status);

/*
 * GET /nodes/{node}/tasks/{upid}/status: {upid,node,pid,pstart,starttime,type,id,user,
 * status:"running"|"stopped", exitstatus?}. -EINVAL for a malformed UPID, -ENOENT ("no such
 * task") when its log file is missing.
 */
int task_status(const char *taskdir, const char *upid, json_t **ret);

/*
 * GET .../log: lines [start, start+limit) as [{n,t}] with n 1-based; *ret_total = number of
 * lines in the file. An empty file gives [{n:1,t:"no content"}] and total 1. -ENOENT when the
 * log is missing, -EINVAL for a bad UPID.
 */
int task_log_read(
    const char *taskdir,
    const char *upid,
    unsigned start,
    unsigned limit,
    json_t **ret_lines,
    unsigned *ret_total
);

typedef enum TaskSource {
    TASK_SOURCE_ARCHIVE, /* index + index.1 (upstream default) */
    TASK_SOURCE_ACTIVE,  /* entries of `active` not yet archived (running ones first of all) */
    TASK_SOURCE_ALL,
    _TASK_SOURCE_MAX,
    _TASK_SOURCE_INVALID = -EINVAL,
} TaskSource;

TaskSource task_source_from_string(const char *s);

typedef struct TaskListFilter {
    unsigned start;
    unsigned limit;
    const char *userfilter; /* case-insensitive substring of user */
    const char *typefilter; /* exact type */
    uint32_t vmid;          /* 0: any; else id must equal the decimal vmid */
    bool errors;            /* drop tasks with status OK (and running ones) */
    TaskSource source;
    int64_t since;            /* -1: none; drops tasks that ended before (running: now) */
    int64_t until;            /* -1: none; drops tasks started after */
    const char *statusfilter; /* comma list of ok,warning,error,unknown,running; NULL any */
    const char *only_user;    /* permission filter: only this exact user's tasks; NULL all */
} TaskListFilter;

#define TASK_LIST_FILTER_INIT \
    { .limit = 50, .source = TASK_SOURCE_ARCHIVE, .since = -1, .until = -1 }

/*
 * GET /nodes/{node}/tasks: matching tasks newest first (by starttime), the page
 * [start, start+limit) in *ret (array of {upid,node,pid,pstart,starttime,type,id,user,
 * endtime?,status?}; running tasks carry status "RUNNING"), *ret_total = number of matches.
 * Missing files are empty lists.
 */
int task_list(const char *taskdir, const TaskListFilter *f, json_t **ret, unsigned *ret_total);

/*
 * Under the lock: check every unfinished task of `active`, give finished ones endtime and
 * status, append them to `index` (rotating it), keep running + the newest
 * TASK_ACTIVE_MAX_FINISHED finished tasks, rewrite `active` when anything changed. When
 * ret_list is not NULL it receives the resulting list as [{upid,saved,endtime?,status?}]
 * (what the daemon broadcasts as its tasklist). Returns the number of running tasks.
 */
int task_update_active(const char *taskdir, json_t **ret_list);

/* DELETE /nodes/{node}/tasks/{upid}: SIGTERM the worker after checking pid and pstart.
 * -ESRCH when it is not running (any more), -ENOENT for an unknown task, -EINVAL bad UPID. */
int task_stop(const char *taskdir, const char *upid);
