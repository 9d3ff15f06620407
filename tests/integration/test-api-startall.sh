#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# POST /nodes/{node}/startall and stopall with real guests (TCG VMs and, when LXC can run here,
# a container): onboot and `startup` order (ascending, no order last, ties by VMID) seen in the
# task log and in the processes' start times, the `up` delay, already running guests skipped,
# force and vms, stopall in reverse order with each guest's `down` timeout and the force-stop
# fallback for a guest that ignores ACPI, permissions (VM.PowerMgmt on / or per VMID), bad
# input, and the pve-guests unit's command `pvesh --nooutput create /nodes/localhost/startall`
# (with the node's startall-onboot-delay) and .../stopall.
# Runs in its own network namespace and /run (API_GUESTS=1).
set -u
API_GUESTS=1
. "$(dirname "$0")/lib-api.sh"
. "$(dirname "$0")/lib-guest-image.sh"
. "$(dirname "$0")/lib-lxc-template.sh"

command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
QM=$(readlink -f "$ROOT/qemu-server/qm")
QMEVENTD=$(readlink -f "$ROOT/qmeventd/qmeventd")
PVESH=$(readlink -f "$ROOT/pvedaemon/pvesh")
[ -x "$QM" ] && [ -x "$QMEVENTD" ] && [ -x "$PVESH" ] || skip_all "qm, qmeventd or pvesh not built"

api_setup
login root@pam "$ROOT_PASSWORD"

VZ=$TMP/vz
mkdir -p "$VZ/template/cache"
printf 'dir: vmstore\n\tpath %s\n\tcontent images,rootdir,vztmpl\n' "$VZ" >"$MNT/storage.cfg"
ip link add vmbr0 type bridge && ip link set vmbr0 up
export PVE_QM_BIN=$QM
"$QMEVENTD" -f -t 3 /run/qmeventd.sock >"$TMP/qmeventd.log" 2>&1 &
QMEVENTD_PID=$!
wait_until 10 test -S /run/qmeventd.sock || not_ok "qmeventd listens" "$(cat "$TMP/qmeventd.log")"

CT=8311 # unusual id: LXC's cgroups live in the host's hierarchy
HAVE_CT=
if ! lxc_template_unusable >/dev/null; then
    HAVE_CT=1
    mkdir -p "$TMP/lxc"
    mount --bind "$TMP/lxc" /var/lib/lxc
fi

