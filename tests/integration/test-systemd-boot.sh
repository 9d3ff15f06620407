#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# End-to-end test of the units under a real, booted systemd (slow suite).
#
# A minimal Debian 12 (debootstrap minbase + systemd + the shared libraries the installed
# binaries need, found from their DT_NEEDED entries) is cached in $PVE_E2E_CACHE (default
# /var/cache/pve-e2e, one directory per package set). Each run mounts an overlay over it,
# installs the build with `meson install --destdir`, enables the units, and boots it with
# systemd-nspawn in a network namespace of its own (lo plus the node's address on it, which
# /etc/hosts maps the host name to, as pmxcfs requires outside local mode). Then, inside:
# boot-time start in unit order, `systemctl status`, `<daemon> status`, the journal, an API call
# over HTTPS with a ticket, reload under load, stop/start, restart after SIGKILL, and a clean
# poweroff (pve-guests' stopall, no SIGKILL), read back from the persistent journal.
# TAP; exit 0, 1, or 77 when something it needs is missing.
set -u
. "$(dirname "$0")/lib-api.sh"

build=$(readlink -f "${PVE_BUILD_ROOT:?}")
[ "$(id -u)" = 0 ] || skip_all "needs root"
for c in debootstrap systemd-nspawn readelf ldconfig ip curl jq meson; do
    command -v $c >/dev/null || skip_all "no $c"
done
[ -c /dev/fuse ] || skip_all "no /dev/fuse"
sanitize=$(meson introspect --buildoptions "$build" | jq -r '.[] | select(.name == "b_sanitize") | .value')
[ "$sanitize" = none ] || skip_all "sanitizer build ($sanitize): the guest has no sanitizer runtime"

