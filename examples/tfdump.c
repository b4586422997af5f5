/*
 * tfdump: compile a syscall set with tracefilter and show the program.
 *
 *   tfdump [-p PERSONALITY]... [--objective speed|size] [--strategy NAME]
 *          [--all-but] [--traced-by FILE] [SYSCALLS]
 *
 * SYSCALLS is a comma-separated list of names or numbers; --traced-by adds
 * the numbers a raw struct sock_filter program in FILE returns
 * SECCOMP_RET_TRACE for (e.g. strace's own program for a set). Personalities
 * default to x86_64, i386 and x32, the first being the native one.
 * Prints the strategy, the figures of tracefilter_program_stats() and the
 * disassembly. Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tracefilter.h>

#define MAX_PERS 8

struct pers {
	const char *name;
	struct tracefilter_personality p;
	uint8_t *bits;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tfdump [-p x86_64|i386|x32|aarch64|arm|riscv64]... "
		   "[--objective speed|size] [--strategy NAME] [--all-but] SYSCALLS\n");
}

static int add_personality(struct pers *ps, size_t *n, const char *name)
{
	struct pers *p = &ps[*n];

	if (*n == MAX_PERS) {
		fprintf(stderr, "tfdump: at most %d personalities\n", MAX_PERS);
		return -1;
	}
	if (tracefilter_personality_lookup(name, &p->p.audit_arch, &p->p.nr_flag,
					   &p->p.nsyscalls) != TRACEFILTER_OK) {
		fprintf(stderr, "tfdump: unknown personality '%s'\n", name);
		return -1;
	}
	p->bits = calloc((p->p.nsyscalls + 7) / 8, 1);
	if (!p->bits) {
		perror("tfdump");
		return -1;
	}
	p->name = name;
	p->p.traced = p->bits;
	(*n)++;
	return 0;
}

/* Marks one name or number in every personality that knows it. */
static int mark(struct pers *ps, size_t n, const char *item)
{
	char *end;
	unsigned long nr;
	int known = 0;

	errno = 0;
	nr = strtoul(item, &end, 10);
	for (size_t i = 0; i < n; i++) {
		const struct tracefilter_personality *p = &ps[i].p;
		uint32_t k;

		if (*item && !*end && !errno)
			k = nr < p->nsyscalls ? (uint32_t)nr : UINT32_MAX;
		else if (tracefilter_syscall_number(p->audit_arch, p->nr_flag, item, &k) != TRACEFILTER_OK)
			continue;
		if (k >= p->nsyscalls)
			continue;
		ps[i].bits[k / 8] |= 1u << (k % 8);
		known = 1;
	}
	if (!known)
		fprintf(stderr, "tfdump: unknown syscall '%s'\n", item);
	return known ? 0 : -1;
}

static uint32_t count_traced(const struct pers *p)
{
	uint32_t n = 0;

	for (uint32_t nr = 0; nr < p->p.nsyscalls; nr++)
		n += (p->bits[nr / 8] >> (nr % 8)) & 1;
	return n;
}

/* Reads a raw struct sock_filter array (as the kernel takes it) and marks
 * every number it returns SECCOMP_RET_TRACE for. */
static int mark_traced_by(struct pers *ps, size_t n, const char *path)
{
	struct sock_filter insns[BPF_MAXINSNS + 1];
	struct sock_fprog prog = { .filter = insns };
	FILE *f = fopen(path, "rb");
	size_t len;

	if (!f) {
		fprintf(stderr, "tfdump: %s: %s\n", path, strerror(errno));
		return -1;
	}
	len = fread(insns, sizeof(insns[0]), BPF_MAXINSNS + 1, f);
	fclose(f);
	prog.len = (unsigned short)len;
	for (size_t i = 0; i < n; i++) {
		for (uint32_t nr = 0; nr < ps[i].p.nsyscalls; nr++) {
			uint32_t action;
			int rc = tracefilter_evaluate(&prog, ps[i].p.audit_arch,
						      nr | ps[i].p.nr_flag, &action, NULL);

			if (rc != TRACEFILTER_OK) {
				fprintf(stderr, "tfdump: %s: %s\n", path, tracefilter_strerror(rc));
				return -1;
			}
			if ((action & 0xffff0000u) == 0x7ff00000u) /* SECCOMP_RET_TRACE */
				ps[i].bits[nr / 8] |= 1u << (nr % 8);
		}
	}
	return 0;
}

