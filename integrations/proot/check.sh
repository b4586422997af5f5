#!/bin/sh
# check.sh [SRC]: checks PRoot with its seccomp filter, as root on Debian 12.
# SRC: see lib.sh (default ../shared/src beside the repository).
#
# It builds PRoot unpatched and patched (integrations/proot/NNNN-*.patch,
# lib.sh: tp_patches; the patched build links the library statically) and
# requires every result below of both builds, and the same on both:
#   1. PRoot's own programs (extract.sh): for every host and configuration,
#      the program of PRoot's generator is the one real PRoot installs and
#      returns exactly the values PRoot's syscall lists ask for; the
#      patched PRoot's program returns exactly the same values (every
#      number of every architecture, data bits included), and is the one
#      the patched PRoot's own objects make;
#   2. PRoot's own suite (tests/, `make check-TEST` one test at a time, each
#      under a timeout: PROOT_TEST_TIMEOUT, default 120 s), with seccomp and
#      with PROOT_NO_SECCOMP=1: every test passes or is skipped in both
#      modes, with the same verdict, except the known failures below, which
#      must fail (or loop) the same way in both modes;
#   3. real commands under PRoot, with and without seccomp, against the
#      same commands run directly: -r with a busybox rootfs, -0, -b, -w;
#      tar, find, a shell pipeline, a C compile; and the tracee's
#      /proc/self/status says whether the filter is on, and NoNewPrivs: 1
#      unpatched, and patched only where the kernel demands it (as nobody);
#   4. PRoot's silent fallback: with its install refused (EPERM, ENOMEM,
#      by outer filters: tests/c/seccomp_stack.c) the guest works under
#      plain ptrace, with no message and no filter of PRoot's.
# Prints each check PASS/FAIL, then "N passed, M failed"; exit status 1 if
# any failed, 2 if it cannot run.
#
# Known failures of PRoot's suite unpatched on this kernel (6.18) and
# Debian 12, with and without seccomp alike (KNOWN below says why each).
# Three tests loop forever (since Linux 5.18 execve gives a program run
# with an empty argv argv[0] = ""): they get PROOT_LOOP_TIMEOUT (default
# 20 s) and must still time out.
#
# About 11 min on 2 CPUs (README.md: 10 min 35 s; PRoot's suite: 4 runs of about 2 min).
# Needs: root (PRoot's -0 tests and chown), make, gcc, patch, cargo, objcopy,
# timeout, libtalloc-dev, uthash-dev, busybox-static (the rootfs), mcookie
# (util-linux, PRoot's tests). Environment: TF_PROOT_WORK (work directory,
# kept; default a new /tmp one, removed at the end unless KEEP=1),
# PROOT_TEST_TIMEOUT, JOBS (default 2).
set -eu
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

