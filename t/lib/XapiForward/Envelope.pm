# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# XapiForward::Envelope - the envelope a request must produce,
# computed independently of the C code, plus an order-preserving JSON reader
# for assertions on key order.
package XapiForward::Envelope;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use MIME::Base64 ();

our @EXPORT_OK = qw(expected_envelope json_str decode_ordered top_keys
                    key_order_ok parse_head);

# the top-level keys, in the order the envelope must use
our @KEY_ORDER = qw(m uri path query version frame transfer_encoding accept
                    content_length auth cookie task subtask_of content_type
                    host user_agent close additional_headers body
                    traceparent);

# headers with a field of their own; Connection is consumed (it sets close)
# only when it says exactly "close" or "keep-alive" (xapi http_svr.ml),
# otherwise ("TE, close", "Upgrade") it is an additional header
my %FIELD_OF = (
    'transfer-encoding' => 'transfer_encoding',
    'accept'            => 'accept',
    'content-length'    => 'content_length',
    'authorization'     => 'auth',
    'cookie'            => 'cookie',
    'task-id'           => 'task',
    'subtask-of'        => 'subtask_of',
    'content-type'      => 'content_type',
    'host'              => 'host',
    'user-agent'        => 'user_agent',
    'connection'        => undef,
);

# Yojson's string escaping: \" \\ \b \f \n \r \t, other bytes < 0x20 and
# 0x7F as \u00xx (lower-case hex), everything else raw (bytes, not chars)
sub json_str {
    my $s = shift;
    my %esc = ('"' => '\\"', '\\' => '\\\\', "\b" => '\\b', "\f" => '\\f',
               "\n" => '\\n', "\r" => '\\r', "\t" => '\\t');
    $s =~ s{(["\\\x00-\x1f\x7f])}
           {exists $esc{$1} ? $esc{$1} : sprintf('\\u%04x', ord $1)}ge;
    return qq{"$s"};
}

sub pct_decode {
    my $s = shift;
    $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $s;
}

# xapi's query rules: split on '&', then on the first '=', '+' is a space,
# percent-decoded, "?a" gives "a":""
sub query_pairs {
    my $q = shift;
    return () unless defined $q && length $q;
    my @pairs;
    for my $item (split /&/, $q, -1) {
        my($k, $v) = split /=/, $item, 2;
        $v = '' unless defined $v;
        for ($k, $v) { tr/+/ /; $_ = pct_decode($_) }
        push @pairs, [$k, $v];
    }
    return @pairs;
}

# xapi's fix_cookie: split on [;,][ \t]*, drop $-items, keep the first two
# '='-separated parts, "n" alone gives ("n","")
sub cookie_pairs {
    my $c = shift;
    my @pairs;
    for my $item (split /[;,][ \t]*/, $c) {
        next if $item eq '' || substr($item, 0, 1) eq '$';
        my @p = split /=/, $item, -1;
        push @pairs, [$p[0], defined $p[1] ? $p[1] : ''];
    }
    return @pairs;
}

sub obj {
    my @pairs = @_;
    return '{' . join(',', map { json_str($_->[0]) . ':' . json_str($_->[1]) }
                      @pairs) . '}';
}

# Arguments:
#   method   'GET', 'get', 'DELETE' ...
#   target   the request target as sent ('/r/echo?a=1', 'http://h/p?q')
#   version  '1.1' | '1.0'
#   headers  [[Name => value], ...] in wire order (no repeated names)
#   pathkey  'both' (default) | 'path' | 'uri'
#   tp_top   1 (default): top-level "traceparent" copy when the header is
#            there
#   close    'true' (default) | 'false'
#   forward_auth  1 (default)
#   stunnel  value of the STUNNEL_PROXY entry (TLS only), default none
sub expected_envelope {
    my %a = @_;
    my $pathkey = $a{pathkey} || 'both';
    my $tp_top  = exists $a{tp_top} ? $a{tp_top} : 1;
    my $fwd_auth = exists $a{forward_auth} ? $a{forward_auth} : 1;

    my $m = $a{method};
    my $mj = $m =~ /^(GET|POST|PUT|CONNECT|OPTIONS)$/
      ? json_str(ucfirst lc $m)
      : '[' . json_str('Unknown') . ',' . json_str($m) . ']';

    my $target = $a{target};
    $target =~ s{^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*}{};   # absolute-form
    $target = '/' if $target eq '';
    my($rawpath, $rawq) = split /\?/, $target, 2;
    my $path = pct_decode($rawpath);

    my(%field, @additional, $traceparent);
    for my $h (@{ $a{headers} || [] }) {
        my($name, $val) = @$h;
        my $lc = lc $name;
        $val =~ s/^[ \t]+//;
        $val =~ s/[ \t]+$//;
        $traceparent = $val if $lc eq 'traceparent';
        if ($lc eq 'connection' && lc($val) !~ /^(?:close|keep-alive)$/) {
            push @additional, [$lc, $val];
        }
        elsif (exists $FIELD_OF{$lc}) {
            $field{$FIELD_OF{$lc}} = $val if defined $FIELD_OF{$lc};
        }
        else {
            push @additional, [$lc, $val];
        }
    }
    # reverse wire order, then STUNNEL_PROXY last
    @additional = reverse @additional;
    push @additional, ['STUNNEL_PROXY', $a{stunnel}] if $a{stunnel};

    my @out;
    push @out, '"m":' . $mj;
    push @out, '"uri":' . json_str($path)  if $pathkey ne 'path';
    push @out, '"path":' . json_str($path) if $pathkey ne 'uri';
    push @out, '"query":' . obj(query_pairs($rawq));
    push @out, '"version":' . json_str($a{version} || '1.1');
    push @out, '"frame":false';
    for my $f (qw(transfer_encoding accept)) {
        push @out, qq{"$f":} . json_str($field{$f}) if defined $field{$f};
    }
    push @out, '"content_length":' . (0 + $field{content_length})
      if defined $field{content_length};
    if (defined $field{auth} && $fwd_auth) {
        my $v = $field{auth};
        if ($v =~ /^Basic\s+(\S+)$/i) {
            my($u, $p) = split /:/, MIME::Base64::decode_base64($1), 2;
            push @out, '"auth":[' . join(',', map json_str($_), 'Basic', $u,
                                         defined $p ? $p : '') . ']';
        }
        else {
            push @out, '"auth":[' . json_str('UnknownAuth') . ','
              . json_str($v) . ']';
        }
    }
    push @out, '"cookie":'
      . obj(defined $field{cookie} ? cookie_pairs($field{cookie}) : ());
    for my $f (qw(task subtask_of content_type host user_agent)) {
        push @out, qq{"$f":} . json_str($field{$f}) if defined $field{$f};
    }
    push @out, '"close":' . ($a{close} || 'true');
    push @out, '"additional_headers":' . obj(@additional);
    push @out, '"traceparent":' . json_str($traceparent)
      if $tp_top && defined $traceparent;
    return '{' . join(',', @out) . '}';
}

# Split a raw request head into (request line, [[name, value], ...]).
sub parse_head {
    my $head = shift;
    $head =~ s/\r\n\r\n.*\z//s;
    my($line, @lines) = split /\r\n/, $head;
    return ($line, [map { [split /:[ \t]*/, $_, 2] } @lines]);
}

# --- an order-preserving JSON reader (objects become [[k, v], ...]) -------

sub decode_ordered {
    my $s = shift;
    my $pos = 0;
    my $v = _value(\$s, \$pos);
    _ws(\$s, \$pos);
    die "trailing data at $pos\n" if $pos != length $s;
    return $v;
}

sub _ws { my($s, $p) = @_; $$p++ while $$p < length $$s && substr($$s, $$p, 1) =~ /[ \t\r\n]/ }

sub _value {
    my($s, $p) = @_;
    _ws($s, $p);
    my $c = substr($$s, $$p, 1);
    if ($c eq '{') {
        $$p++;
        my @pairs;
        _ws($s, $p);
        if (substr($$s, $$p, 1) eq '}') { $$p++; return bless [], 'XapiForward::Envelope::Obj' }
        while (1) {
            _ws($s, $p);
            my $k = _string($s, $p);
            _ws($s, $p);
            die "expected ':' at $$p\n" unless substr($$s, $$p++, 1) eq ':';
            push @pairs, [$k, _value($s, $p)];
            _ws($s, $p);
            my $d = substr($$s, $$p++, 1);
            last if $d eq '}';
            die "expected ',' or '}' at $$p\n" unless $d eq ',';
        }
        return bless \@pairs, 'XapiForward::Envelope::Obj';
    }
    if ($c eq '[') {
        $$p++;
        my @a;
        _ws($s, $p);
        if (substr($$s, $$p, 1) eq ']') { $$p++; return \@a }
        while (1) {
            push @a, _value($s, $p);
            _ws($s, $p);
            my $d = substr($$s, $$p++, 1);
            last if $d eq ']';
            die "expected ',' or ']' at $$p\n" unless $d eq ',';
        }
        return \@a;
    }
    return _string($s, $p) if $c eq '"';
    if (substr($$s, $$p) =~ /^(true|false|null|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)/) {
        $$p += length $1;
        return $1 eq 'true' ? \1 : $1 eq 'false' ? \0 : $1 eq 'null' ? undef : 0 + $1;
    }
    die "unexpected '$c' at $$p\n";
}

sub _string {
    my($s, $p) = @_;
    die "expected string at $$p\n" unless substr($$s, $$p, 1) eq '"';
    $$p++;
    my $out = '';
    while (1) {
        die "unterminated string\n" if $$p >= length $$s;
        my $c = substr($$s, $$p++, 1);
        return $out if $c eq '"';
        if ($c eq '\\') {
            my $e = substr($$s, $$p++, 1);
            if ($e eq 'u') { $out .= chr hex substr($$s, $$p, 4); $$p += 4 }
            else { $out .= { b => "\b", f => "\f", n => "\n", r => "\r",
                             t => "\t", '"' => '"', '\\' => '\\',
                             '/' => '/' }->{$e} // die "bad escape \\$e\n" }
        }
        else {
            $out .= $c;
        }
    }
}

# top-level keys of an envelope, in order
sub top_keys {
    my $v = decode_ordered(shift);
    return map { $_->[0] } @$v;
}

# true when the keys appear in @KEY_ORDER's order, each at most once
sub key_order_ok {
    my @keys = @_;
    my %rank;
    @rank{@KEY_ORDER} = 0 .. $#KEY_ORDER;
    my $last = -1;
    for my $k (@keys) {
        return 0 unless exists $rank{$k} && $rank{$k} > $last;
        $last = $rank{$k};
    }
    return 1;
}

package XapiForward::Envelope::Obj;

# $obj->get('key'): the last value for a key (xapi: last one wins)
sub get {
    my($self, $k) = @_;
    my $v;
    $_->[0] eq $k and $v = $_->[1] for @$self;
    return $v;
}

sub keys { map { $_->[0] } @{ $_[0] } }

1;
