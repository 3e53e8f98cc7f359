# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Relay (issue 4, item 7): a daemon that misbehaves behind the relay.
#   closes before a (complete) status line   -> 502 + XAPIFWD0102
#   garbage status line                      -> 502 + XAPIFWD0103
#   head too large (one 100 KiB field, or 200 fields) -> 502 + XAPIFWD0103
#   stalls (never answers)                   -> 504 + XAPIFWD0104 after the
#                                               worker's timeout=2, and the
#                                               daemon's end is closed
#   body shorter than its Content-Length     -> the client sees the response
#                                               cut off (connection closed,
#                                               h2 stream reset) + XAPIFWD0113/0114
# on plaintext (XapiForwardMode relay), TLS and HTTP/2; and httpd keeps
# answering afterwards.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use File::Temp ();
use IO::Select ();
use IO::Socket::SSL ();
use Time::HiRes qw(time sleep);
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::Raw qw(h2_skip conn port_of host_of exchange parse_responses);

plan tests => 57, need_module('proxy', 'xapi_forward', 'ssl');

$SIG{PIPE} = 'IGNORE';

my $h2_skip = h2_skip();

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
sub events { $d->events('rrdd', shift) }

# one request, Connection: close; the answer as parse_responses sees it plus
# eof (the server closed), elapsed seconds and the raw bytes
sub get {
    my($vh, $target) = @_;
    my $req = "GET $target HTTP/1.1\r\nHost: " . host_of($vh)
      . "\r\nConnection: close\r\n\r\n";
    my($data, $eof, $t0) = ('', 0, time);
    if ($vh =~ /tls/) {
        my $s = conn($vh);
        print $s $req;
        my $sel = IO::Select->new($s);
        while ($s->pending || $sel->can_read(20)) {
            my $n = sysread($s, $data, 1 << 20, length $data);
            unless ($n) { $eof = 1; last }
        }
        close $s;
    }
    else {
        my $r = exchange($vh, $req, timeout => 20);
        ($data, $eof) = ($r->{data}, $r->{eof} || $r->{error} =~ /reset/i);
    }
    my($resp) = parse_responses($data);
    $resp ||= { status => 0, complete => 0, body => '', h => {} };
    $resp->{eof} = $eof;
    $resp->{elapsed} = time - $t0;
    $resp->{bytes} = length $data;
    return $resp;
}

sub wait_event {
    my($re, $timeout) = @_;
    my $deadline = time + ($timeout || 10);
    my @e;
    sleep 0.05 until (@e = events($re)) || time > $deadline;
    return $e[0] // '';
}

# curl (HTTP/2 over TLS): (exit code, status, body bytes, seconds)
sub curl_h2 {
    my $target = shift;
    my $out = File::Temp->new;
    my $t0 = time;
    my $w = `curl -s -k --http2 --max-time 20 -o $out -w '%{http_code}' 'https://localhost:${\ port_of('xf_relay_tls')}$target'`;
    my $rc = $? >> 8;
    return ($rc, $w, -s "$out" || 0, time - $t0);
}

my @VHOSTS = (['xf_relay', 'plain'], ['xf_relay_tls', 'TLS']);

# ---- a bad or missing response head: 502 ----------------------------------
my @HEADS = (['silent',   'XAPIFWD0102', 'closes without a byte'],
             ['halfhead', 'XAPIFWD0102', 'closes in the middle of the head'],
             ['garbage',  'XAPIFWD0103', 'garbage status line'],
             ['hugehead', 'XAPIFWD0103', 'a 100 KiB header field'],
             ['manyhead', 'XAPIFWD0103', '200 header fields']);
