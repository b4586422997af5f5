/*
 * kcheck: the guest side of tests/kernels/run.sh. Plain C without the
 * library (the library is built for the host only), statically linked for
 * each personality: x86_64, i386 (-m32), x32 (-mx32), aarch64, arm (armhf),
 * riscv64. The programs and the emulator's verdicts come from the host
 * (tests/kernels/kgen.c) as files.
 *
 *   kcheck verdict LIST DIR
 *       LIST has lines "NAME BASE COUNT": DIR/NAME.bpf is a raw struct
 *       sock_filter array, DIR/NAME.<pers>.exp holds COUNT bytes, one per
 *       syscall number BASE + i of this personality: 'T' traced (RET_TRACE,
 *       data 0), 'A' allowed. For each program a forked child stacks two
 *       filters, "everything RET_TRACE with data 0xffff" and then NAME, and
 *       calls every number in turn; this process traces it. The kernel runs
 *       both filters and keeps NAME's verdict unless NAME allows (newest
 *       filter wins a tie; ALLOW loses to TRACE), so the data of each
 *       PTRACE_EVENT_SECCOMP stop is the kernel's verdict on NAME: 0xffff
 *       allowed, else NAME's RET_TRACE data. The tracer then sets the
 *       syscall number to -1, so the kernel skips the syscall: no number
 *       ever runs, whatever it is. Prints "ok verdict NAME" or
 *       "FAIL verdict NAME: ..." and a summary line.
 *
 *   kcheck cost NR ROUNDS BATCH LABEL=FILE|floor ...
 *       For each round and spec in rotating order, a fresh child installs
 *       the filter and times BATCH calls of NR (with -1, 0, 0 as arguments).
 *       Prints "cost LABEL MIN MEDIAN" in clock ns per call: under QEMU with
 *       -icount shift=0 one ns is one guest instruction, and MIN is the batch
 *       no timer interrupt hit.
 *
 *   kcheck enosys TRACED ALLOWED
 *       Run under a filter installed by someone else (no tracer attached):
 *       TRACED must fail with ENOSYS, ALLOWED must not.
 *       Prints "ok enosys" or "FAIL enosys: ...".
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __riscv
#include <asm/ptrace.h> /* struct user_regs_struct */
#endif

#if defined(__x86_64__) && defined(__ILP32__)
#define PERS "x32"
#elif defined(__x86_64__)
#define PERS "x86_64"
#elif defined(__i386__)
#define PERS "i386"
#elif defined(__aarch64__)
#define PERS "aarch64"
#elif defined(__arm__)
#define PERS "arm"
#elif defined(__riscv) && __riscv_xlen == 64
#define PERS "riscv64"
#else
#error "kcheck: unknown personality"
#endif

#define ALL_TRACED_DATA 0xffffu

static int failures;

static void fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	failures++;
	printf("FAIL %s: ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void *load(const char *path, long *size)
{
	FILE *f = fopen(path, "rb");
	void *buf;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*size = ftell(f);
	rewind(f);
	buf = malloc(*size > 0 ? *size : 1);
	if (!buf || fread(buf, 1, *size, f) != (size_t)*size) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

/* Makes the tracee skip the syscall it is stopped in: number -1. */
static int skip_syscall(pid_t pid)
{
#if defined(__x86_64__) && defined(__ILP32__)
	/* x32's PTRACE_POKEUSER writes no register below cs: the whole set. */
	struct user_regs_struct regs;
	struct iovec iov = { &regs, sizeof(regs) };

	if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov))
		return -1;
	regs.orig_rax = -1ULL;
	return ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &iov) ? -1 : 0;
#elif defined(__x86_64__)
	return ptrace(PTRACE_POKEUSER, pid, (void *)offsetof(struct user_regs_struct, orig_rax),
		      (void *)-1L) ? -1 : 0;
#elif defined(__i386__)
	return ptrace(PTRACE_POKEUSER, pid, (void *)offsetof(struct user_regs_struct, orig_eax),
		      (void *)-1L) ? -1 : 0;
#elif defined(__aarch64__)
	int nr = -1;
	struct iovec iov = { &nr, sizeof(nr) };

	return ptrace(PTRACE_SETREGSET, pid, (void *)NT_ARM_SYSTEM_CALL, &iov) ? -1 : 0;
#elif defined(__arm__)
	/* PTRACE_SET_SYSCALL (arch/arm/include/uapi/asm/ptrace.h) */
	return ptrace((enum __ptrace_request)23, pid, NULL, (void *)-1L) ? -1 : 0;
#elif defined(__riscv)
	struct user_regs_struct regs;
	struct iovec iov = { &regs, sizeof(regs) };

	if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov))
		return -1;
	regs.a7 = -1UL;
	return ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &iov) ? -1 : 0;
