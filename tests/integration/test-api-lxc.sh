#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# LXC containers through the API with real lxc-start: create from a busybox template made here
# (subvol rootfs on a dir storage, detected ostype, hostname), config with digest, delete list
# and pending changes, start (veth on a bridge, generated LXC config, hostname and address
# inside), stop, shutdown, reboot, error texts (template, storage, bridge, running state),
# permissions for an auditor, protection, destroy with its volume.
# Runs in its own network namespace and /run (API_GUESTS=1), with /var/lib/lxc on a tmpdir.
set -u
API_GUESTS=1
. "$(dirname "$0")/lib-api.sh"

. "$(dirname "$0")/lib-lxc-template.sh"

for c in nsenter ip sha1sum; do
    command -v $c >/dev/null || skip_all "$c missing"
done
reason=$(lxc_template_unusable) && skip_all "$reason"

api_setup
login root@pam "$ROOT_PASSWORD"

CT=8301 # an unusual id: LXC's cgroups (lxc.payload.<id>) live in the host's hierarchy

# /var/lib/lxc goes to a tmpdir.
mkdir -p "$TMP/lxc"
mount --bind "$TMP/lxc" /var/lib/lxc

lxc_cleanup() {
    local id
    for id in $CT $((CT + 1)); do
        lxc-stop -n $id -P /var/lib/lxc -k >/dev/null 2>&1
    done
    api_cleanup
}
trap lxc_cleanup EXIT

# storage (not `local`: upstream pins that one to /var/lib/vz) and bridge
VZ=$TMP/vz
mkdir -p "$VZ/template/cache"
printf 'dir: tank\n\tpath %s\n\tcontent rootdir,vztmpl,images\n' "$VZ" >"$MNT/storage.cfg"
ip link add vmbr0 type bridge && ip link set vmbr0 up

# a busybox template (lib-lxc-template.sh), os-release saying alpine
R=$TMP/tpl
lxc_template_tree "$R"
tar -C "$R" -czf "$VZ/template/cache/busybox.tar.gz" .
# one without any distribution marker
rm "$R/etc/os-release"
tar -C "$R" -czf "$VZ/template/cache/plain.tar.gz" .
TPL=tank:vztmpl/busybox.tar.gz

CONF=$MNT/nodes/$NODE/lxc/$CT.conf
ROOTFS=$VZ/images/$CT/subvol-$CT-disk-0.subvol
digest_of() { sha1sum "$1" | cut -d' ' -f1; }
ct_status() { api GET "/nodes/$NODE/lxc/$CT/status/current" && jget .data.status; }
ct_pid() { api GET "/nodes/$NODE/lxc/$CT/status/current" && jget .data.pid; }
# run_task METHOD PATH ARGS...: the call must answer a UPID; waits for it (TASK_EXIT)
run_task() {
    api "$@"
    UPID=$(jget .data)
    TASK_EXIT=
    [ "$CODE" = 200 ] && matches "$UPID" "UPID:*" && api_wait_task "$UPID" 60
    [ -n "$TASK_EXIT" ]
}

# ---- create ------------------------------------------------------------------------------------
api POST "/nodes/$NODE/lxc" -d vmid=$CT --data-urlencode "ostemplate=$TPL" -d hostname=ct1 \
    -d memory=128 -d swap=64 -d cores=1 -d unprivileged=0 --data-urlencode "rootfs=tank:1" \
    --data-urlencode "net0=name=eth0,bridge=vmbr0,ip=10.10.0.2/24,gw=10.10.0.1" --data-urlencode "description=test CT" \
    --data-urlencode "password=ctsecret" --data-urlencode "ssh-public-keys=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtest test@host"
