#!/bin/sh
# tests/kernels/run.sh [-k "amd64 arm64 arm64-5.10 riscv64"]
#
# Every personality the library compiles for, on a real kernel of its
# architecture: i386 natively on this machine, and under QEMU's emulator
# (Debian's kernels, tools/debian-qemu.sh) x86_64, i386 and x32 on amd64
# bookworm 6.1 (booted with syscall.x32=y: Debian builds x32 in but disables
# it), aarch64 and arm (compat) on arm64 bookworm 6.1 and bullseye 5.10,
# riscv64 on riscv64 trixie 6.12. Prints one line per personality and kernel
# ("aarch64 6.1 ok ...") and ends with "N passed, M failed".
#
# Per personality and kernel (tests/kernels/kgen.c compiles the programs on
# this machine, tests/kernels/kcheck.c checks them in the guest):
#  1. the kernel accepts every program: corpus-like sets from the names of
#     the personality's table under every strategy and both objectives,
#     random sets, near-4096-instruction programs, the personality alone
#     and a foreign personality alone;
#  2. for every number from 0 to the table size + 64 (the foreign programs:
#     the kernel's arch unknown to the program), the kernel's verdict equals
#     the emulator's, observed by a tracer that skips every syscall;
#  3. with the action cache (Linux >= 5.11), getppid, which the emulator
#     proves cacheable in our speed program, costs exactly the
#     one-instruction floor in guest instructions (-icount), while the size
#     objective's uncacheable program costs more; x32 numbers never are
#     cached (outside the kernel's bitmap); on 5.10 nothing is;
#  4. tracefilter_probe reports the kernel's facts (bench/qemu-checks.awk)
#     and tracefilter_install, in a child that then executes the
#     personality's program, makes a traced syscall fail with ENOSYS (no
#     tracer) and lets an allowed one run. This needs the library built for
#     the kernel's architecture: on amd64 and natively only (see README).
#
# Downloads are cached (tools/debian-qemu.sh: $TRACEFILTER_CACHE, default
# /var/cache/tracefilter). Needs: gcc with libc6-dev-i386, libc6-dev-x32,
# lib32gcc-12-dev, libx32gcc-12-dev; gcc-aarch64-linux-gnu,
# gcc-arm-linux-gnueabihf, gcc-riscv64-linux-gnu (with their libc6-dev-*-cross);
# qemu-system-x86, qemu-system-arm, qemu-system-misc; apt-get, dpkg-deb, cpio.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
. "$root/tools/debian-qemu.sh"

kernels="amd64 arm64 arm64-5.10 riscv64"
[ "${1:-}" = -k ] && kernels=$2
cache=$(cache_dir)
rounds=${KERNELS_ROUNDS:-5}
batch=${KERNELS_BATCH:-300}
work=$(mktemp -d "${TMPDIR:-/tmp}/tf-kernels.XXXXXX")
[ -n "${KERNELS_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
passed=0 failed=0 skipped=0
result() { # PERS KERNEL VERDICT DETAIL
	echo "$1 $2 $3${4:+ ($4)}"
	case $3 in
	ok) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
}

# The library, the host generator and the library-linked x86_64 guest.
(cd "$root" && env -u CARGO_TARGET_DIR make -s lib >/dev/null)
lib=$root/target/release/libtracefilter.a
gcc -O2 -Wall -Wextra -I"$root/include" -o "$work/kgen" "$here/kgen.c" "$lib" -lpthread -ldl -lm
gcc -O2 -Wall -Wextra -static -I"$root/include" -o "$work/guest-x86_64" "$root/bench/guest.c" \
	"$lib" -lpthread -ldl -lm 2>/dev/null

