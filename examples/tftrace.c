/*
 * tftrace: a minimal strace on tracefilter.
 *
 *   tftrace [-f] [-o FILE] [--no-seccomp] -e trace=NAME[,NAME...] -- CMD [ARGS...]
 *
 * Prints "[pid N] name(arg1, ..., arg6) = ret" for every requested syscall
 * of CMD (and, with -f, of its children and threads), arguments in hex,
 * errors as "-1 ENOENT (No such file or directory)". The tracee runs under a
 * seccomp filter compiled by tracefilter, so only the requested syscalls
 * stop it; when the filter cannot be used, one warning line says why and
 * every syscall is traced with PTRACE_SYSCALL (--no-seccomp asks for that).
 * The protocol (probe, install in the child, report pipe, resume requests)
 * is the one of docs/protocol.md, driven by tracefilter_protocol_step().
 *
 * Exit status: CMD's, or 128+signal when CMD was killed by a signal;
 * 1 when tracing failed, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tracefilter.h>

#if defined(__x86_64__)
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

/* Per-tracee state. */
struct task {
	pid_t pid;
	int started;	   /* seen its first stop */
	int quiet;	   /* our own child before its execve: print nothing */
	int decoded;	   /* an entry is printed-pending, waiting for its exit */
	unsigned request;  /* the last resume request */
	uint32_t arch, nr; /* the current syscall, with the nr_flag */
	uint64_t args[6];
};

static struct pers pers[NPERS];
static struct task *tasks;
static size_t ntasks, cap_tasks;
static FILE *out;
static int mode = TRACEFILTER_MODE_PTRACE;
static int follow;	/* -f: print every tracee, not only the first */
static pid_t main_pid;
static uint32_t order = TRACEFILTER_ORDER_UNKNOWN;
static uint32_t execve_nr; /* native */

static void usage(FILE *f)
{
	fprintf(f, "usage: tftrace [-f] [-o FILE] [--no-seccomp] -e trace=NAME[,NAME...] "
		   "-- CMD [ARGS...]\n");
}

static const struct pers *pers_of(uint32_t arch, uint32_t nr)
{
	for (size_t i = 0; i < NPERS; i++) {
		uint32_t flag = pers[i].p.nr_flag;

		if (pers[i].p.audit_arch == arch && (flag ? (nr & flag) == flag : 1) &&
		    (flag || !(nr & 0x40000000) || pers[i].p.audit_arch != AUDIT_ARCH_X86_64))
			return &pers[i];
	}
	return NULL;
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

/* Marks NAME in every personality that has it; 0 if none does. */
static int mark(const char *name)
{
	int known = 0;

	for (size_t i = 0; i < NPERS; i++) {
		uint32_t nr;

		if (tracefilter_syscall_number(pers[i].p.audit_arch, pers[i].p.nr_flag, name, &nr) ==
			    TRACEFILTER_OK &&
		    nr < pers[i].p.nsyscalls) {
			pers[i].bits[nr / 8] |= 1u << (nr % 8);
			known = 1;
		}
	}
	return known;
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
	*t = tasks[--ntasks];
}

static void print_ret(const struct __ptrace_syscall_info *info, char *buf, size_t size)
{
	int64_t v = info->exit.rval;

	if (info->exit.is_error && -v >= ERESTARTSYS && -v <= ERESTART_RESTARTBLOCK) {
		static const char *const names[] = { "ERESTARTSYS", "ERESTARTNOINTR",
						     "ERESTARTNOHAND", "ENOIOCTLCMD",
						     "ERESTART_RESTARTBLOCK" };

		snprintf(buf, size, "? %s (To be restarted)", names[-v - ERESTARTSYS]);
	} else if (info->exit.is_error) {
		const char *name = strerrorname_np((int)-v);

		if (name)
			snprintf(buf, size, "-1 %s (%s)", name, strerror((int)-v));
		else
			snprintf(buf, size, "-1 errno %lld", (long long)-v);
	} else if (v >= -0x80000000LL && v <= 0xffffffffLL) {
		snprintf(buf, size, "%lld", (long long)v);
	} else {
		snprintf(buf, size, "%#llx", (unsigned long long)v);
	}
}

static void print_call(const struct task *t, const char *ret)
{
	const struct pers *p = pers_of(t->arch, t->nr);
	uint32_t flag = p ? p->p.nr_flag : 0;
	const char *name = p ? tracefilter_syscall_name(t->arch, flag, t->nr & ~flag) : NULL;
	char unknown[32];

	if (!name) {
		snprintf(unknown, sizeof(unknown), "syscall_%#x", t->nr);
		name = unknown;
	}
	fprintf(out, "[pid %d] %s(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx) = %s\n", t->pid, name,
		(unsigned long long)t->args[0], (unsigned long long)t->args[1],
		(unsigned long long)t->args[2], (unsigned long long)t->args[3],
		(unsigned long long)t->args[4], (unsigned long long)t->args[5], ret);
}

static void resume(struct task *t, unsigned request, int sig)
{
	t->request = request;
	/* ESRCH: killed meanwhile (e.g. by another thread's exit_group). */
	ptrace((enum __ptrace_request)request, t->pid, 0L, (long)sig);
}

/* A seccomp, syscall-entry or syscall-exit stop. */
static int syscall_stop(struct task *t, uint32_t stop)
{
	struct __ptrace_syscall_info info;
	struct tracefilter_resume r;
	int st;

	memset(&info, 0, sizeof(info)); /* for checkers that do not know this request */
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->pid, (void *)sizeof(info), &info) <= 0) {
		if (errno == ESRCH)
			return 0;
		perror("tftrace: PTRACE_GET_SYSCALL_INFO");
		return -1;
	}
	if (stop != TRACEFILTER_STOP_SECCOMP)
		stop = info.op == PTRACE_SYSCALL_INFO_EXIT ? TRACEFILTER_STOP_SYSCALL_EXIT
							   : TRACEFILTER_STOP_SYSCALL_ENTRY;
	if (stop != TRACEFILTER_STOP_SYSCALL_EXIT) {
		const uint64_t *args = stop == TRACEFILTER_STOP_SECCOMP ? info.seccomp.args
									: info.entry.args;

		t->arch = info.arch;
		t->nr = (uint32_t)(stop == TRACEFILTER_STOP_SECCOMP ? info.seccomp.nr : info.entry.nr);
		memcpy(t->args, args, sizeof(t->args));
		/* Our child's own install and report stay out of the trace. */
		if (t->quiet && t->arch == pers[0].p.audit_arch && t->nr == execve_nr)
			t->quiet = 0;
	}
	st = tracefilter_protocol_step((uint32_t)mode, order, stop, wanted(t->arch, t->nr), &r);
	if (st != TRACEFILTER_OK) {
		fprintf(stderr, "tftrace: %s\n", tracefilter_strerror(st));
		return -1;
	}
	if (r.decode_entry && !t->quiet && (follow || t->pid == main_pid)) {
		t->decoded = 1;
	} else if (stop == TRACEFILTER_STOP_SYSCALL_EXIT && t->decoded) {
		char ret[96];

		print_ret(&info, ret, sizeof(ret));
		print_call(t, ret);
		t->decoded = 0;
	}
	resume(t, r.request, 0);
	return 0;
}

