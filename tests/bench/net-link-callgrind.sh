#!/bin/sh
# Instructions per frame for the link's forwarding (net_link_forward and
# everything it calls: ring pops and pushes, header checks, the copy),
# counted by callgrind on the in-process harness bench_net_link: the
# drivers' side and the loop are not counted. Batch 32, 64-byte frames
# (60 bytes on the ring) and 1518-byte frames.
# Usage: net-link-callgrind.sh BENCH_NET_LINK [--annotate] [--in-order]
#        [--pair P] [--idle-pairs K]
# (--in-order: both sides negotiate VIRTIO_F_IN_ORDER, DPDK's default;
# --pair P: the frames on queue pair P; --idle-pairs K: K more pairs up
# and polled empty after each batch: multiqueue's per-pair cost)
set -eu
bench=$1
shift
annotate=
opts=
while [ $# -gt 0 ]; do
	case "$1" in
	--annotate) annotate=--annotate ;;
	--in-order) opts="$opts --in-order" ;;
	--pair|--idle-pairs) opts="$opts $1 $2"; shift ;;
	*) echo "usage: net-link-callgrind.sh BENCH [--annotate] [--in-order] [--pair P] [--idle-pairs K]" >&2; exit 2 ;;
	esac
	shift
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
frames=$((10000 * 32))

printf '%-8s %14s\n' frame instr/frame
for len in 60 1514; do
	valgrind --tool=callgrind --toggle-collect=net_link_forward \
		--callgrind-out-file="$out" "$bench" --count --frame "$len" $opts \
		>/dev/null 2>&1
	ir=$(sed -n 's/^summary: *//p; s/^totals: *//p' "$out" | head -n 1 |
		awk -v n=$frames '{ printf "%.1f", $1 / n }')
	printf '%-8s %14s\n' "$((len + 4))" "$ir"
	if [ "$annotate" = --annotate ] && [ "$len" = 60 ]; then
		callgrind_annotate --inclusive=no "$out" 2>/dev/null |
			grep -v '^-' | sed -n '/Ir/,$p' | head -n 25
	fi
done
echo "target: at most 400 instructions per 64-byte frame"
