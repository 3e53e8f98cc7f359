# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Faults under load around httpd itself (issue 12), on httpd front ends
# this test starts (XapiForward::FrontEnd: the suite's MPM, one child;
# under prefork one process, one request at a time):
#   - the child at its descriptor limit (prlimit on the running child,
#     then raised again): clients get a 5xx or a closed connection, the
#     daemon no connection at all (a relay makes its socketpair before it
#     connects), httpd does not crash, and serves again once the pressure
#     goes;
#   - XAPI killed while credential checks are in flight: 503 (fail
#     closed, XAPIFWD0205), and 200 again once XAPI is back;
#   - graceful restart (SIGUSR1) while faulty daemons are being served:
#     every client sees what it would without the restart.
# Each ends with the descriptors of the child (or the parent) as before.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use XapiForward::Daemon qw(httpd_children);
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(session_of);
use XapiForward::Faults qw(clients outcomes fd_counts fds_back);
use XapiForward::FrontEnd qw(module_conf);

plan tests => 39, need_module('proxy', 'xapi_forward', 'socache_shmcb');

my $d = XapiForward::Daemon->start(qw(lim deaflim));
my $x = XapiForward::FakeXapi->start('unix', unix => 'limxapi.sock',
                                     preauth => 1);
my $SESSION = session_of('cookie');
my $sock = $d->sock('lim');
my $deaf = $d->sock('deaflim');

# every request is checked with XAPI (no cache), relayed or handed off
my $fe = XapiForward::FrontEnd->start('lim', module_conf('proxy', 'socache_shmcb') . <<"EOC");
LogLevel info
XapiForwardCacheTTL 0
XapiForwardCacheNegativeTTL 0
XapiForwardXapiURL unix:${\ $x->sock}
XapiForwardXapiTimeout 10
ProxyPass /h/ "unix:$sock|xapi://lim-h/" timeout=5
ProxyPass /k/ "unix:$sock|xapi://lim-k/" timeout=5
ProxyPass /dk/ "unix:$deaf|xapi://lim-dk/" timeout=2
ProxyPass /h404/ "unix:$sock|xapi://lim-h404/" timeout=5
ProxyPass /k404/ "unix:$sock|xapi://lim-k404/" timeout=5
<LocationMatch "^/[hk]404/">
    XapiForwardMissingStatus 404
</LocationMatch>
ProxyPass /ah/ "unix:$sock|xapi://lim-ah/" timeout=5
ProxyPass /ak/ "unix:$sock|xapi://lim-ak/" timeout=5
<LocationMatch "^/(k|dk|ak|k404)/">
    XapiForwardMode relay
</LocationMatch>
<LocationMatch "^/a[hk]/">
    XapiForwardAuth On
</LocationMatch>
EOC
my $port = $fe->port;
# prefork's front end is one process serving one request at a time: the
# others wait in the listen queue, and httpd says so (AH00161)
my $log = XapiForward::ErrorLog->new(
    file => $fe->dir . '/error_log',
    allow => XapiForward::FrontEnd::mpm() eq 'prefork' ? [qr/AH00161/] : []);

sub good { map { ("/h/hello?$_", "/k/hello?$_") } 1 .. $_[0] }
sub load { clients($port, @_, timeout => 30) }
sub crash_lines {
    grep { /exit signal|Segmentation|AH00060|AH02818|httpd is exiting/ }
    $log->last_lines;
}

# (soft, hard) limit of open files of a process
sub nofile {
    open my $fh, '<', "/proc/$_[0]/limits" or die "limits: $!\n";
    /^Max open files\s+(\S+)\s+(\S+)/ and return ($1, $2) while <$fh>;
    die "no open files limit for $_[0]\n";
}

my @r = load([good(8)], clients => 4)->collect;
ok t_cmp(outcomes(@r), '200 x16', 'warm-up: 200');
$log->check('warm-up');

