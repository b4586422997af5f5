/* Writes libseccomp's program for a set of traced syscalls on x86_64 + x86
 * + x32 (default action ALLOW, rules TRACE(0), bad arch TRACE(0)) to a file
 * as raw struct sock_filter records.
 * usage: scmp_export OUT OPTIMIZE NAME...   (OPTIMIZE 1 default, 2 tree) */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s OUT OPTIMIZE NAME...\n", argv[0]);
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx || seccomp_arch_add(ctx, SCMP_ARCH_X86) || seccomp_arch_add(ctx, SCMP_ARCH_X32) ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRACE(0))) {
		fprintf(stderr, "seccomp setup failed\n");
		return 1;
	}
	int opt = atoi(argv[2]);
	if (opt == 2 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) {
		fprintf(stderr, "SCMP_FLTATR_CTL_OPTIMIZE=2 unsupported\n");
		return 3;
	}
	for (int i = 3; i < argc; i++) {
		int nr = seccomp_syscall_resolve_name(argv[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		int rc = seccomp_rule_add(ctx, SCMP_ACT_TRACE(0), nr, 0);
		if (rc && rc != -EDOM) {
			fprintf(stderr, "rule for %s: %d\n", argv[i], rc);
			return 1;
		}
	}
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || seccomp_export_bpf(ctx, fd)) {
		fprintf(stderr, "export failed\n");
		return 1;
	}
	close(fd);
	seccomp_release(ctx);
	return 0;
}
