#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# pvestatd end to end: pmxcfs (local mode, RRD files in a tmp dir) + pvedaemon + pvestatd with
# a 1 s cycle. The broadcast rrd/ keys appear in pmxcfs's .rrd dump in upstream's field
# order, pmxcfs creates the RRD files with upstream's DS/RRAs (first with librrd, then
# through a private rrdcached), rrddata returns points with upstream's field names, bad
# parameters and missing privileges are refused, and pvestatd starts, reports and stops
# through the daemon framework. Guests: a running TCG VM, a stopped VM and a stopped container
# are broadcast as pve2.3-vm values, pmxcfs writes the pve2-vm RRD, /cluster/resources shows
# their real state (live numbers from pvestatd, name/memory from the config), and a hung
# (SIGSTOPped) QEMU does not stall the cycle. Runs in its own netns and /run (API_GUESTS=1).
# No timing assertions beyond that: waits are generous upper bounds.
set -u
API_GUESTS=1
. "$(dirname "$0")/lib-api.sh"
. "$(dirname "$0")/lib-guest-image.sh"
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
    local p
    # every QEMU this test started (its disk is under $TMP), SIGCONT first in case it is stopped
    for p in /proc/[0-9]*; do
        { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "^/usr/bin/qemu-system-x86_64 .*file=$TMP/" &&
            kill -CONT "${p#/proc/}" 2>/dev/null && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    "$PVESTATD" stop --pidfile "$STATD_PID_FILE" >/dev/null 2>&1
    [ -n "$RRDCACHED_PID" ] && kill "$RRDCACHED_PID" 2>/dev/null && wait "$RRDCACHED_PID" 2>/dev/null
    rm -rf "$RRD_TMP"
    api_cleanup
}
trap statd_cleanup EXIT
statd() { "$PVESTATD" "$@" --pidfile "$STATD_PID_FILE"; }

mkdir -p "$TMP/store"
mkdir -p "$TMP/vz"
printf 'dir: teststore\n\tpath %s\n\tcontent iso\n\ndir: elsewhere\n\tpath %s\n\tcontent iso\n\tnodes othernode\n\n' \
    "$TMP/store" "$TMP/store" >"$MNT/storage.cfg"
# guests' disks (not `local`: that one is always /var/lib/vz)
printf 'dir: vmstore\n\tpath %s\n\tcontent images,rootdir\n\n' "$TMP/vz" >>"$MNT/storage.cfg"

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

