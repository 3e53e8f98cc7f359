#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# xf_daemon.py - a stand-in for xcp-rrdd / xenopsd in the integration tests.
# It receives with the receiver kit (kit/python/xapi_forward_receiver.py).
# Listens on AF_UNIX SOCK_STREAM sockets, receives one message plus one fd
# (SCM_RIGHTS) per connection, records what it got and answers the HTTP
# client on the received fd.  Python 3 standard library only.
#
# Usage:
#   xf_daemon.py --dir RECORD_DIR [--ready FILE] NAME=PATH[:MODE] ...
#
# MODE (default from the name: "fdpass*" -> fdpass, "closer*" -> close,
# "dead*" -> dead, "deaf*" -> deaf, "full*" -> full, else xapi):
#   xapi    one recvmsg(16384) = JSON envelope + fd; answer by path (below)
#   fdpass  one recvmsg = one NUL byte + fd (mod_proxy_fdpass protocol): httpd
#           has written the status line and headers, write only a body
#   close   accept, wait 0.2 s, close without reading anything
#   dead    bind the path, then close the socket without unlinking it, so
#           connect() gets ECONNREFUSED ("not listening")
#   deaf    accept, never read; close when the peer closes (30 s at most):
#           the message and its fd stay queued, unread
#   full    listen with a backlog of 0 and never accept; one connection of
#           the daemon's own fills the queue, so every connect() waits
#           (EAGAIN: "backlog full")
#
# Behaviour in xapi mode, chosen by the envelope's "path" (else "uri"); the
# first path segment that names a behaviour wins, so /r/echo, /rw/echo and
# /sh/echo all echo:
#   echo      200, body = the envelope bytes exactly as received
#             (HEAD: headers only)
#   big       200, ?bytes=N bytes of a fixed pattern (bytes 0..255 repeated)
#   body      read the request body from the fd (content_length or chunked),
#             answer "length=N sha256=HEX\n"
#   silent    close the fd without writing anything
#   ctl404    write an HTTP 404 head on the CONTROL socket (as xenopsd does
#             for unknown paths) and close the fd without writing on it
# With ?quiet, a failed write to the client fd is an event ("quiet id=X
# ..."), not an error: for tests whose client goes away on purpose.
# Relay tests (4x_*.t) add, with ?id=X echoed into the event records:
#   status    ?code=N (200) with a ?len=M (0) byte body of 'x', with length
#             (204 and 304: neither length nor body)
#   nolen     200, ?bytes=N of the pattern, no length: delimited by close
#   chunked   200, Transfer-Encoding: chunked, ?bytes=N of the pattern in
#             chunks of varying sizes (with an extension and a trailer)
#   body100   "100 Continue" first, then as body
#   halfhead  half a response head, then close
#   garbage   a line that is no status line, then close
#   hugehead  200 with one 100 KiB header field
#   manyhead  200 with 200 header fields
#   hopconn   200 "abc" with Connection: X-Hop-Test (that field is
#             hop-by-hop, X-Kept is not)
#   drip      200, ?bytes=N of the pattern with its length, ?block=B
#             (16384) bytes every ?ms=M (5) milliseconds: a slow daemon
#   stall     write nothing; wait (30 s at most) for the peer to close
#   truncate  Content-Length: 100000 (?te=chunked: chunked), 1000 bytes,
#             close (?hold=1: wait for the peer to close; event)
#   sink      read the body (content_length); event "sink id=X got=N
#             want=M eof|ok|error:..."; answer 200 "ok\n" when complete
#   early     ?code=N (413) with a short body at once, reading nothing;
#             then keep the fd open until the peer closes (30 s at most,
#             ?hold=0: close at once); event "early id=X closed_after=S"
#   other     200, "hello from NAME\n"
# Every answer carries X-Daemon: NAME and X-Peer: <family> <peer address of
# the received fd>, and ends with Connection: close.
#
# Records, in RECORD_DIR: NAME.last.json (the raw message of the last
# connection), NAME.log (one line per connection: length, then the raw bytes
# with \n escaped), NAME.count (messages), NAME.accepts (connections, with
# a message or not), NAME.events (one line per event of the
# relay behaviours above), and errors.log (anything wrong: no fd, fd not a
# connected socket, JSON that xapi would reject).  The ready file (or the
# line "READY" on stdout) appears once every socket listens.