# kcheck for each personality. -m32/-mx32 find <asm/...> through
# /usr/include/asm, which only gcc-multilib (conflicting with the cross
# compilers in Debian 12) provides: a private include directory stands in.
mkdir -p "$work/inc"
ln -s /usr/include/x86_64-linux-gnu/asm "$work/inc/asm"
cc_for() {
	case $1 in
	x86_64) echo gcc ;;
	i386) echo "gcc -m32 -isystem $work/inc" ;;
	x32) echo "gcc -mx32 -isystem $work/inc" ;;
	aarch64) echo aarch64-linux-gnu-gcc ;;
	arm) echo arm-linux-gnueabihf-gcc ;;
	riscv64) echo riscv64-linux-gnu-gcc ;;
	esac
}
for p in x86_64 i386 x32 aarch64 arm riscv64; do
	# shellcheck disable=SC2046
	if ! $(cc_for $p) -O2 -Wall -Wextra -static -o "$work/kcheck-$p" "$here/kcheck.c" 2>"$work/cc-$p.log"; then
		rm -f "$work/kcheck-$p"
		say "no kcheck for $p: $(head -n 1 "$work/cc-$p.log")"
	fi
done

# The library for aarch64, so that tracefilter_probe and tracefilter_install
# run on the arm64 kernels too. No rustup target can be fetched here, but
# Debian 12 serves a newer Rust for its browsers: rustc-web with
# libstd-rust-web-dev, also for arm64 (Multi-Arch: same). Their packages
# are unpacked into the cache (the machine's toolchain is untouched) and
# cargo builds with that rustc for aarch64-unknown-linux-gnu. Sets
# $lib_aarch64, or prints why not.
lib_aarch64=
build_lib_aarch64() {
	command -v aarch64-linux-gnu-gcc >/dev/null || { say "no aarch64 library: no aarch64-linux-gnu-gcc"; return 0; }
	suite=bookworm-security
	ver=$(papt_version "$suite" amd64 rustc-web) || ver=
	[ -n "$ver" ] || { suite=bookworm; ver=$(papt_version "$suite" amd64 rustc-web) || ver=; }
	[ -n "$ver" ] || { say "no aarch64 library: rustc-web not found"; return 0; }
	rv=$(echo "$ver" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
	llvm=$(papt "$suite" amd64 apt-cache show "libstd-rust-web-$rv" | sed -n 's/^Depends:.*\(libllvm[0-9]*\).*/\1/p' | head -n 1)
	rw=$cache/rust-web-$ver
	if [ ! -x "$rw/usr/bin/rustc" ]; then
		rm -rf "$rw.tmp"
		for spec in "amd64 rustc-web" "amd64 libstd-rust-web-dev" "amd64 libstd-rust-web-$rv" \
			"arm64 libstd-rust-web-dev" "amd64 $llvm"; do
			set -- $spec
			deb=$(deb_fetch "$suite" "$1" "$2" 2>/dev/null || deb_fetch bookworm "$1" "$2") ||
				{ say "no aarch64 library: cannot fetch $2 ($1)"; return 0; }
			dpkg-deb -x "$deb" "$rw.tmp"
		done
		mv "$rw.tmp" "$rw"
	fi
	ldpath=$rw/usr/lib/x86_64-linux-gnu
	for d in "$rw"/usr/lib/llvm-*/lib; do [ -d "$d" ] && ldpath=$ldpath:$d; done
	if ! LD_LIBRARY_PATH=$ldpath "$rw/usr/bin/rustc" --version >/dev/null 2>"$work/rustc.log"; then
		say "no aarch64 library: Debian's rustc-web does not run here: $(head -n 1 "$work/rustc.log")"
		return 0
	fi
	say "building the library for aarch64 with $(LD_LIBRARY_PATH=$ldpath "$rw/usr/bin/rustc" --version)"
	if (cd "$root" && LD_LIBRARY_PATH=$ldpath RUSTC="$rw/usr/bin/rustc" \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
		nice -n 10 cargo build -q --release --lib --target aarch64-unknown-linux-gnu \
		--target-dir "$cache/target-rust-web") 2>"$work/cargo-aarch64.log"; then
		lib_aarch64=$cache/target-rust-web/aarch64-unknown-linux-gnu/release/libtracefilter.a
	else
		say "no aarch64 library: cargo failed: $(tail -n 3 "$work/cargo-aarch64.log")"
	fi
}
case " $kernels " in *" arm64"*) build_lib_aarch64 ;; esac
if [ -n "$lib_aarch64" ]; then
	aarch64-linux-gnu-gcc -O2 -Wall -Wextra -static -I"$root/include" -o "$work/guest-aarch64" \
		"$root/bench/guest.c" "$lib_aarch64" -lpthread -ldl -lm 2>/dev/null
