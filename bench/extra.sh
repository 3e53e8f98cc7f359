#!/usr/bin/env bash
# bench/extra.sh - the project's own rows, beside ../shared/bench/run.sh:
#   handoff       mod_xapi_forward hand-off, no access control (ka off)
#   handoff-auth  the same with XapiForwardAuth On, valid session, cache warm
#   tls-relay     HTTPS keep-alive, mod_xapi_forward relay mode
#   tls-http      HTTPS keep-alive, mod_proxy_http over a unix socket
#   up-relay, up-http, up-relay-tls, up-http-tls
#                 5 MiB uploads (POST, keep-alive, UP_CONNS clients): relay
#                 mode against mod_proxy_http over a unix socket (its
#                 keep-alive pool), plain HTTP and HTTPS
#   catchall-tls, catchall-tls-close
#                 HTTPS GET through the front door's catch-all as shipped
#                 (mod_proxy_http to a TCP port 80, XapiForwardProxyProtocol
#                 On, disablereuse=on: a backend connection per request),
#                 keep-alive on and off
#   stunnel-tls, stunnel-tls-close
#                 the same through stunnel as xapi configures it (protocol
#                 = proxy: a backend connection per client connection)
#                 Both reach bench/proxy80.c, a port 80 that takes the PROXY
#                 line and serves each connection with a thread, as xapi;
#                 both with xapi's TLS policy (TLS 1.2, its two ciphers,
#                 secp384r1, server order)
# and once, after the rounds: a two-way tunnel over TLS (TUNNEL_MIB each
# way, default 1024) through XapiForwardRelay tunnel against mod_proxy_http
# tunnelling the same bytes after an Upgrade (upgrade=xftunnel): MB/s each
# way and front-end CPU seconds per GiB each way (bench/tunnel_peer.py).
# Same backend (../shared/bench/backend.c), same httpd settings as run.sh,
# rows interleaved per round; the table gives medians and ratios.
# usage: bench/extra.sh MODULE_SO     env: ROUNDS [3] DUR [10] CONNS [50]
#        UP_MIB [5] UP_CONNS [4] ONLY [every row: the names of the rows to
#        run, space-separated; the tunnel rows only when ONLY is unset]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
SHARED=${SHARED_BENCH:-$TOP/../shared/bench}
SO=${1:?usage: bench/extra.sh MODULE_SO}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10}
CONNS=${CONNS:-50}
UP_MIB=${UP_MIB:-5}
UP_CONNS=${UP_CONNS:-4}
AP=/usr/lib/apache2/modules
CPIN=(taskset -c 1)
SPIN=(taskset -c 0)

RUN=$(mktemp -d /tmp/xfbench.XXXXXX)
chmod 755 "$RUN"
PIDS=()
cleanup() {
    local p
    [ -f "$RUN/httpd.pid" ] && PIDS+=("$(cat "$RUN/httpd.pid")")
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    sleep 1
    [ "${KEEP_RUN:-0}" = 1 ] || rm -rf "$RUN"
}
trap cleanup EXIT

TUNNEL_MIB=${TUNNEL_MIB:-1024}
python3 "$HERE/tunnel_peer.py" daemon --xapi "$RUN/tun-xapi.sock" \
    --http "$RUN/tun-http.sock" --bytes $((TUNNEL_MIB << 20)) \
    >"$RUN/tunnel_peer.log" 2>&1 &
PIDS+=("$!")

cc -O2 -o "$RUN/backend" "$SHARED/backend.c" -ljson-c -lpthread
"${SPIN[@]}" "$RUN/backend" --threads 1 --xapi "$RUN/xapi.sock" \
    --http-unix "$RUN/http.sock" >"$RUN/backend.log" 2>&1 &
BE=$!
PIDS+=("$BE")
# xapi's port 80 for the catch-all rows
cc -O2 -o "$RUN/proxy80" "$HERE/proxy80.c" -lpthread
"${SPIN[@]}" "$RUN/proxy80" 18199 --proxy >"$RUN/proxy80.log" 2>&1 &
BE80=$!
PIDS+=("$BE80")

# a fake XAPI that knows one session (only the first request asks it)
mkdir -p "$RUN/xapi-state"
cat >"$RUN/users.json" <<'JSON'
{"users": {"bench": {"password": "benchpw", "permissions": ["http/rrd_updates"]}},
 "sessions": {"OpaqueRef:bench-session": {"user": "bench"}}}
JSON
python3 "$TOP/t/daemon/fake_xapi.py" --state-dir "$RUN/xapi-state" \
    --config "$RUN/users.json" --unix "$RUN/fx.sock" >"$RUN/fx.log" 2>&1 &
