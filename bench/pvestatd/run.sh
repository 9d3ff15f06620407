#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# pvestatd benchmark (issue 8): the CPU time one pvestatd status cycle costs (all its threads,
# over N cycles, divided by N) and its RSS, with 0, 5 and 20 running VMs, then with the 20 VMs
# paused. Aim: under 1% of one core at 20 guests, i.e. under 100 ms of CPU per 10 s cycle, the
# cost growing linearly with the guests. The CPU time is read from a cgroup of its own that
# pvestatd is moved into (cgroup v1 cpuacct.usage or v2 cpu.stat usage_usec: ns/us precision,
# threads that ended count too; the cgroup is removed at the end); utime+stime from
# /proc/<pid>/stat (10 ms ticks, too coarse for a cheap cycle) is printed next to it as a check,
# and used alone when no cgroup can be made.
#
# usage (as root): bench/pvestatd/run.sh [--interval=S] [--cycles=N] [--windows=W] [BUILD_DIR]
# --interval: pvestatd's cycle (2 s; its --interval option, production is 10 s: one cycle does
# the same work at any interval), --cycles: cycles per measuring window (10), --windows: windows
# per guest count (3; the table gives the median). BUILD_DIR defaults to $PVE_BUILD_ROOT, else
# build/. Needs qemu-system-x86_64; exits 77 otherwise. Prints figures, checks nothing.
#
# Guests: TCG (kvm=0), 32 MiB, 1 core, no disk and no NIC, created and started through the API:
# SeaBIOS finds nothing to boot and waits there, so QEMU keeps running (and keeps answering QMP,
# which pvestatd asks every cycle). A phase waits until pvestatd reports every guest as running
# (pve2.3-vm/<vmid> in the .rrd dump, uptime > 0) and counts at its end those still reported so
# with a live QEMU. SeaBIOS's wait is not idle under TCG (about 8% of a core per guest here), so
# the guests' own CPU share is printed next to pvestatd's; the "20-paused" row (QMP stop through
# POST .../status/suspend: QEMU idle, QMP still answers, reported as "paused" as upstream) shows
# pvestatd's cost without that contention.
#
# pmxcfs (local mode), pvedaemon and pvestatd run as the guest tests run them
# (tests/integration/lib-api.sh with API_GUESTS=1: private mount, UTS and network namespace,
# own /run, RRD files in the tmp dir). Every QEMU and daemon is stopped by pid on exit; the
# namespace takes its mounts with it. A SIGKILLed bench leaves an empty cgroup bench-pvestatd.<pid>
# behind (rmdir it).

set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${PVE_API_TEST_NS:-}" ]; then
    export BENCH_INTERVAL=2 BENCH_CYCLES=10 BENCH_WINDOWS=3
    for a in "$@"; do
        case $a in
        --interval=*) BENCH_INTERVAL=${a#*=} ;;
        --cycles=*) BENCH_CYCLES=${a#*=} ;;
        --windows=*) BENCH_WINDOWS=${a#*=} ;;
        -h | --help) sed -n '4,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $a" >&2; exit 2 ;;
        *) PVE_BUILD_ROOT=$a ;;
        esac
    done
    if [ -z "${PVE_BUILD_ROOT:-}" ]; then
        PVE_BUILD_ROOT=build
        [ -x build/pvestatd/pvestatd ] || PVE_BUILD_ROOT=$HERE/../../build
    fi
    PVE_BUILD_ROOT=$(readlink -f "$PVE_BUILD_ROOT")
    export PVE_BUILD_ROOT
    for c in python3 qemu-system-x86_64; do
        command -v $c >/dev/null || { echo "$c missing (bash scripts/deps.sh bench)" >&2; exit 77; }
    done
fi

# shellcheck disable=SC2034 # read by lib-api.sh
API_GUESTS=1
# shellcheck source=../../tests/integration/lib-api.sh
. "$HERE/../../tests/integration/lib-api.sh"
# shellcheck source=../lib-bench.sh
. "$HERE/../lib-bench.sh"
PVESTATD=$(readlink -f "$ROOT/pvestatd/pvestatd")
[ -x "$PVESTATD" ] || { echo "pvestatd not built" >&2; exit 77; }
api_setup

die() { echo "bench-pvestatd: $*" >&2; exit 1; }
STATD_PIDFILE=$TMP/pvestatd.pid
VMIDS=()
HZ=$(getconf CLK_TCK)
CG='' CG_V1=''

