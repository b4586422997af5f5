#!/bin/sh
# bench/run.sh: the performance report, measured side by side in one run.
#
# Writes the part of BENCHMARKS.md between <!-- perf:begin --> and
# <!-- perf:end --> (the rest of the file is left as it is) and the plots
# bench/*.svg. Raw results go to $TF_BENCH_OUT (default build/bench).
#
#  1. Per-syscall cost of an allowed syscall for every corpus set: no filter,
#     the one-instruction `ret ALLOW` floor, ours, strace 6.1's, libseccomp's
#     (bench/guest cost, pinned to CPU 1, ratios to the floor per round).
#  2. End to end: bench/workload (cheap getppid calls and a few traced
#     openat) and tar over a generated tree: untraced, tftrace with and
#     without seccomp, strace --seccomp-bpf, plain strace, and the patched
#     strace at $STRACE_PATCHED if set; interleaved rounds, unpinned and
#     pinned (taskset -c 1), ratios to untraced per round.
#  3. The uncached path: the emulator's executed instructions per allowed
#     syscall, and bench/qemu.sh on Debian's 5.10 and 6.1 kernels.
#
# Knobs (environment): COST_ROUNDS (300) COST_BATCH (10000) E2E_ROUNDS (7)
# E2E_UNPINNED_PLAIN_ROUNDS (3: unpinned plain ptrace runs only in the first rounds)
# WORK_N (2000000 getppid) WORK_M (2000 openat) TREE_FILES (10000)
# E2E_SETS ("openat %file %desc") SKIP_QEMU=1 STRACE_PATCHED=PATH, or
# STRACE_PATCHED=build to build it first (bench/patched-strace.sh, ~1.5 min)
# TFTRACE=PATH (default build/tftrace; left out when missing).
# Needs: gcc, make, cargo, strace, libseccomp-dev, tar, taskset, and for
# qemu.sh qemu-system-x86, cpio, apt-get (downloads from Debian's archive).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lib.sh"

out=${TF_BENCH_OUT:-$root/build/bench}
cost_rounds=${COST_ROUNDS:-300}
cost_batch=${COST_BATCH:-10000}
e2e_rounds=${E2E_ROUNDS:-7}
plain_rounds=${E2E_UNPINNED_PLAIN_ROUNDS:-3}
work_n=${WORK_N:-2000000}
work_m=${WORK_M:-2000}
tree_files=${TREE_FILES:-10000}
e2e_sets=${E2E_SETS:-openat %file %desc}
patched=${STRACE_PATCHED:-}
start=$(date +%s)

for tool in strace gcc make tar taskset; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing" >&2; exit 1; }
done
[ "$(nproc)" -ge 2 ] || { echo "run.sh: needs 2 CPUs (pins to CPU 1)" >&2; exit 1; }
# Only a directory this script made is emptied.
if [ -e "$out" ] && [ ! -e "$out/.tf-bench" ]; then
	echo "run.sh: $out exists and is not a bench output directory; set TF_BENCH_OUT" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$out/bin"
: > "$out/.tf-bench"
cut -d ' ' -f 1-3 /proc/loadavg > "$out/loadavg"

say "build: library, examples, bench helpers"
(cd "$root" && env -u CARGO_TARGET_DIR make -s >/dev/null)
build_peers "$out/bin/peers"
build_guest "$out/bin/guest"
gcc -O2 -Wall -Wextra -o "$out/bin/workload" "$here/workload.c"
gcc -O2 -Wall -Wextra -o "$out/bin/timeit" "$here/timeit.c"
tftrace=${TFTRACE:-$root/build/tftrace}
[ -x "$tftrace" ] || tftrace=
if [ "$patched" = build ]; then
	patched=$(sh "$here/patched-strace.sh" "$out/patched")
fi
[ -z "$patched" ] || [ -x "$patched" ] || { echo "run.sh: STRACE_PATCHED=$patched is not executable" >&2; exit 1; }

say "programs: strace's dumps, libseccomp's exports, ours"
sh "$here/programs.sh" "$out/progs"
sets=$(ls "$out/progs" | grep -E '^[0-9]+$' | sort -n)
nsets=$(echo "$sets" | wc -l)
end64=$(strace -d --seccomp-bpf -f -e trace=openat true 2>&1 >/dev/null |
	awk '/JUMP\(BPF_JGE, 1, 0, /{k=$0; sub(/.*, /,"",k); sub(/\).*/,"",k); next} /SECCOMP_RET_ALLOW/ && k!="" {e=k} {k=""} END {print e}')

# 1. Per-syscall cost on this machine.
: > "$out/cost.txt"
for i in $sets; do
	d=$out/progs/$i
	say "cost: set $i/$nsets $(cat "$d/set")"
	nr=$("$out/bin/peers" pick "$d/strace.bpf")
	taskset -c 1 "$out/bin/guest" cost --nr "$nr" --rounds "$cost_rounds" --batch "$cost_batch" \
		none=none floor=floor ours="$d/ours.bpf" ours-size="$d/ours-size.bpf" strace="$d/strace.bpf" \
		libseccomp="$d/libseccomp.bpf" libseccomp-tree="$d/libseccomp-tree.bpf" |
		sed "s/^cost /$i $nr /" >> "$out/cost.txt"
done

