/*
 * guest: the measuring and checking program of the performance report.
 * It runs on the build machine (bench/run.sh) and, statically linked, inside
 * the QEMU guests of bench/qemu.sh.
 *
 *   guest cost [--nr N] [--rounds R] [--batch B] LABEL=SPEC...
 *       SPEC is "none", "floor" (one `ret ALLOW`) or a file holding a raw
 *       struct sock_filter array. Each round runs, for every SPEC in a
 *       rotating order, a fresh child that installs the filter and times B
 *       calls of syscall N (default getppid; called with -1, 0, 0 so that
 *       write(2) is a cheap EBADF). Prints per SPEC
 *       "cost LABEL NS_PER_CALL RATIO MIN_RATIO MAX_RATIO MIN_NS MIN_NS_RATIO":
 *       the median per-call time, the median, min and max of the per-round
 *       ratios to "floor" (so one SPEC must be floor), the least per-call time
 *       and its ratio to the floor's least. Under QEMU with -icount shift=0
 *       one ns is one guest instruction: the figures are instruction counts,
 *       and the least is the batch that the fewest timer interrupts hit.
 *
 *   guest checks [--trace-nr N] PROGRAM
 *       Kernel-side facts, raw (filter mode, RET_TRACE availability, the
 *       known install flags) and as the library sees them (tracefilter_probe,
 *       tracefilter_probe_install with each install flag), then
 *       tracefilter_install of PROGRAM with its report, and that a syscall
 *       PROGRAM traces returns ENOSYS when no tracer is attached (N, default
 *       openat, must be traced by PROGRAM). Prints "check NAME VALUE" lines.
 *
 *   guest exec PROGRAM CMD [ARG...]
 *       tracefilter_install of PROGRAM (SPEC_ALLOW, no_new_privs allowed) in a
 *       child that then executes CMD, as a tracer does for its tracee (CMD
 *       may be of another personality: the filter survives execve). Prints
 *       "check exec_install ..." and "check exec_exit STATUS".
 *
 * A measuring child may run under a filter that traces every syscall but
 * the measured one (`!write`): with no tracer those fail with ENOSYS, so it
 * makes no other syscall once the filter is on. It reads the TSC, reports
 * through shared memory, and if even exit_group is refused it ends itself
 * with a fault.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <tracefilter.h>

#define MAX_SPECS 32

struct spec {
	const char *label;
	struct sock_fprog prog; /* len 0: no filter */
	double *per_call;	/* ns per call, one per round */
	double *ratio;
};

/* What a measuring child leaves for the parent. */
struct shared {
	volatile uint64_t ticks;
	volatile long first;	/* the first call's return value */
	volatile int first_errno;
	volatile int done;
};

static struct sock_filter floor_insn = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

static void die(const char *what)
{
	fprintf(stderr, "guest: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int load_file(const char *path, struct sock_fprog *prog)
{
	FILE *f = fopen(path, "rb");
	struct sock_filter *buf;
	long size;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	if (size <= 0 || size % sizeof(struct sock_filter) || size / 8 > BPF_MAXINSNS) {
		fclose(f);
		errno = EINVAL;
		return -1;
	}
	buf = malloc(size);
	if (!buf || fread(buf, 1, size, f) != (size_t)size) {
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);
	prog->len = size / sizeof(struct sock_filter);
	prog->filter = buf;
	return 0;
}

static int install(const struct sock_fprog *prog)
{
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog) == 0)
		return 0;
	if (errno != EACCES)
		return -1;
	/* Without CAP_SYS_ADMIN the kernel wants no_new_privs first. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The TSC on x86; elsewhere the monotonic clock in ns (under QEMU with
 * -icount both count guest instructions). */
static uint64_t clock_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
#endif
}

/* TSC ticks per ns, against the monotonic clock over ~50 ms. */
static double tsc_per_ns(void)
{
	double t0 = now_s(), t1;
	uint64_t c0 = clock_ticks(), c1;

	do
		t1 = now_s();
	while (t1 - t0 < 0.05);
	c1 = clock_ticks();
	return (c1 - c0) / ((t1 - t0) * 1e9);
}

