# Expected kernel-side facts per suite, from bench/qemu.sh's results:
#   awk -f bench/qemu-checks.awk RESULTS   (exit status 1 if one does not hold)
function expect(suite, name, want,   got) {
	got = val[suite, name]
	if (got == want || (want ~ /^\^/ && got ~ want)) { pass++; return }
	fail++
	printf "qemu.sh: %s: check %s is '%s', expected '%s'\n", suite, name, got, want > "/dev/stderr"
}
$2 == "check" { v = $4; for (i = 5; i <= NF; i++) v = v " " $i; val[$1, $3] = v; suites[$1] = 1 }
END {
	for (s in suites) {
		expect(s, "filter_mode_probe", "EFAULT")
		expect(s, "action_avail_trace", "0")
		expect(s, "probe_status", "0")
		expect(s, "probe_filter_mode", "1")
		expect(s, "probe_seccomp_syscall", "1")
		expect(s, "probe_ret_trace", "1")
		expect(s, "probe_ptrace", "1")
		expect(s, "probe_stop_order", "entry_first")
		expect(s, "probe_install_none", "^0 installed=1 ")
		expect(s, "probe_install_spec_allow", "^0 installed=1 .*flags=0x4 ")
		expect(s, "install", "^0 installed=1 .*flags=0x4 ")
		expect(s, "allowed_getppid", "ok")
		expect(s, "traced_without_tracer", "ENOSYS")
		expect(s, "child_exit", "0")
		# The library's flag probe must agree with the raw one.
		split("TSYNC LOG SPEC_ALLOW NEW_LISTENER TSYNC_ESRCH WAIT_KILLABLE_RECV", fl, " ")
		mask = 0
		for (f = 1; f <= 6; f++) if (val[s, "flag_" fl[f]] == "EFAULT") mask += 2 ^ (f - 1)
		expect(s, "probe_filter_flags", sprintf("%#x", mask))
	}
	printf "qemu checks: %d passed, %d failed\n", pass, fail
	exit fail > 0
}
