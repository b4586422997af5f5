/*
 * A randomised harness over the whole C ABI of tracefilter, built and run
 * with -fsanitize=address,undefined by tests/fuzz.sh.
 *
 *   fuzz [--seed N] [--seconds S] [--cases N] [--case N] [--kernel-every K]
 *
 * Every case draws from its own generator, seeded by (seed, case number):
 * `--seed N --case C` replays case C alone, and a failure prints both.
 * A case is one specification (near and past every limit: personalities,
 * numbers, runs, flags, overlaps, NULL bitmaps), hostile options (actions,
 * strategies, objectives, struct sizes, weights that are NaN, infinite or
 * negative), a compile, and then:
 *   - the status against the reasons this file finds in the input itself;
 *   - every returned program checked by an interpreter written here, not the
 *     library's: all numbers of small personalities, every boundary and a
 *     random sample of large ones, numbers past them, unknown arches; with
 *     the CLONE_UNTRACED guard (one spec in five asks for it), every number
 *     again with CLONE_UNTRACED in clone's flags; the library's evaluate,
 *     cacheable and stats against this file's interpreter and its copy of
 *     the kernel's action-cache prover;
 *   - hostile programs (random and mutated) through evaluate, cacheable and
 *     disassemble, checked against this file's copy of the kernel's rules;
 *   - for three cases in ten, the same personalities as action maps of 1 to
 *     6 values through tracefilter_compile_actions: the status against the
 *     input, every number against the maps, the figures;
 *   - on a sample, the real kernel: the same spec compiled with four
 *     distinct SECCOMP_RET_ERRNO actions, installed in a child that makes
 *     raw syscalls (syscall and int $0x80) and records which action each got.
 * The last line is "fuzz: ok, ..." with the figures; any failure prints the
 * case and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tracefilter.h>

#define X32_BIT 0x40000000u
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- figures and failures ---- */

static uint64_t seed = 1;
static uint64_t case_no;
static struct {
	uint64_t specs, compiles, programs, guarded, numbers, statuses[32], hostile, hostile_valid,
		kernel_programs, kernel_syscalls, kernel_skipped;
} fig;

#define FAIL(...)                                                                  \
	do {                                                                       \
		fprintf(stderr, "fuzz: FAIL at %s:%d, case %llu (replay: --seed %llu --case %llu): ", \
			__FILE__, __LINE__, (unsigned long long)case_no,          \
			(unsigned long long)seed, (unsigned long long)case_no);    \
		fprintf(stderr, __VA_ARGS__);                                      \
		fprintf(stderr, "\n");                                             \
		exit(1);                                                           \
	} while (0)

#define CHECK(cond, fmt, ...)                                                      \
	do {                                                                       \
		if (!(cond))                                                       \
			FAIL("%s: " fmt, #cond, ##__VA_ARGS__);                    \
	} while (0)

/* ---- the generator: splitmix64, one stream per case ---- */

static uint64_t rng;

static uint64_t next64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd(void) { return (uint32_t)(next64() >> 32); }
static uint32_t below(uint32_t n) { return n ? rnd() % n : 0; }
static int chance(unsigned percent) { return below(100) < percent; }

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		FAIL("out of memory in the harness");
	return p;
}

/* ---- the kernel's rules, restated (net/core/filter.c bpf_check_classic,
 * kernel/seccomp.c seccomp_check_filter and seccomp_is_const_allow) ---- */

#define SECCOMP_DATA_SIZE 64u

static int opcode_allowed(uint16_t code)
{
	static const uint16_t ok[] = {
		BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN,
		BPF_RET | BPF_K, BPF_RET | BPF_A,
		BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_ADD | BPF_X,
		BPF_ALU | BPF_SUB | BPF_K, BPF_ALU | BPF_SUB | BPF_X,
		BPF_ALU | BPF_MUL | BPF_K, BPF_ALU | BPF_MUL | BPF_X,
		BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_DIV | BPF_X,
		BPF_ALU | BPF_AND | BPF_K, BPF_ALU | BPF_AND | BPF_X,
		BPF_ALU | BPF_OR | BPF_K, BPF_ALU | BPF_OR | BPF_X,
		BPF_ALU | BPF_XOR | BPF_K, BPF_ALU | BPF_XOR | BPF_X,
		BPF_ALU | BPF_LSH | BPF_K, BPF_ALU | BPF_LSH | BPF_X,
		BPF_ALU | BPF_RSH | BPF_K, BPF_ALU | BPF_RSH | BPF_X,
		BPF_ALU | BPF_NEG,
		BPF_LD | BPF_IMM, BPF_LDX | BPF_IMM, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
		BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX,
		BPF_JMP | BPF_JA,
		BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JEQ | BPF_X,
		BPF_JMP | BPF_JGE | BPF_K, BPF_JMP | BPF_JGE | BPF_X,
		BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JGT | BPF_X,
		BPF_JMP | BPF_JSET | BPF_K, BPF_JMP | BPF_JSET | BPF_X,
	};
	for (size_t i = 0; i < NELEM(ok); i++)
		if (ok[i] == code)
			return 1;
	return 0;
}

static int is_cond_jump(uint16_t code)
{
	return BPF_CLASS(code) == BPF_JMP && BPF_OP(code) != BPF_JA;
}

/* 1 when the kernel would accept the program. */
static int kernel_accepts(const struct sock_filter *f, unsigned len)
{
	uint16_t masks[BPF_MAXINSNS], memvalid = 0;

	if (len == 0 || len > BPF_MAXINSNS)
		return 0;
	for (unsigned pc = 0; pc < len; pc++) {
		uint16_t c = f[pc].code;
		uint32_t k = f[pc].k;

		if (!opcode_allowed(c))
			return 0;
		if (c == (BPF_LD | BPF_W | BPF_ABS) && (k >= SECCOMP_DATA_SIZE || (k & 3)))
			return 0;
		if ((c == (BPF_ALU | BPF_DIV | BPF_K)) && k == 0)
			return 0;
		if ((c == (BPF_ALU | BPF_LSH | BPF_K) || c == (BPF_ALU | BPF_RSH | BPF_K)) && k >= 32)
			return 0;
		if ((c == (BPF_LD | BPF_MEM) || c == (BPF_LDX | BPF_MEM) || c == BPF_ST ||
		     c == BPF_STX) && k >= 16)
			return 0;
		if (c == (BPF_JMP | BPF_JA) && k >= len - pc - 1)
			return 0;
		if (is_cond_jump(c) && (pc + f[pc].jt + 1 >= len || pc + f[pc].jf + 1 >= len))
			return 0;
	}
	if (BPF_CLASS(f[len - 1].code) != BPF_RET)
		return 0;
	memset(masks, 0xff, sizeof(masks));
	for (unsigned pc = 0; pc < len; pc++) {
		uint16_t c = f[pc].code;

		memvalid &= masks[pc];
		if (c == BPF_ST || c == BPF_STX) {
			memvalid |= 1u << f[pc].k;
		} else if (c == (BPF_LD | BPF_MEM) || c == (BPF_LDX | BPF_MEM)) {
			if (!(memvalid & (1u << f[pc].k)))
				return 0;
		} else if (c == (BPF_JMP | BPF_JA)) {
			masks[pc + 1 + f[pc].k] &= memvalid;
			memvalid = 0xffff;
		} else if (is_cond_jump(c)) {
			masks[pc + 1 + f[pc].jt] &= memvalid;
			masks[pc + 1 + f[pc].jf] &= memvalid;
			memvalid = 0xffff;
		}
	}
	return 1;
}

struct run {
	uint32_t action, executed;
};

/* Runs an accepted program on { nr, arch } with the low word of the first
 * argument `arg0` (ip and the rest 0). */
