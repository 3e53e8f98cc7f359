# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Consoles over CONNECT through the shipped front door
# (conf.d/xapi-frontdoor.conf: XapiForwardConnect On, the catch-all to
# xapi's port 80; its TLS vhost, conf.d/xapi-frontdoor-vhost.conf), as
# t/TEST.PL loads them, plus the vhosts of t/conf/connect.conf.in (a short
# idle limit, the directive Off, xapi on a unix socket). xapi's port 80 is
# t/daemon/console_xapi80.py: it records each request head as it arrived
# (and the PROXY line), answers xapi's 200 head and then echoes, sources
# or sinks bytes, or refuses. The wire bytes are compared, never timings.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Digest::SHA qw(sha256_hex);
use IO::Select ();
use JSON::PP ();
use Socket qw(SHUT_WR);
use Time::HiRes qw(time sleep);
use XapiForward::AccessLog qw(log_line mark);
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(conf_port);
use XapiForward::FrontEnd qw(module_conf free_port slurp);
use XapiForward::Proc qw(spawn stop_pid);
use XapiForward::Raw qw(conn port_of read_all send_all);

plan tests => 33,
  need_module('proxy', 'proxy_http', 'xapi_forward', 'socache_shmcb',
              'ssl');

my $HEAD_200 = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
  . "Cache-Control: no-cache, no-store\r\n\r\n";
my $MIB = 1 << 20;
my $vars = Apache::Test::vars();
my $sockdir = $vars->{xf_sockdir};
my $TLS_PORT = conf_port('xf_frontdoor_tls_port', 'routes.conf');
my $X80_PORT = conf_port('xf_frontdoor_xapi_port', 'routes.conf');
my $X80_IDLE = conf_port('xf_connect_xapi_port', 'connect.conf');
my $records = "$vars->{t_logs}/console_xapi80.jsonl";
my $access_from = mark('xf_access_log');
# AH01136: httpd's own warning for a host:port CONNECT matching the
# catch-all (its target is no path), the same with the directive Off
my $log = XapiForward::ErrorLog->new(allow => [qr/XAPIFWD0830/,
                                               qr/AH01136/]);

# xapi's port 80 (until t/daemon/fake_xapi80.py: the same modes)
unlink $records;
my $ready = "$vars->{t_logs}/console_xapi80.ready";
unlink $ready;
my $x80 = spawn("$vars->{t_logs}/console_xapi80.out", undef, 'python3',
                "$vars->{t_dir}/daemon/console_xapi80.py",
                '--port', $X80_PORT, '--port', $X80_IDLE,
                '--unix', "$sockdir/x80.sock", '--records', $records,
                '--ready', $ready);
END { local $?; stop_pid($x80) if $x80 }
my $until = time + 20;
sleep 0.05 until -s $ready || time > $until;
die "console_xapi80.py did not start\n" unless -s $ready;

my $serial = 0;

# bytes IO::Socket::SSL already decrypted (a plain socket has none)
sub pending { my $s = shift; $s->can('pending') ? $s->pending : 0 }

# the recorded requests (and what happened after) of xapi's port 80
sub records {
    open my $fh, '<', $records or return ();
    return map { JSON::PP::decode_json($_) } <$fh>;
}

