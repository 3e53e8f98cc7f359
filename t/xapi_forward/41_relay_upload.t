# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Relay: request bodies reach the daemon intact, whatever
# httpd had already read with the head.
#   - a 64 MiB PUT whose first 64 KiB arrive with the head, over HTTPS and
#     on plaintext in auto mode (relayed because bytes were buffered)
#   - chunked PUTs: the daemon gets them chunked again ("transfer_encoding":
#     "chunked"), plaintext (relay and auto) and TLS
#   - Expect: 100-continue over TLS: exactly one 100, then the daemon's
#     answer, also when the daemon writes a 100 of its own
#   - a daemon that answers (413) without reading the body while the client
#     sends 20 MiB: the client gets the 413 well before the relay timeout
#   - HTTP/2: a 5 MiB POST, and the access log shows the daemon's status
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Digest::SHA ();
use File::Temp ();
use IO::Select ();
use IO::Socket::SSL ();
use Time::HiRes qw(time sleep);
use XapiForward::AccessLog qw(access_mode log_line mark);
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::Envelope qw(decode_ordered);
use XapiForward::Raw qw(h2_skip conn send_all port_of host_of raw_connect parse_responses read_responses);

plan tests => 53, need_module('proxy', 'xapi_forward', 'ssl');

$SIG{PIPE} = 'IGNORE';

my $h2_skip = h2_skip();

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));

# ---- helpers ------------------------------------------------------------

