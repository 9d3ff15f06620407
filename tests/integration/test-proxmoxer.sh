#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Debian's unmodified python3-proxmoxer (1.2.0) against pvedaemon: login, nodes, version,
# tasks, an unknown path, an API token, cluster resources, a dir storage written and read
# back, a service task followed to its end (proxmoxer-client.py through lib-proxmoxer.sh).
# proxmoxer only speaks HTTPS, so socat terminates TLS on loopback with a throwaway
# self-signed certificate and forwards to pvedaemon's plain port; the client uses
# verify_ssl=False. test-proxmoxer-pveproxy.sh runs the same checks through pveproxy.
# TAP on stdout.

. "$(dirname "$0")/lib-api.sh"
. "$(dirname "$0")/lib-checks.sh"
. "$(dirname "$0")/lib-proxmoxer.sh"

command -v socat >/dev/null || skip_all "socat missing"
proxmoxer_prepare
api_setup

tls_cleanup() {
    local c
    [ -n "${SOCAT_PID:-}" ] || return 0
    kill -TERM "$SOCAT_PID" 2>/dev/null
    wait "$SOCAT_PID" 2>/dev/null
    # connection children of the forking listener, by pid
    for c in $(ps -o pid= --ppid "$SOCAT_PID" 2>/dev/null); do kill -TERM "$c" 2>/dev/null; done
    SOCAT_PID=
}
trap 'tls_cleanup; proxmoxer_cleanup; api_cleanup' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$NODE" \
    -keyout "$TMP/tls.key" -out "$TMP/tls.crt" 2>/dev/null
cat "$TMP/tls.key" "$TMP/tls.crt" >"$TMP/tls.pem"
pd_port=${BASE#http://127.0.0.1:}
pd_port=${pd_port%%/*}
tls_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
socat "OPENSSL-LISTEN:$tls_port,bind=127.0.0.1,reuseaddr,fork,cert=$TMP/tls.pem,verify=0" \
    "TCP:127.0.0.1:$pd_port" 2>"$TMP/socat.log" &
SOCAT_PID=$!
tls_up() { curl -sk -o /dev/null "https://127.0.0.1:$tls_port/api2/json/version"; }
if ! wait_until 10 tls_up; then
    not_ok "TLS terminator listens" "$(cat "$TMP/socat.log")"
    api_finish
fi

proxmoxer_run "$tls_port"

api_finish
