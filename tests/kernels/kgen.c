/*
 * kgen: the host side of tests/kernels/run.sh. Compiles, with the library,
 * the programs a kernel of one architecture must accept and enforce, and
 * writes the emulator's verdict for every number the guest will call.
 *
 *   kgen OUTDIR PERS[,PERS...] FOREIGN
 *
 * The personalities are compiled together, as a tracer on that kernel
 * would (x86_64,i386,x32; aarch64,arm; riscv64), one bitmap each:
 *   - corpus-like sets built from the names of each personality's table
 *     (strace's classes by name: file, process, network, memory, signal,
 *     ...), every strategy under both objectives;
 *   - random sets from sparse to dense (auto under both objectives; every
 *     strategy for two densities);
 *   - near-4096-instruction programs: alternating numbers over a table
 *     size chosen so that the forced strategy's program is as long as fits;
 *   - each personality alone, and FOREIGN alone (the kernel's arch is then
 *     unknown to the program);
 *   - the corpus-like and random sets again with the CLONE_UNTRACED guard
 *     (TRACEFILTER_COMPILE_GUARD_UNTRACED), every strategy under both
 *     objectives: the guest calls every number with -1 as its first
 *     argument, so clone carries CLONE_UNTRACED and its verdict is traced
 *     (tracefilter_evaluate sees arguments of 0, hence the override in
 *     emit()).
 * Writes OUTDIR/NAME.bpf (raw struct sock_filter), and for each guest
 * personality P of the list (for each distinct program) OUTDIR/P.list ("NAME BASE COUNT" lines) and
 * OUTDIR/NAME.P.exp: COUNT bytes, 'T' or 'A', the emulator's verdict on
 * numbers BASE .. BASE+COUNT-1 of P (BASE is P's nr_flag; COUNT the
 * program's table size for P + 64). Also OUTDIR/P.cost: "NR LABEL=FILE..."
 * for the cost check (point 3 of the matrix) and OUTDIR/P.enosys: "TRACED
 * ALLOWED" numbers for the install-and-exec check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tracefilter.h>

#define MAX_PERS 4
#define EXTRA 64

struct pers {
	char name[16];
	uint32_t arch, flag, n;
};

static struct pers pers[MAX_PERS], foreign;
static size_t npers;
static const char *outdir;
static int programs;

static void die(const char *what, int st)
{
	fprintf(stderr, "kgen: %s: %s\n", what, st ? tracefilter_strerror(st) : strerror(errno));
	exit(1);
}

static int lookup(const char *name, struct pers *p)
{
	snprintf(p->name, sizeof(p->name), "%s", name);
	return tracefilter_personality_lookup(name, &p->arch, &p->flag, &p->n);
}

/* Strace-like classes, by name: a set is a list of name fragments. */
struct class {
	const char *name;
	const char *const *parts; /* substrings; "=x" matches x exactly */
};

static const char *const c_openat[] = { "=openat", NULL };
static const char *const c_execve[] = { "=execve", NULL };
static const char *const c_file[] = { "open", "stat", "access", "link", "chmod", "chown", "rename",
				      "mkdir", "rmdir", "exec", "truncate", "xattr", "chdir", "chroot",
				      "mknod", "utime", "mount", "swapo", "creat", "quotactl", NULL };
static const char *const c_process[] = { "fork", "clone", "exec", "exit", "wait", "kill",
					 "unshare", "setns", NULL };
static const char *const c_network[] = { "socket", "bind", "connect", "listen", "accept", "send",
					 "recv", "shutdown", "sockopt", "sockname", "peername", NULL };
static const char *const c_memory[] = { "mmap", "munmap", "mprotect", "=brk", "madvise", "mremap",
					"mlock", "munlock", "msync", "mincore", "mbind", "mempolicy",
					"pkey", NULL };
