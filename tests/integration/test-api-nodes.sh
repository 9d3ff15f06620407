#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# API integration test for /nodes and /nodes/{node}/*: node list, status (+ power command),
# version, time, dns, hosts, subscription, syslog, journal, services (fake systemctl, and
# pvesh without systemd through the daemons' own verbs), tasks (filters, permissions, log,
# stop). Host files live under PVE_NODE_ROOT, so the host is never changed. TAP on stdout.

. "$(dirname "$0")/lib-api.sh"

if [ -n "${PVE_API_TEST_NS:-}" ]; then
    # inside the namespace, before the daemons start: fake host root and commands
    NROOT=$(mktemp -d /tmp/test-api-nodes.XXXXXX)
    mkdir -p "$NROOT/etc/ssh" "$NROOT/bin" "$NROOT/sbin" "$NROOT/var/log"
    export PVE_NODE_ROOT=$NROOT
    export PVE_SYSTEMCTL=$NROOT/bin/systemctl
    export PVE_JOURNALCTL=$NROOT/bin/journalctl

    cat >"$PVE_SYSTEMCTL" <<EOF
#!/bin/bash
echo "\$*" >>$NROOT/systemctl.log
if [ "\$1" = show ]; then
    shift; first=1
    for u in "\$@"; do
        [ \$first = 1 ] || echo; first=0
        if [ "\$u" = corosync ]; then
            printf 'Id=corosync.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n'
        else
            printf 'Id=%s.service\nDescription=Fake %s\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n' "\$u" "\$u"
        fi
    done
    exit 0
fi
echo "fake systemctl: \$*"
[ "\$2" = chrony ] && { echo \$\$ >$NROOT/sleeper.pid; exec sleep 60; }
[ "\$2" = cron ] && { echo "Failed to \$1 cron.service" >&2; exit 3; }
exit 0
EOF
    cat >"$PVE_JOURNALCTL" <<EOF
#!/bin/bash
echo "\$*" >>$NROOT/journalctl.log
case " \$* " in
*" -o short "*)
    for i in 1 2 3 4 5; do echo "Jan 01 00:00:0\$i testnode svc[1]: line \$i"; done ;;
*" -o json "*)
    order="1 2 3"; case " \$* " in *" -r "*) order="3 2 1" ;; esac
    for i in \$order; do
        printf '{"__CURSOR":"c%s","__REALTIME_TIMESTAMP":"1700000000000000","_HOSTNAME":"testnode","SYSLOG_IDENTIFIER":"pvedaemon","_PID":"42","MESSAGE":"msg %s"}\n' \$i \$i
    done ;;
esac
EOF
    # a daemon with PVE::Daemon style verbs, for the no-systemd path
    cat >"$NROOT/sbin/pvestatd" <<EOF
#!/bin/sh
echo "pvestatd \$*" >>$NROOT/daemon.log
[ "\$1" = status ] && echo running
exit 0
EOF
    chmod +x "$PVE_SYSTEMCTL" "$PVE_JOURNALCTL" "$NROOT/sbin/pvestatd"
    echo Europe/Vienna >"$NROOT/etc/timezone"
    printf 'domain example.org\nnameserver 192.0.2.1\nnameserver 192.0.2.2\noptions rotate\n' \
        >"$NROOT/etc/resolv.conf"
    printf '127.0.0.1 localhost\n192.0.2.10 testnode.example.org testnode\n' >"$NROOT/etc/hosts"
    # any valid base64 blob works as a host key for the server id
    printf 'ssh-rsa %s root@testnode\n' "$(head -c 279 /dev/urandom | base64 -w0)" \
        >"$NROOT/etc/ssh/ssh_host_rsa_key.pub"
fi

api_setup
PVESH=$(readlink -f "$ROOT/pvedaemon/pvesh")
cleanup_nodes() {
    [ -s "$NROOT/sleeper.pid" ] && kill "$(cat "$NROOT/sleeper.pid")" 2>/dev/null
    api_cleanup
    rm -rf "$NROOT"
}
trap cleanup_nodes EXIT

