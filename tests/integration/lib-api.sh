# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck shell=bash
#
# Shared harness for API integration tests: a local-mode pmxcfs and pvedaemon in a private
# mount and UTS namespace (hostname testnode), PAM set up for root@pam with a known password (a private /etc/pam.d and
# /etc/shadow are bind-mounted inside the namespace only), TAP helpers and curl wrappers.
#
# Usage in a test script:
#     . "$(dirname "$0")/lib-api.sh"
#     api_setup                       # re-execs in a mount namespace, starts both daemons
#     login root@pam "$ROOT_PASSWORD" # sets TICKET and CSRF
#     api GET /nodes                  # sets CODE and BODY
#     check "nodes listed" [ "$CODE" = 200 ]
#     jget .data[0].node              # prints a field of BODY (jq syntax)
#     api_finish                      # prints the plan, exits 0/1
#
# API_GUESTS=1 before api_setup adds a network namespace (lo up, its own /sys) and a tmpfs on
# /run, for tests that start guests: pid files, QMP sockets, locks, taps and bridges stay private.
# Variables after api_setup: TMP, MNT (the /etc/pve of the test), BASE (http://.../api2/json),
# NODE (node name), PD_PID, CFS_PID, PVE_TASK_DIR, POWER_LOG (what the power command got).
# Processes are killed by pid only; the namespace takes the mounts with it.

ROOT=${PVE_BUILD_ROOT:-.}
PMXCFS=$(readlink -f "$ROOT/pmxcfs/pmxcfs")
PVEDAEMON=$(readlink -f "$ROOT/pvedaemon/pvedaemon")
ROOT_PASSWORD=rootsecret
NODE=testnode

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift
    local l; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
# check "description" command...: ok when the command succeeds, else not ok with CODE/BODY
check() {
    local d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d" "code=${CODE:-} body=${BODY:-}"; fi
}
# matches STRING PATTERN (glob) / re_match STRING REGEX: for check, which cannot take [[ ]]
matches() { [[ $1 == $2 ]]; }
re_match() { [[ $1 =~ $2 ]]; }
wait_until() {
    local deadline=$((SECONDS + $1)); shift
    while ! "$@"; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.05
    done
}
skip_all() { echo "1..0 # SKIP $1"; exit 77; }

api_cleanup() {
    if [ -n "${PD_PID:-}" ] && kill -0 "$PD_PID" 2>/dev/null; then
        kill -TERM "$PD_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$PD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PD_PID" 2>/dev/null
        wait "$PD_PID" 2>/dev/null
    fi
    if [ -n "${CFS_PID:-}" ] && kill -0 "$CFS_PID" 2>/dev/null; then
        kill -TERM "$CFS_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$CFS_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CFS_PID" 2>/dev/null
    fi
    [ -n "${MNT:-}" ] && umount -l "$MNT" 2>/dev/null
    [ -n "${TMP:-}" ] && rm -rf "$TMP"
}

# Start pmxcfs (local mode) and pvedaemon. Extra arguments go to pvedaemon.
api_setup() {
    local c
    for c in curl openssl unshare python3 jq; do
        command -v $c >/dev/null || skip_all "$c missing"
    done
    [ -x "$PMXCFS" ] && [ -x "$PVEDAEMON" ] || skip_all "pmxcfs or pvedaemon not built"
    [ "$(id -u)" = 0 ] && [ -e /dev/fuse ] || skip_all "needs root and /dev/fuse"
    if [ -z "${PVE_API_TEST_NS:-}" ]; then
        export PVE_API_TEST_NS=1
        if [ -n "${API_GUESTS:-}" ]; then
            exec unshare -m -u -n --propagation private "$0" "$@"
        fi
        exec unshare -m -u --propagation private "$0" "$@"
    fi
    if [ -n "${API_GUESTS:-}" ]; then
        # guests: own network (bridges, taps) and own /run (pid files, QMP sockets, locks)
        ip link set lo up
        mount -t tmpfs -o mode=755 tmpfs /run
        # a sysfs of this network namespace (bridges are looked up in /sys/class/net), with the
        # cgroup mounts carried over for LXC
        local cg
        cg=$(mktemp -d /tmp/test-api-cg.XXXXXX)
        mount --rbind /sys/fs/cgroup "$cg" && mount -t sysfs sysfs /sys && mount --rbind "$cg" /sys/fs/cgroup
        umount -l "$cg" && rmdir "$cg"
        mkdir -p /run/lock/qemu-server /run/lock/lxc /run/qemu-server
    fi

    TMP=$(mktemp -d /tmp/test-api.XXXXXX)
    MNT=$TMP/mnt
    mkdir -p "$MNT" "$TMP/var" "$TMP/run" "$TMP/tasks" "$TMP/pam.d"
    chmod 755 "$TMP" # www-data (pveproxy) must reach the mount
    export PVE_CFS_MOUNTPOINT=$MNT
    export PVE_DAEMON_PIDFILE=$TMP/pvedaemon.pid
    export PVE_CFS_IPC_SERVICE="apitest$$"
    export PVE_TASK_DIR=$TMP/tasks
    export PVE_CFS_RUNDIR=$TMP/run # clients look for pmxcfs's restart flag here
    export PVE_RRD_DIR=$TMP/rrd PVE_RRDCACHED_SOCKET=$TMP/rrdcached.sock # never the host's RRDs
    POWER_LOG=$TMP/power.log
    printf '#!/bin/sh\necho "$@" >>%s\n' "$POWER_LOG" >"$TMP/power.sh"
    chmod +x "$TMP/power.sh"
    export PVE_NODE_POWER_COMMAND=$TMP/power.sh
    unset NOTIFY_SOCKET JOURNAL_STREAM
    trap api_cleanup EXIT
    hostname "$NODE" # own UTS namespace

    # PAM: root@pam with a known password, visible in this namespace only
    cp -a /etc/pam.d/. "$TMP/pam.d/"
    printf 'auth required pam_unix.so nodelay\naccount required pam_unix.so\n' \
        >"$TMP/pam.d/proxmox-ve-auth"
    local hash
    hash=$(openssl passwd -6 -salt testsalt "$ROOT_PASSWORD")
    awk -F: -v h="$hash" 'BEGIN{OFS=":"} $1=="root"{$2=h} {print}' /etc/shadow >"$TMP/shadow"
    chmod 640 "$TMP/shadow"
    mount --bind "$TMP/pam.d" /etc/pam.d
    mount --bind "$TMP/shadow" /etc/shadow

    "$PMXCFS" -f -l --mountpoint="$MNT" --vardir="$TMP/var" --rundir="$TMP/run" \
        --pidfile="$TMP/pmxcfs.pid" --nodename=$NODE --ipc-service="$PVE_CFS_IPC_SERVICE" \
        >"$TMP/pmxcfs.log" 2>&1 &
    CFS_PID=$!
    if ! wait_until 20 mountpoint -q "$MNT"; then
        not_ok "pmxcfs mounted" "$(cat "$TMP/pmxcfs.log")"; api_finish
    fi

    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    BASE=http://127.0.0.1:$port/api2/json
    "$PVEDAEMON" start --foreground --port "$port" --listen 127.0.0.1 "$@" >"$TMP/pd.log" 2>&1 &
    PD_PID=$!
    if ! wait_until 20 curl -s -o /dev/null "$BASE/version"; then
        not_ok "pvedaemon listens" "$(cat "$TMP/pd.log")"; api_finish
    fi
}

