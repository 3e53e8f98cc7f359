# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::TestCA - a real certificate authority for the TLS tests,
# made with the openssl command: xapi's two server certificates and the
# client certificates of client-certificate authentication.  Idempotent:
# what is already in the directory is reused (t/TEST.PL makes the suite's
# set at configure time, before httpd starts).
#
#   my $ca = XapiForward::TestCA->suite;      # the suite's: Apache::Test
#                                             # var xf_ca_dir
#   my $ca = XapiForward::TestCA->new($dir);  # or a directory of its own
#   $ca->dir;
#   $ca->ca_file;      # ca.pem: the CA's certificate
#   $ca->bundle;       # ca-bundle.pem: the CAs trusted for client
#                      # certificates (as /etc/stunnel/xapi-stunnel-ca-bundle.pem)
#   $ca->xapi_ssl;     # xapi-ssl.pem: key + certificate in one file, as
#                      # /etc/xensource/xapi-ssl.pem; RSA 2048,
#                      # CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   $ca->pool_pem;     # xapi-pool-tls.pem: the same shape, CN=xf-pool,
#                      # SAN DNS:pool (as /etc/xensource/xapi-pool-tls.pem)
#   $ca->client_name;  # 'xf-client': the name the right certificate
#                      # carries (stunnel checkHost, X509_check_host)
#   my $c = $ca->client('right');   # right | wrong | untrusted | expired
#   $c->{pem};  $c->{cert};  $c->{key};   # key+cert, cert only, key only
#   $c->{cn};                             # its subject CN
#   $ca->client_cert('mine', name => 'xf-other', issuer => 'other',
#                    expired => 1);       # any other, made once
#   $ca->cn_of($pem_or_der_text);         # subject CN of a certificate
#
# The client certificates: right (SAN DNS:xf-client, by the CA), wrong
# (SAN DNS:xf-wrong, by the CA), untrusted (SAN DNS:xf-client, by another
# CA not in the bundle: other-ca.pem), expired (SAN DNS:xf-client, by the
# CA, valid 2020-01-01 to 2020-01-02: made with `openssl ca`, which alone
# in OpenSSL 3.0 takes a start and end date).  Every key is RSA 2048, as
# xapi's: its cipher list is ECDHE-RSA only (server keys), and its
# "curve = secp384r1" makes OpenSSL refuse a TLS 1.2 client certificate on
# another curve (stunnel: "SSL_accept: ... wrong curve"), so an EC P-256
# client key would fail for a reason that has nothing to do with the test.
package XapiForward::TestCA;

use strict;
use warnings FATAL => 'all';

use File::Path ();
use File::Spec ();

my $CLIENT_NAME = 'xf-client';

my %CLIENTS = (
    right     => { name => $CLIENT_NAME, issuer => 'ca' },
    wrong     => { name => 'xf-wrong', issuer => 'ca' },
    untrusted => { name => $CLIENT_NAME, issuer => 'other' },
    expired   => { name => $CLIENT_NAME, issuer => 'ca', expired => 1 },
);

sub suite {
    my $class = shift;
    require Apache::Test;
    my $dir = Apache::Test::vars()->{xf_ca_dir}
      or die "no Apache::Test var xf_ca_dir (t/TEST.PL makes it)\n";
    return $class->new($dir);
}

sub new {
    my($class, $dir) = @_;
    my $self = bless { dir => File::Spec->rel2abs($dir) }, $class;
    File::Path::mkpath($self->{dir});
    $self->make_ca('ca', 'xf-test-ca');
    $self->make_ca('other', 'xf-other-ca');
    $self->make_server('xapi-ssl', 'localhost',
                       'DNS:localhost,IP:127.0.0.1');
    $self->make_server('xapi-pool-tls', 'xf-pool', 'DNS:pool');
    unless (-s $self->path('ca-bundle.pem')) {
        $self->spew('ca-bundle.pem', $self->slurp('ca.pem'));
    }
    $self->client($_) for sort keys %CLIENTS;
    return $self;
}

sub dir         { $_[0]{dir} }
sub path        { "$_[0]{dir}/$_[1]" }
sub ca_file     { $_[0]->path('ca.pem') }
sub bundle      { $_[0]->path('ca-bundle.pem') }
sub xapi_ssl    { $_[0]->path('xapi-ssl.pem') }
sub pool_pem    { $_[0]->path('xapi-pool-tls.pem') }
sub client_name { $CLIENT_NAME }

sub slurp {
    my($self, $name) = @_;
    open my $fh, '<', $self->path($name) or die $self->path($name) . ": $!\n";
    local $/;
    return scalar <$fh>;
}

# write a file atomically (a parallel reader sees the old or the new one)
sub spew {
    my($self, $name, $text) = @_;
    my $f = $self->path($name);
    open my $fh, '>', "$f.tmp$$" or die "$f.tmp$$: $!\n";
    print $fh $text;
    close $fh or die "$f: $!\n";
    rename "$f.tmp$$", $f or die "rename $f: $!\n";
}

