# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::FakeXapi - start and drive t/daemon/fake_xapi.py (a fake
# XAPI: JSON-RPC over a unix socket and HTTPS) from the access tests, and
# the helpers those tests share.
#
#   my $x = XapiForward::FakeXapi->start('unix', unix => 'xapi.sock',
#                                        preauth => 1);
#   my $h = XapiForward::FakeXapi->start('https',
#                                        https => conf_port('xf_fake_https_port'));
#   my $f = XapiForward::FakeXapi->start('front', http => PORT,
#                                        answer_all => 1);   # xapi's port 80
#   my $c = XapiForward::FakeXapi->start('cc', unix => 'xapi.sock',
#                                        clientcert => 'xapi-cc.sock');
#                          # + xapi's /var/lib/xcp/xapi-clientcert: a login
#                          # there is a session of the client-cert role
#   $c->clientcert_sock;   # its path
#   $c->clientcert_calls;  # the calls over it, a login as
#                          # "session.login_with_password empty|given"
#   $f->requests;          # "METHOD TARGET" of what was not JSON-RPC
#   $x->count;             # JSON-RPC calls since start (or reset)
#   $x->calls;             # their method names, in order
#   $x->reset;             # forget the calls
#   $x->calls_once('session.logout');  # "m1,m2,..." once that method was
#                          # called (at most 10 s): work after a response
#   $x->mode('down');      # normal down slow:S garbage html500 slave:ADDR
#   $x->expire($ref);      # the session is now SESSION_INVALID
#   $x->rpc('task.create', $s, 'l', 'd');  # a JSON-RPC call of our own:
#                          # its result, or dies with "NAME [params]"
#   $x->stop;              # also done at exit (XapiForward::Proc)
#   $x->kill_hard;         # SIGKILL, calls in flight die with it
#
# Each instance NAME of a test gets the state dir
# t/logs/fake_xapi/<test>/NAME; a unix socket NAME is <xf_sockdir>/NAME.
# Users, passwords and fixed sessions come from t/conf/xapi-users.json, the
# pool secret from t/conf/ptoken (both copied next to the generated
# configuration by t/run-apache-tests.sh).
#
# Secrets: every password, session ref and pool secret of the config, plus
# whatever a test registers with remember_secret() (wrong passwords, bogus
# refs), is looked for in the httpd logs by check_secrets() (one test).
#
# Client side: request($vhost, $method, $target, @headers) sends one raw
# HTTP/1.1 request and returns the parsed response (status, h, body, ...).
package XapiForward::FakeXapi;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use File::Basename ();
use File::Path ();
use JSON::PP ();
use MIME::Base64 ();
use Time::HiRes qw(time sleep);
use Apache::Test ();
use Apache::TestUtil qw(t_cmp);
use XapiForward::Proc qw(spawn stop_at_exit);
our @ISA = ('XapiForward::Proc');
use XapiForward::Raw qw(exchange conn_exchange host_of parse_responses);

our @EXPORT_OK = qw(conf_port users sessions pool_secret remember_secret
                    check_secrets request basic session_of start_pair
                    checked_get start_task_xapi checked_request
                    $UUID $LOGIN $LOGOUT);

# the XAPI calls the access checker makes, as the fake XAPI logs them
our $UUID   = 'session.get_uuid';
our $LOGIN  = 'session.login_with_password';
our $LOGOUT = 'session.logout';

sub vars { Apache::Test::vars() }

sub conf_file {
    my $name = shift;
    my $f = vars()->{t_conf} . "/$name";
    die "$f is missing: t/run-apache-tests.sh must copy t/conf/$name next "
      . "to the generated configuration\n" unless -e $f;
    return $f;
}

sub slurp {
    my $f = shift;
    open my $fh, '<:raw', $f or return undef;
    local $/;
    my $s = <$fh>;
    return $s;
}

sub spew {
    my($f, $s, $append) = @_;
    my $tmp = $append ? $f : "$f.tmp$$";
    open my $fh, ($append ? '>>' : '>'), $tmp or die "$tmp: $!\n";
    print $fh $s;
    close $fh or die "$tmp: $!\n";
    rename $tmp, $f or die "rename $tmp: $!\n" unless $append;
}

