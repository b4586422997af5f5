#!/bin/sh
# bench/programs.sh OUTDIR: the compared programs of every corpus set, as raw
# struct sock_filter files, and their emulator figures.
#
#   OUTDIR/N/set                 the -e trace= expression (line N of the corpus)
#   OUTDIR/N/strace.bpf          strace's program, from its -d dump (tools/strace-program.sh)
#   OUTDIR/N/ours.bpf            ours, default options (objective speed)
#   OUTDIR/N/ours-size.bpf       ours, objective size
#   OUTDIR/N/libseccomp.bpf      libseccomp's default
#   OUTDIR/N/libseccomp-tree.bpf libseccomp with SCMP_FLTATR_CTL_OPTIMIZE=2
#   OUTDIR/stats.txt             "set N prog TOOL len L mean M max X cacheable C ..."
#   OUTDIR/ends                  strace's table ends: x86_64 i386 x32
#
# Needs: strace (6.1), libseccomp-dev, gcc, the library built (make).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:?usage: bench/programs.sh OUTDIR}
corpus=${CORPUS:-$root/tests/corpus.txt}
mkdir -p "$out"
. "$here/lib.sh"
build_peers "$out/peers"

# Where strace's tables end: the last comparison of each personality's block
# in a linear program (x32, i386, x86_64 in that order).
ends=$(strace -d --seccomp-bpf -f -e trace=openat true 2>&1 >/dev/null |
	awk '/JUMP\(BPF_JGE, 1, 0, /{k=$0; sub(/.*, /,"",k); sub(/\).*/,"",k); next}
	     /SECCOMP_RET_ALLOW/ && k!="" {e[n++]=k} {k=""}
	     END { if (n == 3) printf "%d %d %d\n", e[2], e[1], e[0] - 1073741824 }')
[ -n "$ends" ] || { echo "programs.sh: cannot find strace's table ends" >&2; exit 1; }
echo "$ends" > "$out/ends"

: > "$out/stats.txt"
n=0
grep -v '^#' "$corpus" | grep . | while IFS= read -r set; do
	n=$((n + 1))
	d=$out/$n
	mkdir -p "$d"
	printf '%s\n' "$set" > "$d/set"
	strace -d --seccomp-bpf -f -e trace="$set" true 2>&1 >/dev/null |
		sh "$root/tools/strace-program.sh" > "$d/strace.bpf"
	# shellcheck disable=SC2086
	"$out/peers" build "$d" "$d/strace.bpf" $ends 2> "$d/build.log" || { cat "$d/build.log" >&2; exit 1; }
	for t in strace ours ours-size libseccomp libseccomp-tree; do
		"$out/peers" stats "${ends%% *}" "$d/strace.bpf" "$d/$t.bpf" | sed "s|^prog [^ ]*|set $n prog $t|"
	done >> "$out/stats.txt"
done
