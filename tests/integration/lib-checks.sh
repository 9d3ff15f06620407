# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck shell=bash
#
# Turns the output of a check program (validate.cjs, proxmoxer-client.py) into TAP lines
# through lib-api.sh's ok/not_ok: "PASS <what>" or "FAIL <what>", each optionally followed
# by indented detail lines. Returns 1 when the program printed no check at all.
#
#     report_checks "$(some-program 2>&1)"

report_checks() {
    local line status= what= seen=0 details=()
    while IFS= read -r line; do
        case $line in
        "PASS "* | "FAIL "*)
            _report_one
            status=${line%% *} what=${line#* } details=() seen=1
            ;;
        *) details+=("$line") ;;
        esac
    done <<<"$1"
    _report_one
    [ $seen = 1 ] || { not_ok "check program printed results" "$1"; return 1; }
}

_report_one() {
    [ -n "$what" ] || return 0
    if [ "$status" = PASS ]; then ok "$what"; else not_ok "$what" "${details[@]}"; fi
}
