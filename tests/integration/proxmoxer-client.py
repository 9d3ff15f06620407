#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Drives the API with Debian's unmodified python3-proxmoxer (1.2.0, https backend) as an
# external client would (driven through lib-proxmoxer.sh by test-proxmoxer.sh, which puts a
# TLS terminator in front of pvedaemon, and by test-proxmoxer-pveproxy.sh, against pveproxy).
# Prints "PASS <what>" or "FAIL <what>" plus indented details per check.
#
# usage: proxmoxer-client.py HOST PORT PASSWORD NODE OPENAPI.json MNT SCRATCH
#   MNT: the test's /etc/pve, for a token written directly when the API cannot create one,
#        and to compare storage.cfg after writes
#   SCRATCH: an empty directory for a dir storage
#   $PVE_SYSTEMCTL of the server must be lib-proxmoxer.sh's fake (service restart task)

import json
import os
import re
import sys
import time
import traceback
import uuid

import proxmoxer
import urllib3
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

urllib3.disable_warnings()  # self-signed throwaway certificate, verify_ssl=False

host, port, password, node, doc_path, mnt, scratch = sys.argv[1:8]
with open(doc_path) as f:
    documented = {
        (m.upper(), path) for path, item in json.load(f)["paths"].items() for m in item
    }


def check(what, fn):
    try:
        problem = fn()
    except Exception:  # any exception is this check's failure, with its traceback
        problem = traceback.format_exc()
    if problem:
        print(f"FAIL {what}")
        for line in str(problem).splitlines():
            print(f"  {line}")
    else:
        print(f"PASS {what}")
    return not problem


def connect(**kw):
    return ProxmoxAPI(host, port=int(port), verify_ssl=False, timeout=30, **kw)


api = None


def login():
    global api
    api = connect(user="root@pam", password=password)
    return None if api.get_tokens()[0] else "no ticket after login"


def nodes():
    lst = api.nodes.get()
    names = [n.get("node") for n in lst]
    return None if node in names else f"{node} not in {lst}"


def version():
    v = api.version.get()
    missing = [k for k in ("version", "release", "repoid") if k not in v]
    return f"missing {missing} in {v}" if missing else None


def tasks():
    try:
        lst = api.nodes(node).tasks.get(limit=5)
    except ResourceException as e:
        # Until GET /nodes/{node}/tasks is registered the server answers 501 Not
        # Implemented; that is only acceptable while the OpenAPI document does not list it.
        if e.status_code == 501 and ("GET", "/nodes/{node}/tasks") not in documented:
            return None
        raise
    if not isinstance(lst, list):
        return f"not a list: {lst!r}"
    bad = [t for t in lst if "upid" not in t]
    return f"entries without upid: {bad}" if bad else None


def unknown_path():
    try:
        api.nodes(node)("no-such-thing").get()
    except ResourceException as e:
        if e.status_code != 501:
            return f"status {e.status_code}, expected 501: {e}"
        return None
    return "no exception for an unknown path"


def token():
    tokenid = "ci" + uuid.uuid4().hex[:8]
    created = ("POST", "/access/users/{userid}/token/{tokenid}") in documented
    if created:
        # CSRF-protected POST through the API, form-encoded by proxmoxer
        r = api.access.users("root@pam").token(tokenid).post(privsep=0, comment="proxmoxer")
        secret = r["value"]
        if r.get("full-tokenid") != f"root@pam!{tokenid}":
            return f"full-tokenid: {r}"
    else:
        # No token endpoint registered yet: put the token where the API would (user.cfg
        # entry + secret in priv/token.cfg), so proxmoxer's token mode is still exercised.
        secret = str(uuid.uuid4())
        try:
            with open(f"{mnt}/user.cfg") as f:
                cfg = f.read()
        except FileNotFoundError:
            cfg = ""
        with open(f"{mnt}/user.cfg", "a") as f:
            if "user:root@pam:" not in cfg:  # a fresh local pmxcfs has no user.cfg yet
                f.write("user:root@pam:1:0:::::::\n")
            f.write(f"token:root@pam!{tokenid}:0:0:proxmoxer:\n")
        with open(f"{mnt}/priv/token.cfg", "a") as f:
            f.write(f"root@pam!{tokenid} {secret}\n")
    tapi = connect(user="root@pam", token_name=tokenid, token_value=secret)
    v = tapi.version.get()
    names = [n.get("node") for n in tapi.nodes.get()]
    if "version" not in v or node not in names:
        return f"token calls: {v} {names}"
    bad = connect(user="root@pam", token_name=tokenid, token_value=str(uuid.uuid4()))
    try:
        bad.version.get()
        return "wrong token secret accepted"
    except ResourceException as e:
        if e.status_code != 401:
            return f"wrong token secret: {e}"
    if created and ("DELETE", "/access/users/{userid}/token/{tokenid}") in documented:
        api.access.users("root@pam").token(tokenid).delete()
        try:
            tapi.version.get()
            return "deleted token still accepted"
        except ResourceException as e:
            if e.status_code != 401:
                return f"deleted token: {e}"
    return None


