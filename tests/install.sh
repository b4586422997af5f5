#!/bin/sh
# make install / uninstall into a staging directory; a program builds with
# pkg-config alone and runs; only tracefilter_* symbols are exported.
cd "$(dirname "$0")/.." && . tests/lib/common.sh

echo "library: only tracefilter_* symbols exported (nm -D)"
if have nm; then
	others=$(nm -D --defined-only target/release/libtracefilter.so | awk '{ print $NF }' | grep -v '^tracefilter_')
	count=$(nm -D --defined-only target/release/libtracefilter.so | grep -c ' tracefilter_')
	check "$count tracefilter_* symbols, no other: '$(echo $others)'" sh -c "[ -z '$others' ] && [ $count -gt 20 ]"
	soname=$(readelf -d target/release/libtracefilter.so 2>/dev/null | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
	check "SONAME libtracefilter.so.0 (got '$soname')" [ "$soname" = libtracefilter.so.0 ]
else
	skip "nm not installed (binutils)"
fi

echo "make install PREFIX=/opt/tf DESTDIR=staging, pkg-config, make uninstall"
stage=$TMP/stage
prefix=/opt/tf
if ! make -s install PREFIX=$prefix DESTDIR="$stage" >"$TMP/log" 2>&1; then
	fail "make install: $(tail -n 3 "$TMP/log")"
	finish
	exit
fi
lib=$stage$prefix/lib
for f in libtracefilter.so libtracefilter.so.0 libtracefilter.a pkgconfig/tracefilter.pc; do
	check "installed lib/$f" [ -e "$lib/$f" ]
done
check "installed include/tracefilter.h" cmp -s include/tracefilter.h "$stage$prefix/include/tracefilter.h"
check "libtracefilter.so -> libtracefilter.so.0 -> the versioned file" \
	sh -c "[ \$(readlink '$lib/libtracefilter.so') = libtracefilter.so.0 ] && [ -f \"$lib/\$(readlink '$lib/libtracefilter.so.0')\" ]"

if have pkg-config; then
	cat >"$TMP/ex.c" <<'EOC'
#include <stdio.h>
#include <tracefilter.h>
int main(void)
{
	uint32_t arch, flag, n, nr;
	uint8_t traced[128] = { 0 };
	struct tracefilter_personality p;
	struct tracefilter_program *prog;
	int rc;

	if (tracefilter_personality_lookup("x86_64", &arch, &flag, &n) ||
	    tracefilter_syscall_number(arch, flag, "openat", &nr))
		return 1;
	traced[nr / 8] |= 1 << (nr % 8);
	p = (struct tracefilter_personality){ arch, flag, traced, n };
	if ((rc = tracefilter_compile(&p, 1, NULL, &prog))) {
		fprintf(stderr, "%s\n", tracefilter_strerror(rc));
		return 1;
	}
	printf("tracefilter %s: %u instructions\n", tracefilter_version(),
	       tracefilter_program_fprog(prog)->len);
	tracefilter_program_free(prog);
	return 0;
}
EOC
	# The .pc file names the final prefix; point pkg-config at the staging copy.
	flags=$(PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage pkg-config --cflags --libs tracefilter)
	echo "    pkg-config: $flags"
	if cc -o "$TMP/ex" "$TMP/ex.c" $flags >"$TMP/log" 2>&1; then
		out=$(LD_LIBRARY_PATH=$lib $T "$TMP/ex")
		check "cc ex.c \$(pkg-config ...) builds and runs: $out" sh -c "echo '$out' | grep -q instructions"
		check "it links the installed shared library" sh -c "LD_LIBRARY_PATH='$lib' ldd '$TMP/ex' | grep -q '$lib/libtracefilter.so.0'"
	else
		fail "cc ex.c \$(pkg-config ...): $(cat "$TMP/log")"
	fi
else
	skip "pkg-config not installed"
fi

make -s uninstall PREFIX=$prefix DESTDIR="$stage" >/dev/null 2>&1
left=$(find "$stage" -type f -o -type l)
check "make uninstall leaves no file: '$(echo $left)'" [ -z "$left" ]

echo "make install without DESTDIR runs ldconfig (a stand-in here), with DESTDIR it does not"
cat >"$TMP/ldconfig" <<'EOS'
#!/bin/sh
echo "ldconfig $*" >>"${0%/*}/ldconfig.log"
EOS
chmod +x "$TMP/ldconfig"
make -s install PREFIX="$TMP/real" LDCONFIG="$TMP/ldconfig" >"$TMP/log" 2>&1
check "install PREFIX=... (no DESTDIR): ldconfig ran once ($(cat "$TMP/ldconfig.log" 2>/dev/null | wc -l))" \
	sh -c "[ \$(wc -l <'$TMP/ldconfig.log') -eq 1 ] && [ -e '$TMP/real/lib/libtracefilter.so.0' ]"
make -s uninstall PREFIX="$TMP/real" LDCONFIG="$TMP/ldconfig" >>"$TMP/log" 2>&1
check "uninstall runs it again" [ "$(wc -l <"$TMP/ldconfig.log")" -eq 2 ]
make -s install PREFIX=$prefix DESTDIR="$stage" LDCONFIG="$TMP/ldconfig" >>"$TMP/log" 2>&1
check "install DESTDIR=...: not run" [ "$(wc -l <"$TMP/ldconfig.log")" -eq 2 ]
make -s install PREFIX="$TMP/real" LDCONFIG=false >"$TMP/log" 2>&1
st=$?
check "a failing ldconfig (not root): install still succeeds (exit $st) and says what to do: $(cat "$TMP/log")" \
	sh -c "[ $st -eq 0 ] && grep -q 'run it as root' '$TMP/log'"
finish
