#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# /etc/pve replicated over corosync CPG between real nodes (lib.sh): writes on any node are on
# every node before the writer's call returns, concurrent creates of one name give exactly one
# success, a 2|3 partition of 5 nodes leaves the minority read-only while the majority writes,
# healing converges every node to the majority's tree (config.db dumps compared), a node with a
# stale or deleted database catches up, a write with corosync frozen times out and stays
# consistent, a pmxcfs SIGKILLed during a write stream loses no acknowledged write, locks,
# VMID uniqueness, .members/.vmlist, kv and the cluster log propagate. TAP on stdout; exit 0,
# 1 or 77 (skip).

# shellcheck disable=SC2016 # checks are eval strings
set -u
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
cluster_require

PMXCFS=${PVE_BUILD_ROOT:+$PVE_BUILD_ROOT/pmxcfs/pmxcfs}
if [ -z "$PMXCFS" ] || [ ! -x "$PMXCFS" ] || [ ! -c /dev/fuse ] || ! command -v sqlite3 >/dev/null; then
    echo "1..0 # SKIP pmxcfs not built, no /dev/fuse or no sqlite3"
    exit 77
fi

# shellcheck source=lib-tap.sh
source "$here/lib-tap.sh"
check_diag() { :; }

start_pmxcfs() { # i [extra args]
    local i=$1
    shift
    # Kernel caches kept for 60 s instead of 1 s: every change that reaches another node's
    # reader within the checks' waits got there by an explicit invalidation.
    node_start_daemon "$i" pmxcfs "$PMXCFS" -f --lock-timeout=3 --cluster-timeout=15000 \
        --cache-timeout=60 "$@"
}
cfs_quorate() { node_exec "$1" grep -q '"quorate": 1' /etc/pve/.members 2>/dev/null; }
all_quorate() {
    local i
    for i in "$@"; do cfs_quorate "$i" || return 1; done
}
# content of a file on node i (empty + failure if missing)
cat_on() { node_exec "$1" cat "/etc/pve/$2" 2>/dev/null; }
same_on() { # path expected nodes...
    local p=$1 want=$2 i
    shift 2
    for i in "$@"; do
        [ "$(cat_on "$i" "$p")" = "$want" ] || return 1
    done
}
missing_on() { # path nodes...
    local p=$1 i
    shift
    for i in "$@"; do
        node_exec "$i" test ! -e "/etc/pve/$p" || return 1
    done
}
# the whole tree of node i, as sqlite3 sees config.db after pmxcfs flushed it (stable order)
db_dump() {
    node_exec "$1" sqlite3 /var/lib/pve-cluster/config.db \
        "SELECT inode, parent, version, writer, mtime, type, name, hex(data) FROM tree WHERE inode != 0 ORDER BY inode"
}
same_db() { # reference node, other nodes...
    local ref want i
    ref=$1
    shift
    want=$(db_dump "$ref")
    [ -n "$want" ] || return 1
    for i in "$@"; do
        [ "$(db_dump "$i")" = "$want" ] || return 1
    done
}
tree_dump() { # through the mount: paths, sizes and content hashes
    node_exec "$1" sh -c 'cd /etc/pve && find . -path ./.\* -prune -o -print | LC_ALL=C sort |
        while read -r f; do if [ -f "$f" ]; then echo "$f $(sha256sum < "$f" | cut -c1-16)"; else echo "$f/"; fi; done'
}
pmxcfs_diag() {
    local i
    for ((i = 1; i <= CLUSTER_NODES; i++)); do
        node_daemon_log "$i" pmxcfs 2>/dev/null | tail -n 15 | sed "s/^/# node $i pmxcfs: /"
    done
}

# ---- 3 nodes -----------------------------------------------------------------------------------

echo "# setting up 3 nodes"
if ! cluster_setup 3 pve-repl || ! cluster_start_corosync; then
    echo "Bail out! cluster setup failed"
    exit 1
fi
for i in 1 2 3; do start_pmxcfs "$i"; done
if ! wait_until 20 all_quorate 1 2 3; then
    pmxcfs_diag
    echo "Bail out! pmxcfs did not become quorate on 3 nodes"
    exit 1
fi
ok "pmxcfs in cluster mode on 3 nodes, all quorate"

# A write is everywhere before the writer's call returns.
node_exec 1 sh -c 'echo "dir: local" > /etc/pve/storage.cfg'
check "a write on node 1 is readable with the same content on nodes 2 and 3 right away" \
    same_on storage.cfg "dir: local" 1 2 3