static const char *const c_signal[] = { "sig", "kill", "=pause", "=alarm", NULL };
static const char *const c_rw[] = { "=read", "=write", NULL };
static const char *const c_fnp[] = { "open", "stat", "access", "link", "chmod", "chown", "rename",
				     "mkdir", "rmdir", "exec", "truncate", "socket", "bind",
				     "connect", "listen", "accept", "send", "recv", "fork", "clone",
				     "exit", "wait", "kill", NULL };
static const char *const c_notwrite[] = { "!write", NULL };

static const struct class classes[] = {
	{ "openat", c_openat }, { "execve", c_execve },	  { "file", c_file },
	{ "process", c_process }, { "network", c_network }, { "memory", c_memory },
	{ "signal", c_signal },	  { "rw", c_rw },	    { "fnp", c_fnp },
	{ "notwrite", c_notwrite },
};

static int matches(const char *const *parts, const char *name)
{
	if (parts[0][0] == '!')
		return strcmp(name, parts[0] + 1) != 0;
	for (; *parts; parts++)
		if ((*parts)[0] == '=' ? !strcmp(name, *parts + 1) : strstr(name, *parts) != NULL)
			return 1;
	return 0;
}

struct spec {
	struct tracefilter_personality p[MAX_PERS];
	uint8_t *bits[MAX_PERS];
	size_t count;
};

static void spec_init(struct spec *s, const struct pers *ps, size_t n, const uint32_t *sizes)
{
	s->count = n;
	for (size_t i = 0; i < n; i++) {
		uint32_t size = sizes ? sizes[i] : ps[i].n;

		s->bits[i] = calloc((size + 7) / 8 + 1, 1);
		s->p[i] = (struct tracefilter_personality){ ps[i].arch, ps[i].flag, s->bits[i], size };
	}
}

static void spec_free(struct spec *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->bits[i]);
}

static void set_bit(struct spec *s, size_t i, uint32_t nr)
{
	s->bits[i][nr / 8] |= 1 << (nr % 8);
}

static void write_file(const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f))
		die(path, 0);
}

static void append(const char *name, const char *line)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "a");
	if (!f || fputs(line, f) < 0 || fclose(f))
		die(path, 0);
}

/* The size of P's table in spec s (P's own table when P is not in s). */
static uint32_t table_size(const struct spec *s, const struct pers *p)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->p[i].audit_arch == p->arch && s->p[i].nr_flag == p->flag)
			return s->p[i].nsyscalls;
	return p->n;
}

/* The programs written so far: a program byte-identical to one of them
 * (a forced strategy often gives the same program under both objectives)
 * behaves identically in the kernel and is not swept again. */
static struct sock_filter *written[1024];
static unsigned short written_len[1024];
static int nwritten, compiled;

static int seen_before(const struct sock_fprog *fp)
{
	for (int i = 0; i < nwritten; i++)
		if (written_len[i] == fp->len && !memcmp(written[i], fp->filter, fp->len * sizeof(*fp->filter)))
			return 1;
	if (nwritten < 1024) {
		written[nwritten] = malloc(fp->len * sizeof(*fp->filter));
		memcpy(written[nwritten], fp->filter, fp->len * sizeof(*fp->filter));
		written_len[nwritten++] = fp->len;
	}
	return 0;
}

/* Whether P is one of the personalities s was compiled for. */
static int in_spec(const struct spec *s, const struct pers *p)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->p[i].audit_arch == p->arch && s->p[i].nr_flag == p->flag)
			return 1;
	return 0;
}

/* Writes NAME.bpf and each guest's expected verdicts; `guarded`: compiled
 * with the CLONE_UNTRACED guard. */
