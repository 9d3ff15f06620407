# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck shell=bash
#
# tests/cluster/lib.sh: N Proxmox VE nodes on one machine, for cluster tests. Source it from bash.
#
# Each node i (1..N) is
#   - a network namespace pvet<id>n<i> with one veth (eth0, 10.<x>.<y>.<i>/24, no default route,
#     IPv6 off) whose peer p<i> sits on a bridge inside a dedicated "switch" namespace pvet<id>sw;
#     the root namespace gets no link, address or route at all;
#   - a private mount + UTS namespace (hostname node<i>) held open by an anchor process
#     (`sleep infinity`); every node_exec enters it with nsenter, so mounts made by daemons
#     (pmxcfs's FUSE /etc/pve) stay visible to later commands and invisible to the host and to
#     the other nodes. In it, /etc, /var/lib and /var/log are overlays (lower: the host's dirs,
#     upper: a tmpfs private to the node), so mount points that the host lacks (/etc/pve, ...) can
#     be created and daemons' writes elsewhere under those trees never reach the host. Over them
#     the node's own directories from $CLUSTER_ROOT/n<i>/ are bind-mounted:
#       /etc/pve /var/lib/pve-cluster /run /etc/corosync /var/log/pve /var/lib/rrdcached
#       /var/lib/corosync /var/log/corosync
#     plus a fresh tmpfs on /dev/shm (libqb ring buffers), /sys remounted for the node's netns
#     (host cgroups kept) and an /etc/hosts naming every node.
#   - a corosync.conf in the Proxmox VE layout (identical on every node, as pmxcfs keeps it) and
#     one shared authkey.
#
# Nothing is killed by name: every process is started here with its pid (and start time, against
# pid reuse) in a file, and cluster_cleanup also sweeps processes found *inside* the node's
# namespaces (by namespace identity), which can only be ours. Processes started by this library
# carry a parent-death signal (SIGKILL), so a SIGKILLed test leaves no daemons behind; the
# leftover netns names and tmp root of such a run are removed by the next cluster_setup
# (cluster_reap_stale, only for runs whose owning shell is gone).
#
# Timing: totem token $CLUSTER_TOKEN_MS (1000) with token_coefficient 0, so the token timeout does
# not grow with the node count; consensus is corosync's default 1.2 x token. A lost node leaves
# the membership about token + consensus after the cut: $CLUSTER_DETECT_MS (2200).
#
# Conventions: functions return 0/1 and never exit, except cluster_require and
# cluster_require_bins (exit 77 = skip).
# Diagnostics go to stderr prefixed "# " (TAP comments); stdout stays for values. Works with and
# without `set -eu`. Commands run by node_exec start in "/" and inherit the caller's environment.
# /tmp is shared with the host (pass files through it, or through $CLUSTER_ROOT/n<i>/...).
#
# API (i = node number 1..N; timeouts in seconds, fractions allowed)
#   cluster_require                    exit 77 with a TAP skip line unless root + netns + corosync
#   cluster_require_bins what path... [-- cmd...]
#                                      exit 77 with a TAP skip line unless PVE_BUILD_ROOT is set,
#                                      every path is executable ("<what> not built"), every cmd
#                                      is found and /dev/fuse exists
#   cluster_setup N [name]             build N nodes (no daemons); sets CLUSTER_ID, CLUSTER_ROOT,
#                                      CLUSTER_NODES, CLUSTER_NET; installs the cleanup trap
#   cluster_cleanup                    stop and remove everything (also the EXIT/INT/TERM trap);
#                                      calls cluster_cleanup_hook first if the test defines it
#   cluster_reap_stale                 remove leftovers of runs whose shell died (by cluster_setup)
#   node_exec i cmd...                 run cmd on node i (stdin/stdout/exit status pass through)
#   node_ns i / node_name i / node_ip i / node_dir i / node_anchor_pid i
#   node_start_daemon i name cmd...    background cmd (must not daemonize) on node i,
#                                      pid in n<i>/pids/<name>.pid, output in n<i>/log/<name>.log
#   node_stop_daemon i name [t]        SIGTERM, after t s (default 10) SIGKILL (then returns 1)
#   node_kill_daemon i name [sig]      send sig (default KILL; waits for the death)
#   node_daemon_pid i name / node_daemon_running i name / node_daemon_log i name
#   node_start_corosync i              corosync -f, returns when its IPC answers
#   node_stop_corosync i [t] / node_kill_corosync i
#   cluster_start_corosync [t]         corosync on all nodes, wait until all see N members
#   node_quorate i / node_members i    instant check / print the member count
#   node_wait_quorate i [t] / node_wait_not_quorate i [t] / node_wait_members i N [t]
#   wait_until t [!] cmd...            poll every 0.1 s until cmd succeeds (with !: fails);
#                                      cmd's output is discarded; returns 1 on timeout
#   cluster_now_ms                     wall clock in ms, for measuring reaction times
#   ms_since t_ms / ms_to_s ms         ms elapsed since t_ms / ms as seconds "S.mmm" (wait_until)
#   link_cut i / link_heal i           detach node i's switch port / put it back on the main bridge
#   partition "1 2" "3 4 5" ...        one bridge per group; heal_all: everyone back on one bridge
#   node_diag i                        corosync status and log tails as TAP comments (on failure)
#   node_root_password i pw            root@pam logs in with pw on node i through real PAM
#                                      (pam_unix without delay; node's /etc overlay only)
#   CLUSTER_TOKEN_MS, CLUSTER_CONSENSUS_MS, CLUSTER_DETECT_MS (see Timing); CLUSTER_TOKEN_MS and
#   CLUSTER_TMPDIR (/tmp) may be set before sourcing.

