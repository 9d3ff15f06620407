#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# A stand-in for an Active Directory domain controller, as far as a PVE `ad` realm talks to one:
# an LDAPv3 server that answers simple binds only, the way AD does for user principal names
# (`alice@example.com`, which OpenLDAP's slapd refuses as invalid DN syntax).
#
#   fake-ad-ldap.py HOST PORT LOGFILE NAME=PASSWORD...
#
# A bind succeeds (resultCode 0) when NAME and PASSWORD match one of the pairs, else it gets
# invalidCredentials (49). Every bind is appended to LOGFILE as "BIND <name>". Any other request
# than bind or unbind gets protocolError and the connection is closed. Writes "ready" to LOGFILE
# once listening.
import socket
import sys
import threading


def read_tlv(sock_file):
    """One BER element from the stream: (tag, content) or None at EOF."""
    head = sock_file.read(2)
    if len(head) < 2:
        return None
    tag, length = head[0], head[1]
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("bad length")
        length = int.from_bytes(sock_file.read(n), "big")
    content = sock_file.read(length)
    if len(content) < length:
        return None
    return tag, content


def parse_tlvs(buf):
    out, i = [], 0
    while i < len(buf):
        tag, length = buf[i], buf[i + 1]
        i += 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(buf[i:i + n], "big")
            i += n
        out.append((tag, buf[i:i + length]))
        i += length
    return out


def enc(tag, content):
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    lb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(lb)]) + lb + content


def response(msgid_raw, op_tag, code, message=b""):
    op = enc(0x0A, bytes([code])) + enc(0x04, b"") + enc(0x04, message)
    return enc(0x30, enc(0x02, msgid_raw) + enc(op_tag, op))


def serve(conn, users, log):
    f = conn.makefile("rb")
    try:
        while True:
            msg = read_tlv(f)
            if not msg or msg[0] != 0x30:
                return
            parts = parse_tlvs(msg[1])
            msgid_raw = parts[0][1]
            op_tag, op = parts[1]
            if op_tag == 0x42:  # UnbindRequest
                return
            if op_tag != 0x60:  # not a BindRequest
                conn.sendall(response(msgid_raw, 0x61, 2, b"only binds here"))
                return
            fields = parse_tlvs(op)
            name = fields[1][1].decode(errors="replace")
            password = fields[2][1].decode(errors="replace") if fields[2][0] == 0x80 else None
            with open(log, "a") as lf:
                lf.write(f"BIND {name}\n")
            ok = password is not None and users.get(name) == password and password != ""
            conn.sendall(response(msgid_raw, 0x61, 0 if ok else 49))
    except (OSError, ValueError, IndexError):
        pass
    finally:
        conn.close()


def main():
    host, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    users = dict(a.split("=", 1) for a in sys.argv[4:])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(16)
    with open(log, "a") as lf:
        lf.write("ready\n")
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, users, log), daemon=True).start()


if __name__ == "__main__":
    main()
