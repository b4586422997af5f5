/*
 * tfbench: what a seccomp filter costs an allowed syscall.
 *
 *   tfbench [-p PERSONALITY[:NSYSCALLS]]... [--all-but] [--traced-by FILE]
 *           [--program FILE]... [--rounds N] [--batch N] [--cpu N] [--dump]
 *           [SYSCALLS]
 *
 * Times getppid() in long-lived forked children, one per filter: none, the
 * one-instruction "ret ALLOW" (the kernel's floor: no program can cost
 * less), tracefilter's program for the set under each objective, strace
 * 6.1's bit-matching program for the same set (rebuilt here), and any raw
 * struct sock_filter array given with --program (e.g. a dumped strace or
 * libseccomp program). Every round runs one batch in each child, in a
 * rotating order; each figure is the median over rounds, and each ratio the
 * median of the per-round ratios to the floor, so that the VM's drift
 * cancels out.
 *
 * SYSCALLS is a comma-separated list of names or numbers; --traced-by FILE
 * takes the set from a program instead (the numbers it returns
 * SECCOMP_RET_TRACE for). Personalities default to the machine's native
 * one and its compat ones (x86_64, i386, x32 on x86_64); the first must be
 * the native one; ":NSYSCALLS" overrides a table size (strace 6.1's are
 * x86_64:451, i386:546, x32:548). --dump lists the programs instead of
 * timing them. Exit status: 0 success, 1 failure, 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tracefilter.h>

#include "syscall_set.h"

#if defined(__x86_64__) && defined(__ILP32__)
#define NATIVE "x32"
static const char *const default_pers[] = { "x32", "x86_64", "i386" };
#elif defined(__x86_64__)
#define NATIVE "x86_64"
static const char *const default_pers[] = { "x86_64", "i386", "x32" };
#elif defined(__i386__)
#define NATIVE "i386"
static const char *const default_pers[] = { "i386" };
#elif defined(__aarch64__)
#define NATIVE "aarch64"
static const char *const default_pers[] = { "aarch64", "arm" };
#elif defined(__arm__)
#define NATIVE "arm"
static const char *const default_pers[] = { "arm" };
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE "riscv64"
static const char *const default_pers[] = { "riscv64" };
#else
#error "tfbench: no syscall table for this machine"
#endif

#define MAX_VARIANTS 16
#define ACTION(k) ((k) & SECCOMP_RET_ACTION_FULL)

struct variant {
	char name[32];
	struct sock_filter *insns; /* NULL: no filter */
	unsigned short len;
	pid_t pid;
	int cmd, res;	 /* pipes to and from the child */
	double *ns, *ratio; /* per round */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tfbench [-p PERSONALITY[:NSYSCALLS]]... [--all-but] [--traced-by FILE] "
		   "[--program FILE]... [--rounds N] [--batch N] [--cpu N] [--dump] [SYSCALLS]\n"
		   "  PERSONALITY: x86_64 i386 x32 aarch64 arm riscv64\n");
}

#define STMT(c, K) ((struct sock_filter){ (unsigned short)(c), 0, 0, (K) })
#define JUMP(c, K, t, f) ((struct sock_filter){ (unsigned short)(BPF_JMP | (c)), (t), (f), (K) })
#define PH_NEXT 0xff
#define PH_TRACE 0xfe
#define PH_ALLOW 0xfd

static size_t strace_match(struct sock_filter *f, uint32_t bitarray, uint32_t idx)
{
	if (!bitarray) {
		f[0] = JUMP(BPF_JEQ | BPF_K, idx, PH_ALLOW, 0);
		return 1;
	}
	if (bitarray == UINT32_MAX) {
		f[0] = JUMP(BPF_JEQ | BPF_K, idx, PH_TRACE, 0);
		return 1;
	}
	f[0] = JUMP(BPF_JEQ | BPF_K, idx, 0, 2);
	f[1] = STMT(BPF_MISC | BPF_TXA, 0);
	f[2] = JUMP(BPF_JSET | BPF_K, bitarray, PH_TRACE, PH_ALLOW);
	return 3;
}

static void strace_patch(unsigned char *off, unsigned char next, unsigned char trace,
			 unsigned char allow)
{
	if (*off == PH_NEXT)
		*off = next;
	else if (*off == PH_TRACE)
		*off = trace;
	else if (*off == PH_ALLOW)
		*off = allow;
}

