/*
 * Per-syscall action maps through the C ABI (tracefilter_compile_actions),
 * against the built shared library and the committed header: exact values
 * (data bits included) under every strategy and objective, the figures,
 * the CLONE_UNTRACED guard, and every status the call documents that an
 * input can cause. Built and run by tests/c_abi.rs like tests/c/abi.c.
 * The last line on success is "actions: ok, N checks".
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tracefilter.h>

#include "check.h"

#define X32_BIT 0x40000000u
#define EXIT_TOO SECCOMP_RET_TRACE | 1u /* PRoot's FILTER_SYSEXIT */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	/* xorshift64*: fixed seed, so every run checks the same cases */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* The value the contract gives (arch, nr). */
static uint32_t expected(const struct tracefilter_action_map *maps, size_t n,
			 const struct tracefilter_options *o, uint32_t arch, uint32_t nr)
{
	int known = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t lo = maps[i].nr_flag, hi = lo + maps[i].nsyscalls;

		if (maps[i].audit_arch != arch)
			continue;
		known = 1;
		if (nr >= lo && nr < hi)
			return maps[i].actions[nr - maps[i].nr_flag];
	}
	return known ? o->unknown_nr_action : o->unknown_arch_action;
}

static void check_exact(const struct tracefilter_program *prog,
			const struct tracefilter_action_map *maps, size_t n,
			const struct tracefilter_options *o)
{
	const struct sock_fprog *f = tracefilter_program_fprog(prog);
	const uint32_t extra[] = { 0x3fffffff, X32_BIT - 1, X32_BIT + 600, 0xfffffffe, 0xffffffff };
	struct tracefilter_stats st;
	uint32_t action;

	CHECK(f != NULL && f->len > 0);
	for (size_t i = 0; i < n; i++) {
		for (uint32_t k = 0; k < maps[i].nsyscalls + 40; k++) {
			uint32_t nr = maps[i].nr_flag | k;

			CHECK_STATUS(tracefilter_evaluate(f, maps[i].audit_arch, nr, &action, NULL),
				     TRACEFILTER_OK);
			CHECK_EQ(action, expected(maps, n, o, maps[i].audit_arch, nr));
		}
		for (size_t k = 0; k < sizeof(extra) / sizeof(extra[0]); k++) {
			CHECK_STATUS(tracefilter_evaluate(f, maps[i].audit_arch, extra[k], &action, NULL),
				     TRACEFILTER_OK);
			CHECK_EQ(action, expected(maps, n, o, maps[i].audit_arch, extra[k]));
		}
	}
	CHECK_STATUS(tracefilter_evaluate(f, 0x12345678, 1, &action, NULL), TRACEFILTER_OK);
	CHECK_EQ(action, o->unknown_arch_action);

	/* the figures count exactly the SECCOMP_RET_ALLOW numbers */
	st.struct_size = sizeof(st);
	CHECK_STATUS(tracefilter_program_stats(prog, &st), TRACEFILTER_OK);
	CHECK_EQ(st.count, n);
	CHECK_EQ(st.length, f->len);
	for (size_t i = 0; i < n; i++) {
		uint32_t allowed = 0, all_cached = 1;

		for (uint32_t k = 0; k < maps[i].nsyscalls; k++) {
			uint32_t c;

			if (maps[i].actions[k] != SECCOMP_RET_ALLOW)
				continue;
			allowed++;
			CHECK_STATUS(tracefilter_cacheable(f, maps[i].audit_arch,
							   maps[i].nr_flag | k, &c),
				     TRACEFILTER_OK);
			all_cached &= c;
		}
		CHECK_EQ(st.personalities[i].allowed, allowed);
		CHECK_EQ(st.personalities[i].cacheable, maps[i].nr_flag ? 0 : all_cached);
	}
}

/* PRoot-like maps: x86_64 and x32 with TRACE|1, TRACE|0, ALLOW and an
 * ERRNO, i386 with scattered values. */
struct spec {
	uint32_t x64[462], x32[548], i386[451];
	struct tracefilter_action_map maps[3];
};

static void make_spec(struct spec *s)
{
	const uint32_t values[] = { SECCOMP_RET_ALLOW, SECCOMP_RET_TRACE, EXIT_TOO,
				    SECCOMP_RET_ERRNO | EPERM };

	for (uint32_t i = 0; i < 462; i++)
		s->x64[i] = rnd() % 4 ? SECCOMP_RET_ALLOW : values[rnd() % 4];
	for (uint32_t i = 0; i < 548; i++)
		s->x32[i] = i < 512 ? (i % 5 ? SECCOMP_RET_ALLOW : EXIT_TOO) : SECCOMP_RET_TRACE;
	for (uint32_t i = 0; i < 451; i++)
		s->i386[i] = values[rnd() % 4];
	s->maps[0] = (struct tracefilter_action_map){ AUDIT_ARCH_X86_64, 0, s->x64, 462 };
	s->maps[1] = (struct tracefilter_action_map){ AUDIT_ARCH_X86_64, X32_BIT, s->x32, 548 };
	s->maps[2] = (struct tracefilter_action_map){ AUDIT_ARCH_I386, 0, s->i386, 451 };
}

