/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-qemu-status: GET /nodes/{node}/qemu/{vmid}/status (index) and .../status/current, and
 * the power actions start, stop, shutdown, reboot, reset, suspend and resume. Every action is
 * a task (qmstart, qmstop, ...) that takes the VM's config lock; the QEMU work is qemu-runtime's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api-guest.h"
#include "api-qemu.h"
#include "pve/api-env.h"
#include "pve/guest-store.h"
#include "pve/json-util.h"
#include "pve/qemu-runtime.h"
#include "pve/string-util.h"
#include "pve/task.h"

/* ---- status --------------------------------------------------------------------------------- */

static int h_status_index(ApiCall *call) {
    int r = api_node_check_local(call);
    if (r < 0)
        return r;
    return api_call_set_result(call, json_pack("[{s:s}]", "subdir", "current"));
}

static int h_status_current(ApiCall *call) {
    uint32_t vmid = api_guest_vmid(call);
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_QEMU, vmid, &c, NULL);
    if (r < 0)
        return r;
    json_t *o = NULL;
    if ((r = qemu_vm_status(vmid, c, true, &o)) < 0)
        return r;
    return api_call_set_result(call, o);
}

/* ---- actions -------------------------------------------------------------------------------- */

typedef enum Action {
    ACTION_START,
    ACTION_STOP,
    ACTION_SHUTDOWN,
    ACTION_REBOOT,
    ACTION_RESET,
    ACTION_SUSPEND,
    ACTION_RESUME,
} Action;

typedef struct ActionInfo {
    const char *name, *task;
    bool needs_running; /* refused synchronously when the VM is not running */
} ActionInfo;

static const ActionInfo actions[] = {
    [ACTION_START] = {"start", "qmstart", false},
    [ACTION_STOP] = {"stop", "qmstop", false},
    [ACTION_SHUTDOWN] = {"shutdown", "qmshutdown", false},
    [ACTION_REBOOT] = {"reboot", "qmreboot", true},
    [ACTION_RESET] = {"reset", "qmreset", true},
    [ACTION_SUSPEND] = {"suspend", "qmsuspend", true},
    [ACTION_RESUME] = {"resume", "qmresume", true},
};

typedef struct Job {
    Action action;
    uint32_t vmid;
    long long timeout; /* 0 = default */
    bool force_stop, skiplock;
} Job;

/* Start: pending changes are applied first, as upstream does at every start. */
static int do_start(TaskWorker *w, const Job *j, char **err) {
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    _cleanup_free_ char *node = NULL;
    GuestType type;
    int r = guest_locate(j->vmid, &type, &node);
    if (r < 0)
        return r == -ENOENT ? (task_set_error(w, "VM %u does not exist", j->vmid), r) : r;
    if ((r = guest_config_read(GUEST_TYPE_QEMU, node, j->vmid, &c, NULL, err)) < 0)
        return r;
    if (!j->skiplock && (r = guest_config_check_lock(c, err)) < 0)
        return r;
    if (guest_config_find_section(c, GUEST_SECTION_PENDING, NULL)) {
        if ((r = guest_config_apply_pending(c)) < 0 ||
            (r = guest_config_write(GUEST_TYPE_QEMU, node, j->vmid, c, false, err)) < 0)
            return r;
        printf("applied pending changes\n");
    }
    QemuStartOptions o = {.timeout_s = (unsigned) j->timeout};
    return qemu_vm_start(c, j->vmid, &o, err);
}

static int action_worker(TaskWorker *w, void *userdata) {
    const Job *j = userdata;
    _cleanup_free_ char *err = NULL;
    _cleanup_close_ int lock = -EBADF;
    int r = guest_lock(GUEST_TYPE_QEMU, j->vmid, 0, &lock, &err);
    if (r >= 0) {
        switch (j->action) {
        case ACTION_START:
            r = do_start(w, j, &err);
            break;
        case ACTION_STOP:
            r = qemu_vm_stop(j->vmid, (unsigned) j->timeout, &err);
            break;
        case ACTION_SHUTDOWN:
            r = qemu_vm_shutdown(j->vmid, (unsigned) j->timeout, j->force_stop, &err);
            break;
        case ACTION_REBOOT:
            r = qemu_vm_shutdown(j->vmid, (unsigned) j->timeout, false, &err);
            if (r >= 0)
                r = do_start(w, j, &err);
            break;
        case ACTION_RESET:
            r = qemu_vm_qmp_simple(j->vmid, "system_reset", &err);
            break;
        case ACTION_SUSPEND:
            r = qemu_vm_qmp_simple(j->vmid, "stop", &err);
            break;
        case ACTION_RESUME:
            r = qemu_vm_qmp_simple(j->vmid, "cont", &err);
            break;
        }
    }
    if (r < 0 && err)
        task_set_error(w, "%s", err);
    return r;
}

