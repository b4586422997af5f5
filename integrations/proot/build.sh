#!/bin/sh
# build.sh DIR [SRC]: PRoot built as DIR/proot (the tree in DIR/proot-src,
# its log in DIR/proot-src/make.out). SRC: see lib.sh (default
# ../shared/src beside the repository).
#
# PRoot is built UNPATCHED for now: the patch that makes it compile its
# seccomp program with tracefilter needs the library's per-syscall action
# maps (issue 16), which do not exist yet. tp_apply below is where it goes
# on: it applies integrations/proot/NNNN-*.patch, of which there is none.
# About 15 s on 2 CPUs.
set -eu
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

[ $# -ge 1 ] || { echo "usage: $0 DIR [SRC]" >&2; exit 2; }
tp_need make gcc patch tar
mkdir -p "$1"
dir=$(cd "$1" && pwd)
tree=$dir/proot-src

echo "build.sh: PRoot source in $tree"
rm -rf "$tree"
tp_source "$tree" "${2:-}"
n=$(tp_patches | wc -l)
if [ "$n" = 0 ]; then
	echo "build.sh: no patch in integrations/proot yet: PRoot is built unpatched"
else
	echo "build.sh: applying $n patches"
	tp_apply "$tree" || tp_die "the patches do not apply to $tree"
fi
tp_make "$tree" || tp_die "build failed (see $tree/make.out)"
ln -sf proot-src/src/proot "$dir/proot"
# Its banner ends with the version; then whether it has the seccomp filter.
"$dir/proot" --version 2>&1 | sed -n -e 's/^|__|.* \([0-9][0-9.]*\)$/PRoot \1/p' -e '/^built-in accelerators/p'
echo "$dir/proot"
