/*
 * tftrace: a minimal strace on tracefilter.
 *
 *   tftrace [-f] [-o FILE] [--no-seccomp] -e trace=SET -- CMD [ARGS...]
 *
 * SET is strace's: syscall names or numbers separated by commas, `all`,
 * `none`, and a leading `!` for every syscall but those; a later -e trace=
 * replaces an earlier one, as in strace. strace's classes
 * (%file, %process, ...), regular expressions and other qualifiers
 * (abbrev=, signal=, ...) are not supported: tftrace says so and exits 2.
 *
 * Prints strace's "name(args) = ret" for every requested syscall of CMD
 * (and, with -f, of its children and threads, prefixed by "[pid N]" while
 * more than one is traced). The file and exec syscalls show their paths and
 * execve's argv (quoted and escaped as strace does), AT_FDCWD and open
 * flags, read with process_vm_readv (paths up to PATH_MAX); other
 * arguments are printed in hex, all six for the syscalls tftrace does not
 * know. Errors read "-1 ENOENT (No such file or directory)".
 *
 * The tracee runs under a seccomp filter compiled by tracefilter, so only
 * the requested syscalls stop it; when the filter cannot be used, one
 * warning line says why and every syscall is traced with PTRACE_SYSCALL
 * (--no-seccomp asks for that). The filter also stops every clone that asks
 * for CLONE_UNTRACED and every clone3 (TRACEFILTER_COMPILE_GUARD_UNTRACED):
 * tftrace clears the flag there, so no child keeps the filter without a
 * tracer (its traced syscalls would fail with ENOSYS). The protocol (probe, install in the child,
 * report pipe, resume requests) is the one of docs/protocol.md, driven by
 * tracefilter_protocol_step(). Tracees are attached with PTRACE_SEIZE (Linux
 * 3.4), so a stopped tracee stays stopped until SIGCONT, as without a tracer.
 * Syscalls are read with PTRACE_GET_SYSCALL_INFO (Linux 5.3), on older
 * kernels from the registers (x86_64 only); TFTRACE_REGS=1 in the
 * environment forces the registers (for tests).
 *
 * Exit status: CMD's, or 128+signal when CMD was killed by a signal;
 * 1 when CMD cannot be found or tracing failed, 2 on a usage error.
 * SIGINT and SIGQUIT (Ctrl-C, Ctrl-\) are left to CMD.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tracefilter.h>

#if defined(__x86_64__)
#include <elf.h>
#include <sys/user.h>
static const char *const personalities[] = { "x86_64", "i386", "x32" };
#elif defined(__i386__)
static const char *const personalities[] = { "i386" };
#elif defined(__aarch64__)
static const char *const personalities[] = { "aarch64", "arm" };
#elif defined(__arm__)
static const char *const personalities[] = { "arm" };
#elif defined(__riscv) && __riscv_xlen == 64
static const char *const personalities[] = { "riscv64" };
#else
#error "tftrace: no syscall table for this machine"
#endif
#define NPERS (sizeof(personalities) / sizeof(personalities[0]))

/* The kernel's restart codes, which never reach user space as errno. */
#define ERESTARTSYS 512
#define ERESTART_RESTARTBLOCK 516

struct pers {
	struct tracefilter_personality p;
	uint8_t *bits;
};

/* A syscall as one stop shows it. */
struct syscall {
	uint32_t arch, nr; /* nr with the personality's nr_flag */
	uint64_t args[6];
	int64_t rval;
	int is_error;
};

/* Per-tracee state. */
struct task {
	pid_t pid;
	int quiet;	   /* our own child before its execve: print nothing */
	int in_syscall;	   /* between a syscall's entry and its exit stop */
	char *entry;	   /* "name(args" printed at the exit stop, or NULL */
	unsigned request;  /* the last resume request */
	uint32_t arch, nr; /* the current syscall */
};

static struct pers pers[NPERS];
static struct task *tasks;
static size_t ntasks, cap_tasks;
static FILE *out;
static int mode = TRACEFILTER_MODE_PTRACE;
static int follow;	/* -f: print every tracee, not only the first */
static int use_regs;	/* no PTRACE_GET_SYSCALL_INFO: read the registers */
static pid_t main_pid;
static uint32_t order = TRACEFILTER_ORDER_UNKNOWN;
static uint32_t execve_nr; /* native */

static void usage(FILE *f)
{
	fprintf(f, "usage: tftrace [-f] [-o FILE] [--no-seccomp] -e trace=SET -- CMD [ARGS...]\n"
		   "  SET: NAME or NUMBER[,...], all, none; !SET for all but SET\n");
}

/* The personality of a syscall: the one whose nr_flag it carries, else the
 * one of its arch without a flag (x86_64 numbers vs x32's). */
static const struct pers *pers_of(uint32_t arch, uint32_t nr)
{
	const struct pers *plain = NULL;

	for (size_t i = 0; i < NPERS; i++) {
		uint32_t flag = pers[i].p.nr_flag;

		if (pers[i].p.audit_arch != arch)
			continue;
		if (flag && (nr & flag) == flag)
			return &pers[i];
		if (!flag)
			plain = &pers[i];
	}
	return plain;
}