# a non-blocking read or write that only has to be tried again
sub again {
    my $s = shift;
    return 1 if $!{EAGAIN} || $!{EWOULDBLOCK};
    return $s->isa('IO::Socket::SSL')
      && ($IO::Socket::SSL::SSL_ERROR // '') =~ /wants a (?:read|write)/;
}

sub slurp {
    open my $fh, '<:raw', shift or return '';
    local $/;
    return <$fh> // '';
}

sub digest_answer {
    my $body = shift;
    return sprintf "length=%d sha256=%s\n", length $body,
      Digest::SHA::sha256_hex($body);
}

# 64 KiB blocks that each carry their number: a lost, doubled or swapped
# block changes the digest
sub numbered_body {
    my $blocks = shift;
    return join '', map { pack('N', $_) x 16384 } 0 .. $blocks - 1;
}

sub head_of {
    my($vh, $method, $target, @h) = @_;
    return "$method $target HTTP/1.1\r\nHost: " . host_of($vh) . "\r\n"
      . join('', map { "$_\r\n" } @h) . "\r\n";
}

sub chunked {
    my($body, @sizes) = @_;
    my($out, $off, $i) = ('', 0, 0);
    while ($off < length $body) {
        my $k = $sizes[$i % @sizes];
        $k = length($body) - $off if $k > length($body) - $off;
        $out .= sprintf('%x', $k) . ($i % 3 == 1 ? ';name=value' : '')
          . "\r\n" . substr($body, $off, $k) . "\r\n";
        $off += $k;
        $i++;
    }
    return $out . "0\r\nX-Trailer: yes\r\n\r\n";
}

# t/conf/relay.conf.in's access log since this test started:
# "METHOD TARGET STATUS BYTES fwd=... reply=..." of the first matching line
my $ACCESS_POS = mark('xf_relay_access_log');
sub relay_access {
    my $l = log_line('xf_relay_access_log', $ACCESS_POS, @_) // return '';
    $l =~ s/^\d+ //;
    return $l;
}

# ======================= 64 MiB PUT, first bytes with the head ============
my $BIG = numbered_body(1024);
my $BIG_ANSWER = digest_answer($BIG);
for my $case (['xf_tls', 'tls'], ['xf_auto', 'auto']) {
    my($vh, $tag) = @$case;
    my $target = "/r/body?put64=$tag";
    my $s = conn($vh);
    my $t0 = time;
    send_all($s, head_of($vh, 'PUT', $target,
                         'Content-Type: application/octet-stream',
                         'Content-Length: ' . length $BIG)
             . substr($BIG, 0, 65536));
    send_all($s, substr($BIG, 65536));
    my @r = @{ (read_responses($s, 1, 60, 'PUT'))[0] };
    my $secs = time - $t0;
    close $s;
    ok t_cmp(@r ? "$r[0]{status} $r[0]{body}" : 'no response',
             "200 $BIG_ANSWER", "$tag: 64 MiB PUT reached the daemon intact");
    ok t_cmp(relay_access('PUT', $target), "PUT $target 200 "
             . length($BIG_ANSWER) . ' fwd=relay reply=-',
             "$tag: 64 MiB PUT relayed, daemon's status in the access log");
    t_debug(sprintf "%s: 64 MiB PUT in %.2f s", $tag, $secs);
    my $e = eval { decode_ordered($d->envelope('rrdd')) };
    ok t_cmp($e ? $e->get('content_length') : 'no envelope', length $BIG,
             "$tag: \"content_length\" in the envelope");
}
ok t_cmp(access_mode('PUT', '/r/body?put64=auto'), 'relay',
         'auto: relayed because bytes were buffered (xf_access_log)');
$log->check('64 MiB PUTs');

# ======================= chunked PUT ======================================
{
    my $body = numbered_body(40) . 'tail';    # 2.5 MiB and a bit
    my $want = digest_answer($body);
    my $wire = chunked($body, 1, 10, 4096, 65536, 300000, 7);
    for my $case (['xf_relay', 'relay'], ['xf_auto', 'auto'],
                  ['xf_tls', 'tls']) {
        my($vh, $tag) = @$case;
        my $target = "/r/body?chunked=$tag";
        my $s = conn($vh);
        # head and the first chunks together, the rest after a pause
        send_all($s, head_of($vh, 'PUT', $target,
                             'Transfer-Encoding: chunked')
                 . substr($wire, 0, 5000));
        sleep 0.2;
        send_all($s, substr($wire, 5000));
        my @r = @{ (read_responses($s, 1, 30, 'PUT'))[0] };
        close $s;
        ok t_cmp(@r ? "$r[0]{status} $r[0]{body}" : 'no response',
                 "200 $want", "$tag: chunked PUT reached the daemon intact");
        my $e = eval { decode_ordered($d->envelope('rrdd')) };
        ok t_cmp($e ? ($e->get('transfer_encoding') // 'none') . ' '
                 . ($e->get('content_length') // 'none') : 'no envelope',
                 'chunked none',
                 "$tag: envelope says chunked, no content_length");
        ok t_cmp(relay_access('PUT', $target), qr/ 200 \d+ fwd=relay /,
                 "$tag: chunked PUT relayed");
    }
    $log->check('chunked PUTs');
}

# ======================= Expect: 100-continue over TLS ====================
# (the second case on plaintext in relay mode, where the relay timeout is
# 10 s, not 60: a daemon's own 100 must not pass for an early answer)
for my $case (['xf_tls', 'body', 'TLS, httpd answers 100'],
              ['xf_relay', 'body100', 'the daemon writes a 100 too']) {
    my($vh, $mode, $what) = @$case;
    my $body = numbered_body(128);    # 8 MiB: more than a socket buffer
    my $target = "/r/$mode?expect=1";
    my $s = conn($vh);
    send_all($s, head_of($vh, 'PUT', $target,
                         'Content-Length: ' . length $body,
                         'Expect: 100-continue'));
    my @r = @{ (read_responses($s, 1, 5, 'PUT'))[0] };
    ok t_cmp(@r ? $r[0]{status} : 'nothing within 5 s', 100,
             "Expect, $what: 100 Continue before the body");
    send_all($s, $body);
    my @rest = @{ (read_responses($s, 1, 15, 'PUT'))[0] };
    close $s;
    ok t_cmp(join(' | ', map { "$_->{status} $_->{body}" } @rest),
             '200 ' . digest_answer($body),
             "Expect, $what: then only the daemon's answer, body intact");
}
$log->check('Expect: 100-continue');
ok t_cmp(relay_access('PUT', '/r/body100?expect=1'),
         qr{^PUT /r/body100\?expect=1 200 \d+ fwd=relay reply=-$},
         'Expect, the daemon writes a 100 too: the access log has its 200, '
         . 'not the 100');

# ======================= the daemon answers before reading the body =======
# xf_relay: ProxyTimeout 10; the daemon writes 413 at once and keeps its
# end open (hold=1) or closes it (hold=0), reading nothing
{
    my $body = 'b' x (20 << 20);
    for my $case (['xf_relay', 1, 'plain'], ['xf_relay', 0, 'plain, closed'],
                  ['xf_tls', 1, 'TLS']) {
        my($vh, $hold, $tag) = @$case;
        my $id = "$tag" =~ s/\W+/_/gr;
        my $target = "/r/early?code=413&hold=$hold&id=$id";
        my $s = conn($vh);
        my $t0 = time;
        # write the body until the answer is there (or all of it is sent)
        my $data = '';
        my $sent = 0;
        my $head = head_of($vh, 'PUT', $target,
                           'Content-Length: ' . length $body);
        my $sel = IO::Select->new($s);
        send_all($s, $head) or die "cannot send the head\n";
        $s->blocking(0);    # never block in a write httpd no longer reads
        my $answered;
        while (time - $t0 < 20) {
            my $pending = $s->can('pending') ? $s->pending : 0;
            if ($pending || $sel->can_read(0)) {
                my $n = sysread($s, $data, 65536, length $data);
                my($r) = parse_responses($data, 'PUT');
                if ($r && $r->{complete}) { $answered = time - $t0; last }
                last if defined $n && $n == 0;
                last if !defined $n && !again($s);
                next;
            }
            if ($sent < length $body && $sel->can_write(0.05)) {
                my $n = syswrite($s, $body, 65536, $sent);
                $sent += $n if $n;
                last if !defined $n && !again($s);
                next;
            }
            $sel->can_read(0.05);
        }
        close $s;
        my($r) = parse_responses($data, 'PUT');
        ok t_cmp($r ? "$r->{status} $r->{body}" : 'no answer',
                 "413 refused early\n", "early 413 ($tag): relayed");
        ok t_cmp(defined $answered && $answered < 4 ? 1
                 : 'after ' . ($answered // 'never'), 1,
                 "early 413 ($tag): well before the 10 s relay timeout");
        t_debug(sprintf "early 413 (%s): %.2f s, %d body bytes sent", $tag,
                $answered // -1, $sent);
        ok t_cmp(relay_access('PUT', $target),
                 "PUT $target 413 14 fwd=relay reply=-",
                 "early 413 ($tag): access log");
        $log->check("early 413 ($tag)",
                    expect => { XAPIFWD0110 => 'debug' });
    }
    # the daemon saw its end closed once httpd was done
    my $deadline = time + 10;
    my @ev;
    while (time < $deadline) {
        @ev = grep { /^early / } split /\n/, ($d->slurp('rrdd.events') // '');
        last if @ev >= 3;
        sleep 0.1;
    }
    ok t_cmp(join(' ', sort map { /id=(\S+) closed_after=(\S+)/ && $2 ne 'never'
                                    && $2 < 5 ? "$1" : "$_" } @ev),
             'TLS plain plain_closed',
             'early 413: httpd closed the daemon\'s end each time');
}

# an early 200 keeps the connection: httpd must discard the rest of the
# body, and the next request on the connection is read as a request
for my $vh (qw(xf_relay xf_tls)) {
    my $tag = $vh eq 'xf_tls' ? 'TLS' : 'plain';
    my $body = numbered_body(32);    # 2 MiB
    my $s = conn($vh);
    send_all($s, head_of($vh, 'PUT', "/r/early?code=200&hold=0&id=ka-$tag",
                         'Content-Length: ' . length $body) . $body);
    my @r = @{ (read_responses($s, 1, 10, 'PUT'))[0] };
    ok t_cmp(@r ? "$r[0]{status} $r[0]{body} "
             . ($r[0]{h}{connection} // 'none') : 'nothing',
             "200 refused early\n none",
             "early 200 ($tag): relayed, connection kept");
    send_all($s, head_of($vh, 'GET', "/r/hello?after-early=$tag",
                         'Connection: close'));
    @r = @{ (read_responses($s, 1, 10))[0] };
    close $s;
    ok t_cmp(@r ? "$r[0]{status} $r[0]{body}" : 'nothing',
             "200 hello from rrdd\n",
             "early 200 ($tag): the next request on the connection is "
             . 'answered (the rest of the body was discarded)');
}
$log->check('early 200, keep-alive', expect => { XAPIFWD0110 => 'debug' });

# ======================= HTTP/2 ============================================
if (!$h2_skip) {
    my $body = numbered_body(80);    # 5 MiB
    my $file = File::Temp->new;
    binmode $file;
    print $file $body;
    close $file;
    my $out = File::Temp->new;
    my $hp = host_of('xf_tls');
    my $w = `curl -s -k --http2 --max-time 60 -o $out -w '%{http_code} %{http_version}' --data-binary \@$file -H 'Content-Type: application/octet-stream' https://$hp/r/body?h2=5m`;
    my $got = slurp("$out");
    ok t_cmp("$w $got", '200 2 ' . digest_answer($body),
             'h2 POST 5 MiB: the daemon read it intact');
    my $l = relay_access('POST', '/r/body?h2=5m');
    ok t_cmp($l, qr{^POST /r/body\?h2=5m 200 \d+ fwd=relay reply=-$},
             'h2 POST 5 MiB: access log has the daemon\'s status');

    $w = `curl -s -k --http2 --max-time 30 -o $out -w '%{http_code} %{http_version}' 'https://$hp/r/status?code=418&len=77&h2=1'`;
    $got = slurp("$out");
    ok t_cmp("$w " . length $got, '418 2 77', 'h2 GET: the daemon\'s 418');
    ok t_cmp(relay_access('GET', '/r/status?code=418&len=77&h2=1'),
             'GET /r/status?code=418&len=77&h2=1 418 77 fwd=relay reply=-',
             'h2 GET: access log has 418 and the byte count');
    $log->check('h2 uploads');

    # the daemon refuses at once while curl uploads 20 MiB over h2.
    # mod_http2 sends the complete 413 and then RST_STREAM(NO_ERROR), as
    # RFC 9113 8.1 allows when the request body is not wanted; curl 7.88
    # sometimes drops the response on that reset (http_code 000, exit 92
    # or 16): the 413 is then checked in the access log only
    my $big = File::Temp->new;
    binmode $big;
    print $big 'e' x (20 << 20);
    close $big;
    # xf_relay_tls: ProxyTimeout 10 (xf_tls waits for the server's Timeout)
    my $rp = host_of('xf_relay_tls');
    my $t0 = time;
    { open my $t, '>', "$out" or die; }    # empty it: curl may write nothing
    $w = `curl -s -k --http2 --max-time 30 -o $out -w '%{http_code} %{http_version}' -T $big 'https://$rp/r/early?code=413&hold=1&id=h2'`;
    my $rc = $? >> 8;
    my $secs = time - $t0;
    $got = slurp("$out");
    ok t_cmp($w eq '413 2' ? "$w $got" : $w =~ /^000/ && $rc ? 'reset' : "$w $got (curl exit $rc)",
             $w eq '413 2' ? "413 2 refused early\n" : 'reset',
             'h2 upload, early 413: the 413, or the stream reset after it');
    ok t_cmp(relay_access('PUT', '/r/early?code=413&hold=1&id=h2'),
             'PUT /r/early?code=413&hold=1&id=h2 413 14 fwd=relay reply=-',
             'h2 upload, early 413: relayed (access log)');
    ok t_cmp($secs < 4 ? 1 : sprintf('after %.1f s', $secs), 1,
             'h2 upload, early 413: well before the 10 s relay timeout');
    $log->check('h2 upload, early 413', expect => { XAPIFWD0110 => 'debug' });
}
else {
    skip($h2_skip, 0) for 1 .. 9;
}

ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');
$log->check('end');
