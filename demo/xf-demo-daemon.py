#!/usr/bin/env python3
"""xf-demo-daemon: a tiny xapi-style "*.forwarded" daemon for the demo.

Listens on a unix socket; for every connection it receives ONE message (the
Http.Request JSON that mod_xapi_forward sends) with the client's socket in
SCM_RIGHTS, and answers the client directly on that socket, as xcp-rrdd
does. Standard library only.

usage: xf-demo-daemon.py SOCKET_PATH
"""
import json
import os
import socket
import sys
import threading


def serve(conn):
    with conn:
        msg, fds, _flags, _addr = socket.recv_fds(conn, 16384, 1)
        if not fds:
            return
        with socket.socket(fileno=fds[0]) as client:
            try:
                req = json.loads(msg)
            except ValueError:
                return  # like rrdd: nothing written, the socket is closed
            body = ("hello from xf-demo-daemon\n"
                    "method: %s\npath: %s\nquery: %s\n"
                    "the envelope mod_xapi_forward sent:\n%s\n"
                    % (req.get("m"), req.get("path", req.get("uri")),
                       json.dumps(req.get("query")), msg.decode("utf-8", "replace")))
            data = body.encode()
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                           % len(data) + data)


def main():
    path = sys.argv[1]
    # bind and listen under a temporary name, then rename: the socket
    # appears only once it accepts connections (quickstart.sh waits for it)
    tmp = path + ".new"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(tmp)
    os.chmod(tmp, 0o666)
    srv.listen(64)
    os.rename(tmp, path)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
