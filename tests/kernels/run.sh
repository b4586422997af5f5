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
#  4. tracefilter_probe reports the kernel's facts (bench/qemu-checks.awk,
#     one "probe:ARCH" line per kernel) and tracefilter_install, in a child
#     that then executes the personality's program (another personality for
#     i386, x32 and arm: the filter survives execve), makes a traced syscall
#     fail with ENOSYS (no tracer) and lets an allowed one run. The library
#     runs in the guest: built for aarch64 and riscv64 with Debian's
#     rustc-web (below); if that fails, the line says so;
#  5. the CLONE_UNTRACED guard's flag-clear case (tests/kernels/kguard.c, a
#     tracer on the library, over tests/c/untraced.c built for the
#     personality): a plain clone does not stop; clone3 stops and is
#     cleared; clone stops and is cleared where the rule says (an x86_64
#     or aarch64 tracer, or Linux 6.16+), else tracefilter_untraced_clear says
#     E_UNSUPPORTED and the child escapes, as documented.
# Per arm64 and riscv64 kernel, tests/tftrace.sh itself ("tftrace.sh:ARCH"
# lines) in the guest, with Debian's userland and strace (below).
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
# A guest or a native check that hangs is cut off (a guest takes 0.5-3 min here).
QEMU_TIMEOUT=${QEMU_TIMEOUT:-600}
export QEMU_TIMEOUT
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

# The library, the host generator and the library-linked x86_64 guest
# (bench/guest.c: tracefilter_probe, install, install+exec).
(cd "$root" && env -u CARGO_TARGET_DIR make -s lib >/dev/null)
lib=$root/target/release/libtracefilter.a
gcc -O2 -Wall -Wextra -I"$root/include" -o "$work/kgen" "$here/kgen.c" "$lib" -lpthread -ldl -lm

# kcheck for each personality. -m32/-mx32 find <asm/...> through
# /usr/include/asm, which only gcc-multilib (conflicting with the cross
# compilers in Debian 12) provides: a private include directory stands in.
mkdir -p "$work/inc"
ln -s /usr/include/x86_64-linux-gnu/asm "$work/inc/asm"
guest_for() { # PERS LIB: the library-linked guest programs (bench/guest.c, tftrace, kguard)
	for prog in bench/guest.c examples/tftrace.c tests/kernels/kguard.c; do
		$(cc_for "$1") -O2 -Wall -Wextra -static -I"$root/include" \
			-o "$work/$(basename "$prog" .c)-$1" "$root/$prog" "$2" -lpthread -ldl -lm 2>/dev/null
	done
}
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
	# the CLONE_UNTRACED reproducer, traced by kguard
	$(cc_for $p) -O2 -Wall -Wextra -static -pthread -o "$work/untraced-$p" "$root/tests/c/untraced.c" 2>>"$work/cc-$p.log" ||
		{ rm -f "$work/untraced-$p"; say "no CLONE_UNTRACED guard check for $p: untraced.c does not build"; }
done

