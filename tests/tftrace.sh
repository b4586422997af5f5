#!/bin/sh
# tftrace against Debian's strace: same syscalls and return values, with and
# without the filter, over forks and threads; exit statuses; usage errors.
cd "$(dirname "$0")/.." && . tests/lib/common.sh
TFTRACE=${TFTRACE:-./build/tftrace}

echo "tftrace: preconditions"
if [ ! -x "$TFTRACE" ]; then
	skip "$TFTRACE not built (the kernel-side API is not in include/tracefilter.h yet)"
	finish
	exit
fi
if ! "$TFTRACE" --no-seccomp -e trace=getpid -- true >/dev/null 2>"$TMP/err"; then
	skip "ptrace not permitted here: $(cat "$TMP/err")"
	finish
	exit
fi
pass "tftrace runs and may ptrace"

# "name = ret" per syscall line of strace or tftrace output, pids dropped.
calls() {
	sed -n 's/^\(\[pid  *[0-9]*\] \)\{0,1\}\([a-z0-9_]*\)(.*) = \(.*\)$/\2 = \3/p' "$1"
}
# One line per process: its calls joined by ";", sorted (processes interleave).
per_pid_tftrace() {
	sed -n 's/^\[pid \([0-9]*\)\] \([a-z0-9_]*\)(.*) = \(.*\)$/\1 \2 = \3/p' "$1" |
		awk '{ p = $1; sub(/^[0-9]* /, ""); s[p] = s[p] ";" $0 } END { for (p in s) print s[p] }' |
		sort
}
per_pid_strace() {
	for f in "$1".*; do
		calls "$f" | awk '{ s = s ";" $0 } END { print s }'
	done | sort
}
# same EXPECTED ACTUAL DESCRIPTION: non-empty and equal, else the first differences.
same() {
	if [ -s "$1" ] && cmp -s "$1" "$2"; then
		pass "$3"
	else
		fail "$3"
		diff "$1" "$2" | head -n 6 | cut -c 1-160
	fi
}
mode_of() { grep -q 'seccomp filter active' "$1" && echo seccomp || echo ptrace; }

echo "tftrace vs strace -e trace=openat -- cat /etc/hostname"
if have strace; then
	strace -o "$TMP/s" -e trace=openat -- cat /etc/hostname >/dev/null
	"$TFTRACE" -o "$TMP/t" -e trace=openat -- cat /etc/hostname >/dev/null 2>"$TMP/err"
	calls "$TMP/s" >"$TMP/s.calls"
	calls "$TMP/t" >"$TMP/t.calls"
	same "$TMP/s.calls" "$TMP/t.calls" \
		"same names and return values ($(wc -l <"$TMP/t.calls") openat, $(mode_of "$TMP/err") mode)"
	check "the filter was used (stderr: $(head -n 1 "$TMP/err"))" grep -q 'seccomp filter active' "$TMP/err"
	"$TFTRACE" --no-seccomp -o "$TMP/n" -e trace=openat -- cat /etc/hostname >/dev/null 2>&1
	calls "$TMP/n" >"$TMP/n.calls"
	same "$TMP/t.calls" "$TMP/n.calls" "--no-seccomp gives the same lines"

	echo "tftrace -f vs strace -f over sh -c 'cat /etc/hostname | wc -c'"
	mkdir "$TMP/sf"
	strace -f -ff -o "$TMP/sf/trace" -e trace=openat,execve -- sh -c 'cat /etc/hostname | wc -c' >/dev/null
	"$TFTRACE" -f -o "$TMP/tf" -e trace=openat,execve -- sh -c 'cat /etc/hostname | wc -c' >/dev/null 2>&1
	"$TFTRACE" --no-seccomp -f -o "$TMP/nf" -e trace=openat,execve -- sh -c 'cat /etc/hostname | wc -c' >/dev/null 2>&1
	per_pid_strace "$TMP/sf/trace" >"$TMP/sf.calls"
	per_pid_tftrace "$TMP/tf" >"$TMP/tf.calls"
	per_pid_tftrace "$TMP/nf" >"$TMP/nf.calls"
	same "$TMP/sf.calls" "$TMP/tf.calls" "same calls per process ($(wc -l <"$TMP/tf.calls") processes)"
	same "$TMP/tf.calls" "$TMP/nf.calls" "--no-seccomp -f gives the same calls"
else
	skip "strace not installed: no reference to compare with"
fi

echo "tftrace: an install refused in the child falls back to plain ptrace with one warning"
if [ "$(id -u)" -ne 0 ]; then
	skip "not root: cannot stack the outer filters that make the install fail"
elif ! have strace; then
	skip "strace not installed: no reference to compare with"
