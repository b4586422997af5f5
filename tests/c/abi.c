/*
 * The whole C ABI of tracefilter, exercised from C against the built shared
 * library and the committed header. Built and run by tests/c_abi.rs with
 * -fsanitize=address,undefined where the environment allows it.
 *
 * The test driver also passes:
 *   -DEXPECTED_VERSION="x.y.z"   the crate version tracefilter_version() must give
 *   statuses.h                   STATUS(name) for every TRACEFILTER_OK/E_* the header defines
 *
 * Every check prints file:line and the values involved, then exits 1.
 * The last line on success is "abi: ok, N checks".
 */
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tracefilter.h>

#ifndef EXPECTED_VERSION
#error "build with -DEXPECTED_VERSION=\"x.y.z\""
#endif

#include "check.h"

#define CHECK_STREQ(a, b)                                                     \
	do {                                                                  \
		const char *a_ = (a), *b_ = (b);                              \
		checks++;                                                     \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                        \
			FAIL_AT("check failed: %s == %s: \"%s\" != \"%s\"", #a, #b, \
				a_ ? a_ : "(null)", b_ ? b_ : "(null)");      \
	} while (0)

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define X32_BIT 0x40000000u

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	/* xorshift64*: fixed seed, so every run checks the same cases */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static int bit(const uint8_t *bits, uint32_t i)
{
	return (bits[i / 8] >> (i % 8)) & 1;
}

/* ---- the reference semantics, straight from the contract ---- */

struct actions {
	uint32_t traced, allowed, unknown_nr, unknown_arch;
};

static struct actions actions_of(const struct tracefilter_options *o)
{
	struct actions a = { o->traced_action, o->allowed_action, o->unknown_nr_action,
			     o->unknown_arch_action };
	return a;
}

static uint32_t expected_action(const struct tracefilter_personality *pers, size_t n,
				const struct actions *a, uint32_t arch, uint32_t nr)
{
	int arch_known = 0;

	for (size_t i = 0; i < n; i++) {
		const struct tracefilter_personality *p = &pers[i];
		uint64_t lo = p->nr_flag, hi = lo + p->nsyscalls;

		if (p->audit_arch != arch)
			continue;
		arch_known = 1;
		if (nr >= lo && nr < hi)
			return bit(p->traced, nr - p->nr_flag) ? a->traced : a->allowed;
	}
	return arch_known ? a->unknown_nr : a->unknown_arch;
}

static void check_one(const struct sock_fprog *f, const struct tracefilter_personality *pers,
		      size_t n, const struct actions *a, uint32_t arch, uint32_t nr)
{
	uint32_t action = 0xdeadbeef, executed = 0;
	uint32_t want = expected_action(pers, n, a, arch, nr);

	snprintf(where, sizeof(where), "evaluate arch %#x nr %#x (program of %u insns)", arch, nr,
		 f->len);
	CHECK_STATUS(tracefilter_evaluate(f, arch, nr, &action, &executed), TRACEFILTER_OK);
	CHECK_EQ(action, want);
	CHECK(executed >= 1 && executed <= f->len);
}

/*
 * Every number of every personality and a margin past it, the edges of the
 * number space, and archs nobody listed: each must give exactly the action
 * the contract says.
 */
static void check_program(const struct sock_fprog *f, const struct tracefilter_personality *pers,
			  size_t n, const struct actions *a)
{
	static const uint32_t edges[] = { 0, 1, 0x3fffffff, 0x40000000, 0x40000001, 0x7fffffff,
					  0x80000000, 0xfffffffe, 0xffffffff };
	static const uint32_t foreign_archs[] = { AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, 0, 0xffffffff,
						  AUDIT_ARCH_X86_64 ^ 1 };

	CHECK(f != NULL);
	CHECK(f->filter != NULL);
	CHECK(f->len > 0 && f->len <= BPF_MAXINSNS);
	for (size_t i = 0; i < n; i++) {
		const struct tracefilter_personality *p = &pers[i];

		for (uint32_t k = 0; k < p->nsyscalls + 70; k++)
			check_one(f, pers, n, a, p->audit_arch, p->nr_flag | k);
		if (p->nr_flag)
			check_one(f, pers, n, a, p->audit_arch, p->nr_flag - 1);
		for (size_t e = 0; e < NELEM(edges); e++) {
			check_one(f, pers, n, a, p->audit_arch, edges[e]);
			check_one(f, pers, n, a, p->audit_arch, edges[e] | p->nr_flag);
			check_one(f, pers, n, a, p->audit_arch, edges[e] | X32_BIT);
		}
	}
	for (size_t i = 0; i < NELEM(foreign_archs); i++)
		for (size_t e = 0; e < NELEM(edges); e++)
			check_one(f, pers, n, a, foreign_archs[i], edges[e]);
	where[0] = 0;
}

/* ---- personalities ---- */

struct pers_buf {
	struct tracefilter_personality p;
	uint8_t *bits;
};

static struct pers_buf make_pers(const char *name, int density_percent)
{
	struct pers_buf b;

	memset(&b, 0, sizeof(b));
	CHECK_STATUS(tracefilter_personality_lookup(name, &b.p.audit_arch, &b.p.nr_flag,
						    &b.p.nsyscalls),
		     TRACEFILTER_OK);
	b.bits = calloc(b.p.nsyscalls / 8 + 1, 1);
	CHECK(b.bits != NULL);
	for (uint32_t i = 0; i < b.p.nsyscalls; i++)
		if ((int)(rnd() % 100) < density_percent)
			b.bits[i / 8] |= (uint8_t)(1u << (i % 8));
	b.p.traced = b.bits;
	return b;
}

