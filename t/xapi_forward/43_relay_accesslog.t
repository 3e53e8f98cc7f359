# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Access log truth (issue 4, item 6), read from the dedicated log of
# t/conf/relay.conf.in: "%p %m %U%q %>s %B fwd=%{XAPI_FORWARD}e
# reply=%{XAPI_FORWARD_REPLY}e".
#   - relay: %>s and %B are the daemon's status and body bytes, whatever
#     its framing (length, chunked, until close), plaintext and TLS; HEAD
#     logs no bytes; a 502 of httpd is logged as such
#   - hand-off: "handoff"; %>s is 200, or a status the daemon wrote on its
#     control socket (xenopsd's 404), also in XAPI_FORWARD_REPLY; %B is 0
#     (mod_log_config prints 0 for %B, "-" only for %b)
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use IO::Select ();
use IO::Socket::SSL ();
use Time::HiRes qw(time sleep);
use XapiForward::AccessLog qw(log_line mark);
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::Raw qw(port_of host_of raw_connect exchange parse_responses);

plan tests => 29, need_module('proxy', 'xapi_forward', 'ssl');

$SIG{PIPE} = 'IGNORE';

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));

my $ACCESS_POS = mark('xf_relay_access_log');

# "STATUS BYTES fwd=... reply=..." of the request, logged after this test
# started; '' when there is none after 5 s
sub logged {
    my($method, $target) = @_;
    my $l = log_line('xf_relay_access_log', $ACCESS_POS, $method, $target)
      // return '';
    return $l =~ /^\d+ \Q$method $target\E (.*)$/ ? $1 : '';
}

sub tls_get {
    my $target = shift;
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
                                 PeerPort => port_of('xf_tls'),
                                 SSL_verify_mode => 0,
                                 SSL_hostname => 'localhost',
                                 SSL_alpn_protocols => ['http/1.1'],
                                 Timeout => 10)
      or die "TLS connect: $IO::Socket::SSL::SSL_ERROR\n";
    print $s "GET $target HTTP/1.1\r\nHost: " . host_of('xf_tls')
      . "\r\nConnection: close\r\n\r\n";
    my $data = '';
    my $sel = IO::Select->new($s);
    while ($s->pending || $sel->can_read(15)) {
        sysread($s, $data, 1 << 20, length $data) or last;
    }
    close $s;
    my($r) = parse_responses($data);
    return $r;
}

sub get {
    my($vh, $target, $method) = @_;
    $method ||= 'GET';
    my $r = exchange($vh, "$method $target HTTP/1.1\r\nHost: " . host_of($vh)
                     . "\r\nConnection: close\r\n\r\n", timeout => 15);
    my($resp) = parse_responses($r->{data}, $method);
    return $resp || { status => 0, body => '', h => {}, complete => 0,
                      raw => $r->{data} };
}

# ---- relay: the daemon's status and bytes ----------------------------------
{
    my @cases = (
        ['/r/status?code=418&len=1234&al=1', 418, 1234, 'a 418 with a body'],
        ['/r/status?code=404&len=321&al=2', 404, 321, 'a 404 with a body'],
        ['/r/status?code=503&len=0&al=3', 503, 0, 'a 503 without a body'],
        ['/r/nolen?bytes=100000&al=4', 200, 100000, 'a body until close'],
        ['/r/chunked?bytes=300000&al=5', 200, 300000, 'a chunked body'],
    );
    for my $c (@cases) {
        my($target, $status, $len, $what) = @$c;
        my $r = get('xf_relay', $target);
        ok t_cmp("$r->{status} " . length($r->{body}), "$status $len",
                 "relay, $what: the client got it");
        ok t_cmp(logged('GET', $target),
                 "$status $len fwd=relay reply=-",
                 "relay, $what: %>s %B are the daemon's");
    }
    my $r = get('xf_relay', '/r/status?code=418&len=50&al=6', 'HEAD');
    ok t_cmp("$r->{status} " . length($r->{body}), '418 0',
             'relay, HEAD: the daemon\'s status, no body');
    ok t_cmp(logged('HEAD', '/r/status?code=418&len=50&al=6'),
             '418 0 fwd=relay reply=-', 'relay, HEAD: no bytes logged');

    $r = tls_get('/r/status?code=418&len=99&al=7');
    ok t_cmp("$r->{status} " . length($r->{body}), '418 99',
             'TLS relay: the client got the daemon\'s 418');
    ok t_cmp(logged('GET', '/r/status?code=418&len=99&al=7'),
             '418 99 fwd=relay reply=-', 'TLS relay: %>s %B are the daemon\'s');

    # auto mode relays a request with buffered bytes: the same truth
    my $x = exchange('xf_auto', "GET /r/status?code=418&len=7&al=8 HTTP/1.1\r\n"
                     . 'Host: ' . host_of('xf_auto') . "\r\n\r\n"
                     . "GET /r/status?code=201&len=3&al=9 HTTP/1.1\r\n"
                     . 'Host: ' . host_of('xf_auto')
                     . "\r\nConnection: close\r\n\r\n", timeout => 15);
    my @p = parse_responses($x->{data});
    ok t_cmp(join(' ', map { $_->{status} } @p), '418 201',
             'auto, pipelined: both answered');
    ok t_cmp(logged('GET', '/r/status?code=418&len=7&al=8'),
             '418 7 fwd=relay reply=-',
             'auto, relayed (bytes buffered): the daemon\'s status and bytes');
    # the last one may be handed off: then httpd does not see the bytes
    ok t_cmp(logged('GET', '/r/status?code=201&len=3&al=9'),
             qr/^(?:201 3 fwd=relay|200 0 fwd=handoff) reply=-$/,
             'auto, last pipelined request: relayed (the daemon\'s 201) or '
             . 'handed off (200, as httpd cannot know)');
    $log->check('relay: access log truth');
}

# ---- relay: httpd's own error statuses --------------------------------------
{
    my $r = get('xf_relay', '/r/silent?al=10');
    ok t_cmp($r->{status}, 502, 'relay, daemon silent: 502');
    ok t_cmp(logged('GET', '/r/silent?al=10'), qr/^502 \d+ fwd=relay reply=-$/,
             'relay, daemon silent: 502 logged (httpd\'s error page bytes)');
    $log->check('relay: 502', expect => { XAPIFWD0102 => 'error' });
}

# ---- hand-off ----------------------------------------------------------------
{
    my $r = get('xf_auto', '/r/hello?al=11');
    ok t_cmp("$r->{status} $r->{body}", "200 hello from rrdd\n",
             'hand-off: the daemon answered');
    ok t_cmp(($r->{h}{'x-peer'} // '') =~ /^inet / ? 'handed off' : 'relayed',
             'handed off', 'hand-off: the daemon wrote on the client socket');
    ok t_cmp(logged('GET', '/r/hello?al=11'), '200 0 fwd=handoff reply=-',
             'hand-off: "handoff", 200, no byte count (%B: 0)');

    # xenopsd style: a 404 head on the control socket, nothing to the client
    my $x = exchange('xf_auto', 'GET /r/ctl404?al=12 HTTP/1.1' . "\r\nHost: "
                     . host_of('xf_auto') . "\r\n\r\n", timeout => 10);
    ok t_cmp($x->{data}, '', 'hand-off, control 404: the client gets no bytes');
    ok t_cmp(logged('GET', '/r/ctl404?al=12'), '404 0 fwd=handoff reply=404',
             'hand-off, control 404: %>s and XAPI_FORWARD_REPLY are 404');
    $log->check('hand-off, control 404', expect => { XAPIFWD0011 => 'warn' });
}

ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');
$log->check('end');
