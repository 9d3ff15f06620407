#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# pvestatd end to end: pmxcfs (local mode, RRD files in a tmp dir) + pvedaemon + pvestatd with
# a 1 s cycle. The broadcast rrd/ keys appear in pmxcfs's .rrd dump in upstream's field
# order, pmxcfs creates the RRD files with upstream's DS/RRAs (first with librrd, then
# through a private rrdcached), rrddata returns points with upstream's field names, bad
# parameters and missing privileges are refused, and pvestatd starts, reports and stops
# through the daemon framework. No timing assertions: waits are generous upper bounds.
set -u
. "$(dirname "$0")/lib-api.sh"
PVESTATD=$(readlink -f "$ROOT/pvestatd/pvestatd")
[ -x "$PVESTATD" ] || skip_all "pvestatd not built"
command -v rrdtool >/dev/null || skip_all "rrdtool missing"
command -v rrdcached >/dev/null || skip_all "rrdcached missing"
command -v socat >/dev/null || skip_all "socat missing"

if [ -n "${PVE_API_TEST_NS:-}" ]; then
    # inside the namespace (api_setup re-executes us): pmxcfs and pvedaemon inherit these
    RRD_TMP=$(mktemp -d /tmp/test-pvestatd.XXXXXX)
    export PVE_RRD_DIR=$RRD_TMP/db
    export PVE_RRDCACHED_SOCKET=$RRD_TMP/rrdcached.sock
fi
api_setup
STATD_PID_FILE=$TMP/pvestatd.pid
RRDCACHED_PID=
statd_cleanup() {
    "$PVESTATD" stop --pidfile "$STATD_PID_FILE" >/dev/null 2>&1
    [ -n "$RRDCACHED_PID" ] && kill "$RRDCACHED_PID" 2>/dev/null && wait "$RRDCACHED_PID" 2>/dev/null
    rm -rf "$RRD_TMP"
    api_cleanup
}
trap statd_cleanup EXIT
statd() { "$PVESTATD" "$@" --pidfile "$STATD_PID_FILE"; }

mkdir -p "$TMP/store"
printf 'dir: teststore\n\tpath %s\n\tcontent iso\n\ndir: elsewhere\n\tpath %s\n\tcontent iso\n\tnodes othernode\n\n' \
    "$TMP/store" "$TMP/store" >"$MNT/storage.cfg"

# ---- daemon life cycle ----------------------------------------------------------------------
check "pvestatd status before start: stopped" [ "$(statd status 2>&1)" = stopped ]
statd start --interval 1 >"$TMP/statd-start.log" 2>&1
check "pvestatd start (detaches once ready)" [ $? = 0 ]
check "pvestatd status: running" [ "$(statd status 2>&1)" = running ]
check "pid file names a live process" kill -0 "$(cat "$STATD_PID_FILE" 2>/dev/null)"

# ---- broadcast -> pmxcfs .rrd dump ----------------------------------------------------------
dump_has() { grep -a -q "^$1:" "$MNT/.rrd"; }
check "node key in .rrd" wait_until 20 dump_has pve2-node/$NODE
check "storage key in .rrd" wait_until 20 dump_has pve2-storage/$NODE/teststore
node_line=$(grep -a "^pve2-node/$NODE:" "$MNT/.rrd")
# uptime:sublevel:ctime:loadavg:maxcpu:cpu:iowait:memtotal:memused:swaptotal:swapused:
# roottotal:rootused:netin:netout after the key
IFS=: read -r _ up sub ctime load maxcpu cpu iowait memtotal memused _ _ roottotal rootused netin netout <<<"$node_line"
fields=$(awk -F: '{print NF}' <<<"$node_line")
check "node value has upstream's 15 fields" [ "$fields" = 16 ]
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
check "node uptime and ctime are numbers" is_uint "$up"
check "node ctime is a recent epoch" [ "$(is_uint "$ctime" && echo "$ctime" || echo 0)" -gt 1600000000 ]
check "node sublevel empty (no subscription)" [ -z "$sub" ]
check "node maxcpu = nproc" [ "$maxcpu" = "$(nproc)" ]
check "node loadavg as /proc writes it (d.dd)" bash -c "[[ '$load' =~ ^[0-9]+\.[0-9][0-9]\$ ]]"
check "node cpu and iowait within 0..1" python3 -c "import sys; c,w=float('$cpu'),float('$iowait'); sys.exit(0 if 0<=c<=1 and 0<=w<=1 else 1)"
check "node memory plausible" bash -c "[ '$memtotal' -gt 0 ] && [ '$memused' -gt 0 ] && [ '$memused' -le '$memtotal' ]"
check "node root fs plausible" bash -c "[ '$roottotal' -gt 0 ] && [ '$rootused' -le '$roottotal' ]"
check "node net counters are numbers" bash -c "[[ '$netin' =~ ^[0-9]+\$ && '$netout' =~ ^[0-9]+\$ ]]"
st_line=$(grep -a "^pve2-storage/$NODE/teststore:" "$MNT/.rrd")
IFS=: read -r _ st_ctime st_total st_used <<<"$st_line"
df_total=$(df -B1 --output=size "$TMP/store" | tail -1 | tr -d ' ')
check "storage value has 3 fields (ctime:total:used)" [ "$(awk -F: '{print NF}' <<<"$st_line")" = 4 ]
check "storage total = df size, used <= total" bash -c "[ '$st_total' = '$df_total' ] && [ '$st_used' -le '$st_total' ]"
check "storage of another node not broadcast" bash -c "! grep -a -q '^pve2-storage/$NODE/elsewhere:' '$MNT/.rrd'"
check "default storage 'local' broadcast only when /var/lib/vz exists" \
    bash -c "[ -d /var/lib/vz ] || ! grep -a -q '^pve2-storage/$NODE/local:' '$MNT/.rrd'"

