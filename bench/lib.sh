# Shared by the bench scripts (sourced; expects $root).
say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# The library, built by make into target/release (the Makefile's paths).
build_lib() {
	(cd "$root" && env -u CARGO_TARGET_DIR make -s >/dev/null)
}

build_peers() {
	build_lib
	gcc -O2 -Wall -Wextra -I"$root/include" -o "$1" "$root/bench/peers.c" \
		"$root/target/release/libtracefilter.a" -lseccomp -lpthread -ldl -lm
}

# Statically linked, for the QEMU guests (and used on the host too).
# glibc warns that getpwuid_r and getaddrinfo (in Rust's std, never called)
# need its shared libraries at run time: those lines are dropped.
build_guest() {
	build_lib
	if ! gcc -O2 -Wall -Wextra -static -I"$root/include" -o "$1" "$root/bench/guest.c" \
		"$root/target/release/libtracefilter.a" -lpthread -ldl -lm 2> "$1.log"; then
		cat "$1.log" >&2
		return 1
	fi
	grep -v -e 'statically linked applications' -e ': in function' "$1.log" >&2 || true
	rm -f "$1.log"
	# A static executable has no program interpreter.
	if readelf -l "$1" | grep -q 'INTERP'; then
		echo "bench: $1 is not statically linked" >&2
		return 1
	fi
}
