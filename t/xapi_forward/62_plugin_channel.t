# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Custom services, the channel way: 64 MiB down and up, plain (hand-off
# when nothing is buffered) and TLS (relay), byte-exact; and a service
# restarted between requests (its socket recreated) is reached again, both
# ways, with 404 while it is gone.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Digest::SHA ();
use File::Temp ();
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::Plugin qw(curl);

plan tests => 19, need_module('proxy', 'proxy_http', 'xapi_forward', 'ssl');

my $MIB64 = 64 * 1024 * 1024;
my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));

# what xf_daemon.py's /big sends: bytes 0..255 repeated
my $pattern_sha = do {
    my $sha = Digest::SHA->new(256);
    my $block = join '', map { chr } 0 .. 255;
    $block x= 4096;    # 1 MiB
    $sha->add($block) for 1 .. 64;
    $sha->hexdigest;
};

my $up = File::Temp->new;
{
    my $chunk = join '', map { chr(($_ * 7 + 3) % 256) } 0 .. 65535;
    print $up $chunk for 1 .. 1024;
    close $up;
}
my $up_sha = Digest::SHA->new(256)->addfile("$up")->hexdigest;

for my $vh (qw(xf_plugin xf_plugin_tls)) {
    my $r = curl($vh, "/xfp/d/rrdd.sock/big?bytes=$MIB64");
    ok t_cmp($r->{status}, 200, "$vh: 64 MiB download: 200");
    ok t_cmp(length $r->{body}, $MIB64, "$vh: 64 MiB download: length");
    ok t_cmp(Digest::SHA::sha256_hex($r->{body}), $pattern_sha,
             "$vh: 64 MiB download: bytes");
    $r = curl($vh, '/xfp/d/rrdd.sock/body', '-X', 'PUT', '-H', 'Expect:',
              '--data-binary', "\@$up");
    ok t_cmp($r->{status}, 200, "$vh: 64 MiB upload: 200");
    ok t_cmp($r->{body}, "length=$MIB64 sha256=$up_sha\n",
             "$vh: 64 MiB upload: the service got every byte");
}
ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');

# ---- the service restarted between requests ---------------------------------
my $s = XapiForward::Plugin->start('hello');
for my $base ('/xfp/open/hello', '/xfp/chan/hello') {
    my $r = curl('xf_plugin', "$base/1?name=one");
    ok t_cmp($r->{body}, qr/^hello one\n/, "$base: before the restart");
}
$s->stop;
unlink $s->path;
ok t_cmp(curl('xf_plugin', '/xfp/open/hello/2')->{status}, 404,
         'service gone: 404');
$s = XapiForward::Plugin->start('hello');
for my $base ('/xfp/open/hello', '/xfp/chan/hello') {
    for my $vh (qw(xf_plugin xf_plugin_tls)) {
        my $r = curl($vh, "$base/3?name=again");
        ok t_cmp($r->{body}, qr/^hello again\n/,
                 "$vh $base: after the restart");
    }
}
$log->check('restart', expect => ['XAPIFWD0402'], allow => [qr/AH0\d+/]);
