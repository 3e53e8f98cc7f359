#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""fake_xapi80.py - xapi's port 80 (and its unix sockets) as the front
door's catch-all reaches it, for the integration tests of mod_xapi_forward
and of the reference front door (stunnel).  Python 3 standard library only;
one thread per connection, raw sockets (it must see stunnel's PROXY line
before the first request, and serve CONNECT).

Usage:
  fake_xapi80.py --state-dir DIR [--http PORT] [--unix PATH]...
                 [--clientcert PATH]... [--website-http]

  --http PORT       TCP on 127.0.0.1:PORT (PORT 0: any free port, written
                    to DIR/http_port); transport "tcp"
  --unix PATH       an AF_UNIX stream socket (as /var/lib/xcp/xapi);
                    transport "unix"; a stale socket is replaced; mode 0666
  --clientcert PATH the same, transport "clientcert" (as
                    /var/lib/xcp/xapi-clientcert, where stunnel sends the
                    clients whose certificate it verified)
  --website-http    website-https-only false: a plain-HTTP GET / with a Host
                    gets fileserver.ml's 301 to https://HOST/path (without
                    Host: the page) instead of 403
  --state-dir DIR   records and control files (created if missing)
At least one --http, --unix or --clientcert is required.

As xapi reads a connection (ocaml/libs/http-lib/http.ml
read_http_request_header, http_svr.ml handle_connection): when a request
head starts with the 6 bytes "PROXY ", the line up to CRLF is kept and
stands for every later request of the connection (xapi's STUNNEL_PROXY).
http_svr.ml https_client_of_req parses what follows "PROXY " as OCaml's
Scanf "TCP6 %s %s %d %d"; the client address has "::ffff:" dropped
(clean_addr_of_string).  A line that does not scan (TCP4, garbage) logs
"Failed to parse STUNNEL_PROXY='...'" in DIR/xapi.log and counts as no
line.  The client (client_of_req_and_fd): HTTPS from the line's source
address and port when it parsed, else HTTP from the peer (a unix socket:
no address).  Keep-alive as http_svr.ml: HTTP/1.0 closes unless
"Connection: keep-alive", HTTP/1.1 stays open unless "Connection: close".

Answers:
  GET /              fileserver.ml: an HTTPS client, or any request on a
                     unix socket: 200 text/html; a plain-HTTP TCP client:
                     403 (website-https-only, xapi's default), or with
                     --website-http 301 Location: https://HOST/ (no Host:
                     200)
  GET /export?size=N N bytes of the pattern (byte i is i % 251), streamed,
                     with Content-Length
  CONNECT /console..., CONNECT /remotecmd...
                     query refuse=404: "HTTP/1.1 404 Not Found" head
                     (http.ml http_404_missing), refuse=403: http_svr.ml's
                     403 page; both Connection: close, then close.
                     Otherwise http.ml's http_200_ok head exactly
                     ("HTTP/1.1 200 OK\\r\\nConnection: keep-alive\\r\\n
                     Cache-Control: no-cache, no-store\\r\\n\\r\\n"), then by
                     query mode=
                       echo (default)  every byte back; on the client's EOF
                                       the rest is echoed, then close
                       source&n=N      N pattern bytes, shutdown(SHUT_WR),
                                       read until EOF
                       sink            read until EOF, then write
                                       "got COUNT SHA256HEX\\n" and close
  CONNECT elsewhere  403 (no xapi handler), close
  GET + "Upgrade: websocket"
                     ws_helpers.ml's "HTTP/1.1 101 Switching Protocols"
                     head, then ?mode= as above (echo by default)
  anything else      200 application/json: the request's record (below), so
                     a client sees what xapi saw.  Bodies (Content-Length or
                     chunked, any size) are read and hashed as they stream.
  A request head that does not parse: 500, close (http_svr.ml).

Records, DIR/requests.jsonl, one JSON object a line, written before the
answer goes out (a tunnel's end: a second line, written when it ends):
  {"conn": N (connection serial, from 1), "seq": N (request on it, from 1),
   "transport": "tcp"|"unix"|"clientcert", "proxy_line": "PROXY ..." (the
   line in force, without CRLF) | null, "https": bool, "client_addr":
   "127.0.0.1" | null, "client_port": N | null, "peer_addr", "peer_port"
   (the TCP peer: the front door's end; null on unix sockets), "method",
   "target" (as sent), "path", "query" ({name: value}), "version"
   ("HTTP/1.1"), "headers": [[name, value], ...] (in order, as received,
   values trimmed), "body_len", "body_sha256", "status": N}
  {"event": "tunnel_end", "conn", "seq", "mode", "bytes_in", "sha256_in"
   (what the client sent after the head), "bytes_out", "sha256_out" (what
   we sent after the head)}
Other files: DIR/xapi.log (what xapi would log: PROXY parse failures, bad
heads), DIR/ready (pid, once every listener listens), DIR/http_port.
SIGTERM/SIGINT: remove the sockets and ready, exit 0.
"""

import argparse
import base64
import hashlib
import ipaddress
import json
import os
import re
import signal
import socket
import sys
import threading
import urllib.parse

MAX_HEAD = 65536
PATTERN = bytes(i % 251 for i in range(251)) * 261   # 65511 bytes

RECORD_LOCK = threading.Lock()
CONN_LOCK = threading.Lock()
CONN_SERIAL = [0]
STATE = {}


class Closed(Exception):
    """The peer closed (or reset) the connection."""


class BadHead(Exception):
    """A request head xapi would not parse."""


def path_of(name):
    return os.path.join(STATE["dir"], name)


def write_atomic(path, text):
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def xapi_log(line):
    with RECORD_LOCK:
        with open(path_of("xapi.log"), "a") as f:
            f.write(line + "\n")


def record(obj):
    line = json.dumps(obj, sort_keys=True) + "\n"
    with RECORD_LOCK:
        fd = os.open(path_of("requests.jsonl"),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def pattern_chunks(n):
    """n bytes of the pattern (byte i is i % 251), in chunks."""
    while n > 0:
        k = min(n, len(PATTERN))
        yield PATTERN[:k]
        n -= k


class Reader:
    """Buffered reads from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self):
        try:
            data = self.sock.recv(65536)
        except (ConnectionError, OSError):
            data = b""
        if not data:
            raise Closed()
        self.buf += data

    def exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def hash_n(self, n, h):
        """Consume n bytes into the hash h, streamed; returns n."""
        left = n
        while left:
            if not self.buf:
                self.fill()
            k = min(left, len(self.buf))
            h.update(self.buf[:k])
            del self.buf[:k]
            left -= k
        return n

    def until(self, mark, limit):
        start = 0
        while True:
            i = self.buf.find(mark, start)
            if i >= 0:
                out = bytes(self.buf[:i + len(mark)])
                del self.buf[:i + len(mark)]
                return out
            if len(self.buf) > limit:
                raise BadHead("head longer than %d bytes" % limit)
            start = max(0, len(self.buf) - len(mark) + 1)
            self.fill()

    def some(self):
        """What is buffered, else one recv; b"" on EOF."""
        if self.buf:
            out = bytes(self.buf)
            self.buf.clear()
            return out
        try:
            return self.sock.recv(65536)
        except (ConnectionError, OSError):
            return b""


def scan_proxy(value):
    """OCaml Scanf "TCP6 %s %s %d %d" on value (the line after "PROXY "):
    (source, sport) or None.  A space in a Scanf format matches any amount
    of whitespace, %s a run of non-blanks, %d an optionally signed
    number."""
    m = re.match(r"TCP6\s*(\S*)\s*(\S*)\s*([-+]?[0-9_]+)\s*([-+]?[0-9_]+)",
                 value)
    if not m:
        return None
    return m.group(1), int(m.group(3).replace("_", ""))


def clean_addr(ip):
    """http_svr.ml clean_addr_of_string: "::ffff:" dropped, then parsed."""
    if ip.startswith("::ffff:"):
        ip = ip[len("::ffff:"):]
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def parse_head(head):
    """(method, target, version, headers) of a request head (bytes, up to
    and including the empty line)."""
    text = head.decode("latin-1")
    lines = text.split("\n")
    fields = lines[0].split()
    if len(fields) != 3 or not fields[2].startswith("HTTP/"):
        raise BadHead("request line %r" % lines[0].rstrip("\r"))
    headers = []
    for line in lines[1:]:
        line = line.rstrip("\r")
        if not line:
            continue
        if ":" not in line:
            continue   # xapi ignores such a line
        k, v = line.split(":", 1)
        headers.append([k, v.strip()])
    return fields[0], fields[1], fields[2], headers


def hval(headers, name):
    """The last value of header name (case-insensitive), or None."""
    out = None
    for k, v in headers:
        if k.lower() == name:
            out = v
    return out


class Conn:
    def __init__(self, sock, transport, peer):
        self.sock = sock
        self.transport = transport
        self.rd = Reader(sock)
        with CONN_LOCK:
            CONN_SERIAL[0] += 1
            self.serial = CONN_SERIAL[0]
        self.seq = 0
        self.proxy = None   # the line in force, without CRLF
        if transport == "tcp" and peer:
            self.peer_addr, self.peer_port = peer[0], peer[1]
        else:
            self.peer_addr, self.peer_port = None, None

    def send(self, data):
        self.sock.sendall(data)

    # --- one request ------------------------------------------------------

    def read_request(self):
        """The next request's record, or None at EOF before a request."""
        try:
            first = self.rd.exactly(6)
        except Closed:
            return None
        if first == b"PROXY ":
            line = self.rd.until(b"\r\n", 1024)
            self.proxy = "PROXY " + line[:-2].decode("latin-1")
            head = self.rd.until(b"\r\n\r\n", MAX_HEAD)
        else:
            self.rd.buf[0:0] = first
            head = self.rd.until(b"\r\n\r\n", MAX_HEAD)
        method, target, version, headers = parse_head(head)
        self.seq += 1
        https, caddr, cport = False, None, None
        if self.proxy is not None:
            scanned = scan_proxy(self.proxy[len("PROXY "):])
            if scanned is None:
                xapi_log("Failed to parse STUNNEL_PROXY='%s'"
                         % self.proxy[len("PROXY "):])
            else:
                caddr = clean_addr(scanned[0])
                if caddr is not None:
                    https, cport = True, scanned[1]
        if not https:
            caddr, cport = self.peer_addr, self.peer_port
        split = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(split.query,
                                            keep_blank_values=True))
        close = version == "HTTP/1.0"
        conn_h = hval(headers, "connection")
        if conn_h is not None and conn_h.lower() == "close":
            close = True
        elif conn_h is not None and conn_h.lower() == "keep-alive":
            close = False
        return {
            "conn": self.serial, "seq": self.seq,
            "transport": self.transport, "proxy_line": self.proxy,
            "https": https, "client_addr": caddr, "client_port": cport,
            "peer_addr": self.peer_addr, "peer_port": self.peer_port,
            "method": method, "target": target, "path": split.path,
            "query": query, "version": version, "headers": headers,
            "body_len": 0, "body_sha256": hashlib.sha256().hexdigest(),
            "status": 0, "_close": close,
        }

    def read_body(self, rec):
        """Read (and hash) the request body; fills body_len, body_sha256."""
        h = hashlib.sha256()
        n = 0
        te = hval(rec["headers"], "transfer-encoding")
        cl = hval(rec["headers"], "content-length")
        if te is not None and "chunked" in te.lower():
            while True:
                line = self.rd.until(b"\r\n", 4096)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rd.until(b"\r\n", MAX_HEAD) != b"\r\n":
                        pass   # trailers
                    break
                self.rd.hash_n(size, h)
                n += size
                self.rd.exactly(2)
        elif cl is not None:
            n += self.rd.hash_n(int(cl), h)
        rec["body_len"] = n
        rec["body_sha256"] = h.hexdigest()

    # --- answers ----------------------------------------------------------

    @staticmethod
    def return_version(rec):
        """http_svr.ml get_return_version."""
        return "1.0" if rec["version"] == "HTTP/1.0" else "1.1"

    def answer(self, rec, status, reason, body, ctype, extra=()):
        """response_fct's shape: status, Content-Length, Connection,
        Cache-Control, then ours."""
        rec["status"] = status
        self.log(rec)
        head = ["HTTP/%s %d %s" % (self.return_version(rec), status, reason),
                "Content-Length: %d" % len(body),
                "Connection: %s" % ("close" if rec["_close"]
                                    else "keep-alive"),
                "Cache-Control: no-cache, no-store",
                "Content-Type: %s" % ctype]
        head.extend(extra)
        self.send(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    def log(self, rec):
        record({k: v for k, v in rec.items() if not k.startswith("_")})

    def forbidden(self, rec):
        """http_svr.ml response_forbidden (Connection: close)."""
        rec["status"] = 403
        rec["_close"] = True
        self.log(rec)
        body = (b"<html><body><h1>HTTP 403 forbidden</h1>Access to the "
                b"requested resource is forbidden.</body></html>")
        self.send(("HTTP/%s 403 Forbidden\r\nContent-Length: %d\r\n"
                   "Content-Type: text/html\r\nConnection: close\r\n"
                   "Cache-Control: no-cache, no-store\r\n\r\n"
                   % (self.return_version(rec), len(body))).encode() + body)

    def fileserver(self, rec):
        external_http = self.transport == "tcp" and not rec["https"]
        host = hval(rec["headers"], "host")
        if external_http and not STATE["website_http"]:
            return self.forbidden(rec)
        if external_http and host is not None:
            rec["status"] = 301
            self.log(rec)
            loc = "https://%s%s" % (host, rec["path"])
            self.send(("HTTP/%s 301 Moved Permanently\r\nContent-Length: 0"
                       "\r\nLocation: %s\r\n\r\n"
                       % (self.return_version(rec), loc)).encode())
            return
        rec["status"] = 200
        self.log(rec)
        body = (b"<html><head><title>fake xapi</title></head><body>"
                b"fake_xapi80 website</body></html>\n")
        # http_svr.ml response_file: always 1.1 and keep-alive
        self.send(("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                   "Connection: keep-alive\r\nContent-Type: text/html\r\n\r\n"
                   % len(body)).encode() + body)

    def export(self, rec):
        try:
            size = int(rec["query"].get("size", "0"))
        except ValueError:
            size = 0
        rec["status"] = 200
        self.log(rec)
        self.send(("HTTP/%s 200 OK\r\nContent-Length: %d\r\n"
                   "Connection: %s\r\nCache-Control: no-cache, no-store\r\n"
                   "Content-Type: application/octet-stream\r\n\r\n"
                   % (self.return_version(rec), size,
                      "close" if rec["_close"] else "keep-alive")).encode())
        for chunk in pattern_chunks(size):
            self.send(chunk)

    def connect(self, rec):
        refuse = rec["query"].get("refuse")
        if refuse == "404":
            rec["status"] = 404
            self.log(rec)
            self.send(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n"
                      b"Cache-Control: no-cache, no-store\r\n\r\n")
            return False
        if refuse == "403":
            self.forbidden(rec)
            return False
        rec["status"] = 200
        self.log(rec)
        self.send(b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
                  b"Cache-Control: no-cache, no-store\r\n\r\n")
        self.tunnel(rec, rec["query"].get("mode", "echo"))
        return False

    def websocket(self, rec):
        key = hval(rec["headers"], "sec-websocket-key") or ""
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()
        ).digest()).decode()
        rec["status"] = 101
        self.log(rec)
        self.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
                   "\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                   "Sec-WebSocket-Protocol: binary\r\n\r\n"
                   % accept).encode())
        self.tunnel(rec, rec["query"].get("mode", "echo"))
        return False

    def tunnel(self, rec, mode):
        hin, hout = hashlib.sha256(), hashlib.sha256()
        nin = nout = 0
        try:
            if mode == "source":
                try:
                    n = int(rec["query"].get("n", "0"))
                except ValueError:
                    n = 0
                for chunk in pattern_chunks(n):
                    self.send(chunk)
                    hout.update(chunk)
                    nout += len(chunk)
                self.sock.shutdown(socket.SHUT_WR)
            while True:
                data = self.rd.some()
                if not data:
                    break
                hin.update(data)
                nin += len(data)
                if mode == "echo":
                    self.send(data)
                    hout.update(data)
                    nout += len(data)
            if mode == "sink":
                msg = ("got %d %s\n" % (nin, hin.hexdigest())).encode()
                self.send(msg)
                hout.update(msg)
                nout += len(msg)
        except OSError:
            pass
        record({"event": "tunnel_end", "conn": self.serial,
                "seq": rec["seq"], "mode": mode,
                "bytes_in": nin, "sha256_in": hin.hexdigest(),
                "bytes_out": nout, "sha256_out": hout.hexdigest()})

    # --- the connection ---------------------------------------------------

    def serve(self):
        while True:
            try:
                rec = self.read_request()
            except Closed:
                return
            except BadHead as e:
                xapi_log("Error parsing HTTP headers: %s" % e)
                body = (b"<html><body><h1>HTTP 500 internal server error"
                        b"</h1>The HTTP headers could not be parsed."
                        b"</body></html>")
                self.send(("HTTP/1.1 500 Internal Error\r\nContent-Length: "
                           "%d\r\nContent-Type: text/html\r\nConnection: "
                           "close\r\nCache-Control: no-cache, no-store\r\n"
                           "\r\n" % len(body)).encode() + body)
                return
            if rec is None:
                return
            method, path = rec["method"], rec["path"]
            upgrade = (hval(rec["headers"], "upgrade") or "").lower()
            if method == "CONNECT":
                if path.startswith("/console") or \
                        path.startswith("/remotecmd"):
                    self.connect(rec)
                else:
                    self.forbidden(rec)
                return
            if method == "GET" and upgrade == "websocket":
                self.websocket(rec)
                return
            self.read_body(rec)
            if method == "GET" and path == "/":
                self.fileserver(rec)
                if rec["status"] == 403:
                    return
            elif method == "GET" and path == "/export":
                self.export(rec)
            else:
                rec["status"] = 200
                body = json.dumps(
                    {k: v for k, v in rec.items() if not k.startswith("_")},
                    sort_keys=True).encode()
                self.answer(rec, 200, "OK", body, "application/json")
            if rec["_close"]:
                return


