# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::Xapi80 - start and read t/daemon/fake_xapi80.py: xapi's
# port 80 (and its unix sockets) as a front door's catch-all reaches it.
# It reads stunnel's PROXY line as xapi does, applies fileserver.ml's rule
# to GET /, serves CONNECT /console and /remotecmd, and records every
# request (the daemon's header lists the answers and the record fields).
#
#   my $x = XapiForward::Xapi80->start('x80', http => 0);   # a free port
#   my $x = XapiForward::Xapi80->start('x80',
#       http => conf_port('xf_frontdoor_xapi_port', 'routes.conf'),
#       clientcert => 'xcc.sock',      # <xf_sockdir>/xcc.sock, or absolute
#       unix => 'x80.sock',            # the same, transport "unix"
#       website_http => 0);            # 1: website-https-only false
#   $x->port;            # its TCP port (http => 0: the one it picked)
#   $x->clientcert;      # the clientcert socket's path ($x->unix: unix's)
#   my @r = $x->records; # hashrefs, in arrival order, since start or the
#                        # last reset; each request: conn seq transport
#                        # proxy_line https client_addr client_port
#                        # peer_addr peer_port method target path query
#                        # version headers ([[name, value], ...]) body_len
#                        # body_sha256 status; a tunnel's end: event =>
#                        # 'tunnel_end', conn seq mode bytes_in sha256_in
#                        # bytes_out sha256_out
#   $x->requests;        # the records that are requests (no tunnel_end)
#   $x->reset;           # records() starts after what is there now
#   my @r = $x->wait_records($n, $timeout);  # until $n records since the
#                        # reset (default 10 s; returns what is there)
#   $x->header($rec, 'Host');  # a record's last value of a header, or undef
#   $x->xapi_log;        # lines xapi would log ("Failed to parse
#                        # STUNNEL_PROXY='...'")
#   $x->stop;            # also done at exit (XapiForward::Proc)
#
# Each instance NAME of a test gets the state dir t/logs/xapi80/<test>/NAME.
# pattern($n): the $n bytes GET /export?size=N and CONNECT mode=source send
# (byte i is i % 251).
package XapiForward::Xapi80;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use File::Basename ();
use File::Path ();
use JSON::PP ();
use XapiForward::FrontEnd qw(slurp);
use Time::HiRes qw(time sleep);
use Apache::Test ();
use XapiForward::Proc qw(spawn stop_at_exit);
our @ISA = ('XapiForward::Proc');

our @EXPORT_OK = qw(pattern);


sub sock_path {
    my $p = shift;
    return $p if $p =~ m{^/};
    return Apache::Test::vars()->{xf_sockdir} . "/$p";
}

sub start {
    my($class, $name, %o) = @_;
    my $v = Apache::Test::vars();
    (my $test = File::Basename::basename($0)) =~ s/\.t$//;
    my $dir = "$v->{t_logs}/xapi80/$test/$name";
    File::Path::rmtree($dir);
    File::Path::mkpath($dir);
    my @args = ('--state-dir', $dir);
    push @args, '--http', $o{http} if defined $o{http};
    my %self = (dir => $dir, name => $name, owner => $$, lines => 0);
    for my $kind (qw(unix clientcert)) {
        next unless $o{$kind};
        $self{$kind} = sock_path($o{$kind});
        push @args, "--$kind", $self{$kind};
    }
    push @args, '--website-http' if $o{website_http};
    $self{pid} = spawn("$dir/fake.out", "$dir/fake.err", 'python3',
                       "$v->{t_dir}/daemon/fake_xapi80.py", @args);
    my $self = bless \%self, $class;
    stop_at_exit($self);
    $self->wait_up("fake_xapi80.py ($name)", sub { -s "$dir/ready" },
                   sub { slurp("$dir/fake.err") });
    $self->{port} = 0 + slurp("$dir/http_port") if defined $o{http};
    return $self;
}

sub dir        { $_[0]{dir} }
sub port       { $_[0]{port} }
sub unix       { $_[0]{unix} }
sub clientcert { $_[0]{clientcert} }

# complete lines of requests.jsonl, all of them
sub all_lines {
    my $s = slurp("$_[0]{dir}/requests.jsonl") // '';
    my @l = split /\n/, $s, -1;
    pop @l;   # '' after the last newline, or a line still being written
    return @l;
}

sub records {
    my $self = shift;
    my @l = $self->all_lines;
    splice @l, 0, $self->{lines};
    my $json = JSON::PP->new;
    return map { $json->decode($_) } @l;
}

sub requests { grep { !$_->{event} } $_[0]->records }

sub reset {
    my $self = shift;
    $self->{lines} = () = $self->all_lines;
    return $self;
}

sub wait_records {
    my($self, $n, $timeout) = @_;
    my $deadline = time + ($timeout || 10);
    while (1) {
        my @r = $self->records;
        return @r if @r >= $n || time > $deadline;
        sleep 0.05;
    }
}

sub header {
    my($self, $rec, $name) = @_;
    my $v;
    for (@{ $rec->{headers} || [] }) {
        $v = $_->[1] if lc $_->[0] eq lc $name;
    }
    return $v;
}

sub xapi_log {
    my $s = slurp("$_[0]{dir}/xapi.log");
    return defined $s ? split /\n/, $s : ();
}

sub pattern {
    my $n = shift;
    my $block = join '', map { chr($_ % 251) } 0 .. 250;
    my $reps = int($n / 251) + 1;
    return substr($block x $reps, 0, $n);
}

1;
