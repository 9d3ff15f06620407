#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# VNC console through the API: vncproxy (PVEVNC ticket, port, vncproxy task), vncwebsocket on
# pveproxy upgraded to a websocket relaying the real QEMU's RFB stream, refused tickets (bad,
# expired, other port) without a relay, the JSON answer without Upgrade, unmasked client frames,
# the task ending OK after the client leaves and failing when nobody connects, /access/vncticket.
set -u
API_GUESTS=1
. "$(dirname "$0")/lib-api.sh"
. "$(dirname "$0")/lib-guest-image.sh"
. "$(dirname "$0")/lib-pveproxy.sh"

command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -e /dev/net/tun ] || skip_all "no /dev/net/tun"
WS=$(dirname "$0")/ws-client.py

api_setup
guest_cleanup() {
    local p
    for p in /proc/[0-9]*; do
        { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "^/usr/bin/qemu-system-x86_64 .*file=$TMP/" &&
            kill -KILL "${p#/proc/}" 2>/dev/null
    done
    pveproxy_stop
    api_cleanup
}
trap guest_cleanup EXIT
pveproxy_start || not_ok "pveproxy starts" "$(cat "$TMP/pp.log")"
login root@pam "$ROOT_PASSWORD"

VZ=$TMP/vz
mkdir -p "$VZ/images/100"
printf 'dir: vmstore\n\tpath %s\n\tcontent images,iso\n' "$VZ" >"$MNT/storage.cfg"
guest_image_hang "$VZ/images/100/vm-100-disk-0.raw" 1M
api POST "/nodes/$NODE/qemu" -d vmid=100 -d kvm=0 -d memory=64 --data-urlencode "scsi0=vmstore:100/vm-100-disk-0.raw,size=1M"
api_wait_task "$(jget .data)"
api POST "/nodes/$NODE/qemu/100/status/start"
api_wait_task "$(jget .data)"
check "VM 100 runs with its VNC socket" eval '[ "$TASK_EXIT" = OK ] && [ -S /run/qemu-server/100.vnc ]'

# ws QUERY MODE: websocket to vncwebsocket through pveproxy
ws() { python3 "$WS" 127.0.0.1 "$PP_PORT" "/api2/json/nodes/$NODE/qemu/100/vncwebsocket?$1" "$TICKET" "$2" 2>&1; }
task_status() { api GET "/nodes/$NODE/tasks/$1/status" && jget .data.status; }
sign() { # sign TEXT: base64 SHA-1 RSA signature with the cluster authkey
    printf '%s' "$1" | openssl dgst -sha1 -sign "$MNT/priv/authkey.key" | base64 -w0
}

# ---- vncproxy ----------------------------------------------------------------------------------
api POST "/nodes/$NODE/qemu/100/vncproxy" -d websocket=1
PORT=$(jget .data.port) VT=$(jget .data.ticket) UPID=$(jget .data.upid)
check "vncproxy: 200 with user, ticket, cert, port, upid" eval '[ "$CODE" = 200 ] && [ "$(jget .data.user)" = root@pam ] && matches "$VT" "PVEVNC:????????::*" && matches "$(jget .data.cert)" "*BEGIN CERTIFICATE*" && matches "$UPID" "UPID:$NODE:*:vncproxy:100:root@pam:"'
check "vncproxy: port in 5900-5999 and listening on 127.0.0.1" eval '[ "$PORT" -ge 5900 ] && [ "$PORT" -le 5999 ] && ss -ltn | grep -q "127.0.0.1:$PORT "'
TS=${VT:7:8}
check "ticket is signed over user:/vms/100:port (not in clear)" eval 'printf "%s" "PVEVNC:$TS:root@pam:/vms/100:$PORT" | openssl dgst -sha1 -verify "$MNT/authkey.pub" -signature <(printf "%s" "${VT#*::}" | base64 -d) >/dev/null'
ENC=$(printf '%s' "$VT" | jq -sRr @uri)

# refused tickets: nothing relayed, the task keeps waiting
OUT=$(ws "port=$PORT&vncticket=PVEVNC:00000000::AAAA" rfb)
check "garbage ticket: 403, no upgrade" [ "$(head -1 <<<"$OUT")" = "STATUS 403" ]
OLD=$(printf '%08X' $(($(date +%s) - 60)))
EXP=$(printf '%s' "PVEVNC:$OLD::$(sign "PVEVNC:$OLD:root@pam:/vms/100:$PORT")" | jq -sRr @uri)
OUT=$(ws "port=$PORT&vncticket=$EXP" rfb)
check "correctly signed but 60 s old ticket: 403" [ "$(head -1 <<<"$OUT")" = "STATUS 403" ]
OTHER=$((PORT == 5999 ? 5998 : PORT + 1))
OUT=$(ws "port=$OTHER&vncticket=$ENC" rfb)
check "ticket for another port: 403" [ "$(head -1 <<<"$OUT")" = "STATUS 403" ]
check "after refusals the vncproxy task still waits for its client" [ "$(task_status "$UPID")" = running ]
out=$(curl -ks -b "PVEAuthCookie=$TICKET" "$PB/api2/json/nodes/$NODE/qemu/100/vncwebsocket?port=$PORT&vncticket=$ENC")
check "GET without Upgrade: JSON {port}" [ "$(jq -r .data.port <<<"$out")" = "$PORT" ]
out=$(curl -ks -o /dev/null -w '%{http_code}' -b "PVEAuthCookie=$TICKET" "$PB/api2/json/nodes/$NODE/qemu/555/vncwebsocket?port=$PORT&vncticket=$ENC")
check "vncwebsocket for a VM that does not exist: 500" [ "$out" = 500 ]
api POST /access/vncticket -d authid=root@pam --data-urlencode "vncticket=$VT" -d path=/vms/100 -d privs=VM.Console -d port="$PORT"
check "/access/vncticket: valid ticket and privs -> 200 null" eval '[ "$CODE" = 200 ] && [ "$(jq -c .data <<<"$BODY")" = null ]'
api POST /access/vncticket -d authid=root@pam --data-urlencode "vncticket=$VT" -d path=/vms/101 -d privs=VM.Console -d port="$PORT"
check "/access/vncticket: other path -> 403" [ "$CODE" = 403 ]

# ---- the relay ---------------------------------------------------------------------------------
OUT=$(ws "port=$PORT&vncticket=$ENC" rfb)
check "websocket: 101 with Sec-WebSocket-Accept and protocol binary" eval 'grep -qx "STATUS 101" <<<"$OUT" && grep -qx "ACCEPT ok" <<<"$OUT" && grep -qx "PROTO binary" <<<"$OUT"'
check "QEMU's RFB banner arrives through pveproxy" grep -qx "BANNER RFB 003.008" <<<"$OUT"
check "QEMU answers the client's version (security types)" grep -q "^REPLY [1-9]" <<<"$OUT"
check "ping gets a pong, close gets a close" eval 'grep -qx "PONG hi" <<<"$OUT" && grep -qx "CLOSE 1000" <<<"$OUT"'
[ -n "${VERBOSE:-}" ] && echo "$OUT" | sed 's/^/# /'
api_wait_task "$UPID" 15
check "vncproxy task ends OK after the client disconnects" [ "$TASK_EXIT" = OK ]
OUT=$(ws "port=$PORT&vncticket=$ENC" rfb)
check "the port is single use: second connection fails" eval '! grep -q "^BANNER" <<<"$OUT"'

# ---- unmasked client frames --------------------------------------------------------------------
api POST "/nodes/$NODE/qemu/100/vncproxy" -d websocket=1
P2=$(jget .data.port) U2=$(jget .data.upid) T2=$(printf '%s' "$(jget .data.ticket)" | jq -sRr @uri)
OUT=$(ws "port=$P2&vncticket=$T2" unmasked)
check "unmasked client frame: close 1002 and the connection ends" eval 'grep -qx "STATUS 101" <<<"$OUT" && grep -qx "CLOSE 1002" <<<"$OUT" && grep -q "^EOF" <<<"$OUT"'
api_wait_task "$U2" 15
check "its task ends too" [ "$TASK_EXIT" = OK ]

# ---- nobody connects ---------------------------------------------------------------------------
api POST "/nodes/$NODE/qemu/100/vncproxy" -d websocket=1
U3=$(jget .data.upid)
api_wait_task "$U3" 20
check "vncproxy without a client fails after the timeout" matches "$TASK_EXIT" "*connection timed out*"

# ---- qm vncproxy: the VNC socket on stdin/stdout -----------------------------------------------
QM=$(readlink -f "$ROOT/qemu-server/qm")
check "qm vncproxy 100 relays the RFB banner to stdout" eval '[ "$( (sleep 1) | timeout 10 "$QM" vncproxy 100 | head -c 12)" = "RFB 003.008" ]'
check "qm vncproxy of a VM that does not run fails" eval '! timeout 10 "$QM" vncproxy 555 </dev/null 2>/dev/null'

# ---- pveproxy stops with a console open ----------------------------------------------------------
api POST "/nodes/$NODE/qemu/100/vncproxy" -d websocket=1
P4=$(jget .data.port) U4=$(jget .data.upid) T4=$(printf '%s' "$(jget .data.ticket)" | jq -sRr @uri)
ws "port=$P4&vncticket=$T4" hold >"$TMP/hold.out" &
HOLD=$!
wait_until 10 grep -q "^BANNER RFB" "$TMP/hold.out"
check "a held console shows the banner" grep -q "^BANNER RFB 003.008" "$TMP/hold.out"
pveproxy_stop
check "pveproxy stops with an open console (no SIGKILL needed)" [ $? = 0 ]
wait "$HOLD"
check "the client sees its connection end" grep -q "^EOF" "$TMP/hold.out"
api_wait_task "$U4" 15
check "the task of that console ends OK" [ "$TASK_EXIT" = OK ]

# ---- permissions and bad input -----------------------------------------------------------------
add_pve_user audit@pve secret123 PVEAuditor /
login audit@pve secret123
api POST "/nodes/$NODE/qemu/100/vncproxy" -d websocket=1
check "vncproxy without VM.Console: 403" [ "$CODE" = 403 ]
login root@pam "$ROOT_PASSWORD"
api POST "/nodes/$NODE/qemu/100/vncproxy" -d websocket=maybe
check "vncproxy with a bad boolean: 400" [ "$CODE" = 400 -a -n "$(jget .errors.websocket)" ]
api POST "/nodes/$NODE/qemu/999/vncproxy"
check "vncproxy of a missing VM: 500 config does not exist" eval '[ "$CODE" = 500 ] && matches "$(jget .message)" "*does not exist*"'

api_finish