static struct run interpret_arg(const struct sock_filter *f, unsigned len, uint32_t arch,
				uint32_t nr, uint32_t arg0)
{
	uint32_t a = 0, x = 0, mem[16] = { 0 }, executed = 0;
	unsigned pc = 0;

	for (;;) {
		const struct sock_filter *i = &f[pc++];
		uint32_t k, src;

		if (pc > len) /* an accepted program never runs off its end */
			FAIL("interpreter ran off the program");
		k = i->k;
		src = BPF_SRC(i->code) == BPF_X ? x : k;

		executed++;
		switch (BPF_CLASS(i->code)) {
		case BPF_RET:
			return (struct run){ BPF_RVAL(i->code) == BPF_A ? a : k, executed };
		case BPF_LD:
			if (BPF_MODE(i->code) == BPF_ABS)
				a = k == 0 ? nr : k == 4 ? arch : k == 16 ? arg0 : 0;
			else if (BPF_MODE(i->code) == BPF_LEN)
				a = SECCOMP_DATA_SIZE;
			else if (BPF_MODE(i->code) == BPF_IMM)
				a = k;
			else
				a = mem[k];
			break;
		case BPF_LDX:
			x = BPF_MODE(i->code) == BPF_LEN ? SECCOMP_DATA_SIZE :
			    BPF_MODE(i->code) == BPF_IMM ? k : mem[k];
			break;
		case BPF_ST:
			mem[k] = a;
			break;
		case BPF_STX:
			mem[k] = x;
			break;
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		case BPF_ALU:
			switch (BPF_OP(i->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_MUL: a *= src; break;
			case BPF_DIV:
				/* classic BPF: division by a zero X ends the program with 0 */
				if (src == 0)
					return (struct run){ 0, executed };
				a /= src;
				break;
			case BPF_AND: a &= src; break;
			case BPF_OR: a |= src; break;
			case BPF_XOR: a ^= src; break;
			/* the kernel shifts by X modulo 32 (kernel/bpf/core.c, ALU_LSH_X:
			 * DST = (u32) DST << (SRC & 31); the checker refuses constant
			 * shifts of 32 or more) */
			case BPF_LSH: a <<= src & 31; break;
			case BPF_RSH: a >>= src & 31; break;
			case BPF_NEG: a = -a; break;
			}
			break;
		case BPF_JMP: {
			int taken;

			switch (BPF_OP(i->code)) {
			case BPF_JA: pc += k; continue;
			case BPF_JEQ: taken = a == src; break;
			case BPF_JGT: taken = a > src; break;
			case BPF_JGE: taken = a >= src; break;
			default: taken = (a & src) != 0; break;
			}
			pc += taken ? i->jt : i->jf;
			break;
		}
		}
	}
}

static struct run interpret(const struct sock_filter *f, unsigned len, uint32_t arch, uint32_t nr)
{
	return interpret_arg(f, len, arch, nr, 0);
}

/* ---- the CLONE_UNTRACED guard ---- */

#define CLONE_UNTRACED 0x00800000u

/* clone's and clone3's numbers for the personalities of this file's arches
 * the guard knows (every one of them little-endian, clone's flags the first
 * argument): arch/x86/entry/syscalls/syscall_{64,32}.tbl (x32 shares
 * x86_64's common numbers), arch/arm/tools/syscall.tbl,
 * include/uapi/asm-generic/unistd.h (aarch64, riscv64). */
static int clone_nrs(uint32_t arch, uint32_t flag, uint32_t *clone, uint32_t *clone3)
{
	*clone3 = 435;
	if (arch == AUDIT_ARCH_X86_64 && (flag == 0 || flag == X32_BIT))
		*clone = 56;
	else if ((arch == AUDIT_ARCH_I386 || arch == AUDIT_ARCH_ARM) && flag == 0)
		*clone = 120;
	else if ((arch == AUDIT_ARCH_AARCH64 || arch == AUDIT_ARCH_RISCV64) && flag == 0)
		*clone = 220;
	else
		return 0;
	return 1;
}

/* seccomp_is_const_allow (Linux 5.11+), without the uprobe exception that
 * the library leaves to its documentation. */
static int const_allow(const struct sock_filter *f, unsigned len, uint32_t arch, uint32_t nr)
{
	uint32_t reg = 0;

	for (unsigned pc = 0; pc < len; pc++) {
		const struct sock_filter *i = &f[pc];
		int res;

		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (i->k == 0)
				reg = nr;
			else if (i->k == 4)
				reg = arch;
			else
				return 0;
			break;
		case BPF_RET | BPF_K:
			return i->k == SECCOMP_RET_ALLOW;
		case BPF_JMP | BPF_JA:
			pc += i->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_K:
			res = BPF_OP(i->code) == BPF_JEQ ? reg == i->k :
			      BPF_OP(i->code) == BPF_JGE ? reg >= i->k :
			      BPF_OP(i->code) == BPF_JGT ? reg > i->k : (reg & i->k) != 0;
			pc += res ? i->jt : i->jf;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			reg &= i->k;
			break;
		default:
			return 0;
		}
	}
	return 0;
}

/* What tracefilter_cacheable answers: x32 numbers and negative ones lie
 * outside the kernel's cache bitmap (seccomp_cache_check_allow_bitmap),
 * whatever the program. */
static int kernel_caches(const struct sock_filter *f, unsigned len, uint32_t arch, uint32_t nr)
{
	return !(arch == AUDIT_ARCH_X86_64 && nr & X32_BIT) && !(nr & 0x80000000u) &&
	       const_allow(f, len, arch, nr);
}

/* ---- specifications ---- */

struct spec {
	size_t count;
	struct tracefilter_personality pers[70];
	uint8_t *bits[70];
	int null_pers;
	/* options: NULL, or a buffer of `opts_size` bytes starting with the struct */
	int null_opts;
	unsigned char opts_buf[96];
	double *weights[70];
	const double *weight_ptrs[70];
	int null_weights;
};

static int bit(const struct tracefilter_personality *p, uint32_t i)
{
	return (p->traced[i / 8] >> (i % 8)) & 1;
}

static uint32_t runs_of(const struct tracefilter_personality *p)
{
	uint32_t runs = 0;

	for (uint32_t i = 0; i < p->nsyscalls; i++)
		runs += i == 0 || bit(p, i) != bit(p, i - 1);
	return runs;
}

static const uint32_t arches[] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64,
				   AUDIT_ARCH_ARM, AUDIT_ARCH_RISCV64, 0, 0xffffffffu };

static uint32_t gen_nsyscalls(void)
{
	switch (below(14)) {
	case 0: return 0;
	case 1: return 1 + below(8);
	case 2: case 3: case 4: return 1 + below(600);
	case 5: return 300 + below(6500);
	case 6: return 65536 - 4 + below(16);
	case 7: return TRACEFILTER_MAX_RUNS - 2 + below(5);
	case 8: return TRACEFILTER_MAX_NSYSCALLS - 1 + below(3);
	case 9: return below(TRACEFILTER_MAX_NSYSCALLS);
	case 10: return 1u << below(21);
	case 11: return 0x0f0006; /* ARM with its private numbers */
	default: return 1 + below(4096);
	}
}

static void fill_bits(uint8_t *b, uint32_t n)
{
	size_t bytes = (n + 7) / 8;
	unsigned pattern = below(9);
	uint32_t period = 2 + below(63), phase = below(64), p = below(101);

	for (uint32_t i = 0; i < n; i++) {
		int t;

		switch (pattern) {
		case 0: t = 0; break;
		case 1: t = 1; break;
		case 2: t = i % 2; break;
		case 3: t = (i + phase) % period == 0; break;
		case 4: t = ((i + phase) / (1 + period / 4)) % 2; break;
		case 5: t = below(100) < p; break;
		case 6: t = below(64) == 0; break;
		case 7: t = below(64) != 0; break;
		default: t = (i & (1u << (phase % 6))) != 0; break;
		}
		if (t)
			b[i / 8] |= 1u << (i % 8);
	}
	/* bits past nsyscalls are ignored: set some */
	if (n % 8 && chance(50))
		b[bytes - 1] |= (uint8_t)(0xff << (n % 8));
}

static uint32_t gen_action(void)
{
	static const uint32_t pool[] = {
		SECCOMP_RET_TRACE, SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS,
		SECCOMP_RET_KILL_THREAD, SECCOMP_RET_ERRNO | 1, SECCOMP_RET_ERRNO | 38,
		SECCOMP_RET_TRAP | 7, SECCOMP_RET_LOG, SECCOMP_RET_USER_NOTIF, SECCOMP_RET_TRACE | 5,
	};
	if (chance(3))
		return rnd(); /* most are not actions */
	return pool[below(NELEM(pool))];
}

static int action_valid(uint32_t v)
{
	uint32_t data = v & SECCOMP_RET_DATA;

	switch (v & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_TRAP:
	case SECCOMP_RET_ERRNO:
	case SECCOMP_RET_TRACE:
		return 1;
	case SECCOMP_RET_KILL_PROCESS:
	case SECCOMP_RET_KILL_THREAD:
	case SECCOMP_RET_USER_NOTIF:
	case SECCOMP_RET_LOG:
	case SECCOMP_RET_ALLOW:
		return data == 0;
	}
	return 0;
}

static double gen_weight(void)
{
	switch (below(40)) {
	case 0: return NAN;
	case 1: return INFINITY;
	case 2: return -1.0;
	case 3: return 1e300;
	case 4: return 5e-324;
	case 5: return 0.0;
	default: return (double)below(1000) / 7.0;
	}
}

