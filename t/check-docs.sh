#!/bin/sh
# Guards on the documentation (README.md, docs/*.md, and every other
# tracked *.md): every relative link names a file that exists, and every
# #anchor (in the same file or in the linked .md) is a heading of that
# file, with GitHub's anchors: lower-cased, punctuation other than - and _
# dropped, spaces as -, a repeated heading suffixed -1, -2...
# Links in fenced code blocks and in `code` spans are not links; http(s):,
# mailto: links are not checked. README.md must link every docs/*.md.
set -e
cd "$(dirname "$0")/.."
files=$( { ls README.md docs/*.md; git ls-files '*.md' 2>/dev/null || true; } | sort -u)
perl -e '
use strict; use warnings;
use File::Basename qw(dirname);
use File::Spec;
my $fail = 0;
my %anchors;
sub slug { my $t = lc shift; $t =~ s/[^\w\- ]//g; $t =~ s/ /-/g; $t }
sub text { open my $f, "<:encoding(UTF-8)", $_[0] or return; local $/; my $s = <$f>; $s }
sub lines {   # the lines outside fenced code blocks
    my @out; my $fence = 0;
    for (split /\n/, shift) {
        if (/^\s*(```|~~~)/) { $fence = !$fence; push @out, ""; next }
        push @out, $fence ? "" : $_;
    }
    @out
}
sub anchors {
    my $p = shift;
    return $anchors{$p} if $anchors{$p};
    my (%a, %seen);
    for (lines(text($p) // "")) {
        next unless /^#{1,6}\s+(.*?)\s*#*\s*$/;
        my $s = slug($1); my $n = $seen{$s}++;
        $a{$n ? "$s-$n" : $s} = 1;
    }
    $anchors{$p} = \%a;
}
for my $file (@ARGV) {
    my $n = 0;
    for my $l (lines(text($file) // die "$file: unreadable\n")) {
        $n++;
        (my $t = $l) =~ s/`[^`]*`//g;            # code spans
        while ($t =~ /\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g) {
            my $link = $1;
            next if $link =~ /^[a-z][a-z0-9+.-]*:/i;   # http:, mailto:...
            my ($path, $frag) = $link =~ /^([^#]*)(?:#(.*))?$/;
            my $target = $file;
            if ($path ne "") {
                $target = File::Spec->canonpath(dirname($file) . "/" . $path);
                if (!-e $target) {
                    print "check-docs: $file:$n: $link: no file $target\n"; $fail = 1; next;
                }
            }
            next unless defined $frag;
            if ($target !~ /\.md$/) {
                print "check-docs: $file:$n: $link: anchor into a non-Markdown file\n"; $fail = 1; next;
            }
            if (!anchors($target)->{$frag}) {
                print "check-docs: $file:$n: $link: no heading #$frag in $target\n"; $fail = 1;
            }
        }
    }
}
# README links every docs/*.md
my $readme = text("README.md") // "";
for my $d (glob "docs/*.md") {
    next if $readme =~ /\]\(\Q$d\E(#[^)]*)?\)/;
    print "check-docs: README.md does not link $d (Where to read on)\n"; $fail = 1;
}
print "check-docs: OK (", scalar(@ARGV), " files)\n" unless $fail;
exit $fail;
' $files