elif ! cc -O2 -o "$TMP/seccomp_stack" tests/c/seccomp_stack.c 2>"$TMP/err"; then
	fail "tests/c/seccomp_stack.c does not build: $(head -n 3 "$TMP/err")"
else
	# Room for the probe's filter, not for the program: seccomp(2) says ENOMEM.
	"$TMP/seccomp_stack" room 8 -- "$TFTRACE" -o "$TMP/fb" -e trace=openat -- cat /etc/hostname \
		>/dev/null 2>"$TMP/fb.err"
	st=$?
	check "exit status 0 (got $st)" [ "$st" -eq 0 ]
	grep '^tftrace:' "$TMP/fb.err" >"$TMP/fb.warn"
	check "exactly one warning line, naming the refusal: $(cat "$TMP/fb.warn")" \
		sh -c "[ \$(wc -l <'$TMP/fb.warn') -eq 1 ] && grep -q 'not installed.*Cannot allocate memory' '$TMP/fb.warn'"
	calls "$TMP/fb" >"$TMP/fb.calls"
	same "$TMP/s.calls" "$TMP/fb.calls" "the fallback trace has strace's names and return values"
fi

echo "tftrace: exit status and death by signal are the tracee's"
"$TFTRACE" -e trace=openat -- sh -c 'exit 3' >/dev/null 2>&1
st=$?
check "sh -c 'exit 3' -> 3 (got $st)" [ "$st" -eq 3 ]
"$TFTRACE" -f -e trace=openat -- sh -c 'kill -SEGV $$' >/dev/null 2>"$TMP/err"
st=$?
check "sh -c 'kill -SEGV \$\$' -> 139 (got $st)" [ "$st" -eq 139 ]
check "... and says killed by SIGSEGV" grep -q 'killed by SIGSEGV' "$TMP/err"
"$TFTRACE" --no-seccomp -e trace=openat -- sh -c 'exit 5' >/dev/null 2>&1
st=$?
check "--no-seccomp: sh -c 'exit 5' -> 5 (got $st)" [ "$st" -eq 5 ]
"$TFTRACE" -e trace=openat -- /nonexistent/program >/dev/null 2>&1
st=$?
check "a missing program -> 127 (got $st)" [ "$st" -eq 127 ]

echo "tftrace: usage errors"
"$TFTRACE" -e trace=openat,no_such_call -- true >/dev/null 2>"$TMP/err"
st=$?
check "unknown syscall: exit 2 (got $st) and the name in the message: $(cat "$TMP/err")" \
	sh -c "[ $st -eq 2 ] && grep -q no_such_call '$TMP/err'"
"$TFTRACE" -- true >/dev/null 2>&1
st=$?
check "no -e trace=: exit 2 (got $st)" [ "$st" -eq 2 ]
"$TFTRACE" -e trace=openat >/dev/null 2>&1
st=$?
check "no command: exit 2 (got $st)" [ "$st" -eq 2 ]

echo "tftrace: a traced syscall in a thread"
if have cc; then
	cat >"$TMP/thread.c" <<'EOC'
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
static void *run(void *arg)
{
	int fd = open("/etc/hostname", O_RDONLY); /* openat(2) */
	(void)arg;
	if (fd >= 0)
		close(fd);
	return (void *)(long)(fd >= 0);
}
int main(void)
{
	pthread_t t;
	void *ok = 0;
	if (pthread_create(&t, 0, run, 0) || pthread_join(t, &ok))
		return 2;
	return ok ? 0 : 1;
}
EOC
	if cc -O2 -pthread -o "$TMP/thread" "$TMP/thread.c"; then
		"$TFTRACE" -f -o "$TMP/th" -e trace=openat -- "$TMP/thread" 2>/dev/null
		st=$?
		pids=$(sed -n 's/^\[pid \([0-9]*\)\] openat(.*) = [0-9][0-9]*$/\1/p' "$TMP/th" | sort -u | wc -l)
		check "-f: the thread's openat succeeds (exit $st) and is printed from a second tid ($pids tids)" \
			sh -c "[ $st -eq 0 ] && [ $pids -eq 2 ]"
		"$TFTRACE" -o "$TMP/th1" -e trace=openat -- "$TMP/thread" 2>/dev/null
		st=$?
		pids=$(sed -n 's/^\[pid \([0-9]*\)\] openat.*/\1/p' "$TMP/th1" | sort -u | wc -l)
		check "without -f: the thread's openat still succeeds (exit $st), only the first tid printed ($pids)" \
			sh -c "[ $st -eq 0 ] && [ $pids -eq 1 ]"
	else
		fail "cannot compile the thread program"
	fi
else
	skip "no C compiler for the thread program"
fi
finish
