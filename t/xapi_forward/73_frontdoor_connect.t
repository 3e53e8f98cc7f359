# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Consoles over CONNECT through the shipped front door
# (conf.d/xapi-frontdoor.conf: XapiForwardConnect On, the catch-all to
# xapi's port 80; its TLS vhost, conf.d/xapi-frontdoor-vhost.conf), as
# t/TEST.PL loads them, side by side with the reference front door
# (Debian's stunnel4 configured as xapi configures it), plus the vhosts of
# t/conf/connect.conf.in (a short idle limit, the directive Off, xapi on a
# unix socket).  xapi's port 80 is t/daemon/fake_xapi80.py: xapi's 200
# head, then echo, source or sink by query, or a refusal.  The same cases
# run through every front; the bytes are compared, never timings.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Digest::SHA qw(sha256_hex);
use IO::Select ();
use Socket qw(SHUT_WR);
use Time::HiRes qw(time sleep);
use XapiForward::AccessLog qw(log_line mark);
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(conf_port);
use XapiForward::FrontEnd qw(module_conf);
use XapiForward::Raw qw(close_notify_of conn read_all send_all);
use XapiForward::Stunnel;
use XapiForward::Xapi80 qw(pattern);

# a TLS close after a half-close (shutdown SHUT_WR) writes to a shut
# socket: EPIPE, not a signal that would end the test with its helpers
$SIG{PIPE} = 'IGNORE';

my $why = XapiForward::Stunnel->available;
my @FRONTS = ('plain', 'tls', ($why ? () : 'stunnel'));
my $PER_FRONT = 12;
plan tests => @FRONTS * $PER_FRONT + 17,
  need_module('proxy', 'proxy_http', 'xapi_forward', 'socache_shmcb',
              'ssl');
t_debug("no stunnel reference: $why") if $why;

my $HEAD_200 = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
  . "Cache-Control: no-cache, no-store\r\n\r\n";
my $MIB = 1 << 20;
my $vars = Apache::Test::vars();
my $TLS_PORT = conf_port('xf_frontdoor_tls_port', 'routes.conf');
my $access_from = mark('xf_access_log');
# AH01136: httpd's own warning for a host:port CONNECT matching the
# catch-all (its target has no path), the same with the directive Off
my $log = XapiForward::ErrorLog->new(allow => [qr/XAPIFWD0830/,
                                               qr/AH01136/]);

my $x80 = XapiForward::Xapi80->start('x80',
    http => conf_port('xf_frontdoor_xapi_port', 'routes.conf'),
    unix => 'x80.sock');
my $xidle = XapiForward::Xapi80->start('idle',
    http => conf_port('xf_connect_xapi_port', 'connect.conf'));
my $st = $why ? undef
  : XapiForward::Stunnel->start('ref', xapi_port => $x80->port);
my %PORT = (plain => Apache::Test::config()->port('xf_frontdoor'),
            tls => $TLS_PORT, stunnel => $st ? $st->port : 0);

# bytes IO::Socket::SSL already decrypted (a plain socket has none)
sub pending { my $s = shift; $s->can('pending') ? $s->pending : 0 }

# read up to and including the blank line ending a response head, byte
# by byte (the bytes after it are the console's)
sub read_head {
    my $s = shift;
    my $h = '';
    my $sel = IO::Select->new($s);
    while ($h !~ /\r\n\r\n\z/) {
        last unless pending($s) || $sel->can_read(20);
        my $n = sysread($s, my $c, 1);
        last unless $n;
        $h .= $c;
    }
    return $h;
}

# exactly $n bytes (fewer when the connection ends first)
sub read_n {
    my($s, $n) = @_;
    my $got = '';
    my $sel = IO::Select->new($s);
    while (length($got) < $n) {
        last unless pending($s) || $sel->can_read(20);
        my $r = sysread($s, my $b, $n - length $got);
        last unless $r;
        $got .= $b;
    }
    return $got;
}

# the console's bytes until EOF ("<no EOF>" appended on a timeout)
sub rest {
    my($s, $t) = @_;
    my($data, $eof) = read_all($s, $t || 20);
    return $eof ? $data : "$data<no EOF>";
}

my $serial = 0;

