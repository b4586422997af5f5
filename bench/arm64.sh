#!/bin/sh
# bench/arm64.sh [-k "bullseye bookworm"] [OUTDIR]
#
# The uncached path on arm64: boots Debian's arm64 5.10 (bullseye, no action
# cache) and optionally 6.1 (bookworm) under QEMU with -icount shift=0
# (tools/debian-qemu.sh), and per corpus-like set (tests/kernels/kgen.c's
# classes, from the names of the aarch64 and arm tables) measures the
# per-syscall cost of getppid (write(-1, 0, 0) where getppid is traced) in
# guest instructions: no filter's floor (one `ret ALLOW`), ours (speed and
# size objectives) and libseccomp's default and tree programs, exported on
# this machine with seccomp_arch_add(SCMP_ARCH_AARCH64/ARM) (bench/scmp-arm64.c).
# Prints "SUITE SET LABEL INSNS RATIO" (INSNS: the least per-call count over
# the rounds, the batch no timer interrupt hit; RATIO: to the floor's) into
# OUTDIR/arm64.txt and a table on stdout.
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
gcc -O2 -Wall -Wextra -I"$root/include" -o "$work/kgen" "$root/tests/kernels/kgen.c" "$lib" -lpthread -ldl -lm
gcc -O2 -Wall -Wextra -I"$root/include" -o "$work/scmp" "$here/scmp-arm64.c" "$lib" -lseccomp -lpthread -ldl -lm
aarch64-linux-gnu-gcc -O2 -Wall -Wextra -static -o "$work/kcheck" "$root/tests/kernels/kcheck.c"
mkdir -p "$work/g" "$work/root/bin" "$work/root/k"
"$work/kgen" "$work/g" aarch64,arm x86_64 >&2
sets="openat execve file process network memory signal rw fnp notwrite"
cp "$work/kcheck" "$work/root/bin/kcheck"
: > "$out/programs.txt"
{
	init_head
	for s in $sets; do
		cp "$work/g/$s-speed-auto.bpf" "$work/root/k/$s-ours.bpf"
		cp "$work/g/$s-size-auto.bpf" "$work/root/k/$s-ours-size.bpf"
		"$work/scmp" "$work/g/$s-speed-auto.bpf" "$work/root/k/$s-libseccomp.bpf" 2>/dev/null |
			sed "s/^/$s libseccomp /" >> "$out/programs.txt"
		"$work/scmp" "$work/g/$s-speed-auto.bpf" "$work/root/k/$s-libseccomp-tree.bpf" tree 2>/dev/null |
			sed "s/^/$s libseccomp-tree /" >> "$out/programs.txt"
		# getppid (173), or write(-1, 0, 0) (64) when the set traces getppid
		nr=173
		[ "$(head -c 174 "$work/g/$s-speed-auto.aarch64.exp" | tail -c 1)" = T ] && nr=64
		echo "echo 'set $s'"
		printf 'kcheck cost %s %s %s floor=floor' $nr "$rounds" "$batch"
		for t in ours ours-size libseccomp libseccomp-tree; do printf ' %s=/k/%s-%s.bpf' $t "$s" $t; done
		echo
	done
	init_tail
} > "$work/root/init"
chmod +x "$work/root/init"
: > "$out/arm64.txt"
for suite in $suites; do
	initramfs "$suite" arm64 "$work/root" "$work/initrd-$suite.gz"
	vmlinuz=$(deb_kernel "$suite" arm64 "$work/k-$suite")
	say "booting $(basename "$vmlinuz") ($suite arm64)"
	if ! qemu_boot arm64 "$vmlinuz" "$work/initrd-$suite.gz" "$work/serial-$suite.txt"; then
		tail -n 20 "$work/serial-$suite.txt" >&2
		exit 1
	fi
	cp "$work/serial-$suite.txt" "$out/"
	awk -v s="$suite" '
		/^set / { set = $2; next }
		$1 == "cost" { v[$2] = $3; order[++n] = $2 }
		$1 == "cost" && $2 == "libseccomp-tree" {
			for (i = 1; i <= n; i++) printf "%s %s %s %.2f %.4f\n", s, set, order[i], v[order[i]], v[order[i]] / v["floor"]
			n = 0
		}' "$work/serial-$suite.txt" >> "$out/arm64.txt"
done
awk '
	{ r[$1 " " $2, $3] = $5; a[$1 " " $2, $3] = $4; if (!($1 " " $2 in seen)) { seen[$1 " " $2] = 1; rows[++n] = $1 " " $2 } }
	END {
		print "| kernel set | floor (guest insns per call) | ours | ours (size) | libseccomp | libseccomp tree |"
		print "|---|---|---|---|---|---|"
		for (i = 1; i <= n; i++)
			printf "| %s | %.0f | %.3f | %.3f | %.3f | %.3f |\n", rows[i], a[rows[i], "floor"], r[rows[i], "ours"], r[rows[i], "ours-size"], r[rows[i], "libseccomp"], r[rows[i], "libseccomp-tree"]
	}' "$out/arm64.txt"
