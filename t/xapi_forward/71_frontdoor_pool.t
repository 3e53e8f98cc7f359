# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Pool members through the shipped TLS vhost (conf.d/xapi-frontdoor-vhost.conf
# as t/TEST.PL rewrites it: test ports, XapiForward::TestCA's distinct
# xapi-ssl and pool certificates), in front of a port 80 that records what
# xapi would see (t/daemon/fake_xapi80.py on the catch-all's port,
# t/conf/routes.conf.in), side by side with the reference front door:
# Debian's stunnel4 configured as xapi configures it (XapiForward::Stunnel).
#   - the certificate served: no SNI and a host name get xapi-ssl.pem,
#     SNI "pool" the pool certificate (stunnel's [pool] sni), both fronts
#   - a member's calls to its coordinator (ocaml/xapi/helpers.ml: SNI
#     "pool", POST /jsonrpc HTTP/1.0, no Host, Connection: keep-alive) all
#     reach xapi, several on one connection, and so do HTTP/1.1 requests
#     with an address or another name as Host (XapiForwardVHostBySNI On in
#     the pool vhost; mod_ssl alone answers 400 AH02031 / 421 AH02032);
#     the Host xapi gets is the client's
#   - the same call through the member's own stunnel client, configured
#     as xapi configures it (ocaml/libs/stunnel/stunnel.ml config_file):
#     with pool TLS verification on (sni = pool) it is served; with it off
#     the client has no sni line and stunnel sends the coordinator's
#     address as SNI: served by the shipped default vhost (it has
#     XapiForwardVHostBySNI On too) as by the reference stunnel
#   - the shipped default vhost serves SNI "localhost" with no Host or
#     with Host "pool"; xe's CLI (ocaml/xe-cli/newcli.ml: POST /cli
#     HTTP/1.0, no Host, over a stunnel client that sends the server's
#     name as SNI) is served, as by stunnel
#   - other vhosts keep mod_ssl's checks (t/conf/sni.conf.in's pair
#     without the directive): no Host 400, Host "pool" 421
#   - HTTP/2 (when mod_http2 is loaded): the shipped pool vhost speaks
#     HTTP/1.1 only, as stunnel; t/conf/sni.conf.in's h2 copy of the pair
#     (the directive in both vhosts) serves h2 streams whatever their
#     :authority
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use File::Path ();
use File::Temp ();
use IO::Socket::INET ();
use IO::Select ();
use JSON::PP ();
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(conf_port);
use XapiForward::Raw qw(conn send_all read_response h2_skip port_of);
use XapiForward::Proc ();
use XapiForward::Stunnel;
use XapiForward::Xapi80;

# a member's request shapes, run through httpd and through stunnel: name,
# SNI (0: none), the request head without its body's headers, the Host
# xapi must get (undef: none)
my @SHAPES = (
    ['HTTP/1.0, no Host (helpers.ml)', 'pool',
     "POST /jsonrpc HTTP/1.0\r\nConnection: keep-alive\r\n", undef],
    ['HTTP/1.1, Host an address', 'pool',
     "POST /jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\n", '127.0.0.1'],
    ['HTTP/1.1, Host an address and port', 'pool',
     "POST /jsonrpc HTTP/1.1\r\nHost: 192.0.2.10:443\r\n", '192.0.2.10:443'],
    ['HTTP/1.1, Host another name', 'pool',
     "POST /jsonrpc HTTP/1.1\r\nHost: coordinator.example\r\n",
     'coordinator.example'],
    ['HTTP/1.1, Host the default vhost\'s name', 'pool',
     "POST /jsonrpc HTTP/1.1\r\nHost: localhost\r\n", 'localhost'],
    ['HTTP/1.1, Host pool', 'pool',
     "POST /jsonrpc HTTP/1.1\r\nHost: pool\r\n", 'pool'],
    ['HTTP/1.0, no Host', 0,
     "POST /jsonrpc HTTP/1.0\r\nConnection: keep-alive\r\n", undef],
);
my $KEEPALIVE_CALLS = 3;
my @FRONTS = ('httpd', 'stunnel');
my $why_no_stunnel = XapiForward::Stunnel->available;

