# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# 79_frontdoor_reference.t - the reference pair the front door tests
# compare httpd with: Debian's stunnel4 configured as xapi configures it
# (XapiForward::Stunnel) in front of a port 80 that reads stunnel's PROXY
# line and applies xapi's rules (t/daemon/fake_xapi80.py).  If this file
# fails, the reference is wrong, not httpd: nothing here goes through
# httpd.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil qw(t_cmp t_debug);
use Digest::SHA qw(sha256_hex);
use IO::Select ();
use IO::Socket::UNIX ();
use JSON::PP ();
use XapiForward::Raw qw(conn conn_exchange read_response send_all
                        parse_responses read_all);
use XapiForward::Stunnel;
use XapiForward::TestCA;
use XapiForward::Xapi80 qw(pattern);

my $why = XapiForward::Stunnel->available;
plan tests => 59, need { 'stunnel4 (Debian) installed' => !$why },
  need_module('ssl');

my $ca  = XapiForward::TestCA->suite;
my $x80 = XapiForward::Xapi80->start('x80', http => 0,
                                     clientcert => 'x80cc.sock');
my $st  = XapiForward::Stunnel->start('xapi', xapi_port => $x80->port);
my $stc = XapiForward::Stunnel->start('clientcert', xapi_port => $x80->port,
    clientcert => { socket => $x80->clientcert });
my $json = JSON::PP->new;

my $XAPI_200 = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
  . "Cache-Control: no-cache, no-store\r\n\r\n";

# one exchange through stunnel $s (TLS), until it closes
sub via {
    my($s, $bytes, %o) = @_;
    return conn_exchange('stunnel', $bytes, port => $s->port, tls => 1,
                         timeout => 20, %o);
}

sub record_of {
    my $r = shift;
    return eval { $json->decode($r->{body}) } || {};
}

sub proxy_re {
    my($addr, $port, $sport) = @_;
    return qr/^PROXY TCP6 ::ffff:\Q$addr\E ::ffff:127\.0\.0\.1 $port $sport\z/;
}

# --- the website: GET / ------------------------------------------------------

{
    $x80->reset;
    my $r = via($st, "GET / HTTP/1.1\r\nHost: localhost\r\n"
                . "Connection: close\r\n\r\n");
    my($resp) = parse_responses($r->{data});
    ok t_cmp($resp && $resp->{status}, 200, 'via stunnel: GET / 200');
    my($rec) = $x80->requests;
    $rec ||= {};
    ok t_cmp($rec->{https} ? 'https' : 'http', 'https',
             'xapi sees an HTTPS client');
    ok t_cmp("$rec->{client_addr}:$rec->{client_port}",
             "127.0.0.1:$r->{lport}", 'xapi sees the client address and port');
    ok t_cmp($rec->{proxy_line}, proxy_re('127.0.0.1', $r->{lport}, $st->port),
             'stunnel sends PROXY TCP6 with the v4-mapped addresses');
    ok t_cmp($r->{peer_cn}, 'localhost', 'no SNI: the xapi-ssl certificate');
    ok t_cmp($r->{tls}, 'TLSv1_2', 'xapi TLS policy: TLS 1.2');

    $x80->reset;
    $r = conn_exchange('x80', "GET / HTTP/1.1\r\nHost: localhost\r\n"
                       . "Connection: close\r\n\r\n", port => $x80->port);
    ($resp) = parse_responses($r->{data});
    ok t_cmp($resp && $resp->{status}, 403,
             'plain HTTP GET / on port 80: 403 (website-https-only)');
    ($rec) = $x80->requests;
    ok t_cmp(defined $rec->{proxy_line} ? 1 : 0, 0, 'no PROXY line');
}

# --- a pool member: SNI pool, HTTP/1.0, no Host, keep-alive --------------------

{
    $x80->reset;
    my $s = conn('stunnel', port => $st->port, tls => 1, sni => 'pool');
    ok t_cmp($s->peer_certificate('commonName'), 'xf-pool',
             'SNI pool: the pool certificate');
    my @seen;
    for my $i (1 .. 3) {
        my $body = qq({"jsonrpc":"2.0","method":"host.get_all","id":$i});
        send_all($s, "POST /jsonrpc HTTP/1.0\r\nConnection: keep-alive\r\n"
                 . "Content-Type: application/json\r\nContent-Length: "
                 . length($body) . "\r\n\r\n$body");
        my $resp = read_response($s, 'POST', 20);
        push @seen, $resp->{status};
    }
    my $lport = $s->sockport;
    close $s;
    ok t_cmp("@seen", '200 200 200', 'three calls on one connection');
    my @rec = $x80->requests;
    ok t_cmp(join(' ', map { "$_->{conn}.$_->{seq}" } @rec),
             join(' ', map { "$rec[0]{conn}.$_" } 1 .. 3),
             'one backend connection, three requests');
    ok t_cmp(join(' ', map { defined $x80->header($_, 'Host') ? 'host'
                             : 'none' } @rec),
             'none none none', 'no Host header reaches xapi');
    ok t_cmp(join(' ', map { $_->{version} } @rec),
             'HTTP/1.0 HTTP/1.0 HTTP/1.0', 'HTTP/1.0 as sent');
    ok t_cmp(join(' ', map { ($_->{https} ? 'https' : 'http')
                             . " $_->{client_addr}:$_->{client_port}" } @rec),
             join(' ', ("https 127.0.0.1:$lport") x 3),
             'each call seen from the member');
}

