#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# The daemon framework (common/src/daemon.c) driven through pve-testd, in a tmpdir:
# background start with a readiness pipe, status, the pid-file lock, reload via SIGHUP,
# stop (and its SIGKILL fallback), stale pid files, sd_notify messages, foreground mode,
# --check, start failures, the privilege drop and the usage errors.
# Usage: test-daemon.sh [path/to/pve-testd]. TAP on stdout; exit 0, 1 (failure) or 77 (skip).
# Every process started here is killed by its pid on exit; nothing is killed by name.

set -u

TESTD=${1:-${PVE_BUILD_ROOT:-.}/tests/integration/pve-testd}
if [ ! -x "$TESTD" ]; then
    echo "1..0 # SKIP pve-testd not found at '$TESTD'"
    exit 77
fi
TESTD=$(readlink -f "$TESTD")
if ! command -v python3 >/dev/null; then
    echo "1..0 # SKIP python3 missing (fake NOTIFY_SOCKET)"
    exit 77
fi

tmp=$(mktemp -d /tmp/test-daemon.XXXXXX)
export PVE_DAEMON_PIDFILE=$tmp/testd.pid
export TESTD_READY_FILE=$tmp/ready
export TESTD_RELOAD_FILE=$tmp/reload
unset NOTIFY_SOCKET TESTD_CONFIG TESTD_USER TESTD_GROUP TESTD_HANG_ON_STOP TESTD_READY_DELAY_MS
unset PVE_DAEMON_STOP_WAIT PVE_DAEMON_LOCK_WAIT JOURNAL_STREAM
PIDFILE=$PVE_DAEMON_PIDFILE

# Sanitizer reports of detached daemons would go to /dev/null: collect them in files instead
# (world-writable, for the daemon that drops to nobody) and fail on any at the end.
san=$tmp/sanitizer
mkdir -m 1777 "$san"
chmod 0711 "$tmp"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$san/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$san/ubsan"

started=() # pids of everything we started, killed on exit if still there

cleanup() {
    local p
    for p in "${started[@]}"; do
        [ -n "$p" ] && kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

n=0
failed=0
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=1
    echo "not ok $n - $1"
    shift
    local l
    for l in "$@"; do
        printf '%s\n' "$l" | sed 's/^/# /'
    done
}
skip() {
    n=$((n + 1))
    echo "ok $n - $1 # SKIP $2"
}
# check "description" command...: ok when the command succeeds
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc" "failed: $*"; fi
}

# wait_until SECONDS command...: poll every 50 ms
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ "$SECONDS" -gt "$deadline" ] && return 1
        sleep 0.05
    done
    return 0
}