static void check_stats(const struct tracefilter_program *prog,
			const struct tracefilter_personality *pers, size_t n, uint32_t want_strategy,
			const struct actions *a)
{
	const struct sock_fprog *f = tracefilter_program_fprog(prog);
	struct tracefilter_stats st;
	int all = 1;

	memset(&st, 0, sizeof(st));
	st.struct_size = sizeof(st);
	CHECK_STATUS(tracefilter_program_stats(prog, &st), TRACEFILTER_OK);
	CHECK_EQ(st.struct_size, sizeof(st));
	CHECK_EQ(st.length, f->len);
	CHECK_EQ(st.count, n);
	CHECK(st.personalities != NULL);
	if (want_strategy != TRACEFILTER_STRATEGY_AUTO)
		CHECK_EQ(st.strategy, want_strategy);
	else
		CHECK(tracefilter_strategy_name(st.strategy) != NULL &&
		      st.strategy != TRACEFILTER_STRATEGY_AUTO);

	for (size_t i = 0; i < n; i++) {
		const struct tracefilter_personality *p = &pers[i];
		const struct tracefilter_personality_stats *ps = &st.personalities[i];
		uint32_t allowed = 0, max = 0, cacheable_all = 1;
		double sum = 0;

		snprintf(where, sizeof(where), "stats of personality %zu (arch %#x flag %#x)", i,
			 p->audit_arch, p->nr_flag);
		CHECK_EQ(ps->audit_arch, p->audit_arch);
		CHECK_EQ(ps->nr_flag, p->nr_flag);
		for (uint32_t k = 0; k < p->nsyscalls; k++) {
			uint32_t action, executed, cacheable = 7;

			if (bit(p->traced, k))
				continue;
			CHECK_STATUS(tracefilter_evaluate(f, p->audit_arch, p->nr_flag | k, &action,
							  &executed),
				     TRACEFILTER_OK);
			CHECK_STATUS(tracefilter_cacheable(f, p->audit_arch, p->nr_flag | k,
							   &cacheable),
				     TRACEFILTER_OK);
			CHECK(cacheable == 0 || cacheable == 1);
			/* the cache can only prove what the filter really returns */
			if (cacheable)
				CHECK_EQ(action, SECCOMP_RET_ALLOW);
			cacheable_all &= cacheable;
			allowed++;
			sum += executed;
			if (executed > max)
				max = executed;
		}
		CHECK_EQ(ps->allowed, allowed);
		CHECK_EQ(ps->max_executed, max);
		CHECK(ps->mean_executed >= (allowed ? sum / allowed : 0) - 1e-9);
		CHECK(ps->mean_executed <= (allowed ? sum / allowed : 0) + 1e-9);
		CHECK(ps->cacheable == 0 || ps->cacheable == 1);
		if (p->nr_flag) {
			CHECK_EQ(ps->cacheable, 0);
			if (p->audit_arch == AUDIT_ARCH_X86_64 && p->nr_flag == X32_BIT && allowed)
				CHECK_EQ(cacheable_all, 0);
		}
		else if (a->allowed == SECCOMP_RET_ALLOW)
			CHECK_EQ(ps->cacheable, cacheable_all);
		if (!p->nr_flag)
			all &= ps->cacheable;
	}
	CHECK_EQ(st.all_cacheable, all);

	/* struct_size too small, NULL arguments */
	st.struct_size = sizeof(st) - 1;
	CHECK_STATUS(tracefilter_program_stats(prog, &st), TRACEFILTER_E_INVALID);
	st.struct_size = sizeof(st);
	CHECK_STATUS(tracefilter_program_stats(NULL, &st), TRACEFILTER_E_NULL);
	CHECK_STATUS(tracefilter_program_stats(prog, NULL), TRACEFILTER_E_NULL);
	where[0] = 0;
}

/* Compiles, checks every number, checks the figures; returns the length. */
static unsigned compile_and_check(const struct tracefilter_personality *pers, size_t n,
				  const struct tracefilter_options *opts, uint32_t want_strategy)
{
	struct tracefilter_program *prog = (void *)&prog; /* must be overwritten */
	struct tracefilter_options defaults;
	struct actions a;
	unsigned len;

	tracefilter_options_init(&defaults);
	a = actions_of(opts ? opts : &defaults);
	CHECK_STATUS(tracefilter_compile(pers, n, opts, &prog), TRACEFILTER_OK);
	CHECK(prog != NULL && prog != (void *)&prog);
	check_program(tracefilter_program_fprog(prog), pers, n, &a);
	check_stats(prog, pers, n, want_strategy, &a);
	len = tracefilter_program_fprog(prog)->len;
	tracefilter_program_free(prog);
	return len;
}

/* ---- sections ---- */

static void test_options_init(void)
{
	struct tracefilter_options o;

	memset(&o, 0xa5, sizeof(o));
	tracefilter_options_init(&o);
	CHECK_EQ(o.struct_size, sizeof(o));
	CHECK_EQ(o.traced_action, SECCOMP_RET_TRACE);
	CHECK_EQ(o.allowed_action, SECCOMP_RET_ALLOW);
	CHECK_EQ(o.unknown_nr_action, SECCOMP_RET_TRACE);
	CHECK_EQ(o.unknown_arch_action, SECCOMP_RET_TRACE);
	CHECK_EQ(o.strategy, TRACEFILTER_STRATEGY_AUTO);
	CHECK_EQ(o.objective, TRACEFILTER_OBJECTIVE_SPEED);
	tracefilter_options_init(NULL); /* documented no-op */
}

static void test_version_and_strerror(void)
{
	static const struct {
		int status;
		const char *name;
	} statuses[] = {
#define STATUS(s) { s, #s },
#include "statuses.h"
#undef STATUS
	};
	static const int not_statuses[] = { 1, 42, -16, -19, -27, -1000, 0x7fffffff, -0x7fffffff - 1 };
	const char *v = tracefilter_version();
	const char *p;
	int parts = 0;

	CHECK(v != NULL);
	CHECK_STREQ(v, EXPECTED_VERSION);
	/* MAJOR.MINOR.PATCH, each digits, optionally -pre/+build */
	for (p = v;; p++) {
		const char *start = p;

		while (*p >= '0' && *p <= '9')
			p++;
		CHECK(p > start);
		parts++;
		if (*p != '.' || parts == 3)
			break;
	}
	CHECK_EQ(parts, 3);
	CHECK(*p == 0 || *p == '-' || *p == '+');

	/* every status the header defines: a text, distinct from every other */
	CHECK(NELEM(statuses) >= 17);
	for (size_t i = 0; i < NELEM(statuses); i++) {
		const char *s = tracefilter_strerror(statuses[i].status);

		snprintf(where, sizeof(where), "strerror(%s)", statuses[i].name);
		CHECK(s != NULL);
		CHECK(s[0] != 0);
		CHECK(strcmp(s, "unknown status") != 0);
		CHECK(statuses[i].status <= 0);
		CHECK((statuses[i].status == 0) == (strcmp(statuses[i].name, "TRACEFILTER_OK") == 0));
		for (size_t j = 0; j < i; j++) {
			CHECK(statuses[j].status != statuses[i].status);
			CHECK(strcmp(s, tracefilter_strerror(statuses[j].status)) != 0);
		}
	}
	for (size_t i = 0; i < NELEM(not_statuses); i++) {
		const char *s = tracefilter_strerror(not_statuses[i]);
		int defined = 0;

		for (size_t j = 0; j < NELEM(statuses); j++)
			defined |= statuses[j].status == not_statuses[i];
		if (defined)
			continue; /* a later header took this value: covered above */
		snprintf(where, sizeof(where), "strerror(%d)", not_statuses[i]);
		CHECK(s != NULL);
		CHECK_STREQ(s, "unknown status");
	}
	where[0] = 0;
}

