# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Relay: TLS and HTTP/2 clients cannot be handed their socket, so
# the module passes a socketpair end instead and relays the request body and
# the daemon's response through httpd's filters.  The daemon must not see a
# difference, and neither must the client.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Digest::MD5 ();
use Digest::SHA ();
use File::Temp ();
use IO::Socket::SSL ();
use XapiForward::AccessLog qw(access_mode);
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::Envelope qw(expected_envelope decode_ordered);
use XapiForward::Raw qw(h2_skip port_of parse_responses read_all);

plan tests => 30, need_module('proxy', 'xapi_forward', 'ssl');

# HTTP/2 needs mod_http2 (not loaded under prefork) and a curl with nghttp2
my $h2_skip = h2_skip();

my $TLS = 'xf_tls';
my $H2C = 'xf_h2c';
my $TPORT = port_of($TLS);
my $HOST = "localhost:$TPORT";

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));

sub tls_connect {
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $TPORT,
                                 SSL_verify_mode => 0, SSL_hostname => 'localhost',
                                 SSL_alpn_protocols => ['http/1.1'],
                                 Timeout => 10)
      or die "TLS connect: $IO::Socket::SSL::SSL_ERROR\n";
    return $s;
}

sub tls_write {
    my($s, $bytes) = @_;
    my $off = 0;
    while ($off < length $bytes) {
        my $n = syswrite($s, $bytes, length($bytes) - $off, $off);
        die "TLS write: $!\n" unless $n;
        $off += $n;
    }
}

# whole answer of one TLS connection (until the server closes it)
sub tls_exchange {
    my($bytes, %o) = @_;
    my $s = tls_connect();
    my $lport = $s->sockport;
    tls_write($s, $bytes);
    my $data = '';
    my $sel = IO::Select->new($s);
    while (1) {
        # IO::Socket::SSL may hold decrypted bytes the kernel no longer shows
        last unless $s->pending || $sel->can_read($o{timeout} || 30);
        my $n = sysread($s, my $buf, 1 << 20);
        last unless $n;
        $data .= $buf;
    }
    close $s;
    return ($data, $lport);
}

sub get_bytes {
    my($target, @h) = @_;
    return "GET $target HTTP/1.1\r\nHost: $HOST\r\nUser-Agent: xf-test\r\n"
      . join('', map { "$_\r\n" } @h) . "\r\n";
}

# curl over HTTP/2: (status, http version, body)
sub curl {
    my @args = @_;
    my $out = File::Temp->new;
    my $w = `curl -s -k --max-time 30 -o $out -w '%{http_code} %{http_version}' @args`;
    my($code, $ver) = split ' ', $w || '';
    open my $fh, '<:raw', "$out" or die;
    local $/;
    my $body = <$fh>;
    return ($code || 0, $ver || '', defined $body ? $body : '');
}

require IO::Select;

# ======================= HTTP/1.1 over TLS ===================================
{
    my($data, $lport) = tls_exchange(get_bytes('/r/echo?tls=1',
                                               'Connection: close'));
    my($resp) = parse_responses($data);
    ok t_cmp($resp && $resp->{status} . ' ' . ($resp->{h}{'x-daemon'} || ''),
             '200 rrdd', 'TLS GET: relayed the daemon\'s 200');
    my $env = expected_envelope(
        method => 'GET', target => '/r/echo?tls=1',
        headers => [[Host => $HOST], ['User-Agent' => 'xf-test'],
                    [Connection => 'close']],
        stunnel => "TCP6 ::ffff:127.0.0.1 ::ffff:127.0.0.1 $lport $TPORT");
    ok t_cmp($resp && $resp->{body}, $env,
             'TLS GET: envelope byte for byte, STUNNEL_PROXY last');
    ok t_cmp(access_mode('GET', '/r/echo?tls=1'), 'relay',
             'TLS GET: access log says relay');
}

# keep-alive with the client survives the daemon's "Connection: close"
{
    my $s = tls_connect();
    tls_write($s, get_bytes('/r/hello?ka=1'));
    my $first = '';
    my $sel = IO::Select->new($s);
    while (1) {
        my @p = parse_responses($first);
        last if @p && $p[0]{complete};
        last unless $s->pending || $sel->can_read(10);
        sysread($s, $first, 65536, length $first) or last;
    }
    my($r1) = parse_responses($first);
    ok t_cmp($r1 && ($r1->{h}{connection} || 'keep-alive'), 'keep-alive',
             'TLS keep-alive: no "Connection: close" from the daemon\'s '
             . 'response');
    tls_write($s, get_bytes('/r/hello?ka=2', 'Connection: close'));
    my $rest = '';
    while ($s->pending || $sel->can_read(10)) {
        sysread($s, $rest, 65536, length $rest) or last;
    }
    my @resp = (parse_responses($first), parse_responses($rest));
    ok t_cmp(join('|', map { "$_->{status} $_->{body}" } @resp),
             "200 hello from rrdd\n|200 hello from rrdd\n",
             'TLS keep-alive: two requests, two relayed answers');
    close $s;
}

# request body, sent with the head
{
    my $body = join '', map { chr(($_ * 13) % 256) } 1 .. 100_000;
    my($data) = tls_exchange("POST /r/body?tls=1 HTTP/1.1\r\nHost: $HOST\r\n"
                             . "Content-Length: " . length($body) . "\r\n"
                             . "Connection: close\r\n\r\n$body");
    my($resp) = parse_responses($data, 'POST');
    ok t_cmp($resp && $resp->{body},
             sprintf("length=%d sha256=%s\n", length $body,
                     Digest::SHA::sha256_hex($body)),
             'TLS POST: the daemon read the whole body');
}

