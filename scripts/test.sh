#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The README's test command: install what is missing, build twice (plain with -Werror, and
# ASan+UBSan), run every suite in both (the `slow` suite, real-time timeouts only, in the
# plain build), print "N passed, N failed" and exit non-zero on any
# failure. Extra arguments are passed to `meson test` (e.g. --suite unit).
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh test || exit 1

fail=0
run_build() { # dir, extra meson test args (one word, may be empty), meson setup args...
    local dir=$1 extra=$2
    shift 2
    if [ ! -d "$dir" ]; then
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    else
        meson configure "$dir" "$@" >/dev/null || return 1
    fi
    ninja -C "$dir" || return 1
    meson test -C "$dir" --print-errorlogs --num-processes 2 $extra "${TEST_ARGS[@]}" || return 1
}

TEST_ARGS=("$@")
rm -f build-ci/meson-logs/testlog.json build-asan/meson-logs/testlog.json
run_build build-ci "" -Dwerror=true -Dbuildtype=debugoptimized || fail=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_build build-asan "--no-suite=slow" -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debug || fail=1

python3 - build-ci/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, os, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        failed += 1  # a build that never got to run its tests counts as a failure
        continue
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
[ $? -eq 0 ] || fail=1
exit $fail
