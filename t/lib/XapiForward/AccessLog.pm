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

our @EXPORT_OK = qw(access_line access_mode);

# the first line that contains " $method $target " (target with its query),
# waiting up to $timeout seconds (default 5); undef when none
sub access_line {
    my($method, $target, $timeout) = @_;
    my $file = Apache::Test::vars('t_logs') . '/xf_access_log';
    my $needle = " $method $target ";
    my $deadline = time + ($timeout || 5);
    while (1) {
        if (open my $fh, '<', $file) {
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

# "handoff", "relay" or "-" (XAPI_FORWARD unset) for a request
sub access_mode {
    my $l = access_line(@_);
    return defined $l && $l =~ / xf=(\S+)$/ ? $1 : '';
}

1;
