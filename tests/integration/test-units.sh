#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs the project into a DESTDIR (meson install) and runs `systemd-analyze verify` on
# every installed unit with that DESTDIR as root, so ExecStart paths resolve to the installed
# binaries. Any warning or error fails. Then the default files: `logrotate -d` on the logrotate
# file, `systemd-tmpfiles --create` of the tmpfiles.d file into a scratch root.
# TAP; exit 0, 1 or 77 (no systemd-analyze).
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
# the default files: logrotate parses ours; tmpfiles creates its directories in a scratch root
lr=$(find "$dest" -path '*/logrotate.d/*' -type f)
if [ -z "$lr" ]; then
    echo "not ok $((n += 1)) - logrotate file installed"; failed=1
elif command -v logrotate >/dev/null; then
    out=$(logrotate -d -s "$dest/lr.state" $lr 2>&1)
    if grep -qi "error" <<<"$out" || ! grep -q "pveproxy/access.log" <<<"$out"; then
        echo "$out" | sed 's/^/# /'
        echo "not ok $((n += 1)) - logrotate -d accepts $(basename $lr)"; failed=1
    else
        echo "ok $((n += 1)) - logrotate -d accepts $(basename $lr)"
    fi
fi
tf=$(find "$dest" -path '*/tmpfiles.d/*' -name '*.conf')
troot="$dest/tmpfiles-root"
mkdir -p "$troot/etc"
cp /etc/passwd /etc/group "$troot/etc/"
if [ -n "$tf" ] && systemd-tmpfiles --root="$troot" --create $tf >"$dest/tf.log" 2>&1 &&
    [ "$(stat -c %U "$troot/var/log/pve/tasks" 2>/dev/null)" = www-data ]; then
    echo "ok $((n += 1)) - systemd-tmpfiles --create makes the task dir for www-data"
else
    cat "$dest/tf.log" 2>/dev/null | sed 's/^/# /'
    echo "not ok $((n += 1)) - systemd-tmpfiles --create makes the task dir for www-data"; failed=1
fi
echo "1..$n"
exit $failed