# The library for aarch64 and riscv64, so that tracefilter_probe and
# tracefilter_install run on those kernels too. No rustup target can be
# fetched here, but Debian serves a newer Rust for its browsers: rustc-web
# (Debian 12, amd64) with libstd-rust-web-dev for the target (Multi-Arch:
# same; arm64 from Debian 12, riscv64 from Debian 13, the first release with
# riscv64, built from the same upstream version). The packages are unpacked
# into the cache (the machine's toolchain is untouched) and cargo builds with
# that rustc. Sets lib_TARGET, or says why not.
lib_aarch64= lib_riscv64= rw= ldpath=
rust_web() {
	suite=bookworm-security
	ver=$(papt_version "$suite" amd64 rustc-web) || ver=
	[ -n "$ver" ] || { suite=bookworm; ver=$(papt_version "$suite" amd64 rustc-web) || ver=; }
	[ -n "$ver" ] || { say "no cross library: rustc-web not found"; return 1; }
	rv=$(echo "$ver" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
	llvm=$(papt "$suite" amd64 apt-cache show "libstd-rust-web-$rv" | sed -n 's/^Depends:.*\(libllvm[0-9]*\).*/\1/p' | head -n 1)
	rw=$cache/rust-web-$ver
	if [ ! -x "$rw/usr/bin/rustc" ]; then
		rm -rf "$rw.tmp"
		for pkg in rustc-web libstd-rust-web-dev "libstd-rust-web-$rv" $llvm; do
			deb=$(deb_fetch "$suite" amd64 "$pkg" 2>/dev/null || deb_fetch bookworm amd64 "$pkg") ||
				{ say "no cross library: cannot fetch $pkg"; return 1; }
			dpkg-deb -x "$deb" "$rw.tmp"
		done
		mv "$rw.tmp" "$rw"
	fi
	ldpath=$rw/usr/lib/x86_64-linux-gnu
	for d in "$rw"/usr/lib/llvm-*/lib; do [ -d "$d" ] && ldpath=$ldpath:$d; done
	if ! LD_LIBRARY_PATH=$ldpath "$rw/usr/bin/rustc" --version >/dev/null 2>"$work/rustc.log"; then
		say "no cross library: Debian's rustc-web does not run here: $(head -n 1 "$work/rustc.log")"
		return 1
	fi
	upstream=${ver%%-*}
}
# cross_lib TRIPLE DEBARCH SUITE... : prints the static library's path.
cross_lib() {
	triple=$1 debarch=$2
	shift 2
	gcc=$(echo "$triple" | sed 's/riscv64gc/riscv64/; s/-unknown//')-gcc
	command -v "$gcc" >/dev/null || { say "no $triple library: no $gcc"; return 1; }
	if [ ! -d "$rw/usr/lib/rustlib/$triple" ]; then
		for suite in "$@"; do
			v=$(papt_version "$suite" "$debarch" libstd-rust-web-dev 2>/dev/null) || continue
			[ "${v%%-*}" = "$upstream" ] || continue
			deb=$(deb_fetch "$suite" "$debarch" libstd-rust-web-dev) || continue
			dpkg-deb -x "$deb" "$work/std-$debarch" && cp -r "$work/std-$debarch/usr/lib/rustlib/$triple" "$rw/usr/lib/rustlib/"
			break
		done
	fi
	[ -d "$rw/usr/lib/rustlib/$triple" ] ||
		{ say "no $triple library: no libstd-rust-web-dev:$debarch $upstream in $*"; return 1; }
	linker=CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_LINKER
	say "building the library for $triple with $(LD_LIBRARY_PATH=$ldpath "$rw/usr/bin/rustc" --version)"
	if ! (cd "$root" && env LD_LIBRARY_PATH="$ldpath" RUSTC="$rw/usr/bin/rustc" "$linker=$gcc" \
		nice -n 10 cargo build -q --release --lib --target "$triple" \
		--target-dir "$cache/target-rust-web") 2>"$work/cargo-$triple.log"; then
		say "no $triple library: cargo failed: $(tail -n 3 "$work/cargo-$triple.log")"
		return 1
	fi
	echo "$cache/target-rust-web/$triple/release/libtracefilter.a"
}
case " $kernels " in
*" arm64"* | *" riscv64 "*)
	if rust_web; then
		case " $kernels " in *" arm64"*)
			lib_aarch64=$(cross_lib aarch64-unknown-linux-gnu arm64 bookworm-security bookworm) &&
				guest_for aarch64 "$lib_aarch64" ;;
		esac
		case " $kernels " in *" riscv64 "*)
			lib_riscv64=$(cross_lib riscv64gc-unknown-linux-gnu riscv64 trixie) &&
				guest_for riscv64 "$lib_riscv64" ;;
		esac
	fi
	;;
esac

guest_for x86_64 "$lib"

