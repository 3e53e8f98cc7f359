# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# The shipped route table: conf.d/xapi-frontdoor.conf (and its TLS vhost,
# conf.d/xapi-frontdoor-vhost.conf), loaded as shipped with only the socket
# paths, xapi's port 80, the certificate and the pool secret rewritten by
# t/TEST.PL.  Every route xapi hands to a daemon reaches that daemon (with
# the permission xapi would check); every other route reaches xapi itself
# (the fake XAPI's plain HTTP port, with --answer-all), without a check
# by httpd.  The TLS vhost serves clients that send no SNI (XenCenter) and
# speak TLS 1.2 only.  t/conf/routes.conf.in.
# The shipped values that carry behaviour are read from the shipped files
# themselves (credentials and permission checks on the daemon routes, the
# xenops tunnel and control-socket settings, the plugin block, the
# catch-all's options, the pool vhost), and where cheap the behaviour too:
# a xenopsd that keeps its control socket costs no worker's wait
# (XapiForwardReplyTimeout 0): a burst of such hand-offs while ordinary
# requests are served, and a late control-socket status goes to the
# watcher (XAPIFWD0150), not to a waiting worker (XAPIFWD0011).
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw(conf_port session_of check_secrets);
use XapiForward::Plugin ();
use XapiForward::Raw qw(conn_exchange parse_responses);
use Time::HiRes qw(time sleep);

# method, target, the daemon that must get it (rrdd, xenopsd) or 'xapi'
my @ROUTES = (
    ['GET', '/rrd_updates?start=1&cf=AVERAGE&host=true&json=true', 'rrdd'],
    ['GET', '/vm_rrd?uuid=x', 'rrdd'],
    ['GET', '/vm_rrds?uuid=x', 'rrdd'],
    ['GET', '/host_rrd', 'rrdd'],
    ['GET', '/host_rrds?json=true', 'rrdd'],
    ['GET', '/sr_rrd?uuid=x', 'rrdd'],
    ['PUT', '/rrd?is_host=true&uuid=x', 'rrdd'],
    ['GET', '/services/xenops/memory/1', 'xenopsd'],
    ['PUT', '/services/xenops/migrate/vm/1', 'xenopsd'],
    ['GET', '/', 'xapi'],
    ['GET', '/export?uuid=x', 'xapi'],
    ['GET', '/export_raw_vdi?vdi=x&format=raw', 'xapi'],
    ['PUT', '/import?sr_id=x', 'xapi'],
    ['GET', '/console?ref=x', 'xapi'],
    ['GET', '/rrd_updatesx', 'xapi'],
    ['POST', '/json', 'xapi'],
    ['GET', '/services/plugin/hello/x', 'plugin'],
);
my @FRONTS = ('plain', 'tls');

# the shipped values checked (see shipped_values() below)
my @SHIPPED = shipped_values();

plan tests => @FRONTS * (2 * @ROUTES + 10) + 1 + 2 + 2 + @SHIPPED + 7,
  need_module('proxy', 'proxy_http', 'xapi_forward', 'socache_shmcb',
              'ssl');

# ---- the shipped files, as shipped -----------------------------------------

