# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::Raw - talk to the test server over a plain TCP socket, byte
# for byte: after a hand-off the daemon's bytes are the whole response, so
# the tests compare what arrives on the wire, not what LWP makes of it.
package XapiForward::Raw;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use IO::Socket::INET ();
use IO::Select ();
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use POSIX ();
use Time::HiRes qw(time sleep);
use Apache::Test ();
use XapiForward::Proc qw(fork_pipe read_pipe);

our @EXPORT_OK = qw(conn conn_exchange close_notify_of send_all h2_skip port_of host_of raw_connect read_all exchange
                    parse_responses read_responses capture_request read_response);

# port of a named <VirtualHost xf_...> (a number is a port already: an
# httpd a .t started itself, XapiForward::FrontEnd)
sub port_of {
    my $module = shift;
    return $module if $module =~ /^\d+\z/;
    my $port = Apache::Test::vars("${module}_port");
    $port ||= Apache::Test::config()->port($module);
    die "no port for vhost $module\n" unless $port;
    return $port;
}

sub host_of { 'localhost:' . port_of(shift) }

sub raw_connect {
    my $module = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => port_of($module),
                                  Proto    => 'tcp',
                                  Timeout  => 10)
      or die "connect to $module: $!\n";
    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
    binmode $s;
    return $s;
}

# Read until EOF or until $timeout seconds pass without progress.
# Returns (bytes, eof, error): eof is 1 on a clean EOF, 0 on a timeout;
# error holds $! when the read failed (e.g. "Connection reset by peer").
sub read_all {
    my($s, $timeout, $max) = @_;
    $timeout ||= 30;
    my $sel = IO::Select->new($s);
    my $data = '';
    while (1) {
        return ($data, 0, 'timeout') unless $sel->can_read($timeout);
        my $n = sysread($s, my $buf, 1 << 20);
        return ($data, 0, "$!") unless defined $n;
        return ($data, 1, '') if $n == 0;
        $data .= $buf;
        return ($data, 0, 'limit') if $max && length $data > $max;
    }
}

# Send a request and read the whole answer.
#   exchange('xf_core', "GET / HTTP/1.1\r\n...\r\n\r\n")
#   exchange('xf_core', [$head, \0.3, $body])   \N: pause N seconds
# Options: timeout (default 30), shutdown => 1 (half-close after sending).
# Returns a hash: data, eof, error, lport (our local port), elapsed.
sub exchange {
    my($module, $parts, %o) = @_;
    $parts = [$parts] unless ref $parts;
    my $s = raw_connect($module);
    my $t0 = time;
    for my $p (@$parts) {
        if (ref $p) {
            sleep $$p;
            next;
        }
        my $off = 0;
        while ($off < length $p) {
            my $n = syswrite($s, $p, length($p) - $off, $off);
            die "write: $!\n" unless defined $n;
            $off += $n;
        }
    }
    shutdown($s, 1) if $o{shutdown};
    my($data, $eof, $err) = read_all($s, $o{timeout}, $o{max});
    my %r = (data => $data, eof => $eof, error => $err,
             lport => $s->sockport, elapsed => time - $t0);
    close $s;
    return \%r;
}

# What a client library really puts on the wire: run $code->($base_url)
# against a one-shot local listener and return the raw request head it
# received (the listener answers an empty 200).
sub capture_request {
    my $code = shift;
    my $l = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
      or die "listen: $!\n";
    my $port = $l->sockport;
    my $kid = fork_pipe(sub {
        my $wr = shift;
        alarm 15;
        my $c = $l->accept or POSIX::_exit(1);
        my $buf = '';
        while (index($buf, "\r\n\r\n") < 0) {
            sysread($c, $buf, 65536, length $buf) or last;
        }
        syswrite $wr, $buf;
        close $wr;
        syswrite $c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
          . "Connection: close\r\n\r\n";
        close $c;
    });
    close $l;
    $code->("http://127.0.0.1:$port");
    return read_pipe($kid);
}

# read from $s until $n complete responses (interim 1xx count) are there,
# EOF, or $timeout seconds (default 30) without progress; @methods are the
# requests' methods, as parse_responses takes them. Returns (a reference to
# the parsed responses, 1 when EOF was seen).
sub read_responses {
    my($s, $n, $timeout, @methods) = @_;
    my $sel = IO::Select->new($s);
    my $data = '';
    my($eof, @r) = (0);
    while (1) {
        @r = parse_responses($data, @methods);
        last if @r >= $n && !grep { !$_->{complete} } @r[0 .. $n - 1];
        my $pending = $s->can('pending') ? $s->pending : 0;
        last unless $pending || $sel->can_read($timeout || 30);
        my $got = sysread($s, $data, 1 << 20, length $data);
        unless ($got) { $eof = 1; last }
    }
    return (\@r, $eof);
}