srcarg=${1:-}
tmo=${PROOT_TEST_TIMEOUT:-120}
work=${TF_PROOT_WORK:-$(mktemp -d /tmp/tf-proot.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
start=$(date +%s)

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
phase() { echo "== $* ($(($(date +%s) - start)) s)"; }
cleanup() {
	[ "${KEEP:-0}" = 1 ] || [ -n "${TF_PROOT_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || tp_die "must run as root (PRoot's tests of -0 and chown)"
tp_need make gcc cargo objcopy timeout tar find sort md5sum mcookie cmp setpriv join
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx tar ||
	tp_die "missing /bin/busybox with tar (apt-get install busybox-static)"

# Test -> why it fails unpatched here, in both modes ("loops": it must time out).
KNOWN='
test-0cf405b0.c loops: it re-executes itself with an empty argv until argc is 0, and since Linux 5.18 execve gives it argv[0] = ""
test-25069c12.c loops: the same empty-argv re-execution as test-0cf405b0
test-25069c13.c loops: the same empty-argv re-execution as test-0cf405b0
test-071599da.sh fails: under PROOT_FORCE_KOMPAT=1 -k, ld.so cannot load libc.so.6 ("cannot stat shared object")
test-1ffc8309.sh fails: under PROOT_FORCE_KOMPAT=1 -k, ld.so cannot load libc.so.6 ("cannot stat shared object")
test-1ffc8309.c fails: under PROOT_FORCE_KOMPAT=1 -k, ld.so cannot load libc.so.6 ("cannot stat shared object")
test-691786c8.sh fails: it expects a shebang line over 128 bytes to be cut (BINPRM_BUF_SIZE before Linux 5.1); the kernel and PRoot both keep its argument
test-tempdire.sh fails: it expects PRoot to fail with a read-only PROOT_TMP_DIR, which stays writable for root
test-kkkkkkkk.c fails: its check "Do not set the brk below its initial value" fails without PRoot too, on this kernel
'
known() { echo "$KNOWN" | awk -v t="$1" '$1 == t { $1 = ""; sub(/^ /, ""); print; f = 1 } END { exit !f }'; }

# ---------------------------------------------------------------- builds
phase "PRoot source and builds"
tp_source "$work/src" "$srcarg"
builds=stock
rm -rf "$work/stock"
cp -a "$work/src" "$work/stock"
if tp_make "$work/stock"; then
	pass "unpatched PRoot builds"
else
	fail "unpatched PRoot does not build (see $work/stock/make.out)"
	echo "$passed passed, $failed failed"
	exit 1
fi
if [ -n "$(tp_patches)" ]; then
	rm -rf "$work/patched"
	cp -a "$work/src" "$work/patched"
	if tp_apply "$work/patched" && tp_lib && tp_make "$work/patched"; then
		pass "the patches apply and PRoot builds ($(tp_patches | wc -l) patches)"
		builds="stock patched"
	else
		fail "the patches do not apply, or patched PRoot does not build (see $work/patched/make.out)"
	fi
else
	echo "no patch in integrations/proot yet: unpatched PRoot only"
fi

# ---------------------------------------------------------------- 1. programs
phase "1. PRoot's own programs and maps (extract.sh)"
sh "$tp_here/extract.sh" "$work/extract" "$work/src" >"$work/extract.out" 2>&1 || :
grep -E '^(PASS|FAIL|SKIP):' "$work/extract.out" || :
passed=$((passed + $(grep -c '^PASS' "$work/extract.out" || :)))
failed=$((failed + $(grep -c '^FAIL' "$work/extract.out" || :)))
grep -q ' passed, 0 failed$' "$work/extract.out" ||
	fail "extract.sh did not finish: $(tail -n 3 "$work/extract.out" | tr '\n' ' ')"

# ---------------------------------------------------------------- 2. PRoot's suite
phase "2. PRoot's own suite, each test under a ${tmo} s timeout, with and without seccomp"
# The verdict of one test: ok, FAILED, skipped (PRoot's words), TIMEOUT,
# or none (no verdict printed: the make rule itself failed).
run_suite() { # tree mode(seccomp|noseccomp) -> tree/suite-mode.txt, logs in tree/logs-mode/
	tree=$1 mode=$2
	mkdir -p "$tree/logs-$mode"
	make -C "$tree/tests" setup >"$tree/tests-setup.out" 2>&1 || :
	(
		cd "$tree/tests"
		[ "$mode" = noseccomp ] && export PROOT_NO_SECCOMP=1
		for f in test-*.sh test-*.c; do
			t0=$(date +%s)
			t=$tmo
			known "$f" | grep -q '^loops:' && t=${PROOT_LOOP_TIMEOUT:-20}
			timeout -k 5 "$t" make -s "check-$f" >"$tree/logs-$mode/$f.log" 2>&1 && rc=0 || rc=$?
			v=$(sed -n "s/^  CHECK[[:space:]]*${f%.*} //p" "$tree/logs-$mode/$f.log" | sort -u | tr '\n' ' ')
			case $rc in 124 | 137) v=TIMEOUT ;; esac
			case $v in
			"ok " | "skipped " | "FAILED " | TIMEOUT) ;;
			"FAILED ok " | "FAILED skipped ") v=FAILED ;;
			"ok skipped ") v=ok ;;
			*) v=none ;;
			esac
			echo "$f ${v% } $(($(date +%s) - t0))"
		done
	) | sort >"$tree/suite-$mode.txt"
}
for b in $builds; do
	for mode in seccomp noseccomp; do
		t0=$(date +%s)
		run_suite "$work/$b" "$mode"
		echo "$b, $mode: $(($(date +%s) - t0)) s:" \
			$(awk '{ n[$2]++ } END { for (v in n) printf "%s %d, ", v, n[v] }' "$work/$b/suite-$mode.txt")
	done
