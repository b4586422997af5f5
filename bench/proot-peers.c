/*
 * proot-peers: the programs PRoot's own is compared with, for one of its
 * action maps (integrations/proot/extract.sh: DIR/maps/HOST-CONFIG.map).
 *
 *   proot-peers DIR MAP
 *
 * writes, as raw struct sock_filter arrays:
 *   DIR/libseccomp.bpf       libseccomp's default (linear) program for the
 *                            same map: default ALLOW, one SCMP_ACT_TRACE(data)
 *                            rule per traced number, KILL for other arches
 *                            (SCMP_FLTATR_ACT_BADARCH), one context per
 *                            architecture, merged
 *   DIR/libseccomp-tree.bpf  the same with SCMP_FLTATR_CTL_OPTIMIZE=2
 *   DIR/ours-2action.bpf     tracefilter's program (objective speed) for the
 *                            map's projection on two actions: every traced
 *                            number returns SECCOMP_RET_TRACE | 1, every
 *                            other number ALLOW, other arches KILL. Not
 *                            PRoot's map (it loses the data bits); a lower
 *                            bound for a k-action program, until the
 *                            library takes per-syscall actions
 * and prints, per program, how many numbers of the map it gets wrong
 * ("differs N": libseccomp cannot name a few numbers; for ours-2action the
 * numbers whose data bits it drops, which is expected).
 * Needs libseccomp (2.5) and the library.
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

#define MAX_PERS 4
#define MAX_NR 1024

struct pers {
	char name[32];
	uint32_t arch, flag, scmp, n; /* n: numbers in the map */
	uint32_t value[MAX_NR];
};
static struct pers pers[MAX_PERS];
static size_t npers;

static void fail(const char *what, int rc)
{
	fprintf(stderr, "proot-peers: %s: %s\n", what, rc ? strerror(rc < 0 ? -rc : rc) : "failed");
	exit(1);
}

static struct pers *personality(const char *name)
{
	static const struct {
		const char *name;
		uint32_t scmp;
	} scmp[] = { { "x86_64", SCMP_ARCH_X86_64 }, { "x32", SCMP_ARCH_X32 }, { "i386", SCMP_ARCH_X86 },
		     { "aarch64", SCMP_ARCH_AARCH64 }, { "arm", SCMP_ARCH_ARM } };
	struct pers *p;
	uint32_t nsys;

