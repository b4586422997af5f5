/*
 * tfdump: compile a syscall set with tracefilter and show the program.
 *
 *   tfdump [-p PERSONALITY]... [--objective speed|size] [--strategy NAME]
 *          [--unknown-nr ACTION] [--unknown-arch ACTION]
 *          [--all-but] [--traced-by FILE] [SYSCALLS]
 *   tfdump [--objective ...] [--strategy ...] [--unknown-nr ...] --map FILE
 *
 * SYSCALLS is a comma-separated list of names or numbers, each traced, or
 * NAME=ACTION items that give a syscall its own return value (tfdump --help
 * explains every option; with them the set is compiled as action maps by
 * tracefilter_compile_actions); --traced-by adds
 * the numbers a raw struct sock_filter program in FILE returns
 * SECCOMP_RET_TRACE for (e.g. strace's own program for a set). Personalities
 * default to x86_64, i386 and x32, the first being the native one.
 * Prints the strategy, the figures of tracefilter_program_stats() and the
 * disassembly. Exit status: 0 success, 1 failure, 2 usage error.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tracefilter.h>

#include "syscall_set.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tfdump [-p PERSONALITY]... [--objective speed|size] [--strategy NAME]\n"
		"              [--unknown-nr ACTION] [--unknown-arch ACTION]\n"
		"              [--all-but] [--traced-by FILE] [SYSCALLS]\n"
		"       tfdump [--objective ...] [--strategy ...] [--unknown-nr ACTION] --map FILE\n"
		"              [-o PROG]\n"
		"\n"
		"SYSCALLS   names or numbers, comma-separated (openat,execve or 257,59); each is\n"
		"           traced in every personality that has it; no classes (%%file) or !\n"
		"           NAME=ACTION gives NAME that return value instead (the others stay\n"
		"           trace or allow), e.g. execve=trace:1,openat=trace,kill=errno:1;\n"
		"           ACTION: allow, log, kill (the process), kill_thread, user_notif,\n"
		"           trap[:N], trace[:N], errno:N (N: the data bits, at most 0xffff)\n"
		"--all-but  trace every number but SYSCALLS (strace's !SYSCALLS; NAME=ACTION items\n"
		"           apply after it)\n"
		"--traced-by FILE\n"
		"           also trace every number the program in FILE returns SECCOMP_RET_TRACE\n"
		"           for: a raw struct sock_filter array as the kernel takes it, e.g.\n"
		"           strace's own program for a set (tools/strace-program.sh)\n"
		"--unknown-nr ACTION, --unknown-arch ACTION\n"
		"           the value for numbers past a personality's table, and for other\n"
		"           arches (default trace for both)\n"
		"--map FILE action maps from FILE: lines \"NAME NR VALUE [SYSCALL]\" (NAME as for -p,\n"
		"           NR without the x32 bit, VALUE the full return value in hex) and\n"
		"           \"unknown * VALUE\" for other arches; unlisted numbers up to each\n"
		"           personality's largest NR are allow (integrations/proot/extract.sh\n"
		"           writes PRoot's maps in this form)\n"
		"-o PROG    also write the program to PROG as a raw struct sock_filter array\n"
		"-p NAME[:N] x86_64, i386, x32, aarch64, arm, riscv64 (the first is the native\n"
		"           one; default x86_64 -p i386 -p x32); :N sets the table size\n"
		"--objective speed (default: fewest instructions executed per allowed syscall,\n"
		"           fully kernel-cacheable) or size (fewest instructions)\n"
		"--strategy auto (default: the objective picks), tree (least expected cost),\n"
		"           search (balanced), linear (chain), bits (32-bit masks, small, not\n"
		"           cacheable), jset (single-bit tests, cacheable); bits and jset need a\n"
		"           block of 32 numbers with several boundaries, which small sets lack\n");
}

static int print_program(const struct tracefilter_program *prog, const struct set_pers *pers)
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
	/* The kernel's action cache covers the personalities without an
	 * nr_flag (x86_64 and i386); it never caches an x32 number. */
	printf("kernel-cacheable (every allowed syscall of the personalities without an nr_flag): "
	       "%s\n",
	       st.all_cacheable ? "yes" : "no");
	for (size_t i = 0; i < st.count; i++) {
		const struct tracefilter_personality_stats *ps = &st.personalities[i];
		uint32_t traced = 0, other = 0;

		if (pers[i].actions) {
			/* an action map: traced = any TRACE value, other = neither
			 * that nor exactly ALLOW (ERRNO, KILL, LOG, ALLOW|data...) */
			for (uint32_t nr = 0; nr < pers[i].p.nsyscalls; nr++)
				traced += (pers[i].actions[nr] & SECCOMP_RET_ACTION_FULL) ==
					  SECCOMP_RET_TRACE;
			other = pers[i].p.nsyscalls - traced - ps->allowed;
		} else {
			traced = set_count_traced(&pers[i]);
		}
		printf("personality %s (%#010x/%#x): %u syscalls, %u traced, %u allowed, ",
		       pers[i].name, ps->audit_arch, ps->nr_flag, pers[i].p.nsyscalls, traced,
		       ps->allowed);
		if (pers[i].actions)
			printf("%u other, ", other);
		printf("mean executed %.2f, max %u, cacheable %s\n", ps->mean_executed,
		       ps->max_executed, ps->nr_flag ? "never (nr_flag)" : ps->cacheable ? "yes" : "no");
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
	struct set_pers ps[SET_MAX_PERS];
	struct tracefilter_personality views[SET_MAX_PERS];
	struct tracefilter_action_map maps[SET_MAX_PERS];
	struct tracefilter_options opts;
	struct tracefilter_program *prog = NULL;
	const char *set = NULL, *traced_by = NULL, *map = NULL, *output = NULL;
	uint32_t unknown_arch;
	int has_unknown = 0;
	size_t n = 0;
	int all_but = 0, rc = 1, st;

	tracefilter_options_init(&opts);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-p") && i + 1 < argc) {
			if (set_add_personality(ps, &n, argv[++i]))
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
		} else if ((!strcmp(a, "--unknown-nr") || !strcmp(a, "--unknown-arch")) &&
			   i + 1 < argc) {
			if (set_parse_action(argv[++i], !strcmp(a, "--unknown-nr")
								? &opts.unknown_nr_action
								: &opts.unknown_arch_action))
				return 2;
		} else if (!strcmp(a, "-o") && i + 1 < argc) {
			output = argv[++i];
		} else if (!strcmp(a, "--map") && i + 1 < argc) {
			map = argv[++i];
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
	if (map && (set || traced_by || all_but || n)) {
		fprintf(stderr, "tfdump: --map takes no -p, --all-but, --traced-by or SYSCALLS\n");
		return 2;
	}
	if (map) {
		if (set_read_map(ps, &n, map, &unknown_arch, &has_unknown)) {
			set_free(ps, n);
			return 2;
		}
		if (has_unknown)
			opts.unknown_arch_action = unknown_arch;
		goto compile;
	}
	if (!set && !traced_by) {
		usage(stderr);
		return 2;
	}
	if (n == 0) {
		static const char *const defaults[] = { "x86_64", "i386", "x32" };

		for (size_t i = 0; i < 3; i++)
			if (set_add_personality(ps, &n, defaults[i]))
				return 1;
	}

	if ((traced_by && set_mark_traced_by(ps, n, traced_by)) ||
	    (set && set_mark_list(ps, n, set))) {
		rc = 2;
		goto out;
	}
	if (all_but)
		set_invert(ps, n);
	if (set_has_actions(set) && set_assign_list(ps, n, set)) {
		rc = 2;
		goto out;
	}
compile:
	if (ps[0].actions) {
		for (size_t i = 0; i < n; i++)
			maps[i] = (struct tracefilter_action_map){ ps[i].p.audit_arch, ps[i].p.nr_flag,
								   ps[i].actions, ps[i].p.nsyscalls };
		st = tracefilter_compile_actions(maps, n, &opts, &prog);
	} else {
		for (size_t i = 0; i < n; i++)
			views[i] = ps[i].p;
		st = tracefilter_compile(views, n, &opts, &prog);
	}
	if (st != TRACEFILTER_OK) {
		fprintf(stderr, "tfdump: %s\n", tracefilter_strerror(st));
		if (st == TRACEFILTER_E_STRATEGY &&
		    (opts.strategy == TRACEFILTER_STRATEGY_BITS ||
		     opts.strategy == TRACEFILTER_STRATEGY_JSET))
			fprintf(stderr,
				"tfdump: %s works on aligned blocks of 32 numbers and needs one "
				"with several boundaries between traced and allowed (bits: 3 or "
				"more); this set has none: leave --strategy out\n",
				tracefilter_strategy_name(opts.strategy));
		goto out;
	}
	rc = print_program(prog, ps) ? 1 : 0;
	if (!rc && output) {
		const struct sock_fprog *f = tracefilter_program_fprog(prog);
		FILE *out = fopen(output, "wb");

		if (!out || fwrite(f->filter, sizeof(*f->filter), f->len, out) != f->len ||
		    fclose(out)) {
			fprintf(stderr, "tfdump: %s: %s\n", output, strerror(errno));
			rc = 1;
		}
	}
out:
	tracefilter_program_free(prog);
	set_free(ps, n);
	return rc;
}
