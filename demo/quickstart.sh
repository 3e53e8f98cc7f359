#!/bin/sh
# quickstart.sh - on a fresh Debian 12, as root: install the build
# dependencies, build and install mod_xapi_forward, start a demo daemon on a
# ".forwarded" socket, wait until it accepts connections, then start httpd
# with the module in front of it, so that the first request succeeds.
# Afterwards: curl 'http://localhost/demo/hello?x=1'
#
# Layout: one start_daemon + wait_socket + one conf block per service
# (the "demo" block below); add a service by adding such a block before
# "httpd" at the end.
set -eu
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2046
apt-get install -y --no-install-recommends $(grep -v '^#' deps-debian.txt)
make distclean >/dev/null 2>&1 || true
make
make install

LIBDIR=/usr/local/lib/mod_xapi_forward
RUNDIR=/run/xf-demo
CONF=/etc/apache2/conf-available/xapi-forward-demo.conf
install -d "$LIBDIR" "$RUNDIR"

# start_daemon NAME COMMAND...: (re)start a daemon in the background, its
# pid in $RUNDIR/NAME.pid, its output in /var/log/xf-NAME.log
start_daemon() {
    name=$1
    shift
    if [ -f "$RUNDIR/$name.pid" ]; then
        kill "$(cat "$RUNDIR/$name.pid")" 2>/dev/null || true
        sleep 0.2
    fi
    nohup "$@" >"/var/log/xf-$name.log" 2>&1 &
    echo $! >"$RUNDIR/$name.pid"
}

# wait_socket NAME PATH: wait (10 s at most) until PATH accepts connections
wait_socket() {
    name=$1
    path=$2
    i=0
    while ! python3 -c 'import socket,sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])' "$path" 2>/dev/null; do
        if ! kill -0 "$(cat "$RUNDIR/$name.pid")" 2>/dev/null; then
            echo "$name daemon exited: see /var/log/xf-$name.log" >&2
            cat "/var/log/xf-$name.log" >&2
            exit 1
        fi
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "$name daemon: no socket at $path after 10 s" >&2
            exit 1
        fi
        sleep 0.1
    done
}

echo "# mod_xapi_forward demo (demo/quickstart.sh)" >"$CONF.new"

# ---- service: demo (/demo -> the demo daemon) ----------------------------
install -m 755 demo/xf-demo-daemon.py "$LIBDIR/"
start_daemon demo "$LIBDIR/xf-demo-daemon.py" "$RUNDIR/demo.forwarded"
wait_socket demo "$RUNDIR/demo.forwarded"
cat >>"$CONF.new" <<'CONF'
ProxyPass /demo "unix:/run/xf-demo/demo.forwarded|xapi://demo/"
CONF

# ---- service: hello (/services/plugin/hello -> the receiver kit's example) --
# custom services, open without access control (no XAPI on this host; on a
# XenServer / XCP-ng host add "XapiForwardAuth On" and
# "XapiForwardRequirePermission xapi"):
#   curl 'http://localhost/services/plugin/hello/x?name=you'
install -d /var/lib/xcp/plugin
install -m 755 kit/python/hello.py "$LIBDIR/xfr-hello.py"
start_daemon hello "$LIBDIR/xfr-hello.py" /var/lib/xcp/plugin/hello
wait_socket hello /var/lib/xcp/plugin/hello
a2enmod -q proxy_http
cat >>"$CONF.new" <<'CONF'
<Location /services/plugin/>
    XapiForwardPlugin On
    XapiForwardPluginDir /var/lib/xcp/plugin
</Location>
CONF

# ---- httpd: every daemon listens now ---------------------------------------
mv "$CONF.new" "$CONF"
a2enmod -q proxy xapi_forward status
a2enconf -q xapi-forward-demo
apache2ctl configtest
# the configuration generation mod_status reports ("" when not answering)
generation() {
    curl -s 'http://localhost/server-status?auto' 2>/dev/null |
        sed -n 's/^ParentServerConfigGeneration: //p'
}
if pgrep -x apache2 >/dev/null; then
    before=$(generation)
    apache2ctl graceful
else
    before=none
    apache2ctl start
fi
# wait until httpd answers with the new configuration, then make the one
# request a user makes
i=0
while now=$(generation); [ -z "$now" ] || [ "$now" = "$before" ]; do
    i=$((i + 1))
    [ $i -le 100 ] || { echo "httpd does not answer on port 80" >&2; exit 1; }
    sleep 0.2
done
curl -fsS 'http://localhost/demo/hello?x=1'
echo "demo OK. Status page: curl http://localhost/server-status?auto (from localhost)"