# Alive = exists and is not a zombie (PID 1 here may not reap orphans).
alive() {
    local st
    [ -r "/proc/$1/stat" ] || return 1
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
dead() { ! alive "$1"; }

# run_testd [env...]: runs "$TESTD" "$@" capturing rc, out, err
run() {
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}
expect() { # expect "desc" rc out err (out/err: exact, or * for anything)
    local desc=$1 erc=$2 eout=$3 eerr=$4
    if [ "$rc" = "$erc" ] && { [ "$eout" = '*' ] || [ "$out" = "$eout" ]; } &&
        { [ "$eerr" = '*' ] || [ "$err" = "$eerr" ]; }; then
        ok "$desc"
    else
        not_ok "$desc" "rc=$rc (want $erc)" "stdout: $out" "stderr: $err"
    fi
}

pidfile_pid() { cat "$PIDFILE" 2>/dev/null; }
track() { started+=("$1"); }
file_has() { grep -qx -- "$2" "$1" 2>/dev/null; }

# ---- background start, status, lock, reload, stop -------------------------------------------

rm -f "$TESTD_READY_FILE" "$TESTD_RELOAD_FILE"
TESTD_READY_DELAY_MS=300 run "$TESTD" start
pid=$(pidfile_pid)
track "$pid"
expect "start detaches and prints nothing" 0 "" ""
check "start returned only after the daemon was ready" test -s "$TESTD_READY_FILE"
check "pid file names the ready daemon" test "ready $pid" = "$(cat "$TESTD_READY_FILE")"
check "pid file is '<pid>\\n', mode 0644" \
    test "$(od -An -c "$PIDFILE" | tr -d ' ')" = "${pid}\\n" -a "$(stat -c %a "$PIDFILE")" = 644
check "daemon alive" alive "$pid"
check "daemon leads its own session, stdin and stderr on /dev/null" \
    test "$(awk '{print $6}' "/proc/$pid/stat")" = "$pid" \
    -a "$(readlink "/proc/$pid/fd/0")" = /dev/null -a "$(readlink "/proc/$pid/fd/2")" = /dev/null

run "$TESTD" status
expect "status: running" 0 running ""

PVE_DAEMON_LOCK_WAIT=0 run "$TESTD" start
expect "second start refused by the lock" 255 "" \
    "start failed - can't acquire lock '$PIDFILE.lock' - daemon already started (pid = $pid)"
PVE_DAEMON_LOCK_WAIT=0 run "$TESTD" start --foreground
expect "second start --foreground refused too" 255 "" \
    "start failed - can't acquire lock '$PIDFILE.lock' - daemon already started (pid = $pid)"
check "first daemon unharmed, pid file kept" test "$(pidfile_pid)" = "$pid" -a -e "/proc/$pid"

kill -HUP "$pid"
check "SIGHUP runs the reload hook" wait_until 5 file_has "$TESTD_RELOAD_FILE" "reload 1"
run "$TESTD" reload
expect "reload verb succeeds" 0 "" ""
check "reload verb runs the reload hook" wait_until 5 file_has "$TESTD_RELOAD_FILE" "reload 2"
run "$TESTD" restart
expect "restart of a running daemon succeeds" 0 "" ""
check "restart of a running daemon = SIGHUP, same pid" \
    wait_until 5 file_has "$TESTD_RELOAD_FILE" "reload 3"
check "still the same process" test "$(pidfile_pid)" = "$pid"

run "$TESTD" stop
expect "stop succeeds silently" 0 "" ""
check "daemon gone after stop returned" dead "$pid"
check "pid file removed" test ! -e "$PIDFILE"
run "$TESTD" status
expect "status: stopped" 0 stopped ""
run "$TESTD" stop
expect "stop of a stopped daemon: exit 0, no output" 0 "" ""
run "$TESTD" reload
expect "reload of a stopped daemon fails" 255 "" "reload failed - daemon not running"

run "$TESTD" restart
pid=$(pidfile_pid)
track "$pid"
expect "restart of a stopped daemon starts it" 0 "" ""
check "restart started a live daemon" alive "$pid"
run "$TESTD" stop
expect "stop after restart" 0 "" ""

# ---- stale pid files ------------------------------------------------------------------------

sh -c 'exit 0' &
deadpid=$!
wait "$deadpid"
echo "$deadpid" >"$PIDFILE"
run "$TESTD" status
expect "stale pid file (dead process): status stopped" 0 stopped ""
run "$TESTD" start
pid=$(pidfile_pid)
track "$pid"
expect "stale pid file (dead process): start works" 0 "" ""
check "pid file rewritten with the new daemon" test "$pid" != "$deadpid" -a -n "$pid"
check "new daemon alive" alive "$pid"

# A daemon killed hard leaves its pid file (and maybe a zombie) behind.
kill -KILL "$pid"
wait_until 5 dead "$pid"
run "$TESTD" status
expect "killed daemon (stale pid file, maybe a zombie): status stopped" 0 stopped ""
check "pid file of the killed daemon still there" test -e "$PIDFILE"
run "$TESTD" stop
expect "stop with a stale pid file: exit 0, no output" 0 "" ""
check "stop removed the stale pid file" test ! -e "$PIDFILE"

sleep 300 &
sleeper=$!
track "$sleeper"
echo "$sleeper" >"$PIDFILE"
run "$TESTD" status
expect "pid file naming an unrelated live process: status stopped" 0 stopped ""
run "$TESTD" stop
expect "stop does not signal the unrelated process" 0 "" ""
check "unrelated process still alive, stale pid file removed" \
    eval 'alive "$sleeper" && test ! -e "$PIDFILE"'
echo "$sleeper" >"$PIDFILE"
run "$TESTD" start
pid=$(pidfile_pid)
track "$pid"
expect "pid file naming an unrelated live process: start works" 0 "" ""
check "pid file now names the daemon" test "$pid" != "$sleeper"
run "$TESTD" status
expect "status running after replacing the stale pid file" 0 running ""
run "$TESTD" stop
check "stop stopped the daemon but not the unrelated process" \
    eval 'dead "$pid" && alive "$sleeper"'
kill "$sleeper"
wait "$sleeper" 2>/dev/null

printf 'hello\n' >"$PIDFILE"
run "$TESTD" status
expect "garbage pid file: status stopped" 0 stopped ""
run "$TESTD" start
pid=$(pidfile_pid)
track "$pid"
expect "garbage pid file: start works" 0 "" ""
run "$TESTD" stop
expect "stop after garbage pid file" 0 "" ""

# ---- sd_notify ------------------------------------------------------------------------------

sock=$tmp/notify.sock
log=$tmp/notify.log
: >"$log"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).replace(b"\n", b" ").strip() + b"\n")
' "$sock" "$log" &
listener=$!
track "$listener"
wait_until 5 test -S "$sock"

