# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Client certificates as xapi's stunnel takes them, with the shipped
# conf.d/xapi-frontdoor-vhost.conf and conf.d/xapi-frontdoor.conf (the
# t/conf/*.gen copies the suite makes of them) in a front end of its own
# that defines XF_CLIENT_CERT and its variables, as the lines made from
# xapi.conf do, beside the reference: Debian's stunnel4 configured as
# ocaml/xapi/xapi_stunnel_server.ml writes xapi.conf with client
# certificates on (XapiForward::Stunnel: verifyChain, CAfile, checkHost,
# connect = the clientcert socket, redirect = port 80).
#
# The suite's CA (XapiForward::TestCA) makes the client certificates:
# right name, wrong name, untrusted CA, expired; and none. Two more are
# made here (IO::Socket::SSL::Utils): one from a CA of the bundle that
# expired (parity), one for TLS servers only (the documented difference:
# httpd ends the handshake, stunnel redirects).
# - the catch-all: a verified client reaches xapi's clientcert socket,
#   every other client port 80, in httpd as in stunnel;
# - /services/xenops (XapiForwardAuth On): a verified client without other
#   credentials is checked with a session of login_with_password("", "")
#   on the clientcert socket, logged out after the response; the decision
#   is cached for every holder alike; the others get 401 as before.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::SSL ();
use XapiForward::Daemon;
use XapiForward::ErrorLog;
use XapiForward::FakeXapi qw($UUID $LOGIN $LOGOUT);
use XapiForward::FrontEnd qw(free_port module_conf spew slurp instance_dir);
use XapiForward::Raw ();
use XapiForward::Stunnel;
use XapiForward::TestCA;

my @CASES = qw(right wrong untrusted expired none oldca);

my $why = XapiForward::Stunnel->available;
plan tests => 2 * @CASES + 2 + 1 + 1 + 2 + 9 + 1,
  need { 'stunnel4 (Debian) installed' => !$why },
  need_module('proxy', 'xapi_forward', 'ssl', 'rewrite');

require IO::Socket::SSL::Utils;
IO::Socket::SSL::Utils->import(qw(CERT_create PEM_cert2file PEM_key2file
                                  PEM_file2cert PEM_file2key));

my $vars = Apache::Test::vars();
my $dir = instance_dir('pki');

# --- the PKI: the suite's CA (XapiForward::TestCA), and two more -----------------
my $ca = XapiForward::TestCA->suite;
my $NAME = $ca->client_name;
my %CLIENT = map { my $c = $ca->client($_); ($_ => [$c->{cert}, $c->{key}]) }
             qw(right wrong untrusted expired);
$CLIENT{none} = undef;
my $DAY = 86400;
# a CA in the bundle that expired, and a certificate it issued (made here:
# `openssl req/x509` in OpenSSL 3.0 cannot date a CA in the past)
my($oldca, $oldcakey) =
  CERT_create(CA => 1, subject => { CN => 'xf test old CA' },
              not_before => time - 20 * $DAY, not_after => time - $DAY);
sub leaf {
    my($tag, $issuer, %o) = @_;
    my($c, $k) = CERT_create(subject => { CN => $NAME },
                             subjectAltNames => [[DNS => $NAME]],
                             purpose => 'client', issuer => $issuer, %o);
    PEM_cert2file($c, "$dir/$tag.crt");
    PEM_key2file($k, "$dir/$tag.key");
    return ["$dir/$tag.crt", "$dir/$tag.key"];
}
$CLIENT{oldca} = leaf('oldca', [$oldca, $oldcakey]);
# trusted and named, but for TLS servers only (extendedKeyUsage serverAuth)
$CLIENT{purpose} = leaf('purpose', [PEM_file2cert($ca->ca_file),
                                    PEM_file2key($ca->path('ca.key'))],
                        purpose => 'server');
PEM_cert2file($oldca, "$dir/oldca.pem");
spew("$dir/ca-bundle.pem", slurp($ca->bundle) . slurp("$dir/oldca.pem"));

# --- xapi: port 80, the clientcert socket, JSON-RPC ---------------------------
# (one fake for the clientcert socket: xapi serves the catch-all and
# JSON-RPC there alike, and the module logs in on it)
my $port80 = free_port();
my $x = XapiForward::FakeXapi->start('cc', unix => 'xapi.sock', preauth => 1,
                                     clientcert => 'xcc.sock',
                                     http => $port80, answer_all => 1);
my $ccsock = $x->clientcert_sock;
my $d = XapiForward::Daemon->start(qw(xenopsd rrdd));

# --- httpd with the shipped files ------------------------------------------------
my $tls = free_port();
my $fe = XapiForward::FrontEnd->start('clientcert', module_conf(
    qw(proxy proxy_http ssl rewrite socache_shmcb)) . <<"EOC");