# ---- node kv keys: kv/static-info and kv/version-info, read back over pmxcfs IPC -------------
CFS_GET=$(readlink -f "$ROOT/tests/integration/cfs-status-get")
static_ok() { "$CFS_GET" kv/static-info "$NODE" >"$TMP/static-info" 2>/dev/null; }
check "kv/static-info broadcast" wait_until 20 static_ok
mem_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
cg=1; [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && cg=2
check "static-info: cpus = nproc, memory = MemTotal, cgroup-mode" \
    [ "$(jq -c . "$TMP/static-info")" = "{\"cpus\":$(nproc),\"memory\":$((mem_kib * 1024)),\"cgroup-mode\":$cg}" ]
saved_ticket=${TICKET:-} saved_csrf=${CSRF:-}
login root@pam "$ROOT_PASSWORD"
api GET /version
TICKET=$saved_ticket CSRF=$saved_csrf
version_same() {
    "$CFS_GET" kv/version-info "$NODE" >"$TMP/version-info" 2>/dev/null &&
        [ "$(jq -S -c . "$TMP/version-info")" = "$(jget .data | jq -S -c .)" ]
}
check "kv/version-info = what GET /version answers" version_same

# ---- ticket key rotation: a quorate node's pvestatd replaces a key pair older than 24 h -------
oldpub=$(cat "$MNT/authkey.pub")
touch -d '25 hours ago' "$MNT/authkey.pub"
rotated() { [ "$(cat "$MNT/authkey.pub.old" 2>/dev/null)" = "$oldpub" ] && [ "$(cat "$MNT/authkey.pub")" != "$oldpub" ]; }
check "pvestatd rotates an old authkey (previous one kept as authkey.pub.old)" wait_until 10 rotated
newpub=$(cat "$MNT/authkey.pub")
sleep 3 # three 1 s cycles
check "... and leaves a fresh one alone" [ "$(cat "$MNT/authkey.pub")" = "$newpub" ]

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

# ---- guests ---------------------------------------------------------------------------------
# rrd_field KEY N: field N (1 = uptime) of KEY's value in the .rrd dump
rrd_field() { grep -a "^$1:" "$MNT/.rrd" | cut -d: -f$(($2 + 1)); }
rrd_line() { grep -a "^$1:" "$MNT/.rrd"; }
res_vm() { api GET /cluster/resources -d type=vm && jget ".data[] | select(.id==\"$1\") | $2"; }
# a stopped container (config only) and a stopped VM are reported too
mkdir -p "$MNT/nodes/$NODE/lxc"
printf 'arch: amd64\nhostname: box1\nmemory: 256\ncores: 2\nostype: debian\nrootfs: vmstore:subvol-200-disk-0,size=1G\n' \
    >"$MNT/nodes/$NODE/lxc/200.conf"
login root@pam "$ROOT_PASSWORD"
api POST "/nodes/$NODE/qemu" -d vmid=101 -d kvm=0 -d name=idle1 -d memory=32 -d cores=1
api_wait_task "$(jget .data)"
check "stopped VM 101 created" [ "$TASK_EXIT" = OK ]
check "stopped VM in .rrd" wait_until 20 dump_has pve2.3-vm/101
line=$(rrd_line pve2.3-vm/101)
IFS=: read -r _ up name status tmpl ctime maxcpu cpu maxmem mem maxdisk disk netin netout dread dwrite <<<"$line"
check "stopped VM value: 15 fields" [ "$(awk -F: '{print NF}' <<<"$line")" = 16 ]
check "stopped VM: uptime 0, name, status stopped, template 0, recent ctime" \
    [ "$up:$name:$status:$tmpl:$([ "${ctime:-0}" -gt 1600000000 ] && echo recent)" = 0:idle1:stopped:0:recent ]
check "stopped VM: maxcpu 1, maxmem 32 MiB, live values U" \
    [ "$maxcpu:$maxmem:$cpu:$mem:$disk:$netin:$netout:$dread:$dwrite" = "1:$((32 << 20)):U:U:U:U:U:U:U" ]
check "stopped CT in .rrd: box1 stopped, maxcpu 2, maxmem 256 MiB, maxdisk 1 GiB" \
    wait_until 20 bash -c "grep -a -q '^pve2.3-vm/200:0:box1:stopped:0:[0-9]*:2:U:$((256 << 20)):U:$((1 << 30)):U:U:U:U:U\$' '$MNT/.rrd'"

have_qemu=1
command -v qemu-system-x86_64 >/dev/null || have_qemu=
if [ -n "$have_qemu" ]; then
    mkdir -p "$TMP/vz/images/100"
    guest_image_poweroff "$TMP/vz/images/100/vm-100-disk-0.raw" 1M
    api POST "/nodes/$NODE/qemu" -d vmid=100 -d kvm=0 -d name=web1 -d memory=64 -d cores=1 \
        --data-urlencode "scsi0=vmstore:100/vm-100-disk-0.raw,size=1M"
    api_wait_task "$(jget .data)"
    api POST "/nodes/$NODE/qemu/100/status/start"
    api_wait_task "$(jget .data)"
    check "VM 100 started (TCG)" [ "$TASK_EXIT" = OK ]
    running_up() { [ "$(rrd_field pve2.3-vm/100 3)" = running ] && [ "$(rrd_field pve2.3-vm/100 1)" -gt 0 ] 2>/dev/null; }
    check "running VM in .rrd: status running (QMP), uptime > 0" wait_until 20 running_up
    # the firmware has read the boot sector once QMP's blockstats count it
    disk_read() { [ "$(rrd_field pve2.3-vm/100 14)" -gt 0 ] 2>/dev/null; }
    check "running VM: diskread > 0 (QMP blockstats)" wait_until 20 disk_read
    line=$(rrd_line pve2.3-vm/100)
    IFS=: read -r _ up name status tmpl ctime maxcpu cpu maxmem mem maxdisk disk netin netout dread dwrite <<<"$line"
    check "running VM value: 15 fields, name web1, maxcpu 1, maxmem 64 MiB, maxdisk 1 MiB" \
        [ "$(awk -F: '{print NF}' <<<"$line"):$name:$maxcpu:$maxmem:$maxdisk" = "16:web1:1:$((64 << 20)):$((1 << 20))" ]
    check "running VM: cpu within 0..1, mem > 0 (RSS)" \
        python3 -c "import sys; c,m=float('$cpu'),int('$mem'); sys.exit(0 if 0<=c<=1 and m>0 else 1)"
    check "running VM: net and block counters are numbers" \
        bash -c "[[ '$netin:$netout:$dread:$dwrite' =~ ^[0-9]+:[0-9]+:[0-9]+:[0-9]+\$ ]]"

    # /cluster/resources: live state from the dump (no pid there), config fields from pmxcfs
    api GET /cluster/resources -d type=vm
    e=$(jget '.data[] | select(.id=="qemu/100")')
    check "/cluster/resources qemu/100: running, uptime > 0, no pid" \
        [ "$(jq -r '"\(.status):\(.uptime > 0):\(has("pid"))"' <<<"$e")" = running:true:false ]
    check "/cluster/resources qemu/100: name, maxmem, maxcpu, node, template 0" \
        [ "$(jq -r '"\(.name):\(.maxmem):\(.maxcpu):\(.node):\(.template)"' <<<"$e")" = "web1:$((64 << 20)):1:$NODE:0" ]
    check "/cluster/resources qemu/100: cpu 0..1, mem > 0, maxdisk 1 MiB, counters" \
        [ "$(jq -r '(.cpu >= 0 and .cpu <= 1 and .mem > 0 and .maxdisk == 1048576 and .diskread > 0 and (.netin|type) == "number") | tostring' <<<"$e")" = true ]
    check "/cluster/resources qemu/101 and lxc/200: stopped, uptime 0" \
        [ "$(res_vm qemu/101 '"\(.status):\(.uptime)"'):$(jget '.data[] | select(.id=="lxc/200") | "\(.status):\(.uptime):\(.name):\(.maxcpu)"')" = "stopped:0:stopped:0:box1:2" ]
    # the uptime comes from pvestatd: it keeps growing
    up1=$(res_vm qemu/100 .uptime)
    up_grows() { [ "$(res_vm qemu/100 .uptime)" -gt "$up1" ]; }
    check "/cluster/resources qemu/100 uptime grows with pvestatd's updates" wait_until 10 up_grows
    # a config edit shows at once (config properties), not after the next cycle
    api PUT "/nodes/$NODE/qemu/100/config" -d name=web-one -d tags=prod
    api GET /cluster/resources -d type=vm
    check "name and tags edited: /cluster/resources shows them at once" \
        [ "$(jget '.data[] | select(.id=="qemu/100") | "\(.name):\(.tags)"')" = web-one:prod ]
    api GET "/nodes/$NODE/qemu"
    check "GET /nodes/{node}/qemu: 100 running with pid, 101 stopped" \
        [ "$(jget '[.data[] | select(.vmid==100 or .vmid==101)] | sort_by(.vmid) | map("\(.status):\(.pid != null)") | join(",")')" = "running:true,stopped:false" ]

    # pmxcfs writes the pve2-vm RRD with upstream's DS
    VM_RRD=$PVE_RRD_DIR/pve2-vm/100
    check "VM RRD file pve2-vm/100 created" wait_until 10 test -f "$VM_RRD"
    vinfo=$(rrdtool info "$VM_RRD" 2>&1)
    ds_ok=1
    for ds in maxcpu:GAUGE cpu:GAUGE maxmem:GAUGE mem:GAUGE maxdisk:GAUGE disk:GAUGE \
        netin:DERIVE netout:DERIVE diskread:DERIVE diskwrite:DERIVE; do
        grep -q "^ds\[${ds%%:*}\].type = \"${ds#*:}\"" <<<"$vinfo" || ds_ok=0
    done
    check "VM RRD has upstream's 10 DS (names, types)" [ "$ds_ok:$(grep -c '^ds\[.*\].type' <<<"$vinfo")" = 1:10 ]
    check "stopped VM and CT get RRD files too" wait_until 10 test -f "$PVE_RRD_DIR/pve2-vm/101" -a -f "$PVE_RRD_DIR/pve2-vm/200"

    # a hung QEMU (SIGSTOP: its QMP socket accepts but never answers) costs at most the QMP
    # budget per cycle: the other keys keep coming, VM 100 still reported (pid status)
    QPID=$(cat /run/qemu-server/100.pid)
    kill -STOP "$QPID"
    sleep 2 # a cycle that started before the stop is over
    c0=$(rrd_field pve2-node/$NODE 3)
    sleep 6
    c1=$(rrd_field pve2-node/$NODE 3)
    check "QEMU stopped (SIGSTOP): node value still updated, >= 2 cycles in 6 s" [ $((c1 - c0)) -ge 2 ]
    check "hung QEMU still broadcast as running (pid status, block counters U)" \
        bash -c "grep -a -q '^pve2.3-vm/100:[0-9]*:web-one:running:0:[0-9]*:.*:U:U\$' '$MNT/.rrd'"
    kill -CONT "$QPID"
    qmp_back() { [ "$(rrd_field pve2.3-vm/100 14)" != U ]; }
    check "QEMU continued: block counters back" wait_until 10 qmp_back

    api POST "/nodes/$NODE/qemu/100/status/stop"
    api_wait_task "$(jget .data)"
    check "VM 100 stopped" [ "$TASK_EXIT" = OK ]
    stopped_now() { [ "$(res_vm qemu/100 '"\(.status):\(.uptime):\(.cpu)"')" = stopped:0:0 ]; }
    check "/cluster/resources qemu/100: stopped after pvestatd's next cycle" wait_until 10 stopped_now
else
    ok "running VM checks # SKIP qemu-system-x86_64 missing"
fi

# ---- rrddata API ----------------------------------------------------------------------------
login root@pam "$ROOT_PASSWORD"
has_point() {
    api GET "/nodes/$NODE/$1" -d timeframe=hour
    [ "$CODE" = 200 ] && [ "$(jget "[.data[] | select(.$2 != null)] | length")" -gt 0 ]
}
# the first 60 s step completes at the next minute boundary after the file was created
check "node rrddata returns points with cpu (within 130 s)" wait_until 130 has_point rrddata cpu
# only upstream's names; the first step may lack the counters (netin/netout are rates: unknown
# until two updates), so every row's keys must be among them and the gauges must be there
NODE_FIELDS='["cpu","iowait","loadavg","maxcpu","memtotal","memused","netin","netout","roottotal","rootused","swaptotal","swapused","time"]'
check "node rrddata rows have upstream's field names" \
    [ "$(jget "([.data[] | keys[]] | unique) - $NODE_FIELDS | length | tostring")" = 0 -a \
        "$(jget '[.data[] | select(.cpu != null)][0] | [has("cpu", "maxcpu", "memtotal", "memused", "loadavg", "time")] | all | tostring')" = true ]
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