login root@pam "$ROOT_PASSWORD"
check "root@pam login" [ "$CODE" = 200 ]
ROOT_TICKET=$TICKET ROOT_CSRF=$CSRF
as_root() { TICKET=$ROOT_TICKET CSRF=$ROOT_CSRF; }

# alice: PVEAuditor on /; bob: only Sys.Modify on the node (starts tasks, sees his own)
add_pve_user alice@pve alicepw PVEAuditor /
printf 'role:ModOnly:Sys.Modify:\n' >>"$MNT/user.cfg"
add_pve_user bob@pve bobpw ModOnly /nodes/testnode
login alice@pve alicepw && ALICE_TICKET=$TICKET ALICE_CSRF=$CSRF
login bob@pve bobpw && BOB_TICKET=$TICKET BOB_CSRF=$CSRF
as_alice() { TICKET=$ALICE_TICKET CSRF=$ALICE_CSRF; }
as_bob() { TICKET=$BOB_TICKET CSRF=$BOB_CSRF; }
jnum() { printf '%s' "$BODY" | jq -e "$1" >/dev/null 2>&1; }

# ---- /nodes -----------------------------------------------------------------------------------
as_root
api GET /nodes
check "GET /nodes: this node online, id/type" \
    [ "$CODE" = 200 -a "$(jget '.data[0].node')" = testnode -a "$(jget '.data[0].status')" = online \
    -a "$(jget '.data[0].id')" = node/testnode -a "$(jget '.data[0].type')" = node ]
check "GET /nodes: maxcpu = nproc, maxmem = MemTotal, cpu in 0..1, uptime > 0" \
    jnum ".data[0].maxcpu == $(grep -c '^processor' /proc/cpuinfo) and
          .data[0].maxmem == $(awk '/^MemTotal:/{printf "%.0f", $2*1024}' /proc/meminfo) and
          .data[0].cpu >= 0 and .data[0].cpu <= 1 and .data[0].uptime > 0 and .data[0].mem > 0"
as_bob
api GET /nodes
check "GET /nodes without Sys.Audit: listed, no numbers" \
    [ "$CODE" = 200 -a "$(jget '.data[0].node')" = testnode -a -z "$(jget '.data[0].maxcpu')" ]
as_root
api GET /nodes/testnode
check "GET /nodes/{node}: index" \
    jnum '[.data[].name] | index("tasks") and index("services") and index("status") and index("syslog")'

api GET /nodes/testnode/tasks -d source=all
check "no tasks yet: empty list, total 0" [ "$CODE" = 200 -a "$(jget '.data | length')" = 0 -a "$(jget .total)" = 0 ]

# ---- status -----------------------------------------------------------------------------------
api GET /nodes/testnode/status
model=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
check "status: cpuinfo from /proc/cpuinfo" \
    [ "$CODE" = 200 -a "$(jget .data.cpuinfo.cpus)" = "$(grep -c '^processor' /proc/cpuinfo)" \
    -a "$(jget .data.cpuinfo.model)" = "${model:-unknown}" -a "$(jget .data.cpuinfo.user_hz)" = "$(getconf CLK_TCK)" ]
check "status: memory, swap, rootfs, loadavg, ksm" \
    jnum ".data.memory.total == $(awk '/^MemTotal:/{printf "%.0f", $2*1024}' /proc/meminfo) and
          .data.memory.used + .data.memory.free == .data.memory.total and
          .data.swap.total == $(awk '/^SwapTotal:/{printf "%.0f", $2*1024}' /proc/meminfo) and
          .data.rootfs.total > 0 and .data.rootfs.used + .data.rootfs.free == .data.rootfs.total and
          (.data.loadavg | length) == 3 and (.data.loadavg[0] | type) == \"string\" and
          (.data.ksm.shared | type) == \"number\" and .data.cpu >= 0 and .data.wait >= 0"
