/*
 * plists: what a PRoot command line asks its seccomp program for, from
 * PRoot itself.
 *
 *   plists PROGRAM [PROOT OPTIONS...]
 *
 * Linked by extract.sh with every object of a PRoot build (x86_64 host),
 * its main() renamed proot_main and launch_process() wrapped
 * (-Wl,--wrap=launch_process,--wrap=prctl). PRoot parses the options as it
 * always does and sets up its extensions; where it would fork the first
 * tracee, plists prints each extension's syscall list in the order
 * enable_syscall_filtering() merges them ("extension N" then "SYSCALL
 * FLAGS" lines: the input of pfilter), then runs enable_syscall_filtering()
 * itself, catches the program at prctl(PR_SET_SECCOMP) and writes it raw to
 * PROGRAM. Nothing is forked, traced or installed.
 *
 * Built with -DPLISTS_TRACEFILTER from the objects of PRoot patched by
 * 0001-seccomp-tracefilter.patch (and --wrap=tracefilter_install), it
 * catches the program there instead: the library installs it with the
 * raw seccomp(2) syscall, not prctl.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/queue.h>

#include "extension/extension.h"
#include "syscall/seccomp.h"
#include "syscall/sysnum.h"
#include "tracee/tracee.h"

#ifdef PLISTS_TRACEFILTER
#include <tracefilter.h>
#endif

int proot_main(int argc, char *const argv[]);
int __real_launch_process(Tracee *tracee, char *const argv[]);

static const char *output;
static int caught;

int __wrap_prctl(int option, ...)
{
	va_list ap;

	va_start(ap, option);
	if (option == PR_SET_SECCOMP) {
		unsigned long mode = va_arg(ap, unsigned long);
		const struct sock_fprog *prog = va_arg(ap, const struct sock_fprog *);
		FILE *f = fopen(output, "wb");

		if (mode != SECCOMP_MODE_FILTER || !prog || !f ||
		    fwrite(prog->filter, sizeof(*prog->filter), prog->len, f) != prog->len || fclose(f)) {
			fprintf(stderr, "plists: cannot write %s\n", output);
			exit(2);
		}
		caught++;
	}
	va_end(ap);
	return 0;
}

#ifdef PLISTS_TRACEFILTER
int __wrap_tracefilter_install(const struct sock_fprog *prog, uint32_t flags UNUSED,
			       struct tracefilter_install_report *report UNUSED)
{
	__wrap_prctl(PR_SET_SECCOMP, (unsigned long)SECCOMP_MODE_FILTER, prog);
	return TRACEFILTER_OK;
}
#endif

int __wrap_launch_process(Tracee *tracee, char *const argv[] UNUSED)
{
	Extension *extension;
	int n = 0;

	if (tracee->extensions != NULL) {
		LIST_FOREACH(extension, tracee->extensions, link) {
			const FilteredSysnum *s = extension->filtered_sysnums;

			if (s == NULL)
				continue;
			printf("extension %d\n", ++n);
			for (; s->value != PR_void; s++)
				printf("%s %lu\n", stringify_sysnum(s->value), (unsigned long)s->flags);
		}
	}
	fflush(stdout);
	if (enable_syscall_filtering(tracee) < 0 || caught != 1) {
		fprintf(stderr, "plists: PRoot's enable_syscall_filtering failed\n");
		exit(2);
	}
	exit(0);
}

int main(int argc, char *argv[])
{
	char **args;

	if (argc < 2) {
		fprintf(stderr, "usage: plists PROGRAM [PROOT OPTIONS...]\n");
		return 2;
	}
	output = argv[1];
	args = calloc(argc + 2, sizeof(*args));
	if (!args)
		return 2;
	args[0] = "proot";
	for (int i = 2; i < argc; i++)
		args[i - 1] = argv[i];
	args[argc - 1] = "/bin/true";
	return proot_main(argc, args);
}
