/*
 * seccomp_stack: run a command under outer seccomp filters that make a
 * seccomp install inside it fail, to check a tracer's fallback.
 *
 *   seccomp_stack room N -- CMD...   fill the filter stack so that a filter
 *                                    of N classic instructions still fits
 *                                    and any bigger one fails with ENOMEM
 *   seccomp_stack deny -- CMD...     seccomp(2) and prctl(PR_SET_SECCOMP)
 *                                    fail with EPERM
 *   seccomp_stack enosys -- CMD...   seccomp(2) fails with ENOSYS
 *   seccomp_stack old-ptrace -- CMD... ptrace(PTRACE_GET_SYSCALL_INFO) fails
 *                                    with EIO, as before Linux 5.3
 *
 * The outer filters allow everything else and are kernel-cacheable for
 * every other syscall. Needs CAP_SYS_ADMIN or sets no_new_privs.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

static void install(struct sock_filter *f, unsigned short len)
{
	struct sock_fprog prog = { .len = len, .filter = f };

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
		return;
	if (errno == EACCES && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
		return;
	perror("seccomp_stack: prctl(PR_SET_SECCOMP)");
	exit(125);
}

/*
 * The kernel counts a stack of filters in its own (eBPF) instructions, which
 * are more than a classic program's; so the stack is filled by trial: each
 * filler is as long as it can be while a probe filter of `room` classic
 * instructions (loads, then a return) still fits on top, tried in a child.
 */
static struct sock_filter filler[BPF_MAXINSNS];

static void make(struct sock_filter *f, int len)
{
	for (int i = 0; i < len - 1; i++)
		f[i] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						     offsetof(struct seccomp_data, nr));
	f[len - 1] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
}

static int try_install(struct sock_filter *f, int len)
{
	struct sock_fprog prog = { .len = (unsigned short)len, .filter = f };

	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* Would a filler of `len` and then the probe of `room` both fit? */
static int fits(int len, int room)
{
	static struct sock_filter probe[BPF_MAXINSNS];
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		perror("seccomp_stack: fork");
		exit(125);
	}
	if (pid == 0) {
		make(filler, len);
		make(probe, room);
		_exit(try_install(filler, len) == 0 && try_install(probe, room) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid) {
		perror("seccomp_stack: waitpid");
		exit(125);
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void fill(int room)
{
	int lo, hi;

	if (room < 2 || room > BPF_MAXINSNS) {
		fprintf(stderr, "seccomp_stack: room out of range\n");
		exit(2);
	}
	while (fits(BPF_MAXINSNS, room)) {
		make(filler, BPF_MAXINSNS);
		install(filler, BPF_MAXINSNS);
	}
	/* Largest last filler that leaves the room: binary search. */
	lo = 0;
	hi = BPF_MAXINSNS;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (fits(mid, room))
			lo = mid;
		else
			hi = mid - 1;
	}
	if (lo > 0) {
		make(filler, lo);
		install(filler, lo);
	}
}

static void deny(int seccomp_errno, int also_prctl)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 1),
		BPF_JUMP(BPF_JMP | BPF_JA, also_prctl ? 2 : 0, 0, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (seccomp_errno & SECCOMP_RET_DATA)),
		/* prctl: fail PR_SET_SECCOMP only. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	install(f, sizeof(f) / sizeof(f[0]));
}

static void old_ptrace(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ptrace, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x420e /* PTRACE_GET_SYSCALL_INFO */, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	install(f, sizeof(f) / sizeof(f[0]));
}

int main(int argc, char **argv)
{
	int cmd = 2;

	if (argc > 2 && !strcmp(argv[1], "room") && argc > 4 && !strcmp(argv[3], "--")) {
		fill((int)strtol(argv[2], NULL, 10));
		cmd = 4;
	} else if (argc > 3 && !strcmp(argv[1], "deny") && !strcmp(argv[2], "--")) {
		deny(EPERM, 1);
		cmd = 3;
	} else if (argc > 3 && !strcmp(argv[1], "enosys") && !strcmp(argv[2], "--")) {
		deny(ENOSYS, 0);
		cmd = 3;
	} else if (argc > 3 && !strcmp(argv[1], "old-ptrace") && !strcmp(argv[2], "--")) {
		old_ptrace();
		cmd = 3;
	} else {
		fprintf(stderr, "usage: seccomp_stack room N|deny|enosys|old-ptrace -- CMD...\n");
		return 2;
	}
	execvp(argv[cmd], argv + cmd);
	perror("seccomp_stack: exec");
	return 127;
}
