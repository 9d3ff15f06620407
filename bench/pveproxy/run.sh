#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# pveproxy benchmark (issue 5): wrk over TLS with keep-alive against pveproxy, next to nginx
# serving static files of the same bytes over TLS with the same certificate (the node
# certificate pveproxy generated, nodes/<node>/pve-ssl.pem/.key), on loopback, in the same
# run. Rows: GET /api2/json/version with a ticket (answered inside pveproxy) and a protected
# GET that pveproxy forwards to pvedaemon (default /nodes/<node>/hosts). Rounds alternate
# between the two servers; the table gives medians (requests/s, p99) and the ratio
# ours/nginx. A third table repeats /version with "Connection: close": one full TLS handshake
# per request, the cost the keep-alive rows pay once per 100 requests. Then a run with many
# connections (default 500) per row reports wrk's socket errors and non-2xx answers.
#
# usage (as root): bench/pveproxy/run.sh [--rounds=N] [--duration=S] [--connections=C]
#                  [--burst=C] [--threads=T] [--workers=W] [--protected=PATH] [BUILD_DIR]
# Defaults: 3 rounds, 10 s, 64 connections, 500 for the burst run, 2 wrk threads,
# pveproxy's own worker count (no MAX_WORKERS: one per CPU, 2 to 3; --workers writes
# MAX_WORKERS to its settings).
# BUILD_DIR defaults to $PVE_BUILD_ROOT, else build/. Needs wrk and nginx
# (scripts/deps.sh bench). Prints figures, checks nothing.
#
# pmxcfs (local mode) and pvedaemon run as the API tests run them (tests/integration/
# lib-api.sh), pveproxy as test-pveproxy runs it (lib-pveproxy.sh: www-data, access log on,
# LISTEN_IP 127.0.0.1), nginx as bench/lib-bench.sh starts it (own config/pid/log/temp
# under the tmp dir, 127.0.0.1 only, keepalive_requests set to pveproxy's 100 requests per
# connection). Everything is stopped by pid on exit.

set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${PVE_API_TEST_NS:-}" ]; then
    # options travel as environment: lib-api.sh re-executes this script in a namespace
    export BENCH_ROUNDS=3 BENCH_DURATION=10 BENCH_CONNECTIONS=64 BENCH_BURST=500
    export BENCH_THREADS=2 BENCH_WORKERS= BENCH_PROTECTED=
    for a in "$@"; do
        case $a in
        --rounds=*) BENCH_ROUNDS=${a#*=} ;;
        --duration=*) BENCH_DURATION=${a#*=} ;;
        --connections=*) BENCH_CONNECTIONS=${a#*=} ;;
        --burst=*) BENCH_BURST=${a#*=} ;;
        --threads=*) BENCH_THREADS=${a#*=} ;;
        --workers=*) BENCH_WORKERS=${a#*=} ;;
        --protected=*) BENCH_PROTECTED=${a#*=} ;;
        -h | --help) sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $a" >&2; exit 2 ;;
        *) PVE_BUILD_ROOT=$a ;;
        esac
    done
    if [ -z "${PVE_BUILD_ROOT:-}" ]; then
        PVE_BUILD_ROOT=build
        [ -x build/pveproxy/pveproxy ] || PVE_BUILD_ROOT=$HERE/../../build
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
# shellcheck source=../../tests/integration/lib-pveproxy.sh
. "$HERE/../../tests/integration/lib-pveproxy.sh"
# shellcheck source=../lib-bench.sh
. "$HERE/../lib-bench.sh"
api_setup
trap 'nginx_stop; pveproxy_stop; api_cleanup' EXIT
trap 'exit 130' INT TERM

die() { echo "bench-pveproxy: $*" >&2; exit 1; }

export PVE_PROXY_DEFAULTS=$TMP/default-pveproxy
{
    echo 'LISTEN_IP="127.0.0.1"'
    [ -n "$BENCH_WORKERS" ] && echo "MAX_WORKERS=$BENCH_WORKERS"
} >"$PVE_PROXY_DEFAULTS"
pveproxy_start || die "pveproxy did not start: $(cat "$TMP/pp.log")"

login root@pam "$ROOT_PASSWORD" || die "login failed: $CODE $BODY"
COOKIE="PVEAuthCookie=$TICKET"
PROTECTED=${BENCH_PROTECTED:-/nodes/$NODE/hosts}

# ---- nginx: the same bytes over TLS with pveproxy's certificate ----
WWW=$TMP/ngwww
mkdir -p "$WWW"
ROWS=(/version "$PROTECTED")
declare -A FILE
for ep in "${ROWS[@]}"; do
    f=$(tr -c 'a-zA-Z0-9\n' _ <<<"${ep#/}").json
    FILE[$ep]=$f
    code=$(curl -ks -o "$WWW/$f" -w '%{http_code}' -b "$COOKIE" "$PB/api2/json$ep")
    [ "$code" = 200 ] || die "GET $ep answers $code: $(head -c 300 "$WWW/$f")"
done
# pveproxy's /version answer is the same bytes every time; a forwarded answer is too as
# long as nothing changes on the node while the bench runs
NG_KEEPALIVE_REQUESTS=100 nginx_start "$WWW" "$MNT/nodes/$NODE/pve-ssl.pem" \
    "$MNT/nodes/$NODE/pve-ssl.key" || die "nginx did not start: $(cat "$NG/error.log")"