#endif
}

/* Numbers the kernel exempts from seccomp (seccomp_uprobe_exception in
 * kernel/seccomp.c): x86_64's uretprobe (335, Linux 6.11) and uprobe (336,
 * 6.18) never reach a filter, and outside a uprobe trampoline they raise
 * SIGILL. The sweep does not call them. */
static int exempt(long nr)
{
#if defined(__x86_64__) && !defined(__ILP32__)
	return nr == 335 || nr == 336;
#else
	(void)nr;
	return 0;
#endif
}

static int install(const struct sock_fprog *prog)
{
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog);
}

/* What the tracee leaves for the tracer. */
struct shared {
	volatile int install_rc;
	volatile int install_errno;
};

/* The child: two filters, then every number, then exit_group. */
static void tracee(const struct sock_fprog *prog, long base, long count, struct shared *sh)
{
	static struct sock_filter all_traced[] = {
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | ALL_TRACED_DATA),
	};
	struct sock_fprog all = { 1, all_traced };

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(90);
	kill(getpid(), SIGSTOP);
	if (install(&all))
		_exit(91);
	sh->install_rc = install(prog);
	sh->install_errno = errno;
	if (sh->install_rc == 0)
		for (long i = 0; i < count; i++)
			if (!exempt(base + i))
				syscall(base + i, -1L, 0L, 0L, 0L, 0L, 0L);
	syscall(SYS_exit_group, 0);
	_exit(92);
}

/* Seccomp stop of pid: number, arch and data. */
static int seccomp_info(pid_t pid, uint64_t *nr, uint32_t *arch, uint32_t *data)
{
	struct __ptrace_syscall_info info;

	memset(&info, 0, sizeof(info));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) <= 0)
		return -1;
	if (info.op != PTRACE_SYSCALL_INFO_SECCOMP)
		return -1;
	*nr = info.seccomp.nr;
	*arch = info.arch;
	*data = info.seccomp.ret_data;
	return 0;
}

static void verdict_one(const char *dir, const char *name, long base, long count)
{
	char path[512], what[256];
	struct sock_fprog prog;
	struct shared *sh;
	long size, esize, seen = 0, skipped = 0, next = 0, mismatches = 0, first_bad = -1;
	uint32_t arch0 = 0;
	char *exp;
	int status, stage = 0;
	pid_t pid;

	snprintf(what, sizeof(what), "verdict %s", name);
	snprintf(path, sizeof(path), "%s/%s.bpf", dir, name);
	prog.filter = load(path, &size);
	snprintf(path, sizeof(path), "%s/%s." PERS ".exp", dir, name);
	exp = load(path, &esize);
	if (!prog.filter || !exp || size % 8 || esize < count) {
		fail(what, "cannot read the program or its %ld expected verdicts", count);
		return;
	}
	prog.len = size / 8;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		fail(what, "mmap: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0)
		tracee(&prog, base, count, sh);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		fail(what, "the tracee did not start");
		return;
	}
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)(PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL));
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	for (long i = 0; i < count; i++)
		skipped += exempt(base + i);
	/* stage 0: the install of prog (traced by the first filter);
	 * stages 1..count - skipped: the numbers; then exit_group. */
	while (waitpid(pid, &status, 0) == pid && WIFSTOPPED(status)) {
		uint64_t nr;
		uint32_t arch, data;
		int sig = WSTOPSIG(status);

		if (sig != SIGTRAP || (status >> 16) != PTRACE_EVENT_SECCOMP) {
			ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
			continue;
		}
		if (seccomp_info(pid, &nr, &arch, &data)) {
			fail(what, "PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
			kill(pid, SIGKILL);
			break;
		}
		if (stage >= 1 && stage <= count - skipped && sh->install_rc == 0) {
			int traced = data != ALL_TRACED_DATA;
			long i;

			while (exempt(base + next))
				next++;
			i = next++;
			if (i == 0)
				arch0 = arch;
			if ((long)nr != base + i || arch != arch0) {
				fail(what, "stop %ld: number %#llx arch %#x, expected %#lx", i,
				     (unsigned long long)nr, arch, base + i);
				kill(pid, SIGKILL);
				break;
			}
			seen++;
			if (traced != (exp[i] == 'T') || (traced && data != 0)) {
				if (first_bad < 0)
					first_bad = i;
				mismatches++;
			}
			if (skip_syscall(pid)) {
				fail(what, "cannot skip syscall %#lx: %s", base + i, strerror(errno));
				kill(pid, SIGKILL);
				break;
			}
		}
		stage++;
		ptrace(PTRACE_CONT, pid, NULL, NULL);
	}
	if (WIFSTOPPED(status))
		waitpid(pid, &status, 0);
	if (sh->install_rc != 0)
		fail(what, "the kernel refused the %u-instruction program: %s", prog.len,
		     strerror(sh->install_errno));
	else if (seen != count - skipped)
		fail(what, "saw %ld of %ld numbers (wait status %#x)", seen, count - skipped, status);
	else if (mismatches)
		fail(what, "%ld of %ld verdicts differ from the emulator's, first at number %#lx (emulator %c)",
		     mismatches, count, base + first_bad, exp[first_bad]);
	else
		printf("ok verdict %s len %u numbers %ld arch %#x\n", name, prog.len, seen, arch0);
	munmap(sh, sizeof(*sh));
	free(prog.filter);
	free(exp);
}

