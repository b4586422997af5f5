/*
 * peers: the programs the performance report compares, as raw files.
 *
 *   peers build DIR STRACE_FILE [END_X86_64 END_I386 END_X32]
 *       Derives the traced bitmaps of x86_64, i386 and x32 from strace's
 *       program (tracefilter_evaluate: traced means it returns RET_TRACE),
 *       so that every tool gets exactly the same syscalls, and writes
 *       DIR/ours.bpf (default options), DIR/ours-size.bpf (objective size),
 *       DIR/libseccomp.bpf (libseccomp's default) and DIR/libseccomp-tree.bpf
 *       (SCMP_FLTATR_CTL_OPTIMIZE=2). Copies nothing of strace's.
 *       END_*: where strace's own tables end (without the x32 bit). Numbers
 *       past them are no syscall strace knows: its linear programs trace
 *       them, its bit-matching ones allow them, so they belong to no set
 *       and are left out of the bitmaps (each tool then applies its own
 *       rule for numbers it does not know).
 *   peers stats END_X86_64 REFERENCE FILE...
 *       Per program: "prog FILE len L mean M max X cacheable yes|no allowed A"
 *       with the library's emulator (the uncached path: the filter runs),
 *       over the named x86_64 syscalls below END_X86_64 that REFERENCE allows.
 *   peers names END_X86_64 REFERENCE
 *       The x86_64 syscall names REFERENCE traces below END_X86_64, as a
 *       comma-separated list (a set for tracers that take names only).
 *   peers exec NR FILE...
 *       "FILE N": the cBPF instructions each program executes for x86_64
 *       syscall NR (the measured syscall's path).
 *   peers pick REFERENCE
 *       The x86_64 number of the syscall to time: getppid (110), or write (1)
 *       when REFERENCE traces getppid.
 *
 * strace's program comes as a raw file from tools/strace-program.sh.
 * Every program written is checked against the bitmaps with the emulator:
 * each named syscall of each personality must get the same decision.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tracefilter.h>

#define NPERS 3

static const char *pers_names[NPERS] = { "x86_64", "i386", "x32" };
static const uint32_t scmp_arches[NPERS] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32 };

struct pers {
	struct tracefilter_personality p;
	uint8_t *bits;
};

static void fail(const char *what, int rc)
{
	fprintf(stderr, "peers: %s: %s\n", what, rc ? strerror(rc < 0 ? -rc : rc) : "failed");
	exit(1);
}

static int read_prog(const char *path, struct sock_fprog *prog)
{
	FILE *f = fopen(path, "rb");
	static struct sock_filter buf[BPF_MAXINSNS + 1];
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, sizeof(buf[0]), BPF_MAXINSNS + 1, f);
	fclose(f);
	if (n == 0 || n > BPF_MAXINSNS)
		return -1;
	prog->len = n;
	prog->filter = malloc(n * sizeof(buf[0]));
	memcpy(prog->filter, buf, n * sizeof(buf[0]));
	return 0;
}

static void write_prog(const char *path, const struct sock_filter *f, size_t len)
{
	FILE *out = fopen(path, "wb");

	if (!out || fwrite(f, sizeof(*f), len, out) != len || fclose(out))
		fail(path, errno);
}

static uint32_t arch_nr(const struct tracefilter_personality *p, uint32_t nr)
{
	return nr | p->nr_flag;
}

static void personalities(struct pers *ps)
{
	for (int i = 0; i < NPERS; i++) {
		struct tracefilter_personality *p = &ps[i].p;

		if (tracefilter_personality_lookup(pers_names[i], &p->audit_arch, &p->nr_flag, &p->nsyscalls))
			fail("personality lookup", 0);
		ps[i].bits = calloc((p->nsyscalls + 7) / 8, 1);
		p->traced = ps[i].bits;
	}
}

static int traced(const struct pers *ps, uint32_t nr)
{
	return (ps->bits[nr / 8] >> (nr % 8)) & 1;
}

/*
 * Every named syscall of every personality gets its bitmap's decision, but
 * for those in `excused` (NULL: none), which a tool cannot name and allows.
 */
