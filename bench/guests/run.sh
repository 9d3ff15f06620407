#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Guest benchmark (issue 7): the time from POST /nodes/{node}/qemu/{vmid}/status/start until
# the VM's QMP socket says "running", next to launching the same QEMU command line by hand
# (`qm showcmd`) and timing it to the same point, in the same run, alternating, medians of N
# runs; the difference is what the API adds to QEMU's own start (aim: under 100 ms). Then
# GET .../status/current requests/s with wrk (running and stopped VM).
#
# usage (as root): bench/guests/run.sh [--runs=N] [--duration=S] [--connections=C]
#                  [--threads=T] [BUILD_DIR]
# BUILD_DIR defaults to $PVE_BUILD_ROOT, else build/. Needs qemu-system-x86_64, python3 and wrk
# (scripts/deps.sh bench). Prints figures, checks nothing.
#
# The VM: TCG (kvm=0), 64 MiB, one 1 MiB raw disk holding a boot sector
# (tests/integration/lib-guest-image.sh), no NIC. pmxcfs (local mode), pvedaemon and qmeventd
# run as the guest tests run them (tests/integration/lib-api.sh with API_GUESTS=1: private
# mount, UTS and network namespace, own /run and sysfs, tmp dirs). Between runs the VM is quit
# over QMP and the bench waits until qmeventd's `qm cleanup` removed its pid file. Everything is
# stopped by pid on exit.
#
# How the times are taken (bench/guests/qmp-timer.py): the API run starts the clock before the
# POST; the hand run before fork+exec of QEMU (with -daemonize, as the command line has it).
# Both then poll QMP query-status every 2 ms with a fresh connection each time (QEMU serves one
# QMP client at a time, and the start task needs the socket for `cont`).

set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${PVE_API_TEST_NS:-}" ]; then
    export BENCH_RUNS=10 BENCH_DURATION=5 BENCH_CONNECTIONS=4 BENCH_THREADS=2
    for a in "$@"; do
        case $a in
        --runs=*) BENCH_RUNS=${a#*=} ;;
        --duration=*) BENCH_DURATION=${a#*=} ;;
        --connections=*) BENCH_CONNECTIONS=${a#*=} ;;
        --threads=*) BENCH_THREADS=${a#*=} ;;
        -h | --help) sed -n '3,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $a" >&2; exit 2 ;;
        *) PVE_BUILD_ROOT=$a ;;
        esac
    done
    if [ -z "${PVE_BUILD_ROOT:-}" ]; then
        PVE_BUILD_ROOT=build
        [ -x build/pvedaemon/pvedaemon ] || PVE_BUILD_ROOT=$HERE/../../build
    fi
    PVE_BUILD_ROOT=$(readlink -f "$PVE_BUILD_ROOT")
    export PVE_BUILD_ROOT
    for c in wrk python3 qemu-system-x86_64; do
        command -v $c >/dev/null || { echo "$c missing (bash scripts/deps.sh bench)" >&2; exit 77; }
    done
fi

API_GUESTS=1
# shellcheck source=../../tests/integration/lib-api.sh
. "$HERE/../../tests/integration/lib-api.sh"
# shellcheck source=../../tests/integration/lib-guest-image.sh
. "$HERE/../../tests/integration/lib-guest-image.sh"
# shellcheck source=../lib-bench.sh
. "$HERE/../lib-bench.sh"
QM=$(readlink -f "$ROOT/qemu-server/qm")
QMEVENTD=$(readlink -f "$ROOT/qmeventd/qmeventd")
[ -x "$QM" ] && [ -x "$QMEVENTD" ] || { echo "qm or qmeventd not built" >&2; exit 77; }
api_setup

die() { echo "bench-guests: $*" >&2; exit 1; }
VMID=100
SOCK=/run/qemu-server/$VMID.qmp
PIDFILE=/run/qemu-server/$VMID.pid
TIMER=$HERE/qmp-timer.py