notified() { grep -q -- "$1" "$log"; }
NOTIFY_SOCKET=$sock run "$TESTD" start
pid=$(pidfile_pid)
track "$pid"
expect "start with NOTIFY_SOCKET" 0 "" ""
check "READY=1 with MAINPID of the daemon sent" wait_until 5 notified "READY=1 MAINPID=$pid\$"
: >"$log"
run "$TESTD" reload
check "RELOADING=1 sent on reload" wait_until 5 notified "RELOADING=1 MONOTONIC_USEC=[0-9]*"
check "READY=1 sent after the reload" wait_until 5 eval 'sed -n "2p" "$log" | grep -q "^READY=1"'
check "reload hook ran between" file_has "$TESTD_RELOAD_FILE" "reload 1"
: >"$log"
run "$TESTD" stop
expect "stop with NOTIFY_SOCKET" 0 "" ""
check "STOPPING=1 sent on stop" notified "^STOPPING=1\$"

# ---- foreground -----------------------------------------------------------------------------

: >"$log"
rm -f "$TESTD_READY_FILE"
NOTIFY_SOCKET=$sock "$TESTD" start --foreground 2>"$tmp/fg.err" &
fg=$!
track "$fg"
check "foreground: READY=1 with MAINPID = the started process" \
    wait_until 10 notified "READY=1 MAINPID=$fg\$"
check "foreground: pid file names it" test "$(pidfile_pid)" = "$fg"
run "$TESTD" status
expect "foreground: status running" 0 running ""
kill -TERM "$fg"
wait "$fg"
rc=$?
check "foreground: SIGTERM ends it with exit 0" test "$rc" = 0
check "foreground: STOPPING=1 sent" notified "^STOPPING=1\$"
check "foreground: pid file removed" test ! -e "$PIDFILE"
check "foreground: logs on stderr" grep -q "pve-testd\[$fg\]: info: received signal TERM" \
    "$tmp/fg.err"

"$TESTD" start -f 2>/dev/null &
fg=$!
track "$fg"
wait_until 10 test -e "$PIDFILE"
wait_until 10 file_has "$TESTD_READY_FILE" "ready $fg"
kill -INT "$fg"
wait "$fg"
rc=$?
check "foreground: SIGINT ends it with exit 0 (even from a script, where & ignores it)" \
    test "$rc" = 0 -a ! -e "$PIDFILE"

kill "$listener"
wait "$listener" 2>/dev/null

# ---- stop falls back to SIGKILL -------------------------------------------------------------

TESTD_HANG_ON_STOP=1 run "$TESTD" start
pid=$(pidfile_pid)
track "$pid"
expect "start a daemon that hangs on SIGTERM" 0 "" ""
t0=$(date +%s%N)
PVE_DAEMON_STOP_WAIT=1 run "$TESTD" stop
t1=$(date +%s%N)
expect "stop of a hanging daemon succeeds" 0 "" \
    "pve-testd: server still running after 1 s - sending SIGKILL"
check "stop waited the stop wait before SIGKILL" test $(((t1 - t0) / 1000000)) -ge 1000
check "hanging daemon killed, pid file removed" eval 'dead "$pid" && test ! -e "$PIDFILE"'

# ---- --check --------------------------------------------------------------------------------

good=$tmp/good.conf
bad=$tmp/bad.conf
printf '# test\nname: alpha\n\nport: 1234\n' >"$good"
printf 'name: alpha\nbogus: 1\n' >"$bad"
TESTD_CONFIG=$good run "$TESTD" --check
expect "--check on a good config" 0 "" "configuration OK"
TESTD_CONFIG=$good run "$TESTD" -n -v
expect "-n -v prints the config back" 0 "name: alpha
port: 1234" "configuration OK"
TESTD_CONFIG=$bad run "$TESTD" --check
expect "--check on a bad config" 1 "" "$bad:2: unknown key 'bogus'"
TESTD_CONFIG=$good run "$TESTD" -n --config "$bad"
expect "daemon option --config overrides the env" 1 "" "$bad:2: unknown key 'bogus'"
run "$TESTD" --check -c "$tmp/missing.conf"
expect "--check on a missing config" 1 "" \
    "can't open config '$tmp/missing.conf' - No such file or directory"

# ---- start failures -------------------------------------------------------------------------

TESTD_CONFIG=$bad run "$TESTD" start
expect "start with a bad config: parent says why and fails" 255 "" \
    "start failed - $bad:2: unknown key 'bogus'"
