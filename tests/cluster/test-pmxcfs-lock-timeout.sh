#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# The real lock timeout (120 s, no test override): on 3 corosync nodes, node 2 takes
# priv/lock/slow and dies; node 1 keeps asking for a break the way cfs_lock does (utime 0 once a
# second). The lock must survive every request for 120 s after the lowest node first saw it,
# and be gone on every node shortly after. Slow suite (about 2.5 minutes). TAP; exit 0, 1, 77.

set -u
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
cluster_require

PMXCFS=${PVE_BUILD_ROOT:+$PVE_BUILD_ROOT/pmxcfs/pmxcfs}
if [ -z "$PMXCFS" ] || [ ! -x "$PMXCFS" ] || [ ! -c /dev/fuse ]; then
    echo "1..0 # SKIP pmxcfs not built or no /dev/fuse"
    exit 77
fi

n=0
failed=0
tap() { # ok? description
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else
        failed=1
        echo "not ok $n - $2"
    fi
}
cfs_quorate() { node_exec "$1" grep -q '"quorate": 1' /etc/pve/.members 2>/dev/null; }
all_quorate() {
    local i
    for i in "$@"; do cfs_quorate "$i" || return 1; done
}
lock_gone() {
    local i
    for i in "$@"; do node_exec "$i" test ! -e /etc/pve/priv/lock/slow || return 1; done
}

if ! cluster_setup 3 pve-locks || ! cluster_start_corosync; then
    echo "Bail out! cluster setup failed"
    exit 1
fi
for i in 1 2 3; do node_start_daemon "$i" pmxcfs "$PMXCFS" -f; done
if ! wait_until 20 all_quorate 1 2 3; then
    echo "Bail out! pmxcfs did not become quorate"
    exit 1
fi
node_exec 1 mkdir -p /etc/pve/priv/lock
node_exec 2 mkdir /etc/pve/priv/lock/slow
t0=$(cluster_now_ms)
tap $? "node 2 takes priv/lock/slow"
node_kill_daemon 2 pmxcfs
node_exec 2 umount -l /etc/pve 2>/dev/null

# Ask for a break every second, as a waiting cfs_lock would.
broken=
while :; do
    node_exec 1 touch -d @0 /etc/pve/priv/lock/slow 2>/dev/null
    if lock_gone 1; then
        broken=$(($(cluster_now_ms) - t0))
        break
    fi
    [ $(($(cluster_now_ms) - t0)) -lt 140000 ] || break
    sleep 1
done
if [ -z "$broken" ]; then
    tap 1 "the dead holder's lock is broken within 140 s"
else
    echo "# broken after $broken ms"
    [ "$broken" -ge 120000 ]
    tap $? "the lock survived every break request for 120 s (${broken} ms)"
    [ "$broken" -le 125000 ]
    tap $? "and was broken within 5 s after the 120 s"
    wait_until 5 lock_gone 1 3
    tap $? "the lock directory is gone on every live node"
fi
cluster_cleanup
echo "1..$n"
exit $failed
