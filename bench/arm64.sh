#!/bin/sh
# bench/arm64.sh [-k "bullseye bookworm"] [OUTDIR]
#
# The uncached path on arm64, against strace's and libseccomp's programs.
# Under QEMU with -icount shift=0 (tools/debian-qemu.sh: the guest clock
# advances 1 ns per guest instruction), on Debian's arm64 5.10 (bullseye, no
# action cache; -k adds bookworm's 6.1):
#  1. a first guest runs Debian 12's strace for arm64 (with its shared
#     libraries unpacked into the initramfs) as `strace -d --seccomp-bpf -f
#     -e trace=SET true` for every set of tests/corpus.txt; its dumps become
#     raw programs on this machine (tools/strace-program.sh): strace's own
#     aarch64 + arm program;
#  2. bench/scmp-arm64.c derives the traced syscalls of aarch64 and arm from
#     strace's program and builds ours (speed and size objectives) and
#     libseccomp's (default and SCMP_FLTATR_CTL_OPTIMIZE=2), exported on this
#     x86_64 machine with seccomp_arch_add(SCMP_ARCH_AARCH64/ARM): every tool
#     gets exactly the same syscalls;
#  3. per kernel, tests/kernels/kcheck.c measures getppid (write(-1, 0, 0)
#     where getppid is traced): the least guest instructions per call over
#     the rounds (the batch no timer interrupt hit) for the one-instruction
#     floor and each program.
# Writes OUTDIR/arm64.txt ("SUITE SET# LABEL INSNS RATIO"), OUTDIR/programs.txt
# (cBPF instructions each program executes for the measured call) and prints
# a table. Needs what tests/kernels/run.sh needs, plus libseccomp-dev.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lib.sh"
. "$root/tools/debian-qemu.sh"
suites=bullseye
[ "${1:-}" = -k ] && { suites=$2; shift 2; }
out=${1:-$root/build/arm64}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cache=$(cache_dir)
rounds=${QEMU_ROUNDS:-5}
batch=${QEMU_BATCH:-2000}
work=$(mktemp -d "${TMPDIR:-/tmp}/tf-arm64.XXXXXX")
[ -n "${QEMU_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

build_lib
lib=$root/target/release/libtracefilter.a
gcc -O2 -Wall -Wextra -I"$root/include" -o "$work/scmp" "$here/scmp-arm64.c" "$lib" -lseccomp -lpthread -ldl -lm
aarch64-linux-gnu-gcc -O2 -Wall -Wextra -static -o "$work/kcheck" "$root/tests/kernels/kcheck.c"
grep -v '^#' "$root/tests/corpus.txt" | grep . > "$work/sets"
nsets=$(wc -l < "$work/sets")

# 1. strace's programs, dumped by strace itself on arm64.
s=$work/strace-root
mkdir -p "$s/bin"
for pkg in libc6 libunwind8 liblzma5 strace; do
	dpkg-deb -x "$(deb_fetch bookworm arm64 $pkg)" "$s"
done
{
	init_head
	i=0
	while IFS= read -r set; do
		i=$((i + 1))
		echo "echo 'TFS $i'"
		printf "/usr/bin/strace -d --seccomp-bpf -f -e trace='%s' /bin/true 2>&1 | grep -E 'STMT|JUMP'\n" "$set"
	done < "$work/sets"
	init_tail
} > "$s/init"
chmod +x "$s/init"
initramfs bookworm arm64 "$s" "$work/initrd-strace.gz"
vmlinuz=$(deb_kernel bookworm arm64 "$work/k-bookworm")
say "strace's arm64 programs: booting $(basename "$vmlinuz")"
qemu_boot arm64 "$vmlinuz" "$work/initrd-strace.gz" "$work/serial-strace.txt" ||
	{ tail -n 20 "$work/serial-strace.txt" >&2; exit 1; }

# 2. the programs, all from strace's bitmaps.
r=$work/root
mkdir -p "$r/bin" "$r/k"
cp "$work/kcheck" "$r/bin/kcheck"
: > "$out/programs.txt"
i=0
while [ $i -lt "$nsets" ]; do
	i=$((i + 1))
	awk -v i="$i" '$1 == "TFS" { on = ($2 == i); next } on' "$work/serial-strace.txt" |
		sh "$root/tools/strace-program.sh" > "$r/k/$i-strace.bpf"
	[ -s "$r/k/$i-strace.bpf" ] || { echo "arm64.sh: no strace program for set $i" >&2; exit 1; }
	for t in ours ours-size libseccomp libseccomp-tree; do
		case $t in libseccomp) mode= ;; libseccomp-tree) mode=tree ;; *) mode=$t ;; esac
		"$work/scmp" "$r/k/$i-strace.bpf" "$r/k/$i-$t.bpf" $mode 2>/dev/null | sed "s/^/$i $t /" >> "$out/programs.txt"
	done
	"$work/scmp" "$r/k/$i-strace.bpf" - stats | sed "s/^/$i strace /" >> "$out/programs.txt"
