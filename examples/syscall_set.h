/*
 * syscall_set.h: the syscall set a tool asks tracefilter about, one bitmap
 * per personality, built from the command line; with NAME=ACTION items, one
 * action map per personality instead. Shared by tfdump and tfbench; a
 * tracer would have its own (strace builds its bitmaps from its own
 * qualifiers).
 *
 * Messages go to stderr prefixed by the program's name; functions return 0
 * or -1 (usage errors: unknown names, unreadable files).
 */
#ifndef SYSCALL_SET_H
#define SYSCALL_SET_H

#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tracefilter.h>

#define SET_MAX_PERS 8

struct set_pers {
	const char *name;      /* as given, e.g. "x86_64" or "x86_64:451" */
	char short_name[16];   /* the table's name, e.g. "x86_64" */
	struct tracefilter_personality p;
	uint8_t *bits;
	uint32_t *actions; /* NULL unless set_assign_list made the action map */
};

extern char *program_invocation_short_name;

/* NAME or NAME:NSYSCALLS (another table size, e.g. strace's own). */
static inline int set_add_personality(struct set_pers *ps, size_t *n, const char *arg)
{
	const char *me = program_invocation_short_name, *colon = strchr(arg, ':');
	struct set_pers *p = &ps[*n];
	char name[16];

	if (*n == SET_MAX_PERS) {
		fprintf(stderr, "%s: at most %d personalities\n", me, SET_MAX_PERS);
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg), arg);
	if (tracefilter_personality_lookup(name, &p->p.audit_arch, &p->p.nr_flag,
					   &p->p.nsyscalls) != TRACEFILTER_OK) {
		fprintf(stderr, "%s: unknown personality '%s'\n", me, name);
		return -1;
	}
	if (colon) {
		char *end;
		unsigned long k;

		errno = 0;
		k = strtoul(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end || errno || k > TRACEFILTER_MAX_NSYSCALLS) {
			fprintf(stderr, "%s: bad table size in '%s'\n", me, arg);
			return -1;
		}
		p->p.nsyscalls = (uint32_t)k;
	}
	p->bits = calloc((p->p.nsyscalls + 7) / 8 + 1, 1);
	if (!p->bits) {
		perror(me);
		return -1;
	}
	p->actions = NULL;
	p->name = arg;
	memcpy(p->short_name, name, sizeof(name));
	p->p.traced = p->bits;
	(*n)++;
	return 0;
}

static inline int set_is_traced(const struct set_pers *p, uint32_t nr)
{
	return nr < p->p.nsyscalls && (p->bits[nr / 8] >> (nr % 8)) & 1;
}

static inline uint32_t set_count_traced(const struct set_pers *p)
{
	uint32_t n = 0;

	for (uint32_t nr = 0; nr < p->p.nsyscalls; nr++)
		n += set_is_traced(p, nr);
	return n;
}

/* Marks one name or number in every personality that knows it. */
static inline int set_mark(struct set_pers *ps, size_t n, const char *item)
{
	char *end;
	unsigned long nr;
	int known = 0;

	errno = 0;
	nr = strtoul(item, &end, 10);
	for (size_t i = 0; i < n; i++) {
		const struct tracefilter_personality *p = &ps[i].p;
		uint32_t k;

		if (*item && !*end && !errno)
			k = nr < p->nsyscalls ? (uint32_t)nr : UINT32_MAX;
		else if (tracefilter_syscall_number(p->audit_arch, p->nr_flag, item, &k) != TRACEFILTER_OK)
			continue;
		if (k >= p->nsyscalls)
			continue;
		ps[i].bits[k / 8] |= 1u << (k % 8);
		known = 1;
	}
	if (!known)
		fprintf(stderr, "%s: unknown syscall '%s'%s\n", program_invocation_short_name, item,
			item[0] == '%' ? " (classes are strace's: pass its program with --traced-by)"
			: item[0] == '!' ? " (for all but a set: --all-but SET)"
					  : "");
	return known ? 0 : -1;
}

/* Marks a comma-separated list of names or numbers; NAME=ACTION items are
 * left to set_assign_list. */
static inline int set_mark_list(struct set_pers *ps, size_t n, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	int rc = 0;

	if (!copy) {
		perror(program_invocation_short_name);
		return -1;
	}
	for (char *item = strtok_r(copy, ",", &save); item && !rc; item = strtok_r(NULL, ",", &save))
		if (!strchr(item, '='))
			rc = set_mark(ps, n, item);
	free(copy);
	return rc;
}

/* Whether a list holds NAME=ACTION items (and so needs action maps). */
static inline int set_has_actions(const char *list)
{
	return list && strchr(list, '=') != NULL;
}

/* The seccomp return value ACTION names: allow, log, kill (the process),
 * kill_thread, user_notif, trap[:N], trace[:N], errno:N; N (decimal or 0x
 * hex, at most 0xffff) is the value's data bits. */