UPID=$(jget .data)
check "create answers a vzcreate UPID" eval '[ "$CODE" = 200 ] && matches "$UPID" "UPID:$NODE:*:vzcreate:$CT:root@pam:"'
api_wait_task "$UPID"
check "create task OK" [ "$TASK_EXIT" = OK ]
check "rootfs is a subvol directory with the template's files" [ -d "$ROOTFS" -a -x "$ROOTFS/bin/busybox" -a -L "$ROOTFS/bin/sh" ]
check "template's ./dev contents were not extracted, ./dev itself was" [ -d "$ROOTFS/dev" ]
check "hostname written to the rootfs' /etc/hostname" [ "$(cat "$ROOTFS/etc/hostname")" = ct1 ]
SH=$(sed -n 's/^root:\([^:]*\):.*/\1/p' "$ROOTFS/etc/shadow")
SALT=$(printf '%s' "$SH" | cut -d'$' -f3)
check "root password set in the rootfs' /etc/shadow (SHA-256-crypt), rest of the line and mode kept" eval '[ "$SH" = "$(openssl passwd -5 -salt "$SALT" ctsecret)" ] && grep -q "^root:[^:]*:19000:0:99999:7:::\$" "$ROOTFS/etc/shadow" && [ "$(stat -c %a "$ROOTFS/etc/shadow")" = 640 ]'
check "SSH key in /root/.ssh/authorized_keys (0600 in a 0700 dir)" eval '[ "$(cat "$ROOTFS/root/.ssh/authorized_keys")" = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtest test@host" ] && [ "$(stat -c %a "$ROOTFS/root/.ssh")" = 700 -a "$(stat -c %a "$ROOTFS/root/.ssh/authorized_keys")" = 600 ]'
check "the password is in no config and no task log" eval '! grep -rq ctsecret "$MNT/nodes" "$PVE_TASK_DIR"'
HW=$(sed -n 's/^net0: .*hwaddr=\([0-9A-F:]*\).*/\1/p' "$CONF")
check "net0 got a BC:24:11 hwaddr" re_match "$HW" '^BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}$'
EXPECTED="#test CT
arch: amd64
cores: 1
hostname: ct1
memory: 128
net0: name=eth0,bridge=vmbr0,gw=10.10.0.1,hwaddr=$HW,ip=10.10.0.2/24,type=veth
ostype: alpine
rootfs: tank:$CT/subvol-$CT-disk-0.subvol,size=1G
swap: 64
unprivileged: 0"
check "config file text (detected ostype, no create lock)" [ "$(cat "$CONF")" = "$EXPECTED" ]
[ "$(cat "$CONF")" = "$EXPECTED" ] || { echo "# got:"; sed 's/^/#   /' "$CONF"; }

api GET "/nodes/$NODE/lxc/$CT/config"
check "GET config: values with upstream types and the digest of the file" eval '[ "$CODE" = 200 ] && [ "$(jget .data.hostname)" = ct1 -a "$(jget ".data.memory|type")" = number -a "$(jget .data.digest)" = "$(digest_of "$CONF")" -a "$(jget .data.description)" = "test CT" ]'

api POST "/nodes/$NODE/lxc" -d vmid=$CT --data-urlencode "ostemplate=$TPL"
check "create with a taken VMID: 500 already exists" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "*CT $CT already exists*"'
api POST "/nodes/$NODE/lxc" -d vmid=$((CT + 1)) --data-urlencode "ostemplate=tank:vztmpl/nosuch.tar.gz"
check "unknown template: 500 can't find file" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "can'\''t find file '\''tank:vztmpl/nosuch.tar.gz'\''*"'
api POST "/nodes/$NODE/lxc" -d vmid=$((CT + 1)) --data-urlencode "ostemplate=$TPL" --data-urlencode "rootfs=nosuch:1"
check "unknown storage: 500 storage does not exist" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "storage '\''nosuch'\'' does not exist*"'
api POST "/nodes/$NODE/lxc" -d vmid=$((CT + 1)) --data-urlencode "ostemplate=nosuch:vztmpl/x.tar.gz"
check "template on an unknown storage: 500 naming it" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "*nosuch*"'
api POST "/nodes/$NODE/lxc" -d vmid=$((CT + 1)) --data-urlencode "ostemplate=$TPL" --data-urlencode "net0=name=eth0,ip=300.1.1.1/24"
check "bad net0 address: 400 naming net0" [ "$CODE" = 400 -a -n "$(jget .errors.net0)" ]
api POST "/nodes/$NODE/lxc" -d vmid=$((CT + 1)) --data-urlencode "net0=name=eth0,tag=5000"
check "missing ostemplate and bad tag: 400 naming both" [ "$CODE" = 400 -a -n "$(jget .errors.ostemplate)" -a -n "$(jget .errors.net0)" ]
api POST "/nodes/$NODE/lxc" -d vmid=$((CT + 1)) --data-urlencode "ostemplate=$TPL" -d bogus=1
check "unknown parameter: 400" [ "$CODE" = 400 -a -n "$(jget .errors.bogus)" ]
check "no config and no volume for refused creates" [ ! -e "$MNT/nodes/$NODE/lxc/$((CT + 1)).conf" -a ! -e "$VZ/images/$((CT + 1))" ]
run_task POST "/nodes/$NODE/lxc" -d vmid=$((CT + 1)) --data-urlencode "ostemplate=tank:vztmpl/plain.tar.gz" --data-urlencode "rootfs=tank:1"
check "template without a distribution: task fails, nothing stays" eval 'matches "$TASK_EXIT" "*unable to detect OS distribution*" && [ ! -e "$MNT/nodes/$NODE/lxc/$((CT + 1)).conf" ] && [ -z "$(ls -A "$VZ/images/$((CT + 1))" 2>/dev/null)" ]'