check "status: kernel, version, boot info, uptime" \
    [ "$(jget '.data["current-kernel"].release')" = "$(uname -r)" \
    -a "$(jget .data.kversion)" = "$(uname -s) $(uname -r) $(uname -v)" \
    -a "$(jget .data.pveversion | cut -d/ -f1)" = pve-manager \
    -a -n "$(jget '.data["boot-info"].mode | select(. == "efi" or . == "legacy-bios")')" \
    -a "$(jget .data.uptime)" -gt 0 ]
api GET /nodes/othernode/status
check "status of another node: not run here (pvedaemon does not proxy)" \
    [ "$CODE" = 500 -a "$(jget .message)" = "proxy not allowed" ]
api GET '/nodes/bad_node!'
check "node index with an invalid node name: 400 errors.node" [ "$CODE" = 400 -a -n "$(jget .errors.node)" ]
api GET /nodes/localhost/status
check "status of 'localhost': this node" [ "$CODE" = 200 ]
as_alice
api GET /nodes/testnode/status
check "auditor reads status" [ "$CODE" = 200 ]
as_bob
api GET /nodes/testnode/status
check "no Sys.Audit: status 403" [ "$CODE" = 403 ]

# ---- power ------------------------------------------------------------------------------------
as_root
api POST /nodes/testnode/status -d command=reboot
check "POST status reboot runs the power command with 'reboot'" \
    [ "$CODE" = 200 -a "$(cat "$POWER_LOG")" = reboot ]
api POST /nodes/testnode/status -d command=shutdown
check "POST status shutdown: 'shutdown'" [ "$CODE" = 200 -a "$(tail -1 "$POWER_LOG")" = shutdown ]
api POST /nodes/testnode/status -d command=halt
check "POST status bad command: 400 errors.command, nothing run" \
    [ "$CODE" = 400 -a -n "$(jget .errors.command)" -a "$(wc -l <"$POWER_LOG")" = 2 ]
api POST /nodes/testnode/status
check "POST status without command: 400" [ "$CODE" = 400 -a -n "$(jget .errors.command)" ]
out=$(env -u PVE_NODE_POWER_COMMAND "$PVESH" create /nodes/testnode/status --command reboot 2>&1); rc=$?
check "no power command configured: refused, nothing run" \
    bash -c '[ "$1" != 0 ] && grep -q "no node power command configured" <<<"$2" && [ "$(wc -l <"$3")" = 2 ]' \
    _ "$rc" "$out" "$POWER_LOG"
as_alice
api POST /nodes/testnode/status -d command=reboot
check "auditor: POST status 403 (Sys.PowerMgmt), nothing run" \
    [ "$CODE" = 403 -a "$(wc -l <"$POWER_LOG")" = 2 ]

# ---- version, subscription ----------------------------------------------------------------------
as_root
api GET /nodes/testnode/version
check "version: version, release, repoid" \
    [ "$CODE" = 200 -a -n "$(jget .data.version)" -a -n "$(jget .data.release)" -a -n "$(jget .data.repoid)" ]
api GET /nodes/testnode/subscription
sid=$(awk '{print $2}' "$NROOT/etc/ssh/ssh_host_rsa_key.pub" | base64 -d | md5sum | awk '{print toupper($1)}')
check "subscription: notfound, server id from the SSH host key" \
    [ "$CODE" = 200 -a "$(jget .data.status)" = notfound -a "$(jget .data.serverid)" = "$sid" \
    -a "$(jget .data.sockets)" -ge 1 ]
as_bob
api GET /nodes/testnode/subscription
check "subscription without Sys.Audit: no server id" \
    [ "$CODE" = 200 -a "$(jget .data.status)" = notfound -a -z "$(jget .data.serverid)" ]

# ---- time -------------------------------------------------------------------------------------
as_root
api GET /nodes/testnode/time
now=$(date +%s)
check "time: timezone from /etc/timezone, time now" \
    [ "$CODE" = 200 -a "$(jget .data.timezone)" = Europe/Vienna \
    -a $(( $(jget .data.time) - now )) -le 2 -a $(( now - $(jget .data.time) )) -le 2 ]
