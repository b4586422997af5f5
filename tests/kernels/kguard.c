/*
 * kguard: the CLONE_UNTRACED guard on the kernel it runs on (a guest of
 * tests/kernels/run.sh). A small tracer: the library compiles a program for
 * this machine's personalities that traces openat only, with
 * TRACEFILTER_COMPILE_GUARD_UNTRACED; each case of tests/c/untraced.c
 * (built for any of those personalities) runs under it, and at every
 * seccomp stop of clone or clone3 the tracer calls
 * tracefilter_untraced_clear. Per case it checks what the kernel did:
 *
 *   plain    clone without CLONE_UNTRACED: no stop at clone; the child is
 *            reported (PTRACE_EVENT_FORK) and its openat stops and succeeds;
 *   pthread  glibc's thread (clone, or clone3 whose flags BPF cannot read):
 *            no stop at clone, untraced_clear never clears anything; traced;
 *   clone3   one stop, cleared (TRACEFILTER_UNTRACED_CLONE3); traced;
 *   clone, thread (clone with CLONE_UNTRACED): one stop; with CLEAR=clone,
 *            cleared (TRACEFILTER_UNTRACED_CLONE) and traced; with
 *            CLEAR=unsupported, TRACEFILTER_E_UNSUPPORTED (the documented
 *            status where clone's flags cannot be rewritten) and the child
 *            escapes: no event, and its openat fails with ENOSYS.
 *
 *   kguard CLEAR UNTRACED FILE
 *
 * Prints "ok guard CASE: ..." or "FAIL guard CASE: ..." per case; exit
 * status 1 if any failed, 2 on usage or setup errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tracefilter.h>

#if defined(__x86_64__)
static const char *const names[] = { "x86_64", "i386", "x32" };
#elif defined(__aarch64__)
static const char *const names[] = { "aarch64", "arm" };
#elif defined(__riscv) && __riscv_xlen == 64
static const char *const names[] = { "riscv64" };
#else
#error "kguard: no personalities for this machine"
#endif
#define NPERS (sizeof(names) / sizeof(names[0]))

static struct tracefilter_personality pers[NPERS];
static unsigned char bits[NPERS][128];

struct seen {
	int clone_stops, clone3_stops, events, child_openat, exit_code;
	int unsupported, cleared_clone, cleared_clone3, other_status;
};

/* The name of a syscall at a stop, or "" */
static const char *name_of(uint32_t arch, uint64_t nr)
{
	for (size_t k = 0; k < NPERS; k++) {
		uint32_t flag = pers[k].nr_flag;

		if (pers[k].audit_arch != arch || (flag && !(nr & flag)) || (!flag && nr >= 0x40000000))
			continue;
		const char *n = tracefilter_syscall_name(arch, flag, (uint32_t)(nr & ~(uint64_t)flag));
		return n ? n : "";
	}
	return "";
}

