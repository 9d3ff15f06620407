#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# API integration test for the /cluster endpoints on a standalone node: index, status,
# resources (guests from pmxcfs's VM list, storage.cfg, pools, per-user filtering), nextid,
# log, tasks, options (datacenter.cfg: exact file text, bad input, permissions).
# TAP on stdout.

. "$(dirname "$0")/lib-api.sh"
# the service manager the cluster create/join tasks call (written after api_setup; same pid
# after the namespace re-exec)
export PVE_SYSTEMCTL=/tmp/test-api-cluster-systemctl.$$
api_setup
login root@pam "$ROOT_PASSWORD"
check "root@pam login" [ "$CODE" = 200 ]

# ---- fixtures: guests, storage, pools, users ----------------------------------------------------
mkdir -p "$MNT/nodes/$NODE/qemu-server" "$MNT/nodes/$NODE/lxc"
printf 'name: web1\nmemory: 1024\ncores: 2\nsockets: 2\ntags: prod\n' \
    >"$MNT/nodes/$NODE/qemu-server/100.conf"
printf 'hostname: ct1\nmemory: 256\ncores: 1\n' >"$MNT/nodes/$NODE/lxc/101.conf"
printf 'name: tmpl\nmemory: 512\ntemplate: 1\n' >"$MNT/nodes/$NODE/qemu-server/103.conf"
printf 'dir: local\n\tpath %s\n\tcontent iso,vztmpl,backup\n\ndir: other\n\tpath /nonexistent\n\tcontent images\n\tnodes othernode\n\nnfs: shared1\n\tpath /mnt/pve/shared1\n\tserver 10.0.0.1\n\texport /x\n\tcontent images\n\n' \
    "$TMP" >"$MNT/storage.cfg"
add_pve_user auditor@pve auditpw PVEAuditor /
add_pve_user nobody@pve nobodypw
add_pve_user vmonly@pve vmonlypw PVEVMUser /vms/100
printf 'pool:mypool:test pool:100,101:local\n' >>"$MNT/user.cfg"
wait_until 5 grep -q '"101"' "$MNT/.vmlist"

# ---- index, status -----------------------------------------------------------------------------
api GET /cluster
check "GET /cluster lists status, resources, nextid, options, config" \
    [ "$CODE" = 200 -a "$(jget '[.data[].name] | map(select(. == "status" or . == "resources" or . == "nextid" or . == "options" or . == "config")) | length')" = 5 ]

api GET /cluster/status
check "status (standalone): one node entry, local, online, nodeid 0" \
    [ "$CODE" = 200 -a "$(jget '.data | length')" = 1 -a "$(jget .data[0].type)" = node \
    -a "$(jget .data[0].name)" = "$NODE" -a "$(jget .data[0].id)" = "node/$NODE" \
    -a "$(jget .data[0].local)" = 1 -a "$(jget .data[0].online)" = 1 -a "$(jget .data[0].nodeid)" = 0 ]
api GET /cluster/status -d foo=1
check "status with an unknown parameter: 400 with errors.foo" [ "$CODE" = 400 -a -n "$(jget .errors.foo)" ]

# ---- resources ---------------------------------------------------------------------------------
api GET /cluster/resources
check "resources: 200" [ "$CODE" = 200 ]
check "resources: qemu/100 from the VM list with name, maxmem, maxcpu, tags, pool" \
    [ "$(jget '.data[] | select(.id == "qemu/100") | "\(.type) \(.vmid) \(.node) \(.name) \(.maxmem) \(.maxcpu) \(.tags) \(.pool)"')" \
    = "qemu 100 $NODE web1 1073741824 4 prod mypool" ]
check "resources: lxc/101 with its hostname as name" \
    [ "$(jget '.data[] | select(.id == "lxc/101") | "\(.type) \(.name) \(.maxmem)"')" = "lxc ct1 268435456" ]