api PUT /nodes/testnode/time -d timezone=America/New_York
check "PUT time: /etc/timezone and the /etc/localtime link" \
    [ "$CODE" = 200 -a "$(cat "$NROOT/etc/timezone")" = America/New_York \
    -a "$(readlink "$NROOT/etc/localtime")" = /usr/share/zoneinfo/America/New_York ]
for tz in Nowhere/Bogus ../../etc/passwd /etc/passwd; do
    api PUT /nodes/testnode/time --data-urlencode "timezone=$tz"
    check "PUT time '$tz': 400 errors.timezone, unchanged" \
        [ "$CODE" = 400 -a "$(jget .errors.timezone)" = "No such timezone" \
        -a "$(cat "$NROOT/etc/timezone")" = America/New_York ]
done
api PUT /nodes/testnode/time
check "PUT time without timezone: 400" [ "$CODE" = 400 -a -n "$(jget .errors.timezone)" ]
rm "$NROOT/etc/timezone"
api GET /nodes/testnode/time
check "time without /etc/timezone: from the localtime link" [ "$(jget .data.timezone)" = America/New_York ]
as_alice
api PUT /nodes/testnode/time -d timezone=UTC
check "auditor: PUT time 403, unchanged" [ "$CODE" = 403 -a ! -e "$NROOT/etc/timezone" ]

# ---- dns --------------------------------------------------------------------------------------
as_alice
api GET /nodes/testnode/dns
check "dns: search (domain line), dns1, dns2" \
    [ "$CODE" = 200 -a "$(jget .data.search)" = example.org -a "$(jget .data.dns1)" = 192.0.2.1 \
    -a "$(jget .data.dns2)" = 192.0.2.2 -a -z "$(jget .data.dns3)" ]
api PUT /nodes/testnode/dns -d search=lab.test -d dns1=198.51.100.1
check "auditor: PUT dns 403" [ "$CODE" = 403 ]
as_root
before=$(cat "$NROOT/etc/resolv.conf")
api PUT /nodes/testnode/dns -d search=lab.test -d dns1=not-an-ip
check "PUT dns bad IP: 400 errors.dns1, unchanged" \
    [ "$CODE" = 400 -a -n "$(jget .errors.dns1)" -a "$(cat "$NROOT/etc/resolv.conf")" = "$before" ]
api PUT /nodes/testnode/dns -d dns1=198.51.100.1
check "PUT dns without search: 400 errors.search" [ "$CODE" = 400 -a -n "$(jget .errors.search)" ]
api PUT /nodes/testnode/dns -d search=lab.test -d dns1=198.51.100.1 -d bogus=1
check "PUT dns unknown parameter: 400" [ "$CODE" = 400 -a -n "$(jget .errors.bogus)" ]
api PUT /nodes/testnode/dns -d search=lab.test -d dns1=198.51.100.1 -d dns2=198.51.100.1 \
    --data-urlencode dns3=2001:db8::1
check "PUT dns: file written like upstream (dup dropped, other lines kept)" \
    [ "$CODE" = 200 -a "$(cat "$NROOT/etc/resolv.conf")" = "$(printf 'search lab.test\nnameserver 198.51.100.1\nnameserver 2001:db8::1\noptions rotate')" ]

# ---- hosts ------------------------------------------------------------------------------------
api GET /nodes/testnode/hosts
check "hosts: data and sha1 digest" \
    [ "$CODE" = 200 -a "$(jget .data.data)" = "$(cat "$NROOT/etc/hosts")" \
    -a "$(jget .data.digest)" = "$(sha1sum <"$NROOT/etc/hosts" | cut -d' ' -f1)" ]
digest=$(jget .data.digest)
api POST /nodes/testnode/hosts --data-urlencode 'data=127.0.0.1 localhost' \
    -d digest=0000000000000000000000000000000000000000
