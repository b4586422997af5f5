# The one reader of strace 6.1's debug dump of its seccomp program: the
# "ARGV0: STMT(...)" and "ARGV0: JUMP(...)" lines of `strace -d --seccomp-bpf`
# (dump_seccomp_bpf in its src/filter_seccomp.c; stock and patched strace,
# whatever path strace was run by). Other lines are skipped. Writes the raw
# struct sock_filter array as printf(1) octal escapes (little-endian);
# tools/strace-program.sh turns them into the bytes every consumer reads.
function num(s,    v, i, c) {
	gsub(/[ )]/, "", s)
	if (s == "data->arch") return 4
	if (s == "data->nr") return 0
	if (s == "SECCOMP_RET_TRACE") return 2146435072	# 0x7ff00000
	if (s == "SECCOMP_RET_ALLOW") return 2147418112	# 0x7fff0000
	if (s == "X") return 0
	if (s !~ /^0x/) return s + 0
	v = 0
	for (i = 3; i <= length(s); i++) {
		c = index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
		v = v * 16 + c
	}
	return v
}
function bytes(v, n,    out, i) {
	out = ""
	for (i = 0; i < n; i++) {
		out = out sprintf("\\%03o", v % 256)
		v = int(v / 256)
	}
	return out
}
function insn(code, jt, jf, k) {
	printf "%s%s%s%s", bytes(code, 2), bytes(jt, 1), bytes(jf, 1), bytes(k, 4)
	count++
}
# BPF_ALU operation codes (BPF_K; BPF_X adds 8).
function alu(op) {
	if (op == "BPF_ADD") return 4
	if (op == "BPF_SUB") return 20
	if (op == "BPF_OR") return 68
	if (op == "BPF_AND") return 84
	if (op == "BPF_LSH") return 100
	if (op == "BPF_RSH") return 116
	return -1
}
# strace prefixes its messages with "argv0: ".
{
	at = index($0, ": ")
	if (!at) next
	body = substr($0, at + 2)
	if (body !~ /^(STMT|JUMP)\(/) next
	kind = substr(body, 1, 4)
	sub(/^(STMT|JUMP)\(/, "", body)
	sub(/\)$/, "", body)
	n = split(body, f, /, */)
	op = f[1]
	if (kind == "STMT" && op == "BPF_LDWABS") insn(32, 0, 0, num(f[2]))
	else if (op == "BPF_LDWIMM") insn(0, 0, 0, num(f[2]))
	else if (op == "BPF_RET") insn(6, 0, 0, num(f[2]))
	else if (kind == "STMT" && n == 2 && alu(op) >= 0 && f[2] == "X") insn(alu(op) + 8, 0, 0, 0)
	else if (kind == "STMT" && n == 2 && alu(op) >= 0) insn(alu(op), 0, 0, num(f[2]))
	else if (op == "BPF_TAX") insn(7, 0, 0, 0)
	else if (op == "BPF_TXA") insn(135, 0, 0, 0)
	else if (op == "BPF_JEQ") insn(21, num(f[2]), num(f[3]), num(f[4]))
	else if (op == "BPF_JGT") insn(37, num(f[2]), num(f[3]), num(f[4]))
	else if (op == "BPF_JGE") insn(53, num(f[2]), num(f[3]), num(f[4]))
	else if (op == "BPF_JSET") insn(69, num(f[2]), num(f[3]), num(f[4]))
	else if (op == "BPF_JA") insn(5, 0, 0, num(f[2]))
	else if (kind == "STMT" && n == 4) insn(num(op), num(f[2]), num(f[3]), num(f[4]))
	else { print "strace-dump.awk: cannot read: " $0 > "/dev/stderr"; bad = 1 }
}
END {
	if (!count) { print "strace-dump.awk: no program in the input" > "/dev/stderr"; exit 1 }
	if (count > 4096) { print "strace-dump.awk: more than BPF_MAXINSNS instructions" > "/dev/stderr"; exit 1 }
	exit bad
}
