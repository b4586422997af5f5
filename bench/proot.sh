#!/bin/sh
# bench/proot.sh [--no-qemu] OUTDIR [SRC]: PRoot's own seccomp programs side
# by side with libseccomp's for the same action maps and with tracefilter's
# program for their two-action projection.
#
#   1. integrations/proot/extract.sh OUTDIR/extract SRC: PRoot's programs
#      and maps for every host and configuration (checked there);
#   2. for the maps of the hosts x86_64 and aarch64-android (Termux on a
#      phone), each configuration: bench/proot-peers.c writes libseccomp's
#      programs (default and SCMP_FLTATR_CTL_OPTIMIZE=2, exact per-number
#      values with SCMP_ACT_TRACE(data)) and ours for the projection
#      (traced vs allowed: a lower bound, not PRoot's map); every program's
#      figures with the library's emulator (integrations/proot/tfpmap.c):
#      length, mean cBPF instructions executed per allowed and per traced
#      syscall, kernel-cacheable; and patched PRoot's program (extract.sh:
#      PRoot's map exactly, through integrations/proot's patch). Table in
#      OUTDIR/figures.md;
#   3. unless --no-qemu: the per-syscall cost (getppid, allowed by every
#      program) on Debian bullseye's Linux 5.10 (no action cache) and
#      bookworm's 6.1 under QEMU with -icount shift=0 (guest time = guest
#      instructions, exact), for the x86_64 programs, as ratios to the
#      one-instruction `ret ALLOW` floor (bench/guest.c cost). Table in
#      OUTDIR/qemu.md; QEMU_ROUNDS (default 7), QEMU_BATCH (default 5000).
# Needs what extract.sh needs, libseccomp-dev, and for QEMU what
# bench/qemu.sh needs (apt-get, dpkg-deb, cpio, qemu-system-x86).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lib.sh"
. "$root/tools/debian-qemu.sh"

qemu=1
[ "${1:-}" = --no-qemu ] && { qemu=0; shift; }
out=${1:?usage: bench/proot.sh [--no-qemu] OUTDIR [SRC]}
mkdir -p "$out"
out=$(cd "$out" && pwd)

say "proot: extract.sh"
sh "$root/integrations/proot/extract.sh" "$out/extract" ${2:+"$2"} >"$out/extract.log" 2>&1 ||
	{ tail -n 20 "$out/extract.log" >&2; exit 1; }
tail -n 1 "$out/extract.log" >&2
bin=$out/extract/bin
build_lib
gcc -O2 -Wall -Wextra -I"$root/include" -o "$out/proot-peers" "$here/proot-peers.c" \
	"$root/target/release/libtracefilter.a" -lseccomp -lpthread -ldl -lm

hosts="x86_64 aarch64-android"
configs="default root distro"
{
	echo "| host | config | program | len | per personality: mean exec allowed / traced, cacheable |"
	echo "|---|---|---|---|---|"
} >"$out/figures.md"
for h in $hosts; do
	for c in $configs; do
		d=$out/$h-$c
		m=$out/extract/maps/$h-$c.map
		mkdir -p "$d"
		cp "$out/extract/programs/$h-$c.bpf" "$d/proot.bpf"
		cp "$out/extract/programs/$h-$c.tf.bpf" "$d/patched.bpf"
		"$out/proot-peers" "$d" "$m" >"$d/peers.txt"
		for t in proot libseccomp libseccomp-tree ours-2action patched; do
			"$bin/tfpmap" figures "$d/$t.bpf" <"$m" >"$d/$t.figures"
			diffs=$(sed -n "s|.*/$t.bpf differs ||p" "$d/peers.txt")
			awk -v h="$h" -v c="$c" -v t="$t" -v d="${diffs:-0}" '
				/^length/ { len = $2; next }
				{ sub(/:$/, "", $1); m = $0; sub(/.*per allowed /, "", m); sub(/ .*/, "", m)
				  tr = $0; sub(/.*per traced /, "", tr); sub(/ .*/, "", tr)
				  ca = $0; sub(/.*cacheable /, "", ca); sub(/ .*/, "", ca)
				  s = s sprintf("%s%s %s / %s %s", (s == "" ? "" : "; "), $1, m, tr, ca) }
				END { printf "| %s | %s | %s%s | %s | %s |\n", h, c, t,
				      (d != 0 ? " (" d " numbers differ)" : ""), len, s }' "$d/$t.figures" >>"$out/figures.md"
		done
	done
done
cat "$out/figures.md"
[ "$qemu" = 1 ] || exit 0

cache=$(cache_dir)
rounds=${QEMU_ROUNDS:-7}
batch=${QEMU_BATCH:-5000}
work=$(mktemp -d "${TMPDIR:-/tmp}/tf-proot-qemu.XXXXXX")
[ -n "${QEMU_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin" "$work/root/p"
build_guest "$work/root/bin/guest"
{
	init_head
	for c in $configs; do
		mkdir -p "$work/root/p/$c"
		cp "$out/x86_64-$c"/*.bpf "$work/root/p/$c/"
		echo "echo set $c"
		printf 'guest cost --nr 110 --rounds %s --batch %s none=none floor=floor' "$rounds" "$batch"
		for t in proot libseccomp libseccomp-tree ours-2action patched; do
			printf ' %s=/p/%s/%s.bpf' "$t" "$c" "$t"
		done
		echo
	done
	init_tail
} >"$work/root/init"
chmod +x "$work/root/init"
initramfs bookworm amd64 "$work/root" "$work/initrd.gz"
: >"$out/qemu.txt"
for suite in bullseye bookworm; do
	vmlinuz=$(deb_kernel "$suite" amd64 "$work/k-$suite")
	say "proot: booting $(basename "$vmlinuz") ($suite)"
	qemu_boot amd64 "$vmlinuz" "$work/initrd.gz" "$work/serial-$suite.txt" ||
		{ tail -n 40 "$work/serial-$suite.txt" >&2; exit 1; }
	awk -v s="$suite" '/TFQ-BEGIN/ { on = 1; next } /^TFQ-END/ { on = 0 } !on { next }
		$1 == "set" { set = $2 } $1 == "cost" { print s, set, $2, $7, $8, $3, $4 }' \
		"$work/serial-$suite.txt" >>"$out/qemu.txt"
done
{
	echo "| kernel | config | program | guest insns per getppid | ratio to floor |"
	echo "|---|---|---|---|---|"
	awk '{ printf "| %s | %s | %s | %s | %s |\n", ($1 == "bullseye" ? "5.10" : "6.1"), $2, $3, $4, $5 }' "$out/qemu.txt"
} >"$out/qemu.md"
cat "$out/qemu.md"
