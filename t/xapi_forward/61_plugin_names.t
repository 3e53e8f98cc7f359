# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Custom services: what names no service. Every case is a 404 (400 for a
# raw NUL, which httpd refuses itself, and for a target whose path is not
# the one httpd matched: /./, //) and no connection to any socket:
# the test daemon's sockets sit beside the services directory, one of them
# the target of a symlink in it, and count every connection; the dispatch
# line XAPIFWD0408 never appears.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(request);
use XapiForward::Plugin qw(plugin_dir);

my @cases = (
    # target, expected status, tag (ours) or undef (httpd refuses it)
    ['/xfp/open/..', 404, undef],
    ['/xfp/open/../x', 404, undef],
    ['/xfp/open/%2e%2e/x', 404, undef],
    ['/xfp/open/%2E%2e', 404, undef],
    ['/xfp/open/./escape', 400, 'XAPIFWD0300'],
    ['/xfp/open/a%2Fb/x', 404, undef],
    ['/xfp/open/a%00b', 404, undef],
    ['/xfp/open/a%20b', 404, 'XAPIFWD0400'],
    ['/xfp/open/%C3%A9t%C3%A9', 404, 'XAPIFWD0400'],
    ['/xfp/open/a:b', 404, 'XAPIFWD0400'],
    ['/xfp/open/', 404, 'XAPIFWD0400'],
    ['/xfp/open//rrdd/x', 400, 'XAPIFWD0300'],
    ['/xfp/open/' . ('x' x 120), 404, 'XAPIFWD0400'],
    ['/xfp/open/escape/x', 404, 'XAPIFWD0403'],
    ['/xfp/chan/escape', 404, 'XAPIFWD0403'],
    ['/xfp/open/dangling', 404, 'XAPIFWD0402'],
    ['/xfp/open/file', 404, 'XAPIFWD0404'],
    ['/xfp/chan/file/x', 404, 'XAPIFWD0404'],
    ['/xfp/open/subdir', 404, 'XAPIFWD0404'],
    ['/xfp/open/a/b', 404, 'XAPIFWD0402'],
);

plan tests => 2 * @cases + 5, need_module('proxy', 'proxy_http', 'xapi_forward');

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
my $dir = plugin_dir();
mkdir $dir;
unlink "$dir/escape", "$dir/dangling", "$dir/file";
symlink('../rrdd.sock', "$dir/escape") or die "symlink: $!";
symlink('nowhere.sock', "$dir/dangling") or die "symlink: $!";
{ open my $fh, '>', "$dir/file" or die; print $fh "not a socket\n"; }
mkdir "$dir/subdir";
ok t_cmp(-S "$dir/escape" ? 1 : 0, 1, 'escape -> a live socket outside');

my @tags;
for my $c (@cases) {
    my($t, $want, $tag) = @$c;
    my $r = request('xf_plugin', 'GET', $t);
    ok t_cmp($r->{status}, $want, "$t: $want");
    ok t_cmp(length $r->{body} ? 1 : 0, 1, "$t: a body");
    push @tags, $tag if $tag;
}
# a NUL byte in the request line
{
    my $r = request('xf_plugin', 'GET', "/xfp/open/a\0b");
    ok t_cmp($r->{status}, 400, 'raw NUL: 400 (httpd)');
}
my %want = map { $_ => '' } @tags;
$log->check('names', expect => \%want, allow => [qr/AH0\d+/]);
ok t_cmp(scalar(grep { /XAPIFWD0408/ } $log->last_lines), 0,
         'no dispatch to any service');
ok t_cmp($d->count('rrdd'), 0, 'no connection to the socket outside');
