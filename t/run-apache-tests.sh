#!/bin/sh
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# run-apache-tests.sh - run the Apache::Test suite against a built module.
#
#   sh t/run-apache-tests.sh <path/to/mod_xapi_forward.so> [TEST.PL args]
#
# Copies t/ and the .so into a fresh short temp dir (the daemon's sockets
# live under it: sun_path is 108 bytes, mod_proxy's uds_path 96), then runs
# the whole suite under the event MPM and the hand-off and relay tests again
# under worker and prefork.  Apache::Test refuses to run as root: as root the
# suite runs as user "xftest" (created when missing).  Exit status is the
# test result.  The temp dir is removed on success and kept on failure.
#
# Environment:
#   XF_MPMS        extra MPM passes (default "worker prefork"; "" for none)
#   XF_MPM_TESTS   tests of the extra passes (default: 01, 20, 25, 30,
#                  40-48, 56, 80, 81, 93, 94)
#   XF_TEST_USER   user to run as when root (default xftest)
#   XF_KEEP=1      keep the temp dir even on success
#   XF_TMPDIR      where the temp dir is made (default /tmp)
#   XF_RERUN_OPTS  TEST.PL options for the verbose re-run of failed files
#   XF_RERUN=0     no such re-run (make soak: long, and verbose already)
#   XF_INSTALLED=1 the front door, xapi-forward-stunnel-sync and the
#                  receiver kit as the Debian packages installed them, in
#                  place of the tree's conf.d/, tools/ and kit/ (.ci/run
#                  pass 3): /etc/apache2's files under their conf.d/
#                  names, /usr/sbin's command, the installed Python module
#                  (imported from dist-packages) with its packaged example,
#                  the packaged C example built against libxfrecv-dev
#   APACHE_TEST_PORT  base port (default "select": the first free one)

set -u

die() { echo "run-apache-tests.sh: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: $0 <mod_xapi_forward.so> [TEST.PL args]"
so=$1
shift
[ -f "$so" ] || die "module not found: $so"

tdir=$(cd "$(dirname "$0")" && pwd) || die "cannot find t/"
[ -f "$tdir/TEST.PL" ] || die "no TEST.PL in $tdir"
command -v python3 >/dev/null || die "python3 is required (t/daemon)"

mpms=${XF_MPMS-worker prefork}
mpm_tests=${XF_MPM_TESTS-t/xapi_forward/01_load.t t/xapi_forward/20_handoff.t t/xapi_forward/30_buffered.t t/xapi_forward/40_relay.t t/xapi_forward/41_relay_upload.t t/xapi_forward/42_relay_keepalive.t t/xapi_forward/43_relay_accesslog.t t/xapi_forward/44_relay_backend.t t/xapi_forward/45_relay_client_gone.t t/xapi_forward/47_relay_big.t t/xapi_forward/25_control_hold.t t/xapi_forward/46_relay_early.t t/xapi_forward/48_tunnel.t t/xapi_forward/56_access_task.t t/xapi_forward/80_status.t t/xapi_forward/81_graceful.t t/xapi_forward/93_fault_daemon.t t/xapi_forward/94_fault_limits.t}
user=${XF_TEST_USER:-xftest}

# POSIX single-quoting, to pass the arguments through su -c
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

args=""
has_tests=no
for a in "$@"; do
    args="$args $(q "$a")"
    case $a in *.t|t/*|*/) has_tests=yes ;; esac
done

tmp=$(mktemp -d "${XF_TMPDIR:-/tmp}/xft.XXXXXX") || die "mktemp failed"
mkdir -p "$tmp/t/conf" || die "mkdir failed"
for d in TEST.PL lib daemon xapi_forward htdocs; do
    [ -e "$tdir/$d" ] && cp -R "$tdir/$d" "$tmp/t/"
