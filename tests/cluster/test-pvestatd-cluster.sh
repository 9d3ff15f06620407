#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# pvestatd between real nodes (lib.sh: netns per node, corosync, pmxcfs in cluster mode): every
# one of 3 nodes runs pmxcfs and pvestatd (1 s cycle, --interval), node 3 also pvedaemon (its
# API on 127.0.0.1:85 inside the node). What one node's pvestatd broadcasts reaches the others
# (specs/api.md §9.2): node 1's rrd/pve2-node value is in node 2's and node 3's .rrd dump, the
# same numbers as node 1 has; pmxcfs on node 2 and node 3 writes node 1's RRD file
# (pve2-node/node1 in their own /var/lib/rrdcached/db) and `rrdtool fetch` reads a known value
# from it; node 1's kv/static-info and kv/version-info are readable on node 3 over pmxcfs IPC;
# GET /cluster/resources on node 3 lists node 1 online with its live numbers (none before
# pvestatd ran); GET /nodes/node1/rrddata on node 3 (no proxyto upstream: read from node 3's own
# copy of node 1's RRD) returns points. A node whose pvestatd stops keeps its last values (the
# dump keeps them 5 minutes as upstream; not waited for here): its uptime stops moving on
# node 3 while node 1's goes on. TAP on stdout; exit 0, 1 or 77 (skip). Runs in 35-110 s, most
# of it waiting for the RRD's first known 60 s step.

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
PVESTATD=$B/pvestatd/pvestatd
CFS_GET=$B/tests/integration/cfs-status-get
cluster_require_bins "pmxcfs, pvedaemon, pvestatd or cfs-status-get" \
    "$PMXCFS" "$PVEDAEMON" "$PVESTATD" "$CFS_GET" -- curl jq openssl rrdtool

ROOT_PASSWORD=clustersecret

# shellcheck source=lib-tap.sh
source "$here/lib-tap.sh"
BAIL_LOGS="pmxcfs pvestatd pvedaemon"

# ---- helpers -------------------------------------------------------------------------------------