static void free_spec(struct spec *s)
{
	for (size_t i = 0; i < NELEM(s->bits); i++) {
		free(s->bits[i]);
		free(s->weights[i]);
	}
}

static struct tracefilter_options *opts_of(struct spec *s)
{
	return s->null_opts ? NULL : (struct tracefilter_options *)s->opts_buf;
}

static void gen_spec(struct spec *s)
{
	struct tracefilter_options *o = (struct tracefilter_options *)s->opts_buf;
	unsigned shape = below(20);

	memset(s, 0, sizeof(*s));
	s->count = shape == 0 ? below(70) : 1 + below(shape < 10 ? 3 : 5);
	if (shape == 1) { /* both limits at once, or just past one */
		s->count = 2 + below(2);
	}
	for (size_t i = 0; i < s->count; i++) {
		struct tracefilter_personality *p = &s->pers[i];
		uint32_t n = gen_nsyscalls();

		if (shape == 1)
			n = i < 2 ? TRACEFILTER_MAX_NSYSCALLS : below(3);
		p->audit_arch = arches[below(NELEM(arches))];
		if (chance(5))
			p->audit_arch = rnd();
		p->nr_flag = 0;
		if (chance(20))
			p->nr_flag = X32_BIT;
		else if (chance(3))
			p->nr_flag = 1u << below(32);
		else if (chance(1))
			p->nr_flag = rnd();
		if (chance(70) && i > 0 && p->nr_flag == 0 && s->pers[0].audit_arch == p->audit_arch)
			p->audit_arch ^= 1 + below(3); /* mostly distinct arches */
		p->nsyscalls = n;
		s->bits[i] = xcalloc((n + 7) / 8, 1);
		fill_bits(s->bits[i], n);
		p->traced = s->bits[i];
		if (n == 0 && chance(50))
			p->traced = NULL;
		if (n > 0 && chance(1))
			p->traced = NULL;
	}
	s->null_pers = chance(1);

	s->null_opts = chance(15);
	tracefilter_options_init(o);
	if (chance(60)) {
		o->traced_action = chance(50) ? gen_action() : o->traced_action;
		o->allowed_action = chance(40) ? gen_action() : o->allowed_action;
		o->unknown_nr_action = chance(40) ? gen_action() : o->unknown_nr_action;
		o->unknown_arch_action = chance(40) ? gen_action() : o->unknown_arch_action;
	}
	o->strategy = chance(50) ? below(6) : 0;
	if (chance(3))
		o->strategy = chance(50) ? 6 : rnd();
	o->objective = chance(40);
	if (chance(3))
		o->objective = 2 + below(5);
	/* The guard, and now and then flags the library does not know. */
	if (chance(20))
		o->flags = TRACEFILTER_COMPILE_GUARD_UNTRACED;
	if (chance(3))
		o->flags |= rnd() & ~(uint32_t)TRACEFILTER_COMPILE_GUARD_UNTRACED;
	switch (below(30)) {
	case 0: o->struct_size = 28; break; /* first published size: no weights */
	case 1: o->struct_size = below(96); break;
	case 2: o->struct_size = sizeof(*o) + 4 * (1 + below(8)); break; /* zero tail */
	case 3:
		o->struct_size = sizeof(*o) + 8;
		s->opts_buf[sizeof(*o) + below(8)] = 1 + below(255); /* a field we do not know */
		break;
	default: break;
	}
	if (chance(25) && s->count < NELEM(s->weights)) {
		o->weights_count = chance(90) ? (uint32_t)s->count : below(5);
		for (size_t i = 0; i < s->count; i++) {
			uint32_t n = s->pers[i].nsyscalls;

			if (chance(25) || n > (1u << 17))
				continue; /* NULL: default weights */
			s->weights[i] = xcalloc(n, sizeof(double));
			for (uint32_t k = 0; k < n; k++)
				s->weights[i][k] = gen_weight();
			/* one array in ten holds a weight that is not a finite,
			 * non-negative number */
			for (uint32_t k = 0; k < n; k++)
				if (!isfinite(s->weights[i][k]) || s->weights[i][k] < 0)
					s->weights[i][k] = 1;
			if (n && chance(10))
				s->weights[i][below(n)] = chance(50) ? NAN : chance(50) ? -INFINITY : -1e-300;
			s->weight_ptrs[i] = s->weights[i];
		}
		o->weights = s->weight_ptrs;
		s->null_weights = chance(2);
		if (s->null_weights)
			o->weights = NULL;
	}
}

/* ---- the statuses this file expects, from the input alone ---- */

enum { R_NULL = 1, R_INVALID = 2, R_OVERLAP = 4, R_LIMIT = 8 };

/* The guard stops with traced_action, so it must be a TRACE, and it must
 * know clone's number in every personality with numbers. */
