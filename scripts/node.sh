#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The README's node command: install what is missing, build, and bring up what exists of a
# single node: pmxcfs in local mode on /etc/pve and pvedaemon's first slice on 127.0.0.1:85. It
# says plainly what is still missing.
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
pvedaemon=build/pvedaemon/pvedaemon
[ -e /dev/fuse ] || { echo "/dev/fuse is missing: load the fuse module (modprobe fuse)" >&2; exit 1; }
if [ "$($pmxcfs status)" = running ]; then
    echo "pmxcfs is already running"
else
    $pmxcfs -l
fi
if [ "$($pvedaemon status)" = running ]; then
    echo "pvedaemon is already running"
else
    $pvedaemon start
fi

host=$(hostname -f 2>/dev/null || hostname)
cat <<MSG

pmxcfs:    $($pmxcfs status); /etc/pve mounted in local mode (try: ls -la /etc/pve; cat /etc/pve/.members)
pvedaemon: $($pvedaemon status); API on http://127.0.0.1:85/api2/json - first slice only:
           POST /access/ticket (pve-realm users in /etc/pve/priv/shadow.cfg), GET /version, GET /nodes
Stop them: $pvedaemon stop; $pmxcfs stop

Not there yet: pveproxy (https://$host:8006), pvestatd and the other daemons;
see the status table in README.md.
MSG