/* The syscall's name in its personality's table, or NULL. */
static const char *syscall_name_of(const struct syscall *s)
{
	const struct pers *p = pers_of(s->arch, s->nr);
	uint32_t flag = p ? p->p.nr_flag : 0;

	return p ? tracefilter_syscall_name(s->arch, flag, s->nr & ~flag) : NULL;
}

/* Whether the user asked for this syscall (arch and nr as the kernel gives them). */
static int wanted(uint32_t arch, uint32_t nr)
{
	const struct pers *p = pers_of(arch, nr);

	if (!p)
		return 0;
	nr &= ~p->p.nr_flag;
	return nr < p->p.nsyscalls && (p->bits[nr / 8] >> (nr % 8)) & 1;
}

/* Marks a name, a number, "all" or "none" in every personality that has it. */
static int mark(const char *item, const char *expr)
{
	char *end;
	unsigned long num = strtoul(item, &end, 10);
	int known = !strcmp(item, "none");

	if (item[0] == '%' || item[0] == '/' || item[0] == '?') {
		fprintf(stderr,
			"tftrace: -e %s: syscall classes (%%file, ...), regular expressions and "
			"'?' are strace's, not supported here; name the syscalls\n",
			expr);
		return -1;
	}
	for (size_t i = 0; i < NPERS; i++) {
		uint32_t n = pers[i].p.nsyscalls, nr;

		if (!strcmp(item, "all")) {
			memset(pers[i].bits, 0xff, (n + 7) / 8);
			known = 1;
			continue;
		}
		if (item[0] >= '0' && item[0] <= '9' && !*end)
			nr = num < n ? (uint32_t)num : n;
		else if (tracefilter_syscall_number(pers[i].p.audit_arch, pers[i].p.nr_flag, item,
						    &nr) != TRACEFILTER_OK)
			continue;
		if (nr < n) {
			pers[i].bits[nr / 8] |= 1u << (nr % 8);
			known = 1;
		}
	}
	if (!known)
		fprintf(stderr,
			"tftrace: unknown syscall '%s' in -e %s (names, numbers, all, none, "
			"!SET)\n",
			item, expr);
	return known ? 0 : -1;
}

/* -e EXPR: strace's trace= qualifier (the "trace=" may be left out). */
static int parse_expr(const char *expr)
{
	const char *set = expr;
	char *list, *save = NULL;
	int negate = 0, rc = 0, items = 0;

	if (!strncmp(set, "trace=", 6)) {
		set += 6;
	} else if (strchr(set, '=')) {
		fprintf(stderr, "tftrace: -e %s: only -e trace=SET is supported\n", expr);
		return -1;
	}
	for (; *set == '!'; set++)
		negate = !negate;
	/* As in strace, each -e trace= replaces the set before it. */
	for (size_t i = 0; i < NPERS; i++)
		memset(pers[i].bits, 0, (pers[i].p.nsyscalls + 7) / 8);
	list = strdup(set);
	if (!list) {
		perror("tftrace");
		return -1;
	}
	for (char *item = strtok_r(list, ",", &save); item && !rc;
	     item = strtok_r(NULL, ",", &save), items++)
		rc = mark(item, expr);
	free(list);
	if (!rc && !items) {
		fprintf(stderr, "tftrace: -e %s: no syscall named (use none to trace nothing)\n",
			expr);
		rc = -1;
	}
	for (size_t i = 0; i < NPERS && negate; i++)
		for (uint32_t b = 0; b < (pers[i].p.nsyscalls + 7) / 8; b++)
			pers[i].bits[b] = (uint8_t)~pers[i].bits[b];
	return rc;
}

static struct task *task_find(pid_t pid)
{
	for (size_t i = 0; i < ntasks; i++)
		if (tasks[i].pid == pid)
			return &tasks[i];
	return NULL;
}

static struct task *task_add(pid_t pid)
{
	if (ntasks == cap_tasks) {
		size_t cap = cap_tasks ? 2 * cap_tasks : 16;
		struct task *t = realloc(tasks, cap * sizeof(*t));

		if (!t)
			return NULL;
		tasks = t;
		cap_tasks = cap;
	}
	memset(&tasks[ntasks], 0, sizeof(tasks[ntasks]));
	tasks[ntasks].pid = pid;
	/* A new tracee starts at rest, outside any syscall. */
	tasks[ntasks].request = mode == TRACEFILTER_MODE_SECCOMP ? PTRACE_CONT : PTRACE_SYSCALL;
	return &tasks[ntasks++];
}

static void task_del(struct task *t)
{
	free(t->entry);
	*t = tasks[--ntasks];
}

#if defined(__x86_64__)
/* NT_PRSTATUS of a 32-bit tracee. */
struct i386_regs {
	uint32_t ebx, ecx, edx, esi, edi, ebp, eax, ds, es, fs, gs, orig_eax, eip, cs, eflags,
		esp, ss;
};