done
printf '%-20s %-10s %-10s\n' test seccomp no-seccomp
join "$work/stock/suite-seccomp.txt" "$work/stock/suite-noseccomp.txt" |
	awk '{ printf "%-20s %-10s %-10s\n", $1, $2, $4 }'
while read -r f v s; do
	w=$(awk -v f="$f" '$1 == f { print $2 }' "$work/stock/suite-noseccomp.txt")
	if why=$(known "$f"); then
		case $why:$v in loops:*:TIMEOUT | fails:*:FAILED) fine=1 ;; *) fine=0 ;; esac
		if [ "$fine" = 1 ] && [ "$v" = "$w" ]; then
			pass "$f: $v with and without seccomp, known: $why"
		elif [ "$v" = "$w" ]; then
			pass "$f: now $v with and without seccomp (known to fail: $why)"
		else
			fail "$f: $v with seccomp, $w without (known to fail: $why)"
		fi
	elif [ "$v" = "$w" ] && { [ "$v" = ok ] || [ "$v" = skipped ]; }; then
		pass "$f: $v with and without seccomp"
	else
		fail "$f: $v with seccomp, $w without (log: $work/stock/logs-seccomp/$f.log)"
	fi
done <"$work/stock/suite-seccomp.txt"
if [ "$builds" != stock ]; then
	for mode in seccomp noseccomp; do
		d=$(join "$work/stock/suite-$mode.txt" "$work/patched/suite-$mode.txt" | awk '$2 != $4 { print $1 ": " $2 " unpatched, " $4 " patched" }')
		if [ -z "$d" ]; then
			pass "$mode: every test of PRoot's suite gives the same verdict on patched PRoot"
		else
			fail "$mode: patched PRoot differs: $(echo "$d" | tr '\n' ';')"
		fi
	done
fi

# ---------------------------------------------------------------- 3. real commands
phase "3. real commands under PRoot, with and without seccomp"
rootfs=$work/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/data/sub"
cp /bin/busybox "$rootfs/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"
done
echo "a busybox rootfs" >"$rootfs/etc/motd"
seq 1 500 >"$rootfs/data/numbers"
printf 'x\ny\n' >"$rootfs/data/sub/letters"
bound=$work/bound
mkdir -p "$bound"
echo "bound from the host" >"$bound/file"
cdir=$work/cc
mkdir -p "$cdir"
cat >"$cdir/hello.c" <<'EOF'
#include <stdio.h>
int main(void) { int s = 0; for (int i = 1; i <= 100; i++) s += i; printf("hello %d\n", s); return 0; }
EOF

