# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::ErrorLog - every [warn] or worse line in t/logs/error_log
# must be one a test expected (mod_h2 / ModSecurity practice).
#
#   my $log = XapiForward::ErrorLog->new;       # marks the current end
#   XapiForward::ErrorLog->new(file => $fe->dir . '/error_log'); # another
#   ... requests ...
#   $log->check('missing socket', expect => ['XAPIFWD0004']);    # 1 test
#   $log->check('ctl 404', expect => { XAPIFWD0011 => 'warn' }); # level too
#   $log->check('clean');                        # nothing expected
#   $log->wait_for(qr/XAPIFWD0010/);             # any level, returns line
#
# check() consumes the log from the previous mark to now; it waits (up to
# `timeout`, default 5 s) for the expected tags, since httpd may log after
# the client has its answer.  `allow => [qr/.../]` lists lines that may
# appear but need not (given to new(): for every check).  An expected tag
# must show up at least once.
package XapiForward::ErrorLog;

use strict;
use warnings FATAL => 'all';

use Time::HiRes qw(time sleep);
use Apache::Test qw(ok);
use Apache::TestUtil qw(t_cmp);

my $BAD = qr/^(?:emerg|alert|crit|error|warn)$/;

sub new {
    my($class, %o) = @_;
    my $file = $o{file} || Apache::Test::vars('t_logs') . '/error_log';
    my $self = bless { file => $file, pos => 0, buf => '',
                       allow => $o{allow} || [] }, $class;
    $self->mark;
    return $self;
}

# forget everything logged so far
sub mark {
    my $self = shift;
    $self->{pos} = -s $self->{file} || 0;
    $self->{buf} = '';
    return $self;
}

# complete new lines since the last read
sub _read {
    my $self = shift;
    open my $fh, '<:raw', $self->{file} or return ();
    seek $fh, $self->{pos}, 0;
    local $/;
    my $new = <$fh>;
    close $fh;
    return () unless defined $new && length $new;
    $self->{pos} += length $new;
    $new = $self->{buf} . $new;
    my $cut = rindex $new, "\n";
    $self->{buf} = substr $new, $cut + 1;
    return split /\n/, substr($new, 0, $cut + 1);
}

# "[time] [module:level] [pid ...] msg" -> level
sub level_of {
    my $line = shift;
    return $line =~ /^\[[^\]]*\] \[(?:[\w.-]*:)?(\w+)\]/ ? $1 : '';
}

sub check {
    my($self, $name, %o) = @_;
    my $expect = $o{expect} || {};
    $expect = { map { $_ => '' } @$expect } if ref $expect eq 'ARRAY';
    my @allow = (@{ $o{allow} || [] }, @{ $self->{allow} });
    my $timeout = $o{timeout} || 5;

    my(@lines, %seen);
    my $deadline = time + $timeout;
    while (1) {
        for my $l ($self->_read) {
            push @lines, $l;
            for my $tag (keys %$expect) {
                next unless index($l, $tag) >= 0;
                my $want = $expect->{$tag};
                $seen{$tag} = 1 if !$want || level_of($l) eq $want;
            }
        }
        last if keys(%seen) == keys(%$expect) || time > $deadline;
        sleep 0.05;
    }
    # a little longer for lines logged after the tags we waited for
    sleep 0.15;
    push @lines, $self->_read;

    my @bad;
    LINE: for my $l (@lines) {
        next unless level_of($l) =~ $BAD;
        for my $tag (keys %$expect) {
            next LINE if index($l, $tag) >= 0;
        }
        for my $re (@allow) {
            next LINE if $l =~ $re;
        }
        push @bad, $l;
    }
    my @missing = map { "missing: $_" . ($expect->{$_} ? " at level $expect->{$_}" : '') }
                  grep { !$seen{$_} } sort keys %$expect;
    $self->{last_lines} = \@lines;
    return ok t_cmp(join("\n", (map "unexpected: $_", @bad), @missing), '',
                    "error_log: $name");
}

# lines read by the last check()
sub last_lines { @{ $_[0]->{last_lines} || [] } }

# wait until a line matching $re appears after the mark; returns it (or
# undef).  Does not consume: check() still sees the lines.
sub wait_for {
    my($self, $re, $timeout) = @_;
    my $deadline = time + ($timeout || 5);
    while (1) {
        open my $fh, '<:raw', $self->{file} or return undef;
        seek $fh, $self->{pos}, 0;
        while (my $l = <$fh>) {
            return $l if $l =~ $re;
        }
        close $fh;
        return undef if time > $deadline;
        sleep 0.05;
    }
}

1;
