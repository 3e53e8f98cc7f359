# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Access control against XAPI, part 1: every credential
# source in xapi's order, their answers, and what reaches the daemon
# (stripping on and off).  The fake XAPI (t/daemon/fake_xapi.py) runs twice:
# "unix" on xapi's local socket, with --unix-preauth (xapi's trap: a login
# there accepts any password), and "https" for Basic logins.  Each case
# checks the status, the tag in the error log (nothing else at [warn] or
# worse), which XAPI calls were made, and whether the daemon was contacted;
# /a/echo answers with the envelope the daemon received.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use JSON::PP ();
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::Envelope qw(expected_envelope);
use XapiForward::FakeXapi qw(start_pair checked_get conf_port users session_of pool_secret
                             remember_secret check_secrets request basic $UUID $LOGIN $LOGOUT);

plan tests => 87, need_module('proxy', 'xapi_forward', 'socache_shmcb');

my $VH = 'xf_access';

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
my($ux, $hx) = start_pair();
my %PW = users();
my $SECRET = pool_secret();
my $BOGUS = 'OpaqueRef:xfs-bogus-4e7a19c2';
my $BOGUS2 = 'OpaqueRef:xfs-bogus-b03d5f81';
my $WRONG_PW = 'pw-wrong-1f6c9a0e';
my $WRONG_SECRET = 'xf-test-pool-secret-6f3c1d2e9a8b47d6';
remember_secret($BOGUS, $BOGUS2, $WRONG_PW, $WRONG_SECRET);

# The envelope the daemon must get for GET $target sent by request() with
# @h: Host first, then @h, then "Connection: close".
sub envelope {
    my($target, $h, %o) = @_;
    my $host = XapiForward::Raw::host_of($VH);
    return expected_envelope(
        method => 'GET', target => $target,
        headers => [[Host => $host], (map { [split /:[ \t]*/, $_, 2] } @$h),
                    [Connection => 'close']],
        %o);
}

my @UNIX_CALLS;    # every call the unix socket got

# Send GET $target with @h; returns the response and what changed:
# "rrdd=N unix=N https=N" (daemon connections, XAPI calls by fake).
sub get {
    my $r = checked_get($d, $ux, $hx, $VH, @_);
    push @UNIX_CALLS, @{ $r->{unix_calls} };
    return $r;
}