# a large response
{
    my $n = 16 * 1024 * 1024;
    my($data) = tls_exchange(get_bytes("/r/big?bytes=$n",
                                       'Connection: close'), timeout => 60);
    my($resp) = parse_responses($data);
    ok t_cmp($resp && length $resp->{body}, $n, 'TLS 16 MiB: every byte');
    my $block = join('', map { chr } 0 .. 255) x 256;
    my $md5 = Digest::MD5->new;
    $md5->add($block) for 1 .. $n / length $block;
    ok t_cmp($resp && Digest::MD5::md5_hex($resp->{body}), $md5->hexdigest,
             'TLS 16 MiB: the daemon\'s bytes');
}
$log->check('TLS relay');

# TLS where only a hand-off is allowed
{
    my($data) = tls_exchange(get_bytes('/ho/hello', 'Connection: close'));
    my($resp) = parse_responses($data);
    ok t_cmp($resp && $resp->{status}, 500, 'TLS, XapiForwardMode handoff: 500');
    $log->check('TLS in handoff mode', expect => { XAPIFWD0009 => 'error' });
}

# the daemon closes without answering: nothing to relay
{
    my($data) = tls_exchange(get_bytes('/r/silent', 'Connection: close'));
    my($resp) = parse_responses($data);
    ok t_cmp($resp && $resp->{status}, 502, 'TLS, daemon silent: 502');
    $log->check('TLS, daemon silent', allow => [qr/XAPIFWD01\d\d/],
                expect => { XAPIFWD0102 => 'error' });
}

# ======================= HTTP/2 over TLS (curl) ==============================
if (!$h2_skip) {
    my($code, $ver, $body) = curl('--http2', "https://$HOST/r/echo?h2=1");
    ok t_cmp("$code $ver", '200 2', 'h2 GET: 200 over HTTP/2');
    my $env = eval { decode_ordered($body) };
    ok t_cmp($env ? join(' ', map { $env->get($_) } qw(path version))
             : "not JSON: $body", '/r/echo 1.1',
             'h2 GET: envelope path, version "1.1"');
    my $ah = $env ? $env->get('additional_headers') : [];
    my $last = @$ah ? $ah->[-1] : ['', ''];
    ok t_cmp("$last->[0] $last->[1]",
             qr/^STUNNEL_PROXY TCP6 ::ffff:127\.0\.0\.1 ::ffff:127\.0\.0\.1 \d+ $TPORT$/,
             'h2 GET: STUNNEL_PROXY from the TLS connection');

    my $data = join '', map { chr(($_ * 31) % 256) } 1 .. 200_000;
    my $file = File::Temp->new;
    binmode $file;
    print $file $data;
    close $file;
    my $want = sprintf "length=%d sha256=%s\n", length $data,
      Digest::SHA::sha256_hex($data);
    ($code, $ver, $body) = curl('--http2', '--data-binary', "\@$file",
                                "https://$HOST/r/body?h2=len");
    ok t_cmp("$code $body", "200 $want", 'h2 POST with length: body intact');
    # no length: h2 DATA frames until END_STREAM; the daemon gets chunked
    ($code, $ver, $body) = curl('--http2', '-T', '-', "https://$HOST/r/body?h2=stream",
                                "< $file");
    ok t_cmp("$code $body", "200 $want", 'h2 upload without length: intact');
    my $e = eval { decode_ordered($d->envelope('rrdd')) };
    ok t_cmp($e && $e->get('transfer_encoding'), 'chunked',
             'h2 upload without length: "transfer_encoding":"chunked"');

    ($code, $ver) = curl('--http2', "https://$HOST/ho/hello");
    ok t_cmp("$code $ver", '500 2', 'h2, XapiForwardMode handoff: 500');
    $log->check('h2 over TLS', expect => { XAPIFWD0009 => 'error' });
}
else {
    skip($h2_skip, 0) for 1 .. 8;
}

# ======================= h2c ==================================================
if (!$h2_skip) {
    my $hp = 'localhost:' . port_of($H2C);
    my($code, $ver, $body) = curl('--http2-prior-knowledge',
                                  "http://$hp/r/echo?h2c=1");
    ok t_cmp("$code $ver", '200 2', 'h2c (prior knowledge): 200 over HTTP/2');
    my $env = eval { decode_ordered($body) };
    ok t_cmp($env ? $env->get('version') : "not JSON: $body", '1.1',
             'h2c: "version":"1.1"');
    my $ah = $env ? $env->get('additional_headers') : [];
    ok t_cmp(scalar(grep { $_->[0] eq 'STUNNEL_PROXY' } @$ah), 0,
             'h2c: no STUNNEL_PROXY (not TLS)');
    ok t_cmp(access_mode('GET', '/r/echo?h2c=1'), 'relay',
             'h2c: access log says relay');

    # Upgrade: h2c from HTTP/1.1
    ($code, $ver, $body) = curl('--http2', "http://$hp/r/echo?h2c=up");
    $env = eval { decode_ordered($body) };
    ok t_cmp($code . ' ' . ($env ? $env->get('path') : "not JSON: $body"),
             '200 /r/echo', 'h2c upgrade: answered by the daemon');

    ($code, $ver) = curl('--http2-prior-knowledge', "http://$hp/ho/hello");
    ok t_cmp("$code $ver", '500 2', 'h2c, XapiForwardMode handoff: 500');
    $log->check('h2c', expect => { XAPIFWD0009 => 'error' });
}
else {
    skip($h2_skip, 0) for 1 .. 7;
}

ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');
$log->check('relay tests');
