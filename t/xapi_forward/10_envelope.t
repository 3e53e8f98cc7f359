# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# The envelope, byte for byte, as the daemon receives it: /r/echo
# answers with exactly the bytes it got.  The expected JSON is computed here
# from the request as sent (XapiForward::Envelope), never copied from the
# module's output.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::Envelope qw(expected_envelope top_keys key_order_ok
                             parse_head decode_ordered);
use XapiForward::Raw qw(exchange host_of parse_responses capture_request);

plan tests => 25, need_module('proxy', 'xapi_forward');

my $VH = 'xf_core';
Apache::TestRequest::module($VH);
my $HOST = host_of($VH);

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));

sub request_bytes {
    my($method, $target, $version, $headers) = @_;
    return "$method $target HTTP/$version\r\n"
      . join('', map { "$_->[0]: $_->[1]\r\n" } @$headers) . "\r\n";
}

# Send a raw request to an echo location and compare every byte the client
# receives with the daemon's head + the expected envelope.
#   echo_case(name, method, target, headers, version => '1.1',
#             envelope options (pathkey, tp_top, ...))
sub echo_case {
    my($name, $method, $target, $headers, %o) = @_;
    my $version = delete $o{version} || '1.1';
    my $env = expected_envelope(method => $method, target => $target,
                                version => $version, headers => $headers,
                                %o);
    my $r = exchange($VH, request_bytes($method, $target, $version,
                                        $headers));
    my $want = XapiForward::Daemon::response_head(
        name => 'rrdd', lport => $r->{lport}, length => length $env,
        type => 'application/json');
    $want .= $env unless $method eq 'HEAD';
    ok t_cmp($r->{data}, $want, "$name: client gets the daemon's bytes, "
             . "body = expected envelope");
    return ($r, $env);
}

# --- 1. LWP: what the library really sends, captured first ---------------
{
    my $path = '/r/echo?start=1687352958&host=true&cf=AVERAGE';
    my @hdr = (Cookie => 'session=abc; lang=en', Accept => '*/*',
               'X-Trace-Me' => 'yes');
    my $cap = capture_request(sub { GET("$_[0]$path", @hdr) });
    my $res = GET($path, @hdr);
    my($line, $headers) = parse_head($cap);
    my($method, undef, $proto) = split / /, $line;
    # the captured Host names the capture listener: put ours back
    $_->[1] = $HOST for grep { lc $_->[0] eq 'host' } @$headers;
    (my $version = $proto) =~ s{^HTTP/}{};
    my $env = expected_envelope(method => $method, target => $path,
                                version => $version, headers => $headers);
    ok t_cmp($res->code, 200, 'LWP GET /r/echo: 200');
    ok t_cmp($res->content, $env, 'LWP GET: envelope byte for byte');
    my @keys = eval { top_keys($res->content) };
    ok t_cmp(key_order_ok(@keys) ? 1 : "bad order: @keys", 1,
             'LWP GET: top-level keys in xapi order');
}

