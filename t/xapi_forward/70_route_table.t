# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# The shipped route table: conf.d/xapi-frontdoor.conf (and its TLS vhost,
# conf.d/xapi-frontdoor-vhost.conf), loaded as shipped with only the socket
# paths, xapi's port 80, the certificate and the pool secret rewritten by
# t/TEST.PL.  Every route xapi hands to a daemon reaches that daemon (with
# the permission xapi would check); every other route reaches xapi itself
# (the fake XAPI's plain HTTP port, with --answer-all), without a check
# by httpd.  The TLS vhost serves clients that send no SNI (XenCenter) and
# speak TLS 1.2 only.  t/conf/routes.conf.in.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(conf_port session_of check_secrets);
use XapiForward::Plugin ();
use XapiForward::Raw qw(conn_exchange parse_responses);

# method, target, the daemon that must get it (rrdd, xenopsd) or 'xapi'
my @ROUTES = (
    ['GET', '/rrd_updates?start=1&cf=AVERAGE&host=true&json=true', 'rrdd'],
    ['GET', '/vm_rrd?uuid=x', 'rrdd'],
    ['GET', '/vm_rrds?uuid=x', 'rrdd'],
    ['GET', '/host_rrd', 'rrdd'],
    ['GET', '/host_rrds?json=true', 'rrdd'],
    ['GET', '/sr_rrd?uuid=x', 'rrdd'],
    ['PUT', '/rrd?is_host=true&uuid=x', 'rrdd'],
    ['GET', '/services/xenops/memory/1', 'xenopsd'],
    ['PUT', '/services/xenops/migrate/vm/1', 'xenopsd'],
    ['GET', '/', 'xapi'],
    ['GET', '/export?uuid=x', 'xapi'],
    ['GET', '/export_raw_vdi?vdi=x&format=raw', 'xapi'],
    ['PUT', '/import?sr_id=x', 'xapi'],
    ['GET', '/console?ref=x', 'xapi'],
    ['GET', '/rrd_updatesx', 'xapi'],
    ['POST', '/json', 'xapi'],
    ['GET', '/services/plugin/hello/x', 'plugin'],
);
my @FRONTS = ('plain', 'tls');

plan tests => @FRONTS * (2 * @ROUTES + 10) + 1 + 2 + 2,
  need_module('proxy', 'proxy_http', 'xapi_forward', 'socache_shmcb',
              'ssl');

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd xenopsd));
my $ux = XapiForward::FakeXapi->start('unix', unix => 'xapi.sock',
                                      preauth => 1);
my $xapi = XapiForward::FakeXapi->start(
    'front', http => conf_port('xf_frontdoor_xapi_port', 'routes.conf'),
    answer_all => 1);
my $TLS_PORT = conf_port('xf_frontdoor_tls_port', 'routes.conf');
my $ROOT = session_of('front');
# the custom service of /services/plugin/hello (the receiver kit's example)
my $hello = XapiForward::Plugin->start('hello');

# one request on a new connection to the plain vhost or, without SNI and
# with TLS 1.2 only, to the shipped TLS vhost
sub send_req {
    my($front, $method, $target, @h) = @_;
    my $host = $front eq 'tls' ? "localhost:$TLS_PORT" : 'localhost';
    push @h, 'Content-Length: 0' if $method eq 'PUT' || $method eq 'POST';
    my $bytes = "$method $target HTTP/1.1\r\nHost: $host\r\n"
      . join('', map { "$_\r\n" } @h) . "Connection: close\r\n\r\n";
    my $r = $front eq 'tls'
      ? conn_exchange('xf_frontdoor', $bytes, port => $TLS_PORT, tls => 1,
                      sni => 0, ssl_version => 'TLSv1_2', timeout => 20)
      : conn_exchange('xf_frontdoor', $bytes, timeout => 20);
    my($resp) = parse_responses($r->{data}, $method);
    $resp ||= { status => 0, h => {}, body => '' };
    $resp->{tls} = $r->{tls};
    return $resp;
}

# where a request went: "rrdd", "xenopsd", "xapi" or "nowhere"
sub where {
    my($before, $reqs_before) = @_;
    my @where;
    for my $n ('rrdd', 'xenopsd') {
        push @where, $n if $d->wait_count($n, $before->{$n} + 1, 0.3)
                           > $before->{$n};
    }
    push @where, 'xapi' if nreq() > $reqs_before;
    return join('+', @where) || 'nowhere';
}

sub nreq { my @r = $xapi->requests; return scalar @r }

sub counts { return { map { ($_ => $d->count($_)) } qw(rrdd xenopsd) } }

