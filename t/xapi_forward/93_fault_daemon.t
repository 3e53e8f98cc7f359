# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Daemon faults under load (issue 12): while several clients run, the
# daemon is killed mid-response, reads the envelope and hangs up, accepts
# and never reads, never accepts (backlog full), its socket is removed and
# recreated, its socket is mode 000.  Each case checks what every client
# sees and the tags in the error log; at the end every httpd child holds
# as many descriptors as before the faults, and the server still serves.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use XapiForward::Daemon qw(httpd_children);
use XapiForward::ErrorLog;
use XapiForward::Faults qw(clients outcomes fd_counts fds_back);

plan tests => 39, need_module('proxy', 'xapi_forward');

my $VH = 'xf_faults';
my @NAMES = qw(fault deaf full perm);
my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(@NAMES);

# the outcomes of the requests whose target matches $re
sub of {
    my($re, @r) = @_;
    return outcomes(grep { $_->{target} =~ $re } @r);
}

sub load {
    my($targets, %o) = @_;
    return clients($VH, $targets, clients => 6, timeout => 30, %o);
}

sub good { map { ("/h/hello?$_", "/k/hello?$_") } 1 .. $_[0] }

# --- warm up: every child has served both kinds --------------------------
my @r = load([good(12)])->collect;
ok t_cmp(outcomes(@r), '200 x24', 'warm-up: every request 200');
$log->check('warm-up');
sleep 1;
my $before = fd_counts(httpd_children());
t_debug('fds before: ' . join ' ', map { "$_:$before->{$_}" } sort keys %$before);

# --- the daemon killed mid-response ------------------------------------------
{
    # ~4 MB dripped at ~160 KB/s: every response is in flight at the kill
    my $drip = 'drip?bytes=4000000&block=8192&ms=50';
    my $c0 = $d->count('fault');
    my $l = load([map { ("/h/$drip&n=$_", "/k/$drip&n=$_") } 1 .. 3]);
    my $n = $d->wait_count('fault', $c0 + 6, 20) - $c0;
    sleep 0.5;
    $d->kill_hard;
    @r = $l->collect;
    ok t_cmp($n, 6, 'killed mid-response: all six responses were under way');
    ok t_cmp(of(qr{^/h/}, @r), '200-truncated x3',
             'hand-off: the client has the head and part of the body, then '
             . 'the connection closes');
    ok t_cmp(of(qr{^/k/}, @r), '200-truncated x3',
             'relay: the client has the head and part of the body, then the '
             . 'connection closes');
    ok t_cmp(scalar(grep { $_->{error} eq 'timeout' } @r), 0,
             'killed mid-response: no client left waiting');
    $log->check('killed mid-response', expect => { XAPIFWD0113 => 'error' });

    $d = XapiForward::Daemon->start(@NAMES);
    @r = load([good(3)])->collect;
    ok t_cmp(outcomes(@r), '200 x6', 'daemon restarted: every request 200');
    $log->check('daemon restarted');
}

# --- reads the envelope and hangs up ---------------------------------------
{
    @r = load([(map { ("/h/silent?$_", "/k/silent?$_") } 1 .. 4), good(2)])
      ->collect;
    ok t_cmp(of(qr{^/h/silent}, @r), 'closed x4',
             'reads and closes, hand-off: the client sees the close, no bytes');
    ok t_cmp(scalar(grep { $_->{target} =~ m{^/h/silent} && $_->{len} } @r),
             0, '... not a byte');
    ok t_cmp(of(qr{^/k/silent}, @r), '502 x4', 'reads and closes, relay: 502');
    ok t_cmp(of(qr{/hello}, @r), '200 x4', '... meanwhile the others: 200');
    $log->check('reads and closes', expect => { XAPIFWD0102 => 'error' });
}

