#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# The cluster harness (lib.sh) on real corosync: 3 nodes (all quorate; cut node 3 and heal;
# SIGKILL and restart one corosync; per-node pmxcfs -f -l with /etc/pve private to each node),
# 5 nodes partitioned 2|3 and healed, then interrupted (SIGINT) and killed (SIGKILL) runs, and
# after each teardown a check that the host is as before. TAP on stdout; exit 0, 1 or 77 (skip).

# shellcheck disable=SC2317,SC2016,SC2119 # checks are eval strings; functions run through them
set -u
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
cluster_require

PMXCFS=${PVE_BUILD_ROOT:+$PVE_BUILD_ROOT/pmxcfs/pmxcfs}

# shellcheck source=lib-tap.sh
source "$here/lib-tap.sh"
check_diag() { :; }

# A membership change should be seen within the token timeout + consensus (CLUSTER_DETECT_MS)
# plus this margin (knet and scheduling on a loaded 2-core machine).
MARGIN_MS=1500
# Merges after a heal: knet must see the links up again first, then totem merges.
HEAL_TIMEOUT=15

# ---- host state, compared after every teardown -------------------------------------------------
# The host is shared with whatever else runs on it (a developer's pmxcfs on /etc/pve, other
# tests), so host-wide differences are only reported; failures are for what is provably ours:
# the run's netns, tmp root, mounts, processes, and links named like the harness's in the root
# netns (where it never creates any).
host_links() { ip -o link show | sed 's/^[0-9]*: \([^:@]*\).*/\1/' | sort; }
host_state() {
    local p
    host_links | sed 's/^/link /'
    for p in /etc/pve /var/lib/pve-cluster /var/log/pve /var/lib/rrdcached; do
        [ -e "$p" ] && echo "exists $p"
    done
    find /etc/corosync /var/lib/corosync /var/log/corosync /dev/shm -maxdepth 1 2>/dev/null | sort | sed 's/^/file /'
}
HOST_LINKS=$(host_links)
HOST_STATE=$(host_state)

# check_host_clean id root pids...: nothing of cluster <id> is left on the host
check_host_clean() {
    local id=$1 root=$2 p left='' what='' now
    shift 2
    ip netns list | grep -q "pvet$id" && what="$what netns"
    [ -e "$root" ] && what="$what tmp-root"
    grep -q "pvet-$id" /proc/self/mountinfo && what="$what mounts"
    for p in "$@"; do
        gone "$p" || left="$left $p"
    done
    [ -n "$left" ] && what="$what processes($left)"
    for p in $(comm -13 <(echo "$HOST_LINKS") <(host_links)); do
        [[ $p =~ ^(p[0-9]+|br[0-9]+|veth.*|pvet.*)$ ]] && what="$what root-netns-link($p)"
    done
    now=$(host_state)
    if [ "$now" != "$HOST_STATE" ]; then
        diag "host state changed during the run (not necessarily by this test):" \
            "$(diff <(echo "$HOST_STATE") <(echo "$now") | grep '^[<>]' | tr '\n' ' ')"
        HOST_STATE=$now
    fi
    if [ -n "$what" ]; then
        diag "left behind by cluster $id:$what"
        return 1
    fi
}

