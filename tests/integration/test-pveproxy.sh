#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# pveproxy over real HTTPS with curl, in front of pvedaemon and a local-mode pmxcfs: generated
# certificates, local and forwarded (protected) calls, bad auth, CSRF, the redirect of
# plaintext requests, compression, static files and traversal attempts, the host ACL after a
# reload, the access log, and the privilege drop (www-data cannot read /etc/pve/priv).
# TAP on stdout.

. "$(dirname "$0")/lib-api.sh"
. "$(dirname "$0")/lib-pveproxy.sh"
api_setup
mount -t tmpfs -o size=64m tmpfs /var/tmp # namespace-private upload spool

mkdir -p "$TMP/www/js"
echo '<html>PVE UI</html>' >"$TMP/www/index.html"
printf 'var x = 1;\n%.0s' $(seq 200) >"$TMP/www/js/app.js"
ln -s /etc/passwd "$TMP/www/js/passwd.js"
export PVE_PROXY_DEFAULTS=$TMP/default-pveproxy
printf '# test settings\nLISTEN_IP="127.0.0.1"\n' >"$PVE_PROXY_DEFAULTS"
trap 'pveproxy_stop; api_cleanup' EXIT

if pveproxy_start; then ok "pveproxy serves HTTPS"; else
    not_ok "pveproxy serves HTTPS" "$(cat "$TMP/pp.log")"; api_finish
fi
pp_port=$PP_PORT
pp_pid=$PP_PID

check "cluster CA and node certificate generated" \
    bash -c "[ -s '$MNT/pve-root-ca.pem' ] && [ -s '$MNT/priv/pve-root-ca.key' ] && [ -s '$MNT/nodes/$NODE/pve-ssl.pem' ]"
check "the served certificate verifies against the cluster CA" \
    curl -s -o /dev/null --cacert "$MNT/pve-root-ca.pem" --resolve "$NODE:$pp_port:127.0.0.1" "https://$NODE:$pp_port/"
# handshakes: the RSA signatures of the server key are made by OpenSSL (tls-credentials.c);
# a wrong signature or padding fails the client's verification
hs() {
    openssl s_client -connect "127.0.0.1:$pp_port" -servername "$NODE" \
        -CAfile "$MNT/pve-root-ca.pem" -verify_return_error "$@" </dev/null 2>&1
}
hs_ok() { grep -q 'Verify return code: 0 (ok)' <<<"$1" && grep -q "^Peer signature type: $2\$" <<<"$1"; }
out=$(hs -tls1_3)
check "TLS 1.3 handshake, RSA-PSS signature verifies" hs_ok "$out" RSA-PSS
check "TLS 1.3 key exchange on the client's X25519 share (no HelloRetryRequest to P-256)" \
    grep -q '^Server Temp Key: X25519' <<<"$out"
out=$(hs -tls1_3 -groups P-384)
check "a P-384-only client is served" grep -q '^Server Temp Key: ECDH, secp384r1' <<<"$out"
out=$(hs -tls1_2 -sigalgs RSA+SHA256)
check "TLS 1.2 handshake, PKCS#1 v1.5 SHA-256 signature verifies" hs_ok "$out" RSA
out=$(hs -tls1_2 -sigalgs RSA+SHA512)
check "TLS 1.2 handshake, PKCS#1 v1.5 SHA-512 signature verifies" hs_ok "$out" RSA
out=$(hs -tls1_2 -sigalgs rsa_pss_rsae_sha384)
check "TLS 1.2 handshake, RSA-PSS (rsae) SHA-384 signature verifies" hs_ok "$out" RSA-PSS
# session resumption (tickets): the key comes from the supervisor, so every worker resumes
# what another one started, also the workers started by a reload (checked further down)
tls_get() { printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect "127.0.0.1:$pp_port" -ign_eof "$@" 2>&1; }
for v in tls1_3 tls1_2; do
    tls_get -$v -sess_out "$TMP/sess-$v" >/dev/null
    resumed=0 # (not n: the TAP counter)
    for _ in 1 2 3 4 5 6; do
        tls_get -$v -sess_in "$TMP/sess-$v" | grep -q '^Reused,' && resumed=$((resumed + 1))
    done
    check "$v: 6 of 6 new connections resume the session (any worker)" [ $resumed = 6 ]
done
st=$(PVE_DAEMON_PIDFILE=$TMP/proxyrun/pveproxy.pid "$PVEPROXY" status)
check "pveproxy status: running" [ "$st" = running ]

