#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""fake_xapi.py - a stand-in for xapi's JSON-RPC endpoint in the integration
tests of mod_xapi_forward (session, superuser and RBAC checks).  Python 3
standard library only.

Usage:
  fake_xapi.py --state-dir DIR --config FILE
               [--unix PATH]... [--https PORT --cert PEM --key PEM]...
               [--http PORT]... [--clientcert PATH]... [--answer-all]
               [--login-fail-delay SECONDS] [--unix-preauth] [--verbose]

  --unix PATH       HTTP over an AF_UNIX stream socket (as /var/lib/xcp/xapi);
                    a stale socket is replaced; the socket is mode 0666
  --https PORT      HTTPS on 127.0.0.1:PORT (PORT 0: any free port, written
                    to DIR/https_port); needs --cert and --key
  --http PORT       plain HTTP on 127.0.0.1:PORT (xapi's port 80, where its
                    stunnel front door connects)
  --clientcert PATH HTTP over an AF_UNIX socket as xapi's
                    /var/lib/xcp/xapi-clientcert, where stunnel sends the
                    clients whose certificate it verified: every caller there
                    holds the client-cert role (ocaml/xapi/context.ml), so
                    session.login_with_password, whatever the user and
                    password (xapi_http.ml logs in with "", ""), yields a
                    session of that role, not a superuser
  --answer-all      any request that is not POST /jsonrpc gets 200
                    text/plain "fake_xapi TRANSPORT METHOD TARGET\n" (as
                    xapi serves "/", exports, ...) instead of 404; each is
                    recorded in DIR/requests.log ("METHOD TARGET" a line)
                    A connection (not HTTPS) may start with a PROXY v1
                    line, as from stunnel: it is skipped, and the answers
                    on that connection carry it in x-proxy-line.
  --state-dir DIR   control files and counters (created if missing)
  --config FILE     users and fixed sessions (JSON, below); re-read whenever
                    its mtime changes
  --login-fail-delay S  sleep S seconds before a failed login (xapi: 5)
  --unix-preauth    emulate xapi's trap: over the unix socket a login succeeds
                    for ANY user/password and yields a local-superuser session
  --verbose         one line per request on stderr (method only, no params)
At least one --unix, --https, --http or --clientcert is required.

Config file:
  {"users": {"root": {"password": "pw", "superuser": true},
             "ro":   {"password": "pw2",
                      "permissions": ["http/rrd_updates"]}},
   "sessions": {"OpaqueRef:fixed-1": {"user": "ro", "uuid": "<optional>"}},
   "client_cert": {"permissions": ["http/post_services_xenops"]}}
  "client_cert" (optional): the permissions of the client-cert role; by
  default the HTTP actions xapi gives it (ocaml/idl/datamodel.ml):
  http/post_services_xenops, http/put_services_xenops,
  http/get_enabled_repository, http/get_host_updates, http/get_updates.
  A fixed session without "uuid" gets uuid5(URL namespace, ref).  Sessions
  made by login belong to the user that logged in and live until logout or
  exit.  Permissions are answered lower-cased; a superuser's list is EMPTY
  (real xapi), whatever "permissions" says.

