#!/bin/sh
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# run-checked.sh - the Apache::Test suite against the live module, with
# httpd under a memory checker:
#
#   sh t/run-checked.sh asan <mod_xapi_forward.so built with ASan+UBSan> [tests]
#   sh t/run-checked.sh valgrind <mod_xapi_forward.so> [tests]
#
# asan: httpd runs with the ASan and UBSan runtimes preloaded (httpd itself
# is not instrumented; the module is, and every malloc/free of the process
# goes through ASan). ASAN_OPTIONS has detect_leaks=0: httpd allocates its
# pools with malloc and never frees them before exit (by design: the
# process ends), which LeakSanitizer would report by the hundred; and
# quarantine_size_mb=4 (XF_ASAN_QUARANTINE_MB): with ASan's 256 MB, freed
# memory held back for use-after-free detection counts in the RSS that
# 47_relay_big.t bounds.
# valgrind: httpd runs single-process (-X) under valgrind --trace-children
# (memcheck; pool memory still held at exit is not reported: leak checking
# is off for the same reason). t/valgrind.supp holds valgrind's own false
# positives (each explained there): a memmove() seen as an overlapping
# __memcpy_chk. Tests that need several processes (graceful restart) skip
# that check when httpd serves alone (XapiForward::Daemon
# httpd_one_process).
#
# Reports go to files in a report dir (one per process); the run fails
# when the suite fails or when any report file holds an error. Both go
# through t/run-apache-tests.sh (unprivileged user, temp copy of t/); the
# extra MPM passes are off unless XF_MPMS says otherwise.

set -u

die() { echo "run-checked.sh: $*" >&2; exit 2; }

[ $# -ge 2 ] || die "usage: $0 asan|valgrind <mod_xapi_forward.so> [tests]"
mode=$1
so=$2
shift 2
tdir=$(cd "$(dirname "$0")" && pwd) || die "cannot find t/"
httpd=${XF_HTTPD:-/usr/sbin/apache2}

# the test files, named (relative to the copied t/): every one by default
if [ $# -eq 0 ]; then
    for f in "$tdir"/xapi_forward/*.t; do
        set -- "$@" "t/xapi_forward/${f##*/}"
    done
fi
[ -x "$httpd" ] || die "no httpd at $httpd (set XF_HTTPD)"

work=$(mktemp -d /tmp/xfchk.XXXXXX) || die "mktemp failed"
chmod 755 "$work"
mkdir "$work/reports" && chmod 1777 "$work/reports"
# not in a bin/ directory: Apache::Test would take the one above for an
# httpd installation and look for modules there
wrap="$work/httpd"

opts=
case $mode in
asan)
    asan=$(gcc -print-file-name=libasan.so)
    ubsan=$(gcc -print-file-name=libubsan.so)
    [ -f "$asan" ] && [ -f "$ubsan" ] || die "no libasan/libubsan (gcc)"
    cat >"$wrap" <<EOT
#!/bin/sh
# httpd with the sanitizer runtimes of the module preloaded
LD_PRELOAD="$asan $ubsan" \\
ASAN_OPTIONS="detect_leaks=0:quarantine_size_mb=\${XF_ASAN_QUARANTINE_MB:-4}:log_path=$work/reports/asan" \\
UBSAN_OPTIONS="print_stacktrace=1:log_path=$work/reports/ubsan" \\
exec "$httpd" "\$@"
EOT
    ;;
valgrind)
    command -v valgrind >/dev/null || die "valgrind is not installed"
    # beside the wrapper: httpd runs as the test user
    cp "$tdir/valgrind.supp" "$work/" || die "cannot copy t/valgrind.supp"
    cat >"$wrap" <<EOT
#!/bin/sh
# httpd under valgrind when it serves single-process (Apache::Test's
# -one-process gives -D ONE_PROCESS); its -v/-V/-l queries as is
case " \$* " in
*" -X "*|*" ONE_PROCESS "*)
    exec valgrind --trace-children=yes --leak-check=no --track-fds=no \\
        --error-exitcode=99 --num-callers=30 \\
        --suppressions="$work/valgrind.supp" \\
        --log-file="$work/reports/valgrind.%p" "$httpd" "\$@" ;;
esac
exec "$httpd" "\$@"
EOT
    opts="-one-process -startup_timeout 300"
    ;;
*)
    die "mode must be asan or valgrind"
    ;;
esac
chmod 755 "$wrap"


# the suite's tree goes to a dir of its own (not a /tmp/xft.* one: other
# runs on a shared machine clean those up)
trees=$(mktemp -d /tmp/xfchkt.XXXXXX) || die "mktemp failed"
chmod 755 "$trees"
# the verbose re-run of failed files goes through the wrapper too
{ XF_RERUN_OPTS="-httpd $wrap $opts" XF_TMPDIR=$trees XF_MPMS=${XF_MPMS-} \
    sh "$tdir/run-apache-tests.sh" "$so" -httpd "$wrap" $opts "$@"
    echo $? >"$work/rc"; } 2>&1 | tee "$work/suite.log"
rc=$(cat "$work/rc")
# a server that did not start (port taken...) skips every file: not a pass
if grep -q 'skipped: cannot find module\|Result: NOTESTS' "$work/suite.log"; then
    echo "=== $mode: tests were skipped: the server did not start as configured ==="
    rc=1
fi

# asan.<pid> / ubsan.<pid> exist only when something was reported;
# valgrind writes a file per process: errors are in its summary line
bad=0
for f in "$work"/reports/*; do
    [ -f "$f" ] || continue
    case $f in
    */valgrind.*)
        sum=$(grep 'ERROR SUMMARY' "$f")
        echo "=== $f: ${sum:-no ERROR SUMMARY (process killed?)}"
        # no summary: look for error headers instead
        if [ -n "$sum" ]; then
            echo "$sum" | grep -q 'ERROR SUMMARY: [1-9]' || continue
        else
            grep -qE '== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap)' "$f" || continue
        fi ;;
    esac
    echo "=== report: $f ==="
    cat "$f"
    bad=1
done
n=$(ls "$work/reports" | wc -l)
echo "=== $mode: suite exit $rc; $n report file(s) in $work/reports; errors: $bad ==="
[ "$rc" -eq 0 ] && [ "$bad" -eq 0 ] || exit 1
[ "${XF_KEEP:-0}" = 1 ] || rm -rf "$work" "$trees"
exit 0
