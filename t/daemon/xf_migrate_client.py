#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# xf_migrate_client.py - the source side of a xenopsd-like migration, for
# 48_tunnel*.t: PUT head (no length, keep-alive, xenopsd's cookies), then
# a 32-byte handshake each way, N bytes each way at once, a final
# handshake each way, and EOF.  Prints one JSON object with what happened.
# Python 3 standard library only.
#
#   xf_migrate_client.py --port P [--tls] [--buffered] [--bytes N] PATH
#
# --buffered sends the client's handshake together with the head (httpd
# then holds bytes past the head: relay, not hand-off); otherwise the
# client waits for the daemon's handshake before sending its own.

import argparse
import hashlib
import json
import select
import socket
import ssl
import sys

HS = {
    "client": b"XF-MIGRATE-HELLO-FROM-SOURCE-v1\n",
    "daemon": b"XF-MIGRATE-HELLO-FROM-TARGET-v1\n",
    "client_end": b"XF-MIGRATE-DONE-FROM-SOURCE-v1\n\n",
    "daemon_end": b"XF-MIGRATE-DONE-FROM-TARGET-v1\n\n",
}
PATTERN = bytes(range(256)) * 256
WANT = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


def client_bytes(n):
    """What the client sends: 64 KiB blocks, each its number repeated."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += (i.to_bytes(4, "big") * 16384)[:n - len(out)]
        i += 1
    return bytes(out)


def pattern_sha(n):
    h = hashlib.sha256()
    while n > 0:
        k = min(n, len(PATTERN))
        h.update(PATTERN[:k])
        n -= k
    return h.hexdigest()


def readable(s, timeout):
    if isinstance(s, ssl.SSLSocket) and s.pending():
        return True
    return bool(select.select([s], [], [], timeout)[0])


def recv_exact(s, n, timeout=60):
    buf = b""
    while len(buf) < n:
        if not readable(s, timeout):
            break
        try:
            chunk = s.recv(n - len(buf))
        except WANT:
            continue
        if not chunk:
            break
        buf += chunk
    return buf


def send_all(s, data, timeout=60):
    off = 0
    while off < len(data):
        select.select([s], [s], [], timeout)
        try:
            off += s.send(data[off:off + 65536])
        except WANT:
            continue


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--buffered", action="store_true")
    ap.add_argument("--bytes", type=int, default=64 << 20)
    ap.add_argument("path")
    a = ap.parse_args()
    res = {"hs": "bad", "final": "bad", "got": 0, "eof": False}
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=30)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = raw
    if a.tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.setblocking(False)
    head = ("PUT %s HTTP/1.1\r\nHost: localhost:%d\r\n"
            "Connection: keep-alive\r\n"
            "Cookie: dbg=migrate-test; memory_limit=1073741824\r\n\r\n"
            % (a.path, a.port)).encode()
    if a.buffered:
        send_all(s, head + HS["client"])
        res["hs"] = "ok" if recv_exact(s, 32) == HS["daemon"] else "bad"
    else:
        send_all(s, head)
        got = recv_exact(s, 32)
        res["hs"] = "ok" if got == HS["daemon"] else "bad: %r" % got[:64]
        send_all(s, HS["client"])
    if res["hs"] != "ok":
        print(json.dumps(res))
        return 1
    out = client_bytes(a.bytes)
    res["sent_sha"] = hashlib.sha256(out).hexdigest()
    res["want_sha"] = pattern_sha(a.bytes)
    h = hashlib.sha256()
    off, got = 0, 0
    while off < len(out) or got < a.bytes:
        r = [s] if got < a.bytes else []
        w = [s] if off < len(out) else []
        pend = isinstance(s, ssl.SSLSocket) and s.pending()
        if not pend:
            rr, ww, _ = select.select(r, w, [], 60)
            if not rr and not ww:
                res["error"] = "stalled"
                break
        if got < a.bytes:
            try:
                chunk = s.recv(min(65536, a.bytes - got))
                if not chunk:
                    res["error"] = "EOF after %d" % got
                    break
                h.update(chunk)
                got += len(chunk)
            except WANT:
                pass
        if off < len(out):
            try:
                off += s.send(out[off:off + 65536])
            except WANT:
                pass
    res["got"] = got
    res["got_sha"] = h.hexdigest()
    send_all(s, HS["client_end"])
    res["final"] = "ok" if recv_exact(s, 32) == HS["daemon_end"] else "bad"
    res["eof"] = recv_exact(s, 1, 30) == b""
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