# run openssl in the directory, quietly; die with its output on failure
sub openssl {
    my($self, @args) = @_;
    my $out = "$self->{dir}/openssl.out.$$";
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if (!$pid) {
        chdir $self->{dir};
        open STDOUT, '>', $out;
        open STDERR, '>&', \*STDOUT;
        exec 'openssl', @args;
        exit 127;
    }
    waitpid $pid, 0;
    my $rc = $?;
    my $text = do { local(@ARGV, $/) = ($out); <> } // '';
    unlink $out;
    die "openssl @args: failed ($rc): $text\n" if $rc;
}

sub make_ca {
    my($self, $label, $cn) = @_;
    return if -s $self->path("$label.pem") && -s $self->path("$label.key");
    $self->openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                   '-keyout', "$label.key.tmp", '-out', "$label.pem.tmp",
                   '-days', '3650', '-subj', "/CN=$cn",
                   '-addext', 'basicConstraints=critical,CA:TRUE',
                   '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    rename $self->path("$label.key.tmp"), $self->path("$label.key");
    rename $self->path("$label.pem.tmp"), $self->path("$label.pem");
}

# a key, a CSR and a certificate signed by $issuer ('ca' or 'other');
# writes LABEL.pem (key + cert), LABEL.crt, LABEL.key
sub make_leaf {
    my($self, $label, %o) = @_;
    return if -s $self->path("$label.pem");
    my $t = "$label.tmp$$";
    $self->openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes',
                   '-keyout', "$t.key",
                   '-out', "$t.csr", '-subj', "/CN=$o{cn}");
    $self->spew("$t.ext", "basicConstraints=critical,CA:FALSE\n"
                . "keyUsage=critical,digitalSignature,keyEncipherment\n"
                . "extendedKeyUsage=$o{eku}\n"
                . "subjectAltName=$o{san}\n");
    my $issuer = $o{issuer} || 'ca';
    if ($o{expired}) {
        # openssl ca: the one OpenSSL 3.0 command with a start/end date
        my $db = "$t.db";
        File::Path::mkpath($self->path($db));
        $self->spew("$db/index.txt", '');
        $self->spew("$t.cnf", <<"EOC");
[ca]
default_ca = xf
[xf]
database = $self->{dir}/$db/index.txt
new_certs_dir = $self->{dir}/$db
serial = $self->{dir}/$db/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
EOC
        $self->spew("$db/serial", sprintf("%X\n", 4096 + int rand 1e9));
        $self->openssl('ca', '-batch', '-config', "$t.cnf", '-notext',
                       '-cert', "$issuer.pem", '-keyfile', "$issuer.key",
                       '-startdate', '20200101000000Z',
                       '-enddate', '20200102000000Z',
                       '-extfile', "$t.ext", '-in', "$t.csr",
                       '-out', "$t.crt");
        File::Path::rmtree($self->path($db));
        unlink $self->path("$t.cnf");
    }
    else {
        $self->openssl('x509', '-req', '-in', "$t.csr", '-CA',
                       "$issuer.pem", '-CAkey', "$issuer.key",
                       '-set_serial', 4096 + int rand 1e9, '-days', '825',
                       '-sha256', '-extfile', "$t.ext", '-out', "$t.crt");
    }
    my $key = $self->slurp("$t.key");
    my $crt = $self->slurp("$t.crt");
    $self->spew("$label.key", $key);
    $self->spew("$label.crt", $crt);
    chmod 0600, $self->path("$label.key");
    # xapi's layout: the key, then the certificate, in one file
    $self->spew("$label.pem", $key . $crt);
    chmod 0600, $self->path("$label.pem");   # stunnel warns otherwise
    unlink map { $self->path("$t.$_") } qw(key csr ext crt);
}

sub make_server {
    my($self, $label, $cn, $san) = @_;
    $self->make_leaf($label, cn => $cn, san => $san, eku => 'serverAuth');
}

# client certificate $label: made once from %o (name, issuer, expired)
sub client_cert {
    my($self, $label, %o) = @_;
    my $file = "client-$label";
    $self->make_leaf($file, cn => $o{name}, san => "DNS:$o{name}",
                     eku => 'clientAuth', issuer => $o{issuer},
                     expired => $o{expired});
    return { pem => $self->path("$file.pem"), cert => $self->path("$file.crt"),
             key => $self->path("$file.key"), cn => $o{name} };
}

sub client {
    my($self, $kind) = @_;
    my $c = $CLIENTS{$kind} or die "no client certificate kind '$kind'\n";
    return $self->client_cert($kind, %$c);
}

# the subject CN of a PEM certificate (text) or certificate file
sub cn_of {
    my($self, $pem) = @_;
    my $in = $pem;
    unless ($pem =~ /-----BEGIN/) {
        open my $fh, '<', $pem or die "$pem: $!\n";
        local $/;
        $in = <$fh>;
    }
    my $f = $self->path("cn.tmp$$");
    open my $fh, '>', $f or die "$f: $!\n";
    print $fh $in;
    close $fh;
    my $subj = `openssl x509 -noout -subject -nameopt RFC2253 -in '$f' 2>/dev/null`;
    unlink $f;
    return $subj =~ /CN=([^,\n]+)/ ? $1 : undef;
}

1;
