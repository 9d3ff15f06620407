#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
# Minimal websocket client for test-console.sh (handshake and masked frames written by hand):
#   ws-client.py HOST PORT PATH?QUERY COOKIE MODE
# MODE rfb: print the handshake result, the first 12 bytes from the server (the RFB banner),
#           answer the banner, print the size of the reply, ping, then close.
# MODE hold: print the banner, then wait until the server ends the connection.
# MODE unmasked: send an unmasked frame after the handshake and print the close code.
# Prints lines "STATUS <code>", "ACCEPT ok|bad", "PROTO <p>", "BANNER <text>", "REPLY <n>",
# "PONG <text>", "CLOSE <code>", "EOF".
import base64, hashlib, os, socket, ssl, struct, sys

host, port, path, cookie, mode = sys.argv[1:6]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=10))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
           f"Sec-WebSocket-Protocol: binary\r\nCookie: PVEAuthCookie={cookie}\r\n\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
head, _, buf = buf.partition(b"\r\n\r\n")
lines = head.decode(errors="replace").split("\r\n")
print("STATUS", lines[0].split(" ")[1] if " " in lines[0] else "none")
hdrs = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
if not lines[0].startswith("HTTP/1.1 101"):
    sys.exit(0)
print("ACCEPT", "ok" if hdrs.get("sec-websocket-accept") == want else "bad")
print("PROTO", hdrs.get("sec-websocket-protocol", "none"))

def recv_exact(n):
    global buf
    while len(buf) < n:
        d = s.recv(65536)
        if not d:
            raise EOFError
        buf += d
    out, buf = buf[:n], buf[n:]
    return out

def read_frame():
    b0, b1 = recv_exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(8))[0]
    if b1 & 0x80:
        sys.exit("server frame is masked")
    return b0 & 0x0F, recv_exact(n)

def send_frame(op, data, masked=True):
    hdr = bytes([0x80 | op])
    ln = len(data)
    m = 0x80 if masked else 0
    hdr += bytes([m | ln]) if ln < 126 else bytes([m | 126]) + struct.pack("!H", ln)
    if masked:
        mask = os.urandom(4)
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
        hdr += mask
    s.sendall(hdr + data)

def read_data(n):
    got = b""
    while len(got) < n:
        op, p = read_frame()
        if op == 8:
            print("CLOSE", struct.unpack("!H", p[:2])[0] if len(p) >= 2 else 0)
            sys.exit(0)
        if op in (0, 1, 2):
            got += p
    return got

try:
    if mode == "rfb":
        banner = read_data(12)
        print("BANNER", banner.decode(errors="replace").strip())
        send_frame(2, b"RFB 003.008\n")
        print("REPLY", len(read_data(1)))
        send_frame(9, b"hi")
        while True:
            op, p = read_frame()
            if op == 10:
                print("PONG", p.decode())
                break
        send_frame(8, struct.pack("!H", 1000))
        while True:
            op, p = read_frame()
            if op == 8:
                print("CLOSE", struct.unpack("!H", p[:2])[0])
                break
    elif mode == "hold":
        print("BANNER", read_data(12).decode(errors="replace").strip(), flush=True)
        s.settimeout(60)
        while True:
            read_frame()
    elif mode == "unmasked":
        send_frame(2, b"RFB 003.008\n", masked=False)
        while True:
            op, p = read_frame()
            if op == 8:
                print("CLOSE", struct.unpack("!H", p[:2])[0])
                break
    d = s.recv(100)
    print("EOF" if not d else "MORE")
except (EOFError, ConnectionError, ssl.SSLError, socket.timeout) as e:
    print("EOF", type(e).__name__)
