# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# The decision cache shared by two front ends through a real redis-server
# and a real memcached, each started here on a free loopback port (and
# stopped at the end, also on failure).  Two httpd front ends, started here
# with a small generated configuration (XapiForward::FrontEnd), use the same
# XapiForwardCacheKeyFile, the same fake XAPI (its call counter shows who
# asked) and the same receiving daemon.
#
#   - a decision taken by front end 1 is a hit on front end 2;
#   - values written straight into the cache server (RESP / memcached text
#     protocol): the old unauthenticated "xf1:A", a value sealed with
#     another key, a genuine value moved to another id, an expired one,
#     garbage -- never trusted; a value sealed here with the right key is
#     (so the negative cases test the seal, not a wrong cache id);
#   - cache server stopped: every request still decided by XAPI, no 5xx,
#     XAPIFWD0260 once, a handful of provider errors, not one per request;
#     restarted: decisions are shared again (XAPIFWD0261);
#   - cache server hung (SIGSTOP): the request already waiting on it waits
#     (see docs/frontdoor.md), later ones skip the cache after 3 s and XAPI decides.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Digest::SHA qw(hmac_sha256 hmac_sha256_hex);
use Time::HiRes qw(time sleep);
use XapiForward::Daemon;
use XapiForward::FakeXapi qw(request session_of remember_secret);
use XapiForward::FrontEnd qw(module_conf instance_dir spew);

