#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# pveproxy between real nodes (lib.sh: netns per node, corosync, pmxcfs in cluster mode): on each
# of 3 nodes pmxcfs, pvedaemon and pveproxy run as in production (8006 on every address of the
# node, pvedaemon on 127.0.0.1:85, pveproxy as www-data). Node 1's pveproxy creates the cluster
# CA first; every node gets its certificate signed by it. Checks: a login on node 1 is valid on
# node 3; GETs for node 3 sent to node 1 are forwarded over HTTPS (CA-checked, key pinned) and
# answered by node 3 (its own /etc/timezone, its access log); a protected POST for node 3 runs
# node 3's power command and no other; a stopped peer gives 595 at once, a cut link a 59x after
# the 30 s forward timeout, while other requests through the same proxy are still answered,
# and once node 1's .members shows node 3 offline, a 595 at once;
# PVEDisableProxy on a request that needs another hop gives 500 "proxy loop detected"; a wrong
# pinned key is refused. TAP on stdout; exit 0, 1 or 77 (skip).

# shellcheck disable=SC2016 # checks are eval strings
set -u
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
cluster_require

B=${PVE_BUILD_ROOT:-}
[ -n "$B" ] && B=$(readlink -f "$B")
PMXCFS=$B/pmxcfs/pmxcfs
PVEDAEMON=$B/pvedaemon/pvedaemon
PVEPROXY=$B/pveproxy/pveproxy
cluster_require_bins "pmxcfs, pvedaemon or pveproxy" "$PMXCFS" "$PVEDAEMON" "$PVEPROXY" \
    -- curl jq openssl
if ! getent passwd www-data >/dev/null; then
    echo "1..0 # SKIP no www-data user"
    exit 77
fi

ROOT_PASSWORD=clustersecret
# shellcheck disable=SC2034 # used in eval strings
FWD_TIMEOUT=30 # pveproxy's forward timeout (FORWARD_TIMEOUT_SEC)

# shellcheck source=lib-tap.sh
source "$here/lib-tap.sh"
BAIL_LOGS="pvedaemon pveproxy"
check_diag() { echo "code=${CODE:-} reason=${REASON:-} body=${BODY:-}"; }

# ---- per node setup ----------------------------------------------------------------------------

TZS=(- Etc/UTC Asia/Tokyo America/New_York) # a node-local fact: /etc/timezone differs per node

# root@pam with a known password through real PAM, /etc/timezone: inside the node's /etc overlay
# (its upper layer is private to the node; the host's files stay untouched).
prepare_node() {
    local i=$1
    node_root_password "$i" "$ROOT_PASSWORD" || return 1
    node_exec "$i" sh -euc '
        echo "$1" >/etc/timezone
        mkdir -p /etc/default && printf "# cluster test\n" >/etc/default/pveproxy
    ' sh "${TZS[i]}"
}

# the power command: records on the node where it runs (/var/log/pve is per node)
POWER=$CLUSTER_TMPDIR/pvet-power-$$.sh
power_log() { echo "$(node_dir "$1")/var/log/pve/power.log"; }