check "resources: template flag of 103" [ "$(jget '.data[] | select(.id == "qemu/103") | .template')" = 1 ]
check "resources: node entry online with maxcpu/maxmem" \
    [ "$(jget '.data[] | select(.id == "node/'$NODE'") | "\(.status) \(.maxcpu > 0) \(.maxmem > 0)"')" = "online true true" ]
check "resources: storage local on this node, available, content sorted" \
    [ "$(jget '.data[] | select(.id == "storage/'$NODE'/local") | "\(.plugintype) \(.status) \(.content) \(.shared)"')" = "dir available backup,iso,vztmpl 0" ]
check "resources: storage restricted to another node is not listed" \
    [ -z "$(jget '.data[] | select(.storage == "other") | .id')" ]
check "resources: nfs storage is shared" \
    [ "$(jget '.data[] | select(.id == "storage/'$NODE'/shared1") | .shared')" = 1 ]
check "resources: pool entry" [ "$(jget '.data[] | select(.id == "/pool/mypool") | .type')" = pool ]
api GET /cluster/resources -d type=vm
check "resources type=vm: only guests (3)" \
    [ "$CODE" = 200 -a "$(jget '[.data[].type] | unique | join(",")')" = "lxc,qemu" -a "$(jget '.data | length')" = 3 ]
api GET /cluster/resources -d type=storage
check "resources type=storage: only storage" [ "$(jget '[.data[].type] | unique | join(",")')" = storage ]
api GET /cluster/resources -d type=node
check "resources type=node: one node" [ "$(jget '.data | length')" = 1 -a "$(jget .data[0].type)" = node ]
api GET /cluster/resources -d type=bogus
check "resources type=bogus: 400 errors.type" [ "$CODE" = 400 -a -n "$(jget .errors.type)" ]

# ---- nextid ------------------------------------------------------------------------------------
api GET /cluster/nextid
check "nextid skips existing guests 100, 101: 102" [ "$CODE" = 200 -a "$(jget .data)" = 102 ]
api GET /cluster/nextid -d vmid=100
check "nextid vmid=100 (exists): 400 'VM 100 already exists'" \
    [ "$CODE" = 400 -a "$(jget .errors.vmid)" = "VM 100 already exists" ]
api GET /cluster/nextid -d vmid=555
check "nextid vmid=555 (free): 555" [ "$CODE" = 200 -a "$(jget .data)" = 555 ]
api GET /cluster/nextid -d vmid=99
check "nextid vmid=99: 400 (minimum)" [ "$CODE" = 400 -a -n "$(jget .errors.vmid)" ]
api GET /cluster/nextid -d vmid=abc
check "nextid vmid=abc: 400" [ "$CODE" = 400 -a -n "$(jget .errors.vmid)" ]

# ---- log ---------------------------------------------------------------------------------------
api GET /cluster/log
check "log: entries with uid, time, node, msg and id" \
    [ "$CODE" = 200 -a "$(jget '.data | length')" -ge 1 -a -n "$(jget .data[0].msg)" \
    -a "$(jget .data[0].id)" = "$(jget .data[0].uid):$(jget .data[0].node)" ]
api GET /cluster/log -d max=1
check "log max=1: one entry" [ "$CODE" = 200 -a "$(jget '.data | length')" = 1 ]
api GET /cluster/log -d max=0
check "log max=0: 400" [ "$CODE" = 400 -a -n "$(jget .errors.max)" ]

# ---- tasks -------------------------------------------------------------------------------------
mkupid() { printf 'UPID:%s:%08X:%08X:%08X:%s:%s:%s:' "$NODE" "$1" "$1" "$2" "$3" "$4" "$5"; }
t_old=$(mkupid 1000 1700000000 qmstart 100 root@pam)
t_new=$(mkupid 1001 1700000100 vzstart 101 auditor@pve)
t_tok=$(mkupid 1002 1700000050 qmstop 100 'auditor@pve!tok')
t_vm=$(mkupid 1003 1700000010 qmreboot 100 vmonly@pve)
for u in "$t_old" "$t_new" "$t_tok" "$t_vm"; do
    st=$(cut -d: -f5 <<<"$u")
    d=$PVE_TASK_DIR/${st: -1}
    mkdir -p "$d"
    printf 'TASK OK\n' >"$d/$u"
