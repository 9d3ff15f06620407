#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs the Debian 12 packages the project needs, skipping the ones already present.
# Usage: scripts/deps.sh build|test|node|bench
set -euo pipefail

build_pkgs=(
    gcc meson ninja-build pkg-config
    libsystemd-dev libjansson-dev libssl-dev libcmocka-dev
    libfuse3-dev fuse3 libsqlite3-dev sqlite3 libqb-dev zlib1g-dev
    libmicrohttpd-dev libcrypt-dev libpam0g-dev libcurl4-openssl-dev libgnutls28-dev
    libcpg-dev libquorum-dev libcmap-dev libvotequorum-dev libcorosync-common-dev librrd-dev
    libldap-dev
)
test_pkgs=(python3 procps iproute2 util-linux psmisc curl corosync jq openssl
    python3-proxmoxer python3-requests socat rrdcached rrdtool
    qemu-system-x86 qemu-utils lxc lxc-templates busybox-static xorriso bridge-utils
    debootstrap systemd-container logrotate slapd ldap-utils
    openssh-server openssh-client)
# Node.js for the OpenAPI validator (npm packages, see tests/integration/test-openapi.sh);
# machines that already have node + npm (e.g. from another source) keep theirs
command -v node >/dev/null && command -v npm >/dev/null || test_pkgs+=(nodejs npm)
node_pkgs=(fuse3 sqlite3 iproute2 procps util-linux corosync rrdcached)
bench_pkgs=(wrk nginx-light curl jq openssl)

case "${1:-build}" in
build) want=("${build_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
node) want=("${build_pkgs[@]}" "${node_pkgs[@]}") ;;
bench) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
*) echo "usage: $0 build|test|node|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Packages must not start system services here (slapd, corosync, rrdcached, nginx...): the
    # tests and the node command run their own instances. policy-rc.d 101 = "action forbidden".
    guard=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        guard=1
    fi
    rc=0
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
    [ -z "$guard" ] || rm -f /usr/sbin/policy-rc.d
    exit $rc
fi