# privilege drop
workers=$(ps --ppid "$pp_pid" -o pid= | tr -d ' ')
uids=$(for w in $pp_pid $workers; do awk '/^Uid:/ {print $2}' "/proc/$w/status"; done | sort -u)
check "supervisor and workers run as www-data" [ "$uids" = "$(id -u www-data)" ]
# no MAX_WORKERS in the settings: one worker per CPU, 2 to 3
ncpu=$(nproc)
want=$((ncpu < 2 ? 2 : ncpu > 3 ? 3 : ncpu))
check "MAX_WORKERS unset: $want workers on $ncpu CPUs" [ "$(wc -w <<<"$workers")" = "$want" ]
if setpriv --reuid=www-data --regid=www-data --init-groups cat "$MNT/priv/authkey.key" >/dev/null 2>&1; then
    not_ok "www-data cannot read /etc/pve/priv"
else
    ok "www-data cannot read /etc/pve/priv"
fi

pcurl() { curl -ks -w '\n%{http_code}' "$@"; }
split() { CODE=${1##*$'\n'}; BODY=${1%$'\n'*}; }

t0=$SECONDS
split "$(pcurl "$PB/api2/json/version")"
check "no ticket: 401 after >= 3 s" [ "$CODE" = 401 -a $((SECONDS - t0)) -ge 2 ]

split "$(pcurl -d username=root@pam --data-urlencode "password=$ROOT_PASSWORD" "$PB/api2/json/access/ticket")"
TICKET=$(jget .data.ticket)
CSRF=$(jget .data.CSRFPreventionToken)
check "login through pveproxy (protected call forwarded to pvedaemon)" [ "$CODE" = 200 -a -n "$TICKET" ]
grep -q "successful auth for user 'root@pam'" "$TMP/pd.log"
check "pvedaemon handled the login" [ $? = 0 ]

# forwarded calls must not wait for a timer: 20 on one connection (sd-event's default timer
# slack of 250 ms once delayed the start of every forwarded request by up to that)
t0=$(date +%s%N)
n200=$(curl -ks -w '\n%{http_code}\n' -b "PVEAuthCookie=$TICKET" \
    $(for _ in $(seq 20); do echo "$PB/api2/json/nodes/$NODE/hosts"; done) | grep -c '^200$')
ms=$((($(date +%s%N) - t0) / 1000000))
check "20 forwarded GETs (protected) on one connection: all 200 within 1.5 s (${ms} ms)" \
    [ "$n200" = 20 -a "$ms" -lt 1500 ]

split "$(pcurl -b "PVEAuthCookie=$TICKET" "$PB/api2/json/version")"
check "GET /version with the ticket: 200" [ "$CODE" = 200 -a -n "$(jget .data.version)" ]

split "$(pcurl -b "PVEAuthCookie=garbage" "$PB/api2/json/version")"
check "bad ticket: 401" [ "$CODE" = 401 ]

# a modifying call: without CSRF token 401, with it the call goes through
split "$(pcurl -X POST -b "PVEAuthCookie=$TICKET" --data-urlencode "password=$TICKET" -d username=root@pam "$PB/api2/json/access/ticket")"
check "world call without CSRF token is fine" [ "$CODE" = 200 ]
u="$PB/api2/json/nodes/$NODE/status"
out=$(curl -ks -i -X POST -b "PVEAuthCookie=$TICKET" -d command=reboot "$u")
check "POST without CSRF token: 401 invalid csrf token" grep -q '^HTTP/1.1 401 Permission denied - invalid csrf token' <<<"$out"
out=$(curl -ks -i -X POST -b "PVEAuthCookie=$TICKET" -H "CSRFPreventionToken: 00000000:AAAA" -d command=reboot "$u")
check "POST with a wrong CSRF token: 401" grep -q '^HTTP/1.1 401' <<<"$out"
check "nothing reached the power command" [ ! -s "$POWER_LOG" ]
out=$(curl -ks -i -X POST -b "PVEAuthCookie=$TICKET" -H "CSRFPreventionToken: $CSRF" -d command=reboot "$u")
check "POST with the CSRF token runs (forwarded to pvedaemon)" \
    bash -c 'grep -q "^HTTP/1.1 200" <<<"$1" && grep -qx reboot "$2"' _ "$out" "$POWER_LOG"

# plaintext on the TLS port
out=$(curl -s -i "http://127.0.0.1:$pp_port/api2/json/version?x=1")
check "plaintext GET: 301 to https" \
    bash -c 'grep -q "^HTTP/1.1 301" <<<"$1" && grep -qi "^Location: https://127.0.0.1:$2/api2/json/version?x=1" <<<"$1"' _ "$out" "$pp_port"
out=$(curl -s -i -X POST -d a=b "http://127.0.0.1:$pp_port/api2/json/version")
check "plaintext POST: 308" grep -q '^HTTP/1.1 308' <<<"$out"

# compression
hdr=$(curl -ks -o "$TMP/openapi.gz" -D - -H 'Accept-Encoding: gzip' "$PB/api2/openapi.json")
check "gzip when accepted" bash -c 'grep -qi "^Content-Encoding: gzip" <<<"$1" && gzip -t "$2"' _ "$hdr" "$TMP/openapi.gz"
hdr=$(curl -ks -o /dev/null -D - "$PB/api2/openapi.json")
check "no compression when not accepted" bash -c '! grep -qi "^Content-Encoding" <<<"$1"' _ "$hdr"

# static files
split "$(pcurl "$PB/")"
check "index page" [ "$CODE" = 200 -a "${BODY%$'\n'}" = '<html>PVE UI</html>' ]
split "$(pcurl "$PB/js/app.js")"
check "static file" [ "$CODE" = 200 -a "${BODY:0:10}" = 'var x = 1;' ]
lm=$(curl -ks -D - -o /dev/null "$PB/js/app.js" | sed -n 's/^Last-Modified: //Ip' | tr -d '\r')
code=$(curl -ks -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" "$PB/js/app.js")
check "If-Modified-Since: 304" [ "$code" = 304 ]
for p in '/../../../etc/passwd' '/js/../../../../etc/passwd' '/%2e%2e/%2e%2e/etc/passwd' '/js/passwd.js' '/.hidden' '/js//app.js'; do
    split "$(pcurl --path-as-is "$PB$p")"
    if [ "$CODE" != 200 ] && ! grep -q 'root:' <<<"$BODY"; then ok "traversal refused: $p ($CODE)"; else
        not_ok "traversal refused: $p" "code=$CODE"
    fi
done

# upload through pveproxy: it spools the file itself (as www-data, under a private /var/tmp
# here) and forwards the form fields with tmpfilename to pvedaemon, which imports the file
mkdir -p "$TMP/store"
printf 'dir: upstore\n\tpath %s\n\tcontent iso\n\n' "$TMP/store" >>"$MNT/storage.cfg"
head -c 2000000 /dev/urandom >"$TMP/up.iso"
sha=$(sha256sum "$TMP/up.iso" | cut -d' ' -f1)
split "$(pcurl -b "PVEAuthCookie=$TICKET" -F content=iso -F checksum-algorithm=sha256 -F "checksum=$sha" \
    -F "filename=@$TMP/up.iso" "$PB/api2/json/nodes/$NODE/storage/upstore/upload")"
upid=$(jget .data)
check "upload through pveproxy answers an imgcopy UPID" [ "$CODE" = 200 -a "$(cut -d: -f6 <<<"$upid")" = imgcopy ]
uplog=$PVE_TASK_DIR/$(cut -d: -f5 <<<"$upid" | tail -c 2)/$upid
wait_until 20 grep -q '^TASK ' "$uplog" 2>/dev/null
check "upload task OK and the file arrived intact" \
    bash -c '[ "$(tail -n1 "$1")" = "TASK OK" ] && cmp -s "$2" "$3"' _ "$uplog" "$TMP/up.iso" "$TMP/store/template/iso/up.iso"
check "no spooled upload left in /var/tmp" bash -c '! ls /var/tmp/pveupload-* >/dev/null 2>&1'

# a download: pvedaemon names the file (pvestreamfile), pveproxy streams it as www-data
code=$(curl -ks -G -b "PVEAuthCookie=$TICKET" -d download=1 -o "$TMP/dl.body" -D "$TMP/dl.headers" \
    -w '%{http_code}' "$PB/api2/json/nodes/$NODE/tasks/$upid/log")
check "task log download through pveproxy: 200, the log byte for byte" \
    eval '[ "$code" = 200 ] && cmp -s "$TMP/dl.body" "$uplog"'
check "... as text/plain, without the pvestreamfile header" \
    eval 'grep -qi "^Content-Type: text/plain" "$TMP/dl.headers" && ! grep -qi "^pvestreamfile" "$TMP/dl.headers"'

# cluster join client over HTTPS (pvecm add): the server is pinned by its certificate's
# fingerprint, and nothing (no password) is sent before it matched
PVECM=$(readlink -f "$ROOT/pmxcfs/pvecm")
fp=$(openssl x509 -noout -fingerprint -sha256 -in "$MNT/nodes/$NODE/pve-ssl.pem" | cut -d= -f2)
mkdir -p "$TMP/corosync"
joinauth() { grep -c 'auth' "$TMP/pd.log"; }
before=$(joinauth)
out=$(PVE_JOIN_PASSWORD=$ROOT_PASSWORD PVE_COROSYNC_CONF=$TMP/corosync/corosync.conf \
    PVE_COROSYNC_AUTHKEY=$TMP/corosync/authkey PVE_SYSTEMCTL=/bin/true \
    "$PVECM" add 127.0.0.1 --url "$PB" --fingerprint "00:${fp:3}" --link0 127.0.0.1 2>&1)
check "pvecm add over HTTPS: a wrong fingerprint stops it before any login" \
    bash -c 'grep -q "fingerprint mismatch" <<<"$1" && [ "$2" = "$3" ]' _ "$out" "$before" "$(joinauth)"
out=$(PVE_JOIN_PASSWORD=$ROOT_PASSWORD PVE_COROSYNC_CONF=$TMP/corosync/corosync.conf \
    PVE_COROSYNC_AUTHKEY=$TMP/corosync/authkey PVE_SYSTEMCTL=/bin/true \
    "$PVECM" add 127.0.0.1 --url "$PB" --link0 127.0.0.1 2>&1)
check "pvecm add over HTTPS without a fingerprint refuses and names the server's" \
    bash -c 'grep -q "no fingerprint given" <<<"$1" && grep -qi "$2" <<<"$1" && [ "$3" = "$4" ]' _ "$out" "$fp" "$before" "$(joinauth)"
out=$(PVE_JOIN_PASSWORD=$ROOT_PASSWORD PVE_COROSYNC_CONF=$TMP/corosync/corosync.conf \
    PVE_COROSYNC_AUTHKEY=$TMP/corosync/authkey PVE_SYSTEMCTL=/bin/true \
    "$PVECM" add 127.0.0.1 --url "$PB" --fingerprint "$fp" --link0 127.0.0.1 2>&1)
check "pvecm add over HTTPS with the right fingerprint logs in (the standalone node then refuses)" \
    bash -c 'grep -q "^Login succeeded" <<<"$1" && ! grep -q "fingerprint" <<<"$1"' _ "$out"
out=$(PVE_JOIN_PASSWORD=$ROOT_PASSWORD PVE_COROSYNC_CONF=$TMP/corosync/corosync.conf \
    PVE_COROSYNC_AUTHKEY=$TMP/corosync/authkey PVE_SYSTEMCTL=/bin/true \
    "$PVECM" add 127.0.0.2 --link0 127.0.0.1 2>&1)
check "pvecm add <host> without --url goes to https://<host>:8006, never plain HTTP" \
    bash -c 'grep -q "(https://127.0.0.2:8006)" <<<"$1" && ! grep -q "http://" <<<"$1"' _ "$out"

# access log
check "access log line in upstream format (written within 50 ms)" wait_until 2 \
    grep -qE '^127\.0\.0\.1 - root@pam \[[0-9]{2}/[0-9]{2}/[0-9]{4}:[0-9:]{8} [+-][0-9]{4}\] "GET /api2/json/version HTTP/1\.1" 200 [0-9]+$' "$TMP/log/access.log"

# host ACL, applied by a reload
printf 'LISTEN_IP="127.0.0.1"\nDENY_FROM="127.0.0.0/8"\nPOLICY="allow"\n' >"$PVE_PROXY_DEFAULTS"
kill -HUP "$pp_pid"
denied() {
    ! curl -ks -o /dev/null --max-time 2 "$PB/api2/json/version" &&
        grep -qE '^127\.0\.0\.1 - - \[.*\] "-" 403 -$' "$TMP/log/access.log"
}
check "after reload, a denied client is disconnected and logged as 403" wait_until 15 denied
printf 'LISTEN_IP="127.0.0.1"\nALLOW_FROM="127.0.0.1"\nDENY_FROM="all"\n' >"$PVE_PROXY_DEFAULTS"
kill -HUP "$pp_pid"
allowed() { [ "$(curl -ks -o /dev/null -w '%{http_code}' -b "PVEAuthCookie=$TICKET" "$PB/api2/json/version")" = 200 ]; }
check "ALLOW_FROM match wins over DENY_FROM all" wait_until 15 allowed
check "after reloads the new workers resume a session from before them" \
    bash -c 'tls_out=$(printf "GET / HTTP/1.0\r\n\r\n" | openssl s_client -connect "127.0.0.1:$1" -tls1_3 -ign_eof -sess_in "$2" 2>&1); grep -q "^Reused," <<<"$tls_out"' _ "$pp_port" "$TMP/sess-tls1_3"

# pveproxy-ssl.pem/.key override the node certificate on reload; a key that does not belong
# to the certificate is refused and the running workers keep what they serve
served_fp() {
    openssl s_client -connect "127.0.0.1:$pp_port" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 | cut -d= -f2
}
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=custom.example -days 2 \
    -keyout "$TMP/custom.key" -out "$TMP/custom.pem" >/dev/null 2>&1
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=other.example -days 2 \
    -keyout "$TMP/other.key" -out "$TMP/other.pem" >/dev/null 2>&1
custom_fp=$(openssl x509 -noout -fingerprint -sha256 -in "$TMP/custom.pem" | cut -d= -f2)
cp "$TMP/custom.pem" "$MNT/nodes/$NODE/pveproxy-ssl.pem"
cp "$TMP/custom.key" "$MNT/nodes/$NODE/pveproxy-ssl.key"
kill -HUP "$pp_pid"
check "after reload the pveproxy-ssl.pem override is served" \
    wait_until 15 eval '[ "$(served_fp)" = "$custom_fp" ]'
cp "$TMP/other.key" "$MNT/nodes/$NODE/pveproxy-ssl.key"
kill -HUP "$pp_pid"
check "a key not belonging to the override is refused on reload, with the reason" \
    wait_until 15 grep -q "unusable certificate of node '$NODE' - the private key does not belong to the certificate" "$TMP/pp.log"
check "the running workers keep serving the override" [ "$(served_fp)" = "$custom_fp" ]
rm -f "$MNT/nodes/$NODE/pveproxy-ssl.pem" "$MNT/nodes/$NODE/pveproxy-ssl.key"
kill -HUP "$pp_pid"
check "without the override the node certificate is served again" \
    wait_until 15 eval '[ "$(served_fp)" = "$fp" ]'

printf 'COMPRESSION=maybe\n' >"$PVE_PROXY_DEFAULTS"
out=$("$PVEPROXY" --check 2>&1); rc=$?
check "--check names the bad line" bash -c '[ "$1" != 0 ] && grep -q "default-pveproxy line 1: COMPRESSION" <<<"$2"' _ "$rc" "$out"

if pveproxy_stop; then ok "pveproxy stops on SIGTERM"; else not_ok "pveproxy stops on SIGTERM"; fi

# certificates that cannot be updated (here an unreadable CA; in a cluster, no quorum) do not
# keep pveproxy down while a node certificate exists: it is served, with a warning
printf 'COMPRESSION=1\nLISTEN_IP="127.0.0.1"\n' >"$PVE_PROXY_DEFAULTS"
cp "$MNT/pve-root-ca.pem" "$TMP/ca.pem"
echo garbage >"$MNT/pve-root-ca.pem"
pveproxy_start
pp_port=$PP_PORT
check "with a broken CA, pveproxy starts and serves the existing node certificate" \
    eval '[ "$(served_fp)" = "$fp" ]'
check "... and warns that it could not update the certificates" \
    grep -q "unable to update certificates, trying the existing ones: '.*' or '.*' is not a valid PEM file" "$TMP/pp.log"
pveproxy_stop
rm "$MNT/nodes/$NODE/pve-ssl.pem"
PVE_DAEMON_PIDFILE=$TMP/proxyrun/pveproxy.pid "$PVEPROXY" start --foreground --port "$(free_port)" \
    --www-dir "$TMP/www" >"$TMP/pp2.log" 2>&1
rc=$?
check "with a broken CA and no node certificate, start fails naming the CA" \
    bash -c '[ "$1" != 0 ] && grep -q "unable to set up certificates: .* is not a valid PEM file" "$2"' _ "$rc" "$TMP/pp2.log"
cp "$TMP/ca.pem" "$MNT/pve-root-ca.pem"
[ $failed = 0 ] || { echo "# pveproxy log:"; sed 's/^/# /' "$TMP/pp.log"; }
api_finish
