#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""hello - an example custom service: answers with what it received.

    hello.py /var/lib/xcp/plugin/hello

GET /services/plugin/hello/...?name=you  -> 200 "hello you" + the request
  ?status=N                               -> status N with the same body
POST/PUT with a body                      -> also the body's length
Works both ways (XapiForwardPluginWay http or channel)."""

import sys

import xapi_forward_receiver as xfr


def hello(req):
    lines = ["hello %s" % req.query.get("name", "world"),
             "way: %s" % ("channel" if req.channel else "http"),
             "method: %s" % req.method, "path: %s" % req.path,
             "query: %s" % "&".join("%s=%s" % kv for kv in req.query.items())]
    if req.method in ("POST", "PUT"):
        lines.append("body: %d bytes" % len(req.read_body()))
    status = int(req.query.get("status", "200"))
    req.respond(status, ("\n".join(lines) + "\n").encode(),
                {"X-Service": "hello"})


if __name__ == "__main__":
    xfr.serve(sys.argv[1] if len(sys.argv) > 1 else
              "/var/lib/xcp/plugin/hello", hello)
