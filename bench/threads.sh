#!/bin/sh
# bench/threads.sh GUARDED UNGUARDED [N] [ROUNDS]: the cost of the
# CLONE_UNTRACED guard on a thread-heavy workload (bench/threads.c: N thread
# creations, default 2000). GUARDED and UNGUARDED are two builds of patched
# strace, with the guard (the whole series) and without it (the series
# without its CLONE_UNTRACED patch), both run as
# `strace -f --seccomp-bpf -e trace=openat -o /dev/null`; plus the workload
# untraced. Tracer and tracee pinned to CPU 1, variants interleaved,
# ROUNDS rounds (default 7); prints each round and the medians of the times
# and of the per-round ratios.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
guarded=${1:?usage: bench/threads.sh GUARDED UNGUARDED [N] [ROUNDS]}
unguarded=${2:?usage: bench/threads.sh GUARDED UNGUARDED [N] [ROUNDS]}
n=${3:-2000}
rounds=${4:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -Wextra -pthread -o "$tmp/threads" "$here/threads.c"

now() { date +%s.%N; }
timed() { # command... -> seconds
	t0=$(now)
	taskset -c 1 "$@" >/dev/null 2>&1
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.4f", $2 - $1 }'
}
: >"$tmp/rows"
for r in $(seq "$rounds"); do
	u=$(timed "$tmp/threads" "$n")
	g=$(timed "$guarded" -f --seccomp-bpf -e trace=openat -o /dev/null "$tmp/threads" "$n")
	o=$(timed "$unguarded" -f --seccomp-bpf -e trace=openat -o /dev/null "$tmp/threads" "$n")
	echo "$r $u $o $g" | tee -a "$tmp/rows" |
		awk '{ printf "round %d: untraced %.3f s, guard off %.3f s, guard on %.3f s, on/off %.3f\n", $1, $2, $3, $4, $4 / $3 }'
done
sort -n -k1 "$tmp/rows" | awk -v n="$n" '
	function median(a, k,   i, j, t) {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	{ k++; u[k] = $2; o[k] = $3; g[k] = $4; r[k] = $4 / $3; ru[k] = $3 / $2 }
	END {
		printf "medians over %d rounds, %d thread creations: untraced %.3f s, guard off %.3f s, guard on %.3f s\n", k, n, median(u, k), median(o, k), median(g, k)
		printf "guard on / guard off (median of per-round ratios): %.3f; per thread creation: +%.1f us\n", median(r, k), (median(g, k) - median(o, k)) / n * 1e6
		printf "guard off / untraced: %.3f\n", median(ru, k)
	}'