# Split raw bytes into HTTP responses. @methods gives the request method of
# each response in turn (HEAD has no body). Each response: status, reason,
# proto, headers ([[name, value], ...]), h (lower-cased name => last value),
# body, raw, complete (0 when the bytes ran out) and wire_len (the bytes it
# took from $data: raw holds a chunked body decoded).
sub parse_responses {
    my($data, @methods) = @_;
    my @r;
    while (length $data) {
        my $before = length $data;
        my $method = shift(@methods) || 'GET';
        my $end = index $data, "\r\n\r\n";
        if ($end < 0) {
            push @r, { complete => 0, raw => $data, status => 0 };
            last;
        }
        my $head = substr $data, 0, $end + 4, '';
        my($line, @lines) = split /\r\n/, substr($head, 0, $end);
        my($proto, $status, $reason) = $line =~ m{^(HTTP/\d\.\d) (\d{3})(?: (.*))?$}
          or do { push @r, { complete => 0, raw => $head . $data,
                             status => 0 }; last };
        my @h = map { [split /:[ \t]*/, $_, 2] } @lines;
        my %h = map { (lc $_->[0], $_->[1]) } @h;
        my $body = '';
        my $complete = 1;
        if ($method eq 'HEAD' || $status =~ /^(1\d\d|204|304)$/) {
            # no body
        }
        elsif (($h{'transfer-encoding'} || '') =~ /chunked/i) {
            while (1) {
                my $crlf = index $data, "\r\n";
                if ($crlf < 0) { $complete = 0; last }
                my $size = hex substr($data, 0, $crlf);
                if ($size == 0) {
                    my $tend = index $data, "\r\n\r\n";
                    if ($tend < 0) { $complete = 0; last }
                    substr($data, 0, $tend + 4, '');
                    last;
                }
                if (length($data) < $crlf + 2 + $size + 2) {
                    $complete = 0; last;
                }
                $body .= substr $data, $crlf + 2, $size;
                substr($data, 0, $crlf + 2 + $size + 2, '');
            }
        }
        elsif (defined $h{'content-length'}) {
            my $len = $h{'content-length'};
            $complete = 0 if length($data) < $len;
            $body = substr $data, 0, $len, '';
        }
        else {
            $body = $data;   # delimited by close
            $data = '';
        }
        push @r, { proto => $proto, status => $status, reason => $reason,
                   headers => \@h, h => \%h, body => $body,
                   raw => $head . $body, complete => $complete,
                   wire_len => $before - length $data };
    }
    return @r;
}


# A connection to a vhost: plaintext, or TLS (vhosts named *tls*) speaking
# HTTP/1.1.  Options: port => N (a port that is no Apache::Test vhost; TLS
# when tls => 1), sni => 0 (send no server name, as XenCenter) or a name,
# ssl_version => 'TLSv1_2' (only that version), local_addr => '127.0.0.2'
# (the source address: any of 127/8 is ours), cert => PEM (a client
# certificate: key and certificate in one file, or key => PEM apart),
# host => '::1' (the address to connect to; default 127.0.0.1).
sub conn {
    my($vh, %o) = @_;
    my $tls = $o{port} ? $o{tls} : $vh =~ /tls/;
    my $port = $o{port} || port_of($vh);
    return raw_connect($vh)
      unless $tls || $o{port} || $o{local_addr} || $o{host};
    my @peer = (PeerAddr => $o{host} || '127.0.0.1', PeerPort => $port,
                Proto => 'tcp', Timeout => 10,
                ($o{local_addr} ? (LocalAddr => $o{local_addr}) : ()));
    unless ($tls) {
        my $class = ($o{host} || '') =~ /:/ ? 'IO::Socket::IP'
                                            : 'IO::Socket::INET';
        require IO::Socket::IP if $class eq 'IO::Socket::IP';
        my $s = $class->new(@peer)
          or die "connect to port $port: $!\n";
        setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
        binmode $s;
        return $s;
    }
    require IO::Socket::SSL;
    my $s = IO::Socket::SSL->new(@peer,
                                 SSL_verify_mode => 0,
                                 SSL_hostname =>
                                   (defined $o{sni} ? $o{sni} || ''
                                                    : 'localhost'),
                                 ($o{ssl_version}
                                  ? (SSL_version => $o{ssl_version}) : ()),
                                 ($o{cert}
                                  ? (SSL_cert_file => $o{cert},
                                     SSL_key_file => $o{key} || $o{cert})
                                  : ()),
                                 SSL_alpn_protocols => ['http/1.1'])
      or die "TLS connect: $IO::Socket::SSL::SSL_ERROR\n";
    return $s;
}