# ---- RRD files written by pmxcfs (librrd directly: no rrdcached yet) -----------------------
NODE_RRD=$PVE_RRD_DIR/pve2-node/$NODE
ST_RRD=$PVE_RRD_DIR/pve2-storage/$NODE/teststore
check "node RRD file created" wait_until 10 test -f "$NODE_RRD"
check "storage RRD file created" wait_until 10 test -f "$ST_RRD"
info=$(rrdtool info "$NODE_RRD" 2>&1)
ds_ok=1
for ds in loadavg:GAUGE maxcpu:GAUGE cpu:GAUGE iowait:GAUGE memtotal:GAUGE memused:GAUGE \
    swaptotal:GAUGE swapused:GAUGE roottotal:GAUGE rootused:GAUGE netin:DERIVE netout:DERIVE; do
    grep -q "^ds\[${ds%%:*}\].type = \"${ds#*:}\"" <<<"$info" || ds_ok=0
    grep -q "^ds\[${ds%%:*}\].minimal_heartbeat = 120" <<<"$info" || ds_ok=0
done
check "node RRD has upstream's 12 DS (names, types, heartbeat)" [ "$ds_ok:$(grep -c '^ds\[.*\].type' <<<"$info")" = 1:12 ]
check "node RRD step 60, 10 RRAs (AVERAGE then MAX, 1..10080 steps x 70)" \
    bash -c "grep -q '^step = 60$' <<<'$info' && grep -q '^rra\[0\].cf = \"AVERAGE\"' <<<'$info' &&
             grep -q '^rra\[4\].pdp_per_row = 10080' <<<'$info' && grep -q '^rra\[5\].cf = \"MAX\"' <<<'$info' &&
             grep -q '^rra\[9\].rows = 70' <<<'$info' && ! grep -q '^rra\[10\]' <<<'$info'"
sinfo=$(rrdtool info "$ST_RRD" 2>&1)
check "storage RRD has DS total and used (GAUGE) only" \
    bash -c "grep -q '^ds\[total\].type = \"GAUGE\"' <<<'$sinfo' && grep -q '^ds\[used\].type = \"GAUGE\"' <<<'$sinfo' && [ \$(grep -c '^ds\[.*\].type' <<<'$sinfo') = 2 ]"
last1=$(rrdtool last "$NODE_RRD")
check "node RRD keeps being updated (librrd)" wait_until 10 bash -c "[ \"\$(rrdtool last '$NODE_RRD')\" -gt $last1 ]"

# ---- through rrdcached ----------------------------------------------------------------------
rrdcached -g -l "unix:$PVE_RRDCACHED_SOCKET" -p "$RRD_TMP/rrdcached.pid" -b "$PVE_RRD_DIR" \
    -w 3600 >"$RRD_TMP/rrdcached.log" 2>&1 &
RRDCACHED_PID=$!
check "rrdcached listens" wait_until 10 test -S "$PVE_RRDCACHED_SOCKET"
updates_received() {
    local n
    n=$(printf 'STATS\n' | socat -t 2 - "UNIX-CONNECT:$PVE_RRDCACHED_SOCKET" 2>/dev/null |
        awk '/^UpdatesReceived:/ {print $2}')
    [ "${n:-0}" -gt 2 ]
}
check "pmxcfs sends updates to rrdcached" wait_until 15 updates_received