MIRROR=${PVE_E2E_MIRROR:-http://deb.debian.org/debian}
CACHE=${PVE_E2E_CACHE:-/var/cache/pve-e2e}
HOST=pve-e2e
ADDR=10.250.0.1
PASS=e2e-secret
UNITS="pve-cluster pvedaemon pveproxy pvestatd qmeventd"

TMP=$(mktemp -d /tmp/pve-e2e.XXXXXX)
NETNS=pve-e2e-$$
ROOTFS=$TMP/root
NSPAWN_PID=
cleanup() {
    if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
        kill -KILL "$NSPAWN_PID" 2>/dev/null
        wait "$NSPAWN_PID" 2>/dev/null
    fi
    mountpoint -q "$ROOTFS" && umount -l "$ROOTFS"
    ip netns del "$NETNS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# --- the guest's root file system --------------------------------------------------------
meson install -C "$build" --destdir "$TMP/dest" --no-rebuild --quiet >"$TMP/install.log" 2>&1 ||
    { not_ok "meson install --destdir" "$(cat "$TMP/install.log")"; api_finish; }

# Debian packages of the libraries the installed executables link against directly;
# debootstrap resolves their dependencies.
packages_needed() {
    local lib path pkg
    find "$TMP/dest" -type f -perm -u+x -exec readelf -d {} + 2>/dev/null |
        awk '/NEEDED/ { gsub(/[\[\]]/, "", $5); print $5 }' | sort -u |
        while read -r lib; do
            path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
            [ -n "$path" ] || { echo "unresolved:$lib"; continue; }
            path=$(readlink -f "$path")
            pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null)
            echo "${pkg%%:*}"
        done | sort -u
}
pkgs=$(packages_needed)
if grep -q unresolved: <<<"$pkgs"; then
    not_ok "libraries of the installed binaries map to packages" "$pkgs"
    api_finish
fi
include="systemd,systemd-sysv,dbus,$(tr '\n' ',' <<<"$pkgs")"
include=${include%,}
key=$(printf 'bookworm minbase %s %s' "$MIRROR" "$include" | sha256sum | cut -c1-16)
base=$CACHE/bookworm-$key
if [ ! -d "$base" ]; then
    mkdir -p "$CACHE"
    rm -rf "$base.tmp"
    if ! debootstrap --variant=minbase --include="$include" bookworm "$base.tmp" "$MIRROR" \
        >"$TMP/debootstrap.log" 2>&1; then
        rm -rf "$base.tmp"
        skip_all "debootstrap from $MIRROR failed: $(tail -1 "$TMP/debootstrap.log")"
    fi
    mv "$base.tmp" "$base"
fi
ok "debootstrapped Debian 12 with systemd and $(wc -l <<<"$pkgs") library packages (cache $base)"

mkdir -p "$ROOTFS" "$TMP/upper" "$TMP/work"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$TMP/upper,workdir=$TMP/work" "$ROOTFS" ||
    skip_all "no overlayfs"
cp -a "$TMP/dest/." "$ROOTFS/"
echo "$HOST" >"$ROOTFS/etc/hostname"
printf '127.0.0.1 localhost\n%s %s\n' "$ADDR" "$HOST" >"$ROOTFS/etc/hosts"
echo "root:$PASS" | chroot "$ROOTFS" chpasswd
mkdir -p "$ROOTFS/var/log/journal" # persistent: read back after poweroff
systemctl --root="$ROOTFS" --quiet enable $UNITS pve-guests 2>"$TMP/enable.log" ||
    { not_ok "systemctl enable" "$(cat "$TMP/enable.log")"; api_finish; }
ok "installed into the guest (meson install --destdir) and enabled: $UNITS pve-guests"

# --- boot ----------------------------------------------------------------------------------
ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
ip -n "$NETNS" addr add "$ADDR/32" dev lo
setsid systemd-nspawn -q -D "$ROOTFS" -b --register=no --keep-unit --bind=/dev/fuse \
    --hostname="$HOST" --network-namespace-path="/run/netns/$NETNS" --console=pipe \
    </dev/null >"$TMP/console.log" 2>&1 &
NSPAWN_PID=$!
guest_pid() { cat "/proc/$NSPAWN_PID/task/$NSPAWN_PID/children" 2>/dev/null | awk '{print $1}'; }
wait_until 30 test -n "$(guest_pid)"
PID1=$(guest_pid)
[ -n "$PID1" ] || { not_ok "systemd-nspawn started" "$(tail -20 "$TMP/console.log")"; api_finish; }
G() { nsenter -t "$PID1" -a "$@"; }
state=$(timeout 120 nsenter -t "$PID1" -a systemctl is-system-running --wait 2>&1)
check "the guest booted (is-system-running: $state)" matches "$state" running
[ "$state" = running ] || not_ok "no failed units" "$(G systemctl --failed --no-pager 2>&1)"

# --- started at boot, in order -------------------------------------------------------------
for u in $UNITS; do
    st=$(G systemctl status "$u" --no-pager 2>&1)
    check "$u started at boot: systemctl status says active (running)" \
        re_match "$st" "Active: active \(running\)"
done
prop() { G systemctl show "$1" -p "$2" --value; }
if [ "$(prop pve-guests ActiveState)" = active ] && [ "$(prop pve-guests Result)" = success ]; then
    ok "pve-guests ran startall at boot (active, success)"
else
    not_ok "pve-guests ran startall at boot" "$(G journalctl -b -u pve-guests --no-pager 2>&1)"
fi
ts() { G systemctl show "$1" -p ExecMainStartTimestampMonotonic --value; }
check "pve-cluster was up before pvedaemon and pveproxy started" \
    eval '[ "$(ts pve-cluster)" -lt "$(ts pvedaemon)" ] && [ "$(ts pvedaemon)" -lt "$(ts pveproxy)" ]'
check "pve-guests started after the API daemons and qmeventd" \
    eval '[ "$(ts pveproxy)" -lt "$(G systemctl show pve-guests -p ExecMainStartTimestampMonotonic --value)" ]'
for d in pmxcfs pvedaemon pveproxy pvestatd; do
    out=$(G "$d" status 2>&1)
    check "'$d status' inside the guest prints running" matches "$out" running
done
check "the installed /etc/default/pveproxy passes 'pveproxy --check'" eval 'G pveproxy --check >/dev/null 2>&1'
check "tmpfiles made /var/log/pve/tasks for www-data at boot" \
    matches "$(G stat -c %U:%a /var/log/pve/tasks 2>&1)" "www-data:755"
check "/etc/pve is the pmxcfs FUSE mount" eval 'G findmnt -n -o FSTYPE /etc/pve | grep -q fuse'
for pair in pve-cluster:"pmxcfs running on node '$HOST'" pvedaemon:"starting server" pveproxy:"listening on port 8006" \
    pvestatd:"status update every 10 s" qmeventd:"listening on /var/run/qmeventd.sock"; do
    u=${pair%%:*} want=${pair#*:}
    log=$(G journalctl -b -u "$u" --no-pager -o cat 2>&1)
    check "the journal holds $u's start-up line ('$want')" re_match "$log" "$want"
done

# --- the API over HTTPS, from the host through the guest's network namespace ---------------
N() { ip netns exec "$NETNS" "$@"; }
CODE= BODY=$(N curl -sk --max-time 10 -d username=root@pam --data-urlencode "password=$PASS" \
    "https://$ADDR:8006/api2/json/access/ticket")
ticket=$(jq -r '.data.ticket // empty' <<<"$BODY")
check "POST /access/ticket for root@pam (PAM inside the guest) gives a ticket" test -n "$ticket"
api8006() { N curl -sk --max-time 10 -o /dev/null -w '%{http_code}' -b "PVEAuthCookie=$ticket" "https://$ADDR:8006/api2/json$1"; }
BODY=$(N curl -sk --max-time 10 -b "PVEAuthCookie=$ticket" "https://$ADDR:8006/api2/json/version")
check "GET /version with the ticket answers (pveproxy)" eval 'jq -e ".data.version" <<<"$BODY" >/dev/null'
BODY=$(N curl -sk --max-time 10 -b "PVEAuthCookie=$ticket" "https://$ADDR:8006/api2/json/nodes/$HOST/services")
check "GET /nodes/$HOST/services (forwarded to pvedaemon) answers" \
    eval 'jq -e ".data | length > 0" <<<"$BODY" >/dev/null'
CODE=$(N curl -sk --max-time 10 -o /dev/null -w '%{http_code}' "https://$ADDR:8006/api2/json/nodes")
check "GET /nodes without a ticket is 401" matches "$CODE" 401
CODE= BODY=

# --- reload keeps serving ------------------------------------------------------------------
main_pid() { G systemctl show "$1" -p MainPID --value; }
pp_pid=$(main_pid pveproxy)
# in-process calls and GETs forwarded to pvedaemon (over kept-alive connections)
(for i in $(seq 40); do api8006 /version; echo; api8006 "/nodes/$HOST/services"; echo; sleep 0.05; done) >"$TMP/during-reload" &
load=$!
sleep 0.5
check "systemctl reload pveproxy succeeds" G systemctl reload pveproxy
sleep 0.5
G systemctl reload pvedaemon
wait $load
codes=$(sort "$TMP/during-reload" | uniq -c | tr -s ' \n' '  ')
check "every request during two reloads answered 200 ($codes)" eval '! grep -qv "^200$" "$TMP/during-reload"'
check "pveproxy kept its main process over the reload" matches "$(main_pid pveproxy)" "$pp_pid"
check "pveproxy still serves after the reload" matches "$(api8006 /version)" 200
# what logrotate does: move the log away, reload; the next request lands in a new file
G mv /var/log/pveproxy/access.log /var/log/pveproxy/access.log.1
G systemctl reload pveproxy
wait_until 10 eval '[ "$(api8006 /version?after=rotate)" = 200 ] && G test -s /var/log/pveproxy/access.log'
check "after a rotation and reload, requests go to a fresh access.log" \
    eval 'G grep -q "after=rotate" /var/log/pveproxy/access.log &&
        ! G grep -q "after=rotate" /var/log/pveproxy/access.log.1'

# --- SIGKILL is followed by a restart -------------------------------------------------------
pd_pid=$(main_pid pvedaemon)
G systemctl kill -s KILL pvedaemon
restarted() { local p; p=$(main_pid pvedaemon); [ "$p" != 0 ] && [ "$p" != "$pd_pid" ] &&
    [ "$(G systemctl is-active pvedaemon)" = active ]; }
check "pvedaemon is restarted after systemctl kill -s KILL" wait_until 20 restarted
check "NRestarts of pvedaemon is 1" matches "$(G systemctl show pvedaemon -p NRestarts --value)" 1
check "the API answers through the restarted pvedaemon" \
    eval 'wait_until 10 eval "[ \"\$(api8006 /nodes/$HOST/services)\" = 200 ]"'

# --- stop and start by hand ---------------------------------------------------------------
for u in pveproxy pvestatd; do
    G systemctl stop "$u"
    st="$(prop "$u" ActiveState) $(prop "$u" Result)"
    check "systemctl stop $u: inactive, result success ($st)" matches "$st" "inactive success"
done
check "'pveproxy status' prints stopped after systemctl stop" matches "$(G pveproxy status 2>&1)" stopped
check "systemctl start pveproxy pvestatd" G systemctl start pveproxy pvestatd
check "pveproxy serves again" eval 'wait_until 10 eval "[ \"\$(api8006 /version)\" = 200 ]"'

# --- clean poweroff ----------------------------------------------------------------------------
G logger -t pve-e2e POWEROFF-MARK
G systemctl poweroff
wait_until 60 eval '! kill -0 $NSPAWN_PID 2>/dev/null'
check "the guest powered off within 60 s" eval '! kill -0 $NSPAWN_PID 2>/dev/null'
wait "$NSPAWN_PID" 2>/dev/null
NSPAWN_PID=
# what the persistent journal recorded from the poweroff on
shutdown_log=$(journalctl -D "$ROOTFS/var/log/journal" --no-pager -o short-monotonic 2>&1 |
    sed -n '/POWEROFF-MARK/,$p')
check "the journal recorded the shutdown" re_match "$shutdown_log" "Stopped pve-cluster"
line_of() { grep -n -m1 "$1" <<<"$shutdown_log" | cut -d: -f1; }
check "at poweroff pve-guests ran stopall and stopped before pvedaemon and pveproxy" \
    eval '[ -n "$(line_of "Stopped pve-guests")" ] &&
        [ "$(line_of "Stopped pve-guests")" -lt "$(line_of "Stopping pvedaemon")" ] &&
        [ "$(line_of "Stopped pve-guests")" -lt "$(line_of "Stopping pveproxy")" ]'
check "pve-cluster stopped after the daemons that use it" \
    eval '[ "$(line_of "Stopped pvedaemon")" -lt "$(line_of "Stopping pve-cluster")" ]'
for u in $UNITS; do
    ulog=$(grep "$u" <<<"$shutdown_log")
    check "$u stopped at poweroff without SIGKILL or a timeout" \
        eval 'grep -q "Stopped $u" <<<"$ulog" && ! grep -qE "KILL|timed out|Failed with result" <<<"$ulog"'
done
all=$(journalctl -D "$ROOTFS/var/log/journal" --no-pager -o cat 2>&1)
failures=$(grep "Failed with result" <<<"$all" | grep -v "^pvedaemon.service: Failed with result 'signal'")
check "no unit failed during the run (except the pvedaemon killed on purpose)" test -z "$failures"
api_finish
