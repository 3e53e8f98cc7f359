# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::FrontEnd - what a .t starts itself beside the Apache::Test
# server: more httpd front ends with a small generated configuration (same
# binary, same module), cache servers (redis-server, memcached) on free
# loopback ports with raw protocol clients, and `httpd -t` runs.
#
#   my $c  = XapiForward::FrontEnd::Cache->start('redis');   # or 'memcached'
#   $c->port; $c->stop; $c->start;                  # restart on the same port
#   $c->set($key, $value, $ttl); $c->get($key); $c->del($key); # RESP /
#                                                   memcached text
#   my $fe = XapiForward::FrontEnd->start('fe1', $config_body);
#   $fe->port; $fe->pid; $fe->error_log; $fe->stop; # also done at exit
#   my($rc, $out) = configtest($name, $config_body); # httpd -t -f
#   module_conf(qw(proxy socache_redis));           # LoadModule lines
#
# The generated configuration is module_conf() (the suite's MPM, XF_MPM,
# event by default, with one child: 8 threads, or under prefork one
# process, one request at a time; the given system modules, then
# mod_xapi_forward) + the basics (ServerRoot, Listen, logs, pid and runtime
# files in the instance's directory t/logs/fe/<test>/<name>) +
# $config_body.  Everything is stopped at exit (XapiForward::Proc), also
# when a test dies.
package XapiForward::FrontEnd;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use File::Basename ();
use File::Path ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes qw(time sleep);
use Apache::Test ();
use XapiForward::Proc qw(stop_at_exit);
our @ISA = ('XapiForward::Proc');

our @EXPORT_OK = qw(free_port module_conf configtest instance_dir slurp
                    spew);

sub vars { Apache::Test::vars() }

sub slurp {
    my $f = shift;
    open my $fh, '<:raw', $f or return undef;
    local $/;
    return scalar <$fh>;
}

sub spew {
    my($f, $s) = @_;
    open my $fh, '>:raw', $f or die "$f: $!\n";
    print $fh $s;
    close $fh or die "$f: $!\n";
}

# A TCP port nobody listens on now (the kernel's choice, on loopback).
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, Proto => 'tcp', ReuseAddr => 1)
      or die "no free port: $!\n";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub port_open {
    my $port = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1);
    return $s ? 1 : 0;
}

# t/logs/fe/<test>/<name>, fresh
sub instance_dir {
    my $name = shift;
    (my $test = File::Basename::basename($0)) =~ s/\.t$//;
    my $dir = vars()->{t_logs} . "/fe/$test/$name";
    File::Path::rmtree($dir);
    File::Path::mkpath($dir);
    return $dir;
}

# where the system modules are: next to the mod_proxy the suite loads
sub moddir {
    my $conf = slurp(vars()->{t_conf} . '/httpd.conf') // '';
    return $1 if $conf =~ m{LoadModule\s+proxy_module\s+"?(\S+?)/mod_proxy\.so};
    return '/usr/lib/apache2/modules';
}

# the MPM of the test server (XF_MPM), event when it inherits the system's
sub mpm { vars()->{xf_mpm} || 'event' }

# LoadModule lines: the MPM (mod_unixd etc. are compiled in on Debian),
# authn_core and authz_core (always enabled on Debian: without them an
# access checker's OK ends in "couldn't check user"), the named system
# modules, then mod_xapi_forward.
sub module_conf {
    my @mods = @_;
    my $dir = moddir();
    my $so = vars()->{xf_module_so} or die "xf_module_so not configured\n";
    my $s = '';
    for my $m ('mpm_' . mpm(), 'authn_core', 'authz_core', @mods) {
        my $f = "$dir/mod_$m.so";
        die "missing $f\n" unless -e $f;
        $s .= qq{LoadModule ${m}_module "$f"\n};
    }
    return $s . qq{LoadModule xapi_forward_module "$so"\n};
}

sub basic_conf {
    my($dir, $port) = @_;
    my $one_child = mpm() eq 'prefork' ? <<"PREFORK" : <<"THREADED";
StartServers 1
ServerLimit 1
MaxRequestWorkers 1
MinSpareServers 1
MaxSpareServers 1
PREFORK
StartServers 1
ServerLimit 1
ThreadLimit 8
ThreadsPerChild 8
MaxRequestWorkers 8
MinSpareThreads 1
MaxSpareThreads 8
THREADED
    return <<"EOC" . $one_child;
ServerRoot "$dir"
ServerName localhost
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
DefaultRuntimeDir "$dir"
Mutex file:$dir default
DocumentRoot "$dir"
EOC
}

# httpd -t -f <generated>: (exit status, stdout+stderr). $body is the whole
# configuration after the LoadModule lines it must bring itself.
sub configtest {
    my($name, $body) = @_;
    my $dir = instance_dir($name);
    my $conf = "$dir/httpd.conf";
    spew($conf, basic_conf($dir, free_port()) . $body);
    my $httpd = vars()->{httpd} or die "no httpd binary\n";
    my $pid = open my $fh, '-|';
    die "fork: $!\n" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        { exec $httpd, "-t", "-f", $conf };
        POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out, $conf);
}