my $TESTS = 1 + @FRONTS * (3 + @SHAPES + 1) + 3 + 1 + 7 + 2 + 1 + 6 + 4 + 1
  + 1 + 1;
plan tests => $TESTS,
  need_module('proxy', 'proxy_http', 'xapi_forward', 'socache_shmcb',
              'ssl');

$SIG{PIPE} = 'IGNORE';
my $json = JSON::PP->new;
my $log = XapiForward::ErrorLog->new;
my $x80 = XapiForward::Xapi80->start(
    'x80', http => conf_port('xf_frontdoor_xapi_port', 'routes.conf'));
my $st = $why_no_stunnel ? undef
  : XapiForward::Stunnel->start('ref', xapi_port => $x80->port);
my %PORT = (httpd => conf_port('xf_frontdoor_tls_port', 'routes.conf'),
            stunnel => $st ? $st->port : 0);
my $RPC = '{"jsonrpc":"2.0","method":"pool.get_all","params":["s"],"id":1}';
# xe -s coordinator.example (newcli.ml), the name as SNI
my $XE = "POST /cli HTTP/1.0\r\nUser-agent: xe-cli/Unix/25.0\r\n"
  . "originator: cli\r\ncontent-length: 9\r\n\r\nvm-list\n\n";

# ---- helpers ---------------------------------------------------------------

# lower-case sha256 hex of the certificate in a PEM file, or of the one a
# server sent for $sni
sub file_fingerprint {
    my $file = shift;
    my $out = `openssl x509 -noout -fingerprint -sha256 -in '$file' 2>/dev/null`;
    $out =~ s/.*=//s;
    $out =~ s/[:\s]//g;
    return lc $out;
}

sub served_fingerprint {
    my($port, $sni) = @_;
    my $s = conn('front', port => $port, tls => 1, sni => $sni);
    my $fp = $s->get_fingerprint('sha256') // '';
    close $s;
    $fp =~ s/^sha256\$//;
    $fp =~ s/[:\s]//g;
    return lc $fp;
}

# the certificate files of the shipped vhosts as t/TEST.PL wrote their
# settings (XF_CERT, XF_POOL_CERT): (default vhost's, pool vhost's)
sub vhost_cert_files {
    my $gen = Apache::Test::vars('t_conf')
      . '/xapi-frontdoor-settings.conf.gen';
    open my $fh, '<', $gen or die "$gen: $!\n";
    my %def = map { /^\s*Define\s+(XF_\w+)\s+"?([^"\s]+)/ ? ($1 => $2) : () }
      <$fh>;
    return ($def{XF_CERT}, $def{XF_POOL_CERT});
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

# $n JSON-RPC posts one after the other on one TLS connection to $port:
# (statuses, the records xapi made of them (fake_xapi80.py answers each
# with its record), "open"/"closed" afterwards)
sub calls_on_one_connection {
    my($port, $sni, $head, $n) = @_;
    my $s = conn('front', port => $port, tls => 1, sni => $sni);
    my(@status, @rec);
    for (1 .. $n) {
        send_all($s, "${head}Content-Type: application/json\r\n"
                 . 'Content-Length: ' . length($RPC) . "\r\n\r\n$RPC")
          or do { push @status, 'write failed'; last };
        my $r = read_response($s, 'POST', 20);
        push @status, $r->{status} || 'none';
        push @rec, eval { $json->decode($r->{body}) } || {};
        last unless $r->{status} == 200;
    }
    my $open = closed_by_server($s, 0.3) ? 'closed' : 'open';
    close $s;
    return (join(' ', @status), \@rec, $open);
}

# one request on its own TLS connection to httpd (or to $port): "STATUS
# where" ("xapi" when port 80 got it, else "nowhere")
sub one_request {
    my($sni, $bytes, $method, $port) = @_;
    $x80->reset;
    my $s = conn('front', port => $port || $PORT{httpd}, tls => 1,
                 sni => $sni);
    send_all($s, $bytes);
    my $r = read_response($s, $method || 'GET', 20);
    close $s;
    my $reached = $x80->requests ? 'xapi' : 'nowhere';
    return ($r->{status} || 'none') . " $reached";
}

