# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForwardRequirePermission xapi: the permission xapi itself checks,
# derived per request from the method and the longest matching URI prefix
# of xapi's HTTP actions (mod_xapi_forward/core/xf_routes.c), against the fake
# XAPI (t/daemon/fake_xapi.py).  Vhost xf_perm (t/conf/routes.conf.in);
# users: perm-ro (read-only's http permissions), perm-vpa (vm-power-admin:
# + xenops), perm-pa (pool-admin: + rrd, post/put services), in
# t/conf/xapi-users.json.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(checked_request session_of check_secrets $UUID);

my $VH = 'xf_perm';
my $SU = 'session.get_is_local_superuser';
my $PERMS = 'session.get_rbac_permissions';
my $CHECK = "$UUID,$SU,$PERMS";

# [session, method, target, status, permission a 403 names (or the XAPI
# calls of a 200 / 403 when it starts with "session.")]
my @CASES = (
    # read-only: every stats route, GET of services
    ['permro', 'GET', '/rrd_updates?start=1&host=true', 200, $CHECK],
    ['permro', 'GET', '/vm_rrd?uuid=x', 200, $CHECK],
    ['permro', 'GET', '/vm_rrds?uuid=x', 200, $CHECK],
    ['permro', 'GET', '/host_rrd', 200, $CHECK],
    ['permro', 'GET', '/host_rrds', 200, $CHECK],
    ['permro', 'GET', '/sr_rrd?uuid=x', 200, $CHECK],
    ['permro', 'GET', '/services/plugin/x', 200, $CHECK],
    # ... but not an upload: another permission, another cache entry
    ['permro', 'PUT', '/rrd?is_host=true', 403, 'http/rrd'],
    ['permro', 'PUT', '/rrdx', 403, 'http/rrd'],
    ['permro', 'POST', '/services/plugin/x', 403, 'http/post_services'],
    ['permro', 'GET', '/services/xenops/memory/1', 403,
     'http/get_services_xenops'],
    ['permro', 'PUT', '/services/xenops/migrate/vm/1', 403,
     'http/put_services_xenops'],
    # vm-power-admin: xenops, not rrd uploads nor plugin POSTs
    ['permvpa', 'GET', '/services/xenops/memory/1', 200, $CHECK],
    ['permvpa', 'PUT', '/services/xenops/migrate/vm/1', 200, $CHECK],
    ['permvpa', 'PUT', '/rrd', 403, 'http/rrd'],
    ['permvpa', 'POST', '/services/plugin/x', 403, 'http/post_services'],
    ['permvpa', 'GET', '/vm_rrd?uuid=x', 403, 'http/vm_rrd'],
    # pool-admin's list
    ['permpa', 'PUT', '/rrd?is_host=true', 200, $CHECK],
    ['permpa', 'POST', '/services/plugin/x', 200, $CHECK],
    ['permpa', 'PUT', '/services/plugin/x', 200, $CHECK],
    ['permpa', 'PUT', '/services/xenops/migrate/vm/1', 403,
     'http/put_services_xenops'],
    # explicit names still work, alone or with the derived one
    ['permro', 'GET', '/explicit/x', 200, $CHECK],
    ['permvpa', 'GET', '/explicit/x', 200, $CHECK],
    ['permpa', 'GET', '/both/x', 403, 'http/get_root'],
    ['permro', 'GET', '/both/x', 403, 'http/rrd'],
);

plan tests => 3 * @CASES + 2 * 3 + 2,
  need_module('proxy', 'xapi_forward', 'socache_shmcb');

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd));
my $ux = XapiForward::FakeXapi->start('unix', unix => 'xapi.sock',
                                      preauth => 1);

sub req {
    my($who, $method, $target) = @_;
    my @h = ('Cookie: session_id=' . session_of($who));
    push @h, 'Content-Length: 0' if $method ne 'GET' && $method ne 'HEAD';
    return checked_request($d, $ux, undef, $VH, $method, $target, @h);
}

for my $c (@CASES) {
    my($who, $method, $target, $status, $what) = @$c;
    my $name = "$who $method $target";
    my $r = req($who, $method, $target);
    if ($status == 200) {
        ok t_cmp("$r->{status} " . ($r->{delta} =~ /^rrdd=1 / ? 'daemon' : $r->{delta}),
                 '200 daemon', "$name: allowed, forwarded");
        $log->check($name);
    }
    else {
        ok t_cmp("$r->{status} " . ($r->{delta} =~ /^rrdd=0 / ? 'not forwarded' : $r->{delta}),
                 '403 not forwarded', "$name: 403, not forwarded");
        $log->check($name, expect => { XAPIFWD0204 => 'error' },
                    allow => [qr/XAPIFWD0206/]);
        my($line) = grep { /XAPIFWD0204/ } $log->last_lines;
        # a cached denial does not know which permission was missing
        ok t_cmp(($line // '') =~ /lacks permission (\Q$what\E|\(cached\))/ ? 'named' : $line,
                 'named', "$name: the log names $what");
        next;
    }
    ok t_cmp(join(',', @{ $r->{unix_calls} }) =~ /^(?:\Q$what\E)?$/ ? 'ok' : "@{ $r->{unix_calls} }",
             'ok', "$name: XAPI asked for the permissions, or the cache used");
}

# no action of xapi for the method and path: 403 before any credential
for my $m (['HEAD', '/rrd_updates'], ['DELETE', '/services/plugin/x'],
           ['PUT', '/both/x']) {
    my($method, $target) = @$m;
    my $r = req('permpa', $method, $target);
    ok t_cmp("$r->{status} $r->{delta}", '403 rrdd=0 unix=- https=-',
             "$method $target: 403, no XAPI call, not forwarded");
    $log->check("$method $target", expect => { XAPIFWD0301 => 'error' });
}

ok t_cmp(join("\n", $ux->errors, $d->errors), '',
         'no complaint from the fake XAPI or the daemon');
check_secrets('55_access_perm');
