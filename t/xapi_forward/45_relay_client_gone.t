# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Relay (issue 4, item 7): the client goes away.
#   - mid-body: a PUT announcing 10 MiB sends 1 MiB and closes; httpd logs
#     XAPIFWD0107 (info) and closes the daemon's end, the daemon sees EOF
#     (plaintext, TLS, and an HTTP/2 upload that curl abandons)
#   - mid-response: the client reads 1 MiB of 200 MiB and closes
#     (XAPIFWD0111, debug; no error), also from a daemon slower than the
#     client; the daemon's writes fail, it is not stuck
#   - nothing leaks: the open fds of the httpd children are the same
#     before and after 50 of those requests, and httpd keeps answering
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use File::Temp ();
use IO::Select ();
use IO::Socket::SSL ();
use Time::HiRes qw(time sleep);
use XapiForward::Daemon qw(httpd_children);
use XapiForward::ErrorLog;
use XapiForward::Raw qw(h2_skip conn send_all port_of host_of raw_connect exchange parse_responses);

plan tests => 32, need_module('proxy', 'xapi_forward', 'ssl');

$SIG{PIPE} = 'IGNORE';

my $h2_skip = h2_skip();

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
sub events { $d->events('rrdd', shift) }

my $MIB = 1 << 20;
my $ONE_MIB = 'u' x $MIB;

# PUT head announcing 10 MiB plus 1 MiB of it in one write, then close.
# TLS: a TLS 1.3 server sends session tickets after the handshake; closing
# with them unread makes the kernel send a RST, and httpd may then lose
# the request before it is read (nothing would reach the module).  So the
# TLS client half-closes (the server reads EOF just the same), drains what
# the server says, then closes.
sub put_and_leave {
    my($vh, $id) = @_;
    my $s = conn($vh);
    send_all($s, "PUT /r/sink?id=$id HTTP/1.1\r\nHost: " . host_of($vh)
             . "\r\nContent-Length: " . 10 * $MIB . "\r\n\r\n" . $ONE_MIB);
    if ($s->isa('IO::Socket::SSL')) {
        CORE::shutdown($s, 1);
        my $sel = IO::Select->new($s);
        my $deadline = time + 10;
        while (time < $deadline && ($s->pending || $sel->can_read(1))) {
            last unless sysread($s, my $buf, 65536);
        }
        $s->close(SSL_no_shutdown => 1);
        return;
    }
    close $s;
}

# GET a 200 MiB body (/r/big, or /r/drip: a daemon slower than the
# client), read 1 MiB of it, close
sub get_and_leave {
    my($vh, $id, $mode) = @_;
    $mode ||= 'big';
    my $s = conn($vh);
    send_all($s, "GET /r/$mode?bytes=" . 200 * $MIB . "&quiet&id=$id HTTP/1.1\r\n"
             . 'Host: ' . host_of($vh) . "\r\n\r\n");
    my($got, $sel) = (0, IO::Select->new($s));
    while ($got < $MIB && (($s->can('pending') && $s->pending)
                           || $sel->can_read(10))) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $got += $n;
    }
    close $s;
    return $got;
}

sub wait_events {
    my($re, $n, $timeout) = @_;
    my $deadline = time + ($timeout || 10);
    my @e;
    sleep 0.05 until (@e = events($re)) >= $n || time > $deadline;
    return @e;
}

# pid => number of open fds, for every child of the httpd parent
sub child_fds {
    my %fds;
    for my $pid (httpd_children()) {
        opendir my $dh, "/proc/$pid/fd" or next;
        $fds{$pid} = grep { /^\d+$/ } readdir $dh;
    }
    return \%fds;
}

# sum of fds over the children present in both snapshots: after - before
sub fd_growth {
    my($before, $after) = @_;
    my $g = 0;
    for my $pid (keys %$before) {
        $g += $after->{$pid} - $before->{$pid} if exists $after->{$pid};
    }
    return $g;
}

# wait until the fd count is back (lingering closes finish within ~2 s)
sub settled_growth {
    my($before, $timeout) = @_;
    my $deadline = time + ($timeout || 10);
    my $g;
    while (1) {
        $g = fd_growth($before, child_fds());
        return $g if $g <= 0 || time > $deadline;
        sleep 0.2;
    }
}

# ---- mid-body ----------------------------------------------------------------
my $FDS0 = child_fds();
t_debug('fds of the httpd children: '
        . join(' ', map { "$_=$FDS0->{$_}" } sort keys %$FDS0));

