#!/bin/sh
# bench/qemu.sh [-o RESULTS] [-k "bullseye bookworm"] PROGS_DIR
#
# The uncached path on real kernels: boots Debian bullseye's 5.10 (no action
# cache) and bookworm's 6.1 under QEMU's emulator with -icount shift=0, where
# the guest clock advances 1 ns per guest instruction, so the guest's timings
# are exact instruction counts, identical run to run. In each guest it runs
# bench/guest (statically linked): the kernel-side checks, then per corpus
# set of PROGS_DIR (made by bench/programs.sh) the per-syscall cost of no
# filter, the one-instruction floor, ours, strace's and libseccomp's programs.
#
# RESULTS (default PROGS_DIR/qemu.txt) gets lines
#   SUITE check NAME VALUE
#   SUITE cost SET LABEL INSNS RATIO MEDIAN_INSNS MEDIAN_RATIO
# (INSNS: guest instructions per call of the batch that the fewest timer
# interrupts hit, the least over the rounds; RATIO: to the floor's least)
#
# Then checks the kernel-side facts (bench/qemu-checks.awk): the exit status
# is non-zero when one does not hold, so CI can run this script as a test
# (QEMU_ROUNDS=1 QEMU_BATCH=200 make it quick).
#
# Downloads come from Debian's archive only (tools/debian-qemu.sh), cached in
# $TRACEFILTER_CACHE (default /var/cache/tracefilter, shared with
# tests/kernels/run.sh, or ~/.cache/tracefilter when that is not writable).
# Needs: apt-get, dpkg-deb, cpio, gzip, gcc (static glibc), qemu-system-x86.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lib.sh"
. "$root/tools/debian-qemu.sh"

suites="bullseye bookworm"
results=
while [ $# -gt 1 ]; do
	case $1 in
	-o) results=$2; shift 2 ;;
	-k) suites=$2; shift 2 ;;
	*) break ;;
	esac
done
progs=$(cd "${1:?usage: bench/qemu.sh [-o RESULTS] [-k SUITES] PROGS_DIR}" && pwd)
results=${results:-$progs/qemu.txt}
cache=$(cache_dir)
rounds=${QEMU_ROUNDS:-7}
batch=${QEMU_BATCH:-5000}
mkdir -p "$cache/debs"

for tool in apt-get dpkg-deb cpio gzip qemu-system-x86_64; do
	command -v "$tool" >/dev/null || { echo "qemu.sh: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/tf-qemu.XXXXXX")
[ -n "${QEMU_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

# The initramfs: busybox, the guest program, the programs, an init script.
say "qemu: building the initramfs"
mkdir -p "$work/root/bin" "$work/root/p"
build_guest "$work/root/bin/guest"
build_peers "$work/peers"
sets=$(ls "$progs" | grep -E '^[0-9]+$' | sort -n)
n=0
for i in $sets; do
	n=$((n + 1))
	mkdir -p "$work/root/p/$i"
	cp "$progs/$i"/*.bpf "$work/root/p/$i/"
done
{
	init_head
	# openat is traced by ours for the first set (openat): the ENOSYS check.
	echo 'guest checks --trace-nr 257 /p/1/ours.bpf'
	for i in $sets; do
		d=$progs/$i
		# getppid, or write(-1, 0, 0) for a set that traces getppid.
		nr=$("$work/peers" pick "$d/strace.bpf")
		echo "echo set $i"
		printf 'guest cost --nr %s --rounds %s --batch %s none=none floor=floor' "$nr" "$rounds" "$batch"
		for t in ours ours-size strace libseccomp libseccomp-tree; do
			printf ' %s=/p/%s/%s.bpf' "$t" "$i" "$t"
		done
		echo
	done
	init_tail
} > "$work/root/init"
chmod +x "$work/root/init"
initramfs bookworm amd64 "$work/root" "$work/initrd.gz"

: > "$results.tmp"
for suite in $suites; do
	vmlinuz=$(deb_kernel "$suite" amd64 "$work/k-$suite")
	say "qemu: booting $(basename "$vmlinuz") ($suite), $n sets"
	start=$(date +%s)
	if ! qemu_boot amd64 "$vmlinuz" "$work/initrd.gz" "$work/serial-$suite.txt"; then
		echo "qemu.sh: the $suite guest did not finish; its console:" >&2
		tail -n 40 "$work/serial-$suite.txt" >&2
		exit 1
	fi
	say "qemu: $suite done in $(($(date +%s) - start)) s"
	awk -v s="$suite" '
		/TFQ-BEGIN/ { on = 1; next }
		/^TFQ-END/ { on = 0 }
		!on { next }
		$1 == "check" { print s, $0 }
		$1 == "set" { set = $2 }
		$1 == "cost" { print s, "cost", set, $2, $7, $8, $3, $4 }
	' "$work/serial-$suite.txt" >> "$results.tmp"
	cp "$work/serial-$suite.txt" "$progs/serial-$suite.txt"
done
mv "$results.tmp" "$results"
say "qemu: results in $results"
# The kernel-side facts the library relies on, on each kernel: a mismatch fails.
awk -f "$here/qemu-checks.awk" "$results"