api GET "/nodes/$NODE/lxc"
check "list shows the CT stopped with maxmem and maxswap" [ "$(jget ".data[] | select(.vmid==$CT) | .status")" = stopped -a "$(jget ".data[] | select(.vmid==$CT) | .maxmem")" = $((128 << 20)) -a "$(jget ".data[] | select(.vmid==$CT) | .maxswap")" = $((64 << 20)) -a "$(jget ".data[] | select(.vmid==$CT) | .name")" = ct1 ]
api GET "/nodes/$NODE/lxc/$CT"
check "CT index has config and status" [ "$(jget '[.data[].subdir]|join(",")')" = "config,status" ]
api GET "/nodes/$NODE/lxc/$CT/status"
check "status index lists current and the actions" [ "$(jget '[.data[].subdir]|join(",")')" = "current,start,stop,shutdown,reboot" ]

# ---- config updates ----------------------------------------------------------------------------
OLD=$(cat "$CONF")
api PUT "/nodes/$NODE/lxc/$CT/config" -d memory=256 -d digest=0000000000000000000000000000000000000000
check "PUT with a wrong digest: 400 and the file unchanged" eval '[ "$CODE" = 400 ] && matches "$(jget .message)" "detected modified configuration*" && [ "$(cat "$CONF")" = "$OLD" ]'
api PUT "/nodes/$NODE/lxc/$CT/config" -d memory=256 -d delete=swap -d digest="$(digest_of "$CONF")"
check "PUT with the right digest: memory set, swap deleted" eval '[ "$CODE" = 200 ] && grep -qx "memory: 256" "$CONF" && ! grep -q "^swap:" "$CONF"'
api PUT "/nodes/$NODE/lxc/$CT/config" -d delete=rootfs
check "deleting rootfs: 400" eval '[ "$CODE" = 400 ] && matches "$(jget .message)" "*required option '\''rootfs'\''*"'
api PUT "/nodes/$NODE/lxc/$CT/config" -d unprivileged=1
check "changing unprivileged: 400 read-only" eval '[ "$CODE" = 400 ] && matches "$(jget .message)" "*read-only option*"'
api PUT "/nodes/$NODE/lxc/$CT/config" -d memory=8
check "memory below 16: 400 naming memory" [ "$CODE" = 400 -a -n "$(jget .errors.memory)" ]
check "refused updates left the file alone" eval 'grep -qx "memory: 256" "$CONF" && grep -qx "unprivileged: 0" "$CONF"'
echo "lxc.environment: CT_TEST=1" >>"$CONF"
api GET "/nodes/$NODE/lxc/$CT/config"
check "raw lxc.* lines come back as the lxc array" [ "$(jget '.data.lxc[0]|join("=")')" = "lxc.environment=CT_TEST=1" ]