# tftrace's shell tests (tests/tftrace.sh, unchanged) in the arm64 and
# riscv64 guests: Debian's dash, coreutils, grep, sed, mawk, diffutils,
# util-linux's setsid and strace (the reference) with their libraries,
# unpacked for the guest's architecture in a merged /usr as on this machine;
# the script with tests/lib/common.sh in /src; tftrace in /bin; the programs
# it runs (tests/c/*.c) built here with the cross compiler, linked with the
# guest's libc as on this machine, in /helpers (the guests have no compiler:
# TFTRACE_HELPERS). Sets userland_ARCH, or says why not.
userland_arm64= userland_riscv64=
userland() { # SUITE ARCH PERS
	u=$work/userland-$2
	rm -rf "$u" "$u.ul" && mkdir -p "$u" "$u.ul"
	pkgs="libc6 libacl1 libattr1 libgmp10 libselinux1 libpcre2-8-0 coreutils dash grep sed mawk diffutils strace"
	[ "$1" = trixie ] && pkgs="$pkgs libcap2 libssl3t64 libzstd1 zlib1g libsystemd0"
	[ "$1" = bookworm ] && pkgs="$pkgs libunwind8 liblzma5"
	for pkg in $pkgs util-linux; do
		deb=$(deb_fetch "$1" "$2" "$pkg") || { say "no tftrace.sh in the $2 guest: cannot fetch $pkg"; return 1; }
		if [ "$pkg" = util-linux ]; then # setsid only (no libraries needed)
			dpkg-deb -x "$deb" "$u.ul"
		else
			dpkg-deb -x "$deb" "$u"
		fi
	done
	# merged /usr (bookworm's packages still ship /bin, /lib)
	mkdir -p "$u/usr/bin" "$u/usr/sbin" "$u/usr/lib"
	for d in bin sbin lib; do
		if [ -d "$u/$d" ] && [ ! -L "$u/$d" ]; then
			cp -a "$u/$d/." "$u/usr/$d/" && rm -rf "${u:?}/$d"
		fi
		ln -sfn "usr/$d" "$u/$d"
	done
	cp "$(ls "$u.ul/usr/bin/setsid" "$u.ul/bin/setsid" 2>/dev/null | head -n 1)" "$u/usr/bin/setsid"
	ln -sf dash "$u/usr/bin/sh"
	ln -sf mawk "$u/usr/bin/awk"
	rm -rf "$u/usr/share" "$u"/usr/lib/*/gconv "$u.ul" # (no iconv: 20 MB less to boot)
	mkdir -p "$u/src/tests/lib" "$u/helpers" "$u/etc" "$u/tmp"
	cp "$root/tests/tftrace.sh" "$u/src/tests/" && cp "$root/tests/lib/common.sh" "$u/src/tests/lib/"
	echo tfguest > "$u/etc/hostname"
	for h in restart badexec seccomp_stack thread thread_exec untraced; do
		$(cc_for "$3") -O2 -Wall -Wextra -pthread -o "$u/helpers/$h" "$root/tests/c/$h.c" 2>"$work/cc-$h.log" ||
			{ say "no tftrace.sh in the $2 guest: tests/c/$h.c: $(head -n 1 "$work/cc-$h.log")"; return 1; }
	done
}
case " $kernels " in *" arm64"*)
	[ -x "$work/tftrace-aarch64" ] && userland bookworm arm64 aarch64 && userland_arm64=$work/userland-arm64 ;;
esac
case " $kernels " in *" riscv64 "*)
	[ -x "$work/tftrace-riscv64" ] && userland trixie riscv64 riscv64 && userland_riscv64=$work/userland-riscv64 ;;
esac

gen() { # DIR GROUP FOREIGN
	mkdir -p "$1"
	"$work/kgen" "$@" >&2
}
gen "$work/x86" x86_64,i386,x32 riscv64
gen "$work/arm" aarch64,arm x86_64
gen "$work/riscv" riscv64 aarch64

# judge PERS KERNEL_LABEL LOG CACHE COMPILED: one result line from a personality's
# section of a guest's output (or of the native run).
judge() {
	awk -v p="$1" -v cache="$4" -v compiled="$5" '
		$1 == "TFK" && $2 == "pers" { on = ($3 == p); next }
		!on { next }
		/^FAIL/ { nfail++; if (!why) why = $0 }
		$1 == "verdict" && $2 == p ":" { progs = $3; vfail = $5 }
		$1 == "cost" { c[$2] = $3 }
		/^ok enosys/ { enosys = 1 }
		$1 == "check" && $2 == "exec_install" { inst = $3 " " $4 }
		$1 == "check" && $2 == "exec_exit" { xit = $3 }
		$1 == "TFK" && $2 == "guard-expect" { gexp = $3 }
		/^ok guard / { guard++ }
		END {
			bad = ""
			if (progs == "" || vfail != 0) bad = bad "verdicts incomplete; "
			detail = progs " distinct programs (of " compiled " compiled) accepted and enforced as emulated"
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
			if (gexp != "" && guard != 5)
				bad = bad "CLONE_UNTRACED guard: " guard + 0 " of 5 cases as expected; "
			else if (gexp == "clone")
				detail = detail "; CLONE_UNTRACED guard: plain clone not stopped, clone/thread/clone3 stopped and cleared"
			else if (gexp == "unsupported")
				detail = detail "; CLONE_UNTRACED guard: plain clone not stopped, clone3 stopped and cleared, clone/thread stopped, E_UNSUPPORTED, child escapes (documented)"
			if (nfail) bad = bad nfail " FAIL lines, first: " why
			if (bad != "") { print "FAIL\t" bad; exit }
			print "ok\t" detail
		}' "$3"
}
report() { # PERS KERNEL LOG CACHE GROUPDIR
	out=$(judge "$1" "$2" "$3" "$4" "$(cat "$5/compiled")")
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
		timeout 300 "$work/kcheck-$p" verdict "$work/x86/$p.list" "$work/x86" || true
		set -- $(cat "$work/x86/$p.enosys")
		timeout 60 "$work/guest-x86_64" exec "$work/x86/exec.bpf" "$work/kcheck-$p" enosys "$1" "$2" || true
		if [ -x "$work/untraced-$p" ]; then
			echo x > "$work/guard-target"
			echo "TFK guard-expect clone" # an x86_64 tracer rewrites clone's flags in the registers
			timeout 120 "$work/kguard-x86_64" clone "$work/untraced-$p" "$work/guard-target" || true
		fi
	} > "$work/native-$p.log" 2>&1
	report "$p" "$native" "$work/native-$p.log" "" "$work/x86"
done

# boot NAME ARCH SUITE GROUPDIR PERS... : one guest running every check of
# its personalities; then a result line each.
boot() {
	name=$1 arch=$2 suite=$3 g=$4
	shift 4
	pers=$*
	r=$work/root-$name
	mkdir -p "$r"
	userland=
	[ "$arch" = arm64 ] && userland=$userland_arm64
	[ "$arch" = riscv64 ] && userland=$userland_riscv64
	[ -n "$userland" ] && cp -a "$userland/." "$r/"
	mkdir -p "$r/bin" "$r/k"
	cp "$g"/* "$r/k/"
	guest=
	[ "$arch" = amd64 ] && guest=$work/guest-x86_64
	[ "$arch" = arm64 ] && [ -x "$work/guest-aarch64" ] && guest=$work/guest-aarch64
	[ "$arch" = riscv64 ] && [ -x "$work/guest-riscv64" ] && guest=$work/guest-riscv64
	if [ -n "$guest" ]; then
		cp "$guest" "$r/bin/guest"
		cp "$(echo "$guest" | sed 's/guest-/tftrace-/')" "$r/bin/tftrace"
		cp "$here/tftrace-check.sh" "$r/bin/tftrace-check"
	fi
	{
		init_head
		echo 'echo "TFK kernel $(uname -r)"'
		[ -n "$guest" ] && echo "guest checks --trace-nr $(($(cut -d' ' -f1 "$g/$1.enosys"))) /k/openat-speed-auto.bpf"
		[ -n "$guest" ] && echo "sh /bin/tftrace-check"
		if [ -n "$guest" ]; then
			cp "$(echo "$guest" | sed 's/guest-/kguard-/')" "$r/bin/kguard"
			echo 'echo x > /guard-target'
			# clone's flags: rewritten with the registers by an x86_64 or aarch64
			# tracer, else with PTRACE_SET_SYSCALL_INFO (Linux 6.16); E_UNSUPPORTED
			# before (riscv64: clone reads orig_a0, not in the general register set).
			if [ "$arch" = amd64 ] || [ "$arch" = arm64 ]; then
				echo 'clear=clone'
			else
				echo 'v=$(uname -r); maj=${v%%.*}; v=${v#*.}; min=${v%%[!0-9]*}'
				echo 'if [ $((maj * 1000 + min)) -ge 6016 ]; then clear=clone; else clear=unsupported; fi'
			fi
		fi
		for p in $pers; do
			[ -x "$work/kcheck-$p" ] || continue
			cp "$work/kcheck-$p" "$r/bin/"
			set -- $(cat "$g/$p.cost")
			echo "echo 'TFK pers $p'"
			echo "kcheck-$p verdict /k/$p.list /k"
			echo "kcheck-$p cost $1 $rounds $batch floor=floor ours=/k/${3#ours=} size=/k/${4#size=}"
			set -- $(cat "$g/$p.enosys")
			[ -n "$guest" ] && echo "guest exec /k/exec.bpf /bin/kcheck-$p enosys $1 $2"
			if [ -n "$guest" ] && [ -x "$work/untraced-$p" ]; then
				cp "$work/untraced-$p" "$r/bin/"
				echo 'echo "TFK guard-expect $clear"'
				echo "kguard \$clear /bin/untraced-$p /guard-target"
			fi
		done
		if [ -n "$userland" ]; then
			echo 'mount -t devtmpfs dev /dev'
			echo 'echo "TFT-BEGIN $(cut -d" " -f1 /proc/uptime)"'
			# (full paths: busybox's shell would run its own env and sh)
			echo '/usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/tmp TFTRACE=/bin/tftrace TFTRACE_HELPERS=/helpers /usr/bin/sh /src/tests/tftrace.sh'
			echo 'echo "TFT-END $(cut -d" " -f1 /proc/uptime)"'
		fi
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
		report "$p" "$kver" "$work/serial-$name.txt" "$has_cache" "$g"
	done
	# tftrace, the example tracer, on this kernel.
	if [ $ok = 1 ] && [ -n "$guest" ]; then
		line=$(grep -E '^(ok|FAIL) tftrace' "$work/serial-$name.txt" | head -n 1)
		case $line in
		ok*) result "tftrace:$arch" "$kver" ok "${line#ok tftrace: }" ;;
		*) result "tftrace:$arch" "$kver" FAIL "${line:-no tftrace result}" ;;
		esac
	fi
	# tests/tftrace.sh on this kernel: its summary line, and what it skipped.
	if [ $ok = 1 ] && [ -n "$userland" ]; then
		sed -n '/^TFT-BEGIN/,/^TFT-END/p' "$work/serial-$name.txt" > "$work/tftrace-$name.txt"
		sum=$(sed -n 's/^  \([0-9]* passed, [0-9]* failed, [0-9]* skipped\)$/\1/p' "$work/tftrace-$name.txt")
		# guest seconds (-icount: 10^9 guest instructions each)
		secs=$(awk '/^TFT-BEGIN/ { b = $2 } /^TFT-END/ { printf "%.1f", $2 - b }' "$work/tftrace-$name.txt")
		sum="$sum in ${secs}s of guest time"
		skips=$(sed -n 's/^  SKIP: //p' "$work/tftrace-$name.txt" | cut -d: -f1 | tr '\n' ';')
		case $sum in
		*" 0 failed"*) result "tftrace.sh:$arch" "$kver" ok "tests/tftrace.sh: $sum${skips:+ ($skips)}" ;;
		*) result "tftrace.sh:$arch" "$kver" FAIL "tests/tftrace.sh: ${sum:-no summary}: $(grep -m 3 'FAIL' "$work/tftrace-$name.txt" | tr '\n' ' ')" ;;
		esac
	elif [ $ok = 1 ] && { [ "$arch" = arm64 ] || [ "$arch" = riscv64 ]; }; then
		result "tftrace.sh:$arch" "$kver" SKIP "no userland or no tftrace for $arch (see the messages above)"
	fi
	# The kernel's facts as tracefilter_probe sees them.
	if [ $ok = 1 ] && [ -z "$guest" ]; then
		result "probe:$arch" "$kver" SKIP "no library built for $arch (see the messages above): probe and install+exec not run"
	elif [ $ok = 1 ]; then
		awk -v k="$kver" '/TFQ-BEGIN/{on=1} on && $1 == "check" { print k, $0 }' "$work/serial-$name.txt" \
			> "$work/checks-$name.txt"
		if awk -f "$root/bench/qemu-checks.awk" "$work/checks-$name.txt" > "$work/checks-$name.out" 2>&1; then
			result "probe:$arch" "$kver" ok "tracefilter_probe and install on $arch: $(tail -n 1 "$work/checks-$name.out")"
		else
			result "probe:$arch" "$kver" FAIL "$(head -n 3 "$work/checks-$name.out" | tr '\n' ' ')"
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
