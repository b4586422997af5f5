# Shared by build.sh and check.sh (sourced): where each strace version comes
# from, how our patches go on, how a tree is configured.
#
#   6.1  Debian 12's source package (apt-get source strace, through a private
#        apt configuration: the machine's sources are not changed); the
#        patch is tracefilter.patch.
#   7.2  the upstream v7.2 git tree as a tarball (strace-7.2.tar.xz, in SRC:
#        a directory holding it, the tarball itself or an unpacked tree;
#        default ../shared/src beside the repository); the patches are the
#        series 7.2/*.patch, in order.

tf_here=$(cd "$(dirname "$0")" && pwd)
tf_repo=$(cd "$tf_here/../.." && pwd)

tf_die() { echo "$(basename "$0"): $*" >&2; exit 2; }

tf_check_version() { # VERSION
	case $1 in
	6.1 | 7.2) ;;
	*) tf_die "unknown strace version '$1' (6.1 or 7.2)" ;;
	esac
}

# tf_patches VERSION: the patch files, in the order they apply.
tf_patches() {
	case $1 in
	6.1) echo "$tf_here/tracefilter.patch" ;;
	7.2) ls "$tf_here"/7.2/[0-9][0-9][0-9][0-9]-*.patch ;;
	esac
}

# tf_source VERSION DEST [SRC]: an unpatched, unconfigured tree in DEST
# (kept if it is already there).
tf_source() {
	tf_version=$1 tf_dest=$2 tf_src=${3:-}
	[ -e "$tf_dest/configure.ac" ] && return 0
	rm -rf "$tf_dest"
	mkdir -p "$(dirname "$tf_dest")"
	case $tf_version in
	6.1)
		tf_cache=${TF_STRACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tracefilter-strace}
		tf_a=$tf_cache/apt-src
		if [ ! -x "$tf_cache/src/strace-6.1/configure" ]; then
			mkdir -p "$tf_a/lists/partial" "$tf_a/cache/archives/partial" "$tf_a/none" "$tf_cache/src"
			echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
				>"$tf_a/sources.list"
			set -- -q -o Dir::Etc::SourceList="$tf_a/sources.list" -o Dir::Etc::SourceParts="$tf_a/none" \
				-o Dir::State::Lists="$tf_a/lists" -o Dir::Cache="$tf_a/cache" \
				-o Dir::State::status=/dev/null -o Debug::NoLocking=1
			apt-get "$@" update >/dev/null || tf_die "apt-get update (deb-src bookworm) failed"
			(cd "$tf_cache/src" && { apt-get "$@" source strace=6.1-0.1 >/dev/null 2>&1 ||
				apt-get "$@" source strace >/dev/null; }) || tf_die "apt-get source strace failed"
		fi
		[ -x "$tf_cache/src/strace-6.1/configure" ] || tf_die "apt-get source strace gave no strace-6.1"
		cp -a "$tf_cache/src/strace-6.1" "$tf_dest"
		;;
	7.2)
		tf_src=${tf_src:-$tf_repo/../shared/src}
		[ -d "$tf_src" ] && [ -f "$tf_src/strace-7.2.tar.xz" ] && tf_src=$tf_src/strace-7.2.tar.xz
		if [ -d "$tf_src" ]; then
			[ -f "$tf_src/configure.ac" ] || tf_die "$tf_src: neither strace-7.2.tar.xz nor a strace tree"
			cp -a "$tf_src" "$tf_dest"
		elif [ -f "$tf_src" ]; then
			tf_tmp=$(mktemp -d "$(dirname "$tf_dest")/unpack.XXXXXX")
			tar -xf "$tf_src" -C "$tf_tmp" || tf_die "cannot unpack $tf_src"
			mv "$tf_tmp"/* "$tf_dest" && rmdir "$tf_tmp"
		else
			tf_die "no strace 7.2 source at $tf_src (strace-7.2.tar.xz, the v7.2 tag of https://github.com/strace/strace)"
		fi
		[ "$(cat "$tf_dest/.tarball-version" 2>/dev/null)" = 7.2 ] ||
			tf_die "$tf_dest is not strace 7.2 (.tarball-version)"
		;;
	esac
}

# tf_apply VERSION DIR: applies our patches; fails if any does not apply.
tf_apply() {
	for tf_p in $(tf_patches "$1"); do
		patch -s -p1 -d "$2" <"$tf_p" || { echo "$(basename "$tf_p") does not apply" >&2; return 1; }
	done
}

# tf_bootstrap VERSION DIR: generates configure (strace 7.2 ships a git tree).
tf_bootstrap() {
	case $1 in
	6.1) (cd "$2" && autoreconf -fi) ;;
	7.2) (cd "$2" && ./bootstrap) ;;
	esac
}

# tf_library PREFIX: builds this tree's library and installs it in PREFIX.
tf_library() {
	(cd "${TF_REPO:-$tf_repo}" && env -u CARGO_TARGET_DIR make -s lib >/dev/null &&
		env -u CARGO_TARGET_DIR make -s install PREFIX="$1" >/dev/null)
}

# tf_configure_make DIR [configure arguments...]: logs in DIR/configure.out, make.out.
tf_configure_make() {
	tf_dir=$1
	shift
	(cd "$tf_dir" && ./configure -q --enable-mpers=no "$@" >"$tf_dir/configure.out" 2>&1 &&
		make -j"${JOBS:-2}" >"$tf_dir/make.out" 2>&1)
}
