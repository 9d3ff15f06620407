#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Guests driven by Debian's unmodified python3-proxmoxer against pvedaemon (behind a socat TLS
# terminator, as test-proxmoxer.sh): a QEMU VM (TCG) is created, started (status running and
# a live QMP socket), shut down by ACPI (the guest powers off; qmeventd sees it and runs
# `qm cleanup`), started again, stopped and destroyed with its disk; a config edit with a wrong
# digest is refused and leaves the file alone. An LXC container from a busybox template
# (lib-lxc-template.sh) is created, started, stopped and destroyed. Runs in its own netns and
# /run (API_GUESTS=1), /var/lib/lxc on a tmpdir. TAP on stdout.
set -u
API_GUESTS=1
. "$(dirname "$0")/lib-api.sh"
. "$(dirname "$0")/lib-checks.sh"
. "$(dirname "$0")/lib-proxmoxer.sh"
. "$(dirname "$0")/lib-guest-image.sh"
. "$(dirname "$0")/lib-lxc-template.sh"

for c in socat qemu-system-x86_64 openssl; do
    command -v $c >/dev/null || skip_all "$c missing"
done
[ -e /dev/net/tun ] || skip_all "no /dev/net/tun"
QM=$(readlink -f "$ROOT/qemu-server/qm")
QMEVENTD=$(readlink -f "$ROOT/qmeventd/qmeventd")
[ -x "$QM" ] && [ -x "$QMEVENTD" ] || skip_all "qm or qmeventd not built"
proxmoxer_prepare
api_setup

