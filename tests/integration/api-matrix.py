#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Auth matrix over every registered API method (read from /api2/openapi.json):

  * without credentials: 401 for every method not open to the world;
  * as a user holding only PVEAuditor on /: 403 for every modifying call (POST/PUT/DELETE),
    except the documented exceptions below; reads never answer 401;
  * as root@pam: no 401/403/501, a status below 600 and a JSON envelope, whatever the
    (minimal, generated) parameters make of the call.

Usage: api-matrix.py BASE AUDITOR_TICKET ROOT_TICKET  (BASE = http://host:port/api2/json)
Objects the calls name should exist so checks inside handlers are reached: the storage
"matrixstore" and the volume $MATRIX_VOLUME, the task $MATRIX_UPID (started by root).
Prints TAP lines (one per role and method class) and exits 1 on any failure.
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

BASE, AUDITOR, ROOT = sys.argv[1], sys.argv[2], sys.argv[3]
ORIGIN = BASE.split("/api2/")[0]

# Modifying calls an auditor may make, and why.
AUDITOR_ALLOWED = {
    ("POST", "/access/ticket"): "login is open to everybody",
    ("PUT", "/access/password"): "users may change their own password (userid-param self)",
    ("POST", "/access/users/{userid}/token/{tokenid}"): "checked in the handler for own tokens",
    ("PUT", "/access/users/{userid}/token/{tokenid}"): "checked in the handler for own tokens",
    ("DELETE", "/access/users/{userid}/token/{tokenid}"): "checked in the handler for own tokens",
    ("POST", "/access/vncticket"): "ticket check, open to everybody",
}
# Calls root must not run here: they reach outside the test's namespace.
ROOT_SKIP = {
    ("POST", "/cluster/config/join"): "contacts another node and restarts corosync",
}

PATH_VALUES = {
    "node": "testnode", "vmid": "100", "userid": "matrix@pve", "groupid": "matrixgroup",
    "roleid": "MatrixRole", "realm": "matrixrealm", "storage": "matrixstore",
    "poolid": "matrixpool", "tokenid": "matrixtoken", "service": "pvedaemon",
    "upid": os.environ.get("MATRIX_UPID", "UPID:testnode:00000001:00000001:60000000:matrix::root@pam:"),
    "volume": os.environ.get("MATRIX_VOLUME", "matrixstore:iso/none.iso"),
}


def sample(name, schema):
    if name in PATH_VALUES:
        return PATH_VALUES[name]
    if "enum" in schema:
        return str(schema["enum"][0]).lower() if isinstance(schema["enum"][0], bool) else str(schema["enum"][0])
    t = schema.get("type")
    if t == "integer" or t == "number":
        lo = schema.get("minimum", 1)
        return str(int(lo) if t == "integer" else lo)
    if t == "boolean":
        return "0"
    fmt = schema.get("format", "")
    if "pve-node" in fmt:
        return "testnode"
    if "vmid" in fmt:
        return "100"
    if "userid" in fmt:
        return "matrix@pve"
    if fmt == "email" or fmt == "email-opt":
        return "matrix@example.com"
    return "matrix"


def operations(doc):
    for path, item in sorted(doc["paths"].items()):
        for m in ("get", "post", "put", "delete"):
            if m in item:
                yield path, m.upper(), item[m]


def build(path, method, op):
    url_path = path
    for k, v in PATH_VALUES.items():
        url_path = url_path.replace("{%s}" % k, urllib.parse.quote(v, safe=":@!"))
    params = {}
    body = (op.get("requestBody") or {}).get("content", {})
    schema = None
    for ct in ("application/x-www-form-urlencoded", "application/json"):
        if ct in body:
            schema = body[ct]["schema"]
            break
    qparams = [p for p in op.get("parameters", []) if p.get("in") == "query"]
    for p in qparams:
        if p.get("required"):
            params[p["name"]] = sample(p["name"], p.get("schema", {}))
    if schema:
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if "{%s}" % name not in path:
                params[name] = sample(name, props.get(name, {}))
    return url_path, params


def call(method, url_path, params, ticket):
    data = None
    url = BASE + url_path
    if method in ("GET", "DELETE"):
        if params:
            url += "?" + urllib.parse.urlencode(params)
    else:
        data = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if ticket:
        req.add_header("Cookie", "PVEAuthCookie=" + urllib.parse.quote(ticket, safe=""))
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception as e:  # connection reset etc.
        return 0, str(e).encode()


def main():
    with urllib.request.urlopen(ORIGIN + "/api2/openapi.json", timeout=30) as r:
        doc = json.load(r)
    ops = list(operations(doc))
    built = {(p, m): build(p, m, op) for p, m, op in ops}
    n = 0
    failed = False

    def report(ok, desc, problems):
        nonlocal n, failed
        n += 1
        print(("ok" if ok else "not ok") + " %d - %s" % (n, desc))
        for line in problems[:40]:
            print("# " + line)
        if len(problems) > 40:
            print("# ... %d more" % (len(problems) - 40))
        failed = failed or not ok

    world = [(p, m) for p, m, op in ops
             if op.get("x-permissions", {}).get("user") == "world"]
    closed = [(p, m) for p, m, op in ops if (p, m) not in world]

    # 1. no credentials: every 401 waits >= 3 s, so run them concurrently
    with ThreadPoolExecutor(max_workers=64) as ex:
        res = list(ex.map(lambda pm: (pm, call(pm[1], built[pm][0], built[pm][1], None)), closed))
    bad = ["%s %s -> %d" % (m, p, st) for (p, m), (st, _) in res if st != 401]
    report(not bad, "%d methods without credentials answer 401" % len(closed), bad)
    print("# open to the world: " + ", ".join("%s %s" % (m, p) for p, m in world))

    # 2. auditor
    bad_mod, bad_read = [], []
    n_mod = 0
    for p, m, op in ops:
        st, _ = call(m, built[(p, m)][0], built[(p, m)][1], AUDITOR)
        if m == "GET":
            if st in (0, 401) or st >= 600:
                bad_read.append("%s %s -> %d" % (m, p, st))
        elif (m, p) not in AUDITOR_ALLOWED and (p, m) not in world:
            n_mod += 1
            if st != 403:
                bad_mod.append("%s %s -> %d" % (m, p, st))
    report(not bad_mod, "PVEAuditor gets 403 on all %d modifying calls" % n_mod, bad_mod)
    report(not bad_read, "PVEAuditor reads are authenticated (no 401)", bad_read)

    # 3. root: reads first, then modifying calls (DELETE last, so created things go away)
    order = {"GET": 0, "POST": 1, "PUT": 2, "DELETE": 3}
    bad = []
    count = 0
    for p, m, op in sorted(ops, key=lambda x: (order[x[1]], x[0])):
        if (m, p) in ROOT_SKIP or (p, m) in world:
            continue
        count += 1
        st, body = call(m, built[(p, m)][0], built[(p, m)][1], ROOT)
        problem = None
        if st in (0, 401, 403, 501) or st >= 600:
            problem = "status %d" % st
        elif body:
            try:
                env = json.loads(body)
                if not isinstance(env, dict) or "data" not in env:
                    problem = "no data envelope"
            except ValueError:
                problem = "body is not JSON"
        if problem:
            bad.append("%s %s -> %s %s" % (m, p, problem, body[:160].decode("utf-8", "replace")))
    report(not bad, "root@pam: %d methods answer without auth errors, crashes or 501" % count, bad)
    print("# root skipped: " + "; ".join("%s %s (%s)" % (m, p, why) for (m, p), why in ROOT_SKIP.items()))

    # the daemon survived all of it
    st, _ = call("GET", "/version", {}, ROOT)
    report(st == 200, "daemon still answers after the matrix", [] if st == 200 else ["status %d" % st])
    print("1..%d" % n)
    sys.exit(1 if failed else 0)


main()