qemu_pid() { cat "/run/qemu-server/$1.pid" 2>/dev/null; }
bench_cleanup() {
    local id p
    for id in "${VMIDS[@]}"; do
        p=$(qemu_pid "$id") && [ -n "$p" ] && kill -KILL "$p" 2>/dev/null
    done
    "$PVESTATD" stop --pidfile "$STATD_PIDFILE" >/dev/null 2>&1
    [ -n "$CG" ] && wait_until 10 rmdir "$CG"
    api_cleanup
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# ---- guests ----
login root@pam "$ROOT_PASSWORD" || die "login failed: $CODE $BODY"
# add_guests N: create and start N more VMs (vmids 100...)
add_guests() {
    local k id
    for ((k = 0; k < $1; k++)); do
        id=$((100 + ${#VMIDS[@]}))
        api POST "/nodes/$NODE/qemu" -d vmid=$id -d kvm=0 -d name="bench$id" -d memory=32 -d cores=1
        api_wait_task "$(jget .data)" || die "create $id: $TASK_EXIT"
        api POST "/nodes/$NODE/qemu/$id/status/start"
        api_wait_task "$(jget .data)" || die "start $id: $TASK_EXIT"
        VMIDS+=("$id")
    done
}
suspend_all() {
    local id
    for id in "${VMIDS[@]}"; do
        api POST "/nodes/$NODE/qemu/$id/status/suspend"
        api_wait_task "$(jget .data)" || die "suspend $id: $TASK_EXIT"
    done
}
# running_guests [STATUS]: guests that pvestatd's last value calls STATUS (default running; a
# suspended VM is "paused" there as upstream: QMP's status) with uptime > 0 and a live QEMU
running_guests() {
    local id p c=0
    for id in "${VMIDS[@]}"; do
        p=$(qemu_pid "$id")
        [ -n "$p" ] && [ -d "/proc/$p" ] || continue
        grep -a -q "^pve2.3-vm/$id:[1-9][0-9]*:[^:]*:${1:-running}:" "$MNT/.rrd" && c=$((c + 1))
    done
    echo "$c"
}
reported() { [ "$(running_guests "${1-}")" = "${#VMIDS[@]}" ]; }

# ---- measuring ----
# ticks PID...: utime+stime (all threads, clock ticks) of the processes, summed
ticks() {
    local p s sum=0
    for p in "$@"; do
        s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        s=${s##*) }
        # shellcheck disable=SC2086
        set -- $s
        sum=$((sum + ${12} + ${13}))
    done
    echo "$sum"
}
# cg_setup PID: move the process into a new cgroup (CG) whose CPU usage can be read
cg_setup() {
    local v1=/sys/fs/cgroup/cpuacct name=bench-pvestatd.$$
    [ -f "$v1/cpuacct.usage" ] || v1=/sys/fs/cgroup/cpu,cpuacct
    if [ -f "$v1/cpuacct.usage" ] && mkdir "$v1/$name" 2>/dev/null; then
        CG=$v1/$name CG_V1=1
    elif [ -f /sys/fs/cgroup/cgroup.controllers ] && mkdir "/sys/fs/cgroup/$name" 2>/dev/null; then
        CG=/sys/fs/cgroup/$name
    fi
    [ -n "$CG" ] && ! echo "$1" >"$CG/cgroup.procs" && rmdir "$CG" && CG=
}
# cg_ns: CPU time of the cgroup in ns
cg_ns() {
    if [ -n "$CG_V1" ]; then cat "$CG/cpuacct.usage"; else awk '$1 == "usage_usec" {print $2 * 1000}' "$CG/cpu.stat"; fi
}
rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# sleep to the middle of the next cycle (cycles fire at multiples of the interval)
to_mid_cycle() {
    python3 -c "import time; i=$BENCH_INTERVAL; t=time.time(); time.sleep(i - t % i + i / 2)"
}
# window: one measuring window of BENCH_CYCLES cycles; prints "<ms/cycle> <ms/cycle from ticks>
# <guest CPU %>" (the first from the cgroup, or the ticks again without one)
window() {
    local spid=$1 a b ca=0 cb=0 ga gb t0 t1 qpids=() id
    for id in "${VMIDS[@]}"; do qpids+=("$(qemu_pid "$id")"); done
    to_mid_cycle
    [ -n "$CG" ] && ca=$(cg_ns)
    t0=$EPOCHREALTIME a=$(ticks "$spid") ga=$(ticks "${qpids[@]}")
    sleep $((BENCH_INTERVAL * BENCH_CYCLES))
    [ -n "$CG" ] && cb=$(cg_ns)
    t1=$EPOCHREALTIME b=$(ticks "$spid") gb=$(ticks "${qpids[@]}")
    awk -v a="$a" -v b="$b" -v ca="$ca" -v cb="$cb" -v cg="$CG" -v ga="$ga" -v gb="$gb" -v hz="$HZ" \
        -v n="$BENCH_CYCLES" -v t0="$t0" -v t1="$t1" 'BEGIN {
        t = (b - a) * 1000 / hz / n
        printf "%.3f %.2f %.1f\n", cg != "" ? (cb - ca) / 1e6 / n : t, t, (gb - ga) * 100 / hz / (t1 - t0)
    }'
}
ROWS=()
# phase LABEL [STATUS]: BENCH_WINDOWS windows with the guests as they are now (all reported with
# STATUS, default running), one table row
phase() {
    local label=$1 st=${2:-running} spid ms=() g=() w r rt gc running rss load
    spid=$(cat "$STATD_PIDFILE") || die "no pvestatd pid"
    wait_until 60 reported "$st" || die "$label: pvestatd reports $(running_guests "$st") of ${#VMIDS[@]} guests $st"
    for ((w = 1; w <= BENCH_WINDOWS; w++)); do
        read -r r rt gc < <(window "$spid")
        ms+=("$r") g+=("$gc")
        echo "# $label window $w: $r ms/cycle ($rt from /proc ticks), guests ${gc}% CPU," \
            "load $(cut -d' ' -f1 /proc/loadavg)"
    done
    running=$(running_guests "$st")
    [ "$running" = "${#VMIDS[@]}" ] || echo "# $label: only $running of ${#VMIDS[@]} guests still $st"
    rss=$(rss_mib "$spid")
    load=$(cut -d' ' -f1 /proc/loadavg)
    ROWS+=("$label $running $(median_of "${ms[*]}") $(median_of "${g[*]}") $rss $load")
}

"$PVESTATD" start --interval "$BENCH_INTERVAL" --pidfile "$STATD_PIDFILE" >"$TMP/statd.log" 2>&1 ||
    die "pvestatd did not start: $(cat "$TMP/statd.log")"
wait_until 20 grep -a -q "^pve2-node/$NODE:" "$MNT/.rrd" || die "pvestatd broadcasts nothing"
cg_setup "$(cat "$STATD_PIDFILE")"
echo "# bench-pvestatd: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg);" \
    "$(qemu-system-x86_64 --version | head -1); TCG guests of 32 MiB;" \
    "pvestatd --interval $BENCH_INTERVAL, $BENCH_WINDOWS windows of $BENCH_CYCLES cycles;" \
    "CPU time from ${CG:-/proc/<pid>/stat ticks (no cgroup)}"
sleep $((BENCH_INTERVAL * 2)) # past the first cycles (first reads, library warm-up)
phase 0
add_guests 5
phase 5
add_guests 15
phase 20
suspend_all
phase 20-paused paused

printf '\n%-10s %8s %7s %14s %12s %9s %8s %6s  %s\n' guests reported cycles "CPU ms/cycle" \
    "% of 1 core" "guests %" "RSS MiB" load "aim (< 100 ms, 1%)"
for r in "${ROWS[@]}"; do
    read -r label running ms g rss load <<<"$r"
    awk -v l="$label" -v run="$running" -v c=$((BENCH_CYCLES * BENCH_WINDOWS)) -v ms="$ms" -v g="$g" \
        -v rss="$rss" -v load="$load" 'BEGIN {
        printf "%-10s %8s %7d %14.3f %11.4f%% %8.1f%% %8.1f %6.2f  %s\n", l, run, c, ms, ms / 100, g,
            rss, load, (l ~ /^20/ ? (ms < 100 ? "met" : "NOT met") : "")
    }'
done
# growth per guest against the empty node
read -r _ _ ms0 _ <<<"${ROWS[0]}"
read -r _ _ ms5 _ <<<"${ROWS[1]}"
read -r _ _ ms20 _ <<<"${ROWS[2]}"
read -r _ _ ms20p _ <<<"${ROWS[3]}"
awk -v a="$ms0" -v b="$ms5" -v c="$ms20" -v d="$ms20p" 'BEGIN {
    printf "\nper guest: %.3f ms (0 -> 5), %.3f ms (5 -> 20), %.3f ms (0 -> 20 paused)\n",
        (b - a) / 5, (c - b) / 15, (d - a) / 20
}'
echo "CPU ms/cycle: medians of $BENCH_WINDOWS windows; % of 1 core: that per 10 s (the production cycle);" \
    "guests %: all QEMUs' CPU in % of one core; reported: guests pvestatd reported running" \
    "(paused) at the end, QEMU alive"
