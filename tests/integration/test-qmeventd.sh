#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# qmeventd end to end, in a private mount + network namespace with a tmpfs on /run: qmeventd
# -f -v -t 3 on /run/qmeventd.sock with PVE_QM_BIN = a script that records its arguments, and
# real QEMU guests (TCG) from lib-guest-image.sh connected through their qmp-event chardev:
#   - a guest powered off by the ACPI button quits at once: `cleanup <vmid> 1 1`
#   - a guest ignoring the button stays; SIGKILLed QEMU: `cleanup <vmid> 0 0`
#   - a backup (vzdump client) keeps a powered-off guest until the vzdump connection closes
#   - the kill timeout, with a fake QEMU (python) that ignores quit and SIGTERM: SIGKILL after
#     3 s and not before; a fake answering "running" is not told to quit
#   - socket mode 0600, non-root clients refused (SO_PEERCRED), invalid JSON and a greeting from
#     a process without -pidfile survive, no zombies, SIGTERM ends it; daemonizing without -f;
#     usage errors
# TAP; exit 77 when qemu-system-x86_64, python3 or unshare are missing or we are not root.
set -u
ROOT=${PVE_BUILD_ROOT:-.}
QMEVENTD=$(readlink -f "$ROOT/qmeventd/qmeventd")
HERE=$(cd "$(dirname "$0")" && pwd)
skip_all() { echo "1..0 # SKIP $1"; exit 77; }
[ -x "$QMEVENTD" ] || skip_all "qmeventd not built"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
command -v python3 >/dev/null || skip_all "python3 missing"
command -v unshare >/dev/null || skip_all "unshare missing"
command -v socat >/dev/null || skip_all "socat missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, SO_PEERCRED uid 0)"

if [ -z "${QMEVENTD_TEST_NS:-}" ]; then
    export QMEVENTD_TEST_NS=1
    exec unshare -m -n --propagation private "$0" "$@"
fi
mount -t tmpfs -o mode=755 tmpfs /run || skip_all "cannot mount a tmpfs on /run"
mkdir -p /run/qemu-server /run/lock
ip link set lo up 2>/dev/null
unset NOTIFY_SOCKET JOURNAL_STREAM

. "$HERE/lib-guest-image.sh"

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() {
    local d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}
wait_until() { # SECONDS COMMAND...: poll every 0.1 s
    local i; for ((i = 0; i < $1 * 10; i++)); do "${@:2}" && return 0; sleep 0.1; done; return 1
}