/* Before Linux 5.3: the syscall from the registers; their size tells a
 * 32-bit tracee from a 64-bit one, the number's x32 bit an x32 one. */
static int read_regs(pid_t pid, struct syscall *s)
{
	union {
		struct user_regs_struct r64;
		struct i386_regs r32;
	} u;
	struct iovec iov = { &u, sizeof(u) };

	if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov) < 0)
		return -1;
	if (iov.iov_len == sizeof(u.r32)) {
		const struct i386_regs *r = &u.r32;
		uint64_t args[6] = { r->ebx, r->ecx, r->edx, r->esi, r->edi, r->ebp };

		s->arch = AUDIT_ARCH_I386;
		s->nr = r->orig_eax;
		memcpy(s->args, args, sizeof(args));
		/* As PTRACE_GET_SYSCALL_INFO: an error sign-extended, a value not. */
		s->is_error = (int32_t)r->eax < 0 && (int32_t)r->eax >= -4095;
		s->rval = s->is_error ? (int32_t)r->eax : (int64_t)r->eax;
	} else {
		const struct user_regs_struct *r = &u.r64;
		uint64_t args[6] = { r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9 };

		s->arch = AUDIT_ARCH_X86_64;
		s->nr = (uint32_t)r->orig_rax;
		memcpy(s->args, args, sizeof(args));
		s->rval = (int64_t)r->rax;
		s->is_error = s->rval < 0 && s->rval >= -4095;
	}
	return 0;
}
#else
static int read_regs(pid_t pid, struct syscall *s)
{
	(void)pid;
	(void)s;
	fprintf(stderr, "tftrace: this kernel lacks PTRACE_GET_SYSCALL_INFO (Linux 5.3); "
			"tftrace reads the registers on x86_64 only\n");
	errno = ENOSYS;
	return -1;
}
#endif

/* The syscall at a syscall or seccomp stop. */
static int read_syscall(pid_t pid, struct syscall *s)
{
	struct __ptrace_syscall_info info;

	memset(&info, 0, sizeof(info)); /* for checkers that do not know this request */
	if (!use_regs && ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) > 0) {
		const uint64_t *args = info.op == PTRACE_SYSCALL_INFO_SECCOMP ? info.seccomp.args
									      : info.entry.args;

		s->arch = info.arch;
		s->nr = (uint32_t)(info.op == PTRACE_SYSCALL_INFO_SECCOMP ? info.seccomp.nr
									  : info.entry.nr);
		memcpy(s->args, args, sizeof(s->args));
		s->rval = info.exit.rval;
		s->is_error = info.exit.is_error;
		return 0;
	}
	/* EIO: a kernel before 5.3 does not know the request. */
	if (!use_regs && errno != EIO)
		return -1;
	use_regs = 1;
	return read_regs(pid, s);
}

/* Reads SIZE bytes of the tracee at ADDR, page by page (a string may end
 * just before an unmapped page), for a string only up to its NUL; the
 * number of bytes read. */
static size_t read_mem(pid_t pid, uint64_t addr, void *buf, size_t size, int string)
{
	size_t n = 0, page = (size_t)sysconf(_SC_PAGESIZE);

	while (n < size && !(string && memchr(buf, 0, n))) {
		size_t chunk = page - (addr + n) % page < size - n ? page - (addr + n) % page : size - n;
		struct iovec local = { (char *)buf + n, chunk };
		struct iovec remote = { (void *)(uintptr_t)(addr + n), chunk };
		ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);

		if (got <= 0)
			break;
		n += (size_t)got;
	}
	return n;
}

/* A string of the tracee, escaped and quoted as strace prints it, "..."
 * after the first MAX bytes; NULL, or its address if it cannot be read. */
static void print_string(FILE *f, pid_t pid, uint64_t addr, size_t max)
{
	char buf[PATH_MAX + 1];
	size_t n = read_mem(pid, addr, buf, max + 1, 1);
	char *nul = memchr(buf, 0, n);

	if (!addr || (!nul && n <= max)) {
		fprintf(f, addr ? "%#llx" : "NULL", (unsigned long long)addr);
		return;
	}
	n = nul ? (size_t)(nul - buf) : max;
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		const char *esc = strchr("\t\n\v\f\r", c);

		if (c && esc)
			fprintf(f, "\\%c", "tnvfr"[esc - "\t\n\v\f\r"]);
		else if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c >= ' ' && c < 0x7f)
			fputc(c, f);
		else if (i + 1 < n && buf[i + 1] >= '0' && buf[i + 1] <= '7')
			fprintf(f, "\\%03o", c); /* "\0" then "1" is not "\01" */
		else
			fprintf(f, "\\%o", c);
	}
	fputs(nul ? "\"" : "\"...", f);
}

/* execve's argv and envp as strace shows them: the strings (up to 32, of
 * up to 32 bytes), the count; NULL, or the address if it cannot be read.
 * WORD is the tracee's pointer size. */
