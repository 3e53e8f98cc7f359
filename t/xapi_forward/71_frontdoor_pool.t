# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Pool members through the shipped TLS vhost (conf.d/xapi-frontdoor-vhost.conf
# as t/TEST.PL rewrites it: test ports, a certificate for the default vhost
# and a DISTINCT one for the pool vhost, as xapi-ssl.pem and
# xapi-pool-tls.pem are on a host), in front of the fake XAPI's plain port
# (xapi's port 80; t/conf/routes.conf.in).
#   - the certificate served: no SNI and a host name get the default
#     vhost's, SNI "pool" the pool vhost's (stunnel's [pool] sni)
#   - a member's calls to its coordinator (ocaml/xapi/helpers.ml: SNI
#     "pool", POST /jsonrpc HTTP/1.0, no Host, Connection: keep-alive) all
#     reach xapi, several on one connection, and so do HTTP/1.1 requests
#     with an address or another name as Host (XapiForwardVHostBySNI On in
#     the pool vhost; mod_ssl alone answers 400 AH02031 / 421 AH02032)
#   - the default vhost keeps mod_ssl's checks: SNI "localhost" with no
#     Host (400) or with Host "pool" (421)
#   - HTTP/2 (when mod_http2 is loaded): the shipped pool vhost speaks
#     HTTP/1.1 only, as stunnel; t/conf/sni.conf.in's h2 copy of the pair
#     serves h2 streams whatever their :authority
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use File::Temp ();
use IO::Select ();
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(conf_port session_of);
use XapiForward::Raw qw(conn send_all parse_responses h2_skip port_of);

# the member's request shapes (also the parity cases for the reference
# stunnel): name, SNI, request line + headers (the JSON-RPC body follows)
my @SHAPES = (
    ['HTTP/1.0, no Host (helpers.ml)', 'pool',
     "POST /jsonrpc HTTP/1.0\r\nConnection: keep-alive\r\n"],
    ['HTTP/1.1, Host an address', 'pool',
     "POST /jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\n"],
    ['HTTP/1.1, Host an address and port', 'pool',
     "POST /jsonrpc HTTP/1.1\r\nHost: 192.0.2.10:443\r\n"],
    ['HTTP/1.1, Host another name', 'pool',
     "POST /jsonrpc HTTP/1.1\r\nHost: coordinator.example\r\n"],
    ['HTTP/1.1, Host the default vhost\'s name', 'pool',
     "POST /jsonrpc HTTP/1.1\r\nHost: localhost\r\n"],
    ['HTTP/1.1, Host pool', 'pool',
     "POST /jsonrpc HTTP/1.1\r\nHost: pool\r\n"],
    ['no SNI, HTTP/1.0, no Host (pool TLS verification off)', 0,
     "POST /jsonrpc HTTP/1.0\r\nConnection: keep-alive\r\n"],
);
my $KEEPALIVE_CALLS = 3;

plan tests => 4 + @SHAPES + 1 + 3 + 1 + 5 + 5 + 1 + 1,
  need_module('proxy', 'proxy_http', 'xapi_forward', 'socache_shmcb',
              'ssl');

$SIG{PIPE} = 'IGNORE';
my $log = XapiForward::ErrorLog->new;
my $ux = XapiForward::FakeXapi->start('unix', unix => 'xapi.sock',
                                      preauth => 1);
my $xapi = XapiForward::FakeXapi->start(
    'front', http => conf_port('xf_frontdoor_xapi_port', 'routes.conf'),
    answer_all => 1);
my $TLS_PORT = conf_port('xf_frontdoor_tls_port', 'routes.conf');
my $ROOT = session_of('front');
my $RPC = '{"jsonrpc":"2.0","method":"session.get_uuid","params":["'
  . $ROOT . '","' . $ROOT . '"],"id":1}';

# ---- helpers ---------------------------------------------------------------

# "sha256 hex" of a PEM certificate file, or of the one a server sent
sub file_fingerprint {
    my $file = shift;
    my $out = `openssl x509 -noout -fingerprint -sha256 -in '$file' 2>/dev/null`;
    $out =~ s/.*=//s;
    $out =~ s/[:\s]//g;
    return lc $out;
}

sub served_fingerprint {
    my($sni, $port) = @_;
    my $s = conn('xf_frontdoor', port => $port || $TLS_PORT, tls => 1,
                 sni => $sni);
    my $fp = $s->get_fingerprint('sha256') // '';
    close $s;
    $fp =~ s/^sha256\$//;
    $fp =~ s/[:\s]//g;
    return lc $fp;
}

# the certificate files of the shipped vhosts as t/TEST.PL wrote them:
# (default vhost's, pool vhost's)
sub vhost_cert_files {
    my $gen = Apache::Test::vars('t_conf') . '/xapi-frontdoor-vhost.conf.gen';
    open my $fh, '<', $gen or die "$gen: $!\n";
    my @files = map { /^\s*SSLCertificateFile\s+"?([^"\s]+)/ ? $1 : () } <$fh>;
    return @files;
}