static int param_int(const ApiCall *call, const char *name) {
    long long v = 0;
    return api_call_param_int(call, name, &v) >= 0 ? (int) v : 0;
}

static bool param_bool(const ApiCall *call, const char *name) {
    bool v = false;
    return api_call_param_bool(call, name, &v) >= 0 && v;
}

static int run_action(ApiCall *call, Action action) {
    Job j = {
        .action = action,
        .vmid = api_guest_vmid(call),
        .timeout = param_int(call, "timeout"),
        .force_stop = param_bool(call, "forceStop"),
        .skiplock = param_bool(call, "skiplock"),
    };
    _cleanup_(guest_config_freep) GuestConfig *c = NULL;
    int r = api_guest_load(call, GUEST_TYPE_QEMU, j.vmid, &c, NULL);
    if (r < 0)
        return r;
    if (action != ACTION_STOP && (r = api_guest_check_lock(call, c)) < 0)
        return r;
    if (j.skiplock && !streq(api_user(call), "root@pam"))
        return api_call_fail(call, 403, NULL, "Only root may use this option.");
    bool running = qemu_vm_running(j.vmid);
    if (action == ACTION_START && running)
        return api_call_fail(call, 500, NULL, "VM %u already running", j.vmid);
    if (actions[action].needs_running && !running)
        return api_call_fail(call, 500, NULL, "VM %u not running", j.vmid);
    char id[16];
    snprintf(id, sizeof id, "%u", j.vmid);
    return api_task_start(call, actions[action].task, id, action_worker, &j, NULL);
}

static int h_start(ApiCall *call) {
    return run_action(call, ACTION_START);
}
static int h_stop(ApiCall *call) {
    return run_action(call, ACTION_STOP);
}
static int h_shutdown(ApiCall *call) {
    return run_action(call, ACTION_SHUTDOWN);
}
static int h_reboot(ApiCall *call) {
    return run_action(call, ACTION_REBOOT);
}
static int h_reset(ApiCall *call) {
    return run_action(call, ACTION_RESET);
}
static int h_suspend(ApiCall *call) {
    return run_action(call, ACTION_SUSPEND);
}
static int h_resume(ApiCall *call) {
    return run_action(call, ACTION_RESUME);
}

/* ---- tables --------------------------------------------------------------------------------- */