bench_cleanup() {
    local p
    p=$(cat "$PIDFILE" 2>/dev/null) && [ -n "$p" ] && kill -KILL "$p" 2>/dev/null
    [ -n "${QMEVENTD_PID:-}" ] && kill "$QMEVENTD_PID" 2>/dev/null && wait "$QMEVENTD_PID" 2>/dev/null
    api_cleanup
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# ---- the VM ----
VZ=$TMP/vz
mkdir -p "$VZ/images/$VMID"
printf 'dir: vmstore\n\tpath %s\n\tcontent images\n' "$VZ" >"$MNT/storage.cfg"
guest_image_poweroff "$VZ/images/$VMID/vm-$VMID-disk-0.raw" 1M
export PVE_QM_BIN=$QM
"$QMEVENTD" -f /run/qmeventd.sock >"$TMP/qmeventd.log" 2>&1 &
QMEVENTD_PID=$!
wait_until 10 test -S /run/qmeventd.sock || die "qmeventd does not listen: $(cat "$TMP/qmeventd.log")"
login root@pam "$ROOT_PASSWORD" || die "login failed: $CODE $BODY"
COOKIE="PVEAuthCookie=$TICKET"
api POST "/nodes/$NODE/qemu" -d vmid=$VMID -d kvm=0 -d memory=64 -d cores=1 \
    --data-urlencode "scsi0=vmstore:$VMID/vm-$VMID-disk-0.raw"
api_wait_task "$(jget .data)" || die "create failed: $TASK_EXIT"
CMDLINE=$("$QM" showcmd $VMID) || die "qm showcmd failed"
mapfile -t ARGV < <(python3 -c 'import shlex, sys; print("\n".join(shlex.split(sys.argv[1])))' "$CMDLINE")

# quit the VM and wait until it is gone and qmeventd's cleanup removed the pid file
vm_quit() {
    local p
    p=$(cat "$PIDFILE" 2>/dev/null)
    python3 "$TIMER" quit "$SOCK"
    [ -n "$p" ] && wait_until 10 eval "[ ! -e /proc/$p ]"
    wait_until 5 test ! -e "$PIDFILE" || rm -f "$PIDFILE"
}

echo "# bench-guests: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $BENCH_RUNS runs each," \
    "alternating; $(qemu-system-x86_64 --version | head -1); TCG"
API_MS= API_ANSWER= HAND_MS= HAND_EXIT=
for run in $(seq 1 "$BENCH_RUNS"); do
    read -r ms answer < <(python3 "$TIMER" api "$BASE" "$COOKIE" "$CSRF" \
        "/nodes/$NODE/qemu/$VMID/status/start" "$SOCK") || die "API start failed"
    API_MS+="$ms " API_ANSWER+="$answer "
    vm_quit
    read -r hms hexit < <(python3 "$TIMER" hand "$SOCK" "${ARGV[@]}") || die "hand start failed"
    HAND_MS+="$hms " HAND_EXIT+="$hexit "
    vm_quit
    echo "# run $run: API start -> QMP running $ms ms (POST answered after $answer ms);" \
        "by hand $hms ms (QEMU's first process exited after $hexit ms)"
done

# ---- status/current ----
read -r _ _ < <(python3 "$TIMER" api "$BASE" "$COOKIE" "$CSRF" \
    "/nodes/$NODE/qemu/$VMID/status/start" "$SOCK") || die "API start failed"
URL="$BASE/nodes/$NODE/qemu/$VMID/status/current"
code=$(curl -s -o "$TMP/cur.json" -w '%{http_code}' -b "$COOKIE" "$URL")
[ "$code" = 200 ] && [ "$(jq -r .data.qmpstatus "$TMP/cur.json")" = running ] ||
    die "status/current answers $code: $(head -c 300 "$TMP/cur.json")"
read -r rps_run p99_run bad_run err_run < <(wrk_run "$BENCH_CONNECTIONS" "$URL" "$COOKIE")
vm_quit
read -r rps_stop p99_stop bad_stop err_stop < <(wrk_run "$BENCH_CONNECTIONS" "$URL" "$COOKIE")

a=$(median_of "$API_MS") h=$(median_of "$HAND_MS")
aa=$(median_of "$API_ANSWER") he=$(median_of "$HAND_EXIT")
printf '\n%-44s %10s\n' "start to QMP running (median of $BENCH_RUNS)" "ms"
printf '%-44s %10.1f\n' "POST .../status/start" "$a" "QEMU command line by hand (qm showcmd)" "$h"
awk -v a="$a" -v h="$h" 'BEGIN {
    d = a - h
    printf "%-44s %10.1f   aim < 100 ms: %s\n", "overhead (API - by hand)", d, d < 100 ? "met" : "NOT met"
}'
printf '%-44s %10.1f\n' "  POST answered (UPID) after" "$aa" "  by hand: QEMU daemonized after" "$he"
printf '\n%-44s %10s %10s %8s %s\n' "GET status/current (wrk -c$BENCH_CONNECTIONS -d${BENCH_DURATION}s)" "req/s" "p99" \
    "non-2xx" "errors"
printf '%-44s %10.0f %7.2f ms %8s %s\n' "  VM running (QMP queried)" "$rps_run" "$p99_run" \
    "$bad_run" "$err_run" "  VM stopped" "$rps_stop" "$p99_stop" "$bad_stop" "$err_stop"
