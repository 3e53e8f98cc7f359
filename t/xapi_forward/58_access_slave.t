# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Access control against XAPI, part 5: HOST_IS_SLAVE.  The vhost
# xf_access_slave checks sessions at the fake "https", a pool member that
# answers HOST_IS_SLAVE [127.0.0.1:<master port>]; the module must ask the
# master (the fake "master") instead, and from then on go straight to it.
# Each httpd child remembers the master for itself, so both requests travel
# on one keep-alive connection (relay mode keeps it open).
#
# Runs after the other access tests: once a child knows a master, every
# later check in that child goes there.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use IO::Select ();
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(conf_port session_of check_secrets $UUID);
use XapiForward::Raw qw(raw_connect host_of parse_responses);

plan tests => 13, need_module('proxy', 'xapi_forward', 'socache_shmcb');

my $VH = 'xf_access_slave';
my $HOST = host_of($VH);

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
my $member = XapiForward::FakeXapi->start('https',
                                          https => conf_port('xf_fake_https_port'));
my $master = XapiForward::FakeXapi->start('master',
                                          https => conf_port('xf_fake_master_port'));
my $MADDR = '127.0.0.1:' . $master->port;
$member->mode("slave:$MADDR");

# one request on an open connection; returns the parsed response
sub ka_request {
    my($s, $target, @h) = @_;
    my $req = "GET $target HTTP/1.1\r\nHost: $HOST\r\n"
      . join('', map { "$_\r\n" } @h) . "\r\n";
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($s, $req, length($req) - $off, $off);
        die "write: $!\n" unless $n;
        $off += $n;
    }
    my $data = '';
    my $sel = IO::Select->new($s);
    while (1) {
        my @p = parse_responses($data);
        return $p[0] if @p && $p[0]{complete};
        last unless $sel->can_read(15);
        sysread($s, $data, 65536, length $data) or last;
    }
    my @p = parse_responses($data);
    return $p[0] || { status => 0, h => {}, body => '' };
}

sub calls { join(',', $_[0]->calls) || '-' }


my $s = raw_connect($VH);
{
    my $r = ka_request($s, '/a/echo?slave=1',
                       'Cookie: session_id=' . session_of('slave1'));
    ok t_cmp($r->{status}, 200, 'HOST_IS_SLAVE: 200 via the master');
    ok t_cmp($r->{h}{'x-daemon'}, 'rrdd', 'HOST_IS_SLAVE: the daemon answered');
    ok t_cmp(calls($member), $UUID,
             'HOST_IS_SLAVE: the member was asked once');
    ok t_cmp(calls($master), $UUID, 'HOST_IS_SLAVE: then the master');
    $log->check('HOST_IS_SLAVE', expect => { XAPIFWD0210 => 'info' });
    my($l) = grep { /XAPIFWD0210/ } $log->last_lines;
    ok t_cmp($l // '', qr/\Q$MADDR\E/, 'HOST_IS_SLAVE: the log names the master');
}
{
    $member->reset;
    $master->reset;
    my $r = ka_request($s, '/a/echo?slave=2',
                       'Cookie: session_id=' . session_of('slave2'),
                       'Connection: close');
    ok t_cmp($r->{status}, 200, 'next request, same child: 200');
    ok t_cmp(calls($member), '-', 'next request: the member is not asked');
    ok t_cmp(calls($master), $UUID, 'next request: straight to the master');
    $log->check('master remembered');
}
close $s;

ok t_cmp(join("\n", $member->errors, $master->errors), '',
         'no protocol complaint from the fakes');
ok t_cmp(join("\n", $d->errors), '', 'daemon: no complaint');
check_secrets('58_access_slave');
