# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Relay: request bodies keep flowing after an early answer (issue 8).
#   - xcp-rrdd's PUT /rrd: "200 OK" with no length and Connection:
#     keep-alive *before* the daemon reads the body; then it reads
#     content_length bytes and closes.  5 MiB and 200 MiB, HTTP/1.1 over TLS
#     and h2: the daemon gets every byte, the client a complete 200.
#   - the refusal pattern still works: 413 + Connection: close, the daemon
#     shuts its end (and: keeps it open without reading).
#   - 200 uploads of 5 MiB in a row on keep-alive TLS connections to a
#     daemon that reads everything, then answers: every answer complete, the
#     connection never dropped (a stall ended with a premature close).
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Digest::SHA ();
use File::Temp ();
use IO::Select ();
use Time::HiRes qw(time);
use XapiForward::AccessLog qw(log_line mark);
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::Raw qw(h2_skip conn send_all host_of parse_responses);

plan tests => 19, need_module('proxy', 'xapi_forward', 'ssl');

$SIG{PIPE} = 'IGNORE';

my $VH = 'xf_early_tls';
my $HOST = host_of($VH);
my $h2_skip = h2_skip();
my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));

# a file of $mib MiB of numbered 64 KiB blocks, and its sha256
sub body_file {
    my $mib = shift;
    my $f = File::Temp->new;
    binmode $f;
    print $f pack('N', $_) x 16384 for 0 .. $mib * 16 - 1;
    close $f;
    my $sha = Digest::SHA->new(256)->addfile("$f", 'b')->hexdigest;
    return ($f, -s "$f", $sha);
}

# curl -T: "code version body"
sub curl_put {
    my($ver, $file, $target) = @_;
    my $out = File::Temp->new;
    my $w = `curl -s -k $ver --max-time 120 -o $out -w '%{http_code} %{http_version}' -T $file 'https://$HOST$target'`;
    open my $fh, '<:raw', "$out" or die;
    local $/;
    my $body = <$fh> // '';
    return "$w $body";
}

# the daemon's event line for id $id (waits a little: it logs after the
# client has its answer)
sub event_of {
    my($what, $id) = @_;
    my $deadline = time + 10;
    while (1) {
        my($e) = $d->events('rrdd', qr/^$what id=\Q$id\E /);
        return $e if $e || time > $deadline;
        select undef, undef, undef, 0.05;
    }
}

# ======================= xcp-rrdd's PUT /rrd ===============================
my %files = (5 => [body_file(5)], 200 => [body_file(200)]);
for my $case (['--http1.1', '1.1'], ['--http2', '2']) {
    my($opt, $ver) = @$case;
    for my $mib (5, 200) {
        my($file, $len, $sha) = @{ $files{$mib} };
        my $id = "rrd-$mib-h$ver";
        if ($ver eq '2' && $h2_skip) {
            skip($h2_skip, 0) for 1 .. 2;
            next;
        }
        my $got = curl_put($opt, "$file", "/e/rrdput?uuid=x&is_host=true&id=$id");
        ok t_cmp($got, "200 $ver ", "PUT /rrd $mib MiB over HTTP/$ver: 200, "
                 . 'empty body');
        ok t_cmp(event_of('rrdput', $id) // 'no event',
                 "rrdput id=$id got=$len want=$len sha256=$sha ok",
                 "PUT /rrd $mib MiB over HTTP/$ver: the daemon read the "
                 . 'whole body (answered before reading it)');
    }
}
$log->check('PUT /rrd, answer before the body',
            allow => [qr/XAPIFWD0120/]);

# ======================= refusals ==========================================
{
    my($file) = @{ $files{5} };
    # 413 + Connection: close, the daemon shuts its end: over HTTP/1.1 the
    # client gets the 413 (curl stops sending on it)
    my $got = curl_put('--http1.1', "$file", '/e/earlyclose?id=ec1');
    ok t_cmp($got, "413 1.1 refused early\n",
             'early 413, daemon closes: relayed');
    # the daemon keeps its end open without reading: the complete 413 with
    # Connection: close is enough to stop the body
    $got = curl_put('--http1.1', "$file", '/e/early?code=413&hold=1&id=eh1');
    ok t_cmp($got, "413 1.1 refused early\n",
             'early 413, daemon holds its end: relayed');
    ok t_cmp(scalar(event_of('early', 'eh1')) =~ /closed_after=(\d+)/
             ? 'closed' : 'never', 'closed',
             "early 413, daemon holds its end: httpd closed the daemon's "
             . 'end');
    ok t_cmp(log_line('xf_relay_access_log', 0, 'PUT',
                      '/e/early?code=413&hold=1&id=eh1') // '',
             qr/ 413 14 fwd=relay /, 'early 413: access log');
    $log->check('refusals', expect => { XAPIFWD0110 => 'debug' },
                allow => [qr/XAPIFWD0120/]);
}

# ======================= 200 uploads in a row, one connection ==============
{
    my($file, $len, $sha) = @{ $files{5} };
    my $body = do { open my $fh, '<:raw', "$file" or die; local $/; <$fh> };
    my $s = conn($VH);
    my $sel = IO::Select->new($s);
    my($ok, $slow, $first_bad) = (0, 0, '');
    for my $i (1 .. 200) {
        my $t0 = time;
        my $head = "PUT /e/sink?id=row$i HTTP/1.1\r\nHost: $HOST\r\n"
          . "Content-Length: $len\r\n\r\n";
        last unless send_all($s, $head . $body);
        my $data = '';
        my $r;
        while (1) {
            ($r) = parse_responses($data, 'PUT');
            last if $r && $r->{complete};
            last unless ($s->pending || $sel->can_read(60));
            my $n = sysread($s, $data, 65536, length $data);
            last unless $n;
        }
        my $dt = time - $t0;
        $slow++ if $dt > 2;
        if ($r && $r->{complete} && $r->{status} == 200
            && $r->{body} eq "ok\n") {
            $ok++;
            # MaxKeepAliveRequests: the server said so, a new connection
            if (($r->{h}{connection} // '') =~ /close/i) {
                close $s;
                $s = conn($VH);
                $sel = IO::Select->new($s);
            }
            next;
        }
        $first_bad = "upload $i: " . ($r ? "$r->{status} incomplete" : 'nothing')
          . sprintf(' after %.1f s', $dt);
        last;
    }
    close $s;
    t_debug("200 uploads: $slow took more than 2 s");
    ok t_cmp($first_bad || $ok, 200,
             '200 relayed 5 MiB uploads on keep-alive connections: every '
             . 'answer complete, no connection dropped unannounced');
    my @ev = $d->events('rrdd', qr/^sink id=row\d+ /);
    ok t_cmp(scalar(grep { / got=$len want=$len ok$/ } @ev), 200,
             '200 uploads: the daemon got every byte of each');
    $log->check('200 uploads');
}

ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');
$log->check('end');