static void test_names(void)
{
	static const struct {
		const char *name;
		uint32_t arch, flag;
		uint32_t openat; /* its number, a known fact of each table */
	} known[] = {
		{ "x86_64", AUDIT_ARCH_X86_64, 0, 257 },
		{ "i386", AUDIT_ARCH_I386, 0, 295 },
		{ "x32", AUDIT_ARCH_X86_64, X32_BIT, 257 },
		{ "aarch64", AUDIT_ARCH_AARCH64, 0, 56 },
		{ "arm", AUDIT_ARCH_ARM, 0, 322 },
		{ "riscv64", AUDIT_ARCH_RISCV64, 0, 56 },
	};
	uint32_t arch, flag, n, nr;

	for (size_t i = 0; i < NELEM(known); i++) {
		uint32_t named = 0;

		snprintf(where, sizeof(where), "personality %s", known[i].name);
		arch = flag = n = 0xdeadbeef;
		CHECK_STATUS(tracefilter_personality_lookup(known[i].name, &arch, &flag, &n),
			     TRACEFILTER_OK);
		CHECK_EQ(arch, known[i].arch);
		CHECK_EQ(flag, known[i].flag);
		CHECK(n > known[i].openat && n < 4096);
		CHECK_STATUS(tracefilter_personality_lookup(known[i].name, NULL, NULL, NULL),
			     TRACEFILTER_OK);

		nr = 0xdeadbeef;
		CHECK_STATUS(tracefilter_syscall_number(arch, flag, "openat", &nr), TRACEFILTER_OK);
		CHECK_EQ(nr, known[i].openat);
		CHECK_STREQ(tracefilter_syscall_name(arch, flag, known[i].openat), "openat");
		CHECK_STATUS(tracefilter_syscall_number(arch, flag, "no_such_syscall", &nr),
			     TRACEFILTER_E_UNKNOWN_NAME);
		CHECK_STATUS(tracefilter_syscall_number(arch, flag, "", &nr),
			     TRACEFILTER_E_UNKNOWN_NAME);
		CHECK_STATUS(tracefilter_syscall_number(arch, flag, NULL, &nr), TRACEFILTER_E_NULL);
		CHECK_STATUS(tracefilter_syscall_number(arch, flag, "openat", NULL),
			     TRACEFILTER_E_NULL);

		/* name -> number -> the same name, for every named number */
		for (uint32_t k = 0; k < n; k++) {
			const char *s = tracefilter_syscall_name(arch, flag, k);
			uint32_t back = 0xdeadbeef;

			if (!s)
				continue;
			named++;
			snprintf(where, sizeof(where), "personality %s nr %u (%s)", known[i].name, k, s);
			CHECK(s[0] != 0);
			CHECK_STATUS(tracefilter_syscall_number(arch, flag, s, &back), TRACEFILTER_OK);
			CHECK(back < n);
			CHECK_STREQ(tracefilter_syscall_name(arch, flag, back), s);
		}
		CHECK(named > 200);
		CHECK(tracefilter_syscall_name(arch, flag, n) == NULL);
		CHECK(tracefilter_syscall_name(arch, flag, 0xffffffff) == NULL);
	}
	where[0] = 0;
	CHECK_STATUS(tracefilter_personality_lookup("vax", &arch, &flag, &n), TRACEFILTER_E_INVALID);
	CHECK_STATUS(tracefilter_personality_lookup("", &arch, &flag, &n), TRACEFILTER_E_INVALID);
	CHECK_STATUS(tracefilter_personality_lookup(NULL, &arch, &flag, &n), TRACEFILTER_E_NULL);
	/* a personality without a name table */
	CHECK_STATUS(tracefilter_syscall_number(0x12345678, 0, "openat", &nr), TRACEFILTER_E_INVALID);
	CHECK_STATUS(tracefilter_syscall_number(AUDIT_ARCH_I386, X32_BIT, "openat", &nr),
		     TRACEFILTER_E_INVALID);
	CHECK(tracefilter_syscall_name(0x12345678, 0, 0) == NULL);

	/* strategies */
	{
		uint32_t s = 0xdeadbeef;

		CHECK_STATUS(tracefilter_strategy_lookup("auto", &s), TRACEFILTER_OK);
		CHECK_EQ(s, TRACEFILTER_STRATEGY_AUTO);
		CHECK_STATUS(tracefilter_strategy_lookup("search", &s), TRACEFILTER_OK);
		CHECK_EQ(s, TRACEFILTER_STRATEGY_SEARCH);
		CHECK_STREQ(tracefilter_strategy_name(TRACEFILTER_STRATEGY_AUTO), "auto");
		CHECK_STREQ(tracefilter_strategy_name(TRACEFILTER_STRATEGY_SEARCH), "search");
		CHECK_STREQ(tracefilter_strategy_name(TRACEFILTER_STRATEGY_LINEAR), "linear");
		CHECK_STREQ(tracefilter_strategy_name(TRACEFILTER_STRATEGY_BITS), "bits");
		CHECK_STREQ(tracefilter_strategy_name(TRACEFILTER_STRATEGY_TREE), "tree");
		CHECK_STREQ(tracefilter_strategy_name(TRACEFILTER_STRATEGY_JSET), "jset");
		CHECK_STATUS(tracefilter_strategy_lookup("tree", &s), TRACEFILTER_OK);
		CHECK_EQ(s, TRACEFILTER_STRATEGY_TREE);
		CHECK(tracefilter_strategy_name(0xffffffff) == NULL);
		CHECK(tracefilter_strategy_name(999) == NULL);
		CHECK_STATUS(tracefilter_strategy_lookup("no-such-strategy", &s),
			     TRACEFILTER_E_INVALID);
		CHECK_STATUS(tracefilter_strategy_lookup(NULL, &s), TRACEFILTER_E_NULL);
		CHECK_STATUS(tracefilter_strategy_lookup("search", NULL), TRACEFILTER_E_NULL);
		/* every named strategy round-trips */
		for (uint32_t id = 0; id < 64; id++) {
			const char *name = tracefilter_strategy_name(id);

			if (!name)
				continue;
			CHECK_STATUS(tracefilter_strategy_lookup(name, &s), TRACEFILTER_OK);
			CHECK_EQ(s, id);
		}
	}
}

