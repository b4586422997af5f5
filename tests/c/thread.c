/* tests/tftrace.sh: openat(2) in a second thread (-pthread). */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
static void *run(void *arg)
{
	int fd = open("/etc/hostname", O_RDONLY); /* openat(2) */
	(void)arg;
	if (fd >= 0)
		close(fd);
	return (void *)(long)(fd >= 0);
}
int main(void)
{
	pthread_t t;
	void *ok = 0;
	if (pthread_create(&t, 0, run, 0) || pthread_join(t, &ok))
		return 2;
	return ok ? 0 : 1;
}
