# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# One path for authorization and for the daemon, relay side: the refusals
# of 15_path_handoff.t (the same table, XapiForward::Paths; 400 +
# XAPIFWD0300 before any access check, nothing reaches the daemon or XAPI)
# for a plaintext relay (xf_path_relay), TLS (xf_path_tls) and HTTP/2 over
# TLS (curl --path-as-is).  t/conf/path.conf.in.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::AccessLog qw(access_mode);
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(checked_get session_of);
use XapiForward::Paths qw(bad_paths);
use XapiForward::Raw qw(h2_skip port_of);

my @BAD = bad_paths();
my @VH = ('xf_path_relay', 'xf_path_tls');
my @H2 = ('/p/secret/../open/echo', '/p/secret/%2e%2e/open/echo',
          '/q/open/%2E./secret/echo');

plan tests => @VH * 2 * (2 + 2 * @BAD) + 2 * @H2 + 2,
  need_module('proxy', 'xapi_forward', 'socache_shmcb', 'ssl');

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
my $ux = XapiForward::FakeXapi->start('unix', unix => 'xapi.sock',
                                      preauth => 1);
my $SESSION = 'Cookie: session_id=' . session_of('path');

for my $vh (@VH) {
    for my $form ('p', 'q') {
        my $how = "$vh /$form/" . ($form eq 'q' ? ' (permission)' : '');
        my @h = $form eq 'q' ? ($SESSION) : ();
        my $r = checked_get($d, $ux, undef, $vh, "/$form/open/echo?c=$vh", @h);
        ok t_cmp("$r->{status} " . ($r->{h}{'x-daemon'} // '-'), '200 rrdd',
                 "$how: a clean path is relayed");
        $log->check("$how: clean path");
        for my $b (@BAD) {
            my($name, $fmt) = @$b;
            my $target = sprintf $fmt, $form;
            $r = checked_get($d, $ux, undef, $vh, $target, @h);
            ok t_cmp("$r->{status} $r->{delta}", '400 rrdd=0 unix=- https=-',
                     "$how, $name ($target): 400, nothing reaches the "
                     . 'daemon or XAPI');
            $log->check("$how, $name", expect => { XAPIFWD0300 => 'error' });
        }
    }
}

# HTTP/2: the same check on the stream's :path
if (my $why = h2_skip()) {
    # Apache::Test's skip() is Test.pm's: one call, one skipped test
    skip($why, 0) for 1 .. 2 * @H2;
}
else {
    my $port = port_of('xf_path_tls');
    for my $target (@H2) {
        my $before = $d->count('rrdd');
        $ux->reset;
        my $w = `curl -s -k --http2 --path-as-is --max-time 30 -o /dev/null -w '%{http_code} %{http_version}' -H '$SESSION' 'https://localhost:$port$target'`;
        $d->wait_count('rrdd', $before + 1, 0.2);
        ok t_cmp(sprintf('%s rrdd=%d xapi=%d', $w, $d->count('rrdd') - $before,
                         $ux->count),
                 '400 2 rrdd=0 xapi=0', "h2 $target: 400, nothing forwarded");
        $log->check("h2 $target", expect => { XAPIFWD0300 => 'error' });
    }
}

ok t_cmp(join("\n", $ux->errors, $d->errors), '',
         'no complaint from the fake XAPI or the daemon');
# the clean requests were really relayed
ok t_cmp(join(' ', map { my $vh = $_; map { access_mode('GET', "/$_/open/echo?c=$vh") } qw(p q) } @VH),
         'relay relay relay relay', 'the clean requests went through the relay');
