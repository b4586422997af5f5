#!/bin/sh
# bench/strace-e2e.sh STOCK PATCHED [ROUNDS]: end to end, two builds of one
# strace version (unpatched and patched, e.g. from integrations/strace),
# on bench/workload (2M getppid + 2000 openat/close), as
# `strace -f --seccomp-bpf -e trace=SET -o /dev/null` for SET openat and
# %file, and untraced. Tracer and tracee pinned to CPU 1, variants
# interleaved, ROUNDS rounds (default 5); prints each round and the medians
# of the times and of the per-round ratios (patched / stock, traced /
# untraced).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
stock=${1:?usage: bench/strace-e2e.sh STOCK PATCHED [ROUNDS]}
patched=${2:?usage: bench/strace-e2e.sh STOCK PATCHED [ROUNDS]}
rounds=${3:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -Wextra -o "$tmp/workload" "$here/workload.c"

timed() { # command... -> seconds
	t0=$(date +%s.%N)
	taskset -c 1 "$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ printf "%.4f", $2 - $1 }'
}
for r in $(seq "$rounds"); do
	row="$(timed "$tmp/workload")"
	for set in openat %file; do
		for s in "$stock" "$patched"; do
			row="$row $(timed "$s" -f --seccomp-bpf -e trace="$set" -o /dev/null "$tmp/workload")"
		done
	done
	echo "$row" | tee -a "$tmp/rows" | awk -v r="$r" '{ printf "round %d: untraced %.3f s; openat: stock %.3f s, patched %.3f s; %%file: stock %.3f s, patched %.3f s\n", r, $1, $2, $3, $4, $5 }'
done
awk '
	function median(a, k,   i, j, t) {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	{ k++; for (c = 1; c <= 5; c++) v[c, k] = $c
	  r1[k] = $2 / $1; r2[k] = $3 / $1; r3[k] = $4 / $1; r4[k] = $5 / $1; p1[k] = $3 / $2; p2[k] = $5 / $4 }
	END {
		for (c = 1; c <= 5; c++) { for (i = 1; i <= k; i++) t[i] = v[c, i]; m[c] = median(t, k) }
		printf "medians over %d rounds: untraced %.3f s\n", k, m[1]
		printf "openat: stock %.3f s (%.2fx untraced), patched %.3f s (%.2fx); patched/stock %.3f\n", m[2], median(r1, k), m[3], median(r2, k), median(p1, k)
		printf "%%file:  stock %.3f s (%.2fx untraced), patched %.3f s (%.2fx); patched/stock %.3f\n", m[4], median(r3, k), m[5], median(r4, k), median(p2, k)
	}' "$tmp/rows"
