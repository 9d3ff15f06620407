#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# pvedaemon against a local-mode pmxcfs in a private mount namespace: login (ticket + CSRF
# token), a wrong password (401 after >= 3 s), /version without and with the ticket, an unknown
# path (501), a bad parameter (400 with errors), `pvedaemon status`, stop.
# TAP on stdout; exit 0, 1 (failure) or 77 (skip). Processes are killed by pid only.

set -u

ROOT=${PVE_BUILD_ROOT:-.}
PMXCFS=$ROOT/pmxcfs/pmxcfs
PVEDAEMON=$ROOT/pvedaemon/pvedaemon

for c in curl openssl unshare python3; do
    if ! command -v $c >/dev/null; then
        echo "1..0 # SKIP $c missing"
        exit 77
    fi
done
if [ ! -x "$PMXCFS" ] || [ ! -x "$PVEDAEMON" ]; then
    echo "1..0 # SKIP pmxcfs or pvedaemon not built"
    exit 77
fi
if [ "$(id -u)" != 0 ] || [ ! -e /dev/fuse ]; then
    echo "1..0 # SKIP needs root and /dev/fuse"
    exit 77
fi

if [ -z "${PVEDAEMON_TEST_NS:-}" ]; then
    export PVEDAEMON_TEST_NS=1
    exec unshare -m --propagation private "$0" "$@"
fi

PMXCFS=$(readlink -f "$PMXCFS")
PVEDAEMON=$(readlink -f "$PVEDAEMON")
tmp=$(mktemp -d /tmp/test-pvedaemon.XXXXXX)
mnt=$tmp/mnt
mkdir -p "$mnt" "$tmp/var" "$tmp/run"
export PVE_CFS_MOUNTPOINT=$mnt
export PVE_DAEMON_PIDFILE=$tmp/pvedaemon.pid
export PVE_CFS_IPC_SERVICE="pdtest$$"
unset NOTIFY_SOCKET JOURNAL_STREAM

cfs_pid=
pd_pid=
cleanup() {
    [ -n "$pd_pid" ] && kill -0 "$pd_pid" 2>/dev/null && kill -KILL "$pd_pid" 2>/dev/null
    if [ -n "$cfs_pid" ] && kill -0 "$cfs_pid" 2>/dev/null; then
        kill -TERM "$cfs_pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$cfs_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$cfs_pid" 2>/dev/null
    fi
    umount -l "$mnt" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift
    local l; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
wait_until() {
    local deadline=$((SECONDS + $1)); shift
    while ! "$@"; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.05
    done
}

"$PMXCFS" -f -l --mountpoint="$mnt" --vardir="$tmp/var" --rundir="$tmp/run" \
    --pidfile="$tmp/pmxcfs.pid" --nodename=testnode --ipc-service="$PVE_CFS_IPC_SERVICE" \
    >"$tmp/pmxcfs.log" 2>&1 &
cfs_pid=$!
if wait_until 20 mountpoint -q "$mnt"; then ok "pmxcfs mounted"; else
    not_ok "pmxcfs mounted" "$(cat "$tmp/pmxcfs.log")"; echo "1..$n"; exit 1
fi

hash=$(openssl passwd -5 -salt abcdefgh secret)
mkdir -p "$mnt/priv" 2>/dev/null
printf 'tester@pve:%s:\n' "$hash" >"$mnt/priv/shadow.cfg"
printf 'user:tester@pve:1:0:::::::\n\nacl:1:/:tester@pve:PVEAuditor:\n' >"$mnt/user.cfg"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port/api2/json
"$PVEDAEMON" start --foreground --port "$port" --listen 127.0.0.1 >"$tmp/pd.log" 2>&1 &
pd_pid=$!
if wait_until 20 curl -s -o /dev/null "$base/version"; then ok "pvedaemon listens"; else
    not_ok "pvedaemon listens" "$(cat "$tmp/pd.log")"; echo "1..$n"; exit 1
fi

if [ -s "$mnt/priv/authkey.key" ] && [ -s "$mnt/authkey.pub" ] && [ -s "$mnt/pve-www.key" ]; then
    ok "key material generated"
else
    not_ok "key material generated" "$(ls -la "$mnt" "$mnt/priv")"
fi

out=$(curl -s -w '\n%{http_code}' -d username=tester -d realm=pve -d password=secret "$base/access/ticket")
code=${out##*$'\n'}
body=${out%$'\n'*}
ticket=$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["ticket"])' 2>/dev/null)
csrf=$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["CSRFPreventionToken"])' 2>/dev/null)
user=$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["username"])' 2>/dev/null)
if [ "$code" = 200 ] && [[ $ticket == PVE:tester@pve:* ]] && [[ $csrf =~ ^[0-9A-F]{8}:.{43}$ ]] &&
    [ "$user" = tester@pve ]; then
    ok "login returns ticket and CSRF token"
else
    not_ok "login returns ticket and CSRF token" "code=$code body=$body"
fi