def cluster_resources():
    res = api.cluster.resources.get()
    mine = [r for r in res if r.get("type") == "node" and r.get("node") == node]
    if len(mine) != 1:
        return f"not one node entry for {node}: {res}"
    e = mine[0]
    problems = []
    if e.get("id") != f"node/{node}":
        problems.append(f"id {e.get('id')!r}")
    # no pvestatd in the test: the server reports the local machine's own numbers
    if e.get("maxcpu") != os.cpu_count():
        problems.append(f"maxcpu {e.get('maxcpu')!r}, host has {os.cpu_count()}")
    phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if not isinstance(e.get("maxmem"), int) or abs(e["maxmem"] - phys) > phys // 100:
        problems.append(f"maxmem {e.get('maxmem')!r}, host has {phys}")
    if not isinstance(e.get("uptime"), int) or e["uptime"] <= 0:
        problems.append(f"uptime {e.get('uptime')!r}")
    only_nodes = api.cluster.resources.get(type="node")
    if [r.get("id") for r in only_nodes] != [f"node/{node}"]:
        problems.append(f"type=node filter: {only_nodes}")
    return f"{problems} in {e}" if problems else None


STORAGE = "pxtest" + uuid.uuid4().hex[:6]


def storage_cfg_section():
    """lines of STORAGE's section in the test's storage.cfg, None when absent"""
    try:
        with open(f"{mnt}/storage.cfg") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    m = re.search(rf"^(\w+): {STORAGE}\n((?:\t.*\n?)*)", text, re.M)
    if not m:
        return None
    return [m.group(1) + ":"] + [line.strip() for line in m.group(2).splitlines()]


def storage_crud():
    path = os.path.join(scratch, "store")
    r = api.storage.post(storage=STORAGE, type="dir", path=path, content="iso,images")
    if not r or r.get("storage") != STORAGE or r.get("type") != "dir":
        return f"create answered {r!r}"
    got = api.storage(STORAGE).get()
    if (got.get("type"), got.get("path"), set(got.get("content", "").split(","))) != (
        "dir",
        path,
        {"images", "iso"},
    ):
        return f"read back after create: {got}"
    sec = storage_cfg_section()
    if not sec or sec[0] != "dir:" or f"path {path}" not in sec or not any(
        line.startswith("content ") and set(line[8:].split(",")) == {"images", "iso"}
        for line in sec
    ):
        return f"storage.cfg after create: {sec}"
    listed = [s for s in api.storage.get() if s.get("storage") == STORAGE]
    if len(listed) != 1 or listed[0].get("path") != path:
        return f"GET /storage lists {listed}"
    res = api.cluster.resources.get(type="storage")
    mine = [x for x in res if x.get("id") == f"storage/{node}/{STORAGE}"]
    if len(mine) != 1 or mine[0].get("plugintype") != "dir" or mine[0].get("node") != node:
        return f"/cluster/resources type=storage: {res}"
    st = os.statvfs(path if os.path.isdir(path) else scratch)
    if mine[0].get("maxdisk") != st.f_blocks * st.f_frsize:
        return f"maxdisk {mine[0].get('maxdisk')} != {st.f_blocks * st.f_frsize}: {mine[0]}"

    old_digest = got.get("digest")
    api.storage(STORAGE).put(content="backup,vztmpl", digest=old_digest)
    got2 = api.storage(STORAGE).get()
    if set(got2.get("content", "").split(",")) != {"backup", "vztmpl"} or got2.get("path") != path:
        return f"read back after update: {got2}"
    if not got2.get("digest") or got2.get("digest") == old_digest:
        return f"digest unchanged by the update: {old_digest} -> {got2.get('digest')}"
    sec = storage_cfg_section()
    if not sec or not any(
        line.startswith("content ") and set(line[8:].split(",")) == {"backup", "vztmpl"}
        for line in sec
    ):
        return f"storage.cfg after update: {sec}"
    try:
        api.storage(STORAGE).put(content="iso", digest=old_digest)
        return "update with a stale digest accepted"
    except ResourceException:
        pass
    if set(api.storage(STORAGE).get().get("content", "").split(",")) != {"backup", "vztmpl"}:
        return "update with a stale digest changed the content"

    api.storage(STORAGE).delete()
    if storage_cfg_section() is not None:
        return f"storage.cfg still has {STORAGE} after delete"
    if any(s.get("storage") == STORAGE for s in api.storage.get()):
        return "GET /storage still lists it after delete"
    try:
        gone = api.storage(STORAGE).get()
        return f"GET /storage/{STORAGE} after delete: {gone}"
    except ResourceException:
        return None