# the record of the request whose target holds $mark, waiting for it
sub record_of {
    my($mark, $key) = @_;
    my $deadline = time + 10;
    while (1) {
        my @r = records();
        my($req) = grep { ($_->{target} // '') =~ /\Q$mark\E(?:&|$)/ } @r;
        if ($req) {
            return $req unless $key;
            my($x) = grep { $_->{conn} == $req->{conn} && exists $_->{$key} }
              @r;
            return $x if $x;
        }
        return undef if time > $deadline;
        sleep 0.05;
    }
}

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

# open a console: (socket, response head, request head as sent, marker)
sub console {
    my(%o) = @_;
    my $mark = 'OpaqueRef:t' . ++$serial;
    my $path = $o{path} || '/console';
    my $q = "ref=$mark" . ($o{cookie} ? '' : '&session_id=OpaqueRef:s1')
      . ($o{q} ? "&$o{q}" : '');
    my $head = "CONNECT $path?$q HTTP/" . ($o{v} || '1.0') . "\r\n"
      . ($o{v} && $o{v} eq '1.1' ? "Host: localhost\r\n" : '')
      . ($o{cookie} ? "Cookie: session_id=OpaqueRef:s1; task_id=OpaqueRef:"
                      . "t9; subtask_of=OpaqueRef:t8\r\n" : '')
      . "\r\n";
    my $s = $o{tls} ? conn('tls', port => $TLS_PORT, tls => 1, sni => 0)
      : conn($o{vh} || 'xf_frontdoor');
    send_all($s, $head . ($o{extra} // ''));
    return ($s, read_head($s), $head, $mark);
}

# the console's bytes from the response head on, until EOF
sub rest {
    my($s, $t) = @_;
    my($data, $eof) = read_all($s, $t || 20);
    return $eof ? $data : "$data<no EOF>";
}

my $pattern = join '', map { chr($_ % 251) } 0 .. 251 * 64 - 1;
my $source = substr($pattern x (int($MIB / length $pattern) + 1), 0, $MIB);
my $random = join '', map { chr(int rand 256) } 1 .. $MIB;

# 1. plain HTTP/1.0, session in the query: 1 MiB client -> xapi, the
# client's half-close reaches xapi and xapi still answers
{
    my($s, $h, $sent, $mark) = console(q => 'mode=sink');
    ok t_cmp($h, $HEAD_200, 'plain 1.0: xapi\'s 200 head, unchanged');
    send_all($s, $random);
    shutdown($s, SHUT_WR);
    ok t_cmp(rest($s), "GOT $MIB " . sha256_hex($random) . "\n",
             'plain: 1 MiB to xapi byte-exact, EOF passed on, xapi answers');
    my $r = record_of($mark);
    ok t_cmp($r->{head}, $sent, 'plain: the request head as sent');
    ok t_cmp($r->{proxy}, undef, 'plain: no PROXY line');
}

# 2. plain HTTP/1.1, session as cookies: 1 MiB xapi -> client, xapi's
# half-close reaches the client, which can still send
{
    my($s, $h, $sent, $mark) = console(v => '1.1', cookie => 1,
                                       q => "mode=source&n=$MIB");
    ok t_cmp($h, $HEAD_200, 'plain 1.1: xapi\'s 200 head');
    my($data, $eof) = read_all($s, 20);
    ok $data eq $source && $eof;
    send_all($s, 'x' x 1000);
    shutdown($s, SHUT_WR);
    my $x = record_of($mark, 'sank');
    ok t_cmp($x && $x->{sank}, 1000, 'client still sends after xapi\'s EOF');
    ok t_cmp(record_of($mark)->{head}, $sent,
             'plain 1.1: head with the session cookies as sent');
    my $l = log_line('xf_access_log', $access_from, 'CONNECT',
                     "/console?ref=$mark&mode=source&n=$MIB");
    ok t_cmp($l, qr/ 200 $MIB xf=connect$/, 'access log: 200 and the bytes');
}

# 3. TLS, HTTP/1.0: 1 MiB echoed in slices; a PROXY line naming the client
{
    my($s, $h, $sent, $mark) = console(tls => 1, q => 'mode=echo');
    ok t_cmp($h, $HEAD_200, 'TLS: xapi\'s 200 head');
    my $back = '';
    for (my $i = 0; $i < $MIB; $i += 65536) {
        my $slice = substr($random, $i, 65536);
        send_all($s, $slice);
        my $want = length($back) + length($slice);
        my $sel = IO::Select->new($s);
        while (length($back) < $want) {
            last unless pending($s) || $sel->can_read(20);
            my $n = sysread($s, my $b, $want - length $back);
            last unless $n;
            $back .= $b;
        }
    }
    ok $back eq $random;
    my $cport = $s->sockport;
    $s->close(SSL_fast_shutdown => 1);
    my $r = record_of($mark);
    ok t_cmp($r->{proxy},
             "PROXY TCP6 ::ffff:127.0.0.1 ::ffff:127.0.0.1 $cport $TLS_PORT",
             'TLS: the PROXY line names the client');
    ok t_cmp($r->{head}, $sent, 'TLS: the request head as sent');
}

# 4. TLS, HTTP/1.1, cookie: the first bytes sent with the head reach xapi
# after the head
{
    my($s, $h, $sent, $mark) = console(tls => 1, v => '1.1', cookie => 1,
                                       q => 'mode=echo',
                                       extra => "RFB 003.008\n");
    ok t_cmp($h, $HEAD_200, 'TLS 1.1: xapi\'s 200 head');
    my $got = '';
    my $sel = IO::Select->new($s);
    while (length($got) < 12) {
        last unless pending($s) || $sel->can_read(20);
        my $n = sysread($s, my $b, 12 - length $got);
        last unless $n;
        $got .= $b;
    }
    ok t_cmp($got, "RFB 003.008\n", 'pipelined bytes reach xapi, after the head');
    $s->close(SSL_fast_shutdown => 1);
    ok t_cmp(record_of($mark)->{head}, $sent, 'TLS 1.1: head as sent');
}

# 5. refusals: xapi's head reaches the client unchanged, then the end
{
    my($s, $h, $sent, $mark) = console(q => 'refuse=404');
    ok t_cmp($h . rest($s), "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n",
             '404 head unchanged, connection ends');
    my $l = log_line('xf_access_log', $access_from, 'CONNECT',
                     "/console?ref=$mark&session_id=OpaqueRef:s1&refuse=404");
    ok t_cmp($l, qr/ 404 0 xf=connect$/, 'access log: 404');
}
{
    # xapi keeps its side open after a framed refusal: the client's
    # connection still ends
    my($s, $h) = console(tls => 1, q => 'refuse=403');
    ok t_cmp($h . rest($s, 10),
             "HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n"
             . "Connection: keep-alive\r\n\r\nForbidden",
             '403 head and body unchanged, connection ends');
}

# 6. /remotecmd, the other CONNECT route
{
    my($s, $h) = console(path => '/remotecmd', q => 'mode=echo');
    send_all($s, "ls\n");
    shutdown($s, SHUT_WR);
    ok t_cmp($h . rest($s), $HEAD_200 . "ls\nEOF after 3\n", '/remotecmd');
}

# 7. the idle limit (XapiForwardTunnelTimeout 1 in xf_connect_idle) ends
# a console nobody speaks on: the client sees EOF, xapi too
{
    my($s, $h, $sent, $mark) = console(vh => 'xf_connect_idle',
                                       q => 'mode=hold');
    ok t_cmp($h, $HEAD_200, 'idle vhost: 200 head');
    my($data, $eof) = read_all($s, 30);
    ok t_cmp("$data/$eof", '/1', 'idle console ended by httpd');
    my $x = record_of($mark, 'held_until_eof');
    ok t_cmp($x && $x->{held_until_eof}, 0, 'xapi saw the end too');
}

# 8. xapi on a unix socket (unix:...|http://)
{
    my($s, $h, $sent, $mark) = console(vh => 'xf_connect_uds', v => '1.1',
                                       q => 'mode=echo');
    send_all($s, "hello");
    shutdown($s, SHUT_WR);
    ok t_cmp($h . rest($s), $HEAD_200 . "helloEOF after 5\n",
             'unix socket worker');
    ok t_cmp(record_of($mark)->{transport}, 'unix', 'over the unix socket');
}

# 9. what httpd answers without XapiForwardConnect, and for host:port
{
    my($s, $h) = console(vh => 'xf_connect_off', q => 'mode=echo');
    ok t_cmp($h, qr{^HTTP/1\.1 400 }, 'XapiForwardConnect Off: 400 as today');
    my @ans;
    for my $vh ('xf_frontdoor', 'xf_connect_off') {
        my $c = conn($vh);
        send_all($c, "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n");
        my $a = read_head($c);
        push @ans, $a =~ m{^(HTTP/1\.\d \d+)} ? $1 : $a;
    }
    ok t_cmp($ans[0], $ans[1], "host:port CONNECT: httpd's answer ($ans[1])");
    ok t_cmp(scalar(grep { ($_->{target} // '') eq '127.0.0.1:9' } records()),
             0, 'host:port never reaches xapi as a console');
}

# 10. 50 consoles open at once while ordinary requests are served, on a
# front end sized for it (a console holds a worker for its life)
{
    my $mpm = XapiForward::FrontEnd::mpm();
    my $size = $mpm eq 'prefork'
      ? "StartServers 8\nServerLimit 64\nMaxRequestWorkers 64\n"
        . "MinSpareServers 8\nMaxSpareServers 64\n"
      : "ThreadLimit 64\nThreadsPerChild 64\nMaxRequestWorkers 64\n"
        . "MinSpareThreads 8\nMaxSpareThreads 64\n";
    my $fe = XapiForward::FrontEnd->start('consoles',
        module_conf(qw(proxy proxy_http socache_shmcb)) . $size
        . "Define xf_frontdoor_xapi_port $X80_PORT\n"
        . "Include \"$vars->{t_conf}/xapi-frontdoor.conf.gen\"\n");
    my @open;
    for (1 .. 50) {
        my($s, $h) = console(vh => $fe->port, q => 'mode=echo');
        push @open, $s if $h eq $HEAD_200;
    }
    ok t_cmp(scalar @open, 50, '50 consoles open');
    my $served = 0;
    for (1 .. 5) {
        my $c = conn($fe->port);
        send_all($c, "GET /jsonrpc HTTP/1.1\r\nHost: localhost\r\n"
                 . "Connection: close\r\n\r\n");
        my($d) = read_all($c, 20);
        $served++ if $d =~ m{^HTTP/1\.1 200 .*\r\n\r\nok\z}s;
    }
    ok t_cmp($served, 5, 'ordinary requests served meanwhile');
    my $echoed = 0;
    for my $s (@open) {
        send_all($s, 'ping');
        shutdown($s, SHUT_WR);
        $echoed++ if rest($s) eq "pingEOF after 4\n";
    }
    ok t_cmp($echoed, 50, 'every console still works');
    my $elog = $fe->error_log;
    ok t_cmp(scalar(() = $elog =~ /\[(?:\w+:)?(?:error|crit|alert|emerg)\]/g), 0,
             'front end: no errors');
}

$log->check('error_log: nothing unexpected');
