# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Access control against XAPI, part 4: XAPI cannot answer.  Down, slower
# than XapiForwardXapiTimeout (2 s here), garbage, an HTML 500, a missing
# socket, nobody listening, an untrusted certificate: always 503 with
# XAPIFWD0205, never a request to the daemon (fail closed), and never a
# cached failure (the next request asks again).
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use JSON::PP ();
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(start_pair checked_get conf_port users session_of check_secrets
                             request basic $UUID $LOGIN $LOGOUT);

plan tests => 52, need_module('proxy', 'xapi_forward', 'socache_shmcb');

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
my($ux, $hx) = start_pair();
my %PW = users();

sub get { checked_get($d, $ux, $hx, @_) }

# the XAPIFWD0205 line of the last check
sub reason {
    my($l) = grep { /XAPIFWD0205/ } $log->last_lines;
    return $l // '';
}

my $session = 'Cookie: session_id=' . session_of('fail');
my $basic = 'Authorization: ' . basic('root', $PW{root});

# --- the unix socket's xapi misbehaves -------------------------------------------
for my $mode (qw(down garbage html500)) {
    my $what = { down    => 'down (closes without answering)',
                 garbage => 'answers garbage',
                 html500 => 'answers an HTML 500' }->{$mode};
    $ux->mode($mode);
    my $r = get('xf_access', "/a/echo?m=$mode", $session);
    ok t_cmp($r->{status}, 503, "XAPI $what: 503");
    ok t_cmp($r->{h}{'www-authenticate'}, undef,
             "XAPI $what: no WWW-Authenticate");
    ok t_cmp($r->{delta}, "rrdd=0 unix=$UUID https=-",
             "XAPI $what: one call, daemon not contacted");
    $log->check("XAPI $what", expect => { XAPIFWD0205 => 'error' });
}
{
    $ux->mode('slow:5');
    my $r = get('xf_access', '/a/echo?m=slow', $session,
                'Accept: application/json');
    ok t_cmp($r->{status}, 503, 'XAPI slower than XapiForwardXapiTimeout: 503');
    ok t_cmp($r->{elapsed} >= 1.5 && $r->{elapsed} < 4.5 ? 'bounded'
             : "took $r->{elapsed} s", 'bounded',
             'XAPI slow: answered after the 2 s timeout, not after 5 s');
    my $j = eval { JSON::PP->new->decode($r->{body}) } || {};
    ok t_cmp(($j->{status} // '-') . ' ' . ($r->{h}{'content-type'} // ''),
             qr{^503 application/json}, 'XAPI slow, JSON client: JSON 503');
    ok t_cmp($r->{delta}, "rrdd=0 unix=$UUID https=-",
             'XAPI slow: daemon not contacted');
    $log->check('XAPI slow', expect => { XAPIFWD0205 => 'error' });
    ok t_cmp(reason(), qr/timed out/i, 'XAPI slow: the log says timed out');
}
{
    $ux->mode('normal');
    my $r = get('xf_access', '/a/echo?m=normal', $session);
    ok t_cmp($r->{status}, 200, 'XAPI back: 200');
    ok t_cmp($r->{delta}, "rrdd=1 unix=$UUID https=-",
             'XAPI back: asked again (a failure is never cached)');
    $log->check('XAPI back');
}

# --- Basic: the HTTPS side misbehaves ---------------------------------------------
for my $mode (qw(down slow:5 garbage html500)) {
    $hx->mode($mode);
    my $r = get('xf_access', "/a/echo?bm=$mode", $basic);
    ok t_cmp($r->{status}, 503, "Basic, login endpoint $mode: 503");
    ok t_cmp($r->{delta}, "rrdd=0 unix=- https=$LOGIN",
             "Basic, login endpoint $mode: one login attempt, daemon not "
             . 'contacted');
    $log->check("Basic, login endpoint $mode",
                expect => { XAPIFWD0205 => 'error' });
}
{
    $hx->mode('normal');
    my $r = get('xf_access', '/a/echo?bm=normal', $basic);
    ok t_cmp($r->{status} . ' ' . $r->{delta},
             "200 rrdd=1 unix=- https=$LOGIN,$UUID,$LOGOUT",
             'Basic, login endpoint back: 200');
    $log->check('Basic, login endpoint back');
}

# --- nothing there ------------------------------------------------------------------
{
    # $basic was allowed a moment ago by xf_access's login endpoint (the
    # https fake); xf_access_nox logs in elsewhere (nobody listens there),
    # and must not inherit that decision from the shared cache
    my $r = get('xf_access_nox', '/a/echo?x=0', $basic);
    ok t_cmp($r->{status}, 503, 'Basic allowed by another vhost\'s XAPI, '
             . 'this one unreachable: 503, not a cache hit');
    $log->check('cache is per XAPI', expect => { XAPIFWD0205 => 'error' });

    $r = get('xf_access_nox', '/a/echo?x=1',
             'Cookie: session_id=' . session_of('nox'));
    ok t_cmp($r->{status}, 503, 'XAPI socket missing: 503');
    ok t_cmp($r->{delta}, 'rrdd=0 unix=- https=-',
             'XAPI socket missing: daemon not contacted');
    $log->check('XAPI socket missing', expect => { XAPIFWD0205 => 'error' });

    $r = get('xf_access_nox', '/a/echo?x=2',
             'Authorization: ' . basic('none', $PW{none}));
    ok t_cmp($r->{status}, 503, 'login URL: nobody listening: 503');
    ok t_cmp($r->{delta}, 'rrdd=0 unix=- https=-',
             'login URL: nobody listening: daemon not contacted');
    $log->check('login URL refused', expect => { XAPIFWD0205 => 'error' });
}

# --- XAPI's certificate ------------------------------------------------------------
{
    my $s = 'Cookie: session_id=' . session_of('sysca');
    my $r = get('xf_access_sysca', '/a/echo?t=1', $s);
    ok t_cmp($r->{status}, 503,
             'certificate not trusted (system CAs, self-signed fake): 503');
    ok t_cmp($r->{delta}, 'rrdd=0 unix=- https=-',
             'certificate not trusted: no JSON-RPC call got through');
    $log->check('untrusted certificate', expect => { XAPIFWD0205 => 'error' });
    ok t_cmp(reason(), qr/certificate|SSL/i,
             'untrusted certificate: the log says why');

    $s = 'Cookie: session_id=' . session_of('noverify');
    $r = get('xf_access_noverify', '/a/echo?t=2', $s);
    ok t_cmp($r->{status}, 200, 'XapiForwardXapiVerify Off: 200');
    ok t_cmp($r->{delta}, "rrdd=1 unix=- https=$UUID",
             'XapiForwardXapiVerify Off: session checked over HTTPS');
    $log->check('XapiForwardXapiVerify Off');
}

ok t_cmp(join("\n", $ux->errors, $hx->errors, $d->errors), '',
         'no protocol complaint from the fakes or the daemon');
check_secrets('53_access_fail');