	for (size_t i = 0; i < npers; i++)
		if (!strcmp(pers[i].name, name))
			return &pers[i];
	if (npers == MAX_PERS)
		fail("too many personalities in the map", 0);
	p = &pers[npers++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (tracefilter_personality_lookup(name, &p->arch, &p->flag, &nsys))
		fail(name, EINVAL);
	for (size_t i = 0; i < sizeof(scmp) / sizeof(scmp[0]); i++)
		if (!strcmp(scmp[i].name, name))
			p->scmp = scmp[i].scmp;
	return p;
}

static void read_map(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[256], name[32], nr[32], sys[64];
	unsigned long value;

	if (!f)
		fail(path, errno);
	while (fgets(buf, sizeof(buf), f)) {
		struct pers *p;
		unsigned long n;

		if (sscanf(buf, "%31s %31s %lx %63s", name, nr, &value, sys) != 4)
			fail("bad map line", EINVAL);
		if (!strcmp(name, "unknown"))
			continue;
		p = personality(name);
		n = strtoul(nr, NULL, 10);
		if (n != p->n || n >= MAX_NR)
			fail("map numbers not in order from 0", EINVAL);
		p->value[p->n++] = value;
	}
	fclose(f);
}

static void write_prog(const char *path, const struct sock_filter *f, size_t len)
{
	FILE *out = fopen(path, "wb");

	if (!out || fwrite(f, sizeof(*f), len, out) != len || fclose(out))
		fail(path, errno);
}

/*
 * Numbers of the map (and other arches: KILL) where fp returns another
 * value; with `show`, each printed ("  NAME NR: VALUE, map VALUE").
 */
static unsigned differs(const struct sock_fprog *fp, int show)
{
	unsigned d = 0;

	for (size_t i = 0; i < npers; i++)
		for (uint32_t nr = 0; nr < pers[i].n; nr++) {
			uint32_t action;

			if (tracefilter_evaluate(fp, pers[i].arch, nr | pers[i].flag, &action, NULL))
				fail("evaluate", EINVAL);
			if (action == pers[i].value[nr])
				continue;
			d++;
			if (show)
				printf("  %s %u: 0x%08x, map 0x%08x\n", pers[i].name, nr, action,
				       pers[i].value[nr]);
		}
	for (uint32_t nr = 0; nr < 512; nr++) {
		uint32_t action;

		if (tracefilter_evaluate(fp, 0, nr, &action, NULL))
			fail("evaluate", EINVAL);
		d += action != SECCOMP_RET_KILL;
	}
	return d;
}

static void libseccomp(const char *dir, int optimize)
{
	scmp_filter_ctx all = NULL;
	char path[4096], tmpl[] = "/tmp/proot-peers.XXXXXX";
	struct sock_filter buf[BPF_MAXINSNS + 1];
	struct sock_fprog fp = { .filter = buf };
	int fd, rc;
	FILE *f;

	for (size_t i = 0; i < npers; i++) {
		const struct pers *p = &pers[i];
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

		if (!ctx)
			fail("seccomp_init", 0);
		if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL)))
			fail("SCMP_FLTATR_ACT_BADARCH", rc);
		if (p->scmp != seccomp_arch_native() &&
		    ((rc = seccomp_arch_add(ctx, p->scmp)) || (rc = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE))))
			fail("seccomp_arch", rc);
		if (optimize && (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)))
			fail("SCMP_FLTATR_CTL_OPTIMIZE", rc);
		for (uint32_t nr = 0; nr < p->n; nr++) {
			char *name;
			int snr;

			if ((p->value[nr] & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_TRACE)
				continue;
			/* libseccomp takes native (or pseudo) numbers and maps
			 * them by name to each arch, as a tracer using it would. */
			name = seccomp_syscall_resolve_num_arch(p->scmp, nr | p->flag);
			snr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
			free(name);
			if (snr == __NR_SCMP_ERROR)
				continue; /* counted by differs() */
			rc = seccomp_rule_add(ctx, SCMP_ACT_TRACE(p->value[nr] & SECCOMP_RET_DATA), snr, 0);
			if (rc)
				fail("seccomp_rule_add", rc);
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
	f = fopen(tmpl, "rb");
	if (!f)
		fail(tmpl, errno);
	fp.len = fread(buf, sizeof(buf[0]), BPF_MAXINSNS + 1, f);
	fclose(f);
	unlink(tmpl);
	if (!fp.len || fp.len > BPF_MAXINSNS)
		fail("libseccomp's program", EINVAL);
	snprintf(path, sizeof(path), "%s/libseccomp%s.bpf", dir, optimize ? "-tree" : "");
	write_prog(path, buf, fp.len);
	printf("%s differs %u\n", path, differs(&fp, 0));
	differs(&fp, 1);
}

static void ours(const char *dir)
{
	struct tracefilter_personality views[MAX_PERS];
	uint8_t bits[MAX_PERS][MAX_NR / 8] = { { 0 } };
	struct tracefilter_options opts;
	struct tracefilter_program *prog;
	const struct sock_fprog *fp;
	char path[4096];
	int rc;

	for (size_t i = 0; i < npers; i++) {
		for (uint32_t nr = 0; nr < pers[i].n; nr++)
			if (pers[i].value[nr] != SECCOMP_RET_ALLOW)
				bits[i][nr / 8] |= 1u << (nr % 8);
		views[i] = (struct tracefilter_personality){
			.audit_arch = pers[i].arch, .nr_flag = pers[i].flag, .traced = bits[i], .nsyscalls = pers[i].n,
		};
	}
	tracefilter_options_init(&opts);
	opts.traced_action = SECCOMP_RET_TRACE | 1;
	opts.unknown_nr_action = SECCOMP_RET_ALLOW;
	opts.unknown_arch_action = SECCOMP_RET_KILL;
	rc = tracefilter_compile(views, npers, &opts, &prog);
	if (rc != TRACEFILTER_OK) {
		fprintf(stderr, "proot-peers: compile: %s\n", tracefilter_strerror(rc));
		exit(1);
	}
	fp = tracefilter_program_fprog(prog);
	snprintf(path, sizeof(path), "%s/ours-2action.bpf", dir);
	write_prog(path, fp->filter, fp->len);
	printf("%s differs %u\n", path, differs(fp, 0));
	tracefilter_program_free(prog);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: proot-peers DIR MAP\n");
		return 2;
	}
	read_map(argv[2]);
	libseccomp(argv[1], 0);
	libseccomp(argv[1], 1);
	ours(argv[1]);
	return 0;
}