for my $front (@FRONTS) {
    for my $r (@ROUTES) {
        my($method, $target, $want) = @$r;
        my $name = "$front: $method $target";
        my($before, $rb) = (counts(), nreq());
        # (the session in the cookie: the suite's access logs record the
        # query string)
        my $resp = send_req($front, $method, $target,
                            "Cookie: session_id=$ROOT");
        my $got = where($before, $rb);
        my $body = $want eq 'xapi' ? qr/^fake_xapi http \Q$method\E /
          : $want eq 'plugin' ? qr/^hello world\nway: http\n/    # the kit's hello
          : qr/^hello from \Q$want\E/;
        # a custom service: neither a daemon nor xapi gets it
        my $where = $want eq 'plugin' ? 'nowhere' : $want;
        ok t_cmp("$resp->{status} $got "
                 . ($resp->{body} =~ $body ? 'answered' : "body $resp->{body}"),
                 "200 $where answered", "$name: reaches $want");
        $log->check($name);
        if ($front eq 'tls' && $r == $ROUTES[0]) {
            ok t_cmp($resp->{tls}, 'TLSv1_2', 'TLS vhost: TLS 1.2, no SNI');
        }
    }
    # what xcp-rrdd got for the last of them: xapi's envelope, the
    # session checked by httpd and not passed on
    my $env = $d->envelope('rrdd') // '';
    ok t_cmp(($env =~ m{^\{"m":"Put","uri":"/rrd","path":"/rrd","query":\{"is_host":"true","uuid":"x"\}}
              ? 'PUT /rrd' : $env)
             . (index($env, $ROOT) < 0 ? ', no session' : ', session!'),
             'PUT /rrd, no session', "$front: xcp-rrdd's envelope for PUT /rrd");

    # the forwarded routes check credentials and xapi's permission; the
    # rest is xapi's business (no check by httpd)
    my($before, $rb) = (counts(), nreq());
    my $resp = send_req($front, 'GET', '/rrd_updates?start=1');
    ok t_cmp("$resp->{status} " . where($before, $rb), '401 nowhere',
             "$front: /rrd_updates without credentials: 401");
    $log->check("$front: 401", expect => { XAPIFWD0200 => 'info' });

    ($before, $rb) = (counts(), nreq());
    $resp = send_req($front, 'PUT', '/rrd?is_host=true',
                     'Cookie: session_id=' . session_of('frontro'));
    ok t_cmp("$resp->{status} " . where($before, $rb), '403 nowhere',
             "$front: PUT /rrd by a read-only session: 403 (http/rrd)");
    $log->check("$front: 403", expect => { XAPIFWD0204 => 'error' });

    ($before, $rb) = (counts(), nreq());
    $resp = send_req($front, 'GET', '/export?uuid=y');
    ok t_cmp("$resp->{status} " . where($before, $rb), '200 xapi',
             "$front: /export without credentials: up to xapi");
    $log->check("$front: export");

    # JSON-RPC through the front door, to xapi
    ($before, $rb) = (counts(), nreq());
    $xapi->reset;
    my $rpc = '{"jsonrpc":"2.0","method":"session.get_uuid","params":["'
      . $ROOT . '","' . $ROOT . '"],"id":7}';
    my $host = $front eq 'tls' ? "localhost:$TLS_PORT" : 'localhost';
    my $bytes = "POST /jsonrpc HTTP/1.1\r\nHost: $host\r\n"
      . "Content-Type: application/json\r\nContent-Length: "
      . length($rpc) . "\r\nConnection: close\r\n\r\n$rpc";
    my $x = $front eq 'tls'
      ? conn_exchange('xf_frontdoor', $bytes, port => $TLS_PORT, tls => 1,
                      sni => 0, timeout => 20)
      : conn_exchange('xf_frontdoor', $bytes, timeout => 20);
    ($resp) = parse_responses($x->{data}, 'POST');
    ok t_cmp(($resp ? $resp->{status} : 0) . ' ' . join(',', $xapi->calls),
             '200 session.get_uuid', "$front: POST /jsonrpc reaches xapi");
    ok t_cmp($resp ? $resp->{body} : '', qr/"result":"[0-9a-f-]{36}"/,
             "$front: JSON-RPC answer relayed");
    $log->check("$front: jsonrpc");
}

# a pool member asks for the pool certificate by name ("pool")
{
    my($before, $rb) = (counts(), nreq());
    my $x = conn_exchange('xf_frontdoor',
                          "GET /host_rrd HTTP/1.1\r\nHost: pool\r\n"
                          . "Cookie: session_id=$ROOT\r\n"
                          . "Connection: close\r\n\r\n",
                          port => $TLS_PORT, tls => 1, sni => 'pool',
                          timeout => 20);
    my($resp) = parse_responses($x->{data});
    ok t_cmp(($resp ? $resp->{status} : 0) . ' ' . where($before, $rb),
             '200 rrdd', 'TLS vhost for SNI "pool": served');
    $log->check('SNI pool');
}

ok t_cmp(join("\n", $ux->errors, $xapi->errors, $d->errors), '',
         'no complaint from the fake XAPI or the daemons');
check_secrets('70_route_table');
