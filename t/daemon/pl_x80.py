#!/usr/bin/env python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# pl_x80.py - xapi's port 80 as the catch-all reaches it, for
# 72_frontdoor_proxyline.t until t/daemon/fake_xapi80.py replaces it.
# Per connection, the PROXY line read as xapi reads it
# (ocaml/libs/http-lib/http.ml: first 6 bytes "PROXY ", the line kept for
# every request of the connection; http_svr.ml: "TCP6 %s %s %d %d", else
# no HTTPS client). Per request one JSON line in --records. Answers:
# GET / as fileserver.ml (HTTPS client or unix socket: 200, else 403);
# GET /export?size=N: N bytes of the pattern bytes(range(256)) repeated;
# GET with Upgrade: websocket: 101, then echo; anything else: 200 with
# the record as JSON body.
import argparse
import hashlib
import json
import os
import socket
import socketserver
import sys
import threading

LOCK = threading.Lock()
COUNT = [0]
PATTERN = bytes(range(256)) * 256


def https_client(line):
    # http_svr.ml https_client_of_req: Scanf "TCP6 %s %s %d %d"
    if line is None:
        return None
    parts = line[len("PROXY "):].split(" ")
    if len(parts) != 5 or parts[0] != "TCP6":
        return None
    try:
        return [parts[1], int(parts[3])]
    except ValueError:
        return None


class Handler(socketserver.StreamRequestHandler):
    def record(self, rec):
        with LOCK:
            with open(self.server.records, "a") as f:
                f.write(json.dumps(rec) + "\n")

    def send(self, status, body, extra=b""):
        head = "HTTP/1.1 %s\r\nContent-Length: %d\r\n" % (status, len(body))
        self.wfile.write(head.encode() + extra + b"\r\n" + body)
        self.wfile.flush()

    def body(self, headers):
        h = dict((k.lower(), v) for k, v in headers)
        sha = hashlib.sha256()
        n = 0
        if h.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    break
                left = size
                while left:
                    b = self.rfile.read(min(left, 1 << 20))
                    if not b:
                        raise EOFError
                    sha.update(b)
                    n += len(b)
                    left -= len(b)
                self.rfile.readline()
        else:
            left = int(h.get("content-length", "0"))
            while left:
                b = self.rfile.read(min(left, 1 << 20))
                if not b:
                    raise EOFError
                sha.update(b)
                n += len(b)
                left -= len(b)
        return n, sha.hexdigest()

    def handle(self):
        with LOCK:
            COUNT[0] += 1
            conn = COUNT[0]
        unix = self.server.transport == "clientcert"
        peer = None if unix else list(self.client_address[:2])
        line = None
        if self.rfile.peek(6)[:6] == b"PROXY ":
            line = self.rfile.readline().decode("latin-1").rstrip("\r\n")
        while True:
            reqline = self.rfile.readline()
            if not reqline:
                return
            reqline = reqline.decode("latin-1").rstrip("\r\n")
            if not reqline:
                continue
            headers = []
            while True:
                h = self.rfile.readline().decode("latin-1").rstrip("\r\n")
                if not h:
                    break
                k, _, v = h.partition(":")
                headers.append([k, v.strip()])
            method, target, version = reqline.split(" ", 2)
            try:
                n, sha = self.body(headers)
            except EOFError:
                return
            hc = https_client(line)
            rec = {"conn": conn, "transport": self.server.transport,
                   "proxy": line, "https": hc is not None,
                   "client": hc or peer, "method": method,
                   "target": target, "version": version,
                   "headers": headers, "body_len": n, "body_sha256": sha}
            self.record(rec)
            h = dict((k.lower(), v) for k, v in headers)
            if "websocket" in h.get("upgrade", "").lower():
                self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\n"
                                 b"Upgrade: websocket\r\n"
                                 b"Connection: Upgrade\r\n\r\n")
                self.wfile.flush()
                while True:
                    b = self.request.recv(65536)
                    if not b:
                        return
                    self.request.sendall(b)
            if method == "GET" and target == "/":
                if hc is not None or unix:
                    self.send("200 OK", b"<html>XO Lite</html>")
                else:
                    self.send("403 Forbidden", b"website-https-only")
            elif method == "GET" and target.startswith("/export?size="):
                size = int(target.split("=", 1)[1])
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d"
                                 b"\r\n\r\n" % size)
                while size:
                    chunk = PATTERN[:min(size, len(PATTERN))]
                    self.wfile.write(chunk)
                    size -= len(chunk)
                self.wfile.flush()
            else:
                self.send("200 OK", json.dumps(rec).encode(),
                          b"Content-Type: application/json\r\n")
            conn_hdr = h.get("connection", "").lower()
            if version == "HTTP/1.0" and "keep-alive" not in conn_hdr:
                return
            if "close" in conn_hdr:
                return


class TCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Unix(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    ap.add_argument("--unix")
    ap.add_argument("--records", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()
    servers = []
    if a.port:
        s = TCP(("127.0.0.1", a.port), Handler)
        s.transport = "tcp"
        servers.append(s)
    if a.unix:
        if os.path.exists(a.unix):
            os.unlink(a.unix)
        s = Unix(a.unix, Handler)
        os.chmod(a.unix, 0o777)
        s.transport = "clientcert"
        servers.append(s)
    for s in servers:
        s.records = a.records
        threading.Thread(target=s.serve_forever, daemon=True).start()
    with open(a.ready, "w") as f:
        f.write("up\n")
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
