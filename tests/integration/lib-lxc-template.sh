# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck shell=bash
#
# A tiny LXC container template for tests (test-api-lxc.sh, test-guests-proxmoxer.sh): a static
# busybox with a few applet links and an /sbin/init that idles and ends on SIGPWR (what
# lxc-stop sends for a clean shutdown), /etc/os-release saying alpine.
#
#     . lib-lxc-template.sh
#     reason=$(lxc_template_unusable) && skip_all "$reason"
#     lxc_template_tree DIR            # the root tree in DIR
#     tar -C DIR -czf .../template/cache/busybox.tar.gz .

# Prints why no template can be made here (and succeeds), or fails when everything is there.
lxc_template_unusable() {
    local c
    for c in lxc-start lxc-stop lxc-info busybox tar; do
        command -v $c >/dev/null || { echo "$c missing"; return 0; }
    done
    file -L "$(command -v busybox)" 2>/dev/null | grep -q 'statically linked' ||
        { echo "busybox is not static"; return 0; }
    return 1
}

lxc_template_tree() {
    local r=${1:?usage: lxc_template_tree DIR} a
    mkdir -p "$r"/{bin,sbin,etc,dev,proc,sys,tmp,run,root}
    cp "$(command -v busybox)" "$r/bin/busybox"
    for a in sh sleep cat ls hostname ip echo; do ln -s busybox "$r/bin/$a"; done
    printf '#!/bin/sh\ntrap "exit 0" PWR TERM INT\nwhile :; do sleep 1; done\n' >"$r/sbin/init"
    chmod 755 "$r/sbin/init"
    echo localhost >"$r/etc/hostname"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
    echo 'root:*:19000:0:99999:7:::' >"$r/etc/shadow" && chmod 640 "$r/etc/shadow"
    printf 'NAME="Alpine Linux"\nID=alpine\n' >"$r/etc/os-release"
}