# mount points: a new volume and a bind mount
mkdir -p "$TMP/hostdir" && echo hello >"$TMP/hostdir/file"
api PUT "/nodes/$NODE/lxc/$CT/config" --data-urlencode "mp0=tank:1,mp=/data" --data-urlencode "mp1=$TMP/hostdir,mp=/mnt/host,ro=1"
check "mp0 allocated as a new subvol, mp1 kept as a bind mount" eval '[ "$CODE" = 200 ] && grep -qx "mp0: tank:$CT/subvol-$CT-disk-1.subvol,mp=/data,size=1G" "$CONF" && grep -qx "mp1: $TMP/hostdir,mp=/mnt/host,ro=1" "$CONF" && [ -d "$VZ/images/$CT/subvol-$CT-disk-1.subvol" ]'
api PUT "/nodes/$NODE/lxc/$CT/config" --data-urlencode "mp2=nosuch:1,mp=/x"
check "mp on an unknown storage: refused, nothing written" eval '[ "$CODE" = 400 -o "$CODE" = 500 ] && matches "$(jget .message)" "*storage '\''nosuch'\'' does not exist*" && ! grep -q "^mp2:" "$CONF"'

# ---- power -------------------------------------------------------------------------------------
run_task POST "/nodes/$NODE/lxc/$CT/status/start"
check "start: vzstart task OK" eval '[ "$TASK_EXIT" = OK ] && matches "$UPID" "*:vzstart:$CT:*"'
[ "$TASK_EXIT" = OK ] || api_task_log "$UPID" | sed 's/^/# /'
api GET "/nodes/$NODE/lxc/$CT/status/current"
PID=$(jget .data.pid)
check "status/current: running with a live pid, maxmem, name, memory use" eval '[ "$(jget .data.status)" = running ] && [ -n "$PID" ] && kill -0 "$PID" && [ "$(jget .data.maxmem)" = $((256 << 20)) -a "$(jget .data.name)" = ct1 -a "$(jget .data.type)" = lxc ] && [ "$(jget .data.mem)" -gt 0 ]'
LXCCONF=/var/lib/lxc/$CT/config
# the distribution's include when lxc-templates provides it, else the generic one
lxc_include() { # ostype kind (common|userns)
    local f=/usr/share/lxc/config/$1.$2.conf
    [ -e "$f" ] || f=/usr/share/lxc/config/$2.conf
    echo "lxc.include = $f"
}
check "generated LXC config: veth pair, bridge, hostname, rootfs, include, raw line" eval 'grep -qx "lxc.net.0.veth.pair = veth${CT}i0" $LXCCONF && grep -qx "lxc.net.0.link = vmbr0" $LXCCONF && grep -qx "lxc.uts.name = ct1" $LXCCONF && grep -qx "lxc.rootfs.path = $ROOTFS" $LXCCONF && grep -qx "$(lxc_include alpine common)" $LXCCONF && grep -qx "lxc.environment = CT_TEST=1" $LXCCONF'
check "host side veth${CT}i0 is on vmbr0" eval 'ip -o link show veth${CT}i0 | grep -q "master vmbr0"'
check "inside: hostname ct1" [ "$(nsenter -t "$PID" -u hostname 2>/dev/null)" = ct1 ]
check "inside: eth0 has 10.10.0.2/24 with hwaddr" eval 'nsenter -t "$PID" -n ip addr show eth0 2>/dev/null | grep -q "inet 10.10.0.2/24" && nsenter -t "$PID" -n ip link show eth0 | grep -qi "$HW"'
check "inside: the bind mount shows the host's file" [ "$(nsenter -t "$PID" -m cat /mnt/host/file 2>/dev/null)" = hello ]
check "inside: the bind mount is read-only, /data is writable" eval '! nsenter -t "$PID" -m sh -c "echo x >/mnt/host/f2" 2>/dev/null && nsenter -t "$PID" -m sh -c "echo x >/data/f" && [ -f "$VZ/images/$CT/subvol-$CT-disk-1.subvol/f" ]'
if [ -e /sys/fs/cgroup/memory/lxc.payload.$CT/memory.limit_in_bytes ]; then
    check "memory limit in the CT's cgroup (v1)" [ "$(cat /sys/fs/cgroup/memory/lxc.payload.$CT/memory.limit_in_bytes)" = $((256 << 20)) ]
elif [ -e /sys/fs/cgroup/lxc.payload.$CT/memory.max ]; then
    check "memory limit in the CT's cgroup (v2)" [ "$(cat /sys/fs/cgroup/lxc.payload.$CT/memory.max)" = $((256 << 20)) ]
