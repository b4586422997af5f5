/*
 * scmp-arm64: libseccomp's program for an arm64 tracee (aarch64 + arm),
 * exported on this (x86_64) machine with seccomp_arch_add, for the
 * comparison of bench/arm64.sh.
 *
 *   scmp-arm64 REF.bpf OUT.bpf [tree]
 *   scmp-arm64 REF.bpf OUT.bpf ours|ours-size
 *   scmp-arm64 REF.bpf - stats
 *
 * Derives the traced syscalls of aarch64 and arm from a program REF (ours,
 * or strace's from its -d dump)
 * (tracefilter_evaluate: traced means RET_TRACE), builds libseccomp's
 * program as a tracer would (default ALLOW, SCMP_ACT_TRACE rules by name,
 * one context per arch, merged; "tree": SCMP_FLTATR_CTL_OPTIMIZE=2), checks
 * with the library's emulator that it decides every named syscall of both
 * arches as REF does, and writes it as a raw struct sock_filter array.
 * "ours": our program from the same bitmaps (default options; "ours-size":
 * the size objective), so that every tool gets exactly the same syscalls.
 * Prints "executed NR N len L ..." for aarch64's getppid (173) and write
 * (64): the cBPF instructions the written program (with "stats", REF)
 * runs for them, and "traced 173 0|1": whether REF traces getppid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tracefilter.h>

static void fail(const char *what, int rc)
{
	fprintf(stderr, "scmp-arm64: %s: %s\n", what, rc ? strerror(rc < 0 ? -rc : rc) : "failed");
	exit(1);
}

static int read_prog(const char *path, struct sock_fprog *fp)
{
	static struct sock_filter buf[BPF_MAXINSNS];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, sizeof(buf[0]), BPF_MAXINSNS, f);
	fclose(f);
	fp->len = n;
	fp->filter = buf;
	return n ? 0 : -1;
}

static int traced(const struct sock_fprog *fp, uint32_t arch, uint32_t nr)
{
	uint32_t action;
	int rc = tracefilter_evaluate(fp, arch, nr, &action, NULL);

	if (rc)
		fail("tracefilter_evaluate", -EINVAL);
	return action == SECCOMP_RET_TRACE;
}

static void print_executed(const struct sock_fprog *fp, int rules)
{
	for (int i = 0; i < 2; i++) {
		uint32_t nr = i ? 64 : 173, executed;

		tracefilter_evaluate(fp, AUDIT_ARCH_AARCH64, nr, NULL, &executed);
		printf("executed %u %u len %u rules %d\n", nr, executed, fp->len, rules);
	}
}

/* Ours from REF's bitmaps of aarch64 and arm (their whole tables). */
static int write_ours(const struct sock_fprog *ref, const char *out, int size)
{
	static const char *names[] = { "aarch64", "arm" };
	struct tracefilter_personality p[2];
	struct tracefilter_options o;
	struct tracefilter_program *prog;
	const struct sock_fprog *fp;
	int rc, fd, n = 0;

	for (int a = 0; a < 2; a++) {
		uint8_t *bits;

		if (tracefilter_personality_lookup(names[a], &p[a].audit_arch, &p[a].nr_flag, &p[a].nsyscalls))
			fail(names[a], -EINVAL);
		bits = calloc((p[a].nsyscalls + 7) / 8, 1);
		for (uint32_t nr = 0; nr < p[a].nsyscalls; nr++)
			if (traced(ref, p[a].audit_arch, nr)) {
				bits[nr / 8] |= 1 << (nr % 8);
				n++;
			}
		p[a].traced = bits;
	}
	tracefilter_options_init(&o);
	if (size)
		o.objective = TRACEFILTER_OBJECTIVE_SIZE;
	if ((rc = tracefilter_compile(p, 2, &o, &prog)))
		fail(tracefilter_strerror(rc), -EINVAL);
	fp = tracefilter_program_fprog(prog);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, fp->filter, fp->len * sizeof(struct sock_filter)) !=
			      (ssize_t)(fp->len * sizeof(struct sock_filter)))
		fail(out, errno);
	close(fd);
	print_executed(fp, n);
	tracefilter_program_free(prog);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *names[] = { "aarch64", "arm" };
	static const uint32_t scmp[] = { SCMP_ARCH_AARCH64, SCMP_ARCH_ARM };
	struct sock_fprog ours, theirs;
	scmp_filter_ctx all = NULL;
	char tmpl[] = "/tmp/scmp-arm64.XXXXXX";
	const char *mode = argc == 4 ? argv[3] : "";
	int tree = !strcmp(mode, "tree"), rc, fd, rules = 0;

	if (argc < 3 || argc > 4 ||
	    (argc == 4 && !tree && strcmp(mode, "ours") && strcmp(mode, "ours-size") &&
	     strcmp(mode, "stats"))) {
		fprintf(stderr, "usage: scmp-arm64 REF.bpf OUT.bpf [tree|ours|ours-size] | REF.bpf - stats\n");
		return 2;
	}
	if (read_prog(argv[1], &ours))
		fail(argv[1], errno ? errno : EINVAL);
	/* ours is copied: read_prog's buffer is reused below */
	{
		struct sock_filter *copy = malloc(ours.len * sizeof(*copy));

		memcpy(copy, ours.filter, ours.len * sizeof(*copy));
		ours.filter = copy;
	}
	if (!strcmp(mode, "stats")) {
		print_executed(&ours, 0);
		printf("traced 173 %d\n", traced(&ours, AUDIT_ARCH_AARCH64, 173));
		return 0;
	}
	if (!strncmp(mode, "ours", 4))
		return write_ours(&ours, argv[2], !strcmp(mode, "ours-size"));
	for (int a = 0; a < 2; a++) {
		uint32_t arch, flag, n;
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

		if (!ctx || tracefilter_personality_lookup(names[a], &arch, &flag, &n))
			fail("seccomp_init", 0);
		if ((rc = seccomp_arch_add(ctx, scmp[a])) || (rc = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE)))
			fail("seccomp_arch", rc);
		if (tree && (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)))
			fail("SCMP_FLTATR_CTL_OPTIMIZE", rc);
		for (uint32_t nr = 0; nr < n; nr++) {
			const char *name = tracefilter_syscall_name(arch, flag, nr);
			int snr;

			if (!name || !traced(&ours, arch, nr))
				continue;
			snr = seccomp_syscall_resolve_name(name);
			if (snr == __NR_SCMP_ERROR || seccomp_syscall_resolve_name_arch(scmp[a], name) < 0) {
				fprintf(stderr, "scmp-arm64: libseccomp does not know %s %s; left allowed\n",
					names[a], name);
				continue;
			}
			if ((rc = seccomp_rule_add(ctx, SCMP_ACT_TRACE(0), snr, 0)))
				fail(name, rc);
			rules++;
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
	if (read_prog(tmpl, &theirs))
		fail(tmpl, errno);
	unlink(tmpl);
	/* Same decision on every named syscall of both arches. */
	for (int a = 0; a < 2; a++) {
		uint32_t arch, flag, n;

		tracefilter_personality_lookup(names[a], &arch, &flag, &n);
		for (uint32_t nr = 0; nr < n; nr++) {
			const char *name = tracefilter_syscall_name(arch, flag, nr);

			if (name && seccomp_syscall_resolve_name_arch(scmp[a], name) >= 0 &&
			    traced(&ours, arch, nr) != traced(&theirs, arch, nr)) {
				fprintf(stderr, "scmp-arm64: %s %s: libseccomp's program decides otherwise\n",
					names[a], name);
				return 1;
			}
		}
	}
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, theirs.filter, theirs.len * sizeof(struct sock_filter)) !=
			      (ssize_t)(theirs.len * sizeof(struct sock_filter)))
		fail(argv[2], errno);
	close(fd);
	print_executed(&theirs, rules);
	return 0;
}