for my $c (['xf_relay', 'plain'], ['xf_relay_tls', 'TLS']) {
    my($vh, $tag) = @$c;
    put_and_leave($vh, "gone-$tag");
    my($e) = wait_events(qr/^sink id=gone-\Q$tag\E /, 1);
    my($got) = ($e // '') =~ / got=(\d+) /;
    ok t_cmp($e ? ($e =~ / want=10485760 eof$/ ? 'eof' : $e) : 'no event',
             'eof', "$tag, client gone mid-body: the daemon saw EOF");
    ok t_cmp(defined $got && $got <= $MIB ? 1 : $e // 'no event', 1,
             "$tag, client gone mid-body: at most what the client sent");
    t_debug("$tag: the daemon got " . ($got // '?') . ' bytes');
    $log->check("$tag, client gone mid-body",
                expect => { XAPIFWD0107 => 'info' });
}

if (!$h2_skip) {
    # curl sends at 1 MiB/s and gives up after 1.5 s
    my $file = File::Temp->new;
    binmode $file;
    print $file 'h' x (10 * $MIB);
    close $file;
    my $url = 'https://localhost:' . port_of('xf_relay_tls') . '/r/sink?id=gone-h2';
    system("curl -s -k --http2 --limit-rate 1M --max-time 1.5 -o /dev/null "
           . "-T $file '$url'");
    my($e) = wait_events(qr/^sink id=gone-h2 /, 1);
    ok t_cmp($e ? ($e =~ / want=10485760 eof$/ ? 'eof' : $e) : 'no event',
             'eof', 'h2, client gone mid-body: the daemon saw EOF');
    $log->check('h2, client gone mid-body', expect => { XAPIFWD0107 => 'info' });
}
else {
    skip($h2_skip, 0) for 1 .. 2;
}

# ---- mid-response ----------------------------------------------------------------
# (with a slow daemon the relay waits for it, passing a FLUSH down first:
# that is where the client's absence shows; it is still the client that
# went away, XAPIFWD0111, not a broken response from the daemon)
for my $c (['xf_relay', 'plain', 'big'], ['xf_relay_tls', 'TLS', 'big'],
           ['xf_relay', 'plain-slow', 'drip'], ['xf_relay_tls', 'TLS-slow', 'drip']) {
    my($vh, $tag, $mode) = @$c;
    my $got = get_and_leave($vh, "resp-$tag", $mode);
    ok t_cmp($got >= $MIB ? 1 : "$got bytes", 1,
             "$tag, client gone mid-response: it had read 1 MiB");
    my($e) = wait_events(qr/^quiet id=resp-\Q$tag\E /, 1, 15);
    ok t_cmp($e // 'no event', qr/writing to client fd/,
             "$tag, client gone mid-response: the daemon's writes fail");
    $log->check("$tag, client gone mid-response",
                expect => { XAPIFWD0111 => 'debug' });
}

# ---- a client that stops reading, then goes; the daemon is slow --------------
# The daemon writes 32 KiB at a time with pauses: after each piece the
# relay finds its end empty and passes a FLUSH down before waiting.  The
# client reads 1 MiB, stops reading until httpd's writes to it block (in
# that FLUSH), then closes.  That is the client going away (XAPIFWD0111,
# debug), not a broken response from the daemon (XAPIFWD0112-0114, error).
for my $c (['xf_relay', 'plain'], ['xf_relay_tls', 'TLS']) {
    my($vh, $tag) = @$c;
    for my $i (1 .. 2) {
        my $id = "stopped-$tag-$i";
        my $s = conn($vh);
        send_all($s, 'GET /r/drip?bytes=' . 200 * $MIB
                 . "&block=32768&ms=1&quiet&id=$id HTTP/1.1\r\nHost: "
                 . host_of($vh) . "\r\n\r\n");
        my($got, $sel) = (0, IO::Select->new($s));
        while ($got < $MIB && (($s->can('pending') && $s->pending)
                               || $sel->can_read(10))) {
            my $n = sysread($s, my $buf, 65536);
            last unless $n;
            $got += $n;
        }
        sleep 1.5;    # the kernel buffers fill up, httpd's write blocks
        close $s;
    }
    my @e = wait_events(qr/^quiet id=stopped-\Q$tag\E-/, 2, 20);
    ok t_cmp(scalar @e, 2, "$tag, client stops reading then goes (slow "
             . 'daemon), twice: the daemon\'s writes failed each time');
    $log->check("$tag, client stops reading then goes",
                expect => { XAPIFWD0111 => 'debug' });
}

# ---- 50 times: no fd leak ---------------------------------------------------------
{
    my $before = child_fds();
    my $t0 = time;
    for my $i (1 .. 50) {
        put_and_leave($i % 2 ? 'xf_relay' : 'xf_relay_tls', "leak-$i");
    }
    my @e = wait_events(qr/^sink id=leak-\d+ /, 50, 30);
    ok t_cmp(scalar(grep { / eof$/ } @e), 50,
             '50 clients gone mid-body: the daemon saw EOF 50 times');
    t_debug(sprintf '50 clients gone mid-body in %.1f s', time - $t0);
    for my $i (1 .. 10) {
        get_and_leave($i % 2 ? 'xf_relay' : 'xf_relay_tls', "leakr-$i");
    }
    @e = wait_events(qr/^quiet id=leakr-\d+ /, 10, 30);
    ok t_cmp(scalar @e, 10,
             '10 clients gone mid-response: the daemon\'s writes failed '
             . '10 times');
    my $g = settled_growth($before, 10);
    my $after = child_fds();
    t_debug('fds before: ' . join(' ', map { "$_=$before->{$_}" } sort keys %$before)
            . '; after: ' . join(' ', map { "$_=$after->{$_}" } sort keys %$after));
    ok t_cmp($g <= 0 ? 'no growth' : "$g more fds", 'no growth',
             'open fds of the httpd children: no growth after 60 '
             . 'clients that went away');
    ok t_cmp(scalar(grep { exists $after->{$_} } keys %$before) > 0 ? 1 : 0, 1,
             'the fd comparison covered at least one child');
    $log->check('60 clients gone',
                expect => { XAPIFWD0107 => 'info', XAPIFWD0111 => 'debug' });
}

# ---- still serving ---------------------------------------------------------------
{
    my $r = exchange('xf_relay', "GET /r/hello?after=gone HTTP/1.1\r\nHost: "
                     . host_of('xf_relay') . "\r\nConnection: close\r\n\r\n");
    my($resp) = parse_responses($r->{data});
    ok t_cmp($resp ? "$resp->{status} $resp->{body}" : 'nothing',
             "200 hello from rrdd\n", 'httpd still answers');
}
ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');
$log->check('end');