# api METHOD PATH [curl args...]: authenticated with TICKET (+ CSRF) or TOKEN when set;
# sets CODE and BODY. Parameters: -d k=v (form) or --data-binary for JSON with a header.
api() {
    local method=$1 path=$2; shift 2
    local auth=()
    if [ -n "${TOKEN:-}" ]; then
        auth=(-H "Authorization: PVEAPIToken=$TOKEN")
    elif [ -n "${TICKET:-}" ]; then
        auth=(-b "PVEAuthCookie=$TICKET" -H "CSRFPreventionToken: $CSRF")
    fi
    local out
    if [ "$method" = GET ]; then
        out=$(curl -s -G -w '\n%{http_code}' "${auth[@]}" "$@" "$BASE$path")
    else
        out=$(curl -s -X "$method" -w '\n%{http_code}' "${auth[@]}" "$@" "$BASE$path")
    fi
    CODE=${out##*$'\n'}
    BODY=${out%$'\n'*}
}

# login USERID PASSWORD: sets TICKET and CSRF (empty on failure), CODE and BODY
login() {
    local t=${TICKET:-} tok=${TOKEN:-}
    TICKET= TOKEN=
    api POST /access/ticket --data-urlencode "username=$1" --data-urlencode "password=$2"
    TOKEN=$tok
    TICKET=$(jget .data.ticket)
    CSRF=$(jget .data.CSRFPreventionToken)
    [ -n "$TICKET" ] || TICKET=$t
    [ "$CODE" = 200 ]
}

# add_pve_user USERID PASSWORD [ROLE PATH]: writes shadow.cfg/user.cfg directly (no API)
add_pve_user() {
    local hash
    hash=$(openssl passwd -5 "$2")
    printf '%s:%s:\n' "$1" "$hash" >>"$MNT/priv/shadow.cfg"
    printf 'user:%s:1:0:::::::\n' "$1" >>"$MNT/user.cfg"
    [ -n "${3:-}" ] && printf 'acl:1:%s:%s:%s:\n' "${4:-/}" "$1" "$3" >>"$MNT/user.cfg"
    return 0
}

# api_wait_task UPID [SECONDS]: poll the task status until it stopped (default 60 s);
# TASK_EXIT = its exitstatus ("OK", the error text, or "" on timeout)
api_wait_task() {
    local deadline=$((SECONDS + ${2:-60})) code=$CODE body=$BODY
    TASK_EXIT=
    while [ $SECONDS -lt $deadline ]; do
        api GET "/nodes/$NODE/tasks/$1/status"
        if [ "$(jget .data.status)" = stopped ]; then
            TASK_EXIT=$(jget .data.exitstatus)
            break
        fi
        sleep 0.1
    done
    CODE=$code BODY=$body
    [ "$TASK_EXIT" = OK ]
}

# api_task_log UPID: the task's log text
api_task_log() {
    local code=$CODE body=$BODY
    api GET "/nodes/$NODE/tasks/$1/log" -d limit=1000
    jget '.data[].t'
    CODE=$code BODY=$body
}

# jget FILTER: jq -r over BODY ("" for null/missing)
jget() { printf '%s' "$BODY" | jq -r "$1 // empty" 2>/dev/null; }

api_finish() {
    echo "1..$n"
    if [ $failed != 0 ]; then
        echo "# pvedaemon log:"; sed 's/^/# /' "$TMP/pd.log" 2>/dev/null | tail -50
    fi
    exit $failed
}