static void test_compile(void)
{
	struct pers_buf x64 = make_pers("x86_64", 30);
	struct pers_buf i386 = make_pers("i386", 50);
	struct pers_buf x32 = make_pers("x32", 10);
	struct tracefilter_personality three[3] = { x64.p, i386.p, x32.p };
	struct tracefilter_options o;
	struct tracefilter_program *a = NULL, *b = NULL;
	uint32_t search;
	unsigned speed_len, size_len;

	CHECK_EQ(x32.p.nr_flag, X32_BIT);

	/* defaults, through NULL options and through options_init: the same program */
	compile_and_check(three, 3, NULL, TRACEFILTER_STRATEGY_AUTO);
	tracefilter_options_init(&o);
	compile_and_check(three, 3, &o, TRACEFILTER_STRATEGY_AUTO);
	CHECK_STATUS(tracefilter_compile(three, 3, NULL, &a), TRACEFILTER_OK);
	CHECK_STATUS(tracefilter_compile(three, 3, &o, &b), TRACEFILTER_OK);
	CHECK_EQ(tracefilter_program_fprog(a)->len, tracefilter_program_fprog(b)->len);
	CHECK(memcmp(tracefilter_program_fprog(a)->filter, tracefilter_program_fprog(b)->filter,
		     tracefilter_program_fprog(a)->len * sizeof(struct sock_filter)) == 0);
	/* the program outlives the caller's bitmaps: it keeps its own copy */
	{
		struct pers_buf tmp = make_pers("x86_64", 50);
		struct tracefilter_personality copy = tmp.p;
		struct tracefilter_program *c = NULL;
		uint8_t *saved = malloc(tmp.p.nsyscalls / 8 + 1);
		struct actions d = actions_of(&o);

		CHECK(saved != NULL);
		memcpy(saved, tmp.bits, tmp.p.nsyscalls / 8 + 1);
		CHECK_STATUS(tracefilter_compile(&tmp.p, 1, NULL, &c), TRACEFILTER_OK);
		memset(tmp.bits, 0, tmp.p.nsyscalls / 8 + 1);
		free(tmp.bits);
		copy.traced = saved;
		check_program(tracefilter_program_fprog(c), &copy, 1, &d);
		check_stats(c, &copy, 1, TRACEFILTER_STRATEGY_AUTO, &d);
		tracefilter_program_free(c);
		free(saved);
	}
	tracefilter_program_free(a);
	tracefilter_program_free(b);

	/* each personality alone, and pairs in both orders */
	compile_and_check(&x64.p, 1, NULL, TRACEFILTER_STRATEGY_AUTO);
	compile_and_check(&i386.p, 1, NULL, TRACEFILTER_STRATEGY_AUTO);
	compile_and_check(&x32.p, 1, NULL, TRACEFILTER_STRATEGY_AUTO);
	{
		struct tracefilter_personality rev[3] = { x32.p, i386.p, x64.p };

		compile_and_check(rev, 3, NULL, TRACEFILTER_STRATEGY_AUTO);
		compile_and_check(rev, 2, NULL, TRACEFILTER_STRATEGY_AUTO); /* x32 + i386 */
	}

	/* custom actions, all four distinct, with data */
	tracefilter_options_init(&o);
	o.traced_action = SECCOMP_RET_TRACE | 3;
	o.allowed_action = SECCOMP_RET_ERRNO | 5;
	o.unknown_nr_action = SECCOMP_RET_KILL_PROCESS;
	o.unknown_arch_action = SECCOMP_RET_TRAP | 9;
	compile_and_check(three, 3, &o, TRACEFILTER_STRATEGY_AUTO);
	o.traced_action = SECCOMP_RET_ALLOW;
	o.allowed_action = SECCOMP_RET_LOG;
	o.unknown_nr_action = SECCOMP_RET_USER_NOTIF;
	o.unknown_arch_action = SECCOMP_RET_KILL_THREAD;
	compile_and_check(three, 3, &o, TRACEFILTER_STRATEGY_AUTO);
	/* every action the same: still exact */
	o.traced_action = o.allowed_action = o.unknown_nr_action = o.unknown_arch_action =
		SECCOMP_RET_ERRNO | 1;
	compile_and_check(three, 3, &o, TRACEFILTER_STRATEGY_AUTO);

	/* both objectives, and the forced strategy */
	CHECK_STATUS(tracefilter_strategy_lookup("search", &search), TRACEFILTER_OK);
	for (int forced = 0; forced < 2; forced++) {
		uint32_t want = forced ? search : TRACEFILTER_STRATEGY_AUTO;

		tracefilter_options_init(&o);
		o.strategy = want;
		o.objective = TRACEFILTER_OBJECTIVE_SPEED;
		speed_len = compile_and_check(three, 3, &o, want);
		o.objective = TRACEFILTER_OBJECTIVE_SIZE;
		size_len = compile_and_check(three, 3, &o, want);
		CHECK(speed_len > 0 && size_len > 0);
		if (!forced)
			CHECK(size_len <= speed_len); /* auto picks the smallest for SIZE */
	}

	/* empty and full sets, nsyscalls not a multiple of 8, nsyscalls 0 */
	{
		static uint8_t zeros[16], ones[16];
		struct tracefilter_personality edge[3] = {
			{ AUDIT_ARCH_X86_64, 0, zeros, 123 },
			{ AUDIT_ARCH_I386, 0, ones, 77 },
			{ AUDIT_ARCH_X86_64, X32_BIT, NULL, 0 },
		};

		memset(ones, 0xff, sizeof(ones));
		compile_and_check(edge, 3, NULL, TRACEFILTER_STRATEGY_AUTO);
		edge[0].traced = ones;
		edge[1].traced = zeros;
		compile_and_check(edge, 3, NULL, TRACEFILTER_STRATEGY_AUTO);
		edge[0].nsyscalls = 1;
		compile_and_check(edge, 1, NULL, TRACEFILTER_STRATEGY_AUTO);
	}

	/* the largest nsyscalls accepted */
	{
		uint8_t *big = calloc(TRACEFILTER_MAX_NSYSCALLS / 8, 1);
		struct tracefilter_personality p = { AUDIT_ARCH_ARM, 0, big, TRACEFILTER_MAX_NSYSCALLS };
		struct tracefilter_program *prog = NULL;
		struct actions d = actions_of(&o);
		uint32_t action;

		CHECK(big != NULL);
		big[0x0f0005 / 8] |= 1u << (0x0f0005 % 8); /* ARM_set_tls */
		tracefilter_options_init(&o);
		d = actions_of(&o);
		CHECK_STATUS(tracefilter_compile(&p, 1, &o, &prog), TRACEFILTER_OK);
		for (uint32_t k = 0x0f0000; k < 0x0f0010; k++)
			check_one(tracefilter_program_fprog(prog), &p, 1, &d, AUDIT_ARCH_ARM, k);
		CHECK_STATUS(tracefilter_evaluate(tracefilter_program_fprog(prog), AUDIT_ARCH_ARM,
						  TRACEFILTER_MAX_NSYSCALLS - 1, &action, NULL),
			     TRACEFILTER_OK);
		CHECK_EQ(action, SECCOMP_RET_ALLOW);
		tracefilter_program_free(prog);
		free(big);
	}

	free(x64.bits);
	free(i386.bits);
	free(x32.bits);
}

static void expect_compile_error(const struct tracefilter_personality *pers, size_t n,
				 const struct tracefilter_options *opts, int want, const char *what)
{
	struct tracefilter_program *prog = (void *)&prog;

	snprintf(where, sizeof(where), "compile error: %s", what);
	CHECK_STATUS(tracefilter_compile(pers, n, opts, &prog), want);
	CHECK(prog == NULL); /* *out is NULL on failure */
	where[0] = 0;
}

