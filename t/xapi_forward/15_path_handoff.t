# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# One path for authorization and for the daemon, hand-off side (vhost
# xf_path, t/conf/path.conf.in).  httpd matches <Location>, Require and
# ProxyPass on its normalized r->uri; the envelope would carry the target
# merely percent-decoded, and daemons route on that string.  A request
# where the two differ ("..", "%2e%2e", "%2E.", ".%2e", "//", "/./") is
# refused with 400 + XAPIFWD0300 before any access check: under
# "Require all denied" too, under XapiForwardRequirePermission without a
# call to XAPI, for every way of binding a location (ProxyPass, RewriteRule
# [P], SetHandler); the daemon receives nothing.  Raw sockets only: LWP
# and curl would normalize the paths themselves.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(checked_get session_of);
use XapiForward::Paths qw(bad_paths);

my @BAD = bad_paths();
my @FORMS = (['p', 'ProxyPass'], ['rw', 'RewriteRule [P]'],
             ['sh', 'SetHandler'], ['q', 'XapiForwardRequirePermission']);

plan tests => @FORMS * (2 + 2 * @BAD) + 7,
  need_module('proxy', 'xapi_forward', 'socache_shmcb');

my $VH = 'xf_path';
my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
my $ux = XapiForward::FakeXapi->start('unix', unix => 'xapi.sock',
                                      preauth => 1);
my $SESSION = 'Cookie: session_id=' . session_of('path');

sub get {
    my($form, $target) = @_;
    return checked_get($d, $ux, undef, $VH, $target,
                       $form eq 'q' ? $SESSION : ());
}

for my $f (@FORMS) {
    my($form, $how) = @$f;
    # a clean path, with a percent-encoded unreserved byte: forwarded
    my $r = get($form, "/$form/open/%65cho?c=1");
    ok t_cmp("$r->{status} " . ($r->{h}{'x-daemon'} // '-'), '200 rrdd',
             "$how: a clean path reaches the daemon");
    $log->check("$how: clean path");

    for my $b (@BAD) {
        my($name, $fmt) = @$b;
        my $target = sprintf $fmt, $form;
        $r = get($form, $target);
        ok t_cmp("$r->{status} $r->{delta}", '400 rrdd=0 unix=- https=-',
                 "$how, $name ($target): 400, nothing reaches the daemon "
                 . 'or XAPI');
        $log->check("$how, $name", expect => { XAPIFWD0300 => 'error' });
    }
}

# the denied location itself stays denied (by httpd, 403)
{
    my $r = get('p', '/p/secret/echo');
    ok t_cmp("$r->{status} $r->{delta}", '403 rrdd=0 unix=- https=-',
             'Require all denied: 403 for the clean path');
    $log->check('Require all denied', expect => ['AH01630']);
}

# RewriteRule [P] inside <Location> binds the worker only in fixups, after
# the access checks: the scheme handler refuses, still before any connect
{
    my $r = get('lrw', '/lrw/open/echo');
    ok t_cmp("$r->{status} $r->{delta}", '200 rrdd=1 unix=- https=-',
             'RewriteRule [P] in <Location>: a clean path is forwarded');
    $log->check('RewriteRule in <Location>: clean');
    $r = get('lrw', '/lrw/secret/../open/echo');
    ok t_cmp("$r->{status} $r->{delta}", '400 rrdd=0 unix=- https=-',
             'RewriteRule [P] in <Location>: ".." refused by the handler');
    $log->check('RewriteRule in <Location>: ..',
                expect => { XAPIFWD0300 => 'error' });
}

ok t_cmp(join("\n", $ux->errors, $d->errors), '',
         'no complaint from the fake XAPI or the daemon');
