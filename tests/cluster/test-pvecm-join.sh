#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Cluster creation and join over the API, on 3 nodes that start standalone (pmxcfs in local
# mode, pvedaemon on <node ip>:85, root@pam with a known password through PAM):
#   node 1 creates the cluster with POST /cluster/config (a clustercreate task);
#   node 2 joins with `pvecm add node1 --url http://<node1>:85 --link0 <ip2>`;
#   node 3 joins with POST /cluster/config/join on its own API (hostname node1: as upstream
#   https://node1:8006, node 1's pveproxy, pinned to its certificate's fingerprint; a wrong
#   fingerprint first, which must fail before any login), a clusterjoin task.
# The services the tasks restart go through $PVE_SYSTEMCTL, a stand-in that hands each request
# ("stop pve-cluster", "start corosync pve-cluster", "restart corosync pve-cluster") to this
# script, which stops/starts the node's daemons with lib.sh. Afterwards: 3 members, quorate,
# the same corosync.conf everywhere, and /etc/pve replicates in every direction.
# TAP on stdout; exit 0, 1 or 77 (skip).

# shellcheck disable=SC2016,SC2317 # checks are eval strings; functions run through them
set -u
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
cluster_require

B=${PVE_BUILD_ROOT:-}
PMXCFS=${B:+$(readlink -f "$B/pmxcfs/pmxcfs")}
PVECM=${B:+$(readlink -f "$B/pmxcfs/pvecm")}
PVEDAEMON=${B:+$(readlink -f "$B/pvedaemon/pvedaemon")}
PVEPROXY=${B:+$(readlink -f "$B/pveproxy/pveproxy")}
if [ -z "$B" ] || [ ! -x "$PMXCFS" ] || [ ! -x "$PVECM" ] || [ ! -x "$PVEDAEMON" ] || [ ! -x "$PVEPROXY" ]; then
    echo "1..0 # SKIP pmxcfs/pvecm/pvedaemon/pveproxy not built (PVE_BUILD_ROOT=${B:-unset})"
    exit 77
elif [ ! -c /dev/fuse ] || ! getent group www-data >/dev/null; then
    echo "1..0 # SKIP no /dev/fuse or no www-data group"
    exit 77
fi
for c in curl jq openssl; do
    command -v $c >/dev/null || {
        echo "1..0 # SKIP $c missing"
        exit 77
    }
done

PASSWORD=joinsecret
n=0
failed=0
check() { # description cmd...
    local d=$1
    shift
    n=$((n + 1))
    if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; failed=1; fi
}
diag() {
    local i
    for i in "$@"; do
        node_diag "$i"
        for f in pmxcfs pvedaemon; do
            tail -n 25 "$(node_daemon_log "$i" $f)" 2>/dev/null | sed "s/^/# node $i $f: /" >&2
        done
    done
}

if ! cluster_setup 3 unused; then
    echo "Bail out! cluster_setup failed"
    exit 1
fi
SVC=$CLUSTER_ROOT/svc
mkdir -p "$SVC"
# the systemctl stand-in: one request file per call, answered by serve_requests below
cat >"$CLUSTER_ROOT/systemctl" <<EOF
#!/bin/sh
req=$SVC/\$(hostname).\$\$
echo "\$*" >"\$req.tmp" && mv "\$req.tmp" "\$req"
while [ ! -e "\$req.done" ]; do sleep 0.1; done
rc=\$(cat "\$req.done")
rm -f "\$req.done"
exit "\$rc"
EOF
chmod 755 "$CLUSTER_ROOT/systemctl"

start_pmxcfs() { node_start_daemon "$1" pmxcfs "$PMXCFS" -f; }
wait_quorate_cfs() { wait_until "${2:-30}" eval '[ "$(node_exec '"$1"' stat -c %a /etc/pve/local 2>/dev/null)" = 755 ]'; }