t0=$(date +%s.%N)
out=$(curl -s -w '\n%{http_code}' -d username=tester@pve -d password=wrong "$base/access/ticket")
t1=$(date +%s.%N)
code=${out##*$'\n'}
body=${out%$'\n'*}
if [ "$code" = 401 ] && python3 -c "import sys; sys.exit(0 if $t1 - $t0 >= 2.95 else 1)" &&
    [[ $body == *'"message":"authentication failure\n"'* ]]; then
    ok "wrong password: 401 after >= 3 s"
else
    not_ok "wrong password: 401 after >= 3 s" "code=$code took=$t0..$t1 body=$body"
fi

out=$(curl -s -i "$base/version")
if [[ $out == "HTTP/1.1 401 No ticket"* ]] && [[ $out == *$'Content-Length: 0\r'* ]]; then
    ok "/version without ticket: 401 No ticket, empty body"
else
    not_ok "/version without ticket: 401 No ticket, empty body" "$out"
fi

out=$(curl -s -w '\n%{http_code}' -b "PVEAuthCookie=$ticket" "$base/version")
code=${out##*$'\n'}
body=${out%$'\n'*}
if [ "$code" = 200 ] && [[ $body == *'"version":'* ]] && [[ $body == *'"repoid":'* ]]; then
    ok "/version with ticket cookie: 200"
else
    not_ok "/version with ticket cookie: 200" "code=$code body=$body"
fi

code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: PVEAuthCookie=$ticket" "$base/nodes")
if [ "$code" = 200 ]; then ok "/nodes with Authorization header: 200"; else
    not_ok "/nodes with Authorization header: 200" "code=$code"
fi

out=$(curl -s -i -b "PVEAuthCookie=$ticket" "$base/no/such/path")
if [[ $out == "HTTP/1.1 501 Method 'GET /no/such/path' not implemented"* ]]; then
    ok "unknown path: 501"
else
    not_ok "unknown path: 501" "$out"
fi

out=$(curl -s -w '\n%{http_code}' -d username=tester@pve "$base/access/ticket")
code=${out##*$'\n'}
body=${out%$'\n'*}
if [ "$code" = 400 ] && [[ $body == *'"errors":{"password":'* ]]; then
    ok "missing parameter: 400 with errors"
else
    not_ok "missing parameter: 400 with errors" "code=$code body=$body"
fi

out=$(curl -s -w '\n%{http_code}' -d username=tester@pve --data-urlencode "password=$ticket" "$base/access/ticket")
code=${out##*$'\n'}
if [ "$code" = 200 ] && [[ $out == *'"ticket":"PVE:tester@pve:'* ]]; then
    ok "ticket renewal with the ticket as password"
else
    not_ok "ticket renewal with the ticket as password" "$out"
fi

workers() { ps --ppid "$pd_pid" -o pid= | tr -d ' ' | sort; }
w0=$(workers)
if [ "$(echo "$w0" | grep -c .)" -ge 2 ]; then ok "at least two worker processes"; else
    not_ok "at least two worker processes" "$w0"
fi
victim=$(echo "$w0" | head -1)
kill -KILL "$victim"
respawned() { [ "$(workers | grep -c .)" -ge 2 ] && ! workers | grep -qx "$victim"; }
if wait_until 5 respawned &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' -b "PVEAuthCookie=$ticket" "$base/version")" = 200 ]; then
    ok "a killed worker is replaced and requests keep working"
else
    not_ok "a killed worker is replaced and requests keep working" "$(workers)"
fi

# reload under load: no request may fail, the workers are replaced
w1=$(workers)
(
    fails=0
    for _ in $(seq 300); do
        c=$(curl -s -o /dev/null -w '%{http_code}' -b "PVEAuthCookie=$ticket" "$base/version")
        [ "$c" = 200 ] || fails=$((fails + 1))
    done
    echo "$fails" >"$tmp/reload-fails"
) &
loader=$!
sleep 0.3
kill -HUP "$pd_pid"
wait "$loader"
replaced() { [ -z "$(comm -12 <(workers) <(echo "$w1"))" ] && [ "$(workers | grep -c .)" -ge 2 ]; }
if [ "$(cat "$tmp/reload-fails")" = 0 ] && wait_until 15 replaced; then
    ok "SIGHUP reload replaces the workers without failing a request"
else
    not_ok "SIGHUP reload replaces the workers without failing a request" \
        "fails=$(cat "$tmp/reload-fails") before=$w1 now=$(workers)"
fi

st=$("$PVEDAEMON" status 2>&1)
if [ "$st" = running ]; then ok "pvedaemon status: running"; else
    not_ok "pvedaemon status: running" "$st"
fi

kill -TERM "$pd_pid"
if wait_until 10 eval '! kill -0 $pd_pid 2>/dev/null'; then
    wait "$pd_pid" 2>/dev/null
    pd_pid=
    ok "pvedaemon stops on SIGTERM"
else
    not_ok "pvedaemon stops on SIGTERM"
fi
st=$("$PVEDAEMON" status 2>&1)
if [ "$st" = stopped ]; then ok "pvedaemon status: stopped"; else
    not_ok "pvedaemon status: stopped" "$st"
fi

echo "1..$n"
[ $failed = 0 ] || { echo "# pvedaemon log:"; sed 's/^/# /' "$tmp/pd.log"; }
exit $failed
