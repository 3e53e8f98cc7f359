#!/bin/sh
# quickstart.sh - on a fresh Debian 12, as root: install the build
# dependencies, build and install mod_xapi_forward, start a demo daemon on a
# ".forwarded" socket and httpd with the module in front of it.
# Afterwards: curl 'http://localhost/demo/hello?x=1'
set -eu
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2046
apt-get install -y --no-install-recommends $(grep -v '^#' deps-debian.txt)
make distclean >/dev/null 2>&1 || true
make
make install

# the demo daemon
install -d /usr/local/lib/mod_xapi_forward /run/xf-demo
install -m 755 demo/xf-demo-daemon.py /usr/local/lib/mod_xapi_forward/
if [ -f /run/xf-demo/daemon.pid ]; then
    kill "$(cat /run/xf-demo/daemon.pid)" 2>/dev/null || true
fi
nohup /usr/local/lib/mod_xapi_forward/xf-demo-daemon.py \
    /run/xf-demo/demo.forwarded >/var/log/xf-demo-daemon.log 2>&1 &
echo $! >/run/xf-demo/daemon.pid

# httpd: enable the module and route /demo to the daemon
a2enmod -q proxy xapi_forward
cat >/etc/apache2/conf-available/xapi-forward-demo.conf <<'CONF'
# mod_xapi_forward demo: /demo is handed to the daemon on a .forwarded socket
ProxyPass /demo "unix:/run/xf-demo/demo.forwarded|xapi://demo/"
CONF
a2enconf -q xapi-forward-demo
# custom services: the receiver kit's hello example in the plugin directory,
# and /services/plugin/ open without access control (no XAPI on this host):
# curl 'http://localhost/services/plugin/hello/x?name=you'
install -d /var/lib/xcp/plugin
if [ -f /run/xf-demo/hello.pid ]; then
    kill "$(cat /run/xf-demo/hello.pid)" 2>/dev/null || true
fi
nohup /usr/local/bin/xfr-hello.py /var/lib/xcp/plugin/hello \
    >/var/log/xf-demo-hello.log 2>&1 &
echo $! >/run/xf-demo/hello.pid
a2enmod -q proxy_http
cat >/etc/apache2/conf-available/xapi-forward-plugin-demo.conf <<'CONF'
# mod_xapi_forward demo: custom services, no access control (add
# "XapiForwardAuth On" and "XapiForwardRequirePermission xapi"
# on a XenServer / XCP-ng host)
<Location /services/plugin/>
    XapiForwardPlugin On
    XapiForwardPluginDir /var/lib/xcp/plugin
</Location>
CONF
a2enconf -q xapi-forward-plugin-demo

if pgrep -x apache2 >/dev/null; then apache2ctl graceful; else apache2ctl start; fi
for i in 1 2 3 4 5 6 7 8 9 10; do
    curl -fsS 'http://localhost/demo/hello?x=1' && exit 0
    sleep 0.5
done
echo "demo did not answer: see /var/log/apache2/error.log" >&2
exit 1
