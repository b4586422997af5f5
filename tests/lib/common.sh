# Shared by tests/*.sh (POSIX sh). Sourced after `cd` to the repository root.
# Every check prints what it checks and its verdict; a missing tool or
# permission is a printed SKIP with the reason, never a silent pass.
set -u
passed=0
failed=0
skipped=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tracefilter-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

pass() { passed=$((passed + 1)); echo "  ok: $1"; }
fail() { failed=$((failed + 1)); echo "  FAIL: $1"; }
skip() { skipped=$((skipped + 1)); echo "  SKIP: $1"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
have() { command -v "$1" >/dev/null 2>&1; }
# Prefix for every run of a program under test: none may hang the suite (124: timed out).
T="timeout 300"
# Prints the summary and exits non-zero on any failure.
finish() {
	echo "  $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}
# strace 6.1's program for `-e trace=SET` as a raw struct sock_filter file.
strace_program() {
	$T strace -d --seccomp-bpf -f -e trace="$1" true 2>"$2.dump" >/dev/null
	sh tools/strace-program.sh <"$2.dump" >"$2"
}
# build_c_test NAME [LIBS...]: builds tests/c/NAME.c as $TMP/NAME against the
# built library and the committed header, under ASan/UBSan where cc can build
# and run with them (else a printed NOTE). On failure it prints the verdict
# and the summary and exits the script.
build_c_test() {
	name=$1
	shift
	if [ ! -e target/release/libtracefilter.so ]; then
		fail "no target/release/libtracefilter.so: run make first"
		finish
		exit 1
	fi
	# The SONAME link make creates, for a library built by cargo alone.
	[ -e target/release/libtracefilter.so.0 ] || ln -sf libtracefilter.so target/release/libtracefilter.so.0
	san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	printf 'int main(void) { return 0; }\n' >"$TMP/probe.c"
	if ! cc $san -o "$TMP/probe" "$TMP/probe.c" 2>/dev/null || ! "$TMP/probe"; then
		echo "  NOTE: building WITHOUT sanitizers: cc cannot build or run with $san here"
		san=""
	fi
	if ! cc -std=gnu11 -O1 -g -Wall -Wextra -Werror $san -Iinclude -o "$TMP/$name" "tests/c/$name.c" \
		-Ltarget/release -ltracefilter -Wl,-rpath,"$(pwd)/target/release" "$@" 2>"$TMP/log"; then
		fail "build tests/c/$name.c: $(cat "$TMP/log")"
		finish
		exit 1
	fi
}
