# Debian kernels and busybox under QEMU's emulator (sourced by bench/qemu.sh
# and tests/kernels/run.sh; POSIX sh). Expects $cache (the download cache)
# and a `say` function.
#
# Packages come from Debian's archive only, through apt with a private
# configuration per suite and architecture (the machine's apt setup is
# untouched), and are kept in $cache/debs: a later run on the same machine
# downloads nothing; the package lists are refreshed after a week.

# apt-get/apt-cache with the private configuration of SUITE/ARCH.
papt() {
	_d=$cache/apt-$1-$2
	_arch=$2
	shift 2
	"$@" -q -o Dir::Etc::SourceList="$_d/sources.list" -o Dir::Etc::SourceParts="$_d/none" \
		-o Dir::State::Lists="$_d/lists" -o Dir::Cache="$_d/cache" \
		-o Dir::State::status=/dev/null -o Debug::NoLocking=1 \
		-o APT::Architecture="$_arch" -o APT::Architectures="$_arch" \
		-o Acquire::Languages=none \
		-o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false \
		-o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false \
		-o Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false
}

# deb_lists SUITE ARCH: the private configuration and its package lists.
deb_lists() {
	_d=$cache/apt-$1-$2
	mkdir -p "$_d/lists/partial" "$_d/cache/archives/partial" "$_d/none" "$cache/debs"
	case $1 in
	*-security) _url=http://deb.debian.org/debian-security ;;
	*) _url=http://deb.debian.org/debian ;;
	esac
	echo "deb [arch=$2 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $_url $1 main" \
		> "$_d/sources.list"
	if [ -z "$(find "$_d/lists" -name '*_Packages*' -mtime -7 2>/dev/null)" ]; then
		say "apt update ($1 $2)"
		# once more after a pause: the mirror may be syncing; older lists will do
		papt "$1" "$2" apt-get update >/dev/null ||
			{ sleep 10; papt "$1" "$2" apt-get update >/dev/null; } ||
			[ -n "$(find "$_d/lists" -name '*_Packages*' 2>/dev/null)" ]
	fi
}

# deb_fetch SUITE ARCH PKG: downloads (once) a package into $cache/debs and
# prints its path. PKG "kernel" is the current linux-image of the suite.
deb_fetch() {
	_suite=$1 _arch=$2 _pkg=$3
	deb_lists "$_suite" "$_arch" || return 1
	if [ "$_pkg" = kernel ]; then
		_pkg=$(papt "$_suite" "$_arch" apt-cache depends "linux-image-$_arch" |
			sed -n "s/^ *Depends: \(linux-image-[0-9].*-$_arch\)\$/\1/p" | head -n 1)
		[ -n "$_pkg" ] || { echo "no kernel package in $_suite $_arch" >&2; return 1; }
	fi
	_ver=$(papt "$_suite" "$_arch" apt-cache show "$_pkg" | sed -n 's/^Version: //p' | head -n 1)
	[ -n "$_ver" ] || { echo "no package $_pkg in $_suite $_arch" >&2; return 1; }
	_file=$(ls "$cache/debs/${_pkg}_"*"_$_arch.deb" 2>/dev/null |
		grep -F "_$(echo "$_ver" | sed 's/:/%3a/')_" | head -n 1 || true)
	if [ -z "$_file" ]; then
		say "download $_pkg $_ver ($_suite $_arch)"
		(cd "$cache/debs" && papt "$_suite" "$_arch" apt-get download "$_pkg:$_arch" >/dev/null 2>&1) ||
			(cd "$cache/debs" && papt "$_suite" "$_arch" apt-get download "$_pkg:$_arch")
		_file=$(ls -t "$cache/debs/${_pkg}_"*"_$_arch.deb" | head -n 1)
	fi
	echo "$_file"
}

# papt_version SUITE ARCH PKG: the package's version in the suite.
papt_version() {
	deb_lists "$1" "$2" || return 1
	papt "$1" "$2" apt-cache show "$3" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1 | grep .
}

# deb_kernel SUITE ARCH DIR: the suite's kernel image extracted into DIR;
# prints its path.
deb_kernel() {
	_deb=$(deb_fetch "$1" "$2" kernel) || return 1
	mkdir -p "$3"
	dpkg-deb --fsys-tarfile "$_deb" | tar -x -C "$3" --wildcards './boot/vmlinu*'
	ls "$3"/boot/vmlinu* | head -n 1
}

# initramfs SUITE ARCH ROOT OUT: busybox-static of SUITE/ARCH into ROOT/bin
# (ROOT/init and the rest are the caller's), packed as a gzip'ed cpio OUT.
initramfs() {
	_deb=$(deb_fetch "$1" "$2" busybox-static) || return 1
	rm -rf "$3.bb"
	mkdir -p "$3.bb" "$3/bin" "$3/proc" "$3/dev"
	dpkg-deb -x "$_deb" "$3.bb"
	# /bin (bookworm and before) or /usr/bin (trixie's merged /usr)
	cp "$(ls "$3.bb/bin/busybox" "$3.bb/usr/bin/busybox" 2>/dev/null | head -n 1)" "$3/bin/busybox"
	rm -rf "$3.bb"
	(cd "$3" && find . | cpio -o -H newc --quiet | gzip -1) > "$4"
}

# The init script's head and tail: busybox applets, /proc, then the caller's
# commands between TFQ-BEGIN and TFQ-END, then power off.
init_head() {
	echo '#!/bin/busybox sh'
	echo 'export PATH=/bin'
	echo '/bin/busybox --install -s /bin'
	echo 'mount -t proc proc /proc'
	echo 'echo TFQ-BEGIN'
}
init_tail() {
	echo 'echo TFQ-END'
	echo 'poweroff -f; reboot -f'
}

# qemu_boot ARCH KERNEL INITRD LOG [EXTRA_CMDLINE]: boots under TCG with
# -icount shift=0 (the guest clock advances 1 ns per guest instruction, so
# guest timings are exact instruction counts), one CPU; the console, with
# CRs dropped, goes to LOG. Fails when the guest did not reach TFQ-END.
qemu_boot() {
	case $1 in
	amd64) _q="qemu-system-x86_64 -cpu max" _con=ttyS0 ;;
	arm64) _q="qemu-system-aarch64 -M virt -cpu max" _con=ttyAMA0 ;;
	riscv64) _q="qemu-system-riscv64 -M virt -cpu rv64" _con=ttyS0 ;;
	*) echo "qemu_boot: unknown arch $1" >&2; return 1 ;;
	esac
	timeout "${QEMU_TIMEOUT:-1800}" $_q -accel tcg -icount shift=0 -m 1024 -smp 1 \
		-kernel "$2" -initrd "$3" \
		-append "console=$_con quiet panic=-1 ${5:-}" -nographic -no-reboot \
		< /dev/null > "$4.raw" 2>&1 || true
	tr -d '\r' < "$4.raw" > "$4"
	rm -f "$4.raw"
	grep -q '^TFQ-END' "$4"
}

# The download cache: $TRACEFILTER_CACHE, else /var/cache/tracefilter
# (outside any clone, so later runs on the same machine reuse it), else
# ~/.cache/tracefilter when /var/cache is not writable.
cache_dir() {
	if [ -n "${TRACEFILTER_CACHE:-}" ]; then
		echo "$TRACEFILTER_CACHE"
	elif mkdir -p /var/cache/tracefilter 2>/dev/null && [ -w /var/cache/tracefilter ]; then
		echo /var/cache/tracefilter
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/tracefilter"
	fi
}