# One whole HTTP response from a kept-alive connection $s (for $method:
# HEAD has no body): the parse_responses hash, or one with status 0 and
# error when the connection ended or $timeout (default 30 s) passed first.
# Bytes after it (a pipelined next response) are kept for the next call.
my %LEFT;
sub read_response {
    my($s, $method, $timeout) = @_;
    my $sel = IO::Select->new($s);
    my $data = delete $LEFT{"$s"} // '';
    while (1) {
        if (length $data) {
            my($r) = parse_responses($data, $method || 'GET');
            # a body delimited by close is complete only at EOF
            if ($r && $r->{complete} && ($r->{status} =~ /^(1|204|304)/
                    || ($method || '') eq 'HEAD'
                    || defined $r->{h}{'content-length'}
                    || ($r->{h}{'transfer-encoding'} || '') =~ /chunked/i)) {
                my $rest = substr $data, $r->{wire_len};
                $LEFT{"$s"} = $rest if length $rest;
                return $r;
            }
        }
        my $pending = $s->can('pending') ? $s->pending : 0;
        unless ($pending || $sel->can_read($timeout || 30)) {
            return { status => 0, error => 'timeout', raw => $data };
        }
        my $n = sysread($s, my $buf, 1 << 20);
        if (!$n) {
            my($r) = length $data ? parse_responses($data, $method || 'GET')
                                  : ();
            return $r if $r && $r->{status} && !defined $r->{h}{'content-length'}
              && ($r->{h}{'transfer-encoding'} || '') !~ /chunked/i;
            return { status => 0, raw => $data,
                     error => defined $n ? 'eof' : "$!" };
        }
        $data .= $buf;
    }
}

# Write everything, in slices (IO::Socket::SSL copies what is left of the
# buffer at every call); false when the peer went away.
sub send_all {
    my($s, $bytes) = @_;
    my $len = length $bytes;
    for (my $at = 0; $at < $len; $at += 1 << 18) {
        my $slice = substr $bytes, $at, 1 << 18;
        my $off = 0;
        while ($off < length $slice) {
            my $n = syswrite($s, $slice, length($slice) - $off, $off);
            return 0 unless $n;
            $off += $n;
        }
    }
    return 1;
}

# exchange() over conn(): send $bytes on a new plaintext or TLS connection
# and read until the server closes it (or `timeout` seconds, default 30,
# pass without progress), minding bytes IO::Socket::SSL already holds.
# Other options go to conn().  Returns a hash: data, eof, error, lport,
# tls (the TLS version, e.g. "TLSv1_2"; '' for plaintext), peer_cn (the
# served certificate's subject CN; '' for plaintext), close_notify (1: the
# server ended TLS with close_notify, 0: not; '' for plaintext).
sub conn_exchange {
    my($vh, $bytes, %o) = @_;
    my $s = conn($vh, %o);
    my %r = (data => '', eof => 0, error => '', lport => $s->sockport,
             tls => ($s->can('get_sslversion') ? $s->get_sslversion : ''),
             peer_cn => ($s->can('peer_certificate')
                         ? $s->peer_certificate('commonName') // '' : ''));
    send_all($s, $bytes) or $r{error} = 'write failed';
    my $sel = IO::Select->new($s);
    while (!$r{error}) {
        my $pending = $s->can('pending') ? $s->pending : 0;
        unless ($pending || $sel->can_read($o{timeout} || 30)) {
            $r{error} = 'timeout';
            last;
        }
        my $n = sysread($s, my $buf, 1 << 20);
        if (!defined $n) { $r{error} = "$!"; last }
        if ($n == 0) { $r{eof} = 1; last }
        $r{data} .= $buf;
    }
    $r{close_notify} = close_notify_of($s);
    close $s;
    return \%r;
}

# TLS: 1 when the server ended TLS with close_notify (SSL_RECEIVED_SHUTDOWN),
# 0 when not; '' for a plaintext socket.
sub close_notify_of {
    my $s = shift;
    return '' unless $s->can('_get_ssl_object');
    return Net::SSLeay::get_shutdown($s->_get_ssl_object) & 2 ? 1 : 0;
}

# Why HTTP/2 tests cannot run here ('' when they can).
sub h2_skip {
    return !Apache::Test::config()->{modules}{'mod_http2.c'}
      ? 'mod_http2 not loaded'
      : `curl --version 2>/dev/null` !~ /nghttp2/ ? 'curl without HTTP/2' : '';
}

1;
