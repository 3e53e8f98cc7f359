# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Access control against XAPI, part 3: the decision cache (mod_socache,
# shmcb).  t/conf/access.conf.in sets XapiForwardCacheTTL 3 and
# XapiForwardCacheNegativeTTL 2 (global settings), so expiry is tested with
# sleeps of a few seconds.  A cache hit makes no XAPI call (the fake's call
# counter does not move) and logs XAPIFWD0206 at debug.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(start_pair checked_get conf_port users session_of remember_secret
                             check_secrets request basic $UUID $LOGIN $LOGOUT);

plan tests => 36, need_module('proxy', 'xapi_forward', 'socache_shmcb');

my $VH = 'xf_access';
my $TTL = 3;        # XapiForwardCacheTTL
my $NEG_TTL = 2;    # XapiForwardCacheNegativeTTL
my $MARGIN = 0.4;

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
my($ux, $hx) = start_pair();
my %PW = users();
my $BOGUS = 'OpaqueRef:xfs-bogus-91c3e7d0';
my $WRONG_PW = 'pw-wrong-5a0b8e3f';
remember_secret($BOGUS, $WRONG_PW);

sub get { checked_get($d, $ux, $hx, $VH, @_) }

sub sleep_until {
    my $t = shift;
    my $left = $t - time;
    sleep $left if $left > 0;
}

my $SU = 'session.get_is_local_superuser';
my $PERMS = 'session.get_rbac_permissions';

# --- positive entries: hit, expiry, and a session that expires meanwhile -------
my $cache = 'Cookie: session_id=' . session_of('cache');
my $exp_ref = session_of('expire');
my $expire = "Cookie: session_id=$exp_ref";

my $t0 = time;
my $r = get('/a/echo?c=1', $cache);
ok t_cmp($r->{status} . ' ' . $r->{delta}, "200 rrdd=1 unix=$UUID https=-",
         'first request: 200, one session.get_uuid');
$r = get('/a/echo?e=1', $expire);
ok t_cmp($r->{status} . ' ' . $r->{delta}, "200 rrdd=1 unix=$UUID https=-",
         'session to be expired: 200 while valid');
$log->check('first requests');

$r = get('/a/echo?c=2', $cache);
ok t_cmp($r->{status}, 200, 'second request: 200');
ok t_cmp($r->{delta}, 'rrdd=1 unix=- https=-',
         'second request: cache hit, no XAPI call');
$log->check('cache hit', expect => { XAPIFWD0206 => 'debug' });

# the session dies in XAPI; the cached decision lives until the TTL
$ux->expire($exp_ref);
$r = get('/a/echo?e=2', $expire);
ok t_cmp($r->{status} . ' ' . $r->{delta}, '200 rrdd=1 unix=- https=-',
         'expired in XAPI, still cached: 200 until the TTL runs out');
$log->check('expired, cached', expect => { XAPIFWD0206 => 'debug' });

sleep_until($t0 + $TTL + $MARGIN);
$r = get('/a/echo?c=3', $cache);
ok t_cmp($r->{status}, 200, 'after the TTL: 200');
ok t_cmp($r->{delta}, "rrdd=1 unix=$UUID https=-",
         'after the TTL: asked XAPI again');
$log->check('positive TTL expiry');

$r = get('/a/echo?e=3', $expire);
ok t_cmp($r->{status}, 401, 'expired session after the TTL: 401');
ok t_cmp($r->{h}{'www-authenticate'}, qr/^Basic realm="/,
         'expired session: WWW-Authenticate');
ok t_cmp($r->{delta}, "rrdd=0 unix=$UUID https=-",
         'expired session: asked XAPI, daemon not contacted');
$log->check('expired session', expect => { XAPIFWD0203 => 'error' });

# --- negative entries live XapiForwardCacheNegativeTTL, allow/deny the TTL -----
my $bogus = "Cookie: session_id=$BOGUS";
my $wrong = 'Authorization: ' . basic('rw', $WRONG_PW);
my $right = 'Authorization: ' . basic('rw', $PW{rw});

