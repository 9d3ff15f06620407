#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Offline migration between real nodes (lib.sh: netns per node, corosync, pmxcfs in cluster
# mode, pvedaemon on each node, an sshd per node on its cluster address; `pvecm updatecerts`
# sets up root's key, /etc/pve/priv/authorized_keys and nodes/<node>/ssh_known_hosts). Storages:
# `local` (per node, /var/lib/vz is private to each node), `local2` (another per-node dir),
# `only1` (nodes node1) and `shared1` (shared 1, one directory seen by all nodes).
# Checks, all through POST|GET /nodes/<node>/{qemu,lxc}/<vmid>/migrate on pvedaemon:
#   - precondition info (running, allowed/not allowed nodes with unavailable storages, local
#     disks with sizes);
#   - a stopped VM with a local and a shared disk moves to node 2: task OK with upstream's log
#     lines, config under nodes/node2 on every node without lock, listed by node 2 only, local
#     disk copied byte for byte and removed from node 1, shared disk untouched; it starts on
#     node 2 (QEMU, TCG) and is refused while running; it comes back to node 1 onto another
#     storage (targetstorage), the config pointing at the new volume;
#   - refusals that change nothing: target = source, unknown node, storage not on the target,
#     local devices, an import that fails on the target half way (the first disk, already
#     copied, is removed there again; config unlocked on node 1), an offline target;
#   - a stopped container: shared rootfs stays, a local mount point travels as a tar stream.
# TAP on stdout; exit 0, 1 or 77 (skip).

# shellcheck disable=SC2016 # checks are eval strings
set -u
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
cluster_require

B=${PVE_BUILD_ROOT:-}
[ -n "$B" ] && B=$(readlink -f "$B")
PMXCFS=$B/pmxcfs/pmxcfs
PVEDAEMON=$B/pvedaemon/pvedaemon
PVESM=$B/pvesm/pvesm
PVECM=$B/pmxcfs/pvecm
QM=$B/qemu-server/qm
cluster_require_bins "pmxcfs, pvedaemon or pvesm" "$PMXCFS" "$PVEDAEMON" "$PVESM" "$PVECM" "$QM" \
    -- curl jq openssl ssh ssh-keygen /usr/sbin/sshd qemu-img qemu-system-x86_64

ROOT_PASSWORD=migratesecret

# shellcheck source=lib-tap.sh
source "$here/lib-tap.sh"
BAIL_LOGS="pmxcfs pvedaemon sshd"
check_diag() { printf '%s\n' "code=${CODE:-} body=${BODY:-}" "task log: ${TASKLOG:-}"; }

# ---- API client (pvedaemon on the node itself) -----------------------------------------------------

