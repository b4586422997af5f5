/* The checks the C ABI tests share: each counts, and a failure names the
 * file, line, expression and what was being checked (`where`), then exits 1. */
#ifndef TRACEFILTER_TEST_CHECK_H
#define TRACEFILTER_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include <tracefilter.h>

static unsigned long checks;
static char where[256]; /* what is being checked, for failure messages */

#define FAIL_AT(...)                                                          \
	do {                                                                  \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);               \
		fprintf(stderr, __VA_ARGS__);                                 \
		fprintf(stderr, "\n  while: %s\n", where[0] ? where : "-");  \
		exit(1);                                                      \
	} while (0)

#define CHECK(cond)                                                           \
	do {                                                                  \
		checks++;                                                     \
		if (!(cond))                                                  \
			FAIL_AT("check failed: %s", #cond);                   \
	} while (0)

#define CHECK_EQ(a, b)                                                        \
	do {                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);           \
		checks++;                                                     \
		if (a_ != b_)                                                 \
			FAIL_AT("check failed: %s == %s: %lld (%#llx) != %lld (%#llx)", \
				#a, #b, a_, (unsigned long long)a_, b_,       \
				(unsigned long long)b_);                      \
	} while (0)

#define CHECK_STATUS(call, expected)                                          \
	do {                                                                  \
		int s_ = (call);                                              \
		checks++;                                                     \
		if (s_ != (expected))                                         \
			FAIL_AT("%s returned %d (%s), expected %s = %d (%s)", #call, \
				s_, tracefilter_strerror(s_), #expected,      \
				(int)(expected), tracefilter_strerror(expected)); \
	} while (0)

#endif