# ---- rrddata API ----------------------------------------------------------------------------
login root@pam "$ROOT_PASSWORD"
has_point() {
    api GET "/nodes/$NODE/$1" -d timeframe=hour
    [ "$CODE" = 200 ] && [ "$(jget "[.data[] | select(.$2 != null)] | length")" -gt 0 ]
}
# the first 60 s step completes at the next minute boundary after the file was created
check "node rrddata returns points with cpu (within 130 s)" wait_until 130 has_point rrddata cpu
check "node rrddata rows have upstream's field names" \
    [ "$(jget '[.data[] | select(.cpu != null)][0] | keys | sort | join(",")')" = \
        "cpu,iowait,loadavg,maxcpu,memtotal,memused,netin,netout,roottotal,rootused,swaptotal,swapused,time" ]
check "node rrddata: cpu within 0..1, memused > 0" \
    [ "$(jget '[.data[] | select(.cpu != null)][0] | (.cpu >= 0 and .cpu <= 1 and .memused > 0) | tostring')" = true ]
check "node rrddata: maxcpu = nproc" [ "$(jget '[.data[] | select(.cpu != null)][0].maxcpu')" = "$(nproc)" ]
check "node rrddata: times 60 s apart, at most 60 rows" \
    [ "$(jget '[.data[].time] | (length <= 60) and (. as $t | [range(1; length) | $t[.] - $t[. - 1]] | all(. == 60)) | tostring')" = true ]
check "storage rrddata returns total and used (within 130 s)" wait_until 130 has_point storage/teststore/rrddata total
check "storage rrddata fields" \
    [ "$(jget '[.data[] | select(.total != null)][0] | keys | sort | join(",")')" = "time,total,used" ]
api GET "/nodes/$NODE/rrddata" -d timeframe=day -d cf=MAX
check "node rrddata day/MAX: 200, 1800 s steps" [ "$CODE:$(jget '[.data[].time] | (.[1] - .[0]) | tostring')" = 200:1800 ]
api GET "/nodes/$NODE/rrddata" -d timeframe=decade
check "node rrddata decade (year on pve2 files): 604800 s steps" [ "$CODE:$(jget '[.data[].time] | (.[1] - .[0]) | tostring')" = 200:604800 ]
api GET "/nodes/$NODE/rrddata" -d timeframe=minute
check "bad timeframe: 400 with errors.timeframe" [ "$CODE:$(jget '.errors.timeframe != null')" = 400:true ]
api GET "/nodes/$NODE/rrddata"
check "missing timeframe: 400" [ "$CODE:$(jget '.errors.timeframe != null')" = 400:true ]
api GET "/nodes/$NODE/rrddata" -d timeframe=hour -d cf=MIN
check "bad cf: 400" [ "$CODE:$(jget '.errors.cf != null')" = 400:true ]
api GET "/nodes/$NODE/storage/teststore/rrddata" -d timeframe=decade
check "storage rrddata has no decade: 400" [ "$CODE" = 400 ]
api GET "/nodes/$NODE/rrddata" -d timeframe=hour -d foo=1
check "unknown parameter: 400" [ "$CODE:$(jget '.errors.foo != null')" = 400:true ]
api GET "/nodes/$NODE/storage/nostore/rrddata" -d timeframe=hour
check "storage without RRD file: 500" [ "$CODE" = 500 ]
check "storage without RRD file: 'RRD error: ...' message" grep -q 'RRD error' <<<"$BODY$(jget .message)"

add_pve_user nopriv@pve secret1
add_pve_user auditor@pve secret2 PVEAuditor /
login nopriv@pve secret1
api GET "/nodes/$NODE/rrddata" -d timeframe=hour
check "no privileges: node rrddata 403" [ "$CODE" = 403 ]
api GET "/nodes/$NODE/storage/teststore/rrddata" -d timeframe=hour
check "no privileges: storage rrddata 403" [ "$CODE" = 403 ]
login auditor@pve secret2
api GET "/nodes/$NODE/rrddata" -d timeframe=hour
check "PVEAuditor (Sys.Audit): node rrddata 200" [ "$CODE" = 200 ]
api GET "/nodes/$NODE/storage/teststore/rrddata" -d timeframe=hour
check "PVEAuditor (Datastore.Audit): storage rrddata 200" [ "$CODE" = 200 ]

# ---- stop -----------------------------------------------------------------------------------
pid=$(cat "$STATD_PID_FILE")
statd stop >/dev/null 2>&1
check "pvestatd stop" [ $? = 0 ]
# a zombie until whoever adopted the detached daemon reaps it
gone() { ! kill -0 "$pid" 2>/dev/null || grep -q '^[0-9]* ([^)]*) Z' "/proc/$pid/stat" 2>/dev/null; }
check "pvestatd process gone" wait_until 10 gone
check "pvestatd status: stopped" [ "$(statd status 2>&1)" = stopped ]
check "pid file removed" [ ! -e "$STATD_PID_FILE" ]
check "pvestatd logged no errors" bash -c "! grep -qi 'error' '$TMP/statd-start.log'"
api_finish
