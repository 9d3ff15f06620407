#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Timing helper of bench/guests/run.sh: milliseconds from an action until the VM's QMP socket
reports status "running".

  qmp-timer.py api BASE_URL COOKIE CSRF PATH SOCKET   POST PATH (status/start), then poll
  qmp-timer.py hand SOCKET ARGV...                    run ARGV (QEMU's command line), then poll
  qmp-timer.py quit SOCKET                            QMP quit (no timing)

Prints "<ms to running> <ms until the POST answered | the command exited>". The poller opens a
new QMP connection for every query-status and closes it at once: QEMU serves one QMP client at a
time, and qemu-runtime needs the socket for `cont` during an API start.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

POLL_S = 0.002


def qmp(path, command):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
        f = s.makefile("rwb", buffering=0)
        f.readline()  # greeting
        for cmd in ("qmp_capabilities", command):
            f.write(json.dumps({"execute": cmd}).encode() + b"\n")
            while True:
                reply = json.loads(f.readline())
                if "return" in reply or "error" in reply:
                    break
        return reply.get("return")
    finally:
        s.close()


def wait_running(path, deadline_s=60):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            r = qmp(path, "query-status")
            if r and r.get("status") == "running":
                return time.monotonic()
        except (OSError, ValueError):
            pass
        time.sleep(POLL_S)
    raise SystemExit("timeout waiting for QMP running on " + path)


def main():
    mode = sys.argv[1]
    if mode == "quit":
        try:
            qmp(sys.argv[2], "quit")
        except (OSError, ValueError):
            pass
        return
    if mode == "api":
        base, cookie, csrf, path, sock = sys.argv[2:7]
        req = urllib.request.Request(base + path, data=b"", method="POST",
                                     headers={"Cookie": cookie, "CSRFPreventionToken": csrf})
        t0 = time.monotonic()
        with urllib.request.urlopen(req) as resp:
            resp.read()
        t_answer = time.monotonic()
    else:
        sock, argv = sys.argv[2], sys.argv[3:]
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        p.wait()  # -daemonize: the first process exits once the VM is set up
        t_answer = time.monotonic()
        if p.returncode != 0:
            raise SystemExit("QEMU exited with %d" % p.returncode)
    t_run = wait_running(sock)
    print("%.1f %.1f" % ((t_run - t0) * 1000, (t_answer - t0) * 1000))


if __name__ == "__main__":
    main()
