#!/bin/sh
# check.sh VERSION [SRC]: checks the strace integration end to end, as root
# on Debian 12, for strace VERSION (6.1: Debian's source package and
# tracefilter.patch; 7.2: upstream's v7.2 tree from SRC, default
# ../shared/src beside the repository, and the series 7.2/*.patch; see
# lib.sh). The patches are applied, and patched strace is built against
# this tree's library, unpatched strace the same way, then
#   1. strace's own tests that exercise --seccomp-bpf (and those mentioning
#      seccomp) give the same results as on unpatched strace; with
#      STRACE_FULL_CHECK=1 strace's whole `make check` on both builds, every
#      test that does not pass on patched strace doing the same on unpatched
#      (STRACE_FULL_CHECK=patched: the whole suite on patched strace, on
#      unpatched strace the seccomp tests and those not passing on patched);
#   2. for every set of the corpus, patched and unpatched strace trace the
#      same real programs the same way (-f --seccomp-bpf -e trace=SET);
#   3. patched strace's -d dump is exactly tracefilter_compile's program for
#      the bitmaps strace built; it is kernel-cacheable for every corpus set
#      and for large random sets;
#   4. an install failure in the tracee (outer filters that make it fail)
#      gives strace's warning and a correct plain-ptrace trace.
# Prints "N passed, M failed"; exit status 1 if any failed.
#
#   5. CLONE_UNTRACED (strace issue #303): the reproducer's children
#      created with CLONE_UNTRACED (raw clone, clone3, a thread) lose their
#      openat to ENOSYS under unpatched strace -f --seccomp-bpf and are
#      traced, their openat succeeding, under patched strace.
# Prints "N passed, M failed"; exit status 1 if any failed.
#
# Needs: root, dpkg-dev and network (6.1: apt-get source), autoconf,
# automake, gawk (7.2), pkg-config, make, gcc, cargo, patch.
# Environment: TF_STRACE_WORK (work directory, kept; default a new /tmp one,
# removed at the end unless KEEP=1), TF_CORPUS (default tests/corpus.txt
# of the repository), TF_REPO (the tracefilter tree whose library is
# built, default this one), STRACE_FULL_CHECK=0|1|patched, JOBS (default 2).
set -eu

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
here=$tf_here
repo=$tf_repo
[ $# -ge 1 ] || { echo "usage: $0 VERSION [SRC]   (VERSION: 6.1 or 7.2)" >&2; exit 2; }
version=$1
tf_check_version "$version"
srcarg=${2:-}
corpus=${TF_CORPUS:-$repo/tests/corpus.txt}
librepo=${TF_REPO:-$repo}
jobs=${JOBS:-2}
work=${TF_STRACE_WORK:-$(mktemp -d /tmp/tf-strace.XXXXXX)}
mkdir -p "$work"
start=$(date +%s)

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
phase() { echo "== $* ($(($(date +%s) - start)) s)"; }
die() { echo "check.sh: $*" >&2; exit 2; }

cleanup() {
	[ "${KEEP:-0}" = 1 ] || [ -n "${TF_STRACE_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

case ${STRACE_FULL_CHECK:-0} in
0 | 1 | patched) ;;
*) die "STRACE_FULL_CHECK must be 0, 1 or patched" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root (seccomp without no_new_privs, as strace's users run it)"
[ -r "$corpus" ] || die "no corpus at $corpus"
missing=
for c in autoreconf pkg-config make gcc cargo patch awk sed sort diff; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
[ "$version" = 6.1 ] && ! command -v dpkg-source >/dev/null 2>&1 && missing="$missing dpkg-source"
[ -z "$missing" ] || die "missing commands:$missing"

# ---------------------------------------------------------------- sources
phase "strace $version source"
orig="$work/src/strace-$version"
tf_source "$version" "$orig" "$srcarg"

# ---------------------------------------------------------------- library
phase "tracefilter library"
prefix="$work/prefix"
(cd "$librepo" && unset CARGO_TARGET_DIR && make -s lib >/dev/null && make -s install PREFIX="$prefix" >/dev/null)
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --exists tracefilter || die "tracefilter.pc not installed"
bin="$work/bin"
mkdir -p "$bin"
gcc -O2 -Wall -Wextra $(pkg-config --cflags tracefilter) -o "$bin/tfcheck" "$here/tfcheck.c" \
	$(pkg-config --libs tracefilter) -Wl,-rpath,"$prefix/lib"
gcc -O2 -Wall -Wextra -o "$bin/seccomp_stack" "$repo/tests/c/seccomp_stack.c"
gcc -O2 -Wall -Wextra -pthread -o "$bin/untraced" "$repo/tests/c/untraced.c"

# ---------------------------------------------------------------- builds
phase "patch, configure and build (patched; unpatched; patched without --with-tracefilter)"
stock="$work/stock"
patched="$work/patched"
plain="$work/patched-without"
rm -rf "$stock" "$patched" "$plain"
cp -a "$orig" "$stock"
cp -a "$orig" "$patched"
if tf_apply "$version" "$patched"; then
	pass "the patches apply to strace $version ($(tf_patches "$version" | wc -l) patches)"
else
	fail "the patches do not apply to strace $version"
	echo "$passed passed, $failed failed"
	exit 1
fi
tf_bootstrap "$version" "$patched" >"$work/bootstrap.out" 2>&1 || die "bootstrap failed (see $work/bootstrap.out)"
tf_bootstrap "$version" "$stock" >"$work/bootstrap-stock.out" 2>&1 || die "bootstrap of unpatched strace failed"
cp -a "$patched" "$plain"

build() { # dir, configure arguments...
	JOBS=$jobs tf_configure_make "$@"
}
if build "$patched" --with-tracefilter LDFLAGS="-Wl,-rpath,$prefix/lib" &&
	ldd "$patched/src/strace" | grep -q "$prefix/lib/libtracefilter"; then
	pass "patched strace builds with --with-tracefilter and links tracefilter"
else
	fail "patched strace build (see $patched/make.out)"
	echo "$passed passed, $failed failed"
	exit 1
fi
build "$stock" || die "unpatched strace does not build (see $stock/make.out)"
if build "$plain" && ! grep -q "^#define HAVE_TRACEFILTER" "$plain/src/config.h" &&
	! ldd "$plain/src/strace" | grep -q tracefilter; then
	pass "patched source without --with-tracefilter builds strace without tracefilter"
else
	fail "patched source without --with-tracefilter"
fi
new="$patched/src/strace"
ref="$stock/src/strace"

# ---------------------------------------------------------------- 1. strace's tests
phase "strace's own tests"
# In the bootstrapped tree: strace 7.2 generates its *.gen.test scripts.
seccomp_tests=$(cd "$stock/tests" && { ls filter_seccomp.gen.test filter_seccomp-flag.gen.test \
	filter_seccomp-perf.test bexecve.test options-syntax.test 2>/dev/null;
	grep -l -e seccomp *.test; } | sort -u || :)
seccomp_tests=$(echo "$seccomp_tests" | sort -u | tr '\n' ' ')
echo "tests: $seccomp_tests"

result() { # dir test -> PASS/FAIL/SKIP/XFAIL/ERROR/none
	sed -n 's/^:test-result: //p' "$1/tests/${2%.test}.trs" 2>/dev/null | head -n 1 | grep . || echo none
}
run_tests() { # dir tests...
	dir=$1
	shift
	make -C "$dir/tests" -j"$jobs" check TESTS="$*" >"$dir/tests.out" 2>&1 || :
}
compare_tests() { # label tests...
	label=$1
	shift
	for t in "$@"; do
		a=$(result "$patched" "$t")
		b=$(result "$stock" "$t")
		if [ "$a" = "$b" ] && [ "$a" != FAIL ] && [ "$a" != ERROR ] && [ "$a" != none ]; then
			pass "$label $t: $a, as unpatched"
		else
			fail "$label $t: patched $a, unpatched $b"
		fi
	done
}
if [ "${STRACE_FULL_CHECK:-0}" != 0 ]; then
	# The whole suite on patched strace, and on unpatched strace either
	# whole (1) or only the tests that do not pass on patched strace
	# (patched: the comparison below needs no more); the seccomp tests are
	# among them.
	trees=$patched
	[ "$STRACE_FULL_CHECK" = patched ] || trees="$patched $stock"
	phase "strace's whole make check on $([ "$STRACE_FULL_CHECK" = patched ] && echo "patched strace" || echo "patched and unpatched strace")"
	for tree in $trees; do
		t0=$(date +%s)
		make -C "$tree" -j"$jobs" check >"$tree/check.out" 2>&1 || :
		echo "whole make check, $(basename "$tree"): $(($(date +%s) - t0)) s:" \
			$(grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$tree/tests/test-suite.log" | tr -d '#')
	done
	others=$(cd "$patched/tests" && grep -L '^:test-result: PASS' *.trs | sed 's/\.trs$/.test/' | tr '\n' ' ')
	if [ "$STRACE_FULL_CHECK" = patched ]; then
		t0=$(date +%s)
		run_tests "$stock" $seccomp_tests $others
		echo "seccomp tests and the $(echo $others | wc -w) tests not passing on patched strace, unpatched: $(($(date +%s) - t0)) s"
	fi
	compare_tests "strace test" $seccomp_tests
	differ=0
	for t in $others; do
		a=$(result "$patched" "$t")
		b=$(result "$stock" "$t")
		[ "$a" != "$b" ] || continue
		# Rerun once on both: some of strace's tests are timing-sensitive.
		run_tests "$patched" "$t"
		run_tests "$stock" "$t"
		a=$(result "$patched" "$t")
		b=$(result "$stock" "$t")
		if [ "$a" != "$b" ] && [ "$a" != PASS ]; then
			fail "make check $t: patched $a, unpatched $b"
			differ=$((differ + 1))
		fi
	done
	echo "not passing on patched strace: $(echo $others | wc -w) tests"
	[ "$differ" != 0 ] ||
		pass "whole make check: every test not passing on patched strace does the same on unpatched"
else
	t0=$(date +%s)
	run_tests "$patched" $seccomp_tests
	t1=$(date +%s)
	run_tests "$stock" $seccomp_tests
	echo "seccomp tests: patched $((t1 - t0)) s, unpatched $(($(date +%s) - t1)) s"
	compare_tests "strace test" $seccomp_tests
fi

# ---------------------------------------------------------------- 2. same trace as unpatched strace
phase "corpus: patched vs unpatched strace $version"
prog='cat /etc/hostname >/dev/null; ls -l / >/dev/null; echo x | wc -c >/dev/null; sleep 0.01; exec true'
sets=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$corpus")

# One line per process: its syscalls as "name = return", pids and addresses
# normalised; the lines sorted, so that process numbering does not matter.
# Signals and the syscalls they interrupt depend on timing: left out.
normalise() { # directory of -ff output -> stdout
	pids=$(for f in "$1"/out.*; do echo "${f##*.}"; done | tr '\n' ' ')
	for f in "$1"/out.*; do
		sed -E -e '/^--- SIG/d' -e '/^rt_sigreturn\(/d' -e '/= \? ERESTART/d' \
			-e 's/^([a-z_0-9]+)\(.*\) += (.*)$/\1 = \2/' \
			-e 's/ \([^()]*\)$//' -e 's/ <[^>]*>$//' -e 's/0x[0-9a-f]+/ADDR/g' \
			-e 's/^(getppid|getpid|gettid|set_tid_address|clone|clone3|vfork|fork|wait4|waitid) = [0-9]+$/\1 = PID/' "$f" |
			awk -v pids="$pids" 'BEGIN { n = split(pids, p, " "); for (i = 1; i <= n; i++) pid[p[i]] = 1 }
				{ if ($NF in pid) $NF = "PID"; printf "%s; ", $0 } END { print "" }'
	done | sort
}
trace_same() { # label set [wrapper...] : patched --seccomp-bpf vs reference
	label=$1
	set=$2
	shift 2
	for attempt in 1 2; do
		rm -rf "$work/t"
		mkdir -p "$work/t/new" "$work/t/ref"
		"$@" "$new" -f -ff -o "$work/t/new/out" --seccomp-bpf -e trace="$set" sh -c "$prog" 2>"$work/t/new.err" || :
		"$ref" -f -ff -o "$work/t/ref/out" $ref_opts -e trace="$set" sh -c "$prog" 2>"$work/t/ref.err" || :
		normalise "$work/t/new" >"$work/t/new.norm"
		normalise "$work/t/ref" >"$work/t/ref.norm"
		if cmp -s "$work/t/new.norm" "$work/t/ref.norm"; then
			return 0
		fi
	done
	diff "$work/t/ref.norm" "$work/t/new.norm" | head -c 2000
	echo
	return 1
}
ref_opts=--seccomp-bpf
echo "$sets" | while IFS= read -r set; do
	if trace_same corpus "$set" && [ ! -s "$work/t/new.err" ]; then
		echo "PASS: -e trace=$set: same trace as unpatched strace ($(wc -l <"$work/t/new.norm") processes)"
	else
		echo "FAIL: -e trace=$set: traces differ (or messages: $(head -c 200 "$work/t/new.err"))"
	fi
done >"$work/corpus.out"
cat "$work/corpus.out"
passed=$((passed + $(grep -c '^PASS' "$work/corpus.out" || :)))
failed=$((failed + $(grep -c '^FAIL' "$work/corpus.out" || :)))

# ---------------------------------------------------------------- 3. dumps and figures
phase "-d dumps: our program, cacheable; figures before/after"
nsys=$("$new" -d -f --seccomp-bpf -e trace=openat true 2>&1 |
	sed -n 's/.*tracefilter: personality [01]: arch [^,]*, nr flag [^,]*, \([0-9]*\) syscalls.*/\1/p' | tr '\n' ' ')
set -- $nsys
[ $# = 2 ] || die "no personality lines in patched strace's -d output"
n64=$1
n32=$2
# The dumped program as a raw file: tools/strace-program.sh is the one parser.
dumped_program() { # strace set file
	"$1" -d -f --seccomp-bpf -e trace="$2" true 2>&1 | sh "$repo/tools/strace-program.sh" >"$3" || :
}
figures_row() { # strace set -> "len mean cacheable64 cacheable32"
	dumped_program "$1" "$2" "$work/figures.bpf"
	"$bin/tfcheck" figures "$work/figures.bpf" "$n64" "$n32" |
		awk '/^length/ { l = $2 } /^x86_64:/ { m = $6; sub(/,/, "", m); c = $NF } /^i386:/ { c32 = $NF }
			END { printf "%s %s %s %s\n", l, m, c, c32 }'
}
check_dump() { # label set
	"$new" -d -f --seccomp-bpf -e trace="$2" true >"$work/dump" 2>&1 || :
	if sh "$repo/tools/strace-program.sh" <"$work/dump" >"$work/dump.bpf" 2>"$work/recompile" &&
		"$bin/tfcheck" recompile "$work/dump.bpf" <"$work/dump" >"$work/recompile" 2>&1 &&
		grep -qx identical "$work/recompile"; then
		pass "$1: -d dump is tracefilter's program for strace's bitmaps ($(head -n 1 "$work/recompile"))"
	else
		fail "$1: -d dump vs tracefilter_compile: $(tr '\n' ' ' <"$work/recompile")"
	fi
	row=$(figures_row "$new" "$2")
	set -- "$1" $row
	if [ "$4" = yes ] && [ "$5" = yes ]; then
		pass "$1: every allowed x86_64 and i386 syscall kernel-cacheable ($2 instructions)"
	else
		fail "$1: not fully cacheable (x86_64 $4, i386 $5)"
	fi
}
table="$work/figures.md"
{
	echo "| set | stock len | stock mean exec | stock cacheable | tracefilter len | tracefilter mean exec | tracefilter cacheable |"
	echo "|---|---|---|---|---|---|---|"
} >"$table"
echo "$sets" >"$work/sets"
while IFS= read -r set; do
	check_dump "-e trace=$set" "$set"
	b=$(figures_row "$ref" "$set")
	a=$(figures_row "$new" "$set")
	echo "$set $b $a" | awk '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $6, $7, $8 }' >>"$table"
done <"$work/sets"

# Random sets of 50 to 300 syscalls (fixed seeds: reproducible).
"$bin/tfcheck" names >"$work/names"
for n in 50 80 120 200 300; do
	set=$(awk -v n="$n" 'BEGIN { srand(n) } { name[NR] = $0 }
		END { for (i = NR; i > 1; i--) { j = int(rand() * i) + 1; t = name[i]; name[i] = name[j]; name[j] = t }
		      for (i = 1; i <= n; i++) printf "%s?%s", (i > 1 ? "," : ""), name[i] }' "$work/names")
	check_dump "random set of $n" "$set"
	b=$(figures_row "$ref" "$set")
	a=$(figures_row "$new" "$set")
	echo "random-$n $b $a" | awk '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $6, $7, $8 }' >>"$table"
done
echo "figures (mean executed per allowed x86_64 syscall numbered below $n64; cacheable: x86_64):"
cat "$table"

# ---------------------------------------------------------------- 4. install failures
phase "install failure in the tracee"
warning='[^:]*strace: seccomp filter is requested but unavailable'
# (a) the stack of filters has room for strace's probes but not for the
#     program: the install in the tracee fails with ENOMEM.
set=%file
dumped_program "$new" "$set" "$work/enomem.bpf"
len=$("$bin/tfcheck" figures "$work/enomem.bpf" | sed -n 's/^length //p')
room=$((len - 1))
ref_opts=
if trace_same "ENOMEM" "$set" "$bin/seccomp_stack" room "$room" -- &&
	grep -qx "$warning" "$work/t/new.err" && grep -q 'install failed: Cannot allocate memory' "$work/t/new.err"; then
	pass "install fails in the tracee (ENOMEM, room $room < $len): warning, same trace as plain ptrace"
else
	fail "install failure (ENOMEM): $(tr '\n' ' ' <"$work/t/new.err" | head -c 300)"
fi
"$bin/seccomp_stack" room "$room" -- "$ref" -f --seccomp-bpf -e trace=$set true >/dev/null 2>"$work/stock.err" &&
	rc=0 || rc=$?
echo "for comparison, unpatched strace in that case: exit $rc: $(head -n 1 "$work/stock.err")"
# (b) seccomp(2) and prctl(PR_SET_SECCOMP) fail with EPERM everywhere.
if trace_same "EPERM" "$set" "$bin/seccomp_stack" deny -- && grep -qx "$warning" "$work/t/new.err"; then
	pass "seccomp(2) and prctl(PR_SET_SECCOMP) refused: warning, same trace as plain ptrace"
else
	fail "seccomp refused: $(tr '\n' ' ' <"$work/t/new.err" | head -c 300)"
fi
# (c) seccomp(2) fails with ENOSYS: installed through prctl, seccomp mode.
ref_opts=--seccomp-bpf
out=$("$bin/seccomp_stack" enosys -- "$new" -f -o /dev/null --seccomp-bpf -e trace=$set \
	sh -c 'grep -E "^(Seccomp_filters|NoNewPrivs):" /proc/self/status' 2>&1 | tr -s '\t\n' '  ')
if [ "$out" = "NoNewPrivs: 0 Seccomp_filters: 2 " ] && trace_same "ENOSYS" "$set" "$bin/seccomp_stack" enosys --; then
	pass "seccomp(2) ENOSYS: filter installed through prctl, same trace as unpatched strace"
else
	fail "seccomp(2) ENOSYS: tracee status '$out'"
fi
# As root the tracee keeps its privileges: no_new_privs only when needed.
out=$("$new" -f -o /dev/null --seccomp-bpf -e trace=$set \
	sh -c 'grep -E "^(Seccomp_filters|NoNewPrivs):" /proc/self/status' 2>&1 | tr -s '\t\n' '  ')
if [ "$out" = "NoNewPrivs: 0 Seccomp_filters: 1 " ]; then
	pass "filter active in the tracee, no_new_privs not set (root)"
else
	fail "tracee status '$out', expected 'NoNewPrivs: 0 Seccomp_filters: 1'"
fi

# ---------------------------------------------------------------- 5. CLONE_UNTRACED
phase "CLONE_UNTRACED children (strace issue #303)"
target="$work/untraced-target"
echo x >"$target"
untraced_run() { # strace output-file -> the reproducer's lines
	timeout 60 "$1" -f -o "$2" --seccomp-bpf -e trace=openat "$bin/untraced" all "$target" 2>&1 || :
}
out=$(untraced_run "$ref" "$work/untraced.ref")
echo "unpatched strace $version:" $out
if [ "$(echo "$out" | grep -c '^[a-z0-9]*: openat = -1 ENOSYS')" = 3 ]; then
	pass "unpatched strace $version: the openat of each CLONE_UNTRACED child (clone, clone3, thread) fails with ENOSYS"
else
	fail "unpatched strace $version did not show the hole: $out"
fi
out=$(untraced_run "$new" "$work/untraced.new")
echo "patched strace $version:" $out
seen=$(grep -c "openat(AT_FDCWD, \"$target\", O_RDONLY|O_CLOEXEC) = [0-9]" "$work/untraced.new" || :)
if [ "$(echo "$out" | grep -c '^[a-z0-9]*: openat = 0$')" = 4 ] && [ "$seen" = 4 ]; then
	pass "patched strace $version traces the CLONE_UNTRACED children: their openat succeeds and is in the trace ($seen of 4)"
else
	fail "patched strace $version: $out; $seen of 4 openat calls traced"
fi

phase "done"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
