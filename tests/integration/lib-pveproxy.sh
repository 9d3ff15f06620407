# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck shell=bash
#
# pveproxy next to lib-api.sh's pmxcfs + pvedaemon, for tests and benchmarks: runs after
# api_setup, forwards protected calls to that pvedaemon, listens on 127.0.0.1 with the node
# certificate it generates in the test's /etc/pve.
#
#     . lib-api.sh; . lib-pveproxy.sh
#     api_setup
#     pveproxy_start [pveproxy args...] || ...   # sets PP_PID, PP_PORT, PB (https://...:PORT)
#     trap 'pveproxy_stop; api_cleanup' EXIT
#
# Settings: $PVE_PROXY_DEFAULTS (default $TMP/default-pveproxy, written with LISTEN_IP only
# when missing), $PP_WWW (static files, default $TMP/www), log in $TMP/pp.log.

PVEPROXY=$(readlink -f "$ROOT/pveproxy/pveproxy")
PP_PID=

# free_port: a TCP port on 127.0.0.1 nobody listens on right now
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pveproxy_start() {
    [ -x "$PVEPROXY" ] || skip_all "pveproxy not built"
    local pd_port=${BASE#http://127.0.0.1:}
    pd_port=${pd_port%%/*}
    PP_PORT=$(free_port)
    PB=https://127.0.0.1:$PP_PORT
    PP_WWW=${PP_WWW:-$TMP/www}
    mkdir -p "$PP_WWW" "$TMP/proxyrun" "$TMP/log"
    chmod -R a+rX "$PP_WWW"
    chown www-data "$TMP/proxyrun"
    export PVE_PROXY_DEFAULTS=${PVE_PROXY_DEFAULTS:-$TMP/default-pveproxy}
    [ -e "$PVE_PROXY_DEFAULTS" ] || printf 'LISTEN_IP="127.0.0.1"\n' >"$PVE_PROXY_DEFAULTS"
    PVE_DAEMON_PIDFILE=$TMP/proxyrun/pveproxy.pid "$PVEPROXY" start --foreground \
        --port "$PP_PORT" --daemon-url "http://127.0.0.1:$pd_port" --www-dir "$PP_WWW" \
        --access-log "$TMP/log/access.log" "$@" >"$TMP/pp.log" 2>&1 &
    PP_PID=$!
    wait_until 30 curl -ks -o /dev/null "$PB/"
}

# pveproxy_stop: SIGTERM, then SIGKILL after 20 s; returns 1 when it had to kill
pveproxy_stop() {
    [ -n "$PP_PID" ] && kill -0 "$PP_PID" 2>/dev/null || { PP_PID=; return 0; }
    kill -TERM "$PP_PID"
    if wait_until 20 eval '! kill -0 $PP_PID 2>/dev/null'; then PP_PID=; return 0; fi
    kill -KILL "$PP_PID" 2>/dev/null
    PP_PID=
    return 1
}
