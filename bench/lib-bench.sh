# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck shell=bash
#
# Shared by the HTTP benchmarks (bench/api, bench/pveproxy): a private nginx serving static
# files as the reference, wrk runs reduced to one line of figures, medians and the table.
# Sourced after tests/integration/lib-api.sh (wait_until, TMP).
#
#     nginx_start WWW_DIR [CERT KEY]   # NG_URL (http or https://127.0.0.1:port), NGINX_PID
#     wrk_run CONNECTIONS URL [COOKIE] [HEADER] # "<requests/s> <p99 ms> <non-2xx> <socket errors>"
#     median < numbers                 # one per line
#     nginx_stop
#
# nginx gets its own config, pid, error log and temp paths under $TMP/nginx and listens on
# 127.0.0.1 only; the system's nginx service is never touched. Keep-alive connections are
# closed after $NG_KEEPALIVE_REQUESTS requests (default nginx's own 1000).

NGINX_PID=
NG=
NG_URL=

nginx_start() {
    local www=$1 cert=${2:-} key=${3:-} port listen tls=
    NG=$TMP/nginx
    mkdir -p "$NG/tmp"
    # nginx's workers run as an unprivileged user: let them through to the static files
    chmod 711 "$TMP" "$NG"
    chmod -R a+rX "$www"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    listen="127.0.0.1:$port"
    NG_URL=http://$listen
    if [ -n "$cert" ]; then
        listen="$listen ssl"
        NG_URL=https://127.0.0.1:$port
        tls="ssl_certificate $cert; ssl_certificate_key $key;"
    fi
    cat >"$NG/nginx.conf" <<EOF
worker_processes auto;
pid $NG/nginx.pid;
error_log $NG/error.log;
events { worker_connections 2048; }
http {
    access_log off;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    default_type application/json;
    keepalive_requests ${NG_KEEPALIVE_REQUESTS:-1000};
    server {
        listen $listen;
        $tls
        root $www;
    }
}
EOF
    nginx -p "$NG" -c "$NG/nginx.conf" -g 'daemon off;' 2>>"$NG/error.log" &
    NGINX_PID=$!
    ng_up() { curl -ks -o /dev/null "$NG_URL/"; }
    wait_until 10 ng_up
}

nginx_stop() {
    if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill -QUIT "$NGINX_PID" 2>/dev/null # graceful stop of master and its workers
        for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NGINX_PID" 2>/dev/null
        wait "$NGINX_PID" 2>/dev/null
    fi
    NGINX_PID=
}

# wrk_run CONNECTIONS URL [COOKIE] [HEADER]: BENCH_THREADS threads for BENCH_DURATION seconds
wrk_run() {
    local out
    out=$(wrk -t"$BENCH_THREADS" -c"$1" -d"${BENCH_DURATION}s" --latency \
        ${3:+-H "Cookie: $3"} ${4:+-H "$4"} "$2" 2>&1)
    [ -n "${BENCH_WRK_LOG:-}" ] && printf '%s\n' "$out" >>"$BENCH_WRK_LOG"
    awk '
        function ms(v) {
            if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
            if (v ~ /s$/) return v * 1000; return v
        }
        /Requests\/sec:/ { rps = $2 }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        /Socket errors:/ { err = $0; sub(/.*Socket errors: /, "", err); gsub(/ /, "", err) }
        END { printf "%s %s %d %s\n", rps, p99, bad, (err == "" ? "-" : err) }
    ' <<<"$out"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

# median_of "v1 v2 v3 "
median_of() { tr ' ' '\n' <<<"$1" | grep . | median; }
