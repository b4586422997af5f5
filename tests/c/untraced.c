/*
 * untraced: the reproducer of strace issue #303. Creates children with
 * CLONE_UNTRACED (without CLONE_PTRACE), which a tracer never sees unless
 * it acts at the clone: each child opens FILE with openat(2) and reports the
 * result through shared memory; the parent prints one line per case:
 *
 *   clone: openat = 0           (success; the descriptor is closed)
 *   clone: openat = -1 ENOSYS   (the child kept a RET_TRACE filter and has
 *                                no tracer: the syscall was skipped)
 *
 *   untraced [plain|clone|clone3|thread|pthread|all] FILE
 *
 * plain:   raw clone(SIGCHLD) without CLONE_UNTRACED (a control: a guarded
 *          program must not stop it; not part of "all");
 * clone:   raw clone(CLONE_UNTRACED | SIGCHLD), fork-like;
 * clone3:  raw clone3 with CLONE_UNTRACED, fork-like;
 * thread:  glibc's clone() with pthread_create's flags plus CLONE_UNTRACED;
 * pthread: plain pthread_create (the control: a thread every tracer follows).
 * Exit status 0 if every openat succeeded, 1 if any failed, 2 on usage or
 * setup errors. Each case gives up after 10 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

#ifndef CLONE_UNTRACED
#define CLONE_UNTRACED 0x00800000
#endif

struct result {
	volatile int done;
	volatile long ret; /* openat's return, or -errno */
};

static struct result *res; /* MAP_SHARED: visible across fork-like clones */
static const char *file;

/* Raw syscalls only: a fork-like raw clone child has glibc's state of a
 * thread it is not, and a CLONE_VM thread shares errno with its parent. */
static long raw_openat(void)
{
	long fd = syscall(SYS_openat, AT_FDCWD, file, O_RDONLY | O_CLOEXEC);
	long ret = fd < 0 ? -errno : 0;

	if (fd >= 0)
		syscall(SYS_close, fd);
	return ret;
}

static void child_report(void)
{
	res->ret = raw_openat();
	__atomic_store_n(&res->done, 1, __ATOMIC_RELEASE);
}

static int wait_done(void)
{
	for (int i = 0; i < 10000; i++) {
		if (__atomic_load_n(&res->done, __ATOMIC_ACQUIRE))
			return 0;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int report(const char *name, int ok)
{
	if (!ok) {
		printf("%s: no report from the child within 10 s\n", name);
		return 1;
	}
	if (res->ret == 0) {
		printf("%s: openat = 0\n", name);
		return 0;
	}
	printf("%s: openat = -1 %s (%s)\n", name,
	       res->ret == -ENOSYS ? "ENOSYS" : "error", strerror((int)-res->ret));
	return 1;
}

static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, __WALL) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static int raw_clone(const char *name, unsigned long flags)
{
	long pid = syscall(SYS_clone, flags, 0, NULL, NULL, 0);

	if (pid < 0) {
		printf("%s: clone failed: %s\n", name, strerror(errno));
		return 2;
	}
	if (pid == 0) {
		child_report();
		syscall(SYS_exit, 0);
	}
	int ok = wait_done() == 0;
	reap(pid);
	return report(name, ok);
}

static int case_plain(void)
{
	return raw_clone("plain", SIGCHLD);
}

static int case_clone(void)
{
	return raw_clone("clone", CLONE_UNTRACED | SIGCHLD);
}

static int case_clone3(void)
{
#ifdef SYS_clone3
	struct clone_args args = { .flags = CLONE_UNTRACED, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &args, sizeof(args));

	if (pid < 0) {
		printf("clone3: clone3 failed: %s\n", strerror(errno));
		return errno == ENOSYS ? 0 : 2;
	}
	if (pid == 0) {
		child_report();
		syscall(SYS_exit, 0);
	}
	int ok = wait_done() == 0;
	reap(pid);
	return report("clone3", ok);
#else
	printf("clone3: not in this libc's headers\n");
	return 0;
#endif
}

static int thread_fn(void *arg)
{
	(void)arg;
	child_report();
	return 0;
}

static int case_thread(void)
{
	static char stack[256 * 1024] __attribute__((aligned(16)));
	static volatile pid_t tid = 1;
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
		    CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_UNTRACED;

	if (clone(thread_fn, stack + sizeof(stack), flags, NULL, (pid_t *)&tid, NULL,
		  (pid_t *)&tid) < 0) {
		printf("thread: clone failed: %s\n", strerror(errno));
		return 2;
	}
	int ok = wait_done() == 0;
	/* CLONE_CHILD_CLEARTID: the kernel zeroes tid when the thread is gone. */
	for (int i = 0; i < 10000 && __atomic_load_n(&tid, __ATOMIC_ACQUIRE); i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return report("thread", ok);
}

static void *pthread_fn(void *arg)
{
	(void)arg;
	child_report();
	return NULL;
}

static int case_pthread(void)
{
	pthread_t t;
	int e = pthread_create(&t, NULL, pthread_fn, NULL);

	if (e) {
		printf("pthread: pthread_create failed: %s\n", strerror(e));
		return 2;
	}
	pthread_join(t, NULL);
	return report("pthread", res->done);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(void);
		int in_all;
	} cases[] = {
		{ "plain", case_plain, 0 },
		{ "clone", case_clone, 1 },
		{ "clone3", case_clone3, 1 },
		{ "thread", case_thread, 1 },
		{ "pthread", case_pthread, 1 },
	};
	int rc = 0, found = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s plain|clone|clone3|thread|pthread|all FILE\n", argv[0]);
		return 2;
	}
	file = argv[2];
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(argv[1], "all") ? strcmp(argv[1], cases[i].name) != 0 : !cases[i].in_all)
			continue;
		found = 1;
		res->done = 0;
		res->ret = 1;
		int r = cases[i].run();
		rc = r > rc ? r : rc;
	}
	if (!found) {
		fprintf(stderr, "%s: unknown case %s\n", argv[0], argv[1]);
		return 2;
	}
	return rc;
}