/* Ticks for `batch` calls of `nr` under `prog`, in a fresh child. */
static int measure(const struct spec *s, struct shared *sh, long nr, long batch, uint64_t *ticks)
{
	int status;
	pid_t pid;

	memset((void *)sh, 0, sizeof(*sh));
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		uint64_t t0;
		long r;

		if (s->prog.len && install(&s->prog)) {
			fprintf(stderr, "guest: install %s: %s\n", s->label, strerror(errno));
			_exit(1);
		}
		errno = 0;
		r = syscall(nr, -1L, 0L, 0L);
		sh->first = r;
		sh->first_errno = r < 0 ? errno : 0;
		t0 = clock_ticks();
		for (long i = 0; i < batch; i++)
			syscall(nr, -1L, 0L, 0L);
		sh->ticks = clock_ticks() - t0;
		sh->done = 1;
		syscall(SYS_exit_group, 0);
		*(volatile int *)0 = 0;	/* exit_group traced: end by a fault */
		for (;;)
			;
	}
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (!sh->done) {
		fprintf(stderr, "guest: %s: the child did not finish\n", s->label);
		return -1;
	}
	if (sh->first < 0 && sh->first_errno == ENOSYS) {
		fprintf(stderr, "guest: %s does not allow syscall %ld\n", s->label, nr);
		return -1;
	}
	*ticks = sh->ticks;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int cost(int argc, char **argv)
{
	struct spec specs[MAX_SPECS];
	long nr = SYS_getppid, rounds = 200, batch = 10000;
	int n = 0, floor_i = -1;
	struct shared *sh;
	double tpn, floor_min;

	for (int i = 0; i < argc; i++) {
		char *eq;

		if (!strcmp(argv[i], "--nr") && i + 1 < argc)
			nr = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atol(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			batch = atol(argv[++i]);
		else if ((eq = strchr(argv[i], '=')) && n < MAX_SPECS) {
			struct spec *s = &specs[n];

			*eq = 0;
			memset(s, 0, sizeof(*s));
			s->label = argv[i];
			if (!strcmp(eq + 1, "floor")) {
				s->prog.len = 1;
				s->prog.filter = &floor_insn;
				floor_i = n;
			} else if (strcmp(eq + 1, "none") && load_file(eq + 1, &s->prog)) {
				die(eq + 1);
			}
			s->per_call = calloc(rounds > 0 ? rounds : 1, sizeof(double));
			s->ratio = calloc(rounds > 0 ? rounds : 1, sizeof(double));
			if (!s->per_call || !s->ratio)
				die("calloc");
			n++;
		} else {
			fprintf(stderr, "guest: bad cost argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (floor_i < 0 || rounds < 1 || batch < 1) {
		fprintf(stderr, "guest: cost needs a floor spec, rounds and batch >= 1\n");
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	tpn = tsc_per_ns();
	for (long r = 0; r < rounds; r++) {
		/* Rotate the order so that no spec always runs right after another. */
		for (int j = 0; j < n; j++) {
			struct spec *s = &specs[(j + r) % n];
			uint64_t ticks;

			if (measure(s, sh, nr, batch, &ticks))
				return 1;
			s->per_call[r] = ticks / tpn / batch;
		}
		for (int j = 0; j < n; j++)
			specs[j].ratio[r] = specs[j].per_call[r] / specs[floor_i].per_call[r];
	}
	for (int i = 0; i < n; i++)
		median(specs[i].per_call, rounds);
	floor_min = specs[floor_i].per_call[0];
	for (int i = 0; i < n; i++) {
		struct spec *s = &specs[i];
		double med_ns = median(s->per_call, rounds);
		double med_ratio = median(s->ratio, rounds);

		/* median() sorted both arrays: first and last are min and max. */
		printf("cost %s %.2f %.4f %.4f %.4f %.2f %.4f\n", s->label, med_ns, med_ratio, s->ratio[0],
		       s->ratio[rounds - 1], s->per_call[0], s->per_call[0] / floor_min);
	}
	return 0;
}

/* Result of a syscall as "0" or the errno name the report needs. */
static const char *errname(int rc, int err)
{
	static char buf[32];

	if (rc >= 0)
		return "0";
	switch (err) {
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EACCES: return "EACCES";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	}
	snprintf(buf, sizeof(buf), "errno%d", err);
	return buf;
}

static int checks(int argc, char **argv)
{
	static const struct { const char *name; unsigned flag; } flags[] = {
		{ "TSYNC", 1 }, { "LOG", 2 }, { "SPEC_ALLOW", 4 }, { "NEW_LISTENER", 8 },
		{ "TSYNC_ESRCH", 16 },
		/* Only valid with NEW_LISTENER. */
		{ "WAIT_KILLABLE_RECV", 32 | 8 },
	};
	struct sock_fprog prog;
	struct utsname u;
	long trace_nr = SYS_openat;
	const char *path = NULL;
	uint32_t action = SECCOMP_RET_TRACE;
	int rc, status;
	pid_t pid;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--trace-nr") && i + 1 < argc)
			trace_nr = atol(argv[++i]);
		else
			path = argv[i];
	}
	if (!path || load_file(path, &prog)) {
		fprintf(stderr, "guest: checks needs a program file\n");
		return 2;
	}
	uname(&u);
	printf("check kernel %s\n", u.release);
	rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL);
	printf("check filter_mode_probe %s\n", errname(rc, errno));
	rc = syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action);
	printf("check action_avail_trace %s\n", errname(rc, errno));
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags[i].flag, NULL);
		printf("check flag_%s %s\n", flags[i].name, errname(rc, errno));
	}

	{
		struct tracefilter_kernel k;

		memset(&k, 0, sizeof(k));
		k.struct_size = sizeof(k);
		rc = tracefilter_probe(&k);
		printf("check probe_status %d\n", rc);
		printf("check probe_filter_mode %u\n", k.filter_mode);
		printf("check probe_seccomp_syscall %u\n", k.seccomp_syscall);
		printf("check probe_ret_trace %u\n", k.ret_trace);
		printf("check probe_filter_flags %#x\n", k.filter_flags);
		printf("check probe_ptrace %u\n", k.ptrace);
		printf("check probe_stop_order %s\n",
		       k.stop_order == TRACEFILTER_ORDER_ENTRY_FIRST ? "entry_first"
		       : k.stop_order == TRACEFILTER_ORDER_SECCOMP_FIRST ? "seccomp_first" : "unknown");
		printf("check probe_error %d\n", k.error);
	}
	{
		static const struct { const char *name; uint32_t flags; } modes[] = {
			{ "none", 0 }, { "spec_allow", TRACEFILTER_INSTALL_SPEC_ALLOW },
		};

		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			struct tracefilter_install_report r;

			tracefilter_install_report_init(&r);
			rc = tracefilter_probe_install(&prog, modes[i].flags, &r);
			printf("check probe_install_%s %d installed=%u mechanism=%u flags=%#x nnp=%u step=%u errno=%d\n",
			       modes[i].name, rc, r.installed, r.mechanism, r.flags, r.no_new_privs,
			       r.failed_step, r.error);
		}
	}

	/* RET_TRACE with no tracer: the syscall is skipped and fails with ENOSYS. */
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		long r;
		int e;

		struct tracefilter_install_report rep;

		tracefilter_install_report_init(&rep);
		rc = tracefilter_install(&prog, TRACEFILTER_INSTALL_SPEC_ALLOW, &rep);
		printf("check install %d installed=%u mechanism=%u flags=%#x nnp=%u step=%u errno=%d\n",
		       rc, rep.installed, rep.mechanism, rep.flags, rep.no_new_privs, rep.failed_step, rep.error);
		if (rc != TRACEFILTER_OK) {
			fflush(stdout);
			_exit(1);
		}
		r = syscall(SYS_getppid);
		printf("check allowed_getppid %s\n", r > 0 ? "ok" : errname(-1, errno));
		errno = 0;
		r = syscall(trace_nr, AT_FDCWD, "/", O_RDONLY, 0);
		e = errno;
		printf("check traced_without_tracer %s\n", errname(r < 0 ? -1 : 0, e));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	printf("check child_exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
	return 0;
}

static int exec_under(int argc, char **argv)
{
	struct tracefilter_install_report r;
	struct sock_fprog prog;
	int rc, status;
	pid_t pid;

	if (argc < 2 || load_file(argv[0], &prog)) {
		fprintf(stderr, "guest: exec needs a program file and a command\n");
		return 2;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		tracefilter_install_report_init(&r);
		rc = tracefilter_install(&prog, TRACEFILTER_INSTALL_SPEC_ALLOW |
					 TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS, &r);
		printf("check exec_install %d installed=%u mechanism=%u flags=%#x nnp=%u step=%u errno=%d\n",
		       rc, r.installed, r.mechanism, r.flags, r.no_new_privs, r.failed_step, r.error);
		fflush(stdout);
		execv(argv[1], argv + 1);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	printf("check exec_exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "cost"))
		return cost(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "checks"))
		return checks(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "exec"))
		return exec_under(argc - 2, argv + 2);
	fprintf(stderr, "usage: guest cost [--nr N] [--rounds R] [--batch B] LABEL=none|floor|FILE...\n"
			"       guest checks [--trace-nr N] PROGRAM\n"
			"       guest exec PROGRAM CMD [ARG...]\n");
	return 2;
}