# --- the child at its descriptor limit -------------------------------------------
sub set_nofile {
    my($pid, $soft, $hard) = @_;
    system('prlimit', "--pid=$pid", "--nofile=$soft:$hard") == 0
      or die "prlimit $pid $soft:$hard failed\n";
}
# the same, false when the child is gone (it met the limit in accept())
sub try_nofile {
    my($pid, $soft, $hard) = @_;
    return 0 unless kill 0, $pid;
    open my $save, '>&', \*STDERR or die "dup: $!\n";
    open STDERR, '>', '/dev/null' or die "null: $!\n";
    my $ok = system('prlimit', "--pid=$pid", "--nofile=$soft:$hard") == 0;
    open STDERR, '>&', $save or die "dup: $!\n";
    return $ok;
}
# the one child, once only one is left that holds descriptors, is not the
# parent (httpd_children() gives the parent while there is no child) and is
# none of @gone (children that met the limit: they may take a while to exit)
sub one_child {
    my @gone = @_;
    my $parent = $fe->pid;
    my @kids;
    my $deadline = time + 20;
    until (@kids == 1 || time > $deadline) {
        sleep 0.2;
        my %skip = map { $_ => 1 } $parent, @gone;
        my $fds = fd_counts(grep { !$skip{$_} } httpd_children($parent));
        @kids = grep { $fds->{$_} } keys %$fds;
    }
    @kids == 1 or die "httpd has no single child: @kids\n";
    return $kids[0];
}
sleep 2;   # the parent has seen a healthy child (else a sick one stops httpd)
# the child in the limits below must be alive: the one that served the
# warm-up may have been replaced meanwhile, and a limit one too low (see
# below) replaces it too; then the next child is measured and probed
my($child, $before, $soft, $hard, $tight, $found, @gone);
ATTEMPT: for my $attempt (1 .. 3) {
    push @gone, $child if $child;
    $child = one_child(@gone);
    $before = fd_counts($child);
    t_debug("attempt $attempt: children " . join ' ', keys %$before);
    ($soft, $hard) = nofile($child);
    # room for one client connection, none for the daemon socket; one
    # request at a time (a second accept() would fail: see below)
    # the limit is on descriptor numbers: find the one that leaves room
    # for the client connection only (a hand-off then gets 503), from
    # above: one too low and accept() fails, and the child exits (the
    # worker MPM does so at once, with AH02179)
    my $idle = (values %$before)[0];
    for my $slack (2, 1, 0, -1) {
        $tight = $idle + $slack;
        next ATTEMPT unless try_nofile($child, $tight, $hard);
        my($probe) = load(['/h/hello?probe'], clients => 1)->collect;
        t_debug("limit $tight: $probe->{status}");
        sleep 0.3;
        unless (kill 0, $child) {
            t_debug("child $child replaced at limit $tight");
            next ATTEMPT;
        }
        if ($probe->{status} == 503) {
            $found = 1;
            last ATTEMPT;
        }
    }
    try_nofile($child, $soft, $hard);
}
ok t_cmp($found ? 1 : 0, 1,
         "a descriptor limit leaves room for the client connection only ($tight)");