static unsigned guard_reasons(const struct spec *s, uint32_t traced, const uint32_t *counts)
{
	uint32_t c, c3;

	if ((traced & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_TRACE)
		return R_INVALID;
	for (size_t i = 0; i < s->count; i++)
		if ((counts ? counts[i] : s->pers[i].nsyscalls) &&
		    !clone_nrs(s->pers[i].audit_arch, s->pers[i].nr_flag, &c, &c3))
			return R_INVALID;
	return 0;
}

static unsigned reasons(const struct spec *s, int *forced)
{
	const struct tracefilter_options *o = (const struct tracefilter_options *)s->opts_buf;
	unsigned r = 0;
	uint64_t total = 0, runs = 0;
	int weights_read = 1;

	*forced = 0;
	if (s->count == 0 || s->count > TRACEFILTER_MAX_PERSONALITIES)
		return R_INVALID;
	if (s->null_pers)
		return R_NULL;
	if (!s->null_opts) {
		uint32_t size = o->struct_size;

		/* The rule of every versioned struct: the largest published
		 * version that fits in struct_size is read (28; 40 with the
		 * weights; 48 with flags), later fields take their defaults, and
		 * every byte past that version up to struct_size must be 0. */
		uint32_t known = size >= 48 ? 48 : size >= 40 ? 40 : 28;

		if (size < 28)
			return r | R_INVALID; /* below the first version: nothing else read */
		for (size_t i = known; i < size; i++)
			if (s->opts_buf[i])
				return r | R_INVALID;
		weights_read = known >= 40;
		if (known >= 48 && o->flags & ~(uint32_t)TRACEFILTER_COMPILE_GUARD_UNTRACED)
			r |= R_INVALID;
		if (known >= 48 && o->flags & TRACEFILTER_COMPILE_GUARD_UNTRACED)
			r |= guard_reasons(s, o->traced_action, NULL);
		if (o->strategy > 5 || o->objective > 1)
			r |= R_INVALID;
		if (!action_valid(o->traced_action) || !action_valid(o->allowed_action) ||
		    !action_valid(o->unknown_nr_action) || !action_valid(o->unknown_arch_action))
			r |= R_INVALID;
		*forced = o->strategy != 0;
	}
	for (size_t i = 0; i < s->count; i++) {
		const struct tracefilter_personality *p = &s->pers[i];

		total += p->nsyscalls;
		if (p->nsyscalls > TRACEFILTER_MAX_NSYSCALLS) {
			r |= R_INVALID;
			continue;
		}
		if (!p->traced && p->nsyscalls)
			r |= R_NULL;
		if (p->nsyscalls) {
			uint32_t span = p->nsyscalls == 1 ? 0 :
					0xffffffffu >> __builtin_clz(p->nsyscalls - 1);
			if (p->nr_flag & span)
				r |= R_INVALID;
		}
		if (p->traced)
			runs += runs_of(p);
		for (size_t j = 0; j < i; j++) {
			const struct tracefilter_personality *q = &s->pers[j];
			uint64_t a0 = p->nr_flag, a1 = a0 + p->nsyscalls, b0 = q->nr_flag,
				 b1 = b0 + q->nsyscalls;

			if (q->audit_arch != p->audit_arch)
				continue;
			if (q->nr_flag == p->nr_flag ||
			    (a1 > a0 && b1 > b0 && a0 < b1 && b0 < a1))
				r |= R_OVERLAP;
		}
	}
	if (total > TRACEFILTER_MAX_TOTAL_NSYSCALLS || runs > TRACEFILTER_MAX_RUNS)
		r |= R_LIMIT;
	if (!s->null_opts && weights_read && o->weights_count) {
		if (o->weights_count != s->count)
			r |= R_INVALID;
		else if (!o->weights)
			r |= R_NULL;
		else
			for (size_t i = 0; i < s->count; i++) {
				const double *w = o->weights[i];

				for (uint32_t k = 0; w && k < s->pers[i].nsyscalls &&
						      s->pers[i].nsyscalls <= TRACEFILTER_MAX_NSYSCALLS;
				     k++)
					if (!isfinite(w[k]) || w[k] < 0)
						r |= R_INVALID;
			}
	}
	return r;
}

static int status_of_reason(unsigned r)
{
	return r == R_NULL ? TRACEFILTER_E_NULL : r == R_INVALID ? TRACEFILTER_E_INVALID :
	       r == R_OVERLAP ? TRACEFILTER_E_OVERLAP : TRACEFILTER_E_LIMIT;
}

/* ---- checking a returned program ---- */

struct actions {
	uint32_t traced, allowed, unknown_nr, unknown_arch;
	int guard;
};

static struct actions actions_of(const struct spec *s)
{
	struct tracefilter_options d;
	const struct tracefilter_options *o = opts_of((struct spec *)s);

	tracefilter_options_init(&d);
	if (!o)
		o = &d;
	return (struct actions){ o->traced_action, o->allowed_action, o->unknown_nr_action,
				 o->unknown_arch_action,
				 o->struct_size >= 48 && o->flags & TRACEFILTER_COMPILE_GUARD_UNTRACED };
}

/* Whether number k of p is one the guard stops: clone3 (1), and clone (2)
 * unless the bitmap traces it already (then the guard need not look). */
static int guarded(const struct actions *a, const struct tracefilter_personality *p, uint32_t k)
{
	uint32_t c, c3;

	if (!a->guard || !clone_nrs(p->audit_arch, p->nr_flag, &c, &c3))
		return 0;
	return k == c3 ? 1 : k == c && !bit(p, k) ? 2 : 0;
}

static uint32_t expected(const struct spec *s, const struct actions *a, uint32_t arch, uint32_t nr,
			 uint32_t arg0)
{
	int known = 0;

	for (size_t i = 0; i < s->count; i++) {
		const struct tracefilter_personality *p = &s->pers[i];
		uint32_t k = nr - p->nr_flag;

		if (p->audit_arch != arch)
			continue;
		known = 1;
		if (nr < p->nr_flag || (uint64_t)nr >= (uint64_t)p->nr_flag + p->nsyscalls)
			continue;
		switch (guarded(a, p, k)) {
		case 1: return a->traced;
		case 2: return arg0 & CLONE_UNTRACED ? a->traced : a->allowed;
		default: return bit(p, k) ? a->traced : a->allowed;
		}
	}
	return known ? a->unknown_nr : a->unknown_arch;
}

static void check_number(const struct sock_fprog *f, const struct spec *s, const struct actions *a,
			 uint32_t arch, uint32_t nr, int with_library)
{
	struct run r = interpret(f->filter, f->len, arch, nr);
	uint32_t want = expected(s, a, arch, nr, 0);

	fig.numbers++;
	CHECK(r.action == want, "arch %#x nr %#x: program returns %#x, spec says %#x", arch, nr,
	      r.action, want);
	if (a->guard) {
		/* every number once more with CLONE_UNTRACED in the first argument,
		 * among other flags, and with other flags alone */
		uint32_t arg0 = rnd() | (chance(50) ? CLONE_UNTRACED : 0);
		uint32_t got = interpret_arg(f->filter, f->len, arch, nr, arg0).action;

		want = expected(s, a, arch, nr, arg0);
		CHECK(got == want, "arch %#x nr %#x with flags %#x: %#x, spec says %#x", arch, nr,
		      arg0, got, want);
	}
	if (with_library) {
		uint32_t action = 1, executed = 1, cacheable = 7;

		CHECK(tracefilter_evaluate(f, arch, nr, &action, &executed) == TRACEFILTER_OK, "evaluate");
		CHECK(action == r.action && executed == r.executed,
		      "evaluate arch %#x nr %#x: %#x/%u, here %#x/%u", arch, nr, action, executed,
		      r.action, r.executed);
		CHECK(tracefilter_cacheable(f, arch, nr, &cacheable) == TRACEFILTER_OK, "cacheable");
		CHECK(cacheable == (uint32_t)kernel_caches(f->filter, f->len, arch, nr),
		      "cacheable arch %#x nr %#x: %u", arch, nr, cacheable);
	}
}

static void check_disassembly(const struct sock_fprog *f)
{
	size_t len = tracefilter_disassemble(f, NULL, 0), size = below(len + 2);
	char *buf = xcalloc(len + 1, 1), *part = xcalloc(size + 1, 1);

	CHECK(tracefilter_disassemble(f, buf, len + 1) == len, "disassemble length");
	CHECK(strlen(buf) == len, "disassembly has %zu bytes, said %zu", strlen(buf), len);
	memset(part, 'x', size + 1);
	CHECK(tracefilter_disassemble(f, part, size) == len, "disassemble into %zu", size);
	if (size > 0)
		CHECK(strlen(part) == (len < size ? len : size - 1) &&
			      memcmp(part, buf, strlen(part)) == 0,
		      "truncated disassembly");
	else
		CHECK(part[0] == 'x', "wrote into a buffer of size 0");
	free(buf);
	free(part);
}

static void check_program(struct tracefilter_program *prog, const struct spec *s)
{
	const struct sock_fprog *f = tracefilter_program_fprog(prog);
	struct actions a = actions_of(s);
	struct tracefilter_stats st;
	const struct tracefilter_options *o = opts_of((struct spec *)s);
	uint64_t total = 0;

	CHECK(f && f->filter && f->len >= 1 && f->len <= BPF_MAXINSNS, "fprog");
	CHECK(kernel_accepts(f->filter, f->len), "the kernel would refuse a compiled program");
	fig.programs++;
	fig.guarded += a.guard;
	for (size_t i = 0; i < s->count; i++)
		total += s->pers[i].nsyscalls;

	for (size_t i = 0; i < s->count; i++) {
		const struct tracefilter_personality *p = &s->pers[i];
		uint32_t n = p->nsyscalls, flag = p->nr_flag;

		if (n <= 2048) {
			for (uint32_t k = 0; k < n; k++)
				check_number(f, s, &a, p->audit_arch, flag | k, k % 7 == 0);
		} else {
			/* every boundary, then a sample */
			uint32_t shown = 0;

			for (uint32_t k = 1; k < n && shown < 20000; k++)
				if (bit(p, k) != bit(p, k - 1)) {
					check_number(f, s, &a, p->audit_arch, flag | (k - 1), 0);
					check_number(f, s, &a, p->audit_arch, flag | k, shown % 64 == 0);
					shown++;
				}
			for (int j = 0; j < 2000; j++)
				check_number(f, s, &a, p->audit_arch, flag | below(n), j % 16 == 0);
		}
		check_number(f, s, &a, p->audit_arch, flag + n, 1);
		check_number(f, s, &a, p->audit_arch, flag + n + 1, 1);
		check_number(f, s, &a, p->audit_arch, flag - 1, 1);
		check_number(f, s, &a, p->audit_arch, 0xffffffffu, 1);
		check_number(f, s, &a, p->audit_arch, rnd(), 1);
	}
	for (int j = 0; j < 8; j++)
		check_number(f, s, &a, chance(50) ? rnd() : arches[below(NELEM(arches))], rnd(), 1);

	/* the figures, against this file's interpreter (small specs: they run
	 * the emulator over every number) */
	if (total <= 8192 || chance(5)) {
		memset(&st, 0, sizeof(st));
		st.struct_size = sizeof(st);
		CHECK(tracefilter_program_stats(prog, &st) == TRACEFILTER_OK, "stats");
		CHECK(st.length == f->len && st.count == s->count, "stats length/count");
		if (o && o->struct_size >= 28 && o->strategy)
			CHECK(st.strategy == o->strategy, "stats strategy %u, forced %u", st.strategy,
			      o->strategy);
		for (size_t i = 0; total <= 8192 && i < s->count; i++) {
			const struct tracefilter_personality *p = &s->pers[i];
			const struct tracefilter_personality_stats *ps = &st.personalities[i];
			uint32_t allowed = 0, max = 0, cache = p->nr_flag == 0;

			for (uint32_t k = 0; k < p->nsyscalls; k++) {
				struct run r;

				if (bit(p, k) || guarded(&a, p, k))
					continue;
				r = interpret(f->filter, f->len, p->audit_arch, p->nr_flag | k);
				allowed++;
				max = r.executed > max ? r.executed : max;
				cache &= const_allow(f->filter, f->len, p->audit_arch, p->nr_flag | k);
			}
			CHECK(ps->allowed == allowed && ps->max_executed == max,
			      "stats of personality %zu: %u/%u, here %u/%u", i, ps->allowed,
			      ps->max_executed, allowed, max);
			CHECK(ps->cacheable == cache, "stats cacheable of personality %zu: %u, here %u", i,
			      ps->cacheable, cache);
		}
	}
	if (chance(20))
		check_disassembly(f);
}

/* ---- the real kernel ---- */

#if defined(__x86_64__)
static long raw_syscall(uint32_t nr)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"((unsigned long)nr) : "rcx", "r11", "memory");
	return ret;
}