PIDS+=("$!")

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$RUN/key.pem" -out "$RUN/cert.pem" >/dev/null 2>&1
for i in $(seq 50); do [ -S "$RUN/xapi.sock" ] && [ -S "$RUN/fx.sock" ] && [ -S "$RUN/tun-http.sock" ] && [ -S "$RUN/tun-xapi.sock" ] && break; sleep 0.1; done
chmod 666 "$RUN"/*.sock
# xapi's TLS policy (xapi_stunnel_server.ml), for both catch-all rows
TLS_CIPHERS=ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256
# stunnel as xapi_stunnel_server.ml writes xapi.conf (its [xapi] service)
cat >"$RUN/stunnel.conf" <<STUNNEL
pid = $RUN/stunnel.pid
foreground = no
output = $RUN/stunnel.log
fips = no
socket = r:TCP_NODELAY=1
socket = a:TCP_NODELAY=1
socket = l:TCP_NODELAY=1
socket = r:SO_KEEPALIVE=1
socket = a:SO_KEEPALIVE=1
TIMEOUTclose = 1
protocol = proxy
[xapi]
accept = 127.0.0.1:18200
cert = $RUN/cert.pem
key = $RUN/key.pem
connect = 127.0.0.1:18199
ciphers = $TLS_CIPHERS
curve = secp384r1
options = CIPHER_SERVER_PREFERENCE
sslVersion = TLSv1.2
STUNNEL
"${SPIN[@]}" stunnel4 "$RUN/stunnel.conf"
for i in $(seq 50); do [ -s "$RUN/stunnel.pid" ] && break; sleep 0.1; done
ST=$(cat "$RUN/stunnel.pid")
PIDS+=("$ST")

cat >"$RUN/httpd.conf" <<CONF
ServerRoot "$RUN"
ServerName localhost
PidFile "$RUN/httpd.pid"
DefaultRuntimeDir "$RUN"
ErrorLog "$RUN/error.log"
LogLevel warn
User www-data
Group www-data
LoadModule mpm_event_module $AP/mod_mpm_event.so
LoadModule authz_core_module $AP/mod_authz_core.so
LoadModule proxy_module $AP/mod_proxy.so
LoadModule proxy_http_module $AP/mod_proxy_http.so
LoadModule socache_shmcb_module $AP/mod_socache_shmcb.so
LoadModule ssl_module $AP/mod_ssl.so
LoadModule xapi_forward_module $SO
StartServers 2
ServerLimit 2
ThreadLimit 64
ThreadsPerChild 64
MaxRequestWorkers 128
MinSpareThreads 1
MaxSpareThreads 128
MaxConnectionsPerChild 0
KeepAlive On
KeepAliveTimeout 5
MaxKeepAliveRequests 0
Timeout 60
XapiForwardXapiURL unix:$RUN/fx.sock
XapiForwardCacheTTL 3600
Listen 127.0.0.1:18190
Listen 127.0.0.1:18191
Listen 127.0.0.1:18192
Listen 127.0.0.1:18193
Listen 127.0.0.1:18194
Listen 127.0.0.1:18195
Listen 127.0.0.1:18196
Listen 127.0.0.1:18197
Listen 127.0.0.1:18198
<VirtualHost 127.0.0.1:18190>
    ProxyPass / "unix:$RUN/xapi.sock|xapi://plain/"
</VirtualHost>
<VirtualHost 127.0.0.1:18191>
    <Location />
        XapiForwardAuth On
        XapiForwardRequirePermission http/rrd_updates
    </Location>
    ProxyPass / "unix:$RUN/xapi.sock|xapi://auth/"
</VirtualHost>
<VirtualHost 127.0.0.1:18192>
    SSLEngine on
    SSLCertificateFile $RUN/cert.pem
    SSLCertificateKeyFile $RUN/key.pem
    <Location />
        XapiForwardMode relay
    </Location>
    ProxyPass / "unix:$RUN/xapi.sock|xapi://tls/"
</VirtualHost>
<VirtualHost 127.0.0.1:18193>
    SSLEngine on
    SSLCertificateFile $RUN/cert.pem
    SSLCertificateKeyFile $RUN/key.pem
    ProxyPass / "unix:$RUN/http.sock|http://localhost/"
</VirtualHost>
<VirtualHost 127.0.0.1:18194>
    SSLEngine on
    SSLCertificateFile $RUN/cert.pem
    SSLCertificateKeyFile $RUN/key.pem
    XapiForwardMode relay
    XapiForwardRelay tunnel
    ProxyPass / "unix:$RUN/tun-xapi.sock|xapi://tunnel/"
</VirtualHost>
<VirtualHost 127.0.0.1:18195>
    SSLEngine on
    SSLCertificateFile $RUN/cert.pem
    SSLCertificateKeyFile $RUN/key.pem
    ProxyPass / "unix:$RUN/tun-http.sock|http://localhost/" upgrade=xftunnel
</VirtualHost>
<VirtualHost 127.0.0.1:18196>
    XapiForwardMode relay
    ProxyPass / "unix:$RUN/xapi.sock|xapi://relay/"
</VirtualHost>
<VirtualHost 127.0.0.1:18197>
    ProxyPass / "unix:$RUN/http.sock|http://localhost/"
</VirtualHost>
# the catch-all as conf.d/xapi-frontdoor.conf ships it
<VirtualHost 127.0.0.1:18198>
    SSLEngine on
    SSLCertificateFile $RUN/cert.pem
    SSLCertificateKeyFile $RUN/key.pem
    SSLProtocol -all +TLSv1.2
    SSLCipherSuite $TLS_CIPHERS
    SSLOpenSSLConfCmd Curves secp384r1
    SSLHonorCipherOrder on
    ProxyPreserveHost On
    ProxyPass / "http://127.0.0.1:18199/" nocanon timeout=300 upgrade=websocket addressttl=3600
    <Proxy "http://127.0.0.1:18199/" disablereuse=on>
        XapiForwardProxyProtocol On
        ProxyAddHeaders Off
    </Proxy>
</VirtualHost>
CONF
"${SPIN[@]}" apache2 -f "$RUN/httpd.conf" -k start
for i in $(seq 50); do [ -s "$RUN/httpd.pid" ] && break; sleep 0.1; done
FE=$(cat "$RUN/httpd.pid")
COOKIE="session_id=OpaqueRef:bench-session"
curl -sf -o /dev/null -b "$COOKIE" http://127.0.0.1:18191/small \
    || { echo "auth row does not answer"; cat "$RUN/error.log"; exit 1; }

cpu() { python3 "$SHARED/proctree_cpu.py" "$1"; }
RAW=$RUN/raw.tsv
: >"$RAW"
head -c $((UP_MIB << 20)) /dev/zero >"$RUN/upload.bin"
UP=(-p "$RUN/upload.bin" -T application/octet-stream)
row() { # name url ka [ab options: an upload, UP_CONNS clients]
    # the front end and backend measured: ROW_FE, ROW_BE when set
    local name=$1 url=$2 ka=$3 out fe0 fe1 be0 be1 conns=$CONNS
    local fe=${ROW_FE:-$FE} be=${ROW_BE:-$BE}
    shift 3
    case " ${ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    [ $# -gt 0 ] && conns=$UP_CONNS
    out=$RUN/ab-$name.txt
    fe0=$(cpu "$fe"); be0=$(cpu "$be")
    "${CPIN[@]}" ab -q -r $ka -t "$DUR" -n 2000000 -c "$conns" -C "$COOKIE" \
        -e "$out.csv" "$@" "$url" >"$out" 2>&1 || true
    fe1=$(cpu "$fe"); be1=$(cpu "$be")
    python3 - "$out" "$name" "$fe0" "$fe1" "$be0" "$be1" >>"$RAW" <<'PY'
import re, sys
out, name, fe0, fe1, be0, be1 = sys.argv[1:]
t = open(out).read()
g = lambda p: (re.search(p, t) or [None, "nan"])[1]
n = float(g(r"Complete requests:\s+(\d+)"))
bad = int(float(g(r"Failed requests:\s+(\d+)"))) + int(float((re.search(r"Non-2xx responses:\s+(\d+)", t) or [0, 0])[1]))
p99 = "nan"
try:
    for line in open(out + ".csv"):
        if line.startswith("99,"):
            p99 = line.split(",")[1].strip()
except OSError:
    pass
print("\t".join([name, g(r"Requests per second:\s+([\d.]+)"),
                 f"{(float(fe1)-float(fe0))/n*1e6:.1f}" if n else "nan",
                 f"{(float(be1)-float(be0))/n*1e6:.1f}" if n else "nan", str(bad), p99]))
PY
}
for r in $(seq "$ROUNDS"); do
    echo "== round $r" >&2
    row handoff http://127.0.0.1:18190/small ""
    row handoff-auth http://127.0.0.1:18191/small ""
    row tls-relay https://127.0.0.1:18192/small -k
    row tls-http https://127.0.0.1:18193/small -k
    row up-relay http://127.0.0.1:18196/small -k "${UP[@]}"
    row up-http http://127.0.0.1:18197/small -k "${UP[@]}"
    row up-relay-tls https://127.0.0.1:18192/small -k "${UP[@]}"
    row up-http-tls https://127.0.0.1:18193/small -k "${UP[@]}"
    ROW_BE=$BE80 row catchall-tls https://127.0.0.1:18198/small -k
    ROW_FE=$ST ROW_BE=$BE80 row stunnel-tls https://127.0.0.1:18200/small -k
    ROW_BE=$BE80 row catchall-tls-close https://127.0.0.1:18198/small ""
    ROW_FE=$ST ROW_BE=$BE80 row stunnel-tls-close https://127.0.0.1:18200/small ""
done
# the tunnel rows: once each, the client on the client CPU
tunnel_row() { # name port [--upgrade]
    local name=$1 port=$2 fe0 fe1 out
    fe0=$(cpu "$FE")
    out=$("${CPIN[@]}" python3 "$HERE/tunnel_peer.py" client --port "$port" \
        --path /migrate $3 --bytes $((TUNNEL_MIB << 20)))
    fe1=$(cpu "$FE")
    python3 - "$name" "$out" "$fe0" "$fe1" "$TUNNEL_MIB" >>"$RUN/tunnel.tsv" <<'PY'
import sys
name, out, fe0, fe1, mib = sys.argv[1:]
secs, got, sent = out.split()
gib = int(mib) / 1024
ok = int(got) == int(sent) == int(mib) << 20
print("\t".join([name, f"{int(mib) / float(secs):.0f}",
                 f"{(float(fe1) - float(fe0)) / gib:.2f}", secs,
                 "ok" if ok else f"short: {got}/{sent}"]))
PY
}
: >"$RUN/tunnel.tsv"
if [ -z "${ONLY:-}" ]; then
    tunnel_row tls-tunnel 18194 ""
    tunnel_row tls-http-upgrade 18195 --upgrade
fi

echo "fake XAPI calls during the run: $(cat "$RUN/xapi-state/count" 2>/dev/null || echo 0)"
python3 - "$RAW" "$UP_MIB" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    n, rps, fe, be, bad, p99 = line.rstrip("\n").split("\t")
    rows.setdefault(n, []).append((float(rps), float(fe), float(be), int(bad), float(p99)))
med = lambda xs: statistics.median(xs) if xs else float("nan")
print(f"mod_xapi_forward extra rows, median of {max(len(v) for v in rows.values())} round(s)\n")
print("| row | keep-alive | req/s | p99 ms | front-end CPU µs/req | backend CPU µs/req | failed+non2xx |")
print("|---|---|---|---|---|---|---|")
res, cpu = {}, {}
for n in ("handoff", "handoff-auth", "tls-relay", "tls-http", "up-relay", "up-http", "up-relay-tls", "up-http-tls",
          "catchall-tls", "stunnel-tls", "catchall-tls-close", "stunnel-tls-close"):
    v = rows.get(n, [])
    if not v:
        continue
    res[n] = med([x[0] for x in v])
    cpu[n] = med([x[1] for x in v])
    ka = "off" if n.startswith("handoff") or n.endswith("-close") else "on"
    print(f"| {n} | {ka} | {res[n]:,.1f} | {med([x[4] for x in v]):.0f} | {cpu[n]:.1f} | {med([x[2] for x in v]):.1f} | {sum(x[3] for x in v)} |")
print()
def ratio(a, b, what):
    if res.get(a) and res.get(b):
        print(f"{a} / {b}: req/s {res[a]/res[b]:.3f}, front-end CPU per request {cpu[a]/cpu[b]:.3f}{what}")
if res.get("handoff") and res.get("handoff-auth"):
    print(f"handoff-auth / handoff = {res['handoff-auth']/res['handoff']:.3f} (goal >= 0.95)")
ratio("tls-relay", "tls-http", " (mod_proxy_http)")
ratio("up-relay", "up-http", f" ({sys.argv[2]} MiB uploads)")
ratio("up-relay-tls", "up-http-tls", f" ({sys.argv[2]} MiB uploads over TLS)")
ratio("catchall-tls", "stunnel-tls", " (the catch-all against xapi's stunnel, keep-alive)")
ratio("catchall-tls-close", "stunnel-tls-close", " (the same, a connection per request)")
PY
if [ -s "$RUN/tunnel.tsv" ]; then
    echo
    echo "two-way tunnel over TLS, $TUNNEL_MIB MiB each way (one run)"
    echo
    echo "| row | MB/s each way | front-end CPU s/GiB each way | seconds | bytes |"
    echo "|---|---|---|---|---|"
    while IFS=$'\t' read -r n mbs cpu secs ok; do
        echo "| $n | $mbs | $cpu | $secs | $ok |"
    done <"$RUN/tunnel.tsv"
fi
echo "port 80 (bench/proxy80.c): $(kill -TERM "$BE80" 2>/dev/null; sleep 0.3; cat "$RUN/proxy80.log")"
grep -v -E 'AH00489|AH00094|AH00491|AH00492|caught SIGTERM' "$RUN/error.log" | tail -5 || true
