# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# The catch-all of the shipped front door (conf.d/xapi-frontdoor.conf,
# XapiForwardProxyProtocol On in its <Proxy> section) tells xapi what
# stunnel tells it: a TLS client's request reaches port 80 on a connection
# that starts with "PROXY TCP6 ::ffff:<client> ::ffff:<server> CPORT SPORT"
# naming that client (address and port), one backend connection per
# request; plain-HTTP clients get no line; the client's HTTP version and
# Host (or its absence) are kept, nothing is added.  Port 80 is
# t/daemon/fake_xapi80.py (XapiForward::Xapi80), which reads the line as
# xapi's http.ml/http_svr.ml do and answers GET / by fileserver.ml's rule.
# Also: h2 clients, bodies streamed both ways, websocket upgrade, a
# unix-socket backend, the refusals of a worker that reuses connections,
# and the same cases through the reference front door (stunnel4 configured
# as xapi configures it, XapiForward::Stunnel), compared side by side.
#   XF_PROXYLINE_EXPORT_BYTES  size of the streamed export (default
#                              128 MiB; 1073741824 for the 1 GiB case)
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Digest::SHA ();
use IO::Socket::INET ();
use IO::Socket::SSL ();
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(conf_port);
use XapiForward::FrontEnd qw(module_conf configtest);
use XapiForward::Raw qw(close_notify_of port_of read_all);
use XapiForward::Stunnel;
use XapiForward::Xapi80 qw(pattern);

my $EXPORT = $ENV{XF_PROXYLINE_EXPORT_BYTES} || 128 << 20;
my $IMPORT = 64 << 20;
my $H2 = Apache::Test::have_module('http2') ? 1 : 0;

plan tests => 52 + ($H2 ? 5 : 0),
  need_module('proxy', 'proxy_http', 'xapi_forward', 'socache_shmcb',
              'ssl');

my $vars = Apache::Test::vars();
my $X80_PORT = conf_port('xf_frontdoor_xapi_port', 'routes.conf');
my $TLS_PORT = conf_port('xf_frontdoor_tls_port', 'routes.conf');
my $x80 = XapiForward::Xapi80->start('x80', http => $X80_PORT,
                                     clientcert => 'x80c.sock');

my $log = XapiForward::ErrorLog->new;

# what port 80 recorded, in order
sub records { $x80->requests }
sub record_of {
    my $target = shift;
    my @r = grep { $_->{target} eq $target } records();
    return $r[-1];
}
sub header_of {
    my($rec, $name) = @_;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name }
      @{ $rec->{headers} };
    return @v ? $v[0] : undef;
}

# a client connection from $o{from} (127.0.0.x) to the TLS vhost (or
# $o{port}; plain when $o{plain}); sni => NAME, or 0: none
sub client {
    my %o = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $o{port} || $TLS_PORT,
                                  LocalAddr => $o{from} || '127.0.0.1',
                                  Proto => 'tcp', Timeout => 10)
      or die "connect: $!\n";
    return $s if $o{plain};
    IO::Socket::SSL->start_SSL($s, SSL_verify_mode => 0,
                               SSL_hostname => $o{sni} // 'localhost',
                               SSL_alpn_protocols => ['http/1.1'])
      or die "TLS: $IO::Socket::SSL::SSL_ERROR\n";
    return $s;
}

sub send_all {
    my($s, $bytes) = @_;
    for (my $at = 0; $at < length $bytes; ) {
        my $n = syswrite($s, $bytes, 1 << 18, $at);
        die "write: $!\n" unless $n;
        $at += $n;
    }
}

# one response: status, headers (lower-cased), body (or its length and
# sha256 when $sink), on a keep-alive connection
sub response {
    my($s, $sink) = @_;
    my $buf = '';
    until ($buf =~ /\r\n\r\n/) {
        my $n = sysread($s, $buf, 1 << 16, length $buf);
        return { status => 0 } unless $n;
    }
    my($head, $rest) = split /\r\n\r\n/, $buf, 2;
    my($status) = $head =~ m{^HTTP/\d\.\d (\d+)};
    my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () }
      split /\r\n/, $head;
    my $len = $h{'content-length'} // 0;
    my $sha = Digest::SHA->new(256);
    my($got, $body) = (0, '');
    while (1) {
        my $take = length($rest) > $len - $got ? $len - $got : length $rest;
        if ($sink) { $sha->add(substr $rest, 0, $take) }
        else       { $body .= substr $rest, 0, $take }
        $got += $take;
        last if $got >= $len;
        $rest = '';
        my $n = sysread($s, $rest, 1 << 20);
        last unless $n;
    }
    return { status => $status, h => \%h, body => $body, len => $got,
             sha => $sink ? $sha->hexdigest : undef };
}