: "${CLUSTER_TOKEN_MS:=1000}"
CLUSTER_CONSENSUS_MS=$((CLUSTER_TOKEN_MS * 12 / 10))
# shellcheck disable=SC2034 # for the tests
CLUSTER_DETECT_MS=$((CLUSTER_TOKEN_MS + CLUSTER_CONSENSUS_MS))
: "${CLUSTER_TMPDIR:=/tmp}"
: "${CLUSTER_STOP_TIMEOUT:=10}" # seconds a daemon gets between SIGTERM and SIGKILL

CLUSTER_ID=
CLUSTER_ROOT=
CLUSTER_NODES=0
CLUSTER_NAME=
CLUSTER_NET=         # "10.x.y"
CLUSTER_SWITCH_NS=
_CLUSTER_NEW_ROOT=
_CLUSTER_FAST=

# Mount points replaced per node, relative to the node directory and to "/".
CLUSTER_NODE_DIRS=(etc/pve var/lib/pve-cluster run etc/corosync var/log/pve var/lib/rrdcached
    var/lib/corosync var/log/corosync)

cluster_log() { printf '# %s\n' "$*" >&2; }

# ---- small helpers ----------------------------------------------------------------------------

_cluster_now_ms() {
    local t=${EPOCHREALTIME//[!0-9]/}
    echo $((10#$t / 1000))
}

cluster_now_ms() { _cluster_now_ms; }
ms_since() { echo $(($(_cluster_now_ms) - $1)); }
ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# seconds ("2", "2.5", ".3") to milliseconds
_cluster_sec_to_ms() {
    local s=$1 int frac
    int=${s%%.*}
    frac=
    [[ $s == *.* ]] && frac=${s#*.}
    frac=${frac}000
    frac=${frac:0:3}
    echo $((10#${int:-0} * 1000 + 10#$frac))
}

# start time of a pid (field 22 of /proc/PID/stat), empty if gone
_cluster_starttime() {
    local stat rest
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo "${20}"
}

# true if "pid starttime" still names the same live (not zombie) process
_cluster_alive() {
    local pid=$1 start=$2 stat rest
    [ -n "$pid" ] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    [ "$1" != Z ] && [ "$1" != X ] && [ "${20}" = "$start" ]
}

# read "pid starttime" from a file into the named variables
_cluster_read_pidfile() {
    local f=$1 line
    line=$(cat "$f" 2>/dev/null) || return 1
    printf -v "$2" '%s' "${line%% *}"
    printf -v "$3" '%s' "${line#* }"
}

_cluster_wait_gone() { # timeout_ms pid start
    local deadline=$(($(_cluster_now_ms) + $1))
    while _cluster_alive "$2" "$3"; do
        (($(_cluster_now_ms) < deadline)) || return 1
        sleep 0.05
    done
    return 0
}

_cluster_check_node() {
    if [ -z "$CLUSTER_ROOT" ] || ! [[ ${1-} =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > CLUSTER_NODES)); then
        cluster_log "no such node '${1-}' (cluster has $CLUSTER_NODES nodes)"
        return 1
    fi
}

# wait_until <timeout_s> [!] <cmd...>: run cmd (output discarded) every 0.1 s until it succeeds
# (or, with "!", fails); at least once. Returns 1 on timeout.
wait_until() {
    local timeout_ms neg=0 deadline
    timeout_ms=$(_cluster_sec_to_ms "$1")
    shift
    if [ "${1-}" = '!' ]; then
        neg=1
        shift
    fi
    deadline=$(($(_cluster_now_ms) + timeout_ms))
    while :; do
        if "$@" >/dev/null 2>&1; then
            ((neg)) || return 0
        else
            ((neg)) && return 0
        fi
        (($(_cluster_now_ms) < deadline)) || return 1
        sleep 0.1
    done
}

# ---- requirements ------------------------------------------------------------------------------

# cluster_require: exit 77 (TAP skip) unless we are root and netns, bridges, overlayfs and
# corosync are usable.
cluster_require() {
    local why='' c
    if [ "$(id -u)" != 0 ]; then
        why="not root"
    else
        for c in ip nsenter unshare setpriv findmnt corosync corosync-keygen corosync-quorumtool \
            corosync-cmapctl corosync-cfgtool; do
            command -v "$c" >/dev/null 2>&1 || {
                why="$c not found"
                break
            }
        done
    fi
    if [ -z "$why" ]; then
        local probe="pvetprobe$$"
        if ! ip netns add "$probe" 2>/dev/null; then
            why="ip netns unavailable"
        else
            ip -n "$probe" link add br0 type bridge 2>/dev/null || why="no bridge support"
            ip -n "$probe" link add va type veth peer name vb 2>/dev/null || why=${why:-"no veth support"}
            ip netns del "$probe" 2>/dev/null
        fi
    fi
    if [ -z "$why" ] && ! grep -qw overlay /proc/filesystems; then
        why="no overlayfs"
    fi
    if [ -n "$why" ]; then
        echo "1..0 # SKIP cluster tests need root, ip netns, bridges, overlayfs and corosync: $why"
        exit 77
    fi
}

# cluster_require_bins what path... [-- cmd...]: exit 77 (TAP skip) unless PVE_BUILD_ROOT is set
# and every path (the test's binaries in the build tree) is executable, every cmd is found and
# /dev/fuse exists; what names the binaries in the skip line.
cluster_require_bins() {
    local what=$1 c
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        if [ -z "${PVE_BUILD_ROOT:-}" ] || [ ! -x "$1" ]; then
            echo "1..0 # SKIP $what not built (PVE_BUILD_ROOT)"
            exit 77
        fi
        shift
    done
    [ $# -gt 0 ] && shift
    for c in "$@"; do
        command -v "$c" >/dev/null || {
            echo "1..0 # SKIP $c missing"
            exit 77
        }
    done
    [ -c /dev/fuse ] || {
        echo "1..0 # SKIP no /dev/fuse"
        exit 77
    }
}

# ---- accessors ---------------------------------------------------------------------------------

node_ns() { echo "pvet${CLUSTER_ID}n$1"; }
node_name() { echo "node$1"; }
node_ip() { echo "$CLUSTER_NET.$1"; }
node_dir() { echo "$CLUSTER_ROOT/n$1"; }
node_anchor_pid() {
    local pid start
    _cluster_read_pidfile "$CLUSTER_ROOT/n$1/anchor.pid" pid start || return 1
    _cluster_alive "$pid" "$start" || return 1
    echo "$pid"
}

# ---- setup -------------------------------------------------------------------------------------

# cluster_setup N [name]: build the nodes (no daemon started). Installs cluster_cleanup as the
# EXIT/INT/TERM trap; a test's own cleanup can go in a function named cluster_cleanup_hook.
cluster_setup() {
    local n=${1-} name=${2:-pve-test} i t0 id
    if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 253)); then
        cluster_log "cluster_setup: bad node count '$n'"
        return 1
    fi
    if [ -n "$CLUSTER_ROOT" ]; then
        cluster_log "cluster_setup: a cluster is already set up ($CLUSTER_ROOT)"
        return 1
    fi
    t0=$(_cluster_now_ms)
    trap 'cluster_cleanup' EXIT
    trap '_cluster_on_signal INT' INT
    trap '_cluster_on_signal TERM' TERM
    cluster_reap_stale

    # A fresh id: the tmp root is created with mkdir (atomic), netns names must be free too.
    # _CLUSTER_NEW_ROOT lets a signal arriving right after the mkdir still remove the root.
    while :; do
        id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
        compgen -G "/run/netns/pvet${id}*" >/dev/null && continue
        _CLUSTER_NEW_ROOT=$CLUSTER_TMPDIR/pvet-$id
        mkdir -m 0755 "$_CLUSTER_NEW_ROOT" 2>/dev/null && break
        _CLUSTER_NEW_ROOT=
    done
    CLUSTER_ID=$id
    CLUSTER_ROOT=$CLUSTER_TMPDIR/pvet-$id
    _CLUSTER_NEW_ROOT=
    CLUSTER_NODES=0
    CLUSTER_NAME=$name
    CLUSTER_NET="10.$((100 + 0x${id:0:2} % 128)).$((0x${id:2:2}))"
    CLUSTER_SWITCH_NS="pvet${id}sw"
    echo "$$ $(_cluster_starttime $$)" >"$CLUSTER_ROOT/owner"
    echo "$id" >"$CLUSTER_ROOT/id"

    # the switch: one netns with bridge br0; partitions add br1.. there
    _cluster_netns_add "$CLUSTER_SWITCH_NS" || return 1
    ip -n "$CLUSTER_SWITCH_NS" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 &&
        ip -n "$CLUSTER_SWITCH_NS" link set br0 up || return 1

    corosync-keygen -k "$CLUSTER_ROOT/authkey" -s 256 >/dev/null 2>&1 ||
        dd if=/dev/urandom of="$CLUSTER_ROOT/authkey" bs=256 count=1 status=none || return 1
    chmod 0400 "$CLUSTER_ROOT/authkey"

    for ((i = 1; i <= n; i++)); do
        _cluster_node_dirs "$i" || return 1
        CLUSTER_NODES=$i
        echo "$i" >"$CLUSTER_ROOT/nodes"
        _cluster_node_net "$i" || return 1
    done
    _cluster_write_corosync_conf || return 1
    _cluster_write_hosts || return 1
    for ((i = 1; i <= n; i++)); do
        _cluster_node_anchor "$i" || return 1
    done
    for ((i = 1; i <= n; i++)); do
        _cluster_node_mounts "$i" || return 1
    done
    cluster_log "cluster $CLUSTER_NAME ($n nodes, id $id, $CLUSTER_NET.0/24, root $CLUSTER_ROOT)" \
        "set up in $(($(_cluster_now_ms) - t0)) ms"
}

_cluster_netns_add() {
    ip netns add "$1" || return 1
    # no IPv6 (no DAD, no link-local chatter); new links inherit "default"
    ip netns exec "$1" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6;
        echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null
    ip -n "$1" link set lo up
}

_cluster_node_dirs() {
    local d=$CLUSTER_ROOT/n$1 x
    mkdir -p "$d/pids" "$d/log" "$d/ovl" || return 1
    for x in "${CLUSTER_NODE_DIRS[@]}"; do
        mkdir -p "$d/$x" || return 1
    done
    mkdir -p "$d/run/lock" && chmod 1777 "$d/run/lock"
    chmod 0750 "$d/var/lib/pve-cluster"
    cp "$CLUSTER_ROOT/authkey" "$d/etc/corosync/authkey" && chmod 0400 "$d/etc/corosync/authkey"
}

_cluster_node_net() {
    local i=$1 ns sw=$CLUSTER_SWITCH_NS
    ns=$(node_ns "$i")
    _cluster_netns_add "$ns" || return 1
    ip -n "$sw" link add "p$i" type veth peer name eth0 netns "$ns" || return 1
    ip -n "$sw" link set "p$i" master br0 up &&
        ip -n "$ns" addr add "$(node_ip "$i")/24" dev eth0 &&
        ip -n "$ns" link set eth0 up
}

_cluster_write_corosync_conf() {
    local i f=$CLUSTER_ROOT/corosync.conf
    {
        printf 'logging {\n  debug: off\n  logfile: /var/log/corosync/corosync.log\n'
        printf '  timestamp: hires\n  to_logfile: yes\n  to_syslog: no\n}\n\n'
        printf 'nodelist {\n'
        for ((i = 1; i <= CLUSTER_NODES; i++)); do
            printf '  node {\n    name: %s\n    nodeid: %d\n    quorum_votes: 1\n    ring0_addr: %s\n  }\n' \
                "$(node_name "$i")" "$i" "$(node_ip "$i")"
        done
        printf '}\n\nquorum {\n  provider: corosync_votequorum\n}\n\n'
        printf 'totem {\n  cluster_name: %s\n  config_version: 1\n' "$CLUSTER_NAME"
        printf '  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4\n  link_mode: passive\n'
        printf '  secauth: on\n  token: %d\n  token_coefficient: 0\n  version: 2\n}\n' \
            "$CLUSTER_TOKEN_MS"
    } >"$f" || return 1
    for ((i = 1; i <= CLUSTER_NODES; i++)); do
        cp "$f" "$CLUSTER_ROOT/n$i/etc/corosync/corosync.conf" || return 1
    done
}

_cluster_write_hosts() {
    local i
    {
        printf '127.0.0.1 localhost\n'
        for ((i = 1; i <= CLUSTER_NODES; i++)); do
            printf '%s %s\n' "$(node_ip "$i")" "$(node_name "$i")"
        done
    } >"$CLUSTER_ROOT/hosts"
}

# Start "$@" in the background with a parent-death SIGKILL (when we are the main shell, so the
# parent lives as long as the test) and record "pid starttime" in $1.
_cluster_spawn() {
    local pidfile=$1 log=$2 pid
    shift 2
    if [ "$BASHPID" = "$$" ]; then
        setpriv --pdeathsig KILL -- "$@" </dev/null >>"$log" 2>&1 &
    else
        "$@" </dev/null >>"$log" 2>&1 &
    fi
    pid=$!
    disown "$pid" 2>/dev/null # no "Killed ..." job reports; bash still reaps it
    echo "$pid $(_cluster_starttime "$pid")" >"$pidfile"
}

_cluster_node_anchor() {
    local i=$1 d=$CLUSTER_ROOT/n$1 pid start ns
    ns=$(node_ns "$i")
    # exec chain, no forks: setpriv -> nsenter (netns) -> unshare (mount+uts) -> sleep
    _cluster_spawn "$d/anchor.pid" "$d/log/anchor.log" \
        nsenter --net="/run/netns/$ns" unshare -m -u --propagation private sleep infinity
    _cluster_read_pidfile "$d/anchor.pid" pid start
    # ready once it is sleep, i.e. all namespaces are entered
    if ! wait_until 5 _cluster_is_comm "$pid" sleep; then
        cluster_log "node $i: anchor did not start"
        return 1
    fi
}

_cluster_is_comm() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }

_cluster_node_mounts() {
    local i=$1 d=$CLUSTER_ROOT/n$1 pid
    pid=$(node_anchor_pid "$i") || return 1
    nsenter -t "$pid" -u hostname "$(node_name "$i")" || return 1
    # shellcheck disable=SC2016
    nsenter -t "$pid" -m -n --wd=/ sh -eu -c '
        d=$1; shift
        # /sys for this netns (sysfs shows the mounting process netns), host cgroups kept
        if [ -d /sys/fs/cgroup ] && mkdir -p "$d/ovl/cg" && mount --rbind /sys/fs/cgroup "$d/ovl/cg"; then
            mount -t sysfs sysfs /sys && mount --move "$d/ovl/cg" /sys/fs/cgroup || true
        else
            mount -t sysfs sysfs /sys || true
        fi
        # the host netns mounts under /run would pin every netns: not in a node
        if mountpoint -q /run/netns; then umount -l /run/netns; fi
        # overlays with a node-private upper, so missing mount points can be made
        mount -t tmpfs -o mode=0755 pvet-ovl "$d/ovl"
        for t in /etc /var/lib /var/log; do
            k=$(echo "$t" | tr / _)
            mkdir -p "$d/ovl/$k/upper" "$d/ovl/$k/work"
            mount -t overlay pvet-ovl -o "lowerdir=$t,upperdir=$d/ovl/$k/upper,workdir=$d/ovl/$k/work" "$t"
        done
        for x in "$@"; do
            mkdir -p "/$x"
            mount --bind "$d/$x" "/$x"
        done
        mount -t tmpfs -o mode=1777,size=512m pvet-shm /dev/shm
        cat "$d/../hosts" >/etc/hosts
    ' sh "$d" "${CLUSTER_NODE_DIRS[@]}" >>"$d/log/setup.log" 2>&1 || {
        cluster_log "node $i: mount setup failed:"
        sed 's/^/#   /' "$d/log/setup.log" >&2
        return 1
    }
}

# ---- running things on a node ------------------------------------------------------------------

# node_exec i cmd...: run cmd inside node i (its netns, mount ns and hostname), cwd "/".
node_exec() {
    _cluster_check_node "${1-}" || return 1
    local pid
    pid=$(node_anchor_pid "$1") || {
        cluster_log "node $1: anchor process is gone"
        return 1
    }
    shift
    nsenter -t "$pid" -m -n -u --wd=/ -- "$@"
}

# node_start_daemon i name cmd...: start cmd (which must stay in the foreground) on node i;
# stdout+stderr append to $CLUSTER_ROOT/n<i>/log/<name>.log, pid in .../pids/<name>.pid.
node_start_daemon() {
    _cluster_check_node "${1-}" || return 1
    local i=$1 name=${2-} apid
    if [ -z "$name" ] || [ $# -lt 3 ]; then
        cluster_log "usage: node_start_daemon i name cmd..."
        return 1
    fi
    shift 2
    if node_daemon_running "$i" "$name"; then
        cluster_log "node $i: $name already running"
        return 1
    fi
    apid=$(node_anchor_pid "$i") || return 1
    _cluster_spawn "$CLUSTER_ROOT/n$i/pids/$name.pid" "$CLUSTER_ROOT/n$i/log/$name.log" \
        nsenter -t "$apid" -m -n -u --wd=/ -- "$@"
}

node_daemon_pid() {
    local pid start
    _cluster_read_pidfile "$CLUSTER_ROOT/n$1/pids/$2.pid" pid start || return 1
    _cluster_alive "$pid" "$start" || return 1
    echo "$pid"
}

node_daemon_running() { node_daemon_pid "$1" "$2" >/dev/null; }

node_daemon_log() { echo "$CLUSTER_ROOT/n$1/log/$2.log"; }

# node_stop_daemon i name [timeout_s]: SIGTERM, wait (default $CLUSTER_STOP_TIMEOUT), then
# SIGKILL. Returns 1 if SIGKILL was needed.
node_stop_daemon() {
    _cluster_check_node "${1-}" || return 1
    local f=$CLUSTER_ROOT/n$1/pids/$2.pid pid start t r=0
    t=$(_cluster_sec_to_ms "${3:-$CLUSTER_STOP_TIMEOUT}")
    if _cluster_read_pidfile "$f" pid start && _cluster_alive "$pid" "$start"; then
        kill -TERM "$pid" 2>/dev/null
        if ! _cluster_wait_gone "$t" "$pid" "$start"; then
            cluster_log "node $1: $2 ignored SIGTERM for ${t} ms, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null
            _cluster_wait_gone 5000 "$pid" "$start"
            r=1
        fi
    fi
    rm -f "$f"
    return $r
}

# node_kill_daemon i name [signal]: send a signal (default KILL); for KILL wait until it is gone.
node_kill_daemon() {
    _cluster_check_node "${1-}" || return 1
    local f=$CLUSTER_ROOT/n$1/pids/$2.pid pid start sig=${3:-KILL}
    if ! _cluster_read_pidfile "$f" pid start || ! _cluster_alive "$pid" "$start"; then
        rm -f "$f"
        return 1
    fi
    kill -"$sig" "$pid" || return 1
    if [ "$sig" = KILL ] || [ "$sig" = 9 ]; then
        _cluster_wait_gone 5000 "$pid" "$start"
        rm -f "$f"
    fi
}

# ---- corosync ----------------------------------------------------------------------------------

# node_start_corosync i: `corosync -f` on node i; returns once its IPC answers (cmap).
node_start_corosync() {
    node_start_daemon "$1" corosync corosync -f || return 1
    _cluster_wait_corosync "$1"
}

_cluster_wait_corosync() {
    if ! wait_until 10 node_exec "$1" corosync-cmapctl -g totem.cluster_name; then
        cluster_log "node $1: corosync does not answer"
        node_diag "$1"
        return 1
    fi
}

# node_stop_corosync i [timeout_s]: SIGTERM (corosync leaves the membership cleanly)
node_stop_corosync() { node_stop_daemon "$1" corosync "${2-}"; }
# node_kill_corosync i: SIGKILL, as a crash
node_kill_corosync() { node_kill_daemon "$1" corosync KILL; }

# cluster_start_corosync [timeout_s=20]: start corosync on every node at once, wait until every
# node sees all members
cluster_start_corosync() {
    local i
    for ((i = 1; i <= CLUSTER_NODES; i++)); do
        node_start_daemon "$i" corosync corosync -f || return 1
    done
    for ((i = 1; i <= CLUSTER_NODES; i++)); do
        _cluster_wait_corosync "$i" || return 1
    done
    for ((i = 1; i <= CLUSTER_NODES; i++)); do
        node_wait_members "$i" "$CLUSTER_NODES" "${1:-20}" || {
            cluster_log "node $i: not $CLUSTER_NODES members"
            return 1
        }
    done
}

# node_quorate i: true if corosync on node i reports quorum
node_quorate() {
    node_exec "$1" corosync-quorumtool -s 2>/dev/null | grep -Eq '^Quorate: +Yes'
}

# node_members i: print the number of members node i's corosync sees (fails if it is down)
node_members() {
    local out
    out=$(node_exec "$1" corosync-quorumtool -s 2>/dev/null) || [ -n "$out" ] || return 1
    out=$(printf '%s\n' "$out" | sed -n 's/^Nodes: *\([0-9]*\).*/\1/p')
    [ -n "$out" ] || return 1
    echo "$out"
}

_cluster_members_is() { [ "$(node_members "$1")" = "$2" ]; }

# node_wait_quorate i [timeout_s=20] / node_wait_not_quorate i [timeout_s=20]
node_wait_quorate() { wait_until "${2:-20}" node_quorate "$1"; }
node_wait_not_quorate() { wait_until "${2:-20}" ! node_quorate "$1"; }

# node_wait_members i N [timeout_s=20]: until node i's membership has exactly N nodes
node_wait_members() { wait_until "${3:-20}" _cluster_members_is "$1" "$2"; }

# node_diag i: corosync's view and the tails of node i's logs, as TAP comments
node_root_password() {
    local hash
    hash=$(openssl passwd -6 -salt clustersalt "$2") || return 1
    node_exec "$1" sh -euc '
        printf "auth required pam_unix.so nodelay\naccount required pam_unix.so\n" \
            >/etc/pam.d/proxmox-ve-auth
        awk -F: -v h="$1" "BEGIN{OFS=\":\"} \$1==\"root\"{\$2=h} {print}" /etc/shadow >/etc/shadow.new
        cat /etc/shadow.new >/etc/shadow && rm -f /etc/shadow.new
    ' sh "$hash"
}

node_diag() {
    local i=$1 f
    {
        echo "--- node $i: corosync-quorumtool -s"
        node_exec "$i" corosync-quorumtool -s 2>&1
        for f in "$CLUSTER_ROOT/n$i/log/"*.log "$CLUSTER_ROOT/n$i/var/log/corosync/corosync.log"; do
            [ -s "$f" ] || continue
            # corosync's stderr repeats its log file
            [ "$f" = "$CLUSTER_ROOT/n$i/log/corosync.log" ] &&
                [ -s "$CLUSTER_ROOT/n$i/var/log/corosync/corosync.log" ] && continue
            echo "--- $f (tail)"
            tail -n 15 "$f"
        done
    } 2>&1 | sed 's/^/# /' >&2
}

# ---- network faults ----------------------------------------------------------------------------
# The switch namespace holds one bridge per connected group: br0 normally, br1..brK while
# partitioned. A node's switch port p<i> is moved between bridges, or detached to cut it. The
# node's own link stays up (no carrier change, addresses and routes unchanged): its packets
# just go nowhere, like a broken switch or cable further along, and corosync notices through
# the token timeout. Bridges give clean transitive groups; asymmetric or non-transitive faults
# (A-B, B-C, not A-C) would need per-pair filters (nftables), not available everywhere.

_cluster_port_master() {
    ip -n "$CLUSTER_SWITCH_NS" -o link show "p$1" 2>/dev/null | sed -n 's/.* master \([^ ]*\) .*/\1/p'
}

# link_cut i: node i loses its network (switch port detached)
link_cut() {
    _cluster_check_node "${1-}" || return 1
    ip -n "$CLUSTER_SWITCH_NS" link set "p$1" nomaster
}

# link_heal i: node i back on the main bridge (connected to every node not cut/partitioned)
link_heal() {
    _cluster_check_node "${1-}" || return 1
    ip -n "$CLUSTER_SWITCH_NS" link set "p$1" master br0
}

# partition "1 2" "3 4 5" ...: each group on its own bridge (nodes not named stay where they are)
partition() {
    local k=0 g i
    for g in "$@"; do
        k=$((k + 1))
        if ! ip -n "$CLUSTER_SWITCH_NS" link show "br$k" >/dev/null 2>&1; then
            ip -n "$CLUSTER_SWITCH_NS" link add "br$k" type bridge stp_state 0 forward_delay 0 \
                mcast_snooping 0 || return 1
            ip -n "$CLUSTER_SWITCH_NS" link set "br$k" up || return 1
        fi
        for i in $g; do
            _cluster_check_node "$i" || return 1
            ip -n "$CLUSTER_SWITCH_NS" link set "p$i" master "br$k" || return 1
        done
    done
}

# heal_all: every node back on br0, partition bridges removed
heal_all() {
    local i b
    for ((i = 1; i <= CLUSTER_NODES; i++)); do
        [ "$(_cluster_port_master "$i")" = br0 ] ||
            ip -n "$CLUSTER_SWITCH_NS" link set "p$i" master br0 || return 1
    done
    for b in $(ip -n "$CLUSTER_SWITCH_NS" -o link show type bridge | sed -n 's/^[0-9]*: \(br[0-9]*\)[:@].*/\1/p'); do
        [ "$b" = br0 ] || ip -n "$CLUSTER_SWITCH_NS" link del "$b"
    done
}

# ---- cleanup -----------------------------------------------------------------------------------

# Interrupted (Ctrl-C, meson's timeout or abort: SIGTERM to the group, SIGKILL 0.5 s later):
# clean up fast, with SIGKILL instead of graceful stops, then die of the same signal.
_cluster_on_signal() {
    _CLUSTER_FAST=1
    cluster_cleanup
    _CLUSTER_FAST=
    trap - "$1"
    kill -"$1" $$
}

# cluster_cleanup: stop everything (SIGTERM, then SIGKILL), unmount, delete the namespaces and
# the tmp root. Idempotent; leaves the host as before.
cluster_cleanup() {
    local - t0
    set +e # must run to the end, also for callers using set -e
    if [ -z "$CLUSTER_ROOT" ]; then
        if [ -n "$_CLUSTER_NEW_ROOT" ]; then # interrupted right after creating it
            rm -rf --one-file-system "$_CLUSTER_NEW_ROOT"
            _CLUSTER_NEW_ROOT=
        fi
        trap - EXIT INT TERM
        return 0
    fi
    t0=$(_cluster_now_ms)
    if declare -F cluster_cleanup_hook >/dev/null; then
        cluster_cleanup_hook || true
    fi
    _cluster_cleanup_root "$CLUSTER_ROOT"
    cluster_log "cluster $CLUSTER_ID cleaned up in $(($(_cluster_now_ms) - t0)) ms"
    CLUSTER_ROOT=
    CLUSTER_NODES=0
    trap - EXIT INT TERM
    return 0
}

# The whole teardown from what is on disk, so it also works for a dead run's root.
_cluster_cleanup_root() {
    local - root=$1 id n i f pid start apid t pids=() starts=() p sig
    set +e
    case $root in */pvet-??????) ;; *) return 1 ;; esac
    [ -d "$root" ] || return 0
    if _cluster_read_pidfile "$root/owner" pid start && [ "$pid" != "$$" ] &&
        _cluster_alive "$pid" "$start"; then
        cluster_log "not cleaning $root: it belongs to the running process $pid"
        return 1
    fi
    id=$(cat "$root/id" 2>/dev/null) || id=${root##*/pvet-}
    n=$(cat "$root/nodes" 2>/dev/null) || n=0

    # 1. daemons: SIGTERM all at once, wait, SIGKILL what is left (at once when interrupted)
    sig=TERM
    [ -n "$_CLUSTER_FAST" ] && sig=KILL
    for f in "$root"/n*/pids/*.pid; do
        [ -e "$f" ] || continue
        _cluster_read_pidfile "$f" pid start || continue
        _cluster_alive "$pid" "$start" || continue
        kill -"$sig" "$pid" 2>/dev/null && pids+=("$pid") && starts+=("$start")
    done
    t=$(($(_cluster_now_ms) + CLUSTER_STOP_TIMEOUT * 1000))
    for p in "${!pids[@]}"; do
        _cluster_wait_gone $((t - $(_cluster_now_ms))) "${pids[p]}" "${starts[p]}" && continue
        kill -KILL "${pids[p]}" 2>/dev/null
        _cluster_wait_gone 5000 "${pids[p]}" "${starts[p]}"
    done

    # 2. per node: anything else still inside its namespaces, mounts, the anchor
    for ((i = 1; i <= n; i++)); do
        apid=
        if _cluster_read_pidfile "$root/n$i/anchor.pid" pid start && _cluster_alive "$pid" "$start"; then
            apid=$pid
        fi
        _cluster_sweep "$apid" "/run/netns/pvet${id}n$i"
        if [ -n "$apid" ]; then
            # FUSE and other mounts left by killed daemons: lazily, innermost first
            # shellcheck disable=SC2016
            nsenter -t "$apid" -m sh -c \
                'findmnt -rn -o TARGET -t fuse,fuse.pmxcfs,fuseblk | sort -r | while read -r m; do umount -l "$m"; done' \
                2>/dev/null
            kill -KILL "$apid" 2>/dev/null
            _cluster_wait_gone 5000 "$apid" "$start"
        fi
    done

    # 3. namespaces (the veths and bridges go with them), then the files
    for ((i = 1; i <= n; i++)); do
        [ -e "/run/netns/pvet${id}n$i" ] && ip netns del "pvet${id}n$i"
    done
    [ -e "/run/netns/pvet${id}sw" ] && ip netns del "pvet${id}sw"
    for f in /run/netns/pvet"${id}"*; do # anything half-made by an interrupted setup
        [ -e "$f" ] && ip netns del "${f##*/}"
    done
    rm -rf --one-file-system "$root"
}

# SIGKILL every process but the anchor $1 that shares its mount namespace or the netns bound
# at $2 (test -ef compares the namespace inodes without forking)
_cluster_sweep() {
    local anchor=$1 netns=$2 mnt='' d p again=1 tries=0
    [ -n "$anchor" ] && mnt=/proc/$anchor/ns/mnt
    [ -e "$netns" ] || netns=
    [ -n "$mnt$netns" ] || return 0
    while ((again && tries < 20)); do
        again=0
        tries=$((tries + 1))
        for d in /proc/[0-9]*; do
            p=${d#/proc/}
            [ "$p" = "$anchor" ] && continue
            if { [ -n "$mnt" ] && [ "$d/ns/mnt" -ef "$mnt" ]; } ||
                { [ -n "$netns" ] && [ "$d/ns/net" -ef "$netns" ]; }; then
                kill -KILL "$p" 2>/dev/null && again=1
            fi
        done
        ((again)) && sleep 0.05
    done
    return 0
}

# cluster_reap_stale: clean up roots (and netns) of earlier runs whose owning shell is gone
cluster_reap_stale() {
    local - r pid start
    set +e
    for r in /run/netns/pvetprobe*; do # cluster_require's probe, if it was interrupted
        [ -e "$r" ] || continue
        pid=${r#/run/netns/pvetprobe}
        [ -d "/proc/$pid" ] || ip netns del "${r##*/}"
    done
    for r in "$CLUSTER_TMPDIR"/pvet-??????; do
        [ -d "$r" ] || continue
        [ "$r" = "$CLUSTER_ROOT" ] && continue
        if _cluster_read_pidfile "$r/owner" pid start && _cluster_alive "$pid" "$start"; then
            continue
        fi
        # a root without owner file may be mid-setup by another run: only reap old ones
        if [ ! -e "$r/owner" ] && [ -z "$(find "$r" -maxdepth 0 -mmin +1)" ]; then
            continue
        fi
        cluster_log "reaping stale cluster test root $r"
        _cluster_cleanup_root "$r"
    done
    return 0
}
