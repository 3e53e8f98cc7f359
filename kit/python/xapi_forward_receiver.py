# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Receive requests that mod_xapi_forward (or xapi) hands to a daemon.

The front door connects to the daemon's AF_UNIX stream socket and sends ONE
message: xapi's ``Http.Request`` as JSON (the "envelope"), with the client's
socket -- or one end of a socketpair when httpd relays -- as SCM_RIGHTS
ancillary data.  The daemon answers the HTTP client by writing an HTTP/1.x
response on that descriptor.  Python 3.9+ standard library only.

A complete service::

    import xapi_forward_receiver as xfr

    def hello(req):
        body = ("hello %s, you sent %s %s\\n" % (
            req.query.get("name", "world"), req.method, req.path)).encode()
        req.respond(200, body)

    xfr.serve("/var/lib/xcp/plugin/hello", hello)

API
  listen(path, backlog=64, mode=0o666) -> listening socket (a stale socket
      file at path is replaced)
  receive(conn, max_size=16384, allow_http=True) -> Request; raises
      ReceiveError.  One recvmsg(MSG_CMSG_CLOEXEC): a message longer than
      max_size (MSG_TRUNC), truncated ancillary data (MSG_CTRUNC), no
      descriptor, malformed JSON, or JSON that is no envelope are errors;
      extra descriptors are closed.  With allow_http, a plain HTTP request
      on conn (mod_proxy_http: the "http" way) is read as one too.
  recv_message(conn, max_size=16384) -> Message (.data, .fd or -1,
      .extra_fds): the raw layer of receive(), for daemons that want the
      bytes as sent; parse(data, fd) -> Request is the other half.
  serve(path_or_socket, handler, max_size=16384) -> never returns: accept,
      receive, handler(request) in a thread per connection, close.
  Request: .method ("GET", ...), .path ("path", else "uri"), .query and
      .cookie (dicts), .headers (additional_headers: lower-case names),
      .version, .content_length (None if absent), .transfer_encoding,
      .close, .envelope (the parsed dict), .raw (the bytes), .channel
      (True: envelope + descriptor), .sock (the client socket.socket,
      blocking), .read_body(), .respond(...), .close_client()