static int verdict(const char *list, const char *dir)
{
	FILE *f = fopen(list, "r");
	char name[200];
	long base, count;
	int n = 0;

	if (!f) {
		fail("verdict", "%s: %s", list, strerror(errno));
		return 1;
	}
	while (fscanf(f, "%199s %li %li", name, &base, &count) == 3) {
		verdict_one(dir, name, base, count);
		n++;
	}
	fclose(f);
	printf("verdict " PERS ": %d programs, %d failed\n", n, failures);
	return failures != 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cost(int argc, char **argv)
{
	static struct sock_filter floor_insn[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	enum { MAX = 8 };
	struct { const char *label; struct sock_fprog prog; uint64_t *ns; } s[MAX];
	long nr, rounds, batch;
	volatile uint64_t *out;
	int n = 0;

	if (argc < 4)
		return 2;
	nr = strtol(argv[0], NULL, 0);
	rounds = atol(argv[1]);
	batch = atol(argv[2]);
	for (int i = 3; i < argc && n < MAX; i++, n++) {
		char *eq = strchr(argv[i], '=');
		long size;

		if (!eq || rounds < 1 || batch < 1)
			return 2;
		*eq = 0;
		s[n].label = argv[i];
		if (!strcmp(eq + 1, "floor")) {
			s[n].prog.len = 1;
			s[n].prog.filter = floor_insn;
		} else {
			s[n].prog.filter = load(eq + 1, &size);
			if (!s[n].prog.filter) {
				fail("cost", "%s: %s", eq + 1, strerror(errno));
				return 1;
			}
			s[n].prog.len = size / 8;
		}
		s[n].ns = calloc(rounds, sizeof(uint64_t));
	}
	out = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (long r = 0; r < rounds; r++) {
		for (int j = 0; j < n; j++) {
			int k = (j + r) % n, status;
			pid_t pid;

			out[0] = 0;
			pid = fork();
			if (pid == 0) {
				uint64_t t0;

				if (install(&s[k].prog))
					_exit(1);
				syscall(nr, -1L, 0L, 0L);
				t0 = now_ns();
				for (long i = 0; i < batch; i++)
					syscall(nr, -1L, 0L, 0L);
				out[0] = now_ns() - t0;
				_exit(0);
			}
			waitpid(pid, &status, 0);
			if (!out[0]) {
				fail("cost", "%s: the measuring child failed", s[k].label);
				return 1;
			}
			s[k].ns[r] = out[0];
		}
	}
	for (int j = 0; j < n; j++) {
		qsort(s[j].ns, rounds, sizeof(uint64_t), cmp_u64);
		printf("cost %s %.2f %.2f\n", s[j].label, (double)s[j].ns[0] / batch,
		       (double)s[j].ns[rounds / 2] / batch);
	}
	return 0;
}

static int enosys(long traced, long allowed)
{
	long r;

	errno = 0;
	r = syscall(traced, -1L, 0L, 0L);
	if (r != -1 || errno != ENOSYS) {
		fail("enosys", "traced syscall %#lx returned %ld (%s), expected ENOSYS", traced, r,
		     strerror(errno));
		return 1;
	}
	errno = 0;
	r = syscall(allowed, -1L, 0L, 0L);
	if (r == -1 && errno == ENOSYS) {
		fail("enosys", "allowed syscall %#lx returned ENOSYS", allowed);
		return 1;
	}
	printf("ok enosys " PERS " traced %#lx allowed %#lx\n", traced, allowed);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "verdict"))
		return verdict(argv[2], argv[3]);
	if (argc >= 2 && !strcmp(argv[1], "cost"))
		return cost(argc - 2, argv + 2);
	if (argc == 4 && !strcmp(argv[1], "enosys"))
		return enosys(strtol(argv[2], NULL, 0), strtol(argv[3], NULL, 0));
	fprintf(stderr, "usage: kcheck verdict LIST DIR | cost NR ROUNDS BATCH LABEL=FILE|floor... |"
			" enosys TRACED ALLOWED\n");
	return 2;
}