guest_cleanup() {
    local p
    [ -n "$HAVE_CT" ] && lxc-stop -n $CT -P /var/lib/lxc -k >/dev/null 2>&1
    for p in /proc/[0-9]*; do
        { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "^/usr/bin/qemu-system-x86_64 .*file=$TMP/" &&
            kill -KILL "${p#/proc/}" 2>/dev/null
    done
    kill "$QMEVENTD_PID" 2>/dev/null
    wait "$QMEVENTD_PID" 2>/dev/null
    api_cleanup
}
trap guest_cleanup EXIT

# run_task METHOD PATH ARGS...: the call must answer a UPID; waits for it (UPID, TASK_EXIT)
run_task() {
    api "$@"
    UPID=$(jget .data)
    TASK_EXIT=
    [ "$CODE" = 200 ] && matches "$UPID" "UPID:*" && api_wait_task "$UPID" 120
    [ -n "$TASK_EXIT" ]
}
# a VM's QEMU pid / a guest's main pid ("" when stopped)
vm_pid() { cat /run/qemu-server/$1.pid 2>/dev/null; }
guest_pid() {
    if [ "$1" = $CT ]; then
        lxc-info -n $CT -P /var/lib/lxc -p -H 2>/dev/null
    else
        vm_pid "$1"
    fi
}
running() {
    local p
    p=$(guest_pid "$1")
    [ -n "$p" ] && [ -e "/proc/$p" ] && [ "$(cut -d' ' -f3 "/proc/$p/stat")" != Z ]
}
# process start time in clock ticks since boot (field 22 of /proc/<pid>/stat)
started_at() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$(guest_pid "$1")/stat"; }
HZ=$(getconf CLK_TCK)
# the lines of LOG matching PATTERN (grep -o), joined by spaces
lines_of() { grep -o "$2" <<<"$1" | tr '\n' ' ' | sed 's/ $//'; }

# ---- guests -------------------------------------------------------------------------------------
# 101 order=2,up=2,down=20   102 order=1,up=0   103 no order (hangs on ACPI, down=2)
# 104 onboot=0   CT 8311 order=1,up=1
make_vm() {
    local vmid=$1 image=$2; shift 2
    mkdir -p "$VZ/images/$vmid"
    $image "$VZ/images/$vmid/vm-$vmid-disk-0.raw" 1M
    run_task POST "/nodes/$NODE/qemu" -d vmid="$vmid" -d kvm=0 -d memory=32 -d cores=1 \
        --data-urlencode "scsi0=vmstore:$vmid/vm-$vmid-disk-0.raw" "$@"
}
make_vm 101 guest_image_poweroff -d onboot=1 --data-urlencode "startup=order=2,up=2,down=20"
check "VM 101 created" [ "$TASK_EXIT" = OK ]
make_vm 102 guest_image_poweroff -d onboot=1 --data-urlencode "startup=order=1,up=0"
check "VM 102 created" [ "$TASK_EXIT" = OK ]
make_vm 103 guest_image_hang -d onboot=1 --data-urlencode "startup=down=2"
check "VM 103 created" [ "$TASK_EXIT" = OK ]
make_vm 104 guest_image_poweroff -d onboot=0
check "VM 104 created" [ "$TASK_EXIT" = OK ]
VMS="101 102 103 104"
if [ -n "$HAVE_CT" ]; then
    R=$TMP/tpl
    lxc_template_tree "$R"
    tar -C "$R" -czf "$VZ/template/cache/busybox.tar.gz" .
    run_task POST "/nodes/$NODE/lxc" -d vmid=$CT --data-urlencode "ostemplate=vmstore:vztmpl/busybox.tar.gz" \
        -d hostname=ct1 -d memory=64 -d unprivileged=0 --data-urlencode "rootfs=vmstore:1" \
        -d onboot=1 --data-urlencode "startup=order=1,up=1"
    check "CT $CT created" [ "$TASK_EXIT" = OK ]
    VMS="$VMS $CT"
else
    echo "# no LXC here ($(lxc_template_unusable)): QEMU guests only"
fi
EXPECTED_START="Starting VM 102 Starting VM 101 Starting VM 103"
EXPECTED_STOP="Stopping VM 104 Stopping VM 103 Stopping VM 101 Stopping VM 102"
if [ -n "$HAVE_CT" ]; then
    EXPECTED_START="Starting VM 102 Starting CT $CT Starting VM 101 Starting VM 103"
    EXPECTED_STOP="Stopping VM 104 Stopping VM 103 Stopping VM 101 Stopping CT $CT Stopping VM 102"
fi

# ---- bad input and permissions (nothing starts) -------------------------------------------------
api POST "/nodes/$NODE/startall" -d vms=abc
check "startall vms=abc: 400 naming vms" [ "$CODE" = 400 -a -n "$(jget .errors.vms)" ]
api POST "/nodes/$NODE/stopall" -d timeout=99999
check "stopall timeout=99999: 400 naming timeout" [ "$CODE" = 400 -a -n "$(jget .errors.timeout)" ]
api POST "/nodes/$NODE/stopall" -d nosuch=1
check "stopall with an unknown parameter: 400" [ "$CODE" = 400 -a -n "$(jget .errors.nosuch)" ]
api POST "/nodes/$NODE/startall" -d max-workers=0
check "startall max-workers=0: 400" [ "$CODE" = 400 -a -n "$(jget '.errors["max-workers"]')" ]
api POST "/nodes/othernode/startall"
check "startall for another node is not run here" [ "$CODE" != 200 ]

add_pve_user auditor@pve auditpw PVEAuditor /
add_pve_user vmuser@pve vmuserpw PVEVMUser /vms/104
ROOT_TICKET=$TICKET ROOT_CSRF=$CSRF
login auditor@pve auditpw
api POST "/nodes/$NODE/startall"
check "auditor: startall 403 (/, VM.PowerMgmt)" eval '[ "$CODE" = 403 ] && matches "$(jget .message)" "*(/, VM.PowerMgmt)*"'
api POST "/nodes/$NODE/stopall"
check "auditor: stopall 403" [ "$CODE" = 403 ]
login vmuser@pve vmuserpw
api POST "/nodes/$NODE/startall"
check "VM.PowerMgmt on /vms/104 only, no vms: 403" eval '[ "$CODE" = 403 ] && matches "$(jget .message)" "*(/, VM.PowerMgmt)*"'
api POST "/nodes/$NODE/startall" -d vms=104,101
check "vms=104,101 without rights on 101: 403 naming /vms/101" eval '[ "$CODE" = 403 ] && matches "$(jget .message)" "*/vms/101*VM.PowerMgmt*"'
check "no guest started by refused calls" eval '! running 101 && ! running 102 && ! running 104'
run_task POST "/nodes/$NODE/startall" -d vms=104
check "vms=104 (onboot=0) without force: task OK, 104 stays stopped" eval '[ "$TASK_EXIT" = OK ] && ! running 104 && ! api_task_log "$UPID" | grep -q Starting'
run_task POST "/nodes/$NODE/startall" -d vms=104 -d force=1
check "vms=104 force=1 as a user with VM.PowerMgmt on /vms/104: 104 started, nothing else" eval '[ "$TASK_EXIT" = OK ] && running 104 && ! running 101 && ! running 102 && ! running 103'
check "that task ran as vmuser@pve" matches "$UPID" "*:startall::vmuser@pve:"
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF

# ---- startall -----------------------------------------------------------------------------------
T0=$SECONDS
run_task POST "/nodes/$NODE/startall"
T_START=$((SECONDS - T0))
check "startall answers a startall UPID without id" matches "$UPID" "UPID:$NODE:*:startall::root@pam:"
check "startall task OK" [ "$TASK_EXIT" = OK ]
LOG=$(api_task_log "$UPID")
[ "$TASK_EXIT" = OK ] || printf '%s\n' "$LOG" | sed 's/^/# /'
check "task log: start order 102, (CT), 101, 103; running 104 and onboot=0 skipped" \
    [ "$(lines_of "$LOG" 'Starting \(VM\|CT\) [0-9]*')" = "$EXPECTED_START" ]
EXPECTED_WAIT="Waiting for 2 seconds (startup delay)"
[ -n "$HAVE_CT" ] && EXPECTED_WAIT="Waiting for 1 seconds (startup delay) $EXPECTED_WAIT"
check "task log: the up delays announced (CT up=1, 101 up=2), nothing for up=0 or no up" \
    [ "$(lines_of "$LOG" 'Waiting for [0-9]* seconds (startup delay)')" = "$EXPECTED_WAIT" ]
check "every onboot guest runs" eval 'running 101 && running 102 && running 103'
[ -n "$HAVE_CT" ] && check "CT $CT runs" running $CT
S101=$(started_at 101) S102=$(started_at 102) S103=$(started_at 103)
check "process start times ascend: 102 < 101 < 103" [ "$S102" -lt "$S101" -a "$S101" -lt "$S103" ]
check "103 started at least up=2 s after 101" [ $((S103 - S101)) -ge $((2 * HZ)) ]
if [ -n "$HAVE_CT" ]; then
    SCT=$(started_at $CT)
    check "CT started after 102 and at least up=1 s before 101" [ "$S102" -le "$SCT" -a $((S101 - SCT)) -ge $((1 * HZ)) ]
fi
check "startall took the delays (2 s + QEMU default 3 s after 103)" [ "$T_START" -ge 5 ]
api GET "/nodes/$NODE/tasks" -d typefilter=qmstart -d limit=50
check "one qmstart task per started VM (104, 102, 101, 103)" [ "$(jget '[.data[] | select(.status == "OK") | .id] | sort | join(" ")')" = "101 102 103 104" ]

run_task POST "/nodes/$NODE/startall" -d force=1
check "second startall (force): everything runs already, nothing started" eval '[ "$TASK_EXIT" = OK ] && ! api_task_log "$UPID" | grep -q Starting'

# ---- stopall ------------------------------------------------------------------------------------
for v in 101 102 104; do
    guest_image_wait_up /run/qemu-server/$v.qmp 30 || not_ok "guest $v listens to ACPI"
done
T0=$SECONDS
run_task POST "/nodes/$NODE/stopall" -d timeout=30
T_STOP=$((SECONDS - T0))
check "stopall answers a stopall UPID, task OK" eval 'matches "$UPID" "UPID:$NODE:*:stopall::root@pam:" && [ "$TASK_EXIT" = OK ]'
LOG=$(api_task_log "$UPID")
[ "$TASK_EXIT" = OK ] || printf '%s\n' "$LOG" | sed 's/^/# /'
check "task log: stop order 104, 103 (no order, VMIDs descending), 101, (CT), 102" \
    [ "$(lines_of "$LOG" 'Stopping \(VM\|CT\) [0-9]*')" = "$EXPECTED_STOP" ]
check "timeouts: down of 101 (20) and 103 (2), the timeout parameter (30) otherwise" eval \
    'grep -q "Stopping VM 101 (timeout = 20 seconds)" <<<"$LOG" && grep -q "Stopping VM 103 (timeout = 2 seconds)" <<<"$LOG" && grep -q "Stopping VM 104 (timeout = 30 seconds)" <<<"$LOG"'
check "everything stopped" eval '! running 101 && ! running 102 && ! running 103 && ! running 104'
[ -n "$HAVE_CT" ] && check "CT $CT stopped" eval '! running $CT'
api GET "/nodes/$NODE/tasks" -d typefilter=qmshutdown -d limit=50
check "one qmshutdown task per VM, all OK (103 by the force-stop fallback)" [ "$(jget '[.data[] | select(.status == "OK") | .id] | sort | join(" ")')" = "101 102 103 104" ]
SHUT103=$(jget '.data[] | select(.id == "103") | .upid')
check "103 ignored ACPI and was stopped after its down=2 s" [ $(($(jget '.data[] | select(.id == "103") | .endtime') - $(jget '.data[] | select(.id == "103") | .starttime'))) -ge 2 ]
# groups run one after the other: 101's shutdown starts after 103's (and 104's) ended
check "group order: the 101 shutdown began after the no-order group ended" \
    [ "$(jget '.data[] | select(.id == "101") | .starttime')" -ge "$(jget '.data[] | select(.id == "103") | .endtime')" ]
run_task POST "/nodes/$NODE/stopall"
check "second stopall: nothing running, nothing stopped, OK" eval '[ "$TASK_EXIT" = OK ] && ! api_task_log "$UPID" | grep -q Stopping'

# ---- the pve-guests unit's commands --------------------------------------------------------------
printf 'startall-onboot-delay: 1\n' >"$MNT/nodes/$NODE/config"
T0=$SECONDS
OUT=$("$PVESH" --nooutput create /nodes/localhost/startall 2>&1)
RC=$?
check "pvesh --nooutput create /nodes/localhost/startall: exit 0, task log printed, no UPID" \
    eval '[ $RC = 0 ] && grep -q "Starting VM 102" <<<"$OUT" && ! grep -q "^UPID:" <<<"$OUT"'
[ $RC = 0 ] || printf '%s\n' "$OUT" | sed 's/^/# /'
check "pvesh startall: the node's startall-onboot-delay honoured" eval 'grep -q "Delaying on-boot .startall. command by 1 second(s)." <<<"$OUT" && [ $((SECONDS - T0)) -ge 6 ]'
check "pvesh startall: the onboot guests run, 104 does not" eval 'running 101 && running 102 && running 103 && ! running 104'
for v in 101 102; do
    guest_image_wait_up /run/qemu-server/$v.qmp 30 || not_ok "guest $v listens to ACPI"
done
OUT=$("$PVESH" --nooutput create /nodes/localhost/stopall --timeout 30 2>&1)
RC=$?
check "pvesh --nooutput create /nodes/localhost/stopall: exit 0, all stopped" \
    eval '[ $RC = 0 ] && grep -q "Stopping VM 101" <<<"$OUT" && ! running 101 && ! running 102 && ! running 103'
[ -n "$HAVE_CT" ] && check "pvesh stopall: CT $CT stopped" eval '! running $CT'
check "no QEMU of this test left" eval '! for p in /proc/[0-9]*; do { tr "\0" " " <"$p/cmdline"; } 2>/dev/null; echo; done | grep -q "^/usr/bin/qemu-system-x86_64 .*file=$TMP/"'

echo "1..$n"
exit $failed