# --- two clients interleaving keep-alive calls -------------------------------

{
    $x80->reset;
    my %c = map { ($_ => conn('stunnel', port => $st->port, tls => 1,
                              local_addr => $_)) }
            qw(127.0.0.2 127.0.0.3);
    my(@want, @status);
    for my $i (1 .. 3) {
        for my $addr (sort keys %c) {
            my $s = $c{$addr};
            send_all($s, "GET /call?i=$i HTTP/1.1\r\nHost: localhost\r\n\r\n");
            my $resp = read_response($s, 'GET', 20);
            push @status, $resp->{status};
            my $rec = record_of($resp);
            push @want, [$addr, $s->sockport,
                         "$rec->{client_addr}:$rec->{client_port}"];
        }
    }
    close $_ for values %c;
    ok t_cmp("@status", '200 200 200 200 200 200', 'six calls answered');
    ok t_cmp(join(' ', map { $_->[2] } @want),
             join(' ', map { "$_->[0]:$_->[1]" } @want),
             'each call seen as its own client (address and port)');
    my %conns = map { ($_->{conn} => 1) } $x80->requests;
    ok t_cmp(scalar keys %conns, 2, 'one backend connection per client');
}

# --- consoles: CONNECT --------------------------------------------------------

# Send $out on $s while reading what comes back; then half-close (TLS:
# close_notify, the socket stays open for reading) when half_close => 1,
# and read until EOF (or 20 s without progress).  Returns (bytes read, eof).
sub pump {
    my($s, $out, %o) = @_;
    my $sel = IO::Select->new($s);
    my $in = '';
    my $eof = 0;
    # read what is there (waiting $wait s for the first bytes); false when
    # nothing came
    my $drain = sub {
        my $wait = shift;
        my $got = 0;
        while (!$eof && (($s->can('pending') && $s->pending)
                         || $sel->can_read($wait))) {
            my $n = sysread($s, my $buf, 1 << 16);
            if (!$n) { $eof = 1; return 1 }
            $in .= $buf;
            $got = 1;
            $wait = 0;
        }
        return $got;
    };
    for (my $at = 0; $at < length $out; $at += 16384) {
        send_all($s, substr($out, $at, 16384)) or last;
        $drain->(0);
    }
    if ($o{half_close}) {
        if ($s->can('stop_SSL')) {
            Net::SSLeay::shutdown($s->_get_ssl_object);
        }
        else {
            shutdown($s, 1);
        }
    }
    1 while !$eof && $drain->(20);
    return ($in, $eof);
}