VMID=300
CT=8302 # an unusual id: LXC's cgroups (lxc.payload.<id>) live in the host's hierarchy
SOCAT_PID=
QMEVENTD_PID=
guests_cleanup() {
    local p c
    lxc-stop -n $CT -P /var/lib/lxc -k >/dev/null 2>&1
    for p in /proc/[0-9]*; do
        { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "^/usr/bin/qemu-system-x86_64 .*file=$TMP/" &&
            kill -KILL "${p#/proc/}" 2>/dev/null
    done
    if [ -n "$SOCAT_PID" ]; then
        kill -TERM "$SOCAT_PID" 2>/dev/null
        wait "$SOCAT_PID" 2>/dev/null
        for c in $(ps -o pid= --ppid "$SOCAT_PID" 2>/dev/null); do kill -TERM "$c" 2>/dev/null; done
    fi
    [ -n "$QMEVENTD_PID" ] && kill "$QMEVENTD_PID" 2>/dev/null && wait "$QMEVENTD_PID" 2>/dev/null
    proxmoxer_cleanup
    api_cleanup
}
trap guests_cleanup EXIT

# storage (not `local`: upstream pins it to /var/lib/vz), bridge, qmeventd, /var/lib/lxc
VZ=$TMP/vz
mkdir -p "$VZ/images/$VMID" "$VZ/template/cache" "$TMP/lxc"
printf 'dir: vmstore\n\tpath %s\n\tcontent images,rootdir,vztmpl\n' "$VZ" >"$MNT/storage.cfg"
ip link add vmbr0 type bridge && ip link set vmbr0 up
mount --bind "$TMP/lxc" /var/lib/lxc
guest_image_poweroff "$VZ/images/$VMID/vm-$VMID-disk-0.raw" 1M
export PVE_QM_BIN=$QM
"$QMEVENTD" -f -t 3 /run/qmeventd.sock >"$TMP/qmeventd.log" 2>&1 &
QMEVENTD_PID=$!
wait_until 10 test -S /run/qmeventd.sock || not_ok "qmeventd listens" "$(cat "$TMP/qmeventd.log")"
TEMPLATE=
if ! lxc_reason=$(lxc_template_unusable); then
    lxc_template_tree "$TMP/tpl"
    tar -C "$TMP/tpl" -czf "$VZ/template/cache/busybox.tar.gz" . && TEMPLATE=vmstore:vztmpl/busybox.tar.gz
fi

# proxmoxer speaks HTTPS only: a TLS terminator in front of pvedaemon's plain port
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$NODE" \
    -keyout "$TMP/tls.key" -out "$TMP/tls.crt" 2>/dev/null
cat "$TMP/tls.key" "$TMP/tls.crt" >"$TMP/tls.pem"
pd_port=${BASE#http://127.0.0.1:}
pd_port=${pd_port%%/*}
tls_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
socat "OPENSSL-LISTEN:$tls_port,bind=127.0.0.1,reuseaddr,fork,cert=$TMP/tls.pem,verify=0" \
    "TCP:127.0.0.1:$pd_port" 2>"$TMP/socat.log" &
SOCAT_PID=$!
tls_up() { curl -sk -o /dev/null "https://127.0.0.1:$tls_port/api2/json/version"; }
wait_until 10 tls_up || { not_ok "TLS terminator listens" "$(cat "$TMP/socat.log")"; api_finish; }

out=$(
    $PY - "$tls_port" "$ROOT_PASSWORD" "$NODE" "$MNT" "$VZ" "$TMP/qmeventd.log" "$VMID" "$CT" \
        "$TEMPLATE" 2>&1 <<'EOF'
import json, os, socket, sys, time, traceback

import urllib3
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

urllib3.disable_warnings()
port, password, node, mnt, vz, qmeventd_log, vmid, ct, template = sys.argv[1:10]
vmid, ct = int(vmid), int(ct)
conf = f"{mnt}/nodes/{node}/qemu-server/{vmid}.conf"
disk = f"{vz}/images/{vmid}/vm-{vmid}-disk-0.raw"
failed = False


def check(what, fn):
    global failed
    try:
        problem = fn()
    except Exception:
        problem = traceback.format_exc()
    print(("FAIL " if problem else "PASS ") + what)
    for line in str(problem or "").splitlines():
        print("  " + line)
    failed = failed or bool(problem)
    return not problem


api = ProxmoxAPI("127.0.0.1", port=int(port), user="root@pam", password=password,
                 verify_ssl=False, timeout=60)
qemu = api.nodes(node).qemu
lxc = api.nodes(node).lxc


def wait_task(upid, secs=90):
    for _ in range(secs * 5):
        st = api.nodes(node).tasks(upid).status.get()
        if st.get("status") == "stopped":
            return st.get("exitstatus")
        time.sleep(0.2)
    return "timeout waiting for " + upid


def task_ok(upid, kind):
    if not str(upid).startswith(f"UPID:{node}:") or f":{kind}:" not in upid:
        return f"not a {kind} UPID: {upid!r}"
    ex = wait_task(upid)
    if ex != "OK":
        log = api.nodes(node).tasks(upid).log.get(limit=50)
        return f"task ended {ex!r}: " + " | ".join(l.get("t", "") for l in log)
    return None


def qmp(cmd, args=None):
    """one command on the VM's QMP socket (the live monitor, not the API)"""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(f"/run/qemu-server/{vmid}.qmp")
    f = s.makefile("rw")
    json.loads(f.readline())
    for name, a in (("qmp_capabilities", None), (cmd, args)):
        req = {"execute": name}
        if a is not None:
            req["arguments"] = a
        f.write(json.dumps(req) + "\n")
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if "return" in reply or "error" in reply:
                break
    s.close()
    return reply.get("return", reply)


def vm_status():
    return qemu(vmid).status.current.get()


def expect_running():
    st = vm_status()
    if st.get("status") != "running" or st.get("qmpstatus") != "running":
        return f"status/current: {st}"
    live = qmp("query-status")
    if live.get("status") != "running":
        return f"QMP query-status: {live}"
    pidfile = open(f"/run/qemu-server/{vmid}.pid").read().strip()
    return None if str(st.get("pid")) == pidfile else f"pid {st.get('pid')} != pid file {pidfile}"


def expect_stopped():
    st = vm_status()
    if st.get("status") != "stopped" or "pid" in st:
        return f"status/current: {st}"
    return f"pid file left" if os.path.exists(f"/run/qemu-server/{vmid}.pid") else None


# ---- QEMU --------------------------------------------------------------------------------------
check("create VM (qmcreate task OK)", lambda: task_ok(qemu.post(
    vmid=vmid, kvm=0, name="px1", memory=64, cores=1, ostype="l26",
    scsi0=f"vmstore:{vmid}/vm-{vmid}-disk-0.raw,size=1M", net0="virtio,bridge=vmbr0"), "qmcreate"))


def config_read():
    c = qemu(vmid).config.get()
    if c.get("name") != "px1" or c.get("memory") not in (64, "64") or len(c.get("digest", "")) != 40:
        return f"config: {c}"
    return None


check("config: name, memory and a digest", config_read)


def wrong_digest():
    before = open(conf).read()
    try:
        qemu(vmid).config.put(cores=2, digest="0" * 40)
        return "PUT with a wrong digest accepted"
    except ResourceException as e:
        if e.status_code not in (400, 500) or "file changed by other user" not in str(e):
            return f"unexpected refusal: {e.status_code} {e}"
    return None if open(conf).read() == before else "config file changed"


check("config edit with a wrong digest refused, file unchanged", wrong_digest)


def right_digest():
    d = qemu(vmid).config.get()["digest"]
    qemu(vmid).config.put(description="through proxmoxer", digest=d)
    c = qemu(vmid).config.get()
    return None if c.get("description") == "through proxmoxer" else f"config: {c}"


check("config edit with the current digest applied", right_digest)
check("start (qmstart task OK)", lambda: task_ok(qemu(vmid).status.start.post(), "qmstart"))
check("status running, qmpstatus running, live QMP, pid of the pid file", expect_running)
pid = vm_status().get("pid")


def guest_up():
    for _ in range(150):
        out = qmp("human-monitor-command", {"command-line": "xp /1wx 0x7e00"})
        if "0x50555650" in str(out):
            return None
        time.sleep(0.2)
    return "guest did not report it listens to the power button"


check("guest is up (listens to the power button)", guest_up)
check("shutdown (qmshutdown task OK)", lambda: task_ok(qemu(vmid).status.shutdown.post(timeout=30), "qmshutdown"))


def after_shutdown():
    if pid and os.path.exists(f"/proc/{pid}"):
        state = open(f"/proc/{pid}/stat").read().split(") ")[1].split()[0]
        if state != "Z":
            return f"QEMU {pid} still there ({state})"
    return expect_stopped()


check("after shutdown: QEMU gone, status stopped, pid file removed", after_shutdown)


def qmeventd_cleanup():
    want = f"VM {vmid}: cleaned up after a shutdown (guest initiated)"
    for _ in range(50):
        if want in open(qmeventd_log).read():
            return None
        time.sleep(0.2)
    return "qmeventd log:\n" + open(qmeventd_log).read()


check("qmeventd saw the guest power off and ran qm cleanup", qmeventd_cleanup)
check("start again (qmstart task OK)", lambda: task_ok(qemu(vmid).status.start.post(), "qmstart"))
check("running again", expect_running)
check("stop (qmstop task OK)", lambda: task_ok(qemu(vmid).status.stop.post(), "qmstop"))
check("stopped: status stopped, pid file removed", expect_stopped)


def listed(kind, status):
    lst = (qemu if kind == "qemu" else lxc).get()
    e = [x for x in lst if int(x["vmid"]) == (vmid if kind == "qemu" else ct)]
    return None if e and e[0].get("status") == status else f"list: {lst}"


check("GET /nodes/{node}/qemu lists it stopped", lambda: listed("qemu", "stopped"))
check("destroy (qmdestroy task OK)", lambda: task_ok(qemu(vmid).delete(), "qmdestroy"))


def destroyed():
    if os.path.exists(conf) or os.path.exists(disk):
        return "config or disk left"
    try:
        qemu(vmid).config.get()
        return "config of a destroyed VM readable"
    except ResourceException as e:
        return None if "does not exist" in str(e) else f"unexpected: {e}"


check("destroyed: config and disk gone, config GET says it does not exist", destroyed)

# ---- LXC ---------------------------------------------------------------------------------------
if template:
    ctconf = f"{mnt}/nodes/{node}/lxc/{ct}.conf"
    check("create CT (vzcreate task OK)", lambda: task_ok(lxc.post(
        vmid=ct, ostemplate=template, hostname="pxct", memory=64, swap=0, cores=1,
        unprivileged=0, rootfs="vmstore:1"), "vzcreate"))
    check("CT config: hostname, rootfs on vmstore", lambda: None if (
        lambda c: c.get("hostname") == "pxct" and str(c.get("rootfs", "")).startswith("vmstore:"))(
        lxc(ct).config.get()) else f"config: {lxc(ct).config.get()}")
    check("CT start (vzstart task OK)", lambda: task_ok(lxc(ct).status.start.post(), "vzstart"))
    check("CT status running with a pid", lambda: None if (
        lambda s: s.get("status") == "running" and int(s.get("pid", 0)) > 0)(
        lxc(ct).status.current.get()) else f"status: {lxc(ct).status.current.get()}")
    check("GET /nodes/{node}/lxc lists it running", lambda: listed("lxc", "running"))
    check("CT stop (vzstop task OK)", lambda: task_ok(lxc(ct).status.stop.post(), "vzstop"))
    check("CT status stopped", lambda: None if lxc(ct).status.current.get().get("status") == "stopped"
          else f"status: {lxc(ct).status.current.get()}")
    check("CT destroy (vzdestroy task OK)", lambda: task_ok(lxc(ct).delete(), "vzdestroy"))
    check("CT destroyed: config and rootfs gone", lambda: None if not os.path.exists(ctconf) and
          not os.path.exists(f"{vz}/images/{ct}/subvol-{ct}-disk-0.subvol") else "left behind")
print("PASS proxmoxer client ran to the end")
EOF
)
report_checks "$out"
grep -q '^PASS proxmoxer client ran to the end' <<<"$out" || not_ok "proxmoxer client ran to the end" "$out"
[ -n "$TEMPLATE" ] || ok "LXC create/start/stop/destroy # SKIP ${lxc_reason:-no template}"
api_finish
