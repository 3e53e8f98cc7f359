# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Graceful restart and graceful stop under load (issue 11): hand-off and
# relay clients keep running while httpd gets SIGUSR1 (apachectl -k
# graceful) twice, then SIGWINCH (-k graceful-stop).  No request may fail,
# the counters survive the restarts exactly, and the parent leaks no
# descriptors and no shared memory.  The server is started again at the
# end for the tests that follow.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::Proc qw(fork_pipe read_pipe);
use XapiForward::Raw qw(port_of);
use XapiForward::Status qw(status wait_status run_clients get_status);

plan tests => 15, need_module('proxy', 'xapi_forward', 'status',
                              'socache_shmcb');

my $VH = 'xf_ops';
my $vars = Apache::Test::vars();
my $pidfile = "$vars->{t_logs}/httpd.pid";
my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(ops));

sub parent_pid {
    open my $fh, '<', $pidfile or return 0;
    my $p = <$fh> // 0;
    return 0 + $p;
}

# what the parent holds: descriptors, shared mappings
sub fds { my @f = glob "/proc/$_[0]/fd/*"; scalar @f }
sub shared_maps {
    open my $fh, '<', "/proc/$_[0]/maps" or return -1;
    return scalar grep { m{ (/dev/zero|/SYSV|/dev/shm/)} } <$fh>;
}
sub sysv_shm {
    open my $fh, '<', '/proc/sysvipc/shm' or return 0;
    my @l = <$fh>;
    return @l - 1;
}

# a mixed load in the background: hand-offs and slow relays (a relay takes
# ~50 ms: some are in flight when the signals come)
my $RELAY = '/rl/drip?bytes=163840&block=16384&ms=5';
sub start_load {
    my($hc, $he, $rc, $re) = @_;
    return fork_pipe(sub {
        my $wr = shift;
        my $relays = fork_pipe(sub {
            print {$_[0]} 'R ', join(' ', run_clients($VH, $rc, $re, $RELAY)),
              "\n";
        });
        print $wr 'H ', join(' ', run_clients($VH, $hc, $he, '/h/hello')),
          "\n";
        print $wr read_pipe($relays);
    });
}
sub wait_load {
    my %st;
    for my $line (split /\n/, read_pipe(shift)) {
        my($k, @s) = split ' ', $line;
        $st{$k} = \@s;
    }
    return \%st;
}
sub tally {
    my %n;
    $n{$_}++ for @_;
    return join ' ', map { "$_=$n{$_}" } sort keys %n;
}

# --- graceful restarts under load -----------------------------------------
my $ppid = parent_pid();
ok $ppid > 0;
get_status($VH, '/h/hello');          # every lazy thing initialised
my $s0 = wait_status($VH, sub { 1 });
my($fd0, $maps0, $sysv0) = (fds($ppid), shared_maps($ppid), sysv_shm());
my $gen0 = $s0->{raw} =~ /^ParentServerConfigGeneration: (\d+)/m ? $1 : -1;

my($HC, $HE, $RC, $RE) = (6, 40, 3, 15);
my $before = $d->count('ops');
my $load = start_load($HC, $HE, $RC, $RE);
$d->wait_count('ops', $before + 20, 20);
kill 'USR1', $ppid;
$d->wait_count('ops', $before + 120, 20);
kill 'USR1', $ppid;
my $st = wait_load($load);
ok t_cmp(tally(@{ $st->{H} || [] }), '200=' . $HC * $HE,
         'graceful restarts: every hand-off succeeded');
ok t_cmp(tally(@{ $st->{R} || [] }), '200=' . $RC * $RE,
         'graceful restarts: every relay succeeded');

my $s = wait_status($VH, sub {
    ($_[0]{raw} =~ /^ParentServerConfigGeneration: (\d+)/m ? $1 : 0)
      >= $gen0 + 2
      && ($_[0]{Handoffs} // 0) - $s0->{Handoffs} >= $HC * $HE
      && ($_[0]{Relays} // 0) - $s0->{Relays} >= $RC * $RE }, 20);
ok t_cmp(($s->{raw} =~ /^ParentServerConfigGeneration: (\d+)/m)[0],
         $gen0 + 2, 'two graceful restarts happened');
ok t_cmp($s->{Handoffs} - $s0->{Handoffs}, $HC * $HE,
         'the counters survived: hand-offs exact');
ok t_cmp($s->{Relays} - $s0->{Relays}, $RC * $RE,
         'the counters survived: relays exact');
ok t_cmp(parent_pid(), $ppid, 'same parent');
ok t_cmp(fds($ppid), $fd0, 'no descriptor leaked by the parent');
ok t_cmp(shared_maps($ppid), $maps0,
         'no shared memory mapping leaked by the parent');
ok t_cmp(sysv_shm(), $sysv0, 'no System V segment leaked');

# --- graceful stop under load ---------------------------------------------
# requests httpd took must get their answer; once the listeners are
# closed, connections are refused (-1), and those left in the kernel's
# listen backlog are reset without a byte (-2): httpd never saw them
$before = $d->count('ops');
$load = start_load(4, 30, 3, 10);
$d->wait_count('ops', $before + 20, 20);
kill 'WINCH', $ppid;
$st = wait_load($load);
my @all = (@{ $st->{H} || [] }, @{ $st->{R} || [] });
ok t_cmp(scalar(grep { $_ != 200 && $_ != -1 && $_ != -2 } @all), 0,
         'graceful stop: no accepted request failed (' . tally(@all) . ')');
ok t_cmp($d->count('ops') - $before, scalar(grep { $_ == 200 } @all),
         'graceful stop: every request the daemon got was answered');
my $deadline = time + 30;
sleep 0.1 while kill(0, $ppid) && time < $deadline;
ok t_cmp(kill(0, $ppid) ? 'running' : 'gone', 'gone',
         'the server stopped once the requests were done');

# start the server again for the tests that follow
{
    my $cmd = Apache::Test::config()->server->start_cmd;
    system("$cmd >&2") == 0 or die "cannot restart httpd: $cmd\n";
    my $up = time + 60;
    sleep 0.2 while get_status($VH, '/h/hello') != 200 && time < $up;
}
ok t_cmp(sysv_shm(), $sysv0, 'still no System V segment after the stop');

$log->check('graceful', allow => [qr/AH00(?:094|163|171|492|493|169|491)/,
                                  qr/AH02572|AH00170|AH10147/]);
