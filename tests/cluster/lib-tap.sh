# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck shell=bash
#
# tests/cluster/lib-tap.sh: TAP output for the cluster tests. Source it after lib.sh.
#
#   ok desc / not_ok desc [comment lines...]   one test line (comments prefixed "# ")
#   check desc cmd...      ok when cmd succeeds; otherwise not ok with the output of the test's
#                          check_diag function when it defines one, else "code=$CODE body=$BODY"
#   daemon_logs            the tails of the daemon logs named in $BAIL_LOGS (e.g. "pmxcfs
#                          pvedaemon") of every node, as comments
#   bail msg               node_diag of every node, daemon_logs, "Bail out!", exit 1
#   skip desc why          a test line with "# SKIP why"
#   diag text...           a comment line
#   finish                 the plan line "1..N"; exits 1 when a test failed, else 0

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
    for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
check() {
    local d=$1
    shift
    if "$@"; then
        ok "$d"
    elif declare -F check_diag >/dev/null; then
        local text
        text=$(check_diag)
        if [ -n "$text" ]; then not_ok "$d" "$text"; else not_ok "$d"; fi
    else
        not_ok "$d" "code=${CODE:-} body=${BODY:-}"
    fi
}
skip() {
    n=$((n + 1))
    echo "ok $n - $1 # SKIP $2"
}
diag() { printf '# %s\n' "$*"; }
daemon_logs() {
    local i d
    for ((i = 1; i <= CLUSTER_NODES; i++)); do
        for d in ${BAIL_LOGS:-}; do
            [ -s "$(node_daemon_log "$i" "$d")" ] || continue
            tail -n 15 "$(node_daemon_log "$i" "$d")" | sed "s/^/# node $i $d: /"
        done
    done
}
bail() {
    local i
    for ((i = 1; i <= CLUSTER_NODES; i++)); do node_diag "$i"; done
    daemon_logs
    echo "Bail out! $*"
    exit 1
}
finish() {
    echo "1..$n"
    exit $failed
}