# --- 2. everything a header set can carry --------------------------------
my @full = (
    [Host            => $HOST],
    ['User-Agent'    => 'xf-test/1.0'],
    [Accept          => 'application/json'],
    [Cookie          => 'a=1; $Version=1; b=x=y, c'],
    ['Task-Id'       => 'OpaqueRef:t1'],
    ['Subtask-Of'    => 'OpaqueRef:t0'],
    ['X-Tab'         => "a\tb"],
    ['Accept-Language' => 'en'],
    [traceparent     => '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
    ['X-Last'        => 'z'],
);
my $full_target = '/r/echo/a%20b?x=1&y=a+b&y=dup&z&e=%22%5c%01%7f%c3%a9/';
my(undef, $full_env) = echo_case('full GET', 'GET', $full_target, \@full);
{
    my @keys = eval { top_keys($full_env) };
    ok t_cmp(join(',', @keys),
             'm,uri,path,query,version,frame,accept,cookie,task,subtask_of,'
             . 'host,user_agent,close,additional_headers,traceparent',
             'full GET: keys and their order');
    ok t_cmp(join(',', map { $_->[0] }
                  @{ decode_ordered($full_env)->get('additional_headers') }),
             'x-last,traceparent,accept-language,x-tab',
             'additional_headers in reverse wire order, names lower-cased');
}

# --- 3. path keys ----------------------------------------------------------
{
    my @keys = top_keys($full_env);
    my($i) = grep { $keys[$_] eq 'uri' } 0 .. $#keys;
    ok t_cmp(defined $i && $keys[$i + 1] eq 'path' ? 1 : 0, 1,
             'default: "uri" and then "path"');
}
my @basic = ([Host => $HOST], ['User-Agent' => 'xf-test/1.0']);
echo_case('XapiForwardPathKey path', 'GET', '/pk/echo?a=1', \@basic,
          pathkey => 'path');
echo_case('XapiForwardPathKey uri', 'GET', '/pku/echo?a=1', \@basic,
          pathkey => 'uri');

# --- 4. methods ------------------------------------------------------------
{
    my($r, $env) = echo_case('HEAD', 'HEAD', '/r/echo?h=1', \@basic);
    ok t_cmp($d->envelope('rrdd'), $env, 'HEAD: envelope as recorded');
}
echo_case('DELETE', 'DELETE', '/r/echo?uuid=x', \@basic);
echo_case('lower-case method', 'get', '/r/echo', \@basic);
echo_case('OPTIONS', 'OPTIONS', '/r/echo', \@basic);

# --- 5. HTTP/1.0 (research example C) --------------------------------------
{
    my($r, $env) = echo_case('HTTP/1.0', 'GET', '/r/echo?json=true',
                             [[Connection => 'close']], version => '1.0');
    ok t_cmp($env, '{"m":"Get","uri":"/r/echo","path":"/r/echo",'
             . '"query":{"json":"true"},"version":"1.0","frame":false,'
             . '"cookie":{},"close":true,"additional_headers":{}}',
             'HTTP/1.0: the model agrees with example C');
}

# Connection is consumed only when it says exactly close or keep-alive
echo_case('Connection: keep-alive', 'GET', '/r/echo?c=ka',
          [[Host => $HOST], [Connection => 'Keep-Alive']]);

# --- 6. traceparent without the top-level copy -----------------------------
echo_case('XapiForwardTopTraceparent off', 'GET', '/tp0/echo',
          [[Host => $HOST],
           [traceparent => '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']],
          tp_top => 0);

# --- 7. credentials ---------------------------------------------------------
echo_case('Basic auth', 'GET', '/r/echo',
          [[Host => $HOST], [Authorization => 'Basic cm9vdDpzM2NyM3Q=']]);
echo_case('other auth', 'GET', '/r/echo',
          [[Host => $HOST], [Authorization => 'Bearer abc.def']]);

# --- 8. absolute-form target: its path only ---------------------------------
echo_case('absolute-form', 'GET', "http://$HOST/r/echo?q=1",
          [[Host => $HOST]]);

# --- 9. a body announced in the head: content_length, and the daemon reads
#        the body from the fd (head first, body after a pause: nothing is
#        buffered in httpd, so this is a plain hand-off) -------------------
{
    my $body = "<xml>" . ('x' x 1000) . "</xml>\n";
    my @h = ([Host => $HOST], ['Content-Type' => 'text/xml'],
             ['Content-Length' => length $body]);
    my $r = exchange($VH, [request_bytes('POST', '/r/body?uuid=abc', '1.1',
                                         \@h), \0.5, $body]);
    my($resp) = parse_responses($r->{data});
    require Digest::SHA;
    ok t_cmp($resp && $resp->{body},
             sprintf("length=%d sha256=%s\n", length $body,
                     Digest::SHA::sha256_hex($body)),
             'POST: the daemon read the whole body from the fd');
    ok t_cmp($d->envelope('rrdd'),
             expected_envelope(method => 'POST', target => '/r/body?uuid=abc',
                               headers => \@h),
             'POST: envelope with content_length and content_type');
}

# --- 10. nothing unexpected --------------------------------------------------
ok t_cmp(join("\n", $d->errors), '', 'daemon: every envelope was valid');
$log->check('envelope tests');