/* The path execv() will run, searched in $PATH like execvp() (and strace). */
static char *find_program(const char *cmd)
{
	const char *path = getenv("PATH");
	size_t len = strlen(cmd);

	if (strchr(cmd, '/') || !path)
		return strdup(cmd);
	while (*path) {
		const char *end = strchrnul(path, ':');
		size_t dlen = (size_t)(end - path);
		char *full = malloc(dlen + len + 3);
		struct stat sb;

		if (!full)
			return NULL;
		sprintf(full, "%.*s/%s", (int)dlen, dlen ? path : ".", cmd);
		if (!stat(full, &sb) && S_ISREG(sb.st_mode) && !access(full, X_OK))
			return full;
		free(full);
		path = *end ? end + 1 : end;
	}
	return strdup(cmd);
}

/* The child: stop for the tracer, install the filter, report, exec. */
static void __attribute__((noreturn))
child(const char *path, char **argv, const struct sock_fprog *prog, int report_fd)
{
	if (ptrace(PTRACE_TRACEME, 0L, 0L, 0L) < 0) {
		perror("tftrace: PTRACE_TRACEME");
		_exit(127);
	}
	/* kill, not raise: raise() may make syscalls the filter traces. */
	kill(getpid(), SIGSTOP);
	if (prog) {
		struct tracefilter_install_report r;

		memset(&r, 0, sizeof(r));
		r.struct_size = sizeof(r);
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

	memset(&r, 0, sizeof(r));
	r.struct_size = sizeof(r);
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

static int parse_trace(const char *expr)
{
	char *list, *save = NULL;

	if (!strncmp(expr, "trace=", 6))
		expr += 6;
	if (!*expr) {
		fprintf(stderr, "tftrace: empty -e trace=\n");
		return -1;
	}
	list = strdup(expr);
	if (!list) {
		perror("tftrace");
		return -1;
	}
	for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (!mark(name)) {
			fprintf(stderr, "tftrace: unknown syscall '%s' in -e trace=%s\n", name, expr);
			free(list);
			return -1;
		}
	}
	free(list);
	return 0;
}

/* Compiles the set; NULL (after a warning) when the filter cannot be built. */
static struct tracefilter_program *compile(void)
{
	struct tracefilter_personality views[NPERS];
	struct tracefilter_program *prog;
	int st;

	for (size_t i = 0; i < NPERS; i++)
		views[i] = pers[i].p;
	st = tracefilter_compile(views, NPERS, NULL, &prog);
	if (st != TRACEFILTER_OK) {
		fprintf(stderr,
			"tftrace: warning: no seccomp filter (%s); tracing every syscall with "
			"PTRACE_SYSCALL\n",
			tracefilter_strerror(st));
		return NULL;
	}
	return prog;
}

/* Whether seccomp mode can work here; a warning line when it cannot. */
static int probe(void)
{
	struct tracefilter_kernel k;
	int st;

	memset(&k, 0, sizeof(k));
	k.struct_size = sizeof(k);
	st = tracefilter_probe(&k);
	if (st == TRACEFILTER_OK && !k.ptrace) {
		fprintf(stderr, "tftrace: ptrace is not permitted here (%s)\n",
			strerror(k.error ? k.error : EPERM));
		exit(1);
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

int main(int argc, char **argv)
{
	struct tracefilter_program *prog = NULL;
	const struct sock_fprog *fprog = NULL;
	const char *outfile = NULL;
	int use_seccomp = 1, traced_any = 0, report_fds[2] = { -1, -1 };
	int status = 0, main_status = -1, report_pending = 0, follow_opts = 0, i;
	char *path;
	pid_t pid;

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
		} else if ((!strcmp(a, "-e") && i + 1 < argc) || !strncmp(a, "-e", 2)) {
			if (parse_trace(a[2] ? a + 2 : argv[++i]))
				return 2;
			traced_any = 1;
		} else if (a[0] == '-') {
			usage(stderr);
			return 2;
		} else {
			break;
		}
	}
	if (follow)
		follow_opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;
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
	if (!path) {
		perror("tftrace");
		return 1;
	}

	if (!use_seccomp)
		fprintf(stderr, "tftrace: --no-seccomp: tracing every syscall with PTRACE_SYSCALL\n");
	else if (probe() && (prog = compile()))
		fprog = tracefilter_program_fprog(prog);
	/*
	 * The filter is inherited by every child and thread, whose traced
	 * syscalls would fail with ENOSYS without a tracer: with a filter,
	 * follow them all, and let -f decide only what is printed.
	 */
	if (fprog)
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
	if (fprog) {
		close(report_fds[1]);
		report_pending = 1;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		fprintf(stderr, "tftrace: the child did not stop for the tracer\n");
		return 1;
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, 0L,
		   (long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL |
			  PTRACE_O_TRACEEXEC | follow_opts)) < 0) {
		perror("tftrace: PTRACE_SETOPTIONS");
		kill(pid, SIGKILL);
		return 1;
	}
	/* Ptrace mode until the report says the filter is active. */
	struct task *t = task_add(pid);

	if (!t) {
		perror("tftrace");
		kill(pid, SIGKILL);
		return 1;
	}
	t->started = 1;
	t->quiet = 1;
	resume(t, PTRACE_SYSCALL, 0);

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
			int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

			if (t->decoded)
				print_call(t, "?");
			if (!follow && pid != main_pid)
				;
			else if (sig)
				fprintf(out, "[pid %d] +++ killed by SIG%s +++\n", pid,
					sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
			else
				fprintf(out, "[pid %d] +++ exited with %d +++\n", pid,
					WEXITSTATUS(status));
			if (pid == main_pid) {
				main_status = status;
				if (report_pending) {
					read_report(report_fds[0], fprog->len);
					report_pending = 0;
				}
			}
			task_del(t);
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		sig = WSTOPSIG(status);
		event = (unsigned)status >> 16;
		if (!t->started) {
			/* A new tracee's attach stop. */
			t->started = 1;
			if (sig == SIGSTOP && !event) {
				resume(t, t->request, 0);
				continue;
			}
		}
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
					*t = *f;
					t->pid = pid;
					task_del(f);
					t = task_find(pid);
				}
			}
			if (report_pending) {
				read_report(report_fds[0], fprog->len);
				report_pending = 0;
			}
			resume(t, t->request, 0);
		} else if (sig == SIGTRAP && event) {
			resume(t, t->request, 0); /* fork, vfork, clone */
		} else {
			resume(t, t->request, event ? 0 : sig); /* a signal for the tracee */
		}
	}
	tracefilter_program_free(prog);
	for (size_t k = 0; k < NPERS; k++)
		free(pers[k].bits);
	free(tasks);
	if (out != stderr)
		fclose(out);
	if (main_status == -1)
		return 1;
	return WIFEXITED(main_status) ? WEXITSTATUS(main_status) : 128 + WTERMSIG(main_status);
}