# --- accepts and never reads -----------------------------------------------------
{
    my $t0 = time;
    @r = load([(map { ("/deafh/x?$_", "/deafk/x?$_") } 1 .. 3), good(2)])
      ->collect;
    ok t_cmp(of(qr{^/deafh/}, @r), 'closed x3',
             'never reads, hand-off: the connection closes (when the daemon '
             . 'hangs up), no bytes');
    ok t_cmp(of(qr{^/deafk/}, @r), '504 x3',
             'never reads, relay: 504 after the worker timeout');
    ok t_cmp(of(qr{/hello}, @r), '200 x4', '... meanwhile the others: 200');
    ok t_cmp(scalar(grep { $_->{error} eq 'timeout' } @r), 0,
             'never reads: no client left waiting');
    t_debug(sprintf 'deaf phase: %.1f s', time - $t0);
    $log->check('never reads', expect => { XAPIFWD0104 => 'error' });
}

# --- never accepts: the backlog is full ----------------------------------------
{
    @r = load([(map { ("/fullh/x?$_", "/fullk/x?$_") } 1 .. 3), good(2)])
      ->collect;
    ok t_cmp(of(qr{^/fullh/}, @r), '504 x3',
             'backlog full, hand-off: 504 after connectiontimeout');
    ok t_cmp(of(qr{^/fullk/}, @r), '504 x3', 'backlog full, relay: 504');
    ok t_cmp(of(qr{/hello}, @r), '200 x4', '... meanwhile the others: 200');
    $log->check('backlog full', expect => { XAPIFWD0005 => 'error' });
}

# --- the socket removed, then recreated -------------------------------------------
{
    unlink $d->sock('fault') or die "unlink: $!\n";
    @r = load([good(3)])->collect;
    ok t_cmp(outcomes(@r), '503 x6',
             'socket removed (daemon still running): 503 in both modes');
    $log->check('socket removed', expect => { XAPIFWD0004 => 'error' });

    $d->stop;
    $d = XapiForward::Daemon->start(@NAMES);
    @r = load([good(3)])->collect;
    ok t_cmp(outcomes(@r), '200 x6', 'socket recreated: 200 again');
    $log->check('socket recreated');
}

# --- permission denied on the socket -------------------------------------------------
{
    my $sock = $d->sock('perm');
    chmod 0000, $sock or die "chmod: $!\n";
    @r = load([(map { ("/perm/x?$_", "/perm404/x?$_") } 1 .. 3), good(2)])
      ->collect;
    ok t_cmp(of(qr{^/perm/}, @r), '503 x3',
             'socket mode 000: the missing status, 503');
    ok t_cmp(of(qr{^/perm404/}, @r), '404 x3',
             'socket mode 000, XapiForwardMissingStatus 404: 404');
    ok t_cmp(of(qr{/hello}, @r), '200 x4', '... meanwhile the others: 200');
    $log->check('permission denied', expect => { XAPIFWD0004 => 'error' });
    ok t_cmp(scalar(grep { /Permission denied/ && /XAPIFWD0004/ }
                    $log->last_lines) ? 1 : 0, 1,
             'the log line says "Permission denied"');

    chmod 0666, $sock or die "chmod: $!\n";
    @r = load([map { "/perm/hello?$_" } 1 .. 6])->collect;
    ok t_cmp(outcomes(@r), '200 x6', 'mode restored: 200');
    $log->check('mode restored');
}

# --- nothing leaked -------------------------------------------------------------------
{
    @r = load([good(6)])->collect;
    ok t_cmp(outcomes(@r), '200 x12', 'after every fault: 200 in both modes');
    my($same, $grown) = fds_back($before, 20);
    t_debug('children compared: ' . join ' ', @$same);
    ok t_cmp(scalar(@$same) >= 1 ? 1 : 0, 1,
             'at least one httpd child lived through the faults');
    ok t_cmp(join(' ', @$grown), '',
             'every such child holds as many descriptors as before');
    ok t_cmp(join("\n", $d->errors), '', 'the daemon saw nothing wrong');
    $log->check('end');
}
