# Shared by build.sh, extract.sh and check.sh (sourced): where PRoot comes
# from, how a tree is built.
#
# PRoot is termux/proot (https://github.com/termux/proot, the PRoot that
# Termux ships) at commit 6c09638b65797997e33b218a42e5e2c7645cb788, as a
# tarball of the git tree: termux-proot-6c09638.tar.xz. SRC is a directory
# holding that tarball (default ../shared/src beside the repository), the
# tarball itself, or an unpacked tree (a directory with src/GNUmakefile).
# Building needs make, gcc, libtalloc-dev and uthash-dev.

tp_here=$(cd "$(dirname "$0")" && pwd)
tp_repo=$(cd "$tp_here/../.." && pwd)
tp_tarball=termux-proot-6c09638.tar.xz

tp_die() { echo "$(basename "$0"): $*" >&2; exit 2; }

# tp_source DEST [SRC]: an unpatched, unbuilt tree in DEST (kept if there).
tp_source() {
	tp_dest=$1 tp_src=${2:-$tp_repo/../shared/src}
	[ -f "$tp_dest/src/GNUmakefile" ] && return 0
	rm -rf "$tp_dest"
	mkdir -p "$(dirname "$tp_dest")"
	[ -d "$tp_src" ] && [ -f "$tp_src/$tp_tarball" ] && tp_src=$tp_src/$tp_tarball
	if [ -d "$tp_src" ]; then
		[ -f "$tp_src/src/GNUmakefile" ] || tp_die "$tp_src: neither $tp_tarball nor a PRoot tree"
		cp -a "$tp_src" "$tp_dest"
	elif [ -f "$tp_src" ]; then
		tp_tmp=$(mktemp -d "$(dirname "$tp_dest")/unpack.XXXXXX")
		tar -xf "$tp_src" -C "$tp_tmp" || tp_die "cannot unpack $tp_src"
		mv "$tp_tmp"/* "$tp_dest" && rmdir "$tp_tmp"
	else
		tp_die "no PRoot source at $tp_src ($tp_tarball: termux/proot at commit 6c09638)"
	fi
	[ -f "$tp_dest/src/syscall/seccomp.c" ] || tp_die "$tp_dest is not a PRoot tree"
}

# tp_patches: our patches to PRoot, in the order they apply
# (integrations/proot/NNNN-*.patch): 0001 makes set_seccomp_filters() build
# PRoot's program with tracefilter (src/syscall/tfilter.c).
tp_patches() {
	ls "$tp_here"/[0-9][0-9][0-9][0-9]-*.patch 2>/dev/null || :
}

# tp_apply DIR: applies our patches; fails if any does not apply.
tp_apply() {
	for tp_p in $(tp_patches); do
		patch -s -p1 -d "$1" <"$tp_p" || { echo "$(basename "$tp_p") does not apply" >&2; return 1; }
	done
}

# tp_lib: builds the library (the repository's target/release, whatever
# CARGO_TARGET_DIR says) for a patched tree, which links it statically:
# users then need no libtracefilter.so beside their proot.
tp_lib() {
	(cd "$tp_repo" && env -u CARGO_TARGET_DIR make -s lib >/dev/null)
}
tp_tf_cflags="-I$tp_repo/include"
tp_tf_libs="$tp_repo/target/release/libtracefilter.a -lpthread -ldl -lm"

# tp_make DIR: builds DIR/src/proot; log in DIR/make.out. A patched tree
# (it has src/syscall/tfilter.c) links the library built by tp_lib.
tp_make() {
	if [ -f "$1/src/syscall/tfilter.c" ]; then
		make -C "$1/src" -j"${JOBS:-2}" proot TRACEFILTER_CFLAGS="$tp_tf_cflags" \
			TRACEFILTER_LIBS="$tp_tf_libs" >"$1/make.out" 2>&1
	else
		make -C "$1/src" -j"${JOBS:-2}" proot >"$1/make.out" 2>&1
	fi
}

# tp_need COMMAND...: dies naming the missing ones.
tp_need() {
	tp_missing=
	for tp_c in "$@"; do
		command -v "$tp_c" >/dev/null 2>&1 || tp_missing="$tp_missing $tp_c"
	done
	[ -z "$tp_missing" ] || tp_die "missing commands:$tp_missing"
	[ -f /usr/include/talloc.h ] || tp_die "missing talloc.h (apt-get install libtalloc-dev)"
	[ -f /usr/include/uthash.h ] || tp_die "missing uthash.h (apt-get install uthash-dev)"
}