check "failed start leaves no pid file" test ! -e "$PIDFILE"
TESTD_CONFIG=$bad run "$TESTD" start --foreground
expect "start --foreground with a bad config fails the same way" 255 "" \
    "start failed - $bad:2: unknown key 'bogus'"
TESTD_USER=no-such-user-pve run "$TESTD" start
expect "start with an unknown user fails" 255 "" \
    "start failed - can't change to user 'no-such-user-pve' group '-' - No such process"
PVE_DAEMON_LOCK_WAIT=0 TESTD_CONFIG=$good run "$TESTD" start
pid=$(pidfile_pid)
track "$pid"
expect "failed starts released the lock: next start works" 0 "" ""
run "$TESTD" stop
expect "stop" 0 "" ""

# ---- privilege drop -------------------------------------------------------------------------

if [ "$(id -u)" != 0 ] || ! getent passwd nobody >/dev/null; then
    skip "drop to nobody" "needs root and user nobody"
else
    ngid=$(id -g nobody)
    # nobody cannot write into our private tmpdir: no ready/reload files.
    env -u TESTD_READY_FILE -u TESTD_RELOAD_FILE TESTD_USER=nobody "$TESTD" start \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    pid=$(pidfile_pid)
    track "$pid"
    if [ "$rc" = 0 ] && [ -n "$pid" ]; then
        st=/proc/$pid/status
        check "drop to nobody: Uid line" grep -qxP 'Uid:\t65534\t65534\t65534\t65534' "$st"
        check "drop to nobody: Gid line" grep -qxP "Gid:\\t$ngid\\t$ngid\\t$ngid\\t$ngid" "$st"
        check "drop to nobody: no supplementary root group" \
            test "$(awk '/^Groups:/ {$1=""; print}' "$st" | tr -s ' ' | sed 's/^ //;s/ $//')" \
            = "$(id -G nobody)"
        run "$TESTD" status
        expect "dropped daemon: status running" 0 running ""
        run "$TESTD" stop
        expect "dropped daemon: stop" 0 "" ""
        check "dropped daemon gone, pid file removed by stop" \
            eval 'dead "$pid" && test ! -e "$PIDFILE"'
    else
        not_ok "drop to nobody: start" "rc=$rc" "$(cat "$tmp/err")"
    fi
fi

# ---- command line ---------------------------------------------------------------------------

run "$TESTD"
check "no command: exit 255 with usage on stderr" \
    eval '[ "$rc" = 255 ] && [ -z "$out" ] && grep -q "^Usage: pve-testd <command>" "$tmp/err"'
run "$TESTD" frobnicate
check "unknown command: exit 255 and says so" \
    eval '[ "$rc" = 255 ] && grep -q "unknown command .frobnicate." "$tmp/err"'
run "$TESTD" status extra
check "extra argument: exit 255" test "$rc" = 255
run "$TESTD" status --foreground
check "--foreground with status: exit 255" test "$rc" = 255
run "$TESTD" help
check "help: usage on stdout, exit 0" \
    eval '[ "$rc" = 0 ] && grep -q "^Usage: pve-testd" "$tmp/out" && [ -z "$err" ]'

other=$tmp/other.pid
run "$TESTD" start --pidfile "$other"
pid=$(cat "$other" 2>/dev/null)
track "$pid"
expect "--pidfile overrides \$PVE_DAEMON_PIDFILE" 0 "" ""
check "the other pid file is used" test -n "$pid" -a ! -e "$PIDFILE"
run "$TESTD" status
expect "status on the default pid file: stopped" 0 stopped ""
run "$TESTD" --pidfile "$other" status
expect "status --pidfile: running" 0 running ""
run "$TESTD" stop --pidfile "$other"
expect "stop --pidfile" 0 "" ""
check "other pid file removed" test ! -e "$other"

(cd "$tmp" && PVE_DAEMON_PIDFILE=rel.pid "$TESTD" start)
rc=$?
pid=$(cat "$tmp/rel.pid" 2>/dev/null)
track "$pid"
check "relative pid file path resolved against the caller's cwd" test "$rc" = 0 -a -n "$pid"
(cd "$tmp" && "$TESTD" stop --pidfile rel.pid)
check "stop with the relative path" eval 'dead "$pid" && test ! -e "$tmp/rel.pid"'

# ---- sanitizers -----------------------------------------------------------------------------

reports=$(find "$san" -type f)
if [ -z "$reports" ]; then
    ok "no sanitizer reports from any process"
else
    not_ok "no sanitizer reports from any process" "$(head -n 40 $reports)"
fi

echo "1..$n"
exit "$failed"