for my $v (@VHOSTS) {
    my($vh, $tag) = @$v;
    for my $c (@HEADS) {
        my($mode, $tagno, $what) = @$c;
        my $r = get($vh, "/r/$mode?id=$tag");
        ok t_cmp("$r->{status} " . ($r->{h}{'x-daemon'} // 'httpd'),
                 '502 httpd', "$tag, daemon $what: 502 from httpd");
        $log->check("$tag, daemon $what", expect => { $tagno => 'error' });
    }
}
if (!$h2_skip) {
    my @got = map { my($rc, $code) = curl_h2("/r/$_->[0]?id=h2"); "$rc $code" }
              @HEADS;
    ok t_cmp(join(' | ', @got), join(' | ', ('0 502') x @HEADS),
             'h2: 502 for each bad head');
    $log->check('h2 bad heads', expect => { XAPIFWD0102 => 'error',
                                            XAPIFWD0103 => 'error' });
}
else {
    skip($h2_skip, 0) for 1 .. 2;
}
# the daemon's writes of the oversized heads may have been cut short, but
# they were all made
{
    my $want = $h2_skip ? 4 : 6;
    my $deadline = time + 5;
    sleep 0.05 while events(qr/^(?:hugehead|manyhead) /) < $want
      && time < $deadline;
    ok t_cmp(scalar(events(qr/^(?:hugehead|manyhead) /)), $want,
             'the daemon wrote (or tried) every oversized head');
}

# ---- stall: 504 after the worker's timeout=2 ---------------------------------
for my $v (@VHOSTS) {
    my($vh, $tag) = @$v;
    my $r = get($vh, "/t2/stall?id=$tag");
    ok t_cmp($r->{status}, 504, "$tag, daemon stalls: 504");
    ok t_cmp($r->{elapsed} > 1.5 && $r->{elapsed} < 6 ? 1
             : sprintf('after %.1f s', $r->{elapsed}), 1,
             "$tag, daemon stalls: after the 2 s timeout");
    $log->check("$tag, daemon stalls", expect => { XAPIFWD0104 => 'error' });
    ok t_cmp(wait_event(qr/^stall id=\Q$tag\E /),
             qr/^stall id=\Q$tag\E closed_after=[1-5]\.\d$/,
             "$tag, daemon stalls: httpd closed the daemon's end");
}
if (!$h2_skip) {
    my($rc, $code, $n, $secs) = curl_h2('/t2/stall?id=h2');
    ok t_cmp("$rc $code", '0 504', 'h2, daemon stalls: 504');
    $log->check('h2, daemon stalls', expect => { XAPIFWD0104 => 'error' });
}
else {
    skip($h2_skip, 0) for 1 .. 2;
}

# ---- the body breaks off after the head went out -----------------------------
for my $v (@VHOSTS) {
    my($vh, $tag) = @$v;
    # XAPIFWD0113: closed before the end; XAPIFWD0114: timed out
    for my $c (['/r/truncate?id=%s-len', 'Content-Length 100000, 1000 bytes, close', 'XAPIFWD0113'],
               ['/r/truncate?te=chunked&id=%s-chunked', 'chunked, 1000 bytes, close', 'XAPIFWD0113'],
               ['/t2/truncate?hold=1&id=%s-stall', '1000 bytes, then stalls', 'XAPIFWD0114']) {
        my($fmt, $what, $want) = @$c;
        my $r = get($vh, sprintf $fmt, $tag);
        ok t_cmp(join(' ', $r->{status}, $r->{complete} ? 'complete' : 'cut',
                      length $r->{body}, $r->{eof} ? 'closed' : 'open'),
                 '200 cut 1000 closed',
                 "$tag, daemon's body $what: the client sees it cut off");
        ok t_cmp($r->{elapsed} < 8 ? 1 : sprintf('after %.1f s', $r->{elapsed}),
                 1, "$tag, daemon's body $what: without delay");
        $log->check("$tag, body $what", expect => { $want => 'error' });
    }
}
if (!$h2_skip) {
    my($rc, $code, $n) = curl_h2('/r/truncate?id=h2');
    ok t_cmp($rc != 0 && $n <= 1000 ? 'cut' : "curl exit $rc, $n bytes",
             'cut', 'h2, truncated body: curl sees the stream cut off');
    $log->check('h2, truncated body', expect => { XAPIFWD0113 => 'error' });
}
else {
    skip($h2_skip, 0) for 1 .. 2;
}

# ---- httpd is fine -------------------------------------------------------------
for my $v (@VHOSTS) {
    my($vh, $tag) = @$v;
    my $r = get($vh, "/r/hello?after=$tag");
    ok t_cmp("$r->{status} $r->{body}", "200 hello from rrdd\n",
             "$tag: still answering");
}
ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');
$log->check('end');
