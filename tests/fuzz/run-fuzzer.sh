#!/bin/sh
# run-fuzzer.sh FUZZER SEED_DIR SECONDS: fuzz for SECONDS from a scratch
# copy of the seeds (the checked-in corpus is never written). On a crash
# the failing input is printed in hex, kept in the current directory, and
# the test fails: once fixed, add it to SEED_DIR as a regression seed.
set -u
fuzzer=$(readlink -f "$1") seeds=$(readlink -f "$2") seconds=$3
origin=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp "$seeds"/* "$work/corpus/"
cd "$work" || exit 1
# libFuzzer's own error status is 77, which meson takes for "skipped" (and
# the closing count for nothing at all): a crash must fail the test.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 corpus >log 2>&1
status=$?
[ $status -eq 77 ] && status=1
if [ $status -eq 0 ]; then
	grep -E 'INITED|DONE|stat::number_of_executed_units' log
else
	grep -v -E '^"|Uses:' log | tail -n 80
fi
for crash in crash-* leak-* timeout-* oom-*; do
	[ -e "$crash" ] || continue
	keep="$origin/fuzz-$(basename "$fuzzer")-$crash"
	cp "$crash" "$keep"
	echo "# failing input kept as $keep:"
	od -An -tx1 -v "$crash" | head -n 64
done
exit $status
