#!/bin/sh
# tfbench: its strace-style generator rebuilds strace 6.1's own program, and
# a short run measures every filter. (Figures are printed, never asserted:
# timing belongs to benchmarks.)
cd "$(dirname "$0")/.." && . tests/lib/common.sh

echo "tfbench: the built-in strace generator equals strace 6.1's bit-matching program"
if ! have strace; then
	skip "strace not installed"
elif ! strace -V | grep -q 'version 6\.1$'; then
	skip "strace is not 6.1: $(strace -V | head -n 1)"
else
	# Large sets, for which strace picks its bit-matching program.
	for set in %file %desc '%file,%network,%process'; do
		if ! strace_program "$set" "$TMP/prog"; then
			fail "$set: cannot read strace's program"
			continue
		fi
		# strace 6.1's table sizes on x86_64, so that the blocks match.
		$T ./build/tfbench -p x86_64:451 -p i386:546 -p x32:548 --traced-by "$TMP/prog" \
			--program "$TMP/prog" --dump >"$TMP/dump" 2>"$TMP/err"
		awk -v dir="$TMP" '/^== / { f = dir "/sec." $2; next } { print > f }' "$TMP/dump"
		if [ -s "$TMP/sec.strace-bit" ] && cmp -s "$TMP/sec.strace-bit" "$TMP/sec.prog"; then
			pass "$set: identical, $(wc -l <"$TMP/sec.prog") instructions"
		else
			fail "$set: differs from strace's own program $(cat "$TMP/err")"
			diff "$TMP/sec.prog" "$TMP/sec.strace-bit" | head -n 6
		fi
		rm -f "$TMP"/sec.*
	done
fi

echo "tfbench: a short run times every filter"
if $T ./build/tfbench --rounds 3 --batch 2000 openat,execve >"$TMP/out" 2>"$TMP/err"; then
	sed 's/^/    /' "$TMP/out"
	n=$(grep -cE '^(none|floor|ours-speed|ours-size|strace-bit) ' "$TMP/out")
	check "five filters measured ($n)" [ "$n" -eq 5 ]
	check "our speed program is kernel-cacheable for getppid" grep -qE '^ours-speed +[0-9]+ +[0-9]+ +yes ' "$TMP/out"
	check "the strace-style program is not" grep -qE '^strace-bit +[0-9]+ +[0-9]+ +no ' "$TMP/out"
else
	fail "tfbench failed: $(cat "$TMP/err")"
fi

echo "tfbench: usage errors"
$T ./build/tfbench >/dev/null 2>&1
st=$?
check "no set: exit 2 (got $st)" [ "$st" -eq 2 ]
$T ./build/tfbench getppid >/dev/null 2>"$TMP/err"
st=$?
check "getppid in the set: exit 2 (got $st): $(cat "$TMP/err")" [ "$st" -eq 2 ]
$T ./build/tfbench --rounds 0 openat >/dev/null 2>&1
st=$?
check "--rounds 0: exit 2 (got $st)" [ "$st" -eq 2 ]
$T ./build/tfbench --cpu 1023 openat >/dev/null 2>"$TMP/err"
st=$?
check "--cpu 1023: exit 2 (got $st), says so and lists the usable CPUs: $(cat "$TMP/err")" \
	sh -c "[ $st -eq 2 ] && grep -q -- '--cpu 1023: .*may run on CPU [0-9]' '$TMP/err'"
printf 'abc' >"$TMP/short"
$T ./build/tfbench --program "$TMP/short" openat >/dev/null 2>"$TMP/err"
st=$?
check "a program file that is not whole instructions: exit 2 (got $st)" [ "$st" -eq 2 ]
finish