# a port reserved in t/conf/access.conf.in (or t/conf/$file.in) by
# "Define NAME @NextAvailablePort@"
sub conf_port {
    my($name, $file) = @_;
    $file ||= 'access.conf';
    my $conf = slurp(vars()->{t_conf} . "/$file")
      or die "no generated t/conf/$file\n";
    $conf =~ /^\s*Define\s+\Q$name\E\s+(\d+)\s*$/m
      or die "no 'Define $name <port>' in t/conf/$file\n";
    return $1;
}

my $CONFIG;
sub config {
    $CONFIG ||= JSON::PP->new->decode(slurp(conf_file('xapi-users.json')));
    return $CONFIG;
}

# user => password
sub users {
    my $u = config()->{users};
    return map { ($_ => $u->{$_}{password}) } keys %$u;
}

# the fixed session refs of the config, by name: 'cookie' for
# OpaqueRef:xfs-cookie-5b2e91c0
sub session_of {
    my $name = shift;
    my @r = grep { /^OpaqueRef:xfs-\Q$name\E-[0-9a-f]+$/ }
            keys %{ config()->{sessions} };
    die "no fixed session '$name' in t/conf/xapi-users.json\n" unless @r == 1;
    return $r[0];
}

sub sessions { keys %{ config()->{sessions} } }

sub pool_secret {
    my $s = slurp(conf_file('ptoken'));
    $s =~ s/[\r\n]+\z//;
    return $s;
}

# "Authorization" value for user:pass
sub basic {
    my($u, $p) = @_;
    return 'Basic ' . MIME::Base64::encode_base64("$u:$p", '');
}

# --- the fake ------------------------------------------------------------

sub start {
    my($class, $name, %o) = @_;
    my $v = vars();
    (my $test = File::Basename::basename($0)) =~ s/\.t$//;
    my $dir = "$v->{t_logs}/fake_xapi/$test/$name";
    File::Path::rmtree($dir);
    File::Path::mkpath($dir);
    my $script = "$v->{t_dir}/daemon/fake_xapi.py";
    my @args = ('--state-dir', $dir, '--config', conf_file('xapi-users.json'));
    my $sock;
    if ($o{unix}) {
        $sock = "$v->{xf_sockdir}/$o{unix}";
        push @args, '--unix', $sock;
        push @args, '--unix-preauth' if $o{preauth};
    }
    if (defined $o{https}) {
        my $tls = $v->{xf_tls_dir};
        die "no TLS certificate in $tls (openssl missing?)\n"
          unless -s "$tls/cert.pem";
        push @args, '--https', $o{https}, '--cert', "$tls/cert.pem",
          '--key', "$tls/key.pem";
    }
    my $ccsock;
    if ($o{clientcert}) {
        $ccsock = "$v->{xf_sockdir}/$o{clientcert}";
        push @args, '--clientcert', $ccsock;
    }
    push @args, '--login-fail-delay', $o{fail_delay} if $o{fail_delay};
    push @args, '--http', $o{http} if defined $o{http};
    push @args, '--answer-all' if $o{answer_all};

    my $pid = spawn("$dir/fake.out", "$dir/fake.err", 'python3', $script,
                    @args);
    my $self = bless { pid => $pid, dir => $dir, name => $name,
                       sock => $sock, ccsock => $ccsock, owner => $$ },
                $class;
    stop_at_exit($self);
    $self->wait_up("fake_xapi.py ($name)", sub { -s "$dir/ready" },
                   sub { slurp("$dir/fake.err") });
    $self->{port} = 0 + (slurp("$dir/https_port") || 0) if defined $o{https};
    return $self;
}

sub dir  { $_[0]{dir} }
sub clientcert_sock { $_[0]{ccsock} }
sub port { $_[0]{port} }
sub sock { $_[0]{sock} }

sub count {
    my $n = slurp("$_[0]{dir}/count");
    return $n ? 0 + $n : 0;
}

# the requests other than POST /jsonrpc it answered ("METHOD TARGET"),
# with answer_all => 1
sub requests {
    my $s = slurp("$_[0]{dir}/requests.log");
    return defined $s ? split /\n/, $s : ();
}

sub calls {
    my $s = slurp("$_[0]{dir}/calls.log");
    return defined $s ? split /\n/, $s : ();
}

