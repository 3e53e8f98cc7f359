#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# tunnel_peer.py - both ends of the tunnel benchmark (bench/extra.sh):
#   tunnel_peer.py daemon --xapi SOCK --http SOCK --bytes N
#       the daemon: on SOCK (xapi) one recvmsg = envelope + fd; on SOCK
#       (http) an HTTP request with "Upgrade: xftunnel" answered 101; then
#       N bytes each way at once on that socket, and close
#   tunnel_peer.py client --port P --path PATH [--upgrade] --bytes N
#       the client, over TLS: PUT PATH, (--upgrade: wait for the 101), then
#       N bytes each way at once; prints "seconds bytes_in bytes_out"
# Python 3 standard library only.
import select
import socket
import ssl
import sys
import threading
import time

BLOCK = bytes(range(256)) * 256  # 64 KiB
WANT = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


def two_way_blocking(s, n):
    def sender():
        left = n
        while left > 0:
            k = min(left, len(BLOCK))
            s.sendall(BLOCK[:k])
            left -= k
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    got = 0
    while got < n:
        c = s.recv(1 << 20)
        if not c:
            break
        got += len(c)
    t.join()
    s.close()


def listener(path):
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    l.bind(path)
    l.listen(16)
    return l


def serve_xapi(path, n):
    l = listener(path)
    while True:
        c, _ = l.accept()
        _, anc, _, _ = c.recvmsg(16384, socket.CMSG_SPACE(4))
        fd = int.from_bytes(anc[0][2][:4], sys.byteorder)
        s = socket.socket(fileno=fd)
        s.setblocking(True)
        threading.Thread(target=lambda: (two_way_blocking(s, n), c.close()),
                         daemon=True).start()


def serve_http(path, n):
    l = listener(path)
    while True:
        c, _ = l.accept()
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += c.recv(4096)
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: xftunnel\r\n"
                  b"Connection: Upgrade\r\n\r\n")
        threading.Thread(target=two_way_blocking, args=(c, n),
                         daemon=True).start()


def client(port, path, upgrade, n):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    raw = socket.create_connection(("127.0.0.1", port))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    t0 = time.monotonic()
    head = "PUT %s HTTP/1.1\r\nHost: localhost\r\n" % path
    if upgrade:
        head += "Upgrade: xftunnel\r\nConnection: Upgrade\r\n"
    s.sendall((head + "\r\n").encode())
    if upgrade:
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        if b" 101 " not in buf.split(b"\r\n")[0]:
            print("no 101: %r" % buf[:80])
            return 1
    s.setblocking(False)
    sent = got = 0
    while sent < n or got < n:
        if not s.pending():
            select.select([s] if got < n else [], [s] if sent < n else [],
                          [], 60)
        if got < n:
            try:
                c = s.recv(1 << 20)
                if not c:
                    break
                got += len(c)
            except WANT:
                pass
        if sent < n:
            try:
                sent += s.send(BLOCK[:min(len(BLOCK), n - sent)])
            except WANT:
                pass
    print("%.3f %d %d" % (time.monotonic() - t0, got, sent))
    return 0


def main():
    a = sys.argv[1:]
    opt = dict(zip(a[1::2], a[2::2])) if a[0] == "daemon" else {}
    if a[0] == "daemon":
        n = int(opt["--bytes"])
        threading.Thread(target=serve_http, args=(opt["--http"], n),
                         daemon=True).start()
        serve_xapi(opt["--xapi"], n)
    else:
        args = a[1:]
        upgrade = "--upgrade" in args
        args = [x for x in args if x != "--upgrade"]
        o = dict(zip(args[0::2], args[1::2]))
        return client(int(o["--port"]), o["--path"], upgrade,
                      int(o["--bytes"]))


if __name__ == "__main__":
    sys.exit(main())
