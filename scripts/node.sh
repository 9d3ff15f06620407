#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The README's node command: install what is missing, build, and bring up what exists of a
# single node: pmxcfs in local mode on /etc/pve, pvedaemon on 127.0.0.1:85 and pveproxy on
# https://<host>:8006. It says plainly what is still missing.
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
pveproxy=build/pveproxy/pveproxy
pvestatd=build/pvestatd/pvestatd
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

if [ "$($pveproxy status)" = running ]; then
    echo "pveproxy is already running"
else
    $pveproxy start
fi

if [ "$($pvestatd status)" = running ]; then
    echo "pvestatd is already running"
else
    $pvestatd start
fi

host=$(hostname -f 2>/dev/null || hostname)
cat <<MSG

pmxcfs:    $($pmxcfs status); /etc/pve mounted in local mode (try: ls -la /etc/pve; cat /etc/pve/.members)
pvedaemon: $($pvedaemon status); privileged API on http://127.0.0.1:85/api2/json
pveproxy:  $($pveproxy status); https://$host:8006/api2/json (self-signed: cluster CA in
           /etc/pve/pve-root-ca.pem). Log in as root@pam with root's password, e.g.
           curl -k -d username=root@pam --data-urlencode password=... https://$host:8006/api2/json/access/ticket
           or: build/pvedaemon/pvesh get /nodes
pvestatd:  $($pvestatd status); node and storage status every 10 s into /var/lib/rrdcached/db
           (see: cat /etc/pve/.rrd; pvesh get /nodes/\$(hostname -s)/rrddata --timeframe hour)
Stop them: $pvestatd stop; $pveproxy stop; $pvedaemon stop; $pmxcfs stop

Not there yet: the web UI files, guests, HA, firewall and the other daemons;
see the status table in README.md.
MSG
