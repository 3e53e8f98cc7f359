# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Failures: each case checks the status the client gets and the
# exact tag in the error log, and that nothing else was logged at [warn] or
# worse.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::Envelope qw(expected_envelope);
use XapiForward::Raw qw(exchange host_of parse_responses);

plan tests => 23, need_module('proxy', 'xapi_forward');

my $VH = 'xf_fail';
my $HOST = host_of($VH);

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd xenopsd closer dead));

sub get {
    my($target, @h) = @_;
    my $r = exchange($VH, "GET $target HTTP/1.1\r\nHost: $HOST\r\n"
                     . join('', map { "$_\r\n" } @h)
                     . "Connection: close\r\n\r\n", timeout => 15);
    my($resp) = parse_responses($r->{data});
    $r->{status} = $resp ? $resp->{status} : 0;
    return $r;
}

# --- the daemon's socket does not exist ------------------------------------
ok t_cmp(get('/missing/x')->{status}, 503, 'missing socket: 503');
$log->check('missing socket', expect => { XAPIFWD0004 => 'error' });

ok t_cmp(get('/missing404/x')->{status}, 404,
         'missing socket, XapiForwardMissingStatus 404: 404');
$log->check('missing socket, 404', expect => { XAPIFWD0004 => 'error' });

# --- a socket file nobody listens on ------------------------------------------
ok t_cmp(get('/dead/x')->{status}, 503, 'not listening: 503');
$log->check('not listening', expect => { XAPIFWD0004 => 'error' });

# --- envelope over the cap ---------------------------------------------------
{
    my $before = $d->count('rrdd');
    my $cookie = 'big=' . ('c' x (20 * 1024));
    ok t_cmp(get('/r/echo', "Cookie: $cookie")->{status}, 431,
             '20 KB cookie (under LimitRequestFieldSize): 431');
    ok t_cmp($d->count('rrdd'), $before, '431: nothing sent to the daemon');
    $log->check('oversize envelope', expect => { XAPIFWD0006 => 'error' });

    # what a browser sends; its envelope is well over 300 bytes
    my @browser = (
        'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) '
          . 'Gecko/20100101 Firefox/128.0',
        'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,'
          . '*/*;q=0.8',
        'Accept-Language: en-US,en;q=0.5',
        'Accept-Encoding: gzip, deflate',
        'Cookie: lang=en',
    );
    my $env = expected_envelope(
        method => 'GET', target => '/small/echo',
        headers => [[Host => $HOST], map { [split /: /, $_, 2] } @browser,
                    'Connection: close']);
    ok t_cmp(length($env) > 300 ? 1 : length $env, 1,
             'a browser-like request makes an envelope over 300 bytes');
    ok t_cmp(get('/small/echo', @browser)->{status}, 431,
             'XapiForwardMaxEnvelope 300, browser-like request: 431');
    $log->check('XapiForwardMaxEnvelope 300',
                expect => { XAPIFWD0006 => 'error' });

    # and the same request without the cap goes through
    ok t_cmp(get('/r/hello')->{status}, 200, 'same vhost, no cap: 200');
    $log->check('no cap');
}

# (a URL without a socket path is refused at start-up: 92_config_errors.t)

# --- xenopsd-style 404 on the control socket ---------------------------------
{
    my $r = get('/x/ctl404');
    ok t_cmp($r->{data}, '', 'control 404: the client gets no bytes');
    ok t_cmp($r->{eof} || $r->{error} =~ /reset/i ? 1 : 0, 1,
             'control 404: the connection is closed');
    $log->check('control 404', expect => { XAPIFWD0011 => 'warn' });
}

# --- a daemon that accepts and closes without reading --------------------------
{
    my $r = get('/closer/x');
    my $closed = $r->{data} eq '' && ($r->{eof} || $r->{error} =~ /reset/i);
    ok t_cmp($closed || $r->{status} == 502 ? 1
             : "status $r->{status}, " . length($r->{data}) . ' bytes', 1,
             'daemon closes without reading: closed or 502');
    ok t_cmp($r->{elapsed} < 10 ? 1 : 0, 1, '... and quickly');
    # the tag depends on the race (sendmsg failed: XAPIFWD0008, or the
    # control socket was reset after a hand-off)
    $log->check('daemon closes without reading',
                expect => $r->{status} == 502 ? { XAPIFWD0008 => 'error' } : {},
                allow => [qr/XAPIFWD\d{4}/]);
}

# --- the server still works -------------------------------------------------------
ok t_cmp(get('/r/hello')->{status}, 200, 'still answering after failures');
ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');
$log->check('end');