fi

gen() { # DIR GROUP FOREIGN
	mkdir -p "$1"
	"$work/kgen" "$@" >&2
}
gen "$work/x86" x86_64,i386,x32 riscv64
gen "$work/arm" aarch64,arm x86_64
gen "$work/riscv" riscv64 aarch64

# judge PERS KERNEL_LABEL LOG CACHE: one result line from a personality's
# section of a guest's output (or of the native run).
judge() {
	awk -v p="$1" -v cache="$4" '
		$1 == "TFK" && $2 == "pers" { on = ($3 == p); next }
		!on { next }
		/^FAIL/ { nfail++; if (!why) why = $0 }
		$1 == "verdict" && $2 == p ":" { progs = $3; vfail = $5 }
		$1 == "cost" { c[$2] = $3 }
		/^ok enosys/ { enosys = 1 }
		$1 == "check" && $2 == "exec_install" { inst = $3 " " $4 }
		$1 == "check" && $2 == "exec_exit" { xit = $3 }
		END {
			bad = ""
			if (progs == "" || vfail != 0) bad = bad "verdicts incomplete; "
			detail = progs " programs accepted and enforced as emulated"
			if (cache != "") {
				if (c["floor"] == "" || c["ours"] == "" || c["size"] == "")
					bad = bad "cost incomplete; "
				else {
					r = c["ours"] / c["floor"]; rs = c["size"] / c["floor"]
					detail = detail sprintf("; getppid insns ours/floor %.3f, uncacheable/floor %.3f", r, rs)
					if (cache == "yes" && p != "x32" && !(r <= 1.002 && rs > 1.01))
						bad = bad "cacheable getppid does not cost the floor; "
					if ((cache == "no" || p == "x32") && !(r > 1.002))
						bad = bad "getppid costs the floor without a cache; "
				}
			}
			if (inst != "") {
				if (inst != "0 installed=1" || xit != 0 || !enosys)
					bad = bad "install+exec: " inst " exit " xit "; "
				else
					detail = detail "; tracefilter_install+exec ok"
			}
			if (nfail) bad = bad nfail " FAIL lines, first: " why
			if (bad != "") { print "FAIL\t" bad; exit }
			print "ok\t" detail
		}' "$3"
}
report() { # PERS KERNEL LOG CACHE
	out=$(judge "$1" "$2" "$3" "$4")
	result "$1" "$2" "${out%%	*}" "${out#*	}"
}