done
printf '%s 6553F200 OK\n%s 6553F300 OK\n%s 6553F250 OK\n%s 6553F260 WARNINGS: 1\n' \
    "$t_old" "$t_new" "$t_tok" "$t_vm" >>"$PVE_TASK_DIR/index"
api GET /cluster/tasks
check "tasks (root): all three, newest first" \
    [ "$CODE" = 200 -a "$(jget '[.data[] | select(.starttime >= 1700000000 and .starttime < 1700001000) | .upid] | join(" ")')" = "$t_new $t_tok $t_vm $t_old" ]
check "tasks: token user split into user + tokenid" \
    [ "$(jget '.data[] | select(.upid == "'"$t_tok"'") | "\(.user) \(.tokenid)"')" = "auditor@pve tok" ]
check "tasks: status and endtime from the index" \
    [ "$(jget '.data[] | select(.upid == "'"$t_old"'") | "\(.status) \(.endtime) \(.type) \(.id)"')" = "OK $((0x6553F200)) qmstart 100" ]

# ---- options (datacenter.cfg) ------------------------------------------------------------------
api GET /cluster/options
check "options: empty datacenter.cfg gives {}" [ "$CODE" = 200 -a "$(jget '.data | length')" = 0 ]
api PUT /cluster/options -d keyboard=de --data-urlencode 'migration=network=10.0.0.0/24,type=insecure' \
    --data-urlencode 'next-id=lower=200' --data-urlencode $'description=hello: world\nline2' \
    --data-urlencode 'registered-tags=a;b-c'
check "options PUT: 200" [ "$CODE" = 200 ]
expected=$'#hello%3A world\n#line2\nkeyboard: de\nmigration: network=10.0.0.0/24,type=insecure\nnext-id: lower=200\nregistered-tags: a;b-c'
check "datacenter.cfg text: description as encoded comments, keys sorted, values as given" \
    [ "$(cat "$MNT/datacenter.cfg")" = "$expected" ]
api GET /cluster/options
check "options GET: property strings as objects, tags as array, description" \
    [ "$(jget '"\(.data.keyboard) \(.data.migration.type) \(.data.migration.network) \(.data["next-id"].lower) \(.data["registered-tags"] | join("+"))"')" \
    = "de insecure 10.0.0.0/24 200 a+b-c" -a "$(jget .data.description)" = $'hello: world\nline2' ]
api GET /cluster/nextid
check "nextid honours next-id lower=200" [ "$(jget .data)" = 200 ]
api PUT /cluster/options -d console=html5 -d delete=keyboard
expected=$'#hello%3A world\n#line2\nconsole: html5\nmigration: insecure,network=10.0.0.0/24\nnext-id: lower=200\nregistered-tags: a;b-c'
check "second PUT: keyboard deleted, migration rewritten canonically (default key first)" \
    [ "$CODE" = 200 -a "$(cat "$MNT/datacenter.cfg")" = "$expected" ]
api PUT /cluster/options --data-urlencode 'next-id=lower=300,upper=301' -d max_workers=4 \
    --data-urlencode 'ha=shutdown_policy=migrate' --data-urlencode 'crs=ha=static,ha-rebalance-on-start=1'
api GET /cluster/options
check "typed values: max_workers integer, next-id numbers, crs boolean" \
    [ "$(jget '"\(.data.max_workers|type) \(.data["next-id"].upper) \(.data.crs["ha-rebalance-on-start"]) \(.data.ha.shutdown_policy)"')" = "number 301 1 migrate" ]
