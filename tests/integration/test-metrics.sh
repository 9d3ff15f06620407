#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# pvestatd's read side beyond rrddata: the PNG graphs of GET /nodes/{node}/rrd,
# .../qemu/{vmid}/rrd, .../lxc/{vmid}/rrd and .../storage/{storage}/rrd (upstream returns the
# PNG bytes in `filename`; checked: PNG signature, IHDR 800x200, bad ds/timeframe -> 400,
# missing privilege -> 403) and the Prometheus text endpoint GET /api2/prometheus/metrics
# (401 without auth, 403 without Sys.Audit on /, every line parsed with a strict grammar,
# gauges for the node, a stopped VM and a storage; ticket and API token). pmxcfs (local mode,
# RRD files in a tmp dir) + pvedaemon + pvestatd with a 1 s cycle; no guests run.
set -u
. "$(dirname "$0")/lib-api.sh"
. "$(dirname "$0")/lib-pveproxy.sh"
PVESTATD=$(readlink -f "$ROOT/pvestatd/pvestatd")
[ -x "$PVESTATD" ] || skip_all "pvestatd not built"
command -v python3 >/dev/null || skip_all "python3 missing"

if [ -n "${PVE_API_TEST_NS:-}" ]; then
    RRD_TMP=$(mktemp -d /tmp/test-metrics.XXXXXX)
    export PVE_RRD_DIR=$RRD_TMP/db
    export PVE_RRDCACHED_SOCKET=$RRD_TMP/rrdcached.sock
fi
api_setup
STATD_PID_FILE=$TMP/pvestatd.pid
metrics_cleanup() {
    "$PVESTATD" stop --pidfile "$STATD_PID_FILE" >/dev/null 2>&1
    pveproxy_stop
    rm -rf "$RRD_TMP"
    api_cleanup
}
trap metrics_cleanup EXIT

mkdir -p "$TMP/store" "$MNT/nodes/$NODE/qemu-server" "$MNT/nodes/$NODE/lxc"
printf 'dir: teststore\n\tpath %s\n\tcontent iso\n\n' "$TMP/store" >"$MNT/storage.cfg"
printf 'name: idle1\nmemory: 32\ncores: 1\n' >"$MNT/nodes/$NODE/qemu-server/101.conf"
printf 'arch: amd64\nhostname: box1\nmemory: 256\ncores: 2\nostype: debian\n' >"$MNT/nodes/$NODE/lxc/200.conf"
"$PVESTATD" start --interval 1 --pidfile "$STATD_PID_FILE" >"$TMP/statd.log" 2>&1
check "pvestatd started" [ $? = 0 ]
check "node RRD file written" wait_until 20 test -f "$PVE_RRD_DIR/pve2-node/$NODE"
check "VM 101 RRD file written" wait_until 20 test -f "$PVE_RRD_DIR/pve2-vm/101"
check "storage RRD file written" wait_until 20 test -f "$PVE_RRD_DIR/pve2-storage/$NODE/teststore"
sleep 2 # a few more updates