sub call {
    my($s, $method, $target, %o) = @_;
    my $proto = $o{proto} || 'HTTP/1.1';
    my $head = "$method $target $proto\r\n";
    $head .= "Host: $o{host}\r\n" if defined $o{host};
    $head .= "$_\r\n" for @{ $o{h} || [] };
    $head .= 'Content-Length: ' . length($o{body}) . "\r\n"
      if defined $o{body};
    send_all($s, "$head\r\n" . ($o{body} // ''));
    return response($s, $o{sink});
}

sub line_for {
    my($s) = @_;
    return sprintf 'PROXY TCP6 ::ffff:%s ::ffff:127.0.0.1 %d %d',
      $s->sockhost, $s->sockport, $s->peerport;
}

my $HOST = "localhost:$TLS_PORT";

# ---- GET /: xapi's website answers HTTPS clients only --------------------
{
    my $s = client(from => '127.0.0.2');
    my $r = call($s, 'GET', '/', host => $HOST, h => ['Connection: close']);
    ok t_cmp($r->{status}, 200, 'TLS: GET / -> 200 (xapi sees HTTPS)');
    my $rec = record_of('/');
    ok t_cmp($rec->{proxy_line}, line_for($s),
             'TLS: the PROXY line names the client (address, port)');
    ok t_cmp(header_of($rec, 'Host'), $HOST, "TLS: the client's Host");
    ok t_cmp(join(',', grep { /^x-forwarded|^via$/i }
                  map { $_->[0] } @{ $rec->{headers} }), '',
             'TLS: no X-Forwarded-*, no Via');
    close $s;

    my $p = client(plain => 1, port => port_of('xf_frontdoor'));
    $r = call($p, 'GET', '/', host => 'localhost',
              h => ['Connection: close']);
    ok t_cmp($r->{status}, 403, 'plain HTTP: GET / -> 403 (no line)');
    ok t_cmp((record_of('/') || {})->{proxy_line}, undef,
             'plain HTTP: no PROXY line');
    close $p;
    $log->check('GET /');
}

# ---- two clients interleaving keep-alive calls ----------------------------
{
    my %c = (a => client(from => '127.0.0.2'),
             b => client(from => '127.0.0.3'));
    my %conns;
    for my $i (1 .. 3) {
        for my $who ('a', 'b') {
            my $t = "/jsonrpc?who=$who&i=$i";
            my $r = call($c{$who}, 'POST', $t, host => $HOST,
                         body => '{"method":"x"}');
            my $rec = record_of($t) || {};
            $conns{$rec->{conn} // 0}++;
            ok t_cmp("$r->{status} " . ($rec->{proxy_line} // 'none'),
                     "200 " . line_for($c{$who}),
                     "keep-alive call $i of client $who seen as itself");
        }
    }
    ok t_cmp(scalar(keys %conns), 6,
             'one backend connection per request (none shared)');
    close $_ for values %c;
    $log->check('two clients');
}

# ---- HTTP/2 (the same routes in a vhost that speaks h2) -------------------
if ($H2) {
    my $port = port_of('xf_proxyline_h2');
    my $out = `curl -sk --http2 --interface 127.0.0.3 -o /dev/null -o /dev/null -w '%{http_version} %{local_ip} %{local_port}\\n' https://localhost:$port/h2?n=1 https://localhost:$port/h2?n=2 2>&1`;
    my @l = split /\n/, $out;
    my($ver, $ip, $lport) = split ' ', ($l[0] // '');
    ok t_cmp("$ver $ip", '2 127.0.0.3', 'h2: curl spoke HTTP/2 from 127.0.0.3');
    my($r1, $r2) = (record_of('/h2?n=1') || {}, record_of('/h2?n=2') || {});
    my $want = "PROXY TCP6 ::ffff:127.0.0.3 ::ffff:127.0.0.1 $lport $port";
    ok t_cmp($r1->{proxy_line} // 'none', $want, 'h2: stream 1 seen as its client');
    ok t_cmp($r2->{proxy_line} // 'none', $want, 'h2: stream 2 seen as its client');
    ok t_cmp(header_of($r1, 'Host'), "localhost:$port", 'h2: the Host');
    $log->check('h2');
}

# ---- bodies streamed both ways ---------------------------------------------
{
    my $body = join '', map { chr($_ % 251) } 0 .. 65535;
    $body x= $IMPORT / length $body;
    my $s = client(from => '127.0.0.2');
    my $r = call($s, 'PUT', '/import?sr_id=x', host => $HOST, body => $body);
    my $rec = record_of('/import?sr_id=x') || {};
    ok t_cmp($r->{status}, 200, 'PUT /import 64 MiB: 200');
    ok t_cmp("$rec->{body_len} $rec->{body_sha256}",
             "$IMPORT " . Digest::SHA::sha256_hex($body),
             'PUT /import: xapi got the 64 MiB byte-exact');
    ok t_cmp($rec->{proxy_line}, line_for($s), 'PUT /import: PROXY line');
    undef $body;

    my $sha = Digest::SHA->new(256);
    my $block = pattern(251 * 4096);
    for (my $left = $EXPORT; $left > 0; $left -= length $block) {
        $sha->add($left < length $block ? substr($block, 0, $left) : $block);
    }
    $r = call($s, 'GET', "/export?size=$EXPORT", host => $HOST, sink => 1);
    ok t_cmp($r->{status}, 200, "GET /export ($EXPORT bytes): 200");
    ok t_cmp("$r->{len} $r->{sha}", "$EXPORT " . $sha->hexdigest,
             'GET /export: streamed byte-exact');
    ok t_cmp((record_of("/export?size=$EXPORT") || {})->{proxy_line},
             line_for($s), 'GET /export: PROXY line');
    close $s;
    $log->check('bodies');
}

# ---- websocket upgrade ----------------------------------------------------
{
    my $s = client(from => '127.0.0.3');
    send_all($s, "GET /console?ref=x HTTP/1.1\r\nHost: $HOST\r\n"
             . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             . "Sec-WebSocket-Version: 13\r\n\r\n");
    my $buf = '';
    until ($buf =~ /\r\n\r\n/) {
        sysread($s, $buf, 4096, length $buf) or last;
    }
    ok t_cmp(($buf =~ m{^HTTP/1.1 (\d+)})[0] // 0, 101, 'websocket: 101');
    send_all($s, "ping-1234");
    my $echo = '';
    ($buf) = $buf =~ /\r\n\r\n(.*)$/s;
    $echo = $buf // '';
    while (length $echo < 9) { sysread($s, $echo, 64, length $echo) or last }
    ok t_cmp($echo, 'ping-1234', 'websocket: bytes both ways');
    ok t_cmp((record_of('/console?ref=x') || {})->{proxy_line}, line_for($s),
             'websocket: PROXY line');
    close $s;

    # xapi ends the console: the TLS client reads its bytes, then
    # close_notify before the TCP EOF (as stunnel ends it)
    $s = client(from => '127.0.0.3');
    send_all($s, "GET /console?ref=y&mode=source&n=65536 HTTP/1.1\r\n"
             . "Host: $HOST\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             . "Sec-WebSocket-Version: 13\r\n\r\n");
    my($all, $eof) = read_all($s, 20);
    my($head, $body) = split /\r\n\r\n/, $all, 2;
    ok t_cmp(sprintf('%d, %d bytes, eof %d, close_notify %d',
                     ($head =~ m{^HTTP/1.1 (\d+)})[0] // 0,
                     length($body // ''), $eof ? 1 : 0,
                     close_notify_of($s)),
             '101, 65536 bytes, eof 1, close_notify 1',
             'websocket: xapi ends it; the TLS client gets close_notify');
    close $s;
    $log->check('websocket');
}

# ---- a pool member's call: HTTP/1.0, no Host, keep-alive ------------------
{
    # no SNI: mod_ssl's Host/SNI check (AH02031) does not apply
    my $s = client(from => '127.0.0.2', sni => 0);
    for my $i (1, 2) {
        my $t = "/jsonrpc?member=$i";
        my $r = call($s, 'POST', $t, proto => 'HTTP/1.0',
                     h => ['Connection: keep-alive',
                           'Content-Type: application/json'],
                     body => '{"jsonrpc":"2.0","method":"host.get_all"}');
        my $rec = record_of($t) || {};
        ok t_cmp($r->{status}, 200, "member call $i: 200");
        ok t_cmp("$rec->{method} $rec->{target} $rec->{version}",
                 "POST $t HTTP/1.0", "member call $i: HTTP/1.0 kept");
        ok t_cmp(header_of($rec, 'Host') // 'no Host', 'no Host',
                 "member call $i: no Host invented");
        ok t_cmp($rec->{proxy_line}, line_for($s), "member call $i: PROXY line");
    }
    close $s;

    my $p = client(plain => 1, port => port_of('xf_frontdoor'));
    my $r = call($p, 'POST', '/jsonrpc?member=plain', proto => 'HTTP/1.0',
                 body => '{}');
    my $rec = record_of('/jsonrpc?member=plain') || {};
    ok t_cmp("$r->{status} $rec->{version} "
             . (header_of($rec, 'Host') // 'no Host') . ' '
             . ($rec->{proxy_line} // 'no line'),
             '200 HTTP/1.0 no Host no line',
             'plain HTTP/1.0 without Host: kept as is, no line');
    close $p;
    # and no AH01092 (mod_proxy's warning about a request without Host)
    $log->check('member calls');
}

# ---- a unix-socket backend (as xapi-clientcert) ---------------------------
{
    my $s = client(from => '127.0.0.3', port => port_of('xf_proxyline_uds'));
    my $r = call($s, 'GET', '/', host => 'localhost',
                 h => ['Connection: close']);
    my $rec = record_of('/') || {};
    ok t_cmp($r->{status}, 200, 'unix socket: GET / -> 200');
    ok t_cmp(($rec->{transport} // '') . ' ' . ($rec->{proxy_line} // 'no line'),
             'clientcert ' . line_for($s),
             'unix socket: the PROXY line names the client');
    close $s;
    $s = client(from => '127.0.0.2', port => port_of('xf_proxyline_uds2'));
    $r = call($s, 'GET', '/uds2', host => 'localhost',
              h => ['Connection: close']);
    $rec = record_of('/uds2') || {};
    ok t_cmp("$r->{status} " . ($rec->{proxy_line} // 'no line'),
             '200 ' . line_for($s),
             'unix socket, <Proxy "unix:...|http://...">: the PROXY line');
    close $s;
    $log->check('unix socket');
}

# ---- side by side with the reference front door (stunnel) ---------------
# The same exchanges through httpd's TLS vhost and through stunnel4 as
# xapi configures it, both in front of the same port 80; what xapi saw
# must read the same: the PROXY line's form (client port, front door port),
# HTTPS or not, the client's address and port as xapi derives them, the
# Host (as the client sent it, or none), method, target, version, and the
# client's answer.
SKIP: {
    my $why = XapiForward::Stunnel->available;
    skip $why, 5 if $why;
    my $st = XapiForward::Stunnel->start('ref', xapi_port => $X80_PORT);
    my %port = (httpd => $TLS_PORT, stunnel => $st->port);

    # what xapi saw of the last request to $target, in words that do not
    # depend on which front door, nor on the ports
    my $seen = sub {
        my($target, $s, $status, $sent_host) = @_;
        my($rec) = grep { $_->{target} eq $target } reverse records();
        return "nothing (answer $status)" unless $rec;
        my($cport, $sport) = ($s->sockport, $s->peerport);
        (my $line = $rec->{proxy_line} // 'no line')
          =~ s/ $cport $sport$/ CPORT SPORT/;
        my $host = $x80->header($rec, 'Host');
        return join ' | ', $line, ($rec->{https} ? 'https' : 'http'),
          ($rec->{client_addr} // '-') . ' '
            . (($rec->{client_port} // 0) == $cport ? 'CPORT' : 'port?'),
          (!defined $host ? 'no Host'
           : defined $sent_host && $host eq $sent_host ? "client's Host"
           : "Host $host"),
          "$rec->{method} $rec->{target} $rec->{version}", "answer $status";
    };

    my %got;
    for my $front ('httpd', 'stunnel') {
        my $p = $port{$front};
        my $s = client(from => '127.0.0.2', port => $p);
        my $r = call($s, 'GET', '/', host => "localhost:$p",
                     h => ['Connection: close']);
        $got{$front}{root} = $seen->('/', $s, $r->{status}, "localhost:$p");
        close $s;

        # a pool member: HTTP/1.0, no Host, no SNI, keep-alive
        $s = client(from => '127.0.0.3', port => $p, sni => 0);
        for my $i (1, 2) {
            my $t = "/jsonrpc?side=$i";
            $r = call($s, 'POST', $t, proto => 'HTTP/1.0',
                      h => ['Connection: keep-alive'], body => '{}');
            $got{$front}{"member$i"} = $seen->($t, $s, $r->{status});
        }
        close $s;

        $s = client(from => '127.0.0.2', port => $p);
        send_all($s, "GET /console?side HTTP/1.1\r\nHost: localhost:$p\r\n"
                 . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 . "Sec-WebSocket-Version: 13\r\n\r\n");
        my $buf = '';
        until ($buf =~ /\r\n\r\n/) { sysread($s, $buf, 4096, length $buf) or last }
        my($status) = $buf =~ m{^HTTP/1.1 (\d+)};
        send_all($s, 'side');
        my($echo) = $buf =~ /\r\n\r\n(.*)$/s;
        $echo //= '';
        while (length $echo < 4) { sysread($s, $echo, 64, length $echo) or last }
        $got{$front}{ws} = $seen->('/console?side', $s, ($status // 0)
                                   . " echo $echo", "localhost:$p");
        close $s;
    }
    for my $case ('root', 'member1', 'member2', 'ws') {
        ok t_cmp($got{httpd}{$case}, $got{stunnel}{$case},
                 "as stunnel: $case");
    }
    $st->stop;
    $log->check('side by side');
}

# ---- refusals: a worker that reuses connections ---------------------------
{
    my $p = client(plain => 1, port => port_of('xf_proxyline_reuse'));
    my $n = records();
    my $r = call($p, 'GET', '/refused', host => 'localhost',
                 h => ['Connection: close']);
    ok t_cmp($r->{status}, 500, 'reusable worker: 500');
    ok t_cmp(scalar(records()) - $n, 0, 'reusable worker: nothing sent');
    $log->check('reusable worker', expect => { XAPIFWD0800 => 'error' });

    my $mods = module_conf('proxy', 'proxy_http');
    # a parameter in the section's header ties the section to the worker
    my $dir = "\n    XapiForwardProxyProtocol On\n</Proxy>\n";
    my($rc, $out) = configtest('proxyline-reuse',
      $mods . qq{ProxyPass / "http://127.0.0.1:9/"\n}
      . qq{<Proxy "http://127.0.0.1:9/" timeout=300>$dir});
    ok t_cmp($rc != 0 && $out =~ /XAPIFWD0804.*http:\/\/127.0.0.1:9\//
             ? 'refused' : "rc $rc: $out", 'refused',
             'start-up: a reusable worker with the directive is refused');
    ($rc, $out) = configtest('proxyline-noreuse',
      $mods . qq{ProxyPass / "http://127.0.0.1:9/"\n}
      . qq{<Proxy "http://127.0.0.1:9/" disablereuse=on>$dir});
    ok t_cmp("rc $rc", 'rc 0', 'start-up: with disablereuse=on it starts');
    ($rc, $out) = configtest('proxyline-plugin',
      $mods . qq{<Location />\n    XapiForwardProxyProtocol On\n</Location>\n}
      . qq{ProxyPass / "http://127.0.0.1:9/" disablereuse=on\n});
    ok t_cmp("rc $rc", 'rc 0', 'start-up: the directive in a <Location>');
}