import argparse
import hashlib
import json
import os
import select
import selectors
import signal
import socket
import stat
import sys
import threading
import time

# the receiver kit (kit/python, beside t/ in the repository and in the
# temporary copy t/run-apache-tests.sh makes)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "kit", "python"))
import xapi_forward_receiver as xfr  # noqa: E402

RECV_MAX = 16384
PATTERN = bytes(range(256)) * 256  # 64 KiB block for /big
BEHAVIOURS = ("echo", "big", "body", "silent", "ctl404", "status", "nolen",
              "chunked", "body100", "halfhead", "garbage", "hugehead",
              "manyhead", "stall", "truncate", "sink", "early", "drip",
              "hopconn")
REASONS = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
           404: "Not Found",
           413: "Payload Too Large", 418: "I'm a teapot",
           500: "Internal Server Error", 503: "Service Unavailable"}
HOLD_MAX = 30.0
REQUIRED = ("m", "query", "version", "frame", "cookie", "close",
            "additional_headers")
OPTIONAL_STR = ("transfer_encoding", "accept", "task", "subtask_of",
                "content_type", "host", "user_agent", "body", "traceparent")

LOCK = threading.Lock()
RECORD_DIR = "."


def log_error(name, msg):
    line = "%s %s: %s\n" % (time.strftime("%H:%M:%S"), name, msg)
    with LOCK:
        with open(os.path.join(RECORD_DIR, "errors.log"), "a") as f:
            f.write(line)
    sys.stderr.write(line)
    sys.stderr.flush()