Protocol (xapi's): POST /jsonrpc, JSON-RPC 2.0 ({"jsonrpc":"2.0",...}) or 1.0
(no "jsonrpc" key).  HTTP 200 and
  v2 ok    {"jsonrpc":"2.0","result":R,"id":ID}
  v2 error {"jsonrpc":"2.0","error":{"code":1,"message":NAME,"data":[...]},
            "id":ID}
  v1 ok    {"result":R,"error":null,"id":ID}
  v1 error {"result":null,"error":[NAME,...],"id":ID}
Methods:
  session.login_with_password [user, pass, version?, originator?] -> ref
      | SESSION_AUTHENTICATION_FAILED [user, "Authentication failure"]
  session.logout [s] -> ""                          (s becomes invalid)
  session.get_uuid [s, self] -> uuid
  session.get_is_local_superuser [s, self] -> bool
  session.get_rbac_permissions [s, self] -> [names]  (superuser: [])
  task.create [s, label, description] -> ref  (owned by s's user; pending)
  task.get_record [s, self] -> {uuid, name_label, name_description,
      status, progress, result, error_info, created, finished, ...}
  task.get_FIELD [s, self] -> that field (status, progress, result,
      error_info, name_label, uuid)
  task.set_status [s, self, "pending"|"success"|"failure"|"cancelling"|
      "cancelled"], task.set_progress [s, self, number], task.set_result
      [s, self, string], task.set_error_info [s, self, [strings]] -> null
      (as xapi's Xapi_task: each sets its field only; "finished" stays)
  task.destroy [s, self] -> null
      As xapi's TaskHelper.assert_op_valid: only the task's owner (same
      user) or a superuser may change or destroy it, else
      RBAC_PERMISSION_DENIED ["task.destroy/any", msg]; a value of the
      wrong type is FIELD_TYPE_ERROR ["value"] and a complaint.
  errors: SESSION_INVALID [s]; HANDLE_INVALID ["session"|"task", self];
  MESSAGE_PARAMETER_COUNT_MISMATCH [method, expected, got];
  MESSAGE_METHOD_UNKNOWN [method].
Any other path or HTTP method: 404.  A body that is not a JSON-RPC call:
500 text/html (xapi lets the parse exception escape).  Keep-alive as HTTP/1.1
(Connection: close honoured; HTTP/1.0 closes unless keep-alive is asked).

Control files in DIR, read on every request:
  mode     first line, one of
             normal            (also: file missing or empty)
             down              read the request, close without answering
             slow:SECONDS      sleep, then answer normally
             garbage           200 application/json with a non-JSON body
             html500           500 text/html
             slave:ADDR        every session.* call except login answers
                               HOST_IS_SLAVE [ADDR]
             slave-all:ADDR    the same, login included (what real xapi does
                               for a login over TCP on a pool member)
             slowcall:METHOD=SECONDS  sleep before answering METHOD only
           an unknown mode answers 500 and complains on stderr
  expired  session refs, one a line ('#' comments): now SESSION_INVALID
Records in DIR, written BEFORE the answer is sent (so a client that has its
answer sees them), for every POST /jsonrpc in every mode (down included):
  calls.log  one line per call: the method name ("-" if unparsable); NEVER
             the params, which carry passwords and session refs
  clientcert.log  the same for the calls over --clientcert only; a login
             line says "session.login_with_password empty" when user and
             password were both "", "... given" otherwise
  count      total number of calls, rewritten atomically (tmp + rename);
             delete it (and calls.log) to reset
  errors.log protocol complaints (bad Content-Type, malformed JSON-RPC)
  ready      this process's pid, once every listener listens
  https_port the port of the first --https listener
SIGTERM/SIGINT: stop, remove the sockets, ready and https_port, exit 0.
"""

import argparse
import json
import os
import signal
import socket
import socketserver
import ssl
import stat
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

MAX_BODY = 1 << 20
# the HTTP actions of xapi's client-cert role (ocaml/idl/datamodel.ml)
CLIENT_CERT_PERMS = ["http/post_services_xenops", "http/put_services_xenops",
                     "http/get_enabled_repository", "http/get_host_updates",
                     "http/get_updates"]
IDLE_TIMEOUT = 120.0
LOGIN = "session.login_with_password"
# method -> number of params (login accepts 2 to 4, like xapi)
ARITY = {
    "session.logout": 1,
    "session.get_uuid": 2,
    "session.get_is_local_superuser": 2,
    "session.get_rbac_permissions": 2,
    "task.create": 3,
    "task.get_record": 2,
    "task.get_status": 2,
    "task.get_progress": 2,
    "task.get_result": 2,
    "task.get_error_info": 2,
    "task.get_name_label": 2,
    "task.get_uuid": 2,
    "task.set_status": 3,
    "task.set_progress": 3,
    "task.set_result": 3,
    "task.set_error_info": 3,
    "task.destroy": 2,
}
TASK_STATUS = ("pending", "success", "failure", "cancelling", "cancelled")
NEVER = "19700101T00:00:00Z"
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found",
           411: "Length Required", 413: "Request Entity Too Large",
           500: "Internal Server Error"}


def log(msg):
    sys.stderr.write("fake_xapi[%d]: %s\n" % (os.getpid(), msg))
    sys.stderr.flush()


class XapiError(Exception):
    """An xapi Server_error: NAME plus a list of string parameters."""

    def __init__(self, name, *params):
        super().__init__(name)
        self.name = name
        self.params = [str(p) for p in params]


class State:
    """Users, sessions, tasks, control files and counters, shared by all
    threads."""

    def __init__(self, args):
        self.dir = args.state_dir
        self.config_path = args.config
        self.fail_delay = args.login_fail_delay
        self.unix_preauth = args.unix_preauth
        self.verbose = args.verbose
        self.answer_all = args.answer_all
        self.lock = threading.Lock()        # users, sessions
        self.rec_lock = threading.Lock()    # calls.log, count, errors.log
        self.config_mtime = None
        self.users = {}
        self.fixed = {}                     # ref -> {"user", "uuid"}
        self.client_cert_perms = list(CLIENT_CERT_PERMS)
        self.logins = {}                    # ref -> {"user","uuid","preauth"}
        self.logged_out = set()
        self.tasks = {}                     # ref -> record (+ "_owner")
        self.load_config(initial=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    # --- configuration ---------------------------------------------------
    def load_config(self, initial=False):
        mtime = None
        try:
            mtime = os.stat(self.config_path).st_mtime_ns
            if mtime == self.config_mtime:
                return
            with open(self.config_path, encoding="utf-8") as f:
                users, fixed, ccperms = parse_config(json.load(f))
        except (OSError, ValueError) as e:
            if initial:
                raise SystemExit("fake_xapi: config %s: %s"
                                 % (self.config_path, e))
            if mtime is not None:
                self.config_mtime = mtime     # complain once per version
            log("config %s not reloaded, old one kept: %s"
                % (self.config_path, e))
            return
        with self.lock:
            self.users, self.fixed = users, fixed
            self.client_cert_perms = ccperms
            self.config_mtime = mtime
        if not initial:
            log("config reloaded")

    def read_lines(self, name):
        try:
            with open(self.path(name), encoding="utf-8") as f:
                return [ln.strip() for ln in f
                        if ln.strip() and not ln.lstrip().startswith("#")]
        except FileNotFoundError:
            return []

    def mode(self):
        """(name, argument) from DIR/mode; ("normal", None) by default."""
        lines = self.read_lines("mode")
        if not lines:
            return ("normal", None)
        name, _, arg = lines[0].partition(":")
        return (name.strip().lower(), arg.strip())

    # --- sessions ----------------------------------------------------------
    def lookup(self, ref, expired):
        """The session record for ref, or None if it is not valid."""
        if not isinstance(ref, str) or ref in expired:
            return None
        with self.lock:
            if ref in self.logins:
                rec = dict(self.logins[ref])
            elif ref in self.fixed and ref not in self.logged_out:
                rec = dict(self.fixed[ref], preauth=False)
            else:
                return None
            user = self.users.get(rec["user"])
            ccperms = list(self.client_cert_perms)
        if rec.get("client_cert"):
            rec["superuser"], rec["permissions"] = False, ccperms
        elif rec["preauth"]:
            rec["superuser"], rec["permissions"] = True, []
        elif user is None:      # user removed from the config since
            return None
        else:
            rec["superuser"] = user["superuser"]
            rec["permissions"] = ([] if user["superuser"]
                                  else list(user["permissions"]))
        return rec

    def login_client_cert(self):
        """xapi's create_session_for_client_cert: no user, the role's
        permissions."""
        with self.lock:
            ref = "OpaqueRef:%s" % uuid.uuid4()
            self.logins[ref] = {"user": "", "uuid": str(uuid.uuid4()),
                                "preauth": False, "client_cert": True}
            return ref

    def login(self, user, password, preauth):
        with self.lock:
            u = self.users.get(user) if isinstance(user, str) else None
            ok = preauth or (u is not None and isinstance(password, str)
                             and password == u["password"])
            if ok:
                ref = "OpaqueRef:%s" % uuid.uuid4()
                self.logins[ref] = {"user": user, "uuid": str(uuid.uuid4()),
                                    "preauth": preauth}
                return ref
        if self.fail_delay > 0:
            time.sleep(self.fail_delay)
        raise XapiError("SESSION_AUTHENTICATION_FAILED", user,
                        "Authentication failure")

    def logout(self, ref):
        with self.lock:
            if self.logins.pop(ref, None) is None:
                self.logged_out.add(ref)

    # --- tasks (xapi's TaskHelper rules) ---------------------------------
    def task_call(self, op, caller, args):
        user, superuser = caller
        if op == "create":
            label, desc = args
            if not isinstance(label, str) or not isinstance(desc, str):
                self.complain("task.create: label/description not strings")
                raise XapiError("FIELD_TYPE_ERROR", "label")
            ref = "OpaqueRef:%s" % uuid.uuid4()
            with self.lock:
                self.tasks[ref] = {
                    "uuid": str(uuid.uuid4()), "name_label": label,
                    "name_description": desc, "allowed_operations": [],
                    "current_operations": {}, "created": now_stamp(),
                    "finished": NEVER, "status": "pending",
                    "resident_on": "OpaqueRef:NULL", "progress": 0.0,
                    "type": "<none/>", "result": "", "error_info": [],
                    "other_config": {}, "subtask_of": "OpaqueRef:NULL",
                    "subtasks": [], "backtrace": "()", "_owner": user}
            return ref
        self_ref = args[0]
        with self.lock:
            task = self.tasks.get(self_ref) if isinstance(self_ref, str) \
                else None
            if task is None:
                raise XapiError("HANDLE_INVALID", "task", self_ref)
            if op == "get_record":
                return {k: v for k, v in task.items() if k[0] != "_"}
            if op.startswith("get_"):
                return task[op[4:]]
            if task["_owner"] != user and not superuser:
                raise XapiError("RBAC_PERMISSION_DENIED", "task.destroy/any",
                                "No permission in user session.")
            if op == "destroy":
                del self.tasks[self_ref]
                return None
            value = args[1]
            field = op[4:]
            ok = {"status": lambda v: v in TASK_STATUS,
                  "progress": lambda v: isinstance(v, (int, float))
                  and not isinstance(v, bool),
                  "result": lambda v: isinstance(v, str),
                  "error_info": lambda v: isinstance(v, list)
                  and all(isinstance(x, str) for x in v)}[field]
            if not ok(value):
                bad = True
            else:
                bad = False
                task[field] = float(value) if field == "progress" else value
        if bad:
            self.complain("task.%s: bad value %r" % (op, value))
            raise XapiError("FIELD_TYPE_ERROR", "value")
        return None

    # --- records -------------------------------------------------------------
    def record(self, method, transport=None, extra=None):
        method = "".join(c if c.isprintable() and c != " " else "?"
                         for c in method[:200]) or "-"
        with self.rec_lock:
            with open(self.path("calls.log"), "a", encoding="utf-8") as f:
                f.write(method + "\n")
            if transport == "clientcert":
                with open(self.path("clientcert.log"), "a",
                          encoding="utf-8") as f:
                    f.write(method + (" " + extra if extra else "") + "\n")
            try:
                with open(self.path("count"), encoding="utf-8") as f:
                    n = int(f.read().strip() or 0)
            except (FileNotFoundError, ValueError):
                n = 0
            write_atomic(self.path("count"), "%d\n" % (n + 1))

    def complain(self, msg):
        with self.rec_lock:
            with open(self.path("errors.log"), "a", encoding="utf-8") as f:
                f.write(msg + "\n")
        log(msg)


def rec_user(state, ref, expired):
    """(user name, superuser?) of a valid session."""
    rec = state.lookup(ref, expired)
    return (rec["user"], rec["superuser"])


def now_stamp():
    return time.strftime("%Y%m%dT%H:%M:%SZ", time.gmtime())


def parse_config(cfg):
    if not isinstance(cfg, dict) or not isinstance(cfg.get("users"), dict):
        raise ValueError('needs an object with a "users" object')
    users = {}
    for name, u in cfg["users"].items():
        if not isinstance(u, dict) or not isinstance(u.get("password"), str):
            raise ValueError('user %r: needs a string "password"' % name)
        perms = u.get("permissions", [])
        if not isinstance(perms, list) or \
                not all(isinstance(p, str) for p in perms):
            raise ValueError('user %r: "permissions" must be a list of '
                             'strings' % name)
        users[name] = {"password": u["password"],
                       "superuser": bool(u.get("superuser", False)),
                       "permissions": [p.lower() for p in perms]}
    fixed = {}
    sessions = cfg.get("sessions", {})
    if not isinstance(sessions, dict):
        raise ValueError('"sessions" must be an object')
    for ref, s in sessions.items():
        if not isinstance(s, dict) or s.get("user") not in users:
            raise ValueError('session %r: "user" must name a user' % ref)
        sid = s.get("uuid") or str(uuid.uuid5(uuid.NAMESPACE_URL, ref))
        fixed[ref] = {"user": s["user"], "uuid": str(sid)}
    cc = cfg.get("client_cert", {})
    if not isinstance(cc, dict):
        raise ValueError('"client_cert" must be an object')
    ccperms = cc.get("permissions", CLIENT_CERT_PERMS)
    if not isinstance(ccperms, list) or \
            not all(isinstance(p, str) for p in ccperms):
        raise ValueError('"client_cert": "permissions" must be a list of '
                         'strings')
    return users, fixed, [p.lower() for p in ccperms]


def write_atomic(path, text):
    tmp = "%s.%d.%d.tmp" % (path, os.getpid(), threading.get_ident())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def unlink_quietly(*paths):
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


def dispatch(state, transport, method, params, mode):
    """Run one call; return its result or raise XapiError."""
    if method != LOGIN and method not in ARITY:
        raise XapiError("MESSAGE_METHOD_UNKNOWN", method)
    want = ARITY.get(method)
    if (want is not None and len(params) != want) or \
            (method == LOGIN and not 2 <= len(params) <= 4):
        raise XapiError("MESSAGE_PARAMETER_COUNT_MISMATCH", method,
                        want or 4, len(params))
    name, arg = mode
    if name == "slave-all" or (name == "slave" and method != LOGIN):
        raise XapiError("HOST_IS_SLAVE", arg)
    if method == LOGIN and transport == "clientcert":
        return state.login_client_cert()
    if method == LOGIN:
        preauth = state.unix_preauth and transport == "unix"
        return state.login(params[0], params[1], preauth)
    expired = set(state.read_lines("expired"))
    ref = params[0]
    if state.lookup(ref, expired) is None:
        raise XapiError("SESSION_INVALID", ref)
    if method == "session.logout":
        state.logout(ref)
        return ""
    if method.startswith("task."):
        return state.task_call(method[5:], rec_user(state, ref, expired),
                               params[1:])
    rec = state.lookup(params[1], expired)
    if rec is None:
        raise XapiError("HANDLE_INVALID", "session", params[1])
    if method == "session.get_uuid":
        return rec["uuid"]
    if method == "session.get_is_local_superuser":
        return rec["superuser"]
    return rec["permissions"]


def parse_call(body):
    """(v2, id, method, params) from a request body, or a reason string."""
    try:
        call = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return "body is not JSON (%s)" % e.__class__.__name__
    if not isinstance(call, dict):
        return "JSON-RPC call is not an object"
    method, params = call.get("method"), call.get("params", [])
    if not isinstance(method, str):
        return 'JSON-RPC call without a string "method"'
    if not isinstance(params, list):
        return '"params" is not a list (method %s)' % method
    if "id" not in call:
        return 'JSON-RPC call without "id" (method %s)' % method
    v2 = "jsonrpc" in call
    if v2 and call["jsonrpc"] != "2.0":
        return '"jsonrpc" is not "2.0" (method %s)' % method
    return (v2, call["id"], method, params)


def encode_answer(v2, rid, result=None, err=None):
    if v2 and err is None:
        obj = {"jsonrpc": "2.0", "result": result, "id": rid}
    elif v2:
        obj = {"jsonrpc": "2.0",
               "error": {"code": 1, "message": err.name, "data": err.params},
               "id": rid}
    elif err is None:
        obj = {"result": result, "error": None, "id": rid}
    else:
        obj = {"result": None, "error": [err.name] + err.params, "id": rid}
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake_xapi"
    timeout = IDLE_TIMEOUT

    def handle(self):
        self.proxy_line = None
        try:
            if isinstance(self.request, ssl.SSLSocket):
                self.request.do_handshake()   # here, not in accept()
            # xapi's stunnel (and httpd's XapiForwardProxyProtocol) may
            # start the connection with a PROXY line, which xapi reads
            # first and keeps for every request of the connection
            # (ocaml/libs/http-lib/http.ml): so does this fake
            if self.rfile.peek(6)[:6] == b"PROXY ":
                self.proxy_line = self.rfile.readline(256).decode(
                    "latin-1").rstrip("\r\n")
            super().handle()
        except (OSError, ssl.SSLError) as e:
            if self.server.state.verbose:
                log("%s connection: %s" % (self.server.transport, e))

    def log_message(self, fmt, *args):   # AF_UNIX has no client address
        if self.server.state.verbose:
            log("%s: %s" % (self.server.transport, fmt % args))

    def log_request(self, code="-", size="-"):
        pass

    def respond(self, code, ctype, body, extra=()):
        hdrs = ["HTTP/1.1 %d %s" % (code, REASONS.get(code, "Error")),
                "content-length: %d" % len(body),
                "content-type: %s" % ctype]
        hdrs += ["%s: %s" % h for h in extra]
        if self.close_connection:
            hdrs.append("connection: close")
        elif self.request_version == "HTTP/1.0":
            hdrs.append("connection: keep-alive")
        data = ("\r\n".join(hdrs) + "\r\n\r\n").encode("latin-1")
        if self.command != "HEAD":
            data += body
        self.wfile.write(data)            # one write: no Nagle stall

    def html(self, code, text):
        self.respond(code, "text/html", (
            "<html><head><title>%d %s</title></head><body><h1>%s</h1>"
            "</body></html>\n" % (code, REASONS.get(code, "Error"), text)
        ).encode("utf-8"))

    def read_body(self):
        """The request body, or None after an error answer."""
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            body = b""
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    self.html(400, "Bad chunk size")
                    return None
                if size == 0:
                    while self.rfile.readline(8192).strip():
                        pass                     # trailers
                    return body
                if len(body) + size > MAX_BODY:
                    self.close_connection = True
                    self.html(413, "Body too large")
                    return None
                body += self.rfile.read(size)
                self.rfile.readline(8)           # CRLF
        cl = self.headers.get("Content-Length")
        if cl is None:
            if self.command == "POST":
                self.close_connection = True
                self.html(411, "Length Required")
                return None
            return b""
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self.html(400, "Bad Content-Length")
            return None
        if n > MAX_BODY:
            self.close_connection = True
            self.html(413, "Body too large")
            return None
        body = self.rfile.read(n)
        if len(body) != n:
            self.close_connection = True
            return None
        return body

    def serve(self):
        state = self.server.state
        body = self.read_body()
        if body is None:
            return
        state.load_config()
        mode = state.mode()
        is_rpc = (self.command == "POST"
                  and self.path.split("?", 1)[0] == "/jsonrpc")
        call = None
        if is_rpc:
            call = parse_call(body)
            extra = None
            if not isinstance(call, str) and call[2] == LOGIN:
                extra = "empty" if call[3][:2] == ["", ""] else "given"
            state.record("-" if isinstance(call, str) else call[2],
                         self.server.transport, extra)
            ctype = self.headers.get("Content-Type", "")
            if ctype.split(";")[0].strip().lower() != "application/json":
                state.complain("Content-Type %r, not application/json"
                               % ctype)
            if isinstance(call, str):
                state.complain(call)
            elif state.verbose:
                log("%s %s (mode %s)" % (self.server.transport, call[2],
                                         mode[0]))
        name, arg = mode
        if name == "down":
            self.close_connection = True
            return
        if name == "slow":
            try:
                time.sleep(float(arg))
            except ValueError:
                name = "bad"
        if name == "slowcall":
            slow_method, _, secs = arg.partition("=")
            try:
                if call is not None and not isinstance(call, str) and \
                        call[2] == slow_method:
                    time.sleep(float(secs))
                name = "normal"
            except ValueError:
                name = "bad"
        if name == "garbage":
            self.respond(200, "application/json",
                         b"<html>this is not JSON-RPC {\"result\":\n")
            return
        if name == "html500":
            self.html(500, "Internal error")
            return
        if name not in ("normal", "slow", "slave", "slave-all") or \
                (name.startswith("slave") and not arg):
            log("unknown mode %r in %s" % (":".join(mode),
                                          state.path("mode")))
            self.html(500, "fake_xapi: unknown mode")
            return
        if not is_rpc:
            if not state.answer_all:
                self.html(404, "Not Found")
                return
            with state.rec_lock:
                with open(state.path("requests.log"), "a") as f:
                    f.write("%s %s\n" % (self.command, self.path))
            self.respond(200, "text/plain", (
                "fake_xapi %s %s %s\n" % (self.server.transport,
                                          self.command, self.path)
            ).encode("utf-8", "replace"),
                (("x-proxy-line", self.proxy_line),)
                if self.proxy_line else ())
            return
        if isinstance(call, str):
            self.close_connection = True
            self.html(500, "Internal error")
            return
        v2, rid, method, params = call
        try:
            result = dispatch(state, self.server.transport, method, params,
                              mode)
            out = encode_answer(v2, rid, result=result)
        except XapiError as e:
            out = encode_answer(v2, rid, err=e)
        self.respond(200, "application/json", out,
                     (("access-control-allow-origin", "*"),
                      ("access-control-allow-headers", "X-Requested-With")))

    do_POST = do_GET = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = serve


class Quiet:
    """A one-line complaint instead of socketserver's traceback."""

    def handle_error(self, request, client_address):
        log("%s: %s" % (self.transport, sys.exc_info()[1]))


class UnixServer(Quiet, socketserver.ThreadingMixIn,
                 socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    transport = "unix"


class ClientCertServer(UnixServer):
    transport = "clientcert"


class HttpServer(Quiet, socketserver.ThreadingMixIn,
                 socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    transport = "http"


class HttpsServer(HttpServer):
    transport = "https"

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(IDLE_TIMEOUT)
        # the handshake runs in the handler's thread (Handler.handle)
        return (self.ssl_ctx.wrap_socket(sock, server_side=True,
                                         do_handshake_on_connect=False),
                addr)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--unix", action="append", default=[], metavar="PATH")
    ap.add_argument("--https", action="append", default=[], type=int,
                    metavar="PORT")
    ap.add_argument("--http", action="append", default=[], type=int,
                    metavar="PORT")
    ap.add_argument("--clientcert", action="append", default=[],
                    metavar="PATH")
    ap.add_argument("--answer-all", action="store_true")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--state-dir", required=True, metavar="DIR")
    ap.add_argument("--config", required=True, metavar="FILE")
    ap.add_argument("--login-fail-delay", type=float, default=0.0,
                    metavar="SECONDS")
    ap.add_argument("--unix-preauth", action="store_true")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    if not (args.unix or args.https or args.http or args.clientcert):
        ap.error("give at least one --unix PATH, --https PORT, --http PORT "
                 "or --clientcert PATH")
    if args.https and not (args.cert and args.key):
        ap.error("--https needs --cert and --key")
    os.makedirs(args.state_dir, exist_ok=True)
    unlink_quietly(*(os.path.join(args.state_dir, name)
                     for name in ("ready", "https_port")))
    state = State(args)

    servers, bound = [], []     # bound: the socket files that are ours
    try:
        for path, cls in [(u, UnixServer) for u in args.unix] + \
                [(c, ClientCertServer) for c in args.clientcert]:
            if os.path.exists(path) and \
                    stat.S_ISSOCK(os.stat(path).st_mode):
                os.unlink(path)                 # stale, from a killed run
            servers.append(cls(path, Handler))
            bound.append(path)
            os.chmod(path, 0o666)
        if args.https:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args.cert, args.key)
            ctx.set_alpn_protocols(["http/1.1"])
            for port in args.https:
                srv = HttpsServer(("127.0.0.1", port), Handler)
                srv.ssl_ctx = ctx
                servers.append(srv)
        for port in args.http:
            servers.append(HttpServer(("127.0.0.1", port), Handler))
    except (OSError, ssl.SSLError) as e:
        for srv in servers:
            srv.server_close()
        unlink_quietly(*bound)
        raise SystemExit("fake_xapi: cannot listen: %s" % e)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for srv in servers:
        srv.state = state
        threading.Thread(target=srv.serve_forever,
                         kwargs={"poll_interval": 0.2}, daemon=True).start()
    https = [s for s in servers if s.transport == "https"]
    if https:
        write_atomic(state.path("https_port"),
                     "%d\n" % https[0].server_address[1])
    write_atomic(state.path("ready"), "%d\n" % os.getpid())
    log("ready: %s" % ", ".join(
        "%s:%s" % (s.transport, s.server_address)
        if s.transport in ("unix", "clientcert")
        else "%s://127.0.0.1:%d" % (s.transport, s.server_address[1])
        for s in servers))

    while not stop.wait(0.2):
        pass
    for srv in servers:
        srv.shutdown()
        srv.server_close()
    unlink_quietly(*bound)
    unlink_quietly(state.path("ready"), state.path("https_port"))
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