static void test_compile_errors(void)
{
	static uint8_t bits[TRACEFILTER_MAX_NSYSCALLS / 8 + 1];
	struct tracefilter_personality p = { AUDIT_ARCH_X86_64, 0, bits, 400 };
	struct tracefilter_personality two[2];
	struct tracefilter_personality many[TRACEFILTER_MAX_PERSONALITIES + 1];
	struct tracefilter_options o;
	struct {
		struct tracefilter_options o;
		uint32_t later[4];
	} bigger;
	uint32_t *actions[4];

	/* E_NULL */
	expect_compile_error(NULL, 1, NULL, TRACEFILTER_E_NULL, "NULL pers, count 1");
	CHECK_STATUS(tracefilter_compile(&p, 1, NULL, NULL), TRACEFILTER_E_NULL);
	{
		struct tracefilter_personality q = p;

		q.traced = NULL;
		expect_compile_error(&q, 1, NULL, TRACEFILTER_E_NULL, "NULL traced, nsyscalls 400");
		q.nsyscalls = 0; /* documented: NULL is fine for 0 bits */
		compile_and_check(&q, 1, NULL, TRACEFILTER_STRATEGY_AUTO);
	}

	/* E_INVALID: counts */
	expect_compile_error(&p, 0, NULL, TRACEFILTER_E_INVALID, "count 0");
	expect_compile_error(NULL, 0, NULL, TRACEFILTER_E_INVALID, "NULL pers, count 0");
	for (size_t i = 0; i < NELEM(many); i++) {
		many[i] = p;
		many[i].audit_arch = 0x1000 + (uint32_t)i;
	}
	compile_and_check(many, TRACEFILTER_MAX_PERSONALITIES, NULL, TRACEFILTER_STRATEGY_AUTO);
	expect_compile_error(many, TRACEFILTER_MAX_PERSONALITIES + 1, NULL, TRACEFILTER_E_INVALID,
			     "count above the maximum");

	/* E_INVALID: nsyscalls, nr_flag */
	p.nsyscalls = TRACEFILTER_MAX_NSYSCALLS + 1;
	expect_compile_error(&p, 1, NULL, TRACEFILTER_E_INVALID, "nsyscalls above the maximum");
	p.nsyscalls = 0xffffffff;
	expect_compile_error(&p, 1, NULL, TRACEFILTER_E_INVALID, "nsyscalls 0xffffffff");
	p.nsyscalls = 400;
	p.nr_flag = 1;
	expect_compile_error(&p, 1, NULL, TRACEFILTER_E_INVALID, "nr_flag 1 overlaps numbers");
	p.nr_flag = 0x100;
	expect_compile_error(&p, 1, NULL, TRACEFILTER_E_INVALID, "nr_flag 0x100, nsyscalls 400");
	p.nr_flag = 0x200; /* clear of every number below 400: accepted */
	compile_and_check(&p, 1, NULL, TRACEFILTER_STRATEGY_AUTO);
	p.nr_flag = 0;

	/* E_INVALID: options */
	tracefilter_options_init(&o);
	o.struct_size = 0;
	expect_compile_error(&p, 1, &o, TRACEFILTER_E_INVALID, "struct_size 0");
	o.struct_size = 27;
	expect_compile_error(&p, 1, &o, TRACEFILTER_E_INVALID, "struct_size below the first version");
	/* 44: version 40 is read, and the flags word past it must be 0 */
	o.struct_size = sizeof(o) - 4;
	o.flags = TRACEFILTER_COMPILE_GUARD_UNTRACED;
	expect_compile_error(&p, 1, &o, TRACEFILTER_E_INVALID, "struct_size cuts a set field");
	o.flags = 0;
	compile_and_check(&p, 1, &o, TRACEFILTER_STRATEGY_AUTO);
	/* a newer caller's larger struct: fine while the unknown fields are 0 */
	memset(&bigger, 0, sizeof(bigger));
	tracefilter_options_init(&bigger.o);
	bigger.o.struct_size = sizeof(bigger.o) + 1;
	compile_and_check(&p, 1, &bigger.o, TRACEFILTER_STRATEGY_AUTO);
	bigger.o.struct_size = sizeof(bigger);
	compile_and_check(&p, 1, &bigger.o, TRACEFILTER_STRATEGY_AUTO);
	bigger.later[2] = 1;
	expect_compile_error(&p, 1, &bigger.o, TRACEFILTER_E_INVALID, "unknown field set");

	tracefilter_options_init(&o);
	actions[0] = &o.traced_action;
	actions[1] = &o.allowed_action;
	actions[2] = &o.unknown_nr_action;
	actions[3] = &o.unknown_arch_action;
	for (size_t i = 0; i < 4; i++) {
		static const uint32_t bad[] = { 0x12340000, SECCOMP_RET_ALLOW | 1,
						SECCOMP_RET_KILL_PROCESS | 1, 0xffff0000 };
		uint32_t saved = *actions[i];

		for (size_t j = 0; j < NELEM(bad); j++) {
			*actions[i] = bad[j];
			expect_compile_error(&p, 1, &o, TRACEFILTER_E_INVALID, "not a seccomp action");
		}
		*actions[i] = saved;
	}
	o.strategy = 999;
	expect_compile_error(&p, 1, &o, TRACEFILTER_E_INVALID, "unknown strategy id");
	o.strategy = TRACEFILTER_STRATEGY_AUTO;
	o.objective = 7;
	expect_compile_error(&p, 1, &o, TRACEFILTER_E_INVALID, "unknown objective");

	/* E_OVERLAP */
	two[0] = p;
	two[1] = p;
	expect_compile_error(two, 2, NULL, TRACEFILTER_E_OVERLAP, "same personality twice");
	two[1].nsyscalls = 3;
	expect_compile_error(two, 2, NULL, TRACEFILTER_E_OVERLAP, "same arch and flag");
	two[1].nr_flag = 0x100;
	two[1].nsyscalls = 8;
	expect_compile_error(two, 2, NULL, TRACEFILTER_E_OVERLAP, "flagged range inside the other");
	two[1].nr_flag = X32_BIT;
	two[1].nsyscalls = 400;
	compile_and_check(two, 2, NULL, TRACEFILTER_STRATEGY_AUTO); /* the x32 layout: fine */
	two[0].nr_flag = X32_BIT;
	expect_compile_error(two, 2, NULL, TRACEFILTER_E_OVERLAP, "x32 twice");

	/* E_TOO_LARGE: half of 2^16 numbers traced at random, no pattern any
	 * strategy can use */
	{
		uint32_t x = 0x9e3779b9;

		for (size_t i = 0; i < (1 << 13); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			bits[i] = (uint8_t)x;
		}
	}
	p.nsyscalls = 1 << 16;
	expect_compile_error(&p, 1, NULL, TRACEFILTER_E_TOO_LARGE, "65536 random numbers");
	{
		uint32_t search;

		CHECK_STATUS(tracefilter_strategy_lookup("search", &search), TRACEFILTER_OK);
		tracefilter_options_init(&o);
		o.strategy = search;
		snprintf(where, sizeof(where), "forced strategy, too large");
		{
			struct tracefilter_program *prog = (void *)&prog;
			int s = tracefilter_compile(&p, 1, &o, &prog);

			CHECK(s == TRACEFILTER_E_TOO_LARGE || s == TRACEFILTER_E_STRATEGY);
			CHECK(prog == NULL);
		}
		where[0] = 0;
	}
	/* every other number traced: one single-bit test, whatever the count */
	memset(bits, 0x55, 1 << 13);
	compile_and_check(&p, 1, NULL, TRACEFILTER_STRATEGY_AUTO);
	memset(bits, 0, sizeof(bits));

	/* freeing and viewing nothing */
	tracefilter_program_free(NULL);
	CHECK(tracefilter_program_fprog(NULL) == NULL);
}

/* ---- programs from anywhere ---- */

#define RET(k) BPF_STMT(BPF_RET | BPF_K, (k))
#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)
#define LD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4)

static int contains(const char *s, const char *what)
{
	return strstr(s, what) != NULL;
}

/* The listing through every buffer size that matters; returns it (malloc'd). */
static char *disassemble_checked(const struct sock_fprog *f)
{
	size_t n = tracefilter_disassemble(f, NULL, 0);
	char *full, *small;
	static const size_t sizes[] = { 1, 2, 7, 40 };

	CHECK(n > 0);
	CHECK_EQ(tracefilter_disassemble(f, NULL, 0), n);
	full = malloc(n + 1);
	CHECK(full != NULL);
	memset(full, 'X', n + 1);
	CHECK_EQ(tracefilter_disassemble(f, full, n + 1), n);
	CHECK_EQ(strlen(full), n);
	CHECK(full[n - 1] == '\n');

	/* exactly n bytes: everything but the last character, NUL-terminated;
	 * the buffer is malloc'd at its size so ASan sees any overrun */
	small = malloc(n);
	CHECK(small != NULL);
	CHECK_EQ(tracefilter_disassemble(f, small, n), n);
	CHECK_EQ(strlen(small), n - 1);
	CHECK(memcmp(small, full, n - 1) == 0);
	free(small);
	for (size_t i = 0; i < NELEM(sizes); i++) {
		size_t sz = sizes[i] < n ? sizes[i] : n;

		small = malloc(sz);
		CHECK(small != NULL);
		memset(small, 'Y', sz);
		CHECK_EQ(tracefilter_disassemble(f, small, sz), n);
		CHECK_EQ(strlen(small), sz - 1);
		CHECK(memcmp(small, full, sz - 1) == 0);
		free(small);
	}
	/* size 0 with a buffer: nothing written */
	{
		char c = 'Z';

		CHECK_EQ(tracefilter_disassemble(f, &c, 0), n);
		CHECK(c == 'Z');
	}
	return full;
}

