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
echo "randomised C ABI harness (seed $seed, $seconds s)"
build_c_test fuzz -lm
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