# Cross-check with the project's own tfbench (long-lived children, getppid
# only, so not for sets that trace getppid) on the sets strace cannot cache.
: > "$out/tfbench.txt"
if [ -x "$root/build/tfbench" ]; then
	for i in $sets; do
		d=$out/progs/$i
		grep -q "set $i prog strace .* cacheable no" "$out/progs/stats.txt" || continue
		say "cost: tfbench cross-check on $(cat "$d/set")"
		{
			echo "\$ tfbench --rounds $cost_rounds --batch $cost_batch --traced-by strace.bpf" \
				"$(awk '{printf "-p x86_64:%s -p i386:%s -p x32:%s", $1, $2, $3}' "$out/progs/ends")" \
				"--program strace.bpf --program libseccomp-tree.bpf    # $(cat "$d/set")"
			# shellcheck disable=SC2046
			taskset -c 1 "$root/build/tfbench" --rounds "$cost_rounds" --batch "$cost_batch" \
				--traced-by "$d/strace.bpf" $(awk '{printf "-p x86_64:%s -p i386:%s -p x32:%s", $1, $2, $3}' "$out/progs/ends") \
				--program "$d/strace.bpf" --program "$d/libseccomp-tree.bpf" 2>&1
			echo
		} >> "$out/tfbench.txt"
	done
fi

# 3b. The older kernels (before the long end-to-end part: it fails faster).
qemu_note=
if [ -n "${SKIP_QEMU:-}" ]; then
	qemu_note="skipped (SKIP_QEMU set)"
elif ! command -v qemu-system-x86_64 >/dev/null; then
	qemu_note="skipped: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
else
	qstart=$(date +%s)
	if sh "$here/qemu.sh" -o "$out/qemu.txt" "$out/progs"; then
		qemu_note="bench/qemu.sh took $(($(date +%s) - qstart)) s"
	else
		qemu_note="bench/qemu.sh failed (see its output)"
	fi
fi

# 2. End to end.
say "end to end: generating a tree of $tree_files files"
tree=$out/tree
mkdir -p "$tree"
# 50 files a directory, 512 to 1536 bytes each, written by one awk.
awk -v n="$tree_files" 'BEGIN { for (d = 0; d * 50 < n; d++) printf "%s ", "d" d }' |
	(cd "$tree" && xargs mkdir -p)
awk -v n="$tree_files" -v t="$tree" 'BEGIN {
	for (i = 0; i < n; i++) {
		f = t "/d" int(i / 50) "/f" i
		s = sprintf("%*s", 512 + i % 3 * 512, "")
		printf "%s", s > f
		close(f)
	}
}' 

# Configurations, one a line: LABEL SET TRACER... (SET "-" for untraced).
conf=$out/e2e.conf
{
	echo "untraced -"
	for set in $e2e_sets; do
		n=$(for i in $sets; do [ "$(cat "$out/progs/$i/set")" = "$set" ] && echo "$i"; done | head -n 1)
		[ -n "$n" ] || { echo "run.sh: E2E set $set is not in the corpus" >&2; exit 1; }
		if [ -n "$tftrace" ]; then
			echo "tftrace $set $tftrace -f -o /dev/null -e trace=$("$out/bin/peers" names "$end64" "$out/progs/$n/strace.bpf") --"
		fi
		echo "strace-seccomp $set strace -f -o /dev/null --seccomp-bpf -e trace=$set"
		[ -z "$patched" ] || echo "strace-patched $set $patched -f -o /dev/null --seccomp-bpf -e trace=$set"
	done
	[ -z "$tftrace" ] || echo "tftrace-noseccomp openat $tftrace --no-seccomp -f -o /dev/null -e trace=openat --"
	echo "strace-plain openat strace -f -o /dev/null -e trace=openat"
} > "$conf"
nconf=$(wc -l < "$conf")

run_workload() { # WORKLOAD
	case $1 in
	syscalls) echo "$out/bin/workload -n $work_n -m $work_m" ;;
	tar) echo "tar -cf $out/tree.tar -C $tree ." ;;
	esac
}

: > "$out/e2e.txt"
r=1
while [ $r -le "$e2e_rounds" ]; do
	for pin in unpinned pinned; do
		for w in syscalls tar; do
			say "end to end: round $r/$e2e_rounds, $pin, $w ($nconf configurations)"
			k=0
			# Rotate the order each round.
			while [ $k -lt "$nconf" ]; do
				line=$(sed -n "$(((k + r) % nconf + 1))p" "$conf")
				k=$((k + 1))
				label=${line%% *}
				rest=${line#* }
				set=${rest%% *}
				tracer=
				[ "$set" = - ] || tracer=${rest#* }
				# Unpinned plain ptrace can take minutes a run here: fewer rounds.
				case $pin/$label in
				unpinned/strace-plain | unpinned/tftrace-noseccomp)
					[ "$r" -le "$plain_rounds" ] || continue ;;
				esac
				pre=
				[ $pin = unpinned ] || pre="taskset -c 1"
				# shellcheck disable=SC2086
				t=$($pre "$out/bin/timeit" $tracer $(run_workload $w) 2>> "$out/e2e.err") ||
					{ echo "run.sh: $label $set failed on $w" >&2; exit 1; }
				echo "$w $pin $r $label $set $t" >> "$out/e2e.txt"
			done
		done
	done
	r=$((r + 1))
done
runtime=$(($(date +%s) - start))
printf '%s; end %s\n' "$(cat "$out/loadavg")" "$(cut -d ' ' -f 1-3 /proc/loadavg)" > "$out/loadavg"

say "report: BENCHMARKS.md and bench/*.svg"
sh "$here/report.sh" "$out" "$runtime" "$qemu_note"
say "done in $runtime s"