static void emit(const char *name, const struct sock_fprog *fp, const struct spec *s, int guarded)
{
	char file[400], line[400];

	compiled++;
	snprintf(file, sizeof(file), "%s.bpf", name);
	write_file(file, fp->filter, fp->len * sizeof(struct sock_filter));
	if (seen_before(fp))
		return;
	for (size_t g = 0; g < npers; g++) {
		uint32_t count = table_size(s, &pers[g]) + EXTRA;
		char *exp = malloc(count);
		uint32_t clone_nr = UINT32_MAX;

		/* The guest passes -1 as clone's flags: the guard stops it. */
		if (guarded && in_spec(s, &pers[g]) &&
		    tracefilter_syscall_number(pers[g].arch, pers[g].flag, "clone", &clone_nr))
			die("clone's number", 0);

		for (uint32_t i = 0; i < count; i++) {
			uint32_t action;
			int st = tracefilter_evaluate(fp, pers[g].arch, pers[g].flag | i, &action, NULL);

			if (st)
				die(name, st);
			if (action != SECCOMP_RET_TRACE && action != SECCOMP_RET_ALLOW) {
				fprintf(stderr, "kgen: %s: action %#x\n", name, action);
				exit(1);
			}
			exp[i] = action == SECCOMP_RET_TRACE || i == clone_nr ? 'T' : 'A';
		}
		snprintf(file, sizeof(file), "%s.%s.exp", name, pers[g].name);
		write_file(file, exp, count);
		free(exp);
		snprintf(file, sizeof(file), "%s.list", pers[g].name);
		snprintf(line, sizeof(line), "%s %#x %u\n", name, pers[g].flag, count);
		append(file, line);
	}
	programs++;
}

/* Compiles s with a strategy and objective; writes it unless the forced
 * strategy cannot express the set. Returns the length, 0 if skipped. */
static uint32_t compile_emit(const char *base, const struct spec *s, uint32_t strategy,
			     uint32_t objective, uint32_t flags, int write)
{
	struct tracefilter_options o;
	struct tracefilter_program *prog;
	struct tracefilter_stats st = { .struct_size = sizeof(st) };
	char name[200];
	int rc;

	tracefilter_options_init(&o);
	o.strategy = strategy;
	o.objective = objective;
	o.flags = flags;
	rc = tracefilter_compile(s->p, s->count, &o, &prog);
	if (rc == TRACEFILTER_E_STRATEGY && strategy != TRACEFILTER_STRATEGY_AUTO)
		return 0;
	if (rc == TRACEFILTER_E_TOO_LARGE && !write)
		return 0;
	if (rc)
		die(base, rc);
	tracefilter_program_stats(prog, &st);
	if (write) {
		snprintf(name, sizeof(name), "%s-%s-%s%s", base,
			 objective == TRACEFILTER_OBJECTIVE_SPEED ? "speed" : "size",
			 strategy == TRACEFILTER_STRATEGY_AUTO ? "auto" : tracefilter_strategy_name(strategy),
			 flags & TRACEFILTER_COMPILE_GUARD_UNTRACED ? "-guard" : "");
		emit(name, tracefilter_program_fprog(prog), s, !!(flags & TRACEFILTER_COMPILE_GUARD_UNTRACED));
	}
	tracefilter_program_free(prog);
	return st.length;
}

/* Every strategy under both objectives, without and with the CLONE_UNTRACED
 * guard. */
static void every_strategy(const char *base, const struct spec *s)
{
	for (uint32_t obj = 0; obj < 2; obj++)
		for (uint32_t strat = 0; strat <= TRACEFILTER_STRATEGY_JSET; strat++) {
			compile_emit(base, s, strat, obj, 0, 1);
			compile_emit(base, s, strat, obj, TRACEFILTER_COMPILE_GUARD_UNTRACED, 1);
		}
}

static uint64_t rng_state = 0x6b65726e656c73;
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
	return z ^ (z >> 31);
}

/* A spec over the personalities where every other number is traced, with
 * table size n for each; how long is the forced strategy's program? */