static void check_agrees(const char *what, const struct sock_fprog *fp, const struct pers *ps,
			 uint8_t *const *excused)
{
	for (int i = 0; i < NPERS; i++) {
		const struct tracefilter_personality *p = &ps[i].p;

		for (uint32_t nr = 0; nr < p->nsyscalls; nr++) {
			uint32_t action;
			int rc;

			if (!tracefilter_syscall_name(p->audit_arch, p->nr_flag, nr))
				continue;
			rc = tracefilter_evaluate(fp, p->audit_arch, arch_nr(p, nr), &action, NULL);
			if (rc != TRACEFILTER_OK) {
				fprintf(stderr, "peers: %s: %s\n", what, tracefilter_strerror(rc));
				exit(1);
			}
			if (excused && (excused[i][nr / 8] >> (nr % 8) & 1) && action == SECCOMP_RET_ALLOW)
				continue;
			if ((action == SECCOMP_RET_TRACE) != traced(&ps[i], nr)) {
				fprintf(stderr, "peers: %s disagrees on %s %s (%u): action %#x\n", what,
					pers_names[i], tracefilter_syscall_name(p->audit_arch, p->nr_flag, nr),
					nr, action);
				exit(1);
			}
		}
	}
}

static void write_ours(const char *path, const struct pers *ps, uint32_t objective)
{
	struct tracefilter_personality views[NPERS];
	struct tracefilter_options opts;
	struct tracefilter_program *prog;
	const struct sock_fprog *fp;
	int rc;

	for (int i = 0; i < NPERS; i++)
		views[i] = ps[i].p;
	tracefilter_options_init(&opts);
	opts.objective = objective;
	rc = tracefilter_compile(views, NPERS, &opts, &prog);
	if (rc != TRACEFILTER_OK) {
		fprintf(stderr, "peers: compile: %s\n", tracefilter_strerror(rc));
		exit(1);
	}
	fp = tracefilter_program_fprog(prog);
	check_agrees(path, fp, ps, NULL);
	write_prog(path, fp->filter, fp->len);
	tracefilter_program_free(prog);
}

/*
 * libseccomp as a tracer would use it: default ALLOW, SCMP_ACT_TRACE rules
 * for the traced syscalls of each arch. One context per arch, merged, so that
 * each arch gets exactly its own bitmap (rules by name would apply to all).
 */
static void write_libseccomp(const char *path, const struct pers *ps, int optimize)
{
	scmp_filter_ctx all = NULL;
	uint8_t *unknown[NPERS];
	int nunknown = 0;
	char tmpl[] = "/tmp/peers.XXXXXX";
	struct sock_fprog fp;
	int fd, rc;

	for (int i = 0; i < NPERS; i++) {
		const struct tracefilter_personality *p = &ps[i].p;
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

		unknown[i] = calloc((p->nsyscalls + 7) / 8, 1);
		if (!ctx || !unknown[i])
			fail("seccomp_init", 0);
		if (scmp_arches[i] != seccomp_arch_native()) {
			if ((rc = seccomp_arch_add(ctx, scmp_arches[i])) ||
			    (rc = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE)))
				fail("seccomp_arch", rc);
		}
		if (optimize && (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)))
			fail("SCMP_FLTATR_CTL_OPTIMIZE", rc);
		for (uint32_t nr = 0; nr < p->nsyscalls; nr++) {
			const char *name = tracefilter_syscall_name(p->audit_arch, p->nr_flag, nr);
			int snr;

			if (!traced(&ps[i], nr) || !name)
				continue;
			/* libseccomp takes native (or pseudo) numbers and maps them by name. */
			/*
			 * Rules by name, as a tracer using libseccomp writes them
			 * (it maps native or pseudo numbers by name to each arch);
			 * a syscall newer than its tables is left to its default.
			 */
			snr = seccomp_syscall_resolve_name(name);
			if (snr == __NR_SCMP_ERROR ||
			    seccomp_syscall_resolve_name_arch(scmp_arches[i], name) < 0) {
				unknown[i][nr / 8] |= 1u << (nr % 8);
				nunknown++;
				continue;
			}
			if ((rc = seccomp_rule_add(ctx, SCMP_ACT_TRACE(0), snr, 0)))
				fail(name, rc);
		}
		if (!all)
			all = ctx;
		else if ((rc = seccomp_merge(all, ctx)))
			fail("seccomp_merge", rc);
	}
	fd = mkstemp(tmpl);
	if (fd < 0 || (rc = seccomp_export_bpf(all, fd)))
		fail("seccomp_export_bpf", fd < 0 ? errno : rc);
	close(fd);
	seccomp_release(all);
	if (read_prog(tmpl, &fp))
		fail(tmpl, errno);
	unlink(tmpl);
	check_agrees(path, &fp, ps, unknown);
	if (nunknown)
		fprintf(stderr, "peers: %s: libseccomp cannot name %d traced syscalls; "
				"they are allowed\n", path, nunknown);
	for (int i = 0; i < NPERS; i++)
		free(unknown[i]);
	write_prog(path, fp.filter, fp.len);
	free(fp.filter);
}

