# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Hand-off: after sendmsg httpd writes nothing more on the client
# socket, so the client must receive exactly the daemon's bytes.  Run under
# event, worker and prefork by t/run-apache-tests.sh.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Digest::MD5 ();
use Time::HiRes qw(time);
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::AccessLog qw(access_mode);
use XapiForward::Envelope qw(expected_envelope);
use XapiForward::Raw qw(exchange host_of parse_responses raw_connect
                        read_all);

plan tests => 21, need_module('proxy', 'xapi_forward');

my $VH = 'xf_core';
my $HOST = host_of($VH);
my $vars = Apache::Test::vars();

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd xenopsd fdpass));

sub get_bytes {
    my($target, @h) = @_;
    return "GET $target HTTP/1.1\r\nHost: $HOST\r\nUser-Agent: xf-test\r\n"
      . join('', map { "$_\r\n" } @h) . "\r\n";
}

sub expect_echo {
    my($r, $target) = @_;
    my $env = expected_envelope(method => 'GET', target => $target,
                                headers => [[Host => $HOST],
                                            ['User-Agent' => 'xf-test']]);
    return XapiForward::Daemon::response_head(
        name => 'rrdd', lport => $r->{lport}, length => length $env,
        type => 'application/json') . $env;
}

sub expect_hello {
    my($r, $name) = @_;
    my $body = "hello from $name\n";
    return XapiForward::Daemon::response_head(
        name => $name, lport => $r->{lport}, length => length $body) . $body;
}

# --- the three ways to route a request to the scheme ----------------------
for my $form (['ProxyPass', '/r/echo?form=pp'],
              ['RewriteRule [P]', '/rw/echo?form=rw'],
              ['SetHandler', '/sh/echo?form=sh']) {
    my($name, $target) = @$form;
    my $r = exchange($VH, get_bytes($target));
    ok t_cmp($r->{data}, expect_echo($r, $target),
             "$name: the client receives exactly the daemon's bytes");
}

# --- two sockets behind two host names --------------------------------------
for my $case (['/r/hello', 'rrdd'], ['/x/hello', 'xenopsd']) {
    my($target, $name) = @$case;
    my $r = exchange($VH, get_bytes($target));
    ok t_cmp($r->{data}, expect_hello($r, $name),
             "$target reaches the $name daemon");
}

# --- keep-alive: a response from httpd, then a hand-off on the same
#     connection; the first response must not be lost ---------------------
{
    my $s = raw_connect($VH);
    syswrite $s, get_bytes('/xf/hello.txt');
    my $first = '';
    my $t0 = time;
    while (time - $t0 < 10) {
        my @p = parse_responses($first);
        last if @p && $p[0]{complete};
        sysread($s, $first, 65536, length $first) or last;
    }
    syswrite $s, get_bytes('/r/hello?ka=1');
    my($rest, $eof) = read_all($s, 30);
    my @resp = parse_responses($first . $rest);
    ok t_cmp(join(' ', map { $_->{status} } @resp), '200 200',
             'keep-alive: httpd response, then the daemon response');
    ok t_cmp(@resp == 2 && $resp[0]{body} eq "xapi_forward test tree\n"
             && $resp[1]{body} eq "hello from rrdd\n" && $eof ? 1 : 0, 1,
             'keep-alive: both bodies intact, then EOF');
    close $s;
}

# --- 64 MiB -------------------------------------------------------------------
{
    my $n = 64 * 1024 * 1024;
    my $r = exchange($VH, get_bytes("/r/big?bytes=$n"), timeout => 60);
    my $head = XapiForward::Daemon::response_head(
        name => 'rrdd', lport => $r->{lport}, length => $n,
        type => 'application/octet-stream');
    ok t_cmp(substr($r->{data}, 0, length $head), $head, '64 MiB: head');
    my $body = substr($r->{data}, length $head);
    ok t_cmp(length $body, $n, '64 MiB: every byte arrived');
    my $block = join('', map { chr } 0 .. 255) x 256;
    my $md5 = Digest::MD5->new;
    $md5->add($block) for 1 .. $n / length $block;
    ok t_cmp(Digest::MD5::md5_hex($body), $md5->hexdigest,
             '64 MiB: the bytes are the daemon\'s pattern');
}

# --- the daemon closes without answering -------------------------------------
{
    my $r = exchange($VH, get_bytes('/r/silent'), timeout => 15);
    ok t_cmp($r->{data}, '', '/silent: zero bytes');
    ok t_cmp($r->{eof} || $r->{error} =~ /reset/i ? 1 : 0, 1,
             '/silent: the connection is closed (not left hanging)');
}

# --- flusher=fdpass: httpd writes status + headers, the daemon the body ------
{
    my $r = exchange($VH, get_bytes('/fd/anything'));
    my($resp) = parse_responses($r->{data});
    ok t_cmp($resp && $resp->{status}, 200, 'fdpass: status from httpd');
    ok t_cmp($resp && $resp->{body}, "fdpass body from fdpass\n",
             'fdpass: body from the daemon, nothing after it');
    ok t_cmp($d->envelope('fdpass'), "\0", 'fdpass: one NUL byte sent');
}

# --- records -------------------------------------------------------------------
{
    my $tag = sprintf 'al%d', $$;
    exchange($VH, get_bytes("/r/hello?$tag"));
    ok t_cmp(access_mode('GET', "/r/hello?$tag"), 'handoff',
             'access log: XAPI_FORWARD=handoff');
    ok t_cmp($log->wait_for(qr/XAPIFWD0010/) ? 1 : 0, 1,
             'error_log: XAPIFWD0010 (debug: handed off)');
}

ok t_cmp($d->count('rrdd') >= 8 ? 1 : 0, 1, 'rrdd served the requests');
ok t_cmp($d->count('xenopsd'), 1, 'xenopsd served one request');
ok t_cmp(join("\n", $d->errors), '', 'daemon: no errors');
$log->check('hand-off tests');
