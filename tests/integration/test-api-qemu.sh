#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# QEMU VMs through the API with real QEMU processes: create (existing and newly allocated
# disks, generated MAC, defaults), config with digest and pending changes, start (tap on a
# bridge, live QMP), ACPI shutdown seen through by qmeventd, stop, reset/suspend/resume, a
# guest that ignores ACPI (timeout, forceStop), a missing bridge, an unusable QEMU binary, a full
# storage during create, permissions, bad input, destroy with its disks.
# Runs in its own network namespace and /run (API_GUESTS=1).
set -u
API_GUESTS=1
. "$(dirname "$0")/lib-api.sh"
. "$(dirname "$0")/lib-guest-image.sh"

command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
command -v qemu-img >/dev/null || skip_all "qemu-img missing"
[ -e /dev/net/tun ] || skip_all "no /dev/net/tun"
QM=$(readlink -f "$ROOT/qemu-server/qm")
QMEVENTD=$(readlink -f "$ROOT/qmeventd/qmeventd")
[ -x "$QM" ] && [ -x "$QMEVENTD" ] || skip_all "qm or qmeventd not built"

api_setup
login root@pam "$ROOT_PASSWORD"

# TCG (kvm: 0) so that the test runs the same with and without /dev/kvm.
# storage (not `local`: that one is always /var/lib/vz, as upstream), bridge, qmeventd (runs
# `qm cleanup` when a QEMU exits)
VZ=$TMP/vz
mkdir -p "$VZ"
printf 'dir: vmstore\n\tpath %s\n\tcontent images,iso,vztmpl,rootdir,backup,snippets\n' "$VZ" >"$MNT/storage.cfg"
ip link add vmbr0 type bridge && ip link set vmbr0 up
export PVE_QM_BIN=$QM
"$QMEVENTD" -f -t 3 /run/qmeventd.sock >"$TMP/qmeventd.log" 2>&1 &
QMEVENTD_PID=$!
wait_until 10 test -S /run/qmeventd.sock || not_ok "qmeventd listens" "$(cat "$TMP/qmeventd.log")"