# ---- PNG graphs ------------------------------------------------------------------------------
# png_dims: BODY's data.filename (PNG bytes, one character each) -> "WxH" when it is a PNG
png_dims() {
    printf '%s' "$BODY" | python3 -c '
import json, struct, sys
b = json.load(sys.stdin)["data"]["filename"].encode("latin-1")
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", "not a PNG"
w, h = struct.unpack(">II", b[16:24])
print(f"{w}x{h}")' 2>/dev/null
}
login root@pam "$ROOT_PASSWORD"
api GET "/nodes/$NODE/rrd" -d ds=cpu,memused -d timeframe=hour
check "node rrd: 200" [ "$CODE" = 200 ]
check "node rrd: a PNG of 800x200" [ "$(png_dims)" = 800x200 ]
api GET "/nodes/$NODE/rrd" -d ds=loadavg -d timeframe=decade -d cf=MAX
check "node rrd: decade, MAX, one ds -> PNG" [ "$CODE:$(png_dims)" = 200:800x200 ]
api GET "/nodes/$NODE/qemu/101/rrd" -d ds=cpu -d timeframe=day
check "qemu rrd: PNG" [ "$CODE:$(png_dims)" = 200:800x200 ]
api GET "/nodes/$NODE/lxc/101/rrd" -d ds=mem,maxmem -d timeframe=week
check "lxc rrd (guest file): PNG" [ "$CODE:$(png_dims)" = 200:800x200 ]
api GET "/nodes/$NODE/storage/teststore/rrd" -d ds=used,total -d timeframe=month
check "storage rrd: PNG" [ "$CODE:$(png_dims)" = 200:800x200 ]
api GET "/nodes/$NODE/rrd" -d ds=cpu,bogus -d timeframe=hour
check "node rrd: unknown ds -> 400 naming ds" [ "$CODE:$(jget '.errors | keys | join(",")')" = 400:ds ]
check "node rrd: message names the data source" re_match "$(jget .errors.ds)" "bogus"
api GET "/nodes/$NODE/rrd" -d ds=mem -d timeframe=hour
check "node rrd: a VM DS name (mem) is not a node DS -> 400" [ "$CODE:$(jget '.errors | keys | join(",")')" = 400:ds ]
api GET "/nodes/$NODE/rrd" -d ds=cpu,iowait,loadavg -d timeframe=hour
check "node rrd: three ds -> 400 ds" [ "$CODE:$(jget '.errors | keys | join(",")')" = 400:ds ]
api GET "/nodes/$NODE/rrd" -d timeframe=hour
check "node rrd: ds missing -> 400 ds" [ "$CODE:$(jget '.errors | keys | join(",")')" = 400:ds ]
api GET "/nodes/$NODE/rrd" -d ds=cpu -d timeframe=fortnight
check "node rrd: bad timeframe -> 400 timeframe" [ "$CODE:$(jget '.errors | keys | join(",")')" = 400:timeframe ]
api GET "/nodes/$NODE/qemu/101/rrd" -d ds=cpu -d timeframe=decade
check "qemu rrd: decade not offered -> 400 timeframe" [ "$CODE:$(jget '.errors | keys | join(",")')" = 400:timeframe ]
api GET "/nodes/$NODE/storage/teststore/rrd" -d ds=used -d timeframe=hour -d cf=MIN
check "storage rrd: cf MIN -> 400 cf" [ "$CODE:$(jget '.errors | keys | join(",")')" = 400:cf ]

add_pve_user nobody@pve pw12345678
add_pve_user auditor@pve pw12345678 PVEAuditor /
ROOT_TICKET=$TICKET ROOT_CSRF=$CSRF
login nobody@pve pw12345678
api GET "/nodes/$NODE/rrd" -d ds=cpu -d timeframe=hour
check "node rrd without Sys.Audit -> 403" [ "$CODE" = 403 ]
login auditor@pve pw12345678
api GET "/nodes/$NODE/qemu/101/rrd" -d ds=cpu -d timeframe=hour
check "qemu rrd as PVEAuditor on / -> PNG" [ "$CODE:$(png_dims)" = 200:800x200 ]