else
    echo "# SKIP: no memory cgroup of the CT found, limit not checked"
fi
api GET "/nodes/$NODE/lxc"
check "list shows it running with its pid" [ "$(jget ".data[] | select(.vmid==$CT) | .status")" = running -a "$(jget ".data[] | select(.vmid==$CT) | .pid")" = "$PID" ]
api POST "/nodes/$NODE/lxc/$CT/status/start"
check "start while running: 500 already running" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "CT $CT already running*"'

api PUT "/nodes/$NODE/lxc/$CT/config" -d cores=2 -d onboot=1
check "PUT while running: cores pending, onboot at once" eval '[ "$CODE" = 200 ] && grep -qx "\[pve:pending\]" "$CONF" && [ "$(sed -n "/^\[pve:pending\]/,\$p" "$CONF" | grep -c "^cores: 2")" = 1 ] && [ "$(sed -n "1,/^\[pve:pending\]/p" "$CONF" | grep -c "^onboot: 1")" = 1 ]'
api GET "/nodes/$NODE/lxc/$CT/config"
C1=$(jget .data.cores)
api GET "/nodes/$NODE/lxc/$CT/config" -d current=1
check "GET config shows the pending value, current=1 the running one" [ "$C1" = 2 -a "$(jget .data.cores)" = 1 ]

run_task POST "/nodes/$NODE/lxc/$CT/status/stop"
check "stop: vzstop task OK, stopped, process gone" eval '[ "$TASK_EXIT" = OK ] && [ "$(ct_status)" = stopped ] && ! kill -0 "$PID" 2>/dev/null'
check "veth gone with the CT" eval '! ip link show veth${CT}i0 >/dev/null 2>&1'
api POST "/nodes/$NODE/lxc/$CT/status/stop"
check "stop while stopped: 500 not running" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "CT $CT not running*"'
api POST "/nodes/$NODE/lxc/$CT/status/shutdown"
check "shutdown while stopped: 500 not running" [ "$CODE" = 500 ]

run_task POST "/nodes/$NODE/lxc/$CT/status/start"
check "start again applies the pending change" eval '[ "$TASK_EXIT" = OK ] && [ "$(ct_status)" = running ] && grep -qx "cores: 2" "$CONF" && ! grep -q "pve:pending" "$CONF"'
PID=$(ct_pid)
run_task POST "/nodes/$NODE/lxc/$CT/status/reboot" -d timeout=10
NEWPID=$(ct_pid)
check "reboot: vzreboot OK, running with a new init" eval '[ "$TASK_EXIT" = OK ] && [ "$(ct_status)" = running ] && [ -n "$NEWPID" ] && [ "$NEWPID" != "$PID" ]'
run_task POST "/nodes/$NODE/lxc/$CT/status/shutdown" -d timeout=10
check "shutdown: vzshutdown OK (init ends on SIGPWR), stopped" eval '[ "$TASK_EXIT" = OK ] && matches "$UPID" "*:vzshutdown:$CT:*" && [ "$(ct_status)" = stopped ]'

# a container whose init ignores SIGPWR: shutdown times out, forceStop kills it
printf '#!/bin/sh\ntrap "" PWR\nwhile :; do sleep 1; done\n' >"$ROOTFS/sbin/init"
run_task POST "/nodes/$NODE/lxc/$CT/status/start"
run_task POST "/nodes/$NODE/lxc/$CT/status/shutdown" -d timeout=1
check "shutdown of a CT ignoring SIGPWR: task fails, still running" eval 'matches "$TASK_EXIT" "*lxc-stop*failed*" && [ "$(ct_status)" = running ]'
run_task POST "/nodes/$NODE/lxc/$CT/status/shutdown" -d timeout=1 -d forceStop=1
check "shutdown with forceStop: OK and stopped" eval '[ "$TASK_EXIT" = OK ] && [ "$(ct_status)" = stopped ]'
printf '#!/bin/sh\ntrap "exit 0" PWR TERM INT\nwhile :; do sleep 1; done\n' >"$ROOTFS/sbin/init"