def service_task():
    svc = "pvestatd"
    upid = api.nodes(node).services(svc).restart.post()
    pat = rf"^UPID:{node}:[0-9A-F]{{8}}:[0-9A-F]{{8}}:[0-9A-F]{{8}}:srvrestart:{svc}:root@pam:$"
    if not isinstance(upid, str) or not re.match(pat, upid):
        return f"restart answered {upid!r}"
    seen = set()
    deadline = time.monotonic() + 30
    while True:
        st = api.nodes(node).tasks(upid).status.get()
        seen.add(st.get("status"))
        if st.get("status") == "stopped":
            break
        if st.get("status") != "running" or time.monotonic() > deadline:
            return f"task status {st}"
        time.sleep(0.2)
    want = {"upid": upid, "type": "srvrestart", "id": svc, "user": "root@pam", "node": node,
            "exitstatus": "OK"}
    bad = {k: st.get(k) for k, v in want.items() if st.get(k) != v}
    if bad or not isinstance(st.get("pid"), int) or not isinstance(st.get("starttime"), int):
        return f"final status {st} (wrong: {bad})"
    if "running" not in seen:
        return f"never saw the task running (the fake takes 1 s): {seen}"
    log = api.nodes(node).tasks(upid).log.get()
    lines = [e.get("t") for e in log]
    if lines != [f"fake systemctl: restart {svc}", "fake systemctl: done", "TASK OK"]:
        return f"task log {log}"
    if [e.get("n") for e in log] != list(range(1, len(log) + 1)):
        return f"log line numbers {log}"
    listed = [t for t in api.nodes(node).tasks.get(typefilter="srvrestart") if t.get("upid") == upid]
    if len(listed) != 1 or listed[0].get("status") != "OK":
        return f"task list entry {listed}"
    return None


def totp_code(secret, offset=0):
    """RFC 6238 SHA-1 6-digit code of now (+ offset periods)"""
    import base64
    import hashlib
    import hmac
    import struct

    step = int(time.time()) // 30 + offset
    mac = hmac.new(base64.b32decode(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


def tfa_login():
    from proxmoxer.backends.https import AuthenticationError

    secret = "JBSWY3DPEHPK3PXP"
    user = f"tfa{uuid.uuid4().hex[:6]}@pve"
    api.access.users.post(userid=user, password="tfa-password")
    uri = f"otpauth://totp/PVE:{user}?secret={secret}"
    added = api.access.tfa(user).post(type="totp", totp=uri, value=totp_code(secret))
    if not added.get("id", "").startswith("totp-"):
        return f"add TOTP answered {added}"
    try:
        connect(user=user, password="tfa-password", otp=totp_code(secret, 7))
        return "a wrong otp logged in"
    except AuthenticationError:
        pass
    c = connect(user=user, password="tfa-password", otp=totp_code(secret))
    entries = c.access.tfa(user).get()
    if [e.get("type") for e in entries] != ["totp"]:
        return f"entries {entries}"
    api.access.users(user).delete()
    return None


print(f"# proxmoxer {proxmoxer.__version__}", file=sys.stderr)
if check("proxmoxer logs in as root@pam over https (POST /access/ticket)", login):
    check("proxmoxer lists nodes (GET /nodes)", nodes)
    check("proxmoxer reads the version (GET /version)", version)
    check("proxmoxer reads tasks (GET /nodes/{node}/tasks)", tasks)
    check("unknown path: ResourceException 501", unknown_path)
    check("proxmoxer with an API token (Authorization: PVEAPIToken)", token)
    check("proxmoxer reads cluster resources (GET /cluster/resources)", cluster_resources)
    check("proxmoxer creates, reads, updates and deletes a dir storage (/storage)", storage_crud)
    check("proxmoxer runs a service restart task and follows it to its end", service_task)
    check("proxmoxer logs in with a TOTP second factor (otp) and is refused a wrong one", tfa_login)
