/*
 * Every published size of every versioned struct, from C: the programs of
 * older headers, and of newer ones, against this library. Built and run by
 * tests/structs.sh.
 *
 * The rule (include/tracefilter.h, docs/protocol.md): struct_size below the
 * first published size is TRACEFILTER_E_INVALID; the library uses the
 * largest published version that fits in struct_size; reading, later fields
 * keep their defaults and every byte past that version up to struct_size
 * must be 0; writing, nothing past that version is touched and struct_size
 * never changes.
 *
 * The older layouts are spelled out below as the headers of their time
 * declared them; the current one is the header's.
 */
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tracefilter.h>

static unsigned long checks;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		checks++;                                                             \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			exit(1);                                                      \
		}                                                                     \
	} while (0)

#define CHECK_STATUS(call, want)                                                      \
	do {                                                                          \
		int s_ = (call);                                                      \
		checks++;                                                             \
		if (s_ != (want)) {                                                   \
			fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s\n",  \
				__FILE__, __LINE__, #call, s_, tracefilter_strerror(s_), \
				#want);                                               \
			exit(1);                                                      \
		}                                                                     \
	} while (0)

/* struct tracefilter_options, first published size (28). */
struct options_v1 {
	uint32_t struct_size;
	uint32_t traced_action, allowed_action, unknown_nr_action, unknown_arch_action;
	uint32_t strategy, objective;
};

/* With weights (40). */
struct options_v2 {
	uint32_t struct_size;
	uint32_t traced_action, allowed_action, unknown_nr_action, unknown_arch_action;
	uint32_t strategy, objective;
	uint32_t weights_count;
	const double *const *weights;
};

_Static_assert(sizeof(struct options_v1) == 28, "options v1");
_Static_assert(sizeof(struct options_v2) == 40, "options v2");
_Static_assert(sizeof(struct tracefilter_options) == 48, "options v3 is the header's");
_Static_assert(offsetof(struct tracefilter_options, weights) ==
		       offsetof(struct options_v2, weights), "v2 is a prefix of v3");
_Static_assert(sizeof(struct tracefilter_stats) == 32, "stats v1 is the header's");
_Static_assert(sizeof(struct tracefilter_install_report) == 32, "report v1 is the header's");
_Static_assert(sizeof(struct tracefilter_kernel) == 32, "kernel v1 is the header's");

#define NR 64
static uint8_t traced[NR / 8] = { 0x81, 0, 0x10, 0, 0, 0x42, 0, 0x01 };
static struct tracefilter_personality pers = {
	.audit_arch = AUDIT_ARCH_X86_64, .traced = traced, .nsyscalls = NR,
};
static double weight_row[NR];
static const double *weight_rows[1] = { weight_row };

/* A buffer larger than any struct here, so that a newer program's struct
 * (with a tail this library does not know) can be laid over it. */
union buf {
	unsigned char b[128];
	struct tracefilter_options o;
	struct options_v1 v1;
	struct options_v2 v2;
	struct tracefilter_stats s;
	struct tracefilter_install_report r;
	struct tracefilter_kernel k;
};

/* Compiles with `opts` (NULL: defaults) and returns the program's bytes in
 * `out` (at most 4096 instructions); the status. */
static int compile(const void *opts, struct sock_filter *out, unsigned *len)
{
	struct tracefilter_program *p = NULL;
	int st = tracefilter_compile(&pers, 1, opts, &p);

	*len = 0;
	if (st == TRACEFILTER_OK) {
		const struct sock_fprog *f = tracefilter_program_fprog(p);

		*len = f->len;
		memcpy(out, f->filter, f->len * sizeof(*out));
	}
	tracefilter_program_free(p);
	return st;
}

static struct sock_filter want[4096], got[4096];

static void same_program(const void *opts, const void *reference)
{
	unsigned n1, n2;

	CHECK_STATUS(compile(reference, want, &n1), TRACEFILTER_OK);
	CHECK_STATUS(compile(opts, got, &n2), TRACEFILTER_OK);
	CHECK(n1 == n2 && memcmp(want, got, n1 * sizeof(*want)) == 0);
}

static void options(void)
{
	struct tracefilter_options cur;
	union buf u;
	unsigned n;

	tracefilter_options_init(&cur);
	for (int i = 0; i < NR; i++)
		weight_row[i] = i % 7 == 0 ? 1000 : 1;

	/* v1: the defaults for everything past objective. */
	memset(&u, 0, sizeof(u));
	memcpy(&u.v1, &cur, sizeof(u.v1));
	u.v1.struct_size = sizeof(u.v1);
	same_program(&u, NULL);
	u.v1.strategy = TRACEFILTER_STRATEGY_LINEAR;
	cur.strategy = TRACEFILTER_STRATEGY_LINEAR;
	same_program(&u, &cur);
	cur.strategy = TRACEFILTER_STRATEGY_AUTO;

	/* v2: weights read; flags past it are the default 0. */
	memset(&u, 0, sizeof(u));
	memcpy(&u.v2, &cur, sizeof(u.v2));
	u.v2.struct_size = sizeof(u.v2);
	u.v2.weights_count = 1;
	u.v2.weights = weight_rows;
	cur.weights_count = 1;
	cur.weights = weight_rows;
	same_program(&u, &cur);
	/* v2 with a bad weights pointer: it is read (E_NULL), so v2 is v2. */
	u.v2.weights = NULL;
	CHECK_STATUS(compile(&u, got, &n), TRACEFILTER_E_NULL);

	/* v3, the header's: flags read. */
	cur.flags = TRACEFILTER_COMPILE_GUARD_UNTRACED;
	memset(&u, 0, sizeof(u));
	memcpy(&u.o, &cur, sizeof(u.o));
	CHECK_STATUS(compile(&u, got, &n), TRACEFILTER_OK);
	u.o.flags = 0x80000000u;
	CHECK_STATUS(compile(&u, got, &n), TRACEFILTER_E_INVALID);
	cur.flags = 0;

	/* Between versions: read as the version below, the rest must be 0. */
	memset(&u, 0, sizeof(u));
	memcpy(&u.o, &cur, sizeof(u.o));
	u.o.struct_size = 44; /* v2 + the flags word */
	same_program(&u, &cur);
	u.o.flags = TRACEFILTER_COMPILE_GUARD_UNTRACED; /* not read whole: refused */
	CHECK_STATUS(compile(&u, got, &n), TRACEFILTER_E_INVALID);
	memset(&u, 0, sizeof(u));
	memcpy(&u.v1, &cur, sizeof(u.v1));
	u.v1.struct_size = 32; /* v1 + weights_count */
	same_program(&u, NULL);
	u.v2.weights_count = 1;
	CHECK_STATUS(compile(&u, got, &n), TRACEFILTER_E_INVALID);

	/* Below the first version. */
	u.v1.struct_size = 24;
	CHECK_STATUS(compile(&u, got, &n), TRACEFILTER_E_INVALID);
	u.v1.struct_size = 0;
	CHECK_STATUS(compile(&u, got, &n), TRACEFILTER_E_INVALID);

	/* A newer program's struct: a zero tail is fine, any other is not. */
	memset(&u, 0, sizeof(u));
	memcpy(&u.o, &cur, sizeof(u.o));
	u.o.struct_size = sizeof(u.o) + 16;
	same_program(&u, &cur);
	u.b[sizeof(u.o) + 9] = 1;
	CHECK_STATUS(compile(&u, got, &n), TRACEFILTER_E_INVALID);
}

/* Fills `u` with a pattern, sets struct_size, and checks after `call` that
 * nothing past `written` bytes changed and struct_size is as set. */
#define PATTERN 0xa5
static void prepare(union buf *u, uint32_t size)
{
	memset(u, PATTERN, sizeof(*u));
	memcpy(u, &size, sizeof(size));
}

static void untouched_past(const union buf *u, uint32_t size, size_t written)
{
	uint32_t now;

	memcpy(&now, u, sizeof(now));
	CHECK(now == size);
	for (size_t i = written; i < sizeof(*u); i++)
		CHECK(u->b[i] == PATTERN);
}

static void stats(void)
{
	struct tracefilter_program *p = NULL;
	union buf u;

	CHECK_STATUS(tracefilter_compile(&pers, 1, NULL, &p), TRACEFILTER_OK);
	for (uint32_t size = 32; size <= 64; size += 8) {
		prepare(&u, size);
		CHECK_STATUS(tracefilter_program_stats(p, &u.s), TRACEFILTER_OK);
		CHECK(u.s.count == 1 && u.s.personalities && u.s.length > 0);
		CHECK(u.s.length == tracefilter_program_fprog(p)->len);
		untouched_past(&u, size, 32);
	}
	for (uint32_t size = 0; size < 32; size += 4) {
		prepare(&u, size);
		CHECK_STATUS(tracefilter_program_stats(p, &u.s), TRACEFILTER_E_INVALID);
		untouched_past(&u, size, 4);
	}
	tracefilter_program_free(p);
}

static void report(void)
{
	static const struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog f = { .len = 1, .filter = (struct sock_filter *)&allow };
	union buf u, in;
	int fds[2];

	/* An unknown flag: refused before any syscall, so this installs nothing. */
	for (uint32_t size = 32; size <= 64; size += 8) {
		prepare(&u, size);
		CHECK_STATUS(tracefilter_install(&f, 0x80000000u, &u.r), TRACEFILTER_E_INVALID);
		CHECK(u.r.status == TRACEFILTER_E_INVALID && u.r.installed == 0);
		CHECK(u.r.failed_step == TRACEFILTER_STEP_ARGUMENTS);
		untouched_past(&u, size, 32);
	}
	for (uint32_t size = 0; size < 32; size += 4) {
		prepare(&u, size);
		CHECK_STATUS(tracefilter_install(&f, 0x80000000u, &u.r), TRACEFILTER_E_INVALID);
		untouched_past(&u, size, 4);
	}

	/* The pipe: a report read back into every size. */
	for (uint32_t size = 32; size <= 64; size += 8) {
		CHECK(pipe(fds) == 0);
		memset(&in, 0, sizeof(in));
		in.r.struct_size = sizeof(in.r);
		CHECK_STATUS(tracefilter_install(&f, 0x80000000u, &in.r), TRACEFILTER_E_INVALID);
		CHECK(in.r.status == TRACEFILTER_E_INVALID && in.r.error != 0);
		in.r.struct_size = size; /* a newer program's report, zero tail */
		CHECK_STATUS(tracefilter_report_send(fds[1], &in.r), TRACEFILTER_OK);
		close(fds[1]);
		prepare(&u, size);
		CHECK_STATUS(tracefilter_report_receive(fds[0], &u.r), TRACEFILTER_OK);
		CHECK(u.r.status == TRACEFILTER_E_INVALID && u.r.error == in.r.error);
		untouched_past(&u, size, 32);
		close(fds[0]);
	}
	/* Sending reads the report: a tail it does not know must be 0. */
	memset(&in, 0, sizeof(in));
	tracefilter_install_report_init(&in.r);
	CHECK(in.r.struct_size == 32 && in.r.status == TRACEFILTER_E_NO_REPORT);
	in.r.struct_size = 40;
	in.b[36] = 1;
	CHECK_STATUS(tracefilter_report_send(-1, &in.r), TRACEFILTER_E_INVALID);
	in.r.struct_size = 28;
	CHECK_STATUS(tracefilter_report_send(-1, &in.r), TRACEFILTER_E_INVALID);
}

static void kernel(void)
{
	union buf u;

	/* The probe's own outcome depends on the machine (ptrace may be
	 * forbidden); what it writes does not. */
	for (uint32_t size = 32; size <= 40; size += 8) {
		prepare(&u, size);
		int st = tracefilter_probe(&u.k);

		CHECK(st == TRACEFILTER_OK || st == TRACEFILTER_E_PTRACE || st == TRACEFILTER_E_KERNEL);
		CHECK(u.k.filter_mode <= 1 && u.k.stop_order <= TRACEFILTER_ORDER_ENTRY_FIRST);
		untouched_past(&u, size, 32);
	}
	prepare(&u, 28);
	CHECK_STATUS(tracefilter_probe(&u.k), TRACEFILTER_E_INVALID);
	untouched_past(&u, 28, 4);
}

int main(void)
{
	options();
	stats();
	report();
	kernel();
	printf("structs: ok, %lu checks\n", checks);
	return 0;
}