done

# 3. the costs.
{
	init_head
	i=0
	while [ $i -lt "$nsets" ]; do
		i=$((i + 1))
		# getppid (173), or write(-1, 0, 0) (64) when strace traces getppid
		nr=173
		grep -q "^$i strace traced 173 1" "$out/programs.txt" && nr=64
		echo "echo 'set $i'"
		printf 'kcheck cost %s %s %s floor=floor' $nr "$rounds" "$batch"
		for t in ours ours-size strace libseccomp libseccomp-tree; do printf ' %s=/k/%s-%s.bpf' $t "$i" $t; done
		echo
	done
	init_tail
} > "$r/init"
chmod +x "$r/init"
: > "$out/arm64.txt"
for suite in $suites; do
	initramfs "$suite" arm64 "$r" "$work/initrd-$suite.gz"
	vmlinuz=$(deb_kernel "$suite" arm64 "$work/k-$suite")
	say "booting $(basename "$vmlinuz") ($suite arm64), $nsets sets"
	if ! qemu_boot arm64 "$vmlinuz" "$work/initrd-$suite.gz" "$work/serial-$suite.txt"; then
		tail -n 20 "$work/serial-$suite.txt" >&2
		exit 1
	fi
	kver=$(basename "$vmlinuz" | sed 's/^vmlinu[xz]-//')
	cp "$work/serial-$suite.txt" "$out/"
	awk -v s="$kver" '
		/^set / { set = $2; n = 0; next }
		$1 == "cost" { v[$2] = $3; order[++n] = $2 }
		$1 == "cost" && $2 == "libseccomp-tree" {
			for (i = 1; i <= n; i++) printf "%s %s %s %.2f %.4f\n", s, set, order[i], v[order[i]], v[order[i]] / v["floor"]
		}' "$work/serial-$suite.txt" >> "$out/arm64.txt"
done
awk -v sets="$work/sets" -v progs="$out/programs.txt" '
	BEGIN {
		while ((getline l < sets) > 0) name[++ns] = l
		# cBPF instructions executed for the measured call per program
		while ((getline l < progs) > 0) {
			split(l, f, " ")
			if (f[3] == "executed") ex[f[1], f[2], f[4]] = f[5]
			if (f[3] == "traced" && f[5] == 1) wr[f[1]] = 1
		}
	}
	{ r[$1, $2, $3] = $5; a[$1, $2, $3] = $4; if (!($1 in seen)) { seen[$1] = 1; ks[++nk] = $1 } }
	END {
		for (k = 1; k <= nk; k++) {
			printf "\n| Linux %s, set | floor (guest insns) | ours | ours (size) | strace | libseccomp | libseccomp tree |\n", ks[k]
			print "|---|---|---|---|---|---|---|"
			for (i = 1; i <= ns; i++) {
				printf "| `%s`%s | %.0f", name[i], wr[i] ? " (write)" : "", a[ks[k], i, "floor"]
				split("ours ours-size strace libseccomp libseccomp-tree", t, " ")
				for (j = 1; j <= 5; j++) {
					e = ex[i, t[j], wr[i] ? 64 : 173]
					printf " | %.3f%s", r[ks[k], i, t[j]], e != "" ? " (" e ")" : ""
				}
				print " |"
			}
		}
	}' "$out/arm64.txt"
