# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Soak: many hand-offs, then many relayed keep-alive requests, from
# concurrent ApacheBench clients (loopback); afterwards every httpd child
# that lived through it holds as many descriptors as before and about as
# much memory; no request failed; nothing at warn or worse in the error
# log. In `make test` with small counts; `make soak` runs this file with
#   XF_SOAK_HANDOFFS, XF_SOAK_RELAYED   requests of each kind (default 1000)
#   XF_SOAK_CONCURRENCY                 concurrent clients (default 20)
#   XF_SOAK_RSS_KB                      allowed RSS growth per child, KiB
#                                       (default 8192)
# Children the MPM stops or starts on its own during the run (idle
# maintenance) are not compared; at least one must have lived through it.
# `make soak` adds -D XF_SOAK (t/conf/soak.conf.in): enough event MPM
# threads that the server never closes an idle keep-alive connection,
# which ab 2.4 would count as a failed request. The summary line counts
# the idle keep-alive connections the event MPM says it closed ("All
# workers are busy or dying, will shutdown N keep-alive connections",
# trace1) and the times a child held as many connections as threads
# ("Too many open connections", debug), when a request arriving on a
# keep-alive connection is closed unanswered (not logged).
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use XapiForward::Daemon qw(httpd_children);
use XapiForward::ErrorLog;
use XapiForward::Load qw(ab ab_path snapshot);
use XapiForward::Raw qw(port_of);

my $handoffs = $ENV{XF_SOAK_HANDOFFS} || 1000;
my $relayed  = $ENV{XF_SOAK_RELAYED} || 1000;
my $conc     = $ENV{XF_SOAK_CONCURRENCY} || 20;
my $rss_max  = $ENV{XF_SOAK_RSS_KB} || 8192;

plan tests => 13, need need_module('proxy', 'xapi_forward'),
  { 'ab (apache2-utils)' => sub { defined ab_path() } };

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(soak));
my $base = 'http://127.0.0.1:' . port_of('xf_soak');

# warm up with the same concurrency: every thread has served both kinds,
# so lazily opened descriptors and grown pools are in the baseline
my $warm = $conc * 10;
ab(url => "$base/h/warm", n => $warm, c => $conc);
ab(url => "$base/k/warm", n => $warm, c => $conc, keepalive => 1);
$d->wait_count('soak', 2 * $warm, 30);
sleep 1;
my $before = snapshot(httpd_children());
t_debug("before: " . join ' ', map { "$_:$before->{$_}{fds}fd/$before->{$_}{rss_kb}k" }
        sort keys %$before);

my $t0 = time;
my $h = ab(url => "$base/h/soak", n => $handoffs, c => $conc);
t_debug("hand-off: $h->{out}");
ok t_cmp($h->{complete}, $handoffs, "hand-off: $handoffs requests complete");
ok t_cmp($h->{failed} + $h->{non2xx}, 0,
         "hand-off: 0 failed, 0 non-2xx ($h->{rps} req/s, c=$conc)");

my $k = ab(url => "$base/k/soak", n => $relayed, c => $conc, keepalive => 1);
t_debug("relay: $k->{out}");
ok t_cmp($k->{complete}, $relayed, "relay: $relayed requests complete");
ok t_cmp($k->{failed} + $k->{non2xx}, 0,
         "relay: 0 failed, 0 non-2xx ($k->{rps} req/s, c=$conc)");
# MaxKeepAliveRequests (100) closes every 100th: most requests reuse
ok t_cmp($k->{keepalive} >= $relayed * 0.9 ? 1 : 0, 1,
         "relay: keep-alive used ($k->{keepalive} of $relayed)");

my $served = $d->wait_count('soak', 2 * $warm + $handoffs + $relayed, 60);
ok t_cmp($served, 2 * $warm + $handoffs + $relayed,
         'the daemon got every request');
my @derr = $d->errors;
ok t_cmp(join("\n", @derr), '', 'the daemon saw nothing wrong');
my $secs = time - $t0;

# descriptors of connections in lingering close go away within seconds
my($after, @same, @grown);
my $deadline = time + 20;
while (1) {
    $after = snapshot(httpd_children());
    @same = grep { $after->{$_} } sort keys %$before;
    @grown = grep { $after->{$_}{fds} != $before->{$_}{fds} } @same;
    last if !@grown || time > $deadline;
    sleep 0.5;
}
t_debug("after: " . join ' ', map { "$_:$after->{$_}{fds}fd/$after->{$_}{rss_kb}k" }
        sort keys %$after);
ok t_cmp(scalar(@same) >= 1 ? 1 : 0, 1,
         'at least one httpd child lived through the soak (' . scalar(@same)
         . ' of ' . scalar(keys %$before) . ')');
ok t_cmp(join(' ', map { "$_:$before->{$_}{fds}->$after->{$_}{fds}" } @grown),
         '', 'every such child holds as many descriptors as before');
my @fat = grep { $after->{$_}{rss_kb} - $before->{$_}{rss_kb} > $rss_max } @same;
my $growth = 0;
for (@same) {
    my $g = $after->{$_}{rss_kb} - $before->{$_}{rss_kb};
    $growth = $g if $g > $growth;
}
ok t_cmp(join(' ', map { "$_:$before->{$_}{rss_kb}->$after->{$_}{rss_kb}" } @fat),
         '', "RSS of every such child within $rss_max KiB of before "
         . "(largest growth $growth KiB)");

ok t_cmp($h->{exit}, 0, 'ab (hand-off) exited 0');
ok t_cmp($k->{exit}, 0, 'ab (relay) exited 0');
$log->check('soak: nothing at warn or worse', timeout => 1);

# the event MPM's lines (t/conf/soak.conf.in)
my($ka_closed, $conn_limit) = (0, 0);
for ($log->last_lines) {
    $ka_closed += $1 if /will shutdown (\d+) keep-alive connections/;
    $conn_limit++ if /Too many open connections/;
}

# one line for the record (make soak prints it)
t_debug(sprintf "SOAK handoffs=%d (%.0f req/s) relayed=%d keepalive=%d "
        . "(%.0f req/s) c=%d secs=%.0f children=%d fds_same=%d "
        . "max_rss_growth_kb=%d mpm_ka_closed=%d mpm_conn_limit=%d",
        $handoffs, $h->{rps}, $relayed, $k->{keepalive}, $k->{rps}, $conc,
        $secs, scalar(@same), scalar(@same) - scalar(@grown), $growth,
        $ka_closed, $conn_limit);
print "# SOAK handoffs=$handoffs/$h->{rps}rps relayed=$relayed/$k->{rps}rps "
  . "keepalive=$k->{keepalive} c=$conc children=" . scalar(@same)
  . " fds_changed=" . scalar(@grown) . " max_rss_growth_kb=$growth"
  . " mpm_ka_closed=$ka_closed mpm_conn_limit=$conn_limit\n";
