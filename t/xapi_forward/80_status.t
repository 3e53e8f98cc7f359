# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# The mod_status section (issue 11): counters shared by every child and
# exact under concurrent load (forked clients send N requests, the page
# says N), per daemon socket rows, access control, cache and XAPI calls;
# the LogFormat variables and the trace5 line of each forwarded request.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::AccessLog ();
use XapiForward::FakeXapi qw(session_of);
use XapiForward::Raw qw(exchange host_of parse_responses);
use XapiForward::Status qw(status wait_status run_clients get_status);

plan tests => 21, need_module('proxy', 'xapi_forward', 'status',
                              'socache_shmcb');

my $VH = 'xf_ops';
my $vars = Apache::Test::vars();
my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(ops));
my $x = XapiForward::FakeXapi->start('opsx', unix => 'opsxapi.sock');
my $sock = $d->sock('ops');
my $amark = XapiForward::AccessLog::mark('xf_ops_access_log');

my $s0 = status($VH);
ok t_cmp($s0->{raw}, qr/^XapiForwardHandoffs: \d+$/m,
         'server-status?auto has the mod_xapi_forward lines');

# --- exact under concurrent load: 10 clients x 20 hand-offs, 4 x 10 relays
my($HC, $HE, $RC, $RE) = (10, 20, 4, 10);
my $pid = fork;
die "fork: $!\n" unless defined $pid;
if (!$pid) {
    # the relays run at the same time as the hand-offs, from other clients
    my @st = run_clients($VH, $RC, $RE, '/rl/hello');
    POSIX::_exit((grep { $_ != 200 } @st) ? 1 : 0);
}
my @st = run_clients($VH, $HC, $HE, '/h/hello');
waitpid $pid, 0;
my $relays_ok = $? == 0;
ok t_cmp(scalar(grep { $_ == 200 } @st), $HC * $HE,
         'every hand-off request got 200');
ok $relays_ok;

my $N = $HC * $HE + $RC * $RE;
my $s = wait_status($VH, sub {
    ($_[0]{Handoffs} // 0) - $s0->{Handoffs} >= $HC * $HE
      && ($_[0]{Relays} // 0) - $s0->{Relays} >= $RC * $RE });
ok t_cmp($s->{Handoffs} - $s0->{Handoffs}, $HC * $HE,
         'Handoffs counts exactly the hand-offs');
ok t_cmp($s->{Relays} - $s0->{Relays}, $RC * $RE,
         'Relays counts exactly the relays');
ok t_cmp(($s->{sockets}{$sock}{ok} // 0)
         - ($s0->{sockets}{$sock}{ok} // 0), $N,
         'the daemon socket row counts every forwarded request');
ok t_cmp($s->{Failed} - $s0->{Failed}, 0, 'nothing failed');

# --- per socket failures ---------------------------------------------------
my $missing = "$vars->{xf_sockdir}/opsmissing.sock";
ok t_cmp(get_status($VH, '/missing/x'), 503, 'missing socket: 503');
ok t_cmp(get_status($VH, '/small/x?' . ('q' x 400)), 431,
         'oversize envelope: 431');
$s = status($VH);
ok t_cmp($s->{sockets}{$missing}{connect_failures}, 1,
         'a connect failure on the missing socket');
ok t_cmp(($s->{sockets}{$sock}{oversize} // 0)
         - ($s0->{sockets}{$sock}{oversize} // 0), 1,
         'an oversize refusal on the daemon socket');

# --- access control, cache, XAPI calls -------------------------------------
my $sess = session_of('cookie');
my $a0 = status($VH);
$x->reset;
my @codes = map { get_status($VH, $_) }
  ("/a/hello?session_id=$sess",             # miss: XAPI asked, allowed
   "/a/hello?session_id=$sess",             # hit
   '/a/hello',                              # no credentials: 401
   "/perm/hello?session_id=$sess");         # lacks the permission: 403
$x->mode('down');
push @codes, get_status($VH, '/a/hello?session_id=OpaqueRef:xf-ops-down');
$x->mode('normal');
ok t_cmp("@codes", '200 200 401 403 503', 'access outcomes');
$s = status($VH);
my %delta = map { $_ => ($s->{$_} // 0) - ($a0->{$_} // 0) }
  qw(AccessAllowed AccessUnauthorized AccessDenied AccessErrors CacheHits
     CacheMisses XapiCalls XapiFailedCalls);
ok t_cmp(join(' ', map { "$_=$delta{$_}" } sort keys %delta),
         join(' ', map { "$_->[0]=$_->[1]" } sort { $a->[0] cmp $b->[0] }
              [AccessAllowed => 2], [AccessUnauthorized => 1],
              [AccessDenied => 1], [AccessErrors => 1], [CacheHits => 1],
              [CacheMisses => 3], [XapiCalls => $x->count],
              [XapiFailedCalls => 1]),
         'access, cache and XAPI call counters');
my $hist = 0;
$hist += $s->{$_} - $a0->{$_} for grep { /^XapiLatency/ } keys %$s;
ok t_cmp($hist, $delta{XapiCalls}, 'the latency histogram adds up');
ok $s->{XapiMicroseconds} > $a0->{XapiMicroseconds};

# --- the HTML page ----------------------------------------------------------
{
    my $host = host_of($VH);
    my $r = exchange($VH, "GET /server-status HTTP/1.1\r\nHost: $host\r\n"
                     . "Connection: close\r\n\r\n");
    my($resp) = parse_responses($r->{data}, 'GET');
    ok t_cmp($resp->{body}, qr{<h2>mod_xapi_forward</h2>.*\Q$sock\E}s,
             'the HTML page has the section and the socket row');
}

# --- LogFormat variables and the trace5 line --------------------------------
{
    my $l = XapiForward::AccessLog::log_line('xf_ops_access_log', $amark,
                                             'GET', '/h/hello');
    ok t_cmp($l, qr{ 200 way=handoff daemon=\Q$sock\E access=- cache=- us=\d+$},
             'access log: hand-off, daemon, time to hand-off');
    $l = XapiForward::AccessLog::log_line('xf_ops_access_log', $amark,
                                          'GET', '/rl/hello');
    ok t_cmp($l, qr{ 200 way=relay daemon=\Q$sock\E access=- cache=- us=\d+$},
             'access log: relay');
    my $m = XapiForward::AccessLog::mark('xf_ops_access_log');
    get_status($VH, "/a/hello?session_id=$sess");
    $l = XapiForward::AccessLog::log_line('xf_ops_access_log', $m, 'GET',
                                          '/a/hello');
    ok t_cmp($l, qr{ 200 way=handoff daemon=\S+ access=allowed cache=hit },
             'access log: access outcome and cache');
    $l = XapiForward::AccessLog::log_line('xf_ops_access_log', $m, 'GET',
                                          '/a/hello', 1);
    my $t = $log->wait_for(qr{\[xapi_forward:trace5\].* /rl/hello relay});
    ok t_cmp($t, qr{/rl/hello relay via \Q$sock\E.*envelope \d+ bytes; us since the request: built \d+, connected \d+, handed \d+, done \d+; access off},
             'trace5: way, socket, envelope size, timings');
}

$log->check('status page', expect => {
    'XAPIFWD0004' => 'error', 'XAPIFWD0006' => 'error',
    'XAPIFWD0200' => '', 'XAPIFWD0204' => 'error', 'XAPIFWD0205' => 'error'},
    timeout => 10);
