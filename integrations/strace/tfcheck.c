/*
 * tfcheck: figures and checks on the seccomp program of `strace -d
 * --seccomp-bpf`, given as PROG: the raw struct sock_filter array that
 * tools/strace-program.sh makes of strace's debug output.
 *
 *   tfcheck figures PROG [N64 N32]
 *                      length, mean and max instructions executed per
 *                      allowed x86_64 (i386) syscall, whether every allowed
 *                      one is kernel-cacheable; over the syscalls of
 *                      tracefilter's tables, numbered below N64 (N32) if
 *                      given (strace's own table sizes, for a like-for-like
 *                      comparison: strace traces numbers it does not know)
 *   tfcheck recompile PROG < strace-debug-output
 *                      compiles the bitmaps that patched strace printed
 *                      ("tracefilter: personality ...") with
 *                      tracefilter_compile and compares the result with the
 *                      dumped program, instruction by instruction
 *   tfcheck names      prints the x86_64 syscall names, one a line
 *
 * Works on any program strace dumps (stock or patched): syscalls are run
 * through tracefilter_evaluate / tracefilter_cacheable, the kernel's own
 * semantics. Exit status: 0 success, 1 check failed, 2 usage or input error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/seccomp.h>
#include <tracefilter.h>

#define MAX_PERS 8

static struct sock_filter insns[BPF_MAXINSNS];
static unsigned int ninsns;

struct pers {
	struct tracefilter_personality p;
	uint8_t *bits;
};
static struct pers pers[MAX_PERS];
static size_t npers;

/* "0-3,59,322" or "none" */
static int parse_traced(const char *s, struct pers *p)
{
	if (!strncmp(s, "none", 4))
		return 0;
	while (*s && *s != '\n') {
		char *end;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;

		if (end == s)
			return -1;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (hi >= p->p.nsyscalls || lo > hi)
			return -1;
		for (unsigned long i = lo; i <= hi; i++)
			p->bits[i / 8] |= 1u << (i % 8);
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static int parse_personality(const char *s)
{
	unsigned int idx, arch, flag, n;
	int off = 0;
	struct pers *p;

	if (sscanf(s, "tracefilter: personality %u: arch %i, nr flag %i, %u syscalls, traced %n",
		   &idx, &arch, &flag, &n, &off) != 4 || !off)
		return 1; /* another "personality" line (figures): not ours */
	if (idx != npers || npers == MAX_PERS)
		return -1;
	p = &pers[npers++];
	p->bits = calloc(n / 8 + 1, 1);
	if (!p->bits)
		return -1;
	p->p = (struct tracefilter_personality) {
		.audit_arch = arch, .nr_flag = flag, .traced = p->bits, .nsyscalls = n,
	};
	return parse_traced(s + off, p);
}

/* The raw program: whole instructions, 1 to BPF_MAXINSNS of them. */
static int read_prog(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	int extra;

	if (!f) {
		perror(path);
		return -1;
	}
	n = fread(insns, 1, sizeof(insns), f);
	extra = fgetc(f) != EOF;
	fclose(f);
	if (extra || !n || n % sizeof(insns[0])) {
		fprintf(stderr, "tfcheck: %s: no program of whole instructions, at most %u\n",
			path, BPF_MAXINSNS);
		return -1;
	}
	ninsns = n / sizeof(insns[0]);
	return 0;
}

/* "tracefilter: CLONE_UNTRACED guard on" in strace's debug output. */
static int guard_on;

/* The "tracefilter: personality" lines of strace's debug output on stdin. */
static int read_personalities(void)
{
	char line[1 << 16];

	while (fgets(line, sizeof(line), stdin)) {
		/* strace prefixes its messages with "argv0: " */
		char *s = strstr(line, ": ");

		if (s && !strncmp(s + 2, "tracefilter: CLONE_UNTRACED guard on", 36))
			guard_on = 1;
		if (s && !strncmp(s + 2, "tracefilter: personality ", 25) &&
		    parse_personality(s + 2) < 0) {
			fprintf(stderr, "tfcheck: cannot parse: %s", s + 2);
			return -1;
		}
	}
	return 0;
}

/*
 * Whether the program loads a syscall argument: only tracefilter's
 * CLONE_UNTRACED guard does (strace's own programs read nr and arch only).
 */
static int guarded(void)
{
	for (unsigned int i = 0; i < ninsns; i++)
		if (insns[i].code == (BPF_LD | BPF_W | BPF_ABS) && insns[i].k >= 16)
			return 1;
	return 0;
}

/*
 * Over the syscalls of a personality's table that the program allows. A
 * guarded program stops clone on its flags: clone is not counted, as
 * clone3, which it always stops.
 */
static int walk(const struct sock_fprog *prog, const char *name, uint32_t below,
		unsigned int *allowed, double *mean, unsigned int *max, int *cacheable)
{
	uint32_t arch, flag, n;
	unsigned long sum = 0;
	int rc;

	if (tracefilter_personality_lookup(name, &arch, &flag, &n) != TRACEFILTER_OK)
		return -1;
	if (below && below < n)
		n = below;
	*allowed = 0;
	*max = 0;
	*cacheable = 1;
	for (uint32_t nr = 0; nr < n; nr++) {
		uint32_t action, executed, cached;

		const char *sysname = tracefilter_syscall_name(arch, flag, nr);

		if (!sysname || (guarded() && !strcmp(sysname, "clone")))
			continue;
		rc = tracefilter_evaluate(prog, arch, nr | flag, &action, &executed);
		if (rc == TRACEFILTER_OK)
			rc = tracefilter_cacheable(prog, arch, nr | flag, &cached);
		if (rc != TRACEFILTER_OK) {
			fprintf(stderr, "tfcheck: %s\n", tracefilter_strerror(rc));
			return -1;
		}
		if ((action & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW)
			continue;
		++*allowed;
		sum += executed;
		if (executed > *max)
			*max = executed;
		if (!cached)
			*cacheable = 0;
	}
	*mean = *allowed ? (double)sum / *allowed : 0;
	return 0;
}

static int figures(uint32_t below, uint32_t below32)
{
	struct sock_fprog prog = { .len = (unsigned short)ninsns, .filter = insns };
	unsigned int allowed, max, allowed32, max32;
	double mean, mean32;
	int cacheable, cacheable32;

	if (walk(&prog, "x86_64", below, &allowed, &mean, &max, &cacheable) ||
	    walk(&prog, "i386", below32, &allowed32, &mean32, &max32, &cacheable32))
		return 2;
	printf("length %u\n", ninsns);
	printf("x86_64: %u allowed, mean executed %.2f, max %u, cacheable %s\n",
	       allowed, mean, max, cacheable ? "yes" : "no");
	printf("i386: %u allowed, mean executed %.2f, max %u, cacheable %s\n",
	       allowed32, mean32, max32, cacheable32 ? "yes" : "no");
	return 0;
}

static int recompile(void)
{
	struct tracefilter_personality views[MAX_PERS];
	struct tracefilter_program *prog;
	const struct sock_fprog *f;
	int rc;

	if (!npers) {
		fprintf(stderr, "tfcheck: no \"tracefilter: personality\" lines in the input\n");
		return 2;
	}
	for (size_t i = 0; i < npers; i++)
		views[i] = pers[i].p;
	struct tracefilter_options opts;

	tracefilter_options_init(&opts);
	/* Guarded programs load an argument unless clone is traced anyway. */
	if (guard_on || guarded())
		opts.flags |= TRACEFILTER_COMPILE_GUARD_UNTRACED;
	rc = tracefilter_compile(views, npers, &opts, &prog);
	if (rc != TRACEFILTER_OK) {
		fprintf(stderr, "tfcheck: tracefilter_compile: %s\n", tracefilter_strerror(rc));
		return 1;
	}
	f = tracefilter_program_fprog(prog);
	printf("dumped %u instructions, recompiled %u%s\n", ninsns, f->len,
	       opts.flags ? " with the CLONE_UNTRACED guard" : "");
	rc = f->len == ninsns && !memcmp(f->filter, insns, ninsns * sizeof(insns[0])) ? 0 : 1;
	printf("%s\n", rc ? "programs differ" : "identical");
	tracefilter_program_free(prog);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "names")) {
		uint32_t arch, flag, n;

		if (tracefilter_personality_lookup("x86_64", &arch, &flag, &n) != TRACEFILTER_OK)
			return 2;
		for (uint32_t nr = 0; nr < n; nr++) {
			const char *name = tracefilter_syscall_name(arch, flag, nr);

			if (name)
				puts(name);
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "recompile"))
		return read_prog(argv[2]) || read_personalities() ? 2 : recompile();
	if ((argc == 3 || argc == 5) && !strcmp(argv[1], "figures"))
		return read_prog(argv[2]) ? 2 : figures(argc == 5 ? (uint32_t)strtoul(argv[3], NULL, 0) : 0,
							argc == 5 ? (uint32_t)strtoul(argv[4], NULL, 0) : 0);
	fprintf(stderr, "usage: tfcheck figures PROG [N64 N32] | tfcheck recompile PROG < strace-debug-output"
			" | tfcheck names\n");
	return 2;
}