static int build(const char *dir, const char *strace_path, char **ends)
{
	struct pers ps[NPERS];
	struct sock_fprog st;
	char path[4096];

	if (read_prog(strace_path, &st))
		fail(strace_path, errno ? errno : EINVAL);
	personalities(ps);
	for (int i = 0; i < NPERS; i++) {
		const struct tracefilter_personality *p = &ps[i].p;

		uint32_t end = ends ? strtoul(ends[i], NULL, 0) : p->nsyscalls;

		for (uint32_t nr = 0; nr < p->nsyscalls && nr < end; nr++) {
			uint32_t action;

			if (tracefilter_evaluate(&st, p->audit_arch, arch_nr(p, nr), &action, NULL))
				fail("evaluate strace's program", 0);
			if (action == SECCOMP_RET_TRACE)
				ps[i].bits[nr / 8] |= 1u << (nr % 8);
		}
	}
	if (!ends)
		check_agrees(strace_path, &st, ps, NULL);
	snprintf(path, sizeof(path), "%s/ours.bpf", dir);
	write_ours(path, ps, TRACEFILTER_OBJECTIVE_SPEED);
	snprintf(path, sizeof(path), "%s/ours-size.bpf", dir);
	write_ours(path, ps, TRACEFILTER_OBJECTIVE_SIZE);
	snprintf(path, sizeof(path), "%s/libseccomp.bpf", dir);
	write_libseccomp(path, ps, 0);
	snprintf(path, sizeof(path), "%s/libseccomp-tree.bpf", dir);
	write_libseccomp(path, ps, 1);
	return 0;
}

/*
 * Figures over one syscall set for every program: the named x86_64 syscalls
 * below `end` that the reference program allows (so every tool is measured
 * on the same syscalls); each program must allow them too.
 */