check "POST hosts with a stale digest: 400, unchanged" \
    [ "$CODE" = 400 -a "$(wc -l <"$NROOT/etc/hosts")" = 2 ]
api POST /nodes/testnode/hosts --data-urlencode 'data=127.0.0.1 localhost' -d "digest=$digest"
check "POST hosts: written with a final newline" \
    [ "$CODE" = 200 -a "$(cat "$NROOT/etc/hosts")" = "127.0.0.1 localhost" -a "$(tail -c1 "$NROOT/etc/hosts" | od -An -c | tr -d ' ')" = '\n' ]

# ---- syslog, journal --------------------------------------------------------------------------
api GET /nodes/testnode/syslog -d start=1 -d limit=2 -d service=pvedaemon \
    --data-urlencode 'since=2024-01-01' --data-urlencode 'until=2024-01-02 10:00'
check "syslog: page of journalctl's lines, total" \
    [ "$CODE" = 200 -a "$(jget '.data | length')" = 2 -a "$(jget '.data[0].n')" = 2 \
    -a "$(jget '.data[0].t')" = "Jan 01 00:00:02 testnode svc[1]: line 2" -a "$(jget .total)" = 5 ]
check "syslog: journalctl arguments" \
    grep -qx -- "-o short --no-pager --unit pvedaemon --since 2024-01-01 --until 2024-01-02 10:00" "$NROOT/journalctl.log"
api GET /nodes/testnode/syslog -d service=postfix
check "syslog: postfix is postfix@-" grep -q -- "--unit postfix@-" "$NROOT/journalctl.log"
api GET /nodes/testnode/syslog -d since=yesterday
check "syslog bad since: 400" [ "$CODE" = 400 -a -n "$(jget .errors.since)" ]
api GET /nodes/testnode/syslog -d limit=-1
check "syslog negative limit: 400" [ "$CODE" = 400 -a -n "$(jget .errors.limit)" ]
as_alice
api GET /nodes/testnode/syslog
check "auditor: syslog 403 (Sys.Syslog)" [ "$CODE" = 403 ]
api GET /nodes/testnode/journal
check "auditor: journal 403" [ "$CODE" = 403 ]
as_root
api GET /nodes/testnode/journal -d lastentries=3
check "journal: cursors around short lines" \
    [ "$CODE" = 200 -a "$(jget '.data | length')" = 5 -a "$(jget '.data[0]')" = c1 -a "$(jget '.data[4]')" = c3 \
    -a "$(jget '.data[1]' | sed 's/^... .. ..:..:.. //')" = "testnode pvedaemon[42]: msg 1" ]
check "journal: -n from lastentries" grep -qx -- "-o json --no-pager -n 3" "$NROOT/journalctl.log"
api GET /nodes/testnode/journal -d endcursor=c3 -d lastentries=2
check "journal endcursor: entries before it, oldest first" \
    [ "$CODE" = 200 -a "$(jget '.data[0]')" = c1 -a "$(jget '.data[-1]')" = c2 ]
check "journal endcursor: read backwards from it" grep -qx -- "-o json --no-pager -r --cursor=c3 -n 3" "$NROOT/journalctl.log"
api GET /nodes/testnode/journal -d startcursor=c1 -d since=5 -d until=10
check "journal startcursor/since/until arguments" \
    grep -qx -- "-o json --no-pager --after-cursor=c1 --since=@5 --until=@10" "$NROOT/journalctl.log"
api GET /nodes/testnode/journal -d since=abc
check "journal bad since: 400" [ "$CODE" = 400 -a -n "$(jget .errors.since)" ]

# ---- services ---------------------------------------------------------------------------------
api GET /nodes/testnode/services
check "services: every service with systemctl's states" \
    [ "$CODE" = 200 -a "$(jget '.data | length')" = 23 \
    -a "$(jget '.data[] | select(.service == "pvedaemon") | .state')" = running \
    -a "$(jget '.data[] | select(.service == "pvedaemon") | .["active-state"]')" = active \
    -a "$(jget '.data[] | select(.service == "pvedaemon") | .desc')" = "Fake pvedaemon" \
    -a "$(jget '.data[] | select(.service == "corosync") | .["unit-state"]')" = not-found \
    -a "$(jget '.data[] | select(.service == "postfix") | .desc')" = "Fake postfix@-" ]
