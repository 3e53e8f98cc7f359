# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# task_id tasks, handled as xapi's forwarding handlers handle them: a
# client (Xen Orchestra's getResource/putResource) creates a task, names it
# in the query (task_id) or in a task-id header, and waits for it.  With
# XapiForwardAuth On the module finishes it through XAPI once the request
# is handed off or relayed (progress 1, status success), fails it on a 403
# (RBAC_PERMISSION_DENIED, as Xapi_http.assert_credentials_ok), with the
# caller's session or the Basic login's, after the response.  It leaves it
# alone on a 401 (no session XAPI would take), when the request was not
# forwarded, and without access control.  The fake XAPI (HTTPS, port from
# t/conf/task.conf.in) holds the sessions and the tasks and speaks
# JSON-RPC; the tests read the tasks back with task.get_record.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use JSON::PP ();
use Time::HiRes qw(time sleep);
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(start_task_xapi users check_secrets remember_secret
                             request basic $UUID $LOGIN $LOGOUT);
use XapiForward::Raw qw(port_of);

plan tests => 70, need_module('proxy', 'xapi_forward', 'socache_shmcb', 'ssl');

my $VH = 'xf_task';
my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
my $x = start_task_xapi();
my %PW = users();

my $DONE = 'task.get_status,task.set_progress,task.set_status';

# a fresh session of $user (decisions are cached per credential)
sub login {
    my $user = shift;
    my $s = $x->rpc($LOGIN, $user, $PW{$user}, '1.0', 'xf-test');
    remember_secret($s);
    return $s;
}

sub new_task {
    my $s = shift;
    return $x->rpc('task.create', $s, 'Xapi#getResource /rrd_updates',
                   'xf-test');
}

sub record { $x->rpc('task.get_record', @_) }

# "status progress [error_info...]" of a task
sub summary {
    my $r = record(@_);
    return join ' ', $r->{status}, 0 + $r->{progress}, @{ $r->{error_info} };
}

# one request; returns the response plus {calls}: the fake's JSON-RPC
# methods once $wait (a log tag) has been logged
sub get {
    my($target, $wait, @h) = @_;
    $x->reset;
    my $r = request($VH, 'GET', $target, @h);
    $log->wait_for(qr/$wait/, 10) if $wait;
    $r->{calls} = join ',', $x->calls;
    return $r;
}

# the same over TLS (relayed): curl, which waits for the whole response
sub tls_get {
    my($target, $wait, @h) = @_;
    $x->reset;
    my $url = 'https://localhost:' . port_of('xf_task_tls') . $target;
    open my $fh, '-|', 'curl', '-sk', '--max-time', '20', '-o', '/dev/null',
      '-w', '%{http_code}', (map { ('-H', $_) } @h), $url
      or die "curl: $!\n";
    my $code = do { local $/; <$fh> } // '';
    close $fh;
    $log->wait_for(qr/$wait/, 10) if $wait;
    return { status => 0 + ($code || 0), calls => join ',', $x->calls };
}

