#!/usr/bin/env python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# console_xapi80.py - xapi's port 80 as far as consoles over CONNECT need it
# (73_frontdoor_connect.t), on TCP and/or a unix socket:
#  - a PROXY line is read as xapi's http.ml does (first 6 bytes "PROXY ")
#  - each request's head is recorded, raw, as one JSON line (--records)
#  - CONNECT /console, /remotecmd: xapi's exact 200 head
#    (ocaml/libs/http-lib/http.ml http_200_ok), then by query:
#      mode=echo     echo; at the client's EOF "EOF after N\n", close
#      mode=source   n bytes (byte i is i % 251), half-close, then count
#                    what the client still sends until its EOF (recorded)
#      mode=sink     count until the client's EOF, answer "GOT N SHA256\n"
#      mode=hold     send nothing, wait for the client's EOF (recorded)
#    or refuse=404 (head, Connection: close, then close) / refuse=403
#    (head with a 9-byte body, then the connection stays open)
#  - anything else: 200 "ok", close
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import urllib.parse

HEAD_200 = (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
            b"Cache-Control: no-cache, no-store\r\n\r\n")
lock = threading.Lock()
count = [0]


def record(path, obj):
    with lock:
        with open(path, "a") as f:
            f.write(json.dumps(obj) + "\n")


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None, None, buf
        buf += d
    proxy = None
    if buf.startswith(b"PROXY "):
        line, buf = buf.split(b"\r\n", 1)
        proxy = line.decode("latin-1")
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                return proxy, None, buf
            buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    return proxy, head + b"\r\n\r\n", rest


def drain(s, first=b""):
    n, h = len(first), hashlib.sha256(first)
    while True:
        d = s.recv(65536)
        if not d:
            return n, h.hexdigest()
        n += len(d)
        h.update(d)


def serve(s, transport, args):
    with lock:
        count[0] += 1
        num = count[0]
    proxy, head, rest = read_head(s)
    if head is None:
        record(args.records, {"conn": num, "transport": transport,
                              "proxy": proxy, "head": None})
        return
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    method, target, version = (line.split(" ") + ["", ""])[:3]
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query))
    rec = {"conn": num, "transport": transport, "proxy": proxy,
           "head": head.decode("latin-1"), "method": method,
           "target": target, "version": version}
    record(args.records, rec)
    if method != "CONNECT":
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                  b"Connection: close\r\n\r\nok")
        return
    if q.get("refuse") == "404":
        s.sendall(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n")
        return
    if q.get("refuse") == "403":
        s.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n"
                  b"Connection: keep-alive\r\n\r\nForbidden")
        drain(s)
        return
    s.sendall(HEAD_200)
    mode = q.get("mode", "echo")
    if mode == "echo":
        n = len(rest)
        if rest:
            s.sendall(rest)
        while True:
            d = s.recv(65536)
            if not d:
                break
            n += len(d)
            s.sendall(d)
        s.sendall(b"EOF after %d\n" % n)
    elif mode == "source":
        size = int(q.get("n", "0"))
        block = bytes(i % 251 for i in range(251 * 64))
        sent = 0
        while sent < size:
            chunk = block[: min(len(block), size - sent)]
            s.sendall(chunk)
            sent += len(chunk)
        s.shutdown(socket.SHUT_WR)
        n, sha = drain(s, rest)
        record(args.records, {"conn": num, "sank": n, "sha": sha})
    elif mode == "sink":
        n, sha = drain(s, rest)
        s.sendall(b"GOT %d %s\n" % (n, sha.encode()))
    elif mode == "hold":
        n, sha = drain(s, rest)
        record(args.records, {"conn": num, "held_until_eof": n})


def handle(s, transport, args):
    try:
        serve(s, transport, args)
    except OSError as e:
        print("conn: %s" % e, file=sys.stderr)
    finally:
        s.close()


def accept_loop(ls, transport, args):
    while True:
        c, _ = ls.accept()
        threading.Thread(target=handle, args=(c, transport, args),
                         daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, action="append", default=[])
    ap.add_argument("--unix")
    ap.add_argument("--records", required=True)
    ap.add_argument("--ready", required=True)
    args = ap.parse_args()
    socks = []
    for port in args.port:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", port))
        ls.listen(128)
        socks.append((ls, "tcp"))
    if args.unix:
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        us = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        us.bind(args.unix)
        us.listen(128)
        socks.append((us, "unix"))
    for ls, t in socks:
        threading.Thread(target=accept_loop, args=(ls, t, args),
                         daemon=True).start()
    with open(args.ready, "w") as f:
        f.write("ready\n")
    threading.Event().wait()


if __name__ == "__main__":
    main()