node_exec 2 sh -c 'mkdir -p /etc/pve/nodes/node2/qemu-server && printf "memory: 512\n" > /etc/pve/nodes/node2/qemu-server/100.conf'
check "node 2 creates a VM config: visible on node 3" same_on nodes/node2/qemu-server/100.conf "memory: 512" 3
check "node 3 sees node 2's mtime and size too" \
    eval '[ "$(node_exec 2 stat -c "%s %Y" /etc/pve/nodes/node2/qemu-server/100.conf)" = "$(node_exec 3 stat -c "%s %Y" /etc/pve/nodes/node2/qemu-server/100.conf)" ]'
node_exec 3 sh -c 'printf "changed\n" > /etc/pve/storage.cfg.tmp && mv /etc/pve/storage.cfg.tmp /etc/pve/storage.cfg'
check "a tmp+rename save on node 3 replaces the file on node 1 (kernel cache invalidated)" \
    eval 'wait_until 2 same_on storage.cfg changed 1 2'
# The kernel notices a new size or mtime by itself (auto_inval_data); an in-place write of the
# same size, with the mtime set back, reaches a reader's cache only by an explicit invalidation.
node_exec 3 sh -c 'printf "digest AAAA\n" > /etc/pve/same.cfg && touch -d @1000000000 /etc/pve/same.cfg'
wait_until 2 same_on same.cfg "digest AAAA" 1 2
node_exec 3 sh -c 'printf "digest BBBB\n" > /etc/pve/same.cfg && touch -d @1000000000 /etc/pve/same.cfg'
check "an in-place write on node 3 (same size and mtime) replaces nodes 1 and 2's cached content" \
    eval 'wait_until 2 same_on same.cfg "digest BBBB" 1 2'

# VMID uniqueness across nodes
node_exec 1 mkdir -p /etc/pve/nodes/node1/qemu-server
check "VMID 100 already on node 2: creating it on node 1 fails with EEXIST" \
    eval '! node_exec 1 sh -c "echo x > /etc/pve/nodes/node1/qemu-server/100.conf" 2>/dev/null && missing_on nodes/node1/qemu-server/100.conf 1 2 3'
check ".vmlist on node 1 lists VM 100 on node2" \
    eval 'node_exec 1 grep -q "\"100\": { \"node\": \"node2\", \"type\": \"qemu\"" /etc/pve/.vmlist'
node_exec 2 mv /etc/pve/nodes/node2/qemu-server/100.conf /etc/pve/nodes/node1/qemu-server/100.conf
check "migration rename node2 -> node1 is seen by node 3 and .vmlist follows" \
    eval 'same_on nodes/node1/qemu-server/100.conf "memory: 512" 3 && wait_until 2 node_exec 3 grep -q "\"node\": \"node1\"" /etc/pve/.vmlist'

# Concurrent creates of one name: exactly one success.
for i in 1 2 3; do
    node_exec "$i" sh -c "set -C; echo node$i > /etc/pve/race.cfg" 2>/dev/null &
done
wins=0
for job in $(jobs -p); do wait "$job" && wins=$((wins + 1)); done
check "3 concurrent O_EXCL creates of race.cfg: exactly one succeeds ($wins)" [ "$wins" = 1 ]
winner=$(cat_on 1 race.cfg)
check "all nodes hold the winner's content ($winner)" same_on race.cfg "$winner" 1 2 3

# .members: online flags and IPs through the kvstore
check ".members on node 3 shows all three nodes online" \
    eval 'wait_until 5 eval "[ \$(node_exec 3 grep -c \"\\\"online\\\": 1\" /etc/pve/.members) = 3 ]"'
check ".members on node 1 knows node 2's IP" \
    eval 'wait_until 5 node_exec 1 grep -q "\"node2\": { \"id\": 2, \"online\": 1, \"ip\": \"$(node_ip 2)\"" /etc/pve/.members'

# Locks: one winner; a dead holder's lock is broken after the timeout (--lock-timeout=3).
node_exec 1 mkdir -p /etc/pve/priv/lock
lwins=0
for i in 1 2 3; do node_exec "$i" mkdir /etc/pve/priv/lock/test 2>/dev/null && lwins=$((lwins + 1)); done
check "mkdir priv/lock/test on 3 nodes: exactly one acquires it" [ "$lwins" = 1 ]
check "utime(0) from node 2 does not break a fresh lock" \
    eval '! node_exec 2 touch -d @0 /etc/pve/priv/lock/test 2>/dev/null; sleep 0.5; node_exec 3 test -d /etc/pve/priv/lock/test'
