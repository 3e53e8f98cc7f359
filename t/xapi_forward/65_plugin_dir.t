# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# The custom services' socket directory is checked at start-up (the
# check_config walk, which `httpd -t` runs too), for each
# XapiForwardPluginDir and for the default one where a XapiForwardPlugin On
# has none around it:
#   - not a directory: a configuration error naming the line (XAPIFWD0412);
#   - missing (services may create it later): a warning (XAPIFWD0414),
#     httpd starts and a service answers 404 until it is there;
#   - writable by group or others (anyone could answer for a service by
#     creating its socket): a warning (XAPIFWD0413), dom0's operators decide.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use Apache::TestRequest ();
use XapiForward::FrontEnd qw(module_conf configtest instance_dir spew);

my $files = instance_dir('files');
spew("$files/a-file", "not a directory\n");
my %mode = (closed => 0755, group => 0775, everyone => 0777, sticky => 01777);
for my $d (keys %mode) {
    mkdir "$files/$d" or die "mkdir $d: $!\n";
    chmod $mode{$d}, "$files/$d" or die "chmod $d: $!\n";
}
my $missing = "$files/not-yet";

sub plugin_at { qq{<Location /svc/>\n    XapiForwardPlugin On\n$_[0]</Location>\n} }
sub dir_line { qq{    XapiForwardPluginDir "$_[0]"\n} }

# the default directory, /var/lib/xcp/plugin, as this machine has it
my $DFL = '/var/lib/xcp/plugin';
my $dfl_re = !-e $DFL ? qr{XAPIFWD0414: XapiForwardPlugin on line \d+ of \S+: the default XapiForwardPluginDir \Q$DFL\E is not there}
  : !-d _ ? qr{XAPIFWD0412: XapiForwardPlugin on line \d+ of \S+: the default XapiForwardPluginDir \Q$DFL\E is not a directory}
  : (stat _)[2] & 022 ? qr{XAPIFWD0413: XapiForwardPlugin on line \d+ of \S+: the default XapiForwardPluginDir \Q$DFL\E is writable}
  : undef;

# [name, configuration, the line the message names (its text) or undef for
#  none, what the output says (undef: no XAPIFWD041x at all), fatal]
my @cases = (
    ['a regular file', dir_line("$files/a-file"), 'XapiForwardPluginDir',
     qr{XAPIFWD0412: XapiForwardPluginDir on line \d+ of \S+: \Q$files\E/a-file is not a directory}, 1],
    ['a regular file, in a <Location>', plugin_at(dir_line("$files/a-file/")),
     'XapiForwardPluginDir',
     qr{XAPIFWD0412: XapiForwardPluginDir on line \d+ of \S+: \Q$files\E/a-file is not a directory}, 1],
    ['missing', plugin_at(dir_line($missing)), 'XapiForwardPluginDir',
     qr{XAPIFWD0414: XapiForwardPluginDir on line \d+ of \S+: \Q$missing\E is not there \(yet\) or not reachable: every service answers 404 until it is}],
    ['writable by its group', dir_line("$files/group"), 'XapiForwardPluginDir',
     qr{XAPIFWD0413: XapiForwardPluginDir on line \d+ of \S+: \Q$files\E/group is writable by its group: whoever can write there can answer for a service}],
    ['writable by everyone', plugin_at(dir_line("$files/everyone")),
     'XapiForwardPluginDir',
     qr{XAPIFWD0413: XapiForwardPluginDir on line \d+ of \S+: \Q$files\E/everyone is writable by everyone}],
    ['writable by everyone, named twice: one message',
     dir_line("$files/everyone") . plugin_at(dir_line("$files/everyone/")),
     'XapiForwardPluginDir',
     qr{XAPIFWD0413: XapiForwardPluginDir on line \d+ of \S+: \Q$files\E/everyone is writable by everyone}],
    ['writable by everyone, sticky', dir_line("$files/sticky"),
     'XapiForwardPluginDir',
     qr{XAPIFWD0413: XapiForwardPluginDir on line \d+ of \S+: \Q$files\E/sticky is writable by everyone}],
    ['closed to others', plugin_at(dir_line("$files/closed")), undef, undef],
    ['the directory set around the <Location>: no default',
     dir_line("$files/closed") . plugin_at(''), undef, undef],
    ['XapiForwardPlugin On without a directory: the default',
     plugin_at(''), $dfl_re && 'XapiForwardPlugin On', $dfl_re,
     $dfl_re && $dfl_re =~ /0412/],
    ['XapiForwardPlugin Off: no default',
     qq{<Location /svc/>\n    XapiForwardPlugin Off\n</Location>\n}, undef,
     undef],
);

