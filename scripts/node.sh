#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The README's node command: install what is missing, build, and bring up what exists of a
# single node. It says plainly which services it started and which do not exist yet.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh node
[ -d build ] || meson setup build -Dbuildtype=debugoptimized >/dev/null
ninja -C build

echo
echo "Built. Services that exist so far: none can serve a node yet."
echo "pmxcfs, pvedaemon, pveproxy and the other daemons are being built (see the status table"
echo "in README.md); this command will start them as they land."
