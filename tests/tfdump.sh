#!/bin/sh
# tfdump on every set of the public corpus: it compiles, and its figures
# agree with its own listing and with the set it was given.
cd "$(dirname "$0")/.." && . tests/lib/common.sh

corpus=tests/corpus.txt
echo "tfdump: every set of $corpus compiles; length = listed instructions; traced + allowed = table size"
if [ ! -r "$corpus" ]; then
	skip "$corpus not found"
	finish
	exit
fi

# check_dump NAME EXPECTED_X86_64_TRACED ARGS...: runs tfdump and checks its figures.
check_dump() {
	name=$1 want=$2
	shift 2
	if ! $T ./build/tfdump "$@" >"$TMP/dump" 2>"$TMP/err"; then
		fail "$name: tfdump $* failed: $(cat "$TMP/err")"
		return
	fi
	len=$(sed -n 's/^length: //p' "$TMP/dump")
	listed=$(grep -c '^ *[0-9][0-9]*: ' "$TMP/dump")
	bad=$(awk '/^personality / {
		for (i = 1; i <= NF; i++) {
			if ($(i + 1) ~ /^syscalls,/) n = $i
			if ($(i + 1) ~ /^traced,/) t = $i
			if ($(i + 1) ~ /^allowed,/) a = $i
			if ($(i + 1) ~ /^other,/) o = $i
		}
		if (t + a + o != n) print $2 ": " t " traced + " a " allowed + " o " other != " n
	}' "$TMP/dump")
	x86=$(awk '/^personality x86_64 / { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^traced,/) print $i }' "$TMP/dump")
	if [ -z "$len" ] || [ "$len" != "$listed" ]; then
		fail "$name: length '$len' but $listed instructions listed"
	elif grep -q '; invalid program' "$TMP/dump"; then
		fail "$name: the listing says the program is invalid"
	elif [ -n "$bad" ]; then
		fail "$name: $bad"
	elif [ "$want" = any ] && [ "${x86:-0}" -gt 0 ] || [ "$want" = "${x86:-}" ]; then
		pass "$name: $len instructions, x86_64 traced $x86, $(sed -n 's/^strategy: //p' "$TMP/dump")"
	else
		fail "$name: x86_64 traced '${x86:-}', expected $want"
	fi
}

x86_size=$($T ./build/tfdump -p x86_64 read | awk '/^personality/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^syscalls,/) print $i }')
while IFS= read -r set; do
	case $set in
	'' | '#'*) continue ;;
	*%*)
		# Syscall classes are strace's: take the set from strace's own program.
		if ! have strace; then
			skip "$set: strace not installed (its classes define the set)"
			continue
		fi
		if ! strace_program "$set" "$TMP/prog"; then
			fail "$set: cannot read strace's program"
			continue
		fi
		check_dump "$set" any -p x86_64 -p i386 -p x32 --traced-by "$TMP/prog"
		;;
	!*)
		list=${set#!}
		n=$(echo "$list" | tr ',' '\n' | grep -c .)
		check_dump "$set" $((x86_size - n)) --all-but "$list"
		;;
	*)
		check_dump "$set" "$(echo "$set" | tr ',' '\n' | grep -c .)" "$set"
		;;
	esac
done <"$corpus"

echo "tfdump: usage errors"
$T ./build/tfdump >/dev/null 2>&1
check "no set: exit 2" [ $? -eq 2 ]
$T ./build/tfdump no_such_syscall >/dev/null 2>"$TMP/err"
st=$?
check "unknown syscall: exit 2 with the name in the message" \
	sh -c "[ $st -eq 2 ] && grep -q no_such_syscall '$TMP/err'"
$T ./build/tfdump %file >/dev/null 2>"$TMP/err"
st=$?
check "%file: exit 2 (got $st) and a hint: $(cat "$TMP/err")" \
	sh -c "[ $st -eq 2 ] && grep -q 'classes are strace.s: pass its program with --traced-by' '$TMP/err'"
$T ./build/tfdump '!write' >/dev/null 2>"$TMP/err"
st=$?
check "!write: exit 2 (got $st) and a hint: $(cat "$TMP/err")" \
	sh -c "[ $st -eq 2 ] && grep -q -- '--all-but' '$TMP/err'"
for strategy in bits jset; do
	$T ./build/tfdump --strategy $strategy openat >/dev/null 2>"$TMP/err"
	st=$?
	check "--strategy $strategy on one syscall: exit 1 (got $st) and why: $(tail -n 1 "$TMP/err")" \
		sh -c "[ $st -eq 1 ] && grep -q '$strategy works on aligned blocks of 32 numbers.*leave --strategy out' '$TMP/err'"
done
$T ./build/tfdump --help >"$TMP/help" 2>&1
st=$?
check "--help: exit 0 (got $st), explains the set syntax, --traced-by FILE and every strategy name" \
	sh -c "[ $st -eq 0 ] && grep -q 'names or numbers, comma-separated' '$TMP/help' && grep -q 'raw struct sock_filter' '$TMP/help' && for s in auto tree search linear bits jset; do grep -q \"\$s (\" '$TMP/help' || exit 1; done"