{
    $x80->reset;
    my $s = conn('stunnel', port => $st->port, tls => 1);
    send_all($s, "CONNECT /console?mode=echo&ref=OpaqueRef:vm1 HTTP/1.0\r\n"
             . "Cookie: session_id=OpaqueRef:s1\r\n\r\n");
    my $data = join '', map { chr(int rand 256) } 1 .. 1024;
    $data = $data x 1024;   # 1 MiB
    my($in, $eof) = pump($s, $data, half_close => 1, until_eof => 1);
    close $s;
    ok t_cmp(substr($in, 0, length $XAPI_200), $XAPI_200,
             "CONNECT via stunnel: xapi's 200 head, unchanged");
    my $echo = substr $in, length $XAPI_200;
    ok t_cmp(length $echo, length $data, '1 MiB echoed');
    ok t_cmp(sha256_hex($echo), sha256_hex($data), 'byte-exact');
    ok t_cmp($eof, 1, 'EOF reaches the client after the echo');
    my @r = $x80->wait_records(2);
    my($end) = grep { ($_->{event} || '') eq 'tunnel_end' } @r;
    $end ||= {};
    ok t_cmp($end->{bytes_in} // -1, length $data,
             'xapi got 1 MiB, then EOF (the half-close passed on)');
    ok t_cmp($end->{sha256_in} // '', sha256_hex($data), 'byte-exact');
    ok t_cmp($r[0]{proxy_line} // '', qr/^PROXY TCP6 /,
             'the console connection starts with the PROXY line');
    ok t_cmp($x80->header($r[0], 'Cookie'), 'session_id=OpaqueRef:s1',
             'the session cookie reaches xapi');
}

{
    # xapi sends 1 MiB and shuts its side; the client still writes
    $x80->reset;
    my $n = 1 << 20;
    my $s = conn('stunnel', port => $st->port, tls => 1);
    send_all($s, "CONNECT /remotecmd?mode=source&n=$n HTTP/1.1\r\n"
             . "Host: localhost\r\n\r\n");
    my($in, $eof) = pump($s, '', until_eof => 1);
    my $got = substr $in, length $XAPI_200;
    ok t_cmp(length $got, $n, 'source: 1 MiB from xapi');
    ok t_cmp(sha256_hex($got), sha256_hex(pattern($n)), 'byte-exact');
    ok t_cmp($eof, 1, "xapi's EOF passed on to the client");
    close $s;
}

{
    $x80->reset;
    my $r = via($st, "CONNECT /console?refuse=404&ref=OpaqueRef:nope "
                . "HTTP/1.0\r\n\r\n");
    ok t_cmp($r->{data}, "HTTP/1.1 404 Not Found\r\nConnection: close\r\n"
             . "Cache-Control: no-cache, no-store\r\n\r\n",
             "refusal: xapi's 404 head reaches the client unchanged");
    ok t_cmp($r->{eof}, 1, 'then EOF');
    $r = via($st, "CONNECT /console?refuse=403 HTTP/1.0\r\n\r\n");
    my($resp) = parse_responses($r->{data});
    ok t_cmp($resp && $resp->{status}, 403, "refusal: xapi's 403");
}

{
    # sink: what the client sends, counted by xapi after the client's EOF
    my $data = pattern(300_000);
    my $s = conn('stunnel', port => $st->port, tls => 1);
    send_all($s, "CONNECT /console?mode=sink HTTP/1.0\r\n\r\n");
    my($in, $eof) = pump($s, $data, half_close => 1, until_eof => 1);
    close $s;
    ok t_cmp(substr($in, length $XAPI_200),
             'got ' . length($data) . ' ' . sha256_hex($data) . "\n",
             "sink: xapi's answer after the client's EOF");
}

{
    # websocket console: GET + Upgrade, then bytes both ways
    my $s = conn('stunnel', port => $st->port, tls => 1);
    send_all($s, "GET /console?ref=OpaqueRef:vm1 HTTP/1.1\r\nHost: localhost"
             . "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             . "Sec-WebSocket-Version: 13\r\n\r\n");
    my($in, $eof) = pump($s, 'frame-bytes', half_close => 1, until_eof => 1);
    close $s;
    ok t_cmp($in, qr/^HTTP\/1\.1 101 Switching Protocols\r\n.*\r\n\r\nframe-bytes\z/s,
             'websocket: 101, then the bytes echoed');
}

# --- client certificates -----------------------------------------------------

for my $case (['right', 'clientcert'], ['wrong', 'tcp'],
              ['untrusted', 'tcp'], ['expired', 'tcp'], ['none', 'tcp']) {
    my($kind, $want) = @$case;
    $x80->reset;
    my %cert = $kind eq 'none' ? () : (cert => $ca->client($kind)->{pem});
    my $r = eval {
        via($stc, "GET /services/xenops HTTP/1.1\r\nHost: localhost\r\n"
            . "Connection: close\r\n\r\n", %cert);
    } || { data => '', error => $@ };
    my($resp) = parse_responses($r->{data});
    my $rec = record_of($resp || {});
    ok t_cmp(($resp && $resp->{status} || 0) . ' ' . ($rec->{transport} || '-'),
             "200 $want", "client certificate $kind: xapi's $want socket");
    ok t_cmp(($rec->{https} ? 'https' : 'http') . ' '
             . ($rec->{client_addr} // '-'), 'https 127.0.0.1',
             "client certificate $kind: the PROXY line names the client");
}

{
    # a pool member on the client-certificate stunnel: [pool] goes to 80
    my $r = via($stc, "POST /jsonrpc HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}",
                sni => 'pool', cert => $ca->client('right')->{pem});
    my $rec = record_of((parse_responses($r->{data}))[0] || {});
    ok t_cmp($rec->{transport} || '-', 'tcp',
             'SNI pool with a client certificate: port 80 ([pool])');
    ok t_cmp($r->{peer_cn}, 'xf-pool', 'and the pool certificate');
}

# --- the configuration is xapi's -----------------------------------------------

{
    my $text = $stc->conf_text;
    ok t_cmp($text, qr/^protocol = proxy$/m, 'protocol = proxy');
    ok t_cmp($text, qr/^\[pool\]\nsni = xapi:pool\nconnect = \d+\ncert = /m,
             '[pool] as xapi writes it');
    my $block = join '\n', 'connect = \S+x80cc\.sock', 'redirect = \d+',
      'verifyChain = yes', 'CAfile = \S+', 'checkHost = xf-client';
    ok t_cmp($text, qr/^$block$/m,
             'the client-certificate block as xapi writes it');
}

# --- the fake itself reads as xapi reads ----------------------------------------

{
    $x80->reset;
    my $r = conn_exchange('x80', "PROXY TCP4 127.0.0.9 127.0.0.1 1234 80\r\n"
                          . "GET /a HTTP/1.0\r\n\r\n", port => $x80->port);
    my $rec = record_of((parse_responses($r->{data}))[0] || {});
    ok t_cmp(($rec->{https} ? 'https' : 'http') . " $rec->{client_addr}:"
             . "$rec->{client_port}", "http 127.0.0.1:$r->{lport}",
             'PROXY TCP4: not parsed, the client is the peer over HTTP');
    ok t_cmp(join("\n", $x80->xapi_log),
             qr/Failed to parse STUNNEL_PROXY='TCP4 127\.0\.0\.9 /,
             'logged as xapi logs it');

    $r = conn_exchange('x80', "PROXY TCP6 ::ffff:10.1.2.3 ::ffff:127.0.0.1 "
                       . "5555 443\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                       . "PUT /import HTTP/1.1\r\nHost: h\r\n"
                       . "Transfer-Encoding: chunked\r\nConnection: close\r\n"
                       . "\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                       port => $x80->port);
    my @rec = map { record_of($_) } parse_responses($r->{data}, 'GET', 'PUT');
    ok t_cmp(join(' ', map { ($_->{https} ? 'https' : 'http')
                             . " $_->{client_addr}:$_->{client_port}" } @rec),
             'https 10.1.2.3:5555 https 10.1.2.3:5555',
             'one PROXY line stands for every request of the connection');
    ok t_cmp(($rec[1]{body_len} // -1) . ' ' . ($rec[1]{body_sha256} // ''),
             '5 ' . sha256_hex('abcde'), 'a chunked body, counted and hashed');

    # the clientcert socket without a PROXY line (xapi trusts the socket)
    $x80->reset;
    my $u = IO::Socket::UNIX->new(Peer => $x80->clientcert)
      or die "connect " . $x80->clientcert . ": $!\n";
    send_all($u, "GET / HTTP/1.0\r\n\r\n");
    my($data) = read_all($u, 10);
    close $u;
    my($resp) = parse_responses($data);
    ok t_cmp($resp && $resp->{status}, 200,
             'GET / on the unix socket: 200 (not external HTTP)');
    ($rec) = $x80->requests;
    ok t_cmp(join(' ', $rec->{transport}, $rec->{https} ? 'https' : 'http',
                  $rec->{client_addr} // 'none'), 'clientcert http none',
             'a unix client without PROXY line: no address');
}

{
    my $n = 5_000_000;
    my $r = via($st, "GET /export?size=$n HTTP/1.1\r\nHost: localhost\r\n"
                . "Connection: close\r\n\r\n");
    my($resp) = parse_responses($r->{data});
    ok t_cmp(sha256_hex($resp ? $resp->{body} : ''), sha256_hex(pattern($n)),
             'GET /export?size=N: N pattern bytes through stunnel');
}

{
    my $w = XapiForward::Xapi80->start('web', http => 0, website_http => 1);
    my $r = conn_exchange('x80', "GET /?a=b HTTP/1.1\r\nHost: xo.example\r\n"
                          . "Connection: close\r\n\r\n", port => $w->port);
    my($resp) = parse_responses($r->{data});
    ok t_cmp(($resp && $resp->{status} || 0) . ' '
             . ($resp && $resp->{h}{location} || '-'),
             '301 https://xo.example/',
             'website-https-only false: 301 to https://HOST/path');
    $r = conn_exchange('x80', "GET / HTTP/1.0\r\n\r\n", port => $w->port);
    ($resp) = parse_responses($r->{data});
    ok t_cmp($resp && $resp->{status}, 200, 'and without Host: the page');
    $w->stop;
}

{
    # fips = yes: Debian's OpenSSL 3 has no FIPS provider
    my $f = eval { XapiForward::Stunnel->start('fips', fips => 1,
                                               xapi_port => $x80->port) };
    my $err = $@;
    ok t_cmp($f ? 'started' : $err, $f ? 'started' : qr/FIPS/,
             'fips = yes: starts, or fails on the missing FIPS provider');
    t_debug("fips = yes: " . ($f ? 'started' : $err));
    $f->stop if $f;
}

my @bad = grep { /internal error/ } $x80->xapi_log;
ok t_cmp("@bad", '', 'fake_xapi80 had no internal error');