# the probes' 503s, and httpd's own answer to a limit one too low
$log->check('finding the limit',
            allow => [qr/AH02179|AH03490|XAPIFWD0720|XAPIFWD0100/]);
{
    my @got;
    my $accepted = $d->accepts('lim');
    for my $t ('/h/hello', '/k/hello', '/h404/hello', '/k404/hello') {
        my($one) = load([$t], clients => 1)->collect;
        push @got, "$t $one->{status}";
        sleep 0.3;   # the previous connection is closed on both sides
    }
    set_nofile($child, $soft, $hard);
    ok t_cmp(join(', ', @got), '/h/hello 503, /k/hello 503, '
             . '/h404/hello 503, /k404/hello 503',
             'no descriptor left for the daemon socket: 503, also where '
             . 'XapiForwardMissingStatus is 404');
    # a hand-off has no socket for the daemon; a relay not even its
    # socketpair, so it never connects: no empty connection for the daemon
    $log->check('no descriptor for the daemon socket',
                expect => { XAPIFWD0720 => 'error', XAPIFWD0100 => 'error' });
    ok t_cmp($d->accepts('lim') - $accepted, 0,
             'at the descriptor limit the daemon gets no connection at all');
    ok t_cmp(kill(0, $child) ? 1 : 0, 1, 'the child is still alive');
}
{
    # one descriptor more: enough for a hand-off's daemon socket, one short
    # of a relay's socketpair, which is made first: the relay is refused
    # before it connects (it used to connect, fail on the pair and leave
    # the daemon an empty connection)
    my($accepted, $served) = ($d->accepts('lim'), $d->count('lim'));
    set_nofile($child, $tight + 1, $hard);
    my @got;
    for my $t ('/h/hello', '/k/hello', '/k404/hello') {
        my($one) = load([$t], clients => 1)->collect;
        push @got, "$t $one->{status}";
        sleep 0.3;
    }
    set_nofile($child, $soft, $hard);
    ok t_cmp(join(', ', @got), '/h/hello 200, /k/hello 503, /k404/hello 503',
             'one descriptor left: the hand-off works, the relay gets 503');
    $log->check('one descriptor left', expect => { XAPIFWD0100 => 'error' });
    ok t_cmp(sprintf('accepted %d, with a message %d',
                     $d->accepts('lim') - $accepted,
                     $d->count('lim') - $served),
             'accepted 1, with a message 1',
             'one descriptor left: the daemon sees the hand-off only, no '
             . 'empty connection from the relays');
}
{
    set_nofile($child, $tight, $hard);
    my $l = load([good(6)], clients => 6);
    sleep 3;
    # the tight child either refuses clients (no descriptor for the
    # daemon) or meets EMFILE in accept() first and exits (AH02179), its
    # replacement serving the rest: both are the limit taking effect
    my $replaced = kill(0, $child) ? 0 : 1;
    set_nofile($child, $soft, $hard) unless $replaced;
    @r = $l->collect;
    my @odd = grep { $_->{status} != 200 && $_->{status} !~ /^5\d\d$/
                     && $_->{status} != 0 } @r;
    ok t_cmp(join(' ', map { $_->{status} } @odd), '',
             'at the fd limit under load: every client gets 200, a 5xx or a '
             . 'close (' . outcomes(@r) . ')');
    my $refused = grep { $_->{status} != 200 } @r;
    t_debug("at the fd limit: $refused refused, child "
            . ($replaced ? 'replaced' : 'kept'));
    ok t_cmp(($refused >= 1 || $replaced) ? 1 : 0, 1,
             'at the fd limit under load: some clients are refused, or the '
             . 'child met the limit in accept() and was replaced');
    ok t_cmp(scalar(grep { $_->{error} eq 'timeout' } @r), 0,
             'at the fd limit under load: no client left waiting');
    # httpd's own answer to accept() failing with EMFILE: the child stops
    # (AH02179, then a resource-shortage exit) and the parent starts another
    $log->check('at the fd limit under load',
                allow => [qr/AH02179|AH03490|XAPIFWD0720|XAPIFWD0100/]);
    ok t_cmp(join("\n", crash_lines()), '', 'at the fd limit: no crash');
    ok t_cmp(kill(0, $fe->pid) ? 1 : 0, 1, 'the parent is still alive');

    my @kids = (one_child($replaced ? $child : ()));
    my @w = load([good(8)], clients => 4)->collect;
    @r = load([good(6)], clients => 4)->collect;
    ok t_cmp(outcomes(@r), '200 x12', 'limit raised again: 200');
    $log->check('limit raised again');
    t_debug("child before: $child, now: @kids");
    my $now = fd_counts(@kids);
    ok t_cmp(join(' ', map { $now->{$_} } @kids), $before->{$child},
             'the serving child (the same or its replacement) holds as many '
             . 'descriptors as the first one did');
    $child = $kids[0];
    $before = $now;
}

