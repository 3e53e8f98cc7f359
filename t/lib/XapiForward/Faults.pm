# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::Faults - concurrent clients while a fault happens, and the
# descriptors the server's processes hold before and after.
#
#   my $load = clients($port, [@targets], clients => 6, timeout => 20,
#                      headers => ['Cookie: session_id=...']);
#   ... break something ...
#   my @r = $load->collect; # one hash per request, in @targets order:
#                           # target, status (0: none), len (body bytes),
#                           # clen (Content-Length or -1), eof, error
#   outcomes(@r);           # "200 x4, closed x2" (closed: no status line)
#   my $fds = fd_counts(httpd_children());        # { pid => count }
#   my($same, $grown) = fds_back($fds, $timeout); # [pids], ["pid:a->b"]
#
# Each client is a forked process sending its share of @targets one after
# the other, each on a new connection (HTTP/1.1, Connection: close, so a
# hand-off is possible); $port is a number or a vhost name.
package XapiForward::Faults;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Time::HiRes qw(time sleep);
use XapiForward::Load qw(proc_fds);
use XapiForward::Proc qw(fork_pipe read_pipe);
use XapiForward::Raw qw(raw_connect read_all port_of);

our @EXPORT_OK = qw(clients outcomes fd_counts fds_back one);

# One request on a new connection; the parsed outcome.
sub one {
    my($port, $target, %o) = @_;
    my %r = (target => $target, status => 0, len => 0, clen => -1, eof => 0,
             error => '');
    my $s = eval { raw_connect($port) };
    if (!$s) {
        $r{error} = "connect: $@";
        $r{error} =~ s/\s+\z//;
        return \%r;
    }
    my $req = "GET $target HTTP/1.1\r\nHost: localhost:" . port_of($port)
      . "\r\n" . join('', map { "$_\r\n" } @{ $o{headers} || [] })
      . "Connection: close\r\n\r\n";
    if (!defined syswrite $s, $req) {
        $r{error} = "write: $!";
        return \%r;
    }
    my($data, $eof, $err) = read_all($s, $o{timeout} || 20);
    close $s;
    @r{qw(eof error)} = ($eof, $err);
    my $at = index $data, "\r\n\r\n";
    if ($data =~ m{\AHTTP/1\.\d (\d{3})} && $at >= 0) {
        $r{status} = $1;
        my $head = substr $data, 0, $at;
        $r{clen} = $1 if $head =~ /^Content-Length:\s*(\d+)/mi;
        $r{len} = length($data) - $at - 4;
    }
    else {
        $r{len} = length $data;
    }
    return \%r;
}

sub clients {
    my($port, $targets, %o) = @_;
    my $n = $o{clients} || 4;
    my @kids;
    for my $k (0 .. $n - 1) {
        my @mine = grep { $_ % $n == $k } 0 .. $#$targets;
        next unless @mine;
        push @kids, fork_pipe(sub {
            my $wr = shift;
            for my $i (@mine) {
                my $r = one($port, $targets->[$i], %o);
                $r->{error} =~ s/[\s|]+/ /g;
                print $wr join('|', $i, @$r{qw(status len clen eof error)}),
                  "\n";
            }
        });
    }
    return bless { kids => \@kids, targets => $targets }, __PACKAGE__;
}

sub collect {
    my $self = shift;
    my @r;
    for my $k (@{ $self->{kids} }) {
        for my $l (split /\n/, read_pipe($k)) {
            my($i, $status, $len, $clen, $eof, $error) = split /\|/, $l, 6;
            $r[$i] = { target => $self->{targets}[$i], status => $status,
                       len => $len, clen => $clen, eof => $eof,
                       error => $error // '' };
        }
    }
    # a client that died leaves a hole: say so
    for my $i (0 .. $#{ $self->{targets} }) {
        $r[$i] ||= { target => $self->{targets}[$i], status => 0, len => 0,
                     clen => -1, eof => 0, error => 'client died' };
    }
    return @r;
}

# "200 x3, 503 x1, closed x2"; with $full, a truncated 200 (body shorter
# than its Content-Length) counts as "200-truncated"
sub outcomes {
    my %n;
    for my $r (@_) {
        my $k = $r->{status} ? $r->{status} : 'closed';
        $k .= '-truncated'
          if $r->{status} && $r->{clen} >= 0 && $r->{len} < $r->{clen};
        $n{$k}++;
    }
    return join ', ', map { "$_ x$n{$_}" } sort keys %n;
}

sub fd_counts {
    my %c;
    for my $pid (@_) {
        my $n = proc_fds($pid);
        $c{$pid} = $n if defined $n;
    }
    return \%c;
}

# Wait (up to $timeout s) until every process of $before still alive holds
# as many descriptors as then: lingering closes take a moment.  Returns
# ([pids compared], [descriptions of those that differ]).
sub fds_back {
    my($before, $timeout) = @_;
    my $deadline = time + ($timeout || 20);
    while (1) {
        my $now = fd_counts(keys %$before);
        my @same = sort grep { defined $now->{$_} } keys %$before;
        my @grown = map { "$_:$before->{$_}->$now->{$_}" }
                    grep { $now->{$_} != $before->{$_} } @same;
        return (\@same, \@grown) if !@grown || time > $deadline;
        sleep 0.25;
    }
}

1;
