#!/bin/sh
# Guards. The settings come from one list per config struct (XF_DIR_FIELDS,
# XF_SRV_FIELDS in xf_config.h): struct members, create, merge, accessors
# and the generic directives are generated from it, so no field can miss
# create or merge. What is checked here is what the compiler cannot see:
# - the structs, create and merge are the lists' expansions and nothing else
# - every row names its directive; an OWN row's directive has a
#   hand-written xf_cmds[] entry, a SET row's has none (it is generated)
# - every directive of the command table (SET rows + hand-written entries)
#   is in docs/directives.md's directive table and in conf.d/xapi_forward.conf (its
#   syntax line and its commented-out default), and both name no other
# - the defaults that table, conf.d and the generated help show are the
#   rows' (t/config_defaults prints those)
# - every XAPIFWDnnnn tag in the sources is in docs/operating.md's log table,
#   and names one call site only.
set -e
cd "$(dirname "$0")/.."
src=mod_xapi_forward
hdr=$src/xf_config.h
fail=0
directives=docs/directives.md   # "## Directive reference"
operating=docs/operating.md     # "## Log messages"
err() { echo "check-config: $*"; fail=1; }

# body of the C function or struct that starts with the line matching $1
body() { sed -n "/^$1/,/^}/p" "$2"; }
# "struct T is XF_..._FIELDS(XF_MEMBER) only", same for create and merge
only() {
    got=$(printf '%s\n' "$1" | sed '1d;$d' \
        | grep -v -e '^ *$' -e '^{$' -e 'apr_pcalloc' -e '^ *return ' -e '^ *const xf_' | sed 's/^ *//')
    [ "$got" = "$2" ] || err "$3 is not generated from the list: '$got'"
}
only "$(body 'typedef struct xf_dir_conf_t {' $hdr)" 'XF_DIR_FIELDS(XF_MEMBER)' xf_dir_conf_t
only "$(body 'typedef struct xf_srv_conf_t {' $hdr)" 'XF_SRV_FIELDS(XF_MEMBER)' xf_srv_conf_t
only "$(body 'void \*xf_config_dir_create(' $src/xf_config.c)" 'XF_DIR_FIELDS(XF_CREATE)' xf_config_dir_create
only "$(body 'void \*xf_config_dir_merge(' $src/xf_config.c)" 'XF_DIR_FIELDS(XF_MERGE)' xf_config_dir_merge
only "$(body 'void \*xf_config_srv_create(' $src/xf_config.c)" 'XF_SRV_FIELDS(XF_CREATE)' xf_config_srv_create
only "$(body 'void \*xf_config_srv_merge(' $src/xf_config.c)" 'XF_SRV_FIELDS(XF_MERGE)' xf_config_srv_merge