# Natively: i386 on this machine's kernel (x86_64 is tests/kernel_accepts.rs;
# x32 only where the kernel enables it).
native=$(uname -r | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
for p in i386 x32; do
	[ -x "$work/kcheck-$p" ] || { result "$p" "$native" SKIP "no compiler for $p"; continue; }
	rc=0
	"$work/kcheck-$p" >/dev/null 2>&1 || rc=$?
	if [ $rc -ne 2 ]; then # the usage message's status: it ran
		result "$p" "$native" SKIP "this kernel does not run $p programs"
		continue
	fi
	{
		echo "TFK pers $p"
		"$work/kcheck-$p" verdict "$work/x86/$p.list" "$work/x86" || true
		set -- $(cat "$work/x86/$p.enosys")
		"$work/guest-x86_64" exec "$work/x86/exec.bpf" "$work/kcheck-$p" enosys "$1" "$2" || true
	} > "$work/native-$p.log" 2>&1
	report "$p" "$native" "$work/native-$p.log" ""
done

# boot NAME ARCH SUITE GROUPDIR PERS... : one guest running every check of
# its personalities; then a result line each.
boot() {
	name=$1 arch=$2 suite=$3 g=$4
	shift 4
	pers=$*
	r=$work/root-$name
	mkdir -p "$r/bin" "$r/k"
	cp "$g"/* "$r/k/"
	guest=
	[ "$arch" = amd64 ] && guest=$work/guest-x86_64
	[ "$arch" = arm64 ] && [ -x "$work/guest-aarch64" ] && guest=$work/guest-aarch64
	[ -n "$guest" ] && cp "$guest" "$r/bin/guest"
	{
		init_head
		echo 'echo "TFK kernel $(uname -r)"'
		[ -n "$guest" ] && echo "guest checks --trace-nr $(($(cut -d' ' -f1 "$g/$1.enosys"))) /k/openat-speed-auto.bpf"
		for p in $pers; do
			[ -x "$work/kcheck-$p" ] || continue
			cp "$work/kcheck-$p" "$r/bin/"
			set -- $(cat "$g/$p.cost")
			echo "echo 'TFK pers $p'"
			echo "kcheck-$p verdict /k/$p.list /k"
			echo "kcheck-$p cost $1 $rounds $batch floor=floor ours=/k/${3#ours=} size=/k/${4#size=}"
			set -- $(cat "$g/$p.enosys")
			[ -n "$guest" ] && echo "guest exec /k/exec.bpf /bin/kcheck-$p enosys $1 $2"
		done
		init_tail
	} > "$r/init"
	chmod +x "$r/init"
	initramfs "$suite" "$arch" "$r" "$work/initrd-$name.gz"
	vmlinuz=$(deb_kernel "$suite" "$arch" "$work/k-$name")
	extra=
	[ "$arch" = amd64 ] && extra=syscall.x32=y
	say "booting $(basename "$vmlinuz") ($suite $arch)"
	start=$(date +%s)
	ok=1
	nice -n 10 true 2>/dev/null && nice=nice || nice=
	if ! ${nice:+nice -n 10} sh -c '. "$1"; qemu_boot "$2" "$3" "$4" "$5" "$6"' sh \
		"$root/tools/debian-qemu.sh" "$arch" "$vmlinuz" "$work/initrd-$name.gz" "$work/serial-$name.txt" "$extra"; then
		ok=0
	fi
	say "$name: $(($(date +%s) - start)) s"
	[ -n "${KERNELS_LOGS:-}" ] && cp "$work/serial-$name.txt" "$KERNELS_LOGS/"
	kver=$(sed -n 's/^TFK kernel \([0-9]*\.[0-9]*\).*/\1/p' "$work/serial-$name.txt" | head -n 1)
	for p in $pers; do
		if [ $ok = 0 ]; then
			result "$p" "${kver:-$suite}" FAIL "the guest did not finish: $(tail -n 1 "$work/serial-$name.txt")"
			continue
		fi
		[ -x "$work/kcheck-$p" ] || { result "$p" "$kver" SKIP "no compiler for $p"; continue; }
		major=${kver%%.*} minor=${kver#*.}
		if [ "$major" -gt 5 ] || { [ "$major" -eq 5 ] && [ "$minor" -ge 11 ]; }; then has_cache=yes; else has_cache=no; fi
		report "$p" "$kver" "$work/serial-$name.txt" "$has_cache"
	done
	# The kernel's facts as tracefilter_probe sees them (amd64: the library runs there).
	if [ $ok = 1 ] && [ -n "$guest" ]; then
		awk -v k="$kver" '/TFQ-BEGIN/{on=1} on && $1 == "check" { print k, $0 }' "$work/serial-$name.txt" \
			> "$work/checks-$name.txt"
		if awk -f "$root/bench/qemu-checks.awk" "$work/checks-$name.txt" > "$work/checks-$name.out" 2>&1; then
			result probe "$kver" ok "tracefilter_probe and install on $arch: $(tail -n 1 "$work/checks-$name.out")"
		else
			result probe "$kver" FAIL "$(head -n 3 "$work/checks-$name.out" | tr '\n' ' ')"
		fi
	fi
}

for k in $kernels; do
	case $k in
	amd64) boot amd64 amd64 bookworm "$work/x86" x86_64 i386 x32 ;;
	arm64) boot arm64 arm64 bookworm "$work/arm" aarch64 arm ;;
	arm64-5.10) boot arm64-5.10 arm64 bullseye "$work/arm" aarch64 arm ;;
	riscv64) boot riscv64 riscv64 trixie "$work/riscv" riscv64 ;;
	*) echo "run.sh: unknown kernel $k" >&2; exit 2 ;;
	esac
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
