#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# pvesh against a local-mode pmxcfs: get/create/set/delete/ls/usage through the same handler
# tables as pvedaemon, output formats, parameter errors, exit codes. TAP on stdout.

. "$(dirname "$0")/lib-api.sh"
PVESH=$(readlink -f "$ROOT/pvedaemon/pvesh")
api_setup

out=$("$PVESH" get /version --output-format json 2>&1)
check "get /version json" bash -c 'jq -e ".version and .release and .repoid" <<<"$1" >/dev/null' _ "$out"

out=$("$PVESH" get /version 2>&1)
check "get /version text table" grep -q '│ repoid  *│' <<<"$out"

out=$("$PVESH" get /version --output-format json-pretty 2>&1)
check "json-pretty is indented" grep -q '^    "release"' <<<"$out"

out=$("$PVESH" get /nodes --output-format json 2>&1)
check "get /nodes lists this node" [ "$(jq -r '.[0].node' <<<"$out")" = testnode ]

out=$("$PVESH" ls / 2>&1)
check "ls / shows access, nodes and version" \
    bash -c 'grep -q "^Dr---  *access$" <<<"$1" && grep -q "^Dr---  *nodes$" <<<"$1" && grep -q "^-r---  *version$" <<<"$1"' _ "$out"

out=$("$PVESH" ls /nodes 2>&1)
check "ls /nodes lists node names from GET" grep -q ' testnode$' <<<"$out"

out=$("$PVESH" usage /access/ticket --command create --verbose 2>&1)
check "usage shows parameters" bash -c 'grep -q "USAGE: pvesh create /access/ticket --username <string> --password <string>" <<<"$1" && grep -q -- "--realm" <<<"$1"' _ "$out"

out=$("$PVESH" get /no/such/path 2>&1); rc=$?
check "unknown path: 501, exit 255" bash -c '[ "$1" = 255 ] && grep -q "not implemented" <<<"$2"' _ "$rc" "$out"

out=$("$PVESH" create /access/ticket --username root@pam 2>&1); rc=$?
check "missing parameter: error naming it, exit 255" \
    bash -c '[ "$1" = 255 ] && grep -q "^password: property is missing and it is not optional" <<<"$2"' _ "$rc" "$out"

out=$("$PVESH" create /access/ticket --username root@pam --password "$ROOT_PASSWORD" --output-format json 2>&1)
check "create /access/ticket as root works through PAM" [ "$(jq -r .username <<<"$out")" = root@pam ]

# a download answer (task log with download=1) prints the file itself
upid=UPID:$NODE:00001234:00001234:65000001:srvstart:x:root@pam:
mkdir -p "$PVE_TASK_DIR/1"
printf 'line one\nline two\nTASK OK\n' >"$PVE_TASK_DIR/1/$upid"
"$PVESH" get "/nodes/$NODE/tasks/$upid/log" --download 1 >"$TMP/pvesh-dl" 2>&1
check "get .../log --download 1 prints the log file" cmp "$TMP/pvesh-dl" "$PVE_TASK_DIR/1/$upid"

out=$("$PVESH" get /version --output-format yaml 2>&1); rc=$?
check "bad output format rejected" [ "$rc" = 255 ]

api_finish