pd_up() { node_exec "$1" curl -s -o /dev/null --fail --max-time 5 http://127.0.0.1:85/api2/json/access/ticket; }
pp_up() {
    node_exec "$1" curl -s -o /dev/null --fail --max-time 5 --cacert /etc/pve/pve-root-ca.pem \
        "https://$(node_name "$1"):8006/api2/json/access/ticket"
}
start_api() { # i: pvedaemon, then pveproxy
    local i=$1
    node_start_daemon "$i" pvedaemon env PVE_NODE_POWER_COMMAND="$POWER" \
        "$PVEDAEMON" start --foreground || return 1
    wait_until 20 pd_up "$i" || return 1
    node_start_daemon "$i" pveproxy "$PVEPROXY" start --foreground \
        --www-dir "$CLUSTER_ROOT/www" || return 1
    wait_until 30 pp_up "$i"
}
cfs_quorate() { node_exec "$1" grep -q '"quorate": 1' /etc/pve/.members 2>/dev/null; }
all_quorate() {
    local i
    for i in "$@"; do cfs_quorate "$i" || return 1; done
}
ips_known() { # .members on node 1 lists every node's IP
    local i
    for ((i = 1; i <= CLUSTER_NODES; i++)); do
        node_exec 1 grep -q "\"$(node_name "$i")\": { \"id\": $i, \"online\": 1, \"ip\": \"$(node_ip "$i")\"" \
            /etc/pve/.members || return 1
    done
}

cluster_cleanup_hook() { rm -f "$POWER"; }

# ---- HTTP client (runs inside a node, checks the cluster CA) -------------------------------------

TICKET='' CSRF=''
# req i METHOD PATH [curl args...]: to node i's pveproxy; sets CODE, REASON, BODY, SECS
req() {
    local i=$1 method=$2 path=$3 out hdr t0
    shift 3
    local auth=()
    [ -n "$TICKET" ] && auth=(-b "PVEAuthCookie=$TICKET")
    hdr=$CLUSTER_ROOT/hdr.$BASHPID
    t0=$(cluster_now_ms)
    out=$(node_exec "$i" curl -s -X "$method" -D "$hdr" -w '\n%{http_code}' --max-time 60 \
        --cacert /etc/pve/pve-root-ca.pem "${auth[@]}" "$@" \
        "https://$(node_name "$i"):8006/api2/json$path")
    SECS=$((($(cluster_now_ms) - t0) / 1000))
    CODE=${out##*$'\n'}
    BODY=${out%$'\n'*}
    REASON=$(sed -n '1s/^HTTP\/[0-9.]* [0-9]* \(.*\)\r$/\1/p' "$hdr" 2>/dev/null)
    rm -f "$hdr"
}
jget() { printf '%s' "$BODY" | jq -r "$1 // empty" 2>/dev/null; }
csrf() { printf '%s' "CSRFPreventionToken: $CSRF"; }
access_log() { node_exec "$1" cat /var/log/pveproxy/access.log 2>/dev/null; }
# log_has i regex: node i's pveproxy access log has a matching line
# pveproxy writes its access log in batches (at most 50 ms late): checks poll for up to 2 s
log_has_now() { access_log "$1" | grep -qE "$2"; }
log_has() { wait_until 2 log_has_now "$1" "$2"; }
log_count() { access_log "$1" | grep -cE "$2"; }

# ---- cluster -----------------------------------------------------------------------------------

echo "# setting up 3 nodes"
cluster_setup 3 pve-proxy || bail "cluster setup failed"
cluster_start_corosync || bail "corosync did not form a 3 node membership"
printf '#!/bin/sh\necho "$(hostname) $*" >>/var/log/pve/power.log\n' >"$POWER"
chmod 0755 "$POWER"
mkdir -p "$CLUSTER_ROOT/www" && echo '<html>PVE</html>' >"$CLUSTER_ROOT/www/index.html"
chmod -R a+rX "$CLUSTER_ROOT/www"
for i in 1 2 3; do
    prepare_node "$i" || bail "node $i: PAM/timezone setup failed"
    node_start_daemon "$i" pmxcfs "$PMXCFS" -f || bail "node $i: pmxcfs did not start"
done
wait_until 30 all_quorate 1 2 3 || bail "pmxcfs not quorate on 3 nodes"
wait_until 10 ips_known || bail ".members on node 1 lacks node IPs"
ok "pmxcfs in cluster mode on 3 nodes, .members knows every node's IP"

# node 1 first: it creates the cluster CA (and the auth keys); the others only sign with it
start_api 1 || bail "node 1: pvedaemon/pveproxy did not come up"
ca=$(node_exec 1 cat /etc/pve/pve-root-ca.pem)
[ -n "$ca" ] || bail "node 1's pveproxy did not write the cluster CA"
start_api 2 || bail "node 2: pvedaemon/pveproxy did not come up"
start_api 3 || bail "node 3: pvedaemon/pveproxy did not come up"
check "the cluster CA written by node 1 is still the one on every node" \
    eval '[ "$(node_exec 2 cat /etc/pve/pve-root-ca.pem)" = "$ca" ] && [ "$(node_exec 3 cat /etc/pve/pve-root-ca.pem)" = "$ca" ]'
served_key() { # public key of the certificate node i serves (seen from node 1)
    node_exec 1 sh -c "openssl s_client -connect $(node_ip "$1"):8006 </dev/null 2>/dev/null |
        openssl x509 -noout -pubkey"
}
stored_key() { node_exec 1 openssl x509 -noout -pubkey -in "/etc/pve/nodes/$(node_name "$1")/pve-ssl.pem"; }
check "node 3 serves its nodes/node3/pve-ssl.pem, signed by the cluster CA" \
    eval '[ -n "$(stored_key 3)" ] && [ "$(served_key 3)" = "$(stored_key 3)" ] &&
        node_exec 1 openssl verify -CAfile /etc/pve/pve-root-ca.pem /etc/pve/nodes/node3/pve-ssl.pem >/dev/null'

# ---- login and forwarded GETs --------------------------------------------------------------------

req 1 POST /access/ticket -d username=root@pam --data-urlencode "password=$ROOT_PASSWORD"
TICKET=$(jget .data.ticket)
CSRF=$(jget .data.CSRFPreventionToken)
check "login as root@pam on node 1 through its pveproxy" [ "$CODE" = 200 -a -n "$TICKET" -a -n "$CSRF" ]
[ -n "$TICKET" ] || bail "no ticket, cannot go on"

req 1 GET /nodes/node1/time
check "GET /nodes/node1/time on node 1: node 1's own timezone" [ "$CODE" = 200 -a "$(jget .data.timezone)" = "${TZS[1]}" ]
req 1 GET /nodes/node3/time
check "GET /nodes/node3/time sent to node 1 answers with node 3's timezone" \
    [ "$CODE" = 200 -a "$(jget .data.timezone)" = "${TZS[3]}" ]
req 2 GET /nodes/node3/time
check "... and the same through node 2" [ "$CODE" = 200 -a "$(jget .data.timezone)" = "${TZS[3]}" ]
req 3 GET /nodes/node1/time
check "node 3 forwards to node 1 the other way" [ "$CODE" = 200 -a "$(jget .data.timezone)" = "${TZS[1]}" ]

# shellcheck disable=SC2034 # used in an eval string
before3=$(log_count 3 'GET /api2/json/nodes/node3/status ')
req 1 GET /nodes/node3/status
st_body=$BODY
check "GET /nodes/node3/status via node 1: 200 with node status fields" \
    [ "$CODE" = 200 -a -n "$(jget .data.pveversion)" -a -n "$(jget .data.uptime)" -a -n "$(jget .data.memory.total)" ]
req 3 GET /nodes/node3/status
check "... with the same fields as node 3 gives directly" \
    [ "$(jq -c '.data | keys' <<<"$st_body")" = "$(jget '.data | keys' | jq -c .)" ]
check "node 1's access log: the client's request, by root@pam, 200" \
    log_has 1 "^[^ ]*$(node_ip 1) - root@pam \[.*\] \"GET /api2/json/nodes/node3/status HTTP/1.1\" 200 [0-9]+$"
check "node 3's access log: the forwarded request, from node 1's address" \
    log_has 3 "^[^ ]*$(node_ip 1) - root@pam \[.*\] \"GET /api2/json/nodes/node3/status HTTP/1.1\" 200 [0-9]+$"
node3_status_logged_twice() { [ $(($(log_count 3 "GET /api2/json/nodes/node3/status ") - before3)) = 2 ]; }
check "node 3 logged two status requests (forwarded + direct), node 2 none" \
    eval 'wait_until 2 node3_status_logged_twice &&
        [ "$(log_count 2 "nodes/node3/status")" = 0 ]'

req 1 GET /nodes/node3/status -H 'Accept-Encoding: gzip' --compressed
check "a compressed answer from node 3 passes through node 1 intact" \
    [ "$CODE" = 200 -a -n "$(jget .data.pveversion)" ]

# a ticket from node 1 is accepted by node 3 directly (shared authkey)
req 3 GET /nodes/node3/time
check "node 1's ticket is valid on node 3 directly" [ "$CODE" = 200 ]

# ---- protected POST through the proxy chain: node 1 -> node 3's pveproxy -> node 3's pvedaemon -----

req 1 POST /nodes/node3/status -d command=reboot
check "POST /nodes/node3/status without CSRF token: 401" [ "$CODE" = 401 ]
check "... nothing ran anywhere" eval '[ ! -e "$(power_log 1)" ] && [ ! -e "$(power_log 2)" ] && [ ! -e "$(power_log 3)" ]'
req 1 POST /nodes/node3/status -H "$(csrf)" -d command=reboot
check "POST /nodes/node3/status command=reboot with CSRF token via node 1: 200" [ "$CODE" = 200 ]
check "the power command ran on node 3 (hostname node3, argument reboot)" \
    wait_until 5 grep -qx "node3 reboot" "$(power_log 3)"
check "... once, and not on node 1 or 2" \
    eval '[ "$(wc -l <"$(power_log 3)")" = 1 ] && [ ! -e "$(power_log 1)" ] && [ ! -e "$(power_log 2)" ]'
check "node 3's pvedaemon handled it (its access log line in node 3's pveproxy log with 200)" \
    log_has 3 "\"POST /api2/json/nodes/node3/status HTTP/1.1\" 200"
req 1 POST /nodes/node3/status -H "$(csrf)" -d command=bogus
check "bad parameter for node 3: node 3's 400 with errors passed back" \
    [ "$CODE" = 400 -a -n "$(jget .errors.command)" ]

# ---- proxy loop ------------------------------------------------------------------------------------

req 1 GET /nodes/node3/status -H 'PVEDisableProxy: true'
check "PVEDisableProxy on a request for another node: 500 proxy loop detected" \
    eval '[ "$CODE" = 500 ] && grep -q "proxy loop detected" <<<"$REASON$BODY"'
req 1 GET /nodes/node1/status -H 'PVEDisableProxy: true'
check "PVEDisableProxy on a local request: served (200)" [ "$CODE" = 200 ]
req 1 POST /nodes/node2/status -H "$(csrf)" -H 'PVEDisableProxy: true' -d command=reboot
check "PVEDisableProxy on a protected POST for node 2: 500, nothing ran on node 2" \
    eval '[ "$CODE" = 500 ] && grep -q "proxy loop detected" <<<"$REASON$BODY" && [ ! -e "$(power_log 2)" ]'

# ---- failures -------------------------------------------------------------------------------------

# node 3's pveproxy stopped: connection refused, reported at once. Node 1 and 2 hold keep-alive
# connections to it: a graceful stop closes them instead of waiting for their idle timeout.
t0=$(cluster_now_ms)
node_stop_daemon 3 pveproxy 8
rc=$?
check "node 3's pveproxy stops on SIGTERM within 5 s despite peers' keep-alive connections ($(($(cluster_now_ms) - t0)) ms)" \
    [ $rc = 0 -a $(($(cluster_now_ms) - t0)) -lt 5000 ]
req 1 GET /nodes/node3/status
check "node 3's pveproxy stopped: 595 with a message, within 5 s (${SECS}s)" \
    eval '[ "$CODE" = 595 ] && [ -n "$REASON" ] && [ "$SECS" -lt 5 ]'
diag_reason=$REASON
node_start_daemon 3 pveproxy "$PVEPROXY" start --foreground --www-dir "$CLUSTER_ROOT/www"
wait_until 30 pp_up 3 || bail "node 3: pveproxy did not restart"
req 1 GET /nodes/node3/time
check "node 3's pveproxy back: forwarding works again" [ "$CODE" = 200 -a "$(jget .data.timezone)" = "${TZS[3]}" ]
echo "# connection refused reason: $diag_reason"

# node 3's link cut: no answer at all; the forward must time out, not hang, and not block others
link_cut 3
slow_out=$CLUSTER_ROOT/slow.out
(
    req 1 GET /nodes/node3/status
    printf '%s\n%s\n%s\n' "$CODE" "$SECS" "$REASON" >"$slow_out"
) &
slow_pid=$!
sleep 2
req 1 GET /nodes/node2/time
check "while a request for cut-off node 3 waits, node 1 still forwards to node 2 (${SECS}s)" \
    [ "$CODE" = 200 -a "$(jget .data.timezone)" = "${TZS[2]}" -a "$SECS" -lt 5 ]
req 1 GET /nodes/node1/time
check "... and answers its own calls" [ "$CODE" = 200 ]
wait "$slow_pid"
{ read -r CODE && read -r SECS && read -r REASON; } <"$slow_out"
check "node 3 cut off: node 1 answers 59x with a message within the forward timeout (${SECS}s)" \
    eval '[[ $CODE == 59[5-9] ]] && [ -n "$REASON" ] && [ "$SECS" -le $((FWD_TIMEOUT + 4)) ]'
echo "# cut link: $CODE $REASON after ${SECS}s"
check "node 1's access log has the failed request with its status" \
    log_has 1 "\"GET /api2/json/nodes/node3/status HTTP/1.1\" $CODE"
# once corosync has dropped node 3, node 1 no longer waits for the timeout: 595 at once
node3_offline_on_1() { node_exec 1 cat /etc/pve/.members | jq -e '.nodelist.node3.online == 0' >/dev/null; }
wait_until 20 node3_offline_on_1 || diag "node 1's .members still shows node 3 online"
req 1 GET /nodes/node3/status
check "node 3 offline in node 1's .members: 595 naming it within 2 s (${SECS}s)" \
    eval '[ "$CODE" = 595 ] && grep -q "node .node3. is offline" <<<"$REASON" && [ "$SECS" -le 2 ]'
echo "# offline node: $CODE $REASON after ${SECS}s"

link_heal 3
wait_until 30 all_quorate 1 2 3 || bail "node 3 did not rejoin"
fwd_ok() { req 1 GET /nodes/node3/time && [ "$CODE" = 200 ] && [ "$(jget .data.timezone)" = "${TZS[3]}" ]; }
check "link healed: forwarding to node 3 works again" wait_until 40 fwd_ok

# ---- certificate pinning -------------------------------------------------------------------------
# node 3 serves a certificate that the CA signed but whose key differs from the one stored in
# nodes/node3/pve-ssl.pem: node 1 must refuse it (596), not talk to it.
pin_setup() {
    node_exec 3 sh -euc '
        d=/etc/pve/nodes/node3
        t=$(mktemp -d)
        openssl req -new -newkey rsa:2048 -nodes -keyout "$t/k" -subj /CN=node3 -out "$t/csr" 2>/dev/null
        printf "subjectAltName=DNS:node3,IP:%s\n" "$1" >"$t/ext"
        openssl x509 -req -in "$t/csr" -CA /etc/pve/pve-root-ca.pem -CAkey /etc/pve/priv/pve-root-ca.key \
            -CAcreateserial -CAserial "$t/srl" -days 2 -extfile "$t/ext" -out "$t/c" 2>/dev/null
        cp "$t/c" "$d/pveproxy-ssl.pem" && cp "$t/k" "$d/pveproxy-ssl.key"
        rm -rf "$t"
    ' sh "$(node_ip 3)"
}
# the new certificate is published in nodes/node3/pveproxy-ssl.pem: node 1 pins that one, so it
# still works; then node 1 is made to see a different key than the one served
if pin_setup; then
    node_kill_daemon 3 pveproxy TERM
    wait_until 20 ! node_daemon_running 3 pveproxy
    node_start_daemon 3 pveproxy "$PVEPROXY" start --foreground --www-dir "$CLUSTER_ROOT/www"
    wait_until 30 pp_up 3
    check "node 3 with a custom pveproxy-ssl.pem: node 1 pins its key, forwarding works" wait_until 10 fwd_ok
    # publish a different key than the one node 3 serves (node 3 keeps its loaded certificate)
    node_exec 3 sh -c 'cp /etc/pve/nodes/node3/pve-ssl.pem /etc/pve/nodes/node3/pveproxy-ssl.pem'
    req 1 GET /nodes/node3/time
    check "served key differs from the published one: 596, nothing forwarded ($CODE $REASON)" \
        eval '[ "$CODE" = 596 ] && [ -n "$REASON" ]'
else
    not_ok "custom certificate for node 3 could not be made"
fi

for i in 1 2 3; do
    node_daemon_running "$i" pveproxy && node_daemon_running "$i" pvedaemon && continue
    not_ok "node $i: pvedaemon or pveproxy died"
done
# a clean stop; under ASan/UBSan the daemons (and pveproxy's workers) report into their logs
stopped=1
for i in 1 2 3; do
    node_stop_daemon "$i" pveproxy 8 || stopped=0
    node_stop_daemon "$i" pvedaemon 8 || stopped=0
done
check "pveproxy and pvedaemon stop on SIGTERM on every node" [ $stopped = 1 ]
sanitizer_reports() {
    local i
    for i in 1 2 3; do
        grep -hE 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
            "$(node_daemon_log "$i" pveproxy)" "$(node_daemon_log "$i" pvedaemon)" 2>/dev/null
    done
}
check "no sanitizer reports in the daemon logs" eval '[ -z "$(sanitizer_reports)" ]'
[ $failed = 0 ] || daemon_logs
finish
