# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Access control against XAPI, part 2: RBAC (XapiForwardRequirePermission).
# A local superuser (root) holds every permission with an EMPTY list (real
# xapi), so session.get_is_local_superuser comes first; otherwise
# session.get_rbac_permissions must list every required permission, else
# 403.  Users and permissions: t/conf/xapi-users.json.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use JSON::PP ();
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(start_pair checked_get conf_port users session_of pool_secret
                             check_secrets request basic $UUID $LOGIN $LOGOUT);

plan tests => 43, need_module('proxy', 'xapi_forward', 'socache_shmcb');

my $VH = 'xf_access';

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
my($ux, $hx) = start_pair();
my %PW = users();

# as in 50_access.t: the response, plus "rrdd=N unix=calls https=calls"
sub get { checked_get($d, $ux, $hx, $VH, @_) }

my $SU = 'session.get_is_local_superuser';
my $PERMS = 'session.get_rbac_permissions';

# the XAPIFWD0204 line of the last check
sub denial_line {
    my($l) = grep { /XAPIFWD0204/ } $log->last_lines;
    return $l // '';
}

# --- sessions -----------------------------------------------------------------
{
    my $r = get('/rbac/echo?r=1', 'Cookie: session_id=' . session_of('rbac-ro'));
    ok t_cmp($r->{status}, 200, 'permission held: 200');
    ok t_cmp($r->{h}{'x-daemon'}, 'rrdd', 'permission held: daemon answered');
    ok t_cmp($r->{delta}, "rrdd=1 unix=$UUID,$SU,$PERMS https=-",
             'permission held: uuid, superuser?, permissions');
    $log->check('permission held');

    my $none = 'Cookie: session_id=' . session_of('rbac-none');
    $r = get('/rbac/echo?r=2', $none);
    ok t_cmp($r->{status}, 403, 'permission missing: 403');
    ok t_cmp($r->{h}{'www-authenticate'}, undef,
             'permission missing: no WWW-Authenticate');
    ok t_cmp($r->{body}, qr/^403 [^\n]+\n?\z/,
             'permission missing: one short text line');
    ok t_cmp($r->{delta}, "rrdd=0 unix=$UUID,$SU,$PERMS https=-",
             'permission missing: daemon not contacted');
    $log->check('permission missing', expect => { XAPIFWD0204 => 'error' });
    ok t_cmp(denial_line(), qr{lacks permission http/rrd_updates},
             'permission missing: the log names the permission');

    $r = get('/rbac/echo?r=3', $none, 'Accept: application/json');
    my $j = eval { JSON::PP->new->decode($r->{body}) } || {};
    ok t_cmp($r->{status} . ' ' . ($j->{status} // '-') . ' '
             . ($r->{h}{'content-type'} // ''),
             qr{^403 403 application/json},
             'permission missing, JSON client: JSON 403');
    ok t_cmp($r->{delta}, 'rrdd=0 unix=- https=-',
             'permission missing again: denial cached, no XAPI call');
    $log->check('permission missing, cached',
                expect => { XAPIFWD0204 => 'error', XAPIFWD0206 => 'debug' });

    # local superuser: empty permission list, yet everything allowed
    $r = get('/rbac2/echo?r=4', 'Cookie: session_id=' . session_of('rbac-root'));
    ok t_cmp($r->{status}, 200, 'local superuser (empty list): 200');
    ok t_cmp($r->{delta}, "rrdd=1 unix=$UUID,$SU https=-",
             'local superuser: no need to ask for the permissions');
    $log->check('local superuser');

    # two directives: both needed; the fake holds "HTTP/RRD_UPDATES"
    # in upper case in its config, XAPI answers lower case
    $r = get('/rbac2/echo?r=5', 'Cookie: session_id=' . session_of('rbac-rw'));
    ok t_cmp($r->{status}, 200, 'two permissions, both held: 200');
    ok t_cmp($r->{delta}, "rrdd=1 unix=$UUID,$SU,$PERMS https=-",
             'two permissions: one list fetched');
    $log->check('two permissions held');

    $r = get('/rbac2/echo?r=6', 'Cookie: session_id=' . session_of('rbac-ro'));
    ok t_cmp($r->{status}, 403, 'two permissions, one missing: 403');
    ok t_cmp($r->{delta}, "rrdd=0 unix=$UUID,$SU,$PERMS https=-",
             'two permissions, one missing: asked (another cache entry than '
             . '/rbac/)');
    $log->check('two permissions, one missing',
                expect => { XAPIFWD0204 => 'error' });
    ok t_cmp(denial_line(), qr{lacks permission http/rrd(?!_)},
             'one missing: the log names http/rrd');

    # no permission required: the denied session is just valid there
    $r = get('/a/echo?r=7', 'Cookie: session_id=' . session_of('rbac-none'));
    ok t_cmp($r->{status}, 200, 'same session, no permission required: 200');
    ok t_cmp($r->{delta}, "rrdd=1 unix=$UUID https=-",
             'no permission required: only session.get_uuid');
    $log->check('no permission required');
}

# --- Basic --------------------------------------------------------------------
{
    my $r = get('/rbac/echo?b=1', 'Authorization: ' . basic('ro', $PW{ro}));
    ok t_cmp($r->{status}, 200, 'Basic, permission held: 200');
    ok t_cmp($r->{delta}, "rrdd=1 unix=- https=$LOGIN,$UUID,$SU,$PERMS,$LOGOUT",
             'Basic, permission held: all over HTTPS, then logout');
    $log->check('Basic, permission held');

    $r = get('/rbac/echo?b=2', 'Authorization: ' . basic('none', $PW{none}));
    ok t_cmp($r->{status}, 403, 'Basic, permission missing: 403');
    ok t_cmp($r->{delta}, "rrdd=0 unix=- https=$LOGIN,$UUID,$SU,$PERMS,$LOGOUT",
             'Basic, permission missing: session logged out all the same');
    $log->check('Basic, permission missing',
                expect => { XAPIFWD0204 => 'error' });
    ok t_cmp(denial_line(), qr/the user lacks permission/,
             'Basic, permission missing: "the user lacks"');

    $r = get('/rbac2/echo?b=3', 'Authorization: ' . basic('root', $PW{root}));
    ok t_cmp($r->{status}, 200, 'Basic, local superuser: 200');
    ok t_cmp($r->{delta}, "rrdd=1 unix=- https=$LOGIN,$UUID,$SU,$LOGOUT",
             'Basic, local superuser: no permission list');
    $log->check('Basic, local superuser');
}

# --- the pool secret is the pool's own credential: everything ---------------
{
    my $r = get('/rbac2/echo?p=1', 'Cookie: pool_secret=' . pool_secret());
    ok t_cmp($r->{status}, 200, 'pool_secret with permissions required: 200');
    ok t_cmp($r->{delta}, 'rrdd=1 unix=- https=-',
             'pool_secret: no XAPI call');
    $log->check('pool_secret, RBAC', expect => { XAPIFWD0201 => 'debug' });
}

# --- default realm ----------------------------------------------------------
{
    my $r = get('/rbac/echo?n=1');
    ok t_cmp($r->{status} . ' ' . ($r->{h}{'www-authenticate'} // ''),
             '401 Basic realm="xapi"',
             'no credential under RBAC: 401, default realm "xapi"');
    $log->check('default realm', expect => { XAPIFWD0200 => 'info' });
}

ok t_cmp(join("\n", $ux->errors, $hx->errors, $d->errors), '',
         'no protocol complaint from the fakes or the daemon');
check_secrets('51_access_rbac');