# the calls, joined with ',', once $method is among them (or after
# $timeout seconds, default 10): for what the module does after a response
sub calls_once {
    my($self, $method, $timeout) = @_;
    my $deadline = time + ($timeout || 10);
    while (1) {
        my $calls = join ',', $self->calls;
        return $calls if $calls =~ /(?:^|,)\Q$method\E(?:,|$)/
          || time > $deadline;
        sleep 0.05;
    }
}

# lines of errors.log: protocol complaints (bad Content-Type, bad JSON-RPC)
sub errors {
    my $s = slurp("$_[0]{dir}/errors.log");
    return defined $s ? split /\n/, $s : ();
}

# the calls over the clientcert socket (clientcert => NAME), in order
sub clientcert_calls {
    my $s = slurp("$_[0]{dir}/clientcert.log");
    return defined $s ? split /\n/, $s : ();
}

sub reset {
    my $self = shift;
    unlink "$self->{dir}/count", "$self->{dir}/calls.log",
      "$self->{dir}/clientcert.log";
    return $self;
}

sub mode {
    my($self, $mode) = @_;
    spew("$self->{dir}/mode", "$mode\n");
    return $self;
}

sub expire {
    my($self, @refs) = @_;
    spew("$self->{dir}/expired", join('', map { "$_\n" } @refs), 1);
    return $self;
}

