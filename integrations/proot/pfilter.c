/*
 * pfilter: PRoot's own seccomp program and action map, for one of the
 * architectures PRoot runs on, from PRoot's own generator.
 *
 * Compiled by extract.sh as one translation unit with PRoot's
 * src/syscall/seccomp.c and src/syscall/sysnum.c (included below, from the
 * PRoot tree given with -I), with -DARCH_X86_64, -DARCH_X86, -DARCH_ARM_EABI
 * or -DARCH_ARM64 picking what PRoot's arch.h would pick on that host:
 * the handled architectures (SECCOMP_ARCHS), the sysnum tables, the ABIs.
 * Nothing of PRoot's is copied: its generator runs as it is, and only
 * prctl(2) is replaced, to catch the program instead of installing it.
 *
 * With -DPFILTER_TRACEFILTER and the tree of PRoot patched by
 * 0001-seccomp-tracefilter.patch, it is the patched generator instead
 * (src/syscall/tfilter.c, linked with the library), and
 * tracefilter_install() is what is replaced.
 *
 *   pfilter program FILE < LISTS   the struct sock_filter array PRoot's
 *                                  enable_syscall_filtering() builds, raw
 *   pfilter map < LISTS            the action map the lists ask for, from
 *                                  PRoot's sysnum tables through its
 *                                  detranslate_sysnum(): "NAME NR VALUE SYSCALL"
 *                                  for every number of each table plus 64
 *   pfilter domain                 "NAME AUDIT_ARCH NR_FLAG COUNT" per
 *                                  personality: the numbers the map covers
 *
 * LISTS: the extensions' syscall lists, as plists prints them for a PRoot
 * command line ("extension NAME" then "SYSCALL FLAGS" lines), in PRoot's
 * order; empty for PRoot without extensions. PRoot's own list is always
 * added, as enable_syscall_filtering() does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PRoot's generator calls prctl() twice: NO_NEW_PRIVS, then the filter. */
#define prctl pfilter_prctl
#include "syscall/seccomp.c"
#include "syscall/sysnum.c"
#undef prctl
#ifdef PFILTER_TRACEFILTER
#define tracefilter_install pfilter_install
#include "syscall/tfilter.c"
#undef tracefilter_install
#endif

#include "extension/extension.h"

/* sysnum.c's get_sysnum()/set_sysnum() need these; pfilter calls neither. */
word_t peek_reg(const Tracee *t UNUSED, RegVersion v UNUSED, Reg r UNUSED)
{
	abort();
}
void poke_reg(Tracee *t UNUSED, Reg r UNUSED, word_t v UNUSED)
{
	abort();
}

static struct sock_fprog caught;
static int caught_count;

int pfilter_prctl(int option, ...)
{
	va_list ap;

	va_start(ap, option);
	if (option == PR_SET_SECCOMP) {
		unsigned long mode = va_arg(ap, unsigned long);
		const struct sock_fprog *prog = va_arg(ap, const struct sock_fprog *);

		if (mode == SECCOMP_MODE_FILTER && prog) {
			caught.len = prog->len;
			caught.filter = malloc(prog->len * sizeof(*prog->filter));
			if (!caught.filter)
				abort();
			memcpy(caught.filter, prog->filter, prog->len * sizeof(*prog->filter));
			caught_count++;
		}
	}
	va_end(ap);
	return 0;
}

#ifdef PFILTER_TRACEFILTER
int pfilter_install(const struct sock_fprog *prog, uint32_t flags UNUSED,
		    struct tracefilter_install_report *report UNUSED)
{
	pfilter_prctl(PR_SET_SECCOMP, (unsigned long)SECCOMP_MODE_FILTER, prog);
	return TRACEFILTER_OK;
}
#endif

#define MAX_EXTENSIONS 16
#define MAX_LISTED 512

static FilteredSysnum lists[MAX_EXTENSIONS][MAX_LISTED + 1];
static size_t nlists;

static Sysnum sysnum_of(const char *name)
{
	for (int s = 1; s < PR_NB_SYSNUM; s++)
		if (!strcmp(stringify_sysnum(s), name))
			return s;
	return PR_void;
}

static void die(const char *what)
{
	fprintf(stderr, "pfilter: %s\n", what);
	exit(2);
}

