/* tests/tftrace.sh: a thread's execve while the leader sleeps in pause(),
 * which ends unfinished (-pthread). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static void *run(void *arg)
{
	char path[64], buf[512], *p;
	(void)arg;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)getpid());
	for (int i = 0; i < 1000; i++) { /* until the leader sleeps in pause() */
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = 0;
		if ((p = strrchr(buf, ')')) && p[1] == ' ' && p[2] == 'S')
			break;
		usleep(10000);
	}
	execl("/bin/sh", "sh", "-c", "exit 4", (char *)0);
	return 0;
}
int main(void)
{
	pthread_t t;
	if (pthread_create(&t, 0, run, 0))
		return 2;
	for (;;)
		pause();
}