sub curl {
    my @args = @_;
    my $out = File::Temp->new;
    my $w = `curl -s -k --max-time 30 -o $out -w '%{http_code} %{http_version}' @args`;
    my($code, $ver) = split ' ', $w || '';
    return ($code || 0) . ' ' . ($ver || '');
}

# The member's own stunnel client, as xapi writes it for a call to its
# coordinator (ocaml/libs/stunnel/stunnel.ml config_file): client mode,
# xapi's TLS policy, "sni = pool" with pool TLS verification on, no sni
# line with it off (stunnel then sends the connect host as SNI).  Not
# here: verifyPeer/CAfile (the pool bundle), which do not change what
# the server sees.  Returns its accept port.
my @MEMBER_CLIENTS;
sub member_client {
    my($name, $port, $sni) = @_;
    my $dir = Apache::Test::vars('t_logs') . "/stunnel/71_frontdoor_pool/$name";
    File::Path::rmtree($dir);
    File::Path::mkpath($dir);
    my $accept = XapiForward::Stunnel::free_port();
    my $conf = "$dir/client.conf";
    open my $fh, '>', $conf or die "$conf: $!\n";
    print $fh join("\n", 'client=yes', 'foreground=quiet', "pid = $dir/pid",
                   "output = $dir/stunnel.log", 'syslog = no',
                   'socket = r:TCP_NODELAY=1', 'socket = r:SO_KEEPALIVE=1',
                   'socket = a:SO_KEEPALIVE=1', 'fips=no', 'debug=authpriv.5',
                   '[client-proxy]', "accept=127.0.0.1:$accept",
                   "connect=127.0.0.1:$port", 'sslVersion = TLSv1.2',
                   'ciphers = ECDHE-RSA-AES256-GCM-SHA384:'
                   . 'ECDHE-RSA-AES128-GCM-SHA256',
                   'curve = secp384r1', ($sni ? "sni = $sni" : ()), ''), "\n";
    close $fh or die "$conf: $!\n";
    my $pid = XapiForward::Proc::spawn("$dir/stunnel.out", undef,
                                       $XapiForward::Stunnel::STUNNEL, $conf);
    my $self = bless { pid => $pid, dir => $dir, owner => $$ },
      'XapiForward::Proc';
    XapiForward::Proc::stop_at_exit($self);
    $self->wait_up("stunnel4 client ($name)", sub {
        (XapiForward::Stunnel::slurp("$dir/stunnel.log") // '')
          =~ /Configuration successful/
          && IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                   PeerPort => $accept, Proto => 'tcp');
    }, sub { XapiForward::Stunnel::slurp("$dir/stunnel.log") });
    push @MEMBER_CLIENTS, $self;
    return $accept;
}