/* "extension NAME" starts a list; "SYSCALL FLAGS" adds to it. */
static void read_lists(void)
{
	char line[256], name[128];
	unsigned long flags;
	size_t n = 0;

	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!strncmp(line, "extension ", 10)) {
			if (nlists == MAX_EXTENSIONS)
				die("too many extensions");
			nlists++;
			n = 0;
			continue;
		}
		if (sscanf(line, "%127s %lu", name, &flags) != 2 || nlists == 0 || n == MAX_LISTED)
			die("bad list line (expected 'extension NAME' then 'SYSCALL FLAGS')");
		lists[nlists - 1][n].value = sysnum_of(name);
		lists[nlists - 1][n].flags = flags;
		if (lists[nlists - 1][n].value == PR_void)
			die("unknown syscall name in the lists");
		lists[nlists - 1][++n].value = PR_void;
	}
}

/* A tracee as PRoot's CLI leaves it: the extensions in list order. */
static void run_generator(void)
{
	static Tracee tracee;
	static Extension ext[MAX_EXTENSIONS];
	static Extensions head;

	tracee.ctx = talloc_new(NULL);
	LIST_INIT(&head);
	for (size_t i = nlists; i-- > 0;) {
		ext[i].filtered_sysnums = lists[i];
		LIST_INSERT_HEAD(&head, &ext[i], link);
	}
	tracee.extensions = nlists ? &head : NULL;
	if (enable_syscall_filtering(&tracee) < 0 || caught_count != 1)
		die("PRoot's generator failed");
}

static const char *arch_name(unsigned int arch, word_t offset)
{
	switch (arch) {
	case AUDIT_ARCH_X86_64: return offset ? "x32" : "x86_64";
	case AUDIT_ARCH_I386: return "i386";
	case AUDIT_ARCH_AARCH64: return "aarch64";
	case AUDIT_ARCH_ARM: return "arm";
	default: return "unknown";
	}
}

/* The flags PRoot's lists ask for a syscall: OR of every list naming it. */
static int wanted(Sysnum s, word_t *flags)
{
	int found = 0;

	*flags = 0;
	for (size_t k = 0; proot_sysnums[k].value != PR_void; k++)
		if (proot_sysnums[k].value == s)
			found = 1, *flags |= proot_sysnums[k].flags;
	for (size_t i = 0; i < nlists; i++)
		for (size_t k = 0; lists[i][k].value != PR_void; k++)
			if (lists[i][k].value == s)
				found = 1, *flags |= lists[i][k].flags;
	return found;
}

static void print_map(int domain_only)
{
	SeccompArch archs[] = SECCOMP_ARCHS;

	for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++) {
		for (size_t j = 0; j < archs[i].nb_abis; j++) {
			Sysnums t;

			get_sysnums(archs[i].abis[j], &t);
			if (domain_only) {
				printf("%s 0x%08x 0x%08lx %lu\n", arch_name(archs[i].value, t.offset),
				       archs[i].value, t.offset, t.length + 64);
				continue;
			}
			for (word_t nr = 0; nr < t.length + 64; nr++) {
				Sysnum s = nr < t.length ? t.table[nr] : PR_void;
				word_t flags;
				uint32_t value = SECCOMP_RET_ALLOW;

				/* The number PRoot's detranslate_sysnum() gives
				 * for this syscall must be this one. */
				if (s != PR_void && wanted(s, &flags) &&
				    detranslate_sysnum(archs[i].abis[j], s) == nr + t.offset)
					value = SECCOMP_RET_TRACE | flags;
				printf("%s %lu 0x%08x %s\n", arch_name(archs[i].value, t.offset), nr, value,
				       s != PR_void ? stringify_sysnum(s) : "-");
			}
		}
	}
	if (!domain_only)
		printf("unknown * 0x%08x -\n", SECCOMP_RET_KILL);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "program")) {
		FILE *f;

		read_lists();
		run_generator();
		f = fopen(argv[2], "wb");
		if (!f || fwrite(caught.filter, sizeof(*caught.filter), caught.len, f) != caught.len ||
		    fclose(f))
			die("cannot write the program");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "map")) {
		read_lists();
		print_map(0);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "domain")) {
		print_map(1);
		return 0;
	}
	fprintf(stderr, "usage: pfilter program FILE < LISTS | pfilter map < LISTS | pfilter domain\n");
	return 2;
}