cfs_quorate() { node_exec "$1" grep -q '"quorate": 1' /etc/pve/.members 2>/dev/null; }
all_quorate() {
    local i
    for i in "$@"; do cfs_quorate "$i" || return 1; done
}
# dump_line i key: the line for key in node i's .rrd dump (pmxcfs's CFS_IPC_GET_RRD_DUMP)
dump_line() { node_exec "$1" grep -a "^$2:" /etc/pve/.rrd 2>/dev/null; }
dump_has() { [ -n "$(dump_line "$1" "$2")" ]; }
# field i key N: field N (1 = first after the key) of key's value in node i's dump
field() { dump_line "$1" "$2" | cut -d: -f$(($3 + 1)); }
rrd_file() { echo "$(node_dir "$1")/var/lib/rrdcached/db/$2"; }
# known_value i file ds: rrdtool fetch (AVERAGE, last 10 min) of file on node i has a number for ds
known_value() {
    local f out col
    f=$(rrd_file "$1" "$2")
    out=$(rrdtool fetch "$f" AVERAGE -s end-600 -e now 2>/dev/null) || return 1
    col=$(head -1 <<<"$out" | awk -v ds="$3" '{for (i = 1; i <= NF; i++) if ($i == ds) print i + 1}')
    [ -n "$col" ] && tail -n +3 <<<"$out" | awk -v c="$col" '$c !~ /nan/ {f = 1} END {exit !f}'
}
pd_up() { node_exec "$1" curl -s -o /dev/null --fail --max-time 5 http://127.0.0.1:85/api2/json/access/ticket; }
TICKET=''
# api i METHOD PATH [curl args...]: node i's pvedaemon; sets CODE and BODY
api() {
    local i=$1 method=$2 path=$3 out
    shift 3
    local auth=()
    [ -n "$TICKET" ] && auth=(-b "PVEAuthCookie=$TICKET")
    out=$(node_exec "$i" curl -s -X "$method" -w '\n%{http_code}' --max-time 30 "${auth[@]}" "$@" \
        "http://127.0.0.1:85/api2/json$path")
    CODE=${out##*$'\n'}
    BODY=${out%$'\n'*}
}
jget() { printf '%s' "$BODY" | jq -r "$1 // empty" 2>/dev/null; }
# res_node node field: field of node/<node> in node 3's GET /cluster/resources
res_node() {
    api 3 GET /cluster/resources -G -d type=node
    jget ".data[] | select(.id == \"node/$1\") | .$2"
}
# ge a b / le a b on numbers that may be floats
num_cmp() { awk -v a="$1" -v b="$3" "BEGIN {exit !(a $2 b)}" 2>/dev/null; }
statd_up() { grep -q "status update every 1 s for node '$(node_name "$1")'" "$(node_daemon_log "$1" pvestatd)"; }

# ---- cluster -------------------------------------------------------------------------------------

echo "# setting up 3 nodes"
cluster_setup 3 pve-statd || bail "cluster setup failed"
cluster_start_corosync || bail "corosync did not form a 3 node membership"
for i in 1 2 3; do
    node_start_daemon "$i" pmxcfs "$PMXCFS" -f || bail "node $i: pmxcfs did not start"
done
wait_until 30 all_quorate 1 2 3 || bail "pmxcfs not quorate on 3 nodes"
ok "pmxcfs in cluster mode on 3 nodes, quorate"
node_root_password 3 "$ROOT_PASSWORD" || bail "node 3: PAM setup failed"
node_start_daemon 3 pvedaemon "$PVEDAEMON" start --foreground || bail "node 3: pvedaemon did not start"
wait_until 20 pd_up 3 || bail "node 3: pvedaemon does not answer"
api 3 POST /access/ticket -d username=root@pam --data-urlencode "password=$ROOT_PASSWORD"
TICKET=$(jget .data.ticket)
[ "$CODE" = 200 ] && [ -n "$TICKET" ] || bail "no ticket from node 3's pvedaemon"

# before any pvestatd: node 3 knows node 1 only from the membership, no live numbers
api 3 GET /cluster/resources -G -d type=node
check "before pvestatd runs: no node keys in node 3's .rrd dump, 3 nodes but no uptime for node 1 in /cluster/resources" \
    eval '! dump_has 3 pve2-node/node1 && [ "$CODE" = 200 ] &&
        [ "$(jget "[.data[] | select(.type == \"node\")] | length")" = 3 ] &&
        [ -z "$(jget ".data[] | select(.id == \"node/node1\") | .uptime")" ]'

for i in 1 2 3; do
    node_start_daemon "$i" pvestatd "$PVESTATD" start --foreground --interval 1 ||
        bail "node $i: pvestatd did not start"
done
t_statd=$(cluster_now_ms)
check "pvestatd runs on every node with a 1 s cycle" \
    wait_until 10 eval 'statd_up 1 && statd_up 2 && statd_up 3'

# ---- rrd/ values through the kvstore CPG -----------------------------------------------------------

all_dumps_have_all() {
    local i j
    for i in 1 2 3; do
        for j in 1 2 3; do dump_has "$i" "pve2-node/$(node_name "$j")" || return 1; done
    done
}
check "every node's .rrd dump has pve2-node/<node> of all 3 nodes" wait_until 20 all_dumps_have_all
l1=$(dump_line 1 pve2-node/node1)
l3=$(dump_line 3 pve2-node/node1)
echo "# node 1's value on node 3: $l3"
# shellcheck disable=SC2034 # used in eval strings
IFS=: read -r _ up _ ctime _ maxcpu cpu _ memtotal memused _ _ roottotal rootused _ <<<"$l3"
check "node 1's value on node 3: 15 fields as upstream" [ "$(awk -F: '{print NF}' <<<"$l3")" = 16 ]
mem_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
# shellcheck disable=SC2034 # used in eval strings
host_up=$(cut -d. -f1 /proc/uptime)
check "... maxcpu = nproc, memtotal = MemTotal, uptime = this host's (same kernel)" \
    eval '[ "$maxcpu" = "$(nproc)" ] && [ "$memtotal" = $((mem_kib * 1024)) ] &&
        [ "${up:-0}" -le "$host_up" ] && [ "${up:-0}" -ge $((host_up - 10)) ]'
check "... cpu within 0..1, 0 < memused <= memtotal, root fs plausible" \
    eval 'num_cmp "$cpu" ">=" 0 && num_cmp "$cpu" "<=" 1 && [ "${memused:-0}" -gt 0 ] &&
        [ "$memused" -le "$memtotal" ] && [ "${roottotal:-0}" -gt 0 ] && [ "${rootused:-x}" -le "$roottotal" ]'
ct1=$(cut -d: -f4 <<<"$l1")
check "node 3 has node 1's value, not an old one (ctime within 3 s of node 1's own)" \
    eval '[ -n "$ct1" ] && [ -n "$ctime" ] && [ $((ct1 - ctime)) -le 3 ] && [ $((ctime - ct1)) -le 3 ]'
newer_on_3() { [ "$(field 3 pve2-node/node1 3)" -gt "$ctime" ] 2>/dev/null; }
check "node 1's value keeps being updated on node 3 (1 s cycle)" wait_until 5 newer_on_3

# ---- kv keys through pmxcfs IPC on another node --------------------------------------------------
static_on_3() { node_exec 3 "$CFS_GET" kv/static-info node1 2>/dev/null; }
check "node 1's kv/static-info is readable on node 3" wait_until 10 static_on_3
cg=1
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && cg=2
check "... and is {cpus: nproc, memory: MemTotal, cgroup-mode}" \
    [ "$(static_on_3 | jq -c .)" = "{\"cpus\":$(nproc),\"memory\":$((mem_kib * 1024)),\"cgroup-mode\":$cg}" ]
api 3 GET /version
# shellcheck disable=SC2034 # used in an eval string
version3=$(jget .data | jq -S -c .)
check "node 1's kv/version-info read on node 3 = GET /version (same build)" \
    eval '[ -n "$version3" ] && [ "$(node_exec 3 "$CFS_GET" kv/version-info node1 | jq -S -c .)" = "$version3" ]'
check "kv keys are per node: node 2's static-info is there too, an unknown node has none" \
    eval 'node_exec 3 "$CFS_GET" kv/static-info node2 >/dev/null && ! node_exec 3 "$CFS_GET" kv/static-info nosuchnode >/dev/null 2>&1'

# ---- GET /cluster/resources on node 3 --------------------------------------------------------------
api 3 GET /cluster/resources -G -d type=node
e=$(jget '.data[] | select(.id == "node/node1")')
echo "# node 3's /cluster/resources entry for node 1: $(jq -c . <<<"$e" 2>/dev/null)"
ej() { jq -r "$1 // empty" <<<"$e" 2>/dev/null; }
check "/cluster/resources on node 3: node1 online, maxcpu = nproc, maxmem = MemTotal" \
    eval '[ "$CODE" = 200 ] && [ "$(ej .status)" = online ] && [ "$(ej .maxcpu)" = "$(nproc)" ] &&
        [ "$(ej .maxmem)" = $((mem_kib * 1024)) ]'
check "... uptime, cpu, mem and disk from node 1's broadcast" \
    eval 'u=$(ej .uptime); [ -n "$u" ] && [ "$u" -ge $((host_up - 10)) ] && [ "$u" -le $((host_up + 60)) ] &&
        num_cmp "$(ej .cpu)" ">=" 0 && num_cmp "$(ej .cpu)" "<=" 1 && [ "$(ej .mem)" -gt 0 ] &&
        [ "$(ej .mem)" -le "$(ej .maxmem)" ] && [ "$(ej .maxdisk)" -gt 0 ] && [ -n "$(ej .disk)" ]'
online_all() { [ "$(jget '[.data[] | select(.type == "node" and .status == "online" and .uptime > 0)] | length')" = 3 ]; }
check "... all 3 nodes online with an uptime" online_all

# ---- a node whose pvestatd stops -----------------------------------------------------------------
node_stop_daemon 2 pvestatd 5
check "pvestatd on node 2 stops on SIGTERM" [ $? = 0 ]
sleep 1.5 # a cycle that was under way has been delivered
# shellcheck disable=SC2034 # used in eval strings
{
    ct2=$(field 3 pve2-node/node2 3)
    ct1=$(field 3 pve2-node/node1 3)
}
sleep 3
check "node 2's last value stays in node 3's dump (kept 5 min as upstream), unchanged" \
    eval '[ -n "$ct2" ] && [ "$(field 3 pve2-node/node2 3)" = "$ct2" ]'
check "... while node 1's goes on" eval '[ "$(field 3 pve2-node/node1 3)" -gt "$ct1" ] 2>/dev/null'
check "/cluster/resources on node 3 still lists node 2 online with its last numbers (membership says online)" \
    eval '[ "$(res_node node2 status)" = online ] && [ -n "$(res_node node2 uptime)" ]'

# ---- RRD files written by every node's pmxcfs ------------------------------------------------------
check "node 1's RRD file pve2-node/node1 exists in node 2's and node 3's rrd dir" \
    wait_until 10 eval 'test -f "$(rrd_file 2 pve2-node/node1)" && test -f "$(rrd_file 3 pve2-node/node1)"'
check "... last updated after pvestatd started (written by this run)" \
    eval '[ "$(rrdtool last "$(rrd_file 3 pve2-node/node1)" 2>/dev/null)" -ge $((t_statd / 1000 - 2)) ] 2>/dev/null'
# rrdtool averages 60 s steps; a step is known once more than half of it had updates, so the
# first known one ends at most ~90 s after pvestatd started (started at second 30 of a minute)
t0=$(cluster_now_ms)
check "rrdtool fetch on node 3's copy of node 1's RRD: a known cpu value" \
    wait_until 100 known_value 3 pve2-node/node1 cpu
echo "# first known 60 s step after $((($(cluster_now_ms) - t_statd) / 1000)) s of pvestatd ($((($(cluster_now_ms) - t0) / 1000)) s waited here)"
check "... and memtotal = MemTotal on node 2's copy" \
    eval 'rrdtool fetch "$(rrd_file 2 pve2-node/node1)" AVERAGE -s end-600 -e now |
        awk -v m=$((mem_kib * 1024)) "NR > 2 && \$6 !~ /nan/ {d = \$6 - m; if (d < 0) d = -d; if (d <= m * 1e-9) f = 1} END {exit !f}"'

# ---- GET /nodes/node1/rrddata asked on node 3 ------------------------------------------------------
api 3 GET /nodes/node1/rrddata -G -d timeframe=hour
check "GET /nodes/node1/rrddata on node 3: 200 with a point that has cpu and maxcpu = nproc" \
    eval '[ "$CODE" = 200 ] && [ "$(jget "[.data[] | select(.cpu != null)][0].maxcpu")" = "$(nproc)" ]'
check "... memtotal = MemTotal, times 60 s apart" \
    eval '[ "$(jget "[.data[] | select(.memtotal != null)][0].memtotal")" = $((mem_kib * 1024)) ] &&
        [ "$(jget "[.data[].time] | (.[1] - .[0])")" = 60 ]'

# ---- stop ------------------------------------------------------------------------------------------
stopped=1
for i in 1 3; do node_stop_daemon "$i" pvestatd 5 || stopped=0; done
node_stop_daemon 3 pvedaemon 8 || stopped=0
check "pvestatd (node 1, 3) and pvedaemon stop on SIGTERM" [ $stopped = 1 ]
sanitizer_reports() {
    local i
    for i in 1 2 3; do
        grep -hE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$(node_daemon_log "$i" pvestatd)" \
            "$(node_daemon_log "$i" pmxcfs)" "$(node_daemon_log "$i" pvedaemon)" 2>/dev/null
    done
}
check "no sanitizer reports in the daemon logs" eval '[ -z "$(sanitizer_reports)" ]'
[ $failed = 0 ] || daemon_logs
finish
