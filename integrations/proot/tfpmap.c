/*
 * tfpmap: the action map a seccomp program implements, and its figures,
 * over the numbers of a PRoot action map (pfilter map), with tracefilter's
 * emulator (tracefilter_evaluate, tracefilter_cacheable: the kernel's
 * semantics, data bits included).
 *
 *   tfpmap map PROG < MAP       MAP with each VALUE replaced by what PROG
 *                               returns for that number; the "unknown *"
 *                               line holds what PROG returns for every
 *                               number 0..1023 of every architecture absent
 *                               from MAP (and of arch 0), if that is one value
 *   tfpmap figures PROG < MAP   length; per personality, over the numbers
 *                               of MAP that name a syscall: how many PROG
 *                               traces and allows, the mean (and max) cBPF
 *                               instructions executed per allowed and per
 *                               traced syscall, and how many allowed ones
 *                               the kernel's action cache proves (x32 is
 *                               never cached by the kernel: "-")
 *
 * MAP lines: "NAME NR VALUE SYSCALL" (NAME x86_64, x32, i386, aarch64 or
 * arm; NR without the x32 bit; SYSCALL "-" for a number of no syscall).
 * PROG: a raw struct sock_filter array. Exit status: 0 success, 1 a program
 * the kernel would refuse, 2 usage or input error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <tracefilter.h>

#define MAX_LINES 8192
#define X32_BIT 0x40000000u

static const struct {
	const char *name;
	uint32_t arch, flag;
} pers[] = {
	{ "x86_64", AUDIT_ARCH_X86_64, 0 }, { "x32", AUDIT_ARCH_X86_64, X32_BIT },
	{ "i386", AUDIT_ARCH_I386, 0 },	    { "aarch64", AUDIT_ARCH_AARCH64, 0 },
	{ "arm", AUDIT_ARCH_ARM, 0 },
};
#define NPERS (sizeof(pers) / sizeof(pers[0]))

static struct sock_filter insns[BPF_MAXINSNS];
static struct sock_fprog prog = { .filter = insns };

struct line {
	int p; /* index in pers */
	uint32_t nr, value;
	char syscall[64];
};
static struct line lines[MAX_LINES];
static size_t nlines;
static int present[NPERS];

static void die(const char *what)
{
	fprintf(stderr, "tfpmap: %s\n", what);
	exit(2);
}

static void read_prog(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		die("cannot open the program");
	n = fread(insns, 1, sizeof(insns), f);
	if (fgetc(f) != EOF || !n || n % sizeof(insns[0]))
		die("no program of whole instructions, at most BPF_MAXINSNS");
	fclose(f);
	prog.len = n / sizeof(insns[0]);
}

static void read_map(void)
{
	char buf[256], name[32], nr[32], syscall[64];
	unsigned long value;

	while (fgets(buf, sizeof(buf), stdin)) {
		size_t p;

		if (sscanf(buf, "%31s %31s %lx %63s", name, nr, &value, syscall) != 4)
			die("bad map line (NAME NR VALUE SYSCALL)");
		if (!strcmp(name, "unknown"))
			continue;
		for (p = 0; p < NPERS && strcmp(pers[p].name, name); p++)
			;
		if (p == NPERS || nlines == MAX_LINES)
			die("unknown personality in the map, or too many lines");
		lines[nlines] = (struct line){ .p = p, .nr = strtoul(nr, NULL, 10) };
		snprintf(lines[nlines].syscall, sizeof(lines[nlines].syscall), "%s", syscall);
		present[p] = 1;
		nlines++;
	}
}

static uint32_t eval(uint32_t arch, uint32_t nr, uint32_t *executed)
{
	uint32_t action;
	int rc = tracefilter_evaluate(&prog, arch, nr, &action, executed);

	if (rc != TRACEFILTER_OK) {
		fprintf(stderr, "tfpmap: %s\n", tracefilter_strerror(rc));
		exit(1);
	}
	return action;
}

static int foreign(uint32_t arch)
{
	for (size_t p = 0; p < NPERS; p++)
		if (present[p] && pers[p].arch == arch)
			return 0;
	return 1;
}

static void print_map(void)
{
	uint32_t unknown = 0;
	int first = 1, uniform = 1;

	for (size_t i = 0; i < nlines; i++) {
		const struct line *l = &lines[i];

		printf("%s %u 0x%08x %s\n", pers[l->p].name, l->nr,
		       eval(pers[l->p].arch, l->nr | pers[l->p].flag, NULL), l->syscall);
	}
	for (size_t p = 0; p <= NPERS; p++) {
		uint32_t arch = p < NPERS ? pers[p].arch : 0;

		if (p < NPERS && (pers[p].flag || !foreign(arch)))
			continue;
		for (uint32_t nr = 0; nr < 1024; nr++) {
			uint32_t v = eval(arch, nr, NULL);

			uniform &= first || v == unknown;
			unknown = v;
			first = 0;
		}
	}
	if (uniform)
		printf("unknown * 0x%08x -\n", unknown);
	else
		printf("unknown * varies -\n");
}

static void figures(void)
{
	printf("length %u\n", prog.len);
	for (size_t p = 0; p < NPERS; p++) {
		unsigned long n[2] = { 0 }, sum[2] = { 0 }, max[2] = { 0 }, cached = 0;

		if (!present[p])
			continue;
		for (size_t i = 0; i < nlines; i++) {
			const struct line *l = &lines[i];
			uint32_t nr = l->nr | pers[p].flag, executed, c = 0;
			int allowed;

			if (l->p != (int)p || !strcmp(l->syscall, "-"))
				continue;
			allowed = eval(pers[p].arch, nr, &executed) == SECCOMP_RET_ALLOW;
			n[allowed]++;
			sum[allowed] += executed;
			if (executed > max[allowed])
				max[allowed] = executed;
			if (allowed && !pers[p].flag) {
				if (tracefilter_cacheable(&prog, pers[p].arch, nr, &c) != TRACEFILTER_OK)
					exit(1);
				cached += c;
			}
		}
		printf("%s: traced %lu, allowed %lu, mean executed per allowed %.2f (max %lu), "
		       "per traced %.2f (max %lu), cacheable ",
		       pers[p].name, n[0], n[1], n[1] ? (double)sum[1] / n[1] : 0.0, max[1],
		       n[0] ? (double)sum[0] / n[0] : 0.0, max[0]);
		if (pers[p].flag)
			printf("- (never cached)\n");
		else
			printf("%s (%lu of %lu)\n", cached == n[1] ? "yes" : "no", cached, n[1]);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "map") && strcmp(argv[1], "figures"))) {
		fprintf(stderr, "usage: tfpmap map|figures PROG < MAP\n");
		return 2;
	}
	read_prog(argv[2]);
	read_map();
	if (!strcmp(argv[1], "map"))
		print_map();
	else
		figures();
	return 0;
}
