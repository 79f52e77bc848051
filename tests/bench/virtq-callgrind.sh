#!/bin/sh
# Instructions per chain for the device's take (pop) and return (push,
# publish), counted by callgrind inside the library's functions and their
# callees only: the harness's driver side and loop are not counted.
# Instruction counts repeat exactly on a busy machine, unlike time.
# Usage: virtq-callgrind.sh BENCH_BINARY (built without LTO, so the
# library's functions stay functions).
set -eu
bench=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
chains=$((10000 * 32))

# count CFG FUNCTION...: instructions per chain spent inside FUNCTIONs.
count() {
	cfg=$1
	shift
	set -- $(for f in "$@"; do echo "--toggle-collect=$f"; done)
	valgrind --tool=callgrind "$@" --callgrind-out-file="$out" \
		"$bench" --count "$cfg" >/dev/null 2>&1
	sed -n 's/^summary: *//p; s/^totals: *//p' "$out" | head -n 1 |
		awk -v n=$chains '{ printf "%.1f", $1 / n }'
}

printf '%-8s %8s %8s %8s\n' config take return total
for cfg in split1 split2 packed1 packed2; do
	ring=${cfg%[12]}_ring
	take=$(count "$cfg" "${ring}_pop_batch")
	ret=$(count "$cfg" "${ring}_push_batch" "${ring}_publish")
	printf '%-8s %8s %8s %8s\n' "$cfg" "$take" "$ret" \
		"$(awk -v a="$take" -v b="$ret" 'BEGIN { printf "%.1f", a + b }')"
done
echo "target: at most 60 instructions per single-descriptor take+return (split1, packed1)"
