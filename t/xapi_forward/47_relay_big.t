# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Relay (issue 4, item 1): a 1 GiB response streams through with bounded
# memory.  The client (a raw socket) reads and discards, checking every
# byte against the daemon's pattern; the RSS of every httpd child is
# sampled before, during and after: none may grow by 16 MiB or more.
# Takes some seconds: leave it out of the extra MPM passes when slow.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use IO::Select ();
use IO::Socket::SSL ();
use Time::HiRes qw(time sleep);
use XapiForward::Daemon qw(httpd_children);
use XapiForward::ErrorLog;
use XapiForward::Raw qw(port_of host_of raw_connect);

plan tests => 14, need_module('proxy', 'xapi_forward', 'ssl');

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));

my $MIB = 1 << 20;
my $LIMIT = 16 * $MIB;
# the daemon's /big pattern: byte i is i % 256
my $PAT = join('', map { chr } 0 .. 255) x (4 * 4096 + 1);    # 4 MiB + 256

# pid => VmRSS in bytes, for every child of the httpd parent
sub child_rss {
    my %rss;
    for my $pid (httpd_children()) {
        open my $st, '<', "/proc/$pid/status" or next;
        while (<$st>) {
            $rss{$pid} = $1 * 1024 if /^VmRSS:\s+(\d+) kB/;
        }
    }
    return \%rss;
}

# largest growth of one child against the baseline (children present in
# both), and that child
sub max_growth {
    my($base, $now) = @_;
    my($max, $who) = (0, '-');
    for my $pid (keys %$base) {
        next unless exists $now->{$pid};
        my $g = $now->{$pid} - $base->{$pid};
        ($max, $who) = ($g, $pid) if $g > $max;
    }
    return ($max, $who);
}

sub mib { sprintf '%.1f MiB', $_[0] / $MIB }

# GET $n bytes of /big on a connection; read and discard, checking the
# bytes; sample the children's RSS every 64 MiB.  Returns a hash.
sub download {
    my($vh, $n, $id) = @_;
    my $s;
    if ($vh =~ /tls/) {
        $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
                                  PeerPort => port_of($vh),
                                  SSL_verify_mode => 0,
                                  SSL_hostname => 'localhost',
                                  SSL_alpn_protocols => ['http/1.1'],
                                  Timeout => 10)
          or die "TLS connect: $IO::Socket::SSL::SSL_ERROR\n";
    }
    else {
        $s = raw_connect($vh);
    }
    my $base = child_rss();
    my $t0 = time;
    syswrite $s, "GET /r/big?bytes=$n&id=$id HTTP/1.1\r\nHost: "
      . host_of($vh) . "\r\nConnection: close\r\n\r\n";
    my $sel = IO::Select->new($s);
    my($head, $body, $bad, $eof, $peak, $peak_pid) = ('', 0, -1, 0, 0, '-');
    my $next_sample = 64 * $MIB;
    while (1) {
        last unless ($s->can('pending') && $s->pending) || $sel->can_read(30);
        my $got = sysread($s, my $buf, 4 * $MIB);
        unless ($got) { $eof = 1; last }
        if ($head !~ /\r\n\r\n/) {
            $head .= $buf;
            my $end = index $head, "\r\n\r\n";
            next if $end < 0;
            $buf = substr $head, $end + 4;
            $head = substr $head, 0, $end + 4;
            $got = length $buf;
            next unless $got;
        }
        # byte i of the body is i % 256
        if ($bad < 0 && substr($PAT, $body % 256, $got) ne $buf) {
            $bad = $body;
        }
        $body += $got;
        if ($body >= $next_sample) {
            my($g, $pid) = max_growth($base, child_rss());
            ($peak, $peak_pid) = ($g, $pid) if $g > $peak;
            $next_sample += 64 * $MIB;
        }
    }
    my $secs = time - $t0;
    close $s;
    my($g, $pid) = max_growth($base, child_rss());
    ($peak, $peak_pid) = ($g, $pid) if $g > $peak;
    return { head => $head, body => $body, bad => $bad, eof => $eof,
             secs => $secs, peak => $peak, peak_pid => $peak_pid };
}

for my $c (['xf_relay', 'plain', 1024 * $MIB], ['xf_relay_tls', 'TLS', 256 * $MIB]) {
    my($vh, $tag, $n) = @$c;
    my $what = $tag . ', ' . ($n >= 1024 * $MIB ? '1 GiB' : mib($n));
    my $r = download($vh, $n, "big-$tag");
    ok t_cmp($r->{head}, qr{^HTTP/1\.1 200 OK\r\n.*^Content-Length: $n\r$}ms,
             "$what: 200 with the daemon's Content-Length");
    ok t_cmp("$r->{body} " . ($r->{eof} ? 'eof' : 'no eof'), "$n eof",
             "$what: every byte arrived");
    ok t_cmp($r->{bad} < 0 ? 'intact' : "first bad byte at $r->{bad}",
             'intact', "$what: the daemon's bytes");
    ok t_cmp($r->{peak} < $LIMIT ? 1 : 'grew ' . mib($r->{peak})
             . " (pid $r->{peak_pid})", 1,
             "$what: no httpd child's RSS grew by 16 MiB");
    t_debug(sprintf '%s in %.1f s (%.0f MiB/s), largest RSS growth %s (pid %s)',
            $what, $r->{secs}, $r->{body} / $MIB / ($r->{secs} || 1),
            mib($r->{peak}), $r->{peak_pid});
    ok t_cmp($log->wait_for(qr/XAPIFWD0109: relayed the daemon's 200 response \($n body bytes\)/,
                            10) ? 1 : 0, 1,
             "$what: XAPIFWD0109 has the byte count");
    $log->check($what);
}

ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');
$log->check('end');
