#!/bin/sh
# The randomised harness over the whole C ABI (tests/c/fuzz.c) under
# ASan/UBSan, with the real kernel on a sample. make test runs a short
# budget with a fixed seed; a long run is one command:
#   FUZZ_SEED=7 FUZZ_SECONDS=3600 sh tests/fuzz.sh
# A failure prints `--seed S --case C`, which replays that case alone:
#   FUZZ_ARGS="--case C" FUZZ_SEED=S sh tests/fuzz.sh
cd "$(dirname "$0")/.." && . tests/lib/common.sh

seed=${FUZZ_SEED:-14}
seconds=${FUZZ_SECONDS:-60}
lib=target/release/libtracefilter.so
echo "randomised C ABI harness (seed $seed, $seconds s)"
if [ ! -e "$lib" ]; then
	fail "no $lib: run make first"
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
if ! cc -std=gnu11 -O1 -g -Wall -Wextra -Werror $san -Iinclude -o "$TMP/fuzz" tests/c/fuzz.c \
	-Ltarget/release -ltracefilter -Wl,-rpath,"$(pwd)/target/release" -lm 2>"$TMP/log"; then
	fail "build tests/c/fuzz.c: $(cat "$TMP/log")"
	finish
	exit 1
fi
# A hung case is a failure too: the budget plus a margin.
if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	timeout $((seconds + 120)) "$TMP/fuzz" --seed "$seed" --seconds "$seconds" ${FUZZ_ARGS:-} \
	>"$TMP/out" 2>&1; then
	sed 's/^/  /' "$TMP/out"
	if tail -n 1 "$TMP/out" | grep -q '^fuzz: ok, '; then
		pass "$(tail -n 1 "$TMP/out")"
	else
		fail "the harness exited 0 without its summary"
	fi
else
	tail -n 40 "$TMP/out" | sed 's/^/  /'
	fail "the harness failed (seed $seed; the line above names the case to replay)"
fi
finish