static void test_every_strategy(void)
{
	static struct spec s;
	struct tracefilter_options o;
	struct tracefilter_program *prog;

	make_spec(&s);
	tracefilter_options_init(&o);
	o.unknown_nr_action = SECCOMP_RET_ERRNO | ENOSYS;
	o.unknown_arch_action = SECCOMP_RET_KILL_PROCESS;
	for (uint32_t strategy = 0; strategy <= 5; strategy++) {
		for (uint32_t objective = 0; objective <= 1; objective++) {
			snprintf(where, sizeof(where), "strategy %u objective %u", strategy,
				 objective);
			o.strategy = strategy;
			o.objective = objective;
			CHECK_STATUS(tracefilter_compile_actions(s.maps, 3, &o, &prog),
				     TRACEFILTER_OK);
			check_exact(prog, s.maps, 3, &o);
			tracefilter_program_free(prog);
		}
	}
	where[0] = 0;
}

/* A bitmap is the map traced ? TRACE : ALLOW, and gives the same program. */
static void test_bitmap_special_case(void)
{
	uint8_t bits[58] = { 0 };
	uint32_t actions[462];
	struct tracefilter_personality p = { AUDIT_ARCH_X86_64, 0, bits, 462 };
	struct tracefilter_action_map m = { AUDIT_ARCH_X86_64, 0, actions, 462 };
	struct tracefilter_program *a, *b;
	const struct sock_fprog *fa, *fb;

	for (int i = 0; i < 40; i++) {
		uint32_t nr = rnd() % 462;

		bits[nr / 8] |= (uint8_t)(1u << (nr % 8));
	}
	for (uint32_t i = 0; i < 462; i++)
		actions[i] = (bits[i / 8] >> (i % 8)) & 1 ? SECCOMP_RET_TRACE : SECCOMP_RET_ALLOW;
	CHECK_STATUS(tracefilter_compile(&p, 1, NULL, &a), TRACEFILTER_OK);
	CHECK_STATUS(tracefilter_compile_actions(&m, 1, NULL, &b), TRACEFILTER_OK);
	fa = tracefilter_program_fprog(a);
	fb = tracefilter_program_fprog(b);
	CHECK_EQ(fa->len, fb->len);
	CHECK(memcmp(fa->filter, fb->filter, fa->len * sizeof(*fa->filter)) == 0);
	tracefilter_program_free(a);
	tracefilter_program_free(b);
}

static void expect(const struct tracefilter_action_map *maps, size_t n,
		   const struct tracefilter_options *o, int want, const char *what)
{
	struct tracefilter_program *prog = (struct tracefilter_program *)&prog;

	snprintf(where, sizeof(where), "%s", what);
	CHECK_STATUS(tracefilter_compile_actions(maps, n, o, &prog), want);
	CHECK(prog == NULL);
	where[0] = 0;
}

