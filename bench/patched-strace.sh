#!/bin/sh
# bench/patched-strace.sh DIR: builds Debian's strace 6.1 with
# integrations/strace/tracefilter.patch against this tree's library, in DIR,
# and prints the path of the binary (for STRACE_PATCHED). The source comes
# through apt with a private configuration (deb-src of bookworm), cached in
# $TRACEFILTER_BENCH_CACHE (default ~/.cache/tracefilter-bench).
# Needs: apt-get, dpkg-dev, autoconf, automake, patch, pkg-config, make, gcc.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lib.sh"
dir=${1:?usage: bench/patched-strace.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cache=${TRACEFILTER_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tracefilter-bench}
a=$cache/apt-src
mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/none" "$cache/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
	> "$a/sources.list"
papt() {
	"$@" -q -o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts="$a/none" \
		-o Dir::State::Lists="$a/lists" -o Dir::Cache="$a/cache" \
		-o Dir::State::status=/dev/null -o Debug::NoLocking=1
}
if [ ! -x "$cache/src/strace-6.1/configure" ]; then
	say "patched strace: apt-get source strace (bookworm)"
	papt apt-get update >/dev/null
	(cd "$cache/src" && papt apt-get source strace >/dev/null 2>&1)
fi
[ -x "$cache/src/strace-6.1/configure" ] || { echo "patched-strace.sh: no strace-6.1 source" >&2; exit 1; }

say "patched strace: library, patch, configure, build (about a minute)"
prefix=$dir/prefix
(cd "$root" && env -u CARGO_TARGET_DIR make -s lib >/dev/null &&
	env -u CARGO_TARGET_DIR make -s install PREFIX="$prefix" >/dev/null)
rm -rf "$dir/strace"
cp -a "$cache/src/strace-6.1" "$dir/strace"
(cd "$dir/strace" && patch -s -p1 < "$root/integrations/strace/tracefilter.patch" &&
	autoreconf -fi >/dev/null 2>&1 &&
	PKG_CONFIG_PATH="$prefix/lib/pkgconfig" ./configure -q --enable-mpers=no --with-tracefilter \
		LDFLAGS="-Wl,-rpath,$prefix/lib" > configure.out 2>&1 &&
	make -j"$(nproc)" > make.out 2>&1) || { echo "patched-strace.sh: build failed in $dir/strace" >&2; exit 1; }
"$dir/strace/src/strace" -V >/dev/null
echo "$dir/strace/src/strace"