LogLevel info ssl:info xapi_forward:debug
# as Debian's mods-available/ssl.conf: TLS sessions can be resumed
SSLSessionCache shmcb:$dir/ssl_scache(512000)
Define xf_frontdoor_xapi_port $port80
Define xf_frontdoor_tls_port $tls
Define XF_CLIENT_CERT
Define XF_CLIENT_CERT_NAME $NAME
Define XF_CLIENT_CERT_CA $dir/ca-bundle.pem
Define XF_CLIENT_CERT_SOCKET $ccsock
Include "$vars->{t_conf}/xapi-frontdoor-vhost.conf.gen"
EOC
my $log = XapiForward::ErrorLog->new(file => $fe->dir . '/error_log');

# --- the reference: stunnel as xapi configures it -------------------------------
my $st = XapiForward::Stunnel->start('clientcert', xapi_port => $port80,
    clientcert => { socket => $ccsock, ca => "$dir/ca-bundle.pem",
                    name => $NAME });
my $sport = $st->port;

# One request over TLS with the case's certificate: the parsed response
# (status 0 when the connection ended without one; {error} says why).
sub tls_request {
    my($port, $case, $method, $target, @ssl) = @_;
    my $c = $CLIENT{$case};
    my $s = IO::Socket::SSL->new(
        PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10,
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
        SSL_hostname => 'localhost',
        ($c ? (SSL_cert_file => $c->[0], SSL_key_file => $c->[1]) : ()),
        @ssl);
    return { status => 0, body => '', h => {},
             error => "handshake: $IO::Socket::SSL::SSL_ERROR" } unless $s;
    print $s "$method $target HTTP/1.1\r\nHost: localhost\r\n"
      . "Content-Length: 0\r\nConnection: close\r\n\r\n";
    my $data = '';
    while (1) {
        my $n = sysread $s, $data, 65536, length $data;
        last unless $n;
    }
    my $err = $IO::Socket::SSL::SSL_ERROR;
    my $reused = $s->get_session_reused ? 1 : 0;
    close $s;
    my($r) = XapiForward::Raw::parse_responses($data, $method);
    $r ||= { status => 0, body => '', h => {},
             error => "no response: " . ($err || 'EOF') };
    $r->{reused} = $reused;
    return $r;
}

# where the catch-all went: "clientcert", "port80", or what happened
sub where {
    my $r = shift;
    return $r->{error} if !$r->{status};
    return "status $r->{status}" if $r->{status} != 200;
    return 'clientcert' if $r->{body} =~ /^fake_xapi clientcert GET /;
    return 'port80' if $r->{body} =~ /^fake_xapi http GET /;
    return "elsewhere: $r->{body}";
}

my %WANT = (right => 'clientcert', wrong => 'port80', untrusted => 'port80',
            expired => 'port80', none => 'port80', oldca => 'port80');

