#!/bin/sh
# bench/proot-e2e.sh STOCK PATCHED [ROUNDS]: end to end, PRoot unpatched
# (STOCK) and patched to build its seccomp program with tracefilter
# (PATCHED; integrations/proot/build.sh), both `proot CMD` on the host's
# root, on three syscall-heavy workloads:
#   getppid: bench/workload, 2M getppid (allowed) + 2000 openat/close of
#            /etc/hostname (traced by PRoot, path translation);
#   exec:    a shell running /bin/true 300 times (fork, execve: traced);
#   tar:     tar of /usr/include/linux into md5sum (openat, newfstatat,
#            getdents64 traced; read, write allowed);
#   start:   `proot /bin/true` 20 times (PRoot's start-up, where patched
#            PRoot compiles its program, in its first tracee).
# Tracer and tracee pinned to CPU 1 (taskset), variants interleaved,
# ROUNDS rounds (default 7; who goes first alternates); prints each round, then the medians of the
# times and of the per-round ratios patched / stock.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
stock=${1:?usage: bench/proot-e2e.sh STOCK PATCHED [ROUNDS]}
patched=${2:?usage: bench/proot-e2e.sh STOCK PATCHED [ROUNDS]}
rounds=${3:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -Wextra -o "$tmp/workload" "$here/workload.c"
gcc -O2 -Wall -Wextra -o "$tmp/timeit" "$here/timeit.c"

timed() { # command... -> seconds
	taskset -c 1 "$tmp/timeit" "$@" 2>"$tmp/err" >"$tmp/out" || {
		echo "proot-e2e: $* failed: $(head -c 300 "$tmp/err")" >&2
		exit 1
	}
	tail -n 1 "$tmp/out"
}
w_getppid() { echo "$tmp/workload -n 2000000 -m 2000 -f /etc/hostname"; }
w_exec() { echo "sh -c 'i=0; while [ \$i -lt 300 ]; do /bin/true; i=\$((i + 1)); done'"; }
w_tar() { echo "sh -c 'tar -cf - -C /usr/include linux | md5sum >/dev/null'"; }
run() { # proot workload
	if [ "$2" = start ]; then
		timed sh -c 'i=0; while [ $i -lt 20 ]; do "$0" /bin/true; i=$((i + 1)); done' "$1"
	else
		eval "timed \"\$1\" $(w_$2)"
	fi
}
for r in $(seq "$rounds"); do
	row=
	for w in getppid exec tar start; do
		# Who goes first alternates from round to round.
		if [ $((r % 2)) = 1 ]; then
			a=$(run "$stock" "$w") b=$(run "$patched" "$w")
		else
			b=$(run "$patched" "$w") a=$(run "$stock" "$w")
		fi
		row="$row $a $b"
	done
	echo "$row" | tee -a "$tmp/rows" | awk -v r="$r" '{ printf "round %d: getppid %.3f / %.3f s, exec %.3f / %.3f s, tar %.3f / %.3f s, start %.3f / %.3f s (stock / patched)\n", r, $1, $2, $3, $4, $5, $6, $7, $8 }'
done
awk '
	function median(a, k,   i, j, t) {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	{ k++; for (c = 1; c <= 8; c++) v[c, k] = $c; for (w = 0; w < 4; w++) q[w, k] = $(2 * w + 2) / $(2 * w + 1) }
	END {
		split("getppid exec tar start", name, " ")
		for (w = 0; w < 4; w++) {
			for (i = 1; i <= k; i++) { s[i] = v[2 * w + 1, i]; p[i] = v[2 * w + 2, i]; x[i] = q[w, i] }
			printf "%-8s stock %.3f s, patched %.3f s, patched/stock %.3f (medians over %d rounds)\n", name[w + 1], median(s, k), median(p, k), median(x, k), k
		}
	}' "$tmp/rows"