def handle(sock, transport, peer):
    try:
        Conn(sock, transport, peer).serve()
    except (Closed, OSError):
        pass
    except Exception as e:   # a bug here: say so, keep serving others
        xapi_log("fake_xapi80 internal error: %r" % e)
    finally:
        try:
            sock.close()
        except OSError:
            pass


def serve_listener(lsock, transport):
    while True:
        try:
            sock, peer = lsock.accept()
        except OSError:
            return
        if transport == "tcp":
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(sock, transport, peer),
                         daemon=True).start()


def unix_listener(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.listen(128)
    return s


def main():
    ap = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--http", type=int, metavar="PORT")
    ap.add_argument("--unix", action="append", default=[], metavar="PATH")
    ap.add_argument("--clientcert", action="append", default=[],
                    metavar="PATH")
    ap.add_argument("--website-http", action="store_true")
    ap.add_argument("--state-dir", required=True, metavar="DIR")
    a = ap.parse_args()
    if a.http is None and not a.unix and not a.clientcert:
        ap.error("at least one --http, --unix or --clientcert is required")
    os.makedirs(a.state_dir, exist_ok=True)
    STATE["dir"] = a.state_dir
    STATE["website_http"] = a.website_http
    for name in ("ready", "http_port"):
        try:
            os.unlink(path_of(name))
        except FileNotFoundError:
            pass

    listeners = []
    if a.http is not None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", a.http))
        s.listen(128)
        write_atomic(path_of("http_port"), "%d\n" % s.getsockname()[1])
        listeners.append((s, "tcp"))
    paths = []
    for p in a.unix:
        listeners.append((unix_listener(p), "unix"))
        paths.append(p)
    for p in a.clientcert:
        listeners.append((unix_listener(p), "clientcert"))
        paths.append(p)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    for s, transport in listeners:
        threading.Thread(target=serve_listener, args=(s, transport),
                         daemon=True).start()
    write_atomic(path_of("ready"), "%d\n" % os.getpid())
    while not done.wait(3600):
        pass
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass
    try:
        os.unlink(path_of("ready"))
    except OSError:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