static int print_program(const struct tracefilter_program *prog, const struct pers *pers)
{
	const struct sock_fprog *fprog = tracefilter_program_fprog(prog);
	struct tracefilter_stats st = { .struct_size = sizeof(st) };
	size_t len;
	char *text;
	int rc;

	if ((rc = tracefilter_program_stats(prog, &st)) != TRACEFILTER_OK) {
		fprintf(stderr, "tfdump: %s\n", tracefilter_strerror(rc));
		return -1;
	}
	printf("strategy: %s\n", tracefilter_strategy_name(st.strategy));
	printf("length: %u\n", st.length);
	printf("all allowed native/compat syscalls kernel-cacheable: %s\n",
	       st.all_cacheable ? "yes" : "no");
	for (size_t i = 0; i < st.count; i++) {
		const struct tracefilter_personality_stats *ps = &st.personalities[i];

		printf("personality %s (%#010x/%#x): %u syscalls, %u traced, %u allowed, "
		       "mean executed %.2f, max %u, cacheable %s\n",
		       pers[i].name, ps->audit_arch, ps->nr_flag, pers[i].p.nsyscalls,
		       count_traced(&pers[i]), ps->allowed, ps->mean_executed, ps->max_executed,
		       ps->cacheable ? "yes" : "no");
	}

	len = tracefilter_disassemble(fprog, NULL, 0);
	text = malloc(len + 1);
	if (!text) {
		perror("tfdump");
		return -1;
	}
	tracefilter_disassemble(fprog, text, len + 1);
	fputs(text, stdout);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	struct pers ps[MAX_PERS];
	struct tracefilter_personality views[MAX_PERS];
	struct tracefilter_options opts;
	struct tracefilter_program *prog = NULL;
	const char *set = NULL, *traced_by = NULL;
	size_t n = 0;
	int all_but = 0, rc = 1, st;

	tracefilter_options_init(&opts);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-p") && i + 1 < argc) {
			if (add_personality(ps, &n, argv[++i]))
				return 2;
		} else if (!strcmp(a, "--objective") && i + 1 < argc) {
			a = argv[++i];
			if (!strcmp(a, "speed"))
				opts.objective = TRACEFILTER_OBJECTIVE_SPEED;
			else if (!strcmp(a, "size"))
				opts.objective = TRACEFILTER_OBJECTIVE_SIZE;
			else {
				fprintf(stderr, "tfdump: unknown objective '%s'\n", a);
				return 2;
			}
		} else if (!strcmp(a, "--strategy") && i + 1 < argc) {
			if (tracefilter_strategy_lookup(argv[++i], &opts.strategy) != TRACEFILTER_OK) {
				fprintf(stderr, "tfdump: unknown strategy '%s'\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(a, "--traced-by") && i + 1 < argc) {
			traced_by = argv[++i];
		} else if (!strcmp(a, "--all-but")) {
			all_but = 1;
		} else if (a[0] == '-' || set) {
			usage(stderr);
			return 2;
		} else {
			set = a;
		}
	}
	if (!set && !traced_by) {
		usage(stderr);
		return 2;
	}
	if (n == 0) {
		static const char *const defaults[] = { "x86_64", "i386", "x32" };

		for (size_t i = 0; i < 3; i++)
			if (add_personality(ps, &n, defaults[i]))
				return 1;
	}

	if (traced_by && mark_traced_by(ps, n, traced_by)) {
		rc = 2;
		goto out;
	}
	char *list = strdup(set ? set : "");
	if (!list) {
		perror("tfdump");
		goto out;
	}
	for (char *save = NULL, *item = strtok_r(list, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		if (mark(ps, n, item)) {
			free(list);
			rc = 2;
			goto out;
		}
	}
	free(list);

	for (size_t i = 0; i < n; i++) {
		if (all_but)
			for (uint32_t b = 0; b < (ps[i].p.nsyscalls + 7) / 8; b++)
				ps[i].bits[b] = (uint8_t)~ps[i].bits[b];
		views[i] = ps[i].p;
	}
	st = tracefilter_compile(views, n, &opts, &prog);
	if (st != TRACEFILTER_OK) {
		fprintf(stderr, "tfdump: %s\n", tracefilter_strerror(st));
		goto out;
	}
	rc = print_program(prog, ps) ? 1 : 0;
out:
	tracefilter_program_free(prog);
	for (size_t i = 0; i < n; i++)
		free(ps[i].bits);
	return rc;
}