static void print_strings(FILE *f, pid_t pid, uint64_t addr, unsigned word, int count_only)
{
	unsigned i;

	for (i = 0; addr && i < 4096; i++) {
		uint32_t p32 = 0;
		uint64_t p = 0;

		if (read_mem(pid, addr + (uint64_t)i * word, word == 4 ? (void *)&p32 : &p, word, 0) !=
		    word) {
			if (!i) {
				fprintf(f, "%#llx", (unsigned long long)addr);
				return;
			}
			break;
		}
		p = word == 4 ? p32 : p;
		if (!p)
			break;
		if (count_only || i > 32)
			continue;
		fputs(i ? ", " : "[", f);
		if (i == 32)
			fputs("...", f);
		else
			print_string(f, pid, p, 32);
	}
	if (count_only || !addr)
		fprintf(f, addr ? "%#llx /* %u vars */" : "NULL", (unsigned long long)addr, i);
	else
		fputs(i ? "]" : "[]", f);
}

static void print_open_flags(FILE *f, uint64_t v)
{
	static const struct {
		uint64_t flag;
		const char *name;
	} names[] = {
		{ O_CREAT, "O_CREAT" },	      { O_EXCL, "O_EXCL" },	      { O_NOCTTY, "O_NOCTTY" },
		{ O_TRUNC, "O_TRUNC" },	      { O_APPEND, "O_APPEND" },	      { O_NONBLOCK, "O_NONBLOCK" },
		{ O_SYNC, "O_SYNC" },	      { O_DSYNC, "O_DSYNC" },	      { O_DIRECT, "O_DIRECT" },
		{ O_TMPFILE, "O_TMPFILE" },   { O_DIRECTORY, "O_DIRECTORY" }, { O_NOFOLLOW, "O_NOFOLLOW" },
		{ O_NOATIME, "O_NOATIME" },   { O_CLOEXEC, "O_CLOEXEC" },     { O_PATH, "O_PATH" },
		{ 0100000, "O_LARGEFILE" }, /* 32-bit tracees; 0 in 64-bit headers */
	};

	fputs((v & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : (v & O_ACCMODE) == O_RDWR ? "O_RDWR" : "O_RDONLY",
	      f);
	v &= ~(uint64_t)O_ACCMODE;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((v & names[i].flag) == names[i].flag) {
			fprintf(f, "|%s", names[i].name);
			v &= ~names[i].flag;
		}
	}
	if (v)
		fprintf(f, "|%#llx", (unsigned long long)v);
}

/*
 * The arguments of the file and exec syscalls tftrace decodes, one letter
 * each: f a directory fd (AT_FDCWD), p a path, O open flags, m a mode (only
 * after flags with O_CREAT or O_TMPFILE), a argv, e envp, d an int, x hex.
 */
static const struct {
	const char *name, *args;
} decoders[] = {
	{ "open", "pOm" },	    { "openat", "fpOm" },     { "creat", "pm" },
	{ "openat2", "fpxd" },	    { "close", "d" },	      { "access", "px" },
	{ "faccessat", "fpx" },	    { "faccessat2", "fpxx" }, { "stat", "px" },
	{ "lstat", "px" },	    { "stat64", "px" },	      { "lstat64", "px" },
	{ "newfstatat", "fpxx" },   { "fstatat64", "fpxx" },  { "statx", "fpxxx" },
	{ "statfs", "px" },	    { "readlink", "pxd" },    { "readlinkat", "fpxd" },
	{ "chdir", "p" },	    { "mkdir", "pm" },	      { "mkdirat", "fpm" },
	{ "rmdir", "p" },	    { "unlink", "p" },	      { "unlinkat", "fpx" },
	{ "chmod", "pm" },	    { "fchmodat", "fpm" },    { "chown", "pdd" },
	{ "fchownat", "fpddx" },    { "truncate", "pd" },     { "rename", "pp" },
	{ "renameat", "fpfp" },	    { "renameat2", "fpfpx" }, { "link", "pp" },
	{ "linkat", "fpfpx" },	    { "symlink", "pp" },      { "symlinkat", "pfp" },
	{ "execve", "pae" },	    { "execveat", "fpaex" },
};

/* "name(args" of the syscall at its entry stop (the exit stop adds the
 * rest): paths must be read now, execve replaces them. NULL without memory. */