done
cp "$tdir"/conf/*.in "$tdir"/conf/*.inc "$tdir"/conf/*.json "$tdir"/conf/ptoken "$tmp/t/conf/" 2>/dev/null
# the shipped configuration some tests load (t/TEST.PL: frontdoor_conf)
[ -d "$tdir/../conf.d" ] && cp -R "$tdir/../conf.d" "$tmp/"
# and the command that follows xapi's stunnel settings (75_frontdoor_sync.t)
[ -d "$tdir/../tools" ] && cp -R "$tdir/../tools" "$tmp/"
cp "$so" "$tmp/mod_xapi_forward.so" || die "cannot copy $so"
# the receiver kit (Python): t/daemon/xf_daemon.py receives with it
mkdir -p "$tmp/kit" && cp -R "$tdir/../kit/python" "$tmp/kit/" \
    || die "cannot copy kit/python"
# and the C kit's example service, when built (64_plugin_c.t)
if [ -x "$tdir/../kit/c/xfr-hello" ]; then
    mkdir -p "$tmp/kit/c" &&
        cp "$tdir/../kit/c/xfr-hello" "$tdir/../kit/c/libxfrecv.so.1" \
            "$tmp/kit/c/" || die "cannot copy kit/c"
fi

if [ "${XF_INSTALLED:-0}" = 1 ]; then
    etc=/etc/apache2
    rm -rf "$tmp/conf.d" "$tmp/tools" "$tmp/kit/c" \
        "$tmp/kit/python/xapi_forward_receiver.py" "$tmp/kit/python/hello.py"
    mkdir -p "$tmp/conf.d" "$tmp/tools/systemd" "$tmp/kit/c" || die "mkdir failed"
    for f in sites-available/xapi-frontdoor-vhost.conf \
        xapi-forward/xapi-frontdoor.conf \
        xapi-forward/xapi-frontdoor-settings.conf \
        mods-available/xapi_forward.conf mods-available/xapi_forward.load; do
        cp "$etc/$f" "$tmp/conf.d/" || die "not installed: $etc/$f"
    done
    cp /usr/sbin/xapi-forward-stunnel-sync "$tmp/tools/" &&
        cp /usr/share/xapi-forward/90-xapi-forward.conf \
            "$tmp/tools/systemd/90-xapi-forward.conf.in" ||
        die "xapi-forward-stunnel-sync or its drop-in not installed"
    ex=/usr/share/doc/python3-xapi-forward-receiver/examples/hello.py
    cp "$ex" "$tmp/kit/python/" || die "not installed: $ex"
    ex=/usr/share/doc/libxfrecv-dev/examples/hello.c
    # shellcheck disable=SC2046
    ${CC:-cc} -O2 -o "$tmp/kit/c/xfr-hello" "$ex" \
        $(pkg-config --cflags --libs xapi-forward-receiver) ||
        die "cannot build $ex against libxfrecv-dev"
fi

if [ "$(id -u)" = 0 ]; then
    if ! id "$user" >/dev/null 2>&1; then
        useradd -r -m -d "/var/lib/$user" -s /bin/sh "$user" \
            || die "cannot create user $user"
    fi
    chown -R "$user:" "$tmp" || die "chown failed"
    chmod 755 "$tmp"
fi

# run a shell command as the test user (no TTY, no stdin)
as_user() {
    if [ "$(id -u)" = 0 ]; then
        su "$user" -s /bin/sh -c "$1" </dev/null
    else
        sh -c "$1" </dev/null
    fi
}

# one pass: MPM, then TEST.PL arguments (already quoted)
run_pass() {
    mpm=$1
    shift
    echo "=== mod_xapi_forward integration tests: $mpm MPM ==="
    base="cd $(q "$tmp") && XF_MODULE_SO=$(q "$tmp/mod_xapi_forward.so")"
    base="$base XF_MPM=$mpm APACHE_TEST_PORT=$(q "${APACHE_TEST_PORT:-select}")"
    base="$base APACHE_TEST_NO_COLOR=1 perl t/TEST.PL"
    out="$tmp/pass-$mpm.log"
    { as_user "$base $*"; echo $? >"$tmp/rc"; } 2>&1 | tee "$out"
    rc=$(cat "$tmp/rc")
    failed=$(sed -n 's/^\(t\/[^ ]*\.t\) *(Wstat.*/\1/p' "$out" | tr '\n' ' ')
    # one line per pass for the summary at the end (a CI log's tail)
    if [ "$rc" -eq 0 ]; then
        echo "$mpm: passed" >>"$tmp/summary"
    else
        echo "$mpm: FAILED (exit $rc): ${failed:-see $out}" >>"$tmp/summary"
    fi
    if [ "$rc" -ne 0 ] && [ "${XF_RERUN:-1}" != 0 ]; then
        # the harness only says which tests failed: run those files again,
        # verbosely, for the expected/received values
        if [ -n "$failed" ]; then
            echo "=== $mpm: re-running $failed with -verbose ==="
            as_user "$base -verbose ${XF_RERUN_OPTS:-} $failed"
        fi
    fi
    # never leave a server behind (TEST.PL stops it unless it crashed)
    if [ -f "$tmp/t/logs/httpd.pid" ]; then
        pid=$(cat "$tmp/t/logs/httpd.pid")
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && sleep 1
    fi
    # keep each pass's logs apart
    for f in error_log xf_access_log xf_relay_access_log access_log; do
        [ -f "$tmp/t/logs/$f" ] && mv "$tmp/t/logs/$f" "$tmp/t/logs/$f.$mpm"
    done
    if [ "$rc" -ne 0 ]; then
        log="$tmp/t/logs/error_log.$mpm"
        echo "=== FAILED under $mpm: [warn] or worse in t/logs/error_log ==="
        grep -E '^\[[^]]*\] \[([a-z_0-9.-]*:)?(emerg|alert|crit|error|warn)\]' \
            "$log" 2>/dev/null | tail -n 40
        echo "=== FAILED under $mpm: last lines of t/logs/error_log ==="
        tail -n 40 "$log" 2>/dev/null
        for e in "$tmp"/t/logs/xf_daemon/*/errors.log; do
            [ -s "$e" ] || continue
            echo "=== daemon errors: $e ==="
            cat "$e"
        done
        # the next pass starts with fresh daemon records
        [ -d "$tmp/t/logs/xf_daemon" ] &&
            mv "$tmp/t/logs/xf_daemon" "$tmp/t/logs/xf_daemon.$mpm"
    fi
    return "$rc"
}

status=0
: >"$tmp/summary"
run_pass event "$args" || status=1
for mpm in $mpms; do
    if [ $has_tests = yes ]; then
        run_pass "$mpm" "$args" || status=1
    else
        run_pass "$mpm" "$args $mpm_tests" || status=1
    fi
done

echo "=== summary of the passes ==="
cat "$tmp/summary"
if [ $status -eq 0 ] && [ "${XF_KEEP:-0}" != 1 ]; then
    rm -rf "$tmp"
    echo "=== all passes succeeded ==="
else
    echo "=== test tree kept in $tmp (logs in $tmp/t/logs) ==="
fi
exit $status