static void test_statuses(void)
{
	static uint32_t big[TRACEFILTER_MAX_NSYSCALLS + 1];
	uint32_t small[4] = { SECCOMP_RET_ALLOW, SECCOMP_RET_TRACE, SECCOMP_RET_ALLOW, EXIT_TOO };
	struct tracefilter_action_map m = { AUDIT_ARCH_X86_64, 0, small, 4 };
	struct tracefilter_action_map two[2] = { m, m };
	struct tracefilter_action_map many[TRACEFILTER_MAX_PERSONALITIES + 1];
	struct tracefilter_options o;
	struct tracefilter_program *prog;

	tracefilter_options_init(&o);

	/* E_NULL: maps, out, actions with nsyscalls > 0 */
	expect(NULL, 1, &o, TRACEFILTER_E_NULL, "maps NULL");
	CHECK_STATUS(tracefilter_compile_actions(&m, 1, &o, NULL), TRACEFILTER_E_NULL);
	m.actions = NULL;
	expect(&m, 1, &o, TRACEFILTER_E_NULL, "actions NULL");
	m.nsyscalls = 0; /* fine when empty: every number is unknown */
	CHECK_STATUS(tracefilter_compile_actions(&m, 1, &o, &prog), TRACEFILTER_OK);
	check_exact(prog, &m, 1, &o);
	tracefilter_program_free(prog);
	m = (struct tracefilter_action_map){ AUDIT_ARCH_X86_64, 0, small, 4 };

	/* E_INVALID: an action the kernel does not know, count, nsyscalls,
	 * bad options, weights for another count */
	small[2] = 0x00010000u;
	expect(&m, 1, &o, TRACEFILTER_E_INVALID, "unknown action part");
	small[2] = SECCOMP_RET_ACTION_FULL;
	expect(&m, 1, &o, TRACEFILTER_E_INVALID, "action part 0xffff0000");
	small[2] = SECCOMP_RET_ALLOW | 5; /* data bits are the caller's */
	CHECK_STATUS(tracefilter_compile_actions(&m, 1, &o, &prog), TRACEFILTER_OK);
	check_exact(prog, &m, 1, &o);
	tracefilter_program_free(prog);
	small[2] = SECCOMP_RET_ALLOW;
	expect(&m, 0, &o, TRACEFILTER_E_INVALID, "count 0");
	for (size_t i = 0; i < TRACEFILTER_MAX_PERSONALITIES + 1; i++)
		many[i] = (struct tracefilter_action_map){ (uint32_t)i + 1, 0, small, 4 };
	expect(many, TRACEFILTER_MAX_PERSONALITIES + 1, &o, TRACEFILTER_E_INVALID, "count 65");
	CHECK_STATUS(tracefilter_compile_actions(many, TRACEFILTER_MAX_PERSONALITIES, &o, &prog),
		     TRACEFILTER_OK);
	tracefilter_program_free(prog);
	for (size_t i = 0; i <= TRACEFILTER_MAX_NSYSCALLS; i++)
		big[i] = SECCOMP_RET_ALLOW;
	m.actions = big;
	m.nsyscalls = TRACEFILTER_MAX_NSYSCALLS + 1;
	expect(&m, 1, &o, TRACEFILTER_E_INVALID, "nsyscalls too large");
	m = (struct tracefilter_action_map){ AUDIT_ARCH_X86_64, 0x2, small, 4 };
	expect(&m, 1, &o, TRACEFILTER_E_INVALID, "nr_flag overlaps the numbers");
	m.nr_flag = 0;
	o.unknown_arch_action = 0x00010000u;
	expect(&m, 1, &o, TRACEFILTER_E_INVALID, "unknown_arch_action unknown");
	tracefilter_options_init(&o);
	o.weights_count = 2;
	expect(&m, 1, &o, TRACEFILTER_E_INVALID, "weights_count differs");
	tracefilter_options_init(&o);

	/* E_OVERLAP */
	expect(two, 2, &o, TRACEFILTER_E_OVERLAP, "same arch and flag twice");

	/* E_LIMIT: runs of equal values, then numbers in all */
	for (size_t i = 0; i < TRACEFILTER_MAX_RUNS + 1; i++)
		big[i] = i % 2 ? SECCOMP_RET_TRACE : SECCOMP_RET_ALLOW;
	m = (struct tracefilter_action_map){ AUDIT_ARCH_X86_64, 0, big, TRACEFILTER_MAX_RUNS + 1 };
	expect(&m, 1, &o, TRACEFILTER_E_LIMIT, "too many runs");
	for (size_t i = 0; i <= TRACEFILTER_MAX_NSYSCALLS; i++)
		big[i] = SECCOMP_RET_ALLOW;
	{
		struct tracefilter_action_map three[3];

		for (uint32_t i = 0; i < 3; i++)
			three[i] = (struct tracefilter_action_map){ i + 1, 0, big,
								    TRACEFILTER_MAX_NSYSCALLS };
		expect(three, 3, &o, TRACEFILTER_E_LIMIT, "too many numbers");
	}

	/* E_TOO_LARGE: thousands of runs are too long for a forced search */
	for (size_t i = 0; i < 12000; i++)
		big[i] = (i / 3) % 3 == 0 ? SECCOMP_RET_TRACE : (i % 2 ? EXIT_TOO : SECCOMP_RET_ALLOW);
	m = (struct tracefilter_action_map){ AUDIT_ARCH_X86_64, 0, big, 12000 };
	o.strategy = TRACEFILTER_STRATEGY_SEARCH;
	expect(&m, 1, &o, TRACEFILTER_E_TOO_LARGE, "forced search on 12000 numbers");

	/* E_STRATEGY: bits needs a block of two values with three boundaries;
	 * jset a block where single-bit tests beat comparisons */
	for (size_t i = 0; i < 512; i++)
		big[i] = i % 3 == 0 ? SECCOMP_RET_TRACE : (i % 3 == 1 ? EXIT_TOO : SECCOMP_RET_ALLOW);
	m = (struct tracefilter_action_map){ AUDIT_ARCH_X86_64, 0, big, 512 };
	o.strategy = TRACEFILTER_STRATEGY_BITS;
	expect(&m, 1, &o, TRACEFILTER_E_STRATEGY, "bits on blocks of three values");
	o.strategy = TRACEFILTER_STRATEGY_JSET;
	CHECK_STATUS(tracefilter_compile_actions(&m, 1, &o, &prog), TRACEFILTER_OK);
	check_exact(prog, &m, 1, &o);
	tracefilter_program_free(prog);
	m = (struct tracefilter_action_map){ AUDIT_ARCH_X86_64, 0, small, 4 };
	small[1] = small[3] = SECCOMP_RET_ALLOW;
	expect(&m, 1, &o, TRACEFILTER_E_STRATEGY, "jset on one value");
	small[1] = SECCOMP_RET_TRACE;
	small[3] = EXIT_TOO;
	tracefilter_options_init(&o);

	/* TRACEFILTER_E_NO_MEMORY and TRACEFILTER_E_VERIFY cannot be caused by
	 * an input within the limits (the limits keep a compile within 48 MiB;
	 * a failed proof is a library bug); their texts exist: */
	CHECK(strcmp(tracefilter_strerror(TRACEFILTER_E_NO_MEMORY), "unknown status") != 0);
	CHECK(strcmp(tracefilter_strerror(TRACEFILTER_E_VERIFY), "unknown status") != 0);
}

