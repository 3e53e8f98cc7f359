# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Configuration errors at start-up: each small configuration is checked
# with `httpd -t -f` (what `apachectl configtest` runs), as the test user,
# and the output must name the directive, the file and the line, and say
# what is wrong.  Setters report through httpd ("Syntax error on line N of
# FILE"); what needs the whole configuration (the xapi:// URLs of
# mod_proxy's directives, the cache provider) is checked in check_config,
# which httpd -t runs too (XAPIFWD05xx "<directive> on line N of FILE").
use strict;
use warnings FATAL => 'all';

use FindBin ();
use lib "$FindBin::Bin/../lib";

use Apache::Test;
use Apache::TestUtil;
use XapiForward::FrontEnd qw(module_conf configtest instance_dir spew);

my $files = instance_dir('files');
spew("$files/empty", '');
spew("$files/short", "12345\n");
spew("$files/secret", "a-pool-secret-of-some-length\n");
spew("$files/unreadable", "a-pool-secret-of-some-length\n");
chmod 0, "$files/unreadable";
my $root = $> == 0;    # root reads a mode 000 file all the same
my $long = '/tmp/' . ('s' x 110) . '.sock';

my $AUTH = "<Location /p>\n    XapiForwardAuth On\n</Location>\n";

# [name, configuration, the line at fault (its text), what the output says]
my @cases = (
    ['unknown mode', "XapiForwardMode fast\n", 'XapiForwardMode fast',
     qr/XapiForwardMode: must be auto, handoff or relay/],
    ['unknown path key', "XapiForwardPathKey url\n", 'XapiForwardPathKey',
     qr/XapiForwardPathKey: must be uri, path or both/],
    ['bad size', "XapiForwardMaxEnvelope 100\n", 'XapiForwardMaxEnvelope',
     qr/XapiForwardMaxEnvelope: must be a number of bytes from 256 to 65536/],
    ['bad size (not a number)', "XapiForwardMaxEnvelope 16k\n",
     'XapiForwardMaxEnvelope',
     qr/XapiForwardMaxEnvelope: must be a number of bytes/],
    ['bad status', "XapiForwardMissingStatus 500\n",
     'XapiForwardMissingStatus', qr/XapiForwardMissingStatus: must be 503 or 404/],
    ['bad time', "XapiForwardReplyTimeout later\n", 'XapiForwardReplyTimeout',
     qr/XapiForwardReplyTimeout: must be a time from 0 to 3600 seconds/],
    ['time out of range', "XapiForwardXapiTimeout 3000\n",
     'XapiForwardXapiTimeout',
     qr/XapiForwardXapiTimeout: must be a time from 10ms to 300 seconds/],
    ['negative cache TTL', "XapiForwardCacheTTL -1\n", 'XapiForwardCacheTTL',
     qr/XapiForwardCacheTTL: must be a time from 0 to 86400 seconds/],
    ['cache TTL in the wrong context',
     "<VirtualHost 127.0.0.1:80>\nXapiForwardCacheTTL 5\n</VirtualHost>\n",
     'XapiForwardCacheTTL', qr/XapiForwardCacheTTL cannot occur within <VirtualHost>/],
    # the generic setters of the settings list (xf_config.h), one per kind
    ['unknown relay', "XapiForwardRelay raw\n", 'XapiForwardRelay',
     qr/XapiForwardRelay: must be http or tunnel/],
    ['bad services status', "XapiForwardPluginNoSessionStatus 402\n",
     'XapiForwardPluginNoSessionStatus',
     qr/XapiForwardPluginNoSessionStatus: must be 403 or 401/],
    ['tunnel timeout out of range', "XapiForwardTunnelTimeout 86401\n",
     'XapiForwardTunnelTimeout',
     qr/XapiForwardTunnelTimeout: must be a time from 0 to 86400 seconds \(e\.g\. 30, 250ms\)/],
    ['control lifetime out of range', "XapiForwardControlLifetime 604801\n",
     'XapiForwardControlLifetime',
     qr/XapiForwardControlLifetime: must be a time from 0 to 604800 seconds/],
    ['not On or Off', "XapiForwardForceClose maybe\n", 'XapiForwardForceClose',
     qr/XapiForwardForceClose must be On or Off/],
    ['SNI vhost choice not On or Off', "XapiForwardVHostBySNI pool\n",
     'XapiForwardVHostBySNI', qr/XapiForwardVHostBySNI must be On or Off/],
    ['SNI vhost choice in a <Location>',
     "<Location /p>\n    XapiForwardVHostBySNI On\n</Location>\n",
     'XapiForwardVHostBySNI', qr/XapiForwardVHostBySNI not allowed in <Location> context/],
    ['cache key in the wrong context',
     "<VirtualHost 127.0.0.1:80>\nXapiForwardCacheKeyFile $files/secret\n</VirtualHost>\n",
     'XapiForwardCacheKeyFile',
     qr/XapiForwardCacheKeyFile cannot occur within <VirtualHost>/],
    ['server setting in a <Location>',
     "<Location /p>\n    XapiForwardXapiVerify Off\n</Location>\n",
     'XapiForwardXapiVerify',
     qr/XapiForwardXapiVerify not allowed in <Location> context/],
    ['missing pool secret', "XapiForwardPoolSecretFile $files/nope\n",
     'XapiForwardPoolSecretFile',
     qr{XapiForwardPoolSecretFile: cannot read \Q$files\E/nope: No such file}],
    ['empty pool secret', "XapiForwardPoolSecretFile $files/empty\n",
     'XapiForwardPoolSecretFile',
     qr{XapiForwardPoolSecretFile: \Q$files\E/empty holds 0 bytes}],
    ['unreadable pool secret', "XapiForwardPoolSecretFile $files/unreadable\n",
     'XapiForwardPoolSecretFile',
     qr{XapiForwardPoolSecretFile: cannot read \Q$files\E/unreadable: Permission denied},
     $root && 'run as root: a mode 000 file is readable'],
    ['a directory as secret', "XapiForwardPoolSecretFile $files\n",
     'XapiForwardPoolSecretFile',
     qr{XapiForwardPoolSecretFile: \Q$files\E is not a regular file}],
    ['missing CA file', "XapiForwardXapiCAFile $files/ca.pem\n",
     'XapiForwardXapiCAFile',
     qr{XapiForwardXapiCAFile: cannot read \Q$files\E/ca.pem: No such file}],
    ['missing cache key', "XapiForwardCacheKeyFile $files/key\n",
     'XapiForwardCacheKeyFile',
     qr{XapiForwardCacheKeyFile: cannot read \Q$files\E/key: No such file}],
    ['short cache key', "XapiForwardCacheKeyFile $files/short\n",
     'XapiForwardCacheKeyFile',
     qr{XapiForwardCacheKeyFile: \Q$files\E/short holds 6 bytes; it must hold 16}],
    ['XAPI URL without a host', "XapiForwardXapiURL https://\n",
     'XapiForwardXapiURL',
     qr{XapiForwardXapiURL: "https://" is not a URL of the form unix:/path or https://host}],
    ['XAPI URL of another scheme', "XapiForwardXapiURL ftp://master\n",
     'XapiForwardXapiURL', qr{XapiForwardXapiURL: "ftp://master" is not a URL}],
    ['XAPI URL with a bad port', "XapiForwardXapiURL https://master:http\n",
     'XapiForwardXapiURL', qr{XapiForwardXapiURL: "https://master:http" is not a URL}],
    ['relative XAPI socket', "XapiForwardXapiURL unix:xapi\n",
     'XapiForwardXapiURL',
     qr{XapiForwardXapiURL: "unix:xapi": the socket path must be absolute}],
    ['XAPI socket longer than sun_path', "XapiForwardXapiURL unix:$long\n",
     'XapiForwardXapiURL',
     qr{XapiForwardXapiURL: the socket path is 120 bytes long; sun_path holds at most 107}],
    ['login URL on a unix socket', "XapiForwardLoginURL unix:/var/lib/xcp/xapi\n",
     'XapiForwardLoginURL', qr{XapiForwardLoginURL: must be https://host \(never a unix socket}],
    ['login URL that does not parse', "XapiForwardLoginURL https://:443/\n",
     'XapiForwardLoginURL', qr{XapiForwardLoginURL: "https://:443/" is not a URL of the form https://host}],
    ['client-certificate logins over TCP', "XapiForwardClientCertURL https://localhost\n",
     'XapiForwardClientCertURL', qr{XapiForwardClientCertURL: must be unix:/path, xapi's clientcert socket}],
    ['client-certificate socket not absolute', "XapiForwardClientCertURL unix:xapi-clientcert\n",
     'XapiForwardClientCertURL', qr{XapiForwardClientCertURL: "unix:xapi-clientcert": the socket path must be absolute}],
    ['xapi:// without a unix: socket', "ProxyPass /rrd xapi://rrdd/\n",
     'ProxyPass /rrd',
     qr{XAPIFWD0500: ProxyPass on line \d+ of \S+: "xapi://rrdd/" has no unix: socket}],
    ['xapi:// without a socket in <Location>',
     qq{<Location /rrd>\n    SetHandler "proxy:xapi://rrdd/"\n</Location>\n},
     'SetHandler',
     qr{XAPIFWD0500: SetHandler on line \d+ of \S+: "xapi://rrdd/" has no unix: socket}],
    ['xapi:// URL without a host',
     qq{ProxyPass /rrd "unix:/tmp/rrdd.sock|xapi:///"\n}, 'ProxyPass /rrd',
     qr{XAPIFWD0504: ProxyPass on line \d+ of \S+: "xapi:///" does not parse as xapi://NAME/}],
    ['socket path longer than sun_path (SetHandler)',
     qq{<Location /rrd>\n    SetHandler "proxy:unix:$long|xapi://rrdd/"\n</Location>\n},
     'SetHandler',
     qr{XAPIFWD0503: SetHandler on line \d+ of \S+: the socket path \Q$long\E is 120 bytes long; sun_path holds at most 107}],
    ['socket path longer than mod_proxy keeps (ProxyPass)',
     qq{ProxyPass /rrd "unix:$long|xapi://rrdd/"\n}, 'ProxyPass /rrd',
     qr{ProxyPass worker uds path \(\Q$long\E\) too long}],
    ['two sockets behind one worker name',
     qq{ProxyPass /rrd "unix:/tmp/rrdd.sock|xapi://rrdd/"\n}
     . qq{<Location /xenops>\n    ProxyPass "unix:/tmp/xenopsd.sock|xapi://rrdd/"\n</Location>\n},
     'ProxyPass "unix:/tmp/xenopsd.sock',
     qr{XAPIFWD0505: ProxyPass on line \d+ of \S+: worker "xapi://rrdd/" would also stand for socket /tmp/xenopsd.sock, but ProxyPass on line \d+ of \S+ gave "xapi://rrdd/" socket /tmp/rrdd.sock}],
    ['two sockets, one name a prefix of the other',
     qq{ProxyPassMatch ^/a/(.*) "unix:/tmp/a.sock|xapi://rrdd/\$1"\n}
     . qq{ProxyPass /b "unix:/tmp/b.sock|xapi://rrdd/b/"\n},
     'ProxyPass /b', qr{XAPIFWD0505: ProxyPass on line \d+ of \S+: worker "xapi://rrdd/b/"}],
    ['unknown cache provider', "XapiForwardCache redix:127.0.0.1\n$AUTH",
     'XapiForwardCache',
     qr{XAPIFWD0506: XapiForwardCache on line \d+ of \S+: no socache provider "redix"}],
    ['cache provider arguments it refuses',
     "LoadModule socache_memcache_module MODDIR/mod_socache_memcache.so\n"
     . "XapiForwardCache memcache\n$AUTH", 'XapiForwardCache',
     qr{XAPIFWD0507: XapiForwardCache on line \d+ of \S+: memcache: List of server names required}],
);

# configurations that must pass (the checks refuse no sound setup)
my @fine = (
    ['one socket per name, the same socket twice, a <Location> ProxyPass',
     qq{ProxyPass /rrd "unix:/tmp/rrdd.sock|xapi://rrdd/"\n}
     . qq{ProxyPass /rrd2 "unix:/tmp/rrdd.sock|xapi://rrdd/"\n}
     . qq{<Location /xenops>\n    ProxyPass "unix:/tmp/xenopsd.sock|xapi://xenopsd/"\n</Location>\n}
     . qq{<Location /h>\n    SetHandler "proxy:unix:/tmp/h.sock|xapi://h/"\n</Location>\n}
     . "XapiForwardPoolSecretFile $files/secret\n"
     . "XapiForwardXapiURL unix:/var/lib/xcp/xapi\n"
     . "XapiForwardLoginURL https://pool-master:443\n"
     . "XapiForwardClientCertName host1.pool.example\n"
     . "XapiForwardClientCertURL unix:/var/lib/xcp/xapi-clientcert\n"],
    ['every directive of a generic setter, at its limits',
     "XapiForwardXapiVerify Off\nXapiForwardXapiTimeout 10ms\n"
     . "XapiForwardXapiCAFile $files/secret\nXapiForwardCacheTTL 0\n"
     . "XapiForwardCacheNegativeTTL 86400\nXapiForwardCacheKeyFile $files/secret\n"
     . "<VirtualHost 127.0.0.1:80>\n    ServerName pool\n"
     . "    XapiForwardVHostBySNI On\n</VirtualHost>\n"
     . "<Location /p>\n    XapiForwardPathKey URI\n    XapiForwardMaxEnvelope 65536\n"
     . "    XapiForwardForceClose Off\n    XapiForwardMissingStatus 404\n"
     . "    XapiForwardTopTraceparent Off\n    XapiForwardMode Relay\n"
     . "    XapiForwardReplyTimeout 250ms\n    XapiForwardRelay tunnel\n"
     . "    XapiForwardTunnelTimeout 86400\n    XapiForwardControlLifetime 0\n"
     . "    XapiForwardStunnelProxy Off\n    XapiForwardAuthRealm pool\n"
     . "    XapiForwardForwardCredentials On\n"
     . "    XapiForwardPluginNoSessionStatus 401\n</Location>\n"],
);

plan tests => 2 * @cases + @fine, need_module('proxy', 'xapi_forward');

my $moddir = XapiForward::FrontEnd::moddir();
my $i = 0;
for my $c (@cases) {
    my($name, $body, $at, $re, $skip) = @$c;
    if ($skip) {
        skip $skip for 1 .. 2;
        next;
    }
    $body =~ s/MODDIR/$moddir/g;
    my $mods = module_conf('proxy', 'socache_shmcb');
    my($rc, $out, $conf) = configtest('cfg' . ++$i, $mods . $body);
    # the line of the directive at fault in the generated file
    my @lines = split /\n/, XapiForward::FrontEnd::slurp($conf);
    my($n) = grep { $lines[$_ - 1] =~ /\Q$at\E/ } 1 .. @lines;
    my $where = qr{(?:Syntax error on line $n of \Q$conf\E:\s*\S|on line $n of \Q$conf\E)};
    ok t_cmp($rc != 0 && $out =~ $where ? 'refused at the line' : "rc=$rc: $out",
             'refused at the line', "$name: httpd -t fails naming line $n");
    ok t_cmp($out, $re, "$name: the message");
}
for my $c (@fine) {
    my($name, $body) = @$c;
    my($rc, $out) = configtest('fine' . ++$i, module_conf('proxy') . $body);
    ok t_cmp("$rc $out", qr/^0 .*Syntax OK/s, "$name: Syntax OK");
}