# --- XAPI killed while checks are in flight ------------------------------------------
{
    my @auth = map { ("/ah/hello?$_", "/ak/hello?$_") } 1 .. 3;
    my @h = ("Cookie: session_id=$SESSION");
    @r = load([@auth], clients => 3, headers => \@h)->collect;
    ok t_cmp(outcomes(@r), '200 x6', 'XAPI up: checked requests 200');
    $log->check('XAPI up');

    my $c0 = $d->count('lim');
    $x->mode('slow:3');
    my $l = load([@auth], clients => 6, headers => \@h);
    sleep 1.5;   # every check waits in the slow XAPI
    $x->kill_hard;
    @r = $l->collect;
    ok t_cmp(outcomes(@r), '503 x6',
             'XAPI killed with checks in flight: 503 (fail closed)');
    @r = load([@auth], clients => 3, headers => \@h)->collect;
    ok t_cmp(outcomes(@r), '503 x6', 'XAPI down: 503');
    ok t_cmp($d->count('lim'), $c0,
             'nothing reached the daemon without a check');
    $log->check('XAPI killed', expect => { XAPIFWD0205 => 'error' });
    ok t_cmp(join("\n", crash_lines()), '', 'XAPI killed: no crash');

    $x = XapiForward::FakeXapi->start('unix', unix => 'limxapi.sock',
                                      preauth => 1);
    @r = load([@auth], clients => 3, headers => \@h)->collect;
    ok t_cmp(outcomes(@r), '200 x6', 'XAPI back: 200');
    $log->check('XAPI back');
    my($same, $grown) = fds_back($before, 20);
    ok t_cmp(join(' ', @$same, '/', @$grown), "$child /",
             'the child holds as many descriptors as before');
}

# --- graceful restart while faulty daemons are served ---------------------------------
{
    my $parent = $fe->pid;
    my $pbefore = fd_counts($parent);
    # drip: ~0.8 s per response, in flight at the signal; deaf: 504 after 2 s
    my $drip = 'drip?bytes=262144&block=16384&ms=50';
    my @t = ((map { ("/h/$drip&n=$_", "/k/$drip&n=$_", "/dk/x?$_",
                     "/k/silent?$_") } 1 .. 3), good(2));
    my $l = load([@t], clients => 8);
    sleep 0.5;
    kill 'USR1', $parent or die "kill: $!\n";
    @r = $l->collect;
    my @by;
    for my $p ('h', 'k', 'dk') {
        push @by, "$p " . outcomes(grep { $_->{target} =~ m{^/\Q$p\E/} } @r);
    }
    ok t_cmp(join(', ', @by),
             'h 200 x5, k 200 x5, 502 x3, dk 504 x3',
             'graceful during faults: drips complete, deaf 504, silent 502');
    ok t_cmp(scalar(grep { $_->{target} =~ /drip/ && $_->{len} != 262144 } @r),
             0, 'every dripped body complete');
    $log->check('graceful during faults',
                expect => { XAPIFWD0104 => 'error', XAPIFWD0102 => 'error' },
                allow => [qr/AH00493|AH00171|AH03490/]);
    ok t_cmp(join("\n", crash_lines()), '', 'graceful: no crash');
    my @kids;
    my $deadline = time + 20;
    sleep 0.2 until (@kids = grep { $_ != $parent } httpd_children($parent)) == 1
                    && !grep { $_ == $child } @kids or time > $deadline;
    ok t_cmp(scalar(@kids), 1, 'one new child after the graceful restart');
    @r = load([good(4)], clients => 4)->collect;
    ok t_cmp(outcomes(@r), '200 x8', 'after the graceful restart: 200');
    my($same, $grown) = fds_back($pbefore, 20);
    ok t_cmp(join(' ', @$grown), '',
             'the parent holds as many descriptors as before');
    # not even under load at the fd limit an empty connection (a relay
    # makes its socketpair first)
    ok t_cmp(join("\n", $d->errors), '', 'the daemon saw nothing wrong');
    $log->check('end');
}