/*
 * strace 6.1's binary_match_filter_generator (src/filter_seccomp.c), the
 * program it installs for every large set, over our personalities in
 * strace's order (native first; checked last to first). Returns the length,
 * or 0 when a block needs a jump beyond 255 (strace then gives up on it).
 * `f` has room for 2 * BPF_MAXINSNS instructions.
 */
static size_t strace_bit_program(const struct set_pers *ps, size_t n, struct sock_filter *f)
{
	size_t pos = 0;

	if (n > 1)
		f[pos++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	for (size_t q = n; q-- > 0 && pos <= BPF_MAXINSNS;) {
		const struct set_pers *p = &ps[q];
		uint32_t flag = p->p.nr_flag, bitarray = 0, i;
		size_t start = pos, end;

		if (n > 1)
			f[pos++] = JUMP(BPF_JEQ | BPF_K, p->p.audit_arch, 0, PH_NEXT);
		f[pos++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
		if (flag) {
			f[pos++] = JUMP(BPF_JGE | BPF_K, flag, 2, 0);
			f[pos++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
			f[pos++] = JUMP(BPF_JA, PH_NEXT, 0, 0);
			f[pos++] = STMT(BPF_ALU | BPF_AND | BPF_K, ~flag);
		}
		f[pos++] = STMT(BPF_ALU | BPF_AND | BPF_K, 0x1f);
		f[pos++] = STMT(BPF_MISC | BPF_TAX, 0);
		f[pos++] = STMT(BPF_LD | BPF_IMM, 1);
		f[pos++] = STMT(BPF_ALU | BPF_LSH | BPF_X, 0);
		f[pos++] = STMT(BPF_MISC | BPF_TAX, 0);
		f[pos++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
		if (flag)
			f[pos++] = STMT(BPF_ALU | BPF_AND | BPF_K, ~flag);
		f[pos++] = STMT(BPF_ALU | BPF_RSH | BPF_K, 5);
		for (i = 0; i < p->p.nsyscalls && pos <= BPF_MAXINSNS; i++) {
			if (set_is_traced(p, i))
				bitarray |= 1u << (i % 32);
			if (i % 32 == 31) {
				pos += strace_match(f + pos, bitarray, i / 32);
				bitarray = 0;
			}
		}
		if (i % 32 != 0)
			pos += strace_match(f + pos, bitarray, i / 32);
		end = pos;
		f[pos++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		f[pos++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
		if (pos - start > 255)
			return 0;
		for (size_t k = start; k < end; k++) {
			unsigned char next = (unsigned char)(pos - k - 1);

			if (BPF_CLASS(f[k].code) != BPF_JMP)
				continue;
			strace_patch(&f[k].jt, next, next - 1, next - 2);
			strace_patch(&f[k].jf, next, next - 1, next - 2);
			if (BPF_OP(f[k].code) == BPF_JA)
				f[k].k = next;
		}
	}
	if (n > 1)
		f[pos++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	return pos > BPF_MAXINSNS ? 0 : pos;
}

/*
 * The children must survive their own read() and write() whatever the set,
 * and no tracer is attached: every return that is not ALLOW becomes ALLOW
 * with data 1. The kernel runs such a program exactly like the original
 * (same instructions) and cannot cache those numbers either, since its
 * action cache only caches a plain SECCOMP_RET_ALLOW.
 */
static void neutralise(struct sock_filter *insns, unsigned short len)
{
	for (unsigned short i = 0; i < len; i++)
		if (insns[i].code == (BPF_RET | BPF_K) && ACTION(insns[i].k) != SECCOMP_RET_ALLOW)
			insns[i].k = SECCOMP_RET_ALLOW | 1;
}

static int print_program(const struct variant *v)
{
	struct sock_fprog fp = { .len = v->len, .filter = v->insns };
	size_t len = tracefilter_disassemble(&fp, NULL, 0);
	char *text = malloc(len + 1);

	if (!text) {
		perror("tfbench");
		return -1;
	}
	tracefilter_disassemble(&fp, text, len + 1);
	printf("== %s\n%s", v->name, text);
	free(text);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int write_all(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

static int read_all(int fd, void *buf, size_t len)
{
	return read(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

/* The child: installs its filter, then runs batches on request. */
static void __attribute__((noreturn)) child(int cmd, int res, const struct variant *v)
{
	int32_t err = 0;

	if (v->insns) {
		struct sock_fprog prog = { .len = v->len, .filter = v->insns };
		struct tracefilter_install_report r;

		/* The library's install: seccomp(2) or prctl, NNP when needed. */
		memset(&r, 0, sizeof(r));
		r.struct_size = sizeof(r);
		if (tracefilter_install(&prog, TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS, &r) !=
		    TRACEFILTER_OK)
			err = r.error ? r.error : EINVAL;
	}
	if (write_all(res, &err, sizeof(err)) || err)
		_exit(1);
	for (;;) {
		uint32_t calls;
		uint64_t t0, t1;

		if (read_all(cmd, &calls, sizeof(calls)) || calls == 0)
			_exit(0);
		t0 = now_ns(); /* vDSO: no syscall, no filter */
		for (uint32_t i = 0; i < calls; i++)
			syscall(SYS_getppid);
		t1 = now_ns();
		t1 -= t0;
		if (write_all(res, &t1, sizeof(t1)))
			_exit(1);
	}
}

/* Starts the child of vs[k]; the children of vs[0..k) already run. */
static int start(struct variant *vs, size_t k)
{
	struct variant *v = &vs[k];
	int cmd[2], res[2];
	int32_t err;

	if (pipe2(cmd, O_CLOEXEC) || pipe2(res, O_CLOEXEC)) {
		perror("tfbench: pipe");
		return -1;
	}
	fflush(NULL);
	v->pid = fork();
	if (v->pid < 0) {
		perror("tfbench: fork");
		return -1;
	}
	if (v->pid == 0) {
		/* Only the parent may hold the other ends: EOF must mean exit. */
		for (size_t i = 0; i < k; i++) {
			close(vs[i].cmd);
			close(vs[i].res);
		}
		close(cmd[1]);
		close(res[0]);
		child(cmd[0], res[1], v);
	}
	close(cmd[0]);
	close(res[1]);
	v->cmd = cmd[1];
	v->res = res[0];
	if (read_all(v->res, &err, sizeof(err))) {
		fprintf(stderr, "tfbench: %s: the child died\n", v->name);
		return -1;
	}
	if (err) {
		fprintf(stderr, "tfbench: %s: installing the filter: %s\n", v->name, strerror(err));
		return -1;
	}
	return 0;
}

static void stop(struct variant *v)
{
	if (v->pid <= 0)
		return;
	close(v->cmd); /* EOF: the child exits */
	close(v->res);
	waitpid(v->pid, NULL, 0);
	v->pid = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median, min and max of n values (sorts them). */
static void summarise(double *x, size_t n, double *med, double *min, double *max)
{
	qsort(x, n, sizeof(*x), cmp_double);
	*med = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
	*min = x[0];
	*max = x[n - 1];
}

static int parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return *s < '0' || *s > '9' || *end || errno || *out < min || *out > max ? -1 : 0;
}

static int add_variant(struct variant *vs, size_t *n, const char *name,
		       struct sock_filter *insns, unsigned short len)
{
	if (*n == MAX_VARIANTS) {
		fprintf(stderr, "tfbench: at most %d filters\n", MAX_VARIANTS);
		free(insns);
		return -1;
	}
	memset(&vs[*n], 0, sizeof(vs[*n]));
	snprintf(vs[*n].name, sizeof(vs[*n].name), "%s", name);
	vs[*n].insns = insns;
	vs[*n].len = len;
	(*n)++;
	return 0;
}

/* Our program under one objective, copied so that every variant owns its array. */
static int add_ours(struct variant *vs, size_t *n, const struct set_pers *ps, size_t np,
		    uint32_t objective, const char *name)
{
	struct tracefilter_personality views[SET_MAX_PERS];
	struct tracefilter_options opts;
	struct tracefilter_program *prog;
	const struct sock_fprog *fp;
	struct sock_filter *insns;
	int rc;

	for (size_t i = 0; i < np; i++)
		views[i] = ps[i].p;
	tracefilter_options_init(&opts);
	opts.objective = objective;
	if ((rc = tracefilter_compile(views, np, &opts, &prog)) != TRACEFILTER_OK) {
		fprintf(stderr, "tfbench: %s: %s\n", name, tracefilter_strerror(rc));
		return -1;
	}
	fp = tracefilter_program_fprog(prog);
	insns = malloc(fp->len * sizeof(*insns));
	if (!insns) {
		tracefilter_program_free(prog);
		perror("tfbench");
		return -1;
	}
	memcpy(insns, fp->filter, fp->len * sizeof(*insns));
	rc = add_variant(vs, n, name, insns, fp->len);
	tracefilter_program_free(prog);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	const char *programs[MAX_VARIANTS], *traced_by = NULL, *set = NULL;
	struct variant vs[MAX_VARIANTS];
	struct set_pers ps[SET_MAX_PERS];
	unsigned long rounds = 100, batch = 20000, cpu = ULONG_MAX;
	size_t np = 0, nprog = 0, nv = 0;
	uint32_t getppid_nr;
	int all_but = 0, dump = 0, rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-p") && more) {
			if (set_add_personality(ps, &np, argv[++i]))
				return 2;
		} else if (!strcmp(a, "--dump")) {
			dump = 1;
		} else if (!strcmp(a, "--all-but")) {
			all_but = 1;
		} else if (!strcmp(a, "--traced-by") && more) {
			traced_by = argv[++i];
		} else if (!strcmp(a, "--program") && more) {
			if (nprog == MAX_VARIANTS - 5) {
				fprintf(stderr, "tfbench: too many --program\n");
				return 2;
			}
			programs[nprog++] = argv[++i];
		} else if (!strcmp(a, "--rounds") && more) {
			if (parse_number(argv[++i], 1, 1000000, &rounds))
				goto bad_number;
		} else if (!strcmp(a, "--batch") && more) {
			if (parse_number(argv[++i], 1, UINT32_MAX, &batch))
				goto bad_number;
		} else if (!strcmp(a, "--cpu") && more) {
			if (parse_number(argv[++i], 0, CPU_SETSIZE - 1, &cpu))
				goto bad_number;
		} else if (a[0] == '-' || set) {
			usage(stderr);
			return 2;
		} else {
			set = a;
		}
		continue;
bad_number:
		fprintf(stderr, "tfbench: %s: bad number '%s'\n", a, argv[i]);
		return 2;
	}
	if (!set && !traced_by) {
		usage(stderr);
		return 2;
	}
	if (np == 0) {
		for (size_t i = 0; i < sizeof(default_pers) / sizeof(default_pers[0]); i++)
			if (set_add_personality(ps, &np, default_pers[i]))
				return 1;
	} else if (strcmp(ps[0].short_name, NATIVE)) {
		fprintf(stderr, "tfbench: the first personality must be this machine's, %s\n", NATIVE);
		return 2;
	}
	if (cpu != ULONG_MAX) {
		cpu_set_t cs;

		CPU_ZERO(&cs);
		CPU_SET(cpu, &cs);
		if (sched_setaffinity(0, sizeof(cs), &cs)) {
			int err = errno;

			fprintf(stderr, "tfbench: --cpu %lu: %s; this process may run on CPU", cpu,
				err == EINVAL ? "no such CPU here" : strerror(err));
			if (!sched_getaffinity(0, sizeof(cs), &cs))
				for (int c = 0; c < CPU_SETSIZE; c++)
					if (CPU_ISSET(c, &cs))
						fprintf(stderr, " %d", c);
			fputc('\n', stderr);
			return 2;
		}
	}

	if ((set && set_mark_list(ps, np, set)) || (traced_by && set_mark_traced_by(ps, np, traced_by)))
		return 2;
	if (all_but)
		set_invert(ps, np);
	if (tracefilter_syscall_number(ps[0].p.audit_arch, ps[0].p.nr_flag, "getppid",
				       &getppid_nr) != TRACEFILTER_OK ||
	    getppid_nr != SYS_getppid) {
		fprintf(stderr, "tfbench: no getppid in the %s table\n", ps[0].name);
		return 1;
	}
	if (set_is_traced(&ps[0], getppid_nr)) {
		fprintf(stderr, "tfbench: getppid is in the set: it must be an allowed syscall\n");
		return 2;
	}

	/* The filters, each in an array of its own. */
	struct sock_filter *floor = malloc(sizeof(allow)), *bit;

	if (!floor || add_variant(vs, &nv, "none", NULL, 0) ||
	    add_variant(vs, &nv, "floor", floor, 1))
		goto out;
	floor[0] = allow;
	if (add_ours(vs, &nv, ps, np, TRACEFILTER_OBJECTIVE_SPEED, "ours-speed") ||
	    add_ours(vs, &nv, ps, np, TRACEFILTER_OBJECTIVE_SIZE, "ours-size"))
		goto out;
	bit = malloc(2 * BPF_MAXINSNS * sizeof(*bit));
	if (!bit)
		goto out;
	size_t bitlen = strace_bit_program(ps, np, bit);
	if (bitlen == 0) {
		printf("strace-bit: no program (a jump beyond 255, strace would not use it)\n");
		free(bit);
	} else if (add_variant(vs, &nv, "strace-bit", bit, (unsigned short)bitlen)) {
		goto out;
	}
	for (size_t i = 0; i < nprog; i++) {
		const char *base = strrchr(programs[i], '/');
		unsigned short len;
		struct sock_filter *insns = set_read_program(programs[i], &len);

		if (!insns) {
			rc = 2;
			goto out;
		}
		if (add_variant(vs, &nv, base ? base + 1 : programs[i], insns, len))
			goto out;
	}

	/* Figures from the emulator for getppid, taken before neutralise(). */
	uint32_t exec[MAX_VARIANTS], cache[MAX_VARIANTS];

	for (size_t v = 0; v < nv; v++) {
		struct sock_fprog fp = { .len = vs[v].len, .filter = vs[v].insns };
		int st;

		exec[v] = cache[v] = 0;
		if (!vs[v].insns)
			continue;
		st = tracefilter_evaluate(&fp, ps[0].p.audit_arch, getppid_nr, NULL, &exec[v]);
		if (st == TRACEFILTER_OK)
			st = tracefilter_cacheable(&fp, ps[0].p.audit_arch, getppid_nr, &cache[v]);
		if (st != TRACEFILTER_OK) {
			fprintf(stderr, "tfbench: %s: %s\n", vs[v].name, tracefilter_strerror(st));
			rc = 2;
			goto out;
		}
		if (dump && print_program(&vs[v]))
			goto out;
		neutralise(vs[v].insns, vs[v].len);
	}
	if (dump) {
		rc = 0;
		goto out;
	}

	for (size_t v = 0; v < nv; v++) {
		vs[v].ns = calloc(rounds, sizeof(double));
		vs[v].ratio = calloc(rounds, sizeof(double));
		if (!vs[v].ns || !vs[v].ratio) {
			perror("tfbench");
			goto out;
		}
		if (start(vs, v))
			goto out;
	}

	/* One warm-up round, then the measured ones. */
	for (unsigned long r = 0; r <= rounds; r++) {
		for (size_t k = 0; k < nv; k++) {
			struct variant *v = &vs[(k + r) % nv];
			uint32_t calls = (uint32_t)batch;
			uint64_t ns;

			if (write_all(v->cmd, &calls, sizeof(calls)) ||
			    read_all(v->res, &ns, sizeof(ns))) {
				fprintf(stderr, "tfbench: %s: the child died\n", v->name);
				goto out;
			}
			if (r > 0)
				v->ns[r - 1] = (double)ns / (double)batch;
		}
		for (size_t v = 0; r > 0 && v < nv; v++)
			vs[v].ratio[r - 1] = vs[v].ns[r - 1] / vs[1].ns[r - 1];
	}

	printf("getppid, %lu rounds of %lu calls per filter, personalities", rounds, batch);
	for (size_t i = 0; i < np; i++)
		printf("%s%s", i ? "," : " ", ps[i].name);
	printf("\n%-16s %5s %5s %5s %10s %17s %9s %15s\n", "filter", "len", "exec", "cache",
	       "ns/call", "min-max", "vs floor", "min-max");
	for (size_t v = 0; v < nv; v++) {
		double med, min, max, rmed, rmin, rmax;

		summarise(vs[v].ns, rounds, &med, &min, &max);
		summarise(vs[v].ratio, rounds, &rmed, &rmin, &rmax);
		printf("%-16s %5u %5u %5s %10.1f %8.1f-%-8.1f %9.3f %7.3f-%-7.3f\n", vs[v].name,
		       vs[v].len, exec[v], vs[v].insns ? (cache[v] ? "yes" : "no") : "-", med, min,
		       max, rmed, rmin, rmax);
	}
	rc = 0;
out:
	for (size_t v = 0; v < nv; v++) {
		stop(&vs[v]);
		free(vs[v].insns);
		free(vs[v].ns);
		free(vs[v].ratio);
	}
	set_free(ps, np);
	return rc;
}
