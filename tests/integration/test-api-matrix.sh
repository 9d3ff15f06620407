#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Auth matrix of issue 5: every registered method without credentials (401), as a user with
# only PVEAuditor on / (403 for every modifying call) and as root (no auth error, no crash),
# see api-matrix.py. Host-facing commands are pointed at fakes so nothing leaves the test's
# namespaces. TAP on stdout.

. "$(dirname "$0")/lib-api.sh"
HERE=$(dirname "$(readlink -f "$0")")
SCRATCH=$(mktemp -d /tmp/test-api-matrix.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
printf '#!/bin/sh\necho "fake $*"\n' >"$SCRATCH/fake"
chmod +x "$SCRATCH/fake"
mkdir -p "$SCRATCH/root/etc" "$SCRATCH/corosync"
echo 'search example.com' >"$SCRATCH/root/etc/resolv.conf"
export PVE_SYSTEMCTL=$SCRATCH/fake PVE_JOURNALCTL=$SCRATCH/fake PVE_NODE_ROOT=$SCRATCH/root
export PVE_COROSYNC_CONF=$SCRATCH/corosync/corosync.conf PVE_COROSYNC_AUTHKEY=$SCRATCH/corosync/authkey
export PVE_SERVICE_BINDIR=$SCRATCH
api_setup
trap 'rm -rf "$SCRATCH"; api_cleanup' EXIT

add_pve_user auditor@pve auditorpw PVEAuditor /
login auditor@pve auditorpw || { not_ok "auditor login" "$BODY"; api_finish; }
auditor=$TICKET
login root@pam "$ROOT_PASSWORD" || { not_ok "root login" "$BODY"; api_finish; }
root=$TICKET

# objects for the handlers' own checks: a dir storage with one ISO, a finished root task
mkdir -p "$SCRATCH/store/template/iso"
echo iso >"$SCRATCH/store/template/iso/matrix.iso"
printf 'dir: matrixstore\n\tpath %s\n\tcontent iso,vztmpl,images\n\n' "$SCRATCH/store" >>"$MNT/storage.cfg"
export MATRIX_VOLUME=matrixstore:iso/matrix.iso
api POST /nodes/$NODE/services/pvedaemon/reload
export MATRIX_UPID=$(jget .data)
[ -n "$MATRIX_UPID" ] || { not_ok "root starts a task" "$CODE $BODY"; api_finish; }

python3 "$HERE/api-matrix.py" "$BASE" "$auditor" "$root"
rc=$?
[ $rc = 0 ] || { echo "# pvedaemon log:"; tail -30 "$TMP/pd.log" | sed 's/^/# /'; }
exit $rc