# every pid the harness recorded (anchors and daemons) for cluster $CLUSTER_ROOT
recorded_pids() {
    local f
    for f in "$CLUSTER_ROOT"/n*/anchor.pid "$CLUSTER_ROOT"/n*/pids/*.pid; do
        [ -e "$f" ] && cut -d' ' -f1 "$f"
    done
}

gone() { # pids...: none is running (zombies, and processes being reaped, count as gone)
    local p stat state
    for p in "$@"; do
        stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        state=${stat##*) }
        state=${state%% *}
        [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] && return 1
    done
    return 0
}
all_members() { # N nodes...
    local want=$1 i
    shift
    for i in "$@"; do
        [ "$(node_members "$i")" = "$want" ] || return 1
    done
}
all_quorate() {
    local i
    for i in "$@"; do node_quorate "$i" || return 1; done
}
none_quorate() {
    local i
    for i in "$@"; do ! node_quorate "$i" || return 1; done
}
cluster_diag() {
    local i
    for ((i = 1; i <= CLUSTER_NODES; i++)); do node_diag "$i"; done
}

# ---- 3 nodes -----------------------------------------------------------------------------------
t=$(_cluster_now_ms)
if ! cluster_setup 3; then
    echo "Bail out! cluster_setup 3 failed"
    exit 1
fi
ok "3-node setup ($(ms_since "$t") ms)"
id=$CLUSTER_ID

check "node namespaces: eth0 $(node_ip 1)/24 + lo only, no default route, host has no $CLUSTER_NET.0/24" \
    eval '[ "$(node_exec 1 ip -o -4 addr show | awk "{print \$2, \$4}" | sort | tr "\n" " ")" = "eth0 $(node_ip 1)/24 lo 127.0.0.1/8 " ] &&
        [ -z "$(node_exec 1 ip route show default)" ] && ! ip -o addr | grep -q "$CLUSTER_NET\."'
check "node 2 has hostname node2, its own /etc/corosync and /run" \
    eval '[ "$(node_exec 2 hostname)" = node2 ] &&
        node_exec 2 test -e /etc/corosync/authkey -a /etc/corosync/corosync.conf -ef "$(node_dir 2)/etc/corosync/corosync.conf" &&
        node_exec 2 test /run -ef "$(node_dir 2)/run"'

iso=pvet-iso-$id
node_writes_stay_private() {
    local d
    for d in /etc /var/lib /var/log /run /dev/shm; do
        node_exec 1 mkdir "$d/$iso" || return 1
    done
    for d in /etc /var/lib /var/log /run /dev/shm; do
        [ ! -e "$d/$iso" ] && node_exec 2 test ! -e "$d/$iso" || return 1
    done
}
check "writes in node 1 under /etc /var/lib /var/log /run /dev/shm reach neither the host nor node 2" \
    node_writes_stay_private

t=$(_cluster_now_ms)
if cluster_start_corosync && all_quorate 1 2 3; then
    ok "corosync on 3 nodes: all quorate with 3 members ($(ms_since "$t") ms)"
else
    not_ok "corosync on 3 nodes: all quorate with 3 members"
    cluster_diag
    echo "Bail out! no 3-node cluster"
    exit 1
fi
check "runtime totem token is $CLUSTER_TOKEN_MS ms" \
    eval '[ "$(node_exec 1 corosync-cmapctl -g runtime.config.totem.token | sed "s/.*= //")" = "$CLUSTER_TOKEN_MS" ]'

# cut node 3
bound=$((CLUSTER_DETECT_MS + MARGIN_MS))
t=$(_cluster_now_ms)
link_cut 3
if wait_until "$(ms_to_s "$bound")" ! node_quorate 3; then
    t3=$(ms_since "$t")
    wait_until 5 all_members 2 1 2
    t12=$(ms_since "$t")
    if all_quorate 1 2 && all_members 2 1 2 && ((t12 <= bound)); then
        ok "cut node 3: node 3 not quorate after $t3 ms, nodes 1+2 quorate with 2 members after $t12 ms (bound $bound ms)"
    else
        not_ok "cut node 3: nodes 1+2 quorate with 2 members within $bound ms (took $t12 ms)"
        cluster_diag
    fi
else
    not_ok "cut node 3: node 3 not quorate within $bound ms"
    cluster_diag
fi
check "cut node 3 sees only itself" all_members 1 3

t=$(_cluster_now_ms)
link_heal 3
if wait_until "$HEAL_TIMEOUT" all_members 3 1 2 3 && all_quorate 1 2 3; then
    ok "heal node 3: 3 members, all quorate again ($(ms_since "$t") ms)"
else
    not_ok "heal node 3: 3 members, all quorate again"
    cluster_diag
fi

# SIGKILL one corosync, restart it
cpid=$(node_daemon_pid 2 corosync)
t=$(_cluster_now_ms)
node_kill_corosync 2
k_rc=$?
gone "$cpid"
g_rc=$?
wait_until 10 all_members 2 1 3
w_rc=$?
all_quorate 1 3
q_rc=$?
if [ -n "$cpid" ] && [ "$k_rc$g_rc$w_rc$q_rc" = 0000 ]; then
    ok "SIGKILL corosync on node 2: nodes 1+3 quorate with 2 members ($(ms_since "$t") ms)"
else
    not_ok "SIGKILL corosync on node 2: nodes 1+3 quorate with 2 members"
    diag "corosync pid '$cpid' rc kill/gone/wait/quorate $k_rc/$g_rc/$w_rc/$q_rc: $(cat "/proc/$cpid/stat" 2>&1); members $(node_members 1) $(node_members 3) after $(ms_since "$t") ms"
    cluster_diag
fi
t=$(_cluster_now_ms)
if node_start_corosync 2 && wait_until "$HEAL_TIMEOUT" all_members 3 1 2 3 && all_quorate 1 2 3; then
    ok "restart corosync on node 2: 3 members again ($(ms_since "$t") ms)"
else
    not_ok "restart corosync on node 2: 3 members again"
    cluster_diag
fi

# per-node pmxcfs (local mode; cluster mode does not exist yet): /etc/pve is each node's own
pmxcfs_skip=
if [ -z "$PMXCFS" ] || [ ! -x "$PMXCFS" ]; then
    pmxcfs_skip="pmxcfs not built (PVE_BUILD_ROOT=${PVE_BUILD_ROOT:-unset})"
elif [ ! -c /dev/fuse ]; then
    pmxcfs_skip="no /dev/fuse"
elif ! getent group www-data >/dev/null; then
    pmxcfs_skip="no www-data group"
fi
is_fuse() { [ "$(node_exec "$1" findmnt -n -o FSTYPE --mountpoint /etc/pve)" = "$2" ]; }
if [ -n "$pmxcfs_skip" ]; then
    skip "pmxcfs -f -l on nodes 1 and 2" "$pmxcfs_skip"
else
    t=$(_cluster_now_ms)
    node_start_daemon 1 pmxcfs "$PMXCFS" -f -l --nodename=node1
    node_start_daemon 2 pmxcfs "$PMXCFS" -f -l --nodename=node2
    fstype=
    if wait_until 10 node_exec 1 test -e /etc/pve/.version && wait_until 10 node_exec 2 test -e /etc/pve/.version; then
        fstype=$(node_exec 1 findmnt -n -o FSTYPE --mountpoint /etc/pve)
        ok "pmxcfs -f -l on nodes 1 and 2 mounted /etc/pve ($fstype, $(ms_since "$t") ms)"
    else
        not_ok "pmxcfs -f -l on nodes 1 and 2 mounted /etc/pve"
        node_diag 1
        node_diag 2
    fi
    # (the host may have its own pmxcfs on /etc/pve: compare devices, not mere presence)
    check "node 1's /etc/pve is its own mount: not the host's, node 2's or node 3's" \
        eval '[ -n "$fstype" ] && [ "${fstype#fuse}" != "$fstype" ] && dev1=$(node_exec 1 stat -c %d /etc/pve) &&
            [ "$dev1" != "$(stat -c %d /etc/pve 2>/dev/null)" ] && [ "$dev1" != "$(node_exec 2 stat -c %d /etc/pve)" ] &&
            [ "$dev1" != "$(node_exec 3 stat -c %d /etc/pve)" ] && ! is_fuse 3 "$fstype"'
    check "a file written on node 1's /etc/pve is not on node 2's (separate pmxcfs) nor on the host" \
        eval 'node_exec 1 sh -c "echo one >/etc/pve/$iso" && node_exec 2 sh -c "echo two >/etc/pve/$iso" &&
            [ "$(node_exec 1 cat /etc/pve/$iso)" = one ] && [ "$(node_exec 2 cat /etc/pve/$iso)" = two ] &&
            [ ! -e "/etc/pve/$iso" ]'
    check "pmxcfs keeps its DB in the node's own /var/lib/pve-cluster" \
        test -s "$(node_dir 1)/var/lib/pve-cluster/config.db" -a -s "$(node_dir 2)/var/lib/pve-cluster/config.db"
    check "node_stop_daemon stops pmxcfs on node 1 with SIGTERM; its /etc/pve is unmounted" \
        eval 'node_stop_daemon 1 pmxcfs 5 && wait_until 5 ! is_fuse 1 "$fstype"'
    # leave a dead FUSE mount on node 2 for cluster_cleanup to deal with
    check "SIGKILL pmxcfs on node 2 (its stale FUSE mount is left to cluster_cleanup)" \
        eval 'node_kill_daemon 2 pmxcfs && ! node_daemon_running 2 pmxcfs'
fi

tracked=$(recorded_pids)
root=$CLUSTER_ROOT
t=$(_cluster_now_ms)
cluster_cleanup
# shellcheck disable=SC2086
check "3-node cleanup ($(ms_since "$t") ms) leaves nothing behind" check_host_clean "$id" "$root" $tracked
check "cluster_cleanup is idempotent" eval 'cluster_cleanup && check_host_clean "$id" "$root"'

# ---- 5 nodes, partition 2|3 --------------------------------------------------------------------
t=$(_cluster_now_ms)
if ! cluster_setup 5 five; then
    echo "Bail out! cluster_setup 5 failed"
    exit 1
fi
ok "5-node setup ($(ms_since "$t") ms)"
id=$CLUSTER_ID
t=$(_cluster_now_ms)
if cluster_start_corosync && all_quorate 1 2 3 4 5; then
    ok "corosync on 5 nodes: all quorate with 5 members ($(ms_since "$t") ms)"
else
    not_ok "corosync on 5 nodes: all quorate with 5 members"
    cluster_diag
fi

t=$(_cluster_now_ms)
partition "1 2" "3 4 5"
bound=$((CLUSTER_DETECT_MS + MARGIN_MS))
if wait_until 10 eval 'all_members 3 3 4 5 && all_members 2 1 2'; then
    tp=$(ms_since "$t")
    if all_quorate 3 4 5 && none_quorate 1 2 && ((tp <= bound)); then
        ok "partition 1 2 | 3 4 5: majority quorate with 3, minority not, with 2 ($tp ms, bound $bound ms)"
    else
        not_ok "partition 1 2 | 3 4 5: majority quorate, minority not, within $bound ms (took $tp ms)"
        cluster_diag
    fi
else
    not_ok "partition 1 2 | 3 4 5: memberships 2 and 3"
    cluster_diag
fi
t=$(_cluster_now_ms)
heal_all
if wait_until "$HEAL_TIMEOUT" all_members 5 1 2 3 4 5 && all_quorate 1 2 3 4 5; then
    ok "heal_all: 5 members, all quorate ($(ms_since "$t") ms)"
else
    not_ok "heal_all: 5 members, all quorate"
    cluster_diag
fi

tracked=$(recorded_pids)
root=$CLUSTER_ROOT
t=$(_cluster_now_ms)
cluster_cleanup
# shellcheck disable=SC2086
check "5-node cleanup ($(ms_since "$t") ms) leaves nothing behind" check_host_clean "$id" "$root" $tracked

# ---- interrupted runs --------------------------------------------------------------------------
scratch=$(mktemp -d /tmp/test-cluster-harness.XXXXXX)
cpid=
stop_child() { # on our own interruption: interrupt a running child run too, and wait for it
    if [ -n "$cpid" ] && kill -INT "$cpid" 2>/dev/null; then
        wait "$cpid"
    fi
    cpid=
}
trap 'stop_child; rm -rf "$scratch"' EXIT
# child: reports its pid, 2 nodes with corosync, its root and pids, then waits to be interrupted
# ($3 = "kill": by exec, so the daemons' parent is the process the test SIGKILLs)
child_script='
    echo $$ >"$2/shell"
    source "$1"
    cluster_setup 2 child || exit 1
    echo "$CLUSTER_ROOT" >"$2/root"
    cluster_start_corosync || exit 1
    cat "$CLUSTER_ROOT"/n*/anchor.pid "$CLUSTER_ROOT"/n*/pids/*.pid | cut -d" " -f1 >"$2/pids"
    if [ "$3" = kill ]; then exec sleep 60; else sleep 60; fi
'
run_child() { # mode: starts the child in the background (pid in $cpid)
    rm -f "$scratch/shell" "$scratch/root" "$scratch/pids"
    # via timeout: a background job of a script has SIGINT ignored, and a shell cannot trap a
    # signal ignored on entry; timeout catches it, so its child starts with the default again
    timeout -s INT 120 bash -c "$child_script" child "$here/lib.sh" "$scratch" "$1" >>"$scratch/child.log" 2>&1 &
    cpid=$!
}

# leftovers of the run whose shell was $1: tmp roots it owns, netns without a live owner
leftovers() {
    local r o id
    for r in "$CLUSTER_TMPDIR"/pvet-??????; do
        [ -d "$r" ] || continue
        o=$(cut -d' ' -f1 "$r/owner" 2>/dev/null)
        [ -z "$o" ] || [ "$o" = "$1" ] && echo "$r"
    done
    for id in $(ip netns list | sed -n 's/^pvet\([0-9a-f]\{6\}\)\(n[0-9]*\|sw\)\b.*/\1/p' | sort -u); do
        r=$CLUSTER_TMPDIR/pvet-$id
        o=$(cut -d' ' -f1 "$r/owner" 2>/dev/null)
        { [ -z "$o" ] || [ "$o" = "$1" ] || ! [ -d "/proc/$o" ]; } && echo "netns pvet$id"
    done
}
no_leftovers() {
    local l
    l=$(leftovers "$1")
    [ -z "$l" ] || diag "left behind: $l"
    [ -z "$l" ]
}

