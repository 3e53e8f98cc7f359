#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# xf_daemon.py - a stand-in for xcp-rrdd / xenopsd in the integration tests.
# Listens on AF_UNIX SOCK_STREAM sockets, receives one message plus one fd
# (SCM_RIGHTS) per connection, records what it got and answers the HTTP
# client on the received fd.  Python 3 standard library only.
#
# Usage:
#   xf_daemon.py --dir RECORD_DIR [--ready FILE] NAME=PATH[:MODE] ...
#
# MODE (default from the name: "fdpass*" -> fdpass, "closer*" -> close,
# "dead*" -> dead, else xapi):
#   xapi    one recvmsg(16384) = JSON envelope + fd; answer by path (below)
#   fdpass  one recvmsg = one NUL byte + fd (mod_proxy_fdpass protocol): httpd
#           has written the status line and headers, write only a body
#   close   accept, wait 0.2 s, close without reading anything
#   dead    bind the path, then close the socket without unlinking it, so
#           connect() gets ECONNREFUSED ("not listening")
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
#   other     200, "hello from NAME\n"
# Every answer carries X-Daemon: NAME and X-Peer: <family> <peer address of
# the received fd>, and ends with Connection: close.
#
# Records, in RECORD_DIR: NAME.last.json (the raw message of the last
# connection), NAME.log (one line per connection: length, then the raw bytes
# with \n escaped), NAME.count, and errors.log (anything wrong: no fd, fd not
# a connected socket, JSON that xapi would reject).  The ready file (or the
# line "READY" on stdout) appears once every socket listens.

import argparse
import hashlib
import json
import os
import selectors
import signal
import socket
import stat
import sys
import threading
import time

RECV_MAX = 16384
PATTERN = bytes(range(256)) * 256  # 64 KiB block for /big
BEHAVIOURS = ("echo", "big", "body", "silent", "ctl404")
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
        cnt = os.path.join(RECORD_DIR, name + ".count")
        n = 0
        try:
            with open(cnt) as f:
                n = int(f.read().strip() or 0)
        except (OSError, ValueError):
            pass
        with open(cnt + ".tmp", "w") as f:
            f.write("%d\n" % (n + 1))
        os.rename(cnt + ".tmp", cnt)


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
        elif what == "ctl404":
            conn.sendall(b"HTTP/1.1 404 Not Found\r\n"
                         b"Content-Length: 0\r\n\r\n")
        else:
            msg = ("hello from %s\n" % name).encode()
            cs.sendall(head("200 OK", name, fam, addr, len(msg)) + msg)
    except OSError as e:
        log_error(name, "writing to client fd: %s" % e)
    finally:
        cs.close()


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
            data, anc, flags, _ = conn.recvmsg(
                RECV_MAX, socket.CMSG_SPACE(4 * 4))
        except OSError as e:
            log_error(name, "recvmsg: %s" % e)
            return
        fds = []
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                n = len(cdata) - len(cdata) % 4
                fds.extend(int.from_bytes(cdata[i:i + 4], sys.byteorder)
                           for i in range(0, n, 4))
            else:
                log_error(name, "unexpected cmsg %d/%d" % (level, typ))
        if flags & socket.MSG_CTRUNC:
            log_error(name, "control data truncated (MSG_CTRUNC)")
        if len(fds) > 1:
            log_error(name, "%d fds received, expected one" % len(fds))
            for extra in fds[1:]:
                os.close(extra)
        fd = fds[0] if fds else -1
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
    for spec in args.sockets:
        name, _, rest = spec.partition("=")
        path, mode = rest, None
        if ":" in rest:
            path, mode = rest.rsplit(":", 1)
        if not mode:
            mode = ("fdpass" if name.startswith("fdpass") else
                    "close" if name.startswith("closer") else
                    "dead" if name.startswith("dead") else "xapi")
        if mode not in ("xapi", "fdpass", "close", "dead"):
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
            target = closer if mode == "close" else serve
            a = (conn,) if mode == "close" else (name, mode, conn)
            threading.Thread(target=target, args=a, daemon=True).start()


if __name__ == "__main__":
    main()
