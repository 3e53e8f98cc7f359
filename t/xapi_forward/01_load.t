# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# The module loads, the server answers, one request reaches the daemon, and
# httpd started without complaints.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use XapiForward::Daemon;
use XapiForward::ErrorLog;

plan tests => 8, need_module('proxy', 'xapi_forward');

my $vars = Apache::Test::vars();

# startup: the banner, and no [warn] or worse outside requests (lines
# logged for a request carry "[client ...]"; other tests check those)
{
    my $log = "$vars->{t_logs}/error_log";
    open my $fh, '<', $log or die "$log: $!";
    my @lines = <$fh>;
    my @banner = grep { /XAPIFWD0001/ } @lines;
    ok t_cmp(scalar(@banner) > 0, 1, 'startup banner XAPIFWD0001 logged');
    my @bad = grep {
        XapiForward::ErrorLog::level_of($_)
            =~ /^(?:emerg|alert|crit|error|warn)$/ && !/\] \[client /
    } @lines;
    ok t_cmp(join('', @bad), '', 'no [warn] or worse at startup');
}

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));

# the plain server
my $r = GET '/xf/hello.txt';
ok t_cmp($r->code, 200, 'static file');
ok t_cmp($r->content, "xapi_forward test tree\n", 'static body');

# one hand-off through the module
Apache::TestRequest::module('xf_core');
$r = GET '/r/hello';
ok t_cmp($r->code, 200, 'GET /r/hello via xapi://rrdd/');
ok t_cmp($r->content, "hello from rrdd\n", 'answered by the rrdd daemon');
ok t_cmp(join("\n", $d->errors), '', 'daemon saw no errors');
$log->check('load');
