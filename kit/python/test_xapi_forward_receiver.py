# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""unittest tests of the Python receiver kit against real sockets: a good
envelope (path vs uri), no descriptor, several (extras closed), too many
(MSG_CTRUNC), too long (stream and MSG_TRUNC), malformed JSON, JSON that is
no envelope, a closed peer, plain HTTP (the "http" way), bodies and the
response writer; no descriptor leaks."""

import json
import os
import socket
import threading
import unittest

import xapi_forward_receiver as xfr

ENV = {"m": "Put", "uri": "/old", "path": "/services/plugin/x/a",
       "query": {"name": "kit"}, "version": "1.1", "frame": False,
       "content_length": 5, "cookie": {"lang": "en"}, "close": True,
       "additional_headers": {"x-a": "1"}}


def open_fds():
    return len(os.listdir("/proc/self/fd"))


class KitTest(unittest.TestCase):
    def setUp(self):
        self.base = open_fds()
        self.keep = []

    def tearDown(self):
        for s in self.keep:
            s.close()
        self.assertEqual(open_fds(), self.base, "descriptors leaked")

    def send(self, data, nfds=1, kind=socket.SOCK_STREAM):
        a, b = socket.socketpair(socket.AF_UNIX, kind)
        peers, fds = [], []
        for _ in range(nfds):
            x, y = socket.socketpair()
            fds.append(x)
            peers.append(y)
        self.keep.extend(peers)
        if isinstance(data, dict):
            data = json.dumps(data).encode()
        socket.send_fds(a, [data], [f.fileno() for f in fds])
        for f in fds:
            f.close()
        a.close()
        self.keep.append(b)
        return b, peers

    def test_good(self):
        conn, (peer,) = self.send(ENV)
        req = xfr.receive(conn)
        self.assertEqual(req.method, "PUT")
        self.assertEqual(req.path, "/services/plugin/x/a")
        self.assertEqual(req.query, {"name": "kit"})
        self.assertEqual(req.cookie, {"lang": "en"})
        self.assertEqual(req.headers, {"x-a": "1"})
        self.assertTrue(req.channel)
        peer.sendall(b"hello")
        self.assertEqual(req.read_body(), b"hello")
        req.respond(404, b"no\n")
        req.close_client()
        self.assertEqual(peer.recv(4096),
                         b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n"
                         b"Content-Type: text/plain\r\nConnection: close"
                         b"\r\n\r\nno\n")

    def test_uri_only_and_unknown_method(self):
        env = dict(ENV, m=["Unknown", "HEAD"])
        del env["path"]
        conn, _ = self.send(env)
        req = xfr.receive(conn)
        self.assertEqual((req.method, req.path), ("HEAD", "/old"))
        req.close_client()

    def test_chunked_body(self):
        env = dict(ENV, transfer_encoding="chunked")
        del env["content_length"]
        conn, (peer,) = self.send(env)
        req = xfr.receive(conn)
        peer.sendall(b"3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n")
        self.assertEqual(req.read_body(), b"abcde")
        req.close_client()

    def test_fds(self):
        conn, _ = self.send(ENV, nfds=0)
        with self.assertRaises(xfr.ReceiveError) as e:
            xfr.receive(conn, allow_http=False)
        self.assertEqual(e.exception.reason, "no_fd")
        conn, peers = self.send(ENV, nfds=3)
        req = xfr.receive(conn)
        for p in peers[1:]:
            self.assertEqual(p.recv(1), b"", "extra descriptor closed")
        req.close_client()
        conn, _ = self.send(ENV, nfds=xfr.MAX_FDS + 2)
        with self.assertRaises(xfr.ReceiveError) as e:
            xfr.receive(conn)
        self.assertEqual(e.exception.reason, "ctrunc")

    def test_too_big(self):
        conn, _ = self.send(ENV)
        with self.assertRaises(xfr.ReceiveError) as e:
            xfr.receive(conn, max_size=64)
        self.assertEqual(e.exception.reason, "too_big")
        conn, _ = self.send(ENV, kind=socket.SOCK_SEQPACKET)
        with self.assertRaises(xfr.ReceiveError) as e:
            xfr.receive(conn, max_size=32)
        self.assertEqual(e.exception.reason, "too_big")

    def test_malformed(self):
        for data in (b"{", b"{\"m\":", b"\xff\xfe", b"{} x"):
            conn, _ = self.send(data)
            with self.assertRaises(xfr.ReceiveError) as e:
                xfr.receive(conn)
            self.assertEqual(e.exception.reason, "json", data)
        for env in ([1], "s", {"uri": "/x"}, {"m": "Delete", "uri": "/x"},
                    {"m": "Get"}, {"m": "Get", "uri": 7},
                    {"m": "Get", "uri": "/x", "query": {"a": 1}},
                    {"m": "Get", "uri": "/x", "content_length": -1}):
            conn, _ = self.send(json.dumps(env).encode())
            with self.assertRaises(xfr.ReceiveError) as e:
                xfr.receive(conn)
            self.assertEqual(e.exception.reason, "envelope", env)

    def test_closed(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        a.close()
        self.keep.append(b)
        with self.assertRaises(xfr.ReceiveError) as e:
            xfr.receive(b)
        self.assertEqual(e.exception.reason, "eof")

    def test_plain_http(self):
        a, b = socket.socketpair()
        self.keep.extend([a, b])
        a.sendall(b"POST /services/plugin/x/y?name=me&e= HTTP/1.1\r\n"
                  b"Host: x\r\nCookie: a=1; b=2\r\nContent-Length: 4\r\n"
                  b"\r\nbody")
        req = xfr.receive(b)
        self.assertFalse(req.channel)
        self.assertEqual((req.method, req.path), ("POST",
                                                  "/services/plugin/x/y"))
        self.assertEqual(req.query, {"name": "me", "e": ""})
        self.assertEqual(req.cookie, {"a": "1", "b": "2"})
        self.assertEqual(req.headers["host"], "x")
        self.assertEqual(req.read_body(), b"body")

    def test_serve_both_ways(self):
        path = "/tmp/xfr-py-test-%d" % os.getpid()
        ls = xfr.listen(path)
        seen = []

        def handler(req):
            seen.append(req.channel)
            req.respond(200, req.path)
        t = threading.Thread(target=lambda: [xfr._one(ls.accept()[0], handler,
                                                      16384)
                                             for _ in range(2)], daemon=True)
        t.start()
        c = socket.socket(socket.AF_UNIX)
        c.connect(path)
        c.sendall(b"GET /p HTTP/1.0\r\n\r\n")
        self.assertTrue(c.recv(4096).endswith(b"\r\n\r\n/p"))
        c.close()
        c = socket.socket(socket.AF_UNIX)
        c.connect(path)
        x, y = socket.socketpair()
        socket.send_fds(c, [json.dumps(ENV).encode()], [x.fileno()])
        x.close()
        self.assertTrue(y.recv(4096).endswith(b"/services/plugin/x/a"))
        y.close()
        c.close()
        t.join(10)
        ls.close()
        os.unlink(path)
        self.assertEqual(seen, [False, True])


if __name__ == "__main__":
    unittest.main()