static long raw_int80(uint32_t nr)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"((unsigned long)nr) : "memory");
	return (int)ret;
}

static int kernel_state; /* 0 unknown, 1 usable, -1 not */
static int have_i386;

struct shared {
	volatile int done;
	int count;
	int via_library, install_status;
	struct {
		uint32_t arch, nr;
		long ret;
	} calls[512];
};

/* Runs `child` in a forked child with a 10 s budget; returns its wait status
 * or -1 on timeout (the child is killed either way). */
static int in_child(void (*child)(void *), void *arg, volatile int *done)
{
	pid_t pid = fork();
	int status = 0;

	if (pid < 0)
		return -2;
	if (pid == 0) {
		child(arg);
		_exit(0);
	}
	for (int i = 0; i < 10000; i++) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return status;
		if (done && *done)
			break;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return done && *done ? 0 : -1;
}

static void int80_child(void *arg)
{
	(void)arg;
	/* getpid is 20 on i386 */
	_exit(raw_int80(20) == getpid() ? 0 : 3);
}

static void run_calls(void *arg)
{
	struct shared *sh = arg;
	struct sock_fprog *f = (struct sock_fprog *)(sh + 1);

	f->filter = (struct sock_filter *)(f + 1);
	if (sh->via_library) {
		/* the library's own install path, async-signal-safe after fork */
		sh->install_status = tracefilter_install(f, TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS |
								    (sh->via_library > 1 ?
									     TRACEFILTER_INSTALL_SPEC_ALLOW : 0),
							 NULL);
		if (sh->install_status != TRACEFILTER_OK)
			_exit(2);
	} else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		   syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, f) != 0) {
		_exit(2);
	}
	/* From here every syscall, exit included, returns an errno: record
	 * each answer and spin until the parent kills this child. */
	for (int i = 0; i < sh->count; i++)
		sh->calls[i].ret = sh->calls[i].arch == AUDIT_ARCH_I386 ? raw_int80(sh->calls[i].nr) :
									  raw_syscall(sh->calls[i].nr);
	sh->done = 1;
	for (;;)
		;
}

static int kernel_usable(void)
{
	if (kernel_state)
		return kernel_state > 0;
	kernel_state = -1;
	if (prctl(PR_GET_SECCOMP) != 0) {
		printf("fuzz: SKIP kernel checks: this process already runs under seccomp\n");
		return 0;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL) != -1 || errno != EFAULT) {
		printf("fuzz: SKIP kernel checks: no seccomp filter mode here\n");
		return 0;
	}
	{
		int st = in_child(int80_child, NULL, NULL);

		have_i386 = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		if (st == -2) {
			printf("fuzz: SKIP kernel checks: fork fails (%s)\n", strerror(errno));
			return 0;
		}
	}
	printf("fuzz: kernel checks on, i386 via int $0x80: %s\n", have_i386 ? "yes" : "no");
	kernel_state = 1;
	return 1;
}

/* uretprobe (335) and uprobe (336) of x86_64: the kernel lets them past
 * every filter (seccomp_uprobe_exception) where it knows them; called from
 * outside a uprobe trampoline they raise SIGILL. */
static void uprobe_child(void *arg)
{
	struct sock_filter deny = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 9);
	struct sock_fprog f = { 1, &deny };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &f) != 0)
		_exit(2);
	((volatile long *)arg)[0] = raw_syscall((uint32_t)((volatile long *)arg)[0]);
	((volatile long *)arg)[1] = 1;
	for (;;)
		;
}

static void report_uprobe_exception(void)
{
	for (uint32_t nr = 335; nr <= 336; nr++) {
		long *box = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		int st;

		if (box == MAP_FAILED)
			return;
		box[0] = nr;
		box[1] = 0;
		st = in_child(uprobe_child, box, (volatile int *)&box[1]);
		CHECK(st != -1, "syscall %u: the child hung", nr);
		if (st > 0 && WIFSIGNALED(st))
			printf("fuzz: x86_64 syscall %u under an all-ERRNO filter: signal %d (%s): the "
			       "filter did not run\n", nr, WTERMSIG(st), strsignal(WTERMSIG(st)));
		else if (box[0] == -9)
			printf("fuzz: x86_64 syscall %u under an all-ERRNO filter: the filter's errno\n", nr);
		else
			printf("fuzz: x86_64 syscall %u under an all-ERRNO filter: returned %ld: the "
			       "filter did not run\n", nr, box[0]);
		munmap(box, 4096);
	}
}

static void kernel_check(const struct spec *s0, uint32_t len_hint)
{
	struct spec s = *s0;
	struct tracefilter_options o;
	struct tracefilter_program *prog = NULL;
	const struct sock_fprog *f;
	struct actions a = { SECCOMP_RET_ERRNO | 1, SECCOMP_RET_ERRNO | 2, SECCOMP_RET_ERRNO | 3,
			     SECCOMP_RET_ERRNO | 4, 0 };
	struct shared *sh;
	size_t bytes;
	int st, n = 0;

	(void)len_hint;
	if (!kernel_usable())
		return;
	/* the same spec and choices, with four ERRNO actions the kernel reports */
	if (opts_of(&s))
		memcpy(&o, opts_of(&s), sizeof(o));
	else
		tracefilter_options_init(&o);
	o.struct_size = sizeof(o);
	/* the guard stops with a TRACE; these ERRNO actions check the rest */
	o.flags &= ~(uint32_t)TRACEFILTER_COMPILE_GUARD_UNTRACED;
	o.traced_action = a.traced;
	o.allowed_action = a.allowed;
	o.unknown_nr_action = a.unknown_nr;
	o.unknown_arch_action = a.unknown_arch;
	if (tracefilter_compile(s.pers, s.count, &o, &prog) != TRACEFILTER_OK)
		return;
	f = tracefilter_program_fprog(prog);
	bytes = sizeof(*sh) + sizeof(*f) + f->len * sizeof(struct sock_filter);
	sh = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		FAIL("mmap");
	memcpy(sh + 1, f, sizeof(*f));
	memcpy((char *)(sh + 1) + sizeof(*f), f->filter, f->len * sizeof(struct sock_filter));

	/* numbers near each boundary of x86_64, x32 and i386, and random ones */
	{
		uint32_t arch_pool[] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386 };

		for (size_t i = 0; i < s.count && n < 400; i++) {
			const struct tracefilter_personality *p = &s.pers[i];

			if (p->audit_arch != AUDIT_ARCH_X86_64 && p->audit_arch != AUDIT_ARCH_I386)
				continue;
			for (int j = 0; j < 60 && n < 400; j++) {
				uint32_t nr = p->nr_flag | (p->nsyscalls ? below(p->nsyscalls + 2) : below(4));

				sh->calls[n].arch = p->audit_arch;
				sh->calls[n++].nr = nr;
			}
		}
		while (n < 480) {
			sh->calls[n].arch = arch_pool[below(2)];
			sh->calls[n++].nr = chance(50) ? below(600) : chance(50) ? X32_BIT | below(600) : rnd();
		}
	}
	/* calls the child cannot make or survive: i386 without int $0x80; the
	 * x86_64 numbers the kernel never filters (see the header) */
	for (int i = 0; i < n; i++) {
		uint32_t nr = sh->calls[i].nr;

		if ((sh->calls[i].arch == AUDIT_ARCH_I386 && !have_i386) ||
		    (sh->calls[i].arch == AUDIT_ARCH_X86_64 && (nr == 335 || nr == 336))) {
			sh->calls[i--] = sh->calls[--n];
			fig.kernel_skipped++;
		}
	}
	sh->count = n;
	sh->via_library = below(3);
	st = in_child(run_calls, sh, &sh->done);
	CHECK(sh->done, "the child did not finish its calls (wait status %#x, install %d)", st,
	      sh->install_status);
	for (int i = 0; i < n; i++) {
		uint32_t want = expected(&s, &a, sh->calls[i].arch, sh->calls[i].nr, 0);

		CHECK(sh->calls[i].ret == -(long)(want & SECCOMP_RET_DATA),
		      "kernel: arch %#x nr %#x returned %ld, spec says errno %u", sh->calls[i].arch,
		      sh->calls[i].nr, sh->calls[i].ret, want & SECCOMP_RET_DATA);
	}
	fig.kernel_programs++;
	fig.kernel_syscalls += n;
	munmap(sh, bytes);
	tracefilter_program_free(prog);
}
#else
static void kernel_check(const struct spec *s, uint32_t len)
{
	static int said;

	(void)s;
	(void)len;
	if (!said++)
		printf("fuzz: SKIP kernel checks: raw syscalls are written for x86_64 only\n");
}
static void report_uprobe_exception(void) {}
#endif