sleep 3.5
node_exec 2 touch -d @0 /etc/pve/priv/lock/test 2>/dev/null
check "after the lock timeout a utime(0) request gets the lock broken on all nodes" \
    eval 'wait_until 3 missing_on priv/lock/test 1 2 3'

# Writes never block forever: corosync gone -> an error, not a hang.
node_kill_corosync 3
t0=$(cluster_now_ms)
node_exec 3 sh -c 'echo x > /etc/pve/nocorosync.cfg' 2>/dev/null
dt=$(($(cluster_now_ms) - t0))
check "with corosync killed, a write on node 3 fails promptly (${dt} ms)" \
    eval '[ $dt -lt 16000 ] && missing_on nocorosync.cfg 1'
node_start_corosync 3
check "node 3 rejoins after corosync restarts" eval 'wait_until 20 all_quorate 1 2 3'
node_exec 1 sh -c 'echo after-rejoin > /etc/pve/rejoin.cfg'
check "and receives new writes" eval 'wait_until 5 same_on rejoin.cfg after-rejoin 3'

# A delivery that never comes (corosync frozen, not gone): the writer gets ETIMEDOUT after
# --cluster-timeout (15 s here) instead of hanging. Such a write's outcome is unknown to its
# writer, but the cluster stays consistent: once corosync runs again it is on every node or none.
frozen_consistent() { missing_on frozen.cfg 1 2 3 || same_on frozen.cfg x 1 2 3; }
cpid=$(node_daemon_pid 3 corosync)
kill -STOP "$cpid"
t0=$(cluster_now_ms)
err=$(node_exec 3 sh -c 'echo x > /etc/pve/frozen.cfg' 2>&1)
rc=$?
dt=$(($(cluster_now_ms) - t0))
kill -CONT "$cpid"
check "with corosync frozen, a write on node 3 fails with ETIMEDOUT after the cluster timeout (${dt} ms)" \
    eval '[ $rc -ne 0 ] && [ $dt -ge 14000 ] && [ $dt -lt 25000 ] && [[ $err == *"timed out"* ]]'
check "corosync running again: all nodes quorate" eval 'wait_until 30 all_quorate 1 2 3'
check "the timed-out write is on every node or on none" eval 'wait_until 5 frozen_consistent'

# SIGKILL of pmxcfs on node 3 during a write stream from node 1: no acknowledged write lost.
node_exec 1 sh -c 'i=0; while [ $i -lt 200 ]; do echo "v$i" > /etc/pve/stream.cfg && echo $i > /tmp/pvet-ack-'"$CLUSTER_ID"'; i=$((i+1)); done' &
stream=$!
sleep 0.3
node_kill_daemon 3 pmxcfs
node_exec 3 umount -l /etc/pve 2>/dev/null
wait "$stream"
last=$(cat "/tmp/pvet-ack-$CLUSTER_ID" 2>/dev/null)
rm -f "/tmp/pvet-ack-$CLUSTER_ID"
check "write stream on node 1 completed while node 3's pmxcfs was killed (last ack v$last)" \
    eval '[ "$last" = 199 ] && same_on stream.cfg v199 1 2'
start_pmxcfs 3
check "the killed node resyncs and has the last acknowledged write" \
    eval 'wait_until 20 all_quorate 3 && wait_until 10 same_on stream.cfg v199 3'

# A write queued by a sync round that another membership change ends was applied nowhere: its
# writer sends it again instead of failing with EAGAIN. Node 3's pmxcfs is frozen and node 2's
# restarts, so every round waits for node 3's state and node 1's write waits in the queue; it
# is dropped when node 2 rejoins and again when node 3's pmxcfs dies, then applied.
p3=$(node_daemon_pid 3 pmxcfs)
kill -STOP "$p3"
node_stop_daemon 2 pmxcfs
start_pmxcfs 2
node_exec 1 sh -c 'echo queued > /etc/pve/queued.cfg' 2>"$CLUSTER_ROOT/queued.err" &
queued=$!
sleep 1.5
kill -0 "$queued" 2>/dev/null
waiting=$?
node_kill_daemon 3 pmxcfs
node_exec 3 umount -l /etc/pve 2>/dev/null
wait "$queued"
rc=$?
check "a write queued by a round that membership changes end is sent again (waited: $waiting, rc $rc $(cat "$CLUSTER_ROOT/queued.err"))" \
    eval '[ $waiting = 0 ] && [ $rc = 0 ] && wait_until 10 same_on queued.cfg queued 1 2'
start_pmxcfs 3
check "and node 3 has it once it is back" \
    eval 'wait_until 20 all_quorate 3 && wait_until 10 same_on queued.cfg queued 3'