TMP=$(mktemp -d /tmp/test-qmeventd.XXXXXX)
SOCK=/run/qmeventd.sock
LOG=$TMP/qmeventd.log
QM_LOG=$TMP/qm.log
QPID=
PIDS=() # everything else we started (fakes, clients), killed by pid at the end
cleanup() {
    local f p
    for f in /run/qemu-server/*.pid; do
        [ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    [ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
    if [ "$failed" != 0 ]; then
        echo "# qmeventd log:"; sed 's/^/#   /' "$LOG"
        echo "# qm calls:"; sed 's/^/#   /' "$QM_LOG" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
printf '#!/bin/sh\necho "$*" >>%s\n' "$QM_LOG" >"$TMP/qm"
chmod +x "$TMP/qm"
: >"$QM_LOG"
qm_called() { grep -qx "cleanup $1" "$QM_LOG"; }
qm_called_for() { grep -q "^cleanup $1 " "$QM_LOG"; }
log_has() { grep -q -- "$1" "$LOG"; }
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }

# ---- command line -------------------------------------------------------------------------
"$QMEVENTD" >/dev/null 2>&1
check "no socket argument: exit 1" [ $? = 1 ]
"$QMEVENTD" -t 0 "$TMP/x.sock" >/dev/null 2>&1
check "-t 0: exit 1" [ $? = 1 ]
"$QMEVENTD" -t abc "$TMP/x.sock" >/dev/null 2>&1
check "-t abc: exit 1" [ $? = 1 ]
check "-h: usage on stdout, exit 0" bash -c "'$QMEVENTD' -h | grep -q '^usage: .* \[options\] <socket>'"
check "nothing created by the usage errors" [ ! -e "$TMP/x.sock" ]

# ---- daemonizing without -f ---------------------------------------------------------------
"$QMEVENTD" -t 3 /run/qmeventd-bg.sock 2>"$TMP/bg.log"
check "without -f: the command returns 0" [ $? = 0 ]
check "without -f: socket listening" test -S /run/qmeventd-bg.sock
bg_pid=$(ps -eo pid=,args= | awk '$0 ~ /qmeventd -t 3 \/run\/qmeventd-bg.sock$/ {print $1}')
check "without -f: a detached qmeventd runs" bash -c "[ -n '$bg_pid' ] && kill -0 $bg_pid"
[ -n "$bg_pid" ] && PIDS+=("$bg_pid")
check "detached daemon is not our child" bash -c "! ps -o pid= --ppid $$ | grep -qw '$bg_pid'"
[ -n "$bg_pid" ] && kill "$bg_pid" && check "detached daemon ends on SIGTERM" wait_until 5 dead "$bg_pid"

# ---- the PVE daemon verbs (hosts without systemd) -------------------------------------------
export PVE_DAEMON_PIDFILE=/run/qmeventd-verb.pid
check "qmeventd status before start prints stopped" [ "$("$QMEVENTD" status)" = stopped ]
check "qmeventd start --socket ... returns 0 once listening" \
    eval '"$QMEVENTD" start --socket /run/qmeventd-verb.sock --kill-timeout 3 2>"$TMP/verb.log" &&
        test -S /run/qmeventd-verb.sock'
verb_pid=$(cat /run/qmeventd-verb.pid 2>/dev/null)
[ -n "$verb_pid" ] && PIDS+=("$verb_pid")
check "qmeventd status prints running" [ "$("$QMEVENTD" status)" = running ]
check "a second start fails while it runs" eval '! "$QMEVENTD" start --socket /run/qmeventd-v2.sock 2>/dev/null'
check "qmeventd stop ends it" eval '"$QMEVENTD" stop && wait_until 5 dead "$verb_pid"'
check "qmeventd status after stop prints stopped" [ "$("$QMEVENTD" status)" = stopped ]
check "start with a bad --kill-timeout is a usage error" eval '! "$QMEVENTD" start --kill-timeout x 2>/dev/null'
unset PVE_DAEMON_PIDFILE

# ---- the daemon under test -----------------------------------------------------------------
PVE_QM_BIN=$TMP/qm "$QMEVENTD" -f -v -t 3 "$SOCK" 2>"$LOG" &
QPID=$!
check "qmeventd -f listens on $SOCK" wait_until 10 test -S "$SOCK"
check "socket mode 0600" [ "$(stat -c %a "$SOCK" 2>/dev/null)" = 600 ]

# A python client: connect, optionally send bytes, report "eof" when the daemon closes the
# connection within the wait, "open" otherwise.
cat >"$TMP/client.py" <<'EOF'
import socket, sys
path, data, wait = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3])
s = socket.socket(socket.AF_UNIX)
s.connect(path)
if data:
    s.sendall(data)
s.settimeout(wait)
try:
    print("eof" if s.recv(4096) == b"" else "data")
except socket.timeout:
    print("open")
EOF
client() { python3 "$TMP/client.py" "$SOCK" "$@" 2>&1; }

# ---- peer credentials, invalid input -------------------------------------------------------
chmod 666 "$SOCK"
# socat ends when qmeventd closes the connection; timeout says 124 when it stays open
setpriv --reuid=65534 --regid=65534 --clear-groups timeout 3 socat -u "UNIX-CONNECT:$SOCK" - >/dev/null 2>&1
rc=$?
check "non-root client: connection closed at once (status $rc)" [ "$rc" = 0 ]
check "non-root client: refusal logged" wait_until 5 log_has "uid 65534 is not root"
chmod 600 "$SOCK"
check "root client that says nothing stays connected" [ "$(client "" 0.5)" = open ]
check "garbage: connection kept" [ "$(client 'xx{]} {"a": tru} [1}] hello' 0.5)" = open ]
check "garbage: logged as invalid data" log_has "invalid data"
big=$(printf '{"a":"%05000d' 0)
check "an unterminated 5000 byte value: connection kept" [ "$(client "$big" 0.5)" = open ]
check "a vzdump message without vmid: connection kept" [ "$(client '{"vzdump":{}}' 0.5)" = open ]
check "QMP greeting from a process without -pidfile: closed" \
    [ "$(client '{"QMP":{"version":{},"capabilities":[]}}' 3)" = eof ]
check "  and logged" log_has "could not get the VMID"
check "qmeventd still running after all that" alive "$QPID"
check "no cleanup run so far" [ ! -s "$QM_LOG" ]

# ---- real guests -----------------------------------------------------------------------------
guest_image_poweroff "$TMP/poweroff.img"
guest_image_hang "$TMP/hang.img"
start_vm() { # VMID IMAGE
    qemu-system-x86_64 -accel tcg -m 32 -name "test$1" \
        -pidfile "/run/qemu-server/$1.pid" -daemonize -no-shutdown \
        -chardev "socket,id=qmp,path=/run/qemu-server/$1.qmp,server=on,wait=off" \
        -mon chardev=qmp,mode=control \
        -chardev "socket,id=qmp-event,path=$SOCK,reconnect=5" -mon chardev=qmp-event,mode=control \
        -display none -nodefaults -drive "file=$2,format=raw" 2>>"$TMP/qemu.log"
}
vm_pid() { cat "/run/qemu-server/$1.pid" 2>/dev/null; }

# 100: powers off on the ACPI button -> SHUTDOWN guest:true -> query-status -> quit -> exit
start_vm 100 "$TMP/poweroff.img"
check "VM 100 started" alive "$(vm_pid 100)"
pid100=$(vm_pid 100)
check "VM 100: qmeventd got its VMID from -pidfile" wait_until 10 log_has "100: QEMU pid $pid100 connected"
check "VM 100: guest up" guest_image_wait_up /run/qemu-server/100.qmp 30
check "VM 100: system_powerdown accepted" eval 'guest_qmp /run/qemu-server/100.qmp system_powerdown >/dev/null'
check "VM 100: QEMU exits after the guest powered off" wait_until 10 dead "$pid100"
# qmeventd's own verdict, not a wall clock that also counts the TCG guest's power-off
check "VM 100: it quit on request, before the kill timeout" \
    wait_until 5 log_has "100: process $pid100 exited before the kill timeout"
check "VM 100: qm cleanup 100 1 1" wait_until 5 qm_called "100 1 1"
check "VM 100: no SIGKILL" bash -c "sleep 3.5; ! grep -q '100: process .* SIGKILL' '$LOG'"

# 101: ignores the button -> no SHUTDOWN, nothing happens; then SIGKILL -> cleanup 101 0 0
start_vm 101 "$TMP/hang.img"
pid101=$(vm_pid 101)
check "VM 101: connected" wait_until 10 log_has "101: QEMU pid $pid101 connected"
check "VM 101: guest up" guest_image_wait_up /run/qemu-server/101.qmp 30
guest_qmp /run/qemu-server/101.qmp system_powerdown >/dev/null
sleep 4
check "VM 101: ignoring the button, still running after the kill timeout" alive "$pid101"
check "VM 101: no cleanup" bash -c "! grep -q '^cleanup 101 ' '$QM_LOG'"
kill -9 "$pid101"
check "VM 101: SIGKILLed QEMU -> qm cleanup 101 0 0" wait_until 10 qm_called "101 0 0"

# 102: a backup is running -> the powered-off guest stays until vzdump disconnects
start_vm 102 "$TMP/poweroff.img"
pid102=$(vm_pid 102)
check "VM 102: connected" wait_until 10 log_has "102: QEMU pid $pid102 connected"
python3 "$TMP/client.py" "$SOCK" '{"vzdump":{"vmid":"102"}}' 60 >/dev/null &
vzdump_pid=$!
PIDS+=("$vzdump_pid")
check "VM 102: vzdump client registered" wait_until 5 log_has "102: backup started"
check "VM 102: guest up" guest_image_wait_up /run/qemu-server/102.qmp 30
guest_qmp /run/qemu-server/102.qmp system_powerdown >/dev/null
status102() { guest_qmp /run/qemu-server/102.qmp query-status | grep -q '"status": "shutdown"'; }
check "VM 102: guest powered off (status shutdown)" wait_until 10 status102
sleep 4
check "VM 102: kept during the backup, beyond the kill timeout" alive "$pid102"
check "VM 102: no cleanup during the backup" bash -c "! grep -q '^cleanup 102 ' '$QM_LOG'"
kill "$vzdump_pid"
check "VM 102: backup over -> QEMU quits" wait_until 10 dead "$pid102"
check "VM 102: qm cleanup 102 1 1" wait_until 5 qm_called "102 1 1"

# ---- the kill timeout, with a fake QEMU that ignores quit and SIGTERM -------------------------
cat >"$TMP/fake-qemu.py" <<'EOF'
# fake-qemu.py -pidfile /run/qemu-server/<vmid>.pid STATUS MARK: speaks QMP to qmeventd, powers
# off (SHUTDOWN guest:true), answers query-status with STATUS and ignores quit and SIGTERM.
# Writes the time it got quit (or "none" after 5 s without quit) to MARK.
import json, signal, socket, sys, time
status, mark = sys.argv[3], sys.argv[4]
signal.signal(signal.SIGTERM, signal.SIG_IGN)
s = socket.socket(socket.AF_UNIX)
s.connect("/run/qmeventd.sock")
f = s.makefile("rw")
def send(o):
    f.write(json.dumps(o) + "\r\n"); f.flush()
def expect(cmd):
    got = json.loads(f.readline())
    assert got == {"execute": cmd}, got
send({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, "capabilities": []}})
expect("qmp_capabilities")
send({"return": {}})
send({"timestamp": {"seconds": 1, "microseconds": 0}, "event": "SHUTDOWN",
      "data": {"guest": True, "reason": "guest-shutdown"}})
expect("query-status")
send({"return": {"status": status, "singlestep": False, "running": status == "running"}})
s.settimeout(5)
try:
    line = f.readline()
    assert json.loads(line) == {"execute": "quit"}, line
    open(mark, "w").write("%f\n" % time.monotonic())
except socket.timeout:
    open(mark, "w").write("none\n")
    sys.exit(0)
while True:
    time.sleep(1)
EOF
# wait for a fake and return its status; a watchdog ends it with SIGUSR1 (status 138) after
# 12 s should qmeventd never kill it
wait_fake() {
    (
        trap 'kill $sleeper 2>/dev/null; exit 0' TERM
        sleep 12 &
        sleeper=$!
        wait $sleeper && kill -USR1 "$1" 2>/dev/null
    ) &
    local watchdog=$! rc
    { wait "$1"; } 2>/dev/null # no "Killed" job message
    rc=$?
    kill "$watchdog" 2>/dev/null
    return $rc
}
python3 "$TMP/fake-qemu.py" -pidfile /run/qemu-server/200.pid shutdown "$TMP/mark200" &
fake=$!
PIDS+=("$fake")
check "fake 200: got quit after reporting status shutdown" wait_until 10 test -s "$TMP/mark200"
sleep 1.5
check "fake 200: not killed before the timeout" alive "$fake"
wait_fake "$fake"
rc=$?
elapsed=$(python3 -c "import time; print(round(time.monotonic() - float(open('$TMP/mark200').read()), 1))")
check "fake 200: SIGKILLed (exit status $rc)" [ "$rc" = 137 ]
check "fake 200: killed about 3 s after quit ($elapsed s)" \
    python3 -c "import sys; sys.exit(0 if 2.5 <= $elapsed <= 6 else 1)"
check "fake 200: SIGKILL logged" log_has "200: process $fake still alive 3s after quit, sent SIGKILL"
check "fake 200: qm cleanup 200 1 1" wait_until 5 qm_called "200 1 1"

python3 "$TMP/fake-qemu.py" -pidfile /run/qemu-server/201.pid running "$TMP/mark201" &
fake=$!
PIDS+=("$fake")
wait_fake "$fake"
check "fake 201: status running -> no quit" [ "$(cat "$TMP/mark201" 2>/dev/null)" = none ]
check "fake 201: exit -> qm cleanup 201 1 1" wait_until 5 qm_called "201 1 1"

# ---- bookkeeping ---------------------------------------------------------------------------
check "every cleanup ran once" [ "$(sort "$QM_LOG" | uniq -d | wc -l)" = 0 ]
check "qm got exactly: cleanup <vmid> <graceful> <guest>" \
    bash -c "! grep -vqE '^cleanup [0-9]+ [01] [01]\$' '$QM_LOG'"
zombies() { ps -o stat= --ppid "$QPID" | grep -c Z; }
check "no zombie children of qmeventd" [ "$(zombies)" = 0 ]
check "qmeventd still running" alive "$QPID"
kill "$QPID"
wait "$QPID"
rc=$?
QPID=
check "SIGTERM ends qmeventd with status 0" [ "$rc" = 0 ]

echo "1..$n"
exit $failed