plan tests => 3 * @cases + 5, need_module('proxy', 'xapi_forward');

my $i = 0;
for my $c (@cases) {
    my($name, $body, $at, $re, $fatal) = @$c;
    my($rc, $out, $conf) = configtest('dir' . ++$i, module_conf('proxy') . $body);
    my @lines = split /\n/, XapiForward::FrontEnd::slurp($conf);
    my($n) = $at ? grep { $lines[$_ - 1] =~ /\Q$at\E/ } 1 .. @lines : ();
    ok t_cmp($fatal ? ($rc != 0 ? 'refused' : "rc=$rc: $out")
                    : ($rc == 0 && $out =~ /Syntax OK/ ? 'Syntax OK'
                                                       : "rc=$rc: $out"),
             $fatal ? 'refused' : 'Syntax OK',
             "$name: httpd -t " . ($fatal ? 'fails' : 'passes'));
    my @msgs = $out =~ /(XAPIFWD041\d: [^\n]*)/g;
    ok t_cmp(join("\n", @msgs), $re ? qr/\A$re[^\n]*\z/ : '',
             "$name: " . ($re ? 'the one message' : 'no message'));
    ok t_cmp(!$re || $out =~ /on line $n of \Q$conf\E:/ ? 'at the line'
                                                          : $out,
             'at the line', "$name: names line " . ($n // '-'));
}

# a real start with a missing directory: httpd starts and says so once in
# its error log; the service is not found; once the directory and the
# service are there, it is reached (no restart)
{
    my $fe = XapiForward::FrontEnd->start('missing', module_conf('proxy')
                                          . plugin_at(dir_line($missing)));
    my $log = $fe->error_log;
    my @w = $log =~ /(\[[^\]]*:warn\] [^\n]*XAPIFWD0414[^\n]*)/g;
    ok t_cmp(scalar(@w) . ' ' . ($w[0] // ''),
             qr{^1 .*XapiForwardPluginDir on line \d+ of \S+: \Q$missing\E is not there},
             'httpd starts; the warning is in its error log, once');
    my $ua = Apache::TestRequest::user_agent(reset => 1);
    my $url = 'http://127.0.0.1:' . $fe->port . '/svc/hello/x';
    my $r = $ua->get($url);
    ok t_cmp($r->code, 404, 'a service in the missing directory: 404');
    ok t_cmp($fe->error_log, qr/XAPIFWD0402/, 'logged as a missing socket');
    $fe->stop;
    # a graceful restart (the configuration read again) warns again, once
    my $fe2 = XapiForward::FrontEnd->start('missing2', module_conf('proxy')
                                           . plugin_at(dir_line($missing)));
    kill 'USR1', $fe2->pid or die "kill: $!\n";
    my $deadline = time + 20;
    my $n;
    sleep 1 until ($n = () = $fe2->error_log =~ /XAPIFWD0414/g) >= 2
                  || time > $deadline;
    ok t_cmp($n, 2, 'a graceful restart warns once more');
    ok t_cmp(join("\n", $fe2->error_log =~ /^(.*(?:crit|emerg|alert)\].*)$/mg),
             '', 'nothing worse than a warning');
}
