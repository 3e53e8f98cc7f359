#!/bin/sh
# Guards: every xf_dir_conf_t field is set in create and merged in
# merge; every directive in xf_cmds[] is in conf.d/xapi_forward.conf and in
# the README's directive reference; every XAPIFWDnnnn tag in the sources is
# in the README's log table, and names one call site only.
set -e
cd "$(dirname "$0")/.."
src=mod_xapi_forward
fail=0
fields=$(sed -n '/^typedef struct xf_dir_conf_t {/,/^} xf_dir_conf_t;/p' \
    $src/xf_config.h | sed -n 's/^ *[a-z_]* \*\{0,1\}\([a-z_]*\);.*/\1/p')
for f in $fields; do
    sed -n '/^void \*xf_config_dir_create/,/^}/p' $src/xf_config.c \
        | grep -q "d->$f = XF_UNSET\|d->$f = NULL" \
        || { echo "xf_dir_conf_t.$f not unset in create"; fail=1; }
    sed -n '/^void \*xf_config_dir_merge/,/^}/p' $src/xf_config.c \
        | grep -q "base, $f)" \
        || { echo "xf_dir_conf_t.$f not merged"; fail=1; }
done
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