sub query_of_envelope {
    my $j = eval { JSON::PP->new->decode($d->envelope('rrdd') // '') } || {};
    return $j;
}

# --- finished after a hand-off (task_id in the query) --------------------
{
    my $s = login('ro');
    my $t = new_task($s);
    $log->mark;
    my $r = get("/t/echo?start=1&task_id=$t", qr/XAPIFWD0220/,
                "Cookie: session_id=$s");
    ok t_cmp($r->{status}, 200, 'hand-off with task_id: 200');
    ok t_cmp($r->{h}{'x-daemon'}, 'rrdd', 'hand-off with task_id: daemon '
             . 'answered');
    ok t_cmp(summary($s, $t), 'success 1',
             'hand-off: task finished (success, progress 1)');
    ok t_cmp($r->{calls}, "$UUID,$DONE",
             'hand-off: checked, then task.get_status, set_progress, '
             . 'set_status with the caller\'s session');
    my $env = query_of_envelope();
    ok t_cmp($env->{query}{task_id}, $t,
             'task_id stays in the envelope\'s query (xapi passes it on)');
    $log->check('hand-off task', expect => { XAPIFWD0220 => 'debug' });
}

# --- a hand-off whose response ends with the connection: the task update
#     (slow here) does not hold the connection open -------------------------
{
    my $s = login('ro');
    my $t = new_task($s);
    # slow, yet within XapiForwardXapiTimeout (2 s)
    $x->mode('slowcall:task.get_status=1.8');
    $x->reset;
    my $r = request($VH, 'GET', "/t/nolen?bytes=1000&task_id=$t",
                    "Cookie: session_id=$s");
    ok t_cmp($r->{status} . ' ' . length($r->{body}), '200 1000',
             'hand-off, body delimited by close: the whole body');
    # httpd releases its descriptor of the handed-off socket before it asks
    # XAPI: the client sees the end when the daemon closes, not 1.8 s later
    ok t_cmp($r->{elapsed} < 1.8 ? 'before the task update' : "$r->{elapsed} s",
             'before the task update',
             'the end of the response does not wait for XAPI');
    ok t_cmp($x->calls_once('task.set_status', 15),
             "$UUID,$DONE", 'the task is finished afterwards');
    ok t_cmp(summary($s, $t), 'success 1', 'close-delimited hand-off: '
             . 'task finished');
    $x->mode('normal');
    $log->check('close-delimited hand-off', expect => { XAPIFWD0220 => 'debug' });
}

# --- the task-id header -----------------------------------------------------
{
    my $s = login('ro');
    my $t = new_task($s);
    my $r = get('/t/echo?start=2', qr/XAPIFWD0220/, "Cookie: session_id=$s",
                "task-id: $t");
    ok t_cmp($r->{status}, 200, 'task-id header: 200');
    ok t_cmp(summary($s, $t), 'success 1', 'task-id header: task finished');
    ok t_cmp(query_of_envelope()->{task}, $t,
             'task-id header: in the envelope\'s "task" field');
    $log->check('task-id header', expect => { XAPIFWD0220 => 'debug' });
}

# --- finished after a relay (TLS, session and task in the query) ---------
{
    my $s = login('ro');
    my $t = new_task($s);
    my $r = tls_get("/t/echo?start=3&session_id=$s&task_id=$t",
                    qr/XAPIFWD0220/);
    ok t_cmp($r->{status}, 200, 'TLS relay with task_id: 200');
    ok t_cmp(summary($s, $t), 'success 1',
             'TLS relay: task finished (success, progress 1)');
    ok t_cmp($r->{calls}, "$UUID,$DONE", 'TLS relay: the same calls');
    $log->check('TLS relay task', expect => { XAPIFWD0220 => 'debug' });
}

# --- failed on a 403 ------------------------------------------------------------
{
    my $s = login('ro');
    my $t = new_task($s);
    my $before = $d->count('rrdd');
    my $r = get("/deny/echo?start=4&task_id=$t", qr/XAPIFWD0220/,
                "Cookie: session_id=$s");
    ok t_cmp($r->{status}, 403, 'permission missing, task named: 403');
    ok t_cmp(summary($s, $t),
             'failure 1 RBAC_PERMISSION_DENIED http/xf_task_test '
             . 'No permission in user session.',
             '403: task failed with xapi\'s RBAC_PERMISSION_DENIED '
             . '[permission, message]');
    ok t_cmp($r->{calls}, "$UUID,session.get_is_local_superuser,"
             . 'session.get_rbac_permissions,task.get_status,'
             . 'task.set_error_info,task.set_progress,task.set_status',
             '403: error info before progress and status');
    ok t_cmp($d->count('rrdd') - $before, 0, '403: daemon not contacted');
    $log->check('403 task', expect => { XAPIFWD0204 => 'error',
                                        XAPIFWD0220 => 'debug' });

    # the same session again: a cached denial fails the task too
    $t = new_task($s);
    $r = get("/deny/echo?start=5&task_id=$t", qr/XAPIFWD0220/,
             "Cookie: session_id=$s");
    ok t_cmp($r->{status}, 403, 'cached denial: 403');
    ok t_cmp($r->{calls}, 'task.get_status,task.set_error_info,'
             . 'task.set_progress,task.set_status',
             'cached denial: no check, the task is failed');
    ok t_cmp(summary($s, $t), 'failure 1 RBAC_PERMISSION_DENIED '
             . '(unknown) No permission in user session.',
             'cached denial: failed, the permission is not known');
    $log->check('cached 403 task', expect => { XAPIFWD0204 => 'error',
                                               XAPIFWD0220 => 'debug' });
}

# --- a 401 leaves the task alone --------------------------------------------
{
    my $s = login('ro');
    my $t = new_task($s);
    $x->expire($s);
    my $r = get("/t/echo?start=6&task_id=$t", qr/XAPIFWD0225/,
                "Cookie: session_id=$s");
    ok t_cmp($r->{status}, 401, 'session expired, task named: 401');
    ok t_cmp($r->{calls}, $UUID, '401: no task call (no session XAPI takes)');
    my $root = login('root');
    ok t_cmp(summary($root, $t), 'pending 0', '401: task still pending');
    $log->check('401 task', expect => { XAPIFWD0203 => 'error',
                                        XAPIFWD0225 => 'debug' });

    remember_secret('pw-wrong-task-4e1a');
    $r = get("/t/echo?start=7&task_id=$t", qr/XAPIFWD0225/,
             'Authorization: ' . basic('ro', 'pw-wrong-task-4e1a'));
    ok t_cmp($r->{status}, 401, 'Basic login refused, task named: 401');
    ok t_cmp($r->{calls}, $LOGIN, 'failed login: no task call, no logout');
    ok t_cmp(summary($root, $t), 'pending 0', 'failed login: task pending');
    $log->check('401 Basic task', expect => { XAPIFWD0203 => 'error',
                                              XAPIFWD0225 => 'debug' });
}

# --- Basic: the login's session, logged out afterwards ---------------------
{
    my $s = login('rw');
    my $t = new_task($s);
    my $basic = 'Authorization: ' . basic('rw', $PW{rw});
    my $r = get("/t/echo?start=8&task_id=$t", qr/XAPIFWD0220/, $basic);
    # the logout comes last, after the task
    my $calls = $x->calls_once($LOGOUT);
    ok t_cmp($r->{status}, 200, 'Basic with task_id: 200');
    ok t_cmp($calls, "$LOGIN,$UUID,$DONE,$LOGOUT",
             'Basic: login, check, task, then logout');
    ok t_cmp(summary($s, $t), 'success 1',
             'Basic: the task is finished with the login\'s session');
    $log->check('Basic task', expect => { XAPIFWD0220 => 'debug' });

    # the decision is cached now: no login for the check, one for the task
    $t = new_task($s);
    $x->reset;
    $r = request($VH, 'GET', "/t/echo?start=9&task_id=$t", $basic);
    $calls = $x->calls_once($LOGOUT);
    ok t_cmp($r->{status}, 200, 'Basic, cached decision, task_id: 200');
    ok t_cmp($calls, "$LOGIN,$DONE,$LOGOUT",
             'cached Basic decision: a login for the task only, then logout');
    ok t_cmp(summary($s, $t), 'success 1', 'cached Basic: task finished');
    $log->check('cached Basic task', expect => { XAPIFWD0220 => 'debug' });
}

# --- a task XAPI does not know: still served, a tag ------------------------
{
    my $s = login('ro');
    my $bogus = 'OpaqueRef:00000000-xf-no-such-task';
    my $r = get("/t/echo?start=10&task_id=$bogus", qr/XAPIFWD0221/,
                "Cookie: session_id=$s");
    ok t_cmp($r->{status}, 200, 'unknown task: the request is served');
    ok t_cmp($r->{h}{'x-daemon'}, 'rrdd', 'unknown task: daemon answered');
    ok t_cmp($r->{calls}, "$UUID,task.get_status",
             'unknown task: one task call, then nothing');
    $log->check('unknown task', expect => { XAPIFWD0221 => 'warn' });
    my($l) = grep { /XAPIFWD0221/ } $log->last_lines;
    ok t_cmp($l // '', qr/HANDLE_INVALID/, 'unknown task: the log says why');
}

# --- another user's task: XAPI refuses, the module does not insist ---------
{
    my $owner = login('ro');
    my $t = new_task($owner);
    my $other = login('none');
    my $r = get("/t/echo?start=11&task_id=$t", qr/XAPIFWD0221/,
                "Cookie: session_id=$other");
    ok t_cmp($r->{status}, 200, 'someone else\'s task: the request is served');
    ok t_cmp(summary($owner, $t), 'pending 0',
             'someone else\'s task: left pending (XAPI refused)');
    $log->check('someone else\'s task', expect => { XAPIFWD0221 => 'warn' });
    my($l) = grep { /XAPIFWD0221/ } $log->last_lines;
    ok t_cmp($l // '', qr/task\.set_progress failed: RBAC_PERMISSION_DENIED/,
             'someone else\'s task: XAPI\'s refusal logged');
}

# --- a task that is no longer pending is left as it is ---------------------
{
    my $s = login('ro');
    my $t = new_task($s);
    $x->rpc('task.set_status', $s, $t, 'cancelled');
    my $r = get("/t/echo?start=12&task_id=$t", qr/XAPIFWD0224/,
                "Cookie: session_id=$s");
    ok t_cmp($r->{status}, 200, 'cancelled task: served');
    ok t_cmp($r->{calls}, "$UUID,task.get_status",
             'cancelled task: only its status is read');
    ok t_cmp(summary($s, $t), 'cancelled 0', 'cancelled task: still cancelled');
    $log->check('cancelled task', expect => { XAPIFWD0224 => 'debug' });
}

# --- not forwarded (the daemon's socket is missing) ------------------------
{
    my $s = login('ro');
    my $t = new_task($s);
    my $r = get("/gone/echo?start=13&task_id=$t", qr/XAPIFWD0223/,
                "Cookie: session_id=$s");
    ok t_cmp($r->{status}, 503, 'daemon missing, task named: 503');
    ok t_cmp($r->{calls}, $UUID, 'not forwarded: no task call');
    ok t_cmp(summary($s, $t), 'pending 0', 'not forwarded: task pending');
    $log->check('not forwarded', expect => { XAPIFWD0004 => 'error',
                                             XAPIFWD0223 => 'debug' });
}

# --- no access control: the module has no session, nothing happens --------
{
    my $s = login('ro');
    my $t = new_task($s);
    my $before = $d->count('rrdd');
    my $r = get("/open/echo?start=14&task_id=$t", undef,
                "Cookie: session_id=$s");
    ok t_cmp($r->{status}, 200, 'no access control, task named: 200');
    $d->wait_count('rrdd', $before + 1, 5);
    $log->wait_for(qr/XAPIFWD0010/, 5);
    ok t_cmp(join(',', $x->calls), '', 'no access control: no XAPI call');
    ok t_cmp(summary($s, $t), 'pending 0',
             'no access control: task left to the client');
    $log->check('no access control');
}

# --- several requests on one keep-alive connection (relay): each finishes
#     its own task --------------------------------------------------------------
{
    my $s = login('ro');
    my @t = map { new_task($s) } 1 .. 2;
    $x->reset;
    my $port = port_of('xf_task_tls');
    my @urls = map { "https://localhost:$port/t/echo?start=15&task_id=$_" } @t;
    open my $fh, '-|', 'curl', '-sk', '--max-time', '20', '-o', '/dev/null',
      '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\n',
      '-H', "Cookie: session_id=$s", @urls
      or die "curl: $!\n";
    my @out = <$fh>;
    close $fh;
    chomp @out;
    ok t_cmp(join(' ', @out), '200 1 200 0',
             'keep-alive TLS: two 200s on one connection');
    my $deadline = time + 10;
    while (grep({ record($s, $_)->{status} eq 'pending' } @t)
           && time < $deadline) {
        sleep 0.05;
    }
    ok t_cmp(join(' ', map { summary($s, $_) } @t), 'success 1 success 1',
             'keep-alive TLS: both tasks finished');
    $log->check('keep-alive tasks', allow => [qr/XAPIFWD0220/]);
}

ok t_cmp(join("\n", $x->errors, $d->errors), '',
         'no protocol complaint from the fake XAPI or the daemon');
check_secrets('56_access_task');