# the rows of both lists: "SET|OWN Directive" each; a row this does not
# read must not go unchecked
lists=$(awk '/^#define XF_(DIR|SRV)_FIELDS\(X\)/ { on = 1; next }
             on { print; if ($0 !~ /\\$/) on = 0 }' $hdr)
nrows=$(printf '%s\n' "$lists" | grep -c '^ *X(' || true)
rows=$(printf '%s\n' "$lists" \
    | sed -n 's/^ *\(SET\|OWN\), "\(XapiForward[A-Za-z]*\)",.*/\1 \2/p')
[ "$nrows" -gt 0 ] && [ "$nrows" = "$(printf '%s\n' "$rows" | grep -c .)" ] \
    || err "xf_config.h: $nrows rows but $(printf '%s\n' "$rows" | grep -c .) read as 'SET|OWN, \"Directive\",'"
set_dirs=$(printf '%s\n' "$rows" | sed -n 's/^SET //p')
own_dirs=$(printf '%s\n' "$rows" | sed -n 's/^OWN //p' | sort -u)
hand=$(grep -ho 'AP_INIT_[A-Z0-9]*("[A-Za-z]*"' $src/*.c | sed 's/.*("//;s/"//')
for d in $own_dirs; do
    printf '%s\n' $hand | grep -qx "$d" \
        || err "$d (an OWN row's directive) has no hand-written xf_cmds[] entry"
done
for d in $set_dirs; do
    printf '%s\n' $hand | grep -qx "$d" \
        && err "$d is a SET row (its entry is generated) and hand-written too"
done
dups=$(printf '%s\n' $set_dirs $hand | sort | uniq -d)
[ -z "$dups" ] || err "directives defined twice: $dups"

# documentation: the directive table and conf.d, both ways
cmds=$(printf '%s\n' $set_dirs $hand | sort -u)
table=$(sed -n '/^## Directive reference/,/^## /p' $directives \
    | sed -n 's/^| `\(XapiForward[A-Za-z]*\)[ `].*/\1/p')
conf=conf.d/xapi_forward.conf
for d in $cmds; do
    printf '%s\n' $table | grep -qx "$d" \
        || err "$d missing from $directives's directive table"
    grep -Eq "^#   $d( |\$)" $conf \
        || err "$d has no '#   $d SYNTAX' line in $conf"
    grep -Eq "^#$d( |\$)" $conf \
        || err "$d has no commented-out '#$d DEFAULT' line in $conf"
done
for d in $table $(sed -n 's/^#   \(XapiForward[A-Za-z]*\).*/\1/p' $conf); do
    printf '%s\n' $cmds | grep -qx "$d" \
        || err "$d is documented ($directives or $conf) but is no directive"
done

# defaults: each is written once, in its row of the lists; the table
# and conf.d's commented-out line show the row's (t/config_defaults prints
# them; "-": the row has none, and the documentation says in words what
# happens then), and a generated directive's help names no other
defaults=$(t/config_defaults) || err "t/config_defaults failed (make t/config_defaults)"
printf '%s\n' "$defaults" | while IFS='	' read -r d dflt helpdflt; do
    [ "$helpdflt" = ok ] \
        || echo "check-config: $d: its help says default $helpdflt, its row gives ${dflt}"
done | grep . && fail=1
for d in $cmds; do
    row=$(printf '%s\n' "$defaults" | awk -F'\t' -v d="$d" '$1 == d { print $2; exit }')
    [ -n "$row" ] || continue    # no row of its own (a second directive of one)
    # the table's second column (the first holds escaped bars: \|)
    cell=$(sed -n '/^## Directive reference/,/^## /p' $directives | perl -ne '
        my @c = split /(?<!\\)\|/; next unless @c > 3;
        ($c[2] = $c[2]) =~ s/^ +| +$//g;
        if ($c[1] =~ /^ `\Q'"$d"'\E[ `]/) { print $c[2]; exit }')
    line=$(sed -n "s/^#$d \\(.*\\)/\\1/p" $conf | head -n 1)
    if [ "$row" = - ]; then
        case $cell in
        \`*) err "$d: $directives shows default $cell; its row has none (say in words what happens)" ;;
        esac
    else
        [ "$cell" = "\`$row\`" ] \
            || err "$d: $directives shows default '$cell'; its row gives \`$row\`"
        [ "$line" = "$row" ] \
            || err "$d: $conf shows '#$d $line'; its row gives $row"
    fi
done

# log tags: in the rows of the log table
logtable=$(sed -n '/^## Log messages/,/^## /p' $operating | grep '^| XAPIFWD')
[ -n "$logtable" ] || err "$operating has no '## Log messages' table"
for tag in $(grep -ho 'XF_LOGNO([0-9]*)' $src/*.c | sed 's/XF_LOGNO(\([0-9]*\))/\1/' | sort -u); do
    printf '%s\n' "$logtable" | grep -q "XAPIFWD$tag" || err "XAPIFWD$tag missing from $operating's log table"
done
# one tag per call site, never reused (httpd's own rule): a tag names the
# line that logged it
dups=$(grep -ho 'XF_LOGNO([0-9]*)' $src/*.c $src/*/*.c 2>/dev/null | sort | uniq -d)
for d in $dups; do
    echo "$d is used at more than one call site:"
    grep -n "$d" $src/*.c $src/*/*.c 2>/dev/null
    fail=1
done
[ $fail = 0 ] && echo "check-config: OK ($nrows settings, $(printf '%s\n' $cmds | grep -c .) directives)"
exit $fail