/* ---- hostile programs ---- */

static const uint16_t codes[] = {
	BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN,
	BPF_RET | BPF_K, BPF_RET | BPF_A, BPF_ALU | BPF_ADD | BPF_X, BPF_ALU | BPF_DIV | BPF_K,
	BPF_ALU | BPF_DIV | BPF_X, BPF_ALU | BPF_AND | BPF_K, BPF_ALU | BPF_LSH | BPF_K,
	BPF_ALU | BPF_RSH | BPF_X, BPF_ALU | BPF_NEG, BPF_ALU | BPF_MOD | BPF_K, BPF_LD | BPF_IMM,
	BPF_LDX | BPF_IMM, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA, BPF_LD | BPF_MEM,
	BPF_LDX | BPF_MEM, BPF_ST, BPF_STX, BPF_JMP | BPF_JA, BPF_JMP | BPF_JEQ | BPF_K,
	BPF_JMP | BPF_JGE | BPF_X, BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JSET | BPF_K,
	BPF_LD | BPF_B | BPF_ABS, BPF_LD | BPF_W | BPF_IND, BPF_LDX | BPF_B | BPF_MSH,
};

static void hostile(const struct sock_fprog *model)
{
	unsigned len = model && chance(50) ? model->len : 1 + below(chance(10) ? 300 : 24);
	struct sock_filter *f = xcalloc(len, sizeof(*f));
	struct sock_fprog prog = { (unsigned short)len, f };
	int valid, s, s2;

	if (model && len == model->len) {
		memcpy(f, model->filter, len * sizeof(*f));
		for (unsigned m = 1 + below(3); m--;) {
			struct sock_filter *i = &f[below(len)];

			switch (below(4)) {
			case 0: i->code = codes[below(NELEM(codes))]; break;
			case 1: i->jt = rnd(); break;
			case 2: i->jf = rnd(); break;
			default: i->k = chance(50) ? below(70) : rnd(); break;
			}
		}
	} else {
		for (unsigned pc = 0; pc < len; pc++) {
			f[pc].code = chance(95) ? codes[below(NELEM(codes))] : (uint16_t)rnd();
			f[pc].jt = below(len - pc + 1);
			f[pc].jf = below(len - pc + 1);
			f[pc].k = chance(40) ? below(70) & ~3u : chance(50) ? below(40) : rnd();
			if (BPF_CLASS(f[pc].code) == BPF_RET && chance(50))
				f[pc].k = chance(50) ? SECCOMP_RET_ALLOW : SECCOMP_RET_TRACE;
		}
		if (chance(70))
			f[len - 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	fig.hostile++;
	valid = kernel_accepts(f, len);
	fig.hostile_valid += valid;
	for (int j = 0; j < 6; j++) {
		uint32_t arch = chance(50) ? arches[below(NELEM(arches))] : rnd(),
			 nr = chance(50) ? below(600) : rnd(), action = 0xdeadbeef, executed = 0xdeadbeef,
			 cacheable = 7;

		s = tracefilter_evaluate(&prog, arch, nr, &action, &executed);
		s2 = tracefilter_cacheable(&prog, arch, nr, &cacheable);
		CHECK(s == s2, "evaluate %d, cacheable %d", s, s2);
		if (valid) {
			struct run r = interpret(f, len, arch, nr);

			CHECK(s == TRACEFILTER_OK, "evaluate refused a program the kernel accepts: %d", s);
			CHECK(action == r.action && executed == r.executed,
			      "hostile program, arch %#x nr %#x: %#x/%u, here %#x/%u", arch, nr, action,
			      executed, r.action, r.executed);
			CHECK(cacheable == (uint32_t)kernel_caches(f, len, arch, nr), "hostile cacheable");
		} else {
			CHECK(s <= TRACEFILTER_E_PROGRAM_LENGTH && s >= TRACEFILTER_E_PROGRAM_NO_RETURN,
			      "evaluate accepted (%d) a program the kernel refuses", s);
			CHECK(action == 0xdeadbeef && cacheable == 7, "wrote outputs on error");
		}
	}
	check_disassembly(&prog);
	free(f);
}

/* ---- the rest of the ABI: names, strategies, the resume table, texts,
 * the report pipe ---- */

static void random_string(char *buf, size_t size)
{
	static const char *const words[] = { "openat", "x86_64", "i386", "x32", "arm", "aarch64",
					     "riscv64", "tree", "jset", "bits", "auto", "execve", "" };
	size_t n = below(size - 1);

	if (chance(40)) {
		snprintf(buf, size, "%s", words[below(NELEM(words))]);
		return;
	}
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(1 + below(255)); /* any byte but NUL: often not UTF-8 */
	buf[n] = 0;
}

static void other_calls(void)
{
	char name[40];
	uint32_t arch = arches[below(NELEM(arches))], flag = chance(30) ? X32_BIT : 0, nr = below(700),
		 got = 0xdeadbeef, a = 1, f = 2, n = 3;
	const char *sys = tracefilter_syscall_name(arch, flag, chance(90) ? nr : rnd());
	int s;

	/* a number's name names that number */
	if (sys) {
		CHECK(tracefilter_syscall_number(arch, flag, sys, &got) == TRACEFILTER_OK && got == nr,
		      "%s of arch %#x: %u, not %u", sys, arch, got, nr);
	}
	random_string(name, sizeof(name));
	got = 0xdeadbeef;
	s = tracefilter_syscall_number(arch, flag, name, &got);
	CHECK(s == TRACEFILTER_OK || s == TRACEFILTER_E_UNKNOWN_NAME || s == TRACEFILTER_E_INVALID,
	      "syscall_number: %d", s);
	if (s == TRACEFILTER_OK) {
		const char *back = tracefilter_syscall_name(arch, flag, got);

		CHECK(back && !strcmp(back, name), "name of %u", got);
	} else {
		CHECK(got == 0xdeadbeef, "syscall_number wrote on error");
	}
	CHECK(tracefilter_syscall_number(arch, flag, NULL, &got) == TRACEFILTER_E_NULL, "NULL name");
	s = tracefilter_personality_lookup(name, chance(50) ? &a : NULL, &f, chance(50) ? &n : NULL);
	CHECK(s == TRACEFILTER_OK || s == TRACEFILTER_E_INVALID, "personality_lookup: %d", s);
	if (s == TRACEFILTER_OK && f == 0) {
		uint32_t arch2, flag2, size;

		CHECK(tracefilter_personality_lookup(name, &arch2, &flag2, &size) == TRACEFILTER_OK &&
			      size >= 1 && size <= TRACEFILTER_MAX_NSYSCALLS,
		      "personality %s", name);
	}
	s = tracefilter_strategy_lookup(name, &got);
	CHECK(s == TRACEFILTER_OK || s == TRACEFILTER_E_INVALID, "strategy_lookup: %d", s);
	if (s == TRACEFILTER_OK)
		CHECK(!strcmp(tracefilter_strategy_name(got), name), "strategy %s", name);
	{
		uint32_t id = chance(50) ? below(8) : rnd();
		const char *sn = tracefilter_strategy_name(id);

		if (sn)
			CHECK(tracefilter_strategy_lookup(sn, &got) == TRACEFILTER_OK && got == id,
			      "strategy %u", id);
	}
	{
		int status = chance(50) ? -(int)below(30) : (int)rnd();
		const char *text = tracefilter_strerror(status);

		CHECK(text && strlen(text) < 200, "strerror(%d)", status);
	}
	{
		struct tracefilter_resume out = { 0xdead, 0xbeef };
		uint32_t mode = below(4), order = below(4), stop = below(5);

		if (chance(10))
			mode = rnd();
		s = tracefilter_protocol_step(mode, order, stop, (int)below(3) - 1, &out);
		CHECK(s == TRACEFILTER_OK || s == TRACEFILTER_E_INVALID, "protocol_step: %d", s);
		if (s == TRACEFILTER_OK)
			CHECK((out.request == 7 || out.request == 24) && out.decode_entry <= 1,
			      "resume %u/%u", out.request, out.decode_entry);
		else
			CHECK(out.request == 0xdead && out.decode_entry == 0xbeef, "resume written on error");
	}
	/* the report pipe, with every struct size a caller may have */
	{
		struct tracefilter_install_report r, back;
		int fds[2];

		tracefilter_install_report_init(&r);
		r.status = -(int)below(30);
		r.installed = r.status == TRACEFILTER_OK;
		r.error = (int)below(200);
		if (pipe(fds) == 0) {
			s = tracefilter_report_send(fds[1], &r);
			close(fds[1]);
			/* only what tracefilter_install returns makes a report */
			switch (r.status) {
			case TRACEFILTER_OK: case TRACEFILTER_E_NULL: case TRACEFILTER_E_INVALID:
			case TRACEFILTER_E_PROGRAM_LENGTH: case TRACEFILTER_E_NEEDS_NO_NEW_PRIVS:
			case TRACEFILTER_E_UNSUPPORTED: case TRACEFILTER_E_KERNEL:
			case TRACEFILTER_E_NO_REPORT:
				CHECK(s == TRACEFILTER_OK, "report_send: %d", s);
				break;
			default:
				CHECK(s == TRACEFILTER_E_INVALID, "report_send of status %d: %d", r.status, s);
				close(fds[0]);
				return;
			}
			memset(&back, 0, sizeof(back));
			back.struct_size = chance(80) ? sizeof(back) : below(64);
			s = tracefilter_report_receive(fds[0], &back);
			if (back.struct_size >= 32)
				CHECK(s == TRACEFILTER_OK && back.status == r.status && back.error == r.error,
				      "report_receive: %d", s);
			else
				CHECK(s == TRACEFILTER_E_INVALID, "report of size %u: %d", back.struct_size, s);
			close(fds[0]);
		}
	}
}

/* ---- the same spec as action maps (tracefilter_compile_actions) ---- */

/* A map value: the kernel knows its action part; the data bits are free. */
static int action_known(uint32_t v)
{
	return action_valid(v & SECCOMP_RET_ACTION_FULL);
}

struct maps {
	struct tracefilter_action_map m[70];
	uint32_t *actions[70];
};

/* The statuses tracefilter_compile_actions may give, from the input alone:
 * as reasons(), but traced_action and allowed_action are not read, and each
 * value of a map need only have an action part the kernel knows. */
static unsigned reasons_maps(const struct spec *s, const struct maps *mp, int *forced)
{
	const struct tracefilter_options *o = (const struct tracefilter_options *)s->opts_buf;
	unsigned r = 0;
	uint64_t total = 0, runs = 0;
	int weights_read = 1;

	*forced = 0;
	if (s->count == 0 || s->count > TRACEFILTER_MAX_PERSONALITIES)
		return R_INVALID;
	if (s->null_pers)
		return R_NULL;
	if (!s->null_opts) {
		uint32_t size = o->struct_size, known = size >= 48 ? 48 : size >= 40 ? 40 : 28;

		if (size < 28)
			return R_INVALID;
		for (size_t i = known; i < size; i++)
			if (s->opts_buf[i])
				return R_INVALID;
		weights_read = known >= 40;
		if (known >= 48 && o->flags & ~(uint32_t)TRACEFILTER_COMPILE_GUARD_UNTRACED)
			r |= R_INVALID;
		if (known >= 48 && o->flags & TRACEFILTER_COMPILE_GUARD_UNTRACED) {
			uint32_t counts[NELEM(mp->m)];

			for (size_t i = 0; i < s->count; i++)
				counts[i] = mp->m[i].nsyscalls;
			r |= guard_reasons(s, o->traced_action, counts);
		}
		if (o->strategy > 5 || o->objective > 1)
			r |= R_INVALID;
		if (!action_valid(o->unknown_nr_action) || !action_valid(o->unknown_arch_action))
			r |= R_INVALID;
		*forced = o->strategy != 0;
	}
	for (size_t i = 0; i < s->count; i++) {
		const struct tracefilter_action_map *p = &mp->m[i];

		total += p->nsyscalls;
		if (p->nsyscalls > TRACEFILTER_MAX_NSYSCALLS) {
			r |= R_INVALID;
			continue;
		}
		if (!p->actions && p->nsyscalls)
			r |= R_NULL;
		for (uint32_t k = 0; p->actions && k < p->nsyscalls; k++) {
			if (!action_known(p->actions[k]))
				r |= R_INVALID;
			runs += k == 0 || p->actions[k] != p->actions[k - 1];
		}
		if (p->nsyscalls) {
			uint32_t span = p->nsyscalls == 1 ? 0 :
					0xffffffffu >> __builtin_clz(p->nsyscalls - 1);
			if (p->nr_flag & span)
				r |= R_INVALID;
		}
		for (size_t j = 0; j < i; j++) {
			const struct tracefilter_action_map *q = &mp->m[j];
			uint64_t a0 = p->nr_flag, a1 = a0 + p->nsyscalls, b0 = q->nr_flag,
				 b1 = b0 + q->nsyscalls;

			if (q->audit_arch != p->audit_arch)
				continue;
			if (q->nr_flag == p->nr_flag || (a1 > a0 && b1 > b0 && a0 < b1 && b0 < a1))
				r |= R_OVERLAP;
		}
	}
	if (total > TRACEFILTER_MAX_TOTAL_NSYSCALLS || runs > TRACEFILTER_MAX_RUNS)
		r |= R_LIMIT;
	if (!s->null_opts && weights_read && o->weights_count) {
		if (o->weights_count != s->count)
			r |= R_INVALID;
		else if (!o->weights)
			r |= R_NULL;
		else
			for (size_t i = 0; i < s->count; i++)
				for (uint32_t k = 0; o->weights[i] && k < mp->m[i].nsyscalls &&
						      mp->m[i].nsyscalls <= TRACEFILTER_MAX_NSYSCALLS;
				     k++)
					if (!isfinite(o->weights[i][k]) || o->weights[i][k] < 0)
						r |= R_INVALID;
	}
	return r;
}

/* Whether the guard stops value k of map p (clone or clone3 whose value
 * would let it run on: ALLOW or LOG); 2 for clone, 1 for clone3. */
static int guarded_map(const struct actions *a, const struct tracefilter_action_map *p, uint32_t k)
{
	uint32_t c, c3, v = p->actions[k] & SECCOMP_RET_ACTION_FULL;

	if (!a->guard || !clone_nrs(p->audit_arch, p->nr_flag, &c, &c3) ||
	    (v != SECCOMP_RET_ALLOW && v != SECCOMP_RET_LOG))
		return 0;
	return k == c ? 2 : k == c3;
}

static uint32_t expected_map(const struct spec *s, const struct maps *mp, uint32_t arch,
			     uint32_t nr, uint32_t arg0)
{
	struct actions a = actions_of(s);
	int known = 0;

	for (size_t i = 0; i < s->count; i++) {
		const struct tracefilter_action_map *p = &mp->m[i];
		uint32_t k = nr - p->nr_flag;

		if (p->audit_arch != arch)
			continue;
		known = 1;
		if (nr < p->nr_flag || (uint64_t)nr >= (uint64_t)p->nr_flag + p->nsyscalls)
			continue;
		switch (guarded_map(&a, p, k)) {
		case 1: return a.traced;
		case 2: return arg0 & CLONE_UNTRACED ? a.traced : p->actions[k];
		default: return p->actions[k];
		}
	}
	return known ? a.unknown_nr : a.unknown_arch;
}

static void check_map_number(const struct sock_fprog *f, const struct spec *s,
			     const struct maps *mp, uint32_t arch, uint32_t nr)
{
	struct run r = interpret(f->filter, f->len, arch, nr);
	uint32_t want = expected_map(s, mp, arch, nr, 0);

	fig.numbers++;
	CHECK(r.action == want, "map: arch %#x nr %#x: program returns %#x, map says %#x", arch, nr,
	      r.action, want);
	if (actions_of(s).guard) {
		uint32_t arg0 = rnd() | (chance(50) ? CLONE_UNTRACED : 0);
		uint32_t got = interpret_arg(f->filter, f->len, arch, nr, arg0).action;

		want = expected_map(s, mp, arch, nr, arg0);
		CHECK(got == want, "map: arch %#x nr %#x with flags %#x: %#x, map says %#x", arch, nr,
		      arg0, got, want);
	}
}

/* The spec's personalities as maps of 1 to 6 values (PRoot's kind most of
 * the time, any value now and then), in runs; compiled, its status checked
 * against the input and its program against the maps. */
static void maps_case(const struct spec *s)
{
	static struct maps mp;
	struct tracefilter_program *prog = (void *)&prog;
	uint32_t pool[6];
	unsigned k = 1 + below(6), r;
	uint64_t total = 0;
	int forced, st;

	for (unsigned j = 0; j < k; j++)
		pool[j] = chance(70) ? (chance(50) ? SECCOMP_RET_ALLOW : SECCOMP_RET_TRACE | below(3))
				     : gen_action();
	memset(&mp, 0, sizeof(mp));
	for (size_t i = 0; i < s->count; i++) {
		const struct tracefilter_personality *p = &s->pers[i];
		uint32_t n = p->nsyscalls, v = pool[below(k)];

		mp.m[i] = (struct tracefilter_action_map){ p->audit_arch, p->nr_flag, NULL, n };
		/* the NULL bitmaps become NULL maps; no array past the limit */
		if (!p->traced || n > TRACEFILTER_MAX_NSYSCALLS || n == 0)
			continue;
		mp.actions[i] = xcalloc(n, sizeof(uint32_t));
		for (uint32_t x = 0; x < n; x++) {
			if (chance(10))
				v = pool[below(k)];
			mp.actions[i][x] = v;
		}
		mp.m[i].actions = mp.actions[i];
		total += n;
	}
	r = reasons_maps(s, &mp, &forced);
	st = tracefilter_compile_actions(s->null_pers ? NULL : mp.m, s->count, opts_of((struct spec *)s),
					 &prog);
	fig.compiles++;
	CHECK(st != TRACEFILTER_E_VERIFY && st != TRACEFILTER_E_INTERNAL,
	      "map: a library-bug status %d (%s)", st, tracefilter_strerror(st));
	CHECK((st == TRACEFILTER_OK) == (prog != NULL), "map: status %d with program %p", st,
	      (void *)prog);
	if (r) {
		int ok = 0;

		for (unsigned b = 1; b <= R_LIMIT; b <<= 1)
			if ((r & b) && st == status_of_reason(b))
				ok = 1;
		CHECK(ok, "map: status %d (%s), but the input has reasons %#x", st,
		      tracefilter_strerror(st), r);
	} else {
		CHECK(st == TRACEFILTER_OK || st == TRACEFILTER_E_TOO_LARGE ||
			      (forced && st == TRACEFILTER_E_STRATEGY),
		      "map: status %d (%s) for valid maps", st, tracefilter_strerror(st));
	}
	if (st == TRACEFILTER_OK) {
		const struct sock_fprog *f = tracefilter_program_fprog(prog);
		struct tracefilter_stats stats = { .struct_size = sizeof(stats) };
		struct actions a = actions_of(s);

		CHECK(f && f->len >= 1 && kernel_accepts(f->filter, f->len), "map: fprog");
		fig.programs++;
		fig.guarded += a.guard;
		for (size_t i = 0; i < s->count; i++) {
			const struct tracefilter_action_map *p = &mp.m[i];
			uint32_t n = p->nsyscalls;

			for (uint32_t x = 0; x < n && x < 4096; x++)
				check_map_number(f, s, &mp, p->audit_arch, p->nr_flag | x);
			for (int j = 0; n > 4096 && j < 2000; j++)
				check_map_number(f, s, &mp, p->audit_arch, p->nr_flag | below(n));
			check_map_number(f, s, &mp, p->audit_arch, p->nr_flag + n);
			check_map_number(f, s, &mp, p->audit_arch, p->nr_flag - 1);
			check_map_number(f, s, &mp, p->audit_arch, 0xffffffffu);
		}
		for (int j = 0; j < 8; j++)
			check_map_number(f, s, &mp, chance(50) ? rnd() : arches[below(NELEM(arches))],
					 rnd());
		/* the figures count exactly the SECCOMP_RET_ALLOW values */
		if (total <= 8192) {
			CHECK(tracefilter_program_stats(prog, &stats) == TRACEFILTER_OK, "map: stats");
			for (size_t i = 0; i < s->count; i++) {
				uint32_t allowed = 0;

				for (uint32_t x = 0; x < mp.m[i].nsyscalls; x++)
					allowed += mp.m[i].actions[x] == SECCOMP_RET_ALLOW &&
						   !guarded_map(&a, &mp.m[i], x);
				CHECK(stats.personalities[i].allowed == allowed,
				      "map: stats allowed of %zu: %u, here %u", i,
				      stats.personalities[i].allowed, allowed);
			}
		}
		tracefilter_program_free(prog);
	}
	for (size_t i = 0; i < s->count; i++)
		free(mp.actions[i]);
}

/* ---- one case ---- */

static void one_case(uint64_t c, int kernel_every)
{
	struct spec s;
	struct tracefilter_program *prog = (void *)&prog;
	int forced, st;
	unsigned r;

	case_no = c;
	rng = seed * 0x2545f4914f6cdd1dull ^ (c + 1) * 0x9e3779b97f4a7c15ull;
	gen_spec(&s);
	fig.specs++;
	r = reasons(&s, &forced);
	st = tracefilter_compile(s.null_pers ? NULL : s.pers, s.count, opts_of(&s), &prog);
	fig.compiles++;
	fig.statuses[-st < 32 && st <= 0 ? -st : 31]++;
	CHECK(st != TRACEFILTER_E_VERIFY && st != TRACEFILTER_E_INTERNAL,
	      "a library-bug status %d (%s)", st, tracefilter_strerror(st));
	CHECK((st == TRACEFILTER_OK) == (prog != NULL), "status %d with program %p", st,
	      (void *)prog);
	if (r) {
		int ok = 0;

		for (unsigned b = 1; b <= R_LIMIT; b <<= 1)
			if ((r & b) && st == status_of_reason(b))
				ok = 1;
		CHECK(ok, "status %d (%s), but the input has reasons %#x", st, tracefilter_strerror(st), r);
	} else {
		uint64_t runs = 0;

		for (size_t i = 0; i < s.count; i++)
			runs += runs_of(&s.pers[i]);
		CHECK(st == TRACEFILTER_OK || st == TRACEFILTER_E_TOO_LARGE ||
			      (forced && st == TRACEFILTER_E_STRATEGY),
		      "status %d (%s) for a valid spec", st, tracefilter_strerror(st));
		/* a search tree over this few runs always fits */
		if (!forced && runs <= 1000)
			CHECK(st == TRACEFILTER_OK, "status %d (%s) for %llu runs", st,
			      tracefilter_strerror(st), (unsigned long long)runs);
	}
	if (st == TRACEFILTER_OK) {
		check_program(prog, &s);
		if (kernel_every && c % kernel_every == 0)
			kernel_check(&s, 0);
		for (int j = 0; j < 3; j++)
			hostile(chance(50) ? tracefilter_program_fprog(prog) : NULL);
		tracefilter_program_free(prog);
	} else {
		hostile(NULL);
	}
	if (chance(30))
		maps_case(&s);
	other_calls();
	free_spec(&s);
}

int main(int argc, char **argv)
{
	double seconds = 60;
	uint64_t cases = UINT64_MAX, only = UINT64_MAX;
	int kernel_every = 8;
	struct timespec t0, t;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--cases"))
			cases = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--case"))
			only = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--kernel-every"))
			kernel_every = atoi(argv[i + 1]);
		else {
			fprintf(stderr, "usage: %s [--seed N] [--seconds S] [--cases N] [--case N] "
					"[--kernel-every K]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("fuzz: seed %llu, budget %.0f s\n", (unsigned long long)seed, seconds);
	if (kernel_every && kernel_usable())
		report_uprobe_exception();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (only != UINT64_MAX) {
		one_case(only, kernel_every);
	} else {
		for (uint64_t c = 0; c < cases; c++) {
			one_case(c, kernel_every);
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
				break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	printf("fuzz: statuses:");
	for (int i = 0; i < 32; i++)
		if (fig.statuses[i])
			printf(" %d:%llu", -i, (unsigned long long)fig.statuses[i]);
	printf("\n");
	printf("fuzz: ok, seed %llu, %.0f s: %llu specs, %llu compiles, %llu programs (%llu with the "
	       "CLONE_UNTRACED guard), %llu numbers checked, %llu hostile programs (%llu valid), %llu "
	       "kernel programs, %llu kernel syscalls\n",
	       (unsigned long long)seed,
	       (double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9,
	       (unsigned long long)fig.specs, (unsigned long long)fig.compiles,
	       (unsigned long long)fig.programs, (unsigned long long)fig.guarded,
	       (unsigned long long)fig.numbers,
	       (unsigned long long)fig.hostile, (unsigned long long)fig.hostile_valid,
	       (unsigned long long)fig.kernel_programs, (unsigned long long)fig.kernel_syscalls);
	return 0;
}
