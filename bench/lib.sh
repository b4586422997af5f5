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
build_guest() {
	build_lib
	gcc -O2 -Wall -Wextra -static -I"$root/include" -o "$1" "$root/bench/guest.c" \
		"$root/target/release/libtracefilter.a" -lpthread -ldl -lm 2>/dev/null
	file "$1" | grep -q 'statically linked' || { echo "guest: not static" >&2; return 1; }
}
