#!/bin/sh
# build.sh DIR [SRC]: PRoot built as DIR/proot (the tree in DIR/proot-src,
# its log in DIR/proot-src/make.out). SRC: see lib.sh (default
# ../shared/src beside the repository).
#
# PRoot is patched (integrations/proot/NNNN-*.patch, lib.sh's tp_apply) to
# build its seccomp program with tracefilter, linked statically from this
# repository (built first: `make lib`). Needs make, gcc, patch, cargo,
# libtalloc-dev, uthash-dev. About 15 s on 2 CPUs, plus the library's build.
set -eu
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

[ $# -ge 1 ] || { echo "usage: $0 DIR [SRC]" >&2; exit 2; }
tp_need make gcc patch tar cargo
mkdir -p "$1"
dir=$(cd "$1" && pwd)
tree=$dir/proot-src

echo "build.sh: PRoot source in $tree"
rm -rf "$tree"
tp_source "$tree" "${2:-}"
echo "build.sh: applying $(tp_patches | wc -l) patches"
tp_apply "$tree" || tp_die "the patches do not apply to $tree"
tp_lib || tp_die "the library does not build (make lib)"
tp_make "$tree" || tp_die "build failed (see $tree/make.out)"
ln -sf proot-src/src/proot "$dir/proot"
# Its banner ends with the version; then whether it has the seccomp filter.
"$dir/proot" --version 2>&1 | sed -n -e 's/^|__|.* \([0-9][0-9.]*\)$/PRoot \1/p' -e '/^built-in accelerators/p'
echo "$dir/proot"