api GET /nodes/testnode/services/pvestatd/state
check "service state" \
    [ "$CODE" = 200 -a "$(jget .data.service)" = pvestatd -a "$(jget '.data["unit-state"]')" = enabled ]
api GET /nodes/testnode/services/pvestatd
check "service index" [ "$CODE" = 200 -a "$(jget '[.data[].subdir] | join(",")')" = state,start,stop,restart,reload ]
api GET /nodes/testnode/services/nosuch/state
check "unknown service: 400 errors.service" [ "$CODE" = 400 -a -n "$(jget .errors.service)" ]
as_alice
api GET /nodes/testnode/services
check "auditor lists services" [ "$CODE" = 200 ]
api POST /nodes/testnode/services/pvestatd/restart
check "auditor: service restart 403" [ "$CODE" = 403 ]

task_done() {
    api GET "/nodes/testnode/tasks/$1/status"
    [ "$(jget .data.status)" = stopped ]
}
# run_task PATH: POST, wait for the task, TASK=upid, EXIT=exitstatus
run_task() {
    api POST "$1"
    TASK=$(jget .data)
    [ "$CODE" = 200 ] && [ -n "$TASK" ] && wait_until 20 task_done "$TASK"
    EXIT=$(jget .data.exitstatus)
}

as_root
run_task /nodes/testnode/services/pvestatd/restart
check "restart: UPID of an srvrestart task, OK" \
    bash -c '[[ $1 == UPID:testnode:*:srvrestart:pvestatd:root@pam: ]] && [ "$2" = OK ]' _ "$TASK" "$EXIT"
RESTART_TASK=$TASK
api GET "/nodes/testnode/tasks/$TASK/log"
check "task log shows the command's output" \
    [ "$(jget '.data[0].t')" = "fake systemctl: restart pvestatd" -a "$(jget '.data[-1].t')" = "TASK OK" ]
run_task /nodes/testnode/services/pvestatd/reload
check "reload: try-reload-or-restart" \
    [ "$EXIT" = OK -a "$(grep -c '^try-reload-or-restart pvestatd$' "$NROOT/systemctl.log")" = 1 ]
run_task /nodes/testnode/services/cron/stop
check "failing command: task error with its exit code" \
    [ "$EXIT" = "command '$PVE_SYSTEMCTL stop cron' failed: exit code 3" ]
api GET "/nodes/testnode/tasks/$TASK/log"
check "failing command: stderr in the log" \
    bash -c 'jq -r ".data[].t" <<<"$1" | grep -qx "Failed to stop cron.service"' _ "$BODY"
run_task /nodes/testnode/services/pvedaemon/stop
check "stopping pvedaemon refused, systemctl not run" \
    [ "$EXIT" = "invalid service cmd 'pvedaemon stop': ERROR" -a -z "$(grep '^stop pvedaemon' "$NROOT/systemctl.log")" ]
run_task /nodes/testnode/services/pveproxy/restart
check "restarting pveproxy is allowed" [ "$EXIT" = OK ]

# without systemd (pvesh as root, no PVE_SYSTEMCTL): the daemon's own verbs
out=$(PVE_SYSTEMCTL= PVE_SERVICE_BINDIR=$NROOT/sbin "$PVESH" get /nodes/testnode/services/pvestatd/state --output-format json 2>&1)
check "no systemd: state from '<daemon> status'" \
    bash -c '[ "$(jq -r .state <<<"$1")" = running ] && [ "$(jq -r .\"active-state\" <<<"$1")" = active ]' _ "$out"