TICKET='' CSRF=''
api() { # i METHOD PATH [curl args...]: sets CODE, BODY
    local i=$1 method=$2 path=$3 out
    shift 3
    local auth=()
    [ -n "$TICKET" ] && auth=(-b "PVEAuthCookie=$TICKET" -H "CSRFPreventionToken: $CSRF")
    out=$(node_exec "$i" curl -s -X "$method" -w '\n%{http_code}' --max-time 60 "${auth[@]}" "$@" \
        "http://127.0.0.1:85/api2/json$path")
    CODE=${out##*$'\n'}
    BODY=${out%$'\n'*}
}
jget() { printf '%s' "$BODY" | jq -r "$1 // empty" 2>/dev/null; }
TASKLOG=''
task_done() { # i upid: finished?
    api "$1" GET "/nodes/$(node_name "$1")/tasks/$2/status"
    [ "$(jget .data.status)" = stopped ]
}
# wait_task i upid: waits, then TASK_STATUS (exitstatus) and TASKLOG (the log text)
wait_task() {
    local i=$1 upid=$2
    TASK_STATUS='' TASKLOG=''
    [ -n "$upid" ] || return 1
    wait_until 120 task_done "$i" "$upid" || return 1
    api "$i" GET "/nodes/$(node_name "$i")/tasks/$upid/status"
    TASK_STATUS=$(jget .data.exitstatus)
    api "$i" GET "/nodes/$(node_name "$i")/tasks/$upid/log?limit=1000"
    TASKLOG=$(jget '[.data[].t] | join("\n")')
}
# migrate i type vmid target [args]: POST, then wait for the task
migrate() {
    local i=$1 type=$2 vmid=$3 target=$4
    shift 4
    api "$i" POST "/nodes/$(node_name "$i")/$type/$vmid/migrate" -d "target=$target" "$@"
    MCODE=$CODE MBODY=$BODY
    TASK_STATUS='' TASKLOG=''
    [ "$CODE" = 200 ] && wait_task "$i" "$(jget .data)"
    CODE=$MCODE BODY=$MBODY
}
log_has() { printf '%s\n' "$TASKLOG" | grep -qE "$1"; }

# ---- per-node files ------------------------------------------------------------------------------

sha() { node_exec "$1" sha256sum "$2" 2>/dev/null | cut -d' ' -f1; }
exists_on() { node_exec "$1" test -e "$2"; }
conf_on() { # i: who sees nodes/<node>/<dir>/<vmid>.conf
    node_exec "$1" test -f "/etc/pve/nodes/$2/$3/$4.conf"
}
conf_everywhere() { # node dir vmid: present on all 3 nodes' view
    local i
    for i in 1 2 3; do conf_on "$i" "$1" "$2" "$3" || return 1; done
}
conf_nowhere() {
    local i
    for i in 1 2 3; do ! conf_on "$i" "$1" "$2" "$3" || return 1; done
}
conf_text() { node_exec 1 cat "/etc/pve/nodes/$1/$2/$3.conf" 2>/dev/null; }
vm_listed() { # i vmid: in GET /nodes/<node i>/qemu
    api "$1" GET "/nodes/$(node_name "$1")/qemu"
    [ "$(jget "[.data[] | select(.vmid == $2)] | length")" = 1 ]
}

# ---- cluster -----------------------------------------------------------------------------------------

echo "# setting up 3 nodes"
cluster_setup 3 pve-migr || bail "cluster setup failed"
cluster_start_corosync || bail "corosync did not form a 3 node membership"
cfs_quorate() { node_exec "$1" grep -q '"quorate": 1' /etc/pve/.members 2>/dev/null; }
all_quorate() {
    local i
    for i in 1 2 3; do cfs_quorate "$i" || return 1; done
}
pd_up() { node_exec "$1" curl -s -o /dev/null --fail --max-time 5 http://127.0.0.1:85/api2/json/access/ticket; }
online_in_members() { # i j: node i's .members shows node j online
    node_exec "$1" grep -q "\"$(node_name "$2")\": { \"id\": $2, \"online\": 1" /etc/pve/.members
}

SHARED=$CLUSTER_ROOT/shared
mkdir -p "$SHARED"

for i in 1 2 3; do
    node_root_password "$i" "$ROOT_PASSWORD" || bail "node $i: PAM setup failed"
    node_start_daemon "$i" pmxcfs "$PMXCFS" -f || bail "node $i: pmxcfs did not start"
done
wait_until 30 all_quorate || bail "pmxcfs not quorate on 3 nodes"
# the SSH trust as `pvecm updatecerts` sets it up on real nodes: root's key (a per-node
# directory here instead of the host's /root/.ssh), priv/authorized_keys, ssh_known_hosts
updatecerts() {
    local d
    d=$(node_dir "$1")
    node_exec "$1" env PVE_ROOT_SSH_DIR="$d/rootssh" PVE_SSH_HOST_KEY_DIR="$d" "$PVECM" updatecerts
}
for i in 1 2 3; do
    ssh-keygen -q -t ed25519 -N '' -f "$(node_dir "$i")/ssh_host_ed25519_key" || bail "host key"
    updatecerts "$i" || bail "node $i: pvecm updatecerts failed"
done
check "updatecerts: priv/authorized_keys holds the 3 root keys" \
    [ "$(node_exec 2 grep -c '^ssh-rsa ' /etc/pve/priv/authorized_keys)" = 3 ]
check "updatecerts: root's authorized_keys is a link to it" \
    [ "$(readlink "$(node_dir 2)/rootssh/authorized_keys")" = /etc/pve/priv/authorized_keys ]
check "updatecerts: nodes/node3/ssh_known_hosts names node 3's host key" \
    [ "$(node_exec 1 cat /etc/pve/nodes/node3/ssh_known_hosts)" = "node3 $(cut -d' ' -f1,2 "$(node_dir 3)/ssh_host_ed25519_key.pub")" ]
updatecerts 1
check "updatecerts again changes nothing" [ "$(node_exec 3 grep -c . /etc/pve/priv/authorized_keys)" = 3 ]
for i in 1 2 3; do
    d=$(node_dir "$i")
    printf '%s\n' "ListenAddress $(node_ip "$i")" "HostKey $d/ssh_host_ed25519_key" \
        "AuthorizedKeysFile /etc/pve/priv/authorized_keys" "PermitRootLogin prohibit-password" \
        "PasswordAuthentication no" "KbdInteractiveAuthentication no" "UsePAM no" \
        "StrictModes no" "PidFile none" >"$d/sshd_config"
    node_exec "$i" sh -euc 'mkdir -p /run/sshd /etc/ssh/ssh_config.d
        printf "IdentityFile %s\n" "$1" >/etc/ssh/ssh_config.d/pvetest.conf' sh "$d/rootssh/id_rsa"
    node_start_daemon "$i" sshd /usr/sbin/sshd -D -e -f "$d/sshd_config" || bail "node $i: sshd"
    node_start_daemon "$i" pvedaemon env PVE_PVESM_BIN="$PVESM" "$PVEDAEMON" start --foreground ||
        bail "node $i: pvedaemon"
done
for i in 1 2 3; do wait_until 20 pd_up "$i" || bail "node $i: pvedaemon did not come up"; done
node_exec 1 sh -c "cat >/etc/pve/storage.cfg" <<EOF
dir: local
	path /var/lib/vz
	content images,rootdir,iso,vztmpl,backup

dir: local2
	path /var/lib/vz2
	content images,rootdir

dir: only1
	path /var/lib/only1
	content images
	nodes node1

dir: shared1
	path $SHARED
	content images,rootdir
	shared 1

EOF
ssh_ok() { node_exec 1 ssh -e none -o BatchMode=yes -o HostKeyAlias=node2 \
    -o UserKnownHostsFile=/etc/pve/nodes/node2/ssh_known_hosts -o GlobalKnownHostsFile=none \
    "root@$(node_ip 2)" -- /bin/true; }
wait_until 10 ssh_ok || bail "ssh from node 1 to node 2 does not work"
ok "3 nodes: pmxcfs quorate, pvedaemon, ssh from node 1 to node 2 as migration runs it"

api 1 POST /access/ticket -d username=root@pam --data-urlencode "password=$ROOT_PASSWORD"
TICKET=$(jget .data.ticket)
CSRF=$(jget .data.CSRFPreventionToken)
[ -n "$TICKET" ] || bail "login failed: $CODE $BODY"

# ---- VM 100: local + shared disk -------------------------------------------------------------------

api 1 POST /nodes/node1/qemu -d vmid=100 -d kvm=0 -d name=mig -d memory=32 \
    --data-urlencode "scsi0=local:1,format=qcow2" --data-urlencode "scsi1=shared1:1,format=qcow2" \
    --data-urlencode "virtio0=local:0.015625"
wait_task 1 "$(jget .data)"
[ "$TASK_STATUS" = OK ] || bail "VM 100 was not created: $CODE $BODY $TASKLOG"
LOCAL1=/var/lib/vz/images/100/vm-100-disk-0.qcow2
LOCALRAW=/var/lib/vz/images/100/vm-100-disk-1.raw
SHAREDDISK=$SHARED/images/100/vm-100-disk-0.qcow2
# some content that must survive the copy
node_exec 1 qemu-io -f qcow2 -c "write -P 0x5a 64k 512k" "$LOCAL1" >/dev/null
node_exec 1 qemu-io -f raw -c "write -P 0xa5 1M 64k" "$LOCALRAW" >/dev/null
sum_local=$(sha 1 "$LOCAL1")
sum_raw=$(sha 1 "$LOCALRAW")
sum_shared=$(sha 1 "$SHAREDDISK")
[ -n "$sum_local" ] && [ -n "$sum_raw" ] && [ -n "$sum_shared" ] ||
    bail "disks of VM 100 missing: $(conf_text node1 qemu-server 100) $(node_exec 1 find /var/lib/vz "$SHARED")"

api 1 GET /nodes/node1/qemu/100/migrate
check "GET migrate: stopped, node2 and node3 allowed" \
    [ "$CODE" = 200 -a "$(jget ".data.running | tostring")" = false -a "$(jget '.data.allowed_nodes | sort | join(",")')" = node2,node3 ]
check "GET migrate: the local disks with their sizes, not the shared one" \
    [ "$(jget '.data.local_disks | map(.volid) | sort | join(",")')" = local:100/vm-100-disk-0.qcow2,local:100/vm-100-disk-1.raw -a \
        "$(jget '.data.local_disks[] | select(.volid == "local:100/vm-100-disk-0.qcow2") | .size')" = 1073741824 -a "$(jget '.data.local_resources | length')" = 0 ]
api 1 GET '/nodes/node1/qemu/100/migrate?target=node2'
check "GET migrate?target=node2 only looks at node2" [ "$(jget '.data.allowed_nodes | join(",")')" = node2 ]

# refusals before any task
api 1 POST /nodes/node1/qemu/100/migrate -d target=node1
check "target = source: 500 'target is local node.'" [ "$CODE" = 500 ] && check "... message" eval 'printf %s "$BODY" | grep -q "target is local node"'
api 1 POST /nodes/node1/qemu/100/migrate -d target=node9
check "unknown target: 500 no such cluster node" eval '[ "$CODE" = 500 ] && printf %s "$BODY" | grep -q "no such cluster node .node9."'
api 1 POST /nodes/node1/qemu/100/migrate -d target=node2 -d targetstorage=bad:
check "bad targetstorage: 400 naming the parameter" eval '[ "$CODE" = 400 ] && [ -n "$(jget .errors.targetstorage)" ]'
check "... VM 100 still on node1, disks in place" \
    eval 'conf_everywhere node1 qemu-server 100 && [ "$(sha 1 $LOCAL1)" = "$sum_local" ]'

migrate 1 qemu 100 node2
check "POST migrate VM 100 to node2: task OK" [ "$CODE" = 200 -a "$TASK_STATUS" = OK ]
check "task log: starting line with node2's address" log_has "starting migration of VM 100 to node 'node2' \($(node_ip 2)\)"
check "task log: the local disk found and copied" \
    eval 'log_has "found local disk .local:100/vm-100-disk-0.qcow2. \(attached\)" && log_has "successfully imported .local:100/vm-100-disk-0.qcow2."'
check "task log: finished line" log_has "migration finished successfully \(duration [0-9]{2}:[0-9]{2}:[0-9]{2}\)"
check "task log: the shared disk is not copied" eval '! log_has "shared1:100"'
check "config now under nodes/node2 on every node, gone from nodes/node1" \
    eval 'conf_everywhere node2 qemu-server 100 && conf_nowhere node1 qemu-server 100'
check "config has no lock and the same volumes" \
    eval 'c=$(conf_text node2 qemu-server 100); ! grep -q "^lock:" <<<"$c" && grep -q "^scsi0: local:100/vm-100-disk-0.qcow2" <<<"$c" && grep -q "^scsi1: shared1:100/vm-100-disk-0.qcow2" <<<"$c"'
check "node2's VM list has 100, node1's not" eval 'vm_listed 2 100 && ! vm_listed 1 100'
check "local disks on node2 with the same bytes (qcow2 and raw)" \
    [ "$(sha 2 "$LOCAL1")" = "$sum_local" -a "$(sha 2 "$LOCALRAW")" = "$sum_raw" ]
check "local disks gone from node1" eval '! exists_on 1 $LOCAL1 && ! exists_on 1 $LOCALRAW'
check "shared disk untouched" [ "$(sha 1 "$SHAREDDISK")" = "$sum_shared" ]

# it runs on node 2
api 2 POST /nodes/node2/qemu/100/status/start
wait_task 2 "$(jget .data)"
check "the migrated VM starts on node2" [ "$TASK_STATUS" = OK ]
api 2 GET /nodes/node2/qemu/100/status/current
check "... and runs there (QMP status running)" [ "$(jget .data.qmpstatus)" = running ]
migrate 2 qemu 100 node1
check "running VM: 500 can't migrate running VM without --online" \
    eval '[ "$CODE" = 500 ] && printf %s "$BODY" | grep -q "without --online"'
api 2 POST /nodes/node2/qemu/100/status/stop
wait_task 2 "$(jget .data)"
check "config still on node2 after the refusal" conf_everywhere node2 qemu-server 100

# back to node 1, onto another storage
migrate 2 qemu 100 node1 -d targetstorage=only1
check "back to node1 with targetstorage=only1: task OK" [ "$TASK_STATUS" = OK ]
check "config on node1 points at only1 for the local disk, shared disk unchanged" \
    eval 'c=$(conf_text node1 qemu-server 100); grep -q "^scsi0: only1:100/vm-100-disk-0.qcow2" <<<"$c" && grep -q "^scsi1: shared1:100/vm-100-disk-0.qcow2" <<<"$c"'
check "the disk is on node1's only1 storage with the same bytes, gone from node2" \
    eval '[ "$(sha 1 /var/lib/only1/images/100/vm-100-disk-0.qcow2)" = "$sum_local" ] && ! exists_on 2 $LOCAL1 &&
        [ "$(sha 1 /var/lib/only1/images/100/vm-100-disk-1.raw)" = "$sum_raw" ]'

# ---- refusals inside the task ---------------------------------------------------------------------

api 1 GET /nodes/node1/qemu/100/migrate
check "GET migrate: only1 is missing on node2 and node3" \
    [ "$(jget '.data.allowed_nodes | length')" = 0 -a "$(jget '.data.not_allowed_nodes.node2.unavailable_storages | join(",")')" = only1 ]
cfg_before=$(conf_text node1 qemu-server 100)
migrate 1 qemu 100 node2
check "storage not on the target: task error naming it" \
    eval '[ "$TASK_STATUS" != OK ] && log_has "storage .only1. is not available on node .node2."'
check "... config unchanged on node1 (no lock), disk in place" \
    eval '[ "$(conf_text node1 qemu-server 100)" = "$cfg_before" ] && [ "$(sha 1 /var/lib/only1/images/100/vm-100-disk-0.qcow2)" = "$sum_local" ]'

# VM 101: local devices
api 1 POST /nodes/node1/qemu -d vmid=101 -d kvm=0 -d memory=32 --data-urlencode "usb0=host=1234:5678"
wait_task 1 "$(jget .data)"
api 1 GET /nodes/node1/qemu/101/migrate
check "GET migrate lists usb0 as local resource" [ "$(jget '.data.local_resources | join(",")')" = usb0 ]
migrate 1 qemu 101 node2
check "local device: task error 'uses local devices: usb0', config stays" \
    eval 'log_has "uses local devices: usb0" && conf_everywhere node1 qemu-server 101 && ! grep -q "^lock:" <<<"$(conf_text node1 qemu-server 101)"'
migrate 1 qemu 101 node2 -d force=1
check "... with force=1 (root) it moves" eval '[ "$TASK_STATUS" = "WARNINGS: 1" ] || [ "$TASK_STATUS" = OK ]; conf_everywhere node2 qemu-server 101'

# VM 102: the second disk's import fails on node 2 -> the first one is removed there again
api 1 POST /nodes/node1/qemu -d vmid=102 -d kvm=0 -d memory=32 \
    --data-urlencode "scsi0=local:1,format=qcow2" --data-urlencode "scsi1=local2:1,format=qcow2"
wait_task 1 "$(jget .data)"
node_exec 2 sh -c 'mkdir -p /var/lib/vz2/images && : >/var/lib/vz2/images/102' # blocks images/102/
cfg_before=$(conf_text node1 qemu-server 102)
migrate 1 qemu 102 node2
check "failing import on the target: task error" eval '[ -n "$TASK_STATUS" ] && [ "$TASK_STATUS" != OK ] && log_has "migration aborted"'
check "... the disk already copied was removed on node2" \
    eval 'log_has "removed .local:102/vm-102-disk-0.qcow2. on node .node2." && ! exists_on 2 /var/lib/vz/images/102/vm-102-disk-0.qcow2'
check "... config back on node1 unchanged (lock cleared), both disks there" \
    eval '[ "$(conf_text node1 qemu-server 102)" = "$cfg_before" ] && exists_on 1 /var/lib/vz/images/102/vm-102-disk-0.qcow2 && exists_on 1 /var/lib/vz2/images/102/vm-102-disk-0.qcow2'
node_exec 2 rm -f /var/lib/vz2/images/102
# the admin's way: qm migrate runs the same handler as root and prints the task log
QMOUT=$(node_exec 1 env PVE_PVESM_BIN="$PVESM" "$QM" migrate 102 node2 2>&1)
qmrc=$?
check "qm migrate 102 node2 (after the blocker is gone): exit 0, the task log printed" \
    eval '[ $qmrc = 0 ] && grep -q "migration finished successfully" <<<"$QMOUT"' ||
    printf '%s\n' "$QMOUT" | sed 's/^/# /'
check "... VM 102 with both disks on node2" \
    eval 'conf_everywhere node2 qemu-server 102 && exists_on 2 /var/lib/vz/images/102/vm-102-disk-0.qcow2 && exists_on 2 /var/lib/vz2/images/102/vm-102-disk-0.qcow2'
QMOUT=$(node_exec 2 "$QM" migrate 102 node2 2>&1)
qmrc=$?
check "qm migrate to the node itself: fails with upstream's message" \
    eval '[ $qmrc != 0 ] && grep -q "target is local node" <<<"$QMOUT"'

# ---- container ------------------------------------------------------------------------------------

mkdir -p "$SHARED/images/200/subvol-200-disk-0.subvol/etc"
echo ct200 >"$SHARED/images/200/subvol-200-disk-0.subvol/etc/hostname"
node_exec 1 sh -euc 'mkdir -p /var/lib/vz/images/200/subvol-200-disk-1.subvol/sub
    echo "data of ct 200" >/var/lib/vz/images/200/subvol-200-disk-1.subvol/sub/file
    chown 100033:100033 /var/lib/vz/images/200/subvol-200-disk-1.subvol/sub/file
    mkdir -p /etc/pve/nodes/node1/lxc
    printf "%s\n" "arch: amd64" "hostname: ct200" "memory: 64" "mp0: local:200/subvol-200-disk-1.subvol,mp=/data" \
        "ostype: debian" "rootfs: shared1:200/subvol-200-disk-0.subvol,size=1G" >/etc/pve/nodes/node1/lxc/200.conf'
api 1 GET /nodes/node1/lxc/200/migrate
check "GET lxc migrate: stopped, allowed-nodes node2,node3" \
    [ "$(jget ".data.running | tostring")" = false -a "$(jget '.data["allowed-nodes"] | sort | join(",")')" = node2,node3 ]
migrate 1 lxc 200 node2
check "POST lxc migrate CT 200 to node2: task OK" [ "$CODE" = 200 -a "$TASK_STATUS" = OK ]
check "task log: starting migration of CT 200" log_has "starting migration of CT 200 to node 'node2'"
check "CT config under nodes/node2/lxc everywhere, no lock" \
    eval 'conf_everywhere node2 lxc 200 && conf_nowhere node1 lxc 200 && ! grep -q "^lock:" <<<"$(conf_text node2 lxc 200)"'
check "local mount point copied as tar with content and numeric owner" \
    eval '[ "$(node_exec 2 cat /var/lib/vz/images/200/subvol-200-disk-1.subvol/sub/file)" = "data of ct 200" ] &&
        [ "$(node_exec 2 stat -c %u:%g /var/lib/vz/images/200/subvol-200-disk-1.subvol/sub/file)" = 100033:100033 ]'
check "... and removed from node1; the shared rootfs untouched" \
    eval '! exists_on 1 /var/lib/vz/images/200/subvol-200-disk-1.subvol && [ "$(cat $SHARED/images/200/subvol-200-disk-0.subvol/etc/hostname)" = ct200 ]'
api 2 POST /nodes/node2/lxc/200/migrate -d target=node1 -d online=1 -d restart=0
check "lxc online for a stopped CT: accepted (offline migration)" [ "$CODE" = 200 ]
wait_task 2 "$(jget .data)"
check "... the log says so and it is back on node1" \
    eval 'log_has "CT isn.t running. Doing offline migration instead." && conf_everywhere node1 lxc 200'

# ---- offline target ------------------------------------------------------------------------------

node_kill_corosync 3
wait_until 20 ! online_in_members 1 3 || bail "node 3 still online in node 1's .members"
api 1 POST /nodes/node1/qemu/100/migrate -d target=node3
check "offline target: 500 target node is not online" \
    eval '[ "$CODE" = 500 ] && printf %s "$BODY" | grep -q "target node .node3. is not online"'
check "... VM 100 still on node1 (seen by nodes 1 and 2)" \
    eval 'conf_on 1 node1 qemu-server 100 && conf_on 2 node1 qemu-server 100'

finish