for ep in "${ROWS[@]}"; do
    cmp -s <(curl -ks "$NG_URL/${FILE[$ep]}") "$WWW/${FILE[$ep]}" ||
        die "nginx serves ${FILE[$ep]} wrong"
done
cmp -s <(openssl s_client -connect "${PB#https://}" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint) \
    <(openssl s_client -connect "${NG_URL#https://}" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint) ||
    die "pveproxy and nginx present different certificates"

# ---- measurements ----
BENCH_WRK_LOG=${BENCH_WRK_LOG:-$TMP/wrk.log} # every wrk output, for a closer look
workers=$(ps -o pid= --ppid "$PP_PID" | wc -l)
echo "# bench-pveproxy: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg);" \
    "wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d${BENCH_DURATION}s x $BENCH_ROUNDS rounds;" \
    "pveproxy pid $PP_PID ($workers workers), pvedaemon pid $PD_PID" \
    "($(ps -o pid= --ppid "$PD_PID" | wc -l) workers), nginx pid $NGINX_PID (worker_processes auto);" \
    "TLS $(curl -ksv -o /dev/null -b "$COOKIE" "$PB/api2/json/version" 2>&1 | sed -n 's/.*SSL connection using //p')"
declare -A R
for round in $(seq 1 "$BENCH_ROUNDS"); do
    for ep in "${ROWS[@]}"; do
        for srv in ours nginx; do
            if [ $srv = ours ]; then url=$PB/api2/json$ep; else url=$NG_URL/${FILE[$ep]}; fi
            read -r rps p99 bad err < <(wrk_run "$BENCH_CONNECTIONS" "$url" "$COOKIE")
            R[$srv,$ep,rps]+="$rps " R[$srv,$ep,p99]+="$p99 "
            printf '# round %s GET %s: %-5s %s req/s p99 %s ms non-2xx %s errors %s\n' \
                "$round" "$ep" $srv "$rps" "$p99" "$bad" "$err"
        done
    done
done

printf '\n%-26s %6s %12s %12s %7s %11s %11s  %s\n' "wrk -c$BENCH_CONNECTIONS" bytes "ours req/s" \
    "nginx req/s" ratio "ours p99" "nginx p99" "aim (>= 0.5x nginx, p99 < 10 ms)"
for ep in "${ROWS[@]}"; do
    awk -v ep="GET $ep" -v b="$(stat -c %s "$WWW/${FILE[$ep]}")" \
        -v o="$(median_of "${R[ours,$ep,rps]}")" -v n="$(median_of "${R[nginx,$ep,rps]}")" \
        -v op="$(median_of "${R[ours,$ep,p99]}")" -v np="$(median_of "${R[nginx,$ep,p99]}")" 'BEGIN {
        r = n > 0 ? o / n : 0
        met = (r >= 0.5 && op < 10) ? "met" : "NOT met"
        printf "%-26s %6d %12.0f %12.0f %7.2f %8.2f ms %8.2f ms  %s\n", ep, b, o, n, r, op, np, met
    }'
done

# ---- full handshakes: a new TLS connection per request ----
printf '\n%-26s %12s %12s %7s %11s %11s\n' "wrk -c$BENCH_CONNECTIONS, Connection: close" \
    "ours req/s" "nginx req/s" ratio "ours p99" "nginx p99"
declare -A H
for round in $(seq 1 "$BENCH_ROUNDS"); do
    for srv in ours nginx; do
        if [ $srv = ours ]; then url=$PB/api2/json/version; else url=$NG_URL/${FILE[/version]}; fi
        read -r rps p99 bad err < <(wrk_run "$BENCH_CONNECTIONS" "$url" "$COOKIE" "Connection: close")
        H[$srv,rps]+="$rps " H[$srv,p99]+="$p99 "
        printf '# round %s GET /version, close: %-5s %s req/s p99 %s ms non-2xx %s errors %s\n' \
            "$round" $srv "$rps" "$p99" "$bad" "$err"
    done
done
awk -v o="$(median_of "${H[ours,rps]}")" -v n="$(median_of "${H[nginx,rps]}")" \
    -v op="$(median_of "${H[ours,p99]}")" -v np="$(median_of "${H[nginx,p99]}")" 'BEGIN {
    printf "%-26s %12.0f %12.0f %7.2f %8.2f ms %8.2f ms\n", "GET /version", o, n, (n > 0 ? o / n : 0), op, np
}'

# ---- many connections: errors ----
printf '\n%-26s %6s %12s %11s %9s  %s\n' "wrk -c$BENCH_BURST" server "req/s" p99 non-2xx \
    "socket errors (connect/read/write/timeout)"
for ep in "${ROWS[@]}"; do
    for srv in ours nginx; do
        if [ $srv = ours ]; then url=$PB/api2/json$ep; else url=$NG_URL/${FILE[$ep]}; fi
        read -r rps p99 bad err < <(wrk_run "$BENCH_BURST" "$url" "$COOKIE")
        printf '%-26s %6s %12.0f %8.2f ms %9d  %s\n' "GET $ep" $srv "$rps" "$p99" "$bad" \
            "$( [ "$err" = - ] && echo none || echo "$err")"
    done
done