static inline int set_parse_action(const char *s, uint32_t *out)
{
	static const struct {
		const char *name;
		uint32_t value;
		int data; /* 0: none, 1: optional, 2: required */
	} known[] = {
		{ "allow", SECCOMP_RET_ALLOW, 0 },
		{ "log", SECCOMP_RET_LOG, 0 },
		{ "kill", SECCOMP_RET_KILL_PROCESS, 0 },
		{ "kill_process", SECCOMP_RET_KILL_PROCESS, 0 },
		{ "kill_thread", SECCOMP_RET_KILL_THREAD, 0 },
		{ "user_notif", SECCOMP_RET_USER_NOTIF, 0 },
		{ "trap", SECCOMP_RET_TRAP, 1 },
		{ "trace", SECCOMP_RET_TRACE, 1 },
		{ "errno", SECCOMP_RET_ERRNO, 2 },
	};
	const char *colon = strchr(s, ':');
	size_t len = colon ? (size_t)(colon - s) : strlen(s);

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		unsigned long data = 0;
		char *end;

		if (strlen(known[i].name) != len || strncmp(s, known[i].name, len))
			continue;
		if (colon) {
			errno = 0;
			data = strtoul(colon + 1, &end, 0);
			if (!known[i].data || colon[1] < '0' || colon[1] > '9' || *end || errno ||
			    data > SECCOMP_RET_DATA)
				break;
		} else if (known[i].data == 2) {
			break;
		}
		*out = known[i].value | (uint32_t)data;
		return 0;
	}
	fprintf(stderr,
		"%s: bad action '%s' (allow, log, kill, kill_thread, user_notif, trap[:N], "
		"trace[:N], errno:N; N at most 0xffff)\n",
		program_invocation_short_name, s);
	return -1;
}

/* Gives every personality its action map: SECCOMP_RET_TRACE for the marked
 * numbers, SECCOMP_RET_ALLOW for the others, then each NAME=ACTION item of
 * the comma-separated list (NAME a name or number, as for set_mark) in
 * every personality that knows NAME. */
