#!/bin/sh
# Every published size of every versioned struct (options 28/40/48, stats,
# install report and kernel 32), and sizes between and beyond them, from a
# C program (tests/c/structs.c) against the built library, under ASan/UBSan
# where the compiler can.
cd "$(dirname "$0")/.." && . tests/lib/common.sh

echo "versioned structs at every published size"
build_c_test structs
if ASAN_OPTIONS=detect_leaks=1 $T "$TMP/structs" >"$TMP/out" 2>&1 &&
	tail -n 1 "$TMP/out" | grep -q '^structs: ok, '; then
	pass "$(tail -n 1 "$TMP/out")"
else
	sed 's/^/  /' "$TMP/out" | tail -n 20
	fail "tests/c/structs.c"
fi
finish