PVE_SYSTEMCTL= PVE_SERVICE_BINDIR=$NROOT/sbin "$PVESH" create /nodes/testnode/services/pvestatd/stop >/dev/null 2>&1
check "no systemd: stop runs '<daemon> stop'" grep -qx "pvestatd stop" "$NROOT/daemon.log"
out=$(PVE_SYSTEMCTL= PVE_SERVICE_BINDIR=$NROOT/sbin "$PVESH" create /nodes/testnode/services/corosync/start 2>&1)
check "no systemd: other services refuse" grep -q "systemd is not running" <<<"$out"

# ---- tasks ------------------------------------------------------------------------------------
as_bob
run_task /nodes/testnode/services/ksmtuned/start
BOB_TASK=$TASK
check "bob starts a task" [ "$EXIT" = OK ]
api GET /nodes/testnode/tasks -d source=all
check "bob lists only his own tasks" \
    [ "$CODE" = 200 -a "$(jget .total)" = 1 -a "$(jget '.data[0].upid')" = "$BOB_TASK" ]
api GET "/nodes/testnode/tasks/$BOB_TASK/status"
check "bob reads his task's status" [ "$CODE" = 200 -a "$(jget .data.user)" = bob@pve ]
api GET "/nodes/testnode/tasks/$RESTART_TASK/status"
check "bob: root's task status 403" [ "$CODE" = 403 ]
api GET "/nodes/testnode/tasks/$RESTART_TASK/log"
check "bob: root's task log 403" [ "$CODE" = 403 ]
as_alice
api GET /nodes/testnode/tasks -d source=all
check "auditor lists everyone's tasks" [ "$CODE" = 200 -a "$(jget .total)" -ge 8 ]
api GET "/nodes/testnode/tasks/$RESTART_TASK/log"
check "auditor reads root's task log" [ "$CODE" = 200 ]
as_root
api GET /nodes/testnode/tasks -d source=all
all=$(jget .total)
check "root lists all tasks, newest first" \
    [ "$CODE" = 200 -a "$all" -ge 8 -a "$(jget '.data[0].upid')" = "$BOB_TASK" ]
api GET /nodes/testnode/tasks -d source=all -d typefilter=srvrestart
check "typefilter" [ "$(jget .total)" = 2 -a "$(jget '[.data[].type] | unique | join(",")')" = srvrestart ]
api GET /nodes/testnode/tasks -d source=all -d userfilter=BOB
check "userfilter (case-insensitive substring)" [ "$(jget .total)" = 1 -a "$(jget '.data[0].user')" = bob@pve ]
api GET /nodes/testnode/tasks -d source=all -d errors=1
# failed: cron stop, pvedaemon stop, corosync start (pvesh)
check "errors=1: only failed tasks" [ "$(jget .total)" = 3 -a -z "$(jget '.data[] | select(.status == "OK") | .upid')" ]
api GET /nodes/testnode/tasks -d source=all -d statusfilter=ok
check "statusfilter=ok" [ "$(jget .total)" = $((all - 3)) ]
api GET /nodes/testnode/tasks -d source=all -d statusfilter=error,warning
check "statusfilter=error,warning" [ "$(jget .total)" = 3 ]
api GET /nodes/testnode/tasks -d source=all -d start=1 -d limit=2
check "start/limit page" [ "$(jget '.data | length')" = 2 -a "$(jget .total)" = "$all" ]
api GET /nodes/testnode/tasks -d source=all -d vmid=100
check "vmid filter" [ "$CODE" = 200 -a "$(jget .total)" = 0 ]
api GET /nodes/testnode/tasks -d source=all -d until=1000
check "until before every task" [ "$(jget .total)" = 0 ]
api GET /nodes/testnode/tasks -d source=all -d since=$(( $(date +%s) - 3600 ))
check "since an hour ago: all" [ "$(jget .total)" = "$all" ]
api GET /nodes/testnode/tasks -d statusfilter=bogus
check "bad statusfilter: 400" [ "$CODE" = 400 -a -n "$(jget .errors.statusfilter)" ]
api GET /nodes/testnode/tasks -d source=bogus
check "bad source: 400" [ "$CODE" = 400 -a -n "$(jget .errors.source)" ]
api GET /nodes/testnode/tasks -d vmid=5
check "bad vmid: 400" [ "$CODE" = 400 -a -n "$(jget .errors.vmid)" ]
api GET /nodes/othernode/tasks
check "tasks of another node: not run here" [ "$CODE" = 500 -a "$(jget .message)" = "proxy not allowed" ]

