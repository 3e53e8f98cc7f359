# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Custom services (issue 9): a service written with the receiver kit (the
# hello example) answers at <location>/<name>/ both ways, plain and TLS;
# the API's statuses in the API's order: 405 + Allow for other methods,
# 403 without a valid session (401 + WWW-Authenticate by directive), 404
# for no such service or one not running, 302 to the host that runs it;
# RBAC as xapi checks /services (XapiForwardRequirePermission xapi:
# http/get_services, http/put_services); a non-200 answer passes unchanged.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(session_of);
use XapiForward::Plugin qw(curl);

plan tests => 69, need_module('proxy', 'proxy_http', 'xapi_forward', 'ssl',
                              'socache_shmcb');

my $log = XapiForward::ErrorLog->new;
my $x = XapiForward::FakeXapi->start('unix', unix => 'xapi.sock',
                                     preauth => 1);
my $hello = XapiForward::Plugin->start('hello');
my $chan = XapiForward::Plugin->start('hello-chan');
my $RO = 'Cookie: session_id=' . session_of('rbac-ro');      # get_services
my $NONE = 'Cookie: session_id=' . session_of('rbac-none');  # lacks it

# ---- both ways, plain and TLS ------------------------------------------------
for my $vh (qw(xf_plugin xf_plugin_tls)) {
    for my $c (['/xfp/open/hello', 'http'], ['/xfp/open/hello-chan', 'channel'],
               ['/xfp/chan/hello', 'channel']) {
        my($base, $way) = @$c;
        my $r = curl($vh, "$base/a/b?name=kit&x=%41");
        ok t_cmp($r->{status}, 200, "$vh $base: 200");
        ok t_cmp($r->{body}, qr/^hello kit\nway: \Q$way\E\nmethod: GET\n/,
                 "$vh $base: the service answered, $way way");
        ok t_cmp($r->{body}, qr{\npath: \Q$base\E/a/b\nquery: name=kit&x=A\n},
                 "$vh $base: path and query unchanged");
        ok t_cmp($r->{h}{'x-service'}, 'hello', "$vh $base: its headers too");
    }
}
$log->check('both ways', allow => [qr/XAPIFWD0\d\d\d/]);

# ---- a non-200 answer with a body passes unchanged ------------------------------
{
    my $r = curl('xf_plugin', '/xfp/open/hello/x?status=418&name=t');
    ok t_cmp($r->{status}, 418, 'http way: the service\'s 418');
    ok t_cmp($r->{body}, qr/^hello t\nway: http\n/, 'http way: its body');
    $r = curl('xf_plugin_tls', '/xfp/open/hello/x?status=500&name=t');
    ok t_cmp($r->{status}, 500, 'http way, TLS: the service\'s 500');
    ok t_cmp($r->{body}, qr/^hello t\nway: http\n/, 'http way, TLS: its body');
    my $p = curl('xf_plugin', '/xfp/open/hello/x', '-X', 'POST',
                 '--data-binary', 'x' x 1000);
    ok t_cmp($p->{body}, qr/\nbody: 1000 bytes\n/, 'http way: POST body');
    $p = curl('xf_plugin_tls', '/xfp/chan/hello/x', '-X', 'PUT',
              '--data-binary', 'y' x 3000);
    ok t_cmp($p->{body}, qr/way: channel\n.*\nbody: 3000 bytes\n/s,
             'channel way, TLS: PUT body');
}

# ---- 405 + Allow -------------------------------------------------------------
for my $m (qw(DELETE HEAD OPTIONS PATCH)) {
    $log->mark;
    my $r = curl('xf_plugin', '/services/plugin/hello/x', '-X', $m,
                 ($m eq 'HEAD' ? '-I' : ()));
    ok t_cmp($r->{status}, 405, "$m: 405");
    ok t_cmp($r->{h}{allow}, 'GET, PUT, POST', "$m: Allow");
}
$log->check('405', expect => ['XAPIFWD0406']);

# ---- no valid session: 403 (default) or 401 ------------------------------------
{
    $log->mark;
    my $r = curl('xf_plugin', '/services/plugin/hello/x');
    ok t_cmp($r->{status}, 403, 'no session: 403');
    ok t_cmp($r->{h}{'www-authenticate'}, undef, '403: no WWW-Authenticate');
    $r = curl('xf_plugin', '/services/plugin/nosuch/x', '-H',
              'Cookie: session_id=OpaqueRef:not-a-session');
    ok t_cmp($r->{status}, 403, 'invalid session, missing service: 403 first');
    $log->check('403', expect => ['XAPIFWD0407', 'XAPIFWD0203']);

    $log->mark;
    $r = curl('xf_plugin', '/xfp/x401/hello/x');
    ok t_cmp($r->{status}, 401, 'XapiForwardPluginNoSessionStatus 401: 401');
    ok t_cmp($r->{h}{'www-authenticate'}, 'Basic realm="get_services"',
             '401: WWW-Authenticate as xapi');
    $log->check('401', expect => ['XAPIFWD0407']);
}

