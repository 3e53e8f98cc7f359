# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Relay: the client connection outlives each request.
#   - pipelined requests on plaintext (auto mode: relayed while more bytes
#     are buffered), in relay mode, and over TLS: every request answered,
#     in order, bytes intact (echo bodies are the envelopes, byte for byte)
#   - keep-alive in XapiForwardMode relay: many requests on one connection,
#     plaintext and TLS, whatever the daemon's framing (length, chunked,
#     until close, HEAD, 404, 204, 304); the daemon's "Connection: close" is never
#     forwarded, the last request closes when the client asks
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Digest::SHA ();
use IO::Select ();
use IO::Socket::SSL ();
use Time::HiRes qw(time sleep);
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::Envelope qw(expected_envelope);
use XapiForward::Raw qw(conn send_all port_of host_of raw_connect read_responses);

plan tests => 45, need_module('proxy', 'xapi_forward', 'ssl');

$SIG{PIPE} = 'IGNORE';

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));

# ---- helpers --------------------------------------------------------------

# true when the server has closed the connection (EOF within $t s)
sub closed_by_server {
    my($s, $t) = @_;
    my $sel = IO::Select->new($s);
    return 0 unless ($s->can('pending') && $s->pending)
      || $sel->can_read($t);
    my $n = sysread($s, my $buf, 4096);
    return defined $n && $n == 0 ? 1 : "got " . length($buf // '') . ' bytes';
}

sub req {
    my($vh, $method, $target, @h) = @_;
    my $body = '';
    $body = ${ pop @h } if @h && ref $h[-1] eq 'SCALAR';
    return "$method $target HTTP/1.1\r\nHost: " . host_of($vh) . "\r\n"
      . join('', map { "$_\r\n" } @h) . "\r\n" . $body;
}

# what /r/echo must answer for a request made by req() on connection $s
# (TLS: with the STUNNEL_PROXY entry)
sub echo_of {
    my($s, $vh, $method, $target, @h) = @_;
    my $tls = $vh eq 'xf_tls';
    return expected_envelope(
        method => $method, target => $target,
        headers => [[Host => host_of($vh)], map { [split /: /, $_, 2] } @h],
        $tls ? (stunnel => 'TCP6 ::ffff:127.0.0.1 ::ffff:127.0.0.1 '
                . $s->sockport . ' ' . port_of($vh)) : ());
}

my $BLOCK = join '', map { chr } 0 .. 255;
sub pattern { my $n = shift; substr($BLOCK x (int($n / 256) + 1), 0, $n) }

sub digest_answer {
    my $b = shift;
    sprintf "length=%d sha256=%s\n", length $b, Digest::SHA::sha256_hex($b);
}

# "status body-ok connection-header" per response, against expectations
sub summary {
    my($r, @want) = @_;
    my @out;
    for my $i (0 .. $#want) {
        my $x = $r->[$i] or do { push @out, 'missing'; next };
        my($status, $body) = @{ $want[$i] };
        push @out, join ' ', $x->{status},
          $x->{complete} ? 'complete' : 'incomplete',
          $x->{body} eq $body ? 'body-ok' : 'body-DIFFERS('
            . length($x->{body}) . ' bytes)';
    }
    return join ' | ', @out;
}
sub expected_summary {
    join ' | ', map { "$_->[0] complete body-ok" } @_;
}

# =========================== pipelining ==================================
for my $case (['xf_auto', 'auto'], ['xf_relay', 'relay'], ['xf_tls', 'tls']) {
    my($vh, $tag) = @$case;
    my @reqs = (['GET', "/r/echo?pipe=$tag-1", 'User-Agent: xf-pipe'],
                ['GET', "/r/big?bytes=300000&pipe=$tag-2"],
                ['GET', "/r/echo?pipe=$tag-3", 'Accept: */*']);
    my $s = conn($vh);
    my $before = $d->count('rrdd');
    send_all($s, join '', map { req($vh, @$_) } @reqs);
    my($r) = read_responses($s, 3, 15);
    ok t_cmp(summary($r, [200, echo_of($s, $vh, @{ $reqs[0] })],
                     [200, pattern(300000)], [200, echo_of($s, $vh, @{ $reqs[2] })]),
             expected_summary([200], [200], [200]),
             "$tag: three pipelined GETs in one write, answered in order, "
             . 'bytes intact');
    ok t_cmp(join(' ', map { $_->{h}{'x-daemon'} // '-' } @$r), 'rrdd rrdd rrdd',
             "$tag: every answer from the daemon");
    ok t_cmp($d->wait_count('rrdd', $before + 3) - $before, 3,
             "$tag: three connections to the daemon");
    # the relayed ones do not close: the connection carries one more
    # request (in auto mode the last one may have been handed off, which
    # ends the connection)
    my $handed_off = ($r->[2] && $r->[2]{h}{'x-peer'} // '') =~ /^inet/;
    if ($handed_off) {
        ok t_cmp($tag, 'auto', "$tag: only auto mode hands the last one off");
        ok t_cmp(closed_by_server($s, 5), 1,
                 "$tag: the daemon closed the handed-off connection");
    }
    else {
        ok t_cmp(join(' ', map { $_->{h}{connection} // 'none' } @$r),
                 'none none none', "$tag: no Connection: close forwarded");
        send_all($s, req($vh, 'GET', "/r/hello?pipe=$tag-4",
                         'Connection: close'));
        my($r4, $eof) = read_responses($s, 1, 10);
        ok t_cmp(($r4->[0] ? "$r4->[0]{status} $r4->[0]{body}" : 'nothing')
                 . ($eof || closed_by_server($s, 5) eq '1' ? ' closed' : ''),
                 "200 hello from rrdd\n closed",
                 "$tag: one more request on the same connection, then close");
    }
    close $s;
    $log->check("pipelined ($tag)");
}

# a POST with its body between two GETs, one write (auto mode)
{
    my $vh = 'xf_auto';
    my $body = pattern(100_000) x 3;
    my $s = conn($vh);
    send_all($s, req($vh, 'GET', '/r/echo?pipe=post-1')
             . req($vh, 'POST', '/r/body?pipe=post-2',
                   'Content-Length: ' . length $body, \$body)
             . req($vh, 'GET', '/r/echo?pipe=post-3', 'Connection: close'));
    my($r) = read_responses($s, 3, 15, 'GET', 'POST', 'GET');
    close $s;
    ok t_cmp(summary($r, [200, echo_of($s, $vh, 'GET', '/r/echo?pipe=post-1')],
                     [200, digest_answer($body)],
                     [200, echo_of($s, $vh, 'GET', '/r/echo?pipe=post-3',
                                   'Connection: close')]),
             expected_summary([200], [200], [200]),
             'auto: GET, POST with body, GET pipelined: all answered intact');
    $log->check('pipelined POST');
}

# =========================== keep-alive ====================================
for my $vh (qw(xf_relay xf_tls)) {
    my $tag = $vh eq 'xf_tls' ? 'TLS' : 'plain';
    my $post = pattern(200_000);
    my @steps = (
        [[GET => "/r/hello?ka=$tag-1"], 200, "hello from rrdd\n"],
        [[POST => "/r/body?ka=$tag-2", 'Content-Length: ' . length $post,
          \$post], 200, digest_answer($post)],
        [[HEAD => "/r/echo?ka=$tag-3"], 200, ''],
        [[GET => "/r/nolen?bytes=100000&ka=$tag-4"], 200, pattern(100000)],
        [[GET => "/r/chunked?bytes=300000&ka=$tag-5"], 200, pattern(300000)],
        [[GET => "/r/status?code=404&len=10&ka=$tag-6"], 404, 'x' x 10],
        [[GET => "/r/big?bytes=2000000&ka=$tag-7"], 200, pattern(2000000)],
        [[GET => "/r/status?code=418&len=0&ka=$tag-8"], 418, ''],
        [[GET => "/r/status?code=204&len=0&ka=$tag-9"], 204, ''],
        [[GET => "/r/status?code=304&len=0&ka=$tag-10"], 304, ''],
    );
    my $s = conn($vh);
    my $before = $d->count('rrdd');
    my(@got, @want, @conn_hdr, @peer);
    for my $st (@steps) {
        my($rq, $status, $body) = @$st;
        send_all($s, req($vh, @$rq));
        my($r) = read_responses($s, 1, 15, $rq->[0]);
        my $x = $r->[0] || { status => 0, complete => 0, body => '', h => {} };
        push @got, $x;
        push @want, [$status, $body];
        push @conn_hdr, $x->{h}{connection} // 'none';
        push @peer, $x->{h}{'x-peer'} // '-';
    }
    ok t_cmp(summary(\@got, @want), expected_summary(@want),
             "keep-alive ($tag): ten requests on one connection, each "
             . 'relayed intact');
    ok t_cmp(join(' ', @conn_hdr), join(' ', ('none') x @steps),
             "keep-alive ($tag): the daemon's Connection: close is not "
             . 'forwarded');
    ok t_cmp(join(' ', map { (split ' ', $_)[0] } @peer),
             join(' ', ('unix') x @steps),
             "keep-alive ($tag): every request relayed (the daemon saw a "
             . 'socketpair)');
    # HEAD: the daemon's headers, its Content-Length, no body
    my $head = $got[2];
    ok t_cmp($head->{h}{'content-length'} // 'none',
             length echo_of($s, $vh, 'HEAD', "/r/echo?ka=$tag-3"),
             "keep-alive ($tag): HEAD keeps the daemon's Content-Length");
    # until-close and chunked answers come chunked to an HTTP/1.1 client
    ok t_cmp(join(' ', map { lc($got[$_]{h}{'transfer-encoding'} // 'none') }
                  3, 4), 'chunked chunked',
             "keep-alive ($tag): until-close and chunked bodies re-framed "
             . 'as chunked');
    ok t_cmp($d->wait_count('rrdd', $before + @steps) - $before,
             scalar @steps, "keep-alive ($tag): one daemon connection each");
    ok t_cmp(closed_by_server($s, 0.5), 0,
             "keep-alive ($tag): connection still open after ten requests");
    send_all($s, req($vh, 'GET', "/r/hello?ka=$tag-last", 'Connection: close'));
    my($r, $eof) = read_responses($s, 1, 10);
    ok t_cmp(($r->[0] ? "$r->[0]{status} " . ($r->[0]{h}{connection} // 'none')
              : 'nothing'), '200 close',
             "keep-alive ($tag): the client's Connection: close is honoured");
    ok t_cmp($eof || closed_by_server($s, 5), 1,
             "keep-alive ($tag): and the connection ends");
    close $s;
    $log->check("keep-alive ($tag)");
}

# an HTTP/1.0 client with keep-alive asked for: length-delimited answers
# keep the connection, an until-close answer cannot (no chunking in 1.0)
{
    my $vh = 'xf_relay';
    my $s = conn($vh);
    my $ka = "GET /r/status?code=200&len=5&ka=10-1 HTTP/1.0\r\nHost: "
      . host_of($vh) . "\r\nConnection: keep-alive\r\n\r\n";
    send_all($s, $ka);
    my($r) = read_responses($s, 1, 10);
    ok t_cmp($r->[0] ? "$r->[0]{status} $r->[0]{body} "
             . lc($r->[0]{h}{connection} // 'none') : 'nothing',
             '200 xxxxx keep-alive', 'HTTP/1.0 keep-alive: kept');
    send_all($s, "GET /r/nolen?bytes=5000&ka=10-2 HTTP/1.0\r\nHost: "
             . host_of($vh) . "\r\nConnection: keep-alive\r\n\r\n");
    my $eof;
    ($r, $eof) = read_responses($s, 2, 10);
    # the until-close body ends with the connection: parse_responses reads
    # it to the end of the data
    ok t_cmp($r->[0] && $eof ? "$r->[0]{status} " . length($r->[0]{body})
             : 'no EOF', '200 5000',
             'HTTP/1.0, body without length: delivered, then closed');
    close $s;
    $log->check('HTTP/1.0 keep-alive');
}

ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');
$log->check('end');