# SIGINT (Ctrl-C) once everything runs: the test shell, sleep and corosyncs all get it
run_child int
wait_until 20 test -s "$scratch/pids"
kill -INT "$cpid" # timeout passes it on to its process group, as a terminal's Ctrl-C would
wait "$cpid"
cpid=
shell=$(cat "$scratch/shell")
root=$(cat "$scratch/root" 2>/dev/null)
check "SIGINT during a run: the trap cleans up everything" \
    eval '[ -n "$root" ] && check_host_clean "${root##*/pvet-}" "$root" $(cat "$scratch/pids" 2>/dev/null) && no_leftovers "$shell"'

# SIGINT in the middle of cluster_setup / corosync start, at several points
for d in 0.05 0.2 0.4 0.8; do
    rm -f "$scratch/shell"
    # like Ctrl-C: timeout signals the whole process group
    timeout -s INT "$d" bash -c "$child_script" child "$here/lib.sh" "$scratch" int >>"$scratch/child.log" 2>&1
    shell=$(cat "$scratch/shell" 2>/dev/null) || shell=none # interrupted before it started
    check "SIGINT ${d}s into a run leaves nothing behind" no_leftovers "$shell"
done

# SIGKILL: no trap runs; the parent-death signal takes the processes, the next setup reaps the rest
run_child kill
wait_until 20 test -s "$scratch/pids"
shell=$(cat "$scratch/shell")
kill -KILL "$shell"
wait "$cpid" 2>/dev/null
cpid=
root=$(cat "$scratch/root" 2>/dev/null)
kpids=$(tr '\n' ' ' <"$scratch/pids" 2>/dev/null)
# shellcheck disable=SC2086
check "SIGKILLed run: its processes die with it (parent-death signal)" eval "[ -n '$kpids' ] && wait_until 5 gone $kpids"
t=$(_cluster_now_ms)
cluster_reap_stale 2>/dev/null
# shellcheck disable=SC2086
check "SIGKILLed run: cluster_reap_stale removes its netns and tmp root ($(ms_since "$t") ms)" \
    eval '[ -n "$root" ] && check_host_clean "${root##*/pvet-}" "$root" $kpids && no_leftovers "$shell"'

finish