# read until $n complete responses, EOF or 20 s of silence
sub read_responses {
    my($s, $n) = @_;
    my $sel = IO::Select->new($s);
    my $data = '';
    my($eof, @r) = (0);
    while (1) {
        @r = parse_responses($data, ('POST') x $n);
        last if @r >= $n && !grep { !$_->{complete} } @r[0 .. $n - 1];
        my $pending = $s->can('pending') ? $s->pending : 0;
        last unless $pending || $sel->can_read(20);
        my $got = sysread($s, $data, 1 << 20, length $data);
        unless ($got) { $eof = 1; last }
    }
    return (\@r, $eof);
}

# true when the server closed the connection within $t seconds
sub closed_by_server {
    my($s, $t) = @_;
    my $sel = IO::Select->new($s);
    return 0 unless ($s->can('pending') && $s->pending)
      || $sel->can_read($t);
    my $n = sysread($s, my $buf, 1);
    return !$n;
}

# $n JSON-RPC calls, one after the other on one TLS connection: the
# statuses, what xapi got, and whether the connection is still open
sub calls_on_one_connection {
    my($port, $sni, $head, $n) = @_;
    $xapi->reset;
    my $s = conn('xf_frontdoor', port => $port, tls => 1, sni => $sni);
    my @status;
    for (1 .. $n) {
        send_all($s, "${head}Content-Type: application/json\r\n"
                 . 'Content-Length: ' . length($RPC) . "\r\n\r\n$RPC")
          or do { push @status, 'write failed'; last };
        my($r) = read_responses($s, 1);
        my $resp = $r->[0];
        push @status, $resp && $resp->{complete} ? $resp->{status} : 'none';
        last unless $resp && $resp->{status} == 200;
    }
    my $open = closed_by_server($s, 0.3) ? 'closed' : 'open';
    close $s;
    return (join(' ', @status), join(',', $xapi->calls), $open);
}

# one request on its own TLS connection: "STATUS where" (xapi's port 80
# got it: "xapi", else "nowhere")
sub one_request {
    my($port, $sni, $bytes) = @_;
    my $before = () = $xapi->requests;
    $xapi->reset;
    my $s = conn('xf_frontdoor', port => $port, tls => 1, sni => $sni);
    send_all($s, $bytes);
    my($r) = read_responses($s, 1);
    close $s;
    my $after = () = $xapi->requests;
    my $reached = $after > $before || $xapi->calls ? 'xapi' : 'nowhere';
    return (($r->[0] ? $r->[0]{status} : 'none') . " $reached");
}

sub curl {
    my @args = @_;
    my $out = File::Temp->new;
    my $w = `curl -s -k --max-time 30 -o $out -w '%{http_code} %{http_version}' @args`;
    my($code, $ver) = split ' ', $w || '';
    return ($code || 0) . ' ' . ($ver || '');
}

# ---- the certificate served --------------------------------------------------
my($default_cert, $pool_cert) = vhost_cert_files();
my($fp_default, $fp_pool) = map { file_fingerprint($_) } $default_cert,
  $pool_cert;
ok t_cmp(($fp_default && $fp_pool && $fp_default ne $fp_pool)
         ? 'distinct' : "same or missing ($default_cert, $pool_cert)",
         'distinct', 'the two shipped vhosts have distinct certificates');
ok t_cmp(served_fingerprint(0), $fp_default,
         'no SNI (XenCenter): the default vhost\'s certificate');
ok t_cmp(served_fingerprint('localhost'), $fp_default,
         'SNI localhost: the default vhost\'s certificate');
ok t_cmp(served_fingerprint('pool'), $fp_pool,
         'SNI pool: the pool vhost\'s certificate');

# ---- a member's calls reach xapi --------------------------------------------
# TODO(lead): once t/daemon/fake_xapi80.py records each request's headers,
# and mod_proxy_http no longer invents a Host (engineer proxyline), assert
# that the Host-less shapes reach xapi WITHOUT a Host header, and that the
# others reach it with the client's Host unchanged.
for my $shape (@SHAPES) {
    my($name, $sni, $head) = @$shape;
    my($status, $calls) = calls_on_one_connection($TLS_PORT, $sni, $head, 1);
    ok t_cmp("$status $calls", '200 session.get_uuid',
             "SNI " . ($sni || 'none') . ", $name: reaches xapi");
}
{
    my($status, $calls, $open) =
      calls_on_one_connection($TLS_PORT, 'pool', $SHAPES[0][2],
                              $KEEPALIVE_CALLS);
    ok t_cmp("$status; $calls; $open",
             join(' ', ('200') x $KEEPALIVE_CALLS) . '; '
             . join(',', ('session.get_uuid') x $KEEPALIVE_CALLS) . '; open',
             "SNI pool, HTTP/1.0 without Host: $KEEPALIVE_CALLS keep-alive "
             . 'calls on one connection, each reaches xapi');
}
# other routes of the pool vhost: the website and a forwarded path
ok t_cmp(one_request($TLS_PORT, 'pool',
                     "GET /export?uuid=m HTTP/1.0\r\n\r\n"),
         '200 xapi', 'SNI pool, GET /export HTTP/1.0 without Host: to xapi');