api GET /cluster/nextid
check "nextid with range [300, 301) taken? 300 free -> 300" [ "$(jget .data)" = 300 ]
before=$(cat "$MNT/datacenter.cfg")
bad() { # description curl-args...: 400 with an errors entry and no file change
    local d=$1 key=$2; shift 2
    api PUT /cluster/options "$@"
    check "PUT $d: 400 errors.$key, file unchanged" \
        [ "$CODE" = 400 -a -n "$(jget ".errors[\"$key\"]")" -a "$(cat "$MNT/datacenter.cfg")" = "$before" ]
}
bad "keyboard=xx" keyboard -d keyboard=xx
bad "unknown option" foo -d foo=bar
bad "migration with a bad network" migration --data-urlencode 'migration=secure,network=300.1.1.1/99'
bad "migration with an unknown key" migration --data-urlencode 'migration=type=secure,speed=1'
bad "next-id lower below 100" next-id --data-urlencode 'next-id=lower=5'
bad "max_workers=0" max_workers -d max_workers=0
bad "migration_unsecure=maybe" migration_unsecure -d migration_unsecure=maybe
bad "mac_prefix multicast" mac_prefix -d mac_prefix=01:00
bad "registered-tags with a space" registered-tags --data-urlencode 'registered-tags=a b'
bad "tag-style color-map bad" tag-style --data-urlencode 'tag-style=color-map=x:zzzzzz'
bad "crs dependent option without ha-auto-rebalance" crs --data-urlencode 'crs=ha-auto-rebalance-margin=0.2'
bad "http_proxy not http" http_proxy -d http_proxy=ftp://x
bad "set and delete the same key" delete -d console=vv -d delete=console

# ---- /cluster/config ---------------------------------------------------------------------------
# corosync.conf written under /etc/pve is synced to the host's /etc/corosync: give this
# namespace its own
mkdir -p "$TMP/corosync"
mount --bind "$TMP/corosync" /etc/corosync
printf '#!/bin/sh\necho "$@" >>%s\n' "$TMP/systemctl.log" >"$PVE_SYSTEMCTL"
chmod +x "$PVE_SYSTEMCTL"
# wait_task UPID: until the task stopped; EXIT = exitstatus
wait_task() {
    local i
    for i in $(seq 100); do
        api GET "/nodes/$NODE/tasks/$1/status"
        [ "$(jget .data.status)" = stopped ] && break
        sleep 0.1
    done
    EXIT=$(jget .data.exitstatus)
}
api GET /cluster/config
check "config index" [ "$CODE" = 200 -a "$(jget '[.data[].name] | sort | join(",")')" = "apiversion,join,nodes,qdevice,totem" ]
api GET /cluster/config/apiversion
check "join API version 1" [ "$CODE" = 200 -a "$(jget .data)" = 1 ]
api GET /cluster/config/nodes
check "standalone: no corosync nodes" [ "$CODE" = 200 -a "$(jget '.data | length')" = 0 ]
api GET /cluster/config/join
check "standalone: join info 500 'not in a cluster'" \
    eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "*node is not in a cluster*"'
api POST /cluster/config -d clustername=bad_name
check "create with an invalid cluster name: 400, nothing written" \
    [ "$CODE" = 400 -a -n "$(jget .errors.clustername)" -a ! -e "$MNT/corosync.conf" ]
api POST /cluster/config -d clustername=c1 --data-urlencode link0=address=10.0.0.1,prio=3
check "create with a bad link0: 400" [ "$CODE" = 400 -a -n "$(jget .errors.link0)" -a ! -e "$MNT/corosync.conf" ]
api POST /cluster/config -d clustername=democluster -d link0=10.0.0.1 -d nodeid=1
check "create: a clustercreate task" \
    eval '[ "$CODE" = 200 ] && matches "$(jget .data)" "UPID:$NODE:*:clustercreate:democluster:root@pam:"'
wait_task "$(jget .data)"
check "create task OK, restarted corosync and pve-cluster through systemctl" \
    [ "$EXIT" = OK -a "$(cat "$TMP/systemctl.log" 2>/dev/null)" = "restart corosync pve-cluster" ]
conf1=$'logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n  node {\n    name: testnode\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 10.0.0.1\n  }\n}\n\nquorum {\n  provider: corosync_votequorum\n}\n\ntotem {\n  cluster_name: democluster\n  config_version: 1\n  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  version: 2\n}'
check "create: corosync.conf in /etc/pve and on the host (PVE layout), authkey 256 bytes 0400" \
    [ "$(cat "$MNT/corosync.conf")" = "$conf1" -a "$(cat /etc/corosync/corosync.conf)" = "$conf1" \
    -a "$(stat -c %a:%s /etc/corosync/authkey)" = 400:256 ]
api POST /cluster/config -d clustername=again
check "create again: 500 'already exists'" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "*already exists*"'
api GET /cluster/config/nodes
check "nodes: testnode from corosync.conf" \
    [ "$(jget '[.data[] | "\(.node):\(.nodeid):\(.ring0_addr):\(.quorum_votes)"] | join(" ")')" = "testnode:1:10.0.0.1:1" ]
api GET /cluster/config/totem
check "totem: cluster_name, interfaces keyed by linknumber" \
    [ "$(jget '"\(.data.cluster_name) \(.data.config_version) \(.data.interface["0"].linknumber)"')" = "democluster 1 0" ]
api GET /cluster/config/join
check "join info: nodelist with pve_addr, preferred_node, totem, config_digest (sha1 of the file)" \
    [ "$CODE" = 200 -a "$(jget .data.preferred_node)" = "$NODE" -a "$(jget .data.nodelist[0].name)" = testnode \
    -a -n "$(jget .data.nodelist[0].pve_addr)" -a "$(jget .data.totem.cluster_name)" = democluster \
    -a "$(jget .data.config_digest)" = "$(sha1sum <"$MNT/corosync.conf" | cut -d' ' -f1)" ]
api GET /cluster/config/join -d node=nosuch
check "join info for an unknown node: 500" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "*unknown node*"'

head -c 256 /dev/urandom >/etc/corosync/authkey # make sure bytes >= 0x80 occur
printf '\x00\x7f\x80\xff' | dd of=/etc/corosync/authkey conv=notrunc status=none
api POST /cluster/config/nodes/node2 -d link0=10.0.0.2 -d apiversion=1
addnode2_ok() {
    [ "$CODE" = 200 -a "$(jget .data.corosync_conf)" = "$(cat "$MNT/corosync.conf")" ] &&
        grep -q 'config_version: 2' "$MNT/corosync.conf" &&
        [ "$(awk '/name: node2/{getline; print $2}' "$MNT/corosync.conf")" = 2 ]
}
check "addnode node2: 200 with corosync_conf (nodeid 2, config_version 2) = the new file" addnode2_ok
check "addnode: corosync_authkey carries the host authkey byte for byte (one code point per byte)" \
    python3 -c 'import json,sys; k=json.loads(sys.argv[1])["data"]["corosync_authkey"].encode("latin-1"); sys.exit(k != open("/etc/corosync/authkey","rb").read())' "$BODY"
check "addnode: /etc/pve/nodes/node2 created" [ -d "$MNT/nodes/node2/qemu-server" ]
check "cluster log: adding node node2" eval 'api GET /cluster/log; jget ".data[].msg" | grep -q "adding node node2 to cluster"'
api POST /cluster/config/nodes/node3 --data-urlencode link0=address=10.0.0.3,priority=10 -d nodeid=7 -d votes=2
check "addnode node3 with nodeid 7, 2 votes" \
    eval '[ "$CODE" = 200 ] && grep -q "nodeid: 7" "$MNT/corosync.conf" && grep -q "quorum_votes: 2" "$MNT/corosync.conf"'
cbefore=$(cat "$MNT/corosync.conf")
bad_add() { # description code path curl-args...
    local d=$1 code=$2 path=$3; shift 3
    api POST "$path" "$@"
    check "addnode $d: $code, corosync.conf unchanged" [ "$CODE" = "$code" -a "$(cat "$MNT/corosync.conf")" = "$cbefore" ]
}
bad_add "existing node" 500 /cluster/config/nodes/node2 -d link0=10.0.0.9
bad_add "address in use" 500 /cluster/config/nodes/node4 -d link0=10.0.0.2
bad_add "nodeid in use" 500 /cluster/config/nodes/node4 -d link0=10.0.0.4 -d nodeid=7
bad_add "without any address" 500 /cluster/config/nodes/node4
bad_add "bad node name" 400 /cluster/config/nodes/bad_name -d link0=10.0.0.4
bad_add "nodeid 0" 400 /cluster/config/nodes/node4 -d link0=10.0.0.4 -d nodeid=0
bad_add "new_node_ip not an IP" 400 /cluster/config/nodes/node4 -d new_node_ip=nope
bad_add "apiversion 0" 400 /cluster/config/nodes/node4 -d link0=10.0.0.4 -d apiversion=0
api POST /cluster/config/nodes/node2 -d link0=10.0.0.2 -d force=1
check "addnode an existing node with force and the same nodeid/votes: allowed" [ "$CODE" = 200 ]
api POST /cluster/config/nodes/node4 -d new_node_ip=10.0.0.4 -d link1=10.1.0.4
check "addnode with new_node_ip and an extra link: the link ignored with a warning" \
    eval '[ "$CODE" = 200 ] && matches "$(jget ".data.warnings[0]")" "*link1*" && ! grep -q 10.1.0.4 "$MNT/corosync.conf"'
api DELETE /cluster/config/nodes/node4
check "delnode node4: gone, config_version bumped" \
    eval '[ "$CODE" = 200 ] && ! grep -q node4 "$MNT/corosync.conf" && grep -q "config_version: 6" "$MNT/corosync.conf"'
api DELETE /cluster/config/nodes/node3
check "delnode node3" eval '[ "$CODE" = 200 ] && ! grep -q node3 "$MNT/corosync.conf"'
api DELETE /cluster/config/nodes/testnode
check "delnode of this node: 500 'Cannot delete myself'" \
    eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "*Cannot delete myself*"'
api DELETE /cluster/config/nodes/nosuch
check "delnode of an unknown node: 500" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "*not a known host*"'
fp=$(printf 'AB:%.0s' $(seq 31))AB
api POST /cluster/config/join -d "hostname=${BASE%/api2/json}" -d password=x -d fingerprint=00
check "join with a malformed fingerprint: 400" [ "$CODE" = 400 -a -n "$(jget .errors.fingerprint)" ]
api POST /cluster/config/join -d "hostname=${BASE%/api2/json}" --data-urlencode "password=$ROOT_PASSWORD" -d "fingerprint=$fp"
check "join from a node that is already in a cluster: clusterjoin task" \
    eval '[ "$CODE" = 200 ] && matches "$(jget .data)" "*:clusterjoin::root@pam:"'
wait_task "$(jget .data)"
check "join task fails 'Check if node may join a cluster failed!', nothing changed" \
    [ "$EXIT" = "Check if node may join a cluster failed!" -a "$(cat "$TMP/systemctl.log")" = "restart corosync pve-cluster" ]
api GET "/nodes/$NODE/tasks/$(jget .data.upid)/log"
check "join task log lists the reasons" eval 'jget ".data[].t" | grep -q "authentication key .* already exists"'

# ---- permissions -------------------------------------------------------------------------------
login auditor@pve auditpw
check "auditor login" [ "$CODE" = 200 ]
api GET /cluster/options
check "auditor: GET options 200" [ "$CODE" = 200 -a "$(jget .data.console)" = html5 ]
api PUT /cluster/options -d console=vv
check "auditor: PUT options 403, file unchanged" \
    [ "$CODE" = 403 -a "$(cat "$MNT/datacenter.cfg")" = "$before" ]
api GET /cluster/resources
check "auditor: resources sees guests, storage and node stats" \
    [ "$CODE" = 200 -a "$(jget '[.data[] | select(.type == "qemu" or .type == "lxc")] | length')" = 3 \
    -a -n "$(jget '.data[] | select(.id == "storage/'$NODE'/local") | .id')" \
    -a -n "$(jget '.data[] | select(.type == "node") | .maxmem')" ]
api GET /cluster/status
check "auditor: status 200" [ "$CODE" = 200 ]
api GET /cluster/tasks
check "auditor (Sys.Audit on /): all tasks" [ "$(jget '[.data[] | select(.starttime >= 1700000000 and .starttime < 1700001000)] | length')" = 4 ]
api GET /cluster/log
check "auditor: cluster log readable" [ "$CODE" = 200 ]
api GET /cluster/config/nodes
check "auditor: config/nodes readable" [ "$CODE" = 200 -a "$(jget '.data | length')" = 2 ]
cbefore=$(cat "$MNT/corosync.conf")
api POST /cluster/config/nodes/node5 -d link0=10.0.0.5
check "auditor: addnode 403 (root only), unchanged" [ "$CODE" = 403 -a "$(cat "$MNT/corosync.conf")" = "$cbefore" ]
api DELETE /cluster/config/nodes/node2
check "auditor: delnode 403" eval '[ "$CODE" = 403 ] && grep -q node2 "$MNT/corosync.conf"'
api POST /cluster/config/join -d hostname=x -d password=x -d "fingerprint=$fp"
check "auditor: join 403" [ "$CODE" = 403 ]

login nobody@pve nobodypw
check "unprivileged login" [ "$CODE" = 200 ]
api GET /cluster/resources
check "unprivileged: resources without guests, storage or pools; node without stats" \
    [ "$CODE" = 200 -a "$(jget '[.data[] | select(.type != "node")] | length')" = 0 \
    -a "$(jget '.data | length')" = 1 -a -z "$(jget '.data[0].maxmem')" ]
api GET /cluster/options
check "unprivileged: GET options 403" [ "$CODE" = 403 ]
api GET /cluster/status
check "unprivileged: status 403" [ "$CODE" = 403 ]
api GET /cluster/tasks
check "unprivileged: no tasks of others" [ "$CODE" = 200 -a "$(jget '.data | length')" = 0 ]
api GET /cluster/nextid
check "unprivileged: nextid allowed" [ "$CODE" = 200 -a "$(jget .data)" = 300 ]
api GET /cluster/config/nodes
check "unprivileged: config/nodes 403" [ "$CODE" = 403 ]

login vmonly@pve vmonlypw
api GET /cluster/resources -d type=vm
check "user with VM rights on /vms/100 only: sees just qemu/100 (pool hidden without Pool.Audit)" \
    [ "$CODE" = 200 -a "$(jget '[.data[].id] | join(",")')" = qemu/100 -a -z "$(jget '.data[0].pool')" ]

api GET /cluster/tasks
check "user without Sys.Audit: only their own tasks" \
    [ "$CODE" = 200 -a "$(jget '[.data[].upid] | join(" ")')" = "$t_vm" -a "$(jget .data[0].status)" = "WARNINGS: 1" ]

# the per-worker answer cache of /cluster/resources must not hide changes: a guest created
# right after a request shows up in the next one, a removed storage disappears
login root@pam "$ROOT_PASSWORD"
for _ in 1 2 3 4; do api GET /cluster/resources; done # fill every worker's cache
generation() { od -An -t u8 -j 8 -N 8 "$TMP/run/cfs-generation" | tr -d ' '; }
g0=$(generation)
printf 'name: fresh\nmemory: 256\n' >"$MNT/nodes/$NODE/qemu-server/4242.conf"
check "pmxcfs counts the write in run/cfs-generation (the caches' key)" \
    [ -n "$g0" -a "$(generation)" -gt "${g0:-0}" -a "$(head -c 8 "$TMP/run/cfs-generation")" = PVECFSG1 ]
api GET /cluster/resources -d type=vm
check "a new guest appears at once despite the answer cache" \
    [ "$(jget '[.data[] | select(.vmid == 4242) | .name] | join(",")')" = fresh ]
rm -f "$MNT/nodes/$NODE/qemu-server/4242.conf"
api GET /cluster/resources -d type=vm
check "a removed guest disappears at once" [ -z "$(jget '.data[] | select(.vmid == 4242) | .vmid')" ]

rm -f "$PVE_SYSTEMCTL"
api_finish
