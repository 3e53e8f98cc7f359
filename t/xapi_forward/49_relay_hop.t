# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Relay (issue 12, item 7): a field the daemon names in its Connection:
# header is hop-by-hop and does not reach the client (httpd's
# ap_proxy_clear_connection); the other fields do.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::Daemon;
use XapiForward::Raw qw(host_of exchange parse_responses);

plan tests => 5, need_module('proxy', 'xapi_forward');

my $d = XapiForward::Daemon->start(qw(rrdd));

my $r = exchange('xf_relay', "GET /r/hopconn HTTP/1.1\r\nHost: "
                 . host_of('xf_relay') . "\r\nConnection: close\r\n\r\n",
                 timeout => 20);
my($resp) = parse_responses($r->{data});
$resp ||= { status => 0, body => '', h => {} };
ok t_cmp($resp->{status}, 200, 'relayed');
ok t_cmp($resp->{body}, 'abc', 'body');
ok t_cmp($resp->{h}{'x-kept'}, '1', 'an end-to-end field is kept');
ok t_cmp($resp->{h}{'x-hop-test'}, undef,
         'a field named in Connection: is dropped');
ok t_cmp($resp->{h}{'x-daemon'}, 'rrdd', 'from the daemon');