my $t1 = time;
$r = get('/a/echo?n=1', $bogus);
ok t_cmp($r->{status} . ' ' . $r->{delta}, "401 rrdd=0 unix=$UUID https=-",
         'invalid session: 401 after asking XAPI');
$r = get('/a/echo?n=2', $wrong);
ok t_cmp($r->{status} . ' ' . $r->{delta}, "401 rrdd=0 unix=- https=$LOGIN",
         'failed login: 401 after one login');
$r = get('/rbac2/echo?n=3', $right);
ok t_cmp($r->{status} . ' ' . $r->{delta},
         "200 rrdd=1 unix=- https=$LOGIN,$UUID,$SU,$PERMS,$LOGOUT",
         'Basic, allowed: 200 after login, checks, logout');
$log->check('negative and positive entries',
            expect => { XAPIFWD0203 => 'error' });

$r = get('/a/echo?n=4', $bogus);
ok t_cmp($r->{status} . ' ' . $r->{delta}, '401 rrdd=0 unix=- https=-',
         'invalid session again: negative cache hit');
$r = get('/a/echo?n=5', $wrong);
ok t_cmp($r->{status} . ' ' . $r->{delta}, '401 rrdd=0 unix=- https=-',
         'failed login again: negative cache hit, no login');
$r = get('/rbac2/echo?n=6', $right);
ok t_cmp($r->{status} . ' ' . $r->{delta}, '200 rrdd=1 unix=- https=-',
         'Basic, allowed, again: cache hit, no login');
$log->check('cache hits', expect => { XAPIFWD0203 => 'error',
                                      XAPIFWD0206 => 'debug' });

# past the negative TTL, inside the positive one
sleep_until($t1 + $NEG_TTL + $MARGIN);
ok t_cmp(time < $t1 + $TTL - 0.2 ? 1 : 'too late', 1,
         'timing: between the negative and the positive TTL');
$r = get('/a/echo?n=7', $bogus);
ok t_cmp($r->{status} . ' ' . $r->{delta}, "401 rrdd=0 unix=$UUID https=-",
         'invalid session after the negative TTL: asked XAPI again');
$r = get('/a/echo?n=8', $wrong);
ok t_cmp($r->{status} . ' ' . $r->{delta}, "401 rrdd=0 unix=- https=$LOGIN",
         'failed login after the negative TTL: login tried again');
$r = get('/rbac2/echo?n=9', $right);
ok t_cmp($r->{status} . ' ' . $r->{delta}, '200 rrdd=1 unix=- https=-',
         'allowed entry: still cached (positive TTL is longer)');
$log->check('negative TTL expiry', expect => { XAPIFWD0203 => 'error' });

# --- a deny is cached with the positive TTL ----------------------------------
{
    my $none = 'Authorization: ' . basic('none', $PW{none});
    my $t2 = time;
    $r = get('/rbac2/echo?d=1', $none);
    ok t_cmp($r->{status} . ' ' . $r->{delta},
             "403 rrdd=0 unix=- https=$LOGIN,$UUID,$SU,$PERMS,$LOGOUT",
             'denied: 403 after the checks');
    $log->check('denied', expect => { XAPIFWD0204 => 'error' });
    sleep_until($t2 + $NEG_TTL + $MARGIN);
    $r = get('/rbac2/echo?d=2', $none);
    ok t_cmp($r->{status} . ' ' . $r->{delta}, '403 rrdd=0 unix=- https=-',
             'denied, past the negative TTL: still cached (a deny is not an '
             . 'invalid credential)');
    $log->check('denied, cached', expect => { XAPIFWD0204 => 'error',
                                              XAPIFWD0206 => 'debug' });
    sleep_until($t2 + $TTL + $MARGIN);
    $r = get('/rbac2/echo?d=3', $none);
    ok t_cmp($r->{status} . ' ' . $r->{delta},
             "403 rrdd=0 unix=- https=$LOGIN,$UUID,$SU,$PERMS,$LOGOUT",
             'denied, past the TTL: checked again');
    $log->check('denied, TTL expiry', expect => { XAPIFWD0204 => 'error' });
}

ok t_cmp(join("\n", $ux->errors, $hx->errors, $d->errors), '',
         'no protocol complaint from the fakes or the daemon');
check_secrets('52_access_cache');
