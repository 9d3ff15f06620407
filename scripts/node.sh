#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The README's node command: install what is missing, build, and bring up what exists of a
# single node. Today that is pmxcfs in local mode on /etc/pve; it says plainly what else is
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "run this as root: it mounts /etc/pve" >&2
    exit 1
fi
bash scripts/deps.sh node
[ -d build ] || meson setup build -Dbuildtype=debugoptimized >/dev/null
ninja -C build

pmxcfs=build/pmxcfs/pmxcfs
[ -e /dev/fuse ] || { echo "/dev/fuse is missing: load the fuse module (modprobe fuse)" >&2; exit 1; }
if [ "$($pmxcfs status)" = running ]; then
    echo "pmxcfs is already running"
else
    $pmxcfs -l
fi
echo
echo "pmxcfs: $($pmxcfs status), /etc/pve mounted (local mode). Try: ls -la /etc/pve; cat /etc/pve/.members"
echo "Stop it with: $pmxcfs stop"
echo
echo "Not there yet: pvedaemon, pveproxy (https://$(hostname -f 2>/dev/null || hostname):8006),"
echo "pvestatd and the other daemons; see the status table in README.md."