echo "tfdump: NAME=ACTION items compile action maps"
# PRoot's kind of map: entry-and-exit stops (TRACE|1), entry stops (TRACE|0),
# and one syscall refused, on the three x86 personalities.
for objective in speed size; do
	check_dump "NAME=ACTION, $objective" 3 --objective $objective \
		'read,execve=trace:1,openat=trace,kill=errno:0x1'
	x86=$(grep '^personality x86_64 ' "$TMP/dump")
	check "NAME=ACTION, $objective: one other value in x86_64; the listing shows TRACE(1), TRACE and ERRNO(1): $x86" \
		sh -c "echo '$x86' | grep -q ' 1 other,' && grep -q '; TRACE(1)\$' '$TMP/dump' && grep -q '; TRACE\$' '$TMP/dump' && grep -q '; ERRNO(1)\$' '$TMP/dump'"
done
check_dump "NAME=ACTION after --all-but" any -p x86_64 --all-but 'read,write,write=errno:5,exit_group=allow'
check "--all-but then NAME=ACTION: write refused, exit_group allowed, every other number traced" \
	sh -c "grep -q '^personality x86_64 .* 1 other,' '$TMP/dump' && grep -q '; ERRNO(5)\$' '$TMP/dump'"
for bad in 'execve=bogus' 'execve=errno' 'execve=allow:1' 'execve=trace:0x10000' 'no_such_syscall=allow'; do
	$T ./build/tfdump -p x86_64 "$bad" >/dev/null 2>"$TMP/err"
	st=$?
	check "'$bad': exit 2 (got $st): $(cat "$TMP/err")" sh -c "[ $st -eq 2 ] && [ -s '$TMP/err' ]"
done
# --map: a map file in integrations/proot/extract.sh's form; -o writes the
# program, which tfdump --map must then reproduce number by number.
{
	echo "x86_64 0 0x7fff0000 read"
	echo "x86_64 2 0x7ff00000 open"
	echo "x86_64 59 0x7ff00001 execve"
	echo "x86_64 62 0x00050001 kill"
	echo "x32 2 0x7ff00001 open"
	echo "i386 11 0x7ff00001 execve"
	echo "unknown * 0x00000000 -"
} >"$TMP/map"
$T ./build/tfdump --map "$TMP/map" --unknown-nr allow -o "$TMP/prog" >"$TMP/dump" 2>"$TMP/err"
st=$?
check "--map: exit 0 (got $st $(cat "$TMP/err")); x86_64 60 allowed of 63 with 2 traced, 1 other; x32 and i386 read" \
	sh -c "[ $st -eq 0 ] && grep -q '^personality x86_64:63 .* 63 syscalls, 2 traced, 60 allowed, 1 other,' '$TMP/dump' && grep -q '^personality x32:3 .* 1 traced, 2 allowed, 0 other' '$TMP/dump' && grep -q '^personality i386:12 ' '$TMP/dump'"
len=$(sed -n 's/^length: //p' "$TMP/dump")
check "-o wrote the $len instructions listed" [ "$(wc -c <"$TMP/prog")" -eq $((len * 8)) ]
check "--map: the listing returns TRACE(1), TRACE, ERRNO(1), ALLOW and KILL_THREAD (other arches)" \
	sh -c "for v in 'TRACE(1)' TRACE 'ERRNO(1)' ALLOW KILL_THREAD; do grep -q \"; \$v\\\$\" '$TMP/dump' || exit 1; done"
$T ./build/tfdump --map "$TMP/map" read >/dev/null 2>&1
check "--map with SYSCALLS: exit 2" [ $? -eq 2 ]
echo "x86_64 zero 0x7fff0000 read" >"$TMP/badmap"
$T ./build/tfdump --map "$TMP/badmap" >/dev/null 2>"$TMP/err"
st=$?
check "--map with a bad line: exit 2 (got $st): $(cat "$TMP/err")" sh -c "[ $st -eq 2 ] && grep -q 'badmap:1' '$TMP/err'"

$T ./build/tfdump --help >"$TMP/help" 2>&1
check "--help explains NAME=ACTION and every action" \
	sh -c "grep -q 'NAME=ACTION' '$TMP/help' && for a in allow log kill kill_thread user_notif 'trap\[:N\]' 'trace\[:N\]' 'errno:N'; do grep -q \"\$a\" '$TMP/help' || exit 1; done"

$T ./build/tfdump openat >"$TMP/dump" 2>&1
check "the cacheable summary names its scope, and x32 says never: $(grep -c 'nr_flag' "$TMP/dump") lines" \
	sh -c "grep -q '^kernel-cacheable (every allowed syscall of the personalities without an nr_flag): yes' '$TMP/dump' && grep -q '^personality x32 .*cacheable never (nr_flag)' '$TMP/dump'"
finish
