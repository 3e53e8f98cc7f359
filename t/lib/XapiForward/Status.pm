# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::Status - read mod_xapi_forward's section of server-status and
# drive concurrent clients (t/xapi_forward/8x_*.t).
#
#   my $s = status('xf_ops');       # {Handoffs => N, ..., sockets => {PATH
#                                   #  => {ok => N, ...}}, other => {...}}
#   my $s = wait_status('xf_ops', sub { $_[0]{Handoffs} >= 10 });
#   my @r = run_clients('xf_ops', 8, 25, '/h/hello');   # forked clients;
#                                   # returns one "status" per request
package XapiForward::Status;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Time::HiRes qw(time sleep);
use XapiForward::Proc qw(fork_pipe read_pipe);
use XapiForward::Raw qw(exchange host_of parse_responses);

our @EXPORT_OK = qw(status wait_status run_clients get_status);

# one GET, Connection: close; the response's status (0: no status line;
# -1: the connection was refused; -2: closed or reset before a single byte
# came back, as connections still in the listen backlog of a stopping
# server are)
sub get_status {
    my($vh, $target, %o) = @_;
    my $host = host_of($vh);
    my $r = eval {
        exchange($vh, "GET $target HTTP/1.1\r\nHost: $host\r\n"
                 . "Connection: close\r\n\r\n", timeout => $o{timeout} || 30);
    };
    return $@ =~ /^connect to/ ? -1 : 0 unless $r;
    return -2 unless length $r->{data};
    my($resp) = parse_responses($r->{data}, 'GET');
    return $resp ? $resp->{status} : 0;
}

# server-status?auto, mod_xapi_forward's lines parsed
sub status {
    my $vh = shift;
    my $host = host_of($vh);
    my $r = exchange($vh, "GET /server-status?auto HTTP/1.1\r\nHost: $host\r\n"
                     . "Connection: close\r\n\r\n", timeout => 20);
    my($resp) = parse_responses($r->{data}, 'GET');
    my %s = (sockets => {}, raw => $resp ? $resp->{body} : '');
    return \%s unless $resp && $resp->{status} == 200;
    for my $l (split /\n/, $resp->{body}) {
        if ($l =~ /^XapiForwardSocket(\d+|Other): ?(\S*)((?: \w+=\d+)*)$/) {
            my($idx, $path, $rest) = ($1, $2, $3);
            my %row = $rest =~ /(\w+)=(\d+)/g;
            if ($idx eq 'Other') { $s{other} = \%row }
            else                 { $s{sockets}{$path} = \%row }
        }
        elsif ($l =~ /^XapiForward(\w+): (\d+)$/) {
            $s{$1} = 0 + $2;
        }
    }
    return \%s;
}

# poll status() until $cond->($s) holds (or $timeout seconds, default 10);
# returns the last reading
sub wait_status {
    my($vh, $cond, $timeout) = @_;
    my $deadline = time + ($timeout || 10);
    my $s;
    while (1) {
        $s = status($vh);
        return $s if $cond->($s) || time > $deadline;
        sleep 0.1;
    }
}

# $clients forked processes, each making $each requests of $target in
# turn (or, with a code ref, of $target->($client, $i)); returns the
# statuses of all requests
sub run_clients {
    my($vh, $clients, $each, $target) = @_;
    my @kids = map {
        my $c = $_;
        fork_pipe(sub {
            my @st;
            for my $i (1 .. $each) {
                my $t = ref $target ? $target->($c, $i) : $target;
                push @st, get_status($vh, $t);
            }
            print {$_[0]} join(' ', @st), "\n";
        });
    } 1 .. $clients;
    return map { split ' ', read_pipe($_) } @kids;
}

1;
