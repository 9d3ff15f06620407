#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# API benchmark (issue 5): wrk against pvedaemon's GET /api2/json/version and
# GET /api2/json/cluster/resources with a valid root@pam ticket cookie, next to nginx serving
# a static file with the same bytes as each response, on loopback, in the same run. Rounds
# alternate between the two servers so background load hits both alike; the table gives the
# median of the rounds (requests/s, p99 latency) and the ratio ours/nginx.
#
# usage (as root): bench/api/run.sh [--rounds=N] [--duration=S] [--connections=C]
#                  [--threads=T] [--guests=G] [BUILD_DIR]
# BUILD_DIR defaults to $PVE_BUILD_ROOT, else build/. Needs wrk and nginx
# (scripts/deps.sh bench). Prints figures, checks nothing. A third row, GET /access/ticket
# (public, no ticket check), shows what the same HTTP stack does without authentication.
#
# pmxcfs (local mode) and pvedaemon run as the API tests run them (tests/integration/
# lib-api.sh: private mount + UTS namespace, hostname testnode, root@pam through a private
# PAM/shadow, tmp dirs). nginx gets its own config, pid, log and temp paths under the same tmp
# dir and listens on 127.0.0.1 only; the system's nginx service is never touched. Everything
# is stopped by pid on exit.

set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${PVE_API_TEST_NS:-}" ]; then
    # options travel as environment: lib-api.sh re-executes this script in a namespace
    export BENCH_ROUNDS=3 BENCH_DURATION=10 BENCH_CONNECTIONS=64 BENCH_THREADS=2
    export BENCH_GUESTS=20
    for a in "$@"; do
        case $a in
        --rounds=*) BENCH_ROUNDS=${a#*=} ;;
        --duration=*) BENCH_DURATION=${a#*=} ;;
        --connections=*) BENCH_CONNECTIONS=${a#*=} ;;
        --threads=*) BENCH_THREADS=${a#*=} ;;
        --guests=*) BENCH_GUESTS=${a#*=} ;;
        -h | --help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
    for c in wrk nginx; do
        command -v $c >/dev/null ||
            { echo "$c missing (bash scripts/deps.sh bench)" >&2; exit 77; }
    done
fi

# shellcheck source=../../tests/integration/lib-api.sh
. "$HERE/../../tests/integration/lib-api.sh"
# shellcheck source=../lib-bench.sh
. "$HERE/../lib-bench.sh"
api_setup

trap 'nginx_stop; api_cleanup' EXIT
trap 'exit 130' INT TERM

die() { echo "bench-api: $*" >&2; exit 1; }

# ---- data: a few guests so /cluster/resources has something to list ----
mkdir -p "$MNT/nodes/$NODE/qemu-server" || die "cannot create the guest config directory"
for i in $(seq 1 "$BENCH_GUESTS"); do
    printf 'name: bench%s\nmemory: 2048\ncores: 2\nnet0: virtio=BC:24:11:00:00:%02X,bridge=vmbr0\n' \
        "$i" "$((i % 256))" >"$MNT/nodes/$NODE/qemu-server/$((100 + i)).conf" ||
        die "cannot write guest configs"
done

login root@pam "$ROOT_PASSWORD" || die "login failed: $CODE $BODY"
COOKIE="PVEAuthCookie=$TICKET"

# ---- nginx: static copies of the responses ----
WWW=$TMP/www
mkdir -p "$WWW"
# access/ticket (GET: a public dummy) needs no authentication: the same stack without the
# ticket check, for comparison
ENDPOINTS=(version cluster/resources access/ticket)
for ep in "${ENDPOINTS[@]}"; do
    f=$WWW/${ep//\//_}.json
    code=$(curl -s -o "$f" -w '%{http_code}' -b "$COOKIE" "$BASE/$ep")
    [ "$code" = 200 ] || die "GET /$ep answers $code: $(head -c 300 "$f")"
done
nginx_start "$WWW" || die "nginx did not start: $(cat "$NG/error.log")"
for ep in "${ENDPOINTS[@]}"; do
    f=${ep//\//_}.json
    cmp -s <(curl -s "$NG_URL/$f") "$WWW/$f" || die "nginx serves $f wrong"
done

# ---- measurements ----
workers=$(ps -o pid= --ppid "$PD_PID" | wc -l)
echo "# bench-api: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); wrk -t$BENCH_THREADS" \
    "-c$BENCH_CONNECTIONS -d${BENCH_DURATION}s x $BENCH_ROUNDS rounds; pvedaemon pid $PD_PID" \
    "($workers child processes), nginx pid $NGINX_PID (worker_processes auto)"
declare -A R
for round in $(seq 1 "$BENCH_ROUNDS"); do
    for ep in "${ENDPOINTS[@]}"; do
        f=${ep//\//_}.json
        read -r rps p99 bad err < <(wrk_run "$BENCH_CONNECTIONS" "$BASE/$ep" "$COOKIE")
        R[ours,$ep,rps]+="$rps " R[ours,$ep,p99]+="$p99 "
        echo "# round $round $ep: ours  $rps req/s p99 ${p99} ms non-2xx $bad errors $err"
        read -r rps p99 bad err < <(wrk_run "$BENCH_CONNECTIONS" "$NG_URL/$f")
        R[nginx,$ep,rps]+="$rps " R[nginx,$ep,p99]+="$p99 "
        echo "# round $round $ep: nginx $rps req/s p99 ${p99} ms non-2xx $bad errors $err"
    done
done

printf '\n%-22s %6s %12s %12s %7s %11s %11s  %s\n' endpoint bytes "ours req/s" "nginx req/s" ratio \
    "ours p99" "nginx p99" "aim (>= 0.5x nginx, p99 < 5 ms)"
for ep in "${ENDPOINTS[@]}"; do
    bytes=$(stat -c %s "$WWW/${ep//\//_}.json")
    o=$(median_of "${R[ours,$ep,rps]}")
    n=$(median_of "${R[nginx,$ep,rps]}")
    op=$(median_of "${R[ours,$ep,p99]}")
    np=$(median_of "${R[nginx,$ep,p99]}")
    awk -v ep="GET /$ep" -v b="$bytes" -v o="$o" -v n="$n" -v op="$op" -v np="$np" 'BEGIN {
        r = n > 0 ? o / n : 0
        met = (r >= 0.5 && op < 5) ? "met" : "NOT met"
        printf "%-22s %6d %12.0f %12.0f %7.2f %8.2f ms %8.2f ms  %s\n", ep, b, o, n, r, op, np, met
    }'
done
