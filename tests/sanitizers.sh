#!/bin/sh
# The examples once under ASan/UBSan and once under valgrind memcheck:
# no error, no leak.
cd "$(dirname "$0")/.." && . tests/lib/common.sh

# run_all PREFIX...: each example once, through PREFIX (a wrapper or nothing).
run_all() {
	ok=0
	$T "$@" "$dir/tfdump" -p x86_64 -p i386 -p x32 openat,execve >"$TMP/out" 2>"$TMP/err.tfdump" || ok=1
	$T "$@" "$dir/tfdump" --all-but write >/dev/null 2>>"$TMP/err.tfdump" || ok=1
	$T "$@" "$dir/tfbench" --rounds 2 --batch 200 openat >/dev/null 2>"$TMP/err.tfbench" || ok=1
	if [ -x build/tftrace ]; then
		$T "$@" "$dir/tftrace" -f -o "$TMP/trace" -e trace=openat,execve -- sh -c 'cat /etc/hostname | wc -c' \
			>/dev/null 2>"$TMP/err.tftrace" || ok=1
		$T "$@" "$dir/tftrace" --no-seccomp -o "$TMP/trace" -e trace=openat -- true \
			>/dev/null 2>>"$TMP/err.tftrace" || ok=1
		# every syscall decoded, from the registers (the pre-5.3 path)
		TFTRACE_REGS=1 $T "$@" "$dir/tftrace" -f -o "$TMP/trace" -e all -- sh -c 'ls / /nonexistent | wc -l' \
			>/dev/null 2>>"$TMP/err.tftrace" || ok=1
	fi
	return $ok
}

echo "examples under -fsanitize=address,undefined"
dir=$TMP/asan
mkdir -p "$dir"
built=1
for ex in examples/*.c; do
	name=$(basename "$ex" .c)
	cc -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
		-Iinclude -o "$dir/$name" "$ex" -Ltarget/release -ltracefilter \
		-Wl,-rpath,"$(pwd)/target/release" 2>"$TMP/log" || { built=0; fail "build $name: $(cat "$TMP/log")"; }
done
if [ $built = 1 ]; then
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 run_all; then
		pass "tfdump, tfbench, tftrace: no ASan/UBSan/LSan report"
	else
		fail "a sanitizer report or a failure:"
		cat "$TMP"/err.* | head -n 30
	fi
fi

echo "examples under valgrind memcheck"
if have valgrind; then
	dir=build
	if run_all valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect; then
		pass "tfdump, tfbench, tftrace: no memcheck error or definite/indirect leak"
	else
		fail "memcheck report or failure:"
		cat "$TMP"/err.* | head -n 30
	fi
else
	skip "valgrind not installed"
fi
finish
