#!/bin/sh
# In a guest of tests/kernels/run.sh: tftrace (examples/tftrace.c, built for
# the guest's architecture) traces a busybox pipeline with the filter and
# with --no-seccomp; the same calls and return values must come out, and the
# filter must be active. Prints "ok tftrace: ..." or "FAIL tftrace: ...".
mkdir -p /tmp
cmd='cat /proc/version >/dev/null; cat /proc/version | wc -c >/dev/null'
tftrace -f -o /tmp/tf-s -e trace=openat,execve -- sh -c "$cmd" 2>/tmp/tf-s.err
s=$?
tftrace --no-seccomp -f -o /tmp/tf-p -e trace=openat,execve -- sh -c "$cmd" 2>/tmp/tf-p.err
p=$?
# "name = ret" per call, in order per process; processes sorted
calls() { sed -n 's/^\[pid *\([0-9]*\)\] \([a-z0-9_]*\)(.*) = \(.*\)$/\1 \2 = \3/p' "$1" | sort -s -n -k1,1 | cut -d' ' -f2- | sort; }
calls /tmp/tf-s >/tmp/tf-s.calls
calls /tmp/tf-p >/tmp/tf-p.calls
n=$(grep -c '^openat' /tmp/tf-s.calls)
if [ $s -ne 0 ] || [ $p -ne 0 ]; then
	echo "FAIL tftrace: exit statuses $s and $p: $(head -n 2 /tmp/tf-s.err /tmp/tf-p.err | tr '\n' ' ')"
elif ! grep -q 'seccomp filter active' /tmp/tf-s.err; then
	echo "FAIL tftrace: the filter is not active: $(head -n 1 /tmp/tf-s.err)"
elif [ "$n" -lt 2 ] || ! cmp -s /tmp/tf-s.calls /tmp/tf-p.calls; then
	echo "FAIL tftrace: seccomp and ptrace mode traces differ ($n openat calls)"
	diff /tmp/tf-s.calls /tmp/tf-p.calls | head -n 10
else
	echo "ok tftrace: $(wc -l </tmp/tf-s.calls) calls ($n openat) the same with the filter and with --no-seccomp; $(head -n 1 /tmp/tf-s.err | sed 's/^tftrace: //')"
fi