my @KINDS = (['redis', 'socache_redis', 'redis', 'RedisConnPoolTTL 1s
RedisTimeout 2s'],
             ['memcached', 'socache_memcache', 'memcache',
              'MemcacheConnTTL 1s']);
my $PER_KIND = 23;

plan tests => $PER_KIND * @KINDS,
  need_module('proxy', 'xapi_forward');

my $vars = Apache::Test::vars();
my $d = XapiForward::Daemon->start(qw(rrdd));
my $x = XapiForward::FakeXapi->start('unix', unix => 'xapi.sock',
                                     preauth => 1);
my $XAPI_URL = 'unix:' . $x->sock;

# the key file both front ends share, and the key the module derives from
# it (xf_cache.c: HMAC-SHA256 with an all-zero key over kind 2, the file
# without trailing newlines, NUL)
my $keydir = instance_dir('key');
my $KEY_TEXT = 'shared-cache-key-' . unpack('H*', pack('N4', map { int rand 2**32 } 1 .. 4));
spew("$keydir/cache.key", "$KEY_TEXT\n");
chmod 0600, "$keydir/cache.key";
my $KEY = pack 'H*', hmac_sha256_hex("\x02$KEY_TEXT\0", "\0" x 32);
my $FOREIGN = pack 'H*', hmac_sha256_hex("\x02another-pool-key\0", "\0" x 32);

# the cache id of a session (no required permission, this XAPI URL) and
# the key the socache provider stores it under
sub cache_id {
    my $session = shift;
    return hmac_sha256_hex("\x01$session\0\n$XAPI_URL", $KEY);
}
sub server_key { 'xapi-forward-cache:' . unpack('H*', cache_id(shift)) }

# a value as xf_auth_decision_seal() makes it
sub seal {
    my($key, $session, $letter, $expiry_usec) = @_;
    my $exp = sprintf '%016x', $expiry_usec;
    return "xf2:$letter:$exp:"
      . hmac_sha256_hex("xf-decision-2\0" . cache_id($session) . "\0$letter$exp",
                        $key);
}
sub usec { int($_[0] * 1e6) }

my $GOOD = session_of('cache');
my $REJECTED = 'OpaqueRef:rejected-5e0c2a91';
my $FORGED = 'OpaqueRef:forged-0b7e33c4';
remember_secret($REJECTED, $FORGED);

sub count_of {
    my($text, $re) = @_;
    return scalar(() = $text =~ /$re/g);
}

for my $k (@KINDS) {
    my($kind, $mod, $provider, $ttl_conf) = @$k;
    if (!XapiForward::FrontEnd::Cache::binary($kind)) {
        skip "$kind not installed (apt-get install "
          . ($kind eq 'redis' ? 'redis-server' : 'memcached') . ")"
          for 1 .. $PER_KIND;
        next;
    }
    my $c = XapiForward::FrontEnd::Cache->start($kind);
    my $body = module_conf('proxy', $mod) . <<"EOC";
LogLevel warn xapi_forward:debug
XapiForwardCache $provider:127.0.0.1:${\ $c->port}
XapiForwardCacheKeyFile "$keydir/cache.key"
XapiForwardCacheTTL 120
XapiForwardCacheNegativeTTL 120
XapiForwardXapiURL $XAPI_URL
XapiForwardXapiTimeout 5
$ttl_conf
ProxyPass /a/ "unix:${\ $d->sock('rrdd')}|xapi://fe-a/"
<Location /a/>
    XapiForwardAuth On
</Location>
EOC
    my @fe = map { XapiForward::FrontEnd->start("$kind-fe$_", $body) } 1, 2;

    # GET /a/ on front end $n with a session; "status xapi-calls"
    my $get = sub {
        my($n, $session) = @_;
        $x->reset;
        my $r = request($fe[$n - 1]->port, 'GET', '/a/x',
                        "Cookie: session_id=$session");
        return $r->{status} . ' ' . $x->count;
    };

    # --- shared decisions ----------------------------------------------
    ok t_cmp($get->(1, $GOOD), '200 1', "$kind: front end 1 asks XAPI: 200");
    ok t_cmp($get->(2, $GOOD), '200 0',
             "$kind: front end 2: a hit on front end 1's decision, no XAPI call");
    my $v = $c->get(server_key($GOOD)) // '';
    ok t_cmp($v, qr/^xf2:A:[0-9a-f]{16}:[0-9a-f]{64}\z/,
             "$kind: the stored value is a sealed allow");
    ok t_cmp($get->(1, $REJECTED), '401 1', "$kind: refused session: 401");
    ok t_cmp($get->(2, $REJECTED), '401 0',
             "$kind: the refusal is shared too");

    # --- values written by someone else ----------------------------------
    my $rk = server_key($REJECTED);
    my @forged = (
        ['xf1:A', 'the old unauthenticated form (issue 11 reproduction)'],
        [seal($FOREIGN, $REJECTED, 'A', usec(time + 300)),
         'sealed with a foreign key'],
        [$v, "front end 1's genuine allow for another session, moved"],
        [seal($KEY, $REJECTED, 'A', usec(time - 5)),
         'sealed with the right key but expired'],
        ['x' x 2000, '2000 bytes of garbage'],
        ["xf2:A:\0\n", 'a short broken value'],
    );
    for my $f (@forged) {
        $c->set($rk, $f->[0], 300) or die "$kind: cannot write the cache\n";
        ok t_cmp($get->(2, $REJECTED), '401 1',
                 "$kind: $f->[1]: not trusted, XAPI asked, 401");
    }
    # the control: a value sealed here with the shared key is believed, so
    # the values above were refused for their seal, not for a wrong key name
    $c->set(server_key($FORGED), seal($KEY, $FORGED, 'A', usec(time + 60)), 60);
    ok t_cmp($get->(1, $FORGED), '200 0',
             "$kind: control: a value sealed with the shared key is a hit");

    # --- cache server down -------------------------------------------------
    $c->stop;
    my $log0 = length $fe[0]->error_log;
    my($bad, $calls, $n) = (0, 0, 20);
    for my $i (1 .. $n) {
        my $s = $i % 4 ? "$GOOD" : $REJECTED;
        my($st, $cnt) = split ' ', $get->(1, $s);
        $bad++ if $st != ($i % 4 ? 200 : 401);
        $calls += $cnt;
    }
    ok t_cmp($bad, 0, "$kind down: $n requests decided correctly (200/401)");
    ok t_cmp($calls, $n, "$kind down: each one by XAPI");
    my $log = substr $fe[0]->error_log, $log0;
    ok t_cmp(count_of($log, qr/XAPIFWD0260/), 1,
             "$kind down: XAPIFWD0260 logged once");
    ok t_cmp(count_of($log, qr/\b(?:AH0347[89]|AH0079[01])\b/) < $n / 2, 1,
             "$kind down: the provider's own errors are not one per request");
    ok t_cmp(count_of($log, qr/\[xapi_forward:(?:crit|error)\](?!.*XAPIFWD0203)/),
             0, "$kind down: no module error but the refusals (no 5xx path)");

    # --- cache server back ---------------------------------------------------
    $c->start;
    my $back = session_of('expire');
    # the back-off (at most 16 s) and the provider's pool (1 s here) pass;
    # until then each request is decided by XAPI, and decided correctly.
    # Shared: front end 2 finds what front end 1 has just stored.
    my($shared, $wrong) = (0, 0);
    my $deadline = time + 60;
    while (!$shared && time < $deadline) {
        eval { $c->del(server_key($back)) };
        my($s1) = split ' ', $get->(1, $back);
        my($s2, $c2) = split ' ', $get->(2, $back);
        $wrong++ if $s1 != 200 || $s2 != 200;
        $shared = 1 if $c2 == 0;
        sleep 0.5 unless $shared;
    }
    ok t_cmp($wrong, 0, "$kind restarted: every request decided correctly");
    ok t_cmp($shared, 1, "$kind restarted: decisions are shared again");
    ok t_cmp($fe[0]->error_log =~ /XAPIFWD0261/ ? 1 : 0, 1,
             "$kind restarted: XAPIFWD0261 (the cache answers again)");

    # --- cache server hung (SIGSTOP) ------------------------------------------
    # A worker that is already waiting on it stays stuck (httpd's providers
    # have no usable I/O timeout); once no call has finished for 3 s the
    # cache is skipped, so the other requests are decided by XAPI.
    my $hung = session_of('json');
    kill 'STOP', $c->{pid};
    my $a = XapiForward::Raw::raw_connect($fe[0]->port);
    print $a "GET /a/x HTTP/1.1\r\nHost: localhost\r\n"
      . "Cookie: session_id=$hung\r\nConnection: close\r\n\r\n";
    sleep 4.5;
    my $during = $get->(1, $GOOD);
    kill 'CONT', $c->{pid};
    my($data) = XapiForward::Raw::read_all($a, 30);
    my($ra) = XapiForward::Raw::parse_responses($data // '', 'GET');
    ok t_cmp($during, '200 1',
             "$kind hung: later requests skip the cache, XAPI decides: 200");
    ok t_cmp(($ra || {})->{status} // 0, 200,
             "$kind hung: the request that waited on it is answered once "
             . "the server resumes");
    ok t_cmp($fe[0]->error_log =~ /XAPIFWD026[02]: .*no answer for 3 s/ ? 1 : 0,
             1, "$kind hung: the hang is logged (XAPIFWD0262 at debug: "
             . "XAPIFWD0260 came less than a minute ago)");

    $_->stop for @fe;
    $c->stop;
}