# Open a console through front $f (plain, tls, stunnel, a vhost name or a
# port): (socket, response head, request, marker).  The session in the
# query, or (cookie => 1) as xapi's own client sends it.
sub console {
    my($f, %o) = @_;
    my $mark = "OpaqueRef:t" . ++$serial;
    my $path = $o{path} || '/console';
    my $q = "ref=$mark" . ($o{cookie} ? '' : '&session_id=OpaqueRef:s1')
      . ($o{q} ? "&$o{q}" : '');
    my @h = (($o{v} || '') eq '1.1' ? (['Host', 'localhost']) : (),
             $o{cookie} ? (['Cookie', 'session_id=OpaqueRef:s1; '
                            . 'task_id=OpaqueRef:t9; subtask_of=OpaqueRef:t8'])
                        : ());
    my $req = "CONNECT $path?$q HTTP/" . ($o{v} || '1.0') . "\r\n"
      . join('', map { "$_->[0]: $_->[1]\r\n" } @h) . "\r\n";
    my $s = $f =~ /^(?:tls|stunnel)\z/
      ? conn($f, port => $PORT{$f}, tls => 1, sni => 0)
      : $f eq 'plain' ? conn('xf_frontdoor')
      : $f eq 'x80' ? conn('x80', port => $x80->port)
      : conn($f);
    send_all($s, $req . ($o{extra} // ''));
    return ($s, read_head($s), { head => $req, headers => \@h, path => $path,
                                 mark => $mark, v => $o{v} || '1.0' });
}

sub close_tls { my $s = shift; $s->can('stop_SSL') ? $s->close(SSL_fast_shutdown => 1) : close $s }

# xapi's record of a console (and its tunnel's end), waiting for them
sub record_of {
    my($x, $mark, $end) = @_;
    my $deadline = time + 10;
    while (1) {
        my @r = $x->records;
        my($req) = grep { !$_->{event} && ($_->{query}{ref} // '') eq $mark }
          @r;
        if ($req) {
            return $req unless $end;
            my($e) = grep { ($_->{event} // '') eq 'tunnel_end'
                              && $_->{conn} == $req->{conn}
                              && $_->{seq} == $req->{seq} } @r;
            return $e if $e;
        }
        return undef if time > $deadline;
        sleep 0.05;
    }
}

# what xapi saw of the request, as "METHOD TARGET VERSION\nName: value..."
sub seen {
    my $r = shift or return 'no record';
    return join "\n", "$r->{method} $r->{target} $r->{version}",
      map { "$_->[0]: $_->[1]" } @{ $r->{headers} };
}

sub sent {
    my $c = shift;
    (my $line = $c->{head}) =~ s/\r\n.*//s;
    return join "\n", $line, map { "$_->[0]: $_->[1]" } @{ $c->{headers} };
}

# xapi's answer to the same request on port 80 itself: what every front
# must pass on unchanged
sub direct {
    my %o = @_;
    my($s, $h) = console('x80', %o);
    return $h . rest($s);
}

my $random = join '', map { chr(int rand 256) } 1 .. $MIB;

# A case where the client half-closes right after its bytes: httpd must
# pass them and the EOF on. The reference stunnel, under load, at times
# ends the connection before xapi's answer is through (TIMEOUTclose = 1,
# as xapi writes it): there a short answer is reported as a skip, not as
# httpd's failure.
sub half_closed {
    my($f, $got, $want, $name) = @_;
    if ($f eq 'stunnel' && $got ne $want) {
        skip("stunnel ended the connection early under load ($name)");
        return;
    }
    ok t_cmp($got, $want, $name);
}

for my $f (@FRONTS) {
    my $tls = $f ne 'plain';
    # HTTP/1.0, session in the query: 1 MiB client -> xapi; the client's
    # half-close reaches xapi, which still answers
    my($s, $h, $c) = console($f, q => 'mode=sink');
    send_all($s, $random);
    shutdown($s, SHUT_WR);
    half_closed($f, $h . rest($s), $HEAD_200 . "got $MIB "
                . sha256_hex($random) . "\n",
                "$f: 200 head, 1 MiB to xapi, EOF passed on, answer");
    my $r = record_of($x80, $c->{mark});
    ok t_cmp(seen($r), sent($c), "$f: xapi sees the request as sent");
    my $lport = $s->sockport;
    ok t_cmp($r && $r->{proxy_line},
             $tls ? "PROXY TCP6 ::ffff:127.0.0.1 ::ffff:127.0.0.1 $lport "
                    . $PORT{$f} : undef,
             $tls ? "$f: PROXY line naming the client" : "$f: no PROXY line");
    close $s;

    # HTTP/1.1, session as cookies: 1 MiB xapi -> client; xapi's
    # half-close reaches the client, which can still send
    ($s, $h, $c) = console($f, v => '1.1', cookie => 1,
                           q => "mode=source&n=$MIB");
    my($data, $eof) = read_all($s, 20);
    ok(($h . $data) eq $HEAD_200 . pattern($MIB) && $eof);
    # over TLS the end is TLS's own: close_notify before the TCP EOF
    # (httpd's front; the reference stunnel's is only reported)
    my $notify = close_notify_of($s);
    t_debug("$f: close_notify after xapi's end: $notify");
    ok t_cmp($f eq 'tls' ? $notify : 'not asserted',
             $f eq 'tls' ? 1 : 'not asserted',
             "$f: xapi's end reaches a TLS client as close_notify");
    send_all($s, 'x' x 1000);
    shutdown($s, SHUT_WR);
    my $e = record_of($x80, $c->{mark}, 1);
    ok t_cmp($e && $e->{bytes_in}, 1000,
             "$f: the client still sends after xapi's EOF");
    ok t_cmp(seen(record_of($x80, $c->{mark})), sent($c),
             "$f: HTTP/1.1 with the session cookies, as sent");
    close $s;

    # 1 MiB echoed, in slices
    ($s, $h) = console($f, q => 'mode=echo');
    my $back = '';
    for (my $i = 0; $i < $MIB; $i += 65536) {
        my $slice = substr($random, $i, 65536);
        send_all($s, $slice);
        $back .= read_n($s, length $slice);
    }
    ok(($h . $back) eq $HEAD_200 . $random);
    close_tls($s);

    # the first bytes sent with the head reach xapi, after the head
    ($s, $h) = console($f, v => '1.1', q => 'mode=echo',
                       extra => "RFB 003.008\n");
    ok t_cmp($h . read_n($s, 12), $HEAD_200 . "RFB 003.008\n",
             "$f: bytes sent with the head reach xapi after it");
    close_tls($s);

    # refusals reach the client unchanged, then the connection ends
    for my $code (404, 403) {
        ($s, $h) = console($f, q => "refuse=$code");
        ok t_cmp($h . rest($s), direct(q => "refuse=$code"),
                 "$f: xapi's $code unchanged, then the end");
    }

    # /remotecmd, the other CONNECT route
    ($s, $h) = console($f, path => '/remotecmd', q => 'mode=echo');
    send_all($s, "ls\n");
    shutdown($s, SHUT_WR);
    half_closed($f, $h . rest($s), $HEAD_200 . "ls\n", "$f: /remotecmd");
}

# the access log: xapi's status and the bytes from xapi
{
    my($s, $h, $c) = console('plain', q => 'mode=source&n=1000');
    rest($s);
    close $s;   # the request ends (and is logged) when both sides are done
    my $l = log_line('xf_access_log', $access_from, 'CONNECT',
                     "/console?ref=$c->{mark}&session_id=OpaqueRef:s1"
                     . '&mode=source&n=1000');
    ok t_cmp($l, qr/ 200 1000 xf=connect$/, 'access log: 200 and the bytes');
    ($s, $h, $c) = console('plain', q => 'refuse=404');
    rest($s);
    $l = log_line('xf_access_log', $access_from, 'CONNECT',
                  "/console?ref=$c->{mark}&session_id=OpaqueRef:s1"
                  . '&refuse=404');
    ok t_cmp($l, qr/ 404 0 xf=connect$/, 'access log: 404');
}

# the idle limit (XapiForwardTunnelTimeout 1 in xf_connect_idle) ends a
# console nobody speaks on: the client sees EOF, xapi too
{
    my($s, $h, $c) = console('xf_connect_idle', q => 'mode=echo');
    ok t_cmp($h . rest($s, 30), $HEAD_200, 'idle console ended by httpd');
    my $e = record_of($xidle, $c->{mark}, 1);
    ok t_cmp($e && $e->{bytes_in}, 0, 'xapi saw the end too');
}

# xapi on a unix socket (unix:...|http://)
{
    my($s, $h, $c) = console('xf_connect_uds', v => '1.1', q => 'mode=echo');
    send_all($s, 'hello');
    shutdown($s, SHUT_WR);
    ok t_cmp($h . rest($s), $HEAD_200 . 'hello', 'unix socket worker');
    my $r = record_of($x80, $c->{mark});
    ok t_cmp($r && $r->{transport}, 'unix', 'over the unix socket');
}

# a CONNECT after a request on the same connection
{
    my $s = conn('xf_frontdoor');
    send_all($s, "GET /jsonrpc HTTP/1.1\r\nHost: localhost\r\n\r\n");
    my $h = read_head($s);
    my($len) = $h =~ /Content-Length: (\d+)/i;
    read_n($s, $len || 0);
    send_all($s, "CONNECT /console?ref=OpaqueRef:ka&mode=echo HTTP/1.1\r\n"
             . "Host: localhost\r\n\r\nping");
    shutdown($s, SHUT_WR);
    ok t_cmp(read_head($s) . rest($s), $HEAD_200 . 'ping',
             'a console after a kept-alive request');
}

# the request line and head arriving in pieces
{
    my $s = conn('xf_frontdoor');
    for my $piece ('CONN', 'ECT /console?ref=OpaqueRef:pc&mode=echo HT',
                   "TP/1.0\r\nCookie: session_id=OpaqueRef:s1\r", "\n",
                   "\r\nping") {
        send_all($s, $piece);
        sleep 0.2;   # separate reads for httpd, whatever the timing
    }
    shutdown($s, SHUT_WR);
    ok t_cmp(read_head($s) . rest($s), $HEAD_200 . 'ping',
             'a console whose head arrives in pieces');
    ok t_cmp(seen(record_of($x80, 'OpaqueRef:pc')),
             "CONNECT /console?ref=OpaqueRef:pc&mode=echo HTTP/1.0\n"
             . 'Cookie: session_id=OpaqueRef:s1', 'its head, as sent');
}

# without XapiForwardConnect, and for host:port: httpd's own answers
{
    my($s, $h) = console('xf_connect_off', q => 'mode=echo');
    ok t_cmp($h, qr{^HTTP/1\.1 400 }, 'XapiForwardConnect Off: 400 as today');
    my @ans;
    $x80->reset;
    $xidle->reset;
    for my $vh ('xf_frontdoor', 'xf_connect_off') {
        my $c = conn($vh);
        send_all($c, "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"
                 . "\r\n");
        my $a = read_head($c);
        push @ans, $a =~ m{^(HTTP/1\.\d \d+)} ? $1 : $a;
    }
    ok t_cmp($ans[0], $ans[1], "host:port CONNECT: httpd's answer ($ans[1])");
    my @seen = map { seen($_) } $x80->requests, $xidle->requests;
    ok t_cmp(scalar(grep { /^CONNECT 127\.0\.0\.1:9 / } @seen), 0,
             'host:port is never a console');
}

# 50 consoles open at once while ordinary requests are served, on a front
# end sized for it (a console holds a worker for its whole life)
{
    my $mpm = XapiForward::FrontEnd::mpm();
    my $size = $mpm eq 'prefork'
      ? "StartServers 8\nServerLimit 64\nMaxRequestWorkers 64\n"
        . "MinSpareServers 8\nMaxSpareServers 64\n"
      : "ThreadLimit 64\nThreadsPerChild 64\nMaxRequestWorkers 64\n"
        . "MinSpareThreads 8\nMaxSpareThreads 64\n";
    my $fe = XapiForward::FrontEnd->start('consoles',
        module_conf(qw(proxy proxy_http socache_shmcb)) . $size
        . 'Define xf_frontdoor_xapi_port ' . $x80->port . "\n"
        . "Include \"$vars->{t_conf}/xapi-frontdoor.conf.gen\"\n");
    my @open;
    for (1 .. 50) {
        my($s, $h) = console($fe->port, q => 'mode=echo');
        push @open, $s if $h eq $HEAD_200;
    }
    ok t_cmp(scalar @open, 50, '50 consoles open');
    my $served = 0;
    for (1 .. 5) {
        my $c = conn($fe->port);
        send_all($c, "GET /jsonrpc HTTP/1.1\r\nHost: localhost\r\n"
                 . "Connection: close\r\n\r\n");
        my($d) = read_all($c, 20);
        $served++ if $d =~ m{^HTTP/1\.1 200 };
    }
    ok t_cmp($served, 5, 'ordinary requests served meanwhile');
    my $echoed = 0;
    for my $s (@open) {
        send_all($s, 'ping');
        shutdown($s, SHUT_WR);
        $echoed++ if rest($s) eq 'ping';
    }
    ok t_cmp($echoed, 50, 'every console still works');
    ok t_cmp(scalar(() = $fe->error_log
                    =~ /\[(?:\w+:)?(?:warn|error|crit|alert|emerg)\]/g),
             0, 'front end: nothing logged at warn or worse');
}

$log->check('error_log: nothing unexpected');
