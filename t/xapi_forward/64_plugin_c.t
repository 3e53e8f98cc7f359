# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Custom services: the C kit's example (kit/c/xfr-hello, libxfrecv) answers
# by the channel way, plain (hand-off) and TLS (relay), GET and a PUT whose
# body it does not read. Skipped when the kit is not built.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::ErrorLog;
use XapiForward::Plugin qw(curl kit_dir);

my $bin = kit_dir() . '/../c/xfr-hello';
plan tests => 6, need need_module('proxy', 'xapi_forward', 'ssl'),
  { 'kit/c/xfr-hello not built' => -x $bin };

my $log = XapiForward::ErrorLog->new;
my $lib = kit_dir() . '/../c';
XapiForward::Plugin->start('chello', cmd => ['env', "LD_LIBRARY_PATH=$lib",
                                             $bin]);
for my $vh (qw(xf_plugin xf_plugin_tls)) {
    my $r = curl($vh, '/xfp/chan/chello/a/b?name=c');
    ok t_cmp($r->{status}, 200, "$vh: 200");
    ok t_cmp($r->{body},
             "hello c\nway: channel\nmethod: GET\npath: /xfp/chan/chello/a/b\n",
             "$vh: the C service answered");
}
my $r = curl('xf_plugin', '/xfp/chan/chello/p', '-X', 'PUT',
             '--data-binary', 'z' x 100);
ok t_cmp($r->{body}, qr/^hello world\nway: channel\nmethod: PUT\n/,
         'PUT: answered');
$log->check('C kit');