# --- the catch-all: httpd and stunnel side by side -------------------------------
for my $case (@CASES) {
    my $target = "/cc-probe/$case?q=a%20b";
    my $s = tls_request($sport, $case, 'GET', $target);
    my $h = tls_request($tls, $case, 'GET', $target);
    ok t_cmp(where($s), $WANT{$case}, "stunnel, $case certificate: catch-all");
    ok t_cmp(where($h), where($s),
             "httpd, $case certificate: the catch-all goes where stunnel "
             . "sends it");
}
# the clientcert socket gets stunnel's PROXY line too, naming the client
{
    my @line;
    for my $p ($sport, $tls) {
        my $r = tls_request($p, 'right', 'GET', '/cc-probe/line');
        (my $l = $r->{h}{'x-proxy-line'} // 'none') =~ s/ \d+ (\d+)$/ CPORT $1/;
        push @line, $l;
    }
    ok t_cmp(join('; ', @line),
             "PROXY TCP6 ::ffff:127.0.0.1 ::ffff:127.0.0.1 CPORT $sport; "
             . "PROXY TCP6 ::ffff:127.0.0.1 ::ffff:127.0.0.1 CPORT $tls",
             'right certificate: the clientcert socket\'s connection starts '
             . 'with the PROXY line, through stunnel and through httpd');
}
{
    # (%2F in a path: httpd's AllowEncodedSlashes Off answers 404 first)
    my $t = '/cc-probe/a%20b/%C3%A9%3F?q=a%20b&r=%2F%3F';
    my $h = tls_request($tls, 'right', 'GET', $t);
    ok t_cmp($h->{body}, "fake_xapi clientcert GET $t\n",
             'clientcert socket: the target as the client sent it');
}
# A resumed TLS session (ticket) keeps its verdict: the module checks what
# the session keeps (the verify result, the certificates), each request.
{
    my @got;
    for my $case (qw(right expired)) {
        # one client context: its session cache holds the ticket
        my $ctx = IO::Socket::SSL::SSL_Context->new(
            SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
            SSL_cert_file => $CLIENT{$case}[0],
            SSL_key_file => $CLIENT{$case}[1], SSL_session_cache_size => 4);
        my @r = map {
            tls_request($tls, $case, 'GET', "/cc-probe/resume-$case",
                        SSL_reuse_ctx => $ctx)
        } 1 .. 2;
        push @got, "$case: " . where($r[0]) . ', resumed '
          . ($r[1]{reused} ? 'yes' : 'no') . ' ' . where($r[1]);
    }
    ok t_cmp(join('; ', @got),
             'right: clientcert, resumed yes clientcert; '
             . 'expired: port80, resumed yes port80',
             'a resumed session: the same verdict');
}

# What differs: a certificate of the trusted CA that fails another of
# OpenSSL's checks than the issuer and the dates (here the purpose; also a
# bad signature, a CA:FALSE issuer, a chain deeper than SSLVerifyDepth):
# stunnel sends it to port 80, mod_ssl ends the handshake.
{
    my $s = tls_request($sport, 'purpose', 'GET', '/cc-probe/purpose');
    my $h = tls_request($tls, 'purpose', 'GET', '/cc-probe/purpose');
    ok t_cmp(where($s), 'port80',
             'stunnel, a server-only certificate: port 80');
    ok t_cmp($h->{status} ? where($h) : 'no response', 'no response',
             'httpd, a server-only certificate: the handshake fails '
             . '(documented difference)');
}
$log->check('catch-all cases', expect => { XAPIFWD0873 => 'debug',
                                           XAPIFWD0874 => 'debug',
                                           XAPIFWD0875 => 'debug' },
            allow => [qr/AH02009|AH02008|AH02039|AH02276|AH02261|AH02008/,
                      qr/SSL Library Error|AH02039|AH02009/]);

# --- /services/xenops with XapiForwardAuth On ------------------------------------
{
    $x->reset;
    my $before = $d->count('xenopsd');
    my $r = tls_request($tls, 'right', 'POST', '/services/xenops/migrate');
    ok t_cmp($r->{status} =~ /^(401|403)$/ ? $r->{status} : 'let through',
             'let through', 'right name: POST /services/xenops let through');
    $d->wait_count('xenopsd', $before + 1, 5);
    ok t_cmp($d->count('xenopsd') - $before, 1, 'xenopsd got it');
    # the logout comes after the response
    my $deadline = time + 10;
    sleep 0.05 until grep({ $_ eq $LOGOUT } $x->clientcert_calls)
      || time > $deadline;
    ok t_cmp(join(',', $x->clientcert_calls),
             "$LOGIN empty,$UUID,session.get_is_local_superuser,"
             . "session.get_rbac_permissions,$LOGOUT",
             'login_with_password("", "") on the clientcert socket, the '
             . 'checks with that session there, then a logout');
    ok t_cmp(join(',', grep { $_ eq $LOGIN } $x->calls), $LOGIN,
             'no other login anywhere');

    # cached: one decision for every holder of a verified certificate
    $x->reset;
    $r = tls_request($tls, 'right', 'PUT', '/services/xenops/migrate');
    ok t_cmp($r->{status} =~ /^(401|403)$/ ? $r->{status} : 'let through',
             'let through', 'right name: PUT /services/xenops let through');
    $r = tls_request($tls, 'right', 'POST', '/services/xenops/migrate');
    ok t_cmp(scalar(() = grep { /^\Q$LOGIN\E / } $x->clientcert_calls), 1,
             'the PUT logged in, the second POST took the cached decision');

    # a permission the client-cert role does not hold
    $r = tls_request($tls, 'right', 'GET', '/services/xenops/memory');
    ok t_cmp($r->{status}, 403,
             'right name: GET /services/xenops (http/get_services_xenops, '
             . 'not the role\'s): 403');

    my @other;
    for my $case (qw(wrong untrusted expired none oldca)) {
        my $s = tls_request($tls, $case, 'POST', '/services/xenops/migrate');
        push @other, "$case=$s->{status}";
    }
    ok t_cmp(join(' ', @other),
             'wrong=401 untrusted=401 expired=401 none=401 oldca=401',
             'other certificates: 401 without credentials, as before');

    # a session still comes first: the certificate stands in only for none
    $x->reset;
    my $s = tls_request($tls, 'right', 'POST',
                        '/services/xenops/migrate?session_id=OpaqueRef:bogus');
    ok t_cmp($s->{status}, 401, 'right name with an invalid session: 401');
    XapiForward::FakeXapi::remember_secret('OpaqueRef:bogus');
}
$log->check('xenops cases', expect => { XAPIFWD0876 => 'debug',
                                        XAPIFWD0204 => 'error',
                                        XAPIFWD0200 => 'info',
                                        XAPIFWD0203 => 'error' },
            allow => [qr/AH02009|AH02008|AH02039|AH02276|AH02261/]);