static void expect_refused(const struct sock_filter *insns, unsigned short len, int want,
			   const char *what)
{
	struct sock_fprog f = { len, (struct sock_filter *)insns };
	uint32_t action = 0xdeadbeef, executed = 0xdeadbeef, cacheable = 0xdeadbeef;
	char *text;

	snprintf(where, sizeof(where), "hostile program: %s", what);
	CHECK_STATUS(tracefilter_evaluate(&f, AUDIT_ARCH_X86_64, 1, &action, &executed), want);
	CHECK_STATUS(tracefilter_evaluate(&f, AUDIT_ARCH_X86_64, 1, NULL, NULL), want);
	CHECK_STATUS(tracefilter_cacheable(&f, AUDIT_ARCH_X86_64, 1, &cacheable), want);
	/* nothing is reported for a refused program */
	CHECK_EQ(action, 0xdeadbeef);
	CHECK_EQ(executed, 0xdeadbeef);
	CHECK_EQ(cacheable, 0xdeadbeef);
	if (insns || !len) {
		text = disassemble_checked(&f);
		CHECK(contains(text, "; invalid program:"));
		free(text);
	}
	where[0] = 0;
}

static void test_foreign_programs(void)
{
	static struct sock_filter huge[0xffff]; /* room for any length a caller can claim */
	const struct sock_filter ok[] = { LD_ARCH, LD_NR, BPF_STMT(BPF_RET | BPF_A, 0) };
	const struct sock_filter alu[] = { LD_NR, BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
					   BPF_STMT(BPF_ST, 3), BPF_STMT(BPF_LDX | BPF_MEM, 3),
					   BPF_STMT(BPF_MISC | BPF_TXA, 0),
					   BPF_STMT(BPF_RET | BPF_A, 0) };
	const struct sock_filter divx[] = { LD_NR, BPF_STMT(BPF_LDX | BPF_IMM, 0),
					    BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0), RET(5) };
	const struct sock_filter jumps[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 10, 0, 1),
		RET(SECCOMP_RET_TRACE),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 100, 1, 0),
		BPF_STMT(BPF_JMP | BPF_JA, 1),
		RET(SECCOMP_RET_ERRNO | 1),
		RET(SECCOMP_RET_ALLOW),
	};
	struct sock_fprog f;
	uint32_t action, executed, cacheable;
	char *text;

	/* well-formed programs nobody compiled: run the way the kernel runs them */
	f.len = NELEM(ok);
	f.filter = (struct sock_filter *)ok;
	CHECK_STATUS(tracefilter_evaluate(&f, AUDIT_ARCH_I386, 1234, &action, &executed),
		     TRACEFILTER_OK);
	CHECK_EQ(action, 1234);
	CHECK_EQ(executed, 3);
	text = disassemble_checked(&f);
	CHECK(!contains(text, "invalid program"));
	{
		int lines = 0;

		for (const char *c = text; *c; c++)
			lines += *c == '\n';
		CHECK_EQ(lines, NELEM(ok)); /* one line an instruction */
	}
	free(text);

	f.len = NELEM(alu);
	f.filter = (struct sock_filter *)alu;
	CHECK_STATUS(tracefilter_evaluate(&f, AUDIT_ARCH_X86_64, 41, &action, &executed),
		     TRACEFILTER_OK);
	CHECK_EQ(action, 42);
	CHECK_EQ(executed, 6);
	CHECK_STATUS(tracefilter_evaluate(&f, AUDIT_ARCH_X86_64, 0xffffffff, &action, NULL),
		     TRACEFILTER_OK);
	CHECK_EQ(action, 0);

	/* division by X == 0 ends the program with 0, as in the kernel */
	f.len = NELEM(divx);
	f.filter = (struct sock_filter *)divx;
	CHECK_STATUS(tracefilter_evaluate(&f, AUDIT_ARCH_X86_64, 8, &action, &executed),
		     TRACEFILTER_OK);
	CHECK_EQ(action, 0);
	CHECK_EQ(executed, 3);

	f.len = NELEM(jumps);
	f.filter = (struct sock_filter *)jumps;
	CHECK_STATUS(tracefilter_evaluate(&f, AUDIT_ARCH_X86_64, 10, &action, &executed),
		     TRACEFILTER_OK);
	CHECK_EQ(action, SECCOMP_RET_TRACE);
	CHECK_EQ(executed, 3);
	CHECK_STATUS(tracefilter_evaluate(&f, AUDIT_ARCH_X86_64, 200, &action, &executed),
		     TRACEFILTER_OK);
	CHECK_EQ(action, SECCOMP_RET_ERRNO | 1);
	CHECK_EQ(executed, 4);
	CHECK_STATUS(tracefilter_evaluate(&f, AUDIT_ARCH_X86_64, 50, &action, &executed),
		     TRACEFILTER_OK);
	CHECK_EQ(action, SECCOMP_RET_ALLOW);
	CHECK_EQ(executed, 5);
	/* a const-ALLOW program is cacheable for every number, a "ret a" one is not */
	{
		const struct sock_filter allow[] = { RET(SECCOMP_RET_ALLOW) };

		f.len = 1;
		f.filter = (struct sock_filter *)allow;
		CHECK_STATUS(tracefilter_cacheable(&f, AUDIT_ARCH_X86_64, 5, &cacheable),
			     TRACEFILTER_OK);
		CHECK_EQ(cacheable, 1);
		/* x32 numbers lie outside the kernel's cache bitmap */
		CHECK_STATUS(tracefilter_cacheable(&f, AUDIT_ARCH_X86_64, 0x40000000 | 5, &cacheable),
			     TRACEFILTER_OK);
		CHECK_EQ(cacheable, 0);
		f.len = NELEM(ok);
		f.filter = (struct sock_filter *)ok;
		CHECK_STATUS(tracefilter_cacheable(&f, AUDIT_ARCH_X86_64, SECCOMP_RET_ALLOW,
						   &cacheable),
			     TRACEFILTER_OK);
		CHECK_EQ(cacheable, 0);
		CHECK_STATUS(tracefilter_cacheable(&f, AUDIT_ARCH_X86_64, 5, NULL),
			     TRACEFILTER_E_NULL);
	}

	/* NULL */
	CHECK_STATUS(tracefilter_evaluate(NULL, 0, 0, &action, &executed), TRACEFILTER_E_NULL);
	CHECK_STATUS(tracefilter_cacheable(NULL, 0, 0, &cacheable), TRACEFILTER_E_NULL);
	f.len = 3;
	f.filter = NULL;
	CHECK_STATUS(tracefilter_evaluate(&f, 0, 0, &action, &executed), TRACEFILTER_E_NULL);
	{
		size_t n = tracefilter_disassemble(NULL, NULL, 0);
		char buf[128];

		CHECK(n > 0);
		CHECK_EQ(tracefilter_disassemble(NULL, buf, sizeof(buf)), n);
		CHECK(contains(buf, "; invalid program:"));
		n = tracefilter_disassemble(&f, NULL, 0);
		CHECK(n > 0);
		CHECK_EQ(tracefilter_disassemble(&f, buf, sizeof(buf)), n);
		CHECK(contains(buf, "; invalid program:"));
	}

	/* what the kernel's checker refuses */
	expect_refused(ok, 0, TRACEFILTER_E_PROGRAM_LENGTH, "length 0");
	expect_refused(NULL, 0, TRACEFILTER_E_PROGRAM_LENGTH, "length 0, NULL filter");
	for (size_t i = 0; i < NELEM(huge); i++)
		huge[i] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
	expect_refused(huge, BPF_MAXINSNS + 1, TRACEFILTER_E_PROGRAM_LENGTH, "length 4097");
	expect_refused(huge, 0xffff, TRACEFILTER_E_PROGRAM_LENGTH, "length 65535 (only 4097 there)");
	f.len = BPF_MAXINSNS;
	f.filter = huge;
	CHECK_STATUS(tracefilter_evaluate(&f, 0, 0, &action, &executed), TRACEFILTER_OK);
	CHECK_EQ(executed, 1);
	{
		const struct sock_filter p1[] = { LD_NR,
						  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 5, 0),
						  RET(0) };
		const struct sock_filter p2[] = { LD_NR,
						  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
						  RET(0) };
		const struct sock_filter p3[] = { BPF_STMT(BPF_JMP | BPF_JA, 1), RET(0) };
		const struct sock_filter p4[] = { BPF_STMT(BPF_JMP | BPF_JA, 0xffffffff), RET(0) };
		const struct sock_filter p5[] = { BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), RET(0) };
		const struct sock_filter p6[] = { BPF_STMT(0xffff, 0), RET(0) };
		const struct sock_filter p7[] = { BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0), RET(0) };
		const struct sock_filter p8[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), RET(0) };
		const struct sock_filter p9[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), RET(0) };
		const struct sock_filter p10[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0xfffffffc),
						   RET(0) };
		const struct sock_filter p11[] = { LD_NR, BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0),
						   RET(0) };
		const struct sock_filter p12[] = { LD_NR, BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32),
						   RET(0) };
		const struct sock_filter p13[] = { BPF_STMT(BPF_ST, 16), RET(0) };
		const struct sock_filter p14[] = { BPF_STMT(BPF_LD | BPF_MEM, 3), RET(0) };
		const struct sock_filter p15[] = {
			LD_NR,
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
			BPF_STMT(BPF_ST, 2),
			BPF_STMT(BPF_LD | BPF_MEM, 2), /* not stored on the jf path */
			RET(0),
		};
		const struct sock_filter p16[] = { RET(0), LD_NR };
		const struct sock_filter p17[] = { LD_NR };
		const struct sock_filter p18[] = { RET(0), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0) };

		expect_refused(p1, NELEM(p1), TRACEFILTER_E_PROGRAM_JUMP, "jt past the end");
		expect_refused(p2, NELEM(p2), TRACEFILTER_E_PROGRAM_JUMP, "jf past the end");
		expect_refused(p3, NELEM(p3), TRACEFILTER_E_PROGRAM_JUMP, "ja past the end");
		expect_refused(p4, NELEM(p4), TRACEFILTER_E_PROGRAM_JUMP, "ja 0xffffffff");
		expect_refused(p5, NELEM(p5), TRACEFILTER_E_PROGRAM_OPCODE, "byte load");
		expect_refused(p6, NELEM(p6), TRACEFILTER_E_PROGRAM_OPCODE, "opcode 0xffff");
		expect_refused(p7, NELEM(p7), TRACEFILTER_E_PROGRAM_OPCODE, "indirect load");
		expect_refused(p8, NELEM(p8), TRACEFILTER_E_PROGRAM_LOAD, "load at 64");
		expect_refused(p9, NELEM(p9), TRACEFILTER_E_PROGRAM_LOAD, "misaligned load");
		expect_refused(p10, NELEM(p10), TRACEFILTER_E_PROGRAM_LOAD, "load at 0xfffffffc");
		expect_refused(p11, NELEM(p11), TRACEFILTER_E_PROGRAM_OPERAND, "division by 0");
		expect_refused(p12, NELEM(p12), TRACEFILTER_E_PROGRAM_OPERAND, "shift by 32");
		expect_refused(p13, NELEM(p13), TRACEFILTER_E_PROGRAM_OPERAND, "scratch index 16");
		expect_refused(p14, NELEM(p14), TRACEFILTER_E_PROGRAM_SCRATCH, "scratch never stored");
		expect_refused(p15, NELEM(p15), TRACEFILTER_E_PROGRAM_SCRATCH,
			       "scratch stored on one path only");
		expect_refused(p16, NELEM(p16), TRACEFILTER_E_PROGRAM_NO_RETURN, "ends with a load");
		expect_refused(p17, NELEM(p17), TRACEFILTER_E_PROGRAM_NO_RETURN, "no return at all");
		expect_refused(p18, NELEM(p18), TRACEFILTER_E_PROGRAM_JUMP, "ends with a jump");
	}
}

