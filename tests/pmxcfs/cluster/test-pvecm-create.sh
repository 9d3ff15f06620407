#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# pvecm create/status/usage on plain directories (no pmxcfs, no corosync, no root): the
# mount point is a directory with a .members file, the host paths come from the environment.
# Checks the files written (same corosync.conf in both places, 0644; a 256-byte 0400 authkey,
# an existing one kept) and every refusal (existing configs, bad names, no pmxcfs).
# Usage: test-pvecm-create.sh <path to pvecm>. TAP on stdout.
# shellcheck disable=SC2016,SC2317,SC2034 # checks are eval strings using $PVECM
set -u
PVECM=${1:?usage: $0 PVECM}
tmp=$(mktemp -d /tmp/test-pvecm-create.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
check() { # description cmd...
    local d=$1
    shift
    n=$((n + 1))
    if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; failed=1; fi
}
export PVE_CFS_MOUNTPOINT=$tmp/pve PVE_COROSYNC_CONF=$tmp/etc/corosync/corosync.conf \
    PVE_COROSYNC_AUTHKEY=$tmp/etc/corosync/authkey
mkdir -p "$tmp/pve"
host=$(uname -n)
host=${host%%.*}

check "refuses without pmxcfs (no .members in the mount point)" \
    eval '! "$PVECM" create c1 --link0 192.0.2.5 2>"$tmp/err" && grep -q "is pmxcfs running" "$tmp/err" &&
        [ ! -e "$PVE_COROSYNC_CONF" ] && [ ! -e "$PVE_COROSYNC_AUTHKEY" ]'
echo '{"nodename": "x", "version": 0}' >"$tmp/pve/.members"

for bad in "" "under_score" "sixteen-chars-xx" "dot.ted"; do
    check "refuses cluster name '$bad'" \
        eval '! "$PVECM" create "$bad" --link0 192.0.2.5 2>/dev/null && [ ! -e "$PVE_COROSYNC_CONF" ]'
done
check "refuses --nodeid 0, --votes x, a link0 with an unknown option" \
    eval '! "$PVECM" create c1 --nodeid 0 --link0 192.0.2.5 2>/dev/null &&
        ! "$PVECM" create c1 --votes x --link0 192.0.2.5 2>/dev/null &&
        ! "$PVECM" create c1 --link0 address=192.0.2.5,bogus=3 2>/dev/null && [ ! -e "$PVE_COROSYNC_CONF" ]'

check "create c1 --nodeid 3 --votes 2 --link0 address=192.0.2.5 succeeds" \
    eval '"$PVECM" create c1 --nodeid 3 --votes 2 --link0 address=192.0.2.5 >"$tmp/out"'
expected() {
    printf 'logging {\n  debug: off\n  to_syslog: yes\n}\n\n'
    printf 'nodelist {\n  node {\n    name: %s\n    nodeid: 3\n    quorum_votes: 2\n    ring0_addr: 192.0.2.5\n  }\n}\n\n' "$host"
    printf 'quorum {\n  provider: corosync_votequorum\n}\n\n'
    printf 'totem {\n  cluster_name: c1\n  config_version: 1\n  interface {\n    linknumber: 0\n  }\n'
    printf '  ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  version: 2\n}\n\n'
}
check "the same PVE-layout corosync.conf in the mount point and on the host" \
    eval 'cmp -s <(expected) "$tmp/pve/corosync.conf" && cmp -s <(expected) "$PVE_COROSYNC_CONF"'
check "host corosync.conf is 0644, authkey 256 bytes 0400" \
    eval '[ "$(stat -c %a "$PVE_COROSYNC_CONF")" = 644 ] && [ "$(stat -c %a:%s "$PVE_COROSYNC_AUTHKEY")" = 400:256 ]'
check "says what to start next" grep -q 'systemctl restart corosync pve-cluster' "$tmp/out"
check "no temporary files left; nodes/<host> created as upstream's gen_local_dirs does" \
    eval '[ "$(ls -A "$tmp/etc/corosync" | sort | tr "\n" " ")" = "authkey corosync.conf " ] &&
        [ "$(ls -A "$tmp/pve" | sort | tr "\n" " ")" = ".members corosync.conf nodes " ] &&
        [ -d "$tmp/pve/nodes/$host/qemu-server" ]'

check "a second create refuses: the cluster config exists" \
    eval '! "$PVECM" create c2 --link0 192.0.2.5 2>"$tmp/err" && grep -q "cluster config .* already exists" "$tmp/err"'
rm "$tmp/pve/corosync.conf"
key=$(md5sum <"$PVE_COROSYNC_AUTHKEY")
check "refuses while the host corosync.conf exists" \
    eval '! "$PVECM" create c2 --link0 192.0.2.5 2>"$tmp/err" && grep -q "corosync config .* already exists" "$tmp/err"'
rm "$PVE_COROSYNC_CONF"
check "an existing authkey is kept" \
    eval '"$PVECM" create c2 --link0 192.0.2.6 >/dev/null && [ "$(md5sum <"$PVE_COROSYNC_AUTHKEY")" = "$key" ] &&
        grep -q "cluster_name: c2" "$PVE_COROSYNC_CONF"'

rm "$tmp/pve/corosync.conf"
check "status outside a cluster: no corosync.conf in the mount point" \
    eval '! "$PVECM" status 2>"$tmp/err" && grep -q "is this node part of a cluster" "$tmp/err"'
check "usage: help exits 0, no verb or an unknown verb exits 1" \
    eval '"$PVECM" help | grep -q "pvecm create" && ! "$PVECM" 2>/dev/null && ! "$PVECM" frobnicate 2>/dev/null'

echo "1..$n"
exit $failed