# deleting a mount point keeps its volume as unusedN
api PUT "/nodes/$NODE/lxc/$CT/config" -d delete=mp0,mp1
check "delete mp0,mp1: mp0's volume becomes unused0, the bind mount just goes" eval '[ "$CODE" = 200 ] && grep -qx "unused0: tank:$CT/subvol-$CT-disk-1.subvol" "$CONF" && ! grep -q "^mp[01]:" "$CONF" && [ -d "$VZ/images/$CT/subvol-$CT-disk-1.subvol" ]'

api PUT "/nodes/$NODE/lxc/$CT/config" --data-urlencode "mp0=tank:1,mp=/data"
api PUT "/nodes/$NODE/lxc/$CT/config" --data-urlencode "mp0=tank:1,mp=/other"
check "replacing mp0 keeps the old volume as unused1" eval '[ "$CODE" = 200 ] && grep -qx "unused1: tank:$CT/subvol-$CT-disk-2.subvol" "$CONF" && grep -qx "mp0: tank:$CT/subvol-$CT-disk-3.subvol,mp=/other,size=1G" "$CONF"'
run_task POST "/nodes/$NODE/lxc/$CT/status/start"
api PUT "/nodes/$NODE/lxc/$CT/config" -d delete=mp0
check "delete mp0 while running: pending" eval '[ "$CODE" = 200 ] && grep -qx "delete: mp0" "$CONF" && grep -q "^mp0:" "$CONF"'
run_task POST "/nodes/$NODE/lxc/$CT/status/stop"
run_task POST "/nodes/$NODE/lxc/$CT/status/start"
check "the next start applies it: mp0 gone, its volume is unused2" eval '[ "$TASK_EXIT" = OK ] && ! grep -q "^mp0:" "$CONF" && grep -qx "unused2: tank:$CT/subvol-$CT-disk-3.subvol" "$CONF" && ! grep -q "pve:pending" "$CONF"'
run_task POST "/nodes/$NODE/lxc/$CT/status/stop"

# missing bridge
api PUT "/nodes/$NODE/lxc/$CT/config" --data-urlencode "net0=name=eth0,bridge=vmbr9,hwaddr=$HW"
run_task POST "/nodes/$NODE/lxc/$CT/status/start"
check "start with a missing bridge: task fails naming it, CT stopped" eval 'matches "$TASK_EXIT" "*bridge '\''vmbr9'\'' does not exist*" && [ "$(ct_status)" = stopped ]'
api PUT "/nodes/$NODE/lxc/$CT/config" --data-urlencode "net0=name=eth0,bridge=vmbr0,hwaddr=$HW"

# ---- permissions -------------------------------------------------------------------------------
add_pve_user auditor@pve auditpass PVEAuditor /
ROOT_TICKET=$TICKET ROOT_CSRF=$CSRF
login auditor@pve auditpass
api GET "/nodes/$NODE/lxc/$CT/config"
check "auditor: GET config 200" [ "$CODE" = 200 ]
api GET "/nodes/$NODE/lxc"
check "auditor: list shows the CT" [ "$(jget ".data[] | select(.vmid==$CT) | .vmid")" = $CT ]
api PUT "/nodes/$NODE/lxc/$CT/config" -d memory=512
check "auditor: PUT config 403" [ "$CODE" = 403 ]
api POST "/nodes/$NODE/lxc/$CT/status/start"
check "auditor: start 403" [ "$CODE" = 403 ]
api DELETE "/nodes/$NODE/lxc/$CT"
check "auditor: destroy 403" [ "$CODE" = 403 ]
api POST "/nodes/$NODE/lxc" -d vmid=$((CT + 1)) --data-urlencode "ostemplate=$TPL"
check "auditor: create 403" [ "$CODE" = 403 ]
check "auditor calls changed nothing" eval 'grep -qx "memory: 256" "$CONF" && [ ! -e "$MNT/nodes/$NODE/lxc/$((CT + 1)).conf" ] && [ "$(ct_status)" = stopped ]'
add_pve_user vmadmin@pve adminpass PVEVMAdmin "/vms/$CT"
login vmadmin@pve adminpass
api PUT "/nodes/$NODE/lxc/$CT/config" -d memory=300
check "VM admin on the CT: PUT memory 200" eval '[ "$CODE" = 200 ] && grep -qx "memory: 300" "$CONF"'
api PUT "/nodes/$NODE/lxc/$CT/config" --data-urlencode "mp3=/etc,mp=/hostetc"
check "VM admin: a bind mount is 403 (root only)" eval '[ "$CODE" = 403 ] && matches "$(jget .message)" "Only root can pass arbitrary filesystem paths*" && ! grep -q "^mp3:" "$CONF"'
api PUT "/nodes/$NODE/lxc/$CT/config" --data-urlencode "features=nesting=1"
check "VM admin: features is 403 (root only)" [ "$CODE" = 403 ]
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF

# ---- destroy -----------------------------------------------------------------------------------
run_task POST "/nodes/$NODE/lxc/$CT/status/start"
api DELETE "/nodes/$NODE/lxc/$CT"
check "destroy while running: 500" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "*is running - destroy failed*"'
run_task POST "/nodes/$NODE/lxc/$CT/status/stop"
api PUT "/nodes/$NODE/lxc/$CT/config" -d protection=1
api DELETE "/nodes/$NODE/lxc/$CT"
check "destroy with protection: 500 protection mode" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "*protection mode enabled*"'
api PUT "/nodes/$NODE/lxc/$CT/config" -d delete=protection
run_task DELETE "/nodes/$NODE/lxc/$CT?purge=1"
check "destroy: vzdestroy OK" eval '[ "$TASK_EXIT" = OK ] && matches "$UPID" "*:vzdestroy:$CT:*"'
check "config, rootfs and unused volumes, /var/lib/lxc/$CT are gone" [ ! -e "$CONF" -a ! -e "$VZ/images/$CT" -a ! -e "/var/lib/lxc/$CT" ]
api GET "/nodes/$NODE/lxc/$CT/status/current"
check "status of a destroyed CT: 500 no config" [ "$CODE" = 500 ]

# ---- an unprivileged CT ------------------------------------------------------------------------
U=$((CT + 1))
# the id range root may map (PVE ships it in /etc/subuid and /etc/subgid), in this namespace only
for f in subuid subgid; do
    if [ -e /etc/$f ]; then
        echo "root:100000:65536" >"$TMP/$f" && mount --bind "$TMP/$f" /etc/$f
    fi
done
run_task POST "/nodes/$NODE/lxc" -d vmid=$U --data-urlencode "ostemplate=$TPL" -d unprivileged=1 --data-urlencode "rootfs=tank:1" -d hostname=uct
UROOT=$VZ/images/$U/subvol-$U-disk-0.subvol
check "unprivileged create: OK, files owned by 100000" eval '[ "$TASK_EXIT" = OK ] && [ "$(stat -c %u:%g "$UROOT/bin/busybox")" = 100000:100000 ] && [ "$(stat -c %u "$UROOT")" = 100000 ] && grep -qx "unprivileged: 1" "$MNT/nodes/$NODE/lxc/$U.conf"'
run_task POST "/nodes/$NODE/lxc/$U/status/start"
if [ "$TASK_EXIT" = OK ]; then
    api GET "/nodes/$NODE/lxc/$U/status/current"
    UPID_=$(jget .data.pid)
    check "unprivileged CT runs in a user namespace mapping 0 to 100000" eval '[ -n "$UPID_" ] && awk '\''$1==0 && $2==100000 && $3==65536 {f=1} END {exit !f}'\'' /proc/$UPID_/uid_map'
    check "its LXC config has the idmap and the userns include" eval 'grep -qx "lxc.idmap = u 0 100000 65536" /var/lib/lxc/$U/config && grep -qx "$(lxc_include alpine userns)" /var/lib/lxc/$U/config'
    run_task POST "/nodes/$NODE/lxc/$U/status/stop"
else
    echo "# SKIP: an unprivileged container does not start in this sandbox: $TASK_EXIT"
fi
run_task DELETE "/nodes/$NODE/lxc/$U?force=1"
check "unprivileged CT destroyed with its volume" eval '[ "$TASK_EXIT" = OK ] && [ ! -e "$VZ/images/$U" ] && [ ! -e "$MNT/nodes/$NODE/lxc/$U.conf" ]'

api_finish