/*
 * Random instruction arrays, biased towards opcodes seccomp accepts and
 * small jump offsets: evaluate gives OK or a program status, disassemble
 * agrees with it, and nothing crashes (ASan watches the buffers).
 */
static void test_random_programs(void)
{
	static const uint16_t codes[] = {
		BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_LEN, BPF_LD | BPF_IMM,
		BPF_LD | BPF_MEM, BPF_LDX | BPF_IMM, BPF_LDX | BPF_MEM, BPF_LDX | BPF_W | BPF_LEN,
		BPF_ST, BPF_STX, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
		BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_DIV | BPF_X, BPF_ALU | BPF_DIV | BPF_K,
		BPF_ALU | BPF_RSH | BPF_K, BPF_ALU | BPF_NEG, BPF_ALU | BPF_AND | BPF_X,
		BPF_JMP | BPF_JA, BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JGT | BPF_X,
		BPF_JMP | BPF_JSET | BPF_K, BPF_JMP | BPF_JGE | BPF_K,
		BPF_RET | BPF_K, BPF_RET | BPF_A, BPF_RET | BPF_K, BPF_RET | BPF_K,
	};
	static struct sock_filter prog[64];
	int ok = 0, refused = 0;

	for (int round = 0; round < 3000; round++) {
		/* short programs pass the checker often, long ones rarely */
		unsigned short len = (unsigned short)(1 + rnd() % (round % 2 ? 6 : NELEM(prog)));
		struct sock_fprog f = { len, prog };
		uint32_t action, executed;
		int s;
		char *text;

		for (unsigned i = 0; i < len; i++) {
			uint32_t r = rnd();

			prog[i].code = (r % 16 == 0) ? (uint16_t)rnd() : codes[rnd() % NELEM(codes)];
			prog[i].jt = (uint8_t)(r % 8 == 1 ? rnd() : rnd() % 4);
			prog[i].jf = (uint8_t)(r % 8 == 2 ? rnd() : rnd() % 4);
			prog[i].k = r % 4 == 3 ? rnd() : rnd() % 20;
		}
		if (rnd() % 2)
			prog[len - 1] = (struct sock_filter)RET(rnd());
		snprintf(where, sizeof(where), "random program round %d, len %u", round, len);
		s = tracefilter_evaluate(&f, AUDIT_ARCH_X86_64, rnd() % 512, &action, &executed);
		CHECK(s == TRACEFILTER_OK ||
		      (s <= TRACEFILTER_E_PROGRAM_LENGTH && s >= TRACEFILTER_E_PROGRAM_NO_RETURN));
		if (s == TRACEFILTER_OK) {
			CHECK(executed >= 1 && executed <= len);
			ok++;
		} else {
			refused++;
		}
		text = disassemble_checked(&f);
		CHECK_EQ(contains(text, "; invalid program:"), s != TRACEFILTER_OK);
		free(text);
	}
	where[0] = 0;
	/* the generator reaches both sides */
	CHECK(ok > 100);
	CHECK(refused > 100);
	printf("random programs: %d accepted, %d refused\n", ok, refused);
}