# run LABEL EXPECTED-FILE PROOT-ARGS... : the command under each build, with
# and without seccomp; each output (stdout and exit status) must equal the
# expected one. $as: a command PRoot runs under (setpriv, for -0).
as=
run() {
	label=$1 expected=$2
	shift 2
	bad=
	for b in $builds; do
		for mode in seccomp noseccomp; do
			o=$work/out.$b.$mode
			if [ $mode = seccomp ]; then
				(cd "$work" && timeout -k 5 120 $as "$work/$b/src/proot" "$@" >"$o" 2>"$o.err") && rc=0 || rc=$?
			else
				(cd "$work" && PROOT_NO_SECCOMP=1 timeout -k 5 120 $as "$work/$b/src/proot" "$@" >"$o" 2>"$o.err") && rc=0 || rc=$?
			fi
			echo "exit $rc" >>"$o"
			cmp -s "$o" "$expected" || bad="$bad $b/$mode"
		done
	done
	if [ -z "$bad" ]; then
		pass "$label: $(head -n 1 "$expected" | cut -c 1-60)"
	else
		o=$work/out.$(echo $bad | cut -d' ' -f1 | tr / .)
		fail "$label: differs from the expected output under$bad: $(head -c 300 "$o" | tr '\n' ' ') $(head -c 200 "$o.err")"
	fi
}
# expect TEXT...: the expected output, then "exit 0".
expect() {
	printf '%s\n' "$@" "exit 0" >"$work/expected"
}
# direct COMMAND...: the expected output is the command's own, run directly.
direct() {
	(cd "$work" && timeout -k 5 120 "$@" >"$work/expected" 2>/dev/null) && rc=0 || rc=$?
	echo "exit $rc" >>"$work/expected"
}

# The filter is on in the tracee in seccomp mode, off with PROOT_NO_SECCOMP=1.
for b in $builds; do
	for mode in seccomp noseccomp; do
		want=2
		[ $mode = noseccomp ] && want=0
		o=$(cd "$work" && if [ $mode = noseccomp ]; then export PROOT_NO_SECCOMP=1; fi &&
			timeout -k 5 60 "$work/$b/src/proot" sh -c 'grep "^Seccomp:" /proc/self/status' 2>&1 | tr -s '\t ' ' ')
		if [ "$o" = "Seccomp: $want" ]; then
			pass "$b, $mode: the tracee's /proc/self/status says Seccomp: $want"
		else
			fail "$b, $mode: the tracee's /proc/self/status says '$o', not Seccomp: $want"
		fi
	done
