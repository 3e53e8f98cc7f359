# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::Load - load from ApacheBench and what it leaves behind in
# the server's processes.
#
#   my $r = ab(url => $url, n => 1000, c => 20, keepalive => 1);
#   $r->{complete}, $r->{failed}, $r->{non2xx}, $r->{keepalive}, $r->{rps}
#   my $snap = snapshot(httpd_children());   # { pid => {fds, rss_kb} }
#
# ab without -k sends one HTTP/1.0 request per connection: what a hand-off
# needs (a plain request, nothing pipelined). ab -k sends HTTP/1.0 with
# "Connection: Keep-Alive" and reuses the connection while the server
# keeps it open: relay mode keeps it open, a hand-off never does (the
# daemon closes), so -k is used for the relay only.
package XapiForward::Load;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';

our @EXPORT_OK = qw(ab ab_path snapshot proc_fds proc_rss_kb);

sub ab_path {
    for my $p (split(/:/, $ENV{PATH} || ''), '/usr/bin', '/usr/sbin') {
        return "$p/ab" if -x "$p/ab";
    }
    return undef;
}

# Run ab; returns its figures (and the raw output in {out}).
sub ab {
    my %o = @_;
    my $ab = ab_path() or die "ab not found (apache2-utils)\n";
    my @cmd = ($ab, '-q', '-r', '-s', $o{timeout} || 60,
               '-n', $o{n}, '-c', $o{c}, ($o{keepalive} ? '-k' : ()),
               $o{url});
    open my $fh, '-|', @cmd or die "ab: $!\n";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my %r = (out => $out, exit => $? >> 8);
    my %re = (complete => qr/^Complete requests:\s+(\d+)/m,
              failed => qr/^Failed requests:\s+(\d+)/m,
              non2xx => qr/^Non-2xx responses:\s+(\d+)/m,
              keepalive => qr/^Keep-Alive requests:\s+(\d+)/m,
              rps => qr/^Requests per second:\s+([\d.]+)/m,
              seconds => qr/^Time taken for tests:\s+([\d.]+)/m);
    for my $k (keys %re) {
        $r{$k} = $out =~ $re{$k} ? $1 : 0;
    }
    return \%r;
}

# open descriptors of a process (ours: the test httpd runs as we do)
sub proc_fds {
    my $pid = shift;
    opendir my $d, "/proc/$pid/fd" or return undef;
    my $n = grep { !/^\./ } readdir $d;
    closedir $d;
    return $n;
}

sub proc_rss_kb {
    my $pid = shift;
    open my $fh, '<', "/proc/$pid/status" or return undef;
    while (<$fh>) {
        return $1 if /^VmRSS:\s+(\d+)/;
    }
    return undef;
}

# { pid => { fds => N, rss_kb => K } } for the given pids still alive
sub snapshot {
    my %s;
    for my $pid (@_) {
        my $fds = proc_fds($pid);
        next unless defined $fds;
        $s{$pid} = { fds => $fds, rss_kb => proc_rss_kb($pid) };
    }
    return \%s;
}

1;