# Stale database: node 3 offline while others write, then catches up; a deleted DB is rebuilt.
node_stop_daemon 3 pmxcfs
node_exec 1 sh -c 'for i in 1 2 3 4 5; do echo "offline $i" > /etc/pve/offline$i.cfg; done; rm /etc/pve/race.cfg'
start_pmxcfs 3
check "a node restarted with a stale database catches up (new files, deletion)" \
    eval 'wait_until 20 all_quorate 3 && wait_until 10 same_on offline5.cfg "offline 5" 3 && missing_on race.cfg 3'
node_stop_daemon 3 pmxcfs
node_exec 3 sh -c 'rm -f /var/lib/pve-cluster/config.db*'
start_pmxcfs 3
check "a node whose database was deleted rejoins and receives everything" \
    eval 'wait_until 20 all_quorate 3 && wait_until 10 eval "[ \"\$(tree_dump 3)\" = \"\$(tree_dump 1)\" ]"'

# corosync.conf: a newer config_version written through /etc/pve reaches every host file
node_exec 1 sh -c 'sed "s/config_version: 1\$/config_version: 2/" /etc/pve/corosync.conf > /etc/pve/corosync.conf.new && mv /etc/pve/corosync.conf.new /etc/pve/corosync.conf'
host_version() { node_exec "$1" sed -n 's/^ *config_version: //p' /etc/corosync/corosync.conf; }
check "corosync.conf with config_version 2 written on node 1 is synced to every node's /etc/corosync" \
    eval 'wait_until 5 eval "[ \"\$(host_version 2)\" = 2 ] && [ \"\$(host_version 3)\" = 2 ] && [ \"\$(host_version 1)\" = 2 ]"'
check "and corosync stays quorate after the reload" eval 'sleep 1.5; wait_until 5 all_quorate 1 2 3'

# kv and the cluster log propagate
check "the cluster log of node 3 has node 1's start entry" \
    eval 'node_exec 3 grep -q "\"node\": \"node1\"" /etc/pve/.clusterlog'

for i in 1 2 3; do node_stop_daemon "$i" pmxcfs; done
check "every node's config.db holds the same tree after a clean stop" same_db 1 2 3
cluster_cleanup

# ---- 5 nodes, partition 2|3 --------------------------------------------------------------------

echo "# setting up 5 nodes"
if ! cluster_setup 5 pve-part || ! cluster_start_corosync; then
    echo "Bail out! 5-node setup failed"
    exit 1
fi
for i in 1 2 3 4 5; do start_pmxcfs "$i"; done
if ! wait_until 30 all_quorate 1 2 3 4 5; then
    pmxcfs_diag
    echo "Bail out! pmxcfs did not become quorate on 5 nodes"
    exit 1
fi
ok "pmxcfs in cluster mode on 5 nodes, all quorate"
node_exec 1 sh -c 'echo before > /etc/pve/part.cfg'
partition "1 2" "3 4 5"
t0=$(cluster_now_ms)
if wait_until 10 eval '! cfs_quorate 1 && ! cfs_quorate 2'; then
    dt=$(($(cluster_now_ms) - t0))
    bound=$((CLUSTER_DETECT_MS + 1000))
    check "minority 1|2 becomes read-only in ${dt} ms (corosync detection ${CLUSTER_DETECT_MS} ms + 1 s = $bound)" \
        [ "$dt" -le "$bound" ]
else
    not_ok "minority 1|2 becomes read-only"
fi
check "a write on the minority fails with EACCES (Permission denied)" \
    eval 'node_exec 1 sh -c "echo minority > /etc/pve/part.cfg" 2>&1 | grep -q "Permission denied"'
check "/etc/pve/local on the minority has no write bits" \
    eval '[ "$(node_exec 1 stat -c %a /etc/pve/local)" = 555 ]'
node_exec 3 sh -c 'echo majority > /etc/pve/part.cfg; echo new > /etc/pve/majority.cfg'
check "the majority keeps writing" same_on part.cfg majority 3 4 5
check "the minority still reads its old data" same_on part.cfg before 1 2
heal_all
check "after healing every node converges to the majority's tree" \
    eval 'wait_until 20 all_quorate 1 2 3 4 5 && wait_until 10 same_on part.cfg majority 1 2 && same_on majority.cfg new 1 2'
for i in 1 2 3 4 5; do node_stop_daemon "$i" pmxcfs; done
check "config.db dumps are identical on all 5 nodes" same_db 3 1 2 4 5

if ((failed)); then pmxcfs_diag; fi
cluster_cleanup
finish