# handle one pending service request of any node; returns 1 when there was none
serve_one() {
    local f req i rc=0
    for f in "$SVC"/node*.*; do
        case $f in *.tmp | *.done) continue ;; esac
        [ -e "$f" ] || continue
        req=$(cat "$f")
        i=${f##*/node}
        i=${i%%.*}
        rm -f "$f"
        cluster_log "node $i: systemctl $req"
        case $req in
        "stop pve-cluster") node_stop_daemon "$i" pmxcfs || rc=1 ;;
        "start corosync pve-cluster")
            { node_start_corosync "$i" && start_pmxcfs "$i"; } || rc=1
            ;;
        "restart corosync pve-cluster")
            node_stop_daemon "$i" pmxcfs
            node_stop_corosync "$i"
            { node_start_corosync "$i" && start_pmxcfs "$i"; } || rc=1
            ;;
        *) rc=1 ;;
        esac
        echo "$rc" >"$f.done"
        return 0
    done
    return 1
}
# serve requests until "$@" succeeds (or timeout $T seconds)
serve_until() {
    local deadline=$((SECONDS + T))
    while ! "$@" >/dev/null 2>&1; do
        serve_one && continue
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

# ---- three standalone nodes ---------------------------------------------------------------------
for i in 1 2 3; do
    node_exec "$i" rm -f /etc/corosync/corosync.conf /etc/corosync/authkey
    node_exec "$i" mkdir -p /var/log/pve/tasks # the package ships it
    hash=$(openssl passwd -6 -salt joinsalt "$PASSWORD")
    node_exec "$i" sh -c 'printf "auth required pam_unix.so nodelay\naccount required pam_unix.so\n" \
            >/etc/pam.d/proxmox-ve-auth &&
        awk -F: -v h="$1" "BEGIN{OFS=\":\"} \$1==\"root\"{\$2=h} {print}" /etc/shadow >/etc/shadow.new &&
        cat /etc/shadow.new >/etc/shadow && rm /etc/shadow.new' sh "$hash"
    start_pmxcfs "$i"
done
for i in 1 2 3; do
    wait_until 10 node_exec "$i" test -e /etc/pve/.members
    node_start_daemon "$i" pvedaemon env PVE_SYSTEMCTL="$CLUSTER_ROOT/systemctl" \
        "$PVEDAEMON" start --foreground --port 85 --listen "$(node_ip "$i")"
done
up() { node_exec "$1" curl -s -o /dev/null "http://$(node_ip "$1"):85/api2/json/version"; }
check "three standalone nodes: pmxcfs in local mode, pvedaemon answering on <ip>:85" \
    eval 'wait_until 20 up 1 && wait_until 20 up 2 && wait_until 20 up 3 &&
        grep -q "(local mode)" "$(node_daemon_log 1 pmxcfs)"'

# api i METHOD PATH curl-args...: as root@pam on node i's pvedaemon (fresh ticket each time:
# a joined node gets the cluster's authkey); CODE, BODY
api() {
    local i=$1 m=$2 p=$3 base out t c
    shift 3
    base="http://$(node_ip "$i"):85/api2/json"
    out=$(node_exec "$i" curl -s -d username=root@pam --data-urlencode "password=$PASSWORD" \
        "$base/access/ticket") || return 1
    t=$(jq -r '.data.ticket // empty' <<<"$out")
    c=$(jq -r '.data.CSRFPreventionToken // empty' <<<"$out")
    if [ "$m" = GET ]; then set -- -G "$@"; else set -- -X "$m" "$@"; fi
    out=$(node_exec "$i" curl -s -w '\n%{http_code}' -b "PVEAuthCookie=$t" \
        -H "CSRFPreventionToken: $c" "$@" "$base$p")
    CODE=${out##*$'\n'}
    BODY=${out%$'\n'*}
}
jget() { jq -r "$1 // empty" <<<"$BODY" 2>/dev/null; }
# final line of task UPID's log on node i
task_end() {
    local st
    st=$(cut -d: -f5 <<<"$2")
    node_exec "$1" tail -n 1 "/var/log/pve/tasks/${st: -1}/$2" 2>/dev/null
}
task_done() { [[ $(task_end "$1" "$2") == TASK* ]]; }

# ---- node 1: POST /cluster/config ------------------------------------------------------------------
api 1 POST /cluster/config -d clustername=joint -d "link0=$(node_ip 1)"
upid=$(jget .data)
check "node 1: POST /cluster/config starts a clustercreate task" \
    eval '[ "$CODE" = 200 ] && [[ $upid == UPID:node1:*:clustercreate:joint:root@pam: ]]'
T=60
if serve_until task_done 1 "$upid" && [ "$(task_end 1 "$upid")" = "TASK OK" ] &&
    wait_quorate_cfs 1 && node_exec 1 grep -q '"name": "joint", "version": 1, "nodes": 1, "quorate": 1' /etc/pve/.members; then
    echo "ok $((n += 1)) - node 1: task OK, corosync and pmxcfs restarted: a quorate one-node cluster 'joint'"
else
    echo "not ok $((n += 1)) - node 1: task OK, corosync and pmxcfs restarted: a quorate one-node cluster 'joint'"
    failed=1
    node_exec 1 cat "/var/log/pve/tasks/$(cut -d: -f5 <<<"$upid" | tail -c 2)/$upid" | sed 's/^/# task: /' >&2
    diag 1
fi

# ---- node 2: pvecm add -----------------------------------------------------------------------------
node_exec 2 env PVE_SYSTEMCTL="$CLUSTER_ROOT/systemctl" PVE_JOIN_PASSWORD="$PASSWORD" \
    "$PVECM" add node1 --url "http://$(node_ip 1):85" --link0 "$(node_ip 2)" \
    >"$CLUSTER_ROOT/pvecm-add.log" 2>&1 &
add_pid=$!
T=90
finished() { ! kill -0 "$add_pid" 2>/dev/null; }
serve_until finished
wait "$add_pid"
add_rc=$?
if [ $add_rc = 0 ] && grep -q "successfully added node 'node2' to cluster" "$CLUSTER_ROOT/pvecm-add.log"; then
    echo "ok $((n += 1)) - node 2: pvecm add node1 --url ... succeeds"
else
    echo "not ok $((n += 1)) - node 2: pvecm add node1 --url ... succeeds (rc $add_rc)"
    failed=1
    sed 's/^/# pvecm add: /' "$CLUSTER_ROOT/pvecm-add.log" >&2
    diag 1 2
fi
check "nodes 1 and 2: 2 corosync members, pmxcfs quorate on both" \
    eval 'node_wait_members 1 2 20 && node_wait_members 2 2 20 && wait_quorate_cfs 1 && wait_quorate_cfs 2'
check "node 2 keeps its old database aside" \
    eval 'node_exec 2 sh -c "ls /var/lib/pve-cluster/config.db.joined-*" >/dev/null'

# ---- node 3: POST /cluster/config/join on its own API -----------------------------------------------
# node 1's pveproxy (as www-data, its node certificate from /etc/pve) in front of its pvedaemon
mkdir -p "$CLUSTER_ROOT/www" && echo '<html>PVE</html>' >"$CLUSTER_ROOT/www/index.html"
node_exec 1 sh -c 'mkdir -p /etc/default && printf "# join test\n" >/etc/default/pveproxy'
node_start_daemon 1 pveproxy "$PVEPROXY" start --foreground --www-dir "$CLUSTER_ROOT/www" \
    --daemon-url "http://$(node_ip 1):85"
pp_up() { node_exec 3 curl -sk -o /dev/null --fail --max-time 5 "https://node1:8006/api2/json/access/ticket"; }
check "node 1's pveproxy answers on https://node1:8006 (seen from node 3)" wait_until 30 pp_up
fp=$(node_exec 1 openssl x509 -noout -fingerprint -sha256 -in /etc/pve/nodes/node1/pve-ssl.pem | cut -d= -f2)
logins() { grep -c 'successful auth' "$(node_daemon_log 1 pvedaemon)"; }
before=$(logins)
api 3 POST /cluster/config/join -d hostname=node1 --data-urlencode "password=$PASSWORD" \
    -d "fingerprint=$(printf 'AB:%.0s' $(seq 31))AB" -d "link0=$(node_ip 3)"
upid_bad=$(jget .data)
T=30
serve_until task_done 3 "$upid_bad"
check "node 3: a join with a wrong fingerprint fails naming the certificate mismatch" \
    eval '[[ $(task_end 3 "$upid_bad") == "TASK ERROR:"*fingerprint* ]]'
check "... before any login at node 1 (no password sent)" [ "$(logins)" = "$before" ]
api 3 POST /cluster/config/join -d hostname=node1 --data-urlencode "password=$PASSWORD" \
    -d "fingerprint=$fp" -d "link0=$(node_ip 3)"
upid3=$(jget .data)
check "node 3: POST /cluster/config/join starts a clusterjoin task" \
    eval '[ "$CODE" = 200 ] && [[ $upid3 == UPID:node3:*:clusterjoin::root@pam: ]]'
T=90
if serve_until task_done 3 "$upid3" && [ "$(task_end 3 "$upid3")" = "TASK OK" ]; then
    echo "ok $((n += 1)) - node 3: the join task ends with TASK OK"
else
    echo "not ok $((n += 1)) - node 3: the join task ends with TASK OK"
    failed=1
    st=$(cut -d: -f5 <<<"$upid3")
    node_exec 3 cat "/var/log/pve/tasks/${st: -1}/$upid3" | sed 's/^/# task: /' >&2
    diag 1 3
fi
check "node 3's join went through node 1's pveproxy (its access log: the join POST, 200)" \
    wait_until 2 node_exec 1 grep -q '"POST /api2/json/cluster/config/nodes/node3 HTTP/1.1" 200' /var/log/pveproxy/access.log
check "all nodes: 3 corosync members, pmxcfs quorate" \
    eval 'for i in 1 2 3; do node_wait_members $i 3 20 && wait_quorate_cfs $i || exit 1; done'

# ---- the cluster -------------------------------------------------------------------------------------
same_conf() {
    local a
    a=$(node_exec 1 cat /etc/pve/corosync.conf) || return 1
    grep -q "config_version: 3" <<<"$a" && [ "$(grep -c 'name: node' <<<"$a")" = 3 ] &&
        [ "$(node_exec 2 cat /etc/pve/corosync.conf)" = "$a" ] &&
        [ "$(node_exec 3 cat /etc/pve/corosync.conf)" = "$a" ] &&
        [ "$(node_exec 1 cat /etc/corosync/corosync.conf)" = "$a" ] &&
        [ "$(node_exec 3 cat /etc/corosync/corosync.conf)" = "$a" ]
}
check "corosync.conf (config_version 3, nodes 1-3) the same in /etc/pve and on the hosts" \
    wait_until 15 same_conf
key_sum() { node_exec "$1" md5sum /etc/corosync/authkey | cut -d" " -f1; }
check "the authkey is the same on all nodes" \
    eval 'k=$(key_sum 1) && [ -n "$k" ] && [ "$(key_sum 2)" = "$k" ] && [ "$(key_sum 3)" = "$k" ]'
for i in 1 2 3; do
    node_exec "$i" sh -c "echo written-on-node$i >/etc/pve/from-node$i"
done
replicated() {
    local i j
    for i in 1 2 3; do
        for j in 1 2 3; do
            [ "$(node_exec "$j" cat "/etc/pve/from-node$i" 2>/dev/null)" = "written-on-node$i" ] || return 1
        done
    done
}
check "/etc/pve replicates in every direction (a file written on each node is read on all)" \
    wait_until 15 replicated
node_dirs() {
    local i
    for i in 1 2 3; do
        [ "$(node_exec "$i" ls /etc/pve/nodes | tr '\n' ' ')" = "node1 node2 node3 " ] || return 1
    done
}
check "/etc/pve/nodes has node1..3 on every node" node_dirs
api 1 GET /cluster/status
check "node 1 GET /cluster/status: cluster joint with 3 quorate nodes, all online" \
    eval '[ "$CODE" = 200 ] && [ "$(jget ".data[] | select(.type==\"cluster\") | \"\(.name) \(.nodes) \(.quorate)\"")" = "joint 3 1" ] &&
        [ "$(jget "[.data[] | select(.type==\"node\" and .online==1) | .name] | sort | join(\",\")")" = node1,node2,node3 ]'
api 2 GET /cluster/config/nodes
check "node 2 GET /cluster/config/nodes: node1..3 with nodeids 1..3" \
    eval '[ "$(jget "[.data[] | \"\(.node):\(.nodeid)\"] | sort | join(\",\")")" = node1:1,node2:2,node3:3 ]'
tasks_of_node3() {
    api 1 GET /cluster/tasks
    [ "$(jget ".data[] | select(.upid == \"$upid3\") | .status")" = OK ]
}
check "node 1 GET /cluster/tasks lists node 3's join task (tasklist kv)" wait_until 30 tasks_of_node3
check "pvecm status on node 2: 3 nodes, quorate" \
    eval 'out=$(node_exec 2 "$PVECM" status) && grep -qx "Nodes: *3" <<<"$out" && grep -qx "Quorate: *Yes" <<<"$out"'

no_sanitizer_reports() {
    local i f bad=0
    for i in 1 2 3; do
        for f in "$CLUSTER_ROOT/n$i/log/"*.log "$CLUSTER_ROOT/pvecm-add.log"; do
            if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$f" 2>/dev/null; then
                grep -A20 -E 'Sanitizer|runtime error' "$f" | sed "s/^/# $f: /" >&2
                bad=1
            fi
        done
    done
    return "$bad"
}
check "no sanitizer reports (ASan builds)" no_sanitizer_reports
[ $failed = 0 ] || diag 1 2 3

cluster_cleanup
echo "1..$n"
exit $failed
