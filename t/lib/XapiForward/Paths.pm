# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::Paths - the request targets whose path httpd normalizes to
# something else than the daemon would route on (15_path_handoff.t and
# 15_path_relay.t refuse each with 400 + XAPIFWD0300):
#
#   use XapiForward::Paths qw(bad_paths);
#   for (bad_paths()) { my($name, $fmt) = @$_; sprintf $fmt, $prefix }
#
# Each is [name, sprintf format]; the format's %s is the location prefix
# (p, q, rw...), and a literal % is written %%.
package XapiForward::Paths;

use strict;
use warnings FATAL => 'all';
use Exporter 'import';

our @EXPORT_OK = qw(bad_paths);

my @BAD = (
    ['..',               '/%s/secret/../open/echo'],
    ['.. into a denied', '/%s/open/../secret/echo'],
    ['%2e%2e',           '/%s/secret/%%2e%%2e/open/echo'],
    ['%2E.',             '/%s/secret/%%2E./open/echo'],
    ['.%2e',             '/%s/secret/.%%2e/open/echo'],
    ['//',               '/%s//secret/echo'],
    ['/./',              '/%s/./secret/echo'],
    ['trailing /..',     '/%s/open/echo/..'],
);

sub bad_paths { @BAD }

1;