/* ---- the CLONE_UNTRACED guard ---- */

static uint32_t nr_of(const struct tracefilter_personality *p, const char *name)
{
	uint32_t nr = 0;

	CHECK_STATUS(tracefilter_syscall_number(p->audit_arch, p->nr_flag, name, &nr),
		     TRACEFILTER_OK);
	return nr | p->nr_flag;
}

static void test_clone_guard(void)
{
	struct pers_buf b[3] = { make_pers("x86_64", 0), make_pers("i386", 0), make_pers("x32", 0) };
	struct tracefilter_personality pers[3];
	struct tracefilter_options o;
	struct tracefilter_program *plain, *guarded;
	struct tracefilter_stats sp, sg;
	const struct sock_fprog *f;
	uint32_t action, executed, cacheable, result = 7;
	int rc;

	for (int i = 0; i < 3; i++) {
		uint32_t openat = nr_of(&b[i].p, "openat") & ~b[i].p.nr_flag;

		b[i].bits[openat / 8] |= (uint8_t)(1u << (openat % 8));
		pers[i] = b[i].p;
	}
	tracefilter_options_init(&o);
	CHECK_EQ(o.flags, 0);
	CHECK_EQ(o.struct_size, 48);
	CHECK_STATUS(tracefilter_compile(pers, 3, &o, &plain), TRACEFILTER_OK);
	o.flags = TRACEFILTER_COMPILE_GUARD_UNTRACED;
	CHECK_STATUS(tracefilter_compile(pers, 3, &o, &guarded), TRACEFILTER_OK);
	f = tracefilter_program_fprog(guarded);
	for (int i = 0; i < 3; i++) {
		uint32_t arch = pers[i].audit_arch;

		snprintf(where, sizeof(where), "guard, personality %d", i);
		/* clone with flags 0 (the emulator's arguments) is allowed, uncached */
		CHECK_STATUS(tracefilter_evaluate(f, arch, nr_of(&pers[i], "clone"), &action, &executed),
			     TRACEFILTER_OK);
		CHECK_EQ(action, SECCOMP_RET_ALLOW);
		CHECK_STATUS(tracefilter_cacheable(f, arch, nr_of(&pers[i], "clone"), &cacheable),
			     TRACEFILTER_OK);
		CHECK_EQ(cacheable, 0);
		CHECK_STATUS(tracefilter_evaluate(f, arch, nr_of(&pers[i], "clone3"), &action, NULL),
			     TRACEFILTER_OK);
		CHECK_EQ(action, SECCOMP_RET_TRACE);
		CHECK_STATUS(tracefilter_evaluate(f, arch, nr_of(&pers[i], "openat"), &action, NULL),
			     TRACEFILTER_OK);
		CHECK_EQ(action, SECCOMP_RET_TRACE);
		CHECK_STATUS(tracefilter_evaluate(f, arch, nr_of(&pers[i], "getppid"), &action, NULL),
			     TRACEFILTER_OK);
		CHECK_EQ(action, SECCOMP_RET_ALLOW);
		if (i < 2) {
			CHECK_STATUS(tracefilter_cacheable(f, arch, nr_of(&pers[i], "getppid"),
							   &cacheable),
				     TRACEFILTER_OK);
			CHECK_EQ(cacheable, 1);
		}
	}
	/* the figures count clone and clone3 as stopped; the rest stays cacheable */
	sp.struct_size = sizeof(sp);
	sg.struct_size = sizeof(sg);
	CHECK_STATUS(tracefilter_program_stats(plain, &sp), TRACEFILTER_OK);
	CHECK_STATUS(tracefilter_program_stats(guarded, &sg), TRACEFILTER_OK);
	CHECK_EQ(sg.all_cacheable, 1);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(sg.personalities[i].allowed + 2, sp.personalities[i].allowed);
	tracefilter_program_free(plain);
	tracefilter_program_free(guarded);

	/* refusals: unknown flags, a traced action that is not RET_TRACE, an
	 * arch whose clone is unknown, an options struct of the previous size */
	o.flags = 0x2;
	expect_compile_error(pers, 3, &o, TRACEFILTER_E_INVALID, "unknown options flag");
	o.flags = TRACEFILTER_COMPILE_GUARD_UNTRACED;
	o.traced_action = SECCOMP_RET_TRAP;
	expect_compile_error(pers, 3, &o, TRACEFILTER_E_INVALID, "guard without RET_TRACE");
	o.traced_action = SECCOMP_RET_TRACE;
	{
		struct tracefilter_personality odd = pers[0];

		odd.audit_arch = 0x40001234;
		expect_compile_error(&odd, 1, &o, TRACEFILTER_E_INVALID, "guard of an unknown arch");
	}
	o.struct_size = 44; /* version 40 and a flags word it cannot read */
	expect_compile_error(pers, 3, &o, TRACEFILTER_E_INVALID, "struct_size 44 with flags set");
	o.struct_size = 40; /* the previous version: no flags, no guard */
	CHECK_STATUS(tracefilter_compile(pers, 3, &o, &plain), TRACEFILTER_OK);
	f = tracefilter_program_fprog(plain);
	CHECK_STATUS(tracefilter_cacheable(f, AUDIT_ARCH_X86_64, nr_of(&pers[0], "clone"), &cacheable),
		     TRACEFILTER_OK);
	CHECK_EQ(cacheable, 1);
	tracefilter_program_free(plain);

	/* the tracer's helper: flags checked first; a process not traced */
	CHECK_STATUS(tracefilter_untraced_clear(1, 0x80, &result), TRACEFILTER_E_INVALID);
	CHECK_EQ(result, 7);
	rc = tracefilter_untraced_clear(getpid(), 0, NULL);
	CHECK(rc == TRACEFILTER_E_PTRACE || rc == TRACEFILTER_E_UNSUPPORTED);
	where[0] = 0;
	for (int i = 0; i < 3; i++)
		free(b[i].bits);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	test_options_init();
	test_version_and_strerror();
	test_names();
	test_compile();
	test_compile_errors();
	test_foreign_programs();
	test_random_programs();
	test_clone_guard();
	printf("abi: ok, %lu checks\n", checks);
	return 0;
}
