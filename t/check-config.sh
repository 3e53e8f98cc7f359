#!/bin/sh
# Guards: every field of xf_dir_conf_t and xf_srv_conf_t is unset in
# create and merged in merge; every directive in xf_cmds[] is in conf.d/xapi_forward.conf and in
# the README's directive reference; every XAPIFWDnnnn tag in the sources is
# in the README's log table, and names one call site only.
set -e
cd "$(dirname "$0")/.."
src=mod_xapi_forward
fail=0
# check_struct TYPE VAR CREATE MERGE: every field of TYPE (any type,
# pointers and `const char *` included) is unset in CREATE ("VAR->f =
# XF_UNSET;" or "= NULL;") and merged in MERGE ("VAR->f = XF_MERGE...(...,
# base, f);"), matching whole field names
check_struct() {
    body=$(sed -n "/^typedef struct $1 {/,/^} $1;/p" $src/xf_config.h \
        | sed '1d;$d' | sed 's|/\*.*\*/||; s|/\*.*||; /^ *\*/d; s/ *$//; /^ *$/d')
    fields=$(printf '%s\n' "$body" \
        | sed -n 's/^ *[A-Za-z_][A-Za-z0-9_ ]* \**\([a-z_][a-z0-9_]*\);$/\1/p')
    # a declaration the pattern above does not read must not go unchecked
    nf=$(printf '%s\n' "$fields" | grep -c .)
    nd=$(printf '%s\n' "$body" | grep -c ';')
    [ "$nf" = "$nd" ] \
        || { echo "$1: $nd declarations but $nf fields read"; fail=1; }
    create=$(sed -n "/^void \*$3(/,/^}/p" $src/xf_config.c)
    merge=$(sed -n "/^void \*$4(/,/^}/p" $src/xf_config.c)
    for f in $fields; do
        printf '%s\n' "$create" \
            | grep -Eq "^ *$2->$f = (XF_UNSET|NULL);" \
            || { echo "$1.$f not unset in $3"; fail=1; }
        printf '%s\n' "$merge" \
            | grep -Eq "^ *$2->$f = XF_MERGE(_PTR|_TABLE)?\(([a-z]+, )?add, base, $f\);" \
            || { echo "$1.$f not merged in $4"; fail=1; }
    done
}
check_struct xf_dir_conf_t d xf_config_dir_create xf_config_dir_merge
check_struct xf_srv_conf_t c xf_config_srv_create xf_config_srv_merge
for d in $(grep -ho 'AP_INIT_[A-Z0-9]*("[A-Za-z]*"' $src/*.c | sed 's/.*("//;s/"//'); do
    grep -q "$d" conf.d/xapi_forward.conf || { echo "$d missing from conf.d/xapi_forward.conf"; fail=1; }
    grep -q "$d" README.md || { echo "$d missing from README.md"; fail=1; }
done
for tag in $(grep -ho 'XF_LOGNO([0-9]*)' $src/*.c | sed 's/XF_LOGNO(\([0-9]*\))/\1/' | sort -u); do
    grep -q "XAPIFWD$tag" README.md || { echo "XAPIFWD$tag missing from README.md log table"; fail=1; }
done
# one tag per call site, never reused (httpd's own rule): a tag names the
# line that logged it
dups=$(grep -ho 'XF_LOGNO([0-9]*)' $src/*.c $src/*/*.c 2>/dev/null | sort | uniq -d)
for d in $dups; do
    echo "$d is used at more than one call site:"
    grep -n "$d" $src/*.c $src/*/*.c 2>/dev/null
    fail=1
done
[ $fail = 0 ] && echo "check-config: OK"
exit $fail
