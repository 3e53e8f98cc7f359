# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::AccessLog - read t/logs/xf_access_log, written with the
# format in t/conf/extra.conf.in:
#   "%p %m %U%q %>s %B xf=%{XAPI_FORWARD}e"
# httpd writes it after the handler returns, possibly after the client has
# its answer, so lookups wait a little.
package XapiForward::AccessLog;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Time::HiRes qw(time sleep);
use Apache::Test ();

our @EXPORT_OK = qw(access_line access_mode log_line mark);

# the first line of t/logs/$file, from byte $from on, that contains
# " $method $target " (target with its query), waiting up to $timeout
# seconds (default 5); undef when none
sub log_line {
    my($file, $from, $method, $target, $timeout) = @_;
    my $path = Apache::Test::vars('t_logs') . "/$file";
    my $needle = " $method $target ";
    my $deadline = time + ($timeout || 5);
    while (1) {
        if (open my $fh, '<', $path) {
            seek $fh, $from, 0;
            while (my $l = <$fh>) {
                next unless index($l, $needle) >= 0;
                chomp $l;
                return $l;
            }
        }
        return undef if time > $deadline;
        sleep 0.05;
    }
}

# log_line on xf_access_log, from its start
sub access_line { log_line('xf_access_log', 0, @_) }

# Where t/logs/$file ends now: log_line($file, mark($file), ...) then sees
# only what was logged after this (the relay log is not rotated between
# MPM passes).
sub mark {
    my $file = shift;
    return -s (Apache::Test::vars('t_logs') . "/$file") || 0;
}

# "handoff", "relay" or "-" (XAPI_FORWARD unset) for a request
sub access_mode {
    my $l = access_line(@_);
    return defined $l && $l =~ / xf=(\S+)$/ ? $1 : '';
}

1;
