/* tests/tftrace.sh: read, rt_sigsuspend and nanosleep interrupted by SIGALRM
 * (ERESTARTSYS restarted, ERESTARTNOHAND, ERESTART_RESTARTBLOCK). */
#include <signal.h>
#include <time.h>
#include <unistd.h>
static int fds[2];
static void wake(int sig)
{
	(void)sig;
	if (write(fds[1], "x", 1) != 1)
		_exit(1);
}
int main(void)
{
	struct sigaction sa = { .sa_handler = wake, .sa_flags = SA_RESTART };
	struct timespec ts = { 5, 0 };
	sigset_t alrm, old;
	char c;
	if (pipe(fds) || sigaction(SIGALRM, &sa, 0))
		return 1;
	ualarm(300000, 0); /* the calls below block before it rings */
	if (read(fds[0], &c, 1) != 1) /* ERESTARTSYS, restarted */
		return 1;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, &old);
	ualarm(100000, 0);
	sigsuspend(&old); /* ERESTARTNOHAND */
	sigprocmask(SIG_SETMASK, &old, 0);
	ualarm(300000, 0);
	return nanosleep(&ts, 0) == 0; /* ERESTART_RESTARTBLOCK */
}
