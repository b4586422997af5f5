#!/bin/sh
# build.sh VERSION DIR [SRC]: patched strace VERSION (6.1 or 7.2) built
# against this tree's library, as DIR/strace.
#
# The library is installed in DIR/prefix (the binary finds it through its
# rpath), the patched tree is DIR/strace-VERSION (logs: configure.out,
# make.out there). SRC is where the source comes from (see lib.sh): for 7.2
# a directory holding strace-7.2.tar.xz (default ../shared/src beside the
# repository) or the tarball; for 6.1 Debian's source package through apt.
# Needs: make, gcc, cargo, patch, pkg-config, autoconf, automake (gawk for
# 7.2's bootstrap); dpkg-dev and network for 6.1. About 3 minutes on 2 CPUs.
set -eu
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

[ $# -ge 2 ] || { echo "usage: $0 VERSION DIR [SRC]" >&2; exit 2; }
version=$1
tf_check_version "$version"
mkdir -p "$2"
dir=$(cd "$2" && pwd)
tree=$dir/strace-$version

echo "build.sh: strace $version source"
rm -rf "$tree"
tf_source "$version" "$tree" "${3:-}"
echo "build.sh: tracefilter library in $dir/prefix"
tf_library "$dir/prefix" || tf_die "library build failed"
echo "build.sh: patch, bootstrap, configure --with-tracefilter, make"
tf_apply "$version" "$tree" || tf_die "the patches do not apply to $tree"
tf_bootstrap "$version" "$tree" >"$tree/bootstrap.out" 2>&1 || tf_die "bootstrap failed (see $tree/bootstrap.out)"
PKG_CONFIG_PATH=$dir/prefix/lib/pkgconfig tf_configure_make "$tree" --with-tracefilter \
	LDFLAGS="-Wl,-rpath,$dir/prefix/lib" || tf_die "build failed (see $tree/configure.out, make.out)"
ln -sf "strace-$version/src/strace" "$dir/strace"
"$dir/strace" -V | head -n 1
echo "$dir/strace"
