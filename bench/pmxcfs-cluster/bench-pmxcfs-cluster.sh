#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# bench-pmxcfs-cluster: config saves on a 3-node pmxcfs cluster next to the raw CPG round trip,
# both measured in this run on the same private cluster (tests/cluster/lib.sh: one netns,
# mount namespace and real corosync per node; no traffic leaves the test namespaces).
#
# pmxcfs -f runs on all 3 nodes (quorate), cpg-rtt "member" on nodes 2 and 3 in two groups, and
# memfs-cpg (the replicated-FUSE ceiling: FUSE + one CPG round trip per mutating operation,
# nothing else) on node 1. Then, in --rounds alternating rounds on node 1 (so load drift on the
# machine hits all alike):
#   (a) cpg-rtt ping: multicast (AGREED) of 1100 bytes until its own delivery, one at a time;
#   (b) saver: sequential 1 KiB saves (tmp file + rename, as PVE's file_set_contents);
#   (b') the same saves on memfs-cpg.
# --count round trips and --count saves on each in total; p50/p99 over the pooled samples. Then
#   (c) one saver per node, each on its own file, for --seconds at once: aggregate saves/s.
#
# Usage (root): bench-pmxcfs-cluster.sh [--count=N] [--rounds=R] [--seconds=T] [BUILD_DIR]
#   defaults 1000, 5, 10. BUILD_DIR (default $PVE_BUILD_ROOT, else <src>/build) holds
#   pmxcfs/pmxcfs and bench/pmxcfs-cluster/{cpg-rtt,memfs-cpg,saver}; $PMXCFS overrides the pmxcfs binary.
# Prints figures and checks nothing (bench/README.md). Exit 0, 1 (failure) or 77 (not root, or
# no netns/corosync/FUSE). The harness's trap tears everything down, also on failure or ^C.

# shellcheck disable=SC2317,SC2119 # helpers run through wait_until; cluster_start_corosync: defaults
set -u
here=$(dirname "$(readlink -f "$0")")
src=$(cd "$here/../.." && pwd)
# shellcheck source=../../tests/cluster/lib.sh
source "$src/tests/cluster/lib.sh"

count=1000
seconds=10
rounds=5
build=
usage() { echo "usage: $0 [--count=N] [--rounds=R] [--seconds=T] [BUILD_DIR]" >&2; }
for a in "$@"; do
    case $a in
    --count=*) count=${a#*=} ;;
    --seconds=*) seconds=${a#*=} ;;
    --rounds=*) rounds=${a#*=} ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*)
        usage
        exit 1
        ;;
    *) build=$a ;;
    esac