"""

import json
import os
import socket
import stat
import sys
import threading
import urllib.parse

__all__ = ["ReceiveError", "Request", "Message", "listen", "receive",
           "recv_message", "parse", "serve", "response_bytes", "MAX_FDS"]

MAX_FDS = 8
_REASONS = {200: "OK", 201: "Created", 204: "No Content", 302: "Found",
            400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 413: "Payload Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}
_METHODS = {"Get": "GET", "Post": "POST", "Put": "PUT",
            "Connect": "CONNECT", "Options": "OPTIONS"}
_METHOD_NAMES = {v: k for k, v in _METHODS.items()}


class ReceiveError(Exception):
    """The message could not be received or is not an envelope.
    .reason is one of: "eof", "too_big", "ctrunc", "no_fd", "json",
    "envelope", "os"."""

    def __init__(self, reason, msg):
        Exception.__init__(self, msg)
        self.reason = reason


def _method(m):
    if isinstance(m, str) and m in _METHODS:
        return _METHODS[m]
    if (isinstance(m, list) and len(m) == 2 and m[0] == "Unknown"
            and isinstance(m[1], str)):
        return m[1]
    raise ReceiveError("envelope", "bad method field %r" % (m,))


def _strdict(env, key):
    v = env.get(key, {})
    if not isinstance(v, dict) or not all(isinstance(x, str)
                                          for x in v.values()):
        raise ReceiveError("envelope", "%s is not an object of strings" % key)
    return v


class Request:
    """One request received from the front door."""

    def __init__(self, raw, env, sock, buffered=b"", channel=True):
        self.raw = raw
        self.envelope = env
        self.sock = sock
        self.channel = channel
        self._buf = buffered
        self.method = _method(env.get("m"))
        path = env.get("path", env.get("uri"))
        if not isinstance(path, str):
            raise ReceiveError("envelope", "no path or uri string")
        self.path = path
        self.query = _strdict(env, "query")
        self.cookie = _strdict(env, "cookie")
        self.headers = _strdict(env, "additional_headers")
        self.version = env.get("version", "1.1")
        cl = env.get("content_length")
        if cl is not None and (not isinstance(cl, int) or cl < 0):
            raise ReceiveError("envelope", "bad content_length")
        self.content_length = cl
        self.transfer_encoding = env.get("transfer_encoding")
        self.close = bool(env.get("close", True))

    def _recv(self, n):
        if self._buf:
            data, self._buf = self._buf[:n], self._buf[n:]
            return data
        return self.sock.recv(n)

    def _line(self):
        line = bytearray()
        while not line.endswith(b"\n"):
            c = self._recv(1)
            if not c:
                break
            line += c
            if len(line) > 8192:
                raise ValueError("chunk line too long")
        return bytes(line)

    def _exact(self, n):
        out = bytearray()
        while len(out) < n:
            c = self._recv(min(1 << 20, n - len(out)))
            if not c:
                raise ConnectionError("client closed after %d of %d body "
                                      "bytes" % (len(out), n))
            out += c
        return bytes(out)

    def read_body(self, limit=64 << 20):
        """The request body (Content-Length or chunked), at most limit
        bytes; raises ValueError beyond it, ConnectionError on EOF."""
        if (self.transfer_encoding or "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self._line().split(b";")[0].strip() or b"x", 16)
                if size == 0:
                    while self._line() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                if len(out) + size > limit:
                    raise ValueError("body over %d bytes" % limit)
                out += self._exact(size)
                self._line()
        n = self.content_length or 0
        if n > limit:
            raise ValueError("body over %d bytes" % limit)
        return self._exact(n)

    def respond(self, status, body=b"", headers=None,
                content_type="text/plain"):
        """Write a complete response (with Content-Length and Connection:
        close) on the client socket."""
        self.sock.sendall(response_bytes(status, body, headers, content_type,
                                         head_only=self.method == "HEAD"))

    def close_client(self):
        try:
            self.sock.close()
        except OSError:
            pass


def response_bytes(status, body=b"", headers=None, content_type="text/plain",
                   head_only=False):
    """The bytes of a complete HTTP/1.1 response."""
    if isinstance(body, str):
        body = body.encode()
    lines = ["HTTP/1.1 %d %s" % (status, _REASONS.get(status, "Status")),
             "Content-Length: %d" % len(body)]
    if content_type:
        lines.append("Content-Type: %s" % content_type)
    for k, v in (headers.items() if isinstance(headers, dict)
                 else headers or ()):
        lines.append("%s: %s" % (k, v))
    lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + body


def _close_all(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _plain_http(conn, data, max_size):
    """A plain HTTP/1.x request on conn itself (the "http" way): read the
    head, and describe it as an envelope would."""
    while b"\r\n\r\n" not in data:
        if len(data) > max_size:
            raise ReceiveError("too_big", "request head longer than %d bytes"
                               % max_size)
        more = conn.recv(65536)
        if not more:
            raise ReceiveError("eof", "connection closed inside the head")
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
        if not version.startswith("HTTP/"):
            raise ValueError(version)
    except ValueError:
        raise ReceiveError("envelope", "not an HTTP request line")
    path, _, qs = target.partition("?")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    cookie = {}
    for item in headers.pop("cookie", "").replace(",", ";").split(";"):
        k, eq, v = item.strip().partition("=")
        if eq:
            cookie[k] = v
    env = {"m": _METHOD_NAMES.get(method, ["Unknown", method]),
           "uri": urllib.parse.unquote(path),
           "query": dict(urllib.parse.parse_qsl(qs, keep_blank_values=True)),
           "version": version[5:], "frame": False, "cookie": cookie,
           "close": True}
    cl = headers.get("content-length")
    if cl is not None:
        try:
            env["content_length"] = int(cl)
        except ValueError:
            raise ReceiveError("envelope", "bad Content-Length")
    if "transfer-encoding" in headers:
        env["transfer_encoding"] = headers["transfer-encoding"]
    env["additional_headers"] = headers
    return Request(head, env, conn, rest, channel=False)


class Message:
    """One message as received: .data (bytes), .fd (the first descriptor,
    or -1), .extra_fds (how many more came; they are closed already)."""

    def __init__(self, data, fd, extra_fds):
        self.data = data
        self.fd = fd
        self.extra_fds = extra_fds


def recv_message(conn, max_size=16384):
    """One recvmsg(MSG_CMSG_CLOEXEC) of at most max_size bytes and up to
    MAX_FDS descriptors; raises ReceiveError for a closed connection,
    MSG_TRUNC or a longer message, and MSG_CTRUNC (descriptors closed)."""
    try:
        data, fds, flags, _ = socket.recv_fds(
            conn, max_size + 1, MAX_FDS, socket.MSG_CMSG_CLOEXEC)
    except OSError as e:
        raise ReceiveError("os", "recvmsg: %s" % e)
    if flags & socket.MSG_CTRUNC:
        _close_all(fds)
        raise ReceiveError("ctrunc", "ancillary data truncated (more than "
                           "%d descriptors?)" % MAX_FDS)
    if flags & socket.MSG_TRUNC or len(data) > max_size:
        _close_all(fds)
        raise ReceiveError("too_big", "message longer than %d bytes"
                           % max_size)
    if not data and not fds:
        raise ReceiveError("eof", "connection closed without a message")
    _close_all(fds[1:])
    return Message(data, fds[0] if fds else -1, max(0, len(fds) - 1))


def parse(data, fd):
    """The Request of an envelope (bytes) and its descriptor; the
    descriptor is closed when data is no envelope."""
    try:
        env = json.loads(data.decode("utf-8"))
        if not isinstance(env, dict):
            raise ReceiveError("envelope", "the JSON is not an object")
    except (ValueError, UnicodeDecodeError, ReceiveError) as e:
        _close_all([fd])
        if isinstance(e, ReceiveError):
            raise
        raise ReceiveError("json", "malformed JSON: %s" % e)
    sock = socket.socket(fileno=fd)
    try:
        sock.setblocking(True)
        return Request(data, env, sock)
    except Exception:
        sock.close()
        raise


def receive(conn, max_size=16384, allow_http=True):
    """Receive one envelope and its descriptor from a connected socket.
    With allow_http, a plain HTTP request on conn itself (no descriptor)
    is accepted too: then .sock is conn and .channel is False."""
    m = recv_message(conn, max_size)
    if m.fd < 0:
        if allow_http and m.data[:1].isalpha():
            return _plain_http(conn, m.data, max_size)
        raise ReceiveError("no_fd", "message without a descriptor")
    return parse(m.data, m.fd)


def listen(path, backlog=64, mode=0o666):
    """A listening AF_UNIX stream socket at path (a stale one replaced)."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, mode)
    s.listen(backlog)
    return s


def _one(conn, handler, max_size):
    req = None
    try:
        conn.settimeout(30)
        req = receive(conn, max_size)
        handler(req)
    except (ReceiveError, OSError) as e:
        sys.stderr.write("xapi_forward_receiver: %s\n" % e)
    finally:
        if req is not None:
            req.close_client()
        conn.close()


def serve(where, handler, max_size=16384):
    """Accept forever on where (a path or a listening socket); both ways
    (an envelope with a descriptor, or plain HTTP) reach handler."""
    ls = listen(where) if isinstance(where, str) else where
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=_one, args=(conn, handler, max_size),
                         daemon=True).start()