static int run_case(const struct sock_fprog *fprog, const char *untraced, const char *cs,
		    const char *file, struct seen *s)
{
	pid_t main_pid = fork(), pid;
	int status;

	memset(s, 0, sizeof(*s));
	s->exit_code = -1;
	if (main_pid < 0)
		return -1;
	if (main_pid == 0) {
		kill(getpid(), SIGSTOP);
		if (tracefilter_install(fprog, 0, NULL) != TRACEFILTER_OK)
			_exit(3);
		execl(untraced, untraced, cs, file, (char *)NULL);
		_exit(4);
	}
	if (waitpid(main_pid, &status, WSTOPPED) != main_pid ||
	    ptrace(PTRACE_SEIZE, main_pid, 0L,
		   (long)(PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL | PTRACE_O_TRACEFORK |
			  PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE)) < 0) {
		perror("kguard: PTRACE_SEIZE");
		kill(main_pid, SIGKILL);
		return -1;
	}
	kill(main_pid, SIGCONT);
	while ((pid = waitpid(-1, &status, __WALL)) > 0 || errno == EINTR) {
		if (pid < 0)
			continue;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (pid == main_pid)
				s->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			continue;
		}
		int sig = WSTOPSIG(status), event = (unsigned)status >> 16;

		if (sig == SIGTRAP && event == PTRACE_EVENT_SECCOMP) {
			struct __ptrace_syscall_info info;
			uint32_t result = 0;

			memset(&info, 0, sizeof(info));
			if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) <= 0) {
				perror("kguard: PTRACE_GET_SYSCALL_INFO");
				return -1;
			}
			const char *n = name_of(info.arch, info.seccomp.nr);

			if (!strcmp(n, "openat") && pid != main_pid)
				s->child_openat++;
			if (!strcmp(n, "clone") || !strcmp(n, "clone3")) {
				int st = tracefilter_untraced_clear(pid, 0, &result);

				*(!strcmp(n, "clone") ? &s->clone_stops : &s->clone3_stops) += 1;
				if (st == TRACEFILTER_E_UNSUPPORTED)
					s->unsupported++;
				else if (st != TRACEFILTER_OK)
					s->other_status = st;
				else if (result == TRACEFILTER_UNTRACED_CLONE)
					s->cleared_clone++;
				else if (result == TRACEFILTER_UNTRACED_CLONE3)
					s->cleared_clone3++;
			}
			ptrace(PTRACE_CONT, pid, 0L, 0L);
		} else if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
			   event == PTRACE_EVENT_CLONE) {
			s->events++;
			ptrace(PTRACE_CONT, pid, 0L, 0L);
		} else if (event == PTRACE_EVENT_STOP || sig == SIGSTOP || sig == SIGTRAP) {
			ptrace(PTRACE_CONT, pid, 0L, 0L); /* a new tracee's first stop */
		} else {
			ptrace(PTRACE_CONT, pid, 0L, (long)sig);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const cases[] = { "plain", "pthread", "clone3", "clone", "thread" };
	struct tracefilter_options opts;
	struct tracefilter_program *prog;
	int failed = 0;

	if (argc != 4 || (strcmp(argv[1], "clone") && strcmp(argv[1], "unsupported"))) {
		fprintf(stderr, "usage: kguard clone|unsupported UNTRACED FILE\n");
		return 2;
	}
	for (size_t k = 0; k < NPERS; k++) {
		uint32_t nr;

		if (tracefilter_personality_lookup(names[k], &pers[k].audit_arch, &pers[k].nr_flag,
						   &pers[k].nsyscalls) != TRACEFILTER_OK ||
		    pers[k].nsyscalls > 8 * sizeof(bits[k]) ||
		    tracefilter_syscall_number(pers[k].audit_arch, pers[k].nr_flag, "openat", &nr) !=
			    TRACEFILTER_OK) {
			fprintf(stderr, "kguard: no table or no openat for %s\n", names[k]);
			return 2;
		}
		bits[k][nr / 8] |= 1 << (nr % 8);
		pers[k].traced = bits[k];
	}
	tracefilter_options_init(&opts);
	opts.flags |= TRACEFILTER_COMPILE_GUARD_UNTRACED;
	int st = tracefilter_compile(pers, NPERS, &opts, &prog);
	if (st != TRACEFILTER_OK) {
		fprintf(stderr, "kguard: compile: %s\n", tracefilter_strerror(st));
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *c = cases[i];
		int escapes = (!strcmp(c, "clone") || !strcmp(c, "thread")) && !strcmp(argv[1], "unsupported");
		struct seen s;
		const char *bad = NULL;

		fflush(stdout);
		if (run_case(tracefilter_program_fprog(prog), argv[2], c, argv[3], &s))
			return 2;
		if (s.other_status)
			bad = tracefilter_strerror(s.other_status);
		else if (!strcmp(c, "plain") || !strcmp(c, "pthread"))
			bad = s.clone_stops ? "a stop at a clone without CLONE_UNTRACED"
			      : s.cleared_clone || s.cleared_clone3 || s.unsupported ? "untraced_clear acted"
			      : !strcmp(c, "plain") && s.clone3_stops ? "a stop at clone3"
												   : NULL;
		else if (!strcmp(c, "clone3"))
			bad = s.clone3_stops != 1 || s.clone_stops ? "not exactly one stop, at clone3"
			      : s.cleared_clone3 != 1 ? "clone3's flag not cleared"
						      : NULL;
		else if (s.clone_stops != 1 || s.clone3_stops)
			bad = "not exactly one stop, at clone";
		else if (escapes)
			bad = s.unsupported != 1 ? "untraced_clear did not say E_UNSUPPORTED" : NULL;
		else
			bad = s.cleared_clone != 1 ? "clone's flag not cleared" : NULL;
		if (!bad && escapes && (s.events || s.child_openat || s.exit_code != 1))
			bad = "the child did not escape as documented (event, openat stop or exit status)";
		if (!bad && !escapes && (s.events != 1 || s.child_openat < 1 || s.exit_code != 0))
			bad = "the child was not traced (event, openat stop or exit status)";
		printf("%s guard %s: stops clone %d clone3 %d; untraced_clear cleared clone %d clone3 %d, "
		       "unsupported %d; fork/clone events %d; child openat stops %d; exit %d%s%s\n",
		       bad ? "FAIL" : "ok", c, s.clone_stops, s.clone3_stops, s.cleared_clone,
		       s.cleared_clone3, s.unsupported, s.events, s.child_openat, s.exit_code,
		       bad ? ": " : "", bad ? bad : "");
		failed |= bad != NULL;
	}
	tracefilter_program_free(prog);
	return failed;
}
