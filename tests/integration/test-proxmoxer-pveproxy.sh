#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Debian's unmodified python3-proxmoxer (1.2.0) against the real pveproxy (its generated node
# certificate, verify_ssl=False) in front of pvedaemon and a local-mode pmxcfs: login, nodes,
# version, tasks, an unknown path, an API token, cluster resources, a dir storage created,
# read back, updated and deleted, a service restart task followed until it stops and its log
# (proxmoxer-client.py through lib-proxmoxer.sh; test-proxmoxer.sh runs the same checks with
# socat in place of pveproxy). TAP on stdout.

. "$(dirname "$0")/lib-api.sh"
. "$(dirname "$0")/lib-checks.sh"
. "$(dirname "$0")/lib-proxmoxer.sh"
. "$(dirname "$0")/lib-pveproxy.sh"

proxmoxer_prepare
api_setup
trap 'pveproxy_stop; proxmoxer_cleanup; api_cleanup' EXIT

if ! pveproxy_start; then
    not_ok "pveproxy serves HTTPS" "$(cat "$TMP/pp.log")"
    api_finish
fi
proxmoxer_run "$PP_PORT"
check "the calls went through pveproxy (access log, written within 50 ms)" \
    wait_until 2 grep -q '"POST /api2/json/storage HTTP/1.1" 200' "$TMP/log/access.log"

[ $failed = 0 ] || { echo "# pveproxy log:"; sed 's/^/# /' "$TMP/pp.log" | tail -50; }
api_finish