static void alternating(struct spec *s, uint32_t n)
{
	uint32_t sizes[MAX_PERS] = { 0 };

	for (size_t i = 0; i < npers; i++)
		sizes[i] = n;
	spec_init(s, pers, npers, sizes);
	for (size_t i = 0; i < npers; i++)
		for (uint32_t nr = 1; nr < n; nr += 2)
			set_bit(s, i, nr);
}

static void near_max(uint32_t strategy)
{
	uint32_t lo = 8, hi = 1 << 14, best = 0;
	struct spec s;
	char base[64];

	/* Largest n whose program fits in BPF_MAXINSNS (lengths grow with n). */
	while (lo <= hi) {
		uint32_t mid = (lo + hi) / 2, len;

		alternating(&s, mid);
		len = compile_emit("probe", &s, strategy, TRACEFILTER_OBJECTIVE_SIZE, 0, 0);
		spec_free(&s);
		if (len > 0 && len <= BPF_MAXINSNS) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	if (!best)
		return;
	alternating(&s, best);
	snprintf(base, sizeof(base), "near4096-n%u", best);
	compile_emit(base, &s, strategy, TRACEFILTER_OBJECTIVE_SIZE, 0, 1);
	spec_free(&s);
}

/* A set's number of syscall NAME in P, or -1. */
static long number(const struct pers *p, const char *name)
{
	uint32_t nr;

	return tracefilter_syscall_number(p->arch, p->flag, name, &nr) ? -1 : (long)nr;
}

int main(int argc, char **argv)
{
	char list[256], *tok, *save;
	struct spec s;

	if (argc != 4) {
		fprintf(stderr, "usage: kgen OUTDIR PERS[,PERS...] FOREIGN\n");
		return 2;
	}
	outdir = argv[1];
	snprintf(list, sizeof(list), "%s", argv[2]);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (npers == MAX_PERS || lookup(tok, &pers[npers]))
			die(tok, TRACEFILTER_E_INVALID);
		npers++;
	}
	if (lookup(argv[3], &foreign))
		die(argv[3], TRACEFILTER_E_INVALID);

	/* 1. corpus-like sets, every strategy, both objectives */
	for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
		spec_init(&s, pers, npers, NULL);
		for (size_t i = 0; i < npers; i++)
			for (uint32_t nr = 0; nr < pers[i].n; nr++) {
				const char *name = tracefilter_syscall_name(pers[i].arch, pers[i].flag, nr);

				if (name && matches(classes[c].parts, name))
					set_bit(&s, i, nr);
			}
		every_strategy(classes[c].name, &s);
		spec_free(&s);
	}

	/* 2. random sets */
	static const int density[] = { 2, 10, 30, 50, 70, 95 };
	for (size_t d = 0; d < sizeof(density) / sizeof(density[0]); d++) {
		char base[32];

		spec_init(&s, pers, npers, NULL);
		for (size_t i = 0; i < npers; i++)
			for (uint32_t nr = 0; nr < pers[i].n; nr++)
				if ((int)(rng() % 100) < density[d])
					set_bit(&s, i, nr);
		snprintf(base, sizeof(base), "random%d", density[d]);
		if (density[d] == 30 || density[d] == 70) {
			every_strategy(base, &s);
		} else {
			compile_emit(base, &s, TRACEFILTER_STRATEGY_AUTO, TRACEFILTER_OBJECTIVE_SPEED, 0, 1);
			compile_emit(base, &s, TRACEFILTER_STRATEGY_AUTO, TRACEFILTER_OBJECTIVE_SIZE, 0, 1);
		}
		spec_free(&s);
	}

	/* 3. near 4096 instructions */
	near_max(TRACEFILTER_STRATEGY_LINEAR);
	near_max(TRACEFILTER_STRATEGY_SEARCH);

	/* 4. each personality alone, and the foreign one: openat traced */
	for (size_t i = 0; i <= npers; i++) {
		const struct pers *p = i < npers ? &pers[i] : &foreign;
		char base[64];
		long nr = number(p, "openat");

		spec_init(&s, p, 1, NULL);
		if (nr >= 0)
			set_bit(&s, 0, nr);
		snprintf(base, sizeof(base), "only-%s", p->name);
		compile_emit(base, &s, TRACEFILTER_STRATEGY_AUTO, TRACEFILTER_OBJECTIVE_SPEED, 0, 1);
		compile_emit(base, &s, TRACEFILTER_STRATEGY_AUTO, TRACEFILTER_OBJECTIVE_SIZE, 0, 1);
		spec_free(&s);
	}

	/* The install-and-exec program: openat traced, all else allowed. arm's
	 * table is sized to cover ARM's private syscalls (__ARM_NR_BASE
	 * 0x0f0000 + 1..6 in arch/arm/include/uapi/asm/unistd.h: breakpoint,
	 * cacheflush, usr26, usr32, set_tls, get_tls), which glibc calls at
	 * startup (set_tls): with the table alone they are unknown numbers,
	 * traced by default, and fail with ENOSYS when no tracer is attached. */
	{
		uint32_t sizes[MAX_PERS] = { 0 };

		for (size_t i = 0; i < npers; i++)
			sizes[i] = strcmp(pers[i].name, "arm") ? pers[i].n : 0x0f0000 + 8;
		spec_init(&s, pers, npers, sizes);
		for (size_t i = 0; i < npers; i++)
			if (number(&pers[i], "openat") >= 0)
				set_bit(&s, i, number(&pers[i], "openat"));
		{
			struct tracefilter_options o;
			struct tracefilter_program *prog;
			const struct sock_fprog *fp;
			int rc;

			tracefilter_options_init(&o);
			rc = tracefilter_compile(s.p, s.count, &o, &prog);
			if (rc)
				die("exec", rc);
			fp = tracefilter_program_fprog(prog);
			write_file("exec.bpf", fp->filter, fp->len * sizeof(struct sock_filter));
			tracefilter_program_free(prog);
		}
		spec_free(&s);
	}

	/* The cost check: getppid under the file set, ours (speed) against the
	 * floor and the size objective's program (bits: uncacheable); and the
	 * install-and-exec check: openat traced, getppid allowed. */
	for (size_t g = 0; g < npers; g++) {
		char line[512];
		long ppid = number(&pers[g], "getppid"), openat = number(&pers[g], "openat");
		uint32_t c_speed = 0, c_size = 0;
		struct sock_fprog fp;
		long size;

		for (int k = 0; k < 2; k++) {
			char path[512];
			FILE *f;
			static struct sock_filter buf[BPF_MAXINSNS];

			snprintf(path, sizeof(path), "%s/file-%s-auto.bpf", outdir, k ? "size" : "speed");
			f = fopen(path, "rb");
			if (!f)
				die(path, 0);
			size = fread(buf, 1, sizeof(buf), f);
			fclose(f);
			fp.len = size / sizeof(struct sock_filter);
			fp.filter = buf;
			if (tracefilter_cacheable(&fp, pers[g].arch, pers[g].flag | ppid, k ? &c_size : &c_speed))
				die(path, TRACEFILTER_E_INVALID);
		}
		snprintf(line, sizeof(line), "%#lx cacheable=%u,%u ours=file-speed-auto.bpf size=file-size-auto.bpf\n",
			 pers[g].flag | ppid, c_speed, c_size);
		snprintf(list, sizeof(list), "%s.cost", pers[g].name);
		append(list, line);
		snprintf(line, sizeof(line), "%#lx %#lx\n", pers[g].flag | openat, pers[g].flag | ppid);
		snprintf(list, sizeof(list), "%s.enosys", pers[g].name);
		append(list, line);
	}
	snprintf(list, sizeof(list), "%d\n", compiled);
	write_file("compiled", list, strlen(list));
	printf("kgen: %d programs compiled for %s (foreign %s), %d distinct\n", compiled, argv[2], argv[3],
	       programs);
	return 0;
}