#define VM_PARAMS(...) \
    API_OBJECT(.properties = API_PROPERTIES(API_NODE_PARAM, API_VMID_PARAM, ##__VA_ARGS__))
#define TIMEOUT_PARAM                                                                           \
    API_PARAM_INTEGER(                                                                          \
        "timeout", .optional = true, API_MIN(0), .description = "Wait maximal timeout seconds." \
    )

static const ApiSchema vm_params = VM_PARAMS();
static const ApiSchema start_params = VM_PARAMS(
    API_SKIPLOCK_PARAM,
    TIMEOUT_PARAM,
    API_PARAM_STRING("machine", .optional = true, .description = "The QEMU machine type."),
    API_PARAM_STRING("migratedfrom", .optional = true, .format = "pve-node"),
    API_PARAM_BOOL("force-cpu", .optional = true)
);
static const ApiSchema stop_params = VM_PARAMS(
    API_SKIPLOCK_PARAM,
    TIMEOUT_PARAM,
    API_PARAM_BOOL("keepActive", .optional = true, API_DEFAULT_INT(0)),
    API_PARAM_STRING("migratedfrom", .optional = true, .format = "pve-node"),
    API_PARAM_BOOL("overrule-shutdown", .optional = true, API_DEFAULT_INT(0))
);
static const ApiSchema shutdown_params = VM_PARAMS(
    API_SKIPLOCK_PARAM,
    TIMEOUT_PARAM,
    API_PARAM_BOOL(
        "forceStop", .optional = true, API_DEFAULT_INT(0), .description = "Make sure the VM stops."
    ),
    API_PARAM_BOOL("keepActive", .optional = true, API_DEFAULT_INT(0))
);
static const ApiSchema reboot_params = VM_PARAMS(TIMEOUT_PARAM);
static const ApiSchema skiplock_params = VM_PARAMS(API_SKIPLOCK_PARAM);
static const ApiSchema suspend_params = VM_PARAMS(
    API_SKIPLOCK_PARAM,
    API_PARAM_BOOL("todisk", .optional = true, API_DEFAULT_INT(0)),
    API_PARAM_STRING("statestorage", .optional = true, .format = "pve-storage-id")
);
static const ApiSchema resume_params =
    VM_PARAMS(API_SKIPLOCK_PARAM, API_PARAM_BOOL("nocheck", .optional = true));

static const ApiSchema upid_returns = API_SCALAR(API_TYPE_STRING, .format = "pve-upid");
static const ApiSchema index_returns =
    API_ARRAY(API_ITEMS(API_TYPE_OBJECT, .properties = API_PROPERTIES(API_PARAM_STRING("subdir"))));
static const ApiSchema current_returns = API_OBJECT(
        .properties = API_PROPERTIES(
            API_VMID_PARAM,
            API_PARAM_STRING("status", .enum_values = API_ENUM("stopped", "running")),
            API_PARAM_STRING("qmpstatus", .optional = true),
            API_PARAM_STRING("name", .optional = true),
            API_PARAM_INTEGER("pid", .optional = true),
            API_PARAM_INTEGER("uptime", .optional = true),
            API_PARAM_NUMBER("cpu", .optional = true),
            API_PARAM_NUMBER("cpus", .optional = true),
            API_PARAM_INTEGER("mem", .optional = true),
            API_PARAM_INTEGER("maxmem", .optional = true),
            API_PARAM_INTEGER("maxdisk", .optional = true),
            API_PARAM_OBJECT("ha", .description = "HA manager service status.")
        ),
        .additional_properties = true
);

#define POWER(p, params, h, desc)                                                                  \
    {                                                                                              \
        .path = "/nodes/{node}/qemu/{vmid}/status/" p, .method = API_METHOD_POST, .name = "vm_" p, \
        .description = desc, .parameters = &(params), .returns = &upid_returns,                    \
        .permissions = API_PERM_CHECK("/vms/{vmid}", API_PRIVS("VM.PowerMgmt")),                   \
        .protected = true, .proxyto = "node", .allowtoken = true, .handler = (h),                  \
    }

static const ApiMethod methods[] = {
    {
        .path = "/nodes/{node}/qemu/{vmid}/status",
        .method = API_METHOD_GET,
        .name = "vmcmdidx",
        .description = "Directory index",
        .parameters = &vm_params,
        .returns = &index_returns,
        .permissions = API_PERM_ALL,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_status_index,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/status/current",
        .method = API_METHOD_GET,
        .name = "vm_status",
        .description = "Get virtual machine status.",
        .parameters = &vm_params,
        .returns = &current_returns,
        .permissions = API_PERM_CHECK("/vms/{vmid}", API_PRIVS("VM.Audit")),
        .protected = true,
        .proxyto = "node",
        .allowtoken = true,
        .handler = h_status_current,
    },
    POWER("start", start_params, h_start, "Start virtual machine."),
    POWER(
        "stop", stop_params, h_stop, "Stop virtual machine. The qemu process will exit immediately."
    ),
    POWER("shutdown", shutdown_params, h_shutdown, "Shutdown virtual machine (ACPI power button)."),
    POWER(
        "reboot",
        reboot_params,
        h_reboot,
        "Reboot the VM by shutting it down, and starting it again."
    ),
    POWER("reset", skiplock_params, h_reset, "Reset virtual machine."),
    POWER("suspend", suspend_params, h_suspend, "Suspend virtual machine."),
    POWER("resume", resume_params, h_resume, "Resume virtual machine."),
};

int api_qemu_status_register(ApiRouter *r) {
    return api_router_add(r, methods);
}
