# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::Proc - the one place the test helpers start, stop and kill
# the processes they run beside the test httpd (daemons, fake XAPIs,
# services, front ends, cache servers):
#
#   my $pid = spawn($out, $err, @cmd);  # fork + exec, output to files
#   my $kid = fork_pipe(sub { print {$_[0]} "result\n" });  # a helper
#   my $text = read_pipe($kid);  # all it wrote, once it has exited
#   stop_pid($pid);    # TERM, KILL after 5 s; reaped (or polled: not ours)
#   kill_pid($pid);    # KILL and reap
#   stop_at_exit($obj);  # $obj->stop at exit, also when a test dies
#
# As a base class, for objects { pid, owner } (owner: the pid of the
# process that started it, so that a forked helper stops nothing):
#   $obj->wait_up('fake_xapi.py (x)', sub { -s $ready }, sub { $err_text });
#   $obj->stop; $obj->kill_hard;
package XapiForward::Proc;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use POSIX ();
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(spawn fork_pipe read_pipe stop_pid kill_pid
                    stop_at_exit);

my @running;

# Fork and exec @cmd, its stdout to $out and stderr to $err (file names,
# opened for appending; $err undef: with stdout).  Returns the pid.
sub spawn {
    my($out, $err, @cmd) = @_;
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    return $pid if $pid;
    open STDOUT, '>>', $out;
    if (defined $err) { open STDERR, '>>', $err }
    else              { open STDERR, '>&', \*STDOUT }
    { exec @cmd };
    POSIX::_exit(127);
}

# Fork a helper that runs $code->($wr) and exits; $wr is the write end of
# a pipe to us.  Returns [pid, read end] for read_pipe.
sub fork_pipe {
    my $code = shift;
    pipe(my $rd, my $wr) or die "pipe: $!\n";
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if (!$pid) {
        close $rd;
        $code->($wr);
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    return [$pid, $rd];
}

# Everything a fork_pipe helper wrote, once it has exited (reaped; its
# status in $?).
sub read_pipe {
    my($pid, $rd) = @{ $_[0] };
    local $/;
    my $out = <$rd> // '';
    close $rd;
    waitpid $pid, 0;
    return $out;
}

# SIGKILL a child process of ours and reap it.
sub kill_pid {
    my $pid = shift;
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

# gone: reaped when it is our child, no longer there when it is not (an
# httpd that daemonized)
sub gone {
    my $pid = shift;
    my $w = waitpid $pid, POSIX::WNOHANG();
    return $w == $pid || ($w < 0 && !kill 0, $pid);
}

# TERM a process, KILL it after $timeout s (default 5), and reap it.
sub stop_pid {
    my($pid, $timeout) = @_;
    kill 'TERM', $pid;
    my $deadline = time + ($timeout || 5);
    until (gone($pid)) {
        if (time > $deadline) { kill 'KILL', $pid; waitpid $pid, 0; last }
        sleep 0.02;
    }
}

# Have objects (anything with a stop method) stopped at exit.
sub stop_at_exit { push @running, @_ }

END {
    my $status = $?;
    $_->stop for reverse @running;
    $? = $status;
}

# --- methods of a process object -------------------------------------------

sub stop {
    my $self = shift;
    return unless $self->{owner} == $$;   # not from a forked helper
    my $pid = delete $self->{pid} or return;
    stop_pid($pid, $self->{stop_timeout});
}

# Wait until $ready->() is true (15 s at most, or $timeout); die when the
# process exits first (with $why->(), e.g. its error output) or too late.
sub wait_up {
    my($self, $what, $ready, $why, $timeout) = @_;
    $timeout ||= 15;
    my $deadline = time + $timeout;
    until ($ready->()) {
        if (waitpid($self->{pid}, POSIX::WNOHANG()) == $self->{pid}) {
            delete $self->{pid};
            die "$what exited (status $?): " . ($why ? $why->() // '' : '')
              . "\n";
        }
        die "$what not ready after $timeout s\n" if time > $deadline;
        sleep 0.05;
    }
}

# SIGKILL, as a crash would: whatever it had open dies with it.
sub kill_hard {
    my $self = shift;
    return unless $self->{owner} == $$;
    kill_pid(delete $self->{pid} || return);
}

1;