# helpers.ml's call through a member client's plain port: "STATUS where"
sub through_member_client {
    my $port = shift;
    $x80->reset;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 10)
      or return "connect: $!";
    send_all($s, "POST /jsonrpc HTTP/1.0\r\nConnection: keep-alive\r\n"
             . "Content-Type: application/json\r\n"
             . 'Content-Length: ' . length($RPC) . "\r\n\r\n$RPC");
    my $r = read_response($s, 'POST', 20);
    close $s;
    return ($r->{status} || 'none') . ' '
      . (grep({ ($_->{target} // '') eq '/jsonrpc' } $x80->requests)
         ? 'xapi' : 'nowhere');
}

sub host_of_record {
    my $rec = shift;
    return $x80->header($rec, 'Host') // 'none';
}

# ---- the certificate served --------------------------------------------------
my($default_cert, $pool_cert) = vhost_cert_files();
my %FP = (default => file_fingerprint($default_cert),
          pool => file_fingerprint($pool_cert));
ok t_cmp(($FP{default} && $FP{pool} && $FP{default} ne $FP{pool})
         ? 'distinct' : "same or missing ($default_cert, $pool_cert)",
         'distinct', 'the shipped vhosts have distinct certificates');
for my $front (@FRONTS) {
    if (!$PORT{$front}) {
        skip("stunnel: $why_no_stunnel") for 1 .. 3;
        next;
    }
    ok t_cmp(served_fingerprint($PORT{$front}, 0), $FP{default},
             "$front, no SNI (XenCenter): xapi-ssl.pem");
    ok t_cmp(served_fingerprint($PORT{$front}, 'localhost'), $FP{default},
             "$front, SNI localhost: xapi-ssl.pem");
    ok t_cmp(served_fingerprint($PORT{$front}, 'pool'), $FP{pool},
             "$front, SNI pool: the pool certificate");
}

# ---- a member's calls reach xapi, with the client's Host ------------------------
my @hostless;   # httpd: the Host xapi got for requests without one
for my $front (@FRONTS) {
    for my $shape (@SHAPES) {
        my($name, $sni, $head, $host) = @$shape;
        my $test = "$front, SNI " . ($sni || 'none') . ", $name";
        if (!$PORT{$front}) {
            skip("stunnel: $why_no_stunnel");
            next;
        }
        my($status, $recs) =
          calls_on_one_connection($PORT{$front}, $sni, $head, 1);
        my $rec = $recs->[0] || {};
        my $got = "$status " . ($rec->{method} // '-') . ' '
          . ($rec->{target} // '-');
        # what xapi gets as Host: the client's; httpd's Host-less requests
        # are checked by the TODO test at the end
        if ($front eq 'httpd' && !defined $host) {
            push @hostless, "$name: " . host_of_record($rec);
        }
        else {
            $got .= ' Host ' . host_of_record($rec);
        }
        ok t_cmp($got, '200 POST /jsonrpc'
                 . (($front eq 'httpd' && !defined $host) ? ''
                    : ' Host ' . ($host // 'none')),
                 "$test: reaches xapi");
    }
    if (!$PORT{$front}) {
        skip("stunnel: $why_no_stunnel");
        next;
    }
    my($status, $recs, $open) =
      calls_on_one_connection($PORT{$front}, 'pool', $SHAPES[0][2],
                              $KEEPALIVE_CALLS);
    ok t_cmp("$status; " . join(',', map { $_->{target} // '-' } @$recs)
             . "; $open",
             join(' ', ('200') x $KEEPALIVE_CALLS) . '; '
             . join(',', ('/jsonrpc') x $KEEPALIVE_CALLS) . '; open',
             "$front, SNI pool, HTTP/1.0 without Host: $KEEPALIVE_CALLS "
             . 'keep-alive calls on one connection, each reaches xapi');
}

# other routes of the pool vhost: to xapi, or httpd's own check
ok t_cmp(one_request('pool', "GET /export?uuid=m HTTP/1.0\r\n\r\n"),
         '200 xapi', 'httpd, SNI pool, GET /export HTTP/1.0 without Host: '
         . 'to xapi');
ok t_cmp(one_request('pool', "GET /host_rrd HTTP/1.0\r\n\r\n"),
         '401 nowhere', 'httpd, SNI pool, GET /host_rrd without Host nor '
         . 'credentials: the pool vhost\'s route (401 from httpd)');
ok t_cmp(one_request('pool', "GET /host_rrd HTTP/1.1\r\nHost: 10.0.0.1\r\n"
                     . "Connection: close\r\n\r\n"),
         '401 nowhere', 'httpd, SNI pool, GET /host_rrd with an address as '
         . 'Host: the pool vhost\'s route');
$log->check('pool members',
            expect => { XAPIFWD0850 => 'debug', XAPIFWD0200 => 'info' });

# ---- the shipped default vhost: what its SNI chose serves -------------------
ok t_cmp(one_request('localhost', "POST /jsonrpc HTTP/1.0\r\n"
                     . "Content-Length: 0\r\n\r\n", 'POST'),
         '200 xapi', 'shipped default vhost, SNI localhost, no Host: served');
ok t_cmp(one_request('localhost', "POST /jsonrpc HTTP/1.1\r\nHost: pool\r\n"
                     . "Content-Length: 0\r\nConnection: close\r\n\r\n",
                     'POST'),
         '200 xapi', 'shipped default vhost, SNI localhost, Host pool: '
         . 'served by the vhost the SNI chose');
# xe's CLI: a name no vhost has as SNI, HTTP/1.0 without Host
ok t_cmp(one_request('coordinator.example', $XE, 'POST'), '200 xapi',
         'xe -s NAME (SNI coordinator.example, no Host): served by the '
         . 'shipped default vhost');
$log->check('the shipped default vhost', expect => { XAPIFWD0850 => 'debug' });

# ---- other vhosts keep mod_ssl's checks -------------------------------------
my $PLAIN = port_of('xf_sni_plain');
ok t_cmp(one_request('localhost', "POST /jsonrpc HTTP/1.0\r\n"
                     . "Content-Length: 0\r\n\r\n", 'POST', $PLAIN),
         '400 nowhere', 'a vhost without the directive, SNI localhost, no '
         . 'Host: 400 (mod_ssl, unchanged)');
$log->check('SNI localhost, no Host', expect => { AH02031 => 'error' });
ok t_cmp(one_request('localhost', "POST /jsonrpc HTTP/1.1\r\nHost: pool\r\n"
                     . "Content-Length: 0\r\nConnection: close\r\n\r\n",
                     'POST', $PLAIN),
         '421 nowhere', 'a vhost without the directive, SNI localhost, Host '
         . 'pool: 421 (mod_ssl, unchanged)');
$log->check('SNI localhost, Host pool', expect => { AH02032 => 'error' });
ok t_cmp(one_request('localhost', "POST /jsonrpc HTTP/1.1\r\n"
                     . "Host: 127.0.0.1\r\nContent-Length: 0\r\n"
                     . "Connection: close\r\n\r\n", 'POST', $PLAIN),
         '200 xapi', 'a vhost without the directive, SNI localhost, Host an '
         . 'address: 200 (the default vhost, as before)');
if ($st) {
    ok t_cmp(one_request('coordinator.example', $XE, 'POST', $PORT{stunnel}),
             '200 xapi', 'stunnel: xe -s NAME reaches xapi');
}
else {
    skip("stunnel: $why_no_stunnel");
}

# ---- HTTP/2 -------------------------------------------------------------------
my $h2_skip = h2_skip();
my $H2_PORT = eval { port_of('xf_sni_h2') };
$h2_skip ||= 'no h2 vhost pair (t/conf/sni.conf.in)' unless $H2_PORT;
if (!$h2_skip) {
    ok t_cmp(curl('--http2', '--resolve', "pool:$PORT{httpd}:127.0.0.1",
                  '-H', "'Host: 127.0.0.1'",
                  "https://pool:$PORT{httpd}/h2a"),
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
             '200 2', 'h2 default vhost with the directive, SNI localhost, '
             . ':authority pool: served by the default vhost (no 421)');
    ok t_cmp(one_request('coordinator.example', $XE, 'POST', $H2_PORT),
             '200 xapi', 'default vhost with the directive: xe -s NAME (an '
             . 'SNI no vhost has, no Host) reaches xapi');
    $log->check('HTTP/2, a default vhost with the directive',
                expect => { XAPIFWD0850 => 'debug' });
}
else {
    skip($h2_skip, 0) for 1 .. 6;
}

# ---- through the member's own stunnel client ----------------------------------
my %member_off;
for my $front (@FRONTS) {
    if (!$PORT{$front}) {
        skip("stunnel: $why_no_stunnel") for 1 .. 2;
        next;
    }
    my $on = member_client("member-on-$front", $PORT{$front}, 'pool');
    ok t_cmp(through_member_client($on), '200 xapi',
             "$front: a member with pool TLS verification on (its stunnel "
             . 'client sends SNI pool) reaches xapi');
    my $off = member_client("member-off-$front", $PORT{$front}, undef);
    $member_off{$front} = through_member_client($off);
    ok t_cmp($member_off{$front}, '200 xapi',
             "$front: a member with pool TLS verification off (its stunnel "
             . 'client sends the address as SNI) reaches xapi');
}
$log->check('member clients', expect => { XAPIFWD0850 => 'debug' });

ok t_cmp(join("\n", $x80->xapi_log), '', 'port 80: nothing xapi would log');

ok t_cmp(join('; ', @hostless),
         join('; ', map { "$_->[0]: none" } grep { !defined $_->[3] }
                  @SHAPES),
         'httpd: the requests without Host reach xapi without Host, as '
         . 'through stunnel');