def record(name, data):
    with LOCK:
        tmp = os.path.join(RECORD_DIR, name + ".last.json.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(RECORD_DIR, name + ".last.json"))
        with open(os.path.join(RECORD_DIR, name + ".log"), "ab") as f:
            f.write(b"%d " % len(data) + data.replace(b"\\", b"\\\\")
                    .replace(b"\n", b"\\n") + b"\n")
        bump(name + ".count")


def bump(file):
    """Add one to the number in RECORD_DIR/file (LOCK held)."""
    cnt = os.path.join(RECORD_DIR, file)
    n = 0
    try:
        with open(cnt) as f:
            n = int(f.read().strip() or 0)
    except (OSError, ValueError):
        pass
    with open(cnt + ".tmp", "w") as f:
        f.write("%d\n" % (n + 1))
    os.rename(cnt + ".tmp", cnt)


def event(name, line):
    """One line in NAME.events (relay behaviours: what the daemon saw)."""
    with LOCK:
        with open(os.path.join(RECORD_DIR, name + ".events"), "a") as f:
            f.write(line + "\n")


def wait_peer_close(cs, limit=HOLD_MAX):
    """Without reading, wait until the peer closes its end (POLLHUP or
    POLLRDHUP); return the seconds waited, or None after `limit`."""
    t0 = time.monotonic()
    p = select.poll()
    p.register(cs.fileno(), select.POLLRDHUP)
    while True:
        left = limit - (time.monotonic() - t0)
        if left <= 0:
            return None
        for _, rev in p.poll(left * 1000):
            if rev & (select.POLLHUP | select.POLLRDHUP | select.POLLERR):
                return time.monotonic() - t0


def pattern_bytes(n):
    """The first n bytes of the /big pattern, as an iterator of blocks."""
    sent = 0
    while sent < n:
        k = min(len(PATTERN), n - sent)
        yield PATTERN[:k]
        sent += k


def validate_envelope(env):
    """What xapi's Http.Request.t_of_rpc would reject; '' when fine."""
    if not isinstance(env, dict):
        return "envelope is not an object"
    for k in REQUIRED:
        if k not in env:
            return "missing field %r" % k
    if "path" not in env and "uri" not in env:
        return "neither 'path' nor 'uri'"
    for k in ("path", "uri"):
        if k in env and not isinstance(env[k], str):
            return "%r is not a string" % k
    m = env["m"]
    if isinstance(m, str):
        if m not in ("Get", "Post", "Put", "Connect", "Options"):
            return "bad method %r" % (m,)
    elif not (isinstance(m, list) and len(m) == 2 and m[0] == "Unknown"
              and isinstance(m[1], str)):
        return "bad method %r" % (m,)
    for k in ("query", "cookie", "additional_headers"):
        if not isinstance(env[k], dict) or not all(
                isinstance(v, str) for v in env[k].values()):
            return "%r is not an object of strings" % k
    if not isinstance(env["version"], str):
        return "version is not a string"
    if env["frame"] is not False:
        return "frame is not false"
    if not isinstance(env["close"], bool):
        return "close is not a bool"
    for k in OPTIONAL_STR:
        if k in env and not isinstance(env[k], str):
            return "%r present but not a string" % k
    if "content_length" in env:
        cl = env["content_length"]
        if isinstance(cl, bool) or not isinstance(cl, int) or cl < 0:
            return "content_length is not a non-negative integer"
    if "auth" in env:
        a = env["auth"]
        ok = (isinstance(a, list) and
              ((len(a) == 3 and a[0] == "Basic") or
               (len(a) == 2 and a[0] == "UnknownAuth")) and
              all(isinstance(x, str) for x in a))
        if not ok:
            return "bad auth %r" % (a,)
    return ""


def pairs_hook(pairs):
    # keep duplicates visible to the validator: last one wins like xapi
    return dict(pairs)


def check_client_fd(fd):
    """The fd must be a connected stream socket; return (family, peer)."""
    st = os.fstat(fd)
    if not stat.S_ISSOCK(st.st_mode):
        raise ValueError("received fd is not a socket")
    s = socket.socket(fileno=fd)
    try:
        if s.type != socket.SOCK_STREAM:
            raise OSError("not SOCK_STREAM")
        peer = s.getpeername()  # raises ENOTCONN when not connected
    except OSError as e:
        s.detach()
        raise ValueError("received fd is not connected: %s" % e)
    if s.family == socket.AF_INET:
        fam, addr = "inet", "%s:%d" % peer[:2]
    elif s.family == socket.AF_INET6:
        fam, addr = "inet6", "[%s]:%d" % peer[:2]
    elif s.family == socket.AF_UNIX:
        fam, addr = "unix", peer if isinstance(peer, str) else repr(peer)
        addr = addr or "-"
    else:
        fam, addr = "family%d" % s.family, "-"
    return s, fam, addr


def head(status, name, fam, addr, length=None, ctype="text/plain",
         extra=()):
    lines = ["HTTP/1.1 %s" % status]
    if length is not None:
        lines.append("Content-Length: %d" % length)
    lines.append("Content-Type: %s" % ctype)
    lines.append("X-Daemon: %s" % name)
    lines.append("X-Peer: %s %s" % (fam, addr))
    lines.extend(extra)
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(65536, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def read_line(s, rest):
    while b"\r\n" not in rest:
        chunk = s.recv(4096)
        if not chunk:
            raise ValueError("EOF in chunked body")
        rest += chunk
    line, rest = rest.split(b"\r\n", 1)
    return line, rest


def read_chunked(s):
    """De-chunk from a socket; return the body bytes."""
    body = bytearray()
    rest = b""
    while True:
        line, rest = read_line(s, rest)
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:  # trailers up to the empty line
                line, rest = read_line(s, rest)
                if line == b"":
                    return bytes(body)
        while len(rest) < size + 2:
            chunk = s.recv(65536)
            if not chunk:
                raise ValueError("EOF in chunk")
            rest += chunk
        body += rest[:size]
        rest = rest[size + 2:]


def behaviour(path):
    for seg in path.split("/"):
        if seg in BEHAVIOURS:
            return seg
    return "hello"


def handle_xapi(name, conn, data, fd):
    record(name, data)
    try:
        env = json.loads(data.decode("utf-8", "surrogateescape"),
                         object_pairs_hook=pairs_hook)
    except ValueError as e:
        env, why = None, "invalid JSON: %s" % e
    else:
        why = validate_envelope(env)
    if fd < 0:
        log_error(name, "no fd received with %d bytes" % len(data))
        return
    try:
        cs, fam, addr = check_client_fd(fd)
    except ValueError as e:
        log_error(name, str(e))
        os.close(fd)
        return
    try:
        cs.setblocking(True)
        cs.settimeout(60)
        if why:
            log_error(name, "bad envelope: %s" % why)
            msg = ("bad envelope: %s\n" % why).encode()
            cs.sendall(head("500 Bad Envelope", name, fam, addr, len(msg)) +
                       msg)
            return
        path = env.get("path", env.get("uri"))
        method = env["m"] if isinstance(env["m"], str) else env["m"][1]
        is_head = method.upper() == "HEAD"
        what = behaviour(path)
        if what == "echo":
            h = head("200 OK", name, fam, addr, len(data), "application/json")
            cs.sendall(h if is_head else h + data)
        elif what == "big":
            n = int(env["query"].get("bytes", "0") or 0)
            cs.sendall(head("200 OK", name, fam, addr, n,
                            "application/octet-stream"))
            if not is_head:
                sent = 0
                while sent < n:
                    k = min(len(PATTERN), n - sent)
                    cs.sendall(PATTERN[:k])
                    sent += k
        elif what == "body":
            if env.get("transfer_encoding", "").lower() == "chunked":
                body = read_chunked(cs)
            else:
                body = read_exact(cs, env.get("content_length", 0))
            msg = ("length=%d sha256=%s\n" %
                   (len(body), hashlib.sha256(body).hexdigest())).encode()
            cs.sendall(head("200 OK", name, fam, addr, len(msg)) + msg)
        elif what == "silent":
            pass
        elif what in RELAY_BEHAVIOURS:
            RELAY_BEHAVIOURS[what](name, env, cs, fam, addr, is_head)
        elif what in CONTROL_BEHAVIOURS:
            CONTROL_BEHAVIOURS[what](name, env, conn, cs, fam, addr)
        elif what == "ctl404":
            conn.sendall(b"HTTP/1.1 404 Not Found\r\n"
                         b"Content-Length: 0\r\n\r\n")
        else:
            msg = ("hello from %s\n" % name).encode()
            cs.sendall(head("200 OK", name, fam, addr, len(msg)) + msg)
    except OSError as e:
        if isinstance(env, dict) and "quiet" in env.get("query", {}):
            # the test makes the client go away on purpose
            event(name, "quiet id=%s writing to client fd: %s" %
                  (env["query"].get("id", "-"), e.strerror or e))
        else:
            log_error(name, "writing to client fd: %s" % e)
    finally:
        cs.close()


def qint(env, key, default):
    try:
        return int(env["query"].get(key, default))
    except ValueError:
        return default


def qfloat(env, key, default):
    try:
        return float(env["query"].get(key, default))
    except ValueError:
        return default


def rb_status(name, env, cs, fam, addr, is_head):
    code = qint(env, "code", 200)
    n = qint(env, "len", 0)
    nobody = code in (204, 304)  # no Content-Length, no body
    h = head("%d %s" % (code, REASONS.get(code, "Whatever")), name, fam, addr,
             None if nobody else n)
    cs.sendall(h if is_head or nobody else h + b"x" * n)


def rb_nolen(name, env, cs, fam, addr, is_head):
    cs.sendall(head("200 OK", name, fam, addr, None,
                    "application/octet-stream"))
    if not is_head:
        for block in pattern_bytes(qint(env, "bytes", 0)):
            cs.sendall(block)


def rb_chunked(name, env, cs, fam, addr, is_head):
    cs.sendall(head("200 OK", name, fam, addr, None,
                    "application/octet-stream",
                    ("Transfer-Encoding: chunked", "Trailer: X-Sum")))
    if is_head:
        return
    data = b"".join(pattern_bytes(qint(env, "bytes", 0)))
    sizes = (1, 7, 4096, 65536, 100000, 3)
    off, i = 0, 0
    while off < len(data):
        k = min(sizes[i % len(sizes)], len(data) - off)
        ext = b";ext=%d" % i if i % 2 else b""
        cs.sendall(b"%x%s\r\n" % (k, ext) + data[off:off + k] + b"\r\n")
        off += k
        i += 1
    cs.sendall(b"0\r\nX-Sum: %s\r\n\r\n" %
               hashlib.sha256(data).hexdigest().encode())


def rb_body100(name, env, cs, fam, addr, is_head):
    cs.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if env.get("transfer_encoding", "").lower() == "chunked":
        body = read_chunked(cs)
    else:
        body = read_exact(cs, env.get("content_length", 0))
    msg = ("length=%d sha256=%s\n" %
           (len(body), hashlib.sha256(body).hexdigest())).encode()
    cs.sendall(head("200 OK", name, fam, addr, len(msg)) + msg)


def rb_drip(name, env, cs, fam, addr, is_head):
    n = qint(env, "bytes", 0)
    pause = qint(env, "ms", 5) / 1000.0
    block = max(qint(env, "block", 16384), 1)
    cs.sendall(head("200 OK", name, fam, addr, n, "application/octet-stream"))
    if is_head:
        return
    sent = 0
    while sent < n:
        end = min(sent + block, n)
        while sent < end:  # byte i of the body is i % 256
            k = min(len(PATTERN) - 256, end - sent)
            cs.sendall(PATTERN[sent % 256:sent % 256 + k])
            sent += k
        time.sleep(pause)


def rb_halfhead(name, env, cs, fam, addr, is_head):
    cs.sendall(b"HTTP/1.1 200 OK\r\nContent-Ty")


def rb_garbage(name, env, cs, fam, addr, is_head):
    cs.sendall(b"this is no status line\r\nX-Daemon: %s\r\n\r\nxyz"
               % name.encode())


def send_refusable(name, env, cs, data, what):
    """sendall, where the relay may close its end before taking it all
    (it refuses the head half way): an event, not an error."""
    try:
        cs.sendall(data)
        how = "sent"
    except OSError as e:
        how = "peer closed (%s)" % (e.strerror or type(e).__name__)
    event(name, "%s id=%s %s" % (what, env["query"].get("id", "-"), how))


def rb_hugehead(name, env, cs, fam, addr, is_head):
    send_refusable(name, env, cs,
                   head("200 OK", name, fam, addr, 3, "text/plain",
                        ("X-Huge: " + "h" * (100 * 1024),)) + b"abc",
                   "hugehead")


def rb_manyhead(name, env, cs, fam, addr, is_head):
    send_refusable(name, env, cs,
                   head("200 OK", name, fam, addr, 3, "text/plain",
                        ["X-Field-%d: %d" % (i, i) for i in range(200)]) +
                   b"abc", "manyhead")


def rb_hopconn(name, env, cs, fam, addr, is_head):
    cs.sendall(head("200 OK", name, fam, addr, 3, "text/plain",
                    ("Connection: X-Hop-Test", "X-Hop-Test: 1",
                     "X-Kept: 1")) + (b"" if is_head else b"abc"))


def rb_stall(name, env, cs, fam, addr, is_head):
    waited = wait_peer_close(cs)
    event(name, "stall id=%s closed_after=%s" %
          (env["query"].get("id", "-"),
           "%.1f" % waited if waited is not None else "never"))


def rb_truncate(name, env, cs, fam, addr, is_head):
    if env["query"].get("te") == "chunked":
        cs.sendall(head("200 OK", name, fam, addr, None,
                        "application/octet-stream",
                        ("Transfer-Encoding: chunked",)) +
                   b"3e8\r\n" + PATTERN[:1000] + b"\r\n")
    else:
        cs.sendall(head("200 OK", name, fam, addr, 100000,
                        "application/octet-stream") + PATTERN[:1000])
    if qint(env, "hold", 0):
        waited = wait_peer_close(cs)
        event(name, "truncate id=%s closed_after=%s" %
              (env["query"].get("id", "-"),
               "%.1f" % waited if waited is not None else "never"))


def rb_sink(name, env, cs, fam, addr, is_head):
    want = env.get("content_length", 0)
    got, how = 0, "ok"
    try:
        while got < want:
            chunk = cs.recv(min(1 << 20, want - got))
            if not chunk:
                how = "eof"
                break
            got += len(chunk)
    except OSError as e:
        how = "error:%s" % (e.strerror or type(e).__name__)
    event(name, "sink id=%s got=%d want=%d %s" %
          (env["query"].get("id", "-"), got, want, how))
    if how == "ok":
        cs.sendall(head("200 OK", name, fam, addr, 3) + b"ok\n")


def rb_early(name, env, cs, fam, addr, is_head):
    code = qint(env, "code", 413)
    msg = b"refused early\n"
    cs.sendall(head("%d %s" % (code, REASONS.get(code, "Whatever")), name,
                    fam, addr, len(msg)) + msg)
    if qint(env, "hold", 1):
        waited = wait_peer_close(cs)
    else:
        waited = 0.0
    event(name, "early id=%s closed_after=%s" %
          (env["query"].get("id", "-"),
           "%.1f" % waited if waited is not None else "never"))


RELAY_BEHAVIOURS = {
    "status": rb_status, "nolen": rb_nolen, "chunked": rb_chunked,
    "body100": rb_body100, "halfhead": rb_halfhead, "garbage": rb_garbage,
    "hugehead": rb_hugehead, "manyhead": rb_manyhead, "stall": rb_stall, "hopconn": rb_hopconn,
    "truncate": rb_truncate, "sink": rb_sink, "early": rb_early,
    "drip": rb_drip,
}



# ---- early answers (46_relay_early*.t) ----------------------------------

def read_body_digest(env, cs):
    """Read the request body as the envelope announces it (content_length,
    or chunked); return (bytes got, sha256 hex, how: ok|eof|error:...)."""
    h = hashlib.sha256()
    got, how = 0, "ok"
    try:
        if env.get("transfer_encoding", "").lower() == "chunked":
            body = read_chunked(cs)
            h.update(body)
            got = len(body)
        else:
            want = env.get("content_length", 0)
            while got < want:
                chunk = cs.recv(min(1 << 20, want - got))
                if not chunk:
                    how = "eof"
                    break
                h.update(chunk)
                got += len(chunk)
    except (OSError, ValueError) as e:
        how = "error:%s" % (getattr(e, "strerror", None) or e)
    return got, h.hexdigest(), how


RRD_HEAD = (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
            b"Cache-Control: no-cache, no-store\r\n\r\n")


def rb_rrdput(name, env, cs, fam, addr, is_head):
    """xcp-rrdd's PUT /rrd: a 200 head with no length *before* reading the
    body (?after=1: after reading it, as a daemon that reads everything
    first), then the body, then close.  Event "rrdput id=X got=N want=M
    sha256=H ok|eof|error"."""
    after = qint(env, "after", 0)
    if not after:
        cs.sendall(RRD_HEAD)
    got, digest, how = read_body_digest(env, cs)
    event(name, "rrdput id=%s got=%d want=%s sha256=%s %s" %
          (env["query"].get("id", "-"), got,
           env.get("content_length", "chunked"), digest, how))
    if after:
        cs.sendall(RRD_HEAD)


def rb_early_close(name, env, cs, fam, addr, is_head):
    """Refuse at once: ?code=N (413) with Connection: close and a short
    body, then shut the read side (the relay's writes fail) and close."""
    code = qint(env, "code", 413)
    msg = b"refused early\n"
    cs.sendall(head("%d %s" % (code, REASONS.get(code, "Whatever")), name,
                    fam, addr, len(msg)) + msg)
    cs.shutdown(socket.SHUT_RDWR)
    event(name, "earlyclose id=%s" % env["query"].get("id", "-"))


RELAY_BEHAVIOURS.update({"rrdput": rb_rrdput, "earlyclose": rb_early_close})
BEHAVIOURS += ("rrdput", "earlyclose")



# ---- raw protocols and control sockets (48_tunnel*.t, 25_control_*.t) ---

HS = {  # xenopsd-like handshakes, 32 bytes each
    "client": b"XF-MIGRATE-HELLO-FROM-SOURCE-v1\n",
    "daemon": b"XF-MIGRATE-HELLO-FROM-TARGET-v1\n",
    "client_end": b"XF-MIGRATE-DONE-FROM-SOURCE-v1\n\n",
    "daemon_end": b"XF-MIGRATE-DONE-FROM-TARGET-v1\n\n",
}


def cb_migrate(name, env, conn, cs, fam, addr):
    """xenopsd's migration receiver: no HTTP answer at all.  Sends its
    32-byte handshake, reads the client's, then ?bytes=N (64 MiB) of the
    pattern each way at once, then the final handshakes; event "migrate
    id=X hs=ok|bad got=N sha256=H final=ok|bad".  The control socket is
    kept ?ctl=S (0) seconds more."""
    n = qint(env, "bytes", 64 << 20)
    qid = env["query"].get("id", "-")
    cs.sendall(HS["daemon"])
    hs = read_exact(cs, 32) == HS["client"]
    err = []

    def send_side():
        try:
            for block in pattern_bytes(n):
                cs.sendall(block)
            cs.sendall(HS["daemon_end"])
        except OSError as e:
            err.append(str(e))

    t = threading.Thread(target=send_side, daemon=True)
    t.start()
    h = hashlib.sha256()
    got = 0
    while got < n:
        chunk = cs.recv(min(1 << 20, n - got))
        if not chunk:
            break
        h.update(chunk)
        got += len(chunk)
    final = read_exact(cs, 32) == HS["client_end"]
    t.join(120)
    event(name, "migrate id=%s hs=%s got=%d sha256=%s final=%s%s" %
          (qid, "ok" if hs else "bad", got, h.hexdigest(),
           "ok" if final else "bad", " error=" + err[0] if err else ""))
    cs.close()
    time.sleep(qint(env, "ctl", 0))


def cb_ctlhold(name, env, conn, cs, fam, addr):
    """Answer the client at once (200 "held"), then keep the CONTROL socket
    ?secs=S (20) seconds, writing "HTTP/1.1 <code>" on it after ?late=L
    seconds (a fraction allowed: late=0.5) when ?code= is given; event
    "ctlhold id=X closed_by=daemon|peer after=S" once it is closed."""
    msg = b"held\n"
    cs.sendall(head("200 OK", name, fam, addr, len(msg)) + msg)
    cs.close()
    secs, late = qint(env, "secs", 20), qfloat(env, "late", -1)
    code = qint(env, "code", 0)
    t0 = time.monotonic()
    if code and late >= 0:
        by = wait_peer_close(conn, late)
        if by is None:
            conn.sendall(b"HTTP/1.1 %d Late\r\nContent-Length: 0\r\n\r\n"
                         % code)
    by = wait_peer_close(conn, max(secs - (time.monotonic() - t0), 0.01))
    event(name, "ctlhold id=%s closed_by=%s after=%.1f" %
          (env["query"].get("id", "-"), "daemon" if by is None else "peer",
           time.monotonic() - t0))


CONTROL_BEHAVIOURS = {"rawmigrate": cb_migrate, "ctlhold": cb_ctlhold}
BEHAVIOURS += tuple(CONTROL_BEHAVIOURS)


def handle_fdpass(name, data, fd):
    record(name, data)
    if fd < 0:
        log_error(name, "fdpass: no fd received")
        return
    if data != b"\0":
        log_error(name, "fdpass: expected one NUL byte, got %r" % data[:64])
    try:
        cs, fam, addr = check_client_fd(fd)
    except ValueError as e:
        log_error(name, str(e))
        os.close(fd)
        return
    try:
        cs.setblocking(True)
        cs.settimeout(60)
        cs.sendall(("fdpass body from %s\n" % name).encode())
    except OSError as e:
        log_error(name, "writing to client fd: %s" % e)
    finally:
        cs.close()


def serve(name, mode, conn):
    try:
        conn.settimeout(30)
        try:
            m = xfr.recv_message(conn, RECV_MAX)
        except xfr.ReceiveError as e:
            if e.reason != "eof":
                log_error(name, str(e))
                return
            m = xfr.Message(b"", -1, 0)
        data, fd = m.data, m.fd
        if m.extra_fds:
            log_error(name, "%d fds received, expected one"
                      % (m.extra_fds + 1))
        if not data and fd < 0:
            log_error(name, "connection closed without a message")
            return
        if mode == "fdpass":
            handle_fdpass(name, data, fd)
        else:
            handle_xapi(name, conn, data, fd)
    except Exception as e:  # keep the daemon alive, but make it visible
        log_error(name, "unhandled %s: %s" % (type(e).__name__, e))
    finally:
        conn.close()


def closer(conn):
    time.sleep(0.2)
    conn.close()


def deaf(conn):
    """Accept, read nothing, hang up only when the peer does."""
    wait_peer_close(conn)
    conn.close()


def fill_backlog(path, s):
    """A listening socket that never accepts, its queue already full."""
    s.listen(0)
    filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    filler.connect(path)
    return filler


def main():
    global RECORD_DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--ready")
    ap.add_argument("sockets", nargs="+", metavar="NAME=PATH[:MODE]")
    args = ap.parse_args()
    RECORD_DIR = args.dir
    os.makedirs(RECORD_DIR, exist_ok=True)

    sel = selectors.DefaultSelector()
    created = []
    kept = []  # full: the listening socket and its filler stay open
    for spec in args.sockets:
        name, _, rest = spec.partition("=")
        path, mode = rest, None
        if ":" in rest:
            path, mode = rest.rsplit(":", 1)
        if not mode:
            mode = ("fdpass" if name.startswith("fdpass") else
                    "close" if name.startswith("closer") else
                    "dead" if name.startswith("dead") else
                    "deaf" if name.startswith("deaf") else
                    "full" if name.startswith("full") else "xapi")
        if mode not in ("xapi", "fdpass", "close", "dead", "deaf", "full"):
            ap.error("unknown mode %r" % mode)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        created.append(path)
        if mode == "dead":
            s.close()  # the file stays: connect() is refused
            continue
        if mode == "full":
            kept.extend((s, fill_backlog(path, s)))
            continue
        s.listen(64)
        sel.register(s, selectors.EVENT_READ, (name, mode))

    def stop(signum, frame):
        for p in created + ([args.ready] if args.ready else []):
            try:
                os.unlink(p)
            except OSError:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.ready + ".tmp", args.ready)
    sys.stdout.write("READY %d\n" % os.getpid())
    sys.stdout.flush()

    while True:
        for key, _ in sel.select():
            name, mode = key.data
            try:
                conn, _ = key.fileobj.accept()
            except OSError as e:
                log_error(name, "accept: %s" % e)
                continue
            with LOCK:
                bump(name + ".accepts")
            target = (closer if mode == "close" else
                      deaf if mode == "deaf" else serve)
            a = (conn,) if mode in ("close", "deaf") else (name, mode, conn)
            threading.Thread(target=target, args=a, daemon=True).start()


if __name__ == "__main__":
    main()