# ---- RBAC and a valid session ------------------------------------------------
{
    my $r = curl('xf_plugin', '/services/plugin/hello/x?name=s', '-H', $RO);
    ok t_cmp($r->{status}, 200, 'session with http/get_services: 200');
    ok t_cmp($r->{body}, qr/^hello s\n/, 'session: the service answered');
    $log->mark;
    $r = curl('xf_plugin', '/services/plugin/hello/x', '-H', $NONE);
    ok t_cmp($r->{status}, 403, 'session without http/get_services: 403');
    $log->check('RBAC', expect => ['XAPIFWD0204']);
    # (the session in the cookie: the suite's logs record the query
    # string, and 70_route_table.t looks for fixture sessions in them)
    $r = curl('xf_plugin_tls', '/services/plugin/hello/x?name=t', '-H', $RO);
    ok t_cmp($r->{status}, 200, 'TLS, session: 200');
    # XapiForwardRequirePermission xapi: PUT needs http/put_services
    $log->mark;
    $r = curl('xf_plugin', '/services/plugin/hello/x', '-H', $RO, '-X', 'PUT',
              '--data-binary', 'abc');
    ok t_cmp($r->{status}, 403, 'PUT without http/put_services: 403');
    $log->check('RBAC PUT', expect => ['XAPIFWD0204']);
    $r = curl('xf_plugin', '/services/plugin/hello/x', '-X', 'PUT',
              '-H', 'Cookie: session_id=' . session_of('rbac-root'),
              '--data-binary', 'abc');
    ok t_cmp($r->{body}, qr/\nbody: 3 bytes\n/, 'PUT as pool admin: 200');
}

# ---- 404: valid session, service missing or not running ---------------------------
{
    $log->mark;
    my $r = curl('xf_plugin', '/services/plugin/nosuch/x', '-H', $RO);
    ok t_cmp($r->{status}, 404, 'no such service: 404');
    $log->check('missing', expect => ['XAPIFWD0402']);

    my $dead = XapiForward::Plugin->start('dead');
    $dead->stop;    # the socket file stays: connect() is refused
    ok t_cmp(-S $dead->path ? 1 : 0, 1, 'a socket nobody listens on');
    $log->mark;
    $r = curl('xf_plugin', '/services/plugin/dead/x', '-H', $RO);
    ok t_cmp($r->{status}, 404, 'not running (http way): 404');
    $log->check('refused, http', expect => ['XAPIFWD0405'],
                allow => [qr/AH0\d+/]);
    $log->mark;
    $r = curl('xf_plugin', '/xfp/chan/dead/x');
    ok t_cmp($r->{status}, 404, 'not running (channel way): 404');
    $log->check('refused, channel', expect => ['XAPIFWD0405', 'XAPIFWD0004']);
}

# ---- 302 to the host running the service ------------------------------------------
{
    $log->mark;
    my $t = '/xfp/open/far/a%20b/c?x=1&session_id=OpaqueRef:q&y=%2F';
    my $r = curl('xf_plugin', $t);
    ok t_cmp($r->{status}, 302, 'service on another host: 302');
    ok t_cmp($r->{h}{location}, "https://far.example:8443$t",
             'Location: that host + the original path and query');
    $log->check('302', expect => ['XAPIFWD0401']);
}

# ---- mod_proxy's workers: the default reverse one, or a declared one ----------
{
    my $pooled = XapiForward::Plugin->start('pooled');
    $log->mark;
    my $r = curl('xf_plugin', '/xfp/open/hello/w');
    ok t_cmp($r->{status}, 200, 'undeclared service: 200');
    my $l = $log->wait_for(qr/default reverse proxy worker for http:\/\/hello\.plugin/);
    ok t_cmp(defined $l ? 1 : 0, 1, 'undeclared service: default reverse worker');
    $log->mark;
    $r = curl('xf_plugin', '/xfp/open/pooled/w?name=p');
    ok t_cmp($r->{body}, qr/^hello p\n/, 'declared worker: 200');
    $l = $log->wait_for(qr/default reverse proxy worker for http:\/\/pooled/, 1);
    ok t_cmp(defined $l ? 1 : 0, 0, 'declared worker: used');
}

$x->stop;