# every QEMU this test started: its disks are under $TMP (also when a pid file is gone)
guest_cleanup() {
    local p
    for p in /proc/[0-9]*; do
        { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "^/usr/bin/qemu-system-x86_64 .*file=$TMP/" &&
            kill -KILL "${p#/proc/}" 2>/dev/null
    done
    kill "$QMEVENTD_PID" 2>/dev/null
    wait "$QMEVENTD_PID" 2>/dev/null
    api_cleanup
}
trap guest_cleanup EXIT

# gone PID: the process ended (a zombie counts: daemonized QEMUs belong to PID 1)
gone() { [ ! -e /proc/$1 ] || [ "$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null)" = Z ]; }
vm_pid() { cat /run/qemu-server/$1.pid 2>/dev/null; }
vm_status() { api GET "/nodes/$NODE/qemu/$1/status/current" && jget .data.status; }
digest_of() { sha1sum "$MNT/nodes/$NODE/qemu-server/$1.conf" | cut -d' ' -f1; }

# ---- create ------------------------------------------------------------------------------------
mkdir -p "$VZ/images/100"
guest_image_poweroff "$VZ/images/100/vm-100-disk-0.raw" 4M
api POST "/nodes/$NODE/qemu" -d vmid=100 -d kvm=0 -d name=web1 -d memory=64 -d cores=1 -d ostype=l26 --data-urlencode "scsi0=vmstore:100/vm-100-disk-0.raw,size=4M" --data-urlencode "sata0=vmstore:1" --data-urlencode "ide2=none,media=cdrom" --data-urlencode "net0=virtio,bridge=vmbr0" -d tags=test --data-urlencode "description=first VM"
UPID=$(jget .data)
check "create answers a qmcreate UPID" eval '[ "$CODE" = 200 ] && matches "$UPID" "UPID:$NODE:*:qmcreate:100:root@pam:"'
api_wait_task "$UPID"
check "create task OK" [ "$TASK_EXIT" = OK ]
CONF=$MNT/nodes/$NODE/qemu-server/100.conf
check "config file written without the create lock" eval '[ -f "$CONF" ] && ! grep -q '\''^lock:'\'' "$CONF"'
check "sata0 allocated as a 1 GiB raw image (dir default format)" [ "$(qemu-img info --output=json "$VZ/images/100/vm-100-disk-1.raw" | jq -r '.["virtual-size"]')" = 1073741824 ]
api GET "/nodes/$NODE/qemu/100/config"
check "config: name, memory, cores as upstream types" [ "$(jget .data.name)" = web1 -a "$(jget '.data.memory|tostring')" = 64 -a "$(jget '.data.cores|type')" = number ]
check "config: sata0 names the new volume with its size" [ "$(jget .data.sata0)" = "vmstore:100/vm-100-disk-1.raw,size=1G" ]
check "config: net0 got a BC:24:11 MAC" re_match "$(jget .data.net0)" '^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0$'
check "config: default boot order disk, cdrom, nic" [ "$(jget .data.boot)" = "order=scsi0;ide2;net0" ]
check "config: smbios1 uuid, vmgenid, meta written" eval 're_match "$(jget .data.smbios1)" "^uuid=[0-9a-f-]{36}\$" && re_match "$(jget .data.vmgenid)" "^[0-9a-f-]{36}\$" && matches "$(jget .data.meta)" "creation-qemu=*,ctime=*"'
check "config: description and digest (SHA-1 of the file)" [ "$(jget .data.description)" = "first VM" -a "$(jget .data.digest)" = "$(digest_of 100)" ]

api POST "/nodes/$NODE/qemu" -d vmid=100 -d memory=64
check "create with a taken VMID: 500 already exists" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" '\''*VM 100 already exists*'\'''
api POST "/nodes/$NODE/qemu" -d vmid=101 -d memory=lots
check "create with a bad memory value: 400 naming memory" [ "$CODE" = 400 -a -n "$(jget .errors.memory)" ]
api POST "/nodes/$NODE/qemu" -d vmid=99 -d memory=64
check "create with vmid 99: 400" [ "$CODE" = 400 -a -n "$(jget .errors.vmid)" ]
check "no config for refused creates" [ ! -e "$MNT/nodes/$NODE/qemu-server/101.conf" -a ! -e "$MNT/nodes/$NODE/qemu-server/99.conf" ]
api POST "/nodes/$NODE/qemu" -d vmid=102 --data-urlencode "virtio0=nosuch:1"
api_wait_task "$(jget .data)"
check "create on an unknown storage: task fails naming it" matches "$TASK_EXIT" "*storage ?nosuch? does not exist*"
check "failed create leaves no config behind" [ ! -e "$MNT/nodes/$NODE/qemu-server/102.conf" ]

api GET "/nodes/$NODE/qemu"
check "list shows VM 100 stopped with maxmem" [ "$(jget '.data[] | select(.vmid==100) | .status')" = stopped -a "$(jget '.data[] | select(.vmid==100) | .maxmem')" = $((64 * 1024 * 1024)) ]

# ---- start ------------------------------------------------------------------------------------
api POST "/nodes/$NODE/qemu/100/status/start"
UPID=$(jget .data)
check "start answers a qmstart UPID" matches "$UPID" '*:qmstart:100:*'
api_wait_task "$UPID"
check "start task OK" [ "$TASK_EXIT" = OK ]
[ "$TASK_EXIT" = OK ] || api_task_log "$UPID" | sed 's/^/# /'
api GET "/nodes/$NODE/qemu/100/status/current"
check "status/current: running, qmpstatus running, pid of the pid file" [ "$(jget .data.status)" = running -a "$(jget .data.qmpstatus)" = running -a "$(jget .data.pid)" = "$(vm_pid 100)" ]
check "status/current: running-qemu and uptime" eval 'matches "$(jget ".data[\"running-qemu\"]")" "[0-9]*.*" && [ -n "$(jget .data.uptime)" ]'
# vm_args VMID PATTERN: the VM's QEMU command line contains PATTERN (fixed string)
vm_args() { tr '\0' ' ' </proc/"$(vm_pid "$1")"/cmdline | grep -qF -- "$2"; }
tap_on_bridge() { ip -o link show "$1" | grep -q "master $2.*state \(UP\|UNKNOWN\)"; }
check "QEMU process has the pid file of VM 100" vm_args 100 '-pidfile /var/run/qemu-server/100.pid '
check "tap100i0 is a port of vmbr0 and up" tap_on_bridge tap100i0 vmbr0
check "QMP socket answers" guest_qmp /run/qemu-server/100.qmp query-status >/dev/null
api POST "/nodes/$NODE/qemu/100/status/start"
check "start of a running VM: 500 already running" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" '\''*already running*'\'''
api DELETE "/nodes/$NODE/qemu/100"
check "destroy of a running VM refused" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" '\''*is running*'\'''

# ---- config while running: pending -----------------------------------------------------------
api PUT "/nodes/$NODE/qemu/100/config" -d memory=128 -d name=web-one -d "digest=$(digest_of 100)"
check "PUT memory+name on a running VM: 200" [ "$CODE" = 200 ]
check "name applied at once (fast plug), memory pending" eval 'grep -q '\''^name: web-one$'\'' "$CONF" && sed -n '\''/^\[PENDING\]/,$p'\'' "$CONF" | grep -q '\''^memory: 128$'\'''
api GET "/nodes/$NODE/qemu/100/pending"
check "pending: memory value 64, pending 128" [ "$(jget '.data[] | select(.key=="memory") | .value')" = 64 -a "$(jget '.data[] | select(.key=="memory") | .pending')" = 128 ]
api GET "/nodes/$NODE/qemu/100/config" -d current=1
check "config current=1: memory still 64" [ "$(jget .data.memory)" = 64 ]
api GET "/nodes/$NODE/qemu/100/config"
check "config default: pending memory 128 shown" [ "$(jget .data.memory)" = 128 ]
before=$(cat "$CONF")
api PUT "/nodes/$NODE/qemu/100/config" -d cores=2 -d digest=0000000000000000000000000000000000000000
check "PUT with a stale digest: 400, file unchanged" eval '[ "$CODE" = 400 ] && matches "$(jget .message)" '\''*file changed by other user*'\'' && [ "$(cat "$CONF")" = "$before" ]'
api PUT "/nodes/$NODE/qemu/100/config" -d nosuchkey=1
check "PUT an unknown key: 400" [ "$CODE" = 400 -a -n "$(jget .errors.nosuchkey)" ]
api PUT "/nodes/$NODE/qemu/100/config" --data-urlencode "net1=virtio,bridge=vmbr0,tag=5000"
check "PUT a bad VLAN tag: 400 naming net1" [ "$CODE" = 400 -a -n "$(jget .errors.net1)" ]

# ---- suspend / resume / reset -----------------------------------------------------------------
api POST "/nodes/$NODE/qemu/100/status/suspend"; api_wait_task "$(jget .data)"
check "suspend: qmpstatus paused" eval '[ "$TASK_EXIT" = OK ] && api GET "/nodes/$NODE/qemu/100/status/current" && [ "$(jget .data.qmpstatus)" = paused ]'
api POST "/nodes/$NODE/qemu/100/status/resume"; api_wait_task "$(jget .data)"
check "resume: qmpstatus running" eval '[ "$TASK_EXIT" = OK ] && api GET "/nodes/$NODE/qemu/100/status/current" && [ "$(jget .data.qmpstatus)" = running ]'
api POST "/nodes/$NODE/qemu/100/status/reset"; api_wait_task "$(jget .data)"
check "reset task OK" [ "$TASK_EXIT" = OK ]

# ---- ACPI shutdown: the guest powers off, qmeventd quits QEMU and runs qm cleanup -------------
PID=$(vm_pid 100)
check "guest is up and listens to the power button" guest_image_wait_up /run/qemu-server/100.qmp 30
api POST "/nodes/$NODE/qemu/100/status/shutdown" -d timeout=30
UPID=$(jget .data)
api_wait_task "$UPID"
check "shutdown task OK" [ "$TASK_EXIT" = OK ]
[ "$TASK_EXIT" = OK ] || api_task_log "$UPID" | sed 's/^/# /'
check "QEMU process gone" gone "$PID"
check "status stopped, pid file removed" [ "$(vm_status 100)" = stopped -a ! -e /run/qemu-server/100.pid ]
check "qmeventd ran qm cleanup for a guest-initiated shutdown" wait_until 10 grep -q 'VM 100: cleaned up after a shutdown (guest initiated)' "$TMP/qmeventd.log"

# ---- next start applies the pending change, then a hard stop ---------------------------------
api POST "/nodes/$NODE/qemu/100/status/start"; api_wait_task "$(jget .data)"
check "start again OK" [ "$TASK_EXIT" = OK ]
check "pending memory applied at start" eval 'grep -q '\''^memory: 128$'\'' "$CONF" && ! grep -q '\''^\[PENDING\]'\'' "$CONF"'
check "QEMU got -m 128" vm_args 100 '-m 128 '
# ---- history: pvestatd broadcasts the VM, pmxcfs writes pve2-vm/100, rrddata reads it --------
PVESTATD=$(readlink -f "$ROOT/pvestatd/pvestatd")
"$PVESTATD" start --interval 1 --pidfile "$TMP/statd.pid" >"$TMP/statd.log" 2>&1
check "pvestatd writes the VM's RRD file" wait_until 20 test -f "$PVE_RRD_DIR/pve2-vm/100"
"$PVESTATD" stop --pidfile "$TMP/statd.pid" >/dev/null 2>&1
api GET "/nodes/$NODE/qemu/100/rrddata" -d timeframe=hour -d cf=AVERAGE
check "qemu rrddata: an hour of rows (one a minute) with time stamps" eval '[ "$CODE" = 200 ] && [ "$(jget ".data | length")" -ge 50 ] && [ -n "$(jget ".data[0].time")" ]'
api GET "/nodes/$NODE/qemu/103/rrddata" -d timeframe=hour
check "rrddata of a VM without history: 500" [ "$CODE" = 500 ]

PID=$(vm_pid 100)
api POST "/nodes/$NODE/qemu/100/status/stop"; api_wait_task "$(jget .data)"
check "stop task OK, process gone" eval '[ "$TASK_EXIT" = OK ] && gone "$PID"'
api POST "/nodes/$NODE/qemu/100/status/reset"
check "reset of a stopped VM: 500 not running" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" '\''*not running*'\'''

# ---- a guest that ignores ACPI ------------------------------------------------------------------
mkdir -p "$VZ/images/103"
guest_image_hang "$VZ/images/103/vm-103-disk-0.raw" 1M
api POST "/nodes/$NODE/qemu" -d vmid=103 -d kvm=0 -d memory=32 --data-urlencode "ide0=vmstore:103/vm-103-disk-0.raw" -d start=1
api_wait_task "$(jget .data)"
check "create with start=1: running" [ "$TASK_EXIT" = OK -a "$(vm_status 103)" = running ]
api POST "/nodes/$NODE/qemu/103/status/shutdown" -d timeout=2
api_wait_task "$(jget .data)"
check "shutdown of a guest ignoring ACPI: task fails with a timeout" eval 'matches "$TASK_EXIT" '\''*got timeout*'\'' && [ "$(vm_status 103)" = running ]'
api POST "/nodes/$NODE/qemu/103/status/shutdown" -d timeout=2 -d forceStop=1
api_wait_task "$(jget .data)"
check "shutdown with forceStop stops it" [ "$TASK_EXIT" = OK -a "$(vm_status 103)" = stopped ]

# ---- missing bridge ----------------------------------------------------------------------------
api PUT "/nodes/$NODE/qemu/103/config" --data-urlencode "net0=e1000,bridge=vmbr9"
api POST "/nodes/$NODE/qemu/103/status/start"; api_wait_task "$(jget .data)"
check "start with a missing bridge fails naming it" eval 'matches "$TASK_EXIT" "*bridge ?vmbr9? does not exist*" && [ "$(vm_status 103)" = stopped ]'

# ---- QEMU missing ------------------------------------------------------------------------------
api PUT "/nodes/$NODE/qemu/103/config" --data-urlencode "net0=e1000,bridge=vmbr0"
: >"$TMP/no-qemu" # an empty, non-executable file where QEMU is (in this mount namespace only)
mount --bind "$TMP/no-qemu" /usr/bin/qemu-system-x86_64
api POST "/nodes/$NODE/qemu/103/status/start"; api_wait_task "$(jget .data)"
umount /usr/bin/qemu-system-x86_64
echo "# task error: $TASK_EXIT"
check "start without a usable QEMU fails naming the binary" eval 'matches "$TASK_EXIT" "*/usr/bin/qemu-system-x86_64*" && [ "$(vm_status 103)" = stopped ]'
check "... leaving no pid file, QMP socket or tap behind" \
    eval '[ ! -e /run/qemu-server/103.pid ] && [ ! -e /run/qemu-server/103.qmp ] && ! ip link show tap103i0 >/dev/null 2>&1'
check "... and no lock in the config" eval '! grep -q "^lock:" "$MNT/nodes/$NODE/qemu-server/103.conf"'

# ---- disk full ---------------------------------------------------------------------------------
mkdir -p "$TMP/small" && mount -t tmpfs -o size=1m tmpfs "$TMP/small"
printf 'dir: small\n\tpath %s\n\tcontent images\n' "$TMP/small" >>"$MNT/storage.cfg"
mkdir -p "$TMP/small/images"
dd if=/dev/zero of="$TMP/small/fill" bs=64k 2>/dev/null # until ENOSPC
api POST "/nodes/$NODE/qemu" -d vmid=120 -d kvm=0 -d memory=64 \
    --data-urlencode "scsi0=vmstore:1" --data-urlencode "scsi1=small:1,format=qcow2"
api_wait_task "$(jget .data)"
echo "# task error: $TASK_EXIT"
check "create with a disk on a full storage fails with ENOSPC's text" matches "$TASK_EXIT" "*No space left on device*"
check "... leaves no config" [ ! -e "$MNT/nodes/$NODE/qemu-server/120.conf" ]
check "... and frees the disk it had already allocated on the other storage" \
    eval '[ -z "$(ls "$VZ/images/120" 2>/dev/null)" ] && [ -z "$(ls "$TMP/small/images/120" 2>/dev/null)" ]'
umount "$TMP/small"
sed -i '/^dir: small/,$d' "$MNT/storage.cfg"

# ---- permissions ------------------------------------------------------------------------------
add_pve_user auditor@pve secret1 PVEAuditor
add_pve_user vmuser@pve secret2 PVEVMUser /vms/103
ROOT_TICKET=$TICKET ROOT_CSRF=$CSRF
login auditor@pve secret1
api GET "/nodes/$NODE/qemu/100/config"
check "auditor reads a config" [ "$CODE" = 200 ]
api POST "/nodes/$NODE/qemu/100/status/start"
check "auditor cannot start: 403" [ "$CODE" = 403 ]
api PUT "/nodes/$NODE/qemu/100/config" -d memory=256
check "auditor cannot change config: 403" [ "$CODE" = 403 ]
login vmuser@pve secret2
api GET "/nodes/$NODE/qemu"
check "VM user lists only VM 103" [ "$(jget '[.data[].vmid] | join(",")')" = 103 ]
api PUT "/nodes/$NODE/qemu/103/config" -d memory=48
check "VM user (no VM.Config.Memory) cannot change memory: 403" [ "$CODE" = 403 ]
api POST "/nodes/$NODE/qemu" -d vmid=104 -d memory=32
check "VM user cannot create VMs: 403" [ "$CODE" = 403 ]
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF

# ---- delete a disk: it becomes unused0; destroy removes everything ----------------------------
api PUT "/nodes/$NODE/qemu/100/config" -d delete=sata0
check "deleting sata0 keeps the volume as unused0" eval '[ "$CODE" = 200 ] && grep -q '\''^unused0: vmstore:100/vm-100-disk-1.raw$'\'' "$CONF" && [ -f "$VZ/images/100/vm-100-disk-1.raw" ]'
api PUT "/nodes/$NODE/qemu/103/config" -d protection=1
api DELETE "/nodes/$NODE/qemu/103"
check "protected VM cannot be destroyed" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" '\''*protection mode enabled*'\'''
api DELETE "/nodes/$NODE/qemu/100"
UPID=$(jget .data)
api_wait_task "$UPID"
check "destroy task OK" [ "$TASK_EXIT" = OK ]
check "config and both disks of VM 100 gone" [ ! -e "$CONF" -a ! -e "$VZ/images/100/vm-100-disk-0.raw" -a ! -e "$VZ/images/100/vm-100-disk-1.raw" ]
api GET "/nodes/$NODE/qemu/100/config"
check "config of a destroyed VM: 500 does not exist" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" '\''*does not exist*'\'''

api_finish