ok t_cmp(one_request($TLS_PORT, 'pool',
                     "GET /host_rrd HTTP/1.0\r\n\r\n"),
         '401 nowhere', 'SNI pool, GET /host_rrd without Host nor '
         . 'credentials: the pool vhost\'s route (401 from httpd)');
ok t_cmp(one_request($TLS_PORT, 'pool',
                     "GET /host_rrd HTTP/1.1\r\nHost: 10.0.0.1\r\n"
                     . "Connection: close\r\n\r\n"),
         '401 nowhere', 'SNI pool, GET /host_rrd with an address as Host: '
         . 'the pool vhost\'s route');
# TODO(lead): AH01092 (mod_proxy_http writing a Host of its own for a
# request without one) goes away with engineer proxyline's change
$log->check('pool members',
            expect => { XAPIFWD0850 => 'debug', XAPIFWD0200 => 'info' },
            allow => [qr/AH01092/]);

# ---- other vhosts keep mod_ssl's checks -------------------------------------
ok t_cmp(one_request($TLS_PORT, 'localhost',
                     "POST /jsonrpc HTTP/1.0\r\nContent-Length: 0\r\n\r\n"),
         '400 nowhere', 'SNI localhost, no Host: 400 (mod_ssl, unchanged)');
$log->check('SNI localhost, no Host', expect => { AH02031 => 'error' });
ok t_cmp(one_request($TLS_PORT, 'localhost',
                     "POST /jsonrpc HTTP/1.1\r\nHost: pool\r\n"
                     . "Content-Length: 0\r\nConnection: close\r\n\r\n"),
         '421 nowhere', 'SNI localhost, Host pool: 421 (mod_ssl, unchanged)');
$log->check('SNI localhost, Host pool', expect => { AH02032 => 'error' });
my($st) = calls_on_one_connection($TLS_PORT, 'localhost',
                                  "POST /jsonrpc HTTP/1.1\r\n"
                                  . "Host: 127.0.0.1\r\n", 1);
ok t_cmp($st, '200', 'SNI localhost, Host an address: 200 (the default '
         . 'vhost, as before)');

# ---- HTTP/2 -------------------------------------------------------------------
my $h2_skip = h2_skip();
my $H2_PORT = eval { port_of('xf_sni_h2') };
$h2_skip ||= 'no h2 vhost pair (t/conf/sni.conf.in)' unless $H2_PORT;
if (!$h2_skip) {
    ok t_cmp(curl('--http2', '--resolve', "pool:$TLS_PORT:127.0.0.1",
                  '-H', "'Host: 127.0.0.1'", "https://pool:$TLS_PORT/h2a"),
             '200 1.1', 'shipped pool vhost, h2 offered: HTTP/1.1, as '
             . 'stunnel; Host an address served');
    ok t_cmp(curl('--http2', '--resolve', "pool:$H2_PORT:127.0.0.1",
                  '-H', "'Host: 127.0.0.1'", "https://pool:$H2_PORT/h2b"),
             '200 2', 'h2 pool vhost: a stream with an address as '
             . ':authority served');
    ok t_cmp(curl('--http2', '--resolve', "pool:$H2_PORT:127.0.0.1",
                  "https://pool:$H2_PORT/h2c"),
             '200 2', 'h2 pool vhost: a stream with :authority pool served');
    ok t_cmp(curl('--http2', '--resolve', "localhost:$H2_PORT:127.0.0.1",
                  '-H', "'Host: pool'", "https://localhost:$H2_PORT/h2d"),
             '421 2', 'h2 default vhost, SNI localhost, :authority pool: '
             . '421 (mod_ssl, unchanged)');
    $log->check('HTTP/2', expect => { XAPIFWD0850 => 'debug',
                                      AH02032 => 'error' });
}
else {
    skip($h2_skip, 0) for 1 .. 5;
}

# ---- the reference stunnel ----------------------------------------------------
# TODO(lead): when t/lib/XapiForward/Stunnel.pm is on main, start it as
# xapi configures stunnel (connect = the fake's port) and run @SHAPES and
# the keep-alive calls through calls_on_one_connection($stunnel_port, ...)
# side by side with httpd: the same "200 session.get_uuid" for each.
if (eval { require XapiForward::Stunnel; 1 }) {
    skip('XapiForward::Stunnel present: parity cases not wired yet (TODO)',
         0);
}
else {
    skip('XapiForward::Stunnel not in this tree yet', 0);
}

ok t_cmp(join("\n", $ux->errors, $xapi->errors), '',
         'no complaint from the fake XAPI');
