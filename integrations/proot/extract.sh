#!/bin/sh
# extract.sh DIR [SRC]: PRoot's own seccomp programs and the action maps
# they implement, for every architecture PRoot handles and for real PRoot
# command lines, with checks that they are what PRoot installs.
#
# PRoot builds its program at run time from its syscall lists: its own
# (proot_sysnums) merged with those of the extensions the command line
# enables, for the architectures of the host it was built for (x86_64 host:
# x86_64, x32, i386; i386: i386; arm: arm; aarch64: aarch64, arm).
#   - plists (PRoot's objects, its CLI, its enable_syscall_filtering(), with
#     prctl caught) gives the extensions' lists for a command line;
#   - pfilter (PRoot's seccomp.c and sysnum.c compiled for each host
#     architecture on this x86_64 machine) runs PRoot's generator on those
#     lists for that host, and computes the map the lists ask for from
#     PRoot's sysnum tables through its detranslate_sysnum();
#   - tfpmap evaluates each program on every number (tracefilter's emulator).
# Hosts: x86_64, i386, arm, aarch64 as PRoot builds for Linux, and the same
# with __ANDROID__ defined (Termux's builds: PRoot also traces ioctl and
# memfd_create there). Configurations (PRoot options): default (none),
# root (-0), distro (-0 --link2symlink --sysvipc -L -k 6.17.0-PRoot-Distro,
# the extensions a Termux proot-distro login enables), all (every extension
# a Linux build has: -k 6.17.0 -0 --link2symlink --sysvipc -L -H -p).
#
# Checks, each printed PASS/FAIL, then "N passed, M failed" (exit 1 if any
# failed):
#   1. pfilter's x86_64 program is byte-identical to plists' (PRoot's own
#      objects and CLI) for every configuration;
#   2. the program real PRoot installs in its tracee (caught by the
#      LD_PRELOAD shim prshim.so at prctl, `proot OPTIONS /bin/true`) is
#      byte-identical to plists' (skipped, saying why, where PRoot cannot
#      run: no ptrace);
#   3. for every host and configuration, the program returns exactly the
#      value of the map computed from PRoot's lists (every number
#      0..table+64 of each architecture, data bits included; KILL for
#      every number of the other architectures);
#   4. PRoot patched by 0001-seccomp-tracefilter.patch (its tree in
#      DIR/proot-patched): the patched generator (src/syscall/tfilter.c
#      with the library, run by pfilter.c built with -DPFILTER_TRACEFILTER
#      against that tree, the program caught at tracefilter_install) gives,
#      for every host and configuration, a program returning exactly the
#      values of 3.'s map; on this x86_64 host the program the patched
#      PRoot's own objects and CLI make (plists built with
#      -DPLISTS_TRACEFILTER, --wrap=tracefilter_install) is byte-identical
#      to it. Past the tables, the library's verification (every compile)
#      has proven the program returns ALLOW, as PRoot's chain does.
# Writes DIR/programs/HOST-CONFIG.bpf (raw struct sock_filter array),
# DIR/maps/HOST-CONFIG.map ("NAME NR VALUE SYSCALL" lines: NAME x86_64,
# x32, i386, aarch64 or arm, NR without the x32 bit, VALUE the 32-bit
# return value, SYSCALL PRoot's name or "-"; a last "unknown * VALUE -"
# line for other architectures), DIR/programs/HOST-CONFIG.tf.bpf (the
# patched PRoot's program), DIR/figures.txt (tfpmap figures of PRoot's).
# Needs: make, gcc, patch, cargo, objcopy, libtalloc-dev, uthash-dev.
# About 1.5 min.
set -eu
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