static void test_clone_guard(void)
{
	static struct spec s;
	struct tracefilter_options o;
	struct tracefilter_program *prog;
	const struct sock_fprog *f;
	struct tracefilter_stats st;
	uint32_t action, cacheable;
	uint32_t clone_nr = 56, clone3_nr = 435, allowed = 0;

	make_spec(&s);
	s.x64[clone_nr] = SECCOMP_RET_ALLOW;
	s.x64[clone3_nr] = SECCOMP_RET_ALLOW;
	s.i386[120] = EXIT_TOO; /* a clone that already stops keeps its value */
	s.i386[435] = SECCOMP_RET_ERRNO | ENOSYS; /* and so does a failing clone3 */
	tracefilter_options_init(&o);
	o.flags = TRACEFILTER_COMPILE_GUARD_UNTRACED;
	CHECK_STATUS(tracefilter_compile_actions(s.maps, 3, &o, &prog), TRACEFILTER_OK);
	f = tracefilter_program_fprog(prog);
	/* the emulator's arguments are 0: clone without CLONE_UNTRACED */
	CHECK_STATUS(tracefilter_evaluate(f, AUDIT_ARCH_X86_64, clone_nr, &action, NULL),
		     TRACEFILTER_OK);
	CHECK_EQ(action, SECCOMP_RET_ALLOW);
	CHECK_STATUS(tracefilter_cacheable(f, AUDIT_ARCH_X86_64, clone_nr, &cacheable),
		     TRACEFILTER_OK);
	CHECK_EQ(cacheable, 0);
	CHECK_STATUS(tracefilter_evaluate(f, AUDIT_ARCH_X86_64, clone3_nr, &action, NULL),
		     TRACEFILTER_OK);
	CHECK_EQ(action, SECCOMP_RET_TRACE);
	CHECK_STATUS(tracefilter_evaluate(f, AUDIT_ARCH_I386, 120, &action, NULL), TRACEFILTER_OK);
	CHECK_EQ(action, EXIT_TOO);
	CHECK_STATUS(tracefilter_evaluate(f, AUDIT_ARCH_I386, 435, &action, NULL), TRACEFILTER_OK);
	CHECK_EQ(action, SECCOMP_RET_ERRNO | ENOSYS);
	/* every other value stays */
	for (uint32_t k = 0; k < 462; k++) {
		if (k == clone_nr || k == clone3_nr)
			continue;
		CHECK_STATUS(tracefilter_evaluate(f, AUDIT_ARCH_X86_64, k, &action, NULL),
			     TRACEFILTER_OK);
		CHECK_EQ(action, s.x64[k]);
		allowed += s.x64[k] == SECCOMP_RET_ALLOW;
	}
	/* the figures count the guarded clone and clone3 as stopped */
	st.struct_size = sizeof(st);
	CHECK_STATUS(tracefilter_program_stats(prog, &st), TRACEFILTER_OK);
	CHECK_EQ(st.personalities[0].allowed, allowed);
	CHECK_EQ(st.personalities[0].cacheable, 1);
	tracefilter_program_free(prog);

	o.traced_action = SECCOMP_RET_TRAP;
	expect(s.maps, 3, &o, TRACEFILTER_E_INVALID, "guard without RET_TRACE");
	o.traced_action = SECCOMP_RET_TRACE;
	s.maps[2].audit_arch = 0x40001234;
	expect(s.maps, 3, &o, TRACEFILTER_E_INVALID, "guard of an arch whose clone is unknown");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	test_every_strategy();
	test_bitmap_special_case();
	test_statuses();
	test_clone_guard();
	printf("actions: ok, %lu checks\n", checks);
	return 0;
}