# ---- Prometheus ------------------------------------------------------------------------------
MURL=${BASE%/json}/prometheus/metrics
scrape() { # scrape [curl args]: CODE, CTYPE, BODY
    local out
    out=$(curl -s -w '\n%{http_code} %{content_type}' "$@" "$MURL")
    BODY=${out%$'\n'*}
    local tail=${out##*$'\n'}
    CODE=${tail%% *} CTYPE=${tail#* }
}
scrape
check "metrics without auth -> 401" [ "$CODE" = 401 ]
scrape -b "PVEAuthCookie=$TICKET" # auditor
check "metrics as PVEAuditor on / -> 200" [ "$CODE" = 200 ]
login nobody@pve pw12345678
scrape -b "PVEAuthCookie=$TICKET"
check "metrics without Sys.Audit on / -> 403" [ "$CODE" = 403 ]
scrape -b "PVEAuthCookie=bogus"
check "metrics with a bad ticket -> 401" [ "$CODE" = 401 ]
TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF
scrape -b "PVEAuthCookie=$TICKET"
check "metrics as root: 200, text format 0.0.4" [ "$CODE:$CTYPE" = "200:text/plain; version=0.0.4; charset=utf-8" ]
printf '%s\n' "$BODY" >"$TMP/metrics.txt"
# strict 0.0.4 grammar: HELP/TYPE comments, samples name{l="v",...} value; TYPE before samples
check "every line parses (strict exposition grammar)" python3 - "$TMP/metrics.txt" <<'PY'
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
lbl = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(rf'^({name})(?:\{{{lbl}(?:,{lbl})*\}})? (-?(?:[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|NaN|[+-]Inf))$')
typed, seen = {}, set()
lines = open(sys.argv[1]).read().rstrip("\n").split("\n")
n = 0
for l in lines:
    m = re.match(rf'^# (HELP|TYPE) ({name}) (.+)$', l)
    if m:
        if m.group(1) == "TYPE":
            assert m.group(3) in ("gauge", "counter"), l
            assert m.group(2) not in typed, "TYPE twice " + l
            typed[m.group(2)] = m.group(3)
        continue
    m = sample.match(l)
    assert m, "bad line: " + l
    assert m.group(1) in typed, "sample before TYPE: " + l
    assert l not in seen, "duplicate " + l
    seen.add(l)
    n += 1
assert n > 10, n
PY
mget() { grep -E "^$1\{[^}]*$2[^}]*\} " "$TMP/metrics.txt" | head -1 | awk '{print $NF}'; }
check "pve_node_up for this node is 1" [ "$(mget pve_node_up "node=\"$NODE\"")" = 1 ]
check "pve_node_cpus = nproc" [ "$(mget pve_node_cpus "node=\"$NODE\"")" = "$(nproc)" ]
check "node memory/rootfs/swap/load/net gauges present" bash -c \
    "for m in memory_total_bytes memory_used_bytes rootfs_total_bytes swap_total_bytes load1 network_receive_bytes_total uptime_seconds iowait_ratio; do grep -q \"^pve_node_\$m{.*node=\\\"$NODE\\\"\" '$TMP/metrics.txt' || exit 1; done"
check "node cpu usage within 0..1" python3 -c "import sys; v=float('$(mget pve_node_cpu_usage_ratio "node=\"$NODE\"")'); sys.exit(0 if 0 <= v <= 1 else 1)"
check "stopped VM 101: up 0 with labels id/vmid/name/type/node/status" \
    grep -qx "pve_guest_up{id=\"qemu/101\",node=\"$NODE\",vmid=\"101\",name=\"idle1\",type=\"qemu\",status=\"stopped\"} 0" "$TMP/metrics.txt"
check "stopped VM 101: memory size 32 MiB" [ "$(mget pve_guest_memory_total_bytes 'id="qemu/101"')" = $((32 << 20)) ]
check "stopped CT 200: up 0, type lxc, name box1" \
    grep -q "^pve_guest_up{id=\"lxc/200\",.*name=\"box1\",type=\"lxc\",status=\"stopped\"} 0$" "$TMP/metrics.txt"
df_total=$(df -B1 --output=size "$TMP/store" | tail -1 | tr -d ' ')
check "storage teststore: up 1, total = df size" \
    [ "$(mget pve_storage_up 'storage="teststore"'):$(mget pve_storage_total_bytes 'storage="teststore"')" = "1:$df_total" ]

api POST /access/users/root@pam/token/scrape -d privsep=0
TOKVAL=$(jget .data.value)
check "API token created" [ -n "$TOKVAL" ]
scrape -H "Authorization: PVEAPIToken=root@pam!scrape=$TOKVAL"
printf '%s\n' "$BODY" >"$TMP/metrics-token.txt"
check "metrics with an API token -> 200 and VM 101 listed" \
    bash -c "[ '$CODE' = 200 ] && grep -q '^pve_guest_up{id=\"qemu/101\"' '$TMP/metrics-token.txt'"
scrape -H "Authorization: PVEAPIToken=root@pam!scrape=00000000-0000-0000-0000-000000000000"
check "metrics with a wrong token secret -> 401" [ "$CODE" = 401 ]
scrape -H "Authorization: PVEAPIToken root@pam!scrape=$TOKVAL" # Prometheus' authorization: block
check "token in the '<type> <credentials>' form Prometheus sends -> 200" [ "$CODE" = 200 ]

# the same through pveproxy (HTTPS, drops to www-data)
if pveproxy_start; then ok "pveproxy serves HTTPS"; else not_ok "pveproxy serves HTTPS" "$(cat "$TMP/pp.log")"; fi
MURL=$PB/api2/prometheus/metrics
scrape -k
check "pveproxy: metrics without auth -> 401" [ "$CODE" = 401 ]
scrape -k -H "Authorization: PVEAPIToken=root@pam!scrape=$TOKVAL"
printf '%s\n' "$BODY" >"$TMP/metrics-proxy.txt"
check "pveproxy: metrics with a token -> 200 text 0.0.4, node up and VM 101 listed" \
    bash -c "[ '$CODE:$CTYPE' = '200:text/plain; version=0.0.4; charset=utf-8' ] &&
             grep -q '^pve_node_up{id=\"node/$NODE\".*} 1$' '$TMP/metrics-proxy.txt' &&
             grep -q '^pve_guest_up{id=\"qemu/101\"' '$TMP/metrics-proxy.txt'"
api_finish
