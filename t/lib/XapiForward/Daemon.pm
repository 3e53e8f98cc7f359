# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::Daemon - start and stop t/daemon/xf_daemon.py from a .t.
#
#   my $d = XapiForward::Daemon->start(qw(rrdd xenopsd fdpass));
#   $d->envelope('rrdd');        # raw bytes of the last message to rrdd
#   $d->count('rrdd');           # connections rrdd has served
#   $d->accepts('rrdd');         # connections it accepted, message or not
#   $d->errors;                  # lines of the daemon's errors.log
#   $d->stop;                    # also done at exit
#   $d->kill_hard;               # SIGKILL: dies mid-response, sockets stay
#                                # (both from XapiForward::Proc)
#
# Socket NAME is <xf_sockdir>/NAME.sock; the daemon picks its mode from the
# name (fdpass*, closer*, dead*; see xf_daemon.py).  Each .t gets its own
# record directory, t/logs/xf_daemon/<test name>/.
package XapiForward::Daemon;

use strict;
use warnings FATAL => 'all';

use File::Basename ();
use File::Path ();
use Time::HiRes qw(time sleep);
use Apache::Test ();
use Exporter 'import';
use XapiForward::Proc qw(spawn stop_at_exit);
our @ISA = ('XapiForward::Proc');

our @EXPORT_OK = qw(httpd_pid httpd_children httpd_one_process);

sub start {
    my($class, @names) = @_;
    my $vars = Apache::Test::vars();
    my $sockdir = $vars->{xf_sockdir}
      or die "xf_sockdir not configured (t/TEST.PL)\n";
    my $script = $vars->{xf_daemon}
      || "$vars->{t_dir}/daemon/xf_daemon.py";
    (my $test = File::Basename::basename($0)) =~ s/\.t$//;
    my $dir = "$vars->{t_logs}/xf_daemon/$test";
    File::Path::rmtree($dir);
    File::Path::mkpath([$dir, $sockdir]);
    my $ready = "$dir/ready";

    my @specs = map { "$_=$sockdir/$_.sock" } @names;
    my $pid = spawn("$dir/daemon.out", "$dir/daemon.err", 'python3', $script,
                    '--dir', $dir, '--ready', $ready, @specs);
    my $self = bless { pid => $pid, dir => $dir, sockdir => $sockdir,
                       names => [@names], owner => $$ }, $class;
    stop_at_exit($self);
    $self->wait_up('xf_daemon.py',
                   sub { -e $ready
                         && !grep { !/^dead/ && !-S "$sockdir/$_.sock" }
                           @names },
                   sub { $self->slurp('daemon.err') });
    return $self;
}

# The exact head xf_daemon.py writes (its head() function), for byte-exact
# comparisons: response_head(status => '200 OK', name => 'rrdd',
# lport => <client's local port>, length => N, type => 'application/json')
sub response_head {
    my %a = @_;
    my $h = "HTTP/1.1 " . ($a{status} || '200 OK') . "\r\n";
    $h .= "Content-Length: $a{length}\r\n" if defined $a{length};
    $h .= "Content-Type: " . ($a{type} || 'text/plain') . "\r\n";
    $h .= "X-Daemon: $a{name}\r\n";
    $h .= "X-Peer: inet 127.0.0.1:$a{lport}\r\n";
    $h .= "Connection: close\r\n\r\n";
    return $h;
}

sub sock { my($self, $name) = @_; "$self->{sockdir}/$name.sock" }

sub dir { $_[0]->{dir} }

sub slurp {
    my($self, $file) = @_;
    open my $fh, '<:raw', "$self->{dir}/$file" or return undef;
    local $/;
    my $s = <$fh>;
    return $s;
}

# raw bytes of the last message the socket NAME received
sub envelope { my($self, $name) = @_; $self->slurp("$name.last.json") }

sub number { my $n = $_[0]->slurp($_[1]); $n ? 0 + $n : 0 }

# messages NAME received
sub count { my($self, $name) = @_; $self->number("$name.count") }

# connections NAME accepted, with a message or without
sub accepts { my($self, $name) = @_; $self->number("$name.accepts") }

# wait until NAME has served at least $n connections; returns the count
sub wait_count {
    my($self, $name, $n, $timeout) = @_;
    my $deadline = time + ($timeout || 5);
    my $c;
    sleep 0.02 while ($c = $self->count($name)) < $n && time < $deadline;
    return $c;
}

sub errors {
    my $self = shift;
    my $s = $self->slurp('errors.log');
    return defined $s ? split /\n/, $s : ();
}

# stop (XapiForward::Proc), then remove its sockets
sub stop {
    my $self = shift;
    return unless $self->{owner} == $$ && $self->{pid};
    $self->SUPER::stop;
    unlink map { $self->sock($_) } @{ $self->{names} };
}

# Lines of <name>.events (what the daemon saw) matching $re.
sub events {
    my($self, $name, $re) = @_;
    return grep { $_ =~ $re } split /\n/, ($self->slurp("$name.events") // '');
}


# The pid of the test httpd (its parent process).
sub httpd_pid {
    open my $fh, '<', Apache::Test::vars('t_logs') . '/httpd.pid' or die;
    return 0 + <$fh>;
}

# True when the test httpd serves single-process (-X, -D ONE_PROCESS:
# t/run-checked.sh valgrind): it has no children to replace, and a
# graceful restart (SIGUSR1) does nothing (only TERM and INT are heeded).
sub httpd_one_process {
    open my $fh, '<', '/proc/' . httpd_pid() . '/cmdline' or return 0;
    local $/;
    my @argv = split /\0/, <$fh> // '';
    return scalar grep { $_ eq '-X' || $_ eq 'ONE_PROCESS' } @argv;
}

# The pids of the children of the test httpd (its workers), or of the
# httpd whose parent pid is given (XapiForward::FrontEnd's ->pid); httpd
# itself when it has none: it serves alone (-X, -D ONE_PROCESS: make
# test-valgrind-live).
sub httpd_children {
    my $ppid = shift || httpd_pid();
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my($pid, $pp) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @pids, $pid if $pp == $ppid;
    }
    return @pids ? @pids : ($ppid);
}

1;
