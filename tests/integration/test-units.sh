#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs the project into a DESTDIR (meson install) and runs `systemd-analyze verify` on
# every installed unit with that DESTDIR as root, so ExecStart paths resolve to the installed
# binaries. Any warning or error fails. TAP; exit 0, 1 or 77 (no systemd-analyze).
set -u
command -v systemd-analyze >/dev/null || { echo "1..0 # SKIP no systemd-analyze"; exit 77; }
build=${PVE_BUILD_ROOT:?}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
n=0 failed=0
if ! meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$dest.log" 2>&1; then
    cat "$dest.log" | sed 's/^/# /'
    echo "not ok 1 - meson install --destdir"
    echo "1..1"
    exit 1
fi
rm -f "$dest.log"
echo "ok $((n += 1)) - meson install --destdir"
units=$(find "$dest" -path '*/lib/systemd/system/*' \( -name '*.service' -o -name '*.socket' -o -name '*.timer' \) | sort)
[ -n "$units" ] || { echo "not ok $((n += 1)) - no units installed"; echo "1..$n"; exit 1; }
# systemd's own units (sysinit.target, ...) as the host has them, so ordering can resolve
mkdir -p "$dest/usr/lib/systemd/system"
for t in /lib/systemd/system/*.target /lib/systemd/system/*.slice; do
    [ -e "$t" ] && cp -n "$t" "$dest/usr/lib/systemd/system/" 2>/dev/null
done
for u in $units; do
    out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --root="$dest" "$u" 2>&1 |
        grep -v -e 'corosync.service' -e 'rrdcached.service' -e 'cron.service' -e 'time-sync.target' || true)
    if [ -z "$out" ]; then
        echo "ok $((n += 1)) - systemd-analyze verify $(basename "$u")"
    else
        echo "$out" | sed 's/^/# /'
        echo "not ok $((n += 1)) - systemd-analyze verify $(basename "$u")"
        failed=1
    fi
done
echo "1..$n"
exit $failed
