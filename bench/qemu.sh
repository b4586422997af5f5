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
# Downloads come from Debian's archive only, through apt with a private
# configuration (the machine's apt setup is untouched), cached in
# $TRACEFILTER_BENCH_CACHE (default ~/.cache/tracefilter-bench).
# Needs: apt-get, dpkg-deb, cpio, gzip, gcc (static glibc), qemu-system-x86.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lib.sh"

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
cache=${TRACEFILTER_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tracefilter-bench}
rounds=${QEMU_ROUNDS:-7}
batch=${QEMU_BATCH:-5000}
mkdir -p "$cache/debs"

for tool in apt-get dpkg-deb cpio gzip qemu-system-x86_64; do
	command -v "$tool" >/dev/null || { echo "qemu.sh: $tool is missing" >&2; exit 1; }
done

# apt-get/apt-cache with a private configuration for one suite.
papt() {
	suite=$1
	shift
	d=$cache/apt-$suite
	"$@" -q -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts="$d/none" \
		-o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" \
		-o Dir::State::status=/dev/null -o Debug::NoLocking=1 \
		-o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false \
		-o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false \
		-o Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false
}

# Downloads (once) a package of a suite into $cache/debs; prints its path.
fetch() {
	suite=$1 pkg=$2
	d=$cache/apt-$suite
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/none"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
		> "$d/sources.list"
	if [ -z "$(find "$d/lists" -name '*_Packages*' -mtime -7 2>/dev/null)" ]; then
		say "qemu: apt update ($suite)"
		papt "$suite" apt-get update >/dev/null
	fi
	if [ "$pkg" = kernel ]; then
		pkg=$(papt "$suite" apt-cache depends linux-image-amd64 |
			sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
		[ -n "$pkg" ] || { echo "qemu.sh: no kernel package in $suite" >&2; return 1; }
	fi
	ver=$(papt "$suite" apt-cache show "$pkg" | sed -n 's/^Version: //p' | head -n 1)
	file=$(ls "$cache/debs/${pkg}_"*.deb 2>/dev/null | grep -F "$(echo "$ver" | sed 's/:/%3a/')" | head -n 1 || true)
	if [ -z "$file" ]; then
		say "qemu: download $pkg $ver ($suite)"
		(cd "$cache/debs" && papt "$suite" apt-get download "$pkg" >/dev/null 2>&1) ||
			(cd "$cache/debs" && papt "$suite" apt-get download "$pkg")
		file=$(ls -t "$cache/debs/${pkg}_"*.deb | head -n 1)
	fi
	echo "$file"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/tf-qemu.XXXXXX")
[ -n "${QEMU_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

# The initramfs: busybox, the guest program, the programs, an init script.
say "qemu: building the initramfs"
bb=$(fetch bookworm busybox-static)
mkdir -p "$work/bb" "$work/root/bin" "$work/root/p" "$work/root/proc" "$work/root/dev"
dpkg-deb -x "$bb" "$work/bb"
cp "$work/bb/bin/busybox" "$work/root/bin/busybox"
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
	echo '#!/bin/busybox sh'
	echo 'export PATH=/bin'
	echo '/bin/busybox --install -s /bin'
	echo 'mount -t proc proc /proc'
	echo 'echo TFQ-BEGIN'
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
	echo 'echo TFQ-END'
	echo 'poweroff -f; reboot -f'
} > "$work/root/init"
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"

: > "$results.tmp"
for suite in $suites; do
	deb=$(fetch "$suite" kernel)
	mkdir -p "$work/k-$suite"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/k-$suite" --wildcards './boot/vmlinuz-*'
	vmlinuz=$(ls "$work/k-$suite"/boot/vmlinuz-* | head -n 1)
	say "qemu: booting $(basename "$vmlinuz") ($suite), $n sets"
	start=$(date +%s)
	timeout "${QEMU_TIMEOUT:-1800}" qemu-system-x86_64 -accel tcg -icount shift=0 -cpu max -m 1024 -smp 1 \
		-kernel "$vmlinuz" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1" -nographic -no-reboot \
		< /dev/null > "$work/serial-$suite.log" 2>&1 || true
	tr -d '\r' < "$work/serial-$suite.log" > "$work/serial-$suite.txt"
	if ! grep -q '^TFQ-END' "$work/serial-$suite.txt"; then
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