done
if ! [[ $count =~ ^[0-9]+$ && $rounds =~ ^[0-9]+$ && $seconds =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    ((count < 1 || rounds < 1)); then
    usage
    exit 1
fi

if [ "$(id -u)" != 0 ]; then
    echo "bench-pmxcfs-cluster: must run as root (network and mount namespaces, corosync, FUSE)" >&2
    exit 77
fi
cluster_require >/dev/null
[ -c /dev/fuse ] || {
    echo "bench-pmxcfs-cluster: no /dev/fuse" >&2
    exit 77
}

: "${build:=${PVE_BUILD_ROOT:-$src/build}}"
build=$(readlink -f "$build")
PMXCFS=${PMXCFS:-$build/pmxcfs/pmxcfs}
CPG_RTT=$build/bench/pmxcfs-cluster/cpg-rtt
SAVER=$build/bench/pmxcfs-cluster/saver
MEMFS_CPG=$build/bench/pmxcfs-cluster/memfs-cpg
for b in "$PMXCFS" "$CPG_RTT" "$SAVER" "$MEMFS_CPG"; do
    if [ ! -x "$b" ]; then
        echo "bench-pmxcfs-cluster: $b not found; build first (ninja -C $build)" >&2
        exit 1
    fi
done

fail() {
    echo "bench-pmxcfs-cluster: $*" >&2
    local i f
    for ((i = 1; i <= CLUSTER_NODES; i++)); do
        for f in "$CLUSTER_ROOT/n$i/log/"{pmxcfs,cpg-rtt,cpg-memfs,memfs-cpg}.log; do
            [ -s "$f" ] && tail -n 5 "$f" | sed "s|^|# node $i ${f##*/}: |" >&2
        done
    done
    exit 1
}

# value of key=... in a "key=value ..." line
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1" | head -n 1; }
# nearest-rank percentile P of column COL of FILE: pct FILE COL P
pct() {
    awk -v c="$2" '{ print $c }' "$1" | sort -g |
        awk -v p="$3" '{ v[NR] = $1 } END { r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; print v[r] }'
}
mean() { awk -v c="$2" '{ s += $c } END { printf "%.1f", NR ? s / NR : 0 }' "$1"; }
# awk arithmetic on the arguments: calc 'a/b' x y
calc() {
    local expr=$1
    shift
    awk -v a="${1-0}" -v b="${2-0}" -v c="${3-0}" "BEGIN { printf \"%.6f\", $expr }"
}
# utime+stime of a pid, in clock ticks
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# summed CPU ticks of daemon NAME on all nodes (missing daemons count 0)
all_ticks() {
    local i p t=0
    for i in 1 2 3; do
        p=$(node_daemon_pid "$i" "$1") || continue
        t=$((t + $(cpu_ticks "$p")))
    done
    echo "$t"
}
cfs_quorate() { node_exec "$1" grep -q '"quorate": 1' /etc/pve/.members 2>/dev/null; }
all_quorate() {
    local i
    for i in 1 2 3; do cfs_quorate "$i" || return 1; done
}
all_see() { # path: exists on every node
    local i
    for i in 1 2 3; do node_exec "$i" test -e "$1" || return 1; done
}
cfg() { echo "/etc/pve/nodes/node$1/qemu-server/$((100 + $1)).conf"; }
same_on_3() { # path: node 3 reads what node 1 reads
    local a
    a=$(node_exec 1 cat "$1") && [ "$(node_exec 3 cat "$1")" = "$a" ]
}

t_begin=$(cluster_now_ms)
echo "# bench-pmxcfs-cluster: 3 nodes; $count CPG round trips and $count saves in $rounds" \
    "alternating rounds; $seconds s with 3 writers"
cluster_setup 3 pve-bench || fail "cluster setup failed"
cluster_start_corosync || fail "corosync did not form a 3-node membership"

# ---- (a)+(b) raw CPG round trip and pmxcfs saves, interleaved ---------------------------------
# Both run on the same cluster in alternating rounds, so drift in the machine's load hits both
# alike; percentiles are taken over the pooled samples of all rounds.
for i in 1 2 3; do
    node_start_daemon "$i" pmxcfs "$PMXCFS" -f || fail "pmxcfs on node $i"
done
wait_until 30 all_quorate || fail "pmxcfs not quorate on all 3 nodes"
for i in 1 2 3; do
    node_exec "$i" mkdir -p "/etc/pve/nodes/node$i/qemu-server" || fail "mkdir on node $i"
done
wait_until 10 all_see /etc/pve/nodes/node3/qemu-server || fail "node directories not replicated"
for i in 2 3; do
    node_start_daemon "$i" cpg-rtt "$CPG_RTT" member || fail "cpg-rtt member on node $i"
    node_start_daemon "$i" cpg-memfs "$CPG_RTT" --group=bench_memfs member ||
        fail "cpg-rtt member of bench_memfs on node $i"
done
# memfs-cpg mounts once its group has 3 members; default_permissions as pmxcfs's mount, so the
# kernel sends both the same requests.
memfs_mnt=$CLUSTER_ROOT/n1/memfs
mkdir -p "$memfs_mnt"
node_start_daemon 1 memfs-cpg "$MEMFS_CPG" --group=bench_memfs --members=3 -f \
    -o default_permissions,fsname=memfs-cpg "$memfs_mnt" || fail "memfs-cpg on node 1"
wait_until 30 node_exec 1 mountpoint -q "$memfs_mnt" || fail "memfs-cpg did not mount"
node_exec 1 mkdir "$memfs_mnt/qemu-server" || fail "mkdir on memfs-cpg"

per=$(((count + rounds - 1) / rounds))
rtt_samples=$CLUSTER_ROOT/rtt.samples
save_samples=$CLUSTER_ROOT/save.samples
memfs_samples=$CLUSTER_ROOT/memfs.samples
rtt_cpu_cs=0 save_cpu_cs=0 save_cpu_cfs=0 one_n=0 one_secs=0
for ((r = 1; r <= rounds; r++)); do
    c0=$(all_ticks corosync)
    out=$(node_exec 1 "$CPG_RTT" --members=3 --count="$per" --warmup=20 --samples="$rtt_samples" \
        ping) || fail "cpg-rtt ping failed"
    rtt_cpu_cs=$((rtt_cpu_cs + $(all_ticks corosync) - c0))
    grep '^#' <<<"$out" | sed "s/^# /# round $r: /"

    c0=$(all_ticks corosync)
    p0=$(all_ticks pmxcfs)
    out=$(node_exec 1 "$SAVER" --count="$per" --warmup=5 --samples="$save_samples" "$(cfg 1)") ||
        fail "saver on node 1 failed"
    save_cpu_cs=$((save_cpu_cs + $(all_ticks corosync) - c0))
    save_cpu_cfs=$((save_cpu_cfs + $(all_ticks pmxcfs) - p0))
    grep '^# [0-9]' <<<"$out" | sed "s/^# /# round $r: /"
    l=$(grep '^saver ' <<<"$out")
    one_n=$((one_n + $(kv "$l" count)))
    one_secs=$(calc 'a + b' "$one_secs" "$(kv "$l" seconds)")

    out=$(node_exec 1 "$SAVER" --count="$per" --warmup=5 --samples="$memfs_samples" \
        "$memfs_mnt/qemu-server/101.conf") || fail "saver on memfs-cpg failed"
    grep '^# [0-9]' <<<"$out" | sed "s/^# /# round $r, memfs-cpg: /"
done
node_stop_daemon 1 memfs-cpg 5
for i in 2 3; do node_stop_daemon "$i" cpg-rtt 5; node_stop_daemon "$i" cpg-memfs 5; done
wait_until 5 same_on_3 "$(cfg 1)" || fail "node 3 does not have node 1's last save"

n_rtt=$(wc -l <"$rtt_samples")
rtt_p50=$(pct "$rtt_samples" 1 50)
rtt_p99=$(pct "$rtt_samples" 1 99)
rtt_rate=$(calc '1e6 / a' "$(mean "$rtt_samples" 1)")
save_p50=$(pct "$save_samples" 1 50)
save_p99=$(pct "$save_samples" 1 99)
one_rate=$(calc 'a / b' "$one_n" "$one_secs")
open_p50=$(pct "$save_samples" 2 50)
write_p50=$(pct "$save_samples" 3 50)
close_p50=$(pct "$save_samples" 4 50)
rename_p50=$(pct "$save_samples" 5 50)
memfs_p50=$(pct "$memfs_samples" 1 50)
memfs_p99=$(pct "$memfs_samples" 1 99)
memfs_steps=$(for c in 2 3 4 5; do pct "$memfs_samples" "$c" 50; done)

# ---- (c) pmxcfs, one writer per node ------------------------------------------------------------
start_at=$(calc 'a/1e6 + 1.0' "${EPOCHREALTIME//[!0-9]/}")
pids=()
for i in 1 2 3; do
    node_exec "$i" "$SAVER" --seconds="$seconds" --warmup=5 --start-at="$start_at" "$(cfg "$i")" \
        >"$CLUSTER_ROOT/saver$i.out" 2>&1 &
    pids+=($!)
done
for i in 1 2 3; do
    wait "${pids[i - 1]}" || fail "saver on node $i failed: $(cat "$CLUSTER_ROOT/saver$i.out")"
done
agg=0
per_node=
for i in 1 2 3; do
    l=$(grep '^saver ' "$CLUSTER_ROOT/saver$i.out")
    grep '^#' "$CLUSTER_ROOT/saver$i.out" | sed "s/^# /# node $i: /"
    agg=$(calc 'a + b' "$agg" "$(kv "$l" saves_per_s)")
    per_node+="$(printf ' n%d %.0f/s p50 %.0f p99 %.0f;' "$i" "$(kv "$l" saves_per_s)" \
        "$(kv "$l" p50_us)" "$(kv "$l" p99_us)")"
done

# ---- table --------------------------------------------------------------------------------------
ratio=$(calc 'a/b' "$save_p50" "$rtt_p50")
per_op=$(calc 'a/3' "$save_p50")
ratio_op=$(calc 'a/3/b' "$save_p50" "$rtt_p50")
ratio_write=$(calc 'a/b' "$write_p50" "$rtt_p50")
ratio_memfs_op=$(calc 'a/3/b' "$memfs_p50" "$rtt_p50")
met() { awk -v r="$1" 'BEGIN { exit !(r <= 1.5) }' && echo "met" || echo "NOT met"; }
tick_us=$(calc '1e6/a' "$(getconf CLK_TCK)")
commit=$(git -c safe.directory="$src" -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -c safe.directory="$src" -C "$src" diff --quiet HEAD -- pmxcfs 2>/dev/null ||
    commit+=" + uncommitted pmxcfs changes"

echo
echo "pmxcfs cluster bench, $(date -u '+%Y-%m-%d %H:%M UTC'), pmxcfs $commit"
echo "3 nodes on one host (netns + veth bridge, corosync $(corosync -v 2>/dev/null |
    sed -n 's/.*version .\([0-9.]*\).*/\1/p') knet, token ${CLUSTER_TOKEN_MS} ms), $(nproc) CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %9s %9s\n' "latency" "p50 (us)" "p99 (us)"
printf '%-46s %9.0f %9.0f\n' "raw CPG round trip (AGREED, 1100 B, 3 members)" "$rtt_p50" "$rtt_p99"
printf '%-46s %9.0f %9.0f\n' "pmxcfs save of 1 KiB from node 1 (3 ops)" "$save_p50" "$save_p99"
printf '%-46s %9.0f\n' "  per replicated op (save / 3)" "$per_op"
printf '%-46s %9.0f %9.0f %9.0f %9.0f\n' "  by syscall: open(O_CREAT) write close rename" \
    "$open_p50" "$write_p50" "$close_p50" "$rename_p50"
printf '%-46s %9.0f %9.0f\n' "memfs-cpg save (FUSE + 3 round trips, no more)" "$memfs_p50" \
    "$memfs_p99"
# shellcheck disable=SC2086 # four numbers
printf '%-46s %9.0f %9.0f %9.0f %9.0f\n' "  by syscall: open(O_CREAT) write close rename" \
    $memfs_steps
printf '%-46s %9.2f   aim <= 1.5: %s\n' "ratio save p50 / CPG p50 (issue #4's aim)" "$ratio" \
    "$(met "$ratio")"
printf '%-46s %9.2f   aim <= 1.5: %s\n' "ratio (save p50 / 3) / CPG p50, per op" "$ratio_op" \
    "$(met "$ratio_op")"
printf '%-46s %9.2f\n' "ratio write(2) p50 / CPG p50 (1 op, 1 request)" "$ratio_write"
printf '%-46s %9.2f   aim <= 1.5: %s\n' "ceiling: (memfs-cpg save p50 / 3) / CPG p50" \
    "$ratio_memfs_op" "$(met "$ratio_memfs_op")"
printf '%-46s %9.2f\n' "pmxcfs save p50 / memfs-cpg save p50" "$(calc 'a/b' "$save_p50" "$memfs_p50")"
printf '%-46s %9s\n' "throughput" "per s"
printf '%-46s %9.0f\n' "saves, 1 writer (node 1, $one_n sequential)" "$one_rate"
printf '%-46s %9.0f\n' "saves, 3 writers (1 per node, own file, ${seconds} s)" "$agg"
printf '%-46s %9.0f\n' "CPG round trips, 1 sender (1 / mean RTT)" "$rtt_rate"
printf 'CPU, all 3 nodes: corosync %.0f us per CPG round trip; per save corosync %.0f us +' \
    "$(calc 'a*b/c' "$rtt_cpu_cs" "$tick_us" "$n_rtt")" "$(calc 'a*b/c' "$save_cpu_cs" "$tick_us" "$one_n")"
printf ' pmxcfs %.0f us (%.0f us ticks)\n' "$(calc 'a*b/c' "$save_cpu_cfs" "$tick_us" "$one_n")" "$tick_us"
echo "3 writers:$per_node"
echo "A save (open O_CREAT <f>.tmp.<pid>, write 1 KiB, close, rename over <f>) is 3 replicated"
echo "pmxcfs operations (create, write, rename), each waiting for one CPG round trip: 3 x the"
echo "round trip is its floor, so the per-op ratio is the one a 1.5x aim can be held to."
echo "memfs-cpg makes exactly those 3 round trips from the FUSE thread itself and does nothing"
echo "else: its ratio is the most any FUSE file system replicating over CPG reaches here."
echo "# total $(($(cluster_now_ms) - t_begin)) ms before cleanup"
exit 0
