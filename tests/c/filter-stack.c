/*
 * filter-stack ROOM CMD [ARGS...]: runs CMD under allow-all seccomp filters
 * that use up the kernel's per-process budget (MAX_INSNS_PER_PATH, counted
 * in the kernel's internal instructions, not ours) until the longest filter
 * that can still be attached has at most ROOM instructions. A later, longer
 * filter is refused with ENOMEM: a real install failure in the tracee, while
 * a short probe filter still fits. Needs root (it does not set
 * no_new_privs).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sock_filter insns[BPF_MAXINSNS];

static int attach(unsigned len)
{
	struct sock_fprog prog = { .len = (unsigned short)len, .filter = insns };

	for (unsigned i = 0; i + 1 < len; i++)
		insns[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
	insns[len - 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* Whether a filter of len instructions could be attached now: tried in a child. */
static int fits(unsigned len)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(attach(len) ? 1 : 0);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/* The longest filter that can be attached now, 0 if none. */
static unsigned longest(void)
{
	unsigned lo = 0, hi = BPF_MAXINSNS;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo + 1) / 2;
		if (fits(mid))
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: filter-stack ROOM CMD [ARGS...]\n");
		return 2;
	}
	long room = strtol(argv[1], NULL, 10);
	if (room < 1 || room >= BPF_MAXINSNS) {
		fprintf(stderr, "filter-stack: ROOM must be 1..%d\n", BPF_MAXINSNS - 1);
		return 2;
	}
	unsigned m;
	/*
	 * Each filter costs more than its length (the kernel's own instructions
	 * and a per-filter penalty): big steps first, then one-instruction
	 * filters, so the room left ends just at or below ROOM.
	 */
	while ((m = longest()) > room) {
		unsigned len = m - room > 64 ? m - room - 32 : 1;
		if (attach(len < BPF_MAXINSNS ? len : BPF_MAXINSNS)) {
			fprintf(stderr, "filter-stack: seccomp: %s\n", strerror(errno));
			return 1;
		}
	}
	if (m == 0) {
		fprintf(stderr, "filter-stack: no room left at all\n");
		return 1;
	}
	fprintf(stderr, "filter-stack: room for filters up to %u instructions\n", m);
	execvp(argv[2], argv + 2);
	fprintf(stderr, "filter-stack: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