sub start {
    my($class, $name, $body, %o) = @_;
    my $dir = instance_dir($name);
    my $port = $o{port} || free_port();
    my $conf = "$dir/httpd.conf";
    spew($conf, basic_conf($dir, $port) . $body);
    # not our child once started (httpd daemonizes): stop polls it
    my $self = bless { name => $name, dir => $dir, port => $port,
                       conf => $conf, owner => $$, stop_timeout => 10 },
      $class;
    stop_at_exit($self);
    my $httpd = vars()->{httpd} or die "no httpd binary\n";
    my $out = `"$httpd" -f "$conf" -k start 2>&1`;
    die "httpd $name did not start: $out"
      . (slurp("$dir/error_log") // '') . "\n" if $?;
    my $deadline = time + 20;
    until (-s "$dir/httpd.pid" && port_open($port)) {
        die "httpd $name not up after 20 s: "
          . (slurp("$dir/error_log") // '') . "\n" if time > $deadline;
        sleep 0.05;
    }
    $self->{pid} = 0 + slurp("$dir/httpd.pid");
    return $self;
}

sub port { $_[0]{port} }
sub pid  { $_[0]{pid} }
sub dir  { $_[0]{dir} }
sub error_log { slurp("$_[0]{dir}/error_log") // '' }

# --- cache servers ----------------------------------------------------------

package XapiForward::FrontEnd::Cache;

use Time::HiRes qw(time);
use XapiForward::Proc qw(spawn stop_at_exit);
our @ISA = ('XapiForward::Proc');

my %BIN = (redis => 'redis-server', memcached => 'memcached');

# the binary's path, or undef (then the test skips)
sub binary {
    my $kind = shift;
    my $b = $BIN{$kind} or die "unknown cache server $kind\n";
    for my $d (split(/:/, $ENV{PATH} || ''), '/usr/bin', '/usr/sbin') {
        return "$d/$b" if -x "$d/$b";
    }
    return undef;
}

sub start {
    my($self, $kind) = @_;
    if (!ref $self) {
        $self = bless { kind => $kind, owner => $$,
                        port => XapiForward::FrontEnd::free_port(),
                        dir => XapiForward::FrontEnd::instance_dir($kind) },
          $self;
        stop_at_exit($self);
    }
    my($p, $d) = @$self{qw(port dir)};
    my @cmd = $self->{kind} eq 'redis'
      ? (binary('redis'), '--port', $p, '--bind', '127.0.0.1', '--save', '',
         '--appendonly', 'no', '--dir', $d, '--daemonize', 'no')
      : (binary('memcached'), '-l', '127.0.0.1', '-p', $p, '-U', '0',
         '-m', '16');
    $self->{pid} = spawn("$d/server.out", undef, @cmd);
    $self->wait_up($self->{kind}, sub { XapiForward::FrontEnd::port_open($p) },
                   sub { XapiForward::FrontEnd::slurp("$d/server.out") });
    return $self;
}

sub port { $_[0]{port} }
sub kind { $_[0]{kind} }

# one request/answer on a fresh connection; the answer up to $done->($buf)
sub talk {
    my($self, $req, $done) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port},
                                  Proto => 'tcp', Timeout => 5)
      or die "$self->{kind}: connect: $!\n";
    binmode $s;
    print $s $req;
    my $buf = '';
    my $deadline = time + 5;
    while (!$done->($buf) && time < $deadline) {
        my $n = sysread $s, $buf, 65536, length $buf;
        last unless $n;
    }
    close $s;
    return $buf;
}

sub resp { join '', "*" . @_ . "\r\n", map { '$' . length($_) . "\r\n$_\r\n" } @_ }

# RESP bulk reply: the value, or undef for a nil
sub resp_bulk {
    my $b = shift;
    return undef unless $b =~ /^\$(-?\d+)\r\n/;
    return undef if $1 < 0;
    return substr $b, length("\$$1\r\n"), $1;
}

sub set {
    my($self, $key, $value, $ttl) = @_;
    my $r;
    if ($self->{kind} eq 'redis') {
        $r = $self->talk(resp('SET', $key, $value, 'EX', $ttl),
                         sub { $_[0] =~ /\r\n/ });
        return $r =~ /^\+OK/ ? 1 : 0;
    }
    $r = $self->talk("set $key 0 $ttl " . length($value) . "\r\n$value\r\n",
                     sub { $_[0] =~ /\r\n/ });
    return $r =~ /^STORED/ ? 1 : 0;
}

sub get {
    my($self, $key) = @_;
    if ($self->{kind} eq 'redis') {
        my $r = $self->talk(resp('GET', $key), sub {
            $_[0] =~ /^\$-1\r\n/
              || ($_[0] =~ /^\$(\d+)\r\n/
                  && length($_[0]) >= length("\$$1\r\n") + $1 + 2)
              || $_[0] =~ /^-/ });
        return resp_bulk($r);
    }
    my $r = $self->talk("get $key\r\n", sub { $_[0] =~ /END\r\n\z/ });
    return $r =~ /^VALUE \S+ \d+ (\d+)\r\n/ ? substr($r, length($&), $1) : undef;
}

sub del {
    my($self, $key) = @_;
    return $self->talk(resp('DEL', $key), sub { $_[0] =~ /\r\n/ })
      if $self->{kind} eq 'redis';
    return $self->talk("delete $key\r\n", sub { $_[0] =~ /\r\n/ });
}

1;
