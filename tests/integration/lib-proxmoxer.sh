# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck shell=bash
#
# Shared part of the proxmoxer tests (test-proxmoxer.sh: pvedaemon behind socat,
# test-proxmoxer-pveproxy.sh: pveproxy): Debian's python3-proxmoxer runs
# proxmoxer-client.py against an HTTPS port and its PASS/FAIL lines become TAP.
#
#     . lib-api.sh; . lib-checks.sh; . lib-proxmoxer.sh
#     proxmoxer_prepare      # before api_setup: skips without proxmoxer, fake systemctl
#     api_setup
#     ... an HTTPS endpoint on 127.0.0.1:PORT ...
#     proxmoxer_run PORT
#
# The fake systemctl (PVE_SYSTEMCTL, inherited by pvedaemon) prints two lines a second
# apart, so a service action is a task that is seen running and leaves a known log.

# Debian's python, where the package lives (python3 on PATH may be another installation)
PY=/usr/bin/python3
PROXMOXER_CLIENT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/proxmoxer-client.py
PX_FAKE=

proxmoxer_prepare() {
    $PY -c 'import proxmoxer, requests' 2>/dev/null ||
        skip_all "python3-proxmoxer/python3-requests missing"
    # inside the namespace (second pass, before the daemons start)
    [ -n "${PVE_API_TEST_NS:-}" ] || return 0
    PX_FAKE=$(mktemp -d /tmp/test-proxmoxer-fake.XXXXXX)
    chmod 755 "$PX_FAKE"
    printf '#!/bin/sh\necho "fake systemctl: $*"\nsleep 1\necho "fake systemctl: done"\n' \
        >"$PX_FAKE/systemctl"
    chmod 755 "$PX_FAKE/systemctl"
    export PVE_SYSTEMCTL=$PX_FAKE/systemctl
}

proxmoxer_cleanup() {
    [ -n "$PX_FAKE" ] && rm -rf "$PX_FAKE"
    PX_FAKE=
}

# proxmoxer_run PORT: all client checks against https://127.0.0.1:PORT
proxmoxer_run() {
    curl -s -o "$TMP/openapi.json" "${BASE%/json}/openapi.json"
    doc_ok() { jq -e .paths "$TMP/openapi.json" >/dev/null; }
    check "OpenAPI document fetched" doc_ok
    mkdir -p "$TMP/scratch"
    local out
    out=$($PY "$PROXMOXER_CLIENT" 127.0.0.1 "$1" "$ROOT_PASSWORD" "$NODE" \
        "$TMP/openapi.json" "$MNT" "$TMP/scratch" 2>&1)
    report_checks "$out"
    grep -q '^[A-Z]* proxmoxer logs in' <<<"$out" || not_ok "proxmoxer client ran" "$out"
}