[ $# -ge 1 ] || { echo "usage: $0 DIR [SRC]" >&2; exit 2; }
tp_need make gcc patch cargo objcopy cmp tar
mkdir -p "$1"
dir=$(cd "$1" && pwd)
bin=$dir/bin
tree=$dir/proot-stock
mkdir -p "$bin" "$dir/programs" "$dir/maps" "$dir/lists"
start=$(date +%s)

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
phase() { echo "== $* ($(($(date +%s) - start)) s)"; }

phase "PRoot (unpatched), tracefilter library, tools"
tp_source "$tree" "${2:-}"
[ -x "$tree/src/proot" ] || tp_make "$tree" || tp_die "PRoot build failed (see $tree/make.out)"
(cd "$tp_repo" && env -u CARGO_TARGET_DIR make -s lib >/dev/null &&
	env -u CARGO_TARGET_DIR make -s install PREFIX="$dir/prefix" >/dev/null) ||
	tp_die "library build failed"
cflags="-O2 -Wall -Wextra -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64"
gcc $cflags -I"$dir/prefix/include" -o "$bin/tfpmap" "$tp_here/tfpmap.c" \
	-L"$dir/prefix/lib" -ltracefilter -Wl,-rpath,"$dir/prefix/lib"
gcc $cflags -shared -fPIC -o "$bin/prshim.so" "$tp_here/prshim.c" -ldl
# plists: every object of the build, main() renamed.
objs=$(make -s -C "$tree/src" --eval 'tp-objects: ; @echo $(OBJECTS)' tp-objects)
objcopy --redefine-sym main=proot_main "$tree/src/cli/cli.o" "$bin/cli-nomain.o"
objs=$(for o in $objs; do [ "$o" = cli/cli.o ] && echo "$bin/cli-nomain.o" || echo "$tree/src/$o"; done)
gcc $cflags -I"$tree/src" -o "$bin/plists" "$tp_here/plists.c" $objs -ltalloc -Wl,-z,noexecstack \
	-Wl,--wrap=launch_process,--wrap=prctl 2>"$bin/plists.log" || tp_die "plists: see $bin/plists.log"
# pfilter for each host. PRoot's arch.h guesses the host from the compiler
# unless ARCH_X86_64, ARCH_ARM_EABI, ARCH_X86 or ARCH_SH4 is defined;
# ARCH_ARM64 is not among them, so ARCH_SH4 is defined with it (ARCH_ARM64
# comes first in arch.h's #elif chain, and no other header tests ARCH_SH4).
# Its tracee.h needs struct user_regs (arm): the host's user_regs_struct
# stands in, unused by the generator.
hosts="x86_64 i386 arm aarch64"
host_defs() {
	case $1 in
	x86_64) echo "-DARCH_X86_64=1" ;;
	i386) echo "-DARCH_X86=1" ;;
	arm) echo "-DARCH_ARM_EABI=1" ;;
	aarch64) echo "-DARCH_ARM64=1 -DARCH_SH4=1" ;;
	esac
}
for h in $hosts; do
	d=$(host_defs "$h")
	for os in linux android; do
		name=$h
		a=
		[ $os = android ] && name=$h-android a=-D__ANDROID__
		gcc $cflags $d $a -Duser_regs=user_regs_struct -I"$tree/src" -o "$bin/pfilter-$name" \
			"$tp_here/pfilter.c" -ltalloc 2>"$bin/pfilter-$name.log" ||
			tp_die "pfilter for $name: see $bin/pfilter-$name.log"
	done
done

configs="default root distro all"
opts() {
	case $1 in
	default) ;;
	root) echo "-0" ;;
	distro) echo "-0 --link2symlink --sysvipc -L -k 6.17.0-PRoot-Distro" ;;
	all) echo "-k 6.17.0 -0 --link2symlink --sysvipc -L -H -p" ;;
	esac
}

phase "1. pfilter (PRoot's generator per host) against plists (PRoot's objects and CLI), x86_64"
for c in $configs; do
	"$bin/plists" "$dir/lists/$c.plists.bpf" $(opts "$c") >"$dir/lists/$c" 2>"$dir/lists/$c.err" ||
		tp_die "plists $(opts "$c"): $(head -c 300 "$dir/lists/$c.err")"
	"$bin/pfilter-x86_64" program "$dir/programs/x86_64-$c.bpf" <"$dir/lists/$c"
	if cmp -s "$dir/programs/x86_64-$c.bpf" "$dir/lists/$c.plists.bpf"; then
		pass "$c ($(opts "$c")): pfilter's x86_64 program is PRoot's ($(($(wc -c <"$dir/lists/$c.plists.bpf") / 8)) instructions, $(grep -c ^extension "$dir/lists/$c") extension lists)"
	else
		fail "$c: pfilter's x86_64 program differs from plists'"
	fi
done

phase "2. the program real PRoot installs (prshim.so at prctl)"
if ! out=$(timeout 30 "$tree/src/proot" /bin/true 2>&1); then
	echo "SKIP: PRoot cannot run here ($(echo "$out" | head -c 200)): no program caught from a real run"
else
	for c in $configs; do
		rm -f "$dir/lists/$c.real.bpf"
		TF_PROOT_DUMP="$dir/lists/$c.real.bpf" LD_PRELOAD="$bin/prshim.so" \
			timeout 30 "$tree/src/proot" $(opts "$c") /bin/true >/dev/null 2>&1 || :
		if [ -s "$dir/lists/$c.real.bpf" ] && cmp -s "$dir/lists/$c.real.bpf" "$dir/lists/$c.plists.bpf"; then
			pass "$c: \`proot $(opts "$c") /bin/true\` installs plists' program"
		else
			fail "$c: the program caught from \`proot $(opts "$c") /bin/true\` is not plists'"
		fi
	done
fi

