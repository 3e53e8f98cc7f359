# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# The XAPI client's limits as an operator sees them:
# - XAPI's unix socket missing: the 503's XAPIFWD0205 line names that
#   socket, not libcurl's placeholder URL ("localhost port 80");
# - XapiForwardXapiTimeout (2 s here) bounds the check; the session.logout
#   of a Basic login is not on the request's clock: it comes after the
#   response, bounded on its own, and also after a check that failed.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(start_task_xapi users check_secrets remember_secret
                             request basic $UUID $LOGIN $LOGOUT);

plan tests => 16, need_module('proxy', 'xapi_forward', 'socache_shmcb');

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
my $x = start_task_xapi();
my %PW = users();

# --- XAPI's unix socket is missing -------------------------------------------
{
    my $s = $x->rpc($LOGIN, 'ro', $PW{ro}, '1.0', 'xf-test');
    remember_secret($s);
    my $r = request('xf_task_nosock', 'GET', '/t/echo?start=1',
                    "Cookie: session_id=$s");
    ok t_cmp($r->{status}, 503, 'XAPI socket missing: 503');
    $log->check('XAPI socket missing', expect => { XAPIFWD0205 => 'error' });
    my($l) = grep { /XAPIFWD0205/ } $log->last_lines;
    ok t_cmp($l // '', qr{unix:/\S+/task-missing-xapi\.sock: },
             'the log line names the configured socket');
    ok t_cmp($l // '', qr/No such file or directory/,
             'the log line says why');
    ok t_cmp(($l // '') =~ /localhost port 80/ ? 'placeholder' : 'none',
             'none', 'not libcurl\'s placeholder URL');
}

# --- a slow session.logout does not hold the response ---------------------------
{
    $x->mode('slowcall:session.logout=6');
    $x->reset;
    my $r = request('xf_task', 'GET', '/t/echo?start=2',
                    'Authorization: ' . basic('root', $PW{root}));
    ok t_cmp($r->{status}, 200, 'Basic, logout slower than the limit: 200');
    # before: the logout had a fresh XapiForwardXapiTimeout of its own
    # inside the check (>= 2 s here); now it is after the response.  The
    # bound is the limit itself, some 20 times what the request needs.
    ok t_cmp($r->{elapsed} < 2 ? 'before the limit' : "$r->{elapsed} s",
             'before the limit',
             'the response does not wait for the logout');
    ok t_cmp($x->calls_once($LOGOUT, 15), "$LOGIN,$UUID,$LOGOUT",
             'the logout comes, after the response');
    ok t_cmp(defined $log->wait_for(qr/XAPIFWD0213.*timed out/, 15)
             ? 'logged' : 'not logged', 'logged',
             'the logout is bounded by XapiForwardXapiTimeout (XAPIFWD0213)');
    $log->check('slow logout', expect => { XAPIFWD0213 => 'debug' });
}

# --- a check that runs out of time still logs the Basic session out ----------
{
    $x->mode('slowcall:session.get_uuid=5');
    $x->reset;
    my $r = request('xf_task', 'GET', '/t/echo?start=3',
                    'Authorization: ' . basic('none', $PW{none}));
    ok t_cmp($r->{status}, 503, 'Basic, check slower than the limit: 503');
    # generous: twice the limit (the check is bounded by one limit)
    ok t_cmp($r->{elapsed} < 4 ? 'bounded' : "$r->{elapsed} s", 'bounded',
             'the 503 comes within the limit (plus margin)');
    ok t_cmp($x->calls_once($LOGOUT, 15), "$LOGIN,$UUID,$LOGOUT",
             'the Basic login is logged out anyway (no session left behind)');
    $log->check('slow check', expect => { XAPIFWD0205 => 'error' });
    $x->mode('normal');
}

ok t_cmp(join("\n", $x->errors, $d->errors), '',
         'no protocol complaint from the fake XAPI or the daemon');
check_secrets('57_access_xapi');
