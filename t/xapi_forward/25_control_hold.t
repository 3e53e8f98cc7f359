# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Control sockets that outlive their request (issue 10): after a hand-off
# the daemon keeps its control connection (xenopsd does for a whole
# migration); the child's watcher thread keeps it, not a worker.
#   - 200 hand-offs whose daemon holds the control socket 20 s: ordinary
#     requests are served meanwhile (200 held sockets are more than the
#     test server's workers), every socket is closed when its daemon
#     closes it, and no descriptor is left behind in the children
#   - a status line the daemon writes later is logged (XAPIFWD0150)
#   - XapiForwardControlLifetime: the watcher closes the socket itself
#   - graceful restart while sockets are held: all closed, server serves
#     (not in single-process mode, -X: it has no graceful restart)
# Runs under every MPM pass (prefork children get one watcher thread each).
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use XapiForward::Daemon qw(httpd_children httpd_one_process httpd_pid);
use XapiForward::ErrorLog;
use XapiForward::Raw qw(exchange parse_responses);

plan tests => 13, need_module('proxy', 'xapi_forward');

my $VH = 'xf_tun_plain';
my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(xenopsd));

sub get {
    my $target = shift;
    my $r = exchange($VH, "GET $target HTTP/1.1\r\nHost: localhost\r\n"
                     . "Connection: close\r\n\r\n", timeout => 30);
    my($resp) = parse_responses($r->{data});
    return $resp && $resp->{complete} ? "$resp->{status} $resp->{body}"
                                      : 'no answer';
}

# socket descriptors held by each httpd child: { pid => count }
sub child_sockets {
    my %n;
    for my $pid (httpd_children()) {
        opendir my $dh, "/proc/$pid/fd" or next;
        $n{$pid} = grep { (readlink("/proc/$pid/fd/$_") // '') =~ /^socket:/ }
          readdir $dh;
    }
    return \%n;
}

# sockets gained by the children alive in both snapshots (the MPM may
# start or stop children meanwhile, each with its listeners)
sub gained {
    my($before, $after) = @_;
    my $g = 0;
    $g += $after->{$_} - $before->{$_} for grep { exists $after->{$_} }
      keys %$before;
    return $g;
}

sub wait_events {
    my($re, $n, $timeout) = @_;
    my $deadline = time + $timeout;
    my @e;
    sleep 0.2 while (@e = $d->events('xenopsd', $re)) < $n
      && time < $deadline;
    return @e;
}

# ======================= 200 hand-offs holding their control socket =======
my $sockets_before = child_sockets();
my $held = 0;
for my $i (1 .. 200) {
    $held++ if get("/x/ctlhold?secs=20&id=h$i") eq "200 held\n";
}
ok t_cmp($held, 200, '200 hand-offs answered at once (the daemon holds '
         . 'each control socket 20 s)');
my $early = () = $d->events('xenopsd', qr/^ctlhold id=h\d+ /);
my $served = 0;
$served += get("/x/hello?n=$_") eq "200 hello from xenopsd\n" for 1 .. 50;
my $still = 200 - (() = $d->events('xenopsd', qr/^ctlhold id=h\d+ /));
ok t_cmp($served, 50, 'while they are held: 50 ordinary requests served');
t_debug("control sockets still held after the ordinary requests: $still");
ok t_cmp($early, 0, 'no control socket closed before its daemon did');
my @closed = wait_events(qr/^ctlhold id=h\d+ /, 200, 60);
ok t_cmp(scalar(grep { /closed_by=daemon/ } @closed), 200,
         'every control socket stayed open until its daemon closed it');
my $gained;
my $deadline = time + 15;
sleep 0.5 while ($gained = gained($sockets_before, child_sockets())) > 0
  && time < $deadline;
ok t_cmp($gained > 0 ? "$gained more" : 'none', 'none',
         'no socket left behind in the children');
$log->check('200 held control sockets');

# ======================= a later status line ==============================
ok t_cmp(get('/x/ctlhold?secs=3&late=1&code=404&id=late'), "200 held\n",
         'late status: the client got its answer');
ok t_cmp(scalar(wait_events(qr/^ctlhold id=late /, 1, 20)), 1,
         'late status: the daemon closed its control socket');
$log->check('late status line', expect => { XAPIFWD0150 => 'warn' });

# ======================= XapiForwardControlLifetime 2 =====================
get('/short/ctlhold?secs=20&id=short');
my($short) = wait_events(qr/^ctlhold id=short /, 1, 30);
ok t_cmp($short // 'no event', qr/closed_by=peer/,
         'XapiForwardControlLifetime 2: the watcher closed the socket');

# ======================= graceful restart while sockets are held ==========
# single-process httpd (make test-valgrind-live) has no graceful restart:
# it ignores SIGUSR1, so nothing would close the held sockets
if (httpd_one_process()) {
    skip('single-process httpd (-X): no graceful restart');
} else {
    get("/x/ctlhold?secs=60&id=g$_") for 1 .. 10;
    kill 'USR1', httpd_pid();
    my @g = wait_events(qr/^ctlhold id=g\d+ /, 10, 50);
    ok t_cmp(scalar(grep { /closed_by=peer/ } @g), 10,
             'graceful restart: the old children closed every held socket');
}
my $after = 'no answer';
$deadline = time + 20;
while (time < $deadline) {
    $after = get('/x/hello?after=restart');
    last if $after =~ /^200/;
    sleep 0.5;
}
ok t_cmp($after, "200 hello from xenopsd\n",
         'graceful restart: requests served afterwards');

ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');
