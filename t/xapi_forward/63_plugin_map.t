# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Custom services on other hosts: XapiForwardPluginHostMap is read again at
# a graceful restart (the 302's Location follows the new file), and a bad
# line stops httpd from starting with the file name and line number.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use XapiForward::FakeXapi qw(request);

plan tests => 9, need_module('proxy', 'proxy_http', 'xapi_forward');

my $vars = Apache::Test::vars();
my $map = "$vars->{t_logs}/plugin-hosts.map";
my $T = '/xfp/open/mapped/x/y?a=1&b=%20';

sub graceful {
    open my $fh, '<', "$vars->{t_logs}/httpd.pid" or die "httpd.pid: $!";
    my $pid = 0 + <$fh>;
    kill 'USR1', $pid or die "kill USR1 $pid: $!";
}

sub spew {
    my($f, $s) = @_;
    open my $fh, '>', "$f.tmp" or die "$f: $!";
    print $fh $s;
    close $fh;
    rename "$f.tmp", $f or die "rename: $!";
}

# wait (generously) until a graceful restart gives the wanted Location
sub location_after_restart {
    my $want = shift;
    my $deadline = time + 60;
    my $r;
    while (1) {
        $r = request('xf_plugin', 'GET', $T);
        last if ($r->{h}{location} // '') eq $want || time > $deadline;
        sleep 0.2;
    }
    return $r;
}

unlink $map;
ok t_cmp(request('xf_plugin', 'GET', $T)->{status}, 404,
         'no map file: not mapped, not installed: 404');

spew($map, "# services on other hosts\nmapped https://h1.example/\n");
graceful();
my $r = location_after_restart("https://h1.example$T");
ok t_cmp($r->{status}, 302, 'map file read at a graceful restart: 302');
ok t_cmp($r->{h}{location}, "https://h1.example$T", 'Location from the map');

spew($map, "mapped\thttp://h2.example:8080 # moved\nfar https://h3.example\n");
graceful();
$r = location_after_restart("http://h2.example:8080$T");
ok t_cmp($r->{h}{location}, "http://h2.example:8080$T",
         'changed map file read again');
$r = request('xf_plugin', 'GET', '/xfp/open/far/z');
ok t_cmp($r->{h}{location}, 'https://h3.example/xfp/open/far/z',
         'the map wins over the directive before it');

# a bad line: httpd -t names the file and the line
my $bad = "$vars->{t_logs}/plugin-bad.map";
spew($bad, "# ok\ngood https://h.example\nbad..name ftp://x\n");
my $out = `$vars->{httpd} -d $vars->{serverroot} -f $vars->{t_conf_file} -D APACHE2 -D APACHE2_4 -D xf_bad_plugin_map -t 2>&1`;
ok t_cmp($? >> 8, 1, 'bad map: httpd -t fails');
ok t_cmp($out, qr/\Q$bad\E:3: /, 'bad map: file:line in the error');
spew($bad, "only-one-field\n");
$out = `$vars->{httpd} -d $vars->{serverroot} -f $vars->{t_conf_file} -D APACHE2 -D APACHE2_4 -D xf_bad_plugin_map -t 2>&1`;
ok t_cmp($out, qr/\Q$bad\E:1: expected two fields/, 'bad map: two fields');
unlink $bad;
$out = `$vars->{httpd} -d $vars->{serverroot} -f $vars->{t_conf_file} -D APACHE2 -D APACHE2_4 -D xf_bad_plugin_map -t 2>&1`;
ok t_cmp($out, qr/XapiForwardPluginHostMap: cannot read \Q$bad\E/,
         'missing map: an error');