# A shipped conf.d file read as httpd would: { top => {DIRECTIVE => [args
# line, ...]}, 'SECTION ARG' => {...}, ... } (sections: <Location>,
# <LocationMatch>, <VirtualHost> (numbered: "VirtualHost#1", ...)).
# Directive names lower-cased; continuation lines joined; comments dropped.
sub read_shipped {
    my $file = shift;
    # the tree's conf.d (t/run-apache-tests.sh copies it next to t/)
    my $path = "$FindBin::Bin/../../conf.d/$file";
    open my $fh, '<', $path or die "$path: $!\n";
    my $text = do { local $/; <$fh> };
    $text =~ s/\\\n//g;
    my(%conf, @stack, %nvhost);
    my $cur = $conf{top} = {};
    for my $line (split /\n/, $text) {
        next if $line =~ /^\s*(#|$)/;
        if ($line =~ /^\s*<\/(\w+)>/) {
            $cur = pop @stack;
            next;
        }
        if ($line =~ /^\s*<(\w+)\s*(.*?)>\s*$/) {
            my($sec, $arg) = ($1, $2);
            $arg =~ s/^"(.*)"$/$1/;
            my $key = $sec eq 'VirtualHost'
              ? 'VirtualHost#' . ++$nvhost{$sec} : "$sec $arg";
            push @stack, $cur;
            $cur = $conf{$key} ||= {};
            next;
        }
        my($name, $args) = $line =~ /^\s*(\S+)\s*(.*?)\s*$/;
        push @{ $cur->{lc $name} }, $args;
    }
    return \%conf;
}

# every directive line in section $sec of $conf, named $name: its args
sub lines_of {
    my($conf, $sec, $name) = @_;
    return @{ ($conf->{$sec} || {})->{lc $name} || [] };
}

# ProxyPass PATH URL [key=value|nocanon ...] of $conf's top level (or
# ProxyPassMatch, $directive): the words after PATH (quotes removed), for
# the PATH given
sub proxypass {
    my($conf, $path, $directive) = @_;
    for my $l (lines_of($conf, 'top', $directive || 'ProxyPass')) {
        my @w = map { s/^"(.*)"$/$1/r } split ' ', $l;
        return @w[1 .. $#w] if $w[0] eq $path;
    }
    return ();
}

# [name, got, expected]: what the shipped files say, each a test
sub shipped_values {
    my $fd = read_shipped('xapi-frontdoor.conf');
    my $vh = read_shipped('xapi-frontdoor-vhost.conf');
    my $st = read_shipped('xapi-frontdoor-settings.conf');
    my $rrdd = 'LocationMatch ^/(rrd_updates|vm_rrds?|host_rrds?|sr_rrd|rrd)(/|$)';
    my $xen = 'Location /services/xenops';
    my $plg = 'Location /services/plugin/';
    my $one = sub { my @l = lines_of(@_); @l == 1 ? $l[0] : join('|', @l) };
    my @catchall = proxypass($fd, '/');
    my %opt = map { /^(\w+)=(.*)$/ ? ($1 => $2) : ($_ => 1) }
      @catchall[1 .. $#catchall];
    # the pool vhost: the <VirtualHost> whose ServerName is pool
    my($pool) = grep { ($vh->{$_}{servername} || [''])->[0] eq '${XF_POOL_SNI}' }
      grep { /^VirtualHost#/ } sort keys %$vh;
    $pool ||= 'no pool vhost';
    return (
        # sessions checked with the local xapi; Basic logins on its TCP
        # port, never on its unix socket (root for every caller)
        ['XAPI for session checks', $one->($fd, 'top', 'XapiForwardXapiURL'),
         'unix:/var/lib/xcp/xapi'],
        ['Basic logins on xapi\'s TCP port',
         $one->($fd, 'top', 'XapiForwardLoginURL'), 'http://127.0.0.1:80'],
        ['the pool secret file', $one->($fd, 'top', 'XapiForwardPoolSecretFile'),
         '/etc/xensource/ptoken'],
        # xcp-rrdd
        ['rrdd routes: socket',
         (proxypass($fd, '^/(rrd_updates|vm_rrds?|host_rrds?|sr_rrd|rrd)(/|$)',
                    'ProxyPassMatch'))[0] // '',
         'unix:/var/lib/xcp/xcp-rrdd.forwarded|xapi://xcp-rrdd/'],
        ['rrdd routes: XapiForwardAuth', $one->($fd, $rrdd, 'XapiForwardAuth'),
         'On'],
        ['rrdd routes: permission', $one->($fd, $rrdd,
                                           'XapiForwardRequirePermission'),
         'xapi'],
        # xenopsd
        ['xenops: socket', (proxypass($fd, '/services/xenops'))[0] // '',
         'unix:/var/lib/xcp/xenopsd.forwarded|xapi://xenopsd/'],
        ['xenops: XapiForwardAuth', $one->($fd, $xen, 'XapiForwardAuth'), 'On'],
        ['xenops: permission', $one->($fd, $xen, 'XapiForwardRequirePermission'),
         'xapi'],
        ['xenops: raw tunnel when relayed', $one->($fd, $xen, 'XapiForwardRelay'),
         'tunnel'],
        ['xenops: no worker waits for the control socket',
         $one->($fd, $xen, 'XapiForwardReplyTimeout'), '0'],
        ['xenops: the watcher keeps it for a migration (1 h)',
         $one->($fd, $xen, 'XapiForwardControlLifetime'), '3600'],
        # custom services
        ['plugin: not proxied to xapi',
         join(' ', proxypass($fd, '/services/plugin/')), '!'],
        ['plugin: XapiForwardPlugin', $one->($fd, $plg, 'XapiForwardPlugin'),
         'On'],
        ['plugin: socket directory', $one->($fd, $plg, 'XapiForwardPluginDir'),
         '/var/lib/xcp/plugin'],
        ['plugin: XapiForwardAuth', $one->($fd, $plg, 'XapiForwardAuth'), 'On'],
        ['plugin: permission', $one->($fd, $plg, 'XapiForwardRequirePermission'),
         'xapi'],
        # everything else: xapi's port 80, as stunnel sends it
        ['catch-all: xapi\'s port 80', $catchall[0] // '',
         'http://127.0.0.1:80/'],
        ['catch-all: nocanon, timeout=300, upgrade=websocket, addressttl',
         join(' ', map { $opt{$_} ? ($_ eq 'nocanon' ? $_ : "$_=$opt{$_}")
                                  : "no $_" } qw(nocanon timeout upgrade addressttl)),
         'nocanon timeout=300 upgrade=websocket addressttl=3600'],
        ['catch-all: the client\'s Host', $one->($fd, 'top', 'ProxyPreserveHost'),
         'On'],
        # what xapi learns from stunnel: the PROXY line, one connection per
        # request, nothing added; consoles over CONNECT let through
        ['catch-all: the PROXY line',
         $one->($fd, 'Proxy "http://127.0.0.1:80/" disablereuse=on',
                'XapiForwardProxyProtocol'), 'On'],
        ['catch-all: no X-Forwarded-* headers',
         $one->($fd, 'Proxy "http://127.0.0.1:80/" disablereuse=on',
                'ProxyAddHeaders'), 'Off'],
        ['catch-all: consoles over CONNECT',
         $one->($fd, 'top', 'XapiForwardConnect'), 'On'],
        # the TLS vhost: the default first (no SNI: XenCenter), then pool
        ['TLS vhost: the first is the default, xapi\'s certificate',
         $one->($vh, 'VirtualHost#1', 'SSLCertificateFile'), '${XF_CERT}'],
        ['settings: xapi\'s certificate is xapi-ssl.pem',
         $one->($st, 'top', 'Define') =~ /(?:^|\|)XF_CERT ([^|\s]+)/ ? $1 : '',
         '/etc/xensource/xapi-ssl.pem'],
        ['TLS vhost: the default serves what its SNI chose (members with '
         . 'verification off, xe -s)',
         $one->($vh, 'VirtualHost#1', 'XapiForwardVHostBySNI'), 'On'],
        ['pool vhost: the pool certificate',
         $one->($vh, $pool, 'SSLCertificateFile'), '${XF_POOL_CERT}'],
        ['settings: the pool certificate is xapi-pool-tls.pem',
         $one->($st, 'top', 'Define') =~ /(?:^|\|)XF_POOL_CERT ([^|\s]+)/ ? $1 : '',
         '/etc/xensource/xapi-pool-tls.pem'],
        ['settings: pool members ask for "pool"',
         $one->($st, 'top', 'Define') =~ /(?:^|\|)XF_POOL_SNI ([^|\s]+)/ ? $1 : '',
         'pool'],
        ['pool vhost: serves its connections whatever their Host',
         $one->($vh, $pool, 'XapiForwardVHostBySNI'), 'On'],
    );
}

for my $v (@SHIPPED) {
    my($name, $got, $want) = @$v;
    ok t_cmp($got, $want, "shipped: $name");
}

my $log = XapiForward::ErrorLog->new;
my $d = XapiForward::Daemon->start(qw(rrdd xenopsd));
my $ux = XapiForward::FakeXapi->start('unix', unix => 'xapi.sock',
                                      preauth => 1);
my $xapi = XapiForward::FakeXapi->start(
    'front', http => conf_port('xf_frontdoor_xapi_port', 'routes.conf'),
    answer_all => 1);
my $TLS_PORT = conf_port('xf_frontdoor_tls_port', 'routes.conf');
my $ROOT = session_of('front');
# the custom service of /services/plugin/hello (the receiver kit's example)
my $hello = XapiForward::Plugin->start('hello');

# one request on a new connection to the plain vhost or, without SNI and
# with TLS 1.2 only, to the shipped TLS vhost
sub send_req {
    my($front, $method, $target, @h) = @_;
    my $host = $front eq 'tls' ? "localhost:$TLS_PORT" : 'localhost';
    push @h, 'Content-Length: 0' if $method eq 'PUT' || $method eq 'POST';
    my $bytes = "$method $target HTTP/1.1\r\nHost: $host\r\n"
      . join('', map { "$_\r\n" } @h) . "Connection: close\r\n\r\n";
    my $r = $front eq 'tls'
      ? conn_exchange('xf_frontdoor', $bytes, port => $TLS_PORT, tls => 1,
                      sni => 0, ssl_version => 'TLSv1_2', timeout => 20)
      : conn_exchange('xf_frontdoor', $bytes, timeout => 20);
    my($resp) = parse_responses($r->{data}, $method);
    $resp ||= { status => 0, h => {}, body => '' };
    $resp->{tls} = $r->{tls};
    return $resp;
}

# where a request went: "rrdd", "xenopsd", "xapi" or "nowhere"
sub where {
    my($before, $reqs_before) = @_;
    my @where;
    for my $n ('rrdd', 'xenopsd') {
        push @where, $n if $d->wait_count($n, $before->{$n} + 1, 0.3)
                           > $before->{$n};
    }
    push @where, 'xapi' if nreq() > $reqs_before;
    return join('+', @where) || 'nowhere';
}

sub nreq { my @r = $xapi->requests; return scalar @r }

sub counts { return { map { ($_ => $d->count($_)) } qw(rrdd xenopsd) } }

for my $front (@FRONTS) {
    for my $r (@ROUTES) {
        my($method, $target, $want) = @$r;
        my $name = "$front: $method $target";
        my($before, $rb) = (counts(), nreq());
        # (the session in the cookie: the suite's access logs record the
        # query string)
        my $resp = send_req($front, $method, $target,
                            "Cookie: session_id=$ROOT");
        my $got = where($before, $rb);
        my $body = $want eq 'xapi' ? qr/^fake_xapi http \Q$method\E /
          : $want eq 'plugin' ? qr/^hello world\nway: http\n/    # the kit's hello
          : qr/^hello from \Q$want\E/;
        # a custom service: neither a daemon nor xapi gets it
        my $where = $want eq 'plugin' ? 'nowhere' : $want;
        ok t_cmp("$resp->{status} $got "
                 . ($resp->{body} =~ $body ? 'answered' : "body $resp->{body}"),
                 "200 $where answered", "$name: reaches $want");
        $log->check($name);
        if ($front eq 'tls' && $r == $ROUTES[0]) {
            ok t_cmp($resp->{tls}, 'TLSv1_2', 'TLS vhost: TLS 1.2, no SNI');
        }
    }
    # what xcp-rrdd got for the last of them: xapi's envelope, the
    # session checked by httpd and not passed on
    my $env = $d->envelope('rrdd') // '';
    ok t_cmp(($env =~ m{^\{"m":"Put","uri":"/rrd","path":"/rrd","query":\{"is_host":"true","uuid":"x"\}}
              ? 'PUT /rrd' : $env)
             . (index($env, $ROOT) < 0 ? ', no session' : ', session!'),
             'PUT /rrd, no session', "$front: xcp-rrdd's envelope for PUT /rrd");

    # the forwarded routes check credentials and xapi's permission; the
    # rest is xapi's business (no check by httpd)
    my($before, $rb) = (counts(), nreq());
    my $resp = send_req($front, 'GET', '/rrd_updates?start=1');
    ok t_cmp("$resp->{status} " . where($before, $rb), '401 nowhere',
             "$front: /rrd_updates without credentials: 401");
    $log->check("$front: 401", expect => { XAPIFWD0200 => 'info' });

    ($before, $rb) = (counts(), nreq());
    $resp = send_req($front, 'PUT', '/rrd?is_host=true',
                     'Cookie: session_id=' . session_of('frontro'));
    ok t_cmp("$resp->{status} " . where($before, $rb), '403 nowhere',
             "$front: PUT /rrd by a read-only session: 403 (http/rrd)");
    $log->check("$front: 403", expect => { XAPIFWD0204 => 'error' });

    ($before, $rb) = (counts(), nreq());
    $resp = send_req($front, 'GET', '/export?uuid=y');
    ok t_cmp("$resp->{status} " . where($before, $rb), '200 xapi',
             "$front: /export without credentials: up to xapi");
    $log->check("$front: export");

    # JSON-RPC through the front door, to xapi
    ($before, $rb) = (counts(), nreq());
    $xapi->reset;
    my $rpc = '{"jsonrpc":"2.0","method":"session.get_uuid","params":["'
      . $ROOT . '","' . $ROOT . '"],"id":7}';
    my $host = $front eq 'tls' ? "localhost:$TLS_PORT" : 'localhost';
    my $bytes = "POST /jsonrpc HTTP/1.1\r\nHost: $host\r\n"
      . "Content-Type: application/json\r\nContent-Length: "
      . length($rpc) . "\r\nConnection: close\r\n\r\n$rpc";
    my $x = $front eq 'tls'
      ? conn_exchange('xf_frontdoor', $bytes, port => $TLS_PORT, tls => 1,
                      sni => 0, timeout => 20)
      : conn_exchange('xf_frontdoor', $bytes, timeout => 20);
    ($resp) = parse_responses($x->{data}, 'POST');
    ok t_cmp(($resp ? $resp->{status} : 0) . ' ' . join(',', $xapi->calls),
             '200 session.get_uuid', "$front: POST /jsonrpc reaches xapi");
    ok t_cmp($resp ? $resp->{body} : '', qr/"result":"[0-9a-f-]{36}"/,
             "$front: JSON-RPC answer relayed");
    $log->check("$front: jsonrpc");
}

# a pool member asks for the pool certificate by name ("pool")
{
    my($before, $rb) = (counts(), nreq());
    my $x = conn_exchange('xf_frontdoor',
                          "GET /host_rrd HTTP/1.1\r\nHost: pool\r\n"
                          . "Cookie: session_id=$ROOT\r\n"
                          . "Connection: close\r\n\r\n",
                          port => $TLS_PORT, tls => 1, sni => 'pool',
                          timeout => 20);
    my($resp) = parse_responses($x->{data});
    ok t_cmp(($resp ? $resp->{status} : 0) . ' ' . where($before, $rb),
             '200 rrdd', 'TLS vhost for SNI "pool": served');
    $log->check('SNI pool');
}

# ---- a xenopsd that keeps its control socket costs no worker -----------------
# Through the shipped xenops route (hand-off on the plain vhost): the
# daemon answers the client at once and keeps the control socket
# (xf_daemon.py ctlhold, as xenopsd's receive_memory does).
{
    my $ctl = sub {
        my $q = shift;
        my $r = send_req('plain', 'GET', "/services/xenops/ctlhold?$q",
                         "Cookie: session_id=$ROOT");
        return "$r->{status} $r->{body}";
    };
    my $n = 20;
    my $held = grep { $ctl->("secs=3&id=burst$_") eq "200 held\n" } 1 .. $n;
    my $served = 0;
    for my $i (1 .. 10) {
        my $r = send_req('plain', 'GET', "/host_rrd?burst=$i",
                         "Cookie: session_id=$ROOT");
        $served++ if $r->{status} == 200 && $r->{body} =~ /^hello from rrdd/;
    }
    ok t_cmp("$held held, $served served", "$n held, 10 served",
             "$n hand-offs whose xenopsd keeps the control socket, "
             . 'ordinary requests served meanwhile');
    my $deadline = time + 30;
    my @closed;
    sleep 0.2 while (@closed = $d->events('xenopsd', qr/^ctlhold id=burst\d+ /))
      < $n && time < $deadline;
    ok t_cmp(scalar(grep { /closed_by=daemon/ } @closed), $n,
             'every control socket stayed open until xenopsd closed it');
    $log->check('xenops control sockets held');

    # a status line 0.5 s after the hand-off: with a worker waiting (the
    # default 1 s) the worker would log it (XAPIFWD0011); with
    # XapiForwardReplyTimeout 0 the child's watcher does (XAPIFWD0150)
    ok t_cmp($ctl->('secs=3&late=0.5&code=404&id=late'), "200 held\n",
             'late control-socket status: the client got its answer');
    $deadline = time + 20;
    sleep 0.2 until $d->events('xenopsd', qr/^ctlhold id=late /)
      || time > $deadline;
    ok t_cmp(scalar(() = $d->events('xenopsd', qr/^ctlhold id=late /)), 1,
             'late control-socket status: xenopsd closed its socket');
    $log->check('late control-socket status: the watcher logs it',
                expect => { XAPIFWD0150 => 'warn' });
    ok t_cmp(scalar(grep { /XAPIFWD0011/ } $log->last_lines), 0,
             'late control-socket status: no worker waited for it');
}

ok t_cmp(join("\n", $ux->errors, $xapi->errors, $d->errors), '',
         'no complaint from the fake XAPI or the daemons');
check_secrets('70_route_table');