phase "3. every host, every configuration: the program's map is the one PRoot's lists ask for"
: >"$dir/figures.txt"
for h in $hosts; do
	for name in $h $h-android; do
		for c in $configs; do
			p=$dir/programs/$name-$c.bpf
			m=$dir/maps/$name-$c.map
			"$bin/pfilter-$name" program "$p" <"$dir/lists/$c"
			"$bin/pfilter-$name" map <"$dir/lists/$c" >"$m"
			if "$bin/tfpmap" map "$p" <"$m" >"$m.eval" && cmp -s "$m" "$m.eval"; then
				pass "$name $c: $(($(wc -l <"$m") - 1)) numbers and unknown arches, same value ($(awk '$3 != "0x7fff0000" && $1 != "unknown"' "$m" | wc -l) traced)"
			else
				fail "$name $c: the program's map differs from PRoot's lists: $(diff "$m" "$m.eval" | head -n 4 | tr '\n' ' ')"
			fi
			{
				echo "# $name $c ($(opts "$c"))"
				"$bin/tfpmap" figures "$p" <"$m"
			} >>"$dir/figures.txt"
		done
	done
done
phase "4. PRoot patched with tracefilter: its program returns PRoot's map, every host and configuration"
ptree=$dir/proot-patched
if [ ! -x "$ptree/src/proot" ]; then
	rm -rf "$ptree"
	tp_source "$ptree" "${2:-}"
	tp_apply "$ptree" || tp_die "the patches do not apply"
	tp_make "$ptree" || tp_die "patched PRoot build failed (see $ptree/make.out)"
fi
tfc="$cflags -I$ptree/src $tp_tf_cflags"
for h in $hosts; do
	for a in "" -D__ANDROID__; do
		name=$h${a:+-android}
		gcc $tfc $(host_defs "$h") $a -DPFILTER_TRACEFILTER -Duser_regs=user_regs_struct \
			-o "$bin/tfilter-$name" "$tp_here/pfilter.c" -ltalloc $tp_tf_libs 2>"$bin/tfilter-$name.log" ||
			tp_die "the patched generator for $name: see $bin/tfilter-$name.log"
	done
done
pobjs=$(make -s -C "$ptree/src" --eval 'tp-objects: ; @echo $(OBJECTS)' tp-objects)
objcopy --redefine-sym main=proot_main "$ptree/src/cli/cli.o" "$bin/cli-tf-nomain.o"
pobjs=$(for o in $pobjs; do [ "$o" = cli/cli.o ] && echo "$bin/cli-tf-nomain.o" || echo "$ptree/src/$o"; done)
gcc $tfc -DPLISTS_TRACEFILTER -o "$bin/plists-tf" "$tp_here/plists.c" $pobjs -ltalloc $tp_tf_libs \
	-Wl,-z,noexecstack -Wl,--wrap=launch_process,--wrap=prctl,--wrap=tracefilter_install \
	2>"$bin/plists-tf.log" || tp_die "plists for patched PRoot: see $bin/plists-tf.log"
for c in $configs; do
	l=$dir/lists/$c
	rm -f "$l.tf-plists.bpf" "$dir/programs/x86_64-$c.tf.bpf"
	"$bin/plists-tf" "$l.tf-plists.bpf" $(opts "$c") >"$l.tf-lists" 2>"$l.tf-err" || :
	"$bin/tfilter-x86_64" program "$dir/programs/x86_64-$c.tf.bpf" <"$l" 2>>"$l.tf-err" || :
	if [ -s "$l.tf-plists.bpf" ] && cmp -s "$dir/programs/x86_64-$c.tf.bpf" "$l.tf-plists.bpf" &&
		cmp -s "$l" "$l.tf-lists"; then
		pass "$c: patched PRoot's objects and CLI make the patched generator's x86_64 program"
	else
		fail "$c: patched PRoot's own program (plists-tf) is not the patched generator's: $(head -c 300 "$l.tf-err")"
	fi
done
for h in $hosts; do
	for name in $h $h-android; do
		for c in $configs; do
			m=$dir/maps/$name-$c.map
			p=$dir/programs/$name-$c.tf.bpf
			rm -f "$p"
			"$bin/tfilter-$name" program "$p" <"$dir/lists/$c" 2>"$p.err" || :
			if [ -s "$p" ] && "$bin/tfpmap" map "$p" <"$m" >"$m.tf" && cmp -s "$m" "$m.tf"; then
				pass "$name $c: the patched program returns PRoot's value for all $(($(wc -l <"$m") - 1)) numbers and other arches ($(($(wc -c <"$p") / 8)) instructions, PRoot's $(($(wc -c <"$dir/programs/$name-$c.bpf") / 8)))"
			else
				fail "$name $c: the patched program is not PRoot's map: $(head -c 200 "$p.err" 2>/dev/null) $(diff "$m" "$m.tf" 2>/dev/null | head -n 4 | tr '\n' ' ')"
			fi
			{
				echo "# $name $c ($(opts "$c")), patched"
				"$bin/tfpmap" figures "$p" <"$m" 2>&1 || :
			} >>"$dir/figures.txt"
		done
	done
done
cat "$dir/figures.txt"

phase "done"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