static int stats(uint32_t end, const char *ref_path, int argc, char **argv)
{
	uint32_t arch, flag, nsys;
	struct sock_fprog ref;

	if (tracefilter_personality_lookup("x86_64", &arch, &flag, &nsys))
		fail("personality lookup", 0);
	if (read_prog(ref_path, &ref))
		fail(ref_path, errno ? errno : EINVAL);
	for (int i = 0; i < argc; i++) {
		struct sock_fprog fp;
		unsigned long sum = 0, allowed = 0, max = 0;
		int cacheable = 1;

		if (read_prog(argv[i], &fp))
			fail(argv[i], errno ? errno : EINVAL);
		for (uint32_t nr = 0; nr < nsys && nr < end; nr++) {
			uint32_t action, executed, cached;

			if (!tracefilter_syscall_name(arch, flag, nr))
				continue;
			if (tracefilter_evaluate(&ref, arch, nr, &action, NULL) || action != SECCOMP_RET_ALLOW)
				continue;
			if (tracefilter_evaluate(&fp, arch, nr, &action, &executed) ||
			    tracefilter_cacheable(&fp, arch, nr, &cached))
				fail(argv[i], EINVAL);
			if (action != SECCOMP_RET_ALLOW) {
				fprintf(stderr, "peers: %s does not allow %u\n", argv[i], nr);
				return 1;
			}
			allowed++;
			sum += executed;
			if (executed > max)
				max = executed;
			cacheable &= cached;
		}
		printf("prog %s len %u mean %.2f max %lu cacheable %s allowed %lu\n", argv[i],
		       fp.len, allowed ? (double)sum / allowed : 0.0, max, cacheable ? "yes" : "no",
		       allowed);
		free(fp.filter);
	}
	free(ref.filter);
	return 0;
}

/* The syscall to time for a set: getppid, or write when the set traces it. */
static int pick(const char *ref_path)
{
	static const uint32_t candidates[] = { 110 /* getppid */, 1 /* write */ };
	struct sock_fprog ref;

	if (read_prog(ref_path, &ref))
		fail(ref_path, errno ? errno : EINVAL);
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		uint32_t action;

		if (!tracefilter_evaluate(&ref, AUDIT_ARCH_X86_64, candidates[i], &action, NULL) &&
		    action == SECCOMP_RET_ALLOW) {
			printf("%u\n", candidates[i]);
			return 0;
		}
	}
	fprintf(stderr, "peers: %s allows neither getppid nor write\n", ref_path);
	return 1;
}

/* The x86_64 names REFERENCE traces below END, comma-separated (for tftrace). */
static int names(uint32_t end, const char *ref_path)
{
	uint32_t arch, flag, nsys;
	struct sock_fprog ref;
	const char *sep = "";

	if (tracefilter_personality_lookup("x86_64", &arch, &flag, &nsys))
		fail("personality lookup", 0);
	if (read_prog(ref_path, &ref))
		fail(ref_path, errno ? errno : EINVAL);
	for (uint32_t nr = 0; nr < nsys && nr < end; nr++) {
		const char *name = tracefilter_syscall_name(arch, flag, nr);
		uint32_t action;

		if (name && !tracefilter_evaluate(&ref, arch, nr, &action, NULL) &&
		    action == SECCOMP_RET_TRACE) {
			printf("%s%s", sep, name);
			sep = ",";
		}
	}
	printf("\n");
	return 0;
}

/* cBPF instructions each program executes for x86_64 syscall NR. */
static int exec_count(uint32_t nr, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		struct sock_fprog fp;
		uint32_t action, executed;

		if (read_prog(argv[i], &fp) ||
		    tracefilter_evaluate(&fp, AUDIT_ARCH_X86_64, nr, &action, &executed))
			fail(argv[i], errno ? errno : EINVAL);
		printf("%s %u\n", argv[i], executed);
		free(fp.filter);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "names"))
		return names(strtoul(argv[2], NULL, 0), argv[3]);
	if (argc >= 4 && !strcmp(argv[1], "exec"))
		return exec_count(strtoul(argv[2], NULL, 0), argc - 3, argv + 3);
	if (argc == 3 && !strcmp(argv[1], "pick"))
		return pick(argv[2]);
	if ((argc == 4 || argc == 7) && !strcmp(argv[1], "build"))
		return build(argv[2], argv[3], argc == 7 ? argv + 4 : NULL);
	if (argc >= 5 && !strcmp(argv[1], "stats"))
		return stats(strtoul(argv[2], NULL, 0), argv[3], argc - 4, argv + 4);
	fprintf(stderr, "usage: "
			"peers build DIR STRACE_FILE [END_X86_64 END_I386 END_X32] | "
			"peers stats END_X86_64 REFERENCE FILE...\n");
	return 2;
}