static inline int set_assign_list(struct set_pers *ps, size_t n, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	int rc = 0;

	for (size_t i = 0; i < n && copy; i++) {
		ps[i].actions = malloc((ps[i].p.nsyscalls + 1) * sizeof(uint32_t));
		if (!ps[i].actions) {
			free(copy);
			copy = NULL;
			break;
		}
		for (uint32_t nr = 0; nr < ps[i].p.nsyscalls; nr++)
			ps[i].actions[nr] = set_is_traced(&ps[i], nr) ? SECCOMP_RET_TRACE
								      : SECCOMP_RET_ALLOW;
	}
	if (!copy) {
		perror(program_invocation_short_name);
		return -1;
	}
	for (char *item = strtok_r(copy, ",", &save); item && !rc; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *end;
		unsigned long nr;
		uint32_t value;
		int known = 0;

		if (!eq)
			continue;
		*eq = 0;
		if (set_parse_action(eq + 1, &value)) {
			rc = -1;
			break;
		}
		errno = 0;
		nr = strtoul(item, &end, 10);
		for (size_t i = 0; i < n; i++) {
			const struct tracefilter_personality *p = &ps[i].p;
			uint32_t k;

			if (*item && !*end && !errno)
				k = nr < p->nsyscalls ? (uint32_t)nr : UINT32_MAX;
			else if (tracefilter_syscall_number(p->audit_arch, p->nr_flag, item, &k) !=
				 TRACEFILTER_OK)
				continue;
			if (k >= p->nsyscalls)
				continue;
			ps[i].actions[k] = value;
			known = 1;
		}
		if (!known) {
			fprintf(stderr, "%s: unknown syscall '%s'\n", program_invocation_short_name,
				item);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

/* --all-but: every number not marked, and only those. */
static inline void set_invert(struct set_pers *ps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (uint32_t b = 0; b < (ps[i].p.nsyscalls + 7) / 8; b++)
			ps[i].bits[b] = (uint8_t)~ps[i].bits[b];
}

/* Reads a raw struct sock_filter array, as the kernel takes it (malloc'd). */
static inline struct sock_filter *set_read_program(const char *path, unsigned short *len)
{
	const char *me = program_invocation_short_name;
	struct sock_filter *insns = malloc((BPF_MAXINSNS + 1) * sizeof(*insns));
	FILE *f = fopen(path, "rb");
	size_t n = 0;
	long size;

	if (!insns || !f)
		goto fail;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto fail;
	if (size == 0 || size % sizeof(*insns) || size / sizeof(*insns) > BPF_MAXINSNS) {
		fprintf(stderr, "%s: %s: %ld bytes is not 1 to %d struct sock_filter\n", me, path,
			size, BPF_MAXINSNS);
		free(insns);
		fclose(f);
		return NULL;
	}
	n = fread(insns, sizeof(*insns), BPF_MAXINSNS + 1, f);
	if (ferror(f) || n != (size_t)size / sizeof(*insns))
		goto fail;
	fclose(f);
	*len = (unsigned short)n;
	return insns;
fail:
	fprintf(stderr, "%s: %s: %s\n", me, path, strerror(errno ? errno : EIO));
	free(insns);
	if (f)
		fclose(f);
	return NULL;
}

/* Marks every number the program in FILE returns SECCOMP_RET_TRACE for
 * (e.g. strace's own program for a set). */
static inline int set_mark_traced_by(struct set_pers *ps, size_t n, const char *path)
{
	unsigned short len;
	struct sock_filter *insns = set_read_program(path, &len);
	struct sock_fprog prog = { .len = len, .filter = insns };
	int rc = 0;

	if (!insns)
		return -1;
	for (size_t i = 0; i < n && !rc; i++) {
		for (uint32_t nr = 0; nr < ps[i].p.nsyscalls; nr++) {
			uint32_t action;

			rc = tracefilter_evaluate(&prog, ps[i].p.audit_arch, nr | ps[i].p.nr_flag,
						  &action, NULL);
			if (rc != TRACEFILTER_OK) {
				fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, path,
					tracefilter_strerror(rc));
				break;
			}
			if ((action & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_TRACE)
				ps[i].bits[nr / 8] |= 1u << (nr % 8);
		}
	}
	free(insns);
	return rc ? -1 : 0;
}

/* Reads an action map file: lines "NAME NR VALUE [SYSCALL]" (NAME a
 * personality as for -p, NR without its nr_flag, VALUE the full return
 * value, 0x hex or decimal), and "unknown * VALUE [-]", the value for every
 * other arch (*unknown_arch; *has_unknown is set). Each personality named
 * gets an action map up to its largest NR; numbers it does not list get
 * SECCOMP_RET_ALLOW. integrations/proot/extract.sh writes such files. */
static inline int set_read_map(struct set_pers *ps, size_t *n, const char *path,
			       uint32_t *unknown_arch, int *has_unknown)
{
	static char names[SET_MAX_PERS][48];
	const char *me = program_invocation_short_name;
	char line[256], name[32], nr_s[32];
	uint32_t max[SET_MAX_PERS] = { 0 };
	size_t first = *n, count = 0, lineno;
	FILE *f = fopen(path, "r");
	unsigned long value, nr;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", me, path, strerror(errno));
		return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		rewind(f);
		lineno = 0;
		while (fgets(line, sizeof(line), f)) {
			char *end;
			size_t i;

			lineno++;
			if (line[0] == '#' || line[0] == '\n')
				continue;
			if (sscanf(line, "%31s %31s %lx", name, nr_s, &value) != 3 || value > UINT32_MAX)
				goto bad;
			if (!strcmp(name, "unknown")) {
				*unknown_arch = (uint32_t)value;
				*has_unknown = 1;
				continue;
			}
			errno = 0;
			nr = strtoul(nr_s, &end, 10);
			if (*end || errno || nr >= TRACEFILTER_MAX_NSYSCALLS)
				goto bad;
			for (i = 0; i < count && strcmp(names[first + i], name); i++)
				;
			if (pass == 0) {
				if (i == count) {
					if (first + count == SET_MAX_PERS) {
						fprintf(stderr, "%s: at most %d personalities\n", me,
							SET_MAX_PERS);
						fclose(f);
						return -1;
					}
					snprintf(names[first + count++], sizeof(names[0]), "%s", name);
				}
				max[i] = nr > max[i] ? (uint32_t)nr : max[i];
			} else {
				ps[first + i].actions[nr] = (uint32_t)value;
			}
		}
		if (pass == 0) {
			for (size_t i = 0; i < count; i++) {
				char arg[48];

				snprintf(arg, sizeof(arg), "%.31s:%u", names[first + i], max[i] + 1);
				memcpy(names[first + i], arg, sizeof(arg));
				if (set_add_personality(ps, n, names[first + i]))
					goto fail;
				ps[*n - 1].actions = malloc((max[i] + 1) * sizeof(uint32_t));
				if (!ps[*n - 1].actions) {
					perror(me);
					goto fail;
				}
				for (uint32_t k = 0; k <= max[i]; k++)
					ps[*n - 1].actions[k] = SECCOMP_RET_ALLOW;
				/* the names compare without the size again */
				*strchr(names[first + i], ':') = 0;
			}
		}
	}
	for (size_t i = 0; i < count; i++) /* as -p would print it */
		names[first + i][strlen(names[first + i])] = ':';
	fclose(f);
	return 0;
bad:
	fprintf(stderr, "%s: %s:%zu: not \"NAME NR VALUE [SYSCALL]\"\n", me, path, lineno);
fail:
	fclose(f);
	return -1;
}

static inline void set_free(struct set_pers *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ps[i].bits);
		free(ps[i].actions);
	}
}

#endif