done
# PR_SET_NO_NEW_PRIVS: PRoot sets it always; patched PRoot only where the
# kernel demands it (a tracer without CAP_SYS_ADMIN: nobody), so that root's
# guest keeps setuid programs and file capabilities as without PRoot.
chmod 755 "$work"
for b in $builds; do
	for who in root nobody; do
		want=1
		[ $b = patched ] && [ $who = root ] && want=0
		pre=
		[ $who = nobody ] && pre="setpriv --reuid=65534 --regid=65534 --clear-groups"
		o=$(cd / && timeout -k 5 60 $pre "$work/$b/src/proot" sh -c 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status' 2>&1 | tr -s '\t\n' '  ')
		if [ "$o" = "NoNewPrivs: $want Seccomp: 2 " ]; then
			pass "$b as $who: the tracee has the filter, NoNewPrivs $want"
		else
			fail "$b as $who: the tracee's status says '$o', not NoNewPrivs $want with the filter"
		fi
	done
done
expect "a busybox rootfs" "/bin/busybox" "500"
run "-r ROOTFS: the guest's own files and shell" "$work/expected" \
	-r "$rootfs" /bin/sh -c 'cat /etc/motd; readlink -f /bin/sh; wc -l < /data/numbers'
expect "bound from the host"
run "-b HOST:GUEST in a rootfs" "$work/expected" -r "$rootfs" -b "$bound:/mnt" /bin/cat /mnt/file
expect "/data/sub"
run "-w GUEST-DIR in a rootfs" "$work/expected" -r "$rootfs" -w /data/sub /bin/pwd
# -0 as an unprivileged user (nobody): PRoot fakes root; chown, which
# fails outside PRoot, succeeds, and the user's own files look root's.
mkdir -p "$work/nobody"
chmod 755 "$work"
chmod 777 "$work/nobody"
expect "0 0" "chown ok" "0 0"
as="setpriv --reuid=65534 --regid=65534 --clear-groups"
run "-0 as nobody: fake root ids, chown succeeds" "$work/expected" -0 sh -c \
	'echo "$(id -u) $(id -g)"; f=$(mktemp -p "$1"); chown 123:456 "$f" && echo chown ok; stat -c "%u %g" "$f"; rm -f "$f"' sh "$work/nobody"
as=
direct sh -c 'find /usr/include/linux -type f | sort | md5sum'
run "find over /usr/include/linux" "$work/expected" sh -c 'find /usr/include/linux -type f | sort | md5sum'
direct sh -c 'cd /usr/include && find linux -type f | sort | xargs cat | md5sum'
run "tar: archive and extract /usr/include/linux, contents identical" "$work/expected" \
	sh -c 'd=$(mktemp -d); tar -cf "$d/a.tar" -C /usr/include linux && tar -xf "$d/a.tar" -C "$d" &&
		cd "$d" && find linux -type f | sort | xargs cat | md5sum; rm -rf "$d"'
expect "500" "x" "data/sub/letters"
run "busybox tar and find in the rootfs (-r -w)" "$work/expected" -r "$rootfs" -w /tmp /bin/sh -c \
	'tar -cf a.tar -C / data && mkdir x && tar -xf a.tar -C x && wc -l < x/data/numbers &&
	 head -n 1 x/data/sub/letters && (cd x && find . -name letters | cut -c3-); rm -rf x a.tar'
direct sh -c 'seq 1 20000 | grep 7 | sort -r | head -n 3; seq 1 20000 | grep -c 7'
run "a shell pipeline" "$work/expected" sh -c 'seq 1 20000 | grep 7 | sort -r | head -n 3; seq 1 20000 | grep -c 7'
expect "hello 5050"
run "a C compile (gcc) and its program" "$work/expected" \
	sh -c 'cd "$1" && rm -f hello && gcc -O1 -o hello hello.c && ./hello' sh "$cdir"

# PRoot's silent fallback: when the kernel refuses its filter, PRoot traces
# every syscall with plain ptrace, says nothing, and the guest sees the
# same. tests/c/seccomp_stack.c makes the install fail under outer filters:
# EPERM (deny), or ENOMEM (room 64: the kernel counts a filter's length
# after its conversion to eBPF, so the room is well below PRoot's programs,
# 186 instructions or more, rather than one less). No filter of PRoot's may
# then be in the tracee: it has the outer filters only, as many as the same
# command without PRoot.
phase "PRoot's fallback to plain ptrace when its filter is refused"
gcc -O2 -Wall -Wextra -o "$work/seccomp_stack" "$tp_repo/tests/c/seccomp_stack.c"
cmd='cat /etc/motd; grep "^Seccomp_filters:" /proc/self/status | tr -s "\t " " "'
for how in "deny" "room 64"; do
	outer=$("$work/seccomp_stack" $how -- sh -c 'grep "^Seccomp_filters:" /proc/self/status' | tr -s '\t ' ' ')
	expect "a busybox rootfs" "$outer"
	for b in $builds; do
		o=$work/out.fallback
		(cd "$work" && timeout -k 5 120 "$work/seccomp_stack" $how -- "$work/$b/src/proot" -r "$rootfs" \
			-w / -b /proc /bin/sh -c "$cmd" >"$o" 2>"$o.err") && rc=0 || rc=$?
		echo "exit $rc" >>"$o"
		if cmp -s "$o" "$work/expected" && [ ! -s "$o.err" ]; then
			pass "$b, install refused ($how): silent, plain ptrace, the guest works ($outer: outer filters only)"
		else
			fail "$b, install refused ($how): $(tr '\n' ' ' <"$o") $(head -c 300 "$o.err")"
		fi
	done
done

phase "done"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
