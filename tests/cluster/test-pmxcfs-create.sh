#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# From a standalone node to a one-node cluster, as an admin would: pmxcfs in local mode (no
# corosync.conf anywhere), `pvecm create solo` writes /etc/pve/corosync.conf through the mount,
# the host corosync.conf and an authkey; corosync starts with them; pmxcfs restarted on its
# existing DB enters cluster mode and is quorate; `pvecm status` shows the new cluster.
# TAP on stdout; exit 0, 1 or 77 (skip).

# shellcheck disable=SC2016,SC2317,SC2119 # checks are eval strings; functions run through them
set -u
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
cluster_require

PMXCFS=${PVE_BUILD_ROOT:+$PVE_BUILD_ROOT/pmxcfs/pmxcfs}
PVECM=${PVE_BUILD_ROOT:+$PVE_BUILD_ROOT/pmxcfs/pvecm}
if [ -z "$PMXCFS" ] || [ ! -x "$PMXCFS" ] || [ ! -x "$PVECM" ]; then
    echo "1..0 # SKIP pmxcfs/pvecm not built (PVE_BUILD_ROOT=${PVE_BUILD_ROOT:-unset})"
    exit 77
elif [ ! -c /dev/fuse ] || ! getent group www-data >/dev/null; then
    echo "1..0 # SKIP no /dev/fuse or no www-data group"
    exit 77
fi

n=0
failed=0
check() { # description cmd...
    local d=$1
    shift
    n=$((n + 1))
    if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; failed=1; fi
}
diag_node() {
    node_diag 1
    sed 's/^/# pmxcfs: /' "$(node_daemon_log 1 pmxcfs)" >&2
}

if ! cluster_setup 1 unused; then
    echo "Bail out! cluster_setup failed"
    exit 1
fi
# a node that was never in a cluster
node_exec 1 rm -f /etc/corosync/corosync.conf /etc/corosync/authkey

node_start_daemon 1 pmxcfs "$PMXCFS" -f
check "pmxcfs starts in local mode without any corosync.conf" \
    eval 'wait_until 10 node_exec 1 test -e /etc/pve/.members &&
        grep -q "(local mode)" "$(node_daemon_log 1 pmxcfs)"'
check "pvecm create solo succeeds" eval 'node_exec 1 "$PVECM" create solo >&2'
check "/etc/pve/corosync.conf (through the mount) equals the host file; authkey 0400" \
    eval 'node_exec 1 cmp -s /etc/pve/corosync.conf /etc/corosync/corosync.conf &&
        node_exec 1 grep -qx "    ring0_addr: $(node_ip 1)" /etc/pve/corosync.conf &&
        [ "$(node_exec 1 stat -c %a /etc/corosync/authkey)" = 400 ]'
node_stop_daemon 1 pmxcfs
if node_start_corosync 1 && node_wait_quorate 1 10; then
    echo "ok $((n += 1)) - corosync starts with the generated configuration and is quorate"
else
    echo "not ok $((n += 1)) - corosync starts with the generated configuration and is quorate"
    failed=1
    diag_node
fi
node_start_daemon 1 pmxcfs "$PMXCFS" -f
if wait_until 15 node_exec 1 grep -q '"cluster": { "name": "solo", "version": 1, "nodes": 1, "quorate": 1 }' \
    /etc/pve/.members && [ "$(node_exec 1 stat -c %a /etc/pve/local)" = 755 ]; then
    echo "ok $((n += 1)) - pmxcfs restarted on its DB (which now holds corosync.conf) is in cluster mode: .members shows cluster solo, quorate"
else
    echo "not ok $((n += 1)) - pmxcfs restarted on its DB (which now holds corosync.conf) is in cluster mode: .members shows cluster solo, quorate"
    failed=1
    diag_node
fi
check "pvecm status: Name solo, 1 node, quorate" \
    eval 'out=$(node_exec 1 "$PVECM" status) && grep -qx "Name: *solo" <<<"$out" &&
        grep -qx "Nodes: *1" <<<"$out" && grep -qx "Quorate: *Yes" <<<"$out"'
check "SIGTERM stops pmxcfs" node_stop_daemon 1 pmxcfs 10

no_sanitizer_reports() {
    local i f bad=0
    for i in $(seq 1 "$CLUSTER_NODES"); do
        f=$(node_daemon_log "$i" pmxcfs)
        if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$f" 2>/dev/null; then
            sed "s/^/# node $i pmxcfs: /" "$f" | grep -A20 -E 'Sanitizer|runtime error' >&2
            bad=1
        fi
    done
    return "$bad"
}
check "no sanitizer reports in the pmxcfs logs (ASan builds)" no_sanitizer_reports

cluster_cleanup
echo "1..$n"
exit $failed