# One JSON-RPC 2.0 call to this fake, as a client of XAPI would make it
# (over its unix socket, else over HTTPS). Returns the result; dies with
# "NAME [param, ...]" on an XAPI error.
sub rpc {
    my($self, $method, @params) = @_;
    my $json = JSON::PP->new->canonical;
    my $body = $json->encode({ jsonrpc => '2.0', method => $method,
                               params => \@params, id => 1 });
    my $s;
    if ($self->{sock}) {
        require IO::Socket::UNIX;
        $s = IO::Socket::UNIX->new(Peer => $self->{sock})
          or die "connect $self->{sock}: $!\n";
    }
    else {
        require IO::Socket::SSL;
        $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port},
                                  SSL_verify_mode => 0, Timeout => 10)
          or die "TLS connect: $IO::Socket::SSL::SSL_ERROR\n";
    }
    print $s "POST /jsonrpc HTTP/1.1\r\nHost: localhost\r\n"
      . "Content-Type: application/json\r\nContent-Length: "
      . length($body) . "\r\nConnection: close\r\n\r\n$body";
    my $resp = do { local $/; <$s> } // '';
    close $s;
    my(undef, $rbody) = split /\r\n\r\n/, $resp, 2;
    my $r = eval { $json->decode($rbody // '') }
      or die "$method: no JSON-RPC answer: $resp\n";
    die join(' ', $r->{error}{message}, @{ $r->{error}{data} || [] }) . "\n"
      if $r->{error};
    return $r->{result};
}

# --- secrets -------------------------------------------------------------

sub secrets_file { vars()->{t_logs} . '/fake_xapi/secrets.txt' }

# a credential a test sends that is not in the config (wrong password,
# bogus session): check_secrets() looks for it too, in later tests as well
sub remember_secret {
    File::Path::mkpath(vars()->{t_logs} . '/fake_xapi');
    spew(secrets_file(), join('', map { "$_\n" } @_), 1);
}

# [label, needle]: what must never be in a log
sub needles {
    my @n;
    my %u = users();
    for my $user (sort keys %u) {
        push @n, ["password of $user", $u{$user}],
                 ["Basic token of $user",
                  MIME::Base64::encode_base64("$user:$u{$user}", '')];
    }
    # the distinctive tail of a ref also catches "OpaqueRef%3A..."
    for my $ref (sort(sessions())) {
        (my $tail = $ref) =~ s/^OpaqueRef://;
        push @n, ["session $ref", $tail];
    }
    push @n, ['pool secret', pool_secret()];
    my $extra = slurp(secrets_file()) // '';
    for my $s (grep { length } split /\n/, $extra) {
        (my $tail = $s) =~ s/^OpaqueRef://;
        push @n, ["test secret $s", $tail];
    }
    return @n;
}

# One test: no secret in error_log or an access log, at any level.
sub check_secrets {
    my $name = shift || 'secrets';
    my $logs = vars()->{t_logs};
    # error_log, access_log, xf_*access_log, and those of earlier passes
    # (t/run-apache-tests.sh renames them to NAME.<mpm>)
    opendir my $dh, $logs or die "$logs: $!\n";
    my @files = sort grep { -f } map { "$logs/$_" }
                grep { /_log(?:\.\w+)?$/ } readdir $dh;
    closedir $dh;
    my @hits;
    for my $f (@files) {
        open my $fh, '<:raw', $f or next;
        while (my $l = <$fh>) {
            my $ln = $.;   # needles() reads files: $. is not ours then
            for my $n (needles()) {
                next if index($l, $n->[1]) < 0;
                chomp $l;
                push @hits, "$n->[0] in " . File::Basename::basename($f)
                  . " line $ln: $l";
            }
        }
    }
    my $names = join ', ', map { File::Basename::basename($_) } @files;
    return Apache::Test::ok(t_cmp(join("\n", @hits), '',
                                  "$name: no session id, password or pool "
                                  . "secret in $names"));
}

# --- client ---------------------------------------------------------------

# One request on its own connection: request('xf_access', 'GET', '/a/echo',
# 'Cookie: x=y', ...).  Vhosts named *tls* are spoken to over TLS.  Returns
# the first parsed response (status, h, body, ...) plus lport (our local
# port) and elapsed.
sub request {
    my($vh, $method, $target, @h) = @_;
    my $host = host_of($vh);
    my $bytes = "$method $target HTTP/1.1\r\nHost: $host\r\n"
      . join('', map { "$_\r\n" } @h) . "Connection: close\r\n\r\n";
    my $r = $vh =~ /tls/ ? conn_exchange($vh, $bytes, timeout => 20)
                         : exchange($vh, $bytes, timeout => 20);
    my($resp) = parse_responses($r->{data}, $method);
    $resp ||= { status => 0, h => {}, body => '', headers => [] };
    $resp->{lport} = $r->{lport};
    $resp->{elapsed} = $r->{elapsed};
    $resp->{host} = $host;
    return $resp;
}

# The two fakes every access test uses: one on xapi's unix socket (which,
# like real xapi, lets any login through), one over HTTPS.
sub start_pair {
    return (__PACKAGE__->start('unix', unix => 'xapi.sock', preauth => 1),
            __PACKAGE__->start('https',
                               https => conf_port('xf_fake_https_port')));
}

# The one fake of t/conf/task.conf.in (56, 57): sessions, Basic logins and
# tasks over HTTPS, where its vhosts' XapiForwardXapiURL and
# XapiForwardLoginURL both point.
sub start_task_xapi {
    return __PACKAGE__->start(
        'task', https => conf_port('xf_task_xapi_port', 'task.conf'));
}

# GET $target on vhost $vh; returns the response plus what changed:
# {delta} = "rrdd=N unix=calls https=calls" (N: requests the daemon got)
# and {unix_calls} (the methods the unix fake got).
# (without an HTTPS fake, $hx undef: https=-; a request refused by httpd
# gets a short wait for a daemon connection that must not come)
sub checked_get {
    my($d, $ux, $hx, $vh, $target, @h) = @_;
    return checked_request($d, $ux, $hx, $vh, 'GET', $target, @h);
}

# checked_get with any method: checked_request($d, $ux, $hx, $vh, 'PUT',
# '/rrd', 'Content-Length: 0')
sub checked_request {
    my($d, $ux, $hx, $vh, $method, $target, @h) = @_;
    my $before = $d->count('rrdd');
    $ux->reset;
    $hx->reset if $hx;
    my $r = request($vh, $method, $target, @h);
    $d->wait_count('rrdd', $before + 1, $r->{status} == 200 ? 1 : 0.2);
    # a Basic login's session is logged out after the response
    if ($r->{status} == 200 || $r->{status} == 403) {
        for my $x (grep { $_ } $ux, $hx) {
            $x->calls_once('session.logout')
              if grep { $_ eq 'session.login_with_password' } $x->calls;
        }
    }
    $r->{unix_calls} = [$ux->calls];
    $r->{delta} = sprintf 'rrdd=%d unix=%s https=%s',
      $d->count('rrdd') - $before, join(',', $ux->calls) || '-',
      ($hx && join(',', $hx->calls)) || '-';
    return $r;
}

1;
