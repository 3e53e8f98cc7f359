# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::Plugin - custom services for the 6x_plugin*.t tests: start
# the receiver kit's hello example (kit/python/hello.py) on a socket of the
# services directory (<xf_sockdir>/p, XapiForwardPluginDir in
# t/conf/plugin.conf.in), and ask the test httpd with curl.
#
#   my $s = XapiForward::Plugin->start('hello');    # <dir>/hello
#   $s->stop;                                        # also done at exit
#   my $r = curl('xf_plugin', '/xfp/open/hello/x', '-X', 'PUT', ...);
#   $r->{status}, $r->{h}{location}, $r->{body}
package XapiForward::Plugin;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use File::Path ();
use File::Temp ();
use Apache::Test ();
use XapiForward::Proc qw(spawn stop_at_exit);
our @ISA = ('XapiForward::Proc');
use XapiForward::Raw qw(port_of);

our @EXPORT_OK = qw(plugin_dir kit_dir curl);

sub plugin_dir { Apache::Test::vars('xf_sockdir') . '/p' }

# kit/python beside t/ (t/run-apache-tests.sh copies it there)
sub kit_dir { Apache::Test::vars('t_dir') . '/../kit/python' }

# start(NAME [, cmd => [PROGRAM, ARGS...]]): a service on <dir>/NAME (the
# socket path is appended to cmd; default: the Python hello example)
sub start {
    my($class, $name, %o) = @_;
    my $dir = plugin_dir();
    File::Path::mkpath($dir);
    my $path = "$dir/$name";
    unlink $path;
    my $log = Apache::Test::vars('t_logs') . "/plugin-$name.log";
    my @cmd = (@{ $o{cmd} || ['python3', kit_dir() . '/hello.py'] }, $path);
    my $self = bless { pid => spawn($log, undef, @cmd), path => $path,
                       owner => $$ }, $class;
    stop_at_exit($self);
    $self->wait_up("service $name", sub { -S $path }, sub { "see $log" });
    return $self;
}

sub path { $_[0]{path} }

# curl(VHOST, TARGET, CURL ARGS...): one request; TLS for *tls* vhosts.
# Returns status, h (last response's headers, lower-case names), body,
# head (raw), http (the version curl used).
sub curl {
    my($vh, $target, @args) = @_;
    my $scheme = $vh =~ /tls/ ? 'https' : 'http';
    my $url = "$scheme://localhost:" . port_of($vh) . $target;
    my $tmp = File::Temp->newdir;
    my @cmd = ('curl', '-s', '-k', '--path-as-is', '--max-time', '120',
               '-D', "$tmp/h", '-o', "$tmp/b", '-w', '%{http_version}',
               @args, $url);
    open my $ph, '-|', @cmd or die "curl: $!\n";
    local $/;
    my $http = <$ph> // '';
    close $ph;
    my %r = (http => $http, status => 0, h => {}, body => '', head => '');
    if (open my $fh, '<:raw', "$tmp/h") {
        my $all = <$fh> // '';
        # the last head (after a 100 Continue)
        my @heads = grep { /\S/ } split /\r?\n\r?\n/, $all;
        $r{head} = $heads[-1] // '';
        ($r{status}) = $r{head} =~ m{^HTTP/\S+ (\d+)};
        $r{status} ||= 0;
        for (split /\r?\n/, $r{head}) {
            $r{h}{lc $1} = $2 if /^([^:\s]+):\s*(.*)$/;
        }
    }
    if (open my $fh, '<:raw', "$tmp/b") {
        $r{body} = <$fh> // '';
    }
    return \%r;
}

1;