# --- no credential -----------------------------------------------------------
{
    my $r = get('/a/echo?none=1');
    ok t_cmp($r->{status}, 401, 'no credential: 401');
    ok t_cmp($r->{h}{'www-authenticate'}, 'Basic realm="xf test realm"',
             'no credential: WWW-Authenticate with the location\'s realm');
    ok t_cmp($r->{h}{'cache-control'}, 'no-store',
             'no credential: Cache-Control: no-store');
    ok t_cmp($r->{body}, qr/^401 [^\n]+\n?\z/,
             'no credential: one short text line');
    ok t_cmp($r->{delta}, 'rrdd=0 unix=- https=-',
             'no credential: neither XAPI nor the daemon contacted');
    $log->check('no credential', expect => { XAPIFWD0200 => 'info' });

    $r = get('/a/echo?none=2', 'Accept: application/json');
    ok t_cmp($r->{status}, 401, 'no credential, JSON client: 401');
    ok t_cmp($r->{h}{'content-type'}, qr{^application/json},
             'no credential, JSON client: application/json');
    my $j = eval { JSON::PP->new->decode($r->{body}) } || {};
    ok t_cmp(($j->{status} // '') . ' ' . (defined $j->{error} ? 'error' : ''),
             '401 error', 'no credential, JSON client: {"status":401,'
             . '"error":...}');
    ok t_cmp($r->{delta}, 'rrdd=0 unix=- https=-',
             'no credential, JSON client: nobody contacted');
    $log->check('no credential, JSON', expect => { XAPIFWD0200 => 'info' });
}

# --- session_id cookie -------------------------------------------------------
{
    my $s = session_of('cookie');
    my $r = get('/a/echo?c=1', "Cookie: session_id=$s");
    ok t_cmp($r->{status}, 200, 'session_id cookie: 200 from the daemon');
    ok t_cmp($r->{h}{'x-daemon'}, 'rrdd', 'session_id cookie: daemon answered');
    ok t_cmp($r->{body}, envelope('/a/echo?c=1', [], forward_auth => 0),
             'session_id cookie: envelope without the session_id cookie');
    ok t_cmp($r->{delta}, "rrdd=1 unix=$UUID https=-",
             'session_id cookie: one session.get_uuid on the unix socket');
    $log->check('session_id cookie');

    # after "; " (xapi itself only looks at the start of the header)
    $s = session_of('semi');
    $r = get('/a/echo?c=2', "Cookie: lang=en; session_id=$s");
    ok t_cmp($r->{status}, 200, 'session_id after "; " in Cookie: 200');
    ok t_cmp($r->{body}, envelope('/a/echo?c=2', ['Cookie: lang=en'],
                                  forward_auth => 0),
             'session_id after "; ": envelope keeps lang, not session_id');
    ok t_cmp($r->{delta}, "rrdd=1 unix=$UUID https=-",
             'session_id after "; ": checked on the unix socket');
    $log->check('session_id after "; "');
}

# --- session_id query parameter -------------------------------------------------
{
    my $s = session_of('query');
    my $r = get("/a/echo?x=1&session_id=$s&y=2");
    ok t_cmp($r->{status}, 200, 'session_id query: 200');
    ok t_cmp($r->{body}, envelope('/a/echo?x=1&y=2', [], forward_auth => 0),
             'session_id query: envelope query without session_id');
    ok t_cmp($r->{delta}, "rrdd=1 unix=$UUID https=-",
             'session_id query: checked on the unix socket');
    $log->check('session_id query');
}

# --- invalid session ------------------------------------------------------------
{
    my $r = get('/a/echo?inv=1', "Cookie: session_id=$BOGUS");
    ok t_cmp($r->{status}, 401, 'invalid session: 401');
    ok t_cmp($r->{h}{'www-authenticate'}, 'Basic realm="xf test realm"',
             'invalid session: WWW-Authenticate');
    ok t_cmp($r->{delta}, "rrdd=0 unix=$UUID https=-",
             'invalid session: asked XAPI, daemon not contacted');
    $log->check('invalid session', expect => { XAPIFWD0203 => 'error' });

    $r = get('/a/echo?inv=2', "Cookie: session_id=$BOGUS2",
             'Accept: application/json');
    my $j = eval { JSON::PP->new->decode($r->{body}) } || {};
    ok t_cmp($r->{status} . ' ' . ($j->{status} // '-'), '401 401',
             'invalid session, JSON client: 401 with a JSON body');
    $log->check('invalid session, JSON', expect => { XAPIFWD0203 => 'error' });
}

# --- xapi's order: cookie, then query --------------------------------------
{
    my $s = session_of('order');
    my $r = get("/a/echo?session_id=$BOGUS&o=1", "Cookie: session_id=$s",
                'Authorization: ' . basic('ro', $WRONG_PW));
    ok t_cmp($r->{status}, 200,
             'valid cookie, bogus query and Basic: the cookie decides (200)');
    ok t_cmp($r->{delta}, "rrdd=1 unix=$UUID https=-",
             'valid cookie first: one check, no login');
    $log->check('order: cookie first');

    $r = get("/a/echo?session_id=$s&o=2", "Cookie: session_id=$BOGUS2");
    ok t_cmp($r->{status}, 401,
             'bogus cookie, valid query: the cookie decides (401)');
    $log->check('order: bogus cookie first',
                expect => { XAPIFWD0203 => 'error' });
}

# --- pool_secret -------------------------------------------------------------
{
    my $r = get('/a/echo?p=1', "Cookie: a=b; pool_secret=$SECRET");
    ok t_cmp($r->{status}, 200, 'right pool_secret cookie: 200');
    ok t_cmp($r->{body}, envelope('/a/echo?p=1', ['Cookie: a=b'],
                                  forward_auth => 0),
             'pool_secret cookie: not forwarded');
    ok t_cmp($r->{delta}, 'rrdd=1 unix=- https=-',
             'pool_secret cookie: no XAPI call');
    $log->check('pool_secret cookie', expect => { XAPIFWD0201 => 'debug' });

    $r = get("/a/echo?p=2&pool_secret=$SECRET");
    ok t_cmp($r->{status}, 200, 'right pool_secret query: 200');
    ok t_cmp($r->{body}, envelope('/a/echo?p=2', [], forward_auth => 0),
             'pool_secret query: not forwarded');
    ok t_cmp($r->{delta}, 'rrdd=1 unix=- https=-',
             'pool_secret query: no XAPI call');
    $log->check('pool_secret query', expect => { XAPIFWD0201 => 'debug' });

    $r = get('/a/echo?p=3', "Cookie: pool_secret=$WRONG_SECRET");
    ok t_cmp($r->{status}, 401, 'wrong pool_secret cookie: 401');
    ok t_cmp($r->{h}{'www-authenticate'}, 'Basic realm="xf test realm"',
             'wrong pool_secret: WWW-Authenticate');
    ok t_cmp($r->{delta}, 'rrdd=0 unix=- https=-',
             'wrong pool_secret cookie: nobody contacted');
    $log->check('wrong pool_secret cookie',
                expect => { XAPIFWD0202 => 'error' });

    # a prefix of the right one, in the query
    $r = get('/a/echo?p=4&pool_secret=' . substr($SECRET, 0, -1));
    ok t_cmp($r->{status}, 401, 'pool_secret query, a prefix of the right '
             . 'one: 401');
    ok t_cmp($r->{delta}, 'rrdd=0 unix=- https=-',
             'wrong pool_secret query: nobody contacted');
    $log->check('wrong pool_secret query',
                expect => { XAPIFWD0202 => 'error' });
}

# --- Authorization: Basic ------------------------------------------------------
{
    my $auth = 'Authorization: ' . basic('ro', $PW{ro});
    my $r = get('/a/echo?b=1', $auth);
    ok t_cmp($r->{status}, 200, 'Basic, right password: 200');
    ok t_cmp($r->{body}, envelope('/a/echo?b=1', [$auth], forward_auth => 0),
             'Basic: envelope without "auth"');
    ok t_cmp($r->{delta}, "rrdd=1 unix=- https=$LOGIN,$UUID,$LOGOUT",
             'Basic: login, check and logout over HTTPS, never the unix '
             . 'socket');
    $log->check('Basic');

    # --unix-preauth: had the login gone to the unix socket, it would
    # have succeeded
    my $bad = 'Authorization: ' . basic('ro', $WRONG_PW);
    $r = get('/a/echo?b=2', $bad);
    ok t_cmp($r->{status}, 401, 'Basic, wrong password: 401');
    ok t_cmp($r->{h}{'www-authenticate'}, 'Basic realm="xf test realm"',
             'Basic, wrong password: WWW-Authenticate');
    ok t_cmp($r->{delta}, "rrdd=0 unix=- https=$LOGIN",
             'Basic, wrong password: one login over HTTPS');
    $log->check('Basic, wrong password', expect => { XAPIFWD0203 => 'error' });

    # cached negatively: xapi takes ~5 s per failed login
    $r = get('/a/echo?b=3', $bad);
    ok t_cmp($r->{status}, 401, 'Basic, wrong password again: 401');
    ok t_cmp($r->{delta}, 'rrdd=0 unix=- https=-',
             'Basic, wrong password again: negative cache, no XAPI call');
    $log->check('Basic, wrong password, cached',
                expect => { XAPIFWD0206 => 'debug', XAPIFWD0203 => 'error' });

    $r = get('/a/echo?b=4',
             'Authorization: ' . basic('nosuchuser', $WRONG_PW));
    ok t_cmp($r->{status}, 401, 'Basic, unknown user: 401');
    $log->check('Basic, unknown user', expect => { XAPIFWD0203 => 'error' });

    # not Basic, or not decodable: no credential
    $r = get('/a/echo?b=5', 'Authorization: Bearer abc');
    ok t_cmp($r->{status} . ' ' . $r->{delta}, '401 rrdd=0 unix=- https=-',
             'Authorization: Bearer is no credential: 401, nobody contacted');
    $log->check('Bearer', expect => { XAPIFWD0200 => 'info' });
}

# --- XapiForwardForwardCredentials On ---------------------------------------------
{
    my $s = session_of('fwd-ck');
    my @h = ("Cookie: lang=en; session_id=$s; pool_secret=$SECRET");
    my $r = get('/fwd/echo?f=1', @h);
    ok t_cmp($r->{status}, 200, 'forwarding, session cookie: 200');
    ok t_cmp($r->{body},
             envelope('/fwd/echo?f=1', ["Cookie: lang=en; session_id=$s"]),
             'forwarding: session_id cookie forwarded, pool_secret not');
    ok t_cmp($r->{delta}, "rrdd=1 unix=$UUID https=-",
             'forwarding: the session was still checked');
    $log->check('forwarding, cookie');

    $s = session_of('fwd-q');
    $r = get("/fwd/echo?session_id=$s&pool_secret=$SECRET&f=2");
    ok t_cmp($r->{status}, 200, 'forwarding, session query: 200');
    ok t_cmp($r->{body}, envelope("/fwd/echo?session_id=$s&f=2", []),
             'forwarding: session_id query forwarded, pool_secret not');
    $log->check('forwarding, query');

    my $auth = 'Authorization: ' . basic('rw', $PW{rw});
    $r = get('/fwd/echo?f=3', $auth);
    ok t_cmp($r->{status}, 200, 'forwarding, Basic: 200');
    ok t_cmp($r->{body}, envelope('/fwd/echo?f=3', [$auth]),
             'forwarding: "auth":["Basic","rw",...] forwarded');
    ok t_cmp($r->{delta}, "rrdd=1 unix=- https=$LOGIN,$UUID,$LOGOUT",
             'forwarding, Basic: checked over HTTPS');
    $log->check('forwarding, Basic');

    # a pool secret is never forwarded
    $r = get("/fwd/echo?pool_secret=$SECRET&f=4", 'Cookie: a=1');
    ok t_cmp($r->{status}, 200, 'forwarding, pool_secret: 200');
    ok t_cmp($r->{body}, envelope('/fwd/echo?f=4', ['Cookie: a=1']),
             'forwarding: pool_secret still stripped');
    $log->check('forwarding, pool_secret',
                expect => { XAPIFWD0201 => 'debug' });
}

# --- no XapiForwardAuth: forwarded as xapi forwards them -----------------------------
{
    my $auth = 'Authorization: ' . basic('ro', $WRONG_PW);
    my @h = ("Cookie: session_id=$BOGUS; pool_secret=$WRONG_SECRET", $auth);
    my $r = get("/open/echo?session_id=$BOGUS2&pool_secret=$WRONG_SECRET", @h);
    ok t_cmp($r->{status}, 200, 'no XapiForwardAuth: 200 whatever the '
             . 'credentials');
    ok t_cmp($r->{body},
             envelope("/open/echo?session_id=$BOGUS2&pool_secret=$WRONG_SECRET",
                      \@h),
             'no XapiForwardAuth: cookie, query and auth forwarded as they '
             . 'are');
    ok t_cmp($r->{delta}, 'rrdd=1 unix=- https=-',
             'no XapiForwardAuth: no XAPI call');
    $log->check('no XapiForwardAuth');
}

# --- the module spoke proper JSON-RPC; the unix socket never saw a login ---------
{
    ok t_cmp(join("\n", $ux->errors, $hx->errors), '',
             'fake XAPI: no protocol complaint (Content-Type, JSON-RPC)');
    ok t_cmp(join(',', grep { /login/ } @UNIX_CALLS), '',
             'no session.login_with_password ever reached the unix socket');
    ok t_cmp(join("\n", $d->errors), '', 'daemon: no complaint');
}

check_secrets('50_access');