static char *format_entry(const struct task *t, const struct syscall *s)
{
	const struct pers *p = pers_of(s->arch, s->nr);
	uint32_t flag = p ? p->p.nr_flag : 0;
	const char *name = syscall_name_of(s);
	const char *args = "xxxxxx";
	unsigned word = s->arch & __AUDIT_ARCH_64BIT && !flag ? 8 : 4; /* x32: 4 */
	char *text = NULL;
	size_t size;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return NULL;
	if (name)
		fputs(name, f);
	else
		fprintf(f, "syscall_%#x", s->nr);
	for (size_t i = 0; name && i < sizeof(decoders) / sizeof(decoders[0]); i++)
		if (!strcmp(name, decoders[i].name))
			args = decoders[i].args;
	fputc('(', f);
	for (size_t i = 0; args[i]; i++) {
		uint64_t v = s->args[i];

		if (args[i] == 'm' && i && args[i - 1] == 'O' && !(s->args[i - 1] & O_CREAT) &&
		    (s->args[i - 1] & O_TMPFILE) != O_TMPFILE)
			break;
		if (i)
			fputs(", ", f);
		if (args[i] == 'f' && (int)v == AT_FDCWD)
			fputs("AT_FDCWD", f);
		else if (args[i] == 'f' || args[i] == 'd')
			fprintf(f, "%d", (int)v);
		else if (args[i] == 'p')
			print_string(f, t->pid, v, PATH_MAX);
		else if (args[i] == 'a' || args[i] == 'e')
			print_strings(f, t->pid, v, word, args[i] == 'e');
		else if (args[i] == 'O')
			print_open_flags(f, v);
		else if (args[i] == 'm')
			fprintf(f, "%#03llo", (unsigned long long)v);
		else
			fprintf(f, "%#llx", (unsigned long long)v);
	}
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

static void format_ret(const struct syscall *s, char *buf, size_t size)
{
	int64_t v = s->rval;

	/* strace's words; 515 (ENOIOCTLCMD) is not a restart. */
	static const char *const restart[][2] = {
		{ "ERESTARTSYS", "To be restarted if SA_RESTART is set" },
		{ "ERESTARTNOINTR", "To be restarted" },
		{ "ERESTARTNOHAND", "To be restarted if no handler" },
		{ NULL, NULL },
		{ "ERESTART_RESTARTBLOCK", "Interrupted by signal" },
	};

	if (s->is_error && -v >= ERESTARTSYS && -v <= ERESTART_RESTARTBLOCK &&
	    restart[-v - ERESTARTSYS][0]) {
		snprintf(buf, size, "? %s (%s)", restart[-v - ERESTARTSYS][0],
			 restart[-v - ERESTARTSYS][1]);
	} else if (s->is_error) {
		const char *name = strerrorname_np((int)-v);

		if (name)
			snprintf(buf, size, "-1 %s (%s)", name, strerror((int)-v));
		else
			snprintf(buf, size, "-1 errno %lld", (long long)-v);
	} else if (v >= -0x80000000LL && v <= 0x7fffffffLL) { /* else an address */
		snprintf(buf, size, "%lld", (long long)v);
	} else {
		snprintf(buf, size, "%#llx", (unsigned long long)v);
	}
}

/* strace's "[pid N] " while -f traces more than one process. */
static void print_prefix(pid_t pid)
{
	if (follow && ntasks > 1)
		fprintf(out, "[pid %d] ", pid);
}

static void resume(struct task *t, unsigned request, int sig)
{
	t->request = request;
	/* ESRCH: killed meanwhile (e.g. by another thread's exit_group). */
	ptrace((enum __ptrace_request)request, t->pid, 0L, (long)sig);
}

/*
 * At a seccomp stop, after the entry was decoded with the caller's flags: a
 * clone with CLONE_UNTRACED (or any clone3, whose flags BPF cannot read) is
 * made an ordinary one, so the child is reported through
 * PTRACE_O_TRACECLONE/FORK/VFORK instead of running away with the filter.
 * Elsewhere this is a no-op.
 */
static void untraced_clear(pid_t pid, const struct syscall *s)
{
	static int warned;
	const char *name = syscall_name_of(s);
	int st;

	/* Only these two can be guard stops: spare the other stops a ptrace call. */
	if (!name || (strcmp(name, "clone") && strcmp(name, "clone3")))
		return;
	st = tracefilter_untraced_clear(pid, 0, NULL);

	if (st != TRACEFILTER_OK && st != TRACEFILTER_E_PTRACE && !warned) {
		warned = 1;
		fprintf(stderr, "tftrace: warning: a CLONE_UNTRACED child may escape: %s\n",
			tracefilter_strerror(st));
	}
}

/* A seccomp stop, or a syscall stop (entry or exit: the tracer keeps count). */
static int syscall_stop(struct task *t, uint32_t stop)
{
	struct tracefilter_resume r;
	struct syscall s;
	int st;

	if (stop == TRACEFILTER_STOP_SYSCALL_ENTRY && t->in_syscall)
		stop = TRACEFILTER_STOP_SYSCALL_EXIT;
	if (read_syscall(t->pid, &s)) {
		if (errno == ESRCH)
			return 0;
		perror("tftrace: reading the syscall");
		return -1;
	}
	if (stop != TRACEFILTER_STOP_SYSCALL_EXIT) {
		t->arch = s.arch;
		t->nr = s.nr;
		/* Our child's own install and report stay out of the trace. */
		if (t->quiet && t->arch == pers[0].p.audit_arch && t->nr == execve_nr)
			t->quiet = 0;
	}
	/* Since 4.8 a seccomp stop in seccomp mode stands for the entry stop. */
	if (stop == TRACEFILTER_STOP_SYSCALL_ENTRY ||
	    (stop == TRACEFILTER_STOP_SECCOMP && mode == TRACEFILTER_MODE_SECCOMP &&
	     order == TRACEFILTER_ORDER_ENTRY_FIRST))
		t->in_syscall = 1;
	st = tracefilter_protocol_step((uint32_t)mode, order, stop, wanted(t->arch, t->nr), &r);
	if (st != TRACEFILTER_OK) {
		fprintf(stderr, "tftrace: %s\n", tracefilter_strerror(st));
		return -1;
	}
	if (r.decode_entry && !t->quiet && (follow || t->pid == main_pid)) {
		free(t->entry);
		t->entry = format_entry(t, &s);
	} else if (stop == TRACEFILTER_STOP_SYSCALL_EXIT && t->entry) {
		char ret[96];

		format_ret(&s, ret, sizeof(ret));
		print_prefix(t->pid);
		fprintf(out, "%s) = %s\n", t->entry, ret);
		free(t->entry);
		t->entry = NULL;
	}
	/* No exit stop under PTRACE_CONT. */
	if (stop == TRACEFILTER_STOP_SYSCALL_EXIT || r.request == PTRACE_CONT)
		t->in_syscall = 0;
	if (stop == TRACEFILTER_STOP_SECCOMP)
		untraced_clear(t->pid, &s);
	resume(t, r.request, 0);
	return 0;
}

/* The path execv() will run, searched in $PATH like execvp() (and strace);
 * NULL after a message when there is none. */
static char *find_program(const char *cmd)
{
	const char *path = getenv("PATH");
	size_t len = strlen(cmd);
	struct stat sb;

	if (strchr(cmd, '/') || !path) {
		if (stat(cmd, &sb)) {
			fprintf(stderr, "tftrace: Can't stat '%s': %s\n", cmd, strerror(errno));
			return NULL;
		}
		return strdup(cmd);
	}
	while (*path) {
		const char *end = strchrnul(path, ':');
		size_t dlen = (size_t)(end - path);
		char *full = malloc(dlen + len + 3);

		if (!full)
			return NULL;
		/* An empty element is the current directory. */
		sprintf(full, "%.*s/%s", dlen ? (int)dlen : 1, dlen ? path : ".", cmd);
		if (!stat(full, &sb) && S_ISREG(sb.st_mode) && !access(full, X_OK))
			return full;
		free(full);
		path = *end ? end + 1 : end;
	}
	fprintf(stderr, "tftrace: Can't stat '%s': %s\n", cmd, strerror(ENOENT));
	return NULL;
}

/* The child: stop until the tracer has seized it, install the filter,
 * report, exec. */
static void __attribute__((noreturn))
child(const char *path, char **argv, const struct sock_fprog *prog, int report_fd)
{
	/* kill, not raise: raise() may make syscalls the filter traces. */
	kill(getpid(), SIGSTOP);
	if (prog) {
		struct tracefilter_install_report r;

		tracefilter_install_report_init(&r);
		/*
		 * No NNP up front: as root the tracee keeps its setuid programs;
		 * an unprivileged user gets NNP only after the kernel said EACCES.
		 */
		tracefilter_install(prog,
				    TRACEFILTER_INSTALL_SPEC_ALLOW |
					    TRACEFILTER_INSTALL_ALLOW_NO_NEW_PRIVS,
				    &r);
		tracefilter_report_send(report_fd, &r);
	}
	execv(path, argv);
	fprintf(stderr, "tftrace: %s: %s\n", path, strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static const char *step_name(uint32_t step)
{
	switch (step) {
	case TRACEFILTER_STEP_ARGUMENTS:
		return "arguments";
	case TRACEFILTER_STEP_SECCOMP:
		return "seccomp(2)";
	case TRACEFILTER_STEP_PRCTL:
		return "prctl(PR_SET_SECCOMP)";
	case TRACEFILTER_STEP_NO_NEW_PRIVS:
		return "prctl(PR_SET_NO_NEW_PRIVS)";
	default:
		return "install";
	}
}

/* At our child's exec (or death): is the filter active? */
static void read_report(int fd, unsigned len)
{
	struct tracefilter_install_report r;
	int st;

	tracefilter_install_report_init(&r);
	st = tracefilter_report_receive(fd, &r);
	if (st == TRACEFILTER_OK && r.installed) {
		mode = TRACEFILTER_MODE_SECCOMP;
		fprintf(stderr,
			"tftrace: seccomp filter active (%u instructions, %s%s): only traced "
			"syscalls stop the tracee\n",
			len, r.mechanism == TRACEFILTER_MECHANISM_PRCTL ? "prctl" : "seccomp(2)",
			r.no_new_privs ? ", no_new_privs set" : "");
	} else if (st == TRACEFILTER_OK) {
		fprintf(stderr,
			"tftrace: warning: seccomp filter not installed (%s: %s%s%s); "
			"tracing every syscall with PTRACE_SYSCALL\n",
			step_name(r.failed_step), tracefilter_strerror(r.status),
			r.error ? ", " : "", r.error ? strerror(r.error) : "");
	} else {
		fprintf(stderr,
			"tftrace: warning: no install report (%s); tracing every syscall with "
			"PTRACE_SYSCALL\n",
			tracefilter_strerror(st));
	}
	close(fd);
}

/* Compiles the set; NULL (after a warning) when the filter cannot be built. */
static struct tracefilter_program *compile(void)
{
	struct tracefilter_personality views[NPERS];
	struct tracefilter_program *prog;
	int st;

	struct tracefilter_options opts;

	for (size_t i = 0; i < NPERS; i++)
		views[i] = pers[i].p;
	tracefilter_options_init(&opts);
	/* Stop clones that would escape the tracer: see untraced_clear(). */
	opts.flags |= TRACEFILTER_COMPILE_GUARD_UNTRACED;
	st = tracefilter_compile(views, NPERS, &opts, &prog);
	if (st != TRACEFILTER_OK) {
		fprintf(stderr,
			"tftrace: warning: no seccomp filter (%s); tracing every syscall with "
			"PTRACE_SYSCALL\n",
			tracefilter_strerror(st));
		return NULL;
	}
	return prog;
}

/* 1 if seccomp mode can work here, 0 (after a warning) if not, -1 (after
 * an error) if ptrace is not permitted at all. */
static int probe(void)
{
	struct tracefilter_kernel k = { .struct_size = sizeof(k) };
	int st = tracefilter_probe(&k);

	if (st == TRACEFILTER_OK && !k.ptrace) {
		fprintf(stderr, "tftrace: ptrace is not permitted here (%s)\n",
			strerror(k.error ? k.error : EPERM));
		return -1;
	}
	order = k.stop_order;
	if (st != TRACEFILTER_OK || !k.filter_mode || !k.ret_trace ||
	    order == TRACEFILTER_ORDER_UNKNOWN) {
		fprintf(stderr,
			"tftrace: warning: seccomp filters unusable here (%s%s%s); tracing every "
			"syscall with PTRACE_SYSCALL\n",
			st != TRACEFILTER_OK ? tracefilter_strerror(st)
			: !k.filter_mode     ? "no filter mode"
			: !k.ret_trace	     ? "no SECCOMP_RET_TRACE"
					     : "unknown stop order",
			k.error ? ": " : "", k.error ? strerror(k.error) : "");
		return 0;
	}
	return 1;
}

/* The syscall a tracee was in when it vanished (exit, or another thread's execve). */
static void print_unfinished(const struct task *t)
{
	if (t->entry) {
		print_prefix(t->pid);
		fprintf(out, "%s) = ?\n", t->entry);
	}
}

/* A tracee exited or was killed: its last words, and the tracer's. */
static void task_exit(struct task *t, int status)
{
	print_unfinished(t);
	if (follow || t->pid == main_pid) {
		print_prefix(t->pid);
		if (WIFSIGNALED(status))
			fprintf(out, "+++ killed by SIG%s%s +++\n",
				sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?",
				WCOREDUMP(status) ? " (core dumped)" : "");
		else
			fprintf(out, "+++ exited with %d +++\n", WEXITSTATUS(status));
	}
	task_del(t);
}

int main(int argc, char **argv)
{
	struct tracefilter_program *prog = NULL;
	const struct sock_fprog *fprog = NULL;
	const char *outfile = NULL;
	int use_seccomp = 1, traced_any = 0, report_fds[2] = { -1, -1 };
	int status = 0, main_status = -1, report_pending = 0, follow_opts = 0, i;
	struct task *t;
	char *path;
	pid_t pid;

	use_regs = getenv("TFTRACE_REGS") != NULL;
	for (size_t k = 0; k < NPERS; k++) {
		if (tracefilter_personality_lookup(personalities[k], &pers[k].p.audit_arch,
						   &pers[k].p.nr_flag,
						   &pers[k].p.nsyscalls) != TRACEFILTER_OK ||
		    !(pers[k].bits = calloc((pers[k].p.nsyscalls + 7) / 8, 1))) {
			fprintf(stderr, "tftrace: no syscall table for %s\n", personalities[k]);
			return 1;
		}
		pers[k].p.traced = pers[k].bits;
	}
	if (tracefilter_syscall_number(pers[0].p.audit_arch, pers[0].p.nr_flag, "execve",
				       &execve_nr) != TRACEFILTER_OK) {
		fprintf(stderr, "tftrace: no execve in the %s table\n", personalities[0]);
		return 1;
	}

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-f")) {
			follow = 1;
		} else if (!strcmp(a, "--no-seccomp")) {
			use_seccomp = 0;
		} else if (!strcmp(a, "-o") && i + 1 < argc) {
			outfile = argv[++i];
		} else if (!strncmp(a, "-e", 2)) {
			const char *expr = a[2] ? a + 2 : i + 1 < argc ? argv[++i] : NULL;

			if (!expr) {
				fprintf(stderr, "tftrace: -e needs an expression, e.g. -e trace=openat\n");
				return 2;
			}
			if (parse_expr(expr))
				return 2;
			traced_any = 1;
		} else if (a[0] == '-') {
			usage(stderr);
			return 2;
		} else {
			break;
		}
	}
	if (i >= argc || !traced_any) {
		usage(stderr);
		return 2;
	}
	out = stderr;
	if (outfile && !(out = fopen(outfile, "we"))) {
		fprintf(stderr, "tftrace: %s: %s\n", outfile, strerror(errno));
		return 1;
	}
	setvbuf(out, NULL, _IOLBF, 0);
	path = find_program(argv[i]);
	if (!path)
		return 1;

	if (!use_seccomp) {
		fprintf(stderr, "tftrace: --no-seccomp: tracing every syscall with PTRACE_SYSCALL\n");
	} else {
		int usable = probe();

		if (usable < 0)
			return 1;
		if (usable && (prog = compile()))
			fprog = tracefilter_program_fprog(prog);
	}
	/*
	 * The filter is inherited by every child and thread, whose traced
	 * syscalls would fail with ENOSYS without a tracer: with a filter,
	 * follow them all, and let -f decide only what is printed.
	 */
	if (follow || fprog)
		follow_opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;
	if (fprog && pipe2(report_fds, O_CLOEXEC)) {
		perror("tftrace: pipe2");
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("tftrace: fork");
		return 1;
	}
	if (pid == 0) {
		if (fprog)
			close(report_fds[0]);
		child(path, argv + i, fprog, report_fds[1]);
	}
	free(path);
	main_pid = pid;
	/*
	 * Ctrl-C and Ctrl-\ reach the tracee too: let it decide (it may catch
	 * them) and report its end, as strace -o does. Dying here would make
	 * PTRACE_O_EXITKILL SIGKILL it instead.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	if (fprog) {
		close(report_fds[1]);
		report_pending = 1;
	}
	if (waitpid(pid, &status, WSTOPPED) != pid || !WIFSTOPPED(status)) {
		fprintf(stderr, "tftrace: the child did not stop for the tracer\n");
		return 1;
	}
	/*
	 * PTRACE_O_TRACESECCOMP must be set before the child installs its
	 * filter: a RET_TRACE without it makes the syscall fail with ENOSYS.
	 * PTRACE_O_EXITKILL: the tracees must not outlive the tracer they need.
	 * PTRACE_SEIZE (not TRACEME) for PTRACE_LISTEN at group-stops.
	 */
	if (ptrace(PTRACE_SEIZE, pid, 0L,
		   (long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL |
			  PTRACE_O_TRACEEXEC | follow_opts)) < 0) {
		perror("tftrace: PTRACE_SEIZE");
		kill(pid, SIGKILL);
		return 1;
	}
	/* Ptrace mode until the report says the filter is active. */
	if (!(t = task_add(pid))) {
		perror("tftrace");
		kill(pid, SIGKILL);
		return 1;
	}
	t->quiet = 1;
	kill(pid, SIGCONT);

	for (;;) {
		int sig, event;

		pid = waitpid(-1, &status, __WALL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				perror("tftrace: waitpid");
			break;
		}
		t = task_find(pid);
		if (!t && !(t = task_add(pid))) {
			perror("tftrace");
			break;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (pid == main_pid) {
				main_status = status;
				if (report_pending) {
					read_report(report_fds[0], fprog->len);
					report_pending = 0;
				}
			}
			task_exit(t, status);
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		sig = WSTOPSIG(status);
		event = (unsigned)status >> 16;
		if (sig == (SIGTRAP | 0x80)) {
			if (syscall_stop(t, TRACEFILTER_STOP_SYSCALL_ENTRY))
				break;
		} else if (sig == SIGTRAP && event == PTRACE_EVENT_SECCOMP) {
			if (syscall_stop(t, TRACEFILTER_STOP_SECCOMP))
				break;
		} else if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
			unsigned long former;

			/* A thread that was not the leader exec'd: it is the leader now. */
			if (!ptrace(PTRACE_GETEVENTMSG, pid, 0L, &former) && (pid_t)former != pid) {
				struct task *f = task_find((pid_t)former);

				if (f) {
					print_unfinished(t);
					free(t->entry);
					*t = *f;
					t->pid = pid;
					f->entry = NULL;
					task_del(f);
					t = task_find(pid);
				}
			}
			if (report_pending) {
				read_report(report_fds[0], fprog->len);
				report_pending = 0;
			}
			resume(t, t->request, 0);
		} else if (event == PTRACE_EVENT_STOP) {
			/*
			 * A group-stop (a stopping signal was delivered): the
			 * tracee stays stopped, and PTRACE_LISTEN lets us hear
			 * of SIGCONT. Else (SIGTRAP) the end of one, or a new
			 * tracee's first stop: resume.
			 */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				ptrace(PTRACE_LISTEN, pid, 0L, 0L);
			else
				resume(t, t->request, 0);
		} else if (event) {
			resume(t, t->request, 0); /* fork, vfork, clone */
		} else {
			resume(t, t->request, sig); /* signal-delivery stop: deliver it */
		}
	}
	tracefilter_program_free(prog);
	for (size_t k = 0; k < NPERS; k++)
		free(pers[k].bits);
	while (ntasks)
		task_del(&tasks[0]);
	free(tasks);
	if (out != stderr)
		fclose(out);
	if (main_status == -1)
		return 1;
	return WIFEXITED(main_status) ? WEXITSTATUS(main_status) : 128 + WTERMSIG(main_status);
}