api GET "/nodes/testnode/tasks/$RESTART_TASK"
check "task index" [ "$CODE" = 200 -a "$(jget '[.data[].name] | join(",")')" = log,status ]
api GET "/nodes/testnode/tasks/$RESTART_TASK/log" -d start=1 -d limit=1
check "task log start/limit" \
    [ "$(jget '.data | length')" = 1 -a "$(jget '.data[0].n')" = 2 -a "$(jget .total)" = 2 ]
RESTART_LOG=$PVE_TASK_DIR/$(cut -d: -f5 <<<"$RESTART_TASK" | tail -c 2)/$RESTART_TASK
api GET "/nodes/testnode/tasks/$RESTART_TASK/log" -d download=1 -D "$TMP/dl.headers"
check "task log download: 200" [ "$CODE" = 200 ]
curl -s -G -b "PVEAuthCookie=$TICKET" -d download=1 -o "$TMP/dl.body" "$BASE/nodes/testnode/tasks/$RESTART_TASK/log"
check "task log download: the log file itself, byte for byte" cmp "$TMP/dl.body" "$RESTART_LOG"
check "task log download: Content-Type text/plain" grep -qi '^Content-Type: text/plain' "$TMP/dl.headers"
api GET "/nodes/testnode/tasks/$RESTART_TASK/log" -d download=1 -D "$TMP/dl.headers" -H "PVEDisableProxy: true"
check "task log download for a forwarding pveproxy: pvestreamfile names the file, no body" \
    eval '[ "$CODE" = 200 ] && [ -z "$BODY" ] && grep -qi "^pvestreamfile: $RESTART_LOG" "$TMP/dl.headers"'
api GET "/nodes/testnode/tasks/UPID:testnode:00001234:00001234:65000000:srvstart:x:root@pam:/log" -d download=1
check "download of an unknown task: 400 no such task" [ "$CODE" = 400 -a "$(jget .errors.upid)" = "no such task" ]
api GET "/nodes/testnode/tasks/UPID:garbage/status"
check "malformed UPID: 400" [ "$CODE" = 400 -a "$(jget .errors.upid)" = "unable to parse worker upid" ]
api GET "/nodes/testnode/tasks/UPID:testnode:00001234:00001234:65000000:srvstart:x:root@pam:/log"
check "unknown UPID: 400 no such task" [ "$CODE" = 400 -a "$(jget .errors.upid)" = "no such task" ]

# stop a running task
api POST /nodes/testnode/services/chrony/restart
LONG=$(jget .data)
api GET "/nodes/testnode/tasks/$LONG/status"
check "long task is running" [ "$(jget .data.status)" = running ]
api GET /nodes/testnode/tasks -d source=active
check "source=active lists the running task with status RUNNING" \
    [ "$(jget ".data[] | select(.upid == \"$LONG\") | .status")" = RUNNING ]
as_alice
api DELETE "/nodes/testnode/tasks/$LONG"
check "auditor: stopping root's task 403" [ "$CODE" = 403 ]
as_root
api DELETE "/nodes/testnode/tasks/$LONG"
check "DELETE task: 200" [ "$CODE" = 200 ]
wait_until 10 task_done "$LONG"
check "stopped task ends with an interrupt error" \
    [ "$(jget .data.status)" = stopped -a "$(jget .data.exitstatus)" = "received interrupt" ]
api DELETE "/nodes/testnode/tasks/$LONG"
check "DELETE a finished task: 200" [ "$CODE" = 200 ]

api_finish
